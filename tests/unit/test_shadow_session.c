/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: a shadowed flow finds its session by index and owner tag
 * (lib/shadow shadow_flow_packet()). The data path keeps each flow's
 * session index beside its flow table and passes the flow's slot as the
 * owner; a session that ended and was taken for another flow since must
 * not be fed the old flow's packets. Not pure: sessions and copies live in
 * EAL memory (ut_eal.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "flow.h"
#include "gen.h"
#include "pkt_mbuf.h"
#include "shadow.h"
#include "ut_cksum.h"
#include "ut_eal.h"
#include "ut_frame.h"

static const char yaml[] =
	"ports:\n  - { name: up, vdev: net_null0, role: uplink }\n"
	"  - { name: p, vdev: net_null1 }\n"
	"  - { name: shadow, vdev: net_null2, role: shadow }\n"
	"stages:\n  - { name: production, default: true, egress: { port: p } }\n"
	"shadows:\n  - { name: s, stage: production, port: shadow, proto: udp }\n";

static struct umbra_conf *conf;
static struct rte_rcu_qsbr *qsbr;
static struct gen_table_pub pub;
static struct shadow_worker worker;
static struct shadow_ctl *sc;
static struct rte_mempool *pool;
static uint64_t hz;
static unsigned int copies;     /* sent to a target by the shadow_tx below */

static void
count_copy(void *ctx, struct rte_mbuf *pkt, const struct pkt_meta *m,
	   const struct flow_action *act, const uint8_t *mac,
	   const struct flow_key *k, uint8_t profile_slot)
{
	(void)ctx, (void)m, (void)act, (void)mac, (void)k, (void)profile_slot;
	copies++;
	rte_pktmbuf_free(pkt);
}

static const struct shadow_tx tx = { .send = count_copy, .ctx = NULL };

static const struct shadow_table *
table(void)
{
	return gen_table_current(&pub);
}

static int
setup(void **st)
{
	struct shadow_worker *w[1] = { &worker };
	char err[512] = "";

	(void)st;
	hz = rte_get_tsc_hz();
	conf = conf_load_string(yaml, sizeof(yaml) - 1, "t.yaml", err, sizeof(err));
	qsbr = rte_zmalloc("ut_qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	pool = rte_pktmbuf_pool_create("ut_shadow_pool", 255, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (conf == NULL || qsbr == NULL || pool == NULL ||
	    rte_rcu_qsbr_init(qsbr, 1) != 0 ||
	    gen_table_pub_init(&pub, qsbr, "ut_sess_dq", rte_free, err, sizeof(err)) < 0)
		goto fail;
	/* One session: the second flow must take the first one's. */
	if (shadow_worker_init(&worker, 0, hz, 1, pool, SOCKET_ID_ANY) < 0) {
		snprintf(err, sizeof(err), "shadow_worker_init");
		goto fail;
	}
	sc = shadow_ctl_create(&pub, w, 1, hz, err, sizeof(err));
	if (sc == NULL || shadow_ctl_set_conf(sc, conf, err, sizeof(err)) < 0)
		goto fail;
	shadow_worker_sync(&worker, table());
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", err);
	return -1;
}

static int
teardown(void **st)
{
	(void)st;
	shadow_ctl_free(sc);
	shadow_worker_fini(&worker);
	gen_table_pub_fini(&pub);
	rte_mempool_free(pool);
	rte_free(qsbr);
	conf_free(conf);
	return 0;
}

/* A UDP datagram from 10.0.0.<host>:<sport> to 10.0.1.1:53, parsed. */
static struct rte_mbuf *
datagram(uint8_t host, uint16_t sport, struct pkt_meta *m, struct flow_key *k)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint8_t scratch[PKT_MBUF_SCRATCH];
	struct rte_mbuf *mb = rte_pktmbuf_alloc(pool);
	struct frame f = { .len = 0 };
	uint32_t ip;

	assert_non_null(mb);
	put(&f, macs, sizeof(macs));
	put16(&f, 0x0800);
	ip = f.len;
	put8(&f, 0x45), put8(&f, 0), put16(&f, 20 + 8 + 4);
	put16(&f, 1), put16(&f, 0), put8(&f, 64), put8(&f, 17), put16(&f, 0);
	put32(&f, 0x0a000000u | host), put32(&f, 0x0a000101u);
	set16(&f.b[ip + 10], (uint16_t)~fold(sum_be(&f.b[ip], 20, 0)));
	put16(&f, sport), put16(&f, 53), put16(&f, 8 + 4), put16(&f, 0);
	put32(&f, 0x12340100u);
	memcpy(rte_pktmbuf_append(mb, (uint16_t)f.len), f.b, f.len);
	assert_int_equal(pkt_parse_mbuf(mb, scratch, m), PKT_DROP_OK);
	flow_key_from_meta(m, k);
	return mb;
}

/* The flow's packets, under its own owner tag and under another's. */
static void
test_owner_tag_guards_the_session(void **st)
{
	struct pkt_meta m1, m2;
	struct flow_key k1, k2;
	struct rte_mbuf *a = datagram(1, 1000, &m1, &k1);
	struct rte_mbuf *b = datagram(2, 2000, &m2, &k2);
	uint64_t now = rte_get_tsc_cycles();
	uint32_t s1, s2;

	(void)st;
	assert_int_equal(table()->n, 1);
	s1 = shadow_session_start(&worker, table(), 1, &k1, &m1, 5, now);
	assert_int_not_equal(s1, SHADOW_NO_SESSION);
	copies = 0;
	shadow_flow_packet(&worker, table(), s1, 5, a, &m1, FLOW_DIR_ORIG, now, &tx);
	assert_int_equal(copies, 1);
	/* Another owner, or no session at all: nothing is copied. */
	shadow_flow_packet(&worker, table(), s1, 6, a, &m1, FLOW_DIR_ORIG, now, &tx);
	shadow_flow_packet(&worker, table(), SHADOW_NO_SESSION, 5, a, &m1,
			   FLOW_DIR_ORIG, now, &tx);
	assert_int_equal(copies, 1);

	/* The pool's only session is busy: a second flow gets none. */
	assert_int_equal(shadow_session_start(&worker, table(), 1, &k2, &m2, 7, now),
			 SHADOW_NO_SESSION);
	/* Idle past its timeout, then past its linger: the session is free. */
	now += hz * 31;
	shadow_timers(&worker, table(), now, &tx);
	now += hz;
	shadow_timers(&worker, table(), now, &tx);
	s2 = shadow_session_start(&worker, table(), 1, &k2, &m2, 7, now);
	assert_int_equal(s2, s1);       /* the same session, another flow */
	/* The first flow still holds the index, but not the owner tag. */
	shadow_flow_packet(&worker, table(), s1, 5, a, &m1, FLOW_DIR_ORIG, now, &tx);
	assert_int_equal(copies, 1);
	shadow_flow_packet(&worker, table(), s2, 7, b, &m2, FLOW_DIR_ORIG, now, &tx);
	assert_int_equal(copies, 2);
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_tag_guards_the_session),
	};

	if (ut_eal_init("shadow_session", "256") < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
