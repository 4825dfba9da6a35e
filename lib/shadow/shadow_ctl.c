/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half: shadow profiles (the configuration's and run-time
 * ones), compiled into tables published through RCU; the workers' record
 * rings drained into the comparator; reports.
 *
 * A profile keeps its slot (and so its counters and its comparator
 * profile) for its life; a profile whose ttl ran out stays listed, ended,
 * with its final report, until it is deleted or its slot is needed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "gen.h"
#include "shadow.h"

enum profile_state {
	PROFILE_FREE = 0,
	PROFILE_ACTIVE,
	PROFILE_ENDED,
};

struct profile_entry {
	uint8_t state;          /* enum profile_state */
	bool from_conf;
	uint32_t uid;
	struct conf_shadow s;
	char *text;             /* run-time: as given, parsed again on a new config */
	char network[CONF_NAME_MAX];
	uint64_t start_tsc, end_tsc;
	double since, until;    /* wall clock; until 0: no ttl */
	json_t *final;          /* counters when it ended */
};

struct shadow_ctl {
	struct gen_table_pub *pub;
	struct shadow_worker **w;
	uint16_t n_workers;
	uint64_t tsc_hz;
	const struct umbra_conf *conf;
	struct profile_entry prof[CONF_MAX_SHADOWS];
	uint32_t next_uid;
	uint64_t version;
	struct compare_ctx *cmp;
	uint64_t compared;
	void (*on_change)(void *ctx);   /* after each publish */
	void *on_change_ctx;
};

/* ---- compile and publish ---------------------------------------- */

static void
target_compile(const struct conf_egress *e, struct shadow_profile *p, int i)
{
	p->port[i] = e->port;
	p->vlan[i] = e->vlan ? e->vlan : FLOW_VLAN_NONE;
	p->rewrite_mac[i] = e->rewrite_mac;
	memcpy(p->mac[i], e->next_hop_mac, 6);
}

static void
profile_compile(const struct shadow_ctl *sc, const struct profile_entry *e,
		uint8_t slot, struct shadow_profile *p)
{
	const struct conf_shadow *s = &e->s;

	memset(p, 0, sizeof(*p));
	p->uid = e->uid;
	p->index = slot;
	p->compare = s->compare;
	p->early_segments = s->early_segments;
	p->shed = s->shed;
	p->stage = s->stage;
	p->service = s->service;
	p->proto = s->proto;
	p->src = s->src;
	p->dst = s->dst;
	p->sport = s->sport;
	p->dport = s->dport;
	p->flow_threshold = flow_hash_threshold(s->fraction);
	p->seed = s->seed;
	p->end_tsc = e->end_tsc;
	p->rto = sc->tsc_hz / 5;        /* 200 ms, doubled per retry */
	p->handshake_timeout = sc->tsc_hz * 3;
	p->n_targets = s->has_control ? 2 : 1;
	target_compile(&s->egress, p, 0);
	if (s->has_control)
		target_compile(&s->control, p, 1);
	p->ignore.n = s->n_ignore;
	for (uint8_t i = 0; i < s->n_ignore && i < COMPARE_IGNORE_MAX; i++)
		snprintf(p->ignore.names[i], sizeof(p->ignore.names[i]), "%s",
			 s->ignore_headers[i]);
	if (s->max_pps) {
		struct rte_meter_srtcm_params mp = {
			.cir = s->max_pps, .cbs = s->burst ? s->burst : 1, .ebs = 0,
		};

		p->capped = rte_meter_srtcm_profile_config(&p->meter, &mp) == 0;
	}
}

static int
shadow_publish(struct shadow_ctl *sc)
{
	struct shadow_table *t = rte_zmalloc("umbra_shadow_table", sizeof(*t),
					     RTE_CACHE_LINE_SIZE);

	if (t == NULL)
		return -1;
	for (uint8_t i = 0; i < CONF_MAX_SHADOWS; i++)
		if (sc->prof[i].state == PROFILE_ACTIVE)
			profile_compile(sc, &sc->prof[i], i, &t->p[t->n++]);
	t->version = ++sc->version;
	gen_table_publish(sc->pub, t);
	if (sc->on_change != NULL)
		sc->on_change(sc->on_change_ctx);
	return 0;
}

/* ---- profiles ---------------------------------------------------- */

