#!/usr/bin/python3
"""Fleet propagation on loopback: a 3-member etcd cluster and N umbra
members (default 3).

apply_propagate: from the fleet/apply call on one member to the last member
applying the new revision (each member stamps applied_at_ms when
umbra_apply returned), over ROUNDS applies (default 20), p99.
rollback_propagate: from the decision's stamp (fleet/decide on a member
that does not lead) to the last other member having rolled back (through
the leader: decision -> etcd -> leader -> log -> members).
leader_failover: from kill -9 of the leader to every member left naming
one new leader (the dead leader's lease expiring is most of it: lease_ttl,
3 s here), over FAILOVERS kills (default 3), the largest.

  tests/bench/fleet.py [MEMBERS] [ROUNDS] [FAILOVERS]
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

def leader_of(ms):
    ls = [m.status().get("leader") for m in ms]
    return ls[0] if ls[0] and len(set(ls)) == 1 else None


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    kills = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    if not fleetlab.ensure_etcd():
        sys.exit("no etcd")
    etcd = fleetlab.Etcd()
    members = []
    try:
        if not etcd.start_all():
            sys.exit("etcd did not start")
        urls = etcd.urls()
        prefix = "/umbra/h5bench%d" % os.getpid()
        for i in range(n):
            m = fleetlab.Member("h5m%d" % i, urls[i % 3:] + urls[:i % 3], prefix)
            if not m.start():
                sys.exit("member %d did not start" % i)
            members.append(m)
        wait(lambda: all(len(m.status()["members"]) == n for m in members), 15)
        wait(lambda: leader_of(members), 10)
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

        # A rollback decided by a member that does not lead: through the leader.
        lead = leader_of(members)
        decider = [m for m in members if m.id != lead][0]
        decider.call("event/code_commit", service="web", version="v2")
        wait(lambda: all(any(x.get("version") == "v2" for x in
                             m.call("workflow/status", service="web")["result"]["services"][0]
                             ["releases"]) for m in members), 5)
        decider.call("fleet/decide", service="web", version="v2", reason="bench")

        def delays():
            out = []
            for m in members:
                if m is decider:
                    continue
                d = [x for x in m.status()["decisions"] if x["from"] == decider.id]
                if not d or d[0]["result"] != "rolled back":
                    return None
                out.append(d[0]["delay_ms"])
            return out
        d = wait(delays, 5)
        rb = max(d) if d else float("nan")
        print("rollback propagation (ms) per member: %s" % d)

        failovers = []
        for k in range(kills):
            lead = leader_of(members)
            if lead is None:
                break
            dead = [m for m in members if m.id == lead][0]
            rest = [m for m in members if m is not dead]
            dead.kill9()
            t_kill = time.time()
            new = wait(lambda: leader_of(rest) if leader_of(rest) not in (None, lead)
                       else None, 15, step=0.01)
            if new:
                failovers.append((time.time() - t_kill) * 1000)
            dead.start()   # back as a follower for the next round
            wait(lambda: all(len(m.status()["members"]) == n for m in members), 15)
        print("leader failover (ms): %s" % ["%.0f" % x for x in failovers])
        fo = max(failovers) if failovers else float("nan")
        print("fleet_members=%d apply_propagate_p99_ms=%.1f rollback_propagate_ms=%.1f "
              "leader_failover_ms=%.0f" % (n, p99, rb, fo))
    finally:
        for m in members:
            if m.proc and m.proc.poll() is None:
                m.stop()
            m.cleanup()
        etcd.cleanup()


if __name__ == "__main__":
    main()
