/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half of packet parsing: Ethernet, VLAN/QinQ, ARP, IPv4 (options,
 * fragments), IPv6 (bounded extension chain), TCP, UDP, ICMP, ICMPv6/ND.
 * Every read is checked against the bytes available; nothing loops without
 * a bound (the VLAN loop stops at two tags, the IPv6 chain at
 * PKT_IPV6_MAX_EXT headers, and option walks advance at least one byte per
 * step inside a header of at most 40 bytes).
 */
#include <stdint.h>
#include <string.h>

#include "pkt.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88a8
#define ETH_P_IPV6 0x86dd

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135

#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 4
#define ND_LEN 24 /* type, code, checksum, reserved, 16-byte target */
#define ARP_LEN 28

static const char *const pkt_drop_names[] = {
#define PKT_DROP_NAME(id, name) name,
	PKT_DROP_REASONS(PKT_DROP_NAME)
#undef PKT_DROP_NAME
};

_Static_assert(sizeof(pkt_drop_names) / sizeof(pkt_drop_names[0]) == PKT_DROP_MAX,
	       "one name per drop reason");

const char *
pkt_drop_reason_name(enum pkt_drop_reason r)
{
	if ((unsigned int)r >= PKT_DROP_MAX)
		return "unknown";
	return pkt_drop_names[r];
}

/* Unaligned big-endian loads: one memcpy each, swapped in a register. */
static inline uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return v;
#else
	return __builtin_bswap16(v);
#endif
}

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return v;
#else
	return __builtin_bswap32(v);
#endif
}

/*
 * Source and destination are written together as one 32-byte store: the
 * flow key builder reads them back in one go, and a load covered by a
 * single earlier store is forwarded instead of stalling the pipeline.
 */
typedef uint64_t pkt_addr_pair __attribute__((vector_size(32), aligned(1)));

static inline void
addr4_pair_store(struct pkt_meta *m, const uint8_t *src, const uint8_t *dst)
{
	uint32_t s, d;

	memcpy(&s, src, 4);
	memcpy(&d, dst, 4);
	pkt_addr_pair v = { s, 0, d, 0 };
	memcpy(m->src, &v, sizeof(v));
}

/*
 * Walk type-length options (IPv4 and TCP share the format: 0 ends, 1 is
 * one byte of padding, others carry a length of at least 2 that must fit).
 */
static int
options_valid(const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		if (p[i] == 0)
			return 1;
		if (p[i] == 1) {
			i++;
			continue;
		}
		if (len - i < 2 || p[i + 1] < 2 || p[i + 1] > len - i)
			return 0;
		i += p[i + 1];
	}
	return 1;
}

/*
 * L4 of an IP packet: @p off is where it starts, @p end where the IP data
 * ends (off <= end <= frame length).
 */
static enum pkt_drop_reason
parse_l4(const uint8_t *d, uint32_t off, uint32_t end, struct pkt_meta *m)
{
	uint32_t hl, avail = end - off;

	m->l4_off = (uint16_t)off;
	switch (m->l4_proto) {
	case IPPROTO_TCP_:
		if (avail < TCP_HLEN)
			return PKT_DROP_TCP_TRUNC;
		hl = (uint32_t)(d[off + 12] >> 4) * 4;
		if (hl < TCP_HLEN || hl > avail)
			return PKT_DROP_TCP_BAD_OFFSET;
		if (hl > TCP_HLEN && !options_valid(d + off + TCP_HLEN, hl - TCP_HLEN))
			return PKT_DROP_TCP_BAD_OPTIONS;
		m->sport = rd16(d + off);
		m->dport = rd16(d + off + 2);
		m->tcp_seq = rd32(d + off + 4);
		m->tcp_ack = rd32(d + off + 8);
		m->tcp_flags = d[off + 13] & 0x3f;
		m->tcp_win = rd16(d + off + 14);
		break;
	case IPPROTO_UDP_: {
		uint32_t ulen;

		if (avail < UDP_HLEN)
			return PKT_DROP_UDP_TRUNC;
		ulen = rd16(d + off + 4);
		if (ulen < UDP_HLEN || ulen > avail)
			return PKT_DROP_UDP_BAD_LEN;
		m->sport = rd16(d + off);
		m->dport = rd16(d + off + 2);
		hl = UDP_HLEN;
		end = off + ulen;
		break;
	}
	case IPPROTO_ICMP_:
		if (m->l3 != PKT_L3_IPV4)
			goto other;
		if (avail < ICMP_HLEN)
			return PKT_DROP_ICMP_TRUNC;
		m->icmp_type = d[off];
		hl = ICMP_HLEN;
		break;
	case IPPROTO_ICMPV6_:
		if (m->l3 != PKT_L3_IPV6)
			goto other;
		if (avail < ICMP_HLEN)
			return PKT_DROP_ICMP6_TRUNC;
		m->icmp_type = d[off];
		hl = ICMP_HLEN;
		if (m->icmp_type == PKT_ICMP6_ND_NS || m->icmp_type == PKT_ICMP6_ND_NA) {
			if (avail < ND_LEN)
				return PKT_DROP_ICMP6_TRUNC;
			memcpy(m->dst, d + off + 8, 16);
			m->flags |= PKT_F_ND;
		}
		break;
	default:
	other:
		/* Other protocols are classified by L3 only. */
		m->payload_off = (uint16_t)off;
		m->payload_len = (uint16_t)avail;
		return PKT_DROP_OK;
	}
	m->flags |= PKT_F_L4;
	m->payload_off = (uint16_t)(off + hl);
	m->payload_len = (uint16_t)(end - off - hl);
	return PKT_DROP_OK;
}

