"""What N /events clients cost umbra's management loop (default 50).

Starts umbra (tests/browser/conf.yaml.in, a release with a canary), then
measures the management thread's CPU time (the EAL main lcore: the
process's main thread, /proc/PID/task/PID/stat) over SECONDS with no
client, and again with N clients reading /events; also the loop time
umbra itself counts for /events (umbra_events_loop_seconds_total).
    /usr/bin/python3 tests/bench/events_clients.py [N] [SECONDS]
Prints one line per phase and the difference in percent of one core.
"""
import os
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mgmt"))
from umbrad import SRC, Daemon  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = open("/proc/%d/task/%d/stat" % (pid, pid)).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK  # utime, stime


def loop_s(port):
    m = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
    return float(re.search(r"^umbra_events_loop_seconds_total (\S+)", m, re.M).group(1))


def measure(d, port, secs):
    c0, l0, t0 = cpu_s(d.proc.pid), loop_s(port), time.time()
    time.sleep(secs)
    c1, l1, t1 = cpu_s(d.proc.pid), loop_s(port), time.time()
    return 100 * (c1 - c0) / (t1 - t0), 100 * (l1 - l0) / (t1 - t0)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50         # clients
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0  # measured
    state = tempfile.mkdtemp(prefix="umbra-bench-events-")
    os.chmod(state, 0o700)
    port = 21000 + os.getpid() % 1000
    d = Daemon("evbench", state_dir=state, http=port, token="bench",
               conf_text=open(os.path.join(SRC, "tests", "browser", "conf.yaml.in")).read())
    assert d.start(), "umbra did not start"
    d.call("event/code_commit", service="web", version="v2")
    d.call("event/test_completion", service="web", version="v2", passed=True)
    d.call("event/manual_approval", service="web", version="v2", approver="bench")
    try:
        base, _ = measure(d, port, secs)
        print("0 clients: management thread %.2f%% of a core" % base)
        stop, got = [False], [0] * n
        socks = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /events?token=bench HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port)
            socks.append(s)

        def reader(i):
            socks[i].settimeout(1)
            while not stop[0]:
                try:
                    b = socks[i].recv(65536)
                except socket.timeout:
                    continue
                if not b:
                    break
                got[i] += len(b)

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
        for th in threads:
            th.start()
        time.sleep(2)
        cpu, loop = measure(d, port, secs)
        stop[0] = True
        alive = sum(1 for g in got if g > 0)
        print("%d clients (%d receiving, %.0f KiB/s each): management thread %.2f%% of a core, "
              "of which /events counted %.2f%%" % (n, alive, sum(got) / n / (secs + 2) / 1024,
                                                   cpu, loop))
        print("cost of %d /events clients: %.2f%% of the management core" % (n, cpu - base))
    finally:
        d.stop()
        d.cleanup()


if __name__ == "__main__":
    main()
