/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: the delay queue. One per worker, single threaded, no EAL;
 * the caller passes the time (TSC cycles) to every poll.
 *
 * The wheel's items live in a pool taken at creation: the 32-byte items,
 * and beside them 16-byte nodes (deadline and a 32-bit "next" index) that
 * link the free list and the wheel slots. Linking, cascading and due
 * checks touch only the nodes (one cache miss per item, not two); the
 * item is read when it goes out. The free list is LIFO, so a push reuses
 * the place an item just left, still in cache. Nothing is allocated after
 * creation.
 *
 * FIFOs: one per constant-delay class, an array of items in arrival order
 * made of 4 KB chunks (32 places of 128 bytes: an item and room for a
 * copy of a short packet; linked only chunk to chunk) taken from a pool
 * of their own. Deadlines never decrease within one (an item that would
 * break that goes to the wheel), so only heads matter, and an item goes
 * in by a copy to the tail and out by a copy from the head: memory read
 * and written in order (the hardware prefetcher streams it, no pointer
 * to chase from item to item). A packet of up to FAULT_DELAY_INLINE
 * bytes can be held as a copy in its place (fault_delayq_push_copy()),
 * so that its buffer goes back to its pool at once; the places the next
 * poll takes can be asked for a loop ahead (fault_delayq_prefetch(),
 * addresses only), and a packet held as itself can be prefetched too
 * (fault_delayq_peek()). The pools lie on transparent huge pages where
 * the kernel gives them: a prefetch that has to walk the page tables
 * first (every 4 KB chunk, on small pages) arrives late. The pool
 * holds capacity / 32 chunks and two per FIFO (a FIFO's head and tail
 * chunks may be part full), so it never runs out before the queue is
 * full; a chunk emptied is reused first (still in cache).
 * The non-empty FIFOs sit in a binary min-heap keyed by head deadline (a
 * compact array, at most n_fifos entries, touched only by pushes to an
 * empty FIFO and by items going out): a poll with nothing due looks at
 * the heap's top only, and each item out costs O(log active FIFOs),
 * however many FIFOs exist or are active.
 *
 * Wheel: hierarchical, with cascading. Time is counted in ticks
 * (cycles >> log2(tick_cycles)); a level has wheel_slots slots
 * (b = log2(wheel_slots) bits of the tick each), and there are enough
 * levels to cover the 64-bit range: level k slot j holds the ticks whose
 * bit group k is j. The wheel's time W is the last tick opened. An item of
 * tick t > W goes to level k = msb(t ^ W) / b: t agrees with W above group
 * k and is ahead of it in group k. When W reaches the first tick of an
 * upper slot, the slot is cascaded: its items are placed again relative to
 * the new W and land lower down (each item moves at most once per level,
 * so the work is O(1) amortized per item; with a 256-cycle tick and 4096
 * slots, level 0 spans 2^20 cycles, level 1 2^32, and a 10 s deadline
 * sits at level 2 and cascades twice).
 *
 * W never walks empty ticks: the queue keeps the tick of the next event
 * (the first non-empty slot after W at the lowest level that has one:
 * every lower-level event comes before every higher-level one), found with
 * per-level bitmaps of non-empty slots with summary words, so one search
 * skips 64 * 64 empty slots at a time. A poll whose tick is before that
 * event moves W there directly, however far; a poll with nothing queued is
 * a count check.
 *
 * Precision: items carry their full deadline. Level-0 slots are kept
 * sorted by deadline (stable, so equal deadlines keep push order; an item
 * usually goes at the tail), so the current slot W is emitted from its head
 * while deadline <= now: nothing comes out early and nothing waits for a
 * tick to end. An item pushed with a tick at or before W joins the current
 * slot, so it is due at the next poll. Sorted insertion walks the slot when
 * an item is earlier than the slot's tail: the cost is bounded by the items
 * in one tick, a few with the intended tick sizes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fault.h"

/* End of a list, empty list, no free item. */
#define NIL UINT32_MAX
/* No member found in an index set. */
#define NONE UINT32_MAX

/* What links an item: its deadline beside its successor. */
struct dq_node {
	uint64_t deadline;
	uint32_t next;
	uint32_t pad;
};

/* A singly-linked list of pool indices. */
struct idx_list {
	uint32_t head;
	uint32_t tail;
};

