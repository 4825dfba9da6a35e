#!/usr/bin/python3
"""The release workflow over the socket: every legal transition of the
default pipeline (commit -> dev -> test, tests passed -> staging, approval
-> production in rollout steps), every illegal one refused with its reason,
hooks (environment, output, undo commands run by a rollback), a failing
hook and a timed-out one (nothing of the transition remains), rollbacks to
a stage, of the last transition and to a generation, the history with
rollback signatures, /metrics, and a kill -9 while a hook runs (the
transition is interrupted and reverted after the restart)."""
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.request

from umbrad import Daemon, Failures

t = Failures()
work = tempfile.mkdtemp(prefix="umbra-wf-")
marks = os.path.join(work, "marks")

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
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
    rollout: {{ steps: [10, 50, 100], hold_s: 1 }}
    verdict: {{ enabled: false }}   # steps on the timer alone: the workflow engine's test
  - name: api
    match: {{ dst: 10.0.0.11/32 }}
    stages: {{ staging: {{ running: a1 }} }}
  - name: db
    match: {{ dst: 10.0.0.12/32 }}
    stages: {{ staging: {{ running: d1 }} }}
  - name: slow
    match: {{ dst: 10.0.0.13/32 }}
workflow:
  hooks:
    - name: deploy-staging
      stage: staging
      service: web
      run: [/bin/sh, -c, "echo $UMBRA_EVENT $UMBRA_SERVICE $UMBRA_VERSION $UMBRA_FROM_STAGE $UMBRA_TO_STAGE >> MARKS; echo deployed"]
      undo: [/bin/sh, -c, "echo undo-staging $UMBRA_SERVICE >> MARKS"]
    - name: switch-production
      stage: production
      service: web
      when: after
      run: [/bin/sh, -c, "echo prod $UMBRA_VERSION >> MARKS"]
      undo: [/bin/sh, -c, "echo undo-prod $UMBRA_SERVICE >> MARKS"]
    - {{ name: broken, stage: staging, service: api, run: [/bin/sh, -c, "echo no disk >&2; exit 3"] }}
    - {{ name: hangs, stage: staging, service: db, when: after, run: [/bin/sleep, "30"], timeout_s: 1 }}
    - {{ name: long, stage: staging, service: slow, when: after, run: [/bin/sleep, "60"] }}
