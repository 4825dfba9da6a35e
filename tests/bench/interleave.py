#!/usr/bin/env python3
"""Interleaved runs of several umbra binaries on one workload (A/B of a
candidate change): how the "tried and dropped" figures of the README's
held-packet and shadow paragraphs were taken.

Workloads, one umbra run each (8 s measured after a 2 s warm-up):
  held      the 100k-flow replay with a constant delay on every packet
            (default 20000 us: about 120k packets held), as faults.py's
            held run (faults.delay_run())
  flowsN    the N-flow replay alone (no faults, no shadows), as
            dataplane.py's umbra column
  shadowP   the 4000-flow UDP replay with P % of flows shadowed to a
            net_null shadow port, shedding off, as shadow.py's cost runs
Usage (root, repository root, after a build):
    tests/bench/interleave.py held|flows100000|shadow100|shadow10 [--rounds 2]
        [--delay-us 20000] BIN [BIN...]
Prints one line per run: the binary, Mpps and umbra's cycles per packet
by stage, binaries taking turns round by round.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import faults  # noqa: E402
import shadow  # noqa: E402

SECONDS = 8


def held_run(umbra, pcap, delay_us):
    args = argparse.Namespace(flows=100000, seconds=SECONDS)
    return faults.delay_run(args, umbra, pcap, 100000 + 32768 + faults.MAX_INFLIGHT,
                            delay_us)


def shadow_run(umbra, pcap, pct):
    return benchlib.run_umbra(pcap, 4000, SECONDS, umbra=umbra,
                              extra_ports=shadow.SHADOW_PORT,
                              extra_conf=shadow.shadow_conf(pct / 100.0, 8080, 4000, False))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload")
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--delay-us", type=int, default=20000)
    args = ap.parse_args()
    clean = benchlib.Cleanup("interleave")
    pcap = os.path.join(clean.tmp, "flows.pcap")
    if args.workload == "held":
        benchlib.make_capture(pcap, 100000)
        run = lambda b: held_run(b, pcap, args.delay_us)  # noqa: E731
    elif args.workload.startswith("flows"):
        flows = int(args.workload[len("flows"):])
        benchlib.make_capture(pcap, flows)
        run = lambda b: benchlib.run_umbra(pcap, flows, SECONDS, umbra=b)  # noqa: E731
    elif args.workload.startswith("shadow"):
        shadow.make_capture(pcap, 4000, 8080)
        pct = int(args.workload[len("shadow"):])
        run = lambda b: shadow_run(b, pcap, pct)  # noqa: E731
    else:
        sys.exit("workload: held, flowsN (N: flows), or shadowP (P: percent of flows)")
    for _ in range(args.rounds):
        for b in args.binaries:
            d = run(b)
            print("%s %s mpps %.2f %s" % (args.workload, b, d["mpps"],
                                          {k: round(v, 1) for k, v in d["cycles"].items()}),
                  flush=True)


if __name__ == "__main__":
    main()
