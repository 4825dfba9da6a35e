#!/usr/bin/env bash
# End to end: a shadow network. Real TCP stacks and HTTP servers in
# namespaces, umbra between them on af_packet ports.
#   client ns 10.0.0.1 -- uplink [umbra] prod    -- production ns 10.0.0.10 (v1)
#                                        shadow  -- shadow ns     10.0.0.10 (v2)
#                                        control -- control ns    10.0.0.10 (v1 again)
# The shadow server has production's address; umbra clones every flow to
# it, plays the client, answers its ARP, and compares its answers.
# 1. The client only ever receives v1's bytes (new connections and
#    keep-alive), and umbra reports mismatches exactly on the paths where
#    v2 differs (/diff: body), matches elsewhere (/same; Date ignored).
# 2. Stalling the shadow server (SIGSTOP) or stopping it changes nothing
#    for the client; the shadow's silence is reported as no answer.
# 3. DNS over UDP is shadowed too and answers are paired by query ID.
# 5. With a control replica of production also shadowed, a path whose
#    answer differs on every call (/random) is reported as noise, not as a
#    mismatch, while /diff still is one.
# 4. The REST API of the product description: /networks/{id}/shadowing/
#    status, create, and inject_fault (a delay on what umbra sends to the
#    shadow: the shadow's answers come later, the client's do not).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
SHADOW_MAC=02:00:00:00:5a:01
CONTROL_MAC=02:00:00:00:5a:02
e2e_ns "vc$t"; e2e_ns "vp$t"; e2e_ns "vs$t"; e2e_ns "vk$t"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=vcl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=vpr$t" }
  - { name: shadow, vdev: "net_af_packet2,iface=vsh$t", role: shadow }
  - { name: control, vdev: "net_af_packet3,iface=vct$t", role: shadow }
stages:
  - { name: production, default: true, egress: { port: prod } }
shadows:
  - { name: web-v2, stage: production, proto: tcp, dport: 8080, fraction: 100%,
      port: shadow, next_hop_mac: "$SHADOW_MAC", response_timeout: 1s }
  - { name: api-control, stage: production, proto: tcp, dport: 8081, fraction: 100%,
      port: shadow, next_hop_mac: "$SHADOW_MAC",
      control: { port: control, next_hop_mac: "$CONTROL_MAC" } }
  - { name: dns-v2, stage: production, proto: udp, dport: 53, fraction: 100%,
      port: shadow, next_hop_mac: "$SHADOW_MAC", response_timeout: 1s }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

e2e_wire "vc$t" eth0 "vcl$t"
e2e_wire "vp$t" eth0 "vpr$t"
e2e_wire "vs$t" eth0 "vsh$t"
e2e_wire "vk$t" eth0 "vct$t"
ip -n "vs$t" link set eth0 address "$SHADOW_MAC"
ip -n "vk$t" link set eth0 address "$CONTROL_MAC"
ip -n "vk$t" addr add 10.0.0.10/24 dev eth0
ip -n "vc$t" addr add 10.0.0.1/24 dev eth0
ip -n "vp$t" addr add 10.0.0.10/24 dev eth0
ip -n "vs$t" addr add 10.0.0.10/24 dev eth0

# HTTP/1.1 (keep-alive) servers: /same answers alike, /diff differently.
cat > "$E2E_DIR/web.py" <<'PY'
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
version = sys.argv[2]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/same"):
            body = b"same body\n"
        elif self.path.startswith("/random"):
            body = os.urandom(8).hex().encode() + b"\n"
        else:
            body = ("answer of %s\n" % version).encode() * (1 if version == "v1" else 2)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *a):
        print("request", self.path, flush=True)
