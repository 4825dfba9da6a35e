/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the dependency map's management half (lib/graph), pure,
 * no EAL.
 *
 * Exact properties of each part (edge counters and eviction, DNS TTLs,
 * CNAME chains, stale names and their cap, DNS wire parsing (A, AAAA,
 * CNAME chains, compression, truncated and hostile messages, each parsed
 * against a guard page), the registry's lifetimes,
 * snapshots, golden versions, the periodic-edge rule, DOT), then seeded
 * simulations of a service whose canary and control draw their flows
 * from one distribution (Poisson arrivals, Zipf-weighted servers, a
 * periodic job per cohort): the product promises no deviation in clean
 * runs, and one above the threshold, naming the canary, when the canary
 * adds a heavy edge or drops its database. Figures (bytes per edge,
 * records per second, clean-run maxima) are printed, never asserted
 * except where they are the promise.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph.h"
#include "ut_rand.h"

#define MIN_MS (60 * 1000ull)
#define STAGE 1
#define SVC 3

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
ip4(uint8_t a[16], uint32_t v)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
}

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

static struct graph_flow_record
rec(uint8_t kind, uint8_t service, uint8_t cohort, uint32_t client, uint32_t server,
    uint16_t port, uint64_t ts)
{
	struct graph_flow_record r = {
		.family = 4, .proto = 6, .server_port = port, .stage = STAGE,
		.service = service, .cohort = cohort, .kind = kind, .ts_ms = ts,
	};

	ip4(r.client_ip, client);
	ip4(r.server_ip, server);
	return r;
}

/* One whole flow: NEW at @p ts, END 20 ms later with bytes and latency. */
static void
flow(struct graph_edges *t, uint8_t service, uint8_t cohort, uint32_t client,
     uint32_t server, uint16_t port, uint64_t ts)
{
	struct graph_flow_record r = rec(GRAPH_REC_NEW, service, cohort, client, server, port, ts);

	assert_int_equal(graph_edges_add(t, &r), 0);
	r.kind = GRAPH_REC_END;
	r.ts_ms = ts + 20;
	r.bytes = 1500;
	r.rtt_us = 300;
	assert_int_equal(graph_edges_add(t, &r), 0);
}

static struct graph_key
key(uint8_t service, uint8_t cohort, uint32_t client, uint32_t server, uint16_t port)
{
	struct graph_flow_record r = rec(GRAPH_REC_NEW, service, cohort, client, server, port, 0);
	struct graph_key k;

	assert_int_equal(graph_key_of(&r, &k), 0);
	return k;
}

/* ------------------------------------------------------------------ */
/* Edges                                                               */

static void
test_edge_stats(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(16);
	struct graph_flow_record r = rec(GRAPH_REC_NEW, GRAPH_SERVICE_NONE, 0, IP(10, 0, 0, 1),
					 IP(10, 0, 0, 9), 5432, 1000);

	assert_int_equal(graph_edges_add(t, &r), 0);
	r.kind = GRAPH_REC_END; r.ts_ms = 1500; r.bytes = 1000; r.rtt_us = 200; r.error = 1;
	assert_int_equal(graph_edges_add(t, &r), 0);
	r = rec(GRAPH_REC_NEW, GRAPH_SERVICE_NONE, 0, IP(10, 0, 0, 1), IP(10, 0, 0, 9), 5432, 4000);
	assert_int_equal(graph_edges_add(t, &r), 0);
	r.kind = GRAPH_REC_UPDATE; r.ts_ms = 4050; r.bytes = 200;
	assert_int_equal(graph_edges_add(t, &r), 0);
	r.kind = GRAPH_REC_END; r.ts_ms = 4100; r.bytes = 300; r.rtt_us = 400; r.reset = 1;
	assert_int_equal(graph_edges_add(t, &r), 0);
	/* A late record from another worker: not a gap, not a sighting. */
	r.kind = GRAPH_REC_UPDATE; r.ts_ms = 3000; r.bytes = 0; r.rtt_us = 0; r.reset = 0;
	assert_int_equal(graph_edges_add(t, &r), 0);

	struct graph_key k = key(GRAPH_SERVICE_NONE, 0, IP(10, 0, 0, 1), IP(10, 0, 0, 9), 5432);
	const struct graph_edge_stats *s = graph_edges_find(t, &k);

	assert_non_null(s);
	assert_int_equal(s->flows, 2);
	assert_int_equal(s->bytes, 1500);
	assert_int_equal(s->first_ms, 1000);
	assert_int_equal(s->last_ms, 4100);
	assert_int_equal(s->errors, 1);
	assert_int_equal(s->resets, 1);
	assert_int_equal(s->rtt_avg_us, 225);   /* 200, then 200 + (400 - 200) / 8 */
	assert_int_equal(s->rtt_max_us, 400);
	assert_int_equal(s->max_gap_ms, 2500);  /* 1500 -> 4000 */
	assert_int_equal(s->active, 0);

	struct graph_edges_info info;

	graph_edges_info(t, &info);
	assert_int_equal(info.count, 1);
	assert_int_equal(info.records, 6);
	graph_edges_free(t);
}

static void
test_edge_keys(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(16);
	struct graph_flow_record r;

	/* Two backends of one service, one cohort: one edge. */
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 0);
	flow(t, SVC, 0, IP(10, 1, 0, 2), IP(10, 2, 0, 1), 5432, 10);
	/* Its canary: another edge. */
	flow(t, SVC, 1, IP(10, 1, 0, 3), IP(10, 2, 0, 1), 5432, 20);
	/* Anonymous clients: by address; a cohort means nothing for them. */
	flow(t, GRAPH_SERVICE_NONE, 0, IP(10, 9, 0, 1), IP(10, 2, 0, 1), 5432, 30);
	flow(t, GRAPH_SERVICE_NONE, 1, IP(10, 9, 0, 1), IP(10, 2, 0, 1), 5432, 40);
	flow(t, GRAPH_SERVICE_NONE, 0, IP(10, 9, 0, 2), IP(10, 2, 0, 1), 5432, 50);
	/* Another port, another protocol: other edges. */
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5433, 60);
	r = rec(GRAPH_REC_NEW, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 70);
	r.proto = 17;
	assert_int_equal(graph_edges_add(t, &r), 0);
	/* IPv6. */
	r = rec(GRAPH_REC_NEW, SVC, 0, 0, 0, 443, 80);
	r.family = 6;
	r.server_ip[0] = 0x20; r.server_ip[1] = 0x01; r.server_ip[15] = 1;
	assert_int_equal(graph_edges_add(t, &r), 0);
	/* Refused: a bad family, a bad kind. */
	r.family = 5;
	assert_int_equal(graph_edges_add(t, &r), -1);
	r.family = 4; r.kind = GRAPH_REC_MAX;
	assert_int_equal(graph_edges_add(t, &r), -1);

	struct graph_edges_info info;

	graph_edges_info(t, &info);
	assert_int_equal(info.count, 7);
	assert_int_equal(info.invalid, 2);
	struct graph_key k = key(SVC, 0, IP(10, 1, 0, 99), IP(10, 2, 0, 1), 5432);

	assert_int_equal(graph_edges_find(t, &k)->flows, 2);
	k = key(SVC, 1, 0, IP(10, 2, 0, 1), 5432);
	assert_int_equal(graph_edges_find(t, &k)->flows, 1);
	k = key(GRAPH_SERVICE_NONE, 1, IP(10, 9, 0, 1), IP(10, 2, 0, 1), 5432);
	assert_int_equal(graph_edges_find(t, &k)->flows, 2);
	graph_edges_free(t);
}

/* A million distinct edges: server 10.x.y.z for i, client service 1. */
static struct graph_flow_record
nth(uint32_t i, uint64_t ts)
{
	return rec(GRAPH_REC_NEW, 1, 0, IP(10, 0, 0, 1), IP(10, 0, 0, 0) + i, 443, ts);
}

static void
test_edge_million(void **state)
{
	(void)state;
	const uint32_t cap = 1000000, more = 100000;
	struct graph_edges *t = graph_edges_create(cap);
	struct graph_edges_info before, after;
	struct graph_flow_record r;

	assert_non_null(t);
	graph_edges_info(t, &before);
	double t0 = now_s();

	for (uint32_t i = 0; i < cap; i++) {
		r = nth(i, i);
		graph_edges_add(t, &r);
	}
	double t1 = now_s();

	graph_edges_info(t, &after);
	assert_int_equal(after.count, cap);
	assert_int_equal(after.evicted, 0);
	/* Sighting edge 0 again makes it the most recent. */
	r = nth(0, cap);
	graph_edges_add(t, &r);
	double t2 = now_s();

	for (uint32_t i = 0; i < cap; i++) {
		r = nth(i ? i : 1, cap + 1 + i);
		r.kind = GRAPH_REC_END;
		r.bytes = 100;
		graph_edges_add(t, &r);
	}
	double t3 = now_s();

	/* Every edge was sighted again in order 1, 1, 2, 3...: edge 0 is now
	 * the least recent; then 1, 2... */
	for (uint32_t i = 0; i < more; i++) {
		r = nth(cap + i, 2 * cap + i);
		graph_edges_add(t, &r);
	}
	double t4 = now_s();

	graph_edges_info(t, &after);
	assert_int_equal(after.count, cap);
	assert_int_equal(after.evicted, more);
	assert_int_equal(after.inserted, cap + more);
	assert_int_equal(after.memory_bytes, before.memory_bytes);
	struct graph_key k;

	for (uint32_t i = 0; i < more; i++) {
		r = nth(i, 0);
		graph_key_of(&r, &k);
		assert_null(graph_edges_find(t, &k));
	}
	for (uint32_t i = more; i < cap + more; i += 997) {
		r = nth(i, 0);
		graph_key_of(&r, &k);
		assert_non_null(graph_edges_find(t, &k));
	}
	double t5 = now_s();
	uint32_t found = 0;

	for (uint32_t i = 0; i < cap; i++) {
		r = nth(i + more, 0);
		graph_key_of(&r, &k);
		found += graph_edges_find(t, &k) != NULL;
	}
	double t6 = now_s();

	assert_int_equal(found, cap);
	printf("edges: capacity %u, memory %zu bytes = %.1f bytes per edge (index included)\n",
	       cap, after.memory_bytes, (double)after.memory_bytes / cap);
	printf("edges: %.2f M new edges/s, %.2f M updates/s, %.2f M evicting inserts/s, "
	       "%.2f M lookups/s\n", cap / (t1 - t0) / 1e6, cap / (t3 - t2) / 1e6,
	       more / (t4 - t3) / 1e6, cap / (t6 - t5) / 1e6);
	graph_edges_free(t);
}

/* ------------------------------------------------------------------ */
/* DNS                                                                 */

