/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half: the active rules (the configuration's, run-time ones
 * with leases, running chaos scenarios'), compiled into fault tables and
 * published through RCU; leases ended on time; reports.
 *
 * Every rule gets an id that is never reused and a slot that its state and
 * counters live in on each worker; slots are handed out round-robin so a
 * slot just freed is the last to be taken again. A rule's counters are the
 * sum, over workers, of its slot's counters whose uid is the rule's id.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "fault.h"
#include "gen.h"

/** Ended scenarios kept for reports. */
#define FAULT_ENDED_MAX 16

enum fault_origin {
	FAULT_ORIGIN_CONFIG = 0,
	FAULT_ORIGIN_RUNTIME,
	FAULT_ORIGIN_SCENARIO,
};

static const char *const origin_names[] = { "config", "runtime", "chaos" };

/* An active rule. */
struct fault_entry {
	bool used;
	uint8_t origin;         /* enum fault_origin */
	uint32_t id;
	int run;                /* index in fault_ctl.runs, or -1 */
	struct conf_fault f;
	char *text;             /* run-time: as given, parsed again on a new config */
	uint64_t start_tsc;
	uint64_t end_tsc;       /* UINT64_MAX: no lease */
	double since;           /* wall clock, seconds */
	double until;           /* 0: no lease */
};

/* A running chaos scenario. */
struct fault_run {
	bool active;
	char name[CONF_NAME_MAX];
	double since, until;
	uint64_t end_tsc;
};

struct fault_ctl {
	struct gen_table_pub *pub;
	struct fault_rule_counters **cnt;       /* per worker, [FAULT_MAX_RULES] */
	uint16_t n_workers;
	uint64_t tsc_hz;
	uint8_t (*shadow_slot)(void *ctx, const char *name);
	void *shadow_ctx;
	const struct umbra_conf *conf;  /* the current generation's */
	struct fault_entry rules[FAULT_MAX_RULES];      /* by slot */
	uint32_t next_id;
	uint16_t next_slot;
	uint64_t version;
	struct fault_run runs[CONF_MAX_SCENARIOS];
	json_t *ended;          /* array of ended scenario reports, newest last */
};

/* ---- compile and publish ---------------------------------------- */

static uint8_t
dir_mask_of(uint8_t direction)
{
	switch (direction) {
	case CONF_FAULT_TO_SERVER:
		return 1u << FLOW_DIR_ORIG;
	case CONF_FAULT_TO_CLIENT:
		return 1u << FLOW_DIR_REPLY;
	default:
		return (1u << FLOW_DIR_ORIG) | (1u << FLOW_DIR_REPLY);
	}
}

static void
rule_compile(const struct fault_ctl *fc, const struct fault_entry *e,
	     uint16_t slot, struct fault_rule *r)
{
	const struct conf_fault *f = &e->f;

	memset(r, 0, sizeof(*r));
	r->uid = e->id;
	r->slot = slot;
	r->kind = f->kind;
	r->dir_mask = dir_mask_of(f->direction);
	r->select = f->select;
	r->distribution = f->distribution;
	r->loss_model = f->loss_model;
	r->copies = f->copies;
	r->bits = f->bits;
	r->icmp_code = f->icmp_code;
	r->keep_order = f->keep_order;
	r->fix_checksum = f->fix_checksum;
	r->both_ways = f->both_ways;
	r->new_flows_only = f->new_flows_only;
	if (f->shadow[0] != '\0') {
		uint8_t slot = fc->shadow_slot ? fc->shadow_slot(fc->shadow_ctx, f->shadow) : 0;

		r->shadow = slot ? slot : FAULT_SHADOW_GONE;
	}
	r->stage = f->stage;
	r->from_stage = f->from_stage;
	r->service = f->service;
	r->proto = f->proto;
	r->src = f->src;
	r->dst = f->dst;
	r->sport = f->sport;
	r->dport = f->dport;
	r->threshold = fault_prob_threshold(f->probability);
	r->flow_threshold = flow_hash_threshold(f->probability);
	r->seed = f->seed;
	r->ge_p = fault_prob_threshold(f->ge_p);
	r->ge_r = fault_prob_threshold(f->ge_r);
	r->ge_loss_good = fault_prob_threshold(f->ge_loss_good);
	r->ge_loss_bad = fault_prob_threshold(f->ge_loss_bad);
	r->delay = gen_ns_to_tsc(f->delay_ns, fc->tsc_hz);
	r->jitter = gen_ns_to_tsc(f->jitter_ns, fc->tsc_hz);
	r->hold = gen_ns_to_tsc(f->hold_ns, fc->tsc_hz);
	r->start_tsc = e->start_tsc;
	r->end_tsc = e->end_tsc;
	if (f->kind == CONF_FAULT_BANDWIDTH) {
		/* Each worker polices its share of the rate. */
		struct rte_meter_srtcm_params mp = {
			.cir = f->rate_Bps / fc->n_workers,
			.cbs = f->burst_bytes,
			.ebs = 0,
		};

		if (mp.cir == 0)
			mp.cir = 1;
		rte_meter_srtcm_profile_config(&r->meter, &mp);
	}
}

/* Stacking order: kind first, then the order rules were added. */
static int
entry_order(const void *a, const void *b)
{
	const struct fault_entry *x = *(const struct fault_entry *const *)a;
	const struct fault_entry *y = *(const struct fault_entry *const *)b;

	if (x->f.kind != y->f.kind)
		return x->f.kind < y->f.kind ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id);
}

