#!/usr/bin/python3
"""The dependency map (issue 13) on a running umbra: DNS answers replayed
with flows to the answered addresses come out named in graph/show (a
CNAME chain followed; an address nobody named shown as such), with exact
edges and flow counts; the service registry (register, renew, list, TTL
expiry, deregister, a host agent's report, refusals that say what is
wrong); golden graphs (save, list, show) and graph/diff against the
golden graph after new traffic (a new edge, listed and scored), DOT
output, and the edge counters in /metrics. Golden graphs are stored in
the history database of the state directory: after a restart they are
all listed, shown (an old version read back from the database, past the
newest ones the restart put in memory) and diffed (two stored versions:
the edge added between them), and the versions go on from the last.
A history of schema 3 (each golden graph a blob of the saving build's
memory layout) is migrated at start: its graphs converted to rows (one
unreadable blob dropped), both said in the log, and read as before."""
import os
import shutil
import socket
import sqlite3
import struct
import sys
import tempfile
import time

from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, wrpcap

from umbrad import Daemon, Failures

# conf0 keeps 10.1.0.10 in its own stage (quarantine); conf1 (vlan 11)
# quarantines 10.1.0.11 instead, so after an apply and a migration the
# flows to 10.1.0.10 are production's: a new edge there.
CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
  - name: quarantine
    egress: {{ port: sink, vlan: 300 }}
    match: [ {{ dst: 10.1.0.{vlan}/32 }} ]
"""

MAC = dict(src="02:00:00:00:0c:01", dst="02:00:00:00:00:a1")
WEB, DNS_IP, API, DB, ODD = "10.0.9.1", "10.0.0.53", "10.1.0.20", "10.1.0.30", "10.1.0.10"


def dns_pair(sport, qname, answers):
    q = (Ether(**MAC) / IP(src=WEB, dst=DNS_IP) / UDP(sport=sport, dport=53) /
         DNS(id=sport, rd=1, qd=DNSQR(qname=qname)))
    an = None
    for rr in answers:
        an = rr if an is None else an / rr
    a = (Ether(src=MAC["dst"], dst=MAC["src"]) / IP(src=DNS_IP, dst=WEB) /
         UDP(sport=53, dport=sport) /
         DNS(id=sport, qr=1, rd=1, ra=1, qd=DNSQR(qname=qname), an=an))
    return [q, a]


def syn(dst, dport, sport):
    return Ether(**MAC) / IP(src=WEB, dst=dst) / TCP(sport=sport, dport=dport, flags="S")


pkts = dns_pair(41000, "api.example.com", [
    DNSRR(rrname="api.example.com", type="CNAME", ttl=300, rdata="api-lb.example.com"),
    DNSRR(rrname="api-lb.example.com", type="A", ttl=300, rdata=API)])
pkts += dns_pair(41001, "db.example.com", [
    DNSRR(rrname="db.example.com", type="A", ttl=300, rdata=DB)])
pkts += [syn(API, 8080, 50000 + i) for i in range(3)]
pkts += [syn(DB, 5432, 51000 + i) for i in range(2)]
pkts += [syn(ODD, 9999, 52000 + i) for i in range(6)]

t = Failures()
work = tempfile.mkdtemp(prefix="umbra-graph-")
pcap = os.path.join(work, "graph.pcap")
wrpcap(pcap, pkts)
state = os.path.join(work, "state")
os.makedirs(state, mode=0o700)
d = Daemon("graph", pcap=pcap, http=21000 + os.getpid() % 1000, token="gr4ph",
           conf_text=CONF, state_dir=state)
started = d.start()
t.check("umbra starts", started)
if not started:
    print(open(os.path.join(d.dir, "umbra.log")).read())
    d.cleanup(keep=True)
    sys.exit(1)
time.sleep(1.0)


def ok(r):
    return r.get("ok") is True


def edge_lines(r):
    """A graph's edges, one line each (what a failed check prints)."""
    return "\n    ".join(
        [""] + ["%s(%s) -> %s(%s):%s/%s stage=%s flows=%s" % (
            e.get("client"), e.get("client_source"), e.get("server"), e.get("server_ip"),
            e.get("port"), e.get("proto"), e.get("stage"), e.get("flows"))
            for e in r.get("result", {}).get("edges", [])])


def edges_of(stage):
    r = d.call("graph/show", stage=stage)
    return r, {(e["client"], e["server"], e["port"], e["proto"]): e
               for e in r.get("result", {}).get("edges", [])}


