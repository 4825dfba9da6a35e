#!/usr/bin/env bash
# End to end: fault injection on real TCP stacks, umbra between namespaces
# on af_packet ports, driven with umbractl.
#   client ns (10.0.0.1, 10.1.0.1) -- uplink [umbra] prod    -- production ns 10.0.0.10
#                                                    staging -- staging ns    10.1.0.10
# 1. A 200 ms delay on staging (each packet, both ways) slows a staging
#    request by at least two round trips; production is not slowed.
# 2. Its 4 s lease lapses by itself: the rule is gone, requests are fast again.
# 3. The chaos scenario network-partition cuts staging <-> production
#    (the staging server's requests to production fail) and heals when it
#    ends (chaos list: ended, why "lapsed").
# 4. A reset fault resets a live TCP connection from the client to staging:
#    both ends see ECONNRESET and the rule counts its resets.
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:-$SRC/build/app/umbra/umbra}
UMBRACTL=${UMBRACTL:-$(dirname "$UMBRA")/../umbractl/umbractl}
. "$SRC/tests/e2e/lib.sh"

t=$E2E_TAG
e2e_ns "uc$t"; e2e_ns "up$t"; e2e_ns "us$t"

cat > "$E2E_DIR/umbra.yaml" <<YAML
ports:
  - { name: uplink, vdev: "net_af_packet0,iface=ucl$t", role: uplink }
  - { name: prod, vdev: "net_af_packet1,iface=upr$t" }
  - { name: staging, vdev: "net_af_packet2,iface=ust$t" }
stages:
  - name: production
    default: true
    egress: { port: prod }
  - name: staging
    egress: { port: staging }
    match:
      - { port: uplink, src: 10.1.0.0/24 }
      - { dst: 10.1.0.0/24 }
flows:
  - { name: staging-to-production-http, from: staging, to: production, proto: tcp, dport: 8080 }
  - { name: production-to-staging-http, from: production, to: staging, proto: tcp, dport: 8080 }
fault_policy: { allow_production: true }
chaos:
  - name: network-partition
    description: "staging and production cut apart"
    duration: 10s
    faults:
      - { kind: partition, from_stage: staging, stage: production, both_ways: true }
flow_table: { size: 4096, tcp_closed_timeout_ms: 100 }
YAML

e2e_wire "uc$t" eth0 "ucl$t"
e2e_wire "up$t" eth0 "upr$t"
e2e_wire "us$t" eth0 "ust$t"
ip -n "uc$t" addr add 10.0.0.1/24 dev eth0
ip -n "uc$t" addr add 10.1.0.1/24 dev eth0
ip -n "up$t" addr add 10.0.0.10/24 dev eth0
ip -n "up$t" route add 10.1.0.0/24 dev eth0   # production answers staging
ip -n "us$t" addr add 10.1.0.10/24 dev eth0
ip -n "us$t" route add 10.0.0.0/24 dev eth0   # staging reaches for production

e2e_http "up$t" 10.0.0.10 8080 "production-v1"
e2e_http "us$t" 10.1.0.10 8080 "staging-v2"

# A line echo server in staging for the long-lived connection (test 4): it
# logs how its side of the connection ended.
cat > "$E2E_DIR/echo_server.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4)
while True:
    c, _ = s.accept()
    try:
        while True:
            d = c.recv(4096)
            if not d:
                print("eof %.3f" % time.time(), flush=True)
                break
            c.sendall(d)
    except ConnectionResetError:
        print("reset %.3f" % time.time(), flush=True)
    except OSError as e:
        print("error %s %.3f" % (e.errno, time.time()), flush=True)
    c.close()
PY
# The client: one connection, a line every 50 ms, each echo awaited; the
# first "ok" line says it is up, the last line how it ended and when.
cat > "$E2E_DIR/echo_client.py" <<'PY'
import socket, sys, time
c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5,
                             source_address=(sys.argv[1], 0))
n = 0
try:
    while n < 100000:
        c.sendall(b"ping %d\n" % n)
        want = len(b"ping %d\n" % n)
        got = b""
        while len(got) < want:
            d = c.recv(4096)
            if not d:
                print("eof %.3f" % time.time(), flush=True)
                sys.exit(0)
            got += d
        n += 1
        print("ok %d" % n, flush=True)
        time.sleep(0.05)
except ConnectionResetError:
    print("reset %.3f" % time.time(), flush=True)
except socket.timeout:
    print("timeout %.3f" % time.time(), flush=True)
except OSError as e:
    print("error %s %.3f" % (e.errno, time.time()), flush=True)
PY
ip netns exec "us$t" /usr/bin/python3 "$E2E_DIR/echo_server.py" 10.1.0.10 9000 \
  >"$E2E_DIR/echo_server.log" 2>&1 &
