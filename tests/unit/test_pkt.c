/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: the packet parser over every header case and truncation point. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pkt.h"

/* A frame under construction. */
struct frame {
	uint8_t b[512];
	uint32_t len;
};

static void
put(struct frame *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void
put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static void
put16(struct frame *f, uint16_t v)
{
	uint16_t be = htons(v);

	put(f, &be, 2);
}

static void
put32(struct frame *f, uint32_t v)
{
	uint32_t be = htonl(v);

	put(f, &be, 4);
}

static void
set16(struct frame *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void
eth(struct frame *f, const uint16_t *tags, int n_tags, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	f->len = 0;
	put(f, macs, sizeof(macs));
	for (int i = 0; i < n_tags; i++) {
		put16(f, i == 0 && n_tags == 2 ? 0x88a8 : 0x8100);
		put16(f, tags[i]);
	}
	put16(f, type);
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

static uint32_t
ipv6(struct frame *f, uint8_t next, uint16_t plen)
{
	uint32_t off = f->len;
	uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x64 };

	put32(f, 0x60000000);
	put16(f, plen);
	put8(f, next);
	put8(f, 64);
	put(f, src, 16);
	put(f, dst, 16);
	return off;
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
	for (uint16_t i = 0; i < data; i++)
		put8(f, 'x');
}

static void
udp(struct frame *f, uint16_t data)
{
	put16(f, 5353);
	put16(f, 53);
	put16(f, (uint16_t)(8 + data));
	put16(f, 0);
	for (uint16_t i = 0; i < data; i++)
		put8(f, 'q');
}

static enum pkt_drop_reason
parse(const struct frame *f, struct pkt_meta *m)
{
	return pkt_parse(f->b, f->len, m);
}

static const uint8_t tcp_opts[12] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 1, 1, 0 };

static void
build_tcp4_vlan(struct frame *f)
{
	uint16_t tag = 0x2064;

	eth(f, &tag, 1, 0x0800);
	ipv4(f, 6, 20 + sizeof(tcp_opts) + 5, NULL, 0, 0);
	tcp(f, PKT_TCP_SYN | PKT_TCP_ACK, tcp_opts, sizeof(tcp_opts), 5);
}

static void
test_tcp4_vlan(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_tcp4_vlan(&f);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.n_vlan, 1);
	assert_int_equal(m.vlan_tci[0], 0x2064);
	assert_int_equal(m.ethertype, 0x0800);
	assert_int_equal(m.l3, PKT_L3_IPV4);
	assert_int_equal(m.l3_off, 18);
	assert_int_equal(m.l4_off, 38);
	assert_int_equal(m.l4_proto, 6);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.sport, 40000);
	assert_int_equal(m.dport, 80);
	assert_int_equal(m.tcp_seq, 1000);
	assert_int_equal(m.tcp_ack, 2000);
	assert_int_equal(m.tcp_win, 8192);
	assert_int_equal(m.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(m.payload_off, 38 + 32);
	assert_int_equal(m.payload_len, 5);
	assert_memory_equal(m.src, "\x0a\x00\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_memory_equal(m.dst, "\x0a\x00\x00\x64", 4);
	assert_int_equal(pkt_ip_family(&m), 4);
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
	memset(f.b + f.len, 0xee, 16); /* Ethernet padding past the IP length */
	f.len += 16;
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.n_vlan, 0);
	assert_int_equal(m.ip_len, 30);
	assert_int_equal(m.sport, 5353);
	assert_int_equal(m.payload_len, 2); /* padding is not payload */
}

static void
test_qinq_and_too_deep(void **state)
{
	uint16_t tags[3] = { 100, 7, 9 };
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, tags, 2, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.n_vlan, 2);
	assert_int_equal(m.vlan_tci[0], 100);
	assert_int_equal(m.vlan_tci[1], 7);
	assert_int_equal(m.l3_off, 22);

	f.len = 12; /* three stacked 802.1Q tags */
	for (int i = 0; i < 3; i++) {
		put16(&f, 0x8100);
		put16(&f, tags[i]);
	}
	put16(&f, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_VLAN_TOO_DEEP);
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
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.l3, PKT_L3_ARP);
	assert_int_equal(m.arp_op, PKT_ARP_OP_REQUEST);
	assert_memory_equal(m.src, "\x0a\x00\x00\x01", 4);
	assert_memory_equal(m.dst, "\x0a\x00\x00\x64", 4);
	build_arp(&f, 2);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.arp_op, PKT_ARP_OP_REPLY);
	f.b[14 + 4] = 8; /* hardware address length 8 */
	assert_int_equal(parse(&f, &m), PKT_DROP_ARP_BAD_FORMAT);
}

