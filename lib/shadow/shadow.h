/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shadow networks: a seeded fraction of a stage's new flows is cloned,
 * whole, to an isolated network where an unmodified server of a new
 * version answers; umbra plays the client toward it and never lets its
 * packets reach a client or production. Each flow is cut into exchanges
 * whose records go to the management core's comparator (lib/compare).
 *
 * The management core compiles profiles (YAML shadows:, or shadow/create)
 * into an immutable table published through the workers' RCU (a
 * gen_table_pub). A flow is chosen at its first packet by its seeded flow
 * hash against the profile's fraction, so the same flows are chosen again
 * for the same seed, and a flow is shadowed whole or not at all. Its
 * session (TCP state toward each target, stream parsers, held and unacked
 * segment copies) lives in the worker's fixed pool.
 *
 * Production is never harmed: shadow copies go through the profile's
 * packet-rate cap (rte_meter) and bounded queues; whatever does not fit is
 * dropped and counted, and production packets are sent as if nothing
 * happened. A worker that falls behind (full RX bursts, loop after loop)
 * sheds new flows (flows_shed) until it catches up: whole flows, so the
 * comparisons stay whole. Everything arriving on a shadow-role port is
 * consumed.
 *
 * Worker half: shadow_session.c (selection, cloning, sessions, shadow-port
 * input and proxy ARP/ND, records), shadow_tcp.c (the TCP session state
 * machine, pure). Management half: shadow_ctl.c.
 */
#ifndef UMBRA_SHADOW_H
#define UMBRA_SHADOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <rte_meter.h>

#include "compare.h"
#include "conf.h"
#include "flow.h"
#include "pkt.h"
#include "shadow_tcp.h"

struct gen_table_pub;
struct rte_hash;
struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/** flow_entry.shadow of a flow that is not shadowed (else profile index + 1). */
#define SHADOW_NONE 0
/** flow_entry.shadow_sess of a shadowed flow without a session yet. */
#define SHADOW_NO_SESSION UINT32_MAX
/** Records a worker's ring holds for the management core. */
#define SHADOW_RING_SIZE 16384
/** Mbufs a worker takes from the shadow pool at once for its copies. */
#define SHADOW_STASH 32
/** Targets of a profile: the shadow, and optionally a control replica. */
#define SHADOW_TARGETS 2

/** A compiled profile (TSC units). */
struct shadow_profile {
	uint32_t uid;           /**< unique over the process's life */
	uint8_t index;          /**< slot: counters and comparator profile */
	uint8_t compare;        /**< enum conf_shadow_compare */
	uint8_t n_targets;      /**< 1, or 2 with a control */
	uint8_t early_segments;
	uint16_t stage;
	int16_t service;
	int32_t proto;
	struct conf_prefix src, dst;
	struct conf_range sport, dport;
	uint32_t flow_threshold;/**< flow hash (16 bits) below this is chosen */
	uint32_t seed;
	uint64_t end_tsc;       /**< UINT64_MAX: no end */
	bool shed;              /**< new flows are shed while the worker is overloaded */
	uint64_t rto;           /**< first retransmission timeout, cycles */
	uint64_t handshake_timeout;
	bool capped;
	struct rte_meter_srtcm_profile meter; /**< packets, not bytes */
	uint16_t port[SHADOW_TARGETS];        /**< egress port index */
	uint16_t vlan[SHADOW_TARGETS];        /**< FLOW_VLAN_NONE: untagged */
	uint8_t rewrite_mac[SHADOW_TARGETS];
	uint8_t mac[SHADOW_TARGETS][6];
	struct compare_ignore ignore;
};

/** Profiles the workers read. */
struct shadow_table {
	uint64_t version;
	uint32_t n;
	struct shadow_profile p[CONF_MAX_SHADOWS];
};

