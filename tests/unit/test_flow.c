/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: canonical flow keys, the flow table (rte_hash), TCP
 * accounting, aging, and a table of 1M flows. pkt_meta structs are built
 * by hand, as the parser would fill them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ut_eal.h"
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "flow.h"

#define HZ 1000000000ull /* a 1 GHz "TSC": 1 cycle = 1 ns */

static struct pkt_meta
pkt4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt_meta m = { .l3 = PKT_L3_IPV4, .l4_proto = proto, .flags = PKT_F_L4,
			      .sport = sport, .dport = dport };
	uint32_t s = htonl(src), d = htonl(dst);

	memcpy(m.src, &s, 4);
	memcpy(m.dst, &d, 4);
	return m;
}

static struct pkt_meta
pkt6(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt_meta m = { .l3 = PKT_L3_IPV6, .l4_proto = proto, .flags = PKT_F_L4,
			      .sport = sport, .dport = dport };

	assert_int_equal(inet_pton(AF_INET6, src, m.src), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, m.dst), 1);
	return m;
}

static struct pkt_meta
reply(const struct pkt_meta *m)
{
	struct pkt_meta r = *m;

	memcpy(r.src, m->dst, 16);
	memcpy(r.dst, m->src, 16);
	r.sport = m->dport;
	r.dport = m->sport;
	return r;
}

static struct pkt_meta
seg(const struct pkt_meta *base, uint8_t flags, uint32_t seq, uint16_t len)
{
	struct pkt_meta m = *base;

	m.tcp_flags = flags;
	m.tcp_seq = seq;
	m.payload_len = len;
	return m;
}

static struct flow_table *
table(uint32_t size)
{
	static int n;
	char name[32];
	struct flow_table *ft;

	snprintf(name, sizeof(name), "ut_flow_%d", n++);
	ft = flow_table_create(name, size, 0);
	if (ft == NULL)
		fail_msg("flow_table_create(%u): %s", size, rte_strerror(rte_errno));
	return ft;
}

static int32_t
lookup(struct flow_table *ft, const struct flow_key *k)
{
	int32_t pos;

	flow_table_lookup_bulk(ft, &k, 1, &pos);
	return pos;
}

/* Add the flow of @p m as the data path would: key, side, add. */
static int32_t
add_meta(struct flow_table *ft, const struct pkt_meta *m, uint64_t now)
{
	struct flow_key k;
	int side = flow_key_from_meta(m, &k);

	return flow_table_add(ft, &k, side, now);
}

static int32_t
add_flow(struct flow_table *ft, uint32_t src, uint8_t proto, uint64_t now)
{
	struct pkt_meta m = pkt4(src, 0x0b000001, proto, 1, 2);

	return add_meta(ft, &m, now);
}

static int
group_setup(void **state)
{
	(void)state;
	/* 1 GiB of heap: the 1M-flow table takes about 280 MiB. */
	return ut_eal_init("flow", "1024");
}

