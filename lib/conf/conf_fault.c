/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault sections of the configuration: fault_policy (limits), faults
 * (permanent rules) and chaos (named scenarios of rules, started with a
 * duration); and one rule given at run time (conf_fault_parse, `fault add`).
 *
 * Load order (load_root): after stages and services, whose names rules
 * resolve; fault_policy before faults and chaos, whatever the key order,
 * since it decides whether a rule may touch production and how long a
 * lease may be.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define SCENARIO_DURATION_NS (60 * NS_PER_S)
#define MAX_INFLIGHT 4194304u
#define BURST_MIN 3000u         /* default burst: at least two full frames */
#define BURST_MAX (1u << 30)

static const char *const kind_names[CONF_FAULT_KIND_MAX] = {
	[CONF_FAULT_PARTITION] = "partition",
	[CONF_FAULT_BLACKHOLE] = "blackhole",
	[CONF_FAULT_SYN_DROP] = "syn_drop",
	[CONF_FAULT_ICMP_UNREACHABLE] = "icmp_unreachable",
	[CONF_FAULT_DNS_SERVFAIL] = "dns_servfail",
	[CONF_FAULT_RESET] = "reset",
	[CONF_FAULT_LOSS] = "loss",
	[CONF_FAULT_BANDWIDTH] = "bandwidth",
	[CONF_FAULT_CORRUPT] = "corrupt",
	[CONF_FAULT_DUPLICATE] = "duplicate",
	[CONF_FAULT_REORDER] = "reorder",
	[CONF_FAULT_DELAY] = "delay",
};
static const char *const dir_names[] = { "both", "to_server", "to_client" };
static const char *const select_names[] = { "packet", "flow" };
static const char *const dist_names[] = { "uniform", "normal", "pareto" };
static const char *const model_names[] = { "random", "gilbert_elliott" };
static const char *const checksum_names[] = { "wrong", "fixed" };

#define COUNT(a) ((uint8_t)(sizeof(a) / sizeof((a)[0])))

/* Parameters, each of one kind only. */
static const struct {
	const char *key;
	uint8_t kind;
} params[] = {
	{ "delay", CONF_FAULT_DELAY }, { "jitter", CONF_FAULT_DELAY },
	{ "distribution", CONF_FAULT_DELAY }, { "keep_order", CONF_FAULT_DELAY },
	{ "model", CONF_FAULT_LOSS }, { "p", CONF_FAULT_LOSS }, { "r", CONF_FAULT_LOSS },
	{ "loss_good", CONF_FAULT_LOSS }, { "loss_bad", CONF_FAULT_LOSS },
	{ "copies", CONF_FAULT_DUPLICATE }, { "hold", CONF_FAULT_REORDER },
	{ "bits", CONF_FAULT_CORRUPT }, { "checksum", CONF_FAULT_CORRUPT },
	{ "rate", CONF_FAULT_BANDWIDTH }, { "burst", CONF_FAULT_BANDWIDTH },
	{ "code", CONF_FAULT_ICMP_UNREACHABLE },
	{ "both_ways", CONF_FAULT_PARTITION }, { "new_flows_only", CONF_FAULT_PARTITION },
};

/*
 * A rule's keys (conf/README.md), in the order fault/add declares them
 * (umbractl fills positional words in this order): kind first.
 */
