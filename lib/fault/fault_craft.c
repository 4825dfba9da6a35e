/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets made or changed by faults: TCP resets, ICMP unreachables, DNS
 * SERVFAIL answers, and bit flips. Bytes only (no mbuf, no EAL), so unit
 * tests and the fuzzer run them as the worker does.
 *
 * Answers keep the frame's Ethernet header and VLAN tags (bytes before
 * l3_off) and carry a fresh IP header without options or extension
 * headers. Every read is bounded by the frame's length and the IP length
 * the parser found; every write by the caller's capacity.
 *
 * Addresses are read from the packet's IP header, not from pkt_meta: for
 * neighbour discovery the parser puts the target address in m->dst.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "fault.h"
#include "pkt_math.h"

#define MAC_LEN 6
#define ETH_HLEN 14u
#define IPV4_HLEN ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define IPV6_HLEN ((uint32_t)sizeof(struct rte_ipv6_hdr))
#define TCP_HLEN ((uint32_t)sizeof(struct rte_tcp_hdr))
#define UDP_HLEN ((uint32_t)sizeof(struct rte_udp_hdr))
/* type, code, checksum, 4 unused bytes (RFC 792, RFC 4443) */
#define ICMP_ERR_HLEN 8u
#define ICMP_QUOTE_AFTER_IP 64u
#define ANSWER_TTL 64

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

#define ICMP_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_REDIRECT 5
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12
#define ICMP6_UNREACH 1
#define ICMP6_CODE_ADMIN 1
#define ICMP6_CODE_ADDR 3
#define ICMP6_CODE_PORT 4
#define ICMP6_FIRST_INFO 128

#define DNS_PORT 53
#define DNS_HLEN 12u
#define DNS_LABEL_MAX 63u
#define DNS_NAME_MAX 255u
#define DNS_QTAIL 4u            /* QTYPE, QCLASS */
#define DNS_QR 0x80             /* flags byte 2 */
#define DNS_OPCODE 0x78
#define DNS_RD 0x01
#define DNS_RA 0x80             /* flags byte 3 */
#define DNS_CD 0x10
#define DNS_RCODE_SERVFAIL 2

/* Big-endian loads and stores at any alignment. */
/* ------------------------------------------------------------------ */
/* What every answer shares.                                            */

static inline bool
is_ip(const struct pkt_meta *m)
{
	return m->l3 == PKT_L3_IPV4 || m->l3 == PKT_L3_IPV6;
}

static inline uint32_t
addr_len(const struct pkt_meta *m)
{
	return m->l3 == PKT_L3_IPV6 ? 16 : 4;
}

/* The packet's IP source; its destination follows at +addr_len(m). */
static inline const uint8_t *
ip_src(const uint8_t *pkt, const struct pkt_meta *m)
{
	return pkt + m->l3_off + (m->l3 == PKT_L3_IPV6 ? 8 : 12);
}

static inline uint32_t
fresh_ip_hlen(const struct pkt_meta *m)
{
	return m->l3 == PKT_L3_IPV6 ? IPV6_HLEN : IPV4_HLEN;
}

/* The metadata fits the frame (guards against a meta for other bytes). */
static bool
meta_fits(size_t len, const struct pkt_meta *m)
{
	size_t ip_end = (size_t)m->l3_off + m->ip_len;

	if (!is_ip(m) || m->l3_off < ETH_HLEN || m->ip_len < fresh_ip_hlen(m) ||
	    ip_end > len)
		return false;
	if ((size_t)m->payload_off + m->payload_len > ip_end)
		return false;
	return !(m->flags & PKT_F_L4) || m->l4_off <= m->payload_off;
}

/* An answer under construction in the caller's buffer. */
struct answer {
	uint8_t *ip;
	uint8_t *l4;
	size_t len;     /* whole frame */
	bool v6;
};

static void
l2_copy(const uint8_t *pkt, const struct pkt_meta *m, bool swap, uint8_t *out)
{
	uint8_t mac[MAC_LEN];

	memcpy(out, pkt, m->l3_off);
	if (swap) {
		memcpy(mac, out, MAC_LEN);
		memcpy(out, out + MAC_LEN, MAC_LEN);
		memcpy(out + MAC_LEN, mac, MAC_LEN);
	}
}

