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
 * Commands: graph/record, graph/show, graph/diff, graph/golden, service/register,
 * service/deregister, service/list, service/report (also POST
 * /api/v1/<command>). Metrics: umbra_graph_metrics().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ring.h>

#include "steer.h"
#include "umbra.h"

/** How often the rings are drained, milliseconds. */
#define GRAPH_POLL_MS 10
/** How often canaries are scored against their control, milliseconds. */
#define GRAPH_WATCH_MS 250
/** Edges the table keeps (least recently sighted evicted past it). */
#define GRAPH_EDGES 65536
/** Addresses the DNS name cache maps. */
#define GRAPH_DNS_ADDRS 16384
/** Registry entries. */
#define GRAPH_REGISTRY 4096
/** Golden graphs kept, and their edges. */
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
	struct graph_golden *golden;
	struct graph_services names;
	struct graph_snap *snap, *ref;
	struct graph_diff diff;          /**< scratch of graph/diff */
	struct graph_diff_opts opts;
	struct graph_svc_watch *watch[CONF_MAX_SERVICES];
	struct event *poll;
	uint64_t gen_seen;
	uint64_t next_watch_ms;
	uint64_t tsc_per_ms;
	uint64_t dns_answers, dns_bad;
	uint64_t deviations;             /**< scores above the threshold */
};

static uint64_t
now_ms(const struct umbra_graph *gr)
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
	gr->gen_seen = g->id;
}

/* Take what the workers recorded. */
static void
drain(struct umbra_app *app)
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
	uint64_t now = now_ms(gr);

	(void)fd;
	(void)what;
	if (g->id != gr->gen_seen)
		gen_changed(gr, g, now);
	drain(app);
	graph_dns_expire(gr->dns, now, 256);
	if (now >= gr->next_watch_ms) {
		graph_registry_expire(gr->reg, now);
		watch_canaries(app, g, now);
		gr->next_watch_ms = now + GRAPH_WATCH_MS;
	}
}

int
umbra_graph_init(struct umbra_app *app, char *err, size_t errlen)
{
	const struct timeval every = { 0, GRAPH_POLL_MS * 1000 };
	struct umbra_graph *gr = calloc(1, sizeof(*gr));
	struct graph_dns_conf dc;

	app->graph = gr;
	if (gr == NULL)
		goto nomem;
	gr->tsc_per_ms = rte_get_tsc_hz() / 1000 ? rte_get_tsc_hz() / 1000 : 1;
	graph_dns_conf_default(&dc, GRAPH_DNS_ADDRS);
	graph_diff_opts_default(&gr->opts);
	gr->edges = graph_edges_create(GRAPH_EDGES);
	gr->dns = graph_dns_create(&dc);
	gr->reg = graph_registry_create(GRAPH_REGISTRY);
	gr->golden = graph_golden_create(GRAPH_GOLDEN_GRAPHS, GRAPH_GOLDEN_EDGES);
	gr->snap = graph_snap_create(GRAPH_SNAP_EDGES);
	gr->ref = graph_snap_create(GRAPH_SNAP_EDGES);
	if (gr->edges == NULL || gr->dns == NULL || gr->reg == NULL || gr->golden == NULL ||
	    gr->snap == NULL || gr->ref == NULL)
		goto nomem;
	gen_changed(gr, gen_current(&app->dp.pub), now_ms(gr));
	gr->poll = event_new(app->base, -1, EV_PERSIST, on_graph_poll, app);
	if (gr->poll == NULL || event_add(gr->poll, &every) != 0)
		goto nomem;
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
/* Commands                                                            */

static const char *
arg_str(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

/* stage= (required when @p need): a stage's index, or GRAPH_ANY. */
static int
stage_arg(struct umbra_app *app, json_t *args, bool need, uint16_t *stage,
	  struct mgmt_error *err)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *name = arg_str(args, "stage");
	int i;

	*stage = GRAPH_ANY;
	if (name == NULL) {
		if (need)
			mgmt_fail(err, NULL, "stage= is needed (a stage of the configuration)");
		return need ? -1 : 0;
	}
	i = conf_stage_index(c, name);
	if (i < 0) {
		mgmt_fail(err, NULL, "no stage '%s' in the configuration", name);
		return -1;
	}
	*stage = (uint16_t)i;
	return 0;
}

static int
service_arg(struct umbra_app *app, json_t *args, uint16_t *svc, struct mgmt_error *err)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *name = arg_str(args, "service");

	*svc = GRAPH_ANY;
	if (name == NULL)
		return 0;
	for (uint32_t s = 0; s < c->n_services; s++)
		if (strcmp(c->services[s].name, name) == 0) {
			*svc = (uint16_t)s;
			return 0;
		}
	mgmt_fail(err, NULL, "no service '%s' in the configuration", name);
	return -1;
}

