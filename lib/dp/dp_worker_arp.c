/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: address resolution across the wire.
 *
 * ARP requests/replies and IPv6 neighbour solicitations/adverts are
 * classified like the traffic they prepare (sender -> target address) and
 * forwarded to the same egress, so hosts on either side resolve each other
 * as if umbra were a cable. A stage with proxy_arp (its hosts reuse
 * production's addresses, so a target address alone cannot say which
 * network owns it) is answered by umbra itself with the ingress port's MAC;
 * its traffic then travels with MAC rewrite.
 *
 * A backend segment that is no stage's egress (green on its own port, with
 * production's address) is answered the same way: what its hosts ask for
 * (a client, their gateway) lives behind the uplink, whose hosts must
 * never learn a second MAC for production's address. Nothing else that
 * resolves addresses leaves a backend segment: gratuitous ARP, unsolicited
 * adverts, replies (umbra asks nothing) and duplicate-address probes
 * (answering one would take the backend's own address away) are dropped
 * and counted as backend_resolution.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "classify.h"
#include "dp_worker_private.h"

/* Turn an ARP request into the reply umbra gives for its target. */
static void
arp_reply_build(struct rte_mbuf *pkt, const struct pkt_meta *m,
		const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkt, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah = rte_pktmbuf_mtod_offset(pkt, struct rte_arp_hdr *,
							 m->l3_off);
	uint32_t sip = ah->arp_data.arp_sip;

	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	ah->arp_data.arp_tha = ah->arp_data.arp_sha;
	ah->arp_data.arp_sha = *mac;
	ah->arp_data.arp_sip = ah->arp_data.arp_tip;
	ah->arp_data.arp_tip = sip;
	eh->dst_addr = eh->src_addr;
	eh->src_addr = *mac;
}

/* ICMPv6 neighbour advertisement with a target link-layer address option. */
struct nd_na {
	uint8_t type;
	uint8_t code;
	uint16_t cksum;
	uint32_t flags;
	uint8_t target[16];
	uint8_t opt_type;
	uint8_t opt_len;
	uint8_t opt_mac[6];
} __attribute__((packed));

#define ND_NA_SOLICITED 0x40000000u
#define ND_NA_OVERRIDE 0x20000000u
#define ND_OPT_TARGET_LLADDR 2

/* Turn a neighbour solicitation into umbra's advertisement for its target. */
static int
nd_reply_build(struct rte_mbuf *pkt, const struct pkt_meta *m,
	       const struct rte_ether_addr *mac)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	static const uint8_t unspecified[16];
	uint32_t want = m->l3_off + sizeof(struct rte_ipv6_hdr) + sizeof(struct nd_na);
	struct rte_ether_hdr *eh;
	struct rte_ipv6_hdr *ip;
	struct nd_na *na;
	bool dad;

	if (rte_pktmbuf_pkt_len(pkt) < want &&
	    rte_pktmbuf_append(pkt, want - rte_pktmbuf_pkt_len(pkt)) == NULL)
		return -1;
	if (rte_pktmbuf_pkt_len(pkt) > want)
		rte_pktmbuf_trim(pkt, rte_pktmbuf_pkt_len(pkt) - want);
	if (!rte_pktmbuf_is_contiguous(pkt))
		return -1;
	eh = rte_pktmbuf_mtod(pkt, struct rte_ether_hdr *);
	ip = rte_pktmbuf_mtod_offset(pkt, struct rte_ipv6_hdr *, m->l3_off);
	na = (struct nd_na *)(ip + 1);
	dad = memcmp(ip->src_addr, unspecified, 16) == 0;

	memcpy(ip->dst_addr, dad ? all_nodes : ip->src_addr, 16);
	memcpy(ip->src_addr, m->dst, 16); /* the target, which umbra stands for */
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	ip->payload_len = rte_cpu_to_be_16(sizeof(*na));
	memset(na, 0, sizeof(*na));
	na->type = PKT_ICMP6_ND_NA;
	na->flags = rte_cpu_to_be_32(ND_NA_OVERRIDE | (dad ? 0 : ND_NA_SOLICITED));
	memcpy(na->target, m->dst, 16);
	na->opt_type = ND_OPT_TARGET_LLADDR;
	na->opt_len = 1;
	memcpy(na->opt_mac, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	na->cksum = rte_ipv6_udptcp_cksum(ip, na);
	if (dad)
		rte_ether_addr_copy(&(struct rte_ether_addr){
			{ 0x33, 0x33, 0, 0, 0, 1 } }, &eh->dst_addr);
	else
		eh->dst_addr = eh->src_addr;
	eh->src_addr = *mac;
	return 0;
}

bool
dp_arp_is_request(const struct pkt_meta *m)
{
	if (m->l3 == PKT_L3_ARP)
		return m->arp_op == PKT_ARP_OP_REQUEST &&
		       memcmp(m->src, m->dst, 4) != 0; /* not gratuitous */
	return m->icmp_type == PKT_ICMP6_ND_NS;
}

/* A request a backend may have answered for it: not a DAD or ARP probe. */
static bool
backend_may_answer(const struct pkt_meta *m)
{
	static const uint8_t unspecified[16];

	if (!dp_arp_is_request(m))
		return false;
	return memcmp(m->src, unspecified, m->l3 == PKT_L3_ARP ? 4 : 16) != 0;
}

/* Answer on the port the request came from, with that port's MAC. */
void
dp_arp_proxy_answer(struct dp_worker *w, struct rte_mbuf *pkt,
		    const struct pkt_meta *m, uint16_t in_port)
{
	const struct rte_ether_addr *mac = &w->ports->ports[in_port].mac;
	struct flow_action back = {
		.port = in_port,
		.vlan = m->n_vlan ? m->vlan_tci[0] : FLOW_VLAN_NONE,
	};

	if (m->l3 == PKT_L3_ARP) {
		arp_reply_build(pkt, m, mac);
		w->cnt->arp_proxied++;
	} else if (nd_reply_build(pkt, m, mac) == 0) {
		w->cnt->nd_proxied++;
	} else {
		w->cnt->dp_drop[DP_DROP_NO_HEADROOM]++;
		rte_pktmbuf_free(pkt);
		return;
	}
	dp_send(w, pkt, m, &back, NULL);
}

void
dp_arp_input(struct dp_worker *w, const struct umbra_gen *g,
	     struct rte_mbuf *pkt, const struct pkt_meta *m, uint16_t in_port)
{
	struct classify_key ck;
	const struct classify_key *ckp = &ck;
	struct flow_action act;
	uint8_t mac[6];
	uint16_t to, from, vlan = m->n_vlan ? (m->vlan_tci[0] & 0x0fff) : 0;

	if (classify_backend_stage(g->cls, in_port, vlan) != CLASSIFY_NO_STAGE) {
		if (backend_may_answer(m)) {
			dp_arp_proxy_answer(w, pkt, m, in_port);
		} else {
			w->cnt->dp_drop[DP_DROP_BACKEND_RESOLUTION]++;
			rte_pktmbuf_free(pkt);
		}
		return;
	}
	classify_key_from_meta(m, in_port, &ck);
	classify_stages(g->cls, &ckp, 1, &to);
	from = classify_from_stage(g->cls, in_port, vlan);
	if (g->stages[to].proxy_arp && dp_arp_is_request(m) &&
	    (from == CLASSIFY_NO_STAGE || from == to)) {
		dp_arp_proxy_answer(w, pkt, m, in_port);
		return;
	}
	dp_orig_action(g, &g->stages[to].egress, in_port, vlan, &act, mac);
	/* Resolution frames carry MACs in their payload: never rewrite them. */
	act.rewrite_mac = 0;
	w->cnt->arp_forwarded++;
	dp_send(w, pkt, m, &act, NULL);
}
