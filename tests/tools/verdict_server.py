#!/usr/bin/python3
"""A tiny HTTP/1.1 server for release-verdict tests (python3 stdlib only).

Answers every GET with BODY (e.g. "v1" or "v2"), one request per connection
(the tests' clients open a new connection per request; keep-alive requests
on one connection are answered too). Its behaviour can be switched at a
known moment, to one of:

    normal        200 with BODY
    fail=P        HTTP 500 with probability P (0..1), seeded (--seed)
    delay=MS      200 with BODY, MS milliseconds late
    reset         read the request, then close with RST (SO_LINGER 0)
    refuse        stop listening: SYNs get an RST from the kernel

Switches: the control file (--control FILE: its content is the mode; read
when it changes, polled every 5 ms, and at once on SIGUSR1), or SIGUSR2
(cycles back to normal). Each switch is logged on stdout as one JSON line
{"t": wall time, "mode": ...}; with --events FILE also appended there, with
the wall time of the first answer given in the new mode ("first_t").

Usage: verdict_server.py --bind ADDR --port N --body v2 [--mode normal]
                         [--control FILE] [--events FILE] [--seed S]
"""
import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time


class Mode:
    def __init__(self, text):
        text = (text or "normal").strip() or "normal"
        self.text = text
        self.kind, _, arg = text.partition("=")
        self.p = 0.0
        self.delay = 0.0
        if self.kind == "fail":
            self.p = float(arg)
            if not 0 <= self.p <= 1:
                raise ValueError("fail=P needs 0 <= P <= 1")
        elif self.kind == "delay":
            self.delay = float(arg) / 1000.0
        elif self.kind not in ("normal", "reset", "refuse"):
            raise ValueError("unknown mode '%s'" % text)


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.mode = Mode(args.mode)
        self.first_pending = False
        self.listener = None
        self.served = {"ok": 0, "fail": 0, "delayed": 0, "reset": 0}
        self.wake = threading.Event()
        self.control_seen = None
        self.poke = threading.Event()
        self.to_normal = False

    # ---- switching ----
    def log(self, obj):
        line = json.dumps(obj)
        print(line, flush=True)
        if self.args.events:
            with open(self.args.events, "a") as f:
                f.write(line + "\n")

    def set_mode(self, text):
        try:
            m = Mode(text)
        except ValueError as e:
            print("verdict_server: %s" % e, file=sys.stderr, flush=True)
            return
        with self.lock:
            if m.text == self.mode.text:
                return
            self.mode = m
            self.first_pending = m.kind in ("fail", "delay", "reset")
        self.log({"t": time.time(), "mode": m.text, "port": self.args.port})
        self.wake.set()

    def read_control(self):
        try:
            st = os.stat(self.args.control)
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            if key == self.control_seen:
                return
            self.control_seen = key
            with open(self.args.control) as f:
                text = f.read().strip()
        except OSError:
            return
        if text:
            self.set_mode(text)

    def watch_control(self):
        """Signal handlers only set flags: the switch happens here, off the
        main thread (which may hold the lock when a signal arrives)."""
        while True:
            self.poke.wait(0.005)
            self.poke.clear()
            if self.to_normal:
                self.to_normal = False
                self.set_mode("normal")
            if self.args.control:
                self.read_control()

    def note_first(self):
        """The first answer in a bad mode: its wall time, once."""
        with self.lock:
            if not self.first_pending:
                return
            self.first_pending = False
            text = self.mode.text
        self.log({"first_t": time.time(), "mode": text, "port": self.args.port})

    # ---- listening ----
    def open_listener(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.args.bind, self.args.port))
        s.listen(1024)
        s.setblocking(False)
        return s

    def serve(self):
        while True:
            with self.lock:
                refuse = self.mode.kind == "refuse"
            if refuse and self.listener is not None:
                self.listener.close()
                self.listener = None
            elif not refuse and self.listener is None:
                for _ in range(200):
                    try:
                        self.listener = self.open_listener()
                        break
                    except OSError:
                        time.sleep(0.01)
            if self.listener is None:
                self.wake.wait(0.05)
                self.wake.clear()
                continue
            r, _, _ = select.select([self.listener], [], [], 0.02)
            if not r:
                continue
            while True:
                try:
                    c, _ = self.listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                c.setblocking(True)
                threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    # ---- one connection ----
    def handle(self, c):
        try:
            c.settimeout(10)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                    if len(buf) > 65536:
                        return
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                close = b"HTTP/1.0" in lines[0]
                for h in lines[1:]:
                    k, _, v = h.partition(b":")
                    k = k.strip().lower()
                    if k == b"connection":
                        close = v.strip().lower() == b"close" or close
                    elif k == b"content-length":
                        need = int(v.strip() or 0)
                        while len(buf) < need:
                            d = c.recv(4096)
                            if not d:
                                return
                            buf += d
                        buf = buf[need:]
                if not self.answer(c, close):
                    return
                if close:
                    return
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def answer(self, c, close):
        """Answer one request; False when the connection is done."""
        with self.lock:
            m = self.mode
            fail = m.kind == "fail" and self.rng.random() < m.p
        if m.kind == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.note_first()
            with self.lock:
                self.served["reset"] += 1
            return False
        if m.kind == "delay" and m.delay > 0:
            time.sleep(m.delay)
        if fail:
            status, body = "500 Internal Server Error", b"error\n"
        else:
            status, body = "200 OK", self.args.body.encode()
        hdr = ("HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n"
               % (status, len(body), "Connection: close\r\n" if close else ""))
        c.sendall(hdr.encode() + body)
        if fail or m.kind == "delay":
            self.note_first()
        with self.lock:
            self.served["fail" if fail else ("delayed" if m.kind == "delay" else "ok")] += 1
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--body", default="v1")
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--control", help="file whose content is the mode")
    ap.add_argument("--events", help="append switch and first-bad-answer lines here")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    Mode(args.mode)
    srv = Server(args)
    if args.control:
        srv.read_control()
    threading.Thread(target=srv.watch_control, daemon=True).start()

    def usr2(*_):
        srv.to_normal = True
        srv.poke.set()
    signal.signal(signal.SIGUSR1, lambda *_: srv.poke.set())
    signal.signal(signal.SIGUSR2, usr2)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.log({"t": time.time(), "mode": srv.mode.text, "port": args.port, "start": True})
    try:
        srv.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
