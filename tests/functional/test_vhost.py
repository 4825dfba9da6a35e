#!/usr/bin/python3
"""VM-style deployment: umbra serves a vhost-user port; a testpmd guest on
virtio-user (txonly, the lab generator) sends into it; umbra forwards all
of it to its sink port and counts it."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from pcapcase import SRC, UMBRA

d = tempfile.mkdtemp(prefix="umbra-fn-vhost-")
sock, stats = os.path.join(d, "vhost.sock"), os.path.join(d, "stats.json")
conf = os.path.join(d, "umbra.yaml")
tag = "umbra-fn-vhost-%d" % os.getpid()
with open(conf, "w") as f:
    f.write("""ports:
  - { name: vm, vdev: "net_vhost_%s,iface=%s,queues=1", role: uplink }
  - { name: sink, vdev: "net_null_%s,no-rx=1" }
stages:
  - { name: production, default: true, egress: { port: sink } }
""" % (tag, sock, tag))
mem = subprocess.run([os.path.join(SRC, "deploy", "eal-mem.sh")], capture_output=True,
                     text=True).stdout.split()
# virtio-user on hugepages needs --single-file-segments (memory regions).
mem = [a for a in mem if a != "--huge-unlink"]
mem += ["--single-file-segments"] if "--no-huge" not in mem else []
umbra = subprocess.Popen([UMBRA, "-l", "0-1", "--no-pci", "--file-prefix", tag + "u"] + mem +
                         ["--log-level=lib.eal:error", "--log-level=lib.vhost.config:error",
                          "--", "-c", conf, "--socket", "none", "--stats-json", stats],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
for _ in range(100):
    if os.path.exists(sock):
        break
    time.sleep(0.1)
# The guest shares CPU 0 with umbra's management lcore.
guest = subprocess.run("(sleep 2; echo) | timeout -s INT 5 dpdk-testpmd --lcores '0@0,1@0' "
                       "--no-pci --file-prefix %sg %s --vdev net_virtio_user0,path=%s,queues=1 "
                       "-- --forward-mode=txonly --txpkts=64 --auto-start --nb-cores=1 "
                       "--stats-period 0" % (tag, " ".join(mem), sock),
                       shell=True, capture_output=True, text=True)
time.sleep(0.5)
umbra.send_signal(2)
err = umbra.communicate(timeout=30)[1]
failures = 0


def check(what, ok, detail=""):
    global failures
    print("%s - %s%s" % ("ok" if ok else "not ok", what, "" if ok else "\n    %s" % detail))
    failures += 0 if ok else 1


check("umbra exits 0", umbra.returncode == 0, err[-500:])
s = json.load(open(stats)) if os.path.exists(stats) else None
check("packets arrived over vhost-user", s and s["ports"]["vm"]["rx_pkts"] > 1000,
      (s and s["ports"], guest.stdout[-800:]))
check("all of them forwarded to the sink", s and s["ports"]["sink"]["tx_pkts"] ==
      s["ports"]["vm"]["rx_pkts"] and sum(s["drops"].values()) == 0, s and s["ports"])
for f in os.listdir("/dev/hugepages") if os.path.isdir("/dev/hugepages") else []:
    if f.startswith(tag):
        os.unlink(os.path.join("/dev/hugepages", f))
if failures == 0:
    shutil.rmtree(d, ignore_errors=True)
raise SystemExit(1 if failures else 0)
