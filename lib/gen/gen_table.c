/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half: tables other than generations (fault rules, shadow
 * profiles) published the generations' way: one pointer swap, the old
 * table freed from an rte_rcu_qsbr defer queue once every worker has
 * reported a quiescent state past the swap.
 */
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>

#include "gen.h"

#define GEN_TABLE_DEFER_MAX 64

static void
table_free_deferred(void *p, void *e, unsigned int n)
{
	struct gen_table_pub *pub = p;
	void **tp = e;

	for (unsigned int i = 0; i < n; i++)
		pub->free_fn(tp[i]);
}

int
gen_table_pub_init(struct gen_table_pub *p, struct rte_rcu_qsbr *qsbr,
		   const char *name, void (*free_fn)(void *), char *err,
		   size_t errlen)
{
	struct rte_rcu_qsbr_dq_parameters dqp = {
		.name = name,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
		.size = GEN_TABLE_DEFER_MAX,
		.esize = sizeof(void *),
		.trigger_reclaim_limit = 1,
		.max_reclaim_size = GEN_TABLE_DEFER_MAX,
		.free_fn = table_free_deferred,
		.p = p,
		.v = qsbr,
	};

	memset(p, 0, sizeof(*p));
	p->qsbr = qsbr;
	p->free_fn = free_fn;
	p->dq = rte_rcu_qsbr_dq_create(&dqp);
	if (p->dq == NULL) {
		snprintf(err, errlen, "cannot create the RCU defer queue %s: %s",
			 name, rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

void
gen_table_publish(struct gen_table_pub *p, void *t)
{
	void *old = p->current;

	__atomic_store_n(&p->current, t, __ATOMIC_RELEASE);
	if (old == NULL)
		return;
	if (rte_rcu_qsbr_dq_enqueue(p->dq, &old) != 0) {
		/* Queue full of tables still in use: wait one worker loop. */
		rte_rcu_qsbr_synchronize(p->qsbr, RTE_QSBR_THRID_INVALID);
		p->free_fn(old);
	}
}

void
gen_table_reclaim(struct gen_table_pub *p)
{
	if (p->dq != NULL)
		rte_rcu_qsbr_dq_reclaim(p->dq, GEN_TABLE_DEFER_MAX, NULL, NULL, NULL);
}

void
gen_table_pub_fini(struct gen_table_pub *p)
{
	if (p->dq != NULL) {
		/* Workers are stopped: everything deferred can go. */
		gen_table_reclaim(p);
		rte_rcu_qsbr_dq_delete(p->dq);
	}
	if (p->current != NULL)
		p->free_fn(p->current);
	memset(p, 0, sizeof(*p));
}
