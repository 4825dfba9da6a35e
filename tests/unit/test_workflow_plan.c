/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: lib/workflow's events to transitions (workflow_plan.c) on
 * their own: pure, configuration and state in, a plan out. A release walks
 * the default pipeline (dev, test automatically, staging, production as a
 * canary rollout), and events the pipeline does not take where the release
 * is are refused with the reason. No EAL, no event loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "workflow_private.h"

/* Default pipeline; web runs v1 on blue in production, green is free, and
 * a release enters production as a 5% canary, then 50%, then whole. */
static const char yaml[] =
	"ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n"
	"stages:\n  - { name: production, default: true, egress: { port: a } }\n"
	"  - { name: staging, egress: { port: b } }\n"
	"  - { name: test, egress: { port: b, vlan: 2 } }\n"
	"  - { name: dev, egress: { port: b, vlan: 3 } }\n"
	"services:\n  - name: web\n    match: { proto: tcp, dport: 80 }\n"
	"    backends: [ { name: blue, port: a }, { name: green, port: a } ]\n"
	"    stages: { production: { backends: [blue, green], running: v1 } }\n"
	"    rollout: { steps: [5, 50, 100], hold_s: 30, stage: production }\n";

static struct umbra_conf *conf;
static json_t *state, *releases, *history, *busy;

static int
setup(void **st)
{
	char err[512] = "";

	(void)st;
	conf = conf_load_string(yaml, sizeof(yaml) - 1, "t.yaml", err, sizeof(err));
	if (conf == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	conf_free(conf);
	return 0;
}

/* Each test starts from nothing released and v1 running in production. */
static int
fresh(void **st)
{
	(void)st;
	state = json_pack("{s:{s:{s:s,s:s}}}", "web", "production", "version", "v1",
			  "backend", "blue");
	releases = json_object();
	history = json_array();
	busy = json_object();
	return 0;
}

static int
done(void **st)
{
	(void)st;
	json_decref(state);
	json_decref(releases);
	json_decref(history);
	json_decref(busy);
	return 0;
}

static struct wf_inputs
inputs(void)
{
	return (struct wf_inputs){ .conf = conf, .state = state, .releases = releases,
				   .history = history, .busy = busy };
}

/* Plan @p event with @p args (a JSON text): 0 or -1 with @p err. */
static int
plan(const char *event, const char *args_json, struct wf_plan *p, char *err, size_t len)
{
	struct wf_inputs in = inputs();
	json_t *args = json_loads(args_json, 0, NULL);
	int rc;

	assert_non_null(args);
	err[0] = '\0';
	rc = wf_plan_make(&in, event, args, p, err, len);
	json_decref(args);
	return rc;
}

/* Plan and apply: the state moves on and the releases follow. */
static json_t *
run(const char *event, const char *args_json)
{
	struct wf_plan p;
	char err[512];
	json_t *t;

	if (plan(event, args_json, &p, err, sizeof(err)) < 0)
		fail_msg("%s %s refused: %s", event, args_json, err);
	t = json_incref(p.transition);
	json_decref(state);
	state = json_incref(p.state);
	wf_plan_done(conf, releases, history, t, state);
	json_array_append(history, t);
	wf_plan_clear(&p);
	json_decref(t);
	return t;       /* borrowed from history */
}

static void
refused(const char *event, const char *args_json, const char *want)
{
	struct wf_plan p;
	char err[512];

	if (plan(event, args_json, &p, err, sizeof(err)) == 0)
		fail_msg("%s %s was not refused", event, args_json);
	if (strstr(err, want) == NULL)
		fail_msg("%s: '%s' lacks '%s'", event, err, want);
	assert_null(p.transition);
	assert_null(p.state);
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static const json_t *
release(const char *version)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(releases, "web"), i, r)
		if (strcmp(str(r, "version"), version) == 0)
			return r;
	fail_msg("no release %s", version);
	return NULL;
}

static const json_t *
slot(const char *stage)
{
	return wf_slot(state, "web", stage);
}

