/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the management half of shadow comparison (compare_ctl.c).
 * Records are built by hand, as workers would emit them; results are read
 * back from the JSON report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare.h"

#define TIMEOUT_US 1000000

static const struct compare_limits lim_default = {
	.pending_max = 64,
	.endpoints_max = 8,
	.samples_max = 4,
	.timeout_us = TIMEOUT_US,
};

/* An HTTP answer "GET /api/x" -> 200, 100 bytes, 1 ms. */
static struct compare_record
rec(uint64_t flow, uint32_t exchange, enum compare_side side)
{
	struct compare_record r = {
		.flow_id = flow, .exchange = exchange, .side = side,
		.proto = COMPARE_HTTP, .status = 200, .server_port = 80,
		.latency_us = 1000, .size = 100,
		.digest = 0x1111, .header_digest = 0x2222, .body_digest = 0x3333,
	};

	strcpy(r.method, "GET");
	strcpy(r.path, "/api/x");
	return r;
}

static void
add_pair(struct compare_ctx *c, const struct compare_record *prod,
	 const struct compare_record *shadow)
{
	struct compare_record p = *prod, s = *shadow;

	p.side = COMPARE_PROD;
	s.side = COMPARE_SHADOW;
	compare_add(c, &p, false, 0);
	compare_add(c, &s, false, 0);
}

static void
add_triple(struct compare_ctx *c, const struct compare_record *prod,
	   const struct compare_record *shadow, const struct compare_record *control)
{
	struct compare_record p = *prod, s = *shadow, k = *control;

	p.side = COMPARE_PROD;
	s.side = COMPARE_SHADOW;
	k.side = COMPARE_CONTROL;
	compare_add(c, &p, true, 0);
	compare_add(c, &s, true, 0);
	compare_add(c, &k, true, 0);
}

/* The member at a dotted path ("mismatch_kinds.status"), which must exist. */
static json_t *
jget(json_t *o, const char *path)
{
	char buf[128], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL; part = strtok_r(NULL, ".", &save)) {
		o = json_object_get(o, part);
		if (o == NULL)
			fail_msg("no %s in report", path);
	}
	return o;
}

static json_int_t
jint(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static double
jreal(json_t *o, const char *path)
{
	json_t *v = jget(o, path);

	assert_true(json_is_real(v));
	return json_real_value(v);
}

/* Profile 0's report, to be freed with json_decref. */
static json_t *
report(struct compare_ctx *c)
{
	json_t *r = compare_report_json(c, 0);

	assert_non_null(r);
	return r;
}

static json_int_t
count(struct compare_ctx *c, const char *path)
{
	json_t *r = report(c);
	json_int_t v = jint(r, path);

	json_decref(r);
	return v;
}

static struct compare_ctx *
ctx(const struct compare_limits *lim, unsigned int n_profiles)
{
	struct compare_ctx *c = compare_create(lim, n_profiles);

	assert_non_null(c);
	return c;
}

/* ------------------------------------------------------------------ */

static void
test_create_limits(void **state)
{
	struct compare_limits lim = lim_default;

	(void)state;
	assert_null(compare_create(NULL, 1));
	assert_null(compare_create(&lim, 0));
	assert_null(compare_create(&lim, 257));
	lim.pending_max = 0;
	assert_null(compare_create(&lim, 1));
	lim = lim_default;
	lim.endpoints_max = 0;
	lim.samples_max = 0;
	compare_free(ctx(&lim, 256));
	compare_free(NULL);
}

static void
test_match(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record r = rec(1, 0, COMPARE_PROD);
	json_t *rep;

	(void)state;
	add_pair(c, &r, &r);
	rep = report(c);
	assert_int_equal(jint(rep, "compared"), 1);
	assert_int_equal(jint(rep, "matches"), 1);
	assert_int_equal(jint(rep, "mismatches"), 0);
	assert_int_equal(jint(rep, "pending"), 0);
	assert_int_equal(json_array_size(jget(rep, "samples")), 0);
	json_decref(rep);
	compare_free(c);
}

struct kind_case {
	const char *kind;
	void (*change)(struct compare_record *shadow);
};

static void
chg_status(struct compare_record *r)
{
	r->status = 503;
}

static void
chg_headers(struct compare_record *r)
{
	r->header_digest ^= 1;
}

static void
chg_body(struct compare_record *r)
{
	r->body_digest ^= 1;
}

static void
chg_size(struct compare_record *r)
{
	r->size++;
}

static void
chg_reset(struct compare_record *r)
{
	r->flags |= COMPARE_F_RESET;
}

static void
chg_no_answer(struct compare_record *r)
{
	r->flags |= COMPARE_F_NO_ANSWER;
}

static const struct kind_case kind_cases[] = {
	{ "status", chg_status },
	{ "headers", chg_headers },
	{ "body", chg_body },
	{ "size", chg_size },
	{ "reset", chg_reset },
	{ "no_answer", chg_no_answer },
};
#define N_KINDS (sizeof(kind_cases) / sizeof(kind_cases[0]))

/* Only @p kind is counted in @p kinds (an object of counters). */
static void
assert_only_kind(json_t *kinds, const char *kind, json_int_t n)
{
	unsigned int k;
	char path[64];

	for (k = 0; k < N_KINDS; k++) {
		snprintf(path, sizeof(path), "%s", kind_cases[k].kind);
		assert_int_equal(jint(kinds, path),
				 strcmp(kind_cases[k].kind, kind) == 0 ? n : 0);
	}
}

static void
test_each_kind(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 0; k < N_KINDS; k++) {
		struct compare_ctx *c = ctx(&lim_default, 1);
		struct compare_record p = rec(1, 0, COMPARE_PROD), s = p;
		json_t *rep, *sample;

		kind_cases[k].change(&s);
		add_pair(c, &p, &s);
		rep = report(c);
		assert_int_equal(jint(rep, "compared"), 1);
		assert_int_equal(jint(rep, "mismatches"), 1);
		assert_int_equal(jint(rep, "matches"), 0);
		assert_only_kind(jget(rep, "mismatch_kinds"), kind_cases[k].kind, 1);
		assert_only_kind(jget(rep, "noise_kinds"), "", 0);
		sample = json_array_get(jget(rep, "samples"), 0);
		assert_non_null(sample);
		assert_int_equal(json_array_size(jget(sample, "kinds")), 1);
		assert_string_equal(json_string_value(json_array_get(jget(sample, "kinds"), 0)),
				    kind_cases[k].kind);
		json_decref(rep);
		compare_free(c);
	}
}

