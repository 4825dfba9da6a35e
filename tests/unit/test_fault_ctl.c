/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: lib/fault's management half (fault_ctl.c) on its own: rules
 * of the configuration and of run time, add, list, remove, clear; leases
 * ended by fault_ctl_expire() on a clock the test drives (TSC values
 * seconds ahead of now); chaos scenarios; refusals (production, unknown
 * scenario, a lease over the policy's limit, every slot taken). EAL (no
 * hugepages) for rte_malloc and the RCU publisher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "fault.h"
#include "gen.h"
#include "ut_eal.h"

static uint64_t hz;     /* TSC ticks a second */

static const char yaml[] =
	"ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n"
	"stages:\n  - { name: production, default: true, egress: { port: a } }\n"
	"  - { name: dev, egress: { port: b } }\n"
	"fault_policy: { default_lease: 60s, max_lease: 1h }\n"
	"faults:\n  - { name: slow-dev, kind: delay, stage: dev, delay: 5ms }\n"
	"chaos:\n  - name: flaky\n    duration: 10s\n"
	"    faults: [ { kind: loss, stage: dev, probability: 0.1 }, "
	"{ kind: reset, stage: dev, probability: 0.01 } ]\n";

static struct umbra_conf *conf;
static struct rte_rcu_qsbr *qsbr;
static struct gen_table_pub pub;
static struct fault_rule_counters *counters;
static struct fault_ctl *fc;

static int
setup(void **st)
{
	size_t sz = rte_rcu_qsbr_get_memsize(1);
	struct fault_rule_counters *cnt[1];
	char err[512] = "";

	(void)st;
	conf = conf_load_string(yaml, sizeof(yaml) - 1, "t.yaml", err, sizeof(err));
	qsbr = rte_zmalloc("ut_qsbr", sz, RTE_CACHE_LINE_SIZE);
	counters = rte_zmalloc("ut_cnt", FAULT_MAX_RULES * sizeof(*counters),
			       RTE_CACHE_LINE_SIZE);
	if (conf == NULL || qsbr == NULL || counters == NULL ||
	    rte_rcu_qsbr_init(qsbr, 1) != 0 ||
	    gen_table_pub_init(&pub, qsbr, "ut_fault_dq", rte_free, err, sizeof(err)) < 0)
		goto fail;
	cnt[0] = counters;
	hz = rte_get_tsc_hz();
	fc = fault_ctl_create(&pub, cnt, 1, hz, err, sizeof(err));
	if (fc == NULL || fault_ctl_set_conf(fc, conf, err, sizeof(err)) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", err);
	return -1;
}

static int
teardown(void **st)
{
	(void)st;
	fault_ctl_free(fc);
	gen_table_pub_fini(&pub);
	rte_free(counters);
	rte_free(qsbr);
	conf_free(conf);
	return 0;
}

/* Each test starts with the configuration's rule only. */
static int
clean(void **st)
{
	(void)st;
	fault_ctl_clear_all(fc);
	return 0;
}

static json_t *
rule_named(const char *name)
{
	json_t *rules = fault_ctl_rules_json(fc), *r, *found = NULL;
	size_t i;

	json_array_foreach(rules, i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), name) == 0)
			found = json_incref(r);
	json_decref(rules);
	return found;
}

static size_t
n_rules(void)
{
	json_t *rules = fault_ctl_rules_json(fc);
	size_t n = json_array_size(rules);

	json_decref(rules);
	return n;
}

static uint32_t
add(const char *text)
{
	char err[512] = "";
	uint32_t id = fault_ctl_add(fc, text, err, sizeof(err));

	if (id == 0)
		fail_msg("fault add %s: %s", text, err);
	return id;
}

static void
add_refused(const char *text, const char *want)
{
	char err[512] = "";

	assert_int_equal(fault_ctl_add(fc, text, err, sizeof(err)), 0);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' lacks '%s'", err, want);
}

static void
test_add_list_remove(void **st)
{
	json_t *r;
	uint32_t id;

	(void)st;
	/* The configuration's rule is there from the start, permanent. */
	assert_int_equal(n_rules(), 1);
	r = rule_named("slow-dev");
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "origin")), "config");
	assert_true(json_is_null(json_object_get(r, "until")));
	json_decref(r);

	id = add("{\"kind\": \"loss\", \"stage\": \"dev\", \"probability\": 0.5}");
	assert_true(id > 0);
	assert_int_equal(n_rules(), 2);
	r = rule_named("loss");
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
	assert_string_equal(json_string_value(json_object_get(r, "kind")), "loss");
	assert_string_equal(json_string_value(json_object_get(r, "origin")), "runtime");
	assert_true(json_is_real(json_object_get(r, "until")));
	json_decref(r);

	assert_int_equal(fault_ctl_remove(fc, id), 0);
	assert_int_equal(fault_ctl_remove(fc, id), -1);
	assert_int_equal(n_rules(), 1);
	/* clear_all takes run-time rules only. */
	add("{\"kind\": \"blackhole\", \"stage\": \"dev\"}");
	add("{\"kind\": \"syn_drop\", \"stage\": \"dev\"}");
	assert_int_equal(fault_ctl_clear_all(fc), 2);
	assert_int_equal(n_rules(), 1);
}

