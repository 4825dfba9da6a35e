/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: the poll loop and the per-burst pipeline
 * parse > flow lookup > classify + policy (new flows) > account > faults
 * (only while a fault table has rules) > send; delayed packets are sent
 * from the top of each loop when due.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "classify.h"
#include "dp_worker_private.h"
#include "pkt_mbuf.h"

/** What a new flow was given; stored in its entry, or used once if stateless. */
struct dp_decision {
	uint16_t from;
	uint16_t to;
	uint16_t rule;
	uint8_t verdict;
	uint8_t shadow;         /* shadow profile + 1, or SHADOW_NONE */
	struct steer_result steer;
	struct flow_action act[2];
	uint8_t mac[2][6];
};

/** Per-burst scratch: IP packets that go through the flow table. */
struct dp_burst {
	struct pkt_meta meta[DP_BURST];
	struct flow_key keys[DP_BURST];
	const struct flow_key *key_ptr[DP_BURST];
	int32_t pos[DP_BURST];
	uint8_t side[DP_BURST];
	uint8_t pkt_idx[DP_BURST];
	uint32_t n_ip;
};

static inline uint16_t
meta_vlan_id(const struct pkt_meta *m)
{
	return m->n_vlan ? (m->vlan_tci[0] & 0x0fff) : 0;
}

/* Service, version and split of a new flow: where its first direction goes. */
static const struct steer_egress *
dp_steer(const struct umbra_gen *g, const struct pkt_meta *m,
	 const struct flow_key *k, uint16_t to, struct steer_result *r)
{
	if (likely(!steer_active(g->steer))) {
		*r = (struct steer_result){ .service = STEER_NO_SERVICE };
		return &g->stages[to].egress;
	}
	steer_flow(g->steer, to, m, steer_flow_hash(g->steer, k), r);
	return r->egress ? r->egress : &g->stages[to].egress;
}

static void
dp_decide(const struct dp_worker *w, const struct umbra_gen *g,
	  const struct pkt_meta *m, const struct flow_key *k,
	  const struct rte_mbuf *pkt, uint16_t in_port, uint16_t to,
	  uint64_t now, struct dp_decision *d)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkt, const struct rte_ether_hdr *);
	uint16_t vlan = meta_vlan_id(m);
	uint16_t from = classify_from_stage(g->cls, in_port, vlan);
	const struct steer_egress *eg = dp_steer(g, m, k, to, &d->steer);
	bool allow = true;

	/* DevMesh extension: the stage lacks the service, production serves
	 * it, so the flow is production's, from the stage it came from. */
	if (unlikely(d->steer.extended_to != 0)) {
		from = from == CLASSIFY_NO_STAGE ? to : from;
		to = d->steer.extended_to - 1;
	}
	d->to = to;
	d->from = from == CLASSIFY_NO_STAGE ? to : from;
	d->rule = FLOW_RULE_NONE;
	if (d->from != to)
		d->rule = classify_policy(g->cls, d->from, to, m->l4_proto,
					  m->sport, m->dport, &allow);
	d->verdict = allow ? FLOW_FORWARD : FLOW_DENY;
	d->shadow = likely(w->shadows->n == 0) || !allow ? SHADOW_NONE :
		    shadow_select(w->shadows, to, d->steer.service, m, k, now);
	dp_orig_action(g, eg, in_port, vlan, &d->act[FLOW_DIR_ORIG],
		       d->mac[FLOW_DIR_ORIG]);
	/* Replies go back where the first packet came from, tagged as it was;
	 * a MAC rewrite toward the stage is mirrored toward the client. */
	d->act[FLOW_DIR_REPLY] = (struct flow_action){
		.port = in_port,
		.vlan = m->n_vlan ? m->vlan_tci[0] : FLOW_VLAN_NONE,
		.rewrite_mac = d->act[FLOW_DIR_ORIG].rewrite_mac,
	};
	memcpy(d->mac[FLOW_DIR_REPLY], eh->src_addr.addr_bytes, RTE_ETHER_ADDR_LEN);
}

