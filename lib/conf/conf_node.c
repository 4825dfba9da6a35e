/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Readers of libyaml nodes shared by every section's loader: checked
 * scalars, names, references, prefixes, ranges; each failure is reported as
 * "file:line:col: what is wrong".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

struct conf_pos
ld_pos_of(const yaml_node_t *n)
{
	return (struct conf_pos){ (uint32_t)n->start_mark.line + 1,
				  (uint32_t)n->start_mark.column + 1 };
}

/* "file:line:col: msg", file being L->file when set (conf_fault_parse). */
static int
report(struct loader *L, struct conf_pos pos, const char *msg)
{
	if (L->file == NULL)
		conf_error_at(L->c, pos, L->err, L->errlen, "%s", msg);
	else if (L->errlen > 0)
		snprintf(L->err, L->errlen, "%s:%u:%u: %s", L->file, pos.line, pos.col, msg);
	return -1;
}

int
ld_fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return report(L, ld_pos_of(n), msg);
}

int
ld_fail_at(struct loader *L, struct conf_pos pos, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return report(L, pos, msg);
}

const char *
ld_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

yaml_node_t *
ld_map_value(struct loader *L, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);

		if (k != NULL && k->type == YAML_SCALAR_NODE && strcmp(ld_scalar(k), key) == 0)
			return yaml_document_get_node(L->doc, p->value);
	}
	return NULL;
}

const char *
ld_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

int
ld_expect(struct loader *L, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
	static const char *const names[] = {
		[YAML_SCALAR_NODE] = "a value", [YAML_SEQUENCE_NODE] = "a list",
		[YAML_MAPPING_NODE] = "a mapping",
	};

	if (n->type == t)
		return 0;
	return ld_fail(L, n, "%s must be %s, not %s", what, names[t], ld_node_kind(n));
}

/*
 * Fill @p fields from mapping @p map: unknown keys, duplicate keys and
 * missing required keys are errors. @p what names the mapping in messages.
 */
int
ld_fields_get(struct loader *L, yaml_node_t *map, struct field *fields,
	   const char *what)
{
	yaml_node_pair_t *p;

	if (ld_expect(L, map, YAML_MAPPING_NODE, what) < 0)
		return -1;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(L->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(L->doc, p->value);
		struct field *f;

		if (k == NULL || v == NULL)
			return ld_fail(L, map, "malformed %s", what);
		if (k->type != YAML_SCALAR_NODE)
			return ld_fail(L, k, "keys in %s must be plain names", what);
		for (f = fields; f->key != NULL; f++)
			if (strcmp(f->key, ld_scalar(k)) == 0)
				break;
		if (f->key == NULL)
			return ld_fail(L, k, "unknown key '%s' in %s", ld_scalar(k), what);
		if (f->value != NULL)
			return ld_fail(L, k, "duplicate key '%s' in %s", ld_scalar(k), what);
		f->value = v;
		f->key_node = k;
	}
	for (struct field *f = fields; f->key != NULL; f++)
		if (f->required && f->value == NULL)
			return ld_fail(L, map, "missing required key '%s' in %s", f->key, what);
	return 0;
}

void
ld_fields_of_keys(struct field *f, const struct conf_key *keys)
{
	for (; keys->name != NULL; keys++, f++)
		*f = (struct field){ keys->name, keys->required, NULL, NULL };
	*f = (struct field){ NULL, false, NULL, NULL };
}

yaml_node_t *
ld_field_value(struct field *fields, const char *key)
{
	for (struct field *f = fields; f->key != NULL; f++)
		if (strcmp(f->key, key) == 0)
			return f->value;
	return NULL;
}

int
ld_get_str(struct loader *L, yaml_node_t *n, const char *what, const char **out)
{
	if (ld_expect(L, n, YAML_SCALAR_NODE, what) < 0)
		return -1;
	*out = ld_scalar(n);
	return 0;
}

int
ld_get_uint(struct loader *L, yaml_node_t *n, const char *what, unsigned long min,
	 unsigned long max, uint32_t *out)
{
	const char *s;
	char *end;
	unsigned long v;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		return ld_fail(L, n, "%s must be a whole number from %lu to %lu, not '%s'",
			    what, min, max, s);
	*out = (uint32_t)v;
	return 0;
}

