#!/usr/bin/env python3
"""Interleaved runs of several umbra binaries on one or more workloads (A/B
of a candidate change): how the "tried and dropped" figures of the
README's held-packet and shadow paragraphs were taken.

Workloads, one umbra run each (8 s measured after a 2 s warm-up):
  held        the 100k-flow replay with a constant delay on every packet
              (default 20000 us: about 120k packets held), as faults.py's
              held run (faults.delay_run())
  flowsN      the N-flow replay alone (no faults, no shadows), as
              dataplane.py's umbra column
  shadowP     the 4000-flow UDP replay with P % of flows shadowed to a
              net_null shadow port, shedding off, as shadow.py's cost runs
  shadownone  the same replay and shadow port, no profile (their base)
Usage (root, repository root, after a build):
    tests/bench/interleave.py WORKLOAD[,WORKLOAD...] [--rounds 2]
        [--delay-us 20000] BIN [BIN...]
e.g. `interleave.py shadownone,shadow10 --rounds 5 A B`: each round runs
A's two workloads, then B's. Prints one line per run: the workload, the
binary, Mpps and umbra's cycles per packet by stage; then per workload and
binary the median, lowest and highest Mpps (on a shared host the same
binary's runs spread by a fifth or more: only many rounds tell a few per
cent apart).
"""
import argparse
import os
import statistics
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
    """@p pct: percent of flows shadowed, None: no profile."""
    return benchlib.run_umbra(pcap, 4000, SECONDS, umbra=umbra,
                              extra_ports=shadow.SHADOW_PORT,
                              extra_conf=shadow.shadow_conf(
                                  None if pct is None else pct / 100.0, 8080, 4000,
                                  shed=False))


def workload_runner(workload, clean, args):
    """A function running one binary on @p workload (its capture made now)."""
    pcap = os.path.join(clean.tmp, "%s.pcap" % workload)
    if workload == "held":
        benchlib.make_capture(pcap, 100000)
        return lambda b: held_run(b, pcap, args.delay_us)
    if workload.startswith("flows"):
        flows = int(workload[len("flows"):])
        benchlib.make_capture(pcap, flows)
        return lambda b: benchlib.run_umbra(pcap, flows, SECONDS, umbra=b)
    if workload.startswith("shadow"):
        shadow.make_capture(pcap, 4000, 8080)
        pct = None if workload == "shadownone" else int(workload[len("shadow"):])
        return lambda b: shadow_run(b, pcap, pct)
    sys.exit("workload: held, flowsN (N: flows), shadowP (P: percent of flows) "
             "or shadownone")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload")
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--delay-us", type=int, default=20000)
    args = ap.parse_args()
    clean = benchlib.Cleanup("interleave")
    workloads = [(w, workload_runner(w, clean, args)) for w in args.workload.split(",")]
    runs = {(w, b): [] for w, _ in workloads for b in args.binaries}
    for _ in range(args.rounds):
        for b in args.binaries:
            for w, run in workloads:
                d = run(b)
                runs[(w, b)].append(d)
                print("%s %s mpps %.2f %s" % (w, b, d["mpps"],
                                              {k: round(v, 1) for k, v in d["cycles"].items()}),
                      flush=True)
    # Medians per stage too: a change in one stage shows there even when
    # the host moves every run's total.
    for (w, b), rr in runs.items():
        r = [d["mpps"] for d in rr]
        stages = {k: round(statistics.median(d["cycles"][k] for d in rr), 1)
                  for k in rr[0]["cycles"]}
        print("%s %s median %.2f min %.2f max %.2f (%d runs); median cycles %s" % (
            w, b, statistics.median(r), min(r), max(r), len(r), stages))


if __name__ == "__main__":
    main()
