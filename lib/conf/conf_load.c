/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * YAML to struct umbra_conf (libyaml document API). Every value is checked
 * and every name resolved here; the first problem ends the load with
 * "file:line:col: what is wrong" and nothing is returned.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf.h"

#define CONF_FILE_MAX (16u << 20)
/* Match priority: explicit * 4096 + (4095 - rule index), so an explicit
 * priority always wins and file order breaks ties (fits rte_acl's range). */
#define PRIO_EXPLICIT_MAX 65535u
#define PRIO_INDEX_SPAN 4096u
_Static_assert(CONF_MAX_MATCHES <= PRIO_INDEX_SPAN, "file order must fit the span");
_Static_assert((PRIO_EXPLICIT_MAX + 1ull) * PRIO_INDEX_SPAN <= (1u << 28),
	       "priorities stay below 2^28 (rte_acl)");

struct loader {
	struct umbra_conf *c;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

/* A key this mapping accepts, and where it was found. */
struct field {
	const char *key;
	bool required;
	yaml_node_t *value;
	yaml_node_t *key_node;
};

static struct conf_pos
pos_of(const yaml_node_t *n)
{
	return (struct conf_pos){ (uint32_t)n->start_mark.line + 1,
				  (uint32_t)n->start_mark.column + 1 };
}

__attribute__((format(printf, 3, 4)))
static int
fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error_at(L->c, pos_of(n), L->err, L->errlen, "%s", msg);
	return -1;
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int
expect(struct loader *L, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const names[] = {
		[YAML_SCALAR_NODE] = "a value", [YAML_SEQUENCE_NODE] = "a list",
		[YAML_MAPPING_NODE] = "a mapping",
	};

	if (n->type == t)
		return 0;
	return fail(L, n, "%s must be %s, not %s", what, names[t], node_kind(n));
}

/*
 * Fill @p fields from mapping @p map: unknown keys, duplicate keys and
 * missing required keys are errors. @p what names the mapping in messages.
 */
static int
fields_get(struct loader *L, yaml_node_t *map, struct field *fields,
	   const char *what)
{
	yaml_node_pair_t *p;

	if (expect(L, map, YAML_MAPPING_NODE, what) < 0)
		return -1;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
		struct field *f;

		if (k == NULL || v == NULL)
			return fail(L, map, "malformed %s", what);
		if (k->type != YAML_SCALAR_NODE)
			return fail(L, k, "keys in %s must be plain names", what);
		for (f = fields; f->key != NULL; f++)
			if (strcmp(f->key, scalar(k)) == 0)
				break;
		if (f->key == NULL)
			return fail(L, k, "unknown key '%s' in %s", scalar(k), what);
		if (f->value != NULL)
			return fail(L, k, "duplicate key '%s' in %s", scalar(k), what);
		f->value = v;
		f->key_node = k;
	}
	for (struct field *f = fields; f->key != NULL; f++)
		if (f->required && f->value == NULL)
			return fail(L, map, "missing required key '%s' in %s", f->key, what);
	return 0;
}

static yaml_node_t *
field_value(struct field *fields, const char *key)
{
	for (struct field *f = fields; f->key != NULL; f++)
		if (strcmp(f->key, key) == 0)
			return f->value;
	return NULL;
}

static int
get_str(struct loader *L, yaml_node_t *n, const char *what, const char **out)
{
	if (expect(L, n, YAML_SCALAR_NODE, what) < 0)
		return -1;
	*out = scalar(n);
	return 0;
}

static int
get_uint(struct loader *L, yaml_node_t *n, const char *what, unsigned long min,
	 unsigned long max, uint32_t *out)
{
	const char *s;
	char *end;
	unsigned long v;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		return fail(L, n, "%s must be a whole number from %lu to %lu, not '%s'",
			    what, min, max, s);
	*out = (uint32_t)v;
	return 0;
}

