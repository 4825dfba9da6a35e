#!/usr/bin/python3
"""Release verdicts benchmark: how fast a bad canary is rolled back, and how
often a clean one is (never, we hope).

Real HTTP servers behind umbra, laid out as tests/e2e/bluegreen.sh: a client
namespace on the uplink, blue and green namespaces (both 10.0.0.10:8080) on
their own af_packet ports; service `web`, production running v1 on blue,
rollout steps [10, 50, 100] (hold_s 1), the verdict's defaults (alpha 1 %,
power 90 %, bake 10 s). Each run starts a fresh umbra, then
`event code_commit web v2` puts v2 on green for 10 % of new flows, while
tests/tools/verdict_client.py opens a new connection per request at --rate
(tests/tools/verdict_server.py serves both versions).

Bad scenarios: --switch-s after the canary starts, green's server switches
to: 5 % HTTP 500, 50 % HTTP 500, +50 ms latency, RST after the request
(reset), refused connects (no listener: SYNs get RST). Measured per
scenario:
  detect_ms: from the first bad answer (the earliest completion, on the
    client's clock, of a request started after the switch whose outcome was
    bad: a 500, a reset, a refused connect, or for the delay a v2 answer
    slower than half the added delay) to the moment umbra's log line
    "umbra: verdict: web v2 rolled back" was read from its stdout (printed
    after the rollback transition returned, i.e. the steering without the
    canary was published). Both clocks are this machine's wall clock.
  client_ms: from the same first bad answer to the start of the last
    request that still reached green (an upper bound on when clients
    stopped seeing v2 is one canary request later; shown for comparison).
  umbra_ms: umbra's own figure from the log line (its estimate of the onset
    to the rollback).
A scenario not rolled back within --scenario-timeout seconds of the switch
counts as missed (recall < 1) and has no detect_ms.

Clean releases: v2 identical to v1, --clean-runs runs (default 50; --quick
5), run i with verdict seed i; each judged for --clean-s seconds of traffic
(the rollout may step on GO); a rollback there is a false rollback.

Not a test (figures depend on the machine); root, repository root, after a
build. Usage:
    tests/bench/verdicts.py [--quick] [--rate 200] [--clean-runs 50]
                            [--clean-s 20] [--switch-s 3]
                            [--scenario-timeout 15] [--scenarios a,b]
Last line:
    verdict_scenarios=N detect_p50_ms=X detect_max_ms=Y recall=R clean_runs=C false_rollbacks=F
(detect_max_ms is "inf" when a scenario was missed.)
"""
import argparse
import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tests", "tools")
PY = "/usr/bin/python3"
BLUE_MAC = "02:00:00:00:0d:01"
GREEN_MAC = "02:00:00:00:0d:02"
SCENARIOS = [("fail5", "fail=0.05"), ("fail50", "fail=0.5"), ("delay50", "delay=50"),
             ("reset", "reset"), ("refuse", "refuse")]

TAG = "%d" % (os.getpid() % 100000)
NS = {"c": "h8vc" + TAG, "b": "h8vb" + TAG, "g": "h8vg" + TAG}
LINKS = {"c": "h8vcl" + TAG, "b": "h8vbl" + TAG, "g": "h8vgr" + TAG}
PIDS = []
UMBRA = os.path.join(ROOT, "build", "app", "umbra", "umbra")


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def cleanup():
    for p in PIDS:
        if p.poll() is None:
            p.terminate()
    for p in PIDS:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    for ns in NS.values():
        sh("ip", "netns", "del", ns, check=False)
    for l in LINKS.values():
        sh("ip", "link", "del", l, check=False)


def setup_net():
    for k in ("c", "b", "g"):
        ns, hif = NS[k], LINKS[k]
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", hif, "type", "veth", "peer", "name", "p" + hif)
        sh("ip", "link", "set", "p" + hif, "netns", ns)
        sh("ip", "-n", ns, "link", "set", "p" + hif, "name", "eth0")
        sh("ip", "link", "set", hif, "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ethtool", "-K", hif, "tx", "off", "rx", "off", check=False)
        sh("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off", "rx", "off",
           check=False)
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % hif)
    sh("ip", "-n", NS["b"], "link", "set", "eth0", "address", BLUE_MAC)
    sh("ip", "-n", NS["g"], "link", "set", "eth0", "address", GREEN_MAC)
    sh("ip", "-n", NS["c"], "addr", "add", "10.0.0.1/24", "dev", "eth0")
    sh("ip", "-n", NS["b"], "addr", "add", "10.0.0.10/24", "dev", "eth0")
    sh("ip", "-n", NS["g"], "addr", "add", "10.0.0.10/24", "dev", "eth0")


