/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Deviation: how far one graph has moved from a reference, as the
 * traffic-weighted share of its missing and new edges, with the edges
 * that changed and the component responsible; and the canary watch that
 * scores a service's canary cohort against its control cohort over the
 * same window, so that daily rhythms move both alike.
 *
 * What keeps clean runs at zero:
 *  - an edge counts (new or missing) only from min_flows flows on the
 *    side that has it: a one-off scan weighs nothing;
 *  - missing means silent longer than k x the edge's largest gap, the
 *    gap scaled by how much sparser the compared traffic is (a 5 %
 *    canary sees a 20 times longer gap on the same edge);
 *  - new means absent from the reference for as long, so an edge the
 *    control used a minute before the window is not new;
 *  - weights are traffic shares, so rare edges weigh little.
 */
#include <string.h>

#include "graph.h"
#include "graph_private.h"

const char *const graph_change_names[GRAPH_CHANGE_MAX] = {
#define CHANGE_NAME(id, name) name,
	GRAPH_CHANGES(CHANGE_NAME)
#undef CHANGE_NAME
};

/* Views sparser than this are not judged for missing edges at all. */
#define SCALE_MAX 1000.0

void
graph_diff_opts_default(struct graph_diff_opts *o)
{
	*o = (struct graph_diff_opts){
		.threshold = 0.20,
		.k_gap = 2.0,
		.min_gap_ms = 60000,
		.min_flows = 5,
		.change_ratio = 4.0,
		.change_lat_ratio = 2.0,
		.change_err_abs = 0.05,
		.weight = GRAPH_WEIGHT_FLOWS,
	};
}

const char *
graph_dev_mode_name(enum graph_dev_mode m)
{
	switch (m) {
	case GRAPH_DEV_OUTAGE: return "outage";
	case GRAPH_DEV_SECURITY: return "security";
	default: return "none";
	}
}

struct walk {
	const struct graph_diff_opts *o;
	const struct graph_snap *ref, *cur;
	uint64_t now;
	double w_ref, w_cur;      /* total weights */
	double scale_cur, scale_ref;
	double by_service[GRAPH_SERVICES_MAX];
	struct graph_diff *out;
};

static double
weight_of(const struct graph_diff_opts *o, const struct graph_edge_stats *st)
{
	return (double)(o->weight == GRAPH_WEIGHT_BYTES ? st->bytes : st->flows);
}

static double
total_weight(const struct graph_diff_opts *o, const struct graph_snap *s)
{
	return (double)(o->weight == GRAPH_WEIGHT_BYTES ? s->bytes : s->flows);
}

/* Flows per millisecond over what @p s covers. */
static double
rate_of(const struct graph_snap *s)
{
	uint64_t dur = s->taken_ms > s->from_ms ? s->taken_ms - s->from_ms : 0;

	return (double)s->flows / (double)(dur > 1000 ? dur : 1000);
}

/* How much sparser @p a's traffic is than @p b's (1 .. SCALE_MAX). */
static double
sparser(const struct graph_snap *a, const struct graph_snap *b)
{
	double ra = rate_of(a), rb = rate_of(b);

	if (ra <= 0)
		return SCALE_MAX;
	double s = rb / ra;

	return s < 1 ? 1 : s > SCALE_MAX ? SCALE_MAX : s;
}

static double
rate(uint64_t bad, uint64_t n)
{
	double r = n ? (double)bad / (double)n : 0;

	return r > 1 ? 1 : r;
}

/* List @p e if it is among the heaviest: scored changes first. */
static void
list_edge(struct graph_diff *d, const struct graph_diff_edge *e)
{
#define RANK(x) ((x)->weight + ((x)->change == GRAPH_CHANGE_NEW || \
				(x)->change == GRAPH_CHANGE_MISSING ? 2.0 : 0.0))
	if (d->n_listed < GRAPH_DIFF_LIST_MAX) {
		d->list[d->n_listed++] = *e;
		return;
	}
	uint32_t low = 0;

	for (uint32_t i = 1; i < d->n_listed; i++)
		if (RANK(&d->list[i]) < RANK(&d->list[low]))
			low = i;
	if (RANK(e) > RANK(&d->list[low]))
		d->list[low] = *e;
}

static int
rank_cmp(const void *a, const void *b)
{
	double ra = RANK((const struct graph_diff_edge *)a);
	double rb = RANK((const struct graph_diff_edge *)b);

	return ra < rb ? 1 : ra > rb ? -1 : 0;
#undef RANK
}

