/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: stage classification (rte_acl), inter-stage policy, invariants. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ut_eal.h"
#include <rte_common.h>
#include <rte_eal.h>

#include "classify.h"

enum { P_UPLINK, P_PROD, P_DEV };
enum { S_PROD, S_STAGING, S_DEV, S_TEST };

static struct conf_match
match_any(uint16_t stage)
{
	return (struct conf_match){
		.stage = stage, .port = CONF_ANY, .vlan = CONF_ANY,
		.proto = CONF_ANY, .dport = { 0, 65535 },
	};
}

static struct conf_prefix
prefix(const char *s, int len)
{
	struct conf_prefix p = { .len = (uint8_t)len };

	if (strchr(s, ':')) {
		p.family = 6;
		inet_pton(AF_INET6, s, p.addr);
	} else {
		p.family = 4;
		inet_pton(AF_INET, s, p.addr);
	}
	return p;
}

static struct conf_flow_rule
flow_rule(const char *name, uint16_t from, uint16_t to, int32_t proto,
	  uint16_t dlo, uint16_t dhi, bool allow, uint32_t line)
{
	struct conf_flow_rule r = {
		.from = from, .to = to, .proto = proto,
		.sport = { 0, 65535 }, .dport = { dlo, dhi }, .allow = allow,
		.pos = { line, 5 },
	};

	snprintf(r.name, sizeof(r.name), "%s", name);
	return r;
}

/* Three ports, four stages, a few rules of each kind. */
static struct umbra_conf *
test_conf(void)
{
	struct umbra_conf *c = calloc(1, sizeof(*c));
	const char *stages[] = { "production", "staging", "dev", "test" };

	snprintf(c->file, sizeof(c->file), "t.yaml");
	c->n_ports = 3;
	c->n_stages = 4;
	for (int i = 0; i < 4; i++)
		snprintf(c->stages[i].name, CONF_NAME_MAX, "%s", stages[i]);
	c->stages[S_PROD].egress.port = P_PROD;
	c->stages[S_STAGING].egress.port = P_PROD;
	c->stages[S_STAGING].egress.vlan = 300;
	c->stages[S_DEV].egress.port = P_DEV;
	c->stages[S_TEST].egress.port = P_DEV;
	c->stages[S_TEST].egress.vlan = 40;
	c->default_stage = S_PROD;

	c->matches = calloc(8, sizeof(*c->matches));
	/* 0: staging clients on VLAN 200 of the uplink */
	c->matches[0] = match_any(S_STAGING);
	c->matches[0].port = P_UPLINK;
	c->matches[0].vlan = 200;
	/* 1: dev clients by source prefix, only from the uplink */
	c->matches[1] = match_any(S_DEV);
	c->matches[1].port = P_UPLINK;
	c->matches[1].src = prefix("10.1.0.0", 16);
	/* 2: dev servers by destination */
	c->matches[2] = match_any(S_DEV);
	c->matches[2].dst = prefix("10.1.0.0", 16);
	/* 3: test: TCP 8000-8999 toward 10.2/16, and an IPv6 /48 */
	c->matches[3] = match_any(S_TEST);
	c->matches[3].proto = 6;
	c->matches[3].dport = (struct conf_range){ 8000, 8999 };
	c->matches[3].dst = prefix("10.2.0.0", 16);
	c->matches[4] = match_any(S_TEST);
	c->matches[4].dst = prefix("2001:db8:2::", 48);
	/* 5: overlapping with 2 but lower priority: never wins for 10.1.5/24 */
	c->matches[5] = match_any(S_STAGING);
	c->matches[5].dst = prefix("10.1.5.0", 24);
	/* 6: explicit high priority beats earlier rules: VLAN 201 any dst */
	c->matches[6] = match_any(S_TEST);
	c->matches[6].vlan = 201;
	c->n_matches = 7;
	for (uint32_t i = 0; i < c->n_matches; i++)
		c->matches[i].priority = 4095 - i;
	c->matches[6].priority = 10 * 4096;

	c->flow_rules = calloc(4, sizeof(*c->flow_rules));
	c->flow_rules[0] = flow_rule("test-metrics", S_TEST, S_STAGING, 17, 9100, 9100, true, 40);
	c->flow_rules[1] = flow_rule("dev-no-ssh", S_DEV, S_TEST, 6, 22, 22, false, 41);
	c->flow_rules[2] = flow_rule("dev-to-test", S_DEV, S_TEST, CONF_ANY, 0, 65535, true, 42);
	c->n_flow_rules = 3;
	c->policies = calloc(2, sizeof(*c->policies));
	c->policies[0] = (struct conf_policy){
		.name = "prod-never-dev", .from = S_PROD, .to = S_DEV,
		.proto = CONF_ANY, .dport = { 0, 65535 }, .pos = { 50, 5 },
	};
	c->n_policies = 1;
	return c;
}