static void
test_pipeline(void **st)
{
	json_t *t, *change;
	const json_t *canary;

	(void)st;
	t = run("code_commit", "{\"service\": \"web\", \"version\": \"v2\", \"ref\": \"abc\"}");
	assert_string_equal(str(t, "to_stage"), "dev");
	assert_string_equal(str(t, "from_stage"), "");
	change = json_array_get(json_object_get(t, "changes"), 0);
	assert_string_equal(str(change, "stage"), "dev");
	assert_true(json_is_null(json_object_get(change, "before")));
	assert_string_equal(str(slot("dev"), "version"), "v2");
	assert_string_equal(str(release("v2"), "stage"), "dev");
	assert_string_equal(str(release("v2"), "status"), "active");

	t = run("auto", "{\"service\": \"web\", \"version\": \"v2\", \"from_stage\": \"dev\"}");
	assert_string_equal(str(t, "to_stage"), "test");
	assert_string_equal(str(release("v2"), "stage"), "test");

	run("test_completion", "{\"service\": \"web\", \"version\": \"v2\", \"passed\": true}");
	assert_string_equal(str(release("v2"), "stage"), "staging");
	assert_string_equal(str(slot("staging"), "version"), "v2");

	/* Production has a rollout: v2 enters as a canary on the free backend. */
	t = run("manual_approval", "{\"service\": \"web\", \"version\": \"v2\", "
		"\"approver\": \"ann\"}");
	assert_string_equal(str(t, "to_stage"), "production");
	assert_string_equal(str(slot("production"), "version"), "v1");
	canary = json_object_get(slot("production"), "canary");
	assert_string_equal(str(canary, "version"), "v2");
	assert_string_equal(str(canary, "backend"), "green");
	assert_int_equal(json_integer_value(json_object_get(canary, "bp")), 500);
	assert_string_equal(str(release("v2"), "status"), "rolling_out");

	t = run("rollout_step", "{\"service\": \"web\"}");
	assert_int_equal(json_integer_value(json_object_get(t, "bp")), 5000);
	t = run("rollout_step", "{\"service\": \"web\"}");
	assert_int_equal(json_integer_value(json_object_get(t, "bp")), 10000);
	assert_null(json_object_get(slot("production"), "canary"));
	assert_string_equal(str(slot("production"), "version"), "v2");
	assert_string_equal(str(slot("production"), "backend"), "green");
	assert_string_equal(str(release("v2"), "status"), "active");
	refused("rollout_step", "{\"service\": \"web\"}", "web is not rolling out in production");
}

/* Failed tests are recorded and change no steering. */
static void
test_failed_tests(void **st)
{
	struct wf_plan p;
	char err[256];

	(void)st;
	run("code_commit", "{\"service\": \"web\", \"version\": \"v2\"}");
	run("auto", "{\"service\": \"web\", \"version\": \"v2\", \"from_stage\": \"dev\"}");
	assert_int_equal(plan("test_completion", "{\"service\": \"web\", \"version\": "
			      "\"v2\", \"passed\": false}", &p, err, sizeof(err)), 0);
	assert_false(p.publish);
	assert_true(json_equal(p.state, state));
	assert_string_equal(str(p.transition, "from_stage"), "test");
	assert_string_equal(str(p.transition, "to_stage"), "test");
	wf_plan_clear(&p);
	run("test_completion", "{\"service\": \"web\", \"version\": \"v2\", \"passed\": false}");
	assert_string_equal(str(release("v2"), "status"), "failed");
	refused("manual_approval", "{\"service\": \"web\", \"version\": \"v2\", "
		"\"approver\": \"ann\"}", "web v2 is failed (in test)");
}