static enum pkt_drop_reason
parse_ipv4(const uint8_t *d, uint32_t off, uint32_t len, struct pkt_meta *m)
{
	uint32_t ihl, tot;
	uint16_t frag;

	if (len - off < IPV4_HLEN)
		return PKT_DROP_IPV4_TRUNC;
	if ((d[off] >> 4) != 4)
		return PKT_DROP_IPV4_BAD_VERSION;
	ihl = (uint32_t)(d[off] & 0x0f) * 4;
	if (ihl < IPV4_HLEN || ihl > len - off)
		return PKT_DROP_IPV4_BAD_IHL;
	tot = rd16(d + off + 2);
	if (tot < ihl || tot > len - off)
		return PKT_DROP_IPV4_BAD_TOTLEN;
	if (ihl > IPV4_HLEN) {
		m->flags |= PKT_F_IPV4_OPTS;
		if (!options_valid(d + off + IPV4_HLEN, ihl - IPV4_HLEN))
			return PKT_DROP_IPV4_BAD_OPTIONS;
	}
	m->l3 = PKT_L3_IPV4;
	m->ip_len = (uint16_t)tot;
	m->l4_proto = d[off + 9];
	addr4_pair_store(m, d + off + 12, d + off + 16);
	frag = rd16(d + off + 6);
	if (frag & 0x3fff) { /* MF or an offset */
		m->flags |= PKT_F_FRAG;
		if (frag & 0x1fff) {
			m->flags |= PKT_F_FRAG_LATER;
			m->payload_off = (uint16_t)(off + ihl);
			m->payload_len = (uint16_t)(tot - ihl);
			return PKT_DROP_OK;
		}
	}
	return parse_l4(d, off + ihl, off + tot, m);
}

static enum pkt_drop_reason
parse_ipv6(const uint8_t *d, uint32_t off, uint32_t len, struct pkt_meta *m)
{
	uint32_t end, next_off;
	uint8_t nh;

	if (len - off < IPV6_HLEN)
		return PKT_DROP_IPV6_TRUNC;
	if ((d[off] >> 4) != 6)
		return PKT_DROP_IPV6_BAD_VERSION;
	end = off + IPV6_HLEN + rd16(d + off + 4);
	if (end > len)
		return PKT_DROP_IPV6_BAD_PLEN;
	m->l3 = PKT_L3_IPV6;
	m->ip_len = (uint16_t)(end - off);
	/* src and dst are adjacent in both the header and pkt_meta */
	memcpy(m->src, d + off + 8, sizeof(pkt_addr_pair));
	nh = d[off + 6];
	next_off = off + IPV6_HLEN;
	for (unsigned int n = 0;; n++) {
		uint32_t hl;

		if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ &&
		    nh != IPPROTO_FRAGMENT_ && nh != IPPROTO_AH_ &&
		    nh != IPPROTO_DSTOPTS_ && nh != IPPROTO_MH_)
			break;
		if (n == PKT_IPV6_MAX_EXT)
			return PKT_DROP_IPV6_EXT_TOO_MANY;
		/* Every extension header is at least 8 bytes. */
		if (end - next_off < 8)
			return PKT_DROP_IPV6_EXT_TRUNC;
		if (nh == IPPROTO_FRAGMENT_) {
			m->flags |= PKT_F_FRAG;
			if (rd16(d + next_off + 2) & 0xfff8) {
				m->flags |= PKT_F_FRAG_LATER;
				m->l4_proto = d[next_off];
				m->payload_off = (uint16_t)(next_off + 8);
				m->payload_len = (uint16_t)(end - next_off - 8);
				return PKT_DROP_OK;
			}
			hl = 8;
		} else if (nh == IPPROTO_AH_) {
			hl = ((uint32_t)d[next_off + 1] + 2) * 4;
		} else {
			hl = ((uint32_t)d[next_off + 1] + 1) * 8;
		}
		if (hl > end - next_off)
			return PKT_DROP_IPV6_EXT_TRUNC;
		nh = d[next_off];
		next_off += hl;
	}
	m->l4_proto = nh;
	return parse_l4(d, next_off, end, m);
}

