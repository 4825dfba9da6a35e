#!/usr/bin/env bash
# End to end: the dependency map rolls back a canary that talks to
# something new. Real TCP stacks in namespaces, umbra on af_packet ports,
# the blue/green layout of tests/e2e/bluegreen.sh:
#   client ns 10.0.0.1 (+ .50 "db", .66 "cache") -- uplink [umbra] prod  -- blue  10.0.0.10 (v1)
#                                                                  green -- green 10.0.0.10 (v2)
# web runs v1 on blue; `event code_commit web v2` puts v2 on green for 50 %
# of new flows. Both versions call their database (10.0.0.50:5432); v2
# also calls a cache it never had (10.0.0.66:6379). The canary's graph
# (edges whose client is web's canary backend) against the control's over
# the same window shows a new edge carrying a third of its traffic: the
# verdict rolls the release back, mode security, naming the edge, and
# production runs v1 alone again.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
BLUE_MAC=02:00:00:00:0b:01
GREEN_MAC=02:00:00:00:0b:02
e2e_ns "gvc$t"; e2e_ns "gvb$t"; e2e_ns "gvg$t"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=gvcl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=gvbl$t" }
  - { name: green, vdev: "net_af_packet2,iface=gvgr$t" }
stages:
  - { name: production, default: true, egress: { port: prod } }
services:
  - name: web
    match: { dst: 10.0.0.10/32, proto: tcp, dport: 8080 }
    backends:
      - { name: blue, port: prod, next_hop_mac: "$BLUE_MAC" }
      - { name: green, port: green, next_hop_mac: "$GREEN_MAC" }
    stages:
      production: { backends: [blue, green], running: v1 }
    rollout: { steps: [50, 100], hold_s: 3600 }
    verdict: { bake: 1h }
workflow:
  pipeline:
    - { stage: production, on: code_commit }
graph: { min_gap: 300ms, min_flows: 5 }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

e2e_wire "gvc$t" eth0 "gvcl$t"
e2e_wire "gvb$t" eth0 "gvbl$t"
e2e_wire "gvg$t" eth0 "gvgr$t"
ip -n "gvb$t" link set eth0 address "$BLUE_MAC"
ip -n "gvg$t" link set eth0 address "$GREEN_MAC"
ip -n "gvc$t" addr add 10.0.0.1/24 dev eth0
ip -n "gvc$t" addr add 10.0.0.50/24 dev eth0
ip -n "gvc$t" addr add 10.0.0.66/24 dev eth0
ip -n "gvb$t" addr add 10.0.0.10/24 dev eth0
ip -n "gvg$t" addr add 10.0.0.10/24 dev eth0
e2e_http "gvb$t" 10.0.0.10 8080 "v1"
e2e_http "gvg$t" 10.0.0.10 8080 "v2"
e2e_wait_port "gvb$t" 10.0.0.10 8080 && e2e_wait_port "gvg$t" 10.0.0.10 8080 ||
  { echo "HTTP servers did not start"; exit 1; }
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 || exit 1
ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
py() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

# A backend's outbound calls: a connection attempt every 100 ms each.
caller() { # NS ADDR PORT
  ip netns exec "$1" bash -c "while :; do timeout 0.2 bash -c 'exec 3<>/dev/tcp/$2/$3' 2>/dev/null; sleep 0.1; done" &
  E2E_PIDS+=($!)
}
ctl event code_commit web v2 >"$E2E_DIR/event.json" 2>&1
check "code_commit web v2: v2 on green for 50 % of new flows" grep -q '"bp": *5000' "$E2E_DIR/event.json"
caller "gvb$t" 10.0.0.50 5432
caller "gvg$t" 10.0.0.50 5432
caller "gvg$t" 10.0.0.66 6379
for i in $(seq 1 150); do
  ctl verdict/status service=web >"$E2E_DIR/v.json" 2>&1
  [ "$(py "$E2E_DIR/v.json" "j['releases'][-1]['verdict'] if j['releases'] else '-'")" = rollback ] && break
  sleep 0.1
done
echo "# $(py "$E2E_DIR/v.json" "j['releases'][-1]['reason']")"
check "the verdict rolls v2 back" test "$(py "$E2E_DIR/v.json" "j['releases'][-1]['verdict']")" = rollback
check "named by the dependency map, mode security" \
  test "$(py "$E2E_DIR/v.json" "j['releases'][-1]['metric'], j['releases'][-1]['mode']")" = "new_destination security"
check "the new edge is named (10.0.0.66:6379)" grep -q "10.0.0.66:6379" "$E2E_DIR/v.json"
ctl workflow/status service=web >"$E2E_DIR/wf.json" 2>&1
check "production runs v1 alone again" \
  test "$(py "$E2E_DIR/wf.json" "[(s.get('version'), s.get('canary')) for s in j['services'][0]['stages'] if s['stage'] == 'production'][0]")" = "('v1', None)"
ctl graph/diff stage=production service=web against=control >"$E2E_DIR/diff.json" 2>&1 || true
e2e_umbra_stop
e2e_done