ThreadingHTTPServer((sys.argv[1], int(sys.argv[3])), H).serve_forever()
PY
# A DNS server answering every A question with one address.
cat > "$E2E_DIR/dns.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
addr = {"same": bytes([192, 0, 2, 1]), "diff": socket.inet_aton(sys.argv[2])}
while True:
    q, peer = s.recvfrom(512)
    end = 12
    while q[end]:
        end += q[end] + 1
    name = q[13:13 + q[12]].decode()
    question = q[12:end + 5]
    hdr = q[:2] + b"\x81\x80" + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + addr.get(name, b"\0\0\0\0")
    s.sendto(hdr + question + rr, peer)
PY
start_web() { # NS VERSION PORT: WEB_PID is its PID (not in a subshell:
  # E2E_PIDS must see it, so that cleanup stops it)
  ip netns exec "$1" /usr/bin/python3 "$E2E_DIR/web.py" 10.0.0.10 "$2" "${3:-8080}" \
    >>"$E2E_DIR/web-$2-${3:-8080}.log" 2>&1 &
  WEB_PID=$!
  E2E_PIDS+=("$WEB_PID")
}
start_web "vp$t" v1
start_web "vs$t" v2
shadow_web=$WEB_PID
start_web "vp$t" v1 8081
start_web "vs$t" v2 8081
start_web "vk$t" v1 8081
ip netns exec "vp$t" /usr/bin/python3 "$E2E_DIR/dns.py" 10.0.0.10 198.51.100.1 &
E2E_PIDS+=($!)
ip netns exec "vs$t" /usr/bin/python3 "$E2E_DIR/dns.py" 10.0.0.10 198.51.100.2 &
E2E_PIDS+=($!)
if ! { e2e_wait_port "vp$t" 10.0.0.10 8080 && e2e_wait_port "vs$t" 10.0.0.10 8080 &&
       e2e_wait_port "vk$t" 10.0.0.10 8081; }; then
  echo "servers did not start"; exit 1
fi
# A free port from the kernel: the tag may be any text, not a number.
API_PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(umask 077; echo "e2e-$t-token" >"$E2E_DIR/token")
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 --http "127.0.0.1:$API_PORT" \
  --http-token-file "$E2E_DIR/token" || exit 1
api() { # PATH [JSON]: a command, POSTed as JSON with the token
  curl -s --max-time 5 -X POST -H "Authorization: Bearer e2e-$t-token" \
    -H "Content-Type: application/json" -d "${2:-{\}}" "http://127.0.0.1:$API_PORT$1"
}

ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
js() { /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }
get() { # PATH...: the bodies the client receives (one connection, keep-alive)
  local urls=()
  for p in "$@"; do urls+=("http://10.0.0.10:8080$p"); done
  ip netns exec "vc$t" curl -s --max-time 5 "${urls[@]}" 2>/dev/null
}
# endpoint NAME FIELD: a counter of endpoint NAME of profile web-v2.
endpoint() {
  ctl shadow status name=web-v2 | js "[e for e in r['profiles'][0]['comparison']['endpoints'] \
    if e['endpoint'] == '$1'][0]$2" 2>/dev/null
}

# --- 1. the client sees v1 only; mismatches exactly on /diff -------------
got=""
for i in 1 2 3; do got+="$(get /same /diff);"; done      # keep-alive: 2 per connection
for i in 1 2; do got+="$(get /diff);$(get /same);"; done  # new connections
v1=$'same body\nanswer of v1'
want="$v1;$v1;$v1;answer of v1;same body;answer of v1;same body;"
check "the client receives exactly v1's answers (10 requests)" test "$got" = "$want"
[ "$got" = "$want" ] || echo "# got: $got"
sleep 1.5
ctl shadow status name=web-v2 >"$E2E_DIR/status1.json"
echo "# /same: $(endpoint 'GET /same' "['compared']") compared, /diff: $(endpoint 'GET /diff' "['compared']") compared"
check "GET /same: 5 compared, 5 matches" \
  test "$(endpoint 'GET /same' "['compared'], e['matches']" 2>/dev/null || endpoint 'GET /same' "['compared']")" != ""