static int
profile_find(const struct shadow_ctl *sc, const char *name)
{
	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		if (sc->prof[i].state != PROFILE_FREE &&
		    strcmp(sc->prof[i].s.name, name) == 0)
			return i;
	return -1;
}

static void
profile_release(struct shadow_ctl *sc, int i)
{
	struct profile_entry *e = &sc->prof[i];

	free(e->text);
	json_decref(e->final);
	compare_reset(sc->cmp, (unsigned int)i);
	memset(e, 0, sizeof(*e));
}

/* A free slot, else the oldest ended profile's. */
static int
slot_take(struct shadow_ctl *sc)
{
	int oldest = -1;

	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		if (sc->prof[i].state == PROFILE_FREE)
			return i;
		if (sc->prof[i].state == PROFILE_ENDED &&
		    (oldest < 0 || sc->prof[i].until < sc->prof[oldest].until))
			oldest = i;
	}
	if (oldest >= 0)
		profile_release(sc, oldest);
	return oldest;
}

static int
profile_add(struct shadow_ctl *sc, const struct conf_shadow *s, bool from_conf,
	    const char *text, char *err, size_t errlen)
{
	int i = slot_take(sc);
	struct profile_entry *e;

	if (i < 0) {
		snprintf(err, errlen, "all %d shadow profiles are in use; delete one "
			 "first", CONF_MAX_SHADOWS);
		return -1;
	}
	e = &sc->prof[i];
	e->state = PROFILE_ACTIVE;
	e->from_conf = from_conf;
	e->uid = sc->next_uid++;
	e->s = *s;
	snprintf(e->network, sizeof(e->network), "%s", sc->conf->stages[s->stage].name);
	e->text = text ? strdup(text) : NULL;
	e->start_tsc = rte_rdtsc();
	e->since = gen_wall_clock();
	e->end_tsc = s->ttl_ns ? e->start_tsc + gen_ns_to_tsc(s->ttl_ns, sc->tsc_hz) : UINT64_MAX;
	e->until = s->ttl_ns ? e->since + s->ttl_ns / 1e9 : 0;
	compare_reset(sc->cmp, (unsigned int)i);
	return 0;
}

struct shadow_ctl *
shadow_ctl_create(struct gen_table_pub *pub, struct shadow_worker *const *w,
		  uint16_t n_workers, uint64_t tsc_hz, char *err, size_t errlen)
{
	struct compare_limits lim = {
		.pending_max = 65536, .endpoints_max = 256, .samples_max = 32,
		/* per exchange of a flow with evidence: up to three answers, the
		 * request and the addresses */
		.heads_max = 8192, .capture_max = 256, .capture_bytes = 256 * 1024,
		.timeout_us = 2000000,
	};
	struct shadow_ctl *sc = calloc(1, sizeof(*sc));

	if (sc == NULL || (sc->w = calloc(n_workers + 1, sizeof(*sc->w))) == NULL ||
	    (sc->cmp = compare_create(&lim, CONF_MAX_SHADOWS)) == NULL) {
		snprintf(err, errlen, "out of memory for shadow profiles");
		shadow_ctl_free(sc);
		return NULL;
	}
	sc->pub = pub;
	sc->n_workers = n_workers;
	memcpy(sc->w, w, n_workers * sizeof(*w));
	sc->tsc_hz = tsc_hz;
	sc->next_uid = 1;
	if (shadow_publish(sc) < 0) {
		snprintf(err, errlen, "out of memory for the shadow table");
		shadow_ctl_free(sc);
		return NULL;
	}
	return sc;
}

void
shadow_ctl_free(struct shadow_ctl *sc)
{
	if (sc == NULL)
		return;
	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		free(sc->prof[i].text);
		json_decref(sc->prof[i].final);
	}
	compare_free(sc->cmp);
	free(sc->w);
	free(sc);
}

int
shadow_ctl_set_conf(struct shadow_ctl *sc, const struct umbra_conf *c, char *err,
		    size_t errlen)
{
	sc->conf = c;
	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		if (sc->prof[i].state == PROFILE_ACTIVE && sc->prof[i].from_conf)
			profile_release(sc, i);
	for (uint32_t i = 0; i < c->n_shadows; i++) {
		int at = profile_find(sc, c->shadows[i].name);

		if (at >= 0)    /* a run-time profile of that name gives way */
			profile_release(sc, at);
		if (profile_add(sc, &c->shadows[i], true, NULL, err, errlen) < 0)
			return -1;
	}
	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		struct profile_entry *e = &sc->prof[i];
		char perr[256];

		/* Stage, service and port numbers may have moved. */
		if (e->state == PROFILE_ACTIVE && !e->from_conf &&
		    conf_shadow_parse(c, e->text, strlen(e->text), "shadow create",
				      &e->s, perr, sizeof(perr)) < 0)
			profile_release(sc, i);
	}
	return shadow_publish(sc);
}

