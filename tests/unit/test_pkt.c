/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: the packet parser over every header case and truncation point. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ut_frame.h"

#include "pkt.h"
#include "ut_rand.h"

/* The reference: the same parser without its IPv4 fast path, so the fast
 * path can be checked against the general one frame by frame. */
#define PKT_PARSE_NO_FAST_PATH
#define pkt_parse pkt_parse_ref
#define pkt_drop_reason_name pkt_drop_reason_name_ref
#include "../../lib/pkt/pkt_parse.c"
#undef pkt_parse
#undef pkt_drop_reason_name

static void
set16(struct frame *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

/* Ethernet header with explicit tag protocol IDs. */
static void
eth_tpid(struct frame *f, const uint16_t *tpids, const uint16_t *tcis, int n_tags,
	 uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	f->len = 0;
	put(f, macs, sizeof(macs));
	for (int i = 0; i < n_tags; i++) {
		put16(f, tpids[i]);
		put16(f, tcis[i]);
	}
	put16(f, type);
}

/* Ethernet header; two tags are 802.1ad outer + 802.1Q inner. */
static void
eth(struct frame *f, const uint16_t *tags, int n_tags, uint16_t type)
{
	static const uint16_t one[1] = { 0x8100 };
	static const uint16_t two[2] = { 0x88a8, 0x8100 };

	assert_true(n_tags <= 2);
	eth_tpid(f, n_tags == 2 ? two : one, tags, n_tags, type);
}

/* IPv4 header with @p opt_len bytes of options; returns its offset. */
static uint32_t
ipv4(struct frame *f, uint8_t proto, uint16_t payload, const uint8_t *opts,
     uint8_t opt_len, uint16_t frag)
{
	uint32_t off = f->len;

	put8(f, (uint8_t)(0x40 | (5 + opt_len / 4)));
	put8(f, 0);
	put16(f, (uint16_t)(20 + opt_len + payload));
	put16(f, 1);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put32(f, 0x0a000001);
	put32(f, 0x0a000064);
	if (opt_len)
		put(f, opts, opt_len);
	return off;
}

static const uint8_t v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x64 };

static uint32_t
ipv6(struct frame *f, uint8_t next, uint16_t plen)
{
	uint32_t off = f->len;

	put32(f, 0x60000000);
	put16(f, plen);
	put8(f, next);
	put8(f, 64);
	put(f, v6_src, 16);
	put(f, v6_dst, 16);
	return off;
}

/* An 8-byte-unit extension header (hop-by-hop, routing, dst opts) of @p len8 * 8 + 8 bytes. */
static void
ext6(struct frame *f, uint8_t next, uint8_t len8)
{
	put8(f, next);
	put8(f, len8);
	putn(f, 0, (uint32_t)len8 * 8 + 6);
}

static void
frag6(struct frame *f, uint8_t next, uint16_t offset8, int more)
{
	put8(f, next);
	put8(f, 0);
	put16(f, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	put32(f, 0x12345678);
}

static void
tcp(struct frame *f, uint8_t flags, const uint8_t *opts, uint8_t opt_len,
    uint16_t data)
{
	put16(f, 40000);
	put16(f, 80);
	put32(f, 1000);
	put32(f, 2000);
	put8(f, (uint8_t)((5 + opt_len / 4) << 4));
	put8(f, flags);
	put16(f, 8192);
	put32(f, 0);
	if (opt_len)
		put(f, opts, opt_len);
	putn(f, 'x', data);
}

static void
udp(struct frame *f, uint16_t data)
{
	put16(f, 5353);
	put16(f, 53);
	put16(f, (uint16_t)(8 + data));
	put16(f, 0);
	putn(f, 'q', data);
}

/* Invariants every successful parse must keep. */
static void
check_meta(const struct pkt_meta *m, uint32_t len)
{
	assert_true(m->l3_off <= len);
	assert_true(m->n_vlan <= 2);
	assert_int_equal(m->l3_off, 14 + 4 * m->n_vlan);
	assert_true(m->payload_off <= len);
	assert_true((uint32_t)m->payload_off + m->payload_len <= len);
	if (m->l3 == PKT_L3_IPV4 || m->l3 == PKT_L3_IPV6)
		assert_true((uint32_t)m->l3_off + m->ip_len <= len);
	if (m->flags & PKT_F_L4) {
		assert_false(m->flags & PKT_F_FRAG_LATER);
		assert_true(m->l4_off >= m->l3_off);
		assert_true(m->l4_off <= m->payload_off);
		assert_true((uint32_t)m->payload_off + m->payload_len <=
			    (uint32_t)m->l3_off + m->ip_len);
	}
	if (m->flags & PKT_F_FRAG_LATER)
		assert_true(m->flags & PKT_F_FRAG);
}

static enum pkt_drop_reason
parse(const struct frame *f, struct pkt_meta *m)
{
	enum pkt_drop_reason r = pkt_parse(f->b, f->len, m);

	assert_true((unsigned int)r < PKT_DROP_MAX);
	if (r == PKT_DROP_OK)
		check_meta(m, f->len);
	return r;
}

/* The frame parses as valid. */
#define assert_ok(f, m) assert_string_equal(pkt_drop_reason_name(parse((f), (m))), "ok")

/*
 * The frame is dropped for exactly @p reason, whose stable name is @p name.
 * Names are compared so that a failure says which reason came back.
 */
#define assert_drop(f, reason, name) do { \
	struct pkt_meta m_; \
	assert_string_equal(pkt_drop_reason_name(parse((f), &m_)), (name)); \
	assert_string_equal(pkt_drop_reason_name(reason), (name)); \
} while (0)

static const uint8_t tcp_opts[12] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 1, 1, 0 };

