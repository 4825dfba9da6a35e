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
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Shared with faults.py (apply.py uses UMBRA, eal_mem and make_capture from here).
from benchlib import (UMBRA, eal_mem, make_capture, run_testpmd,  # noqa: E402,F401
                      run_umbra)


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
