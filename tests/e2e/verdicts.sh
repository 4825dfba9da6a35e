#!/usr/bin/env bash
# End to end: release verdicts decide, on real TCP/HTTP through umbra.
# The layout of bluegreen.sh (client ns on the uplink, blue ns and green ns
# on their own af_packet ports, both 10.0.0.10), one umbra, three services
# told apart by port, each rolled out with steps [10, 50, 100], hold_s 1:
#   bad  (8080): green answers HTTP 500 to everything. The verdict rolls it
#                back within seconds (http_5xx, outage); the workflow shows
#                v1 running alone; afterwards every request answers v1.
#   ok   (8081): green is blue's twin. The verdict reaches GO and the
#                rollout goes 10 -> 50 -> 100: v2 promoted, runs alone; no
#                rollback.
#   low  (8082): 1 request every 2 s. After 10 s still HOLD at the first
#                step (bp 1000) for lack of traffic; no rollback.
# Also: analytics/summary (umbra runs with --state-dir, a 0700 directory)
# counts the automatic rollback, and a notify receiver on 127.0.0.1 (the
# management loop runs in the root namespace) got JSON decision POSTs.
# The decisions are tested, not timing: the bounds are generous.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
PY=/usr/bin/python3
TOOLS=$SRC/tests/tools
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
BLUE_MAC=02:00:00:00:0c:01
GREEN_MAC=02:00:00:00:0c:02
e2e_ns "h8c$t"; e2e_ns "h8b$t"; e2e_ns "h8g$t"