static const char *
stage_name(const struct umbra_conf *c, uint16_t stage)
{
	return stage < c->n_stages ? c->stages[stage].name : "any";
}

static const char *
proto_name(uint8_t proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" :
	       proto == 58 ? "icmpv6" : "other";
}

static void
namer_of(struct umbra_graph *gr, struct graph_namer *n)
{
	*n = (struct graph_namer){ .services = &gr->names, .registry = gr->reg,
				   .dns = gr->dns, .now_ms = now_ms(gr) };
}

static json_t *
key_json(const struct graph_namer *n, const struct umbra_conf *c, const struct graph_key *k)
{
	char client[GRAPH_DNS_NAME_MAX], server[GRAPH_DNS_NAME_MAX], ip[64];
	enum graph_name_src cs = graph_name_client(n, k, client, sizeof(client));
	enum graph_name_src ss = graph_name_server(n, k->stage, k->family, k->server,
						   k->server_port, server, sizeof(server));

	graph_addr_str(k->family, k->server, ip, sizeof(ip));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}",
			 "client", client, "client_source", graph_name_src_names[cs],
			 "server", server, "server_source", graph_name_src_names[ss],
			 "server_ip", ip, "port", (int)k->server_port,
			 "proto", proto_name(k->proto), "stage", stage_name(c, k->stage));
}

static json_t *
snap_json(struct umbra_graph *gr, const struct umbra_conf *c, const struct graph_snap *s)
{
	struct graph_namer n;
	json_t *edges = json_array();

	namer_of(gr, &n);
	for (uint32_t i = 0; i < s->n; i++) {
		const struct graph_snap_edge *e = &s->e[i];
		json_t *o = key_json(&n, c, &e->key);

		json_object_update_new(o, json_pack(
			"{s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i}",
			"flows", (json_int_t)e->st.flows, "bytes", (json_int_t)e->st.bytes,
			"first_ms", (json_int_t)e->st.first_ms,
			"last_ms", (json_int_t)e->st.last_ms,
			"errors", (int)e->st.errors, "resets", (int)e->st.resets,
			"rtt_avg_us", (int)e->st.rtt_avg_us, "rtt_max_us", (int)e->st.rtt_max_us,
			"max_gap_ms", (int)e->st.max_gap_ms, "active", (int)e->st.active));
		json_array_append_new(edges, o);
	}
	return json_pack("{s:o,s:I,s:I,s:i,s:I}", "edges", edges,
			 "flows", (json_int_t)s->flows, "bytes", (json_int_t)s->bytes,
			 "truncated", (int)s->truncated, "taken_ms", (json_int_t)s->taken_ms);
}

static json_t *
dot_json(struct umbra_graph *gr, const struct graph_snap *s, const struct graph_diff *marks,
	 struct mgmt_error *err)
{
	struct graph_namer n;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *o;

	namer_of(gr, &n);
	if (f == NULL || graph_dot_write(f, s, &n, marks) < 0) {
		if (f != NULL)
			fclose(f);
		free(text);
		mgmt_fail(err, NULL, "out of memory for the DOT text");
		return NULL;
	}
	fclose(f);
	o = json_pack("{s:s%}", "dot", text, len);
	free(text);
	return o;
}