static void
rr_a(struct graph_dns_answer *a, const char *owner, uint32_t ip, uint32_t ttl)
{
	struct graph_dns_rr *rr = &a->rr[a->n_rr++];

	memset(rr, 0, sizeof(*rr));
	rr->type = GRAPH_RR_A;
	rr->ttl_s = ttl;
	snprintf(rr->owner, sizeof(rr->owner), "%s", owner);
	ip4(rr->addr, ip);
}

static void
rr_cname(struct graph_dns_answer *a, const char *owner, const char *target, uint32_t ttl)
{
	struct graph_dns_rr *rr = &a->rr[a->n_rr++];

	memset(rr, 0, sizeof(*rr));
	rr->type = GRAPH_RR_CNAME;
	rr->ttl_s = ttl;
	snprintf(rr->owner, sizeof(rr->owner), "%s", owner);
	snprintf(rr->target, sizeof(rr->target), "%s", target);
}

static void
answer(struct graph_dns_answer *a, const char *qname, uint64_t ts)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->qname, sizeof(a->qname), "%s", qname);
	a->ts_ms = ts;
}

static enum graph_name_src
lookup(struct graph_dns *d, uint32_t ip, uint64_t now, enum graph_dns_use use, const char **name)
{
	uint8_t a[16];

	ip4(a, ip);
	*name = NULL;
	return graph_dns_lookup(d, 4, a, now, use, name);
}

static struct graph_dns *
dns_new(uint32_t max_addrs)
{
	struct graph_dns_conf c;

	graph_dns_conf_default(&c, max_addrs);
	return graph_dns_create(&c);
}

/* ------------------------------------------------------------------ */
/* DNS wire format (graph_wire.c)                                      */

/* A DNS message under construction. */
struct wmsg {
	uint8_t b[1024];
	size_t n;
};

static void
w8(struct wmsg *m, uint8_t v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = v;
}

static void
w16(struct wmsg *m, uint16_t v)
{
	w8(m, (uint8_t)(v >> 8));
	w8(m, (uint8_t)v);
}

static void
w32(struct wmsg *m, uint32_t v)
{
	w16(m, (uint16_t)(v >> 16));
	w16(m, (uint16_t)v);
}

/* Header: id 0x1234, @p flags (0x8180: a response, recursion, rcode 0). */
static void
whdr(struct wmsg *m, uint16_t flags, uint16_t qd, uint16_t an)
{
	m->n = 0;
	w16(m, 0x1234);
	w16(m, flags);
	w16(m, qd);
	w16(m, an);
	w16(m, 0);
	w16(m, 0);
}

/* Labels of dotted @p name; a terminating root unless @p ptr, then a
 * compression pointer to offset @p ptr. @return where the name starts. */
static size_t
wname(struct wmsg *m, const char *name, int ptr)
{
	size_t at = m->n;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		w8(m, (uint8_t)l);
		for (size_t i = 0; i < l; i++)
			w8(m, (uint8_t)name[i]);
		name += l + (dot ? 1 : 0);
	}
	if (ptr >= 0)
		w16(m, (uint16_t)(0xc000 | ptr));
	else
		w8(m, 0);
	return at;
}

static void
wquestion(struct wmsg *m, const char *qname, uint16_t qtype)
{
	wname(m, qname, -1);
	w16(m, qtype);
	w16(m, 1);
}

/* A record's fixed part after its owner name; rdata follows. */
static void
wrr(struct wmsg *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	w16(m, type);
	w16(m, 1);
	w32(m, ttl);
	w16(m, rdlen);
}

/* Parse @p len bytes of @p m placed so that they end where a page with
 * no access begins: any read past the end kills the test. */
static int
parse_guarded(const uint8_t *msg, size_t len, struct graph_dns_answer *out)
{
	static uint8_t *pages;
	static size_t pg;
	int rc;

	if (pages == NULL) {
		pg = (size_t)sysconf(_SC_PAGESIZE);
		pages = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(pages != MAP_FAILED);
		assert_int_equal(mprotect(pages + pg, pg, PROT_NONE), 0);
	}
	assert_true(len <= pg);
	memcpy(pages + pg - len, msg, len);
	rc = graph_dns_parse(pages + pg - len, len, 42, out);
	/* Whatever came out is bounded text. */
	assert_true(strnlen(out->qname, GRAPH_DNS_NAME_MAX) < GRAPH_DNS_NAME_MAX);
	assert_true(out->n_rr <= GRAPH_DNS_RR_MAX);
	for (uint16_t i = 0; i < out->n_rr; i++) {
		assert_true(strnlen(out->rr[i].owner, GRAPH_DNS_NAME_MAX) < GRAPH_DNS_NAME_MAX);
		if (out->rr[i].type == GRAPH_RR_CNAME)
			assert_true(strnlen(out->rr[i].target, GRAPH_DNS_NAME_MAX) <
				    GRAPH_DNS_NAME_MAX);
	}
	return rc;
}

static int
parse_msg(const struct wmsg *m, struct graph_dns_answer *out)
{
	return parse_guarded(m->b, m->n, out);
}

/* A and AAAA answers, owners compressed to the question, names lowered. */
static void
test_wire_a_aaaa(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
	struct graph_dns_answer a;
	struct wmsg m;
	uint8_t want[16];
	size_t ttl_at;

	(void)state;
	whdr(&m, 0x8180, 1, 3);
	wquestion(&m, "API.Example.COM", 1);
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_A, 300, 4);
	w32(&m, IP(10, 0, 0, 2));
	wname(&m, "", 12);
	ttl_at = m.n + 4;
	wrr(&m, GRAPH_RR_AAAA, 60, 16);
	for (int i = 0; i < 16; i++)
		w8(&m, v6[i]);
	/* An MX record: skipped, not counted. */
	wname(&m, "", 12);
	wrr(&m, 15, 60, 4);
	w16(&m, 10);
	w16(&m, 0xc00c);
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_string_equal(a.qname, "api.example.com");
	assert_int_equal(a.ts_ms, 42);
	assert_int_equal(a.n_rr, 2);
	assert_int_equal(a.rr[0].type, GRAPH_RR_A);
	assert_string_equal(a.rr[0].owner, "api.example.com");
	assert_int_equal(a.rr[0].ttl_s, 300);
	ip4(want, IP(10, 0, 0, 2));
	assert_memory_equal(a.rr[0].addr, want, 16);
	assert_int_equal(a.rr[1].type, GRAPH_RR_AAAA);
	assert_int_equal(a.rr[1].ttl_s, 60);
	assert_memory_equal(a.rr[1].addr, v6, 16);
	/* A TTL with the top bit set is read whole (the cache clamps it). */
	m.b[ttl_at] = 0x80;
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_true(a.rr[1].ttl_s >= 0x80000000u);
}

/* A CNAME chain whose targets are partly compressed, into the cache. */
static void
test_wire_cname_chain(void **state)
{
	struct graph_dns_answer a;
	struct graph_dns *d = dns_new(64);
	const char *name;
	struct wmsg m;
	size_t rd, web, lb;

	(void)state;
	whdr(&m, 0x8180, 1, 4);
	wquestion(&m, "www.example.com", 1);              /* "example.com" at 16 */
	/* www.example.com CNAME web.example.com ("web" + pointer to 16) */
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_CNAME, 600, 6);
	rd = m.n;
	web = wname(&m, "web", 16);
	assert_int_equal(m.n - rd, 6);
	/* web.example.com (a pointer into the last rdata) CNAME lb.example.net */
	wname(&m, "", (int)web);
	wrr(&m, GRAPH_RR_CNAME, 30, 16);
	lb = wname(&m, "lb.example.net", -1);
	/* An NS record on the way: skipped. */
	wname(&m, "", 16);
	wrr(&m, 2, 60, 2);
	w16(&m, (uint16_t)(0xc000 | lb));
	wname(&m, "", (int)lb);
	wrr(&m, GRAPH_RR_A, 120, 4);
	w32(&m, IP(10, 1, 1, 1));
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_string_equal(a.qname, "www.example.com");
	assert_int_equal(a.n_rr, 3);
	assert_int_equal(a.rr[0].type, GRAPH_RR_CNAME);
	assert_string_equal(a.rr[0].owner, "www.example.com");
	assert_string_equal(a.rr[0].target, "web.example.com");
	assert_string_equal(a.rr[1].owner, "web.example.com");
	assert_string_equal(a.rr[1].target, "lb.example.net");
	assert_int_equal(a.rr[2].type, GRAPH_RR_A);
	assert_string_equal(a.rr[2].owner, "lb.example.net");
	/* The address maps to the asked name, until the chain's smallest TTL. */
	a.ts_ms = 1000;
	assert_int_equal(graph_dns_add_answer(d, &a), 1);
	assert_int_equal(lookup(d, IP(10, 1, 1, 1), 2000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_DNS);
	assert_string_equal(name, "www.example.com");
	assert_int_equal(lookup(d, IP(10, 1, 1, 1), 1000 + 31000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_NONE);
	graph_dns_free(d);
}

/* Not an answer: refused, nothing read past the message. */
static void
test_wire_refused(void **state)
{
	struct graph_dns_answer a;
	struct wmsg m;

	(void)state;
	/* Shorter than a header. */
	whdr(&m, 0x8180, 1, 0);
	assert_int_equal(parse_guarded(m.b, 11, &a), -1);
	assert_int_equal(parse_guarded(m.b, 0, &a), -1);
	/* A query (QR clear), an error answer (NXDOMAIN), no question. */
	whdr(&m, 0x0100, 1, 0);
	wquestion(&m, "a.example", 1);
	assert_int_equal(parse_msg(&m, &a), -1);
	whdr(&m, 0x8183, 1, 0);
	wquestion(&m, "a.example", 1);
	assert_int_equal(parse_msg(&m, &a), -1);
	whdr(&m, 0x8180, 0, 1);
	wname(&m, "a.example", -1);
	wrr(&m, GRAPH_RR_A, 1, 4);
	w32(&m, 1);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* Counts no message of this size can hold. */
	whdr(&m, 0x8180, 1, 65535);
	wquestion(&m, "a.example", 1);
	assert_int_equal(parse_msg(&m, &a), -1);
	whdr(&m, 0x8180, 65535, 0);
	wquestion(&m, "a.example", 1);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* A second question that is not there. */
	whdr(&m, 0x8180, 2, 0);
	wquestion(&m, "a.example", 1);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* The question's type and class cut off. */
	whdr(&m, 0x8180, 1, 0);
	wquestion(&m, "a.example", 1);
	assert_int_equal(parse_guarded(m.b, m.n - 1, &a), -1);
	/* Labels with the reserved 01/10 top bits. */
	whdr(&m, 0x8180, 1, 0);
	w8(&m, 0x41);
	w8(&m, 'a');
	w8(&m, 0);
	w32(&m, 0x00010001);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* A name longer than 253 characters. */
	whdr(&m, 0x8180, 1, 0);
	for (int i = 0; i < 5; i++) {
		w8(&m, 60);
		for (int j = 0; j < 60; j++)
			w8(&m, 'x');
	}
	w8(&m, 0);
	w32(&m, 0x00010001);
	assert_int_equal(parse_msg(&m, &a), -1);
}

/* Hostile compression and lengths: bounded, refused or cut, never read
 * beyond the end. */
static void
test_wire_hostile(void **state)
{
	struct graph_dns_answer a;
	struct wmsg m;
	size_t p1;

	(void)state;
	/* The question is a pointer to itself. */
	whdr(&m, 0x8180, 1, 0);
	w16(&m, 0xc00c);
	w32(&m, 0x00010001);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* Two pointers to each other. */
	whdr(&m, 0x8180, 1, 0);
	w16(&m, 0xc00e);
	w16(&m, 0xc00c);
	w32(&m, 0x00010001);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* A label, then a pointer back to it: a loop that grows the name. */
	whdr(&m, 0x8180, 1, 0);
	w8(&m, 1);
	w8(&m, 'a');
	w16(&m, 0xc00c);
	w32(&m, 0x00010001);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* A pointer past the end, a pointer cut in half. */
	whdr(&m, 0x8180, 1, 0);
	w16(&m, 0xc3ff);
	w32(&m, 0x00010001);
	assert_int_equal(parse_msg(&m, &a), -1);
	whdr(&m, 0x8180, 1, 0);
	w8(&m, 0xc0);
	assert_int_equal(parse_msg(&m, &a), -1);
	/* A label longer than what is left. */
	whdr(&m, 0x8180, 1, 0);
	w8(&m, 63);
	w8(&m, 'a');
	assert_int_equal(parse_msg(&m, &a), -1);

	/* Answers: good ones before a bad one are kept. */
	whdr(&m, 0x8180, 1, 4);
	wquestion(&m, "db.example", 1);
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_A, 60, 4);
	w32(&m, IP(10, 0, 0, 3));
	/* An owner that loops. */
	p1 = m.n;
	w16(&m, (uint16_t)(0xc000 | p1));
	wrr(&m, GRAPH_RR_A, 60, 4);
	w32(&m, IP(10, 0, 0, 4));
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_string_equal(a.qname, "db.example");
	assert_int_equal(a.n_rr, 1);
	/* An rdata length beyond the data. */
	m.n = p1;
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_A, 60, 400);
	w32(&m, IP(10, 0, 0, 4));
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_int_equal(a.n_rr, 1);
	/* A CNAME whose target runs past its rdata: not taken. */
	m.n = p1;
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_CNAME, 60, 3);
	wname(&m, "abcdef", -1);
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_int_equal(a.n_rr, 1);
	/* A CNAME target pointing forward, beyond its rdata: not taken. */
	m.n = p1;
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_CNAME, 60, 2);
	w16(&m, (uint16_t)(0xc000 | (m.n + 2)));
	wname(&m, "abc", -1);
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_int_equal(a.n_rr, 1);
	/* An A record with the wrong length: skipped. */
	m.n = p1;
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_A, 60, 3);
	w8(&m, 1);
	w16(&m, 2);
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_int_equal(a.n_rr, 1);
	/* Four answers announced, one there: the one is kept. */
	m.n = p1;
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_int_equal(a.n_rr, 1);

	/* More records than the answer holds: the first GRAPH_DNS_RR_MAX. */
	whdr(&m, 0x8180, 1, 40);
	wquestion(&m, "many.example", 1);
	for (uint32_t i = 0; i < 40; i++) {
		wname(&m, "", 12);
		wrr(&m, GRAPH_RR_A, 60, 4);
		w32(&m, IP(10, 2, 0, i));
	}
	assert_int_equal(parse_msg(&m, &a), 0);
	assert_int_equal(a.n_rr, GRAPH_DNS_RR_MAX);
	assert_int_equal(a.rr[GRAPH_DNS_RR_MAX - 1].addr[3], GRAPH_DNS_RR_MAX - 1);
}