/* A non-empty FIFO in the heap, keyed by its head's deadline. */
struct fifo_ref {
	uint64_t head_deadline;
	uint32_t fifo;
	uint32_t pad;
};

/* A FIFO's place for an item: the item, and room for a copy of its packet. */
struct dq_slot {
	struct fault_delay_item it;
	uint8_t data[FAULT_DELAY_INLINE];
};

/* Items in a FIFO chunk: 4 KB, a page's worth of memory read in order. */
#define DQ_CHUNK_ITEMS (4096 / sizeof(struct dq_slot))

/* A piece of a FIFO: items in arrival order. */
struct dq_chunk {
	struct dq_slot s[DQ_CHUNK_ITEMS];
};

_Static_assert(sizeof(struct dq_chunk) == 4096, "a chunk is a page");
_Static_assert(FAULT_MAX_RULES <= 256, "a rule slot fits fault_delay_item.slot");

/* A constant-delay FIFO: items [head_pos, tail_pos) over its chunks. */
struct dq_fifo {
	uint32_t head;          /* chunk read from; NIL: empty */
	uint32_t tail;          /* chunk written to */
	uint32_t head_pos;      /* next item to read in head */
	uint32_t tail_pos;      /* next place to write in tail */
	uint64_t last;          /* deadline of the item pushed last */
	uint64_t pad;
};

/* A set of indices: a bit each, and a summary bit per non-zero word. */
struct idx_set {
	uint64_t *word;
	uint64_t *summary;
	uint32_t n_words;
	uint32_t n_summary;
};

struct fault_delayq {
	struct fault_delay_item *items; /* [capacity] */
	struct dq_node *node;           /* [capacity] */
	uint32_t free_head;
	uint32_t capacity;
	uint32_t count;                 /* items held */
	uint32_t wheel_count;           /* ... of which in the wheel */
	bool wheel_first;               /* poll serves the wheel first */

	uint32_t n_fifos;
	uint32_t n_active;              /* non-empty FIFOs: heap size */
	uint32_t fifo_pkts;             /* FIFO items held as themselves, not copies */
	struct dq_fifo *fifo;           /* [n_fifos] */
	struct fifo_ref *heap;          /* [n_fifos] */
	struct dq_chunk *chunk;         /* [n_chunks] */
	uint32_t *chunk_next;           /* [n_chunks]: a FIFO's next, or free list */
	uint32_t chunk_free;            /* free list head */
	uint32_t n_chunks;

	unsigned int tick_shift;        /* log2(tick_cycles) */
	unsigned int slot_bits;         /* log2(wheel_slots) */
	unsigned int n_levels;
	uint32_t slot_mask;
	uint64_t tick;                  /* W: the tick opened last */
	uint64_t next_event;            /* tick of the next slot to open */
	unsigned int next_level;        /* ... and its level */
	struct idx_list *slot;          /* [n_levels << slot_bits] */
	struct idx_set *level_set;      /* [n_levels]: non-empty slots */
	uint8_t level_of_bit[64];       /* msb(t ^ W) -> level */
};

/* ------------------------------------------------------------------ */
/* Index sets.                                                          */

static int
set_init(struct idx_set *s, uint32_t n)
{
	s->n_words = (uint32_t)(((uint64_t)n + 63) / 64);
	if (s->n_words == 0)
		s->n_words = 1;
	s->n_summary = (s->n_words + 63) / 64;
	s->word = calloc(s->n_words, sizeof(*s->word));
	s->summary = calloc(s->n_summary, sizeof(*s->summary));
	return s->word != NULL && s->summary != NULL ? 0 : -1;
}

static void
set_fini(struct idx_set *s)
{
	free(s->word);
	free(s->summary);
}

static inline void
set_add(struct idx_set *s, uint32_t i)
{
	uint32_t w = i >> 6;

	s->word[w] |= UINT64_C(1) << (i & 63);
	s->summary[w >> 6] |= UINT64_C(1) << (w & 63);
}

static inline void
set_del(struct idx_set *s, uint32_t i)
{
	uint32_t w = i >> 6;

	s->word[w] &= ~(UINT64_C(1) << (i & 63));
	if (s->word[w] == 0)
		s->summary[w >> 6] &= ~(UINT64_C(1) << (w & 63));
}

