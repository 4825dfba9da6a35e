/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half of the dependency map: one struct graph_flow_record per new
 * flow (NEW, after its decision) and per TCP flow that closes (END: FIN
 * both ways or RST), and a copy of the first DP_GRAPH_DNS_MAX bytes of
 * each DNS answer (UDP from port 53) crossing umbra, on two SP/SC rings
 * per worker that the management core drains (app/umbra/umbra_graph.c).
 *
 * The cost falls on new flows and on the packets that carry FIN, RST or a
 * DNS answer, never on other data packets. A worker sends at most
 * DP_GRAPH_BUDGET flow records and DP_GRAPH_DNS_BUDGET DNS copies per
 * housekeeping period; past them, and on a full ring, records are dropped
 * and counted. Flows that end by idling out (UDP, and TCP flows never
 * closed) or by migration send their END when the flow table's aging
 * removes them (dp_graph_flow_removed(), the table's removal callback),
 * from the same budget, stamped with their last packet's time; only
 * flows reported NEW (DP_GRAPH_OPEN) do, so the callback costs one test
 * per removal otherwise.
 *
 * The client of an edge is the flow's originator: a service when the
 * flow came from one of its backend segments (steer_client_of(), with
 * the canary or control cohort of that backend), else its address.
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp_worker_private.h"

/* The originator's address, the server's address and port. */
static void
endpoints(const struct flow_entry *e, const struct flow_key *k, struct graph_flow_record *r)
{
	const uint8_t *client = e->orig_side == 0 ? k->addr_a : k->addr_b;
	const uint8_t *server = e->orig_side == 0 ? k->addr_b : k->addr_a;

	r->family = k->family;
	r->proto = k->proto;
	memcpy(r->client_ip, client, sizeof(r->client_ip));
	memcpy(r->server_ip, server, sizeof(r->server_ip));
	r->server_port = e->orig_side == 0 ? k->port_b : k->port_a;
}

static inline bool
budget_take(struct dp_worker *w, uint32_t *budget)
{
	if (unlikely(*budget == 0)) {
		w->cnt->graph_over_budget++;
		return false;
	}
	(*budget)--;
	return true;
}

static inline void
record_send(struct dp_worker *w, struct graph_flow_record *r)
{
	if (rte_ring_sp_enqueue_elem(w->graph.flows, r, sizeof(*r)) == 0)
		w->cnt->graph_records++;
	else
		w->cnt->graph_ring_full++;
}

/* The client's service and cohort: a flow that came from a backend segment. */
static uint8_t
client_service(const struct umbra_gen *g, const struct flow_entry *e, uint8_t *cohort)
{
	const struct flow_action *back = &e->act[FLOW_DIR_REPLY];
	uint16_t vlan = back->vlan == FLOW_VLAN_NONE ? 0 : (back->vlan & 0x0fff);
	bool canary;
	uint8_t s;

	*cohort = GRAPH_COHORT_CONTROL;
	if (likely(!steer_active(g->steer)))
		return GRAPH_SERVICE_NONE;
	s = steer_client_of(g->steer, e->from_stage, back->port, vlan, &canary);
	if (s == STEER_NO_SERVICE)
		return GRAPH_SERVICE_NONE;
	*cohort = canary ? GRAPH_COHORT_CANARY : GRAPH_COHORT_CONTROL;
	return s;
}

void
dp_graph_flow_start(struct dp_worker *w, const struct umbra_gen *g,
		    struct flow_entry *e, const struct flow_key *k, uint64_t now)
{
	struct graph_flow_record r;

	if (unlikely(__atomic_load_n(&w->graph.paused, __ATOMIC_RELAXED)))
		return;
	if (e->proto == 17 && (e->orig_side == 0 ? k->port_b : k->port_a) == 53)
		e->health |= DP_GRAPH_DNS;
	if (!budget_take(w, &w->graph.budget))
		return;
	endpoints(e, k, &r);
	r.stage = e->stage;
	r.service = client_service(g, e, &r.cohort);
	r.kind = GRAPH_REC_NEW;
	r.bytes = 0;
	r.rtt_us = 0;
	r.reset = 0;
	r.error = e->verdict == FLOW_DENY;
	r.ts_ms = now / w->graph.tsc_per_ms;
	e->health |= DP_GRAPH_OPEN;
	record_send(w, &r);
}

/*
 * A flow's END: its bytes, handshake latency, reset or refusal. A TCP
 * flow removed by aging without a SYN-ACK (after a SYN) timed out: an
 * error.
 */
static void
flow_end(struct dp_worker *w, const struct umbra_gen *g, struct flow_entry *e,
	 const struct flow_key *k, uint64_t now, bool aged)
{
	struct graph_flow_record r;
	bool rst = ((e->flags_seen[0] | e->flags_seen[1]) & PKT_TCP_RST) != 0;
	bool answered = (e->flags_seen[FLOW_DIR_REPLY] & PKT_TCP_SYN) != 0;
	bool timed_out = aged && e->proto == 6 && !rst && !answered &&
			 (e->flags_seen[FLOW_DIR_ORIG] & PKT_TCP_SYN);

	e->health &= (uint8_t)~DP_GRAPH_OPEN;
	if (!budget_take(w, &w->graph.budget))
		return;
	endpoints(e, k, &r);
	r.stage = e->stage;
	/* The client's service again (the entry keeps no copy): the same
	 * edge as its NEW, unless a new generation moved its backend. */
	r.service = client_service(g, e, &r.cohort);
	r.kind = GRAPH_REC_END;
	r.bytes = e->bytes[0] + e->bytes[1];
	r.rtt_us = e->rtt_us;
	r.reset = rst && answered;
	/* refused: a reset before any SYN-ACK */
	r.error = (rst && !answered) || timed_out;
	r.ts_ms = now / w->graph.tsc_per_ms;
	record_send(w, &r);
}

void
dp_graph_flow_removed(void *ctx, int32_t pos, struct flow_entry *e,
		      const struct flow_key *k, enum flow_removal why)
{
	struct dp_worker *w = ctx;

	RTE_SET_USED(pos);
	RTE_SET_USED(why);
	if (likely(!(e->health & DP_GRAPH_OPEN)))
		return;
	/* Aging runs in the housekeeping, inside the loop's read section:
	 * the current generation is safe to read. Stamped with the last
	 * packet, not the removal: the edge was last seen then. */
	flow_end(w, gen_current(w->pub), e, k, e->last_tsc, true);
}

void
dp_graph_packet(struct dp_worker *w, const struct umbra_gen *g, struct flow_entry *e,
		const struct flow_key *k,
		const struct rte_mbuf *pkt, const struct pkt_meta *m,
		enum flow_dir dir, uint64_t now)
{
	if ((e->health & DP_GRAPH_OPEN) && e->tcp_state == FLOW_TCP_CLOSED)
		flow_end(w, g, e, k, now, false);
	if ((e->health & DP_GRAPH_DNS) && dir == FLOW_DIR_REPLY && m->sport == 53 &&
	    m->payload_len >= 12 && (m->flags & PKT_F_L4)) {
		struct dp_graph_dns d;
		uint16_t len = m->payload_len < DP_GRAPH_DNS_MAX ? m->payload_len :
			       DP_GRAPH_DNS_MAX;
		const uint8_t *p;

		if (!budget_take(w, &w->graph.dns_budget))
			return;
		p = rte_pktmbuf_read(pkt, m->payload_off, len, d.data);
		if (p == NULL)
			return;
		if (p != d.data)
			memcpy(d.data, p, len);
		d.len = len;
		d.stage = e->stage;
		d.ts_ms = now / w->graph.tsc_per_ms;
		if (rte_ring_sp_enqueue_elem(w->graph.dns, &d, sizeof(d)) == 0)
			w->cnt->graph_dns++;
		else
			w->cnt->graph_dns_full++;
	}
}