static int
get_u16(struct loader *L, yaml_node_t *n, const char *what, unsigned long min,
	unsigned long max, uint16_t *out)
{
	uint32_t v;

	if (get_uint(L, n, what, min, max, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int
get_bool(struct loader *L, yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "True", "TRUE" };
	static const char *const no[] = { "false", "no", "off", "False", "FALSE" };
	const char *s;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return fail(L, n, "%s must be true or false, not '%s'", what, s);
}

static int
get_name(struct loader *L, yaml_node_t *n, const char *what, char *out)
{
	const char *s;
	size_t len;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= CONF_NAME_MAX)
		return fail(L, n, "%s must be 1 to %d characters", what, CONF_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return fail(L, n, "%s '%s' may only hold letters, digits, '-' and '_'",
				    what, s);
	memcpy(out, s, len + 1);
	return 0;
}

/* "name1, name2" of everything in a table of names, for hints. */
#define NAMES_LIST(arr, n, buf) do { \
	size_t o_ = 0; (buf)[0] = '\0'; \
	for (uint32_t i_ = 0; i_ < (n) && o_ < sizeof(buf); i_++) \
		o_ += (size_t)snprintf((buf) + o_, sizeof(buf) - o_, "%s%s", \
				       i_ ? ", " : "", (arr)[i_].name); \
} while (0)

static int
get_port_ref(struct loader *L, yaml_node_t *n, const char *what, uint16_t *out)
{
	char names[CONF_MAX_PORTS * (CONF_NAME_MAX + 2)];
	const char *s;
	int i;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	i = conf_port_index(L->c, s);
	if (i < 0) {
		NAMES_LIST(L->c->ports, L->c->n_ports, names);
		return fail(L, n, "unknown port '%s' (ports are: %s)", s, names);
	}
	*out = (uint16_t)i;
	return 0;
}

static int
get_stage_ref(struct loader *L, yaml_node_t *n, const char *what, uint16_t *out)
{
	char names[CONF_MAX_STAGES * (CONF_NAME_MAX + 2)];
	const char *s;
	int i;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	i = conf_stage_index(L->c, s);
	if (i < 0) {
		NAMES_LIST(L->c->stages, L->c->n_stages, names);
		return fail(L, n, "unknown stage '%s' (stages are: %s)", s, names);
	}
	*out = (uint16_t)i;
	return 0;
}

static int
get_proto(struct loader *L, yaml_node_t *n, int32_t *out)
{
	static const struct { const char *name; int32_t num; } protos[] = {
		{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 },
	};
	const char *s;
	uint32_t v;

	if (get_str(L, n, "proto", &s) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(s, protos[i].name) == 0) {
			*out = protos[i].num;
			return 0;
		}
	}
	if (!isdigit((unsigned char)s[0]))
		return fail(L, n, "proto must be tcp, udp, icmp, icmpv6 or a number "
			    "0-255, not '%s'", s);
	if (get_uint(L, n, "proto", 0, 255, &v) < 0)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* "80" or "8000-8080". */
static int
get_range(struct loader *L, yaml_node_t *n, const char *what, struct conf_range *r)
{
	const char *s;
	char *end;
	unsigned long lo, hi;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	errno = 0;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == '-' && isdigit((unsigned char)end[1]))
		hi = strtoul(end + 1, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 ||
	    lo > 65535 || hi > 65535)
		return fail(L, n, "%s must be a port (0-65535) or a range like "
			    "8000-8080, not '%s'", what, s);
	if (hi < lo)
		return fail(L, n, "%s range '%s' ends before it starts", what, s);
	*r = (struct conf_range){ (uint16_t)lo, (uint16_t)hi };
	return 0;
}

static int
get_prefix(struct loader *L, yaml_node_t *n, const char *what, struct conf_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *s;
	char *slash, *end;
	unsigned long len;
	int max;

	if (get_str(L, n, what, &s) < 0)
		return -1;
	if (strlen(s) >= sizeof(buf))
		return fail(L, n, "invalid prefix '%s'", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = 4;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = 6;
	else
		return fail(L, n, "invalid prefix '%s': not an IPv4 or IPv6 address", s);
	max = p->family == 4 ? 32 : 128;
	len = (unsigned long)max;
	if (slash != NULL) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' || errno ||
		    len > (unsigned long)max)
			return fail(L, n, "invalid prefix '%s': length must be 0..%d", s, max);
	}
	p->len = (uint8_t)len;
	for (int bit = (int)len; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return fail(L, n, "invalid prefix '%s': bits set beyond /%lu", s, len);
	return 0;
}