/* Every prefix of a good answer (a worker's copy cut anywhere) and random
 * corruptions of it: each parse stays inside the bytes it is given, and a
 * longer prefix never yields fewer records. */
static void
test_wire_truncated_and_fuzzed(void **state)
{
	struct graph_dns_answer a, full;
	struct wmsg m;
	uint16_t prev = 0;
	uint64_t seed = 13;
	unsigned int ok = 0;

	(void)state;
	whdr(&m, 0x8180, 1, 4);
	wquestion(&m, "www.example.com", 1);
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_CNAME, 600, 6);
	wname(&m, "web", 16);
	wname(&m, "web", 16);
	wrr(&m, GRAPH_RR_A, 60, 4);
	w32(&m, IP(10, 0, 0, 7));
	wname(&m, "web", 16);
	wrr(&m, GRAPH_RR_AAAA, 60, 16);
	for (int i = 0; i < 16; i++)
		w8(&m, (uint8_t)i);
	wname(&m, "", 12);
	wrr(&m, GRAPH_RR_A, 60, 4);
	w32(&m, IP(10, 0, 0, 8));
	assert_int_equal(parse_msg(&m, &full), 0);
	assert_int_equal(full.n_rr, 4);
	for (size_t len = 0; len <= m.n; len++) {
		int rc = parse_guarded(m.b, len, &a);

		if (rc < 0) {
			assert_int_equal(prev, 0);
			continue;
		}
		assert_string_equal(a.qname, "www.example.com");
		assert_true(a.n_rr >= prev);
		for (uint16_t i = 0; i < a.n_rr; i++) {
			assert_int_equal(a.rr[i].type, full.rr[i].type);
			assert_string_equal(a.rr[i].owner, full.rr[i].owner);
		}
		prev = a.n_rr;
	}
	assert_int_equal(prev, 4);
	for (int i = 0; i < 20000; i++) {
		struct wmsg f = m;
		unsigned int flips = 1 + (unsigned int)(rnd(&seed) % 4);

		for (unsigned int j = 0; j < flips; j++)
			f.b[rnd(&seed) % f.n] = (uint8_t)rnd(&seed);
		f.n = 12 + (size_t)(rnd(&seed) % (m.n - 11));
		ok += parse_msg(&f, &a) == 0;
	}
	print_message("fuzzed answers parsed: %u of 20000 (the rest refused)\n", ok);
}

static void
test_dns_ttl(void **state)
{
	(void)state;
	struct graph_dns *d = dns_new(64);
	struct graph_dns_answer a;
	struct graph_dns_info info;
	const char *name;

	answer(&a, "API.Example.com.", 0);
	rr_a(&a, "api.example.com", IP(10, 0, 0, 1), 60);
	assert_int_equal(graph_dns_add_answer(d, &a), 1);
	assert_int_equal(lookup(d, IP(10, 0, 0, 1), 30000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_DNS);
	assert_string_equal(name, "api.example.com");
	assert_int_equal(lookup(d, IP(10, 0, 0, 2), 30000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);
	/* At its TTL, unused: gone. */
	assert_int_equal(lookup(d, IP(10, 0, 0, 1), 60000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);
	graph_dns_info(d, &info);
	assert_int_equal(info.addrs, 0);
	assert_int_equal(info.names, 0);
	assert_int_equal(info.expired, 1);

	/* TTL 0 answers name no new flow; the expire sweep takes them. */
	answer(&a, "zero.example.com", 100000);
	rr_a(&a, "zero.example.com", IP(10, 0, 0, 3), 0);
	graph_dns_add_answer(d, &a);
	assert_int_equal(lookup(d, IP(10, 0, 0, 3), 100000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_NONE);
	answer(&a, "b.example.com", 100000);
	rr_a(&a, "b.example.com", IP(10, 0, 0, 4), 10);
	graph_dns_add_answer(d, &a);
	assert_int_equal(graph_dns_expire(d, 200000, 64), 1);
	graph_dns_info(d, &info);
	assert_int_equal(info.addrs, 0);
	graph_dns_free(d);
}

static void
test_dns_cname_chain(void **state)
{
	(void)state;
	struct graph_dns *d = dns_new(64);
	struct graph_dns_answer a;
	struct graph_dns_info info;
	const char *name;
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };

	/* Out of order, with a record off the chain. */
	answer(&a, "www.shop.com", 0);
	rr_a(&a, "EDGE7.cdn.net.", IP(1, 2, 3, 4), 600);
	rr_cname(&a, "shop.cdn.net", "edge7.cdn.net", 120);
	rr_a(&a, "other.com", IP(9, 9, 9, 9), 600);
	rr_cname(&a, "www.shop.com", "shop.cdn.net", 300);
	a.rr[a.n_rr] = (struct graph_dns_rr){ .type = GRAPH_RR_AAAA, .ttl_s = 30 };
	snprintf(a.rr[a.n_rr].owner, GRAPH_DNS_NAME_MAX, "edge7.cdn.net");
	memcpy(a.rr[a.n_rr++].addr, v6, 16);
	assert_int_equal(graph_dns_add_answer(d, &a), 2);
	graph_dns_info(d, &info);
	assert_int_equal(info.rr_ignored, 1);
	assert_int_equal(info.names, 1);
	/* The address maps to the asked name, until the chain's smallest TTL. */
	assert_int_equal(lookup(d, IP(1, 2, 3, 4), 119000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_DNS);
	assert_string_equal(name, "www.shop.com");
	assert_int_equal(lookup(d, IP(1, 2, 3, 4), 120000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);
	assert_int_equal(graph_dns_lookup(d, 6, v6, 29000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_DNS);
	assert_string_equal(name, "www.shop.com");
	assert_int_equal(graph_dns_lookup(d, 6, v6, 30000, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);
	assert_int_equal(lookup(d, IP(9, 9, 9, 9), 0, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);

	/* A loop ends (each record is followed once)... */
	answer(&a, "a.loop", 0);
	rr_cname(&a, "a.loop", "b.loop", 60);
	rr_cname(&a, "b.loop", "a.loop", 60);
	rr_a(&a, "c.loop", IP(9, 9, 9, 8), 60);
	assert_int_equal(graph_dns_add_answer(d, &a), 0);
	/* ...and so does a chain longer than GRAPH_DNS_CHAIN_MAX links. */
	answer(&a, "n0.long", 0);
	for (int i = 0; i < GRAPH_DNS_CHAIN_MAX + 2; i++) {
		char o[32], t[32];

		snprintf(o, sizeof(o), "n%d.long", i);
		snprintf(t, sizeof(t), "n%d.long", i + 1);
		rr_cname(&a, o, t, 60);
	}
	rr_a(&a, "n10.long", IP(9, 9, 9, 7), 60);
	assert_int_equal(graph_dns_add_answer(d, &a), 0);
	graph_dns_info(d, &info);
	assert_int_equal(info.chain_too_long, 1);
	/* Up to the limit it is followed. */
	a.n_rr = 0;
	for (int i = 0; i < GRAPH_DNS_CHAIN_MAX; i++) {
		char o[32], t[32];

		snprintf(o, sizeof(o), "n%d.long", i);
		snprintf(t, sizeof(t), "n%d.long", i + 1);
		rr_cname(&a, o, t, 60);
	}
	rr_a(&a, "n8.long", IP(9, 9, 9, 7), 60);
	assert_int_equal(graph_dns_add_answer(d, &a), 1);
	assert_int_equal(lookup(d, IP(9, 9, 9, 7), 0, GRAPH_DNS_PEEK, &name), GRAPH_NAME_DNS);
	assert_string_equal(name, "n0.long");

	/* One address answered for another name later: the latest wins. */
	answer(&a, "first.com", 0);
	rr_a(&a, "first.com", IP(5, 5, 5, 5), 300);
	graph_dns_add_answer(d, &a);
	answer(&a, "second.com", 1000);
	rr_a(&a, "second.com", IP(5, 5, 5, 5), 300);
	graph_dns_add_answer(d, &a);
	assert_int_equal(lookup(d, IP(5, 5, 5, 5), 2000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_DNS);
	assert_string_equal(name, "second.com");
	graph_dns_free(d);
}

static void
test_dns_stale_in_use(void **state)
{
	(void)state;
	struct graph_dns *d = dns_new(64);
	struct graph_dns_answer a;
	struct graph_dns_info info;
	const char *name;

	answer(&a, "db.internal", 0);
	rr_a(&a, "db.internal", IP(10, 0, 0, 20), 60);
	graph_dns_add_answer(d, &a);
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 10000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_DNS);
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 50000, GRAPH_DNS_FLOW, &name), GRAPH_NAME_DNS);
	/* Past the TTL, still in use: stale for existing flows and displays,
	 * never for a new flow. */
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 70000, GRAPH_DNS_FLOW, &name),
			 GRAPH_NAME_DNS_STALE);
	assert_string_equal(name, "db.internal");
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 70000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_NONE);
	assert_null(name);
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 70000, GRAPH_DNS_PEEK, &name),
			 GRAPH_NAME_DNS_STALE);
	/* Kept while flows keep using it (every minute, for an hour). */
	for (uint64_t t = 130000; t < 3600000; t += 60000) {
		assert_int_equal(lookup(d, IP(10, 0, 0, 20), t, GRAPH_DNS_FLOW, &name),
				 GRAPH_NAME_DNS_STALE);
		graph_dns_expire(d, t + 1, 64);
		assert_int_equal(lookup(d, IP(10, 0, 0, 20), t + 1, GRAPH_DNS_NEW_FLOW, &name),
				 GRAPH_NAME_NONE);
	}
	/* A new answer makes it fresh again. */
	answer(&a, "db.internal", 3600000);
	rr_a(&a, "db.internal", IP(10, 0, 0, 20), 60);
	graph_dns_add_answer(d, &a);
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 3601000, GRAPH_DNS_NEW_FLOW, &name),
			 GRAPH_NAME_DNS);
	graph_dns_info(d, &info);
	assert_int_equal(info.stale, 0);
	/* Unused past the TTL and the linger: gone. */
	assert_int_equal(lookup(d, IP(10, 0, 0, 20), 3601000 + 60000 + 300001, GRAPH_DNS_PEEK,
				&name), GRAPH_NAME_NONE);
	graph_dns_info(d, &info);
	assert_int_equal(info.addrs, 0);
	assert_int_equal(info.expired, 1);
	graph_dns_free(d);
}

