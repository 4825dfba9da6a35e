#!/usr/bin/python3
"""Lab bench over vhost-user, the way a lab drives umbra with testpmd-style
generators (deploy/README.md, "Lab bench").

  generator                 forwarder                      counter
  dpdk-testpmd txonly  -->  vhost-user  umbra  vhost-user  -->  dpdk-testpmd rxonly
  or flowgen (N flows)      (gen)              (sink)
  on net_virtio_user                                            on net_virtio_user

The forwarder is umbra (one worker, everything to its sink port), then
dpdk-testpmd --forward-mode=io on the same two vhost-user sockets, in the
same run; frames of 64, 512 and 1500 bytes (testpmd --txpkts). The rate is
what the counter receives (its Rx-pps over the measured interval), one
direction; "offered" is what the generator sent over its whole run.
Last line: vhost_umbra_mpps= vhost_testpmd_io_mpps= vhost_ratio= (txonly,
64 bytes).

Environment: SECONDS_PER_CASE (default 4), WARMUP (2), FLOWS (flowgen,
1024), SIZES ("64,512,1500"), CPUS="F,G,C" (the forwarding, generator and
counter CPUs; default: each its own CPU when the machine has 4, else the
forwarder on CPU 1 and generator and counter sharing CPU 0). Main lcores
share CPU 0. Run as root from anywhere: /usr/bin/python3 tests/bench/vhost.py
"""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

SECONDS = float(os.environ.get("SECONDS_PER_CASE", "3"))
REPEAT = int(os.environ.get("REPEAT", "3"))
WARMUP = float(os.environ.get("WARMUP", "2"))
FLOWS = int(os.environ.get("FLOWS", "1024"))
SIZES = [int(x) for x in os.environ.get("SIZES", "64,512,1500").split(",")]
UMBRA = os.environ.get("UMBRA", benchlib.UMBRA)
NCPU = os.cpu_count() or 1
if os.environ.get("CPUS"):
    FWD_CPU, GEN_CPU, CNT_CPU = (int(x) for x in os.environ["CPUS"].split(","))
elif NCPU >= 4:
    FWD_CPU, GEN_CPU, CNT_CPU = 1, 2, 3
else:
    FWD_CPU, GEN_CPU, CNT_CPU = 1, 0, 0
SHARED = len({FWD_CPU, GEN_CPU, CNT_CPU, 0}) < 4
# split: generator, forwarder and counter as three processes (each
# forwarding lcore needs a CPU of its own: on shared CPUs the pipeline runs
# at a ring's worth of packets per scheduler time slice, tens of kpps).
# merged: generator and counter are one testpmd with both virtio-user ports
# and one lcore in flowgen mode (it discards what it receives, counting
# it): two pollers, so it fits two CPUs; both ports send, so both
# directions are measured, and "txonly" is flowgen with one flow.
TOPOLOGY = os.environ.get("TOPOLOGY", "split" if NCPU >= 4 else "merged")
if TOPOLOGY == "merged" and not os.environ.get("CPUS"):
    FWD_CPU, GEN_CPU, CNT_CPU = 1, 0, 0
LOG = ["--log-level=lib.eal:error", "--log-level=lib.vhost.config:error",
       "--log-level=pmd.net.virtio.*:error", "--log-level=pmd.net.vhost:error"]


def mem_args():
    """Hugepages when about 1.5 GiB are free (virtio-user needs them in one
    file per segment list), else memfd-backed --no-huge."""
    free = size_kb = 0
    for line in open("/proc/meminfo"):
        if line.startswith("HugePages_Free"):
            free = int(line.split()[1])
        elif line.startswith("Hugepagesize"):
            size_kb = int(line.split()[1])
    if free * size_kb // 1024 >= 1536 and os.path.ismount("/dev/hugepages"):
        return ["--single-file-segments"], "hugepages"
    return ["--no-huge", "-m", "512"], "--no-huge (memfd)"


MEM, MEM_MODE = mem_args()
# testpmd's stdout is a pipe here: line-buffered, so that its messages
# ("Press enter to exit", the totals) arrive when printed.
TESTPMD = ["stdbuf", "-oL", "dpdk-testpmd"]


