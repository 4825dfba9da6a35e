#!/usr/bin/python3
"""Applies and rollbacks while traffic flows lose no packet: everything
received is sent or counted as a drop, and workers move to each new
generation (the daemon's own apply-latency probe sees every apply)."""
import os
import subprocess
import sys
import tempfile
import time

from umbrad import SRC, Daemon, Failures

t = Failures()
pcap = os.path.join(tempfile.mkdtemp(prefix="umbra-traffic-"), "flows.pcap")
subprocess.run([sys.executable, os.path.join(SRC, "tests", "tools", "bench_traffic.py"),
                pcap, "2000"], check=True)
d = Daemon("traffic", pcap=pcap)
t.check("umbra starts forwarding a replay", d.start())
for i in range(60):
    r = (d.call("snapshot/rollback", generation=1) if i % 10 == 9 else
         d.call("config/apply", path=d.confs[i % 2]))
    if not r["ok"]:
        t.check("apply %d" % i, False, r)
        break
st = d.call("status")["result"]
t.check("61 generations published", st["generation"] == 61, st)
t.check("apply latency measured", st["apply_latency"]["applies"] >= 1, st["apply_latency"])
# Established flows kept their generation's decision; a migration makes
# them follow the current one (each decided again, as a new flow, by its
# client's next packet: the replay sends every flow again each loop).
before = d.call("stats")["result"]["workers"][0]["flow_table"]
r = d.call("config/migrate")
t.check("config/migrate publishes generation 62", r.get("result", {}).get("generation") == 62, r)
time.sleep(1)
after = d.call("stats")["result"]["workers"][0]["flow_table"]
t.check("every established flow was migrated and re-created",
        after["migrated"] >= before["active"] > 0 and after["added"] > before["added"],
        (before, after))
t.check("clean stop", d.stop() == 0)
s = d.stats()
sent = s["ports"]["sink"]["tx_pkts"] + s["ports"]["sink"]["tx_dropped"]
lost = s["rx_pkts"] - sent - sum(s["drops"].values())
t.check("packets flowed (%d)" % s["rx_pkts"], s["rx_pkts"] > 100000)
t.check("no packet lost across 60 applies and a migration", lost == 0, lost)
d.cleanup(keep=t.n > 0)
os.unlink(pcap)
sys.exit(1 if t.n else 0)