static int
fault_publish(struct fault_ctl *fc)
{
	const struct fault_entry *order[FAULT_MAX_RULES];
	struct fault_table *t;
	uint32_t n = 0;

	t = rte_zmalloc("umbra_fault_table", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (t == NULL)
		return -1;
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used)
			order[n++] = &fc->rules[s];
	qsort(order, n, sizeof(order[0]), entry_order);
	for (uint32_t i = 0; i < n; i++)
		rule_compile(fc, order[i], (uint16_t)(order[i] - fc->rules), &t->rules[i]);
	t->n_rules = n;
	t->version = ++fc->version;
	gen_table_publish(fc->pub, t);
	return 0;
}

/* ---- rules ------------------------------------------------------ */

static struct fault_entry *
slot_take(struct fault_ctl *fc)
{
	for (uint16_t i = 0; i < FAULT_MAX_RULES; i++) {
		uint16_t s = (uint16_t)((fc->next_slot + i) % FAULT_MAX_RULES);

		if (!fc->rules[s].used) {
			fc->next_slot = (uint16_t)((s + 1) % FAULT_MAX_RULES);
			memset(&fc->rules[s], 0, sizeof(fc->rules[s]));
			return &fc->rules[s];
		}
	}
	return NULL;
}

static void
entry_release(struct fault_entry *e)
{
	free(e->text);
	e->text = NULL;
	e->used = false;
}

/* Take a slot for @p f; @p lease_ns 0: no lease. NULL when all are taken. */
static struct fault_entry *
entry_add(struct fault_ctl *fc, const struct conf_fault *f, uint8_t origin,
	  int run, uint64_t lease_ns)
{
	struct fault_entry *e = slot_take(fc);

	if (e == NULL)
		return NULL;
	e->used = true;
	e->origin = origin;
	e->id = fc->next_id++;
	e->run = run;
	e->f = *f;
	e->start_tsc = rte_rdtsc();
	e->since = gen_wall_clock();
	e->end_tsc = lease_ns ? e->start_tsc + gen_ns_to_tsc(lease_ns, fc->tsc_hz) :
				UINT64_MAX;
	e->until = lease_ns ? e->since + lease_ns / 1e9 : 0;
	return e;
}

static void
rules_remove_where(struct fault_ctl *fc, uint8_t origin, int run)
{
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		struct fault_entry *e = &fc->rules[s];

		if (e->used && e->origin == origin && (run < 0 || e->run == run))
			entry_release(e);
	}
}

