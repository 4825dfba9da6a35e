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

#include "verdict.h"

#define CONF_NAME_MAX 32
#define CONF_DEV_MAX 1024
#define CONF_MAX_PORTS 16
#define CONF_MAX_STAGES 32
#define CONF_MAX_MATCHES 4096
#define CONF_MAX_FLOW_RULES 4096
#define CONF_MAX_POLICIES 256
#define CONF_MAX_SERVICES 64
#define CONF_MAX_BACKENDS 8       /**< per service */
#define CONF_MAX_SVC_MATCHES 16   /**< per service */
#define CONF_MAX_PIPELINE 8
#define CONF_MAX_HOOKS 64
#define CONF_MAX_SPLITS 64
#define CONF_MAX_ROLLOUT_STEPS 16
#define CONF_VERSION_MAX 64       /**< version label, with its NUL */
#define CONF_HOOK_ARGV_MAX 16     /**< argv entries of a hook command */
#define CONF_HOOK_ARG_LEN 256     /**< bytes of one argv entry, with its NUL */
#define CONF_MAX_FAULTS 64        /**< rules in faults:, and per chaos scenario */
#define CONF_MAX_SCENARIOS 32
#define CONF_MAX_SHADOWS 16       /**< shadow profiles (YAML and run time together) */
#define CONF_SHADOW_IGNORE_MAX 16 /**< ignored headers per shadow profile */
#define CONF_SHADOW_HDR_MAX 48    /**< bytes of an ignored header name, with its NUL */
#define CONF_MAX_DEVMESH 64       /**< DevMesh items of all stages together */
/** Largest file conf_read_file() reads (configurations, token files). */
#define CONF_FILE_MAX (16u << 20)
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

/**
 * True when address @p addr (network order, IPv4 in the first 4 bytes) of
 * family @p family (4 or 6) lies in prefix @p net_addr/@p len of
 * @p net_family; family 0 matches every address.
 */
