#!/usr/bin/python3
"""Soak: traffic through umbra while everything an operator, a release
pipeline and a hostile client can do happens over and over, for a bounded
time (loopback and virtual devices only; it stops by itself).

  tests/soak/soak.py [--minutes M] [--seed S]     (env SOAK_MINUTES too)

While a capture replays forever through the uplink, one driver cycles:
config applies and snapshot rollbacks, shadow profiles created and deleted,
fault rules added with short leases (and left to lapse) or cleared, chaos
scenarios started and stopped, release-workflow events (commit, tests
passed, approval, rollout, rollback) and abusive socket clients (hang-ups
before the answer, connect-and-close, garbage, over-long lines, idle
connections). It samples the daemon's RSS and open descriptors and, in a
quiet moment at the start (after a warm-up) and at the end, the mbufs in
use in every pool. It prints an RSS series (a row a minute; ten rows in
runs under 10 minutes) beside the daemon's own view from its memory
command: heap in use and free, SQLite's memory, DPDK's heaps, snapshots.

It asserts: RSS at the end within 5 % of the warmed-up baseline; in runs
of 10 minutes or more, RSS less SQLite's memory not still growing over
the second half (least-squares slope at most 5 % of the baseline per
hour: a leak the 5 % limit would only catch in a longer run); SQLite's
memory within its bound; mbufs in use back to the baseline, descriptors
flat, every received packet sent, counted as a drop or still held
(conservation), and the daemon alive throughout. The last line is
  soak_minutes= rss_growth_pct= rss_trend_pct_h= mbuf_leak= fd_growth= lost= deaths=
"""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mgmt"))
from umbrad import SRC, Daemon  # noqa: E402

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
  - {{ name: shadownet, vdev: "net_null_{tag}2,no-rx=1", role: shadow }}