/* The first member >= i, or NONE. */
static uint32_t
set_next(const struct idx_set *s, uint32_t i)
{
	uint32_t w = i >> 6, sw;
	uint64_t bits;

	if (w >= s->n_words)
		return NONE;
	bits = s->word[w] & (~UINT64_C(0) << (i & 63));
	if (bits != 0)
		return (w << 6) + (uint32_t)__builtin_ctzll(bits);
	if (++w >= s->n_words)
		return NONE;
	sw = w >> 6;
	bits = s->summary[sw] & (~UINT64_C(0) << (w & 63));
	while (bits == 0) {
		if (++sw >= s->n_summary)
			return NONE;
		bits = s->summary[sw];
	}
	w = (sw << 6) + (uint32_t)__builtin_ctzll(bits);
	return (w << 6) + (uint32_t)__builtin_ctzll(s->word[w]);
}

/* ------------------------------------------------------------------ */
/* Pool and lists.                                                      */

static inline uint32_t
pool_get(struct fault_delayq *q)
{
	uint32_t idx = q->free_head;

	q->free_head = q->node[idx].next;
	return idx;
}

/* Copy item idx out and give its place back. */
static inline void
emit(struct fault_delayq *q, uint32_t idx, struct fault_delay_item *out)
{
	*out = q->items[idx];
	q->node[idx].next = q->free_head;
	q->free_head = idx;
	q->count--;
}

static inline void
list_append(struct fault_delayq *q, struct idx_list *l, uint32_t idx)
{
	q->node[idx].next = NIL;
	if (l->tail == NIL)
		l->head = idx;
	else
		q->node[l->tail].next = idx;
	l->tail = idx;
}

static inline uint32_t
list_pop(struct fault_delayq *q, struct idx_list *l)
{
	uint32_t idx = l->head;

	l->head = q->node[idx].next;
	if (l->head == NIL)
		l->tail = NIL;
	return idx;
}

/* Insert after every item due no later (stable for equal deadlines). */
static void
list_insert_sorted(struct fault_delayq *q, struct idx_list *l, uint32_t idx)
{
	uint64_t d = q->node[idx].deadline;
	uint32_t prev = NIL, cur;

	if (l->tail == NIL || q->node[l->tail].deadline <= d) {
		list_append(q, l, idx);
		return;
	}
	/* the tail is later than d, so the walk stops before the end */
	for (cur = l->head; q->node[cur].deadline <= d; cur = q->node[cur].next)
		prev = cur;
	q->node[idx].next = cur;
	if (prev == NIL)
		l->head = idx;
	else
		q->node[prev].next = idx;
}

/* ------------------------------------------------------------------ */
/* Timer wheel.                                                         */

/* t with its low bits cleared (0 when that is all of them). */
static inline uint64_t
high_part(uint64_t t, unsigned int low_bits)
{
	return low_bits >= 64 ? 0 : t >> low_bits << low_bits;
}

static inline struct idx_list *
wheel_slot(struct fault_delayq *q, unsigned int level, uint32_t j)
{
	return &q->slot[((size_t)level << q->slot_bits) | j];
}

static inline uint32_t
level_index(const struct fault_delayq *q, uint64_t t, unsigned int level)
{
	return (uint32_t)(t >> (level * q->slot_bits)) & q->slot_mask;
}

/* First tick of slot j of a level, in the rotation W is in. */
static inline uint64_t
slot_start(const struct fault_delayq *q, unsigned int level, uint32_t j)
{
	return high_part(q->tick, (level + 1) * q->slot_bits) |
	       ((uint64_t)j << (level * q->slot_bits));
}

static void
wheel_place(struct fault_delayq *q, uint32_t idx)
{
	uint64_t t = q->node[idx].deadline >> q->tick_shift;
	unsigned int level;
	uint32_t j;
	uint64_t start;

	if (t <= q->tick) {
		j = level_index(q, q->tick, 0);
		list_insert_sorted(q, wheel_slot(q, 0, j), idx);
		set_add(&q->level_set[0], j);
		return;
	}
	level = q->level_of_bit[63 - __builtin_clzll(t ^ q->tick)];
	j = level_index(q, t, level);
	if (level == 0)
		list_insert_sorted(q, wheel_slot(q, 0, j), idx);
	else
		list_append(q, wheel_slot(q, level, j), idx);
	set_add(&q->level_set[level], j);
	start = slot_start(q, level, j);
	if (start < q->next_event) {
		q->next_event = start;
		q->next_level = level;
	}
}

