/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: the flow table. An rte_hash owned by one worker (no
 * concurrency flags, no locks) maps canonical keys to positions; entries
 * live in a preallocated array at those positions.
 */
#include <string.h>

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
	uint64_t memory;        /**< bytes taken from the heap at creation */
	struct flow_table_stats stats;
};

static uint64_t
heap_used(int socket)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats(socket, &st) != 0)
		return 0;
	return st.heap_allocsz_bytes;
}

static inline uint64_t word(const uint8_t *p);

/*
 * rte_hash's hash function for flow keys: CRC32 (SSE4.2) over the words
 * that can be non-zero, in three independent chains that the CPU runs in
 * parallel. IPv4 keys use the low half of each address field only.
 */
static uint32_t
flow_key_hash(const void *key, uint32_t len, uint32_t init)
{
	const uint8_t *k = key;
	uint32_t a = rte_hash_crc_8byte(word(k), init);
	uint32_t b = rte_hash_crc_8byte(word(k + 16), init ^ 0x9e3779b9u);
	uint32_t c = rte_hash_crc_8byte(word(k + 32), init ^ 0x7f4a7c15u);

	(void)len;
	if (((const struct flow_key *)key)->family == 6) {
		a = rte_hash_crc_8byte(word(k + 8), a);
		b = rte_hash_crc_8byte(word(k + 24), b);
	}
	return a ^ (b << 11 | b >> 21) ^ (c << 22 | c >> 10);
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
	};
	uint64_t before = heap_used(socket);
	struct flow_table *ft;

	ft = rte_zmalloc_socket("flow_table", sizeof(*ft), RTE_CACHE_LINE_SIZE, socket);
	if (ft == NULL)
		return NULL;
	ft->hash = rte_hash_create(&hp);
	if (ft->hash == NULL)
		goto fail;
	ft->capacity = (uint32_t)rte_hash_max_key_id(ft->hash) + 1;
	ft->entries = rte_zmalloc_socket("flow_entries",
					 (size_t)ft->capacity * sizeof(struct flow_entry),
					 RTE_CACHE_LINE_SIZE, socket);
	if (ft->entries == NULL) {
		rte_errno = ENOMEM;
		goto fail;
	}
	ft->memory = heap_used(socket) - before;
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

static inline uint64_t
word(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

/*
 * Keys are built and compared in 8-byte words, the size the parser wrote
 * them in and the size rte_hash_crc reads them in (store forwarding).
 * Any total order makes keys canonical; word order is the cheapest.
 */
int
flow_key_from_meta(const struct pkt_meta *m, struct flow_key *k)
{
	bool ports = (m->flags & PKT_F_L4) && (m->l4_proto == 6 || m->l4_proto == 17);
	uint64_t s0 = word(m->src), s1 = word(m->src + 8);
	uint64_t d0 = word(m->dst), d1 = word(m->dst + 8);
	uint16_t sp = ports ? m->sport : 0, dp = ports ? m->dport : 0;
	int side;
	uint64_t w[6];

	if (s0 != d0)
		side = s0 > d0;
	else if (s1 != d1)
		side = s1 > d1;
	else
		side = sp > dp;
	w[0] = side ? d0 : s0;
	w[1] = side ? d1 : s1;
	w[2] = side ? s0 : d0;
	w[3] = side ? s1 : d1;
	/* port_a, port_b, proto, family, then zero padding */
	w[4] = (uint64_t)(side ? dp : sp) | (uint64_t)(side ? sp : dp) << 16 |
	       (uint64_t)m->l4_proto << 32 | (uint64_t)pkt_ip_family(m) << 40;
	w[5] = 0;
	memcpy(k, w, sizeof(w));
	return side;
}

void
flow_table_lookup_bulk(struct flow_table *ft, const struct flow_key **keys,
		       uint32_t n, int32_t *positions)
{
	if (n == 0)
		return;
	rte_hash_lookup_bulk(ft->hash, (const void **)keys, n, positions);
}

int32_t
flow_table_add(struct flow_table *ft, const struct flow_key *k, int orig_side,
	       uint64_t now)
{
	int32_t pos = rte_hash_add_key(ft->hash, k);
	struct flow_entry *e;

	if (pos < 0) {
		ft->stats.table_full++;
		return pos;
	}
	e = &ft->entries[pos];
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
flow_table_prefetch(struct flow_table *ft, int32_t pos)
{
	rte_prefetch0(&ft->entries[pos]);
}

const struct flow_key *
flow_table_key(const struct flow_table *ft, int32_t pos)
{
	void *key;

	if (!ft->entries[pos].in_use ||
	    rte_hash_get_key_with_position(ft->hash, pos, &key) != 0)
		return NULL;
	return key;
}

static uint64_t
flow_timeout(const struct flow_entry *e, const struct flow_timeouts *to)
{
	if (e->proto == 6)
		return e->tcp_state == FLOW_TCP_CLOSED ? to->tcp_closed : to->tcp_idle;
	return e->proto == 17 ? to->udp_idle : to->other_idle;
}

uint32_t
flow_table_age(struct flow_table *ft, const struct flow_timeouts *to,
	       uint64_t now, uint32_t budget)
{
	uint32_t removed = 0, pos = ft->age_cursor;

	for (uint32_t i = 0; i < budget && i < ft->capacity; i++) {
		struct flow_entry *e = &ft->entries[pos];
		const struct flow_key *k;

		/* The key is fetched only for flows that expire. */
		if (e->in_use && now - e->last_tsc > flow_timeout(e, to) &&
		    (k = flow_table_key(ft, (int32_t)pos)) != NULL) {
			struct flow_key copy = *k; /* k points into the hash */

			if (e->tcp_state == FLOW_TCP_CLOSED)
				ft->stats.expired_closed++;
			else
				ft->stats.expired_idle++;
			rte_hash_del_key(ft->hash, &copy);
			e->in_use = 0;
			ft->stats.active--;
			removed++;
		}
		pos = pos + 1 == ft->capacity ? 0 : pos + 1;
	}
	ft->age_cursor = pos;
	return removed;
}