static uint32_t
free_slots(const struct fault_ctl *fc)
{
	uint32_t n = 0;

	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		n += !fc->rules[s].used;
	return n;
}

struct fault_ctl *
fault_ctl_create(struct gen_table_pub *pub,
		 struct fault_rule_counters *const *cnt, uint16_t n_workers,
		 uint64_t tsc_hz, char *err, size_t errlen)
{
	struct fault_ctl *fc = calloc(1, sizeof(*fc));

	if (fc == NULL) {
		snprintf(err, errlen, "out of memory for fault rules");
		return NULL;
	}
	fc->pub = pub;
	fc->n_workers = n_workers ? n_workers : 1;
	fc->cnt = calloc(fc->n_workers, sizeof(*fc->cnt));
	if (fc->cnt == NULL) {
		free(fc);
		snprintf(err, errlen, "out of memory for fault rules");
		return NULL;
	}
	for (uint16_t w = 0; w < n_workers; w++)
		fc->cnt[w] = cnt[w];
	fc->tsc_hz = tsc_hz;
	fc->next_id = 1;
	fc->ended = json_array();
	if (fault_publish(fc) < 0) {
		snprintf(err, errlen, "cannot set up the fault table: %s",
			 rte_strerror(rte_errno));
		fault_ctl_free(fc);
		return NULL;
	}
	return fc;
}

void
fault_ctl_refresh(struct fault_ctl *fc)
{
	fault_publish(fc);
}

void
fault_ctl_set_shadow_resolver(struct fault_ctl *fc,
			      uint8_t (*slot_of)(void *ctx, const char *name),
			      void *ctx)
{
	fc->shadow_slot = slot_of;
	fc->shadow_ctx = ctx;
	fault_publish(fc);
}

void
fault_ctl_free(struct fault_ctl *fc)
{
	if (fc == NULL)
		return;
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used)
			entry_release(&fc->rules[s]);
	json_decref(fc->ended);
	free(fc->cnt);
	free(fc);
}

/* Rules of scenario run @p run from the current configuration's definition. */
static int
run_rules_add(struct fault_ctl *fc, int run, uint64_t lease_ns, char *err,
	      size_t errlen)
{
	int si = conf_scenario_index(fc->conf, fc->runs[run].name);
	const struct conf_scenario *sc;

	if (si < 0) {
		snprintf(err, errlen, "no chaos scenario '%s' in the configuration",
			 fc->runs[run].name);
		return -1;
	}
	sc = &fc->conf->scenarios[si];
	if (sc->n_faults > free_slots(fc)) {
		snprintf(err, errlen, "scenario '%s' needs %u fault slots, %u are free",
			 sc->name, sc->n_faults, free_slots(fc));
		return -1;
	}
	for (uint32_t i = 0; i < sc->n_faults; i++)
		entry_add(fc, &sc->faults[i], FAULT_ORIGIN_SCENARIO, run, lease_ns);
	return 0;
}

/* Parse @p text against the current configuration into @p f. */
static int
runtime_parse(const struct fault_ctl *fc, const char *text, struct conf_fault *f,
	      char *err, size_t errlen)
{
	if (conf_fault_parse(fc->conf, text, strlen(text), "fault add", f, err,
			     errlen) < 0)
		return -1;
	if (f->duration_ns == 0)
		f->duration_ns = fc->conf->fault_policy.default_lease_ns;
	return 0;
}

static void
runtime_name(const struct fault_ctl *fc, struct conf_fault *f, uint32_t id)
{
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used && strcmp(fc->rules[s].f.name, f->name) == 0) {
			char base[CONF_NAME_MAX];

			snprintf(base, sizeof(base), "%s", f->name);
			snprintf(f->name, sizeof(f->name), "%.20s-%" PRIu32, base, id);
			return;
		}
}

