#!/usr/bin/env python3
"""Shadow networks benchmark: what shadowing 10% and 100% of flows costs the
data path, and how many exchanges the comparator compares per second.

1. Throughput (as tests/bench/dataplane.py, same run, same virtual devices):
   a net_pcap port replaying (infinite_rx) a capture of 60-byte frames into
   a net_null production sink (no-rx), plus a net_null shadow-role port
   (no-rx) as the shadow network, one worker. Every umbra run has all three
   ports; they differ only in `shadows:`: none (the base), one profile with
   fraction 10%, one with 100% (no rate cap). dpdk-testpmd 5tswap on the
   capture's two devices is the usual reference line. --rounds rounds, the
   four taking turns; testpmd keeps its best round, umbra its best
   one-second interval after the warm-up over all rounds (other DPDK
   processes on this shared machine spin on the same CPUs: a disturbance
   then costs one second, not the figure; each round line also gives the
   whole-interval rates, the worker thread's run-queue wait and any other
   DPDK process seen). umbra's cycles per packet per pipeline stage are
   those of the reported second; the shadow port's TX counters and the
   profile's counters (--stats-json "shadows") show that the copies really
   go out.

   Traffic: --flows UDP flows (client 10.0.x.y -> server 10.100.0.z, port
   --dport, not 53), one datagram per flow per pass of the capture. UDP
   flows are chosen at their first datagram and every client datagram of a
   chosen flow is copied to the shadow port, so "100%" copies every packet;
   TCP flows would be chosen only at a SYN and a shadow that never completes
   its handshake (net_null answers nothing) would have their segments held,
   not copied. Flows are chosen at their first packet; with the capture
   replayed in a loop every flow is created in the first pass, so the share
   chosen is the fraction's. Nothing answers (neither production nor the
   shadow), so no exchange is cut and no record reaches the comparator: the
   data-path figure is the cost of selection and copies alone.

   Shadow sessions: each worker's pool holds the largest max_sessions of
   the configuration's profiles (at least 4096); a chosen flow that finds
   no session is not shadowed (counted as no_session). --flows defaults to
   4000; --big-flows (default 100000) runs the 100% profile once more at
   that many flows, with max_sessions sized for them, and reports how many
   flows were shadowed.

2. Exchanges compared per second on one management core: tests/bench/
   compare_rate (built by meson from compare_rate.c) feeds lib/compare
   synthetic HTTP exchange records (a production and a shadow record each,
   250 endpoints, ~5% mismatches, some unanswered) in bursts of 64 with
   compare_expire as umbra's management loop does, pinned to CPU 0 (the
   management core of `-l 0-1`). That is the comparator's own rate on one
   core: no workers, no rings, no report. Best of --rounds runs.

Never a pass/fail test; figures are noisy on shared machines, compare only
within one run. Usage (root, repository root, after a build):
    tests/bench/shadow.py [--build build] [--seconds 4] [--rounds 3]
                          [--flows 4000] [--big-flows 100000] [--dport 8080]
                          [--compare-seconds 3] [--ab-build DIR]
Round by round, each ratio's median over the rounds comes with an interval
that holds the true median at about 95 % (benchlib.median_interval(): no
assumption on how runs spread; with fewer than 6 rounds it is the lowest
and highest round, at the coverage that gives). On a shared host one run's
rate moves by a tenth or more, so a goal 5 points wide takes a dozen rounds
and more to settle. Last line:
    base_mpps=X shadow10_mpps=Y shadow100_mpps=Z cost10=A cost100=B prod_ratio_shed=S
    exchanges_per_s=E
(cost = 1 - shadowed/base, the profile with shed: false; goals: cost10 <= 0.05,
cost100 <= 0.40. prod_ratio_shed: production's rate with 100% shadowed and
shedding on (the default) over the no-shadow rate, same run; goal >= 0.95.
--ab-build DIR runs a second build's no-shadow, 10% and 100% in turn with
this one's (A/B in one run) with shed: false like this build's cost runs,
or with no shed key when that build predates shedding (its binary does not
know "flows_shed"): a build that sheds by default would otherwise shed the
100% run's flows and measure almost no copies.)
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import benchlib  # noqa: E402  (shared with dataplane.py and faults.py)
from bench_traffic import csum  # noqa: E402

GOAL10, GOAL100 = 0.05, 0.40
GOAL_SHED = 0.95                # production with 100% shadowing and shedding on
SHED_LOOPS = 4                  # lib/shadow/shadow.h SHADOW_SHED_LOOPS
SESSIONS_PER_WORKER = 4096      # lib/dp/dp.h DP_SHADOW_SESSIONS: the pool's minimum


# ------------------------------------------------------------------ #
# Traffic: one 60-byte UDP datagram per flow                           #

def udp_frame(i, dport):
    src = 0x0A000000 | (1 + (i % 60000))           # 10.0.x.y clients
    dst = 0x0A640000 | (1 + (i // 60000) % 250)     # 10.100.0.z servers
    sport = 1024 + (i * 7919) % 60000
    udp = struct.pack("!HHHH", sport, dport, 8 + 18, 0) + bytes(18)
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex("020000000001" "02000000c001") + b"\x08\x00" + ip + udp


def make_capture(path, flows, dport):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(flows):
            p = udp_frame(i, dport)
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(p), len(p)))
            f.write(p)


# ------------------------------------------------------------------ #
# What disturbed a run: this machine is shared, other DPDK processes   #
# may spin on the worker's CPU.                                        #

def _stat(pid):
    with open("/proc/%s/stat" % pid) as f:
        head, rest = f.read().rsplit(")", 1)
    return head.split("(", 1)[1], rest.split()


class WorkerWatch(threading.Thread):
    """While a run lasts: the run-queue wait and involuntary context switches
    of our umbra's worker thread (time it was runnable but another task had
    its CPU), and other DPDK processes (umbra, testpmd) seen on the machine."""
    DPDK = ("umbra", "dpdk-testpmd", "testpmd")

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_ev = threading.Event()
        self.first = self.last = None
        self.others = set()

    def worker_sample(self, pid):
        for t in os.listdir("/proc/%d/task" % pid):
            base = "/proc/%d/task/%s/" % (pid, t)
            with open(base + "comm") as f:
                if not f.read().startswith(("rte-worker", "lcore-worker")):
                    continue
            with open(base + "schedstat") as f:
                run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
            with open(base + "status") as f:
                nvcs = int([x for x in f if x.startswith("nonvoluntary_ctxt_switches")][0]
                           .split()[1])
            return wait_ns, nvcs, run_ns
        return None

    def run(self):
        me = os.getpid()
        while not self.stop_ev.wait(0.5):
            mine = None
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    comm, rest = _stat(d)
                    if comm not in self.DPDK:
                        continue
                    if int(rest[1]) == me and comm == "umbra":
                        mine = int(d)
                    else:
                        self.others.add("%s:%s" % (comm, d))
                except (OSError, ValueError, IndexError):
                    continue
            if mine is None:
                continue
            try:
                smp = self.worker_sample(mine)
            except (OSError, ValueError, IndexError):
                smp = None
            if smp is not None:
                self.first = self.first or smp
                self.last = smp

    def result(self):
        self.stop_ev.set()
        self.join()
        if self.first is None:
            return {"wait_ms": None, "preempted": None, "others": sorted(self.others),
                    "cpu_share": None}
        run, wait = self.last[2] - self.first[2], self.last[0] - self.first[0]
        return {"wait_ms": (self.last[0] - self.first[0]) / 1e6,
                # the worker always wants its CPU (it polls): the share it got
                "cpu_share": run / (run + wait) if run + wait > 0 else None,
                "preempted": self.last[1] - self.first[1], "others": sorted(self.others)}


# ------------------------------------------------------------------ #
# umbra runs                                                           #

SHADOW_PORT = '  - { name: shadow, vdev: "net_null_shadow0,no-rx=1", role: shadow }\n'


def shadow_conf(fraction, dport, flows, shed=None):
    """@p shed: the profile's shed key (None: not given, for a build older
    than shedding)."""
    if fraction is None:
        return ""
    return """shadows:
  - {{ name: bench, stage: production, proto: udp, dport: {dport}, fraction: {pct}%,
      seed: 1, port: shadow, max_sessions: {ms}{shed} }}