int
shadow_ctl_create_profile(struct shadow_ctl *sc, const char *network,
			  const char *text, char *err, size_t errlen)
{
	struct conf_shadow s;

	if (conf_shadow_parse(sc->conf, text, strlen(text), "shadow create", &s,
			      err, errlen) < 0)
		return -1;
	if (network != NULL && strcmp(sc->conf->stages[s.stage].name, network) != 0) {
		snprintf(err, errlen, "profile '%s' shadows stage '%s', not network '%s'",
			 s.name, sc->conf->stages[s.stage].name, network);
		return -1;
	}
	if (profile_find(sc, s.name) >= 0) {
		snprintf(err, errlen, "a shadow profile '%s' exists; delete it first",
			 s.name);
		return -1;
	}
	if (profile_add(sc, &s, false, text, err, errlen) < 0)
		return -1;
	return shadow_publish(sc);
}

int
shadow_ctl_delete(struct shadow_ctl *sc, const char *name)
{
	int i = profile_find(sc, name);

	if (i < 0)
		return -1;
	profile_release(sc, i);
	return shadow_publish(sc);
}

/* ---- records and reports ----------------------------------------- */

static void
counters_sum(const struct shadow_ctl *sc, int slot, struct shadow_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint16_t w = 0; w < sc->n_workers; w++) {
		const struct shadow_counters *c = &sc->w[w]->cnt[slot];

		if (__atomic_load_n(&c->uid, __ATOMIC_ACQUIRE) != sc->prof[slot].uid)
			continue;
#define SHADOW_CNT_ADD(f, name) sum->f += c->f;
		SHADOW_COUNTERS(SHADOW_CNT_ADD)
#undef SHADOW_CNT_ADD
		for (int r = 0; r < SHADOW_TCP_R_MAX; r++)
			sum->ended[r] += c->ended[r];
	}
}

static json_t *
counters_json(const struct shadow_counters *c)
{
	json_t *o = json_object(), *g = json_object();

#define SHADOW_CNT_JSON(f, name) \
	json_object_set_new(o, name, json_integer((json_int_t)c->f));
	SHADOW_COUNTERS(SHADOW_CNT_JSON)
#undef SHADOW_CNT_JSON
	for (int r = 1; r < SHADOW_TCP_R_MAX; r++)
		if (c->ended[r])
			json_object_set_new(g, shadow_tcp_reason_name(r),
					    json_integer((json_int_t)c->ended[r]));
	json_object_set_new(o, "tcp_sessions_ended", g);
	return o;
}

static bool
profile_has_control(const struct shadow_ctl *sc, unsigned int slot)
{
	return slot < CONF_MAX_SHADOWS && sc->prof[slot].state != PROFILE_FREE &&
	       sc->prof[slot].s.has_control;
}

static void
rings_drain(struct shadow_ctl *sc, uint64_t now_us)
{
	struct compare_record rec[64];

	for (uint16_t w = 0; w < sc->n_workers; w++) {
		unsigned int n;

		do {
			n = rte_ring_sc_dequeue_burst_elem(sc->w[w]->records, rec,
							   sizeof(rec[0]), 64, NULL);
			for (unsigned int i = 0; i < n; i++)
				compare_add(sc->cmp, &rec[i],
					    profile_has_control(sc, rec[i].profile),
					    now_us);
		} while (n == 64);
	}
}

static json_t *profile_json(const struct shadow_ctl *sc, int i, bool full);

void
shadow_ctl_poll(struct shadow_ctl *sc, uint64_t now_tsc)
{
	uint64_t now_us = now_tsc / (sc->tsc_hz / 1000000);
	bool changed = false;

	rings_drain(sc, now_us);
	compare_expire(sc->cmp, now_us);
	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		struct profile_entry *e = &sc->prof[i];

		if (e->state == PROFILE_ACTIVE && e->end_tsc <= now_tsc) {
			e->state = PROFILE_ENDED;
			e->final = profile_json(sc, i, true);
			changed = true;
		}
	}
	if (changed)
		shadow_publish(sc);
	gen_table_reclaim(sc->pub);
}

