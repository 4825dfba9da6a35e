/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Release verdicts for operators: verdict/status, verdict/gate,
 * analytics/summary, and the per-cohort counters and latency histograms
 * in /metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "umbra_verdict_private.h"

/* ---- commands ---- */

static const struct verdict_slot *
slot_named(struct umbra_app *app, const char *service, int *si_out, struct mgmt_error *err)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	int si = conf_service_index(c, service);

	if (si < 0 || si >= CONF_MAX_SERVICES) {
		err->code = MGMT_E_ARGS;
		snprintf(err->message, sizeof(err->message), "unknown service '%s'", service);
		return NULL;
	}
	*si_out = si;
	return &app->verdicts->s[si];
}

static json_t *
cmd_verdict_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *service = json_string_value(json_object_get(args, "service"));
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	json_t *list = json_array();

	for (uint32_t si = 0; si < c->n_services && si < CONF_MAX_SERVICES; si++) {
		const struct verdict_slot *s = &app->verdicts->s[si];

		if (service && strcmp(service, c->services[si].name) != 0)
			continue;
		if (s->active || s->rel.d.state != VERDICT_HOLD || s->canary[0])
			json_array_append_new(list, vd_decision_json(c->services[si].name, s->canary,
								  s->control, &s->rel));
	}
	if (service && conf_service_index(c, service) < 0) {
		json_decref(list);
		err->code = MGMT_E_ARGS;
		snprintf(err->message, sizeof(err->message), "unknown service '%s'", service);
		return NULL;
	}
	json_t *shadows = json_array();

	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		const struct shadow_slot *sl = &app->verdicts->sh[i];
		char canary[CONF_VERSION_MAX + CONF_NAME_MAX + 16];

		if (!sl->used || (uint32_t)sl->service >= c->n_services ||
		    (service && strcmp(service, c->services[sl->service].name) != 0))
			continue;
		snprintf(canary, sizeof(canary), "%s (shadow %s)", sl->version, sl->name);
		json_array_append_new(shadows, vd_decision_json(c->services[sl->service].name,
							     canary, "production", &sl->rel));
	}
	return json_pack("{s:o,s:o,s:I,s:I}", "releases", list, "shadows", shadows,
			 "decisions", (json_int_t)app->verdicts->decisions,
			 "rollbacks", (json_int_t)app->verdicts->rollbacks);
}

/*
 * The gate a pipeline asks: go (0), rollback or not judged (1), hold (3).
 * It answers at once; umbractl gate --wait polls it, so no command ever
 * holds the loop.
 */
static json_t *
cmd_verdict_gate(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *service = json_string_value(json_object_get(args, "service"));
	const char *version = json_string_value(json_object_get(args, "version"));
	const struct verdict_slot *s;
	const char *gate;
	int si;

	if ((s = slot_named(app, service, &si, err)) == NULL)
		return NULL;
	if (s->canary[0] == '\0' || strcmp(s->canary, version) != 0) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "service", service, "version",
				      version, "gate", "no_go", "reason", "");
		char why[200];

		snprintf(why, sizeof(why), "%s %s is not under judgement (%s)", service,
			 version, s->canary[0] ? s->canary : "no canary");
		json_object_set_new(o, "reason", json_string(why));
		return o;
	}
	switch (s->rel.d.state) {
	case VERDICT_GO: gate = "go"; break;
	case VERDICT_ROLLBACK: gate = "no_go"; break;
	default: gate = "hold"; break;
	}
	json_t *o = vd_decision_json(service, s->canary, s->control, &s->rel);

	json_object_set_new(o, "gate", json_string(gate));
	return o;
}

static json_t *
cmd_analytics_summary(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct history_summary sm;
	json_t *causes;

	(void)args;
	if (app->verdicts->hist == NULL) {
		err->code = MGMT_E_FAILED;
		snprintf(err->message, sizeof(err->message), "no history: start umbra with "
			 "--state-dir to keep releases and decisions");
		return NULL;
	}
	if (history_summarize(app->verdicts->hist, &sm) < 0) {
		err->code = MGMT_E_FAILED;
		snprintf(err->message, sizeof(err->message), "%s",
			 history_error(app->verdicts->hist));
		return NULL;
	}
	causes = json_array();
	for (unsigned int i = 0; i < sm.n_causes; i++)
		json_array_append_new(causes, json_pack("{s:s,s:s,s:I}", "metric",
			sm.causes[i].metric, "mode", sm.causes[i].mode,
			"rollbacks", (json_int_t)sm.causes[i].count));
#define OR_NULL(x) ((x) < 0 ? json_null() : json_real(x))
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:{s:o,s:o},s:o}",
		"releases", (json_int_t)sm.releases, "changes_validated", (json_int_t)sm.validated,
		"rollbacks", (json_int_t)sm.rollbacks,
		"automatic_rollbacks", (json_int_t)sm.automatic_rollbacks,
		"predictions", (json_int_t)sm.predictions,
		"predictions_judged", (json_int_t)sm.predictions_judged,
		"precision", OR_NULL(sm.precision), "recall", OR_NULL(sm.recall),
		"time_to_rollback_ms", "p50", OR_NULL(sm.ttr_p50_ms), "p95", OR_NULL(sm.ttr_p95_ms),
		"root_causes", causes);
