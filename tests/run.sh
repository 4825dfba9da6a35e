#!/usr/bin/env bash
# Set up this machine and run every test: unit, functional (net_pcap),
# management (socket, HTTP, restarts), end-to-end (namespaces) and the
# dashboard in headless chromium (browser) and a fleet through etcd (fleet)
# on the release build; a soak;
# unit, functional and management again under ASan+UBSan; each fuzzer
# for a short bounded run over its corpus.
# Ends with one line "N passed, N failed".
#   tests/run.sh            everything
#   FUZZ_SECONDS=0 tests/run.sh   skip the fuzz runs
#   SOAK_MINUTES=60 tests/run.sh  a longer soak (default 2)
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SOAK_MINUTES=${SOAK_MINUTES:-2}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1

deploy/setup.sh build || { echo "0 passed, 1 failed"; exit 1; }

results=()   # files with meson's test log, one JSON object per test
run_suites() { # [-v] BUILD_DIR SUITE...   (-v: show the tests' own output)
  local args=()
  if [ "$1" = -v ]; then args+=(--verbose); shift; fi
  local dir=$1; shift
  for s in "$@"; do args+=(--suite "$s"); done
  local base="run-$(basename "$dir")-${#results[@]}"
  meson test -C "$dir" --no-rebuild --print-errorlogs "${args[@]}" \
    --logbase "$base" 2>&1 | grep -E "^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout):|^soak" || true
  results+=("$dir/meson-logs/$base.json")
}

echo "== release build: unit, functional, management, end to end, deploy, dashboard"
run_suites build unit functional mgmt e2e deploy browser fleet

echo "== soak, ${SOAK_MINUTES} minutes"
SOAK_MINUTES=$SOAK_MINUTES run_suites -v build soak

echo "== ASan+UBSan build: unit, functional, management"
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ninja -C build-asan >/dev/null; then
  run_suites build-asan unit functional mgmt
else
  echo "ASan build failed"; asan_build_failed=1
fi

if [ "$FUZZ_SECONDS" -gt 0 ]; then
  echo "== fuzzers, ${FUZZ_SECONDS}s each"
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized >/dev/null
  fi
  meson configure build-fuzz -Dfuzz_seconds="$FUZZ_SECONDS" >/dev/null
  if ninja -C build-fuzz tests/fuzz/fuzz_pkt tests/fuzz/fuzz_conf \
       tests/fuzz/fuzz_craft tests/fuzz/fuzz_http tests/fuzz/fuzz_cmd \
       tests/fuzz/fuzz_httpreq >/dev/null; then
    run_suites build-fuzz fuzz
  else
    echo "fuzz build failed"; fuzz_build_failed=1
  fi
fi

/usr/bin/python3 - "${results[@]}" "${asan_build_failed:-0}" "${fuzz_build_failed:-0}" <<'PY'
import json, sys
files, extra_fail = sys.argv[1:-2], sum(int(x) for x in sys.argv[-2:])
passed = failed = skipped = 0
failures = []   # (log file, test name, last lines of its output)
for f in files:
    try:
        lines = open(f).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            t = json.loads(line)
            lines_out = (t.get("stdout") or "").splitlines()
            out = [x for x in lines_out[:-25] if "FAIL" in x or x.startswith("not ok")][:15] + lines_out[-25:]
            out += (t.get("stderr") or "").splitlines()[-10:]
            failures.append((f, t["name"], out))
failed += extra_fail
# What a failed test said, so a CI log alone tells why.
for f, name, tail in failures:
    print("== failed: %s (%s), last lines:" % (name, f))
    for t in tail:
        print("  | " + t[:300])
print("%d passed, %d failed%s" % (passed, failed, ", %d skipped" % skipped if skipped else ""))
sys.exit(1 if failed else 0)
PY