static void
build_tcp4_vlan(struct frame *f)
{
	uint16_t tag = 0x2064;

	eth(f, &tag, 1, 0x0800);
	ipv4(f, 6, 20 + sizeof(tcp_opts) + 5, NULL, 0, 0x4000 /* DF */);
	tcp(f, PKT_TCP_SYN | PKT_TCP_ACK, tcp_opts, sizeof(tcp_opts), 5);
}

static void
test_tcp4_vlan(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_tcp4_vlan(&f);
	assert_ok(&f, &m);
	assert_int_equal(m.n_vlan, 1);
	assert_int_equal(m.vlan_tci[0], 0x2064);
	assert_int_equal(m.vlan_tci[1], 0);
	assert_int_equal(m.ethertype, 0x0800);
	assert_int_equal(m.l3, PKT_L3_IPV4);
	assert_int_equal(m.l3_off, 18);
	assert_int_equal(m.l4_off, 38);
	assert_int_equal(m.l4_proto, 6);
	assert_int_equal(m.ip_len, 20 + 32 + 5);
	assert_int_equal(m.flags, PKT_F_L4); /* DF alone is no fragment */
	assert_int_equal(m.sport, 40000);
	assert_int_equal(m.dport, 80);
	assert_int_equal(m.tcp_seq, 1000);
	assert_int_equal(m.tcp_ack, 2000);
	assert_int_equal(m.tcp_win, 8192);
	assert_int_equal(m.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(m.payload_off, 38 + 32);
	assert_int_equal(m.payload_len, 5);
	assert_memory_equal(m.src, "\x0a\x00\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_memory_equal(m.dst, "\x0a\x00\x00\x64\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(pkt_ip_family(&m), 4);

	/* All six flag bits come through; the two reserved bits above do not. */
	f.b[38 + 13] = 0xff;
	assert_ok(&f, &m);
	assert_int_equal(m.tcp_flags, 0x3f);
}

static void
test_untagged_and_padding(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8 + 2, NULL, 0, 0);
	udp(&f, 2);
	putn(&f, 0xee, 16); /* Ethernet padding past the IP length */
	assert_ok(&f, &m);
	assert_int_equal(m.n_vlan, 0);
	assert_int_equal(m.l3_off, 14);
	assert_int_equal(m.l4_off, 34);
	assert_int_equal(m.ip_len, 30);
	assert_int_equal(m.sport, 5353);
	assert_int_equal(m.dport, 53);
	assert_true(m.flags & PKT_F_L4);
	assert_false(m.flags & PKT_F_IPV4_OPTS);
	assert_int_equal(m.payload_off, 42);
	assert_int_equal(m.payload_len, 2); /* padding is not payload */

	/* Padding after a TCP segment is not payload either. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 20, NULL, 0, 0);
	tcp(&f, PKT_TCP_ACK, NULL, 0, 0);
	putn(&f, 0, 6);
	assert_ok(&f, &m);
	assert_int_equal(m.payload_off, 54);
	assert_int_equal(m.payload_len, 0);
}

static void
test_vlan_tags(void **state)
{
	static const uint16_t tpid3[3] = { 0x8100, 0x8100, 0x8100 };
	static const uint16_t tpid_ad3[3] = { 0x88a8, 0x8100, 0x8100 };
	static const uint16_t tags[3] = { 100, 7, 9 };
	struct frame f;
	struct pkt_meta m;

	(void)state;
	/* 802.1ad outer + 802.1Q inner. */
	eth(&f, tags, 2, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_int_equal(m.n_vlan, 2);
	assert_int_equal(m.vlan_tci[0], 100);
	assert_int_equal(m.vlan_tci[1], 7);
	assert_int_equal(m.ethertype, 0x0800);
	assert_int_equal(m.l3_off, 22);
	assert_int_equal(m.l4_off, 42);

	/* Two stacked 802.1Q tags, with PCP/DEI bits kept in the TCI. */
	eth_tpid(&f, tpid3, (const uint16_t[]){ 0xe00a, 0x1fff }, 2, 0x86dd);
	ipv6(&f, 17, 8);
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_int_equal(m.n_vlan, 2);
	assert_int_equal(m.vlan_tci[0], 0xe00a);
	assert_int_equal(m.vlan_tci[1], 0x1fff);
	assert_int_equal(m.ethertype, 0x86dd);
	assert_int_equal(m.l3_off, 22);

	/* A third tag, whichever TPIDs. */
	eth_tpid(&f, tpid3, tags, 3, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_VLAN_TOO_DEEP, "vlan_too_deep");
	eth_tpid(&f, tpid_ad3, tags, 3, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_VLAN_TOO_DEEP, "vlan_too_deep");

	/* A tag without its TCI and next ethertype. */
	eth(&f, tags, 1, 0x0800);
	f.len = 17;
	assert_drop(&f, PKT_DROP_VLAN_TRUNC, "vlan_trunc");
	/* A tag with its next ethertype but nothing after is an L3 problem. */
	f.len = 18;
	assert_drop(&f, PKT_DROP_IPV4_TRUNC, "ipv4_trunc");
	eth(&f, tags, 1, 0x88cc);
	assert_drop(&f, PKT_DROP_NON_IP, "non_ip");
}

static void
test_eth_trunc(void **state)
{
	struct frame f;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	for (f.len = 0; f.len < 14; f.len++)
		assert_drop(&f, PKT_DROP_ETH_TRUNC, "eth_trunc");
}

static void
build_arp(struct frame *f, uint16_t op)
{
	eth(f, NULL, 0, 0x0806);
	put16(f, 1);
	put16(f, 0x0800);
	put8(f, 6);
	put8(f, 4);
	put16(f, op);
	put(f, "\x02\0\0\0\0\x01", 6);
	put32(f, 0x0a000001);
	put(f, "\0\0\0\0\0\0", 6);
	put32(f, 0x0a000064);
}

static void
test_arp(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_arp(&f, 1);
	assert_ok(&f, &m);
	assert_int_equal(m.l3, PKT_L3_ARP);
	assert_int_equal(m.ethertype, 0x0806);
	assert_int_equal(m.arp_op, PKT_ARP_OP_REQUEST);
	assert_memory_equal(m.src, "\x0a\x00\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_memory_equal(m.dst, "\x0a\x00\x00\x64\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(pkt_ip_family(&m), 4);

	build_arp(&f, 2);
	putn(&f, 0, 18); /* padded to the 60-byte minimum */
	assert_ok(&f, &m);
	assert_int_equal(m.arp_op, PKT_ARP_OP_REPLY);

	build_arp(&f, 1);
	f.b[14 + 4] = 8; /* hardware address length 8 */
	assert_drop(&f, PKT_DROP_ARP_BAD_FORMAT, "arp_bad_format");
	build_arp(&f, 1);
	f.b[14 + 5] = 16; /* protocol address length 16 */
	assert_drop(&f, PKT_DROP_ARP_BAD_FORMAT, "arp_bad_format");
	build_arp(&f, 1);
	set16(&f, 14, 6); /* hardware type IEEE 802 */
	assert_drop(&f, PKT_DROP_ARP_BAD_FORMAT, "arp_bad_format");
	build_arp(&f, 1);
	set16(&f, 16, 0x86dd); /* protocol type not IPv4 */
	assert_drop(&f, PKT_DROP_ARP_BAD_FORMAT, "arp_bad_format");
	build_arp(&f, 1);
	f.len = 14 + 27;
	assert_drop(&f, PKT_DROP_ARP_TRUNC, "arp_trunc");

	/* ARP inside a VLAN. */
	build_arp(&f, 1);
	{
		struct frame g;

		eth(&g, (const uint16_t[]){ 5 }, 1, 0x0806);
		put(&g, f.b + 14, f.len - 14);
		assert_ok(&g, &m);
		assert_int_equal(m.l3, PKT_L3_ARP);
		assert_int_equal(m.l3_off, 18);
		assert_int_equal(m.vlan_tci[0], 5);
	}
}

static void
test_ipv4_options(void **state)
{
	static const uint8_t good[8] = { 1, 7, 3, 4, 0, 0, 0, 0 }; /* NOP, RR(3), EOL */
	static const uint8_t full[8] = { 1, 1, 0x94, 4, 0, 0, 1, 1 }; /* router alert, no EOL */
	static const uint8_t eol_junk[4] = { 0, 0xff, 0xff, 0xff };  /* after EOL: ignored */
	static const uint8_t bad_len[4] = { 7, 9, 0, 0 };           /* runs past */
	static const uint8_t zero_len[4] = { 0x44, 0, 0, 0 };       /* len < 2 */
	static const uint8_t one_len[4] = { 1, 1, 0x44, 1 };        /* len < 2 */
	static const uint8_t no_len[4] = { 1, 1, 1, 0x44 };         /* length byte missing */
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, good, sizeof(good), 0);
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_true(m.flags & PKT_F_IPV4_OPTS);
	assert_int_equal(m.l4_off, 14 + 28);
	assert_int_equal(m.ip_len, 36);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, full, sizeof(full), 0);
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_true(m.flags & PKT_F_IPV4_OPTS);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, eol_junk, sizeof(eol_junk), 0);
	udp(&f, 0);
	assert_ok(&f, &m);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, bad_len, sizeof(bad_len), 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_IPV4_BAD_OPTIONS, "ipv4_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, zero_len, sizeof(zero_len), 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_IPV4_BAD_OPTIONS, "ipv4_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, one_len, sizeof(one_len), 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_IPV4_BAD_OPTIONS, "ipv4_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, no_len, sizeof(no_len), 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_IPV4_BAD_OPTIONS, "ipv4_bad_options");
}

