"""Run umbra over net_pcap ports and compare its output captures exactly.

A case writes one input capture per port, runs umbra until its input has
been idle, then reads every port's output capture and the final counters.
Used by tests/functional/test_*.py; run with /usr/bin/python3 (scapy).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from scapy.all import PcapReader, PcapWriter

SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
UMBRA = os.environ.get("UMBRA", os.path.join(SRC, "build", "app", "umbra", "umbra"))


def eal_mem():
    out = subprocess.run([os.path.join(SRC, "deploy", "eal-mem.sh")],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


class Run:
    """The result of one umbra run: exit status, output, captures, counters."""

    def __init__(self, rc, out, err, captures, stats):
        self.rc, self.out, self.err = rc, out, err
        self.captures, self.stats = captures, stats

    def port_mac(self, port):
        return self.stats["ports"][port]["mac"]


class Case:
    """One functional case: ports with optional input frames, a YAML body."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="umbra-fn-%s-" % name)
        self.ports = []   # (name, role, frames or None)
        self.failures = 0

    def port(self, name, frames=None, role="stage", queues=1):
        """A net_pcap port; with queues > 1, @frames is one list per queue."""
        self.ports.append((name, role, frames, queues))

    def _ports_yaml(self):
        lines = ["ports:"]
        for i, (name, role, frames, queues) in enumerate(self.ports):
            dev = "net_pcap_%s_%d" % (self.name, i)
            args = []
            per_queue = frames if queues > 1 else [frames]
            for q in range(queues):
                if frames is not None:
                    path = os.path.join(self.dir, "%s-in%s.pcap" % (name, q or ""))
                    with PcapWriter(path, linktype=1) as w:
                        for f in per_queue[q]:
                            w.write(bytes(f))
                    args.append("rx_pcap=" + path)
                args.append("tx_pcap=" + os.path.join(self.dir, "%s-out%s.pcap" % (name, q or "")))
            lines.append('  - { name: %s, vdev: "%s,%s", role: %s }'
                         % (name, dev, ",".join(args), role))
        return "\n".join(lines) + "\n"

    def run(self, body, extra=(), lcores="0-1", raw_yaml=None, timeout=60):
        """lcores: an -l list, or an --lcores map when it contains '@'."""
        conf = os.path.join(self.dir, "umbra.yaml")
        with open(conf, "w") as f:
            f.write(raw_yaml if raw_yaml is not None else self._ports_yaml() + body)
        stats = os.path.join(self.dir, "stats.json")
        cmd = ([UMBRA, "--lcores" if "@" in lcores else "-l", lcores, "--no-pci", "--file-prefix",
                "umbra-fn-%s-%d" % (self.name, os.getpid())] + eal_mem()
               + ["--log-level=lib.eal:error", "--", "-c", conf, "--idle-exit", "200",
                  "--stats-json", stats, "--socket", os.path.join(self.dir, "umbra.sock")]
               + list(extra))
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        captures = {}
        for name, _, _, queues in self.ports:
            captures[name] = []
            for q in range(queues):  # queue by queue
                path = os.path.join(self.dir, "%s-out%s.pcap" % (name, q or ""))
                if os.path.exists(path) and os.path.getsize(path) > 0:
                    captures[name] += [bytes(x) for x in PcapReader(path)]
        st = json.load(open(stats)) if os.path.exists(stats) else None
        return Run(p.returncode, p.stdout, p.stderr, captures, st)

    def check(self, what, ok, detail=""):
        print("%s - %s%s" % ("ok" if ok else "not ok", what,
                             "" if ok or not detail else "\n    " + str(detail)))
        if not ok:
            self.failures += 1

    def frames_equal(self, what, got, want):
        want = [bytes(w) for w in want]
        if got == want:
            self.check(what, True)
            return
        detail = "got %d frames, want %d" % (len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                detail += "; first difference in frame %d:\n    got  %s\n    want %s" % (
                    i, g.hex(), w.hex())
                break
        self.check(what, False, detail)

    def done(self):
        if self.failures == 0:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("artifacts kept in", self.dir)
        sys.exit(1 if self.failures else 0)