static void
test_ipv4_options(void **state)
{
	static const uint8_t good[8] = { 1, 7, 3, 4, 0, 0, 0, 0 }; /* NOP, RR(3), EOL */
	static const uint8_t bad_len[4] = { 7, 9, 0, 0 };          /* runs past */
	static const uint8_t zero_len[4] = { 0x44, 0, 0, 0 };      /* len < 2 */
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, good, sizeof(good), 0);
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_true(m.flags & PKT_F_IPV4_OPTS);
	assert_int_equal(m.l4_off, 14 + 28);
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, bad_len, sizeof(bad_len), 0);
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_OPTIONS);
	assert_string_equal(pkt_drop_reason_name(PKT_DROP_IPV4_BAD_OPTIONS), "ipv4_bad_options");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, zero_len, sizeof(zero_len), 0);
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_OPTIONS);
}

static void
test_ipv4_header_errors(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 8, NULL, 0, 0);
	udp(&f, 0);
	f.b[14] = 0x43;
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_IHL);
	assert_string_equal(pkt_drop_reason_name(PKT_DROP_IPV4_BAD_IHL), "ipv4_bad_ihl");
	f.b[14] = 0x4f; /* 60-byte header in a 28-byte packet */
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_IHL);
	f.b[14] = 0x65;
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_VERSION);
	f.b[14] = 0x45;
	set16(&f, 16, 400);
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_TOTLEN);
	set16(&f, 16, 19);
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV4_BAD_TOTLEN);
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
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_true(m.flags & PKT_F_FRAG);
	assert_false(m.flags & PKT_F_FRAG_LATER);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.dport, 53);

	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 17, 3, NULL, 0, 0x0003); /* offset 24, last fragment */
	put(&f, "abc", 3);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_true(m.flags & PKT_F_FRAG_LATER);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(m.l4_proto, 17);
	assert_int_equal(m.sport, 0);
	assert_int_equal(m.payload_len, 3);
}

static void
build_ipv6_chain(struct frame *f)
{
	eth(f, NULL, 0, 0x86dd);
	ipv6(f, 0, 8 + 16 + 24 + 8 + 4);
	put8(f, 60); put8(f, 0); put(f, "\x01\x04\0\0\0\0", 6);         /* hop-by-hop */
	put8(f, 43); put8(f, 1); put(f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 14); /* dst opts, 16 */
	put8(f, 17); put8(f, 2); put8(f, 0); put8(f, 1);                  /* routing, 24 */
	put(f, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	udp(f, 4);
}

static void
test_ipv6_chain(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_ipv6_chain(&f);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.l3, PKT_L3_IPV6);
	assert_int_equal(pkt_ip_family(&m), 6);
	assert_int_equal(m.l4_proto, 17);
	assert_int_equal(m.l4_off, 14 + 40 + 8 + 16 + 24);
	assert_int_equal(m.dport, 53);
	assert_int_equal(m.payload_len, 4);
	assert_int_equal(m.src[15], 1);
	assert_int_equal(m.dst[15], 0x64);
}

static void
test_ipv6_errors(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_ipv6_chain(&f);
	f.b[14] = 0x40;
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV6_BAD_VERSION);
	build_ipv6_chain(&f);
	set16(&f, 18, 500);
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV6_BAD_PLEN);
	/* A destination-options header claiming more than the payload. */
	build_ipv6_chain(&f);
	f.b[14 + 40 + 8 + 1] = 40;
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV6_EXT_TRUNC);
	/* More extension headers than the bound. */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 60, 8 * (PKT_IPV6_MAX_EXT + 1) + 8);
	for (int i = 0; i <= PKT_IPV6_MAX_EXT; i++) {
		put8(&f, i == PKT_IPV6_MAX_EXT ? 17 : 60);
		put(&f, "\0\0\0\0\0\0\0", 7);
	}
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_IPV6_EXT_TOO_MANY);
}

static void
test_ipv6_fragments(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, 8 + 8);
	put8(&f, 17); put8(&f, 0); put16(&f, 0x0001); put32(&f, 7); /* first, M set */
	udp(&f, 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_true(m.flags & PKT_F_FRAG);
	assert_true(m.flags & PKT_F_L4);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 44, 8 + 4);
	put8(&f, 17); put8(&f, 0); put16(&f, 0x0010); put32(&f, 7); /* offset 2 */
	put(&f, "abcd", 4);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_true(m.flags & PKT_F_FRAG_LATER);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(m.l4_proto, 17);
}

