/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden graphs: versioned snapshots of a stage's graph taken at a
 * known-good point, in a preallocated store; and the periodic-edge rule
 * they are compared by.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "graph_private.h"

const char *const graph_golden_origin_names[GRAPH_GOLDEN_ORIGIN_MAX] = {
#define ORIGIN_NAME(id, name) name,
	GRAPH_GOLDEN_ORIGINS(ORIGIN_NAME)
#undef ORIGIN_NAME
};

struct graph_golden {
	uint32_t max_graphs, max_edges;
	struct graph_snap **g;
	uint64_t *seq;            /* save order; 0: slot free */
	uint64_t next_seq;
	uint64_t dropped;
	/* Last version given per stage: versions are never reused, even
	 * after their graph was dropped. */
	uint32_t last_version[GRAPH_ANY];
	uint32_t renumbered[GRAPH_ANY];   /* scratch of graph_golden_renumber() */
};

struct graph_golden *
graph_golden_create(uint32_t max_graphs, uint32_t max_edges)
{
	if (max_graphs == 0 || max_graphs > 4096 || max_edges == 0)
		return NULL;
	struct graph_golden *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->max_graphs = max_graphs;
	g->max_edges = max_edges;
	g->g = calloc(max_graphs, sizeof(*g->g));
	g->seq = calloc(max_graphs, sizeof(*g->seq));
	if (!g->g || !g->seq) {
		graph_golden_free(g);
		return NULL;
	}
	for (uint32_t i = 0; i < max_graphs; i++)
		if (!(g->g[i] = graph_snap_create(max_edges))) {
			graph_golden_free(g);
			return NULL;
		}
	return g;
}

void
graph_golden_free(struct graph_golden *g)
{
	if (!g)
		return;
	for (uint32_t i = 0; g->g && i < g->max_graphs; i++)
		graph_snap_free(g->g[i]);
	free(g->g);
	free(g->seq);
	free(g);
}

static bool
is_latest(const struct graph_golden *g, uint32_t i)
{
	return g->g[i]->version == g->last_version[g->g[i]->filter.stage];
}

/* A slot for a new graph: a free one, else the oldest that is not its
 * stage's latest (a stage keeps its reference while others churn), else
 * the oldest. */
static uint32_t
slot_for_save(struct graph_golden *g)
{
	uint32_t oldest = GX_NIL, oldest_old = GX_NIL;

	for (uint32_t i = 0; i < g->max_graphs; i++) {
		if (!g->seq[i])
			return i;
		if (oldest == GX_NIL || g->seq[i] < g->seq[oldest])
			oldest = i;
		if (!is_latest(g, i) && (oldest_old == GX_NIL || g->seq[i] < g->seq[oldest_old]))
			oldest_old = i;
	}
	g->dropped++;
	return oldest_old != GX_NIL ? oldest_old : oldest;
}

int
graph_golden_put(struct graph_golden *g, const struct graph_snap *s, uint32_t version,
		 enum graph_golden_origin origin, const char *label)
{
	uint16_t stage = s->filter.stage;

	if (stage == GRAPH_ANY || origin >= GRAPH_GOLDEN_ORIGIN_MAX)
		return -EINVAL;
	if (s->n > g->max_edges)
		return -E2BIG;
	if (version == 0)
		version = g->last_version[stage] + 1;
	else if (graph_golden_get(g, stage, version) != NULL)
		return -EINVAL;
	/* A version put out of order (read back oldest first, or numbered
	 * by the database) never lowers the stage's latest. */
	if (version > g->last_version[stage])
		g->last_version[stage] = version;
	uint32_t i = slot_for_save(g);
	struct graph_snap *d = g->g[i];

	graph_snap_copy(d, s);
	d->version = version;
	d->origin = (uint8_t)origin;
	snprintf(d->label, sizeof(d->label), "%s", label ? label : "");
	g->seq[i] = ++g->next_seq;
	return (int)d->version;
}

int
graph_golden_save(struct graph_golden *g, const struct graph_snap *s,
		  enum graph_golden_origin origin, const char *label)
{
	return graph_golden_put(g, s, 0, origin, label);
}

const struct graph_snap *
graph_golden_get(const struct graph_golden *g, uint16_t stage, uint32_t version)
{
	if (stage == GRAPH_ANY)
		return NULL;
	if (version == 0)
		version = g->last_version[stage];
	for (uint32_t i = 0; i < g->max_graphs; i++)
		if (g->seq[i] && g->g[i]->filter.stage == stage && g->g[i]->version == version)
			return g->g[i];
	return NULL;
}

unsigned int
graph_golden_list(const struct graph_golden *g, uint16_t stage,
		  struct graph_golden_info *out, unsigned int max)
{
	unsigned int n = 0;
	uint64_t after = 0;

