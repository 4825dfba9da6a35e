/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside lib/conf: the loader's state and the node readers (conf_node.c)
 * that every section's loader (conf_load.c, conf_release.c) uses.
 */
#ifndef UMBRA_CONF_PRIVATE_H
#define UMBRA_CONF_PRIVATE_H

#include <stdbool.h>

#include <yaml.h>

#include "conf.h"
#include "conf_keys.h"

struct loader {
	struct umbra_conf *c;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	const char *file;       /**< name in messages; NULL: c->file */
};

/* A key this mapping accepts, and where it was found. */
struct field {
	const char *key;
	bool required;
	yaml_node_t *value;
	yaml_node_t *key_node;
};

/* "name1, name2" of everything in a table of names, for hints. */
#define NAMES_LIST(arr, n, buf) do { \
	size_t o_ = 0; (buf)[0] = '\0'; \
	for (uint32_t i_ = 0; i_ < (n) && o_ < sizeof(buf); i_++) \
		o_ += (size_t)snprintf((buf) + o_, sizeof(buf) - o_, "%s%s", \
				       i_ ? ", " : "", (arr)[i_].name); \
} while (0)

struct conf_pos ld_pos_of(const yaml_node_t *n);
/** Report "file:line:col: message" at node @p n; returns -1. */
int ld_fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Same, at @p pos (where there is no node). */
int ld_fail_at(struct loader *L, struct conf_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *ld_node_kind(const yaml_node_t *n);
const char *ld_scalar(const yaml_node_t *n);
/** Value of @p key in mapping @p map, or NULL (also when @p map is no mapping). */
yaml_node_t *ld_map_value(struct loader *L, yaml_node_t *map, const char *key);
int ld_expect(struct loader *L, const yaml_node_t *n, yaml_node_type_t t, const char *what);
/** Fill @p fields from a mapping: unknown, duplicate and missing required
 * keys are errors. */
int ld_fields_get(struct loader *L, yaml_node_t *map, struct field *fields,
	   const char *what);
yaml_node_t *ld_field_value(struct field *fields, const char *key);
int ld_get_str(struct loader *L, yaml_node_t *n, const char *what, const char **out);
int ld_get_uint(struct loader *L, yaml_node_t *n, const char *what, unsigned long min,
	 unsigned long max, uint32_t *out);
int ld_get_u16(struct loader *L, yaml_node_t *n, const char *what, unsigned long min,
	unsigned long max, uint16_t *out);
int ld_get_bool(struct loader *L, yaml_node_t *n, const char *what, bool *out);
int ld_get_name(struct loader *L, yaml_node_t *n, const char *what, char *out);
int ld_get_port_ref(struct loader *L, yaml_node_t *n, const char *what, uint16_t *out);
int ld_get_stage_ref(struct loader *L, yaml_node_t *n, const char *what, uint16_t *out);
int ld_get_proto(struct loader *L, yaml_node_t *n, int32_t *out);
int ld_get_range(struct loader *L, yaml_node_t *n, const char *what, struct conf_range *r);
int ld_get_prefix(struct loader *L, yaml_node_t *n, const char *what, struct conf_prefix *p);
int ld_get_mac(struct loader *L, yaml_node_t *n, uint8_t mac[6]);
/** A port range needs proto tcp, udp or sctp. */
int ld_check_ports_need_l4(struct loader *L, yaml_node_t *n, int32_t proto, const char *what);
/** A service name (services: loaded) as its index. */
int ld_get_service_ref(struct loader *L, yaml_node_t *n, int16_t *out);
/** One of @p count words, as its index. */
int ld_get_choice(struct loader *L, yaml_node_t *n, const char *what,
		  const char *const *names, uint8_t count, uint8_t *out);
/** "200ms", "1.5s": a number and ns, us, ms, s, m or h, in nanoseconds. */
int ld_get_duration(struct loader *L, yaml_node_t *n, const char *what, uint64_t *ns);
/** "10mbit", "1.5gbit": bits per second (bit, kbit, mbit, gbit, decimal),
 * in bytes per second, at least 1. */
int ld_get_rate(struct loader *L, yaml_node_t *n, const char *what, uint64_t *bytes_per_s);
/** "3000", "64KB", "1MB" (1024-based), from @p min to @p max bytes. */
int ld_get_bytes(struct loader *L, yaml_node_t *n, const char *what, uint64_t min,
		 uint64_t max, uint64_t *out);
/** 0..1 ("0.05") or a percentage ("5%"). */
int ld_get_probability(struct loader *L, yaml_node_t *n, const char *what, double *out);
/** Load a list of @p size-byte items with @p load_one into a new array. */
int ld_load_list(struct loader *L, yaml_node_t *seq, const char *what, size_t size,
	  uint32_t max, void **array, uint32_t *count,
	  int (*load_one)(struct loader *, yaml_node_t *, void *, uint32_t));
/** A string that must fit @p size bytes (with its NUL). */
int ld_get_bounded(struct loader *L, yaml_node_t *n, const char *what, char *out, size_t size);

/** A duration above 0. */
int ld_get_positive_duration(struct loader *L, yaml_node_t *n, const char *what,
			     uint64_t *ns);

/** port / vlan / next_hop_mac fields (already read) into the egress of
 * @p user ("a stage's egress", "a backend"): not a port with role shadow. */
int ld_egress_fields(struct loader *L, struct field *f, const char *user,
		     struct conf_egress *e);
/** Same for a shadow network: its port must have role shadow. */
int ld_shadow_egress_fields(struct loader *L, struct field *f, struct conf_egress *e);
/** Port @p port, read from @p n, must not have role shadow (only shadows
 * use those); @p user names what it would be ("a match rule"). */
int ld_check_not_shadow_port(struct loader *L, yaml_node_t *n, uint16_t port,
			     const char *user);

/* The traffic a rule targets, as seen from the client: keys proto, src,
 * dst, sport and dport of a field table (faults, shadows). */
struct ld_tuple {
	int32_t proto;          /**< CONF_ANY when absent */
	struct conf_prefix src; /**< client side */
	struct conf_prefix dst; /**< server side */
	struct conf_range sport; /**< 0-65535 when absent */
	struct conf_range dport;
};

/** Read the tuple keys of @p f (those absent: any); src and dst of one
 * family, else an error at @p n, which @p what names ("rule"). */
int ld_get_tuple(struct loader *L, yaml_node_t *n, struct field *f, const char *what,
		 struct ld_tuple *t);
/** sport and dport, where given, need @p proto tcp or udp (call it once
 * any proto the rule implies is known). */
int ld_check_tuple_ports(struct loader *L, struct field *f, int32_t proto);

/**
 * Parse @p text (YAML or JSON) as one mapping and read it with @p load
 * (into @p out), names resolved against @p c: run-time commands such as
 * `fault add`. Messages are "name:line:col: ..."; an empty text is "the
 * @p what is empty".
 * @return 0 or -1.
 */
int ld_parse_text(const struct umbra_conf *c, const char *text, size_t len,
		  const char *name, const char *what, char *err, size_t errlen,
		  int (*load)(struct loader *L, yaml_node_t *root, void *out), void *out);

/* Release sections (conf_release.c), loaded in this order by load_root:
 * services, workflow, splits, steering, then ld_release_defaults (default
 * pipeline; what needs the final pipeline: rollout and hook stages). */
int ld_services(struct loader *L, yaml_node_t *seq);
int ld_workflow(struct loader *L, yaml_node_t *map);
int ld_splits(struct loader *L, yaml_node_t *seq);
int ld_steering(struct loader *L, yaml_node_t *map);
int ld_release_defaults(struct loader *L, yaml_node_t *root);

/* Fault sections (conf_fault.c), loaded by load_root after the release
 * sections (rules name stages and services): fault_policy first, then
 * faults and chaos, whose rules it limits. Any node may be NULL (absent). */
int ld_fault_sections(struct loader *L, yaml_node_t *policy, yaml_node_t *faults,
		      yaml_node_t *chaos);

/* Shadow profiles (conf_shadow.c), loaded by load_root last: they name
 * stages, services and ports. */
int ld_shadows(struct loader *L, yaml_node_t *seq);
/** A shadow profile's defaults (fraction 10 %, compare auto, ...) at @p n. */
void ld_shadow_defaults(struct conf_shadow *s, yaml_node_t *n);
/** Everything of a shadow profile but its name and stage (already in
 *  @p s), from fields @p f of mapping @p n read with the profile's keys. */
int ld_shadow_body(struct loader *L, yaml_node_t *n, struct field *f,
		   struct conf_shadow *s);

/* DevMesh items of the stages (conf_devmesh.c), loaded after shadows: they
 * name services, and a mirror adds a shadow profile. @p stages is the
 * stages: sequence, read again for its items' devmesh: keys. */
int ld_devmesh(struct loader *L, yaml_node_t *stages);

/** Fill @p f with the keys of @p keys (NULL-ended) and end it with a
 *  NULL key: @p f has room for every key and the end. A loader's field
 *  table from its section's exported key table, so the two cannot disagree. */
void ld_fields_of_keys(struct field *f, const struct conf_key *keys);

/** A version label: 1..CONF_VERSION_MAX-1 of letters, digits, '.', '_',
 *  '+', '-', into @p out (CONF_VERSION_MAX bytes). */
int ld_get_version(struct loader *L, yaml_node_t *n, char *out);

/** A service's verdict: mapping into @p cv (defaults already set). */
int ld_service_verdict(struct loader *L, yaml_node_t *n, struct conf_verdict *cv);
/** lib/verdict's defaults, judging releases when @p enabled. */
void conf_verdict_default(struct conf_verdict *cv, bool enabled);
/** lib/graph's defaults for graph:. */
void conf_graph_default(struct conf_graph *g);
/** The top-level graph: mapping. */
int ld_graph(struct loader *L, yaml_node_t *n);
/** The top-level notify: mapping. */
int ld_notify(struct loader *L, yaml_node_t *n);
/** The top-level fleet: mapping (conf_fleet.c). */
int ld_fleet(struct loader *L, yaml_node_t *n);

#endif
