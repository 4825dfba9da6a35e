#!/usr/bin/python3
"""Service steering end to end: a service's new flows leave on the backend of
the version running in the stage, with that backend's next-hop MAC and VLAN;
a canary takes its share of whole flows, by a seeded flow hash (a flow chosen
at a small fraction stays chosen at a larger one; another seed chooses
others); a network split sends exactly its client prefix elsewhere; replies
go back to the client with its MACs restored; the per-service and per-split
counters say the same.

Each case is its own umbra run. The initial state (no state directory) runs
web on blue; a canary comes from a state directory written by hand before
the start (gen-1.yaml/.state/.meta and current), which umbra resumes."""
import glob
import json
import os
import shutil
import sys

from scapy.all import IP, TCP, Dot1Q, Ether, Raw

from pcapcase import Case

SVC, OTHER = "10.0.0.10", "10.0.0.11"
ANY = "02:00:00:00:00:a1"                     # umbra's ports are promiscuous
BLUE_NH, GREEN_NH = "02:00:00:00:0b:01", "02:00:00:00:0b:02"
GREEN_VLAN = 301
N = 1000                                      # service flows per run
LAB = range(128, 255)                         # last octets of 192.0.2.128/25

BODY = """
stages:
  - { name: production, default: true, egress: { port: prod } }
  - { name: dev, egress: { port: lab, vlan: 10 } }
  - { name: test, egress: { port: lab, vlan: 20 } }
  - { name: staging, egress: { port: lab, vlan: 30 } }
services:
  - name: web
    match: { dst: 10.0.0.10/32, proto: tcp, dport: 80 }
    backends:
      - { name: blue, port: prod, next_hop_mac: "%s" }
      - { name: green, port: green, vlan: %d, next_hop_mac: "%s" }
    stages:
      production: { backends: [blue, green], running: v1 }
""" % (BLUE_NH, GREEN_VLAN, GREEN_NH)
SPLIT = """
splits:
  - { name: lab, stage: production, service: web, src: 192.0.2.128/25, to_backend: green }
"""


def canary(bp):
    return {"web": {"production": {"version": "v1", "backend": "blue",
                                   "canary": {"version": "v2", "backend": "green",
                                              "bp": bp}}}}


def octet(i):
    return 1 + i % 254


def client(i):
    return "192.0.2.%d" % octet(i)


def cmac(i):
    return "02:00:00:c0:%02x:%02x" % (i >> 8, i & 0xff)


def sport(i):
    return 10000 + i


def syn(i, dst=SVC, dport=80):
    return (Ether(src=cmac(i), dst=ANY) / IP(src=client(i), dst=dst) /
            TCP(sport=sport(i), dport=dport, flags="S", seq=1000))


def data(i, dst=SVC, dport=80):
    return (Ether(src=cmac(i), dst=ANY) / IP(src=client(i), dst=dst) /
            TCP(sport=sport(i), dport=dport, flags="PA", seq=1001, ack=1) /
            Raw(b"GET /%d HTTP/1.0\r\n\r\n" % i))


def synack(i, src_mac, vlan=None):
    eth = Ether(src=src_mac, dst=ANY)
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    return eth / IP(src=SVC, dst=client(i)) / TCP(sport=80, dport=sport(i), flags="SA",
                                                    seq=5000, ack=1001)


def service_input(n=N):
    """Flows 0..n/2-1: SYN and data back to back (often one burst); the rest:
    every SYN, then every data packet (the flow already in the table)."""
    h = n // 2
    frames = []
    for i in range(h):
        frames += [syn(i), data(i)]
    frames += [syn(i) for i in range(h, n)] + [data(i) for i in range(h, n)]
    return frames


def flow_of(frame):
    """Client port of a TCP frame to or from the service (None otherwise)."""
    p = Ether(frame)
    if IP not in p or TCP not in p:
        return None
    ip, tcp = p[IP], p[TCP]
    if ip.dst == SVC and tcp.dport == 80:
        return tcp.sport - 10000
    if ip.src == SVC and tcp.sport == 80:
        return tcp.dport - 10000
    return None


