/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: packets made by faults (TCP RST, ICMP unreachable, DNS
 * SERVFAIL) and bit-flip corruption. Frames are built here with their own
 * checksum code, answers are parsed again with pkt_parse() and every field
 * is checked; checksums are verified independently of fault_craft.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ut_cksum.h"

#include "fault.h"

#define CAP 2048
#define UT_FRAME_MAX CAP
#include "ut_frame.h"
#define SENTINEL 0xa5

/* ------------------------------------------------------------------ */
/* Pseudo-header sums (byte helpers and RFC 1071 sums: ut_cksum.h).     */

/* Pseudo-header sum (RFC 768/793/8200) for addresses at @p src. */
static uint32_t
pseudo(int v, const uint8_t *src, uint8_t proto, uint32_t l4_len)
{
	uint32_t acc = sum_be(src, v == 6 ? 32 : 8, 0);

	return acc + proto + (l4_len & 0xffff) + (l4_len >> 16);
}

/* ------------------------------------------------------------------ */
/* Frame builder.                                                       */

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 0xa };   /* sender */
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 0, 0xb };   /* receiver */
static const uint8_t v4_a[4] = { 10, 0, 0, 1 };
static const uint8_t v4_b[4] = { 10, 0, 0, 2 };
static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };


struct fspec {
	int v;                  /* 4 or 6 */
	int n_vlan;
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t tflags;
	uint8_t itype, icode;   /* ICMP / ICMPv6 */
	const uint8_t *data;    /* L4 payload */
	uint32_t data_len;
	uint16_t frag;          /* IPv4: flags+offset; IPv6: fragment header offset|M */
	bool v6_frag;           /* IPv6: add a fragment header */
	bool v6_hbh;            /* IPv6: add a hop-by-hop header */
	bool raw;               /* no L4 header (non-first fragments) */
	uint32_t ip_opts;       /* IPv4 option bytes (NOPs), multiple of 4 */
	uint32_t tcp_opts;      /* TCP option bytes (NOPs), multiple of 4 */
	bool udp_no_cksum;      /* IPv4 UDP sent without a checksum */
	const uint8_t *src, *dst; /* addresses other than a -> b */
	uint32_t pad;           /* Ethernet padding after the IP packet */
};

static void
build_eth(struct frame *f, int n_vlan, uint16_t type)
{
	f->len = 0;
	put(f, mac_b, 6);
	put(f, mac_a, 6);
	if (n_vlan == 2) {
		put16(f, 0x88a8);
		put16(f, 0x0064);
	}
	if (n_vlan >= 1) {
		put16(f, 0x8100);
		put16(f, 0x20c8);
	}
	put16(f, type);
}

static uint32_t
build_ipv4_hdr(struct frame *f, const struct fspec *s)
{
	uint32_t off = f->len;

	put8(f, (uint8_t)(0x40 | (5 + s->ip_opts / 4)));
	put8(f, 0x28);                 /* some DSCP the answer must not copy */
	put16(f, 0);                   /* total length, set later */
	put16(f, 0x1234);
	put16(f, s->frag);
	put8(f, 17);
	put8(f, s->proto);
	put16(f, 0);
	put(f, s->src ? s->src : v4_a, 4);
	put(f, s->dst ? s->dst : v4_b, 4);
	putn(f, 1, s->ip_opts);
	return off;
}

static uint32_t
build_ipv6_hdr(struct frame *f, const struct fspec *s)
{
	uint32_t off = f->len;
	uint8_t nh = s->v6_hbh ? 0 : s->v6_frag ? 44 : s->proto;

	put32(f, 0x6a012345);          /* class and flow the answer must not copy */
	put16(f, 0);
	put8(f, nh);
	put8(f, 33);
	put(f, s->src ? s->src : v6_a, 16);
	put(f, s->dst ? s->dst : v6_b, 16);
	if (s->v6_hbh) {
		put8(f, s->v6_frag ? 44 : s->proto);
		put8(f, 0);
		putn(f, 1, 2);         /* PadN of 4 */
		put16(f, 0x0102);
		put16(f, 0);
	}
	if (s->v6_frag) {
		put8(f, s->proto);
		put8(f, 0);
		put16(f, s->frag);
		put32(f, 0xabcdef01);
	}
	return off;
}

static void
build_l4(struct frame *f, const struct fspec *s)
{
	switch (s->proto) {
	case 6:
		put16(f, s->sport);
		put16(f, s->dport);
		put32(f, s->seq);
		put32(f, s->ack);
		put8(f, (uint8_t)((5 + s->tcp_opts / 4) << 4));
		put8(f, s->tflags);
		put16(f, 1000);
		put16(f, 0);
		put16(f, 0);
		putn(f, 1, s->tcp_opts);
		break;
	case 17:
		put16(f, s->sport);
		put16(f, s->dport);
		put16(f, (uint16_t)(8 + s->data_len));
		put16(f, 0);
		break;
	case 1:
	case 58:
		put8(f, s->itype);
		put8(f, s->icode);
		put16(f, 0);
		break;
	default:
		break;
	}
}

/* The L4 checksum of the segment at @p l4 (its field must be 0). */
static uint16_t
l4_cksum(int v, const uint8_t *addrs, uint8_t proto, const uint8_t *l4,
	 uint32_t l4_len)
{
	uint32_t acc = 0;

	if (!(v == 4 && proto == 1))
		acc = pseudo(v, addrs, proto, l4_len);
	return (uint16_t)~fold(sum_be(l4, l4_len, acc));
}

static uint32_t
cksum_field(uint8_t proto)
{
	return proto == 6 ? 16 : proto == 17 ? 6 : 2;
}