/* Several kinds at once; headers are HTTP only; a reset without answer. */
static void
test_kinds_combined(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p = rec(1, 0, COMPARE_PROD), s = p;
	json_t *rep;

	(void)state;
	s.status = 404;
	s.body_digest ^= 1;
	s.size = 7;
	add_pair(c, &p, &s);

	/* DNS: a different "header digest" means nothing. */
	p = rec(2, 0, COMPARE_PROD);
	p.proto = COMPARE_DNS;
	s = p;
	s.header_digest ^= 1;
	add_pair(c, &p, &s);

	/* The shadow reset without answering: no status/body/size noise. */
	p = rec(3, 0, COMPARE_PROD);
	s = p;
	s.flags = COMPARE_F_RESET | COMPARE_F_NO_ANSWER;
	s.status = 0;
	s.size = 0;
	add_pair(c, &p, &s);

	rep = report(c);
	assert_int_equal(jint(rep, "compared"), 3);
	assert_int_equal(jint(rep, "matches"), 1);
	assert_int_equal(jint(rep, "mismatches"), 2);
	assert_int_equal(jint(rep, "mismatch_kinds.status"), 1);
	assert_int_equal(jint(rep, "mismatch_kinds.body"), 1);
	assert_int_equal(jint(rep, "mismatch_kinds.size"), 1);
	assert_int_equal(jint(rep, "mismatch_kinds.headers"), 0);
	assert_int_equal(jint(rep, "mismatch_kinds.reset"), 1);
	assert_int_equal(jint(rep, "mismatch_kinds.no_answer"), 1);
	json_decref(rep);
	compare_free(c);
}

/* Raw bytes and unparsed answers: the whole digest and the size. */
static void
test_bytes_and_unparsed(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p = rec(1, 0, COMPARE_PROD), s;
	json_t *rep;

	(void)state;
	p.proto = COMPARE_BYTES;
	p.status = 0;
	p.method[0] = '\0';
	s = p;
	s.body_digest ^= 1;     /* not looked at for bytes */
	add_pair(c, &p, &s);
	p.flow_id = 2;
	s = p;
	s.digest ^= 1;
	add_pair(c, &p, &s);

	p = rec(3, 0, COMPARE_PROD);
	s = p;
	s.flags = COMPARE_F_UNPARSED;
	s.status = 0;           /* unparsed: status not compared */
	s.digest ^= 1;
	add_pair(c, &p, &s);

	rep = report(c);
	assert_int_equal(jint(rep, "compared"), 3);
	assert_int_equal(jint(rep, "matches"), 1);
	assert_int_equal(jint(rep, "mismatch_kinds.body"), 2);
	assert_int_equal(jint(rep, "mismatch_kinds.status"), 0);
	json_decref(rep);
	compare_free(c);
}

static void
test_noise_with_control(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p = rec(1, 0, COMPARE_PROD), s, k;
	json_t *rep, *sample;

	(void)state;
	/* Headers differ on the control too (a date header): noise. */
	s = p;
	k = p;
	s.header_digest = 0xa;
	k.header_digest = 0xb;
	add_triple(c, &p, &s, &k);

	/* Body differs only on the shadow: a mismatch. */
	p.flow_id = 2;
	s = p;
	k = p;
	s.body_digest ^= 1;
	add_triple(c, &p, &s, &k);

	/* Both: a mismatch (body), with headers counted as noise. */
	p.flow_id = 3;
	s = p;
	k = p;
	s.header_digest = 0xa;
	s.body_digest ^= 1;
	k.header_digest = 0xb;
	add_triple(c, &p, &s, &k);

	/* The control differs in something the shadow doesn't: a match. */
	p.flow_id = 4;
	s = p;
	k = p;
	k.status = 500;
	add_triple(c, &p, &s, &k);

	rep = report(c);
	assert_int_equal(jint(rep, "compared"), 4);
	assert_int_equal(jint(rep, "matches"), 1);
	assert_int_equal(jint(rep, "noisy"), 1);
	assert_int_equal(jint(rep, "mismatches"), 2);
	assert_only_kind(jget(rep, "mismatch_kinds"), "body", 2);
	assert_only_kind(jget(rep, "noise_kinds"), "headers", 2);
	assert_true(json_is_object(jget(rep, "latency_us.control")));
	assert_true(jreal(rep, "error_rate.control") > 0.24);
	/* Newest first: flow 3 carries its noise. */
	sample = json_array_get(jget(rep, "samples"), 0);
	assert_int_equal(jint(sample, "flow_id"), 3);
	assert_int_equal(json_array_size(jget(sample, "noise_kinds")), 1);
	sample = json_array_get(jget(rep, "samples"), 1);
	assert_int_equal(jint(sample, "flow_id"), 2);
	assert_null(json_object_get(sample, "noise_kinds"));
	json_decref(rep);
	compare_free(c);
}

