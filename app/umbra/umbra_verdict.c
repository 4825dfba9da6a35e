/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Release verdicts on the management loop: every 100 ms, for each service
 * with a canary in its rollout stage, the workers' cohort counters
 * (lib/dp dp_worker_health.c) are summed and diffed into one bucket per cohort
 * and judged (lib/verdict). A change of verdict is logged, recorded in the
 * history database and notified; ROLLBACK runs the service's rollback
 * (the workflow's rollback signature: undo hooks, verification) at once;
 * a rollout step advances only on GO (workflow_ops.may_advance).
 * Its state is indexed by service, like the workers' counters: the
 * CTL_VERDICTS listener keeps it with its services when a configuration
 * change adds, removes or reorders them.
 *
 * Shadow profiles of a release are judged in umbra_verdict_shadow.c; the
 * commands (verdict/status, verdict/gate, analytics/summary) and /metrics
 * are in umbra_verdict_report.c.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph.h"
#include "steer.h"
#include "umbra_verdict_private.h"

#define VERDICT_TICK_MS 100

/* Monotonic ms to wall-clock seconds. */
double
vd_wall_of(uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - ((double)mgmt_now_ms() - (double)ms) / 1e3;
}

void
vd_totals_of(const struct dp_context *dp, uint8_t service, int cohort, struct cohort_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (uint16_t w = 0; w < dp->n_workers; w++) {
		const struct dp_health_cohort *c = &dp->workers[w].health->c[service][cohort];

		for (int m = 0; m < VERDICT_M_MAX; m++) {
			t->n[m] += c->n[m];
			t->bad[m] += c->bad[m];
		}
		for (int b = 0; b < VERDICT_LAT_BUCKETS; b++)
			t->lat[b] += c->lat[b];
	}
}

static uint32_t
clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* What a counter vd_grew by; 0 when it went down (a histogram halved). */
uint32_t
vd_grew(uint64_t now, uint64_t before)
{
	return now > before ? clamp32(now - before) : 0;
}

/* This bucket: what the totals vd_grew by since the last look. */
static void
bucket_of(const struct cohort_totals *now, struct cohort_totals *prev, struct verdict_counts *b)
{
	for (int m = 0; m < VERDICT_M_MAX; m++) {
		b->n[m] = clamp32(now->n[m] - prev->n[m]);
		b->bad[m] = clamp32(now->bad[m] - prev->bad[m]);
	}
	for (int i = 0; i < VERDICT_LAT_BUCKETS; i++)
		b->lat[i] = clamp32(now->lat[i] - prev->lat[i]);
	*prev = *now;
}

/* The evidence of a decision, for operators (socket, HTTP, history, notify). */
json_t *
vd_decision_json(const char *service, const char *canary, const char *control,
	      const struct verdict_release *rel)
{
	const struct verdict_decision *d = &rel->d;
	json_t *metrics = json_object();

	for (int m = 0; m < VERDICT_M_MAX; m++) {
		const struct verdict_evidence *ev = &d->ev[m];

		if (!rel->conf.m[m].enabled || ev->canary_n + ev->control_n == 0)
			continue;
		json_t *o = json_pack("{s:b,s:b,s:b,s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f}",
			"observed", ev->observed, "failed", ev->failed,
			"suspicious", ev->suspicious,
			"canary_n", (json_int_t)ev->canary_n,
			"canary_bad", (json_int_t)ev->canary_bad,
			"control_n", (json_int_t)ev->control_n,
			"control_bad", (json_int_t)ev->control_bad,
			"canary_rate", ev->canary_rate, "control_rate", ev->control_rate,
			"e_value", isfinite(ev->e_value) ? ev->e_value : 1e300,
			"threshold", ev->threshold);

		json_object_set_new(o, "traffic_floor", ev->floor == UINT64_MAX ? json_null() :
				    json_integer((json_int_t)ev->floor));
		if (m == VERDICT_M_SLOW)
			json_object_set_new(o, "slow_above_us",
					    json_integer((json_int_t)ev->slow_above_us));
		json_object_set_new(metrics, verdict_metric_names[m], o);
	}
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:o}", "service", service,
		"canary", canary, "control", control,
		"verdict", verdict_state_name(d->state), "reason", d->reason,
		"baked_s", (double)(rel->last_ms - rel->start_ms) / 1e3, "metrics", metrics);

	if (d->state == VERDICT_ROLLBACK) {
		json_object_set_new(o, "mode", json_string(verdict_mode_name(d->mode)));
		json_object_set_new(o, "metric", json_string(verdict_metric_names[d->metric]));
		if (d->first_bad_ms != UINT64_MAX)
			json_object_set_new(o, "detect_ms",
					    json_integer((json_int_t)(d->at_ms - d->first_bad_ms)));
	}
	return o;
}