/* The first non-empty slot after W, lowest level first. */
static void
wheel_find_next(struct fault_delayq *q)
{
	for (unsigned int k = 0; k < q->n_levels; k++) {
		uint32_t j = set_next(&q->level_set[k],
				      level_index(q, q->tick, k) + 1);

		if (j != NONE) {
			q->next_event = slot_start(q, k, j);
			q->next_level = k;
			return;
		}
	}
	q->next_event = UINT64_MAX;
}

/* Move the items of an upper slot W has just reached lower down. */
static void
wheel_cascade(struct fault_delayq *q, unsigned int level)
{
	uint32_t j = level_index(q, q->tick, level);
	struct idx_list *l = wheel_slot(q, level, j);
	uint32_t idx = l->head;

	l->head = NIL;
	l->tail = NIL;
	set_del(&q->level_set[level], j);
	while (idx != NIL) {
		uint32_t nxt = q->node[idx].next;

		wheel_place(q, idx);
		idx = nxt;
	}
}

/* Take the due items at the head of the current slot (sorted). */
static uint32_t
wheel_emit_current(struct fault_delayq *q, uint64_t now,
		   struct fault_delay_item *out, uint32_t max)
{
	uint32_t j = level_index(q, q->tick, 0);
	struct idx_list *l = wheel_slot(q, 0, j);
	uint32_t n = 0;

	while (n < max && l->head != NIL && q->node[l->head].deadline <= now)
		emit(q, list_pop(q, l), &out[n++]);
	if (n > 0 && l->head == NIL)
		set_del(&q->level_set[0], j);
	q->wheel_count -= n;
	return n;
}

/*
 * Open slots up to now's tick, event by event. Before W moves on, the
 * current slot is empty: its tick is before now's, so all of it was due.
 */
static uint32_t
wheel_poll(struct fault_delayq *q, uint64_t now, struct fault_delay_item *out,
	   uint32_t max)
{
	uint64_t now_tick = now >> q->tick_shift;
	uint32_t n;

	if (q->wheel_count == 0) {
		if (now_tick > q->tick)
			q->tick = now_tick;
		return 0;
	}
	n = wheel_emit_current(q, now, out, max);
	while (n < max && q->tick < now_tick) {
		if (q->next_event > now_tick) {
			/* nothing in between: jump (the new slot is empty) */
			q->tick = now_tick;
			break;
		}
		q->tick = q->next_event;
		if (q->next_level > 0)
			wheel_cascade(q, q->next_level);
		wheel_find_next(q);
		n += wheel_emit_current(q, now, out + n, max - n);
	}
	return n;
}

static uint32_t
wheel_drain(struct fault_delayq *q, struct fault_delay_item *out, uint32_t max)
{
	uint32_t n = 0;

	for (unsigned int k = 0; k < q->n_levels && n < max; k++) {
		uint32_t j;

		while (n < max && (j = set_next(&q->level_set[k], 0)) != NONE) {
			struct idx_list *l = wheel_slot(q, k, j);

			while (n < max && l->head != NIL)
				emit(q, list_pop(q, l), &out[n++]);
			if (l->head == NIL)
				set_del(&q->level_set[k], j);
		}
	}
	q->wheel_count -= n;
	if (n > 0)
		wheel_find_next(q);
	return n;
}

/* ------------------------------------------------------------------ */
/* FIFOs and their heap.                                                */

static void
heap_sift_up(struct fault_delayq *q, uint32_t i)
{
	struct fifo_ref x = q->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (q->heap[parent].head_deadline <= x.head_deadline)
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = x;
}

static void
heap_sift_down(struct fault_delayq *q, uint32_t i)
{
	struct fifo_ref x = q->heap[i];
	uint32_t n = q->n_active;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n &&
		    q->heap[c + 1].head_deadline < q->heap[c].head_deadline)
			c++;
		if (x.head_deadline <= q->heap[c].head_deadline)
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	q->heap[i] = x;
}

static inline uint32_t
chunk_get(struct fault_delayq *q)
{
	uint32_t c = q->chunk_free;

	if (c != NIL)
		q->chunk_free = q->chunk_next[c];
	return c;
}

static inline void
chunk_put(struct fault_delayq *q, uint32_t c)
{
	q->chunk_next[c] = q->chunk_free;
	q->chunk_free = c;
}

/*
 * Copy @p it (and @p len bytes at @p data: a copy of its packet) to the
 * tail of a FIFO.
 * @return -1 when it is due before the FIFO's tail (it goes to the wheel).
 */