/* All six orders of three sides: compared once, when the last comes in. */
static void
test_any_order(void **state)
{
	static const uint8_t order[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	struct compare_ctx *c = ctx(&lim_default, 1);
	unsigned int i, j;

	(void)state;
	for (i = 0; i < 6; i++) {
		for (j = 0; j < 3; j++) {
			struct compare_record r = rec(100 + i, 7, order[i][j]);

			if (order[i][j] == COMPARE_SHADOW)
				r.status = 404;
			compare_add(c, &r, true, 0);
			assert_int_equal(count(c, "compared"), i + (j == 2));
			assert_int_equal(count(c, "pending"), j == 2 ? 0 : 1);
		}
	}
	assert_int_equal(count(c, "mismatches"), 6);
	/* Without a control, shadow before production. */
	for (i = 0; i < 2; i++) {
		struct compare_record r = rec(200, 0, i == 0 ? COMPARE_SHADOW : COMPARE_PROD);

		compare_add(c, &r, false, 0);
	}
	assert_int_equal(count(c, "compared"), 7);
	assert_int_equal(count(c, "matches"), 1);
	compare_free(c);
}

static void
test_duplicates(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p = rec(1, 0, COMPARE_PROD), s = rec(1, 0, COMPARE_SHADOW);
	struct compare_record p2 = p;

	(void)state;
	p2.status = 500;        /* ignored: the first record stands */
	compare_add(c, &p, false, 0);
	compare_add(c, &p2, false, 0);
	compare_add(c, &p, false, 0);
	assert_int_equal(count(c, "dropped.duplicates"), 2);
	assert_int_equal(count(c, "compared"), 0);
	compare_add(c, &s, false, 0);
	assert_int_equal(count(c, "compared"), 1);
	assert_int_equal(count(c, "matches"), 1);
	/* A control the caller doesn't expect is not a side at all. */
	s = rec(2, 0, COMPARE_CONTROL);
	compare_add(c, &s, false, 0);
	assert_int_equal(count(c, "pending"), 0);
	compare_free(c);
}

static void
test_expire(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record r;
	json_t *rep;

	(void)state;
	r = rec(1, 0, COMPARE_PROD);    /* the shadow never answers */
	compare_add(c, &r, false, 100);
	r = rec(2, 0, COMPARE_SHADOW);  /* production never answers */
	compare_add(c, &r, false, 200);
	r = rec(3, 0, COMPARE_PROD);    /* both say they got no answer */
	r.flags = COMPARE_F_NO_ANSWER;
	compare_add(c, &r, false, 300);
	r.side = COMPARE_SHADOW;
	compare_add(c, &r, false, 300);
	r = rec(4, 0, COMPARE_PROD);    /* production and shadow, the control late */
	compare_add(c, &r, true, 400);
	r.side = COMPARE_SHADOW;
	compare_add(c, &r, true, 400);

	compare_expire(c, 100 + TIMEOUT_US - 1);
	assert_int_equal(count(c, "pending"), 3);
	compare_expire(c, 100 + TIMEOUT_US);
	assert_int_equal(count(c, "pending"), 2);
	compare_expire(c, 400 + TIMEOUT_US);

	rep = report(c);
	assert_int_equal(jint(rep, "pending"), 0);
	assert_int_equal(jint(rep, "compared"), 2);
	assert_int_equal(jint(rep, "mismatches"), 1);
	assert_int_equal(jint(rep, "matches"), 1);
	assert_only_kind(jget(rep, "mismatch_kinds"), "no_answer", 1);
	assert_int_equal(jint(rep, "dropped.prod_no_answer"), 1);
	assert_int_equal(jint(rep, "dropped.both_no_answer"), 1);
	/* Sides that never answered have no latency. */
	assert_int_equal(jint(rep, "latency_us.production.max"), 1000);
	assert_null(json_object_get(jget(rep, "latency_us"), "control"));
	json_decref(rep);
	compare_free(c);
}

/* Expiry from the oldest; a shadow missing while the control answered. */
static void
test_expire_order_and_control(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record r;
	unsigned int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		r = rec(i, 0, COMPARE_PROD);
		compare_add(c, &r, true, i * 1000);
		r.side = COMPARE_CONTROL;
		compare_add(c, &r, true, i * 1000);
	}
	compare_expire(c, 4 * 1000 + TIMEOUT_US);
	assert_int_equal(count(c, "pending"), 5);
	assert_int_equal(count(c, "mismatch_kinds.no_answer"), 5);
	/* A late shadow of an expired exchange is a new one that waits. */
	r = rec(0, 0, COMPARE_SHADOW);
	compare_add(c, &r, true, 5 * 1000);
	assert_int_equal(count(c, "pending"), 6);
	compare_expire(c, UINT64_MAX);
	assert_int_equal(count(c, "pending"), 0);
	assert_int_equal(count(c, "mismatch_kinds.no_answer"), 10);
	assert_int_equal(count(c, "noise_kinds.no_answer"), 0);
	assert_int_equal(count(c, "dropped.prod_no_answer"), 1);
	compare_free(c);
}

static void
test_pending_full(void **state)
{
	struct compare_limits lim = lim_default;
	struct compare_ctx *c;
	struct compare_record r;
	unsigned int i;
	json_t *rep;

	(void)state;
	lim.pending_max = 4;
	c = ctx(&lim, 2);
	for (i = 0; i < 10; i++) {
		r = rec(i, 0, COMPARE_PROD);
		compare_add(c, &r, false, i);
		assert_true(count(c, "pending") <= 4);
	}
	rep = report(c);
	assert_int_equal(jint(rep, "pending"), 4);
	assert_int_equal(jint(rep, "dropped.evicted_pending"), 6);
	json_decref(rep);
	/* The survivors are the newest: flows 6..9 still pair. */
	for (i = 6; i < 10; i++) {
		r = rec(i, 0, COMPARE_SHADOW);
		compare_add(c, &r, false, 10);
	}
	assert_int_equal(count(c, "compared"), 4);
	assert_int_equal(count(c, "pending"), 0);
	/* Evictions are counted against the evicted exchange's profile. */
	for (i = 0; i < 5; i++) {
		r = rec(100 + i, 0, COMPARE_PROD);
		r.profile = i == 0 ? 1 : 0;
		compare_add(c, &r, false, 20 + i);
	}
	rep = compare_report_json(c, 1);
	assert_int_equal(jint(rep, "dropped.evicted_pending"), 1);
	assert_int_equal(jint(rep, "pending"), 0);
	json_decref(rep);
	compare_free(c);
}

/*
 * Exchanges opened and closed in a random order through a small, crowded
 * index: every one is found again (deletion keeps probe chains intact).
 */