/* format=: json (default) or dot. @return 0 json, 1 dot, -1 refused. */
static int
format_arg(json_t *args, struct mgmt_error *err)
{
	const char *f = arg_str(args, "format");

	if (f == NULL || strcmp(f, "json") == 0)
		return 0;
	if (strcmp(f, "dot") == 0)
		return 1;
	mgmt_fail(err, NULL, "format= is json or dot, not '%s'", f);
	return -1;
}

static json_t *
cmd_graph_show(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct graph_filter f = { .cohort = GRAPH_ANY };
	int fmt = format_arg(args, err);
	json_t *o;

	if (fmt < 0 || stage_arg(app, args, false, &f.stage, err) < 0 ||
	    service_arg(app, args, &f.service, err) < 0)
		return NULL;
	drain(app);
	graph_snap_take(gr->edges, &f, now_ms(gr), gr->snap);
	if (fmt == 1)
		return dot_json(gr, gr->snap, NULL, err);
	o = snap_json(gr, c, gr->snap);
	json_object_set_new(o, "stage", json_string(stage_name(c, f.stage)));
	return o;
}

/* graph/record enabled=true|false: the workers report new flows, or not. */
static json_t *
cmd_graph_record(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *en = json_object_get(args, "enabled");

	if (en != NULL) {
		if (!json_is_boolean(en)) {
			mgmt_fail(err, NULL, "enabled= is true or false");
			return NULL;
		}
		for (uint16_t i = 0; i < app->dp.n_workers; i++)
			__atomic_store_n(&app->dp.workers[i].graph.paused,
					 (uint8_t)!json_is_true(en), __ATOMIC_RELAXED);
	}
	return json_pack("{s:b}", "enabled", app->dp.n_workers == 0 ||
			 !__atomic_load_n(&app->dp.workers[0].graph.paused, __ATOMIC_RELAXED));
}

static json_t *
diff_json(struct umbra_graph *gr, const struct umbra_conf *c, const struct graph_diff *d)
{
	struct graph_namer n;
	json_t *list = json_array();

	namer_of(gr, &n);
	for (uint32_t i = 0; i < d->n_listed; i++) {
		const struct graph_diff_edge *e = &d->list[i];
		json_t *o = key_json(&n, c, &e->key);

		json_object_update_new(o, json_pack("{s:s,s:f,s:I,s:I,s:I}",
			"change", graph_change_names[e->change], "weight", e->weight,
			"ref_flows", (json_int_t)e->ref_flows,
			"cur_flows", (json_int_t)e->cur_flows,
			"silent_ms", (json_int_t)e->silent_ms));
		json_array_append_new(list, o);
	}
	return json_pack("{s:f,s:f,s:f,s:b,s:s,s:s,s:s,s:i,s:i,s:{s:i,s:i,s:i,s:i},s:o}",
		"score", d->score, "missing_share", d->missing_share,
		"new_share", d->new_share, "above", d->above,
		"mode", graph_dev_mode_name(d->mode), "service", d->service_name,
		"version", d->version, "ref_edges", (int)d->n_ref, "cur_edges", (int)d->n_cur,
		"count", "new", (int)d->count[GRAPH_CHANGE_NEW],
		"missing", (int)d->count[GRAPH_CHANGE_MISSING],
		"changed", (int)d->count[GRAPH_CHANGE_CHANGED],
		"pending", (int)d->count[GRAPH_CHANGE_PENDING], "edges", list);
}

