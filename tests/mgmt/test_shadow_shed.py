#!/usr/bin/python3
"""Shadows yield to production: a worker that falls behind (a replay at
full speed: every RX burst full) sheds the new flows of a profile with
`shed` (the default) and keeps shadowing those of a profile with
`shed: false`. Checks: shedding happens and is counted per profile
(shadow/status and /metrics `flows_shed`); every chosen flow is decided
once, shadowed whole or shed whole (flows + flows_shed equals the flows
of the capture and stays so while the capture replays again and again:
no flow is cut or taken up later); the production answers recorded for
comparison come from shadowed flows only (about one record per copy
made: no shed flow feeds the comparator a partial exchange)."""
import os
import shutil
import sys
import tempfile
import time
import urllib.request

from scapy.all import IP, UDP, Ether, Raw, wrpcap

from umbrad import Daemon, Failures

FLOWS = 1500     # per profile

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
  - {{ name: shadownet, vdev: "net_null_{tag}2,no-rx=1", role: shadow }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
shadows:
  - {{ name: yields, stage: production, proto: udp, dport: 7000, port: shadownet,
      fraction: 100%, compare: bytes }}
  - {{ name: insists, stage: production, proto: udp, dport: 7001, port: shadownet,
      fraction: 100%, compare: bytes, shed: false }}
"""

t = Failures()
work = tempfile.mkdtemp(prefix="h2b-shed-")
pcap = os.path.join(work, "traffic.pcap")
pkts = []
for i in range(FLOWS):
    cli = "10.0.%d.%d" % (i // 250, 1 + i % 250)
    for dport in (7000, 7001):
        pkts.append(Ether(src="02:00:00:00:0c:01", dst="02:00:00:00:00:a1") /
                    IP(src=cli, dst="10.2.0.10") / UDP(sport=20000 + i, dport=dport) /
                    Raw(b"q" * 32))
        pkts.append(Ether(src="02:00:00:00:00:a1", dst="02:00:00:00:0c:01") /
                    IP(src="10.2.0.10", dst=cli) / UDP(sport=dport, dport=20000 + i) /
                    Raw(b"a" * 32))
wrpcap(pcap, pkts)
d = Daemon("h2bshed", pcap=pcap, http=21000 + os.getpid() % 1000, token="sh3d",
           conf_text=CONF)
started = d.start()
t.check("umbra starts", started, open(os.path.join(d.dir, "umbra.log")).read()
        if os.path.exists(os.path.join(d.dir, "umbra.log")) else "")
if not started:
    d.cleanup(keep=True)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1)


def counters(name):
    r = d.call("shadow/status", name=name)
    return r["result"]["profiles"][0]["counters"] if r["ok"] else None


def decided(c):
    return c["flows"] + c["flows_shed"] + c["no_session"]


deadline = time.time() + 20
a = b = None
while time.time() < deadline:
    a, b = counters("yields"), counters("insists")
    if a and b and decided(a) >= FLOWS and decided(b) >= FLOWS:
        break
    time.sleep(0.2)
t.check("every flow of both profiles was chosen once (flows + flows_shed + no_session)",
        a and b and decided(a) == FLOWS and decided(b) == FLOWS, (a, b))
t.check("the overloaded worker shed flows of the profile with shed (default)",
        a and a["flows_shed"] > 0 and a["flows"] < FLOWS, a)
t.check("... and none of the profile with shed: false",
        b and b["flows_shed"] == 0 and b["flows"] + b["no_session"] == FLOWS, b)

# The capture replays again and again: decisions must not move.
time.sleep(1.5)
a2, b2 = counters("yields"), counters("insists")
t.check("a shed flow stays shed, a shadowed one stays shadowed (counts unchanged "
        "while the capture replays)",
        a2 and b2 and (a2["flows"], a2["flows_shed"]) == (a["flows"], a["flows_shed"]) and
        (b2["flows"], b2["flows_shed"]) == (b["flows"], b["flows_shed"]), (a, a2, b, b2))
t.check("shadowed flows are copied whole (copies keep coming)",
        a2 and a2["packets_cloned"] > a["packets_cloned"] > 0 and
        b2["packets_cloned"] > b["packets_cloned"], (a2, b2))
# One production answer per client datagram of a shadowed flow: records
# follow the copies (up to one per flow read in between), never the shed flows.
for name, c in (("yields", a2), ("insists", b2)):
    t.check("%s: production answers recorded only for shadowed flows "
            "(records %d, copies %d, flows %d)" % (name, c["records"] + c["records_dropped"],
                                                  c["packets_cloned"], c["flows"]),
            abs(c["records"] + c["records_dropped"] - c["packets_cloned"]) <= 2 * c["flows"],
            c)

metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.http, timeout=5).read().decode()
want = 'umbra_shadow_packets_total{profile="yields",what="flows_shed"}'
line = [x for x in metrics.splitlines() if x.startswith(want)]
t.check("/metrics reports flows_shed per profile",
        line and int(line[0].split()[-1]) > 0 and
        'umbra_shadow_packets_total{profile="insists",what="flows_shed"} 0' in metrics,
        [x for x in metrics.splitlines() if "flows_shed" in x])

rc = d.stop()
t.check("umbra exits 0", rc == 0, rc)
d.cleanup(keep=t.n > 0)
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if t.n else 0)
