#!/usr/bin/python3
"""The socket protocol under bad input: malformed JSON, wrong requests,
pipelining, split lines, an over-long line, a stalled half line, and 1000
clients at once. Each gets a clear error or is closed; the loop stays
responsive throughout."""
import json
import resource
import socket
import sys
import time

from umbrad import Daemon, Failures

# 1000 sockets need more descriptors than some runners give by default.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
t = Failures()
d = Daemon("proto")
t.check("umbra starts", d.start())


def conn():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(d.sock)
    return s


def closed(s):
    """The server closed: EOF, or a reset (it had unread input from us)."""
    try:
        return s.recv(10) == b""
    except ConnectionResetError:
        return True


def lines(s, n):
    buf = b""
    while buf.count(b"\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return [json.loads(x) for x in buf.split(b"\n")[:n]]


s = conn()
s.sendall(b"this is not json\n")
r = lines(s, 1)[0]
t.check("malformed JSON: parse_error, id null", r["error"]["code"] == "parse_error" and
        r["id"] is None, r)
s.sendall(b'{"id":"a","cmd":"hello"}\n')
t.check("the same connection keeps working", lines(s, 1)[0]["id"] == "a")
for req, code in ((b"[1,2]", "invalid_request"), (b'{"cmd":5}', "invalid_request"),
                  (b'{"cmd":"hello","args":[]}', "invalid_request"),
                  (b'{"cmd":"nope"}', "unknown_command"),
                  (b'{"cmd":"config/validate"}', "invalid_args"),
                  (b'{"cmd":"config/validate","args":{"path":5}}', "invalid_args"),
                  (b'{"cmd":"config/validate","args":{"path":"x","extra":1}}', "invalid_args")):
    s.sendall(req + b"\n")
    r = lines(s, 1)[0]
    t.check("%s -> %s" % (req.decode(), code), r.get("error", {}).get("code") == code, r)
s.sendall(b'{"id":1,"cmd":"hello"}\n{"id":2,"cmd":"status"}\n{"id":3,"cmd":"hello"}\n')
t.check("pipelined requests answered in order", [x["id"] for x in lines(s, 3)] == [1, 2, 3])
for part in (b'{"id":9,', b'"cmd":', b'"hello"}\n'):
    s.sendall(part)
    time.sleep(0.2)
t.check("a request split across writes", lines(s, 1)[0]["id"] == 9)
s.close()

s = conn()
s.sendall(b'{"cmd":"hello","pad":"' + b"x" * 70000 + b'"}\n')
r = lines(s, 1)[0]
t.check("70000-byte line: line_too_long", r["error"]["code"] == "line_too_long", r)
t.check("... and the connection is closed", closed(s))
s.close()

stalled = conn()
stalled.sendall(b'{"cmd":"hel')
start = time.time()
other = conn()
other.sendall(b'{"id":1,"cmd":"hello"}\n')
lines(other, 1)
other.close()
t.check("another client is answered promptly during a stall", time.time() - start < 0.5)
stalled.settimeout(10)
r = lines(stalled, 1)[0]
waited = time.time() - start
t.check("stalled half line: timeout after ~5 s", r["error"]["code"] == "timeout" and
        4 <= waited <= 8, (r, waited))
t.check("... and it is closed", closed(stalled))

clients, outcomes = [], {"ok": 0, "too_many_clients": 0, "closed": 0, "other": 0}
for _ in range(1000):
    try:
        clients.append(conn())
    except OSError:
        outcomes["closed"] += 1
for c in clients:
    try:
        c.sendall(b'{"id":1,"cmd":"hello"}\n')
    except OSError:
        pass
for c in clients:
    try:
        c.settimeout(10)
        r = lines(c, 1)
        key = "ok" if r and r[0].get("ok") else (r[0]["error"]["code"] if r else "closed")
        outcomes[key if key in outcomes else "other"] += 1
    except (OSError, ValueError):
        outcomes["closed"] += 1
    c.close()
t.check("1000 clients: each answered, refused with too_many_clients, or closed; none hung",
        sum(outcomes.values()) == 1000 and outcomes["other"] == 0, outcomes)
# A client refused at connect (listen backlog full) counts as closed.
t.check("... and the loop kept serving through the flood", outcomes["ok"] >= 100, outcomes)
t.check("a fresh client afterwards is answered", d.call("hello")["ok"])
t.check("umbra still running, clean stop", d.proc.poll() is None and d.stop() == 0)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
