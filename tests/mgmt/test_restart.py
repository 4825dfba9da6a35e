#!/usr/bin/python3
"""Generations survive restarts: every apply is persisted before it is
published; after kill -9 (also in the middle of a burst of applies) umbra
resumes the last persisted generation and its snapshot history."""
import os
import signal
import sys
import tempfile
import threading

from umbrad import Daemon, Failures

t = Failures()
state = tempfile.mkdtemp(prefix="umbra-state-")
d = Daemon("restart", state_dir=state)
t.check("umbra starts with a state directory", d.start())
r = d.call("config/apply", path=d.confs[1])
t.check("apply gives generation 2", r.get("result") == {"generation": 2}, r)
t.check("files written", {"current", "gen-1.yaml", "gen-1.meta", "gen-2.yaml",
                           "gen-2.meta"} <= set(os.listdir(state)), os.listdir(state))
d.stop(signal.SIGKILL)

t.check("restarts after kill -9", d.start(conf=0))
r = d.call("status")["result"]
t.check("resumes generation 2, not the -c file", r["generation"] == 2, r)
r = d.call("config/show")["result"]
t.check("... with generation 2's YAML", "prod2" in r["yaml"], r)
r = d.call("snapshot/list")["result"]
t.check("history kept", [x["generation"] for x in r] == [1, 2], r)
r = d.call("snapshot/rollback", generation=1)["result"]
t.check("rollback after restart gives generation 3 from 1", r == {"generation": 3, "from": 1}, r)

# kill -9 while applies are under way: whatever comes back is complete.
stop = threading.Event()


def apply_loop():
    i = 0
    while not stop.is_set():
        try:
            d.call("config/apply", path=d.confs[i % 2])
        except (OSError, ValueError):
            return
        i += 1


th = threading.Thread(target=apply_loop)
th.start()
threading.Event().wait(0.5)
d.stop(signal.SIGKILL)
stop.set()
th.join()
t.check("restarts after kill -9 during applies", d.start())
st = d.call("status")["result"]
shown = d.call("config/show")["result"]
t.check("resumed generation is the newest complete snapshot",
        st["generation"] == max(x["generation"] for x in d.call("snapshot/list")["result"]),
        st)
t.check("its YAML is whole", shown["yaml"].rstrip().endswith("src: 10.0.9.0/24 } ]"),
        shown["yaml"][-80:])
t.check("no temporary files left to load", all(not f.endswith(".tmp") or f.startswith(".")
                                               for f in os.listdir(state)))
t.check("clean stop", d.stop() == 0)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
