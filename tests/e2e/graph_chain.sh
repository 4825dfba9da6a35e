#!/usr/bin/env bash
# End to end: the dependency map of a real chain, named by a real DNS
# server. Each part in its namespace (tests/e2e/graph_chain.py), umbra on
# af_packet ports, one production stage; web, api, db and dns are services
# on their own backend segments (next_hop_mac), as conf/README.md
# "backends" describes, so the calls between them cross umbra:
#
#   client ns 10.77.0.1 -- uplink [umbra] prod -- edge ns (answers ARP for
#                                           |      the services' addresses)
#                                           +-- web 10.77.0.10:8080 (HTTP)
#                                           +-- api 10.77.0.20:8080 (HTTP, v1)
#                                           +-- api 10.77.0.20:8080 (HTTP, v2)
#                                           +-- db  10.77.0.30:5432 (TCP)
#                                           +-- dns 10.77.0.53:53   (UDP)
#
# The client resolves web.chain.test and GETs /; web resolves
# api.chain.test (a CNAME chain) and calls api; api resolves db.chain.test
# and asks db. api and db match /31 prefixes, so the registry (the YAML
# services with one address) does not name them: their names come from
# the DNS answers umbra saw. Then a golden graph is saved, web starts
# asking db itself (/direct), and graph/diff against the golden lists the
# new edge web -> db.chain.test. DNS flows (UDP) end by idling out: their
# END comes from the flow table's aging, so the edges' active flows fall
# back to 0.
#
# A periodic job: api backs up to db (db.chain.test:5433) every 2 s. The
# golden graph learns the edge's gap, so the edge is never missing while
# silent between runs (silences longer than k x min_gap, which would flag
# it without the learned gap); once the job stops for longer than k x its
# gap, it is. A canary of api (v2, a clean twin with the same job, on its
# own segment) is never flagged: its graph against the control's shows no
# deviation, the verdict reaches GO, and after golden_bake at GO the
# stage's golden graph is saved automatically (origin auto, naming
# "api v2") in the history database (--state-dir).
#
# A subnet of its own (10.77.0.0/24): frames of other tests'
# veths that an af_packet socket catches before it is bound to its
# interface never look like this chain's traffic.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
CHAIN="$SRC/tests/e2e/graph_chain.py"
declare -A MAC=([w]=02:00:00:00:0c:01 [a]=02:00:00:00:0c:02 [d]=02:00:00:00:0c:03
                [n]=02:00:00:00:0c:04 [e]=02:00:00:00:0c:05)
for n in c p w a d n e; do e2e_ns "gc$n$t"; done
PERIOD=2
# api v2's metrics: a 20 % minimum effect, so that the traffic floors
# (canary exposures before GO) are reached in seconds; latency is not
# judged (noisy CI hosts).
RELAXED="http_5xx: { min_abs: 20% }, connect_failed: { min_abs: 20% }, reset: { min_abs: 20% }, no_answer: { min_abs: 20% }, retransmission: { min_abs: 20% }, slow_answer: { enabled: false }"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=gcc$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=gcp$t" }
  - { name: webseg, vdev: "net_af_packet2,iface=gcw$t" }
  - { name: apiseg, vdev: "net_af_packet3,iface=gca$t" }
  - { name: dbseg, vdev: "net_af_packet4,iface=gcd$t" }
  - { name: dnsseg, vdev: "net_af_packet5,iface=gcn$t" }
  - { name: apiseg2, vdev: "net_af_packet6,iface=gce$t" }
stages:
  - { name: production, default: true, egress: { port: prod } }
