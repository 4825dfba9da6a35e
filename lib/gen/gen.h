/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Config generations: an immutable, validated, compiled configuration that
 * workers read through one pointer.
 *
 * The management core builds a generation (gen_build), publishes it with a
 * single atomic pointer swap (gen_publish), and frees the one it replaced
 * only once rte_rcu_qsbr says every worker has passed a quiescent state
 * (an rte_rcu_qsbr defer queue; gen_reclaim never waits). Workers call
 * gen_current() once per loop iteration and report quiescence between
 * iterations.
 */
#ifndef UMBRA_GEN_H
#define UMBRA_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <rte_ether.h>
#include <rte_rcu_qsbr.h>

#include "classify.h"
#include "conf.h"
#include "steer.h"

/** No port (e.g. no uplink configured). */
#define GEN_NO_PORT 0xffff

/** A stage, compiled from conf_stage. */
struct gen_stage {
	struct steer_egress egress; /**< where its traffic leaves */
	bool proxy_arp;
};

/** One generation. Never modified after gen_publish(). */
struct umbra_gen {
	uint64_t id;                    /**< 1, 2, ... in publish order */
	struct umbra_conf *conf;        /**< owned; names for reports */
	struct classify_ctx *cls;       /**< owned */
	struct steer_table *steer;      /**< owned */
	char *state;                    /**< steering state (JSON text), owned */
	struct gen_stage stages[CONF_MAX_STAGES];
	uint16_t n_stages;
	uint16_t uplink_port;           /**< first uplink port, or GEN_NO_PORT */
	/** Flows decided by an older generation are decided again by their
	 * client's next packet, so that they follow this one (an operator's
	 * migration; carried over by later generations). */
	uint64_t migrate_before;
	/** Some egress rewrites MACs (a next_hop_mac on a stage or backend):
	 * workers then prefetch each flow's second line, where the MACs are. */
	bool rewrites_mac;
};

/** The published generation and what is waiting to be freed. */
struct gen_publisher {
	struct umbra_gen *current;      /**< read with gen_current() */
	struct rte_rcu_qsbr *qsbr;      /**< one thread id per worker */
	struct rte_rcu_qsbr_dq *dq;     /**< replaced generations */
	uint64_t next_id;               /**< number the next publish gets */
};

/**
 * Checks a loaded configuration must pass before it is compiled: policy
 * invariants over every road out of a stage (classify_check_invariants),
 * and what the data path needs beyond the loader's checks. Needs no EAL. @return 0, or -1 with "file:line:col: ..." in @p err.
 */
int gen_validate(const struct umbra_conf *conf, char *err, size_t errlen);

/**
 * Compile @p conf (ownership passes to the generation, even on failure)
 * with steering state @p state (JSON text; NULL: the configuration's
 * initial state). The generation keeps the merged state (see steer_build).
 * Checks what gen_validate() checks, the invariants against the backends
 * @p state runs versions and canaries on too, so that every publish (apply,
 * rollback, migrate, workflow) meets the policies of its configuration.
 * @return NULL with a message in @p err.
 */
struct umbra_gen *gen_build(struct umbra_conf *conf, const char *state,
			    uint64_t id, char *err, size_t errlen);

/** Free a generation that no worker can see (or never saw). */
void gen_free(struct umbra_gen *g);

/**
 * Set up a publisher for @p n_workers readers (thread ids 0..n-1).
 * @return 0, or -1 with a message in @p err.
 */
int gen_publisher_init(struct gen_publisher *p, uint32_t n_workers,
		       char *err, size_t errlen);

/** Free the publisher, the current generation and all deferred ones. */
void gen_publisher_fini(struct gen_publisher *p);

/**
 * Make @p g current: one pointer swap, the old generation deferred until
 * every worker has moved on. Assigns g->id: the next number, or g->id
 * itself when it is higher (a generation resumed after a restart). Waits (for one worker loop)
 * only when GEN_DEFER_MAX replaced generations are all still in use.
 * @return 0.
 */
int gen_publish(struct gen_publisher *p, struct umbra_gen *g);

/** Free replaced generations no worker can still see. Never blocks. */
void gen_reclaim(struct gen_publisher *p);

/**
 * Another table the workers read (fault rules, shadow profiles), published
 * like a generation through its own pointer and defer queue, on the
 * generations' qsbr (gen_table.c).
 */
struct gen_table_pub {
	void *current;
	struct rte_rcu_qsbr *qsbr;
	struct rte_rcu_qsbr_dq *dq;
	void (*free_fn)(void *table);
};

/**
 * Set up @p p on the workers' @p qsbr; replaced tables go to @p free_fn.
 * @return 0, or -1 with a message in @p err.
 */
int gen_table_pub_init(struct gen_table_pub *p, struct rte_rcu_qsbr *qsbr,
		       const char *name, void (*free_fn)(void *table),
		       char *err, size_t errlen);

/** Make @p t current; the one it replaces is freed once no worker sees it. */
void gen_table_publish(struct gen_table_pub *p, void *t);

/** Free replaced tables no worker can still see. Never blocks. */
void gen_table_reclaim(struct gen_table_pub *p);

/** Free everything (workers stopped), the current table too. */
void gen_table_pub_fini(struct gen_table_pub *p);

/** The current table (workers: once per loop iteration). */
static inline void *
gen_table_current(const struct gen_table_pub *p)
{
	return __atomic_load_n(&p->current, __ATOMIC_ACQUIRE);
}

/** Wall-clock seconds (for reports: since, until). */
static inline double
gen_wall_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/** @p ns nanoseconds in cycles of a @p hz TSC, rounded. */
static inline uint64_t
gen_ns_to_tsc(uint64_t ns, uint64_t hz)
{
	return (uint64_t)((double)ns * (double)hz / 1e9 + 0.5);
}

/** The current generation (workers: once per loop iteration). */
static inline struct umbra_gen *
gen_current(const struct gen_publisher *p)
{
	return __atomic_load_n(&p->current, __ATOMIC_ACQUIRE);
}

#endif
