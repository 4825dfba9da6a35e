/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: the fault step between a packet's verdict and its TX, and
 * the release of delayed packets when they are due. The rules decide
 * (lib/fault); this file moves the packets: answers go back the way the
 * packet came (or on toward its receiver), copies are taken before any
 * rewrite, delayed packets are rewritten now and queued by deadline.
 */
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "dp_worker_private.h"

/** Bursts of due packets released per loop at most. */
#define DP_FAULT_RELEASE_BURSTS 8
/** Copies of one packet at most, whatever the rules ask. */
#define DP_FAULT_COPIES_MAX 8

static void
fault_send_answers(struct dp_worker *w, const struct fault_result *r,
		   const struct pkt_meta *m, const struct flow_entry *e,
		   enum flow_dir dir)
{
	for (uint8_t i = 0; i < r->n_answers; i++) {
		enum flow_dir d = r->answers[i].to_sender ? (enum flow_dir)(dir ^ 1) : dir;

		/* Answers keep the packet's tags, so its metadata fits them. */
		dp_send(w, r->answers[i].m, m, &e->act[d], e->mac[d]);
	}
}

/*
 * Whether a FIFO may hold a copy of @p pkt's bytes instead of @p pkt: one
 * short segment that nothing else references and that asks the device
 * for nothing (a fresh mbuf with the same bytes goes out the same).
 */
static inline bool
fault_copyable(const struct rte_mbuf *pkt)
{
	return pkt->data_len <= FAULT_DELAY_INLINE && pkt->nb_segs == 1 &&
	       RTE_MBUF_DIRECT(pkt) && rte_mbuf_refcnt_read(pkt) == 1 &&
	       (pkt->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK) == 0;
}

/*
 * Hold a rewritten @p pkt until @p it's deadline. A short packet bound for
 * a FIFO is held as a copy and its mbuf freed now: 100k held mbufs would
 * be 100k cold buffers (each written at RX, read and freed at release,
 * tens of MB apart), where the copies are read and written in order and
 * the mbufs stay in the pool's per-core cache, warm for the next RX.
 * @return 0, or -1 when the queue is full.
 */
static int
fault_hold(struct dp_worker *w, struct rte_mbuf *pkt,
	   const struct fault_delay_item *it, uint32_t fifo)
{
	if (fifo != FAULT_DELAY_WHEEL && fault_copyable(pkt) &&
	    fault_delayq_push_copy(w->fault.dq, it, fifo,
				   rte_pktmbuf_mtod(pkt, void *),
				   pkt->data_len) == 0) {
		rte_pktmbuf_free(pkt);
		return 0;
	}
	return fault_delayq_push(w->fault.dq, it, fifo);
}

/* Send @p pkt now, or rewrite it now and hold it until its deadline. */
static void
fault_send_or_hold(struct dp_worker *w, struct rte_mbuf *pkt,
		   const struct pkt_meta *m, const struct flow_action *act,
		   const uint8_t *mac, const struct fault_result *r)
{
	struct fault_delay_item it;
	uint32_t held;

	if (r->deadline == 0) {
		dp_send(w, pkt, m, act, mac);
		return;
	}
	if (dp_rewrite(w, pkt, m, act, mac) < 0)
		return;
	it = (struct fault_delay_item){
		.pkt = pkt, .deadline = r->deadline, .requested = r->requested,
		.rule_uid = r->delay_uid, .port = act->port,
		.slot = (uint8_t)r->delay_slot,
	};
	if (unlikely(fault_hold(w, pkt, &it, r->fifo) < 0)) {
		w->fault.cnt[r->delay_slot].overflow++;
		rte_pktmbuf_free(pkt);
		return;
	}
	held = fault_delayq_count(w->fault.dq);
	if (held > w->fault.inflight_max)
		w->fault.inflight_max = held;
}

void
dp_fault_deliver(struct dp_worker *w, struct rte_mbuf *pkt,
		 const struct pkt_meta *m, const struct flow_action *act,
		 const uint8_t *mac, const struct fault_result *r)
{
	struct rte_mbuf *copies[DP_FAULT_COPIES_MAX];
	uint8_t n_copies = 0;

	if (r->drop) {
		rte_pktmbuf_free(pkt);
		return;
	}
	/* Copies before the original is rewritten. */
	for (uint8_t i = 0; i < r->copies && i < DP_FAULT_COPIES_MAX; i++) {
		copies[n_copies] = rte_pktmbuf_copy(pkt, w->fault.pool, 0, UINT32_MAX);
		if (copies[n_copies] == NULL)
			w->cnt->dp_drop[DP_DROP_NO_MBUF]++;
		else
			n_copies++;
	}
	fault_send_or_hold(w, pkt, m, act, mac, r);
	for (uint8_t i = 0; i < n_copies; i++)
		fault_send_or_hold(w, copies[i], m, act, mac, r);
}

/*
 * Whether a rule of @p t targets a service or new flows only: only then is
 * the flow entry's second cache line (service, first_tsc) read. With a
 * large table and 100k packets held it is a miss per packet otherwise
 * (keep_order writes fault_order there, and only for its own packets).
 */
static bool
fault_reads_line2(struct fault_worker *fw, const struct fault_table *t)
{
	if (unlikely(fw->line2_version != t->version)) {
		fw->line2 = false;
		for (uint32_t i = 0; i < t->n_rules; i++)
			if (t->rules[i].service >= 0 || t->rules[i].new_flows_only)
				fw->line2 = true;
		fw->line2_version = t->version;
	}
	return fw->line2;
}

