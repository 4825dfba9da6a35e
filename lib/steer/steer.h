/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Service steering: which network segment (backend) serves each service's
 * new flows in each stage, canary fractions during a gradual promotion,
 * and network splits.
 *
 * A generation carries a *steering state* (JSON, owned by the release
 * workflow): per service and stage, the version running there and its
 * backend, plus an optional canary (a second version on a second backend
 * taking a fraction of new flows). steer_build() (steer_build.c, management
 * core) compiles the configuration and that state into a read-only
 * struct steer_table; steer_flow() (steer_lookup.c, workers) decides a new
 * flow's egress from it. Established flows keep what they were given.
 *
 * Order for a new flow of to-stage S: the first split of S that matches
 * (client prefix or flow-hash range, optionally one service) wins; else the
 * service's route in S: canary when the flow hash falls under the canary
 * fraction, else the running version's backend; else the stage's egress.
 * The flow hash is a seeded hash of the canonical 5-tuple: both directions
 * agree, and a flow chosen at 1% stays chosen at 5%.
 *
 * DevMesh extension (conf stages[].devmesh): in a stage that does not run a
 * service (no slot in the steering state) but extends it, the service's
 * route is production's (running, canary, or production's egress) and the
 * result names production as the flow's stage (extended_to). The dev
 * stage's own splits still come first; production's splits do not apply.
 */
#ifndef UMBRA_STEER_H
#define UMBRA_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_ether.h>

#include "conf.h"
#include "flow.h"
#include "pkt.h"

/** VLAN TCI meaning "send untagged". */
#define STEER_VLAN_NONE 0xffff
/** No service. */
#define STEER_NO_SERVICE 0xff

/** Where traffic leaves, compiled from struct conf_egress. */
struct steer_egress {
	uint16_t port;          /**< port index (umbra_conf.ports) */
	uint16_t vlan;          /**< TCI to send with, or STEER_VLAN_NONE */
	bool rewrite_mac;
	struct rte_ether_addr next_hop;
};

/** How a new flow was steered (kept in its flow entry and counted). */
enum steer_how {
	STEER_STAGE = 0,        /**< the stage's own egress */
	STEER_RUNNING,          /**< backend of the version running in the stage */
	STEER_CANARY,           /**< backend of the version being rolled out */
	STEER_SPLIT,            /**< a network split */
	STEER_HOW_MAX
};

/** A new flow's steering. */
struct steer_result {
	const struct steer_egress *egress; /**< NULL: the stage's own egress */
	uint8_t service;        /**< service index, or STEER_NO_SERVICE */
	uint8_t how;            /**< enum steer_how */
	uint8_t split;          /**< split index when how == STEER_SPLIT */
	/** 0, or the stage + 1 that a DevMesh extension hands the flow to:
	 *  its to-stage from now on (the flow's stage lacks the service). */
	uint8_t extended_to;
};

struct steer_table;

/** What runs for a service in a stage, by version name. */
struct steer_release {
	char running[CONF_VERSION_MAX];  /**< "" when the state names none */
	char canary[CONF_VERSION_MAX];   /**< "" when no canary */
	uint32_t canary_bp;              /**< canary's share of new flows */
};

/** The versions of @p service in @p stage (management core). */
void steer_release_of(const struct steer_table *t, uint16_t stage, uint8_t service,
		      struct steer_release *out);

/** Compile @p e into @p out. */
void steer_egress_compile(struct steer_egress *out, const struct conf_egress *e);

/**
 * Steering state of @p conf before any event: services[].stages[].running
 * on the stage's first backend. Caller owns the result.
 */
json_t *steer_state_initial(const struct umbra_conf *conf);

/**
 * Compile @p conf and steering @p state (NULL: the initial state) into a
 * table. Services of @p conf missing from @p state start from their initial
 * state; services of @p state missing from @p conf are dropped. A stage or
 * backend the configuration does not have is an error naming it.
 * @param[out] canonical  when not NULL, the merged state (caller owns it)
 * @return NULL with a sentence in @p err on failure.
 */
struct steer_table *steer_build(const struct umbra_conf *conf,
				const json_t *state, json_t **canonical,
				char *err, size_t errlen);

/** Free a table (NULL is fine), once no worker can read it. */
void steer_free(struct steer_table *t);

/** Seeded hash of a canonical flow key, 0..FLOW_HASH_SPAN-1 (workers). */
uint32_t steer_flow_hash(const struct steer_table *t, const struct flow_key *k);

/**
 * Steer a new flow whose first packet @p m was classified into @p stage
 * (workers; new flows only). @p hash is steer_flow_hash() of its key.
 */
void steer_flow(const struct steer_table *t, uint16_t stage,
		const struct pkt_meta *m, uint32_t hash, struct steer_result *r);

/**
 * The service whose backend segment (@p port index, @p vlan id, 0:
 * untagged) in @p stage a new flow's first packet came from: the client
 * side of a dependency edge (workers; new flows from backend segments
 * only, a scan of the stage's routes). *@p canary tells whether it came
 * from the canary's backend (when that differs from the running one's).
 * @return the service index, or STEER_NO_SERVICE.
 */
uint8_t steer_client_of(const struct steer_table *t, uint16_t stage, uint16_t port,
			uint16_t vlan, bool *canary);

/** True while some service has a canary somewhere (cohorts to watch). */
bool steer_any_canary(const struct steer_table *t);

/** True while @p service has a canary in @p stage (a release in progress). */
bool steer_has_canary(const struct steer_table *t, uint16_t stage, uint8_t service);

/** True when the table can change any flow's egress or service. */
bool steer_active(const struct steer_table *t);

#endif
