#!/usr/bin/env python3
"""Cohort health benchmark: what judging a release costs the data plane.

One run, same devices as dataplane.py (net_pcap infinite_rx of 60-byte
frames over N flows into net_null, one worker), four configurations
taking turns for --rounds rounds, each keeping its best round (by Mpps per
CPU-second; --median: its median one):
  plain     no service;
  service   every flow belongs to a service running v1 (steered, no release);
  unjudged  the release below with the service's verdict off: the
            canary's own costs (half the flows leave tagged for green,
            steering) without the cohort-health step;
  release   the same service with a canary of v2 on 50 % of new flows
            (event code_commit), so every flow is in a cohort and the
            worker's cohort-health step looks at each of its packets.
Prints Mpps, cycles per packet, the release's cost against the service
alone (release_cost; the goal: at most 5 %) and against the same release
unjudged (judge_cost: what the cohort-health step alone costs). Never a
pass/fail test; compare only within one run. --baseline BIN interleaves
another umbra binary's unjudged and release runs with these (A/B in one
run: its judge_cost is printed too). Usage (root, repository root, after a
build):
    tests/bench/health.py [--seconds 5] [--rounds 3] [--flows 100000]
        [--umbra BIN] [--baseline BIN] [--median]
Last line:
    plain_mpps= service_mpps= release_mpps= release_cost= health_cycles_per_pkt=
    release_cost_cpu= judge_cost= judge_cost_cpu= [baseline_judge_cost=
    baseline_judge_cost_cpu=]
(_cpu: from Mpps per CPU-second of the worker, steadier on a shared machine.)
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import UMBRA, make_capture, run_umbra  # noqa: E402

SERVICE = """services:
  - name: dns-and-web
    match: { dst: 10.100.0.0/16 }
    backends:
      - { name: blue, port: sink, next_hop_mac: "02:00:00:00:0b:01" }
      - { name: green, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:02" }
    stages:
      production: { backends: [blue, green], running: v1 }
    rollout: { steps: [50, 100], hold_s: 86400 }
workflow:
  pipeline: [ { stage: production, on: code_commit } ]
"""
# The capture's flows start before the release: a migration decides them
# again, so half go to the canary and all of them are in a cohort.
# The same release, not judged (no cohort-health step).
UNJUDGED = SERVICE.replace("    rollout:", "    verdict: { enabled: false }\n    rollout:")
RELEASE = [("event/code_commit", {"service": "dns-and-web", "version": "v2"}),
           ("config/migrate", {})]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--umbra", default=UMBRA, help="the binary under test")
    ap.add_argument("--baseline", help="another umbra binary, interleaved (A/B)")
    ap.add_argument("--median", action="store_true",
                    help="keep each configuration's median round, not its best (A/B)")
    args = ap.parse_args()
    for b in (args.umbra, args.baseline):
        if b and not os.access(b, os.X_OK):
            sys.exit("%s: build umbra first (deploy/setup.sh)" % b)
    tmp = tempfile.mkdtemp(prefix="umbra-bench-health-")
    cap = os.path.join(tmp, "flows.pcap")
    make_capture(cap, args.flows)
    runs = {"plain": dict(), "service": dict(extra_conf=SERVICE),
            "unjudged": dict(extra_conf=UNJUDGED, commands=RELEASE),
            "release": dict(extra_conf=SERVICE, commands=RELEASE)}
    if args.baseline:
        runs["baseline unjudged"] = dict(extra_conf=UNJUDGED, commands=RELEASE,
                                         umbra=args.baseline)
        runs["baseline release"] = dict(extra_conf=SERVICE, commands=RELEASE,
                                        umbra=args.baseline)
    rounds = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, kw in runs.items():
            rounds[name].append(run_umbra(cap, args.flows, args.seconds,
                                          **dict(dict(umbra=args.umbra), **kw)))
    os.unlink(cap)
    # Best (or median) round by the per-CPU-second rate, the steadier one here.
    best = {name: sorted(rs, key=lambda r: r["cpu_mpps"])[
        (len(rs) - 1) // 2 if args.median else -1] for name, rs in rounds.items()}
    rel = best["release"]["last"]["services"]["dns-and-web"]
    tracked = rel["canary_flows"] + rel["running_flows"]
    print("\n%d flows, 60-byte frames, net_pcap(infinite_rx) -> net_null, 1 worker, "
          "%s of %d rounds" % (args.flows, "median" if args.median else "best", args.rounds))
    print("| configuration | Mpps | Mpps per CPU-second | cycles/pkt | forward cycles/pkt |")
    print("|---|---|---|---|---|")
    for name in runs:
        c = best[name]["cycles"]
        print("| %s | %.2f | %.2f | %.1f | %.1f |" % (name, best[name]["mpps"],
                                                     best[name]["cpu_mpps"], c["total"],
                                                     c["forward"]))

    def cost_of(base, run):
        """(cost, cost per CPU-second, forward cycles/pkt added) of @p run
        against @p base."""
        s, r = best[base], best[run]
        return (1 - r["mpps"] / s["mpps"],
                1 - r["cpu_mpps"] / s["cpu_mpps"] if s["cpu_mpps"] else 0.0,
                r["cycles"]["forward"] - s["cycles"]["forward"])

    cost, cost_cpu, extra = cost_of("service", "release")
    jcost, jcost_cpu, jextra = cost_of("unjudged", "release")
    print("\nrelease: %d canary and %d control flows in cohorts; cost against the service "
          "alone %.1f %% (per CPU-second %.1f %%; goal <= 5 %%), %.1f cycles/pkt in forward"
          % (rel["canary_flows"], rel["running_flows"], 100 * cost, 100 * cost_cpu, extra))
    print("judging it (against the same release unjudged): %.1f %% (per CPU-second %.1f %%), "
          "%.1f cycles/pkt in forward" % (100 * jcost, 100 * jcost_cpu, jextra))
    if tracked == 0:
        print("warning: no flow was in a cohort: the release did not start")
    line = ("plain_mpps=%.2f service_mpps=%.2f release_mpps=%.2f release_cost=%.3f "
            "health_cycles_per_pkt=%.1f release_cost_cpu=%.3f judge_cost=%.3f "
            "judge_cost_cpu=%.3f"
            % (best["plain"]["mpps"], best["service"]["mpps"], best["release"]["mpps"],
               cost, extra, cost_cpu, jcost, jcost_cpu))
    if args.baseline:
        bcost, bcost_cpu, bextra = cost_of("baseline unjudged", "baseline release")
        print("baseline: judging %.1f %% (per CPU-second %.1f %%), %.1f cycles/pkt in forward"
              % (100 * bcost, 100 * bcost_cpu, bextra))
        line += (" baseline_judge_cost=%.3f baseline_judge_cost_cpu=%.3f"
                 % (bcost, bcost_cpu))
    print(line)

if __name__ == "__main__":
    main()