/*
 * How far a release's evidence went toward a rollback, 0..1: per observed
 * metric log(e) / log(threshold) (1: rolled back), the largest; a
 * suspicious metric counts at least one half.
 */
double
vd_risk_of(const struct verdict_release *rel)
{
	double risk = 0;

	for (int m = 0; m < VERDICT_M_MAX; m++) {
		const struct verdict_evidence *ev = &rel->d.ev[m];
		double r;

		if (!rel->conf.m[m].enabled || !ev->observed || !(ev->e_value > 1))
			continue;
		r = log(ev->e_value) / log(ev->threshold);
		if (ev->suspicious && r < 0.5)
			r = 0.5;
		if (r > risk)
			risk = r;
	}
	if (rel->d.state == VERDICT_ROLLBACK)
		risk = 1;
	return risk > 1 ? 1 : risk;
}

/* Keep what the gate and the risk estimate need of slot @p s. */
static void
record_last(struct umbra_verdicts *v, uint8_t si, const struct verdict_slot *s)
{
	struct verdict_record *r = &v->last[si];

	if (strcmp(r->version, s->canary) != 0)
		r->pending_hist = -1;
	snprintf(r->version, sizeof(r->version), "%s", s->canary);
	r->state = s->rel.d.state;
	r->risk = vd_risk_of(&s->rel);
	snprintf(r->reason, sizeof(r->reason), "%s", s->rel.d.reason);
}

void
vd_notify_json(struct umbra_verdicts *v, const char *topic, json_t *o)
{
	char *text;

	if (v->notify == NULL)
		return;
	text = json_dumps(o, JSON_COMPACT);
	if (text)
		notify_post(v->notify, topic, text);
	free(text);
}

static void
slot_start(struct umbra_app *app, struct verdict_slot *s, uint8_t si,
	   const struct conf_service *svc, const struct steer_release *r, uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;

	*s = (struct verdict_slot){ .active = true, .hist_id = -1 };
	snprintf(s->canary, sizeof(s->canary), "%s", r->canary);
	snprintf(s->control, sizeof(s->control), "%s", r->running);
	verdict_release_init(&s->rel, &svc->verdict.vc, now);
	vd_totals_of(&app->dp, si, 0, &s->prev[0]);
	vd_totals_of(&app->dp, si, 1, &s->prev[1]);
	if (v->last[si].pending_hist > 0 && strcmp(v->last[si].version, s->canary) == 0) {
		s->hist_id = v->last[si].pending_hist;   /* predicted at its approval */
		v->last[si].pending_hist = -1;
	} else if (v->hist) {
		s->hist_id = history_release_begin(v->hist, &(struct history_release){
			.service = svc->name, .version = s->canary, .from_version = s->control,
			.at = vd_wall_of(now) });
	}
	printf("umbra: verdict: judging %s %s against %s\n", svc->name, s->canary, s->control);
	fflush(stdout);
}

/* The canary left the stage: promoted (it runs now) or rolled back. */
static void
slot_end(struct umbra_app *app, struct verdict_slot *s, const char *service,
	 const struct steer_release *r, uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	bool promoted = strcmp(r->running, s->canary) == 0;

	if (v->hist && s->hist_id > 0) {
		history_release_end(v->hist, s->hist_id, promoted ? "promoted" : "rolled_back",
				    vd_wall_of(now));
		history_set_outcome(v->hist, s->hist_id, !promoted);
	}
	json_t *o = json_pack("{s:s,s:s,s:s}", "service", service, "version", s->canary,
			      "outcome", promoted ? "promoted" : "rolled_back");

	vd_notify_json(v, "release", o);
	json_decref(o);
	s->active = false;
}