# --- names from DNS, exact edges -----------------------------------------
r, prod = edges_of("production")
t.check("graph/show answers", ok(r), r)
t.check("production has exactly four edges (api, db, two DNS asks merged)",
        sorted(prod) == sorted([(WEB, "api.example.com", 8080, "tcp"),
                                (WEB, "db.example.com", 5432, "tcp"),
                                (WEB, DNS_IP, 53, "udp")]) or len(prod) == 3,
        sorted(prod))
api = prod.get((WEB, "api.example.com", 8080, "tcp"), {})
t.check("the CNAME chain names the api address by the asked name",
        api.get("server_source") == "dns" and api.get("server_ip") == API, api)
t.check("3 flows to api, 2 to db, 2 DNS asks",
        api.get("flows") == 3 and
        prod.get((WEB, "db.example.com", 5432, "tcp"), {}).get("flows") == 2 and
        prod.get((WEB, DNS_IP, 53, "udp"), {}).get("flows") == 2,
        {k: v.get("flows") for k, v in prod.items()})
dnsedge = prod.get((WEB, DNS_IP, 53, "udp"), {})
t.check("an address nobody named is shown as such",
        dnsedge.get("server_source") == "none" and dnsedge.get("client_source") == "none",
        dnsedge)
r, quar = edges_of("quarantine")
t.check("quarantine: 6 flows to the unnamed host",
        list(quar) == [(WEB, ODD, 9999, "tcp")] and quar[(WEB, ODD, 9999, "tcp")]["flows"] == 6,
        quar)
r = d.call("graph/show", stage="production", format="dot")
dot = r.get("result", {}).get("dot", "")
t.check("DOT output is a digraph with the names",
        dot.startswith("digraph") and "api.example.com" in dot and dot.rstrip().endswith("}"),
        dot[:400])

# --- the registry --------------------------------------------------------
r = d.call("service/register", name="web", address=WEB, version="1.4", ttl_s=60)
t.check("service/register", ok(r) and r["result"]["services"][0]["source"] == "api", r)
r, prod = edges_of("production")
t.check("a registered client is named by the registry",
        any(k[0] == "web" and e["client_source"] == "registry" for k, e in prod.items()),
        sorted(prod))
r = d.call("service/register", name="cache", address="10.1.0.40", port=6379, ttl_s=1)
t.check("a second registration with a 1 s TTL", ok(r), r)
names = [e["name"] for e in d.call("service/list")["result"]["services"]]
t.check("service/list shows both", sorted(names) == ["cache", "web"], names)
time.sleep(1.6)
names = [e["name"] for e in d.call("service/list")["result"]["services"]]
t.check("the 1 s registration expired, web stays", names == ["web"], names)
code, r = d.api("/api/v1/service/report", {"report": [
    {"service": "billing", "ip": "10.1.0.50", "port": 8443},
    {"service": "search", "ip": "10.1.0.51", "port": 9200}]})
t.check("service/report over HTTP takes a host agent's list",
        code == 200 and r.get("result") == {"taken": 2, "refused": 0}, (code, r))
lst = {e["name"]: e for e in d.call("service/list")["result"]["services"]}
t.check("the agent's services are listed as agent entries",
        lst.get("billing", {}).get("source") == "agent" and
        lst.get("search", {}).get("port") == 9200, lst)
r = d.call("service/deregister", name="billing")
t.check("service/deregister removes one", ok(r) and r["result"]["removed"] == 1, r)
for what, cmd, args, words in [
        ("a bad address", "service/register", dict(name="x", address="10.1.0"), "address="),
        ("a bad name", "service/register", dict(name="bad name!", address="10.0.0.1"), "name"),
        ("a bad TTL", "service/register", dict(name="x", address="10.0.0.1", ttl_s=0), "ttl_s="),
        ("a bad port", "service/register", dict(name="x", address="10.0.0.1", port=70000), "port="),
        ("an unknown service", "service/deregister", dict(name="nobody"), "no registered"),
        ("a bad report item", "service/report", dict(report=[{"service": "a"}]), "report[0]"),
        ("an unknown stage", "graph/show", dict(stage="nowhere"), "no stage"),
        ("a bad format", "graph/show", dict(format="png"), "json or dot"),
        ("a bad golden action", "graph/golden", dict(action="drop", stage="production"), "save, show or list"),
        ("golden show of none", "graph/golden", dict(action="show", stage="quarantine"), "no golden"),
        ("diff with no golden", "graph/diff", dict(stage="quarantine"), "no golden"),
        ("diff against what", "graph/diff", dict(stage="production", against="yesterday"), "golden or control"),
        ("control without service", "graph/diff", dict(stage="production", against="control"), "service="),
        ("a bad min_gap_ms", "graph/diff", dict(stage="production", min_gap_ms=0), "min_gap_ms=")]:
    r = d.call(cmd, **args)
    msg = r.get("error", {}).get("message", "")
    t.check("refused: %s (%s)" % (what, msg), not ok(r) and words in msg, r)

