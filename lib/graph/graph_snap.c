/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshots: a filtered copy of the edge table as an array sorted by key,
 * so two graphs compare by one merge walk and a golden graph is one
 * compact block. Keys in a snapshot carry cohort 0: a snapshot is of one
 * cohort (or of all merged), which its filter says.
 */
#include <errno.h>
#include <string.h>

#include "graph.h"
#include "graph_private.h"

struct graph_snap *
graph_snap_create(uint32_t cap)
{
	if (cap == 0 || cap > (1u << 30))
		return NULL;
	struct graph_snap *s = calloc(1, sizeof(*s) + (size_t)cap * sizeof(s->e[0]));

	if (s)
		s->cap = cap;
	return s;
}

void
graph_snap_free(struct graph_snap *s)
{
	free(s);
}

static int
key_cmp(const struct graph_key *a, const struct graph_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

static int
edge_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct graph_snap_edge *)a)->key,
		       &((const struct graph_snap_edge *)b)->key);
}

static bool
filter_match(const struct graph_filter *f, const struct graph_key *k)
{
	if (f->stage != GRAPH_ANY && k->stage != f->stage)
		return false;
	if (f->service != GRAPH_ANY &&
	    (k->client_kind != GRAPH_CLIENT_SERVICE || k->client[0] != f->service))
		return false;
	return f->cohort == GRAPH_ANY || k->cohort == f->cohort;
}

/* Fold @p b into @p a: the same edge seen by two cohorts. */
static void
merge_stats(struct graph_edge_stats *a, const struct graph_edge_stats *b)
{
	uint64_t fa = a->flows, fb = b->flows;

	if (a->rtt_avg_us && b->rtt_avg_us && fa + fb)
		a->rtt_avg_us = (uint32_t)((a->rtt_avg_us * fa + b->rtt_avg_us * fb) / (fa + fb));
	else if (!a->rtt_avg_us)
		a->rtt_avg_us = b->rtt_avg_us;
	a->flows += fb;
	a->bytes += b->bytes;
	a->first_ms = b->first_ms < a->first_ms ? b->first_ms : a->first_ms;
	a->last_ms = b->last_ms > a->last_ms ? b->last_ms : a->last_ms;
	a->errors += b->errors;
	a->resets += b->resets;
	a->rtt_max_us = b->rtt_max_us > a->rtt_max_us ? b->rtt_max_us : a->rtt_max_us;
	a->max_gap_ms = b->max_gap_ms > a->max_gap_ms ? b->max_gap_ms : a->max_gap_ms;
	a->active += b->active;
}

/* Totals over the edges @p s holds. */
static void
sum_totals(struct graph_snap *s)
{
	s->flows = s->bytes = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		s->flows += s->e[i].st.flows;
		s->bytes += s->e[i].st.bytes;
	}
}

struct take_ctx {
	const struct graph_filter *f;
	struct graph_snap *s;
};

static int
take_one(void *ctx, const struct graph_key *k, const struct graph_edge_stats *st)
{
	struct take_ctx *c = ctx;
	struct graph_snap *s = c->s;

	if (!filter_match(c->f, k))
		return 0;
	/* Most recently sighted first: a full snapshot leaves out the oldest. */
	if (s->n == s->cap) {
		s->truncated++;
		return 0;
	}
	s->e[s->n].key = *k;
	s->e[s->n].key.cohort = 0;
	s->e[s->n].st = *st;
	s->n++;
	return 0;
}

/* Sort, merge equal keys, and sum the totals. */
static void
finish(struct graph_snap *s)
{
	uint32_t w = 0;

	qsort(s->e, s->n, sizeof(s->e[0]), edge_cmp);
	for (uint32_t i = 0; i < s->n; i++) {
		if (w && key_cmp(&s->e[w - 1].key, &s->e[i].key) == 0)
			merge_stats(&s->e[w - 1].st, &s->e[i].st);
		else
			s->e[w++] = s->e[i];
	}
	s->n = w;
	sum_totals(s);
}

uint32_t
graph_snap_take(const struct graph_edges *t, const struct graph_filter *f, uint64_t now_ms,
		struct graph_snap *s)
{
	struct take_ctx c = { f, s };

	s->filter = *f;
	s->n = s->truncated = s->version = 0;
	s->origin = 0;
	s->label[0] = '\0';
	graph_edges_foreach(t, take_one, &c);
	finish(s);
	s->taken_ms = now_ms;
	s->from_ms = now_ms;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->e[i].st.first_ms < s->from_ms)
			s->from_ms = s->e[i].st.first_ms;
	return s->n;
}

static uint64_t
sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* cur minus base for one edge; an edge made again after base (evicted in
 * between) counts whole. */