int
ld_get_u16(struct loader *L, yaml_node_t *n, const char *what, unsigned long min,
	unsigned long max, uint16_t *out)
{
	uint32_t v;

	if (ld_get_uint(L, n, what, min, max, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int
ld_get_bool(struct loader *L, yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "True", "TRUE" };
	static const char *const no[] = { "false", "no", "off", "False", "FALSE" };
	const char *s;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return ld_fail(L, n, "%s must be true or false, not '%s'", what, s);
}

int
ld_get_name(struct loader *L, yaml_node_t *n, const char *what, char *out)
{
	const char *s;
	size_t len;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	len = strlen(s);
	if (len == 0 || len >= CONF_NAME_MAX)
		return ld_fail(L, n, "%s must be 1 to %d characters", what, CONF_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return ld_fail(L, n, "%s '%s' may only hold letters, digits, '-' and '_'",
				    what, s);
	memcpy(out, s, len + 1);
	return 0;
}


int
ld_get_port_ref(struct loader *L, yaml_node_t *n, const char *what, uint16_t *out)
{
	char names[CONF_MAX_PORTS * (CONF_NAME_MAX + 2)];
	const char *s;
	int i;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	i = conf_port_index(L->c, s);
	if (i < 0) {
		NAMES_LIST(L->c->ports, L->c->n_ports, names);
		return ld_fail(L, n, "unknown port '%s' (ports are: %s)", s, names);
	}
	*out = (uint16_t)i;
	return 0;
}

int
ld_get_stage_ref(struct loader *L, yaml_node_t *n, const char *what, uint16_t *out)
{
	char names[CONF_MAX_STAGES * (CONF_NAME_MAX + 2)];
	const char *s;
	int i;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	i = conf_stage_index(L->c, s);
	if (i < 0) {
		NAMES_LIST(L->c->stages, L->c->n_stages, names);
		return ld_fail(L, n, "unknown stage '%s' (stages are: %s)", s, names);
	}
	*out = (uint16_t)i;
	return 0;
}

int
ld_get_proto(struct loader *L, yaml_node_t *n, int32_t *out)
{
	static const struct { const char *name; int32_t num; } protos[] = {
		{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 },
	};
	const char *s;
	uint32_t v;

	if (ld_get_str(L, n, "proto", &s) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(s, protos[i].name) == 0) {
			*out = protos[i].num;
			return 0;
		}
	}
	if (!isdigit((unsigned char)s[0]))
		return ld_fail(L, n, "proto must be tcp, udp, icmp, icmpv6 or a number "
			    "0-255, not '%s'", s);
	if (ld_get_uint(L, n, "proto", 0, 255, &v) < 0)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* "80" or "8000-8080". */
int
ld_get_range(struct loader *L, yaml_node_t *n, const char *what, struct conf_range *r)
{
	const char *s;
	char *end;
	unsigned long lo, hi;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	errno = 0;
	lo = strtoul(s, &end, 10);
	hi = lo;
	if (*end == '-' && isdigit((unsigned char)end[1]))
		hi = strtoul(end + 1, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 ||
	    lo > 65535 || hi > 65535)
		return ld_fail(L, n, "%s must be a port (0-65535) or a range like "
			    "8000-8080, not '%s'", what, s);
	if (hi < lo)
		return ld_fail(L, n, "%s range '%s' ends before it starts", what, s);
	*r = (struct conf_range){ (uint16_t)lo, (uint16_t)hi };
	return 0;
}

int
ld_get_prefix(struct loader *L, yaml_node_t *n, const char *what, struct conf_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *s;
	char *slash, *end;
	unsigned long len;
	int max;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	if (strlen(s) >= sizeof(buf))
		return ld_fail(L, n, "invalid prefix '%s'", s);
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
		return ld_fail(L, n, "invalid prefix '%s': not an IPv4 or IPv6 address", s);
	max = p->family == 4 ? 32 : 128;
	len = (unsigned long)max;
	if (slash != NULL) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' || errno ||
		    len > (unsigned long)max)
			return ld_fail(L, n, "invalid prefix '%s': length must be 0..%d", s, max);
	}
	p->len = (uint8_t)len;
	for (int bit = (int)len; bit < max; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return ld_fail(L, n, "invalid prefix '%s': bits set beyond /%lu", s, len);
	return 0;
}

int
ld_get_mac(struct loader *L, yaml_node_t *n, uint8_t mac[6])
{
	unsigned int b[6];
	const char *s;
	char tail;

	if (ld_get_str(L, n, "next_hop_mac", &s) < 0)
		return -1;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6 || strlen(s) != 17)
		return ld_fail(L, n, "next_hop_mac must look like 02:00:00:00:00:01, not '%s'", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

int
ld_check_ports_need_l4(struct loader *L, yaml_node_t *n, int32_t proto, const char *what)
{
	if (n != NULL && proto != 6 && proto != 17)
		return ld_fail(L, n, "%s needs proto tcp or udp", what);
	return 0;
}

/* ---- ports ---- */

/* Load a list of @p size-byte items with @p load_one into a new array. */
int
ld_load_list(struct loader *L, yaml_node_t *seq, const char *what, size_t size,
	  uint32_t max, void **array, uint32_t *count,
	  int (*load_one)(struct loader *, yaml_node_t *, void *, uint32_t))
{
	yaml_node_item_t *it;
	size_t n;

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, what) < 0)
		return -1;
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > max)
		return ld_fail(L, seq, "too many %s (at most %u)", what, max);
	*array = calloc(n ? n : 1, size);
	if (*array == NULL)
		return ld_fail(L, seq, "out of memory");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		if (load_one(L, yaml_document_get_node(L->doc, *it),
			     (char *)*array + *count * size, *count) < 0)
			return -1;
		(*count)++;
	}
	return 0;
}

