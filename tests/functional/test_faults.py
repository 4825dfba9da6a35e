#!/usr/bin/python3
"""Fault injection on net_pcap ports with fixed seeds: exactly which packets
a rule drops (random and Gilbert-Elliott loss, per-flow blackhole, SYN drop,
partition, bandwidth cap), duplicates, corrupts (bits flipped as the
generator says; checksum left wrong or fixed) and reorders; the answers it
makes (TCP resets toward both ends with sequence numbers they accept, ICMP
unreachable, DNS SERVFAIL); the transmit timestamps of delayed packets, and
flow order kept under jitter; a fault on production refused without
allow_production. Each case is its own umbra run (one worker)."""
import os
import shutil

from scapy.all import DNS, DNSQR, ICMP, IP, TCP, UDP, Ether, Raw, PcapReader

import faultmodel as fm
from pcapcase import Case

CLIENT, UMBRA, SERVER = "02:00:00:00:0c:01", "02:00:00:00:00:a1", "02:00:00:00:0a:01"
STG_SRV, PROD_SRV = "10.2.0.10", "10.0.0.10"

STAGES = """
fault_policy: { allow_production: %s }
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: staging
    egress: { port: stg }
    match: [ { dst: 10.2.0.0/16 } ]
flows:
  - { name: stg-to-prod, from: staging, to: production }
  - { name: prod-to-stg, from: production, to: staging }
"""


def udp(i, dst=STG_SRV, sport=40000, dport=7000, src="10.9.0.1", size=0):
    pad = b"x" * max(0, size - 42 - 6)
    return (Ether(src=CLIENT, dst=UMBRA) / IP(src=src, dst=dst) /
            UDP(sport=sport, dport=dport) / Raw(b"p%05d" % i + pad))


def run_case(name, faults, up=None, stg=None, prod=None, allow="true"):
    c = Case("faults-" + name)
    c.port("up", up, role="uplink")
    c.port("prod", prod)
    c.port("stg", stg)
    r = c.run(STAGES % allow + faults)
    c.check("%s: umbra exits 0" % name, r.rc == 0, r.err)
    return c, r


def rule(r, i=0):
    return r.stats["faults"]["rules"][i]


def counters(r, i=0):
    return rule(r, i)["counters"]


def pcap_times(c, port):
    path = os.path.join(c.dir, "%s-out.pcap" % port)
    return [float(p.time) for p in PcapReader(path)]


def case_loss_random():
    frames = [udp(i) for i in range(200)]
    c, r = run_case("loss", """
faults:
  - { kind: loss, stage: staging, probability: 0.3, seed: 42 }
""", up=frames)
    rng = fm.Rng(42)
    kept = [f for f in frames if not fm.selects_packet(rng, 0.3)]
    c.frames_equal("random loss drops exactly the seeded packets", r.captures["stg"], kept)
    k = counters(r)
    c.check("loss counters: matched 200, dropped %d" % (200 - len(kept)),
            k["matched"] == 200 and k["dropped"] == 200 - len(kept) == k["touched"], k)
    return c


def case_loss_gilbert_elliott():
    frames = [udp(i) for i in range(300)]
    c, r = run_case("ge", """
faults:
  - { kind: loss, stage: staging, model: gilbert_elliott, p: 0.1, r: 0.3, loss_good: 0.01, loss_bad: 0.9, seed: 11 }
""", up=frames)
    rng, bad, kept = fm.Rng(11), False, []
    for f in frames:
        lost = rng.chance(fm.threshold(0.9 if bad else 0.01))
        bad = (not rng.chance(fm.threshold(0.3))) if bad else rng.chance(fm.threshold(0.1))
        if not lost:
            kept.append(f)
    c.frames_equal("Gilbert-Elliott loss drops exactly the seeded bursts", r.captures["stg"], kept)
    return c