services:
  - name: web
    match: { dst: 10.77.0.10/32, proto: tcp, dport: 8080 }
    backends: [ { name: w1, port: webseg, next_hop_mac: "${MAC[w]}" } ]
    stages: { production: { backends: [w1], running: v1 } }
  - name: api
    match: { dst: 10.77.0.20/31, proto: tcp, dport: 8080 }
    backends:
      - { name: a1, port: apiseg, next_hop_mac: "${MAC[a]}" }
      - { name: a2, port: apiseg2, next_hop_mac: "${MAC[e]}" }
    stages: { production: { backends: [a1, a2], running: v1 } }
    rollout: { steps: [50, 100], hold_s: 3600 }
    verdict: { bake: 2s, metrics: { $RELAXED } }
  - name: db
    match: { dst: 10.77.0.30/31, proto: tcp, dport: 5432-5433 }
    backends: [ { name: d1, port: dbseg, next_hop_mac: "${MAC[d]}" } ]
    stages: { production: { backends: [d1], running: v1 } }
  - name: dns
    match: { dst: 10.77.0.53/32, proto: udp, dport: 53 }
    backends: [ { name: n1, port: dnsseg, next_hop_mac: "${MAC[n]}" } ]
    stages: { production: { backends: [n1], running: v1 } }
workflow:
  pipeline:
    - { stage: production, on: code_commit }
graph: { min_gap: 300ms, min_flows: 3, golden_bake: 2s }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100, udp_idle_timeout_s: 1 }
YAML

for n in c p w a d n e; do e2e_wire "gc$n$t" eth0 "gc$n$t"; done
for n in w a d n e; do ip -n "gc$n$t" link set eth0 address "${MAC[$n]}"; done
ip -n "gcc$t" addr add 10.77.0.1/24 dev eth0
# production's own network: answers the uplink's ARP for the services
for a in 10 20 30 53; do ip -n "gcp$t" addr add "10.77.0.$a/24" dev eth0; done
ip -n "gcw$t" addr add 10.77.0.10/24 dev eth0
ip -n "gca$t" addr add 10.77.0.20/24 dev eth0
ip -n "gce$t" addr add 10.77.0.20/24 dev eth0
ip -n "gcd$t" addr add 10.77.0.30/24 dev eth0
ip -n "gcn$t" addr add 10.77.0.53/24 dev eth0
part() { # NS ROLE ARGS...
  local ns=$1; shift
  ip netns exec "$ns" /usr/bin/python3 "$CHAIN" "$@" >>"$E2E_DIR/$1.log" 2>&1 &
  E2E_PIDS+=($!)
}
part "gcn$t" dns 10.77.0.53
part "gcd$t" db 10.77.0.30 5432
# The job runs while its flag file exists (one per api instance).
part "gca$t" api 10.77.0.20 8080 "$E2E_DIR/job-v1" $PERIOD
part "gce$t" api 10.77.0.20 8080 "$E2E_DIR/job-v2" $PERIOD
part "gcw$t" web 10.77.0.10 8080
e2e_wait_port "gcd$t" 10.77.0.30 5432 && e2e_wait_port "gca$t" 10.77.0.20 8080 &&
  e2e_wait_port "gce$t" 10.77.0.20 8080 && e2e_wait_port "gcw$t" 10.77.0.10 8080 ||
  { echo "servers did not start"; exit 1; }
mkdir -m 0700 "$E2E_DIR/state"
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 --state-dir "$E2E_DIR/state" || exit 1
ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
# edge FILE CLIENT SERVER PORT FIELD: a field of that edge of a graph/show
edge() {
  /usr/bin/python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
e = [e for e in j['edges'] if e['client'] == sys.argv[2] and e['server'] == sys.argv[3]
     and e['port'] == int(sys.argv[4])]
print(e[0][sys.argv[5]] if e else '-')" "$@" 2>/dev/null
}

# --- 1. the chain, named --------------------------------------------------
N=6
ip netns exec "gcc$t" /usr/bin/python3 "$CHAIN" client $N / >"$E2E_DIR/client1.out" 2>&1
check "$N requests through the chain (client -> web -> api -> db)" test $? = 0
head -1 "$E2E_DIR/client1.out" | sed 's/^/# /'
ctl graph/show stage=production >"$E2E_DIR/show1.json" 2>&1
/usr/bin/python3 -c "
import json
for e in json.load(open('$E2E_DIR/show1.json'))['edges']:
    print('# %s (%s) -> %s (%s):%d/%s flows %d active %d' % (e['client'], e['client_source'],
          e['server'], e['server_source'], e['port'], e['proto'], e['flows'], e['active']))"