/* A string that must fit @p size bytes (with its NUL). */
int
ld_get_bounded(struct loader *L, yaml_node_t *n, const char *what, char *out, size_t size)
{
	const char *v;

	if (ld_get_str(L, n, what, &v) < 0)
		return -1;
	if (strlen(v) == 0 || strlen(v) >= size)
		return ld_fail(L, n, "%s must be 1 to %zu characters", what, size - 1);
	strcpy(out, v);
	return 0;
}


int
ld_get_service_ref(struct loader *L, yaml_node_t *n, int16_t *out)
{
	char names[CONF_MAX_SERVICES * (CONF_NAME_MAX + 2)];
	const char *s;
	int i;

	if (ld_get_str(L, n, "service", &s) < 0)
		return -1;
	i = conf_service_index(L->c, s);
	if (i < 0) {
		if (L->c->n_services == 0)
			return ld_fail(L, n, "unknown service '%s' (no services are defined)", s);
		NAMES_LIST(L->c->services, L->c->n_services, names);
		return ld_fail(L, n, "unknown service '%s' (services are: %s)", s, names);
	}
	*out = (int16_t)i;
	return 0;
}

/* One of @p count words, as its index; the message lists them ("a, b or c"). */
int
ld_get_choice(struct loader *L, yaml_node_t *n, const char *what,
	      const char *const *names, uint8_t count, uint8_t *out)
{
	char list[256];
	size_t o = 0;
	const char *s;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	for (uint8_t i = 0; i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	list[0] = '\0';
	for (uint8_t i = 0; i < count && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				      i == 0 ? "" : i + 1 == count ? " or " : ", ", names[i]);
	return ld_fail(L, n, "%s must be %s, not '%s'", what, list, s);
}

/* ---- numbers with units ---- */

struct unit {
	const char *name;
	uint64_t mult;
};

/* True when @p s[0..len) is "12" or "1.25". */
static bool
is_decimal(const char *s, size_t len)
{
	size_t i = 0, dot = len;

	for (; i < len; i++) {
		if (s[i] == '.' && dot == len && i > 0 && i + 1 < len)
			dot = i;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return len > 0;
}

/*
 * Decimal number @p s[0..len) times @p mult, exactly (decimals past the
 * sixth are dropped). Returns 0, -1 when it is no number, -2 on overflow.
 */
static int
scale_decimal(const char *s, size_t len, uint64_t mult, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, div = 1, part;
	size_t i = 0;

	if (!is_decimal(s, len))
		return -1;
	for (; i < len && s[i] != '.'; i++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -2;
		whole = whole * 10 + (uint64_t)(s[i] - '0');
	}
	for (i++; i < len && div < 1000000; i++, div *= 10)
		frac = frac * 10 + (uint64_t)(s[i] - '0');
	part = frac * mult / div; /* frac < 10^6, mult <= 3.6 * 10^12: no overflow */
	if (whole > (UINT64_MAX - part) / mult)
		return -2;
	*out = whole * mult + part;
	return 0;
}

/*
 * "1.5s": a number then one of @p units (ended by a NULL name).
 * Returns 0, -1 when malformed, -2 on overflow, -3 for a number without unit.
 */
static int
scale_with_unit(const char *s, const struct unit *units, uint64_t *out)
{
	size_t n = strspn(s, "0123456789.");
	uint64_t ignored;

	for (const struct unit *u = units; u->name != NULL; u++)
		if (strcmp(s + n, u->name) == 0)
			return scale_decimal(s, n, u->mult, out);
	if (s[n] == '\0' && scale_decimal(s, n, 1, &ignored) == 0)
		return -3;
	return -1;
}

static const struct unit duration_units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000ull },
	{ "m", 60000000000ull }, { "h", 3600000000000ull }, { NULL, 0 },
};