/* A chosen flow gets its shadow session now, or is not shadowed at all. */
static void
shadow_flow_start(struct dp_worker *w, struct flow_entry *e, int32_t pos,
		  const struct flow_key *k, const struct pkt_meta *m, uint8_t chosen,
		  uint64_t now)
{
	uint32_t sess = shadow_session_start(&w->shadow, w->shadows, chosen, k, m,
					     (uint32_t)pos, now);

	w->shadow_sess[pos] = sess;
	e->shadow = sess == SHADOW_NO_SESSION ? SHADOW_NONE : chosen;
}

static void
decision_store(struct flow_entry *e, const struct dp_decision *d, uint64_t gen)
{
	e->stage = d->to;
	e->from_stage = d->from;
	e->rule = d->rule;
	e->verdict = d->verdict;
	e->gen = (uint32_t)gen;
	e->service = d->steer.service;
	e->steer = d->steer.how;
	e->shadow = d->shadow;
	e->act[0] = d->act[0];
	e->act[1] = d->act[1];
	memcpy(e->mac, d->mac, sizeof(e->mac));
}

/*
 * Parse every packet; ARP/ND go their own way, IP packets get a flow key.
 * @return the bytes received (every packet, parsed or not).
 */
static uint64_t
burst_parse(struct dp_worker *w, const struct umbra_gen *g,
	    struct rte_mbuf **pkts, uint16_t n, uint16_t in_port,
	    struct dp_burst *b)
{
	uint64_t bytes = 0;

	b->n_ip = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct pkt_meta *m = &b->meta[b->n_ip];
		enum pkt_drop_reason r;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
		r = pkt_parse_mbuf(pkts[i], w->scratch, m);
		if (unlikely(r != PKT_DROP_OK)) {
			w->cnt->parse_drop[r]++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		if (unlikely(m->l3 == PKT_L3_ARP || (m->flags & PKT_F_ND))) {
			dp_arp_input(w, g, pkts[i], m, in_port);
			continue;
		}
		b->side[b->n_ip] = (uint8_t)flow_key_from_meta(m, &b->keys[b->n_ip]);
		b->key_ptr[b->n_ip] = &b->keys[b->n_ip];
		b->pkt_idx[b->n_ip] = (uint8_t)i;
		b->n_ip++;
	}
	return bytes;
}

/*
 * After config/migrate: a flow decided by an older generation is removed
 * when its client sends, so that packet decides it again as a new flow; a
 * reply keeps the old decision (it must never become the originator). A
 * flow whose earlier packet in this burst already used its entry waits for
 * the next burst.
 */
static void
burst_migrate(struct dp_worker *w, struct dp_burst *b)
{
	for (uint32_t j = 0; j < b->n_ip; j++) {
		int32_t pos = b->pos[j];
		bool used = false;

		if (pos < 0 || !flow_table_is_migrated(w->ft, pos) ||
		    flow_dir_of(flow_table_entry(w->ft, pos), b->side[j]) != FLOW_DIR_ORIG)
			continue;
		for (uint32_t i = 0; i < j && !used; i++)
			used = b->pos[i] == pos;
		if (used)
			continue;
		flow_table_migrate(w->ft, pos);
		for (uint32_t i = j; i < b->n_ip; i++)
			if (b->pos[i] == pos)
				b->pos[i] = -1;
	}
}

/*
 * New flows: classify the misses in one ACL call, apply policy, add.
 * @return the number of misses (0: nothing was done).
 */
static uint32_t
burst_new_flows(struct dp_worker *w, const struct umbra_gen *g,
		struct rte_mbuf **pkts, uint16_t in_port, struct dp_burst *b,
		struct dp_decision *stateless, uint64_t now)
{
	struct classify_key ck[DP_BURST];
	const struct classify_key *ckp[DP_BURST];
	uint16_t stages[DP_BURST];
	uint8_t miss[DP_BURST];
	uint32_t n_miss = 0;

