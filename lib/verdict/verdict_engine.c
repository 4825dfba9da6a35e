/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The decision over every metric of one release: buckets of canary and
 * control counts in, GO / HOLD / ROLLBACK with its evidence out.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verdict.h"

#define NAME(id, name, ...) name,
const char *const verdict_metric_names[VERDICT_M_MAX] = { VERDICT_METRICS(NAME) };
#undef NAME
#define UNIT(id, name, mode, ratio, abs, w, minb, unit) unit,
const char *const verdict_metric_units[VERDICT_M_MAX] = { VERDICT_METRICS(UNIT) };
#undef UNIT
#define MODE(id, name, mode, ...) mode,
const enum verdict_mode verdict_metric_modes[VERDICT_M_MAX] = { VERDICT_METRICS(MODE) };
#undef MODE

const char *
verdict_state_name(enum verdict_state s)
{
	switch (s) {
	case VERDICT_GO: return "go";
	case VERDICT_ROLLBACK: return "rollback";
	default: return "hold";
	}
}

const char *
verdict_mode_name(enum verdict_mode m)
{
	switch (m) {
	case VERDICT_MODE_OUTAGE: return "outage";
	case VERDICT_MODE_DEGRADATION: return "degradation";
	case VERDICT_MODE_SECURITY: return "security";
	default: return "none";
	}
}

