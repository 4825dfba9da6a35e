/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: lib/steer on its own: a table built from a configuration and
 * a steering state (JSON); lookups: the running version and the canary by
 * flow hash, splits by client prefix and by hash, the canary's share of
 * many flows; states the configuration cannot run refused with a reason.
 * EAL (no hugepages) for rte_zmalloc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "steer.h"
#include "ut_eal.h"

/* web (10.0.0.10 tcp/80) runs v1 on blue in production, green is its other
 * backend; a split sends production's 10.9/16 clients of web to green, and
 * half of staging's flows (by hash) to production's egress. */
static const char yaml[] =
	"ports:\n"
	"  - { name: a, vdev: net_null0 }\n"
	"  - { name: b, vdev: net_null1 }\n"
	"stages:\n"
	"  - { name: production, default: true, egress: { port: a } }\n"
	"  - { name: staging, egress: { port: b, vlan: 300 } }\n"
	"services:\n"
	"  - name: web\n"
	"    match: { dst: 10.0.0.10/32, proto: tcp, dport: 80 }\n"
	"    backends:\n"
	"      - { name: blue, port: a, vlan: 10, next_hop_mac: \"02:00:00:00:00:01\" }\n"
	"      - { name: green, port: b, vlan: 20, next_hop_mac: \"02:00:00:00:00:02\" }\n"
	"    stages: { production: { backends: [blue, green], running: v1 } }\n"
	"workflow:\n"
	"  pipeline: [ { stage: staging, on: code_commit }, "
	"{ stage: production, on: manual_approval } ]\n"
	"splits:\n"
	"  - { name: lab, stage: production, service: web, src: 10.9.0.0/16, to_backend: green }\n"
	"  - { name: half, stage: staging, hash: [0, 32767], to_stage: production }\n";

enum { PRODUCTION, STAGING };

static struct umbra_conf *conf;

static int
setup(void **st)
{
	char err[512] = "";

	(void)st;
	conf = conf_load_string(yaml, sizeof(yaml) - 1, "t.yaml", err, sizeof(err));
	if (conf == NULL)
		fprintf(stderr, "%s\n", err);
	return conf == NULL ? -1 : 0;
}

static int
teardown(void **st)
{
	(void)st;
	conf_free(conf);
	return 0;
}

/* A TCP packet from @p src (a.b.c.d) to @p dst, port @p dport. */
static struct pkt_meta
packet(const uint8_t src[4], const uint8_t dst[4], uint16_t dport)
{
	struct pkt_meta m;

	memset(&m, 0, sizeof(m));
	m.l3 = PKT_L3_IPV4;
	m.l4_proto = 6;
	m.sport = 40000;
	m.dport = dport;
	memcpy(m.src, src, 4);
	memcpy(m.dst, dst, 4);
	return m;
}

static const uint8_t client[4] = { 192, 168, 1, 7 };
static const uint8_t lab_client[4] = { 10, 9, 3, 4 };
static const uint8_t web[4] = { 10, 0, 0, 10 };
static const uint8_t other[4] = { 10, 0, 0, 11 };

static struct steer_table *
build(const char *state_json)
{
	char err[256] = "";
	json_t *state = state_json ? json_loads(state_json, 0, NULL) : NULL;
	struct steer_table *t;

	if (state_json != NULL)
		assert_non_null(state);
	t = steer_build(conf, state, NULL, err, sizeof(err));
	json_decref(state);
	if (t == NULL)
		fail_msg("%s", err);
	return t;
}

static void
test_initial_state(void **st)
{
	json_t *s = steer_state_initial(conf), *canonical = NULL;
	char err[256] = "";
	struct steer_table *t;

	(void)st;
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(s, "web"), "production"), "version")), "v1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(s, "web"), "production"), "backend")), "blue");
	/* No state is the initial state; the merged state says so. */
	t = steer_build(conf, NULL, &canonical, err, sizeof(err));
	assert_non_null(t);
	assert_true(json_equal(s, canonical));
	assert_true(steer_active(t));
	steer_free(t);
	json_decref(canonical);
	json_decref(s);
}

static void
test_running(void **st)
{
	struct steer_table *t = build(NULL);
	struct pkt_meta m = packet(client, web, 80);
	struct steer_result r;

	(void)st;
	for (uint32_t h = 0; h < FLOW_HASH_SPAN; h += 4099) {
		steer_flow(t, PRODUCTION, &m, h, &r);
		assert_int_equal(r.how, STEER_RUNNING);
		assert_int_equal(r.service, 0);
		assert_non_null(r.egress);
		assert_int_equal(r.egress->port, 0);
		assert_int_equal(r.egress->vlan, 10);
	}
	/* Not the service: the stage's own egress. */
	m = packet(client, other, 80);
	steer_flow(t, PRODUCTION, &m, 0, &r);
	assert_int_equal(r.how, STEER_STAGE);
	assert_int_equal(r.service, STEER_NO_SERVICE);
	assert_null(r.egress);
	m = packet(client, web, 81);
	steer_flow(t, PRODUCTION, &m, 0, &r);
	assert_int_equal(r.service, STEER_NO_SERVICE);
	steer_free(t);
}

