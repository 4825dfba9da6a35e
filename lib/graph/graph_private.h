/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/graph internals: the open-addressing index every table uses, the
 * hash, and an intrusive LRU list over array slots.
 *
 * The index maps a 32-bit hash to slot numbers of a caller's array:
 * linear probing over a power-of-two bucket array at most half full,
 * deletion by backward shift (no tombstones, so probes stay short however
 * long the table lives). Buckets hold slot + 1 (0 is empty); the slot's
 * own stored hash tells the probe whether to look at it and tells the
 * shift where an entry belongs.
 */
#ifndef UMBRA_GRAPH_PRIVATE_H
#define UMBRA_GRAPH_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GX_NIL UINT32_MAX

struct gx_index {
	uint32_t *b;       /* buckets: slot + 1, 0 empty */
	uint32_t mask;
};

/* Buckets for @p cap entries: a power of two, at least twice @p cap. */
static inline uint32_t
gx_buckets(uint32_t cap)
{
	uint32_t n = 16;

	while (n < 2 * (uint64_t)cap)
		n <<= 1;
	return n;
}

static inline int
gx_init(struct gx_index *x, uint32_t cap)
{
	uint32_t n = gx_buckets(cap);

	x->b = calloc(n, sizeof(*x->b));
	x->mask = n - 1;
	return x->b ? 0 : -1;
}

static inline void
gx_fini(struct gx_index *x)
{
	free(x->b);
	x->b = NULL;
}

static inline void
gx_clear(struct gx_index *x)
{
	memset(x->b, 0, ((size_t)x->mask + 1) * sizeof(*x->b));
}

static inline size_t
gx_bytes(const struct gx_index *x)
{
	return ((size_t)x->mask + 1) * sizeof(*x->b);
}

static inline void
gx_insert(struct gx_index *x, uint32_t h, uint32_t slot)
{
	uint32_t p = h & x->mask;

	while (x->b[p])
		p = (p + 1) & x->mask;
	x->b[p] = slot + 1;
}

/*
 * Remove @p slot (stored with hash @p h). @p hash_of gives any stored
 * slot's hash, for the backward shift.
 */
static inline void
gx_remove(struct gx_index *x, uint32_t h, uint32_t slot,
	  uint32_t (*hash_of)(const void *ctx, uint32_t slot), const void *ctx)
{
	uint32_t i = h & x->mask;

	while (x->b[i] && x->b[i] != slot + 1)
		i = (i + 1) & x->mask;
	if (!x->b[i])
		return;
	for (uint32_t j = i;;) {
		j = (j + 1) & x->mask;
		if (!x->b[j])
			break;
		uint32_t home = hash_of(ctx, x->b[j] - 1) & x->mask;
		/* Move j back into the hole i unless its home lies in (i, j]. */
		bool stay = i <= j ? (home > i && home <= j) : (home > i || home <= j);

		if (!stay) {
			x->b[i] = x->b[j];
			i = j;
		}
	}
	x->b[i] = 0;
}

/* Probe: for (p = gx_first(x, h); x->b[p]; p = gx_next(x, p)) slot = x->b[p] - 1 */
static inline uint32_t
gx_first(const struct gx_index *x, uint32_t h)
{
	return h & x->mask;
}

static inline uint32_t
gx_next(const struct gx_index *x, uint32_t p)
{
	return (p + 1) & x->mask;
}

/* 64-bit mix (splitmix64's finaliser). */
static inline uint64_t
gx_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Hash of @p len bytes (a multiply-mix over 8-byte words). */
static inline uint32_t
gx_hash(const void *p, size_t len)
{
	const uint8_t *s = p;
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ len;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, s, 8);
		h = gx_mix(h ^ w);
		s += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;

		memcpy(&w, s, len);
		h = gx_mix(h ^ w);
	}
	return (uint32_t)(h >> 32);
}

/* An LRU list threaded through array slots by prev/next fields. */
struct gx_lru {
	uint32_t head, tail;   /* most, least recently used */
};

#define GX_LRU_INIT { GX_NIL, GX_NIL }

/* The list's links live in the caller's entries: these macros take the
 * array and the field names so one implementation serves every table. */
#define GX_LRU_UNLINK(l, arr, i, prev, next) do { \
	uint32_t p_ = (arr)[i].prev, n_ = (arr)[i].next; \
	if (p_ != GX_NIL) (arr)[p_].next = n_; else (l)->head = n_; \
	if (n_ != GX_NIL) (arr)[n_].prev = p_; else (l)->tail = p_; \
} while (0)

#define GX_LRU_PUSH(l, arr, i, prev, next) do { \
	(arr)[i].prev = GX_NIL; \
	(arr)[i].next = (l)->head; \
	if ((l)->head != GX_NIL) (arr)[(l)->head].prev = (i); else (l)->tail = (i); \
	(l)->head = (i); \
} while (0)

#endif /* UMBRA_GRAPH_PRIVATE_H */
