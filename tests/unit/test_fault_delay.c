/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the delay queue (FIFOs and timer wheel), the random
 * generator, probability thresholds, delay distributions and the error
 * histogram. No EAL; the clock is the "now" each poll is given.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fault.h"

#define SEC 3000000000ull /* cycles in a second of a 3 GHz TSC */

static struct fault_delay_item
item(uint32_t id, uint64_t deadline)
{
	struct fault_delay_item it = {
		.pkt = (void *)(uintptr_t)(id + 1),
		.deadline = deadline,
		.requested = deadline,
		.rule_uid = id,
		.port = (uint16_t)(id & 0xffff),
		.slot = (uint16_t)(id % FAULT_MAX_RULES),
	};

	return it;
}

static void
push_ok(struct fault_delayq *q, uint32_t id, uint64_t deadline, uint32_t fifo)
{
	struct fault_delay_item it = item(id, deadline);

	assert_int_equal(fault_delayq_push(q, &it, fifo), 0);
}

/* Poll at @p now and check exactly the ids @p want come out, in order. */
static void
poll_expect(struct fault_delayq *q, uint64_t now, const uint32_t *want,
	    uint32_t n_want)
{
	struct fault_delay_item out[64];
	uint32_t n = fault_delayq_poll(q, now, out, 64);

	assert_int_equal(n, n_want);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(out[i].rule_uid, want[i]);
		assert_ptr_equal(out[i].pkt, (void *)(uintptr_t)(want[i] + 1));
		assert_true(out[i].deadline <= now);
	}
}

static void
poll_none(struct fault_delayq *q, uint64_t now)
{
	poll_expect(q, now, NULL, 0);
}

static void
poll_one(struct fault_delayq *q, uint64_t now, uint32_t id)
{
	poll_expect(q, now, &id, 1);
}

/* ------------------------------------------------------------------ */
/* Random numbers and distributions.                                    */

static void
test_splitmix_reference(void **state)
{
	struct fault_rng r;

	(void)state;
	fault_rng_seed(&r, 0);
	assert_true(fault_rng_next(&r) == 0xe220a8397b1dcdafull);
	assert_true(fault_rng_next(&r) == 0x6e789e6aa1b965f4ull);
	assert_true(fault_rng_next(&r) == 0x06c45d188009454full);
}

static void
test_prob_threshold(void **state)
{
	struct fault_rng r;

	(void)state;
	assert_true(fault_prob_threshold(0.0) == 0);
	assert_true(fault_prob_threshold(-0.5) == 0);
	assert_true(fault_prob_threshold(-INFINITY) == 0);
	assert_true(fault_prob_threshold(NAN) == 0);
	assert_true(fault_prob_threshold(1e-12) == 0);
	assert_true(fault_prob_threshold(0x1p-32) == 1);
	assert_true(fault_prob_threshold(0.5) == 0x80000000ull);
	assert_true(fault_prob_threshold(0.1) == 429496729ull);
	assert_true(fault_prob_threshold(nextafter(1.0, 0.0)) == 0xffffffffull);
	assert_true(fault_prob_threshold(1.0) == FAULT_P_ALWAYS);
	assert_true(fault_prob_threshold(2.0) == FAULT_P_ALWAYS);
	assert_true(fault_prob_threshold(INFINITY) == FAULT_P_ALWAYS);

	fault_rng_seed(&r, 7);
	for (int i = 0; i < 1000; i++) {
		assert_true(fault_rng_chance(&r, FAULT_P_ALWAYS));
		assert_false(fault_rng_chance(&r, 0));
	}
}

static void
test_draw_jitter_zero(void **state)
{
	struct fault_rng r;

	(void)state;
	fault_rng_seed(&r, 42);
	for (uint8_t d = CONF_DIST_UNIFORM; d <= CONF_DIST_PARETO; d++) {
		assert_true(fault_delay_draw(&r, d, 12345, 0) == 12345);
		assert_true(fault_delay_draw(&r, d, 0, 0) == 0);
		assert_true(fault_delay_draw(&r, d, UINT64_MAX, 0) == UINT64_MAX);
	}
	/* no draw was taken */
	assert_true(r.s == 42);
}

#define N_DRAWS 100000

struct moments {
	double mean;
	double sd;
	uint64_t min;
	uint64_t max;
};

