/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-worker flow table: one entry for both directions of a flow.
 *
 * Keys are canonical (the lower address/port side first), so a packet and
 * its reply hash to the same entry. The table is an rte_hash used by one
 * worker only (no locks, no multi-writer flags); an entry lives in a
 * preallocated array at the position rte_hash gives its key, so adding a
 * flow never allocates. A full table is counted and the caller forwards the
 * packet without state.
 */
#ifndef UMBRA_FLOW_H
#define UMBRA_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/**
 * Canonical 5-tuple: side a is the lower (address, port). Padded to 48
 * bytes, a size rte_hash compares with vector instructions.
 */
struct flow_key {
	uint8_t addr_a[16];
	uint8_t addr_b[16];
	uint16_t port_a;
	uint16_t port_b;
	uint8_t proto;
	uint8_t family;
	uint8_t pad[10];
};
_Static_assert(sizeof(struct flow_key) == 48, "flow_key is six 8-byte words");

/** Direction of a packet relative to the flow's first packet. */
enum flow_dir {
	FLOW_DIR_ORIG = 0,  /**< same direction as the packet that created it */
	FLOW_DIR_REPLY = 1,
};

/** TCP life of a flow, as far as a middlebox can tell. */
enum flow_tcp_state {
	FLOW_TCP_NONE = 0,   /**< not TCP, or mid-stream pick-up */
	FLOW_TCP_SYN_SENT,
	FLOW_TCP_SYNACK_SEEN,
	FLOW_TCP_ESTABLISHED,
	FLOW_TCP_FIN_WAIT,   /**< FIN seen in one direction */
	FLOW_TCP_CLOSED,     /**< FIN both ways, or RST */
};

/**
 * What to do with a packet of one direction (filled by the data path).
 * The destination MAC of a rewrite lives in flow_entry.mac, off the
 * per-packet cache line.
 */
struct flow_action {
	uint16_t port;          /**< egress port index */
	uint16_t vlan;          /**< VLAN TCI to send with; FLOW_VLAN_NONE: untagged */
	uint8_t rewrite_mac;    /**< 1: dst MAC from flow_entry.mac, src the port's */
	uint8_t pad;
};
#define FLOW_VLAN_NONE 0xffff

/** Flow verdicts. */
enum flow_verdict {
	FLOW_FORWARD = 0,
	FLOW_DENY = 1,
};

/**
 * State of one flow, at most 128 bytes (two cache lines). The first line
 * holds what every packet reads or writes; counters are indexed by enum
 * flow_dir.
 */
struct flow_entry {
	/* line 1: what every packet reads or writes */
	uint64_t last_tsc;
	uint64_t pkts[2];
	uint64_t bytes[2];
	struct flow_action act[2]; /**< per direction */
	uint16_t stage;         /**< stage the flow was given at its first packet */
	uint16_t from_stage;    /**< stage of the originator */
	uint16_t rule;          /**< inter-stage rule index, or FLOW_RULE_NONE */
	uint8_t orig_side;      /**< 0: originator is key side a, 1: side b */
	uint8_t verdict;        /**< enum flow_verdict */
	uint8_t shadow;         /**< shadow profile index + 1 (lib/shadow); 0: none.
				     Read per packet: on the first line. */
	uint8_t health;         /**< cohort health and dependency-map bits (lib/dp
				     dp_worker_health.c); read per packet, so on
				     the first line: a UDP packet touches no other */
	/* line 2: per flow, MAC rewrites, TCP tracking (read by TCP packets) */
	uint64_t first_tsc;
	uint8_t mac[2][6];      /**< rewrite destination MAC per direction */
	uint32_t snd_max[2];    /**< highest TCP seq + len seen per direction */
	uint32_t retrans[2];    /**< TCP segments below snd_max, per direction */
	uint32_t rtt_us;        /**< SYN to the ACK that completes the handshake */
	uint32_t gen;           /**< generation that classified the flow */
	uint8_t service;        /**< service index (lib/steer), 0xff: none */
	uint8_t steer;          /**< how it was steered (enum steer_how) */
	uint8_t flags_seen[2];  /**< PKT_TCP_* bits seen per direction */
	uint8_t tcp_state;      /**< enum flow_tcp_state */
	uint8_t proto;          /**< IP protocol, for aging without the key */
	uint8_t in_use;
	/** Delay faults that keep order: latest deadline given per direction
	 * (TSC >> FAULT_ORDER_SHIFT, wrapping), kept by lib/fault. */
	uint32_t fault_order[2];
} __attribute__((aligned(64)));
#define FLOW_RULE_NONE 0xffff

_Static_assert(sizeof(struct flow_entry) <= 128, "flow state must fit 128 bytes");
_Static_assert(offsetof(struct flow_entry, health) < 64, "health is read per packet");
_Static_assert(offsetof(struct flow_entry, first_tsc) <= 64,
	       "per-packet fields must share the first cache line");

/** Counters kept by the table itself (single writer: the owning worker). */
struct flow_table_stats {
	uint64_t added;
	uint64_t table_full;    /**< adds refused: the packet went stateless */
	uint64_t expired_idle;
	uint64_t expired_closed;
	uint64_t migrated;      /**< dropped so that their client's next packet decides them again */
	uint64_t active;
};

/** Aging timeouts in TSC cycles. */
struct flow_timeouts {
	uint64_t tcp_closed;
	uint64_t tcp_idle;
	uint64_t udp_idle;
	uint64_t other_idle;
	/** Flows decided by a generation below this are migrated: the next
	 * packet from their client decides them again (flow_table_migrate()). */
	uint32_t min_gen;
};

struct flow_table;

/**
 * Create a table of @p size entries on NUMA @p socket.
 * @return NULL on failure (rte_errno set).
 */
