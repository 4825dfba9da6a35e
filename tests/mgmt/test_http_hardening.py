#!/usr/bin/python3
"""The HTTP API refuses what a web page, a stranger or a slow client sends:
no token file means /metrics only; commands need the token, POST and
application/json; Host and Origin must name this server; headers and body
are bounded; 200 clients trickling a byte a second are cut off while an
operator's requests keep being answered; a token file open to every user,
or empty, stops umbra at start-up."""
import http.client
import os
import select
import socket
import sys
import time

from umbrad import Daemon, Failures

PORT = 21470 + os.getpid() % 500
TOKEN = "hard3ned-t0ken"
REQUEST_S = 10           # MGMT_HTTP_REQUEST_S
t = Failures()


def raw(port, method, path, body=None, headers=None, host=None):
    """(status, headers, body) of one request on a fresh connection, with
    exactly the headers given (Host too, unless host is None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    hdrs = dict(headers or {})
    hdrs.setdefault("Host", host or "127.0.0.1:%d" % port)
    if body is not None:
        hdrs["Content-Length"] = str(len(body))
    for k, v in hdrs.items():
        if v is not None:
            c.putheader(k, v)
    c.endheaders(body)
    r = c.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    c.close()
    return out


def cmd(port, path="/api/v1/status", body=b"{}", token=TOKEN, ctype="application/json",
        method="POST", **kw):
    headers = dict(kw.pop("headers", {}))
    if token:
        headers["Authorization"] = "Bearer " + token
    if ctype:
        headers["Content-Type"] = ctype
    return raw(port, method, path, body if method == "POST" else None, headers, **kw)


def log_of(d):
    with open(os.path.join(d.dir, "umbra.log")) as f:
        return f.read()


# --- without a token file: /metrics only, every command refused.
open_port = PORT + 500
d0 = Daemon("httpopen", http=open_port)
t.check("umbra starts with --http and no token file", d0.start())
t.check("... and says in its log that it serves /metrics only",
        "serves /metrics only" in log_of(d0), log_of(d0)[-500:])
code, _, text = raw(open_port, "GET", "/metrics")
t.check("/metrics is served without a token", code == 200 and "umbra_" in text, code)
for path in ("/api/v1/status", "/api/v1/config/apply", "/networks/production/shadowing/status"):
    code, _, text = cmd(open_port, path)
    t.check("no token file: POST %s refused (403)" % path,
            code == 403 and "--http-token-file" in text, (code, text))
code, _, text = cmd(open_port, token="anything")
t.check("no token file: any bearer token is refused too", code == 403, code)
t.check("clean stop", d0.stop() == 0)
d0.cleanup(keep=t.n > 0)

# --- a token file that others can read, or an empty one, stops umbra.
for name, content, mode, words in (("worldtok", "x\n", 0o644, "open to every user"),
                                   ("emptytok", "\n", 0o600, "empty")):
    bad = Daemon(name, http=PORT + 1)
    path = os.path.join(bad.dir, "tok")
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, mode)
    bad.args = ["--http-token-file", path]
    started = bad.start()
    rc = bad.proc.wait(timeout=30)
    t.check("a token file %s: umbra refuses to start (%s)" % (name, words),
            not started and rc != 0 and words in log_of(bad), (rc, log_of(bad)[-300:]))
    bad.cleanup()

# --- with a token.
d = Daemon("hard", http=PORT, token=TOKEN, args=["--http-allowed-host", "umbra.example"])
t.check("umbra starts with a token file", d.start())
pid = d.proc.pid

code, hdr, text = cmd(PORT)
t.check("right token, POST, JSON: 200", code == 200 and '"ok":true' in text, (code, text))
code, hdr, _ = cmd(PORT, token="wrong-token")
t.check("wrong token: 401 with a Bearer challenge",
        code == 401 and hdr.get("www-authenticate") == "Bearer", (code, hdr))
code, _, _ = cmd(PORT, token=TOKEN[:-1])
t.check("a prefix of the token: 401", code == 401, code)
code, _, _ = cmd(PORT, token=None)
t.check("no Authorization: 401", code == 401, code)
code, hdr, _ = cmd(PORT, method="GET")
t.check("GET of a command: 405 with Allow: POST", code == 405 and hdr.get("allow") == "POST",
        (code, hdr))
code, hdr, _ = cmd(PORT, path="/networks/production/shadowing/status", method="GET")
t.check("GET of a /networks/ route: 405", code == 405 and hdr.get("allow") == "POST", code)
gen = cmd(PORT)[2]
code, _, _ = cmd(PORT, path="/api/v1/config/apply", method="GET")
t.check("GET never runs a command (generation unchanged)", code == 405 and cmd(PORT)[2] == gen)
code, _, _ = cmd(PORT, ctype="text/plain")
t.check("text/plain POST: 415", code == 415, code)
code, _, _ = cmd(PORT, ctype="application/x-www-form-urlencoded")
t.check("form POST: 415", code == 415, code)
code, _, _ = cmd(PORT, ctype=None)
t.check("POST without a Content-Type: 415", code == 415, code)
code, _, _ = cmd(PORT, ctype="Application/JSON; charset=utf-8")
t.check("application/json with a charset: 200", code == 200, code)
code, hdr, _ = raw(PORT, "POST", "/metrics", b"")
t.check("POST /metrics: 405 with Allow: GET", code == 405 and hdr.get("allow") == "GET", code)

# Host and Origin: what a DNS-rebound or foreign web page sends.
for host, want in (("evil.example:%d" % PORT, 421), ("127.0.0.1:%d" % (PORT + 1), 421),
                   ("127.0.0.1", 421), ("localhost:%d" % PORT, 200),
                   ("LOCALHOST:%d" % PORT, 200), ("umbra.example:%d" % PORT, 200),
                   ("[::1]:%d" % PORT, 200), ("evil.example", 421)):
    code, _, _ = cmd(PORT, host=host)
    t.check("Host %s: %d" % (host, want), code == want, code)
code, _, _ = raw(PORT, "GET", "/metrics", host="rebound.example:%d" % PORT)
t.check("/metrics with a foreign Host: 421", code == 421, code)
for origin, want in (("http://evil.example", 403), ("null", 403),
                     ("http://127.0.0.1:%d" % PORT, 200),
                     ("https://127.0.0.1:%d" % PORT, 403),
                     ("http://127.0.0.1:%d.evil.example" % PORT, 403)):
    code, _, _ = cmd(PORT, headers={"Origin": origin})
    t.check("Origin %s: %d" % (origin, want), code == want, code)

# Sizes: headers past 8 KiB, a body past 64 KiB, a path past 256 bytes.
code, _, _ = cmd(PORT, headers={"X-Filler": "a" * 10000})
t.check("10000-byte header: refused (%d)" % code, code in (400, 413, 431), code)
code, _, _ = cmd(PORT, body=b'{"x":"' + b"a" * 70000 + b'"}')
t.check("70000-byte body: refused (413)", code == 413, code)
code, _, _ = cmd(PORT, path="/api/v1/" + "a" * 300)
t.check("300-byte path: 414", code == 414, code)
code, _, text = cmd(PORT)
t.check("... and the API still answers", code == 200, (code, text))


def nfds():
    return len(os.listdir("/proc/%d/fd" % pid))


# 200 clients trickling a request a byte a second, while an operator asks.
fds_before = nfds()
slow, open_ = [], set()
for i in range(200):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.setblocking(False)
    slow.append(s)
    open_.add(i)
stream = b"POST /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X: y\r\n" * 1000
answered, asked, t0, k = 0, 0, time.time(), 0
while time.time() - t0 < REQUEST_S + 6 and open_:
    for i in list(open_):
        try:
            r, _, _ = select.select([slow[i]], [], [], 0)
            if r and slow[i].recv(4096) == b"":
                open_.discard(i)
                continue
            slow[i].send(stream[k:k + 1])
        except OSError:
            open_.discard(i)
    k += 1
    asked += 1
    try:
        code, _, _ = cmd(PORT)
        answered += code == 200
    except OSError:
        pass
    time.sleep(1)
elapsed = time.time() - t0
t.check("200 trickling clients are all cut off (in %.0f s)" % elapsed,
        not open_ and elapsed < REQUEST_S + 6, "%d still open" % len(open_))
t.check("an authenticated client got every answer meanwhile (%d/%d)" % (answered, asked),
        answered == asked and asked >= 2, (answered, asked))
for s in slow:
    s.close()
time.sleep(1.5)
t.check("their descriptors are released (%d before, %d after)" % (fds_before, nfds()),
        nfds() <= fds_before + 2, (fds_before, nfds()))
t.check("the socket still answers", d.call("hello")["ok"])
t.check("clean stop", d.stop() == 0)
d.cleanup(keep=t.n > 0)
sys.exit(1 if t.n else 0)