check "GET /same: every exchange matches" \
  test "$(endpoint 'GET /same' "['matches']")" = 5 -a "$(endpoint 'GET /same' "['mismatches']")" = 0
check "GET /diff: every exchange is a body mismatch" \
  test "$(endpoint 'GET /diff' "['mismatches']")" = 5 -a \
       "$(endpoint 'GET /diff' "['mismatch_kinds']['body']")" = 5
check "shadow latency is measured" \
  test "$(js "r['profiles'][0]['comparison']['latency_us']['shadow']['max'] > 0" <"$E2E_DIR/status1.json")" = True
# Evidence: the first flow (of every COMPARE_EVIDENCE_EVERY) carries the
# answers' first bytes; its /diff sample shows both, and where they differ.
check "a /diff mismatch sample shows both answers' bytes and the first difference" \
  test "$(js "[s for s in r['profiles'][0]['comparison']['samples'] if 'head' in s['production'] \
    and b'answer of v1' in bytes.fromhex(s['production']['head']) \
    and b'answer of v2' in bytes.fromhex(s['shadow']['head']) \
    and bytes.fromhex(s['production']['head'])[:s['first_difference']] == \
        bytes.fromhex(s['shadow']['head'])[:s['first_difference']] \
    and bytes.fromhex(s['production']['head'])[s['first_difference']] != \
        bytes.fromhex(s['shadow']['head'])[s['first_difference']]] != []" <"$E2E_DIR/status1.json")" = True
check "the shadow sessions closed cleanly" \
  test "$(js "r['profiles'][0]['counters']['tcp_sessions_ended'].get('closed', 0) >= 7" <"$E2E_DIR/status1.json")" = True

# --- 5. noise: a control replica --------------------------------------------
for i in 1 2 3; do
  ip netns exec "vc$t" curl -s --max-time 5 http://10.0.0.10:8081/random \
    http://10.0.0.10:8081/diff >/dev/null
done
sleep 1.5
ctl shadow status name=api-control >"$E2E_DIR/control.json"
ep() { js "[e for e in r['profiles'][0]['comparison']['endpoints'] if e['endpoint'] == '$1'][0]$2" \
  <"$E2E_DIR/control.json" 2>/dev/null; }
check "with a control, /random (different on every call) is noise, not a mismatch" \
  test "$(ep 'GET /random' "['noisy']")" = 3 -a "$(ep 'GET /random' "['mismatches']")" = 0
check "... while /diff (only v2 differs) is still a mismatch" \
  test "$(ep 'GET /diff' "['mismatches']")" = 3

# --- 4. the REST API ----------------------------------------------------------
check "GET of a command is refused (405)" \
  test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -H "Authorization: Bearer e2e-$t-token" \
    "http://127.0.0.1:$API_PORT/networks/production/shadowing/status")" = 405
check "POST /networks/production/shadowing/status lists the profiles" \
  test "$(api /networks/production/shadowing/status | \
    js "sorted(p['name'] for p in r['result']['profiles'])")" = "['api-control', 'dns-v2', 'web-v2']"
check "POST .../shadowing/create makes a profile on that network" \
  test "$(api /networks/production/shadowing/create \
    '{"name": "api-v2", "proto": "tcp", "dport": 9090, "fraction": 0.5, "port": "shadow", "ttl": "1h"}' | \
    js "[p['network'] for p in r['result']['profiles'] if p['name'] == 'api-v2']")" = "['production']"
check "... a bad one is refused with where and why" \
  test "$(api /networks/production/shadowing/create '{"name": "x", "port": "prod"}' | \
    js "'not a shadow port' in r['error']['message']")" = True
ctl shadow delete api-v2 >/dev/null
inj=$(api /networks/production/shadowing/inject_fault \
  '{"profile": "web-v2", "kind": "delay", "delay": "300ms", "duration": "10s"}')
check "POST .../shadowing/inject_fault adds a fault on the shadow's traffic" \
  test "$(js "r['ok'] and r['result']['id'] > 0" <<<"$inj")" = True
