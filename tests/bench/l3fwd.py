"""DPDK's l3fwd example in exact-match mode (-E), a peer for dataplane.py.

l3fwd -E looks every packet up in an rte_hash of 5-tuples and forwards it
to the port its entry names: DPDK's own reference for "one hash lookup a
packet", which is the part of umbra's work that testpmd 5tswap does not
do (umbra also keeps state per flow and per direction, and classifies new
flows). Debian ships no l3fwd binary, but its dpdk-doc package ships the
source: it is installed with apt-get when missing and built with make
against the installed DPDK, in the run's temporary directory.

Three things are patched in that copy of the source before it is built.
It asks for no RX checksum offload (the virtual devices have none, and
l3fwd would refuse to start), and two settings are read from the
environment at start-up, both what net_pcap's infinite_rx replay needs (it
keeps every frame of the capture in the port's pool):
  L3FWD_MBUFS    the pool's buffers (l3fwd sizes it from its queues, at
                 least 8192; the replay of 1M flows needs a million)
  L3FWD_DATAROOM the buffers' data room (256 bytes, as testpmd and umbra
                 get here, so that a million fit the hugepages)
Where the source does not match the patch (another DPDK release), or the
build fails, l3fwd is reported as not run, with the reason.

The virtual devices report no packet types, so l3fwd parses them in
software (--parse-ptype, an RX callback), as umbra parses every frame.
Its hash table holds one entry per flow of the capture: the rules file is
written from the capture's own frames (each to port 1, the sink). Its rate
comes from the sink's counters read over DPDK telemetry.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import time

from benchlib import TAG, devices, eal_mem_mb, fwd_cpu_s, stop_process

SRC = "/usr/share/dpdk/examples/l3fwd"
PKG = "dpdk-doc"
# (text in main.c, what it becomes)
PATCHES = [
    # the virtual devices have no RX checksum offload, which l3fwd asks for
    # (testpmd and umbra ask for none either)
    ("\t\t.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,", "\t\t.offloads = 0,"),
    ("(unsigned)8192)",
     '(unsigned)(getenv("L3FWD_MBUFS") ? atoi(getenv("L3FWD_MBUFS")) : 8192))'),
    ("MEMPOOL_CACHE_SIZE, 0,\n\t\t\t\t\tRTE_MBUF_DEFAULT_BUF_SIZE, socketid)",
     'MEMPOOL_CACHE_SIZE, 0,\n\t\t\t\t\t(getenv("L3FWD_DATAROOM") ? '
     'atoi(getenv("L3FWD_DATAROOM")) : RTE_MBUF_DEFAULT_BUF_SIZE), socketid)'),
]
SINK_MAC = "02:00:00:00:00:02"
# Its forwarding thread: the main one, named after the binary.
MAIN = ("l3fwd",)


def build(tmp):
    """l3fwd built in @p tmp: (binary, None) or (None, why not)."""
    if not os.path.isdir(SRC):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", PKG],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.path.isdir(SRC):
        return None, "%s is not installed (its source ships in %s)" % (SRC, PKG)
    d = os.path.join(tmp, "l3fwd-src")
    shutil.copytree(os.path.dirname(SRC), d, ignore=lambda p, names: [
        n for n in names if p == os.path.dirname(SRC) and n not in ("l3fwd", "common")])
    main_c = os.path.join(d, "l3fwd", "main.c")
    with open(main_c) as f:
        text = f.read()
    for old, new in PATCHES:
        if text.count(old) != 1:
            return None, "l3fwd's main.c does not match the pool patch (%r)" % old[:30]
        text = text.replace(old, new)
    with open(main_c, "w") as f:
        f.write(text)
    r = subprocess.run(["make", "-C", os.path.join(d, "l3fwd"), "-j2"],
                       capture_output=True, text=True)
    exe = os.path.join(d, "l3fwd", "build", "l3fwd")
    if r.returncode != 0 or not os.access(exe, os.X_OK):
        return None, "l3fwd did not build: %s" % (r.stderr or r.stdout)[-300:]
    return exe, None


def write_rules(pcap, path4, path6):
    """l3fwd's rules files: one IPv4 entry per frame of @p pcap (to port
    1), and one IPv6 entry (l3fwd wants both files)."""
    n = 0
    with open(pcap, "rb") as f, open(path4, "w") as out:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            caplen = struct.unpack("<IIII", h)[2]
            p = f.read(caplen)
            if len(p) < 38 or p[12:14] != b"\x08\x00":
                continue
            ihl = (p[14] & 0x0F) * 4
            proto = p[23]
            src, dst = socket.inet_ntoa(p[26:30]), socket.inet_ntoa(p[30:34])
            sport, dport = struct.unpack("!HH", p[14 + ihl:18 + ihl])
            out.write("R%s %s %d %d 0x%02x 1\n" % (dst, src, dport, sport, proto))
            n += 1
    with open(path6, "w") as out:
        out.write("R2001:db8::1 2001:db8::2 9 9 0x11 1\n")
    return n


def telemetry_tx(sock_path, port=1):
    """Packets sent on @p port so far, from DPDK telemetry."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(sock_path)
    try:
        s.recv(4096)                            # the greeting
        s.send(("/ethdev/stats,%d" % port).encode())
        return json.loads(s.recv(65536).decode())["/ethdev/stats"]["opackets"]
    finally:
        s.close()


