#!/usr/bin/env bash
# Run tests/mgmt/test_port_flow.py inside a QEMU guest whose kernel has tc
# flower, for machines whose own kernel has not (net_tap's rte_flow needs
# sch_multiq, cls_flower and act_gact; the CI machine's kernel lacks them).
#
# The guest boots Debian's kernel (linux-image-cloud-amd64: every tc module
# it needs) with an initramfs holding busybox, the umbra binary given in
# UMBRA and its libraries, the net_tap PMD, iproute2, curl, python3 and
# scapy, and runs the same test as on the host. TCG only (no KVM needed),
# so umbra must be built without instructions QEMU does not emulate:
#   meson setup build-vm -Dc_args=-mno-avx512f -Dtests=false
#   ninja -C build-vm app/umbra/umbra
#   UMBRA=$PWD/build-vm/app/umbra/umbra tests/mgmt/port_flow_vm.sh
# Exit status: the test's, 77 when no kernel or QEMU is there.
set -euo pipefail
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
UMBRA=${UMBRA:?set UMBRA to an umbra binary built with -mno-avx512f}
PFX=${UMBRA_TEST_PREFIX:-upf}
KVER=${KVER:-$(ls /lib/modules | while read -r k; do
	[ -e "/lib/modules/$k/kernel/net/sched/cls_flower.ko" ] && [ -e "/boot/vmlinuz-$k" ] && echo "$k"
done | sort -V | tail -1)}
if [ -z "$KVER" ] || ! command -v qemu-system-x86_64 >/dev/null; then
	echo "1..0 # SKIP needs qemu-system-x86 and a kernel with modules (linux-image-cloud-amd64)"
	exit 77
fi
WORK=$(mktemp -d "/tmp/$PFX-vm-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"/usr/{bin,sbin,lib,lib64} "$ROOT"/{proc,sys,dev,tmp,run,etc,src}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
mkdir -p "$ROOT/var" && ln -s /run "$ROOT/var/run"

# A file at its own path, and every library it loads at theirs.
put() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || continue
		mkdir -p "$ROOT$(dirname "$f")"
		cp -L "$f" "$ROOT$f" 2>/dev/null || true
		ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}' |
		while read -r l; do
			[ -e "$ROOT$l" ] && continue
			mkdir -p "$ROOT$(dirname "$l")"
			cp -L "$l" "$ROOT$l"
		done
	done
}

put "$UMBRA" /usr/bin/bash /usr/bin/env /usr/bin/ip /usr/sbin/tc /usr/bin/curl \
	/usr/bin/python3.11
ln -s python3.11 "$ROOT/usr/bin/python3"
# busybox for everything else (never over a real binary copied above)
cp /bin/busybox "$ROOT/usr/bin/busybox"
for a in $(busybox --list); do
	[ -e "$ROOT/usr/bin/$a" ] || [ -e "$ROOT/usr/sbin/$a" ] || ln -s busybox "$ROOT/usr/bin/$a"
done
# EAL loads the PMDs found in its plugin directory: only those needed here.
PMDS=$(ls -d /usr/lib/x86_64-linux-gnu/dpdk/pmds-* | sort -V | tail -1)
mkdir -p "$ROOT$PMDS"
for p in net_tap bus_vdev mempool_ring; do
	cp -a "$PMDS"/librte_"$p".so* "$ROOT$PMDS/"
	put "$(readlink -f "$PMDS/librte_$p.so")"
done
# python and scapy (with their native modules' libraries)
mkdir -p "$ROOT/usr/lib/python3/dist-packages"
(cd / && tar cf - --exclude='test' --exclude='idlelib' --exclude='tkinter' \
	--exclude='ensurepip' usr/lib/python3.11 usr/lib/python3/dist-packages/scapy) |
	tar xf - -C "$ROOT"
find /usr/lib/python3.11/lib-dynload -name '*.so' | while read -r so; do put "$so"; done
for f in /etc/protocols /etc/services /etc/ethertypes /etc/nsswitch.conf; do
	[ -e "$f" ] && cp "$f" "$ROOT$f"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
# the test and what it runs
mkdir -p "$ROOT/src/tests/mgmt" "$ROOT/src/deploy"
cp "$SRC/tests/mgmt/test_port_flow.py" "$ROOT/src/tests/mgmt/"
cp "$SRC/deploy/eal-mem.sh" "$ROOT/src/deploy/"
cp -L "$UMBRA" "$ROOT/src/umbra"
# kernel modules, in the order modprobe would load them
MODS=""
for m in tun veth sch_multiq sch_ingress cls_flower act_gact act_mirred act_skbedit \
	cls_bpf act_bpf; do
	MODS="$MODS $(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null |
		awk '$1 == "insmod" {print $2}')"
done
for k in $MODS; do
	mkdir -p "$ROOT$(dirname "$k")"
	cp "$k" "$ROOT$k"
done

cat > "$ROOT/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
for k in $MODS; do insmod \$k 2>/dev/null; done
ip link set lo up
echo "=== guest kernel \$(uname -r), test starts"
cd /src
SRC=/src UMBRA=/src/umbra UMBRA_TEST_PREFIX=$PFX UMBRA_TEST_START_S=300 \
	/usr/bin/python3 tests/mgmt/test_port_flow.py
echo "=== rc=\$?"
poweroff -f
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet) > "$WORK/initrd.cpio"
echo "# guest: kernel $KVER, initramfs $(du -m "$WORK/initrd.cpio" | cut -f1) MB"
timeout "${VM_TIMEOUT_S:-900}" qemu-system-x86_64 -m 2048 -cpu max -smp 2 -nographic \
	-no-reboot -nic none -kernel "/boot/vmlinuz-$KVER" -initrd "$WORK/initrd.cpio" \
	-append "console=ttyS0 panic=-1 quiet" > "$WORK/console.log" 2>&1 || true
tr -d '\r' < "$WORK/console.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
	sed -n '/=== guest kernel/,$p' | grep -v "^\[ *[0-9.]*\]"
rc=$(tr -d '\r' < "$WORK/console.log" | sed -n 's/^=== rc=\([0-9]*\)$/\1/p')
exit "${rc:-1}"
