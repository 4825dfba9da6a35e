#!/usr/bin/python3
"""Uplink -> production, L2-transparent: every frame leaves unchanged."""
from scapy.all import ICMP, IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrHopByHop, Raw

from pcapcase import Case

C_MAC, S_MAC = "02:00:00:00:00:c1", "02:00:00:00:00:a1"
frames = [
    Ether(src=C_MAC, dst=S_MAC) / IP(src="10.0.0.1", dst="10.0.0.100") / TCP(sport=40000, dport=80, flags="S"),
    Ether(src=C_MAC, dst=S_MAC) / IP(src="10.0.0.1", dst="10.0.0.100") / UDP(sport=5000, dport=53) / Raw(b"x" * 100),
    Ether(src=C_MAC, dst=S_MAC) / IP(src="10.0.0.1", dst="10.0.0.100") / ICMP(),
    Ether(src=C_MAC, dst=S_MAC) / IP(src="10.0.0.1", dst="10.0.0.100", options=b"\x01\x01\x01\x00") / TCP(dport=443),
    Ether(src=C_MAC, dst=S_MAC) / IP(src="10.0.0.2", dst="10.0.0.100", flags="MF", id=7) / UDP(sport=1, dport=2) / Raw(b"a" * 64),
    Ether(src=C_MAC, dst=S_MAC) / IP(src="10.0.0.2", dst="10.0.0.100", frag=9, id=7, proto=17) / Raw(b"b" * 64),
    Ether(src=C_MAC, dst=S_MAC) / IPv6(src="2001:db8::1", dst="2001:db8::100") / IPv6ExtHdrHopByHop() / TCP(dport=443, flags="S"),
    Ether(src=C_MAC, dst=S_MAC) / IPv6(src="2001:db8::1", dst="2001:db8::100") / UDP(dport=53) / Raw(b"q"),
]
c = Case("transparent")
c.port("uplink", frames, role="uplink")
c.port("prod")
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
""")
c.check("umbra exits 0 when its input is idle", r.rc == 0, r.err)
c.frames_equal("production receives every frame byte for byte", r.captures["prod"], frames)
c.frames_equal("nothing goes back to the uplink", r.captures["uplink"], [])
c.check("stage counter", r.stats and r.stats["stages"]["production"]["pkts"] == len(frames))
# A later fragment has no ports: it is its own (L3-only) flow.
c.check("one flow per 5-tuple, later fragment keyed by addresses only",
        r.stats and r.stats["flows"]["new"] == 8, r.stats and r.stats["flows"])
c.check("no drops", r.stats and sum(r.stats["drops"].values()) == 0)
c.done()
