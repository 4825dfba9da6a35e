/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden graphs: a stage's dependency graph at a known-good point,
 * versioned per stage. The history database (lib/history, in the state
 * directory) is their store: a save is committed there first and numbered
 * by it, so versions and graphs survive a restart. It keeps each edge as
 * a row of named fields (addresses as text, a client service by its
 * name: indexes change with the configuration); a graph stored by an
 * older umbra as a blob of this build's memory layout is converted at
 * start, or dropped when unreadable, with a log line. The newest of each
 * stage are read back into memory at start (graph_golden, the cache the
 * comparisons read); an older version is read from the database when
 * asked for. Without a state directory they live in memory only.
 *
 * A golden graph is taken on command (graph/golden action=save) or
 * automatically: once a release's canary has held GO for graph:
 * golden_bake (60 s by default), its rollout stage's graph is saved with
 * origin "auto", naming the release. A bake follows its service by name
 * across configurations (reordered, added, removed: ug_golden_follow()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>

#include "history.h"
#include "umbra_graph_private.h"

/** Golden graphs graph/golden action=list shows at most (the newest). */
#define GOLDEN_LIST_MAX 1000

static enum graph_golden_origin
origin_of(const char *name)
{
	for (int i = 0; i < GRAPH_GOLDEN_ORIGIN_MAX; i++)
		if (strcmp(graph_golden_origin_names[i], name) == 0)
			return (enum graph_golden_origin)i;
	return GRAPH_GOLDEN_COMMAND;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Edges as stored                                                     */

/* Stored names of enum graph_client_kind, by value. */
static const char *const client_kinds[] = {
	[GRAPH_CLIENT_ADDR] = "addr",
	[GRAPH_CLIENT_SERVICE] = "service",
};

/* Edge @p x as a stored row. @return 0, or -1: its client service is not
 * in @p c (not storable by name). */
static int
edge_out(const struct umbra_conf *c, const struct graph_snap_edge *x,
	 struct history_golden_edge *o)
{
	const struct graph_key *k = &x->key;

	*o = (struct history_golden_edge){
		.port = k->server_port, .proto = k->proto,
		.flows = x->st.flows, .bytes = x->st.bytes,
		.first_ms = x->st.first_ms, .last_ms = x->st.last_ms,
		.errors = x->st.errors, .resets = x->st.resets,
		.rtt_avg_us = x->st.rtt_avg_us, .rtt_max_us = x->st.rtt_max_us,
		.max_gap_ms = x->st.max_gap_ms, .active = x->st.active,
	};
	if (k->client_kind >= RTE_DIM(client_kinds))
		return -1;
	snprintf(o->client_kind, sizeof(o->client_kind), "%s", client_kinds[k->client_kind]);
	if (k->client_kind == GRAPH_CLIENT_SERVICE) {
		if (k->client[0] >= c->n_services)
			return -1;
		snprintf(o->client, sizeof(o->client), "%s", c->services[k->client[0]].name);
	} else {
		graph_addr_str(k->family, k->client, o->client, sizeof(o->client));
	}
	graph_addr_str(k->family, k->server, o->server, sizeof(o->server));
	return 0;
}

/* An address's text into @p addr. @return its family (4, 6), or 0. */
static uint8_t
addr_in(const char *text, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, text, addr) == 1)
		return 4;
	return inet_pton(AF_INET6, text, addr) == 1 ? 6 : 0;
}

/* A stored row as an edge of stage @p stage. @return 0, or -1: its client
 * service is no longer configured, or an address does not read. */
static int
edge_in(const struct umbra_conf *c, const struct history_golden_edge *o, uint16_t stage,
	struct graph_snap_edge *x)
{
	struct graph_key *k = &x->key;
	uint8_t client[16];
	int svc;