static void
test_dns_stale_cap(void **state)
{
	(void)state;
	struct graph_dns *d = dns_new(64);
	struct graph_dns_answer a;
	struct graph_dns_info info;
	const char *name;

	/* A CDN name rotating through ten addresses, each used by a flow. */
	for (uint32_t i = 0; i < 10; i++) {
		answer(&a, "cdn.example.com", i * 10000);
		rr_a(&a, "cdn.example.com", IP(10, 1, 0, i), 5);
		graph_dns_add_answer(d, &a);
		assert_int_equal(lookup(d, IP(10, 1, 0, i), i * 10000 + 1000, GRAPH_DNS_NEW_FLOW,
					&name), GRAPH_NAME_DNS);
	}
	graph_dns_expire(d, 200000, 64);
	graph_dns_info(d, &info);
	assert_int_equal(info.stale, 4);
	assert_int_equal(info.stale_capped, 6);
	assert_int_equal(info.names, 1);
	/* The most recently used four are kept. */
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(lookup(d, IP(10, 1, 0, i), 200000, GRAPH_DNS_PEEK, &name),
				 i < 6 ? GRAPH_NAME_NONE : GRAPH_NAME_DNS_STALE);
	graph_dns_free(d);
}

static void
test_dns_capacity(void **state)
{
	(void)state;
	struct graph_dns *d = dns_new(8);
	struct graph_dns_answer a;
	struct graph_dns_info info, first;
	const char *name;
	char q[64];

	graph_dns_info(d, &first);
	for (uint32_t i = 0; i < 10; i++) {
		snprintf(q, sizeof(q), "host%u.example.com", i);
		answer(&a, q, i);
		rr_a(&a, q, IP(10, 3, 0, i), 300);
		graph_dns_add_answer(d, &a);
	}
	graph_dns_info(d, &info);
	assert_int_equal(info.addrs, 8);
	assert_int_equal(info.names, 8);
	assert_int_equal(info.evicted, 2);
	assert_int_equal(info.memory_bytes, first.memory_bytes);
	assert_int_equal(lookup(d, IP(10, 3, 0, 0), 10, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);
	assert_int_equal(lookup(d, IP(10, 3, 0, 1), 10, GRAPH_DNS_PEEK, &name), GRAPH_NAME_NONE);
	assert_int_equal(lookup(d, IP(10, 3, 0, 9), 10, GRAPH_DNS_PEEK, &name), GRAPH_NAME_DNS);
	assert_string_equal(name, "host9.example.com");
	printf("dns: %zu bytes for %u addresses (%.0f bytes per address, names included)\n",
	       info.memory_bytes, 8, (double)info.memory_bytes / 8);

	/* Over the record limit: the excess is counted. */
	answer(&a, "many.example.com", 20);
	a.n_rr = GRAPH_DNS_RR_MAX + 3;
	uint64_t ign = info.rr_ignored;

	graph_dns_add_answer(d, &a);
	graph_dns_info(d, &info);
	assert_int_equal(info.rr_ignored - ign, GRAPH_DNS_RR_MAX + 3);
	graph_dns_free(d);
}

/* ------------------------------------------------------------------ */
/* Registry and names                                                  */

static struct graph_reg_entry
reg(const char *name, uint32_t ip, uint16_t port, uint32_t ttl)
{
	struct graph_reg_entry e = { .family = 4, .stage = STAGE, .port = port, .ttl_s = ttl };

	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.version, sizeof(e.version), "1.0");
	ip4(e.addr, ip);
	return e;
}

static const struct graph_reg_entry *
reg_lookup(const struct graph_registry *r, uint32_t ip, uint16_t port, uint64_t now)
{
	uint8_t a[16];

	ip4(a, ip);
	return graph_registry_lookup(r, STAGE, 4, a, port, now);
}

static void
test_registry(void **state)
{
	(void)state;
	struct graph_registry *r = graph_registry_create(3);
	struct graph_registry_info info;
	struct graph_reg_entry e = reg("api", IP(10, 0, 0, 10), 8080, 30);

	assert_int_equal(graph_registry_register(r, &e, GRAPH_REG_API, 0), 0);
	assert_string_equal(reg_lookup(r, IP(10, 0, 0, 10), 8080, 1000)->name, "api");
	assert_null(reg_lookup(r, IP(10, 0, 0, 10), 9999, 1000));
	assert_non_null(reg_lookup(r, IP(10, 0, 0, 10), 0, 1000));
	/* A heartbeat renews the TTL. */
	assert_int_equal(graph_registry_register(r, &e, GRAPH_REG_API, 20000), 0);
	assert_int_equal(graph_registry_expire(r, 45000), 0);
	assert_non_null(reg_lookup(r, IP(10, 0, 0, 10), 8080, 45000));
	assert_null(reg_lookup(r, IP(10, 0, 0, 10), 8080, 50000));
	assert_int_equal(graph_registry_expire(r, 50000), 1);

	/* The configuration's entries are permanent, survive heartbeats and
	 * deregistration, and are replaced by the next configuration. */
	struct graph_reg_entry conf[2] = { reg("db", IP(10, 0, 0, 20), 0, 0),
					   reg("cache", IP(10, 0, 0, 21), 6379, 0) };

	assert_int_equal(graph_registry_set_conf(r, conf, 2, 60000), 0);
	assert_string_equal(reg_lookup(r, IP(10, 0, 0, 20), 5432, 60000)->name, "db");
	struct graph_reg_entry hb = reg("db", IP(10, 0, 0, 20), 0, 10);

	assert_int_equal(graph_registry_register(r, &hb, GRAPH_REG_API, 61000), 0);
	assert_int_equal(graph_registry_deregister(r, "db", GRAPH_ANY, 0, NULL, 0), 0);
	assert_int_equal(graph_registry_expire(r, UINT64_MAX - 1), 0);
	assert_int_equal(reg_lookup(r, IP(10, 0, 0, 20), 5432, UINT64_MAX - 1)->source,
			 GRAPH_REG_CONF);
	assert_int_equal(graph_registry_set_conf(r, conf + 1, 1, 70000), 0);
	assert_null(reg_lookup(r, IP(10, 0, 0, 20), 5432, 70000));

	/* Agents: valid entries taken, the rest counted. */
	struct graph_reg_entry rep[3] = { reg("web", IP(10, 0, 1, 1), 80, 0),
					  reg("web", IP(10, 0, 1, 2), 80, 0),
					  reg("bad name", IP(10, 0, 1, 3), 80, 0) };

	assert_int_equal(graph_registry_agent_report(r, rep, 3, 90, 100000), 2);
	assert_int_equal(reg_lookup(r, IP(10, 0, 1, 2), 80, 100000)->source, GRAPH_REG_AGENT);
	/* Full: refused, nothing evicted. */
	e = reg("more", IP(10, 0, 2, 1), 1, 30);
	assert_int_equal(graph_registry_register(r, &e, GRAPH_REG_API, 100000), -ENOSPC);
	/* Invalid: family, empty name, API without TTL. */
	e = reg("x", IP(10, 0, 2, 1), 1, 30);
	e.family = 5;
	assert_int_equal(graph_registry_register(r, &e, GRAPH_REG_API, 0), -EINVAL);
	e = reg("", IP(10, 0, 2, 1), 1, 30);
	assert_int_equal(graph_registry_register(r, &e, GRAPH_REG_API, 0), -EINVAL);
	e = reg("x", IP(10, 0, 2, 1), 1, 0);
	assert_int_equal(graph_registry_register(r, &e, GRAPH_REG_API, 0), -EINVAL);

	uint32_t cursor = 0, n = 0;

	while (graph_registry_next(r, &cursor))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(graph_registry_deregister(r, "web", GRAPH_ANY, 0, NULL, 0), 2);
	assert_int_equal(graph_registry_expire(r, 200000), 0);
	graph_registry_info(r, &info);
	assert_int_equal(info.count, 1);
	assert_int_equal(info.refused_full, 1);
	assert_int_equal(info.refused_invalid, 4);
	assert_int_equal(info.expired, 1);
	graph_registry_free(r);
}