class Reader:
    """Collects a process's output in a thread (interactive testpmd prints
    its prompt without a newline)."""

    def __init__(self, p):
        self.p, self.buf, self.lock = p, "", threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            b = os.read(self.p.stdout.fileno(), 65536)
            if not b:
                return
            with self.lock:
                self.buf += b.decode(errors="replace")

    def text(self):
        with self.lock:
            return self.buf

    def wait_for(self, what, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if what in self.text():
                return True
            if self.p.poll() is not None:
                time.sleep(0.2)
                return what in self.text()
            time.sleep(0.05)
        return False


def start(cl, name, argv):
    cl.prefixes.append(name)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    cl.procs.append(p)
    return p, Reader(p)


def send(p, text):
    try:
        p.stdin.write(text.encode())
        p.stdin.flush()
    except (BrokenPipeError, OSError):
        pass


def wait_paths(paths, p, timeout=20):
    end = time.time() + timeout
    while time.time() < end and p.poll() is None:
        if all(os.path.exists(x) for x in paths):
            return True
        time.sleep(0.05)
    return False


def run_case(cl, fwd, mode, size, n):
    """One measurement: forwarder, counter, generator started fresh."""
    d = os.path.join(cl.tmp, "c%d" % n)
    os.mkdir(d)
    s_gen, s_sink = os.path.join(d, "gen.sock"), os.path.join(d, "sink.sock")
    tag = "bench-vh%d-%d" % (n, os.getpid())
    lc = lambda cpu: ["--lcores", "0@0,1@%d" % cpu]  # noqa: E731
    if fwd == "umbra":
        conf = os.path.join(d, "umbra.yaml")
        with open(conf, "w") as f:
            f.write("""ports:
  - {{ name: gen, vdev: "net_vhost_g{n},iface={g},queues=1", role: uplink }}
  - {{ name: sink, vdev: "net_vhost_s{n},iface={s},queues=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
flow_table: {{ size: {ft} }}
""".format(n=n, g=s_gen, s=s_sink, ft=max(65536, FLOWS * 2)))
        fp, fr = start(cl, tag + "f", [UMBRA] + lc(FWD_CPU) + ["--no-pci", "--file-prefix",
                       tag + "f"] + MEM + LOG + ["--", "-c", conf, "--socket", "none",
                                                 "--stats-interval", "0"])
    else:
        fp, fr = start(cl, tag + "f", TESTPMD + lc(FWD_CPU) + [
            "--no-pci", "--file-prefix", tag + "f"] + MEM + LOG + [
            "--vdev", "net_vhost0,iface=%s,queues=1" % s_gen,
            "--vdev", "net_vhost1,iface=%s,queues=1" % s_sink, "--",
            "--forward-mode=io", "--auto-start", "--nb-cores=1", "--stats-period", "0",
            "--rxq=1", "--txq=1"])
    if not wait_paths([s_gen, s_sink], fp):
        sys.exit("%s did not open its vhost-user sockets:\n%s" % (fwd, fr.text()[-3000:]))
    if TOPOLOGY == "merged":
        return merged_case(cl, fwd, fp, fr, mode, size, tag, s_gen, s_sink)
    cp, cr = start(cl, tag + "c", TESTPMD + lc(CNT_CPU) + [
        "--no-pci", "--file-prefix", tag + "c"] + MEM + LOG + [
        "--vdev", "net_virtio_user0,path=%s,queues=1%s" % (s_sink, os.environ.get("COUNTER_DEVARGS", "")), "--", "-i",
        "--forward-mode=rxonly", "--nb-cores=1", "--rxq=1", "--txq=1"])
    if not cr.wait_for("testpmd> ", 30):
        sys.exit("the counter did not start:\n%s" % cr.text()[-3000:])
    send(cp, "start\n")
    extra = ["--flowgen-flows=%d" % FLOWS] if mode == "flowgen" else []
    t0 = time.time()
    gp, gr = start(cl, tag + "g", TESTPMD + lc(GEN_CPU) + [
        "--no-pci", "--file-prefix", tag + "g"] + MEM + LOG + [
        "--vdev", "net_virtio_user0,path=%s,queues=1" % s_gen, "--",
        "--forward-mode=" + mode, "--txpkts=%d" % size, "--auto-start", "--nb-cores=1",
        "--stats-period", "0", "--rxq=1", "--txq=1"] + extra)
    if not gr.wait_for("Press enter to exit", 30):
        sys.exit("the generator did not start:\n%s" % gr.text()[-3000:])
    t0 = time.time()
    time.sleep(WARMUP)
    send(cp, "show port stats 0\n")
    time.sleep(SECONDS)
    send(cp, "show port stats 0\n")
    time.sleep(0.3)
    send(gp, "\n")                      # generator: stop, print totals, exit
    gp.wait(timeout=30)
    elapsed = time.time() - t0
    send(cp, "stop\nquit\n")
    cp.wait(timeout=30)
    if fwd == "umbra":
        fp.send_signal(2)
    else:
        send(fp, "\n")
    try:
        fp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fp.kill()
    rates = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", cr.text())]
    sent = re.findall(r"TX-packets:\s+(\d+)", gr.text())
    if len(rates) < 2:
        sys.exit("the counter gave no rate (%s %s %d):\n%s" % (fwd, mode, size,
                                                                cr.text()[-3000:]))
    if os.environ.get("DEBUG"):
        for what, r in (("forwarder", fr), ("counter", cr), ("generator", gr)):
            print("## %s\n%s" % (what, r.text()[-2500:]))
    offered = int(sent[-1]) / elapsed / 1e6 if sent else float("nan")
    # Processes, DPDK files: gone before the next case.
    cl.stop()
    return rates[-1] / 1e6, offered


def port_rates(text):
    """{port: Rx-pps} from the last 'show port stats all' of @p text."""
    out = {}
    for port, pps in re.findall(r"NIC statistics for port (\d+).*?Rx-pps:\s+(\d+)", text,
                                re.S):
        out[int(port)] = int(pps) / 1e6
    return out


def merged_case(cl, fwd, fp, fr, mode, size, tag, s_gen, s_sink):
    """Generator and counter in one testpmd (flowgen), both ports sending;
    returns (Mpps gen->sink, Mpps sink->gen)."""
    flows = FLOWS if mode == "flowgen" else 1
    lp, lr = start(cl, tag + "l", TESTPMD + ["--lcores", "0@0,1@%d" % GEN_CPU,
        "--no-pci", "--file-prefix", tag + "l"] + MEM + LOG + [
        "--vdev", "net_virtio_user0,path=%s,queues=1" % s_gen,
        "--vdev", "net_virtio_user1,path=%s,queues=1" % s_sink, "--", "-i",
        "--forward-mode=flowgen", "--flowgen-flows=%d" % flows, "--txpkts=%d" % size,
        "--nb-cores=1", "--rxq=1", "--txq=1"])
    if not lr.wait_for("testpmd> ", 30):
        sys.exit("the generator did not start:\n%s" % lr.text()[-3000:])
    send(lp, "start\n")
    time.sleep(WARMUP)
    send(lp, "show port stats all\n")
    time.sleep(SECONDS)
    mark = len(lr.text())
    send(lp, "show port stats all\n")
    time.sleep(0.5)
    rates = port_rates(lr.text()[mark:])
    send(lp, "stop\nquit\n")
    lp.wait(timeout=30)
    if fwd == "umbra":
        fp.send_signal(2)
    else:
        send(fp, "\n")
    try:
        fp.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fp.kill()
    if os.environ.get("DEBUG"):
        for what, r in (("forwarder", fr), ("generator+counter", lr)):
            print("## %s\n%s" % (what, r.text()[-2500:]))
    if len(rates) < 2:
        sys.exit("no rates (%s %s %d):\n%s" % (fwd, mode, size, lr.text()[-3000:]))
    cl.stop()
    # port 1 (sink) receives what the forwarder sent from gen, port 0 the rest
    return rates[1], rates[0]


def main():
    if os.geteuid() != 0:
        sys.exit("run as root (DPDK)")
    if not os.access(UMBRA, os.X_OK):
        sys.exit("%s is missing: deploy/setup.sh builds it" % UMBRA)
    cl = benchlib.Cleanup("vhost")
    print("# vhost-user bench: generator (virtio-user) -> forwarder (umbra, then "
          "testpmd io) -> counter (virtio-user); one queue per port")
    print("# %d CPUs; topology %s; forwarder on CPU %d, generator on CPU %d, counter on "
          "CPU %d, main lcores on CPU 0; %s; %gs per case after %gs warm-up; Mpps"
          % (NCPU, TOPOLOGY, FWD_CPU, GEN_CPU, CNT_CPU, MEM_MODE, SECONDS, WARMUP))
    if SHARED:
        print("# CPUs are shared between processes: figures are indicative only "
              "(a machine with 4 free CPUs gives each its own)")
    if TOPOLOGY == "merged":
        print("# merged topology: one testpmd (flowgen) is generator and counter on "
              "both virtio-user ports (port 0 on umbra's uplink socket, port 1 on its "
              "sink socket), both sending; txonly = flowgen with 1 flow; total = "
              "both directions forwarded (the figure compared)")
    print("# best of %d alternating runs per case" % REPEAT)
    if TOPOLOGY == "merged":
        print("%-12s %-13s %6s %12s %12s %9s" % ("forwarder", "mode", "bytes",
                                                  "port1 rx", "port0 rx", "total"))
    else:
        print("%-12s %-13s %6s %12s %12s" % ("forwarder", "mode", "bytes", "Mpps",
                                             "offered"))
    res, n = {}, 0
    for mode in ("txonly", "flowgen"):
        for size in SIZES:
            best = {}
            # alternate the forwarders, REPEAT times, keep each one's best:
            # on a shared machine the rate follows whoever else runs
            for _ in range(REPEAT):
                for fwd in ("umbra", "testpmd-io"):
                    n += 1
                    a, b = run_case(cl, fwd, mode, size, n)
                    key = a + b if TOPOLOGY == "merged" else a
                    if fwd not in best or key > best[fwd][0]:
                        best[fwd] = (key, a, b)
            label = mode if mode == "txonly" else "flowgen/%d" % FLOWS
            for fwd in ("umbra", "testpmd-io"):
                key, a, b = best[fwd]
                res[fwd, mode, size] = key
                if TOPOLOGY == "merged":
                    print("%-12s %-13s %6d %12.2f %12.2f %9.2f" % (fwd, label, size, a, b, key),
                          flush=True)
                else:
                    print("%-12s %-13s %6d %12.2f %12.2f" % (fwd, label, size, a, b),
                          flush=True)
    u = res.get(("umbra", "txonly", SIZES[0]), 0.0)
    t = res.get(("testpmd-io", "txonly", SIZES[0]), 0.0)
    print("vhost_umbra_mpps=%.2f vhost_testpmd_io_mpps=%.2f vhost_ratio=%.2f"
          % (u, t, u / t if t else 0.0))


if __name__ == "__main__":
    main()
