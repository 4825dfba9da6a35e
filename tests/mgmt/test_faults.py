#!/usr/bin/python3
"""Fault rules and chaos scenarios over the socket, umbractl and HTTP, with
traffic flowing: fault add (leases, defaults, names), refused faults (on
production without allow_production, a bad field, a lease over the
maximum) with messages that say why, fault list counters that grow, a
lease that lapses by itself and leaves nothing behind, fault clear by id
and --all, chaos start/list/stop, a scenario that ends on time with its
report, run-time rules kept across config apply, and /metrics."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from scapy.all import IP, UDP, Ether, Raw, wrpcap

from umbrad import Daemon, Failures

SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
CTL = os.environ.get("UMBRACTL", os.path.join(SRC, "build", "app", "umbractl", "umbractl"))

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
fault_policy: {{ max_lease: 1h }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: staging
    egress: {{ port: sink, vlan: 300 }}
    match: [ {{ dst: 10.2.0.0/16 }} ]
faults:
  - {{ name: slow-staging-db, kind: delay, stage: staging, dport: 5432, proto: tcp, delay: 5ms }}
chaos:
  - name: db-overload
    description: "the database at its limit"
    duration: 10s
    faults:
      - {{ kind: delay, stage: staging, delay: 200us, jitter: 50us }}
      - {{ kind: loss, stage: staging, probability: 5% }}
"""

t = Failures()
work = tempfile.mkdtemp(prefix="umbra-faults-")
pcap = os.path.join(work, "traffic.pcap")
wrpcap(pcap, [Ether(src="02:00:00:00:0c:01", dst="02:00:00:00:00:a1") /
              IP(src="10.0.9.%d" % (1 + i), dst="10.2.0.10") /
              UDP(sport=40000 + i, dport=7000) / Raw(b"x" * 64) for i in range(16)])
d = Daemon("faults", pcap=pcap, http=18000 + os.getpid() % 1000, token="f4ults",
           conf_text=CONF)
t.check("umbra starts", d.start(), open(os.path.join(d.dir, "umbra.log")).read()
        if os.path.exists(os.path.join(d.dir, "umbra.log")) else "")


def rules():
    return d.call("fault/list")["result"]["rules"]


def by_name(name):
    return [r for r in rules() if r["name"] == name]


def error_of(resp):
    return resp.get("error", {}).get("message", "")


r = rules()
t.check("the configuration's rule is listed, with no lease",
        len(r) == 1 and r[0]["origin"] == "config" and r[0]["until"] is None and
        r[0]["target"]["dport"] == 5432, r)

# Adding: defaults, a lease, counters that grow.
a = d.call("fault/add", kind="delay", stage="staging", delay="300us", duration="2s", seed=3)
t.check("fault add answers with an id", a["ok"] and a["result"]["id"] > 0, a)
rid = a["result"]["id"] if a["ok"] else 0
time.sleep(0.5)
mine = [x for x in rules() if x["id"] == rid]
t.check("it is listed with a lease of 2 s and its parameters",
        len(mine) == 1 and mine[0]["origin"] == "runtime" and
        1.0 < mine[0]["until"] - mine[0]["since"] < 3.0 and
        mine[0]["params"]["delay_ms"] == 0.3, mine)
t.check("it touches traffic and measures its delay error",
        mine and mine[0]["counters"]["delayed"] > 0 and
        mine[0]["counters"]["delay_error"]["count"] > 0, mine and mine[0]["counters"])
dflt = d.call("fault/add", kind="loss", stage="staging", probability="1%")
t.check("a fault without a duration gets the default lease (300 s)",
        dflt["ok"] and [x for x in rules() if x["id"] == dflt["result"]["id"]][0]["until"] -
        [x for x in rules() if x["id"] == dflt["result"]["id"]][0]["since"] > 299, dflt)
dup = d.call("fault/add", kind="loss", stage="staging", probability=0.01, name="drops")
dup2 = d.call("fault/add", kind="loss", stage="staging", probability=0.01, name="drops")
names = sorted(x["name"] for x in rules() if x["name"].startswith("drops"))
t.check("a number probability is taken; a second rule of the same name is renamed",
        dup["ok"] and dup2["ok"] and len(names) == 2 and names[0] == "drops" and
        names[1] != "drops", names)

# Refusals.
prod = d.call("fault/add", kind="blackhole", duration="10s")
t.check("a fault on production is refused without allow_production",
        not prod["ok"] and "would act on production traffic" in error_of(prod) and
        "allow_production" in error_of(prod), prod)
prod2 = d.call("fault/add", kind="delay", stage="production", delay="1ms")
t.check("... also when it names the production stage",
        not prod2["ok"] and "(stage production)" in error_of(prod2), prod2)
bad = d.call("fault/add", kind="delay", stage="staging", jitter="1ms")
t.check("a delay without delay: says what is missing, with a position",
        not bad["ok"] and error_of(bad).startswith("fault add:1:") and "delay" in error_of(bad), bad)
bad = d.call("fault/add", kind="teleport", stage="staging")
t.check("an unknown kind is refused", not bad["ok"] and "teleport" in error_of(bad), bad)
bad = d.call("fault/add", kind="loss", stage="nowhere")
t.check("an unknown stage is refused", not bad["ok"] and "nowhere" in error_of(bad), bad)
bad = d.call("fault/add", kind="loss", stage="staging", duration="2h")
t.check("a lease over fault_policy.max_lease is refused",
        not bad["ok"] and "max_lease" in error_of(bad), bad)
