#!/usr/bin/python3
"""The daemon's answers to bad input: configs fail with file:line:col and
exit status 2; operational problems give one sentence saying what to do."""
import os
import re

from pcapcase import SRC, Case

STAGES = """
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: dev
    egress: { port: prod, vlan: 10 }
    match: [ { src: 10.1.0.0/16 } ]
"""
c = Case("cli")
c.port("uplink", [], role="uplink")
c.port("prod")
conf = os.path.join(c.dir, "umbra.yaml")


def first_line(run):
    return (run.err.strip().splitlines() or [""])[0]


r = c.run(None, extra=["--check"], raw_yaml=open(os.path.join(SRC, "conf", "demo.yaml")).read())
c.check("--check accepts the demo config", r.rc == 0 and "ok" in r.out, (r.rc, r.out, r.err))

r = c.run(STAGES + """flows:
  - { name: prod-to-dev, from: production, to: dev }
policies:
  - name: production-never-dev
    never: { from: production, to: dev }
""")
c.check("a rule that breaks a policy is refused with exit 2", r.rc == 2, (r.rc, r.err))
c.check("... naming the rule, its position and the policy",
        first_line(r) == "%s:11:5: flow rule 'prod-to-dev' allows production -> dev "
        "(any protocol, dport 0-65535), which policy 'production-never-dev' at line 13 forbids" % conf,
        first_line(r))

r = c.run(STAGES + "flows: [ { from: dev, to: production\n")
c.check("YAML syntax error: exit 2 with file:line:col",
        r.rc == 2 and re.match(re.escape(conf) + r":\d+:\d+: ", first_line(r)), (r.rc, r.err))

r = c.run(STAGES.replace("port: prod }", "port: prodd }", 1))
c.check("unknown port reference: exit 2 with file:line:col",
        r.rc == 2 and re.match(re.escape(conf) + r":6:\d+: .*prodd", first_line(r)), (r.rc, r.err))

r = c.run(STAGES + """  - name: replica
    egress: { port: prod, vlan: 20 }
    proxy_arp: true
""")
c.check("proxy_arp without next_hop_mac is refused",
        r.rc == 2 and re.match(re.escape(conf) + r":10:5: stage 'replica': proxy_arp needs",
                               first_line(r)), (r.rc, r.err))

r = c.run(STAGES, lcores="0")
c.check("one lcore: exit 1 and what to do",
        r.rc == 1 and "needs at least two lcores" in r.err and "-l 0-1" in r.err, (r.rc, r.err))

bogus = c._ports_yaml().replace("net_pcap_cli_1", "net_bogus_cli_1") + STAGES
r = c.run(None, raw_yaml=bogus)
c.check("unknown virtual device: exit 1 and what to check",
        r.rc == 1 and "cannot create virtual device" in r.err, (r.rc, r.err))

r = c.run(None, raw_yaml="")
c.check("empty config: exit 2 at 1:1", r.rc == 2 and first_line(r).startswith(conf + ":1:1: "),
        (r.rc, r.err))
c.done()
