/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: DevMesh modes of a development stage (stages[].devmesh).
 * The loader: items, defaults, the generated mirror profile, each error
 * at its file:line:col. The invariants: an extension without an allow rule
 * in flows: (none, a deny first, one that covers only part), or against a
 * never{} policy, and a mirror against one, refused at the item. Steering:
 * the dev stage's flows of a service it lacks take production's backend
 * and name production as their stage; its own services stay local; once
 * the steering state runs the service in dev, the extension ends.
 * EAL (no hugepages) for rte_zmalloc (steer_build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"
#include "steer.h"
#include "ut_eal.h"

/* dev runs api locally (devbox), lacks pay (production's, on paynet) and
 * mirrors production's api to its replica on the shadow port. */
static const char base[] =
	"ports:\n"
	"  - { name: uplink, vdev: net_null0, role: uplink }\n"
	"  - { name: prod, vdev: net_null1 }\n"
	"  - { name: dev, vdev: net_null2 }\n"
	"  - { name: devapi, vdev: net_null3 }\n"
	"  - { name: paynet, vdev: net_null4 }\n"
	"  - { name: replica, vdev: net_null5, role: shadow }\n"
	"stages:\n"
	"  - { name: production, default: true, egress: { port: prod } }\n"
	"  - name: dev\n"
	"    egress: { port: dev }\n"
	"    proxy_arp: true\n"
	"    match: [ { port: dev } ]\n"
	"    devmesh:\n"
	"      - { mode: extension, service: pay }\n"
	"      - { mode: mirror, service: api, port: replica }\n"
	"services:\n"
	"  - name: api\n"
	"    match: { dst: 10.0.0.10/32, proto: tcp, dport: 8080 }\n"
	"    backends:\n"
	"      - { name: devbox, port: devapi, next_hop_mac: \"02:00:00:00:0d:01\" }\n"
	"    stages:\n"
	"      production: { running: v1 }\n"
	"      dev: { backends: [devbox], running: v2-dev }\n"
	"  - name: pay\n"
	"    match: { dst: 10.0.0.20/32, proto: tcp, dport: 8080 }\n"
	"    backends:\n"
	"      - { name: main, port: paynet, next_hop_mac: \"02:00:00:00:0a:01\" }\n"
	"    stages:\n"
	"      production: { backends: [main], running: v1 }\n"
	"workflow:\n"
	"  pipeline: [ { stage: dev, on: code_commit }, "
	"{ stage: production, on: manual_approval } ]\n"
	"flows:\n"
	"  - { name: dev-uses-pay, from: dev, to: production, proto: tcp, dport: 8080 }\n";

static const char ext_item[] = "      - { mode: extension, service: pay }\n";
static const char mirror_item[] = "      - { mode: mirror, service: api, port: replica }\n";
static const char rule[] =
	"  - { name: dev-uses-pay, from: dev, to: production, proto: tcp, dport: 8080 }\n";

enum { PRODUCTION, DEV };
enum { API, PAY };
enum { P_UPLINK, P_PROD, P_DEV, P_DEVAPI, P_PAYNET, P_REPLICA };

static char err[1024];

/* @p text with its first @p old replaced by @p new (one of four static
 * buffers, so that with() of with() works). */
static const char *
with(const char *text, const char *old, const char *new)
{
	static char bufs[4][8192];
	static unsigned int next;
	char *out = bufs[next++ % 4];
	const char *at = strstr(text, old);

	assert_non_null(at);
	snprintf(out, sizeof(bufs[0]), "%.*s%s%s", (int)(at - text), text, new, at + strlen(old));
	return out;
}

/* "t.yaml:L:C: " of the first line holding @p needle, at its '{' (or text). */
static const char *
pos_of(const char *text, const char *needle)
{
	static char out[64];
	const char *at = strstr(text, needle), *line = text, *brace;
	unsigned int n = 1;

	assert_non_null(at);
	for (const char *p = text; p < at; p++)
		if (*p == '\n') {
			n++;
			line = p + 1;
		}
	brace = strchr(at, '{');
	if (brace == NULL || (size_t)(brace - at) > strlen(needle))
		brace = at + strspn(at, " -");
	snprintf(out, sizeof(out), "t.yaml:%u:%u: ", n, (unsigned int)(brace - line) + 1);
	return out;
}

static struct umbra_conf *
load(const char *yaml)
{
	err[0] = '\0';
	return conf_load_string(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
}

/* The load fails, at @p pos, saying @p what. */
static void
load_fails(const char *yaml, const char *pos, const char *what)
{
	struct umbra_conf *c = load(yaml);

	if (c != NULL || strncmp(err, pos, strlen(pos)) != 0 || strstr(err, what) == NULL)
		fail_msg("want '%s...%s', got '%s'", pos, what, c ? "(loaded)" : err);
}

/* The load passes and the invariants fail, at @p pos, saying @p what. */
static void
invariants_fail(const char *yaml, const char *pos, const char *what)
{
	struct umbra_conf *c = load(yaml);

	if (c == NULL)
		fail_msg("does not load: %s", err);
	err[0] = '\0';
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), -1);
	if (strncmp(err, pos, strlen(pos)) != 0 || strstr(err, what) == NULL)
		fail_msg("want '%s...%s', got '%s'", pos, what, err);
	conf_free(c);
}

