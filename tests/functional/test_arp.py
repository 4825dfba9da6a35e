#!/usr/bin/python3
"""Address resolution: ARP crosses the wire to the stage it serves; a
proxy_arp stage is answered by umbra (ARP reply and IPv6 neighbour advert)
with the ingress port's MAC."""
from scapy.all import (ARP, Ether, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                       ICMPv6NDOptSrcLLAddr, IPv6)

from pcapcase import Case

C = "02:00:00:00:00:c1"
req_prod = Ether(src=C, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=C, psrc="10.0.0.1", pdst="10.0.0.100")
req_shadow = Ether(src=C, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=C, psrc="10.0.0.1", pdst="10.9.0.1")
gratuitous = Ether(src=C, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=C, psrc="10.9.0.7", pdst="10.9.0.7")
ns = (Ether(src=C, dst="33:33:ff:00:00:01") / IPv6(src="2001:db8::1", dst="ff02::1:ff00:1", hlim=255) /
      ICMPv6ND_NS(tgt="2001:db8:9::1") / ICMPv6NDOptSrcLLAddr(lladdr=C))
c = Case("arp")
c.port("uplink", [req_prod, req_shadow, gratuitous, ns], role="uplink")
c.port("prod")
c.port("shadow")
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: replica
    egress: { port: shadow, next_hop_mac: "02:00:00:00:05:01" }
    proxy_arp: true
    match: [ { dst: 10.9.0.0/16 }, { dst: "2001:db8:9::/48" } ]
""")
c.check("umbra exits 0", r.rc == 0, r.err)
c.frames_equal("ARP for a production host is forwarded to production unchanged",
               r.captures["prod"], [req_prod])
c.frames_equal("a gratuitous ARP is forwarded, not answered", r.captures["shadow"], [gratuitous])
if r.stats:
    m = r.port_mac("uplink")
    arp_reply = Ether(src=m, dst=C) / ARP(op=2, hwsrc=m, psrc="10.9.0.1", hwdst=C, pdst="10.0.0.1")
    na = (Ether(src=m, dst=C) / IPv6(src="2001:db8:9::1", dst="2001:db8::1", hlim=255) /
          ICMPv6ND_NA(R=0, S=1, O=1, tgt="2001:db8:9::1") / ICMPv6NDOptDstLLAddr(lladdr=m))
    c.frames_equal("umbra answers ARP and ND for the proxy stage on the uplink",
                   r.captures["uplink"], [arp_reply, na])
    c.check("counters", (r.stats["arp"]["forwarded"], r.stats["arp"]["proxied"],
                         r.stats["arp"]["nd_proxied"]) == (2, 1, 1), r.stats["arp"])
c.done()
