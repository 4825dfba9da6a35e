#!/usr/bin/python3
"""umbractl against a running umbra: human and JSON output, words to
commands and typed arguments, and its exit statuses."""
import json
import os
import subprocess
import sys

from umbrad import SRC, Daemon, Failures

CTL = os.environ.get("UMBRACTL", os.path.join(SRC, "build", "app", "umbractl", "umbractl"))
t = Failures()
d = Daemon("ctl")
t.check("umbra starts", d.start())


def ctl(*words):
    return subprocess.run([CTL, "-s", d.sock] + list(words), capture_output=True,
                          text=True, timeout=30)


r = ctl("status")
t.check("status: exit 0, names the generation", r.returncode == 0 and
        "generation: 1" in r.stdout, r)
r = ctl("--json", "status")
t.check("--json prints the result as JSON", r.returncode == 0 and
        json.loads(r.stdout)["generation"] == 1, r.stdout)
r = ctl("config", "apply", d.confs[1])
t.check("config apply FILE: generation 2", r.returncode == 0 and "generation: 2" in r.stdout, r)
r = ctl("snapshot", "list")
t.check("snapshot list prints a table", r.returncode == 0 and
        r.stdout.split()[:3] == ["generation", "source", "time"], r.stdout)
r = ctl("--json", "snapshot", "diff", "1", "2")
diff = json.loads(r.stdout) if r.returncode == 0 else None
t.check("snapshot diff 1 2: exactly the changed lines", diff is not None and
        [x for x in diff if "production" in x or "prod2" in x] ==
        ["- " + x for x in open(d.confs[0]).read().splitlines() if "production" in x] +
        ["+ " + x for x in open(d.confs[1]).read().splitlines() if "prod2" in x]
        and all(x.startswith(("- ", "+ ")) for x in diff), diff)
r = ctl("snapshot", "rollback", "generation=1")
t.check("key=value arguments", r.returncode == 0 and "from: 1" in r.stdout, r)
bad = os.path.join(d.dir, "bad.yaml")
with open(bad, "w") as f:
    f.write("ports: [\n")
r = ctl("config", "validate", bad)
t.check("a failed command: exit 1 and file:line:col on stderr", r.returncode == 1 and
        (bad + ":2:1: ") in r.stderr, r)
r = ctl("flows", "top=x")
t.check("a badly typed argument: exit 2 before sending", r.returncode == 2 and
        "must be integer" in r.stderr, r)
r = ctl("nosuchcmd")
t.check("an unknown command: exit 2", r.returncode == 2, r)
r = subprocess.run([CTL, "-s", "/nonexistent/umbra.sock", "status"], capture_output=True,
                   text=True)
t.check("no daemon: exit 3 and what to check", r.returncode == 3 and
        "is umbra running?" in r.stderr, r)
t.check("clean stop", d.stop() == 0)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
