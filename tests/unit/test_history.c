/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: release history in SQLite (lib/history): records and the
 * analytics over them, batches, a kill -9 that loses nothing committed,
 * refusals (a newer schema, a symlink); golden graphs (numbered per
 * stage, kept across a reopen, walked; a version-1 file upgraded).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "history.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/umbra-history-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct history *
open_db(const char *name)
{
	struct history *h;
	char path[128], err[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	return h;
}

/* One release promoted and predicted good, two rolled back (one predicted
 * bad, one missed), one predicted bad that was fine. */
static void
test_records_and_summary(void **state)
{
	struct history *h = open_db("a.db");
	struct history_summary s;
	int64_t r[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		char v[8];

		snprintf(v, sizeof(v), "v%d", i + 2);
		r[i] = history_release_begin(h, &(struct history_release){
			.service = "web", .version = v, .from_version = "v1", .at = 100.0 + i });
		assert_true(r[i] > 0);
		assert_int_equal(history_add_transition(h, &(struct history_transition){
			.release = r[i], .event = "code_commit", .to_stage = "dev",
			.generation = 2 + i, .at = 100.0 + i }), 0);
	}
	assert_int_equal(history_flush(h), 8);
	assert_int_equal(history_flush(h), 0);
	assert_int_equal(history_add_decision(h, &(struct history_decision){
		.release = r[1], .stage = "production", .state = "rollback", .mode = "outage",
		.metric = "http_5xx", .reason = "canary 100%", .evidence_json = "{}", .at = 201 }), 0);
	assert_int_equal(history_add_rollback(h, &(struct history_rollback){
		.release = r[1], .onset = 200.0, .detected = 200.4, .done = 200.5,
		.metric = "http_5xx", .mode = "outage", .automatic = true }), 0);
	assert_int_equal(history_add_rollback(h, &(struct history_rollback){
		.release = r[2], .onset = 300.0, .detected = 301.5, .done = 301.6,
		.metric = "slow_answer", .mode = "degradation", .automatic = true }), 0);
	history_release_end(h, r[0], "promoted", 400);
	history_release_end(h, r[1], "rolled_back", 200.5);
	history_release_end(h, r[2], "rolled_back", 301.6);
	const bool predicted[4] = { false, true, false, true }, bad[4] = { false, true, true, false };

	for (int i = 0; i < 4; i++) {
		history_add_prediction(h, &(struct history_prediction){
			.release = r[i], .risk = predicted[i] ? 0.8 : 0.1,
			.predicted_bad = predicted[i], .at = 150 });
		history_set_outcome(h, r[i], bad[i]);
	}
	assert_int_equal(history_summarize(h, &s), 0);
	assert_int_equal(s.releases, 4);
	assert_int_equal(s.validated, 3);
	assert_int_equal(s.rollbacks, 2);
	assert_int_equal(s.automatic_rollbacks, 2);
	assert_int_equal(s.predictions, 4);
	assert_int_equal(s.predictions_judged, 4);
	assert_float_equal(s.precision, 0.5, 1e-9);   /* 1 of the 2 "bad" was bad */
	assert_float_equal(s.recall, 0.5, 1e-9);      /* 1 of the 2 bad was predicted */
	assert_float_equal(s.ttr_p50_ms, 500, 1e-3);
	assert_float_equal(s.ttr_p95_ms, 1600, 1e-3);
	assert_int_equal(s.n_causes, 2);
	history_close(h);
}

/* No data: the analytics say "undefined", not zero. */
static void
test_empty_summary(void **state)
{
	struct history *h = open_db("empty.db");
	struct history_summary s;

	(void)state;
	assert_int_equal(history_summarize(h, &s), 0);
	assert_int_equal(s.releases, 0);
	assert_true(s.precision < 0 && s.recall < 0 && s.ttr_p50_ms < 0);
	history_close(h);
}

/* A child commits 50 releases in batches, records 5 more it never
 * commits, and is killed with SIGKILL: the 50 are there, the 5 are not,
 * and the database is intact. */
static void
test_kill9_loses_nothing_committed(void **state)
{
	int fd[2];
	char buf[8];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct history *h = open_db("k.db");

		for (int i = 0; i < 50; i++) {
			history_release_begin(h, &(struct history_release){
				.service = "web", .version = "v2", .at = i });
			if (i % 10 == 9 && history_flush(h) != 10)
				_exit(2);
		}
		for (int i = 0; i < 5; i++)
			history_release_begin(h, &(struct history_release){
				.service = "web", .version = "v3", .at = i });
		if (write(fd[1], "ok", 2) != 2)
			_exit(3);
		pause();
		_exit(0);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], buf, sizeof(buf)), 2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd[0]);

	struct history *h = open_db("k.db");
	struct history_summary s;

	assert_int_equal(history_summarize(h, &s), 0);
	assert_int_equal(s.releases, 50);
	history_close(h);

	sqlite3 *db;
	sqlite3_stmt *st;
	char path[128];

	snprintf(path, sizeof(path), "%s/k.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A database from a newer umbra, and a symlink, are refused with a sentence. */
static void
test_refusals(void **state)
{
	struct history *h;
	sqlite3 *db;
	char path[128], link_path[128], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/new.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 9", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), -1);
	assert_null(h);
	assert_non_null(strstr(err, "schema 9"));

	snprintf(link_path, sizeof(link_path), "%s/link.db", dir);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(history_open(&h, link_path, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
}

/* What a walk of golden graphs saw. */
struct seen {
	unsigned int n;
	char stage[4][16];
	uint32_t version[4];
	char label[4][16];
	size_t len[4];
	char data[4][16];
	bool release_null[4];
};

static int
see(const struct history_golden *g, void *arg)
{
	struct seen *s = arg;

	if (s->n < 4) {
		snprintf(s->stage[s->n], sizeof(s->stage[0]), "%s", g->stage);
		s->version[s->n] = g->version;
		snprintf(s->label[s->n], sizeof(s->label[0]), "%s", g->label);
		s->len[s->n] = g->len;
		if (g->data)
			memcpy(s->data[s->n], g->data, g->len < 16 ? g->len : 16);
		s->release_null[s->n] = g->release == NULL;
	}
	s->n++;
	return 0;
}

static int
save_golden(struct history *h, const char *stage, const char *label, const char *blob)
{
	uint32_t v;

	assert_int_equal(history_golden_next_version(h, stage, &v), 0);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = stage, .version = v, .origin = "command", .label = label,
		.at = 1000 + v, .edges = 1, .flows = 5, .data = blob,
		.len = strlen(blob) + 1 }), 0);
	return (int)v;
}

