/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Release sections of the configuration: services (matches, backends,
 * per-stage backends and versions, rollout), workflow (pipeline, hooks),
 * splits and steering.
 *
 * Load order (load_root): services, workflow, splits, steering, then
 * ld_release_defaults(). Services come first because hooks and splits name
 * them. What depends on the final pipeline (which may be the default one,
 * decided only once services are known) is checked in
 * ld_release_defaults(): a rollout's default stage and its two backends,
 * rollout and hook stages being in the pipeline. Those checks find their
 * nodes again from the root so that messages point at the right place.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

#define BP_FULL 10000u /* 100% in basis points */

static const char *const trigger_names[] = {
	[CONF_WF_CODE_COMMIT] = "code_commit",
	[CONF_WF_AUTO] = "auto",
	[CONF_WF_TEST_COMPLETION] = "test_completion",
	[CONF_WF_MANUAL_APPROVAL] = "manual_approval",
};

/* Item @p i of sequence @p seq, or NULL. */
static yaml_node_t *
seq_item(struct loader *L, yaml_node_t *seq, uint32_t i)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.items.start + i >= seq->data.sequence.items.top)
		return NULL;
	return yaml_document_get_node(L->doc, seq->data.sequence.items.start[i]);
}

static uint32_t
seq_len(const yaml_node_t *seq)
{
	return (uint32_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

int
ld_get_version(struct loader *L, yaml_node_t *n, char *out)
{
	const char *s;

	if (ld_get_bounded(L, n, "version", out, CONF_VERSION_MAX) < 0)
		return -1;
	for (s = out; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._+-", *s) == NULL)
			return ld_fail(L, n, "version '%s' may only hold letters, digits, "
				       "'.', '_', '+' and '-'", out);
	return 0;
}

static int
get_backend_ref(struct loader *L, yaml_node_t *n, const struct conf_service *svc,
		uint8_t *out)
{
	char names[CONF_MAX_BACKENDS * (CONF_NAME_MAX + 2)];
	const char *s;
	int i;

	if (ld_get_str(L, n, "backend", &s) < 0)
		return -1;
	i = conf_backend_index(svc, s);
	if (i < 0) {
		if (svc->n_backends == 0)
			return ld_fail(L, n, "unknown backend '%s': service '%s' has no backends",
				       s, svc->name);
		NAMES_LIST(svc->backends, svc->n_backends, names);
		return ld_fail(L, n, "unknown backend '%s' of service '%s' (backends are: %s)",
			       s, svc->name, names);
	}
	*out = (uint8_t)i;
	return 0;
}

/* ---- services ---- */

static int
load_svc_match(struct loader *L, yaml_node_t *n, struct conf_svc_match *m)
{
	struct field f[] = { { "dst" }, { "proto" }, { "dport" }, { NULL } };
	yaml_node_t *v;

	*m = (struct conf_svc_match){ .proto = CONF_ANY, .dport = { 0, 65535 },
				      .pos = ld_pos_of(n) };
	if (ld_fields_get(L, n, f, "service match") < 0)
		return -1;
	if (f[0].value == NULL && f[1].value == NULL && f[2].value == NULL)
		return ld_fail(L, n, "a service match needs dst, proto or dport");
	if (((v = f[0].value) && ld_get_prefix(L, v, "dst", &m->dst) < 0) ||
	    ((v = f[1].value) && ld_get_proto(L, v, &m->proto) < 0) ||
	    ((v = f[2].value) && ld_get_range(L, v, "dport", &m->dport) < 0) ||
	    ld_check_ports_need_l4(L, f[2].value, m->proto, "dport") < 0)
		return -1;
	return 0;
}

static int
load_svc_matches(struct loader *L, yaml_node_t *n, struct conf_service *s)
{
	uint32_t count;

	if (n->type == YAML_MAPPING_NODE) {
		s->n_matches = 1;
		return load_svc_match(L, n, &s->matches[0]);
	}
	if (ld_expect(L, n, YAML_SEQUENCE_NODE, "match") < 0)
		return -1;
	count = seq_len(n);
	if (count == 0 || count > CONF_MAX_SVC_MATCHES)
		return ld_fail(L, n, "match of service '%s' must list 1 to %d matches",
			       s->name, CONF_MAX_SVC_MATCHES);
	for (uint32_t i = 0; i < count; i++) {
		if (load_svc_match(L, seq_item(L, n, i), &s->matches[i]) < 0)
			return -1;
		s->n_matches++;
	}
	return 0;
}

/* True when @p e is some stage's egress (port and VLAN). */
static bool
on_stage_network(const struct umbra_conf *c, const struct conf_egress *e)
{
	for (uint16_t i = 0; i < c->n_stages; i++)
		if (c->stages[i].egress.port == e->port && c->stages[i].egress.vlan == e->vlan)
			return true;
	return false;
}

/*
 * A backend on its own segment (no stage's egress) needs next_hop_mac:
 * clients resolve production's address on production's egress, so frames
 * steered to it carry another host's MAC until umbra rewrites them.
 */
static int
load_backend(struct loader *L, yaml_node_t *n, struct conf_service *s)
{
	struct field f[] = {
		{ "name", true }, { "port", true }, { "vlan" }, { "next_hop_mac" }, { NULL },
	};
	struct conf_backend *b = &s->backends[s->n_backends];

	b->pos = ld_pos_of(n);
	if (ld_fields_get(L, n, f, "backend") < 0 ||
	    ld_get_name(L, f[0].value, "backend name", b->name) < 0)
		return -1;
	if (conf_backend_index(s, b->name) >= 0)
		return ld_fail(L, n, "duplicate backend name '%s' in service '%s'",
			       b->name, s->name);
	if (ld_egress_fields(L, f, "a backend", &b->egress) < 0)
		return -1;
	if (!b->egress.rewrite_mac && !on_stage_network(L->c, &b->egress)) {
		char vlan[16] = "untagged";

		if (b->egress.vlan)
			snprintf(vlan, sizeof(vlan), "vlan %u", b->egress.vlan);
		return ld_fail(L, n, "backend '%s' of service '%s' is on its own segment "
			       "(port %s, %s), no stage's egress: give it next_hop_mac "
			       "(its host's MAC; umbra rewrites MACs toward it)", b->name,
			       s->name, L->c->ports[b->egress.port].name, vlan);
	}
	s->n_backends++;
	return 0;
}

static int
load_backends(struct loader *L, yaml_node_t *seq, struct conf_service *s)
{
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "backends") < 0)
		return -1;
	if (seq_len(seq) > CONF_MAX_BACKENDS)
		return ld_fail(L, seq, "too many backends in service '%s' (at most %d)",
			       s->name, CONF_MAX_BACKENDS);
	for (uint32_t i = 0; i < seq_len(seq); i++)
		if (load_backend(L, seq_item(L, seq, i), s) < 0)
			return -1;
	return 0;
}

/* One entry of a service's stages: "production: { backends: [...], running: v1 }". */
static int
load_svc_stage(struct loader *L, yaml_node_t *key, yaml_node_t *n, struct conf_service *s,
	       bool seen[CONF_MAX_STAGES])
{
	struct field f[] = { { "backends" }, { "running" }, { NULL } };
	struct conf_svc_stage *st;
	uint16_t stage;
	yaml_node_t *v;

	if (ld_get_stage_ref(L, key, "stage", &stage) < 0)
		return -1;
	if (seen[stage])
		return ld_fail(L, key, "stage '%s' is twice in service '%s'",
			       L->c->stages[stage].name, s->name);
	seen[stage] = true;
	st = &s->stages[stage];
	st->pos = ld_pos_of(key);
	if (ld_fields_get(L, n, f, "service stage") < 0 ||
	    ((v = f[1].value) && ld_get_version(L, v, st->running) < 0))
		return -1;
	if ((v = f[0].value) == NULL)
		return 0;
	if (ld_expect(L, v, YAML_SEQUENCE_NODE, "backends") < 0)
		return -1;
	if (seq_len(v) < 1 || seq_len(v) > 2)
		return ld_fail(L, v, "backends of stage '%s' must list 1 or 2 backends",
			       L->c->stages[stage].name);
	for (uint32_t i = 0; i < seq_len(v); i++) {
		yaml_node_t *item = seq_item(L, v, i);

		if (get_backend_ref(L, item, s, &st->backends[i]) < 0)
			return -1;
		if (i == 1 && st->backends[1] == st->backends[0])
			return ld_fail(L, item, "backend '%s' is listed twice in stage '%s'",
				       s->backends[st->backends[1]].name,
				       L->c->stages[stage].name);
		st->n_backends++;
	}
	return 0;
}

static int
load_svc_stages(struct loader *L, yaml_node_t *map, struct conf_service *s)
{
	bool seen[CONF_MAX_STAGES] = { false };
	yaml_node_pair_t *p;

	if (ld_expect(L, map, YAML_MAPPING_NODE, "stages of a service") < 0)
		return -1;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, p->value);

		if (k == NULL || v == NULL)
			return ld_fail(L, map, "malformed stages of a service");
		if (load_svc_stage(L, k, v, s, seen) < 0)
			return -1;
	}
	return 0;
}