	*x = (struct graph_snap_edge){
		.st = { .flows = o->flows, .bytes = o->bytes, .first_ms = o->first_ms,
			.last_ms = o->last_ms, .errors = o->errors, .resets = o->resets,
			.rtt_avg_us = o->rtt_avg_us, .rtt_max_us = o->rtt_max_us,
			.max_gap_ms = o->max_gap_ms, .active = o->active },
	};
	k->server_port = o->port;
	k->proto = o->proto;
	k->stage = stage;
	k->family = addr_in(o->server, k->server);
	if (k->family == 0)
		return -1;
	if (strcmp(o->client_kind, client_kinds[GRAPH_CLIENT_SERVICE]) == 0) {
		svc = conf_service_index(c, o->client);
		if (svc < 0 || svc > UINT8_MAX)
			return -1;
		k->client_kind = GRAPH_CLIENT_SERVICE;
		k->client[0] = (uint8_t)svc;
		return 0;
	}
	if (strcmp(o->client_kind, client_kinds[GRAPH_CLIENT_ADDR]) != 0 ||
	    addr_in(o->client, client) != k->family)
		return -1;
	k->client_kind = GRAPH_CLIENT_ADDR;
	memcpy(k->client, client, sizeof(client));
	return 0;
}

/*
 * @p s's edges as rows into @p g, with its totals; an edge whose client
 * service is not configured is left out, counted as truncated.
 * @return the rows (g->e; the caller frees them), or NULL: out of memory.
 */
static struct history_golden_edge *
golden_rows(const struct umbra_conf *c, const struct graph_snap *s, struct history_golden *g)
{
	struct history_golden_edge *e = malloc(((size_t)s->n + 1) * sizeof(*e));
	uint32_t n = 0;

	if (e == NULL)
		return NULL;
	for (uint32_t i = 0; i < s->n; i++)
		if (edge_out(c, &s->e[i], &e[n]) == 0)
			n++;
	g->e = e;
	g->edges = n;
	g->flows = s->flows;
	g->truncated = s->truncated + (s->n - n);
	g->from_ms = s->from_ms;
	g->taken_ms = s->taken_ms;
	return e;
}

/*
 * Stored rows @p g into @p s as stage @p stage's graph (version, origin
 * and label the caller's). Rows that no longer read (a service gone) are
 * left out and counted as truncated. @return 0, or -E2BIG.
 */
static int
golden_snap(const struct umbra_conf *c, const struct history_golden *g, uint16_t stage,
	    struct graph_snap *s)
{
	uint32_t n = 0;

	if (g->edges > s->cap)
		return -E2BIG;
	for (uint32_t i = 0; i < g->edges; i++)
		if (edge_in(c, &g->e[i], stage, &s->e[n]) == 0)
			n++;
	s->filter = (struct graph_filter){ .stage = stage, .service = GRAPH_ANY,
					   .cohort = GRAPH_ANY };
	s->n = n;
	s->truncated = g->truncated + (g->edges - n);
	s->from_ms = g->from_ms;
	s->taken_ms = g->taken_ms;
	/* Sorted by this build's key order, whatever order they were saved in. */
	graph_snap_sort(s);
	return 0;
}

/*
 * Save @p s as its stage's next golden graph: stored (and numbered) by
 * the database first, when there is one, then cached.
 * @return the version, or -E2BIG, -EIO (the database refused: @p why).
 */
static int
golden_store(struct umbra_app *app, const struct graph_snap *s,
	     enum graph_golden_origin origin, const char *label, const char *release,
	     char *why, size_t len)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct history *h = umbra_verdict_history(app);
	uint32_t version = 0;

	if (s->n > GRAPH_GOLDEN_EDGES)
		return -E2BIG;
	if (h != NULL) {
		struct history_golden g = {
			.stage = ug_stage_name(c, s->filter.stage),
			.origin = graph_golden_origin_names[origin], .label = label,
			.release = release, .at = wall_now(),
		};
		struct history_golden_edge *rows = golden_rows(c, s, &g);
		bool nomem = rows == NULL;
		int rc = -1;

		if (!nomem && history_golden_next_version(h, g.stage, &version) == 0) {
			g.version = version;
			rc = history_golden_save(h, &g);
		}
		free(rows);
		if (rc < 0) {
			gr->golden_store_errors++;
			snprintf(why, len, "%s", nomem ? "out of memory" : history_error(h));
			return -EIO;
		}
	}
	return graph_golden_put(gr->golden, s, version, origin, label);
}

