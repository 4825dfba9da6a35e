/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Fault injection: rules that delay, drop, duplicate, reorder, corrupt,
 * rate-limit, reset or answer chosen traffic, at line rate.
 *
 * The management core compiles rules (from the configuration's faults:, a
 * chaos scenario, or `fault add`) into an immutable fault table and
 * publishes it with one pointer swap, freed after rte_rcu_qsbr says every
 * worker has moved on (the generations' scheme, with its own pointer so
 * that a lease lapsing does not make a configuration snapshot).
 *
 * Each rule occupies a slot (0..FAULT_MAX_RULES-1) for its lifetime; a
 * worker keeps per-slot state (random generator, Gilbert-Elliott state,
 * token bucket) and counters, and resets both when a slot gets a new rule
 * (a new uid). Rules are stored in stacking order: by kind in the order of
 * enum conf_fault_kind, then in the order they were added. A packet walks
 * every rule whose target matches; a drop or an answer ends the walk;
 * delays add up.
 *
 * Delayed packets wait in a per-worker delay queue keyed by TSC deadline:
 * one FIFO per constant-delay rule (an array of items in arrival order:
 * deadlines never decrease in it, so only its head is looked at) and a
 * timer wheel for jittered or stacked delays. A short packet bound for a
 * FIFO waits there as a copy of its bytes, its mbuf freed at once (back
 * in a fresh one when due). The queue is bounded; overflow is dropped
 * and counted.
 *
 * Worker half: fault_decide.c (apply), fault_delay.c (delay queue),
 * fault_craft.c (RST, ICMP, DNS answers; corruption), fault_rand.c
 * (generators, distributions). Management half: fault_ctl.c.
 */
#ifndef UMBRA_FAULT_H
#define UMBRA_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <rte_meter.h>
#include <rte_rcu_qsbr.h>

#include "conf.h"
#include "flow.h"
#include "pkt.h"
#include "pkt_math.h"

struct gen_table_pub;
struct rte_mbuf;
struct rte_mempool;

/** fault_rule.shadow of a rule whose shadow profile does not exist. */
#define FAULT_SHADOW_GONE 0xff
/** Rules in one table (slots; fault_delay_item keeps one in 8 bits). */
#define FAULT_MAX_RULES 64
/** Slots of each worker's delay wheel (ticks of about 1/8 us). */
#define FAULT_WHEEL_SLOTS 16384
/** Buckets of the applied-minus-requested delay histogram. */
#define FAULT_HIST_BUCKETS 128
/** Buckets 0..FAULT_HIST_LINEAR-1 are FAULT_HIST_STEP_NS wide ... */
#define FAULT_HIST_LINEAR 100
#define FAULT_HIST_STEP_NS 100
/** ... the rest double from FAULT_HIST_LINEAR * FAULT_HIST_STEP_NS. */

/* ------------------------------------------------------------------ */
/* Random numbers and distributions (fault_rand.c; no EAL).            */

/** A splitmix64 generator: 8 bytes of state, reproducible from a seed. */
struct fault_rng {
	uint64_t s;
};

/** Seed a generator (the same seed gives the same sequence). */
static inline void
fault_rng_seed(struct fault_rng *r, uint64_t seed)
{
	r->s = seed;
}

/** Next 64 random bits (splitmix64). */
static inline uint64_t
fault_rng_next(struct fault_rng *r)
{
	return pkt_mix64(r->s += 0x9e3779b97f4a7c15ull);
}

/**
 * A probability as a 32-bit threshold: an event with probability @p p
 * happens when the top 32 bits of a draw are below it. 1.0 maps to
 * FAULT_P_ALWAYS.
 */
#define FAULT_P_ALWAYS UINT64_C(0x100000000)
uint64_t fault_prob_threshold(double p);

/** True with the probability @p threshold encodes (one draw). */
static inline bool
fault_rng_chance(struct fault_rng *r, uint64_t threshold)
{
	return (fault_rng_next(r) >> 32) < threshold;
}

/**
 * A delay in cycles: @p base +- @p jitter drawn per @p dist (enum
 * conf_fault_dist). Never negative: draws below zero give 0.
 */
uint64_t fault_delay_draw(struct fault_rng *r, uint8_t dist, uint64_t base,
			  uint64_t jitter);

/* ------------------------------------------------------------------ */
/* Delay queue (fault_delay.c; no EAL, the caller passes the time).    */

