#!/usr/bin/python3
"""The state directory never loses history silently (issue 10, item 6).

Start-up rule (README, "State directory"): umbra resumes the newest complete
snapshot and logs whatever disagrees ("current" missing, garbage, naming
another generation); it deletes nothing at start-up. Workflow state that
cannot be read or has the wrong shape refuses the start with one sentence
(exit 1) and is left as it was; a torn last journal line is dropped and
logged. Also: temporary files never write through a planted symlink, a
group/world-writable state directory is refused, retention prunes beyond
snapshots.keep but keeps the current generation, and workflow changes are
appended to a journal instead of rewriting workflow.json."""
import json
import os
import shutil
import signal
import sys
import tempfile
import urllib.request

from umbrad import Daemon, Failures

t = Failures()
work = tempfile.mkdtemp(prefix="umbra-state-t-")


def log_of(d):
    with open(os.path.join(d.dir, "umbra.log")) as f:
        return f.read()


def refused_start(d, words):
    """Starts, must exit 1 with every word in its log."""
    before = len(log_of(d)) if os.path.exists(os.path.join(d.dir, "umbra.log")) else 0
    up = d.start()
    if up:
        d.stop(signal.SIGKILL)
        return False, "it started"
    rc = d.proc.wait(timeout=30)
    d.log.close()
    text = log_of(d)[before:]
    return rc == 1 and all(w in text for w in words), "rc=%s log=%s" % (rc, text[-600:])


def files(state):
    return sorted(f for f in os.listdir(state) if f.startswith("gen-") or f == "current")


# ---- garbage in "current": nothing deleted, newest complete snapshot resumed, logged
state = os.path.join(work, "s1")
os.mkdir(state, 0o750)
d = Daemon("state1", state_dir=state)
t.check("umbra starts with a state directory", d.start())
gens = [d.call("config/apply", path=d.confs[i % 2]).get("result", {}).get("generation")
        for i in range(1, 4)]
t.check("three applies give generations 2-4", gens == [2, 3, 4], gens)
d.stop(signal.SIGKILL)
kept = files(state)
with open(os.path.join(state, "current"), "w") as f:
    f.write("\x00garbage\xff 17 not a number\n")
t.check("restarts with garbage in current", d.start())
t.check("no generation file was deleted", set(kept) <= set(files(state)),
        (kept, files(state)))
st = d.call("status").get("result", {})
t.check("resumes generation 4, the newest complete snapshot, not the -c file",
        st.get("generation") == 4, st)
t.check("the history is whole", [x["generation"] for x in
                                  d.call("snapshot/list")["result"]] == [1, 2, 3, 4])
t.check("the log says what happened",
        "current does not hold a generation number; resuming generation 4" in log_of(d),
        log_of(d)[-800:])

# ---- "current" naming an older generation, and a damaged snapshot: logged, kept
d.stop(signal.SIGKILL)
with open(os.path.join(state, "current"), "w") as f:
    f.write("2\n")
with open(os.path.join(state, "gen-3.yaml"), "a") as f:
    f.write("# tampered\n")
t.check("restarts with current naming 2 and gen-3 damaged", d.start())
log = log_of(d)
t.check("the damaged snapshot is logged and left on disk",
        "gen-3 is damaged" in log and "gen-3.yaml" in os.listdir(state), log[-800:])
t.check("current naming an older one is logged; the newest complete is resumed",
        "current names generation 2; resuming generation 4" in log and
        d.call("status")["result"]["generation"] == 4, log[-800:])
t.check("the damaged snapshot is not offered",
        [x["generation"] for x in d.call("snapshot/list")["result"]] == [1, 2, 4])

# ---- a symlink planted at a temporary name is never written through
outside = os.path.join(work, "outside")
with open(outside, "w") as f:
    f.write("precious\n")
for name in (".current.tmp", ".gen-5.yaml.tmp", ".gen-5.meta.tmp"):
    os.symlink(outside, os.path.join(state, name))