# --- golden graphs and diff ----------------------------------------------
r = d.call("graph/golden", action="save", stage="production", label="before")
t.check("graph/golden save: version 1 with 3 edges",
        ok(r) and r["result"]["version"] == 1 and r["result"]["edges"] == 3, r)
r = d.call("graph/golden", action="list")
g = r.get("result", {}).get("golden", [])
t.check("graph/golden list", len(g) == 1 and g[0]["stage"] == "production" and
        g[0]["label"] == "before" and g[0]["origin"] == "command", r)
r = d.call("graph/golden", action="show", stage="production")
t.check("graph/golden show", ok(r) and len(r["result"]["edges"]) == 3 and
        r["result"]["version"] == 1, r)
r = d.call("graph/diff", stage="production", min_gap_ms=200)
t.check("no change: score 0, nothing new or missing",
        ok(r) and r["result"]["score"] == 0 and r["result"]["count"]["new"] == 0 and
        r["result"]["count"]["missing"] == 0, r)
# New traffic: 10.1.0.10 becomes production's.
r = d.call("config/apply", path=d.confs[1])
t.check("config/apply", ok(r), r)
r = d.call("config/migrate")
t.check("config/migrate", ok(r), r)
# Each of the 13 flows is decided again by its client's next packet (the
# replay's next loop): on a loaded host that takes seconds, so wait for
# all of them, and for the six to land in production.
time.sleep(1.0)
deadline = time.time() + 20
while time.time() < deadline:
    migrated = sum(w["flow_table"]["migrated"] for w in d.call("stats")["result"]["workers"])
    moved = sum(e["flows"] for e in edges_of("production")[1].values()
                if e["server_ip"] == ODD and e["port"] == 9999)
    if migrated >= 13 and moved >= 6:
        break
    time.sleep(0.2)
r, prod = edges_of("production")
t.check("the migrated flows to %s are production's" % ODD, moved == 6, edge_lines(r))
# A migrated flow is decided again by its client's packet, never by a
# reply (a DNS answer): no flow may turn into DNS -> web:41000.
t.check("no edge from a server back to its client (a migrated flow picked up by its reply)",
        not [e for e in prod.values() if e["server_ip"] == WEB], edge_lines(r))
# New: absent from a reference that covers k x min_gap_ms (the default's
# two minutes shortened to 2 x 200 ms here).
r = d.call("graph/diff", stage="production", min_gap_ms=200)
res = r.get("result", {})
new = [e for e in res.get("edges", []) if e["change"] == "new"]
t.check("the new edge is found, listed and scored",
        ok(r) and res["count"]["new"] == 1 and res["count"]["missing"] == 0 and
        len(new) == 1 and new[0]["server_ip"] == ODD and new[0]["port"] == 9999 and
        new[0]["cur_flows"] == 6 and res["score"] > 0, r)
r = d.call("graph/diff", stage="production", format="dot", min_gap_ms=200)
t.check("the diff's DOT marks it", ok(r) and r["result"]["dot"].startswith("digraph") and
        "red" in r["result"]["dot"], r)

# --- metrics -------------------------------------------------------------
code, text = d.api("/metrics", method="GET", token=False)
metrics = {}
for line in (text if isinstance(text, str) else "").splitlines():
    if line and not line.startswith("#") and line.startswith("umbra_graph"):
        k, v = line.rsplit(" ", 1)
        metrics[k] = float(v)
t.check("/metrics: edges and worker records",
        code == 200 and metrics.get("umbra_graph_edges", 0) >= 5 and
        metrics.get("umbra_graph_edges_inserted_total", 0) >= 5 and
        metrics.get("umbra_graph_worker_records_total", 0) >= 13 and
        metrics.get("umbra_graph_dns_answers_total", 0) >= 2 and
        "umbra_graph_worker_ring_full_total" in metrics, metrics)