/* Start the service's rollback now: its last transition, undone. */
static void
start_rollback(struct umbra_app *app, struct verdict_slot *s, const char *service,
	       const char *stage, uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	const struct verdict_decision *d = &s->rel.d;
	char reason[300], err[512];
	json_t *args, *r;

	snprintf(reason, sizeof(reason), "verdict: %s", d->reason);
	/* The whole release in the rollout stage: its steps and its entry. */
	args = json_pack("{s:s,s:s,s:s}", "service", service, "reason", reason, "stage",
			 stage);
	r = workflow_event(app->workflow, "rollback", args, err, sizeof(err));
	json_decref(args);
	/* Every member of a fleet rolls it back too (no-op when standalone). */
	umbra_fleet_publish_rollback(app, service, s->canary, stage, reason);
	s->rolled_back = true;
	v->rollbacks++;
	if (r == NULL) {
		fprintf(stderr, "umbra: verdict: rollback of %s %s refused: %s\n", service,
			s->canary, err);
		return;
	}
	json_decref(r);
	uint64_t done = mgmt_now_ms();

	if (d->first_bad_ms == UINT64_MAX)
		printf("umbra: verdict: %s %s rolled back %" PRIu64 " ms after the decision "
		       "(%s)\n", service, s->canary, done - d->at_ms, d->reason);
	else
		printf("umbra: verdict: %s %s rolled back %" PRIu64 " ms after its first bad "
		       "answer (%s)\n", service, s->canary, done - d->first_bad_ms, d->reason);
	fflush(stdout);
	if (v->hist && s->hist_id > 0)
		history_add_rollback(v->hist, &(struct history_rollback){
			.release = s->hist_id,
			.onset = d->first_bad_ms == UINT64_MAX ? 0 : vd_wall_of(d->first_bad_ms),
			.detected = vd_wall_of(d->at_ms), .done = vd_wall_of(done),
			.metric = verdict_metric_names[d->metric],
			.mode = verdict_mode_name(d->mode), .automatic = true });
	(void)now;
}

/* A new verdict: log, history, notify; act on ROLLBACK. */
static void
slot_report(struct umbra_app *app, struct verdict_slot *s, const char *service,
	    const char *stage, uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	const struct verdict_decision *d = &s->rel.d;
	json_t *o = vd_decision_json(service, s->canary, s->control, &s->rel);

	v->decisions++;
	printf("umbra: verdict: %s %s: %s: %s\n", service, s->canary,
	       verdict_state_name(d->state), d->reason);
	fflush(stdout);
	if (v->hist && s->hist_id > 0) {
		char *ev = json_dumps(json_object_get(o, "metrics"), JSON_COMPACT);

		history_add_decision(v->hist, &(struct history_decision){
			.release = s->hist_id, .state = verdict_state_name(d->state),
			.mode = verdict_mode_name(d->mode),
			.metric = d->state == VERDICT_ROLLBACK ? verdict_metric_names[d->metric] : NULL,
			.reason = d->reason, .evidence_json = ev, .at = vd_wall_of(now) });
		free(ev);
	}
	vd_notify_json(v, "decision", o);
	json_decref(o);
	s->reported = d->state;
	if (d->state == VERDICT_ROLLBACK && !s->rolled_back)
		start_rollback(app, s, service, stage, now);
}

/*
 * The dependency map's signal: the canary's graph against the control's
 * over the same window. Above its threshold, the release is rolled back
 * (security: mostly new edges; outage: mostly missing ones), naming the
 * edges that changed; below it, the score is only evidence.
 */
static void
graph_signal(struct umbra_app *app, struct verdict_slot *s, uint8_t si, uint64_t now)
{
	static struct graph_diff diff;   /* large; the loop is single-threaded */
	char reason[256];
	size_t o;

	s->graph_score = -1;
	if (umbra_graph_deviation(app, si, &diff) < 0)
		return;
	s->graph_score = diff.score;
	if (!diff.above || s->rel.d.state == VERDICT_ROLLBACK)
		return;
	o = (size_t)snprintf(reason, sizeof(reason), "dependency graph (%s): canary's edges "
			     "deviate %.0f%% from the control's (%u new, %u missing)",
			     diff.mode == GRAPH_DEV_OUTAGE ? "outage" : "security",
			     100 * diff.score, diff.count[GRAPH_CHANGE_NEW],
			     diff.count[GRAPH_CHANGE_MISSING]);
	for (uint32_t i = 0; i < diff.n_listed && i < 3 && o < sizeof(reason); i++) {
		const struct graph_key *k = &diff.list[i].key;
		char addr[INET6_ADDRSTRLEN];

		inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, k->server, addr, sizeof(addr));
		o += (size_t)snprintf(reason + o, sizeof(reason) - o, "%s %s %s:%u",
				      i ? "," : ":", graph_change_names[diff.list[i].change],
				      addr, k->server_port);
	}
	verdict_release_fail(&s->rel, now, VERDICT_M_NEW_DEST,
			     diff.mode == GRAPH_DEV_OUTAGE ? VERDICT_MODE_OUTAGE :
			     VERDICT_MODE_SECURITY, reason);
}

