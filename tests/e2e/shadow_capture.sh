#!/usr/bin/env bash
# End to end: a shadow profile's evidence capture, read by tshark.
#   client ns 10.0.0.1 -- uplink [umbra] prod   -- production ns 10.0.0.10 (v1)
#                                        shadow -- shadow ns     10.0.0.10 (v2)
# The client asks /same then /diff twice on one keep-alive connection (the
# worker's first flow: it carries evidence) and /diff on a second one.
# `umbractl shadow capture web-v2 -o FILE` writes a pcapng file that
# tshark reads: each mismatched exchange is there with its real addresses
# and ports, the request and both answers (v1's on the port the client
# came in on, v2's on the shadow port, as separate TCP streams); matches
# are not. The same file comes over HTTP with the token, not without.
# DNS over UDP: a query whose answers differ is captured as datagrams.
# tshark is installed with apt when missing; the test is skipped (77) only
# when that fails.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}

if ! command -v tshark >/dev/null; then
  echo "# installing tshark (apt)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends tshark; } >/dev/null 2>&1
fi
if ! command -v tshark >/dev/null; then
  echo "# SKIP: tshark is not installed and apt-get could not install it"
  exit 77
fi
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
SHADOW_MAC=02:00:00:00:5a:01
e2e_ns "cc$t"; e2e_ns "cp$t"; e2e_ns "cs$t"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=ccl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=cpr$t" }
  - { name: shadow, vdev: "net_af_packet2,iface=csh$t", role: shadow }
stages:
  - { name: production, default: true, egress: { port: prod } }
shadows:
  - { name: web-v2, stage: production, proto: tcp, dport: 8080, fraction: 100%,
      port: shadow, next_hop_mac: "$SHADOW_MAC", response_timeout: 1s }
  - { name: dns-v2, stage: production, proto: udp, dport: 53, fraction: 100%,
      port: shadow, next_hop_mac: "$SHADOW_MAC", response_timeout: 1s }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

e2e_wire "cc$t" eth0 "ccl$t"
e2e_wire "cp$t" eth0 "cpr$t"
e2e_wire "cs$t" eth0 "csh$t"
ip -n "cs$t" link set eth0 address "$SHADOW_MAC"
ip -n "cc$t" addr add 10.0.0.1/24 dev eth0
ip -n "cp$t" addr add 10.0.0.10/24 dev eth0
ip -n "cs$t" addr add 10.0.0.10/24 dev eth0

