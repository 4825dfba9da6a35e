/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Internal to the worker half of the data path: the steps dp_worker.c
 * runs a packet through (dp_worker_*.c). Not for the management core.
 */
#ifndef UMBRA_DP_WORKER_PRIVATE_H
#define UMBRA_DP_WORKER_PRIVATE_H

#include "dp.h"

/** DNS header bytes: a shorter UDP payload is no query nor answer. */
#define DP_HEALTH_DNS_HDR 12

/**
 * Whether packet @p m (direction @p dir) of a tracked flow can tell
 * anything about its server. TCP: a payload, a SYN, FIN or RST, or a
 * connect not judged yet; a pure ACK of an established connection cannot
 * (most packets). UDP: only DNS, and of the client's queries only one that
 * opens a request (none open), so a flow's repeated queries are read once
 * until answered; a UDP packet reads only the entry's first cache line.
 */
static inline bool
dp_health_wants(const struct flow_entry *e, const struct pkt_meta *m, enum flow_dir dir)
{
	if (m->l4_proto == 17)
		return (m->flags & PKT_F_L4) && m->payload_len >= DP_HEALTH_DNS_HDR &&
		       (dir == FLOW_DIR_REPLY ? m->sport == 53 :
			m->dport == 53 && !(e->health & DP_HEALTH_REQ_OPEN));
	if (m->l4_proto != 6)
		return m->payload_len != 0 && (m->flags & PKT_F_L4);
	return m->payload_len != 0 ||
	       (m->tcp_flags & (PKT_TCP_SYN | PKT_TCP_FIN | PKT_TCP_RST)) ||
	       !(e->health & DP_HEALTH_CONNECT_DONE) ||
	       e->tcp_state != FLOW_TCP_ESTABLISHED;
}

/** A flow's TCP view before this packet updated it. */
struct dp_health_prev {
	uint8_t tcp_state;
	uint32_t retrans;
};

/**
 * Action of the first direction of a new flow or of an ARP/ND frame that
 * leaves through @p eg (&g->stages[to].egress, or a steered backend's);
 * @p mac receives the next hop when act->rewrite_mac is set. What arrives
 * on @p eg itself, or on a backend segment of stage S with @p eg being S's
 * own egress, is the stage's own traffic: it leaves through the uplink.
 */
void dp_orig_action(const struct umbra_gen *g, const struct steer_egress *eg,
		    uint16_t in_port, uint16_t in_vlan, struct flow_action *act,
		    uint8_t mac[6]);

/**
 * Rewrite VLAN (and MACs, to @p mac, when act->rewrite_mac) per @p act.
 * @return 0, or -1 after dropping and counting the packet.
 */
int dp_rewrite(struct dp_worker *w, struct rte_mbuf *pkt,
	       const struct pkt_meta *m, const struct flow_action *act,
	       const uint8_t *mac);

/** Count and buffer a rewritten packet for TX on port index @p port. */
void dp_tx_queue(struct dp_worker *w, uint16_t port, struct rte_mbuf *pkt);

/** dp_rewrite() then dp_tx_queue(). */
void dp_send(struct dp_worker *w, struct rte_mbuf *pkt,
	     const struct pkt_meta *m, const struct flow_action *act,
	     const uint8_t *mac);

/**
 * Forward a packet of flow @p e through the fault rules of this loop:
 * answers, drops, copies, corruption, delays (dp_worker_fault.c).
 */
void dp_fault_forward(struct dp_worker *w, struct rte_mbuf *pkt,
		      const struct pkt_meta *m, struct flow_entry *e,
		      enum flow_dir dir, const struct flow_key *k, uint64_t now);

/**
 * Send, copy, delay or drop @p pkt (leaving by @p act) as fault result
 * @p r says; its answers are the caller's.
 */
void dp_fault_deliver(struct dp_worker *w, struct rte_mbuf *pkt,
		      const struct pkt_meta *m, const struct flow_action *act,
		      const uint8_t *mac, const struct fault_result *r);

/** Send the delayed packets that are due at @p now. */
void dp_fault_release(struct dp_worker *w, uint64_t now);

/**
 * The shadow step of a packet of a shadowed flow (copies to the targets,
 * streams to compare), and input from shadow-role ports (dp_worker_shadow.c).
 */
void dp_shadow_forward(struct dp_worker *w, const struct rte_mbuf *pkt,
		       const struct pkt_meta *m, int32_t pos, enum flow_dir dir,
		       uint64_t now);

/**
 * A new flow @p e at slot @p pos was steered: if it belongs to a cohort of
 * a service under release (and to its sample), mark it so its packets count.
 */
void dp_health_flow_start(struct dp_worker *w, const struct umbra_gen *g,
			  struct flow_entry *e, int32_t pos, const struct flow_key *k);

/**
 * Count what packet @p pkt of a tracked flow (@p prev: its TCP view
 * before the update) tells about its server.
 */
void dp_health_packet(struct dp_worker *w, struct flow_entry *e, int32_t pos,
		      struct rte_mbuf *pkt, const struct pkt_meta *m, enum flow_dir dir,
		      const struct dp_health_prev *prev, uint64_t now);

/**
 * A new flow @p e (after its decision and dp_health_flow_start()) with
 * key @p k: report it to the dependency map (NEW), and mark DNS flows so
 * their answers are copied (dp_worker_graph.c).
 */
void dp_graph_flow_start(struct dp_worker *w, const struct umbra_gen *g,
			 struct flow_entry *e, const struct flow_key *k, uint64_t now);

/**
 * A packet of a DNS flow, or with FIN or RST: copy a DNS answer, report a
 * closed flow's END.
 */
void dp_graph_packet(struct dp_worker *w, const struct umbra_gen *g, struct flow_entry *e,
		     const struct flow_key *k,
		     const struct rte_mbuf *pkt, const struct pkt_meta *m,
		     enum flow_dir dir, uint64_t now);

/**
 * The flow table's removal callback (flow_removed_fn, @p ctx the worker):
 * a flow reported NEW that ages out (idle, closed, migrated) without an
 * END yet sends one, stamped with its last packet (dp_worker_graph.c).
 */
void dp_graph_flow_removed(void *ctx, int32_t pos, struct flow_entry *e,
			   const struct flow_key *k, enum flow_removal why);

/** Housekeeping: a new period's record budget. */
static inline void
dp_graph_refill(struct dp_worker *w)
{
	w->graph.budget = DP_GRAPH_BUDGET;
	w->graph.dns_budget = DP_GRAPH_DNS_BUDGET;
}

/** Consume a burst received on shadow-role port @p in_port. */
void dp_shadow_input(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n,
		     uint16_t in_port, uint64_t now);

/** The shadow sessions' timers (from the housekeeping). */
void dp_shadow_timers(struct dp_worker *w, uint64_t now);

/** True for an ARP request or an ND solicitation. */
bool dp_arp_is_request(const struct pkt_meta *m);

/** Answer an ARP request or ND solicitation with the ingress port's MAC. */
void dp_arp_proxy_answer(struct dp_worker *w, struct rte_mbuf *pkt,
			 const struct pkt_meta *m, uint16_t in_port);

/**
 * Handle an ARP or ND frame: proxy-answer or forward it; on a backend
 * segment, answer requests and drop the rest (backend_resolution).
 */
void dp_arp_input(struct dp_worker *w, const struct umbra_gen *g,
		  struct rte_mbuf *pkt, const struct pkt_meta *m,
		  uint16_t in_port);

#endif
