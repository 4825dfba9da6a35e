/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The data path: worker lcores, the counters they keep, and the
 * management core's view of them.
 *
 * Each worker polls RX queue k of every port and runs each burst to
 * completion: parse > flow lookup > (new flows) classify + policy > account >
 * rewrite > TX buffer. It reads the current generation once per loop,
 * reports an RCU quiescent state between loops, writes only its own flow
 * table and counters, and never blocks, allocates, locks or logs per packet.
 *
 * This header is the public side: set-up, start and stop, the counters
 * and the rings the management core reads. Worker half: dp_worker.c and
 * the dp_worker_*.c steps it calls (their shared declarations are in
 * dp_worker_private.h). Management half: dp_setup.c (ports, queues,
 * workers), dp_stats.c (counters summed, exported).
 */
#ifndef UMBRA_DP_H
#define UMBRA_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <rte_ethdev.h>

#include "conf.h"
#include "fault.h"
#include "shadow.h"
#include "verdict.h"
#include "flow.h"
#include "gen.h"
#include "graph.h"
#include "pkt.h"
#include "port.h"

/** Packets per RX burst. */
#define DP_BURST 32
/** TX buffers are flushed, and flows aged, at least this often. */
#define DP_DRAIN_US 100
/** Flow slots visited per aging pass. */
#define DP_AGE_BUDGET 64
/** Shadowed flows at once per worker. */
#define DP_SHADOW_SESSIONS 4096
/** Mbufs of the default size per worker for shadow copies (held, kept for
 * retransmission, in flight); fewer when buffers are larger (dp_setup.c). */
#define DP_SHADOW_MBUFS 8192
/** Fewest shadow mbufs per worker, however large production's buffers. */
#define DP_SHADOW_MBUFS_MIN 1024

/** Dependency map (dp_worker_graph.c): flow records a worker's ring holds. */
#define DP_GRAPH_RING 4096
/** DNS answers a worker's ring holds. */
#define DP_GRAPH_DNS_RING 1024
/** Bytes of a DNS answer copied for the management core, at most. */
#define DP_GRAPH_DNS_MAX 512
/** Flow records a worker may send per housekeeping period (DP_DRAIN_US):
 * 64 per 100 us, 640 000 a second. */
#define DP_GRAPH_BUDGET 64
/** DNS answers a worker may copy per period: 8 per 100 us, 80 000 a
 * second (a budget of their own: a DNS flood never starves flow records). */
#define DP_GRAPH_DNS_BUDGET 8

/** Drops decided by the data path (parse drops use enum pkt_drop_reason). */
#define DP_DROP_REASONS(X) \
	X(POLICY_DENY, "policy_deny") \
	X(NO_UPLINK, "no_uplink") \
	X(NO_HEADROOM, "no_headroom") \
	X(PORT_DOWN, "port_down") \
	X(NO_MBUF, "no_mbuf") \
	X(SHADOW_PORT, "shadow_port_unexpected") \
	X(BACKEND_RESOLUTION, "backend_resolution")

enum dp_drop_reason {
#define DP_DROP_ENUM(id, name) DP_DROP_##id,
	DP_DROP_REASONS(DP_DROP_ENUM)
#undef DP_DROP_ENUM
	DP_DROP_MAX
};

/** Pipeline stages timed per burst (cycles). */
#define DP_CYCLE_STAGES(X) \
	X(RX, "rx") \
	X(PARSE, "parse") \
	X(LOOKUP, "flow_lookup") \
	X(CLASSIFY, "classify") \
	X(FORWARD, "forward") \
	X(TX, "tx_drain")

enum dp_cycle_stage {
#define DP_CYC_ENUM(id, name) DP_CYC_##id,
	DP_CYCLE_STAGES(DP_CYC_ENUM)
#undef DP_CYC_ENUM
	DP_CYC_MAX
};

struct dp_port_counters {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;       /**< handed to the TX buffer */
	uint64_t tx_bytes;
	uint64_t tx_dropped;    /**< the device did not take them */
};

