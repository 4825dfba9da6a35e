/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: which rte_flow rules a configuration wants (pure planning). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "port_flow.h"

#define PORTS \
	"ports:\n" \
	"  - { name: up, vdev: net_null0, role: uplink }\n" \
	"  - { name: pa, vdev: net_null1 }\n" \
	"  - { name: pb, vdev: net_null2 }\n" \
	"  - { name: sh, vdev: net_null3, role: shadow }\n"
/* production (default) and staging share pa, dev and test share pb. */
#define STAGES \
	"stages:\n" \
	"  - { name: production, default: true, egress: { port: pa } }\n" \
	"  - name: dev\n" \
	"    egress: { port: pb }\n" \
	"    match: [ { dst: 10.2.0.0/16 } ]\n" \
	"  - name: test\n" \
	"    egress: { port: pb, vlan: 40 }\n" \
	"    match: [ { dst: 10.3.0.0/16, proto: tcp, dport: 8080 } ]\n" \
	"  - name: staging\n" \
	"    egress: { port: pa, vlan: 300 }\n" \
	"    match: [ { dst: \"2001:db8:4::/48\" } ]\n"

static struct port_flow_rule rules[PORT_FLOW_MAX];

static struct umbra_conf *
load(const char *yaml)
{
	char err[512] = "";
	struct umbra_conf *c = conf_load_string(yaml, strlen(yaml), "t.yaml",
						err, sizeof(err));

	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

static uint32_t
plan(const char *yaml, const uint16_t *rxq)
{
	struct umbra_conf *c = load(yaml);
	uint32_t n = port_flow_plan(c, rxq, rules, PORT_FLOW_MAX);

	conf_free(c);
	return n;
}

static const struct port_flow_rule *
find(uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (strncmp(rules[i].name, name, strlen(name)) == 0)
			return &rules[i];
	return NULL;
}

static bool
prefix_is(const struct conf_prefix *p, const char *addr, uint8_t len)
{
	uint8_t a[16] = { 0 };
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;

	inet_pton(fam, addr, a);
	return p->family == (fam == AF_INET6 ? 6 : 4) && p->len == len &&
	       memcmp(p->addr, a, fam == AF_INET6 ? 16 : 4) == 0;
}

/* Every unruled pair from each stage's own segment to a matched stage. */
static void
test_default_deny_pairs(void **state)
{
	uint32_t n = plan(PORTS STAGES, NULL);
	const struct port_flow_rule *r;

	(void)state;
	/* production -> dev, test, staging; staging -> dev, test;
	 * dev -> test, staging; test -> dev, staging */
	assert_int_equal(n, 9);
	r = find(n, "deny production->dev on pa");
	assert_non_null(r);
	assert_int_equal(r->action, PORT_FLOW_DROP);
	assert_int_equal(r->port, 1);
	assert_int_equal(r->vlan, CONF_VLAN_UNTAGGED);
	assert_int_equal(r->proto, CONF_ANY);
	assert_true(prefix_is(&r->dst, "10.2.0.0", 16));
	assert_int_equal(r->src.family, 0);
	assert_true(r->expressible);
	r = find(n, "deny dev->test on pb");
	assert_non_null(r);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->dport.lo, 8080);
	assert_int_equal(r->dport.hi, 8080);
	r = find(n, "deny test->staging on pb");
	assert_non_null(r);
	assert_int_equal(r->vlan, 40);
	assert_true(prefix_is(&r->dst, "2001:db8:4::", 48));
	r = find(n, "deny staging->dev on pa");
	assert_non_null(r);
	assert_int_equal(r->vlan, 300);
	/* production has no match rule: what reaches it is "everything else" */
	assert_null(find(n, "deny dev->production"));
	/* nothing from an uplink or a shadow port */
	for (uint32_t i = 0; i < n; i++)
		assert_true(rules[i].port == 1 || rules[i].port == 2);
}