/* A percentage with at most two decimals, above 0 and at most 100, in basis points. */
static int
get_percent_bp(struct loader *L, yaml_node_t *n, uint32_t *bp)
{
	const char *s, *p;
	uint32_t whole = 0, frac = 0;
	int digits = 0, decimals = 0;

	if (ld_get_str(L, n, "rollout step", &s) < 0)
		return -1;
	for (p = s; isdigit((unsigned char)*p) && digits < 4; p++, digits++)
		whole = whole * 10 + (uint32_t)(*p - '0');
	if (digits > 0 && *p == '.')
		for (p++; isdigit((unsigned char)*p) && decimals < 3; p++, decimals++)
			frac = frac * 10 + (uint32_t)(*p - '0');
	if (decimals == 1)
		frac *= 10;
	*bp = whole * 100 + frac;
	if (digits == 0 || digits > 3 || *p != '\0' || decimals > 2 ||
	    (s[digits] == '.' && decimals == 0) || *bp == 0 || *bp > BP_FULL)
		return ld_fail(L, n, "rollout step must be a percentage above 0 and at most "
			       "100 (two decimals at most), not '%s'", s);
	return 0;
}

static int
load_rollout(struct loader *L, yaml_node_t *n, struct conf_service *s)
{
	struct field f[] = { { "steps" }, { "hold_s" }, { "stage" }, { NULL } };
	struct conf_rollout *r = &s->rollout;
	yaml_node_t *seq, *v;

	if (ld_fields_get(L, n, f, "rollout") < 0 ||
	    ((v = f[1].value) && ld_get_uint(L, v, "hold_s", 0, 86400, &r->hold_s) < 0) ||
	    ((v = f[2].value) && ld_get_stage_ref(L, v, "stage", &r->stage) < 0))
		return -1;
	if ((seq = f[0].value) == NULL)
		return 0;
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "steps") < 0)
		return -1;
	if (seq_len(seq) < 1 || seq_len(seq) > CONF_MAX_ROLLOUT_STEPS)
		return ld_fail(L, seq, "rollout steps must list 1 to %d percentages",
			       CONF_MAX_ROLLOUT_STEPS);
	for (uint32_t i = 0; i < seq_len(seq); i++) {
		yaml_node_t *item = seq_item(L, seq, i);

		if (get_percent_bp(L, item, &r->steps_bp[i]) < 0)
			return -1;
		if (i > 0 && r->steps_bp[i] <= r->steps_bp[i - 1])
			return ld_fail(L, item, "rollout steps must rise: '%s' is not above '%s'",
				       ld_scalar(item), ld_scalar(seq_item(L, seq, i - 1)));
		r->n_steps++;
	}
	if (r->steps_bp[r->n_steps - 1] != BP_FULL) {
		v = seq_item(L, seq, r->n_steps - 1u);
		return ld_fail(L, v, "the last rollout step must be 100, not '%s'", ld_scalar(v));
	}
	return 0;
}