/** One worker's counters: single writer, summed by readers. */
struct dp_counters {
	uint64_t loops;
	uint64_t gen_seen;      /**< newest generation this worker has run */
	uint64_t gen_seen_tsc;  /**< TSC when it first ran it */
	uint64_t bursts;        /**< RX bursts that returned packets */
	uint64_t pkts;
	uint64_t cycles[DP_CYC_MAX];
	uint64_t flows_new;
	uint64_t flows_stateless; /**< table full: forwarded without state */
	uint64_t arp_forwarded;
	uint64_t arp_proxied;
	uint64_t nd_proxied;
	uint64_t parse_drop[PKT_DROP_MAX];
	uint64_t dp_drop[DP_DROP_MAX];
	uint64_t stage_pkts[CONF_MAX_STAGES];
	uint64_t stage_bytes[CONF_MAX_STAGES];
	uint64_t stage_flows[CONF_MAX_STAGES];
	/** Packets denied with no rule (default deny), by from/to stage. */
	uint64_t default_deny[CONF_MAX_STAGES][CONF_MAX_STAGES];
	/** New flows of each service by how they were steered (enum steer_how). */
	uint64_t service_flows[CONF_MAX_SERVICES][STEER_HOW_MAX];
	uint64_t split_flows[CONF_MAX_SPLITS];
	/** Service flows of a release left out of cohort health (verdict.sample). */
	uint64_t health_unsampled;
	/** Dependency map: records sent, dropped on a full ring, dropped over
	 * the budget; DNS answers copied, dropped on a full ring (or over
	 * their budget: graph_over_budget too). */
	uint64_t graph_records;
	uint64_t graph_ring_full;
	uint64_t graph_over_budget;
	uint64_t graph_dns;
	uint64_t graph_dns_full;
	uint64_t rule_pkts[CONF_MAX_FLOW_RULES];
	uint64_t rule_flows[CONF_MAX_FLOW_RULES];
	struct dp_port_counters port[CONF_MAX_PORTS];
} __rte_cache_aligned;

/** One RX queue a worker polls. */
struct dp_rxq {
	uint16_t port;          /**< port index (umbra_conf.ports) */
	uint16_t port_id;       /**< ethdev id */
	uint16_t queue;
};

/** Bits of flow_entry.health. */
enum {
	DP_HEALTH_TRACK = 1 << 0,        /**< the flow counts toward its cohort */
	DP_HEALTH_CANARY = 1 << 1,       /**< canary cohort (else control) */
	DP_HEALTH_CONNECT_DONE = 1 << 2, /**< its connect was judged */
	DP_GRAPH_DNS = 1 << 3,           /**< a DNS flow: answers are copied (dp_worker_graph.c) */
	DP_GRAPH_OPEN = 1 << 4,          /**< reported NEW to the map, END not yet */
	/** A request is open (dp_health.req_ts of the slot is set): the
	 *  client's next packets cannot open another, so UDP ones skip the step. */
	DP_HEALTH_REQ_OPEN = 1 << 5,
};

/** Request stamps keep the TSC >> this (about 85 ns at 3 GHz; wraps after minutes). */
#define DP_HEALTH_TS_SHIFT 8

/** What one cohort of one service showed on one worker (single writer). */
struct dp_health_cohort {
	uint64_t n[VERDICT_M_MAX];       /**< exposures per metric */
	uint64_t bad[VERDICT_M_MAX];     /**< bad events per metric */
	uint64_t lat[VERDICT_LAT_BUCKETS]; /**< answer latency histogram */
} __rte_cache_aligned;

/** A worker's cohort health: [service][0: control, 1: canary]. */
struct dp_health {
	struct dp_health_cohort c[CONF_MAX_SERVICES][2];
	uint32_t *req_ts;    /**< per flow-table slot: open request's stamp, 0: none */
};

/** A DNS answer copied for the management core (its first bytes). */
struct dp_graph_dns {
	uint64_t ts_ms;
	uint16_t stage;
	uint16_t len;                    /**< bytes in data */
	uint8_t data[DP_GRAPH_DNS_MAX];
};

/** A worker's side of the dependency map. */
struct dp_graph_worker {
	struct rte_ring *flows;          /**< struct graph_flow_record, SP/SC */
	struct rte_ring *dns;            /**< struct dp_graph_dns, SP/SC */
	uint32_t budget;                 /**< flow records left this period */
	uint32_t dns_budget;             /**< DNS copies left this period */
	uint64_t tsc_per_ms;
	/** graph/record enabled=false: new flows are not reported nor marked
	 *  for DNS copies (written by the management core, read relaxed). */
	uint8_t paused;
};

