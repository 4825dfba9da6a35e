#!/usr/bin/env python3
"""Config apply benchmark: time from command to every worker on the new
generation, and packets lost, over N applies while traffic flows.

umbra (1 worker) forwards a net_pcap replay (infinite_rx) into net_null
while this script applies two configurations in turn over the management
socket. The daemon times each apply itself: from the pointer swap until
every worker has reported an RCU quiescent state after it (checked from
its event loop). Lost = received - sent - counted drops, read from the
final counters. Never a pass/fail test.

    tests/bench/apply.py [--applies 1000]
Last line: applies=N apply_p50_us=X apply_p99_us=Y lost=Z
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataplane  # noqa: E402  (shared helpers: capture, EAL memory)

CONF = """ports:
  - {{ name: gen, vdev: "net_pcap_ap0,rx_pcap={pcap},infinite_rx=1", role: uplink }}
  - {{ name: sink, vdev: "net_null_ap1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: canary
    egress: {{ port: sink, vlan: {vlan} }}
    match: [ {{ src: 10.0.{third}.0/24 }} ]
flow_table: {{ size: 65536 }}
mempool: {{ mbufs: 60000, data_room: 256 }}
"""


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        self.n = 0

    def call(self, cmd, **args):
        self.n += 1
        self.f.write(json.dumps({"id": self.n, "cmd": cmd, "args": args}) + "\n")
        self.f.flush()
        r = json.loads(self.f.readline())
        if not r["ok"]:
            sys.exit("%s failed: %s" % (cmd, r["error"]))
        return r["result"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--applies", type=int, default=1000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="umbra-apply-")
    pcap = os.path.join(tmp, "flows.pcap")
    dataplane.make_capture(pcap, 20000)
    confs = []
    for i in range(2):
        path = os.path.join(tmp, "conf%d.yaml" % i)
        with open(path, "w") as f:
            f.write(CONF.format(pcap=pcap, vlan=10 + i, third=i))
        confs.append(path)
    sock = os.path.join(tmp, "umbra.sock")
    stats = os.path.join(tmp, "final.json")
    cmd = ([dataplane.UMBRA, "-l", "0-1", "--no-pci", "--file-prefix",
            "bench-apply-%d" % os.getpid()] + dataplane.eal_mem()
           + ["--log-level=lib.eal:warning", "--", "-c", confs[0], "--socket", sock,
              "--stats-json", stats])
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        run(p, sock, confs, stats, args.applies)
    finally:
        if p.poll() is None:  # never leave a spinning daemon behind
            p.kill()
            p.wait()


def run(p, sock, confs, stats, applies):
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.1)
    # This client shares the management core: on a 2-core machine it would
    # otherwise preempt the worker's core for whole scheduler ticks.
    os.sched_setaffinity(0, {0})
    c = Client(sock)
    time.sleep(1)  # traffic is flowing
    for i in range(applies):
        c.call("config/apply", path=confs[(i + 1) % 2])
        deadline = time.time() + 5
        while c.call("status")["apply_latency"]["applies"] < i + 1:
            if time.time() > deadline:
                sys.exit("apply %d: workers did not move within 5 s" % i)
    lat = c.call("status")["apply_latency"]
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    st = json.load(open(stats))
    sent = st["ports"]["sink"]["tx_pkts"] + st["ports"]["sink"]["tx_dropped"]
    lost = st["rx_pkts"] - sent - sum(st["drops"].values())
    print("%d applies while umbra forwarded traffic (1 worker)" % lat["applies"])
    sw = lat["switch"]
    print("| measured | p50 us | p99 us | max us |")
    print("|---|---|---|---|")
    print("| command to every worker on it (parse, compile, publish) | %.1f | %.1f | %.1f |" % (
        lat["p50_us"], lat["p99_us"], lat["max_us"]))
    print("| publish to every worker on it (RCU switch) | %.1f | %.1f | %.1f |" % (
        sw["p50_us"], sw["p99_us"], sw["max_us"]))
    print("\npackets forwarded during the applies: %d, lost: %d" % (st["rx_pkts"], lost))
    print("applies=%d apply_p50_us=%.1f apply_p99_us=%.1f lost=%d" % (
        lat["applies"], lat["p50_us"], lat["p99_us"], lost))


if __name__ == "__main__":
    main()
