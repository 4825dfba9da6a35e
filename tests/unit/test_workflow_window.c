/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: lib/workflow's history stays a bounded window in memory
 * while lib/history (SQLite) keeps every transition. Thousands of
 * transitions run through a real workflow (event loop, no hooks, no EAL);
 * the heap (mallinfo2) stays flat, and workflow_history still lists, pages
 * and finds the oldest ones, also after a restart. Without a database the
 * window (workflow.history) is all there is. Prints the heap bytes per
 * transition with and without the database. */
#include <inttypes.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "history.h"
#include "workflow_private.h"

/* Under AddressSanitizer malloc is ASan's, which mallinfo2() does not see:
 * the heap figures are meaningless there and only the window is checked. */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURED 0
#else
#define HEAP_MEASURED 1
#endif

/* dev -> test (automatic) -> staging -> production. */
static const char yaml_fmt[] =
	"ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n"
	"stages:\n  - { name: production, default: true, egress: { port: a } }\n"
	"  - { name: staging, egress: { port: b } }\n"
	"  - { name: test, egress: { port: b, vlan: 2 } }\n"
	"  - { name: dev, egress: { port: b, vlan: 3 } }\n"
	"services:\n  - name: web\n    match: { proto: tcp, dport: 80 }\n"
	"    backends: [ { name: blue, port: a }, { name: green, port: a } ]\n"
	"    stages: { production: { backends: [blue, green], running: v1 } }\n"
	"%s";

/* The daemon as the workflow sees it: a configuration and steering
 * generations in memory. */
struct fake {
	struct umbra_conf *conf;
	char *state;
	uint64_t gen;
};

static const struct umbra_conf *
f_conf(void *ctx)
{
	return ((struct fake *)ctx)->conf;
}

static const char *
f_state(void *ctx, uint64_t *generation)
{
	struct fake *f = ctx;

	if (generation != NULL)
		*generation = f->gen;
	return f->state;
}

static const char *
f_state_of(void *ctx, uint64_t id)
{
	struct fake *f = ctx;

	return id == f->gen ? f->state : NULL;
}

static uint64_t
f_publish(void *ctx, const char *state, const char *source, char *err, size_t errlen)
{
	struct fake *f = ctx;

	(void)source;
	(void)err;
	(void)errlen;
	free(f->state);
	f->state = strdup(state);
	return ++f->gen;
}

static const struct workflow_ops ops = {
	.conf = f_conf, .state = f_state, .state_of = f_state_of, .publish = f_publish,
};

static struct fake fake;
static struct event_base *base;
static struct history *hist;  /* flushed after each release, as the loop would */
static char dir[64];

static void
fake_init(const char *extra)
{
	char yaml[2048], err[512] = "";
	int n = snprintf(yaml, sizeof(yaml), yaml_fmt, extra);

	fake.conf = conf_load_string(yaml, (size_t)n, "t.yaml", err, sizeof(err));
	if (fake.conf == NULL)
		fprintf(stderr, "%s\n", err);
	assert_non_null(fake.conf);
	fake.state = strdup("{\"web\":{\"production\":{\"version\":\"v1\","
			    "\"backend\":\"blue\"}}}");
	fake.gen = 1;
	base = event_base_new();
	assert_non_null(base);
}

static void
fake_fini(void)
{
	event_base_free(base);
	conf_free(fake.conf);
	free(fake.state);
	memset(&fake, 0, sizeof(fake));
}