st = d.call("stats")["result"]
t.check("stats show the graph counters",
        st["graph"]["records"] >= 13 and st["graph"]["dns"] >= 2, st.get("graph"))

# --- golden graphs kept across a restart ----------------------------------
r = d.call("graph/golden", action="save", stage="production", label="after")
v2 = ok(r) and r["result"]["version"] == 2 and r["result"]["edges"] == 4
t.check("golden version 2 (the new edge in it), stored in the history",
        v2 and r["result"]["store"] == "history",
        (r, edge_lines(d.call("graph/golden", action="show", stage="production",
                              version=2))))
for i in range(8):  # more than a restart reads back into memory per stage
    r = d.call("graph/golden", action="save", stage="production", label="filler")
t.check("versions 3..10 saved", ok(r) and r["result"]["version"] == 10, r)
t.check("clean stop", d.stop() == 0)
t.check("umbra starts again on the same state directory", d.start())
log = open(os.path.join(d.dir, "umbra.log")).read()
t.check("the newest golden graphs are read back at start",
        "8 golden graph(s) read back from the history" in log, log[-2000:])
r = d.call("graph/golden", action="list", stage="production")
g = r.get("result", {}).get("golden", [])
t.check("after the restart: all 10 versions listed, oldest first, with labels",
        ok(r) and [x["version"] for x in g] == list(range(1, 11)) and
        g[0]["label"] == "before" and g[1]["label"] == "after" and
        g[0]["edges"] == 3 and g[1]["edges"] == 4 and g[0]["origin"] == "command" and
        g[0]["at"] > 1.7e9 and r["result"]["store"] == "history", r)
r = d.call("graph/golden", action="show", stage="production", version=1)
res = r.get("result", {})
t.check("show version 1 (read from the database): its 3 edges and label",
        ok(r) and res["version"] == 1 and res["label"] == "before" and
        len(res["edges"]) == 3 and
        sorted(e["server_ip"] for e in res["edges"]) == sorted([API, DB, DNS_IP]), r)
r = d.call("graph/diff", stage="production", version=1, to_version=2, min_gap_ms=200)
res = r.get("result", {})
new = [e for e in res.get("edges", []) if e["change"] == "new"]
t.check("diff of two stored versions: the edge added between them",
        ok(r) and res["golden_version"] == 1 and res["to_version"] == 2 and
        res["count"]["new"] == 1 and res["count"]["missing"] == 0 and
        len(new) == 1 and new[0]["server_ip"] == ODD and new[0]["cur_flows"] == 6, r)
r = d.call("graph/diff", stage="production", version=10, min_gap_ms=200)
t.check("diff of the live graph against a stored version",
        ok(r) and r["result"]["golden_version"] == 10, r)
r = d.call("graph/diff", stage="production", version=1, to_version=99)
t.check("refused: a version not stored",
        not ok(r) and "to_version=" in r.get("error", {}).get("message", ""), r)
r = d.call("graph/golden", action="save", stage="production", label="next")
t.check("the next save is version 11", ok(r) and r["result"]["version"] == 11, r)
# The stages renumbered (quarantine first): the graphs stay their stage's.
swapped = os.path.join(d.dir, "swapped.yaml")
with open(d.confs[0]) as f:
    text = f.read()
head, stages = text.split("stages:\n")
prod, quar = stages.split("  - name: quarantine\n")
with open(swapped, "w") as f:
    f.write(head + "stages:\n  - name: quarantine\n" + quar + prod)
r = d.call("config/apply", path=swapped)
t.check("config/apply with the stages in another order", ok(r), r)
time.sleep(0.2)
r = d.call("graph/golden", action="show", stage="quarantine")
t.check("quarantine has no golden graph after the renumbering", not ok(r), r)
r = d.call("graph/golden", action="show", stage="production")
res = r.get("result", {})
t.check("production's latest is still its own (version 11)",
        ok(r) and res["version"] == 11 and res["label"] == "next" and
        all(e["stage"] == "production" for e in res["edges"]), r)


