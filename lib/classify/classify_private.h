/* SPDX-License-Identifier: BSD-3-Clause */
/* Layout of a compiled classifier, shared by the build and lookup halves. */
#ifndef UMBRA_CLASSIFY_PRIVATE_H
#define UMBRA_CLASSIFY_PRIVATE_H

#include <rte_acl.h>

#include "classify.h"

/** One compiled inter-stage rule (a copy of the fields the lookup needs). */
struct classify_rule {
	int32_t proto;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
	bool allow;
};

/** A stage egress, for from-stage lookups. */
struct classify_egress {
	uint16_t port;
	uint16_t vlan;
	uint16_t stage;
};

struct classify_ctx {
	struct rte_acl_ctx *acl;      /**< NULL when there are no match rules */
	uint16_t default_stage;
	uint16_t n_stages;
	uint32_t n_matches;
	uint16_t *match_stage;        /**< ACL userdata - 1 -> stage */
	struct classify_egress egress[CONF_MAX_STAGES];
	uint16_t n_egress;
	/* Inter-stage rules grouped by (from, to): pair_first/pair_count index
	 * rule_ids, which lists rule indices in file order. */
	uint32_t pair_first[CONF_MAX_STAGES][CONF_MAX_STAGES];
	uint16_t pair_count[CONF_MAX_STAGES][CONF_MAX_STAGES];
	uint16_t *rule_ids;
	struct classify_rule *rules;
	uint32_t n_rules;
};

#endif