static void
test_pending_churn(void **state)
{
	enum { MAX = 100, ROUNDS = 200000 };
	struct compare_limits lim = lim_default;
	uint64_t open[MAX], next_flow = 0, compared = 0;
	uint32_t rnd = 12345, n_open = 0, i, k;
	struct compare_ctx *c;
	struct compare_record r;

	(void)state;
	lim.pending_max = MAX;
	c = ctx(&lim, 1);
	for (i = 0; i < ROUNDS; i++) {
		rnd = rnd * 1103515245u + 12345u;
		if (n_open < MAX && (n_open == 0 || (rnd >> 16) % 2 == 0)) {
			/* Flow ids with equal low bits, to make clusters. */
			r = rec(next_flow << 20, next_flow % 5, COMPARE_PROD);
			compare_add(c, &r, false, i);
			open[n_open++] = next_flow++;
			continue;
		}
		k = (rnd >> 8) % n_open;
		r = rec(open[k] << 20, open[k] % 5, COMPARE_SHADOW);
		compare_add(c, &r, false, i);
		open[k] = open[--n_open];
		compared++;
	}
	assert_int_equal(count(c, "compared"), compared);
	assert_int_equal(count(c, "matches"), compared);
	assert_int_equal(count(c, "pending"), n_open);
	assert_int_equal(count(c, "dropped.evicted_pending"), 0);
	assert_int_equal(count(c, "dropped.duplicates"), 0);
	compare_free(c);
}

static void
test_endpoints(void **state)
{
	struct compare_limits lim = lim_default;
	static const char *const path[] = { "/a", "/b?x=1", "/b?x=2", "/c", "/d" };
	struct compare_ctx *c;
	struct compare_record r;
	unsigned int i;
	json_t *rep, *eps;

	(void)state;
	lim.endpoints_max = 2;
	c = ctx(&lim, 1);
	for (i = 0; i < 5; i++) {
		r = rec(i, 0, COMPARE_PROD);
		strcpy(r.path, path[i]);
		add_pair(c, &r, &r);
	}
	/* /b twice more, so it sorts first. */
	r = rec(10, 0, COMPARE_PROD);
	strcpy(r.path, "/b");
	add_pair(c, &r, &r);
	rep = report(c);
	eps = jget(rep, "endpoints");
	assert_int_equal(json_array_size(eps), 3);
	assert_string_equal(json_string_value(jget(json_array_get(eps, 0), "endpoint")), "GET /b");
	assert_int_equal(jint(json_array_get(eps, 0), "compared"), 3);
	assert_string_equal(json_string_value(jget(json_array_get(eps, 1), "endpoint")), "(other)");
	assert_int_equal(jint(json_array_get(eps, 1), "compared"), 2);
	assert_string_equal(json_string_value(jget(json_array_get(eps, 2), "endpoint")), "GET /a");
	assert_int_equal(jint(rep, "dropped.endpoints_overflow"), 2);
	json_decref(rep);
	compare_free(c);
}

/* DNS names, raw ports, and bytes that aren't printable. */
static void
test_endpoint_keys(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record r;
	json_t *rep, *eps;
	unsigned int i;
	int seen = 0;

	(void)state;
	r = rec(1, 0, COMPARE_PROD);
	r.proto = COMPARE_DNS;
	r.server_port = 53;
	strcpy(r.method, "");
	strcpy(r.path, "example.com");
	add_pair(c, &r, &r);
	r = rec(2, 0, COMPARE_PROD);
	r.proto = COMPARE_BYTES;
	r.server_port = 6379;
	add_pair(c, &r, &r);
	r = rec(3, 0, COMPARE_PROD);
	memcpy(r.method, "OPTIONSX", 8);        /* no NUL */
	memset(r.path, 'p', sizeof(r.path));    /* no NUL */
	r.path[1] = '\x01';
	add_pair(c, &r, &r);

	rep = report(c);
	eps = jget(rep, "endpoints");
	assert_int_equal(json_array_size(eps), 3);
	for (i = 0; i < 3; i++) {
		const char *k = json_string_value(jget(json_array_get(eps, i), "endpoint"));

		if (strcmp(k, "example.com") == 0)
			seen |= 1;
		else if (strcmp(k, "port 6379") == 0)
			seen |= 2;
		else if (strncmp(k, "OPTIONSX p\\x01ppp", 17) == 0 &&
			 strlen(k) == 8 + 1 + 4 + COMPARE_PATH_MAX - 1)
			seen |= 4;
	}
	assert_int_equal(seen, 7);
	json_decref(rep);
	compare_free(c);
}

static void
test_samples_ring(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1); /* samples_max 4 */
	struct compare_record p, s;
	unsigned int i;
	json_t *rep, *samples, *x;

	(void)state;
	for (i = 0; i < 10; i++) {
		p = rec(i, i, COMPARE_PROD);
		s = p;
		s.status = 500 + i;
		s.digest = 0xabcdef;
		add_pair(c, &p, &s);
		p.flow_id = 1000 + i;   /* matches are no samples */
		add_pair(c, &p, &p);
	}
	rep = report(c);
	samples = jget(rep, "samples");
	assert_int_equal(json_array_size(samples), 4);
	for (i = 0; i < 4; i++) {
		x = json_array_get(samples, i);
		assert_int_equal(jint(x, "flow_id"), 9 - i);
		assert_int_equal(jint(x, "exchange"), 9 - i);
		assert_int_equal(jint(x, "shadow.status"), 509 - i);
		assert_int_equal(jint(x, "production.status"), 200);
	}
	x = json_array_get(samples, 0);
	assert_string_equal(json_string_value(jget(x, "method")), "GET");
	assert_string_equal(json_string_value(jget(x, "path")), "/api/x");
	assert_string_equal(json_string_value(jget(x, "shadow.digest")), "0000000000abcdef");
	assert_string_equal(json_string_value(jget(x, "production.body_digest")),
			    "0000000000003333");
	assert_int_equal(jint(x, "production.size"), 100);
	assert_int_equal(jint(x, "production.latency_us"), 1000);
	assert_true(json_is_array(jget(x, "production.flags")));
	json_decref(rep);
	compare_free(c);
}