static struct moments
draw_moments(uint8_t dist, uint64_t base, uint64_t jitter, uint64_t seed)
{
	struct fault_rng r;
	struct moments m = { .min = UINT64_MAX };
	double sum = 0, sum2 = 0;

	fault_rng_seed(&r, seed);
	for (int i = 0; i < N_DRAWS; i++) {
		uint64_t v = fault_delay_draw(&r, dist, base, jitter);
		double x = (double)v - (double)base;

		sum += x;
		sum2 += x * x;
		m.min = v < m.min ? v : m.min;
		m.max = v > m.max ? v : m.max;
	}
	m.mean = sum / N_DRAWS;
	m.sd = sqrt(sum2 / N_DRAWS - m.mean * m.mean);
	m.mean += (double)base;
	return m;
}

static void
test_draw_uniform(void **state)
{
	const uint64_t base = 1000000, jitter = 10000;
	struct moments m = draw_moments(CONF_DIST_UNIFORM, base, jitter, 1);

	(void)state;
	assert_true(m.min >= base - jitter);
	assert_true(m.max <= base + jitter);
	/* the whole range is used */
	assert_true(m.min < base - jitter + 100);
	assert_true(m.max > base + jitter - 100);
	assert_true(fabs(m.mean - (double)base) < 0.02 * jitter);
	assert_true(fabs(m.sd - jitter / sqrt(3.0)) < 0.02 * jitter);
}

static void
test_draw_normal(void **state)
{
	const uint64_t base = 1000000, jitter = 10000;
	struct moments m = draw_moments(CONF_DIST_NORMAL, base, jitter, 2);

	(void)state;
	assert_true(fabs(m.mean - (double)base) < 0.02 * jitter);
	assert_true(fabs(m.sd - (double)jitter) < 0.02 * jitter);
	/* a real tail, both ways */
	assert_true(m.min < base - 3 * jitter);
	assert_true(m.max > base + 3 * jitter);
}

static void
test_draw_pareto(void **state)
{
	const uint64_t base = 1000000, jitter = 10000;
	struct moments m = draw_moments(CONF_DIST_PARETO, base, jitter, 3);

	(void)state;
	assert_true(m.min >= base);
	assert_true(m.min < base + 100);
	assert_true(fabs(m.mean - (double)base - (double)jitter) < 0.05 * jitter);
	/* heavy tail: well beyond what a normal draw would give */
	assert_true(m.max > base + 10 * jitter);
}

static void
test_draw_clamp(void **state)
{
	struct fault_rng r;
	int zeros = 0, tops = 0;

	(void)state;
	fault_rng_seed(&r, 4);
	for (int i = 0; i < 10000; i++) {
		uint64_t u = fault_delay_draw(&r, CONF_DIST_UNIFORM, 10, 1000);
		uint64_t n = fault_delay_draw(&r, CONF_DIST_NORMAL, 0, 1000);
		uint64_t t = fault_delay_draw(&r, CONF_DIST_UNIFORM,
					      UINT64_MAX - 5, 1000);

		assert_true(u <= 1010);
		assert_true(n <= 10000);
		assert_true(t >= UINT64_MAX - 1005);
		zeros += (u == 0) + (n == 0);
		tops += t == UINT64_MAX;
	}
	/* about half the draws of each of the first two go below 0 */
	assert_true(zeros > 8000);
	assert_true(tops > 4000);
	/* an unknown distribution gives the base */
	assert_true(fault_delay_draw(&r, 99, 500, 100) == 500);
}

static void
test_hist_buckets(void **state)
{
	const uint64_t lin = (uint64_t)FAULT_HIST_LINEAR * FAULT_HIST_STEP_NS;

	(void)state;
	assert_int_equal(fault_hist_bucket(0), 0);
	assert_int_equal(fault_hist_bucket(99), 0);
	assert_int_equal(fault_hist_bucket(100), 1);
	assert_int_equal(fault_hist_bucket(lin - 1), FAULT_HIST_LINEAR - 1);
	assert_int_equal(fault_hist_bucket(lin), FAULT_HIST_LINEAR);
	assert_int_equal(fault_hist_bucket(2 * lin - 1), FAULT_HIST_LINEAR);
	assert_int_equal(fault_hist_bucket(2 * lin), FAULT_HIST_LINEAR + 1);
	assert_int_equal(fault_hist_bucket(4 * lin - 1), FAULT_HIST_LINEAR + 1);
	assert_int_equal(fault_hist_bucket(4 * lin), FAULT_HIST_LINEAR + 2);
	assert_int_equal(fault_hist_bucket(UINT64_MAX), FAULT_HIST_BUCKETS - 1);

	assert_true(fault_hist_bucket_floor(0) == 0);
	assert_true(fault_hist_bucket_floor(1) == FAULT_HIST_STEP_NS);
	assert_true(fault_hist_bucket_floor(FAULT_HIST_LINEAR) == lin);
	assert_true(fault_hist_bucket_floor(FAULT_HIST_LINEAR + 3) == 8 * lin);
	assert_true(fault_hist_bucket_floor(FAULT_HIST_BUCKETS - 1) ==
		    lin << (FAULT_HIST_BUCKETS - 1 - FAULT_HIST_LINEAR));
	for (unsigned int b = 0; b < FAULT_HIST_BUCKETS; b++) {
		uint64_t lo = fault_hist_bucket_floor(b);

		assert_int_equal(fault_hist_bucket(lo), b);
		if (b > 0)
			assert_int_equal(fault_hist_bucket(lo - 1), b - 1);
	}
}