static void
ipv4_hdr_write(uint8_t *p, uint8_t proto, uint32_t l4_len, const uint8_t *src,
	       const uint8_t *dst)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

	memset(ip, 0, IPV4_HLEN);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IPV4_HLEN + l4_len));
	/* id 0 is allowed for atomic datagrams (RFC 6864): DF set */
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = ANSWER_TTL;
	ip->next_proto_id = proto;
	memcpy(&ip->src_addr, src, 4);
	memcpy(&ip->dst_addr, dst, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
ipv6_hdr_write(uint8_t *p, uint8_t proto, uint32_t l4_len, const uint8_t *src,
	       const uint8_t *dst)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;

	ip->vtc_flow = rte_cpu_to_be_32(UINT32_C(6) << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)l4_len);
	ip->proto = proto;
	ip->hop_limits = ANSWER_TTL;
	memcpy(ip->src_addr, src, 16);
	memcpy(ip->dst_addr, dst, 16);
}

/*
 * Lay down L2 and a fresh IP header for an L4 message of @p l4_len bytes,
 * addresses (and MACs) swapped when @p swap. False when it does not fit.
 */
static bool
answer_start(const uint8_t *pkt, const struct pkt_meta *m, bool swap,
	     uint8_t proto, uint32_t l4_len, uint8_t *out, size_t cap,
	     struct answer *a)
{
	uint32_t alen = addr_len(m);
	const uint8_t *src = ip_src(pkt, m), *dst = src + alen;

	a->len = (size_t)m->l3_off + fresh_ip_hlen(m) + l4_len;
	if (a->len > cap)
		return false;
	a->v6 = m->l3 == PKT_L3_IPV6;
	a->ip = out + m->l3_off;
	a->l4 = a->ip + fresh_ip_hlen(m);
	l2_copy(pkt, m, swap, out);
	if (swap) {
		const uint8_t *t = src;

		src = dst;
		dst = t;
	}
	if (a->v6)
		ipv6_hdr_write(a->ip, proto, l4_len, src, dst);
	else
		ipv4_hdr_write(a->ip, proto, l4_len, src, dst);
	return true;
}

/* Pseudo-header checksum of the fresh header (its field must be 0). */
static uint16_t
answer_l4_cksum(const struct answer *a)
{
	if (a->v6)
		return rte_ipv6_udptcp_cksum((const struct rte_ipv6_hdr *)a->ip, a->l4);
	return rte_ipv4_udptcp_cksum((const struct rte_ipv4_hdr *)a->ip, a->l4);
}

/* ------------------------------------------------------------------ */
/* TCP reset.                                                           */

/* Sequence, acknowledgment and flags the peer accepts (RFC 793, 3.4). */
static void
rst_numbers(const struct pkt_meta *m, bool to_sender, uint32_t *seq,
	    uint32_t *ack, uint8_t *flags)
{
	bool had_ack = m->tcp_flags & PKT_TCP_ACK;

	if (to_sender) {
		/* As the receiver: an ACK tells us what the sender expects. */
		if (had_ack) {
			*seq = m->tcp_ack;
			*ack = 0;
			*flags = RTE_TCP_RST_FLAG;
		} else {
			*seq = 0;
			*ack = m->tcp_seq + m->payload_len +
			       !!(m->tcp_flags & PKT_TCP_SYN) +
			       !!(m->tcp_flags & PKT_TCP_FIN);
			*flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
		}
	} else {
		/* As the sender: its seq is in the receiver's window. */
		*seq = m->tcp_seq;
		*ack = had_ack ? m->tcp_ack : 0;
		*flags = RTE_TCP_RST_FLAG | (had_ack ? RTE_TCP_ACK_FLAG : 0);
	}
}