static void
test_namer(void **state)
{
	(void)state;
	struct graph_registry *r = graph_registry_create(8);
	struct graph_dns *d = dns_new(8);
	struct graph_services svc = { 0 };
	struct graph_dns_answer a;
	struct graph_reg_entry e = reg("db", IP(10, 0, 0, 20), 5432, 60);
	char buf[128];
	uint8_t ip[16];

	graph_registry_register(r, &e, GRAPH_REG_API, 0);
	answer(&a, "db.dns.example", 0);
	rr_a(&a, "db.dns.example", IP(10, 0, 0, 20), 300);
	rr_a(&a, "db.dns.example", IP(10, 0, 0, 21), 300);
	graph_dns_add_answer(d, &a);
	assert_int_equal(graph_services_set(&svc, SVC, "api", "1.9", "2.0"), 0);
	assert_int_equal(graph_services_set(&svc, 255, "x", NULL, NULL), -1);

	struct graph_namer n = { .services = &svc, .registry = r, .dns = d, .now_ms = 1000 };

	ip4(ip, IP(10, 0, 0, 20));
	/* The registry first, then DNS, else the address. */
	assert_int_equal(graph_name_server(&n, STAGE, 4, ip, 5432, buf, sizeof(buf)),
			 GRAPH_NAME_REGISTRY);
	assert_string_equal(buf, "db");
	ip4(ip, IP(10, 0, 0, 21));
	assert_int_equal(graph_name_server(&n, STAGE, 4, ip, 5432, buf, sizeof(buf)),
			 GRAPH_NAME_DNS);
	assert_string_equal(buf, "db.dns.example");
	ip4(ip, IP(10, 0, 0, 99));
	assert_int_equal(graph_name_server(&n, STAGE, 4, ip, 5432, buf, sizeof(buf)),
			 GRAPH_NAME_NONE);
	assert_string_equal(buf, "10.0.0.99");
	struct graph_key k = key(SVC, 1, 0, IP(10, 0, 0, 20), 5432);

	assert_int_equal(graph_name_client(&n, &k, buf, sizeof(buf)), GRAPH_NAME_SERVICE);
	assert_string_equal(buf, "api");
	k = key(7, 0, 0, IP(10, 0, 0, 20), 5432);
	graph_name_client(&n, &k, buf, sizeof(buf));
	assert_string_equal(buf, "service#7");
	graph_registry_free(r);
	graph_dns_free(d);
}

/* ------------------------------------------------------------------ */
/* Snapshots and golden graphs                                         */

static void
test_snapshots(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64), *b = graph_snap_create(64);
	struct graph_snap *dl = graph_snap_create(64), *small = graph_snap_create(2);
	struct graph_flow_record r;

	for (int i = 0; i < 3; i++) {
		flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 1000 + i);
		flow(t, SVC, 1, IP(10, 1, 0, 2), IP(10, 2, 0, 1), 5432, 2000 + i);
	}
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 2), 443, 3000);
	flow(t, GRAPH_SERVICE_NONE, 0, IP(10, 9, 0, 1), IP(10, 2, 0, 2), 443, 4000);
	r = rec(GRAPH_REC_NEW, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 3), 443, 5000);
	r.stage = 2;
	graph_edges_add(t, &r);

	/* A stage, every cohort: the two cohorts' edge merged. */
	struct graph_filter f = { STAGE, GRAPH_ANY, GRAPH_ANY };

	assert_int_equal(graph_snap_take(t, &f, 10000, s), 3);
	assert_int_equal(s->flows, 8);
	assert_int_equal(s->from_ms, 1000);
	for (uint32_t i = 1; i < s->n; i++)
		assert_true(memcmp(&s->e[i - 1].key, &s->e[i].key, sizeof(struct graph_key)) < 0);
	struct graph_key k = key(SVC, 1, 0, IP(10, 2, 0, 1), 5432);
	const struct graph_snap_edge *e = graph_snap_find(s, &k);

	assert_non_null(e);
	assert_int_equal(e->st.flows, 6);
	assert_int_equal(e->st.first_ms, 1000);
	assert_int_equal(e->st.last_ms, 2022);
	/* One service's canary only. */
	f = (struct graph_filter){ STAGE, SVC, GRAPH_COHORT_CANARY };
	assert_int_equal(graph_snap_take(t, &f, 10000, b), 1);
	assert_int_equal(b->e[0].st.flows, 3);
	assert_int_equal(b->e[0].key.cohort, 0);
	/* Over capacity: the most recent kept, the rest counted. */
	f = (struct graph_filter){ GRAPH_ANY, GRAPH_ANY, GRAPH_ANY };
	assert_int_equal(graph_snap_take(t, &f, 10000, small), 2);
	assert_int_equal(small->truncated, 3);

	/* Delta: what happened after the base. */
	f = (struct graph_filter){ STAGE, SVC, GRAPH_COHORT_CONTROL };
	graph_snap_take(t, &f, 10000, b);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 11000);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 9), 80, 12000);
	graph_snap_take(t, &f, 20000, s);
	assert_int_equal(graph_snap_delta(s, b, dl), 3);
	assert_int_equal(dl->flows, 2);
	assert_int_equal(dl->from_ms, 10000);
	assert_int_equal(dl->taken_ms, 20000);
	k = key(SVC, 0, 0, IP(10, 2, 0, 2), 443);
	assert_int_equal(graph_snap_find(dl, &k)->st.flows, 0);
	assert_int_equal(graph_snap_find(dl, &k)->st.last_ms, 3020);
	graph_snap_free(s);
	graph_snap_free(b);
	graph_snap_free(dl);
	graph_snap_free(small);
	graph_edges_free(t);
}

static void
test_golden_store(void **state)
{
	(void)state;
	struct graph_golden *g = graph_golden_create(3, 8);
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64);
	struct graph_golden_info info[8];
	struct graph_filter f1 = { 1, GRAPH_ANY, GRAPH_ANY }, f2 = { 2, GRAPH_ANY, GRAPH_ANY };
	struct graph_flow_record r;

	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 0);
	graph_snap_take(t, &f1, 1000, s);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, "first"), 1);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 2), 443, 2000);
	graph_snap_take(t, &f1, 3000, s);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_AUTO, "api 2.0 GO"), 2);
	r = rec(GRAPH_REC_NEW, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 3), 443, 4000);
	r.stage = 2;
	graph_edges_add(t, &r);
	graph_snap_take(t, &f2, 5000, s);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, NULL), 1);
	/* Full: stage 1's version 1 goes (not its latest). */
	graph_snap_take(t, &f1, 6000, s);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, "third"), 3);
	assert_int_equal(graph_golden_dropped(g), 1);
	assert_null(graph_golden_get(g, 1, 1));
	assert_int_equal(graph_golden_get(g, 1, 0)->version, 3);
	assert_int_equal(graph_golden_get(g, 1, 2)->n, 2);
	assert_string_equal(graph_golden_get(g, 1, 2)->label, "api 2.0 GO");
	assert_int_equal(graph_golden_list(g, 1, info, 8), 2);
	assert_int_equal(info[0].version, 2);
	assert_int_equal(info[0].origin, GRAPH_GOLDEN_AUTO);
	assert_int_equal(info[1].version, 3);
	assert_int_equal(graph_golden_list(g, GRAPH_ANY, info, 1), 3);
	/* Refused: too many edges, no stage. */
	for (uint32_t i = 0; i < 9; i++)
		flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 5, 0, i), 443, 7000);
	graph_snap_take(t, &f1, 8000, s);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, NULL), -E2BIG);
	struct graph_filter fa = { GRAPH_ANY, GRAPH_ANY, GRAPH_ANY };

	graph_snap_take(t, &fa, 8000, s);
	s->n = 1;
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, NULL), -EINVAL);

	/* graph/diff between two versions lists the edge added. */
	struct graph_diff d;
	struct graph_diff_opts o;

	graph_diff_opts_default(&o);
	o.min_flows = 1;
	graph_diff(graph_golden_get(g, 1, 2), graph_golden_get(g, 1, 3), &o, NULL, &d);
	assert_int_equal(d.count[GRAPH_CHANGE_NEW] + d.count[GRAPH_CHANGE_PENDING], 0);
	graph_snap_free(s);
	graph_edges_free(t);
	graph_golden_free(g);
}

/* Versions read back from a store (out of order) or numbered by it keep
 * their numbers; later saves number after the highest; a version held is
 * refused. */
static void
test_golden_put(void **state)
{
	(void)state;
	struct graph_golden *g = graph_golden_create(4, 8);
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64);
	struct graph_filter f1 = { 1, GRAPH_ANY, GRAPH_ANY };

	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 0);
	graph_snap_take(t, &f1, 1000, s);
	assert_int_equal(graph_golden_put(g, s, 7, GRAPH_GOLDEN_AUTO, "seven"), 7);
	assert_int_equal(graph_golden_put(g, s, 3, GRAPH_GOLDEN_COMMAND, "three"), 3);
	assert_int_equal(graph_golden_get(g, 1, 0)->version, 7);
	assert_string_equal(graph_golden_get(g, 1, 3)->label, "three");
	assert_int_equal(graph_golden_put(g, s, 3, GRAPH_GOLDEN_COMMAND, NULL), -EINVAL);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, NULL), 8);
	assert_int_equal(graph_golden_put(g, s, 0, GRAPH_GOLDEN_COMMAND, NULL), 9);
	assert_int_equal(graph_golden_put(g, s, 1, GRAPH_GOLDEN_ORIGIN_MAX, NULL), -EINVAL);
	graph_snap_free(s);
	graph_edges_free(t);
	graph_golden_free(g);
}

static void
names_of(struct graph_services *n, const char *const *names, unsigned int count)
{
	memset(n, 0, sizeof(*n));
	for (unsigned int i = 0; i < count; i++)
		graph_services_set(n, i, names[i], NULL, NULL);
}

/* A release at GO for the whole bake is due once; a new configuration
 * that reorders, adds and removes services moves each bake with its
 * service (by name): none is inherited by whoever takes its index. */