/* ------------------------------------------------------------------ */
/* Delay queue: fixed cases.                                            */

static void
test_create_invalid(void **state)
{
	struct fault_delayq *q;

	(void)state;
	assert_null(fault_delayq_create(16, 4, 100, 4096, 0));
	assert_null(fault_delayq_create(16, 4, 256, 4000, 0));
	assert_null(fault_delayq_create(16, 4, 0, 4096, 0));
	assert_null(fault_delayq_create(16, 4, 256, 0, 0));
	assert_null(fault_delayq_create(16, 4, 256, 1, 0));
	assert_null(fault_delayq_create(0, 4, 256, 4096, 0));
	fault_delayq_free(NULL);

	q = fault_delayq_create(16, 0, 1, 2, 0);
	assert_non_null(q);
	assert_int_equal(fault_delayq_count(q), 0);
	fault_delayq_free(q);
}

static void
test_poll_empty(void **state)
{
	struct fault_delayq *q = fault_delayq_create(16, 4, 256, 4096, 0);
	struct fault_delay_item out[4];

	(void)state;
	assert_int_equal(fault_delayq_poll(q, 0, out, 4), 0);
	assert_int_equal(fault_delayq_poll(q, UINT64_MAX, out, 4), 0);
	assert_int_equal(fault_delayq_drain(q, out, 4), 0);
	fault_delayq_free(q);
}

static void
test_fifo_exact(void **state)
{
	struct fault_delayq *q = fault_delayq_create(16, 4, 256, 4096, 0);
	static const uint32_t first[] = { 0, 1 };

	(void)state;
	push_ok(q, 0, 1000, 2);
	push_ok(q, 1, 1000, 2);
	push_ok(q, 2, 1500, 2);
	push_ok(q, 3, 2000, 2);
	assert_int_equal(fault_delayq_count(q), 4);
	poll_none(q, 0);
	poll_none(q, 999);
	poll_expect(q, 1000, first, 2);
	poll_none(q, 1499);
	poll_one(q, 1500, 2);
	poll_none(q, 1999);
	poll_one(q, 2000, 3);
	assert_int_equal(fault_delayq_count(q), 0);
	fault_delayq_free(q);
}

/*
 * A FIFO longer than its chunks (128 items each), full to capacity across
 * two FIFOs, emptied and filled again: order, fields, peek and the pool.
 */
static void
test_fifo_chunks(void **state)
{
	enum { CAP = 1000 };
	struct fault_delayq *q = fault_delayq_create(CAP, 2, 256, 4096, 0);
	struct fault_delay_item out[64], it;
	void *peek[300];
	uint32_t next[2] = { 0, 1 }, n;

	(void)state;
	for (uint32_t round = 0; round < 3; round++) {
		uint64_t t0 = round * 100000;

		for (uint32_t id = 0; id < CAP; id++)
			push_ok(q, id, t0 + 1000 + id / 2 * 10, id % 2);
		assert_int_equal(fault_delayq_count(q), CAP);
		it = item(CAP, t0 + 999999);
		assert_int_equal(fault_delayq_push(q, &it, 0), -1);
		/* the FIFO due first: 0 and 1 share a deadline, 0 came first */
		n = fault_delayq_peek(q, peek, 300);
		assert_int_equal(n, 300);
		for (uint32_t i = 0; i < n; i++)
			assert_ptr_equal(peek[i], (void *)(uintptr_t)(2 * i + 1));
		next[0] = 0;
		next[1] = 1;
		while ((n = fault_delayq_poll(q, t0 + 99999, out, 64)) > 0)
			for (uint32_t i = 0; i < n; i++) {
				uint32_t id = out[i].rule_uid, f = id % 2;

				assert_int_equal(id, next[f]);
				next[f] += 2;
				assert_int_equal(out[i].port, id & 0xffff);
				assert_int_equal(out[i].slot, id % FAULT_MAX_RULES);
				assert_int_equal(out[i].requested, out[i].deadline);
			}
		assert_int_equal(next[0], CAP);
		assert_int_equal(next[1], CAP + 1);
		assert_int_equal(fault_delayq_count(q), 0);
		assert_int_equal(fault_delayq_peek(q, peek, 300), 0);
	}
	fault_delayq_free(q);
}