fault_policy: {{ max_lease: 1h }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: staging
    egress: {{ port: sink, vlan: 300 }}
    match: [ {{ src: 10.0.1.0/24 }} ]
  - name: test
    egress: {{ port: sink, vlan: 200 }}
    match: [ {{ src: 10.0.2.0/24 }} ]
  - name: dev
    egress: {{ port: sink, vlan: {vlan} }}
    match: [ {{ src: 10.0.3.0/24 }} ]
services:
  - name: web
    match: {{ dst: 10.100.0.1/32, proto: tcp, dport: 80 }}
    backends:
      - {{ name: blue, port: sink, next_hop_mac: "02:00:00:00:0b:01" }}
      - {{ name: green, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:02" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
      staging: {{ running: v1 }}
    rollout: {{ steps: [10, 50, 100], hold_s: 1 }}
# No workflow.history cap: with the state directory the workflow keeps a
# window of 256 transitions in memory and the rest in history.db.
chaos:
  - name: slow-staging
    description: "staging slow for a moment"
    duration: 3s
    faults:
      - {{ kind: delay, stage: staging, delay: 200us, jitter: 50us }}
"""


RSS_LIMIT_PCT = 5.0      # end against the warmed-up baseline
TREND_LIMIT_PCT_H = 5.0  # second half's slope, per hour of the baseline
TREND_MIN_MINUTES = 10   # shorter runs are still filling bounded caches


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def settled_fds(pid, seconds=3.0):
    """Descriptors once transient ones (a client the loop has not yet seen
    hang up, a hook's pipes) are gone: the least seen over a few seconds."""
    least = proc_fds(pid)
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.2)
        least = min(least, proc_fds(pid))
    return least


def daemon_memory(d):
    """The daemon's own view (the memory command): heap in use and free,
    SQLite's and DPDK's allocations, snapshots kept; {} if unanswered."""
    try:
        r = d.call("memory")
    except (OSError, ValueError):
        return {}
    return r.get("result") or {} if r.get("ok") else {}


def daemon_memory_trim(d):
    """RSS after malloc_trim in the daemon (memory trim=true), or None."""
    try:
        r = d.call("memory", trim=True)
    except (OSError, ValueError):
        return None
    return r["result"]["rss_kb"] if r.get("ok") else None


def slope(points):
    """Least-squares slope of (t, y) points (y per unit of t); 0 if fewer
    than two distinct times."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / den if den else 0.0


class Memory:
    """The RSS series with the daemon's own view of where its memory is
    (the memory command): a sample every quarter period, a printed row
    every period."""

    # SQLite's memory is its page cache (PRAGMA cache_size, 2000 KiB by
    # default, one connection) with statements and schema: bounded, so it
    # is judged on its own against this and left out of the RSS trend.
    SQLITE_MAX_KB = 4096

    def __init__(self, d, start, period):
        self.d, self.start, self.period = d, start, period
        self.samples = []   # (minute, rss, heap used, heap free, sqlite, dpdk, snapshots)
        self.printed = []   # indexes of the samples that are rows
        self.next = 0.0

    def sample(self, row=False):
        """RSS now (kB); every quarter period (or @p row) a sample."""
        now = time.time()
        rss = proc_rss_kb(self.d.proc.pid)
        if now < self.next and not row:
            return rss
        m = daemon_memory(self.d)
        heap, sq = m.get("malloc", {}), m.get("sqlite", {})
        dpdk = sum(h.get("allocated", 0) for h in m.get("dpdk", {}).values())
        self.samples.append(((now - self.start) / 60.0, rss, heap.get("in_use", 0) // 1024,
                             heap.get("free", 0) // 1024, sq.get("in_use", 0) // 1024,
                             dpdk // 1024, m.get("snapshots", 0)))
        if row or not self.printed or \
           now - self.start >= (self.samples[self.printed[-1]][0] * 60 + self.period):
            self.printed.append(len(self.samples) - 1)
        self.next = now + self.period / 4
        return rss

    def trend(self, base_kb):
        """Once warmed up, in % of the baseline per hour: the least-squares
        slope of RSS less SQLite's memory over the second half of the run
        (by time); and the change of the same from the middle third's mean
        to the last third's, in % of the baseline."""
        pts = [(s[0], s[1] - s[4]) for s in self.samples]
        if len(pts) < 6 or not base_kb:
            return 0.0, 0.0
        t0, t1 = pts[0][0], pts[-1][0]
        pct_h = 100.0 * slope([p for p in pts if p[0] >= (t0 + t1) / 2]) * 60.0 / base_kb

        def mean(lo, hi):
            ys = [y for t, y in pts if lo <= t - t0 < hi]
            return sum(ys) / len(ys) if ys else 0.0
        third = (t1 - t0) / 3
        mid, last = mean(third, 2 * third), mean(2 * third, 3 * third + 1)
        return pct_h, 100.0 * (last - mid) / base_kb if mid else 0.0

    def sqlite_kb(self):
        return self.samples[-1][4] if self.samples else 0

    def print(self):
        print("soak: memory series (kB; heap, SQLite, DPDK and snapshots kept from "
              "the daemon's memory command)")
        print("soak:   minute      rss  heap_used  heap_free  sqlite  dpdk_alloc  snapshots")
        for i in self.printed:
            print("soak:   %6.1f %8d %10d %10d %7d %11d %10d" % self.samples[i])


class Abuser:
    """Socket clients that misbehave in every way a broken tool can."""

    def __init__(self, path, rng):
        self.path, self.rng = path, rng
        self.idle = []

    def _conn(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(self.path)
        return s

    def once(self):
        kind = self.rng.randrange(5)
        try:
            if kind == 0:      # ask and hang up before the answer
                s = self._conn()
                s.sendall(b'{"id":1,"cmd":"stats"}\n')
                s.close()
            elif kind == 1:    # connect and close at once
                self._conn().close()
            elif kind == 2:    # garbage, then read the error
                s = self._conn()
                s.sendall(bytes(self.rng.randrange(256) for _ in range(200)) + b"\n")
                s.recv(4096)
                s.close()
            elif kind == 3:    # a line far over the limit
                s = self._conn()
                s.sendall(b"{" + b"x" * 100000 + b"\n")
                s.close()
            else:              # idle connections, closed a while later
                self.idle.append(self._conn())
                if len(self.idle) > 20:
                    self.idle.pop(0).close()
        except OSError:
            pass  # refusals are the daemon's right; dying is not

    def close(self):
        for s in self.idle:
            s.close()
        self.idle = []


class Driver:
    """Cycles every kind of change; counts answers that were not ok."""

    def __init__(self, d, rng):
        self.d, self.rng = d, rng
        self.failed = []
        self.version = 1
        self.ops = 0
        self.releases = 0   # releases approved into production

    def call(self, cmd, expect_ok=True, **args):
        r = self.d.call(cmd, **args)
        self.ops += 1
        if expect_ok and not r.get("ok"):
            self.failed.append((cmd, args, r.get("error")))
        return r

    def config(self):
        if self.rng.random() < 0.2:
            gens = self.call("snapshot/list")["result"][-20:]
            self.call("snapshot/rollback", generation=self.rng.choice(gens)["generation"])
        else:
            self.call("config/apply", path=self.d.confs[self.rng.randrange(2)])

    def shadow(self):
        self.call("shadow/create", name="soak", network="staging", port="shadownet",
                  fraction="%d%%" % self.rng.choice((10, 50, 100)), proto="tcp")
        time.sleep(0.2)
        self.call("shadow/delete", name="soak")

    def fault(self):
        r = self.call("fault/add", kind="delay", stage="staging",
                      delay="%dus" % self.rng.randrange(10, 500), duration="1s")
        if self.rng.random() < 0.5 and r.get("ok"):
            self.call("fault/clear", id=r["result"]["id"], expect_ok=False)

    def chaos(self):
        self.call("chaos/start", name="slow-staging", expect_ok=False)
        if self.rng.random() < 0.5:
            time.sleep(0.3)
            self.call("chaos/stop", name="slow-staging", expect_ok=False)

    def release(self):
        """A release through the pipeline, then rolled back out of
        production again (each rollback undoes one transition: the
        rollout's steps and the approval), so the next one can start."""
        self.version += 1
        v = "v%d" % self.version
        steps = (("event/code_commit", dict(ref="r%d" % self.version)),
                 ("event/test_completion", dict(passed=True)),
                 ("event/manual_approval", dict(approver="soak")))
        for cmd, extra in steps:
            r = self.call(cmd, expect_ok=False, service="web", version=v, **extra)
            self.releases += 1 if cmd == "event/manual_approval" and r.get("ok") else 0
        time.sleep(self.rng.choice((0.1, 1.5)))
        for _ in range(6):
            if not self.call("event/rollback", expect_ok=False, service="web").get("ok"):
                break

    def quiet(self):
        """No leases, scenarios or profiles left: nothing holds mbufs."""
        self.call("fault/clear", all=True, expect_ok=False)
        self.call("shadow/delete", name="soak", expect_ok=False)
        time.sleep(1.5)


def mbufs_in_use(d):
    pools = d.call("stats")["result"]["mempools"]
    return sum(p["in_use"] for p in pools.values() if p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 2)))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", 1)))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="umbra-soak-")
    pcap = os.path.join(work, "flows.pcap")
    subprocess.run([sys.executable, os.path.join(SRC, "tests", "tools", "bench_traffic.py"),
                    pcap, "4000"], check=True)
    d = Daemon("soak", pcap=pcap, conf_text=CONF, state_dir=os.path.join(work, "state"))
    os.makedirs(d.state_dir, mode=0o700)
    deaths, problems = 0, []
    if not d.start():
        print("soak: umbra did not start; log in %s" % d.dir)
        print("soak_minutes=0 rss_growth_pct=0 rss_trend_pct_h=0 mbuf_leak=0 fd_growth=0 "
              "lost=0 deaths=1")
        return 1
    drv, ab = Driver(d, rng), Abuser(d.sock, rng)
    end = time.time() + a.minutes * 60
    warm = time.time() + min(20.0, a.minutes * 60 * 0.2)
    base = None
    rss_max = 0
    fd_max = 0
    # A row a minute; short runs (CI's 2 minutes) a row every tenth.
    mem = Memory(d, time.time(), 60.0 if a.minutes >= 10 else max(5.0, a.minutes * 6))
    actions = (drv.config, drv.shadow, drv.fault, drv.chaos, drv.release)
    while time.time() < end:
        if d.proc.poll() is not None:
            deaths += 1
            problems.append("umbra exited with %s" % d.proc.returncode)
            break
        try:
            rng.choice(actions)()
            for _ in range(rng.randrange(1, 30)):
                ab.once()
        except (OSError, ValueError, KeyError) as e:
            problems.append("management call failed: %r" % e)
        if base is None and time.time() >= warm:
            ab.close()
            drv.quiet()
            base = (proc_rss_kb(d.proc.pid), mbufs_in_use(d), settled_fds(d.proc.pid))
            mem.sample(row=True)
        elif base is not None:
            rss_max = max(rss_max, mem.sample())
            fd_max = max(fd_max, proc_fds(d.proc.pid))
    alive = d.proc.poll() is None
    rss_growth = mbuf_leak = fd_growth = lost = 0
    trend_pct_h = thirds_pct = 0.0
    trim = None
    if alive and base is not None:
        ab.close()
        drv.quiet()
        rss_end = mem.sample(row=True)
        rss_growth = 100.0 * (rss_end - base[0]) / base[0]
        trend_pct_h, thirds_pct = mem.trend(base[0])
        # Diagnosis only: what the heap gives back tells free-but-kept
        # (fragmentation) from memory still in use.
        trim = daemon_memory_trim(d)
        # One burst per port queue may sit in a driver between looks.
        mbuf_leak = max(0, mbufs_in_use(d) - base[1] - 64)
        fd_growth = settled_fds(d.proc.pid) - base[2]
    rc = d.stop() if alive else d.proc.returncode
    if alive and rc != 0:
        problems.append("umbra stopped with status %d" % rc)
    if alive:
        s = d.stats()
        sent = sum(p["tx_pkts"] + p["tx_dropped"] for n, p in s["ports"].items()
                   if n != "shadownet")
        lost = s["rx_pkts"] - sent - sum(s["drops"].values()) - s["faults"]["inflight"]
        if s["rx_pkts"] < 100000:
            problems.append("too little traffic: %d packets" % s["rx_pkts"])
    for f in drv.failed[:5]:
        problems.append("refused: %s %s: %s" % f)
    if len(drv.failed) > 5:
        problems.append("... %d refusals in all" % len(drv.failed))
    if base is None:
        problems.append("never reached the warm-up baseline")
    if drv.releases == 0:
        problems.append("no release was ever approved into production")
    # Growth judged twice: the end against the warmed-up baseline (a
    # step, or a leak in a short run), and, in runs long enough for the
    # bounded caches to have filled, the trend of the second half (a slow
    # leak that a baseline limit would only catch in a longer run).
    trend_judged = a.minutes >= TREND_MIN_MINUTES
    if alive and base is not None:
        if abs(rss_growth) > RSS_LIMIT_PCT:
            problems.append("rss grew %.2f %% (limit %g %%)" % (rss_growth, RSS_LIMIT_PCT))
        if trend_judged and trend_pct_h > TREND_LIMIT_PCT_H:
            problems.append("rss (less SQLite) still grows %.2f %%/h over the second half "
                            "(limit %g %%/h)" % (trend_pct_h, TREND_LIMIT_PCT_H))
        if mem.sqlite_kb() > Memory.SQLITE_MAX_KB:
            problems.append("SQLite holds %d kB (bound %d kB)" % (
                mem.sqlite_kb(), Memory.SQLITE_MAX_KB))
    ok = (not problems and mbuf_leak == 0 and fd_growth <= 0 and lost == 0 and deaths == 0)
    for p in problems:
        print("soak: " + p)
    print("soak: %d releases approved into production" % drv.releases)
    mem.print()
    print("soak: rss less SQLite over the second half %+.2f %%/h of the baseline%s, "
          "last third vs middle third %+.2f %%; rss after malloc_trim %s kB" % (
              trend_pct_h, "" if trend_judged else
              " (not judged under %g minutes)" % TREND_MIN_MINUTES,
              thirds_pct, trim if trim is not None else "-"))
    print("soak: %d operations, rss baseline %s kB, max %d kB, fds max %d; %s" % (
        drv.ops, base[0] if base else "-", rss_max, fd_max,
        "ok" if ok else "FAILED (log in %s)" % d.dir))
    d.cleanup(keep=not ok)
    print("soak_minutes=%g rss_growth_pct=%.2f rss_trend_pct_h=%.2f mbuf_leak=%d "
          "fd_growth=%d lost=%d deaths=%d" % (
              a.minutes, rss_growth, trend_pct_h, mbuf_leak, fd_growth, lost, deaths))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
