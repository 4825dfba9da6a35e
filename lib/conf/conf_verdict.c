/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Release verdicts and notifications in YAML: a service's verdict: (how
 * its releases are judged, lib/verdict's defaults where not given) and the
 * top-level notify: (where decisions and transitions are POSTed).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

/* A decimal number from @p min to @p max. */
static int
get_number(struct loader *L, yaml_node_t *n, const char *what, double min, double max,
	   double *out)
{
	const char *s;
	char *end;
	double v;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !isfinite(v) || v < min || v > max)
		return ld_fail(L, n, "%s must be a number from %g to %g, not '%s'", what,
			       min, max, s);
	*out = v;
	return 0;
}

/* A probability strictly between 0 and 1 ("1%", "0.01"). */
static int
get_open_probability(struct loader *L, yaml_node_t *n, const char *what, double *out)
{
	if (ld_get_probability(L, n, what, out) < 0)
		return -1;
	if (*out <= 0 || *out >= 1)
		return ld_fail(L, n, "%s must be above 0 and below 100%%, not '%s'", what,
			       ld_scalar(n));
	return 0;
}

static int
load_metric(struct loader *L, yaml_node_t *n, struct verdict_metric_conf *m, const char *name)
{
	struct field f[] = {
		{ "enabled" }, { "min_ratio" }, { "min_abs" }, { "weight" }, { "min_bad" },
		{ NULL },
	};
	yaml_node_t *v;

	if (ld_fields_get(L, n, f, name) < 0 ||
	    ((v = f[0].value) && ld_get_bool(L, v, "enabled", &m->enabled) < 0) ||
	    ((v = f[1].value) && get_number(L, v, "min_ratio", 1.01, 1000, &m->min_ratio) < 0) ||
	    ((v = f[2].value) && ld_get_probability(L, v, "min_abs", &m->min_abs) < 0) ||
	    ((v = f[3].value) && get_number(L, v, "weight", 0.01, 100, &m->alpha_weight) < 0) ||
	    ((v = f[4].value) && ld_get_uint(L, v, "min_bad", 1, 100000, &m->min_bad) < 0))
		return -1;
	return 0;
}

static int
load_metrics(struct loader *L, yaml_node_t *map, struct verdict_conf *vc)
{
	if (ld_expect(L, map, YAML_MAPPING_NODE, "metrics") < 0)
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
		const char *name = ld_scalar(k);
		int m;

		for (m = 0; m < VERDICT_M_MAX; m++)
			if (name && strcmp(name, verdict_metric_names[m]) == 0)
				break;
		if (m == VERDICT_M_MAX) {
			char known[256];
			size_t o = 0;

			known[0] = '\0';
			for (int i = 0; i < VERDICT_M_MAX && o < sizeof(known); i++)
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s%s",
						      i ? ", " : "", verdict_metric_names[i]);
			return ld_fail(L, k, "unknown verdict metric '%s' (known: %s)",
				       name ? name : "", known);
		}
		if (load_metric(L, v, &vc->m[m], name) < 0)
			return -1;
	}
	return 0;
}