static int
fifo_push(struct fault_delayq *q, const struct fault_delay_item *it,
	  uint32_t fifo, const void *data, uint32_t len)
{
	struct dq_slot *sl;
	struct dq_fifo *f = &q->fifo[fifo];
	uint32_t c;

	if (f->head == NIL) {
		c = chunk_get(q);
		if (c == NIL)
			return -1;
		f->head = c;
		f->tail = c;
		f->head_pos = 0;
		f->tail_pos = 0;
		q->heap[q->n_active].head_deadline = it->deadline;
		q->heap[q->n_active].fifo = fifo;
		heap_sift_up(q, q->n_active++);
	} else if (f->last > it->deadline) {
		return -1;
	} else if (f->tail_pos == DQ_CHUNK_ITEMS) {
		c = chunk_get(q);
		if (c == NIL)   /* cannot happen with the pool's size */
			return -1;
		q->chunk_next[f->tail] = c;
		f->tail = c;
		f->tail_pos = 0;
	}
	sl = &q->chunk[f->tail].s[f->tail_pos++];
	sl->it = *it;
	sl->it.len = (uint8_t)len;
	if (len != 0) {
		memcpy(sl->data, data, len);
		sl->it.pkt = sl->data;
	} else {
		q->fifo_pkts++;
	}
	f->last = it->deadline;
	return 0;
}

/* Take the head of the FIFO at the heap's top and mend the heap. */
static void
fifo_take_top(struct fault_delayq *q, struct fault_delay_item *out)
{
	struct dq_fifo *f = &q->fifo[q->heap[0].fifo];
	const struct dq_slot *sl = &q->chunk[f->head].s[f->head_pos++];

	/* a few places ahead, both lines (the hardware may not look ahead) */
	__builtin_prefetch(sl + 4);
	__builtin_prefetch((const uint8_t *)(sl + 4) + 64);
	*out = sl->it;
	q->count--;
	q->fifo_pkts -= out->len == 0;
	if (f->head == f->tail && f->head_pos == f->tail_pos) {
		chunk_put(q, f->head);
		f->head = NIL;
		q->heap[0] = q->heap[--q->n_active];
	} else {
		if (f->head_pos == DQ_CHUNK_ITEMS) {
			uint32_t next = q->chunk_next[f->head];

			chunk_put(q, f->head);
			f->head = next;
			f->head_pos = 0;
		}
		/* the new head is due no earlier: it can only sink */
		q->heap[0].head_deadline = q->chunk[f->head].s[f->head_pos].it.deadline;
	}
	if (q->n_active > 1)
		heap_sift_down(q, 0);
}

static uint32_t
fifo_poll(struct fault_delayq *q, uint64_t now, struct fault_delay_item *out,
	  uint32_t max)
{
	uint32_t n = 0;

	while (n < max && q->n_active > 0 && q->heap[0].head_deadline <= now)
		fifo_take_top(q, &out[n++]);
	return n;
}

static uint32_t
fifo_drain(struct fault_delayq *q, struct fault_delay_item *out, uint32_t max)
{
	uint32_t n = 0;

	while (n < max && q->n_active > 0)
		fifo_take_top(q, &out[n++]);
	return n;
}

/* ------------------------------------------------------------------ */
/* Queue.                                                               */

static inline bool
is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* Bytes of a transparent huge page (x86-64, arm64 with 4 KB pages). */
#define DQ_HUGE_PAGE (2u << 20)

/*
 * @p bytes, zeroed and touched, aligned to @p align, on transparent huge
 * pages where the kernel gives them (madvise mode included): a queue of
 * 100k packets spans 16 MB, and on 4 KB pages every 32nd place was a TLB
 * miss, in a VM a two-level page walk. Freed with free().
 */
static void *
big_alloc(size_t align, size_t bytes)
{
	size_t size = (bytes + align - 1) & ~(align - 1);
	void *p;

	if (size >= DQ_HUGE_PAGE) {
		size = (size + DQ_HUGE_PAGE - 1) & ~(size_t)(DQ_HUGE_PAGE - 1);
		align = DQ_HUGE_PAGE;
	}
	p = aligned_alloc(align, size);
	if (p == NULL)
		return NULL;
	if (size >= DQ_HUGE_PAGE)
		(void)madvise(p, size, MADV_HUGEPAGE);  /* a hint: 4 KB pages work */
	memset(p, 0, size);     /* every page now rather than on the data path */
	return p;
}

