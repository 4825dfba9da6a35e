/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: release verdicts (lib/verdict), pure, no EAL.
 *
 * Simulated releases: requests arrive at a fixed rate, a share goes to the
 * canary, each answer is bad with a per-cohort probability and has a
 * latency; the engine looks every 100 ms. Seeded, so every figure is the
 * same on every run. Besides exact properties (e-values, floors, buckets),
 * the simulations assert what the product promises: a clean release is
 * never rolled back (hundreds of seeded runs), a broken one is, in time,
 * with the right metric and mode; low traffic holds; one error holds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ut_rand.h"
#include "verdict.h"

/* One cohort's behaviour. */
struct cohort {
	double p_5xx;       /* HTTP answers that are 5xx */
	double p_refused;   /* connects refused */
	uint32_t lat_us;    /* answer latency: lat_us .. 2 * lat_us, uniform */
};

/* A simulated release: rate per second, canary share. */
struct sim {
	double rps, share;
	struct cohort canary, control;
	uint64_t bad_from_ms;   /* canary turns bad at this time (UINT64_MAX: never) */
	struct cohort canary_bad;
};

/* One request of a cohort into its counts. */
static void
one_request(struct verdict_counts *c, const struct cohort *h, uint64_t *seed)
{
	c->n[VERDICT_M_CONNECT_FAIL]++;
	if (uniform(seed) < h->p_refused) {
		c->bad[VERDICT_M_CONNECT_FAIL]++;
		return;
	}
	c->n[VERDICT_M_HTTP_5XX]++;
	if (uniform(seed) < h->p_5xx)
		c->bad[VERDICT_M_HTTP_5XX]++;
	c->n[VERDICT_M_RESET]++;
	c->lat[verdict_lat_bucket(h->lat_us + (uint32_t)(uniform(seed) * h->lat_us))]++;
}

/* Run @p sim for @p ms; returns the first ROLLBACK time (or UINT64_MAX)
 * and leaves the last decision in @p r. */
static uint64_t
run(struct verdict_release *r, const struct verdict_conf *conf, const struct sim *sim,
    uint64_t ms, uint64_t seed)
{
	double carry = 0;

	verdict_release_init(r, conf, 0);
	for (uint64_t now = 100; now <= ms; now += 100) {
		struct verdict_counts c = { 0 }, k = { 0 };

		carry += sim->rps / 10.0;
		while (carry >= 1.0) {
			carry -= 1.0;
			if (uniform(&seed) < sim->share)
				one_request(&c, now > sim->bad_from_ms ? &sim->canary_bad :
					    &sim->canary, &seed);
			else
				one_request(&k, &sim->control, &seed);
		}
		if (verdict_release_observe(r, now, &c, &k)->state == VERDICT_ROLLBACK)
			return now;
	}
	return UINT64_MAX;
}

static const struct cohort healthy = { .p_5xx = 0.002, .p_refused = 0.001, .lat_us = 400 };

static struct sim
clean_sim(double rps)
{
	return (struct sim){ .rps = rps, .share = 0.1, .canary = healthy, .control = healthy,
			     .bad_from_ms = UINT64_MAX };
}

static void
test_lat_buckets(void **state)
{
	(void)state;
	assert_int_equal(verdict_lat_bucket(0), 0);
	assert_int_equal(verdict_lat_bucket(1), 0);
	for (unsigned int b = 1; b < VERDICT_LAT_BUCKETS - 1; b++) {
		uint32_t lo = verdict_lat_bucket_floor(b);

		assert_int_equal(verdict_lat_bucket(lo), b);
		assert_int_equal(verdict_lat_bucket(lo - 1), b - 1);
	}
	assert_int_equal(verdict_lat_bucket(UINT32_MAX), VERDICT_LAT_BUCKETS - 1);
	/* Two buckets per doubling: 400 us and 800 us are two apart. */
	assert_int_equal(verdict_lat_bucket(800), verdict_lat_bucket(400) + 2);
}

