#!/usr/bin/env bash
# Prepare a Debian 12 machine (as root) to build and run umbra; idempotent.
#   deploy/setup.sh [BUILD_DIR]   install packages, reserve hugepages, build
# Hugepages are best effort: without them umbra runs with --no-huge.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}

PKGS="build-essential meson ninja-build pkg-config clang
  libdpdk-dev dpdk dpdk-dev libyaml-dev libjansson-dev libevent-dev
  libcmocka-dev libpcap-dev libsqlite3-dev python3-scapy python3-pyelftools
  iproute2 ethtool curl tcpdump etcd-server etcd-client"

missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 1024 x 2 MiB hugepages, mounted; keep what is already there.
if [ -w /proc/sys/vm/nr_hugepages ]; then
  [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 1024 ] || echo 1024 > /proc/sys/vm/nr_hugepages || true
  mkdir -p /dev/hugepages
  mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages || true
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" >/dev/null
fi
ninja -C "$BUILD" >/dev/null
echo "setup: built in $BUILD ($(deploy/eal-mem.sh) mode)"