static void
invariants_pass(const char *yaml)
{
	struct umbra_conf *c = load(yaml);

	if (c == NULL)
		fail_msg("does not load: %s", err);
	if (classify_check_invariants(c, NULL, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	conf_free(c);
}

static void
test_load(void **state)
{
	struct umbra_conf *c = load(base);
	const struct conf_shadow *s;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_devmesh, 2);
	assert_int_equal(c->devmesh[0].mode, CONF_DEVMESH_EXTENSION);
	assert_int_equal(c->devmesh[0].stage, DEV);
	assert_int_equal(c->devmesh[0].production, PRODUCTION); /* the production stage */
	assert_int_equal(c->devmesh[0].service, PAY);
	assert_int_equal(c->devmesh[0].shadow, -1);
	assert_int_equal(c->devmesh[1].mode, CONF_DEVMESH_MIRROR);
	assert_int_equal(c->devmesh[1].service, API);
	assert_ptr_equal(conf_devmesh_extension(c, DEV, PAY), &c->devmesh[0]);
	assert_null(conf_devmesh_extension(c, DEV, API));
	assert_null(conf_devmesh_extension(c, PRODUCTION, PAY));
	assert_true(conf_service_runs_in(&c->services[API], DEV));
	assert_false(conf_service_runs_in(&c->services[PAY], DEV));

	/* The mirror is a shadow profile: production's api, all of it, to the replica. */
	assert_int_equal(c->n_shadows, 1);
	assert_int_equal(c->devmesh[1].shadow, 0);
	s = &c->shadows[0];
	assert_string_equal(s->name, "dev-api");
	assert_int_equal(s->stage, PRODUCTION);
	assert_int_equal(s->service, API);
	assert_true(s->fraction == 1.0);
	assert_int_equal(s->egress.port, P_REPLICA);
	assert_int_equal(s->compare, CONF_COMPARE_AUTO);
	assert_int_equal(s->pos.line, strtoul(pos_of(base, mirror_item) + 7, NULL, 10));
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), 0);
	conf_free(c);
}

/* A mirror takes a shadow profile's keys; an extension for every service. */
static void
test_load_options(void **state)
{
	const char *y = with(base, mirror_item,
			     "      - { mode: mirror, service: api, port: replica, name: api-dev,"
			     " fraction: 25%, max_pps: 1000, production: production }\n");
	struct umbra_conf *c;

	(void)state;
	y = with(y, ext_item, "      - { mode: extension }\n");
	c = load(y);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->devmesh[0].service, -1);
	/* Every service dev lacks; not one it runs. */
	assert_ptr_equal(conf_devmesh_extension(c, DEV, PAY), &c->devmesh[0]);
	assert_ptr_equal(conf_devmesh_extension(c, DEV, API), &c->devmesh[0]);
	assert_string_equal(c->shadows[0].name, "api-dev");
	assert_true(c->shadows[0].fraction == 0.25);
	assert_int_equal(c->shadows[0].max_pps, 1000);
	assert_int_equal(classify_check_invariants(c, NULL, err, sizeof(err)), 0);
	conf_free(c);
}

