/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half of classification: per-packet ACL input, batched stage
 * lookup, from-stage and inter-stage rule lookups. Read-only on the context.
 */
#include <string.h>

#include <rte_byteorder.h>

#include "classify_private.h"

void
classify_key_from_meta(const struct pkt_meta *m, uint16_t in_port,
		       struct classify_key *k)
{
	k->proto = m->l3 == PKT_L3_ARP ? 0 : m->l4_proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
	k->in_port = rte_cpu_to_be_16(in_port);
	k->vlan = rte_cpu_to_be_16(m->n_vlan ? (m->vlan_tci[0] & 0xfff) : 0);
	k->family = rte_cpu_to_be_16((uint16_t)pkt_ip_family(m));
	k->dport = rte_cpu_to_be_16((m->flags & PKT_F_L4) &&
				    (m->l4_proto == 6 || m->l4_proto == 17) ?
				    m->dport : 0);
	memcpy(k->src, m->src, sizeof(k->src));
	memcpy(k->dst, m->dst, sizeof(k->dst));
}

void
classify_stages(const struct classify_ctx *ctx,
		const struct classify_key **keys, uint32_t n, uint16_t *stages)
{
	uint32_t res[CLASSIFY_BURST_MAX];

	if (ctx->acl == NULL || n == 0) {
		for (uint32_t i = 0; i < n; i++)
			stages[i] = ctx->default_stage;
		return;
	}
	rte_acl_classify(ctx->acl, (const uint8_t **)keys, res, n, 1);
	for (uint32_t i = 0; i < n; i++)
		stages[i] = res[i] ? ctx->match_stage[res[i] - 1] :
				     ctx->default_stage;
}

uint16_t
classify_from_stage(const struct classify_ctx *ctx, uint16_t port,
		    uint16_t vlan)
{
	for (uint16_t i = 0; i < ctx->n_egress; i++) {
		if (ctx->egress[i].port == port && ctx->egress[i].vlan == vlan)
			return ctx->egress[i].stage;
	}
	return CLASSIFY_NO_STAGE;
}

uint16_t
classify_backend_stage(const struct classify_ctx *ctx, uint16_t port,
		       uint16_t vlan)
{
	for (uint16_t i = 0; i < ctx->n_egress; i++) {
		if (ctx->egress[i].port == port && ctx->egress[i].vlan == vlan)
			return ctx->egress[i].backend ? ctx->egress[i].stage :
							CLASSIFY_NO_STAGE;
	}
	return CLASSIFY_NO_STAGE;
}

static bool
rule_matches(const struct classify_rule *r, uint8_t proto, uint16_t sport,
	     uint16_t dport)
{
	if (r->proto != CONF_ANY && r->proto != proto)
		return false;
	return sport >= r->sport_lo && sport <= r->sport_hi &&
	       dport >= r->dport_lo && dport <= r->dport_hi;
}

uint16_t
classify_policy(const struct classify_ctx *ctx, uint16_t from, uint16_t to,
		uint8_t proto, uint16_t sport, uint16_t dport, bool *allow)
{
	*allow = false;
	if (from >= ctx->n_stages || to >= ctx->n_stages)
		return CLASSIFY_NO_RULE;
	uint32_t first = ctx->pair_first[from][to];

	for (uint32_t i = 0; i < ctx->pair_count[from][to]; i++) {
		uint16_t id = ctx->rule_ids[first + i];

		if (rule_matches(&ctx->rules[id], proto, sport, dport)) {
			*allow = ctx->rules[id].allow;
			return id;
		}
	}
	return CLASSIFY_NO_RULE;
}