static void
test_bake_follows_services(void **state)
{
	(void)state;
	static const char *const gen1[] = { "web", "api" };
	static const char *const gen2[] = { "api", "web", "db" };
	static const char *const gen3[] = { "db", "api" };
	struct graph_services before, now;
	struct graph_bake b[8] = { 0 };

	names_of(&before, gen1, 2);
	assert_int_equal(graph_services_find(&before, "api"), 1);
	assert_int_equal(graph_services_find(&before, "db"), -1);
	assert_int_equal(graph_services_find(&before, ""), -1);
	/* api (1) reaches GO at 1000; web (0) is not at GO. */
	assert_false(graph_bake_tick(&b[0], NULL, 1000, 1000));
	assert_false(graph_bake_tick(&b[1], "v2", 1000, 1000));
	assert_false(graph_bake_tick(&b[1], "v2", 1999, 1000));
	/* api moves to 0, web to 1 (its own v2 at GO from 2000 on), db is new. */
	names_of(&now, gen2, 3);
	graph_bakes_follow(b, 8, &before, &now);
	assert_string_equal(b[0].version, "v2");
	assert_int_equal(b[0].go_since_ms, 1000);
	assert_true(graph_bake_tick(&b[0], "v2", 2000, 1000));     /* api: baked */
	assert_false(graph_bake_tick(&b[1], "v2", 2000, 1000));    /* web: starts */
	assert_int_equal(b[1].go_since_ms, 2000);
	assert_int_equal(b[2].go_since_ms, 0);
	assert_string_equal(b[2].version, "");
	b[0].saved = true;
	assert_false(graph_bake_tick(&b[0], "v2", 5000, 1000));    /* once */
	/* web leaves, api moves to 1: still saved; db takes index 0 fresh. */
	before = now;
	names_of(&now, gen3, 2);
	graph_bakes_follow(b, 8, &before, &now);
	assert_true(b[1].saved);
	assert_string_equal(b[1].version, "v2");
	assert_false(graph_bake_tick(&b[1], "v2", 6000, 1000));
	assert_false(b[0].saved);
	assert_int_equal(b[0].go_since_ms, 0);
	assert_false(graph_bake_tick(&b[0], "v1", 6000, 1000));
	assert_true(graph_bake_tick(&b[0], "v1", 7000, 1000));
	/* GO lost: the bake starts again. */
	assert_false(graph_bake_tick(&b[0], NULL, 7100, 1000));
	assert_false(graph_bake_tick(&b[0], "v1", 7200, 1000));
	assert_false(graph_bake_tick(&b[0], "v1", 8100, 1000));
	assert_true(graph_bake_tick(&b[0], "v1", 8200, 1000));
}

/* A store with no database behind it follows a configuration that
 * renumbers stages and services: graphs move to their stage's new index
 * with their versions, client services to theirs; a client service gone
 * leaves its edge out (truncated), a stage gone its graphs. */
static void
test_golden_renumber(void **state)
{
	(void)state;
	struct graph_golden *g = graph_golden_create(4, 8);
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64);
	struct graph_filter f = { STAGE, GRAPH_ANY, GRAPH_ANY };
	uint16_t stage_to[STAGE + 1];
	int16_t svc_to[SVC + 2];
	const struct graph_snap *r;
	struct graph_key k;

	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 1000);
	flow(t, SVC + 1, 0, IP(10, 1, 0, 2), IP(10, 2, 0, 2), 6379, 1000);
	flow(t, GRAPH_SERVICE_NONE, 0, IP(10, 1, 0, 3), IP(10, 2, 0, 3), 80, 1000);
	graph_snap_take(t, &f, 2000, s);
	assert_int_equal(s->n, 3);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, "a"), 1);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, "b"), 2);
	f.stage = 0;
	graph_snap_take(t, &f, 2000, s);
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, "gone"), 1);
	/* Stage STAGE becomes 0, stage 0 is gone; SVC becomes 0, SVC + 1 is gone. */
	for (unsigned int i = 0; i <= STAGE; i++)
		stage_to[i] = GRAPH_ANY;
	stage_to[STAGE] = 0;
	for (unsigned int i = 0; i < SVC + 2; i++)
		svc_to[i] = -1;
	svc_to[SVC] = 0;
	graph_golden_renumber(g, stage_to, STAGE + 1, svc_to, SVC + 2);
	assert_null(graph_golden_get(g, STAGE, 0));
	r = graph_golden_get(g, 0, 0);
	assert_non_null(r);
	assert_int_equal(r->version, 2);
	assert_string_equal(r->label, "b");
	assert_int_equal(r->filter.stage, 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->truncated, 1);
	assert_int_equal(r->flows, 2);
	k = key(0, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432);
	k.stage = 0;
	assert_true(memcmp(&r->e[0].key, &k, sizeof(k)) == 0 ||
		    memcmp(&r->e[1].key, &k, sizeof(k)) == 0);
	for (uint32_t i = 0; i < r->n; i++)
		assert_int_equal(r->e[i].key.stage, 0);
	assert_string_equal(graph_golden_get(g, 0, 1)->label, "a");
	/* Versions go on from the stage's last. */
	assert_int_equal(graph_golden_save(g, s, GRAPH_GOLDEN_COMMAND, NULL), 3);
	graph_snap_free(s);
	graph_edges_free(t);
	graph_golden_free(g);
}

/* A packed graph reads back equal, as another stage index when the
 * configuration numbers its stage differently; a blob that is not one
 * (another layout, cut short) is refused, and so is one too big. */
static void
test_snap_pack(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64), *r = graph_snap_create(64);
	struct graph_snap *small = graph_snap_create(1);
	struct graph_filter f1 = { 1, GRAPH_ANY, GRAPH_ANY };
	struct graph_key k;
	char buf[4096];
	size_t n;

	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 0);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 4000);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 2), 443, 5000);
	graph_snap_take(t, &f1, 6000, s);
	assert_int_equal(s->n, 2);
	n = graph_snap_pack(s, buf, sizeof(buf));
	assert_int_equal(n, graph_snap_packed_size(s));
	assert_int_equal(graph_snap_pack(s, buf, n - 1), 0);
	assert_int_equal(graph_snap_unpack(buf, n, 3, r), 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->filter.stage, 3);
	assert_int_equal(r->flows, s->flows);
	assert_int_equal(r->bytes, s->bytes);
	assert_int_equal(r->from_ms, s->from_ms);
	assert_int_equal(r->taken_ms, 6000);
	for (uint32_t i = 0; i < r->n; i++) {
		assert_int_equal(r->e[i].key.stage, 3);
		assert_int_equal(r->e[i].st.flows, s->e[i].st.flows);
		assert_int_equal(r->e[i].st.max_gap_ms, s->e[i].st.max_gap_ms);
		k = s->e[i].key;
		k.stage = 3;
		assert_ptr_equal(graph_snap_find(r, &k), &r->e[i]);
	}
	assert_int_equal(graph_snap_unpack(buf, n - 1, 3, r), -EINVAL);
	assert_int_equal(graph_snap_unpack(buf, 8, 3, r), -EINVAL);
	assert_int_equal(graph_snap_unpack(NULL, 0, 3, r), -EINVAL);
	assert_int_equal(graph_snap_unpack(buf, n, 3, small), -E2BIG);
	buf[0] ^= 0x5a;
	assert_int_equal(graph_snap_unpack(buf, n, 3, r), -EINVAL);
	graph_snap_free(s);
	graph_snap_free(r);
	graph_snap_free(small);
	graph_edges_free(t);
}

/* Edges filled by hand in any order (read back from storage) are sorted
 * by this build's key order and totalled: each is found again. */
static void
test_snap_sort(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64), *r = graph_snap_create(64);
	struct graph_filter f1 = { 1, GRAPH_ANY, GRAPH_ANY };

	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, 0);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 2), 443, 1000);
	flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 3), 80, 2000);
	graph_snap_take(t, &f1, 3000, s);
	assert_int_equal(s->n, 3);
	for (uint32_t i = 0; i < s->n; i++)
		r->e[i] = s->e[s->n - 1 - i];
	r->n = s->n;
	graph_snap_sort(r);
	assert_int_equal(r->flows, s->flows);
	assert_int_equal(r->bytes, s->bytes);
	for (uint32_t i = 0; i < s->n; i++)
		assert_ptr_equal(graph_snap_find(r, &s->e[i].key), &r->e[i]);
	graph_snap_free(s);
	graph_snap_free(r);
	graph_edges_free(t);
}

/* ------------------------------------------------------------------ */
/* Periodic edges                                                      */

static void
test_periodic_rule(void **state)
{
	(void)state;
	struct graph_diff_opts o;
	uint32_t gap;

	graph_diff_opts_default(&o);
	assert_false(graph_edge_silent(&o, 5 * MIN_MS, 1.0, 7 * MIN_MS, &gap));
	assert_int_equal(gap, 5 * MIN_MS);
	assert_true(graph_edge_silent(&o, 5 * MIN_MS, 1.0, 11 * MIN_MS, NULL));
	/* A view ten times sparser waits ten times longer. */
	assert_false(graph_edge_silent(&o, 5 * MIN_MS, 10.0, 99 * MIN_MS, NULL));
	/* Short gaps are floored. */
	assert_false(graph_edge_silent(&o, 100, 1.0, 119000, &gap));
	assert_int_equal(gap, 60000);
	assert_true(graph_edge_silent(&o, 100, 1.0, 121000, NULL));
}

/* An irregular job (gaps of 1, 4, 2, 1 and 2 s): the golden graph learns
 * its largest gap (not its last nor its mean), and the job's edge is
 * missing exactly once silent for longer than k x that gap (k = 3 here;
 * the gap scaled by how much sparser the later window's traffic is). */
static void
test_periodic_largest_gap(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *gold = graph_snap_create(64), *now = graph_snap_create(64);
	struct graph_snap *win = graph_snap_create(64);
	struct graph_filter f = { STAGE, GRAPH_ANY, GRAPH_ANY };
	static const uint64_t runs[] = { 0, 1000, 5000, 7000, 8000, 10000 };
	const uint32_t job = IP(10, 2, 1, 1), gap = 4000 - 20;   /* END 20 ms after NEW */
	struct graph_diff_opts o;
	struct graph_diff d;
	unsigned int r = 0, quiet = 0, missing = 0;

	graph_diff_opts_default(&o);
	o.k_gap = 3;
	o.min_gap_ms = 1000;
	for (uint64_t ms = 0; ms <= 40000; ms += 500) {
		/* A busy edge all along: the current graph has traffic. */
		flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, ms);
		if (r < sizeof(runs) / sizeof(runs[0]) && runs[r] == ms) {
			flow(t, SVC, 0, IP(10, 1, 0, 1), job, 9000, ms);
			r++;
		}
		if (ms == 10500) {
			graph_snap_take(t, &f, ms, gold);
			assert_int_equal(gold->e[1].key.server_port, 9000);
			assert_int_equal(gold->e[1].st.max_gap_ms, gap);
		}
		if (ms <= 10500)
			continue;
		graph_snap_take(t, &f, ms, now);
		graph_snap_delta(now, gold, win);
		graph_diff(gold, win, &o, NULL, &d);
		/* Silent since the window began (10.5 s). */
		uint64_t silent = ms - 10500;
		bool want = silent > 3 * gap * d.scale;

		assert_true(d.scale >= 1 && d.scale < 3);
		assert_int_equal(graph_edge_silent(&o, gap, d.scale, silent, NULL), want);
		assert_int_equal(d.count[GRAPH_CHANGE_MISSING], want);
		/* Its last gap (2 s) would have flagged it from 6 s on. */
		if (silent > 3 * 2000 && silent <= 3 * gap)
			assert_int_equal(d.count[GRAPH_CHANGE_MISSING], 0);
		if (!want) {
			quiet++;
			continue;
		}
		missing++;
		assert_int_equal(d.list[0].key.server_port, 9000);
		assert_int_equal(d.list[0].gap_ms, (uint32_t)(gap * d.scale));
		assert_int_equal(d.list[0].silent_ms, silent);
	}
	assert_true(quiet > 10 && missing > 10);
	graph_snap_free(gold);
	graph_snap_free(now);
	graph_snap_free(win);
	graph_edges_free(t);
}