int
ld_service_verdict(struct loader *L, yaml_node_t *n, struct conf_verdict *cv)
{
	struct field f[] = {
		{ "enabled" }, { "alpha" }, { "power" }, { "bake" }, { "sample" }, { "seed" },
		{ "slow_quantile" }, { "metrics" }, { "slow_factor" }, { "slow_floor" },
		{ "gate" }, { NULL },
	};
	struct verdict_conf *vc = &cv->vc;
	uint64_t bake_ns;
	double sample;
	yaml_node_t *v;

	cv->pos = ld_pos_of(n);
	if (ld_fields_get(L, n, f, "verdict") < 0 ||
	    ((v = f[0].value) && ld_get_bool(L, v, "enabled", &cv->enabled) < 0) ||
	    ((v = f[1].value) && get_open_probability(L, v, "alpha", &vc->alpha) < 0) ||
	    ((v = f[2].value) && get_open_probability(L, v, "power", &vc->power) < 0) ||
	    ((v = f[5].value) && ld_get_uint(L, v, "seed", 0, UINT32_MAX, &cv->sample_seed) < 0) ||
	    ((v = f[6].value) && get_open_probability(L, v, "slow_quantile",
						      &vc->slow_quantile) < 0) ||
	    ((v = f[7].value) && load_metrics(L, v, vc) < 0))
		return -1;
	if (((v = f[8].value) && get_number(L, v, "slow_factor", 1, 100, &vc->slow_factor) < 0) ||
	    ((v = f[10].value) && ld_get_bool(L, v, "gate", &cv->gate) < 0))
		return -1;
	if ((v = f[9].value)) {
		uint64_t ns;

		if (ld_get_duration(L, v, "slow_floor", &ns) < 0)
			return -1;
		if (ns > 60ULL * 1000000000ULL)
			return ld_fail(L, v, "slow_floor must be at most 60s, not '%s'", ld_scalar(v));
		vc->slow_floor_us = (uint32_t)(ns / 1000);
	}
	if ((v = f[3].value)) {
		if (ld_get_duration(L, v, "bake", &bake_ns) < 0)
			return -1;
		if (bake_ns > 86400ULL * 1000000000ULL)
			return ld_fail(L, v, "bake must be at most 24h, not '%s'", ld_scalar(v));
		vc->bake_ms = (uint32_t)(bake_ns / 1000000);
	}
	if ((v = f[4].value)) {
		if (ld_get_probability(L, v, "sample", &sample) < 0)
			return -1;
		if (sample <= 0)
			return ld_fail(L, v, "sample must be above 0: a verdict needs traffic");
		cv->sample_bp = (uint32_t)lround(sample * 10000);
	}
	return 0;
}

void
conf_verdict_default(struct conf_verdict *cv, bool enabled)
{
	*cv = (struct conf_verdict){ .enabled = enabled, .sample_bp = 10000, .sample_seed = 1 };
	verdict_conf_default(&cv->vc);
}

int
ld_notify(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "urls", true }, { "queue" }, { "attempts" }, { "timeout" }, { "backoff" },
		{ NULL },
	};
	struct conf_notify *nt = &L->c->notify;
	yaml_node_t *seq, *v;
	uint64_t ns;

	if (ld_fields_get(L, n, f, "notify") < 0 ||
	    ((v = f[1].value) && ld_get_uint(L, v, "queue", 1, 65536, &nt->queue) < 0) ||
	    ((v = f[2].value) && ld_get_uint(L, v, "attempts", 1, 100, &nt->attempts) < 0))
		return -1;
	if ((v = f[3].value)) {
		if (ld_get_positive_duration(L, v, "timeout", &ns) < 0)
			return -1;
		nt->timeout_ms = (uint32_t)(ns / 1000000 ? ns / 1000000 : 1);
	}
	if ((v = f[4].value)) {
		if (ld_get_positive_duration(L, v, "backoff", &ns) < 0)
			return -1;
		nt->backoff_ms = (uint32_t)(ns / 1000000 ? ns / 1000000 : 1);
	}
	seq = f[0].value;
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "urls") < 0)
		return -1;
	if (seq->data.sequence.items.top - seq->data.sequence.items.start > CONF_NOTIFY_URLS_MAX)
		return ld_fail(L, seq, "notify: at most %d urls", CONF_NOTIFY_URLS_MAX);
	for (yaml_node_item_t *i = seq->data.sequence.items.start;
	     i < seq->data.sequence.items.top; i++) {
		yaml_node_t *u = yaml_document_get_node(L->doc, *i);
		char *url = nt->urls[nt->n_urls];

		if (ld_get_bounded(L, u, "url", url, sizeof(nt->urls[0])) < 0)
			return -1;
		if (strncmp(url, "http://", 7) != 0)
			return ld_fail(L, u, "notify url must start with http:// (no TLS here; "
				       "put a local relay in front of https receivers), not '%s'", url);
		nt->n_urls++;
	}
	return 0;
}
