#!/usr/bin/python3
"""Dependency map benchmark: what the map costs the data plane, how fast a
canary's new edge is caught, and how often a clean canary is flagged.

1. Cost: tests/bench/dataplane.py's run (net_pcap replay of 60-byte frames
   over --flows flows into net_null, one worker; 3 in 4 flows are UDP to
   port 53, so they are DNS flows the map watches) with the map recording
   (graph/record enabled=true) and without (enabled=false), each followed by
   config/migrate so that every flow is decided again under that setting;
   the two alternate for --rounds rounds, each keeps its best.
   graph_cost = 1 - with / without.
2. Detection, laid out as tests/e2e/graph_verdict.sh: web v1 on blue, v2
   on green for 50 % of new flows; both call their database at --rate new
   connections per second each; after --baseline-s, green also calls a
   cache it never had at --rate. deviation_detect_ms: from the first
   connect to the cache (the caller's clock) to verdict/status showing the
   rollback (polled every 20 ms), with graph: { min_gap: 300ms }.
3. Clean: --clean-runs runs of --clean-s seconds, both versions calling
   only the database; false_deviations counts runs rolled back.
edges, names and bytes_per_edge come from the daemon of the last run
(graph/show, /metrics: memory / capacity).

Not a test; root, repository root, after a build. Usage:
    tests/bench/graph.py [--rounds 3] [--seconds 5] [--flows 100000]
                         [--rate 100] [--clean-runs 3] [--clean-s 10]
                         [--umbra build/app/umbra/umbra]
Last line:
    edges=E names=N graph_cost=C deviation_detect_ms=D false_deviations=F bytes_per_edge=B
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (ROOT, UMBRA, Cleanup, make_capture, run_umbra)  # noqa: E402

UMBRACTL = os.path.join(os.path.dirname(os.path.dirname(UMBRA)), "umbractl", "umbractl")
BLUE_MAC, GREEN_MAC = "02:00:00:00:0b:01", "02:00:00:00:0b:02"

CALLER = r"""
import socket, sys, time
addr, port, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
open_, first = [], True
t = time.time()
while True:
    s = socket.socket(); s.setblocking(False)
    s.connect_ex((addr, port))
    if first:
        print("first %.6f" % time.time(), flush=True); first = False
    open_.append((time.time(), s))
    while open_ and time.time() - open_[0][0] > 0.2:
        open_.pop(0)[1].close()
    t += 1.0 / rate
    time.sleep(max(0.0, t - time.time()))
"""


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Lab:
    """Namespaces and veths of graph_verdict.sh (one set per run)."""

    def __init__(self, cl, tag):
        self.cl, self.t = cl, tag
        for n in ("c", "b", "g"):
            ns = "h15g%s%s" % (n, tag)
            sh("ip", "netns", "add", ns)
            cl.netns.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            host = "h15%s%s" % (n, tag)
            sh("ip", "link", "add", host, "type", "veth", "peer", "name", "p" + host)
            cl.links.append(host)
            sh("ip", "link", "set", "p" + host, "netns", ns)
            sh("ip", "-n", ns, "link", "set", "p" + host, "name", "eth0")
            sh("ip", "link", "set", host, "up")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            subprocess.run(["ethtool", "-K", host, "tx", "off", "rx", "off"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off",
                            "rx", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % host)
        self.ns = {n: "h15g%s%s" % (n, tag) for n in ("c", "b", "g")}
        sh("ip", "-n", self.ns["b"], "link", "set", "eth0", "address", BLUE_MAC)
        sh("ip", "-n", self.ns["g"], "link", "set", "eth0", "address", GREEN_MAC)
        for a in ("10.0.0.1", "10.0.0.50", "10.0.0.66"):
            sh("ip", "-n", self.ns["c"], "addr", "add", a + "/24", "dev", "eth0")
        for n in ("b", "g"):
            sh("ip", "-n", self.ns[n], "addr", "add", "10.0.0.10/24", "dev", "eth0")

    def umbra(self, tmp, http_port):
        t = self.t
        conf = os.path.join(tmp, "umbra-%s.yaml" % t)
        with open(conf, "w") as f:
            f.write("""ports:
  - {{ name: uplink, vdev: "net_af_packet0,iface=h15c{t}", role: uplink }}
  - {{ name: prod, vdev: "net_af_packet1,iface=h15b{t}" }}
  - {{ name: green, vdev: "net_af_packet2,iface=h15g{t}" }}
stages:
  - {{ name: production, default: true, egress: {{ port: prod }} }}