/* Percentiles within the histogram's precision (1.6 % + nearest rank). */
static void
assert_near(json_int_t got, double want)
{
	double tol = want * 0.02 + 1;

	if (got < want - tol || got > want + tol)
		fail_msg("%lld not within 2%% of %.0f", (long long)got, want);
}

/* A difference of two percentiles: both errors add up. */
static void
assert_diff_near(json_int_t got, double shadow, double prod)
{
	double tol = (shadow + prod) * 0.02 + 2;

	if (got < shadow - prod - tol || got > shadow - prod + tol)
		fail_msg("%lld not within %.0f of %.0f", (long long)got, tol, shadow - prod);
}

static void
test_latency(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p, s;
	unsigned int i;
	json_t *rep;

	(void)state;
	/* Production uniform over 1..10000 us, the shadow twice as slow. */
	for (i = 1; i <= 10000; i++) {
		p = rec(i, 0, COMPARE_PROD);
		p.latency_us = i;
		s = p;
		s.latency_us = 2 * i;
		add_pair(c, &p, &s);
	}
	rep = report(c);
	assert_near(jint(rep, "latency_us.production.p50"), 5000);
	assert_near(jint(rep, "latency_us.production.p90"), 9000);
	assert_near(jint(rep, "latency_us.production.p99"), 9900);
	assert_int_equal(jint(rep, "latency_us.production.max"), 10000);
	assert_near(jint(rep, "latency_us.shadow.p50"), 10000);
	assert_near(jint(rep, "latency_us.shadow.p99"), 19800);
	assert_int_equal(jint(rep, "latency_us.shadow.max"), 20000);
	assert_diff_near(jint(rep, "latency_us.difference.p50"), 10000, 5000);
	assert_diff_near(jint(rep, "latency_us.difference.p90"), 18000, 9000);
	assert_int_equal(jint(rep, "latency_us.difference.max"), 10000);
	/* The same per endpoint. */
	assert_near(jint(json_array_get(jget(rep, "endpoints"), 0),
			 "latency_us.production.p90"), 9000);
	assert_null(json_object_get(jget(rep, "latency_us"), "control"));
	json_decref(rep);
	compare_free(c);
}

/* Small values are exact; large ones and a skewed tail stay precise. */
static void
test_latency_ranges(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p, s;
	unsigned int i;
	json_t *rep;

	(void)state;
	/* 98 fast answers (7 us), 2 slow ones (3 s) on production; the
	 * shadow a constant 4000000000 us (the top of the range). */
	for (i = 0; i < 100; i++) {
		p = rec(i, 0, COMPARE_PROD);
		p.latency_us = i < 98 ? 7 : 3000000;
		s = p;
		s.latency_us = 4000000000u;
		add_pair(c, &p, &s);
	}
	rep = report(c);
	assert_int_equal(jint(rep, "latency_us.production.p50"), 7);
	assert_int_equal(jint(rep, "latency_us.production.p90"), 7);
	assert_near(jint(rep, "latency_us.production.p99"), 3000000);
	assert_near(jint(rep, "latency_us.shadow.p50"), 4000000000u);
	assert_int_equal(jint(rep, "latency_us.shadow.max"), 4000000000u);
	json_decref(rep);
	compare_free(c);
}

static void
test_error_rate(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p, s;
	unsigned int i;
	json_t *rep;

	(void)state;
	/* Of 10 HTTP exchanges: production 1 error, the shadow 3. */
	for (i = 0; i < 10; i++) {
		p = rec(i, 0, COMPARE_PROD);
		s = p;
		p.status = i < 1 ? 502 : 200;
		s.status = i < 3 ? 500 : 200;
		add_pair(c, &p, &s);
	}
	/* 10 DNS ones: the shadow SERVFAILs twice, NXDOMAIN is no error. */
	for (i = 0; i < 10; i++) {
		p = rec(100 + i, 0, COMPARE_PROD);
		p.proto = COMPARE_DNS;
		p.status = i < 5 ? 3 : 0;
		s = p;
		if (i >= 8)
			s.status = 2;
		add_pair(c, &p, &s);
	}
	rep = report(c);
	assert_float_equal(jreal(rep, "error_rate.production"), 0.05, 1e-9);
	assert_float_equal(jreal(rep, "error_rate.shadow"), 0.25, 1e-9);
	assert_float_equal(jreal(rep, "error_rate.difference"), 0.20, 1e-9);
	assert_null(json_object_get(jget(rep, "error_rate"), "control"));
	json_decref(rep);
	compare_free(c);
}

static void
test_reset(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 2);
	struct compare_record p, s;
	json_t *rep;

	(void)state;
	p = rec(1, 0, COMPARE_PROD);
	s = p;
	s.status = 500;
	add_pair(c, &p, &s);
	compare_add(c, &p, false, 0);   /* after it completed: a new exchange */
	p.flow_id = 2;
	compare_add(c, &p, false, 0);
	p.flow_id = 3;
	p.profile = 1;
	add_pair(c, &p, &p);
	p.flow_id = 4;
	compare_add(c, &p, false, 0);
	assert_int_equal(count(c, "pending"), 2);

	compare_reset(c, 0);
	compare_reset(c, 7);            /* no such profile: nothing */
	rep = report(c);
	assert_int_equal(jint(rep, "compared"), 0);
	assert_int_equal(jint(rep, "mismatches"), 0);
	assert_int_equal(jint(rep, "mismatch_kinds.status"), 0);
	assert_int_equal(jint(rep, "pending"), 0);
	assert_int_equal(jint(rep, "latency_us.production.max"), 0);
	assert_int_equal(json_array_size(jget(rep, "endpoints")), 0);
	assert_int_equal(json_array_size(jget(rep, "samples")), 0);
	json_decref(rep);
	/* The other profile keeps its counts and its pending exchange. */
	rep = compare_report_json(c, 1);
	assert_int_equal(jint(rep, "compared"), 1);
	assert_int_equal(jint(rep, "pending"), 1);
	json_decref(rep);
	/* The dropped exchange's shadow now waits alone. */
	s = rec(2, 0, COMPARE_SHADOW);
	compare_add(c, &s, false, 0);
	assert_int_equal(count(c, "pending"), 1);
	/* And the profile counts afresh. */
	p = rec(5, 0, COMPARE_PROD);
	add_pair(c, &p, &p);
	assert_int_equal(count(c, "compared"), 1);
	assert_null(compare_report_json(c, 2));
	compare_free(c);
}