static int
get_mac(struct loader *L, yaml_node_t *n, uint8_t mac[6])
{
	unsigned int b[6];
	const char *s;
	char tail;

	if (get_str(L, n, "next_hop_mac", &s) < 0)
		return -1;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6 || strlen(s) != 17)
		return fail(L, n, "next_hop_mac must look like 02:00:00:00:00:01, not '%s'", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int
check_ports_need_l4(struct loader *L, yaml_node_t *n, int32_t proto, const char *what)
{
	if (n != NULL && proto != 6 && proto != 17)
		return fail(L, n, "%s needs proto tcp or udp", what);
	return 0;
}

/* ---- ports ---- */

static int
load_port(struct loader *L, yaml_node_t *n, struct conf_port *p)
{
	struct field f[] = {
		{ "name", true }, { "vdev" }, { "pci" }, { "role" }, { "rx_queues" },
		{ "tx_queues" }, { "rx_desc" }, { "tx_desc" }, { "mtu" },
		{ "promiscuous" }, { NULL },
	};
	yaml_node_t *v;
	const char *s;

	if (fields_get(L, n, f, "port") < 0 || get_name(L, f[0].value, "port name", p->name) < 0)
		return -1;
	p->pos = pos_of(n);
	p->rx_desc = p->tx_desc = 1024;
	p->promiscuous = true;
	if ((f[1].value == NULL) == (f[2].value == NULL))
		return fail(L, n, "port '%s' needs exactly one of vdev: or pci:", p->name);
	v = f[1].value ? f[1].value : f[2].value;
	if (get_str(L, v, f[1].value ? "vdev" : "pci", &s) < 0)
		return -1;
	if (strlen(s) == 0 || strlen(s) >= CONF_DEV_MAX)
		return fail(L, v, "device string must be 1 to %d characters", CONF_DEV_MAX - 1);
	strcpy(p->dev, s);
	p->is_pci = f[2].value != NULL;
	if ((v = field_value(f, "role")) != NULL) {
		if (get_str(L, v, "role", &s) < 0)
			return -1;
		if (strcmp(s, "uplink") == 0)
			p->role = CONF_PORT_UPLINK;
		else if (strcmp(s, "stage") == 0)
			p->role = CONF_PORT_STAGE;
		else
			return fail(L, v, "role must be uplink or stage, not '%s'", s);
	}
	if (((v = field_value(f, "rx_queues")) && get_u16(L, v, "rx_queues", 0, 64, &p->rx_queues) < 0) ||
	    ((v = field_value(f, "tx_queues")) && get_u16(L, v, "tx_queues", 0, 64, &p->tx_queues) < 0) ||
	    ((v = field_value(f, "rx_desc")) && get_u16(L, v, "rx_desc", 64, 16384, &p->rx_desc) < 0) ||
	    ((v = field_value(f, "tx_desc")) && get_u16(L, v, "tx_desc", 64, 16384, &p->tx_desc) < 0) ||
	    ((v = field_value(f, "mtu")) && get_u16(L, v, "mtu", 68, 9600, &p->mtu) < 0) ||
	    ((v = field_value(f, "promiscuous")) && get_bool(L, v, "promiscuous", &p->promiscuous) < 0))
		return -1;
	if (p->rx_desc & (p->rx_desc - 1))
		return fail(L, field_value(f, "rx_desc"), "rx_desc must be a power of two");
	if (p->tx_desc & (p->tx_desc - 1))
		return fail(L, field_value(f, "tx_desc"), "tx_desc must be a power of two");
	return 0;
}

static int
load_ports(struct loader *L, yaml_node_t *seq)
{
	yaml_node_item_t *it;

	if (expect(L, seq, YAML_SEQUENCE_NODE, "ports") < 0)
		return -1;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);
		struct conf_port *p;

		if (L->c->n_ports == CONF_MAX_PORTS)
			return fail(L, n, "too many ports (at most %d)", CONF_MAX_PORTS);
		p = &L->c->ports[L->c->n_ports];
		if (load_port(L, n, p) < 0)
			return -1;
		if (conf_port_index(L->c, p->name) >= 0)
			return fail(L, n, "duplicate port name '%s'", p->name);
		L->c->n_ports++;
	}
	if (L->c->n_ports == 0)
		return fail(L, seq, "ports must list at least one port");
	return 0;
}

/* ---- stages and their match rules ---- */