def run(exe, pcap, flows, seconds, tmp, warmup=2.0, cpus=None):
    """One l3fwd -E run over @p pcap: (Mpps, Mpps per CPU-second of its
    forwarding lcore), or raises RuntimeError with why."""
    r4, r6 = os.path.join(tmp, "l3fwd-v4.rules"), os.path.join(tmp, "l3fwd-v6.rules")
    write_rules(pcap, r4, r6)
    tag = "%s-l3fwd-%d-%d" % (TAG, flows, os.getpid())
    # its hash tables (4M entries each, IPv4 and IPv6) and the pool
    mem = eal_mem_mb(1024 + flows * 512 // 2**20)
    # One lcore, the main one, forwards: l3fwd gives every port a TX queue
    # per lcore, and the replay port has one.
    cpu = (list(cpus or [0, 1]) * 2)[1]
    cmd = ([exe, "--lcores", "1@%d" % cpu, "--no-pci", "--file-prefix", tag] + mem
           + devices(pcap, "l3") + ["--", "-p", "0x3", "--config", "(0,0,1)", "-E",
                                    "--parse-ptype",
                                    "--rule_ipv4", r4, "--rule_ipv6", r6,
                                    "--eth-dest", "1," + SINK_MAC])
    env = dict(os.environ, L3FWD_MBUFS=str(flows + 32768), L3FWD_DATAROOM="256")
    log = open(os.path.join(tmp, "l3fwd.log"), "w+")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    sock = "/var/run/dpdk/%s/dpdk_telemetry.v2" % tag
    try:
        deadline = time.time() + 120            # 1M rules take a while to add
        while True:
            if p.poll() is not None:
                log.seek(0)
                raise RuntimeError("l3fwd exited: %s" % log.read()[-300:])
            try:
                if telemetry_tx(sock) > 0:
                    break
            except (OSError, ValueError, KeyError):
                pass
            if time.time() > deadline:
                raise RuntimeError("l3fwd forwarded nothing within 120 s")
            time.sleep(0.5)
        time.sleep(warmup)
        a, ta, ca = telemetry_tx(sock), time.time(), fwd_cpu_s(p.pid, MAIN)
        time.sleep(seconds)
        b, tb, cb = telemetry_tx(sock), time.time(), fwd_cpu_s(p.pid, MAIN)
        return (b - a) / (tb - ta) / 1e6, (b - a) / max(1e-9, cb - ca) / 1e6
    finally:
        stop_process(p)
        log.close()
        shutil.rmtree("/var/run/dpdk/" + tag, ignore_errors=True)
        for f in (r4, r6):
            if os.path.exists(f):
                os.unlink(f)
