#!/usr/bin/env python3
"""Cohort health benchmark: what judging a release costs the data plane.

One run, same devices as dataplane.py (net_pcap infinite_rx of 60-byte
frames over N flows into net_null, one worker), three configurations
taking turns for --rounds rounds, each keeping its best round:
  plain     no service;
  service   every flow belongs to a service running v1 (steered, no release);
  release   the same service with a canary of v2 on 50 % of new flows
            (event code_commit), so every flow is in a cohort and each
            packet goes through the worker's cohort-health step.
Prints Mpps, cycles per packet, and the release's cost against the service
alone (the goal: at most 5 %). Never a pass/fail test; compare only within
one run. Usage (root, repository root, after a build):
    tests/bench/health.py [--seconds 5] [--rounds 3] [--flows 100000]
Last line:
    plain_mpps= service_mpps= release_mpps= release_cost= health_cycles_per_pkt=
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
RELEASE = [("event/code_commit", {"service": "dns-and-web", "version": "v2"}),
           ("config/migrate", {})]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flows", type=int, default=100000)
    args = ap.parse_args()
    if not os.access(UMBRA, os.X_OK):
        sys.exit("build umbra first (deploy/setup.sh)")
    tmp = tempfile.mkdtemp(prefix="umbra-bench-health-")
    cap = os.path.join(tmp, "flows.pcap")
    make_capture(cap, args.flows)
    runs = {"plain": dict(), "service": dict(extra_conf=SERVICE),
            "release": dict(extra_conf=SERVICE, commands=RELEASE)}
    best = {}
    for _ in range(args.rounds):
        for name, kw in runs.items():
            r = run_umbra(cap, args.flows, args.seconds, **kw)
            if name not in best or r["mpps"] > best[name]["mpps"]:
                best[name] = r
    os.unlink(cap)
    rel = best["release"]["last"]["services"]["dns-and-web"]
    tracked = rel["canary_flows"] + rel["running_flows"]
    print("\n%d flows, 60-byte frames, net_pcap(infinite_rx) -> net_null, 1 worker, "
          "best of %d rounds" % (args.flows, args.rounds))
    print("| configuration | Mpps | cycles/pkt | forward cycles/pkt |")
    print("|---|---|---|---|")
    for name in runs:
        c = best[name]["cycles"]
        print("| %s | %.2f | %.1f | %.1f |" % (name, best[name]["mpps"], c["total"],
                                               c["forward"]))
    cost = 1 - best["release"]["mpps"] / best["service"]["mpps"]
    extra = best["release"]["cycles"]["forward"] - best["service"]["cycles"]["forward"]
    print("\nrelease: %d canary and %d control flows in cohorts; cost against the service "
          "alone %.1f %% (goal <= 5 %%), %.1f cycles/pkt in forward"
          % (rel["canary_flows"], rel["running_flows"], 100 * cost, extra))
    if tracked == 0:
        print("warning: no flow was in a cohort: the release did not start")
    print("plain_mpps=%.2f service_mpps=%.2f release_mpps=%.2f release_cost=%.3f "
          "health_cycles_per_pkt=%.1f" % (best["plain"]["mpps"], best["service"]["mpps"],
                                          best["release"]["mpps"], cost, extra))


if __name__ == "__main__":
    main()