static int
group_teardown(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

/* ------------------------------------------------------------------ keys */

static void
test_key_ipv4(void **state)
{
	struct pkt_meta a = pkt4(0x0a000001, 0x0a000064, 6, 40000, 80), b = reply(&a);
	struct flow_key ka, kb;
	uint32_t lo = htonl(0x0a000001), hi = htonl(0x0a000064);
	static const uint8_t zero[16];

	(void)state;
	memset(&ka, 0xff, sizeof(ka)); /* every byte must be written */
	memset(&kb, 0x55, sizeof(kb));
	assert_int_equal(flow_key_from_meta(&a, &ka), 0);
	assert_int_equal(flow_key_from_meta(&b, &kb), 1);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_memory_equal(ka.addr_a, &lo, 4);
	assert_memory_equal(ka.addr_a + 4, zero, 12);
	assert_memory_equal(ka.addr_b, &hi, 4);
	assert_memory_equal(ka.addr_b + 4, zero, 12);
	assert_int_equal(ka.port_a, 40000);
	assert_int_equal(ka.port_b, 80);
	assert_int_equal(ka.proto, 6);
	assert_int_equal(ka.family, 4);
	assert_memory_equal(ka.pad, zero, sizeof(ka.pad));
}

/* "Lower" is network byte order (memcmp), whatever the CPU's. */
static void
test_key_order_is_network_order(void **state)
{
	static const uint32_t pairs[][2] = {
		{ 0x0a000001, 0x0b000000 }, /* 10.0.0.1 < 11.0.0.0 */
		{ 0x01000002, 0x02000001 }, /* 1.0.0.2 < 2.0.0.1 */
		{ 0x0a0000ff, 0x0a000100 }, /* 10.0.0.255 < 10.0.1.0 */
		{ 0x7fffffff, 0x80000000 },
	};
	struct flow_key k;

	(void)state;
	for (size_t i = 0; i < RTE_DIM(pairs); i++) {
		struct pkt_meta m = pkt4(pairs[i][0], pairs[i][1], 17, 9999, 1);
		struct pkt_meta r = reply(&m);
		uint32_t lo = htonl(pairs[i][0]);

		assert_int_equal(flow_key_from_meta(&m, &k), 0);
		assert_memory_equal(k.addr_a, &lo, 4);
		assert_int_equal(k.port_a, 9999);
		assert_int_equal(flow_key_from_meta(&r, &k), 1);
		assert_memory_equal(k.addr_a, &lo, 4);
	}
}

static void
test_key_ipv6(void **state)
{
	/* Differ in the first 8 bytes, then only in the last 8. */
	struct pkt_meta c = pkt6("2001:db8::1", "2001:db9::", 17, 53, 5353);
	struct pkt_meta d = pkt6("2001:db8::1:0:0:2", "2001:db8::1", 6, 443, 50000);
	struct pkt_meta cr = reply(&c), dr = reply(&d);
	struct flow_key k1, k2;
	uint8_t lo[16];

	(void)state;
	assert_int_equal(flow_key_from_meta(&c, &k1), 0);
	assert_int_equal(flow_key_from_meta(&cr, &k2), 1);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	assert_memory_equal(k1.addr_a, c.src, 16);
	assert_int_equal(k1.family, 6);
	assert_int_equal(k1.proto, 17);
	/* ::1:0:0:2 > ::1 in the last eight bytes: d's source is side b */
	assert_int_equal(flow_key_from_meta(&d, &k1), 1);
	assert_int_equal(flow_key_from_meta(&dr, &k2), 0);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	inet_pton(AF_INET6, "2001:db8::1", lo);
	assert_memory_equal(k1.addr_a, lo, 16);
	assert_int_equal(k1.port_a, 50000);
	assert_int_equal(k1.port_b, 443);
}

static void
test_key_ports(void **state)
{
	struct pkt_meta a = pkt4(0x0a000001, 0x0a000001, 17, 9, 7), b = reply(&a);
	struct flow_key ka, kb;

	(void)state;
	/* Same addresses: the ports decide the side. */
	assert_int_equal(flow_key_from_meta(&a, &ka), 1);
	assert_int_equal(flow_key_from_meta(&b, &kb), 0);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_int_equal(ka.port_a, 7);
	/* Same address and port both ways: one side, one key. */
	a.dport = 9;
	assert_int_equal(flow_key_from_meta(&a, &ka), 0);
	/* No L4 header (non-first fragment): ports are 0, proto stays. */
	a = pkt4(0x0a000001, 0x0a000002, 17, 1234, 53);
	a.flags = PKT_F_FRAG | PKT_F_FRAG_LATER;
	flow_key_from_meta(&a, &ka);
	assert_int_equal(ka.port_a, 0);
	assert_int_equal(ka.port_b, 0);
	assert_int_equal(ka.proto, 17);
	/* ICMP: whatever is in the port fields is ignored. */
	a = pkt4(0x0a000001, 0x0a000002, 1, 1234, 53);
	flow_key_from_meta(&a, &ka);
	assert_int_equal(ka.port_a, 0);
	assert_int_equal(ka.port_b, 0);
	b = reply(&a);
	assert_int_equal(flow_key_from_meta(&b, &kb), 1);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	/* TCP and UDP of the same 5-tuple are different flows. */
	a = pkt4(1, 2, 6, 3, 4);
	b = pkt4(1, 2, 17, 3, 4);
	flow_key_from_meta(&a, &ka);
	flow_key_from_meta(&b, &kb);
	assert_memory_not_equal(&ka, &kb, sizeof(ka));
}

/* ----------------------------------------------------------------- table */

static void
test_add_lookup_both_directions(void **state)
{
	struct flow_table *ft = table(4096);
	struct pkt_meta a = pkt4(0x0a000001, 0x0a000064, 6, 40000, 80), b = reply(&a);
	struct pkt_meta v6 = pkt6("2001:db8::2", "2001:db8::1", 17, 1000, 53);
	struct pkt_meta v6r = reply(&v6);
	struct flow_key ka, kb, k6, k6r;
	int32_t pos, pos6;
	int side_a, side_b;
	struct flow_entry *e;

	(void)state;
	side_a = flow_key_from_meta(&a, &ka);
	side_b = flow_key_from_meta(&b, &kb);
	assert_true(lookup(ft, &ka) < 0);
	assert_true(lookup(ft, &kb) < 0);
	pos = flow_table_add(ft, &ka, side_a, 100);
	assert_true(pos >= 0 && (uint32_t)pos < flow_table_capacity(ft));
	assert_int_equal(lookup(ft, &ka), pos);
	assert_int_equal(lookup(ft, &kb), pos);
	e = flow_table_entry(ft, pos);
	assert_true(e->in_use);
	assert_int_equal(e->first_tsc, 100);
	assert_int_equal(e->last_tsc, 100);
	assert_int_equal(e->proto, 6);
	assert_int_equal(e->tcp_state, FLOW_TCP_NONE);
	assert_int_equal(flow_dir_of(e, side_a), FLOW_DIR_ORIG);
	assert_int_equal(flow_dir_of(e, side_b), FLOW_DIR_REPLY);
	assert_int_equal(e->rule, FLOW_RULE_NONE);
	assert_int_equal(e->act[0].vlan, FLOW_VLAN_NONE);
	assert_int_equal(e->act[1].vlan, FLOW_VLAN_NONE);
	assert_memory_equal(flow_table_key(ft, pos), &ka, sizeof(ka));

	/* A flow opened by side b of its key. */
	flow_key_from_meta(&v6, &k6);
	assert_int_equal(flow_key_from_meta(&v6r, &k6r), 0);
	pos6 = add_meta(ft, &v6, 7);
	assert_true(pos6 >= 0 && pos6 != pos);
	assert_int_equal(lookup(ft, &k6r), pos6);
	e = flow_table_entry(ft, pos6);
	assert_int_equal(e->orig_side, 1);
	assert_int_equal(flow_dir_of(e, 1), FLOW_DIR_ORIG);
	assert_int_equal(flow_dir_of(e, 0), FLOW_DIR_REPLY);
	assert_int_equal(e->proto, 17);

	/* Adding a key that is there keeps its state and counts nothing. */
	e->pkts[0] = 5;
	assert_int_equal(flow_table_add(ft, &k6r, 0, 9), pos6);
	assert_int_equal(e->pkts[0], 5);
	assert_int_equal(e->orig_side, 1);
	assert_int_equal(flow_table_stats(ft)->added, 2);
	assert_int_equal(flow_table_stats(ft)->active, 2);

	/* Positions that hold no flow have no key. */
	for (int32_t p = 0; p < 3; p++)
		if (p != pos && p != pos6)
			assert_null(flow_table_key(ft, p));
	assert_null(flow_table_key(ft, -1));
	assert_null(flow_table_key(ft, (int32_t)flow_table_capacity(ft)));
	flow_table_free(ft);
	flow_table_free(NULL);
}

static void
test_lookup_bulk_more_than_64(void **state)
{
	struct flow_table *ft = table(1024);
	struct flow_key keys[150];
	const struct flow_key *kp[150];
	int32_t added[150], pos[150];

	(void)state;
	for (uint32_t i = 0; i < 150; i++) {
		struct pkt_meta m = pkt4(0x0a000000 + i, 0x0b000001, 17, 5000, 53);

		flow_key_from_meta(&m, &keys[i]);
		kp[i] = &keys[i];
		added[i] = i % 3 ? flow_table_add(ft, &keys[i], 0, 1) : -1;
	}
	flow_table_lookup_bulk(ft, kp, 150, pos);
	for (uint32_t i = 0; i < 150; i++) {
		if (added[i] >= 0)
			assert_int_equal(pos[i], added[i]);
		else
			assert_true(pos[i] < 0);
	}
	flow_table_lookup_bulk(ft, kp, 0, pos); /* nothing to do, no crash */
	flow_table_free(ft);
}

static void
test_counters_per_direction(void **state)
{
	struct flow_table *ft = table(1024);
	struct pkt_meta a = pkt4(0x0a000001, 0x0a000064, 17, 40000, 53), b = reply(&a);
	struct flow_key kb;
	int32_t pos = add_meta(ft, &a, 100);
	struct flow_entry *e = flow_table_entry(ft, pos);
	int side_b = flow_key_from_meta(&b, &kb);

	(void)state;
	flow_entry_update(e, &a, FLOW_DIR_ORIG, 100, 200, HZ);
	flow_entry_update(e, &b, flow_dir_of(e, side_b), 60, 300, HZ);
	flow_entry_update(e, &b, flow_dir_of(e, side_b), 1500, 400, HZ);
	assert_int_equal(e->pkts[FLOW_DIR_ORIG], 1);
	assert_int_equal(e->pkts[FLOW_DIR_REPLY], 2);
	assert_int_equal(e->bytes[FLOW_DIR_ORIG], 100);
	assert_int_equal(e->bytes[FLOW_DIR_REPLY], 1560);
	assert_int_equal(e->last_tsc, 400);
	assert_int_equal(e->first_tsc, 100);
	/* No TCP state for UDP, nor for a TCP fragment without its header. */
	assert_int_equal(e->tcp_state, FLOW_TCP_NONE);
	assert_int_equal(e->flags_seen[0] | e->flags_seen[1], 0);
	a = seg(&a, PKT_TCP_SYN, 1, 0);
	a.l4_proto = 6;
	a.flags = PKT_F_FRAG | PKT_F_FRAG_LATER;
	flow_entry_update(e, &a, FLOW_DIR_ORIG, 1400, 500, HZ);
	assert_int_equal(e->tcp_state, FLOW_TCP_NONE);
	assert_int_equal(e->pkts[0], 2);
	assert_int_equal(e->bytes[0], 1500);
	flow_table_free(ft);
}

/* ------------------------------------------------------------------- TCP */

static void
test_tcp_handshake_rtt(void **state)
{
	const uint64_t hz = 2500000000ull, t0 = 1000000000000ull;
	struct flow_table *ft = table(1024);
	struct pkt_meta c = pkt4(0x0a000001, 0x0a000002, 6, 40000, 80), s = reply(&c), m;
	int32_t pos = add_meta(ft, &c, t0);
	struct flow_entry *e = flow_table_entry(ft, pos);

	(void)state;
	m = seg(&c, PKT_TCP_SYN, 100, 0);
	flow_entry_update(e, &m, FLOW_DIR_ORIG, 74, t0, hz);
	assert_int_equal(e->tcp_state, FLOW_TCP_SYN_SENT);
	/* A repeated SYN changes nothing (but is a retransmission). */
	flow_entry_update(e, &m, FLOW_DIR_ORIG, 74, t0 + 10, hz);
	assert_int_equal(e->tcp_state, FLOW_TCP_SYN_SENT);
	m = seg(&s, PKT_TCP_SYN | PKT_TCP_ACK, 5000, 0);
	flow_entry_update(e, &m, FLOW_DIR_REPLY, 74, t0 + hz / 10000, hz);
	assert_int_equal(e->tcp_state, FLOW_TCP_SYNACK_SEEN);
	/* An ACK from the server does not complete the handshake. */
	m = seg(&s, PKT_TCP_ACK, 5001, 0);
	flow_entry_update(e, &m, FLOW_DIR_REPLY, 66, t0 + hz / 5000, hz);
	assert_int_equal(e->tcp_state, FLOW_TCP_SYNACK_SEEN);
	m = seg(&c, PKT_TCP_ACK, 101, 0);
	flow_entry_update(e, &m, FLOW_DIR_ORIG, 66, t0 + hz / 4000, hz); /* 250 us */
	assert_int_equal(e->tcp_state, FLOW_TCP_ESTABLISHED);
	assert_int_equal(e->rtt_us, 250);
	assert_int_equal(e->flags_seen[0], PKT_TCP_SYN | PKT_TCP_ACK);
	assert_int_equal(e->flags_seen[1], PKT_TCP_SYN | PKT_TCP_ACK);
	/* Later ACKs leave the RTT alone. */
	m = seg(&c, PKT_TCP_ACK | PKT_TCP_PSH, 101, 10);
	flow_entry_update(e, &m, FLOW_DIR_ORIG, 76, t0 + hz, hz);
	assert_int_equal(e->rtt_us, 250);
	assert_int_equal(e->retrans[0], 1);
	assert_int_equal(e->retrans[1], 0);
	flow_table_free(ft);
}

static void
test_tcp_rtt_conversion(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c);
	struct pkt_meta syn = seg(&c, PKT_TCP_SYN, 1, 0);
	struct pkt_meta synack = seg(&s, PKT_TCP_SYN | PKT_TCP_ACK, 1, 0);
	struct pkt_meta ack = seg(&c, PKT_TCP_ACK, 2, 0);
	static const struct {
		uint64_t hz, cycles;
		uint32_t us;
	} cases[] = {
		{ 2899999999ull, 4349999999ull, 1500000 }, /* 1.5 s, odd TSC rate */
		{ 1000, 3, 3000 },                         /* TSC below 1 MHz */
		{ 0, 12345, 0 },                           /* no rate: no RTT */
		{ 1000000, 1ull << 40, UINT32_MAX },       /* clamped */
	};

	(void)state;
	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		struct flow_entry e = { .first_tsc = 77 };

		flow_entry_update(&e, &syn, FLOW_DIR_ORIG, 60, 77, cases[i].hz);
		flow_entry_update(&e, &synack, FLOW_DIR_REPLY, 60, 78, cases[i].hz);
		flow_entry_update(&e, &ack, FLOW_DIR_ORIG, 60, 77 + cases[i].cycles,
				  cases[i].hz);
		assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
		assert_int_equal(e.rtt_us, cases[i].us);
	}
}