/* No bad events, or bad events in proportion: no evidence. */
static void
test_seq_neutral(void **state)
{
	struct verdict_seq s;

	(void)state;
	verdict_seq_init(&s, 2.0);
	assert_float_equal(verdict_seq_evalue(&s), 1.0, 1e-12);
	verdict_seq_add(&s, 0, 100, 0, 900);
	assert_float_equal(verdict_seq_evalue(&s), 1.0, 1e-12);
	/* No control exposure: nothing to compare with. */
	verdict_seq_add(&s, 5, 10, 0, 0);
	assert_float_equal(verdict_seq_evalue(&s), 1.0, 1e-12);
	assert_int_equal(s.canary_bad, 5);
	/* Canary far better than control: e-value falls below 1. */
	verdict_seq_add(&s, 0, 100, 50, 900);
	assert_true(verdict_seq_evalue(&s) < 0.01);
}

/* Every bad event on a 10 % canary multiplies the top ratio's LR by
 * about 1/share: three such events pass 100, one does not. */
static void
test_seq_canary_only_errors(void **state)
{
	struct verdict_seq s;

	(void)state;
	verdict_seq_init(&s, 2.0);
	verdict_seq_add(&s, 1, 10, 0, 90);
	assert_true(verdict_seq_evalue(&s) < 10);
	verdict_seq_add(&s, 1, 10, 0, 90);
	verdict_seq_add(&s, 1, 10, 0, 90);
	verdict_seq_add(&s, 1, 10, 0, 90);
	assert_true(verdict_seq_evalue(&s) > 100);
}

/* Ville: under "same rate", the chance that the e-value EVER reaches 1/a,
 * looked at every bucket, is at most a. 2000 runs of 600 looks. */
static void
test_seq_anytime_valid(void **state)
{
	const double a = 0.05;
	unsigned int crossed = 0, runs = 2000;
	uint64_t seed = 7;

	(void)state;
	for (unsigned int i = 0; i < runs; i++) {
		struct verdict_seq s;

		verdict_seq_init(&s, 1.5);
		for (int b = 0; b < 600; b++) {
			uint64_t cn = 2 + rnd(&seed) % 4, kn = 18 + rnd(&seed) % 10, cb = 0, kb = 0;

			for (uint64_t j = 0; j < cn; j++)
				cb += uniform(&seed) < 0.05;
			for (uint64_t j = 0; j < kn; j++)
				kb += uniform(&seed) < 0.05;
			verdict_seq_add(&s, cb, cn, kb, kn);
			if (verdict_seq_evalue(&s) >= 1 / a) {
				crossed++;
				break;
			}
		}
	}
	print_message("e-process under H0: %u of %u runs ever crossed 1/%.2f\n", crossed, runs, a);
	assert_true(crossed <= (unsigned int)(a * runs));
}

/* The floor shrinks as the effect to catch grows and as the share grows. */
static void
test_traffic_floor(void **state)
{
	struct verdict_metric_conf mc = { true, 2.0, 0.01, 1, 3 };
	uint64_t f1, f2, f3;

	(void)state;
	f1 = verdict_traffic_floor(0.002, 0.1, &mc, 600, 0.9);
	mc.min_abs = 0.05;
	f2 = verdict_traffic_floor(0.002, 0.1, &mc, 600, 0.9);
	f3 = verdict_traffic_floor(0.002, 0.5, &mc, 600, 0.9);
	print_message("floors: 1%% at 10%%: %lu, 5%% at 10%%: %lu, 5%% at 50%%: %lu\n",
		      (unsigned long)f1, (unsigned long)f2, (unsigned long)f3);
	assert_true(f1 > f2 && f3 > 0 && f3 != UINT64_MAX);
	/* At least enough canary exposures to expect the minimum bad events. */
	assert_true((double)f2 * 0.052 >= 3);
	assert_int_equal(verdict_traffic_floor(0.002, 0, &mc, 600, 0.9), UINT64_MAX);
	assert_int_equal(verdict_traffic_floor(0.002, 1, &mc, 600, 0.9), UINT64_MAX);
}

/* A floor that the engine shows must be a promise: at the floor, a
 * regression of exactly the minimum effect is caught in >= power of runs. */
