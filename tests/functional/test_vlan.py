#!/usr/bin/python3
"""VLAN rewrite toward a stage and back: push, rewrite, strip, QinQ, replies."""
from scapy.all import IP, TCP, Dot1AD, Dot1Q, Ether

from pcapcase import Case

C, S = "02:00:00:00:00:c1", "02:00:00:00:00:a1"


def tcp(src, dst, sport, dport, flags="S"):
    return IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags)


up = [
    Ether(src=C, dst=S) / Dot1Q(vlan=200, prio=3) / tcp("10.0.0.1", "10.0.0.100", 1001, 80),
    Ether(src=C, dst=S) / tcp("10.5.0.1", "10.0.0.100", 1002, 80),
    Ether(src=C, dst=S) / Dot1Q(vlan=100) / tcp("10.0.0.2", "10.0.0.100", 1003, 80),
    Ether(src=C, dst=S) / Dot1AD(vlan=200) / Dot1Q(vlan=7) / tcp("10.0.0.3", "10.0.0.100", 1004, 80),
]
# Replies come from the stage side after the flows exist (port order: the
# uplink's burst is processed first).
prod_in = [
    Ether(src=S, dst=C) / Dot1Q(vlan=300, prio=3) / tcp("10.0.0.100", "10.0.0.1", 80, 1001, "SA"),
    Ether(src=S, dst=C) / Dot1Q(vlan=500) / tcp("10.0.0.100", "10.5.0.1", 80, 1002, "SA"),
    Ether(src=S, dst=C) / tcp("10.0.0.100", "10.0.0.2", 80, 1003, "SA"),
]
want_prod = [
    Ether(src=C, dst=S) / Dot1Q(vlan=300, prio=3) / tcp("10.0.0.1", "10.0.0.100", 1001, 80),
    Ether(src=C, dst=S) / Dot1Q(vlan=500) / tcp("10.5.0.1", "10.0.0.100", 1002, 80),
    Ether(src=C, dst=S) / tcp("10.0.0.2", "10.0.0.100", 1003, 80),
    Ether(src=C, dst=S) / Dot1AD(vlan=300) / Dot1Q(vlan=7) / tcp("10.0.0.3", "10.0.0.100", 1004, 80),
]
want_up = [
    Ether(src=S, dst=C) / Dot1Q(vlan=200, prio=3) / tcp("10.0.0.100", "10.0.0.1", 80, 1001, "SA"),
    Ether(src=S, dst=C) / tcp("10.0.0.100", "10.5.0.1", 80, 1002, "SA"),
    Ether(src=S, dst=C) / Dot1Q(vlan=100) / tcp("10.0.0.100", "10.0.0.2", 80, 1003, "SA"),
]
c = Case("vlan")
c.port("uplink", up, role="uplink")
c.port("prod", prod_in)
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: staging
    egress: { port: prod, vlan: 300 }
    match: [ { port: uplink, vlan: 200 } ]
  - name: tagged
    egress: { port: prod, vlan: 500 }
    match: [ { port: uplink, src: 10.5.0.0/16 } ]
""")
c.check("umbra exits 0", r.rc == 0, r.err)
c.frames_equal("toward the stages: tag rewritten (priority kept), pushed, stripped, QinQ outer rewritten",
               r.captures["prod"], want_prod)
c.frames_equal("replies get the client's original tagging back", r.captures["uplink"], want_up)
c.check("per-stage counters", r.stats and
        [r.stats["stages"][s]["pkts"] for s in ("production", "staging", "tagged")] == [2, 3, 2],
        r.stats and r.stats["stages"])
c.done()