/* A flows: rule in either direction keeps the pair in software. */
static void
test_flow_rule_either_way(void **state)
{
	uint32_t n = plan(PORTS STAGES "flows:\n"
			  "  - { from: dev, to: production, proto: udp, dport: 53 }\n"
			  "  - { from: staging, to: test, action: deny }\n", NULL);

	(void)state;
	/* allowed dev -> production: its replies come from production to dev */
	assert_null(find(n, "deny production->dev"));
	/* a deny rule is a rule: not default deny */
	assert_null(find(n, "deny staging->test"));
	assert_null(find(n, "deny test->staging"));
	assert_non_null(find(n, "deny production->test"));
	assert_int_equal(n, 6);
}

/* A higher-priority match of another stage that overlaps wins packets. */
static void
test_shadowed_match(void **state)
{
	uint32_t n = plan(PORTS STAGES
			  "  - name: qa\n"
			  "    egress: { port: pa, vlan: 50 }\n"
			  "    match: [ { dst: 10.2.9.0/24, priority: 9 } ]\n", NULL);

	(void)state;
	assert_null(find(n, "deny production->dev"));
	assert_non_null(find(n, "deny production->qa"));
	/* a match that cannot meet the packets of the other does not count */
	n = plan(PORTS STAGES
		 "  - name: qa\n"
		 "    egress: { port: pa, vlan: 50 }\n"
		 "    match: [ { dst: 10.2.9.0/24, port: up, priority: 9 } ]\n", NULL);
	assert_non_null(find(n, "deny production->dev"));
	/* and the port-restricted match itself applies only on its port */
	assert_null(find(n, "deny production->qa"));
}

/* Two stages on one segment, or a backend there: nothing from it. */
static void
test_shared_segment(void **state)
{
	uint32_t n = plan(PORTS STAGES
			  "  - { name: qa, egress: { port: pb }, match: [ { dst: 10.9.0.0/16 } ] }\n",
			  NULL);

	(void)state;
	assert_null(find(n, "deny dev->"));
	assert_null(find(n, "deny qa->"));
	assert_non_null(find(n, "deny production->qa"));
}

/* A split that sends flows to a stage's segment: nothing from it (replies
 * of those flows come back from there to any address). */
static void
test_split_target(void **state)
{
	struct umbra_conf *c = load(PORTS STAGES);
	uint32_t n;

	(void)state;
	c->splits = calloc(1, sizeof(*c->splits));
	assert_non_null(c->splits);
	c->n_splits = 1;
	c->splits[0].stage = 0;
	c->splits[0].service = -1;
	c->splits[0].to_stage = 1; /* dev */
	c->splits[0].to_backend = -1;
	n = port_flow_plan(c, NULL, rules, PORT_FLOW_MAX);
	assert_null(find(n, "deny dev->"));
	assert_non_null(find(n, "deny test->dev"));
	assert_int_equal(n, 7);
	conf_free(c);
}

/* A match without addresses gives one rule per family; a port range is
 * planned as a range (the device says whether it can match one). */
static void
test_family_and_range(void **state)
{
	uint32_t n = plan(PORTS
			  "stages:\n"
			  "  - { name: production, default: true, egress: { port: pa } }\n"
			  "  - name: dev\n"
			  "    egress: { port: pb }\n"
			  "    match: [ { proto: udp } ]\n"
			  "  - name: test\n"
			  "    egress: { port: pb, vlan: 40 }\n"
			  "    match: [ { dst: 10.3.0.0/16, proto: tcp, dport: 7000-7999 } ]\n",
			  NULL);
	const struct port_flow_rule *r;

	(void)state;
	r = find(n, "deny production->dev on pa (match 0, IPv4)");
	assert_non_null(r);
	assert_int_equal(r->dst.family, 4);
	assert_int_equal(r->dst.len, 0);
	assert_int_equal(r->proto, 17);
	r = find(n, "deny production->dev on pa (match 0, IPv6)");
	assert_non_null(r);
	assert_int_equal(r->dst.family, 6);
	r = find(n, "deny production->test");
	assert_non_null(r);
	assert_true(r->expressible);
	assert_int_equal(r->dport.lo, 7000);
	assert_int_equal(r->dport.hi, 7999);
}