static int
service_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct field f[] = {
		{ "name", true }, { "match", true }, { "backends" }, { "stages" },
		{ "rollout" }, { "verdict" }, { NULL },
	};
	struct conf_service *s = item;
	yaml_node_t *v;

	(void)index;
	s->pos = ld_pos_of(n);
	s->rollout.hold_s = 60;
	conf_verdict_default(&s->verdict, true);
	if (ld_fields_get(L, n, f, "service") < 0 ||
	    ld_get_name(L, f[0].value, "service name", s->name) < 0)
		return -1;
	if (conf_service_index(L->c, s->name) >= 0)
		return ld_fail(L, n, "duplicate service name '%s'", s->name);
	if (load_svc_matches(L, f[1].value, s) < 0 ||
	    ((v = f[2].value) && load_backends(L, v, s) < 0) ||
	    ((v = f[3].value) && load_svc_stages(L, v, s) < 0) ||
	    ((v = f[4].value) && load_rollout(L, v, s) < 0) ||
	    ((v = f[5].value) && ld_service_verdict(L, v, &s->verdict) < 0))
		return -1;
	return 0;
}

int
ld_services(struct loader *L, yaml_node_t *seq)
{
	struct umbra_conf *c = L->c;

	return ld_load_list(L, seq, "services", sizeof(struct conf_service),
			    CONF_MAX_SERVICES, (void **)&c->services, &c->n_services,
			    service_one);
}