static void
assert_keys(json_t *o, const char *const keys[])
{
	for (; *keys != NULL; keys++)
		if (json_object_get(o, *keys) == NULL)
			fail_msg("no \"%s\"", *keys);
}

static void
assert_stats_shape(json_t *o)
{
	static const char *const top[] = {
		"compared", "matches", "mismatches", "noisy", "mismatch_kinds",
		"noise_kinds", "latency_us", "error_rate", NULL,
	};
	static const char *const kinds[] = {
		"status", "headers", "body", "size", "reset", "no_answer", NULL,
	};
	static const char *const pct[] = { "p50", "p90", "p99", "max", NULL };
	static const char *const lat[] = { "production", "shadow", "difference", NULL };
	static const char *const err[] = { "production", "shadow", "difference", NULL };
	const char *const *l;

	assert_keys(o, top);
	assert_keys(jget(o, "mismatch_kinds"), kinds);
	assert_keys(jget(o, "noise_kinds"), kinds);
	assert_keys(jget(o, "latency_us"), lat);
	for (l = lat; *l != NULL; l++)
		assert_keys(json_object_get(jget(o, "latency_us"), *l), pct);
	assert_keys(jget(o, "error_rate"), err);
}

static void
test_report_shape(void **state)
{
	static const char *const drops[] = {
		"evicted_pending", "duplicates", "endpoints_overflow",
		"both_no_answer", "prod_no_answer", NULL,
	};
	static const char *const sample_keys[] = {
		"flow_id", "exchange", "method", "path", "kinds", "production", "shadow", NULL,
	};
	static const char *const side_keys[] = {
		"status", "size", "latency_us", "flags", "digest", "header_digest",
		"body_digest", NULL,
	};
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record p = rec(1, 0, COMPARE_PROD), s = p;
	json_t *rep, *x;
	char *text;

	(void)state;
	/* Empty. */
	rep = report(c);
	assert_stats_shape(rep);
	assert_keys(jget(rep, "dropped"), drops);
	assert_true(json_is_array(jget(rep, "endpoints")));
	assert_true(json_is_array(jget(rep, "samples")));
	assert_true(json_is_integer(jget(rep, "pending")));
	assert_true(json_is_real(jget(rep, "error_rate.difference")));
	json_decref(rep);

	s.flags = COMPARE_F_RESET | COMPARE_F_TRUNCATED;
	add_pair(c, &p, &s);
	rep = report(c);
	assert_stats_shape(rep);
	x = json_array_get(jget(rep, "endpoints"), 0);
	assert_stats_shape(x);
	assert_string_equal(json_string_value(jget(x, "endpoint")), "GET /api/x");
	x = json_array_get(jget(rep, "samples"), 0);
	assert_keys(x, sample_keys);
	assert_keys(jget(x, "production"), side_keys);
	assert_keys(jget(x, "shadow"), side_keys);
	assert_int_equal(json_array_size(jget(x, "shadow.flags")), 2);
	assert_string_equal(json_string_value(json_array_get(jget(x, "shadow.flags"), 0)), "reset");
	assert_string_equal(json_string_value(json_array_get(jget(x, "shadow.flags"), 1)),
			    "truncated");
	text = json_dumps(rep, JSON_COMPACT);
	assert_non_null(text);
	free(text);
	json_decref(rep);
	compare_free(c);
}

/* Records for profiles that don't exist, or sides that don't, are ignored. */
static void
test_bad_records(void **state)
{
	struct compare_ctx *c = ctx(&lim_default, 1);
	struct compare_record r = rec(1, 0, COMPARE_PROD);

	(void)state;
	r.profile = 1;
	compare_add(c, &r, false, 0);
	r.profile = 0;
	r.side = COMPARE_SIDES;
	compare_add(c, &r, true, 0);
	assert_int_equal(count(c, "pending"), 0);
	compare_free(c);
}

/* ---- evidence: answer heads -------------------------------------- */

/* Feed the chunks a worker would enqueue for answer @p x of @p side. */
static void
add_chunks(struct compare_ctx *c, const struct compare_chunk *ch, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct compare_record r;

		memcpy(&r, &ch[i], sizeof(r));
		compare_add(c, &r, false, 0);
	}
}

/* A worker's answer stream: @p data fed in pieces of @p piece bytes, one
 * answer of @p len bytes, ended where it ends (what follows: the next's). */
static unsigned int
head_of(uint64_t flow, uint32_t x, uint8_t side, const uint8_t *data, uint32_t len,
	uint32_t piece, struct compare_chunk out[COMPARE_HEAD_CHUNKS])
{
	struct compare_head h;
	uint32_t off;

	memset(&h, 0, sizeof(h));
	for (off = 0; off + piece < len; off += piece)
		compare_head_add(&h, flow, data + off, piece);
	/* The last piece runs 5 bytes into the next answer. */
	compare_head_add(&h, flow, data + off, len - off + 5);
	return compare_head_take(&h, flow, x, side, 0, data + len, 5, out);
}

static const char *
hexs(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
	return out;
}

