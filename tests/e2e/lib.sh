# Shared helpers for end-to-end tests: namespaces, veth pairs, umbra runs.
# Every name carries a per-run tag so tests never touch what they did not make.
# shellcheck shell=bash
set -uo pipefail

E2E_TAG=${E2E_TAG:-$$}
E2E_DIR=$(mktemp -d "/tmp/umbra-e2e-$E2E_TAG.XXXX")
E2E_PIDS=()
E2E_NETNS=()
E2E_LINKS=()
E2E_PREFIX="umbra-e2e-$E2E_TAG"
E2E_FAILS=0

e2e_cleanup() {
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${E2E_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  for l in "${E2E_LINKS[@]}"; do ip link del "$l" 2>/dev/null; done
  rm -rf "/var/run/dpdk/$E2E_PREFIX" /dev/hugepages/"$E2E_PREFIX"map_* 2>/dev/null
  [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_DIR"
}
trap e2e_cleanup EXIT

# e2e_ns NAME: a namespace with loopback up.
e2e_ns() {
  ip netns add "$1" && E2E_NETNS+=("$1")
  ip -n "$1" link set lo up
}

# e2e_wire NS NS_IF HOST_IF: a veth pair, one end in NS; checksum offload
# off on both ends (af_packet sees frames before the kernel fills checksums).
e2e_wire() {
  local ns=$1 nsif=$2 hif=$3
  # The peer gets its final name only inside the namespace (the root
  # namespace may already have an eth0).
  ip link add "$hif" type veth peer name "p$hif" && E2E_LINKS+=("$hif")
  ip link set "p$hif" netns "$ns"
  ip -n "$ns" link set "p$hif" name "$nsif"
  ip link set "$hif" up
  ip -n "$ns" link set "$nsif" up
  ethtool -K "$hif" tx off rx off >/dev/null 2>&1
  ip netns exec "$ns" ethtool -K "$nsif" tx off rx off >/dev/null 2>&1
  # No IPv6 chatter from the host end: umbra owns the wire.
  sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1"
}

# e2e_http NS ADDR PORT BODY: a real HTTP server in NS answering BODY.
e2e_http() {
  local ns=$1 addr=$2 port=$3 body=$4 root
  root="$E2E_DIR/www-$ns-$port"
  mkdir -p "$root" && printf '%s' "$body" > "$root/index.html"
  ip netns exec "$ns" /usr/bin/python3 -m http.server "$port" --bind "$addr" \
    --directory "$root" >"$E2E_DIR/http-$ns-$port.log" 2>&1 &
  E2E_PIDS+=($!)
}

# e2e_umbra CONF LCORES [umbra args...]: start umbra in the background.
e2e_umbra() {
  local conf=$1 lcores=$2; shift 2
  # shellcheck disable=SC2046
  "$UMBRA" -l "$lcores" --no-pci --file-prefix "$E2E_PREFIX" \
    $("$SRC/deploy/eal-mem.sh") --log-level=lib.eal:warning \
    -- -c "$conf" --stats-json "$E2E_DIR/stats.json" \
    --socket "$E2E_DIR/umbra.sock" "$@" \
    >"$E2E_DIR/umbra.log" 2>&1 &
  UMBRA_PID=$!
  E2E_PIDS+=("$UMBRA_PID")
  for _ in $(seq 1 100); do
    grep -q "umbra: .* workers" "$E2E_DIR/umbra.log" 2>/dev/null && return 0
    kill -0 "$UMBRA_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "umbra did not start:"; cat "$E2E_DIR/umbra.log"; return 1
}

# e2e_umbra_stop: SIGTERM, wait, final counters in $E2E_DIR/stats.json.
e2e_umbra_stop() {
  kill -TERM "$UMBRA_PID" 2>/dev/null
  wait "$UMBRA_PID" 2>/dev/null
}

# e2e_wait_http NS URL: until the server answers (servers start async).
e2e_wait_port() {
  local ns=$1 addr=$2 port=$3
  for _ in $(seq 1 50); do
    ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stat EXPR: a value from the final counters (python expression on 's').
stat() {
  /usr/bin/python3 -c "import json,sys; s=json.load(open('$E2E_DIR/stats.json')); print($1)"
}

check() { # check DESCRIPTION CMD...
  local what=$1; shift
  if "$@"; then echo "ok - $what"; else echo "not ok - $what"; E2E_FAILS=$((E2E_FAILS + 1)); fi
}

e2e_done() {
  if [ "$E2E_FAILS" -gt 0 ]; then
    echo "--- umbra log"; cat "$E2E_DIR/umbra.log" 2>/dev/null
    exit 1
  fi
  exit 0
}