static void
record(struct walk *w, const struct graph_snap_edge *r, const struct graph_snap_edge *c,
       enum graph_change change, uint8_t why, double weight, uint64_t silent, uint32_t gap)
{
	struct graph_diff *d = w->out;
	struct graph_diff_edge e = {
		.key = (r ? r : c)->key, .change = (uint8_t)change, .why = why, .weight = weight,
		.ref_flows = r ? r->st.flows : 0, .cur_flows = c ? c->st.flows : 0,
		.ref_bytes = r ? r->st.bytes : 0, .cur_bytes = c ? c->st.bytes : 0,
		.silent_ms = silent, .gap_ms = gap,
	};

	if (w->cur->filter.cohort != GRAPH_ANY)
		e.key.cohort = (uint8_t)w->cur->filter.cohort;
	d->count[change]++;
	if (change == GRAPH_CHANGE_MISSING)
		d->missing_share += weight;
	else if (change == GRAPH_CHANGE_NEW)
		d->new_share += weight;
	if ((change == GRAPH_CHANGE_MISSING || change == GRAPH_CHANGE_NEW) &&
	    e.key.client_kind == GRAPH_CLIENT_SERVICE && e.key.client[0] < GRAPH_SERVICES_MAX)
		w->by_service[e.key.client[0]] += weight;
	list_edge(d, &e);
}

static uint64_t
since(uint64_t now, uint64_t a, uint64_t b)
{
	uint64_t last = a > b ? a : b;

	return now > last ? now - last : 0;
}

/* An edge both graphs use: did its errors, latency or share move? */
static uint8_t
moved(const struct walk *w, const struct graph_edge_stats *r, const struct graph_edge_stats *c,
      double wr, double wc)
{
	const struct graph_diff_opts *o = w->o;
	double er = rate(r->errors + r->resets, r->flows);
	double ec = rate(c->errors + c->resets, c->flows);
	uint8_t why = 0;

	if (ec - er >= o->change_err_abs && ec >= 2 * er)
		why |= GRAPH_CHG_ERRORS;
	if (r->rtt_avg_us && c->rtt_avg_us &&
	    (double)c->rtt_avg_us >= o->change_lat_ratio * (double)r->rtt_avg_us)
		why |= GRAPH_CHG_LATENCY;
	/* Shares of small edges swing by chance: only edges of 1 % or more. */
	if ((wr >= 0.01 || wc >= 0.01) &&
	    (wc >= o->change_ratio * wr || wr >= o->change_ratio * wc))
		why |= GRAPH_CHG_SHARE;
	return why;
}

/* One key, present in ref (@p r), cur (@p c) or both. */
static void
classify(struct walk *w, const struct graph_snap_edge *r, const struct graph_snap_edge *c)
{
	const struct graph_diff_opts *o = w->o;
	uint64_t rf = r ? r->st.flows : 0, cf = c ? c->st.flows : 0;
	double wr = r && w->w_ref > 0 ? weight_of(o, &r->st) / w->w_ref : 0;
	double wc = c && w->w_cur > 0 ? weight_of(o, &c->st) / w->w_cur : 0;
	uint32_t gap;

	if (rf >= o->min_flows && w->cur->flows > 0) {
		uint64_t silent = since(w->now, c ? c->st.last_ms : 0, w->cur->from_ms);

		if (graph_edge_silent(o, r->st.max_gap_ms, w->scale_cur, silent, &gap)) {
			record(w, r, c, GRAPH_CHANGE_MISSING, 0, wr, silent, gap);
			return;
		}
	}
	if (cf > 0 && rf == 0 && w->ref->flows > 0) {
		if (cf < o->min_flows) {
			record(w, r, c, GRAPH_CHANGE_PENDING, 0, wc, 0, 0);
			return;
		}
		uint64_t silent = since(w->now, r ? r->st.last_ms : 0, w->ref->from_ms);

		if (graph_edge_silent(o, c->st.max_gap_ms, w->scale_ref, silent, NULL))
			record(w, r, c, GRAPH_CHANGE_NEW, 0, wc, 0, 0);
		return;
	}
	if (rf >= o->min_flows && cf >= o->min_flows) {
		uint8_t why = moved(w, &r->st, &c->st, wr, wc);

		if (why)
			record(w, r, c, GRAPH_CHANGE_CHANGED, why, wc, 0, 0);
	}
}

/* Name the responsible component: cur's service, else the client
 * service that carries most of the scored change. */