/* One release into dev and (automatically) test: two transitions. */
static void
commit(struct workflow *wf, unsigned int i)
{
	char err[512] = "", version[32];
	json_t *args, *t;

	snprintf(version, sizeof(version), "v%u", i + 2);
	args = json_pack("{s:s,s:s}", "service", "web", "version", version);
	t = workflow_event(wf, "code_commit", args, err, sizeof(err));
	if (t == NULL)
		fprintf(stderr, "code_commit %s: %s\n", version, err);
	assert_non_null(t);
	json_decref(t);
	json_decref(args);
	/* Until nothing runs (the automatic step is chained from the loop). */
	for (int k = 0; k < 100 && json_object_size(wf->busy) > 0; k++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(json_object_size(wf->busy), 0);
	if (hist != NULL)
		assert_true(history_flush(hist) >= 0);
}

/* The heap outside SQLite: its page cache fills up to its bound
 * (cache_size, 2 MB by default) as the database grows, whatever keeps the
 * workflow; that is reported on its own. */
static double
heap(void)
{
	return (double)mallinfo2().uordblks - (double)sqlite3_memory_used();
}

/* Heap bytes per transition over @p n releases after a warm-up. */
static double
bytes_per_transition(struct workflow *wf, unsigned int warm, unsigned int n)
{
	unsigned int i;
	double h0, s0;
	uint64_t id0;

	for (i = 0; i < warm; i++)
		commit(wf, i);
	id0 = wf->next_id;
	h0 = heap();
	s0 = (double)sqlite3_memory_used();
	for (; i < warm + n; i++)
		commit(wf, i);
	printf("  %" PRIu64 " transitions: heap outside SQLite %+.0f bytes, SQLite %+.0f "
	       "bytes (now %lld)\n", wf->next_id - id0, heap() - h0,
	       (double)sqlite3_memory_used() - s0, (long long)sqlite3_memory_used());
	return (heap() - h0) / (double)(wf->next_id - id0);
}

static void
make_dir(void)
{
	/* tmpfs when there is one: the journal is fdatasync'd per change. */
	snprintf(dir, sizeof(dir), "%s/h9-wfwin-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void
remove_dir(void)
{
	static const char *const files[] = { "workflow.json", "workflow.journal",
					     "history.db", "history.db-wal",
					     "history.db-shm" };
	char path[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Every transition, paged with before=, newest first, no gaps. */
static uint64_t
page_all(struct workflow *wf, size_t page)
{
	uint64_t before = 0, expect = wf->next_id - 1, n = 0;

	for (;;) {
		json_t *list = workflow_history(wf, NULL, page, before), *t;
		size_t i;

		if (json_array_size(list) == 0) {
			json_decref(list);
			break;
		}
		json_array_foreach(list, i, t) {
			assert_int_equal(json_integer_value(json_object_get(t, "id")), expect);
			expect--;
			n++;
		}
		before = (uint64_t)json_integer_value(json_object_get(
			json_array_get(list, json_array_size(list) - 1), "id"));
		json_decref(list);
	}
	assert_int_equal(expect, 0);
	return n;
}

/* With history.db: the window stays bounded, the heap flat, and the oldest
 * transitions are still listed, found, counted and paged; after a restart
 * too. */
static void
test_window_with_database(void **st)
{
	char err[512] = "", path[128];
	struct history *h;
	struct workflow *wf;
	double per;
	json_t *list, *t, *m;
	uint64_t total;

	(void)st;
	make_dir();
	fake_init("");
	snprintf(path, sizeof(path), "%s/history.db", dir);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	wf = workflow_create(base, dir, &ops, &fake, err, sizeof(err));
	assert_non_null(wf);
	assert_int_equal(workflow_attach_history(wf, h, err, sizeof(err)), 0);
	hist = h;

	/* 3000 releases, 6000 transitions; the batch is flushed as the loop
	 * would (here after every release). */
	per = bytes_per_transition(wf, 1000, 2000);
	printf("with history.db: window %zu transitions, heap outside SQLite %.1f "
	       "bytes per transition (after 2000 warm-up)\n", json_array_size(wf->history), per);
	assert_true(json_array_size(wf->history) <= WORKFLOW_WINDOW + 1);
	if (HEAP_MEASURED)
		assert_true(per < 64.0);
	/* SQLite's own share is its page cache: bounded (2 MB by default). */
	assert_true(sqlite3_memory_used() < (4 << 20));
	total = wf->next_id - 1;
	assert_int_equal(total, 6000);

	/* The first transitions, long out of the window. */
	t = workflow_transition(wf, 1);
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "event")), "code_commit");
	assert_string_equal(json_string_value(json_object_get(t, "version")), "v2");
	json_decref(t);
	assert_null(workflow_transition(wf, total + 1));
	list = workflow_history(wf, "web", 3, 4);
	assert_int_equal(json_array_size(list), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 2), "id")), 1);
	json_decref(list);
	list = workflow_history(wf, "nope", 10, 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(page_all(wf, 500), total);
	m = workflow_metrics(wf);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "transitions"),
							    WF_DONE)), total);
	json_decref(m);

	/* Restart: workflow.json holds the window only, the database the rest. */
	workflow_free(wf);
	hist = NULL;
	history_close(h);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	wf = workflow_create(base, dir, &ops, &fake, err, sizeof(err));
	assert_non_null(wf);
	assert_int_equal(workflow_attach_history(wf, h, err, sizeof(err)), 0);
	hist = h;
	assert_true(json_array_size(wf->history) <= WORKFLOW_WINDOW + 1);
	assert_int_equal(page_all(wf, 1000), total);
	commit(wf, 3000);
	assert_int_equal(wf->next_id - 1, total + 2);
	workflow_free(wf);
	hist = NULL;
	history_close(h);
	fake_fini();
	remove_dir();
}

/* Without a database the window is all there is: workflow.history of them,
 * the older ones are gone. Also measures the heap per transition kept, the
 * cost every transition had before the window (10000 kept by default
 * then; 256 now, the window). */
static void
test_window_memory_only(void **st)
{
	char err[512] = "";
	struct workflow *wf;
	double per;
	json_t *list;

	(void)st;
	fake_init("workflow: { history: 10000 }\n");
	wf = workflow_create(base, NULL, &ops, &fake, err, sizeof(err));
	assert_non_null(wf);
	per = bytes_per_transition(wf, 50, 1000);
	printf("memory only, workflow.history 10000: heap %.1f bytes per transition "
	       "kept\n", per);
	if (HEAP_MEASURED)
		assert_true(per > 256.0);
	workflow_free(wf);
	fake_fini();

	fake_init("workflow: { history: 100 }\n");
	wf = workflow_create(base, NULL, &ops, &fake, err, sizeof(err));
	assert_non_null(wf);
	for (unsigned int i = 0; i < 200; i++)
		commit(wf, i);
	assert_true(json_array_size(wf->history) <= 101);
	assert_null(workflow_transition(wf, 1));
	list = workflow_history(wf, NULL, 1000, 0);
	assert_true(json_array_size(list) <= 101);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")),
			 400);
	json_decref(list);
	workflow_free(wf);
	fake_fini();
}

/* Bad input to the attach and the database: a sentence, no crash. */
static void
test_bad_input(void **st)
{
	char err[512] = "", path[128];
	struct history *h;

	(void)st;
	assert_int_equal(workflow_attach_history(NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no workflow"));
	make_dir();
	snprintf(path, sizeof(path), "%s/history.db", dir);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	assert_int_equal(history_wf_put(h, 0, "web", "done", "{}"), -1);
	assert_non_null(strstr(history_error(h), "needs an id"));
	assert_int_equal(history_wf_put(h, 1, NULL, "done", "{}"), -1);
	assert_int_equal(history_wf_each(h, NULL, 0, 10, NULL, NULL), -1);
	history_close(h);
	remove_dir();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_with_database),
		cmocka_unit_test(test_window_memory_only),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
