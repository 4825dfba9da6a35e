/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Release verdicts on the management loop: every 100 ms, for each service
 * with a canary in its rollout stage, the workers' cohort counters
 * (lib/dp dp_health.c) are summed and diffed into one bucket per cohort
 * and judged (lib/verdict). A change of verdict is logged, recorded in the
 * history database and notified; ROLLBACK runs the service's rollback
 * (the workflow's rollback signature: undo hooks, verification) at once;
 * a rollout step advances only on GO (workflow_ops.may_advance).
 *
 * Commands: verdict/status, verdict/gate, analytics/summary.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "graph.h"
#include "history.h"
#include "notify.h"
#include "shadow.h"
#include "steer.h"
#include "umbra.h"
#include "verdict.h"

#define VERDICT_TICK_MS 100

/* Running totals of one cohort, summed over workers. */
struct cohort_totals {
	uint64_t n[VERDICT_M_MAX];
	uint64_t bad[VERDICT_M_MAX];
	uint64_t lat[VERDICT_LAT_BUCKETS];
};

/* One service's release under judgement. */
struct verdict_slot {
	bool active;
	char canary[CONF_VERSION_MAX];
	char control[CONF_VERSION_MAX];
	struct verdict_release rel;
	struct cohort_totals prev[2];   /* [0] control, [1] canary */
	enum verdict_state reported;
	double graph_score;             /* dependency-map deviation, -1: none yet */
	bool rolled_back;               /* the verdict's rollback was started */
	int64_t hist_id;                /* history release id, or -1 */
};

/*
 * A service's last judged version: what the gate before production and the
 * risk estimate read once its canary (in its rollout stage) is over.
 */
struct verdict_record {
	char version[CONF_VERSION_MAX];
	enum verdict_state state;
	double risk;              /* 0..1, how far the evidence went toward rollback */
	char reason[256];
	int64_t pending_hist;     /* the release an approval predicted, not yet judged */
};

/* A release's shadow profile under judgement: the shadow's answers
 * (canary) against production's to the same requests (control). */
struct shadow_slot {
	bool used;
	char name[CONF_NAME_MAX];
	uint32_t uid;
	int16_t service;
	char version[CONF_VERSION_MAX];
	struct verdict_release rel;
	struct compare_totals prev;
	enum verdict_state reported;
	bool seen;                      /* still listed by shadow_ctl this tick */
};

struct umbra_verdicts {
	struct event *timer;
	struct verdict_slot s[CONF_MAX_SERVICES];
	struct verdict_record last[CONF_MAX_SERVICES];
	struct shadow_slot sh[CONF_MAX_SHADOWS];
	struct verdict_record shadow_last[CONF_MAX_SERVICES];
	struct history *hist;
	struct notify *notify;
	uint64_t decisions, rollbacks;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic ms to wall-clock seconds. */
static double
wall_of(uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9 - ((double)mono_ms() - (double)ms) / 1e3;
}

static void
totals_of(const struct dp_context *dp, uint8_t service, int cohort, struct cohort_totals *t)
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

/* What a counter grew by; 0 when it went down (a histogram halved). */
static uint32_t
grew(uint64_t now, uint64_t before)
{
	return now > before ? clamp32(now - before) : 0;
}

/* This bucket: what the totals grew by since the last look. */
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
static json_t *
decision_json(const char *service, const char *canary, const char *control,
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
static double
risk_of(const struct verdict_release *rel)
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
	r->risk = risk_of(&s->rel);
	snprintf(r->reason, sizeof(r->reason), "%s", s->rel.d.reason);
}

static void
notify_json(struct umbra_verdicts *v, const char *topic, json_t *o)
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
	totals_of(&app->dp, si, 0, &s->prev[0]);
	totals_of(&app->dp, si, 1, &s->prev[1]);
	if (v->last[si].pending_hist > 0 && strcmp(v->last[si].version, s->canary) == 0) {
		s->hist_id = v->last[si].pending_hist;   /* predicted at its approval */
		v->last[si].pending_hist = -1;
	} else if (v->hist) {
		s->hist_id = history_release_begin(v->hist, &(struct history_release){
			.service = svc->name, .version = s->canary, .from_version = s->control,
			.at = wall_of(now) });
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
				    wall_of(now));
		history_set_outcome(v->hist, s->hist_id, !promoted);
	}
	json_t *o = json_pack("{s:s,s:s,s:s}", "service", service, "version", s->canary,
			      "outcome", promoted ? "promoted" : "rolled_back");

	notify_json(v, "release", o);
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
	s->rolled_back = true;
	v->rollbacks++;
	if (r == NULL) {
		fprintf(stderr, "umbra: verdict: rollback of %s %s refused: %s\n", service,
			s->canary, err);
		return;
	}
	json_decref(r);
	uint64_t done = mono_ms();

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
			.onset = d->first_bad_ms == UINT64_MAX ? 0 : wall_of(d->first_bad_ms),
			.detected = wall_of(d->at_ms), .done = wall_of(done),
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
	json_t *o = decision_json(service, s->canary, s->control, &s->rel);

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
			.reason = d->reason, .evidence_json = ev, .at = wall_of(now) });
		free(ev);
	}
	notify_json(v, "decision", o);
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

	totals_of(&app->dp, si, 1, &t);
	bucket_of(&t, &s->prev[1], &canary);
	totals_of(&app->dp, si, 0, &t);
	bucket_of(&t, &s->prev[0], &control);
	verdict_release_observe(&s->rel, now, &canary, &control);
	graph_signal(app, s, si, now);
	record_last(app->verdicts, si, s);
	if (s->rel.d.state != s->reported)
		slot_report(app, s, service, stage, now);
}

