#!/usr/bin/env bash
# End to end: DevMesh modes of a development stage. Real TCP stacks and
# HTTP servers in namespaces, umbra between them on af_packet ports; no
# static neighbour entries anywhere.
#   prod client ns 10.0.0.1   -- uplink  [umbra] prod    -- production api 10.0.0.10
#                                                paynet  -- production pay 10.0.0.20
#   dev client ns 10.0.0.100  -- dev               devapi  -- dev api 10.0.0.10
#                                                replica -- dev api replica 10.0.0.10
#                                                           (role shadow: the mirror)
# dev (proxy_arp, every packet from its port is dev's) runs api itself,
# not pay. The dev client:
# 1. reaches dev's own api (served locally), never production's;
# 2. does not reach pay while dev has no extension for it;
# 3. a configuration with `mode: extension` for pay but no allow rule in
#    flows:, or with a policy that dev never reaches production, is
#    refused by config/apply with file:line:col, and pay stays out of reach;
# 4. with the rule, reaches production's pay through the extension
#    (counted under the rule, as dev -> production).
# Mirror: production's requests to api also reach the dev replica (its
# server logs them) while the production client gets only production's
# answers; dev's own requests are never mirrored.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

# Everything this test makes at run time is named h7...
rm -rf "$E2E_DIR"
E2E_DIR=$(mktemp -d /tmp/h7-devmesh.XXXX)
E2E_PREFIX="h7-devmesh-$E2E_TAG"
t=$E2E_TAG
DEVAPI_MAC=02:00:00:00:d7:01
PAY_MAC=02:00:00:00:d7:02
REPLICA_MAC=02:00:00:00:d7:03
DEV_MAC=02:00:00:00:d7:04
for ns in c p y d a m; do e2e_ns "h7$ns$t"; done

# conf EXTENSION_ITEM RULE: the configuration, with or without them.
conf() {
  cat <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=h7cl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=h7pr$t" }
  - { name: dev, vdev: "net_af_packet2,iface=h7dv$t" }
  - { name: devapi, vdev: "net_af_packet3,iface=h7da$t" }
  - { name: paynet, vdev: "net_af_packet4,iface=h7py$t" }
  - { name: replica, vdev: "net_af_packet5,iface=h7rp$t", role: shadow }
stages:
  - { name: production, default: true, egress: { port: prod } }
  - name: dev
    egress: { port: dev, next_hop_mac: "$DEV_MAC" }
    proxy_arp: true
    match: [ { port: dev } ]
    devmesh:
      - { mode: mirror, service: api, port: replica, next_hop_mac: "$REPLICA_MAC" }
$1
services:
  - name: api
    match: { dst: 10.0.0.10/32, proto: tcp, dport: 8080 }
    backends:
      - { name: devbox, port: devapi, next_hop_mac: "$DEVAPI_MAC" }
    stages:
      production: { running: v1 }
      dev: { backends: [devbox], running: v2-dev }
  - name: pay
    match: { dst: 10.0.0.20/32, proto: tcp, dport: 8080 }
    backends:
      - { name: main, port: paynet, next_hop_mac: "$PAY_MAC" }
    stages:
      production: { backends: [main], running: v1 }
workflow:
  pipeline: [ { stage: dev, on: code_commit }, { stage: production, on: manual_approval } ]
$2
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML
}
EXT="      - { mode: extension, service: pay }"
RULE=$'flows:\n  - { name: dev-uses-pay, from: dev, to: production, proto: tcp, dport: 8080 }'
conf "" "" > "$E2E_DIR/local.yaml"
conf "$EXT" "" > "$E2E_DIR/norule.yaml"
conf "$EXT" "$RULE" > "$E2E_DIR/extension.yaml"
conf "$EXT" $'policies:\n  - { name: dev-never-production, never: { from: dev, to: production } }' \
  > "$E2E_DIR/policy.yaml"

e2e_wire "h7c$t" eth0 "h7cl$t"
e2e_wire "h7p$t" eth0 "h7pr$t"
e2e_wire "h7d$t" eth0 "h7dv$t"
e2e_wire "h7a$t" eth0 "h7da$t"
e2e_wire "h7y$t" eth0 "h7py$t"
e2e_wire "h7m$t" eth0 "h7rp$t"
ip -n "h7a$t" link set eth0 address "$DEVAPI_MAC"
ip -n "h7y$t" link set eth0 address "$PAY_MAC"
ip -n "h7m$t" link set eth0 address "$REPLICA_MAC"
ip -n "h7d$t" link set eth0 address "$DEV_MAC"
ip -n "h7c$t" addr add 10.0.0.1/24 dev eth0
ip -n "h7p$t" addr add 10.0.0.10/24 dev eth0
ip -n "h7y$t" addr add 10.0.0.20/24 dev eth0
ip -n "h7d$t" addr add 10.0.0.100/24 dev eth0
ip -n "h7a$t" addr add 10.0.0.10/24 dev eth0
ip -n "h7m$t" addr add 10.0.0.10/24 dev eth0

