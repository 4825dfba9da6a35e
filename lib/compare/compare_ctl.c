/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half: pairing the records of one exchange (production,
 * shadow, control) and counting, per profile and endpoint, what matched.
 * Single threaded, no EAL. All memory is taken by compare_create and
 * bounded by struct compare_limits; nothing is allocated per record.
 *
 * Pending exchanges: a pool of pending_max entries, found by an
 * open-addressing index keyed by (flow_id, exchange) (linear probing, at
 * most half full, backward-shift deletion so no tombstones pile up), and
 * linked in the order they were opened. The head of that list is the
 * oldest: the one evicted when the pool is full, and the first to time out
 * (timeouts run from an exchange's first record, so expiry walks from the
 * head and stops at the first exchange still in time).
 *
 * Endpoints: per profile, endpoints_max slots plus "(other)" for any new
 * endpoint once they are taken, found by a second open-addressing index on
 * the key ("GET /api/x", a DNS name, "port 53"). Endpoints are only added;
 * compare_reset clears them all at once.
 *
 * Evidence: chunks of answer heads (struct compare_chunk, from the flows
 * that carry evidence) are assembled into a ring of heads_max slots, found
 * by a third index on (flow_id, exchange, side); the oldest is reused when
 * the ring is full. A mismatch sample copies the heads of its production
 * and shadow answers while they are still there. The chunks of one head
 * arrive together (the worker enqueues them at once, and the record rings
 * are drained one after the other), so a head is filled from its part 0
 * on, and parts that do not follow are ignored. Besides answers, a head
 * may be a request's first bytes or the exchange's addresses
 * (COMPARE_CHUNK_REQUEST, COMPARE_CHUNK_ADDR), for captures.
 *
 * Capture: per profile, the mismatched exchanges whose addresses arrived
 * (with their request and answers' heads) in a ring of capture_max
 * entries whose bytes lie in a ring of capture_bytes; an exchange that
 * finds no room pushes the oldest out (counted). Made into pcapng by
 * lib/shadow/shadow_capture.c.
 *
 * Latency: one log-linear histogram per side (HDR-style): values below 32
 * us are exact, above that each power of two has 32 buckets, so a bucket is
 * at most 1/32 of its values wide and its midpoint is within 1.6 % of any
 * of them; 896 buckets of 32 bits cover the whole 32-bit range.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define NIL UINT32_MAX

/* What can differ between two answers; bits of a "kinds" mask. */
enum cmp_kind {
	K_STATUS,
	K_HEADERS,
	K_BODY,
	K_SIZE,
	K_RESET,
	K_NO_ANSWER,
	K_N
};
#define KBIT(k) (1u << (k))

static const char *const kind_name[K_N] = {
	[K_STATUS] = "status",
	[K_HEADERS] = "headers",
	[K_BODY] = "body",
	[K_SIZE] = "size",
	[K_RESET] = "reset",
	[K_NO_ANSWER] = "no_answer",
};

/* The comparator's own losses, per profile: listed once for struct and JSON. */
#define CMP_DROPS(X) \
	X(evicted_pending) \
	X(duplicates) \
	X(endpoints_overflow) \
	X(both_no_answer) \
	X(prod_no_answer)

struct cmp_drops {
#define X(name) uint64_t name;
	CMP_DROPS(X)
#undef X
};

/* ------------------------------------------------------------------ */
/* Latency histogram.                                                   */

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((32 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint32_t max;
	uint32_t bucket[HIST_BUCKETS];
};

struct pct {
	uint32_t p50, p90, p99, max;
};

static inline unsigned int
hist_index(uint32_t v)
{
	unsigned int e;

	if (v < HIST_SUB)
		return v;
	e = 31 - __builtin_clz(v); /* >= HIST_SUB_BITS */
	return (e - HIST_SUB_BITS + 1) * HIST_SUB +
	       (v >> (e - HIST_SUB_BITS)) - HIST_SUB;
}

/* The value a bucket stands for: the middle of its range. */
static uint32_t
hist_bucket_value(unsigned int i)
{
	unsigned int shift;
	uint64_t low;

	if (i < 2 * HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	low = (uint64_t)(i % HIST_SUB + HIST_SUB) << shift;
	return (uint32_t)(low + ((1ull << shift) - 1) / 2);
}

/* A bucket about to overflow: halve them all, which keeps the shape. */
static void
hist_halve(struct hist *h)
{
	unsigned int i;

	h->count = 0;
	for (i = 0; i < HIST_BUCKETS; i++) {
		h->bucket[i] = h->bucket[i] / 2 + (h->bucket[i] & 1);
		h->count += h->bucket[i];
	}
}

static inline void
hist_add(struct hist *h, uint32_t v)
{
	unsigned int i = hist_index(v);

	if (h->bucket[i] == UINT32_MAX)
		hist_halve(h);
	h->bucket[i]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

/* Nearest-rank p50, p90, p99 in one pass, never above the exact max. */
static struct pct
hist_percentiles(const struct hist *h)
{
	static const unsigned int q[3] = { 50, 90, 99 };
	struct pct out = { .max = h->max };
	uint32_t *dst[3] = { &out.p50, &out.p90, &out.p99 };
	uint64_t rank[3], seen = 0;
	unsigned int i, k = 0;
	uint32_t v;

	if (h->count == 0)
		return out;
	for (k = 0; k < 3; k++)
		rank[k] = (h->count * q[k] + 99) / 100;
	k = 0;
	for (i = 0; i < HIST_BUCKETS && k < 3; i++) {
		seen += h->bucket[i];
		while (k < 3 && seen >= rank[k]) {
			v = hist_bucket_value(i);
			*dst[k++] = v < h->max ? v : h->max;
		}
	}
	return out;
}

/* ------------------------------------------------------------------ */
/* Open-addressing index: entry references (index + 1, 0: empty) and the */
/* entry's hash, so most misses never touch the entry.                  */

struct ix_slot {
	uint32_t ref;
	uint32_t hash;
};

struct ix {
	struct ix_slot *slot;
	uint32_t mask;
};

/* Room for @p n entries at most half full. */
static int
ix_init(struct ix *ix, uint32_t n)
{
	uint64_t cap = 2;

	while (cap < 2ull * n)
		cap <<= 1;
	ix->slot = calloc(cap, sizeof(*ix->slot));
	ix->mask = (uint32_t)(cap - 1);
	return ix->slot == NULL ? -1 : 0;
}

static void
ix_clear(struct ix *ix)
{
	memset(ix->slot, 0, ((size_t)ix->mask + 1) * sizeof(*ix->slot));
}

static void
ix_insert(struct ix *ix, uint32_t hash, uint32_t ref)
{
	uint32_t pos = hash & ix->mask;

	while (ix->slot[pos].ref != 0)
		pos = (pos + 1) & ix->mask;
	ix->slot[pos] = (struct ix_slot){ .ref = ref, .hash = hash };
}

/* Whether @p home lies cyclically in (hole, pos]: the entry can't move back. */
static inline int
ix_stays(uint32_t home, uint32_t hole, uint32_t pos)
{
	if (hole <= pos)
		return home > hole && home <= pos;
	return home > hole || home <= pos;
}

/* Remove @p ref, moving later entries of its cluster back into the hole. */
static void
ix_remove(struct ix *ix, uint32_t hash, uint32_t ref)
{
	uint32_t hole = hash & ix->mask, pos;

	while (ix->slot[hole].ref != ref)
		hole = (hole + 1) & ix->mask;
	for (pos = (hole + 1) & ix->mask; ix->slot[pos].ref != 0;
	     pos = (pos + 1) & ix->mask) {
		if (ix_stays(ix->slot[pos].hash & ix->mask, hole, pos))
			continue;
		ix->slot[hole] = ix->slot[pos];
		hole = pos;
	}
	ix->slot[hole].ref = 0;
}

/* ------------------------------------------------------------------ */
/* State.                                                               */

/* Counts of a profile, or of one of its endpoints. */
struct cmp_stats {
	uint64_t compared;
	uint64_t matches;
	uint64_t mismatches;
	uint64_t noisy;
	uint64_t controlled;    /* compared with a control */
	uint64_t kinds[K_N];    /* mismatches by kind */
	uint64_t noise[K_N];    /* differences the control shows too */
	uint64_t errors[COMPARE_SIDES];
	struct hist latency[COMPARE_SIDES];
};

/* "GET " + path, a DNS name, "port 65535", and a NUL (fields may lack theirs). */
#define EP_KEY_MAX (sizeof(((struct compare_record *)0)->method) + 1 + COMPARE_PATH_MAX + 1)

struct cmp_endpoint {
	char key[EP_KEY_MAX];
	struct cmp_stats st;
};

/* The sides whose answers a sample shows. */
#define SAMPLE_SIDES 2

struct cmp_sample {
	struct compare_record prod;
	struct compare_record shadow;
	uint8_t kinds;
	uint8_t noise;
	uint8_t has_head;               /* bits: production, shadow */
	uint16_t head_len[SAMPLE_SIDES];
	uint8_t head[SAMPLE_SIDES][COMPARE_HEAD_MAX];
};

/* An answer's head, assembled from its chunks. */
struct cmp_head {
	uint64_t flow_id;
	uint32_t exchange;
	uint32_t hash;
	uint8_t side;
	uint8_t used;
	uint16_t len;
	uint8_t data[COMPARE_HEAD_MAX];
};

/* A captured exchange: its bytes (request, production, shadow, in that
 * order) lie at off in the profile's byte ring. */
struct cmp_cap {
	uint64_t flow_id;
	uint64_t at_us;
	uint32_t exchange;
	uint32_t off;
	uint16_t len[1 + SAMPLE_SIDES];
	uint8_t proto;
	uint8_t kinds;
	struct compare_addr addr;
	struct compare_record side[SAMPLE_SIDES];
};

struct cmp_capture {
	struct cmp_cap *e;              /* [capture_max], a ring */
	uint8_t *bytes;                 /* [capture_bytes] */
	uint32_t first, n;              /* the oldest entry, entries */
	uint32_t used;                  /* bytes of the entries kept */
	uint64_t kept, dropped, without_evidence;
};

struct cmp_profile {
	struct cmp_stats total;
	struct cmp_capture cap;
	struct cmp_endpoint *ep;        /* [endpoints_max + 1]: last is "(other)" */
	struct ix ep_ix;
	uint32_t n_ep;
	struct cmp_sample *sample;      /* [samples_max], a ring */
	uint32_t sample_next;           /* where the next sample goes */
	uint32_t n_samples;
	uint64_t pending;
	struct cmp_drops drop;
};

struct cmp_pending {
	uint64_t flow_id;
	uint64_t first_us;
	uint32_t exchange;
	uint32_t hash;
	uint32_t prev, next;            /* age list; next: free list */
	uint8_t profile;
	uint8_t present;                /* bits of enum compare_side */
	uint8_t with_control;
	struct compare_record rec[COMPARE_SIDES];
};

struct compare_ctx {
	struct compare_limits lim;
	unsigned int n_profiles;
	struct cmp_profile *prof;       /* [n_profiles] */
	struct cmp_pending *pend;       /* [pending_max] */
	struct ix pend_ix;
	uint32_t free_head;
	uint32_t oldest, newest;        /* age list ends */
	struct cmp_head *head;          /* [heads_max], a ring */
	struct ix head_ix;
	uint32_t head_next;             /* the slot the next head takes */
	uint32_t head_fill;             /* the slot being filled, or NIL */
};

/* Stands for a side that never sent a record. */
static const struct compare_record no_record = { .flags = COMPARE_F_NO_ANSWER };

/* ------------------------------------------------------------------ */
/* Comparing.                                                           */

static inline bool
answered(const struct compare_record *r)
{
	return !(r->flags & COMPARE_F_NO_ANSWER);
}

/*
 * What differs in @p o from the reference @p ref (production, which
 * answered). A missing answer is only "no_answer": its status, size and
 * digests are absent, not different.
 */
static unsigned int
kinds_between(const struct compare_record *ref, const struct compare_record *o)
{
	unsigned int k = 0;

	if ((ref->flags ^ o->flags) & COMPARE_F_RESET)
		k |= KBIT(K_RESET);
	if (!answered(o))
		return k | KBIT(K_NO_ANSWER);
	if (ref->proto == COMPARE_BYTES ||
	    ((ref->flags | o->flags) & COMPARE_F_UNPARSED)) {
		if (ref->digest != o->digest)
			k |= KBIT(K_BODY);
	} else {
		if (ref->status != o->status)
			k |= KBIT(K_STATUS);
		if (ref->proto == COMPARE_HTTP && ref->header_digest != o->header_digest)
			k |= KBIT(K_HEADERS);
		if (ref->body_digest != o->body_digest)
			k |= KBIT(K_BODY);
	}
	if (ref->size != o->size)
		k |= KBIT(K_SIZE);
	return k;
}

static inline bool
is_error(const struct compare_record *r)
{
	if (r->flags & (COMPARE_F_UNPARSED | COMPARE_F_NO_ANSWER))
		return false;
	if (r->proto == COMPARE_HTTP)
		return r->status >= 500;
	if (r->proto == COMPARE_DNS)
		return r->status == 2; /* SERVFAIL */
	return false;
}

static void
stats_count(struct cmp_stats *st, const struct compare_record *const side[],
	    bool with_control, unsigned int kinds, unsigned int noise)
{
	unsigned int real = kinds & ~noise, n_sides, s, k;

	st->compared++;
	if (kinds == 0)
		st->matches++;
	else if (real == 0)
		st->noisy++;
	else
		st->mismatches++;
	for (; kinds != 0; kinds &= kinds - 1) {
		k = __builtin_ctz(kinds);
		if (real & KBIT(k))
			st->kinds[k]++;
		else
			st->noise[k]++;
	}
	st->controlled += with_control;
	n_sides = with_control ? COMPARE_SIDES : COMPARE_CONTROL;
	for (s = 0; s < n_sides; s++) {
		if (answered(side[s]))
			hist_add(&st->latency[s], side[s]->latency_us);
		st->errors[s] += is_error(side[s]);
	}
}

/* ------------------------------------------------------------------ */
/* Endpoints.                                                           */

static size_t
endpoint_key(const struct compare_record *r, char *key)
{
	size_t n = 0, len;
	const char *q;

	if (r->proto == COMPARE_HTTP && r->method[0] != '\0') {
		n = strnlen(r->method, sizeof(r->method));
		memcpy(key, r->method, n);
		key[n++] = ' ';
		/* One endpoint per path, whatever the query string. */
		len = strnlen(r->path, sizeof(r->path));
		q = memchr(r->path, '?', len);
		if (q != NULL)
			len = q - r->path;
	} else if (r->proto == COMPARE_DNS && r->path[0] != '\0') {
		len = strnlen(r->path, sizeof(r->path));
	} else {
		return snprintf(key, EP_KEY_MAX, "port %u", r->server_port);
	}
	memcpy(key + n, r->path, len);
	n += len;
	key[n] = '\0';
	return n;
}

/* FNV-1a. */
static uint32_t
str_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* The endpoint of an exchange: found, added, or "(other)" when full. */
static struct cmp_endpoint *
endpoint_get(struct cmp_profile *p, uint32_t endpoints_max,
	     const struct compare_record *r)
{
	char key[EP_KEY_MAX];
	size_t len = endpoint_key(r, key);
	uint32_t h = str_hash(key, len), pos;
	struct cmp_endpoint *ep;

	for (pos = h & p->ep_ix.mask; p->ep_ix.slot[pos].ref != 0;
	     pos = (pos + 1) & p->ep_ix.mask) {
		ep = &p->ep[p->ep_ix.slot[pos].ref - 1];
		if (p->ep_ix.slot[pos].hash == h && strcmp(ep->key, key) == 0)
			return ep;
	}
	if (p->n_ep == endpoints_max) {
		p->drop.endpoints_overflow++;
		return &p->ep[endpoints_max];
	}
	ep = &p->ep[p->n_ep++];
	memcpy(ep->key, key, len + 1);
	p->ep_ix.slot[pos] = (struct ix_slot){ .ref = p->n_ep, .hash = h };
	return ep;
}

/* ------------------------------------------------------------------ */
/* Evidence.                                                            */

static inline uint32_t pending_hash(uint64_t flow_id, uint32_t exchange);

static inline uint32_t
head_hash(uint64_t flow_id, uint32_t exchange, uint8_t side)
{
	return pending_hash(flow_id, exchange) ^ (side * 0x9e3779b9u);
}

static const struct cmp_head *
head_find(const struct compare_ctx *c, uint64_t flow_id, uint32_t exchange,
	  uint8_t side)
{
	const struct ix *ix = &c->head_ix;
	uint32_t h, pos;

	if (c->lim.heads_max == 0)
		return NULL;
	h = head_hash(flow_id, exchange, side);
	for (pos = h & ix->mask; ix->slot[pos].ref != 0; pos = (pos + 1) & ix->mask) {
		const struct cmp_head *e = &c->head[ix->slot[pos].ref - 1];

		if (ix->slot[pos].hash == h && e->flow_id == flow_id &&
		    e->exchange == exchange && e->side == side)
			return e;
	}
	return NULL;
}

/* One chunk: part 0 takes the next slot, later parts extend it in order. */
static void
head_chunk(struct compare_ctx *c, const struct compare_chunk *ch)
{
	struct cmp_head *e;
	uint32_t i;

	if (c->lim.heads_max == 0 || ch->side >= COMPARE_CHUNK_KINDS ||
	    ch->len > COMPARE_CHUNK_BYTES ||
	    (uint32_t)ch->part * COMPARE_CHUNK_BYTES + ch->len > COMPARE_HEAD_MAX)
		return;
	if (ch->part == 0) {
		i = c->head_next;
		e = &c->head[i];
		if (e->used)
			ix_remove(&c->head_ix, e->hash, i + 1);
		e->flow_id = ch->flow_id;
		e->exchange = ch->exchange;
		e->side = ch->side;
		e->hash = head_hash(ch->flow_id, ch->exchange, ch->side);
		e->used = 1;
		e->len = 0;
		ix_insert(&c->head_ix, e->hash, i + 1);
		c->head_next = i + 1 == c->lim.heads_max ? 0 : i + 1;
		c->head_fill = i;
	} else {
		if (c->head_fill == NIL)
			return;
		e = &c->head[c->head_fill];
		if (e->flow_id != ch->flow_id || e->exchange != ch->exchange ||
		    e->side != ch->side || e->len != ch->part * COMPARE_CHUNK_BYTES)
			return;
	}
	memcpy(e->data + e->len, ch->data, ch->len);
	e->len = (uint16_t)(e->len + ch->len);
}

/* ------------------------------------------------------------------ */
/* Samples.                                                             */

static void
sample_keep(const struct compare_ctx *c, struct cmp_profile *p,
	    const struct cmp_pending *e, const struct compare_record *const side[],
	    unsigned int kinds, unsigned int noise)
{
	uint32_t samples_max = c->lim.samples_max;
	struct cmp_sample *s;

	if (samples_max == 0)
		return;
	s = &p->sample[p->sample_next];
	s->prod = *side[COMPARE_PROD];
	s->shadow = *side[COMPARE_SHADOW];
	s->kinds = kinds;
	s->noise = noise;
	s->has_head = 0;
	for (unsigned int k = 0; k < SAMPLE_SIDES; k++) {
		const struct cmp_head *h = head_find(c, e->flow_id, e->exchange, (uint8_t)k);

		s->head_len[k] = 0;
		if (h != NULL) {
			s->has_head |= 1u << k;
			s->head_len[k] = h->len;
			memcpy(s->head[k], h->data, h->len);
		}
	}
	if (++p->sample_next == samples_max)
		p->sample_next = 0;
	if (p->n_samples < samples_max)
		p->n_samples++;
}

/* ------------------------------------------------------------------ */
/* Capture.                                                             */

static void
capture_drop_oldest(struct cmp_capture *k, uint32_t max)
{
	const struct cmp_cap *o = &k->e[k->first];

	k->used -= o->len[0] + o->len[1] + o->len[2];
	k->first = k->first + 1 == max ? 0 : k->first + 1;
	k->n--;
	k->dropped++;
}

/*
 * Where @p need contiguous bytes go in the byte ring, the oldest entries
 * dropped until they fit: after the newest entry's bytes, or from the
 * start when the end has no room (entries' bytes are in entry order).
 */
static uint32_t
capture_room(struct cmp_capture *k, const struct compare_limits *lim, uint32_t need)
{
	for (;;) {
		const struct cmp_cap *old, *last;
		uint32_t end;

		if (k->n == lim->capture_max) {
			capture_drop_oldest(k, lim->capture_max);
			continue;
		}
		if (k->n == 0)
			return 0;
		old = &k->e[k->first];
		last = &k->e[(k->first + k->n - 1) % lim->capture_max];
		end = last->off + last->len[0] + last->len[1] + last->len[2];
		if (last->off >= old->off) {    /* not wrapped: room after, or at the start */
			if (lim->capture_bytes - end >= need)
				return end;
			if (old->off >= need)
				return 0;
		} else if (old->off - end >= need) {
			return end;
		}
		capture_drop_oldest(k, lim->capture_max);
	}
}

/* A mismatch into the profile's capture, when its addresses are known. */
static void
capture_keep(const struct compare_ctx *c, struct cmp_profile *p,
	     const struct cmp_pending *e, const struct compare_record *const side[],
	     unsigned int kinds)
{
	static const uint8_t part[1 + SAMPLE_SIDES] = {
		COMPARE_CHUNK_REQUEST, COMPARE_PROD, COMPARE_SHADOW,
	};
	const struct cmp_head *h[1 + SAMPLE_SIDES];
	const struct cmp_head *addr;
	struct cmp_capture *k = &p->cap;
	uint32_t need = 0, at, i;
	struct cmp_cap *x;

	if (c->lim.capture_max == 0)
		return;
	addr = head_find(c, e->flow_id, e->exchange, COMPARE_CHUNK_ADDR);
	if (addr == NULL || addr->len != sizeof(struct compare_addr)) {
		k->without_evidence++;
		return;
	}
	for (i = 0; i < 1 + SAMPLE_SIDES; i++) {
		h[i] = head_find(c, e->flow_id, e->exchange, part[i]);
		need += h[i] != NULL ? h[i]->len : 0;
	}
	at = capture_room(k, &c->lim, need);
	x = &k->e[(k->first + k->n) % c->lim.capture_max];
	memset(x, 0, sizeof(*x));
	x->flow_id = e->flow_id;
	x->exchange = e->exchange;
	x->at_us = e->first_us;
	x->proto = side[COMPARE_PROD]->proto;
	x->kinds = (uint8_t)kinds;
	x->off = at;
	memcpy(&x->addr, addr->data, sizeof(x->addr));
	for (i = 0; i < SAMPLE_SIDES; i++)
		x->side[i] = *side[i];
	for (i = 0; i < 1 + SAMPLE_SIDES; i++) {
		if (h[i] == NULL)
			continue;
		memcpy(k->bytes + at, h[i]->data, h[i]->len);
		x->len[i] = h[i]->len;
		at += h[i]->len;
	}
	k->used += need;
	k->n++;
	k->kept++;
}

void
compare_capture_info(const struct compare_ctx *c, unsigned int profile,
		     struct compare_capture_info *out)
{
	const struct cmp_capture *k;

	memset(out, 0, sizeof(*out));
	if (c == NULL || profile >= c->n_profiles)
		return;
	k = &c->prof[profile].cap;
	out->exchanges = k->n;
	out->bytes = k->used;
	out->kept = k->kept;
	out->dropped = k->dropped;
	out->without_evidence = k->without_evidence;
}

int
compare_capture_get(const struct compare_ctx *c, unsigned int profile, uint32_t i,
		    struct compare_capture *out)
{
	const struct cmp_capture *k;
	const struct cmp_cap *x;
	const uint8_t *b;

	if (c == NULL || profile >= c->n_profiles || i >= c->prof[profile].cap.n)
		return -1;
	k = &c->prof[profile].cap;
	x = &k->e[(k->first + i) % c->lim.capture_max];
	b = k->bytes + x->off;
	memset(out, 0, sizeof(*out));
	out->flow_id = x->flow_id;
	out->exchange = x->exchange;
	out->proto = x->proto;
	out->kinds = x->kinds;
	out->at_us = x->at_us;
	out->addr = x->addr;
	out->request = b;
	out->request_len = x->len[0];
	for (unsigned int s = 0; s < SAMPLE_SIDES; s++) {
		out->side[s] = x->side[s];
		out->answer[s] = b + x->len[0] + (s ? x->len[1] : 0);
		out->answer_len[s] = x->len[1 + s];
	}
	return 0;
}

const char *
compare_kind_name(unsigned int k)
{
	return k < K_N ? kind_name[k] : NULL;
}

/* ------------------------------------------------------------------ */
/* Pending exchanges.                                                   */

static inline uint32_t
pending_hash(uint64_t flow_id, uint32_t exchange)
{
	uint64_t h = flow_id ^ (exchange * 0x9e3779b97f4a7c15ull);

	/* murmur3's finalizer: flow ids are often sequential. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static uint32_t
pending_lookup(const struct compare_ctx *c, uint64_t flow_id, uint32_t exchange,
	       uint32_t h)
{
	const struct ix *ix = &c->pend_ix;
	const struct cmp_pending *e;
	uint32_t pos;

	for (pos = h & ix->mask; ix->slot[pos].ref != 0; pos = (pos + 1) & ix->mask) {
		if (ix->slot[pos].hash != h)
			continue;
		e = &c->pend[ix->slot[pos].ref - 1];
		if (e->flow_id == flow_id && e->exchange == exchange)
			return ix->slot[pos].ref - 1;
	}
	return NIL;
}

static void
age_append(struct compare_ctx *c, uint32_t i)
{
	c->pend[i].prev = c->newest;
	c->pend[i].next = NIL;
	if (c->newest != NIL)
		c->pend[c->newest].next = i;
	else
		c->oldest = i;
	c->newest = i;
}

static void
age_unlink(struct compare_ctx *c, uint32_t i)
{
	struct cmp_pending *e = &c->pend[i];

	if (e->prev != NIL)
		c->pend[e->prev].next = e->next;
	else
		c->oldest = e->next;
	if (e->next != NIL)
		c->pend[e->next].prev = e->prev;
	else
		c->newest = e->prev;
}

/* Give entry @p i back: out of the index and the age list, onto the free list. */
static void
pending_close(struct compare_ctx *c, uint32_t i)
{
	struct cmp_pending *e = &c->pend[i];

	ix_remove(&c->pend_ix, e->hash, i + 1);
	age_unlink(c, i);
	c->prof[e->profile].pending--;
	e->next = c->free_head;
	c->free_head = i;
}

static void
pending_evict_oldest(struct compare_ctx *c)
{
	uint32_t i = c->oldest;

	c->prof[c->pend[i].profile].drop.evicted_pending++;
	pending_close(c, i);
}

static uint32_t
pending_open(struct compare_ctx *c, const struct compare_record *r, uint32_t h,
	     bool with_control, uint64_t now_us)
{
	struct cmp_pending *e;
	uint32_t i;

	if (c->free_head == NIL)
		pending_evict_oldest(c);
	i = c->free_head;
	e = &c->pend[i];
	c->free_head = e->next;
	e->flow_id = r->flow_id;
	e->exchange = r->exchange;
	e->hash = h;
	e->first_us = now_us;
	e->profile = r->profile;
	e->present = 0;
	e->with_control = with_control;
	age_append(c, i);
	ix_insert(&c->pend_ix, h, i + 1);
	c->prof[r->profile].pending++;
	return i;
}

/* Count exchange @p e, every side it expects in or taken as not answering. */
static void
exchange_complete(struct compare_ctx *c, const struct cmp_pending *e)
{
	struct cmp_profile *p = &c->prof[e->profile];
	const struct compare_record *side[COMPARE_SIDES];
	unsigned int s, kinds, noise = 0;
	struct cmp_endpoint *ep;

	for (s = 0; s < COMPARE_SIDES; s++)
		side[s] = (e->present & (1u << s)) ? &e->rec[s] : &no_record;
	/* Production is the reference: without its answer there is none. */
	if (!answered(side[COMPARE_PROD])) {
		if ((e->present & (1u << COMPARE_PROD)) && !answered(side[COMPARE_SHADOW]))
			p->drop.both_no_answer++;
		else
			p->drop.prod_no_answer++;
		return;
	}
	kinds = kinds_between(side[COMPARE_PROD], side[COMPARE_SHADOW]);
	if (e->with_control)
		noise = kinds & kinds_between(side[COMPARE_PROD], side[COMPARE_CONTROL]);
	ep = endpoint_get(p, c->lim.endpoints_max, side[COMPARE_PROD]);
	stats_count(&p->total, side, e->with_control, kinds, noise);
	stats_count(&ep->st, side, e->with_control, kinds, noise);
	if (kinds & ~noise) {
		sample_keep(c, p, e, side, kinds & ~noise, noise);
		capture_keep(c, p, e, side, kinds & ~noise);
	}
}

static inline uint8_t
sides_expected(bool with_control)
{
	return with_control ? 7 : 3;
}

/* ------------------------------------------------------------------ */
/* Creation.                                                            */

static void
profile_clear(struct cmp_profile *p, const struct compare_limits *lim)
{
	memset(&p->total, 0, sizeof(p->total));
	memset(p->ep, 0, ((size_t)lim->endpoints_max + 1) * sizeof(*p->ep));
	strcpy(p->ep[lim->endpoints_max].key, "(other)");
	ix_clear(&p->ep_ix);
	p->n_ep = 0;
	p->sample_next = 0;
	p->n_samples = 0;
	memset(&p->drop, 0, sizeof(p->drop));
	p->cap.first = p->cap.n = p->cap.used = 0;
	p->cap.kept = p->cap.dropped = p->cap.without_evidence = 0;
}

static int
profile_init(struct cmp_profile *p, const struct compare_limits *lim)
{
	p->ep = calloc((size_t)lim->endpoints_max + 1, sizeof(*p->ep));
	p->sample = calloc(lim->samples_max ? lim->samples_max : 1, sizeof(*p->sample));
	if (p->ep == NULL || p->sample == NULL || ix_init(&p->ep_ix, lim->endpoints_max) < 0)
		return -1;
	if (lim->capture_max > 0) {
		p->cap.e = calloc(lim->capture_max, sizeof(*p->cap.e));
		p->cap.bytes = malloc(lim->capture_bytes);
		if (p->cap.e == NULL || p->cap.bytes == NULL)
			return -1;
	}
	profile_clear(p, lim);
	return 0;
}

/* Every entry on the free list, in order. */
static int
pending_init(struct compare_ctx *c)
{
	uint32_t i, n = c->lim.pending_max;

	c->pend = calloc(n, sizeof(*c->pend));
	if (c->pend == NULL || ix_init(&c->pend_ix, n) < 0)
		return -1;
	for (i = 0; i < n; i++)
		c->pend[i].next = i + 1 < n ? i + 1 : NIL;
	c->free_head = 0;
	c->oldest = NIL;
	c->newest = NIL;
	c->head_fill = NIL;
	if (c->lim.heads_max > 0) {
		c->head = calloc(c->lim.heads_max, sizeof(*c->head));
		if (c->head == NULL || ix_init(&c->head_ix, c->lim.heads_max) < 0)
			return -1;
	}
	return 0;
}

struct compare_ctx *
compare_create(const struct compare_limits *lim, unsigned int n_profiles)
{
	struct compare_ctx *c;
	unsigned int i;

	/* Profiles are a uint8_t in records; indexes stay within 32 bits. */
	if (lim == NULL || n_profiles == 0 || n_profiles > 256 ||
	    lim->pending_max == 0 || lim->pending_max > (1u << 30) ||
	    lim->endpoints_max > (1u << 30) || lim->samples_max > (1u << 30) ||
	    lim->heads_max > (1u << 24) || lim->capture_max > (1u << 20) ||
	    lim->capture_bytes > (1u << 30) ||
	    /* a capture holds at least one exchange's bytes */
	    (lim->capture_max > 0 && lim->capture_bytes < (1 + SAMPLE_SIDES) * COMPARE_HEAD_MAX))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->lim = *lim;
	c->n_profiles = n_profiles;
	c->prof = calloc(n_profiles, sizeof(*c->prof));
	if (c->prof == NULL || pending_init(c) < 0)
		goto fail;
	for (i = 0; i < n_profiles; i++)
		if (profile_init(&c->prof[i], lim) < 0)
			goto fail;
	return c;
fail:
	compare_free(c);
	return NULL;
}

void
compare_free(struct compare_ctx *c)
{
	unsigned int i;

	if (c == NULL)
		return;
	for (i = 0; c->prof != NULL && i < c->n_profiles; i++) {
		free(c->prof[i].ep);
		free(c->prof[i].ep_ix.slot);
		free(c->prof[i].sample);
		free(c->prof[i].cap.e);
		free(c->prof[i].cap.bytes);
	}
	free(c->prof);
	free(c->pend);
	free(c->pend_ix.slot);
	free(c->head);
	free(c->head_ix.slot);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Records in.                                                          */

void
compare_add(struct compare_ctx *c, const struct compare_record *r,
	    bool with_control, uint64_t now_us)
{
	struct cmp_pending *e;
	uint32_t h, i;
	uint8_t bit;

	if (r->flags & COMPARE_F_BYTES) {
		struct compare_chunk ch;

		memcpy(&ch, r, sizeof(ch));
		head_chunk(c, &ch);
		return;
	}
	/* A control the profile doesn't expect would wait for nothing. */
	if (r->profile >= c->n_profiles || r->side >= COMPARE_SIDES ||
	    (r->side == COMPARE_CONTROL && !with_control))
		return;
	h = pending_hash(r->flow_id, r->exchange);
	i = pending_lookup(c, r->flow_id, r->exchange, h);
	if (i == NIL)
		i = pending_open(c, r, h, with_control, now_us);
	e = &c->pend[i];
	bit = 1u << r->side;
	if (e->present & bit) {
		c->prof[e->profile].drop.duplicates++;
		return;
	}
	e->rec[r->side] = *r;
	e->present |= bit;
	if (e->present == sides_expected(e->with_control)) {
		exchange_complete(c, e);
		pending_close(c, i);
	}
}

void
compare_expire(struct compare_ctx *c, uint64_t now_us)
{
	struct cmp_pending *e;
	uint32_t i;

	while ((i = c->oldest) != NIL) {
		e = &c->pend[i];
		if (now_us < e->first_us || now_us - e->first_us < c->lim.timeout_us)
			break;
		exchange_complete(c, e);
		pending_close(c, i);
	}
}

void
compare_reset(struct compare_ctx *c, unsigned int profile)
{
	uint32_t i, next;

	if (c == NULL || profile >= c->n_profiles)
		return;
	for (i = c->oldest; i != NIL; i = next) {
		next = c->pend[i].next;
		if (c->pend[i].profile == profile)
			pending_close(c, i);
	}
	profile_clear(&c->prof[profile], &c->lim);
}

/* ------------------------------------------------------------------ */
/* Report.                                                              */

/* Bytes from the wire as a JSON string: non-printable ones as \xNN. */
static json_t *
json_text(const char *s, size_t max)
{
	char out[4 * EP_KEY_MAX + 1];
	size_t i, n = 0, len = strnlen(s, max);

	for (i = 0; i < len && i < EP_KEY_MAX; i++) {
		uint8_t b = (uint8_t)s[i];

		if (b >= 0x20 && b < 0x7f && b != '\\')
			out[n++] = b;
		else
			n += snprintf(out + n, sizeof(out) - n, "\\x%02x", b);
	}
	return json_stringn(out, n);
}

static json_t *
kinds_json(const uint64_t count[K_N])
{
	json_t *o = json_object();
	unsigned int k;

	for (k = 0; k < K_N; k++)
		json_object_set_new(o, kind_name[k], json_integer((json_int_t)count[k]));
	return o;
}

static json_t *
kind_list_json(unsigned int kinds)
{
	json_t *a = json_array();
	unsigned int k;

	for (k = 0; k < K_N; k++)
		if (kinds & KBIT(k))
			json_array_append_new(a, json_string(kind_name[k]));
	return a;
}

static json_t *
pct_json(const struct pct *p)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "p50", (json_int_t)p->p50,
			 "p90", (json_int_t)p->p90, "p99", (json_int_t)p->p99,
			 "max", (json_int_t)p->max);
}

static json_t *
latency_json(const struct cmp_stats *st)
{
	struct pct prod = hist_percentiles(&st->latency[COMPARE_PROD]);
	struct pct shadow = hist_percentiles(&st->latency[COMPARE_SHADOW]);
	struct pct control;
	json_t *o = json_object();

	json_object_set_new(o, "production", pct_json(&prod));
	json_object_set_new(o, "shadow", pct_json(&shadow));
	if (st->latency[COMPARE_CONTROL].count > 0) {
		control = hist_percentiles(&st->latency[COMPARE_CONTROL]);
		json_object_set_new(o, "control", pct_json(&control));
	}
	json_object_set_new(o, "difference", json_pack("{s:I, s:I, s:I, s:I}",
		"p50", (json_int_t)shadow.p50 - prod.p50,
		"p90", (json_int_t)shadow.p90 - prod.p90,
		"p99", (json_int_t)shadow.p99 - prod.p99,
		"max", (json_int_t)shadow.max - prod.max));
	return o;
}

static double
share(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0.0 : (double)part / (double)whole;
}

static json_t *
error_rate_json(const struct cmp_stats *st)
{
	double prod = share(st->errors[COMPARE_PROD], st->compared);
	double shadow = share(st->errors[COMPARE_SHADOW], st->compared);
	json_t *o = json_pack("{s:f, s:f, s:f}", "production", prod,
			      "shadow", shadow, "difference", shadow - prod);

	if (st->controlled > 0)
		json_object_set_new(o, "control", json_real(
			share(st->errors[COMPARE_CONTROL], st->controlled)));
	return o;
}

/* The counters a profile and each of its endpoints share, into @p o. */
static json_t *
stats_json(json_t *o, const struct cmp_stats *st)
{
	json_object_set_new(o, "compared", json_integer((json_int_t)st->compared));
	json_object_set_new(o, "matches", json_integer((json_int_t)st->matches));
	json_object_set_new(o, "mismatches", json_integer((json_int_t)st->mismatches));
	json_object_set_new(o, "noisy", json_integer((json_int_t)st->noisy));
	json_object_set_new(o, "mismatch_kinds", kinds_json(st->kinds));
	json_object_set_new(o, "noise_kinds", kinds_json(st->noise));
	json_object_set_new(o, "latency_us", latency_json(st));
	json_object_set_new(o, "error_rate", error_rate_json(st));
	return o;
}

/* Most compared first; ties by key, so reports are stable. */
static int
endpoint_order(const void *a, const void *b)
{
	const struct cmp_endpoint *x = *(const struct cmp_endpoint *const *)a;
	const struct cmp_endpoint *y = *(const struct cmp_endpoint *const *)b;

	if (x->st.compared != y->st.compared)
		return x->st.compared > y->st.compared ? -1 : 1;
	return strcmp(x->key, y->key);
}

static json_t *
endpoints_json(const struct cmp_profile *p, uint32_t endpoints_max)
{
	const struct cmp_endpoint **order;
	json_t *a = json_array(), *o;
	uint32_t i, n = 0;

	order = malloc(((size_t)endpoints_max + 1) * sizeof(*order));
	if (order == NULL)
		return a;
	for (i = 0; i <= endpoints_max; i++)
		if (i < p->n_ep || (i == endpoints_max && p->ep[i].st.compared > 0))
			order[n++] = &p->ep[i];
	qsort(order, n, sizeof(*order), endpoint_order);
	for (i = 0; i < n; i++) {
		o = json_object();
		json_object_set_new(o, "endpoint", json_text(order[i]->key, EP_KEY_MAX));
		json_array_append_new(a, stats_json(o, &order[i]->st));
	}
	free(order);
	return a;
}

static json_t *
flags_json(uint8_t flags)
{
	static const char *const name[] = { "reset", "no_answer", "truncated", "unparsed" };
	json_t *a = json_array();
	unsigned int i;

	for (i = 0; i < sizeof(name) / sizeof(name[0]); i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(name[i]));
	return a;
}

static json_t *
hex_json(uint64_t v)
{
	return json_sprintf("%016" PRIx64, v);
}

static json_t *
sample_side_json(const struct compare_record *r)
{
	return json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o}",
			 "status", (json_int_t)r->status,
			 "size", (json_int_t)r->size,
			 "latency_us", (json_int_t)r->latency_us,
			 "flags", flags_json(r->flags),
			 "digest", hex_json(r->digest),
			 "header_digest", hex_json(r->header_digest),
			 "body_digest", hex_json(r->body_digest));
}

/* Bytes as lower-case hex. */
static json_t *
hex_bytes_json(const uint8_t *b, size_t n)
{
	static const char digit[] = "0123456789abcdef";
	char out[2 * COMPARE_HEAD_MAX];
	size_t i;

	for (i = 0; i < n && i < COMPARE_HEAD_MAX; i++) {
		out[2 * i] = digit[b[i] >> 4];
		out[2 * i + 1] = digit[b[i] & 15];
	}
	return json_stringn(out, 2 * i);
}

/*
 * The evidence of a sample: each side's head ("head", hex; "head_len") and
 * the offset of the first byte that differs between them ("first_difference":
 * the shorter one's length when one is the other's beginning; null when
 * they are equal or a side has none).
 */
static void
sample_heads_json(const struct cmp_sample *s, json_t *o)
{
	json_t *side[SAMPLE_SIDES] = { json_object_get(o, "production"),
				       json_object_get(o, "shadow") };
	uint32_t n, i;

	for (unsigned int k = 0; k < SAMPLE_SIDES; k++)
		if (s->has_head & (1u << k)) {
			json_object_set_new(side[k], "head",
					    hex_bytes_json(s->head[k], s->head_len[k]));
			json_object_set_new(side[k], "head_len",
					    json_integer(s->head_len[k]));
		}
	if (s->has_head != 3)
		return;
	n = s->head_len[0] < s->head_len[1] ? s->head_len[0] : s->head_len[1];
	for (i = 0; i < n && s->head[0][i] == s->head[1][i]; i++)
		;
	json_object_set_new(o, "first_difference",
			    i == n && s->head_len[0] == s->head_len[1] ?
			    json_null() : json_integer(i));
}

static json_t *
sample_json(const struct cmp_sample *s)
{
	json_t *o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
			      "flow_id", (json_int_t)s->prod.flow_id,
			      "exchange", (json_int_t)s->prod.exchange,
			      "method", json_text(s->prod.method, sizeof(s->prod.method)),
			      "path", json_text(s->prod.path, sizeof(s->prod.path)),
			      "kinds", kind_list_json(s->kinds),
			      "production", sample_side_json(&s->prod),
			      "shadow", sample_side_json(&s->shadow));

	if (s->noise != 0)
		json_object_set_new(o, "noise_kinds", kind_list_json(s->noise));
	sample_heads_json(s, o);
	return o;
}

/* Newest first. */
static json_t *
samples_json(const struct cmp_profile *p, uint32_t samples_max)
{
	json_t *a = json_array();
	uint32_t i, at = p->sample_next;

	for (i = 0; i < p->n_samples; i++) {
		at = (at == 0 ? samples_max : at) - 1;
		json_array_append_new(a, sample_json(&p->sample[at]));
	}
	return a;
}

static json_t *
drops_json(const struct cmp_drops *d)
{
	json_t *o = json_object();

#define X(name) json_object_set_new(o, #name, json_integer((json_int_t)d->name));
	CMP_DROPS(X)
#undef X
	return o;
}

uint64_t
compare_lat_value(unsigned int i)
{
	return i >= 63 ? UINT64_MAX : (2ull << i) - 1;
}

void
compare_totals(const struct compare_ctx *c, unsigned int profile, struct compare_totals *t)
{
	const struct cmp_stats *st;

	memset(t, 0, sizeof(*t));
	if (profile >= c->n_profiles)
		return;
	st = &c->prof[profile].total;
	t->compared = st->compared;
	t->matches = st->matches;
	t->mismatches = st->mismatches;
	t->noisy = st->noisy;
	t->no_answer = st->kinds[K_NO_ANSWER];
	t->reset = st->kinds[K_RESET];
	for (unsigned int s = 0; s < COMPARE_SIDES; s++) {
		t->errors[s] = st->errors[s];
		/* Fine buckets into powers of two: bucket i holds values below 2^(i+1). */
		for (unsigned int b = 0; b < HIST_BUCKETS; b++) {
			uint32_t v = hist_bucket_value(b);
			unsigned int i = v < 2 ? 0 : (unsigned int)(31 - __builtin_clz(v));

			t->lat[s][i < COMPARE_LAT_BUCKETS ? i : COMPARE_LAT_BUCKETS - 1] +=
				st->latency[s].bucket[b];
		}
	}
}

json_t *
compare_report_json(const struct compare_ctx *c, unsigned int profile)
{
	const struct cmp_profile *p;
	json_t *o;

	if (c == NULL || profile >= c->n_profiles)
		return NULL;
	p = &c->prof[profile];
	o = stats_json(json_object(), &p->total);
	json_object_set_new(o, "endpoints", endpoints_json(p, c->lim.endpoints_max));
	json_object_set_new(o, "samples", samples_json(p, c->lim.samples_max));
	json_object_set_new(o, "pending", json_integer((json_int_t)p->pending));
	json_object_set_new(o, "dropped", drops_json(&p->drop));
	json_object_set_new(o, "capture", json_pack("{s:i, s:i, s:I, s:I, s:I}",
		"exchanges", (int)p->cap.n, "bytes", (int)p->cap.used,
		"captured", (json_int_t)p->cap.kept, "dropped", (json_int_t)p->cap.dropped,
		"without_evidence", (json_int_t)p->cap.without_evidence));
	return o;
}
