#!/usr/bin/python3
"""A full flow table is counted and the packets still go through statelessly."""
from scapy.all import IP, UDP, Ether

from pcapcase import Case

frames = [Ether(src="02:00:00:00:00:c1", dst="02:00:00:00:00:a1") /
          IP(src="10.0.%d.%d" % (i // 250, 1 + i % 250), dst="10.0.0.100") / UDP(sport=1000, dport=53)
          for i in range(1500)]
c = Case("flowfull")
c.port("uplink", frames, role="uplink")
c.port("prod")
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
flow_table: { size: 1024 }
""")
c.check("umbra exits 0", r.rc == 0, r.err)
c.frames_equal("all 1500 frames forwarded", r.captures["prod"], frames)
if r.stats:
    w = r.stats["workers"][0]["flow_table"]
    c.check("table full counted, the rest stateless",
            w["table_full"] > 0 and r.stats["flows"]["stateless"] == w["table_full"]
            and w["active"] + w["table_full"] == 1500, (w, r.stats["flows"]))
c.done()
