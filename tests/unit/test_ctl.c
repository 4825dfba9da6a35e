/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: lib/ctl, the apply road: start-up as the first apply,
 * listeners told in slot order whatever order they registered in, a veto
 * that changes nothing, a configuration that does not load, persist
 * before publish, migrate, one listener per slot. EAL (no hugepages) for
 * the generations' classifier and RCU publisher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "ut_eal.h"

#define YAML(vlan) \
	"ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n" \
	"stages:\n  - { name: production, default: true, egress: { port: a } }\n" \
	"  - { name: dev, egress: { port: b, vlan: " vlan " } }\n"

static const char yaml1[] = YAML("100");
static const char yaml2[] = YAML("200");

static struct gen_publisher pub;
static struct gen_store store;
static struct ctl ctl;
static char told[256];          /* "name:first name:... " in the order told */
static bool veto;

static int
check(void *ctx, const struct umbra_conf *now, const struct umbra_conf *next,
      char *err, size_t errlen)
{
	(void)now;
	(void)next;
	if (!veto)
		return 0;
	snprintf(err, errlen, "%s says no", (const char *)ctx);
	return -1;
}

static int
applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	snprintf(told + strlen(told), sizeof(told) - strlen(told), "%s:%d ",
		 (const char *)ctx, a->first);
	return 0;
}

static int
setup(void **st)
{
	/* Registered out of order: told in slot order all the same. */
	const struct ctl_listener faults = {
		.name = "faults", .applied = applied, .ctx = "faults",
	};
	const struct ctl_listener shadows = {
		.name = "shadows", .applied = applied, .ctx = "shadows",
	};
	const struct ctl_listener ports = {
		.name = "ports", .check = check, .applied = applied, .ctx = "ports",
	};
	char err[512] = "";

	(void)st;
	gen_store_init(&store);
	if (gen_publisher_init(&pub, 1, err, sizeof(err)) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	ctl_init(&ctl, &pub, &store, NULL);
	if (ctl_listen(&ctl, CTL_PORT_FLOWS, &ports) < 0 ||
	    ctl_listen(&ctl, CTL_FAULTS, &faults) < 0 ||
	    ctl_listen(&ctl, CTL_SHADOWS, &shadows) < 0)
		return -1;
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	gen_publisher_fini(&pub);
	gen_store_fini(&store);
	return 0;
}

static void
test_one_per_slot(void **st)
{
	const struct ctl_listener l = { .name = "x", .applied = applied, .ctx = "x" };

	(void)st;
	assert_int_equal(ctl_listen(&ctl, CTL_FAULTS, &l), -1);
	assert_int_equal(ctl_listen(&ctl, CTL_SLOTS, &l), -1);
}

static void
test_start(void **st)
{
	const struct ctl_change c = {
		.yaml = yaml1, .len = sizeof(yaml1) - 1, .name = "t.yaml",
		.source = "file:t.yaml",
	};
	char err[512] = "";
	struct umbra_conf *conf = conf_load_string(yaml1, c.len, "t.yaml", err,
						   sizeof(err));
	struct umbra_gen *g = conf ? gen_build(conf, NULL, 1, err, sizeof(err)) : NULL;

	(void)st;
	assert_non_null(g);
	told[0] = '\0';
	assert_int_equal(ctl_start(&ctl, g, &c, err, sizeof(err)), 1);
	assert_string_equal(told, "shadows:1 faults:1 ports:1 ");
	assert_ptr_equal(gen_current(&pub), g);
	assert_non_null(gen_store_get(&store, 1));
	assert_string_equal(gen_store_get(&store, 1)->source, "file:t.yaml");
}

static void
test_apply(void **st)
{
	const struct ctl_change c = {
		.yaml = yaml2, .len = sizeof(yaml2) - 1, .name = "t2.yaml",
		.source = "file:t2.yaml",
	};
	char err[512] = "";

	(void)st;
	told[0] = '\0';
	assert_int_equal(ctl_apply(&ctl, &c, err, sizeof(err)), 2);
	assert_string_equal(told, "shadows:0 faults:0 ports:0 ");
	assert_int_equal(gen_current(&pub)->id, 2);
	assert_int_equal(gen_current(&pub)->migrate_before, 0);
	assert_int_equal(gen_current(&pub)->conf->stages[1].egress.vlan, 200);
	assert_string_equal(gen_store_get(&store, 2)->source, "file:t2.yaml");
}

/* A veto, or a file that does not load: nothing built, kept or told. */
static void
test_refused(void **st)
{
	static const char bad[] = "ports: [\n";
	struct ctl_change c = {
		.yaml = yaml1, .len = sizeof(yaml1) - 1, .name = "t.yaml",
		.source = "file:t.yaml",
	};
	char err[512] = "";

	(void)st;
	told[0] = '\0';
	veto = true;
	assert_int_equal(ctl_apply(&ctl, &c, err, sizeof(err)), 0);
	veto = false;
	assert_string_equal(err, "ports says no");
	c.yaml = bad;
	c.len = sizeof(bad) - 1;
	assert_int_equal(ctl_apply(&ctl, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "t.yaml:"));
	assert_string_equal(told, "");
	assert_int_equal(gen_current(&pub)->id, 2);
	assert_null(gen_store_get(&store, 3));
}

/* migrate: flows decided before this generation are decided again. */
static void
test_migrate(void **st)
{
	const struct ctl_change c = {
		.yaml = yaml1, .len = sizeof(yaml1) - 1, .name = "t.yaml",
		.source = "migrate", .migrate = true,
	};
	char err[512] = "";

	(void)st;
	assert_int_equal(ctl_apply(&ctl, &c, err, sizeof(err)), 3);
	assert_int_equal(gen_current(&pub)->migrate_before, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_per_slot),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_migrate),
	};

	if (ut_eal_init("ctl", "256") < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