/* Golden graphs: numbered per stage, committed at once (a reopened file
 * has them), walked oldest first by stage, version and newest; a
 * version saved twice is refused. */
static void
test_golden_graphs(void **state)
{
	struct history *h = open_db("g.db");
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(save_golden(h, "production", "a", "g1"), 1);
	assert_int_equal(save_golden(h, "production", "b", "g2"), 2);
	assert_int_equal(save_golden(h, "staging", "c", "s1"), 1);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 1, .origin = "auto", .data = "x", .len = 2 }), -1);
	assert_non_null(strstr(history_error(h), "golden"));
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 0, .origin = "auto", .data = "x", .len = 2 }), -1);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 2, .origin = "auto", .label = "d",
		.release = "api v2", .data = "s2", .len = 3 }), 0);
	history_close(h);

	/* Reopened: everything is there. */
	h = open_db("g.db");
	assert_int_equal(history_golden_each(h, NULL, 0, 0, false, see, &s), 4);
	assert_string_equal(s.stage[0], "production");
	assert_int_equal(s.version[1], 2);
	assert_string_equal(s.stage[2], "staging");
	assert_int_equal(s.len[0], 0);       /* without the graphs */
	assert_true(s.release_null[0]);
	assert_false(s.release_null[3]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_golden_each(h, "production", 0, 1, true, see, &s), 1);
	assert_int_equal(s.version[0], 2);
	assert_string_equal(s.data[0], "g2");
	assert_string_equal(s.label[0], "b");
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_golden_each(h, "production", 1, 0, true, see, &s), 1);
	assert_string_equal(s.data[0], "g1");
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_golden_each(h, NULL, 0, 2, false, see, &s), 2);
	assert_string_equal(s.stage[0], "staging");   /* the newest two, oldest first */
	assert_int_equal(s.version[1], 2);
	assert_int_equal(history_golden_each(h, "dev", 0, 0, false, see, &s), 0);
	assert_int_equal(save_golden(h, "production", "e", "g3"), 3);
	history_close(h);
}

