#!/usr/bin/python3
"""A fleet through etcd, on loopback: a 3-member etcd cluster and 3 umbra
processes (net_null ports). Checks that every member sees the others and
one leader; an apply on one appliance puts every appliance on the same
configuration; a member's local keys (fleet: local:) are its own; an
invalid fleet configuration is refused everywhere with its reason; a stale
compare-and-swap is a conflict; killing one etcd member changes nothing;
workflow events sent to any member go to the leader and every member
follows its transitions; killing the leader during a rollout gives a new
leader within 5 s and the rollout completes on every member; a rollback
decided on one appliance reaches all of them within 1 s; a leader stopped
cleanly hands over at once (its lease revoked); a leader paused past its
lease (SIGSTOP) and resumed after another took over neither logs the event
it ran nor runs it a second time; a leader whose watch lags (held by its
relay) when it is deposed has its move to the log refused by the fence
and steps down; stopping all of
etcd keeps forwarding (status, fleet/status and /metrics say so, events
are refused with the reason) and a restart resyncs; the dashboard serves
its Fleet view. Skips (77) without etcd."""
import base64
import json
import os
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlab  # noqa: E402
from fleetlab import wait  # noqa: E402
from umbrad import Failures  # noqa: E402

if not fleetlab.ensure_etcd():
    print("SKIP: no etcd (apt-get install etcd-server etcd-client)")
    sys.exit(fleetlab.SKIP)

t = Failures()
etcd = fleetlab.Etcd()
members = []
proxies = {}
t0 = time.time()


def leaders(ms):
    return [m.status().get("leader") for m in ms]


def agreed_leader(ms):
    ls = leaders(ms)
    return ls[0] if ls[0] and len(set(ls)) == 1 else None


def by_id(ms, ident):
    return [m for m in ms if m.id == ident][0]


