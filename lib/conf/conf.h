/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * umbra's YAML configuration, loaded into plain C structures.
 *
 * Loading parses (libyaml), checks every value and resolves every name
 * (ports, stages). Any error is reported as "file:line:col: what is wrong"
 * and nothing is returned. This library knows nothing of DPDK: the compiled
 * form that workers use is built from a struct umbra_conf by lib/gen.
 */
#ifndef UMBRA_CONF_H
#define UMBRA_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_NAME_MAX 32
#define CONF_DEV_MAX 1024
#define CONF_MAX_PORTS 16
#define CONF_MAX_STAGES 32
#define CONF_MAX_MATCHES 4096
#define CONF_MAX_FLOW_RULES 4096
#define CONF_MAX_POLICIES 256
/** Any VLAN / protocol / port in a match (value of the int fields). */
#define CONF_ANY (-1)
/** vlan value meaning "untagged only". */
#define CONF_VLAN_UNTAGGED 0

/** Where a YAML node starts (1-based), for messages about it. */
struct conf_pos {
	uint32_t line;
	uint32_t col;
};

/** An IP prefix; len 0 with family 0 matches any address. */
struct conf_prefix {
	uint8_t family; /**< 0 (any), 4 or 6 */
	uint8_t len;    /**< prefix length in bits */
	uint8_t addr[16]; /**< network byte order; IPv4 in the first 4 bytes */
};

/** Inclusive port range; {0, 65535} matches any. */
struct conf_range {
	uint16_t lo;
	uint16_t hi;
};

enum conf_port_role {
	CONF_PORT_STAGE = 0, /**< faces a stage network (servers) */
	CONF_PORT_UPLINK,    /**< faces clients / the rest of the network */
};

struct conf_port {
	char name[CONF_NAME_MAX];
	char dev[CONF_DEV_MAX]; /**< vdev string ("net_pcap0,rx_pcap=...") or PCI address */
	bool is_pci;            /**< dev given with "pci:" rather than "vdev:" */
	uint8_t role;           /**< enum conf_port_role */
	uint16_t rx_queues;     /**< 0: one per worker */
	uint16_t tx_queues;     /**< 0: one per worker */
	uint16_t rx_desc;
	uint16_t tx_desc;
	uint16_t mtu;           /**< 0: leave the device's default */
	bool promiscuous;
	struct conf_pos pos;
};

struct conf_stage {
	char name[CONF_NAME_MAX];
	uint16_t egress_port;   /**< index in umbra_conf.ports */
	uint16_t egress_vlan;   /**< 0: untagged, else VLAN id pushed/rewritten */
	bool rewrite_mac;       /**< next_hop_mac given: L3-style MAC rewrite */
	uint8_t next_hop_mac[6];
	bool proxy_arp;         /**< answer ARP/ND for this stage's traffic */
	struct conf_pos pos;
};

/** One classification rule: traffic matching it belongs to @c stage. */
struct conf_match {
	uint16_t stage;         /**< index in umbra_conf.stages */
	/** Higher wins: explicit priority * 4096 + (4095 - rule index), so
	 * an explicit priority beats file order and an earlier rule beats a
	 * later one. Always below 2^28 (rte_acl's limit is 2^29 - 1). */
	uint32_t priority;
	int32_t port;           /**< ingress port index or CONF_ANY */
	int32_t vlan;           /**< VLAN id, CONF_VLAN_UNTAGGED, or CONF_ANY */
	int32_t proto;          /**< IP protocol or CONF_ANY */
	struct conf_prefix src;
	struct conf_prefix dst;
	struct conf_range dport;
	struct conf_pos pos;
};

/** One inter-stage rule (YAML flows:). */
struct conf_flow_rule {
	char name[CONF_NAME_MAX];
	uint16_t from;          /**< stage index */
	uint16_t to;            /**< stage index */
	int32_t proto;          /**< IP protocol or CONF_ANY */
	struct conf_range sport;
	struct conf_range dport;
	bool allow;             /**< action: allow (default) or deny */
	struct conf_pos pos;
};

/** A compliance invariant (YAML policies:): @c from must never reach @c to. */
struct conf_policy {
	char name[CONF_NAME_MAX];
	uint16_t from;
	uint16_t to;
	int32_t proto;          /**< CONF_ANY: every protocol */
	struct conf_range dport;
	struct conf_pos pos;
};

struct conf_flow_table {
	uint32_t size;                 /**< entries per worker */
	uint32_t tcp_closed_timeout_ms;/**< after FIN both ways or RST */
	uint32_t tcp_idle_timeout_s;
	uint32_t udp_idle_timeout_s;
	uint32_t other_idle_timeout_s;
};

/** Packet buffer pool (YAML mempool:). Zero values mean "derive". */
struct conf_mempool {
	uint32_t mbufs;                /**< 0: sized from ports, queues, workers */
	uint16_t data_room;            /**< bytes per mbuf incl. headroom; 0: 2176 */
};

/** Management plane (YAML mgmt:); empty strings mean "not set". */
struct conf_mgmt {
	char socket[108];              /**< Unix socket path */
	char socket_group[CONF_NAME_MAX]; /**< group allowed on it */
	char state_dir[256];           /**< persisted generations */
	char http[64];                 /**< [ADDR:]PORT of the HTTP API */
	char http_token_file[256];     /**< bearer token for /api/v1/ */
};

struct umbra_conf {
	char file[256];                /**< name used in messages */
	struct conf_port ports[CONF_MAX_PORTS];
	uint16_t n_ports;
	struct conf_stage stages[CONF_MAX_STAGES];
	uint16_t n_stages;
	uint16_t default_stage;
	struct conf_match *matches;
	uint32_t n_matches;
	struct conf_flow_rule *flow_rules;
	uint32_t n_flow_rules;
	struct conf_policy *policies;
	uint32_t n_policies;
	struct conf_flow_table flow_table;
	struct conf_mempool mempool;
	struct conf_mgmt mgmt;
	uint32_t stats_interval_s;     /**< 0: no periodic stats */
};

/**
 * Load and validate a YAML file.
 *
 * @param path    file to read
 * @param err     on failure, "file:line:col: what is wrong" (NUL-terminated)
 * @param errlen  size of @p err
 * @return a configuration to release with conf_free(), or NULL on error.
 */
struct umbra_conf *conf_load_file(const char *path, char *err, size_t errlen);

/**
 * Load and validate YAML from memory; @p name stands for the file in messages.
 * Same contract as conf_load_file().
 */
struct umbra_conf *conf_load_string(const char *yaml, size_t len,
				    const char *name, char *err, size_t errlen);

/** Release a configuration (NULL is fine). */
void conf_free(struct umbra_conf *c);

/** Index of the stage called @p name, or -1. */
int conf_stage_index(const struct umbra_conf *c, const char *name);

/** Index of the port called @p name, or -1. */
int conf_port_index(const struct umbra_conf *c, const char *name);

/** Format "file:line:col: " + message into @p err (helper for validators). */
void conf_error_at(const struct umbra_conf *c, struct conf_pos pos,
		   char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