static struct pkt_meta
ip4(const char *src, const char *dst, uint8_t proto, uint16_t dport,
    uint16_t vlan)
{
	struct pkt_meta m = { .l3 = PKT_L3_IPV4, .l4_proto = proto,
			      .flags = PKT_F_L4, .sport = 12345, .dport = dport };

	inet_pton(AF_INET, src, m.src);
	inet_pton(AF_INET, dst, m.dst);
	if (vlan) {
		m.n_vlan = 1;
		m.vlan_tci[0] = vlan;
	}
	return m;
}

static struct pkt_meta
ip6(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	struct pkt_meta m = { .l3 = PKT_L3_IPV6, .l4_proto = proto,
			      .flags = PKT_F_L4, .sport = 1, .dport = dport };

	inet_pton(AF_INET6, src, m.src);
	inet_pton(AF_INET6, dst, m.dst);
	return m;
}

static uint16_t
classify1(const struct classify_ctx *ctx, const struct pkt_meta *m,
	  uint16_t in_port)
{
	struct classify_key k;
	const struct classify_key *kp = &k;
	uint16_t stage;

	classify_key_from_meta(m, in_port, &k);
	classify_stages(ctx, &kp, 1, &stage);
	return stage;
}

struct fixture {
	struct umbra_conf *c;
	struct classify_ctx *ctx;
};

static int
setup(void **state)
{
	static struct fixture f;
	char err[256] = "";

	f.c = test_conf();
	f.ctx = classify_build(f.c, "ut_cls", 0, err, sizeof(err));
	if (f.ctx == NULL)
		fail_msg("classify_build: %s", err);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	classify_free(f->ctx);
	conf_free(f->c);
	return 0;
}

static void
test_key_byte_order(void **state)
{
	struct pkt_meta m = ip4("10.1.2.3", "10.9.8.7", 6, 0x1f90, 0x2064);
	struct classify_key k;

	(void)state;
	classify_key_from_meta(&m, 0x0102, &k);
	assert_int_equal(k.proto, 6);
	assert_memory_equal(&k.in_port, "\x01\x02", 2);
	assert_memory_equal(&k.vlan, "\x00\x64", 2); /* VLAN id only, no PCP */
	assert_memory_equal(&k.family, "\x00\x04", 2);
	assert_memory_equal(&k.dport, "\x1f\x90", 2);
	assert_memory_equal(k.src, "\x0a\x01\x02\x03", 4);
}

static void
test_stage_rules(void **state)
{
	struct fixture *f = *state;
	struct pkt_meta m;

	m = ip4("10.0.0.5", "10.0.0.100", 6, 80, 0);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_PROD); /* default */
	m = ip4("10.0.0.5", "10.0.0.100", 6, 80, 200);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_STAGING);
	assert_int_equal(classify1(f->ctx, &m, P_PROD), S_PROD); /* port matters */
	m = ip4("10.1.7.7", "10.0.0.100", 17, 53, 0);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_DEV);
	assert_int_equal(classify1(f->ctx, &m, P_DEV), S_PROD); /* src rule is uplink-only */
	m = ip4("10.0.0.5", "10.1.200.1", 1, 0, 0);
	assert_int_equal(classify1(f->ctx, &m, P_PROD), S_DEV);
}

static void
test_ports_and_protocols(void **state)
{
	struct fixture *f = *state;
	struct pkt_meta m;

	m = ip4("10.0.0.5", "10.2.0.1", 6, 8000, 0);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_TEST);
	m.dport = 8999;
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_TEST);
	m.dport = 9000;
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_PROD);
	m = ip4("10.0.0.5", "10.2.0.1", 17, 8080, 0); /* UDP: rule is TCP */
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_PROD);
}

