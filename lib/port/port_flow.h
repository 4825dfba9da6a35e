/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * rte_flow rules at the ports: an optimisation, never a change of what
 * umbra forwards. The software path (classification, policy, flow table)
 * stays whole and correct; a rule only does earlier what it would do.
 *
 * Two halves:
 * - planning (port_flow_plan.c, pure, no EAL): which rules a configuration
 *   wants, from typed structures only;
 * - installing (port_flow.c, management core): per generation, validate
 *   each wanted rule, create those that validate, publish the new table,
 *   then destroy the previous generation's rules, so that no rule is ever
 *   missing between two generations. A rule identical to one already
 *   installed is kept as it is.
 *
 * Rules:
 * - DROP of a *stateless default-deny pair*: traffic arriving on stage F's
 *   egress (port, VLAN) and classified into another stage T by one of T's
 *   match rules, where no `flows:` rule exists between F and T in either
 *   direction (so no reply of an allowed flow can match it), no higher
 *   priority match rule of another stage overlaps it, no split or service
 *   backend lands on F's segment, and F is the only stage on that segment.
 *   The addresses of T's match prefixes are taken to be T's (the stage
 *   model: the classifier sends them to T). Such a rule is installed only
 *   when every generation this process has run wanted it too (flows an
 *   earlier generation allowed may live on; a restart re-plans).
 * - RSS on a shadow port with several RX queues: the same symmetric key
 *   over all its queues, so that a target's answers land on the queue of
 *   the worker that sent the copy, whatever the port-level RSS support.
 * - MARK is not used: no device umbra is tested on offers it (net_tap
 *   refuses the action).
 */
#ifndef UMBRA_PORT_FLOW_H
#define UMBRA_PORT_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

/** Most rules one configuration wants. */
#define PORT_FLOW_MAX 256
#define PORT_FLOW_NAME_MAX 96
#define PORT_FLOW_REASON_MAX 160

enum port_flow_action {
	PORT_FLOW_DROP = 0, /**< drop at the port */
	PORT_FLOW_RSS,      /**< symmetric RSS over the port's queues */
};

/** One wanted rule, from the configuration alone. */
struct port_flow_rule {
	char name[PORT_FLOW_NAME_MAX];  /**< "deny dev->production on dev" */
	uint8_t action;                 /**< enum port_flow_action */
	uint16_t port;                  /**< index in umbra_conf.ports */
	int32_t vlan;                   /**< VLAN id, CONF_VLAN_UNTAGGED, CONF_ANY */
	int32_t proto;                  /**< IP protocol or CONF_ANY */
	struct conf_prefix src;         /**< family 0: any */
	struct conf_prefix dst;
	struct conf_range dport;        /**< {0, 65535}: any */
	uint16_t n_queues;              /**< RSS: queues 0..n_queues-1 */
	uint16_t from;                  /**< DROP: stage pair */
	uint16_t to;
	/** false: no rte_flow form; @c why says so, the software path acts. */
	bool expressible;
	char why[PORT_FLOW_REASON_MAX];
};

/**
 * The rules configuration @p c wants. Pure: reads only @p c and
 * @p n_rxq (RX queues each port of @p c was started with; NULL: one).
 * Rules are zeroed before they are filled, so two plans of the same
 * configuration compare equal byte for byte.
 * @return rules written to @p out (at most @p max; more are left out).
 */
uint32_t port_flow_plan(const struct umbra_conf *c, const uint16_t *n_rxq,
			struct port_flow_rule *out, uint32_t max);

/** True when @p a and @p b are the same rule (same match and action). */
bool port_flow_rule_same(const struct port_flow_rule *a,
			 const struct port_flow_rule *b);

/** Which path a wanted rule took. */
enum port_flow_path {
	PORT_FLOW_SOFTWARE = 0, /**< the software path does it (reason says why) */
	PORT_FLOW_HARDWARE,     /**< created at the port */
};

/** One rule of the current table, as reported. */
struct port_flow_status {
	struct port_flow_rule rule;
	uint8_t path;                   /**< enum port_flow_path */
	char reason[PORT_FLOW_REASON_MAX]; /**< why software; "" for hardware */
	uint64_t since_gen;             /**< generation that created it */
};

struct port_set;

/**
 * Bring the ports' rules to what generation @p gen_id (configuration
 * @p c, already published) wants: validate and create new rules, keep
 * identical ones, then destroy the previous generation's others.
 * Management core only. Never fails: a rule that cannot be created is
 * left to the software path and reported with the device's reason.
 * @return rules in hardware after the call.
 */
uint32_t port_flow_sync(const struct port_set *ps, const struct umbra_conf *c,
			uint64_t gen_id);

/** Destroy every rule (before the ports stop). */
void port_flow_flush(void);

/**
 * Copy the current table into @p out (at most @p max).
 * @param[out] gen_id  generation it belongs to (0: none yet), or NULL
 * @return rules copied.
 */
uint32_t port_flow_status_get(struct port_flow_status *out, uint32_t max,
			      uint64_t *gen_id);

struct json_t; /* jansson's json_t */

/**
 * The table for `stats` ("port_rules"): {"generation", "hardware",
 * "software", "rules": [{"name", "port", "action", "path", "reason",
 * "since_generation"}]}. Caller owns the result (NULL: out of memory).
 */
struct json_t *port_flow_stats_json(void);

/** The table as Prometheus text (umbra_port_rule{...,path,reason} 1). */
void port_flow_metrics(FILE *f);

#endif
