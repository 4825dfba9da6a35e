/* SPDX-License-Identifier: BSD-3-Clause */
/* Worker half: choose an egress, rewrite VLAN and MACs, buffer for TX. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "classify.h"
#include "dp_worker_private.h"

void
dp_orig_action(const struct umbra_gen *g, const struct steer_egress *eg,
	       uint16_t in_port, uint16_t in_vlan, struct flow_action *act,
	       uint8_t mac[6])
{
	uint16_t eg_vlan = eg->vlan == STEER_VLAN_NONE ? 0 : eg->vlan;
	uint16_t bs;

	memset(act, 0, sizeof(*act));
	if (in_port == eg->port && in_vlan == eg_vlan) {
		/* From the egress's own network and not for another stage:
		 * it leaves through the uplink, untagged. */
		act->port = g->uplink_port;
		act->vlan = FLOW_VLAN_NONE;
		return;
	}
	/* A backend segment of stage S (green on its own port) is S's network
	 * too: S's own traffic leaves through the uplink, as from S's egress.
	 * @p eg is S's egress itself only when not steered elsewhere (another
	 * backend or stage keeps its egress). */
	bs = classify_backend_stage(g->cls, in_port, in_vlan);
	if (bs != CLASSIFY_NO_STAGE && eg == &g->stages[bs].egress) {
		act->port = g->uplink_port;
		act->vlan = FLOW_VLAN_NONE;
		return;
	}
	act->port = eg->port;
	act->vlan = eg->vlan == STEER_VLAN_NONE ? FLOW_VLAN_NONE : eg->vlan;
	act->rewrite_mac = eg->rewrite_mac;
	memcpy(mac, eg->next_hop.addr_bytes, RTE_ETHER_ADDR_LEN);
}

/*
 * Make the outer tag of @p pkt say @p tci (FLOW_VLAN_NONE: no outer tag).
 * The ingress tag's priority bits are kept when only the VLAN id changes.
 */
static int
vlan_set(struct rte_mbuf *pkt, const struct pkt_meta *m, uint16_t tci)
{
	uint8_t *d = rte_pktmbuf_mtod(pkt, uint8_t *);

	if (m->n_vlan == 0) {
		if (tci == FLOW_VLAN_NONE)
			return 0;
		uint8_t *nd = (uint8_t *)rte_pktmbuf_prepend(pkt, 4);
		uint16_t tag[2] = { rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN),
				    rte_cpu_to_be_16(tci) };

		if (nd == NULL)
			return -1;
		memmove(nd, nd + 4, 2 * RTE_ETHER_ADDR_LEN);
		memcpy(nd + 2 * RTE_ETHER_ADDR_LEN, tag, sizeof(tag));
		return 0;
	}
	if (tci == FLOW_VLAN_NONE) {
		memmove(d + 4, d, 2 * RTE_ETHER_ADDR_LEN);
		rte_pktmbuf_adj(pkt, 4);
		return 0;
	}
	uint16_t old = m->vlan_tci[0];
	uint16_t new_tci = (tci & 0x0fff) | ((tci & 0xf000) ? (tci & 0xf000) :
					     (old & 0xf000));
	uint16_t be = rte_cpu_to_be_16(new_tci);

	memcpy(d + 2 * RTE_ETHER_ADDR_LEN + 2, &be, 2);
	return 0;
}

int
dp_rewrite(struct dp_worker *w, struct rte_mbuf *pkt, const struct pkt_meta *m,
	   const struct flow_action *act, const uint8_t *mac)
{
	if (unlikely(act->port >= w->ports->n_ports)) {
		w->cnt->dp_drop[DP_DROP_NO_UPLINK]++;
		rte_pktmbuf_free(pkt);
		return -1;
	}
	if (unlikely(vlan_set(pkt, m, act->vlan) < 0)) {
		w->cnt->dp_drop[DP_DROP_NO_HEADROOM]++;
		rte_pktmbuf_free(pkt);
		return -1;
	}
	if (act->rewrite_mac) {
		struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkt, struct rte_ether_hdr *);

		memcpy(eh->dst_addr.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
		rte_ether_addr_copy(&w->ports->ports[act->port].mac, &eh->src_addr);
	}
	return 0;
}

void
dp_tx_queue(struct dp_worker *w, uint16_t port, struct rte_mbuf *pkt)
{
	struct dp_port_counters *pc = &w->cnt->port[port];

	pc->tx_pkts++;
	pc->tx_bytes += rte_pktmbuf_pkt_len(pkt);
	rte_eth_tx_buffer(w->ports->ports[port].port_id, w->index, w->txb[port], pkt);
}

void
dp_send(struct dp_worker *w, struct rte_mbuf *pkt, const struct pkt_meta *m,
	const struct flow_action *act, const uint8_t *mac)
{
	if (dp_rewrite(w, pkt, m, act, mac) == 0)
		dp_tx_queue(w, act->port, pkt);
}