static void
test_ipv6_prefix(void **state)
{
	struct fixture *f = *state;
	struct pkt_meta m;

	m = ip6("2001:db8::1", "2001:db8:2:ffff::1", 6, 443);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_TEST);
	m = ip6("2001:db8::1", "2001:db8:3::1", 6, 443);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_PROD);
	/* An IPv4 address whose bytes look like the IPv6 prefix does not match. */
	m = ip4("10.0.0.1", "32.1.13.184", 6, 443, 0);
	assert_int_equal(classify1(f->ctx, &m, P_UPLINK), S_PROD);
}

static void
test_priority(void **state)
{
	struct fixture *f = *state;
	struct pkt_meta m;

	/* Rules 2 (dev) and 5 (staging) both match; the earlier one wins. */
	m = ip4("10.0.0.5", "10.1.5.9", 6, 80, 0);
	assert_int_equal(classify1(f->ctx, &m, P_PROD), S_DEV);
	/* Rule 6 has an explicit higher priority than rule 2. */
	m = ip4("10.0.0.5", "10.1.5.9", 6, 80, 201);
	assert_int_equal(classify1(f->ctx, &m, P_PROD), S_TEST);
}

static void
test_batch(void **state)
{
	struct fixture *f = *state;
	struct pkt_meta m[CLASSIFY_BURST_MAX];
	struct classify_key k[CLASSIFY_BURST_MAX];
	const struct classify_key *kp[CLASSIFY_BURST_MAX];
	uint16_t stages[CLASSIFY_BURST_MAX];

	for (int i = 0; i < CLASSIFY_BURST_MAX; i++) {
		m[i] = ip4(i % 2 ? "10.1.0.1" : "10.0.0.1", "10.0.0.100", 6, 80, 0);
		classify_key_from_meta(&m[i], P_UPLINK, &k[i]);
		kp[i] = &k[i];
	}
	classify_stages(f->ctx, kp, CLASSIFY_BURST_MAX, stages);
	for (int i = 0; i < CLASSIFY_BURST_MAX; i++)
		assert_int_equal(stages[i], i % 2 ? S_DEV : S_PROD);
}

static void
test_from_stage(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(classify_from_stage(f->ctx, P_PROD, 0), S_PROD);
	assert_int_equal(classify_from_stage(f->ctx, P_PROD, 300), S_STAGING);
	assert_int_equal(classify_from_stage(f->ctx, P_DEV, 0), S_DEV);
	assert_int_equal(classify_from_stage(f->ctx, P_DEV, 40), S_TEST);
	assert_int_equal(classify_from_stage(f->ctx, P_UPLINK, 0), CLASSIFY_NO_STAGE);
	assert_int_equal(classify_from_stage(f->ctx, P_PROD, 999), CLASSIFY_NO_STAGE);
}

static void
test_policy(void **state)
{
	struct fixture *f = *state;
	bool allow;

	assert_int_equal(classify_policy(f->ctx, S_TEST, S_STAGING, 17, 5, 9100, &allow), 0);
	assert_true(allow);
	assert_int_equal(classify_policy(f->ctx, S_TEST, S_STAGING, 17, 5, 9101, &allow),
			 CLASSIFY_NO_RULE);
	assert_false(allow);
	assert_int_equal(classify_policy(f->ctx, S_TEST, S_STAGING, 6, 5, 9100, &allow),
			 CLASSIFY_NO_RULE);
	/* First match in file order: the deny for SSH before the broad allow. */
	assert_int_equal(classify_policy(f->ctx, S_DEV, S_TEST, 6, 5, 22, &allow), 1);
	assert_false(allow);
	assert_int_equal(classify_policy(f->ctx, S_DEV, S_TEST, 6, 5, 80, &allow), 2);
	assert_true(allow);
	/* Rules are directional. */
	assert_int_equal(classify_policy(f->ctx, S_TEST, S_DEV, 6, 5, 80, &allow),
			 CLASSIFY_NO_RULE);
	assert_false(allow);
}