static void
build(struct frame *f, const struct fspec *s, struct pkt_meta *m)
{
	uint32_t ip, l4, addrs;
	uint8_t *l4p;

	build_eth(f, s->n_vlan, s->v == 6 ? 0x86dd : 0x0800);
	ip = s->v == 6 ? build_ipv6_hdr(f, s) : build_ipv4_hdr(f, s);
	addrs = ip + (s->v == 6 ? 8 : 12);
	l4 = f->len;
	if (!s->raw)
		build_l4(f, s);
	if (s->data_len)
		put(f, s->data, s->data_len);
	if (s->v == 6) {
		set16(f->b + ip + 4, (uint16_t)(f->len - ip - 40));
	} else {
		set16(f->b + ip + 2, (uint16_t)(f->len - ip));
		set16(f->b + ip + 10, (uint16_t)~fold(sum_be(f->b + ip,
							     20 + s->ip_opts, 0)));
	}
	l4p = f->b + l4;
	if (!s->raw && (s->proto == 6 || s->proto == 17 || s->proto == 1 ||
			s->proto == 58) && !(s->proto == 17 && s->udp_no_cksum)) {
		uint16_t c = l4_cksum(s->v, f->b + addrs, s->proto, l4p, f->len - l4);

		if (c == 0 && s->proto == 17)
			c = 0xffff;
		set16(l4p + cksum_field(s->proto), c);
	}
	putn(f, 0, s->pad);
	assert_int_equal(pkt_parse(f->b, f->len, m), PKT_DROP_OK);
}

/* Default specs. */
static struct fspec
tcp_spec(int v, int n_vlan, uint8_t flags, uint32_t data_len)
{
	static const uint8_t data[64] = "0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef";
	struct fspec s = {
		.v = v, .n_vlan = n_vlan, .proto = 6, .sport = 40000,
		.dport = 80, .seq = 0x10000000, .ack = 0x20000000,
		.tflags = flags, .data = data, .data_len = data_len,
	};

	return s;
}

static struct fspec
udp_spec(int v, int n_vlan, uint16_t dport, const uint8_t *data,
	 uint32_t data_len)
{
	struct fspec s = {
		.v = v, .n_vlan = n_vlan, .proto = 17, .sport = 33333,
		.dport = dport, .data = data, .data_len = data_len,
	};

	return s;
}

static struct fspec
icmp_spec(int v, uint8_t type, uint8_t code)
{
	static const uint8_t data[12] = { 0, 1, 0, 2, 'p', 'i', 'n', 'g' };
	struct fspec s = {
		.v = v, .proto = v == 6 ? 58 : 1, .itype = type,
		.icode = code, .data = data, .data_len = sizeof(data),
	};

	return s;
}

/* ------------------------------------------------------------------ */
/* Checks on an answer.                                                 */

static void
fill(uint8_t *out)
{
	memset(out, SENTINEL, CAP);
}

static void
untouched_from(const uint8_t *out, size_t from)
{
	for (size_t i = from; i < CAP; i++)
		assert_int_equal(out[i], SENTINEL);
}

static const uint8_t *
addr_of(const uint8_t *frame, const struct pkt_meta *m, bool dst)
{
	uint32_t off = m->l3_off + (m->l3 == PKT_L3_IPV6 ? 8 : 12);

	return frame + off + (dst ? (m->l3 == PKT_L3_IPV6 ? 16 : 4) : 0);
}

static void
check_l4_valid(const uint8_t *frame, const struct pkt_meta *m)
{
	int v = m->l3 == PKT_L3_IPV6 ? 6 : 4;
	const uint8_t *l4 = frame + m->l4_off;
	uint32_t l4_len = m->l3_off + m->ip_len - m->l4_off;
	uint32_t acc = 0;

	if (m->l4_proto == 17)
		l4_len = get16(l4 + 4);
	if (!(v == 4 && m->l4_proto == 1))
		acc = pseudo(v, addr_of(frame, m, false), m->l4_proto, l4_len);
	assert_int_equal(fold(sum_be(l4, l4_len, acc)), 0xffff);
}

/*
 * The fresh IP header of an answer: version, lengths, TTL or hop limit
 * 64, no options, id 0 with DF, addresses from @p in (swapped or not).
 */
static void
check_fresh_ip(const uint8_t *out, size_t n, const struct pkt_meta *om,
	       const uint8_t *in, const struct pkt_meta *im, bool swapped)
{
	const uint8_t *ip = out + om->l3_off;
	uint32_t alen = im->l3 == PKT_L3_IPV6 ? 16 : 4;

	assert_int_equal(om->l3, im->l3);
	assert_int_equal(om->l3_off + om->ip_len, n);
	assert_memory_equal(addr_of(out, om, false), addr_of(in, im, swapped), alen);
	assert_memory_equal(addr_of(out, om, true), addr_of(in, im, !swapped), alen);
	assert_int_equal(om->flags & ~PKT_F_L4, 0);
	if (om->l3 == PKT_L3_IPV6) {
		assert_int_equal(get32(ip), 0x60000000);
		assert_int_equal(ip[7], 64);
		assert_int_equal(om->l4_off, om->l3_off + 40);
	} else {
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], 0);
		assert_int_equal(get16(ip + 4), 0);
		assert_int_equal(get16(ip + 6), 0x4000);
		assert_int_equal(ip[8], 64);
		assert_int_equal(fold(sum_be(ip, 20, 0)), 0xffff);
	}
}

/* Ethernet and tags copied, MACs swapped when @p swapped. */
static void
check_l2(const uint8_t *out, const struct pkt_meta *om, const uint8_t *in,
	 const struct pkt_meta *im, bool swapped)
{
	assert_int_equal(om->l3_off, im->l3_off);
	assert_int_equal(om->n_vlan, im->n_vlan);
	assert_memory_equal(om->vlan_tci, im->vlan_tci, sizeof(om->vlan_tci));
	assert_memory_equal(out, swapped ? in + 6 : in, 6);
	assert_memory_equal(out + 6, swapped ? in : in + 6, 6);
	assert_memory_equal(out + 12, in + 12, im->l3_off - 12);
}

/* ------------------------------------------------------------------ */
/* TCP RST.                                                             */

