#!/usr/bin/python3
"""Shadow profiles over the socket, umbractl and HTTP (/networks/{id}/
shadowing/...): the configuration's profile listed, run-time profiles
created with their fields, refusals that say what is wrong (ports, stages,
names, the URL's network, the 16-profile limit), status and delete, a ttl
that ends a profile and keeps its final report, faults aimed at a shadow
network (shadow/inject_fault and its refusals, fault list, fault clear),
config apply replacing the configuration's profiles only, and UDP traffic
cloned to the shadow port by a 100% profile."""
import json
import os
import shutil
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

# staging gets all the replayed traffic (dst 10.2.0.0/16); dev gets none.
CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
  - {{ name: shadownet, vdev: "net_null_{tag}2,no-rx=1", role: shadow }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: staging
    egress: {{ port: sink, vlan: 300 }}
    match: [ {{ dst: 10.2.0.0/16 }} ]
  - name: dev
    egress: {{ port: sink, vlan: 400 }}
    match: [ {{ dst: 10.3.0.0/16 }} ]
shadows:
  - {{ name: mirror, stage: staging, port: shadownet, fraction: 100%, seed: 3 }}
"""

t = Failures()
work = tempfile.mkdtemp(prefix="umbra-shadow-")
pcap = os.path.join(work, "traffic.pcap")
wrpcap(pcap, [Ether(src="02:00:00:00:0c:01", dst="02:00:00:00:00:a1") /
              IP(src="10.0.9.%d" % (1 + i), dst="10.2.0.10") /
              UDP(sport=40000 + i, dport=7000) / Raw(b"x" * 64) for i in range(16)])
d = Daemon("shadow", pcap=pcap, http=20000 + os.getpid() % 1000, token="sh4dow",
           conf_text=CONF)
started = d.start()
t.check("umbra starts", started, open(os.path.join(d.dir, "umbra.log")).read()
        if os.path.exists(os.path.join(d.dir, "umbra.log")) else "")
if not started:
    d.cleanup(keep=True)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1)


def error_of(resp):
    return resp.get("error", {}).get("message", "")


def profiles(**args):
    return d.call("shadow/list", **args)["result"]["profiles"]


def by_name(name):
    return [p for p in profiles() if p["name"] == name]


def status(name):
    r = d.call("shadow/status", name=name)
    return r["result"]["profiles"][0] if r["ok"] and r["result"]["profiles"] else None


def rules():
    return d.call("fault/list")["result"]["rules"]


def http(path, body=None):
    """(HTTP status, response object) of a command: POST, JSON, the token."""
    return d.api(path, body)


def ctl(*words):
    return subprocess.run([CTL, "--socket", d.sock] + list(words),
                          capture_output=True, text=True)


def shadow_tx():
    return d.call("stats")["result"]["ports"]["shadownet"]["tx_pkts"]


# The configuration's profile.
ls = profiles()
t.check("shadow list shows the configuration's profile (origin config, active, "
        "fraction, network, no ttl)",
        len(ls) == 1 and ls[0]["name"] == "mirror" and ls[0]["origin"] == "config" and
        ls[0]["state"] == "active" and ls[0]["fraction"] == 1.0 and
        ls[0]["network"] == "staging" and ls[0]["seed"] == 3 and ls[0]["until"] is None, ls)

# Traffic: the 16 replayed UDP flows of staging are cloned to the shadow port.
deadline = time.time() + 5
m = status("mirror")
while time.time() < deadline and not (m and m["counters"]["packets_cloned"] > 0):
    time.sleep(0.1)
    m = status("mirror")
t.check("traffic: the 100% profile shadows the replayed flows and clones their packets",
        m and m["counters"]["flows"] > 0 and m["counters"]["packets_cloned"] > 0 and
        m["counters"]["bytes_cloned"] > 0 and "comparison" in m, m and m["counters"])
tx0 = shadow_tx()
time.sleep(0.3)
t.check("traffic: the shadow port's tx_pkts grows", shadow_tx() > tx0, tx0)

# Run-time profiles: socket, umbractl, HTTP.
c = d.call("shadow/create", name="canary", stage="staging", port="shadownet",
           fraction="0.5", seed=7, compare="bytes")
mine = by_name("canary")
t.check("shadow create over the socket: listed as a run-time profile with its fields",
        c["ok"] and len(mine) == 1 and mine[0]["origin"] == "runtime" and
        mine[0]["state"] == "active" and mine[0]["network"] == "staging" and
        mine[0]["fraction"] == 0.5 and mine[0]["seed"] == 7 and
        mine[0]["compare"] == "bytes" and mine[0]["until"] is None, (c, mine))
t.check("... and its answer lists the profiles",
        c["ok"] and {"mirror", "canary"} <= {p["name"] for p in c["result"]["profiles"]}, c)
out = ctl("shadow", "create", "name=cli", "stage=production", "port=shadownet",
          "fraction=25%", "ignore_headers=date,server")
mine = by_name("cli")
t.check("umbractl shadow create key=value (ignore_headers as comma-separated words)",
        out.returncode == 0 and len(mine) == 1 and mine[0]["fraction"] == 0.25 and
        mine[0]["network"] == "production" and mine[0]["origin"] == "runtime",
        (out.returncode, out.stdout[-300:], out.stderr, mine))
out = ctl("shadow", "create", "name=cli2", "stage=production", "port=shadownet",
          'ignore_headers=["date","x:y"]')
t.check("umbractl: ignore_headers as JSON reaches the parser (a bad header name is refused)",
        out.returncode == 1 and "x:y" in out.stderr and not by_name("cli2"),
        (out.returncode, out.stdout, out.stderr))
out = ctl("shadow", "create", "name=cli3", "stage=production", "port=shadownet",
          "ignore_headers=Date,date")
t.check("umbractl: a header named twice is refused",
        out.returncode == 1 and "duplicate header 'date'" in out.stderr and
        not by_name("cli3"), (out.returncode, out.stderr))
out = ctl("--json", "shadow", "list")
t.check("umbractl --json shadow list shows the profiles",
        out.returncode == 0 and {"mirror", "canary", "cli"} <=
        {p["name"] for p in json.loads(out.stdout)["profiles"]}, out.stdout[:300])

code, r = http("/networks/production/shadowing/create",
               {"name": "web", "port": "shadownet", "fraction": "10%", "ttl": "1h"})
mine = by_name("web")
t.check("POST /networks/production/shadowing/create: the URL's network is the stage",
        code == 200 and r.get("ok") and len(mine) == 1 and
        mine[0]["network"] == "production" and mine[0]["fraction"] == 0.1 and
        3590 < mine[0]["until"] - mine[0]["since"] < 3610, (code, r, mine))
t.check("... and its answer lists that network's profiles only",
        code == 200 and r.get("ok") and
        sorted(p["name"] for p in r["result"]["profiles"]) == ["cli", "web"], r)
code, r = http("/networks/production/shadowing/status")
t.check("POST /networks/production/shadowing/status: that network's profiles, with counters",
        code == 200 and r.get("ok") and
        sorted(p["name"] for p in r["result"]["profiles"]) == ["cli", "web"] and
        all("counters" in p and "comparison" in p for p in r["result"]["profiles"]),
        (code, r))
code, r = http("/networks/staging/shadowing/list")
t.check("POST /networks/staging/shadowing/list",
        code == 200 and sorted(p["name"] for p in r["result"]["profiles"]) ==
        ["canary", "mirror"], (code, r))
code, r = http("/api/v1/shadow/status", {"name": "mirror"})
t.check("POST /api/v1/shadow/status name=mirror",
        code == 200 and [p["name"] for p in r["result"]["profiles"]] == ["mirror"], (code, r))

# Refusals, with messages that say what is wrong.
code, r = http("/networks/production/shadowing/create",
               {"name": "x1", "stage": "staging", "port": "shadownet"})
t.check("a network in the URL other than the profile's stage is refused (422)",
        code == 422 and not r["ok"] and
        "shadows stage 'staging', not network 'production'" in error_of(r) and
        not by_name("x1"), (code, r))
code, r = http("/networks/nowhere/shadowing/create", {"name": "x2", "port": "shadownet"})
t.check("an unknown network in the URL is refused, naming it",
        code == 422 and "unknown stage 'nowhere'" in error_of(r) and not by_name("x2"),
        (code, r))
bad = d.call("shadow/create", name="x3", stage="staging", port="nope")
t.check("an unknown port is refused, naming it and listing the ports",
        not bad["ok"] and "unknown port 'nope'" in error_of(bad) and
        "shadownet" in error_of(bad), bad)
bad = d.call("shadow/create", name="x4", stage="staging", port="sink")
t.check("a port that is not role shadow is refused",
        not bad["ok"] and "port 'sink' is not a shadow port" in error_of(bad) and
        "role: shadow" in error_of(bad), bad)
bad = d.call("shadow/create", name="x5", stage="nowhere", port="shadownet")
t.check("an unknown stage is refused", not bad["ok"] and
        "unknown stage 'nowhere'" in error_of(bad), bad)
bad = d.call("shadow/create", name="x6", port="shadownet")
t.check("a profile without a stage (and no network) is refused, naming stage",
        not bad["ok"] and "stage" in error_of(bad), bad)
bad = d.call("shadow/create", name="canary", stage="dev", port="shadownet")
t.check("a duplicate name (run-time) is refused",
        not bad["ok"] and "'canary' exists" in error_of(bad), bad)
bad = d.call("shadow/create", name="mirror", stage="dev", port="shadownet")
t.check("a duplicate name (the configuration's profile) is refused",
        not bad["ok"] and "'mirror' exists" in error_of(bad) and
        by_name("mirror")[0]["network"] == "staging", bad)
bad = d.call("shadow/create", name="x7", stage="dev", port="shadownet", fraction="150%")
t.check("a fraction over 100% is refused", not bad["ok"] and "fraction" in error_of(bad), bad)
t.check("nothing refused was created",
        not [p for p in profiles() if p["name"].startswith("x")], profiles())

bad = d.call("shadow/status", name="ghost")
t.check("shadow status of an unknown name fails, naming it",
        not bad["ok"] and "'ghost'" in error_of(bad), bad)

# Faults aimed at a shadow network.
bad = d.call("shadow/inject_fault", network="dev", kind="loss", probability=0.5)
t.check("inject_fault on a network without an active profile is refused",
        not bad["ok"] and "network 'dev' has no active shadow profile" in error_of(bad), bad)
bad = d.call("shadow/inject_fault", network="staging", kind="loss", probability=0.5)
t.check("inject_fault on a network with several profiles and no profile= is refused, "
        "saying so",
        not bad["ok"] and bad["error"]["code"] == "invalid_args" and
        "profile=" in error_of(bad) and "2 shadow profiles" in error_of(bad), bad)
bad = d.call("shadow/inject_fault", network="staging", profile="cli", kind="loss",
             probability=0.5)
t.check("inject_fault with a profile of another network is refused",
        not bad["ok"] and "no active shadow profile called cli" in error_of(bad), bad)
n_before = len(rules())
a = d.call("shadow/inject_fault", network="staging", profile="mirror", kind="loss",
           probability="50%", duration="30s")
rid = a["result"]["id"] if a["ok"] else 0
time.sleep(0.3)
mine = [x for x in rules() if x["id"] == rid]
t.check("inject_fault with profile= is accepted with an id",
        a["ok"] and rid > 0 and len(rules()) == n_before + 1, a)
t.check("fault list shows it: kind, run-time, its lease, parameters",
        len(mine) == 1 and mine[0]["kind"] == "loss" and mine[0]["origin"] == "runtime" and
        mine[0]["probability"] == 0.5 and 29 < mine[0]["until"] - mine[0]["since"] < 31 and
        mine[0]["target"]["stage"] is None and mine[0]["target"]["service"] is None, mine)
t.check("fault list names the shadow profile it acts on (target.shadow)",
        len(mine) == 1 and mine[0]["target"].get("shadow") == "mirror",
        mine and mine[0]["target"])
t.check("traffic: the shadow fault sees the clones (matched, dropped grow)",
        len(mine) == 1 and mine[0]["counters"]["matched"] > 0 and
        mine[0]["counters"]["dropped"] > 0, mine and mine[0]["counters"])
c = d.call("fault/clear", id=rid)
t.check("fault clear id=N removes it",
        c["ok"] and c["result"]["removed"] == 1 and not [x for x in rules() if x["id"] == rid],
        c)
code, r = http("/networks/staging/shadowing/inject_fault",
               {"kind": "delay", "delay": "1ms", "profile": "canary", "duration": "30s"})
hid = r["result"]["id"] if code == 200 and r.get("ok") else 0
mine = [x for x in rules() if x["id"] == hid]
t.check("POST /networks/staging/shadowing/inject_fault with profile= works",
        code == 200 and hid > 0 and len(mine) == 1 and mine[0]["kind"] == "delay" and
        mine[0]["params"]["delay_ms"] == 1.0, (code, r))
code, r = http("/networks/staging/shadowing/inject_fault", {"kind": "loss"})
t.check("... and without profile= on staging it is a 400 that names profile=",
        code == 400 and "profile=" in error_of(r), (code, r))
c = d.call("fault/clear", id=hid)
t.check("fault clear removes the HTTP one", c["ok"] and c["result"]["removed"] == 1, c)
for kind in ("reset", "icmp_unreachable"):
    bad = d.call("shadow/inject_fault", network="staging", profile="mirror", kind=kind)
    t.check("a shadow fault of kind %s is refused" % kind,
            not bad["ok"] and "cannot act on a shadow network" in error_of(bad), bad)
bad = d.call("fault/add", kind="loss", shadow="mirror", stage="staging", probability=0.5)
t.check("fault add with shadow= and stage= is refused",
        not bad["ok"] and "drop stage" in error_of(bad), bad)
n_before = len(rules())
a = d.call("fault/add", kind="loss", shadow="mirror", probability=0.5, duration="30s")
t.check("fault add with shadow= alone is accepted (not a production fault)",
        a["ok"] and len(rules()) == n_before + 1, a)
if a["ok"]:
    d.call("fault/clear", id=a["result"]["id"])
t.check("no fault is left", rules() == [], rules())

# Delete.
dl = d.call("shadow/delete", name="canary")
t.check("shadow delete: the profile is no longer listed",
        dl["ok"] and not by_name("canary") and
        "canary" not in [p["name"] for p in dl["result"]["profiles"]], dl)
bad = d.call("shadow/delete", name="canary")
t.check("deleting it again fails, naming it", not bad["ok"] and "'canary'" in error_of(bad), bad)
bad = d.call("shadow/status", name="canary")
t.check("its status is gone", not bad["ok"], bad)

# A ttl: ended, with its final report, until deleted (or its slot is needed).
c = d.call("shadow/create", name="brief", stage="dev", port="shadownet", ttl="1s")
b = by_name("brief")
t.check("a profile with ttl=1s has until = since + 1 s",
        c["ok"] and b and b[0]["state"] == "active" and
        abs(b[0]["until"] - b[0]["since"] - 1.0) < 0.01, (c, b))
deadline = time.time() + 5
while time.time() < deadline and not (by_name("brief") and
                                       by_name("brief")[0]["state"] == "ended"):
    time.sleep(0.1)
b = by_name("brief")
t.check("after its ttl it is listed as ended", b and b[0]["state"] == "ended", b)
time.sleep(0.3)
b = by_name("brief")
t.check("... and stays listed", b and b[0]["state"] == "ended", b)
s = status("brief")
t.check("its status keeps the final report (counters, comparison)",
        s is not None and "counters" in s and "comparison" in s and
        s["counters"]["flows"] == 0 and s["comparison"]["compared"] == 0, s)
t.check("its final report says it ended", s is not None and s["state"] == "ended",
        s and s["state"])
bad = d.call("shadow/inject_fault", network="dev", kind="loss", probability=0.5)
t.check("an ended profile takes no fault", not bad["ok"] and
        "no active shadow profile" in error_of(bad), bad)

# At most 16 profiles; an ended one gives its slot to a new one.
n = len(profiles())     # mirror, cli, web, brief (ended)
fillers = []
for i in range(16 - n):
    c = d.call("shadow/create", name="fill%d" % i, stage="dev", port="shadownet",
               dport=9000 + i, proto="udp")
    fillers.append(c["ok"])
t.check("profiles up to 16 (with the ended one) are created",
        all(fillers) and len(profiles()) == 16, (fillers, len(profiles())))
c = d.call("shadow/create", name="fill-last", stage="dev", port="shadownet")
t.check("with all 16 slots taken, a new profile takes the ended one's slot",
        c["ok"] and by_name("fill-last") and not by_name("brief") and
        len(profiles()) == 16, (c, [p["name"] for p in profiles()]))
bad = d.call("shadow/create", name="one-too-many", stage="dev", port="shadownet")
t.check("a 17th active profile is refused, saying the limit",
        not bad["ok"] and "all 16 shadow profiles are in use" in error_of(bad) and
        not by_name("one-too-many"), bad)
for p in profiles():
    if p["name"].startswith("fill"):
        d.call("shadow/delete", name=p["name"])
t.check("the fillers are deleted",
        sorted(p["name"] for p in profiles()) == ["cli", "mirror", "web"],
        [p["name"] for p in profiles()])

# A new configuration replaces the configuration's profiles; run-time ones stay.
runtime = {p["name"]: p for p in profiles() if p["origin"] == "runtime"}
new_conf = open(d.confs[0]).read()
new_conf = new_conf[:new_conf.index("shadows:")]
path = os.path.join(d.dir, "no-shadows.yaml")
open(path, "w").write(new_conf)
ap = d.call("config/apply", path=path)
after = profiles()
t.check("config apply without shadows: removes the configuration's profile, run-time ones stay",
        ap["ok"] and not [p for p in after if p["origin"] == "config"] and
        {p["name"] for p in after} == set(runtime) and
        all(p["state"] == "active" and p["since"] == runtime[p["name"]]["since"]
            for p in after), (ap, after))
path = os.path.join(d.dir, "with-shadows.yaml")
open(path, "w").write(open(d.confs[0]).read().replace("name: mirror", "name: mirror2"))
ap = d.call("config/apply", path=path)
after = profiles()
t.check("config apply with a renamed profile: the new one is listed, from config",
        ap["ok"] and [p["name"] for p in after if p["origin"] == "config"] == ["mirror2"] and
        {p["name"] for p in after if p["origin"] == "runtime"} == set(runtime), (ap, after))

metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.http, timeout=5).read().decode()
t.check("/metrics has per-profile shadow counters and comparison totals",
        'umbra_shadow_packets_total{profile="mirror2",what="packets_cloned"}' in metrics and
        'umbra_shadow_exchanges_total{profile="mirror2",result="compared"}' in metrics,
        [l for l in metrics.splitlines() if "shadow" in l][:6])

for name in list(runtime):
    d.call("shadow/delete", name=name)
t.check("run-time profiles deleted", [p["origin"] for p in profiles()] == ["config"],
        profiles())

rc = d.stop()
t.check("umbra exits 0", rc == 0, rc)
d.cleanup(keep=t.n > 0)
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if t.n else 0)