r = d.call("config/apply", path=d.confs[0])
t.check("apply succeeds with symlinks at the temporary names",
        r.get("result", {}).get("generation") == 5, r)
t.check("the file outside is untouched", open(outside).read() == "precious\n")
t.check("the snapshot files are regular files",
        all(not os.path.islink(os.path.join(state, f)) for f in
            ("current", "gen-5.yaml", "gen-5.meta")))
d.stop(signal.SIGKILL)

# ---- a state directory others can write is refused
os.chmod(state, 0o777)
ok, why = refused_start(d, ["writable by group or others", "chmod go-w"])
t.check("a world-writable state directory is refused with one sentence", ok, why)
os.chmod(state, 0o770)
ok, why = refused_start(d, ["writable by group or others"])
t.check("a group-writable one too", ok, why)
os.chmod(state, 0o750)
d.cleanup(keep=t.n > 0)

# ---- retention: beyond snapshots.keep files are pruned, the current is kept
KEEP = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: {stage}, default: true, egress: {{ port: sink }} }}
snapshots: {{ keep: 3 }}
"""
state = os.path.join(work, "s2")
d = Daemon("state2", state_dir=state, conf_text=KEEP)
t.check("umbra starts with snapshots.keep: 3", d.start())
for i in range(6):
    d.call("config/apply", path=d.confs[i % 2])
metas = sorted(f for f in os.listdir(state) if f.endswith(".meta"))
t.check("only the newest 3 snapshots stay on disk",
        metas == ["gen-5.meta", "gen-6.meta", "gen-7.meta"], metas)
t.check("... and in the list", [x["generation"] for x in d.call("snapshot/list")["result"]]
        == [5, 6, 7])
t.check("no yaml or state file of a pruned one is left",
        not any(f.startswith(("gen-1.", "gen-2.", "gen-3.", "gen-4.")) for f in os.listdir(state)),
        os.listdir(state))
r = d.call("snapshot/rollback", generation=5)
t.check("a rollback to a kept one works", r.get("result", {}).get("generation") == 8, r)
d.stop(signal.SIGKILL)
t.check("restart resumes the current after pruning", d.start() and
        d.call("status")["result"]["generation"] == 8)
d.stop()
d.cleanup(keep=t.n > 0)

# ---- workflow state
WF = """ports:
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
    stages: {{ staging: {{ running: v1 }}, production: {{ running: v1 }} }}
