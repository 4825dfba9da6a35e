/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow profiles (shadows:): which flows of a stage are cloned, whole, to
 * a shadow network (a port with role shadow), and how the shadow's answers
 * are compared with production's; and one profile given at run time
 * (conf_shadow_parse, `shadow create`).
 *
 * Load order (load_root): last, since a profile names a stage, a service
 * and ports. Whether a port's role allows what it is used for is checked
 * where the port is read (ld_egress_fields and friends): a shadow port
 * carries nothing but shadows.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "conf_private.h"

#define NS_PER_S 1000000000ull
#define PROTO_TCP 6
#define PROTO_UDP 17
#define FRACTION_DEFAULT 0.1
#define BURST_DEFAULT 64u
#define BURST_MAX 65536u
#define TIMEOUT_DEFAULT_NS (2 * NS_PER_S)
#define SESSIONS_DEFAULT 4096u
#define SESSIONS_MAX 1048576u
#define EARLY_DEFAULT 8u
#define EARLY_MAX 64u

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* By enum conf_shadow_compare. */
static const char *const compare_names[] = { "auto", "http", "dns", "bytes" };

/* Headers that differ between any two answers (time, host, per-request ids). */
static const char *const default_ignore[] = {
	"date", "server", "set-cookie", "expires", "last-modified", "etag", "age",
	"x-request-id",
};
_Static_assert(COUNT(default_ignore) <= CONF_SHADOW_IGNORE_MAX,
	       "the default ignore list must fit a profile");

/* A profile's keys (conf/README.md), in the order shadow/create declares
 * them (umbractl fills positional words in this order). */
static const struct conf_key shadow_profile_keys[] = {
	{ "name", CONF_KEY_STRING, true },
	{ "stage", CONF_KEY_STRING, true },
	{ "service", CONF_KEY_STRING, false },
	{ "proto", CONF_KEY_SCALAR, false },
	{ "src", CONF_KEY_STRING, false },
	{ "dst", CONF_KEY_STRING, false },
	{ "sport", CONF_KEY_SCALAR, false },
	{ "dport", CONF_KEY_SCALAR, false },
	{ "fraction", CONF_KEY_SCALAR, false },
	{ "seed", CONF_KEY_SCALAR, false },
	{ "ttl", CONF_KEY_STRING, false },
	{ "max_pps", CONF_KEY_SCALAR, false },
	{ "burst", CONF_KEY_SCALAR, false },
	{ "port", CONF_KEY_STRING, true },
	{ "vlan", CONF_KEY_SCALAR, false },
	{ "next_hop_mac", CONF_KEY_STRING, false },
	{ "control", CONF_KEY_OBJECT, false },
	{ "compare", CONF_KEY_STRING, false },
	{ "ignore_headers", CONF_KEY_ARRAY, false },
	{ "response_timeout", CONF_KEY_STRING, false },
	{ "max_sessions", CONF_KEY_SCALAR, false },
	{ "early_segments", CONF_KEY_SCALAR, false },
	{ "version", CONF_KEY_STRING, false },
	{ "shed", CONF_KEY_SCALAR, false },
	{ NULL, 0, false },
};
_Static_assert(COUNT(shadow_profile_keys) == CONF_SHADOW_PROFILE_KEYS + 1,
	       "CONF_SHADOW_PROFILE_KEYS counts the profile's keys");
const struct conf_key *const conf_shadow_profile_keys = shadow_profile_keys;

void
ld_shadow_defaults(struct conf_shadow *s, yaml_node_t *n)
{
	*s = (struct conf_shadow){
		.service = -1, .proto = CONF_ANY, .sport = { 0, 65535 },
		.dport = { 0, 65535 }, .fraction = FRACTION_DEFAULT,
		.burst = BURST_DEFAULT, .compare = CONF_COMPARE_AUTO,
		.response_timeout_ns = TIMEOUT_DEFAULT_NS,
		.max_sessions = SESSIONS_DEFAULT, .early_segments = EARLY_DEFAULT,
		.shed = true, .pos = ld_pos_of(n),
	};
	for (size_t i = 0; i < COUNT(default_ignore); i++)
		snprintf(s->ignore_headers[i], CONF_SHADOW_HDR_MAX, "%s", default_ignore[i]);
	s->n_ignore = (uint8_t)COUNT(default_ignore);
}

/* ---- which flows ---- */

