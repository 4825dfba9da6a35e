/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: snapshots in a state directory (lib/gen/gen_store.c): the
 * start-up rule (newest complete snapshot, nothing deleted), damaged
 * snapshots, file reads and writes that refuse links, retention. No EAL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gen_store.h"

static char dir[256];

static int
setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/umbra-ut-genstore-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0750), 0);
	return 0;
}

static int
teardown(void **st)
{
	char cmd[300];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool
exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
put(const char *name, const char *text)
{
	assert_int_equal(gen_store_file_put(dir, name, text, strlen(text)), 0);
}

static void
add_n(struct gen_store *s, uint64_t from, uint64_t to)
{
	char yaml[64];

	for (uint64_t id = from; id <= to; id++) {
		snprintf(yaml, sizeof(yaml), "ports: [] # %llu\n", (unsigned long long)id);
		assert_int_equal(gen_store_add(s, id, 0, "test", yaml, strlen(yaml), "{}"), 0);
	}
}

static void
garbage_current_resumes_newest(void **st)
{
	struct gen_store s;
	char err[256];

	(void)st;
	gen_store_init(&s);
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	add_n(&s, 1, 4);
	gen_store_fini(&s);
	put("current", "garbage\n");
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(s.current, 4);
	assert_int_equal(s.count, 4);
	gen_store_fini(&s);
	/* current naming an older one: the newest is still resumed, nothing lost */
	put("current", "2\n");
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(s.current, 4);
	assert_true(exists("gen-3.meta") && exists("gen-4.yaml"));
	gen_store_fini(&s);
}

static void
damaged_snapshot_kept_not_loaded(void **st)
{
	struct gen_store s;
	char err[256];

	(void)st;
	gen_store_init(&s);
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	add_n(&s, 1, 3);
	gen_store_fini(&s);
	put("gen-3.yaml", "ports: [] # changed behind umbra's back\n");
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(s.current, 2);
	assert_int_equal(s.damaged_max, 3);
	assert_null(gen_store_get(&s, 3));
	assert_true(exists("gen-3.meta"));
	gen_store_fini(&s);
}

static void
incomplete_snapshot_ignored(void **st)
{
	struct gen_store s;
	char err[256];

	(void)st;
	gen_store_init(&s);
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	add_n(&s, 1, 2);
	gen_store_fini(&s);
	put("gen-3.yaml", "ports: []\n"); /* died before its meta */
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	assert_int_equal(s.current, 2);
	assert_int_equal(s.damaged_max, 0);
	gen_store_fini(&s);
}

static void
tmp_symlink_not_followed(void **st)
{
	char target[300], link[300], buf[32] = "";
	FILE *f;

	(void)st;
	snprintf(target, sizeof(target), "%s/outside", dir);
	f = fopen(target, "w");
	assert_non_null(f);
	fputs("precious", f);
	fclose(f);
	snprintf(link, sizeof(link), "%s/.x.tmp", dir);
	assert_int_equal(symlink(target, link), 0);
	put("x", "new");
	f = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious");
}

static void
file_get_errors(void **st)
{
	char path[300];
	size_t len;
	char *t;

	(void)st;
	errno = 0;
	assert_null(gen_store_file_get(dir, "none", 100, &len));
	assert_int_equal(errno, ENOENT);
	put("big", "0123456789");
	assert_null(gen_store_file_get(dir, "big", 5, &len));
	assert_int_equal(errno, EFBIG);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(gen_store_file_get(dir, "sub", 100, &len));
	assert_int_equal(errno, EINVAL);
	snprintf(path, sizeof(path), "%s/ln", dir);
	assert_int_equal(symlink("big", path), 0);
	assert_null(gen_store_file_get(dir, "ln", 100, &len));
	t = gen_store_file_get(dir, "big", 10, &len);
	assert_non_null(t);
	assert_int_equal(len, 10);
	free(t);
}

static void
open_dir_writable_by_others_refused(void **st)
{
	struct gen_store s;
	char err[256] = "";

	(void)st;
	gen_store_init(&s);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group or others"));
	assert_int_equal(chmod(dir, 0750), 0);
	gen_store_fini(&s);
}

static void
prune_keeps_current_and_protected(void **st)
{
	const uint64_t protect[] = { 2 };
	struct gen_store s;
	char err[256];

	(void)st;
	gen_store_init(&s);
	assert_int_equal(gen_store_open(&s, dir, err, sizeof(err)), 0);
	add_n(&s, 1, 10);
	assert_int_equal(gen_store_prune(&s, 3, 0, protect, 1), 6);
	assert_int_equal(s.count, 4);
	assert_non_null(gen_store_get(&s, 2));
	assert_non_null(gen_store_get(&s, 8));
	assert_null(gen_store_get(&s, 7));
	assert_false(exists("gen-1.yaml") || exists("gen-1.meta") || exists("gen-1.state"));
	assert_true(exists("gen-2.meta") && exists("gen-10.meta"));
	/* keep 1 never removes the current one */
	assert_int_equal(gen_store_prune(&s, 1, 0, NULL, 0), 3);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.head->id, 10);
	gen_store_fini(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(garbage_current_resumes_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_snapshot_kept_not_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(incomplete_snapshot_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(tmp_symlink_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(file_get_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(open_dir_writable_by_others_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(prune_keeps_current_and_protected, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
