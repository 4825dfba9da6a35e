/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The release workflow in the daemon: what lib/workflow needs of it
 * (configuration, steering state, publishing a generation) and the
 * event/... and workflow/... commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umbra.h"

static const struct umbra_conf *
wf_conf(void *ctx)
{
	struct umbra_app *app = ctx;

	return gen_current(&app->dp.pub)->conf;
}

static const char *
wf_state(void *ctx, uint64_t *generation)
{
	struct umbra_app *app = ctx;
	const struct umbra_gen *g = gen_current(&app->dp.pub);

	if (generation != NULL)
		*generation = g->id;
	return g->state;
}

static const char *
wf_state_of(void *ctx, uint64_t id)
{
	struct umbra_app *app = ctx;
	const struct gen_snapshot *sn = gen_store_get(&app->snapshots, id);

	return sn ? sn->state : NULL;
}

/* The current configuration with new steering: a new generation. */
static uint64_t
wf_publish(void *ctx, const char *state, const char *source, char *err,
	   size_t errlen)
{
	struct umbra_app *app = ctx;
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	const struct gen_snapshot *sn = gen_store_get(&app->snapshots, g->id);

	if (sn == NULL) {
		snprintf(err, errlen, "the YAML of generation %llu is not kept",
			 (unsigned long long)g->id);
		return 0;
	}
	return umbra_apply(app, sn->yaml, sn->len, g->conf->file, state, source, 0,
			   false, err, errlen);
}

/* A transition's steering against the current configuration's invariants. */
static int
wf_check(void *ctx, const json_t *state, char *err, size_t errlen)
{
	return classify_check_invariants(wf_conf(ctx), state, err, errlen);
}

int
umbra_workflow_init(struct umbra_app *app, char *err, size_t errlen)
{
	static const struct workflow_ops ops = {
		.conf = wf_conf, .state = wf_state, .state_of = wf_state_of,
		.publish = wf_publish, .check = wf_check,
		.may_advance = umbra_fleet_may_advance,
	};

	app->workflow = workflow_create(app->base, app->opts.state_dir, &ops, app,
					err, errlen);
	if (app->workflow == NULL)
		return -1;
	/* history.db (opened by the verdicts, flushed by their 100 ms tick)
	 * keeps every transition; memory keeps the recent window. */
	if (umbra_verdict_history(app) != NULL &&
	    workflow_attach_history(app->workflow, umbra_verdict_history(app), err,
				    errlen) < 0)
		return -1;
	umbra_snapshots_prune(app); /* a lowered snapshots.keep applies at once */
	return 0;
}

/* Values that reach hooks are checked first: a bad one is invalid_args. */
static json_t *
event_cmd(struct umbra_app *app, const char *event, json_t *args,
	  struct mgmt_error *err)
{
	if (workflow_args_check(args, err->message, sizeof(err->message)) < 0) {
		err->code = MGMT_E_ARGS;
		return NULL;
	}
	if (app->fleet != NULL)   /* the fleet's leader runs it, every member follows */
		return umbra_fleet_event(app, event, args, err);
	return workflow_event(app->workflow, event, args, err->message,
			      sizeof(err->message));
}

static json_t *
cmd_code_commit(json_t *args, void *ctx, struct mgmt_error *err)
{
	return event_cmd(ctx, "code_commit", args, err);
}

static json_t *
cmd_test_completion(json_t *args, void *ctx, struct mgmt_error *err)
{
	return event_cmd(ctx, "test_completion", args, err);
}

/* An approval passes the verdict's gate first and shows the risk estimate. */
static json_t *
cmd_manual_approval(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *risk, *r;

	if (workflow_args_check(args, err->message, sizeof(err->message)) < 0) {
		err->code = MGMT_E_ARGS;
		return NULL;
	}
	risk = umbra_verdict_approval(app, json_string_value(json_object_get(args, "service")),
				      json_string_value(json_object_get(args, "version")),
				      err->message, sizeof(err->message));
	if (risk == NULL)
		return NULL;
	r = event_cmd(ctx, "manual_approval", args, err);
	if (r != NULL) {
		umbra_verdict_approved(app, json_string_value(json_object_get(args, "service")),
				       json_string_value(json_object_get(args, "version")));
		if (json_is_object(r) && json_object_size(risk) > 0)
			json_object_set(r, "risk", risk);
	}
	json_decref(risk);
	return r;
}

static json_t *
cmd_rollback(json_t *args, void *ctx, struct mgmt_error *err)
{
	return event_cmd(ctx, "rollback", args, err);
}

static json_t *
cmd_workflow_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *svc = json_string_value(json_object_get(args, "service"));

	if (svc != NULL && conf_service_index(wf_conf(app), svc) < 0) {
		mgmt_fail(err, MGMT_E_FAILED, "unknown service '%s'", svc);
		return NULL;
	}
	return workflow_status(app->workflow, svc);
}

