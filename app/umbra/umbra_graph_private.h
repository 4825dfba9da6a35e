/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the daemon's dependency map (umbra_graph*.c): its state and the
 * helpers its files share. umbra_graph.c: rings, canary watches,
 * metrics; umbra_graph_cmds.c: graph/show|diff|record and the command
 * table; umbra_graph_service.c: the service/ commands; umbra_graph_golden.c: golden
 * graphs (the history database their store, memory their cache) and
 * their automatic capture.
 */
#ifndef UMBRA_GRAPH_PRIVATE_H
#define UMBRA_GRAPH_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "graph.h"
#include "umbra.h"

/** How often the rings are drained, milliseconds. */
#define GRAPH_POLL_MS 10
/** How often canaries are scored against their control, milliseconds. */
#define GRAPH_WATCH_MS 250
/** Golden graphs kept in memory (the cache; the database keeps them all), and their edges. */
#define GRAPH_GOLDEN_GRAPHS 16
#define GRAPH_GOLDEN_EDGES 4096
/** Edges a shown or compared graph holds (more are counted as truncated). */
#define GRAPH_SNAP_EDGES 16384
/** Edges a canary watch compares. */
#define GRAPH_WATCH_EDGES 4096
/** Records taken from one ring per drain. */
#define GRAPH_DRAIN 256
/** A host agent's report lives this long (three 10 s report periods). */
#define GRAPH_AGENT_TTL_S 30

/** One service's canary watch and its latest score. */
struct graph_svc_watch {
	struct graph_watch *w;
	uint16_t stage;
	char canary[CONF_VERSION_MAX];   /**< the version watched */
	bool valid;                      /**< last holds a score */
	uint64_t evals;
	struct graph_diff last;
};

struct umbra_graph {
	struct graph_edges *edges;
	struct graph_dns *dns;
	struct graph_registry *reg;
	struct graph_golden *golden;     /**< cache of the stored golden graphs */
	struct graph_services names;
	struct graph_snap *snap, *ref;
	struct graph_diff diff;          /**< scratch of graph/diff */
	struct graph_diff_opts opts;
	struct graph_svc_watch *watch[CONF_MAX_SERVICES];
	struct graph_bake bake[CONF_MAX_SERVICES]; /**< by service, following them */
	uint32_t golden_bake_ms;         /**< GO held this long: golden graph taken */
	uint64_t index_hash;             /**< the stage and service names the cache is indexed by */
	char stages[CONF_MAX_STAGES][CONF_NAME_MAX]; /**< the stages the cache is indexed by */
	uint32_t n_stages;
	struct event *poll;
	uint64_t next_watch_ms;
	uint64_t tsc_per_ms;
	uint64_t dns_answers, dns_bad;
	uint64_t deviations;             /**< scores above the threshold */
	uint64_t golden_auto;            /**< golden graphs taken automatically */
	uint64_t golden_store_errors;    /**< saves the database refused */
};

/** The map's clock, milliseconds (TSC). */
uint64_t ug_now_ms(const struct umbra_graph *gr);
/** Take what the workers recorded. */
void ug_drain(struct umbra_app *app);

/** A string argument, or NULL. */
const char *ug_arg_str(json_t *args, const char *name);
/** stage= (required when @p need): a stage's index, or GRAPH_ANY. @return 0 or -1. */
int ug_stage_arg(struct umbra_app *app, json_t *args, bool need, uint16_t *stage,
		 struct mgmt_error *err);
/** A stage's name ("any" for GRAPH_ANY). */
const char *ug_stage_name(const struct umbra_conf *c, uint16_t stage);
/** format=: json (default) or dot. @return 0 json, 1 dot, -1 refused. */
int ug_format_arg(json_t *args, struct mgmt_error *err);
/** A snapshot's edges, named, as JSON. */
json_t *ug_snap_json(struct umbra_graph *gr, const struct umbra_conf *c,
		     const struct graph_snap *s);
/** A snapshot in DOT, @p marks (may be NULL) coloured. */
json_t *ug_dot_json(struct umbra_graph *gr, const struct graph_snap *s,
		    const struct graph_diff *marks, struct mgmt_error *err);

/**
 * Golden @p version (0: the latest) of @p stage: from the cache, else
 * from the database into @p scratch. @return it, or NULL.
 */
const struct graph_snap *ug_golden_get(struct umbra_app *app, uint16_t stage,
				       uint32_t version, struct graph_snap *scratch);
/** Read the newest stored golden graphs into the cache (at start). */
void ug_golden_load(struct umbra_app *app);
/**
 * A new generation @p c: when its stages or services are numbered
 * differently, read the cache again (the database), or renumber it (no
 * database), @p before naming the services it was indexed by.
 */
void ug_golden_conf_changed(struct umbra_app *app, const struct umbra_conf *c,
			    const struct graph_services *before);
/** Take a release's golden graph once it has held GO for golden_bake (the watch timer). */
void ug_golden_auto(struct umbra_app *app, const struct umbra_gen *g, uint64_t now);
/**
 * A new generation: each bake follows its service (by name) from the
 * indexes of @p before to the current ones; a release baking whose
 * service left is said in the log.
 */
void ug_golden_follow(struct umbra_app *app, const struct graph_services *before);

/* Command handlers of the files beside umbra_graph_cmds.c. */
json_t *ug_cmd_graph_golden(json_t *args, void *ctx, struct mgmt_error *err);
json_t *ug_cmd_service_register(json_t *args, void *ctx, struct mgmt_error *err);
json_t *ug_cmd_service_deregister(json_t *args, void *ctx, struct mgmt_error *err);
json_t *ug_cmd_service_list(json_t *args, void *ctx, struct mgmt_error *err);
json_t *ug_cmd_service_report(json_t *args, void *ctx, struct mgmt_error *err);

#endif /* UMBRA_GRAPH_PRIVATE_H */
