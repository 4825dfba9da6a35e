/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet for operators: fleet/status, fleet/apply, fleet/decide, the
 * fleet section of status, and the fleet's /metrics lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umbra_fleet_private.h"

static json_t *
members_json(struct umbra_fleet *f)
{
	json_t *members = json_array();

	for (unsigned int i = 0; i < f->n_members; i++) {
		const struct fleet_member *m = &f->members[i];
		json_t *d = m->doc ? json_deep_copy(m->doc) : json_object();
		json_int_t rev = json_integer_value(json_object_get(d, "config_revision"));
		json_int_t lrev = json_integer_value(json_object_get(d, "log_revision"));

		json_object_del(d, "evidence");   /* summed in "evidence" */
		json_object_set_new(d, "id", json_string(m->id));
		json_object_set_new(d, "in_sync", json_boolean(rev == f->config_rev));
		/* Lag: revisions of the desired configuration it does not run. */
		json_object_set_new(d, "lag_revisions",
				    json_integer(f->config_rev > rev ? f->config_rev - rev : 0));
		/* and log entries of the leader it has not followed yet */
		json_object_set_new(d, "log_lag", json_boolean(lrev < f->log_followed));
		json_object_set_new(d, "is_leader",
				    json_boolean(strcmp(m->id, f->leader_id) == 0));
		json_array_append_new(members, d);
	}
	return members;
}

static json_t *
etcd_json(struct umbra_fleet *f)
{
	uint64_t now = mgmt_now_ms();

	return json_pack("{s:b,s:s,s:I,s:s?,s:I}", "reachable", f->up,
			 "endpoint", etcd_client_endpoint(f->cli),
			 "lost_for_ms", (json_int_t)(f->up || f->lost_at_ms == 0 ? 0 :
						     now - f->lost_at_ms),
			 "last_error", f->last_error[0] ? f->last_error : NULL,
			 "sessions", (json_int_t)f->sessions);
}

static json_t *
leader_json(struct umbra_fleet *f)
{
	return json_pack("{s:s?,s:b,s:I,s:f,s:I,s:I,s:I,s:I}",
			 "id", f->leader_id[0] ? f->leader_id : NULL, "me", f->leader,
			 "since_ms", (json_int_t)f->leader_since_ms,
			 "last_failover_ms", f->failover_ms,
			 "elections", (json_int_t)f->elections, "terms", (json_int_t)f->terms,
			 "events_waiting", (json_int_t)f->n_ev,
			 "fenced_writes", (json_int_t)f->fenced);
}

static json_t *
config_json(struct umbra_fleet *f)
{
	json_t *local = json_array();

	for (unsigned int i = 0; i < CONF_FLEET_LOCAL_KEYS; i++)
		if (f->cf.local & (1u << i))
			json_array_append_new(local, json_string(conf_fleet_local_keys[i]));
	return json_pack("{s:I,s:I,s:I,s:I,s:f,s:b,s:o,s:o}",
		"revision", (json_int_t)f->config_rev,
		"applied_revision", (json_int_t)f->applied_rev,
		"generation", (json_int_t)f->applied_gen,
		"applied_at_ms", (json_int_t)f->applied_at_ms,
		"apply_ms", f->apply_ms,
		"in_sync", f->config_rev == f->applied_rev,
		"local_keys", local,
		"refused", f->refused_rev == 0 ? json_null() :
			json_pack("{s:I,s:s}", "revision", (json_int_t)f->refused_rev,
				  "reason", f->refused));
}