static void
test_ipv4_header_errors(void **state)
{
	struct frame f;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	f.b[14] = 0x43;
	assert_drop(&f, PKT_DROP_IPV4_BAD_IHL, "ipv4_bad_ihl");
	f.b[14] = 0x40;
	assert_drop(&f, PKT_DROP_IPV4_BAD_IHL, "ipv4_bad_ihl");
	f.b[14] = 0x4f; /* 60-byte header in a 28-byte packet */
	assert_drop(&f, PKT_DROP_IPV4_BAD_IHL, "ipv4_bad_ihl");
	f.b[14] = 0x65;
	assert_drop(&f, PKT_DROP_IPV4_BAD_VERSION, "ipv4_bad_version");
	f.b[14] = 0x45;
	set16(&f, 16, 29); /* one more than there is */
	assert_drop(&f, PKT_DROP_IPV4_BAD_TOTLEN, "ipv4_bad_totlen");
	set16(&f, 16, 19); /* less than the header */
	assert_drop(&f, PKT_DROP_IPV4_BAD_TOTLEN, "ipv4_bad_totlen");
	set16(&f, 16, 0);
	assert_drop(&f, PKT_DROP_IPV4_BAD_TOTLEN, "ipv4_bad_totlen");
	set16(&f, 16, 28);
	putn(&f, 0, 8);
	f.b[14] = 0x48; /* 32-byte header: within the frame, past the total length */
	assert_drop(&f, PKT_DROP_IPV4_BAD_TOTLEN, "ipv4_bad_totlen");
	f.len = 14 + 19;
	assert_drop(&f, PKT_DROP_IPV4_TRUNC, "ipv4_trunc");
}

