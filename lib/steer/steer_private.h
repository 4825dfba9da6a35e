/* SPDX-License-Identifier: BSD-3-Clause */
/* Inside lib/steer: the compiled table, built by steer_build.c and read by
 * steer_lookup.c. */
#ifndef UMBRA_STEER_PRIVATE_H
#define UMBRA_STEER_PRIVATE_H

#include "steer.h"

/** One service match rule, flattened. */
struct steer_match {
	uint8_t family;         /**< 0: any address */
	uint8_t len;
	uint8_t addr[16];
	int32_t proto;          /**< CONF_ANY or a protocol */
	uint16_t dport_lo;
	uint16_t dport_hi;
	uint8_t service;
};

/** A service's steering in one stage. */
struct steer_route {
	bool set;               /**< false: the stage's own egress */
	struct steer_egress running;
	struct steer_egress canary;
	uint32_t canary_below;  /**< flows with hash < this take the canary */
	bool has_canary;        /**< a release is in progress here */
	uint8_t extend_to;      /**< DevMesh: production's stage + 1 whose route
				     this is a copy of; 0: the stage's own */
};

struct steer_split_rule {
	uint16_t stage;
	int16_t service;        /**< -1: any */
	struct conf_prefix src; /**< family 0: by hash only */
	uint16_t hash_lo;
	uint16_t hash_hi;
	struct steer_egress to;
};

struct steer_table {
	uint32_t seed;
	bool active;
	bool any_canary;        /**< some service has a canary somewhere */
	uint16_t n_stages;
	uint16_t n_services;
	uint32_t n_matches;
	struct steer_match matches[CONF_MAX_SERVICES * CONF_MAX_SVC_MATCHES];
	uint32_t n_splits;
	struct steer_split_rule splits[CONF_MAX_SPLITS];
	/** [stage * CONF_MAX_SERVICES + service] */
	struct steer_route routes[CONF_MAX_STAGES * CONF_MAX_SERVICES];
	/** Versions by route, for the management core only (workers never
	 * read them, so they stay out of the routes' cache lines). */
	struct steer_release releases[CONF_MAX_STAGES * CONF_MAX_SERVICES];
};

#endif
