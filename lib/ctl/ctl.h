/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The one road every configuration change takes: load > check > build >
 * persist > publish > tell the listeners.
 *
 * File apply, SIGHUP, rollback, migrate, workflow transitions, fleet
 * applies and start-up (the first apply) all call ctl_apply() or, once,
 * ctl_start(). Each concern that follows the configuration registers one
 * listener in its slot; listeners run in slot order:
 *
 *  1. CTL_SHADOWS    shadow profiles (before faults: a fault aimed at a
 *                    profile resolves the profile's new slot)
 *  2. CTL_FAULTS     fault rules and their leases
 *  3. CTL_GRAPH      dependency map: its per-service state (golden-graph
 *                    bakes, canary watches) and golden cache follow the
 *                    services and stages by name
 *  4. CTL_VERDICTS   release verdicts: their per-service state follows
 *                    the services by name (added, removed, reordered)
 *  5. CTL_PORT_FLOWS ports (a new generation must keep them) and their
 *                    rte_flow rules, once the generation is published
 *  6. CTL_APP        the daemon's bookkeeping (apply latency, snapshot
 *                    retention)
 *
 * A listener's check() may veto a change before anything is built or
 * published (a rejected change changes nothing); its applied() is told
 * after the publish. Management core only: nothing here is thread-safe.
 */
#ifndef UMBRA_CTL_H
#define UMBRA_CTL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "gen.h"
#include "gen_store.h"

/** Listener slots, in the order they are told (see the file comment). */
enum ctl_slot {
	CTL_SHADOWS = 0,
	CTL_FAULTS,
	CTL_GRAPH,
	CTL_VERDICTS,
	CTL_PORT_FLOWS,
	CTL_APP,
	CTL_SLOTS
};

/** One configuration change: what to publish and where it came from. */
struct ctl_change {
	const char *yaml;       /**< the configuration's text */
	size_t len;
	const char *name;       /**< the file's name in messages */
	const char *state;      /**< steering state (JSON text); NULL: the file's */
	const char *source;     /**< snapshot source: "file:P", "rollback:N", ... */
	uint64_t from;          /**< generation a rollback re-publishes, or 0 */
	bool migrate;           /**< established flows are decided again too */
};

/** What a listener is told after a publish. */
struct ctl_applied {
	const struct umbra_gen *gen;    /**< the generation now current */
	const struct ctl_change *change;
	uint64_t t0;            /**< TSC when the change arrived */
	uint64_t t_pub;         /**< TSC right after the publish */
	bool first;             /**< start-up: the first generation */
};

/** One concern following the configuration. Either hook may be NULL. */
struct ctl_listener {
	const char *name;       /**< in messages: "shadows", "faults", ... */
	/**
	 * Veto @p next (loaded, not built) while @p now runs.
	 * @return 0, or -1 with a sentence in @p err: nothing is published.
	 */
	int (*check)(void *ctx, const struct umbra_conf *now,
		     const struct umbra_conf *next, char *err, size_t errlen);
	/**
	 * Follow the generation just published. @return 0, or -1 with a
	 * sentence in @p err: fatal at start-up, logged on later applies
	 * (the generation is already running).
	 */
	int (*applied)(void *ctx, const struct ctl_applied *a, char *err,
		       size_t errlen);
	void *ctx;
};

/** The road: where generations are published and persisted. */
struct ctl {
	struct gen_publisher *pub;
	struct gen_store *store;
	/** Held around the publish (it may free a replaced generation). */
	pthread_mutex_t *reclaim_lock;
	struct ctl_listener l[CTL_SLOTS];
};

/** Set up @p ctl over @p pub and @p store (@p lock may be NULL). */
void ctl_init(struct ctl *ctl, struct gen_publisher *pub,
	      struct gen_store *store, pthread_mutex_t *lock);

/**
 * Register @p l in @p slot (copied; once per slot).
 * @return 0, or -1 when the slot is taken or out of range.
 */
int ctl_listen(struct ctl *ctl, enum ctl_slot slot, const struct ctl_listener *l);

/**
 * Start-up, the first apply: @p g (built from @p c, number chosen by the
 * caller: 1, or the generation resumed) is persisted unless the store
 * already holds it, published, and every listener told with first set.
 * Ownership of @p g passes to the publisher, even on failure.
 * @return the generation's number, or 0 with a sentence in @p err.
 */
uint64_t ctl_start(struct ctl *ctl, struct umbra_gen *g,
		   const struct ctl_change *c, char *err, size_t errlen);

/**
 * Every later change: load @p c, let the listeners check it, build it
 * against the steering state, persist it, publish it, tell the listeners.
 * A rejected change changes nothing.
 * @return the new generation's number, or 0 with a sentence in @p err.
 */
uint64_t ctl_apply(struct ctl *ctl, const struct ctl_change *c, char *err,
		   size_t errlen);

#endif