	/* Oldest first: pick the next save in order each round (a store
	 * holds a few graphs, so the quadratic walk is nothing). */
	for (;;) {
		uint32_t best = GX_NIL;

		for (uint32_t i = 0; i < g->max_graphs; i++)
			if (g->seq[i] > after &&
			    (stage == GRAPH_ANY || g->g[i]->filter.stage == stage) &&
			    (best == GX_NIL || g->seq[i] < g->seq[best]))
				best = i;
		if (best == GX_NIL)
			return n;
		const struct graph_snap *s = g->g[best];

		if (n < max) {
			out[n] = (struct graph_golden_info){
				.stage = s->filter.stage, .version = s->version,
				.origin = s->origin,
				.taken_ms = s->taken_ms, .edges = s->n, .flows = s->flows,
			};
			memcpy(out[n].label, s->label, sizeof(out[n].label));
		}
		n++;
		after = g->seq[best];
	}
}

uint64_t
graph_golden_dropped(const struct graph_golden *g)
{
	return g->dropped;
}

/* Snapshot @p s's edges renumbered to stage @p stage and the new service
 * indexes; edges of a client service gone are left out. */
static void
snap_renumber(struct graph_snap *s, uint16_t stage, const int16_t *svc_to,
	      unsigned int n_svcs)
{
	uint32_t n = 0;

	s->filter.stage = stage;
	for (uint32_t i = 0; i < s->n; i++) {
		struct graph_snap_edge e = s->e[i];
		struct graph_key *k = &e.key;

		k->stage = stage;
		if (k->client_kind == GRAPH_CLIENT_SERVICE) {
			int to = k->client[0] < n_svcs ? svc_to[k->client[0]] : -1;

			if (to < 0 || to >= GRAPH_SERVICES_MAX) {
				s->truncated++;
				s->flows -= e.st.flows;
				s->bytes -= e.st.bytes;
				continue;
			}
			k->client[0] = (uint8_t)to;
		}
		s->e[n++] = e;
	}
	s->n = n;
	graph_snap_sort(s);
}

void
graph_golden_renumber(struct graph_golden *g, const uint16_t *stage_to, unsigned int n_stages,
		      const int16_t *svc_to, unsigned int n_svcs)
{
	uint32_t *to_last = g->renumbered;

	memset(to_last, 0, sizeof(g->renumbered));
	for (uint32_t i = 0; i < g->max_graphs; i++) {
		struct graph_snap *s = g->g[i];
		uint16_t old = s->filter.stage;
		uint16_t to = old < n_stages ? stage_to[old] : GRAPH_ANY;

		if (!g->seq[i])
			continue;
		if (to == GRAPH_ANY) {
			g->seq[i] = 0;
			continue;
		}
		snap_renumber(s, to, svc_to, n_svcs);
	}
	for (unsigned int old = 0; old < n_stages && old < GRAPH_ANY; old++)
		if (stage_to[old] != GRAPH_ANY && g->last_version[old] > to_last[stage_to[old]])
			to_last[stage_to[old]] = g->last_version[old];
	memcpy(g->last_version, to_last, sizeof(g->last_version));
}

bool
graph_bake_tick(struct graph_bake *b, const char *go_version, uint64_t now, uint32_t bake_ms)
{
	if (go_version == NULL) {
		b->go_since_ms = 0;   /* GO must hold for the whole bake */
		return false;
	}
	if (strcmp(b->version, go_version) != 0) {
		*b = (struct graph_bake){ .go_since_ms = 0 };
		snprintf(b->version, sizeof(b->version), "%s", go_version);
	}
	if (b->saved)
		return false;
	if (b->go_since_ms == 0) {
		b->go_since_ms = now;
		return false;
	}
	return now - b->go_since_ms >= bake_ms;
}

void
graph_bakes_follow(struct graph_bake *b, unsigned int n, const struct graph_services *before,
		   const struct graph_services *now)
{
	struct graph_bake moved[GRAPH_SERVICES_MAX];

	if (n > GRAPH_SERVICES_MAX)
		n = GRAPH_SERVICES_MAX;
	for (unsigned int ni = 0; ni < n; ni++) {
		int oi = graph_services_find(before, now->s[ni].name);

		moved[ni] = oi >= 0 && (unsigned int)oi < n ? b[oi] :
			    (struct graph_bake){ .go_since_ms = 0 };
	}
	memcpy(b, moved, n * sizeof(*b));
}

bool
graph_edge_silent(const struct graph_diff_opts *o, uint32_t max_gap_ms, double scale,
		  uint64_t silence_ms, uint32_t *gap_ms)
{
	/* A periodic edge (a job every few minutes) is learned by its
	 * largest gap; a sparser view of the same traffic (a canary with a
	 * share of the flows) sees proportionally longer gaps. */
	double gap = (double)max_gap_ms * (scale > 1 ? scale : 1);

	if (gap < o->min_gap_ms)
		gap = o->min_gap_ms;
	if (gap > UINT32_MAX)
		gap = UINT32_MAX;
	if (gap_ms)
		*gap_ms = (uint32_t)gap;
	return (double)silence_ms > o->k_gap * gap;
}
