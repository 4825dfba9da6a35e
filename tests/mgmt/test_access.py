#!/usr/bin/python3
"""The socket is mode 0660 with the configured group; a user outside root
and that group cannot use it."""
import grp
import os
import stat
import subprocess
import sys

from umbrad import Daemon, Failures

t = Failures()
group = "daemon"  # nobody (65534) is not in it
d = Daemon("access", group=group)
os.chmod(d.dir, 0o755)  # the directory is not what keeps others out
t.check("umbra starts with --socket-group %s" % group, d.start())
st = os.stat(d.sock)
t.check("socket mode 0660", stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode))
t.check("socket group %s" % group, st.st_gid == grp.getgrnam(group).gr_gid, st.st_gid)
probe = ("import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
         "try:\n s.connect(sys.argv[1]); print('connected')\n"
         "except PermissionError: print('refused')\n")
out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      "/usr/bin/python3", "-c", probe, d.sock], capture_output=True, text=True)
t.check("user nobody is refused", out.stdout.strip() == "refused", (out.stdout, out.stderr))
t.check("root still gets answers", d.call("hello")["ok"])
r = Daemon("access2", group="no-such-group-xyz")
t.check("an unknown group is a clear start-up error", not r.start() and
        "no group 'no-such-group-xyz'" in open(os.path.join(r.dir, "umbra.log")).read())
r.cleanup()
t.check("clean stop", d.stop() == 0)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