static int
load_match(struct loader *L, yaml_node_t *n, uint16_t stage)
{
	struct field f[] = {
		{ "port" }, { "vlan" }, { "src" }, { "dst" }, { "proto" },
		{ "dport" }, { "priority" }, { NULL },
	};
	struct umbra_conf *c = L->c;
	struct conf_match *m;
	yaml_node_t *v;
	uint32_t prio = 0;
	uint16_t port;

	if (c->n_matches == CONF_MAX_MATCHES)
		return fail(L, n, "too many match rules (at most %d)", CONF_MAX_MATCHES);
	if (fields_get(L, n, f, "match rule") < 0)
		return -1;
	m = &c->matches[c->n_matches];
	*m = (struct conf_match){ .stage = stage, .port = CONF_ANY, .vlan = CONF_ANY,
				  .proto = CONF_ANY, .dport = { 0, 65535 },
				  .pos = pos_of(n) };
	if ((v = field_value(f, "port")) != NULL) {
		if (get_port_ref(L, v, "port", &port) < 0)
			return -1;
		m->port = port;
	}
	if ((v = field_value(f, "vlan")) != NULL) {
		uint32_t vlan;

		if (v->type == YAML_SCALAR_NODE && strcmp(scalar(v), "untagged") == 0)
			m->vlan = CONF_VLAN_UNTAGGED;
		else if (get_uint(L, v, "vlan", 0, 4094, &vlan) < 0)
			return -1;
		else
			m->vlan = (int32_t)vlan;
	}
	if (((v = field_value(f, "src")) && get_prefix(L, v, "src", &m->src) < 0) ||
	    ((v = field_value(f, "dst")) && get_prefix(L, v, "dst", &m->dst) < 0) ||
	    ((v = field_value(f, "proto")) && get_proto(L, v, &m->proto) < 0) ||
	    ((v = field_value(f, "dport")) && get_range(L, v, "dport", &m->dport) < 0) ||
	    ((v = field_value(f, "priority")) &&
	     get_uint(L, v, "priority", 0, PRIO_EXPLICIT_MAX, &prio) < 0))
		return -1;
	if (check_ports_need_l4(L, field_value(f, "dport"), m->proto, "dport") < 0)
		return -1;
	if (m->src.family && m->dst.family && m->src.family != m->dst.family)
		return fail(L, n, "src and dst of one rule must both be IPv4 or both IPv6");
	m->priority = prio * PRIO_INDEX_SPAN + (PRIO_INDEX_SPAN - 1 - c->n_matches);
	c->n_matches++;
	return 0;
}

static int
load_egress(struct loader *L, yaml_node_t *n, struct conf_stage *s)
{
	struct field f[] = { { "port", true }, { "vlan" }, { "next_hop_mac" }, { NULL } };
	yaml_node_t *v;

	if (fields_get(L, n, f, "egress") < 0 ||
	    get_port_ref(L, f[0].value, "egress port", &s->egress_port) < 0 ||
	    ((v = f[1].value) && get_u16(L, v, "vlan", 0, 4094, &s->egress_vlan) < 0))
		return -1;
	if ((v = f[2].value) != NULL) {
		if (get_mac(L, v, s->next_hop_mac) < 0)
			return -1;
		s->rewrite_mac = true;
	}
	return 0;
}

static int
load_stage(struct loader *L, yaml_node_t *n, uint16_t index, bool *is_default)
{
	struct field f[] = {
		{ "name", true }, { "default" }, { "egress", true }, { "proxy_arp" },
		{ "match" }, { NULL },
	};
	struct conf_stage *s = &L->c->stages[index];
	yaml_node_t *v;

	if (fields_get(L, n, f, "stage") < 0 || get_name(L, f[0].value, "stage name", s->name) < 0)
		return -1;
	s->pos = pos_of(n);
	if (conf_stage_index(L->c, s->name) >= 0)
		return fail(L, n, "duplicate stage name '%s'", s->name);
	*is_default = false;
	if (((v = f[1].value) && get_bool(L, v, "default", is_default) < 0) ||
	    load_egress(L, f[2].value, s) < 0 ||
	    ((v = f[3].value) && get_bool(L, v, "proxy_arp", &s->proxy_arp) < 0))
		return -1;
	return 0;
}

/* Match rules are loaded once every stage is known (a rule names its own). */
static int
load_stage_matches(struct loader *L, yaml_node_t *n, uint16_t index)
{
	yaml_node_t *seq = NULL;
	yaml_node_pair_t *p;
	yaml_node_item_t *it;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		if (strcmp(scalar(yaml_document_get_node(L->doc, p->key)), "match") == 0)
			seq = yaml_document_get_node(L->doc, p->value);
	if (seq == NULL)
		return 0;
	if (expect(L, seq, YAML_SEQUENCE_NODE, "match") < 0)
		return -1;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++)
		if (load_match(L, yaml_document_get_node(L->doc, *it), index) < 0)
			return -1;
	return 0;
}