static void
test_no_match_rules(void **state)
{
	struct umbra_conf *c = test_conf();
	struct classify_ctx *ctx;
	struct pkt_meta m = ip4("10.1.0.1", "10.1.0.2", 6, 80, 200);
	char err[256];

	(void)state;
	c->n_matches = 0;
	c->default_stage = S_STAGING;
	ctx = classify_build(c, "ut_cls_empty", 0, err, sizeof(err));
	assert_non_null(ctx);
	assert_int_equal(classify1(ctx, &m, P_UPLINK), S_STAGING);
	classify_free(ctx);
	conf_free(c);
}

static void
test_invariant_ok(void **state)
{
	struct umbra_conf *c = test_conf();
	char err[256] = "";

	(void)state;
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), 0);
	conf_free(c);
}

static void
test_invariant_broken(void **state)
{
	struct umbra_conf *c = test_conf();
	char err[256] = "";

	(void)state;
	c->flow_rules[3] = flow_rule("prod-to-dev-api", S_PROD, S_DEV, 6, 8080, 8080, true, 43);
	c->n_flow_rules = 4;
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:43:5: flow rule 'prod-to-dev-api' allows "
			    "production -> dev (tcp, dport 8080-8080), which policy "
			    "'prod-never-dev' at line 50 forbids");
	conf_free(c);
}

static void
test_invariant_narrow_policy(void **state)
{
	struct umbra_conf *c = test_conf();
	char err[256] = "";

	(void)state;
	/* The policy only forbids TCP 5432; a UDP rule and a TCP 80 rule pass,
	 * a deny rule never breaks a policy, an overlapping range does. */
	c->policies[0].proto = 6;
	c->policies[0].dport = (struct conf_range){ 5432, 5432 };
	c->flow_rules[3] = flow_rule("a", S_PROD, S_DEV, 17, 5432, 5432, true, 60);
	c->n_flow_rules = 4;
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), 0);
	c->flow_rules[3] = flow_rule("b", S_PROD, S_DEV, 6, 80, 80, true, 61);
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), 0);
	c->flow_rules[3] = flow_rule("c", S_PROD, S_DEV, 6, 5432, 5432, false, 62);
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), 0);
	c->flow_rules[3] = flow_rule("d", S_PROD, S_DEV, CONF_ANY, 5000, 6000, true, 63);
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.yaml:63:5: flow rule 'd'"));
	conf_free(c);
}

static void
test_invariant_self(void **state)
{
	struct umbra_conf *c = test_conf();
	char err[256] = "";

	(void)state;
	c->policies[0].to = S_PROD;
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:50:5: policy 'prod-never-dev' forbids stage "
			    "'production' to reach itself, which a stage always does");
	conf_free(c);
}

/*
 * Every road out of a stage against the policies, from YAML (positions are
 * real): production must never reach dev, whose network is port lab, VLAN
 * 100. Line numbers: the policy item is at 12:5, production's entry in the
 * service's stages at 22:7, what @p tail adds starts at line 25.
 */
static const char roads_yaml[] =
	"ports:\n"
	"  - { name: uplink, vdev: net_null0, role: uplink }\n"
	"  - { name: prod, vdev: net_null1 }\n"
	"  - { name: lab, vdev: net_null2 }\n"
	"  - { name: shadow, vdev: net_null3, role: shadow }\n"
	"stages:\n"
	"  - { name: production, default: true, egress: { port: prod } }\n"
	"  - { name: staging, egress: { port: prod, vlan: 300 } }\n"
	"  - { name: dev, egress: { port: lab, vlan: 100 } }\n"
	"  - { name: test, egress: { port: lab, vlan: 200 } }\n"
	"policies:\n"
	"  - name: prod-never-dev\n"
	"    never: { from: production, to: dev%s }\n"
	"services:\n"
	"  - name: web\n"
	"    match: { dst: 10.0.0.10/32, proto: tcp, dport: 80 }\n"
	"    backends:\n"
	"      - { name: blue, port: prod, vlan: 301, next_hop_mac: \"02:00:00:00:0b:01\" }\n"
	"      - { name: green, port: prod, vlan: 302, next_hop_mac: \"02:00:00:00:0b:02\" }\n"
	"      - { name: devbox, port: lab, vlan: 100 }\n"
	"    stages:\n"
	"      production: { backends: [%s], running: v1 }\n"
	"      dev: { backends: [devbox], running: v1 }\n"
	"    rollout: { steps: [10, 100], stage: production }\n"
	"%s";

