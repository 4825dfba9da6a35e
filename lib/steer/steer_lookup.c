/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: steer a new flow. Runs once per flow (never per packet), so
 * a short linear scan of service matches and splits is cheaper than an ACL
 * call for the few rules a release needs.
 */

#include "steer_private.h"

bool
steer_any_canary(const struct steer_table *t)
{
	return t->any_canary;
}

bool
steer_has_canary(const struct steer_table *t, uint16_t stage, uint8_t service)
{
	return stage < CONF_MAX_STAGES && service < CONF_MAX_SERVICES &&
	       t->routes[stage * CONF_MAX_SERVICES + service].has_canary;
}

bool
steer_active(const struct steer_table *t)
{
	return t->active;
}

uint32_t
steer_flow_hash(const struct steer_table *t, const struct flow_key *k)
{
	return flow_key_hash16(k, t->seed);
}

static uint8_t
service_of(const struct steer_table *t, const struct pkt_meta *m)
{
	for (uint32_t i = 0; i < t->n_matches; i++) {
		const struct steer_match *sm = &t->matches[i];

		if ((sm->proto == CONF_ANY || sm->proto == m->l4_proto) &&
		    m->dport >= sm->dport_lo && m->dport <= sm->dport_hi &&
		    conf_prefix_has(sm->family, sm->len, sm->addr, pkt_ip_family(m), m->dst))
			return sm->service;
	}
	return STEER_NO_SERVICE;
}

static int
split_of(const struct steer_table *t, uint16_t stage, uint8_t service,
	 const struct pkt_meta *m, uint32_t hash)
{
	for (uint32_t i = 0; i < t->n_splits; i++) {
		const struct steer_split_rule *s = &t->splits[i];

		if (s->stage != stage ||
		    (s->service >= 0 && (uint8_t)s->service != service))
			continue;
		if (s->src.family ?
		    conf_prefix_has(s->src.family, s->src.len, s->src.addr,
				    pkt_ip_family(m), m->src) :
		    (hash >= s->hash_lo && hash <= s->hash_hi))
			return (int)i;
	}
	return -1;
}

void
steer_flow(const struct steer_table *t, uint16_t stage, const struct pkt_meta *m,
	   uint32_t hash, struct steer_result *r)
{
	const struct steer_route *rt;
	int split;

	r->egress = NULL;
	r->how = STEER_STAGE;
	r->extended_to = 0;
	r->service = t->n_matches ? service_of(t, m) : STEER_NO_SERVICE;
	split = t->n_splits ? split_of(t, stage, r->service, m, hash) : -1;
	if (split >= 0) {
		r->egress = &t->splits[split].to;
		r->how = STEER_SPLIT;
		r->split = (uint8_t)split;
		return;
	}
	if (r->service == STEER_NO_SERVICE)
		return;
	rt = &t->routes[stage * CONF_MAX_SERVICES + r->service];
	if (!rt->set)
		return;
	r->extended_to = rt->extend_to;
	if (hash < rt->canary_below) {
		r->egress = &rt->canary;
		r->how = STEER_CANARY;
	} else {
		r->egress = &rt->running;
		r->how = STEER_RUNNING;
	}
}

/* A packet on (@p port, VLAN id @p vlan, 0: untagged) arrived from @p eg's segment. */
static inline bool
egress_is(const struct steer_egress *eg, uint16_t port, uint16_t vlan)
{
	return eg->port == port &&
	       (eg->vlan == STEER_VLAN_NONE ? vlan == 0 : (eg->vlan & 0x0fff) == vlan);
}

uint8_t
steer_client_of(const struct steer_table *t, uint16_t stage, uint16_t port,
		uint16_t vlan, bool *canary)
{
	*canary = false;
	if (stage >= CONF_MAX_STAGES)
		return STEER_NO_SERVICE;
	for (uint16_t s = 0; s < t->n_services; s++) {
		const struct steer_route *rt = &t->routes[stage * CONF_MAX_SERVICES + s];

		if (!rt->set)
			continue;
		if (rt->has_canary && egress_is(&rt->canary, port, vlan) &&
		    !egress_is(&rt->running, port, vlan)) {
			*canary = true;
			return (uint8_t)s;
		}
		if (egress_is(&rt->running, port, vlan))
			return (uint8_t)s;
	}
	return STEER_NO_SERVICE;
}
