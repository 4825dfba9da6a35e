"""Shared helpers of the data-plane benchmarks (dataplane.py, faults.py,
shadow.py).

net_pcap (infinite_rx) replay of a capture into net_null, one forwarding
core: dpdk-testpmd in a given forwarding mode, and umbra with one worker
whose rate comes from its periodic counter lines.
"""
import atexit
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UMBRA = os.path.join(ROOT, "build", "app", "umbra", "umbra")
DATAROOM = 256  # mbuf data room: 128 headroom + a 64-byte frame, so 1M fit
# DPDK --file-prefix of the runs (UMBRA_BENCH_TAG: keep concurrent users apart)
TAG = os.environ.get("UMBRA_BENCH_TAG", "bench")


def tsc_mhz():
    """TSC rate for cycles per packet (constant_tsc: what /proc/cpuinfo reports)."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    return 0.0


def fwd_cpu_s(pid, names=("lcore-worker", "rte-worker")):
    """CPU seconds the forwarding threads of @p pid (those whose name starts
    with one of @p names: DPDK's lcore threads, OVS's "pmd") have run, from
    the scheduler's own accounting. Packets over this is the rate the
    forwarder had per CPU-second it got: on a shared machine, where busy
    pollers are preempted, it stays comparable; on a quiet one it equals
    the wall-clock rate."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if not f.read().startswith(names):
                    continue
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def median(xs):
    """The median of @p xs (nan when empty)."""
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2 if n else float("nan")


def median_interval(xs, conf=0.95):
    """The median of @p xs, one figure per round, with a distribution-free
    interval for it: the k-th lowest and k-th highest figures, k the
    largest whose coverage (1 - 2 P(Binomial(n, 1/2) < k)) is at least
    @p conf (with few rounds none is: then k = 1, the lowest and highest,
    at the coverage they give). Rounds on a shared host spread by a tenth
    and more, so a goal a few points wide needs the interval, not a best
    round. @return (median, low, high, coverage)."""
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0.0

    def coverage(k):
        tail = sum(math.comb(n, i) for i in range(k)) / 2.0 ** n
        return 1 - 2 * tail

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= conf:
        k += 1
    return median(xs), xs[k - 1], xs[n - k], coverage(k)


def interval_text(name, xs, digits=3):
    """One line: @p name's median over the rounds and its interval."""
    m, lo, hi, cov = median_interval(xs)
    f = "%%.%df" % digits
    return ("%s over %d rounds: median " + f + ", interval of the median [" + f + ", " + f
            + "] (%.0f%% coverage)") % (name, len(xs), m, lo, hi, 100 * cov)


def eal_mem_mb(mb):
    """EAL memory arguments for @p mb MB: hugepages when that much is free,
    else --no-huge (deploy/eal-mem.sh)."""
    return subprocess.run([os.path.join(ROOT, "deploy", "eal-mem.sh"), str(mb)],
                          capture_output=True, text=True, check=True).stdout.split()


def eal_mem():
    return eal_mem_mb(1024)


def make_capture(path, flows):
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "tools", "bench_traffic.py"),
                    path, str(flows)], check=True)


def gen_vdev(name, pcap, queues=1):
    """The replay port: net_pcap gives one RX queue per rx_pcap argument,
    each replaying the whole capture."""
    return "%s,%s,infinite_rx=1" % (name, ",".join(["rx_pcap=" + pcap] * queues))


def devices(pcap, prefix, queues=1):
    return ["--vdev", gen_vdev("net_pcap_%s0" % prefix, pcap, queues),
            "--vdev", "net_null_%s1,no-rx=1" % prefix]


def lcores(n, cpus=None):
    """EAL --lcores for @p n lcores (the main one, then forwarding ones)
    on @p cpus (default: CPUs 0 and 1); with fewer CPUs than lcores, they
    wrap around (lcore i on cpus[i % len(cpus)]), so they share CPUs."""
    cpus = list(cpus or [0, 1])
    return ["--lcores", ",".join("%d@%d" % (i, cpus[i % len(cpus)]) for i in range(n))]