static void
blame(struct walk *w, const struct graph_services *names)
{
	struct graph_diff *d = w->out;
	const struct graph_filter *f = &w->cur->filter;

	d->stage = f->stage;
	d->cohort = f->cohort != GRAPH_ANY ? (uint8_t)f->cohort : GRAPH_COHORT_CONTROL;
	d->service = f->service;
	if (d->service == GRAPH_ANY) {
		double best = 0;

		for (unsigned int s = 0; s < GRAPH_SERVICES_MAX; s++)
			if (w->by_service[s] > best) {
				best = w->by_service[s];
				d->service = (uint16_t)s;
			}
	}
	if (names && d->service < GRAPH_SERVICES_MAX) {
		const struct graph_service_name *n = &names->s[d->service];

		memcpy(d->service_name, n->name, sizeof(d->service_name));
		memcpy(d->version, n->version[d->cohort ? 1 : 0], sizeof(d->version));
	}
}

int
graph_diff(const struct graph_snap *ref, const struct graph_snap *cur,
	   const struct graph_diff_opts *o, const struct graph_services *names,
	   struct graph_diff *out)
{
	if (!ref || !cur || !o || !out)
		return -1;
	struct walk w = {
		.o = o, .ref = ref, .cur = cur, .out = out,
		.now = o->now_ms ? o->now_ms : cur->taken_ms,
		.w_ref = total_weight(o, ref), .w_cur = total_weight(o, cur),
		.scale_cur = sparser(cur, ref), .scale_ref = sparser(ref, cur),
	};
	uint32_t i = 0, j = 0;

	memset(out, 0, sizeof(*out));
	out->n_ref = ref->n;
	out->n_cur = cur->n;
	out->scale = w.scale_cur;
	/* Both are sorted by key: one merge walk. */
	while (i < ref->n || j < cur->n) {
		int c = i == ref->n ? 1 : j == cur->n ? -1 :
			memcmp(&ref->e[i].key, &cur->e[j].key, sizeof(struct graph_key));

		if (c < 0)
			classify(&w, &ref->e[i++], NULL);
		else if (c > 0)
			classify(&w, NULL, &cur->e[j++]);
		else
			classify(&w, &ref->e[i++], &cur->e[j++]);
	}
	qsort(out->list, out->n_listed, sizeof(out->list[0]), rank_cmp);
	out->score = out->missing_share + out->new_share;
	if (out->score > 1)
		out->score = 1;
	out->above = out->score > o->threshold;
	if (out->score > 0)
		out->mode = out->missing_share >= out->new_share ? GRAPH_DEV_OUTAGE :
								    GRAPH_DEV_SECURITY;
	blame(&w, names);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The canary watch                                                    */

struct graph_watch {
	struct graph_snap *base[2], *now[2], *delta[2];
	uint16_t stage;
	uint8_t service;
	bool started;
};

void
graph_watch_free(struct graph_watch *w)
{
	if (!w)
		return;
	for (int c = 0; c < 2; c++) {
		graph_snap_free(w->base[c]);
		graph_snap_free(w->now[c]);
		graph_snap_free(w->delta[c]);
	}
	free(w);
}

struct graph_watch *
graph_watch_create(uint32_t max_edges)
{
	struct graph_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	for (int c = 0; c < 2; c++) {
		w->base[c] = graph_snap_create(max_edges);
		w->now[c] = graph_snap_create(max_edges);
		w->delta[c] = graph_snap_create(max_edges);
		if (!w->base[c] || !w->now[c] || !w->delta[c]) {
			graph_watch_free(w);
			return NULL;
		}
	}
	return w;
}

static void
take_cohort(const struct graph_watch *w, const struct graph_edges *t, int cohort,
	    uint64_t now_ms, struct graph_snap *s)
{
	struct graph_filter f = { .stage = w->stage, .service = w->service,
				  .cohort = (uint16_t)cohort };

	graph_snap_take(t, &f, now_ms, s);
}

void
graph_watch_start(struct graph_watch *w, const struct graph_edges *t, uint16_t stage,
		  uint8_t service, uint64_t now_ms)
{
	w->stage = stage;
	w->service = service;
	for (int c = 0; c < 2; c++)
		take_cohort(w, t, c, now_ms, w->base[c]);
	w->started = true;
}

int
graph_watch_eval(struct graph_watch *w, const struct graph_edges *t,
		 const struct graph_diff_opts *o, const struct graph_services *names,
		 uint64_t now_ms, struct graph_diff *out)
{
	if (!w->started)
		return -1;
	struct graph_diff_opts oo = *o;

	for (int c = 0; c < 2; c++) {
		take_cohort(w, t, c, now_ms, w->now[c]);
		graph_snap_delta(w->now[c], w->base[c], w->delta[c]);
	}
	oo.now_ms = now_ms;
	return graph_diff(w->delta[GRAPH_COHORT_CONTROL], w->delta[GRAPH_COHORT_CANARY], &oo,
			  names, out);
}