/** Which queue a delayed packet waits in. */
#define FAULT_DELAY_WHEEL UINT32_MAX
/** Bytes of a packet a FIFO can keep in place of the packet: a copy. */
#define FAULT_DELAY_INLINE 96

/** A packet waiting for its deadline. */
struct fault_delay_item {
	/** The packet (an rte_mbuf in the data path); with len, its bytes. */
	void *pkt;
	uint64_t deadline;      /**< TSC when it is due */
	uint64_t requested;     /**< TSC it was due at when queued (for the error) */
	uint32_t rule_uid;      /**< rule whose histogram gets the error */
	uint16_t port;          /**< egress port index */
	uint8_t slot;           /**< rule slot */
	/** 0: pkt is the packet. Else pkt points to this many bytes, a copy
	 *  of the packet the queue kept (fault_delayq_push_copy()), valid
	 *  until the next push. */
	uint8_t len;
};

struct fault_delayq;

/**
 * Create a delay queue holding at most @p capacity items, with @p n_fifos
 * constant-delay FIFOs and a timer wheel of @p wheel_slots slots (power of
 * two) of @p tick_cycles each (power of two). All memory is taken here.
 * @return NULL when out of memory or a size is not a power of two.
 */
struct fault_delayq *fault_delayq_create(uint32_t capacity, uint32_t n_fifos,
					 uint64_t tick_cycles,
					 uint32_t wheel_slots, uint64_t now);

/** Free the queue (items still in it are not freed). NULL is fine. */
void fault_delayq_free(struct fault_delayq *q);

/**
 * Queue @p it (len 0) in FIFO @p fifo, or in the wheel with
 * FAULT_DELAY_WHEEL. An item whose deadline is below its FIFO's last one
 * goes to the wheel.
 * @return 0, or -1 when the queue is full (the caller drops and counts).
 */
int fault_delayq_push(struct fault_delayq *q, const struct fault_delay_item *it,
		      uint32_t fifo);

/**
 * Queue @p it in FIFO @p fifo with a copy of the @p len bytes at @p data
 * (1..FAULT_DELAY_INLINE) in place of its packet: the poll that takes it
 * out gives len and a pointer to the copy. Held so, a packet costs memory
 * read and written in order, and its buffer can go back to its pool now.
 * @return 0, or -1 when it cannot go in that FIFO so (full, no such FIFO,
 * due before the FIFO's last item, or too long): nothing was queued.
 */
int fault_delayq_push_copy(struct fault_delayq *q,
			   const struct fault_delay_item *it, uint32_t fifo,
			   const void *data, uint32_t len);

/**
 * Take out up to @p max items whose deadline is <= @p now, earliest first
 * within each FIFO and within each wheel slot. An item is never returned
 * before its deadline, and is returned by the first call whose @p now has
 * passed it (however long since the previous call).
 * @return the number of items written to @p out.
 */
uint32_t fault_delayq_poll(struct fault_delayq *q, uint64_t now,
			   struct fault_delay_item *out, uint32_t max);

/** Take out up to @p max items regardless of deadline (shutdown). */
uint32_t fault_delayq_drain(struct fault_delayq *q, struct fault_delay_item *out,
			    uint32_t max);

/**
 * The packets of the @p max items next in line in the FIFO whose head is
 * due first (left in the queue): the caller can prefetch what the next
 * poll will most likely hand it. Copies among them are left out; wheel
 * items are not looked at.
 * @return the number written to @p pkts.
 */
uint32_t fault_delayq_peek(const struct fault_delayq *q, void **pkts,
			   uint32_t max);

/**
 * Ask for the places of the @p max items next in line in the FIFO whose
 * head is due first (copies and packets alike), reading no place: a poll
 * a loop later finds them in cache. Wheel items are not looked at.
 */
void fault_delayq_prefetch(const struct fault_delayq *q, uint32_t max);

/** Items waiting. */
uint32_t fault_delayq_count(const struct fault_delayq *q);

/* ------------------------------------------------------------------ */
/* Packets made or changed by faults (fault_craft.c; bytes only).       */

/**
 * A TCP RST for the flow of TCP packet @p pkt (parsed into @p m), with a
 * sequence number the peer accepts. @p to_sender: addressed to the
 * packet's sender (from its receiver; seq = the packet's ack), else to its
 * receiver (from its sender; seq = the packet's seq). Ethernet and VLAN
 * tags are kept, MACs swapped when @p to_sender.
 * @return the frame's length in @p out, or 0 when it cannot be made.
 */