/* ---- workflow ---- */

static int
load_pipeline(struct loader *L, yaml_node_t *seq)
{
	struct conf_workflow *w = &L->c->workflow;

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "pipeline") < 0)
		return -1;
	if (seq_len(seq) < 1 || seq_len(seq) > CONF_MAX_PIPELINE)
		return ld_fail(L, seq, "workflow.pipeline must list 1 to %d steps",
			       CONF_MAX_PIPELINE);
	for (uint32_t i = 0; i < seq_len(seq); i++) {
		struct field f[] = { { "stage", true }, { "on", true }, { NULL } };
		yaml_node_t *n = seq_item(L, seq, i);
		struct conf_wf_step *st = &w->pipeline[i];
		const char *on;
		uint8_t t;

		st->pos = ld_pos_of(n);
		if (ld_fields_get(L, n, f, "pipeline step") < 0 ||
		    ld_get_stage_ref(L, f[0].value, "stage", &st->stage) < 0 ||
		    ld_get_str(L, f[1].value, "on", &on) < 0)
			return -1;
		if (conf_pipeline_index(L->c, st->stage) >= 0)
			return ld_fail(L, f[0].value, "stage '%s' is twice in workflow.pipeline",
				       L->c->stages[st->stage].name);
		for (t = 0; t < sizeof(trigger_names) / sizeof(trigger_names[0]); t++)
			if (strcmp(on, trigger_names[t]) == 0)
				break;
		if (t == sizeof(trigger_names) / sizeof(trigger_names[0]))
			return ld_fail(L, f[1].value, "on must be code_commit, auto, "
				       "test_completion or manual_approval, not '%s'", on);
		if (i == 0 && t != CONF_WF_CODE_COMMIT)
			return ld_fail(L, f[1].value, "the first pipeline step must be "
				       "on: code_commit, not '%s'", on);
		if (i > 0 && t == CONF_WF_CODE_COMMIT)
			return ld_fail(L, f[1].value, "only the first pipeline step may be "
				       "on: code_commit");
		st->on = t;
		w->n_pipeline++;
	}
	return 0;
}

/* A hook command: a list of 1..CONF_HOOK_ARGV_MAX strings. */
static int
load_argv(struct loader *L, yaml_node_t *seq, const char *what,
	  char argv[CONF_HOOK_ARGV_MAX][CONF_HOOK_ARG_LEN], uint8_t *argc)
{
	char item_what[32];

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	if (seq_len(seq) < 1 || seq_len(seq) > CONF_HOOK_ARGV_MAX)
		return ld_fail(L, seq, "%s must list 1 to %d arguments (the command first)",
			       what, CONF_HOOK_ARGV_MAX);
	snprintf(item_what, sizeof(item_what), "%s argument", what);
	for (uint32_t i = 0; i < seq_len(seq); i++) {
		if (ld_get_bounded(L, seq_item(L, seq, i), item_what, argv[i],
				   CONF_HOOK_ARG_LEN) < 0)
			return -1;
		(*argc)++;
	}
	return 0;
}

static int
hook_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct field f[] = {
		{ "name", true }, { "stage", true }, { "service" }, { "when" }, { "run", true },
		{ "undo" }, { "timeout_s" }, { NULL },
	};
	struct conf_hook *h = item;
	yaml_node_t *v;
	uint32_t timeout_s = 0;
	const char *s;

	h->pos = ld_pos_of(n);
	h->service = -1;
	if (ld_fields_get(L, n, f, "hook") < 0 ||
	    ld_get_name(L, f[0].value, "hook name", h->name) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->workflow.hooks[i].name, h->name) == 0)
			return ld_fail(L, n, "duplicate hook name '%s'", h->name);
	if (ld_get_stage_ref(L, f[1].value, "stage", &h->stage) < 0 ||
	    ((v = f[2].value) && ld_get_service_ref(L, v, &h->service) < 0))
		return -1;
	if ((v = f[3].value) != NULL) {
		if (ld_get_str(L, v, "when", &s) < 0)
			return -1;
		if (strcmp(s, "before") == 0)
			h->when = CONF_HOOK_BEFORE;
		else if (strcmp(s, "after") == 0)
			h->when = CONF_HOOK_AFTER;
		else
			return ld_fail(L, v, "when must be before or after, not '%s'", s);
	}
	if (load_argv(L, f[4].value, "run", h->argv, &h->argc) < 0 ||
	    ((v = f[5].value) && load_argv(L, v, "undo", h->undo, &h->undo_argc) < 0) ||
	    ((v = f[6].value) && ld_get_uint(L, v, "timeout_s", 1, 3600, &timeout_s) < 0))
		return -1;
	h->timeout_ms = timeout_s * 1000; /* 0: the workflow's default, set later */
	return 0;
}