static void
test_ipv4_fragments(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8 + 16, NULL, 0, 0x2000); /* MF, offset 0 */
	udp(&f, 16);
	assert_ok(&f, &m);
	assert_true(m.flags & PKT_F_FRAG);
	assert_false(m.flags & PKT_F_FRAG_LATER);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.dport, 53);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 3, NULL, 0, 0x0003); /* offset 24, last fragment */
	put(&f, "abc", 3);
	assert_ok(&f, &m);
	assert_true(m.flags & PKT_F_FRAG);
	assert_true(m.flags & PKT_F_FRAG_LATER);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(m.l3, PKT_L3_IPV4);
	assert_int_equal(m.l4_proto, 17);
	assert_int_equal(m.sport, 0);
	assert_int_equal(m.dport, 0);
	assert_int_equal(m.payload_off, 34);
	assert_int_equal(m.payload_len, 3);
	assert_memory_equal(m.dst, "\x0a\x00\x00\x64", 4);

	/* A middle fragment whose bytes would be a bad TCP header: not parsed. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 4, NULL, 0, 0x2000 | 100);
	put(&f, "\0\0\0\0", 4);
	assert_ok(&f, &m);
	assert_int_equal(m.flags, PKT_F_FRAG | PKT_F_FRAG_LATER);
	assert_int_equal(m.l4_proto, 6);

	/* DF and the reserved bit do not make a fragment. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0xc000);
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_false(m.flags & (PKT_F_FRAG | PKT_F_FRAG_LATER));
}

static void
test_ipv6_plain(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 6, 20 + 7);
	tcp(&f, PKT_TCP_FIN | PKT_TCP_ACK | PKT_TCP_PSH, NULL, 0, 7);
	putn(&f, 0, 3); /* padding */
	assert_ok(&f, &m);
	assert_int_equal(m.l3, PKT_L3_IPV6);
	assert_int_equal(m.ethertype, 0x86dd);
	assert_int_equal(pkt_ip_family(&m), 6);
	assert_int_equal(m.l3_off, 14);
	assert_int_equal(m.l4_off, 54);
	assert_int_equal(m.ip_len, 40 + 27);
	assert_int_equal(m.l4_proto, 6);
	assert_int_equal(m.flags, PKT_F_L4);
	assert_int_equal(m.tcp_flags, PKT_TCP_FIN | PKT_TCP_ACK | PKT_TCP_PSH);
	assert_int_equal(m.payload_off, 74);
	assert_int_equal(m.payload_len, 7);
	assert_memory_equal(m.src, v6_src, 16);
	assert_memory_equal(m.dst, v6_dst, 16);
}

static void
build_ipv6_chain(struct frame *f)
{
	eth(f, NULL, 0, 0x86dd);
	ipv6(f, 0, 8 + 16 + 24 + 8 + 4);
	put8(f, 60); put8(f, 0); put(f, "\x01\x04\0\0\0\0", 6);         /* hop-by-hop, PadN */
	put8(f, 43); put8(f, 1); putn(f, 0, 14);                          /* dst opts, 16 */
	put8(f, 17); put8(f, 2); put8(f, 0); put8(f, 1); putn(f, 0, 20);  /* routing, 24 */
	udp(f, 4);
}

static void
test_ipv6_chain(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_ipv6_chain(&f);
	assert_ok(&f, &m);
	assert_int_equal(m.l3, PKT_L3_IPV6);
	assert_int_equal(pkt_ip_family(&m), 6);
	assert_int_equal(m.l4_proto, 17);
	assert_int_equal(m.l4_off, 14 + 40 + 8 + 16 + 24);
	assert_int_equal(m.ip_len, 40 + 60);
	assert_int_equal(m.sport, 5353);
	assert_int_equal(m.dport, 53);
	assert_int_equal(m.payload_off, 14 + 40 + 48 + 8);
	assert_int_equal(m.payload_len, 4);
	assert_memory_equal(m.src, v6_src, 16);
	assert_memory_equal(m.dst, v6_dst, 16);
	assert_false(m.flags & PKT_F_FRAG);

	/* Exactly PKT_IPV6_MAX_EXT headers is still fine. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 60, 8 * PKT_IPV6_MAX_EXT + 8);
	for (int i = 0; i < PKT_IPV6_MAX_EXT; i++)
		ext6(&f, i == PKT_IPV6_MAX_EXT - 1 ? 17 : 60, 0);
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_int_equal(m.l4_off, 14 + 40 + 8 * PKT_IPV6_MAX_EXT);
	assert_int_equal(m.dport, 53);

	/* Mobility header, then no next header: L3 only. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 135, 8);
	ext6(&f, 59, 0);
	assert_ok(&f, &m);
	assert_int_equal(m.l4_proto, 59);
	assert_false(m.flags & PKT_F_L4);
}

static void
test_ipv6_ah(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	/* AH length is in 4-byte units, minus 2: 4 means 24 bytes. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 51, 24 + 20);
	put8(&f, 6); put8(&f, 4); put16(&f, 0); put32(&f, 0x100); put32(&f, 1);
	putn(&f, 0xaa, 12); /* ICV */
	tcp(&f, PKT_TCP_RST, NULL, 0, 0);
	assert_ok(&f, &m);
	assert_int_equal(m.l4_proto, 6);
	assert_int_equal(m.l4_off, 14 + 40 + 24);
	assert_int_equal(m.tcp_flags, PKT_TCP_RST);
	/* AH claiming more than is there. */
	f.b[14 + 40 + 1] = 20;
	assert_drop(&f, PKT_DROP_IPV6_EXT_TRUNC, "ipv6_ext_trunc");
}

