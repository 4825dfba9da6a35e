"""The selection rules of lib/fault, in Python, so that a functional test
knows exactly which packets a seeded rule acts on: the splitmix64
generator, probability thresholds, and the seeded flow hash (CRC32C of the
canonical flow key with murmur3's finish; lib/flow flow_key_hash16)."""
import ipaddress
import struct

MASK64 = (1 << 64) - 1
ALWAYS = 1 << 32


class Rng:
    """splitmix64, as fault_rng_next()."""

    def __init__(self, seed):
        self.s = seed & MASK64

    def next(self):
        self.s = (self.s + 0x9e3779b97f4a7c15) & MASK64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK64
        return z ^ (z >> 31)

    def chance(self, threshold):
        return (self.next() >> 32) < threshold


def threshold(p):
    """fault_prob_threshold()."""
    if p <= 0:
        return 0
    if p >= 1:
        return ALWAYS
    return int(p * (1 << 32))


def selects_packet(rng, p):
    """Per-packet selection: no draw at probability 1."""
    t = threshold(p)
    return t >= ALWAYS or rng.chance(t)


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


_T = _crc32c_table()


def crc32c(data, crc):
    """CRC32C without the initial and final inversions (the SSE4.2 instruction)."""
    for b in data:
        crc = _T[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


def flow_key(src, dst, proto, sport, dport):
    """The canonical 48-byte key of lib/flow (side a: the lower address, port)."""
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 4 if a.version == 4 else 6
    ab, bb = a.packed.ljust(16, b"\0"), b.packed.ljust(16, b"\0")
    if proto not in (6, 17):
        sport = dport = 0
    if (ab, sport) > (bb, dport):
        ab, bb, sport, dport = bb, ab, dport, sport
    return ab + bb + struct.pack("<HHBB", sport, dport, proto, fam) + b"\0" * 10


def flow_hash16(key, seed):
    h = crc32c(key, seed & 0xffffffff)
    h ^= h >> 16
    h = (h * 0x85ebca6b) & 0xffffffff
    h ^= h >> 13
    h = (h * 0xc2b2ae35) & 0xffffffff
    h ^= h >> 16
    return h >> 16


def selects_flow(key, seed, p):
    return flow_hash16(key, seed) < min(int(p * 65536), 65536)


def corrupt(seg, bits, rng):
    """fault_corrupt()'s flips over an L4 segment (bytes); returns new bytes."""
    seg = bytearray(seg)
    n = len(seg) * 8
    for _ in range(bits):
        i = ((rng.next() >> 32) * n) >> 32
        seg[i // 8] ^= 0x80 >> (i % 8)
    return bytes(seg)
