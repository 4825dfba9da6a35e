/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: release history in SQLite (lib/history): records and the
 * analytics over them, batches, a kill -9 that loses nothing committed,
 * refusals (a newer schema, a symlink); golden graphs (numbered per
 * stage, kept across a reopen, walked; every edge field round trips; a
 * version-1 file upgraded; a version-3 file's blobs migrated, then
 * converted or dropped).
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
	bool no_edges[4];
	char client[4][16];          /* the first edge's client */
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
		s->no_edges[s->n] = g->e == NULL;
		if (g->e && g->edges)
			snprintf(s->client[s->n], sizeof(s->client[0]), "%s", g->e[0].client);
		s->release_null[s->n] = g->release == NULL;
	}
	s->n++;
	return 0;
}

/* One edge from client @p client to 10.0.0.2:80/tcp. */
static struct history_golden_edge
edge_from(const char *client)
{
	struct history_golden_edge e = { .client_kind = "addr", .server = "10.0.0.2",
					  .port = 80, .proto = 6, .flows = 5 };

	snprintf(e.client, sizeof(e.client), "%s", client);
	return e;
}

/* Save the next golden graph of @p stage: one edge, from @p client. */
static int
save_golden(struct history *h, const char *stage, const char *label, const char *client)
{
	struct history_golden_edge e = edge_from(client);
	uint32_t v;

	assert_int_equal(history_golden_next_version(h, stage, &v), 0);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = stage, .version = v, .origin = "command", .label = label,
		.at = 1000 + v, .edges = 1, .flows = 5, .e = &e }), 0);
	return (int)v;
}

/* Golden graphs: numbered per stage, committed at once (a reopened file
 * has them), walked oldest first by stage, version and newest; a
 * version saved twice is refused. */
static void
test_golden_graphs(void **state)
{
	struct history *h = open_db("g.db");
	struct history_golden_edge x = edge_from("x");
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(save_golden(h, "production", "a", "g1"), 1);
	assert_int_equal(save_golden(h, "production", "b", "g2"), 2);
	assert_int_equal(save_golden(h, "staging", "c", "s1"), 1);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 1, .origin = "auto", .e = &x, .edges = 1 }), -1);
	assert_non_null(strstr(history_error(h), "golden"));
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 0, .origin = "auto", .e = &x, .edges = 1 }), -1);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 3, .origin = "auto", .edges = 1 }), -1);
	x = edge_from("s2");
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "staging", .version = 2, .origin = "auto", .label = "d",
		.release = "api v2", .e = &x, .edges = 1 }), 0);
	history_close(h);

	/* Reopened: everything is there. */
	h = open_db("g.db");
	assert_int_equal(history_golden_each(h, NULL, 0, 0, false, see, &s), 4);
	assert_string_equal(s.stage[0], "production");
	assert_int_equal(s.version[1], 2);
	assert_string_equal(s.stage[2], "staging");
	assert_true(s.no_edges[0]);          /* without the graphs */
	assert_true(s.release_null[0]);
	assert_false(s.release_null[3]);
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_golden_each(h, "production", 0, 1, true, see, &s), 1);
	assert_int_equal(s.version[0], 2);
	assert_false(s.no_edges[0]);
	assert_string_equal(s.client[0], "g2");
	assert_string_equal(s.label[0], "b");
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_golden_each(h, "production", 1, 0, true, see, &s), 1);
	assert_string_equal(s.client[0], "g1");
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

/* What a walk with the graphs copied out. */
struct golden_copy {
	struct history_golden head;
	struct history_golden_edge e[4];
	uint32_t n;
	bool legacy;
	char blob[16];
};

static int
copy_golden(const struct history_golden *g, void *arg)
{
	struct golden_copy *c = arg;

	c->head = *g;
	c->head.stage = c->head.origin = c->head.label = c->head.release = NULL;
	c->head.e = NULL;
	c->head.legacy = NULL;
	c->n = g->edges;
	for (uint32_t i = 0; g->e && i < g->edges && i < 4; i++)
		c->e[i] = g->e[i];
	c->legacy = g->legacy != NULL;
	if (g->legacy)
		memcpy(c->blob, g->legacy, g->legacy_len < 16 ? g->legacy_len : 16);
	return 0;
}

/* Every field of every edge comes back as saved, whatever the build's
 * memory layout: named columns, values beyond 32 bits, IPv6 text, a
 * client service by name; a graph without edges too. */
