"""A fleet on loopback for tests/fleet and tests/bench/fleet.py: a 3-member
etcd cluster (Debian's etcd-server, installed once when missing and we are
root) on free ports with data in a temporary directory, and N umbra
processes (tests/mgmt/umbrad.Daemon) joined to it with a fleet: section.

Every process started here is ended here, by its own PID.
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mgmt"))
import umbrad  # noqa: E402

SKIP = 77

# Same ports on every member (the fleet's configuration names them):
# net_null vdevs are private to each process (own --file-prefix).
CONF = """ports:
  - {{ name: up, vdev: "net_null0", role: uplink }}
  - {{ name: sink, vdev: "net_null1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink, vlan: {vlan} }} }}
  - {{ name: staging, egress: {{ port: sink, vlan: 300 }} }}
  - {{ name: test, egress: {{ port: sink, vlan: 200 }} }}
  - {{ name: dev, egress: {{ port: sink, vlan: 100 }} }}
services:
  - name: web
    match: {{ dst: 10.0.0.10/32, proto: tcp, dport: 80 }}
    backends:
      - {{ name: blue, port: sink, next_hop_mac: "02:00:00:00:0b:01" }}
      - {{ name: green, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:02" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
      staging: {{ running: v1 }}
    rollout: {{ steps: [10, 50, 100], hold_s: 2 }}
    verdict: {{ enabled: false }}
workflow:
  hooks:
    - name: deploy-staging
      stage: staging
      service: web
      run: [/bin/sh, -c, "sleep 1"]
"""


def conf_text(vlan=10):
    return CONF.format(vlan=vlan).replace("{{", "{").replace("}}", "}")


def ensure_etcd():
    """True when etcd is there (installing Debian's package if we can)."""
    if shutil.which("etcd"):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "etcd-server", "etcd-client"],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return shutil.which("etcd") is not None


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Etcd:
    """Three etcd members on loopback."""

    def __init__(self, n=3):
        self.dir = tempfile.mkdtemp(prefix="h8-umbra-fleet-etcd-")
        ports = free_ports(2 * n)
        self.client = ports[:n]
        self.peer = ports[n:]
        self.names = ["e%d" % i for i in range(n)]
        self.cluster = ",".join("%s=http://127.0.0.1:%d" % (nm, p)
                                for nm, p in zip(self.names, self.peer))
        self.procs = [None] * n
        self.started = [False] * n

    def urls(self):
        return ["http://127.0.0.1:%d" % p for p in self.client]

    def start(self, i):
        state = "existing" if self.started[i] else "new"
        log = open(os.path.join(self.dir, "%s.log" % self.names[i]), "a")
        self.procs[i] = subprocess.Popen(
            ["etcd", "--name", self.names[i],
             "--data-dir", os.path.join(self.dir, self.names[i]),
             "--listen-client-urls", "http://127.0.0.1:%d" % self.client[i],
             "--advertise-client-urls", "http://127.0.0.1:%d" % self.client[i],
             "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer[i],
             "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer[i],
             "--initial-cluster", self.cluster, "--initial-cluster-state", state,
             "--initial-cluster-token", os.path.basename(self.dir),
             "--heartbeat-interval", "100", "--election-timeout", "1000",
             "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT)
        self.started[i] = True

    def start_all(self, timeout=30):
        for i in range(len(self.names)):
            self.start(i)
        return self.wait_healthy(timeout)

    def wait_healthy(self, timeout=30, members=None):
        deadline = time.time() + timeout
        idx = members if members is not None else range(len(self.names))
        while time.time() < deadline:
            try:
                if all(self.call(i, "/v3/kv/range", {"key": b64("health")}) is not None
                       for i in idx):
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def call(self, i, path, body):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.client[i], path),
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=3) as r:
            return json.loads(r.read())

    def put(self, key, value, i=0):
        return self.call(i, "/v3/kv/put", {"key": b64(key), "value": b64(value)})

    def kill(self, i):
        p = self.procs[i]
        if p and p.poll() is None:
            p.kill()
            p.wait()
        self.procs[i] = None

    def kill_all(self):
        for i in range(len(self.names)):
            self.kill(i)

    def cleanup(self):
        self.kill_all()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """A TCP relay on loopback to one etcd endpoint. Setting hold keeps back
    what etcd sends on watch streams (unary calls pass): a member whose
    watch lags behind etcd, as after a stall, while its lease lives on."""

    def __init__(self, port):
        self.target = port
        self.hold = False
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(c,), daemon=True).start()

    def _relay(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=1)
            u.settimeout(None)
        except OSError:
            c.close()
            return
        watch = [False]

        def pipe(src, dst, up):
            try:
                while True:
                    d = src.recv(65536)
                    if not d:
                        break
                    if up and b"/v3/watch" in d[:256]:
                        watch[0] = True
                    while not up and watch[0] and self.hold:
                        time.sleep(0.005)
                    dst.sendall(d)
            except OSError:
                pass
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pipe, args=(u, c, False), daemon=True).start()
        pipe(c, u, True)

    def close(self):
        self.lsock.close()


class Member(umbrad.Daemon):
    """An umbra in the fleet: net_null ports, one worker, its own socket."""

    def __init__(self, name, etcd_urls, prefix, http=None, ttl="3s", local=None,
                 state=False):
        fleet = "fleet: { etcd: [%s], id: %s, prefix: %s, lease_ttl: %s%s }\n" % (
            ", ".join(etcd_urls), name, prefix, ttl,
            ", local: [%s]" % ", ".join(local) if local else "")
        text = (CONF + fleet.replace("{", "{{").replace("}", "}}"))
        state_dir = tempfile.mkdtemp(prefix="h8-umbra-fleet-state-") if state else None
        super().__init__(name, conf_text=text.replace("{vlan}", "10"), http=http,
                         state_dir=state_dir)
        self.id = name

    def kill9(self):
        """The appliance dies (no goodbye: its lease expires)."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def cleanup(self, keep=False):
        super().cleanup(keep)
        if self.state_dir and not keep:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def wf(self, service="web"):
        """What runs in each stage: {stage: slot}."""
        r = self.call("workflow/status", service=service)["result"]
        svc = r["services"][0] if isinstance(r, dict) and "services" in r else r[0]
        return {s["stage"]: s for s in svc["stages"]}

    def status(self):
        r = self.call("fleet/status")
        return r.get("result", {}) if r.get("ok") else {}


def wait(pred, timeout, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(step)
    return None
