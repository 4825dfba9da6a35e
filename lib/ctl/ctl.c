/* SPDX-License-Identifier: BSD-3-Clause */
/* The apply road: load > check > build > persist > publish > listeners. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>

#include "ctl.h"

void
ctl_init(struct ctl *ctl, struct gen_publisher *pub, struct gen_store *store,
	 pthread_mutex_t *lock)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->pub = pub;
	ctl->store = store;
	ctl->reclaim_lock = lock;
}

int
ctl_listen(struct ctl *ctl, enum ctl_slot slot, const struct ctl_listener *l)
{
	if ((unsigned int)slot >= CTL_SLOTS || ctl->l[slot].name != NULL)
		return -1;
	ctl->l[slot] = *l;
	if (ctl->l[slot].name == NULL)
		ctl->l[slot].name = "listener";
	return 0;
}

static int
listeners_check(const struct ctl *ctl, const struct umbra_conf *next, char *err,
		size_t errlen)
{
	const struct umbra_conf *now = gen_current(ctl->pub)->conf;

	for (int i = 0; i < CTL_SLOTS; i++) {
		const struct ctl_listener *l = &ctl->l[i];

		if (l->check != NULL && l->check(l->ctx, now, next, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/*
 * Every listener in slot order. At start-up the first failure is fatal;
 * later the generation already runs, so a failure is logged and the
 * others are still told.
 */
static int
listeners_applied(const struct ctl *ctl, const struct ctl_applied *a, char *err,
		  size_t errlen)
{
	for (int i = 0; i < CTL_SLOTS; i++) {
		const struct ctl_listener *l = &ctl->l[i];
		char msg[512];

		if (l->applied == NULL || l->applied(l->ctx, a, msg, sizeof(msg)) == 0)
			continue;
		if (a->first) {
			snprintf(err, errlen, "%s", msg);
			return -1;
		}
		fprintf(stderr, "umbra: %s: %s\n", l->name, msg);
	}
	return 0;
}

static void
publish(struct ctl *ctl, struct umbra_gen *g)
{
	/* publish may free a replaced generation when its defer queue is full */
	if (ctl->reclaim_lock != NULL)
		pthread_mutex_lock(ctl->reclaim_lock);
	gen_publish(ctl->pub, g);
	if (ctl->reclaim_lock != NULL)
		pthread_mutex_unlock(ctl->reclaim_lock);
}

uint64_t
ctl_start(struct ctl *ctl, struct umbra_gen *g, const struct ctl_change *c,
	  char *err, size_t errlen)
{
	struct ctl_applied a = { .change = c, .t0 = rte_rdtsc(), .first = true };

	/* A fresh start records its generation; a resumed one is already kept. */
	if (ctl->store->current == 0 &&
	    gen_store_add(ctl->store, g->id, 0, c->source, c->yaml, c->len,
			  g->state) < 0) {
		snprintf(err, errlen, "cannot persist generation %llu in %s",
			 (unsigned long long)g->id, ctl->store->dir);
		gen_free(g);
		return 0;
	}
	publish(ctl, g);
	a.t_pub = rte_rdtsc();
	/* A damaged snapshot left on disk keeps its number. */
	if (ctl->pub->next_id <= ctl->store->damaged_max)
		ctl->pub->next_id = ctl->store->damaged_max + 1;
	a.gen = g;
	return listeners_applied(ctl, &a, err, errlen) < 0 ? 0 : g->id;
}

uint64_t
ctl_apply(struct ctl *ctl, const struct ctl_change *c, char *err, size_t errlen)
{
	struct ctl_applied a = { .change = c, .t0 = rte_rdtsc() }; /* it arrived */
	struct umbra_conf *conf = conf_load_string(c->yaml, c->len, c->name, err, errlen);
	struct umbra_gen *g;

	if (conf == NULL)
		return 0;
	if (listeners_check(ctl, conf, err, errlen) < 0) {
		conf_free(conf);
		return 0;
	}
	g = gen_build(conf, c->state, 0, err, errlen);
	if (g == NULL)
		return 0;
	/* Persisted before published: a restart finds what workers ran. */
	if (gen_store_add(ctl->store, ctl->pub->next_id, c->from, c->source,
			  c->yaml, c->len, g->state) < 0) {
		snprintf(err, errlen, "cannot persist generation %llu in %s: %s",
			 (unsigned long long)ctl->pub->next_id, ctl->store->dir,
			 strerror(errno));
		gen_free(g);
		return 0;
	}
	g->migrate_before = c->migrate ? ctl->pub->next_id :
			    gen_current(ctl->pub)->migrate_before;
	publish(ctl, g);
	a.t_pub = rte_rdtsc();
	a.gen = g;
	listeners_applied(ctl, &a, err, errlen);
	return g->id;
}