static int
load_stages(struct loader *L, yaml_node_t *seq)
{
	struct umbra_conf *c = L->c;
	yaml_node_item_t *it;
	int n_default = 0;
	uint16_t i = 0;

	if (expect(L, seq, YAML_SEQUENCE_NODE, "stages") < 0)
		return -1;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);
		bool is_default;

		if (c->n_stages == CONF_MAX_STAGES)
			return fail(L, n, "too many stages (at most %d)", CONF_MAX_STAGES);
		if (load_stage(L, n, c->n_stages, &is_default) < 0)
			return -1;
		if (is_default && n_default++ > 0)
			return fail(L, n, "stage '%s' is a second default stage (only one "
				    "may say default: true)", c->stages[c->n_stages].name);
		if (is_default)
			c->default_stage = c->n_stages;
		c->n_stages++;
	}
	if (c->n_stages == 0)
		return fail(L, seq, "stages must list at least one stage");
	if (n_default == 0 && c->n_stages > 1)
		return fail(L, seq, "no default stage: mark one stage with default: true");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++)
		if (load_stage_matches(L, yaml_document_get_node(L->doc, *it), i) < 0)
			return -1;
	return 0;
}

/* ---- flows and policies ---- */

static int
load_flow_rule(struct loader *L, yaml_node_t *n, struct conf_flow_rule *r, uint32_t index)
{
	struct field f[] = {
		{ "name" }, { "from", true }, { "to", true }, { "proto" }, { "sport" },
		{ "dport" }, { "action" }, { NULL },
	};
	yaml_node_t *v;
	const char *s;

	*r = (struct conf_flow_rule){ .proto = CONF_ANY, .sport = { 0, 65535 },
				      .dport = { 0, 65535 }, .allow = true, .pos = pos_of(n) };
	if (fields_get(L, n, f, "flow rule") < 0)
		return -1;
	if (f[0].value != NULL) {
		if (get_name(L, f[0].value, "flow rule name", r->name) < 0)
			return -1;
	} else {
		snprintf(r->name, sizeof(r->name), "flow%u", index + 1);
	}
	if (get_stage_ref(L, f[1].value, "from", &r->from) < 0 ||
	    get_stage_ref(L, f[2].value, "to", &r->to) < 0 ||
	    ((v = f[3].value) && get_proto(L, v, &r->proto) < 0) ||
	    ((v = f[4].value) && get_range(L, v, "sport", &r->sport) < 0) ||
	    ((v = f[5].value) && get_range(L, v, "dport", &r->dport) < 0) ||
	    check_ports_need_l4(L, f[4].value, r->proto, "sport") < 0 ||
	    check_ports_need_l4(L, f[5].value, r->proto, "dport") < 0)
		return -1;
	if (r->from == r->to)
		return fail(L, f[2].value, "flow rule '%s' goes from stage '%s' to itself; "
			    "traffic within a stage needs no rule", r->name,
			    L->c->stages[r->from].name);
	if ((v = f[6].value) != NULL) {
		if (get_str(L, v, "action", &s) < 0)
			return -1;
		if (strcmp(s, "allow") != 0 && strcmp(s, "deny") != 0)
			return fail(L, v, "action must be allow or deny, not '%s'", s);
		r->allow = strcmp(s, "allow") == 0;
	}
	return 0;
}

static int
load_policy(struct loader *L, yaml_node_t *n, struct conf_policy *p)
{
	struct field f[] = { { "name", true }, { "never", true }, { NULL } };
	struct field nv[] = {
		{ "from", true }, { "to", true }, { "proto" }, { "dport" }, { NULL },
	};
	yaml_node_t *v;

	*p = (struct conf_policy){ .proto = CONF_ANY, .dport = { 0, 65535 }, .pos = pos_of(n) };
	if (fields_get(L, n, f, "policy") < 0 ||
	    get_name(L, f[0].value, "policy name", p->name) < 0 ||
	    fields_get(L, f[1].value, nv, "never") < 0 ||
	    get_stage_ref(L, nv[0].value, "from", &p->from) < 0 ||
	    get_stage_ref(L, nv[1].value, "to", &p->to) < 0 ||
	    ((v = nv[2].value) && get_proto(L, v, &p->proto) < 0) ||
	    ((v = nv[3].value) && get_range(L, v, "dport", &p->dport) < 0) ||
	    check_ports_need_l4(L, nv[3].value, p->proto, "dport") < 0)
		return -1;
	return 0;
}

