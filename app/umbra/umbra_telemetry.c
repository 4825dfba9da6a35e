/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * umbra's counters in DPDK telemetry (dpdk-telemetry.py: /umbra/...), and
 * packet capture for dpdk-dumpcap. Telemetry callbacks run on DPDK's
 * telemetry thread, beside the management loop that changes generations,
 * fault rules and shadow profiles: so they never read those. The loop
 * publishes a snapshot of the counters (an immutable JSON object, replaced
 * whole under tel_lock) and the callbacks read only the snapshot.
 */
#include <pthread.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_pdump.h>
#include <rte_telemetry.h>

#include "umbra.h"

/* A snapshot is refreshed every loop tick while someone reads them. */
#define TEL_WATCHED_S 5
/* ... and at least this often otherwise. */
#define TEL_REFRESH_MS 1000

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *tel_snap;        /* dp_stats_json() of the loop; immutable */
static uint64_t tel_snap_tsc;   /* when it was taken (loop only) */
static uint64_t tel_read_tsc;   /* last read (telemetry thread writes) */

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

/* The summary: generation, packets received and the flow counters. */
static void
tel_summary(struct rte_tel_data *d, json_t *st)
{
	const char *key;
	json_t *v;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "generation",
		(uint64_t)json_integer_value(json_object_get(st, "generation")));
	rte_tel_data_add_dict_u64(d, "rx_pkts",
		(uint64_t)json_integer_value(json_object_get(st, "rx_pkts")));
	json_object_foreach(json_object_get(st, "flows"), key, v)
		if (json_is_integer(v))
			rte_tel_data_add_dict_u64(d, key, (uint64_t)json_integer_value(v));
}

/*
 * /umbra/<section>: that member of the loop's latest snapshot. Read under
 * tel_lock, which the loop holds only to swap the pointer: nothing here
 * touches a reference count or anything the loop changes.
 */
static int
tel_section(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const char *section = strrchr(cmd, '/') + 1;

	(void)params;
	__atomic_store_n(&tel_read_tsc, rte_get_tsc_cycles(), __ATOMIC_RELAXED);
	pthread_mutex_lock(&tel_lock);
	if (tel_snap == NULL)
		rte_tel_data_start_dict(d);
	else if (strcmp(section, "summary") == 0)
		tel_summary(d, tel_snap);
	else
		tel_dict_from_json(d, json_object_get(tel_snap, section), 0);
	pthread_mutex_unlock(&tel_lock);
	return 0;
}

void
umbra_telemetry_publish(struct umbra_app *app, bool force)
{
	uint64_t now = rte_get_tsc_cycles(), hz = rte_get_tsc_hz();
	uint64_t read = __atomic_load_n(&tel_read_tsc, __ATOMIC_RELAXED);
	json_t *st, *old;

	if (!force && now - tel_snap_tsc < hz / 1000 * TEL_REFRESH_MS &&
	    (read == 0 || now - read > hz * TEL_WATCHED_S))
		return;
	st = umbra_stats_json(app);
	pthread_mutex_lock(&tel_lock);
	old = tel_snap;
	tel_snap = st;
	pthread_mutex_unlock(&tel_lock);
	tel_snap_tsc = now;
	json_decref(old);
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

	umbra_telemetry_publish(app, true);
	for (size_t i = 0; i < RTE_DIM(cmds); i++)
		rte_telemetry_register_cmd(cmds[i][0], tel_section, cmds[i][1]);
	/* dpdk-dumpcap attaches as a secondary process; without a shared
	 * configuration (--in-memory, --no-shconf) there is nothing to attach to. */
	if (rte_pdump_init() != 0)
		printf("umbra: packet capture (dpdk-dumpcap) unavailable: EAL runs "
		       "without a shared configuration\n");
}
