/* SPDX-License-Identifier: BSD-3-Clause */
/* Management half: set up workers (queues, TX buffers, flow tables), run, stop. */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "dp_worker_private.h" /* sets workers up */
#include "pkt_mbuf.h"

static int
worker_tx_buffers(struct dp_worker *w, int socket, char *err, size_t errlen)
{
	for (uint16_t p = 0; p < w->ports->n_ports; p++) {
		w->txb[p] = rte_zmalloc_socket("dp_txb", RTE_ETH_TX_BUFFER_SIZE(DP_BURST),
					       RTE_CACHE_LINE_SIZE, socket);
		if (w->txb[p] == NULL) {
			snprintf(err, errlen, "out of memory for TX buffers");
			return -1;
		}
		rte_eth_tx_buffer_init(w->txb[p], DP_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[p],
			rte_eth_tx_buffer_count_callback,
			&w->cnt->port[p].tx_dropped);
	}
	return 0;
}

/*
 * Sessions per worker: the most any profile of the starting configuration
 * asks for (at least DP_SHADOW_SESSIONS, for profiles created later).
 */
static uint32_t
shadow_sessions(const struct umbra_conf *c)
{
	uint32_t n = DP_SHADOW_SESSIONS;

	for (uint32_t i = 0; i < c->n_shadows; i++)
		if (c->shadows[i].max_sessions > n)
			n = c->shadows[i].max_sessions;
	return n;
}

static int
worker_init(struct dp_context *dp, struct dp_worker *w, uint16_t index,
	    unsigned int lcore, const struct umbra_conf *c, char *err,
	    size_t errlen)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	char name[32];

	w->index = index;
	w->lcore = lcore;
	w->ports = &dp->ports;
	w->pub = &dp->pub;
	w->fpub = &dp->fpub;
	w->spub = &dp->spub;
	w->quit = &dp->quit;
	w->tsc_hz = rte_get_tsc_hz();
	if (fault_worker_init(&w->fault, index, w->tsc_hz,
			      c->fault_policy.max_inflight, dp->ports.pool,
			      rte_rdtsc()) < 0) {
		snprintf(err, errlen, "out of memory for the delay queue of %u "
			 "packets: lower fault_policy.max_inflight",
			 c->fault_policy.max_inflight);
		return -1;
	}
	if (shadow_worker_init(&w->shadow, index, w->tsc_hz, shadow_sessions(c),
			       dp->shadow_pool, socket) < 0) {
		snprintf(err, errlen, "out of memory for %u shadow sessions of worker "
			 "%u: lower shadows[].max_sessions or reserve more memory",
			 shadow_sessions(c), index);
		return -1;
	}
	w->cnt = rte_zmalloc_socket("dp_counters", sizeof(*w->cnt),
				    RTE_CACHE_LINE_SIZE, socket);
	w->scratch = rte_malloc_socket("dp_scratch", PKT_MBUF_SCRATCH,
				       RTE_CACHE_LINE_SIZE, socket);
	w->health = rte_zmalloc_socket("dp_health", sizeof(*w->health),
				       RTE_CACHE_LINE_SIZE, socket);
	if (w->cnt == NULL || w->scratch == NULL || w->health == NULL) {
		snprintf(err, errlen, "out of memory for worker counters");
		return -1;
	}
	snprintf(name, sizeof(name), "umbra_flows_%u", index);
	w->ft = flow_table_create(name, c->flow_table.size, socket);
	if (w->ft == NULL) {
		snprintf(err, errlen,
			 "cannot allocate a flow table of %u entries for worker %u "
			 "(%s): lower flow_table.size or reserve more hugepages",
			 c->flow_table.size, index, rte_strerror(rte_errno));
		return -1;
	}
	w->health->req_ts = rte_zmalloc_socket("dp_health_ts", sizeof(uint32_t) *
					       flow_table_capacity(w->ft),
					       RTE_CACHE_LINE_SIZE, socket);
	if (w->health->req_ts == NULL) {
		snprintf(err, errlen, "out of memory for request stamps of worker %u", index);
		return -1;
	}
	w->shadow_sess = rte_malloc_socket("dp_shadow_sess", sizeof(uint32_t) *
					   flow_table_capacity(w->ft),
					   RTE_CACHE_LINE_SIZE, socket);
	if (w->shadow_sess == NULL) {
		snprintf(err, errlen, "out of memory for shadow session slots of worker %u",
			 index);
		return -1;
	}
	for (uint32_t i = 0; i < flow_table_capacity(w->ft); i++)
		w->shadow_sess[i] = SHADOW_NO_SESSION;
	/* Dependency map records to the management core (dp_worker_graph.c). */
	snprintf(name, sizeof(name), "umbra_gflows_%u", index);
	w->graph.flows = rte_ring_create_elem(name, sizeof(struct graph_flow_record),
					      DP_GRAPH_RING, socket,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "umbra_gdns_%u", index);
	w->graph.dns = rte_ring_create_elem(name, sizeof(struct dp_graph_dns),
					    DP_GRAPH_DNS_RING, socket,
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->graph.flows == NULL || w->graph.dns == NULL) {
		snprintf(err, errlen, "out of memory for the dependency map's rings of "
			 "worker %u (%s)", index, rte_strerror(rte_errno));
		return -1;
	}
	w->graph.tsc_per_ms = w->tsc_hz / 1000 ? w->tsc_hz / 1000 : 1;
	dp_graph_refill(w);
	/* Worker k polls RX queue k of every port that has one. */
	for (uint16_t p = 0; p < dp->ports.n_ports; p++) {
		if (index >= dp->ports.ports[p].n_rxq)
			continue;
		w->rxq[w->n_rxq++] = (struct dp_rxq){
			.port = p,
			.port_id = dp->ports.ports[p].port_id,
			.queue = index,
		};
	}
	return worker_tx_buffers(w, socket, err, errlen);
}

