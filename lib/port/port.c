/* SPDX-License-Identifier: BSD-3-Clause */
/* Port bring-up and tear-down. Management core, before and after workers run. */
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "port.h"
#include "port_flow.h"
#include "port_private.h"

#define PORT_POOL_CACHE 256
/** Mbufs a worker may hold outside descriptor rings (bursts, TX buffers). */
#define PORT_INFLIGHT_PER_WORKER 4096

uint8_t port_rss_key[PORT_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static uint16_t
queues_wanted(uint16_t configured, uint16_t n_workers)
{
	return configured ? configured : n_workers;
}

uint32_t
port_pool_size(const struct umbra_conf *c, uint16_t n_workers)
{
	uint32_t n = 0;

	for (uint16_t i = 0; i < c->n_ports; i++) {
		const struct conf_port *p = &c->ports[i];

		n += queues_wanted(p->rx_queues, n_workers) * p->rx_desc;
		n += queues_wanted(p->tx_queues, n_workers) * p->tx_desc;
	}
	n += (uint32_t)(n_workers + 1) * (PORT_POOL_CACHE * 3 / 2 +
					  PORT_INFLIGHT_PER_WORKER);
	/* Packets a delay fault holds, plus their copies and answers. */
	n += (uint32_t)n_workers * c->fault_policy.max_inflight;
	return n;
}

/* The ethdev name of a vdev string is what precedes the first comma. */
static void
dev_name(const struct conf_port *p, char *name, size_t len)
{
	size_t n = strcspn(p->dev, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, p->dev, n);
	name[n] = '\0';
}

static int
port_probe(const struct conf_port *p, uint16_t *port_id, char *err,
	   size_t errlen)
{
	char name[CONF_DEV_MAX];
	int rc;

	dev_name(p, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0; /* given on the EAL command line already */
	if (p->is_pci) {
		snprintf(err, errlen,
			 "port '%s': PCI device %s was not probed by DPDK; bind it "
			 "to vfio-pci (dpdk-devbind.py -b vfio-pci %s) and pass "
			 "-a %s instead of --no-pci", p->name, name, name, name);
		return -1;
	}
	rc = rte_dev_probe(p->dev);
	if (rc != 0 || rte_eth_dev_get_port_by_name(name, port_id) != 0) {
		snprintf(err, errlen,
			 "port '%s': cannot create virtual device '%s' (%s); check "
			 "the driver name and its arguments", p->name, p->dev,
			 strerror(rc < 0 ? -rc : EINVAL));
		return -1;
	}
	return 0;
}

static void
rss_configure(struct rte_eth_conf *ec, const struct rte_eth_dev_info *di,
	      uint16_t n_rxq)
{
	uint64_t hf = di->flow_type_rss_offloads &
		      (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);

	if (n_rxq < 2 || hf == 0)
		return;
	ec->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	ec->rx_adv_conf.rss_conf.rss_key = port_rss_key;
	ec->rx_adv_conf.rss_conf.rss_key_len = sizeof(port_rss_key);
	ec->rx_adv_conf.rss_conf.rss_hf = hf;
}

/*
 * Probe whether the port could pre-mark classified traffic in hardware.
 * Classification itself stays in software (rte_acl) either way; the log
 * says which path a port would use.
 */
static bool
flow_mark_probe(uint16_t port_id, const char *name)
{
	struct rte_flow_attr attr = { .ingress = 1 };
	struct rte_flow_item pattern[] = {
		{ .type = RTE_FLOW_ITEM_TYPE_ETH },
		{ .type = RTE_FLOW_ITEM_TYPE_IPV4 },
		{ .type = RTE_FLOW_ITEM_TYPE_END },
	};
	struct rte_flow_action_mark mark = { .id = 1 };
	struct rte_flow_action_queue queue = { .index = 0 };
	struct rte_flow_action actions[] = {
		{ .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mark },
		{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &queue },
		{ .type = RTE_FLOW_ACTION_TYPE_END },
	};
	struct rte_flow_error ferr = { 0 };
	int rc = rte_flow_validate(port_id, &attr, pattern, actions, &ferr);

	RTE_LOG(INFO, USER1, "port %s: classification path: %s (rte_flow MARK %s)\n",
		name, "software rte_acl",
		rc == 0 ? "validated, available for pre-marking" :
			  (ferr.message ? ferr.message : "not supported"));
	return rc == 0;
}

static int
port_configure(struct port_info *pi, const struct conf_port *p,
	       uint16_t n_workers, struct rte_mempool *pool, char *err,
	       size_t errlen)
{
	struct rte_eth_dev_info di;
	struct rte_eth_conf ec;
	uint16_t nrx, ntx, rxd = p->rx_desc, txd = p->tx_desc;
	int rc, socket;

	if (rte_eth_dev_info_get(pi->port_id, &di) != 0) {
		snprintf(err, errlen, "port '%s': cannot read device info", p->name);
		return -1;
	}
	nrx = RTE_MIN(queues_wanted(p->rx_queues, n_workers), di.max_rx_queues);
	nrx = RTE_MIN(nrx, n_workers);
	ntx = queues_wanted(p->tx_queues, n_workers);
	if (ntx < n_workers || di.max_tx_queues < n_workers) {
		snprintf(err, errlen,
			 "port '%s' has %u TX queues but umbra runs %u workers, each "
			 "needing its own: lower the worker count (-l) or raise "
			 "tx_queues", p->name, RTE_MIN(ntx, di.max_tx_queues),
			 n_workers);
		return -1;
	}
	ntx = n_workers;
	memset(&ec, 0, sizeof(ec));
	rss_configure(&ec, &di, nrx);
	rc = rte_eth_dev_configure(pi->port_id, nrx, ntx, &ec);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pi->port_id, &rxd, &txd);
	if (rc != 0) {
		snprintf(err, errlen, "port '%s': cannot configure %u RX / %u TX "
			 "queues: %s", p->name, nrx, ntx, strerror(-rc));
		return -1;
	}
	socket = rte_eth_dev_socket_id(pi->port_id);
	socket = socket < 0 ? (int)rte_socket_id() : socket;
	for (uint16_t q = 0; q < nrx && rc == 0; q++)
		rc = rte_eth_rx_queue_setup(pi->port_id, q, rxd, socket, NULL, pool);
	for (uint16_t q = 0; q < ntx && rc == 0; q++)
		rc = rte_eth_tx_queue_setup(pi->port_id, q, txd, socket, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "port '%s': queue setup failed: %s",
			 p->name, strerror(-rc));
		return -1;
	}
	if (p->mtu && (rc = rte_eth_dev_set_mtu(pi->port_id, p->mtu)) != 0) {
		snprintf(err, errlen, "port '%s': device refuses MTU %u: %s",
			 p->name, p->mtu, strerror(-rc));
		return -1;
	}
	pi->n_rxq = nrx;
	pi->n_txq = ntx;
	return 0;
}