int
ld_workflow(struct loader *L, yaml_node_t *map)
{
	struct field f[] = {
		{ "pipeline" }, { "hook_timeout_s" }, { "history" }, { "hooks" }, { NULL },
	};
	struct conf_workflow *w = &L->c->workflow;
	uint32_t v;

	if (ld_fields_get(L, map, f, "workflow") < 0 ||
	    (f[0].value && load_pipeline(L, f[0].value) < 0))
		return -1;
	if (f[1].value) {
		if (ld_get_uint(L, f[1].value, "hook_timeout_s", 1, 3600, &v) < 0)
			return -1;
		w->hook_timeout_ms = v * 1000;
	}
	if (f[2].value && ld_get_uint(L, f[2].value, "history", 10, 1000000,
				      &w->history_max) < 0)
		return -1;
	if (f[3].value && ld_load_list(L, f[3].value, "hooks", sizeof(struct conf_hook),
				       CONF_MAX_HOOKS, (void **)&w->hooks, &w->n_hooks,
				       hook_one) < 0)
		return -1;
	for (uint32_t i = 0; i < w->n_hooks; i++)
		if (w->hooks[i].timeout_ms == 0)
			w->hooks[i].timeout_ms = w->hook_timeout_ms;
	return 0;
}

/* ---- splits and steering ---- */

static int
split_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct field f[] = {
		{ "name", true }, { "stage", true }, { "service" }, { "src" }, { "hash" },
		{ "to_stage" }, { "to_backend" }, { NULL },
	};
	struct conf_split *sp = item;
	yaml_node_t *src, *hash, *to_stage, *to_backend;
	uint16_t stage;

	*sp = (struct conf_split){ .service = -1, .hash_lo = 0, .hash_hi = 65535,
				   .to_stage = -1, .to_backend = -1, .pos = ld_pos_of(n) };
	if (ld_fields_get(L, n, f, "split") < 0 ||
	    ld_get_name(L, f[0].value, "split name", sp->name) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->splits[i].name, sp->name) == 0)
			return ld_fail(L, n, "duplicate split name '%s'", sp->name);
	src = f[3].value;
	hash = f[4].value;
	to_stage = f[5].value;
	to_backend = f[6].value;
	if (ld_get_stage_ref(L, f[1].value, "stage", &sp->stage) < 0 ||
	    (f[2].value && ld_get_service_ref(L, f[2].value, &sp->service) < 0))
		return -1;
	if (src == NULL && hash == NULL)
		return ld_fail(L, n, "split '%s' needs src or hash", sp->name);
	if (src != NULL && hash != NULL)
		return ld_fail(L, n, "split '%s' needs src or hash, not both", sp->name);
	if (src != NULL && ld_get_prefix(L, src, "src", &sp->src) < 0)
		return -1;
	if (hash != NULL) {
		if (hash->type != YAML_SEQUENCE_NODE || seq_len(hash) != 2)
			return ld_fail(L, hash, "hash must be a list of two numbers [lo, hi] "
				       "out of 0..65535");
		if (ld_get_u16(L, seq_item(L, hash, 0), "hash", 0, 65535, &sp->hash_lo) < 0 ||
		    ld_get_u16(L, seq_item(L, hash, 1), "hash", 0, 65535, &sp->hash_hi) < 0)
			return -1;
		if (sp->hash_lo > sp->hash_hi)
			return ld_fail(L, hash, "hash range [%u, %u] ends before it starts",
				       sp->hash_lo, sp->hash_hi);
	}
	if (to_stage == NULL && to_backend == NULL)
		return ld_fail(L, n, "split '%s' needs to_stage or to_backend", sp->name);
	if (to_stage != NULL && to_backend != NULL)
		return ld_fail(L, n, "split '%s' needs to_stage or to_backend, not both",
			       sp->name);
	if (to_stage != NULL) {
		if (ld_get_stage_ref(L, to_stage, "to_stage", &stage) < 0)
			return -1;
		if (stage == sp->stage)
			return ld_fail(L, to_stage, "split '%s' sends stage '%s' to itself",
				       sp->name, L->c->stages[stage].name);
		sp->to_stage = (int16_t)stage;
	} else {
		uint8_t b;

		if (sp->service < 0)
			return ld_fail(L, to_backend, "split '%s': to_backend needs service",
				       sp->name);
		if (get_backend_ref(L, to_backend, &L->c->services[sp->service], &b) < 0)
			return -1;
		sp->to_backend = b;
	}
	return 0;
}