static void
test_ipv6_errors(void **state)
{
	struct frame f;

	(void)state;
	build_ipv6_chain(&f);
	f.b[14] = 0x40;
	assert_drop(&f, PKT_DROP_IPV6_BAD_VERSION, "ipv6_bad_version");
	build_ipv6_chain(&f);
	set16(&f, 18, 61); /* one more than there is */
	assert_drop(&f, PKT_DROP_IPV6_BAD_PLEN, "ipv6_bad_plen");
	build_ipv6_chain(&f);
	f.len = 14 + 39;
	assert_drop(&f, PKT_DROP_IPV6_TRUNC, "ipv6_trunc");
	/* A destination-options header claiming more than the payload. */
	build_ipv6_chain(&f);
	f.b[14 + 40 + 8 + 1] = 40;
	assert_drop(&f, PKT_DROP_IPV6_EXT_TRUNC, "ipv6_ext_trunc");
	/* An extension header cut short by the payload length, padding after. */
	build_ipv6_chain(&f);
	set16(&f, 18, 8 + 4);
	assert_drop(&f, PKT_DROP_IPV6_EXT_TRUNC, "ipv6_ext_trunc");
	/* Payload ends right where an extension header should start. */
	build_ipv6_chain(&f);
	set16(&f, 18, 8);
	assert_drop(&f, PKT_DROP_IPV6_EXT_TRUNC, "ipv6_ext_trunc");
	/* More extension headers than the bound. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 60, 8 * (PKT_IPV6_MAX_EXT + 1) + 8);
	for (int i = 0; i <= PKT_IPV6_MAX_EXT; i++)
		ext6(&f, i == PKT_IPV6_MAX_EXT ? 17 : 60, 0);
	udp(&f, 0);
	assert_drop(&f, PKT_DROP_IPV6_EXT_TOO_MANY, "ipv6_ext_too_many");
}

static void
test_ipv6_fragments(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, 8 + 8);
	frag6(&f, 17, 0, 1); /* first, M set */
	udp(&f, 0);
	assert_ok(&f, &m);
	assert_true(m.flags & PKT_F_FRAG);
	assert_false(m.flags & PKT_F_FRAG_LATER);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.l4_proto, 17);
	assert_int_equal(m.l4_off, 14 + 48);

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 0, 8 + 8 + 4);
	ext6(&f, 44, 0);
	frag6(&f, 6, 2, 0); /* offset 16, last */
	put(&f, "abcd", 4);
	assert_ok(&f, &m);
	assert_int_equal(m.flags, PKT_F_FRAG | PKT_F_FRAG_LATER);
	assert_int_equal(m.l4_proto, 6);
	assert_int_equal(m.payload_off, 14 + 40 + 16);
	assert_int_equal(m.payload_len, 4);

	/* A fragment header cut short. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, 4);
	put32(&f, 0x11000001);
	assert_drop(&f, PKT_DROP_IPV6_EXT_TRUNC, "ipv6_ext_trunc");
}

static void
test_tcp_errors(void **state)
{
	static const uint8_t bad_opts[4] = { 2, 9, 0, 0 };   /* MSS runs past */
	static const uint8_t zero_opt[4] = { 1, 8, 0, 0 };   /* length 0 */
	static const uint8_t cut_opt[4] = { 1, 1, 1, 3 };    /* length byte missing */
	static const uint8_t eol_opts[4] = { 0, 9, 9, 9 };   /* junk after EOL */
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_tcp4_vlan(&f);
	f.b[18 + 20 + 12] = 0x40; /* data offset 4 */
	assert_drop(&f, PKT_DROP_TCP_BAD_OFFSET, "tcp_bad_offset");
	f.b[18 + 20 + 12] = 0x00;
	assert_drop(&f, PKT_DROP_TCP_BAD_OFFSET, "tcp_bad_offset");
	f.b[18 + 20 + 12] = 0xf0; /* 60 bytes, more than the segment */
	assert_drop(&f, PKT_DROP_TCP_BAD_OFFSET, "tcp_bad_offset");
	f.b[18 + 20 + 12] = 0x90; /* 36 bytes: the options end in EOL, the rest is ignored */
	assert_ok(&f, &m);
	assert_int_equal(m.payload_off, 38 + 36);
	assert_int_equal(m.payload_len, 1);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 24, NULL, 0, 0);
	tcp(&f, PKT_TCP_SYN, bad_opts, sizeof(bad_opts), 0);
	assert_drop(&f, PKT_DROP_TCP_BAD_OPTIONS, "tcp_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 24, NULL, 0, 0);
	tcp(&f, PKT_TCP_SYN, zero_opt, sizeof(zero_opt), 0);
	assert_drop(&f, PKT_DROP_TCP_BAD_OPTIONS, "tcp_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 24, NULL, 0, 0);
	tcp(&f, PKT_TCP_SYN, cut_opt, sizeof(cut_opt), 0);
	assert_drop(&f, PKT_DROP_TCP_BAD_OPTIONS, "tcp_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 24, NULL, 0, 0);
	tcp(&f, PKT_TCP_SYN, eol_opts, sizeof(eol_opts), 0);
	assert_ok(&f, &m);
	assert_int_equal(m.payload_off, 14 + 20 + 24);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 10, NULL, 0, 0);
	put(&f, "0123456789", 10);
	assert_drop(&f, PKT_DROP_TCP_TRUNC, "tcp_trunc");
	/* The data offset fits the frame but not the IP packet. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 20, NULL, 0, 0);
	tcp(&f, PKT_TCP_SYN, NULL, 0, 0);
	putn(&f, 1, 20);
	f.b[14 + 20 + 12] = 0x60;
	assert_drop(&f, PKT_DROP_TCP_BAD_OFFSET, "tcp_bad_offset");
}

static void
test_udp_errors(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8 + 4, NULL, 0, 0);
	udp(&f, 4);
	set16(&f, 14 + 20 + 4, 7);
	assert_drop(&f, PKT_DROP_UDP_BAD_LEN, "udp_bad_len");
	set16(&f, 14 + 20 + 4, 0);
	assert_drop(&f, PKT_DROP_UDP_BAD_LEN, "udp_bad_len");
	set16(&f, 14 + 20 + 4, 13);
	assert_drop(&f, PKT_DROP_UDP_BAD_LEN, "udp_bad_len");
	set16(&f, 14 + 20 + 4, 10); /* shorter than the IP payload is fine */
	assert_ok(&f, &m);
	assert_int_equal(m.payload_off, 42);
	assert_int_equal(m.payload_len, 2);
	set16(&f, 14 + 20 + 4, 8);
	assert_ok(&f, &m);
	assert_int_equal(m.payload_len, 0);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 7, NULL, 0, 0);
	put(&f, "\x14\xe9\0\x35\0\x08\0", 7);
	assert_drop(&f, PKT_DROP_UDP_TRUNC, "udp_trunc");
	/* UDP over IPv6 past the payload length. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 17, 8);
	udp(&f, 4);
	assert_drop(&f, PKT_DROP_UDP_BAD_LEN, "udp_bad_len");
}

/* The L4 header is bounded by the IP length, not by the frame. */
static void
test_l4_bounded_by_ip_length(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	for (uint16_t k = 0; k <= 32 + 5; k++) {
		build_tcp4_vlan(&f);
		set16(&f, 18 + 2, (uint16_t)(20 + k)); /* rest of the frame: padding */
		if (k < 20) {
			assert_drop(&f, PKT_DROP_TCP_TRUNC, "tcp_trunc");
		} else if (k < 32) {
			assert_drop(&f, PKT_DROP_TCP_BAD_OFFSET, "tcp_bad_offset");
		} else {
			assert_ok(&f, &m);
			assert_int_equal(m.payload_len, k - 32);
		}
	}
	for (uint16_t k = 0; k <= 8 + 6; k++) {
		eth(&f, NULL, 0, 0x0800);
		ipv4(&f, 17, k, NULL, 0, 0);
		udp(&f, 6);
		if (k < 8) {
			assert_drop(&f, PKT_DROP_UDP_TRUNC, "udp_trunc");
		} else if (k < 14) {
			assert_drop(&f, PKT_DROP_UDP_BAD_LEN, "udp_bad_len");
		} else {
			assert_ok(&f, &m);
			assert_int_equal(m.payload_len, 6);
		}
	}
}

static void
test_icmp(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, 8, NULL, 0, 0);
	put(&f, "\x08\0\0\0\0\x01\0\x01", 8);
	assert_ok(&f, &m);
	assert_int_equal(m.l4_proto, 1);
	assert_int_equal(m.icmp_type, 8);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.sport, 0);
	assert_int_equal(m.dport, 0);
	assert_int_equal(m.l4_off, 34);
	assert_int_equal(m.payload_off, 38);
	assert_int_equal(m.payload_len, 4);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, 3, NULL, 0, 0);
	put(&f, "\x08\0\0", 3);
	putn(&f, 0, 10); /* the frame has the bytes, the IP packet does not */
	assert_drop(&f, PKT_DROP_ICMP_TRUNC, "icmp_trunc");

	/* ICMPv4's protocol number in IPv6 is not ICMP: L3 only. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 1, 2);
	put(&f, "\x08\0", 2);
	assert_ok(&f, &m);
	assert_int_equal(m.l4_proto, 1);
	assert_false(m.flags & PKT_F_L4);
}

static void
build_nd(struct frame *f, uint8_t type)
{
	uint8_t target[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 1 };

	eth(f, NULL, 0, 0x86dd);
	ipv6(f, 58, 32);
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put32(f, type == PKT_ICMP6_ND_NA ? 0x60000000 : 0);
	put(f, target, 16);
	put(f, "\x01\x01\x02\0\0\0\0\x01", 8);
}

static void
test_icmp6(void **state)
{
	static const uint8_t target[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 1 };
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_nd(&f, PKT_ICMP6_ND_NS);
	assert_ok(&f, &m);
	assert_int_equal(m.l4_proto, 58);
	assert_true(m.flags & PKT_F_ND);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.icmp_type, PKT_ICMP6_ND_NS);
	assert_memory_equal(m.dst, target, 16); /* the target, not the IP dst */
	assert_memory_equal(m.src, v6_src, 16);
	assert_int_equal(m.sport, 0);

	build_nd(&f, PKT_ICMP6_ND_NA);
	assert_ok(&f, &m);
	assert_true(m.flags & PKT_F_ND);
	assert_int_equal(m.icmp_type, PKT_ICMP6_ND_NA);
	assert_memory_equal(m.dst, target, 16);

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, 8);
	put(&f, "\x80\0\0\0\0\x01\0\x01", 8); /* echo request */
	assert_ok(&f, &m);
	assert_false(m.flags & PKT_F_ND);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.icmp_type, 128);
	assert_memory_equal(m.dst, v6_dst, 16);
	assert_int_equal(m.payload_len, 4);

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, 23);
	put8(&f, PKT_ICMP6_ND_NS); /* NS with its target cut */
	putn(&f, 0, 22);
	assert_drop(&f, PKT_DROP_ICMP6_TRUNC, "icmp6_trunc");
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, 3);
	put(&f, "\x80\0\0", 3);
	assert_drop(&f, PKT_DROP_ICMP6_TRUNC, "icmp6_trunc");

	/* ICMPv6's protocol number in IPv4 is not ICMPv6: no ND. */
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 58, 24, NULL, 0, 0);
	put8(&f, PKT_ICMP6_ND_NS);
	putn(&f, 0, 23);
	assert_ok(&f, &m);
	assert_false(m.flags & (PKT_F_ND | PKT_F_L4));
}