# A notify receiver in the root namespace on a free loopback port.
NOTIFY_PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$E2E_DIR/receiver.py" <<'PYEOF'
import http.server, json, sys
out = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
        out.write(json.dumps({"topic": self.headers.get("X-Umbra-Topic"),
                              "type": self.headers.get("Content-Type"), "body": obj}) + "\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
$PY "$E2E_DIR/receiver.py" "$NOTIFY_PORT" "$E2E_DIR/notify.jsonl" 2>"$E2E_DIR/receiver.log" &
E2E_PIDS+=($!)

svc() { # NAME PORT VERDICT-YAML
  cat <<YAML
  - name: $1
    match: { dst: 10.0.0.10/32, proto: tcp, dport: $2 }
    backends:
      - { name: blue, port: prod, next_hop_mac: "$BLUE_MAC" }
      - { name: green, port: green, next_hop_mac: "$GREEN_MAC" }
    stages:
      production: { backends: [blue, green], running: v1 }
    rollout: { steps: [10, 50, 100], hold_s: 1 }
    verdict: $3
YAML
}
# ok: the minimum effects are raised to 20 % so that the traffic floors
# (canary exposures needed before GO) are reached in seconds at 100 req/s;
# latency is not judged there (noisy CI hosts).
{
  cat <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=h8cl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=h8bl$t" }
  - { name: green, vdev: "net_af_packet2,iface=h8gr$t" }
stages:
  - { name: production, default: true, egress: { port: prod } }
services:
YAML
  svc bad 8080 "{ bake: 2s }"
  svc ok 8081 "{ bake: 2s, metrics: { http_5xx: { min_abs: 20% }, connect_failed: { min_abs: 20% }, reset: { min_abs: 20% }, no_answer: { min_abs: 20% }, retransmission: { min_abs: 20% }, slow_answer: { enabled: false } } }"
  svc low 8082 "{ bake: 2s }"
  cat <<YAML
workflow:
  pipeline:
    - { stage: production, on: code_commit }
notify: { urls: [ "http://127.0.0.1:$NOTIFY_PORT/umbra" ], timeout: 2s }
flow_table: { size: 65536, tcp_closed_timeout_ms: 100 }
YAML
} > "$E2E_DIR/umbra.yaml"

e2e_wire "h8c$t" eth0 "h8cl$t"
e2e_wire "h8b$t" eth0 "h8bl$t"
e2e_wire "h8g$t" eth0 "h8gr$t"
ip -n "h8b$t" link set eth0 address "$BLUE_MAC"
ip -n "h8g$t" link set eth0 address "$GREEN_MAC"
ip -n "h8c$t" addr add 10.0.0.1/24 dev eth0
ip -n "h8b$t" addr add 10.0.0.10/24 dev eth0
ip -n "h8g$t" addr add 10.0.0.10/24 dev eth0

server() { # NS PORT BODY MODE
  ip netns exec "$1" $PY "$TOOLS/verdict_server.py" --bind 10.0.0.10 --port "$2" \
    --body "$3" --mode "$4" >"$E2E_DIR/server-$1-$2.log" 2>&1 &
  E2E_PIDS+=($!)
}
for p in 8080 8081 8082; do server "h8b$t" $p v1 normal; done
server "h8g$t" 8080 v2 fail=1
server "h8g$t" 8081 v2 normal
server "h8g$t" 8082 v2 normal
for p in 8080 8081 8082; do
  e2e_wait_port "h8b$t" 10.0.0.10 $p && e2e_wait_port "h8g$t" 10.0.0.10 $p ||
    { echo "HTTP servers did not start"; exit 1; }
done

mkdir -m 0700 "$E2E_DIR/state"
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 --state-dir "$E2E_DIR/state" || exit 1

ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
# jq-free JSON: py FILE EXPR (EXPR on 'j'), prints the value.
py() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
client() { # NAME PORT RATE DURATION
  ip netns exec "h8c$t" $PY "$TOOLS/verdict_client.py" --url "http://10.0.0.10:$2/" \
    --rate "$3" --duration "$4" --timeout 2 --threads 32 \
    --records "$E2E_DIR/rec-$1.jsonl" --stop-file "$E2E_DIR/stop-$1" \
    >"$E2E_DIR/client-$1.json" 2>&1
}
# prod_of SERVICE: "version canary bp" of production from workflow/status.
prod_of() {
  ctl workflow/status service="$1" >"$E2E_DIR/wf-$1.json" 2>&1
  py "$E2E_DIR/wf-$1.json" "' '.join(str(x) for s in j['services'][0]['stages'] if s['stage'] == 'production' for x in (s.get('version'), (s.get('canary') or {}).get('version', '-'), (s.get('canary') or {}).get('bp', 0)))"
}
verdict_of() { # SERVICE: "verdict metric mode"
  ctl verdict/status service="$1" >"$E2E_DIR/verdict-$1.json" 2>&1
  py "$E2E_DIR/verdict-$1.json" "' '.join(str(r.get(k, '-')) for r in j['releases'][-1:] for k in ('verdict', 'metric', 'mode'))"
}
wait_until() { # SECONDS CMD...: poll CMD every 0.2 s
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 0.2; done
  "$@"
}

for s in bad ok low; do ctl event code_commit $s v2 >"$E2E_DIR/event-$s.json" 2>&1; done
check "code_commit starts each rollout at 10% (bp 1000)" \
  test "$(cat "$E2E_DIR"/event-*.json | grep -c '"bp": *1000')" = 3
start=$SECONDS
client bad 8080 100 6 & cb=$!
client ok 8081 100 40 & co=$!
client low 8082 0.5 11 & cl=$!

# a. bad: rolled back by the verdict.
bad_rolled() { [ "$(prod_of bad)" = "v1 - 0" ]; }
wait_until 15 bad_rolled
echo "# bad after $((SECONDS - start)) s: production $(prod_of bad); verdict $(verdict_of bad)"
check "bad: the verdict is rollback on http_5xx, mode outage" \
  test "$(verdict_of bad)" = "rollback http_5xx outage"
check "bad: the workflow rolled back: production runs v1, no canary" bad_rolled
check "bad: umbra logged the verdict's rollback" \
  grep -q "umbra: verdict: bad v2 rolled back" "$E2E_DIR/umbra.log"
wait $cb
after=$(ip netns exec "h8c$t" $PY "$TOOLS/verdict_client.py" --url http://10.0.0.10:8080/ \
        --rate 50 --count 50 --timeout 2 --threads 16)
echo "# bad, after the rollback: $after"
check "bad: afterwards every request is answered by v1" \
  test "$(echo "$after" | $PY -c 'import json,sys; j=json.load(sys.stdin); print(j["ok"], j["by_body"])')" = "50 {'v1': 50}"

# c. low traffic: still holding at the first step after 10 s.
wait $cl
echo "# low after $((SECONDS - start)) s: production $(prod_of low); $(cat "$E2E_DIR/client-low.json")"
low_reason=$(ctl verdict/status service=low | $PY -c 'import json,sys; print(json.load(sys.stdin)["releases"][-1]["reason"])' 2>&1)
echo "# low: verdict $(verdict_of low): $low_reason"
check "low: still at the first step (v2 at bp 1000)" test "$(prod_of low)" = "v1 v2 1000"
check "low: the verdict holds" test "$(verdict_of low)" = "hold - -"
# At 0.5 req/s a 10% canary often has had no request at all: the floor
# is then "no canary ... yet", else "N of M canary ... (traffic floor)".
check "low: held for lack of traffic ($low_reason)" \
  grep -Eq "traffic floor|no (canary|control) .* yet|no traffic yet" <<<"$low_reason"

# b. ok: GO, then 10 -> 50 -> 100: v2 promoted.
ok_promoted() { [ "$(prod_of ok)" = "v2 - 0" ]; }
wait_until 45 ok_promoted
echo "# ok after $((SECONDS - start)) s: production $(prod_of ok); verdict $(verdict_of ok)"
touch "$E2E_DIR/stop-ok"; wait "$co"
check "ok: v2 promoted, running alone in production" ok_promoted
check "ok: the verdict reached GO" grep -q "umbra: verdict: ok v2: go:" "$E2E_DIR/umbra.log"
ctl workflow/history service=ok >"$E2E_DIR/hist-ok.json" 2>&1
check "ok: the rollout stepped to 50% and 100%" \
  test "$(py "$E2E_DIR/hist-ok.json" "sorted(t.get('bp') for t in (j if isinstance(j, list) else j.get('history', [])) if t.get('event') == 'rollout_step' and t.get('status') == 'done')")" = "[5000, 10000]"
check "ok: never rolled back" \
  test "$(grep -c "verdict: ok v2.*rollback\|verdict: ok v2 rolled back" "$E2E_DIR/umbra.log")" = 0
check "ok: its requests were all answered" \
  test "$(py "$E2E_DIR/client-ok.json" "j['failed']")" = 0

ctl verdict/status >"$E2E_DIR/verdict-all.json" 2>&1
check "exactly one automatic rollback in all (bad's)" test "$(py "$E2E_DIR/verdict-all.json" "j['rollbacks']")" = 1
ctl analytics/summary >"$E2E_DIR/summary.json" 2>&1
echo "# analytics/summary: $(cat "$E2E_DIR/summary.json" | tr -d '\n ')"
check "analytics/summary counts the automatic rollback" \
  test "$(py "$E2E_DIR/summary.json" "(j['rollbacks'], j['automatic_rollbacks'])")" = "(1, 1)"
check "analytics/summary has http_5xx as a root cause" \
  test "$(py "$E2E_DIR/summary.json" "[c['metric'] for c in j['root_causes']]")" = "['http_5xx']"

wait_until 5 grep -q '"topic": "release"' "$E2E_DIR/notify.jsonl" >/dev/null
echo "# notify POSTs by topic: $($PY -c 'import json,sys,collections; print(dict(collections.Counter(json.loads(l)["topic"] for l in open(sys.argv[1]))))' "$E2E_DIR/notify.jsonl" 2>&1)"
check "notify: decision POSTs are JSON with a verdict" \
  test "$($PY -c 'import json,sys; print(any(json.loads(l)["topic"] == "decision" and json.loads(l)["type"].startswith("application/json") and (json.loads(l)["body"] or {}).get("verdict") for l in open(sys.argv[1])))' "$E2E_DIR/notify.jsonl" 2>&1)" = True
check "notify: the rollback decision of bad was POSTed" \
  test "$($PY -c 'import json,sys; print(any((json.loads(l)["body"] or {}).get("service") == "bad" and json.loads(l)["body"].get("verdict") == "rollback" for l in open(sys.argv[1])))' "$E2E_DIR/notify.jsonl" 2>&1)" = True

e2e_umbra_stop
echo "# took $((SECONDS - start)) s after the events"
e2e_done
