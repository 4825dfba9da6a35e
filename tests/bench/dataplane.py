#!/usr/bin/env python3
"""Data-plane benchmark: umbra against dpdk-testpmd, DPDK's l3fwd and Open
vSwitch with DPDK on the same virtual devices.

One run, same machine, same devices: a net_pcap port replaying (infinite_rx)
a capture of 60-byte frames over N flows into a net_null sink (no-rx), one
forwarding core each. At each flow count (--flows, then --big-flows) the
forwarders take turns for --rounds rounds, each keeping its best round:
testpmd io, testpmd 5tswap, DPDK's l3fwd in exact-match mode (an rte_hash
lookup per packet; tests/bench/l3fwd.py builds it from Debian's dpdk-doc),
umbra (1 worker), OVS-DPDK stateless (one in_port -> output rule) and
OVS-DPDK with conntrack (every IP packet through ct(commit)). Then umbra
with --workers workers (scaling), and, with --baseline, another umbra
binary interleaved with this one (A/B).

Never a pass/fail test: figures are noisy on shared machines; compare only
within one run. Each forwarder is given two figures: Mpps (wall clock) and
Mpps per CPU-second of its forwarding threads (the scheduler's own count of
the time they ran). On a quiet machine the two agree; on a shared one, where
busy pollers are preempted, the second stays comparable and the first
measures the machine's load. Usage (root, repository root, after a build):
    tests/bench/dataplane.py [--seconds 5] [--rounds 3] [--flows 100000]
        [--big-flows 1000000] [--workers 2] [--cpus 0-1] [--no-ovs]
        [--umbra BIN] [--baseline BIN[,BIN...]] [--median]
        [--skip testpmd,l3fwd,ovs,scaling,big]

Bigger machines: --cpus names the CPUs to use (default: all this process
may run on); the main lcore goes on the first, forwarding lcores on the next
ones, wrapping around when there are fewer CPUs than lcores. --workers N
measures umbra with N workers, each on its own RX queue (net_pcap gives a
queue per replayed copy of the capture, so every worker sees every flow and
keeps its own table). On a 16-core machine:
    tests/bench/dataplane.py --cpus 2-15 --workers 8

OVS-DPDK (Debian's openvswitch-switch-dpdk, installed with apt-get if
missing; --no-ovs skips it) runs with a private database and run directory
under the run's temporary directory, its PMD thread on the CPU the other
forwarders use, and is stopped by PID after each turn. net_pcap's
infinite_rx keeps the whole capture in mbufs of the port's pool, and OVS's
shared pool holds at most 262144: its replay port gets a pool of its own
(per-port-memory, options:n_rxq sized so that the pool holds the capture,
mtu_request=68 so that its buffers are 1 KiB rather than 2 KiB: OVS sizes
them from the MTU asked for even where net_pcap cannot set one) and the
memory that pool needs: hugepages when that much is free, else
--no-huge, which is slower (4 KiB pages), and said so in the output. Its
rate comes from the datapath's own port counters (dpctl/show -s): the database's
statistics are refreshed only every 5 s. Where it does not come up or
forwards nothing, it is reported as not run, with the reason.

Last line (key=value; ratio_X: umbra / X; _cpu: per CPU-second; _1m: at
--big-flows; Nw: --workers):
    umbra_mpps testpmd_io_mpps testpmd_5tswap_mpps ratio_5tswap cycles_per_pkt
    umbra_cpu_mpps testpmd_5tswap_cpu_mpps l3fwd_mpps ovs_mpps ovs_ct_mpps
    ratio_5tswap_cpu ratio_l3fwd ratio_l3fwd_cpu ratio_ovs ratio_ovs_cpu
    ratio_ovs_ct ratio_ovs_ct_cpu
    umbra_1m_mpps testpmd_5tswap_1m_mpps l3fwd_1m_mpps ovs_1m_mpps
    ovs_ct_1m_mpps ratio_5tswap_1m ratio_5tswap_1m_cpu ratio_l3fwd_1m
    umbra_Nw_mpps scaling_Nw scaling_Nw_cpu
    [baseline_mpps baseline_cpu_mpps ratio_baseline ratio_baseline_cpu]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Shared with faults.py (apply.py uses UMBRA, eal_mem and make_capture from here).
import l3fwd as l3fwd_peer  # noqa: E402
from benchlib import (UMBRA, eal_mem, fwd_cpu_s, gen_vdev,  # noqa: E402,F401
                      make_capture, run_testpmd, run_umbra)

OVS_PKG = "openvswitch-switch-dpdk"
OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
# The conntrack pipeline: IP packets are tracked, then committed and sent.
OVS_CT_FLOWS = ["table=0,priority=10,ip,in_port=gen,actions=ct(table=1)",
                "table=0,priority=0,in_port=gen,actions=output:sink",
                "table=1,ip,actions=ct(commit),output:sink"]
OVS_FLOWS = ["in_port=gen,actions=output:sink"]
# OVS's largest rx descriptor ring; its per-port pool is n_rxq * this + 16384 + ...
OVS_RXQ_DESC = 4096
# The replay port asks for OVS's smallest MTU (68): OVS sizes its pool's
# buffers from the MTU asked for, even where the device (net_pcap) cannot
# set one, so 1M frames fit hugepages as umbra's and testpmd's do.
OVS_MTU = 68
# Bytes per mbuf of that pool: 1152 data room (OVS rounds the frame up to
# 1 KiB, plus headroom), the mbuf and dp_packet, the mempool's header.
OVS_MBUF_BYTES = 1600


def cpu_list(spec):
    """'0-3,6' -> [0, 1, 2, 3, 6]."""
    out = []
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def ovs_prefix():
    """OVS's DPDK file prefix in this run."""
    return "h2a-bench-ovs-%d" % os.getpid()