size_t fault_craft_tcp_rst(const uint8_t *pkt, size_t len,
			   const struct pkt_meta *m, bool to_sender,
			   uint8_t *out, size_t cap);

/**
 * ICMP destination unreachable (IPv4 type 3 with @p code; IPv6 type 1,
 * code mapped: net/host 0 -> 3 address, port 3 -> 4 port, admin 13 -> 1)
 * to the sender of @p pkt, quoting its IP header and first bytes.
 * @return the frame's length in @p out, or 0.
 */
size_t fault_craft_icmp_unreach(const uint8_t *pkt, size_t len,
				const struct pkt_meta *m, uint8_t code,
				uint8_t *out, size_t cap);

/**
 * A DNS SERVFAIL answer to the query in UDP packet @p pkt: the query's
 * header (same ID, QR set, RCODE 2) and question, no records.
 * @return the frame's length in @p out, or 0 when @p pkt is not a query.
 */
size_t fault_craft_dns_servfail(const uint8_t *pkt, size_t len,
				const struct pkt_meta *m, uint8_t *out,
				size_t cap);

/**
 * Flip @p bits bits at positions drawn from @p r in the L4 segment
 * (header and payload) of @p pkt; with @p fix_checksum the L4 checksum is
 * recomputed afterwards, else it is left as it was (now wrong).
 *
 * Bit positions (reproducible outside umbra): the segment is bytes
 * [m->l4_off, min(m->l3_off + m->ip_len, len)) of the frame. For each of
 * the @p bits flips, in order: n = segment bytes * 8;
 * i = ((fault_rng_next(r) >> 32) * n) >> 32 (64-bit arithmetic); flip
 * bit (0x80 >> (i % 8)) of segment byte i / 8. A later flip may undo an
 * earlier one; both are counted. The checksum field is part of the
 * segment. Nothing is drawn when @p bits is 0 or there is no segment.
 * @return the number of bits flipped (0 when there is no L4 segment).
 */
unsigned int fault_corrupt(uint8_t *pkt, size_t len, const struct pkt_meta *m,
			   unsigned int bits, bool fix_checksum,
			   struct fault_rng *r);

/* ------------------------------------------------------------------ */
/* The compiled table (built by fault_ctl.c, read by workers).         */

/** A rule as workers use it (times in TSC cycles). */
struct fault_rule {
	uint32_t uid;           /**< unique over the process's life; 0: none */
	uint16_t slot;          /**< state and counters index */
	uint8_t kind;           /**< enum conf_fault_kind */
	uint8_t dir_mask;       /**< bit FLOW_DIR_ORIG / FLOW_DIR_REPLY */
	uint8_t select;         /**< enum conf_fault_select */
	uint8_t distribution;
	uint8_t loss_model;
	uint8_t copies;
	uint8_t bits;
	uint8_t icmp_code;
	bool keep_order;
	bool fix_checksum;
	bool both_ways;
	bool new_flows_only;
	/** 0: flows' packets; else the shadow profile slot + 1 whose packets
	 * toward its shadow network it acts on (FAULT_SHADOW_GONE: none). */
	uint8_t shadow;
	int16_t stage, from_stage, service;
	int32_t proto;
	struct conf_prefix src, dst;
	struct conf_range sport, dport;
	uint64_t threshold;     /**< fault_prob_threshold(probability) */
	uint32_t flow_threshold;/**< per flow: hash (16 bits) below this */
	uint32_t seed;
	uint64_t ge_p, ge_r, ge_loss_good, ge_loss_bad; /**< thresholds */
	uint64_t delay, jitter, hold;   /**< cycles */
	uint64_t start_tsc;     /**< when it began (partition new_flows_only) */
	uint64_t end_tsc;       /**< lease end; UINT64_MAX: none */
	struct rte_meter_srtcm_profile meter; /**< bandwidth */
};

/** An immutable set of rules, in stacking order. */
struct fault_table {
	uint64_t version;       /**< changes with every publish */
	uint32_t n_rules;
	struct fault_rule rules[FAULT_MAX_RULES];
};

/* ------------------------------------------------------------------ */
/* Worker state and counters.                                           */

/**
 * Packet counters of a rule (field, name in reports): packets its target
 * matched; of which it acted on ("touched"); dropped; ICMP/DNS answers
 * sent; RST pairs sent; copies sent; corrupted; left uncorrupted because
 * the buffer is shared (a shadow copy's clone reads it); held for reordering;
 * delayed; dropped because the delay queue was full; answers or copies
 * that found no mbuf; delayed packets sent (the histogram's count).
 */