static void
test_refusals(void **st)
{
	(void)st;
	add_refused("{\"kind\": \"loss\"}", "would act on production traffic");
	add_refused("{\"kind\": \"loss\", \"stage\": \"production\"}",
		    "would act on production traffic");
	add_refused("{\"kind\": \"loss\", \"stage\": \"dev\", \"duration\": \"2h\"}",
		    "longer than fault_policy.max_lease");
	add_refused("{\"kind\": \"slow\", \"stage\": \"dev\"}", "kind");
	add_refused("{\"kind\": \"loss\", \"shadow\": \"nowhere\"}",
		    "no active shadow profile 'nowhere'");
	assert_int_equal(n_rules(), 1);
}

/* Leases end on the clock fault_ctl_expire() is given. */
static void
test_leases(void **st)
{
	uint64_t now, next;

	(void)st;
	add("{\"kind\": \"loss\", \"stage\": \"dev\", \"duration\": \"2s\"}");
	add("{\"kind\": \"delay\", \"stage\": \"dev\", \"delay\": \"1ms\"}"); /* 60s */
	now = rte_rdtsc();      /* after the leases began */
	next = fault_ctl_expire(fc, now);
	assert_true(next != UINT64_MAX && next <= now + 3 * hz);
	assert_int_equal(n_rules(), 3);
	/* Ten seconds on: the 2 s lease has ended, the default 60 s has not. */
	next = fault_ctl_expire(fc, now + 10 * hz);
	assert_int_equal(n_rules(), 2);
	assert_null(rule_named("loss"));
	assert_true(next > now + 10 * hz && next <= now + 61 * hz);
	/* Past every lease: only the permanent rule is left. */
	assert_true(fault_ctl_expire(fc, now + 3600 * hz) == UINT64_MAX);
	assert_int_equal(n_rules(), 1);
}

static void
test_scenarios(void **st)
{
	char err[256] = "";
	uint64_t now;
	json_t *s;

	(void)st;
	assert_int_equal(fault_ctl_scenario_start(fc, "nope", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no chaos scenario 'nope'"));
	assert_int_equal(fault_ctl_scenario_start(fc, "flaky", 7200ull * 1000000000ull,
						  err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_lease"));
	assert_int_equal(fault_ctl_scenario_start(fc, "flaky", 0, err, sizeof(err)), 0);
	assert_int_equal(n_rules(), 3);
	assert_int_equal(fault_ctl_scenario_start(fc, "flaky", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already running"));
	s = fault_ctl_scenarios_json(fc);
	assert_non_null(s);
	json_decref(s);
	assert_int_equal(fault_ctl_scenario_stop(fc, "flaky"), 0);
	assert_int_equal(fault_ctl_scenario_stop(fc, "flaky"), -1);
	assert_int_equal(n_rules(), 1);
	/* A scenario ends with its duration (10 s). */
	assert_int_equal(fault_ctl_scenario_start(fc, "flaky", 0, err, sizeof(err)), 0);
	now = rte_rdtsc();
	fault_ctl_expire(fc, now + 5 * hz);
	assert_int_equal(n_rules(), 3);
	fault_ctl_expire(fc, now + 20 * hz);
	assert_int_equal(n_rules(), 1);
}

/* Every slot taken: the next rule is refused, saying so. */
static void
test_slots(void **st)
{
	(void)st;
	for (int i = 1; i < FAULT_MAX_RULES; i++)
		add("{\"kind\": \"loss\", \"stage\": \"dev\", \"probability\": 0.01}");
	assert_int_equal(n_rules(), FAULT_MAX_RULES);
	add_refused("{\"kind\": \"loss\", \"stage\": \"dev\"}", "fault slots are in use");
	assert_int_equal(fault_ctl_clear_all(fc), FAULT_MAX_RULES - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_list_remove, clean),
		cmocka_unit_test_setup(test_refusals, clean),
		cmocka_unit_test_setup(test_leases, clean),
		cmocka_unit_test_setup(test_scenarios, clean),
		cmocka_unit_test_setup(test_slots, clean),
	};

	if (ut_eal_init("fault_ctl", "64") < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