static void
test_tcp_fin_close(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c), m;
	struct flow_entry e = { 0 };

	(void)state;
	m = seg(&c, PKT_TCP_ACK, 1, 10);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
	m = seg(&c, PKT_TCP_FIN | PKT_TCP_ACK, 11, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 2, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_FIN_WAIT);
	/* The same side's FIN again is still one direction. */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 3, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_FIN_WAIT);
	m = seg(&s, PKT_TCP_ACK, 500, 20); /* the other side still sends */
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 4, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_FIN_WAIT);
	m = seg(&s, PKT_TCP_FIN | PKT_TCP_ACK, 520, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 5, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	m = seg(&c, PKT_TCP_ACK, 12, 0); /* the last ACK */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 6, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	assert_int_equal(e.flags_seen[0], PKT_TCP_ACK | PKT_TCP_FIN);
	assert_int_equal(e.flags_seen[1], PKT_TCP_ACK | PKT_TCP_FIN);
}

static void
test_tcp_rst(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c), m;
	struct flow_entry e = { 0 };

	(void)state;
	/* RST answering a SYN. */
	m = seg(&c, PKT_TCP_SYN, 1, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1, HZ);
	m = seg(&s, PKT_TCP_RST | PKT_TCP_ACK, 0, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 2, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	/* RST in an established flow; a FIN still in flight keeps it closed. */
	e = (struct flow_entry){ 0 };
	m = seg(&c, PKT_TCP_ACK, 1, 100);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	m = seg(&c, PKT_TCP_RST, 101, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 2, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	m = seg(&s, PKT_TCP_FIN | PKT_TCP_ACK, 9, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 3, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	m = seg(&s, PKT_TCP_ACK, 10, 5);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 4, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
}

static void
test_tcp_midstream(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c), m;
	struct flow_entry e = { 0 };

	(void)state;
	/* Data with ACK, no handshake seen: established, no RTT. */
	m = seg(&c, PKT_TCP_ACK | PKT_TCP_PSH, 7, 100);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
	assert_int_equal(e.rtt_us, 0);
	assert_int_equal(e.snd_max[0], 107);
	/* Picked up at the SYN+ACK: not established until an ACK. */
	e = (struct flow_entry){ 0 };
	m = seg(&s, PKT_TCP_SYN | PKT_TCP_ACK, 500, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_NONE);
	m = seg(&c, PKT_TCP_ACK, 1, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 2, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
	assert_int_equal(e.rtt_us, 0);
	/* Only the client's direction is seen (asymmetric routing). */
	e = (struct flow_entry){ .first_tsc = 1 };
	m = seg(&c, PKT_TCP_SYN, 1, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1, HZ);
	m = seg(&c, PKT_TCP_ACK, 2, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 500, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
	assert_int_equal(e.rtt_us, 0);
}

static void
test_tcp_reopen_after_close(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c), m;
	struct flow_entry e = { .first_tsc = 10 };

	(void)state;
	m = seg(&c, PKT_TCP_ACK, 0x80000000u, 100);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 10, HZ);
	m = seg(&s, PKT_TCP_RST, 1, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 20, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	/* A SYN from the server side does not reopen. */
	m = seg(&s, PKT_TCP_SYN, 1, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 25, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	/* The client reuses the 5-tuple; its ISN is below the old snd_max. */
	m = seg(&c, PKT_TCP_SYN, 1000, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1000, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_SYN_SENT);
	assert_int_equal(e.first_tsc, 1000);
	assert_int_equal(e.flags_seen[0], PKT_TCP_SYN);
	m = seg(&s, PKT_TCP_SYN | PKT_TCP_ACK, 7000, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 1500, HZ);
	m = seg(&c, PKT_TCP_ACK, 1001, 50);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 110, 3000, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
	assert_int_equal(e.rtt_us, 2); /* 2000 ns */
	assert_int_equal(e.retrans[0] + e.retrans[1], 0);
	assert_int_equal(e.pkts[0], 3);
	assert_int_equal(e.pkts[1], 3);
}

static void
test_retransmissions(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c), m;
	struct flow_entry e = { 0 };

	(void)state;
	m = seg(&c, PKT_TCP_ACK, 1000, 100);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 2, HZ); /* same segment again */
	assert_int_equal(e.retrans[0], 1);
	m = seg(&c, PKT_TCP_ACK, 1100, 0);                     /* pure ACKs never count */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 3, HZ);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 4, HZ);
	m = seg(&c, PKT_TCP_ACK, 1000, 0);                     /* even old ones */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 4, HZ);
	assert_int_equal(e.retrans[0], 1);
	m = seg(&c, PKT_TCP_ACK, 1100, 50);                    /* new data */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 110, 5, HZ);
	assert_int_equal(e.retrans[0], 1);
	assert_int_equal(e.snd_max[0], 1150);
	m = seg(&c, PKT_TCP_ACK, 1050, 50);                    /* a part, again */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 110, 6, HZ);
	assert_int_equal(e.retrans[0], 2);
	m = seg(&c, PKT_TCP_ACK, 1100, 100);                   /* overlaps new data */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 7, HZ);
	assert_int_equal(e.retrans[0], 2);
	assert_int_equal(e.snd_max[0], 1200);
	/* Directions are separate sequence spaces. */
	m = seg(&s, PKT_TCP_ACK, 1000, 100);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 160, 8, HZ);
	assert_int_equal(e.retrans[1], 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 160, 9, HZ);
	assert_int_equal(e.retrans[1], 1);
	assert_int_equal(e.retrans[0], 2);

	/* A SYN takes one sequence number: its retransmission counts. */
	e = (struct flow_entry){ 0 };
	m = seg(&c, PKT_TCP_SYN, 5000, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1, HZ);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 2, HZ);
	assert_int_equal(e.retrans[0], 1);
	m = seg(&c, PKT_TCP_ACK, 5001, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 3, HZ);
	assert_int_equal(e.retrans[0], 1);
	/* So does a FIN. */
	m = seg(&c, PKT_TCP_FIN | PKT_TCP_ACK, 5001, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 4, HZ);
	assert_int_equal(e.retrans[0], 1);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 5, HZ);
	assert_int_equal(e.retrans[0], 2);

	/* Sequence numbers wrap around 2^32. */
	e = (struct flow_entry){ 0 };
	m = seg(&c, PKT_TCP_ACK, 0xffffff00u, 0x80);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	m = seg(&c, PKT_TCP_ACK, 0xffffff80u, 0x100);          /* ends past the wrap */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 2, HZ);
	assert_int_equal(e.retrans[0], 0);
	assert_int_equal(e.snd_max[0], 0x80);
	m = seg(&c, PKT_TCP_ACK, 0x80, 0x100);                 /* after the wrap */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 3, HZ);
	assert_int_equal(e.retrans[0], 0);
	m = seg(&c, PKT_TCP_ACK, 0xffffff80u, 0x100);          /* again */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 4, HZ);
	assert_int_equal(e.retrans[0], 1);
	m = seg(&c, PKT_TCP_ACK, 0xffffff00u, 0x80);           /* from before the wrap */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 5, HZ);
	assert_int_equal(e.retrans[0], 2);
	assert_int_equal(e.snd_max[0], 0x180);
}

