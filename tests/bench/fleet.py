#!/usr/bin/python3
"""Fleet propagation on loopback: a 3-member etcd cluster and N umbra
members (default 3). apply_propagate: from the fleet/apply call on one
member to the last member applying the new revision (each member stamps
applied_at_ms when umbra_apply returned), over ROUNDS applies (default
20), p99. rollback_propagate: from the decision's stamp (fleet/decide on
one member) to the last other member having rolled back. No leader
election yet: leader_failover_ms=n/a.

  tests/bench/fleet.py [MEMBERS] [ROUNDS]
Last line: fleet_members= apply_propagate_p99_ms= rollback_propagate_ms=
leader_failover_ms=
"""
import os
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "fleet"))
import fleetlab  # noqa: E402
from fleetlab import wait  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
if not fleetlab.ensure_etcd():
    sys.exit("no etcd")
etcd = fleetlab.Etcd()
members = []
try:
    if not etcd.start_all():
        sys.exit("etcd did not start")
    urls = etcd.urls()
    prefix = "/umbra/bench%d" % os.getpid()
    for i in range(n):
        m = fleetlab.Member("m%d" % i, urls[i % 3:] + urls[:i % 3], prefix)
        if not m.start():
            sys.exit("member %d did not start" % i)
        members.append(m)
    wait(lambda: all(len(m.status()["members"]) == n for m in members), 15)
    a = members[0]
    samples = []
    for r in range(rounds):
        path = os.path.join(a.dir, "fleet-%d.yaml" % r)
        with open(path, "w") as f:
            f.write(fleetlab.conf_text(vlan=1000 + r))
        t_call = time.time() * 1000
        if not a.call("fleet/apply", path=path).get("ok"):
            continue
        w = wait(lambda: a.status()["write"] if a.status()["write"]["state"] != "submitted"
                 else None, 5)
        if not w or w["state"] != "written":
            continue
        rev = w["revision"]
        if not wait(lambda: all(m.status()["config"]["applied_revision"] == rev
                                for m in members), 10):
            continue
        last = max(m.status()["config"]["applied_at_ms"] for m in members)
        samples.append(last - t_call)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(round(0.99 * (len(samples) - 1))))] \
        if samples else float("nan")
    print("apply propagation over %d rounds (ms): min %.1f median %.1f max %.1f" % (
        len(samples), samples[0], samples[len(samples) // 2], samples[-1])
        if samples else "no apply propagated")

    for m in members:
        m.call("event/code_commit", service="web", version="v2")
    time.sleep(0.3)
    a.call("fleet/decide", service="web", version="v2", reason="bench")

    def delays():
        out = []
        for m in members[1:]:
            d = [x for x in m.status()["decisions"] if x["from"] == "m0"]
            if not d or d[0]["result"] != "rolled back":
                return None
            out.append(d[0]["delay_ms"])
        return out
    d = wait(delays, 5)
    rb = max(d) if d else float("nan")
    print("fleet_members=%d apply_propagate_p99_ms=%.1f rollback_propagate_ms=%.1f "
          "leader_failover_ms=n/a" % (n, p99, rb))
finally:
    for m in members:
        if m.proc and m.proc.poll() is None:
            m.stop()
        m.cleanup()
    etcd.cleanup()
