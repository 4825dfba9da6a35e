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

/** A stage egress or a backend segment, for from-stage lookups. */
struct classify_egress {
	uint16_t port;
	uint16_t vlan;
	uint16_t stage;
	bool backend;           /**< a backend segment that is no stage's egress */
};

/** Distinct (port, VLAN) segments: every stage egress and every backend. */
#define CLASSIFY_MAX_SEGMENTS (CONF_MAX_STAGES + CONF_MAX_SERVICES * CONF_MAX_BACKENDS)

struct classify_ctx {
	struct rte_acl_ctx *acl;      /**< NULL when there are no match rules */
	uint16_t default_stage;
	uint16_t n_stages;
	uint32_t n_matches;
	uint16_t *match_stage;        /**< ACL userdata - 1 -> stage */
	/** Stage egresses first, then backend segments (see build_egress). */
	struct classify_egress egress[CLASSIFY_MAX_SEGMENTS];
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
