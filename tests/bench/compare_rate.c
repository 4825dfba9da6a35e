/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark (never a test): how many exchanges the comparator of shadow
 * networks (lib/compare/compare_ctl.c) compares per second on one core,
 * the management core's share of shadowing.
 *
 * Synthetic HTTP exchanges stand for what the workers' record rings carry:
 * one production and one shadow record per exchange (and a control record
 * with --control), over a few hundred endpoints ("GET /api/v1/svc03/res017",
 * some with query strings; popular ones more often), flows of 1 to 8
 * keep-alive exchanges, about --mismatch of them with a shadow answer that
 * differs (status, headers or body and size), --no-answer of them without
 * a shadow answer (compared as "no answer" when they time out), and the
 * shadow's record arriving up to about 2 x --lag exchanges after
 * production's (sometimes before), so a few thousand exchanges are pending
 * at any time. The comparator has the limits umbra gives it
 * (lib/shadow/shadow_ctl.c: 65536 pending, 256 endpoints per profile, 32
 * samples, 2 s timeout, 16 profiles).
 *
 * Records are built before timing in a template of --template exchanges in
 * arrival order; the timed loop does what shadow_ctl_poll() does with a
 * worker's ring: take a burst of 64 records (copied out, as a ring dequeue
 * copies them, flow ids shifted per pass so every pass brings new flows),
 * read the clock once per burst, compare_add() each record, and
 * compare_expire() every --poll records. It runs passes over the template
 * for --seconds after one untimed warm-up pass. The rate is the
 * comparator's own on one core: no rings, no workers, no report (the JSON
 * report is timed once, separately).
 *
 * Usage: compare_rate [--seconds S] [--endpoints N] [--mismatch F]
 *                     [--no-answer F] [--lag N] [--control] [--profiles N]
 *                     [--template N] [--poll N] [--seed N]
 * Its last line is JSON: {"exchanges_per_s": ..., ...}.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "compare.h"

#define BURST 64                /* records per ring dequeue (shadow_ctl.c) */
#define N_PROFILES 16           /* CONF_MAX_SHADOWS */

struct opts {
	double seconds;
	uint32_t endpoints;
	double mismatch;
	double no_answer;
	uint32_t lag;
	bool control;
	uint32_t profiles;
	uint32_t template_n;
	uint32_t poll;
	uint64_t seed;
};

struct endpoint {
	char method[8];
	char path[COMPARE_PATH_MAX];
	uint16_t status;
	uint32_t size;
	uint64_t header_digest;
	uint64_t body_digest;
	uint32_t latency_us;    /* typical */
};

