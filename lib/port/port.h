/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Ethernet ports named in the configuration: probe (vdev or PCI), configure
 * queues (symmetric RSS when a port has several RX queues), descriptors,
 * MTU and promiscuous mode, size the mempool, start and stop. The ports'
 * rte_flow rules, per generation: port_flow.h.
 */
#ifndef UMBRA_PORT_H
#define UMBRA_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "conf.h"

/** A configured port, indexed like umbra_conf.ports. */
struct port_info {
	uint16_t port_id;               /**< ethdev port id */
	uint16_t n_rxq;                 /**< RX queues (<= workers) */
	uint16_t n_txq;                 /**< TX queues (== workers) */
	bool uplink;
	bool shadow;                    /**< faces a shadow network (lib/shadow) */
	bool flow_mark;                 /**< rte_flow MARK validated on this port */
	struct rte_ether_addr mac;
	char name[CONF_NAME_MAX];
};

/** All ports and the mempool their queues draw from. */
struct port_set {
	struct port_info ports[CONF_MAX_PORTS];
	uint16_t n_ports;
	struct rte_mempool *pool;
	uint32_t pool_size;             /**< mbufs in the pool */
};

/**
 * Probe and start every port of @p c for @p n_workers workers.
 * @return 0, or -1 with one sentence saying what to do in @p err.
 */
int port_set_start(struct port_set *ps, const struct umbra_conf *c,
		   uint16_t n_workers, char *err, size_t errlen);

/** Stop and close every port (flushes pcap outputs), free the pool. */
void port_set_stop(struct port_set *ps);

/**
 * Mbufs needed for @p c: every RX and TX descriptor, per-lcore caches and
 * an in-flight budget per worker (bursts, TX buffers, delay queues).
 */
uint32_t port_pool_size(const struct umbra_conf *c, uint16_t n_workers);

#endif