/* ----------------------------------------------------------- full, aging */

static void
test_table_full(void **state)
{
	struct flow_table *ft = table(1024);
	struct flow_timeouts to = { 1, 1, 1, 1 };
	uint32_t added = 0, refused = 0;

	(void)state;
	for (uint32_t i = 0; i < 4096; i++) {
		if (add_flow(ft, 0x0a000000 + i, 17, 1) >= 0)
			added++;
		else
			refused++;
	}
	/* Every one of the 1024 slots takes a flow, then adds are refused. */
	assert_int_equal(added, 1024);
	assert_int_equal(refused, 4096 - 1024);
	assert_int_equal(flow_table_stats(ft)->table_full, refused);
	assert_int_equal(flow_table_stats(ft)->added, added);
	assert_int_equal(flow_table_stats(ft)->active, added);
	/* The flows in it are still found. */
	for (uint32_t i = 0; i < 1024; i++) {
		struct pkt_meta m = pkt4(0x0a000000 + i, 0x0b000001, 17, 1, 2);
		struct flow_key k;

		flow_key_from_meta(&m, &k);
		assert_true(lookup(ft, &k) >= 0);
	}
	/* Aging makes room again. */
	assert_int_equal(flow_table_age(ft, &to, 10, flow_table_capacity(ft)), 1024);
	assert_int_equal(flow_table_stats(ft)->active, 0);
	assert_true(add_flow(ft, 0x0a000000 + 4000, 17, 20) >= 0);
	flow_table_free(ft);
}