void
verdict_conf_default(struct verdict_conf *c)
{
	static const struct verdict_metric_conf defaults[VERDICT_M_MAX] = {
#define DEF(id, name, mode, ratio, abs, w, minb, unit) \
	[VERDICT_M_##id] = { true, ratio, abs, w, minb },
		VERDICT_METRICS(DEF)
#undef DEF
	};

	memcpy(c->m, defaults, sizeof(defaults));
	c->alpha = 0.01;
	c->power = 0.9;
	c->bake_ms = 10000;
	c->slow_quantile = 0.9;
	c->slow_factor = 2.0;
	c->slow_floor_us = 1000;
	c->slow_min_control = 50;
}

unsigned int
verdict_lat_bucket(uint32_t us)
{
	if (us < 2)
		return 0;
	/* Two buckets per power of two: the top bit and the one below it. */
	unsigned int msb = 31u - (unsigned int)__builtin_clz(us);
	unsigned int half = (us >> (msb - 1)) & 1u;
	unsigned int b = 2 * msb + half - 1;

	return b < VERDICT_LAT_BUCKETS ? b : VERDICT_LAT_BUCKETS - 1;
}

uint32_t
verdict_lat_bucket_floor(unsigned int b)
{
	if (b == 0)
		return 0;
	unsigned int msb = (b + 1) / 2, half = (b + 1) % 2;

	return (1u << msb) | (half << (msb - 1));
}

void
verdict_release_init(struct verdict_release *r, const struct verdict_conf *conf,
		     uint64_t now_ms)
{
	*r = (struct verdict_release){ .conf = *conf, .start_ms = now_ms, .last_ms = now_ms };
	for (int m = 0; m < VERDICT_M_MAX; m++) {
		verdict_seq_init(&r->seq[m], conf->m[m].min_ratio);
		r->first_bad_ms[m] = UINT64_MAX;
		for (int i = 0; i < VERDICT_GRID; i++)
			r->onset_ms[m][i] = UINT64_MAX;
	}
	r->d.state = VERDICT_HOLD;
	r->d.at_ms = now_ms;
	snprintf(r->d.reason, sizeof(r->d.reason), "no traffic yet");
}

void
verdict_release_rebake(struct verdict_release *r, uint64_t now_ms)
{
	r->start_ms = now_ms;
}

/* The onset of what the test now sees, estimated per grid ratio by a
 * CUSUM of that ratio's log-likelihood ratio: the first canary bad event
 * since it was last at zero. The estimate shown is the one of the ratio
 * that fits best (the largest log-likelihood ratio), so earlier stray
 * errors that the control's own errors outweighed do not count. */
static void
track_onset(struct verdict_release *r, int m, bool canary_bad, uint64_t now_ms)
{
	const struct verdict_seq *s = &r->seq[m];
	int best = 0;

	for (int i = 0; i < VERDICT_GRID; i++) {
		r->cusum[m][i] += s->log_lr[i] - r->last_log_lr[m][i];
		r->last_log_lr[m][i] = s->log_lr[i];
		if (r->cusum[m][i] <= 0) {
			r->cusum[m][i] = 0;
			r->onset_ms[m][i] = UINT64_MAX;
		}
		if (canary_bad && r->onset_ms[m][i] == UINT64_MAX)
			r->onset_ms[m][i] = now_ms;
		if (s->log_lr[i] > s->log_lr[best])
			best = i;
	}
	r->first_bad_ms[m] = r->onset_ms[m][best];
}

/*
 * The last bucket that is not slow, or -1 while the control has too few
 * answers. Slow is beyond slow_factor times the control's quantile and
 * beyond slow_floor_us: a version a little slower (a colder server, a
 * quarter of a millisecond) is not a regression worth a rollback.
 */
static int
slow_threshold(const struct verdict_release *r)
{
	uint64_t total = 0, cum = 0;
	int q = VERDICT_LAT_BUCKETS - 1;

	for (int b = 0; b < VERDICT_LAT_BUCKETS; b++)
		total += r->control_lat[b];
	if (total < r->conf.slow_min_control || total == 0)
		return -1;
	for (int b = 0; b < VERDICT_LAT_BUCKETS; b++) {
		cum += r->control_lat[b];
		if ((double)cum >= r->conf.slow_quantile * (double)total) {
			q = b;
			break;
		}
	}
	if (q >= VERDICT_LAT_BUCKETS - 1)
		return VERDICT_LAT_BUCKETS - 1;
	/* The quantile lies below the next bucket's floor. */
	double slow_us = (double)verdict_lat_bucket_floor((unsigned int)q + 1) * r->conf.slow_factor;

	if (slow_us < r->conf.slow_floor_us)
		slow_us = r->conf.slow_floor_us;
	if (slow_us >= UINT32_MAX)
		return VERDICT_LAT_BUCKETS - 1;
	/* Answers in slow_us's own bucket may be a little faster than slow_us:
	 * the first slow bucket is the one after it. */
	return (int)verdict_lat_bucket((uint32_t)slow_us);
}

/* Answers in @p lat above bucket @p t, and all answers. */
static void
count_above(const uint32_t *lat, int t, uint64_t *bad, uint64_t *n)
{
	*bad = *n = 0;
	for (int b = 0; b < VERDICT_LAT_BUCKETS; b++) {
		*n += lat[b];
		if (b > t)
			*bad += lat[b];
	}
}

/* Feed the SLOW test: the threshold comes from earlier control answers
 * only, so it is fixed before this bucket's answers are looked at. */
static void
add_slow(struct verdict_release *r, const struct verdict_counts *c,
	 const struct verdict_counts *k, uint64_t now_ms)
{
	int t = slow_threshold(r);

	if (t >= 0) {
		uint64_t cb, cn, kb, kn;

		count_above(c->lat, t, &cb, &cn);
		count_above(k->lat, t, &kb, &kn);
		verdict_seq_add(&r->seq[VERDICT_M_SLOW], cb, cn, kb, kn);
		track_onset(r, VERDICT_M_SLOW, cb > 0, now_ms);
	}
	for (int b = 0; b < VERDICT_LAT_BUCKETS; b++)
		r->control_lat[b] += k->lat[b];
}

/* Sum of the enabled metrics' alpha weights. */
static double
weight_sum(const struct verdict_conf *c)
{
	double w = 0;

	for (int m = 0; m < VERDICT_M_MAX; m++)
		if (c->m[m].enabled)
			w += c->m[m].alpha_weight;
	return w > 0 ? w : 1;
}

/* One metric's evidence from its test. */
static void
evidence(const struct verdict_release *r, int m, double wsum, struct verdict_evidence *ev)
{
	const struct verdict_seq *s = &r->seq[m];
	const struct verdict_metric_conf *mc = &r->conf.m[m];
	double alpha_m = r->conf.alpha * mc->alpha_weight / wsum;

	*ev = (struct verdict_evidence){
		.canary_n = s->canary_n, .canary_bad = s->canary_bad,
		.control_n = s->control_n, .control_bad = s->control_bad,
		.e_value = verdict_seq_evalue(s),
		.threshold = alpha_m > 0 ? 1.0 / alpha_m : INFINITY,
		.floor = UINT64_MAX,
	};
	ev->observed = s->canary_n > 0 && s->control_n > 0;
	ev->canary_rate = s->canary_n ? (double)s->canary_bad / (double)s->canary_n : 0;
	ev->control_rate = s->control_n ? (double)s->control_bad / (double)s->control_n : 0;
	ev->diff = ev->canary_rate - ev->control_rate;
	ev->ratio = ev->control_rate > 0 ? ev->canary_rate / ev->control_rate :
		    (ev->canary_rate > 0 ? INFINITY : 1.0);
	if (m == VERDICT_M_SLOW) {
		int t = slow_threshold(r);

		ev->slow_above_us = t >= 0 ? verdict_lat_bucket_floor((unsigned int)t + 1) : 0;
	}
	if (ev->observed)
		ev->floor = verdict_traffic_floor(ev->control_rate,
			(double)s->canary_n / (double)(s->canary_n + s->control_n),
			mc, ev->threshold, r->conf.power);
	/* The effect guards take half the minimum: at exactly the minimum
	 * effect the point estimate is below it half of the time, and the
	 * floor promises that such a regression is caught. */
	ev->failed = ev->observed && ev->e_value >= ev->threshold &&
		     s->canary_bad >= mc->min_bad && ev->ratio >= 1.0 + (mc->min_ratio - 1.0) / 2 &&
		     ev->diff >= mc->min_abs / 2;
	ev->suspicious = !ev->failed && ev->observed && ev->diff > 0 &&
			 ev->e_value >= sqrt(ev->threshold);
}

static void
set_state(struct verdict_release *r, enum verdict_state st, uint64_t now_ms)
{
	if (r->d.state != st)
		r->d.at_ms = now_ms;
	r->d.state = st;
}

/* ROLLBACK on the first failed metric; the reason names metric and effect. */
static bool
decide_rollback(struct verdict_release *r, uint64_t now_ms)
{
	for (int m = 0; m < VERDICT_M_MAX; m++) {
		const struct verdict_evidence *ev = &r->d.ev[m];

		if (!r->conf.m[m].enabled || !ev->failed)
			continue;
		set_state(r, VERDICT_ROLLBACK, now_ms);
		r->d.metric = (enum verdict_metric)m;
		r->d.mode = verdict_metric_modes[m];
		r->d.first_bad_ms = r->first_bad_ms[m];
		snprintf(r->d.reason, sizeof(r->d.reason),
			 "%s (%s): canary %.2f%% of %" PRIu64 " %ss against control %.2f%% of %"
			 PRIu64 ", e-value %.3g >= %.3g",
			 verdict_metric_names[m], verdict_mode_name(r->d.mode),
			 100 * ev->canary_rate, ev->canary_n, verdict_metric_units[m],
			 100 * ev->control_rate, ev->control_n, ev->e_value, ev->threshold);
		return true;
	}
	return false;
}

/* GO needs the bake time and every observed metric's floor; else HOLD with
 * the first thing missing. */
static void
decide_go_or_hold(struct verdict_release *r, uint64_t now_ms)
{
	bool any = false;
	char *why = r->d.reason;
	size_t len = sizeof(r->d.reason);

	for (int m = 0; m < VERDICT_M_MAX; m++) {
		const struct verdict_evidence *ev = &r->d.ev[m];

		if (!r->conf.m[m].enabled || ev->control_n + ev->canary_n == 0)
			continue;
		any = true;
		r->d.metric = (enum verdict_metric)m;
		if (ev->suspicious) {
			snprintf(why, len, "suspicious %s: canary %.2f%% against control %.2f%%, "
				 "e-value %.3g (rollback at %.3g)", verdict_metric_names[m],
				 100 * ev->canary_rate, 100 * ev->control_rate, ev->e_value,
				 ev->threshold);
			goto hold;
		}
		if (ev->canary_n == 0 || ev->control_n == 0) {
			snprintf(why, len, "%s: no %s %ss yet", verdict_metric_names[m],
				 ev->canary_n == 0 ? "canary" : "control", verdict_metric_units[m]);
			goto hold;
		}
		if (ev->canary_n < ev->floor) {
			if (ev->floor == UINT64_MAX)
				snprintf(why, len, "%s: %" PRIu64 " canary %ss, no traffic floor "
					 "reachable at this share", verdict_metric_names[m],
					 ev->canary_n, verdict_metric_units[m]);
			else
				snprintf(why, len, "%s: %" PRIu64 " of %" PRIu64 " canary %ss "
					 "(traffic floor)", verdict_metric_names[m], ev->canary_n,
					 ev->floor, verdict_metric_units[m]);
			goto hold;
		}
	}
	if (!any) {
		snprintf(why, len, "no traffic yet");
		goto hold;
	}
	if (now_ms - r->start_ms < r->conf.bake_ms) {
		snprintf(why, len, "baking: %.1f s of %.1f s", (double)(now_ms - r->start_ms) / 1e3,
			 (double)r->conf.bake_ms / 1e3);
		goto hold;
	}
	r->d.metric = 0;
	snprintf(why, len, "every observed metric past its traffic floor, nothing suspicious, "
		 "baked %.1f s", (double)(now_ms - r->start_ms) / 1e3);
	set_state(r, VERDICT_GO, now_ms);
	return;
hold:
	set_state(r, VERDICT_HOLD, now_ms);
}

const struct verdict_decision *
verdict_release_observe(struct verdict_release *r, uint64_t now_ms,
			const struct verdict_counts *canary, const struct verdict_counts *control)
{
	if (r->d.state == VERDICT_ROLLBACK)
		return &r->d;
	r->last_ms = now_ms;
	for (int m = 0; m < VERDICT_M_MAX; m++) {
		if (m == VERDICT_M_SLOW || !r->conf.m[m].enabled)
			continue;
		verdict_seq_add(&r->seq[m], canary->bad[m], canary->n[m], control->bad[m],
				control->n[m]);
		track_onset(r, m, canary->bad[m] > 0, now_ms);
	}
	if (r->conf.m[VERDICT_M_SLOW].enabled)
		add_slow(r, canary, control, now_ms);

	double wsum = weight_sum(&r->conf);

	for (int m = 0; m < VERDICT_M_MAX; m++)
		if (r->conf.m[m].enabled)
			evidence(r, m, wsum, &r->d.ev[m]);
	r->d.mode = VERDICT_MODE_NONE;
	if (!decide_rollback(r, now_ms))
		decide_go_or_hold(r, now_ms);
	return &r->d;
}

void
verdict_release_fail(struct verdict_release *r, uint64_t now_ms, enum verdict_metric metric,
		     enum verdict_mode mode, const char *reason)
{
	if (r->d.state == VERDICT_ROLLBACK)
		return;
	set_state(r, VERDICT_ROLLBACK, now_ms);
	r->d.metric = metric;
	r->d.mode = mode;
	r->d.first_bad_ms = UINT64_MAX;
	snprintf(r->d.reason, sizeof(r->d.reason), "%s", reason);
}
