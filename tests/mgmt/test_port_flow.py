#!/usr/bin/python3
"""rte_flow rules at the ports, for real on net_tap (tc flower in the kernel).

umbra runs in its own network namespace with three tap ports; frames are
sent into the taps from the kernel side with scapy. The configuration has
stateless default-deny pairs, so umbra wants DROP rules at the ports:

- "deny production->dev on pa": expressible by net_tap. Where the kernel
  has tc flower (cls_flower, act_gact, sch_multiq), the rule is created and
  the denied frames are dropped in the kernel before umbra's RX: umbra's
  port and default-deny counters do not see them while the tap's qdisc
  counts them. Where it has not, creation fails and the software path
  denies them, reported as such with the device's reason.
- "deny production->test ..." matches destination ports 7000-7999: net_tap
  cannot match a port range (tc flower has no range in its rte_flow
  mapping), so validation refuses it and the software path acts, reported
  with the reason.

Either way the frames umbra forwards are the same: an allowed frame still
leaves through the uplink. stats (socket) and /metrics report each rule's
path. Needs root, ip netns and scapy (Debian's /usr/bin/python3).
UMBRA_TEST_PREFIX names what the test creates (namespace, taps, EAL prefix).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
UMBRA = os.environ.get("UMBRA", os.path.join(SRC, "build", "app", "umbra", "umbra"))
PFX = os.environ.get("UMBRA_TEST_PREFIX", "upf")
NS = PFX + "ns"
HTTP_PORT = 19000 + os.getpid() % 1000
N_DENY, N_RANGE, N_ALLOW = 40, 10, 20

CONF = """ports:
  - {{ name: up, vdev: "net_tap_{p}0,iface={p}up", role: uplink }}
  - {{ name: pa, vdev: "net_tap_{p}1,iface={p}pa" }}
  - {{ name: pb, vdev: "net_tap_{p}2,iface={p}pb" }}
stages:
  - {{ name: production, default: true, egress: {{ port: pa }} }}
  - name: dev
    egress: {{ port: pb }}
    match: [ {{ dst: 10.2.0.0/16 }} ]
  - name: test
    egress: {{ port: pb, vlan: 40 }}
    match: [ {{ dst: 10.3.0.0/16, proto: tcp, dport: 7000-7999 }} ]
flow_table: {{ udp_idle_timeout_s: 3600 }}
"""
# Generation 2 allows production -> dev: its DROP is no longer wanted.
ALLOW = """flows:
  - { name: prod-dev, from: production, to: dev, proto: udp, dport: 9999 }
"""
DROP_RULE = "deny production->dev on pa (match 0, IPv4)"
KEPT_RULE = "deny test->dev on pb (match 0, IPv4)"
RANGE_RULE = "deny production->test on pa (match 1, IPv4)"

failed = 0


def check(what, ok, detail=""):
    global failed
    print("%s - %s%s" % ("ok" if ok else "not ok", what,
                         "" if ok or not detail else "\n    " + str(detail)))
    failed += 0 if ok else 1


def sh(*cmd, check_rc=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


def nsx(*cmd, check_rc=True):
    return sh("ip", "netns", "exec", NS, *cmd, check_rc=check_rc)


def call(sock, cmd, **args):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock)
    f = s.makefile("rw")
    f.write(json.dumps({"id": 1, "cmd": cmd, "args": args}) + "\n")
    f.flush()
    r = json.loads(f.readline())
    s.close()
    return r


def send(iface, frames):
    """Frames into the tap from the kernel side: umbra receives them."""
    code = ("import sys, pickle\nfrom scapy.all import sendp\n"
            "sendp(pickle.load(sys.stdin.buffer), iface=%r, verbose=False)\n" % iface)
    import pickle
    subprocess.run(["ip", "netns", "exec", NS, "/usr/bin/python3", "-c", code],
                   input=pickle.dumps(frames), check=True)


def deny_frames(sport):
    """UDP production -> dev, one flow per frame from @p sport on."""
    from scapy.all import IP, UDP, Ether
    return [Ether(src="02:00:00:00:0a:01", dst="02:00:00:00:00:99") /
            IP(src="10.0.0.5", dst="10.2.0.7") / UDP(sport=sport + i, dport=9999)
            for i in range(N_DENY)]


def frames():
    from scapy.all import IP, TCP, UDP, Ether
    mac = "02:00:00:00:0a:01"
    deny = deny_frames(40000)
    rng = [Ether(src=mac, dst="02:00:00:00:00:99") / IP(src="10.0.0.5", dst="10.3.0.7") /
           TCP(sport=41000 + i, dport=7100, flags="S") for i in range(N_RANGE)]
    allow = [Ether(src=mac, dst="02:00:00:00:00:99") / IP(src="10.0.0.5", dst="198.51.100.1") /
             UDP(sport=42000 + i, dport=53) for i in range(N_ALLOW)]
    return deny, rng, allow


def qdisc_drops(iface):
    """Packets tc dropped on the tap's egress (the way into umbra)."""
    out = nsx("tc", "-s", "qdisc", "show", "dev", iface, check_rc=False)
    return sum(int(x) for x in re.findall(r"dropped (\d+)", out))