/*
 * The fault and shadow tables workers read, published through the
 * generations' RCU; their managers (fault_ctl, shadow_ctl) belong to the
 * management loop and publish into these.
 */
static int
tables_init(struct dp_context *dp, char *err, size_t errlen)
{
	if (gen_table_pub_init(&dp->fpub, dp->pub.qsbr, "umbra_fault_dq",
			       rte_free, err, errlen) < 0)
		return -1;
	return gen_table_pub_init(&dp->spub, dp->pub.qsbr, "umbra_shadow_dq",
				  rte_free, err, errlen);
}

uint16_t
dp_fault_counters(struct dp_context *dp, struct fault_rule_counters **out)
{
	for (uint16_t i = 0; i < dp->n_workers; i++)
		out[i] = dp->workers[i].fault.cnt;
	return dp->n_workers;
}

uint16_t
dp_shadow_workers(struct dp_context *dp, struct shadow_worker **out)
{
	for (uint16_t i = 0; i < dp->n_workers; i++)
		out[i] = &dp->workers[i].shadow;
	return dp->n_workers;
}

/*
 * Shadow copies have their own pool, so they can never starve
 * production's. Its buffers are as large as production's: a frame
 * production takes in one buffer is copied into one too (smaller ones
 * made the headers of a jumbo frame fail to fit). The pool keeps the
 * memory of DP_SHADOW_MBUFS default buffers per worker, with at least
 * DP_SHADOW_MBUFS_MIN buffers; copies that find none are counted drops.
 */
