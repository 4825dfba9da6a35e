#!/usr/bin/python3
"""deploy/grafana/umbra.json against a running umbra: the dashboard is a
Grafana dashboard (unique panel ids, every panel with a query, on the
datasource variable), and every metric name that any query (panels and
template variables) uses is one that /metrics exports, with the labels the
query filters and groups by. The daemon runs with a release in progress
(so the release metrics have samples), a shadow profile and a fault rule."""
import json
import os
import re
import sys
import time
import urllib.request

from umbrad import SRC, Daemon, Failures

DASH = os.environ.get("GRAFANA_DASHBOARD", os.path.join(SRC, "deploy", "grafana", "umbra.json"))

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
  - {{ name: shadownet, vdev: "net_null_{tag}2,no-rx=1", role: shadow }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - {{ name: staging, egress: {{ port: sink, vlan: 300 }}, match: [ {{ dst: 10.2.0.0/16 }} ] }}
  - {{ name: test, egress: {{ port: sink, vlan: 200 }} }}
  - {{ name: dev, egress: {{ port: sink, vlan: {vlan} }} }}
services:
  - name: web
    match: {{ dst: 10.0.0.10/32, proto: tcp, dport: 80 }}
    backends:
      - {{ name: blue, port: sink, next_hop_mac: "02:00:00:00:0b:01" }}
      - {{ name: green, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:02" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
    rollout: {{ steps: [10, 100], hold_s: 600 }}
shadows:
  - {{ name: mirror, stage: staging, port: shadownet, fraction: 100%, seed: 3 }}
"""

# PromQL words that look like identifiers but are not metrics.
METRIC = re.compile(r"\b(umbra_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b(umbra_[a-z0-9_]+)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')
# Labels Prometheus adds when it scrapes.
SCRAPE_LABELS = {"instance", "job"}


def exported(text):
    """{sample name: set of label names} of the samples, and the families
    declared by # TYPE (declared but without samples yet: no labels known)."""
    samples, declared = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            declared[name] = kind
            continue
        m = SAMPLE.match(line)
        if m:
            samples.setdefault(m.group(1), set()).update(LABEL.findall(m.group(3) or ""))
    return samples, declared


def queries(dash):
    """(where, expression) of every panel target and template query."""
    out = []

    def walk(panels):
        for p in panels:
            for tg in p.get("targets", []):
                out.append(("panel %d %r" % (p["id"], p.get("title")), tg.get("expr", "")))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query":
            out.append(("variable " + v["name"], q or ""))
    return out


t = Failures()
dash = json.load(open(DASH))
t.check("umbra.json is a dashboard with a uid, title and panels",
        dash.get("uid") and dash.get("title") and len(dash.get("panels", [])) > 10)
ids = [p["id"] for p in dash["panels"]]
t.check("panel ids are unique", len(ids) == len(set(ids)), ids)
bad = [p["title"] for p in dash["panels"] if p["type"] != "row" and
       (not p.get("targets") or p.get("datasource", {}).get("uid") != "${datasource}")]
t.check("every panel has queries, on the datasource variable", not bad, bad)
qs = queries(dash)
used = {n for _, e in qs for n in METRIC.findall(e)}
t.check("the queries use metrics (%d names)" % len(used), len(used) > 20, used)
for family in ("umbra_release_verdict", "umbra_release_latency_seconds_bucket",
               "umbra_release_events_total", "umbra_shadow_latency_seconds_bucket",
               "umbra_shadow_exchanges_total", "umbra_fault_packets_total",
               "umbra_stage_packets_total", "umbra_port_tx_dropped_total", "umbra_drops_total"):
    t.check("the dashboard shows " + family, family in used)

port = 21000 + os.getpid() % 1000
d = Daemon("grafana", http=port, token="gr4fana", conf_text=CONF)
try:
    t.check("umbra starts", d.start())
    r = [d.call("event/code_commit", service="web", version="v2"),
         d.call("event/test_completion", service="web", version="v2", passed=True),
         d.call("event/manual_approval", service="web", version="v2", approver="al")]
    t.check("a release of web v2 is in progress", all(x.get("ok") for x in r), r)
    r = d.call("fault/add", kind="delay", stage="staging", delay="300us", duration="120s")
    t.check("a fault rule is active", r.get("ok"), r)
    # The verdict loop picks the release up on its next tick.
    deadline = time.time() + 10
    while True:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                      timeout=10).read().decode()
        samples, declared = exported(text)
        if "umbra_release_verdict" in samples or time.time() > deadline:
            break
        time.sleep(0.25)
    for name in ("umbra_release_verdict", "umbra_release_latency_seconds_bucket",
                 "umbra_release_events_total", "umbra_release_info"):
        t.check("/metrics has samples of " + name, name in samples)
    missing = sorted(n for n in used if n not in samples and
                     declared.get(n) not in ("counter", "gauge"))
    t.check("every metric the dashboard queries is exported by /metrics", not missing,
            "not exported: %s" % missing)
    # Labels: what a selector filters on, and what an aggregation groups by.
    wrong = []
    for where, e in qs:
        names = set(METRIC.findall(e))
        for name, body in SELECTOR.findall(e):
            for label, _ in MATCHER.findall(body):
                if label not in SCRAPE_LABELS and name in samples and \
                        label not in samples[name]:
                    wrong.append("%s: %s has no label %s" % (where, name, label))
        known = set(SCRAPE_LABELS)
        for n in names:
            known |= samples.get(n, set())
        if not any(n in samples for n in names):
            continue    # declared only (no samples yet): labels unknown
        for group in GROUPING.findall(e):
            for label in (x.strip() for x in group.split(",")):
                if label and label not in known:
                    wrong.append("%s: groups by %s, which %s lack" % (where, label, sorted(names)))
    t.check("every label a query filters or groups by is one the metric has", not wrong, wrong)
    # The checker itself: a name umbra does not export is caught.
    t.check("(a made-up name would be caught)", "umbra_made_up_total" not in samples)
finally:
    d.cleanup()
sys.exit(1 if t.n else 0)