/* One record's place in arrival order. */
struct event {
	uint64_t at;
	uint32_t exchange;      /* template exchange index */
	uint8_t side;
};

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double
rnd01(void)
{
	return (double)(rnd() >> 11) / (double)(1ull << 53);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
event_order(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	if (x->exchange != y->exchange)
		return x->exchange < y->exchange ? -1 : 1;
	return (int)x->side - (int)y->side;
}

static void
make_endpoints(struct endpoint *ep, uint32_t n)
{
	static const char *const methods[] = { "GET", "GET", "GET", "GET", "GET",
					       "GET", "GET", "POST", "POST", "PUT",
					       "DELETE", "HEAD" };

	for (uint32_t i = 0; i < n; i++) {
		struct endpoint *e = &ep[i];

		snprintf(e->method, sizeof(e->method), "%s",
			 methods[rnd() % (sizeof(methods) / sizeof(methods[0]))]);
		snprintf(e->path, sizeof(e->path), "/api/v1/svc%02u/res%03u/items",
			 i % 23, i);
		e->status = strcmp(e->method, "POST") == 0 ? 201 :
			    strcmp(e->method, "DELETE") == 0 ? 204 : 200;
		e->size = strcmp(e->method, "HEAD") == 0 || e->status == 204 ? 0 :
			  (uint32_t)(64 + rnd() % 16384);
		e->header_digest = rnd();
		e->body_digest = rnd();
		/* 0.2 ms .. 20 ms, log-uniform */
		e->latency_us = (uint32_t)(200.0 * pow(100.0, rnd01()));
	}
}

/* An endpoint, popular ones more often (a quadratic skew). */
static uint32_t
pick_endpoint(uint32_t n)
{
	double u = rnd01();

	return (uint32_t)(u * u * n) % n;
}

struct tmpl {
	struct compare_record *rec;     /* in arrival order */
	uint32_t n_rec;
	uint32_t n_exchanges;
	uint32_t n_flows;
	uint32_t mismatched, unanswered;
};

/*
 * The template: exchanges of flows 0 .. n_flows-1, then their records in
 * the order they reach the management core.
 */
static int
make_template(const struct opts *o, const struct endpoint *ep, struct tmpl *t)
{
	uint32_t n = o->template_n, sides = o->control ? 3 : 2, n_ev = 0;
	struct compare_record *ex = calloc(n, sizeof(*ex) * 3);
	struct event *ev = calloc((size_t)n * 3, sizeof(*ev));
	uint64_t flow = 0;
	uint32_t left = 0, xi = 0;

	memset(t, 0, sizeof(*t));
	t->rec = calloc((size_t)n * 3, sizeof(*t->rec));
	if (ex == NULL || ev == NULL || t->rec == NULL) {
		free(ex);
		free(ev);
		free(t->rec);
		return -1;
	}
	for (uint32_t x = 0; x < n; x++) {
		const struct endpoint *e = &ep[pick_endpoint(o->endpoints)];
		struct compare_record *p = &ex[3 * x], *s = p + 1, *k = p + 2;
		uint64_t at = (uint64_t)x * 16;
		double r;

		if (left == 0) {        /* a new flow of 1..8 exchanges */
			flow++;
			left = 1 + (uint32_t)(rnd() % 8);
			xi = 0;
		}
		left--;
		*p = (struct compare_record){
			.flow_id = flow, .exchange = xi++, .side = COMPARE_PROD,
			.proto = COMPARE_HTTP,
			.profile = (uint8_t)(flow % o->profiles),
			.status = e->status, .server_port = 8080,
			.latency_us = (uint32_t)(e->latency_us * (0.5 + rnd01())),
			.size = e->size, .header_digest = e->header_digest,
			.body_digest = e->body_digest,
		};
		if (rnd() % 100 == 0)
			p->status = 503;        /* production errs too, sometimes */
		p->digest = p->header_digest * 31 + p->body_digest + p->status;
		memcpy(p->method, e->method, sizeof(p->method));
		if (rnd() % 10 < 3)
			snprintf(p->path, sizeof(p->path), "%.40s?page=%u", e->path,
				 (unsigned int)(rnd() % 50));
		else
			memcpy(p->path, e->path, sizeof(p->path));
		*s = *p;
		s->side = COMPARE_SHADOW;
		s->latency_us = (uint32_t)(p->latency_us * (0.8 + 0.5 * rnd01()));
		*k = *p;
		k->side = COMPARE_CONTROL;
		k->latency_us = (uint32_t)(p->latency_us * (0.9 + 0.2 * rnd01()));
		r = rnd01();
		if (r < o->mismatch) {
			t->mismatched++;
			if (r < o->mismatch * 0.3) {
				s->status = 500;
			} else if (r < o->mismatch * 0.7) {
				s->body_digest ^= rnd() | 1;
				s->size += 17;
			} else {
				s->header_digest ^= rnd() | 1;
			}
			s->digest = s->header_digest * 31 + s->body_digest + s->status;
		}
		/* production arrives about when the exchange happens, the
		 * shadow's answer up to ~2 x lag exchanges later (or a little
		 * earlier), the control's around production's */
		ev[n_ev++] = (struct event){ .at = at + rnd() % 8, .exchange = x,
					     .side = COMPARE_PROD };
		if (rnd01() < o->no_answer) {
			t->unanswered++;
		} else {
			uint64_t lag = (uint64_t)(-log(1.0 - rnd01()) * o->lag * 16);

			ev[n_ev++] = (struct event){
				.at = at + lag >= 32 ? at + lag - 32 : 0,
				.exchange = x, .side = COMPARE_SHADOW };
		}
		if (sides == 3)
			ev[n_ev++] = (struct event){ .at = at + rnd() % 64, .exchange = x,
						     .side = COMPARE_CONTROL };
	}
	qsort(ev, n_ev, sizeof(*ev), event_order);
	for (uint32_t i = 0; i < n_ev; i++)
		t->rec[i] = ex[3 * ev[i].exchange + ev[i].side];
	t->n_rec = n_ev;
	t->n_exchanges = n;
	t->n_flows = (uint32_t)flow;
	free(ex);
	free(ev);
	return 0;
}

struct totals {
	uint64_t compared, matches, mismatches, noisy, pending;
	uint64_t no_answer, evicted, endpoints_overflow, duplicates;
	uint64_t endpoints;
};

static uint64_t
jint(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	if (b != NULL)
		v = json_object_get(v, b);
	return (uint64_t)json_integer_value(v);
}

static void
totals(const struct compare_ctx *c, uint32_t profiles, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; i < profiles; i++) {
		json_t *r = compare_report_json(c, i);

		t->compared += jint(r, "compared", NULL);
		t->matches += jint(r, "matches", NULL);
		t->mismatches += jint(r, "mismatches", NULL);
		t->noisy += jint(r, "noisy", NULL);
		t->pending += jint(r, "pending", NULL);
		t->no_answer += jint(r, "mismatch_kinds", "no_answer");
		t->evicted += jint(r, "dropped", "evicted_pending");
		t->endpoints_overflow += jint(r, "dropped", "endpoints_overflow");
		t->duplicates += jint(r, "dropped", "duplicates");
		t->endpoints += json_array_size(json_object_get(r, "endpoints"));
		json_decref(r);
	}
}

