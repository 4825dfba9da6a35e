#!/usr/bin/env bash
# End to end: real TCP stacks and HTTP servers in namespaces, umbra between
# them on af_packet (or tap) ports.
#   client ns (10.0.0.1, 10.1.0.1) -- uplink [umbra] prod -- production ns 10.0.0.10
#                                                    dev  -- dev ns 10.1.0.10
# A production client reaches production; a client in the dev subnet
# reaches the dev server; the dev server cannot open a connection into
# production (default deny between stages) and the deny counter rises.
# PORT_KIND=tap runs the same over net_tap ports moved into the namespaces.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
PORT_KIND=${PORT_KIND:-af_packet}
e2e_ns "uc$t"; e2e_ns "up$t"; e2e_ns "ud$t"

# port NAME INDEX HOST_IF: a YAML port line for this run's port kind.
port() {
  if [ "$PORT_KIND" = tap ]; then
    echo "  - { name: $1, vdev: \"net_tap$2,iface=$3\"${4:-} }"
  else
    echo "  - { name: $1, vdev: \"net_af_packet$2,iface=$3\"${4:-} }"
  fi
}
cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
$(port uplink 0 "ucl$t" ", role: uplink")
$(port prod 1 "upr$t")
$(port dev 2 "udv$t")
stages:
  - name: production
    default: true
    egress: { port: prod }
  - name: dev
    egress: { port: dev }
    match:
      - { port: uplink, src: 10.1.0.0/24 }
      - { dst: 10.1.0.0/24 }
policies:
  - name: production-never-dev
    never: { from: production, to: dev }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

# With taps, umbra creates the interfaces and the namespaces take them (by
# their own names); with af_packet, veth pairs whose namespace end is eth0.
if [ "$PORT_KIND" = tap ]; then
  e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 || exit 1
  ifc="ucl$t" ifp="upr$t" ifd="udv$t"
  for pair in "uc$t:$ifc" "up$t:$ifp" "ud$t:$ifd"; do
    ip link set "${pair#*:}" netns "${pair%%:*}"
    ip -n "${pair%%:*}" link set "${pair#*:}" up
  done
else
  ifc=eth0 ifp=eth0 ifd=eth0
  e2e_wire "uc$t" eth0 "ucl$t"
  e2e_wire "up$t" eth0 "upr$t"
  e2e_wire "ud$t" eth0 "udv$t"
fi
ip -n "uc$t" addr add 10.0.0.1/24 dev "$ifc"
ip -n "uc$t" addr add 10.1.0.1/24 dev "$ifc"
ip -n "up$t" addr add 10.0.0.10/24 dev "$ifp"
ip -n "ud$t" addr add 10.1.0.10/24 dev "$ifd"
ip -n "ud$t" route add 10.0.0.0/24 dev "$ifd"   # dev reaches for production

e2e_http "up$t" 10.0.0.10 8080 "production v1"
e2e_http "ud$t" 10.1.0.10 8080 "dev v2"
e2e_wait_port "up$t" 10.0.0.10 8080 && e2e_wait_port "ud$t" 10.1.0.10 8080 ||
  { echo "HTTP servers did not start"; exit 1; }
[ "$PORT_KIND" = tap ] || e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 || exit 1

curl_in() { # NS ARGS...: body, or nothing on failure
  local ns=$1; shift
  ip netns exec "$ns" curl -s --max-time 5 "$@" 2>/dev/null
}

check "production client reaches the production server" \
  test "$(curl_in "uc$t" http://10.0.0.10:8080/)" = "production v1"
check "a second connection works (new flow, same stage)" \
  test "$(curl_in "uc$t" http://10.0.0.10:8080/index.html)" = "production v1"
check "dev-subnet client reaches the dev server" \
  test "$(curl_in "uc$t" --interface 10.1.0.1 http://10.1.0.10:8080/)" = "dev v2"
check "dev server cannot connect into production" \
  test -z "$(curl_in "ud$t" --max-time 2 http://10.0.0.10:8080/)"
# A 1 MB transfer keeps its bytes intact through umbra.
head -c 1000000 /dev/urandom > "$E2E_DIR/www-up$t-8080/big.bin"
curl_in "uc$t" -o "$E2E_DIR/big.out" http://10.0.0.10:8080/big.bin
check "1 MB download through umbra is byte-identical" \
  cmp -s "$E2E_DIR/big.out" "$E2E_DIR/www-up$t-8080/big.bin"

e2e_umbra_stop
check "final counters written on SIGTERM" test -s "$E2E_DIR/stats.json"
check "production stage counted packets" test "$(stat "s['stages']['production']['pkts'] > 0")" = True
check "dev stage counted packets" test "$(stat "s['stages']['dev']['pkts'] > 0")" = True
check "dev -> production denied by default, counter rose" \
  test "$(stat "s['default_deny'].get('dev->production', 0) > 0")" = True
check "policy_deny drop counter rose" test "$(stat "s['drops']['policy_deny'] > 0")" = True
check "ARP crossed the wire" test "$(stat "s['arp']['forwarded'] > 0")" = True
check "no parse drops on real traffic" \
  test "$(stat "sum(v for k, v in s['drops'].items() if k != 'policy_deny')")" = 0
e2e_done