static int
load_target(struct loader *L, yaml_node_t *n, struct field *f, struct conf_shadow *s)
{
	struct ld_tuple t;
	yaml_node_t *v;

	if (((v = ld_field_value(f, "service")) && ld_get_service_ref(L, v, &s->service) < 0) ||
	    ld_get_tuple(L, n, f, "shadow profile", &t) < 0)
		return -1;
	if ((v = ld_field_value(f, "version"))) {
		if (s->service < 0)
			return ld_fail(L, v, "a shadow profile's version names a release: give "
				       "its service too");
		if (ld_get_version(L, v, s->version) < 0)
			return -1;
	}
	s->proto = t.proto;
	s->src = t.src;
	s->dst = t.dst;
	s->sport = t.sport;
	s->dport = t.dport;
	return 0;
}

/* compare dns reads DNS over UDP, http HTTP/1.x over TCP: proto given or implied. */
static int
implied_proto(struct loader *L, struct field *f, struct conf_shadow *s)
{
	yaml_node_t *proto = ld_field_value(f, "proto");
	bool dns = s->compare == CONF_COMPARE_DNS;

	if (!dns && s->compare != CONF_COMPARE_HTTP)
		return 0;
	if (proto != NULL && s->proto != (dns ? PROTO_UDP : PROTO_TCP))
		return ld_fail(L, proto, "compare %s reads %s over %s: give proto %s or none, "
			       "not '%s'", compare_names[s->compare], dns ? "DNS" : "HTTP/1.x",
			       dns ? "UDP" : "TCP", dns ? "udp" : "tcp", ld_scalar(proto));
	s->proto = dns ? PROTO_UDP : PROTO_TCP;
	return 0;
}

static int
load_compare(struct loader *L, struct field *f, struct conf_shadow *s)
{
	yaml_node_t *v = ld_field_value(f, "compare");

	if (v && ld_get_choice(L, v, "compare", compare_names, COUNT(compare_names),
			       &s->compare) < 0)
		return -1;
	if (implied_proto(L, f, s) < 0)
		return -1;
	return ld_check_tuple_ports(L, f, s->proto);
}

/* fraction, seed, ttl and the packet cap (max_pps, burst). */
static int
load_selection(struct loader *L, struct field *f, struct conf_shadow *s)
{
	yaml_node_t *v;

	if (((v = ld_field_value(f, "fraction")) &&
	     ld_get_probability(L, v, "fraction", &s->fraction) < 0) ||
	    ((v = ld_field_value(f, "seed")) &&
	     ld_get_uint(L, v, "seed", 0, 4294967295ul, &s->seed) < 0) ||
	    ((v = ld_field_value(f, "ttl")) && ld_get_duration(L, v, "ttl", &s->ttl_ns) < 0) ||
	    ((v = ld_field_value(f, "max_pps")) &&
	     ld_get_uint(L, v, "max_pps", 0, 4294967295ul, &s->max_pps) < 0) ||
	    ((v = ld_field_value(f, "burst")) &&
	     ld_get_uint(L, v, "burst", 1, BURST_MAX, &s->burst) < 0))
		return -1;
	return 0;
}

/* ---- where the clones go ---- */

static int
load_control(struct loader *L, yaml_node_t *n, struct conf_shadow *s)
{
	struct field f[] = { { "port", true }, { "vlan" }, { "next_hop_mac" }, { NULL } };

	if (n == NULL)
		return 0;
	if (ld_fields_get(L, n, f, "control") < 0 ||
	    ld_shadow_egress_fields(L, f, &s->control) < 0)
		return -1;
	s->has_control = true;
	if (s->control.port == s->egress.port && s->control.vlan == s->egress.vlan)
		return ld_fail(L, n, "shadow '%s': control is on the shadow's own port '%s' "
			       "and vlan %u; give control another port or vlan (the two "
			       "replicas' answers must not mix)", s->name,
			       L->c->ports[s->egress.port].name, s->egress.vlan);
	return 0;
}

/* ---- how answers are compared ---- */

/* An HTTP field name is a token (RFC 9110): no ':', no spaces. */
static bool
is_token_char(unsigned char ch)
{
	return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
get_header(struct loader *L, yaml_node_t *n, char *out)
{
	const char *h;
	size_t len;

	if (ld_get_str(L, n, "header name", &h) < 0)
		return -1;
	len = strlen(h);
	if (len == 0 || len >= CONF_SHADOW_HDR_MAX)
		return ld_fail(L, n, "header name must be 1 to %d characters",
			       CONF_SHADOW_HDR_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if (!is_token_char((unsigned char)h[i]))
			return ld_fail(L, n, "header name '%s' may only hold letters, digits "
				       "and !#$%%&'*+-.^_`|~ (no ':' or spaces)", h);
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)h[i]);
	return 0;
}