static const struct conf_key fault_rule_keys[] = {
	{ "kind", CONF_KEY_STRING, true },
	{ "stage", CONF_KEY_STRING, false },
	{ "from_stage", CONF_KEY_STRING, false },
	{ "service", CONF_KEY_STRING, false },
	{ "shadow", CONF_KEY_STRING, false },
	{ "name", CONF_KEY_STRING, false },
	{ "direction", CONF_KEY_STRING, false },
	{ "proto", CONF_KEY_SCALAR, false },
	{ "src", CONF_KEY_STRING, false },
	{ "dst", CONF_KEY_STRING, false },
	{ "sport", CONF_KEY_SCALAR, false },
	{ "dport", CONF_KEY_SCALAR, false },
	{ "select", CONF_KEY_STRING, false },
	{ "probability", CONF_KEY_SCALAR, false },
	{ "seed", CONF_KEY_SCALAR, false },
	{ "delay", CONF_KEY_STRING, false },
	{ "jitter", CONF_KEY_STRING, false },
	{ "distribution", CONF_KEY_STRING, false },
	{ "keep_order", CONF_KEY_SCALAR, false },
	{ "model", CONF_KEY_STRING, false },
	{ "p", CONF_KEY_SCALAR, false },
	{ "r", CONF_KEY_SCALAR, false },
	{ "loss_good", CONF_KEY_SCALAR, false },
	{ "loss_bad", CONF_KEY_SCALAR, false },
	{ "copies", CONF_KEY_SCALAR, false },
	{ "hold", CONF_KEY_STRING, false },
	{ "bits", CONF_KEY_SCALAR, false },
	{ "checksum", CONF_KEY_STRING, false },
	{ "rate", CONF_KEY_STRING, false },
	{ "burst", CONF_KEY_SCALAR, false },
	{ "code", CONF_KEY_SCALAR, false },
	{ "both_ways", CONF_KEY_SCALAR, false },
	{ "new_flows_only", CONF_KEY_SCALAR, false },
	{ "duration", CONF_KEY_STRING, false },
	{ NULL, 0, false },
};
_Static_assert(sizeof(fault_rule_keys) / sizeof(fault_rule_keys[0]) ==
	       CONF_FAULT_RULE_KEYS + 1, "CONF_FAULT_RULE_KEYS counts the rule's keys");
const struct conf_key *const conf_fault_rule_keys = fault_rule_keys;

/* Where a rule comes from, which decides what it may say about its lease. */
enum rule_origin {
	RULE_PERMANENT,         /* faults: no lease */
	RULE_SCENARIO,          /* chaos[].faults: the scenario's duration */
	RULE_LEASED,            /* conf_fault_parse: its own duration, optional */
};

const char *
conf_fault_kind_name(uint8_t kind)
{
	return kind < CONF_FAULT_KIND_MAX ? kind_names[kind] : "unknown";
}

static bool
stage_is_production(const struct umbra_conf *c, int16_t stage)
{
	return stage >= 0 && stage < c->n_stages && c->stages[stage].production;
}

/* A rule that names no stage acts on every stage's traffic: it touches
 * production when any stage is production. */
bool
conf_fault_touches_production(const struct umbra_conf *c, const struct conf_fault *f)
{
	if (f->shadow[0] != '\0')
		return false;   /* the shadow network's packets only */
	if (f->stage < 0 && f->from_stage < 0) {
		for (uint16_t i = 0; i < c->n_stages; i++)
			if (c->stages[i].production)
				return true;
		return false;
	}
	return stage_is_production(c, f->stage) || stage_is_production(c, f->from_stage);
}

/* "24h", "300s", "1500ms": @p ns in its largest exact unit. */
static const char *
fmt_duration(uint64_t ns, char *buf, size_t size)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "h", 3600 * NS_PER_S }, { "m", 60 * NS_PER_S }, { "s", NS_PER_S },
		{ "ms", NS_PER_MS }, { "us", 1000 },
	};
	const char *unit = "ns";
	uint64_t div = 1;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns != 0 && ns % units[i].ns == 0) {
			unit = units[i].unit;
			div = units[i].ns;
			break;
		}
	}
	snprintf(buf, size, "%" PRIu64 "%s", ns / div, unit);
	return buf;
}

static struct field *
field_of(struct field *fields, const char *key)
{
	for (struct field *f = fields; f->key != NULL; f++)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

/* A lease above 0 and within fault_policy.max_lease. */
static int
get_lease(struct loader *L, yaml_node_t *n, const char *what, uint64_t *ns)
{
	char max[32];

	if (ld_get_positive_duration(L, n, what, ns) < 0)
		return -1;
	if (*ns > L->c->fault_policy.max_lease_ns)
		return ld_fail(L, n, "%s '%s' is longer than fault_policy.max_lease (%s)",
			       what, ld_scalar(n),
			       fmt_duration(L->c->fault_policy.max_lease_ns, max, sizeof(max)));
	return 0;
}

static int
get_stage_opt(struct loader *L, yaml_node_t *n, const char *what, int16_t *out)
{
	uint16_t s;

	if (n == NULL)
		return 0;
	if (ld_get_stage_ref(L, n, what, &s) < 0)
		return -1;
	*out = (int16_t)s;
	return 0;
}

/* ---- one rule ---- */

/* A parameter of another kind is an error at its key. */
static int
check_params(struct loader *L, struct field *f, const struct conf_fault *r)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		struct field *p = field_of(f, params[i].key);

		if (p->value != NULL && params[i].kind != r->kind)
			return ld_fail(L, p->key_node, "%s does not apply to kind %s (only to %s)",
				       p->key, kind_names[r->kind], kind_names[params[i].kind]);
	}
	return 0;
}