static void
test_load_errors(void **state)
{
	const char *y;

	(void)state;
	load_fails(with(base, ext_item, "      - { mode: shadow, service: pay }\n"),
		   "t.yaml:15:17: ", "mode must be");
	load_fails(with(base, ext_item, "      - { mode: extension, service: pay, port: replica }\n"),
		   "t.yaml:15:42: ", "'port' is a mirror's key; an extension takes mode");
	load_fails(with(base, ext_item, "      - { mode: extension, service: nope }\n"),
		   "t.yaml:15:37: ", "nope");
	load_fails(with(base, ext_item, "      - { mode: extension, sevice: pay }\n"),
		   "t.yaml:15:28: ", "unknown key 'sevice' in devmesh item");
	load_fails(with(base, ext_item, "      - { service: pay }\n"),
		   pos_of(base, ext_item), "missing required key 'mode'");
	load_fails(with(base, ext_item, "      - { mode: extension, service: api }\n"),
		   "t.yaml:15:37: ", "stage 'dev' runs service 'api' itself");
	load_fails(with(base, ext_item, "      - { mode: extension, service: pay, production: dev }\n"),
		   "t.yaml:15:54: ", "names the stage itself as production");
	load_fails(with(base, ext_item, "      - { mode: extension, service: pay, production: qa }\n"),
		   "t.yaml:15:54: ", "qa");
	load_fails(with(base, mirror_item, "      - { mode: mirror, port: replica }\n"),
		   pos_of(base, mirror_item), "a mirror needs service:");
	load_fails(with(base, mirror_item, "      - { mode: mirror, service: api }\n"),
		   pos_of(base, mirror_item), "a mirror needs port:");
	load_fails(with(base, mirror_item, "      - { mode: mirror, service: api, port: devapi }\n"),
		   "t.yaml:16:45: ", "shadow");
	load_fails(with(base, mirror_item, "      - { mode: mirror, service: api, port: replica,"
			" fraction: 2 }\n"), "t.yaml:16:64: ", "fraction");
	/* Twice the same thing in one stage. */
	load_fails(with(base, mirror_item, "      - { mode: extension, service: pay }\n"),
		   pos_of(base, mirror_item), "second extension of service 'pay' (the first "
		   "at line 15)");
	y = with(base, ext_item, "      - { mode: extension }\n      - { mode: extension }\n");
	load_fails(y, "t.yaml:16:9: ", "second extension for every service");
	/* Only a development stage has modes; production must be known. */
	load_fails(with(base, "    devmesh:\n", "    production: true\n    devmesh:\n"),
		   "t.yaml:16:7: ", "is a production stage");
	load_fails(with(base, "default: true,", "default: true, production: false,"),
		   pos_of(base, ext_item), "no stage is a production stage; say which with "
		   "production: STAGE");
	y = with(with(base, ext_item, ""), mirror_item, "");
	load_fails(with(y, "    devmesh:\n", "    devmesh: { mode: extension }\n"),
		   "t.yaml:14:14: ", "devmesh");
	/* A mirror's name is a shadow profile's: unique among them. */
	load_fails(with(base, "flows:\n", "shadows:\n  - { name: dev-api, stage: production,"
			" port: replica }\nflows:\n"), pos_of(base, mirror_item),
		   "shadow name 'dev-api' is taken");
	/* An extension hands frames with the MAC dev resolved: production rewrites. */
	y = with(base, "      production: { backends: [main], running: v1 }\n",
		 "      production: { running: v1 }\n");
	load_fails(y, pos_of(base, ext_item), "stage production's egress (port prod) has no "
		   "next_hop_mac");
}

static void
test_invariants(void **state)
{
	const char *y;

	(void)state;
	invariants_pass(base);
	/* No allow rule: refused at the extension, which names what is missing. */
	y = with(base, rule, "  - { name: other, from: dev, to: production, proto: udp }\n");
	invariants_fail(y, pos_of(base, ext_item),
			"devmesh extension of stage 'dev' hands its flows of service 'pay' (tcp, "
			"dport 8080-8080) to stage production, but no allow rule in flows:");
	/* A deny rule meets them first. */
	y = with(base, rule, "  - { name: no, from: dev, to: production, action: deny }\n" );
	invariants_fail(y, pos_of(base, ext_item), "flow rule 'no' (t.yaml:34:5) denies them first");
	/* An allow rule for part of them only (some client ports). */
	y = with(base, rule, "  - { name: some, from: dev, to: production, proto: tcp, "
		 "sport: 1024-65535, dport: 8080 }\n");
	invariants_fail(y, pos_of(base, ext_item), "'some' (t.yaml:34:5) lets through only part");
	/* A policy: dev never reaches production (the rule itself is gone). */
	y = with(base, rule, "  - { name: other, from: production, to: dev }\n"
		 "policies:\n  - name: dev-never-production\n"
		 "    never: { from: dev, to: production }\n");
	invariants_fail(y, pos_of(base, ext_item),
			"devmesh extension of stage 'dev' hands its flows of service 'pay' to stage "
			"production, which policy 'dev-never-production' never{from: dev, to: "
			"production} (t.yaml:36:5) forbids");
	/* A policy on another port is not against it. */
	invariants_pass(with(base, "flows:\n", "policies:\n  - name: no-db\n"
			     "    never: { from: dev, to: production, proto: tcp, dport: 5432 }\n"
			     "flows:\n"));
	/* Production's traffic never reaches dev: no mirror either. */
	y = with(base, "flows:\n", "policies:\n  - name: production-never-dev\n"
		 "    never: { from: production, to: dev }\nflows:\n");
	invariants_fail(y, pos_of(base, mirror_item),
			"devmesh mirror of stage 'dev' copies production's flows of service 'api' "
			"to the stage's replica, which policy 'production-never-dev'");
	/* An extension for every service needs a rule for each one dev lacks. */
	y = with(with(base, rule, "  - { name: other, from: dev, to: production, proto: udp }\n"),
		 ext_item, "      - { mode: extension }\n");
	invariants_fail(y, pos_of(base, ext_item), "service 'pay'");
	invariants_pass(with(base, ext_item, "      - { mode: extension }\n"));
}