static size_t
rst(const struct frame *f, const struct pkt_meta *m, bool to_sender,
    uint8_t *out, struct pkt_meta *om)
{
	size_t n;

	fill(out);
	n = fault_craft_tcp_rst(f->b, f->len, m, to_sender, out, CAP);
	assert_true(n > 0);
	untouched_from(out, n);
	assert_int_equal(pkt_parse(out, (uint32_t)n, om), PKT_DROP_OK);
	assert_int_equal(n, om->l3_off + (m->l3 == PKT_L3_IPV6 ? 40u : 20u) + 20u);
	check_l2(out, om, f->b, m, to_sender);
	check_fresh_ip(out, n, om, f->b, m, to_sender);
	assert_int_equal(om->l4_proto, 6);
	assert_true(om->flags & PKT_F_L4);
	assert_int_equal(om->payload_len, 0);
	assert_int_equal(om->sport, to_sender ? m->dport : m->sport);
	assert_int_equal(om->dport, to_sender ? m->sport : m->dport);
	assert_int_equal(om->tcp_win, 0);
	assert_int_equal(get16(out + om->l4_off + 18), 0); /* urgent */
	assert_int_equal(out[om->l4_off + 12], 0x50);
	check_l4_valid(out, om);
	return n;
}

static void
check_rst_numbers(const struct pkt_meta *om, uint8_t flags, uint32_t seq,
		  uint32_t ack)
{
	assert_int_equal(om->tcp_flags, flags);
	assert_int_equal(om->tcp_seq, seq);
	assert_int_equal(om->tcp_ack, ack);
}

static void
test_rst_to_sender_with_ack(void **state)
{
	struct fspec s = tcp_spec(4, 0, PKT_TCP_ACK | PKT_TCP_PSH, 10);
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build(&f, &s, &m);
	rst(&f, &m, true, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST, 0x20000000, 0);
}

static void
test_rst_to_sender_syn(void **state)
{
	struct fspec s = tcp_spec(4, 0, PKT_TCP_SYN, 0);
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	s.tcp_opts = 12;        /* options are not copied */
	s.ip_opts = 4;
	build(&f, &s, &m);
	assert_true(m.flags & PKT_F_IPV4_OPTS);
	rst(&f, &m, true, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST | PKT_TCP_ACK, 0, 0x10000001);
}

static void
test_rst_to_sender_fin_payload_no_ack(void **state)
{
	struct fspec s = tcp_spec(4, 0, PKT_TCP_FIN | PKT_TCP_SYN, 7);
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	s.seq = 0xfffffffe;     /* the acknowledgment wraps */
	s.pad = 30;             /* Ethernet padding is not payload */
	build(&f, &s, &m);
	rst(&f, &m, true, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST | PKT_TCP_ACK, 0,
			  (uint32_t)(0xfffffffeu + 7 + 1 + 1));
}

static void
test_rst_to_receiver(void **state)
{
	struct fspec s = tcp_spec(4, 0, PKT_TCP_ACK, 20);
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build(&f, &s, &m);
	rst(&f, &m, false, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST | PKT_TCP_ACK, 0x10000000, 0x20000000);

	s = tcp_spec(4, 0, PKT_TCP_SYN, 0);
	build(&f, &s, &m);
	rst(&f, &m, false, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST, 0x10000000, 0);
}

static void
test_rst_ipv6(void **state)
{
	struct fspec s = tcp_spec(6, 0, PKT_TCP_ACK | PKT_TCP_FIN, 3);
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build(&f, &s, &m);
	rst(&f, &m, true, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST, 0x20000000, 0);
	rst(&f, &m, false, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST | PKT_TCP_ACK, 0x10000000, 0x20000000);

	s = tcp_spec(6, 0, PKT_TCP_SYN, 0);
	s.v6_hbh = true;        /* extension headers are not copied */
	build(&f, &s, &m);
	rst(&f, &m, true, out, &om);
	check_rst_numbers(&om, PKT_TCP_RST | PKT_TCP_ACK, 0, 0x10000001);
}

static void
test_rst_vlan(void **state)
{
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	for (int v = 4; v <= 6; v += 2) {
		for (int tags = 1; tags <= 2; tags++) {
			struct fspec s = tcp_spec(v, tags, PKT_TCP_ACK, 5);

			build(&f, &s, &m);
			assert_int_equal(m.n_vlan, tags);
			rst(&f, &m, true, out, &om);
			check_rst_numbers(&om, PKT_TCP_RST, 0x20000000, 0);
			rst(&f, &m, false, out, &om);
			check_rst_numbers(&om, PKT_TCP_RST | PKT_TCP_ACK,
					  0x10000000, 0x20000000);
		}
	}
}

static void
test_rst_refused(void **state)
{
	static const uint8_t dns[16];
	struct fspec s = udp_spec(4, 0, 53, dns, sizeof(dns));
	struct pkt_meta m;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, CAP), 0);

	s = icmp_spec(4, 8, 0);
	build(&f, &s, &m);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, CAP), 0);

	/* never answer a reset */
	s = tcp_spec(4, 0, PKT_TCP_RST | PKT_TCP_ACK, 0);
	build(&f, &s, &m);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, CAP), 0);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, false, out, CAP), 0);
	s = tcp_spec(6, 0, PKT_TCP_RST, 0);
	build(&f, &s, &m);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, CAP), 0);

	/* a non-first fragment has no TCP header */
	s = tcp_spec(4, 0, 0, 0);
	s.raw = true;
	s.frag = 0x0010;
	s.data_len = 40;
	build(&f, &s, &m);
	assert_true(m.flags & PKT_F_FRAG_LATER);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, CAP), 0);
}

static void
test_rst_cap(void **state)
{
	struct fspec s = tcp_spec(6, 2, PKT_TCP_ACK, 60);
	struct pkt_meta m;
	struct frame f;
	uint8_t out[CAP];
	size_t need = 14 + 8 + 40 + 20;

	(void)state;
	build(&f, &s, &m);
	fill(out);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, need - 1), 0);
	untouched_from(out, need - 1);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, 0), 0);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, need), need);
	untouched_from(out, need);
}

