#!/usr/bin/python3
"""Compliance invariants cannot be bypassed by steering (issue 10, item 3).

With `never {from: production, to: dev}` (dev's network: port sink, VLAN
100): --check refuses a split that sends production's flows to dev and a
service backend for production on dev's network (exit 2, the road's
file:line:col, the policy and its position); config/validate and
config/apply refuse them too and the running generation does not change;
config/apply of the policy while production runs a version on dev's
network is refused; a workflow event (a rollback) that would put
production back on dev's network is refused before it starts; shadow
create toward dev's network is refused."""
import os
import subprocess
import time

from umbrad import SRC, UMBRA, Daemon, Failures, eal_mem

t = Failures()

CONF = """ports:
  - {{{{ name: gen, vdev: "{{gen}}", role: uplink }}}}
  - {{{{ name: sink, vdev: "net_null_{{tag}}1,no-rx=1" }}}}
stages:
  - {{{{ name: production, default: true, egress: {{{{ port: sink }}}} }}}}
  - {{{{ name: dev, egress: {{{{ port: sink, vlan: 100 }}}} }}}}
services:
  - name: web
    match: {{{{ dst: 10.0.0.10/32, proto: tcp, dport: 80 }}}}
    backends:
      - {{{{ name: blue, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:01" }}}}
      - {{{{ name: green, port: sink, vlan: 302, next_hop_mac: "02:00:00:00:0b:02" }}}}
      - {{{{ name: lab, port: sink, vlan: 100 }}}}
    stages:
      production: {{{{ backends: [blue, {second}], running: v1 }}}}
workflow:
  pipeline:
    - {{{{ stage: production, on: code_commit }}}}
{policy}{splits}"""
POLICY = """policies:
  - name: production-never-dev
    never: {{ from: production, to: dev }}
"""
SPLIT = """splits:
  - {{ name: prod-to-dev, stage: production, hash: [0, 999], to_stage: dev }}
"""
FORBIDS = ("which policy 'production-never-dev' never{from: production, to: dev} "
           "(%s:20:5) forbids")


def template(second="green", policy=POLICY, splits=""):
    return CONF.format(second=second, policy=policy, splits=splits)


def ok(r):
    return r.get("ok") is True


def message(r):
    return r.get("error", {}).get("message", "")


def generation(d):
    return d.call("status")["result"]["generation"]


def production(d):
    s = d.call("workflow/status", service="web")["result"]["services"][0]
    return [x for x in s["stages"] if x["stage"] == "production"][0]


def wait_done(d, tid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        tr = d.call("workflow/transition", id=tid).get("result", {})
        if tr.get("status") not in (None, "running"):
            return tr
        time.sleep(0.1)
    return {}


# The daemon runs without the policy, production on [blue, lab].
d = Daemon("inv", conf_text=template(second="lab", policy=""))
files = {}
for name, text in [("split", template(splits=SPLIT)),
                   ("backend", template(second="lab")),
                   ("policy", template())]:
    files[name] = os.path.join(d.dir, "%s.yaml" % name)
    with open(files[name], "w") as f:
        f.write(text.format(gen="net_null_%s0,no-rx=1" % d.tag, tag=d.tag))

split_msg = ("%s:23:5: split 'prod-to-dev' sends production's flows to stage dev, "
             + FORBIDS) % (files["split"], files["split"])
backend_msg = ("%s:15:7: service 'web' gives production backend 'lab' on stage dev's "
               "network (port sink, vlan 100), " + FORBIDS) % (files["backend"],
                                                              files["backend"])


def check(path):
    return subprocess.run([UMBRA, "-l", "0-1", "--no-pci", "--file-prefix",
                           "umbra-inv-check-%d" % os.getpid()] + eal_mem() +
                          ["--log-level=lib.eal:error", "--", "-c", path, "--check"],
                          capture_output=True, text=True, timeout=60)


r = check(files["split"])
t.check("--check refuses a split of production's flows to dev (exit 2)", r.returncode == 2,
        (r.returncode, r.stderr))
t.check("... naming the split, its position and the policy with its position",
        split_msg in r.stderr, r.stderr)
r = check(files["backend"])
t.check("--check refuses a production backend on dev's network (exit 2)",
        r.returncode == 2 and backend_msg in r.stderr, (r.returncode, r.stderr))
r = check(files["policy"])
t.check("--check accepts the policy with production on its own networks",
        r.returncode == 0, (r.returncode, r.stdout, r.stderr))

t.check("umbra starts (no policy yet, production on blue or lab)", d.start())
try:
    g0 = generation(d)
    r = d.call("config/validate", path=files["split"])
    t.check("config/validate refuses the split with the same message",
            not ok(r) and message(r) == split_msg, r)
    r = d.call("config/apply", path=files["split"])
    t.check("config/apply refuses the split naming it and the policy",
            not ok(r) and message(r) == split_msg, r)
    r = d.call("config/apply", path=files["backend"])
    t.check("config/apply refuses the backend on dev's network",
            not ok(r) and message(r) == backend_msg, r)
    t.check("the running generation is unchanged", generation(d) == g0)

    # v2 goes to the backend v1 does not use: lab, on dev's network.
    r = d.call("event/code_commit", service="web", version="v2")
    tr = wait_done(d, r.get("result", {}).get("id"))
    t.check("without the policy, v2 runs on lab",
            tr.get("status") == "done" and production(d).get("backend") == "lab",
            (r, tr, production(d)))
    g1 = generation(d)
    r = d.call("config/apply", path=files["policy"])
    t.check("applying the policy while production runs on dev's network is refused",
            not ok(r) and message(r) == (
                "steering state: version v2 of service 'web' in production runs on "
                "backend 'lab' on stage dev's network (port sink, vlan 100), "
                + FORBIDS % files["policy"]), r)
    t.check("... and the generation is unchanged", generation(d) == g1)

    r = d.call("event/code_commit", service="web", version="v3")
    tr = wait_done(d, r.get("result", {}).get("id"))
    t.check("v3 moves production back to blue",
            tr.get("status") == "done" and production(d).get("backend") == "blue", tr)
    r = d.call("config/apply", path=files["policy"])
    t.check("now the policy applies", ok(r), r)
    g2 = generation(d)

    r = d.call("event/rollback", service="web", reason="back to v2")
    t.check("a rollback that would put v2 back on dev's network is refused",
            not ok(r) and message(r) == (
                "rollback for web refused: steering state: version v2 of service "
                "'web' in production runs on backend 'lab' on stage dev's network "
                "(port sink, vlan 100), " + FORBIDS % files["policy"]), r)
    t.check("... before it starts: no transition, production still v3 on blue, "
            "generation unchanged",
            generation(d) == g2 and production(d).get("version") == "v3" and
            production(d).get("backend") == "blue" and
            d.call("workflow/history", service="web", limit=1)["result"][0]
            .get("event") == "code_commit", production(d))

    # Shadow ports are never a stage's network: a profile toward dev's
    # network is refused (by the port's role before the policy).
    r = d.call("shadow/create", name="to-dev", stage="production", port="sink",
               vlan=100)
    t.check("shadow create toward dev's network is refused",
            not ok(r) and "not a shadow port" in message(r), r)
    t.check("... and no profile exists",
            d.call("shadow/list")["result"]["profiles"] == [], d.call("shadow/list"))
    t.check("umbra is still alive", d.proc.poll() is None)
    t.check("umbra stops cleanly", d.stop() == 0)
finally:
    d.cleanup(keep=t.n > 0)
exit(1 if t.n else 0)