try:
    t.check("3-member etcd cluster up", etcd.start_all())
    urls = etcd.urls()
    prefix = "/umbra/h5t%d" % os.getpid()
    http = fleetlab.free_ports(3)
    for i, name in enumerate(["h5-rack-a", "h5-rack-b", "h5-rack-c"]):
        # each member starts on a different endpoint (rotated list), each
        # through relays of its own (to hold its watch back, later); rack-c
        # keeps its own ports and mempool whatever the fleet's file says
        proxies[name] = [fleetlab.Proxy(p) for p in etcd.client]
        purls = [px.url() for px in proxies[name]]
        m = fleetlab.Member(name, purls[i:] + purls[:i], prefix, http=http[i],
                            local=["ports", "mempool"] if i == 2 else None, state=True)
        t.check("%s starts" % name, m.start())
        members.append(m)
    a, b, c = members

    def all_see(n, ms=None):
        ms = ms or members
        return all(len(m.status().get("members", [])) == n and
                   m.status()["etcd"]["reachable"] for m in ms)
    t.check("every member sees the 3 members", wait(lambda: all_see(3), 10),
            [m.status() for m in members])
    lead = wait(lambda: agreed_leader(members), 10)
    t.check("one leader, the same for every member (%s)" % lead, lead,
            leaders(members))
    t.check("exactly one member leads",
            sum(1 for m in members if m.status()["leadership"]["me"]) == 1)
    js = urllib.request.urlopen("http://127.0.0.1:%d/ui/js/fleet.js" % http[0],
                                timeout=5).read()
    t.check("the dashboard serves its Fleet view", b"export function fleet" in js)
    st = a.call("status")["result"].get("fleet", {})
    t.check("status has a fleet section: etcd connected, the leader",
            st.get("etcd") == "connected" and st.get("leader") == lead and
            st.get("last_generation") is False, st)

    # -- an apply on one appliance reaches every appliance
    path = os.path.join(a.dir, "fleet-v2.yaml")
    with open(path, "w") as f:
        f.write(fleetlab.conf_text(vlan=42))
    r = a.call("fleet/apply", path=path)
    t.check("fleet/apply submitted", r.get("ok") and r["result"]["submitted"], r)
    rev = wait(lambda: a.status()["write"]["revision"]
               if a.status()["write"]["state"] == "written" else None, 5)
    t.check("the desired configuration is written (CAS)", rev, a.status().get("write"))

    def on_rev(m, rv):
        s = m.status()["config"]
        return s["applied_revision"] == rv and s["in_sync"]
    t.check("every member applies it", wait(lambda: all(on_rev(m, rev) for m in members), 5),
            [m.status().get("config") for m in members])
    texts = [m.call("config/show")["result"]["yaml"] for m in members]
    t.check("members without local keys run the same configuration text",
            texts[0] == texts[1] and "vlan: 42" in texts[0])
    t.check("the member with local keys runs the fleet's text with its own fleet: "
            "section", "vlan: 42" in texts[2] and "h5-rack-c" in texts[2] and
            "h5-rack-c" not in texts[0], texts[2])
    t.check("member keys report the generation",
            wait(lambda: all(x["config_revision"] == rev and x["in_sync"]
                             for x in b.status()["members"]), 3), b.status().get("members"))

    # -- overrides: rack-c keeps its own ports, the others take the fleet's
    other = fleetlab.conf_text(vlan=44).replace('vdev: "net_null1,no-rx=1"',
                                                'vdev: "net_null7,no-rx=1"')
    path_o = os.path.join(c.dir, "fleet-other-ports.yaml")
    with open(path_o, "w") as f:
        f.write(other)
    etcd.put(prefix + "/config", other, i=1)
    t.check("a configuration with other ports is refused by members that run the "
            "fleet's ports", wait(lambda: all(m.status()["config"]["refused"] and
                                              "port" in m.status()["config"]["refused"]
                                              ["reason"] for m in (a, b)), 5),
            [m.status().get("config") for m in (a, b)])
    t.check("... and applied by the member that keeps its own (local: [ports])",
            wait(lambda: c.status()["config"]["in_sync"] and
                 "vlan: 44" in c.call("config/show")["result"]["yaml"], 5),
            c.status().get("config"))
    r = c.call("fleet/apply", path=path)   # back to v2 for all, written by rack-c
    rev = wait(lambda: c.status()["write"]["revision"]
               if c.status()["write"]["state"] == "written" else None, 5)
    t.check("every member back on one configuration",
            rev and wait(lambda: all(on_rev(m, rev) for m in members), 5),
            [m.status().get("config") for m in members])

    # -- local keys: only the documented, box-level ones
    bad_local = os.path.join(a.dir, "bad-local.yaml")
    with open(bad_local, "w") as f:
        f.write(fleetlab.conf_text() + 'fleet: { etcd: ["http://127.0.0.1:9"], id: x, '
                'prefix: /umbra/x, local: [stages] }\n')
    r = a.call("config/validate", path=bad_local)
    t.check("fleet local: refuses a key outside ports, mempool, flow_table, mgmt, stats",
            not r.get("ok") and "fleet local key must be one of" in r["error"]["message"] and
            "bad-local.yaml:" in r["error"]["message"], r)

    # -- stale revision: conflict
    r = b.call("fleet/apply", path=path, revision=1)
    t.check("a stale compare-and-swap is a conflict",
            wait(lambda: b.status()["write"]["state"] == "conflict", 5) and
            str(rev) in b.status()["write"]["error"], b.status().get("write"))

    # -- invalid configuration: refused before writing, and everywhere
    bad = fleetlab.conf_text().replace("egress: { port: sink, vlan: 200 }",
                                       "egress: { port: nowhere }")
    bad_path = os.path.join(a.dir, "bad.yaml")
    with open(bad_path, "w") as f:
        f.write(bad)
    r = a.call("fleet/apply", path=bad_path)
    t.check("fleet/apply refuses an invalid file with file:line:col",
            not r.get("ok") and "bad.yaml:" in r["error"]["message"] and
            "nowhere" in r["error"]["message"], r)
    etcd.put(prefix + "/config", bad, i=1)   # another writer (etcdctl, a script)

    def refused(m):
        x = m.status()["config"]["refused"]
        return x and "nowhere" in x["reason"]
    t.check("an invalid fleet configuration is refused everywhere with the reason",
            wait(lambda: all(refused(m) for m in members), 5),
            [m.status().get("config") for m in members])
    t.check("each member still runs the last good one",
            all(m.status()["config"]["applied_revision"] == rev for m in members))
    t.check("the refusals are in the member keys",
            wait(lambda: all(x.get("refused") and "nowhere" in x["refused"]["reason"]
                             for x in c.status()["members"]), 3), c.status().get("members"))

    # -- one etcd member killed: nothing changes
    etcd.kill(0)   # rack-a's first endpoint
    path3 = os.path.join(b.dir, "fleet-v3.yaml")
    with open(path3, "w") as f:
        f.write(fleetlab.conf_text(vlan=43))
    # A write that meets etcd electing a new leader fails (and says so in
    # fleet/status): the operator tries again.
    r, rev3 = None, None
    deadline = time.time() + 10
    while rev3 is None and time.time() < deadline:
        r = b.call("fleet/apply", path=path3)
        if r.get("ok"):
            wait(lambda: b.status()["write"]["state"] != "submitted", 3)
            w = b.status()["write"]
            rev3 = w["revision"] if w["state"] == "written" else None
        if rev3 is None:
            time.sleep(0.2)
    t.check("with one etcd member dead, an apply still reaches every member",
            rev3 and wait(lambda: all(on_rev(m, rev3) for m in members), 5),
            (r, b.status().get("write"), [m.status().get("config") for m in members]))
    t.check("with one etcd member dead, every member is still seen",
            wait(lambda: all_see(3), 5))
    t.check("with one etcd member dead, the leader is the same",
            wait(lambda: agreed_leader(members) == lead, 5), leaders(members))
    etcd.start(0)
    etcd.wait_healthy(15)

    # -- workflow events sent to any member: the leader runs them, all follow
    follower = [m for m in members if m.id != lead][0]

    def release_in(m, ver, stage):
        rel = [x for x in m.call("workflow/status", service="web")["result"]
               ["services"][0]["releases"] if x.get("version") == ver]
        return rel and rel[0]["stage"] == stage

    r = follower.call("event/code_commit", service="web", version="v2")
    t.check("an event sent to a follower is forwarded to the leader",
            r.get("ok") and r["result"]["forwarded"] and r["result"]["leader"] == lead, r)
    t.check("every member follows the leader's transition (v2 in test)",
            wait(lambda: all(release_in(m, "v2", "test") for m in members), 5),
            [m.call("workflow/status", service="web")["result"] for m in members])
    log = follower.status()["log"]
    t.check("the follower's log names the leader and says it followed",
            log and log[0]["leader"] == lead and log[0]["here"] == "followed" and
            log[0]["from"] == follower.id, log[:2])
    r = follower.call("event/code_commit", service="web", version="v2")
    t.check("an illegal event is refused by the leader, and by no member on its own",
            wait(lambda: follower.status()["log"][0]["here"] == "refused by the leader",
                 5), follower.status()["log"][:1])
    lead_m = by_id(members, lead)

    def running(m):
        return m.call("workflow/status", service="web")["result"]["services"][0].get(
            "running") is not None

    def kill_leader(ms):
        """kill -9 the leader of ms: (the new leader's member, seconds)."""
        old = by_id(ms, wait(lambda: agreed_leader(ms), 15))
        old.kill9()
        t_kill = time.time()
        rest = [m for m in ms if m is not old]
        new = wait(lambda: agreed_leader(rest) if agreed_leader(rest) not in (None, old.id)
                   else None, 10)
        return old, rest, (by_id(rest, new) if new else None), time.time() - t_kill

    # -- the leader killed while its transition runs (staging's hook, 1 s):
    # the event stays in etcd, the next leader runs it; the dead one, on
    # restart, finds its transition interrupted, reverts it, and follows.
    r = follower.call("event/test_completion", service="web", version="v2", passed=True)
    t.check("tests passed, sent to a follower: the leader's transition runs its hook",
            r.get("ok") and wait(lambda: running(lead_m), 5, step=0.005), r)
    old, rest, new, failover = kill_leader(members)
    t.check("killed during its transition: a new leader (%s) within 5 s (%.1f s)" % (
            new and new.id, failover), new and failover < 5, leaders(rest))
    t.check("the new leader runs the event (v2 in staging there)",
            wait(lambda: release_in(new, "v2", "staging"), 10, step=0.005),
            [m.status()["log"][:1] for m in rest])
    other = [m for m in rest if m is not new][0]
    # -- an event behind it waits on a follower still running its own hook
    # (followers start a transition when the leader's ended)
    r = new.call("event/manual_approval", service="web", version="v2", approver="h5")
    t.check("approval sent to the new leader", r.get("ok"), r)
    t.check("the rollout starts on the members left (a v2 canary)",
            wait(lambda: all((m.wf()["production"].get("canary") or {}).get("version") == "v2"
                             for m in rest), 5), [m.wf()["production"] for m in rest])
    t.check("... the approval waited on the follower for its own transition to end",
            other.status().get("log_waited", 0) >= 1,
            [m.status().get("log_waited") for m in rest])
    t.check("the old leader restarts", old.start())
    hist = json.dumps(old.call("workflow/history", service="web", limit=10)["result"])
    t.check("... its own transition is interrupted (and reverted)",
            '"interrupted"' in hist, hist[:600])

    # -- killing the leader during a rollout: a new leader, the rollout completes
    lead2, left, new2, failover = kill_leader(members)   # the restarted one may win
    t.check("killed during a rollout: a new leader (%s) within 5 s (%.1f s)" % (
            new2 and new2.id, failover), new2 and failover < 5, leaders(left))
    done = wait(lambda: all(m.wf()["production"].get("canary") is None and
                            m.wf()["production"].get("version") == "v2" for m in left), 20)
    t.check("the running rollout completes on every member left, the restarted one "
            "included (v2 on green)",
            done and all(m.wf()["production"].get("backend") == "green" for m in left),
            [m.wf()["production"] for m in left])
    t.check("the dead leader's key went with its lease",
            wait(lambda: all_see(2, left), 5), [m.status()["members"] for m in left])
    t.check("the second dead leader restarts", lead2.start())
    t.check("... rejoins, follows what it missed (state directory) and runs v2 too",
            wait(lambda: all_see(3) and lead2.wf()["production"].get("version") == "v2"
                 and lead2.wf()["production"].get("canary") is None, 15),
            (lead2.status().get("log", [])[:4], lead2.wf().get("production")))
    t.check("... without taking the lead back", agreed_leader(members) == new2.id,
            leaders(members))
    lead = new2.id
    lead_m = new2

    # -- a rollback decided on one appliance reaches all of them
    decider = [m for m in members if m.id != lead][0]
    others = [m for m in members if m is not decider]
    r = decider.call("fleet/decide", service="web", stage="production",
                     version="v2", reason="error rate 9%")
    t.check("fleet/decide rolls back here and publishes", r.get("ok") and
            r["result"]["published"], r)

    def rolled_back(m):
        for d in m.status()["decisions"]:
            if d["from"] == decider.id and d["service"] == "web" and \
                    d["result"] == "rolled back":
                return d
        return None
    got = wait(lambda: all(rolled_back(m) for m in others), 3)
    t.check("the leader and every other member rolled web back", got,
            [m.status().get("decisions") for m in others])
    if got:
        delays = [rolled_back(m)["delay_ms"] for m in others]
        t.check("within 1 s of the decision (%s ms)" % delays, max(delays) < 1000)
    t.check("production is back on v1 everywhere",
            wait(lambda: all(m.wf()["production"].get("version") == "v1" for m in members),
                 3), [m.wf()["production"] for m in members])
    hist = others[0].call("workflow/history", service="web", limit=5)["result"]
    t.check("the rollback is in the history with its origin",
            ("fleet: %s decided" % decider.id) in json.dumps(hist), hist)

    # -- a leader stopped cleanly revokes its lease: a successor at once,
    # not after the lease's TTL (3 s)
    lead_m = by_id(members, wait(lambda: agreed_leader(members), 10))
    rest = [m for m in members if m is not lead_m]
    t_stop = time.time()
    lead_m.stop()
    succ = wait(lambda: agreed_leader(rest) if agreed_leader(rest) not in (None, lead_m.id)
                else None, 5, step=0.01)
    handover = time.time() - t_stop
    t.check("a leader stopped cleanly hands over in well under its 3 s lease "
            "(%.2f s, stop included)" % handover, succ and handover < 1.5, leaders(rest))
    t.check("... and leaves the members at once (its lease revoked)",
            wait(lambda: all_see(2, rest), 0.5), [m.status()["members"] for m in rest])
    t.check("the cleanly stopped leader restarts and rejoins", lead_m.start() and
            wait(lambda: all_see(3), 10))

    # -- a deposed leader: paused (SIGSTOP) while its transition runs, past
    # its lease; another leads and runs the event; resumed, the old one
    # neither logs the event nor runs it a second time
    def log_entries(key):
        """The leader's log in etcd: the entries of event key."""
        r = etcd.call(0, "/v3/kv/range", {"key": fleetlab.b64(prefix + "/log/"),
                                          "range_end": fleetlab.b64(prefix + "/log0")})
        out = []
        for kv in r.get("kvs", []):
            o = json.loads(base64.b64decode(kv["value"]))
            if o.get("key") == key:
                out.append(o)
        return out

    old = by_id(members, wait(lambda: agreed_leader(members), 10))
    rest = [m for m in members if m is not old]
    r = rest[0].call("event/code_commit", service="web", version="v3")
    t.check("v3 committed, in test on every member", r.get("ok") and
            wait(lambda: all(release_in(m, "v3", "test") for m in members), 5),
            [m.status()["log"][:1] for m in members])
    refused0 = old.status().get("log_refused", 0)
    r = rest[0].call("event/test_completion", service="web", version="v3", passed=True)
    key = r.get("result", {}).get("key")
    t.check("v3 passed: the leader's transition runs its hook (1 s)",
            key and wait(lambda: running(old), 5, step=0.005), r)
    os.kill(old.proc.pid, signal.SIGSTOP)
    try:
        t_pause = time.time()
        new_id = wait(lambda: agreed_leader(rest) if agreed_leader(rest) not in
                      (None, old.id) else None, 10, step=0.01)
        t.check("the paused leader's lease ends: %s leads (%.1f s)" % (
                new_id, time.time() - t_pause), new_id, leaders(rest))
        new = by_id(rest, new_id) if new_id else rest[0]
        # resumed while the new leader's own transition still runs its hook:
        # the event is still waiting in etcd, the old leader's move would land
        t.check("the new leader runs the event again",
                wait(lambda: running(new) or release_in(new, "v3", "staging"), 5,
                     step=0.005))
    finally:
        os.kill(old.proc.pid, signal.SIGCONT)
    t.check("resumed, the old leader steps down",
            wait(lambda: not old.status()["leadership"]["me"] and
                 old.status()["leader"] == new.id, 5),
            (old.status().get("leadership"), old.status().get("last_error")))
    t.check("every member, the old leader included, has v3 in staging",
            wait(lambda: all(release_in(m, "v3", "staging") and not running(m)
                             for m in members), 10),
            [m.status()["log"][:2] for m in members])
    time.sleep(0.5)   # any late write of the old leader would be in by now
    ents = log_entries(key)
    t.check("the event is in the log once, logged by the new leader (%s), not the "
            "deposed one" % new.id, len(ents) == 1 and ents[0]["leader"] == new.id,
            ents)
    mine = [x for x in old.status()["log"] if x["from"] == rest[0].id and
            x["event"] == "test_completion" and x["version"] == "v3"]
    t.check("the deposed leader, which ran the event, does not run it a second time",
            len(mine) == 1 and mine[0]["here"] == "ran here as a deposed leader" and
            old.status().get("log_refused", 0) == refused0, (mine, old.status().get(
                "log_refused")))
    hist = old.call("workflow/history", service="web", limit=10)["result"]
    runs = [x for x in hist if x.get("event") == "test_completion" and
            x.get("version") == "v3"]
    t.check("... one v3 test_completion in its history, done",
            len(runs) == 1 and runs[0]["status"] == "done", runs)
    print("deposed leader: %d write(s) refused by the fence (0 when its watch told "
          "it first)" % old.status()["leadership"].get("fenced_writes", 0))

    # -- the fence itself: a leader whose watch lags (held back by its relay,
    # its lease alive) is deposed while its transition runs (its key
    # deleted, another elected); its move of the event to the log is refused
    # by the compare on the leader key's create revision, and it steps down
    old = by_id(members, wait(lambda: agreed_leader(members), 10))
    rest = [m for m in members if m is not old]
    r = rest[0].call("event/code_commit", service="web", version="v4")
    t.check("v4 committed, in test on every member", r.get("ok") and
            wait(lambda: all(release_in(m, "v4", "test") for m in members), 5))
    fenced0 = old.status()["leadership"]["fenced_writes"]
    r = rest[0].call("event/test_completion", service="web", version="v4", passed=True)
    key = r.get("result", {}).get("key")
    t.check("v4 passed: the leader's transition runs its hook (1 s)",
            key and wait(lambda: running(old), 5, step=0.005), r)
    for px in proxies[old.id]:
        px.hold = True
    try:
        etcd.call(0, "/v3/kv/deleterange", {"key": fleetlab.b64(prefix + "/leader")})
        new_id = wait(lambda: agreed_leader(rest) if agreed_leader(rest) not in
                      (None, old.id) else None, 5, step=0.01)
        t.check("its key deleted, another member leads (%s); the old one, its watch "
                "held, still thinks it leads" % new_id,
                new_id and old.status()["leadership"]["me"], leaders(members))
        t.check("the deposed leader's move to the log is refused by the fence",
                wait(lambda: old.status()["leadership"]["fenced_writes"] > fenced0, 5),
                old.status().get("leadership"))
        st = old.status()
        t.check("... and it steps down, naming the new leader from the refusal "
                "(its watch still held)", not st["leadership"]["me"] and
                st["leader"] == new_id, st.get("leadership"))
    finally:
        for px in proxies[old.id]:
            px.hold = False
    t.check("every member has v4 in staging",
            wait(lambda: all(release_in(m, "v4", "staging") and not running(m)
                             for m in members), 10),
            [m.status()["log"][:2] for m in members])
    time.sleep(0.3)
    ents = log_entries(key)
    t.check("the event is in the log once, by the new leader",
            len(ents) == 1 and ents[0]["leader"] == new_id, ents)
    mine = [x for x in old.status()["log"] if x["event"] == "test_completion" and
            x["version"] == "v4"]
    t.check("the deposed leader ran it once (it does not follow the new leader's entry)",
            len(mine) == 1 and mine[0]["here"] == "ran here as a deposed leader" and
            len([x for x in old.call("workflow/history", service="web", limit=10)
                 ["result"] if x.get("event") == "test_completion" and
                 x.get("version") == "v4"]) == 1, mine)

    # -- all of etcd stopped: forwarding goes on, status says so; restart resyncs
    rx0 = [m.call("stats")["result"]["rx_pkts"] for m in members]
    etcd.kill_all()
    t.check("without etcd every member says etcd is lost",
            wait(lambda: all(not m.status()["etcd"]["reachable"] for m in members), 10),
            [m.status().get("etcd") for m in members])
    st = a.call("status")["result"]["fleet"]
    t.check("status: disconnected, running its last generation",
            st["etcd"] == "disconnected" and st["last_generation"] is True and
            st["generation"] == a.call("status")["result"]["generation"], st)
    met = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http[0], timeout=5).read()
    t.check("/metrics says etcd is down", b"umbra_fleet_etcd_up 0" in met and
            b"umbra_fleet_generation " in met)
    r = b.call("event/code_commit", service="web", version="v9")
    t.check("an event without etcd is refused with the reason",
            not r.get("ok") and "etcd is not reachable" in r["error"]["message"], r)
    time.sleep(0.5)
    rx1 = [m.call("stats")["result"]["rx_pkts"] for m in members]
    t.check("forwarding goes on without etcd", all(y > x for x, y in zip(rx0, rx1)),
            (rx0, rx1))
    t.check("and on the last generation",
            all(m.status()["config"]["applied_revision"] == rev3 for m in members))
    etcd.start_all()
    t.check("etcd back: every member resyncs and sees the 3 members",
            wait(lambda: all_see(3), 20), [m.status().get("etcd") for m in members])
    t.check("etcd back: one leader again", wait(lambda: agreed_leader(members), 10),
            leaders(members))
    t.check("etcd back: status says connected",
            a.call("status")["result"]["fleet"]["etcd"] == "connected")

    # -- a member that leaves disappears with its lease
    c.stop()
    t.check("a stopped member disappears from the fleet (lease)",
            wait(lambda: len(a.status()["members"]) == 2, 10),
            a.status().get("members"))
finally:
    for m in members:
        if m.proc and m.proc.poll() is None:
            m.stop()
    for m in members:
        m.cleanup(keep=t.n > 0)
    etcd.cleanup()
    for pxs in proxies.values():
        for px in pxs:
            px.close()

print("fleet test: %.1f s" % (time.time() - t0))
print("%d failed" % t.n)
sys.exit(1 if t.n else 0)