# HTTP/1.1 keep-alive servers: /same answers alike, /diff with the version.
cat > "$E2E_DIR/web.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
version = sys.argv[2]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"same body\n" if self.path.startswith("/same") else \
            ("answer of %s\n" % version).encode()
        self.send_response(200 if version == "v1" or self.path != "/diff" else 503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *a):
        pass
ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
PY
# A DNS server answering every A question with its own address.
cat > "$E2E_DIR/dns.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(512)
    end = 12
    while q[end]:
        end += q[end] + 1
    hdr = q[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(sys.argv[2])
    s.sendto(hdr + q[12:end + 5] + rr, peer)
PY
ip netns exec "cp$t" /usr/bin/python3 "$E2E_DIR/dns.py" 10.0.0.10 198.51.100.1 &
E2E_PIDS+=($!)
ip netns exec "cs$t" /usr/bin/python3 "$E2E_DIR/dns.py" 10.0.0.10 198.51.100.2 &
E2E_PIDS+=($!)
ip netns exec "cp$t" /usr/bin/python3 "$E2E_DIR/web.py" 10.0.0.10 v1 &
E2E_PIDS+=($!)
ip netns exec "cs$t" /usr/bin/python3 "$E2E_DIR/web.py" 10.0.0.10 v2 &
E2E_PIDS+=($!)
if ! { e2e_wait_port "cp$t" 10.0.0.10 8080 && e2e_wait_port "cs$t" 10.0.0.10 8080; }; then
  echo "servers did not start"; exit 1
fi
API_PORT=$((20000 + $$ % 20000))
(umask 077; echo "e2e-$t-token" >"$E2E_DIR/token")
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 --http "127.0.0.1:$API_PORT" \
  --http-token-file "$E2E_DIR/token" || exit 1
ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" "$@"; }
js() { /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }

# Flow 1 (evidence): /same, /diff, /diff kept alive; flow 2 (none): /diff.
ip netns exec "cc$t" curl -s --max-time 5 http://10.0.0.10:8080/same \
  http://10.0.0.10:8080/diff http://10.0.0.10:8080/diff >/dev/null
ip netns exec "cc$t" curl -s --max-time 5 http://10.0.0.10:8080/diff >/dev/null
# Flows 3 to 6: one DNS query each (one in 4 flows carries evidence: 5).
ip netns exec "cc$t" /usr/bin/python3 -c '
import socket, struct
for i in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(struct.pack(">HHHHHH", 0x4000 + i, 0x0100, 1, 0, 0, 0) + b"\x04diff\x00\x00\x01\x00\x01",
             ("10.0.0.10", 53))
    s.recvfrom(512)
'
sleep 1.5

cap="$E2E_DIR/web-v2.pcapng"
out=$(ctl shadow capture web-v2 -o "$cap")
echo "# $out"
check "umbractl shadow capture writes a pcapng file" \
  test -s "$cap" -a "$(head -c 4 "$cap" | od -An -tx1 | tr -d ' ')" = 0a0d0d0a
check "... of the 2 mismatches of the flow with evidence (the other counted without)" \
  test "$(ctl --json shadow status name=web-v2 | \
    js "(lambda c: (c['exchanges'], c['without_evidence']))(r['profiles'][0]['comparison']['capture'])")" = "(2, 1)"
ts() { tshark -r "$cap" -o tcp.desegment_tcp_streams:TRUE "$@" 2>/dev/null; }
ts -T fields -e frame.number -e frame.interface_name -e tcp.stream -e ip.src -e tcp.srcport \
  -e ip.dst -e tcp.dstport -e _ws.col.Info | sed 's/^/# /'
check "tshark reads it: 2 exchanges x 2 conversations, 8 packets each" \
  test "$(ts | wc -l)" = 32
check "every packet has the real addresses and the server port" \
  test "$(ts -Y 'ip.addr == 10.0.0.1 && ip.addr == 10.0.0.10 && tcp.port == 8080' | wc -l)" = 32
check "the mismatched request is there, from the client's real port, on both sides" \
  test "$(ts -Y 'http.request.uri == "/diff"' -T fields -e ip.src -e ip.dst -e tcp.dstport | \
    sort | uniq -c | awk '{print $1, $2, $3, $4}')" = "4 10.0.0.1 10.0.0.10 8080"
check "production's answer (v1, 200) and the shadow's (v2, 503) are both there" \
  test "$(ts -Y 'http.response' -T fields -e http.response.code -e http.file_data | sort | uniq -c | \
    awk '{$1=$1; print}' | tr '\n' ';')" = "2 200 answer of v1\\n;2 503 answer of v2\\n;"
check "... each in its own TCP stream, on its own interface (client's port, shadow port)" \
  test "$(ts -Y 'http.response' -T fields -e http.response.code -e tcp.stream -e frame.interface_id | \
    /usr/bin/python3 -c "import sys; rows = [l.split() for l in sys.stdin]
ifs = lambda code: {r[2] for r in rows if r[0] == code}
print(len({r[1] for r in rows}), len(ifs('200')), len(ifs('503')), ifs('200') != ifs('503'))")" = "4 1 1 True"
check "packets carry the exchange's time (the last minute), answers after their request" \
  test "$(ts -T fields -e frame.time_epoch -e tcp.stream -e http.request -e http.response | \
    /usr/bin/python3 -c "import sys, time
rows = [l.rstrip('\n').split('\t') for l in sys.stdin]
req = {r[1]: float(r[0]) for r in rows if r[2]}
ok = all(time.time() - 60 < float(r[0]) <= time.time() for r in rows) and \
    all(float(r[0]) >= req[r[1]] for r in rows if r[3])
print(ok and len(req) == 4)")" = True
check "the answers pair with their requests (HTTP request/response tracking)" \
  test "$(ts -Y 'http.response and http.request_in' | wc -l)" = 4
check "no exchange that matched (/same) is captured" \
  test "$(ts -Y 'http.request.uri == "/same"' | wc -l)" = 0

# The same over HTTP, with the token; refused without it.
api=http://127.0.0.1:$API_PORT/api/v1/shadow/capture
curl -s --max-time 5 -X POST -H "Authorization: Bearer e2e-$t-token" \
  -H "Content-Type: application/json" -d '{"profile": "web-v2"}' "$api" | \
  js "r['result']['pcapng_base64']" | base64 -d >"$E2E_DIR/http.pcapng"
check "POST /api/v1/shadow/capture gives a pcapng tshark reads alike" \
  test "$(tshark -r "$E2E_DIR/http.pcapng" -Y 'http.response' 2>/dev/null | wc -l)" = 4
check "... and is refused without the token (401)" \
  test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -d '{"profile": "web-v2"}' \
    "$api")" = 401
check "an unknown profile is refused with a message" \
  test "$(ctl shadow capture nope -o "$E2E_DIR/x.pcapng" 2>&1)" = \
    "umbractl: no shadow profile 'nope' (shadow list shows them)"

dcap="$E2E_DIR/dns-v2.pcapng"
ctl shadow capture dns-v2 -o "$dcap" | sed 's/^/# /'
tshark -r "$dcap" -T fields -e frame.interface_name -e ip.src -e udp.srcport -e ip.dst \
  -e udp.dstport -e _ws.col.Info 2>/dev/null | sed 's/^/# /'
check "DNS: the query and both answers (production's address, the shadow's), as datagrams" \
  test "$(tshark -r "$dcap" -Y 'ip.src == 10.0.0.1 || ip.dst == 10.0.0.1' -T fields \
    -e dns.flags.response -e dns.qry.name -e dns.a 2>/dev/null | sort | tr '\t\n' ' ;')" = \
    "0 diff ;0 diff ;1 diff 198.51.100.1;1 diff 198.51.100.2;"

e2e_umbra_stop
e2e_done
