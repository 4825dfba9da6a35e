/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Release history in SQLite: releases, transitions, decisions with their
 * evidence, rollbacks (onset, detection, done, root cause) and risk
 * predictions with their outcomes; and the analytics over them. Golden
 * dependency graphs too (versioned per stage, history_golden_*), stored
 * as rows per edge with named columns.
 *
 * One database file in the state directory (WAL), written only by the
 * management core. Records go into an open transaction as they come and
 * history_flush() commits them as one batch (the loop calls it every
 * 100 ms and at exit), so the loop never waits on a sync per record and a
 * kill -9 loses at most the batch not yet committed, never a committed
 * one. Times are wall-clock seconds (UNIX epoch, fractional).
 */
#ifndef UMBRA_HISTORY_H
#define UMBRA_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct history;

/** A release: one version of a service on its way through the stages. */
struct history_release {
	const char *service;
	const char *version;
	const char *from_version;  /**< what it replaces (may be NULL) */
	double at;
};

/** One transition of a release between stages. */
struct history_transition {
	int64_t release;           /**< history_release_begin()'s id */
	const char *event;         /**< code_commit, test_completion, ... */
	const char *from_stage;
	const char *to_stage;
	uint64_t generation;
	double at;
};

/** One verdict as decided, with its evidence. */
struct history_decision {
	int64_t release;
	const char *stage;
	const char *state;         /**< go, hold, rollback */
	const char *mode;          /**< outage, degradation, security, none */
	const char *metric;
	const char *reason;
	const char *evidence_json; /**< the evidence as shown to operators */
	double at;
};

/** A rollback and its timeline. */
struct history_rollback {
	int64_t release;
	double onset;              /**< first bad answer (estimated) */
	double detected;           /**< ROLLBACK decided */
	double done;               /**< rollback published */
	const char *metric;        /**< root cause */
	const char *endpoint;
	const char *mode;
	bool automatic;            /**< decided by umbra (not an operator) */
};

/** A risk prediction made before production, and later its outcome. */
struct history_prediction {
	int64_t release;
	double risk;               /**< 0..1 */
	bool predicted_bad;
	double at;
};

/** What analytics/summary answers. */
struct history_summary {
	uint64_t releases;
	uint64_t validated;        /**< releases with an outcome (promoted or rolled back) */
	uint64_t rollbacks, automatic_rollbacks;
	uint64_t predictions, predictions_judged;
	double precision, recall;  /**< of "bad" predictions; -1 when undefined */
	double ttr_p50_ms, ttr_p95_ms; /**< onset to rollback done; -1 when none */
	struct {
		char metric[32];
		char mode[16];
		uint64_t count;
	} causes[8];               /**< most frequent root causes first */
	unsigned int n_causes;
};

/**
 * Open (create) the database at @p path: WAL, schema made or checked.
 * @return 0, or -1 with one sentence in @p err.
 */
int history_open(struct history **h, const char *path, char *err, size_t errlen);

/** Commit what is pending and close. */
void history_close(struct history *h);

/**
 * Record the start of a release.
 * @return its id (> 0), or -1 (the error is logged by the caller via history_error()).
 */
int64_t history_release_begin(struct history *h, const struct history_release *r);

/** Record how a release ended: "promoted" or "rolled_back". */
int history_release_end(struct history *h, int64_t release, const char *outcome, double at);

/** Record a transition. @return 0 or -1. */
int history_add_transition(struct history *h, const struct history_transition *t);
/** Record a decision. @return 0 or -1. */
int history_add_decision(struct history *h, const struct history_decision *d);
/** Record a rollback. @return 0 or -1. */
int history_add_rollback(struct history *h, const struct history_rollback *rb);
/** Record a prediction. @return 0 or -1. */
int history_add_prediction(struct history *h, const struct history_prediction *p);
/** Record whether the release turned out bad (judges its predictions). */
int history_set_outcome(struct history *h, int64_t release, bool bad);

/** Commit the pending batch. @return records committed, or -1. */
int history_flush(struct history *h);

/** The analytics. @return 0 or -1. */
int history_summarize(struct history *h, struct history_summary *out);

/**
 * One edge of a golden graph as stored: one row of table golden_edges,
 * every field in its own column, addresses and names as text, so a
 * stored graph means the same to any build on any machine.
 */
struct history_golden_edge {
	char client_kind[8];       /**< "addr" or "service" */
	char client[64];           /**< the client's address, or its service's name */
	char server[48];           /**< the server's address ("10.0.0.2", "2001:db8::2") */
	uint16_t port;             /**< the server's port */
	uint8_t proto;             /**< IP protocol number */
	uint64_t flows, bytes;
	uint64_t first_ms, last_ms;
	uint32_t errors, resets;
	uint32_t rtt_avg_us, rtt_max_us;
	uint32_t max_gap_ms;
	uint32_t active;
};