static json_t *
cmd_graph_diff(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *against = arg_str(args, "against");
	json_int_t version = json_integer_value(json_object_get(args, "version"));
	json_t *min_gap = json_object_get(args, "min_gap_ms");
	json_t *min_flows = json_object_get(args, "min_flows");
	struct graph_filter f = { .cohort = GRAPH_ANY };
	struct graph_diff_opts opts = gr->opts;
	const struct graph_snap *ref;
	int fmt = format_arg(args, err);
	json_t *o;

	if (fmt < 0 || stage_arg(app, args, true, &f.stage, err) < 0 ||
	    service_arg(app, args, &f.service, err) < 0)
		return NULL;
	/* An edge is new or missing only after k x max(its gap, min_gap_ms)
	 * of reference or silence: shorter for a quick look. */
	if (min_gap != NULL) {
		if (json_integer_value(min_gap) < 1 || json_integer_value(min_gap) > 86400000) {
			mgmt_fail(err, NULL, "min_gap_ms= is 1 .. 86400000");
			return NULL;
		}
		opts.min_gap_ms = (uint32_t)json_integer_value(min_gap);
	}
	if (min_flows != NULL) {
		if (json_integer_value(min_flows) < 1 || json_integer_value(min_flows) > 1000000) {
			mgmt_fail(err, NULL, "min_flows= is 1 .. 1000000");
			return NULL;
		}
		opts.min_flows = (uint32_t)json_integer_value(min_flows);
	}
	if (against == NULL)
		against = "golden";
	drain(app);
	if (strcmp(against, "golden") == 0) {
		if (version < 0 || version > UINT32_MAX) {
			mgmt_fail(err, NULL, "version= is a golden version (1, 2, ...; 0 the latest)");
			return NULL;
		}
		ref = graph_golden_get(gr->golden, f.stage, (uint32_t)version);
		if (ref == NULL) {
			mgmt_fail(err, NULL, "no golden graph%s of stage '%s': graph/golden "
				  "action=save stage=%s captures one", version ? " of that version" : "",
				  stage_name(c, f.stage), stage_name(c, f.stage));
			return NULL;
		}
		f.service = GRAPH_ANY;
		graph_snap_take(gr->edges, &f, now_ms(gr), gr->snap);
	} else if (strcmp(against, "control") == 0) {
		if (f.service == GRAPH_ANY) {
			mgmt_fail(err, NULL, "against=control needs service= (its canary "
				  "cohort is compared with its control cohort)");
			return NULL;
		}
		f.cohort = GRAPH_COHORT_CONTROL;
		graph_snap_take(gr->edges, &f, now_ms(gr), gr->ref);
		f.cohort = GRAPH_COHORT_CANARY;
		graph_snap_take(gr->edges, &f, now_ms(gr), gr->snap);
		ref = gr->ref;
	} else {
		mgmt_fail(err, NULL, "against= is golden or control, not '%s'", against);
		return NULL;
	}
	if (graph_diff(ref, gr->snap, &opts, &gr->names, &gr->diff) < 0) {
		mgmt_fail(err, NULL, "the graphs cannot be compared");
		return NULL;
	}
	if (fmt == 1)
		return dot_json(gr, gr->snap, &gr->diff, err);
	o = diff_json(gr, c, &gr->diff);
	json_object_set_new(o, "against", json_string(against));
	json_object_set_new(o, "stage", json_string(stage_name(c, f.stage)));
	if (strcmp(against, "golden") == 0)
		json_object_set_new(o, "golden_version", json_integer(ref->version));
	return o;
}

static json_t *
golden_info_json(const struct umbra_conf *c, const struct graph_golden_info *i)
{
	return json_pack("{s:s,s:i,s:s,s:I,s:i,s:I,s:s}", "stage", stage_name(c, i->stage),
			 "version", (int)i->version, "origin", graph_golden_origin_names[i->origin],
			 "taken_ms", (json_int_t)i->taken_ms, "edges", (int)i->edges,
			 "flows", (json_int_t)i->flows, "label", i->label);
}