static void
test_tcp_errors(void **state)
{
	static const uint8_t bad_opts[4] = { 2, 9, 0, 0 };
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_tcp4_vlan(&f);
	f.b[18 + 20 + 12] = 0x40; /* data offset 4 */
	assert_int_equal(parse(&f, &m), PKT_DROP_TCP_BAD_OFFSET);
	f.b[18 + 20 + 12] = 0xf0; /* 60 bytes, more than the segment */
	assert_int_equal(parse(&f, &m), PKT_DROP_TCP_BAD_OFFSET);
	assert_string_equal(pkt_drop_reason_name(PKT_DROP_TCP_BAD_OFFSET), "tcp_bad_offset");
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 24, NULL, 0, 0);
	tcp(&f, PKT_TCP_SYN, bad_opts, sizeof(bad_opts), 0);
	assert_int_equal(parse(&f, &m), PKT_DROP_TCP_BAD_OPTIONS);
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 6, 10, NULL, 0, 0);
	put(&f, "0123456789", 10);
	assert_int_equal(parse(&f, &m), PKT_DROP_TCP_TRUNC);
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
	assert_int_equal(parse(&f, &m), PKT_DROP_UDP_BAD_LEN);
	set16(&f, 14 + 20 + 4, 13);
	assert_int_equal(parse(&f, &m), PKT_DROP_UDP_BAD_LEN);
	set16(&f, 14 + 20 + 4, 10); /* shorter than the IP payload is fine */
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.payload_len, 2);
}

static void
test_icmp_and_other_protocols(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, 8, NULL, 0, 0);
	put(&f, "\x08\0\0\0\0\x01\0\x01", 8);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_int_equal(m.icmp_type, 8);
	assert_true(m.flags & PKT_F_L4);
	assert_int_equal(m.sport, 0);
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 1, 2, NULL, 0, 0);
	put(&f, "\x08\0", 2);
	assert_int_equal(parse(&f, &m), PKT_DROP_ICMP_TRUNC);
	eth(&f, NULL, 0, 0x0800);
	ipv4(&f, 47, 4, NULL, 0, 0); /* GRE: L3 only */
	put(&f, "\0\0\x08\0", 4);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(m.l4_proto, 47);
	eth(&f, NULL, 0, 0x88cc);
	put(&f, "\x02\x07\x04", 3);
	assert_int_equal(parse(&f, &m), PKT_DROP_NON_IP);
}

static void
build_ns(struct frame *f)
{
	uint8_t target[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 1 };

	eth(f, NULL, 0, 0x86dd);
	ipv6(f, 58, 32);
	put8(f, PKT_ICMP6_ND_NS);
	put8(f, 0);
	put16(f, 0);
	put32(f, 0);
	put(f, target, 16);
	put(f, "\x01\x01\x02\0\0\0\0\x01", 8);
}

static void
test_icmp6_nd(void **state)
{
	struct frame f;
	struct pkt_meta m;

	(void)state;
	build_ns(&f);
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_true(m.flags & PKT_F_ND);
	assert_int_equal(m.icmp_type, PKT_ICMP6_ND_NS);
	assert_memory_equal(m.dst, "\x20\x01\x0d\xb8\x00\x09", 6); /* the target */
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, 8);
	put(&f, "\x80\0\0\0\0\x01\0\x01", 8); /* echo request */
	assert_int_equal(parse(&f, &m), PKT_DROP_OK);
	assert_false(m.flags & PKT_F_ND);
	assert_int_equal(m.icmp_type, 128);
	eth(&f, NULL, 0, 0x86dd);
	ipv6(&f, 58, 12);
	put(&f, "\x87\0\0\0\0\0\0\0\0\0\0\0", 12); /* NS without a full target */
	assert_int_equal(parse(&f, &m), PKT_DROP_ICMP6_TRUNC);
}

/* Every prefix of a valid frame is refused, by a named reason, safely. */
static void
truncate_all(const struct frame *full)
{
	struct pkt_meta m;

	assert_int_equal(pkt_parse(full->b, full->len, &m), PKT_DROP_OK);
	for (uint32_t len = 0; len < full->len; len++) {
		enum pkt_drop_reason r = pkt_parse(full->b, len, &m);

		if (r == PKT_DROP_OK)
			fail_msg("prefix of %u of %u bytes parsed as valid", len, full->len);
		assert_true(r < PKT_DROP_MAX);
	}
}

static void
test_truncation_everywhere(void **state)
{
	struct frame f;

	(void)state;
	build_tcp4_vlan(&f);
	truncate_all(&f);
	build_ipv6_chain(&f);
	truncate_all(&f);
	build_arp(&f, 1);
	truncate_all(&f);
	build_ns(&f);
	truncate_all(&f);
}

static void
test_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < PKT_DROP_MAX; i++) {
		const char *a = pkt_drop_reason_name((enum pkt_drop_reason)i);

		assert_non_null(a);
		assert_true(strlen(a) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, pkt_drop_reason_name((enum pkt_drop_reason)j));
	}
	assert_string_equal(pkt_drop_reason_name(PKT_DROP_MAX), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4_vlan),
		cmocka_unit_test(test_untagged_and_padding),
		cmocka_unit_test(test_qinq_and_too_deep),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_header_errors),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_chain),
		cmocka_unit_test(test_ipv6_errors),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_tcp_errors),
		cmocka_unit_test(test_udp_errors),
		cmocka_unit_test(test_icmp_and_other_protocols),
		cmocka_unit_test(test_icmp6_nd),
		cmocka_unit_test(test_truncation_everywhere),
		cmocka_unit_test(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