uint32_t
fault_ctl_add(struct fault_ctl *fc, const char *text, char *err, size_t errlen)
{
	struct conf_fault f;
	struct fault_entry *e;

	if (runtime_parse(fc, text, &f, err, errlen) < 0)
		return 0;
	if (f.shadow[0] != '\0' &&
	    (fc->shadow_slot == NULL || fc->shadow_slot(fc->shadow_ctx, f.shadow) == 0)) {
		snprintf(err, errlen, "no active shadow profile '%s' (shadow list shows "
			 "them)", f.shadow);
		return 0;
	}
	runtime_name(fc, &f, fc->next_id);
	e = entry_add(fc, &f, FAULT_ORIGIN_RUNTIME, -1, f.duration_ns);
	if (e == NULL) {
		snprintf(err, errlen, "all %d fault slots are in use; "
			 "clear some with fault clear", FAULT_MAX_RULES);
		return 0;
	}
	e->text = strdup(text);
	if (e->text == NULL || fault_publish(fc) < 0) {
		entry_release(e);
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	return e->id;
}

int
fault_ctl_remove(struct fault_ctl *fc, uint32_t id)
{
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		struct fault_entry *e = &fc->rules[s];

		if (e->used && e->id == id && e->origin == FAULT_ORIGIN_RUNTIME) {
			entry_release(e);
			return fault_publish(fc);
		}
	}
	return -1;
}

static json_t *rule_json(const struct fault_ctl *fc, const struct fault_entry *e);

/* End run @p run: its rules go, a report of them stays. */
static void
run_end(struct fault_ctl *fc, int run, const char *why)
{
	struct fault_run *r = &fc->runs[run];
	json_t *rules = json_array();

	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used && fc->rules[s].run == run)
			json_array_append_new(rules, rule_json(fc, &fc->rules[s]));
	json_array_append_new(fc->ended, json_pack("{s:s, s:f, s:f, s:f, s:s, s:o}",
		"name", r->name, "since", r->since, "until", r->until,
		"ended", gen_wall_clock(), "why", why, "rules", rules));
	if (json_array_size(fc->ended) > FAULT_ENDED_MAX)
		json_array_remove(fc->ended, 0);
	rules_remove_where(fc, FAULT_ORIGIN_SCENARIO, run);
	r->active = false;
}

uint32_t
fault_ctl_clear_all(struct fault_ctl *fc)
{
	uint32_t n = 0;

	for (int i = 0; i < CONF_MAX_SCENARIOS; i++)
		if (fc->runs[i].active)
			run_end(fc, i, "cleared");
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used && fc->rules[s].origin == FAULT_ORIGIN_RUNTIME) {
			entry_release(&fc->rules[s]);
			n++;
		}
	fault_publish(fc);
	return n;
}

static int
run_find(const struct fault_ctl *fc, const char *name)
{
	for (int i = 0; i < CONF_MAX_SCENARIOS; i++)
		if (fc->runs[i].active && strcmp(fc->runs[i].name, name) == 0)
			return i;
	return -1;
}

int
fault_ctl_scenario_start(struct fault_ctl *fc, const char *name,
			 uint64_t duration_ns, char *err, size_t errlen)
{
	int si = conf_scenario_index(fc->conf, name), run = -1;
	const struct conf_fault_policy *pol = &fc->conf->fault_policy;

	if (si < 0) {
		snprintf(err, errlen, "no chaos scenario '%s' in the configuration", name);
		return -1;
	}
	if (run_find(fc, name) >= 0) {
		snprintf(err, errlen, "scenario '%s' is already running; stop it first", name);
		return -1;
	}
	if (duration_ns == 0)
		duration_ns = fc->conf->scenarios[si].duration_ns;
	if (duration_ns > pol->max_lease_ns) {
		snprintf(err, errlen, "duration %.0f s is over fault_policy.max_lease (%.0f s)",
			 duration_ns / 1e9, pol->max_lease_ns / 1e9);
		return -1;
	}
	for (int i = 0; i < CONF_MAX_SCENARIOS && run < 0; i++)
		if (!fc->runs[i].active)
			run = i;
	fc->runs[run] = (struct fault_run){ .active = true };
	snprintf(fc->runs[run].name, sizeof(fc->runs[run].name), "%s", name);
	if (run_rules_add(fc, run, duration_ns, err, errlen) < 0) {
		fc->runs[run].active = false;
		return -1;
	}
	fc->runs[run].since = gen_wall_clock();
	fc->runs[run].until = fc->runs[run].since + duration_ns / 1e9;
	fc->runs[run].end_tsc = rte_rdtsc() + gen_ns_to_tsc(duration_ns, fc->tsc_hz);
	return fault_publish(fc);
}

