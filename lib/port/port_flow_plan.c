/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which rte_flow rules a configuration wants (pure: no EAL, no device).
 * See port_flow.h for when a DROP is safe; every test here errs on the
 * side of planning nothing, since the software path is always right.
 */
#include <stdio.h>
#include <string.h>

#include "port_flow.h"

#define PORT_ANY_RANGE(r) ((r).lo == 0 && (r).hi == 65535)

/* An egress segment: (port, VLAN id or 0 for untagged). */
static bool
same_segment(const struct conf_egress *a, uint16_t port, uint16_t vlan)
{
	return a->port == port && a->vlan == vlan;
}

/* F is the only stage on its segment, and nothing else lands there. */
static bool
segment_alone(const struct umbra_conf *c, uint16_t f)
{
	const struct conf_egress *e = &c->stages[f].egress;

	if (c->ports[e->port].role != CONF_PORT_STAGE)
		return false;
	for (uint16_t s = 0; s < c->n_stages; s++)
		if (s != f && same_segment(&c->stages[s].egress, e->port, e->vlan))
			return false;
	for (uint32_t i = 0; i < c->n_services; i++)
		for (uint8_t b = 0; b < c->services[i].n_backends; b++)
			if (same_segment(&c->services[i].backends[b].egress,
					 e->port, e->vlan))
				return false;
	for (uint32_t i = 0; i < c->n_splits; i++)
		if (c->splits[i].to_stage == (int16_t)f)
			return false;
	for (uint32_t i = 0; i < c->n_shadows; i++) {
		const struct conf_shadow *sh = &c->shadows[i];

		if (same_segment(&sh->egress, e->port, e->vlan) ||
		    (sh->has_control &&
		     same_segment(&sh->control, e->port, e->vlan)))
			return false;
	}
	return true;
}

/* No flows: rule between the two stages, in either direction. */
static bool
pair_unruled(const struct umbra_conf *c, uint16_t a, uint16_t b)
{
	for (uint32_t i = 0; i < c->n_flow_rules; i++) {
		const struct conf_flow_rule *r = &c->flow_rules[i];

		if ((r->from == a && r->to == b) || (r->from == b && r->to == a))
			return false;
	}
	return true;
}

static bool
prefixes_overlap(const struct conf_prefix *a, const struct conf_prefix *b)
{
	uint8_t len = a->len < b->len ? a->len : b->len;

	if (a->family == 0 || b->family == 0)
		return true;
	if (a->family != b->family)
		return false;
	return conf_prefix_has(a->family, len, a->addr, b->family, b->addr);
}

static bool
field_overlap(int32_t a, int32_t b)
{
	return a == CONF_ANY || b == CONF_ANY || a == b;
}

/* Could one packet arriving on (port, vlan) match both rules? */
static bool
matches_overlap(const struct conf_match *a, const struct conf_match *b,
		uint16_t port, uint16_t vlan)
{
	return field_overlap(b->port, port) && field_overlap(b->vlan, vlan) &&
	       field_overlap(a->proto, b->proto) &&
	       prefixes_overlap(&a->src, &b->src) &&
	       prefixes_overlap(&a->dst, &b->dst) &&
	       a->dport.lo <= b->dport.hi && b->dport.lo <= a->dport.hi;
}

/* Every packet of @p m on (port, vlan) is classified into m's stage. */
static bool
match_wins(const struct umbra_conf *c, const struct conf_match *m,
	   uint16_t port, uint16_t vlan)
{
	for (uint32_t i = 0; i < c->n_matches; i++) {
		const struct conf_match *o = &c->matches[i];

		if (o->stage != m->stage && o->priority > m->priority &&
		    matches_overlap(m, o, port, vlan))
			return false;
	}
	return true;
}

/* Why a match has no rte_flow form, or NULL. */
static const char *
inexpressible(const struct conf_match *m)
{
	if (!PORT_ANY_RANGE(m->dport) && m->proto != 6 && m->proto != 17)
		return "destination ports without TCP or UDP have no rte_flow item";
	return NULL;
}