void
dp_fault_forward(struct dp_worker *w, struct rte_mbuf *pkt,
		 const struct pkt_meta *m, struct flow_entry *e,
		 enum flow_dir dir, const struct flow_key *k, uint64_t now)
{
	bool line2 = fault_reads_line2(&w->fault, w->faults);
	struct fault_pkt p = {
		.m = m, .key = k, .stage = e->stage, .from_stage = e->from_stage,
		.service = line2 ? e->service : 0xff, .dir = (uint8_t)dir,
		.flow_first_tsc = line2 ? e->first_tsc : 0,
		.order_stamp = &e->fault_order[dir],
	};
	struct fault_result r;

	fault_apply(&w->fault, w->faults, pkt, &p, now, &r);
	fault_send_answers(w, &r, m, e, dir);
	dp_fault_deliver(w, pkt, m, &e->act[dir], e->mac[dir], &r);
}

/*
 * Put the packets held as copies among @p it[0..n-1] back in mbufs (warm
 * ones, from the pool's per-core cache); one that finds none is dropped
 * and counted. @return the items left in @p it, in order.
 */
static uint32_t
release_unpack(struct dp_worker *w, struct fault_delay_item *it, uint32_t n)
{
	struct rte_mbuf *mb[DP_BURST];
	uint32_t n_copy = 0, k = 0, left = 0;

	for (uint32_t i = 0; i < n; i++)
		n_copy += it[i].len != 0;
	if (n_copy == 0)
		return n;
	if (unlikely(rte_pktmbuf_alloc_bulk(w->fault.pool, mb, n_copy) != 0))
		for (uint32_t j = 0; j < n_copy; j++)   /* as many as there are */
			mb[j] = rte_pktmbuf_alloc(w->fault.pool);
	for (uint32_t i = 0; i < n; i++) {
		/* Read whole, changed in registers, stored whole: storing the
		 * pointer into it[i] and then copying it[i] made the copy's
		 * load wait for that store (no store forwarding across sizes). */
		struct fault_delay_item x = it[i];
		struct rte_mbuf *m;

		if (x.len == 0) {
			it[left++] = x;
			continue;
		}
		m = mb[k++];
		if (unlikely(m == NULL)) {
			w->cnt->dp_drop[DP_DROP_NO_MBUF]++;
			if (w->fault.cnt[x.slot].uid == x.rule_uid)
				w->fault.cnt[x.slot].no_mbuf++;
			continue;
		}
		rte_memcpy(rte_pktmbuf_mtod(m, void *), x.pkt, x.len);
		m->data_len = x.len;
		m->pkt_len = x.len;
		x.pkt = m;
		it[left++] = x;
	}
	return left;
}

/* One burst of due packets; @return how many came out of the queue. */
static uint32_t
release_burst(struct dp_worker *w, uint64_t now)
{
	struct fault_delay_item it[DP_BURST];
	uint32_t ports = 0, n, polled;

	polled = fault_delayq_poll(w->fault.dq, now, it, DP_BURST);
	n = release_unpack(w, it, polled);
	/* Held for milliseconds among 100k others, an mbuf held as itself is
	 * cold: both of its lines (lengths; next and pool, read when the
	 * device frees it) are fetched for the whole burst before any is
	 * read (release_prefetch_next() asked for them a loop ago). */
	for (uint32_t i = 0; i < n; i++) {
		rte_prefetch0(it[i].pkt);
		rte_prefetch0(RTE_PTR_ADD(it[i].pkt, RTE_CACHE_LINE_SIZE));
	}
	if (now != UINT64_MAX)          /* not flushed at stop: real samples */
		for (uint32_t i = 0; i < n; i++)
			fault_delay_sent(&w->fault, &it[i], now);
	for (uint32_t i = 0; i < n; i++) {
		dp_tx_queue(w, it[i].port, it[i].pkt);
		ports |= 1u << it[i].port;
	}
	/* Due now: out now, not at the next drain. */
	while (ports) {
		uint16_t p = (uint16_t)__builtin_ctz(ports);

		ports &= ports - 1;
		rte_eth_tx_buffer_flush(w->ports->ports[p].port_id, w->index,
					w->txb[p]);
	}
	return polled;
}

/*
 * Fetch the mbufs the next release will most likely send (the next burst
 * of the FIFO due first): held among 100k others they are cold, and a
 * loop's RX burst is time enough for the fetches to land. Once sent and
 * freed, RX takes them back first (the mempool cache is LIFO) and writes
 * a packet's first bytes to their data room: that line too, for writing.
 */
static void
release_prefetch_next(struct dp_worker *w)
{
	void *next[DP_BURST];
	uint32_t n;

	fault_delayq_prefetch(w->fault.dq, DP_BURST);
	n = fault_delayq_peek(w->fault.dq, next, DP_BURST);

	for (uint32_t i = 0; i < n; i++) {
		rte_prefetch0(next[i]);
		rte_prefetch0(RTE_PTR_ADD(next[i], RTE_CACHE_LINE_SIZE));
		rte_prefetch0_write(RTE_PTR_ADD(next[i], w->fault.rx_line_off));
	}
}

void
dp_fault_release(struct dp_worker *w, uint64_t now)
{
	/* A backlog of due packets is worked off before the next RX burst
	 * (bounded, so RX still runs): one burst per loop would let it grow
	 * for as long as input keeps the worker busy. */
	uint32_t n = 0, sent;

	for (int i = 0; i < DP_FAULT_RELEASE_BURSTS; i++) {
		sent = release_burst(w, now);
		n += sent;
		if (sent < DP_BURST)
			break;
	}
	/* Nothing went: what comes next was fetched when something last did. */
	if (n > 0)
		release_prefetch_next(w);
}
