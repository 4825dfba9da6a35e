/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dependency map in YAML: graph: (how a canary's graph is compared
 * with its control's, lib/graph's defaults where not given).
 */
#include <stdlib.h>

#include "conf_private.h"

void
conf_graph_default(struct conf_graph *g)
{
	*g = (struct conf_graph){ .threshold = 0.20, .min_gap_ms = 60000, .min_flows = 5,
				  .k_gap = 2.0 };
}

int
ld_graph(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "threshold" }, { "min_gap" }, { "min_flows" }, { "k_gap" }, { NULL },
	};
	struct conf_graph *g = &L->c->graph;
	yaml_node_t *v;
	uint64_t ns;

	if (ld_fields_get(L, n, f, "graph") < 0 ||
	    ((v = f[0].value) && ld_get_probability(L, v, "threshold", &g->threshold) < 0) ||
	    ((v = f[2].value) && ld_get_uint(L, v, "min_flows", 1, 1000000, &g->min_flows) < 0))
		return -1;
	if ((v = f[1].value)) {
		if (ld_get_positive_duration(L, v, "min_gap", &ns) < 0)
			return -1;
		if (ns > 86400ULL * 1000000000ULL)
			return ld_fail(L, v, "min_gap must be at most 24h, not '%s'", ld_scalar(v));
		g->min_gap_ms = (uint32_t)(ns / 1000000 ? ns / 1000000 : 1);
	}
	if ((v = f[3].value)) {
		const char *s;
		char *end;

		if (ld_get_str(L, v, "k_gap", &s) < 0)
			return -1;
		g->k_gap = strtod(s, &end);
		if (*s == '\0' || *end != '\0' || !(g->k_gap >= 1 && g->k_gap <= 100))
			return ld_fail(L, v, "k_gap must be a number from 1 to 100, not '%s'", s);
	}
	if (g->threshold <= 0)
		return ld_fail(L, f[0].value, "threshold must be above 0");
	return 0;
}