int
conf_duration_parse(const char *s, uint64_t *ns)
{
	return scale_with_unit(s, duration_units, ns) == 0 ? 0 : -1;
}

int
ld_get_duration(struct loader *L, yaml_node_t *n, const char *what, uint64_t *ns)
{
	const char *s;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	switch (scale_with_unit(s, duration_units, ns)) {
	case 0:
		return 0;
	case -3:
		return ld_fail(L, n, "%s '%s' needs a unit (ns, us, ms, s, m, h)", what, s);
	case -2:
		return ld_fail(L, n, "%s '%s' is too long", what, s);
	default:
		return ld_fail(L, n, "%s must be a duration such as 200ms or 1.5s (a number "
			       "and ns, us, ms, s, m or h), not '%s'", what, s);
	}
}

int
ld_get_rate(struct loader *L, yaml_node_t *n, const char *what, uint64_t *bytes_per_s)
{
	static const struct unit units[] = {
		{ "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 }, { "gbit", 1000000000 },
		{ NULL, 0 },
	};
	const char *s;
	uint64_t bits = 0;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	switch (scale_with_unit(s, units, &bits)) {
	case 0:
		break;
	case -3:
		return ld_fail(L, n, "%s '%s' needs a unit (bit, kbit, mbit, gbit)", what, s);
	case -2:
		return ld_fail(L, n, "%s '%s' is too high", what, s);
	default:
		return ld_fail(L, n, "%s must be a bit rate such as 10mbit or 1.5gbit (a "
			       "number and bit, kbit, mbit or gbit), not '%s'", what, s);
	}
	if (bits < 8)
		return ld_fail(L, n, "%s must be at least 8bit (1 byte per second), not '%s'",
			       what, s);
	*bytes_per_s = bits / 8;
	return 0;
}

int
ld_get_bytes(struct loader *L, yaml_node_t *n, const char *what, uint64_t min,
	     uint64_t max, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "KB", 1024 }, { "MB", 1024 * 1024 }, { NULL, 0 },
	};
	const char *s;
	int rc;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	rc = scale_with_unit(s, units, out);
	if (rc == -1)
		return ld_fail(L, n, "%s must be a size in bytes such as 3000, 64KB or 1MB, "
			       "not '%s'", what, s);
	if (rc < 0 || *out < min || *out > max)
		return ld_fail(L, n, "%s must be from %" PRIu64 " to %" PRIu64 " bytes, not '%s'",
			       what, min, max, s);
	return 0;
}

