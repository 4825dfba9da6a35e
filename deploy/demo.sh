#!/usr/bin/env bash
# Set up this machine (packages, hugepages, build) and run the demo:
# conf/demo.yaml on capture files, four stage networks, exits by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh build
/usr/bin/python3 tests/tools/demo_traffic.py build/demo
rm -f build/demo/*-out.pcap
# shellcheck disable=SC2046
build/app/umbra/umbra -l 0-1 --no-pci --file-prefix "umbra-demo-$$" \
  $(deploy/eal-mem.sh) --log-level=lib.eal:warning \
  -- -c conf/demo.yaml --idle-exit 300 --summary \
  --stats-json build/demo/stats.json
echo "demo: counters in build/demo/stats.json, output captures in build/demo/*-out.pcap"
