/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The edge table: records in, per-edge counters out. Edges live in one
 * preallocated array (112 bytes each) behind an open-addressing index
 * (two buckets of 4 bytes per edge) and on an LRU list of sightings, so
 * a full table evicts the least recently sighted edge in O(1).
 */
#include <string.h>

#include "graph.h"
#include "graph_private.h"

struct edge {
	struct graph_key key;
	struct graph_edge_stats st;
	uint32_t hash;
	uint32_t prev, next;      /* LRU */
};

struct graph_edges {
	struct edge *e;
	uint32_t cap, used;       /* slots 0 .. used-1 hold edges */
	struct gx_index ix;
	struct gx_lru lru;
	uint64_t records, invalid, inserted, evicted;
};

const char *const graph_record_kind_names[GRAPH_REC_MAX] = {
#define KIND_NAME(id, name) name,
	GRAPH_RECORD_KINDS(KIND_NAME)
#undef KIND_NAME
};

static uint32_t
edge_hash_of(const void *ctx, uint32_t slot)
{
	return ((const struct graph_edges *)ctx)->e[slot].hash;
}

struct graph_edges *
graph_edges_create(uint32_t capacity)
{
	if (capacity == 0 || capacity > (1u << 30))
		return NULL;
	struct graph_edges *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap = capacity;
	t->e = calloc(capacity, sizeof(*t->e));
	if (!t->e || gx_init(&t->ix, capacity) < 0) {
		graph_edges_free(t);
		return NULL;
	}
	t->lru = (struct gx_lru)GX_LRU_INIT;
	return t;
}

void
graph_edges_free(struct graph_edges *t)
{
	if (!t)
		return;
	gx_fini(&t->ix);
	free(t->e);
	free(t);
}

void
graph_edges_clear(struct graph_edges *t)
{
	gx_clear(&t->ix);
	t->used = 0;
	t->lru = (struct gx_lru)GX_LRU_INIT;
}

int
graph_key_of(const struct graph_flow_record *r, struct graph_key *k)
{
	size_t alen = r->family == 4 ? 4 : r->family == 6 ? 16 : 0;

	if (!alen)
		return -1;
	/* Zero first: keys are hashed and compared as bytes. */
	memset(k, 0, sizeof(*k));
	k->family = r->family;
	k->proto = r->proto;
	k->stage = r->stage;
	k->server_port = r->server_port;
	memcpy(k->server, r->server_ip, alen);
	if (r->service != GRAPH_SERVICE_NONE) {
		k->client_kind = GRAPH_CLIENT_SERVICE;
		k->client[0] = r->service;
		k->cohort = r->cohort;
	} else {
		k->client_kind = GRAPH_CLIENT_ADDR;
		memcpy(k->client, r->client_ip, alen);
		/* Cohorts belong to services: an anonymous client has none. */
		k->cohort = 0;
	}
	return 0;
}

static uint32_t
lookup(const struct graph_edges *t, const struct graph_key *k, uint32_t h)
{
	for (uint32_t p = gx_first(&t->ix, h); t->ix.b[p]; p = gx_next(&t->ix, p)) {
		uint32_t s = t->ix.b[p] - 1;

		if (t->e[s].hash == h && memcmp(&t->e[s].key, k, sizeof(*k)) == 0)
			return s;
	}
	return GX_NIL;
}

/* A slot for a new edge: a never-used one, else the LRU tail's. */
static uint32_t
take_slot(struct graph_edges *t)
{
	if (t->used < t->cap)
		return t->used++;
	uint32_t s = t->lru.tail;

	GX_LRU_UNLINK(&t->lru, t->e, s, prev, next);
	gx_remove(&t->ix, t->e[s].hash, s, edge_hash_of, t);
	t->evicted++;
	return s;
}

static uint32_t
insert(struct graph_edges *t, const struct graph_key *k, uint32_t h, uint64_t now_ms)
{
	uint32_t s = take_slot(t);
	struct edge *e = &t->e[s];

	e->key = *k;
	e->hash = h;
	e->st = (struct graph_edge_stats){ .first_ms = now_ms, .last_ms = now_ms };
	gx_insert(&t->ix, h, s);
	GX_LRU_PUSH(&t->lru, t->e, s, prev, next);
	t->inserted++;
	return s;
}

static uint32_t
sat32_add(uint32_t a, uint32_t b)
{
	return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

/* A sighting: the gap since the last one, which only ever grows. Records
 * of one edge come from several workers, so one may be a little older
 * than the last sighting; it is not a gap. */
static void
sighting(struct graph_edge_stats *st, uint64_t ts)
{
	if (ts <= st->last_ms)
		return;
	uint64_t gap = ts - st->last_ms;

	if (gap > st->max_gap_ms)
		st->max_gap_ms = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
	st->last_ms = ts;
}

static void
account(struct graph_edge_stats *st, const struct graph_flow_record *r)
{
	sighting(st, r->ts_ms);
	st->bytes += r->bytes;
	switch (r->kind) {
	case GRAPH_REC_NEW:
		st->flows++;
		st->active = sat32_add(st->active, 1);
		break;
	case GRAPH_REC_END:
		if (st->active)
			st->active--;
		st->errors = sat32_add(st->errors, r->error ? 1 : 0);
		st->resets = sat32_add(st->resets, r->reset ? 1 : 0);
		break;
	default:
		break;
	}
	if (r->rtt_us) {
		/* avg += (x - avg) / 8, in integers: an EWMA that needs no history. */
		int64_t avg = st->rtt_avg_us ? st->rtt_avg_us : r->rtt_us;

		avg += ((int64_t)r->rtt_us - avg) / 8;
		st->rtt_avg_us = (uint32_t)avg;
		if (r->rtt_us > st->rtt_max_us)
			st->rtt_max_us = r->rtt_us;
	}
}

int
graph_edges_add(struct graph_edges *t, const struct graph_flow_record *r)
{
	struct graph_key k;

	if (r->kind >= GRAPH_REC_MAX || graph_key_of(r, &k) < 0) {
		t->invalid++;
		return -1;
	}
	t->records++;
	uint32_t h = gx_hash(&k, sizeof(k));
	uint32_t s = lookup(t, &k, h);

	if (s == GX_NIL) {
		s = insert(t, &k, h, r->ts_ms);
	} else if (t->lru.head != s) {
		GX_LRU_UNLINK(&t->lru, t->e, s, prev, next);
		GX_LRU_PUSH(&t->lru, t->e, s, prev, next);
	}
	account(&t->e[s].st, r);
	return 0;
}

const struct graph_edge_stats *
graph_edges_find(const struct graph_edges *t, const struct graph_key *k)
{
	uint32_t s = lookup(t, k, gx_hash(k, sizeof(*k)));

	return s == GX_NIL ? NULL : &t->e[s].st;
}

void
graph_edges_info(const struct graph_edges *t, struct graph_edges_info *info)
{
	*info = (struct graph_edges_info){
		.count = t->used, .capacity = t->cap,
		.records = t->records, .invalid = t->invalid,
		.inserted = t->inserted, .evicted = t->evicted,
		.memory_bytes = sizeof(*t) + (size_t)t->cap * sizeof(*t->e) + gx_bytes(&t->ix),
	};
}

int
graph_edges_foreach(const struct graph_edges *t,
		    int (*fn)(void *ctx, const struct graph_key *k,
			      const struct graph_edge_stats *s),
		    void *ctx)
{
	for (uint32_t s = t->lru.head; s != GX_NIL; s = t->e[s].next) {
		int rc = fn(ctx, &t->e[s].key, &t->e[s].st);

		if (rc)
			return rc;
	}
	return 0;
}