/**
 * One worker's counters per profile slot (single writer). Drops of copies
 * (never of production's packets): dropped_no_mbuf, the shadow pool was
 * empty; dropped_headers_split, the packet's headers do not lie in its
 * first buffer (a jumbo frame received as a chain); dropped_no_room, a
 * copy's headers did not fit its first buffer or could not be rewritten.
 * dns_too_many_records / dns_too_many_pointer_hops: DNS answers past the
 * parser's work caps (compare_dns_parse()), compared as bytes.
 * flows_shed: chosen flows not shadowed because the worker was overloaded
 * when they started (shadow_worker_loop()); each is left out whole.
 */
#define SHADOW_COUNTERS(X) \
	X(flows, "flows") \
	X(cloned, "packets_cloned") \
	X(cloned_bytes, "bytes_cloned") \
	X(capped, "dropped_rate_cap") \
	X(no_mbuf, "dropped_no_mbuf") \
	X(hdr_split, "dropped_headers_split") \
	X(no_room, "dropped_no_room") \
	X(held, "held_early") \
	X(retransmits, "retransmits") \
	X(acks_sent, "acks_sent") \
	X(target_pkts, "target_packets") \
	X(records, "records") \
	X(records_dropped, "records_dropped") \
	X(no_session, "no_session") \
	X(shed, "flows_shed") \
	X(desync, "stream_desync") \
	X(dns_records, "dns_too_many_records") \
	X(dns_hops, "dns_too_many_pointer_hops")

struct shadow_counters {
	uint32_t uid;
#define SHADOW_CNT_FIELD(f, name) uint64_t f;
	SHADOW_COUNTERS(SHADOW_CNT_FIELD)
#undef SHADOW_CNT_FIELD
	uint64_t ended[SHADOW_TCP_R_MAX]; /**< target sessions by how they ended */
} __attribute__((aligned(64)));

struct shadow_session;
struct shadow_copies;

/** One worker's shadow state (owned by that worker after set-up). */
struct shadow_worker {
	uint16_t index;
	uint64_t tsc_hz;
	uint64_t table_version;
	uint64_t next_flow_id;          /**< worker index in the top bits */
	struct rte_mempool *pool;
	struct rte_ring *records;       /**< to the management core */
	struct shadow_session *sessions;
	struct shadow_copies *copies;   /**< TCP targets' held and kept copies:
					     [n_sessions][SHADOW_TARGETS] */
	struct rte_hash *by_key;        /**< flow key -> session: answers of a
					     target outlive the production flow */
	uint32_t n_sessions;
	uint32_t free_head;             /**< free list of sessions */
	uint32_t active;
	uint32_t sweep;                 /**< next session the timer looks at */
	struct shadow_counters *cnt;    /**< [CONF_MAX_SHADOWS] */
	struct rte_meter_srtcm meter[CONF_MAX_SHADOWS];
	uint32_t slot_uid[CONF_MAX_SHADOWS];
	/** PKT_MBUF_SCRATCH bytes: payloads and held copies of chained mbufs
	 * are read from here. */
	uint8_t *scratch;
	/** Copies' mbufs taken from the pool a burst at a time (reset). */
	struct rte_mbuf *stash[SHADOW_STASH];
	uint32_t n_stash;
	/* Overload, from the worker's own loop (shadow_worker_rx/_loop). */
	uint8_t loop_full;              /**< this loop polled a full RX burst */
	uint8_t overloaded;             /**< new flows of shedding profiles are shed */
	uint16_t streak;                /**< loops in a row that disagree with overloaded */
};

/** Loops in a row with a full RX burst (or without one) that turn
 * shedding on (or off again). */
#define SHADOW_SHED_LOOPS 4

/**
 * Note an RX poll of @p n packets out of a burst of @p burst: a full
 * burst means the queue held at least a burst, i.e. the worker is behind.
 */
static inline void
shadow_worker_rx(struct shadow_worker *sw, uint16_t n, uint16_t burst)
{
	sw->loop_full |= n == burst;
}

/**
 * End of one poll loop: after SHADOW_SHED_LOOPS loops in a row each with
 * a full burst somewhere (no idle poll: the worker never caught up) the
 * worker is overloaded and shadow_session_start() sheds new flows of the
 * profiles with shed set; after as many loops without a full burst it is
 * not. Flows are shed at their start only, so a shadowed flow is never
 * cut and a shed flow stays shed: the comparisons stay whole.
 */