static void
test_aging(void **state)
{
	struct flow_timeouts to = { .tcp_closed = 100, .tcp_idle = 10000,
				    .udp_idle = 1000, .other_idle = 500 };
	struct flow_table *ft = table(1024);
	uint32_t cap = flow_table_capacity(ft);
	int32_t closed, tcp, udp, icmp;
	struct pkt_meta m = pkt4(3, 0x0b000001, 17, 1, 2);
	struct flow_key k;

	(void)state;
	closed = add_flow(ft, 1, 6, 0);
	tcp = add_flow(ft, 2, 6, 0);
	udp = add_flow(ft, 3, 17, 0);
	icmp = add_flow(ft, 4, 1, 0);
	flow_table_entry(ft, closed)->tcp_state = FLOW_TCP_CLOSED;
	/* Budget 0 visits nothing. */
	assert_int_equal(flow_table_age(ft, &to, 1000000, 0), 0);
	assert_int_equal(flow_table_stats(ft)->active, 4);
	/* Nothing has been idle long enough. */
	assert_int_equal(flow_table_age(ft, &to, 100, cap), 0);
	/* The closed flow goes after tcp_closed. */
	assert_int_equal(flow_table_age(ft, &to, 200, cap), 1);
	assert_int_equal(flow_table_stats(ft)->expired_closed, 1);
	assert_false(flow_table_entry(ft, closed)->in_use);
	assert_null(flow_table_key(ft, closed));
	/* ICMP after other_idle, UDP after udp_idle. */
	assert_int_equal(flow_table_age(ft, &to, 600, cap), 1);
	assert_false(flow_table_entry(ft, icmp)->in_use);
	assert_true(flow_table_entry(ft, udp)->in_use);
	assert_int_equal(flow_table_age(ft, &to, 2000, cap), 1);
	assert_int_equal(flow_table_stats(ft)->expired_idle, 2);
	assert_false(flow_table_entry(ft, udp)->in_use);
	flow_key_from_meta(&m, &k);
	assert_true(lookup(ft, &k) < 0);
	/* A TCP flow with recent packets stays. */
	assert_true(flow_table_entry(ft, tcp)->in_use);
	flow_table_entry(ft, tcp)->last_tsc = 5000;
	assert_int_equal(flow_table_age(ft, &to, 12000, cap), 0);
	/* A clock behind the flow's last packet is not idleness. */
	assert_int_equal(flow_table_age(ft, &to, 4000, cap), 0);
	assert_int_equal(flow_table_age(ft, &to, 15001, cap), 1);
	assert_int_equal(flow_table_stats(ft)->expired_idle, 3);
	assert_int_equal(flow_table_stats(ft)->active, 0);
	/* Removed flows come back as new ones. */
	udp = add_meta(ft, &m, 20000);
	assert_true(udp >= 0);
	assert_int_equal(lookup(ft, &k), udp);
	assert_int_equal(flow_table_entry(ft, udp)->first_tsc, 20000);
	assert_int_equal(flow_table_entry(ft, udp)->pkts[0], 0);
	assert_int_equal(flow_table_stats(ft)->added, 5);
	assert_int_equal(flow_table_stats(ft)->active, 1);
	flow_table_free(ft);
}

