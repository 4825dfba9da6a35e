#!/usr/bin/python3
"""Cohort health of DNS under a release, as /metrics counts it: a replay of
DNS flows (query, answer NOERROR, query, the same query again, answer
SERVFAIL), one UDP flow on another port and one HTTP/1.1 exchange, all to
a service with a canary. Every answer closes an open request (so as many
no_answer exposures and latency samples as answers), half the DNS answers
are failures, the repeated query opens nothing (a flow's queries are read
once until answered), the HTTP 503 is a bad http_5xx, and the UDP flow on
another port counts nothing. The replay loops, so the counters are read
while it runs: each flow may be one answer ahead, nothing more."""
import os
import re
import sys
import tempfile
import time

from scapy.all import DNS, DNSQR, IP, TCP, UDP, Ether, Raw, wrpcap

from umbrad import Daemon, Failures

SVC = "10.100.0.1"
CMAC, SMAC = "02:00:00:00:0c:01", "02:00:00:00:0b:01"
N_DNS = 8
HTTP_PORT = 18000 + os.getpid() % 2000

CONF = """ports:
  - {{ name: gen, vdev: "{gen}", role: uplink }}
  - {{ name: sink, vdev: "net_null_{tag}1,no-rx=1" }}
stages:
  - {{ name: production, default: true, egress: {{ port: sink }} }}
services:
  - name: dns-and-web
    match: {{ dst: 10.100.0.0/16 }}
    backends:
      - {{ name: blue, port: sink, next_hop_mac: "02:00:00:00:0b:01" }}
      - {{ name: green, port: sink, vlan: 301, next_hop_mac: "02:00:00:00:0b:02" }}
    stages:
      production: {{ backends: [blue, green], running: v1 }}
    rollout: {{ steps: [50, 100], hold_s: 86400 }}
workflow:
  pipeline: [ {{ stage: production, on: code_commit }} ]
"""


def dns_flow(i):
    c = "10.0.1.%d" % (10 + i)
    q = Ether(src=CMAC, dst=SMAC) / IP(src=c, dst=SVC) / UDP(sport=30000 + i, dport=53)
    a = Ether(src=SMAC, dst=CMAC) / IP(src=SVC, dst=c) / UDP(sport=53, dport=30000 + i)
    ask = DNSQR(qname="svc%d.test" % i)
    return [q / DNS(id=1, rd=1, qd=ask),
            a / DNS(id=1, qr=1, rcode=0, qd=ask),
            q / DNS(id=2, rd=1, qd=ask),
            q / DNS(id=2, rd=1, qd=ask),           # asked again: no new request
            a / DNS(id=2, qr=1, rcode=2, qd=ask)]  # SERVFAIL


def other_udp():
    c = "10.0.1.99"
    return [Ether(src=CMAC, dst=SMAC) / IP(src=c, dst=SVC) / UDP(sport=4000, dport=5000) /
            Raw(b"\x00" * 20),
            Ether(src=SMAC, dst=CMAC) / IP(src=SVC, dst=c) / UDP(sport=5000, dport=4000) /
            Raw(b"\x80" * 20)]


def http_flow():
    c, cp = "10.0.1.200", 40000
    o = Ether(src=CMAC, dst=SMAC) / IP(src=c, dst=SVC)
    r = Ether(src=SMAC, dst=CMAC) / IP(src=SVC, dst=c)
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    ans = b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"
    return [o / TCP(sport=cp, dport=80, flags="S", seq=100),
            r / TCP(sport=80, dport=cp, flags="SA", seq=500, ack=101),
            o / TCP(sport=cp, dport=80, flags="A", seq=101, ack=501),
            o / TCP(sport=cp, dport=80, flags="PA", seq=101, ack=501) / Raw(req),
            r / TCP(sport=80, dport=cp, flags="PA", seq=501, ack=101 + len(req)) / Raw(ans),
            o / TCP(sport=cp, dport=80, flags="FA", seq=101 + len(req), ack=501 + len(ans)),
            r / TCP(sport=80, dport=cp, flags="FA", seq=501 + len(ans), ack=102 + len(req)),
            o / TCP(sport=cp, dport=80, flags="A", seq=102 + len(req), ack=502 + len(ans))]


def metrics(d):
    """{(metric, outcome): total over both cohorts} and the latency count."""
    code, text = d.api("/metrics", method="GET", token=False)
    out, lat = {}, 0
    for line in text.splitlines() if code == 200 else []:
        m = re.match(r'umbra_release_events_total\{.*metric="(\w+)",outcome="(\w+)"\} (\d+)',
                     line)
        if m:
            k = (m.group(1), m.group(2))
            out[k] = out.get(k, 0) + int(m.group(3))
        m = re.match(r'umbra_release_latency_seconds_bucket\{.*le="\+Inf"\} (\d+)', line)
        if m:
            lat += int(m.group(1))
    return out, lat


t = Failures()
work = tempfile.mkdtemp(prefix="umbra-health-dns-")
pcap = os.path.join(work, "dns.pcap")
frames = []
for i in range(N_DNS):
    frames += dns_flow(i)
wrpcap(pcap, frames + other_udp() + http_flow())
d = Daemon("healthdns", pcap=pcap, conf_text=CONF, http=HTTP_PORT)
if not d.start():
    print("not ok - umbra did not start")
    sys.exit(1)
try:
    # The replay's flows started before the release: a migration decides them again.
    for cmd, args in (("event/code_commit", {"service": "dns-and-web", "version": "v2"}),
                      ("config/migrate", {})):
        r = d.call(cmd, **args)
        t.check("%s accepted" % cmd, r.get("ok") is True, r)
    time.sleep(2.5)
    c, lat = metrics(d)
    dns_all, dns_bad = c.get(("dns_failure", "all"), 0), c.get(("dns_failure", "bad"), 0)
    http_all, http_bad = c.get(("http_5xx", "all"), 0), c.get(("http_5xx", "bad"), 0)
    answers = dns_all + http_all
    na_all, na_bad = c.get(("no_answer", "all"), 0), c.get(("no_answer", "bad"), 0)
    print("# dns %d (%d bad), http %d (%d bad), no_answer %d (%d bad), latency samples %d"
          % (dns_all, dns_bad, http_all, http_bad, na_all, na_bad, lat))
    t.check("DNS answers counted", dns_all > 100, c)
    t.check("half the DNS answers are failures (SERVFAIL), within one per flow",
            abs(2 * dns_bad - dns_all) <= N_DNS, (dns_all, dns_bad))
    t.check("every HTTP answer is a 503", http_all > 0 and abs(http_all - http_bad) <= 1,
            (http_all, http_bad))
    # Counters are read while the worker writes them: allow one answer per flow.
    t.check("every answer closed an open request (no_answer exposures = answers)",
            abs(na_all - answers) <= N_DNS + 1, (na_all, answers))
    t.check("no request left unanswered by a close", na_bad == 0, na_bad)
    t.check("a latency sample per answer", abs(lat - answers) <= N_DNS + 1, (lat, answers))
finally:
    d.stop()
    d.cleanup()
sys.exit(1 if t.n else 0)
