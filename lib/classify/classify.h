/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Stage classification, inter-stage policy and compliance invariants.
 *
 * The management core compiles a configuration into a struct classify_ctx
 * (classify_build.c: an rte_acl context for stage match rules, a
 * from/to-stage rule index, the map of stage egresses). Workers only read
 * it (classify_lookup.c). Invariants are checked before anything is built
 * (classify_invariants.c), against every road out of a stage.
 *
 * Model: a packet's *to-stage* is given by the first matching rule (by
 * priority) of YAML `stages[].match`, or the default stage. Its
 * *from-stage* is the stage whose egress (port, VLAN) it arrived on, or
 * whose backend segment it arrived on; a packet from a port that is
 * neither (an uplink) comes from the stage it is classified into. Different from- and to-stages need an allow
 * rule in YAML `flows:`; otherwise the flow is denied.
 */
#ifndef UMBRA_CLASSIFY_H
#define UMBRA_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "pkt.h"

/** No stage (e.g. the ingress is an uplink, not a stage egress). */
#define CLASSIFY_NO_STAGE 0xffff
/** No inter-stage rule matched: default deny. */
#define CLASSIFY_NO_RULE 0xffff
/** Largest batch classify_stages() takes. */
#define CLASSIFY_BURST_MAX 64

/**
 * ACL input built per packet, in network byte order as rte_acl expects.
 * The first field is one byte; the rest come in groups of four bytes.
 */
struct classify_key {
	uint8_t proto;
	uint8_t pad[3];
	uint16_t in_port;
	uint16_t vlan;     /**< VLAN id of the outer tag; 0 when untagged */
	uint16_t family;   /**< 4 or 6 */
	uint16_t dport;
	uint8_t src[16];
	uint8_t dst[16];
};

/** Compiled classification state of one generation (read-only on workers). */
struct classify_ctx;

struct json_t; /* jansson's json_t */

/**
 * Check YAML `policies:` against every road by which one stage's traffic
 * can leave through another stage's network (its egress port and VLAN):
 * allow rules in `flows:`, a stage's own egress, `splits:` (to_stage and
 * to_backend), the backends each stage lists in `services:` (every
 * version, canary and rollout step the workflow places there runs on
 * one), `shadows:` and their control replicas, and, with @p state, the
 * backends a steering state runs versions and canaries on. A road of
 * stage S counts for every stage an allow rule lets into S too. DevMesh
 * items (stages[].devmesh): an extension (the dev stage's flows of a
 * service it lacks become production's) needs no policy against it and
 * an allow rule in `flows:` that lets all of them through; a mirror no
 * policy from production to the dev stage. The one check
 * of every configuration and generation: at load (--check,
 * config/validate), before any generation is built (apply, rollback,
 * migrate, workflow transitions) and for workflow plans before their hooks.
 * @param state  steering state (see lib/steer), or NULL: the configuration
 *               alone
 * @return 0, or -1 with the road, its position ("file:line:col: ", none
 *         for a steering state) and the policy with its position in @p err.
 */
int classify_check_invariants(const struct umbra_conf *c,
			      const struct json_t *state, char *err,
			      size_t errlen);

/**
 * The same check for a shadow profile given at run time (shadow/create):
 * its shadow and control copies against @p c's policies.
 * @return 0, or -1 with a sentence naming the profile and the policy.
 */
int classify_check_shadow(const struct umbra_conf *c,
			  const struct conf_shadow *s, char *err, size_t errlen);

/**
 * Compile @p c (already loaded and invariant-checked). @p name must be
 * unique among live contexts (rte_acl names its context with it).
 * @return NULL with a message in @p err on failure.
 */
struct classify_ctx *classify_build(const struct umbra_conf *c,
				    const char *name, int socket,
				    char *err, size_t errlen);

/** Free a context (NULL is fine). Only after no worker can still read it. */
void classify_free(struct classify_ctx *ctx);

/** Fill the ACL input of a parsed IP or ARP packet received on @p in_port. */
void classify_key_from_meta(const struct pkt_meta *m, uint16_t in_port,
			    struct classify_key *k);

/**
 * Classify @p n keys (n <= CLASSIFY_BURST_MAX) into to-stages.
 * stages[i] is the stage index for keys[i].
 */
void classify_stages(const struct classify_ctx *ctx,
		     const struct classify_key **keys, uint32_t n,
		     uint16_t *stages);

/**
 * From-stage of traffic arriving on (@p port, @p vlan), vlan 0 meaning
 * untagged: the stage whose egress it is, else the stage a backend segment
 * belongs to (the stage whose services run on that backend; a production
 * stage first, then the first in file order), else CLASSIFY_NO_STAGE (an
 * uplink).
 */
uint16_t classify_from_stage(const struct classify_ctx *ctx, uint16_t port,
			     uint16_t vlan);

/**
 * The stage a backend segment (@p port, @p vlan) belongs to when it is no
 * stage's egress (blue and green each on their own port), else
 * CLASSIFY_NO_STAGE. Its hosts reuse the stage's addresses: umbra answers
 * their ARP/ND and sends what they start like the stage's own traffic.
 */
uint16_t classify_backend_stage(const struct classify_ctx *ctx, uint16_t port,
				uint16_t vlan);

/**
 * Inter-stage rule for a new flow from stage @p from to stage @p to
 * (from != to): first rule in file order that matches.
 * @param[out] allow  the rule's action; false when no rule matched
 * @return rule index, or CLASSIFY_NO_RULE (default deny).
 */
uint16_t classify_policy(const struct classify_ctx *ctx, uint16_t from,
			 uint16_t to, uint8_t proto, uint16_t sport,
			 uint16_t dport, bool *allow);

/** Number of stage match rules compiled into the ACL. */
uint32_t classify_n_matches(const struct classify_ctx *ctx);

#endif
