/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Dependency map, management half: who talks to whom in each stage, with
 * names, a golden graph per stage and a deviation score for releases.
 *
 * The workers deliver one typed record per flow event (struct
 * graph_flow_record: NEW at a flow's first packet, UPDATE now and then
 * for long flows, END when it closes) and the DNS answers they see
 * (struct graph_dns_answer). On the management core:
 *
 *  - an edge table (graph_edges_*) keeps, per stage, client identity
 *    (the client's service when the data path knows it, else its
 *    address), server address, port and protocol, and the client's cohort:
 *    flows, bytes, first and last sighting, errors, resets, latency and
 *    the largest gap between sightings. Fixed capacity; when full the
 *    least recently sighted edge is evicted and counted;
 *  - a DNS name cache (graph_dns_*) maps each answered address to the
 *    name that was asked, through CNAME chains, until the TTL; past it a
 *    name still in use is kept as stale (a few per name), never given to
 *    a new flow;
 *  - a service registry (graph_registry_*): the configuration's services
 *    (permanent), run-time registrations with a TTL renewed by
 *    heartbeats, and host agents' reports;
 *  - snapshots (graph_snap_*): a stage's graph as a sorted array, packed
 *    into bytes for storage (the history database keeps golden graphs);
 *    golden graphs are versioned snapshots (graph_golden_*, in memory:
 *    the caller's cache of its store);
 *  - graph_diff() compares two snapshots (new, missing, changed edges;
 *    an edge is missing only when silent longer than k times its largest
 *    gap) and scores the traffic-weighted share of missing and new edges;
 *    graph_watch_*() runs it for a service's canary cohort against its
 *    control cohort over the same window;
 *  - graph_dot_write() draws a snapshot in Graphviz DOT with names.
 *
 * Pure: no EAL, no I/O but the DOT writer's FILE *, no allocation after
 * create; the clock is the caller's (milliseconds). Results are typed
 * structs; JSON belongs to the caller. Not thread-safe: one owner (the
 * management loop).
 */
#ifndef UMBRA_GRAPH_H
#define UMBRA_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** "Any" in filters (stage, service, cohort). */
#define GRAPH_ANY 0xffffu
/** Record's service field: the client is no known service. */
#define GRAPH_SERVICE_NONE 0xff
/** Service indexes: 0 .. GRAPH_SERVICES_MAX - 1 (steer's). */
#define GRAPH_SERVICES_MAX 255
/** Cohorts: control (or none) and canary. */
#define GRAPH_COHORT_CONTROL 0
#define GRAPH_COHORT_CANARY 1

/** A DNS name with its terminating NUL (253 characters at most). */
#define GRAPH_DNS_NAME_MAX 256
/** Service names and versions, with the NUL. */
#define GRAPH_SVC_NAME_MAX 64
#define GRAPH_VERSION_MAX 32

/* ------------------------------------------------------------------ */
/* Records from the data path                                          */

/** Flow record kinds: id, name. */
#define GRAPH_RECORD_KINDS(X) \
	X(NEW, "new")       /* a flow's first packet: one more flow */ \
	X(UPDATE, "update") /* a long flow is still there: bytes since the last record */ \
	X(END, "end")       /* the flow closed: bytes since the last record, rtt, reset, error */

/** Flow record kinds. */
enum graph_record_kind {
#define GRAPH_KIND_ENUM(id, name) GRAPH_REC_##id,
	GRAPH_RECORD_KINDS(GRAPH_KIND_ENUM)
#undef GRAPH_KIND_ENUM
	GRAPH_REC_MAX
};

/** Record kind names, by id. */
extern const char *const graph_record_kind_names[GRAPH_REC_MAX];

/** One flow event as the workers deliver it. */
struct graph_flow_record {
	uint8_t family;          /**< 4 or 6 */
	uint8_t proto;           /**< IP protocol (6 TCP, 17 UDP, ...) */
	uint8_t client_ip[16];   /**< the flow's initiator (IPv4: first 4 bytes) */
	uint8_t server_ip[16];
	uint16_t server_port;
	uint16_t stage;
	uint8_t service;         /**< the client's service (steer's index), 0xff none */
	uint8_t cohort;          /**< the client's cohort: 0 none/control, 1 canary */
	uint8_t kind;            /**< enum graph_record_kind */
	uint64_t bytes;          /**< both directions, since this flow's last record */
	uint32_t rtt_us;         /**< handshake or first answer latency, 0 unknown */
	uint8_t reset;           /**< the flow was reset */
	uint8_t error;           /**< the flow failed (refused, timed out, error answer) */
	uint64_t ts_ms;
};

/** DNS record types the name cache uses (wire values). */
enum graph_rr_type {
	GRAPH_RR_A = 1,
	GRAPH_RR_CNAME = 5,
	GRAPH_RR_AAAA = 28,
};

/** Records in one answer the cache looks at (more are counted, ignored). */
#define GRAPH_DNS_RR_MAX 16

/** One resource record of an answer section. */
struct graph_dns_rr {
	uint16_t type;                    /**< enum graph_rr_type */
	uint32_t ttl_s;
	char owner[GRAPH_DNS_NAME_MAX];
	char target[GRAPH_DNS_NAME_MAX];  /**< CNAME: the canonical name */
	uint8_t addr[16];                 /**< A: first 4 bytes; AAAA: 16 */
};

/** One DNS answer seen crossing umbra (parsed by the workers' side). */
struct graph_dns_answer {
	char qname[GRAPH_DNS_NAME_MAX];   /**< the name that was asked */
	uint64_t ts_ms;
	uint16_t n_rr;
	struct graph_dns_rr rr[GRAPH_DNS_RR_MAX];
};

/**
 * Parse a DNS message's first @p len bytes (as a worker copied them) into
 * @p out: the first question's name and the answer section's A, AAAA and
 * CNAME records (owner names decompressed, lower case, no trailing dot;
 * at most GRAPH_DNS_RR_MAX; a message cut short keeps what was read).
 * @return 0, or -1 when it is no error-free response with a question, or
 * is malformed before its answers (graph_wire.c).
 */
int graph_dns_parse(const uint8_t *msg, size_t len, uint64_t ts_ms,
		    struct graph_dns_answer *out);

/* ------------------------------------------------------------------ */
/* Edges                                                               */

/** How an edge's client is identified. */
enum graph_client_kind {
	GRAPH_CLIENT_ADDR = 0,    /**< client[] is the client's address */
	GRAPH_CLIENT_SERVICE = 1, /**< client[0] is the client's service index */
};

/** An edge's identity (40 bytes). */
struct graph_key {
	uint8_t client[16];
	uint8_t server[16];
	uint16_t server_port;
	uint16_t stage;
	uint8_t family;
	uint8_t proto;
	uint8_t cohort;
	uint8_t client_kind;      /**< enum graph_client_kind */
};

/** What an edge has seen. */
struct graph_edge_stats {
	uint64_t flows;           /**< NEW records */
	uint64_t bytes;
	uint64_t first_ms, last_ms; /**< first and last sighting (any record) */
	uint32_t errors, resets;
	uint32_t rtt_avg_us;      /**< moving average (1/8), 0 none yet */
	uint32_t rtt_max_us;
	uint32_t max_gap_ms;      /**< largest gap between two sightings */
	uint32_t active;          /**< NEW minus END (lost ENDs leave it high) */
};

/** The edge table's counters. */
struct graph_edges_info {
	uint32_t count, capacity;
	uint64_t records;         /**< records taken */
	uint64_t invalid;         /**< records refused: bad family or kind */
	uint64_t inserted;        /**< edges created */
	uint64_t evicted;         /**< edges evicted (least recently sighted) */
	size_t memory_bytes;      /**< everything the table holds, fixed at create */
};

struct graph_edges;

/**
 * Create an edge table for @p capacity edges (1 .. 2^30); all its memory
 * is taken now. @return the table, or NULL.
 */
struct graph_edges *graph_edges_create(uint32_t capacity);
/** Free @p t (NULL is fine). */
void graph_edges_free(struct graph_edges *t);
/** Forget every edge (counters kept). */
void graph_edges_clear(struct graph_edges *t);

/** The key a record belongs to. @return 0, or -1 for a bad family. */
int graph_key_of(const struct graph_flow_record *r, struct graph_key *k);

/**
 * Account one record: create its edge if needed (evicting the least
 * recently sighted one when full), then its counters.
 * @return 0, or -1 for a record refused (counted in invalid).
 */
int graph_edges_add(struct graph_edges *t, const struct graph_flow_record *r);

/** The stats of edge @p k, or NULL. */
const struct graph_edge_stats *graph_edges_find(const struct graph_edges *t,
						const struct graph_key *k);

/** Counters and memory. */
void graph_edges_info(const struct graph_edges *t, struct graph_edges_info *info);

/**
 * Visit every edge, most recently sighted first; stops when @p fn
 * returns non-zero. @return that value, or 0.
 */
int graph_edges_foreach(const struct graph_edges *t,
			int (*fn)(void *ctx, const struct graph_key *k,
				  const struct graph_edge_stats *s),
			void *ctx);

/* ------------------------------------------------------------------ */
/* DNS names                                                           */

/** Where a name comes from (id, name). */
#define GRAPH_NAME_SOURCES(X) \
	X(NONE, "none")           /* no name: shown as the address */ \
	X(SERVICE, "service")     /* the service table (steer's services) */ \
	X(REGISTRY, "registry")   /* the service registry */ \
	X(DNS, "dns")             /* a DNS answer within its TTL */ \
	X(DNS_STALE, "dns-stale") /* past its TTL, kept because flows still use it */

/** Name sources. */
enum graph_name_src {
#define GRAPH_SRC_ENUM(id, name) GRAPH_NAME_##id,
	GRAPH_NAME_SOURCES(GRAPH_SRC_ENUM)
#undef GRAPH_SRC_ENUM
	GRAPH_NAME_SRC_MAX
};

/** Name source names, by id. */
extern const char *const graph_name_src_names[GRAPH_NAME_SRC_MAX];

/** How the name cache behaves. */
struct graph_dns_conf {
	uint32_t max_addrs;       /**< addresses mapped at most (also bounds names) */
	uint32_t stale_per_name;  /**< stale addresses kept per name (4) */
	uint32_t linger_ms;       /**< "in use": a sighting within this (300000) */
	uint32_t min_ttl_s;       /**< TTLs below are raised to this (0) */
	uint32_t max_ttl_s;       /**< TTLs above are cut to this (86400) */
};

/** Who asks for a name: a new flow gets fresh names only. */
enum graph_dns_use {
	GRAPH_DNS_NEW_FLOW = 0,   /**< fresh only; marks the mapping in use */
	GRAPH_DNS_FLOW,           /**< an existing flow: fresh or stale; marks it in use */
	GRAPH_DNS_PEEK,           /**< display: fresh or stale; changes nothing */
};

/** The name cache's counters. */
struct graph_dns_info {
	uint32_t addrs, names, stale;
	uint64_t answers;         /**< answers taken */
	uint64_t mapped;          /**< address mappings made or renewed */
	uint64_t rr_ignored;      /**< records not on the asked name's chain, or over the limit */
	uint64_t chain_too_long;  /**< CNAME chains cut at GRAPH_DNS_CHAIN_MAX */
	uint64_t expired;         /**< mappings dropped past TTL, unused */
	uint64_t stale_capped;    /**< stale mappings dropped over the per-name cap */
	uint64_t evicted;         /**< mappings evicted when full (least recently used) */
	size_t memory_bytes;
};

/** CNAME links followed from the asked name, at most. */
#define GRAPH_DNS_CHAIN_MAX 8

struct graph_dns;

/** Fill @p c with the defaults for @p max_addrs addresses. */
void graph_dns_conf_default(struct graph_dns_conf *c, uint32_t max_addrs);
/** Create a name cache; all its memory is taken now. @return it, or NULL. */
struct graph_dns *graph_dns_create(const struct graph_dns_conf *c);
/** Free @p d (NULL is fine). */
void graph_dns_free(struct graph_dns *d);

/**
 * Take one answer: follow the CNAME chain from the asked name and map
 * every A/AAAA address on it to the asked name, until now + the
 * smallest TTL on the way to it.
 * @return addresses mapped.
 */
unsigned int graph_dns_add_answer(struct graph_dns *d, const struct graph_dns_answer *a);

/**
 * The name of an address, for @p use. A mapping past its TTL that was
 * in use within linger_ms is stale: given to existing flows and
 * displays, never to a new flow.
 * @return the source (NONE, DNS or DNS_STALE); *name is set unless NONE.
 */
enum graph_name_src graph_dns_lookup(struct graph_dns *d, uint8_t family,
				     const uint8_t addr[16], uint64_t now_ms,
				     enum graph_dns_use use, const char **name);

/**
 * Expire and cap: visit at most @p budget mappings from where the last
 * call stopped (the loop calls it a slice at a time).
 * @return mappings dropped.
 */
unsigned int graph_dns_expire(struct graph_dns *d, uint64_t now_ms, uint32_t budget);

/** Counters and memory. */
void graph_dns_info(const struct graph_dns *d, struct graph_dns_info *info);

/* ------------------------------------------------------------------ */
/* Services: names for service indexes, and the registry               */

/** A service's name and the versions of its cohorts. */
struct graph_service_name {
	char name[GRAPH_SVC_NAME_MAX];            /**< "" unknown */
	char version[2][GRAPH_VERSION_MAX];      /**< by cohort: control, canary */
};

/** Names of the data path's service indexes (set from the configuration). */
struct graph_services {
	struct graph_service_name s[GRAPH_SERVICES_MAX];
};

/**
 * Name service index @p idx with its control and canary versions (NULL:
 * unchanged; longer strings are cut). @return 0, or -1 for a bad index.
 */
int graph_services_set(struct graph_services *s, unsigned int idx, const char *name,
		       const char *control_version, const char *canary_version);

/** Where a registry entry comes from (id, name). */
#define GRAPH_REG_SOURCES(X) \
	X(CONF, "config")  /* the configuration's services: permanent */ \
	X(API, "api")      /* service/register: TTL, renewed by heartbeats */ \
	X(AGENT, "agent")  /* a host agent's report: TTL */

/** Registry entry sources. */
enum graph_reg_source {
#define GRAPH_REG_ENUM(id, name) GRAPH_REG_##id,
	GRAPH_REG_SOURCES(GRAPH_REG_ENUM)
#undef GRAPH_REG_ENUM
	GRAPH_REG_SOURCE_MAX
};

/** Registry source names, by id. */
extern const char *const graph_reg_source_names[GRAPH_REG_SOURCE_MAX];

/** One service instance: a name at an address. */
struct graph_reg_entry {
	char name[GRAPH_SVC_NAME_MAX];   /**< letters, digits, '.', '-', '_' */
	char version[GRAPH_VERSION_MAX]; /**< may be empty */
	uint16_t stage;                  /**< GRAPH_ANY: every stage */
	uint8_t family;                  /**< 4 or 6 */
	uint8_t source;                  /**< enum graph_reg_source (set by the registry) */
	uint8_t addr[16];
	uint16_t port;                   /**< 0: any port */
	uint32_t ttl_s;                  /**< 0: permanent (CONF) */
	uint64_t registered_ms, renewed_ms;
	uint64_t expires_ms;             /**< UINT64_MAX: never */
};

/** The registry's counters. */
struct graph_registry_info {
	uint32_t count, capacity;
	uint64_t registered, renewed, deregistered, expired;
	uint64_t refused_full, refused_invalid;
	size_t memory_bytes;
};

struct graph_registry;

/** Create a registry of @p capacity entries. @return it, or NULL. */
struct graph_registry *graph_registry_create(uint32_t capacity);
/** Free @p r (NULL is fine). */
void graph_registry_free(struct graph_registry *r);

/**
 * Register (or renew: same name, stage, address and port) one entry with
 * @p source; @p e->ttl_s is its TTL (0 only for CONF). A heartbeat is
 * the same call again.
 * @return 0, -EINVAL (bad name, version, family or TTL), -ENOSPC (full;
 * nothing is evicted: the caller answers the error).
 */
int graph_registry_register(struct graph_registry *r, const struct graph_reg_entry *e,
			    enum graph_reg_source source, uint64_t now_ms);

/**
 * Remove @p name's entries: the one at (@p family, @p addr, @p port) in
 * @p stage, or all of them when @p addr is NULL. CONF entries stay.
 * @return entries removed.
 */
unsigned int graph_registry_deregister(struct graph_registry *r, const char *name,
				       uint16_t stage, uint8_t family,
				       const uint8_t *addr, uint16_t port);

/**
 * Replace every CONF entry with @p n entries (a new configuration).
 * @return 0, or the first refusal (entries before it are in).
 */
int graph_registry_set_conf(struct graph_registry *r, const struct graph_reg_entry *e,
			    unsigned int n, uint64_t now_ms);

/**
 * A host agent's periodic report: @p n entries (service, ip, port),
 * each registered as AGENT with @p ttl_s (three report periods, say).
 * @return entries taken; refusals are counted.
 */
unsigned int graph_registry_agent_report(struct graph_registry *r,
					 const struct graph_reg_entry *e, unsigned int n,
					 uint32_t ttl_s, uint64_t now_ms);

/** Drop entries past their TTL. @return entries dropped. */
unsigned int graph_registry_expire(struct graph_registry *r, uint64_t now_ms);

/**
 * The entry naming (@p family, @p addr, @p port) in @p stage: an exact
 * port first, then one registered for any port; entries past their TTL
 * are ignored. @return it, or NULL.
 */
const struct graph_reg_entry *graph_registry_lookup(const struct graph_registry *r,
						    uint16_t stage, uint8_t family,
						    const uint8_t addr[16], uint16_t port,
						    uint64_t now_ms);

/**
 * List: the next live entry after *cursor (start at 0). @return it, or NULL.
 */
const struct graph_reg_entry *graph_registry_next(const struct graph_registry *r,
						  uint32_t *cursor);

/** Counters and memory. */
void graph_registry_info(const struct graph_registry *r, struct graph_registry_info *info);

/* ------------------------------------------------------------------ */
/* Names for display                                                   */

/** What names endpoints: any part may be NULL. */
struct graph_namer {
	const struct graph_services *services;
	const struct graph_registry *registry;
	struct graph_dns *dns;             /**< peeked: nothing changes */
	uint64_t now_ms;
};

/**
 * Name a server endpoint: the registry, then DNS (fresh, then stale).
 * @return the source; @p buf holds the name, or the address when NONE.
 */
enum graph_name_src graph_name_server(const struct graph_namer *n, uint16_t stage,
				      uint8_t family, const uint8_t addr[16], uint16_t port,
				      char *buf, size_t len);

/**
 * Name an edge's client: its service (with the cohort's version), else
 * as graph_name_server() with port 0.
 * @return the source; @p buf holds the name, or the address when NONE.
 */
enum graph_name_src graph_name_client(const struct graph_namer *n, const struct graph_key *k,
				      char *buf, size_t len);

/** Address text ("10.0.0.1", "2001:db8::1") into @p buf. */
void graph_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Snapshots and golden graphs                                         */

/** Which edges a snapshot takes. */
struct graph_filter {
	uint16_t stage;           /**< or GRAPH_ANY */
	uint16_t service;         /**< the client's service index, or GRAPH_ANY */
	uint16_t cohort;          /**< or GRAPH_ANY (cohorts merged) */
};

/** One edge of a snapshot (96 bytes); the key's cohort is always 0. */
struct graph_snap_edge {
	struct graph_key key;
	struct graph_edge_stats st;
};

/** How a golden graph was captured (id, name). */
#define GRAPH_GOLDEN_ORIGINS(X) \
	X(COMMAND, "command")   /* graph/golden save */ \
	X(AUTO, "auto")         /* a release reached GO and baked */

/** Golden graph origins. */
enum graph_golden_origin {
#define GRAPH_ORIGIN_ENUM(id, name) GRAPH_GOLDEN_##id,
	GRAPH_GOLDEN_ORIGINS(GRAPH_ORIGIN_ENUM)
#undef GRAPH_ORIGIN_ENUM
	GRAPH_GOLDEN_ORIGIN_MAX
};

/** Golden origin names, by id. */
extern const char *const graph_golden_origin_names[GRAPH_GOLDEN_ORIGIN_MAX];

/** A graph at one time: edges sorted by key, one allocation at create. */
struct graph_snap {
	struct graph_filter filter;
	uint64_t from_ms;         /**< what it covers: from (first sighting, or delta's base)... */
	uint64_t taken_ms;        /**< ...to when it was taken */
	uint64_t flows, bytes;    /**< totals over its edges */
	uint32_t n, cap;
	uint32_t truncated;       /**< edges left out: over cap */
	uint32_t version;         /**< golden: its version (1, 2, ...); else 0 */
	uint8_t origin;           /**< golden: enum graph_golden_origin */
	char label[64];           /**< golden: why (e.g. "api 2.1 GO") */
	struct graph_snap_edge e[];
};

/** A snapshot for @p cap edges. @return it, or NULL. */
struct graph_snap *graph_snap_create(uint32_t cap);
/** Free @p s (NULL is fine). */
void graph_snap_free(struct graph_snap *s);

/**
 * Take the edges of @p t that pass @p f into @p s, sorted, cohorts of
 * the same edge merged when the filter takes any cohort.
 * @return edges in @p s (s->truncated counts those left out).
 */
uint32_t graph_snap_take(const struct graph_edges *t, const struct graph_filter *f,
			 uint64_t now_ms, struct graph_snap *s);

/**
 * What happened between @p base and @p cur (the same filter, taken
 * later): counts are cur minus base, sightings and gaps cur's; covers
 * base->taken_ms .. cur->taken_ms. Edges without a sighting since base
 * are kept with zero counts.
 * @return edges in @p out.
 */
uint32_t graph_snap_delta(const struct graph_snap *cur, const struct graph_snap *base,
			  struct graph_snap *out);

/** Copy @p src into @p dst (edges over dst->cap are counted as truncated). */
void graph_snap_copy(struct graph_snap *dst, const struct graph_snap *src);

/**
 * Bytes graph_snap_pack() writes for @p s: a header and the edges as they
 * are in memory (this build's layout, checked when read back). Not a
 * storage format: history.db keeps golden graphs as rows of named fields
 * and only reads such blobs to convert what an older umbra stored.
 */
size_t graph_snap_packed_size(const struct graph_snap *s);

/**
 * Write @p s into @p buf (graph_snap_packed_size() bytes) for storage.
 * @return bytes written, or 0 when @p len is too small.
 */
size_t graph_snap_pack(const struct graph_snap *s, void *buf, size_t len);

/**
 * Read a packed graph into @p s as stage @p stage's (the stage's index
 * may differ from when it was packed); label, version and origin are the
 * caller's. @return 0, -EINVAL (not a packed graph of this build's
 * layout), or -E2BIG (more edges than @p s holds).
 */
int graph_snap_unpack(const void *buf, size_t len, uint16_t stage, struct graph_snap *s);

/**
 * Sort the @p s->n edges of @p s by key and sum its totals: for a
 * snapshot whose e[] was filled by hand (read back from storage).
 */
void graph_snap_sort(struct graph_snap *s);

/** The edge of @p s with key @p k (cohort ignored), or NULL. */
const struct graph_snap_edge *graph_snap_find(const struct graph_snap *s,
					      const struct graph_key *k);

/** One golden graph, as graph/golden list shows it. */
struct graph_golden_info {
	uint16_t stage;
	uint32_t version;
	uint8_t origin;
	uint64_t taken_ms;
	uint32_t edges;
	uint64_t flows;
	char label[64];
};

struct graph_golden;

/**
 * A store of @p max_graphs golden graphs of up to @p max_edges edges
 * each, all preallocated. @return it, or NULL.
 */
struct graph_golden *graph_golden_create(uint32_t max_graphs, uint32_t max_edges);
/** Free @p g (NULL is fine). */
void graph_golden_free(struct graph_golden *g);

/**
 * Save @p s (a stage's snapshot) as the stage's next golden version.
 * When the store is full the oldest graph that is not its stage's
 * latest is dropped (counted).
 * @return the version (1, 2, ...), or -E2BIG (more edges than the
 * store's graphs hold), -EINVAL (no stage).
 */
int graph_golden_save(struct graph_golden *g, const struct graph_snap *s,
		      enum graph_golden_origin origin, const char *label);

/**
 * Put @p s in the store as @p stage's golden @p version (0: the next one),
 * e.g. a version read back from the history database, or numbered by it.
 * Later saves number after the highest version put.
 * @return the version, or -E2BIG, -EINVAL (no stage, or a version
 * already held).
 */
int graph_golden_put(struct graph_golden *g, const struct graph_snap *s, uint32_t version,
		     enum graph_golden_origin origin, const char *label);

/** Golden @p version of @p stage (0: the latest). @return it, or NULL. */
const struct graph_snap *graph_golden_get(const struct graph_golden *g, uint16_t stage,
					  uint32_t version);

/**
 * List the golden graphs of @p stage (GRAPH_ANY: all), oldest first.
 * @return how many there are (up to @p max written to @p out).
 */
unsigned int graph_golden_list(const struct graph_golden *g, uint16_t stage,
			       struct graph_golden_info *out, unsigned int max);

/** Golden graphs dropped because the store was full. */
uint64_t graph_golden_dropped(const struct graph_golden *g);

/**
 * A new configuration numbers the stages or services differently (a
 * store with no database behind it, which could read them again by
 * name): old stage i becomes @p stage_to[i] (GRAPH_ANY: gone, its graphs
 * dropped), old service i @p svc_to[i] (-1: gone, the edges of that
 * client left out and counted as truncated). Edges are sorted again.
 * Stages and services past @p n_stages, @p n_svcs are gone.
 */
void graph_golden_renumber(struct graph_golden *g, const uint16_t *stage_to,
			   unsigned int n_stages, const int16_t *svc_to, unsigned int n_svcs);

/** A release's version in a bake (a configuration's, with the NUL). */
#define GRAPH_BAKE_VERSION_MAX 64

/**
 * One service's release on its way to an automatic golden graph: its
 * canary must hold GO for the whole bake. Indexed by service; a new
 * configuration moves it along with its service (graph_bakes_follow()).
 */
struct graph_bake {
	char version[GRAPH_BAKE_VERSION_MAX]; /**< the release at GO */
	uint64_t go_since_ms;                 /**< 0: not at GO */
	bool saved;                           /**< its golden graph is taken */
};

/**
 * One look at a service's release at @p now: @p go_version is its canary
 * at GO (NULL: not at GO, the bake starts again). Another version starts
 * a new bake.
 * @return true when it has held GO for @p bake_ms and its golden graph is
 * due (the caller takes it, and sets saved).
 */
bool graph_bake_tick(struct graph_bake *b, const char *go_version, uint64_t now,
		     uint32_t bake_ms);

/** The index of service @p name in @p s, or -1 ("" names none). */
int graph_services_find(const struct graph_services *s, const char *name);

/**
 * Per-service state across a new configuration: @p b (@p n entries,
 * indexed by @p before's services) is rearranged to @p now's indexes. A
 * service kept (by name) takes its bake along, wherever it moved; a new
 * one starts afresh; a service gone leaves its bake behind.
 */
void graph_bakes_follow(struct graph_bake *b, unsigned int n,
			const struct graph_services *before,
			const struct graph_services *now);

/* ------------------------------------------------------------------ */
/* Diff and deviation                                                  */

/** How an edge changed (id, name). */
#define GRAPH_CHANGES(X) \
	X(NEW, "new")           /* in cur with min_flows, absent (silent) in ref */ \
	X(MISSING, "missing")   /* in ref with min_flows, silent in cur > k x its gap */ \
	X(CHANGED, "changed")   /* in both: errors, latency or share moved */ \
	X(PENDING, "pending")   /* new but under min_flows: not scored */

/** Edge changes. */
enum graph_change {
#define GRAPH_CHANGE_ENUM(id, name) GRAPH_CHANGE_##id,
	GRAPH_CHANGES(GRAPH_CHANGE_ENUM)
#undef GRAPH_CHANGE_ENUM
	GRAPH_CHANGE_MAX
};

/** Change names, by id. */
extern const char *const graph_change_names[GRAPH_CHANGE_MAX];

/** Why a CHANGED edge is listed (bits). */
enum {
	GRAPH_CHG_ERRORS = 1u << 0,   /**< error + reset rate went up */
	GRAPH_CHG_LATENCY = 1u << 1,  /**< mean latency went up */
	GRAPH_CHG_SHARE = 1u << 2,    /**< traffic share moved by change_ratio */
};

/** What a deviation signals to the release verdicts. */
enum graph_dev_mode {
	GRAPH_DEV_NONE = 0,
	GRAPH_DEV_OUTAGE,         /**< mostly missing edges */
	GRAPH_DEV_SECURITY,       /**< mostly new edges */
};

/** Traffic measure that weighs edges. */
enum graph_weight {
	GRAPH_WEIGHT_FLOWS = 0,
	GRAPH_WEIGHT_BYTES,
};

/** How graphs are compared. */
struct graph_diff_opts {
	double threshold;         /**< a deviation above this signals (0.20) */
	double k_gap;             /**< missing: silent > k x largest gap (2.0) */
	uint32_t min_gap_ms;      /**< the gap is at least this (60000) */
	uint32_t min_flows;       /**< an edge counts (new or missing) from this many flows (5) */
	double change_ratio;      /**< CHANGED: traffic share x or / this (4.0) */
	double change_lat_ratio;  /**< CHANGED: mean latency x this (2.0) */
	double change_err_abs;    /**< CHANGED: error rate up by at least this (0.05) */
	enum graph_weight weight; /**< FLOWS */
	uint64_t now_ms;          /**< evaluation time (0: cur's taken_ms) */
};

/** One listed edge. */
struct graph_diff_edge {
	struct graph_key key;     /**< cohort: the compared graph's */
	uint8_t change;           /**< enum graph_change */
	uint8_t why;              /**< CHANGED: GRAPH_CHG_* bits */
	double weight;            /**< its share in the score (CHANGED, PENDING: traffic share) */
	uint64_t ref_flows, cur_flows;
	uint64_t ref_bytes, cur_bytes;
	uint64_t silent_ms;       /**< MISSING: since its last sighting in cur */
	uint32_t gap_ms;          /**< MISSING: the gap it was judged by (scaled) */
};

/** Edges a diff lists at most: the heaviest first. */
#define GRAPH_DIFF_LIST_MAX 64

/** A comparison of two graphs: the score, who, and what changed. */
struct graph_diff {
	double score;             /**< missing_share + new_share, at most 1 */
	double missing_share;     /**< ref's traffic on missing edges */
	double new_share;         /**< cur's traffic on new edges */
	bool above;               /**< score > threshold */
	enum graph_dev_mode mode;
	/** The responsible component: cur's service (or the client service
	 *  carrying most of the change), its cohort and that cohort's version. */
	uint16_t stage;
	uint16_t service;         /**< GRAPH_ANY: none identified */
	uint8_t cohort;
	char service_name[GRAPH_SVC_NAME_MAX];
	char version[GRAPH_VERSION_MAX];
	uint32_t n_ref, n_cur;    /**< edges compared */
	double scale;             /**< how much sparser cur's traffic is than ref's (>= 1) */
	uint32_t count[GRAPH_CHANGE_MAX];
	uint32_t n_listed;
	struct graph_diff_edge list[GRAPH_DIFF_LIST_MAX];
};

/** Fill @p o with the defaults. */
void graph_diff_opts_default(struct graph_diff_opts *o);

/**
 * Compare @p cur with @p ref (a golden graph, or the control cohort over
 * the same window as the canary's @p cur). Scales gaps by how much
 * sparser cur's traffic is than ref's, so a 5 % canary is not judged by
 * the control's gaps. @p names may be NULL.
 * @return 0, or -1 for a bad argument.
 */
int graph_diff(const struct graph_snap *ref, const struct graph_snap *cur,
	       const struct graph_diff_opts *o, const struct graph_services *names,
	       struct graph_diff *out);

/**
 * The periodic-edge rule: an edge whose largest gap between sightings is
 * @p max_gap_ms, seen through a view @p scale times sparser, is missing
 * after @p silence_ms of silence only when that is longer than k_gap
 * times max(gap x scale, min_gap_ms). @p gap_ms (may be NULL) gets that gap.
 */
bool graph_edge_silent(const struct graph_diff_opts *o, uint32_t max_gap_ms, double scale,
		       uint64_t silence_ms, uint32_t *gap_ms);

/** Mode names. */
const char *graph_dev_mode_name(enum graph_dev_mode m);

/**
 * A canary watch: a service's canary cohort against its control cohort,
 * over the same window, in one stage. Owns its six snapshots (96 bytes
 * an edge each).
 */
struct graph_watch;

/** A watch for graphs of up to @p max_edges edges. @return it, or NULL. */
struct graph_watch *graph_watch_create(uint32_t max_edges);
/** Free @p w (NULL is fine). */
void graph_watch_free(struct graph_watch *w);

/** Start the window now: what each cohort had so far is the base. */
void graph_watch_start(struct graph_watch *w, const struct graph_edges *t, uint16_t stage,
		       uint8_t service, uint64_t now_ms);

/**
 * Score the window so far: the canary's delta against the control's.
 * @return 0, or -1 when the watch was never started.
 */
int graph_watch_eval(struct graph_watch *w, const struct graph_edges *t,
		     const struct graph_diff_opts *o, const struct graph_services *names,
		     uint64_t now_ms, struct graph_diff *out);

/* ------------------------------------------------------------------ */
/* DOT                                                                 */

/**
 * Write @p s as a Graphviz digraph to @p f: a node per client identity
 * and per server endpoint, named (unnamed ones show their address and
 * "no name"; stale names say so), edges labelled with flows, bytes and
 * errors. With @p marks, edges it lists are coloured (new red, changed
 * orange) and its missing edges drawn dashed.
 * @return 0, or -1 on a write error.
 */
int graph_dot_write(FILE *f, const struct graph_snap *s, const struct graph_namer *n,
		    const struct graph_diff *marks);

#endif /* UMBRA_GRAPH_H */