static void
slot_observe(struct umbra_app *app, struct verdict_slot *s, uint8_t si, const char *service,
	     const char *stage, uint64_t now)
{
	struct cohort_totals t;
	struct verdict_counts canary, control;

	vd_totals_of(&app->dp, si, 1, &t);
	bucket_of(&t, &s->prev[1], &canary);
	vd_totals_of(&app->dp, si, 0, &t);
	bucket_of(&t, &s->prev[0], &control);
	verdict_release_observe(&s->rel, now, &canary, &control);
	graph_signal(app, s, si, now);
	record_last(app->verdicts, si, s);
	if (s->rel.d.state != s->reported)
		slot_report(app, s, service, stage, now);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_app *app = arg;
	struct umbra_verdicts *v = app->verdicts;
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	const struct umbra_conf *c = g->conf;
	uint64_t now = mgmt_now_ms();

	(void)fd;
	(void)what;
	for (uint32_t si = 0; si < c->n_services && si < CONF_MAX_SERVICES; si++) {
		const struct conf_service *svc = &c->services[si];
		struct verdict_slot *s = &v->s[si];
		struct steer_release r;

		steer_release_of(g->steer, svc->rollout.stage, (uint8_t)si, &r);
		if (s->active && (r.canary[0] == '\0' || strcmp(r.canary, s->canary) != 0))
			slot_end(app, s, svc->name, &r, now);
		if (!svc->verdict.enabled || r.canary[0] == '\0')
			continue;
		if (!s->active)
			slot_start(app, s, (uint8_t)si, svc, &r, now);
		slot_observe(app, s, (uint8_t)si, svc->name, c->stages[svc->rollout.stage].name,
			     now);
	}
	vd_shadows_tick(app, c, now);
	if (v->hist && history_flush(v->hist) < 0)
		fprintf(stderr, "umbra: %s\n", history_error(v->hist));
}

/* The workflow asks before a rollout step: only on GO. */
static bool
may_advance(struct umbra_app *app, const char *service, char *why, size_t len)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	int si = conf_service_index(c, service);
	const struct verdict_slot *s;

	if (si < 0 || si >= CONF_MAX_SERVICES || !c->services[si].verdict.enabled)
		return true;
	s = &app->verdicts->s[si];
	if (!s->active)
		return true;   /* not judged yet: the next tick starts it; time rules */
	snprintf(why, len, "%s", s->rel.d.reason);
	return s->rel.d.state == VERDICT_GO;
}

bool
umbra_verdict_may_advance(void *ctx, const char *service, char *why, size_t len)
{
	return may_advance(ctx, service, why, len);
}

struct history *
umbra_verdict_history(struct umbra_app *app)
{
	return app->verdicts ? app->verdicts->hist : NULL;
}

bool
umbra_verdict_at_go(struct umbra_app *app, uint8_t service, char *version, size_t len)
{
	const struct verdict_slot *s;

	if (app->verdicts == NULL || service >= CONF_MAX_SERVICES)
		return false;
	s = &app->verdicts->s[service];
	if (!s->active || s->rel.d.state != VERDICT_GO)
		return false;
	snprintf(version, len, "%s", s->canary);
	return true;
}

/* ---- the gate before an approval, and the risk estimate ---- */