services:
  - name: web
    match: {{ dst: 10.0.0.10/32, proto: tcp, dport: 8080 }}
    backends:
      - {{ name: blue, port: prod, next_hop_mac: "{b}" }}
      - {{ name: green, port: green, next_hop_mac: "{g}" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
    rollout: {{ steps: [50, 100], hold_s: 3600 }}
    verdict: {{ bake: 1h }}
workflow:
  pipeline:
    - {{ stage: production, on: code_commit }}
graph: {{ min_gap: 300ms, min_flows: 5 }}
flow_table: {{ size: 16384, tcp_closed_timeout_ms: 100 }}
""".format(t=t, b=BLUE_MAC, g=GREEN_MAC))
        prefix = "h15-graph-%s" % t
        self.cl.prefixes.append(prefix)
        self.sock = os.path.join(tmp, "umbra-%s.sock" % t)
        mem = subprocess.run([os.path.join(ROOT, "deploy", "eal-mem.sh")], capture_output=True,
                             text=True, check=True).stdout.split()
        log = open(os.path.join(tmp, "umbra-%s.log" % t), "w")
        p = subprocess.Popen([UMBRA, "-l", "0-1", "--no-pci", "--file-prefix", prefix] + mem +
                             ["--log-level=lib.eal:warning", "--", "-c", conf, "--socket",
                              self.sock, "--http", "127.0.0.1:%d" % http_port],
                             stdout=log, stderr=subprocess.STDOUT)
        self.cl.procs.append(p)
        for _ in range(100):
            if os.path.exists(self.sock):
                return p
            time.sleep(0.1)
        sys.exit("umbra did not start: see %s" % log.name)

    def ctl(self, *args):
        r = subprocess.run([UMBRACTL, "-s", self.sock, "--json"] + list(args),
                           capture_output=True, text=True)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    def caller(self, ns, addr, port, rate):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns], "/usr/bin/python3", "-c",
                              CALLER, addr, str(port), str(rate)],
                             stdout=subprocess.PIPE, text=True)
        self.cl.procs.append(p)
        return p


def verdict(lab):
    r = lab.ctl("verdict/status", "service=web")
    rel = r.get("releases") or []
    return rel[-1] if rel else {}


def scenario(cl, tag, args, bad, seconds):
    """One fresh umbra and lab; @return (detect_ms or None, rolled_back, lab info)."""
    lab = Lab(cl, tag)
    port = 21000 + os.getpid() % 20000
    lab.umbra(cl.tmp, port)
    time.sleep(1.0)
    lab.ctl("event", "code_commit", "web", "v2")
    lab.caller("b", "10.0.0.50", 5432, args.rate)
    lab.caller("g", "10.0.0.50", 5432, args.rate)
    time.sleep(args.baseline_s)
    first = None
    if bad:
        p = lab.caller("g", "10.0.0.66", 6379, args.rate)
        first = float(p.stdout.readline().split()[1])
    end = time.time() + seconds
    detect, rolled = None, False
    while time.time() < end:
        v = verdict(lab)
        if v.get("verdict") == "rollback":
            rolled = True
            if first is not None:
                detect = (time.time() - first) * 1000
            break
        time.sleep(0.02)
    info = {}
    show = lab.ctl("graph/show")
    edges = show.get("edges", [])
    info["edges"] = len(edges)
    info["names"] = len({e["server"] for e in edges if e["server_source"] != "none"} |
                        {e["client"] for e in edges if e["client_source"] != "none"})
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                      timeout=5).read().decode()
        m = dict(line.rsplit(" ", 1) for line in text.splitlines()
                 if line.startswith("umbra_graph_") and "{" not in line)
        info["bytes_per_edge"] = float(m["umbra_graph_memory_bytes"]) / float(
            m["umbra_graph_edges_capacity"])
    except (OSError, KeyError, ValueError):
        info["bytes_per_edge"] = float("nan")
    info["reason"] = verdict(lab).get("reason", "")
    cl.stop()
    return detect, rolled, info


def main():
    global UMBRA, UMBRACTL
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--baseline-s", type=float, default=3)
    ap.add_argument("--clean-runs", type=int, default=3)
    ap.add_argument("--clean-s", type=float, default=10)
    ap.add_argument("--detect-timeout", type=float, default=15)
    ap.add_argument("--umbra", default=UMBRA, help="the umbra binary (build/'s)")
    args = ap.parse_args()
    UMBRA = os.path.abspath(args.umbra)
    UMBRACTL = os.path.join(os.path.dirname(os.path.dirname(UMBRA)), "umbractl", "umbractl")
    if not os.access(UMBRA, os.X_OK):
        sys.exit("build umbra first (deploy/setup.sh)")
    cl = Cleanup("graph")

    # 1. cost, same run
    pcap = os.path.join(cl.tmp, "flows.pcap")
    make_capture(pcap, args.flows)
    best = {True: None, False: None}
    for _ in range(args.rounds):
        for on in (True, False):
            r = run_umbra(pcap, args.flows, args.seconds, umbra=UMBRA, commands=[
                ("graph/record", {"enabled": on}), ("config/migrate", {})])
            if best[on] is None or r["mpps"] > best[on]["mpps"]:
                best[on] = r
    w, wo = best[True], best[False]
    cost = 1 - w["mpps"] / wo["mpps"]
    print("\n%d flows (3 in 4 UDP to port 53), 60-byte frames, 1 worker, best of %d rounds"
          % (args.flows, args.rounds))
    print("| map | Mpps | cycles/pkt | forward cycles/pkt |")
    print("|---|---|---|---|")
    for name, r in (("recording", w), ("paused", wo)):
        print("| %s | %.2f | %.1f | %.1f |" % (name, r["mpps"], r["cycles"]["total"],
                                              r["cycles"].get("forward", 0)))
    print("graph_cost %.3f" % cost)

    # 2. detection, 3. clean runs
    tag = os.getpid() % 100000
    detect, rolled, info = scenario(cl, "%dd" % tag, args, True, args.detect_timeout)
    print("\nnew edge at %.0f new flows/s (control and canary each at %.0f to db): %s, "
          "%s ms; %s" % (args.rate, args.rate, "rolled back" if rolled else "MISSED",
                         "%.0f" % detect if detect else "-", info["reason"]))
    false = 0
    for i in range(args.clean_runs):
        _, fr, _ = scenario(cl, "%dc%d" % (tag, i), args, False, args.clean_s)
        false += fr
        print("clean run %d (%.0f s): %s" % (i + 1, args.clean_s,
                                             "ROLLED BACK" if fr else "clean"))
    print("edges=%d names=%d graph_cost=%.3f deviation_detect_ms=%s false_deviations=%d "
          "bytes_per_edge=%.1f" % (info["edges"], info["names"], cost,
                                   "%.0f" % detect if detect else "inf", false,
                                   info["bytes_per_edge"]))


if __name__ == "__main__":
    main()
