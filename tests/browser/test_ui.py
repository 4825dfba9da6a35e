"""The dashboard in a real browser (tests/browser/ui.mjs, headless chromium)
against a real umbra: a release of web with a canary in production, faults,
a chaos scenario and a shadow profile from conf.yaml.in, a golden graph of
production. Checks here what the daemon says
after the browser acted (the rollback happened, the chaos run started).
Screenshots: $ARTIFACTS (default build/browser-artifacts)."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mgmt"))
from umbrad import SRC, Daemon, Failures  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("ARTIFACTS", os.path.join(SRC, "build", "browser-artifacts"))

t = Failures()
if subprocess.run([os.path.join(HERE, "setup.sh")]).returncode != 0:
    print("not ok - browser setup (chromium, puppeteer-core)")
    sys.exit(1)
state = tempfile.mkdtemp(prefix="umbra-ui-state-")
os.chmod(state, 0o700)
port = 20000 + os.getpid() % 1000
d = Daemon("ui", state_dir=state, http=port, token="ui-t0ken/+=",
           conf_text=open(os.path.join(HERE, "conf.yaml.in")).read())
t.check("umbra starts", d.start())
try:
    for cmd, args in (("event/code_commit", {"service": "web", "version": "v2"}),
                      ("event/test_completion", {"service": "web", "version": "v2",
                                                 "passed": True}),
                      ("event/manual_approval", {"service": "web", "version": "v2",
                                                 "approver": "test"})):
        r = d.call(cmd, **args)
        t.check("%s web v2" % cmd, r["ok"], r)
        time.sleep(0.3)
    # A golden graph of production: the map shows the diff against it.
    r = d.call("graph/golden", action="save", stage="production", label="browser")
    t.check("graph/golden save stage=production", r["ok"], r)
    r = subprocess.run(["node", os.path.join(HERE, "ui.mjs"), "http://127.0.0.1:%d" % port,
                        d.token, OUT], timeout=150)
    t.check("the browser checks pass (screenshots in %s)" % OUT, r.returncode == 0)
    prod = [s for s in d.call("workflow/status")["result"]["services"][0]["stages"]
            if s["stage"] == "production"][0]
    t.check("umbra: web's canary in production was rolled back", "canary" not in prod, prod)
    hist = d.call("workflow/history", service="web", limit=1)["result"]
    t.check("umbra: the last transition is the dashboard's rollback",
            hist and hist[0]["event"] == "rollback" and
            hist[0]["args"].get("reason") == "dashboard", hist[:1])
    running = d.call("chaos/list")["result"]["running"]
    t.check("umbra: the chaos run started from the UI", any(
        c["name"] == "db-overload" for c in running) or d.call("chaos/list")["result"]["ended"])
finally:
    d.stop()
    d.cleanup()
sys.exit(1 if t.n else 0)