/* A TCP SYN from 10.0.0.100 to @p dst_last (10.0.0.x), port 8080. */
static struct pkt_meta
syn_to(uint8_t dst_last)
{
	struct pkt_meta m;

	memset(&m, 0, sizeof(m));
	m.l3 = PKT_L3_IPV4;
	m.l4_proto = 6;
	m.sport = 40000;
	m.dport = 8080;
	memcpy(m.src, (uint8_t[]){ 10, 0, 0, 100 }, 4);
	memcpy(m.dst, (uint8_t[]){ 10, 0, 0, dst_last }, 4);
	return m;
}

static void
test_steer(void **state)
{
	struct umbra_conf *c = load(base);
	struct pkt_meta pay = syn_to(20), api = syn_to(10);
	struct steer_result r;
	struct steer_table *t;
	json_t *st;

	(void)state;
	assert_non_null(c);
	t = steer_build(c, NULL, NULL, err, sizeof(err));
	if (t == NULL)
		fail_msg("%s", err);
	/* dev lacks pay: production's backend, and the flow is production's. */
	steer_flow(t, DEV, &pay, 7, &r);
	assert_int_equal(r.service, PAY);
	assert_int_equal(r.extended_to, PRODUCTION + 1);
	assert_int_equal(r.how, STEER_RUNNING);
	assert_non_null(r.egress);
	assert_int_equal(r.egress->port, P_PAYNET);
	assert_true(r.egress->rewrite_mac);
	/* dev runs api: served locally. */
	steer_flow(t, DEV, &api, 7, &r);
	assert_int_equal(r.extended_to, 0);
	assert_int_equal(r.egress->port, P_DEVAPI);
	/* Production's own flows are not extensions. */
	steer_flow(t, PRODUCTION, &pay, 7, &r);
	assert_int_equal(r.extended_to, 0);
	assert_int_equal(r.egress->port, P_PAYNET);
	assert_false(steer_has_canary(t, DEV, PAY));
	steer_free(t);

	/* Once a release of pay runs in dev, dev serves it. */
	st = json_loads("{\"pay\": {\"production\": {\"version\": \"v1\", \"backend\": \"main\"},"
			" \"dev\": {\"version\": \"v3\"}}}", 0, NULL);
	t = steer_build(c, st, NULL, err, sizeof(err));
	assert_non_null(t);
	steer_flow(t, DEV, &pay, 7, &r);
	assert_int_equal(r.extended_to, 0);
	assert_null(r.egress); /* dev's own egress */
	steer_free(t);

	/* A canary in production: dev's extended flows split like production's,
	 * without a canary of dev's own. */
	json_object_set_new(json_object_get(st, "pay"), "dev", json_null());
	json_object_del(json_object_get(st, "pay"), "dev");
	json_object_set_new(json_object_get(json_object_get(st, "pay"), "production"), "canary",
			    json_pack("{s:s,s:s,s:i}", "version", "v2", "backend", "main",
				      "bp", 10000));
	t = steer_build(c, st, NULL, err, sizeof(err));
	if (t == NULL)
		fail_msg("%s", err);
	steer_flow(t, DEV, &pay, 7, &r);
	assert_int_equal(r.extended_to, PRODUCTION + 1);
	assert_int_equal(r.how, STEER_CANARY);
	assert_false(steer_has_canary(t, DEV, PAY));
	assert_true(steer_has_canary(t, PRODUCTION, PAY));
	steer_free(t);
	json_decref(st);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_options),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_steer),
	};

	if (ut_eal_init("h7_devmesh", "64") < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
