#!/usr/bin/env bash
# End to end: blue/green backends on their own segments, as users set them
# up. Real TCP stacks and HTTP servers in namespaces, umbra between them on
# af_packet ports; no static neighbour entries anywhere.
#   client ns 10.0.0.1 -- uplink [umbra] prod  -- blue ns  10.0.0.10 (v1)
#                                        green -- green ns 10.0.0.10 (v2)
# Blue and green have the same address (production's). Production runs v1
# on blue; `event code_commit web v2` starts a rollout whose first step is
# a canary of v2 on green for 50% of new flows. 40 requests, each on a new
# connection: all answered, both v1 and v2 seen, as often as umbra counts
# running and canary flows. The client only ever learns blue's MAC for
# production's address; green resolves the client through umbra (its port's
# MAC), and its own resolution frames never reach the uplink.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
BLUE_MAC=02:00:00:00:0b:01
GREEN_MAC=02:00:00:00:0b:02
N=40
e2e_ns "h6c$t"; e2e_ns "h6b$t"; e2e_ns "h6g$t"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=h6cl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=h6bl$t" }
  - { name: green, vdev: "net_af_packet2,iface=h6gr$t" }
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
workflow:
  pipeline:
    - { stage: production, on: code_commit }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

e2e_wire "h6c$t" eth0 "h6cl$t"
e2e_wire "h6b$t" eth0 "h6bl$t"
e2e_wire "h6g$t" eth0 "h6gr$t"
ip -n "h6b$t" link set eth0 address "$BLUE_MAC"
ip -n "h6g$t" link set eth0 address "$GREEN_MAC"
ip -n "h6c$t" addr add 10.0.0.1/24 dev eth0
ip -n "h6b$t" addr add 10.0.0.10/24 dev eth0
ip -n "h6g$t" addr add 10.0.0.10/24 dev eth0

e2e_http "h6b$t" 10.0.0.10 8080 "v1"
e2e_http "h6g$t" 10.0.0.10 8080 "v2"
e2e_wait_port "h6b$t" 10.0.0.10 8080 && e2e_wait_port "h6g$t" 10.0.0.10 8080 ||
  { echo "HTTP servers did not start"; exit 1; }
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 || exit 1

ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
ctl event code_commit web v2 >"$E2E_DIR/event.json" 2>&1
check "code_commit web v2 starts the rollout: v2 on green for 50% of new flows" \
  grep -q '"bp": *5000' "$E2E_DIR/event.json"

v1=0 v2=0 failed=0
for i in $(seq 1 "$N"); do
  body=$(ip netns exec "h6c$t" curl -s --max-time 5 "http://10.0.0.10:8080/?$i" 2>/dev/null)
  case $body in
    v1) v1=$((v1 + 1)) ;;
    v2) v2=$((v2 + 1)) ;;
    *) failed=$((failed + 1)) ;;
  esac
done
echo "# $N requests: v1 $v1, v2 $v2, failed $failed"
check "all $N requests on new connections are answered" test "$failed" = 0
check "blue answered some (v1)" test "$v1" -gt 0
check "green answered some (v2)" test "$v2" -gt 0

neigh_mac() { # NS ADDR: the MAC NS resolved ADDR to
  ip -n "$1" neigh show "$2" dev eth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
up_mac=$(cat "/sys/class/net/h6gr$t/address")
check "the client learnt only blue's MAC for production's address" \
  test "$(neigh_mac "h6c$t" 10.0.0.10)" = "$BLUE_MAC"
check "green resolved the client to umbra's green port ($up_mac)" \
  test "$(neigh_mac "h6g$t" 10.0.0.1)" = "$up_mac"
check "no neighbour entry was written by hand" \
  test -z "$(ip -n "h6c$t" neigh show nud permanent; ip -n "h6b$t" neigh show nud permanent;
             ip -n "h6g$t" neigh show nud permanent)"

e2e_umbra_stop
check "final counters written on SIGTERM" test -s "$E2E_DIR/stats.json"
check "umbra counted $v1 running (blue) and $v2 canary (green) flows of web" \
  test "$(stat "(s['services']['web']['running_flows'], s['services']['web']['canary_flows'])")" = "($v1, $v2)"
check "umbra answered green's ARP with its port's MAC" \
  test "$(stat "s['arp']['proxied'] > 0")" = True
check "no policy or parse drops" \
  test "$(stat "sum(v for k, v in s['drops'].items() if k != 'backend_resolution')")" = 0
e2e_done