size_t
fault_craft_tcp_rst(const uint8_t *pkt, size_t len, const struct pkt_meta *m,
		    bool to_sender, uint8_t *out, size_t cap)
{
	struct rte_tcp_hdr *th;
	struct answer a;
	uint32_t seq, ack;
	uint8_t flags;

	if (!meta_fits(len, m) || m->l4_proto != PROTO_TCP ||
	    !(m->flags & PKT_F_L4) || (m->tcp_flags & PKT_TCP_RST))
		return 0;
	if (!answer_start(pkt, m, to_sender, PROTO_TCP, TCP_HLEN, out, cap, &a))
		return 0;
	rst_numbers(m, to_sender, &seq, &ack, &flags);
	th = (struct rte_tcp_hdr *)a.l4;
	memset(th, 0, TCP_HLEN);
	th->src_port = rte_cpu_to_be_16(to_sender ? m->dport : m->sport);
	th->dst_port = rte_cpu_to_be_16(to_sender ? m->sport : m->dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (TCP_HLEN / 4) << 4;
	th->tcp_flags = flags;
	th->cksum = answer_l4_cksum(&a);
	return a.len;
}

/* ------------------------------------------------------------------ */
/* ICMP destination unreachable.                                        */

static bool
is_icmp_error(const struct pkt_meta *m)
{
	if (!(m->flags & PKT_F_L4))
		return false;
	if (m->l3 == PKT_L3_IPV6)
		return m->l4_proto == PROTO_ICMPV6 && m->icmp_type < ICMP6_FIRST_INFO;
	if (m->l4_proto != PROTO_ICMP)
		return false;
	switch (m->icmp_type) {
	case ICMP_UNREACH:
	case ICMP_SOURCE_QUENCH:
	case ICMP_REDIRECT:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAM_PROBLEM:
		return true;
	default:
		return false;
	}
}

/*
 * A source that is not one host, or a destination that is many: an error
 * would go to the wrong place or to everyone (RFC 1122 3.2.2, RFC 4443 2.4).
 */
static bool
is_group_exchange(const uint8_t *pkt, const struct pkt_meta *m)
{
	static const uint8_t zero[16];
	const uint8_t *src = ip_src(pkt, m), *dst = src + addr_len(m);

	if (m->l3 == PKT_L3_IPV6)
		return src[0] == 0xff || dst[0] == 0xff ||
		       memcmp(src, zero, 16) == 0;
	return (src[0] & 0xf0) == 0xe0 || (dst[0] & 0xf0) == 0xe0 ||
	       pkt_be32(src) == 0 || pkt_be32(src) == UINT32_MAX ||
	       pkt_be32(dst) == UINT32_MAX;
}

static uint8_t
icmp6_unreach_code(uint8_t code)
{
	switch (code) {
	case 3:
		return ICMP6_CODE_PORT;
	case 13:
		return ICMP6_CODE_ADMIN;
	default:        /* net, host and the rest */
		return ICMP6_CODE_ADDR;
	}
}

/* Bytes of the packet to quote: its IP header and up to 64 bytes more. */
static uint32_t
icmp_quote_len(const uint8_t *pkt, const struct pkt_meta *m)
{
	uint32_t hl = m->l3 == PKT_L3_IPV6 ? IPV6_HLEN :
		      (uint32_t)(pkt[m->l3_off] & 0x0f) * 4;

	if (hl > m->ip_len)
		return m->ip_len;
	return hl + RTE_MIN(m->ip_len - hl, ICMP_QUOTE_AFTER_IP);
}

size_t
fault_craft_icmp_unreach(const uint8_t *pkt, size_t len,
			 const struct pkt_meta *m, uint8_t code, uint8_t *out,
			 size_t cap)
{
	struct rte_icmp_hdr *ih;
	struct answer a;
	uint32_t quote;
	bool v6;

	if (!meta_fits(len, m) || (m->flags & PKT_F_FRAG_LATER) ||
	    is_icmp_error(m) || is_group_exchange(pkt, m))
		return 0;
	v6 = m->l3 == PKT_L3_IPV6;
	quote = icmp_quote_len(pkt, m);
	if (!answer_start(pkt, m, true, v6 ? PROTO_ICMPV6 : PROTO_ICMP,
			  ICMP_ERR_HLEN + quote, out, cap, &a))
		return 0;
	ih = (struct rte_icmp_hdr *)a.l4;
	memset(ih, 0, ICMP_ERR_HLEN);
	ih->icmp_type = v6 ? ICMP6_UNREACH : ICMP_UNREACH;
	ih->icmp_code = v6 ? icmp6_unreach_code(code) : code;
	memcpy(a.l4 + ICMP_ERR_HLEN, pkt + m->l3_off, quote);
	if (v6)
		ih->icmp_cksum = answer_l4_cksum(&a);
	else
		ih->icmp_cksum = (uint16_t)~rte_raw_cksum(a.l4, ICMP_ERR_HLEN + quote);
	return a.len;
}

/* ------------------------------------------------------------------ */
/* DNS SERVFAIL.                                                        */

/*
 * Length of the question at @p q (name, QTYPE, QCLASS) within @p avail
 * bytes, or 0 when it does not parse: labels of at most 63 bytes, a name
 * of at most 255 bytes, no compression pointers (a query has nothing to
 * point back to before its first name).
 */
static uint32_t
dns_question_len(const uint8_t *q, uint32_t avail)
{
	uint32_t off = 0;

	for (;;) {
		uint8_t l;

		if (off >= avail)
			return 0;
		l = q[off++];
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX)
			return 0;
		off += l;
		/* the root label still has to fit */
		if (off + 1 > DNS_NAME_MAX)
			return 0;
	}
	if (avail - off < DNS_QTAIL)
		return 0;
	return off + DNS_QTAIL;
}

