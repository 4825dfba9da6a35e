/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: flow table (rte_hash), TCP accounting, aging, 1M flows. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ut_eal.h"
#include <rte_common.h>
#include <rte_eal.h>

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
	assert_non_null(ft);
	return ft;
}

static void
test_canonical_key(void **state)
{
	struct pkt_meta a = pkt4(0x0a000001, 0x0a000064, 6, 40000, 80);
	struct pkt_meta b = reply(&a);
	struct pkt_meta c = { .l3 = PKT_L3_IPV6, .l4_proto = 17, .flags = PKT_F_L4,
			      .sport = 53, .dport = 5353 };
	struct pkt_meta d;
	struct flow_key ka, kb;

	(void)state;
	assert_int_not_equal(flow_key_from_meta(&a, &ka), flow_key_from_meta(&b, &kb));
	assert_memory_equal(&ka, &kb, sizeof(ka));
	inet_pton(AF_INET6, "2001:db8::1", c.src);
	inet_pton(AF_INET6, "2001:db8::1:0:0:2", c.dst);
	d = reply(&c);
	assert_int_not_equal(flow_key_from_meta(&c, &ka), flow_key_from_meta(&d, &kb));
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_int_equal(ka.family, 6);
	/* Same addresses, ports decide the side. */
	a = pkt4(0x0a000001, 0x0a000001, 17, 9, 7);
	b = reply(&a);
	assert_int_not_equal(flow_key_from_meta(&a, &ka), flow_key_from_meta(&b, &kb));
	assert_memory_equal(&ka, &kb, sizeof(ka));
	/* Ports of a packet without L4 are ignored. */
	a.flags = 0;
	flow_key_from_meta(&a, &ka);
	assert_int_equal(ka.port_a, 0);
	assert_int_equal(ka.port_b, 0);
}

static void
test_add_lookup_both_directions(void **state)
{
	struct flow_table *ft = table(4096);
	struct pkt_meta a = pkt4(0x0a000001, 0x0a000064, 6, 40000, 80), b = reply(&a);
	struct flow_key ka, kb;
	const struct flow_key *kp;
	int32_t pos, found;
	int side_a, side_b;
	struct flow_entry *e;

	(void)state;
	side_a = flow_key_from_meta(&a, &ka);
	side_b = flow_key_from_meta(&b, &kb);
	kp = &ka;
	flow_table_lookup_bulk(ft, &kp, 1, &found);
	assert_true(found < 0);
	pos = flow_table_add(ft, &ka, side_a, 100);
	assert_true(pos >= 0);
	kp = &kb;
	flow_table_lookup_bulk(ft, &kp, 1, &found);
	assert_int_equal(found, pos);
	e = flow_table_entry(ft, pos);
	assert_int_equal(flow_dir_of(e, side_a), FLOW_DIR_ORIG);
	assert_int_equal(flow_dir_of(e, side_b), FLOW_DIR_REPLY);
	assert_int_equal(e->rule, FLOW_RULE_NONE);
	assert_int_equal(e->act[1].vlan, FLOW_VLAN_NONE);
	flow_entry_update(e, &a, FLOW_DIR_ORIG, 100, 200, HZ);
	flow_entry_update(e, &b, FLOW_DIR_REPLY, 60, 300, HZ);
	flow_entry_update(e, &b, FLOW_DIR_REPLY, 60, 400, HZ);
	assert_int_equal(e->pkts[0], 1);
	assert_int_equal(e->pkts[1], 2);
	assert_int_equal(e->bytes[0], 100);
	assert_int_equal(e->bytes[1], 120);
	assert_int_equal(e->last_tsc, 400);
	assert_memory_equal(flow_table_key(ft, pos), &ka, sizeof(ka));
	assert_int_equal(flow_table_stats(ft)->active, 1);
	flow_table_free(ft);
}