/* reset and syn_drop are TCP, dns_servfail UDP port 53: given or implied. */
static int
implied_proto(struct loader *L, struct field *f, struct conf_fault *r)
{
	yaml_node_t *proto = ld_field_value(f, "proto");
	int32_t want;

	if (r->kind == CONF_FAULT_RESET || r->kind == CONF_FAULT_SYN_DROP)
		want = 6;
	else if (r->kind == CONF_FAULT_DNS_SERVFAIL)
		want = 17;
	else
		return 0;
	if (proto != NULL && r->proto != want)
		return ld_fail(L, proto, "kind %s acts on %s only: give proto %s or none, "
			       "not '%s'", kind_names[r->kind], want == 6 ? "TCP" : "UDP",
			       want == 6 ? "tcp" : "udp", ld_scalar(proto));
	r->proto = want;
	if (r->kind == CONF_FAULT_DNS_SERVFAIL && ld_field_value(f, "dport") == NULL)
		r->dport = (struct conf_range){ 53, 53 };
	return 0;
}

static int
check_partition(struct loader *L, yaml_node_t *n, struct field *f,
		const struct conf_fault *r)
{
	if (r->kind != CONF_FAULT_PARTITION)
		return 0;
	if (r->stage < 0 || r->from_stage < 0)
		return ld_fail(L, n, "fault '%s': partition needs both stage and from_stage "
			       "(the two sides it cuts apart)", r->name);
	if (r->stage == r->from_stage)
		return ld_fail(L, ld_field_value(f, "from_stage"), "fault '%s': partition "
			       "cuts stage '%s' from itself; stage and from_stage must differ",
			       r->name, L->c->stages[r->stage].name);
	return 0;
}

/*
 * shadow: <profile>: the rule acts on what umbra sends toward that shadow
 * network. Only kinds that change how packets travel make sense there
 * (nothing answers on the shadow's behalf, no stage is cut).
 */
static int
load_shadow_target(struct loader *L, struct field *f, struct conf_fault *r)
{
	yaml_node_t *v = ld_field_value(f, "shadow");

	if (v == NULL)
		return 0;
	if (ld_get_name(L, v, "shadow profile", r->shadow) < 0)
		return -1;
	if (r->kind < CONF_FAULT_LOSS && r->kind != CONF_FAULT_BLACKHOLE)
		return ld_fail(L, v, "a %s fault cannot act on a shadow network; use "
			       "blackhole, loss, bandwidth, corrupt, duplicate, reorder "
			       "or delay", kind_names[r->kind]);
	if (ld_field_value(f, "stage") || ld_field_value(f, "from_stage") ||
	    ld_field_value(f, "service"))
		return ld_fail(L, v, "a fault on a shadow network takes its traffic "
			       "from the profile: drop stage, from_stage and service");
	return 0;
}

static int
load_target(struct loader *L, yaml_node_t *n, struct field *f, struct conf_fault *r)
{
	struct ld_tuple t;
	yaml_node_t *v;

	if (get_stage_opt(L, ld_field_value(f, "stage"), "stage", &r->stage) < 0 ||
	    get_stage_opt(L, ld_field_value(f, "from_stage"), "from_stage", &r->from_stage) < 0 ||
	    ((v = ld_field_value(f, "service")) && ld_get_service_ref(L, v, &r->service) < 0) ||
	    ((v = ld_field_value(f, "direction")) &&
	     ld_get_choice(L, v, "direction", dir_names, COUNT(dir_names), &r->direction) < 0) ||
	    ld_get_tuple(L, n, f, "rule", &t) < 0)
		return -1;
	r->proto = t.proto;
	r->src = t.src;
	r->dst = t.dst;
	r->sport = t.sport;
	r->dport = t.dport;
	if (implied_proto(L, f, r) < 0 || ld_check_tuple_ports(L, f, r->proto) < 0)
		return -1;
	return check_partition(L, n, f, r);
}