int
port_set_start(struct port_set *ps, const struct umbra_conf *c,
	       uint16_t n_workers, char *err, size_t errlen)
{
	uint16_t room = c->mempool.data_room ? c->mempool.data_room :
					       RTE_MBUF_DEFAULT_BUF_SIZE;

	memset(ps, 0, sizeof(*ps));
	ps->pool_size = c->mempool.mbufs ? c->mempool.mbufs :
					   port_pool_size(c, n_workers);
	ps->pool = rte_pktmbuf_pool_create("umbra_mbufs", ps->pool_size,
					   PORT_POOL_CACHE, 0, room,
					   (int)rte_socket_id());
	if (ps->pool == NULL) {
		snprintf(err, errlen,
			 "cannot allocate %u packet buffers (%s): reserve more "
			 "hugepages (echo 1024 > /proc/sys/vm/nr_hugepages) or "
			 "give EAL more memory (-m)", ps->pool_size,
			 rte_strerror(rte_errno));
		return -1;
	}
	for (uint16_t i = 0; i < c->n_ports; i++) {
		const struct conf_port *p = &c->ports[i];
		struct port_info *pi = &ps->ports[i];
		int rc;

		snprintf(pi->name, sizeof(pi->name), "%s", p->name);
		pi->uplink = p->role == CONF_PORT_UPLINK;
		pi->shadow = p->role == CONF_PORT_SHADOW;
		if (port_probe(p, &pi->port_id, err, errlen) < 0 ||
		    port_configure(pi, p, n_workers, ps->pool, err, errlen) < 0)
			return -1;
		ps->n_ports = i + 1;
		rc = rte_eth_dev_start(pi->port_id);
		if (rc != 0) {
			snprintf(err, errlen, "port '%s': cannot start: %s",
				 p->name, strerror(-rc));
			return -1;
		}
		if (p->promiscuous)
			rte_eth_promiscuous_enable(pi->port_id);
		rte_eth_macaddr_get(pi->port_id, &pi->mac);
		pi->flow_mark = flow_mark_probe(pi->port_id, p->name);
	}
	return 0;
}

void
port_set_stop(struct port_set *ps)
{
	port_flow_flush(); /* rules first: they name the ports */
	for (uint16_t i = 0; i < ps->n_ports; i++) {
		rte_eth_dev_stop(ps->ports[i].port_id);
		rte_eth_dev_close(ps->ports[i].port_id);
	}
	ps->n_ports = 0;
	rte_mempool_free(ps->pool);
	ps->pool = NULL;
}