def to_blue(f, r):
    return Ether(src=r.port_mac("prod"), dst=BLUE_NH) / f[IP]


def to_green(f, r):
    return Ether(src=r.port_mac("green"), dst=GREEN_NH) / Dot1Q(vlan=GREEN_VLAN) / f[IP]


T = Case("steering")   # collects every check; runs use their own cases
runs = []
prefixes = []


def run(name, uplink, prod=None, green=None, extra_yaml="", state=None):
    c = Case("steer_" + name)
    runs.append(c)
    prefixes.append("umbra-fn-%s-%d" % (c.name, os.getpid()))
    c.port("uplink", uplink, role="uplink")
    c.port("prod", prod)
    c.port("green", green)
    c.port("lab")
    yaml = c._ports_yaml() + BODY + extra_yaml
    extra = []
    sd = None
    if state is not None:
        sd = os.path.join(c.dir, "state")
        os.mkdir(sd)
        for fname, text in (("gen-1.yaml", yaml), ("gen-1.state", json.dumps(state)),
                            ("gen-1.meta", "1 0 1700000000 file:test\n"),
                            ("current", "1\n")):
            with open(os.path.join(sd, fname), "w") as f:
                f.write(text)
        extra = ["--state-dir", sd]
    r = c.run(None, raw_yaml=yaml, extra=extra)
    T.check("%s: umbra exits 0" % name, r.rc == 0 and r.stats is not None,
            (r.rc, r.err[-2000:]))
    if sd is not None:
        T.check("%s: umbra says it resumed generation 1 from the state directory" % name,
                "resuming generation 1 (file:test) from %s" % sd in r.out, r.out[-2000:])
    return r


def split_sides(name, r, frames):
    """Which service flows left on blue and which on green; checks every
    output frame exactly, so a flow split across sides fails here."""
    green = {flow_of(x) for x in r.captures["green"]}
    blue = {flow_of(x) for x in r.captures["prod"]} - {None}
    want_prod, want_green = [], []
    for f in frames:
        k = flow_of(bytes(f))
        if k is None or Ether(bytes(f))[IP].dst != SVC or Ether(bytes(f))[TCP].dport != 80:
            want_prod.append(f)                 # not the service: unchanged
        elif k in green:
            want_green.append(to_green(f, r))
        else:
            want_prod.append(to_blue(f, r))
    T.frames_equal("%s: prod = blue's flows (dst = blue's next hop) and the rest "
                   "unchanged, in order" % name, r.captures["prod"], want_prod)
    T.frames_equal("%s: green = green's flows whole, VLAN %d, dst = green's next hop"
                   % (name, GREEN_VLAN), r.captures["green"], want_green)
    T.check("%s: every service flow left on exactly one side" % name,
            not (green & blue) and len(green | blue) == N, (len(green), len(blue)))
    T.frames_equal("%s: nothing leaves on the uplink or the lab port" % name,
                   r.captures["uplink"] + r.captures["lab"], [])
    return blue, green


def counters(name, r, running=0, canary=0, split=0, lab=None):
    if r.stats is None:
        return
    web = r.stats.get("services", {}).get("web")
    want = {"stage_flows": 0, "running_flows": running, "canary_flows": canary,
            "split_flows": split}
    got = {k: web.get(k) for k in want} if web else None
    T.check("%s: services.web counters %s" % (name, want), got == want, web)
    if lab is not None:
        got = r.stats.get("splits")
        T.check("%s: splits.lab.flows = %d" % (name, lab), got == {"lab": {"flows": lab}}, got)


# 1. No canary: the initial state runs web on blue. Flows to another address
#    or another port are not the service and leave on production's egress.
others = [f(i) for i in range(5) for f in (lambda i: syn(i, dst=OTHER),
                                              lambda i: data(i, dst=OTHER))]
others += [syn(7, dport=443), data(7, dport=443)]
frames = service_input()
mixed = frames[:100] + others[:6] + frames[100:1500] + others[6:] + frames[1500:]
r = run("initial", mixed)
if r.stats:
    blue, green = split_sides("no canary", r, mixed)
    T.check("no canary: all %d flows on blue" % N, len(blue) == N and not green,
            (len(blue), len(green)))
    counters("no canary", r, running=N)

