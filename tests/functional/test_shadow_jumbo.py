#!/usr/bin/python3
"""Jumbo frames on shadowed flows (issue 10, item 5).

9000-byte UDP and TCP frames, and IPv6 frames with a 2 KB extension chain
(hop-by-hop + destination options), on flows a shadow profile copies, with
mempool.data_room 10240 (every frame in one buffer) and 2048 (frames are
chains of buffers, and a 2 KB chain's headers do not fit the first one).
The shadow answers the TCP handshakes so that copies are released, rewritten,
kept and retransmitted (the IPv6 flow's SYN has no extensions, its data
segments do: a retransmission must use its own copy's offsets). Asserted:
umbra exits cleanly; production's output is the input, byte for byte; the
shadow port got every copy whose headers fit a buffer, each with the
client's payload intact, and every other copy is a named, counted drop.
"""
import shutil
import sys

from scapy.all import (IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrHopByHop, PadN, Raw)

from pcapcase import Case

CLIENT, UMBRA, SHADOW_MAC = "02:00:00:00:0c:01", "02:00:00:00:00:a1", "02:00:00:00:5a:01"
V4 = ("10.9.0.1", "10.0.0.10")
V6 = ("2001:db8:9::1", "2001:db8::10")
N = 4                  # data packets per flow
ISN, SRV_ISN = 1000, 777000

CONF = """
mempool: { data_room: %d }
stages:
  - { name: production, default: true, egress: { port: prod } }
shadows:
  - { name: udp-8080, stage: production, proto: udp, dport: 8080, fraction: 100%%,
      port: shadow, next_hop_mac: "%s" }
  - { name: tcp-8080, stage: production, proto: tcp, dport: 8080, fraction: 100%%,
      port: shadow, next_hop_mac: "%s" }
"""


def ext_chain():
    """Hop-by-hop and destination options of 1032 bytes each (2064 in all)."""
    pad = [PadN(optdata=b"\0" * 255)] * 4
    return IPv6ExtHdrHopByHop(options=pad) / IPv6ExtHdrDestOpt(options=pad)


def ip(v6, ext=False):
    if v6:
        l3 = IPv6(src=V6[0], dst=V6[1])
        return l3 / ext_chain() if ext else l3
    return IP(src=V4[0], dst=V4[1])


def eth(src=CLIENT, dst=UMBRA):
    return Ether(src=src, dst=dst)


def fill(frame, size):
    """@frame with a payload that makes it @size bytes, each packet's own."""
    head = len(frame)
    return frame / Raw(bytes((head + i) & 0xff for i in range(size - head)))


def udp_flow(v6, sport, size, ext=False):
    return [fill(eth() / ip(v6, ext) / UDP(sport=sport, dport=8080) /
                 Raw(b"u%d-%d:" % (sport, i)), size) for i in range(N)]


def tcp_flow(v6, sport, size, ext=False):
    """A SYN (no extensions) and N data segments (with them when @ext)."""
    syn = eth() / ip(v6) / TCP(sport=sport, dport=8080, flags="S", seq=ISN)
    data, seq = [], ISN + 1
    for i in range(N):
        f = fill(eth() / ip(v6, ext) / TCP(sport=sport, dport=8080, flags="PA", seq=seq,
                                           ack=1) / Raw(b"t%d-%d:" % (sport, i)), size)
        seq += len(f[TCP].payload)
        data.append(f)
    return [syn] + data


def syn_ack(v6, sport):
    """The shadow server's answer to a flow's SYN (arrives on the shadow port)."""
    l3 = IPv6(src=V6[1], dst=V6[0]) if v6 else IP(src=V4[1], dst=V4[0])
    return (eth(SHADOW_MAC, UMBRA) / l3 /
            TCP(sport=8080, dport=sport, flags="SA", seq=SRV_ISN, ack=ISN + 1))


def sanitized(err):
    """Lines of an AddressSanitizer or UBSan report in umbra's stderr."""
    return [l for l in err.splitlines()
            if "runtime error:" in l or "Sanitizer" in l][:5]


def app_payload(frame):
    """The L4 payload of a frame (after any extension chain)."""
    l4 = frame[TCP] if TCP in frame else frame[UDP]
    return bytes(l4.payload)


