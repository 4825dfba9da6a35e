#!/usr/bin/python3
"""A paced HTTP client for release-verdict tests (python3 stdlib only).

Opens a NEW TCP connection for every request (GET, Connection: close), at
a fixed rate (requests are started on a schedule, t0 + i / rate, by a pool
of threads, so a slow answer never delays the next start). Records per
request: start time (wall clock), end time, outcome and body:

    outcome  "200", "500", ... (the status), or an error: "refused" (RST to
             the SYN), "reset" (RST after connecting), "timeout", "closed"
             (EOF before an answer), "error:<name>"

With --records FILE every request is one JSON line there, written as it
completes ({"i", "t0", "t1", "out", "body"}). At the end (--duration,
--count, or SIGTERM/SIGINT, or when --stop-file exists) one summary JSON
line goes to stdout: requests, by outcome, by body, latency p50/p99/max ms,
achieved rate.

Usage (inside the client namespace):
    verdict_client.py --url http://10.0.0.10:8080/ --rate 200 --duration 10
                      [--count N] [--timeout 2] [--threads 128]
                      [--records FILE] [--stop-file FILE]
"""
import argparse
import json
import queue
import signal
import socket
import sys
import threading
import time
from urllib.parse import urlsplit


def one_request(host, port, path, timeout):
    """(outcome, body) of one GET on a new connection."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            return "refused", ""
        except socket.timeout:
            return "timeout", ""
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                   % (path, host, port)).encode())
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                cl = None
                for h in head.split(b"\r\n")[1:]:
                    k, _, v = h.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v.strip())
                if cl is not None and len(body) >= cl:
                    break
        if not data.startswith(b"HTTP/1."):
            return "closed", ""
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode(errors="replace")
        return status, body.decode(errors="replace").strip()
    except ConnectionResetError:
        return "reset", ""
    except socket.timeout:
        return "timeout", ""
    except OSError as e:
        return "error:%s" % type(e).__name__, ""
    finally:
        s.close()


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, int(q * len(sorted_vals)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=0, help="seconds (0: until stopped)")
    ap.add_argument("--count", type=int, default=0, help="requests (0: no limit)")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=128)
    ap.add_argument("--records", help="one JSON line per request")
    ap.add_argument("--stop-file", help="stop when this file exists")
    args = ap.parse_args()

    u = urlsplit(args.url)
    host, port = u.hostname, u.port or 80
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    rec = open(args.records, "w", buffering=1) if args.records else None
    rec_lock = threading.Lock()
    jobs = queue.Queue()
    results = []

    def worker():
        while True:
            i = jobs.get()
            if i is None:
                return
            t0 = time.time()
            sep = "&" if "?" in path else "?"
            out, body = one_request(host, port, "%s%sr=%d" % (path, sep, i), args.timeout)
            t1 = time.time()
            r = {"i": i, "t0": round(t0, 6), "t1": round(t1, 6), "out": out, "body": body[:32]}
            with rec_lock:
                results.append(r)
                if rec:
                    rec.write(json.dumps(r) + "\n")

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    start = time.time()
    i = 0
    late = 0
    while not stop.is_set():
        if args.count and i >= args.count:
            break
        due = start + i / args.rate
        if args.duration and due - start >= args.duration:
            break
        now = time.time()
        if due > now:
            stop.wait(due - now)
            if stop.is_set():
                break
        elif now - due > 0.05:
            late += 1
        if args.stop_file and i % 10 == 0:
            try:
                open(args.stop_file).close()
                break
            except OSError:
                pass
        jobs.put(i)
        i += 1
    sent_until = time.time()
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(args.timeout + 5)
    with rec_lock:
        res = list(results)
    if rec:
        rec.close()
    by_out, by_body = {}, {}
    for r in res:
        by_out[r["out"]] = by_out.get(r["out"], 0) + 1
        if r["out"] == "200":
            by_body[r["body"]] = by_body.get(r["body"], 0) + 1
    lat = sorted((r["t1"] - r["t0"]) * 1000 for r in res if r["out"] == "200")
    span = max(sent_until - start, 1e-9)
    print(json.dumps({
        "requests": i, "completed": len(res), "by_outcome": by_out, "by_body": by_body,
        "ok": by_out.get("200", 0), "failed": len(res) - by_out.get("200", 0),
        "latency_ms": {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99),
                       "max": lat[-1] if lat else None},
        "rate": round(i / span, 1), "late_starts": late}), flush=True)


if __name__ == "__main__":
    main()