/* ------------------------------------------------------------------ */
/* Reading back                                                        */

struct golden_read {
	struct umbra_app *app;
	struct graph_snap *into;     /* NULL: into the cache */
	unsigned int taken, refused;
};

static int
read_one(const struct history_golden *g, void *arg)
{
	struct golden_read *r = arg;
	struct umbra_graph *gr = r->app->graph;
	const struct umbra_conf *c = gen_current(&r->app->dp.pub)->conf;
	int stage = conf_stage_index(c, g->stage);
	struct graph_snap *s = r->into ? r->into : gr->ref;

	/* A stage no longer configured keeps its rows, unread. */
	if (stage < 0)
		return 0;
	/* A blob not converted yet (the conversion failed): this build's layout or nothing. */
	if (g->legacy ? graph_snap_unpack(g->legacy, g->legacy_len, (uint16_t)stage, s) < 0 :
	    golden_snap(c, g, (uint16_t)stage, s) < 0) {
		r->refused++;
		return 0;
	}
	s->version = g->version;
	s->origin = (uint8_t)origin_of(g->origin);
	snprintf(s->label, sizeof(s->label), "%s", g->label);
	if (r->into == NULL &&
	    graph_golden_put(gr->golden, s, g->version, origin_of(g->origin), g->label) < 0) {
		r->refused++;
		return 0;
	}
	r->taken++;
	return 0;
}

/* The conversion of schema-3 blobs; rows: the last graph's, freed by the next. */
struct golden_upgrade {
	struct umbra_app *app;
	struct history_golden_edge *rows;
};

/* A graph stored by schema 3 (a blob in this build's memory layout) as rows. */
static int
upgrade_one(const struct history_golden *old, struct history_golden *conv, void *arg)
{
	struct golden_upgrade *u = arg;
	struct umbra_graph *gr = u->app->graph;
	const struct umbra_conf *c = gen_current(&u->app->dp.pub)->conf;

	/* The stage's index does not matter: rows name the stage. */
	if (graph_snap_unpack(old->legacy, old->legacy_len, 0, gr->ref) < 0) {
		fprintf(stderr, "umbra: graph: golden graph %u of stage %s was stored by "
			"another build (a blob of its memory layout): unreadable, dropped\n",
			old->version, old->stage);
		return -1;
	}
	free(u->rows);
	u->rows = golden_rows(c, gr->ref, conv);
	return u->rows != NULL ? 0 : -2;   /* out of memory: kept for the next start */
}

/* Convert the golden graphs an older umbra stored as blobs, once. */
static void
golden_upgrade(struct umbra_app *app, struct history *h)
{
	struct golden_upgrade u = { .app = app };
	unsigned int converted, dropped;

	if (history_golden_upgrade(h, upgrade_one, &u, &converted, &dropped) < 0)
		fprintf(stderr, "umbra: graph: %s\n", history_error(h));
	free(u.rows);
	if (converted || dropped)
		printf("umbra: graph: %u golden graph(s) stored as blobs by an older umbra "
		       "(history schema 3) converted to rows, %u unreadable dropped\n",
		       converted, dropped);
}

/* FNV-1a over @p name and its NUL, on from @p x. */
static uint64_t
name_hash(uint64_t x, const char *name)
{
	for (const char *p = name; ; p++) {
		x = (x ^ (uint8_t)*p) * 0x100000001b3ULL;
		if (*p == '\0')
			return x;
	}
}

/* The stages' and services' names, hashed: the cache is by stage index,
 * and its edges name a client service by its index. */
static uint64_t
index_hash(const struct umbra_conf *c)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < c->n_stages; i++)
		x = name_hash(x, c->stages[i].name);
	x = name_hash(x, "");   /* stages [a] services [b] differ from [a, b] [] */
	for (uint32_t i = 0; i < c->n_services; i++)
		x = name_hash(x, c->services[i].name);
	return x;
}