/* A version-1 database (before golden graphs) is upgraded in place. */
static void
test_golden_upgrade(void **state)
{
	struct history *h;
	sqlite3 *db;
	char path[128], err[256];
	struct seen s = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/v1.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE releases (id INTEGER PRIMARY KEY, "
				      "service TEXT NOT NULL, version TEXT NOT NULL, "
				      "from_version TEXT, started_at REAL NOT NULL, ended_at "
				      "REAL, outcome TEXT, bad INTEGER); PRAGMA user_version = 1",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	assert_int_equal(save_golden(h, "production", "a", "g1"), 1);
	assert_int_equal(history_golden_each(h, NULL, 0, 0, false, see, &s), 1);
	history_close(h);
}

static int
wf_seen(uint64_t id, const char *record, void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%llu:%s ", (unsigned long long)id, record);
	return 0;
}

static void
wf_count(const char *status, uint64_t n, void *ctx)
{
	char *out = ctx;
	size_t len = strlen(out);

	snprintf(out + len, 256 - len, "%s=%llu ", status, (unsigned long long)n);
}

/* Workflow transitions: a version-2 database gains the table; the last
 * record of an id wins; newest first, by service, paged with before,
 * uncommitted ones included; counted by status; committed by a flush. */
static void
test_workflow_transitions(void **state)
{
	struct history *h;
	sqlite3 *db;
	char path[128], err[256], out[256] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/v2.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	assert_int_equal(history_wf_put(h, 1, "web", "running", "{\"id\":1}"), 0);
	assert_int_equal(history_wf_put(h, 2, "api", "done", "{\"id\":2}"), 0);
	assert_int_equal(history_wf_put(h, 3, "web", "done", "{\"id\":3}"), 0);
	assert_int_equal(history_wf_put(h, 1, "web", "done", "{\"id\":1,\"x\":1}"), 0);
	assert_int_equal(history_wf_each(h, NULL, 0, 10, wf_seen, out), 3);
	assert_string_equal(out, "3:{\"id\":3} 2:{\"id\":2} 1:{\"id\":1,\"x\":1} ");
	out[0] = '\0';
	assert_int_equal(history_wf_each(h, "web", 3, 10, wf_seen, out), 1);
	assert_string_equal(out, "1:{\"id\":1,\"x\":1} ");
	out[0] = '\0';
	assert_int_equal(history_wf_each(h, NULL, 0, 1, wf_seen, out), 1);
	assert_string_equal(out, "3:{\"id\":3} ");
	out[0] = '\0';
	assert_int_equal(history_wf_count(h, wf_count, out), 0);
	assert_string_equal(out, "done=3 ");
	assert_int_equal(history_flush(h), 4);
	history_close(h);

	/* Committed: there after a reopen, the schema stamped 3. */
	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	out[0] = '\0';
	assert_int_equal(history_wf_each(h, "api", 0, 10, wf_seen, out), 1);
	history_close(h);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
						    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 3);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_and_summary),
		cmocka_unit_test(test_empty_summary),
		cmocka_unit_test(test_kill9_loses_nothing_committed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_golden_graphs),
		cmocka_unit_test(test_golden_upgrade),
		cmocka_unit_test(test_workflow_transitions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