def ovs_available():
    """OVS-DPDK's switch binary, installed with apt-get when missing."""
    if not os.access(OVS_VSWITCHD, os.X_OK):
        print("installing %s (apt-get)" % OVS_PKG, flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", OVS_PKG],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.access(OVS_VSWITCHD, os.X_OK)


def ovs_mem(flows):
    """(EAL memory arguments, MB) for OVS replaying @p flows frames: its
    replay pool plus 256 MB for the rest (the sink's pool, its tables)."""
    mb = max(1024, flows * OVS_MBUF_BYTES // 2**20 + 256)
    out = subprocess.run([os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "deploy", "eal-mem.sh"), str(mb)],
        capture_output=True, text=True, check=True).stdout.split()
    # OVS adds --in-memory unless told --legacy-mem, which --no-huge implies
    # (EAL refuses the two together).
    return out + (["--legacy-mem"] if "--no-huge" in out else []), mb


class Ovs:
    """One OVS-DPDK instance of its own: database, run and log directories
    in @p d, its DPDK file prefix, the two benchmark ports on a netdev
    bridge, the replay port's pool sized for its @p flows frames.
    Everything it starts is stopped by PID in stop()."""

    def __init__(self, d, pcap, cpus, flows):
        self.d, self.pids = d, []
        os.makedirs(d, exist_ok=True)
        self.env = dict(os.environ, OVS_RUNDIR=d, OVS_DBDIR=d, OVS_LOGDIR=d,
                        OVS_SYSCONFDIR=d, OVS_PKGDATADIR="/usr/share/openvswitch")
        self.db = "unix:%s/db.sock" % d
        self.ctl = os.path.join(d, "vswitchd.ctl")
        conf = os.path.join(d, "conf.db")
        prefix = self.prefix = ovs_prefix()
        self.sh(["ovsdb-tool", "create", conf, OVS_SCHEMA])
        self.sh(["ovsdb-server", "--remote=punix:%s/db.sock" % d,
                 "--pidfile=%s/ovsdb.pid" % d, "--unixctl=%s/ovsdb.ctl" % d,
                 "--log-file=%s/ovsdb.log" % d, "--detach", conf])
        self.pids.append(self.pid("ovsdb.pid"))
        self.vsctl("--no-wait", "init")
        mem, self.mem_mb = ovs_mem(flows)
        self.hugepages = "--no-huge" not in mem
        mem = " ".join(mem)
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true", "other_config:per-port-memory=true",
                   "other_config:dpdk-lcore-mask=0x%x" % (1 << cpus[0]),
                   "other_config:pmd-cpu-mask=0x%x" % (1 << cpus[1 % len(cpus)]),
                   'other_config:dpdk-extra="--no-pci --file-prefix %s %s"' % (prefix, mem))
        self.sh([OVS_VSWITCHD, self.db, "--pidfile=%s/vswitchd.pid" % d,
                 "--unixctl=%s" % self.ctl, "--log-file=%s/vswitchd.log" % d, "--detach"],
                timeout=120)
        self.pids.append(self.pid("vswitchd.pid"))
        self.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev")
        # The replay holds every frame in the pool: room for them and the
        # bursts in flight (the device has one queue; the pool follows n_rxq).
        n_rxq = (flows + 8192 + OVS_RXQ_DESC - 1) // OVS_RXQ_DESC
        self.add_port("gen", 300, "options:dpdk-devargs=" + gen_vdev("net_pcap_ovs0", pcap),
                      "options:n_rxq=%d" % n_rxq, "options:n_rxq_desc=%d" % OVS_RXQ_DESC,
                      "mtu_request=%d" % OVS_MTU,
                      "ofport_request=1")
        self.add_port("sink", 60, "options:dpdk-devargs=net_null_ovs1,no-rx=1",
                      "ofport_request=2")

    def add_port(self, name, timeout, *settings):
        """A dpdk port on br0, waited for here: ovs-vsctl itself would wait
        out its whole timeout for a port that failed (what the 1M-frame
        replay did when its pool was too small); the port's error column
        says why at once."""
        self.vsctl("--no-wait", "add-port", "br0", name, "--", "set", "Interface", name,
                   "type=dpdk", *settings)
        deadline = time.time() + timeout
        while True:
            err = self.vsctl("get", "Interface", name, "error").strip()
            if err not in ("", "[]"):
                raise RuntimeError("port %s: %s (%s)" % (name, err, self.log_errors()))
            ofport = self.vsctl("get", "Interface", name, "ofport").strip()
            if ofport.lstrip("-").isdigit() and int(ofport) > 0:
                return
            if ofport == "-1" or time.time() > deadline:
                raise RuntimeError("port %s did not come up (ofport %s; its log: %s)"
                                   % (name, ofport, self.log_errors()))
            time.sleep(0.5)

    def log_errors(self):
        """The last ERR line of ovs-vswitchd's log, or ''."""
        try:
            with open(os.path.join(self.d, "vswitchd.log")) as f:
                errs = [line for line in f if "|ERR|" in line]
        except OSError:
            return ""
        return errs[-1].split("|ERR|")[-1].strip()[:200] if errs else ""

    def sh(self, cmd, timeout=60):
        r = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(cmd[:3]), (r.stderr or r.stdout)[-500:]))
        return r.stdout

    def pid(self, name):
        with open(os.path.join(self.d, name)) as f:
            return int(f.read().strip())

    def vsctl(self, *a, timeout=60):
        return self.sh(["ovs-vsctl", "--db=" + self.db, "--timeout=%d" % timeout] + list(a),
                       timeout=timeout + 30)

    def flows(self, flows):
        self.sh(["ovs-ofctl", "del-flows", "br0"])
        for f in flows:
            self.sh(["ovs-ofctl", "add-flow", "br0", f])

    def tx(self):
        """Packets sent on sink, from the datapath now (the database's
        statistics lag by up to 5 s)."""
        out = self.sh(["ovs-appctl", "-t", self.ctl, "dpctl/show", "-s"])
        m = re.search(r"port \d+: sink\b[^\n]*\n(?:\s+[^\n]*\n)*?\s+TX packets:(\d+)", out)
        if not m:
            raise RuntimeError("no sink counters in dpctl/show -s: %s" % out[-300:])
        return int(m.group(1))

    def rate(self, warmup, seconds):
        """(Mpps, Mpps per CPU-second of the PMD thread) through sink over
        @p seconds after @p warmup."""
        time.sleep(warmup)
        a, ta, ca = self.tx(), time.time(), fwd_cpu_s(self.pids[-1], ("pmd",))
        time.sleep(seconds)
        b, tb, cb = self.tx(), time.time(), fwd_cpu_s(self.pids[-1], ("pmd",))
        return (b - a) / (tb - ta) / 1e6, (b - a) / max(1e-9, cb - ca) / 1e6

    def conns(self):
        try:
            out = self.sh(["ovs-appctl", "-t", self.ctl, "dpctl/ct-get-nconns"])
            return int(out.split()[0])
        except (RuntimeError, ValueError, IndexError):
            return -1

    def stop(self):
        for pid in reversed(self.pids):  # only what we started, by PID
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, 9)
        self.pids = []
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        if os.path.isdir("/dev/hugepages"):
            for f in os.listdir("/dev/hugepages"):
                if f.startswith(self.prefix + "map_"):
                    os.unlink(os.path.join("/dev/hugepages", f))


