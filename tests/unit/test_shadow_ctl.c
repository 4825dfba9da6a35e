/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: lib/shadow's management half (shadow_ctl.c) on its own:
 * profiles of the configuration and of run time, what is published to the
 * workers, the typed query, slots for faults aimed at a profile, the
 * change callback, ttl ends on a clock the test drives, a new
 * configuration keeping run-time profiles. Not pure: the tables it
 * publishes are rte_malloc'd behind RCU (gen_table_pub), and it drains the
 * workers' rte_rings, so EAL starts with no hugepages (ut_eal.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "gen.h"
#include "shadow.h"
#include "ut_eal.h"

#define YAML_HEAD \
	"ports:\n  - { name: up, vdev: net_null0, role: uplink }\n" \
	"  - { name: p, vdev: net_null1 }\n" \
	"  - { name: shadow, vdev: net_null2, role: shadow }\n" \
	"stages:\n  - { name: production, default: true, egress: { port: p } }\n" \
	"  - { name: staging, egress: { port: p, vlan: 300 } }\n"

static const char yaml1[] = YAML_HEAD
	"shadows:\n  - { name: cfg, stage: production, port: shadow, fraction: 10% }\n";
/* The next file: its profile is another, on staging. */
static const char yaml2[] = YAML_HEAD
	"shadows:\n  - { name: cfg2, stage: staging, port: shadow }\n";

static struct umbra_conf *conf1, *conf2;
static struct rte_rcu_qsbr *qsbr;
static struct gen_table_pub pub;
static struct shadow_worker worker;
static struct shadow_ctl *sc;
static unsigned int changes;