static void
test_tcp_handshake_rtt_close(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), s = reply(&c), m;
	struct flow_entry e = { .first_tsc = 1000 };

	(void)state;
	m = seg(&c, PKT_TCP_SYN, 100, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1000, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_SYN_SENT);
	m = seg(&s, PKT_TCP_SYN | PKT_TCP_ACK, 500, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 1000 + 150000, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_SYNACK_SEEN);
	m = seg(&c, PKT_TCP_ACK, 101, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 1000 + 250000, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED);
	assert_int_equal(e.rtt_us, 250);
	m = seg(&c, PKT_TCP_FIN | PKT_TCP_ACK, 101, 0);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 300000, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_FIN_WAIT);
	m = seg(&s, PKT_TCP_FIN | PKT_TCP_ACK, 501, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 300001, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
	assert_int_equal(e.flags_seen[0], PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_FIN);
}

static void
test_tcp_rst_and_midstream(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), m;
	struct flow_entry e = { 0 };

	(void)state;
	m = seg(&c, PKT_TCP_ACK | PKT_TCP_PSH, 7, 100);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_ESTABLISHED); /* picked up mid-stream */
	assert_int_equal(e.rtt_us, 0);
	m = seg(&c, PKT_TCP_RST, 107, 0);
	flow_entry_update(&e, &m, FLOW_DIR_REPLY, 60, 2, HZ);
	assert_int_equal(e.tcp_state, FLOW_TCP_CLOSED);
}

static void
test_retransmissions(void **state)
{
	struct pkt_meta c = pkt4(1, 2, 6, 1000, 80), m;
	struct flow_entry e = { 0 };

	(void)state;
	m = seg(&c, PKT_TCP_ACK, 1000, 100);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 2, HZ); /* same segment again */
	assert_int_equal(e.retrans[0], 1);
	m = seg(&c, PKT_TCP_ACK, 1100, 0);                     /* pure ACKs never count */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 3, HZ);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 60, 4, HZ);
	assert_int_equal(e.retrans[0], 1);
	m = seg(&c, PKT_TCP_ACK, 1100, 50);                    /* new data */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 110, 5, HZ);
	assert_int_equal(e.retrans[0], 1);
	assert_int_equal(e.retrans[1], 0);
	/* Sequence numbers wrap around 2^32. */
	e = (struct flow_entry){ 0 };
	m = seg(&c, PKT_TCP_ACK, 0xffffff00u, 0x80);
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 1, HZ);
	m = seg(&c, PKT_TCP_ACK, 0xffffff80u, 0x100);          /* ends past the wrap */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 2, HZ);
	assert_int_equal(e.retrans[0], 0);
	m = seg(&c, PKT_TCP_ACK, 0xffffff80u, 0x100);          /* and again */
	flow_entry_update(&e, &m, FLOW_DIR_ORIG, 160, 3, HZ);
	assert_int_equal(e.retrans[0], 1);
}

static void
test_table_full(void **state)
{
	struct flow_table *ft = table(1024);
	uint32_t added = 0, refused = 0;

	(void)state;
	for (uint32_t i = 0; i < 4096; i++) {
		struct pkt_meta m = pkt4(0x0a000000 + i, 0x0b000001, 17, 1, 2);
		struct flow_key k;
		int side = flow_key_from_meta(&m, &k);

		if (flow_table_add(ft, &k, side, 1) >= 0)
			added++;
		else
			refused++;
	}
	assert_true(added >= 1024);
	assert_true(refused > 0);
	assert_int_equal(flow_table_stats(ft)->table_full, refused);
	assert_int_equal(flow_table_stats(ft)->active, added);
	flow_table_free(ft);
}

static int32_t
add_flow(struct flow_table *ft, uint32_t src, uint8_t proto, uint64_t now)
{
	struct pkt_meta m = pkt4(src, 0x0b000001, proto, 1, 2);
	struct flow_key k;
	int side = flow_key_from_meta(&m, &k);

	return flow_table_add(ft, &k, side, now);
}