#undef OR_NULL
}

int
umbra_verdict_register(struct umbra_app *app)
{
	static const struct mgmt_arg status_args[] = {
		{ "service", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg gate_args[] = {
		{ "service", MGMT_ARG_STRING, true },
		{ "version", MGMT_ARG_STRING, true },
		{ NULL, 0, false },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "verdict/status", "Release verdicts (GO, HOLD, ROLLBACK) with their "
		  "evidence, per service under release.", status_args, cmd_verdict_status },
		{ "verdict/gate", "A pipeline's gate for a version: go, hold or no_go, "
		  "with the reasons.", gate_args, cmd_verdict_gate },
		{ "analytics/summary", "Changes validated, prediction precision and "
		  "recall, rollbacks, time to rollback, root causes.", NULL,
		  cmd_analytics_summary },
	};

	return mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app);
}

/* ---- /metrics ---- */

static void
prom_cohort(FILE *f, const char *svc, const char *version, const char *cohort,
	    const struct cohort_totals *t)
{
	uint64_t cum = 0;

	for (int m = 0; m < VERDICT_M_MAX; m++) {
		if (m == VERDICT_M_SLOW)
			continue;
		fprintf(f, "umbra_release_events_total{service=\"%s\",version=\"%s\","
			"cohort=\"%s\",metric=\"%s\",outcome=\"all\"} %" PRIu64 "\n",
			svc, version, cohort, verdict_metric_names[m], t->n[m]);
		fprintf(f, "umbra_release_events_total{service=\"%s\",version=\"%s\","
			"cohort=\"%s\",metric=\"%s\",outcome=\"bad\"} %" PRIu64 "\n",
			svc, version, cohort, verdict_metric_names[m], t->bad[m]);
	}
	for (int b = 0; b < VERDICT_LAT_BUCKETS; b++) {
		cum += t->lat[b];
		if (b + 1 < VERDICT_LAT_BUCKETS && t->lat[b] == 0 && b > 0 && t->lat[b - 1] == 0)
			continue;   /* keep the histogram short: empty runs are implied */
		if (b + 1 < VERDICT_LAT_BUCKETS)
			fprintf(f, "umbra_release_latency_seconds_bucket{service=\"%s\","
				"version=\"%s\",cohort=\"%s\",le=\"%g\"} %" PRIu64 "\n", svc, version,
				cohort, verdict_lat_bucket_floor((unsigned int)b + 1) / 1e6, cum);
	}
	fprintf(f, "umbra_release_latency_seconds_bucket{service=\"%s\",version=\"%s\","
		"cohort=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", svc, version, cohort, cum);
	fprintf(f, "umbra_release_latency_seconds_count{service=\"%s\",version=\"%s\","
		"cohort=\"%s\"} %" PRIu64 "\n", svc, version, cohort, cum);
}

void
umbra_verdict_metrics(struct umbra_app *app, FILE *f)
{
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	const struct umbra_conf *c = g->conf;

	fprintf(f, "# HELP umbra_release_verdict Verdict per service under release "
		"(0 hold, 1 go, 2 rollback).\n# TYPE umbra_release_verdict gauge\n");
	for (uint32_t si = 0; si < c->n_services && si < CONF_MAX_SERVICES; si++) {
		const struct verdict_slot *s = &app->verdicts->s[si];

		if (s->active)
			fprintf(f, "umbra_release_verdict{service=\"%s\",version=\"%s\"} %d\n",
				c->services[si].name, s->canary, (int)s->rel.d.state);
	}
	fprintf(f, "# HELP umbra_release_events_total What each cohort's flows showed, "
		"by metric.\n# TYPE umbra_release_events_total counter\n"
		"# HELP umbra_release_latency_seconds Answer latency per cohort.\n"
		"# TYPE umbra_release_latency_seconds histogram\n");
	for (uint32_t si = 0; si < c->n_services && si < CONF_MAX_SERVICES; si++) {
		const struct verdict_slot *s = &app->verdicts->s[si];
		struct cohort_totals t;

		if (!s->active)
			continue;
		vd_totals_of(&app->dp, (uint8_t)si, 0, &t);
		prom_cohort(f, c->services[si].name, s->control, "control", &t);
		vd_totals_of(&app->dp, (uint8_t)si, 1, &t);
		prom_cohort(f, c->services[si].name, s->canary, "canary", &t);
	}
}
