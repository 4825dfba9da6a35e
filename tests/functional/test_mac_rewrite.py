#!/usr/bin/python3
"""Routed stage: next-hop MAC rewrite toward the stage, mirrored for replies."""
from scapy.all import IP, TCP, Ether

from pcapcase import Case

C, ANY, NH = "02:00:00:00:00:c1", "02:00:00:00:00:ee", "02:00:00:00:0d:01"
syn = IP(src="10.1.0.1", dst="10.1.0.10") / TCP(sport=1234, dport=8080, flags="S")
synack = IP(src="10.1.0.10", dst="10.1.0.1") / TCP(sport=8080, dport=1234, flags="SA")
c = Case("macrw")
c.port("uplink", [Ether(src=C, dst=ANY) / syn], role="uplink")
c.port("prod")
c.port("dev", [Ether(src=NH, dst=ANY) / synack])
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: dev
    egress: { port: dev, next_hop_mac: "02:00:00:00:0d:01" }
    match: [ { dst: 10.1.0.0/16 } ]
""")
c.check("umbra exits 0", r.rc == 0, r.err)
if r.stats:
    c.frames_equal("toward dev: dst = next hop, src = the dev port's MAC",
                   r.captures["dev"], [Ether(src=r.port_mac("dev"), dst=NH) / syn])
    c.frames_equal("reply: dst = the client's MAC, src = the uplink port's MAC",
                   r.captures["uplink"], [Ether(src=r.port_mac("uplink"), dst=C) / synack])
c.frames_equal("production sees nothing", r.captures["prod"], [])
c.done()