/* ---- shadow verdicts ---- */

/* One bucket of a shadow profile: shadow (canary) against production. */
static void
shadow_bucket(const struct compare_totals *t, const struct compare_totals *p,
	      struct verdict_counts *canary, struct verdict_counts *control)
{
	uint32_t n = grew(t->compared, p->compared);

	memset(canary, 0, sizeof(*canary));
	memset(control, 0, sizeof(*control));
	canary->n[VERDICT_M_HTTP_5XX] = control->n[VERDICT_M_HTTP_5XX] = n;
	canary->bad[VERDICT_M_HTTP_5XX] = grew(t->errors[COMPARE_SHADOW], p->errors[COMPARE_SHADOW]);
	control->bad[VERDICT_M_HTTP_5XX] = grew(t->errors[COMPARE_PROD], p->errors[COMPARE_PROD]);
	/* Production's own silence and resets are what the comparison
	 * measures against: a difference is the shadow's. */
	canary->n[VERDICT_M_NO_ANSWER] = control->n[VERDICT_M_NO_ANSWER] = n;
	canary->bad[VERDICT_M_NO_ANSWER] = grew(t->no_answer, p->no_answer);
	canary->n[VERDICT_M_RESET] = control->n[VERDICT_M_RESET] = n;
	canary->bad[VERDICT_M_RESET] = grew(t->reset, p->reset);
	for (unsigned int i = 0; i < COMPARE_LAT_BUCKETS; i++) {
		/* The middle of [2^i, 2^(i+1)). */
		uint64_t mid = compare_lat_value(i) - compare_lat_value(i) / 4;
		unsigned int b = verdict_lat_bucket(mid > UINT32_MAX ? UINT32_MAX : (uint32_t)mid);

		canary->lat[b] += grew(t->lat[COMPARE_SHADOW][i], p->lat[COMPARE_SHADOW][i]);
		control->lat[b] += grew(t->lat[COMPARE_PROD][i], p->lat[COMPARE_PROD][i]);
	}
}

static struct shadow_slot *
shadow_slot_of(struct umbra_verdicts *v, const struct shadow_release *r)
{
	struct shadow_slot *free_slot = NULL;

	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		struct shadow_slot *sl = &v->sh[i];

		if (sl->used && sl->uid == r->uid && strcmp(sl->name, r->name) == 0)
			return sl;
		if (!sl->used && free_slot == NULL)
			free_slot = sl;
	}
	return free_slot;
}