static void
test_golden_round_trip(void **state)
{
	struct history *h = open_db("rt.db");
	const struct history_golden_edge in[2] = {
		{ .client_kind = "service", .client = "web", .server = "2001:db8::2",
		  .port = 443, .proto = 6, .flows = 5000000000ULL, .bytes = 1ULL << 40,
		  .first_ms = 123456789012ULL, .last_ms = 123456799012ULL, .errors = 7,
		  .resets = 3, .rtt_avg_us = 250, .rtt_max_us = 4000, .max_gap_ms = 300000,
		  .active = 12 },
		{ .client_kind = "addr", .client = "10.1.2.3", .server = "10.0.0.53",
		  .port = 53, .proto = 17, .flows = 9, .bytes = 900, .first_ms = 1,
		  .last_ms = 2, .max_gap_ms = 1 },
	};
	struct golden_copy c = { 0 };
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[128];

	(void)state;
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "production", .version = 1, .origin = "auto", .label = "web 2 GO",
		.release = "web 2", .at = 1700000000.5, .edges = 2, .flows = 5000000009ULL,
		.truncated = 4, .from_ms = 1000, .taken_ms = 123456799999ULL, .e = in }), 0);
	assert_int_equal(history_golden_save(h, &(struct history_golden){
		.stage = "production", .version = 2, .origin = "command" }), 0);
	history_close(h);

	h = open_db("rt.db");
	assert_int_equal(history_golden_each(h, "production", 1, 0, true, copy_golden, &c), 1);
	assert_int_equal(c.n, 2);
	assert_false(c.legacy);
	assert_int_equal(c.head.flows, 5000000009ULL);
	assert_int_equal(c.head.truncated, 4);
	assert_int_equal(c.head.from_ms, 1000);
	assert_int_equal(c.head.taken_ms, 123456799999ULL);
	assert_memory_equal(&c.e[0], &in[0], sizeof(in[0]));
	assert_memory_equal(&c.e[1], &in[1], sizeof(in[1]));
	memset(&c, 0xff, sizeof(c));
	assert_int_equal(history_golden_each(h, "production", 2, 0, true, copy_golden, &c), 1);
	assert_int_equal(c.n, 0);
	history_close(h);

	/* Stored as named columns, the addresses as text. */
	snprintf(path, sizeof(path), "%s/rt.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT client, server, flows FROM "
					    "golden_edges WHERE proto = 6", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "web");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "2001:db8::2");
	assert_int_equal(sqlite3_column_int64(st, 2), 5000000000LL);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A schema-3 converter: the blob "ok..." becomes one edge, anything else
 * is unreadable. */
static int
convert_v3(const struct history_golden *old, struct history_golden *conv, void *arg)
{
	static struct history_golden_edge e;

	(void)arg;
	if (old->legacy_len < 2 || memcmp(old->legacy, "ok", 2) != 0)
		return -1;
	e = edge_from((const char *)old->legacy);
	conv->e = &e;
	conv->edges = 1;
	conv->flows = 5;
	conv->taken_ms = 77;
	return 0;
}

/* A version-3 database: its golden graphs (blobs of the saving build's
 * memory layout) are migrated with their rows, numbering and blobs kept
 * as legacy, the schema stamped 4; then converted into rows or, when
 * unreadable, dropped; new saves number after them. */
static void
test_golden_v3_migration(void **state)
{
	struct history *h;
	struct golden_copy c = { 0 };
	struct seen s = { 0 };
	unsigned int converted, dropped;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[128], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/v3.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE golden_graphs (id INTEGER PRIMARY KEY,"
				      " stage TEXT NOT NULL, version INTEGER NOT NULL, origin TEXT"
				      " NOT NULL, label TEXT, release TEXT, at REAL NOT NULL, edges"
				      " INTEGER NOT NULL, flows INTEGER NOT NULL, graph BLOB NOT"
				      " NULL, UNIQUE (stage, version));"
				      "INSERT INTO golden_graphs VALUES (1, 'production', 1,"
				      " 'command', 'a', NULL, 1000, 1, 5, CAST('ok1' AS BLOB));"
				      "INSERT INTO golden_graphs VALUES (2, 'production', 2, 'auto',"
				      " 'b', 'api 2', 1001, 1, 5, X'00ff');"
				      "INSERT INTO golden_graphs VALUES (3, 'staging', 1, 'command',"
				      " 'c', NULL, 1002, 1, 5, CAST('ok3' AS BLOB));"
				      "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(history_open(&h, path, err, sizeof(err)), 0);
	/* Migrated: listed as before; walked with the graph, the blob is given. */
	assert_int_equal(history_golden_each(h, NULL, 0, 0, false, see, &s), 3);
	assert_string_equal(s.label[1], "b");
	assert_false(s.release_null[1]);
	assert_int_equal(history_golden_each(h, "staging", 0, 0, true, copy_golden, &c), 1);
	assert_true(c.legacy);
	assert_string_equal(c.blob, "ok3");
	assert_int_equal(history_golden_upgrade(h, convert_v3, NULL, &converted, &dropped), 0);
	assert_int_equal(converted, 2);
	assert_int_equal(dropped, 1);
	/* Converted: rows, no blob; the unreadable one is gone. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(history_golden_each(h, "staging", 0, 0, true, copy_golden, &c), 1);
	assert_false(c.legacy);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.e[0].client, "ok3");
	assert_int_equal(c.head.taken_ms, 77);
	assert_int_equal(history_golden_each(h, "production", 2, 0, true, copy_golden, &c), 0);
	/* Nothing left to convert; numbering goes on. */
	assert_int_equal(history_golden_upgrade(h, convert_v3, NULL, &converted, &dropped), 0);
	assert_int_equal(converted + dropped, 0);
	assert_int_equal(save_golden(h, "staging", "d", "s2"), 2);
	history_close(h);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM golden_graphs WHERE "
					    "legacy IS NOT NULL", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
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

	/* Committed: there after a reopen, the schema stamped (now 4). */
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
		assert_int_equal(sqlite3_column_int(st, 0), 4);
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
		cmocka_unit_test(test_golden_round_trip),
		cmocka_unit_test(test_golden_v3_migration),
		cmocka_unit_test(test_workflow_transitions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