static json_t *
cmd_graph_golden(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *action = arg_str(args, "action");
	const char *label = arg_str(args, "label");
	json_int_t version = json_integer_value(json_object_get(args, "version"));
	struct graph_filter f = { .service = GRAPH_ANY, .cohort = GRAPH_ANY };
	struct graph_golden_info list[GRAPH_GOLDEN_GRAPHS];
	const struct graph_snap *s;
	json_t *a;
	unsigned int n;
	int v;

	if (strcmp(action, "list") == 0) {
		if (stage_arg(app, args, false, &f.stage, err) < 0)
			return NULL;
		n = graph_golden_list(gr->golden, f.stage, list, RTE_DIM(list));
		a = json_array();
		for (unsigned int i = 0; i < n && i < RTE_DIM(list); i++)
			json_array_append_new(a, golden_info_json(c, &list[i]));
		return json_pack("{s:o,s:I}", "golden", a,
				 "dropped", (json_int_t)graph_golden_dropped(gr->golden));
	}
	if (strcmp(action, "save") != 0 && strcmp(action, "show") != 0) {
		mgmt_fail(err, NULL, "action= is save, show or list, not '%s'", action);
		return NULL;
	}
	if (stage_arg(app, args, true, &f.stage, err) < 0)
		return NULL;
	if (strcmp(action, "show") == 0) {
		int fmt = format_arg(args, err);

		if (fmt < 0)
			return NULL;
		if (version < 0 || version > UINT32_MAX ||
		    (s = graph_golden_get(gr->golden, f.stage, (uint32_t)version)) == NULL) {
			mgmt_fail(err, NULL, "no golden graph of stage '%s'%s (graph/golden "
				  "action=list shows them)", stage_name(c, f.stage),
				  version ? " with that version" : "");
			return NULL;
		}
		if (fmt == 1)
			return dot_json(gr, s, NULL, err);
		a = snap_json(gr, c, s);
		json_object_set_new(a, "version", json_integer(s->version));
		json_object_set_new(a, "label", json_string(s->label));
		json_object_set_new(a, "stage", json_string(stage_name(c, f.stage)));
		return a;
	}
	drain(app);
	graph_snap_take(gr->edges, &f, now_ms(gr), gr->snap);
	v = graph_golden_save(gr->golden, gr->snap, GRAPH_GOLDEN_COMMAND, label ? label : "");
	if (v < 0) {
		mgmt_fail(err, NULL, v == -E2BIG ? "stage '%s' has more edges than a golden "
			  "graph holds (%u)" : "cannot save a golden graph of stage '%s'",
			  stage_name(c, f.stage), GRAPH_GOLDEN_EDGES);
		return NULL;
	}
	return json_pack("{s:s,s:i,s:i,s:I}", "stage", stage_name(c, f.stage), "version", v,
			 "edges", (int)gr->snap->n, "flows", (json_int_t)gr->snap->flows);
}

/* address= as text into (family, addr). @return 0, or -1. */
static int
addr_parse(const char *text, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

static json_t *
reg_entry_json(const struct umbra_conf *c, const struct graph_reg_entry *e, uint64_t now)
{
	char ip[64];

	graph_addr_str(e->family, e->addr, ip, sizeof(ip));
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:I}", "name", e->name,
			 "version", e->version, "stage", stage_name(c, e->stage),
			 "address", ip, "port", (int)e->port,
			 "source", graph_reg_source_names[e->source], "ttl_s", (int)e->ttl_s,
			 "expires_in_ms", (json_int_t)(e->expires_ms == UINT64_MAX ? -1 :
			 e->expires_ms > now ? (json_int_t)(e->expires_ms - now) : 0));
}

static json_t *
service_list_json(struct umbra_app *app, const char *name)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const struct graph_reg_entry *e;
	uint64_t now = now_ms(gr);
	uint32_t cursor = 0;
	json_t *a = json_array();

	graph_registry_expire(gr->reg, now);
	while ((e = graph_registry_next(gr->reg, &cursor)) != NULL)
		if (name == NULL || strcmp(name, e->name) == 0)
			json_array_append_new(a, reg_entry_json(c, e, now));
	return json_pack("{s:o}", "services", a);
}

/* name, stage, address, port, version, ttl_s into @p e. */
static int
reg_entry_of(struct umbra_app *app, json_t *args, struct graph_reg_entry *e,
	     struct mgmt_error *err)
{
	const char *name = arg_str(args, "name"), *version = arg_str(args, "version");
	json_int_t port = json_integer_value(json_object_get(args, "port"));
	json_t *ttl = json_object_get(args, "ttl_s");