/* One pass over the template: flow ids shifted by @p flow_base. */
static uint64_t
run_pass(struct compare_ctx *c, const struct tmpl *t, const struct opts *o,
	 uint64_t flow_base, uint32_t *since_expire)
{
	struct compare_record burst[BURST];
	uint64_t now_us = 0;

	for (uint32_t i = 0; i < t->n_rec; i += BURST) {
		uint32_t n = t->n_rec - i < BURST ? t->n_rec - i : BURST;

		memcpy(burst, &t->rec[i], n * sizeof(burst[0]));
		now_us = now_ns() / 1000;
		for (uint32_t j = 0; j < n; j++) {
			burst[j].flow_id += flow_base;
			compare_add(c, &burst[j], o->control, now_us);
		}
		*since_expire += n;
		if (*since_expire >= o->poll) {
			compare_expire(c, now_us);
			*since_expire = 0;
		}
	}
	return t->n_rec;
}

static void
usage(const char *me)
{
	fprintf(stderr, "usage: %s [--seconds S] [--endpoints N] [--mismatch F] "
		"[--no-answer F] [--lag N] [--control] [--profiles N] [--template N] "
		"[--poll N] [--seed N]\n", me);
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){
		.seconds = 3.0, .endpoints = 250, .mismatch = 0.05,
		.no_answer = 0.002, .lag = 1024, .profiles = 1,
		.template_n = 1u << 17, .poll = 4096, .seed = 1,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--control") == 0) {
			o->control = true;
			continue;
		}
		if (v == NULL)
			usage(argv[0]);
		i++;
		if (strcmp(a, "--seconds") == 0)
			o->seconds = atof(v);
		else if (strcmp(a, "--endpoints") == 0)
			o->endpoints = (uint32_t)strtoul(v, NULL, 0);
		else if (strcmp(a, "--mismatch") == 0)
			o->mismatch = atof(v);
		else if (strcmp(a, "--no-answer") == 0)
			o->no_answer = atof(v);
		else if (strcmp(a, "--lag") == 0)
			o->lag = (uint32_t)strtoul(v, NULL, 0);
		else if (strcmp(a, "--profiles") == 0)
			o->profiles = (uint32_t)strtoul(v, NULL, 0);
		else if (strcmp(a, "--template") == 0)
			o->template_n = (uint32_t)strtoul(v, NULL, 0);
		else if (strcmp(a, "--poll") == 0)
			o->poll = (uint32_t)strtoul(v, NULL, 0);
		else if (strcmp(a, "--seed") == 0)
			o->seed = strtoull(v, NULL, 0);
		else
			usage(argv[0]);
	}
	if (o->endpoints == 0 || o->profiles == 0 || o->profiles > N_PROFILES ||
	    o->template_n < 1024 || o->poll == 0 || o->seconds <= 0)
		usage(argv[0]);
}