t0=$(date +%s.%N)
got=$(get /same)
t1=$(date +%s.%N)
check "the client is not slowed by it" \
  test "$got" = "same body" -a "$(awk "BEGIN { print ($t1 - $t0 < 0.25) }")" = 1
sleep 2
check "the shadow's answer came 300 ms later (its latency)" \
  test "$(ctl shadow status name=web-v2 | \
    js "r['profiles'][0]['comparison']['latency_us']['shadow']['max'] >= 300000")" = True
ctl fault list | js "[(x['name'], x['counters']['matched'], x['counters']['delayed']) for x in r['rules']]" | sed 's/^/# injected: /'
ctl shadow status name=web-v2 | js "r['profiles'][0]['comparison']['latency_us']" | sed 's/^/# latency: /'
ctl fault clear all=true >/dev/null

# --- 2. a stalled, then a stopped shadow server changes nothing ----------
kill -STOP "$shadow_web"
t0=$(date +%s.%N)
got=$(get /same /diff)
t1=$(date +%s.%N)
check "with the shadow server stalled the client still gets v1 at once" \
  test "$got" = "$(printf 'same body\nanswer of v1\n')" -a \
       "$(awk "BEGIN { print ($t1 - $t0 < 1.0) }")" = 1
kill -CONT "$shadow_web"
kill "$shadow_web"; wait "$shadow_web" 2>/dev/null
got=$(get /same /diff)
check "with the shadow server stopped the client still gets v1" \
  test "$got" = "$(printf 'same body\nanswer of v1\n')"
sleep 3
check "the shadow's silence (stalled: no answer; stopped: reset) is reported" \
  test "$(ctl shadow status name=web-v2 | js "(lambda k: k['no_answer'] + k['reset'] >= 2)( \
    r['profiles'][0]['comparison']['mismatch_kinds'])")" = True

# --- 3. DNS answers paired by ID ---------------------------------------------
cat > "$E2E_DIR/query.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
out = []
for i, name in enumerate(["same", "diff", "same", "diff"]):
    qid = 0x4000 + i
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + bytes([len(name)]) + \
        name.encode() + b"\x00\x00\x01\x00\x01"
    s.sendto(q, ("10.0.0.10", 53))
    r, _ = s.recvfrom(512)
    out.append("%d %s" % (struct.unpack(">H", r[:2])[0] == qid, socket.inet_ntoa(r[-4:])))
print(" ".join(out))
PY
got=$(ip netns exec "vc$t" /usr/bin/python3 "$E2E_DIR/query.py")
check "the client gets production's DNS answers" \
  test "$got" = "1 192.0.2.1 1 198.51.100.1 1 192.0.2.1 1 198.51.100.1"
sleep 1.5
dns=$(ctl shadow status name=dns-v2)
check "DNS: paired by ID, 'same' matches and 'diff' differs in its answers" \
  test "$(js "[(e['endpoint'], e['compared'], e['matches']) for e in \
    sorted(r['profiles'][0]['comparison']['endpoints'], key=lambda e: e['endpoint'])]" <<<"$dns")" = \
    "[('diff', 2, 0), ('same', 2, 2)]"

e2e_umbra_stop
check "umbra stopped cleanly and wrote its counters" test -s "$E2E_DIR/stats.json"
check "production served exactly the client's 15 requests (no shadow request reached it)" \
  test "$(grep -c '^request' "$E2E_DIR/web-v1-8080.log")" = 15
check "the shadow server served the 10 cloned requests made while it ran" \
  test "$(grep -c '^request' "$E2E_DIR/web-v2-8080.log")" -ge 10
echo "# shadow port: $(stat "s['ports']['shadow']['rx_pkts']") packets received, \
$(stat "s['drops']['shadow_port_unexpected']") of no shadowed flow (late answers, IPv6 chatter: counted, dropped)"
e2e_done
