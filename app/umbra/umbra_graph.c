/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dependency map on the management core (lib/graph): a loop timer
 * drains the workers' flow and DNS rings (lib/dp dp_worker_graph.c) into the
 * edge table and the DNS name cache, keeps the service names and the
 * registry's configuration entries in step with the current generation,
 * and, while a service has a canary in its rollout stage, scores the
 * canary cohort's graph against the control cohort's over the same
 * window (graph_watch) for the release verdicts
 * (umbra_graph_deviation()).
 *
 * The table sizes (graph: max_edges, max_names, max_registry) are read
 * at start. Commands (also POST /api/v1/<command>): graph/record|show|diff
 * in umbra_graph_cmds.c, graph/golden and the automatic golden graphs in
 * umbra_graph_golden.c, service/... in umbra_graph_service.c. Metrics:
 * umbra_graph_metrics().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ring.h>

#include "steer.h"
#include "umbra_graph_private.h"

uint64_t
ug_now_ms(const struct umbra_graph *gr)
{
	return rte_rdtsc() / gr->tsc_per_ms;
}

/* YAML services with a single address become registry entries (config). */
static void
registry_from_conf(struct umbra_graph *gr, const struct umbra_conf *c, uint64_t now)
{
	struct graph_reg_entry e[CONF_MAX_SERVICES * CONF_MAX_SVC_MATCHES];
	unsigned int n = 0;

	for (uint32_t s = 0; s < c->n_services; s++) {
		const struct conf_service *svc = &c->services[s];

		for (uint8_t i = 0; i < svc->n_matches; i++) {
			const struct conf_svc_match *m = &svc->matches[i];
			struct graph_reg_entry *r = &e[n];

			if (m->dst.family == 0 || m->dst.len != (m->dst.family == 4 ? 32 : 128))
				continue;
			memset(r, 0, sizeof(*r));
			snprintf(r->name, sizeof(r->name), "%s", svc->name);
			r->stage = GRAPH_ANY;
			r->family = m->dst.family;
			memcpy(r->addr, m->dst.addr, sizeof(r->addr));
			r->port = m->dport.lo == m->dport.hi ? m->dport.lo : 0;
			n++;
		}
	}
	if (graph_registry_set_conf(gr->reg, e, n, now) < 0)
		fprintf(stderr, "umbra: graph: a service of the configuration is no "
			"valid registry entry (names: letters, digits, '.', '-', '_')\n");
}

/* A new generation: names and versions of the services, config entries. */
static void
gen_changed(struct umbra_graph *gr, const struct umbra_gen *g, uint64_t now)
{
	const struct umbra_conf *c = g->conf;

	memset(&gr->names, 0, sizeof(gr->names));
	for (uint32_t s = 0; s < c->n_services && s < GRAPH_SERVICES_MAX; s++) {
		struct steer_release rel;

		steer_release_of(g->steer, c->services[s].rollout.stage, (uint8_t)s, &rel);
		graph_services_set(&gr->names, s, c->services[s].name, rel.running,
				   rel.canary);
	}
	registry_from_conf(gr, c, now);
	gr->opts.threshold = c->graph.threshold;
	gr->opts.min_gap_ms = c->graph.min_gap_ms;
	gr->opts.k_gap = c->graph.k_gap;
	gr->opts.min_flows = c->graph.min_flows;
	gr->golden_bake_ms = c->graph.golden_bake_ms;
}

/* Take what the workers recorded. */
void
ug_drain(struct umbra_app *app)
{
	struct umbra_graph *gr = app->graph;
	struct graph_flow_record rec[64];
	struct dp_graph_dns d;

	for (uint16_t i = 0; i < app->dp.n_workers; i++) {
		struct dp_graph_worker *w = &app->dp.workers[i].graph;
		unsigned int taken = 0, n;

		while (taken < GRAPH_DRAIN &&
		       (n = rte_ring_sc_dequeue_burst_elem(w->flows, rec, sizeof(rec[0]),
							   RTE_DIM(rec), NULL)) > 0) {
			for (unsigned int j = 0; j < n; j++)
				graph_edges_add(gr->edges, &rec[j]);
			taken += n;
		}
		for (taken = 0; taken < GRAPH_DRAIN &&
		     rte_ring_sc_dequeue_elem(w->dns, &d, sizeof(d)) == 0; taken++) {
			static struct graph_dns_answer a;   /* 8 kB: off the stack */

			if (graph_dns_parse(d.data, d.len, d.ts_ms, &a) < 0) {
				gr->dns_bad++;
				continue;
			}
			gr->dns_answers++;
			graph_dns_add_answer(gr->dns, &a);
		}
	}
}