/* The names the cache is indexed by: @p c's. */
static void
index_keep(struct umbra_graph *gr, const struct umbra_conf *c)
{
	gr->index_hash = index_hash(c);
	gr->n_stages = c->n_stages < CONF_MAX_STAGES ? c->n_stages : CONF_MAX_STAGES;
	for (uint32_t i = 0; i < gr->n_stages; i++)
		snprintf(gr->stages[i], sizeof(gr->stages[i]), "%s", c->stages[i].name);
}

void
ug_golden_load(struct umbra_app *app)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct history *h = umbra_verdict_history(app);
	struct golden_read r = { .app = app };
	/* Each stage's newest, its latest always among them. */
	unsigned int per_stage = c->n_stages ? GRAPH_GOLDEN_GRAPHS / c->n_stages : 1;

	index_keep(app->graph, c);
	if (h == NULL)
		return;
	golden_upgrade(app, h);
	for (uint32_t i = 0; i < c->n_stages; i++)
		if (history_golden_each(h, c->stages[i].name, 0, per_stage ? per_stage : 1, true,
					read_one, &r) < 0)
			fprintf(stderr, "umbra: graph: %s\n", history_error(h));
	if (r.taken || r.refused)
		printf("umbra: graph: %u golden graph(s) read back from the history%s\n",
		       r.taken, r.refused ? " (some refused: unreadable or too large)" : "");
	fflush(stdout);
}

/* No database to read them again from: the cached graphs renumbered by
 * name, from the indexes they were taken under to @p c's. */
static void
golden_renumber(struct umbra_graph *gr, const struct umbra_conf *c,
		const struct graph_services *before)
{
	uint16_t stage_to[CONF_MAX_STAGES];
	int16_t svc_to[GRAPH_SERVICES_MAX];

	for (uint32_t i = 0; i < gr->n_stages; i++) {
		int to = conf_stage_index(c, gr->stages[i]);

		stage_to[i] = to < 0 ? GRAPH_ANY : (uint16_t)to;
	}
	for (uint32_t i = 0; i < GRAPH_SERVICES_MAX; i++)
		svc_to[i] = (int16_t)graph_services_find(&gr->names, before->s[i].name);
	graph_golden_renumber(gr->golden, stage_to, gr->n_stages, svc_to, GRAPH_SERVICES_MAX);
	index_keep(gr, c);
}

void
ug_golden_conf_changed(struct umbra_app *app, const struct umbra_conf *c,
		       const struct graph_services *before)
{
	struct umbra_graph *gr = app->graph;
	struct graph_golden *fresh;

	/* Stages or services renumbered: the cached graphs' indexes are
	 * stale. Read them again from the database (the store, by names);
	 * without one, memory is all there is: renumbered in place. */
	if (index_hash(c) == gr->index_hash)
		return;
	if (umbra_verdict_history(app) == NULL) {
		golden_renumber(gr, c, before);
		return;
	}
	fresh = graph_golden_create(GRAPH_GOLDEN_GRAPHS, GRAPH_GOLDEN_EDGES);
	if (fresh == NULL) {
		fprintf(stderr, "umbra: graph: out of memory re-reading the golden graphs\n");
		return;
	}
	graph_golden_free(gr->golden);
	gr->golden = fresh;
	ug_golden_load(app);
}

const struct graph_snap *
ug_golden_get(struct umbra_app *app, uint16_t stage, uint32_t version,
	      struct graph_snap *scratch)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const struct graph_snap *s = graph_golden_get(gr->golden, stage, version);
	struct history *h = umbra_verdict_history(app);
	struct golden_read r = { .app = app, .into = scratch };

	/* Not cached (older than the newest, or pushed out): the database's. */
	if (s != NULL || h == NULL || stage >= c->n_stages)
		return s;
	if (history_golden_each(h, c->stages[stage].name, version, 1, true, read_one, &r) < 0)
		fprintf(stderr, "umbra: graph: %s\n", history_error(h));
	return r.taken ? scratch : NULL;
}

/* ------------------------------------------------------------------ */
/* Automatic capture                                                   */

