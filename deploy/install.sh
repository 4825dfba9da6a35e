#!/usr/bin/env bash
# Install a built umbra as a systemd service; idempotent (a second run
# changes nothing and says "unchanged" for each file).
#   deploy/install.sh [BUILD_DIR]          (default build; as root)
# Environment:
#   PREFIX=/usr/local   where bin/umbra, bin/umbractl and share/doc/umbra go
#   DESTDIR=            stage everything under this directory instead of /
#                       (no group, no sysctl, no systemctl: files only)
#   HUGEPAGES=1024      2 MiB pages to reserve at boot (/etc/sysctl.d)
# Installs:
#   $PREFIX/bin/umbra, $PREFIX/bin/umbractl
#   /etc/systemd/system/umbra.service     (deploy/umbra.service, paths to PREFIX)
#   /etc/umbra/umbra.yaml                 (deploy/umbra.yaml, only if absent)
#   /etc/umbra/umbra.yaml.example         (always the shipped one)
#   /etc/default/umbra                    (UMBRA_EAL, UMBRA_OPTS; only if absent)
#   /etc/sysctl.d/80-umbra.conf           (vm.nr_hugepages; not when the kernel
#                                          command line reserves hugepages)
#   $PREFIX/share/doc/umbra/deploy.md
# and, when DESTDIR is empty: the group umbra (the socket's), hugepages now,
# systemctl daemon-reload. It never enables or starts the service.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
HUGEPAGES=${HUGEPAGES:-1024}
GROUP=umbra

for f in "$BUILD/app/umbra/umbra" "$BUILD/app/umbractl/umbractl"; do
  [ -x "$f" ] || { echo "install: $f is missing: build first (deploy/setup.sh $BUILD)" >&2; exit 1; }
done
case "$PREFIX" in /*) ;; *) echo "install: PREFIX must be absolute" >&2; exit 2 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# put SRC DEST MODE [keep]: install SRC as DESTDIR/DEST when it differs;
# with keep, never replace an existing DEST (the operator's file).
put() {
  local src=$1 dest=$DESTDIR$2 mode=$3 keep=${4:-}
  if [ -e "$dest" ] && { [ -n "$keep" ] || cmp -s "$src" "$dest"; }; then
    if [ -z "$keep" ] && [ "$(stat -c %a "$dest")" != "${mode#0}" ]; then
      chmod "$mode" "$dest"; echo "install: mode $mode $2"
    else
      echo "install: unchanged $2${keep:+ (kept)}"
    fi
    return
  fi
  install -D -m "$mode" "$src" "$dest.new.$$"
  mv -f "$dest.new.$$" "$dest"
  echo "install: installed $2"
}

put "$BUILD/app/umbra/umbra" "$PREFIX/bin/umbra" 0755
put "$BUILD/app/umbractl/umbractl" "$PREFIX/bin/umbractl" 0755
put deploy/README.md "$PREFIX/share/doc/umbra/deploy.md" 0644

sed "s|/usr/local/|$PREFIX/|g" deploy/umbra.service > "$tmp/umbra.service"
put "$tmp/umbra.service" /etc/systemd/system/umbra.service 0644

put deploy/umbra.yaml /etc/umbra/umbra.yaml.example 0644
put deploy/umbra.yaml /etc/umbra/umbra.yaml 0644 keep

cat > "$tmp/default" <<'EOF'
# Settings of umbra.service (deploy/README.md). Words are split on spaces.
# UMBRA_EAL: EAL arguments. -l: the lcores (the first is the management
# core, the others workers; pick isolated cores on the NICs' NUMA node);
# -a: each NIC of /etc/umbra/umbra.yaml, bound to vfio-pci; one --file-prefix.
UMBRA_EAL="-l 0-2 --file-prefix umbra -a 0000:03:00.0 -a 0000:03:00.1"
# UMBRA_OPTS: umbra options after -c FILE (they override its mgmt: section).
UMBRA_OPTS="--stats-interval 60"
EOF
put "$tmp/default" /etc/default/umbra 0644 keep

if grep -qw 'hugepages=[0-9]*' /proc/cmdline 2>/dev/null && [ -z "$DESTDIR" ]; then
  echo "install: the kernel command line reserves hugepages: no /etc/sysctl.d/80-umbra.conf"
else
  printf '# 2 MiB hugepages for umbra (DPDK), reserved at boot by systemd-sysctl.\nvm.nr_hugepages = %s\n' \
    "$HUGEPAGES" > "$tmp/sysctl"
  put "$tmp/sysctl" /etc/sysctl.d/80-umbra.conf 0644
fi

if [ -n "$DESTDIR" ]; then
  echo "install: staged in $DESTDIR (group, hugepages and systemd left to the target)"
  exit 0
fi

if getent group "$GROUP" >/dev/null; then
  echo "install: unchanged group $GROUP"
else
  groupadd --system "$GROUP"
  echo "install: created group $GROUP (add operators: usermod -aG $GROUP NAME)"
fi

# Hugepages now, never fewer than already reserved.
if [ -w /proc/sys/vm/nr_hugepages ] && [ -f /etc/sysctl.d/80-umbra.conf ]; then
  if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt "$HUGEPAGES" ]; then
    echo "$HUGEPAGES" > /proc/sys/vm/nr_hugepages || true
    echo "install: hugepages now $(cat /proc/sys/vm/nr_hugepages) (wanted $HUGEPAGES)"
  else
    echo "install: unchanged hugepages ($(cat /proc/sys/vm/nr_hugepages) reserved)"
  fi
fi

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "install: systemctl daemon-reload done"
  echo "next: edit /etc/umbra/umbra.yaml and /etc/default/umbra, bind the NICs" \
       "(deploy/README.md), then: systemctl enable --now umbra"
else
  echo "install: systemd is not running here (PID 1 is $(ps -o comm= -p 1 2>/dev/null || echo unknown)):" \
       "the unit is installed for when it is"
fi