	memset(e, 0, sizeof(*e));
	if (stage_arg(app, args, false, &e->stage, err) < 0)
		return -1;
	if (addr_parse(arg_str(args, "address"), &e->family, e->addr) < 0) {
		mgmt_fail(err, NULL, "address= is an IPv4 or IPv6 address, not '%s'",
			  arg_str(args, "address") ? arg_str(args, "address") : "");
		return -1;
	}
	if (port < 0 || port > 65535) {
		mgmt_fail(err, NULL, "port= is 0 (any) .. 65535");
		return -1;
	}
	e->port = (uint16_t)port;
	if (strlen(name) >= sizeof(e->name) ||
	    (version != NULL && strlen(version) >= sizeof(e->version))) {
		mgmt_fail(err, NULL, "name= is at most %zu characters, version= %zu",
			  sizeof(e->name) - 1, sizeof(e->version) - 1);
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->version, sizeof(e->version), "%s", version ? version : "");
	e->ttl_s = ttl == NULL ? 30 : (uint32_t)json_integer_value(ttl);
	if (ttl != NULL && (json_integer_value(ttl) < 1 || json_integer_value(ttl) > 86400)) {
		mgmt_fail(err, NULL, "ttl_s= is 1 .. 86400 seconds (renewed by registering again)");
		return -1;
	}
	return 0;
}

static json_t *
cmd_service_register(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct graph_reg_entry e;
	int rc;

	if (reg_entry_of(app, args, &e, err) < 0)
		return NULL;
	rc = graph_registry_register(app->graph->reg, &e, GRAPH_REG_API, now_ms(app->graph));
	if (rc == -ENOSPC) {
		mgmt_fail(err, NULL, "the service registry is full (%u entries)", GRAPH_REGISTRY);
		return NULL;
	}
	if (rc < 0) {
		mgmt_fail(err, NULL, "'%s' is no valid service name (letters, digits, '.', "
			  "'-', '_') or version", e.name);
		return NULL;
	}
	return service_list_json(app, e.name);
}

static json_t *
cmd_service_deregister(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = arg_str(args, "name"), *address = arg_str(args, "address");
	json_int_t port = json_integer_value(json_object_get(args, "port"));
	uint8_t family = 0, addr[16];
	uint16_t stage;
	unsigned int n;

	if (stage_arg(app, args, false, &stage, err) < 0)
		return NULL;
	if (address != NULL && addr_parse(address, &family, addr) < 0) {
		mgmt_fail(err, NULL, "address= is an IPv4 or IPv6 address, not '%s'", address);
		return NULL;
	}
	if (port < 0 || port > 65535) {
		mgmt_fail(err, NULL, "port= is 0 (any) .. 65535");
		return NULL;
	}
	n = graph_registry_deregister(app->graph->reg, name, stage, family,
				      address ? addr : NULL, (uint16_t)port);
	if (n == 0) {
		mgmt_fail(err, NULL, "no registered service '%s'%s (configured ones stay)",
			  name, address ? " at that address" : "");
		return NULL;
	}
	return json_pack("{s:i}", "removed", (int)n);
}

static json_t *
cmd_service_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	(void)err;
	return service_list_json(ctx, arg_str(args, "name"));
}