static void
delta_stats(struct graph_edge_stats *o, const struct graph_edge_stats *b, uint64_t base_ms)
{
	if (o->first_ms > base_ms)
		return;
	o->flows = sub_sat(o->flows, b->flows);
	o->bytes = sub_sat(o->bytes, b->bytes);
	o->errors = (uint32_t)sub_sat(o->errors, b->errors);
	o->resets = (uint32_t)sub_sat(o->resets, b->resets);
}

uint32_t
graph_snap_delta(const struct graph_snap *cur, const struct graph_snap *base,
		 struct graph_snap *out)
{
	uint32_t j = 0;

	out->filter = cur->filter;
	out->n = out->truncated = out->version = 0;
	out->origin = 0;
	out->label[0] = '\0';
	for (uint32_t i = 0; i < cur->n; i++) {
		const struct graph_snap_edge *c = &cur->e[i];

		if (out->n == out->cap) {
			out->truncated += cur->n - i;
			break;
		}
		while (j < base->n && key_cmp(&base->e[j].key, &c->key) < 0)
			j++;
		struct graph_snap_edge *o = &out->e[out->n++];

		*o = *c;
		if (j < base->n && key_cmp(&base->e[j].key, &c->key) == 0)
			delta_stats(&o->st, &base->e[j].st, base->taken_ms);
	}
	out->truncated += cur->truncated;
	sum_totals(out);
	out->from_ms = base->taken_ms;
	out->taken_ms = cur->taken_ms;
	return out->n;
}

void
graph_snap_copy(struct graph_snap *dst, const struct graph_snap *src)
{
	uint32_t cap = dst->cap, n = src->n < cap ? src->n : cap;

	memcpy(dst, src, sizeof(*dst));
	dst->cap = cap;
	dst->n = n;
	dst->truncated = src->truncated + (src->n - n);
	memcpy(dst->e, src->e, (size_t)n * sizeof(src->e[0]));
	if (n < src->n)
		sum_totals(dst);
}

void
graph_snap_sort(struct graph_snap *s)
{
	qsort(s->e, s->n, sizeof(s->e[0]), edge_cmp);
	sum_totals(s);
}

const struct graph_snap_edge *
graph_snap_find(const struct graph_snap *s, const struct graph_key *k)
{
	struct graph_snap_edge probe = { .key = *k };

	probe.key.cohort = 0;
	return bsearch(&probe, s->e, s->n, sizeof(s->e[0]), edge_cmp);
}

/* A packed snapshot: this header, then the edges as in memory. The
 * magic carries the edge layout's size, so a build with another layout
 * refuses the blob rather than misreading it. */
#define SNAP_MAGIC (0x55475300u | (uint32_t)sizeof(struct graph_snap_edge))

struct snap_packed {
	uint32_t magic;
	uint32_t n;
	uint16_t service, cohort;
	uint32_t truncated;
	uint64_t from_ms, taken_ms;
};

size_t
graph_snap_packed_size(const struct graph_snap *s)
{
	return sizeof(struct snap_packed) + (size_t)s->n * sizeof(s->e[0]);
}

size_t
graph_snap_pack(const struct graph_snap *s, void *buf, size_t len)
{
	struct snap_packed h = {
		.magic = SNAP_MAGIC, .n = s->n, .service = s->filter.service,
		.cohort = s->filter.cohort, .truncated = s->truncated,
		.from_ms = s->from_ms, .taken_ms = s->taken_ms,
	};

	if (len < graph_snap_packed_size(s))
		return 0;
	memcpy(buf, &h, sizeof(h));
	memcpy((char *)buf + sizeof(h), s->e, (size_t)s->n * sizeof(s->e[0]));
	return graph_snap_packed_size(s);
}

int
graph_snap_unpack(const void *buf, size_t len, uint16_t stage, struct graph_snap *s)
{
	struct snap_packed h;

	if (buf == NULL || len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != SNAP_MAGIC || len != sizeof(h) + (size_t)h.n * sizeof(s->e[0]))
		return -EINVAL;
	if (h.n > s->cap)
		return -E2BIG;
	s->filter = (struct graph_filter){ .stage = stage, .service = h.service,
					   .cohort = h.cohort };
	s->n = h.n;
	s->truncated = h.truncated;
	s->from_ms = h.from_ms;
	s->taken_ms = h.taken_ms;
	s->version = 0;
	s->origin = 0;
	s->label[0] = '\0';
	memcpy(s->e, (const char *)buf + sizeof(h), (size_t)h.n * sizeof(s->e[0]));
	/* The stage's index is this configuration's; keys stay sorted (one
	 * stage throughout). */
	for (uint32_t i = 0; i < s->n; i++)
		s->e[i].key.stage = stage;
	sum_totals(s);
	return 0;
}