def run_ovs(tmp, pcap, seconds, cpus, flows, warmup=2.0):
    """OVS-DPDK stateless then with conntrack, one instance: ((Mpps, CPU
    Mpps), (Mpps, CPU Mpps), (conntrack entries, memory note)), or (None,
    None, reason) when it cannot run."""
    d = tempfile.mkdtemp(prefix="h2a-ovs-", dir=tmp)
    o = None
    try:
        o = Ovs(d, pcap, cpus, flows)
        o.flows(OVS_FLOWS)
        plain = o.rate(warmup, seconds)
        if plain[0] == 0:
            raise RuntimeError("it forwarded nothing (sink tx_packets did not move)")
        o.flows(OVS_CT_FLOWS)
        ct = o.rate(warmup, seconds)
        return plain, ct, (o.conns(), "%s, %d MB" % (
            "hugepages" if o.hugepages else "no hugepages (not enough free)", o.mem_mb))
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        return None, None, str(e).splitlines()[0][:200] if str(e) else repr(e)
    finally:
        if o is not None:
            o.stop()
        else:  # a partial start: whatever left a pidfile, and its DPDK files
            for name in ("vswitchd.pid", "ovsdb.pid"):
                try:
                    with open(os.path.join(d, name)) as f:
                        os.kill(int(f.read().strip()), 9)
                except (OSError, ValueError):
                    pass
            shutil.rmtree("/var/run/dpdk/" + ovs_prefix(), ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)