snapshots: {{ keep: 2 }}
"""
state = os.path.join(work, "s3")
port = 20000 + os.getpid() % 1000
d = Daemon("state3", state_dir=state, conf_text=WF, http=port, token="h5-token")
t.check("umbra starts with a workflow", d.start())
wfile = os.path.join(state, "workflow.json")
jfile = os.path.join(state, "workflow.journal")
ino = os.stat(wfile).st_ino
ids = []
for v in ("v2", "v3", "v4"):
    r = d.call("event/code_commit", service="web", version=v)
    ids.append(r.get("result", {}).get("id"))
t.check("three commits acknowledged", all(ids), ids)
jl = open(jfile).read().splitlines() if os.path.exists(jfile) else []
t.check("changes are appended to workflow.journal, one line each",
        len(jl) >= 6 and all(json.loads(x).get("transitions") for x in jl), jl[:2])
t.check("workflow.json is not rewritten at every change", os.stat(wfile).st_ino == ino)
last = d.call("workflow/history", service="web", limit=1)["result"][0]
points = {last.get("base_generation"), last.get("generation")}
for i in range(2):
    d.call("config/apply", path=d.confs[i])
metas = {int(f[4:-5]) for f in os.listdir(state) if f.endswith(".meta")}
cur = d.call("status")["result"]["generation"]
t.check("retention keeps the workflow's rollback points (%s) beyond keep: 2" %
        sorted(points), points <= metas and cur in metas and len(metas) == 4, sorted(metas))
n_hist = len(d.call("workflow/history", limit=1000)["result"])
d.stop(signal.SIGKILL)

# torn last line: dropped, logged, everything before it kept
with open(jfile, "a") as f:
    f.write('{"seq": 999, "next_id": 40, "service": "web", "transi')
t.check("restarts with a torn last journal line", d.start())
hist = d.call("workflow/history", limit=1000)["result"]
t.check("every acknowledged transition is in the history",
        len(hist) == n_hist and set(ids) <= {x["id"] for x in hist}, hist[:2])
t.check("the torn line is logged", "is torn" in log_of(d), log_of(d)[-600:])
t.check("the journal was folded into workflow.json at start-up",
        os.path.getsize(jfile) == 0)
d.stop(signal.SIGKILL)
good = open(wfile, "rb").read()


def refused_with(content, words, what):
    """Put @content at workflow.json; the start must be refused, the file left."""
    if isinstance(content, bytes):
        with open(wfile, "wb") as f:
            f.write(content)
    ok, why = refused_start(d, words)
    t.check(what, ok, why)
    same = open(wfile, "rb").read() == content if isinstance(content, bytes) else True
    t.check("... and workflow.json is left as it was", same)


refused_with(good[:len(good) // 2], ["is not a workflow state", "move it away"],
             "a truncated workflow.json refuses the start with a sentence")
bad = json.loads(good)
bad["history"][0]["status"] = 5
refused_with(json.dumps(bad).encode(), ["is not a workflow state", "history[0]"],
             "a wrong-shaped history refuses the start, naming the entry")
bad = json.loads(good)
bad["releases"]["web"] = [{"version": "v2"}]
refused_with(json.dumps(bad).encode(), ["releases of 'web'"],
             "a release without stage and status refuses the start")
with open(wfile, "wb") as f:
    f.truncate(300 << 20)  # sparse: larger than the 256 MiB limit
ok, why = refused_start(d, ["larger than 256 MiB", "move it away"])
t.check("an oversized workflow.json refuses the start", ok, why)
t.check("... and is not overwritten", os.path.getsize(wfile) == 300 << 20)
os.unlink(wfile)
os.mkdir(wfile)
ok, why = refused_start(d, ["workflow.json cannot be read (not a regular file)"])
t.check("an unreadable workflow.json (a directory) refuses the start", ok, why)
os.rmdir(wfile)
# damage in the middle of the journal is not a torn line
with open(wfile, "wb") as f:
    f.write(good)
with open(jfile, "w") as f:
    f.write('not json\n{"seq": 1000, "next_id": 1, "service": "web", "releases": null, '
            '"transitions": []}\n')
ok, why = refused_start(d, ["workflow.journal line 1 is damaged"])
t.check("a damaged journal line before others refuses the start", ok, why)
os.unlink(jfile)

# a shape that is valid but unusual: starts, /metrics answers
odd = json.loads(good)
odd["history"].append({"id": 9999, "service": "gone", "event": "code_commit",
                       "status": "weird", "extra": [1, 2]})
odd["releases"]["gone"] = [{"version": "x", "stage": "nowhere", "status": "active"}]
with open(wfile, "w") as f:
    json.dump(odd, f)
t.check("an unusual but well-shaped workflow.json starts", d.start())
try:
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    text = urllib.request.urlopen(req, timeout=5).read().decode()
except OSError as e:
    text = str(e)
t.check("/metrics answers after it", 'umbra_workflow_transitions{status="weird"} 1' in text,
        text[-600:])
t.check("the daemon is alive", d.call("hello")["ok"])
t.check("history kept", len(d.call("workflow/history", limit=1000)["result"]) == n_hist + 1)
t.check("clean stop", d.stop() == 0)
d.cleanup(keep=t.n > 0)
if t.n == 0:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if t.n else 0)