def case_blackhole_per_flow():
    frames = [udp(2 * i + j, sport=30000 + i) for i in range(100) for j in range(2)]
    c, r = run_case("flows", """
faults:
  - { kind: blackhole, stage: staging, select: flow, probability: 0.25, seed: 9 }
""", up=frames)
    kept = [f for f in frames if not fm.selects_flow(
        fm.flow_key("10.9.0.1", STG_SRV, 17, f[UDP].sport, 7000), 9, 0.25)]
    c.frames_equal("per-flow selection drops whole seeded flows", r.captures["stg"], kept)
    c.check("about a quarter of the flows (%d of 100)" % ((200 - len(kept)) // 2),
            10 <= (200 - len(kept)) // 2 <= 40)
    return c


def case_duplicate_corrupt():
    frames = [Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.1", dst=STG_SRV) /
              TCP(sport=40001, dport=80, flags="PA", seq=1000 + 20 * i, ack=1) /
              Raw(b"corrupt-me-%08d" % i) for i in range(10)]
    plain = [udp(i, dport=7001) for i in range(10)]
    c, r = run_case("dupcorrupt", """
faults:
  - { kind: corrupt, stage: staging, proto: tcp, bits: 3, checksum: wrong, seed: 7 }
  - { kind: duplicate, stage: staging, proto: udp, copies: 2 }
""", up=frames + plain)
    rng, want = fm.Rng(7), []
    for f in frames:
        raw = bytes(f)
        want.append(raw[:34] + fm.corrupt(raw[34:], 3, rng))
    want += [f for f in plain for _ in range(3)]
    c.frames_equal("corrupt flips the seeded bits (checksum left wrong); duplicate sends 3",
                   r.captures["stg"], want)
    k = [counters(r, i) for i in range(2)]
    c.check("corrupted 10, duplicated 20", k[0]["corrupted"] == 10 and k[1]["duplicated"] == 20, k)
    return c


def tcp_checksum_ok(frame):
    p = Ether(frame)
    got = p[TCP].chksum
    del p[TCP].chksum
    return Ether(bytes(p))[TCP].chksum == got


def case_corrupt_fixed():
    frames = [Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.1", dst=STG_SRV) /
              TCP(sport=40002, dport=80, flags="PA", seq=5, ack=1) /
              Raw(b"payload-%04d-with-some-bytes" % i) for i in range(20)]
    c, r = run_case("fixed", """
faults:
  - { kind: corrupt, stage: staging, bits: 1, checksum: fixed, seed: 3 }
""", up=frames)
    out = r.captures["stg"]
    c.check("20 corrupted packets leave", len(out) == 20, len(out))
    c.check("their TCP checksums are valid again", all(tcp_checksum_ok(o) for o in out))
    # A flip that lands in the checksum field itself is undone by the fix.
    rng, changed = fm.Rng(3), []
    for f in frames:
        seg = bytes(f)[34:]
        flipped = fm.corrupt(seg, 1, rng)
        changed.append(flipped[:16] + flipped[18:] != seg[:16] + seg[18:])
    c.check("each differs from its input unless the flip hit the checksum",
            [o != bytes(f) for o, f in zip(out, frames)] == changed)
    return c


def case_reorder():
    frames = [udp(i) for i in range(50)]
    c, r = run_case("reorder", """
faults:
  - { kind: reorder, stage: staging, probability: 0.2, hold: 20ms, seed: 5 }
""", up=frames)
    rng = fm.Rng(5)
    held = [fm.selects_packet(rng, 0.2) for _ in frames]
    want = [f for f, h in zip(frames, held) if not h] + [f for f, h in zip(frames, held) if h]
    c.frames_equal("held packets are overtaken by the ones after them", r.captures["stg"], want)
    t = pcap_times(c, "stg")
    n = held.count(False)
    c.check("held ones leave 20 ms later", n < len(t) and t[n] - t[0] >= 0.0195,
            t[n] - t[0] if n < len(t) else t)
    return c


def case_delay():
    stg = [udp(i, dport=7002) for i in range(20)]
    prod = [udp(100 + i, dst=PROD_SRV, dport=7002) for i in range(20)]
    frames = [f for pair in zip(prod, stg) for f in pair]
    c, r = run_case("delay", """
faults:
  - { kind: delay, stage: staging, delay: 30ms }
""", up=frames)
    c.frames_equal("delayed packets keep their order", r.captures["stg"], stg)
    c.frames_equal("other traffic is not delayed", r.captures["prod"], prod)
    ts, tp = pcap_times(c, "stg"), pcap_times(c, "prod")
    gaps = [s - p for s, p in zip(ts, tp)]
    # The neighbour's own send lags its arrival by up to a TX drain period
    # (DP_DRAIN_US, 100 us; more under ASan: 110 us seen), which shortens
    # the gap: the lower bound allows 0.5 ms of that. Never early against
    # the packet's own arrival is the delay queue's contract (unit test
    # fault_delay) and what delay_error measures. The upper bounds leave
    # room for a shared CI host that takes the worker's core away.
    c.check("each leaves 30 ms after its neighbour (%.2f..%.2f ms)" %
            (min(gaps) * 1e3, max(gaps) * 1e3),
            len(gaps) == 20 and min(gaps) >= 0.0295 and max(gaps) < 0.060, gaps)
    e = counters(r)["delay_error"]
    c.check("applied minus requested: count 20, max %d ns" % e["max_ns"],
            e["count"] == 20 and e["max_ns"] < 25000000, e)
    return c


def case_jitter_order():
    frames = [udp(i) for i in range(60)]
    runs = []
    for keep in ("true", "false"):
        c, r = run_case("jitter-" + keep, """
faults:
  - { kind: delay, stage: staging, delay: 20ms, jitter: 10ms, keep_order: %s, seed: 4 }
""" % keep, up=frames)
        runs.append((c, r))
    c, r = runs[0]
    c.frames_equal("jitter with keep_order keeps the flow's order", r.captures["stg"], frames)
    t = pcap_times(c, "stg")
    c.check("timestamps never go back", all(b >= a for a, b in zip(t, t[1:])))
    c2, r2 = runs[1]
    c2.check("without keep_order the same jitter reorders",
             sorted(r2.captures["stg"]) == sorted(bytes(f) for f in frames)
             and r2.captures["stg"] != [bytes(f) for f in frames])
    return c, c2


def case_reset():
    syn = (Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.1", dst=STG_SRV) /
           TCP(sport=41000, dport=80, flags="S", seq=1000))
    data = (Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.2", dst=STG_SRV) /
            TCP(sport=41001, dport=80, flags="PA", seq=2000, ack=7000) / Raw(b"GET / HTTP/1.1\r\n\r\n"))
    c, r = run_case("reset", """
faults:
  - { kind: reset, stage: staging, dport: 80 }
""", up=[syn, data])

    def rst(src, dst, sport, dport, flags, seq, ack, to_client):
        macs = dict(src=UMBRA, dst=CLIENT) if to_client else dict(src=CLIENT, dst=UMBRA)
        return (Ether(**macs) / IP(src=src, dst=dst, ttl=64, id=0, flags="DF") /
                TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=0))
    to_client = [rst(STG_SRV, "10.9.0.1", 80, 41000, "RA", 0, 1001, True),
                 rst(STG_SRV, "10.9.0.2", 80, 41001, "R", 7000, 0, True)]
    to_server = [rst("10.9.0.1", STG_SRV, 41000, 80, "R", 1000, 0, False),
                 rst("10.9.0.2", STG_SRV, 41001, 80, "RA", 2000, 7000, False)]
    c.frames_equal("the client gets a RST it accepts (SYN: RST+ACK; data: seq = its ack)",
                   r.captures["up"], to_client)
    c.frames_equal("the server gets a RST in its window; the packet itself is dropped",
                   r.captures["stg"], to_server)
    c.check("2 resets counted", counters(r)["resets"] == 2, counters(r))
    return c


def case_answers():
    probe = udp(0, dport=9999)
    query = (Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.1", dst="10.2.0.53") /
             UDP(sport=5353, dport=53) / DNS(id=0x1234, rd=1, qd=DNSQR(qname="db.example.")))
    syn = (Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.1", dst=STG_SRV) /
           TCP(sport=42000, dport=5432, flags="S", seq=1))
    ack = (Ether(src=CLIENT, dst=UMBRA) / IP(src="10.9.0.1", dst=STG_SRV) /
           TCP(sport=42001, dport=5432, flags="A", seq=1, ack=1))
    c, r = run_case("answers", """
faults:
  - { kind: icmp_unreachable, stage: staging, proto: udp, dport: 9999, code: port }
  - { kind: dns_servfail, stage: staging }
  - { kind: syn_drop, stage: staging, dport: 5432 }
""", up=[probe, query, syn, ack])
    back = [Ether(f) for f in r.captures["up"]]
    c.check("two answers come back to the client", len(back) == 2, [b.summary() for b in back])
    if len(back) == 2:
        icmp, dns = back
        c.check("ICMP port unreachable from the server's address, quoting the datagram",
                icmp.haslayer(ICMP) and icmp[ICMP].type == 3 and icmp[ICMP].code == 3 and
                icmp[IP].src == STG_SRV and icmp[IP].dst == "10.9.0.1" and
                icmp[Ether].dst == CLIENT and
                bytes(icmp[ICMP].payload)[:28] == bytes(probe[IP])[:28], icmp.show(dump=True))
        c.check("DNS SERVFAIL with the query's id and question",
                dns.haslayer(DNS) and dns[DNS].id == 0x1234 and dns[DNS].qr == 1 and
                dns[DNS].rcode == 2 and dns[DNS].qd.qname == b"db.example." and
                dns[UDP].sport == 53 and dns[UDP].dport == 5353, dns.show(dump=True))
    c.frames_equal("the SYN is dropped, the ACK passes; nothing else reaches staging",
                   r.captures["stg"], [ack])
    return c


def case_partition():
    stg_to_prod = [Ether(src=SERVER, dst=UMBRA) / IP(src="10.2.0.20", dst=PROD_SRV) /
                   UDP(sport=43000 + i, dport=7003) for i in range(5)]
    prod_to_stg = [Ether(src=SERVER, dst=UMBRA) / IP(src="10.0.0.20", dst=STG_SRV) /
                   UDP(sport=44000 + i, dport=7003) for i in range(5)]
    clients = [udp(i, dport=7003) for i in range(5)]
    cs = []
    for both in ("true", "false"):
        c, r = run_case("partition-" + both, """
faults:
  - { kind: partition, from_stage: staging, stage: production, both_ways: %s }
""" % both, up=clients, stg=stg_to_prod, prod=prod_to_stg)
        c.frames_equal("staging -> production is cut (both_ways %s)" % both,
                       r.captures["prod"], [])
        c.frames_equal("production -> staging %s" % ("is cut too" if both == "true" else "passes"),
                       [f for f in r.captures["stg"] if Ether(f)[IP].src == "10.0.0.20"],
                       [] if both == "true" else prod_to_stg)
        c.frames_equal("clients still reach staging",
                       [f for f in r.captures["stg"] if Ether(f)[IP].src == "10.9.0.1"], clients)
        cs.append(c)
    return cs


def case_bandwidth():
    frames = [udp(i, size=1000) for i in range(20)]
    c, r = run_case("bandwidth", """
faults:
  - { kind: bandwidth, stage: staging, rate: 1mbit, burst: 3000 }
""", up=frames)
    c.frames_equal("a 3000-byte bucket lets exactly three 1000-byte frames through",
                   r.captures["stg"], frames[:3])
    return c


def case_production_refused():
    c = Case("faults-refused")
    c.port("up", [udp(0)], role="uplink")
    c.port("prod")
    c.port("stg")
    r = c.run(STAGES % "false" + """
faults:
  - { name: everything, kind: blackhole }
""")
    c.check("a fault with no stage is refused without allow_production",
            r.rc != 0 and "would act on production traffic" in r.err, r.err)
    return c


cases = [case_loss_random(), case_loss_gilbert_elliott(), case_blackhole_per_flow(),
         case_duplicate_corrupt(), case_corrupt_fixed(), case_reorder(), case_delay(),
         *case_jitter_order(), case_reset(), case_answers(), *case_partition(),
         case_bandwidth(), case_production_refused()]
failures = sum(x.failures for x in cases)
for x in cases:
    if x.failures:
        print("artifacts kept in", x.dir)
    else:
        shutil.rmtree(x.dir, ignore_errors=True)
print("%d failures" % failures)
raise SystemExit(1 if failures else 0)