#define POLICY_AT "which policy 'prod-never-dev' never{from: production, to: dev} " \
		  "(t.yaml:12:5) forbids"

/* roads_yaml with the policy's extra keys, production's backends and a tail. */
static struct umbra_conf *
roads_conf(const char *policy, const char *prod_backends, const char *tail)
{
	char yaml[4096], err[512] = "";
	struct umbra_conf *c;

	snprintf(yaml, sizeof(yaml), roads_yaml, policy, prod_backends, tail);
	c = conf_load_string(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

/* classify_check_invariants() of a roads_conf(): "" when it passes. */
static const char *
roads_check(const char *policy, const char *prod_backends, const char *tail,
	    const char *state)
{
	static char err[512];
	struct umbra_conf *c = roads_conf(policy, prod_backends, tail);
	json_t *st = state ? json_loads(state, 0, NULL) : NULL;

	if (state != NULL)
		assert_non_null(st);
	err[0] = '\0';
	if (classify_check_invariants(c, st, err, sizeof(err)) == 0)
		assert_string_equal(err, "");
	else
		assert_true(err[0] != '\0');
	json_decref(st);
	conf_free(c);
	return err;
}

static void
test_roads_allowed(void **state)
{
	(void)state;
	/* Dev's own backend on dev's network, production's on other VLANs of
	 * its port, splits to staging and to a production backend, a shadow,
	 * and a steering state that keeps production on its own backends. */
	assert_string_equal(roads_check("", "blue, green",
		"splits:\n"
		"  - { name: half, stage: production, hash: [0, 32767], to_stage: staging }\n"
		"  - { name: lab, stage: production, service: web, src: 10.9.0.0/16, "
		"to_backend: green }\n"
		"  - { name: dev-to-test, stage: dev, hash: [0, 99], to_stage: test }\n"
		"shadows:\n"
		"  - { name: sh, stage: production, port: shadow, vlan: 100 }\n",
		"{\"web\": {\"production\": {\"version\": \"v1\", \"backend\": \"blue\", "
		"\"canary\": {\"version\": \"v2\", \"backend\": \"green\", \"bp\": 1000}}, "
		"\"dev\": {\"version\": \"v3\", \"backend\": \"devbox\"}}}"), "");
	/* A policy on UDP does not concern a TCP service on dev's network. */
	assert_string_equal(roads_check(", proto: udp", "blue, devbox", "", NULL), "");
	/* Production's traffic to staging is allowed, but staging's split
	 * sends only web (tcp 80) to dev, and the rule carries only udp. */
	assert_string_equal(roads_check("", "blue, green",
		"flows:\n"
		"  - { name: prod-metrics, from: production, to: staging, proto: udp }\n"
		"splits:\n"
		"  - { name: stg-web, stage: staging, service: web, hash: [0, 99], "
		"to_stage: dev }\n", NULL), "");
}

static void
test_roads_split(void **state)
{
	(void)state;
	assert_string_equal(roads_check("", "blue, green",
		"splits:\n"
		"  - { name: prod-to-dev, stage: production, hash: [0, 999], to_stage: dev }\n",
		NULL),
		"t.yaml:26:5: split 'prod-to-dev' sends production's flows to stage "
		"dev, " POLICY_AT);
	assert_string_equal(roads_check("", "blue, green",
		"splits:\n"
		"  - { name: lab, stage: production, service: web, src: 10.9.0.0/16, "
		"to_backend: devbox }\n", NULL),
		"t.yaml:26:5: split 'lab' sends production's flows of service 'web' to "
		"backend 'devbox' on stage dev's network (port lab, vlan 100), " POLICY_AT);
	/* Through staging: an allow rule lets production's traffic in. */
	assert_string_equal(roads_check("", "blue, green",
		"flows:\n"
		"  - { name: prod-web, from: production, to: staging, proto: tcp, dport: 80 }\n"
		"splits:\n"
		"  - { name: stg-web, stage: staging, service: web, hash: [0, 99], "
		"to_stage: dev }\n", NULL),
		"t.yaml:28:5: split 'stg-web' sends staging's flows of service 'web' to "
		"stage dev (and flow rule 'prod-web' at t.yaml:26:5 lets production's "
		"traffic into staging), " POLICY_AT);
}

static void
test_roads_backend(void **state)
{
	(void)state;
	/* Any version the workflow places in production (each rollout step
	 * included) runs on one of its two backends: both are checked. */
	assert_string_equal(roads_check("", "blue, devbox", "", NULL),
		"t.yaml:22:7: service 'web' gives production backend 'devbox' on stage "
		"dev's network (port lab, vlan 100), " POLICY_AT);
	assert_string_equal(roads_check(", proto: tcp, dport: 80-90", "green, devbox", "", NULL),
		"t.yaml:22:7: service 'web' gives production backend 'devbox' on stage "
		"dev's network (port lab, vlan 100), which policy 'prod-never-dev' "
		"never{from: production, to: dev, proto: tcp, dport: 80-90} "
		"(t.yaml:12:5) forbids");
}

static void
test_roads_state(void **state)
{
	(void)state;
	/* A canary (a rollout step) and a running version on a backend the
	 * stage does not list: a state restored from an older generation. */
	assert_string_equal(roads_check("", "blue, green", "",
		"{\"web\": {\"production\": {\"version\": \"v1\", \"backend\": \"blue\", "
		"\"canary\": {\"version\": \"v2\", \"backend\": \"devbox\", \"bp\": 1000}}}}"),
		"steering state: canary v2 of service 'web' in production runs on "
		"backend 'devbox' on stage dev's network (port lab, vlan 100), " POLICY_AT);
	assert_string_equal(roads_check("", "blue, green", "",
		"{\"web\": {\"production\": {\"version\": \"v0\", \"backend\": \"devbox\"}}}"),
		"steering state: version v0 of service 'web' in production runs on "
		"backend 'devbox' on stage dev's network (port lab, vlan 100), " POLICY_AT);
	/* What steer_build refuses (unknown names) is left to it. */
	assert_string_equal(roads_check("", "blue, green", "",
		"{\"web\": {\"nowhere\": {\"version\": \"v0\"}, \"production\": "
		"{\"version\": \"v0\", \"backend\": \"nope\"}}, \"gone\": {}}"), "");
}

static void
test_roads_shadow_and_stage(void **state)
{
	struct umbra_conf *c = roads_conf("", "blue, green",
		"shadows:\n"
		"  - name: sh\n"
		"    stage: production\n"
		"    port: shadow\n"
		"    control: { port: shadow, vlan: 7 }\n");
	char err[512] = "";

	(void)state;
	/* The loader keeps shadows on shadow ports; the check holds even so. */
	c->shadows[0].egress.port = 2;
	c->shadows[0].egress.vlan = 100;
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:26:5: shadow 'sh' copies production's flows "
			    "to stage dev's network (port lab, vlan 100), " POLICY_AT);
	c->shadows[0].egress.port = 3;
	c->shadows[0].control.port = 2;
	c->shadows[0].control.vlan = 100;
	assert_int_equal(classify_check_shadow(c, &c->shadows[0], err, sizeof(err)), -1);
	assert_string_equal(err, "shadow 'sh' copies production's flows for its control "
			    "replica to stage dev's network (port lab, vlan 100), " POLICY_AT);
	c->shadows[0].control.vlan = 200;
	assert_int_equal(classify_check_shadow(c, &c->shadows[0], err, sizeof(err)), 0);
	/* A stage whose egress is dev's network. */
	c->stages[0].egress.port = 2;
	c->stages[0].egress.vlan = 100;
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:7:5: stage 'production' leaves through stage "
			    "dev's network (port lab, vlan 100), " POLICY_AT);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_byte_order),
		cmocka_unit_test_setup_teardown(test_stage_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_and_protocols, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_stage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test(test_no_match_rules),
		cmocka_unit_test(test_invariant_ok),
		cmocka_unit_test(test_invariant_broken),
		cmocka_unit_test(test_invariant_narrow_policy),
		cmocka_unit_test(test_invariant_self),
		cmocka_unit_test(test_roads_allowed),
		cmocka_unit_test(test_roads_split),
		cmocka_unit_test(test_roads_backend),
		cmocka_unit_test(test_roads_state),
		cmocka_unit_test(test_roads_shadow_and_stage),
	};
	int rc;

	if (ut_eal_init("classify", "256") < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