/*
 * Copies: kept in the FIFO with their bytes, in order with items that
 * keep their packet; refused where a packet would not go in a FIFO.
 */
static void
test_fifo_copies(void **state)
{
	struct fault_delayq *q = fault_delayq_create(300, 2, 256, 4096, 0);
	struct fault_delay_item out[64], it;
	uint8_t bytes[FAULT_DELAY_INLINE + 1];
	void *peek[8];
	uint32_t n, got = 0;

	(void)state;
	for (uint32_t id = 0; id < 200; id++) {
		it = item(id, 1000 + id);
		memset(bytes, (int)id, sizeof(bytes));
		if (id % 3 == 0)
			assert_int_equal(fault_delayq_push(q, &it, 0), 0);
		else
			assert_int_equal(fault_delayq_push_copy(q, &it, 0, bytes,
						1 + id % FAULT_DELAY_INLINE), 0);
	}
	it = item(999, 5000);
	assert_int_equal(fault_delayq_push_copy(q, &it, FAULT_DELAY_WHEEL, bytes, 8), -1);
	assert_int_equal(fault_delayq_push_copy(q, &it, 2, bytes, 8), -1);
	assert_int_equal(fault_delayq_push_copy(q, &it, 0, bytes, 0), -1);
	assert_int_equal(fault_delayq_push_copy(q, &it, 0, bytes,
						FAULT_DELAY_INLINE + 1), -1);
	it = item(999, 10);     /* before the FIFO's last */
	assert_int_equal(fault_delayq_push_copy(q, &it, 0, bytes, 8), -1);
	assert_int_equal(fault_delayq_count(q), 200);
	/* peek shows the packets among the next 8, not the copies */
	assert_int_equal(fault_delayq_peek(q, peek, 8), 3);
	assert_ptr_equal(peek[0], (void *)(uintptr_t)1);
	assert_ptr_equal(peek[1], (void *)(uintptr_t)4);
	assert_ptr_equal(peek[2], (void *)(uintptr_t)7);
	while ((n = fault_delayq_poll(q, 100000, out, 64)) > 0)
		for (uint32_t i = 0; i < n; i++, got++) {
			assert_int_equal(out[i].rule_uid, got);
			assert_int_equal(out[i].deadline, 1000 + got);
			assert_int_equal(out[i].port, got);
			if (got % 3 == 0) {
				assert_int_equal(out[i].len, 0);
				assert_ptr_equal(out[i].pkt, (void *)(uintptr_t)(got + 1));
				continue;
			}
			assert_int_equal(out[i].len, 1 + got % FAULT_DELAY_INLINE);
			memset(bytes, (int)got, sizeof(bytes));
			assert_memory_equal(out[i].pkt, bytes, out[i].len);
		}
	assert_int_equal(got, 200);
	assert_int_equal(fault_delayq_count(q), 0);
	fault_delayq_free(q);
}

/*
 * Only copies held: the peek hands out nothing and reads no place (the
 * release asks for the places with fault_delayq_prefetch() instead); a
 * packet held as itself among them is found again, until it goes out.
 * The prefetch walks chunk links across chunk ends and stops at the tail
 * (ASan checks it reads nothing past the pool).
 */
static void
test_peek_copies_only(void **state)
{
	struct fault_delayq *q = fault_delayq_create(300, 1, 256, 4096, 0);
	struct fault_delay_item out[64], it;
	uint8_t bytes[16] = { 0 };
	void *peek[8];

	(void)state;
	fault_delayq_prefetch(q, 32);                   /* empty: nothing */
	for (uint32_t id = 0; id < 100; id++) {
		it = item(id, 1000 + id);
		assert_int_equal(fault_delayq_push_copy(q, &it, 0, bytes, 16), 0);
		fault_delayq_prefetch(q, 200);
	}
	assert_int_equal(fault_delayq_peek(q, peek, 8), 0);
	it = item(100, 2000);
	assert_int_equal(fault_delayq_push(q, &it, 0), 0);
	/* the packet is item 100: not among the next 8, but counted */
	assert_int_equal(fault_delayq_peek(q, peek, 8), 0);
	assert_int_equal(fault_delayq_poll(q, 1000 + 95, out, 64), 64);
	assert_int_equal(fault_delayq_poll(q, 1000 + 95, out, 64), 32);
	fault_delayq_prefetch(q, 32);
	assert_int_equal(fault_delayq_peek(q, peek, 8), 1);
	assert_ptr_equal(peek[0], (void *)(uintptr_t)101);
	assert_int_equal(fault_delayq_poll(q, 5000, out, 64), 5);
	assert_int_equal(out[4].len, 0);
	assert_int_equal(fault_delayq_peek(q, peek, 8), 0);
	fault_delayq_prefetch(q, 32);
	fault_delayq_free(q);
}

