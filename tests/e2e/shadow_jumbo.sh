#!/usr/bin/env bash
# End to end: jumbo UDP datagrams through a shadowed flow on af_packet ports
# (issue 10, item 5). Veths with MTU 9000; af_packet frames of 10240 bytes,
# two per 20480-byte block (the PMD addresses frames as if packed, so a block
# must hold whole frames; its default 2 KiB frames would drop jumbo frames
# before umbra sees them), and mempool.data_room 10368 so that a frame's
# 10208 data bytes fit one mbuf (the PMD refuses a ring whose frames do not).
# The ports carry no mtu: the PMD reports a 1518-byte max frame and refuses
# MTU 9000 (rte_eth_dev_set_mtu), though it moves frames as large as its
# frame size; the veths' MTU is set with ip link instead.
#   client ns 10.0.0.1 -- uplink [umbra] prod   -- production ns 10.0.0.10
#                                        shadow -- shadow ns     10.0.0.10
# 1. Every 8900-byte datagram reaches production intact, and umbra lives.
# 2. The shadow server receives the copies, intact too (or they are counted
#    as named drops); nothing crashes.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
ns=${E2E_NS_PREFIX:-jm$t-}    # namespace names: the caller may prefix them
SHADOW_MAC=02:00:00:00:5a:01
N=50
AF="blocksz=20480,framesz=10240,framecnt=128"   # 2 frames per block
e2e_ns "${ns}c"; e2e_ns "${ns}p"; e2e_ns "${ns}s"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=jcl$t,$AF", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=jpr$t,$AF" }
  - { name: shadow, vdev: "net_af_packet2,iface=jsh$t,$AF", role: shadow }
mempool: { data_room: 10368 }   # the 10208 bytes of an af_packet frame + headroom
stages:
  - { name: production, default: true, egress: { port: prod } }
shadows:
  - { name: jumbo, stage: production, proto: udp, dport: 8080, fraction: 100%,
      port: shadow, next_hop_mac: "$SHADOW_MAC" }
YAML

e2e_wire "${ns}c" eth0 "jcl$t"
e2e_wire "${ns}p" eth0 "jpr$t"
e2e_wire "${ns}s" eth0 "jsh$t"
for pair in "${ns}c:jcl$t" "${ns}p:jpr$t" "${ns}s:jsh$t"; do
  ip link set "${pair#*:}" mtu 9000
  ip -n "${pair%%:*}" link set eth0 mtu 9000
done
ip -n "${ns}s" link set eth0 address "$SHADOW_MAC"
ip -n "${ns}c" addr add 10.0.0.1/24 dev eth0
ip -n "${ns}p" addr add 10.0.0.10/24 dev eth0
ip -n "${ns}s" addr add 10.0.0.10/24 dev eth0

# A UDP sink: counts datagrams whose bytes are the ones the client sent.
cat > "$E2E_DIR/sink.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.10", 8080))
s.settimeout(float(sys.argv[2]))
good = bad = 0
try:
    while True:
        d = s.recv(65535)
        i = int(d[:6])
        if d == b"%06d" % i + bytes((i + k) & 0xff for k in range(8894)):
            good += 1
        else:
            bad += 1
except socket.timeout:
    pass
open(sys.argv[1], "w").write("%d %d\n" % (good, bad))
PY
ip netns exec "${ns}p" /usr/bin/python3 "$E2E_DIR/sink.py" "$E2E_DIR/prod.txt" 8 &
E2E_PIDS+=($!)
ip netns exec "${ns}s" /usr/bin/python3 "$E2E_DIR/sink.py" "$E2E_DIR/shadow.txt" 8 &
E2E_PIDS+=($!)
SINKS=("${E2E_PIDS[@]: -2}")

e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 || exit 1
# Resolve production's MAC through umbra first (ARP is forwarded).
ip netns exec "${ns}c" ping -c 1 -W 2 10.0.0.10 >/dev/null 2>&1
ip netns exec "${ns}c" /usr/bin/python3 - "$N" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.1", 40000))
for i in range(int(sys.argv[1])):
    s.sendto(b"%06d" % i + bytes((i + k) & 0xff for k in range(8894)), ("10.0.0.10", 8080))
    time.sleep(0.01)
PY
for pid in "${SINKS[@]}"; do wait "$pid"; done
check "umbra is alive after $N jumbo datagrams" kill -0 "$UMBRA_PID"
e2e_umbra_stop
read -r pg pb < "$E2E_DIR/prod.txt"
read -r sg sb < "$E2E_DIR/shadow.txt"
echo "production: $pg intact, $pb damaged; shadow: $sg intact, $sb damaged"
check "production received all $N datagrams intact" [ "$pg" = "$N" -a "$pb" = 0 ]
cloned=$(stat "s['shadows'][0]['counters']['packets_cloned']")
dropped=$(stat "sum(s['shadows'][0]['counters'][k] for k in ('dropped_no_mbuf', 'dropped_no_room', 'dropped_headers_split', 'dropped_rate_cap'))")
echo "shadow copies: $cloned sent, $dropped counted drops"
check "every datagram was copied or its copy counted as a drop" [ $((cloned + dropped)) = "$N" ]
check "the shadow received the copies sent, intact" [ "$sg" = "$cloned" -a "$sb" = 0 ]
check "umbra exited cleanly" [ -f "$E2E_DIR/stats.json" ]
e2e_done
