#!/usr/bin/python3
"""Blue/green backends on their own segments, as users set them up: blue on
production's egress (port prod), green on its own port with production's
address (10.0.0.10), clients on the uplink.

- Green's ARP requests and neighbour solicitations are answered by umbra on
  green's port with that port's MAC; its gratuitous ARP, ARP replies, ARP
  and DAD probes and unsolicited adverts never leave (backend_resolution).
- A client's ARP for production's address still goes to blue's segment.
- A steered flow's reply from green leaves on the uplink with the client's
  MAC; blue's likewise.
- Green belongs to production (listed for staging too: production wins):
  a new flow it starts toward an address behind the uplink leaves on the
  uplink as blue's would; toward staging it passes the inter-stage policy
  (allowed on 5432, denied by default elsewhere)."""
import glob
import os
import shutil

from scapy.all import (ARP, IP, TCP, Dot1Q, Ether, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr, IPv6)

from pcapcase import Case

SVC = "10.0.0.10"                      # production's address: blue's and green's
SVC6 = "2001:db8::10"
ANY = "02:00:00:00:00:a1"              # umbra's ports are promiscuous
BLUE_NH, GREEN_NH = "02:00:00:00:0b:01", "02:00:00:00:0b:02"
C_GREEN, C_BLUE = "192.0.2.200", "192.0.2.7"   # the split sends .128/25 to green
CMAC_G, CMAC_B = "02:00:00:c0:00:c8", "02:00:00:c0:00:07"
C6 = "2001:db8:c::1"
DB_UPLINK, DB_STAGING = "198.51.100.7", "10.2.0.5"
BCAST = "ff:ff:ff:ff:ff:ff"

BODY = """
stages:
  - name: staging
    egress: { port: lab, vlan: 20 }
    match: [ { dst: 10.2.0.0/24 } ]
  - { name: production, default: true, egress: { port: prod } }
flows:
  - { name: prod-to-staging-db, from: production, to: staging, proto: tcp, dport: 5432 }
services:
  - name: web
    match: { dst: %s/32, proto: tcp, dport: 80 }
    backends:
      - { name: blue, port: prod, next_hop_mac: "%s" }
      - { name: green, port: green, next_hop_mac: "%s" }
    stages:
      staging: { backends: [green], running: v2 }
      production: { backends: [blue, green], running: v1 }
workflow:
  pipeline: [ { stage: staging, on: code_commit }, { stage: production, on: manual_approval } ]
splits:
  - { name: canary, stage: production, service: web, src: 192.0.2.128/25, to_backend: green }
""" % (SVC, BLUE_NH, GREEN_NH)


def syn(client, cmac, sport):
    return (Ether(src=cmac, dst=BLUE_NH) / IP(src=client, dst=SVC) /
            TCP(sport=sport, dport=80, flags="S", seq=1000))


def synack(src_mac, client, sport):
    return (Ether(src=src_mac, dst=ANY) / IP(src=SVC, dst=client) /
            TCP(sport=80, dport=sport, flags="SA", seq=5000, ack=1001))


def green_syn(dst, dport):
    return (Ether(src=GREEN_NH, dst=ANY) / IP(src=SVC, dst=dst) /
            TCP(sport=40000 + dport % 1000, dport=dport, flags="S", seq=7))


# Green's segment: what a Linux host with production's address sends.
g_arp = Ether(src=GREEN_NH, dst=BCAST) / ARP(op=1, hwsrc=GREEN_NH, psrc=SVC, pdst=C_GREEN)
g_garp = Ether(src=GREEN_NH, dst=BCAST) / ARP(op=1, hwsrc=GREEN_NH, psrc=SVC, pdst=SVC)
g_arp_reply = Ether(src=GREEN_NH, dst=CMAC_G) / ARP(op=2, hwsrc=GREEN_NH, psrc=SVC,
                                                     hwdst=CMAC_G, pdst=C_GREEN)
g_arp_probe = Ether(src=GREEN_NH, dst=BCAST) / ARP(op=1, hwsrc=GREEN_NH, psrc="0.0.0.0",
                                                    pdst=SVC)
g_ns = (Ether(src=GREEN_NH, dst="33:33:ff:00:00:01") /
        IPv6(src=SVC6, dst="ff02::1:ff00:1", hlim=255) /
        ICMPv6ND_NS(tgt=C6) / ICMPv6NDOptSrcLLAddr(lladdr=GREEN_NH))
g_dad = (Ether(src=GREEN_NH, dst="33:33:ff:00:00:10") /
         IPv6(src="::", dst="ff02::1:ff00:10", hlim=255) / ICMPv6ND_NS(tgt=SVC6))
g_na = (Ether(src=GREEN_NH, dst="33:33:00:00:00:01") / IPv6(src=SVC6, dst="ff02::1", hlim=255) /
        ICMPv6ND_NA(R=0, S=0, O=1, tgt=SVC6) / ICMPv6NDOptDstLLAddr(lladdr=GREEN_NH))