static void
test_fifos_interleaved(void **state)
{
	static const uint64_t delay[3] = { 300, 1000, 50 };
	struct fault_delayq *q = fault_delayq_create(64, 3, 256, 4096, 0);
	uint64_t deadline[30];
	uint32_t next_out[3] = { 0, 1, 2 }, got = 0;

	(void)state;
	/* item i goes to FIFO i % 3, pushed at 10 * i */
	for (uint32_t i = 0; i < 30; i++) {
		deadline[i] = 10 * i + delay[i % 3];
		push_ok(q, i, deadline[i], i % 3);
	}
	for (uint64_t now = 0; now <= 1300; now++) {
		struct fault_delay_item out[8];
		uint32_t n = fault_delayq_poll(q, now, out, 8);

		for (uint32_t k = 0; k < n; k++) {
			uint32_t id = out[k].rule_uid;

			/* due exactly now (polled every cycle), in FIFO order */
			assert_true(deadline[id] == now);
			assert_int_equal(id, next_out[id % 3]);
			next_out[id % 3] += 3;
			got++;
		}
	}
	assert_int_equal(got, 30);
	assert_int_equal(fault_delayq_count(q), 0);
	fault_delayq_free(q);
}

static void
test_fifo_decreasing_goes_to_wheel(void **state)
{
	struct fault_delayq *q = fault_delayq_create(16, 2, 256, 4096, 0);

	(void)state;
	push_ok(q, 0, 100000, 1);
	push_ok(q, 1, 500, 1);          /* below the tail: wheel */
	push_ok(q, 2, 100000, 1);       /* equal to the tail: FIFO */
	push_ok(q, 3, 777, 7);          /* no such FIFO: wheel */
	push_ok(q, 4, 90000, FAULT_DELAY_WHEEL);
	poll_none(q, 499);
	poll_one(q, 500, 1);
	poll_none(q, 776);
	poll_one(q, 777, 3);
	poll_none(q, 89999);
	poll_one(q, 90000, 4);
	poll_none(q, 99999);
	{
		static const uint32_t last[] = { 0, 2 };

		poll_expect(q, 100000, last, 2);
	}
	fault_delayq_free(q);
}

static void
test_wheel_exact_within_tick(void **state)
{
	struct fault_delayq *q = fault_delayq_create(16, 0, 256, 4096, 1000);

	(void)state;
	/* three items in one tick, pushed out of order */
	push_ok(q, 0, 5130, FAULT_DELAY_WHEEL);
	push_ok(q, 1, 5121, FAULT_DELAY_WHEEL);
	push_ok(q, 2, 5125, FAULT_DELAY_WHEEL);
	push_ok(q, 3, 10, FAULT_DELAY_WHEEL);   /* already past */
	poll_one(q, 1001, 3);
	poll_none(q, 5120);
	poll_one(q, 5121, 1);
	poll_none(q, 5124);
	poll_one(q, 5125, 2);
	/* pushed into the current tick, before what is left in it */
	push_ok(q, 4, 5127, FAULT_DELAY_WHEEL);
	push_ok(q, 5, 5126, FAULT_DELAY_WHEEL);
	poll_one(q, 5126, 5);
	poll_one(q, 5127, 4);
	poll_none(q, 5129);
	poll_one(q, 5130, 0);
	fault_delayq_free(q);
}

static void
test_wheel_equal_deadlines_push_order(void **state)
{
	struct fault_delayq *q = fault_delayq_create(64, 0, 256, 4096, 0);
	const uint64_t d = 5 * SEC + 17;
	uint32_t want[10];

	(void)state;
	/* far ones (upper levels, cascaded), then more once d is near */
	for (uint32_t i = 0; i < 5; i++) {
		push_ok(q, i, d, FAULT_DELAY_WHEEL);
		push_ok(q, 100 + i, d + 1 + i, FAULT_DELAY_WHEEL);
	}
	poll_none(q, d - 300);
	for (uint32_t i = 5; i < 10; i++)
		push_ok(q, i, d, FAULT_DELAY_WHEEL);
	poll_none(q, d - 1);
	for (uint32_t i = 0; i < 10; i++)
		want[i] = i;
	poll_expect(q, d, want, 10);
	for (uint32_t i = 0; i < 5; i++)
		poll_one(q, d + 1 + i, 100 + i);
	fault_delayq_free(q);
}