static json_t *
cmd_fleet_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_fleet *f = app->fleet;
	json_t *o;

	(void)args;
	(void)err;
	if (f == NULL)
		return json_pack("{s:b}", "enabled", 0);
	o = json_pack("{s:b,s:s,s:s,s:o,s:s?,s:o,s:I,s:I,s:I}",
		      "enabled", 1, "id", f->cf.id, "prefix", f->cf.prefix,
		      "etcd", etcd_json(f),
		      "leader", f->leader_id[0] ? f->leader_id : NULL,
		      "leadership", leader_json(f),
		      "revision", (json_int_t)f->rev_seen,
		      "generation", (json_int_t)gen_current(&app->dp.pub)->id,
		      "lease", (json_int_t)f->lease);
	json_object_set_new(o, "config", config_json(f));
	json_object_set_new(o, "members", members_json(f));
	json_object_set_new(o, "evidence", fleet_evidence(f));
	json_object_set_new(o, "log", fleet_log_json(f));
	json_object_set_new(o, "log_revision", json_integer((json_int_t)f->log_followed));
	json_object_set_new(o, "log_waited", json_integer((json_int_t)f->log_waited_n));
	json_object_set_new(o, "log_refused", json_integer((json_int_t)f->log_refused_n));
	json_object_set_new(o, "decisions", fleet_decisions_json(f));
	json_object_set_new(o, "write", json_pack("{s:s,s:I,s:I,s:s?}",
		"state", f->write.state, "expected_revision", (json_int_t)f->write.expected,
		"revision", (json_int_t)f->write.revision,
		"error", f->write.error[0] ? f->write.error : NULL));
	return o;
}

json_t *
umbra_fleet_summary(struct umbra_app *app)
{
	struct umbra_fleet *f = app->fleet;

	if (f == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:s,s:s?,s:b,s:I,s:I,s:b,s:I,s:s?}",
		"id", f->cf.id, "prefix", f->cf.prefix,
		"etcd", f->up ? "connected" : "disconnected",
		"leader", f->leader_id[0] ? f->leader_id : NULL, "leading", f->leader,
		"members", (json_int_t)f->n_members,
		"generation", (json_int_t)gen_current(&app->dp.pub)->id,
		/* without etcd: forwarding on the last generation it had */
		"last_generation", !f->up,
		"config_revision", (json_int_t)f->applied_rev,
		"last_error", f->up || !f->last_error[0] ? NULL : f->last_error);
}

/* fleet/decide: a rollback decided here, as the verdict does (for operators
 * and tests): rolled back locally, then published to every member. */
static json_t *
cmd_fleet_decide(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *svc = json_string_value(json_object_get(args, "service"));
	const char *ver = json_string_value(json_object_get(args, "version"));
	const char *reason = json_string_value(json_object_get(args, "reason"));
	const char *stage = json_string_value(json_object_get(args, "stage"));
	json_t *wa, *r;

	if (app->fleet == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "no fleet: this umbra is standalone");
		return NULL;
	}
	if (workflow_args_check(args, err->message, sizeof(err->message)) < 0) {
		err->code = MGMT_E_ARGS;
		return NULL;
	}
	wa = json_pack("{s:s,s:s}", "service", svc, "reason", reason ? reason : "fleet/decide");
	if (stage)
		json_object_set_new(wa, "stage", json_string(stage));
	r = workflow_event(app->workflow, "rollback", wa, err->message, sizeof(err->message));
	json_decref(wa);
	if (r == NULL)
		return NULL;
	umbra_fleet_publish_rollback(app, svc, ver, stage, reason ? reason : "fleet/decide");
	return json_pack("{s:o,s:b}", "rollback", r, "published", app->fleet->synced);
}