static json_t *
profile_json(const struct shadow_ctl *sc, int i, bool full)
{
	static const char *const cmp_names[] = { "auto", "http", "dns", "bytes" };
	const struct profile_entry *e = &sc->prof[i];
	struct shadow_counters c;
	json_t *o;

	if (e->state == PROFILE_ENDED && e->final != NULL && full)
		return json_incref(e->final);
	o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:s, s:f, s:o}",
		"name", e->s.name, "network", e->network,
		"state", e->state == PROFILE_ACTIVE ? "active" : "ended",
		"origin", e->from_conf ? "config" : "runtime",
		"fraction", e->s.fraction, "seed", (int)e->s.seed,
		"compare", cmp_names[e->s.compare % 4], "since", e->since,
		"until", e->until ? json_real(e->until) : json_null());
	if (!full)
		return o;
	counters_sum(sc, i, &c);
	json_object_set_new(o, "counters", counters_json(&c));
	json_object_set_new(o, "comparison", compare_report_json(sc->cmp, (unsigned int)i));
	return o;
}

json_t *
shadow_ctl_list_json(const struct shadow_ctl *sc, const char *network)
{
	json_t *a = json_array();

	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		if (sc->prof[i].state != PROFILE_FREE &&
		    (network == NULL || strcmp(sc->prof[i].network, network) == 0))
			json_array_append_new(a, profile_json(sc, i, false));
	return a;
}

unsigned int
shadow_ctl_profiles(const struct shadow_ctl *sc, const char *network,
		    struct shadow_profile_info *out, unsigned int max)
{
	unsigned int n = 0;

	for (int i = 0; i < CONF_MAX_SHADOWS && n < max; i++) {
		const struct profile_entry *e = &sc->prof[i];

		if (e->state == PROFILE_FREE ||
		    (network != NULL && strcmp(e->network, network) != 0))
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", e->s.name);
		snprintf(out[n].network, sizeof(out[n].network), "%s", e->network);
		out[n].active = e->state == PROFILE_ACTIVE;
		out[n].from_conf = e->from_conf;
		n++;
	}
	return n;
}

json_t *
shadow_ctl_status_json(const struct shadow_ctl *sc, const char *name,
		       const char *network)
{
	json_t *a = json_array();

	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		const struct profile_entry *e = &sc->prof[i];

		if (e->state == PROFILE_FREE ||
		    (name != NULL && strcmp(e->s.name, name) != 0) ||
		    (network != NULL && strcmp(e->network, network) != 0))
			continue;
		json_array_append_new(a, profile_json(sc, i, true));
	}
	return a;
}

void
shadow_ctl_on_change(struct shadow_ctl *sc, void (*fn)(void *ctx), void *ctx)
{
	sc->on_change = fn;
	sc->on_change_ctx = ctx;
}

uint8_t
shadow_ctl_slot_of(void *ctx, const char *name)
{
	const struct shadow_ctl *sc = ctx;
	int i = profile_find(sc, name);

	return i >= 0 && sc->prof[i].state == PROFILE_ACTIVE ? (uint8_t)(i + 1) : 0;
}

const struct compare_ctx *
shadow_ctl_comparator(const struct shadow_ctl *sc, const char *name, unsigned int *slot)
{
	int i = name != NULL ? profile_find(sc, name) : -1;

	if (i < 0)
		return NULL;
	*slot = (unsigned int)i;
	return sc->cmp;
}

/*
 * Answer latency per profile and side as a Prometheus histogram: the
 * comparator's power-of-two buckets (bucket i: below 2^(i+1) us),
 * cumulative; runs of empty buckets are left out (implied), +Inf and
 * _count always written.
 */