def rule(st, name):
    for r in st["port_rules"]["rules"]:
        if r["name"] == name:
            return r
    return None


def kernel_has_flower():
    # the same three features net_tap needs for its rte_flow rules
    probe = PFX + "pr"
    ok = False
    try:
        nsx("ip", "link", "add", probe, "type", "veth", "peer", "name", probe + "b")
        r = subprocess.run(["ip", "netns", "exec", NS, "tc", "qdisc", "add", "dev", probe,
                            "root", "handle", "1:", "multiq"], capture_output=True)
        ok = r.returncode == 0
        if ok:
            r = subprocess.run(["ip", "netns", "exec", NS, "tc", "filter", "add", "dev", probe,
                                "parent", "1:", "protocol", "ip", "flower", "dst_ip",
                                "10.9.9.9", "action", "drop"], capture_output=True)
            ok = r.returncode == 0
    finally:
        nsx("ip", "link", "del", probe, check_rc=False)
    return ok


def generations(sock, work, conf):
    """Rules follow generations: kept when still wanted (no gap), destroyed
    when not, and never put back while flows an earlier generation allowed
    may live on."""
    kept0 = rule(call(sock, "stats")["result"], KEPT_RULE)
    conf2 = os.path.join(work, "umbra2.yaml")
    with open(conf2, "w") as f:
        f.write(open(conf).read() + ALLOW)
    r = call(sock, "config/apply", path=conf2)
    check("generation 2 (production -> dev allowed) is applied", r.get("ok"), r)
    st2 = call(sock, "stats")["result"]
    kept = rule(st2, KEPT_RULE)
    check("generation 2 no longer wants the production -> dev DROP",
          rule(st2, DROP_RULE) is None, st2["port_rules"])
    if kept0["path"] == "hardware":
        check("a rule both generations want stays at the port, created once",
              kept and kept["path"] == "hardware" and kept["since_generation"] == 1, kept)
    pb0 = st2["ports"]["pb"]["tx_pkts"]
    # new flows: those of generation 1 keep its decision
    deny = deny_frames(43000)
    send(PFX + "pa", deny)
    time.sleep(1.0)
    st2b = call(sock, "stats")["result"]
    check("the frames the DROP stopped are forwarded to dev now (%d)" % N_DENY,
          st2b["ports"]["pb"]["tx_pkts"] - pb0 == N_DENY,
          st2b["ports"]["pb"]["tx_pkts"] - pb0)
    r = call(sock, "config/apply", path=conf)
    check("generation 3 (the first file again) is applied", r.get("ok"), r)
    st3 = call(sock, "stats")["result"]
    back = rule(st3, DROP_RULE)
    check("generation 3 wants the DROP again but keeps it in software: "
          "flows generation 2 allowed live on",
          back and back["path"] == "software" and "earlier generation" in back["reason"],
          back)
    send(PFX + "pa", deny)
    time.sleep(1.0)
    st3b = call(sock, "stats")["result"]
    check("those flows' frames are still forwarded, as umbra's flow table says (%d)"
          % N_DENY, st3b["ports"]["pb"]["tx_pkts"] - st2b["ports"]["pb"]["tx_pkts"] == N_DENY,
          st3b["ports"]["pb"]["tx_pkts"] - st2b["ports"]["pb"]["tx_pkts"])


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (network namespaces, tap devices)")
        return 77
    work = tempfile.mkdtemp(prefix=PFX + "-port-flow-")
    sock = os.path.join(work, "umbra.sock")
    conf = os.path.join(work, "umbra.yaml")
    with open(conf, "w") as f:
        f.write(CONF.format(p=PFX))
    sh("ip", "netns", "add", NS)
    proc = None
    try:
        nsx("ip", "link", "set", "lo", "up")
        # no IPv6 chatter from the kernel on the taps: counters stay exact
        nsx("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1")
        flower = kernel_has_flower()
        mem = subprocess.run([os.path.join(SRC, "deploy", "eal-mem.sh")],
                             capture_output=True, text=True, check=True).stdout.split()
        log = open(os.path.join(work, "umbra.log"), "w")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", NS, UMBRA, "-l", "0-1", "--no-pci",
             "--file-prefix", PFX + "-port-flow"] + mem +
            ["--log-level=lib.eal:error", "--", "-c", conf, "--socket", sock,
             "--http", "127.0.0.1:%d" % HTTP_PORT],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # a guest without KVM (port_flow_vm.sh) starts much slower
        deadline = time.time() + float(os.environ.get("UMBRA_TEST_START_S", "20"))
        while time.time() < deadline and proc.poll() is None:
            try:
                if call(sock, "hello")["ok"]:
                    break
            except OSError:
                time.sleep(0.2)
        check("umbra starts with three net_tap ports", proc.poll() is None,
              open(os.path.join(work, "umbra.log")).read()[-2000:])
        if proc.poll() is not None:
            return 1
        for i in ("up", "pa", "pb"):
            nsx("ip", "link", "set", PFX + i, "up")
        time.sleep(0.5)

        st0 = call(sock, "stats")["result"]
        rules = st0.get("port_rules", {})
        drop, rng = rule(st0, DROP_RULE), rule(st0, RANGE_RULE)
        print("# port rules: " + json.dumps(rules))
        check("stats lists the planned DROP rule", drop is not None, rules)
        check("stats lists the port-range rule", rng is not None, rules)
        if drop is None or rng is None:
            return 1
        check("the port-range rule is refused at validation: software path with the reason",
              rng["path"] == "software" and rng["reason"].startswith("refused at validation"),
              rng)
        if flower:
            check("kernel has tc flower: the DROP rule is at the port",
                  drop["path"] == "hardware" and drop["reason"] == "", drop)
        else:
            check("kernel lacks tc flower: the DROP rule fell back to software, "
                  "with the device's reason", drop["path"] == "software" and drop["reason"], drop)
        metrics = nsx("curl", "-s", "--max-time", "5",
                      "http://127.0.0.1:%d/metrics" % HTTP_PORT)
        line = [m for m in metrics.splitlines()
                if m.startswith("umbra_port_rule{") and DROP_RULE in m]
        check("/metrics reports the DROP rule with its path",
              len(line) == 1 and ('path="%s"' % drop["path"]) in line[0], line)
        check("/metrics counts rules by path",
              'umbra_port_rules{path="%s"}' % drop["path"] in metrics)

        deny, range_frames, allow = frames()
        drops0 = qdisc_drops(PFX + "pa")
        send(PFX + "pa", deny + range_frames + allow)
        time.sleep(1.0)
        st1 = call(sock, "stats")["result"]
        rx = st1["ports"]["pa"]["rx_pkts"] - st0["ports"]["pa"]["rx_pkts"]
        dd = st1["default_deny"]
        up_tx = st1["ports"]["up"]["tx_pkts"] - st0["ports"]["up"]["tx_pkts"]
        check("allowed frames still leave through the uplink (%d)" % N_ALLOW,
              up_tx == N_ALLOW, up_tx)
        check("the refused range rule's frames are denied in software (%d)" % N_RANGE,
              dd.get("production->test") == N_RANGE, dd)
        if drop["path"] == "hardware":
            check("dropped at the port: umbra received only the others",
                  rx == N_RANGE + N_ALLOW, rx)
            check("umbra's default-deny counter did not see them",
                  "production->dev" not in dd, dd)
            check("the tap's qdisc dropped them (%d)" % N_DENY,
                  qdisc_drops(PFX + "pa") - drops0 >= N_DENY, qdisc_drops(PFX + "pa"))
        else:
            check("software path: umbra received all frames",
                  rx == N_DENY + N_RANGE + N_ALLOW, rx)
            check("software path: each denied frame counted (%d)" % N_DENY,
                  dd.get("production->dev") == N_DENY, dd)
            print("# SKIP rule in effect at the port: this kernel has no tc flower "
                  "(CONFIG_NET_CLS_FLOWER, CONFIG_NET_ACT_GACT, CONFIG_NET_SCH_MULTIQ); "
                  "tests/mgmt/port_flow_vm.sh runs this test in a guest that has it")
        generations(sock, work, conf)
        proc.send_signal(signal.SIGTERM)
        check("umbra exits 0", proc.wait(timeout=30) == 0)
        proc = None
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        sh("ip", "netns", "del", NS, check_rc=False)
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