/* Canaries against their control, over the same window. */
static void
watch_canaries(struct umbra_app *app, const struct umbra_gen *g, uint64_t now)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = g->conf;

	for (uint32_t s = 0; s < CONF_MAX_SERVICES; s++) {
		struct graph_svc_watch *sw = gr->watch[s];
		uint16_t stage = s < c->n_services ? c->services[s].rollout.stage : 0;
		struct steer_release rel = { .canary = "" };

		if (s < c->n_services && steer_has_canary(g->steer, stage, (uint8_t)s))
			steer_release_of(g->steer, stage, (uint8_t)s, &rel);
		if (rel.canary[0] == '\0') {
			if (sw != NULL) {
				graph_watch_free(sw->w);
				free(sw);
				gr->watch[s] = NULL;
			}
			continue;
		}
		/* A new canary (or another version of it): a new window. */
		if (sw != NULL && (sw->stage != stage || strcmp(sw->canary, rel.canary) != 0)) {
			graph_watch_free(sw->w);
			free(sw);
			sw = gr->watch[s] = NULL;
		}
		if (sw == NULL) {
			sw = calloc(1, sizeof(*sw));
			if (sw == NULL || (sw->w = graph_watch_create(GRAPH_WATCH_EDGES)) == NULL) {
				free(sw);
				continue;
			}
			sw->stage = stage;
			snprintf(sw->canary, sizeof(sw->canary), "%s", rel.canary);
			graph_watch_start(sw->w, gr->edges, stage, (uint8_t)s, now);
			gr->watch[s] = sw;
			continue;
		}
		if (graph_watch_eval(sw->w, gr->edges, &gr->opts, &gr->names, now,
				     &sw->last) == 0) {
			sw->valid = true;
			sw->evals++;
			gr->deviations += sw->last.above;
		}
	}
}

static void
on_graph_poll(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_app *app = arg;
	struct umbra_graph *gr = app->graph;
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	uint64_t now = ug_now_ms(gr);

	(void)fd;
	(void)what;
	ug_drain(app);
	graph_dns_expire(gr->dns, now, 256);
	if (now >= gr->next_watch_ms) {
		graph_registry_expire(gr->reg, now);
		watch_canaries(app, g, now);
		ug_golden_auto(app, g, now);
		gr->next_watch_ms = now + GRAPH_WATCH_MS;
	}
}

/*
 * Canary watches across a new generation. A watch compares edges filtered
 * by its service's index, and the workers now record the new index: a
 * service that moved starts a new window there (at the next watch tick),
 * one that left ends its watch.
 */
static void
watches_follow(struct umbra_graph *gr, const struct graph_services *before)
{
	for (uint32_t s = 0; s < CONF_MAX_SERVICES; s++) {
		struct graph_svc_watch *sw = gr->watch[s];

		if (sw == NULL || strcmp(before->s[s].name, gr->names.s[s].name) == 0)
			continue;
		if (graph_services_find(&gr->names, before->s[s].name) < 0)
			printf("umbra: graph: %s left the configuration: the canary watch "
			       "of %s ends\n", before->s[s].name, sw->canary);
		graph_watch_free(sw->w);
		free(sw);
		gr->watch[s] = NULL;
	}
}

/* CTL_GRAPH: names, versions and options follow each generation, and
 * the per-service state its services (by name: added, removed, reordered). */
static int
graph_applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	struct umbra_app *app = ctx;
	struct umbra_graph *gr = app->graph;
	static struct graph_services before;   /* 32 kB: off the stack */

	(void)err;
	(void)errlen;
	before = gr->names;
	gen_changed(gr, a->gen, ug_now_ms(gr));
	watches_follow(gr, &before);
	ug_golden_follow(app, &before);
	ug_golden_conf_changed(app, a->gen->conf, &before);
	return 0;
}