#define FAULT_RULE_COUNTERS(X) \
	X(matched, "matched") \
	X(selected, "touched") \
	X(dropped, "dropped") \
	X(answered, "answered") \
	X(resets, "resets") \
	X(duplicated, "duplicated") \
	X(corrupted, "corrupted") \
	X(corrupt_shared, "corrupt_skipped_shared") \
	X(reordered, "reordered") \
	X(delayed, "delayed") \
	X(overflow, "queue_overflow") \
	X(no_mbuf, "no_mbuf") \
	X(sent_late, "delay_samples")

/** What one worker counted for one rule slot (single writer). */
struct fault_rule_counters {
	uint32_t uid;           /**< rule these belong to (reset on change) */
#define FAULT_CNT_FIELD(field, name) uint64_t field;
	FAULT_RULE_COUNTERS(FAULT_CNT_FIELD)
#undef FAULT_CNT_FIELD
	uint64_t err_max_ns;    /**< delay: largest sent-minus-requested */
	uint64_t err_sum_ns;
	uint64_t err_hist[FAULT_HIST_BUCKETS];
} __attribute__((aligned(64)));

/** Per-slot state a worker keeps. */
struct fault_slot_state {
	uint32_t uid;
	uint8_t ge_bad;         /**< Gilbert-Elliott: in the bad state */
	struct fault_rng rng;
	struct rte_meter_srtcm meter;
};

/** One worker's fault state (owned by that worker after set-up). */
struct fault_worker {
	uint16_t index;
	uint64_t tsc_hz;
	uint64_t table_version; /**< table the slots were synced to */
	uint64_t ns_per_cycle_q32; /**< nanoseconds per TSC cycle, 32.32 fixed point */
	struct fault_delayq *dq;
	struct rte_mempool *pool;       /**< for answers and copies */
	struct fault_slot_state slot[FAULT_MAX_RULES];
	struct fault_rule_counters *cnt; /**< [FAULT_MAX_RULES] */
	uint64_t inflight_max;  /**< most packets held at once */
	/** Offset from a pool mbuf to the line RX writes a packet's first
	 *  bytes to once the mbuf is reused (prefetched at release). */
	uint32_t rx_line_off;
	/** Whether the rules of table line2_version read a flow's second
	 *  cache line (service, first packet's time): dp_worker_fault.c. */
	uint64_t line2_version;
	bool line2;
};

/** Index of the bucket for an error of @p ns nanoseconds. */
unsigned int fault_hist_bucket(uint64_t ns);

/** Lower bound, in nanoseconds, of histogram bucket @p b. */
uint64_t fault_hist_bucket_floor(unsigned int b);

/* ------------------------------------------------------------------ */
/* Worker half (fault_decide.c).                                            */

/** What the data path knows about a packet when faults look at it. */
struct fault_pkt {
	const struct pkt_meta *m;
	const struct flow_key *key;
	uint16_t stage;
	uint16_t from_stage;
	uint8_t service;        /**< 0xff: none */
	uint8_t dir;            /**< enum flow_dir */
	uint8_t shadow;         /**< 0, or the profile slot + 1 of a packet umbra
				     sends toward a shadow network */
	uint64_t flow_first_tsc;
	/** keep_order: the latest deadline given to this flow direction
	 * (TSC >> FAULT_ORDER_SHIFT, wrapping); NULL without flow state. */
	uint32_t *order_stamp;
};
#define FAULT_ORDER_SHIFT 10

/** What to do with the packet once the rules have looked at it. */
struct fault_result {
	bool drop;              /**< free it (after sending the answers) */
	uint8_t copies;         /**< extra copies to send alongside */
	uint8_t n_answers;
	struct {
		struct rte_mbuf *m;
		bool to_sender; /**< send back the way the packet came */
	} answers[2];
	uint64_t deadline;      /**< TSC to send at; 0: now */
	uint64_t requested;     /**< the deadline asked for, before order keeping */
	uint32_t fifo;          /**< delay FIFO (a slot) or FAULT_DELAY_WHEEL */
	uint16_t delay_slot;    /**< rule charged for the delay's error */
	uint32_t delay_uid;
};

/**
 * Set up @p fw for worker @p index: a delay queue of @p max_inflight
 * packets, answers drawn from @p pool. Management core, before start.
 * @return 0, or -1 when out of memory.
 */
int fault_worker_init(struct fault_worker *fw, uint16_t index, uint64_t tsc_hz,
		      uint32_t max_inflight, struct rte_mempool *pool,
		      uint64_t now);