/* 0..1 ("0.05") or a percentage ("5%"). */
int
ld_get_probability(struct loader *L, yaml_node_t *n, const char *what, double *out)
{
	const char *s;
	size_t len;
	bool percent;
	double v;

	if (ld_get_str(L, n, what, &s) < 0)
		return -1;
	len = strlen(s);
	percent = len > 0 && s[len - 1] == '%';
	if (percent)
		len--;
	v = is_decimal(s, len) ? strtod(s, NULL) : -1.0;
	if (percent)
		v /= 100.0;
	if (!(v >= 0.0 && v <= 1.0))
		return ld_fail(L, n, "%s must be from 0 to 1, or a percentage such as 5%%, "
			       "not '%s'", what, s);
	*out = v;
	return 0;
}

int
ld_get_positive_duration(struct loader *L, yaml_node_t *n, const char *what, uint64_t *ns)
{
	if (ld_get_duration(L, n, what, ns) < 0)
		return -1;
	if (*ns == 0)
		return ld_fail(L, n, "%s must be above 0", what);
	return 0;
}

/* ---- a rule's target: proto, src, dst, sport, dport ---- */

int
ld_get_tuple(struct loader *L, yaml_node_t *n, struct field *f, const char *what,
	     struct ld_tuple *t)
{
	yaml_node_t *v;

	*t = (struct ld_tuple){ .proto = CONF_ANY, .sport = { 0, 65535 },
				.dport = { 0, 65535 } };
	if (((v = ld_field_value(f, "proto")) && ld_get_proto(L, v, &t->proto) < 0) ||
	    ((v = ld_field_value(f, "src")) && ld_get_prefix(L, v, "src", &t->src) < 0) ||
	    ((v = ld_field_value(f, "dst")) && ld_get_prefix(L, v, "dst", &t->dst) < 0) ||
	    ((v = ld_field_value(f, "sport")) && ld_get_range(L, v, "sport", &t->sport) < 0) ||
	    ((v = ld_field_value(f, "dport")) && ld_get_range(L, v, "dport", &t->dport) < 0))
		return -1;
	if (t->src.family && t->dst.family && t->src.family != t->dst.family)
		return ld_fail(L, n, "src and dst of one %s must both be IPv4 or both IPv6",
			       what);
	return 0;
}

int
ld_check_tuple_ports(struct loader *L, struct field *f, int32_t proto)
{
	if (ld_check_ports_need_l4(L, ld_field_value(f, "sport"), proto, "sport") < 0 ||
	    ld_check_ports_need_l4(L, ld_field_value(f, "dport"), proto, "dport") < 0)
		return -1;
	return 0;
}

/* ---- one mapping given as text (run-time commands) ---- */

/* Where the parser stopped; at the end of the text rather than on the line
 * libyaml adds after it (a one-line text's error stays on line 1). */
static struct conf_pos
problem_pos(const yaml_parser_t *parser, const char *text, size_t len)
{
	struct conf_pos pos = { 1, 1 };

	if (parser->problem_mark.index < len)
		return (struct conf_pos){ (uint32_t)parser->problem_mark.line + 1,
					  (uint32_t)parser->problem_mark.column + 1 };
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else {
			pos.col++;
		}
	}
	return pos;
}

int
ld_parse_text(const struct umbra_conf *c, const char *text, size_t len,
	      const char *name, const char *what, char *err, size_t errlen,
	      int (*load)(struct loader *L, yaml_node_t *root, void *out), void *out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	/* The readers only read the configuration (names, policy). */
	struct loader L = { .c = (struct umbra_conf *)(uintptr_t)c, .doc = &doc,
			    .err = err, .errlen = errlen, .file = name };
	yaml_node_t *root;
	int rc = -1;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ld_fail_at(&L, problem_pos(&parser, text, len), "syntax error: %s%s%s",
			   parser.problem ? parser.problem : "unknown problem",
			   parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -1;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		ld_fail_at(&L, (struct conf_pos){ 1, 1 }, "the %s is empty", what);
	else
		rc = load(&L, root, out);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}