/* Ports without TCP/UDP (built in code: YAML refuses them) have no
 * rte_flow item: planned, but left to software with the reason. */
static void
test_inexpressible(void **state)
{
	struct umbra_conf *c = load(PORTS STAGES);
	const struct port_flow_rule *r;
	uint32_t n;

	(void)state;
	for (uint32_t i = 0; i < c->n_matches; i++)
		if (c->matches[i].proto == 6)
			c->matches[i].proto = CONF_ANY;
	n = port_flow_plan(c, NULL, rules, PORT_FLOW_MAX);
	r = find(n, "deny production->test");
	assert_non_null(r);
	assert_false(r->expressible);
	assert_non_null(strstr(r->why, "without TCP or UDP"));
	assert_true(find(n, "deny production->dev")->expressible);
	conf_free(c);
}

/* Shadow ports with several queues get symmetric RSS, others nothing. */
static void
test_shadow_rss(void **state)
{
	uint16_t one[4] = { 1, 1, 1, 1 }, two[4] = { 2, 2, 2, 2 };
	uint32_t n = plan(PORTS STAGES, one);
	const struct port_flow_rule *r;

	(void)state;
	assert_null(find(n, "symmetric RSS"));
	n = plan(PORTS STAGES, two);
	r = find(n, "symmetric RSS on shadow port sh");
	assert_non_null(r);
	assert_int_equal(r->action, PORT_FLOW_RSS);
	assert_int_equal(r->port, 3);
	assert_int_equal(r->n_queues, 2);
	assert_int_equal(n, 10);
}

/* The same configuration plans the same rules, byte for byte; a change
 * to one match changes that rule only. */
static void
test_stable(void **state)
{
	static struct port_flow_rule first[PORT_FLOW_MAX];
	uint32_t n1 = plan(PORTS STAGES, NULL), n2, same = 0;

	(void)state;
	memcpy(first, rules, sizeof(first));
	n2 = plan(PORTS STAGES, NULL);
	assert_int_equal(n1, n2);
	for (uint32_t i = 0; i < n1; i++)
		assert_true(port_flow_rule_same(&first[i], &rules[i]));
	n2 = plan(PORTS
		  "stages:\n"
		  "  - { name: production, default: true, egress: { port: pa } }\n"
		  "  - name: dev\n"
		  "    egress: { port: pb }\n"
		  "    match: [ { dst: 10.2.0.0/17 } ]\n"
		  "  - name: test\n"
		  "    egress: { port: pb, vlan: 40 }\n"
		  "    match: [ { dst: 10.3.0.0/16, proto: tcp, dport: 8080 } ]\n"
		  "  - name: staging\n"
		  "    egress: { port: pa, vlan: 300 }\n"
		  "    match: [ { dst: \"2001:db8:4::/48\" } ]\n", NULL);
	for (uint32_t i = 0; i < n1; i++)
		for (uint32_t j = 0; j < n2; j++)
			same += port_flow_rule_same(&first[i], &rules[j]);
	/* production->dev, staging->dev, test->dev changed */
	assert_int_equal(same, n1 - 3);
}

/* Fewer slots than rules: the plan stops, never overflows. */
static void
test_max(void **state)
{
	struct umbra_conf *c = load(PORTS STAGES);

	(void)state;
	memset(rules, 0xa5, sizeof(rules));
	assert_int_equal(port_flow_plan(c, NULL, rules, 3), 3);
	assert_int_equal(((uint8_t *)&rules[3])[0], 0xa5);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_deny_pairs),
		cmocka_unit_test(test_flow_rule_either_way),
		cmocka_unit_test(test_shadowed_match),
		cmocka_unit_test(test_shared_segment),
		cmocka_unit_test(test_split_target),
		cmocka_unit_test(test_family_and_range),
		cmocka_unit_test(test_inexpressible),
		cmocka_unit_test(test_shadow_rss),
		cmocka_unit_test(test_stable),
		cmocka_unit_test(test_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