# --- a history of schema 3: golden graphs as blobs ---------------------------
def blob_v3(db, gid):
    """Golden graph gid as schema 3 stored it: a header, then its edges as
    struct graph_snap_edge (96 bytes, this build's layout), sorted."""
    n, flows, trunc, from_ms, taken_ms = db.execute(
        "SELECT edges, flows, truncated, from_ms, taken_ms FROM golden_graphs WHERE id = ?",
        (gid,)).fetchone()
    edges = []
    for (kind, client, server, port, proto, fl, by, first, last, errs, resets, rtt_avg,
         rtt_max, gap, active) in db.execute(
            "SELECT client_kind, client, server, port, proto, flows, bytes, first_ms, "
            "last_ms, errors, resets, rtt_avg_us, rtt_max_us, max_gap_ms, active FROM "
            "golden_edges WHERE golden = ?", (gid,)):
        fam = socket.AF_INET6 if ":" in server else socket.AF_INET
        key = struct.pack("<16s16sHHBBBB", socket.inet_pton(fam, client),
                          socket.inet_pton(fam, server), port, 0,
                          6 if fam == socket.AF_INET6 else 4, proto, 0, 0)
        edges.append(key + struct.pack("<QQQQIIIIII", fl, by, first, last, errs, resets,
                                       rtt_avg, rtt_max, gap, active))
    edges.sort()
    return struct.pack("<IIHHIQQ", 0x55475300 | 96, len(edges), 0xffff, 0xffff, trunc,
                       from_ms, taken_ms) + b"".join(edges)


def edge_facts(res):
    """What a golden graph's edges say, without the names (DNS decides those)."""
    return sorted(tuple(sorted((k, v) for k, v in e.items()
                               if k not in ("client", "client_source", "server",
                                            "server_source"))) for e in res["edges"])


before = d.call("graph/golden", action="show", stage="production", version=1).get("result", {})
t.check("clean stop before the schema-3 history", d.stop() == 0)
db = sqlite3.connect(os.path.join(state, "history.db"))
blobs = {gid: blob_v3(db, gid) for (gid,) in db.execute("SELECT id FROM golden_graphs")}
db.executescript("DROP TABLE golden_edges; DROP TABLE golden_graphs; "
                 "CREATE TABLE golden_graphs (id INTEGER PRIMARY KEY, stage TEXT NOT NULL, "
                 "version INTEGER NOT NULL, origin TEXT NOT NULL, label TEXT, release TEXT, "
                 "at REAL NOT NULL, edges INTEGER NOT NULL, flows INTEGER NOT NULL, "
                 "graph BLOB NOT NULL, UNIQUE (stage, version)); PRAGMA user_version = 3;")
for gid, b in blobs.items():
    db.execute("INSERT INTO golden_graphs VALUES (?, 'production', ?, 'command', 'old', NULL, "
               "1.7e9, 0, 0, ?)", (gid, gid, b))
# Another build's layout (edges of another size): unreadable.
db.execute("INSERT INTO golden_graphs VALUES (99, 'production', 99, 'command', 'alien', "
           "NULL, 1.7e9, 1, 1, ?)", (struct.pack("<IIHHIQQ", 0x55475300 | 104, 0, 0, 0, 0,
                                                 0, 0),))
db.commit()
db.close()
t.check("umbra starts on a schema-3 history", d.start())
log = open(os.path.join(d.dir, "umbra.log")).read()
t.check("its golden graphs converted to rows, the unreadable one dropped, both said",
        "%d golden graph(s) stored as blobs by an older umbra (history schema 3) converted "
        "to rows, 1 unreadable dropped" % len(blobs) in log and
        "golden graph 99 of stage production was stored by another build" in log, log[-2000:])
r = d.call("graph/golden", action="show", stage="production", version=1)
t.check("version 1, converted, reads as before (every edge field)",
        ok(r) and len(r["result"]["edges"]) == 3 and
        edge_facts(r["result"]) == edge_facts(before), (r, before))
r = d.call("graph/golden", action="list", stage="production")
t.check("all of them listed but the dropped one",
        ok(r) and [x["version"] for x in r["result"]["golden"]] == sorted(blobs), r)
t.check("clean stop", d.stop() == 0)
db = sqlite3.connect(os.path.join(state, "history.db"))
t.check("the file is schema 4, no blob left",
        db.execute("PRAGMA user_version").fetchone()[0] == 4 and
        db.execute("SELECT count(*) FROM golden_graphs WHERE legacy IS NOT NULL").fetchone()[0]
        == 0, None)
db.close()
d.cleanup(keep=t.n > 0)
shutil.rmtree(work, ignore_errors=True)
print("1..%d failures" % t.n if t.n else "all passed")
sys.exit(1 if t.n else 0)