int
fault_ctl_scenario_stop(struct fault_ctl *fc, const char *name)
{
	int run = run_find(fc, name);

	if (run < 0)
		return -1;
	run_end(fc, run, "stopped");
	return fault_publish(fc);
}

uint64_t
fault_ctl_expire(struct fault_ctl *fc, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	bool changed = false;

	for (int i = 0; i < CONF_MAX_SCENARIOS; i++) {
		if (!fc->runs[i].active)
			continue;
		if (fc->runs[i].end_tsc <= now) {
			run_end(fc, i, "lapsed");
			changed = true;
		} else if (fc->runs[i].end_tsc < next) {
			next = fc->runs[i].end_tsc;
		}
	}
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		struct fault_entry *e = &fc->rules[s];

		if (!e->used || e->end_tsc == UINT64_MAX)
			continue;
		if (e->end_tsc <= now) {
			entry_release(e);
			changed = true;
		} else if (e->end_tsc < next) {
			next = e->end_tsc;
		}
	}
	if (changed)
		fault_publish(fc);
	gen_table_reclaim(fc->pub);
	return next;
}

/* The entry of a configuration rule identical to @p f, or NULL. */
static struct fault_entry *
config_entry_same(struct fault_ctl *fc, const struct conf_fault *f)
{
	struct conf_fault a = *f, b;

	a.pos = (struct conf_pos){ 0, 0 };
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		struct fault_entry *e = &fc->rules[s];

		if (!e->used || e->origin != FAULT_ORIGIN_CONFIG || e->run == -2)
			continue;
		b = e->f;
		b.pos = a.pos;
		if (memcmp(&a, &b, sizeof(a)) == 0)
			return e;
	}
	return NULL;
}

/* The configuration's rules: unchanged ones keep their id and counters. */
static int
config_rules_set(struct fault_ctl *fc, const struct umbra_conf *c)
{
	for (uint32_t i = 0; i < c->n_faults; i++) {
		struct fault_entry *e = config_entry_same(fc, &c->faults[i]);

		if (e != NULL) {
			e->run = -2;    /* kept (marked until the sweep below) */
			e->f.pos = c->faults[i].pos;
		}
	}
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		struct fault_entry *e = &fc->rules[s];

		if (e->used && e->origin == FAULT_ORIGIN_CONFIG && e->run != -2)
			entry_release(e);
	}
	for (uint32_t i = 0; i < c->n_faults; i++) {
		struct fault_entry *e = config_entry_same(fc, &c->faults[i]);

		if (e == NULL &&
		    entry_add(fc, &c->faults[i], FAULT_ORIGIN_CONFIG, -2, 0) == NULL)
			return -1;
	}
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used && fc->rules[s].origin == FAULT_ORIGIN_CONFIG)
			fc->rules[s].run = -1;
	return 0;
}

/* Run-time rules resolved again (stage and service numbers may move). */
static void
runtime_rules_resolve(struct fault_ctl *fc, const struct umbra_conf *c)
{
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		struct fault_entry *e = &fc->rules[s];
		char name[CONF_NAME_MAX], perr[256];

		if (!e->used || e->origin != FAULT_ORIGIN_RUNTIME)
			continue;
		memcpy(name, e->f.name, sizeof(name));
		if (conf_fault_parse(c, e->text, strlen(e->text), "fault add",
				     &e->f, perr, sizeof(perr)) < 0) {
			entry_release(e);
			continue;
		}
		memcpy(e->f.name, name, sizeof(name));
	}
}

