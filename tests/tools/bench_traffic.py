#!/usr/bin/env python3
"""Write a capture of minimum-size frames spread over N flows (benchmarks).

Every frame is 60 bytes on the wire (64 with FCS): Ethernet + IPv4 + UDP
(3 of 4) or TCP ACK (1 of 4), one frame per flow, so replaying the capture
in a loop touches every flow once per pass. Plain bytes, no scapy: a
million frames take a few seconds.
"""
import struct
import sys


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(i):
    src = 0x0A000000 | (1 + (i % 60000))           # 10.0.x.y clients
    dst = 0x0A640000 | (1 + (i // 60000) % 250)     # 10.100.0.z servers
    sport = 1024 + (i * 7919) % 60000
    dport = 80 if i % 4 == 0 else 53
    proto = 6 if i % 4 == 0 else 17
    l4 = (struct.pack("!HHIIBBHHH", sport, dport, i, 1, 5 << 4, 0x10, 8192, 0, 0)
          if proto == 6 else struct.pack("!HHHH", sport, dport, 8 + 18, 0) + bytes(18))
    l4 = l4[:40 - 20] if proto == 6 else l4
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(l4), i & 0xFFFF, 0, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000001" "02000000c001") + b"\x08\x00"
    pkt = eth + ip + l4
    return pkt + bytes(max(0, 60 - len(pkt)))


def main(path, n):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            p = frame(i)
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(p), len(p)))
            f.write(p)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