	for (uint32_t j = 0; j < b->n_ip; j++) {
		if (b->pos[j] >= 0)
			continue;
		classify_key_from_meta(&b->meta[j], in_port, &ck[n_miss]);
		ckp[n_miss] = &ck[n_miss];
		miss[n_miss++] = (uint8_t)j;
	}
	if (n_miss == 0)
		return 0;
	classify_stages(g->cls, ckp, n_miss, stages);
	for (uint32_t k = 0; k < n_miss; k++) {
		uint32_t j = miss[k];
		struct dp_decision *d = &stateless[j];
		struct flow_entry *e;
		int32_t pos;

		/* An earlier packet of this burst may have added the flow. */
		flow_table_lookup_bulk(w->ft, &b->key_ptr[j], 1, &pos);
		if (pos >= 0) {
			b->pos[j] = pos;
			continue;
		}
		dp_decide(w, g, &b->meta[j], &b->keys[j], pkts[b->pkt_idx[j]], in_port,
			  stages[k], now, d);
		w->cnt->stage_flows[d->to]++;
		if (d->steer.service != STEER_NO_SERVICE)
			w->cnt->service_flows[d->steer.service][d->steer.how]++;
		if (d->steer.how == STEER_SPLIT)
			w->cnt->split_flows[d->steer.split]++;
		if (d->rule != FLOW_RULE_NONE)
			w->cnt->rule_flows[d->rule]++;
		pos = flow_table_add(w->ft, &b->keys[j], b->side[j], now);
		if (pos < 0) {
			w->cnt->flows_stateless++;
			continue;
		}
		w->cnt->flows_new++;
		e = flow_table_entry(w->ft, pos);
		decision_store(e, d, g->id);
		dp_health_flow_start(w, g, e, pos, &b->keys[j]);
		dp_graph_flow_start(w, g, e, &b->keys[j], now);
		w->shadow_sess[pos] = SHADOW_NO_SESSION;
		if (unlikely(d->shadow != SHADOW_NONE))
			shadow_flow_start(w, e, pos, &b->keys[j], &b->meta[j], d->shadow, now);
		b->pos[j] = pos;
	}
	return n_miss;
}

static void
account_verdict(struct dp_counters *c, uint16_t from, uint16_t to,
		uint16_t rule, uint32_t len)
{
	c->stage_pkts[to]++;
	c->stage_bytes[to] += len;
	if (rule != FLOW_RULE_NONE)
		c->rule_pkts[rule]++;
	else if (from != to)
		c->default_deny[from][to]++;
}

static void
burst_forward(struct dp_worker *w, const struct umbra_gen *g, struct rte_mbuf **pkts,
	      struct dp_burst *b, const struct dp_decision *stateless, uint64_t now)
{
	for (uint32_t j = 0; j < b->n_ip; j++) {
		struct rte_mbuf *pkt = pkts[b->pkt_idx[j]];
		uint32_t len = rte_pktmbuf_pkt_len(pkt);
		struct flow_entry *e, stateless_entry;
		enum flow_dir dir = FLOW_DIR_ORIG;

		if (likely(b->pos[j] >= 0)) {
			e = flow_table_entry(w->ft, b->pos[j]);
			dir = flow_dir_of(e, b->side[j]);
			/* Cohort health reads a TCP flow's view from before this
			 * packet (both fields sit on the line the update writes);
			 * only tracked TCP flows read that line for it. */
			bool health = unlikely(e->health & DP_HEALTH_TRACK) &&
				      dp_health_wants(e, &b->meta[j], dir);
			struct dp_health_prev prev = { 0, 0 };

			if (health && b->meta[j].l4_proto == 6)
				prev = (struct dp_health_prev){ e->tcp_state, e->retrans[dir] };

			flow_entry_update(e, &b->meta[j], dir, len, now, w->tsc_hz);
			if (health)
				dp_health_packet(w, e, b->pos[j], pkt, &b->meta[j], dir, &prev, now);
			/* The dependency map: DNS answers, closed flows. */
			if (unlikely((e->health & DP_GRAPH_DNS) |
				     (b->meta[j].tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST))))
				dp_graph_packet(w, g, e, &b->keys[j], pkt, &b->meta[j], dir, now);
		} else { /* table full: the decision serves this packet only */
			e = &stateless_entry;
			decision_store(e, &stateless[j], 0);
			e->first_tsc = now;
			e->fault_order[0] = e->fault_order[1] = 0;
			e->shadow = SHADOW_NONE;        /* no session without state */
			e->health = 0;
		}
		account_verdict(w->cnt, e->from_stage, e->stage, e->rule, len);
		if (unlikely(e->verdict == FLOW_DENY)) {
			w->cnt->dp_drop[DP_DROP_POLICY_DENY]++;
			rte_pktmbuf_free(pkt);
			continue;
		}
		if (unlikely(e->shadow != SHADOW_NONE))       /* never stateless */
			dp_shadow_forward(w, pkt, &b->meta[j], b->pos[j], dir, now);
		if (unlikely(w->faults->n_rules != 0)) {
			dp_fault_forward(w, pkt, &b->meta[j], e, dir, &b->keys[j], now);
			continue;
		}
		dp_send(w, pkt, &b->meta[j], &e->act[dir], e->mac[dir]);
	}
}

