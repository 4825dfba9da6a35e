#!/usr/bin/python3
"""deploy/umbra.service as deploy/install.sh installs it: systemd-analyze
verify; where systemd is not PID 1 (containers, CI), its command lines the
way systemd would run them: /etc/default/umbra read, $VAR split into words,
the ExecStartPre check run against the installed configuration (and
refusing a broken one and an unsafe state directory)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unitfile  # noqa: E402

SRC = os.environ.get("SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD") or os.path.join(SRC, "build")
failures = 0


def check(what, ok, detail=""):
    global failures
    print("%s - %s%s" % ("ok" if ok else "not ok", what, "" if ok else "\n    %s" % detail))
    failures += 0 if ok else 1


tmp = tempfile.mkdtemp(prefix="umbra-deploy-unit-")
dest = os.path.join(tmp, "root")
r = subprocess.run([os.path.join(SRC, "deploy", "install.sh"), BUILD],
                   env=dict(os.environ, DESTDIR=dest), capture_output=True, text=True,
                   cwd=SRC)
check("install.sh stages the unit", r.returncode == 0, r.stdout + r.stderr)
if r.returncode:
    sys.exit(1)
unit = os.path.join(dest, "etc/systemd/system/umbra.service")


def in_dest(path):
    """The staged file for an absolute path of the target machine."""
    return os.path.join(dest, path.lstrip("/"))


# 1. systemd-analyze verify. The binaries are staged, not in /usr/local/bin:
# verify a copy whose umbra paths point at the staged ones.
analyze = shutil.which("systemd-analyze")
if analyze is None and os.geteuid() == 0 and shutil.which("apt-get"):
    print("# installing systemd for systemd-analyze")
    subprocess.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                   "--no-install-recommends systemd >/dev/null 2>&1", shell=True)
    analyze = shutil.which("systemd-analyze")
if analyze is None:
    print("# SKIP systemd-analyze verify: systemd-analyze is not installed and "
          "cannot be (apt-get as root)")
else:
    copy = os.path.join(tmp, "umbra.service")
    with open(unit) as f:
        text = f.read().replace("/usr/local/bin/", in_dest("/usr/local/bin/"))
    with open(copy, "w") as f:
        f.write(text)
    r = subprocess.run([analyze, "verify", copy], capture_output=True, text=True)
    ours = [line for line in (r.stdout + r.stderr).splitlines() if "umbra" in line]
    check("systemd-analyze verify: no complaint about the unit",
          r.returncode == 0 and not ours, r.stdout + r.stderr)

# 2. The command lines, as systemd would run them.
pid1 = open("/proc/1/comm").read().strip()
print("# PID 1 is %s%s" % (pid1, "" if pid1 == "systemd" else
                           ": checking the command lines by hand"))
svc = dict(unitfile.sections(unit))["Service"]
env = {}
for k, v in svc:
    if k == "Environment":
        env.update(unitfile.parse_env_assignments(v))
env_file = [v for k, v in svc if k == "EnvironmentFile"]
check("one optional EnvironmentFile, /etc/default/umbra",
      env_file == ["-/etc/default/umbra"], env_file)
env.update(unitfile.read_env_file(in_dest("/etc/default/umbra")))
check("UMBRA_EAL from /etc/default/umbra has lcores, a file prefix and NICs",
      "-l" in env["UMBRA_EAL"].split() and "--file-prefix" in env["UMBRA_EAL"]
      and "-a" in env["UMBRA_EAL"].split(), env)

pre = [unitfile.expand(v, env) for k, v in svc if k == "ExecStartPre"]
start = [unitfile.expand(v, env) for k, v in svc if k == "ExecStart"]
check("one ExecStart", len(start) == 1, start)
_, argv = start[0]
check("ExecStart: umbra EAL -- -c /etc/umbra/umbra.yaml OPTS",
      argv[0] == "/usr/local/bin/umbra" and os.access(in_dest(argv[0]), os.X_OK)
      and argv[1:1 + len(env["UMBRA_EAL"].split())] == env["UMBRA_EAL"].split()
      and argv[argv.index("--") + 1:argv.index("--") + 3] == ["-c", "/etc/umbra/umbra.yaml"]
      and os.path.isfile(in_dest("/etc/umbra/umbra.yaml")), argv)
checks = [a for p, a in pre if "--check" in a]
check("an ExecStartPre runs umbra --check, sandboxed (no '+')",
      len(checks) == 1 and [p for p, a in pre if "--check" in a] == [""], pre)
mk = [a for p, a in pre if a[:2] == ["/bin/mkdir", "-p"]]
check("an ExecStartPre makes /run/dpdk (listed in ReadWritePaths)",
      mk == [["/bin/mkdir", "-p", "/run/dpdk"]] and
      "/run/dpdk" in dict(svc)["ReadWritePaths"].split(), (pre, svc))


def run_check(argv, config=None, state=None):
    """The check as systemd runs it, files mapped to the staged ones; the
    state directory (the config's /var/lib/umbra) replaced by @p state."""
    a = [in_dest(argv[0])] + argv[1:]
    a = [in_dest(x) if x.startswith("/etc/umbra/") else x for x in a]
    if config:
        a[a.index("-c") + 1] = config
    a[a.index("--file-prefix") + 1] = "umbra-deploy-check-%d" % os.getpid()
    a += ["--state-dir", state]
    return subprocess.run(a, capture_output=True, text=True, timeout=60)


state = os.path.join(tmp, "var-lib-umbra")
os.mkdir(state, 0o750)          # StateDirectory=umbra, StateDirectoryMode=0750
r = run_check(checks[0], state=state)
check("ExecStartPre check passes with the shipped configuration",
      r.returncode == 0 and ": ok (" in r.stdout, r.stdout + r.stderr)

bad = os.path.join(tmp, "bad.yaml")
with open(in_dest("/etc/umbra/umbra.yaml")) as f:
    text = f.read()
with open(bad, "w") as f:
    f.write(text.replace("egress: { port: prod }", "egress: { port: nowhere }", 1))
r = run_check(checks[0], config=bad, state=os.path.join(tmp, "state2"))
check("ExecStartPre check refuses a broken configuration (exit 2, file:line:col)",
      r.returncode == 2 and bad + ":" in r.stderr, (r.returncode, r.stdout + r.stderr))

os.chmod(state, 0o770)
r = run_check(checks[0], state=state)
check("ExecStartPre check refuses a group-writable state directory (exit 1)",
      r.returncode == 1 and "state directory" in r.stderr, (r.returncode, r.stderr))

keys = dict(svc)
for k, want in (("RuntimeDirectory", "umbra"), ("RuntimeDirectoryMode", "0750"),
                ("StateDirectory", "umbra"), ("Restart", "on-failure"),
                ("NoNewPrivileges", "yes"), ("ProtectHome", "yes")):
    check("%s=%s" % (k, want), keys.get(k) == want, keys.get(k))
check("ProtectSystem strict or full", keys.get("ProtectSystem") in ("strict", "full"))
caps = set(keys.get("CapabilityBoundingSet", "").split())
check("capabilities bounded to the listed set",
      caps == {"CAP_SYS_ADMIN", "CAP_IPC_LOCK", "CAP_NET_ADMIN", "CAP_NET_RAW",
               "CAP_SYS_RAWIO", "CAP_CHOWN"}, caps)
unit_text = open(unit).read()
check("hugepage mount dependency", "RequiresMountsFor=/dev/hugepages" in unit_text)
with open(in_dest("/etc/umbra/umbra.yaml")) as f:
    conf = f.read()
check("the example configuration's socket group and state directory match the unit",
      "socket_group: umbra" in conf and "state_dir: /var/lib/umbra" in conf and
      "socket: /run/umbra/umbra.sock" in conf)

shutil.rmtree("/var/run/dpdk/umbra-deploy-check-%d" % os.getpid(), ignore_errors=True)
if failures == 0:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failures else 0)