static void
test_wheel_far_deadlines(void **state)
{
	const uint64_t t0 = 123456789;
	struct fault_delayq *q = fault_delayq_create(16, 0, 256, 4096, t0);

	(void)state;
	push_ok(q, 0, t0 + 10 * SEC, FAULT_DELAY_WHEEL);
	push_ok(q, 1, t0 + 10 * SEC + 1, FAULT_DELAY_WHEEL);
	push_ok(q, 2, t0 + 1000 * SEC + 3, FAULT_DELAY_WHEEL);
	push_ok(q, 3, UINT64_MAX - 5, FAULT_DELAY_WHEEL);
	push_ok(q, 4, UINT64_MAX, FAULT_DELAY_WHEEL);
	/* a poll every millisecond for a while, then straight to the edges */
	for (uint64_t now = t0; now < t0 + SEC / 10; now += SEC / 1000)
		poll_none(q, now);
	poll_none(q, t0 + 10 * SEC - 1);
	poll_one(q, t0 + 10 * SEC, 0);
	poll_one(q, t0 + 10 * SEC + 1, 1);
	poll_none(q, t0 + 1000 * SEC + 2);
	poll_one(q, t0 + 1000 * SEC + 3, 2);
	poll_none(q, UINT64_MAX - 6);
	poll_one(q, UINT64_MAX - 5, 3);
	poll_none(q, UINT64_MAX - 1);
	poll_one(q, UINT64_MAX, 4);
	assert_int_equal(fault_delayq_count(q), 0);
	fault_delayq_free(q);
}

static void
test_long_idle_jump(void **state)
{
	/* 0.1 us tick and 64k slots: 5 s is ~50 M ticks away */
	struct fault_delayq *q = fault_delayq_create(4096, 4, 256, 65536, 0);
	struct fault_delay_item out[4096];
	uint32_t n;

	(void)state;
	for (uint32_t i = 0; i < 1000; i++)
		push_ok(q, i, 1000 + i * (SEC / 1000), i < 500 ? FAULT_DELAY_WHEEL : 3);
	push_ok(q, 1000, 6 * SEC, FAULT_DELAY_WHEEL);
	/* nothing polled for 5 s: one poll returns everything due */
	n = fault_delayq_poll(q, 5 * SEC, out, 4096);
	assert_int_equal(n, 1000);
	for (uint32_t i = 0; i < n; i++)
		assert_true(out[i].deadline <= 5 * SEC);
	assert_int_equal(fault_delayq_count(q), 1);
	poll_none(q, 6 * SEC - 1);
	poll_one(q, 6 * SEC, 1000);
	/* and an idle jump with an empty queue */
	poll_none(q, 100 * SEC);
	push_ok(q, 7, 100 * SEC + 300, FAULT_DELAY_WHEEL);
	poll_none(q, 100 * SEC + 299);
	poll_one(q, 100 * SEC + 300, 7);
	fault_delayq_free(q);
}

static void
test_capacity(void **state)
{
	struct fault_delayq *q = fault_delayq_create(8, 2, 256, 4096, 0);
	struct fault_delay_item it = item(99, 50);

	(void)state;
	for (uint32_t i = 0; i < 8; i++)
		push_ok(q, i, 100 + i, i % 2 ? FAULT_DELAY_WHEEL : 0);
	assert_int_equal(fault_delayq_count(q), 8);
	assert_int_equal(fault_delayq_push(q, &it, 0), -1);
	assert_int_equal(fault_delayq_push(q, &it, FAULT_DELAY_WHEEL), -1);
	assert_int_equal(fault_delayq_count(q), 8);
	poll_none(q, 99);
	{
		static const uint32_t one[] = { 0 };

		poll_expect(q, 100, one, 1);
	}
	assert_int_equal(fault_delayq_count(q), 7);
	assert_int_equal(fault_delayq_push(q, &it, FAULT_DELAY_WHEEL), 0);
	assert_int_equal(fault_delayq_count(q), 8);
	assert_int_equal(fault_delayq_push(q, &it, FAULT_DELAY_WHEEL), -1);
	fault_delayq_free(q);
}