static json_t *
cmd_workflow_history(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *limit = json_object_get(args, "limit");
	json_t *before = json_object_get(args, "before");
	json_int_t n = limit ? json_integer_value(limit) : 50;
	json_int_t b = before ? json_integer_value(before) : 0;

	if (n < 1 || n > 10000) {
		mgmt_fail(err, MGMT_E_ARGS, "workflow/history: limit must be 1..10000");
		return NULL;
	}
	/* Paging: before = the last id of the previous page. */
	if (before != NULL && b < 1) {
		mgmt_fail(err, MGMT_E_ARGS, "workflow/history: before must be a "
			  "transition number (1 or more)");
		return NULL;
	}
	return workflow_history(app->workflow,
				json_string_value(json_object_get(args, "service")),
				(size_t)n, (uint64_t)b);
}

static json_t *
cmd_workflow_transition(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_int_t id = json_integer_value(json_object_get(args, "id"));
	json_t *t = workflow_transition(app->workflow, (uint64_t)id);

	if (t == NULL)
		mgmt_fail(err, MGMT_E_FAILED, "no transition %lld (see workflow/history)",
			  (long long)id);
	return t;
}

int
umbra_workflow_register(struct umbra_app *app)
{
	static const struct mgmt_arg commit_args[] = {
		{ "service", MGMT_ARG_STRING, true }, { "version", MGMT_ARG_STRING, true },
		{ "ref", MGMT_ARG_STRING, false }, { NULL },
	};
	static const struct mgmt_arg test_args[] = {
		{ "service", MGMT_ARG_STRING, true }, { "version", MGMT_ARG_STRING, true },
		{ "passed", MGMT_ARG_BOOLEAN, true }, { "results", MGMT_ARG_OBJECT, false },
		{ NULL },
	};
	static const struct mgmt_arg approval_args[] = {
		{ "service", MGMT_ARG_STRING, true }, { "version", MGMT_ARG_STRING, true },
		{ "approver", MGMT_ARG_STRING, true }, { NULL },
	};
	static const struct mgmt_arg rollback_args[] = {
		{ "service", MGMT_ARG_STRING, true }, { "to_stage", MGMT_ARG_STRING, false },
		{ "stage", MGMT_ARG_STRING, false },
		{ "to_generation", MGMT_ARG_INTEGER, false },
		{ "reason", MGMT_ARG_STRING, false }, { NULL },
	};
	static const struct mgmt_arg service_opt[] = {
		{ "service", MGMT_ARG_STRING, false }, { NULL },
	};
	static const struct mgmt_arg history_args[] = {
		{ "service", MGMT_ARG_STRING, false }, { "limit", MGMT_ARG_INTEGER, false },
		{ "before", MGMT_ARG_INTEGER, false }, { NULL },
	};
	static const struct mgmt_arg id_arg[] = {
		{ "id", MGMT_ARG_INTEGER, true }, { NULL },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "event/code_commit", "A new version of a service: into the first "
		  "pipeline stage (dev).", commit_args, cmd_code_commit },
		{ "event/test_completion", "Test results of a version in test: promotes "
		  "it to staging when passed.", test_args, cmd_test_completion },
		{ "event/manual_approval", "Approve a version in staging for production "
		  "(gradually when a rollout is set).", approval_args, cmd_manual_approval },
		{ "event/rollback", "Undo a service's last transition, or every stage "
		  "after to_stage, or its release in stage (with every rollout step), "
		  "or restore its steering of to_generation.",
		  rollback_args, cmd_rollback },
		{ "workflow/status", "What runs where, releases, rollouts, per service.",
		  service_opt, cmd_workflow_status },
		{ "workflow/history", "Transitions, newest first, with hooks and rollback "
		  "signatures; before=ID pages back (older ones from history.db).",
		  history_args, cmd_workflow_history },
		{ "workflow/transition", "One transition by number.", id_arg,
		  cmd_workflow_transition },
	};

	return mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app);
}

/* Workflow lines of /metrics (Prometheus text) appended to @p f. */
void
umbra_workflow_metrics(struct umbra_app *app, FILE *f)
{
	json_t *m = workflow_metrics(app->workflow), *v;
	const char *key;
	size_t i;

	fprintf(f, "# HELP umbra_workflow_transitions Transitions kept, by status.\n"
		"# TYPE umbra_workflow_transitions gauge\n");
	json_object_foreach(json_object_get(m, "transitions"), key, v)
		fprintf(f, "umbra_workflow_transitions{status=\"%s\"} %lld\n", key,
			(long long)json_integer_value(v));
	fprintf(f, "# HELP umbra_workflow_running Transitions running hooks now.\n"
		"# TYPE umbra_workflow_running gauge\n"
		"umbra_workflow_running %lld\n",
		(long long)json_integer_value(json_object_get(m, "running")));
	fprintf(f, "# HELP umbra_release_info Live releases: where each version is.\n"
		"# TYPE umbra_release_info gauge\n");
	json_array_foreach(json_object_get(m, "releases"), i, v)
		fprintf(f, "umbra_release_info{service=\"%s\",version=\"%s\",stage=\"%s\","
			"status=\"%s\"} 1\n",
			json_string_value(json_object_get(v, "service")),
			json_string_value(json_object_get(v, "version")),
			json_string_value(json_object_get(v, "stage")),
			json_string_value(json_object_get(v, "status")));
	json_decref(m);
}
