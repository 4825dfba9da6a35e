/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden graphs: a stage's dependency graph at a known-good point,
 * versioned per stage. The history database (lib/history, in the state
 * directory) is their store: a save is committed there first and numbered
 * by it, so versions and graphs survive a restart; the newest of each
 * stage are read back into memory at start (graph_golden, the cache the
 * comparisons read); an older version is read from the database when
 * asked for. Without a state directory they live in memory only.
 *
 * A golden graph is taken on command (graph/golden action=save) or
 * automatically: once a release's canary has held GO for graph:
 * golden_bake (60 s by default), its rollout stage's graph is saved with
 * origin "auto", naming the release.
 */
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
		const char *stage = ug_stage_name(c, s->filter.stage);
		size_t n = graph_snap_packed_size(s);
		void *buf = malloc(n);
		int rc = -1;

		if (buf != NULL && graph_snap_pack(s, buf, n) == n &&
		    history_golden_next_version(h, stage, &version) == 0)
			rc = history_golden_save(h, &(struct history_golden){
				.stage = stage, .version = version,
				.origin = graph_golden_origin_names[origin], .label = label,
				.release = release, .at = wall_now(), .edges = s->n,
				.flows = s->flows, .data = buf, .len = n });
		free(buf);
		if (rc < 0) {
			gr->golden_store_errors++;
			snprintf(why, len, "%s", buf == NULL ? "out of memory" : history_error(h));
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
	if (graph_snap_unpack(g->data, g->len, (uint16_t)stage, s) < 0) {
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

/* The stages' names, hashed (FNV-1a): the cache is by stage index. */
static uint64_t
stages_hash(const struct umbra_conf *c)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < c->n_stages; i++)
		for (const char *p = c->stages[i].name; ; p++) {
			x = (x ^ (uint8_t)*p) * 0x100000001b3ULL;
			if (*p == '\0')
				break;
		}
	return x;
}

void
ug_golden_load(struct umbra_app *app)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct history *h = umbra_verdict_history(app);
	struct golden_read r = { .app = app };
	/* Each stage's newest, its latest always among them. */
	unsigned int per_stage = c->n_stages ? GRAPH_GOLDEN_GRAPHS / c->n_stages : 1;

	app->graph->stages_hash = stages_hash(c);
	if (h == NULL)
		return;
	for (uint32_t i = 0; i < c->n_stages; i++)
		if (history_golden_each(h, c->stages[i].name, 0, per_stage ? per_stage : 1, true,
					read_one, &r) < 0)
			fprintf(stderr, "umbra: graph: %s\n", history_error(h));
	if (r.taken || r.refused)
		printf("umbra: graph: %u golden graph(s) read back from the history%s\n",
		       r.taken, r.refused ? " (some refused: another build's layout)" : "");
	fflush(stdout);
}

void
ug_golden_conf_changed(struct umbra_app *app, const struct umbra_conf *c)
{
	struct umbra_graph *gr = app->graph;
	struct graph_golden *fresh;

	/* Stages renumbered: the cached graphs' indexes are stale. Read them
	 * again from the database (the store); without one, memory is all
	 * there is and stays as it was. */
	if (stages_hash(c) == gr->stages_hash || umbra_verdict_history(app) == NULL)
		return;
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
		struct graph_bake *b = &gr->bake[si];
		char version[CONF_VERSION_MAX];

		if (!umbra_verdict_at_go(app, (uint8_t)si, version, sizeof(version))) {
			b->go_since_ms = 0;   /* GO must hold for the whole bake */
			continue;
		}
		if (strcmp(b->version, version) != 0) {
			*b = (struct graph_bake){ .go_since_ms = 0 };
			snprintf(b->version, sizeof(b->version), "%s", version);
		}
		if (b->saved)
			continue;
		if (b->go_since_ms == 0)
			b->go_since_ms = now;
		else if (now - b->go_since_ms >= gr->golden_bake_ms)
			auto_save(app, c, si, now);
	}
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