static enum pkt_drop_reason
parse_arp(const uint8_t *d, uint32_t off, uint32_t len, struct pkt_meta *m)
{
	const uint8_t *a = d + off;

	if (len - off < ARP_LEN)
		return PKT_DROP_ARP_TRUNC;
	if (rd16(a) != 1 || rd16(a + 2) != ETH_P_IPV4 || a[4] != 6 || a[5] != 4)
		return PKT_DROP_ARP_BAD_FORMAT;
	m->l3 = PKT_L3_ARP;
	m->arp_op = rd16(a + 6);
	/* sender and target protocol addresses */
	addr4_pair_store(m, a + 14, a + 24);
	return PKT_DROP_OK;
}

/*
 * Fast path for the common frame: untagged IPv4 without options, not a
 * fragment, carrying TCP without options or UDP. Every check of the general
 * path that such a frame meets is made here, all before the first write, so
 * a frame that fails any of them (whatever the reason) is left untouched
 * for the general path, which names the reason. Fills exactly what the
 * general path would. @return 1 if the frame was parsed, 0 otherwise.
 */
static inline int
parse_fast_ipv4(const uint8_t *d, uint32_t len, struct pkt_meta *m)
{
	const uint32_t l3 = ETH_HLEN, l4 = ETH_HLEN + IPV4_HLEN;
	uint32_t tot, avail, hl, end;
	uint8_t proto;

	if (len < l4 + UDP_HLEN || rd16(d + 12) != ETH_P_IPV4 || d[l3] != 0x45)
		return 0;
	tot = rd16(d + l3 + 2);
	if (tot < IPV4_HLEN + UDP_HLEN || tot > len - l3 || (rd16(d + l3 + 6) & 0x3fff))
		return 0;
	proto = d[l3 + 9];
	avail = tot - IPV4_HLEN;
	end = l3 + tot;
	if (proto == IPPROTO_UDP_) {
		uint32_t ulen = rd16(d + l4 + 4);

		if (ulen < UDP_HLEN || ulen > avail)
			return 0;
		hl = UDP_HLEN;
		end = l4 + ulen;
	} else if (proto == IPPROTO_TCP_) {
		if (avail < TCP_HLEN || (d[l4 + 12] >> 4) != TCP_HLEN / 4)
			return 0;
		hl = TCP_HLEN;
		m->tcp_seq = rd32(d + l4 + 4);
		m->tcp_ack = rd32(d + l4 + 8);
		m->tcp_flags = d[l4 + 13] & 0x3f;
		m->tcp_win = rd16(d + l4 + 14);
	} else {
		return 0;
	}
	m->ethertype = ETH_P_IPV4;
	m->l3_off = (uint16_t)l3;
	m->l3 = PKT_L3_IPV4;
	m->ip_len = (uint16_t)tot;
	m->l4_proto = proto;
	addr4_pair_store(m, d + l3 + 12, d + l3 + 16);
	m->l4_off = (uint16_t)l4;
	m->sport = rd16(d + l4);
	m->dport = rd16(d + l4 + 2);
	m->flags = PKT_F_L4;
	m->payload_off = (uint16_t)(l4 + hl);
	m->payload_len = (uint16_t)(end - l4 - hl);
	return 1;
}

enum pkt_drop_reason
pkt_parse(const uint8_t *d, uint32_t len, struct pkt_meta *m)
{
	uint32_t off = 12; /* the ethertype / first TPID */
	uint16_t type;

	memset(m, 0, sizeof(*m));
	/*
	 * Offsets and lengths in pkt_meta are 16-bit: look at no more than
	 * the first 64 KiB (an mbuf segment is never longer). Beyond it the
	 * bytes are treated like trailing padding.
	 */
	if (len > UINT16_MAX)
		len = UINT16_MAX;
#ifndef PKT_PARSE_NO_FAST_PATH /* tests build a reference without it */
	if (likely(parse_fast_ipv4(d, len, m)))
		return PKT_DROP_OK;
#endif
	if (len < ETH_HLEN)
		return PKT_DROP_ETH_TRUNC;
	type = rd16(d + off);
	while (type == ETH_P_VLAN || type == ETH_P_QINQ) {
		if (m->n_vlan == 2)
			return PKT_DROP_VLAN_TOO_DEEP;
		/* TPID at off (already read), TCI, then the next ethertype. */
		if (len - off < 6)
			return PKT_DROP_VLAN_TRUNC;
		m->vlan_tci[m->n_vlan++] = rd16(d + off + 2);
		off += 4;
		type = rd16(d + off);
	}
	off += 2;
	m->ethertype = type;
	m->l3_off = (uint16_t)off;
	switch (type) {
	case ETH_P_IPV4:
		return parse_ipv4(d, off, len, m);
	case ETH_P_IPV6:
		return parse_ipv6(d, off, len, m);
	case ETH_P_ARP:
		return parse_arp(d, off, len, m);
	default:
		return PKT_DROP_NON_IP;
	}
}
