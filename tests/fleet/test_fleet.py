#!/usr/bin/python3
"""A fleet through etcd, on loopback: a 3-member etcd cluster and 3 umbra
processes (net_null ports). Checks that every member sees the others; an
apply on one appliance puts every appliance on the same configuration (the
generation's text equal); an invalid fleet configuration (written to etcd
by another writer) is refused everywhere with its reason, reported in each
member key, and refused by fleet/apply before it is written; a stale
compare-and-swap is a conflict; killing one etcd member changes nothing;
stopping all of etcd keeps forwarding (fleet/status and /metrics say etcd
is lost) and a restart resyncs; a rollback decided on one appliance
(fleet/decide, the same publication the verdict's ROLLBACK makes) is
rolled back on all of them within 1 s. Skips (77) without etcd."""
import json
import os
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
t0 = time.time()
try:
    t.check("3-member etcd cluster up", etcd.start_all())
    urls = etcd.urls()
    prefix = "/umbra/t%d" % os.getpid()
    http = fleetlab.free_ports(3)
    for i, name in enumerate(["rack-a", "rack-b", "rack-c"]):
        # each member starts on a different endpoint (rotated list)
        m = fleetlab.Member(name, urls[i:] + urls[:i], prefix, http=http[i])
        t.check("%s starts" % name, m.start())
        members.append(m)
    a, b, c = members

    def all_see(n):
        return all(len(m.status().get("members", [])) == n and
                   m.status()["etcd"]["reachable"] for m in members)
    t.check("every member sees the 3 members", wait(lambda: all_see(3), 10),
            [m.status() for m in members])

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
    t.check("every member runs the same configuration text",
            len(set(texts)) == 1 and "vlan: 42" in texts[0])
    t.check("member keys report the generation",
            wait(lambda: all(x["config_revision"] == rev and x["in_sync"]
                             for x in b.status()["members"]), 3), b.status().get("members"))

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
    etcd.start(0)
    etcd.wait_healthy(15)

    # -- all of etcd stopped: forwarding goes on, status says so; restart resyncs
    rx0 = [m.call("stats")["result"]["rx_pkts"] for m in members]
    etcd.kill_all()
    t.check("without etcd every member says etcd is lost",
            wait(lambda: all(not m.status()["etcd"]["reachable"] for m in members), 10),
            [m.status().get("etcd") for m in members])
    met = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http[0], timeout=5).read()
    t.check("/metrics says etcd is down", b"umbra_fleet_etcd_up 0" in met)
    time.sleep(0.5)
    rx1 = [m.call("stats")["result"]["rx_pkts"] for m in members]
    t.check("forwarding goes on without etcd", all(y > x for x, y in zip(rx0, rx1)),
            (rx0, rx1))
    t.check("and on the last generation",
            all(m.status()["config"]["applied_revision"] == rev3 for m in members))
    etcd.start_all()
    t.check("etcd back: every member resyncs and sees the 3 members",
            wait(lambda: all_see(3), 20), [m.status().get("etcd") for m in members])

    # -- a rollback decided on one appliance reaches all of them
    for m in members:
        r = m.call("event/code_commit", service="web", version="v2")
        t.check("%s: web v2 committed to dev" % m.id, r.get("ok"), r)
    wait(lambda: all(any(x.get("version") == "v2" for x in
                         m.call("workflow/status", service="web")["result"]
                         .get("releases", [])) or True for m in members), 2)
    time.sleep(0.3)
    r = a.call("fleet/decide", service="web", version="v2", reason="error rate 9%")
    t.check("fleet/decide rolls back here and publishes", r.get("ok") and
            r["result"]["published"], r)

    def rolled_back(m):
        for d in m.status()["decisions"]:
            if d["from"] == "rack-a" and d["service"] == "web" and \
                    d["result"] == "rolled back":
                return d
        return None
    got = wait(lambda: all(rolled_back(m) for m in (b, c)), 3)
    t.check("every other member rolled web back", got,
            [m.status().get("decisions") for m in (b, c)])
    if got:
        delays = [rolled_back(m)["delay_ms"] for m in (b, c)]
        t.check("within 1 s of the decision (%s ms)" % delays, max(delays) < 1000)
    hist = b.call("workflow/history", service="web", limit=5)["result"]
    t.check("the rollback is in rack-b's workflow history with its origin",
            "fleet: rack-a decided" in json.dumps(hist), hist)

    # -- a member that leaves disappears with its lease
    c.stop()
    t.check("a stopped member disappears from the fleet (lease)",
            wait(lambda: len(a.status()["members"]) == 2, 10),
            a.status().get("members"))
    members.remove(c)
finally:
    for m in members:
        if m.proc and m.proc.poll() is None:
            m.stop()
    for m in members:
        m.cleanup(keep=t.n > 0)
    etcd.cleanup()

print("fleet test: %.1f s" % (time.time() - t0))
print("%d failed" % t.n)
sys.exit(1 if t.n else 0)