E2E_PIDS+=($!)

if ! { e2e_wait_port "up$t" 10.0.0.10 8080 && e2e_wait_port "us$t" 10.1.0.10 8080 &&
       e2e_wait_port "us$t" 10.1.0.10 9000; }; then
  echo "servers did not start"; exit 1
fi
e2e_umbra "$E2E_DIR/umbra.yaml" 0-1 || exit 1

ctl() { "$UMBRACTL" -s "$E2E_DIR/umbra.sock" --json "$@"; }
# js EXPR: a python expression on 'r', the JSON read from stdin.
js() { /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }
now() { date +%s.%N; }
# fcmp EXPR: a float comparison (awk), e.g. fcmp "0.5 < 1".
fcmp() { awk "BEGIN { exit !($1) }"; }
fadd() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# timed NS EXPECTED ARGS...: curl's time_total for a request whose body is
# EXPECTED, or "fail".
timed() {
  local ns=$1 want=$2 out; shift 2
  out=$(ip netns exec "$ns" curl -s --max-time 5 -w '\n%{time_total}' "$@" 2>/dev/null)
  if [ "$(head -n 1 <<<"$out")" = "$want" ]; then tail -n 1 <<<"$out"; else echo fail; fi
}
# median of three requests
baseline() {
  local a b c
  a=$(timed "$@"); b=$(timed "$@"); c=$(timed "$@")
  printf '%s\n' "$a" "$b" "$c" | sort -g | sed -n 2p
}
# fastest of three requests: one slow sample on a busy machine is noise,
# a delay slows them all
fastest() {
  local a b c
  a=$(timed "$@"); b=$(timed "$@"); c=$(timed "$@")
  printf '%s\n' "$a" "$b" "$c" | sort -g | head -n 1
}
body() { # NS ARGS...: body, or nothing on failure
  local ns=$1; shift
  ip netns exec "$ns" curl -s --max-time 5 "$@" 2>/dev/null
}
STG=(--interface 10.1.0.1 http://10.1.0.10:8080/)
PRD=(http://10.0.0.10:8080/)

# --- 1. delay ---------------------------------------------------------------
timed "uc$t" staging-v2 "${STG[@]}" >/dev/null   # warm up ARP on every wire
timed "uc$t" production-v1 "${PRD[@]}" >/dev/null
base_s=$(baseline "uc$t" staging-v2 "${STG[@]}")
base_p=$(baseline "uc$t" production-v1 "${PRD[@]}")
echo "# baseline: staging ${base_s}s, production ${base_p}s"
check "baseline requests to staging and production work" \
  test "$base_s" != fail -a "$base_p" != fail
[ "$base_s" = fail ] && base_s=0
[ "$base_p" = fail ] && base_p=0

t_add=$(now)
add=$(ctl fault add kind=delay stage=staging delay=200ms duration=4s)
delay_id=$(js "r['id']" <<<"$add" 2>/dev/null)
check "fault add kind=delay stage=staging delay=200ms duration=4s answers an id" \
  test -n "$delay_id"
slow_s=$(timed "uc$t" staging-v2 "${STG[@]}")
slow_p=$(fastest "uc$t" production-v1 "${PRD[@]}")
echo "# under the delay: staging ${slow_s}s, production ${slow_p}s (fastest of 3)"
check "staging request slowed by at least 0.4 s (got $slow_s, baseline $base_s)" \
  fcmp "\"$slow_s\" != \"fail\" && $slow_s >= $base_s + 0.4"
check "... and by less than 2.5 s" fcmp "\"$slow_s\" != \"fail\" && $slow_s < $base_s + 2.5"
check "production request not slowed (got $slow_p, baseline $base_p)" \
  fcmp "\"$slow_p\" != \"fail\" && $slow_p < $base_p + 0.15"
check "fault list shows the rule with a 4 s lease and delayed packets" \
  test "$(ctl fault list | js "[(x['until'] - x['since'], x['counters']['delayed']) \
    for x in r['rules'] if x['id'] == $delay_id]" 2>/dev/null | \
    /usr/bin/python3 -c 'import sys; v=eval(sys.stdin.read()); print(len(v) == 1 and 3.5 < v[0][0] < 4.5 and v[0][1] >= 4)')" = True

# --- 2. the lease lapses ----------------------------------------------------
while fcmp "$(now) < $t_add + 4.0"; do sleep 0.1; done
gone=""
while fcmp "$(now) < $t_add + 5.5"; do
  if [ "$(ctl fault list | js "any(x['id'] == $delay_id for x in r['rules'])")" = False ]; then
    gone=$(fadd "$(now) - $t_add"); break
  fi
  sleep 0.1
done
echo "# the delay rule was gone ${gone:-never}s after fault add"
check "after its 4 s lease the rule is no longer listed" test -n "$gone"
after_s=$(fastest "uc$t" staging-v2 "${STG[@]}")
echo "# after the lease: staging ${after_s}s (fastest of 3)"
check "staging request back near the baseline (got $after_s, baseline $base_s)" \
  fcmp "\"$after_s\" != \"fail\" && $after_s < $base_s + 0.2"

# --- 3. partition -----------------------------------------------------------
check "staging server reaches production (flow rule staging -> production)" \
  test "$(body "us$t" "${PRD[@]}")" = production-v1
check "production server reaches staging (flow rule production -> staging)" \
  test "$(body "up$t" http://10.1.0.10:8080/)" = staging-v2
t_chaos=$(now)
start=$(ctl chaos start name=network-partition duration=3s)
check "chaos start name=network-partition duration=3s runs it" \
  test "$(js "[x['name'] for x in r['running']]" <<<"$start" 2>/dev/null)" = "['network-partition']"
check "during the partition staging -> production fails" \
  test -z "$(body "us$t" --max-time 1 "${PRD[@]}")"
check "... and production -> staging fails too (both ways)" \
  test -z "$(body "up$t" --max-time 1 http://10.1.0.10:8080/)"
check "... while the client still reaches production" \
  test "$(body "uc$t" --max-time 1 "${PRD[@]}")" = production-v1
ended=""
while fcmp "$(now) < $t_chaos + 5.0"; do
  ls=$(ctl chaos list)
  if [ "$(js "r['running'] == []" <<<"$ls")" = True ]; then
    ended=$(fadd "$(now) - $t_chaos"); break
  fi
  sleep 0.1
done
echo "# the partition ended ${ended:-never}s after chaos start"
check "the scenario ended by itself, why \"lapsed\", having dropped packets" \
  test "$(js "r['ended'][-1]['name'] == 'network-partition' and \
    r['ended'][-1]['why'] == 'lapsed' and \
    r['ended'][-1]['rules'][0]['counters']['dropped'] > 0" <<<"$ls" 2>/dev/null)" = True
check "after the partition staging -> production works again" \
  test "$(body "us$t" "${PRD[@]}")" = production-v1
check "... and production -> staging too" \
  test "$(body "up$t" http://10.1.0.10:8080/)" = staging-v2

# --- 4. reset ---------------------------------------------------------------
ip netns exec "uc$t" /usr/bin/python3 "$E2E_DIR/echo_client.py" 10.1.0.1 10.1.0.10 9000 \
  >"$E2E_DIR/echo_client.log" 2>&1 &
client_pid=$!
E2E_PIDS+=("$client_pid")
for _ in $(seq 1 50); do
  grep -q '^ok 5$' "$E2E_DIR/echo_client.log" 2>/dev/null && break
  sleep 0.1
done
check "a long-lived connection to staging exchanges lines" \
  grep -q '^ok 5$' "$E2E_DIR/echo_client.log"
t_reset=$(now)
add=$(ctl fault add kind=reset stage=staging duration=5s)
reset_id=$(js "r['id']" <<<"$add" 2>/dev/null)
check "fault add kind=reset stage=staging duration=5s answers an id" test -n "$reset_id"
for _ in $(seq 1 30); do
  kill -0 "$client_pid" 2>/dev/null || break
  sleep 0.1
done
last=$(tail -n 1 "$E2E_DIR/echo_client.log")
echo "# client: $(grep -c '^ok' "$E2E_DIR/echo_client.log") lines echoed, then: $last"
echo "# server: $(tail -n 1 "$E2E_DIR/echo_server.log")"
check "the client saw its connection reset (ECONNRESET)" test "${last%% *}" = reset
check "... within 2 s of fault add" \
  fcmp "\"${last%% *}\" == \"reset\" && ${last##* } - $t_reset < 2.0"
check "the server end was reset too" \
  test "$(tail -n 1 "$E2E_DIR/echo_server.log" | cut -d' ' -f1)" = reset
check "the reset rule counts resets > 0" \
  test "$(ctl fault list | js "[x['counters']['resets'] > 0 for x in r['rules'] \
    if x['id'] == ${reset_id:-0}] == [True]" 2>/dev/null)" = True
check "fault clear id=N removes it" \
  test "$(ctl fault clear id="${reset_id:-0}" | js "r['removed']" 2>/dev/null)" = 1

e2e_umbra_stop
check "final counters written on SIGTERM" test -s "$E2E_DIR/stats.json"
check "no parse drops on real traffic" \
  test "$(stat "sum(v for k, v in s['drops'].items() if k != 'policy_deny')")" = 0
e2e_done
