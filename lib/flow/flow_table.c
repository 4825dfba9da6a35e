/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: the flow table. An rte_hash owned by one worker (no
 * concurrency flags, no locks) maps canonical keys to positions; entries
 * live in a preallocated array at those positions.
 *
 * Two choices differ from a plain rte_hash, both measured (1<<20 slots,
 * 48-byte keys):
 *  - The hash ends in a non-linear mix. CRC32 alone is linear, and linear
 *    hashes crowd some structured key sets into few buckets: plain
 *    rte_hash_crc filled only 75% of the table before refusing keys
 *    whose two addresses step together (10.0.0.i <-> 11.0.0.i), a
 *    three-word CRC without the mix 81% with 256 clients x 4096 ports.
 *    With the mix every pattern tried behaves like random keys (about 98%
 *    before the first refusal without the extendable buckets below).
 *  - RTE_HASH_EXTRA_FLAGS_EXT_TABLE: without it, even random keys fill a
 *    cuckoo table of 2^n entries only to about 98%, so a table sized for
 *    1M flows would refuse flows below 1M. With it, "size" is the number
 *    of flows the table holds; the cost is one more bucket array (about
 *    8 bytes per flow), counted in flow_table_memory().
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "flow.h"

struct flow_table {
	struct rte_hash *hash;
	struct flow_entry *entries;
	uint32_t capacity;      /**< entry slots: every position rte_hash can give */
	uint32_t age_cursor;    /**< where the next aging pass starts */
	uint64_t memory;        /**< bytes taken from the heaps at creation */
	flow_removed_fn removed;  /**< removal callback, NULL: none */
	void *removed_ctx;
	/* Migration: flows decided below min_gen wait for their client's next
	 * packet. The sweep counts them; a full sweep that meets none ends it. */
	uint32_t min_gen;
	bool migrating;
	uint32_t sweep_left;    /**< entries the current counting sweep has to visit */
	uint32_t old_seen;      /**< flows below min_gen met by that sweep */
	struct flow_table_stats stats;
};

/* Bytes allocated on all EAL heaps (rte_malloc and memzones). */
static uint64_t
heap_used(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			sum += st.heap_allocsz_bytes;
	}
	return sum;
}