bad = d.call("fault/add", kind="loss", stage="staging", seed={"x": 1})
t.check("a non-scalar field is refused by the dispatcher", not bad["ok"], bad)

# The lease lapses by itself.
time.sleep(2.0)
t.check("the 2 s lease lapsed: the rule is gone", not [x for x in rules() if x["id"] == rid])
st = d.call("stats")["result"]
t.check("nothing is left held after the lapse", st["faults"]["inflight"] == 0, st["faults"])

# Clear.
c = d.call("fault/clear", id=dflt["result"]["id"])
t.check("fault clear id=N removes that rule", c["ok"] and c["result"]["removed"] == 1 and
        not [x for x in rules() if x["id"] == dflt["result"]["id"]], c)
c = d.call("fault/clear", id=999999)
t.check("clearing an unknown id says so", not c["ok"] and "999999" in error_of(c), c)
c = d.call("fault/clear")
t.check("fault clear with neither id nor all is refused", not c["ok"], c)

# Chaos scenarios.
ls = d.call("chaos/list")["result"]
t.check("chaos list shows the defined scenario",
        [s["name"] for s in ls["defined"]] == ["db-overload"] and
        ls["defined"][0]["faults"] == 2 and ls["running"] == [], ls)
s = d.call("chaos/start", name="db-overload", duration="1500ms")
t.check("chaos start runs its two rules until the end of its duration",
        s["ok"] and len(s["result"]["running"]) == 1 and
        len(s["result"]["running"][0]["rules"]) == 2 and
        1.0 < s["result"]["running"][0]["until"] - s["result"]["running"][0]["since"] < 2.0, s)
again = d.call("chaos/start", name="db-overload")
t.check("starting it twice is refused", not again["ok"] and "already running" in error_of(again), again)
unknown = d.call("chaos/start", name="meteor")
t.check("an unknown scenario is refused", not unknown["ok"] and "meteor" in error_of(unknown), unknown)
time.sleep(0.7)
run = d.call("chaos/list")["result"]["running"]
t.check("while it runs its rules count packets",
        run and all(x["counters"]["touched"] > 0 for x in run[0]["rules"]), run)
time.sleep(1.3)
ls = d.call("chaos/list")["result"]
t.check("it ended on time: not running, reported as lapsed with its counts",
        ls["running"] == [] and ls["ended"] and ls["ended"][-1]["why"] == "lapsed" and
        ls["ended"][-1]["rules"][0]["counters"]["touched"] > 0, ls)
t.check("its rules are gone", not [x for x in rules() if x["origin"] == "chaos"])
d.call("chaos/start", name="db-overload")
stop = d.call("chaos/stop", name="db-overload")
t.check("chaos stop ends it now", stop["ok"] and stop["result"]["running"] == [] and
        stop["result"]["ended"][-1]["why"] == "stopped", stop)

# umbractl and HTTP.
out = subprocess.run([CTL, "--socket", d.sock, "fault", "add", "kind=duplicate",
                      "stage=staging", "copies=1", "duration=30s"],
                     capture_output=True, text=True)
t.check("umbractl fault add key=value works", out.returncode == 0, out.stderr)
out = subprocess.run([CTL, "--socket", d.sock, "--json", "fault", "list"],
                     capture_output=True, text=True)
t.check("umbractl --json fault list shows it",
        out.returncode == 0 and any(x["kind"] == "duplicate"
                                    for x in json.loads(out.stdout)["rules"]), out.stdout[:300])
code, resp = d.api("/api/v1/fault/add", {"kind": "reorder", "stage": "staging",
                                         "probability": 0.1, "duration": "30s"})
t.check("POST /api/v1/fault/add with JSON numbers works", resp.get("ok"), resp)
metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.http, timeout=5).read().decode()
t.check("/metrics has per-rule fault counters",
        'umbra_fault_packets_total{rule="slow-staging-db"' in metrics and
        'what="touched"' in metrics, metrics[-500:])

# A new configuration keeps run-time rules and replaces the configuration's.
before = {x["id"] for x in rules() if x["origin"] == "runtime"}
new_conf = open(d.confs[0]).read().replace("slow-staging-db", "slower-db").replace(
    "  - name: staging\n", "  - name: dev\n    egress: { port: sink, vlan: 100 }\n"
    "  - name: staging\n")
path = os.path.join(d.dir, "new.yaml")
open(path, "w").write(new_conf)
ap = d.call("config/apply", path=path)
after = rules()
t.check("config apply: run-time rules stay (stage resolved again), config rules follow the file",
        ap["ok"] and before == {x["id"] for x in after if x["origin"] == "runtime"} and
        [x["name"] for x in after if x["origin"] == "config"] == ["slower-db"] and
        all(x["target"]["stage"] == "staging" for x in after if x["origin"] == "runtime"),
        (ap, [(x["name"], x["origin"], x["target"]["stage"]) for x in after]))
c = d.call("fault/clear", all=True)
t.check("fault clear all=true removes every run-time rule",
        c["ok"] and [x["origin"] for x in rules()] == ["config"], c)

rc = d.stop()
t.check("umbra exits 0", rc == 0, rc)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