static void
test_evidence(void **state)
{
	struct compare_limits lim = lim_default;
	struct compare_chunk ch[COMPARE_HEAD_CHUNKS];
	uint8_t prod[400], shadow[400];
	char hex[2 * COMPARE_HEAD_MAX + 1];
	struct compare_record p, s;
	struct compare_ctx *c;
	unsigned int n;
	json_t *rep, *x;

	(void)state;
	lim.heads_max = 2;
	c = ctx(&lim, 1);
	for (int i = 0; i < 400; i++)
		prod[i] = shadow[i] = (uint8_t)('a' + i % 26);
	memcpy(prod, "HTTP/1.1 200 OK\r\n", 17);
	memcpy(shadow, "HTTP/1.1 500 OK\r\n", 17);

	/* Flow 1 carries evidence: 300-byte answers, heads of 256 in 3 chunks. */
	assert_true(compare_evidence_sampled(1));
	assert_false(compare_evidence_sampled(2));
	n = head_of(1, 0, COMPARE_PROD, prod, 300, 100, ch);
	assert_int_equal(n, COMPARE_HEAD_CHUNKS);
	assert_int_equal(ch[0].total, COMPARE_HEAD_MAX);
	add_chunks(c, ch, n);
	n = head_of(1, 0, COMPARE_SHADOW, shadow, 300, 1000, ch);
	add_chunks(c, ch, n);
	p = rec(1, 0, COMPARE_PROD);
	s = p;
	s.status = 500;
	add_pair(c, &p, &s);
	rep = report(c);
	assert_int_equal(count(c, "pending"), 0);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_int_equal(jint(x, "production.head_len"), COMPARE_HEAD_MAX);
	assert_string_equal(json_string_value(jget(x, "production.head")),
			    hexs(prod, COMPARE_HEAD_MAX, hex));
	assert_string_equal(json_string_value(jget(x, "shadow.head")),
			    hexs(shadow, COMPARE_HEAD_MAX, hex));
	assert_int_equal(jint(x, "first_difference"), 9);
	json_decref(rep);

	/* A short answer: kept whole, up to its end (not the next one's bytes);
	 * one the other's beginning differs where the shorter ends. */
	n = head_of(5, 0, COMPARE_PROD, prod, 40, 7, ch);
	assert_int_equal(n, 1);
	assert_int_equal(ch[0].len, 40);
	add_chunks(c, ch, n);
	add_chunks(c, ch, head_of(5, 0, COMPARE_SHADOW, prod, 30, 7, ch));
	p = rec(5, 0, COMPARE_PROD);
	s = p;
	s.size = 30;
	add_pair(c, &p, &s);
	rep = report(c);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_int_equal(jint(x, "production.head_len"), 40);
	assert_int_equal(jint(x, "shadow.head_len"), 30);
	assert_int_equal(jint(x, "first_difference"), 30);
	json_decref(rep);

	/* Equal heads (the difference lies beyond them): no first difference. */
	add_chunks(c, ch, head_of(9, 0, COMPARE_PROD, prod, 300, 300, ch));
	add_chunks(c, ch, head_of(9, 0, COMPARE_SHADOW, prod, 300, 300, ch));
	p = rec(9, 0, COMPARE_PROD);
	s = p;
	s.body_digest = 9;
	add_pair(c, &p, &s);
	rep = report(c);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_true(json_is_null(jget(x, "first_difference")));
	json_decref(rep);

	/* A flow without evidence sends no chunks: its sample has no heads. */
	assert_int_equal(head_of(2, 0, COMPARE_PROD, prod, 300, 100, ch), 0);
	p = rec(2, 0, COMPARE_PROD);
	s = p;
	s.status = 500;
	add_pair(c, &p, &s);
	rep = report(c);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_null(json_object_get(jget(x, "production"), "head"));
	assert_null(json_object_get(x, "first_difference"));
	json_decref(rep);

	/* heads_max 2: the heads of flow 13 are gone once four more came. */
	add_chunks(c, ch, head_of(13, 0, COMPARE_PROD, prod, 50, 50, ch));
	add_chunks(c, ch, head_of(13, 0, COMPARE_SHADOW, shadow, 50, 50, ch));
	add_chunks(c, ch, head_of(17, 0, COMPARE_PROD, prod, 50, 50, ch));
	add_chunks(c, ch, head_of(17, 0, COMPARE_SHADOW, shadow, 50, 50, ch));
	p = rec(13, 0, COMPARE_PROD);
	s = p;
	s.status = 500;
	add_pair(c, &p, &s);
	rep = report(c);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_null(json_object_get(jget(x, "production"), "head"));
	json_decref(rep);
	p = rec(17, 0, COMPARE_PROD);
	s = p;
	s.status = 500;
	add_pair(c, &p, &s);
	rep = report(c);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_int_equal(jint(x, "shadow.head_len"), 50);
	json_decref(rep);

	/* A part that does not follow the one before is ignored (part 2 before
	 * part 1: the head ends after part 1). */
	n = head_of(21, 0, COMPARE_PROD, prod, 300, 300, ch);
	add_chunks(c, ch, 1);
	add_chunks(c, &ch[2], 1);
	add_chunks(c, &ch[1], 1);
	add_chunks(c, ch, head_of(21, 0, COMPARE_SHADOW, shadow, 300, 300, ch));
	p = rec(21, 0, COMPARE_PROD);
	s = p;
	s.status = 500;
	add_pair(c, &p, &s);
	rep = report(c);
	x = json_array_get(jget(rep, "samples"), 0);
	assert_int_equal(jint(x, "production.head_len"), 2 * COMPARE_CHUNK_BYTES);
	json_decref(rep);
	compare_free(c);
}

/* ---- capture: mismatched exchanges with their bytes and addresses ---- */

/* What a worker sends for exchange @p x of flow @p flow: the request's
 * head and the addresses, then both answers' heads. */
static void
exchange_evidence(struct compare_ctx *c, uint64_t flow, uint32_t x, const uint8_t *req,
		  uint32_t req_len, const uint8_t *prod, uint32_t prod_len,
		  const uint8_t *shadow, uint32_t shadow_len)
{
	struct compare_addr a = { .family = 4, .l4_proto = 6, .client_port = 40000 + x,
				  .server_port = 80, .in_port = 1, .target_port = { 2, 3 } };
	struct compare_chunk ch[COMPARE_HEAD_CHUNKS + 1];

	memcpy(a.client, "\x0a\x00\x00\x01", 4);
	memcpy(a.server, "\x0a\x00\x00\x0a", 4);
	add_chunks(c, ch, head_of(flow, x, COMPARE_CHUNK_REQUEST, req, req_len, 64, ch));
	add_chunks(c, ch, compare_addr_chunk(flow, x, 0, &a, ch));
	add_chunks(c, ch, head_of(flow, x, COMPARE_PROD, prod, prod_len, 64, ch));
	add_chunks(c, ch, head_of(flow, x, COMPARE_SHADOW, shadow, shadow_len, 64, ch));
}