/* Service @p si's release has held GO for golden_bake: its stage's graph. */
static void
auto_save(struct umbra_app *app, const struct umbra_conf *c, uint32_t si, uint64_t now)
{
	struct umbra_graph *gr = app->graph;
	struct graph_bake *b = &gr->bake[si];
	const struct conf_service *svc = &c->services[si];
	struct graph_filter f = { .stage = svc->rollout.stage, .service = GRAPH_ANY,
				  .cohort = GRAPH_ANY };
	char label[64], release[2 * CONF_VERSION_MAX + 2], why[256];
	int v;

	b->saved = true;
	snprintf(label, sizeof(label), "%s %s GO, baked %u s", svc->name, b->version,
		 gr->golden_bake_ms / 1000);
	snprintf(release, sizeof(release), "%s %s", svc->name, b->version);
	ug_drain(app);
	graph_snap_take(gr->edges, &f, now, gr->snap);
	v = golden_store(app, gr->snap, GRAPH_GOLDEN_AUTO, label, release, why, sizeof(why));
	if (v < 0) {
		fprintf(stderr, "umbra: graph: golden graph of %s after %s refused: %s\n",
			ug_stage_name(c, f.stage), release,
			v == -E2BIG ? "more edges than a golden graph holds" : why);
		return;
	}
	gr->golden_auto++;
	printf("umbra: graph: golden graph %d of stage %s taken: %s held GO %" PRIu64
	       " ms (%u edges)\n", v, ug_stage_name(c, f.stage), release,
	       now - b->go_since_ms, gr->snap->n);
	fflush(stdout);
}

void
ug_golden_auto(struct umbra_app *app, const struct umbra_gen *g, uint64_t now)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = g->conf;

	if (gr->golden_bake_ms == 0)
		return;
	for (uint32_t si = 0; si < c->n_services && si < CONF_MAX_SERVICES; si++) {
		char version[CONF_VERSION_MAX];
		bool go = umbra_verdict_at_go(app, (uint8_t)si, version, sizeof(version));

		if (graph_bake_tick(&gr->bake[si], go ? version : NULL, now, gr->golden_bake_ms))
			auto_save(app, c, si, now);
	}
}

void
ug_golden_follow(struct umbra_app *app, const struct graph_services *before)
{
	struct umbra_graph *gr = app->graph;

	for (uint32_t oi = 0; oi < CONF_MAX_SERVICES; oi++) {
		const struct graph_bake *b = &gr->bake[oi];

		if (b->go_since_ms != 0 && !b->saved &&
		    graph_services_find(&gr->names, before->s[oi].name) < 0)
			printf("umbra: graph: %s left the configuration: %s %s at GO, "
			       "its golden graph not taken\n", before->s[oi].name,
			       before->s[oi].name, b->version);
	}
	graph_bakes_follow(gr->bake, CONF_MAX_SERVICES, before, &gr->names);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* graph/golden                                                        */

static json_t *
info_json(const struct umbra_conf *c, const struct graph_golden_info *i)
{
	return json_pack("{s:s,s:i,s:s,s:I,s:i,s:I,s:s}", "stage", ug_stage_name(c, i->stage),
			 "version", (int)i->version, "origin", graph_golden_origin_names[i->origin],
			 "taken_ms", (json_int_t)i->taken_ms, "edges", (int)i->edges,
			 "flows", (json_int_t)i->flows, "label", i->label);
}

static int
list_one(const struct history_golden *g, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:i,s:s,s:f,s:i,s:I,s:s,s:s?}",
		"stage", g->stage, "version", (int)g->version, "origin", g->origin,
		"at", g->at, "edges", (int)g->edges, "flows", (json_int_t)g->flows,
		"label", g->label, "release", g->release));
	return 0;
}