struct dp_worker {
	uint16_t index;         /**< 0..n_workers-1: TX queue and RCU thread id */
	unsigned int lcore;
	uint16_t n_rxq;
	struct dp_rxq rxq[CONF_MAX_PORTS];
	struct rte_eth_dev_tx_buffer *txb[CONF_MAX_PORTS];
	struct flow_table *ft;
	struct dp_counters *cnt;
	const struct port_set *ports;
	struct gen_publisher *pub;
	const struct gen_table_pub *fpub;
	/** Fault table of this loop iteration (read once per loop). */
	const struct fault_table *faults;
	const struct gen_table_pub *spub;
	/** Shadow profiles of this loop iteration. */
	const struct shadow_table *shadows;
	volatile bool *quit;
	uint64_t tsc_hz;
	/** PKT_MBUF_SCRATCH bytes: multi-segment frames are parsed from here. */
	uint8_t *scratch;
	struct fault_worker fault;
	struct shadow_worker shadow;
	/** Per flow-table slot: the flow's shadow session, SHADOW_NO_SESSION
	 *  if none. Beside the table, not in its entries: 4 bytes a flow stay
	 *  in cache, so a burst's sessions are asked for right after its
	 *  lookup without waiting for its entries. */
	uint32_t *shadow_sess;
	struct dp_health *health;
	struct dp_graph_worker graph;
} __rte_cache_aligned;

/** Everything the data path owns: what workers use, nothing else. */
struct dp_context {
	struct dp_worker *workers;
	uint16_t n_workers;
	struct port_set ports;
	struct gen_publisher pub;
	struct gen_table_pub fpub;     /**< fault tables (fault_ctl publishes) */
	struct gen_table_pub spub;     /**< shadow profile tables (shadow_ctl publishes) */
	struct rte_mempool *shadow_pool; /**< shadow copies: never production's mbufs */
	volatile bool quit;
};

/**
 * Start ports and set up one worker per non-main lcore for configuration
 * @p c, with an empty publisher: the first generation comes through the
 * apply road (ctl_start) before dp_start().
 * @return 0, or -1 with one sentence saying what to do in @p err.
 */
int dp_init(struct dp_context *dp, const struct umbra_conf *c, char *err,
	    size_t errlen);

/**
 * Each worker's fault rule counters into @p out (n_workers entries), for
 * fault_ctl_create(). @return n_workers.
 */
uint16_t dp_fault_counters(struct dp_context *dp, struct fault_rule_counters **out);

/**
 * Each worker's shadow half into @p out (n_workers entries), for
 * shadow_ctl_create(). @return n_workers.
 */
uint16_t dp_shadow_workers(struct dp_context *dp, struct shadow_worker **out);

/** Launch the workers on their lcores. */
void dp_start(struct dp_context *dp);

/** Ask workers to stop and wait for them (they flush their TX buffers). */
void dp_stop(struct dp_context *dp);

/** Free flow tables, counters, ports and generations. */
void dp_fini(struct dp_context *dp);

/** lcore entry point of a worker (arg: struct dp_worker *). */
int dp_worker_main(void *arg);

/** Total RX packets over all workers and ports (for idle detection). */
uint64_t dp_rx_total(const struct dp_context *dp);

/** Packets held by delay faults over all workers (a racy but safe read). */
uint64_t dp_delayed_total(const struct dp_context *dp);

/**
 * Every worker's counters summed into @p out (typed; the management
 * core's one query of them). Counters are single-writer 64-bit words, so
 * a read while workers run is consistent per counter.
 */
void dp_counters_sum(const struct dp_context *dp, struct dp_counters *out);

/**
 * All counters summed over workers, with the names of the current
 * generation's ports, stages and rules (for the socket, HTTP and
 * telemetry). Caller owns the result.
 */
json_t *dp_stats_json(const struct dp_context *dp);

/** Most flows one top-N query returns. */
#define DP_TOP_FLOWS_MAX 64

/** One flow as a top-N query copied it out of its worker's table. */
struct dp_flow {
	struct flow_key key;    /**< canonical (side a, side b) */
	struct flow_entry e;    /**< a copy: counters, stage, verdict, TCP state */
};

/**
 * The @p n (at most DP_TOP_FLOWS_MAX) biggest flows by bytes over all
 * workers' tables, biggest first, of stage index @p stage (-1: any).
 * Safe while workers run: a racy read of copied fields (see dp_stats.c),
 * never a pointer into a live table.
 * @return flows written to @p out.
 */
unsigned int dp_top_flows(const struct dp_context *dp, unsigned int n,
			  int32_t stage, struct dp_flow *out);

/** @p n flows of dp_top_flows() as JSON, with the current generation's
 *  stage names. Caller owns the result. */
json_t *dp_flows_json(const struct dp_context *dp, const struct dp_flow *f,
		      unsigned int n);

/** dp_top_flows() of any stage, as JSON (safe while workers run). */
json_t *dp_top_flows_json(const struct dp_context *dp, unsigned int n);

/** The counters as Prometheus text (malloc'd; NULL when out of memory). */
char *dp_metrics_text(const struct dp_context *dp);

/** Human summary for operators: per stage, rule, drop reason, top flows. */
void dp_stats_summary(FILE *out, const struct dp_context *dp, unsigned int top);

#endif