json_t *
umbra_verdict_approval(struct umbra_app *app, const char *service, const char *version,
		       char *why, size_t len)
{
	struct umbra_verdicts *v = app->verdicts;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	int si = conf_service_index(c, service);
	const struct verdict_record *r;
	json_t *risk;

	if (si < 0 || si >= CONF_MAX_SERVICES || version == NULL)
		return json_object();   /* the workflow refuses it with its own reason */
	/* A release's shadow verdict speaks first; else its canary's. */
	r = strcmp(v->shadow_last[si].version, version) == 0 ? &v->shadow_last[si] : &v->last[si];
	bool judged = strcmp(r->version, version) == 0;

	if (c->services[si].verdict.gate && (!judged || r->state != VERDICT_GO)) {
		if (!judged)
			snprintf(why, len, "%s %s has no GO: no verdict judged it (its canary "
				 "must run in %s first, or a shadow profile with its version)",
				 service, version, c->stages[c->services[si].rollout.stage].name);
		else
			snprintf(why, len, "%s %s has no GO: its verdict is %s: %s", service,
				 version, verdict_state_name(r->state), r->reason);
		return NULL;
	}
	if (!judged)
		return json_pack("{s:n,s:s}", "score", "why", "no verdict judged this version");
	risk = json_pack("{s:f,s:b,s:s,s:s}", "score", r->risk, "predicted_bad", r->risk >= 0.5,
			 "verdict", verdict_state_name(r->state), "reason", r->reason);
	return risk;
}

void
umbra_verdict_approved(struct umbra_app *app, const char *service, const char *version)
{
	struct umbra_verdicts *v = app->verdicts;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	int si = conf_service_index(c, service);
	struct verdict_record *r;

	if (si < 0 || si >= CONF_MAX_SERVICES || v->hist == NULL)
		return;
	r = &v->last[si];
	if (version == NULL || strcmp(r->version, version) != 0)
		return;
	/* The prediction is about the next stage's outcome: that release is
	 * recorded now and judged when its canary ends there. */
	int64_t id = history_release_begin(v->hist, &(struct history_release){
		.service = service, .version = version, .at = vd_wall_of(mgmt_now_ms()) });

	if (id > 0) {
		history_add_prediction(v->hist, &(struct history_prediction){
			.release = id, .risk = r->risk, .predicted_bad = r->risk >= 0.5,
			.at = vd_wall_of(mgmt_now_ms()) });
		r->pending_hist = id;
	}
}

bool
umbra_verdict_judged(struct umbra_app *app, uint8_t service, struct umbra_verdict_judged *out)
{
	const struct verdict_slot *s;

	if (app->verdicts == NULL || service >= CONF_MAX_SERVICES)
		return false;
	s = &app->verdicts->s[service];
	if (!s->active)
		return false;
	snprintf(out->canary, sizeof(out->canary), "%s", s->canary);
	snprintf(out->control, sizeof(out->control), "%s", s->control);
	for (int m = 0; m < VERDICT_M_MAX; m++) {
		const struct verdict_seq *q = &s->rel.seq[m];

		out->m[m].canary_n = q->canary_n;
		out->m[m].canary_bad = q->canary_bad;
		out->m[m].control_n = q->control_n;
		out->m[m].control_bad = q->control_bad;
	}
	return true;
}

/* ---- configuration changes ---- */

/* Keep @p c's service names: what the arrays are indexed by now. */
static void
names_keep(struct umbra_verdicts *v, const struct umbra_conf *c)
{
	v->n_names = 0;
	for (uint32_t i = 0; i < c->n_services && i < CONF_MAX_SERVICES; i++)
		snprintf(v->names[v->n_names++], CONF_NAME_MAX, "%s", c->services[i].name);
}

/* Service @p name's index before the change, or -1. */
static int
old_index(const struct umbra_verdicts *v, const char *name)
{
	for (uint32_t i = 0; i < v->n_names; i++)
		if (strcmp(v->names[i], name) == 0)
			return (int)i;
	return -1;
}

/* The arrays indexed by service, as one block to rebuild. */
struct by_service {
	struct verdict_slot s[CONF_MAX_SERVICES];
	struct verdict_record last[CONF_MAX_SERVICES];
	struct verdict_record shadow_last[CONF_MAX_SERVICES];
};

/*
 * CTL_VERDICTS: the judgements follow their services. Slots, last
 * verdicts and the workers' health counters are all indexed by service,
 * and a generation may add, remove or reorder services: each slot and
 * last verdict moves to its service's new index, a release under
 * judgement that moved is re-baselined there (the counters at that index
 * so far are another service's), and a service gone ends its judgement.
 * Told right after the publish, before the next tick reads the generation.
 */
