/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the graph: section of the YAML (lib/conf conf_graph.c): the
 * defaults, every key read, and each bad value refused with
 * file:line:col and what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"

/* Ports on lines 1-3, stages on 4-5: graph: starts at line 6. */
#define BASE "ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n" \
	     "stages:\n  - { name: prod, default: true, egress: { port: a } }\n"

static struct umbra_conf *
load(const char *yaml, char *err, size_t errlen)
{
	return conf_load_string(yaml, strlen(yaml), "t.yaml", err, errlen);
}

static void
test_defaults(void **state)
{
	char err[512] = "";
	struct umbra_conf *c = load(BASE, err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->graph.golden_bake_ms, 60000);
	assert_int_equal(c->graph.max_edges, 65536);
	assert_int_equal(c->graph.max_names, 16384);
	assert_int_equal(c->graph.max_registry, 4096);
	assert_int_equal(c->graph.min_gap_ms, 60000);
	assert_int_equal(c->graph.min_flows, 5);
	conf_free(c);
}

static void
test_every_key(void **state)
{
	char err[512] = "";
	struct umbra_conf *c = load(BASE "graph:\n  threshold: 30%\n  min_gap: 2s\n"
				    "  min_flows: 3\n  k_gap: 3\n  golden_bake: 90s\n"
				    "  max_edges: 1048576\n  max_names: 4096\n"
				    "  max_registry: 64\n", err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_true(c->graph.threshold > 0.29 && c->graph.threshold < 0.31);
	assert_int_equal(c->graph.min_gap_ms, 2000);
	assert_int_equal(c->graph.min_flows, 3);
	assert_true(c->graph.k_gap == 3.0);
	assert_int_equal(c->graph.golden_bake_ms, 90000);
	assert_int_equal(c->graph.max_edges, 1048576);
	assert_int_equal(c->graph.max_names, 4096);
	assert_int_equal(c->graph.max_registry, 64);
	conf_free(c);
	/* golden_bake: 0 turns the automatic golden graphs off. */
	c = load(BASE "graph: { golden_bake: 0s }\n", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->graph.golden_bake_ms, 0);
	conf_free(c);
}

static const struct {
	const char *yaml;
	const char *error;
} bad[] = {
	{ BASE "graph: { max_edges: 10 }\n",
	  "t.yaml:6:21: max_edges must be a whole number from 1024 to 16777216, not '10'" },
	{ BASE "graph: { max_names: 99999999 }\n",
	  "t.yaml:6:21: max_names must be a whole number from 256 to 4194304, not '99999999'" },
	{ BASE "graph: { max_registry: many }\n",
	  "t.yaml:6:24: max_registry must be a whole number from 16 to 1048576, not 'many'" },
	{ BASE "graph: { golden_bake: 25h }\n",
	  "t.yaml:6:23: golden_bake must be at most 24h, not '25h'" },
	{ BASE "graph: { golden_bake: soon }\n", NULL },
	{ BASE "graph: { k_gap: 0.5 }\n",
	  "t.yaml:6:17: k_gap must be a number from 1 to 100, not '0.5'" },
	{ BASE "graph: { min_gap: 25h }\n",
	  "t.yaml:6:19: min_gap must be at most 24h, not '25h'" },
	{ BASE "graph: { max_edge: 4096 }\n",
	  "t.yaml:6:10: unknown key 'max_edge' in graph" },
};

static void
test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct umbra_conf *c = load(bad[i].yaml, err, sizeof(err));

		if (c != NULL)
			fail_msg("case %zu loaded but must fail", i);
		/* Every refusal points at the value: file:line:col. */
		if (strncmp(err, "t.yaml:6:", 9) != 0)
			fail_msg("case %zu: no position: %s", i, err);
		if (bad[i].error && strcmp(err, bad[i].error) != 0)
			fail_msg("case %zu:\n  got  %s\n  want %s", i, err, bad[i].error);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