int
umbra_fleet_register(struct umbra_app *app)
{
	static const struct mgmt_arg apply_args[] = {
		{ "path", MGMT_ARG_STRING, true }, { "revision", MGMT_ARG_INTEGER, false },
		{ NULL },
	};
	static const struct mgmt_arg decide_args[] = {
		{ "service", MGMT_ARG_STRING, true }, { "version", MGMT_ARG_STRING, false },
		{ "stage", MGMT_ARG_STRING, false }, { "reason", MGMT_ARG_STRING, false },
		{ NULL },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "fleet/status", "The fleet: etcd reachable, the leader, members with "
		  "their generations and lag, the desired configuration, the leader's log, "
		  "the cohorts' evidence summed, decisions.", NULL, cmd_fleet_status },
		{ "fleet/apply", "Validate a configuration file here, then make it the "
		  "fleet's desired configuration (compare-and-swap on revision, default "
		  "the one seen last); every member applies it.", apply_args,
		  fleet_cmd_apply },
		{ "fleet/decide", "Roll a service back here and publish the decision: "
		  "the leader rolls it back fleet-wide.", decide_args, cmd_fleet_decide },
	};

	return mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app);
}

void
umbra_fleet_metrics(struct umbra_app *app, FILE *out)
{
	struct umbra_fleet *f = app->fleet;

	if (f == NULL)
		return;
	fprintf(out,
		"# HELP umbra_fleet_etcd_up Whether etcd answers (0: forwarding on the last "
		"generation, resync when it returns).\n# TYPE umbra_fleet_etcd_up gauge\n"
		"umbra_fleet_etcd_up %d\n"
		"# HELP umbra_fleet_etcd_lost_seconds How long etcd has been unreachable.\n"
		"# TYPE umbra_fleet_etcd_lost_seconds gauge\numbra_fleet_etcd_lost_seconds %.3f\n"
		"# HELP umbra_fleet_generation The generation this member runs.\n"
		"# TYPE umbra_fleet_generation gauge\numbra_fleet_generation %" PRIu64 "\n"
		"# HELP umbra_fleet_members Members with a live key.\n"
		"# TYPE umbra_fleet_members gauge\numbra_fleet_members %u\n"
		"# HELP umbra_fleet_leader Whether this member leads the fleet's workflow.\n"
		"# TYPE umbra_fleet_leader gauge\numbra_fleet_leader %d\n"
		"# HELP umbra_fleet_leader_known Whether a leader is known.\n"
		"# TYPE umbra_fleet_leader_known gauge\numbra_fleet_leader_known %d\n"
		"# HELP umbra_fleet_config_in_sync Whether this runs the desired configuration.\n"
		"# TYPE umbra_fleet_config_in_sync gauge\numbra_fleet_config_in_sync %d\n"
		"# HELP umbra_fleet_config_revision Desired configuration: newest seen, applied.\n"
		"# TYPE umbra_fleet_config_revision gauge\n"
		"umbra_fleet_config_revision{which=\"desired\"} %" PRId64 "\n"
		"umbra_fleet_config_revision{which=\"applied\"} %" PRId64 "\n"
		"# HELP umbra_fleet_log_revision The leader's log followed up to here.\n"
		"# TYPE umbra_fleet_log_revision gauge\numbra_fleet_log_revision %" PRId64 "\n",
		f->up ? 1 : 0, f->up || !f->lost_at_ms ? 0.0 :
		(double)(mgmt_now_ms() - f->lost_at_ms) / 1000.0,
		gen_current(&app->dp.pub)->id, f->n_members, f->leader ? 1 : 0,
		f->leader_id[0] ? 1 : 0, f->config_rev == f->applied_rev ? 1 : 0,
		f->config_rev, f->applied_rev, f->log_followed);
	fprintf(out,
		"# HELP umbra_fleet_events_total Fleet events by kind.\n"
		"# TYPE umbra_fleet_events_total counter\n"
		"umbra_fleet_events_total{kind=\"session\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"apply\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"refusal\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"decision_published\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"decision_followed\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"watch_event\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"election\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"term_won\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"event_forwarded\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"event_taken\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"log_followed\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"log_refused\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"log_waited\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"fenced_write\"} %" PRIu64 "\n",
		f->sessions, f->applies, f->refusals, f->published, f->followed, f->events,
		f->elections, f->terms, f->forwarded, f->taken, f->log_followed_n,
		f->log_refused_n, f->log_waited_n, f->fenced);
}