# 2. Canary at 25%: whole flows, a quarter of them on green.
r = run("canary2500", frames, state=canary(2500))
green25 = set()
if r.stats:
    blue25, green25 = split_sides("bp=2500", r, frames)
    share = 100.0 * len(green25) / N
    T.check("bp=2500: green share %.1f%% is 25 +- 5" % share, 20 <= share <= 30, share)
    counters("bp=2500", r, running=len(blue25), canary=len(green25))

# 3. Consistency: 5% picks a subset of the 25% flows; another seed picks others.
r = run("canary500", frames, state=canary(500))
if r.stats:
    blue5, green5 = split_sides("bp=500", r, frames)
    share = 100.0 * len(green5) / N
    T.check("bp=500: green share %.1f%% is 5 +- 3" % share, 2 <= share <= 8, share)
    T.check("bp=500: its green flows are among bp=2500's",
            green5 and green5 <= green25, sorted(green5 - green25))
    counters("bp=500", r, running=len(blue5), canary=len(green5))
r = run("seed", frames, extra_yaml="steering: { seed: 12345 }\n", state=canary(2500))
if r.stats:
    blue_s, green_s = split_sides("seed 12345", r, frames)
    share = 100.0 * len(green_s) / N
    T.check("seed 12345: green share %.1f%% is 25 +- 5" % share, 20 <= share <= 30, share)
    T.check("seed 12345: another set of flows than the default seed's",
            green_s != green25, len(green_s ^ green25))
    counters("seed 12345", r, running=len(blue_s), canary=len(green_s))

# 4. A split by client prefix, no canary: exactly 192.0.2.128/25 on green.
r = run("split", frames, extra_yaml=SPLIT)
if r.stats:
    blue_l, green_l = split_sides("split lab", r, frames)
    want = {i for i in range(N) if octet(i) in LAB}
    T.check("split lab: exactly the flows of 192.0.2.128/25 on green (%d)" % len(want),
            green_l == want, (len(green_l), sorted(green_l ^ want)[:10]))
    counters("split lab", r, running=N - len(want), split=len(want), lab=len(want))

# 5. Replies: a few flows (one uplink burst, so their SYNs are seen before
#    the replies on later ports) answered from blue's port and green's VLAN.
if green25 and len(green25) >= 3 and N - len(green25) >= 3:
    gs = sorted(green25)[:3]
    bs = sorted(set(range(N)) - green25)[:3]
    r = run("replies", [syn(i) for i in gs + bs],
            prod=[synack(i, BLUE_NH) for i in bs],
            green=[synack(i, GREEN_NH, GREEN_VLAN) for i in gs], state=canary(2500))
    if r.stats:
        T.frames_equal("replies: SYNs of blue's flows on blue", r.captures["prod"],
                       [to_blue(syn(i), r) for i in bs])
        T.frames_equal("replies: SYNs of green's flows on green", r.captures["green"],
                       [to_green(syn(i), r) for i in gs])
        up = r.port_mac("uplink")
        want = [Ether(src=up, dst=cmac(i)) / synack(i, BLUE_NH)[IP] for i in bs + gs]
        # prod and green are polled one after the other: compare as sets.
        T.frames_equal("replies: leave on the uplink untagged, dst = each client's MAC, "
                       "src = the uplink's", sorted(r.captures["uplink"]),
                       sorted(bytes(w) for w in want))
        counters("replies", r, running=3, canary=3)
else:
    T.check("replies: bp=2500 gave at least 3 flows on each side", False, len(green25))

for c in runs:
    if T.failures == 0:
        shutil.rmtree(c.dir, ignore_errors=True)
    else:
        print("artifacts kept in", c.dir)
for p in prefixes:
    shutil.rmtree("/var/run/dpdk/" + p, ignore_errors=True)
    for f in glob.glob("/dev/hugepages/%smap_*" % p):
        os.unlink(f)
shutil.rmtree(T.dir, ignore_errors=True)
sys.exit(1 if T.failures else 0)