/*
 * One RX burst through the pipeline. Stage cycles come from the TSC read
 * between stages; the first stage starts at @p *tsc, the caller's last
 * read (so RX includes the loop's own overhead), and *tsc becomes the last
 * read here. An empty poll reads nothing. @return the packets received.
 */
static uint16_t
dp_rx_burst(struct dp_worker *w, const struct umbra_gen *g,
	    const struct dp_rxq *q, uint64_t *tsc)
{
	struct rte_mbuf *pkts[DP_BURST];
	struct dp_decision stateless[DP_BURST];
	struct dp_burst b;
	struct dp_counters *c = w->cnt;
	uint64_t t0 = *tsc, t1, t2, t3, t4, t5;
	uint16_t n;

	n = rte_eth_rx_burst(q->port_id, q->queue, pkts, DP_BURST);
	shadow_worker_rx(&w->shadow, n, DP_BURST);      /* overload: shadows shed */
	if (n == 0)
		return 0;
	t1 = rte_rdtsc();
	c->bursts++;
	c->pkts += n;
	c->port[q->port].rx_pkts += n;
	if (unlikely(w->ports->ports[q->port].shadow)) {
		for (uint16_t i = 0; i < n; i++)
			c->port[q->port].rx_bytes += rte_pktmbuf_pkt_len(pkts[i]);
		dp_shadow_input(w, pkts, n, q->port, t1);
		*tsc = rte_rdtsc();
		c->cycles[DP_CYC_RX] += *tsc - t0;
		return n;
	}

	c->port[q->port].rx_bytes += burst_parse(w, g, pkts, n, q->port, &b);
	t2 = rte_rdtsc();
	/* rte_hash hashes each key and prefetches its bucket in one pass:
	 * hashing the keys beforehand (while parsing) measured slower. */
	flow_table_lookup_bulk(w->ft, b.key_ptr, b.n_ip, b.pos);
	/* The second line too for TCP (tracking) and where MACs are rewritten. */
	for (uint32_t j = 0; j < b.n_ip; j++)
		if (b.pos[j] >= 0)
			flow_table_prefetch(w->ft, b.pos[j],
					    g->rewrites_mac || b.meta[j].l4_proto == 6);
	if (unlikely(flow_table_migrating(w->ft)))
		burst_migrate(w, &b);
	/* While shadow profiles exist, the sessions of shadowed flows. */
	if (unlikely(w->shadows->n != 0))
		for (uint32_t j = 0; j < b.n_ip; j++)
			if (b.pos[j] >= 0)
				shadow_session_prefetch(&w->shadow, w->shadow_sess[b.pos[j]]);
	/* While a release is judged, its flows' request stamps too. */
	if (unlikely(steer_any_canary(g->steer)))
		for (uint32_t j = 0; j < b.n_ip; j++)
			if (b.pos[j] >= 0)
				rte_prefetch0(&w->health->req_ts[b.pos[j]]);
	t3 = rte_rdtsc();
	/* Bursts of known flows only (most) read no TSC for this stage. */
	t4 = burst_new_flows(w, g, pkts, q->port, &b, stateless, t3) ? rte_rdtsc() : t3;
	burst_forward(w, g, pkts, &b, stateless, t4);
	t5 = rte_rdtsc();
	*tsc = t5;

	c->cycles[DP_CYC_RX] += t1 - t0;
	c->cycles[DP_CYC_PARSE] += t2 - t1;
	c->cycles[DP_CYC_LOOKUP] += t3 - t2;
	c->cycles[DP_CYC_CLASSIFY] += t4 - t3;
	c->cycles[DP_CYC_FORWARD] += t5 - t4;
	return n;
}