int
ld_splits(struct loader *L, yaml_node_t *seq)
{
	struct umbra_conf *c = L->c;

	return ld_load_list(L, seq, "splits", sizeof(struct conf_split), CONF_MAX_SPLITS,
			    (void **)&c->splits, &c->n_splits, split_one);
}

int
ld_steering(struct loader *L, yaml_node_t *map)
{
	struct field f[] = { { "seed" }, { NULL } };

	if (ld_fields_get(L, map, f, "steering") < 0 ||
	    (f[0].value && ld_get_uint(L, f[0].value, "seed", 0, 4294967295ul,
				       &L->c->steer_seed) < 0))
		return -1;
	return 0;
}

/* ---- what needs the final pipeline ---- */

static int
default_pipeline(struct loader *L, yaml_node_t *services)
{
	static const struct { const char *stage; uint8_t on; } steps[] = {
		{ "dev", CONF_WF_CODE_COMMIT }, { "test", CONF_WF_AUTO },
		{ "staging", CONF_WF_TEST_COMPLETION }, { "production", CONF_WF_MANUAL_APPROVAL },
	};
	struct conf_workflow *w = &L->c->workflow;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int s = conf_stage_index(L->c, steps[i].stage);

		if (s < 0)
			return ld_fail(L, services, "services need workflow.pipeline (the default "
				       "pipeline uses stages dev, test, staging, production; "
				       "there is no stage '%s')", steps[i].stage);
		w->pipeline[i] = (struct conf_wf_step){ .stage = (uint16_t)s, .on = steps[i].on,
							.pos = ld_pos_of(services) };
	}
	w->n_pipeline = (uint8_t)(sizeof(steps) / sizeof(steps[0]));
	return 0;
}

/* Rollout stage: default the last of the pipeline, in the pipeline, two backends. */
static int
check_rollout(struct loader *L, struct conf_service *s, yaml_node_t *svc_node)
{
	const struct conf_workflow *w = &L->c->workflow;
	yaml_node_t *rollout = ld_map_value(L, svc_node, "rollout");
	yaml_node_t *stage = ld_map_value(L, rollout, "stage");
	const char *name;

	if (stage == NULL && w->n_pipeline > 0)
		s->rollout.stage = w->pipeline[w->n_pipeline - 1].stage;
	if (rollout == NULL)
		return 0;
	name = L->c->stages[s->rollout.stage].name;
	if (stage != NULL && conf_pipeline_index(L->c, s->rollout.stage) < 0)
		return ld_fail(L, stage, "service '%s': rollout stage '%s' is not in "
			       "workflow.pipeline", s->name, name);
	if (s->stages[s->rollout.stage].n_backends != 2)
		return ld_fail(L, rollout, "service '%s': rollout in stage '%s' needs two "
			       "backends there (the old and the new version side by side)",
			       s->name, name);
	return 0;
}

int
ld_release_defaults(struct loader *L, yaml_node_t *root)
{
	struct umbra_conf *c = L->c;
	yaml_node_t *services = ld_map_value(L, root, "services");
	yaml_node_t *hooks = ld_map_value(L, ld_map_value(L, root, "workflow"), "hooks");

	if (c->n_services > 0 && c->workflow.n_pipeline == 0 &&
	    default_pipeline(L, services) < 0)
		return -1;
	for (uint32_t i = 0; i < c->n_services; i++)
		if (check_rollout(L, &c->services[i], seq_item(L, services, i)) < 0)
			return -1;
	for (uint32_t i = 0; i < c->workflow.n_hooks; i++) {
		const struct conf_hook *h = &c->workflow.hooks[i];

		if (conf_pipeline_index(c, h->stage) < 0)
			return ld_fail(L, ld_map_value(L, seq_item(L, hooks, i), "stage"),
				       "hook '%s': stage '%s' is not in workflow.pipeline",
				       h->name, c->stages[h->stage].name);
	}
	return 0;
}