def fmt(v):
    return "%.2f" % v if v else "n/a"


def ratio(a, b):
    return a / b if a and b else 0.0


def bench_flows(args, tmp, flows, cpus, ovs, with_testpmd, extra_umbra, l3fwd=None):
    """All forwarders at one flow count, --rounds rounds, best of each:
    ({name: Mpps}, {name: Mpps per CPU-second}, umbra's best run, notes:
    OVS's and l3fwd's, newline-separated). @p l3fwd: its binary, or None."""
    pcap = os.path.join(tmp, "flows-%d.pcap" % flows)
    make_capture(pcap, flows)
    runs, runsc = {}, {}
    ovs_note = l3fwd_note = None
    umbra = None

    def keep(name, v, c):
        if v is not None:
            runs.setdefault(name, []).append(v)
        if c is not None:
            runsc.setdefault(name, []).append(c)

    def testpmd(name, mode):
        c = []
        keep(name, run_testpmd(mode, pcap, flows, args.seconds, cpus=cpus, cpu_rate=c), c[0])

    for _ in range(args.rounds):
        if with_testpmd:
            testpmd("testpmd io", "io")
            testpmd("testpmd 5tswap", "5tswap")
        if l3fwd:
            try:
                keep("l3fwd em", *l3fwd_peer.run(l3fwd, pcap, flows, args.seconds, tmp,
                                                  cpus=cpus))
            except (RuntimeError, OSError) as e:
                l3fwd_note = "dpdk-l3fwd did not run: %s" % str(e).splitlines()[0][:200]
        u = run_umbra(pcap, flows, args.seconds, umbra=args.umbra, cpus=cpus)
        if umbra is None or u["mpps"] > umbra["mpps"]:
            umbra = u
        keep("umbra", u["mpps"], u["cpu_mpps"])
        for name, binary in extra_umbra:
            r = run_umbra(pcap, flows, args.seconds, umbra=binary, cpus=cpus)
            keep(name, r["mpps"], r["cpu_mpps"])
        if ovs:
            plain, ct, note = run_ovs(tmp, pcap, args.seconds, cpus, flows)
            if plain is None:
                ovs_note = "OVS-DPDK did not run: %s" % note
            else:
                keep("ovs", *plain)
                keep("ovs ct", *ct)
                ovs_note = ("OVS-DPDK conntrack entries after its run: %d; its memory: %s"
                            % note)
    os.unlink(pcap)
    pick = statistics.median if args.median else max
    return ({k: pick(v) for k, v in runs.items()}, {k: pick(v) for k, v in runsc.items()},
            umbra, "\n".join(n for n in (l3fwd_note, ovs_note) if n))