int
main(int argc, char **argv)
{
	const struct compare_limits lim = {     /* as lib/shadow/shadow_ctl.c */
		.pending_max = 65536, .endpoints_max = 256, .samples_max = 32,
		.timeout_us = 2000000,
	};
	struct opts o;
	struct endpoint *ep;
	struct tmpl t;
	struct compare_ctx *c;
	struct totals before, after;
	uint64_t records = 0, pass = 0, t0, t1, r0, r1;
	uint32_t since_expire = 0;
	double dt, exch;
	json_t *report;

	parse(argc, argv, &o);
	rng_state = o.seed * 0x9e3779b97f4a7c15ull | 1;
	ep = calloc(o.endpoints, sizeof(*ep));
	if (ep == NULL)
		return 1;
	make_endpoints(ep, o.endpoints);
	if (make_template(&o, ep, &t) < 0 ||
	    (c = compare_create(&lim, N_PROFILES)) == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	/* warm-up: endpoints created, pending pool and indexes touched */
	run_pass(c, &t, &o, 0, &since_expire);
	pass = 1;
	totals(c, o.profiles, &before);
	t0 = now_ns();
	do {
		records += run_pass(c, &t, &o, pass * t.n_flows, &since_expire);
		pass++;
		t1 = now_ns();
	} while ((double)(t1 - t0) < o.seconds * 1e9);
	dt = (double)(t1 - t0) / 1e9;
	totals(c, o.profiles, &after);
	r0 = now_ns();
	report = compare_report_json(c, 0);
	r1 = now_ns();
	json_decref(report);

	exch = (double)(after.compared - before.compared);
	printf("comparator rate, one core (lib/compare compare_add + compare_expire only: "
	       "no rings, no workers)\n");
	printf("  template: %u exchanges in %u flows over %u endpoints (%u profile%s), "
	       "%.1f%% shadow answers differ, %.2f%% missing, shadow lag ~%u exchanges%s\n",
	       t.n_exchanges, t.n_flows, o.endpoints, o.profiles, o.profiles > 1 ? "s" : "",
	       100.0 * t.mismatched / t.n_exchanges, 100.0 * t.unanswered / t.n_exchanges,
	       o.lag, o.control ? ", with control records" : "");
	printf("  timed: %.2f s, %" PRIu64 " passes, %" PRIu64 " records, %.0f exchanges "
	       "compared\n", dt, pass - 1, records, exch);
	printf("  %.2f M exchanges/s, %.2f M records/s, %.1f ns per record\n",
	       exch / dt / 1e6, (double)records / dt / 1e6, dt * 1e9 / (double)records);
	printf("  result: %" PRIu64 " matches, %" PRIu64 " mismatches (%.2f%%), %" PRIu64
	       " noisy, %" PRIu64 " shadow no-answer, %" PRIu64 " pending at the end, "
	       "%" PRIu64 " endpoints listed; dropped: %" PRIu64 " evicted, %" PRIu64
	       " endpoint overflow, %" PRIu64 " duplicates\n",
	       after.matches, after.mismatches,
	       100.0 * after.mismatches / (after.compared ? after.compared : 1),
	       after.noisy, after.no_answer, after.pending, after.endpoints,
	       after.evicted, after.endpoints_overflow, after.duplicates);
	printf("  one JSON report of profile 0 (%" PRIu64 " endpoints): %.2f ms\n",
	       after.endpoints, (double)(r1 - r0) / 1e6);
	printf("{\"exchanges_per_s\": %.0f, \"records_per_s\": %.0f, \"ns_per_record\": %.2f, "
	       "\"seconds\": %.3f, \"exchanges\": %.0f, \"records\": %" PRIu64 ", "
	       "\"mismatch_share\": %.4f, \"endpoints\": %u, \"evicted\": %" PRIu64 ", "
	       "\"endpoints_overflow\": %" PRIu64 ", \"duplicates\": %" PRIu64 ", "
	       "\"pending\": %" PRIu64 ", \"sides\": %d, \"report_ms\": %.3f}\n",
	       exch / dt, (double)records / dt, dt * 1e9 / (double)records, dt, exch,
	       records, after.mismatches / (after.compared ? (double)after.compared : 1.0),
	       o.endpoints, after.evicted, after.endpoints_overflow, after.duplicates,
	       after.pending, o.control ? 3 : 2, (double)(r1 - r0) / 1e6);
	compare_free(c);
	free(t.rec);
	free(ep);
	return 0;
}