static void
test_canary_by_hash(void **st)
{
	struct steer_table *t = build("{\"web\": {\"production\": {\"version\": \"v1\", "
				      "\"backend\": \"blue\", \"canary\": {\"version\": "
				      "\"v2\", \"backend\": \"green\", \"bp\": 2500}}}}");
	struct pkt_meta m = packet(client, web, 80);
	struct steer_result r;

	(void)st;
	/* 25%: hashes below a quarter of the span take the canary. */
	steer_flow(t, PRODUCTION, &m, 0, &r);
	assert_int_equal(r.how, STEER_CANARY);
	assert_int_equal(r.egress->port, 1);
	assert_int_equal(r.egress->vlan, 20);
	steer_flow(t, PRODUCTION, &m, FLOW_HASH_SPAN / 4 - 1, &r);
	assert_int_equal(r.how, STEER_CANARY);
	steer_flow(t, PRODUCTION, &m, FLOW_HASH_SPAN / 4, &r);
	assert_int_equal(r.how, STEER_RUNNING);
	assert_int_equal(r.egress->vlan, 10);
	steer_flow(t, PRODUCTION, &m, FLOW_HASH_SPAN - 1, &r);
	assert_int_equal(r.how, STEER_RUNNING);
	steer_free(t);
}

/* Of many flows' seeded hashes, the canary's share is its bp. */
static void
test_canary_share(void **st)
{
	static const int bps[] = { 0, 500, 2500, 10000 };

	(void)st;
	for (size_t b = 0; b < sizeof(bps) / sizeof(bps[0]); b++) {
		char state[256];
		struct steer_table *t;
		uint32_t canary = 0, n = 40000;

		snprintf(state, sizeof(state), "{\"web\": {\"production\": {\"version\": "
			 "\"v1\", \"backend\": \"blue\", \"canary\": {\"version\": \"v2\", "
			 "\"backend\": \"green\", \"bp\": %d}}}}", bps[b]);
		t = build(state);
		for (uint32_t i = 0; i < n; i++) {
			struct flow_key k = { .proto = 6, .family = 4,
					      .port_a = (uint16_t)(1024 + i % 60000),
					      .port_b = 80 };
			struct pkt_meta m = packet(client, web, 80);
			struct steer_result r;

			memcpy(k.addr_a, &i, sizeof(i));
			memcpy(k.addr_b, web, 4);
			steer_flow(t, PRODUCTION, &m, steer_flow_hash(t, &k), &r);
			canary += r.how == STEER_CANARY;
		}
		/* Within 1.5 points of the share (40000 flows: ~5 sigma). */
		assert_true(canary <= n &&
			    (double)canary / n * 10000 >= bps[b] - 150 &&
			    (double)canary / n * 10000 <= bps[b] + 150);
		steer_free(t);
	}
}

static void
test_splits(void **st)
{
	struct steer_table *t = build(NULL);
	struct pkt_meta m = packet(lab_client, web, 80);
	struct steer_result r;

	(void)st;
	/* By client prefix, whatever the hash: web's flows from 10.9/16. */
	steer_flow(t, PRODUCTION, &m, FLOW_HASH_SPAN - 1, &r);
	assert_int_equal(r.how, STEER_SPLIT);
	assert_int_equal(r.split, 0);
	assert_int_equal(r.egress->port, 1);
	assert_int_equal(r.egress->vlan, 20);
	/* The split is web's only: another destination is not split. */
	m = packet(lab_client, other, 80);
	steer_flow(t, PRODUCTION, &m, 0, &r);
	assert_int_equal(r.how, STEER_STAGE);
	/* By hash in staging: the lower half goes to production's egress. */
	m = packet(client, other, 443);
	steer_flow(t, STAGING, &m, 0, &r);
	assert_int_equal(r.how, STEER_SPLIT);
	assert_int_equal(r.split, 1);
	assert_int_equal(r.egress->port, 0);
	assert_int_equal(r.egress->vlan, STEER_VLAN_NONE);
	steer_flow(t, STAGING, &m, 32767, &r);
	assert_int_equal(r.how, STEER_SPLIT);
	steer_flow(t, STAGING, &m, 32768, &r);
	assert_int_equal(r.how, STEER_STAGE);
	assert_null(r.egress);
	steer_free(t);
}

/* A state the configuration cannot run: refused with the reason. */
static void
test_bad_states(void **st)
{
	static const struct {
		const char *state;
		const char *want;
	} cases[] = {
		{ "{\"web\": {\"qa\": {\"version\": \"v1\"}}}", "names stage 'qa'" },
		{ "{\"web\": {\"production\": {\"version\": \"v1\", \"backend\": \"red\"}}}",
		  "backend 'red'" },
		{ "{\"web\": {\"production\": {\"backend\": \"blue\"}}}", "needs a version" },
		{ "{\"web\": {\"production\": {\"version\": \"v1\", \"canary\": {\"version\": "
		  "\"v2\", \"backend\": \"green\", \"bp\": 10001}}}}", "bp 0..10000" },
		{ "{\"web\": 3}", "must map stages" },
	};

	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *state = json_loads(cases[i].state, 0, NULL);
		char err[256] = "";
		struct steer_table *t;

		assert_non_null(state);
		t = steer_build(conf, state, NULL, err, sizeof(err));
		json_decref(state);
		assert_null(t);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
	}
}

/* A service the state lacks starts from its initial state; one the
 * configuration lacks is dropped. */
static void
test_merge(void **st)
{
	json_t *state = json_loads("{\"gone\": {\"production\": {\"version\": \"v9\"}}}",
				   0, NULL), *canonical = NULL;
	char err[256] = "";
	struct steer_table *t;

	(void)st;
	t = steer_build(conf, state, &canonical, err, sizeof(err));
	assert_non_null(t);
	assert_null(json_object_get(canonical, "gone"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(canonical, "web"), "production"), "backend")), "blue");
	steer_free(t);
	json_decref(canonical);
	json_decref(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_state),
		cmocka_unit_test(test_running),
		cmocka_unit_test(test_canary_by_hash),
		cmocka_unit_test(test_canary_share),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_bad_states),
		cmocka_unit_test(test_merge),
	};

	if (ut_eal_init("steer", "64") < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