def start_server(ns, body, control, tmp):
    p = subprocess.Popen(["ip", "netns", "exec", ns, PY, os.path.join(TOOLS, "verdict_server.py"),
                          "--bind", "10.0.0.10", "--port", "8080", "--body", body,
                          "--control", control],
                         stdout=open(os.path.join(tmp, "server-%s.log" % body), "a"),
                         stderr=subprocess.STDOUT)
    PIDS.append(p)
    return p


def wait_port(ns):
    for _ in range(100):
        r = sh("ip", "netns", "exec", ns, "bash", "-c", "exec 3<>/dev/tcp/10.0.0.10/8080",
               check=False)
        if r.returncode == 0:
            return
        time.sleep(0.1)
    sys.exit("server in %s did not start" % ns)


CONF = """ports:
  - {{ name: uplink, vdev: "net_af_packet0,iface={c}", role: uplink }}
  - {{ name: prod, vdev: "net_af_packet1,iface={b}" }}
  - {{ name: green, vdev: "net_af_packet2,iface={g}" }}
stages:
  - {{ name: production, default: true, egress: {{ port: prod }} }}
services:
  - name: web
    match: {{ dst: 10.0.0.10/32, proto: tcp, dport: 8080 }}
    backends:
      - {{ name: blue, port: prod, next_hop_mac: "{bm}" }}
      - {{ name: green, port: green, next_hop_mac: "{gm}" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
    rollout: {{ steps: [10, 50, 100], hold_s: 1 }}
    verdict: {{ seed: {seed}{verdict} }}
workflow:
  pipeline:
    - {{ stage: production, on: code_commit }}
flow_table: {{ size: 65536, tcp_closed_timeout_ms: 100 }}
"""


class Umbra:
    """A fresh umbra; its stdout lines are read by a thread and stamped."""

    def __init__(self, tmp, seed, run, verdict=""):
        self.sock = os.path.join(tmp, "umbra-%d.sock" % run)
        conf = os.path.join(tmp, "umbra-%d.yaml" % run)
        with open(conf, "w") as f:
            f.write(CONF.format(c=LINKS["c"], b=LINKS["b"], g=LINKS["g"], bm=BLUE_MAC,
                                gm=GREEN_MAC, seed=seed, verdict=verdict))
        mem = sh(os.path.join(ROOT, "deploy", "eal-mem.sh")).stdout.split()
        self.prefix = "h8vb-%s-%d" % (TAG, run)
        self.lines = []
        self.lock = threading.Lock()
        self.p = subprocess.Popen(
            [UMBRA, "-l", "0-1", "--no-pci",
             "--file-prefix", self.prefix] + mem + ["--log-level=lib.eal:warning", "--",
             "-c", conf, "--socket", self.sock], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        PIDS.append(self.p)
        self.ready = threading.Event()
        threading.Thread(target=self.read, daemon=True).start()
        if not self.ready.wait(30):
            sys.exit("umbra did not start:\n" + "".join(l for _, l in self.lines))

    def read(self):
        for line in self.p.stdout:
            with self.lock:
                self.lines.append((time.time(), line))
            if re.search(r"umbra: .* workers", line):
                self.ready.set()

    def find(self, pattern):
        with self.lock:
            for t, l in self.lines:
                m = re.search(pattern, l)
                if m:
                    return t, l, m
        return None

    def call(self, cmd, **args):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.sock)
        f = s.makefile("rw")
        f.write(json.dumps({"id": 1, "cmd": cmd, "args": args}) + "\n")
        f.flush()
        r = json.loads(f.readline())
        s.close()
        return r

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)