static void
drop_fill(struct port_flow_rule *r, const struct umbra_conf *c,
	  const struct conf_match *m, uint16_t f, uint8_t family, uint32_t mi)
{
	const struct conf_egress *e = &c->stages[f].egress;
	const char *why = inexpressible(m);

	memset(r, 0, sizeof(*r));
	r->action = PORT_FLOW_DROP;
	r->port = e->port;
	r->vlan = e->vlan;
	r->proto = m->proto;
	r->src = m->src;
	r->dst = m->dst;
	r->dport = m->dport;
	r->from = f;
	r->to = m->stage;
	snprintf(r->name, sizeof(r->name), "deny %s->%s on %s (match %u, IPv%u)",
		 c->stages[f].name, c->stages[m->stage].name,
		 c->ports[e->port].name, mi, family);
	/* A family-free match becomes one rule per family: the IP item is
	 * what keeps ARP and ND out of the drop. */
	if (r->src.family == 0 && r->dst.family == 0)
		r->dst.family = family;
	r->expressible = why == NULL;
	if (why != NULL)
		snprintf(r->why, sizeof(r->why), "%s", why);
}

static uint32_t
plan_drops_from(const struct umbra_conf *c, uint16_t f,
		struct port_flow_rule *out, uint32_t n, uint32_t max)
{
	const struct conf_egress *e = &c->stages[f].egress;

	for (uint32_t i = 0; i < c->n_matches && n < max; i++) {
		const struct conf_match *m = &c->matches[i];
		uint8_t fam = m->src.family ? m->src.family : m->dst.family;

		if (m->stage == f || !pair_unruled(c, f, m->stage) ||
		    !field_overlap(m->port, e->port) ||
		    !field_overlap(m->vlan, e->vlan) ||
		    !match_wins(c, m, e->port, e->vlan))
			continue;
		if (m->src.family && m->dst.family && m->src.family != m->dst.family)
			continue; /* matches nothing */
		if (fam != 0) {
			drop_fill(&out[n++], c, m, f, fam, i);
			continue;
		}
		drop_fill(&out[n++], c, m, f, 4, i);
		if (n < max)
			drop_fill(&out[n++], c, m, f, 6, i);
	}
	return n;
}

static uint32_t
plan_rss(const struct umbra_conf *c, const uint16_t *n_rxq,
	 struct port_flow_rule *out, uint32_t n, uint32_t max)
{
	for (uint16_t p = 0; p < c->n_ports && n < max; p++) {
		uint16_t q = n_rxq ? n_rxq[p] : 1;
		struct port_flow_rule *r;

		if (c->ports[p].role != CONF_PORT_SHADOW || q < 2)
			continue;
		r = &out[n++];
		memset(r, 0, sizeof(*r));
		r->action = PORT_FLOW_RSS;
		r->port = p;
		r->vlan = CONF_ANY;
		r->proto = CONF_ANY;
		r->dport = (struct conf_range){ 0, 65535 };
		r->n_queues = q;
		r->expressible = true;
		snprintf(r->name, sizeof(r->name),
			 "symmetric RSS on shadow port %s (%u queues)",
			 c->ports[p].name, q);
	}
	return n;
}

uint32_t
port_flow_plan(const struct umbra_conf *c, const uint16_t *n_rxq,
	       struct port_flow_rule *out, uint32_t max)
{
	uint32_t n = 0;

	for (uint16_t f = 0; f < c->n_stages && n < max; f++)
		if (segment_alone(c, f))
			n = plan_drops_from(c, f, out, n, max);
	return plan_rss(c, n_rxq, out, n, max);
}

bool
port_flow_rule_same(const struct port_flow_rule *a,
		    const struct port_flow_rule *b)
{
	/* Rules are zeroed before they are filled: bytes compare. */
	return memcmp(a, b, sizeof(*a)) == 0;
}