g_synack = synack(GREEN_NH, C_GREEN, 10001)
g_db = green_syn(DB_UPLINK, 5432)
g_staging = green_syn(DB_STAGING, 5432)
g_staging_ssh = green_syn(DB_STAGING, 22)

c_syn_g = syn(C_GREEN, CMAC_G, 10001)
c_syn_b = syn(C_BLUE, CMAC_B, 10002)
c_arp = Ether(src=CMAC_B, dst=BCAST) / ARP(op=1, hwsrc=CMAC_B, psrc=C_BLUE, pdst=SVC)
b_arp = Ether(src=BLUE_NH, dst=BCAST) / ARP(op=1, hwsrc=BLUE_NH, psrc=SVC, pdst=C_BLUE)
b_synack = synack(BLUE_NH, C_BLUE, 10002)

c = Case("bluegreen")
# The uplink is polled first: the clients' SYNs are in the flow table
# before the servers' answers are read.
c.port("uplink", [c_syn_g, c_syn_b, c_arp], role="uplink")
c.port("prod", [b_arp, b_synack])
c.port("green", [g_arp, g_garp, g_arp_reply, g_arp_probe, g_ns, g_dad, g_na,
                 g_synack, g_db, g_staging, g_staging_ssh])
c.port("lab")
r = c.run(BODY)
c.check("umbra exits 0", r.rc == 0 and r.stats is not None, r.err[-2000:])
if r.stats:
    up, gm, pm = r.port_mac("uplink"), r.port_mac("green"), r.port_mac("prod")
    arp_answer = Ether(src=gm, dst=GREEN_NH) / ARP(op=2, hwsrc=gm, psrc=C_GREEN,
                                                    hwdst=GREEN_NH, pdst=SVC)
    na_answer = (Ether(src=gm, dst=GREEN_NH) / IPv6(src=C6, dst=SVC6, hlim=255) /
                 ICMPv6ND_NA(R=0, S=1, O=1, tgt=C6) / ICMPv6NDOptDstLLAddr(lladdr=gm))
    c.frames_equal("green: the canary flow's SYN (dst = green's MAC), then umbra's ARP "
                   "and ND answers with green's port MAC; nothing else",
                   r.captures["green"],
                   [Ether(src=gm, dst=GREEN_NH) / c_syn_g[IP], arp_answer, na_answer])
    c.frames_equal("prod (blue): the client's ARP for production's address unchanged, "
                   "blue's flow's SYN (dst = blue's MAC)",
                   sorted(r.captures["prod"]),
                   sorted(bytes(f) for f in [Ether(src=pm, dst=BLUE_NH) / c_syn_b[IP], c_arp]))
    want_up = [
        b_arp,                                            # blue's ARP crosses as before
        Ether(src=up, dst=CMAC_B) / b_synack[IP],        # blue's reply to its client
        Ether(src=up, dst=CMAC_G) / g_synack[IP],        # green's reply to its client
        g_db,                                             # green's own flow: as blue's would
    ]
    c.frames_equal("uplink: blue's ARP, both replies with each client's MAC and the "
                   "uplink's, green's new flow to %s unchanged; none of green's "
                   "ARP/ND" % DB_UPLINK,
                   sorted(r.captures["uplink"]), sorted(bytes(f) for f in want_up))
    c.frames_equal("lab: green's flow to staging's database, allowed from production, "
                   "VLAN 20 pushed; not its ssh flow",
                   r.captures["lab"],
                   [Ether(src=GREEN_NH, dst=ANY) / Dot1Q(vlan=20) / g_staging[IP]])
    arp = r.stats["arp"]
    c.check("arp counters: 1 proxied and 1 ND proxied on green, 2 forwarded",
            (arp["proxied"], arp["nd_proxied"], arp["forwarded"]) == (1, 1, 2), arp)
    drops = r.stats["drops"]
    c.check("drops.backend_resolution = 5 (gratuitous ARP, ARP reply, ARP probe, "
            "DAD probe, unsolicited advert)", drops.get("backend_resolution") == 5, drops)
    c.check("drops.policy_deny = 1 (green's ssh flow into staging)",
            drops.get("policy_deny") == 1, drops)
    deny = r.stats.get("default_deny", {})
    c.check("default_deny counts it as production->staging (green's stage is "
            "production, not staging)", deny == {"production->staging": 1}, deny)
    rules = r.stats.get("rules", {})
    c.check("rule prod-to-staging-db allowed one flow",
            rules.get("prod-to-staging-db", {}).get("flows") == 1, rules)

prefix = "umbra-fn-%s-%d" % (c.name, os.getpid())
shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
for f in glob.glob("/dev/hugepages/%smap_*" % prefix):
    os.unlink(f)
c.done()