def start_client(tmp, name, rate):
    rec = os.path.join(tmp, "rec-%s.jsonl" % name)
    stop = os.path.join(tmp, "stop-%s" % name)
    p = subprocess.Popen(["ip", "netns", "exec", NS["c"], PY,
                          os.path.join(TOOLS, "verdict_client.py"),
                          "--url", "http://10.0.0.10:8080/", "--rate", str(rate),
                          "--timeout", "2", "--threads", "128", "--records", rec,
                          "--stop-file", stop],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    PIDS.append(p)
    return p, rec, stop


def stop_client(c):
    p, rec, stop = c
    open(stop, "w").close()
    out, _ = p.communicate(timeout=30)
    recs = []
    with open(rec) as f:
        for line in f:
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    summary = {}
    for line in out.splitlines():
        if line.startswith("{"):
            summary = json.loads(line)
    return recs, summary


def is_bad(r, mode):
    if r["out"] != "200":
        return True
    if mode.startswith("delay="):
        return r["body"] == "v2" and (r["t1"] - r["t0"]) * 1000 >= float(mode[6:]) / 2
    return False


def hit_green(r, mode):
    return r["body"] == "v2" or is_bad(r, mode)


def set_mode(control, mode):
    tmpf = control + ".tmp"
    with open(tmpf, "w") as f:
        f.write(mode + "\n")
    os.replace(tmpf, control)


def production(u):
    r = u.call("workflow/status", service="web")
    for s in r.get("result", {}).get("services", [{}])[0].get("stages", []):
        if s.get("stage") == "production":
            return s
    return {}


def run_bad(args, tmp, control, name, mode, run):
    set_mode(control, "normal")
    time.sleep(0.1)
    u = Umbra(tmp, 1, run)
    c = start_client(tmp, name, args.rate)
    try:
        time.sleep(1.0)   # warm: control traffic before the canary
        r = u.call("event/code_commit", service="web", version="v2")
        if not r.get("ok"):
            sys.exit("code_commit refused: %s" % r)
        time.sleep(args.switch_s)
        t_switch = time.time()
        set_mode(control, mode)
        deadline = t_switch + args.scenario_timeout
        hit = None
        while time.time() < deadline:
            hit = u.find(r"umbra: verdict: web v2 rolled back (\d+) ms")
            if hit:
                break
            time.sleep(0.02)
        time.sleep(1.0)   # let clients see the steering without the canary
    finally:
        recs, summary = stop_client(c)
        st = u.call("verdict/status", service="web").get("result", {})
        prod = production(u)
        u.stop()
        set_mode(control, "normal")
    bad = sorted(r["t1"] for r in recs if r["t0"] >= t_switch and is_bad(r, mode))
    first_bad = bad[0] if bad else None
    rel = (st.get("releases") or [{}])[-1]
    out = {"scenario": name, "mode": mode, "requests": summary.get("requests"),
           "verdict": rel.get("verdict"), "metric": rel.get("metric"),
           "reason": rel.get("reason"), "canary_after": prod.get("canary"),
           "running_after": prod.get("version"), "bad_answers": len(bad)}
    if hit and first_bad:
        t_rb = hit[0]
        out["detect_ms"] = round((t_rb - first_bad) * 1000, 1)
        out["umbra_ms"] = int(hit[2].group(1))
        last_green = max((r["t0"] for r in recs if hit_green(r, mode) and r["t0"] <= t_rb + 5),
                         default=None)
        out["client_ms"] = round((last_green - first_bad) * 1000, 1) if last_green else None
        out["switch_to_first_bad_ms"] = round((first_bad - t_switch) * 1000, 1)
    else:
        out["detect_ms"] = None
    return out


# Quick GO (short bake, 20 % minimum effects): the rollout reaches 50 %
# within seconds, then green fails.
FAST_GO = (", bake: 2s, metrics: { http_5xx: { min_abs: 20% }, connect_failed: { min_abs: 20% },"
           " reset: { min_abs: 20% }, no_answer: { min_abs: 20% },"
           " retransmission: { min_abs: 20% }, slow_answer: { enabled: false } }")


def run_late(args, tmp, control, run):
    """A canary that fails after the rollout stepped to 50 %: the verdict's
    rollback should take v2 out of production altogether."""
    set_mode(control, "normal")
    u = Umbra(tmp, 1, run, FAST_GO)
    c = start_client(tmp, "late", args.rate)
    steps = []
    try:
        time.sleep(1.0)
        u.call("event/code_commit", service="web", version="v2")
        deadline = time.time() + 30
        while time.time() < deadline:
            bp = (production(u).get("canary") or {}).get("bp")
            if not steps or steps[-1] != bp:
                steps.append(bp)
            if bp == 5000:
                break
            time.sleep(0.05)
        set_mode(control, "fail=0.5")
        t_switch = time.time()
        hit = None
        while time.time() < t_switch + args.scenario_timeout:
            hit = u.find(r"umbra: verdict: web v2 rolled back (\d+) ms")
            if hit:
                break
            time.sleep(0.02)
        time.sleep(3.0)   # what runs a while after the rollback
    finally:
        recs, summary = stop_client(c)
        prod = production(u)
        u.stop()
        set_mode(control, "normal")
    t_rb = hit[0] if hit else time.time()
    late_bad = sum(1 for r in recs if r["t0"] > t_rb + 1.0 and is_bad(r, "fail=0.5"))
    late_v2 = sum(1 for r in recs if r["t0"] > t_rb + 1.0 and hit_green(r, "fail=0.5"))
    return {"scenario": "late", "mode": "fail=0.5 at 50%", "steps_seen": steps,
            "rolled_back": bool(hit), "running_after": prod.get("version"),
            "canary_after": prod.get("canary"),
            "green_requests_1s_after_rollback": late_v2, "bad_1s_after_rollback": late_bad,
            "ok": bool(hit) and not prod.get("canary") and prod.get("version") == "v1"}


def run_clean(args, tmp, control, i, run):
    set_mode(control, "normal")
    u = Umbra(tmp, i, run)
    c = start_client(tmp, "clean%d" % i, args.rate)
    try:
        time.sleep(1.0)
        r = u.call("event/code_commit", service="web", version="v2")
        if not r.get("ok"):
            sys.exit("code_commit refused: %s" % r)
        time.sleep(args.clean_s)
    finally:
        recs, summary = stop_client(c)
        st = u.call("verdict/status", service="web").get("result", {})
        prod = production(u)
        rolled = u.find(r"umbra: verdict: web v2 rolled back") is not None
        went = u.find(r"umbra: verdict: web v2: go:") is not None
        u.stop()
    rel = (st.get("releases") or [{}])[-1]
    return {"run": i, "seed": i, "requests": summary.get("requests"),
            "failed": summary.get("failed"), "rolled_back": rolled or st.get("rollbacks", 0) > 0,
            "reached_go": went, "verdict": rel.get("verdict"), "reason": rel.get("reason"),
            "bp": (prod.get("canary") or {}).get("bp", 10000 if prod.get("version") == "v2" else 0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 clean runs")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--clean-runs", type=int, default=None)
    ap.add_argument("--clean-s", type=float, default=20)
    ap.add_argument("--switch-s", type=float, default=3)
    ap.add_argument("--scenario-timeout", type=float, default=15)
    ap.add_argument("--scenarios", default=",".join(n for n, _ in SCENARIOS),
                    help="comma-separated; 'late' (not in the figures) adds a canary "
                    "failing after the rollout reached 50 %%")
    ap.add_argument("--umbra", default=UMBRA, help="the daemon (default: the build's)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if args.clean_runs is None:
        args.clean_runs = 5 if args.quick else 50
    globals()["UMBRA"] = args.umbra
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces, af_packet)")
    tmp = tempfile.mkdtemp(prefix="umbra-verdicts-")
    atexit.register(lambda: args.keep or shutil.rmtree(tmp, ignore_errors=True))
    atexit.register(cleanup)
    setup_net()
    control = os.path.join(tmp, "green.mode")
    set_mode(control, "normal")
    start_server(NS["b"], "v1", os.path.join(tmp, "blue.mode"), tmp)
    start_server(NS["g"], "v2", control, tmp)
    wait_port(NS["b"])
    wait_port(NS["g"])
    run = 0
    detects, missed = [], []
    wanted = args.scenarios.split(",")
    for name, mode in SCENARIOS:
        if name not in wanted:
            continue
        run += 1
        r = run_bad(args, tmp, control, name, mode, run)
        print(json.dumps(r), flush=True)
        if r["detect_ms"] is None:
            missed.append(name)
        else:
            detects.append(r["detect_ms"])
    if "late" in wanted:
        run += 1
        print(json.dumps(run_late(args, tmp, control, run)), flush=True)
    false_rb = 0
    for i in range(1, args.clean_runs + 1):
        run += 1
        r = run_clean(args, tmp, control, i, run)
        print(json.dumps(r), flush=True)
        false_rb += bool(r["rolled_back"])
    n = len(detects) + len(missed)
    ds = sorted(detects)
    p50 = ds[(len(ds) - 1) // 2] if ds else None
    dmax = "inf" if missed else (ds[-1] if ds else None)
    if missed:
        print("# missed (no rollback within %.0f s of the switch): %s"
              % (args.scenario_timeout, ", ".join(missed)))
    print("verdict_scenarios=%d detect_p50_ms=%s detect_max_ms=%s recall=%s clean_runs=%d "
          "false_rollbacks=%d" % (n, p50, dmax, ("%.2f" % (len(ds) / n)) if n else None,
                                   args.clean_runs, false_rb))


if __name__ == "__main__":
    main()
