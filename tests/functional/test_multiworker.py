#!/usr/bin/python3
"""Two workers: worker k polls RX queue k of every port and sends on its
own TX queue k; flow state stays per worker and counters add up."""
from scapy.all import IP, TCP, UDP, Ether

from pcapcase import Case

C, S = "02:00:00:00:00:c1", "02:00:00:00:00:a1"


def flows(base, n):
    return [Ether(src=C, dst=S) / IP(src="10.%d.0.%d" % (base, i + 1), dst="10.0.0.100") /
            (TCP(sport=1000 + i, dport=80, flags="S") if i % 2 else UDP(sport=1000 + i, dport=53))
            for i in range(n)]


q0, q1 = flows(1, 40), flows(2, 30)
c = Case("multiworker")
c.port("uplink", [q0, q1], role="uplink", queues=2)
c.port("prod", queues=2)
# Two workers share the second CPU of a 2-core machine: slower, still exact.
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
""", lcores="0@0,1@1,2@1")
c.check("umbra exits 0", r.rc == 0, r.err)
c.frames_equal("queue 0's frames leave on TX queue 0, queue 1's on queue 1, in order",
               r.captures["prod"], q0 + q1)
if r.stats:
    w = r.stats["workers"]
    c.check("two workers, each saw its queue",
            [x["pkts"] for x in w] == [40, 30], [x["pkts"] for x in w])
    c.check("each worker tracked its own flows",
            [x["flow_table"]["active"] for x in w] == [40, 30])
    c.check("per-queue RX counters", r.stats["ports"]["uplink"]["rx_queues"] ==
            [{"queue": 0, "rx_pkts": 40}, {"queue": 1, "rx_pkts": 30}],
            r.stats["ports"]["uplink"]["rx_queues"])
    c.check("totals add up", r.stats["ports"]["prod"]["tx_pkts"] == 70 and
            r.stats["stages"]["production"]["pkts"] == 70)
c.done()