static int
shadow_pool_create(struct dp_context *dp, char *err, size_t errlen)
{
	uint16_t room = rte_pktmbuf_data_room_size(dp->ports.pool);
	uint64_t n = (uint64_t)DP_SHADOW_MBUFS * RTE_MBUF_DEFAULT_BUF_SIZE / room;

	n = RTE_MAX(n, (uint64_t)DP_SHADOW_MBUFS_MIN) * dp->n_workers;
	dp->shadow_pool = rte_pktmbuf_pool_create("umbra_shadow_mbufs",
			(unsigned int)n, 256, 0, room, (int)rte_socket_id());
	if (dp->shadow_pool == NULL) {
		snprintf(err, errlen, "cannot allocate %u mbufs of %u bytes for "
			 "shadow copies: give EAL more memory (-m) or lower "
			 "mempool.data_room", (unsigned int)n, room);
		return -1;
	}
	return 0;
}

int
dp_init(struct dp_context *dp, const struct umbra_conf *c, char *err, size_t errlen)
{
	unsigned int lcore;
	uint16_t i = 0;

	memset(dp, 0, sizeof(*dp));
	dp->n_workers = (uint16_t)rte_lcore_count() - 1;
	if (dp->n_workers == 0) {
		snprintf(err, errlen,
			 "umbra needs at least two lcores, one for management and "
			 "one per worker: pass e.g. -l 0-1 to EAL");
		return -1;
	}
	if (gen_publisher_init(&dp->pub, dp->n_workers, err, errlen) < 0)
		return -1;
	if (port_set_start(&dp->ports, c, dp->n_workers, err, errlen) < 0)
		return -1;
	dp->workers = rte_zmalloc("dp_workers", dp->n_workers * sizeof(*dp->workers),
				  RTE_CACHE_LINE_SIZE);
	if (dp->workers == NULL) {
		snprintf(err, errlen, "out of memory for workers");
		return -1;
	}
	if (shadow_pool_create(dp, err, errlen) < 0)
		return -1;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (worker_init(dp, &dp->workers[i], i, lcore, c, err, errlen) < 0)
			return -1;
		i++;
	}
	return tables_init(dp, err, errlen);
}

void
dp_start(struct dp_context *dp)
{
	dp->quit = false;
	for (uint16_t i = 0; i < dp->n_workers; i++)
		rte_eal_remote_launch(dp_worker_main, &dp->workers[i],
				      dp->workers[i].lcore);
}

void
dp_stop(struct dp_context *dp)
{
	dp->quit = true;
	rte_eal_mp_wait_lcore();
}

void
dp_fini(struct dp_context *dp)
{
	for (uint16_t i = 0; dp->workers != NULL && i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];

		for (uint16_t p = 0; p < CONF_MAX_PORTS; p++)
			rte_free(w->txb[p]);
		flow_table_free(w->ft);
		if (w->health)
			rte_free(w->health->req_ts);
		rte_free(w->shadow_sess);
		rte_free(w->health);
		rte_ring_free(w->graph.flows);
		rte_ring_free(w->graph.dns);
		rte_free(w->cnt);
		rte_free(w->scratch);
	}
	gen_table_pub_fini(&dp->fpub);
	gen_table_pub_fini(&dp->spub);
	for (uint16_t i = 0; dp->workers != NULL && i < dp->n_workers; i++)
		shadow_worker_fini(&dp->workers[i].shadow);
	rte_mempool_free(dp->shadow_pool);
	dp->shadow_pool = NULL;
	for (uint16_t i = 0; dp->workers != NULL && i < dp->n_workers; i++)
		fault_worker_fini(&dp->workers[i].fault);
	rte_free(dp->workers);
	dp->workers = NULL;
	port_set_stop(&dp->ports);
	gen_publisher_fini(&dp->pub);
}

uint64_t
dp_delayed_total(const struct dp_context *dp)
{
	uint64_t n = 0;

	for (uint16_t i = 0; i < dp->n_workers; i++)
		if (dp->workers[i].fault.dq != NULL)
			n += fault_delayq_count(dp->workers[i].fault.dq);
	return n;
}

uint64_t
dp_rx_total(const struct dp_context *dp)
{
	uint64_t n = 0;

	for (uint16_t i = 0; i < dp->n_workers; i++)
		n += dp->workers[i].cnt->pkts;
	return n;
}
