/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Random numbers, delay distributions and the delay-error histogram.
 * Everything here is specified exactly, so that a test in another language
 * can reproduce it bit for bit (doubles are IEEE 754 binary64, math
 * functions are the C library's, as Python's math module and ** use):
 *
 *   next()       splitmix64, as fault_rng_next() in fault.h.
 *   u            (next() >> 11) * 2^-53, in [0, 1).
 *
 *   fault_prob_threshold(p)
 *                p <= 0 or NaN: 0; p >= 1: 2^32; else floor(p * 2^32).
 *                An event happens when (next() >> 32) < threshold.
 *
 *   fault_delay_draw(base, jitter), in cycles:
 *                jitter == 0: base, and no draw.
 *                off, evaluated left to right in doubles:
 *                uniform: off = (2.0 * u - 1.0) * jitter            (1 draw)
 *                normal:  off = sqrt(-2.0 * log(1.0 - u1))
 *                               * cos(2.0 * pi * u2) * jitter      (2 draws, u1 first)
 *                pareto:  off = 2.0 * jitter
 *                               * (pow(1.0 - u, -1.0 / 3.0) - 1.0)  (1 draw)
 *                (pareto: Lomax, shape 3, scale 2 * jitter, so the mean
 *                excess is jitter); another dist: base, no draw.
 *                result = base + round(off), round() = half away from
 *                zero; below 0 gives 0, above 2^64 - 1 gives 2^64 - 1.
 *                In Python: t = math.trunc(off)
 *                           if abs(off - t) >= 0.5:
 *                               t += 1 if off > 0 else -1
 *
 *   fault_hist_bucket(ns), with L = FAULT_HIST_LINEAR (100),
 *                S = FAULT_HIST_STEP_NS (100), B = FAULT_HIST_BUCKETS (128):
 *                ns < L * S: ns // S;
 *                else min(B - 1, L + floor(log2(ns // (L * S)))).
 *   fault_hist_bucket_floor(b)
 *                b < L: b * S; else (L * S) << (b - L) (b capped at B - 1).
 */
#include <math.h>
#include <stdint.h>

#include "fault.h"

uint64_t
fault_prob_threshold(double p)
{
	/* !(p > 0) also catches NaN */
	if (!(p > 0.0))
		return 0;
	if (p >= 1.0)
		return FAULT_P_ALWAYS;
	return (uint64_t)floor(p * 0x1p32);
}

/* A double in [0, 1) from the top 53 bits of a draw. */
static inline double
unit_draw(struct fault_rng *r)
{
	return (double)(fault_rng_next(r) >> 11) * 0x1p-53;
}

/*
 * base + round(off), saturating at both ends. round() takes the product
 * already rounded to a double, so no fused multiply-add can change the
 * result (the build uses -march=native).
 */
static uint64_t
offset_clamped(uint64_t base, double off)
{
	double r = round(off);
	uint64_t mag;

	if (isnan(r))
		return base;
	if (r < 0.0) {
		if (-r >= 0x1p64)
			return 0;
		mag = (uint64_t)-r;
		return mag >= base ? 0 : base - mag;
	}
	if (r >= 0x1p64)
		return UINT64_MAX;
	mag = (uint64_t)r;
	return mag > UINT64_MAX - base ? UINT64_MAX : base + mag;
}

static double
uniform_offset(struct fault_rng *r, double jitter)
{
	double u = unit_draw(r);

	return (2.0 * u - 1.0) * jitter;
}

/* Box-Muller; 1 - u1 is in (0, 1], so the log is finite. */
static double
normal_offset(struct fault_rng *r, double jitter)
{
	double u1 = unit_draw(r);
	double u2 = unit_draw(r);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2) * jitter;
}

/* Lomax (Pareto II), shape 3, scale 2 * jitter: mean excess jitter. */
static double
pareto_offset(struct fault_rng *r, double jitter)
{
	double u = unit_draw(r);

	return 2.0 * jitter * (pow(1.0 - u, -1.0 / 3.0) - 1.0);
}

uint64_t
fault_delay_draw(struct fault_rng *r, uint8_t dist, uint64_t base,
		 uint64_t jitter)
{
	double j = (double)jitter;
	double off;

	if (jitter == 0)
		return base;
	switch (dist) {
	case CONF_DIST_UNIFORM:
		off = uniform_offset(r, j);
		break;
	case CONF_DIST_NORMAL:
		off = normal_offset(r, j);
		break;
	case CONF_DIST_PARETO:
		off = pareto_offset(r, j);
		break;
	default:
		return base;
	}
	return offset_clamped(base, off);
}

#define HIST_LINEAR_END ((uint64_t)FAULT_HIST_LINEAR * FAULT_HIST_STEP_NS)

unsigned int
fault_hist_bucket(uint64_t ns)
{
	uint64_t q;
	unsigned int b;

	if (ns < HIST_LINEAR_END)
		return (unsigned int)(ns / FAULT_HIST_STEP_NS);
	/* floor(log2(ns / E)) == floor(log2(ns // E)) for ns >= E */
	q = ns / HIST_LINEAR_END;
	b = FAULT_HIST_LINEAR + 63 - (unsigned int)__builtin_clzll(q);
	return b < FAULT_HIST_BUCKETS ? b : FAULT_HIST_BUCKETS - 1;
}

uint64_t
fault_hist_bucket_floor(unsigned int b)
{
	if (b >= FAULT_HIST_BUCKETS)
		b = FAULT_HIST_BUCKETS - 1;
	if (b < FAULT_HIST_LINEAR)
		return (uint64_t)b * FAULT_HIST_STEP_NS;
	return HIST_LINEAR_END << (b - FAULT_HIST_LINEAR);
}