/* Running scenarios take their new definition; their end stays. */
static void
runs_resolve(struct fault_ctl *fc)
{
	char perr[256];

	for (int i = 0; i < CONF_MAX_SCENARIOS; i++) {
		if (!fc->runs[i].active)
			continue;
		rules_remove_where(fc, FAULT_ORIGIN_SCENARIO, i);
		if (run_rules_add(fc, i, 1, perr, sizeof(perr)) < 0) {
			fc->runs[i].active = false;
			continue;
		}
		for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
			if (fc->rules[s].used && fc->rules[s].run == i) {
				fc->rules[s].end_tsc = fc->runs[i].end_tsc;
				fc->rules[s].until = fc->runs[i].until;
			}
	}
}

int
fault_ctl_set_conf(struct fault_ctl *fc, const struct umbra_conf *c, char *err,
		   size_t errlen)
{
	if (c->n_faults > FAULT_MAX_RULES) {
		snprintf(err, errlen, "%u fault rules do not fit the %d slots",
			 c->n_faults, FAULT_MAX_RULES);
		return -1;
	}
	fc->conf = c;
	if (config_rules_set(fc, c) < 0) {
		snprintf(err, errlen, "the configuration's %u fault rules and the "
			 "run-time ones do not fit the %d slots; clear some first",
			 c->n_faults, FAULT_MAX_RULES);
		return -1;
	}
	runtime_rules_resolve(fc, c);
	runs_resolve(fc);
	return fault_publish(fc);
}

/* ---- reports ---------------------------------------------------- */

static void
counters_sum(const struct fault_ctl *fc, const struct fault_entry *e,
	     struct fault_rule_counters *sum)
{
	uint16_t s = (uint16_t)(e - fc->rules);

	memset(sum, 0, sizeof(*sum));
	for (uint16_t w = 0; w < fc->n_workers; w++) {
		const struct fault_rule_counters *c;

		if (fc->cnt[w] == NULL)
			continue;
		c = &fc->cnt[w][s];

		if (__atomic_load_n(&c->uid, __ATOMIC_ACQUIRE) != e->id)
			continue;
#define FAULT_CNT_ADD(field, name) sum->field += c->field;
		FAULT_RULE_COUNTERS(FAULT_CNT_ADD)
#undef FAULT_CNT_ADD
		sum->err_sum_ns += c->err_sum_ns;
		if (c->err_max_ns > sum->err_max_ns)
			sum->err_max_ns = c->err_max_ns;
		for (unsigned int b = 0; b < FAULT_HIST_BUCKETS; b++)
			sum->err_hist[b] += c->err_hist[b];
	}
}

/* Upper bound of the bucket holding quantile @p q, capped at the max. */
static uint64_t
hist_quantile(const struct fault_rule_counters *c, double q)
{
	uint64_t rank = (uint64_t)(q * (double)c->sent_late + 0.5), seen = 0;

	if (c->sent_late == 0)
		return 0;
	if (rank == 0)
		rank = 1;
	for (unsigned int b = 0; b < FAULT_HIST_BUCKETS; b++) {
		seen += c->err_hist[b];
		if (seen >= rank) {
			uint64_t top = b + 1 < FAULT_HIST_BUCKETS ?
				       fault_hist_bucket_floor(b + 1) : c->err_max_ns;

			return top < c->err_max_ns ? top : c->err_max_ns;
		}
	}
	return c->err_max_ns;
}

static json_t *
delay_error_json(const struct fault_rule_counters *c)
{
	json_t *hist = json_array();

	for (unsigned int b = 0; b < FAULT_HIST_BUCKETS; b++)
		if (c->err_hist[b])
			json_array_append_new(hist, json_pack("[I,I]",
				(json_int_t)fault_hist_bucket_floor(b),
				(json_int_t)c->err_hist[b]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:o}",
		"count", (json_int_t)c->sent_late,
		"p50_ns", (json_int_t)hist_quantile(c, 0.50),
		"p90_ns", (json_int_t)hist_quantile(c, 0.90),
		"p99_ns", (json_int_t)hist_quantile(c, 0.99),
		"max_ns", (json_int_t)c->err_max_ns,
		"mean_ns", c->sent_late ? (double)c->err_sum_ns / (double)c->sent_late : 0.0,
		"histogram", hist);
}

