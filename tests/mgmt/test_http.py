#!/usr/bin/python3
"""HTTP API: POST /api/v1/<command> mirrors the socket and needs the bearer
token; /metrics is valid Prometheus text exposition format and counts.
(The refusals: test_http_hardening.py.)"""
import re
import sys
import urllib.error
import urllib.request

from umbrad import Daemon, Failures

PORT = 19470 + (__import__("os").getpid() % 500)
t = Failures()
d = Daemon("http", http=PORT, token="s3cret")
t.check("umbra starts with HTTP", d.start())
base = "http://127.0.0.1:%d" % PORT


def http(path, body=None, token=True):
    return d.api(path, body, token=token)


code, r = http("/api/v1/status", token=False)
t.check("no token: 401", code == 401 and r["error"]["code"] == "unauthorized", (code, r))
code, r = http("/api/v1/status", token="wrong")
t.check("wrong token: 401", code == 401, code)
code, r = http("/api/v1/status")
t.check("with the token: 200 and the status", code == 200 and
        r["result"]["generation"] == 1, (code, r))
code, r = http("/api/v1/config/apply", {"path": d.confs[1]})
t.check("POST config/apply: generation 2", code == 200 and
        r["result"] == {"generation": 2}, (code, r))
code, r = http("/api/v1/config/apply", {"path": 7})
t.check("wrong argument type: 400 invalid_args", code == 400 and
        r["error"]["code"] == "invalid_args", (code, r))
code, r = http("/api/v1/config/apply", {"path": "/nonexistent.yaml"})
t.check("failed command: 422", code == 422, (code, r))
code, r = http("/api/v1/nosuch")
t.check("unknown command: 404", code == 404, (code, r))
req = urllib.request.Request(base + "/api/v1/status", data=b"{not json",
                             headers={"Authorization": "Bearer s3cret",
                                      "Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, timeout=10)
    code = 200
except urllib.error.HTTPError as e:
    code = e.code
t.check("malformed body: 400", code == 400, code)

# /metrics: the text exposition format, checked line by line.
code, text = d.api("/metrics", method="GET", token=False)
t.check("/metrics answers 200", code == 200, code)
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(%s=\"(?:[^\"\\\n]|\\.)*\")(,%s=\"(?:[^\"\\\n]|\\.)*\")*\})? "
                    r"(-?[0-9.eE+]+|NaN|\+Inf|-Inf)$" % (NAME, NAME, NAME))
typed, bad, samples = {}, [], {}
for line in text.splitlines():
    m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % NAME, line)
    if m:
        if m.group(1) == "TYPE":
            if m.group(3) not in ("counter", "gauge", "histogram", "summary", "untyped") \
                    or m.group(2) in typed:
                bad.append(line)
            typed[m.group(2)] = m.group(3)
        continue
    m = SAMPLE.match(line)
    if not m or m.group(1) not in typed:
        bad.append(line)
    else:
        samples[line.rsplit(" ", 1)[0]] = float(line.rsplit(" ", 1)[1])
t.check("every line is a HELP/TYPE line or a sample of a typed family", not bad, bad[:3])
t.check("generation gauge says 2", samples.get("umbra_generation") == 2.0)
t.check("per-port, per-stage, per-drop and per-worker families present",
        all(f in typed for f in ("umbra_port_rx_packets_total", "umbra_stage_packets_total",
                                 "umbra_drops_total", "umbra_worker_packets_total")))
t.check("drop reasons labelled", 'umbra_drops_total{reason="ipv4_bad_ihl"}' in samples)
t.check("clean stop", d.stop() == 0)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