static void
on_change(void *ctx)
{
	(*(unsigned int *)ctx)++;
}

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
	conf1 = conf_load_string(yaml1, sizeof(yaml1) - 1, "t.yaml", err, sizeof(err));
	conf2 = conf_load_string(yaml2, sizeof(yaml2) - 1, "t2.yaml", err, sizeof(err));
	qsbr = rte_zmalloc("ut_qsbr", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	worker.cnt = rte_zmalloc("ut_cnt", CONF_MAX_SHADOWS * sizeof(*worker.cnt),
				 RTE_CACHE_LINE_SIZE);
	worker.records = rte_ring_create_elem("ut_records", sizeof(struct compare_record),
					      64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (conf1 == NULL || conf2 == NULL || qsbr == NULL || worker.cnt == NULL ||
	    worker.records == NULL || rte_rcu_qsbr_init(qsbr, 1) != 0 ||
	    gen_table_pub_init(&pub, qsbr, "ut_shadow_dq", rte_free, err, sizeof(err)) < 0)
		goto fail;
	sc = shadow_ctl_create(&pub, w, 1, rte_get_tsc_hz(), err, sizeof(err));
	if (sc == NULL)
		goto fail;
	shadow_ctl_on_change(sc, on_change, &changes);
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
	gen_table_pub_fini(&pub);
	rte_ring_free(worker.records);
	rte_free(worker.cnt);
	rte_free(qsbr);
	conf_free(conf1);
	conf_free(conf2);
	return 0;
}

/* The configuration's profile is published, listed and has a slot. */
static void
test_conf_profile(void **st)
{
	struct shadow_profile_info p[CONF_MAX_SHADOWS];
	char err[256] = "";
	unsigned int before = changes;

	(void)st;
	assert_int_equal(shadow_ctl_set_conf(sc, conf1, err, sizeof(err)), 0);
	assert_int_equal(changes, before + 1);
	assert_int_equal(table()->n, 1);
	assert_int_equal(shadow_ctl_profiles(sc, NULL, p, CONF_MAX_SHADOWS), 1);
	assert_string_equal(p[0].name, "cfg");
	assert_string_equal(p[0].network, "production");
	assert_true(p[0].active);
	assert_true(p[0].from_conf);
	assert_int_equal(shadow_ctl_slot_of(sc, "cfg"), table()->p[0].index + 1);
	assert_int_equal(shadow_ctl_slot_of(sc, "nope"), 0);
	assert_int_equal(shadow_ctl_profiles(sc, "staging", p, CONF_MAX_SHADOWS), 0);
}

/* Run-time profiles: created, refused when they clash, deleted. */
static void
test_runtime_profile(void **st)
{
	struct shadow_profile_info p[CONF_MAX_SHADOWS];
	char err[256] = "";

	(void)st;
	assert_int_equal(shadow_ctl_create_profile(sc, "staging",
		"{ name: rt, stage: staging, port: shadow }", err, sizeof(err)), 0);
	assert_int_equal(table()->n, 2);
	assert_int_equal(shadow_ctl_profiles(sc, "staging", p, CONF_MAX_SHADOWS), 1);
	assert_string_equal(p[0].name, "rt");
	assert_false(p[0].from_conf);
	/* The same name again; a network that is not the profile's stage. */
	assert_int_equal(shadow_ctl_create_profile(sc, NULL,
		"{ name: rt, stage: staging, port: shadow }", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(shadow_ctl_create_profile(sc, "production",
		"{ name: rt2, stage: staging, port: shadow }", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not network 'production'"));
	assert_int_equal(table()->n, 2);
	assert_int_equal(shadow_ctl_delete(sc, "rt"), 0);
	assert_int_equal(shadow_ctl_delete(sc, "rt"), -1);
	assert_int_equal(table()->n, 1);
}

/* A ttl ends on the next poll past it: listed as ended, no longer published. */
static void
test_ttl_end(void **st)
{
	struct shadow_profile_info p[CONF_MAX_SHADOWS];
	char err[256] = "";
	unsigned int n, i;

	(void)st;
	assert_int_equal(shadow_ctl_create_profile(sc, NULL,
		"{ name: brief, stage: staging, port: shadow, ttl: 1s }", err,
		sizeof(err)), 0);
	assert_int_not_equal(shadow_ctl_slot_of(sc, "brief"), 0);
	shadow_ctl_poll(sc, rte_rdtsc() + 5 * rte_get_tsc_hz());
	assert_int_equal(shadow_ctl_slot_of(sc, "brief"), 0);
	n = shadow_ctl_profiles(sc, NULL, p, CONF_MAX_SHADOWS);
	for (i = 0; i < n && strcmp(p[i].name, "brief") != 0; i++)
		;
	assert_true(i < n);
	assert_false(p[i].active);
	assert_int_equal(table()->n, 1);
	assert_int_equal(shadow_ctl_delete(sc, "brief"), 0);
}

/* A new configuration replaces the configuration's profiles, keeps run-time ones. */
static void
test_new_conf(void **st)
{
	struct shadow_profile_info p[CONF_MAX_SHADOWS];
	char err[256] = "";

	(void)st;
	assert_int_equal(shadow_ctl_create_profile(sc, NULL,
		"{ name: kept, stage: production, port: shadow }", err, sizeof(err)), 0);
	assert_int_equal(shadow_ctl_set_conf(sc, conf2, err, sizeof(err)), 0);
	assert_int_equal(shadow_ctl_slot_of(sc, "cfg"), 0);
	assert_int_not_equal(shadow_ctl_slot_of(sc, "cfg2"), 0);
	assert_int_not_equal(shadow_ctl_slot_of(sc, "kept"), 0);
	assert_int_equal(shadow_ctl_profiles(sc, "production", p, CONF_MAX_SHADOWS), 1);
	assert_string_equal(p[0].name, "kept");
	assert_int_equal(table()->n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_profile),
		cmocka_unit_test(test_runtime_profile),
		cmocka_unit_test(test_ttl_end),
		cmocka_unit_test(test_new_conf),
	};

	if (ut_eal_init("shadow_ctl", "256") < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