static int
alloc_pool(struct fault_delayq *q, uint32_t capacity)
{
	size_t item_bytes = (size_t)capacity * sizeof(*q->items);
	size_t node_bytes = (size_t)capacity * sizeof(*q->node);

	/* both sizes are multiples of 16: round up to the alignment */
	q->items = big_alloc(64, item_bytes);
	q->node = big_alloc(64, node_bytes);
	if (q->items == NULL || q->node == NULL)
		return -1;
	for (uint32_t i = 0; i < capacity; i++)
		q->node[i].next = i + 1 < capacity ? i + 1 : NIL;
	q->free_head = 0;
	q->capacity = capacity;
	return 0;
}

static int
alloc_fifos(struct fault_delayq *q, uint32_t capacity, uint32_t n_fifos)
{
	size_t n = n_fifos > 0 ? n_fifos : 1;
	uint64_t n_chunks = (uint64_t)capacity / DQ_CHUNK_ITEMS + 2 * (uint64_t)n_fifos;

	q->n_fifos = n_fifos;
	q->fifo = malloc(n * sizeof(*q->fifo));
	q->heap = malloc(n * sizeof(*q->heap));
	q->chunk_free = NIL;
	if (q->fifo == NULL || q->heap == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		q->fifo[i].head = NIL;
	if (n_fifos == 0)
		return 0;
	if (n_chunks >= NIL)
		return -1;
	q->n_chunks = (uint32_t)n_chunks;
	q->chunk = big_alloc(sizeof(struct dq_chunk), n_chunks * sizeof(struct dq_chunk));
	q->chunk_next = malloc(n_chunks * sizeof(*q->chunk_next));
	if (q->chunk == NULL || q->chunk_next == NULL)
		return -1;
	for (uint32_t i = 0; i < q->n_chunks; i++)
		q->chunk_next[i] = i + 1 < q->n_chunks ? i + 1 : NIL;
	q->chunk_free = 0;
	return 0;
}

static int
alloc_wheel(struct fault_delayq *q, uint64_t tick_cycles, uint32_t wheel_slots,
	    uint64_t now)
{
	unsigned int tick_bits;
	size_t n_slots;

	q->tick_shift = (unsigned int)__builtin_ctzll(tick_cycles);
	q->slot_bits = (unsigned int)__builtin_ctz(wheel_slots);
	q->slot_mask = wheel_slots - 1;
	tick_bits = 64 - q->tick_shift;
	q->n_levels = (tick_bits + q->slot_bits - 1) / q->slot_bits;
	for (unsigned int b = 0; b < 64; b++)
		q->level_of_bit[b] = (uint8_t)(b / q->slot_bits);
	q->tick = now >> q->tick_shift;
	q->next_event = UINT64_MAX;
	n_slots = (size_t)q->n_levels << q->slot_bits;
	q->slot = malloc(n_slots * sizeof(*q->slot));
	q->level_set = calloc(q->n_levels, sizeof(*q->level_set));
	if (q->slot == NULL || q->level_set == NULL)
		return -1;
	memset(q->slot, 0xff, n_slots * sizeof(*q->slot));
	for (unsigned int k = 0; k < q->n_levels; k++)
		if (set_init(&q->level_set[k], wheel_slots) < 0)
			return -1;
	return 0;
}

struct fault_delayq *
fault_delayq_create(uint32_t capacity, uint32_t n_fifos, uint64_t tick_cycles,
		    uint32_t wheel_slots, uint64_t now)
{
	struct fault_delayq *q;

	/* NIL must never be a valid index; one slot per level cannot count */
	if (capacity == 0 || capacity == NIL || !is_pow2(tick_cycles) ||
	    wheel_slots < 2 || !is_pow2(wheel_slots))
		return NULL;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	if (alloc_pool(q, capacity) < 0 || alloc_fifos(q, capacity, n_fifos) < 0 ||
	    alloc_wheel(q, tick_cycles, wheel_slots, now) < 0) {
		fault_delayq_free(q);
		return NULL;
	}
	return q;
}

void
fault_delayq_free(struct fault_delayq *q)
{
	if (q == NULL)
		return;
	if (q->level_set != NULL)
		for (unsigned int k = 0; k < q->n_levels; k++)
			set_fini(&q->level_set[k]);
	free(q->level_set);
	free(q->slot);
	free(q->chunk_next);
	free(q->chunk);
	free(q->heap);
	free(q->fifo);
	free(q->node);
	free(q->items);
	free(q);
}

int
fault_delayq_push(struct fault_delayq *q, const struct fault_delay_item *it,
		  uint32_t fifo)
{
	uint32_t idx;

	if (q->count >= q->capacity)
		return -1;
	q->count++;
	if (fifo < q->n_fifos && fifo_push(q, it, fifo, NULL, 0) == 0)
		return 0;
	/* the wheel's pool has room: it holds capacity, FIFO items none */
	idx = pool_get(q);
	q->items[idx] = *it;
	q->node[idx].deadline = it->deadline;
	q->wheel_count++;
	wheel_place(q, idx);
	return 0;
}

int
fault_delayq_push_copy(struct fault_delayq *q,
		       const struct fault_delay_item *it, uint32_t fifo,
		       const void *data, uint32_t len)
{
	if (q->count >= q->capacity || fifo >= q->n_fifos || len == 0 ||
	    len > FAULT_DELAY_INLINE || fifo_push(q, it, fifo, data, len) < 0)
		return -1;
	q->count++;
	return 0;
}

/*
 * When a poll fills out, the source served second may still have due
 * items; the next poll serves it first.
 */
uint32_t
fault_delayq_poll(struct fault_delayq *q, uint64_t now,
		  struct fault_delay_item *out, uint32_t max)
{
	uint32_t n;

	if (q->count == 0 || max == 0)
		return 0;
	if (q->wheel_first) {
		n = wheel_poll(q, now, out, max);
		n += fifo_poll(q, now, out + n, max - n);
	} else {
		n = fifo_poll(q, now, out, max);
		n += wheel_poll(q, now, out + n, max - n);
	}
	if (n == max)
		q->wheel_first = !q->wheel_first;
	return n;
}

uint32_t
fault_delayq_drain(struct fault_delayq *q, struct fault_delay_item *out,
		   uint32_t max)
{
	uint32_t n = fifo_drain(q, out, max);

	return n + wheel_drain(q, out + n, max - n);
}

/*
 * A walk over the items next in line in the FIFO whose head is due
 * first: addresses only (chunk links, never a place's bytes), and the
 * callers take a burst's worth, never the whole FIFO.
 */
struct place_walk {
	const struct dq_fifo *f;        /* NULL: no FIFO holds anything */
	uint32_t c, pos;
};

static inline void
walk_begin(const struct fault_delayq *q, struct place_walk *w)
{
	w->f = q->n_active ? &q->fifo[q->heap[0].fifo] : NULL;
	w->c = w->f ? w->f->head : NIL;
	w->pos = w->f ? w->f->head_pos : 0;
}

/* The next place, or NULL past the FIFO's tail. */
static inline const struct dq_slot *
walk_next(const struct fault_delayq *q, struct place_walk *w)
{
	if (w->f == NULL || (w->c == w->f->tail && w->pos >= w->f->tail_pos))
		return NULL;
	if (w->pos == DQ_CHUNK_ITEMS) {
		w->c = q->chunk_next[w->c];
		w->pos = 0;
	}
	return &q->chunk[w->c].s[w->pos++];
}

void
fault_delayq_prefetch(const struct fault_delayq *q, uint32_t max)
{
	struct place_walk w;
	const struct dq_slot *sl;

	walk_begin(q, &w);
	for (uint32_t i = 0; i < max && (sl = walk_next(q, &w)) != NULL; i++) {
		__builtin_prefetch(sl);
		__builtin_prefetch((const uint8_t *)sl + 64);
	}
}

uint32_t
fault_delayq_peek(const struct fault_delayq *q, void **pkts, uint32_t max)
{
	struct place_walk w;
	const struct dq_slot *sl;
	uint32_t n = 0;

	/* Only copies held: nothing to hand out, and no place to read (a
	 * place read now would wait for what fault_delayq_prefetch() asked). */
	if (q->fifo_pkts == 0)
		return 0;
	walk_begin(q, &w);
	for (uint32_t i = 0; i < max && (sl = walk_next(q, &w)) != NULL; i++)
		if (sl->it.len == 0)
			pkts[n++] = sl->it.pkt;
	return n;
}

uint32_t
fault_delayq_count(const struct fault_delayq *q)
{
	return q->count;
}