def run_testpmd(mode, pcap, flows, seconds, warmup=2.0, cpus=None, cpu_rate=None):
    """testpmd interactive: start, read port stats twice, the second read
    gives the packet rate over the measured interval (Mpps). With a list
    @p cpu_rate, the Mpps per CPU-second of its forwarding lcore over about
    the same interval is appended to it (see fwd_cpu_s())."""
    tag = "%s-tp-%s-%d" % (TAG, mode, os.getpid())
    cmd = (["dpdk-testpmd"] + lcores(2, cpus) + ["--no-pci", "--file-prefix", tag] + eal_mem()
           + devices(pcap, "tp" + mode) + ["--", "-i", "--forward-mode=" + mode,
           "--nb-cores=1", "--burst=32", "--no-flush-rx", "--rxq=1", "--txq=1",
           "--mbuf-size=%d" % DATAROOM, "--total-num-mbufs=%d" % (flows + 32768)])
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        p.stdin.write("start\n")
        p.stdin.flush()
        time.sleep(warmup)
        cpu0 = fwd_cpu_s(p.pid)
        p.stdin.write("show port stats 1\n")
        p.stdin.flush()
        time.sleep(seconds)
        cpu1 = fwd_cpu_s(p.pid)
        p.stdin.write("show port stats 1\nstop\nquit\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree("/var/run/dpdk/" + tag, ignore_errors=True)
    rates = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", out)]
    if len(rates) < 2:
        sys.exit("testpmd %s gave no rate:\n%s" % (mode, out[-3000:]))
    if cpu_rate is not None:  # packets per CPU-second of the forwarding lcore
        # the two "show port stats" come first ("stop" prints more)
        tx = [int(x) for x in re.findall(r"TX-packets:\s+(\d+)", out)]
        cpu_rate.append((tx[1] - tx[0]) / max(1e-9, cpu1 - cpu0) / 1e6
                        if len(tx) >= 2 else 0.0)
    return rates[-1] / 1e6


def umbra_conf(path, pcap, flows, prefix, mbufs=None, extra="", extra_ports="", queues=1):
    """The benchmark's configuration; @p extra (YAML) is appended, @p
    extra_ports (YAML items of ports:, each line indented by two spaces) are
    added after gen and sink; @p queues: RX queues of gen (one per worker)."""
    with open(path, "w") as f:
        f.write("""ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{p}1,no-rx=1" }}
""".format(p=prefix, gen=gen_vdev("net_pcap_%s0" % prefix, pcap, queues))
                + extra_ports + """stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: dev
    egress: {{ port: sink, vlan: 10 }}
    match: [ {{ src: 192.168.0.0/16 }} ]
flow_table: {{ size: {size} }}
mempool: {{ mbufs: {mbufs}, data_room: {room} }}
""".format(size=max(65536, int(flows * 1.25)),
           mbufs=mbufs or flows * queues + 32768, room=DATAROOM) + extra)


def run_umbra(pcap, flows, seconds, warmup=2.0, umbra=None, extra_conf="", mbufs=None,
              extra_ports="", commands=(), workers=1, cpus=None):
    """umbra with @p workers workers (default one; lcores on @p cpus, see
    lcores(), each worker with its own RX queue of the replay port);
    the rate comes from two periodic counter lines.
    @p extra_conf, @p extra_ports and @p mbufs go to umbra_conf(); the
    result's "snaps" are the counter lines read, "first" and "last" the two
    the rate comes from, "final" the --stats-json umbra wrote when it stopped
    (with "shadows"; None if it wrote none). @p commands (socket requests:
    (cmd, args) pairs) are sent once umbra runs, before the warm-up ends."""
    tmp = tempfile.mkdtemp(prefix="umbra-bench-")
    conf = os.path.join(tmp, "bench.yaml")
    tag = "%s-umbra-%d-%d" % (TAG, flows, os.getpid())
    umbra_conf(conf, pcap, flows, "u%d" % flows, mbufs, extra_conf, extra_ports, workers)
    cmd = ([umbra or UMBRA] + lcores(workers + 1, cpus) + ["--no-pci", "--file-prefix", tag]
           + eal_mem()
           + ["--log-level=lib.eal:warning", "--", "-c", conf, "--socket",
              os.path.join(tmp, "umbra.sock") if commands else "none",
              "--stats-interval", "1",
              "--stats-json", os.path.join(tmp, "final.json")])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    snaps = []
    deadline = time.time() + warmup + seconds + 30
    try:
        for line in p.stdout:
            if line.startswith("{"):
                snaps.append(json.loads(line))
                snaps[-1]["_cpu_s"] = fwd_cpu_s(p.pid)
                if len(snaps) == 1 and commands:
                    send_commands(os.path.join(tmp, "umbra.sock"), commands)
                if len(snaps) >= int(warmup + seconds) + 1:
                    break
            elif "umbra:" in line and "workers" not in line:
                print(line, end="")
            if time.time() > deadline:
                break
    finally:
        p.terminate()
        p.wait(timeout=30)
        shutil.rmtree("/var/run/dpdk/" + tag, ignore_errors=True)
    if len(snaps) < 3:
        sys.exit("umbra gave too few counter lines (%d)" % len(snaps))
    a, b = snaps[int(warmup) - 1], snaps[-1]
    dt = b["time_s"] - a["time_s"]
    tx = b["ports"]["sink"]["tx_pkts"] - a["ports"]["sink"]["tx_pkts"]
    wa, wb = a["workers"][0], b["workers"][0]
    pkts = max(1, wb["pkts"] - wa["pkts"])
    cycles = {k: (wb["cycles"][k] - wa["cycles"][k]) / pkts for k in wb["cycles"]}
    ft = wb["flow_table"]
    final = None
    try:
        with open(os.path.join(tmp, "final.json")) as f:
            final = json.load(f)
    except (OSError, ValueError):
        pass
    cpu = b["_cpu_s"] - a["_cpu_s"]
    return {"mpps": tx / dt / 1e6, "cpu_mpps": tx / cpu / 1e6 if cpu > 0 else 0.0,
            "cycles": cycles, "active_flows": ft["active"],
            "flow_mem": ft["memory_bytes"], "table_full": ft["table_full"], "last": b,
            "snaps": snaps, "first": a, "final": final}


def send_commands(sock_path, commands):
    """Send (cmd, args) requests on umbra's socket; exit on a refusal."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock_path)
    f = s.makefile("rw")
    for cmd, args in commands:
        f.write(json.dumps({"id": 1, "cmd": cmd, "args": args}) + "\n")
        f.flush()
        r = json.loads(f.readline())
        if not r.get("ok"):
            sys.exit("umbra refused %s: %s" % (cmd, r.get("error")))
    s.close()


def stop_process(p, timeout=30):
    """Stop @p p (a Popen we started): SIGTERM, then SIGKILL after
    @p timeout seconds; nothing if it has already exited."""
    if p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Cleanup:
    """What a benchmark run made (processes, namespaces, veths, DPDK files,
    a temporary directory), undone at exit whatever happens."""

    def __init__(self, name):
        self.procs, self.netns, self.links, self.prefixes = [], [], [], []
        self.tmp = tempfile.mkdtemp(prefix="umbra-bench-%s-" % name)
        # benchlib's runs make their temporary directories in ours
        tempfile.tempdir = self.tmp
        atexit.register(self.run)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, lambda *_: sys.exit(130))

    def stop(self):
        """Processes, namespace, veth and DPDK files (the directory stays)."""
        for p in self.procs:            # only what we started, by PID
            stop_process(p, 20)
        self.procs = []
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], stderr=subprocess.DEVNULL)
        self.netns, self.links = [], []
        for pre in self.prefixes:
            shutil.rmtree("/var/run/dpdk/" + pre, ignore_errors=True)
            if os.path.isdir("/dev/hugepages"):
                for f in os.listdir("/dev/hugepages"):
                    if f.startswith(pre + "map_"):
                        os.unlink(os.path.join("/dev/hugepages", f))

    def run(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
