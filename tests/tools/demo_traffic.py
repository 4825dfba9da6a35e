#!/usr/bin/python3
"""Write the demo's input captures (one per port) into a directory.

Mixed client traffic for conf/demo.yaml: production and dev clients with
TCP conversations, a staging client on VLAN 200, IPv6, ARP, an allowed
inter-stage flow (test -> staging metrics), a denied one (dev -> the
production database) and malformed frames.
"""
import os
import sys

from scapy.all import (ARP, IP, TCP, UDP, IPv6, Dot1Q, Ether, Raw,
                       IPv6ExtHdrDestOpt, PcapWriter)

CLIENT_MAC = "02:00:00:00:00:c1"
PROD_MAC = "02:00:00:00:00:a1"
DEV_MAC = "02:00:00:00:0d:01"
TEST_MAC = "02:00:00:00:0e:01"


def tcp_conversation(cmac, smac, cip, sip, sport, dport, request, response,
                     ip=IP, vlan=None):
    """Client and server halves of a short TCP exchange (handshake, one
    request, one response, FIN both ways)."""
    def frame(src_mac, dst_mac, l3):
        eth = Ether(src=src_mac, dst=dst_mac)
        return eth / Dot1Q(vlan=vlan) / l3 if vlan else eth / l3

    c, s = [], []
    cseq, sseq = 1000, 5000
    c.append(frame(cmac, smac, ip(src=cip, dst=sip) / TCP(sport=sport, dport=dport, flags="S", seq=cseq)))
    s.append(frame(smac, cmac, ip(src=sip, dst=cip) / TCP(sport=dport, dport=sport, flags="SA", seq=sseq, ack=cseq + 1)))
    c.append(frame(cmac, smac, ip(src=cip, dst=sip) / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 1, ack=sseq + 1)))
    c.append(frame(cmac, smac, ip(src=cip, dst=sip) / TCP(sport=sport, dport=dport, flags="PA", seq=cseq + 1, ack=sseq + 1) / Raw(request)))
    s.append(frame(smac, cmac, ip(src=sip, dst=cip) / TCP(sport=dport, dport=sport, flags="PA", seq=sseq + 1, ack=cseq + 1 + len(request)) / Raw(response)))
    c.append(frame(cmac, smac, ip(src=cip, dst=sip) / TCP(sport=sport, dport=dport, flags="FA", seq=cseq + 1 + len(request), ack=sseq + 1 + len(response))))
    s.append(frame(smac, cmac, ip(src=sip, dst=cip) / TCP(sport=dport, dport=sport, flags="FA", seq=sseq + 1 + len(response), ack=cseq + 2 + len(request))))
    c.append(frame(cmac, smac, ip(src=cip, dst=sip) / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 2 + len(request), ack=sseq + 2 + len(response))))
    return c, s


def malformed():
    eth = bytes(Ether(src=CLIENT_MAC, dst=PROD_MAC, type=0x0800))
    good_ip = bytes(IP(src="10.0.0.9", dst="10.0.0.100") / TCP(sport=1, dport=80))
    bad_ihl = bytearray(good_ip)
    bad_ihl[0] = 0x43                      # IHL 3 < 5
    bad_off = bytearray(good_ip)
    bad_off[20 + 12] = 0x20                # TCP data offset 2 < 5
    bad_len = bytearray(good_ip)
    bad_len[2:4] = (400).to_bytes(2, "big")  # longer than the frame
    lldp = bytes(Ether(src=CLIENT_MAC, dst="01:80:c2:00:00:0e", type=0x88cc)) + b"\x02\x07\x04" + b"\x00" * 40
    return [eth[:10], eth + bytes(bad_ihl), eth + bytes(bad_off),
            eth + bytes(bad_len), lldp]


def write_pcap(path, frames):
    """Ethernet capture of frames given as scapy packets or raw bytes."""
    with PcapWriter(path, linktype=1) as w:
        for f in frames:
            w.write(bytes(f))


def main(out):
    os.makedirs(out, exist_ok=True)
    uplink, prod, dev, test = [], [], [], []
    req = b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv1"
    # Production clients, IPv4 and IPv6.
    for i in range(12):
        c, s = tcp_conversation(CLIENT_MAC, PROD_MAC, "10.0.0.%d" % (10 + i), "10.0.0.100",
                                40000 + i, 80, req, resp + b"x" * (i * 50))
        uplink += c
        prod += s
    for i in range(3):
        c, s = tcp_conversation(CLIENT_MAC, PROD_MAC, "2001:db8::%x" % (10 + i), "2001:db8::100",
                                41000 + i, 443, req, resp, ip=IPv6)
        uplink += c
        prod += s
    # Dev clients reach the dev servers (MAC rewritten toward DEV_MAC).
    for i in range(4):
        c, _ = tcp_conversation(CLIENT_MAC, DEV_MAC, "10.1.0.%d" % (10 + i), "10.1.0.10",
                                42000 + i, 8080, req, resp)
        uplink += c
    # A staging client on VLAN 200 (re-tagged 300 toward the staging segment).
    c, _ = tcp_conversation(CLIENT_MAC, PROD_MAC, "10.0.0.50", "10.0.0.100", 43000, 80,
                            req, resp, vlan=200)
    uplink += c
    # Address resolution and an IPv6 packet with an extension header.
    uplink.append(Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") /
                  ARP(op=1, hwsrc=CLIENT_MAC, psrc="10.0.0.10", pdst="10.0.0.100"))
    uplink.append(Ether(src=CLIENT_MAC, dst=PROD_MAC) /
                  IPv6(src="2001:db8::99", dst="2001:db8::100") / IPv6ExtHdrDestOpt() /
                  UDP(sport=5353, dport=53) / Raw(b"q"))
    uplink += malformed()
    # Each connection's first packet leads (one RX burst holds them all), so
    # the server side's replies, read from another capture at the same time,
    # find their flows: umbra sees the order a real wire would give it.
    def is_syn(f):
        return not isinstance(f, bytes) and TCP in f and f[TCP].flags == "S"
    uplink = [f for f in uplink if is_syn(f)] + [f for f in uplink if not is_syn(f)]
    # test -> staging metrics: allowed by a flow rule.
    for i in range(5):
        test.append(Ether(src=TEST_MAC, dst=PROD_MAC) / IP(src="10.2.0.10", dst="10.0.0.100") /
                    UDP(sport=50000, dport=9100) / Raw(b"metric %d" % i))
    # dev -> production database: denied (and a policy forbids allowing it).
    for i in range(3):
        dev.append(Ether(src=DEV_MAC, dst=PROD_MAC) / IP(src="10.1.0.10", dst="10.0.0.200") /
                   TCP(sport=45000 + i, dport=5432, flags="S", seq=1))
    for name, pkts in (("uplink", uplink), ("prod", prod), ("dev", dev), ("test", test)):
        write_pcap(os.path.join(out, name + "-in.pcap"), pkts)
    print("demo traffic: %d uplink, %d prod, %d dev, %d test frames in %s"
          % (len(uplink), len(prod), len(dev), len(test), out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/demo")