static void
shadow_latency_metrics(const struct shadow_ctl *sc, FILE *out)
{
	static const char *const side_name[COMPARE_SIDES] = {
		[COMPARE_PROD] = "production", [COMPARE_SHADOW] = "shadow",
		[COMPARE_CONTROL] = "control",
	};
	struct compare_totals t;

	fprintf(out, "# HELP umbra_shadow_latency_seconds Answer latency of the exchanges "
		"compared, per profile and side.\n"
		"# TYPE umbra_shadow_latency_seconds histogram\n");
	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		const struct profile_entry *e = &sc->prof[i];

		if (e->state == PROFILE_FREE)
			continue;
		compare_totals(sc->cmp, (unsigned int)i, &t);
		for (unsigned int s = 0; s < COMPARE_SIDES; s++) {
			uint64_t cum = 0;

			if (s == COMPARE_CONTROL && !e->s.has_control)
				continue;
			for (unsigned int b = 0; b + 1 < COMPARE_LAT_BUCKETS; b++) {
				cum += t.lat[s][b];
				if (b > 0 && t.lat[s][b] == 0 && t.lat[s][b - 1] == 0 &&
				    t.lat[s][b + 1] == 0)
					continue;
				fprintf(out, "umbra_shadow_latency_seconds_bucket{profile=\"%s\","
					"side=\"%s\",le=\"%g\"} %" PRIu64 "\n", e->s.name,
					side_name[s], (double)(compare_lat_value(b) + 1) / 1e6, cum);
			}
			cum += t.lat[s][COMPARE_LAT_BUCKETS - 1];
			fprintf(out, "umbra_shadow_latency_seconds_bucket{profile=\"%s\",side=\"%s\","
				"le=\"+Inf\"} %" PRIu64 "\n", e->s.name, side_name[s], cum);
			fprintf(out, "umbra_shadow_latency_seconds_count{profile=\"%s\",side=\"%s\"} "
				"%" PRIu64 "\n", e->s.name, side_name[s], cum);
		}
	}
}

void
shadow_ctl_metrics(const struct shadow_ctl *sc, FILE *out)
{
	static const char *const totals[] = { "compared", "matches", "mismatches", "noisy" };

	/* One family after the other: Prometheus wants each contiguous. */
	fprintf(out, "# HELP umbra_shadow_packets_total Shadow profile counters, by what.\n"
		"# TYPE umbra_shadow_packets_total counter\n");
	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		const struct profile_entry *e = &sc->prof[i];
		struct shadow_counters c;

		if (e->state == PROFILE_FREE)
			continue;
		counters_sum(sc, i, &c);
#define SHADOW_CNT_METRIC(f, label) \
		fprintf(out, "umbra_shadow_packets_total{profile=\"%s\",what=\"" label \
			"\"} %" PRIu64 "\n", e->s.name, c.f);
		SHADOW_COUNTERS(SHADOW_CNT_METRIC)
#undef SHADOW_CNT_METRIC
	}
	fprintf(out, "# HELP umbra_shadow_exchanges_total Exchanges compared, by result.\n"
		"# TYPE umbra_shadow_exchanges_total counter\n");
	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		struct compare_totals t;

		if (sc->prof[i].state == PROFILE_FREE)
			continue;
		compare_totals(sc->cmp, (unsigned int)i, &t);
		const uint64_t n[] = { t.compared, t.matches, t.mismatches, t.noisy };

		for (size_t k = 0; k < RTE_DIM(totals); k++)
			fprintf(out, "umbra_shadow_exchanges_total{profile=\"%s\",result=\"%s\"} "
				"%" PRIu64 "\n", sc->prof[i].s.name, totals[k], n[k]);
	}
	shadow_latency_metrics(sc, out);
}

unsigned int
shadow_ctl_releases(const struct shadow_ctl *sc, struct shadow_release *out, unsigned int max)
{
	unsigned int n = 0;

	for (int i = 0; i < CONF_MAX_SHADOWS && n < max; i++) {
		const struct profile_entry *e = &sc->prof[i];

		if (e->state == PROFILE_FREE || e->s.service < 0 || e->s.version[0] == '\0')
			continue;
		struct shadow_release *r = &out[n++];

		snprintf(r->name, sizeof(r->name), "%s", e->s.name);
		snprintf(r->version, sizeof(r->version), "%s", e->s.version);
		r->uid = e->uid;
		r->service = e->s.service;
		r->active = e->state == PROFILE_ACTIVE;
		compare_totals(sc->cmp, (unsigned int)i, &r->totals);
	}
	return n;
}

uint64_t
shadow_ctl_compared(const struct shadow_ctl *sc)
{
	uint64_t n = 0;

	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		if (sc->prof[i].state != PROFILE_FREE) {
			struct compare_totals t;

			compare_totals(sc->cmp, (unsigned int)i, &t);
			n += t.compared;
		}
	return n;
}
