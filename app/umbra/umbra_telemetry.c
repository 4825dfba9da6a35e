/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * umbra's counters in DPDK telemetry (dpdk-telemetry.py: /umbra/...), and
 * packet capture for dpdk-dumpcap. Telemetry callbacks run on DPDK's
 * telemetry thread: they read counters under app->reclaim_lock, which the
 * management loop holds while it frees replaced generations.
 */
#include <pthread.h>
#include <string.h>

#include <rte_pdump.h>
#include <rte_telemetry.h>

#include "umbra.h"

static struct umbra_app *tel_app;

/* A JSON object of integers (and objects of integers) as a telemetry dict. */
static void
tel_dict_from_json(struct rte_tel_data *d, json_t *obj, int depth)
{
	const char *key;
	json_t *v;

	rte_tel_data_start_dict(d);
	json_object_foreach(obj, key, v) {
		if (json_is_integer(v)) {
			rte_tel_data_add_dict_u64(d, key, (uint64_t)json_integer_value(v));
		} else if (json_is_object(v) && depth == 0) {
			struct rte_tel_data *c = rte_tel_data_alloc();

			if (c == NULL)
				continue;
			tel_dict_from_json(c, v, 1);
			if (rte_tel_data_add_dict_container(d, key, c, 0) != 0)
				rte_tel_data_free(c);
		}
	}
}

/* /umbra/<section>: that member of the stats object. */
static int
tel_section(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *section = strrchr(cmd, '/') + 1;
	json_t *st;

	(void)params;
	pthread_mutex_lock(&tel_app->reclaim_lock);
	st = dp_stats_json(&tel_app->dp);
	pthread_mutex_unlock(&tel_app->reclaim_lock);
	if (strcmp(section, "summary") == 0) {
		json_t *sum = json_pack("{s:O,s:O}", "generation", json_object_get(st, "generation"),
					"rx_pkts", json_object_get(st, "rx_pkts"));

		json_object_update(sum, json_object_get(st, "flows"));
		tel_dict_from_json(d, sum, 0);
		json_decref(sum);
	} else {
		tel_dict_from_json(d, json_object_get(st, section), 0);
	}
	json_decref(st);
	return 0;
}

void
umbra_telemetry_init(struct umbra_app *app)
{
	static const char *const cmds[][2] = {
		{ "/umbra/summary", "Generation, packets received, flows. No parameters." },
		{ "/umbra/ports", "Per-port packet and byte counters. No parameters." },
		{ "/umbra/stages", "Packets, bytes, flows per stage. No parameters." },
		{ "/umbra/rules", "Packets and flows per inter-stage rule. No parameters." },
		{ "/umbra/drops", "Drops by reason. No parameters." },
		{ "/umbra/default_deny", "Denied packets by from->to stage. No parameters." },
	};

	tel_app = app;
	for (size_t i = 0; i < RTE_DIM(cmds); i++)
		rte_telemetry_register_cmd(cmds[i][0], tel_section, cmds[i][1]);
	/* dpdk-dumpcap attaches as a secondary process; without a shared
	 * configuration (--in-memory, --no-shconf) there is nothing to attach to. */
	if (rte_pdump_init() != 0)
		printf("umbra: packet capture (dpdk-dumpcap) unavailable: EAL runs "
		       "without a shared configuration\n");
}