/* Load a list of @p size-byte items with @p load_one into a new array. */
static int
load_list(struct loader *L, yaml_node_t *seq, const char *what, size_t size,
	  uint32_t max, void **array, uint32_t *count,
	  int (*load_one)(struct loader *, yaml_node_t *, void *, uint32_t))
{
	yaml_node_item_t *it;
	size_t n;

	if (expect(L, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > max)
		return fail(L, seq, "too many %s (at most %u)", what, max);
	*array = calloc(n ? n : 1, size);
	if (*array == NULL)
		return fail(L, seq, "out of memory");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		if (load_one(L, yaml_document_get_node(L->doc, *it),
			     (char *)*array + *count * size, *count) < 0)
			return -1;
		(*count)++;
	}
	return 0;
}

static int
flow_rule_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct conf_flow_rule *r = item;

	if (load_flow_rule(L, n, r, index) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->flow_rules[i].name, r->name) == 0)
			return fail(L, n, "duplicate flow rule name '%s'", r->name);
	return 0;
}

static int
policy_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct conf_policy *p = item;

	if (load_policy(L, n, p) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->policies[i].name, p->name) == 0)
			return fail(L, n, "duplicate policy name '%s'", p->name);
	return 0;
}

/* ---- small sections ---- */

static int
load_flow_table(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "size" }, { "tcp_closed_timeout_ms" }, { "tcp_idle_timeout_s" },
		{ "udp_idle_timeout_s" }, { "other_idle_timeout_s" }, { NULL },
	};
	struct conf_flow_table *ft = &L->c->flow_table;
	uint32_t *dst[] = { &ft->size, &ft->tcp_closed_timeout_ms, &ft->tcp_idle_timeout_s,
			    &ft->udp_idle_timeout_s, &ft->other_idle_timeout_s };
	const unsigned long lo[] = { 1024, 1, 1, 1, 1 };
	const unsigned long hi[] = { 1u << 24, 3600000, 86400, 86400, 86400 };

	if (fields_get(L, n, f, "flow_table") < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (f[i].value && get_uint(L, f[i].value, f[i].key, lo[i], hi[i], dst[i]) < 0)
			return -1;
	return 0;
}

static int
load_mempool(struct loader *L, yaml_node_t *n)
{
	struct field f[] = { { "mbufs" }, { "data_room" }, { NULL } };
	struct conf_mempool *mp = &L->c->mempool;

	if (fields_get(L, n, f, "mempool") < 0 ||
	    (f[0].value && get_uint(L, f[0].value, "mbufs", 1024, 1u << 26, &mp->mbufs) < 0) ||
	    (f[1].value && get_u16(L, f[1].value, "data_room", 256, 65535, &mp->data_room) < 0))
		return -1;
	return 0;
}

static int
load_stats(struct loader *L, yaml_node_t *n)
{
	struct field f[] = { { "interval_s" }, { NULL } };

	if (fields_get(L, n, f, "stats") < 0 ||
	    (f[0].value && get_uint(L, f[0].value, "interval_s", 0, 86400,
				    &L->c->stats_interval_s) < 0))
		return -1;
	return 0;
}

/* A string that must fit @p size bytes (with its NUL). */
static int
get_bounded(struct loader *L, yaml_node_t *n, const char *what, char *out, size_t size)
{
	const char *v;

	if (get_str(L, n, what, &v) < 0)
		return -1;
	if (strlen(v) == 0 || strlen(v) >= size)
		return fail(L, n, "%s must be 1 to %zu characters", what, size - 1);
	strcpy(out, v);
	return 0;
}