static void
flow_timeouts_of(const struct umbra_gen *g, uint64_t hz, struct flow_timeouts *t)
{
	const struct conf_flow_table *ft = &g->conf->flow_table;

	t->tcp_closed = hz / 1000 * ft->tcp_closed_timeout_ms;
	t->tcp_idle = hz * ft->tcp_idle_timeout_s;
	t->udp_idle = hz * ft->udp_idle_timeout_s;
	t->other_idle = hz * ft->other_idle_timeout_s;
	t->min_gen = (uint32_t)g->migrate_before;
}

/*
 * Every DP_DRAIN_US: push out partly filled TX buffers and age some flows.
 * @return the TSC when it finished.
 */
static uint64_t
dp_housekeeping(struct dp_worker *w, const struct umbra_gen *g, uint64_t now)
{
	struct flow_timeouts to;
	uint64_t t0 = rte_rdtsc(), t1;

	for (uint16_t p = 0; p < w->ports->n_ports; p++)
		rte_eth_tx_buffer_flush(w->ports->ports[p].port_id, w->index,
					w->txb[p]);
	dp_shadow_timers(w, now);
	dp_graph_refill(w);
	flow_timeouts_of(g, w->tsc_hz, &to);
	flow_table_age(w->ft, &to, now, DP_AGE_BUDGET);
	t1 = rte_rdtsc();
	w->cnt->cycles[DP_CYC_TX] += t1 - t0;
	return t1;
}

int
dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct rte_rcu_qsbr *qsbr = w->pub->qsbr;
	uint64_t drain = w->tsc_hz / 1000000 * DP_DRAIN_US;
	uint64_t tsc = rte_rdtsc(); /* the last TSC read (dp_rx_burst()) */
	uint64_t next_drain = tsc + drain;

	rte_rcu_qsbr_thread_register(qsbr, w->index);
	rte_rcu_qsbr_thread_online(qsbr, w->index);
	/* Flows that age out send their END to the dependency map. */
	flow_table_set_removed(w->ft, dp_graph_flow_removed, w);
	while (!*w->quit) {
		const struct umbra_gen *g = gen_current(w->pub);
		uint16_t rx = 0;

		if (unlikely(g->id != w->cnt->gen_seen)) {
			w->cnt->gen_seen_tsc = rte_rdtsc();
			w->cnt->gen_seen = g->id;
		}
		w->faults = gen_table_current(w->fpub);
		w->shadows = gen_table_current(w->spub);
		shadow_worker_sync(&w->shadow, w->shadows);
		fault_worker_sync(&w->fault, w->faults);
		if (unlikely(fault_delayq_count(w->fault.dq) != 0))
			dp_fault_release(w, rte_rdtsc());
		for (uint16_t i = 0; i < w->n_rxq; i++)
			rx |= dp_rx_burst(w, g, &w->rxq[i], &tsc);
		/* A busy loop's clock is its last burst's; an idle one reads it. */
		if (rx == 0)
			tsc = rte_rdtsc();
		if (tsc >= next_drain) {
			tsc = dp_housekeeping(w, g, tsc);
			next_drain = tsc + drain;
		}
		shadow_worker_loop(&w->shadow);
		w->cnt->loops++;
		rte_rcu_qsbr_quiescent(qsbr, w->index);
	}
	/* Held packets go out now rather than be lost with the process. */
	while (fault_delayq_count(w->fault.dq) != 0)
		dp_fault_release(w, UINT64_MAX);
	rte_rcu_qsbr_thread_offline(qsbr, w->index);
	rte_rcu_qsbr_thread_unregister(qsbr, w->index);
	for (uint16_t p = 0; p < w->ports->n_ports; p++)
		rte_eth_tx_buffer_flush(w->ports->ports[p].port_id, w->index,
					w->txb[p]);
	return 0;
}
