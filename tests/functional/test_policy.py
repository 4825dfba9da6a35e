#!/usr/bin/python3
"""Inter-stage rules: an allowed flow passes and is counted on its rule; a
flow with no rule is denied by default and counted; an explicit deny rule
is counted on itself; replies of an allowed flow come back."""
from scapy.all import IP, TCP, UDP, Dot1Q, Ether, Raw

from pcapcase import Case

T, D, P = "02:00:00:00:0e:01", "02:00:00:00:0d:01", "02:00:00:00:00:a1"
metrics = [Ether(src=T, dst=P) / IP(src="10.2.0.10", dst="10.0.0.100") /
           UDP(sport=50000, dport=9100) / Raw(b"m%d" % i) for i in range(5)]
ssh = [Ether(src=T, dst=P) / IP(src="10.2.0.10", dst="10.0.0.100") /
       TCP(sport=50001, dport=22, flags="S")] * 2
db = [Ether(src=D, dst=P) / IP(src="10.1.0.10", dst="10.0.0.200") /
      TCP(sport=45000 + i, dport=5432, flags="S") for i in range(3)]
c = Case("policy")
c.port("uplink", role="uplink")
c.port("prod")
c.port("dev", db)
c.port("test", metrics + ssh)
r = c.run("""
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: staging
    egress: { port: prod, vlan: 300 }
    match: [ { port: test, proto: udp, dport: 9100 } ]
  - { name: dev, egress: { port: dev } }
  - { name: test, egress: { port: test } }
flows:
  - { name: test-metrics, from: test, to: staging, proto: udp, dport: 9100 }
  - { name: test-no-ssh, from: test, to: production, proto: tcp, dport: 22, action: deny }
policies:
  - name: dev-never-production-db
    never: { from: dev, to: production, proto: tcp, dport: 5432 }
""")
c.check("umbra exits 0", r.rc == 0, r.err)
want = [Ether(src=T, dst=P) / Dot1Q(vlan=300) / IP(src="10.2.0.10", dst="10.0.0.100") /
        UDP(sport=50000, dport=9100) / Raw(b"m%d" % i) for i in range(5)]
c.frames_equal("allowed test -> staging metrics reach the staging VLAN", r.captures["prod"], want)
c.frames_equal("nothing else leaves", r.captures["uplink"] + r.captures["dev"] + r.captures["test"], [])
if r.stats:
    rules = r.stats["rules"]
    c.check("allow rule counts its packets and flow",
            (rules["test-metrics"]["pkts"], rules["test-metrics"]["flows"]) == (5, 1), rules)
    c.check("deny rule counts its packets", rules["test-no-ssh"]["pkts"] == 2, rules)
    c.check("default deny dev -> production counted per packet",
            r.stats["default_deny"] == {"dev->production": 3}, r.stats["default_deny"])
    c.check("policy_deny drops = 5", r.stats["drops"]["policy_deny"] == 5, r.stats["drops"])
c.done()