static inline bool
conf_prefix_has(uint8_t net_family, uint8_t len, const uint8_t *net_addr,
		int family, const uint8_t *addr)
{
	uint8_t full = len / 8, rest = len % 8;

	if (net_family == 0)
		return true;
	if (net_family != family)
		return false;
	for (uint8_t i = 0; i < full; i++)
		if (addr[i] != net_addr[i])
			return false;
	return rest == 0 ||
	       ((addr[full] ^ net_addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/** Inclusive port range; {0, 65535} matches any. */
struct conf_range {
	uint16_t lo;
	uint16_t hi;
};

enum conf_port_role {
	CONF_PORT_STAGE = 0, /**< faces a stage network (servers) */
	CONF_PORT_UPLINK,    /**< faces clients / the rest of the network */
	CONF_PORT_SHADOW,    /**< faces a shadow network: everything it receives is umbra's */
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

/** Where traffic leaves: a port, a VLAN, optionally a next-hop MAC. */
struct conf_egress {
	uint16_t port;          /**< index in umbra_conf.ports */
	uint16_t vlan;          /**< 0: untagged, else VLAN id pushed/rewritten */
	bool rewrite_mac;       /**< next_hop_mac given: L3-style MAC rewrite */
	uint8_t next_hop_mac[6];
};

struct conf_stage {
	char name[CONF_NAME_MAX];
	struct conf_egress egress;
	bool proxy_arp;         /**< answer ARP/ND for this stage's traffic */
	/** Production traffic: faults on it need fault_policy.allow_production.
	 * Default: true for a stage named "production". */
	bool production;
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

/** A network segment where versions of a service run (services[].backends). */
struct conf_backend {
	char name[CONF_NAME_MAX];
	struct conf_egress egress;
	struct conf_pos pos;
};

/** Traffic that belongs to a service: destination prefix, protocol, ports. */
struct conf_svc_match {
	struct conf_prefix dst;
	int32_t proto;          /**< IP protocol or CONF_ANY */
	struct conf_range dport;
	struct conf_pos pos;
};

/** Backends of one stage for a service (services[].stages). */
struct conf_svc_stage {
	uint8_t n_backends;     /**< 0: the stage's own egress; 2: blue/green */
	uint8_t backends[2];    /**< indexes in conf_service.backends */
	char running[CONF_VERSION_MAX]; /**< version before any event ("" none) */
	struct conf_pos pos;
};

/** Gradual promotion: percent of new flows per step, and the hold between. */
struct conf_rollout {
	uint8_t n_steps;        /**< 0: switch at once */
	uint32_t steps_bp[CONF_MAX_ROLLOUT_STEPS]; /**< basis points, rising, last 10000 */
	uint32_t hold_s;        /**< seconds at each step before the next */
	uint16_t stage;         /**< stage it applies to (default: last of the pipeline) */
};

/** A release-managed service (YAML services:). */
/** How a service's releases are judged (verdict:). */
struct conf_verdict {
	bool enabled;                  /**< judge releases (default: yes) */
	bool gate;                     /**< manual_approval needs the version's GO */
	uint32_t sample_bp;            /**< share of flows watched, basis points */
	uint32_t sample_seed;          /**< flow-hash seed of that sample */
	struct verdict_conf vc;        /**< tests, effects, alpha, bake */
	struct conf_pos pos;
};

struct conf_service {
	char name[CONF_NAME_MAX];
	struct conf_svc_match matches[CONF_MAX_SVC_MATCHES];
	uint8_t n_matches;
	struct conf_backend backends[CONF_MAX_BACKENDS];
	uint8_t n_backends;
	struct conf_svc_stage stages[CONF_MAX_STAGES]; /**< by stage index */
	struct conf_rollout rollout;
	struct conf_verdict verdict;
	struct conf_pos pos;
};

/** Events that move a release into a pipeline stage. */
enum conf_wf_trigger {
	CONF_WF_CODE_COMMIT = 0,
	CONF_WF_AUTO,           /**< as soon as the previous stage's transition ends */
	CONF_WF_TEST_COMPLETION,
	CONF_WF_MANUAL_APPROVAL,
};

/** One pipeline step (workflow.pipeline[]). */
struct conf_wf_step {
	uint16_t stage;
	uint8_t on;             /**< enum conf_wf_trigger */
	struct conf_pos pos;
};

/** When a hook runs, relative to publishing the transition's generation. */
enum conf_hook_when {
	CONF_HOOK_BEFORE = 0,   /**< failing: nothing is published */
	CONF_HOOK_AFTER,        /**< failing: the previous steering is restored */
};

/** An operator command run on a transition (workflow.hooks[]). */
struct conf_hook {
	char name[CONF_NAME_MAX];
	uint16_t stage;         /**< runs when a release enters this stage */
	int16_t service;        /**< service index, or -1: every service */
	uint8_t when;           /**< enum conf_hook_when */
	uint32_t timeout_ms;
	char argv[CONF_HOOK_ARGV_MAX][CONF_HOOK_ARG_LEN];
	uint8_t argc;
	char undo[CONF_HOOK_ARGV_MAX][CONF_HOOK_ARG_LEN]; /**< run by a rollback */
	uint8_t undo_argc;
	struct conf_pos pos;
};

/** Release workflow (YAML workflow:). */
struct conf_workflow {
	struct conf_wf_step pipeline[CONF_MAX_PIPELINE];
	uint8_t n_pipeline;     /**< default: dev, test, staging, production */
	struct conf_hook *hooks;
	uint32_t n_hooks;
	uint32_t hook_timeout_ms; /**< default for hooks without timeout_s */
	/**
	 * workflow.history: transitions kept in memory (and workflow.json),
	 * CONF_WORKFLOW_HISTORY_DEFAULT unless set. With a state directory
	 * every transition also goes to history.db and memory keeps at most
	 * the window (WORKFLOW_WINDOW, 256); without one this is all there is.
	 */
	uint32_t history_max;
};

/** workflow.history's default: the window a history database keeps in memory too. */
#define CONF_WORKFLOW_HISTORY_DEFAULT 256

/** Network splitting: a segment of a stage's new flows goes elsewhere. */
struct conf_split {
	char name[CONF_NAME_MAX];
	uint16_t stage;         /**< stage whose flows are split */
	int16_t service;        /**< only this service's flows, or -1 */
	struct conf_prefix src; /**< client prefix, or family 0 */
	uint16_t hash_lo;       /**< flow-hash range [lo, hi] out of 0..65535 */
	uint16_t hash_hi;
	int16_t to_stage;       /**< send to this stage's egress, or -1 */
	int16_t to_backend;     /**< or to this backend of @c service, or -1 */
	struct conf_pos pos;
};

/**
 * Kinds of fault, in the order they act on a packet (see lib/fault):
 * outages first, then answers in place of the packet, then what changes
 * whether, what and when the remaining packets are sent.
 */
enum conf_fault_kind {
	CONF_FAULT_PARTITION = 0,   /**< cut flows between two stages */
	CONF_FAULT_BLACKHOLE,       /**< drop everything matched (outage) */
	CONF_FAULT_SYN_DROP,        /**< drop TCP SYNs (connects time out) */
	CONF_FAULT_ICMP_UNREACHABLE,/**< answer with ICMP unreachable, drop */
	CONF_FAULT_DNS_SERVFAIL,    /**< answer DNS queries with SERVFAIL, drop */
	CONF_FAULT_RESET,           /**< RST toward both ends, drop */
	CONF_FAULT_LOSS,            /**< random or Gilbert-Elliott loss */
	CONF_FAULT_BANDWIDTH,       /**< token bucket; over the rate: dropped */
	CONF_FAULT_CORRUPT,         /**< bit flips in the L4 header or payload */
	CONF_FAULT_DUPLICATE,       /**< extra copies */
	CONF_FAULT_REORDER,         /**< hold a packet so later ones overtake it */
	CONF_FAULT_DELAY,           /**< constant + jitter */
	CONF_FAULT_KIND_MAX
};

/** Which direction of a flow a fault acts on. */
enum conf_fault_dir {
	CONF_FAULT_BOTH = 0,
	CONF_FAULT_TO_SERVER,       /**< the direction of the flow's first packet */
	CONF_FAULT_TO_CLIENT,
};

/** How a fault picks what it acts on, among the packets its target matches. */
enum conf_fault_select {
	CONF_SELECT_PACKET = 0,     /**< each packet with @c probability */
	CONF_SELECT_FLOW,           /**< whole flows: seeded flow hash < probability */
};

enum conf_fault_dist {
	CONF_DIST_UNIFORM = 0,      /**< delay +- jitter, flat */
	CONF_DIST_NORMAL,           /**< mean delay, standard deviation jitter */
	CONF_DIST_PARETO,           /**< delay + pareto tail of scale jitter */
};

enum conf_loss_model {
	CONF_LOSS_RANDOM = 0,       /**< every selected packet is lost */
	CONF_LOSS_GILBERT_ELLIOTT,  /**< two-state bursts (p, r, loss_good, loss_bad) */
};

/** One fault rule (YAML faults:, chaos scenarios, or `fault add`). */
struct conf_fault {
	char name[CONF_NAME_MAX];
	uint8_t kind;           /**< enum conf_fault_kind */
	/* Target: every field given must match (flow's stage, originator's
	 * stage, service; 5-tuple as seen from the client). */
	int16_t stage;          /**< stage index or -1 */
	int16_t from_stage;     /**< stage index or -1 */
	int16_t service;        /**< service index or -1 */
	/** Shadow profile whose traffic (umbra's packets toward its shadow
	 * network) the rule acts on, instead of the flows themselves; "" none. */
	char shadow[CONF_NAME_MAX];
	uint8_t direction;      /**< enum conf_fault_dir */
	int32_t proto;          /**< IP protocol or CONF_ANY */
	struct conf_prefix src; /**< client (flow originator) side */
	struct conf_prefix dst; /**< server side */
	struct conf_range sport;
	struct conf_range dport;
	/* Selection. */
	uint8_t select;         /**< enum conf_fault_select */
	double probability;     /**< 0..1, default 1 */
	uint32_t seed;
	/* Parameters of the kind (the others are zero). */
	uint64_t delay_ns;      /**< delay */
	uint64_t jitter_ns;     /**< delay */
	uint8_t distribution;   /**< delay: enum conf_fault_dist */
	bool keep_order;        /**< delay: never reorder a flow's packets */
	uint8_t loss_model;     /**< loss: enum conf_loss_model */
	double ge_p;            /**< loss GE: P(good -> bad) per packet */
	double ge_r;            /**< loss GE: P(bad -> good) per packet */
	double ge_loss_good;    /**< loss GE: loss probability in good state */
	double ge_loss_bad;     /**< loss GE: loss probability in bad state */
	uint8_t copies;         /**< duplicate: extra copies (default 1) */
	uint64_t hold_ns;       /**< reorder: how long a chosen packet is held */
	uint8_t bits;           /**< corrupt: bits flipped (default 1) */
	bool fix_checksum;      /**< corrupt: recompute L4 checksum */
	uint64_t rate_Bps;      /**< bandwidth: bytes per second */
	uint32_t burst_bytes;   /**< bandwidth: bucket size */
	uint8_t icmp_code;      /**< icmp_unreachable: ICMPv4 code */
	bool both_ways;         /**< partition: also stage -> from_stage */
	bool new_flows_only;    /**< partition: flows begun before it go on */
	uint64_t duration_ns;   /**< lease; 0: none (rules of the config) */
	struct conf_pos pos;
};

/** A named bundle of faults (YAML chaos:), started with a duration. */
struct conf_scenario {
	char name[CONF_NAME_MAX];
	char description[128];
	struct conf_fault faults[CONF_MAX_FAULTS];
	uint32_t n_faults;
	uint64_t duration_ns;   /**< default when started without one */
	struct conf_pos pos;
};

/** How a shadow profile reads the exchanges it compares. */
enum conf_shadow_compare {
	CONF_COMPARE_AUTO = 0,  /**< DNS for UDP port 53, else HTTP/1.x (bytes if not HTTP) */
	CONF_COMPARE_HTTP,
	CONF_COMPARE_DNS,
	CONF_COMPARE_BYTES,
};

/**
 * A shadow profile (YAML shadows:, or shadow/create): which flows are
 * cloned, whole, to a shadow network, and how its answers are compared.
 */
struct conf_shadow {
	char name[CONF_NAME_MAX];
	/* Which traffic: flows of this stage (required), optionally of one
	 * service and a 5-tuple match seen from the client. */
	uint16_t stage;
	int16_t service;        /**< service index or -1 */
	/** The version the shadow network runs: the profile's verdict belongs
	 *  to that release of service ("": none). */
	char version[CONF_VERSION_MAX];
	int32_t proto;          /**< IP protocol or CONF_ANY */
	struct conf_prefix src; /**< client side */
	struct conf_prefix dst; /**< server side */
	struct conf_range sport;
	struct conf_range dport;
	double fraction;        /**< share of new flows, 0..1 (default 0.1) */
	uint32_t seed;          /**< flow hash seed */
	uint64_t ttl_ns;        /**< the profile ends this long after it starts; 0: never */
	uint32_t max_pps;       /**< shadow packets per second per worker; 0: no cap */
	uint32_t burst;         /**< packets the cap lets through at once (default 64) */
	struct conf_egress egress;  /**< the shadow network (port with role shadow) */
	bool has_control;       /**< also clone to a control replica of production */
	struct conf_egress control;
	uint8_t compare;        /**< enum conf_shadow_compare */
	uint64_t response_timeout_ns; /**< a side silent this long: no answer (2 s) */
	uint32_t max_sessions;  /**< shadowed flows at once per worker (4096) */
	uint8_t early_segments; /**< client segments held per flow until the shadow's handshake (8) */
	bool shed;              /**< new flows are not shadowed while the worker is overloaded (true) */
	uint8_t n_ignore;
	char ignore_headers[CONF_SHADOW_IGNORE_MAX][CONF_SHADOW_HDR_MAX]; /**< lower case */
	struct conf_pos pos;
};

/** DevMesh modes of a development stage (stages[].devmesh[].mode). */
enum conf_devmesh_mode {
	CONF_DEVMESH_EXTENSION = 0, /**< services the stage lacks: production's instance */
	CONF_DEVMESH_MIRROR,        /**< production's flows copied to the stage's replica */
};

/**
 * One DevMesh item of a development stage (stages[].devmesh). An
 * extension hands the stage's new flows for a service it does not run to
 * @c production's instance (their to-stage becomes @c production, so an
 * allow rule in flows: must let them through); a mirror copies
 * @c production's flows of @c service to the stage's replica through a
 * generated shadow profile.
 */
struct conf_devmesh {
	uint16_t stage;         /**< the development stage */
	uint16_t production;    /**< the stage it extends to, or mirrors from */
	int16_t service;        /**< service index; -1: every service @c stage
				     does not run (extension only) */
	uint8_t mode;           /**< enum conf_devmesh_mode */
	int16_t shadow;         /**< mirror: its profile's index in shadows; else -1 */
	struct conf_pos pos;
};

/** Limits on faults (YAML fault_policy:). */
struct conf_fault_policy {
	bool allow_production;  /**< faults may touch production traffic */
	uint64_t default_lease_ns; /**< run-time faults without a duration (300 s) */
	uint64_t max_lease_ns;  /**< longest lease accepted (24 h) */
	uint32_t max_inflight;  /**< delayed packets held per worker (65536) */
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

/** Retention of generation snapshots in the state directory (YAML
 * snapshots:); the current generation and the workflow's rollback points
 * are always kept. */
struct conf_snapshots {
	uint32_t keep;                 /**< newest kept (default 100) */
	uint32_t keep_days;            /**< also drop older than this; 0: no age limit */
};

/** Management plane (YAML mgmt:); empty strings mean "not set". */
struct conf_mgmt {
	char socket[108];              /**< Unix socket path */
	char socket_group[CONF_NAME_MAX]; /**< group allowed on it */
	char state_dir[256];           /**< persisted generations */
	char http[64];                 /**< [ADDR:]PORT of the HTTP API */
	char http_token_file[256];     /**< bearer token for /api/v1/ */
	char config_dir[256];          /**< config/validate|apply paths must be inside */
	uint32_t client_timeout_s;     /**< idle socket clients closed after; 0: default */
};

/** How a canary's dependency graph is compared with its control's (graph:). */
struct conf_graph {
	double threshold;              /**< deviation that rolls back (0.20) */
	uint32_t min_gap_ms;           /**< an edge is new or missing only after */
	double k_gap;                  /**< k_gap x max(its gap, min_gap_ms) (2 x 60 s) */
	uint32_t min_flows;            /**< flows before a new edge counts (5) */
	uint32_t golden_bake_ms;       /**< GO held this long: golden graph saved (60 s; 0 never) */
	uint32_t max_edges;            /**< edge table, read at start (65536) */
	uint32_t max_names;            /**< DNS name cache addresses, read at start (16384) */
	uint32_t max_registry;         /**< service registry entries, read at start (4096) */
};

/** URLs notified of decisions and transitions, at most. */
#define CONF_NOTIFY_URLS_MAX 8

/** Where decisions and transitions are POSTed (notify:). */
struct conf_notify {
	char urls[CONF_NOTIFY_URLS_MAX][256];
	uint32_t n_urls;
	uint32_t queue;                /**< waiting per URL */
	uint32_t attempts;             /**< tries per notification */
	uint32_t timeout_ms;           /**< per try */
	uint32_t backoff_ms;           /**< first retry delay, doubled each time */
};

/** Top-level keys a fleet member may keep from its own file (fleet: local:). */
#define CONF_FLEET_LOCAL_KEYS 5
extern const char *const conf_fleet_local_keys[CONF_FLEET_LOCAL_KEYS];

/** etcd endpoints of a fleet, at most. */
#define CONF_FLEET_ENDPOINTS_MAX 8

/**
 * Membership of a fleet (fleet:): the etcd cluster that holds the desired
 * configuration, the members and the decisions. Read from the -c file at
 * start only; absent: standalone (enabled false).
 */
struct conf_fleet {
	bool enabled;
	char etcd[CONF_FLEET_ENDPOINTS_MAX][128]; /**< http://IP:PORT each */
	uint32_t n_etcd;
	char id[64];                   /**< this appliance's name in the fleet */
	char prefix[128];              /**< /umbra/CLUSTER: every key under it */
	uint32_t lease_ttl_s;          /**< member key's lease (3 s) */
	uint32_t local;                /**< keys kept from this box (fleet: local:), bits
					    of conf_fleet_local_keys */
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
	struct conf_service *services;
	uint32_t n_services;
	struct conf_workflow workflow;
	struct conf_split *splits;
	uint32_t n_splits;
	uint32_t steer_seed;           /**< seed of the flow hash (canary, splits) */
	struct conf_fault *faults;     /**< permanent rules (no lease) */
	uint32_t n_faults;
	struct conf_scenario *scenarios;
	uint32_t n_scenarios;
	struct conf_fault_policy fault_policy;
	struct conf_shadow *shadows;
	uint32_t n_shadows;
	struct conf_devmesh *devmesh;  /**< stages[].devmesh items, in file order */
	uint32_t n_devmesh;
	struct conf_flow_table flow_table;
	struct conf_mempool mempool;
	struct conf_mgmt mgmt;
	uint32_t stats_interval_s;     /**< 0: no periodic stats */
	struct conf_snapshots snapshots;
	struct conf_notify notify;
	struct conf_graph graph;
	struct conf_fleet fleet;
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

/**
 * Read an operator-given file whole, safely: the path is opened without
 * following a symbolic link in its last component and without blocking,
 * and only a regular file of at most CONF_FILE_MAX bytes is read (a FIFO,
 * a device, a directory, a link or a bigger file is a clear error at once).
 * What was checked is what is read (no second lookup of the name).
 *
 * @param path    the file; with @p dir, relative to @p dir or an absolute
 *                path inside it
 * @param dir     NULL or "": any path; else the directory the file must be
 *                in: ".." components and symbolic links anywhere in the
 *                path are refused, with one message that says nothing about
 *                files outside @p dir
 * @param len     the length read (the buffer also ends with a NUL)
 * @param err     on failure, "path: what is wrong"
 * @return the contents (free() it), or NULL.
 */
char *conf_read_file(const char *path, const char *dir, size_t *len, char *err,
		     size_t errlen);

/** Release a configuration (NULL is fine). */
void conf_free(struct umbra_conf *c);

/** Index of the stage called @p name, or -1. */
int conf_stage_index(const struct umbra_conf *c, const char *name);

/** Index of the service called @p name, or -1. */
int conf_service_index(const struct umbra_conf *c, const char *name);

/** Index of backend @p name of service @p svc, or -1. */
int conf_backend_index(const struct conf_service *svc, const char *name);

/** Position of stage @p stage in the workflow pipeline, or -1. */
int conf_pipeline_index(const struct umbra_conf *c, uint16_t stage);

/** Index of the chaos scenario called @p name, or -1. */
int conf_scenario_index(const struct umbra_conf *c, const char *name);

/**
 * Parse one fault rule given as a YAML or JSON mapping (`fault add`), with
 * the same fields and checks as an item of faults:, names resolved against
 * @p c. @p name stands for the file in messages.
 * @return 0, or -1 with "name:line:col: what is wrong" in @p err.
 */
int conf_fault_parse(const struct umbra_conf *c, const char *text, size_t len,
		     const char *name, struct conf_fault *out, char *err,
		     size_t errlen);

/**
 * True when @p f can act on production traffic: its target names a
 * production stage (as stage or from_stage), or names no stage at all
 * while some stage is a production stage.
 */
bool conf_fault_touches_production(const struct umbra_conf *c,
				   const struct conf_fault *f);

/**
 * A duration as the configuration writes it ("200ms", "1.5s", "5m"), in
 * nanoseconds. @return 0, or -1 when it is not one.
 */
int conf_duration_parse(const char *s, uint64_t *ns);

/** Index of the shadow profile called @p name, or -1. */
int conf_shadow_index(const struct umbra_conf *c, const char *name);

/**
 * Parse one shadow profile given as a YAML or JSON mapping
 * (shadow/create), with the same fields and checks as an item of
 * shadows:, names resolved against @p c.
 * @return 0, or -1 with "name:line:col: what is wrong" in @p err.
 */
int conf_shadow_parse(const struct umbra_conf *c, const char *text, size_t len,
		      const char *name, struct conf_shadow *out, char *err,
		      size_t errlen);

/**
 * True when the configuration runs @p svc in @p stage (services[].stages
 * names a running version or backends there): the stage serves it locally.
 */
bool conf_service_runs_in(const struct conf_service *svc, uint16_t stage);

/**
 * The DevMesh extension of @p stage that covers @p service (one naming it,
 * else one for every service), or NULL. Whether the stage runs the service
 * is the caller's question (the steering state can add it to a stage).
 */
const struct conf_devmesh *conf_devmesh_extension(const struct umbra_conf *c,
						  uint16_t stage, uint16_t service);

/** Stable name of a fault kind ("delay", "icmp_unreachable"). */
const char *conf_fault_kind_name(uint8_t kind);

/** Index of the port called @p name, or -1. */
int conf_port_index(const struct umbra_conf *c, const char *name);

/** Format "file:line:col: " + message into @p err (helper for validators). */
void conf_error_at(const struct umbra_conf *c, struct conf_pos pos,
		   char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