/* ignore_headers replaces the default list; [] ignores nothing. */
static int
load_ignore(struct loader *L, yaml_node_t *seq, struct conf_shadow *s)
{
	yaml_node_item_t *it;

	if (seq == NULL)
		return 0;
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "ignore_headers") < 0)
		return -1;
	if (seq->data.sequence.items.top - seq->data.sequence.items.start >
	    CONF_SHADOW_IGNORE_MAX)
		return ld_fail(L, seq, "too many ignore_headers (at most %d)",
			       CONF_SHADOW_IGNORE_MAX);
	memset(s->ignore_headers, 0, sizeof(s->ignore_headers));
	s->n_ignore = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);
		char *h = s->ignore_headers[s->n_ignore];

		if (get_header(L, n, h) < 0)
			return -1;
		for (uint8_t i = 0; i < s->n_ignore; i++)
			if (strcmp(s->ignore_headers[i], h) == 0)
				return ld_fail(L, n, "duplicate header '%s' in ignore_headers", h);
		s->n_ignore++;
	}
	return 0;
}

/* response_timeout and the per-worker session limits. */
static int
load_limits(struct loader *L, struct field *f, struct conf_shadow *s)
{
	yaml_node_t *v;
	uint32_t early;

	if (((v = ld_field_value(f, "response_timeout")) &&
	     ld_get_positive_duration(L, v, "response_timeout", &s->response_timeout_ns) < 0) ||
	    ((v = ld_field_value(f, "max_sessions")) &&
	     ld_get_uint(L, v, "max_sessions", 1, SESSIONS_MAX, &s->max_sessions) < 0))
		return -1;
	if ((v = ld_field_value(f, "early_segments")) != NULL) {
		if (ld_get_uint(L, v, "early_segments", 1, EARLY_MAX, &early) < 0)
			return -1;
		s->early_segments = (uint8_t)early;
	}
	if ((v = ld_field_value(f, "shed")) != NULL &&
	    ld_get_bool(L, v, "shed", &s->shed) < 0)
		return -1;
	return 0;
}

/* ---- one profile ---- */

int
ld_shadow_body(struct loader *L, yaml_node_t *n, struct field *f, struct conf_shadow *s)
{
	if (load_target(L, n, f, s) < 0 || load_compare(L, f, s) < 0 ||
	    load_selection(L, f, s) < 0 || ld_shadow_egress_fields(L, f, &s->egress) < 0 ||
	    load_control(L, ld_field_value(f, "control"), s) < 0 ||
	    load_ignore(L, ld_field_value(f, "ignore_headers"), s) < 0)
		return -1;
	return load_limits(L, f, s);
}

static int
load_profile(struct loader *L, yaml_node_t *n, struct conf_shadow *s)
{
	struct field f[CONF_SHADOW_PROFILE_KEYS + 1];

	ld_fields_of_keys(f, conf_shadow_profile_keys);
	ld_shadow_defaults(s, n);
	if (ld_fields_get(L, n, f, "shadow profile") < 0 ||
	    ld_get_name(L, ld_field_value(f, "name"), "shadow name", s->name) < 0 ||
	    ld_get_stage_ref(L, ld_field_value(f, "stage"), "stage", &s->stage) < 0)
		return -1;
	return ld_shadow_body(L, n, f, s);
}

static int
shadow_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct conf_shadow *s = item;

	if (load_profile(L, n, s) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->shadows[i].name, s->name) == 0)
			return ld_fail(L, n, "duplicate shadow name '%s'", s->name);
	return 0;
}

int
ld_shadows(struct loader *L, yaml_node_t *seq)
{
	struct umbra_conf *c = L->c;

	return ld_load_list(L, seq, "shadows", sizeof(struct conf_shadow), CONF_MAX_SHADOWS,
			    (void **)&c->shadows, &c->n_shadows, shadow_one);
}

/* ---- a profile given at run time ---- */

static int
load_text_profile(struct loader *L, yaml_node_t *root, void *out)
{
	return load_profile(L, root, out);
}

int
conf_shadow_parse(const struct umbra_conf *c, const char *text, size_t len,
		  const char *name, struct conf_shadow *out, char *err, size_t errlen)
{
	return ld_parse_text(c, text, len, name, "shadow profile", err, errlen,
			     load_text_profile, out);
}