/* ------------------------------------------------------------------ */
/* ICMP unreachable.                                                    */

static size_t
unreach(const struct frame *f, const struct pkt_meta *m, uint8_t code,
	uint8_t *out, struct pkt_meta *om)
{
	uint32_t hl = m->l3 == PKT_L3_IPV6 ? 40 : (f->b[m->l3_off] & 0xf) * 4u;
	uint32_t quote = hl + (m->ip_len - hl < 64 ? m->ip_len - hl : 64);
	size_t n;

	fill(out);
	n = fault_craft_icmp_unreach(f->b, f->len, m, code, out, CAP);
	assert_true(n > 0);
	untouched_from(out, n);
	assert_int_equal(pkt_parse(out, (uint32_t)n, om), PKT_DROP_OK);
	assert_int_equal(n, om->l3_off + (m->l3 == PKT_L3_IPV6 ? 40u : 20u) + 8 + quote);
	check_l2(out, om, f->b, m, true);
	check_fresh_ip(out, n, om, f->b, m, true);
	assert_int_equal(om->l4_proto, m->l3 == PKT_L3_IPV6 ? 58 : 1);
	assert_int_equal(om->icmp_type, m->l3 == PKT_L3_IPV6 ? 1 : 3);
	assert_int_equal(get32(out + om->l4_off + 4), 0);
	assert_memory_equal(out + om->l4_off + 8, f->b + m->l3_off, quote);
	check_l4_valid(out, om);
	return n;
}

static void
test_icmp4_codes(void **state)
{
	static const uint8_t data[100] = { 1, 2, 3 };
	static const uint8_t codes[] = { 0, 1, 3, 9, 10, 13 };
	struct fspec s = udp_spec(4, 1, 5000, data, sizeof(data));
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build(&f, &s, &m);
	for (size_t i = 0; i < sizeof(codes); i++) {
		size_t n = unreach(&f, &m, codes[i], out, &om);

		assert_int_equal(out[om.l4_off + 1], codes[i]);
		assert_int_equal(n, 18 + 20 + 8 + 20 + 64);
	}
}

static void
test_icmp4_short_quote_and_options(void **state)
{
	static const uint8_t data[4] = { 9, 9, 9, 9 };
	struct fspec s = udp_spec(4, 0, 5000, data, sizeof(data));
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	s.ip_opts = 8;
	s.pad = 20;             /* padding is not quoted */
	build(&f, &s, &m);
	assert_int_equal(unreach(&f, &m, 3, out, &om), 14 + 20 + 8 + 28 + 12);

	/* ICMP queries are answered, a first fragment too */
	s = icmp_spec(4, 8, 0);
	s.frag = 0x2000;
	build(&f, &s, &m);
	assert_true((m.flags & PKT_F_FRAG) && (m.flags & PKT_F_L4));
	unreach(&f, &m, 1, out, &om);
}

static void
test_icmp6_codes(void **state)
{
	static const uint8_t data[200];
	static const uint8_t map[][2] = {
		{ 0, 3 }, { 1, 3 }, { 2, 3 }, { 3, 4 }, { 13, 1 }, { 10, 3 },
	};
	struct fspec s = udp_spec(6, 2, 5000, data, sizeof(data));
	struct pkt_meta m, om;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build(&f, &s, &m);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = unreach(&f, &m, map[i][0], out, &om);

		assert_int_equal(out[om.l4_off + 1], map[i][1]);
		assert_int_equal(n, 22 + 40 + 8 + 40 + 64);
	}

	/* an echo request behind a hop-by-hop header */
	s = icmp_spec(6, 128, 0);
	s.v6_hbh = true;
	build(&f, &s, &m);
	unreach(&f, &m, 3, out, &om);
}

static void
test_icmp_no_answer_to_errors(void **state)
{
	static const uint8_t v4_errors[] = { 3, 4, 5, 11, 12 };
	static const uint8_t v6_errors[] = { 0, 1, 2, 3, 4, 127 };
	struct pkt_meta m, om;
	struct frame f;
	struct fspec s;
	uint8_t out[CAP];

	(void)state;
	for (size_t i = 0; i < sizeof(v4_errors); i++) {
		s = icmp_spec(4, v4_errors[i], 0);
		build(&f, &s, &m);
		assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	}
	for (size_t i = 0; i < sizeof(v6_errors); i++) {
		s = icmp_spec(6, v6_errors[i], 0);
		build(&f, &s, &m);
		assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	}
	/* informational messages are answered */
	s = icmp_spec(4, 0, 0);
	build(&f, &s, &m);
	unreach(&f, &m, 3, out, &om);
	s = icmp_spec(6, 129, 0);
	build(&f, &s, &m);
	unreach(&f, &m, 3, out, &om);
}

static void
test_icmp_no_answer_to_later_fragments(void **state)
{
	static const uint8_t data[64];
	struct fspec s = udp_spec(4, 0, 5000, data, sizeof(data));
	struct pkt_meta m;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	s.raw = true;
	s.frag = 0x2008;
	build(&f, &s, &m);
	assert_true(m.flags & PKT_F_FRAG_LATER);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);

	s.v = 6;
	s.v6_frag = true;
	s.frag = 0x0009;        /* offset 8, more fragments */
	build(&f, &s, &m);
	assert_true(m.flags & PKT_F_FRAG_LATER);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);

	/* an ICMPv6 error's later fragment is not answered either */
	s.proto = 58;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
}

