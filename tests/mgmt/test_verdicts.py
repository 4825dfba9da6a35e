#!/usr/bin/python3
"""Release verdicts over the socket (no traffic: what the commands promise):
a release moves into production and its canary is judged at once (HOLD,
"no traffic yet", never GO on silence); verdict/status and verdict/gate
show it with its reason; `umbractl gate` exits 3 on HOLD and 1 for a
version not under judgement; an approval shows its risk estimate; with
verdict.gate, an approval of a version without a GO is refused with the
reason; rollout steps wait for GO (hold_s is only a minimum); /metrics
carries the verdict; analytics/summary needs a state directory, and with
one, counts the releases; an apply that reorders the services keeps a
release's judgement with its service."""
import os
import subprocess
import sys
import tempfile
import time

from umbrad import SRC, Daemon, Failures

CTL = os.environ.get("UMBRACTL", os.path.join(SRC, "build", "app", "umbractl", "umbractl"))

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - {{ name: staging, egress: {{ port: sink, vlan: 300 }} }}
  - {{ name: test, egress: {{ port: sink, vlan: 200 }} }}
  - {{ name: dev, egress: {{ port: sink, vlan: {vlan} }} }}
services:
  - name: web
    match: {{ dst: 10.0.0.10/32, proto: tcp, dport: 80 }}
    backends:
      - {{ name: blue, port: sink, next_hop_mac: "02:00:00:00:0b:01" }}
      - {{ name: green, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:02" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
    rollout: {{ steps: [10, 100], hold_s: 1 }}
  - name: api
    match: {{ dst: 10.0.0.11/32, proto: tcp, dport: 80 }}
    backends:
      - {{ name: a-blue, port: sink, next_hop_mac: "02:00:00:00:0a:01" }}
      - {{ name: a-green, port: sink, vlan: 302, next_hop_mac: "02:00:00:00:0a:02" }}
    stages:
      production: {{ backends: [a-blue, a-green], running: a1 }}
    rollout: {{ steps: [10, 100], hold_s: 1 }}
    verdict: {{ gate: true }}
"""

t = Failures()
work = tempfile.mkdtemp(prefix="umbra-verdicts-")
state = os.path.join(work, "state")
os.makedirs(state, mode=0o700)
d = Daemon("verdicts", state_dir=state, conf_text=CONF)


def ok(r):
    return r.get("ok") is True


def ctl(*words):
    return subprocess.run([CTL, "-s", d.sock] + list(words), capture_output=True, text=True)


try:
    t.check("umbra starts with two services", d.start())
    for svc, v in (("web", "v2"), ("api", "a2")):
        t.check("%s %s committed and tested" % (svc, v),
                ok(d.call("event/code_commit", service=svc, version=v)) and
                ok(d.call("event/test_completion", service=svc, version=v, passed=True)))
    r = d.call("event/manual_approval", service="web", version="v2", approver="al")
    t.check("web v2 approved into production", ok(r), r)
    t.check("the approval shows its risk (no verdict judged v2 yet)",
            r.get("result", {}).get("risk", {}).get("score", 0) is None, r)
    r = d.call("event/manual_approval", service="api", version="a2", approver="al")
    msg = r.get("error", {}).get("message", "")
    t.check("api has verdict.gate: its approval without a GO is refused with the reason",
            not ok(r) and "a2 has no GO" in msg, r)
    time.sleep(1.0)
    r = d.call("verdict/status", service="web")
    rel = r.get("result", {}).get("releases", [])
    t.check("verdict/status judges web's canary v2 against v1",
            ok(r) and len(rel) == 1 and rel[0]["canary"] == "v2" and rel[0]["control"] == "v1",
            r)
    t.check("no traffic: HOLD with the reason, never GO on silence",
            rel and rel[0]["verdict"] == "hold" and "no traffic" in rel[0]["reason"], rel)
    time.sleep(1.5)
    st = d.call("workflow/status", service="web")["result"]["services"][0]
    prod = [x for x in st["stages"] if x["stage"] == "production"][0]
    t.check("its rollout step waits for GO past hold_s: still at 10 %",
            prod.get("canary", {}).get("bp") == 1000, prod)
    g = d.call("verdict/gate", service="web", version="v2")["result"]
    t.check("verdict/gate says hold", g["gate"] == "hold", g)
    p = ctl("gate", "web", "v2")
    t.check("umbractl gate exits 3 while HOLD and prints the reason",
            p.returncode == 3 and "hold" in p.stdout, (p.returncode, p.stdout, p.stderr))
    t0 = time.time()
    p = ctl("gate", "web", "v2", "--wait", "1")
    t.check("umbractl gate --wait 1 waits about a second, then exits 3",
            p.returncode == 3 and 0.8 < time.time() - t0 < 5, (p.returncode, time.time() - t0))
    p = ctl("gate", "web", "v9")
    t.check("umbractl gate of a version not under judgement exits 1",
            p.returncode == 1 and "not under judgement" in p.stdout, (p.returncode, p.stdout))
    p = ctl("gate", "web")
    t.check("umbractl gate without a version is a usage error (2)", p.returncode == 2,
            p.returncode)
    r = d.call("verdict/gate", service="nope", version="v2")
    t.check("an unknown service is invalid_args",
            r.get("error", {}).get("code") == "invalid_args", r)
    a = d.call("analytics/summary")
    t.check("analytics/summary counts the judged release",
            ok(a) and a["result"]["releases"] >= 1 and a["result"]["rollbacks"] == 0, a)
    # An apply that reorders the services: web's judgement moves with it
    # (CTL_VERDICTS), neither ended nor started again.
    text = open(d.confs[0]).read()
    head, rest = text.split("services:\n", 1)
    web, api = rest.split("  - name: api\n", 1)
    swapped = os.path.join(work, "swapped.yaml")
    with open(swapped, "w") as f:
        f.write(head + "services:\n  - name: api\n" + api + web)
    r = d.call("config/apply", path=swapped)
    t.check("config/apply with api listed before web", ok(r), r)
    time.sleep(0.5)
    rel = d.call("verdict/status", service="web").get("result", {}).get("releases", [])
    t.check("web's release is still judged after the reorder",
            len(rel) == 1 and rel[0]["canary"] == "v2" and rel[0]["control"] == "v1", rel)
    log = open(os.path.join(d.dir, "umbra.log")).read()
    t.check("its judgement moved, not started again",
            log.count("verdict: judging web v2 against v1") == 1, log[-1500:])
    a2 = d.call("analytics/summary")
    t.check("and the history counts no new release",
            ok(a2) and a2["result"]["releases"] == a["result"]["releases"], (a, a2))
    r = d.call("event/rollback", service="web", stage="production", reason="operator")
    t.check("event/rollback stage=production undoes the whole release there", ok(r), r)
    st = d.call("workflow/status", service="web")["result"]["services"][0]
    prod = [x for x in st["stages"] if x["stage"] == "production"][0]
    t.check("production runs v1 alone again", prod.get("version") == "v1" and
            "canary" not in prod, prod)
    t.check("clean stop", d.stop() == 0)
    log = open(os.path.join(d.dir, "umbra.log")).read()
    t.check("the log says what was judged", "verdict: judging web v2 against v1" in log)
finally:
    d.cleanup(keep=t.n > 0)

# Without a state directory there is no history to summarize.
e = Daemon("verdicts2", conf_text=CONF)
try:
    t.check("umbra starts without a state directory", e.start())
    r = e.call("analytics/summary")
    t.check("analytics/summary says to keep a state directory",
            not ok(r) and "--state-dir" in r.get("error", {}).get("message", ""), r)
    t.check("clean stop", e.stop() == 0)
finally:
    e.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