static inline void
shadow_worker_loop(struct shadow_worker *sw)
{
	if (sw->loop_full != sw->overloaded) {
		if (++sw->streak >= SHADOW_SHED_LOOPS) {
			sw->overloaded = sw->loop_full;
			sw->streak = 0;
		}
	} else {
		sw->streak = 0;
	}
	sw->loop_full = 0;
}

/**
 * How shadow packets leave: the data path's send (VLAN per @p act, MACs
 * when act->rewrite_mac, counted per port), given the metadata whose tags
 * the frame carries now.
 */
struct shadow_tx {
	void (*send)(void *ctx, struct rte_mbuf *pkt, const struct pkt_meta *m,
		     const struct flow_action *act, const uint8_t *mac,
		     const struct flow_key *k, uint8_t profile_slot);
	void *ctx;
};

/**
 * Profile that chooses a new flow of @p stage / @p service whose first
 * packet is @p m: its table index + 1, or SHADOW_NONE. TCP flows are chosen
 * only at their SYN.
 */
uint8_t shadow_select(const struct shadow_table *t, uint16_t stage,
		      uint8_t service, const struct pkt_meta *m,
		      const struct flow_key *key, uint64_t now);

/**
 * Start the session of a new flow that shadow_select() chose (@p chosen),
 * keyed by @p k, for @p owner: a tag unique among the caller's live flows
 * (the data path's flow-table slot). @return the flow's session (the
 * caller keeps it and passes it, with @p owner, to shadow_flow_packet()),
 * or
 * SHADOW_NO_SESSION when the pool is exhausted or the flow is shed
 * (the worker is overloaded and the profile sheds), both counted.
 */
uint32_t shadow_session_start(struct shadow_worker *sw, const struct shadow_table *t,
			      uint8_t chosen, const struct flow_key *k,
			      const struct pkt_meta *m, uint32_t owner, uint64_t now);

/**
 * Ask for the line of session @p sess (from shadow_session_start(), or
 * SHADOW_NO_SESSION: nothing) that every packet of its flow reads: the
 * caller looks a burst up, prefetches, and forwards it afterwards.
 */
void shadow_session_prefetch(const struct shadow_worker *sw, uint32_t sess);

/**
 * A packet of a shadowed flow passing through in direction @p dir: its
 * session is @p sess, unless that session has ended and was taken for
 * another flow since (then it no longer has this flow's @p owner, and
 * nothing is done). Client packets are cloned to the targets, both
 * directions feed the streams compared. Never changes or frees @p pkt.
 */
void shadow_flow_packet(struct shadow_worker *sw, const struct shadow_table *t,
			uint32_t sess, uint32_t owner,
			const struct rte_mbuf *pkt, const struct pkt_meta *m,
			uint8_t dir, uint64_t now, const struct shadow_tx *tx);

/**
 * An IP packet that arrived on shadow port @p in_port (flow key @p k):
 * an answer of a target. Always consumed.
 * @return false when it belongs to no shadow session (the caller counts it).
 */
bool shadow_target_packet(struct shadow_worker *sw, const struct shadow_table *t,
			  const struct flow_key *k, struct rte_mbuf *pkt,
			  const struct pkt_meta *m, uint16_t in_port, uint64_t now,
			  const struct shadow_tx *tx);

/** Retransmissions, timeouts, idle and ended sessions (a slice per call). */
void shadow_timers(struct shadow_worker *sw, const struct shadow_table *t,
		   uint64_t now, const struct shadow_tx *tx);

/** Counters and per-profile state in line with @p t (cheap when unchanged). */
void shadow_worker_sync(struct shadow_worker *sw, const struct shadow_table *t);

/**
 * Set up @p sw for worker @p index with @p n_sessions sessions, copies
 * drawn from @p pool. Management core, before start. @return 0, or -1.
 */
int shadow_worker_init(struct shadow_worker *sw, uint16_t index,
		       uint64_t tsc_hz, uint32_t n_sessions,
		       struct rte_mempool *pool, int socket);