/* The query's DNS header and question length, or NULL when not a query. */
static const uint8_t *
dns_query(const uint8_t *pkt, const struct pkt_meta *m, uint32_t *qlen)
{
	const uint8_t *d = pkt + m->payload_off;

	if (m->l4_proto != PROTO_UDP || !(m->flags & PKT_F_L4) ||
	    m->dport != DNS_PORT || m->payload_len < DNS_HLEN)
		return NULL;
	if ((d[2] & DNS_QR) || pkt_be16(d + 4) == 0)
		return NULL;
	*qlen = dns_question_len(d + DNS_HLEN, m->payload_len - DNS_HLEN);
	return *qlen ? d : NULL;
}

static void
dns_servfail_write(uint8_t *p, const uint8_t *query, uint32_t qlen)
{
	memcpy(p, query, 2); /* ID */
	p[2] = DNS_QR | (query[2] & (DNS_OPCODE | DNS_RD));
	/* CD is copied from query to response (RFC 4035 3.2.2) */
	p[3] = DNS_RA | (query[3] & DNS_CD) | DNS_RCODE_SERVFAIL;
	pkt_put_be16(p + 4, 1);
	memset(p + 6, 0, 6);
	memcpy(p + DNS_HLEN, query + DNS_HLEN, qlen);
}

size_t
fault_craft_dns_servfail(const uint8_t *pkt, size_t len,
			 const struct pkt_meta *m, uint8_t *out, size_t cap)
{
	const uint8_t *query;
	struct rte_udp_hdr *uh;
	struct answer a;
	uint32_t qlen, ulen;

	if (!meta_fits(len, m))
		return 0;
	query = dns_query(pkt, m, &qlen);
	if (query == NULL)
		return 0;
	ulen = UDP_HLEN + DNS_HLEN + qlen;
	if (!answer_start(pkt, m, true, PROTO_UDP, ulen, out, cap, &a))
		return 0;
	uh = (struct rte_udp_hdr *)a.l4;
	uh->src_port = rte_cpu_to_be_16(m->dport);
	uh->dst_port = rte_cpu_to_be_16(m->sport);
	uh->dgram_len = rte_cpu_to_be_16((uint16_t)ulen);
	uh->dgram_cksum = 0;
	dns_servfail_write(a.l4 + UDP_HLEN, query, qlen);
	uh->dgram_cksum = answer_l4_cksum(&a);
	return a.len;
}

/* ------------------------------------------------------------------ */
/* Corruption.                                                          */

/* Offset of the checksum field in the L4 header. */
static uint32_t
l4_cksum_off(const struct pkt_meta *m)
{
	switch (m->l4_proto) {
	case PROTO_TCP:
		return 16;
	case PROTO_UDP:
		return 6;
	default:        /* ICMP, ICMPv6: PKT_F_L4 is set for nothing else */
		return 2;
	}
}

/* Sum of the pseudo-header for @p l4_len bytes of L4 protocol @p proto. */
static uint32_t
pseudo_sum(const uint8_t *pkt, const struct pkt_meta *m, uint32_t l4_len)
{
	uint8_t ph[40] = { 0 };
	uint32_t alen = addr_len(m);

	memcpy(ph, ip_src(pkt, m), 2 * alen);
	if (m->l3 == PKT_L3_IPV6) {
		ph[34] = (uint8_t)(l4_len >> 8);
		ph[35] = (uint8_t)l4_len;
		ph[39] = m->l4_proto;
		return rte_raw_cksum(ph, 40);
	}
	ph[9] = m->l4_proto;
	pkt_put_be16(ph + 10, (uint16_t)l4_len);
	return rte_raw_cksum(ph, 12);
}

/*
 * Bytes of the segment the L4 checksum covers; @p l4_len gets the length
 * its pseudo-header names. Only UDP says so itself, and a flip may have
 * hit its length field.
 */
static uint32_t
cksum_extent(const struct pkt_meta *m, const uint8_t *seg, uint32_t seg_len,
	     uint32_t *l4_len)
{
	uint32_t ulen;

	*l4_len = seg_len;
	if (m->l4_proto != PROTO_UDP)
		return seg_len;
	ulen = pkt_be16(seg + 4);
	if (ulen >= UDP_HLEN && ulen <= seg_len) {
		*l4_len = ulen;
		return ulen;
	}
	/* a first fragment: the datagram goes on beyond this frame */
	if ((m->flags & PKT_F_FRAG) && ulen > seg_len)
		*l4_len = ulen;
	/* else a broken length: fall back on the IP's */
	return seg_len;
}