""".replace("MARKS", marks)


def ok(r):
    return r.get("ok") is True


def result(r):
    return r.get("result", {})


def refused(r, words):
    msg = r.get("error", {}).get("message", "")
    return r.get("ok") is False and all(w in msg for w in words)


def status(d, svc):
    s = result(d.call("workflow/status", service=svc))["services"][0]
    return {x["stage"]: x for x in s["stages"]}, s["releases"]


def release(d, svc, version):
    return [r for r in status(d, svc)[1] if r["version"] == version][-1]


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def wait_done(d, tid, timeout=10):
    return wait_for(lambda: (lambda x: x if x.get("status") != "running" else None)(
        result(d.call("workflow/transition", id=tid))), timeout) or {}


def generation(d):
    return result(d.call("status"))["generation"]


state = os.path.join(work, "state")
d = Daemon("wf", state_dir=state, http=19000 + os.getpid() % 1000, conf_text=CONF)
t.check("umbra starts with services and a workflow", d.start())

# --- illegal before anything happened
t.check("test results for a version never committed are refused",
        refused(d.call("event/test_completion", service="web", version="v2", passed=True),
                ["never committed"]))
t.check("an unknown service is refused",
        refused(d.call("event/code_commit", service="nope", version="v2"), ["unknown service"]))
t.check("a version with spaces is refused",
        refused(d.call("event/code_commit", service="web", version="v 2"), ["version"]))
t.check("approval without approver is an argument error",
        d.call("event/manual_approval", service="web", version="v2")["error"]["code"]
        == "invalid_args")
t.check("nothing to roll back yet",
        refused(d.call("event/rollback", service="web"), ["nothing to roll back"]))

# --- code commit: dev, then test automatically
g0 = generation(d)
r = d.call("event/code_commit", service="web", version="v2", ref="abc123")
t.check("code_commit is accepted", ok(r) and result(r)["status"] == "done", r)
st, rel = status(d, "web")
t.check("v2 runs in dev and test", st["dev"].get("version") == "v2" and
        st["test"].get("version") == "v2", st)
t.check("the release waits in test", release(d, "web", "v2")["stage"] == "test" and
        release(d, "web", "v2")["status"] == "active", rel)
t.check("two new generations (dev, then test)", generation(d) == g0 + 2)
t.check("committing v2 again is refused",
        refused(d.call("event/code_commit", service="web", version="v2"),
                ["already in the pipeline", "test"]))
t.check("approval of a version in test is refused, saying where it is",
        refused(d.call("event/manual_approval", service="web", version="v2", approver="al"),
                ["web v2 is in test", "only in staging"]))

# --- failed tests: recorded, nothing published
g1 = generation(d)
r = d.call("event/test_completion", service="web", version="v2", passed=False,
           results={"failed": 3, "suite": "smoke"})
t.check("failed test results are recorded", ok(r) and result(r)["status"] == "done", r)
t.check("... publish nothing", generation(d) == g1)
t.check("... and fail the release", release(d, "web", "v2")["status"] == "failed")
t.check("a failed release cannot be approved",
        refused(d.call("event/manual_approval", service="web", version="v2", approver="al"),
                ["failed"]))

# --- v3 passes: staging with its hook
d.call("event/code_commit", service="web", version="v3", ref="def456")
t.check("v3 supersedes v2 in test", release(d, "web", "v3")["stage"] == "test")
r = d.call("event/test_completion", service="web", version="v3", passed=True)
tr = wait_done(d, result(r)["id"])
t.check("tests passed: v3 promoted to staging", tr.get("status") == "done" and
        status(d, "web")[0]["staging"]["version"] == "v3", tr)
hooks = tr.get("hooks", [])
t.check("the staging hook ran with the event in its environment",
        len(hooks) == 1 and hooks[0]["exit"] == 0 and "deployed" in hooks[0]["output"] and
        "test_completion web v3 test staging" in open(marks).read(), hooks)
sig = tr.get("signature", {})
t.check("the rollback signature lists the change, the undo hook and what to verify",
        sig.get("changes", [{}])[0].get("revert_to") == {"version": "v1"} and
        sig.get("hooks", [{}])[0].get("name") == "deploy-staging" and
        sig.get("verify", [{}])[0].get("expect") == {"version": "v1"} and
        isinstance(sig.get("depends_on"), list), sig)

# --- approval: production in steps 10% -> 50% -> 100%
r = d.call("event/manual_approval", service="web", version="v3", approver="alice")
tr = wait_done(d, result(r)["id"])
after = tr.get("changes", [{}])[0].get("after", {})
t.check("approval starts a canary: v3 on green for 10% of new flows",
        after.get("canary") == {"version": "v3", "backend": "green", "bp": 1000} and
        after.get("version") == "v1" and after.get("backend") == "blue", tr)
t.check("the release is rolling out", release(d, "web", "v3")["status"] == "rolling_out")
t.check("the production hook ran after the publish",
        tr.get("hooks", [{}])[0].get("when") == "after" and "prod v3" in open(marks).read())
final = wait_for(lambda: status(d, "web")[0]["production"].get("canary") is None and
                 status(d, "web")[0]["production"].get("version") == "v3", 10)
t.check("the rollout ends with v3 on green for every new flow", final and
        status(d, "web")[0]["production"].get("backend") == "green",
        status(d, "web")[0]["production"])
steps = [x.get("bp") for x in reversed(result(d.call("workflow/history", service="web",
                                                       limit=2)))]
t.check("... through steps 50% and 100%", steps == [5000, 10000], steps)
t.check("v3 is live in production", release(d, "web", "v3")["stage"] == "production" and
        release(d, "web", "v3")["status"] == "active")

# --- rollback to staging: production back to v1 on blue, undo hooks run
r = d.call("event/rollback", service="web", to_stage="staging", reason="errors up")
tr = wait_done(d, result(r)["id"])
st = status(d, "web")[0]
t.check("rollback to staging restores v1 on blue in production",
        st["production"].get("version") == "v1" and st["production"].get("backend") == "blue"
        and st["production"].get("canary") is None, st["production"])
t.check("... undoes the approval and both rollout steps", len(tr.get("undoes", [])) == 3, tr)
t.check("... and verifies the running generation steers as planned", tr.get("verified") is True, tr)
t.check("... runs the production hook's undo command", "undo-prod web" in open(marks).read())
t.check("... and v3 waits in staging again", release(d, "web", "v3")["stage"] == "staging"
        and release(d, "web", "v3")["status"] == "active")

# --- rollback of the last transition: staging back to v1, v3 back to test
r = d.call("event/rollback", service="web")
tr = wait_done(d, result(r)["id"])
t.check("a plain rollback undoes the last transition (tests passed)",
        status(d, "web")[0]["staging"].get("version") == "v1" and
        release(d, "web", "v3")["stage"] == "test", tr)
t.check("... running the staging hook's undo", "undo-staging web" in open(marks).read())

# --- rollback to a generation
r = d.call("event/rollback", service="web", to_generation=1)
tr = wait_done(d, result(r)["id"])
st = status(d, "web")[0]
t.check("rollback to generation 1 restores its steering for the service",
        "version" not in st["dev"] and "version" not in st["test"] and
        st["production"].get("version") == "v1", st)
t.check("rollback takes one of to_stage, stage and to_generation",
        refused(d.call("event/rollback", service="web", to_stage="dev", to_generation=1),
                ["one of to_stage, stage and to_generation"]))
t.check("rollback to a stage outside the pipeline is refused",
        refused(d.call("event/rollback", service="web", to_stage="nowhere"), ["not a stage"]))

# --- a failing before-hook: nothing published
d.call("event/code_commit", service="api", version="a2")
g2 = generation(d)
r = d.call("event/test_completion", service="api", version="a2", passed=True)
tr = wait_done(d, result(r)["id"])
t.check("a failing hook aborts the transition", tr.get("status") == "aborted" and
        "broken" in tr.get("message", "") and tr["hooks"][0]["exit"] == 3 and
        "no disk" in tr["hooks"][0]["output"], tr)
t.check("... before anything was published", generation(d) == g2 and
        status(d, "api")[0]["staging"]["version"] == "a1")
t.check("... and the release stays in test", release(d, "api", "a2")["stage"] == "test")

# --- an after-hook that times out: the published change is reverted
d.call("event/code_commit", service="db", version="d2")
r = d.call("event/test_completion", service="db", version="d2", passed=True)
tr = wait_done(d, result(r)["id"], 15)
t.check("a hook past its timeout aborts the transition", tr.get("status") == "aborted" and
        tr["hooks"][0]["timed_out"], tr)
t.check("... and restores the previous steering in a new generation",
        tr.get("restored_generation", 0) > tr.get("generation", 0) > 0 and
        status(d, "db")[0]["staging"]["version"] == "d1", tr)

# --- a transition running its hooks: the service is busy; kill -9 meanwhile
d.call("event/code_commit", service="slow", version="s2")
r = d.call("event/test_completion", service="slow", version="s2", passed=True)
busy_id = result(r)["id"]
time.sleep(0.3)
t.check("an event for a service whose transition runs hooks is refused",
        refused(d.call("event/rollback", service="slow"), ["still running"]))
t.check("... other services are not blocked",
        ok(d.call("event/code_commit", service="api", version="a3")))
t.check("workflow/status shows the running transition",
        result(d.call("workflow/status", service="slow"))["services"][0].get("running")
        == busy_id)

# --- metrics
try:
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % d.http, timeout=5).read().decode()
except OSError as e:
    text = str(e)
t.check("/metrics has releases and transitions",
        'umbra_release_info{service="web",version="v1",stage="production",status="active"}'
        not in text and 'umbra_workflow_transitions{status="aborted"} 2' in text and
        "umbra_workflow_running 1" in text and
        'umbra_release_info{service="slow",version="s2",stage="test",status="active"} 1' in text,
        text[-1500:])
n_hist = len(result(d.call("workflow/history", limit=1000)))
d.stop(signal.SIGKILL)

t.check("restarts after kill -9 during a hook", d.start())
tr = result(d.call("workflow/transition", id=busy_id))
t.check("the transition is marked interrupted and its change reverted",
        tr.get("status") == "interrupted" and tr.get("restored_generation", 0) > 0, tr)
t.check("slow's staging is back to nothing", "version" not in status(d, "slow")[0]["staging"])
t.check("history and releases survive", len(result(d.call("workflow/history", limit=1000)))
        == n_hist and release(d, "web", "v3")["stage"] == "test")
t.check("the service is free again", ok(d.call("event/rollback", service="api")))
d.stop()
d.cleanup()
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if t.n else 0)