static void
test_icmp_no_answer_to_groups(void **state)
{
	static const uint8_t mc4[4] = { 224, 0, 0, 251 };
	static const uint8_t bc4[4] = { 255, 255, 255, 255 };
	static const uint8_t any4[4];
	static const uint8_t mc6[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t any6[16];
	static const uint8_t data[8];
	struct fspec s = udp_spec(4, 0, 5000, data, sizeof(data));
	struct pkt_meta m;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	s.dst = mc4;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	s.dst = bc4;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	s.dst = NULL;
	s.src = any4;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	s = udp_spec(6, 0, 5000, data, sizeof(data));
	s.dst = mc6;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	s.dst = NULL;
	s.src = any6;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
}

static void
test_icmp_cap(void **state)
{
	static const uint8_t data[100];
	struct fspec s = udp_spec(4, 0, 5000, data, sizeof(data));
	struct pkt_meta m;
	struct frame f;
	uint8_t out[CAP];
	size_t need = 14 + 20 + 8 + 20 + 64;

	(void)state;
	build(&f, &s, &m);
	fill(out);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, need - 1), 0);
	untouched_from(out, need - 1);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, need), need);
}

/* ------------------------------------------------------------------ */
/* DNS SERVFAIL.                                                        */

struct dns {
	uint8_t b[600];
	uint32_t len;
	uint32_t qlen;          /* bytes of the first question */
};

static void
dns_put(struct dns *d, const void *p, uint32_t n)
{
	assert_true(d->len + n <= sizeof(d->b));
	memcpy(d->b + d->len, p, n);
	d->len += n;
}

/* A DNS message: header, then a question for dotted @p name. */
static void
dns_query_make(struct dns *d, uint16_t id, uint8_t f2, uint8_t f3,
	       uint16_t qd, const char *name)
{
	uint8_t h[12] = { 0 }, tail[4] = { 0, 1, 0, 1 };
	const char *p = name;

	d->len = 0;
	set16(h, id);
	h[2] = f2;
	h[3] = f3;
	set16(h + 4, qd);
	dns_put(d, h, sizeof(h));
	while (*p) {
		const char *dot = strchr(p, '.');
		uint8_t l = (uint8_t)(dot ? dot - p : (long)strlen(p));

		dns_put(d, &l, 1);
		dns_put(d, p, l);
		p += l + (dot ? 1 : 0);
	}
	dns_put(d, "", 1);
	dns_put(d, tail, sizeof(tail));
	d->qlen = d->len - 12;
}

static size_t
servfail(const struct frame *f, const struct pkt_meta *m, const struct dns *q,
	 uint8_t *out, struct pkt_meta *om)
{
	const uint8_t *dh;
	size_t n;

	fill(out);
	n = fault_craft_dns_servfail(f->b, f->len, m, out, CAP);
	assert_true(n > 0);
	untouched_from(out, n);
	assert_int_equal(pkt_parse(out, (uint32_t)n, om), PKT_DROP_OK);
	check_l2(out, om, f->b, m, true);
	check_fresh_ip(out, n, om, f->b, m, true);
	assert_int_equal(om->l4_proto, 17);
	assert_int_equal(om->sport, 53);
	assert_int_equal(om->dport, m->sport);
	assert_int_equal(om->payload_len, 12 + q->qlen);
	assert_int_equal(n, om->payload_off + om->payload_len);
	assert_int_not_equal(get16(out + om->l4_off + 6), 0);
	check_l4_valid(out, om);
	dh = out + om->payload_off;
	assert_memory_equal(dh, q->b, 2);
	assert_int_equal(get16(dh + 4), 1);
	assert_int_equal(get16(dh + 6), 0);
	assert_int_equal(get16(dh + 8), 0);
	assert_int_equal(get16(dh + 10), 0);
	assert_memory_equal(dh + 12, q->b + 12, q->qlen);
	return n;
}

static void
test_dns_servfail(void **state)
{
	struct pkt_meta m, om;
	struct frame f;
	struct fspec s;
	struct dns q;
	uint8_t out[CAP];
	static const uint8_t opt[11] = { 0, 0, 41, 0x10, 0 };

	(void)state;
	/* RD set, an EDNS record after the question (not copied) */
	dns_query_make(&q, 0xbeef, 0x01, 0x00, 1, "www.example.com");
	q.b[11] = 1;
	dns_put(&q, opt, sizeof(opt));
	s = udp_spec(4, 0, 53, q.b, q.len);
	build(&f, &s, &m);
	servfail(&f, &m, &q, out, &om);
	assert_int_equal(out[om.payload_off + 2], 0x81);
	assert_int_equal(out[om.payload_off + 3], 0x82);

	/* opcode 2 copied, RD clear; AA, TC, AD, Z cleared, CD kept */
	dns_query_make(&q, 0x0001, 0x16, 0x70, 1, "a.b");
	s = udp_spec(4, 1, 53, q.b, q.len);
	build(&f, &s, &m);
	servfail(&f, &m, &q, out, &om);
	assert_int_equal(out[om.payload_off + 2], 0x90);
	assert_int_equal(out[om.payload_off + 3], 0x92);

	/* IPv6 with two tags; the root name; QDCOUNT 2 answers the first */
	dns_query_make(&q, 0x7777, 0x01, 0x00, 2, "");
	s = udp_spec(6, 2, 53, q.b, q.len);
	build(&f, &s, &m);
	servfail(&f, &m, &q, out, &om);
	assert_int_equal(q.qlen, 5);
}

static void
test_dns_name_limits(void **state)
{
	char name[300];
	struct pkt_meta m, om;
	struct frame f;
	struct fspec s;
	struct dns q;
	uint8_t out[CAP];

	(void)state;
	/* labels of 63, 63, 63, 62: 256 bytes on the wire with the root */
	memset(name, 'x', sizeof(name));
	for (int i = 0; i < 3; i++)
		name[i * 64 + 63] = '.';
	name[254] = '\0';
	dns_query_make(&q, 1, 0, 0, 1, name);
	assert_int_equal(q.qlen, 256 + 4);
	s = udp_spec(4, 0, 53, q.b, q.len);
	build(&f, &s, &m);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, CAP), 0);

	/* one byte shorter: exactly 255 */
	name[253] = '\0';
	dns_query_make(&q, 1, 0, 0, 1, name);
	assert_int_equal(q.qlen, 255 + 4);
	s = udp_spec(4, 0, 53, q.b, q.len);
	build(&f, &s, &m);
	servfail(&f, &m, &q, out, &om);

	/* a 64-byte label */
	memset(name, 'y', 64);
	name[64] = '\0';
	dns_query_make(&q, 1, 0, 0, 1, name);
	s = udp_spec(4, 0, 53, q.b, q.len);
	build(&f, &s, &m);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, CAP), 0);
}