static inline uint64_t
word(const void *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline void
word_store(void *p, uint64_t w)
{
	memcpy(p, &w, 8);
}

/* murmur3's 32-bit finaliser: every input bit reaches every output bit. */
static inline uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * rte_hash's hash function for flow keys: CRC32 (SSE4.2 on x86) over the
 * first five words in three independent chains (addr_a, addr_b, ports and
 * protocol) that the CPU runs in parallel, then a non-linear mix. The sixth
 * word is padding, always zero. No branch on the address family.
 */
static uint32_t
flow_key_hash(const void *key, uint32_t len, uint32_t init)
{
	const uint8_t *k = key;
	uint32_t a = rte_hash_crc_8byte(word(k), init);
	uint32_t b = rte_hash_crc_8byte(word(k + 16), init ^ 0x9e3779b9u);
	uint32_t c = rte_hash_crc_8byte(word(k + 32), init ^ 0x7f4a7c15u);

	(void)len;
	a = rte_hash_crc_8byte(word(k + 8), a);
	b = rte_hash_crc_8byte(word(k + 24), b);
	return mix32(a ^ (b << 11 | b >> 21) ^ (c << 22 | c >> 10));
}

struct flow_table *
flow_table_create(const char *name, uint32_t size, int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = size,
		.key_len = sizeof(struct flow_key),
		.hash_func = flow_key_hash,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	uint64_t before = heap_used();
	struct flow_table *ft;
	int32_t max_id;

	if (name == NULL || size == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	ft = rte_zmalloc_socket("flow_table", sizeof(*ft), RTE_CACHE_LINE_SIZE, socket);
	if (ft == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	rte_errno = 0;
	ft->hash = rte_hash_create(&hp);
	if (ft->hash == NULL) {
		if (rte_errno == 0)
			rte_errno = ENOMEM;
		goto fail;
	}
	/* Positions run from 0 to rte_hash_max_key_id() included. */
	max_id = rte_hash_max_key_id(ft->hash);
	if (max_id < 0) {
		rte_errno = EINVAL;
		goto fail;
	}
	ft->capacity = (uint32_t)max_id + 1;
	ft->entries = rte_zmalloc_socket("flow_entries",
					 (size_t)ft->capacity * sizeof(struct flow_entry),
					 RTE_CACHE_LINE_SIZE, socket);
	if (ft->entries == NULL) {
		rte_errno = ENOMEM;
		goto fail;
	}
	/* Measured, not estimated: everything rte_hash (buckets, key store,
	 * rings) and we took from the heaps, allocator overhead included.
	 * Tables are created at start-up, one at a time. */
	ft->memory = heap_used() - before;
	return ft;
fail:
	flow_table_free(ft);
	return NULL;
}

void
flow_table_free(struct flow_table *ft)
{
	if (ft == NULL)
		return;
	rte_hash_free(ft->hash);
	rte_free(ft->entries);
	rte_free(ft);
}

uint64_t
flow_table_memory(const struct flow_table *ft)
{
	return ft->memory;
}

uint32_t
flow_table_capacity(const struct flow_table *ft)
{
	return ft->capacity;
}

const struct flow_table_stats *
flow_table_stats(const struct flow_table *ft)
{
	return &ft->stats;
}

/* An 8-byte word of an address as a number in network order, so that
 * comparing words compares addresses as memcmp() would. */
static inline uint64_t
addr_word(const uint8_t *p)
{
	return rte_be_to_cpu_64(word(p));
}

/*
 * Keys are built in 8-byte words, the size rte_hash_crc reads them in, so
 * the hash loads forward from the stores. Side a is the lower (address,
 * port) in network byte order; the choice is made without branches, as
 * packet directions are not predictable.
 */
int
flow_key_from_meta(const struct pkt_meta *m, struct flow_key *k)
{
	/* Ports only where the parser found an L4 header that has them. */
	unsigned int ports = (m->flags & PKT_F_L4) &&
			     (m->l4_proto == 6 || m->l4_proto == 17);
	uint64_t s0 = word(m->src), s1 = word(m->src + 8);
	uint64_t d0 = word(m->dst), d1 = word(m->dst + 8);
	uint64_t sn0 = addr_word(m->src), sn1 = addr_word(m->src + 8);
	uint64_t dn0 = addr_word(m->dst), dn1 = addr_word(m->dst + 8);
	uint16_t sp = ports ? m->sport : 0, dp = ports ? m->dport : 0;
	unsigned int side = (sn0 > dn0) |
			    ((sn0 == dn0) & ((sn1 > dn1) | ((sn1 == dn1) & (sp > dp))));
	uint64_t mask = -(uint64_t)side;
	uint16_t pa = (uint16_t)(sp ^ ((sp ^ dp) & (uint16_t)mask));
	uint16_t pb = (uint16_t)(sp ^ dp ^ pa);
	uint64_t a0 = s0 ^ ((s0 ^ d0) & mask);
	uint64_t a1 = s1 ^ ((s1 ^ d1) & mask);

	/* Stored word by word straight into the key: words built in an array
	 * went through the stack and came back as 16-byte loads that no
	 * store could forward (perf: most of this function's time). */
	word_store(k->addr_a, a0);
	word_store(k->addr_a + 8, a1);
	word_store(k->addr_b, s0 ^ d0 ^ a0);
	word_store(k->addr_b + 8, s1 ^ d1 ^ a1);
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	/* port_a, port_b, proto, family, then zero padding */
	word_store(&k->port_a, (uint64_t)pa | (uint64_t)pb << 16 |
		   (uint64_t)m->l4_proto << 32 | (uint64_t)pkt_ip_family(m) << 40);
	word_store(k->pad + 2, 0);
#else
	memset(&k->port_a, 0, 16);
	k->port_a = pa;
	k->port_b = pb;
	k->proto = m->l4_proto;
	k->family = (uint8_t)pkt_ip_family(m);
#endif
	return (int)side;
}

void
flow_table_lookup_bulk(struct flow_table *ft, const struct flow_key **keys,
		       uint32_t n, int32_t *positions)
{
	while (n > 0) {
		uint32_t c = n < RTE_HASH_LOOKUP_BULK_MAX ? n : RTE_HASH_LOOKUP_BULK_MAX;

		rte_hash_lookup_bulk(ft->hash, (const void **)keys, c, positions);
		keys += c;
		positions += c;
		n -= c;
	}
}

int32_t
flow_table_add(struct flow_table *ft, const struct flow_key *k, int orig_side,
	       uint64_t now)
{
	int32_t pos = rte_hash_add_key(ft->hash, k);
	struct flow_entry *e;

	if (unlikely(pos < 0)) { /* -ENOSPC: the packet goes stateless */
		ft->stats.table_full++;
		return pos;
	}
	e = &ft->entries[pos];
	/* The key was there already: keep its state, count nothing. */
	if (unlikely(e->in_use))
		return pos;
	memset(e, 0, sizeof(*e));
	e->first_tsc = e->last_tsc = now;
	e->orig_side = (uint8_t)orig_side;
	e->proto = k->proto;
	e->in_use = 1;
	e->rule = FLOW_RULE_NONE;
	e->act[0].vlan = e->act[1].vlan = FLOW_VLAN_NONE;
	ft->stats.added++;
	ft->stats.active++;
	return pos;
}

struct flow_entry *
flow_table_entry(struct flow_table *ft, int32_t pos)
{
	return &ft->entries[pos];
}

void
flow_table_prefetch(struct flow_table *ft, int32_t pos, bool tcp)
{
	rte_prefetch0(&ft->entries[pos]);
	if (tcp)
		rte_prefetch0((const uint8_t *)&ft->entries[pos] + RTE_CACHE_LINE_SIZE);
}

const struct flow_key *
flow_table_key(const struct flow_table *ft, int32_t pos)
{
	void *key;

	if (pos < 0 || (uint32_t)pos >= ft->capacity || !ft->entries[pos].in_use ||
	    rte_hash_get_key_with_position(ft->hash, pos, &key) != 0)
		return NULL;
	return key;
}

static inline uint64_t
flow_timeout(const struct flow_entry *e, const struct flow_timeouts *to)
{
	if (e->proto == 6)
		return e->tcp_state == FLOW_TCP_CLOSED ? to->tcp_closed : to->tcp_idle;
	return e->proto == 17 ? to->udp_idle : to->other_idle;
}

void
flow_table_set_removed(struct flow_table *ft, flow_removed_fn fn, void *ctx)
{
	ft->removed = fn;
	ft->removed_ctx = ctx;
}

static void
flow_remove(struct flow_table *ft, uint32_t pos, bool migrated)
{
	struct flow_entry *e = &ft->entries[pos];
	enum flow_removal why = migrated ? FLOW_REMOVED_MIGRATED :
				e->tcp_state == FLOW_TCP_CLOSED ? FLOW_REMOVED_CLOSED :
				FLOW_REMOVED_IDLE;
	void *key;

	/* Delete by a copy: the key lives in the slot being freed. */
	if (rte_hash_get_key_with_position(ft->hash, (int32_t)pos, &key) == 0) {
		struct flow_key copy;

		memcpy(&copy, key, sizeof(copy));
		if (ft->removed != NULL)
			ft->removed(ft->removed_ctx, (int32_t)pos, e, &copy, why);
		rte_hash_del_key(ft->hash, &copy);
	}
	if (why == FLOW_REMOVED_MIGRATED)
		ft->stats.migrated++;
	else if (why == FLOW_REMOVED_CLOSED)
		ft->stats.expired_closed++;
	else
		ft->stats.expired_idle++;
	e->in_use = 0;
	ft->stats.active--;
}

bool
flow_table_migrating(const struct flow_table *ft)
{
	return ft->migrating;
}

bool
flow_table_is_migrated(const struct flow_table *ft, int32_t pos)
{
	return ft->entries[pos].gen < ft->min_gen;
}

void
flow_table_migrate(struct flow_table *ft, int32_t pos)
{
	flow_remove(ft, (uint32_t)pos, true);
}

/* Start counting flows below a new min_gen, or end the count after a
 * full sweep that met none (each later sweep counts again). */
static void
migration_track(struct flow_table *ft, uint32_t min_gen, uint32_t visited)
{
	if (min_gen != ft->min_gen) {
		ft->min_gen = min_gen;
		ft->migrating = true;
		ft->sweep_left = ft->capacity;
		ft->old_seen = 0;
		return;
	}
	if (!ft->migrating)
		return;
	if (visited < ft->sweep_left) {
		ft->sweep_left -= visited;
		return;
	}
	ft->migrating = ft->old_seen != 0;
	ft->sweep_left = ft->capacity;
	ft->old_seen = 0;
}

uint32_t
flow_table_age(struct flow_table *ft, const struct flow_timeouts *to,
	       uint64_t now, uint32_t budget)
{
	uint32_t removed = 0, pos = ft->age_cursor;

	if (budget > ft->capacity)
		budget = ft->capacity;
	migration_track(ft, to->min_gen, 0);
	for (uint32_t i = 0; i < budget; i++) {
		const struct flow_entry *e = &ft->entries[pos];

		/* A last_tsc ahead of now (a burst stamped after the caller
		 * read the clock) is not idle. */
		if (!e->in_use) {
			/* nothing */
		} else if (now > e->last_tsc && now - e->last_tsc > flow_timeout(e, to)) {
			flow_remove(ft, pos, false);
			removed++;
		} else if (e->gen < ft->min_gen) {
			ft->old_seen++;
		}
		pos = pos + 1 == ft->capacity ? 0 : pos + 1;
	}
	ft->age_cursor = pos;
	migration_track(ft, to->min_gen, budget);
	return removed;
}

uint32_t
flow_key_hash16(const struct flow_key *k, uint32_t seed)
{
	uint32_t h = rte_hash_crc(k, sizeof(*k), seed);

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h >> 16;
}