static int
load_selection(struct loader *L, struct field *f, struct conf_fault *r)
{
	yaml_node_t *v;

	if (((v = ld_field_value(f, "select")) &&
	     ld_get_choice(L, v, "select", select_names, COUNT(select_names), &r->select) < 0) ||
	    ((v = ld_field_value(f, "probability")) &&
	     ld_get_probability(L, v, "probability", &r->probability) < 0) ||
	    ((v = ld_field_value(f, "seed")) &&
	     ld_get_uint(L, v, "seed", 0, 4294967295ul, &r->seed) < 0))
		return -1;
	return 0;
}

static int
load_delay(struct loader *L, yaml_node_t *n, struct field *f, struct conf_fault *r)
{
	yaml_node_t *delay = ld_field_value(f, "delay");
	yaml_node_t *jitter = ld_field_value(f, "jitter");
	yaml_node_t *dist = ld_field_value(f, "distribution");
	yaml_node_t *v;

	if (delay == NULL)
		return ld_fail(L, n, "fault '%s': kind delay needs delay (such as delay: 200ms)",
			       r->name);
	if (ld_get_duration(L, delay, "delay", &r->delay_ns) < 0 ||
	    (jitter && ld_get_duration(L, jitter, "jitter", &r->jitter_ns) < 0) ||
	    (dist && ld_get_choice(L, dist, "distribution", dist_names, COUNT(dist_names),
				   &r->distribution) < 0) ||
	    ((v = ld_field_value(f, "keep_order")) &&
	     ld_get_bool(L, v, "keep_order", &r->keep_order) < 0))
		return -1;
	if (r->distribution == CONF_DIST_UNIFORM && r->jitter_ns > r->delay_ns)
		return ld_fail(L, jitter, "jitter '%s' is more than delay '%s': with "
			       "distribution uniform, jitter must not exceed delay",
			       ld_scalar(jitter), ld_scalar(delay));
	if (r->distribution != CONF_DIST_UNIFORM && r->jitter_ns == 0)
		return ld_fail(L, dist, "distribution %s needs jitter above 0 (its spread)",
			       dist_names[r->distribution]);
	return 0;
}

static int
load_loss(struct loader *L, struct field *f, struct conf_fault *r)
{
	static const char *const ge_keys[] = { "p", "r", "loss_good", "loss_bad" };
	double *ge[] = { &r->ge_p, &r->ge_r, &r->ge_loss_good, &r->ge_loss_bad };
	yaml_node_t *model = ld_field_value(f, "model");

	if (model && ld_get_choice(L, model, "model", model_names, COUNT(model_names),
				   &r->loss_model) < 0)
		return -1;
	for (size_t i = 0; i < 4 && r->loss_model == CONF_LOSS_RANDOM; i++) {
		struct field *p = field_of(f, ge_keys[i]);

		if (p->value != NULL)
			return ld_fail(L, p->key_node, "%s applies only to model "
				       "gilbert_elliott", p->key);
	}
	if (r->loss_model == CONF_LOSS_RANDOM)
		return 0;
	if (ld_field_value(f, "p") == NULL || ld_field_value(f, "r") == NULL)
		return ld_fail(L, model, "fault '%s': model gilbert_elliott needs p and r "
			       "(the chances per packet to enter and to leave the bad state)",
			       r->name);
	r->ge_loss_bad = 1.0;
	for (size_t i = 0; i < 4; i++) {
		yaml_node_t *v = ld_field_value(f, ge_keys[i]);

		if (v && ld_get_probability(L, v, ge_keys[i], ge[i]) < 0)
			return -1;
	}
	return 0;
}

