#!/usr/bin/python3
"""Parts of the chain of tests/e2e/graph_chain.sh, each in its namespace.

    graph_chain.py dns ADDR             a DNS server (UDP 53): web, api (a
                                        CNAME chain), db of chain.test
    graph_chain.py db ADDR PORT         answers "db:row" to each connection,
                                        on PORT and on PORT + 1 (backups)
    graph_chain.py api ADDR PORT [FLAG PERIOD]
                                        HTTP: resolves db, asks it, answers;
                                        with FLAG, a periodic job too: every
                                        PERIOD s while the file FLAG exists,
                                        a backup to db (PORT + 1 of db)
    graph_chain.py web ADDR PORT        HTTP: resolves api, asks it; on
                                        /direct it also asks db itself
    graph_chain.py client N PATH        N requests: resolve web, GET PATH

Names are resolved with a real DNS query to 10.77.0.53 (through umbra),
by this file's own small resolver, never the host's.
"""
import http.client
import http.server
import os
import socket
import socketserver
import struct
import sys
import threading
import time

DNS_SERVER = ("10.77.0.53", 53)
TTL = 300
ZONE = {  # name: (CNAME target or None, address)
    "web.chain.test": (None, "10.77.0.10"),
    "api.chain.test": ("api-v1.chain.test", "10.77.0.20"),
    "db.chain.test": (None, "10.77.0.30"),
}


def wire_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def read_name(msg, off):
    """The end offset of the (possibly compressed) name at off."""
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        if n == 0:
            return off + 1
        off += 1 + n


def resolve(name, tries=3):
    """The last A address of the answer to name's A query."""
    q = os.urandom(2) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    q += wire_name(name) + b"\x00\x01\x00\x01"
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        try:
            s.sendto(q, DNS_SERVER)
            r, _ = s.recvfrom(512)
        except socket.timeout:
            continue
        finally:
            s.close()
        if r[:2] != q[:2] or r[3] & 0x0F:
            raise OSError("no answer for %s" % name)
        off = read_name(r, 12) + 4
        addr = None
        for _ in range(struct.unpack("!H", r[6:8])[0]):
            off = read_name(r, off)
            typ, _, _, rdlen = struct.unpack("!HHIH", r[off:off + 10])
            off += 10
            if typ == 1 and rdlen == 4:
                addr = socket.inet_ntoa(r[off:off + 4])
            off += rdlen
        if addr:
            return addr
    raise OSError("no answer for %s" % name)


def dns_server(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        q, peer = s.recvfrom(512)
        end = read_name(q, 12)
        labels, off = [], 12
        while q[off]:
            labels.append(q[off + 1:off + 1 + q[off]].decode().lower())
            off += 1 + q[off]
        name = ".".join(labels)
        question = q[12:end + 4]
        entry = ZONE.get(name)
        if entry is None:  # NXDOMAIN
            s.sendto(q[:2] + b"\x81\x83" + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question, peer)
            continue
        cname, ip = entry
        rrs = []
        owner = b"\xc0\x0c"
        if cname:
            target = wire_name(cname)
            rrs.append(owner + struct.pack("!HHIH", 5, 1, TTL, len(target)) + target)
            # the A record's owner: a pointer to the CNAME's target
            owner = struct.pack("!H", 0xC000 | (12 + len(question) + 12))
        rrs.append(owner + struct.pack("!HHIH", 1, 1, TTL, 4) + socket.inet_aton(ip))
        hdr = q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, len(rrs), 0, 0)
        s.sendto(hdr + question + b"".join(rrs), peer)


def db_ask():
    with socket.create_connection((resolve("db.chain.test"), 5432), timeout=3) as c:
        c.sendall(b"select\n")
        return c.recv(64).decode().strip()


def backup_job(flag, period):
    """The periodic job: one backup connection to db every period s."""
    while True:
        time.sleep(period)
        if not os.path.exists(flag):
            continue
        try:
            with socket.create_connection((resolve("db.chain.test"), 5433), timeout=3) as c:
                c.sendall(b"backup\n")
                c.recv(64)
        except OSError:
            pass


def http_get(ip, host, path):
    c = http.client.HTTPConnection(ip, 8080, timeout=5)
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        return r.read().decode()
    finally:
        c.close()


class Handler(http.server.BaseHTTPRequestHandler):
    role = "web"

    def do_GET(self):
        try:
            if self.role == "api":
                body = "api>" + db_ask()
            else:
                body = "web>" + http_get(resolve("api.chain.test"), "api.chain.test", "/")
                if self.path == "/direct":
                    body += "+" + db_ask()
            code = 200
        except OSError as e:
            body, code = "error: %s" % e, 502
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class DbHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        self.wfile.write(b"db:row\n")


def main():
    role = sys.argv[1]
    if role == "dns":
        dns_server(sys.argv[2])
    elif role == "db":
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        backups = socketserver.ThreadingTCPServer((sys.argv[2], int(sys.argv[3]) + 1),
                                                  DbHandler)
        threading.Thread(target=backups.serve_forever, daemon=True).start()
        socketserver.ThreadingTCPServer((sys.argv[2], int(sys.argv[3])),
                                        DbHandler).serve_forever()
    elif role in ("web", "api"):
        Handler.role = role
        if role == "api" and len(sys.argv) > 5:
            threading.Thread(target=backup_job, args=(sys.argv[4], float(sys.argv[5])),
                             daemon=True).start()
        http.server.ThreadingHTTPServer((sys.argv[2], int(sys.argv[3])),
                                        Handler).serve_forever()
    elif role == "client":
        ok = 0
        for _ in range(int(sys.argv[2])):
            try:
                body = http_get(resolve("web.chain.test"), "web.chain.test", sys.argv[3])
            except OSError as e:
                body = "error: %s" % e
            print(body)
            ok += body.startswith("web>api>db:row")
        sys.exit(0 if ok == int(sys.argv[2]) else 1)
    else:
        sys.exit("unknown role %s" % role)


if __name__ == "__main__":
    main()