static json_t *
golden_list(struct umbra_app *app, json_t *args, struct mgmt_error *err)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct history *h = umbra_verdict_history(app);
	struct graph_golden_info list[GRAPH_GOLDEN_GRAPHS];
	uint16_t stage;
	json_t *a = json_array();
	unsigned int n;

	if (ug_stage_arg(app, args, false, &stage, err) < 0) {
		json_decref(a);
		return NULL;
	}
	if (h != NULL) {
		if (history_golden_each(h, stage == GRAPH_ANY ? NULL : ug_stage_name(c, stage), 0,
					GOLDEN_LIST_MAX, false, list_one, a) < 0) {
			json_decref(a);
			mgmt_fail(err, NULL, "%s", history_error(h));
			return NULL;
		}
	} else {
		n = graph_golden_list(gr->golden, stage, list, RTE_DIM(list));
		for (unsigned int i = 0; i < n && i < RTE_DIM(list); i++)
			json_array_append_new(a, info_json(c, &list[i]));
	}
	return json_pack("{s:o,s:s,s:I}", "golden", a, "store", h ? "history" : "memory",
			 "dropped", (json_int_t)graph_golden_dropped(gr->golden));
}

static json_t *
golden_show(struct umbra_app *app, json_t *args, uint16_t stage, struct mgmt_error *err)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	json_int_t version = json_integer_value(json_object_get(args, "version"));
	int fmt = ug_format_arg(args, err);
	const struct graph_snap *s;
	json_t *o;

	if (fmt < 0)
		return NULL;
	if (version < 0 || version > UINT32_MAX ||
	    (s = ug_golden_get(app, stage, (uint32_t)version, gr->ref)) == NULL) {
		mgmt_fail(err, NULL, "no golden graph of stage '%s'%s (graph/golden "
			  "action=list shows them)", ug_stage_name(c, stage),
			  version ? " with that version" : "");
		return NULL;
	}
	if (fmt == 1)
		return ug_dot_json(gr, s, NULL, err);
	o = ug_snap_json(gr, c, s);
	json_object_set_new(o, "version", json_integer(s->version));
	json_object_set_new(o, "origin", json_string(graph_golden_origin_names[s->origin]));
	json_object_set_new(o, "label", json_string(s->label));
	json_object_set_new(o, "stage", json_string(ug_stage_name(c, stage)));
	return o;
}

static json_t *
golden_save(struct umbra_app *app, json_t *args, uint16_t stage, struct mgmt_error *err)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *label = ug_arg_str(args, "label");
	struct graph_filter f = { .stage = stage, .service = GRAPH_ANY, .cohort = GRAPH_ANY };
	char why[256];
	int v;

	ug_drain(app);
	graph_snap_take(gr->edges, &f, ug_now_ms(gr), gr->snap);
	v = golden_store(app, gr->snap, GRAPH_GOLDEN_COMMAND, label ? label : "", NULL, why,
			 sizeof(why));
	if (v == -E2BIG) {
		mgmt_fail(err, NULL, "stage '%s' has more edges than a golden graph holds (%u)",
			  ug_stage_name(c, stage), GRAPH_GOLDEN_EDGES);
		return NULL;
	}
	if (v < 0) {
		mgmt_fail(err, NULL, "cannot save a golden graph of stage '%s': %s",
			  ug_stage_name(c, stage), v == -EIO ? why : "refused");
		return NULL;
	}
	return json_pack("{s:s,s:i,s:i,s:I,s:s}", "stage", ug_stage_name(c, stage), "version", v,
			 "edges", (int)gr->snap->n, "flows", (json_int_t)gr->snap->flows,
			 "store", umbra_verdict_history(app) ? "history" : "memory");
}

json_t *
ug_cmd_graph_golden(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *action = ug_arg_str(args, "action");
	uint16_t stage;

	if (strcmp(action, "list") == 0)
		return golden_list(app, args, err);
	if (strcmp(action, "save") != 0 && strcmp(action, "show") != 0) {
		mgmt_fail(err, NULL, "action= is save, show or list, not '%s'", action);
		return NULL;
	}
	if (ug_stage_arg(app, args, true, &stage, err) < 0)
		return NULL;
	return strcmp(action, "show") == 0 ? golden_show(app, args, stage, err) :
	       golden_save(app, args, stage, err);
}