struct flow_table *flow_table_create(const char *name, uint32_t size,
				     int socket);

/** Free a table (NULL is fine). */
void flow_table_free(struct flow_table *ft);

/** Bytes of memory the table uses (hash + entries), for reports. */
uint64_t flow_table_memory(const struct flow_table *ft);

/**
 * Build the canonical key of a parsed IP packet.
 * @return the side of the key the packet's source is on (0: a, 1: b).
 */
int flow_key_from_meta(const struct pkt_meta *m, struct flow_key *k);

/**
 * Look up @p n keys (n <= 64). positions[i] is the entry index, or a
 * negative value when the flow is unknown.
 */
void flow_table_lookup_bulk(struct flow_table *ft, const struct flow_key **keys,
			    uint32_t n, int32_t *positions);

/**
 * Add a new flow. The entry is zeroed and stamped with @p now;
 * @p orig_side is the side (from flow_key_from_meta) of its first packet.
 * @return the entry index, or negative when the table is full (counted).
 */
int32_t flow_table_add(struct flow_table *ft, const struct flow_key *k,
		       int orig_side, uint64_t now);

/** Entry at @p pos (from lookup or add). */
struct flow_entry *flow_table_entry(struct flow_table *ft, int32_t pos);

/**
 * Prefetch the per-packet cache line of the entry at @p pos, and with
 * @p tcp the second one too (TCP tracking lives there).
 */
void flow_table_prefetch(struct flow_table *ft, int32_t pos, bool tcp);

/**
 * A seeded 16-bit hash of a flow's canonical key, the same for both
 * directions: CRC32C of the key from @p seed, finished with murmur3's mixer
 * (CRC is linear; the mixer spreads every input bit over the top half,
 * which is returned). Steering and fault selection compare it with a
 * fraction of FLOW_HASH_SPAN, so a flow chosen at a small fraction stays chosen at
 * a larger one, and another seed chooses other flows.
 */
uint32_t flow_key_hash16(const struct flow_key *k, uint32_t seed);

/** Flow-hash points: flow_key_hash16() is below this; a fraction of flows
 *  is a threshold out of it. */
#define FLOW_HASH_SPAN 65536u

/**
 * The threshold that chooses @p fraction (0..1) of flows: a flow is chosen
 * when its flow_key_hash16() is below it. Out-of-range fractions clamp.
 */
static inline uint32_t
flow_hash_threshold(double fraction)
{
	double t = fraction * FLOW_HASH_SPAN;

	return t >= FLOW_HASH_SPAN ? FLOW_HASH_SPAN : (uint32_t)(t > 0 ? t : 0);
}

/** Direction of a packet whose source is on @p side of the key. */
static inline enum flow_dir
flow_dir_of(const struct flow_entry *e, int side)
{
	return side == e->orig_side ? FLOW_DIR_ORIG : FLOW_DIR_REPLY;
}

/**
 * Account one packet: counters, TCP flags and state, retransmissions and
 * handshake RTT. @p tsc_hz converts cycles to microseconds.
 */
void flow_entry_update(struct flow_entry *e, const struct pkt_meta *m,
		       enum flow_dir dir, uint32_t pkt_len, uint64_t now,
		       uint64_t tsc_hz);

/** Why flow_table_age() removed a flow. */
enum flow_removal {
	FLOW_REMOVED_IDLE = 0,  /**< idle longer than its timeout */
	FLOW_REMOVED_CLOSED,    /**< a closed TCP flow past tcp_closed */
	FLOW_REMOVED_MIGRATED,  /**< decided below min_gen; flow_table_migrate() */
};

/**
 * Called by flow_table_age() for each flow it removes, before the slot is
 * freed: @p e and @p k are still the flow's (the callee may change @p e;
 * the slot is zeroed when reused). Runs on the table's owner, inside its
 * aging slice: it must not block, allocate or take locks.
 */
typedef void (*flow_removed_fn)(void *ctx, int32_t pos, struct flow_entry *e,
				const struct flow_key *k, enum flow_removal why);

/**
 * Set (or clear, @p fn NULL) the removal callback of @p ft. Without one,
 * removals cost nothing more.
 */
void flow_table_set_removed(struct flow_table *ft, flow_removed_fn fn, void *ctx);

/**
 * True while flows decided below the aging sweep's min_gen may remain: from
 * a new min_gen until a full sweep meets none. Cheap: read once a burst.
 */
bool flow_table_migrating(const struct flow_table *ft);

/** True if the flow at @p pos was decided below the current min_gen. */
bool flow_table_is_migrated(const struct flow_table *ft, int32_t pos);

/**
 * Remove the flow at @p pos so that the packet in hand (its client's: a
 * reply must never become the originator) adds it again under the current
 * generation. Calls the removal callback with FLOW_REMOVED_MIGRATED.
 */
void flow_table_migrate(struct flow_table *ft, int32_t pos);

/**
 * Expire idle and closed flows, visiting at most @p budget entries from
 * where the previous call stopped (so aging costs a bounded slice of time).
 * Each removal calls the table's removal callback, if set. Flows below
 * @p to->min_gen are not removed here: they are counted, so that
 * flow_table_migrating() ends once none is left.
 * @return number of flows removed.
 */
uint32_t flow_table_age(struct flow_table *ft, const struct flow_timeouts *to,
			uint64_t now, uint32_t budget);

/** The table's counters. */
const struct flow_table_stats *flow_table_stats(const struct flow_table *ft);

/** Key stored at @p pos (for reports), or NULL. */
const struct flow_key *flow_table_key(const struct flow_table *ft, int32_t pos);

/** Capacity of the table (number of entry slots). */
uint32_t flow_table_capacity(const struct flow_table *ft);

#endif