/* Recompute the L4 checksum of @p seg from scratch. */
static void
cksum_recompute(const uint8_t *pkt, const struct pkt_meta *m, uint8_t *seg,
		uint32_t seg_len)
{
	uint32_t off = l4_cksum_off(m), l4_len, cover, sum = 0;
	uint16_t c;

	memset(seg + off, 0, 2);
	cover = cksum_extent(m, seg, seg_len, &l4_len);
	if (m->l4_proto != PROTO_ICMP || m->l3 == PKT_L3_IPV6)
		sum = pseudo_sum(pkt, m, l4_len);
	sum += rte_raw_cksum(seg, cover);
	c = (uint16_t)~pkt_cksum_fold(sum);
	if (c == 0 && m->l4_proto == PROTO_UDP)
		c = 0xffff; /* 0 would mean "no checksum" */
	memcpy(seg + off, &c, 2);
}

/*
 * What the checksum sees of the segment apart from the addresses: the
 * covered bytes and the pseudo-header's length (constant but for UDP).
 */
static uint16_t
cksum_extent_sum(const struct pkt_meta *m, const uint8_t *seg, uint32_t seg_len)
{
	uint32_t l4_len, cover = cksum_extent(m, seg, seg_len, &l4_len);

	/* sums are of words as stored: the length too */
	return pkt_cksum_fold((uint32_t)rte_raw_cksum(seg, cover) +
			  rte_cpu_to_be_16((uint16_t)l4_len));
}

/*
 * Adjust the checksum by what the flips changed (RFC 1624): for a fragment
 * the checksum covers bytes not in this frame, and behind IPv6 extension
 * headers a routing header may change the pseudo-header's destination.
 * @p c_old and @p sum_old: the field and cksum_extent_sum() before flipping.
 */
static void
cksum_adjust(const struct pkt_meta *m, uint8_t *seg, uint32_t seg_len,
	     uint16_t c_old, uint16_t sum_old)
{
	uint32_t off = l4_cksum_off(m);
	uint16_t sum_new, c;

	memcpy(seg + off, &c_old, 2);
	if (c_old == 0 && m->l4_proto == PROTO_UDP && m->l3 == PKT_L3_IPV4)
		return; /* sent without a checksum: still fine */
	sum_new = cksum_extent_sum(m, seg, seg_len);
	c = pkt_cksum_fold((uint32_t)c_old + sum_old + (uint16_t)~sum_new);
	if (c == 0 && m->l4_proto == PROTO_UDP)
		c = 0xffff;
	memcpy(seg + off, &c, 2);
}

static inline bool
cksum_needs_adjusting(const struct pkt_meta *m)
{
	return (m->flags & PKT_F_FRAG) ||
	       (m->l3 == PKT_L3_IPV6 && m->l4_off != m->l3_off + IPV6_HLEN);
}

/* The bit-position rule documented at fault_corrupt() in fault.h. */
static void
flip_bits(uint8_t *seg, uint32_t seg_len, unsigned int bits,
	  struct fault_rng *r)
{
	uint64_t n = (uint64_t)seg_len * 8;

	for (unsigned int k = 0; k < bits; k++) {
		uint64_t i = ((fault_rng_next(r) >> 32) * n) >> 32;

		seg[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
}

unsigned int
fault_corrupt(uint8_t *pkt, size_t len, const struct pkt_meta *m,
	      unsigned int bits, bool fix_checksum, struct fault_rng *r)
{
	size_t end = RTE_MIN((size_t)m->l3_off + m->ip_len, len);
	uint16_t c_old = 0, sum_old = 0;
	uint32_t seg_len;
	uint8_t *seg;
	bool adjust;

	if (!(m->flags & PKT_F_L4) || !is_ip(m) || bits == 0 || end <= m->l4_off)
		return 0;
	/* the pseudo-header is read from the IP header before the segment */
	if (m->l4_off < m->l3_off + fresh_ip_hlen(m))
		return 0;
	seg = pkt + m->l4_off;
	seg_len = (uint32_t)(end - m->l4_off);
	/* the parser guarantees the header; a foreign meta may not */
	if (fix_checksum && seg_len < l4_cksum_off(m) + 2)
		fix_checksum = false;
	adjust = fix_checksum && cksum_needs_adjusting(m);
	if (adjust) {
		memcpy(&c_old, seg + l4_cksum_off(m), 2);
		sum_old = cksum_extent_sum(m, seg, seg_len);
	}
	flip_bits(seg, seg_len, bits, r);
	if (adjust)
		cksum_adjust(m, seg, seg_len, c_old, sum_old);
	else if (fix_checksum)
		cksum_recompute(pkt, m, seg, seg_len);
	return bits;
}
