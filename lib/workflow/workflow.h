/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The release workflow: each service's releases move through a pipeline of
 * stages (default dev -> test -> staging -> production) on events
 * (code_commit, test_completion, manual_approval, rollback).
 * A transition whose steering would break a compliance invariant (a
 * version on another stage's network) is refused before it starts.
 *
 * A legal event becomes a *transition*: a change to the steering state
 * (lib/steer: which version, on which backend, serves the service in each
 * stage), operator hooks run before and after it is published as a new
 * generation, and a *rollback signature* that says how to undo it (the
 * ordered changes to revert, the hooks' undo commands, the transitions it
 * depends on, and what to verify afterwards). An illegal event is refused
 * with a sentence saying why; nothing changes then.
 *
 * Promotion into a stage where the service has two backends and a rollout
 * runs in steps: the new version takes a growing fraction of new flows
 * (consistent flow hash) with a hold time between steps, then all of them.
 *
 * The releases, the recent history of transitions and the one running per
 * service are persisted (state directory: workflow.json, rewritten
 * atomically now and then, and workflow.journal, one line appended per
 * change), so a restart resumes them. Memory keeps a window of recent
 * transitions; with a history database attached (history.db) every
 * transition is stored there too and reports read older ones from it
 * (workflow_attach_history). A transition
 * that was running when the process died is marked interrupted and its
 * published change, if any, is reverted.
 *
 * workflow_plan.c: events to transitions (pure: configuration and state in,
 * changes out). workflow_run.c: running transitions (hooks, publish,
 * abort, chaining, rollout steps) on the management loop. workflow_store.c:
 * persistence and reports. hook_run.c: child processes.
 * Management core only.
 */
#ifndef UMBRA_WORKFLOW_H
#define UMBRA_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"

/** What the workflow needs from the daemon. */
struct workflow_ops {
	/** The current generation's configuration. */
	const struct umbra_conf *(*conf)(void *ctx);
	/** The current generation's steering state (JSON text) and number. */
	const char *(*state)(void *ctx, uint64_t *generation);
	/** Steering state (JSON text) of generation @p id, or NULL. */
	const char *(*state_of)(void *ctx, uint64_t id);
	/**
	 * Publish the current configuration with steering @p state as a new
	 * generation recorded as coming from @p source.
	 * @return its number, or 0 with a sentence in @p err.
	 */
	uint64_t (*publish)(void *ctx, const char *state, const char *source,
			    char *err, size_t errlen);
	/**
	 * Optional: check steering @p state against the current
	 * configuration's policies before a transition starts (before its
	 * hooks run). @return 0, or -1 with a sentence in @p err.
	 */
	int (*check)(void *ctx, const json_t *state, char *err, size_t errlen);
	/**
	 * Optional: may the rollout of @p service take its next step now? Its
	 * hold time has passed; a step needs more than time (a release
	 * verdict's GO). @return true to step, false to ask again shortly
	 * (WORKFLOW_HOLD_RETRY_MS), with the reason in @p why.
	 */
	bool (*may_advance)(void *ctx, const char *service, char *why, size_t len);
};

/** How soon a held rollout step asks may_advance again, ms. */
#define WORKFLOW_HOLD_RETRY_MS 100

struct workflow;

/**
 * A workflow on @p base. With @p dir (a state directory; NULL or "" for
 * memory only) it loads workflow.json and resumes: running transitions
 * are marked interrupted and reverted, rollouts re-armed.
 * @return NULL with a sentence in @p err.
 */
struct workflow *workflow_create(struct event_base *base, const char *dir,
				 const struct workflow_ops *ops, void *ctx,
				 char *err, size_t errlen);

/**
 * Generations the workflow may roll back to and that snapshot retention
 * must keep: those before, of and restored by each service's last
 * transition. Fills up to @p max numbers into @p ids. @return how many.
 */
size_t workflow_generations_in_use(struct workflow *wf, uint64_t *ids, size_t max);

/** Cancel running hooks and timers and free everything. */
void workflow_free(struct workflow *wf);

/**
 * Handle an event: "code_commit", "test_completion", "manual_approval" or
 * "rollback" with its JSON @p args. A legal event starts a transition
 * (hooks run later, from the loop) and returns its description (caller
 * owns it); an illegal one returns NULL with the reason in @p err.
 */
json_t *workflow_event(struct workflow *wf, const char *event, json_t *args,
		       char *err, size_t errlen);

/** Longest ref or approver of an event, in bytes. */
#define WORKFLOW_VALUE_MAX 128
/** Longest rollback reason, in bytes. */
#define WORKFLOW_REASON_MAX 512

/**
 * Check the values of an event's @p args that may reach hooks and the
 * history before anything else looks at them: service, version, ref,
 * approver and to_stage are 1..max characters of [A-Za-z0-9._:/@+-] not
 * starting with '-' (no option injection, no shell syntax); a reason has no
 * control characters and at most WORKFLOW_REASON_MAX bytes.
 * @return 0, or -1 with the argument and the rule in @p err.
 */
int workflow_args_check(const json_t *args, char *err, size_t errlen);

/** Per service: what runs in each stage, releases, rollout, running transition. */
json_t *workflow_status(struct workflow *wf, const char *service);

/**
 * Transitions kept in memory once a history database is attached: the
 * recent window (rollbacks and dependencies look there); older ones are
 * read from the database.
 */
#define WORKFLOW_WINDOW 256

struct history;

/**
 * Keep every transition in @p hist (lib/history, its workflow_transitions
 * table) from now on: the window in memory is stored at once, each change
 * is added to the history's pending batch (committed by whoever flushes
 * it, e.g. every 100 ms), and the window shrinks to WORKFLOW_WINDOW.
 * Reports then read older transitions from it. Without one (no state
 * directory) the window (workflow.history) is all there is. @p hist must
 * outlive the workflow. @return 0, or -1 with a sentence in @p err.
 */
int workflow_attach_history(struct workflow *wf, struct history *hist,
			    char *err, size_t errlen);

/**
 * Transitions, newest first, at most @p limit, of @p service (NULL: all),
 * those with an id below @p before (0: the newest), each with its hooks'
 * results and its rollback signature. Past the window they come from the
 * history database when one is attached.
 */
json_t *workflow_history(struct workflow *wf, const char *service, size_t limit,
			 uint64_t before);

/** Transition @p id (from the window, else the history database), or NULL. */
json_t *workflow_transition(struct workflow *wf, uint64_t id);

/** Counts for /metrics: transitions by status, releases by stage. */
json_t *workflow_metrics(struct workflow *wf);

#endif
