#!/usr/bin/python3
"""kill -9 at 100 random moments (issue 10's harness): while config applies,
snapshot rollbacks and workflow events (commits with the automatic next
step, test results whose stage runs a hook, rollbacks) run, umbra is killed
after a seeded random delay and started again on the same state directory.
Each restart must resume a generation no older than the last one umbra
acknowledged (the one in flight may or may not have been kept), whose YAML
is whole; the snapshot list must hold it; and the workflow history must hold
every acknowledged transition, none of them still "running". The seed is
KILL9_SEED (default 1009); the last line says how many of the 100 restarts
were checked."""
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

from umbrad import Daemon, Failures

KILLS = 100
t = Failures()
seed = int(os.environ.get("KILL9_SEED", "1009"))
rng = random.Random(seed)
work = tempfile.mkdtemp(prefix="umbra-kill9-")

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - {{ name: staging, egress: {{ port: sink, vlan: 300 }} }}
  - {{ name: test, egress: {{ port: sink, vlan: {vlan} }} }}
  - {{ name: dev, egress: {{ port: sink, vlan: 100 }} }}
services:
  - name: web
    match: {{ dst: 10.0.0.10/32, proto: tcp, dport: 80 }}
    stages: {{ staging: {{ running: v1 }}, production: {{ running: v1 }} }}
workflow:
  hooks:
    - {{ name: deploy, stage: staging, service: web, run: [/bin/sh, -c, "exit 0"] }}
# end of configuration
"""
LAST_LINE = "# end of configuration"


class Acked:
    """What umbra acknowledged (recorded only after the reply arrived)."""

    def __init__(self):
        self.generation = 0
        self.transitions = set()
        self.version = None


acked = Acked()


def result(r):
    return r.get("result") if r.get("ok") else None


def ops(d, stop, it):
    """Apply, commit, roll back a snapshot, test results, roll back an event."""
    k = 0
    try:
        while not stop.is_set():
            step = k % 5
            if step == 0:
                r = result(d.call("config/apply", path=d.confs[k % 2]))
            elif step == 1:
                v = "v%d-%d" % (it, k)
                r = result(d.call("event/code_commit", service="web", version=v))
                if r:
                    acked.version = v
            elif step == 2:
                r = result(d.call("snapshot/rollback", generation=max(1, acked.generation - 1)))
            elif step == 3:
                r = result(d.call("event/test_completion", service="web",
                                  version=acked.version or "v1", passed=True))
            else:
                r = result(d.call("event/rollback", service="web"))
            if r and "generation" in r and step in (0, 2):
                acked.generation = max(acked.generation, r["generation"])
            if r and "id" in r and step in (1, 3, 4):
                acked.transitions.add(r["id"])
            # the generation running now was stored before it was published
            st = result(d.call("status"))
            if st:
                acked.generation = max(acked.generation, st["generation"])
            k += 1
    except (OSError, ValueError):
        return  # killed under us


def check_resumed(d, n):
    st = result(d.call("status")) or {}
    gen = st.get("generation", 0)
    ok = gen >= acked.generation
    t.check("restart %d resumes generation %d >= acknowledged %d" % (n, gen, acked.generation),
            ok, st)
    shown = result(d.call("config/show")) or {}
    whole = shown.get("yaml", "").rstrip().endswith(LAST_LINE)
    t.check("restart %d: its YAML is whole" % n, whole, shown.get("yaml", "")[-120:])
    snaps = [x["generation"] for x in result(d.call("snapshot/list")) or []]
    listed = gen in snaps and snaps == sorted(snaps)
    t.check("restart %d: the snapshot list holds it" % n, listed, snaps[-5:])
    hist = result(d.call("workflow/history", limit=10000)) or []
    have = {x["id"]: x["status"] for x in hist}
    missing = acked.transitions - set(have)
    running = [i for i, s in have.items() if s == "running" and i in acked.transitions]
    t.check("restart %d: history holds all %d acknowledged transitions" %
            (n, len(acked.transitions)), not missing and not running, (missing, running))
    acked.generation = max(acked.generation, gen)
    return ok and whole and listed and not missing and not running


state = os.path.join(work, "state")
d = Daemon("kill9", state_dir=state, conf_text=CONF)
checked = 0
t0 = time.time()
for n in range(1, KILLS + 1):
    if not d.start():
        t.check("restart %d" % n, False, open(os.path.join(d.dir, "umbra.log")).read()[-1500:])
        break
    if n > 1 and check_resumed(d, n - 1):
        checked += 1
    stop = threading.Event()
    th = threading.Thread(target=ops, args=(d, stop, n))
    th.start()
    time.sleep(rng.uniform(0.02, 0.5))
    d.stop(signal.SIGKILL)
    stop.set()
    th.join()
# the 100th kill is checked by one more start
if d.start():
    if check_resumed(d, KILLS):
        checked += 1
    t.check("clean stop at the end", d.stop() == 0)
else:
    t.check("final restart", False)
log = open(os.path.join(d.dir, "umbra.log")).read()
print("kill9: seed %d, %.0f s, %d transitions and generation %d acknowledged; "
      "restarts finding a generation stored but not yet current: %d, a torn journal "
      "line: %d" % (seed, time.time() - t0, len(acked.transitions), acked.generation,
                    log.count("not yet marked current"), log.count("is torn")))
print("kill9: checked %d of %d" % (checked, KILLS))
t.check("all %d restarts checked" % KILLS, checked == KILLS)
d.cleanup(keep=t.n > 0)
if t.n == 0:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if t.n else 0)