static void
test_capture(void **state)
{
	struct compare_limits lim = lim_default;
	struct compare_capture_info info;
	struct compare_record p, s;
	struct compare_capture x;
	uint8_t req[310], prod[310], shadow[310];
	struct compare_ctx *c;

	(void)state;
	/* A capture smaller than one exchange's bytes is refused. */
	lim.heads_max = 64;
	lim.capture_max = 3;
	lim.capture_bytes = 3 * COMPARE_HEAD_MAX - 1;
	assert_null(compare_create(&lim, 1));
	lim.capture_bytes = 1000;
	c = ctx(&lim, 1);
	memset(req, 'q', sizeof(req));
	memcpy(req, "GET /api/x HTTP/1.1\r\n", 21);
	memset(prod, 'p', sizeof(prod));
	memset(shadow, 's', sizeof(shadow));

	/* A match is not captured; a mismatch is, with its bytes and addresses. */
	exchange_evidence(c, 1, 0, req, 100, prod, 300, prod, 300);
	p = rec(1, 0, COMPARE_PROD);
	add_pair(c, &p, &p);
	exchange_evidence(c, 1, 1, req, 100, prod, 300, shadow, 50);
	p = rec(1, 1, COMPARE_PROD);
	p.latency_us = 700;
	s = p;
	s.status = 500;
	s.latency_us = 900;
	add_pair(c, &p, &s);
	compare_capture_info(c, 0, &info);
	assert_int_equal(info.exchanges, 1);
	assert_int_equal(info.bytes, 100 + COMPARE_HEAD_MAX + 50);
	assert_int_equal(compare_capture_get(c, 0, 0, &x), 0);
	assert_int_equal(x.flow_id, 1);
	assert_int_equal(x.exchange, 1);
	assert_int_equal(x.addr.client_port, 40001);
	assert_int_equal(x.addr.target_port[0], 2);
	assert_memory_equal(x.addr.server, "\x0a\x00\x00\x0a", 4);
	assert_int_equal(x.request_len, 100);
	assert_memory_equal(x.request, req, 100);
	assert_int_equal(x.answer_len[0], COMPARE_HEAD_MAX);
	assert_memory_equal(x.answer[0], prod, COMPARE_HEAD_MAX);
	assert_int_equal(x.answer_len[1], 50);
	assert_memory_equal(x.answer[1], shadow, 50);
	assert_int_equal(x.side[1].status, 500);
	assert_int_equal(x.side[0].latency_us, 700);
	assert_true(x.kinds & 1); /* status */
	assert_string_equal(compare_kind_name(0), "status");
	assert_int_equal(compare_capture_get(c, 0, 1, &x), -1);

	/* 406 bytes each: the third pushes the first out (bytes), counted. */
	for (uint32_t i = 2; i < 4; i++) {
		exchange_evidence(c, 1, i, req, 100, prod, 300, shadow, 50);
		p = rec(1, i, COMPARE_PROD);
		s = p;
		s.body_digest = 7;
		add_pair(c, &p, &s);
	}
	compare_capture_info(c, 0, &info);
	assert_int_equal(info.exchanges, 2);
	assert_int_equal(info.kept, 3);
	assert_int_equal(info.dropped, 1);
	assert_true(info.bytes <= lim.capture_bytes);
	assert_int_equal(compare_capture_get(c, 0, 0, &x), 0);
	assert_int_equal(x.exchange, 2);
	assert_memory_equal(x.answer[1], shadow, 50);
	assert_int_equal(compare_capture_get(c, 0, 1, &x), 0);
	assert_int_equal(x.exchange, 3);
	assert_memory_equal(x.request, req, 100);

	/* Small exchanges: at most capture_max are kept (exchanges). */
	for (uint32_t i = 4; i < 9; i++) {
		exchange_evidence(c, 1, i, req, 10, prod, 10, shadow, 10);
		p = rec(1, i, COMPARE_PROD);
		s = p;
		s.size = 1;
		add_pair(c, &p, &s);
	}
	compare_capture_info(c, 0, &info);
	assert_int_equal(info.exchanges, 3);
	assert_int_equal(info.kept, 8);
	assert_int_equal(info.dropped, 5);
	assert_int_equal(info.bytes, 90);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(compare_capture_get(c, 0, i, &x), 0);
		assert_int_equal(x.exchange, 6 + i);
		assert_memory_equal(x.answer[0], prod, 10);
	}

	/* A flow without evidence (no addresses): counted, not captured. */
	p = rec(2, 0, COMPARE_PROD);
	s = p;
	s.status = 404;
	add_pair(c, &p, &s);
	compare_capture_info(c, 0, &info);
	assert_int_equal(info.without_evidence, 1);
	assert_int_equal(info.exchanges, 3);

	/* The report says what the capture holds; a reset empties it. */
	json_t *rep = report(c);
	assert_int_equal(jint(rep, "capture.exchanges"), 3);
	assert_int_equal(jint(rep, "capture.dropped"), 5);
	assert_int_equal(jint(rep, "capture.without_evidence"), 1);
	json_decref(rep);
	compare_reset(c, 0);
	compare_capture_info(c, 0, &info);
	assert_int_equal(info.exchanges + info.kept + info.bytes, 0);
	compare_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_each_kind),
		cmocka_unit_test(test_kinds_combined),
		cmocka_unit_test(test_bytes_and_unparsed),
		cmocka_unit_test(test_noise_with_control),
		cmocka_unit_test(test_any_order),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_expire_order_and_control),
		cmocka_unit_test(test_pending_full),
		cmocka_unit_test(test_pending_churn),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_endpoint_keys),
		cmocka_unit_test(test_samples_ring),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_latency_ranges),
		cmocka_unit_test(test_error_rate),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_report_shape),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_evidence),
		cmocka_unit_test(test_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