/* Build a query frame from @p q and expect no answer. */
static void
expect_no_servfail(const struct dns *q, uint32_t len, uint16_t dport)
{
	struct fspec s = udp_spec(4, 0, dport, q->b, len);
	struct pkt_meta m;
	struct frame f;
	uint8_t out[CAP];

	build(&f, &s, &m);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, CAP), 0);
}

static void
test_dns_refused(void **state)
{
	static const uint8_t ptr[] = { 0xc0, 0x0c, 0, 1, 0, 1 };
	static const uint8_t ptr_later[] = { 1, 'a', 0xc0, 0x0c, 0, 1, 0, 1 };
	static const uint8_t ext_label[] = { 0x41, 0, 0, 1, 0, 1 };
	struct dns q;

	(void)state;
	dns_query_make(&q, 1, 0x81, 0x80, 1, "example.com"); /* a response */
	expect_no_servfail(&q, q.len, 53);
	dns_query_make(&q, 1, 0x01, 0, 1, "example.com");
	expect_no_servfail(&q, q.len, 5353);                 /* not port 53 */
	expect_no_servfail(&q, q.len - 1, 53);               /* QCLASS cut */
	expect_no_servfail(&q, q.len - 4, 53);               /* no QTYPE */
	expect_no_servfail(&q, 20, 53);                      /* name cut */
	expect_no_servfail(&q, 12, 53);                      /* header only */
	expect_no_servfail(&q, 11, 53);                      /* short header */
	expect_no_servfail(&q, 0, 53);
	dns_query_make(&q, 1, 0x01, 0, 0, "example.com");    /* QDCOUNT 0 */
	expect_no_servfail(&q, q.len, 53);

	dns_query_make(&q, 1, 0x01, 0, 1, "");
	q.len = 12;
	dns_put(&q, ptr, sizeof(ptr));
	expect_no_servfail(&q, q.len, 53);
	q.len = 12;
	dns_put(&q, ptr_later, sizeof(ptr_later));
	expect_no_servfail(&q, q.len, 53);
	q.len = 12;
	dns_put(&q, ext_label, sizeof(ext_label));
	expect_no_servfail(&q, q.len, 53);
}

static void
test_dns_bounded_by_udp_length(void **state)
{
	struct pkt_meta m, om;
	struct frame f;
	struct fspec s;
	struct dns q;
	uint8_t out[CAP];

	(void)state;
	/* the question runs past the UDP length into Ethernet padding */
	dns_query_make(&q, 1, 0x01, 0, 1, "example.com");
	s = udp_spec(4, 0, 53, q.b, q.len);
	build(&f, &s, &m);
	servfail(&f, &m, &q, out, &om);
	set16(f.b + m.l4_off + 4, (uint16_t)(8 + q.len - 2));
	set16(f.b + m.l4_off + 6, 0);
	assert_int_equal(pkt_parse(f.b, f.len, &m), PKT_DROP_OK);
	assert_int_equal(m.payload_len, q.len - 2);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, CAP), 0);

	/* TCP to port 53 is not answered */
	s = tcp_spec(4, 0, PKT_TCP_ACK, 0);
	s.dport = 53;
	s.data = q.b;
	s.data_len = q.len;
	build(&f, &s, &m);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, CAP), 0);
}

static void
test_dns_cap(void **state)
{
	struct pkt_meta m;
	struct frame f;
	struct fspec s;
	struct dns q;
	uint8_t out[CAP];
	size_t need;

	(void)state;
	dns_query_make(&q, 1, 0x01, 0, 1, "example.com");
	s = udp_spec(6, 1, 53, q.b, q.len);
	build(&f, &s, &m);
	need = 18 + 40 + 8 + 12 + q.qlen;
	fill(out);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, need - 1), 0);
	untouched_from(out, need - 1);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, need), need);
}

/* ------------------------------------------------------------------ */
/* Corruption.                                                          */

