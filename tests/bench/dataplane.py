#!/usr/bin/env python3
"""Data-plane benchmark: umbra against dpdk-testpmd on the same virtual devices.

One run, same machine, same devices: a net_pcap port replaying (infinite_rx)
a capture of 60-byte frames over N flows into a net_null sink (no-rx), one
forwarding core each. Prints Mpps for umbra (1 worker), testpmd io and
testpmd 5tswap, the ratios, umbra's cycles per packet per pipeline stage,
then repeats umbra at 1M flows with the memory its flow table uses.

Never a pass/fail test: figures are noisy on shared machines, so the three
forwarders take turns for --rounds rounds and each keeps its best round;
compare only within one run. Usage (root, repository root, after a build):
    tests/bench/dataplane.py [--seconds 5] [--rounds 3] [--flows 100000]
                             [--big-flows 1000000]
Last line:
    umbra_mpps=X testpmd_io_mpps=Y testpmd_5tswap_mpps=Z ratio_5tswap=R cycles_per_pkt=C
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UMBRA = os.path.join(ROOT, "build", "app", "umbra", "umbra")
DATAROOM = 256  # mbuf data room: 128 headroom + a 64-byte frame, so 1M fit


def eal_mem():
    return subprocess.run([os.path.join(ROOT, "deploy", "eal-mem.sh"), "1024"],
                          capture_output=True, text=True, check=True).stdout.split()


def make_capture(path, flows):
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "tools", "bench_traffic.py"),
                    path, str(flows)], check=True)


def devices(pcap, prefix):
    return ["--vdev", "net_pcap_%s0,rx_pcap=%s,infinite_rx=1" % (prefix, pcap),
            "--vdev", "net_null_%s1,no-rx=1" % prefix]


def run_testpmd(mode, pcap, flows, seconds, warmup=2.0):
    """testpmd interactive: start, read port stats twice, the second read
    gives the packet rate over the measured interval."""
    tag = "bench-tp-%s-%d" % (mode, os.getpid())
    cmd = (["dpdk-testpmd", "-l", "0-1", "--no-pci", "--file-prefix", tag] + eal_mem()
           + devices(pcap, "tp" + mode) + ["--", "-i", "--forward-mode=" + mode,
           "--nb-cores=1", "--burst=32", "--no-flush-rx", "--rxq=1", "--txq=1",
           "--mbuf-size=%d" % DATAROOM, "--total-num-mbufs=%d" % (flows + 32768)])
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        p.stdin.write("start\n")
        p.stdin.flush()
        time.sleep(warmup)
        p.stdin.write("show port stats 1\n")
        p.stdin.flush()
        time.sleep(seconds)
        p.stdin.write("show port stats 1\nstop\nquit\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    rates = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", out)]
    if len(rates) < 2:
        sys.exit("testpmd %s gave no rate:\n%s" % (mode, out[-3000:]))
    return rates[-1] / 1e6


def umbra_conf(path, pcap, flows, prefix):
    with open(path, "w") as f:
        f.write("""ports:
  - {{ name: gen, vdev: "net_pcap_{p}0,rx_pcap={pcap},infinite_rx=1", role: uplink }}
  - {{ name: sink, vdev: "net_null_{p}1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: dev
    egress: {{ port: sink, vlan: 10 }}
    match: [ {{ src: 192.168.0.0/16 }} ]
flow_table: {{ size: {size} }}
mempool: {{ mbufs: {mbufs}, data_room: {room} }}
""".format(p=prefix, pcap=pcap, size=max(65536, int(flows * 1.25)),
           mbufs=flows + 32768, room=DATAROOM))


def run_umbra(pcap, flows, seconds, warmup=2.0):
    """umbra with one worker; the rate comes from two periodic counter lines."""
    tmp = tempfile.mkdtemp(prefix="umbra-bench-")
    conf = os.path.join(tmp, "bench.yaml")
    tag = "bench-umbra-%d-%d" % (flows, os.getpid())
    umbra_conf(conf, pcap, flows, "u%d" % flows)
    cmd = ([UMBRA, "-l", "0-1", "--no-pci", "--file-prefix", tag] + eal_mem()
           + ["--log-level=lib.eal:warning", "--", "-c", conf, "--socket", "none",
              "--stats-interval", "1",
              "--stats-json", os.path.join(tmp, "final.json")])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    snaps = []
    deadline = time.time() + warmup + seconds + 30
    try:
        for line in p.stdout:
            if line.startswith("{"):
                snaps.append(json.loads(line))
                if len(snaps) >= int(warmup + seconds) + 1:
                    break
            elif "umbra:" in line and "workers" not in line:
                print(line, end="")
            if time.time() > deadline:
                break
    finally:
        p.terminate()
        p.wait(timeout=30)
    if len(snaps) < 3:
        sys.exit("umbra gave too few counter lines (%d)" % len(snaps))
    a, b = snaps[int(warmup) - 1], snaps[-1]
    dt = b["time_s"] - a["time_s"]
    tx = b["ports"]["sink"]["tx_pkts"] - a["ports"]["sink"]["tx_pkts"]
    wa, wb = a["workers"][0], b["workers"][0]
    pkts = max(1, wb["pkts"] - wa["pkts"])
    cycles = {k: (wb["cycles"][k] - wa["cycles"][k]) / pkts for k in wb["cycles"]}
    ft = wb["flow_table"]
    return {"mpps": tx / dt / 1e6, "cycles": cycles, "active_flows": ft["active"],
            "flow_mem": ft["memory_bytes"], "table_full": ft["table_full"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--big-flows", type=int, default=1000000)
    args = ap.parse_args()
    if not os.access(UMBRA, os.X_OK):
        sys.exit("build umbra first (deploy/setup.sh)")
    tmp = tempfile.mkdtemp(prefix="umbra-bench-")
    small = os.path.join(tmp, "flows-%d.pcap" % args.flows)
    make_capture(small, args.flows)

    io = swap = 0.0
    u = None
    for r in range(args.rounds):
        io = max(io, run_testpmd("io", small, args.flows, args.seconds))
        swap = max(swap, run_testpmd("5tswap", small, args.flows, args.seconds))
        ur = run_umbra(small, args.flows, args.seconds)
        u = ur if u is None or ur["mpps"] > u["mpps"] else u
    print("\n%d flows, 60-byte frames, net_pcap(infinite_rx) -> net_null, 1 core, "
          "best of %d rounds" % (args.flows, args.rounds))
    print("| forwarder | Mpps | umbra / it |")
    print("|---|---|---|")
    print("| dpdk-testpmd io | %.2f | %.2f |" % (io, u["mpps"] / io))
    print("| dpdk-testpmd 5tswap | %.2f | %.2f |" % (swap, u["mpps"] / swap))
    print("| umbra (1 worker) | %.2f | 1.00 |" % u["mpps"])
    print("\numbra cycles per packet by pipeline stage (steady state)")
    print("| stage | cycles/pkt |")
    print("|---|---|")
    for k, v in u["cycles"].items():
        print("| %s | %.1f |" % (k, v))

    if args.big_flows:
        big = os.path.join(tmp, "flows-%d.pcap" % args.big_flows)
        make_capture(big, args.big_flows)
        ub = run_umbra(big, args.big_flows, args.seconds)
        os.unlink(big)
        print("\nat %d flows: umbra %.2f Mpps, %d active flows, table full %d times, "
              "flow table %.1f MiB (%.0f bytes per flow slot incl. hash)"
              % (args.big_flows, ub["mpps"], ub["active_flows"], ub["table_full"],
                 ub["flow_mem"] / 2**20, ub["flow_mem"] / max(1, int(args.big_flows * 1.25))))
    os.unlink(small)
    print("umbra_mpps=%.2f testpmd_io_mpps=%.2f testpmd_5tswap_mpps=%.2f ratio_5tswap=%.2f "
          "cycles_per_pkt=%.1f" % (u["mpps"], io, swap, u["mpps"] / swap, u["cycles"]["total"]))


if __name__ == "__main__":
    main()