def table(flows, best, bestc, args, rows):
    print("\n%d flows, 60-byte frames, net_pcap(infinite_rx) -> net_null, 1 core, "
          "%s of %d rounds" % (flows, "median" if args.median else "best", args.rounds))
    print("| forwarder | Mpps | umbra / it | Mpps per CPU-second | umbra / it |")
    print("|---|---|---|---|---|")
    u, uc = best.get("umbra", 0.0), bestc.get("umbra", 0.0)
    for key, label in rows:
        if key in best or key.startswith(("ovs", "l3fwd")):  # n/a: did not run
            v, c = best.get(key), bestc.get(key)
            print("| %s | %s | %s | %s | %s |" % (label, fmt(v), fmt(ratio(u, v)),
                                                fmt(c), fmt(ratio(uc, c))))


ROWS = [("testpmd io", "dpdk-testpmd io"), ("testpmd 5tswap", "dpdk-testpmd 5tswap"),
        ("l3fwd em", "dpdk-l3fwd -E (rte_hash exact match per packet)"),
        ("ovs", "OVS-DPDK, one in_port -> output rule"),
        ("ovs ct", "OVS-DPDK, ct(commit) on every IP packet"),
        ("baseline", "umbra baseline (--baseline)"), ("umbra", "umbra (1 worker)")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--big-flows", type=int, default=1000000)
    ap.add_argument("--workers", type=int, default=2,
                    help="umbra workers for the scaling figure (0: none)")
    ap.add_argument("--cpus", default=None,
                    help="CPUs to run on, e.g. 0-7 (default: this process's affinity)")
    ap.add_argument("--umbra", default=UMBRA, help="umbra binary")
    ap.add_argument("--baseline", default=None,
                    help="other umbra binaries (comma list), interleaved with --umbra (A/B)")
    ap.add_argument("--no-ovs", action="store_true", help="skip OVS-DPDK")
    ap.add_argument("--median", action="store_true",
                    help="report each forwarder's median round, not its best (A/B)")
    ap.add_argument("--skip", default="",
                    help="comma list of testpmd,l3fwd,ovs,scaling,big")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if args.no_ovs:
        skip.add("ovs")
    if not os.access(args.umbra, os.X_OK):
        sys.exit("build umbra first (deploy/setup.sh)")
    cpus = cpu_list(args.cpus) if args.cpus else sorted(os.sched_getaffinity(0))
    ovs = "ovs" not in skip and ovs_available()
    tmp = tempfile.mkdtemp(prefix="umbra-bench-")
    l3fwd = None
    if "l3fwd" not in skip:
        l3fwd, why = l3fwd_peer.build(tmp)
        if why:
            print("dpdk-l3fwd is left out: %s" % why, flush=True)
    # --baseline A[,B...]: "baseline", "baseline 2", ...
    extra = [("baseline" + (" %d" % (i + 1) if i else ""), b)
             for i, b in enumerate(args.baseline.split(","))] if args.baseline else []
    res = {}
    rows = [r for r in ROWS if (ovs or not r[0].startswith("ovs"))
            and (l3fwd or not r[0].startswith("l3fwd"))]
    rows = rows[:-1] + [(n, "umbra %s" % n) for n, _ in extra[1:]] + rows[-1:]

    def ratios(suffix, best, bestc):
        """umbra / each peer, wall-clock and per CPU-second (_cpu)."""
        for key, name in (("testpmd 5tswap", "5tswap"), ("l3fwd em", "l3fwd"), ("ovs", "ovs"),
                          ("ovs ct", "ovs_ct"), ("baseline", "baseline")):
            if key in best:
                res["ratio_%s%s" % (name, suffix)] = ratio(best["umbra"], best[key])
                res["ratio_%s%s_cpu" % (name, suffix)] = ratio(bestc.get("umbra"),
                                                               bestc.get(key))

    try:
        best, bestc, u, note = bench_flows(args, tmp, args.flows, cpus, ovs,
                                           "testpmd" not in skip, extra, l3fwd)
        table(args.flows, best, bestc, args, rows)
        if note:
            print(note)
        print("\numbra cycles per packet by pipeline stage (steady state; TSC, so on a "
              "shared machine they include time preempted)")
        print("| stage | cycles/pkt |")
        print("|---|---|")
        for k, v in u["cycles"].items():
            print("| %s | %.1f |" % (k, v))
        res.update(umbra_mpps=best["umbra"], testpmd_io_mpps=best.get("testpmd io", 0),
                   testpmd_5tswap_mpps=best.get("testpmd 5tswap", 0))
        if l3fwd:
            res.update(l3fwd_mpps=best.get("l3fwd em", 0))
        cyc = u["cycles"]["total"]
        res.update(umbra_cpu_mpps=bestc.get("umbra", 0),
                   testpmd_5tswap_cpu_mpps=bestc.get("testpmd 5tswap", 0))
        if ovs:
            res.update(ovs_mpps=best.get("ovs", 0), ovs_ct_mpps=best.get("ovs ct", 0))
        if args.baseline:
            res.update(baseline_mpps=best.get("baseline", 0),
                       baseline_cpu_mpps=bestc.get("baseline", 0))
        ratios("", best, bestc)

        if args.big_flows and "big" not in skip:
            bb, bbc, ub, note = bench_flows(args, tmp, args.big_flows, cpus, ovs,
                                            "testpmd" not in skip, extra, l3fwd)
            table(args.big_flows, bb, bbc, args, rows)
            if note:
                print(note)
            print("at %d flows: umbra %d active flows, table full %d times, "
                  "flow table %.1f MiB (%.0f bytes per flow slot incl. hash)"
                  % (args.big_flows, ub["active_flows"], ub["table_full"],
                     ub["flow_mem"] / 2**20,
                     ub["flow_mem"] / max(1, int(args.big_flows * 1.25))))
            res.update(umbra_1m_mpps=bb["umbra"],
                       testpmd_5tswap_1m_mpps=bb.get("testpmd 5tswap", 0))
            if l3fwd:
                res.update(l3fwd_1m_mpps=bb.get("l3fwd em", 0))
            if ovs:
                res.update(ovs_1m_mpps=bb.get("ovs", 0), ovs_ct_1m_mpps=bb.get("ovs ct", 0))
            ratios("_1m", bb, bbc)

        if args.workers > 1 and "scaling" not in skip:
            pcap = os.path.join(tmp, "flows-%d.pcap" % args.flows)
            make_capture(pcap, args.flows)
            w = wc = 0.0
            for _ in range(args.rounds):
                r = run_umbra(pcap, args.flows, args.seconds, umbra=args.umbra,
                              workers=args.workers, cpus=cpus)
                w, wc = max(w, r["mpps"]), max(wc, r["cpu_mpps"])
            os.unlink(pcap)
            how = ("" if args.workers < len(cpus) else
                   ", the main lcore sharing a CPU with a worker"
                   if args.workers == len(cpus) else
                   ", workers sharing CPUs: this measures sharing, not scaling")
            print("\nscaling: umbra with %d workers (%d RX queues, every worker replays all "
                  "%d flows) on %d CPUs%s: %.2f Mpps, %.2fx one worker; per CPU-second "
                  "of its workers %.2f Mpps, %.2fx one worker's"
                  % (args.workers, args.workers, args.flows, len(cpus), how, w,
                     ratio(w, best["umbra"]), wc, ratio(wc, bestc.get("umbra"))))
            res["umbra_%dw_mpps" % args.workers] = w
            res["scaling_%dw" % args.workers] = ratio(w, best["umbra"])
            res["scaling_%dw_cpu" % args.workers] = ratio(wc, bestc.get("umbra"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keys = ["umbra_mpps", "testpmd_io_mpps", "testpmd_5tswap_mpps", "ratio_5tswap"]
    line = " ".join("%s=%.2f" % (k, res.get(k, 0.0)) for k in keys)
    line += " cycles_per_pkt=%.1f" % cyc
    line += "".join(" %s=%.2f" % (k, v) for k, v in res.items() if k not in keys)
    print(line)


if __name__ == "__main__":
    main()
