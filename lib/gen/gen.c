/* SPDX-License-Identifier: BSD-3-Clause */
/* Generations: build, publish with RCU, reclaim. Management core only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "gen.h"

/** Replaced generations that may wait for reclamation at once. */
#define GEN_DEFER_MAX 64

static void
stage_compile(struct gen_stage *gs, const struct conf_stage *cs)
{
	steer_egress_compile(&gs->egress, &cs->egress);
	gs->proxy_arp = cs->proxy_arp;
}

/* Steering state @p text, parsed into @p state (NULL text: NULL, the initial one). */
static int
state_parse(const char *text, json_t **state, char *err, size_t errlen)
{
	json_error_t jerr;

	*state = NULL;
	if (text != NULL && (*state = json_loads(text, 0, &jerr)) == NULL) {
		snprintf(err, errlen, "steering state: %s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	return 0;
}

/* Compile @p state (NULL: initial state), keep the merged text. */
static int
steer_compile(struct umbra_gen *g, const json_t *state, char *err, size_t errlen)
{
	json_t *merged = NULL;

	g->steer = steer_build(g->conf, state, &merged, err, errlen);
	if (g->steer == NULL)
		return -1;
	g->state = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(merged);
	if (g->state == NULL) {
		snprintf(err, errlen, "out of memory for the steering state");
		return -1;
	}
	return 0;
}

/* What the data path needs of stages beyond what the loader checks. */
static int
stages_check(const struct umbra_conf *c, char *err, size_t errlen)
{
	for (uint16_t s = 0; s < c->n_stages; s++) {
		const struct conf_stage *st = &c->stages[s];

		if (st->proxy_arp && !st->egress.rewrite_mac) {
			conf_error_at(c, st->pos, err, errlen,
				      "stage '%s': proxy_arp needs egress.next_hop_mac "
				      "(umbra answers ARP with its own MAC, so it must "
				      "know where to send the traffic)", st->name);
			return -1;
		}
	}
	return 0;
}

/* Everything checked before a build: invariants over every road, with @p state. */
static int
validate(const struct umbra_conf *conf, const json_t *state, char *err, size_t errlen)
{
	if (classify_check_invariants(conf, state, err, errlen) < 0)
		return -1;
	return stages_check(conf, err, errlen);
}

int
gen_validate(const struct umbra_conf *conf, char *err, size_t errlen)
{
	return validate(conf, NULL, err, errlen);
}

/* Whether any stage or backend egress rewrites MACs (splits and DevMesh
 * extensions leave through one of those). */
static bool
conf_rewrites_mac(const struct umbra_conf *conf)
{
	for (uint16_t s = 0; s < conf->n_stages; s++)
		if (conf->stages[s].egress.rewrite_mac)
			return true;
	for (uint32_t i = 0; i < conf->n_services; i++)
		for (uint8_t b = 0; b < conf->services[i].n_backends; b++)
			if (conf->services[i].backends[b].egress.rewrite_mac)
				return true;
	return false;
}

struct umbra_gen *
gen_build(struct umbra_conf *conf, const char *state, uint64_t id, char *err,
	  size_t errlen)
{
	struct umbra_gen *g;
	char name[RTE_ACL_NAMESIZE];
	json_t *st;

	/* The state is checked with the configuration: a steering state
	 * restored into a configuration with new policies meets them. */
	if (state_parse(state, &st, err, errlen) < 0 ||
	    validate(conf, st, err, errlen) < 0) {
		json_decref(st);
		conf_free(conf);
		return NULL;
	}
	g = rte_zmalloc("umbra_gen", sizeof(*g), RTE_CACHE_LINE_SIZE);
	if (g == NULL) {
		snprintf(err, errlen, "out of memory for a generation");
		json_decref(st);
		conf_free(conf);
		return NULL;
	}
	g->id = id;
	g->conf = conf;
	/* rte_acl hands back an existing context of the same name: every
	 * build gets a fresh one. */
	static uint64_t builds;

	snprintf(name, sizeof(name), "umbra_cls_%llu", (unsigned long long)++builds);
	g->cls = classify_build(conf, name, (int)rte_socket_id(), err, errlen);
	if (g->cls == NULL || steer_compile(g, st, err, errlen) < 0) {
		json_decref(st);
		gen_free(g);
		return NULL;
	}
	json_decref(st);
	g->n_stages = conf->n_stages;
	for (uint16_t s = 0; s < conf->n_stages; s++)
		stage_compile(&g->stages[s], &conf->stages[s]);
	g->rewrites_mac = conf_rewrites_mac(conf);
	g->uplink_port = GEN_NO_PORT;
	for (uint16_t i = 0; i < conf->n_ports; i++) {
		if (conf->ports[i].role == CONF_PORT_UPLINK) {
			g->uplink_port = i;
			break;
		}
	}
	return g;
}

void
gen_free(struct umbra_gen *g)
{
	if (g == NULL)
		return;
	classify_free(g->cls);
	steer_free(g->steer);
	free(g->state);
	conf_free(g->conf);
	rte_free(g);
}

static void
gen_free_deferred(void *p, void *e, unsigned int n)
{
	struct umbra_gen **gp = e;

	(void)p;
	for (unsigned int i = 0; i < n; i++)
		gen_free(gp[i]);
}

int
gen_publisher_init(struct gen_publisher *p, uint32_t n_workers, char *err,
		   size_t errlen)
{
	size_t sz = rte_rcu_qsbr_get_memsize(n_workers);
	struct rte_rcu_qsbr_dq_parameters dqp = {
		.name = "umbra_gen_dq",
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE,
		.size = GEN_DEFER_MAX,
		.esize = sizeof(struct umbra_gen *),
		.trigger_reclaim_limit = 1,
		.max_reclaim_size = GEN_DEFER_MAX,
		.free_fn = gen_free_deferred,
	};

	memset(p, 0, sizeof(*p));
	p->next_id = 1;
	p->qsbr = rte_zmalloc("umbra_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (p->qsbr == NULL || rte_rcu_qsbr_init(p->qsbr, n_workers) != 0) {
		snprintf(err, errlen, "cannot set up RCU for %u workers", n_workers);
		return -1;
	}
	dqp.v = p->qsbr;
	p->dq = rte_rcu_qsbr_dq_create(&dqp);
	if (p->dq == NULL) {
		snprintf(err, errlen, "cannot create the RCU defer queue: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

void
gen_publisher_fini(struct gen_publisher *p)
{
	if (p->dq != NULL) {
		/* Workers are stopped: everything deferred can go. */
		rte_rcu_qsbr_dq_reclaim(p->dq, GEN_DEFER_MAX, NULL, NULL, NULL);
		rte_rcu_qsbr_dq_delete(p->dq);
	}
	gen_free(p->current);
	rte_free(p->qsbr);
	memset(p, 0, sizeof(*p));
}

int
gen_publish(struct gen_publisher *p, struct umbra_gen *g)
{
	struct umbra_gen *old = p->current;

	/* A generation resumed from the state directory keeps its number. */
	if (g->id > p->next_id)
		p->next_id = g->id;
	g->id = p->next_id++;
	__atomic_store_n(&p->current, g, __ATOMIC_RELEASE);
	if (old == NULL)
		return 0;
	/* The defer queue takes its RCU token now, after the swap: a worker
	 * that reports quiescence past this token can only see @g. */
	if (rte_rcu_qsbr_dq_enqueue(p->dq, &old) != 0) {
		/* Queue full of generations still in use: wait the few
		 * microseconds a worker loop takes rather than leak. */
		rte_rcu_qsbr_synchronize(p->qsbr, RTE_QSBR_THRID_INVALID);
		gen_free(old);
	}
	return 0;
}

void
gen_reclaim(struct gen_publisher *p)
{
	rte_rcu_qsbr_dq_reclaim(p->dq, GEN_DEFER_MAX, NULL, NULL, NULL);
}