static void
test_aging(void **state)
{
	struct flow_timeouts to = { .tcp_closed = 100, .tcp_idle = 10000,
				    .udp_idle = 1000, .other_idle = 500 };
	struct flow_table *ft = table(1024);
	uint32_t cap = flow_table_capacity(ft);
	int32_t closed, tcp, udp;

	(void)state;
	closed = add_flow(ft, 1, 6, 0);
	tcp = add_flow(ft, 2, 6, 0);
	udp = add_flow(ft, 3, 17, 0);
	flow_table_entry(ft, closed)->tcp_state = FLOW_TCP_CLOSED;
	/* A small budget visits only part of the table. */
	assert_int_equal(flow_table_age(ft, &to, 200, 0), 0);
	assert_int_equal(flow_table_age(ft, &to, 200, cap), 1);
	assert_int_equal(flow_table_stats(ft)->expired_closed, 1);
	assert_int_equal(flow_table_age(ft, &to, 2000, cap), 1);
	assert_int_equal(flow_table_stats(ft)->expired_idle, 1);
	assert_false(flow_table_entry(ft, udp)->in_use);
	assert_true(flow_table_entry(ft, tcp)->in_use);
	flow_table_entry(ft, tcp)->last_tsc = 5000; /* still active */
	assert_int_equal(flow_table_age(ft, &to, 12000, cap), 0);
	assert_int_equal(flow_table_age(ft, &to, 16000, cap), 1);
	assert_int_equal(flow_table_stats(ft)->active, 0);
	/* Removed flows can come back. */
	assert_true(add_flow(ft, 3, 17, 20000) >= 0);
	flow_table_free(ft);
}

static void
test_aging_budget(void **state)
{
	struct flow_timeouts to = { 1, 1, 1, 1 };
	struct flow_table *ft = table(1024);
	uint32_t cap = flow_table_capacity(ft), removed = 0, calls = 0;

	(void)state;
	for (uint32_t i = 0; i < 100; i++)
		assert_true(add_flow(ft, 100 + i, 17, 0) >= 0);
	/* Each call visits at most 10 slots, so removes at most 10. */
	while (removed < 100 && calls < cap) {
		uint32_t r = flow_table_age(ft, &to, 10, 10);

		assert_true(r <= 10);
		removed += r;
		calls++;
	}
	assert_int_equal(removed, 100);
	assert_true(calls >= 10); /* never more than 10 removals per call */
	flow_table_free(ft);
}

static void
test_one_million_flows(void **state)
{
	const uint32_t n = 1u << 20;
	struct flow_table *ft = table(n + n / 4);
	uint32_t missing = 0;

	(void)state;
	assert_true(sizeof(struct flow_entry) <= 128);
	for (uint32_t i = 0; i < n; i++)
		if (add_flow(ft, 0x0a000000 + i, 6, 1) < 0)
			fail_msg("flow %u of %u refused", i, n);
	for (uint32_t i = 0; i < n; i += 64) {
		const struct flow_key *kp[64];
		struct flow_key keys[64];
		int32_t pos[64];

		for (uint32_t j = 0; j < 64; j++) {
			struct pkt_meta m = pkt4(0x0a000000 + i + j, 0x0b000001, 6, 1, 2);

			flow_key_from_meta(&m, &keys[j]);
			kp[j] = &keys[j];
		}
		flow_table_lookup_bulk(ft, kp, 64, pos);
		for (uint32_t j = 0; j < 64; j++)
			missing += pos[j] < 0;
	}
	assert_int_equal(missing, 0);
	print_message("1M flows: %.1f MiB, %.0f bytes per flow (entry %zu bytes)\n",
		      flow_table_memory(ft) / 1048576.0,
		      (double)flow_table_memory(ft) / n, sizeof(struct flow_entry));
	flow_table_free(ft);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_key),
		cmocka_unit_test(test_add_lookup_both_directions),
		cmocka_unit_test(test_tcp_handshake_rtt_close),
		cmocka_unit_test(test_tcp_rst_and_midstream),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_aging_budget),
		cmocka_unit_test(test_one_million_flows),
	};
	int rc;

	if (ut_eal_init("flow", "1024") < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