static void
test_other_protocols(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 47, 4, NULL, 0, 0); /* GRE: L3 only */
	put(&f, "\0\0\x08\0", 4);
	assert_ok(&f, &m);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(m.l3, PKT_L3_IPV4);
	assert_int_equal(m.l4_proto, 47);
	assert_int_equal(m.payload_off, 34);
	assert_int_equal(m.payload_len, 4);

	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 50, 0); /* ESP with nothing after: still L3 */
	assert_ok(&f, &m);
	assert_int_equal(m.l4_proto, 50);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(m.payload_len, 0);
}

static void
test_non_ip(void **state)
{
	static const uint16_t types[] = { 0x88cc, 0x8847, 0x0842, 0x86de, 0x0000, 0x05dc };
	struct frame f;
	struct pkt_meta m;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		eth(&f, NULL, 0, types[i]);
		put(&f, "\x02\x07\x04", 3);
		assert_drop(&f, PKT_DROP_NON_IP, "non_ip");
		assert_int_equal(pkt_parse(f.b, f.len, &m), PKT_DROP_NON_IP);
		assert_int_equal(m.ethertype, types[i]);
	}
	eth(&f, (const uint16_t[]){ 3 }, 1, 0x88cc);
	assert_drop(&f, PKT_DROP_NON_IP, "non_ip");
}