check "web -> api named by DNS (api.chain.test, through its CNAME), $N flows" \
  test "$(edge "$E2E_DIR/show1.json" web api.chain.test 8080 server_source) $(edge "$E2E_DIR/show1.json" web api.chain.test 8080 flows)" = "dns $N"
check "api -> db named by DNS (db.chain.test), $N flows" \
  test "$(edge "$E2E_DIR/show1.json" api db.chain.test 5432 server_source) $(edge "$E2E_DIR/show1.json" api db.chain.test 5432 flows)" = "dns $N"
check "client -> web (registry: the YAML service), $N flows" \
  test "$(edge "$E2E_DIR/show1.json" 10.77.0.1 web 8080 flows)" = "$N"
check "web and api resolve through umbra (edges to dns:53)" \
  test "$(edge "$E2E_DIR/show1.json" web dns 53 proto)/$(edge "$E2E_DIR/show1.json" api dns 53 proto)" = "udp/udp"
check "no direct web -> db edge yet" test "$(edge "$E2E_DIR/show1.json" web db.chain.test 5432 flows)" = "-"

# --- 2. idle UDP flows end: their END comes from the flow table's aging ---
sleep 2.5
ctl graph/show stage=production >"$E2E_DIR/show2.json" 2>&1
check "DNS flows idled out: web -> dns, api -> dns and client -> dns have 0 active" \
  test "$(edge "$E2E_DIR/show2.json" web dns 53 active)/$(edge "$E2E_DIR/show2.json" api dns 53 active)/$(edge "$E2E_DIR/show2.json" 10.77.0.1 dns 53 active)" = "0/0/0"
check "closed TCP flows too: web -> api has 0 active" \
  test "$(edge "$E2E_DIR/show2.json" web api.chain.test 8080 active)" = "0"

# --- 3. golden graph, a new edge, the diff lists it -----------------------
# api's periodic job first: three runs or more before the golden graph.
touch "$E2E_DIR/job-v1"
sleep $((4 * PERIOD))
ctl graph/golden action=save stage=production label=chain >"$E2E_DIR/golden.json" 2>&1
check "golden graph saved (version 1)" grep -q '"version": *1' "$E2E_DIR/golden.json"
ctl graph/golden action=show stage=production version=1 >"$E2E_DIR/golden1.json" 2>&1
check "the golden graph has the periodic edge api -> db.chain.test:5433, its gap learned (~${PERIOD} s)" \
  /usr/bin/python3 -c "
import sys
f, g = int('$(edge "$E2E_DIR/golden1.json" api db.chain.test 5433 flows)'), int('$(edge "$E2E_DIR/golden1.json" api db.chain.test 5433 max_gap_ms)')
print('# periodic edge: %d flows, largest gap %d ms' % (f, g))
sys.exit(0 if f >= 3 and 1500 <= g <= 3500 else 1)"
ip netns exec "gcc$t" /usr/bin/python3 "$CHAIN" client $N /direct >"$E2E_DIR/client2.out" 2>&1
check "$N requests to /direct (web also asks db)" test $? = 0
ctl graph/diff stage=production against=golden min_gap_ms=200 >"$E2E_DIR/diff.json" 2>&1
/usr/bin/python3 -c "
import json
j = json.load(open('$E2E_DIR/diff.json'))
print('# score %.3f, counts %s' % (j['score'], j['count']))
for e in j['edges']:
    print('#   %s %s -> %s:%d flows %d' % (e['change'], e['client'], e['server'], e['port'], e['cur_flows']))"
check "graph/diff against the golden lists web -> db.chain.test:5432 as new ($N flows)" \
  test "$(/usr/bin/python3 -c "
import json
j = json.load(open('$E2E_DIR/diff.json'))
print([(e['change'], e['cur_flows']) for e in j['edges'] if e['client'] == 'web' and e['server'] == 'db.chain.test'])")" = "[('new', $N)]"
check "and names web as the responsible service" \
  test "$(/usr/bin/python3 -c "import json; print(json.load(open('$E2E_DIR/diff.json'))['service'])")" = web