static int
verdicts_applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	struct umbra_app *app = ctx;
	struct umbra_verdicts *v = app->verdicts;
	const struct umbra_conf *c = a->gen->conf;
	uint32_t n = c->n_services < CONF_MAX_SERVICES ? c->n_services : CONF_MAX_SERVICES;
	bool same = n == v->n_names;
	struct by_service *b;

	for (uint32_t i = 0; same && i < n; i++)
		same = strcmp(v->names[i], c->services[i].name) == 0;
	if (same)
		return 0;
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		snprintf(err, errlen, "out of memory following the services");
		return -1;
	}
	for (uint32_t oi = 0; oi < v->n_names; oi++)
		if (v->s[oi].active && conf_service_index(c, v->names[oi]) < 0)
			printf("umbra: verdict: %s left the configuration: judging %s ends\n",
			       v->names[oi], v->s[oi].canary);
	for (uint32_t ni = 0; ni < n; ni++) {
		int oi = old_index(v, c->services[ni].name);

		if (oi < 0)
			continue;
		b->s[ni] = v->s[oi];
		b->last[ni] = v->last[oi];
		b->shadow_last[ni] = v->shadow_last[oi];
		if ((uint32_t)oi != ni && b->s[ni].active) {
			vd_totals_of(&app->dp, (uint8_t)ni, 0, &b->s[ni].prev[0]);
			vd_totals_of(&app->dp, (uint8_t)ni, 1, &b->s[ni].prev[1]);
		}
	}
	memcpy(v->s, b->s, sizeof(v->s));
	memcpy(v->last, b->last, sizeof(v->last));
	memcpy(v->shadow_last, b->shadow_last, sizeof(v->shadow_last));
	free(b);
	names_keep(v, c);
	fflush(stdout);
	return 0;
}

/* ---- life cycle ---- */

int
umbra_verdict_init(struct umbra_app *app, char *err, size_t errlen)
{
	const struct ctl_listener l = {
		.name = "verdicts", .applied = verdicts_applied, .ctx = app,
	};
	struct umbra_verdicts *v = calloc(1, sizeof(*v));
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const struct conf_notify *nc = &c->notify;
	const struct timeval tick = { 0, VERDICT_TICK_MS * 1000 };

	if (v == NULL) {
		snprintf(err, errlen, "out of memory for release verdicts");
		return -1;
	}
	app->verdicts = v;
	/* Start-up's generation is already published: its services are the index. */
	names_keep(v, c);
	if (app->opts.state_dir) {
		char path[512];

		snprintf(path, sizeof(path), "%s/history.db", app->opts.state_dir);
		if (history_open(&v->hist, path, err, errlen) < 0)
			return -1;
	}
	if (nc->n_urls) {
		struct notify_conf ncf;

		notify_conf_default(&ncf);
		for (uint32_t i = 0; i < nc->n_urls; i++)
			ncf.urls[i] = nc->urls[i];
		ncf.n_urls = nc->n_urls;
		ncf.queue_max = nc->queue;
		ncf.attempts = nc->attempts;
		ncf.timeout_ms = nc->timeout_ms;
		ncf.backoff_ms = nc->backoff_ms;
		v->notify = notify_new(app->base, &ncf, err, errlen);
		if (v->notify == NULL)
			return -1;
	}
	v->timer = event_new(app->base, -1, EV_PERSIST, on_tick, app);
	if (v->timer == NULL || event_add(v->timer, &tick) < 0) {
		snprintf(err, errlen, "cannot start the verdict timer");
		return -1;
	}
	if (ctl_listen(&app->ctl, CTL_VERDICTS, &l) < 0) {
		snprintf(err, errlen, "release verdicts cannot follow configuration changes");
		return -1;
	}
	return 0;
}

void
umbra_verdict_notify(struct umbra_app *app, const char *topic, const char *json)
{
	if (app->verdicts && app->verdicts->notify)
		notify_post(app->verdicts->notify, topic, json);
}

void
umbra_verdict_fini(struct umbra_app *app)
{
	struct umbra_verdicts *v = app->verdicts;

	if (v == NULL)
		return;
	if (v->timer)
		event_free(v->timer);
	history_close(v->hist);
	notify_free(v->notify);
	free(v);
	app->verdicts = NULL;
}
