#!/usr/bin/python3
"""deploy/install.sh is idempotent: run twice into a DESTDIR, the second run
changes nothing (same files, contents, modes, times) and says "unchanged";
an operator's edited configuration survives a new install; PREFIX moves the
binaries and the unit's paths with them."""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD") or os.path.join(SRC, "build")
failures = 0


def check(what, ok, detail=""):
    global failures
    print("%s - %s%s" % ("ok" if ok else "not ok", what, "" if ok else "\n    %s" % detail))
    failures += 0 if ok else 1


def install(dest, **extra):
    env = dict(os.environ, DESTDIR=dest, **extra)
    env.pop("PREFIX", None) if "PREFIX" not in extra else None
    return subprocess.run([os.path.join(SRC, "deploy", "install.sh"), BUILD], env=env,
                          capture_output=True, text=True, cwd=SRC)


def tree(root):
    """{relative path: (mode, size, mtime_ns, bytes)} of every file."""
    out = {}
    for d, _, files in os.walk(root):
        for n in files:
            p = os.path.join(d, n)
            st = os.stat(p)
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                             open(p, "rb").read())
    return out


tmp = tempfile.mkdtemp(prefix="umbra-deploy-install-")
dest = os.path.join(tmp, "root")
first = install(dest)
check("first run exits 0", first.returncode == 0, first.stdout + first.stderr)
want = {"usr/local/bin/umbra": 0o755, "usr/local/bin/umbractl": 0o755,
        "usr/local/share/doc/umbra/deploy.md": 0o644,
        "etc/systemd/system/umbra.service": 0o644, "etc/umbra/umbra.yaml": 0o644,
        "etc/umbra/umbra.yaml.example": 0o644, "etc/default/umbra": 0o644,
        "etc/sysctl.d/80-umbra.conf": 0o644}
t1 = tree(dest)
check("it installs exactly the expected files, with their modes",
      {k: v[0] & 0o7777 for k, v in t1.items()} == want,
      {k: oct(v[0] & 0o7777) for k, v in t1.items()})
check("the binaries are the build's",
      t1["usr/local/bin/umbra"][3] == open(os.path.join(BUILD, "app/umbra/umbra"), "rb").read())
check("hugepages reserved at boot by sysctl",
      b"vm.nr_hugepages = 1024" in t1["etc/sysctl.d/80-umbra.conf"][3])
check("first run: every file installed",
      first.stdout.count("install: installed ") == len(want), first.stdout)

second = install(dest)
t2 = tree(dest)
check("second run exits 0", second.returncode == 0, second.stdout + second.stderr)
check("second run changes nothing (files, contents, modes, times)", t1 == t2,
      set(t1) ^ set(t2) or [k for k in t1 if t1[k] != t2.get(k)])
check("second run says unchanged for each file, installs nothing",
      second.stdout.count("install: unchanged ") == len(want)
      and "installed" not in second.stdout, second.stdout)

conf = os.path.join(dest, "etc/umbra/umbra.yaml")
with open(conf, "a") as f:
    f.write("# the operator's edit\n")
os.chmod(os.path.join(dest, "usr/local/bin/umbractl"), 0o700)
third = install(dest)
check("an edited configuration is kept", third.returncode == 0 and
      open(conf).read().endswith("# the operator's edit\n") and
      "unchanged /etc/umbra/umbra.yaml (kept)" in third.stdout, third.stdout)
check("a wrong mode is put right",
      os.stat(os.path.join(dest, "usr/local/bin/umbractl")).st_mode & 0o7777 == 0o755
      and "mode 0755 /usr/local/bin/umbractl" in third.stdout, third.stdout)

dest2 = os.path.join(tmp, "root2")
r = install(dest2, PREFIX="/opt/umbra")
unit = open(os.path.join(dest2, "etc/systemd/system/umbra.service")).read()
check("PREFIX=/opt/umbra: binaries and unit paths follow",
      r.returncode == 0 and os.access(os.path.join(dest2, "opt/umbra/bin/umbra"), os.X_OK)
      and "ExecStart=/opt/umbra/bin/umbra " in unit and "/usr/local" not in unit,
      r.stdout + r.stderr)
r = install(os.path.join(tmp, "root3"), PREFIX="relative")
check("a relative PREFIX is refused", r.returncode == 2, r.stdout + r.stderr)

if failures == 0:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failures else 0)