/* Parsing one frame over the metadata of another leaves nothing behind. */
static void
test_meta_reset(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_tcp4_vlan(&f);
	assert_ok(&f, &m);
	build_arp(&f, 2);
	assert_ok(&f, &m);
	assert_int_equal(m.n_vlan, 0);
	assert_int_equal(m.vlan_tci[0], 0);
	assert_int_equal(m.sport, 0);
	assert_int_equal(m.tcp_seq, 0);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.l4_proto, 0);
}

/* A buffer longer than 16-bit offsets can express: only 64 KiB is looked at. */
static void
test_oversized_buffer(void **state)
{
	const uint32_t big = 70000;
	uint8_t *b = calloc(1, big);
	struct frame f;
	struct pkt_meta m;
	uint16_t plen;

	(void)state;
	assert_non_null(b);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 17, 0);
	udp(&f, 0);
	memcpy(b, f.b, f.len);
	/* The largest IPv6 packet whose offsets still fit. */
	plen = (uint16_t)(UINT16_MAX - 14 - 40);
	b[18] = (uint8_t)(plen >> 8);
	b[19] = (uint8_t)plen;
	b[54 + 4] = (uint8_t)(plen >> 8);
	b[54 + 5] = (uint8_t)plen;
	assert_int_equal(pkt_parse(b, big, &m), PKT_DROP_OK);
	check_meta(&m, UINT16_MAX);
	assert_int_equal(m.ip_len, 40 + plen);
	assert_int_equal(m.payload_off, 62);
	assert_int_equal(m.payload_len, plen - 8);
	/* One more byte would not fit a 16-bit ip_len/offset: refused. */
	plen++;
	b[18] = (uint8_t)(plen >> 8);
	b[19] = (uint8_t)plen;
	assert_int_equal(pkt_parse(b, big, &m), PKT_DROP_IPV6_BAD_PLEN);
	free(b);
}

/* Expected reason for prefixes shorter than @p below. */
struct stage {
	uint32_t below;
	enum pkt_drop_reason reason;
};

/*
 * Every prefix of a valid frame is refused, safely, with exactly the
 * reason that the stages say (the last stage must reach the full length).
 */
static void
truncate_all(const struct frame *full, const struct stage *st, size_t n_st)
{
	struct pkt_meta m;
	size_t s = 0;

	assert_int_equal(pkt_parse(full->b, full->len, &m), PKT_DROP_OK);
	assert_int_equal(st[n_st - 1].below, full->len);
	for (uint32_t len = 0; len < full->len; len++) {
		/* A heap copy of exactly len bytes, so that ASan sees any over-read. */
		uint8_t *copy = malloc(len ? len : 1);
		enum pkt_drop_reason r;

		assert_non_null(copy);
		memcpy(copy, full->b, len);
		r = pkt_parse(copy, len, &m);
		free(copy);
		while (len >= st[s].below)
			s++;
		if (r != st[s].reason)
			fail_msg("prefix of %u of %u bytes: got %s, want %s", len, full->len,
				 pkt_drop_reason_name(r), pkt_drop_reason_name(st[s].reason));
	}
}

