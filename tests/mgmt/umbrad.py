"""Start umbra with a management socket and talk to it (tests/mgmt).

Daemon(...) writes a config, starts umbra on net_null/net_pcap virtual
ports with its own socket (and optionally a state directory and HTTP
port), and waits until "hello" answers. call() sends one request on a
fresh connection and returns the response object; api() the same over
HTTP (POST, JSON, the bearer token).
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
UMBRA = os.environ.get("UMBRA", os.path.join(SRC, "build", "app", "umbra", "umbra"))

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: {stage}, default: true, egress: {{ port: sink }} }}
  - name: canary
    egress: {{ port: sink, vlan: {vlan} }}
    match: [ {{ src: 10.0.9.0/24 }} ]
"""


def eal_mem():
    return subprocess.run([os.path.join(SRC, "deploy", "eal-mem.sh")],
                          capture_output=True, text=True, check=True).stdout.split()


class Failures:
    """ok / not ok lines; exit status from the count."""

    def __init__(self):
        self.n = 0

    def check(self, what, ok, detail=""):
        print("%s - %s%s" % ("ok" if ok else "not ok", what,
                             "" if ok or not detail else "\n    " + str(detail)))
        self.n += 0 if ok else 1


class Daemon:
    def __init__(self, name, pcap=None, state_dir=None, http=None, token=None,
                 group=None, conf_text=None, args=()):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="umbra-mgmt-%s-" % name)
        self.sock = os.path.join(self.dir, "umbra.sock")
        self.tag = "%s%d" % (name, os.getpid())
        gen = ("net_pcap_%s0,rx_pcap=%s,infinite_rx=1" % (self.tag, pcap) if pcap
               else "net_null_%s0,no-rx=1" % self.tag)
        self.confs = []
        for i in range(2):
            path = os.path.join(self.dir, "conf%d.yaml" % i)
            with open(path, "w") as f:
                # conf_text: a template with {gen} and {tag} for the two ports
                text = (conf_text or CONF).format(
                    gen=gen, tag=self.tag, stage=("production", "prod2")[i], vlan=10 + i)
                f.write(text)
            self.confs.append(path)
        self.state_dir, self.http, self.token = state_dir, http, token
        self.group = group
        self.args = list(args)  # further umbra options
        self.proc = None

    def start(self, conf=0):
        cmd = ([UMBRA, "-l", "0-1", "--no-pci", "--file-prefix", "umbra-mgmt-" + self.tag]
               + eal_mem() + ["--log-level=lib.eal:error", "--", "-c", self.confs[conf],
                              "--socket", self.sock,
                              "--stats-json", os.path.join(self.dir, "stats.json")])
        if self.state_dir:
            cmd += ["--state-dir", self.state_dir]
        if self.group:
            cmd += ["--socket-group", self.group]
        if self.http:
            cmd += ["--http", "127.0.0.1:%d" % self.http]
        if self.token:
            tok = os.path.join(self.dir, "token")
            # A token file open to every user is refused: owner only.
            with open(os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(self.token + "\n")
            cmd += ["--http-token-file", tok]
        cmd += self.args
        self.log = open(os.path.join(self.dir, "umbra.log"), "a")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        atexit.register(self._kill)  # a test that dies leaves no spinning umbra
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if self.call("hello")["ok"]:
                    return True
            except OSError:
                pass
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def call(self, cmd, **args):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        # With a timeout Python connects non-blocking, and a full listen
        # backlog (a flood of clients not yet accepted) is EAGAIN at once
        # where a blocking client such as umbractl would wait its turn.
        deadline = time.time() + 10
        while True:
            try:
                s.connect(self.sock)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    raise
                time.sleep(0.005)
        f = s.makefile("rw")
        f.write(json.dumps({"id": 1, "cmd": cmd, "args": args}) + "\n")
        f.flush()
        r = json.loads(f.readline())
        s.close()
        return r

    def api(self, path, body=None, method="POST", token=True, headers=None):
        """(status, response object or text) of an HTTP request: a command
        is POSTed as JSON with the daemon's token (token=False: none, or a
        string to send instead)."""
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.http, path), method=method,
            data=None if method == "GET" else json.dumps(body or {}).encode())
        if method != "GET":
            req.add_header("Content-Type", "application/json")
        tok = self.token if token is True else token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                code, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            code, text = e.code, e.read().decode()
        try:
            return code, json.loads(text)
        except ValueError:
            return code, text

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        for leftover in os.listdir("/dev/hugepages") if os.path.isdir("/dev/hugepages") else []:
            if leftover.startswith("umbra-mgmt-" + self.tag):
                os.unlink(os.path.join("/dev/hugepages", leftover))
        self._forget_prefix()
        return rc

    def _forget_prefix(self):
        """EAL's runtime directory of this daemon's own --file-prefix (its
        config, fbarray and socket files outlive the process): removed once
        the process is gone, so test runs leave none behind."""
        run = os.environ.get("XDG_RUNTIME_DIR", "/tmp") if os.getuid() else "/var/run"
        shutil.rmtree(os.path.join(run, "dpdk", "umbra-mgmt-" + self.tag), ignore_errors=True)

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self._forget_prefix()

    def stats(self):
        return json.load(open(os.path.join(self.dir, "stats.json")))

    def cleanup(self, keep=False):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self._forget_prefix()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
