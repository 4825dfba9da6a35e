/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: where shadowing meets the data path. lib/shadow decides
 * and makes the copies; this file hands it the packets of shadowed flows,
 * sends its copies out through dp_send() (VLAN, MACs, counters of the
 * shadow port), and consumes everything that arrives on a shadow port:
 * ARP/ND requests are answered with the port's MAC (the shadow servers
 * resolve the client addresses to umbra), IP packets go to the session of
 * their flow, anything else is dropped and counted.
 */
#include <rte_mbuf.h>

#include "dp_worker_private.h"
#include "pkt_mbuf.h"

/* Toward a shadow network: through the faults aimed at it, if any. */
static void
shadow_send(void *ctx, struct rte_mbuf *pkt, const struct pkt_meta *m,
	    const struct flow_action *act, const uint8_t *mac,
	    const struct flow_key *k, uint8_t profile_slot)
{
	struct dp_worker *w = ctx;
	struct fault_pkt p = {
		.m = m, .key = k, .service = 0xff, .dir = FLOW_DIR_ORIG,
		.shadow = profile_slot,
	};
	struct fault_result r;

	if (likely(w->faults->n_rules == 0)) {
		dp_send(w, pkt, m, act, mac);
		return;
	}
	fault_apply(&w->fault, w->faults, pkt, &p, rte_rdtsc(), &r);
	dp_fault_deliver(w, pkt, m, act, mac, &r);
}

static inline struct shadow_tx
shadow_tx_of(struct dp_worker *w)
{
	return (struct shadow_tx){ .send = shadow_send, .ctx = w };
}

void
dp_shadow_forward(struct dp_worker *w, const struct rte_mbuf *pkt,
		  const struct pkt_meta *m, int32_t pos, enum flow_dir dir,
		  uint64_t now)
{
	struct shadow_tx tx = shadow_tx_of(w);

	/* The flow's slot is the session's owner tag: a slot holds one flow
	 * at a time, and its session index is reset when a flow takes it. */
	shadow_flow_packet(&w->shadow, w->shadows, w->shadow_sess[pos], (uint32_t)pos,
			   pkt, m, (uint8_t)dir, now, &tx);
}

static void
shadow_input_one(struct dp_worker *w, struct rte_mbuf *pkt, uint16_t in_port,
		 uint64_t now, const struct shadow_tx *tx)
{
	struct pkt_meta m;
	struct flow_key k;
	enum pkt_drop_reason r = pkt_parse_mbuf(pkt, w->scratch, &m);

	if (r != PKT_DROP_OK) {
		w->cnt->parse_drop[r]++;
		rte_pktmbuf_free(pkt);
		return;
	}
	if (m.l3 == PKT_L3_ARP || (m.flags & PKT_F_ND)) {
		if (dp_arp_is_request(&m)) {
			dp_arp_proxy_answer(w, pkt, &m, in_port);
		} else {
			w->cnt->dp_drop[DP_DROP_SHADOW_PORT]++;
			rte_pktmbuf_free(pkt);
		}
		return;
	}
	flow_key_from_meta(&m, &k);
	if (!shadow_target_packet(&w->shadow, w->shadows, &k, pkt, &m, in_port,
				  now, tx))
		w->cnt->dp_drop[DP_DROP_SHADOW_PORT]++;
}

void
dp_shadow_input(struct dp_worker *w, struct rte_mbuf **pkts, uint16_t n,
		uint16_t in_port, uint64_t now)
{
	struct shadow_tx tx = shadow_tx_of(w);

	for (uint16_t i = 0; i < n; i++)
		shadow_input_one(w, pkts[i], in_port, now, &tx);
}

void
dp_shadow_timers(struct dp_worker *w, uint64_t now)
{
	struct shadow_tx tx = shadow_tx_of(w);

	shadow_timers(&w->shadow, w->shadows, now, &tx);
}