static void
test_floor_keeps_its_promise(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	unsigned int caught = 0, runs = 200;

	(void)state;
	verdict_conf_default(&conf);
	for (int m = 0; m < VERDICT_M_MAX; m++)
		conf.m[m].enabled = m == VERDICT_M_HTTP_5XX;
	double thr = 1 / conf.alpha;
	uint64_t floor = verdict_traffic_floor(0.0, 0.1, &conf.m[VERDICT_M_HTTP_5XX], thr, 0.9);

	for (unsigned int i = 0; i < runs; i++) {
		struct sim s = clean_sim(1000);

		s.canary.p_5xx = 0.01;    /* control 0, canary at min_abs */
		s.control.p_5xx = 0;
		s.canary.p_refused = s.control.p_refused = 0;
		/* Long enough for the canary to reach the floor. */
		uint64_t ms = (uint64_t)((double)floor / 0.1 / 1000 * 1000) + 100;

		caught += run(&r, &conf, &s, ms, 1000 + i) != UINT64_MAX;
	}
	print_message("floor %lu: minimum regression caught in %u of %u runs\n",
		      (unsigned long)floor, caught, runs);
	assert_true(caught >= runs * 85 / 100);
}

/* Hundreds of clean releases, looked at every 100 ms for 60 s: none is
 * rolled back, and every one GOes once baked and past its floors. */
static void
test_clean_never_rolled_back(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	unsigned int rollbacks = 0, gos = 0, runs = 300;

	(void)state;
	verdict_conf_default(&conf);
	for (unsigned int i = 0; i < runs; i++) {
		struct sim s = clean_sim(2000);

		if (run(&r, &conf, &s, 60000, 50 + i) != UINT64_MAX)
			rollbacks++;
		gos += r.d.state == VERDICT_GO;
	}
	print_message("clean releases: %u rolled back, %u GO of %u\n", rollbacks, gos, runs);
	assert_int_equal(rollbacks, 0);
	assert_true(gos >= runs * 95 / 100);
}

/* Every request of the canary fails: rolled back within half a second,
 * named outage on http_5xx, with the evidence filled in. */
static void
test_all_errors_rolled_back_fast(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	struct sim s = clean_sim(200);
	uint64_t worst = 0;
	int onset_near = 0;

	(void)state;
	verdict_conf_default(&conf);
	s.bad_from_ms = 5000;
	s.canary_bad = healthy;
	s.canary_bad.p_5xx = 1.0;
	for (int i = 0; i < 50; i++) {
		uint64_t at = run(&r, &conf, &s, 30000, 300 + i);

		assert_true(at != UINT64_MAX);
		assert_int_equal(r.d.state, VERDICT_ROLLBACK);
		assert_int_equal(r.d.metric, VERDICT_M_HTTP_5XX);
		assert_int_equal(r.d.mode, VERDICT_MODE_OUTAGE);
		assert_true(r.d.first_bad_ms <= at);
		onset_near += r.d.first_bad_ms >= 4500;
		assert_true(r.d.ev[VERDICT_M_HTTP_5XX].failed);
		assert_true(r.d.ev[VERDICT_M_HTTP_5XX].e_value >= r.d.ev[VERDICT_M_HTTP_5XX].threshold);
		assert_non_null(strstr(r.d.reason, "http_5xx"));
		if (at - s.bad_from_ms > worst)
			worst = at - s.bad_from_ms;
	}
	print_message("100%% errors at 200 req/s, 10%% canary: worst detection %lu ms, "
		      "onset estimated within 0.5 s in %d of 50\n", (unsigned long)worst, onset_near);
	assert_true(worst <= 1000);
	/* A stray error of the healthy 0.2 % shortly before the change is
	 * indistinguishable from the onset: about one run in eight. */
	assert_true(onset_near >= 40);
}

/* Refused connects and +50 ms are caught, with their metric and mode. */
static void
test_refused_and_slow(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	struct sim s = clean_sim(1000);

	(void)state;
	verdict_conf_default(&conf);
	s.bad_from_ms = 3000;
	s.canary_bad = healthy;
	s.canary_bad.p_refused = 0.5;
	assert_true(run(&r, &conf, &s, 20000, 11) != UINT64_MAX);
	assert_int_equal(r.d.metric, VERDICT_M_CONNECT_FAIL);
	assert_true(r.d.at_ms - s.bad_from_ms <= 2000);

	s.canary_bad = healthy;
	s.canary_bad.lat_us = 50400;
	assert_true(run(&r, &conf, &s, 20000, 12) != UINT64_MAX);
	assert_int_equal(r.d.metric, VERDICT_M_SLOW);
	assert_int_equal(r.d.mode, VERDICT_MODE_DEGRADATION);
	assert_true(r.d.ev[VERDICT_M_SLOW].slow_above_us > 400);
	assert_true(r.d.at_ms - s.bad_from_ms <= 2000);
}