def run(room):
    c = Case("shadow-jumbo-%d" % room)
    flows = {
        "udp4": udp_flow(False, 40001, 9000),
        "udp6x": udp_flow(True, 40002, 9000, ext=True),
        "tcp4": tcp_flow(False, 40003, 9000),
        "tcp6x": tcp_flow(True, 40004, 9000, ext=True),
    }
    up = sum(flows.values(), [])
    c.port("up", up, role="uplink")
    c.port("prod")
    c.port("shadow", [syn_ack(False, 40003), syn_ack(True, 40004)], role="shadow")
    # Long enough after the last packet for the 200 ms retransmission timer.
    r = c.run(CONF % (room, SHADOW_MAC, SHADOW_MAC), extra=["--idle-exit", "700"])
    tag = "data_room %d: " % room
    c.check(tag + "umbra exits 0 (no crash)", r.rc == 0, r.err[-3000:])
    c.check(tag + "no sanitizer report (ASan/UBSan builds)", not sanitized(r.err),
            sanitized(r.err))
    if r.stats is None:
        return c
    c.frames_equal(tag + "production gets every input frame, byte for byte",
                   r.captures["prod"], up)
    prof = {p["name"]: p["counters"] for p in r.stats["shadows"]}
    u, t = prof["udp-8080"], prof["tcp-8080"]
    split = room < 2200        # a 2 KB chain's headers cannot fit one buffer
    shadow = [Ether(f) for f in r.captures["shadow"]]

    # UDP: every copy, or (headers split across buffers) a named drop each.
    want_udp = N if split else 2 * N
    got_udp = [f for f in shadow if UDP in f]
    c.check(tag + "UDP copies sent: %d" % want_udp,
            u["packets_cloned"] == want_udp == len(got_udp), (u, len(got_udp)))
    c.check(tag + "UDP copies not made are counted as dropped_headers_split",
            u["dropped_headers_split"] == (N if split else 0) and
            u["dropped_no_room"] == 0 and u["dropped_no_mbuf"] == 0, u)
    sent = {app_payload(f) for f in got_udp}
    want = {app_payload(f) for f in flows["udp4"] + ([] if split else flows["udp6x"])}
    c.check(tag + "UDP copies carry the client's datagrams intact", sent == want,
            "%d of %d payloads match" % (len(sent & want), len(want)))
    c.check(tag + "copies leave toward the shadow's next hop",
            all(f.dst == SHADOW_MAC for f in shadow), [f.dst for f in shadow][:4])

    # TCP: SYNs and data copies (rewritten to the shadow's sequence space),
    # umbra's own ACK of each handshake, and retransmissions of unacked data.
    tcp_data = [f for f in shadow if TCP in f and len(f[TCP].payload)]
    by_flow = {}
    for f in tcp_data:
        by_flow.setdefault(f[TCP].sport, []).append(f)
    want_flows = [40003] + ([] if split else [40004])
    c.check(tag + "TCP data copies for flows %s" % want_flows,
            sorted(by_flow) == want_flows, sorted(by_flow))
    for sport in want_flows:
        name = "tcp4" if sport == 40003 else "tcp6x"
        want = [app_payload(f) for f in flows[name][1:]]
        got = [app_payload(f) for f in by_flow.get(sport, [])]
        c.check(tag + "%s: every segment copied once, then retransmitted intact" % name,
                got[:N] == want and len(got) > N and
                all(g in want for g in got[N:]),
                "%d copies, %d intact" % (len(got), sum(g in want for g in got)))
        acks = {f[TCP].ack for f in by_flow.get(sport, [])}
        c.check(tag + "%s: copies acknowledge the shadow's sequence space" % name,
                acks == {SRV_ISN + 1}, acks)
        c.check(tag + "%s: copies keep the client's length" % name,
                all(len(f) == 9000 for f in by_flow.get(sport, [])),
                sorted({len(f) for f in by_flow.get(sport, [])}))
    c.check(tag + "TCP: retransmissions counted, nothing dropped for room or mbufs",
            t["retransmits"] > 0 and t["dropped_no_room"] == 0 and
            t["dropped_no_mbuf"] == 0, t)
    c.check(tag + "TCP segments not copied are counted as dropped_headers_split",
            t["dropped_headers_split"] == (N if split else 0), t)
    c.check(tag + "no parse drops", sum(r.stats["drops"].values()) == 0,
            {k: v for k, v in r.stats["drops"].items() if v})
    return c


def run_corrupt():
    """Corruption of production's packets never reaches a shadow copy: a
    jumbo datagram's copy shares its payload buffer (an indirect clone), so
    the rule leaves it alone and counts it; a small datagram's copy is deep,
    so corruption still acts on production's packet (and only on it)."""
    c = Case("shadow-jumbo-corrupt")
    big = udp_flow(False, 40011, 9000)
    small = udp_flow(False, 40012, 300)
    c.port("up", big + small, role="uplink")
    c.port("prod")
    c.port("shadow", role="shadow")
    r = c.run((CONF % (10240, SHADOW_MAC, SHADOW_MAC)) + """
fault_policy: { allow_production: true }
faults:
  - { kind: corrupt, stage: production, proto: udp, bits: 8, seed: 5 }
""")
    c.check("corrupt: umbra exits 0", r.rc == 0, r.err[-3000:])
    c.check("corrupt: no sanitizer report", not sanitized(r.err), sanitized(r.err))
    if r.stats is None:
        return c
    k = r.stats["faults"]["rules"][0]["counters"]
    c.check("corrupt: %d shared jumbo packets skipped and counted, %d small ones "
            "corrupted" % (N, N),
            k["corrupt_skipped_shared"] == N and k["corrupted"] == N, k)
    prod = r.captures["prod"]
    c.frames_equal("corrupt: production's jumbo packets leave unchanged", prod[:N], big)
    c.check("corrupt: production's small packets are corrupted",
            len(prod) == 2 * N and all(p != bytes(f) for p, f in zip(prod[N:], small)))
    sent = {app_payload(Ether(f)) for f in r.captures["shadow"]}
    want = {app_payload(f) for f in big + small}
    c.check("corrupt: every shadow copy carries the client's bytes",
            sent == want, "%d of %d intact" % (len(sent & want), len(want)))
    return c


def main():
    cases = [run(room) for room in (10240, 2048)] + [run_corrupt()]
    for c in cases:
        if c.failures:
            print("artifacts kept in", c.dir)
        else:
            shutil.rmtree(c.dir, ignore_errors=True)
    sys.exit(1 if any(c.failures for c in cases) else 0)


if __name__ == "__main__":
    main()