/**
 * A golden graph as stored: a stage's dependency graph at a known-good
 * point (history_golden.c): a row of golden_graphs and its edges' rows.
 */
struct history_golden {
	const char *stage;         /**< the stage's name */
	uint32_t version;          /**< 1, 2, ... per stage */
	const char *origin;        /**< command, auto */
	const char *label;         /**< why (may be NULL on save) */
	const char *release;       /**< auto: "service version" that baked (may be NULL) */
	double at;                 /**< when it was taken */
	uint32_t edges;            /**< edges in @p e */
	uint64_t flows;
	uint32_t truncated;        /**< edges left out when it was taken */
	uint64_t from_ms, taken_ms; /**< what it covers (the map's clock) */
	/** The edges (NULL when walked without them, or when there are none). */
	const struct history_golden_edge *e;
	/**
	 * A graph stored by schema 3 or older: the blob in the memory layout
	 * of the build that saved it, until converted (history_golden_upgrade());
	 * then @p e is NULL.
	 */
	const void *legacy;
	size_t legacy_len;
};

/**
 * Store a golden graph with its @p g->edges edges, committed at once (with
 * the batch pending before it). (stage, version) is unique: a second save
 * of it fails. @return 0 or -1.
 */
int history_golden_save(struct history *h, const struct history_golden *g);

/** The next version of @p stage's golden graph (1 for none yet). @return 0 or -1. */
int history_golden_next_version(struct history *h, const char *stage, uint32_t *version);

/** Called per stored golden graph; nonzero stops the walk. Pointers live until it returns. */
typedef int (*history_golden_fn)(const struct history_golden *g, void *ctx);

/**
 * Walk the golden graphs of @p stage (NULL: every stage), version
 * @p version (0: any), the @p newest most recent (0: all), oldest first;
 * with @p with_graph their edges too (else e is NULL).
 * @return how many were given to @p fn, or -1.
 */
int history_golden_each(struct history *h, const char *stage, uint32_t version,
			unsigned int newest, bool with_graph, history_golden_fn fn, void *ctx);

/**
 * Convert a graph stored by schema 3 (@p old->legacy) into edges: fill
 * @p conv's edges, e, flows, truncated, from_ms and taken_ms (e stays the
 * callee's). @return 0; -1: unreadable, the graph is dropped; -2: not
 * now (out of memory), the graph is kept and the conversion stops.
 */
typedef int (*history_golden_legacy_fn)(const struct history_golden *old,
					struct history_golden *conv, void *ctx);

/**
 * Convert every golden graph still stored as a blob (a database migrated
 * from schema 3) by @p fn into rows, or drop the ones @p fn cannot read;
 * each committed at once. Only the caller knows the old layout.
 * @return 0 or -1; how many were converted and dropped in @p converted
 * and @p dropped.
 */
int history_golden_upgrade(struct history *h, history_golden_legacy_fn fn, void *ctx,
			   unsigned int *converted, unsigned int *dropped);

/*
 * Workflow transitions (history_workflow.c): lib/workflow keeps only a
 * recent window in memory; every version of every transition is stored
 * here as its JSON record, so older ones are still listed.
 */

/**
 * Store (or replace) workflow transition @p id of @p service with its
 * @p status and JSON @p record, in the pending batch like every record.
 * @return 0 or -1.
 */
int history_wf_put(struct history *h, uint64_t id, const char *service,
		   const char *status, const char *record);

/** Called per stored workflow transition; nonzero stops the walk. */
typedef int (*history_wf_fn)(uint64_t id, const char *record, void *ctx);

/**
 * Walk the stored workflow transitions of @p service (NULL: all), newest
 * first, those with an id below @p before (0: no bound), at most
 * @p limit. Records not yet committed are included (same connection).
 * @return how many were given to @p fn, or -1.
 */
int history_wf_each(struct history *h, const char *service, uint64_t before,
		    unsigned int limit, history_wf_fn fn, void *ctx);

/** Called per transition status with how many stored transitions have it. */
typedef void (*history_wf_count_fn)(const char *status, uint64_t n, void *ctx);

/** Count the stored workflow transitions by status. @return 0 or -1. */
int history_wf_count(struct history *h, history_wf_count_fn fn, void *ctx);

/** The last error, one sentence. */
const char *history_error(const struct history *h);

#endif /* UMBRA_HISTORY_H */
