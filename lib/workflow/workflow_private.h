/* SPDX-License-Identifier: BSD-3-Clause */
/* Inside lib/workflow: transition plans (workflow_plan.c), shared with the
 * runner (workflow_run.c) and the store (workflow_store.c). */
#ifndef UMBRA_WORKFLOW_PRIVATE_H
#define UMBRA_WORKFLOW_PRIVATE_H

#include "hook_run.h"
#include "workflow.h"

/** Release statuses (stable strings, also in reports). */
#define WF_ACTIVE "active"          /**< in a pipeline stage */
#define WF_ROLLING_OUT "rolling_out" /**< taking a fraction of new flows */
#define WF_FAILED "failed"          /**< its tests failed */
#define WF_SUPERSEDED "superseded"  /**< a newer release took its stage */
#define WF_ROLLED_BACK "rolled_back"

/** Transition statuses. */
#define WF_RUNNING "running"
#define WF_DONE "done"
#define WF_ABORTED "aborted"        /**< a hook failed; nothing remains of it */
#define WF_INTERRUPTED "interrupted" /**< the daemon died while it ran */

/**
 * What an event changes, before it runs. @c transition is the record kept
 * in the history: id, service, event, version, from/to stage, changes
 * ([{stage, before, after}], before/after are steering slots or null),
 * args, and (rollback) the transitions it undoes and their undo hooks.
 */
struct wf_plan {
	json_t *transition;
	json_t *state;          /**< steering state once the changes are made */
	bool publish;           /**< false: records only (e.g. failed tests) */
	bool run_hooks;         /**< run the hooks of the stage it enters */
};

/** Everything a plan is made from (borrowed). */
struct wf_inputs {
	const struct umbra_conf *conf;
	const json_t *state;    /**< current steering state */
	const json_t *releases; /**< {service: [release, ...]} */
	const json_t *history;  /**< [transition, ...], oldest first */
	const json_t *busy;     /**< {service: running transition id} */
	/** Steering state of an earlier generation (rollback), or NULL. */
	json_t *(*state_of)(void *ctx, uint64_t id);
	void *ctx;
};

/**
 * Turn @p event with @p args into a plan (pure: nothing changes).
 * @return 0, or -1 with why the event is refused in @p err.
 */
int wf_plan_make(const struct wf_inputs *in, const char *event, json_t *args,
		 struct wf_plan *plan, char *err, size_t errlen);

/** Free what a plan holds. */
void wf_plan_clear(struct wf_plan *plan);

/**
 * Once transition @p t is done: move releases (@p releases is updated in
 * place) and mark what a rollback undid (@p history updated in place).
 */
/**
 * Keep at most @p max releases per service in @p releases: the oldest
 * ended ones are dropped (their transitions stay in the history while it
 * keeps them); live ones always stay.
 */
void wf_releases_trim(json_t *releases, size_t max);

void wf_plan_done(const struct umbra_conf *conf, json_t *releases,
		  json_t *history, const json_t *t, const json_t *state);

struct wf_txn;
struct workflow;

/**
 * How many transitions the in-memory window keeps: workflow.history, at
 * most WORKFLOW_WINDOW once the history database holds them all.
 */
size_t wf_window(const struct workflow *wf, const struct umbra_conf *c);

/**
 * Drop the oldest transitions past the window (not a running one, not a
 * service's newest) and trim the releases to it.
 */
void wf_history_trim(struct workflow *wf, const struct umbra_conf *c);

/** A service's rollout timer. */
struct wf_timer {
	char service[CONF_NAME_MAX];
	struct event *ev;
	struct workflow *wf;
};

struct workflow {
	struct event_base *base;
	char dir[256];                 /**< state directory, "" for memory only */
	struct workflow_ops ops;
	void *ctx;
	json_t *releases;              /**< {service: [release, ...]} */
	json_t *history;               /**< recent [transition, ...], oldest first */
	struct history *hist;          /**< every transition (SQLite), or NULL */
	json_t *busy;                  /**< {service: id of its running transition} */
	uint64_t next_id;
	uint64_t jseq;                 /**< last journal record written */
	unsigned int jlines;           /**< journal lines since the base */
	int jfd;                       /**< workflow.journal, or -1 */
	struct wf_txn *running;        /**< transitions running hooks */
	struct wf_timer timers[CONF_MAX_SERVICES];
};

/**
 * Rewrite workflow.json with everything (atomically) and empty the journal,
 * when there is a state directory. @return 0, or -1 (logged; the previous
 * files stay whole).
 */
int wf_store_save(struct workflow *wf);

/**
 * Record a change of transition @p t (with its service's releases and the
 * transitions it undid): one line appended to workflow.journal and
 * fdatasync'd; the base is rewritten instead every WF_JOURNAL_MAX lines or
 * when the append fails.
 */
void wf_store_note(struct workflow *wf, const json_t *t);

/**
 * Load workflow.json and replay workflow.journal from wf->dir into @p wf
 * (nothing there: empty). A torn last journal line is cut off and logged.
 * @return 0, or -1 with a sentence in @p err (unreadable, too large,
 * damaged or of the wrong shape: never taken for an empty history).
 */
int wf_store_load(struct workflow *wf, char *err, size_t errlen);

/** Close the journal. */
void wf_store_close(struct workflow *wf);

/** Steering state of generation @p id (ctx: the workflow), owned, or NULL. */
json_t *wf_state_of(void *ctx, uint64_t id);

/** Steering slot of @p service in @p stage, or NULL (borrowed). */
json_t *wf_slot(const json_t *state, const char *service, const char *stage);

/** Next rollout step of a slot with a canary, in basis points, or 0 if none. */
uint32_t wf_rollout_next(const struct conf_rollout *r, const json_t *slot);

#endif