/** Free what fault_worker_init() took (after the worker stopped). */
void fault_worker_fini(struct fault_worker *fw);

/**
 * Bring slot state and counters in line with @p t (cheap when the
 * table's version is the one already seen). Once per loop.
 */
void fault_worker_sync(struct fault_worker *fw, const struct fault_table *t);

/**
 * Run the rules of @p t over packet @p pkt at TSC @p now (its arrival).
 * Never frees @p pkt: the caller sends the answers, then drops, copies,
 * delays or sends the packet as @p r says.
 */
void fault_apply(struct fault_worker *fw, const struct fault_table *t,
		 struct rte_mbuf *pkt, const struct fault_pkt *p, uint64_t now,
		 struct fault_result *r);

/** Record a delayed packet sent at @p now (its error goes to the histogram). */
void fault_delay_sent(struct fault_worker *fw, const struct fault_delay_item *it,
		      uint64_t now);

/* ------------------------------------------------------------------ */
/* Management half (fault_ctl.c).                                       */

struct fault_ctl;

/**
 * Create the rule manager for @p n_workers workers whose rule counters
 * are @p cnt[0..n_workers-1], publishing through @p pub (set up by the
 * caller with gen_table_pub_init(); the manager's tables are rte_free'd).
 * Publishes an empty table; call fault_ctl_set_conf() next.
 * @return NULL with a message in @p err.
 */
struct fault_ctl *fault_ctl_create(struct gen_table_pub *pub,
				   struct fault_rule_counters *const *cnt,
				   uint16_t n_workers, uint64_t tsc_hz,
				   char *err, size_t errlen);

/**
 * Shadow profile names to slots (+ 1; 0: no such profile), for rules with
 * a shadow target; without a resolver they act on nothing.
 */
void fault_ctl_set_shadow_resolver(struct fault_ctl *fc,
				   uint8_t (*slot_of)(void *ctx, const char *name),
				   void *ctx);

/** Compile and publish again (shadow profiles changed under shadow targets). */
void fault_ctl_refresh(struct fault_ctl *fc);

/** Free the manager and the published table (workers stopped). */
void fault_ctl_free(struct fault_ctl *fc);

/**
 * A new configuration: its faults: replace the previous configuration's
 * rules; run-time rules and running scenarios are kept when their names
 * still resolve in @p c (they are parsed again), else ended.
 * @return 0, or -1 with a message in @p err (nothing changed).
 */
int fault_ctl_set_conf(struct fault_ctl *fc, const struct umbra_conf *c,
		       char *err, size_t errlen);

/**
 * Add a run-time rule given as a YAML or JSON mapping (the fields of a
 * faults: item, plus `duration`: its lease, default the policy's), parsed
 * against the current configuration; refused when it would touch
 * production without fault_policy.allow_production, or when every slot is
 * taken.
 * @return the rule's id (> 0), or 0 with a message in @p err.
 */
uint32_t fault_ctl_add(struct fault_ctl *fc, const char *text, char *err,
		       size_t errlen);

/** Remove run-time rule @p id. @return 0, or -1 when there is none. */
int fault_ctl_remove(struct fault_ctl *fc, uint32_t id);

/** Remove every run-time rule and end every scenario. @return rules removed. */
uint32_t fault_ctl_clear_all(struct fault_ctl *fc);

/**
 * Start chaos scenario @p name for @p duration_ns (0: its default).
 * @return 0, or -1 with a message in @p err.
 */
int fault_ctl_scenario_start(struct fault_ctl *fc, const char *name,
			     uint64_t duration_ns, char *err, size_t errlen);

/** End scenario @p name now. @return 0, or -1 when it is not running. */
int fault_ctl_scenario_stop(struct fault_ctl *fc, const char *name);

/**
 * End the leases that have run out by @p now (TSC) and publish what is
 * left; free replaced tables no worker can see.
 * @return TSC of the next lease end, or UINT64_MAX.
 */
uint64_t fault_ctl_expire(struct fault_ctl *fc, uint64_t now);

/** Every active rule with its target, lease and counters summed over workers. */
json_t *fault_ctl_rules_json(const struct fault_ctl *fc);

/** Scenarios: defined, running (since, until, rules), recently ended. */
json_t *fault_ctl_scenarios_json(const struct fault_ctl *fc);

/** Counters of every active rule as Prometheus text. */
void fault_ctl_metrics(const struct fault_ctl *fc, FILE *out);

#endif
