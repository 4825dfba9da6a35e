#!/usr/bin/python3
"""A real guest on umbra's vhost-user port (deploy/vm/README.md): QEMU
(KVM when /dev/kvm is usable, TCG otherwise) boots Debian's kernel with an
initramfs built here from busybox-static; the guest's virtio-net is backed
by umbra's net_vhost port, umbra forwards to a net_tap port in a network
namespace where busybox httpd serves a file; the guest pings and fetches it
over TCP. The guest boots twice against the same umbra: umbra survives a
guest's restart. About 20 s under TCG. Runs only with UMBRA_VM_TESTS=1
(needs qemu-system-x86, busybox-static, linux-image-amd64 or -cloud-amd64)."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

if os.environ.get("UMBRA_VM_TESTS") != "1":
    print("# SKIP: set UMBRA_VM_TESTS=1 to boot a guest (about 20 s under TCG)")
    sys.exit(77)
SRC = os.environ.get("SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
UMBRA = os.environ.get("UMBRA") or os.path.join(SRC, "build", "app", "umbra", "umbra")
kernels = sorted(glob.glob("/boot/vmlinuz-*"))
missing = [n for n, ok in (("qemu-system-x86", shutil.which("qemu-system-x86_64")),
                           ("busybox-static", os.path.exists("/bin/busybox")),
                           ("linux-image-cloud-amd64", kernels)) if not ok]
if missing:
    print("# SKIP: apt-get install -y --no-install-recommends " + " ".join(missing))
    sys.exit(77)
KERNEL = kernels[-1]
KVER = os.path.basename(KERNEL)[len("vmlinuz-"):]
tag = "h12vm%d" % (os.getpid() % 100000)
ns, tap = tag + "ns", tag + "t"
d = tempfile.mkdtemp(prefix="umbra-deploy-vm-")
procs, failures = [], 0


def check(what, ok, detail=""):
    global failures
    print("%s - %s%s" % ("ok" if ok else "not ok", what, "" if ok else "\n    %s" % detail))
    failures += 0 if ok else 1


def initramfs(path):
    """busybox, the virtio-net modules in dependency order, an /init that
    configures eth0, pings and fetches http://10.99.0.1:8080/hello.txt."""
    root = os.path.join(d, "ir")
    for sub in ("bin", "proc", "sys", "dev", "tmp", "lib/modules"):
        os.makedirs(os.path.join(root, sub))
    shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))
    for a in ("sh", "ip", "insmod", "nc", "ping", "mount", "cat", "grep", "tail", "printf",
              "poweroff", "sleep", "echo"):
        os.symlink("busybox", os.path.join(root, "bin", a))
    order = []
    for mod in ("virtio_pci", "virtio_net"):
        out = subprocess.run(["modprobe", "-S", KVER, "--show-depends", mod],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            ko = line.split()[1] if line.startswith("insmod") else None
            name = ko and os.path.basename(ko).replace(".xz", "")
            if ko and name not in order:
                order.append(name)
                data = subprocess.run(["xz", "-dc", ko], capture_output=True).stdout \
                    if ko.endswith(".xz") else open(ko, "rb").read()
                open(os.path.join(root, "lib/modules", name), "wb").write(data)
    with open(os.path.join(root, "init"), "w") as f:
        f.write("""#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in %s; do insmod /lib/modules/$m; done
ip link set lo up; ip link set eth0 up; ip addr add 10.99.0.2/24 dev eth0
ping -c 2 -W 5 10.99.0.1 | grep packets
# busybox-static's wget crashes (static NSS); nc does the HTTP exchange
printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | nc -w 10 10.99.0.1 8080 > /tmp/got
echo "guest: TCP: $(tail -1 /tmp/got)"
poweroff -f
""" % " ".join(order))
    os.chmod(os.path.join(root, "init"), 0o755)
    subprocess.run("cd %s && find . | cpio -o -H newc 2>/dev/null | gzip > %s" % (root, path),
                   shell=True, check=True)


def guest(sock, initrd):
    # KVM only with hardware virtualisation: a /dev/kvm without vmx/svm
    # flags (nested, emulated) hung the guest here.
    flags = open("/proc/cpuinfo").read()
    hw = " vmx" in flags or " svm" in flags
    accel = "kvm" if hw and os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
    # vectors=0: no MSI-X. QEMU 7.2 under TCG crashes in
    # msix_set_vector_notifiers (vhost_net_start) otherwise.
    cmd = ["qemu-system-x86_64", "-machine", "q35,accel=" + accel, "-m", "256",
           "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
           "-numa", "node,memdev=mem", "-kernel", KERNEL, "-initrd", initrd,
           "-append", "console=ttyS0 panic=-1 quiet", "-nographic", "-no-reboot",
           "-nodefaults", "-serial", "stdio",
           "-chardev", "socket,id=c0,path=%s,reconnect=1" % sock,
           "-netdev", "vhost-user,id=n0,chardev=c0,queues=1",
           "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,vectors=0"]
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(cmd, 124, str(e.stdout or ""), "QEMU timed out")
    return r, time.time() - t0, accel


try:
    initrd = os.path.join(d, "initrd.gz")
    initramfs(initrd)
    sock, stats = os.path.join(d, "vm.sock"), os.path.join(d, "stats.json")
    conf = os.path.join(d, "umbra.yaml")
    with open(conf, "w") as f:
        f.write("""ports:
  - { name: vm, vdev: "net_vhost_%s,iface=%s,queues=1", role: uplink }
  - { name: srv, vdev: "net_tap_%s,iface=%s" }
stages:
  - { name: production, default: true, egress: { port: srv } }
""" % (tag, sock, tag, tap))
    mem = subprocess.run([os.path.join(SRC, "deploy", "eal-mem.sh")], capture_output=True,
                         text=True).stdout.split()
    mem = [a for a in mem if a != "--huge-unlink"]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    umbra = subprocess.Popen([UMBRA, "-l", "0-1", "--no-pci", "--file-prefix", tag] + mem +
                             ["--log-level=lib.eal:error", "--", "-c", conf, "--socket", "none",
                              "--stats-json", stats], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    procs.append(umbra)
    for _ in range(100):
        if os.path.exists(sock) and subprocess.run(["ip", "link", "show", tap],
                                                   capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    for c in (["ip", "link", "set", tap, "netns", ns],
              ["ip", "-n", ns, "addr", "add", "10.99.0.1/24", "dev", tap],
              ["ip", "-n", ns, "link", "set", tap, "up"]):
        subprocess.run(c, check=True)
    www = os.path.join(d, "www")
    os.mkdir(www)
    open(os.path.join(www, "hello.txt"), "w").write("hello from the namespace\n")
    procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "busybox", "httpd", "-f",
                                   "-p", "10.99.0.1:8080", "-h", www]))
    for boot in (1, 2):
        r, secs, accel = guest(sock, initrd)
        out = r.stdout + r.stderr
        print("# boot %d: %s, %.1f s" % (boot, accel, secs))
        check("boot %d: QEMU exits 0" % boot, r.returncode == 0, out[-1500:])
        check("boot %d: the guest pings the namespace through umbra" % boot,
              "2 packets received" in out, out[-1500:])
        check("boot %d: TCP exchange from the guest to the server" % boot,
              "guest: TCP: hello from the namespace" in out, out[-1500:])
        check("boot %d: umbra still runs" % boot, umbra.poll() is None)
    umbra.send_signal(2)
    err = umbra.communicate(timeout=30)[1]
    check("umbra exits 0", umbra.returncode == 0, err[-800:])
    s = json.load(open(stats)) if os.path.exists(stats) else None
    check("umbra forwarded the guest's packets both ways",
          s and s["ports"]["vm"]["rx_pkts"] > 10 and s["ports"]["srv"]["rx_pkts"] > 10,
          s and s["ports"])
finally:
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
    shutil.rmtree("/var/run/dpdk/" + tag, ignore_errors=True)
    for f in glob.glob("/dev/hugepages/%smap_*" % tag):
        os.unlink(f)
    if failures == 0:
        shutil.rmtree(d, ignore_errors=True)
sys.exit(1 if failures else 0)