/* Each call visits exactly the next @p budget slots, wrapping around. */
static void
test_aging_budget(void **state)
{
	struct flow_timeouts to = { 1, 1, 1, 1 };
	struct flow_table *ft = table(1024);
	uint32_t cap = flow_table_capacity(ft), cursor = 0, removed = 0, calls = 0;

	(void)state;
	for (uint32_t i = 0; i < 300; i++)
		assert_true(add_flow(ft, 100 + i * 7919, 17, 0) >= 0);
	while (removed < 300) {
		uint32_t expect = 0, r;

		for (uint32_t j = 0; j < 10; j++)
			expect += flow_table_entry(ft, (int32_t)((cursor + j) % cap))->in_use;
		r = flow_table_age(ft, &to, 10, 10);
		assert_int_equal(r, expect);
		for (uint32_t j = 0; j < 10; j++)
			assert_false(flow_table_entry(ft, (int32_t)((cursor + j) % cap))->in_use);
		removed += r;
		cursor = (cursor + 10) % cap;
		assert_true(++calls <= 2 * (cap / 10 + 1));
	}
	assert_int_equal(flow_table_stats(ft)->expired_idle, 300);
	assert_int_equal(flow_table_stats(ft)->active, 0);
	/* A budget beyond the capacity visits each slot once. */
	for (uint32_t i = 0; i < 50; i++)
		assert_true(add_flow(ft, 5 + i, 6, 100) >= 0);
	assert_int_equal(flow_table_age(ft, &to, 200, 10 * cap), 50);
	assert_int_equal(flow_table_stats(ft)->active, 0);
	flow_table_free(ft);
}