static void
test_poll_max(void **state)
{
	struct fault_delayq *q = fault_delayq_create(64, 4, 256, 4096, 0);
	struct fault_delay_item out[3];
	uint32_t next_fifo = 0, next_wheel = 10, total = 0;

	(void)state;
	/* ten due in FIFO 1, ten in the wheel (increasing), one not due */
	for (uint32_t i = 0; i < 10; i++) {
		push_ok(q, i, 100 + i, 1);
		push_ok(q, 10 + i, 200 + i, FAULT_DELAY_WHEEL);
	}
	push_ok(q, 20, 1000, FAULT_DELAY_WHEEL);
	for (;;) {
		uint32_t n = fault_delayq_poll(q, 500, out, 3);

		if (n == 0)
			break;
		assert_true(n <= 3);
		for (uint32_t k = 0; k < n; k++) {
			uint32_t id = out[k].rule_uid;

			if (id < 10)
				assert_int_equal(id, next_fifo++);
			else
				assert_int_equal(id, next_wheel++);
		}
		total += n;
	}
	assert_int_equal(total, 20);
	assert_int_equal(fault_delayq_count(q), 1);
	assert_int_equal(fault_delayq_poll(q, 500, out, 0), 0);
	poll_none(q, 999);
	poll_one(q, 1000, 20);
	fault_delayq_free(q);
}

static void
test_drain(void **state)
{
	struct fault_delayq *q = fault_delayq_create(64, 4, 256, 4096, 0);
	struct fault_delay_item out[64];
	bool seen[40] = { false };
	uint32_t n, total = 0;

	(void)state;
	for (uint32_t i = 0; i < 40; i++) {
		uint64_t d = (i % 4 == 0) ? 100 + i :
			     (i % 4 == 1) ? 5000 + i * 1000 :
			     (i % 4 == 2) ? SEC + i : 20 * SEC + i;

		push_ok(q, i, d, i % 3 == 0 ? i % 4 : FAULT_DELAY_WHEEL);
	}
	n = fault_delayq_drain(q, out, 7);
	assert_int_equal(n, 7);
	assert_int_equal(fault_delayq_count(q), 33);
	total = n;
	for (uint32_t k = 0; k < n; k++)
		seen[out[k].rule_uid] = true;
	while ((n = fault_delayq_drain(q, out, 64)) > 0) {
		for (uint32_t k = 0; k < n; k++) {
			assert_false(seen[out[k].rule_uid]);
			seen[out[k].rule_uid] = true;
		}
		total += n;
	}
	assert_int_equal(total, 40);
	assert_int_equal(fault_delayq_count(q), 0);
	poll_none(q, UINT64_MAX);
	/* still works afterwards */
	push_ok(q, 1, 30 * SEC, FAULT_DELAY_WHEEL);
	push_ok(q, 2, 30 * SEC, 0);
	poll_none(q, 30 * SEC - 1);
	n = fault_delayq_poll(q, 30 * SEC, out, 64);
	assert_int_equal(n, 2);
	fault_delayq_free(q);
}

/* ------------------------------------------------------------------ */
/* Delay queue: random traffic against the exact-timing rule.           */

#define R_ITEMS 20000
#define R_CAP 32768
#define R_FIFOS 40

struct rand_case {
	uint64_t tick;
	uint32_t slots;
};

static uint64_t
rand_below(struct fault_rng *r, uint64_t n)
{
	return n == 0 ? 0 : fault_rng_next(r) % n;
}

/*
 * A constant delay per FIFO (the last FIFO has none: its items come in any
 * order, and those below the tail go to the wheel), spread over decades.
 */
static uint64_t
fifo_delay(uint32_t fifo)
{
	static const uint64_t decade[5] = { 1000, 100000, 5000000, SEC / 10, SEC };

	return decade[fifo % 5] + 37 * fifo;
}

/* A deadline for an item pushed at @p now, and the FIFO it goes to. */
static uint64_t
rand_deadline(struct fault_rng *r, uint64_t now, uint32_t *fifo)
{
	uint64_t k = rand_below(r, 100);

	*fifo = FAULT_DELAY_WHEEL;
	if (k < 10)
		return now - rand_below(r, 1000 < now ? 1000 : now);
	if (k < 30)
		return now + rand_below(r, 512);
	if (k < 50)
		return now + rand_below(r, 1 << 20);
	if (k < 65)
		return now + rand_below(r, 1ull << 32);
	if (k < 72)
		return now + rand_below(r, 10 * SEC);
	*fifo = (uint32_t)rand_below(r, R_FIFOS);
	if (*fifo == R_FIFOS - 1)
		return now + rand_below(r, 1000000);
	return now + fifo_delay(*fifo);
}

