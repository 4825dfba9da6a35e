/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compliance invariants: YAML `policies:` say which stage must never reach
 * which; an allow rule in `flows:` that overlaps one is refused at load
 * time, before anything is compiled or published.
 */
#include <stdio.h>

#include "classify.h"

static bool
ranges_overlap(struct conf_range a, struct conf_range b)
{
	return a.lo <= b.hi && b.lo <= a.hi;
}

static const char *
proto_name(int32_t proto, char *buf, size_t len)
{
	switch (proto) {
	case CONF_ANY: return "any protocol";
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	default:
		snprintf(buf, len, "protocol %d", (int)proto);
		return buf;
	}
}

static bool
rule_breaks_policy(const struct conf_flow_rule *r, const struct conf_policy *p)
{
	if (!r->allow || r->from != p->from || r->to != p->to)
		return false;
	if (r->proto != CONF_ANY && p->proto != CONF_ANY && r->proto != p->proto)
		return false;
	/* A policy on a port range only concerns rules that can carry ports. */
	return ranges_overlap(r->dport, p->dport);
}

int
classify_check_invariants(const struct umbra_conf *c, char *err, size_t errlen)
{
	char pbuf[32];

	for (uint32_t i = 0; i < c->n_policies; i++) {
		const struct conf_policy *p = &c->policies[i];

		if (p->from == p->to) {
			conf_error_at(c, p->pos, err, errlen,
				      "policy '%s' forbids stage '%s' to reach itself, "
				      "which a stage always does", p->name,
				      c->stages[p->from].name);
			return -1;
		}
		for (uint32_t j = 0; j < c->n_flow_rules; j++) {
			const struct conf_flow_rule *r = &c->flow_rules[j];

			if (!rule_breaks_policy(r, p))
				continue;
			conf_error_at(c, r->pos, err, errlen,
				      "flow rule '%s' allows %s -> %s (%s, dport %u-%u), "
				      "which policy '%s' at line %u forbids",
				      r->name, c->stages[r->from].name,
				      c->stages[r->to].name,
				      proto_name(r->proto, pbuf, sizeof(pbuf)),
				      r->dport.lo, r->dport.hi, p->name,
				      p->pos.line);
			return -1;
		}
	}
	return 0;
}