/* splitmix64 written out again: the sequence a functional test expects. */
static uint64_t
ref_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Apply the documented flip rule to @p f by hand. */
static void
ref_corrupt(struct frame *f, const struct pkt_meta *m, unsigned int bits,
	    uint64_t seed)
{
	uint32_t end = m->l3_off + m->ip_len < f->len ? m->l3_off + m->ip_len : f->len;
	uint64_t n = (uint64_t)(end - m->l4_off) * 8;
	uint64_t s = seed;

	for (unsigned int k = 0; k < bits; k++) {
		uint64_t i = ((ref_next(&s) >> 32) * n) >> 32;

		f->b[m->l4_off + i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
}

static void
test_rng_reference(void **state)
{
	struct fault_rng r;
	uint64_t s = 0;

	(void)state;
	fault_rng_seed(&r, 0);
	assert_true(fault_rng_next(&r) == 0xe220a8397b1dcdafull);
	assert_true(fault_rng_next(&r) == 0x6e789e6aa1b965f4ull);
	assert_true(ref_next(&s) == 0xe220a8397b1dcdafull);
}

static void
test_corrupt_exact_bits(void **state)
{
	static const uint8_t data[50] = "payload payload payload";
	struct fspec s = udp_spec(4, 1, 5000, data, sizeof(data));
	struct frame f, want;
	struct pkt_meta m;
	struct fault_rng r;
	uint64_t seed;

	(void)state;
	s.pad = 9;              /* trailing bytes are never touched */
	build(&f, &s, &m);
	for (seed = 1; seed < 50; seed++) {
		struct frame g = f;

		want = f;
		ref_corrupt(&want, &m, 5, seed);
		fault_rng_seed(&r, seed);
		assert_int_equal(fault_corrupt(g.b, g.len, &m, 5, false, &r), 5);
		assert_memory_equal(g.b, want.b, f.len);
		assert_memory_not_equal(g.b, f.b, f.len);
		/* the bits drawn, no more */
		assert_true(r.s == seed + 5 * 0x9e3779b97f4a7c15ull);
	}

	/* a hand-checked position: seed 0, first draw 0xe220a839..., 8 * 58 bits */
	{
		struct frame g = f;

		fault_rng_seed(&r, 0);
		assert_int_equal(fault_corrupt(g.b, g.len, &m, 1, false, &r), 1);
		/* i = (0xe220a839 * 464) >> 32 = 409: byte 51, mask 0x80 >> 1 */
		assert_int_equal(g.b[m.l4_off + 51], f.b[m.l4_off + 51] ^ 0x40);
		g.b[m.l4_off + 51] = f.b[m.l4_off + 51];
		assert_memory_equal(g.b, f.b, f.len);
	}
}

static void
test_corrupt_flips_counted_when_undone(void **state)
{
	struct fspec s = icmp_spec(4, 8, 0);
	struct frame f, want;
	struct pkt_meta m;
	struct fault_rng r;

	(void)state;
	s.data_len = 0;         /* a 4-byte segment: 32 bits, many repeats */
	build(&f, &s, &m);
	want = f;
	ref_corrupt(&want, &m, 200, 7);
	fault_rng_seed(&r, 7);
	assert_int_equal(fault_corrupt(f.b, f.len, &m, 200, false, &r), 200);
	assert_memory_equal(f.b, want.b, f.len);
}

/* L4 checksum of a frame validates (UDP over its length field). */
static bool
l4_valid(const struct frame *f, const struct pkt_meta *m)
{
	int v = m->l3 == PKT_L3_IPV6 ? 6 : 4;
	const uint8_t *l4 = f->b + m->l4_off;
	uint32_t seg = m->l3_off + m->ip_len - m->l4_off, l4_len = seg;
	uint32_t acc = 0;

	if (m->l4_proto == 17) {
		uint32_t ulen = get16(l4 + 4);

		if (ulen >= 8 && ulen <= seg)
			l4_len = ulen;
		if (v == 4 && get16(l4 + 6) == 0)
			return false; /* "no checksum" does not count here */
	}
	if (!(v == 4 && m->l4_proto == 1))
		acc = pseudo(v, addr_of(f->b, m, false), m->l4_proto, l4_len);
	return fold(sum_be(l4, l4_len, acc)) == 0xffff;
}

/* Many seeds over one frame: flipped as the rule says, checksum as asked. */
static void
corrupt_many(const struct fspec *s, unsigned int bits)
{
	struct frame f, want, g;
	struct pkt_meta m;
	struct fault_rng r;

	build(&f, s, &m);
	for (uint64_t seed = 100; seed < 400; seed++) {
		uint32_t ck = m.l4_off + cksum_field(m.l4_proto);

		want = f;
		ref_corrupt(&want, &m, bits, seed);

		g = f;
		fault_rng_seed(&r, seed);
		assert_int_equal(fault_corrupt(g.b, g.len, &m, bits, false, &r), bits);
		assert_memory_equal(g.b, want.b, f.len);
		/* one flip always shows (two may cancel: +2^k in one word, -2^k in another) */
		if (bits == 1)
			assert_false(l4_valid(&g, &m));

		g = f;
		fault_rng_seed(&r, seed);
		assert_int_equal(fault_corrupt(g.b, g.len, &m, bits, true, &r), bits);
		assert_true(l4_valid(&g, &m));
		/* everything but the checksum field as the rule says */
		memcpy(want.b + ck, g.b + ck, 2);
		assert_memory_equal(g.b, want.b, f.len);
	}
}

static void
test_corrupt_fix_checksum(void **state)
{
	static const uint8_t data[33] = "odd-length payload, 33 bytes....";
	struct fspec s;

	(void)state;
	s = tcp_spec(4, 0, PKT_TCP_ACK, 33);
	corrupt_many(&s, 1);
	corrupt_many(&s, 6);
	s = tcp_spec(6, 2, PKT_TCP_ACK, 33);
	corrupt_many(&s, 3);
	s = udp_spec(4, 0, 5000, data, sizeof(data));
	corrupt_many(&s, 1);
	corrupt_many(&s, 8);
	s.udp_no_cksum = true;  /* computed anyway */
	corrupt_many(&s, 3);
	s = udp_spec(6, 1, 5000, data, sizeof(data));
	corrupt_many(&s, 5);
	s = icmp_spec(4, 8, 0);
	corrupt_many(&s, 3);
	s = icmp_spec(6, 128, 0);
	corrupt_many(&s, 3);
	s.ip_opts = 0;
	s = tcp_spec(4, 1, PKT_TCP_SYN, 0);
	s.ip_opts = 12;
	s.tcp_opts = 8;
	corrupt_many(&s, 2);
	/* behind IPv6 extension headers */
	s = udp_spec(6, 0, 5000, data, sizeof(data));
	s.v6_hbh = true;
	corrupt_many(&s, 4);
	s = tcp_spec(6, 0, PKT_TCP_ACK, 10);
	s.v6_hbh = true;
	corrupt_many(&s, 1);
}

/*
 * A first fragment: its checksum covers the whole datagram, so the fixed
 * one must validate over the corrupted first part plus the rest. (UDP is
 * left out: pkt_parse() refuses a UDP length beyond the fragment.)
 */
static void
corrupt_first_fragment(int v, uint8_t proto)
{
	static const uint8_t data[120] = "fragmented datagram";
	struct fspec s = proto == 6 ? tcp_spec(v, 0, PKT_TCP_ACK, 64) :
			 icmp_spec(v, v == 6 ? 128 : 8, 0);
	struct frame whole, frag;
	struct pkt_meta m, fm;
	uint32_t cut = 48;

	if (proto != 6) {
		s.data = data;
		s.data_len = sizeof(data);
	}
	build(&whole, &s, &m);
	assert_true(l4_valid(&whole, &m));

	/* the first 48 bytes of L4 in a first fragment */
	s.frag = v == 6 ? 0x0001 : 0x2000;
	s.v6_frag = v == 6;
	s.raw = true;
	s.data = whole.b + m.l4_off;
	s.data_len = cut;
	build(&frag, &s, &fm);
	assert_true((fm.flags & PKT_F_FRAG) && (fm.flags & PKT_F_L4));

	for (uint64_t seed = 1; seed < 200; seed++) {
		struct frame g = frag, re = whole;
		struct fault_rng r;

		fault_rng_seed(&r, seed);
		assert_int_equal(fault_corrupt(g.b, g.len, &fm, 3, true, &r), 3);
		memcpy(re.b + m.l4_off, g.b + fm.l4_off, cut);
		assert_true(l4_valid(&re, &m));
	}
}

static void
test_corrupt_first_fragment(void **state)
{
	(void)state;
	corrupt_first_fragment(4, 6);
	corrupt_first_fragment(4, 1);
	corrupt_first_fragment(6, 6);
	corrupt_first_fragment(6, 58);
}

static void
test_corrupt_udp_fragment_without_checksum(void **state)
{
	static const uint8_t data[64];
	struct fspec s = udp_spec(4, 0, 5000, data, sizeof(data));
	struct pkt_meta m;
	struct fault_rng r;
	struct frame f;

	(void)state;
	s.udp_no_cksum = true;
	s.frag = 0x2000;
	build(&f, &s, &m);
	for (uint64_t seed = 1; seed < 100; seed++) {
		struct frame g = f;

		fault_rng_seed(&r, seed);
		fault_corrupt(g.b, g.len, &m, 2, true, &r);
		assert_int_equal(get16(g.b + m.l4_off + 6), 0);
	}
}

static void
test_corrupt_nothing(void **state)
{
	static const uint8_t data[40];
	struct fspec s = udp_spec(4, 0, 5000, data, sizeof(data));
	struct frame f, g;
	struct pkt_meta m;
	struct fault_rng r;

	(void)state;
	/* zero bits: nothing drawn or changed */
	build(&f, &s, &m);
	g = f;
	fault_rng_seed(&r, 5);
	assert_int_equal(fault_corrupt(g.b, g.len, &m, 0, true, &r), 0);
	assert_true(r.s == 5);
	assert_memory_equal(g.b, f.b, f.len);

	/* no L4: a later fragment, another protocol */
	s.raw = true;
	s.frag = 0x0008;
	build(&f, &s, &m);
	g = f;
	assert_int_equal(fault_corrupt(g.b, g.len, &m, 9, true, &r), 0);
	assert_memory_equal(g.b, f.b, f.len);
	s.frag = 0;
	s.proto = 47;
	build(&f, &s, &m);
	assert_false(m.flags & PKT_F_L4);
	assert_int_equal(fault_corrupt(g.b, g.len, &m, 9, true, &r), 0);
	assert_true(r.s == 5);
}

static void
test_arp_refused(void **state)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, [14] = 10, 0, 0, 1,
					 [24] = 10, 0, 0, 2 };
	struct pkt_meta m;
	struct fault_rng r;
	struct frame f;
	uint8_t out[CAP];

	(void)state;
	build_eth(&f, 0, 0x0806);
	put(&f, arp, sizeof(arp));
	assert_int_equal(pkt_parse(f.b, f.len, &m), PKT_DROP_OK);
	fault_rng_seed(&r, 1);
	assert_int_equal(fault_craft_tcp_rst(f.b, f.len, &m, true, out, CAP), 0);
	assert_int_equal(fault_craft_icmp_unreach(f.b, f.len, &m, 3, out, CAP), 0);
	assert_int_equal(fault_craft_dns_servfail(f.b, f.len, &m, out, CAP), 0);
	assert_int_equal(fault_corrupt(f.b, f.len, &m, 3, true, &r), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_to_sender_with_ack),
		cmocka_unit_test(test_rst_to_sender_syn),
		cmocka_unit_test(test_rst_to_sender_fin_payload_no_ack),
		cmocka_unit_test(test_rst_to_receiver),
		cmocka_unit_test(test_rst_ipv6),
		cmocka_unit_test(test_rst_vlan),
		cmocka_unit_test(test_rst_refused),
		cmocka_unit_test(test_rst_cap),
		cmocka_unit_test(test_icmp4_codes),
		cmocka_unit_test(test_icmp4_short_quote_and_options),
		cmocka_unit_test(test_icmp6_codes),
		cmocka_unit_test(test_icmp_no_answer_to_errors),
		cmocka_unit_test(test_icmp_no_answer_to_later_fragments),
		cmocka_unit_test(test_icmp_no_answer_to_groups),
		cmocka_unit_test(test_icmp_cap),
		cmocka_unit_test(test_dns_servfail),
		cmocka_unit_test(test_dns_name_limits),
		cmocka_unit_test(test_dns_refused),
		cmocka_unit_test(test_dns_bounded_by_udp_length),
		cmocka_unit_test(test_dns_cap),
		cmocka_unit_test(test_rng_reference),
		cmocka_unit_test(test_corrupt_exact_bits),
		cmocka_unit_test(test_corrupt_flips_counted_when_undone),
		cmocka_unit_test(test_corrupt_fix_checksum),
		cmocka_unit_test(test_corrupt_first_fragment),
		cmocka_unit_test(test_corrupt_udp_fragment_without_checksum),
		cmocka_unit_test(test_corrupt_nothing),
		cmocka_unit_test(test_arp_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