static int
load_bandwidth(struct loader *L, yaml_node_t *n, struct field *f, struct conf_fault *r)
{
	yaml_node_t *rate = ld_field_value(f, "rate");
	yaml_node_t *burst = ld_field_value(f, "burst");
	uint64_t bytes;

	if (rate == NULL)
		return ld_fail(L, n, "fault '%s': kind bandwidth needs rate (such as "
			       "rate: 10mbit)", r->name);
	if (ld_get_rate(L, rate, "rate", &r->rate_Bps) < 0)
		return -1;
	if (burst == NULL) {
		bytes = r->rate_Bps / 100;
		bytes = bytes < BURST_MIN ? BURST_MIN : bytes > BURST_MAX ? BURST_MAX : bytes;
	} else if (ld_get_bytes(L, burst, "burst", 1, BURST_MAX, &bytes) < 0) {
		return -1;
	}
	r->burst_bytes = (uint32_t)bytes;
	return 0;
}

static int
load_icmp(struct loader *L, struct field *f, struct conf_fault *r)
{
	static const struct { const char *name; uint8_t code; } codes[] = {
		{ "net", 0 }, { "host", 1 }, { "port", 3 }, { "admin", 13 },
	};
	yaml_node_t *v = ld_field_value(f, "code");
	uint32_t code;
	const char *s;

	r->icmp_code = 1;
	if (v == NULL)
		return 0;
	if (ld_get_str(L, v, "code", &s) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(s, codes[i].name) == 0) {
			r->icmp_code = codes[i].code;
			return 0;
		}
	}
	if (s[0] < '0' || s[0] > '9')
		return ld_fail(L, v, "code must be net, host, port, admin or a number 0-15, "
			       "not '%s'", s);
	if (ld_get_uint(L, v, "code", 0, 15, &code) < 0)
		return -1;
	r->icmp_code = (uint8_t)code;
	return 0;
}

/* copies, hold, bits and checksum: parameters with a default. */
static int
load_small_params(struct loader *L, struct field *f, struct conf_fault *r)
{
	yaml_node_t *v;
	uint32_t u;

	if (r->kind == CONF_FAULT_DUPLICATE) {
		r->copies = 1;
		if ((v = ld_field_value(f, "copies")) != NULL) {
			if (ld_get_uint(L, v, "copies", 1, 8, &u) < 0)
				return -1;
			r->copies = (uint8_t)u;
		}
	} else if (r->kind == CONF_FAULT_REORDER) {
		r->hold_ns = NS_PER_MS;
		if ((v = ld_field_value(f, "hold")) &&
		    ld_get_positive_duration(L, v, "hold", &r->hold_ns) < 0)
			return -1;
	} else if (r->kind == CONF_FAULT_CORRUPT) {
		uint8_t fixed = 0;

		r->bits = 1;
		if ((v = ld_field_value(f, "bits")) != NULL) {
			if (ld_get_uint(L, v, "bits", 1, 64, &u) < 0)
				return -1;
			r->bits = (uint8_t)u;
		}
		if ((v = ld_field_value(f, "checksum")) &&
		    ld_get_choice(L, v, "checksum", checksum_names, COUNT(checksum_names),
				  &fixed) < 0)
			return -1;
		r->fix_checksum = fixed == 1;
	}
	return 0;
}

static int
load_partition(struct loader *L, struct field *f, struct conf_fault *r)
{
	yaml_node_t *v;

	r->both_ways = true;
	if (((v = ld_field_value(f, "both_ways")) &&
	     ld_get_bool(L, v, "both_ways", &r->both_ways) < 0) ||
	    ((v = ld_field_value(f, "new_flows_only")) &&
	     ld_get_bool(L, v, "new_flows_only", &r->new_flows_only) < 0))
		return -1;
	return 0;
}

static int
load_kind_params(struct loader *L, yaml_node_t *n, struct field *f, struct conf_fault *r)
{
	switch (r->kind) {
	case CONF_FAULT_DELAY:
		return load_delay(L, n, f, r);
	case CONF_FAULT_LOSS:
		return load_loss(L, f, r);
	case CONF_FAULT_BANDWIDTH:
		return load_bandwidth(L, n, f, r);
	case CONF_FAULT_ICMP_UNREACHABLE:
		return load_icmp(L, f, r);
	case CONF_FAULT_PARTITION:
		return load_partition(L, f, r);
	default:
		return load_small_params(L, f, r);
	}
}

