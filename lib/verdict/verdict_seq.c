/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sequential test behind every metric: is the canary's bad-event rate
 * the control's, looked at as often as one likes?
 *
 * In one bucket the canary had cn exposures and cb bad events, the control
 * kn and kb. Given the m = cb + kb bad events, under "same rate" which of
 * them fell on the canary is a draw without replacement of m from cn + kn
 * exposures; under "the canary's rate is r times the control's" a canary
 * share of q1 = r cn / (r cn + kn) is expected instead of q0 = cn / (cn + kn).
 * The binomial likelihood ratio
 *     (q1/q0)^cb ((1-q1)/(1-q0))^kb = r^cb ((cn+kn)/(r cn + kn))^m
 * has expectation at most 1 under "same rate" (Hoeffding: drawing without
 * replacement is dominated in convex order by drawing with replacement),
 * so the product over buckets is a nonnegative supermartingale, and so is
 * the average over a fixed grid of r. By Ville's inequality it ever
 * reaches 1/a with probability at most a: peeking every 100 ms costs no
 * validity. No rate is estimated, so traffic that changes over time (the
 * rollout steps, the hour of day) changes nothing.
 */
#include <math.h>

#include "verdict.h"

void
verdict_seq_init(struct verdict_seq *s, double min_ratio)
{
	*s = (struct verdict_seq){ 0 };
	if (!(min_ratio > 1.0))
		min_ratio = 1.1;
	for (int i = 0; i < VERDICT_GRID; i++)
		s->ratio[i] = min_ratio * (double)(1u << i);
}

void
verdict_seq_add(struct verdict_seq *s, uint64_t cb, uint64_t cn, uint64_t kb, uint64_t kn)
{
	s->canary_n += cn;
	s->canary_bad += cb;
	s->control_n += kn;
	s->control_bad += kb;
	if (cn == 0 || kn == 0 || cb + kb == 0)
		return;   /* no comparison in this bucket: likelihood ratio 1 */
	if (cb > cn)
		cb = cn;
	if (kb > kn)
		kb = kn;
	double total = (double)cn + (double)kn;
	double m = (double)(cb + kb);

	for (int i = 0; i < VERDICT_GRID; i++) {
		double r = s->ratio[i];

		s->log_lr[i] += (double)cb * log(r) + m * log(total / (r * (double)cn + (double)kn));
	}
}

double
verdict_seq_evalue(const struct verdict_seq *s)
{
	double top = s->log_lr[0];
	double sum = 0;

	for (int i = 1; i < VERDICT_GRID; i++)
		if (s->log_lr[i] > top)
			top = s->log_lr[i];
	for (int i = 0; i < VERDICT_GRID; i++)
		sum += exp(s->log_lr[i] - top);
	return exp(top) * sum / VERDICT_GRID;
}

/* Standard normal quantile for p in [0.5, 1) (Abramowitz-Stegun 26.2.23). */
static double
normal_quantile(double p)
{
	if (p <= 0.5)
		return 0;
	double t = sqrt(-2.0 * log(1.0 - p));

	return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
		   (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}

/* Smallest Poisson mean with P(X >= k) >= power. */
static double
poisson_mean_for(uint32_t k, double power)
{
	double lo = 0, hi = 4.0 * k + 50;

	for (int it = 0; it < 60; it++) {
		double lam = (lo + hi) / 2, term = exp(-lam), cdf = 0;

		for (uint32_t j = 0; j < k; j++) {
			cdf += term;
			term *= lam / (double)(j + 1);
		}
		if (1.0 - cdf >= power)
			hi = lam;
		else
			lo = lam;
	}
	return hi;
}

uint64_t
verdict_traffic_floor(double p0, double share, const struct verdict_metric_conf *mc,
		      double threshold, double power)
{
	double p1 = fmax(p0 * mc->min_ratio, p0 + mc->min_abs);

	if (p1 > 1.0)
		p1 = 1.0;
	if (!(share > 0 && share < 1) || !(p1 > 0) || !(threshold > 1))
		return UINT64_MAX;
	/* The mixture is at least one grid term / VERDICT_GRID. */
	double c = log(threshold) + log((double)VERDICT_GRID);
	double z = normal_quantile(power);
	double best = INFINITY;
	struct verdict_seq grid;

	verdict_seq_init(&grid, mc->min_ratio);
	for (int i = 0; i < VERDICT_GRID; i++) {
		double r = grid.ratio[i];
		double l = log(r * share + 1.0 - share);
		/* Per unit of total exposure: the log-LR's drift and variance
		 * (bad events as Poisson counts) at the minimum effect. */
		double drift = share * p1 * log(r) - (share * p1 + (1.0 - share) * p0) * l;
		double var = share * p1 * (log(r) - l) * (log(r) - l) + (1.0 - share) * p0 * l * l;

		if (!(drift > 0))
			continue;
		double root = (z * sqrt(var) + sqrt(z * z * var + 4.0 * drift * c)) / (2.0 * drift);

		if (root * root < best)
			best = root * root;
	}
	if (!isfinite(best))
		return UINT64_MAX;
	double canary = share * best;
	double for_min_bad = poisson_mean_for(mc->min_bad, power) / p1;

	if (for_min_bad > canary)
		canary = for_min_bad;
	return canary >= 1e18 ? UINT64_MAX : (uint64_t)ceil(canary);
}