static json_t *
counters_json(const struct fault_rule_counters *c)
{
	json_t *o = json_object();

#define FAULT_CNT_JSON(field, name) \
	json_object_set_new(o, name, json_integer((json_int_t)c->field));
	FAULT_RULE_COUNTERS(FAULT_CNT_JSON)
#undef FAULT_CNT_JSON
	json_object_set_new(o, "delay_error", delay_error_json(c));
	return o;
}

static json_t *
prefix_json(const struct conf_prefix *p)
{
	char a[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN + 8];

	if (p->family == 0)
		return json_null();
	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(out, sizeof(out), "%s/%u", a, p->len);
	return json_string(out);
}

static json_t *
range_json(const struct conf_range *r)
{
	if (r->lo == 0 && r->hi == 65535)
		return json_null();
	if (r->lo == r->hi)
		return json_integer(r->lo);
	return json_sprintf("%u-%u", r->lo, r->hi);
}

static json_t *
stage_json(const struct fault_ctl *fc, int16_t i)
{
	return i >= 0 && i < fc->conf->n_stages ?
	       json_string(fc->conf->stages[i].name) : json_null();
}

static json_t *
target_json(const struct fault_ctl *fc, const struct conf_fault *f)
{
	static const char *const dirs[] = { "both", "to_server", "to_client" };

	return json_pack("{s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
		"shadow", f->shadow[0] ? json_string(f->shadow) : json_null(),
		"stage", stage_json(fc, f->stage),
		"from_stage", stage_json(fc, f->from_stage),
		"service", f->service >= 0 && (uint32_t)f->service < fc->conf->n_services ?
			json_string(fc->conf->services[f->service].name) : json_null(),
		"direction", dirs[f->direction % 3],
		"proto", f->proto == CONF_ANY ? json_null() : json_integer(f->proto),
		"src", prefix_json(&f->src), "dst", prefix_json(&f->dst),
		"sport", range_json(&f->sport), "dport", range_json(&f->dport));
}

/* The kind's own parameters. */
static json_t *
params_json(const struct conf_fault *f)
{
	static const char *const dists[] = { "uniform", "normal", "pareto" };

	switch (f->kind) {
	case CONF_FAULT_DELAY:
		return json_pack("{s:f, s:f, s:s, s:b}", "delay_ms", f->delay_ns / 1e6,
				 "jitter_ms", f->jitter_ns / 1e6,
				 "distribution", dists[f->distribution % 3],
				 "keep_order", f->keep_order);
	case CONF_FAULT_LOSS:
		if (f->loss_model != CONF_LOSS_GILBERT_ELLIOTT)
			return json_pack("{s:s}", "model", "random");
		return json_pack("{s:s, s:f, s:f, s:f, s:f}", "model", "gilbert_elliott",
				 "p", f->ge_p, "r", f->ge_r, "loss_good", f->ge_loss_good,
				 "loss_bad", f->ge_loss_bad);
	case CONF_FAULT_DUPLICATE:
		return json_pack("{s:i}", "copies", f->copies);
	case CONF_FAULT_REORDER:
		return json_pack("{s:f}", "hold_ms", f->hold_ns / 1e6);
	case CONF_FAULT_CORRUPT:
		return json_pack("{s:i, s:s}", "bits", f->bits, "checksum",
				 f->fix_checksum ? "fixed" : "wrong");
	case CONF_FAULT_BANDWIDTH:
		return json_pack("{s:I, s:I}", "rate_bps", (json_int_t)(f->rate_Bps * 8),
				 "burst_bytes", (json_int_t)f->burst_bytes);
	case CONF_FAULT_ICMP_UNREACHABLE:
		return json_pack("{s:i}", "code", f->icmp_code);
	case CONF_FAULT_PARTITION:
		return json_pack("{s:b, s:b}", "both_ways", f->both_ways,
				 "new_flows_only", f->new_flows_only);
	default:
		return json_object();
	}
}