static void
test_truncation_everywhere(void **state)
{
	struct frame f;
	uint16_t tags[2] = { 10, 20 };

	(void)state;
	build_tcp4_vlan(&f);
	truncate_all(&f, (const struct stage[]){
		{ 14, PKT_DROP_ETH_TRUNC }, { 18, PKT_DROP_VLAN_TRUNC },
		{ 38, PKT_DROP_IPV4_TRUNC }, { f.len, PKT_DROP_IPV4_BAD_TOTLEN } }, 4);

	eth(&f, tags, 2, 0x0800);
	ipv4(&f, 6, 20 + 8 + 3, (const uint8_t[]){ 1, 1, 1, 0 }, 4, 0);
	tcp(&f, PKT_TCP_ACK, (const uint8_t[]){ 1, 3, 3, 7, 0, 0, 0, 0 }, 8, 3);
	truncate_all(&f, (const struct stage[]){
		{ 14, PKT_DROP_ETH_TRUNC }, { 22, PKT_DROP_VLAN_TRUNC },
		{ 42, PKT_DROP_IPV4_TRUNC }, { 46, PKT_DROP_IPV4_BAD_IHL },
		{ f.len, PKT_DROP_IPV4_BAD_TOTLEN } }, 5);

	build_ipv6_chain(&f);
	truncate_all(&f, (const struct stage[]){
		{ 14, PKT_DROP_ETH_TRUNC }, { 54, PKT_DROP_IPV6_TRUNC },
		{ f.len, PKT_DROP_IPV6_BAD_PLEN } }, 3);

	build_arp(&f, 1);
	truncate_all(&f, (const struct stage[]){
		{ 14, PKT_DROP_ETH_TRUNC }, { f.len, PKT_DROP_ARP_TRUNC } }, 2);

	build_nd(&f, PKT_ICMP6_ND_NS);
	truncate_all(&f, (const struct stage[]){
		{ 14, PKT_DROP_ETH_TRUNC }, { 54, PKT_DROP_IPV6_TRUNC },
		{ f.len, PKT_DROP_IPV6_BAD_PLEN } }, 3);
}

static void
test_reason_names(void **state)
{
	static const char *const want[] = {
		"ok", "eth_trunc", "vlan_trunc", "vlan_too_deep", "arp_trunc",
		"arp_bad_format", "ipv4_trunc", "ipv4_bad_version", "ipv4_bad_ihl",
		"ipv4_bad_totlen", "ipv4_bad_options", "ipv6_trunc", "ipv6_bad_version",
		"ipv6_bad_plen", "ipv6_ext_trunc", "ipv6_ext_too_many", "tcp_trunc",
		"tcp_bad_offset", "tcp_bad_options", "udp_trunc", "udp_bad_len",
		"icmp_trunc", "icmp6_trunc", "non_ip",
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), PKT_DROP_MAX);
	assert_int_equal(PKT_DROP_OK, 0);
	for (int i = 0; i < PKT_DROP_MAX; i++) {
		const char *a = pkt_drop_reason_name((enum pkt_drop_reason)i);

		assert_non_null(a);
		assert_true(strlen(a) > 0);
		assert_string_equal(a, want[i]);
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, pkt_drop_reason_name((enum pkt_drop_reason)j));
	}
	assert_string_equal(pkt_drop_reason_name(PKT_DROP_MAX), "unknown");
	assert_string_equal(pkt_drop_reason_name((enum pkt_drop_reason)1000), "unknown");
	assert_string_equal(pkt_drop_reason_name((enum pkt_drop_reason)-1), "unknown");
}

/* A frame the fast path takes: untagged IPv4, TCP or UDP, no options. */
static void
fast_frame(struct frame *f, uint64_t *seed)
{
	uint8_t proto = rnd(seed) & 1 ? 6 : 17;
	uint16_t payload = (uint16_t)(rnd(seed) % 40);
	uint32_t l3, l4;

	eth(f, NULL, 0, 0x0800);
	l3 = ipv4(f, proto, (uint16_t)((proto == 6 ? 20 : 8) + payload), NULL, 0, 0);
	l4 = f->len;
	(void)l3;
	for (uint32_t i = 0; i < (proto == 6 ? 20u : 8u) + payload; i++)
		put8(f, (uint8_t)rnd(seed));
	if (proto == 6)
		f->b[l4 + 12] = 5 << 4;
	else
		set16(f, l4 + 4, (uint16_t)(8 + payload));
}

/*
 * The fast path against the general parser: frames it takes, then the same
 * with one to three bytes of the headers changed and random lengths; both
 * must give the same reason and, byte for byte, the same metadata.
 */
static void
test_fast_path_matches_general(void **state)
{
	uint64_t seed = 15;
	unsigned int taken = 0;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		struct frame f;
		struct pkt_meta a, b;
		enum pkt_drop_reason ra, rb;
		uint32_t len;

		fast_frame(&f, &seed);
		len = f.len;
		if (i % 4 != 0) {
			int n = 1 + (int)(rnd(&seed) % 3);

			for (int k = 0; k < n; k++)
				f.b[rnd(&seed) % 58] = (uint8_t)rnd(&seed);
		}
		if (i % 8 == 1)
			len = (uint32_t)(rnd(&seed) % (f.len + 1));
		memset(&a, 0xa5, sizeof(a));
		memset(&b, 0x5a, sizeof(b));
		ra = pkt_parse(f.b, len, &a);
		rb = pkt_parse_ref(f.b, len, &b);
		assert_int_equal(ra, rb);
		assert_memory_equal(&a, &b, sizeof(a));
		taken += ra == PKT_DROP_OK && a.l3 == PKT_L3_IPV4 && a.n_vlan == 0;
	}
	assert_true(taken > 50000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4_vlan),
		cmocka_unit_test(test_untagged_and_padding),
		cmocka_unit_test(test_vlan_tags),
		cmocka_unit_test(test_eth_trunc),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_header_errors),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_plain),
		cmocka_unit_test(test_ipv6_chain),
		cmocka_unit_test(test_ipv6_ah),
		cmocka_unit_test(test_ipv6_errors),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_tcp_errors),
		cmocka_unit_test(test_udp_errors),
		cmocka_unit_test(test_l4_bounded_by_ip_length),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_icmp6),
		cmocka_unit_test(test_other_protocols),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_meta_reset),
		cmocka_unit_test(test_oversized_buffer),
		cmocka_unit_test(test_truncation_everywhere),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_fast_path_matches_general),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