# --- 4. the periodic edge is never missing between its runs ----------------
# 24 looks over 6 s (three periods): the edge is silent up to 2 s at a
# time, past k x min_gap (2 x 200 ms), never past k x its learned gap.
: >"$E2E_DIR/periodic.txt"
for _ in $(seq 1 24); do
  ctl graph/diff stage=production against=golden version=1 min_gap_ms=200 >"$E2E_DIR/pdiff.json" 2>&1
  ctl graph/show stage=production >"$E2E_DIR/pshow.json" 2>&1
  /usr/bin/python3 -c "
import json
d, s = json.load(open('$E2E_DIR/pdiff.json')), json.load(open('$E2E_DIR/pshow.json'))
miss = [e for e in d['edges'] if e['change'] == 'missing' and e['port'] == 5433]
e = [e for e in s['edges'] if e['client'] == 'api' and e['port'] == 5433]
print(len(miss), s['taken_ms'] - e[0]['last_ms'] if e else -1)" >>"$E2E_DIR/periodic.txt" 2>&1
  sleep 0.25
done
read -r PMISS PSIL < <(awk '{m += $1; if ($2 > s) s = $2} END {print m + 0, s + 0}' "$E2E_DIR/periodic.txt")
echo "# periodic edge: missing in $PMISS of 24 looks; longest silence seen ${PSIL} ms"
check "the periodic edge is never counted as missing" test "$PMISS" = 0
check "though it was silent longer than k x min_gap (400 ms) between runs" test "$PSIL" -gt 1000

# --- 5. a clean canary: never flagged, GO, golden graph taken automatically -
touch "$E2E_DIR/job-v2"
ctl event code_commit api v2 >"$E2E_DIR/event.json" 2>&1
rc=$?
check "code_commit api v2: its canary starts (50 %)" test $rc = 0
ip netns exec "gcc$t" /usr/bin/python3 "$CHAIN" client 2000 / >"$E2E_DIR/client3.out" 2>&1 &
CLIENT=$!
E2E_PIDS+=("$CLIENT")
for _ in $(seq 1 120); do
  grep -q "umbra: graph: golden graph .* api v2 held GO" "$E2E_DIR/umbra.log" && break
  sleep 0.5
done
grep "umbra: verdict: api v2\|umbra: graph: golden" "$E2E_DIR/umbra.log" | sed 's/^/# /'
check "the verdict reached GO for api v2" grep -q "umbra: verdict: api v2: go:" "$E2E_DIR/umbra.log"
ctl graph/golden action=list stage=production >"$E2E_DIR/glist.json" 2>&1
check "after golden_bake at GO: golden version 2 saved automatically (origin auto, release api v2)" \
  test "$(/usr/bin/python3 -c "
import json
g = json.load(open('$E2E_DIR/glist.json'))['golden']
print([(x['version'], x['origin'], x.get('release')) for x in g if x['origin'] == 'auto'])")" = "[(2, 'auto', 'api v2')]"
ctl graph/diff stage=production against=control service=api >"$E2E_DIR/cdiff.json" 2>&1
/usr/bin/python3 -c "
import json
j = json.load(open('$E2E_DIR/cdiff.json'))
print('# canary against control: score %.3f, counts %s' % (j['score'], j['count']))"
check "the clean canary is never flagged: no graph deviation, no rollback" \
  test "$(grep -c "dependency graph\|api v2: rollback\|rolled back" "$E2E_DIR/umbra.log")" = 0
kill "$CLIENT" 2>/dev/null

# --- 6. the job stops: past k x its gap, the edge is missing ---------------
rm -f "$E2E_DIR/job-v1" "$E2E_DIR/job-v2"
sleep $((2 * PERIOD + 3))
ctl graph/diff stage=production against=golden version=1 min_gap_ms=200 >"$E2E_DIR/pdiff2.json" 2>&1
check "the stopped job's edge is missing once silent past k x its gap" \
  test "$(/usr/bin/python3 -c "
import json
print([e['change'] for e in json.load(open('$E2E_DIR/pdiff2.json'))['edges'] if e['port'] == 5433])")" = "['missing']"
e2e_umbra_stop
e2e_done