/* What the removal callback saw. */
struct removed_log {
	uint32_t n;
	int32_t pos[8];
	enum flow_removal why[8];
	struct flow_key key[8];
	uint64_t bytes[8];
	bool still_listed[8];   /* the key was still in the table during the call */
	struct flow_table *ft;
};

static void
on_removed(void *ctx, int32_t pos, struct flow_entry *e, const struct flow_key *k,
	   enum flow_removal why)
{
	struct removed_log *l = ctx;

	assert_true(l->n < 8);
	assert_true(e->in_use);
	l->pos[l->n] = pos;
	l->why[l->n] = why;
	l->key[l->n] = *k;
	l->bytes[l->n] = e->bytes[0] + e->bytes[1];
	l->still_listed[l->n] = lookup(l->ft, k) == pos;
	e->health = 0x5a;       /* the callee may write the entry */
	l->n++;
}

/* The removal callback: each removed flow once, with its key, entry and
 * reason, before its slot is freed; none for flows that stay; nothing
 * after it is cleared. */
static void
test_removed_callback(void **state)
{
	struct flow_timeouts to = { .tcp_closed = 100, .tcp_idle = 10000,
				    .udp_idle = 1000, .other_idle = 500 };
	struct flow_table *ft = table(1024);
	uint32_t cap = flow_table_capacity(ft);
	struct removed_log log = { .ft = ft };
	struct pkt_meta mu = pkt4(3, 0x0b000001, 17, 1, 2);
	int32_t closed, tcp, udp, old;
	struct flow_key ku;

	(void)state;
	flow_key_from_meta(&mu, &ku);
	closed = add_flow(ft, 1, 6, 0);
	tcp = add_flow(ft, 2, 6, 0);
	udp = add_meta(ft, &mu, 0);
	old = add_flow(ft, 4, 17, 0);
	flow_table_entry(ft, closed)->tcp_state = FLOW_TCP_CLOSED;
	flow_table_entry(ft, udp)->bytes[0] = 300;
	flow_table_entry(ft, udp)->bytes[1] = 40;
	flow_table_entry(ft, udp)->gen = 7;
	flow_table_entry(ft, tcp)->gen = 7;
	flow_table_entry(ft, closed)->gen = 7;
	flow_table_entry(ft, old)->gen = 6;
	flow_table_set_removed(ft, on_removed, &log);

	/* Nothing expires: no call. */
	assert_int_equal(flow_table_age(ft, &to, 50, cap), 0);
	assert_int_equal(log.n, 0);
	/* min_gen 7: the closed flow expires after tcp_closed; the flow of
	 * generation 6 stays until its client sends (flow_table_migrate()),
	 * and the table says a migration is under way until a full sweep
	 * meets no such flow. */
	assert_false(flow_table_migrating(ft));
	to.min_gen = 7;
	assert_int_equal(flow_table_age(ft, &to, 200, cap), 1);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.pos[0], closed);
	assert_int_equal(log.why[0], FLOW_REMOVED_CLOSED);
	assert_true(flow_table_migrating(ft));
	assert_true(flow_table_is_migrated(ft, old));
	assert_false(flow_table_is_migrated(ft, tcp));
	assert_int_equal(flow_table_age(ft, &to, 200, cap), 0);
	assert_true(flow_table_migrating(ft));  /* the sweep met it again */
	flow_table_migrate(ft, old);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.pos[1], old);
	assert_int_equal(log.why[1], FLOW_REMOVED_MIGRATED);
	assert_true(log.still_listed[1]);
	assert_false(flow_table_entry(ft, old)->in_use);
	assert_int_equal(flow_table_age(ft, &to, 200, cap / 2), 0);
	assert_true(flow_table_migrating(ft));  /* half a sweep proves nothing */
	assert_int_equal(flow_table_age(ft, &to, 200, cap), 0);
	assert_false(flow_table_migrating(ft));
	assert_int_equal(flow_table_stats(ft)->migrated, 1);
	assert_int_equal(flow_table_stats(ft)->expired_closed, 1);
	/* The idle UDP flow: its key and bytes, then it is gone. */
	assert_int_equal(flow_table_age(ft, &to, 2000, cap), 1);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.pos[2], udp);
	assert_int_equal(log.why[2], FLOW_REMOVED_IDLE);
	assert_memory_equal(&log.key[2], &ku, sizeof(ku));
	assert_int_equal(log.bytes[2], 340);
	assert_true(log.still_listed[2]);
	assert_true(lookup(ft, &ku) < 0);
	assert_false(flow_table_entry(ft, udp)->in_use);
	/* The TCP flow still lives; cleared, its removal calls nothing. */
	assert_true(flow_table_entry(ft, tcp)->in_use);
	flow_table_set_removed(ft, NULL, NULL);
	assert_int_equal(flow_table_age(ft, &to, 20000, cap), 1);
	assert_int_equal(log.n, 3);
	assert_int_equal(flow_table_stats(ft)->expired_idle, 2);
	assert_int_equal(flow_table_stats(ft)->active, 0);
	flow_table_free(ft);
}