""".format(dport=dport, pct=int(round(fraction * 100)), ms=max(SESSIONS_PER_WORKER,
                                                                 int(flows * 1.05)),
           shed="" if shed is None else ", shed: %s" % ("true" if shed else "false"))


def umbra_run(args, umbra, clean, pcap, flows, fraction, shed=False):
    """One umbra run: rates over the measured interval, counters at the end.
    @p shed: the profile sheds new flows while the worker is overloaded
    (False for the cost runs; None: no shed key, an older build)."""
    clean.prefixes.append("%s-umbra-%d-%d" % (benchlib.TAG, flows, os.getpid()))
    watch = WorkerWatch()
    watch.start()
    try:
        u = benchlib.run_umbra(pcap, flows, args.seconds, umbra=umbra,
                               extra_ports=SHADOW_PORT,
                               extra_conf=shadow_conf(fraction, args.dport, flows, shed))
    finally:
        u_watch = watch.result()
    u["watch"] = u_watch
    u["interval_mpps"] = u["mpps"]      # over the whole measured interval
    # ... per second of CPU the worker got: this machine's other tenants
    # take a share of its CPU that changes from run to run
    share = u_watch.get("cpu_share")
    u["cpu_mpps"] = u["mpps"] / share if share else u["mpps"]
    # The best one-second interval after the warm-up: on a shared machine a
    # disturbance costs a run a second, not the whole run.
    snaps = u["snaps"]
    i0 = snaps.index(u["first"])
    a, b = max(((snaps[i], snaps[i + 1]) for i in range(i0, len(snaps) - 1)),
               key=lambda ab: (ab[1]["ports"]["sink"]["tx_pkts"]
                               - ab[0]["ports"]["sink"]["tx_pkts"])
               / (ab[1]["time_s"] - ab[0]["time_s"]))
    dt = b["time_s"] - a["time_s"]

    def rate(port, key):
        return (b["ports"][port][key] - a["ports"][port][key]) / dt / 1e6

    wa, wb = a["workers"][0], b["workers"][0]
    pkts = max(1, wb["pkts"] - wa["pkts"])
    u["mpps"] = rate("sink", "tx_pkts")
    u["cycles"] = {k: (wb["cycles"][k] - wa["cycles"][k]) / pkts for k in wb["cycles"]}
    u["fraction"] = fraction
    u["rx_mpps"] = rate("gen", "rx_pkts")
    u["copies_mpps"] = rate("shadow", "tx_pkts") - rate("shadow", "tx_dropped")
    fin = u["final"] or {}
    u["port_final"] = fin.get("ports", {}).get("shadow", {})
    u["rx_final"] = fin.get("ports", {}).get("gen", {}).get("rx_pkts", 0)
    u["flows_final"] = fin.get("flows", {}).get("new", 0)
    prof = fin.get("shadows") or []
    u["counters"] = prof[0]["counters"] if prof else {}
    return u


def best(a, b):
    return b if a is None or b["mpps"] > a["mpps"] else a


def compare_rate(args, exe):
    """compare_rate pinned to CPU 0 (the management core of -l 0-1)."""
    out = subprocess.run(["taskset", "-c", "0", exe, "--seconds", str(args.compare_seconds)],
                         capture_output=True, text=True, check=True).stdout
    lines = out.strip().splitlines()
    res = json.loads(lines[-1])
    res["text"] = lines[:-1]
    return res


# ------------------------------------------------------------------ #
# Report                                                               #

def print_throughput(args, swap, runs):
    base = runs[0]
    print("\nThroughput: %d UDP flows (port %d), 60-byte frames, net_pcap(infinite_rx) -> "
          "net_null sink, + net_null shadow port (role: shadow), 1 worker; umbra: the best "
          "one-second interval of %d rounds of %.0f s, testpmd: best of %d rounds"
          % (args.flows, args.dport, args.rounds, args.seconds, args.rounds))
    print("| forwarder | Mpps | / umbra no shadow | / testpmd 5tswap | cost | goal "
          "| copies out Mpps | flows shadowed | packets cloned / received |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("| dpdk-testpmd 5tswap (gen -> sink) | %.2f | %.2f | 1.00 | | | | | |"
          % (swap, swap / base["mpps"]))
    for name, u, goal in (("umbra, no shadow", base, None),
                          ("umbra, 10% of flows shadowed", runs[1], GOAL10),
                          ("umbra, 100% of flows shadowed", runs[2], GOAL100)):
        cost = 1 - u["mpps"] / base["mpps"]
        c = u["counters"]
        print("| %s | %.2f | %.2f | %.2f | %s | %s | %.2f | %s | %s |" % (
            name, u["mpps"], u["mpps"] / base["mpps"], u["mpps"] / swap,
            "%.1f%%" % (100 * cost) if goal else "",
            ("<= %.0f%%: %s" % (100 * goal, "met" if cost <= goal else "NOT met"))
            if goal else "",
            u["copies_mpps"],
            "%d / %d" % (c.get("flows", 0), u["flows_final"]) if c else "",
            "%.1f%%" % (100.0 * c.get("packets_cloned", 0) / max(1, u["rx_final"]))
            if c else ""))

    mhz = benchlib.tsc_mhz()
    print("\numbra cycles per packet by pipeline stage (the reported second; copies are "
          "made in forward; the drain of TX buffers and shadow timers in tx_drain)")
    print("| stage | no shadow | 10% | 100% | 100%, shedding on |")
    print("|---|---|---|---|---|")
    for k in base["cycles"]:
        print("| %s | %s |" % (k, " | ".join("%.1f" % u["cycles"].get(k, 0) for u in runs)))
    print("| wall (%.0f MHz TSC / Mpps) | %s |" % (mhz, " | ".join(
        "%.1f" % (mhz / u["mpps"]) for u in runs)))
    for u, name in ((runs[1], "10%"), (runs[2], "100%")):
        share = u["copies_mpps"] / max(1e-9, u["mpps"])
        if share > 0:
            print("%s: %.2f copies per production packet; %.1f extra cycles per copy "
                  "(total cycles/pkt over the base's, per copy)" % (
                      name, share, (u["cycles"]["total"] - base["cycles"]["total"]) / share))

    print("\nShadow copies, whole run of each reported umbra (profile counters from "
          "--stats-json \"shadows\", port counters of the shadow port)")
    print("| run | flows | packets_cloned | shadow port tx_pkts | tx_dropped | "
          "dropped_rate_cap | dropped_no_mbuf | dropped_tx | no_session | records | "
          "copies out = cloned? |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for u, name in ((base, "no shadow"), (runs[1], "10%"), (runs[2], "100%"),
                    (runs[3], "100%, shedding on")):
        c, p = u["counters"], u["port_final"]
        cloned = c.get("packets_cloned", 0)
        sent = p.get("tx_pkts", 0) - p.get("tx_dropped", 0)
        print("| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s |" % (
            name, c.get("flows", "-"), cloned, p.get("tx_pkts", 0), p.get("tx_dropped", 0),
            c.get("dropped_rate_cap", "-"), c.get("dropped_no_mbuf", "-"),
            c.get("dropped_tx", "-"), c.get("no_session", "-"), c.get("records", "-"),
            "yes" if sent == cloned else "NO (%d sent)" % sent))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="meson build directory (default build)")
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flows", type=int, default=4000,
                    help="UDP flows of the three main runs")
    ap.add_argument("--big-flows", type=int, default=100000,
                    help="one more 100%% run at this many flows (0: none)")
    ap.add_argument("--dport", type=int, default=8080)
    ap.add_argument("--compare-seconds", type=float, default=3)
    ap.add_argument("--ab-build", default=None,
                    help="a second build (e.g. a baseline worktree's) run in turn with "
                         "this one, shedding off (its cost10/cost100 beside ours)")
    args = ap.parse_args()
    if args.dport == 53:
        sys.exit("--dport 53 would be compared as DNS: choose another port")
    built = os.path.join(benchlib.ROOT, args.build, "app", "umbra", "umbra")
    cmp_built = os.path.join(benchlib.ROOT, args.build, "tests", "bench", "compare_rate")
    for exe in (built, cmp_built):
        if not os.access(exe, os.X_OK):
            sys.exit("build first (%s)" % exe)
    if os.geteuid() != 0:
        sys.exit("run as root (DPDK)")
    clean = benchlib.Cleanup("shadow")
    # private copies: a rebuild during the run cannot change or remove them
    umbra = os.path.join(clean.tmp, "umbra")
    cmp_exe = os.path.join(clean.tmp, "compare_rate")
    shutil.copy2(built, umbra)
    shutil.copy2(cmp_built, cmp_exe)
    ab_exe = None
    if args.ab_build:
        # named umbra too: WorkerWatch finds its worker by the name
        os.mkdir(os.path.join(clean.tmp, "ab"))
        ab_exe = os.path.join(clean.tmp, "ab", "umbra")
        shutil.copy2(os.path.join(args.ab_build, "app", "umbra", "umbra"), ab_exe)
        with open(ab_exe, "rb") as f:
            ab_shed = False if b"flows_shed" in f.read() else None
        print("A/B build %s: %s" % (args.ab_build, "shed: false" if ab_shed is False
                                     else "no shed key (predates shedding)"))
    clean.prefixes.append("%s-tp-5tswap-%d" % (benchlib.TAG, os.getpid()))
    print("load average at start: %s" % open("/proc/loadavg").read().strip(), flush=True)

    pcap = os.path.join(clean.tmp, "udp-%d.pcap" % args.flows)
    make_capture(pcap, args.flows, args.dport)
    swap, runs, cmp = 0.0, [None, None, None, None], None
    ab_runs = [None, None, None]
    per_round = []      # (this build's runs, the A/B build's runs or None)
    for r in range(args.rounds):
        swap = max(swap, benchlib.run_testpmd("5tswap", pcap, args.flows, args.seconds))
        # no shadow, 10% and 100% with shedding off (the cost), 100% shedding on
        this = [umbra_run(args, umbra, clean, pcap, args.flows, f, s)
                for f, s in ((None, False), (0.1, False), (1.0, False), (1.0, True))]
        runs = [best(x, y) for x, y in zip(runs, this)]
        if ab_exe:
            ab = [umbra_run(args, ab_exe, clean, pcap, args.flows, f, ab_shed)
                  for f in (None, 0.1, 1.0)]
            ab_runs = [best(x, y) for x, y in zip(ab_runs, ab)]
            print("round %d, A/B build %s: no shadow %.2f, 10%% %.2f, 100%% %.2f Mpps"
                  % (r + 1, args.ab_build, ab[0]["mpps"], ab[1]["mpps"], ab[2]["mpps"]),
                  flush=True)
        per_round.append((this, ab if ab_exe else None))
        c = compare_rate(args, cmp_exe)
        cmp = c if cmp is None or c["exchanges_per_s"] > cmp["exchanges_per_s"] else cmp
        others = sorted(set(sum((u["watch"]["others"] for u in this), [])))
        print("round %d: testpmd 5tswap %.2f Mpps; umbra Mpps best second (whole "
              "interval): no shadow %.2f (%.2f), 10%% %.2f (%.2f), 100%% %.2f (%.2f); "
              "100%% shedding on %.2f (%.2f); "
              "comparator %.2f M exchanges/s; worker's run-queue wait %s ms%s"
              % (r + 1, swap, this[0]["mpps"], this[0]["interval_mpps"], this[1]["mpps"],
                 this[1]["interval_mpps"], this[2]["mpps"], this[2]["interval_mpps"],
                 this[3]["mpps"], this[3]["interval_mpps"],
                 c["exchanges_per_s"] / 1e6,
                 " / ".join("?" if u["watch"]["wait_ms"] is None
                            else "%.0f" % u["watch"]["wait_ms"] for u in this),
                 "; other DPDK processes running: " + ", ".join(others) if others else ""),
              flush=True)
    os.unlink(pcap)

    big = None
    if args.big_flows:
        bpcap = os.path.join(clean.tmp, "udp-%d.pcap" % args.big_flows)
        make_capture(bpcap, args.big_flows, args.dport)
        try:
            big = umbra_run(args, umbra, clean, bpcap, args.big_flows, 1.0)
        except SystemExit as e:         # run_umbra gives up with sys.exit
            print("run at %d flows failed: %s" % (args.big_flows, e))
        os.unlink(bpcap)

    print_throughput(args, swap, runs)
    if big is not None:
        c = big["counters"]
        print("\nat %d flows, 100%% profile (max_sessions: %d asked): %.2f Mpps, %d flows "
              "shadowed, %d found no session (not shadowed), %.1f%% of packets cloned" % (
                  args.big_flows, max(SESSIONS_PER_WORKER, int(args.big_flows * 1.05)),
                  big["mpps"], c.get("flows", 0), c.get("no_session", 0),
                  100.0 * c.get("packets_cloned", 0) / max(1, big["rx_final"])))

    print("\nExchanges compared per second on one management core (tests/bench/compare_rate, "
          "CPU 0, best of %d runs of %.0f s): the comparator's own rate (compare_add + "
          "compare_expire), not umbra end to end; in the runs above nothing answers, so no "
          "record reached umbra's comparator" % (args.rounds, args.compare_seconds))
    for line in cmp["text"]:
        print(line)

    shed = runs[3]
    sc = shed["counters"]
    print("\nShedding (100%% profile, shed: true; the replay saturates the worker from its "
          "first burst, so flows that start after %d loops of full bursts are shed): "
          "%.2f Mpps = %.3f of no shadow (goal >= %.2f: %s); flows shadowed %s, shed %s, "
          "copies out %.2f Mpps"
          % (SHED_LOOPS, shed["mpps"], shed["mpps"] / runs[0]["mpps"], GOAL_SHED,
             "met" if shed["mpps"] / runs[0]["mpps"] >= GOAL_SHED else "NOT met",
             sc.get("flows", "-"), sc.get("flows_shed", "-"), shed["copies_mpps"]))
    if ab_exe:
        ab0 = ab_runs[0]["mpps"]
        print("\nA/B, same run: this build against %s (%s)" % (
            args.ab_build, "shed: false" if ab_shed is False else "no shed key there"))
        print("| build | no shadow Mpps | 10% Mpps | 100% Mpps | cost10 | cost100 |")
        print("|---|---|---|---|---|---|")
        for name, rr in (("this", runs[:3]), (args.ab_build, ab_runs)):
            print("| %s | %.2f | %.2f | %.2f | %.3f | %.3f |" % (
                name, rr[0]["mpps"], rr[1]["mpps"], rr[2]["mpps"],
                1 - rr[1]["mpps"] / rr[0]["mpps"], 1 - rr[2]["mpps"] / rr[0]["mpps"]))
        print("ab_cost10=%.3f ab_cost100=%.3f" % (1 - ab_runs[1]["mpps"] / ab0,
                                                  1 - ab_runs[2]["mpps"] / ab0))

    print("\nPer second of CPU the worker got (whole measured interval / the worker "
          "thread's share of its CPU, from /proc schedstat: run / (run + run-queue wait)); "
          "on a shared, overloaded machine these ratios are steadier than the wall rates")
    print("| run | Mpps (interval) | CPU share | Mpps per CPU second | / no shadow |")
    print("|---|---|---|---|---|")
    for name, u in (("no shadow", runs[0]), ("10%", runs[1]), ("100%", runs[2]),
                    ("100%, shedding on", runs[3])):
        print("| %s | %.2f | %s | %.2f | %.3f |" % (
            name, u["interval_mpps"], "%.2f" % u["watch"]["cpu_share"]
            if u["watch"]["cpu_share"] else "?", u["cpu_mpps"],
            u["cpu_mpps"] / runs[0]["cpu_mpps"]))
    if ab_exe:
        for name, u in (("A/B no shadow", ab_runs[0]), ("A/B 10%", ab_runs[1]),
                        ("A/B 100%", ab_runs[2])):
            print("| %s | %.2f | %s | %.2f | %.3f |" % (
                name, u["interval_mpps"], "%.2f" % u["watch"]["cpu_share"]
                if u["watch"]["cpu_share"] else "?", u["cpu_mpps"],
                u["cpu_mpps"] / ab_runs[0]["cpu_mpps"]))
    # Round by round: the runs of one round follow one another, so their
    # ratios share the machine's state; the median over rounds is the figure
    # least moved by the other tenants.
    print("\nRound by round, per CPU second (ratios within a round; the medians are "
          "the figures to trust here)")
    print("| round | cost10 | cost100 | prod_ratio_shed | A/B cost10 | A/B cost100 |")
    print("|---|---|---|---|---|---|")
    rr = []
    for i, (th, ab) in enumerate(per_round):
        x = (1 - th[1]["cpu_mpps"] / th[0]["cpu_mpps"], 1 - th[2]["cpu_mpps"] / th[0]["cpu_mpps"],
             th[3]["cpu_mpps"] / th[0]["cpu_mpps"],
             1 - ab[1]["cpu_mpps"] / ab[0]["cpu_mpps"] if ab else float("nan"),
             1 - ab[2]["cpu_mpps"] / ab[0]["cpu_mpps"] if ab else float("nan"))
        rr.append(x)
        print("| %d | %s |" % (i + 1, " | ".join("%.3f" % v for v in x)))
    meds = [benchlib.median([x[k] for x in rr]) for k in range(5)]
    print("| median | %s |" % " | ".join("%.3f" % v for v in meds))
    # The same ratios from wall-clock rates (whole measured intervals), and
    # how sure each median is: a goal five points wide is finer than one
    # run's spread on a shared host.
    wall = [(1 - th[1]["interval_mpps"] / th[0]["interval_mpps"],
             1 - th[2]["interval_mpps"] / th[0]["interval_mpps"],
             th[3]["interval_mpps"] / th[0]["interval_mpps"]) for th, _ in per_round]
    base = [th[0]["interval_mpps"] for th, _ in per_round]
    if len(base) > 1:
        print("no-shadow base over %d rounds (whole intervals): median %.2f Mpps, %.2f to "
              "%.2f, coefficient of variation %.3f" % (
                  len(base), benchlib.median(base), min(base), max(base),
                  statistics.stdev(base) / statistics.mean(base)))
    for k, name in enumerate(("cost10", "cost100", "prod_ratio_shed")):
        print(benchlib.interval_text(name + " per CPU second", [x[k] for x in rr]))
        print(benchlib.interval_text(name + " wall-clock", [x[k] for x in wall]))
    print("median_cpu_cost10=%.3f median_cpu_cost100=%.3f median_cpu_prod_ratio_shed=%.3f "
          "ab_median_cpu_cost10=%.3f ab_median_cpu_cost100=%.3f" % tuple(meds))
    c0 = runs[0]["cpu_mpps"]
    print("cpu_cost10=%.3f cpu_cost100=%.3f cpu_prod_ratio_shed=%.3f%s" % (
        1 - runs[1]["cpu_mpps"] / c0, 1 - runs[2]["cpu_mpps"] / c0, runs[3]["cpu_mpps"] / c0,
        " ab_cpu_cost10=%.3f ab_cpu_cost100=%.3f" % (
            1 - ab_runs[1]["cpu_mpps"] / ab_runs[0]["cpu_mpps"],
            1 - ab_runs[2]["cpu_mpps"] / ab_runs[0]["cpu_mpps"]) if ab_exe else ""))

    print("\nload average at the end: %s" % open("/proc/loadavg").read().strip())
    base = runs[0]["mpps"]
    s10, s100 = runs[1]["mpps"], runs[2]["mpps"]
    print("base_mpps=%.2f shadow10_mpps=%.2f shadow100_mpps=%.2f cost10=%.3f cost100=%.3f "
          "prod_ratio_shed=%.3f exchanges_per_s=%d" % (
              base, s10, s100, 1 - s10 / base, 1 - s100 / base, shed["mpps"] / base,
              int(cmp["exchanges_per_s"])))


if __name__ == "__main__":
    main()