/** Free what shadow_worker_init() took, and every held copy. */
void shadow_worker_fini(struct shadow_worker *sw);

/* ---- management half (shadow_ctl.c) ------------------------------ */

struct shadow_ctl;

/**
 * The profile manager for @p n_workers workers @p w, publishing through
 * @p pub (set up with gen_table_pub_init(), tables rte_free'd).
 */
struct shadow_ctl *shadow_ctl_create(struct gen_table_pub *pub,
				     struct shadow_worker *const *w,
				     uint16_t n_workers, uint64_t tsc_hz,
				     char *err, size_t errlen);
void shadow_ctl_free(struct shadow_ctl *sc);

/** A new configuration: its shadows: replace the previous ones'. */
int shadow_ctl_set_conf(struct shadow_ctl *sc, const struct umbra_conf *c,
			char *err, size_t errlen);

/**
 * Create a run-time profile from a YAML/JSON mapping (conf_shadow_parse)
 * on network (stage) @p network. @return 0, or -1 with @p err.
 */
int shadow_ctl_create_profile(struct shadow_ctl *sc, const char *network,
			      const char *text, char *err, size_t errlen);

/** Delete profile @p name. @return 0, or -1 when there is none. */
int shadow_ctl_delete(struct shadow_ctl *sc, const char *name);

/**
 * Drain the workers' record rings into the comparator, end profiles whose
 * ttl ran out, compare what waited too long. Called often from the loop.
 */
void shadow_ctl_poll(struct shadow_ctl *sc, uint64_t now_tsc);

/** Profiles (all, or of stage @p network when not NULL), briefly. */
json_t *shadow_ctl_list_json(const struct shadow_ctl *sc, const char *network);

/** One profile as a typed query lists it. */
struct shadow_profile_info {
	char name[CONF_NAME_MAX];
	char network[CONF_NAME_MAX];    /**< the stage it shadows */
	bool active;                    /**< false: its ttl ended */
	bool from_conf;                 /**< the configuration's (else run-time) */
};

/**
 * Profiles (all, or of stage @p network when not NULL) into @p out, at
 * most @p max, in slot order. @return how many were written.
 */
unsigned int shadow_ctl_profiles(const struct shadow_ctl *sc, const char *network,
				 struct shadow_profile_info *out, unsigned int max);

/** One profile (or every one of @p network) with counters and the comparison. */
json_t *shadow_ctl_status_json(const struct shadow_ctl *sc, const char *name,
			       const char *network);

/** Call @p fn after every change of the published profiles. */
void shadow_ctl_on_change(struct shadow_ctl *sc, void (*fn)(void *ctx), void *ctx);

/** Slot + 1 of the active profile called @p name, or 0 (a fault resolver). */
uint8_t shadow_ctl_slot_of(void *sc, const char *name);

/** Counters and comparison totals of every profile as Prometheus text. */
void shadow_ctl_metrics(const struct shadow_ctl *sc, FILE *out);

/** A profile that runs a release's version (conf_shadow.version set). */
struct shadow_release {
	char name[CONF_NAME_MAX];       /**< the profile */
	uint32_t uid;                   /**< changes when the name is reused */
	int16_t service;
	char version[CONF_VERSION_MAX];
	bool active;                    /**< still cloning (not ended) */
	struct compare_totals totals;   /**< shadow against production so far */
};

/**
 * Profiles that belong to a release, with their comparison totals, into
 * @p out (at most @p max). @return how many.
 */
unsigned int shadow_ctl_releases(const struct shadow_ctl *sc, struct shadow_release *out,
				 unsigned int max);

/**
 * The comparator, and in @p slot the index, of profile @p name (listed:
 * active or ended), for its capture (shadow_capture.h).
 * @return NULL when there is no such profile.
 */
const struct compare_ctx *shadow_ctl_comparator(const struct shadow_ctl *sc,
						const char *name, unsigned int *slot);

/** Exchanges the comparator has compared, over all profiles. */
uint64_t shadow_ctl_compared(const struct shadow_ctl *sc);

#endif
