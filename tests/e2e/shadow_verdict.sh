#!/usr/bin/env bash
# End to end: a shadow verdict gates a release. Real TCP stacks and HTTP
# servers in namespaces, umbra between them on af_packet ports.
#   client ns 10.0.0.1 -- uplink [umbra] prod   -- production ns 10.0.0.10 (v1)
#                                        shadow -- shadow ns     10.0.0.10 (v2)
# Service web runs v1 in production; the shadow profile web-v2 belongs to
# release web v2 (version: v2) and clones every flow to the shadow server,
# which runs v2. web has verdict.gate: approving v2 into production needs
# its GO.
# 1. v2 answers 500 in the shadow: the shadow verdict is ROLLBACK on
#    http_5xx (the shadow's errors against production's to the same
#    requests); the client only ever sees v1's answers; approving v2 is
#    refused, naming the shadow verdict.
# 2. v2 fixed (a new profile): the shadow verdict reaches GO and the
#    approval passes, with its risk estimate.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
PY=/usr/bin/python3
TOOLS=$SRC/tests/tools
SHADOW_MAC=02:00:00:00:5b:01
e2e_ns "svc$t"; e2e_ns "svp$t"; e2e_ns "svs$t"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=svcl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=svpr$t" }
  - { name: shadow, vdev: "net_af_packet2,iface=svsh$t", role: shadow }
stages:
  - { name: production, default: true, egress: { port: prod } }
  - { name: staging, egress: { port: prod, vlan: 300 } }
  - { name: test, egress: { port: prod, vlan: 200 } }
  - { name: dev, egress: { port: prod, vlan: 100 } }
services:
  - name: web
    match: { dst: 10.0.0.10/32, proto: tcp, dport: 8080 }
    stages: { production: { running: v1 } }
    verdict:
      gate: true
      bake: 2s
      metrics: { http_5xx: { min_abs: 20% }, no_answer: { min_abs: 20% },
                 reset: { min_abs: 20% }, slow_answer: { enabled: false } }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

e2e_wire "svc$t" eth0 "svcl$t"
e2e_wire "svp$t" eth0 "svpr$t"
e2e_wire "svs$t" eth0 "svsh$t"
ip -n "svs$t" link set eth0 address "$SHADOW_MAC"
ip -n "svc$t" addr add 10.0.0.1/24 dev eth0
ip -n "svp$t" addr add 10.0.0.10/24 dev eth0
ip -n "svs$t" addr add 10.0.0.10/24 dev eth0

echo "fail=1" > "$E2E_DIR/shadow-mode"
ip netns exec "svp$t" $PY "$TOOLS/verdict_server.py" --bind 10.0.0.10 --port 8080 \
  --body v1 --mode normal >"$E2E_DIR/server-prod.log" 2>&1 &
E2E_PIDS+=($!)
ip netns exec "svs$t" $PY "$TOOLS/verdict_server.py" --bind 10.0.0.10 --port 8080 \
  --body v2 --control "$E2E_DIR/shadow-mode" >"$E2E_DIR/server-shadow.log" 2>&1 &
E2E_PIDS+=($!)
e2e_wait_port "svp$t" 10.0.0.10 8080 && e2e_wait_port "svs$t" 10.0.0.10 8080 ||
  { echo "HTTP servers did not start"; exit 1; }
mkdir -m 0700 "$E2E_DIR/state"
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 --state-dir "$E2E_DIR/state" || exit 1

ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
py() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
client() { # NAME DURATION
  ip netns exec "svc$t" $PY "$TOOLS/verdict_client.py" --url "http://10.0.0.10:8080/" \
    --rate 50 --duration "$2" --timeout 2 --threads 16 \
    --records "$E2E_DIR/rec-$1.jsonl" >"$E2E_DIR/client-$1.json" 2>&1
}
shadow_verdict() { # "verdict metric" of the newest shadow verdict of web
  ctl verdict/status service=web >"$E2E_DIR/sv.json" 2>&1
  py "$E2E_DIR/sv.json" "' '.join(str(r.get(k, '-')) for r in j['shadows'][-1:] for k in ('verdict', 'metric'))"
}
profile() { # NAME: a shadow profile of release web v2
  ctl shadow/create name="$1" network=production stage=production service=web version=v2 \
    proto=tcp dport=8080 fraction=100% port=shadow next_hop_mac="$SHADOW_MAC" \
    response_timeout=1s >"$E2E_DIR/create-$1.json" 2>&1
}

profile web-v2-a
check "a shadow profile of release web v2 is created" grep -q '"web-v2-a"' "$E2E_DIR/create-web-v2-a.json"
ctl event code_commit web v2 >/dev/null && ctl event test_completion web v2 passed=true >/dev/null
client bad 6
v=$(shadow_verdict)
echo "# shadow verdict with v2 failing: $v"
check "v2 failing in the shadow: shadow verdict rollback on http_5xx" test "$v" = "rollback http_5xx"
seen=$($PY -c "
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
print(sum(x.get('body') == 'v2' for x in r), sum(x.get('body') == 'v1' for x in r), len(r))" \
  "$E2E_DIR/rec-bad.jsonl")
echo "# requests answered v2, v1, sent: $seen"
check "the client never saw v2's answers" test "${seen%% *}" = 0
read -r _ v1 sent <<<"$seen"
check "and was answered by v1 ($v1 of $sent)" test $((v1 * 100)) -ge $((sent * 95))
ctl event manual_approval web v2 approver=al >"$E2E_DIR/approve-1.json" 2>&1
check "approving v2 is refused, naming the shadow verdict" \
  grep -q "no GO: its verdict is rollback: in shadow web-v2-a" "$E2E_DIR/approve-1.json"

echo normal > "$E2E_DIR/shadow-mode"
sleep 0.2
ctl shadow/delete name=web-v2-a >/dev/null
profile web-v2-b
client good 8
v=$(shadow_verdict)
echo "# shadow verdict with v2 fixed: $v"
check "v2 fixed, a new profile: shadow verdict go" test "${v%% *}" = go
ctl event manual_approval web v2 approver=al >"$E2E_DIR/approve-2.json" 2>&1
check "approving v2 now passes, with its risk estimate" \
  test "$(py "$E2E_DIR/approve-2.json" "j['risk']['verdict'], j['risk']['score'] < 0.5")" = "go True"
grep -q "verdict: web v2 in shadow web-v2-a: rollback" "$E2E_DIR/umbra.log"
check "the log names the shadow verdict" test $? = 0
e2e_umbra_stop
e2e_done