static int
load_mgmt(struct loader *L, yaml_node_t *n)
{
	struct conf_mgmt *m = &L->c->mgmt;
	struct field f[] = {
		{ "socket" }, { "socket_group" }, { "state_dir" }, { "http" },
		{ "http_token_file" }, { NULL },
	};
	char *dst[] = { m->socket, m->socket_group, m->state_dir, m->http,
			m->http_token_file };
	const size_t size[] = { sizeof(m->socket), sizeof(m->socket_group),
				sizeof(m->state_dir), sizeof(m->http),
				sizeof(m->http_token_file) };

	if (fields_get(L, n, f, "mgmt") < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (f[i].value && get_bounded(L, f[i].value, f[i].key, dst[i], size[i]) < 0)
			return -1;
	return 0;
}

static int
load_root(struct loader *L, yaml_node_t *root)
{
	struct field f[] = {
		{ "ports", true }, { "stages", true }, { "flows" }, { "policies" },
		{ "flow_table" }, { "mempool" }, { "stats" }, { "mgmt" }, { NULL },
	};
	struct umbra_conf *c = L->c;

	if (fields_get(L, root, f, "the configuration") < 0 ||
	    load_ports(L, f[0].value) < 0)
		return -1;
	c->matches = calloc(CONF_MAX_MATCHES, sizeof(*c->matches));
	if (c->matches == NULL)
		return fail(L, root, "out of memory");
	if (load_stages(L, f[1].value) < 0 ||
	    (f[2].value && load_list(L, f[2].value, "flows", sizeof(struct conf_flow_rule),
				     CONF_MAX_FLOW_RULES, (void **)&c->flow_rules,
				     &c->n_flow_rules, flow_rule_one) < 0) ||
	    (f[3].value && load_list(L, f[3].value, "policies", sizeof(struct conf_policy),
				     CONF_MAX_POLICIES, (void **)&c->policies,
				     &c->n_policies, policy_one) < 0) ||
	    (f[4].value && load_flow_table(L, f[4].value) < 0) ||
	    (f[5].value && load_mempool(L, f[5].value) < 0) ||
	    (f[6].value && load_stats(L, f[6].value) < 0) ||
	    (f[7].value && load_mgmt(L, f[7].value) < 0))
		return -1;
	return 0;
}

static void
defaults(struct umbra_conf *c)
{
	c->flow_table = (struct conf_flow_table){
		.size = 65536, .tcp_closed_timeout_ms = 2000, .tcp_idle_timeout_s = 300,
		.udp_idle_timeout_s = 60, .other_idle_timeout_s = 30,
	};
}

struct umbra_conf *
conf_load_string(const char *yaml, size_t len, const char *name, char *err,
		 size_t errlen)
{
	struct umbra_conf *c = calloc(1, sizeof(*c));
	yaml_parser_t parser;
	yaml_document_t doc;
	struct loader L = { .c = c, .doc = &doc, .err = err, .errlen = errlen };
	yaml_node_t *root;
	int rc = -1;

	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	snprintf(c->file, sizeof(c->file), "%s", name);
	defaults(c);
	if (len > CONF_FILE_MAX) {
		conf_error_at(c, (struct conf_pos){ 1, 1 }, err, errlen,
			      "file is larger than %u MiB", CONF_FILE_MAX >> 20);
		conf_free(c);
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		conf_error_at(c, (struct conf_pos){ (uint32_t)parser.problem_mark.line + 1,
						    (uint32_t)parser.problem_mark.column + 1 },
			      err, errlen, "YAML syntax error: %s%s%s",
			      parser.problem ? parser.problem : "unknown problem",
			      parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		conf_free(c);
		return NULL;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		conf_error_at(c, (struct conf_pos){ 1, 1 }, err, errlen,
			      "the configuration is empty");
	else
		rc = load_root(&L, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct umbra_conf *
conf_load_file(const char *path, char *err, size_t errlen)
{
	struct umbra_conf *c;
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONF_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, CONF_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		c = NULL;
	} else {
		c = conf_load_string(buf, n, path, err, errlen);
	}
	fclose(f);
	free(buf);
	return c;
}

void
conf_free(struct umbra_conf *c)
{
	if (c == NULL)
		return;
	free(c->matches);
	free(c->flow_rules);
	free(c->policies);
	free(c);
}

int
conf_stage_index(const struct umbra_conf *c, const char *name)
{
	for (uint16_t i = 0; i < c->n_stages; i++)
		if (strcmp(c->stages[i].name, name) == 0)
			return i;
	return -1;
}

int
conf_port_index(const struct umbra_conf *c, const char *name)
{
	for (uint16_t i = 0; i < c->n_ports; i++)
		if (strcmp(c->ports[i].name, name) == 0)
			return i;
	return -1;
}