/* Events the pipeline does not take where the release is: refused. */
static void
test_refusals(void **st)
{
	(void)st;
	refused("deploy", "{\"service\": \"web\"}", "unknown event 'deploy'");
	refused("code_commit", "{\"version\": \"v2\"}", "the event needs a service");
	refused("code_commit", "{\"service\": \"api\", \"version\": \"v2\"}",
		"unknown service 'api'");
	refused("code_commit", "{\"service\": \"web\", \"version\": \"-v2 x\"}",
		"code_commit needs a version");
	refused("test_completion", "{\"service\": \"web\", \"version\": \"v9\", "
		"\"passed\": true}", "web v9 was never committed");
	refused("test_completion", "{\"service\": \"web\"}", "test_completion needs a version");
	run("code_commit", "{\"service\": \"web\", \"version\": \"v2\"}");
	refused("code_commit", "{\"service\": \"web\", \"version\": \"v2\"}",
		"web v2 is already in the pipeline (in dev)");
	refused("test_completion", "{\"service\": \"web\", \"version\": \"v2\", "
		"\"passed\": true}", "web v2 is in dev; test_completion is taken only in test");
	refused("manual_approval", "{\"service\": \"web\", \"version\": \"v2\", "
		"\"approver\": \"ann\"}", "manual_approval is taken only in staging");
	refused("auto", "{\"service\": \"web\", \"version\": \"v2\", \"from_stage\": "
		"\"test\"}", "no automatic step after test");
	refused("rollout_step", "{\"service\": \"web\"}", "not rolling out");
	run("auto", "{\"service\": \"web\", \"version\": \"v2\", \"from_stage\": \"dev\"}");
	run("test_completion", "{\"service\": \"web\", \"version\": \"v2\", \"passed\": true}");
	refused("manual_approval", "{\"service\": \"web\", \"version\": \"v2\"}",
		"manual_approval needs an approver");
	/* One transition at a time per service. */
	json_object_set_new(busy, "web", json_integer(7));
	refused("manual_approval", "{\"service\": \"web\", \"version\": \"v2\", "
		"\"approver\": \"ann\"}", "transition 7 of web is still running its hooks");
}

/* Commit @p version and take it to staging. */
static void
to_staging(const char *version)
{
	char args[128];

	snprintf(args, sizeof(args), "{\"service\": \"web\", \"version\": \"%s\"}", version);
	run("code_commit", args);
	snprintf(args, sizeof(args), "{\"service\": \"web\", \"version\": \"%s\", "
		 "\"from_stage\": \"dev\"}", version);
	run("auto", args);
	snprintf(args, sizeof(args), "{\"service\": \"web\", \"version\": \"%s\", "
		 "\"passed\": true}", version);
	run("test_completion", args);
}

/* A release may not enter a stage where another is still rolling out. */
static void
test_rolling_out_blocks(void **st)
{
	(void)st;
	to_staging("v2");
	run("manual_approval", "{\"service\": \"web\", \"version\": \"v2\", \"approver\": \"a\"}");
	to_staging("v3");
	refused("manual_approval", "{\"service\": \"web\", \"version\": \"v3\", "
		"\"approver\": \"a\"}", "web v2 is still rolling out in production");
}

/* Releases are trimmed to a cap: the oldest ended ones first, live ones
 * never (the list grew by one per commit, forever). */
static void
test_releases_trim(void **state)
{
	json_t *releases = json_object(), *list = json_array();

	(void)state;
	for (int i = 0; i < 10; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%d", i);
		json_array_append_new(list, json_pack("{s:s,s:s}", "version", v, "status",
						      i == 1 ? WF_ACTIVE : WF_ROLLED_BACK));
	}
	json_object_set_new(releases, "web", list);
	wf_releases_trim(releases, 4);
	assert_int_equal(json_array_size(list), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0),
							      "version")), "v1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1),
							      "version")), "v7");
	wf_releases_trim(releases, 1);
	assert_int_equal(json_array_size(list), 1);   /* the live one stays */
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0),
							      "version")), "v1");
	json_decref(releases);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipeline, fresh, done),
		cmocka_unit_test_setup_teardown(test_failed_tests, fresh, done),
		cmocka_unit_test_setup_teardown(test_refusals, fresh, done),
		cmocka_unit_test_setup_teardown(test_rolling_out_blocks, fresh, done),
		cmocka_unit_test(test_releases_trim),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