static int
check_production(struct loader *L, yaml_node_t *n, const struct conf_fault *r)
{
	const struct umbra_conf *c = L->c;
	char why[CONF_NAME_MAX + 16];

	if (c->fault_policy.allow_production || !conf_fault_touches_production(c, r))
		return 0;
	if (stage_is_production(c, r->stage))
		snprintf(why, sizeof(why), "stage %s", c->stages[r->stage].name);
	else if (stage_is_production(c, r->from_stage))
		snprintf(why, sizeof(why), "from_stage %s", c->stages[r->from_stage].name);
	else
		snprintf(why, sizeof(why), "no stage given");
	return ld_fail(L, n, "fault '%s' would act on production traffic (%s); set "
		       "fault_policy.allow_production: true to allow it", r->name, why);
}

/* duration: a lease of its own only for a rule given at run time. */
static int
load_duration(struct loader *L, struct field *f, struct conf_fault *r,
	      enum rule_origin origin)
{
	struct field *d = field_of(f, "duration");

	if (d->value == NULL)
		return 0;
	if (origin == RULE_PERMANENT)
		return ld_fail(L, d->key_node, "fault '%s': rules in faults: are permanent and "
			       "have no duration; for a fault that ends, use `fault add` or a "
			       "chaos scenario", r->name);
	if (origin == RULE_SCENARIO)
		return ld_fail(L, d->key_node, "fault '%s': rules of a chaos scenario have no "
			       "duration of their own; give the scenario a duration", r->name);
	return get_lease(L, d->value, "duration", &r->duration_ns);
}

static int
load_kind(struct loader *L, yaml_node_t *n, uint8_t *kind)
{
	return ld_get_choice(L, n, "kind", kind_names, CONF_FAULT_KIND_MAX, kind);
}

/*
 * One rule from mapping @p n. Its default name is "<kind>-<index + 1>",
 * or "<kind>" for a rule given at run time.
 */
static int
load_rule(struct loader *L, yaml_node_t *n, struct conf_fault *r,
	  enum rule_origin origin, uint32_t index)
{
	struct field f[CONF_FAULT_RULE_KEYS + 1];
	yaml_node_t *name;

	ld_fields_of_keys(f, conf_fault_rule_keys);
	*r = (struct conf_fault){ .stage = -1, .from_stage = -1, .service = -1,
				  .proto = CONF_ANY, .sport = { 0, 65535 },
				  .dport = { 0, 65535 }, .probability = 1.0,
				  .pos = ld_pos_of(n) };
	if (ld_fields_get(L, n, f, "fault") < 0 ||
	    load_kind(L, ld_field_value(f, "kind"), &r->kind) < 0)
		return -1;
	if ((name = ld_field_value(f, "name")) != NULL) {
		if (ld_get_name(L, name, "fault name", r->name) < 0)
			return -1;
	} else if (origin == RULE_LEASED) {
		snprintf(r->name, sizeof(r->name), "%s", kind_names[r->kind]);
	} else {
		snprintf(r->name, sizeof(r->name), "%s-%u", kind_names[r->kind], index + 1);
	}
	if (load_duration(L, f, r, origin) < 0 || check_params(L, f, r) < 0 ||
	    load_shadow_target(L, f, r) < 0 || load_target(L, n, f, r) < 0 || load_selection(L, f, r) < 0 ||
	    load_kind_params(L, n, f, r) < 0)
		return -1;
	return check_production(L, n, r);
}

/* ---- sections ---- */

