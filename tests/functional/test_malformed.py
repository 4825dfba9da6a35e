#!/usr/bin/python3
"""Malformed and truncated frames are dropped under their named reason;
good frames around them still pass."""
from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw

from pcapcase import Case

C, S = "02:00:00:00:00:c1", "02:00:00:00:00:a1"
eth4 = bytes(Ether(src=C, dst=S, type=0x0800))
eth6 = bytes(Ether(src=C, dst=S, type=0x86DD))
ip = bytearray(bytes(IP(src="10.0.0.1", dst="10.0.0.100") / TCP(sport=1, dport=80)))


def patched(offset, value):
    b = bytearray(ip)
    b[offset:offset + len(value)] = value
    return eth4 + bytes(b)


good = Ether(src=C, dst=S) / IP(src="10.0.0.1", dst="10.0.0.100") / UDP(sport=9, dport=9)
cases = {
    "eth_trunc": bytes(good)[:10],
    "ipv4_trunc": eth4 + bytes(ip)[:12],
    "ipv4_bad_version": patched(0, b"\x65"),
    "ipv4_bad_ihl": patched(0, b"\x43"),
    "ipv4_bad_totlen": patched(2, (400).to_bytes(2, "big")),
    "tcp_bad_offset": patched(32, b"\x20"),
    "tcp_trunc": eth4 + bytes(IP(src="10.0.0.1", dst="10.0.0.100", proto=6, len=30)) + b"\x00" * 10,
    "udp_bad_len": eth4 + bytes(IP(src="10.0.0.1", dst="10.0.0.100") / UDP(sport=1, dport=2, len=4)),
    "ipv6_trunc": eth6 + bytes(IPv6())[:20],
    "non_ip": bytes(Ether(src=C, dst="01:80:c2:00:00:0e", type=0x88CC)) + b"\x02\x07\x04" + bytes(40),
}
frames = [good] + list(cases.values()) + [good]
c = Case("malformed")
c.port("uplink", frames, role="uplink")
c.port("prod")
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
""")
c.check("umbra exits 0", r.rc == 0, r.err)
c.frames_equal("only the good frames pass", r.captures["prod"], [good, good])
if r.stats:
    drops = {k: v for k, v in r.stats["drops"].items() if v}
    c.check("each malformed frame counted under its reason",
            drops == {k: 1 for k in cases}, drops)
c.done()