/* A canary a fifth slower than the control (a colder server): not a
 * regression worth a rollback, in 100 seeded runs. */
static void
test_slightly_slower_not_rolled_back(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	unsigned int rollbacks = 0;

	(void)state;
	verdict_conf_default(&conf);
	for (unsigned int i = 0; i < 100; i++) {
		struct sim s = clean_sim(2000);

		s.canary.lat_us = 480;
		rollbacks += run(&r, &conf, &s, 30000, 900 + i) != UINT64_MAX;
	}
	print_message("canary 1.2x slower: %u of 100 rolled back\n", rollbacks);
	assert_int_equal(rollbacks, 0);
}

/* One request every 5 s: never GO on silence, and the one error it sees
 * does not roll it back. */
static void
test_low_traffic_holds(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	struct verdict_counts c = { 0 }, k = { 0 }, none = { 0 };

	(void)state;
	verdict_conf_default(&conf);
	verdict_release_init(&r, &conf, 0);
	assert_int_equal(verdict_release_observe(&r, 100, &none, &none)->state, VERDICT_HOLD);
	assert_non_null(strstr(r.d.reason, "no traffic"));
	for (uint64_t now = 200; now <= 120000; now += 100) {
		bool tick = now % 5000 == 0;

		memset(&c, 0, sizeof(c));
		memset(&k, 0, sizeof(k));
		if (tick) {
			k.n[VERDICT_M_HTTP_5XX] = 9;
			c.n[VERDICT_M_HTTP_5XX] = 1;
			c.bad[VERDICT_M_HTTP_5XX] = now == 60000;   /* the one error */
		}
		verdict_release_observe(&r, now, &c, &k);
		assert_int_not_equal(r.d.state, VERDICT_GO);
		assert_int_not_equal(r.d.state, VERDICT_ROLLBACK);
	}
	assert_non_null(strstr(r.d.reason, "traffic floor"));
}

/* GO needs the bake time even with plenty of traffic; ROLLBACK is final. */
static void
test_bake_and_final_rollback(void **state)
{
	struct verdict_conf conf;
	struct verdict_release r;
	struct sim s = clean_sim(5000);

	(void)state;
	verdict_conf_default(&conf);
	conf.bake_ms = 30000;
	run(&r, &conf, &s, 20000, 5);
	assert_int_equal(r.d.state, VERDICT_HOLD);
	assert_non_null(strstr(r.d.reason, "baking"));
	run(&r, &conf, &s, 31000, 5);
	assert_int_equal(r.d.state, VERDICT_GO);
	assert_true(r.d.at_ms >= 30000);

	struct verdict_counts good = { 0 };

	s.canary_bad = healthy;
	s.canary_bad.p_5xx = 1;
	s.bad_from_ms = 1000;
	assert_true(run(&r, &conf, &s, 5000, 6) != UINT64_MAX);
	good.n[VERDICT_M_HTTP_5XX] = 1000;
	verdict_release_observe(&r, 99999, &good, &good);
	assert_int_equal(r.d.state, VERDICT_ROLLBACK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lat_buckets),
		cmocka_unit_test(test_seq_neutral),
		cmocka_unit_test(test_seq_canary_only_errors),
		cmocka_unit_test(test_seq_anytime_valid),
		cmocka_unit_test(test_traffic_floor),
		cmocka_unit_test(test_floor_keeps_its_promise),
		cmocka_unit_test(test_clean_never_rolled_back),
		cmocka_unit_test(test_all_errors_rolled_back_fast),
		cmocka_unit_test(test_refused_and_slow),
		cmocka_unit_test(test_slightly_slower_not_rolled_back),
		cmocka_unit_test(test_low_traffic_holds),
		cmocka_unit_test(test_bake_and_final_rollback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