/* A host agent's report: [{"service":..,"ip":..,"port":..}, ...]. */
static json_t *
cmd_service_report(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *report = json_object_get(args, "report"), *item;
	struct graph_reg_entry e[64];
	size_t i;
	unsigned int taken;

	if (json_array_size(report) > RTE_DIM(e)) {
		mgmt_fail(err, NULL, "a report lists at most %zu services", RTE_DIM(e));
		return NULL;
	}
	json_array_foreach(report, i, item) {
		const char *svc = json_string_value(json_object_get(item, "service"));
		const char *ip = json_string_value(json_object_get(item, "ip"));
		json_t *port = json_object_get(item, "port");

		memset(&e[i], 0, sizeof(e[i]));
		if (!json_is_object(item) || svc == NULL || strlen(svc) >= sizeof(e[i].name) ||
		    addr_parse(ip, &e[i].family, e[i].addr) < 0 ||
		    (port != NULL && (!json_is_integer(port) || json_integer_value(port) < 0 ||
				      json_integer_value(port) > 65535))) {
			mgmt_fail(err, NULL, "report[%zu] is not {\"service\": name, \"ip\": "
				  "address, \"port\": 0..65535}", i);
			return NULL;
		}
		snprintf(e[i].name, sizeof(e[i].name), "%s", svc);
		e[i].port = (uint16_t)json_integer_value(port);
		e[i].stage = GRAPH_ANY;
	}
	taken = graph_registry_agent_report(app->graph->reg, e, (unsigned int)i,
					    GRAPH_AGENT_TTL_S, now_ms(app->graph));
	return json_pack("{s:i,s:i}", "taken", (int)taken, "refused", (int)(i - taken));
}

int
umbra_graph_register(struct umbra_app *app)
{
	static const struct mgmt_arg show_args[] = {
		{ "stage", MGMT_ARG_STRING, false },
		{ "service", MGMT_ARG_STRING, false },
		{ "format", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg diff_args[] = {
		{ "stage", MGMT_ARG_STRING, true },
		{ "against", MGMT_ARG_STRING, false },
		{ "service", MGMT_ARG_STRING, false },
		{ "version", MGMT_ARG_INTEGER, false },
		{ "format", MGMT_ARG_STRING, false },
		{ "min_gap_ms", MGMT_ARG_INTEGER, false },
		{ "min_flows", MGMT_ARG_INTEGER, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg golden_args[] = {
		{ "action", MGMT_ARG_STRING, true },
		{ "stage", MGMT_ARG_STRING, false },
		{ "label", MGMT_ARG_STRING, false },
		{ "version", MGMT_ARG_INTEGER, false },
		{ "format", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg register_args[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ "address", MGMT_ARG_STRING, true },
		{ "port", MGMT_ARG_INTEGER, false },
		{ "stage", MGMT_ARG_STRING, false },
		{ "version", MGMT_ARG_STRING, false },
		{ "ttl_s", MGMT_ARG_INTEGER, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg deregister_args[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ "address", MGMT_ARG_STRING, false },
		{ "port", MGMT_ARG_INTEGER, false },
		{ "stage", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg list_args[] = {
		{ "name", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg report_args[] = {
		{ "report", MGMT_ARG_ARRAY, true },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg record_args[] = {
		{ "enabled", MGMT_ARG_BOOLEAN, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "graph/record", "whether workers report new flows to the map "
		  "(enabled=true|false; flows already reported still send their END)",
		  record_args, cmd_graph_record },
		{ "graph/show", "the dependency map: edges with names (stage=, service=, "
		  "format=json|dot)", show_args, cmd_graph_show },
		{ "graph/diff", "a stage's graph against its golden graph, or a service's "
		  "canary cohort against its control (stage=, against=golden|control, "
		  "service=, version=, format=, min_gap_ms=, min_flows=)", diff_args,
		  cmd_graph_diff },
		{ "graph/golden", "golden graphs: action=save|show|list (stage=, label=, "
		  "version=, format=)", golden_args, cmd_graph_golden },
		{ "service/register", "register or renew a service instance (name=, "
		  "address=, port=, stage=, version=, ttl_s=)", register_args,
		  cmd_service_register },
		{ "service/deregister", "remove a service's registrations (name=, "
		  "address=, port=, stage=)", deregister_args, cmd_service_deregister },
		{ "service/list", "the service registry (name=)", list_args, cmd_service_list },
		{ "service/report", "a host agent's report: report=[{service, ip, port}]",
		  report_args, cmd_service_report },
	};

	return mgmt_register_table(app->mgmt, cmds, RTE_DIM(cmds), app);
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