static uint64_t
rand_step(struct fault_rng *r)
{
	uint64_t k = rand_below(r, 100);

	if (k < 70)
		return rand_below(r, 300);
	if (k < 95)
		return rand_below(r, 1 << 20);
	if (k < 99)
		return rand_below(r, 1ull << 33);
	return rand_below(r, 20 * SEC);
}

/*
 * Every item must come out at the first poll whose now reaches its due
 * time: the later of its deadline and the now of the poll it was pushed
 * before. Items from @p fresh_from on were pushed before this poll.
 */
static void
check_out(const struct fault_delay_item *out, uint32_t n, const uint64_t *due,
	  bool *emitted, uint32_t fresh_from, uint64_t prev_now, uint64_t now)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t id = out[k].rule_uid;

		assert_true(id < R_ITEMS);
		assert_false(emitted[id]);
		assert_true(out[k].deadline <= now);
		/* not due at the previous poll, or pushed since */
		assert_true(due[id] > prev_now || id >= fresh_from);
		assert_true(due[id] <= now);
		emitted[id] = true;
	}
}

static void
run_random(const struct rand_case *c, uint64_t seed)
{
	static struct fault_delay_item out[R_CAP];
	static uint64_t due[R_ITEMS];
	static bool emitted[R_ITEMS];
	struct fault_delayq *q;
	struct fault_rng r;
	uint64_t now = 5000, prev_now = 0, last_due = 0;
	uint32_t pushed = 0, got = 0;

	fault_rng_seed(&r, seed);
	memset(emitted, 0, sizeof(emitted));
	q = fault_delayq_create(R_CAP, R_FIFOS, c->tick, c->slots, now);
	assert_non_null(q);
	while (got < R_ITEMS) {
		uint32_t n_push = pushed < R_ITEMS ? (uint32_t)rand_below(&r, 4) : 0;
		uint32_t fresh_from = pushed, n;

		for (uint32_t i = 0; i < n_push && pushed < R_ITEMS; i++) {
			uint32_t fifo;
			uint64_t d = rand_deadline(&r, now, &fifo);

			due[pushed] = d > now ? d : now;
			last_due = due[pushed] > last_due ? due[pushed] : last_due;
			push_ok(q, pushed, d, fifo);
			pushed++;
		}
		n = fault_delayq_poll(q, now, out, R_CAP);
		check_out(out, n, due, emitted, fresh_from, prev_now, now);
		got += n;
		assert_int_equal(fault_delayq_count(q), pushed - got);
		prev_now = now;
		now += rand_step(&r);
		/* past the last push, head for the last deadline */
		if (pushed == R_ITEMS && now > last_due + SEC)
			break;
	}
	if (got < R_ITEMS) {
		uint32_t n = fault_delayq_poll(q, now, out, R_CAP);

		check_out(out, n, due, emitted, R_ITEMS, prev_now, now);
		got += n;
	}
	assert_int_equal(got, R_ITEMS);
	assert_int_equal(fault_delayq_count(q), 0);
	fault_delayq_free(q);
}

static void
test_wheel_random(void **state)
{
	static const struct rand_case cases[] = {
		{ 256, 4096 },  /* the intended shape */
		{ 1, 2 },       /* 64 levels of 1 bit */
		{ 16, 64 },
		{ 4096, 128 },
		{ 128, 65536 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_random(&cases[i], 1000 + i);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splitmix_reference),
		cmocka_unit_test(test_prob_threshold),
		cmocka_unit_test(test_draw_jitter_zero),
		cmocka_unit_test(test_draw_uniform),
		cmocka_unit_test(test_draw_normal),
		cmocka_unit_test(test_draw_pareto),
		cmocka_unit_test(test_draw_clamp),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_poll_empty),
		cmocka_unit_test(test_fifo_exact),
		cmocka_unit_test(test_fifo_chunks),
		cmocka_unit_test(test_fifo_copies),
		cmocka_unit_test(test_peek_copies_only),
		cmocka_unit_test(test_fifos_interleaved),
		cmocka_unit_test(test_fifo_decreasing_goes_to_wheel),
		cmocka_unit_test(test_wheel_exact_within_tick),
		cmocka_unit_test(test_wheel_equal_deadlines_push_order),
		cmocka_unit_test(test_wheel_far_deadlines),
		cmocka_unit_test(test_long_idle_jump),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_poll_max),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_wheel_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
