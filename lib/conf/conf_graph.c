/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dependency map in YAML: graph: (how a canary's graph is compared
 * with its control's, when a release's golden graph is taken, and the
 * sizes of the map's tables; lib/graph's defaults where not given).
 */
#include <stdlib.h>

#include "conf_private.h"

void
conf_graph_default(struct conf_graph *g)
{
	*g = (struct conf_graph){ .threshold = 0.20, .min_gap_ms = 60000, .min_flows = 5,
				  .k_gap = 2.0, .golden_bake_ms = 60000, .max_edges = 65536,
				  .max_names = 16384, .max_registry = 4096 };
}

/* A duration of at most 24 h, in ms (0 when @p zero_ok). */
static int
graph_ms(struct loader *L, yaml_node_t *v, const char *what, bool zero_ok, uint32_t *ms)
{
	uint64_t ns;

	if ((zero_ok ? ld_get_duration(L, v, what, &ns) :
	     ld_get_positive_duration(L, v, what, &ns)) < 0)
		return -1;
	if (ns > 86400ULL * 1000000000ULL)
		return ld_fail(L, v, "%s must be at most 24h, not '%s'", what, ld_scalar(v));
	*ms = (uint32_t)(ns / 1000000);
	if (ns > 0 && *ms == 0)
		*ms = 1;
	return 0;
}

static int
graph_k_gap(struct loader *L, yaml_node_t *v, double *k)
{
	const char *s;
	char *end;

	if (ld_get_str(L, v, "k_gap", &s) < 0)
		return -1;
	*k = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || !(*k >= 1 && *k <= 100))
		return ld_fail(L, v, "k_gap must be a number from 1 to 100, not '%s'", s);
	return 0;
}

int
ld_graph(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "threshold" }, { "min_gap" }, { "min_flows" }, { "k_gap" },
		{ "golden_bake" }, { "max_edges" }, { "max_names" }, { "max_registry" },
		{ NULL },
	};
	struct conf_graph *g = &L->c->graph;
	yaml_node_t *v;

	if (ld_fields_get(L, n, f, "graph") < 0 ||
	    ((v = f[0].value) && ld_get_probability(L, v, "threshold", &g->threshold) < 0) ||
	    ((v = f[1].value) && graph_ms(L, v, "min_gap", false, &g->min_gap_ms) < 0) ||
	    ((v = f[2].value) && ld_get_uint(L, v, "min_flows", 1, 1000000, &g->min_flows) < 0) ||
	    ((v = f[3].value) && graph_k_gap(L, v, &g->k_gap) < 0) ||
	    ((v = f[4].value) && graph_ms(L, v, "golden_bake", true, &g->golden_bake_ms) < 0) ||
	    /* Bounds: the tables' memory is taken at start (bytes per edge
	     * in the README's Dependency map section). */
	    ((v = f[5].value) && ld_get_uint(L, v, "max_edges", 1024, 16777216,
					     &g->max_edges) < 0) ||
	    ((v = f[6].value) && ld_get_uint(L, v, "max_names", 256, 4194304,
					     &g->max_names) < 0) ||
	    ((v = f[7].value) && ld_get_uint(L, v, "max_registry", 16, 1048576,
					     &g->max_registry) < 0))
		return -1;
	if (g->threshold <= 0)
		return ld_fail(L, f[0].value, "threshold must be above 0");
	return 0;
}