/* A stage with a busy edge (one flow a second) and a job every 5
 * minutes; golden after two hours; then the job stops. */
static void
test_periodic_golden(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *gold = graph_snap_create(64), *now = graph_snap_create(64);
	struct graph_snap *win = graph_snap_create(64);
	struct graph_filter f = { STAGE, GRAPH_ANY, GRAPH_ANY };
	struct graph_diff_opts o;
	struct graph_diff d;
	const uint64_t gold_ms = 120 * MIN_MS, last_job = 150 * MIN_MS;
	const uint32_t job = IP(10, 2, 1, 1);
	uint64_t ms = 0;

	graph_diff_opts_default(&o);
	for (uint64_t s = 0; s < 3 * 3600; s++) {
		if (s * 1000 == gold_ms)
			graph_snap_take(t, &f, gold_ms, gold);
		flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, s * 1000);
		if (s % 300 == 0 && s * 1000 <= last_job)
			flow(t, SVC, 0, IP(10, 1, 0, 1), job, 9000, s * 1000);
		ms = s * 1000;
		if (ms != last_job + 7 * MIN_MS && ms != last_job + 11 * MIN_MS)
			continue;
		graph_snap_take(t, &f, ms, now);
		graph_snap_delta(now, gold, win);
		graph_diff(gold, win, &o, NULL, &d);
		if (ms == last_job + 7 * MIN_MS) {
			assert_int_equal(d.count[GRAPH_CHANGE_MISSING], 0);
			continue;
		}
		assert_int_equal(d.count[GRAPH_CHANGE_MISSING], 1);
		assert_int_equal(d.list[0].change, GRAPH_CHANGE_MISSING);
		assert_int_equal(d.list[0].key.server[3], 1);
		assert_int_equal(d.list[0].key.server_port, 9000);
		assert_int_equal(d.list[0].silent_ms, 11 * MIN_MS - 20);
		/* A rare edge weighs little: the score stays far below. */
		assert_false(d.above);
		printf("periodic: missing at 11 min (gap %u ms judged), score %.4f\n",
		       d.list[0].gap_ms, d.score);
	}
	graph_snap_free(gold);
	graph_snap_free(now);
	graph_snap_free(win);
	graph_edges_free(t);
}

/* ------------------------------------------------------------------ */
/* Diff details                                                        */

static void
test_diff_changed(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *a = graph_snap_create(64), *b = graph_snap_create(64);
	struct graph_filter f = { STAGE, SVC, GRAPH_COHORT_CONTROL };
	struct graph_diff_opts o;
	struct graph_diff d;

	graph_diff_opts_default(&o);
	for (int i = 0; i < 100; i++)
		flow(t, SVC, 0, IP(10, 1, 0, 1), IP(10, 2, 0, 1), 5432, i * 1000);
	graph_snap_take(t, &f, 100000, a);
	graph_snap_copy(b, a);
	b->e[0].st.errors = 20;             /* 0 % -> 20 % */
	b->e[0].st.rtt_avg_us = 900;        /* 300 us -> 900 us */
	graph_diff(a, b, &o, NULL, &d);
	assert_int_equal(d.count[GRAPH_CHANGE_CHANGED], 1);
	assert_int_equal(d.list[0].why, GRAPH_CHG_ERRORS | GRAPH_CHG_LATENCY);
	assert_true(d.score == 0);
	assert_int_equal(d.mode, GRAPH_DEV_NONE);
	assert_string_equal(graph_change_names[GRAPH_CHANGE_CHANGED], "changed");
	graph_snap_free(a);
	graph_snap_free(b);
	graph_edges_free(t);
}

/* ------------------------------------------------------------------ */
/* Simulations                                                         */

#define N_SERVERS 40
#define DB IP(10, 2, 0, 1)
#define JOB IP(10, 2, 1, 1)
#define EXFIL IP(203, 0, 113, 9)

struct sim {
	double rate;              /* flows per second, both cohorts */
	double share;             /* canary's share */
	uint64_t warm_ms;         /* control alone before the canary */
	uint64_t window_ms;       /* canary and control */
	uint64_t step_ms;         /* evaluate every step */
	double canary_new;        /* canary's share of flows to EXFIL */
	bool canary_drops_db;
	bool canary_scans;        /* one flow to each of 50 new servers */
};

struct sim_result {
	uint32_t evals, above;
	double max_score, golden_max;
	uint32_t golden_above;
	struct graph_diff last, golden, worst;
};

/* Server weights: the database 35 %, the rest Zipf(1.2). */
static void
weights(double cum[N_SERVERS])
{
	double z = 0, w[N_SERVERS];

	for (int i = 1; i < N_SERVERS; i++)
		z += w[i] = 1.0 / pow(i, 1.2);
	w[0] = 0.35;
	for (int i = 1; i < N_SERVERS; i++)
		w[i] *= 0.65 / z;
	for (int i = 0; i < N_SERVERS; i++)
		cum[i] = w[i] + (i ? cum[i - 1] : 0);
}

static int
pick(const double cum[N_SERVERS], uint64_t *seed)
{
	double u = uniform(seed) * cum[N_SERVERS - 1];

	for (int i = 0; i < N_SERVERS; i++)
		if (u < cum[i])
			return i;
	return N_SERVERS - 1;
}

static uint16_t
port_of(int server)
{
	return server == 0 ? 5432 : 443;
}

static void
sim_run(const struct sim *c, uint64_t seed, struct graph_edges *t, struct graph_watch *w,
	struct graph_snap *gold, struct graph_snap *now, struct graph_snap *win,
	const struct graph_services *names, struct sim_result *res)
{
	struct graph_diff_opts o;
	struct graph_filter f = { STAGE, SVC, GRAPH_ANY };
	double cum[N_SERVERS], ms = 0;
	uint64_t end = c->warm_ms + c->window_ms, next_eval = c->warm_ms + c->step_ms;
	uint64_t job_at[2];
	bool started = false, scanned = false;

	graph_diff_opts_default(&o);
	weights(cum);
	graph_edges_clear(t);
	memset(res, 0, sizeof(*res));
	/* Each cohort's instances run a job every 5 minutes (+-20 s). */
	job_at[0] = (uint64_t)(uniform(&seed) * 300000);
	job_at[1] = c->warm_ms + (uint64_t)(uniform(&seed) * 300000);
	for (;;) {
		ms += -log(1.0 - uniform(&seed)) * 1000.0 / c->rate;
		uint64_t ts = (uint64_t)ms;

		if (!started && ts >= c->warm_ms) {
			graph_snap_take(t, &f, c->warm_ms, gold);
			graph_watch_start(w, t, STAGE, SVC, c->warm_ms);
			started = true;
		}
		while (started && next_eval <= end && ts >= next_eval) {
			graph_watch_eval(w, t, &o, names, next_eval, &res->last);
			res->evals++;
			res->above += res->last.above;
			if (res->last.score > res->max_score) {
				res->max_score = res->last.score;
				res->worst = res->last;
			}
			next_eval += c->step_ms;
		}
		if (ts >= end)
			break;
		for (int co = 0; co < 2; co++)
			while (job_at[co] <= ts) {
				flow(t, SVC, (uint8_t)co, IP(10, 1, co, 1), JOB, 9000, job_at[co]);
				job_at[co] += 280000 + (uint64_t)(uniform(&seed) * 40000);
			}
		uint8_t cohort = started && uniform(&seed) < c->share;
		int s = pick(cum, &seed);

		if (cohort && c->canary_drops_db)
			while (s == 0)
				s = pick(cum, &seed);
		if (cohort && uniform(&seed) < c->canary_new) {
			flow(t, SVC, 1, IP(10, 1, 1, 1), EXFIL, 443, ts);
			continue;
		}
		flow(t, SVC, cohort, IP(10, 1, cohort, 1), DB + (uint32_t)s, port_of(s), ts);
		if (cohort && c->canary_scans && !scanned && ts >= c->warm_ms + c->window_ms / 2) {
			for (uint32_t i = 0; i < 50; i++)
				flow(t, SVC, 1, IP(10, 1, 1, 1), IP(198, 51, 100, 1 + i), 22,
				     ts + i);
			scanned = true;
		}
	}
	/* The second signal: the service's graph against its golden one. */
	graph_snap_take(t, &f, end, now);
	graph_snap_delta(now, gold, win);
	graph_diff(gold, win, &o, names, &res->golden);
	res->golden_max = res->golden.score;
	res->golden_above = res->golden.above;
}

struct sim_env {
	struct graph_edges *t;
	struct graph_watch *w;
	struct graph_snap *gold, *now, *win;
	struct graph_services names;
};

static int
sim_setup(void **state)
{
	struct sim_env *e = calloc(1, sizeof(*e));

	e->t = graph_edges_create(4096);
	e->w = graph_watch_create(4096);
	e->gold = graph_snap_create(4096);
	e->now = graph_snap_create(4096);
	e->win = graph_snap_create(4096);
	graph_services_set(&e->names, SVC, "api", "1.9", "2.0");
	*state = e;
	return 0;
}

static int
sim_teardown(void **state)
{
	struct sim_env *e = *state;

	graph_edges_free(e->t);
	graph_watch_free(e->w);
	graph_snap_free(e->gold);
	graph_snap_free(e->now);
	graph_snap_free(e->win);
	free(e);
	return 0;
}

static void
run(struct sim_env *e, const struct sim *c, uint64_t seed, struct sim_result *r)
{
	sim_run(c, seed, e->t, e->w, e->gold, e->now, e->win, &e->names, r);
}

static const struct sim base_sim = {
	.rate = 10, .share = 0.1, .warm_ms = 10 * MIN_MS, .window_ms = 30 * MIN_MS,
	.step_ms = 5 * MIN_MS,
};