static json_t *
rule_json(const struct fault_ctl *fc, const struct fault_entry *e)
{
	struct fault_rule_counters sum;
	json_t *o;

	counters_sum(fc, e, &sum);
	o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:s, s:f, s:I, s:o, s:f, s:o}",
		"id", (json_int_t)e->id, "name", e->f.name,
		"kind", conf_fault_kind_name(e->f.kind),
		"origin", origin_names[e->origin],
		"target", target_json(fc, &e->f),
		"select", e->f.select == CONF_SELECT_FLOW ? "flow" : "packet",
		"probability", e->f.probability, "seed", (json_int_t)e->f.seed,
		"params", params_json(&e->f), "since", e->since,
		"counters", counters_json(&sum));
	if (e->run >= 0)
		json_object_set_new(o, "scenario", json_string(fc->runs[e->run].name));
	json_object_set_new(o, "until", e->until ? json_real(e->until) : json_null());
	return o;
}

json_t *
fault_ctl_rules_json(const struct fault_ctl *fc)
{
	const struct fault_entry *order[FAULT_MAX_RULES];
	json_t *a = json_array();
	uint32_t n = 0;

	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
		if (fc->rules[s].used)
			order[n++] = &fc->rules[s];
	qsort(order, n, sizeof(order[0]), entry_order);
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, rule_json(fc, order[i]));
	return a;
}

json_t *
fault_ctl_scenarios_json(const struct fault_ctl *fc)
{
	json_t *defined = json_array(), *running = json_array();

	for (uint32_t i = 0; i < fc->conf->n_scenarios; i++) {
		const struct conf_scenario *sc = &fc->conf->scenarios[i];

		json_array_append_new(defined, json_pack("{s:s, s:s, s:f, s:i}",
			"name", sc->name, "description", sc->description,
			"duration_s", sc->duration_ns / 1e9, "faults", (int)sc->n_faults));
	}
	for (int i = 0; i < CONF_MAX_SCENARIOS; i++) {
		json_t *rules;

		if (!fc->runs[i].active)
			continue;
		rules = json_array();
		for (uint16_t s = 0; s < FAULT_MAX_RULES; s++)
			if (fc->rules[s].used && fc->rules[s].run == i)
				json_array_append_new(rules, rule_json(fc, &fc->rules[s]));
		json_array_append_new(running, json_pack("{s:s, s:f, s:f, s:f, s:o}",
			"name", fc->runs[i].name, "since", fc->runs[i].since,
			"until", fc->runs[i].until,
			"remaining_s", fc->runs[i].until - gen_wall_clock(), "rules", rules));
	}
	return json_pack("{s:o, s:o, s:O}", "defined", defined, "running", running,
			 "ended", fc->ended);
}

void
fault_ctl_metrics(const struct fault_ctl *fc, FILE *out)
{
	fprintf(out, "# HELP umbra_fault_packets_total Packets per fault rule, by what was done.\n"
		"# TYPE umbra_fault_packets_total counter\n");
	for (uint16_t s = 0; s < FAULT_MAX_RULES; s++) {
		const struct fault_entry *e = &fc->rules[s];
		struct fault_rule_counters c;

		if (!e->used)
			continue;
		counters_sum(fc, e, &c);
#define FAULT_CNT_METRIC(field, label) \
		fprintf(out, "umbra_fault_packets_total{rule=\"%s\",id=\"%" PRIu32 \
			"\",kind=\"%s\",what=\"" label "\"} %" PRIu64 "\n", e->f.name, \
			e->id, conf_fault_kind_name(e->f.kind), c.field);
		FAULT_RULE_COUNTERS(FAULT_CNT_METRIC)
#undef FAULT_CNT_METRIC
	}
}