static void
shadow_report(struct umbra_app *app, struct shadow_slot *sl, const char *service,
	      uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	const struct verdict_decision *d = &sl->rel.d;
	char canary[CONF_VERSION_MAX + CONF_NAME_MAX + 16];
	json_t *o;

	snprintf(canary, sizeof(canary), "%s (shadow %s)", sl->version, sl->name);
	o = decision_json(service, canary, "production", &sl->rel);
	printf("umbra: verdict: %s %s in shadow %s: %s: %s\n", service, sl->version, sl->name,
	       verdict_state_name(d->state), d->reason);
	fflush(stdout);
	notify_json(v, "shadow_decision", o);
	json_decref(o);
	sl->reported = d->state;
	(void)now;
}

/* Judge every release's shadow profile, once a tick. */
static void
shadows_tick(struct umbra_app *app, const struct umbra_conf *c, uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	static struct shadow_release rel[CONF_MAX_SHADOWS];   /* loop only */
	unsigned int n = shadow_ctl_releases(app->dp.shadows, rel, CONF_MAX_SHADOWS);

	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		v->sh[i].seen = false;
	for (unsigned int k = 0; k < n; k++) {
		const struct shadow_release *r = &rel[k];
		struct shadow_slot *sl;
		struct verdict_counts canary, control;

		if (r->service < 0 || (uint32_t)r->service >= c->n_services ||
		    (sl = shadow_slot_of(v, r)) == NULL)
			continue;
		if (!sl->used) {
			*sl = (struct shadow_slot){ .used = true, .uid = r->uid,
						    .service = r->service, .prev = r->totals };
			snprintf(sl->name, sizeof(sl->name), "%s", r->name);
			snprintf(sl->version, sizeof(sl->version), "%s", r->version);
			verdict_release_init(&sl->rel, &c->services[r->service].verdict.vc, now);
			printf("umbra: verdict: judging %s %s in shadow %s against production\n",
			       c->services[r->service].name, sl->version, sl->name);
		}
		sl->seen = true;
		if (!r->active)
			continue;
		shadow_bucket(&r->totals, &sl->prev, &canary, &control);
		sl->prev = r->totals;
		verdict_release_observe(&sl->rel, now, &canary, &control);
		struct verdict_record *rec = &v->shadow_last[r->service];

		snprintf(rec->version, sizeof(rec->version), "%s", sl->version);
		rec->state = sl->rel.d.state;
		rec->risk = risk_of(&sl->rel);
		snprintf(rec->reason, sizeof(rec->reason), "in shadow %s: %s", sl->name,
			 sl->rel.d.reason);
		if (sl->rel.d.state != sl->reported)
			shadow_report(app, sl, c->services[r->service].name, now);
	}
	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		if (v->sh[i].used && !v->sh[i].seen)
			v->sh[i].used = false;   /* the profile is gone */
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_app *app = arg;
	struct umbra_verdicts *v = app->verdicts;
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	const struct umbra_conf *c = g->conf;
	uint64_t now = mono_ms();

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
	shadows_tick(app, c, now);
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
			json_array_append_new(list, decision_json(c->services[si].name, s->canary,
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
		json_array_append_new(shadows, decision_json(c->services[sl->service].name,
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
	json_t *o = decision_json(service, s->canary, s->control, &s->rel);

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
		.service = service, .version = version, .at = wall_of(mono_ms()) });

	if (id > 0) {
		history_add_prediction(v->hist, &(struct history_prediction){
			.release = id, .risk = r->risk, .predicted_bad = r->risk >= 0.5,
			.at = wall_of(mono_ms()) });
		r->pending_hist = id;
	}
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
		totals_of(&app->dp, (uint8_t)si, 0, &t);
		prom_cohort(f, c->services[si].name, s->control, "control", &t);
		totals_of(&app->dp, (uint8_t)si, 1, &t);
		prom_cohort(f, c->services[si].name, s->canary, "canary", &t);
	}
}

/* ---- life cycle ---- */

int
umbra_verdict_init(struct umbra_app *app, char *err, size_t errlen)
{
	struct umbra_verdicts *v = calloc(1, sizeof(*v));
	const struct conf_notify *nc = &gen_current(&app->dp.pub)->conf->notify;
	const struct timeval tick = { 0, VERDICT_TICK_MS * 1000 };

	if (v == NULL) {
		snprintf(err, errlen, "out of memory for release verdicts");
		return -1;
	}
	app->verdicts = v;
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