int
umbra_graph_init(struct umbra_app *app, char *err, size_t errlen)
{
	const struct ctl_listener l = {
		.name = "graph", .applied = graph_applied, .ctx = app,
	};
	const struct timeval every = { 0, GRAPH_POLL_MS * 1000 };
	struct umbra_graph *gr = calloc(1, sizeof(*gr));
	/* Tables are sized once, from the configuration umbra starts with. */
	const struct conf_graph *cg = &gen_current(&app->dp.pub)->conf->graph;
	struct graph_dns_conf dc;

	app->graph = gr;
	if (gr == NULL)
		goto nomem;
	gr->tsc_per_ms = rte_get_tsc_hz() / 1000 ? rte_get_tsc_hz() / 1000 : 1;
	graph_dns_conf_default(&dc, cg->max_names);
	graph_diff_opts_default(&gr->opts);
	gr->edges = graph_edges_create(cg->max_edges);
	gr->dns = graph_dns_create(&dc);
	gr->reg = graph_registry_create(cg->max_registry);
	gr->golden = graph_golden_create(GRAPH_GOLDEN_GRAPHS, GRAPH_GOLDEN_EDGES);
	gr->snap = graph_snap_create(GRAPH_SNAP_EDGES);
	gr->ref = graph_snap_create(GRAPH_SNAP_EDGES);
	if (gr->edges == NULL || gr->dns == NULL || gr->reg == NULL || gr->golden == NULL ||
	    gr->snap == NULL || gr->ref == NULL)
		goto nomem;
	gen_changed(gr, gen_current(&app->dp.pub), ug_now_ms(gr));
	ug_golden_load(app);
	gr->poll = event_new(app->base, -1, EV_PERSIST, on_graph_poll, app);
	if (gr->poll == NULL || event_add(gr->poll, &every) != 0)
		goto nomem;
	/* Start-up's generation is already published (read above). */
	if (ctl_listen(&app->ctl, CTL_GRAPH, &l) < 0) {
		snprintf(err, errlen, "the dependency map cannot follow configuration changes");
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for the dependency map");
	return -1;
}

void
umbra_graph_fini(struct umbra_app *app)
{
	struct umbra_graph *gr = app->graph;

	if (gr == NULL)
		return;
	if (gr->poll != NULL)
		event_free(gr->poll);
	for (unsigned int s = 0; s < CONF_MAX_SERVICES; s++)
		if (gr->watch[s] != NULL) {
			graph_watch_free(gr->watch[s]->w);
			free(gr->watch[s]);
		}
	graph_edges_free(gr->edges);
	graph_dns_free(gr->dns);
	graph_registry_free(gr->reg);
	graph_golden_free(gr->golden);
	graph_snap_free(gr->snap);
	graph_snap_free(gr->ref);
	free(gr);
	app->graph = NULL;
}

int
umbra_graph_deviation(struct umbra_app *app, uint8_t service, struct graph_diff *out)
{
	const struct graph_svc_watch *sw;

	if (app->graph == NULL || service >= CONF_MAX_SERVICES)
		return -1;
	sw = app->graph->watch[service];
	if (sw == NULL || !sw->valid)
		return -1;
	*out = sw->last;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Metrics                                                             */

void
umbra_graph_metrics(struct umbra_app *app, FILE *f)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct graph_edges_info ei;
	struct graph_dns_info di;
	struct graph_registry_info ri;
	uint64_t w[5] = { 0 };

	if (gr == NULL)
		return;
	graph_edges_info(gr->edges, &ei);
	graph_dns_info(gr->dns, &di);
	graph_registry_info(gr->reg, &ri);
	for (uint16_t i = 0; i < app->dp.n_workers; i++) {
		const struct dp_counters *cnt = app->dp.workers[i].cnt;

		w[0] += cnt->graph_records;
		w[1] += cnt->graph_ring_full;
		w[2] += cnt->graph_over_budget;
		w[3] += cnt->graph_dns;
		w[4] += cnt->graph_dns_full;
	}
	{
		const struct { const char *name, *type; uint64_t v; } m[] = {
			{ "umbra_graph_edges", "gauge", ei.count },
			{ "umbra_graph_edges_capacity", "gauge", ei.capacity },
			{ "umbra_graph_memory_bytes", "gauge", ei.memory_bytes },
			{ "umbra_graph_edges_inserted_total", "counter", ei.inserted },
			{ "umbra_graph_edges_evicted_total", "counter", ei.evicted },
			{ "umbra_graph_records_total", "counter", ei.records },
			{ "umbra_graph_records_invalid_total", "counter", ei.invalid },
			{ "umbra_graph_worker_records_total", "counter", w[0] },
			{ "umbra_graph_worker_ring_full_total", "counter", w[1] },
			{ "umbra_graph_worker_over_budget_total", "counter", w[2] },
			{ "umbra_graph_worker_dns_total", "counter", w[3] },
			{ "umbra_graph_worker_dns_full_total", "counter", w[4] },
			{ "umbra_graph_dns_answers_total", "counter", gr->dns_answers },
			{ "umbra_graph_dns_unparsed_total", "counter", gr->dns_bad },
			{ "umbra_graph_dns_addresses", "gauge", di.addrs },
			{ "umbra_graph_dns_names", "gauge", di.names },
			{ "umbra_graph_dns_stale", "gauge", di.stale },
			{ "umbra_graph_registry_entries", "gauge", ri.count },
			{ "umbra_graph_deviations_total", "counter", gr->deviations },
			{ "umbra_graph_golden_auto_total", "counter", gr->golden_auto },
			{ "umbra_graph_golden_store_errors_total", "counter",
			  gr->golden_store_errors },
		};

		for (size_t i = 0; i < RTE_DIM(m); i++)
			fprintf(f, "# TYPE %s %s\n%s %" PRIu64 "\n", m[i].name, m[i].type,
				m[i].name, m[i].v);
	}
	/* One family at a time: Prometheus wants a family's samples together. */
	for (int k = 0; k < 3; k++) {
		static const char *const fam[3] = { "umbra_graph_deviation",
			"umbra_graph_deviation_new_share", "umbra_graph_deviation_missing_share" };

		fprintf(f, "# TYPE %s gauge\n", fam[k]);
		for (uint32_t s = 0; s < CONF_MAX_SERVICES && s < c->n_services; s++) {
			const struct graph_svc_watch *sw = gr->watch[s];

			if (sw == NULL || !sw->valid)
				continue;
			fprintf(f, "%s{service=\"%s\",version=\"%s\"} %.4f\n", fam[k],
				c->services[s].name, sw->canary,
				k == 0 ? sw->last.score : k == 1 ? sw->last.new_share :
				sw->last.missing_share);
		}
	}
}