static void
test_sim_clean(void **state)
{
	struct sim_env *e = *state;
	struct sim_result r;
	uint32_t evals = 0, above = 0, golden_above = 0, runs = 500;
	double max_score = 0, golden_max = 0, max_share = 0;
	uint64_t seed = 42, scored_edges = 0;
	struct graph_diff worst = { 0 };

	for (uint32_t i = 0; i < runs; i++) {
		struct sim c = base_sim;

		c.rate = 2 + uniform(&seed) * 18;
		c.share = 0.05 + uniform(&seed) * 0.45;
		run(e, &c, 1000 + i, &r);
		evals += r.evals;
		above += r.above;
		golden_above += r.golden_above;
		scored_edges += r.last.count[GRAPH_CHANGE_NEW] + r.last.count[GRAPH_CHANGE_MISSING];
		if (r.max_score > max_score) {
			max_score = r.max_score;
			max_share = c.share;
			worst = r.worst;
		}
		golden_max = fmax(golden_max, r.golden_max);
	}
	printf("clean: %u runs, %u canary evaluations, %u above 20 %% (max score %.4f at share "
	       "%.2f); golden: %u above (max %.4f)\n", runs, evals, above, max_score, max_share,
	       golden_above, golden_max);
	printf("clean: worst evaluation: %u new, %u missing (new %.4f, missing %.4f, scale %.1f); "
	       "%" PRIu64 " new or missing edges over the last evaluations of all runs\n",
	       worst.count[GRAPH_CHANGE_NEW], worst.count[GRAPH_CHANGE_MISSING], worst.new_share,
	       worst.missing_share, worst.scale, scored_edges);
	for (uint32_t i = 0; i < worst.n_listed && i < 3; i++)
		printf("clean:   %s server .%u:%u ref %" PRIu64 " cur %" PRIu64
		       " flows, weight %.4f\n",
		       graph_change_names[worst.list[i].change], worst.list[i].key.server[3],
		       worst.list[i].key.server_port, worst.list[i].ref_flows,
		       worst.list[i].cur_flows, worst.list[i].weight);
	assert_int_equal(above, 0);
	assert_int_equal(golden_above, 0);
}

static void
test_sim_scan(void **state)
{
	struct sim_env *e = *state;
	struct sim c = base_sim;
	struct sim_result r;

	c.canary_scans = true;
	run(e, &c, 7, &r);
	assert_int_equal(r.above, 0);
	assert_int_equal(r.last.count[GRAPH_CHANGE_PENDING], 50);
	assert_int_equal(r.last.count[GRAPH_CHANGE_NEW], 0);
	assert_false(r.golden.above);
	printf("scan: 50 one-flow edges pending, canary score %.4f, golden score %.4f\n",
	       r.max_score, r.golden.score);
}

static void
test_sim_new_heavy_edge(void **state)
{
	struct sim_env *e = *state;
	struct sim c = base_sim;
	struct sim_result r;

	c.canary_new = 0.3;
	run(e, &c, 8, &r);
	assert_true(r.last.above);
	assert_true(r.last.score > 0.2);
	assert_int_equal(r.last.mode, GRAPH_DEV_SECURITY);
	assert_int_equal(r.last.service, SVC);
	assert_int_equal(r.last.cohort, GRAPH_COHORT_CANARY);
	assert_string_equal(r.last.service_name, "api");
	assert_string_equal(r.last.version, "2.0");
	assert_int_equal(r.last.list[0].change, GRAPH_CHANGE_NEW);
	assert_int_equal(r.last.list[0].key.server[0], 203);
	assert_int_equal(r.last.list[0].key.cohort, GRAPH_COHORT_CANARY);
	/* The golden graph sees it too, and blames the same service. */
	assert_true(r.golden.score > 0);
	assert_int_equal(r.golden.service, SVC);
	printf("new heavy edge: canary score %.3f (%s, %s %s), golden score %.3f\n",
	       r.last.score, graph_dev_mode_name(r.last.mode), r.last.service_name,
	       r.last.version, r.golden.score);
}

static void
test_sim_drops_db(void **state)
{
	struct sim_env *e = *state;
	struct sim c = base_sim;
	struct sim_result r;

	c.canary_drops_db = true;
	run(e, &c, 9, &r);
	assert_true(r.last.above);
	assert_int_equal(r.last.mode, GRAPH_DEV_OUTAGE);
	assert_string_equal(r.last.version, "2.0");
	assert_int_equal(r.last.list[0].change, GRAPH_CHANGE_MISSING);
	assert_int_equal(r.last.list[0].key.server_port, 5432);
	assert_true(r.last.missing_share > 0.3);
	printf("dropped db: canary score %.3f (%s), missing share %.3f, gap judged %u ms\n",
	       r.last.score, graph_dev_mode_name(r.last.mode), r.last.missing_share,
	       r.last.list[0].gap_ms);
}

/* ------------------------------------------------------------------ */
/* DOT                                                                 */

static int
snap_edge_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct graph_snap_edge *)a)->key,
		      &((const struct graph_snap_edge *)b)->key, sizeof(struct graph_key));
}

static void
test_dot(void **state)
{
	(void)state;
	struct graph_edges *t = graph_edges_create(64);
	struct graph_snap *s = graph_snap_create(64), *ref = graph_snap_create(64);
	struct graph_registry *reg_ = graph_registry_create(8);
	struct graph_dns *d = dns_new(8);
	struct graph_services svc = { 0 };
	struct graph_dns_answer a;
	struct graph_reg_entry db = reg("db", IP(10, 2, 0, 1), 5432, 600);
	struct graph_filter f = { STAGE, GRAPH_ANY, GRAPH_COHORT_CANARY };
	const char *name;
	char *text = NULL;
	size_t len = 0;

	graph_services_set(&svc, SVC, "api", "1.9", "2.0");
	graph_registry_register(reg_, &db, GRAPH_REG_API, 0);
	answer(&a, "pay.example.com", 0);
	rr_a(&a, "pay.example.com", IP(10, 2, 0, 2), 600);
	graph_dns_add_answer(d, &a);
	answer(&a, "old.example.com", 0);
	rr_a(&a, "old.example.com", IP(10, 2, 0, 3), 10);
	graph_dns_add_answer(d, &a);
	lookup(d, IP(10, 2, 0, 3), 5000, GRAPH_DNS_NEW_FLOW, &name);
	answer(&a, "evil\"name\\x.example", 0);
	rr_a(&a, "evil\"name\\x.example", IP(10, 2, 0, 5), 600);
	graph_dns_add_answer(d, &a);
	for (uint32_t i = 1; i <= 5; i++) {
		flow(t, SVC, 1, IP(10, 1, 0, 1), IP(10, 2, 0, i), i == 1 ? 5432 : 443, 1000 * i);
		flow(t, SVC, 1, IP(10, 1, 0, 1), IP(10, 2, 0, i), i == 1 ? 5432 : 443, 100000);
	}
	graph_snap_take(t, &f, 100100, s);
	/* A reference with an edge the canary lost, for the marks. */
	graph_snap_copy(ref, s);
	ref->e[ref->n] = ref->e[0];
	ref->e[ref->n].key.server[3] = 77;
	ref->e[ref->n].st.max_gap_ms = 1000;
	ref->n++;
	qsort(ref->e, ref->n, sizeof(ref->e[0]), snap_edge_cmp);
	struct graph_diff_opts o;
	struct graph_diff marks;

	graph_diff_opts_default(&o);
	o.min_flows = 1;
	o.now_ms = 150000;
	graph_diff(ref, s, &o, &svc, &marks);
	assert_int_equal(marks.count[GRAPH_CHANGE_MISSING], 1);
	struct graph_namer n = { .services = &svc, .registry = reg_, .dns = d, .now_ms = 20000 };
	FILE *fp = open_memstream(&text, &len);

	assert_int_equal(graph_dot_write(fp, s, &n, &marks), 0);
	fclose(fp);
	assert_non_null(strstr(text, "digraph \"stage 1\""));
	assert_non_null(strstr(text, "label=\"api\\ncanary 2.0\""));
	assert_non_null(strstr(text, "label=\"db\\n10.2.0.1:5432/6\""));
	assert_non_null(strstr(text, "label=\"pay.example.com\\n10.2.0.2:443/6\""));
	assert_non_null(strstr(text, "old.example.com\\n10.2.0.3:443/6\\n(stale name)"));
	assert_non_null(strstr(text, "label=\"10.2.0.4\\nport 443/6\\n(no name)\""));
	assert_non_null(strstr(text, "evil\\\"name\\\\x.example"));
	assert_non_null(strstr(text, "\"c:svc:3\" -> \"s:10.2.0.1:5432/6\" "
				     "[label=\"2 flows\\n3000 B"));
	assert_non_null(strstr(text, "\"c:svc:3\" -> \"s:10.2.0.77:5432/6\" [label=\"missing\", "
				     "style=dashed"));
	assert_null(strstr(text, "B\\n0 err 0 rst\", style=dashed"));
	if (getenv("GRAPH_DOT"))
		fputs(text, stdout);
	free(text);
	graph_snap_free(s);
	graph_snap_free(ref);
	graph_registry_free(reg_);
	graph_dns_free(d);
	graph_edges_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_stats),
		cmocka_unit_test(test_edge_keys),
		cmocka_unit_test(test_edge_million),
		cmocka_unit_test(test_wire_a_aaaa),
		cmocka_unit_test(test_wire_cname_chain),
		cmocka_unit_test(test_wire_refused),
		cmocka_unit_test(test_wire_hostile),
		cmocka_unit_test(test_wire_truncated_and_fuzzed),
		cmocka_unit_test(test_dns_ttl),
		cmocka_unit_test(test_dns_cname_chain),
		cmocka_unit_test(test_dns_stale_in_use),
		cmocka_unit_test(test_dns_stale_cap),
		cmocka_unit_test(test_dns_capacity),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_namer),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_golden_store),
		cmocka_unit_test(test_golden_put),
		cmocka_unit_test(test_snap_pack),
		cmocka_unit_test(test_snap_sort),
		cmocka_unit_test(test_periodic_rule),
		cmocka_unit_test(test_periodic_largest_gap),
		cmocka_unit_test(test_periodic_golden),
		cmocka_unit_test(test_diff_changed),
		cmocka_unit_test_setup_teardown(test_sim_clean, sim_setup, sim_teardown),
		cmocka_unit_test_setup_teardown(test_sim_scan, sim_setup, sim_teardown),
		cmocka_unit_test_setup_teardown(test_sim_new_heavy_edge, sim_setup, sim_teardown),
		cmocka_unit_test_setup_teardown(test_sim_drops_db, sim_setup, sim_teardown),
		cmocka_unit_test(test_dot),
		cmocka_unit_test(test_bake_follows_services),
		cmocka_unit_test(test_golden_renumber),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