static int
load_policy(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "allow_production" }, { "default_lease" }, { "max_lease" },
		{ "max_inflight" }, { NULL },
	};
	struct conf_fault_policy *p = &L->c->fault_policy;
	char def[32], max[32];
	yaml_node_t *v;

	if (ld_fields_get(L, n, f, "fault_policy") < 0 ||
	    ((v = f[0].value) && ld_get_bool(L, v, "allow_production",
					     &p->allow_production) < 0) ||
	    ((v = f[1].value) && ld_get_positive_duration(L, v, "default_lease",
							   &p->default_lease_ns) < 0) ||
	    ((v = f[2].value) && ld_get_positive_duration(L, v, "max_lease",
							   &p->max_lease_ns) < 0) ||
	    ((v = f[3].value) && ld_get_uint(L, v, "max_inflight", 1, MAX_INFLIGHT,
					     &p->max_inflight) < 0))
		return -1;
	if (p->default_lease_ns > p->max_lease_ns)
		return ld_fail(L, f[1].value ? f[1].value : f[2].value,
			       "default_lease (%s) must not be longer than max_lease (%s)",
			       fmt_duration(p->default_lease_ns, def, sizeof(def)),
			       fmt_duration(p->max_lease_ns, max, sizeof(max)));
	return 0;
}

static int
fault_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct conf_fault *r = item;

	if (load_rule(L, n, r, RULE_PERMANENT, index) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->faults[i].name, r->name) == 0)
			return ld_fail(L, n, "duplicate fault name '%s'", r->name);
	return 0;
}

static int
load_scenario_faults(struct loader *L, yaml_node_t *seq, struct conf_scenario *s)
{
	yaml_node_item_t *it;

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "faults") < 0)
		return -1;
	if (seq->data.sequence.items.top == seq->data.sequence.items.start)
		return ld_fail(L, seq, "chaos scenario '%s' needs at least one fault in "
			       "faults", s->name);
	if (seq->data.sequence.items.top - seq->data.sequence.items.start > CONF_MAX_FAULTS)
		return ld_fail(L, seq, "too many faults in chaos scenario '%s' (at most %d)",
			       s->name, CONF_MAX_FAULTS);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);
		struct conf_fault *r = &s->faults[s->n_faults];

		if (load_rule(L, n, r, RULE_SCENARIO, s->n_faults) < 0)
			return -1;
		for (uint32_t i = 0; i < s->n_faults; i++)
			if (strcmp(s->faults[i].name, r->name) == 0)
				return ld_fail(L, n, "duplicate fault name '%s' in chaos "
					       "scenario '%s'", r->name, s->name);
		s->n_faults++;
	}
	return 0;
}

static int
scenario_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct field f[] = {
		{ "name", true }, { "description" }, { "duration" }, { "faults", true },
		{ NULL },
	};
	struct conf_scenario *s = item;
	yaml_node_t *v;

	s->pos = ld_pos_of(n);
	s->duration_ns = SCENARIO_DURATION_NS;
	if (ld_fields_get(L, n, f, "chaos scenario") < 0 ||
	    ld_get_name(L, f[0].value, "chaos scenario name", s->name) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->scenarios[i].name, s->name) == 0)
			return ld_fail(L, n, "duplicate chaos scenario name '%s'", s->name);
	if (((v = f[1].value) && ld_get_bounded(L, v, "description", s->description,
						sizeof(s->description)) < 0) ||
	    ((v = f[2].value) && get_lease(L, v, "duration", &s->duration_ns) < 0))
		return -1;
	return load_scenario_faults(L, f[3].value, s);
}

int
ld_fault_sections(struct loader *L, yaml_node_t *policy, yaml_node_t *faults,
		  yaml_node_t *chaos)
{
	struct umbra_conf *c = L->c;

	if ((policy && load_policy(L, policy) < 0) ||
	    (faults && ld_load_list(L, faults, "faults", sizeof(struct conf_fault),
				    CONF_MAX_FAULTS, (void **)&c->faults, &c->n_faults,
				    fault_one) < 0) ||
	    (chaos && ld_load_list(L, chaos, "chaos scenarios", sizeof(struct conf_scenario),
				   CONF_MAX_SCENARIOS, (void **)&c->scenarios,
				   &c->n_scenarios, scenario_one) < 0))
		return -1;
	return 0;
}

/* ---- a rule given at run time ---- */

static int
load_leased(struct loader *L, yaml_node_t *root, void *out)
{
	return load_rule(L, root, out, RULE_LEASED, 0);
}

int
conf_fault_parse(const struct umbra_conf *c, const char *text, size_t len,
		 const char *name, struct conf_fault *out, char *err, size_t errlen)
{
	return ld_parse_text(c, text, len, name, "fault rule", err, errlen,
			     load_leased, out);
}