e2e_http "h7p$t" 10.0.0.10 8080 "production api"
e2e_http "h7y$t" 10.0.0.20 8080 "production pay"
e2e_http "h7a$t" 10.0.0.10 8080 "dev api"
e2e_http "h7m$t" 10.0.0.10 8080 "dev api replica"
for s in "h7p$t 10.0.0.10" "h7y$t 10.0.0.20" "h7a$t 10.0.0.10" "h7m$t 10.0.0.10"; do
  # shellcheck disable=SC2086
  e2e_wait_port $s 8080 || { echo "HTTP server $s did not start"; exit 1; }
done
e2e_umbra "$E2E_DIR/local.yaml" 0-1 || exit 1

ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
get() { # NS URL: the body, or nothing on failure
  ip netns exec "$1" curl -s --max-time 3 "$2" 2>/dev/null
}
log_of() { cat "$E2E_DIR/http-$1-8080.log" 2>/dev/null; }
# seen NS PATH: the server in NS logged a request for PATH (within 3 s).
seen() {
  for _ in $(seq 1 30); do
    log_of "$1" | grep -q "GET $2 " && return 0
    sleep 0.1
  done
  return 1
}

# 1. Served locally.
check "dev client reaches dev's own api" \
  test "$(get "h7d$t" "http://10.0.0.10:8080/?from-dev")" = "dev api"
check "production's api never saw the dev client's request" \
  bash -c "! grep -q 'GET /?from-dev ' '$E2E_DIR/http-h7p$t-8080.log'"

# 2. No extension: pay is out of reach.
check "without an extension the dev client does not reach pay" \
  test -z "$(get "h7d$t" "http://10.0.0.20:8080/?no-extension")"
check "production's pay never saw it" \
  bash -c "! grep -q 'GET /?no-extension ' '$E2E_DIR/http-h7y$t-8080.log'"

# 3. An extension without an allow rule, or against a policy, is refused
#    where it is written.
ext_line=$(grep -n "mode: extension" "$E2E_DIR/norule.yaml" | cut -d: -f1)
ctl config apply "$E2E_DIR/norule.yaml" >"$E2E_DIR/norule.out" 2>&1
echo "# $(head -c 400 "$E2E_DIR/norule.out")"
said="devmesh extension of stage 'dev' hands its flows of service 'pay'"
check "config/apply refuses an extension without an allow rule, at line $ext_line:9" \
  grep -q "norule.yaml:$ext_line:9: $said.*no allow rule in flows:" \
  "$E2E_DIR/norule.out"
ctl config apply "$E2E_DIR/policy.yaml" >"$E2E_DIR/policy.out" 2>&1
check "config/apply refuses an extension that a never{} policy forbids, at line $ext_line:9" \
  grep -q "policy.yaml:$ext_line:9: $said to stage production, which policy 'dev-never-production'" \
  "$E2E_DIR/policy.out"
check "after the refusals, the dev client still does not reach pay" \
  test -z "$(get "h7d$t" "http://10.0.0.20:8080/?refused")"

# 4. With the rule: production's pay, through the extension.
ctl config apply "$E2E_DIR/extension.yaml" >"$E2E_DIR/extension.out" 2>&1
check "config/apply takes the extension with its allow rule" \
  bash -c "! grep -qi error '$E2E_DIR/extension.out'"
check "dev client reaches production's pay through the extension" \
  test "$(get "h7d$t" "http://10.0.0.20:8080/?through-extension")" = "production pay"
check "production's pay saw the dev client's request" seen "h7y$t" "/?through-extension"
check "dev client still reaches dev's own api, not production's" \
  test "$(get "h7d$t" "http://10.0.0.10:8080/?still-local")" = "dev api"

# Mirror: production's api requests also reach the dev replica.
answers=""
for i in 1 2 3 4 5; do
  answers="$answers$(get "h7c$t" "http://10.0.0.10:8080/?mirror-$i")|"
done
check "production client got only production's answers" \
  test "$answers" = "production api|production api|production api|production api|production api|"
for i in 1 5; do
  check "the dev replica's server saw production's request /?mirror-$i" seen "h7m$t" "/?mirror-$i"
done
check "production's own server answered them" seen "h7p$t" "/?mirror-5"
check "dev's own requests are not mirrored" \
  bash -c "! grep -q -e 'GET /?from-dev ' -e 'GET /?still-local ' '$E2E_DIR/http-h7m$t-8080.log'"

e2e_umbra_stop
check "final counters written on SIGTERM" test -s "$E2E_DIR/stats.json"
check "extended flows counted under the allow rule (dev -> production)" \
  test "$(stat "s['rules']['dev-uses-pay']['flows'] > 0")" = True
check "the mirror's shadow profile copied production's api flows" \
  test "$(stat "[p['counters']['flows'] >= 5 for p in s['shadows'] if p['name'] == 'dev-api']")" = "[True]"
e2e_done