/* ---------------------------------------------------------------- scale */

static void
key_of(uint32_t i, struct flow_key *k)
{
	struct pkt_meta m;

	if (i % 4 == 3) { /* a quarter IPv6 */
		m = pkt6("2001:db8::", "2001:db8:ffff::1", 6, 443, 0);
		memcpy(m.src + 8, &i, 4);
		m.dport = (uint16_t)(1024 + (i & 0x3ff));
	} else { /* 192 clients x 4096 ports to one server */
		m = pkt4(0x0a000000 + (i & 0xff), 0x0b000001, 6,
			 (uint16_t)(1024 + (i >> 8)), 443);
	}
	flow_key_from_meta(&m, k);
}

static void
test_one_million_flows(void **state)
{
	const uint32_t n = 1u << 20;
	struct flow_table *ft = table(n);
	int32_t *where = malloc(sizeof(*where) * n);
	uint32_t missing = 0, wrong = 0;
	struct flow_key k;
	double per_flow;

	(void)state;
	assert_non_null(where);
	assert_true(sizeof(struct flow_entry) <= 128);
	for (uint32_t i = 0; i < n; i++) {
		key_of(i, &k);
		where[i] = flow_table_add(ft, &k, 0, 1);
		if (where[i] < 0)
			fail_msg("flow %u of %u refused", i, n);
	}
	assert_int_equal(flow_table_stats(ft)->active, n);
	/* Full now: one more is refused and counted. */
	k.port_a ^= 0x8000;
	assert_true(flow_table_add(ft, &k, 0, 1) < 0);
	assert_int_equal(flow_table_stats(ft)->table_full, 1);
	for (uint32_t i = 0; i < n; i += 64) {
		const struct flow_key *kp[64];
		struct flow_key keys[64];
		int32_t pos[64];

		for (uint32_t j = 0; j < 64; j++) {
			key_of(i + j, &keys[j]);
			kp[j] = &keys[j];
		}
		flow_table_lookup_bulk(ft, kp, 64, pos);
		for (uint32_t j = 0; j < 64; j++) {
			missing += pos[j] < 0;
			wrong += pos[j] != where[i + j];
		}
	}
	assert_int_equal(missing, 0);
	assert_int_equal(wrong, 0);
	per_flow = (double)flow_table_memory(ft) / n;
	print_message("1M flows: table %.1f MiB, %.1f bytes per flow "
		      "(entry %zu, key %zu bytes)\n",
		      flow_table_memory(ft) / 1048576.0, per_flow,
		      sizeof(struct flow_entry), sizeof(struct flow_key));
	/* entry 128 + key slot 64 + buckets 8 + ext buckets 8 + ring 4 */
	assert_true(per_flow >= 128 && per_flow < 256);
	free(where);
	flow_table_free(ft);
}

static void
test_create_errors(void **state)
{
	struct flow_table *ft = flow_table_create("ut_flow_dup", 1024, 0);

	(void)state;
	assert_non_null(ft);
	/* Names are unique. */
	assert_null(flow_table_create("ut_flow_dup", 1024, 0));
	assert_null(flow_table_create(NULL, 1024, 0));
	assert_null(flow_table_create("ut_flow_zero", 0, 0));
	assert_int_equal(rte_errno, EINVAL);
	/* Memory is measured, at least the entry array. */
	assert_true(flow_table_memory(ft) >=
		    (uint64_t)flow_table_capacity(ft) * sizeof(struct flow_entry));
	assert_true(flow_table_capacity(ft) >= 1024);
	flow_table_free(ft);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_ipv4),
		cmocka_unit_test(test_key_order_is_network_order),
		cmocka_unit_test(test_key_ipv6),
		cmocka_unit_test(test_key_ports),
		cmocka_unit_test(test_add_lookup_both_directions),
		cmocka_unit_test(test_lookup_bulk_more_than_64),
		cmocka_unit_test(test_counters_per_direction),
		cmocka_unit_test(test_tcp_handshake_rtt),
		cmocka_unit_test(test_tcp_rtt_conversion),
		cmocka_unit_test(test_tcp_fin_close),
		cmocka_unit_test(test_tcp_rst),
		cmocka_unit_test(test_tcp_midstream),
		cmocka_unit_test(test_tcp_reopen_after_close),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_aging_budget),
		cmocka_unit_test(test_removed_callback),
		cmocka_unit_test(test_one_million_flows),
		cmocka_unit_test(test_create_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
