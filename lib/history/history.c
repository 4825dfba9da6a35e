/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Release history in SQLite (management core only): records into an open
 * transaction, committed in batches; analytics by SQL.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "history.h"
#include "history_private.h"

/* 2: golden graphs (history_golden.c); 3: workflow transitions
 * (history_workflow.c); 4: golden graphs as rows per edge (they were a
 * blob in the saving build's memory layout). An older file gains the
 * tables; a version-3 file's golden graphs are migrated (migrate()). */
#define SCHEMA_VERSION 4
#define STR_(x) #x
#define STR(x) STR_(x)

/* A golden graph's header; legacy: a schema-3 blob not yet converted. */
#define GOLDEN_GRAPHS_TABLE \
	"CREATE TABLE IF NOT EXISTS golden_graphs (" \
	" id INTEGER PRIMARY KEY, stage TEXT NOT NULL, version INTEGER NOT NULL," \
	" origin TEXT NOT NULL, label TEXT, release TEXT, at REAL NOT NULL," \
	" edges INTEGER NOT NULL, flows INTEGER NOT NULL," \
	" truncated INTEGER NOT NULL DEFAULT 0, from_ms INTEGER NOT NULL DEFAULT 0," \
	" taken_ms INTEGER NOT NULL DEFAULT 0, legacy BLOB," \
	" UNIQUE (stage, version));"

/* Schema 3 to 4: the golden graphs' blobs (column graph) become legacy,
 * rows kept, until the daemon, which knows the old layout, converts them
 * (history_golden_upgrade()). Rebuilt, as SQLite cannot relax NOT NULL. */
static const char migrate_golden[] =
	"ALTER TABLE golden_graphs RENAME TO golden_graphs_v3;"
	GOLDEN_GRAPHS_TABLE
	"INSERT INTO golden_graphs(id, stage, version, origin, label, release, at, edges,"
	" flows, legacy) SELECT id, stage, version, origin, label, release, at, edges,"
	" flows, graph FROM golden_graphs_v3;"
	"DROP TABLE golden_graphs_v3;";

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS releases ("
	" id INTEGER PRIMARY KEY, service TEXT NOT NULL, version TEXT NOT NULL,"
	" from_version TEXT, started_at REAL NOT NULL, ended_at REAL, outcome TEXT,"
	" bad INTEGER);"
	"CREATE TABLE IF NOT EXISTS transitions ("
	" id INTEGER PRIMARY KEY, release INTEGER NOT NULL REFERENCES releases(id),"
	" event TEXT NOT NULL, from_stage TEXT, to_stage TEXT, generation INTEGER,"
	" at REAL NOT NULL);"
	"CREATE TABLE IF NOT EXISTS decisions ("
	" id INTEGER PRIMARY KEY, release INTEGER NOT NULL REFERENCES releases(id),"
	" stage TEXT, state TEXT NOT NULL, mode TEXT, metric TEXT, reason TEXT,"
	" evidence TEXT, at REAL NOT NULL);"
	"CREATE TABLE IF NOT EXISTS rollbacks ("
	" id INTEGER PRIMARY KEY, release INTEGER NOT NULL REFERENCES releases(id),"
	" onset REAL, detected REAL, done REAL NOT NULL, metric TEXT, endpoint TEXT,"
	" mode TEXT, automatic INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS predictions ("
	" id INTEGER PRIMARY KEY, release INTEGER NOT NULL REFERENCES releases(id),"
	" risk REAL NOT NULL, predicted_bad INTEGER NOT NULL, at REAL NOT NULL);"
	GOLDEN_GRAPHS_TABLE
	/* One row per edge of a golden graph: named columns, addresses and
	 * service names as text, whatever the build's memory layout. */
	"CREATE TABLE IF NOT EXISTS golden_edges ("
	" golden INTEGER NOT NULL REFERENCES golden_graphs(id) ON DELETE CASCADE,"
	" client_kind TEXT NOT NULL, client TEXT NOT NULL, server TEXT NOT NULL,"
	" port INTEGER NOT NULL, proto INTEGER NOT NULL, flows INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
	" errors INTEGER NOT NULL, resets INTEGER NOT NULL, rtt_avg_us INTEGER NOT NULL,"
	" rtt_max_us INTEGER NOT NULL, max_gap_ms INTEGER NOT NULL,"
	" active INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS golden_edges_golden ON golden_edges(golden);"
	"CREATE TABLE IF NOT EXISTS workflow_transitions ("
	" id INTEGER PRIMARY KEY, service TEXT NOT NULL, status TEXT NOT NULL,"
	" record TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS workflow_transitions_service"
	" ON workflow_transitions(service, id);"
	"CREATE INDEX IF NOT EXISTS transitions_release ON transitions(release);"
	"CREATE INDEX IF NOT EXISTS decisions_release ON decisions(release);";

/* Statements prepared once, in this order. */
enum stmt {
	S_BEGIN, S_COMMIT, S_RELEASE, S_RELEASE_END, S_TRANSITION, S_DECISION,
	S_ROLLBACK, S_PREDICTION, S_OUTCOME, S_WF_PUT, S_MAX
};

static const char *const stmt_sql[S_MAX] = {
	[S_BEGIN] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_RELEASE] = "INSERT INTO releases(service, version, from_version, started_at)"
		      " VALUES (?, ?, ?, ?)",
	[S_RELEASE_END] = "UPDATE releases SET outcome = ?, ended_at = ? WHERE id = ?",
	[S_TRANSITION] = "INSERT INTO transitions(release, event, from_stage, to_stage,"
			 " generation, at) VALUES (?, ?, ?, ?, ?, ?)",
	[S_DECISION] = "INSERT INTO decisions(release, stage, state, mode, metric, reason,"
		       " evidence, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[S_ROLLBACK] = "INSERT INTO rollbacks(release, onset, detected, done, metric,"
		       " endpoint, mode, automatic) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[S_PREDICTION] = "INSERT INTO predictions(release, risk, predicted_bad, at)"
			 " VALUES (?, ?, ?, ?)",
	[S_OUTCOME] = "UPDATE releases SET bad = ? WHERE id = ?",
	/* A transition changes while it runs: the last record wins. */
	[S_WF_PUT] = "INSERT OR REPLACE INTO workflow_transitions(id, service, status,"
		     " record) VALUES (?, ?, ?, ?)",
};

struct history {
	sqlite3 *db;
	sqlite3_stmt *st[S_MAX];
	bool in_batch;
	int pending;
	char err[256];
};

struct sqlite3 *
history_db(struct history *h)
{
	return h->db;
}

int
history_fail(struct history *h, const char *what)
{
	snprintf(h->err, sizeof(h->err), "history: %s: %s", what, sqlite3_errmsg(h->db));
	return -1;
}

int
history_refuse(struct history *h, const char *msg)
{
	snprintf(h->err, sizeof(h->err), "%s", msg);
	return -1;
}

static int
fail(struct history *h, const char *what)
{
	snprintf(h->err, sizeof(h->err), "history: %s: %s", what, sqlite3_errmsg(h->db));
	return -1;
}

const char *
history_error(const struct history *h)
{
	return h->err;
}

/* The file's schema version (0: new); a newer one is refused. */
static int
read_version(struct history *h, int *v)
{
	sqlite3_stmt *st;

	*v = -1;
	if (sqlite3_prepare_v2(h->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return fail(h, "reading the schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (*v > SCHEMA_VERSION) {
		snprintf(h->err, sizeof(h->err), "history: the database has schema %d, this "
			 "umbra knows %d: use a newer umbra or move the file away", *v,
			 SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/* Whether table @p table has column @p column. */
static bool
has_column(struct history *h, const char *table, const char *column)
{
	sqlite3_stmt *st;
	bool found = false;

	if (sqlite3_prepare_v2(h->db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* Bring a file of schema @p from to this one, tables made, version stamped:
 * all in one transaction, so a failure leaves the file as it was. */
static int
migrate(struct history *h, int from)
{
	if (from == SCHEMA_VERSION)
		return sqlite3_exec(h->db, schema, NULL, NULL, NULL) == SQLITE_OK ? 0 :
		       fail(h, "setting up the schema");
	if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(h, "migrating the schema");
	if ((from < 4 && has_column(h, "golden_graphs", "graph") &&
	     sqlite3_exec(h->db, migrate_golden, NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(h->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(h->db, "PRAGMA user_version = " STR(SCHEMA_VERSION), NULL, NULL,
			 NULL) != SQLITE_OK ||
	    sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail(h, "migrating the schema");
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
history_open(struct history **out, const char *path, char *err, size_t errlen)
{
	struct history *h = calloc(1, sizeof(*h));
	int version;

	*out = NULL;
	if (h == NULL) {
		snprintf(err, errlen, "history: out of memory");
		return -1;
	}
	if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		fail(h, path);
		goto bad;
	}
	/* WAL with NORMAL sync: a commit survives a crash of umbra (kill -9);
	 * only a power loss can take back the last commits. */
	if (sqlite3_exec(h->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=0;", NULL, NULL,
			 NULL) != SQLITE_OK) {
		fail(h, "setting up the schema");
		goto bad;
	}
	if (read_version(h, &version) < 0 || migrate(h, version) < 0)
		goto bad;
	for (int i = 0; i < S_MAX; i++)
		if (sqlite3_prepare_v3(h->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &h->st[i], NULL) != SQLITE_OK) {
			fail(h, "preparing statements");
			goto bad;
		}
	*out = h;
	return 0;
bad:
	snprintf(err, errlen, "%s", h->err);
	history_close(h);
	return -1;
}

void
history_close(struct history *h)
{
	if (h == NULL)
		return;
	if (h->in_batch)
		history_flush(h);
	for (int i = 0; i < S_MAX; i++)
		sqlite3_finalize(h->st[i]);
	sqlite3_close(h->db);
	free(h);
}

/* Run a statement that returns no rows; opens the batch first. */
static int
run(struct history *h, enum stmt s, const char *what)
{
	int rc;

	if (!h->in_batch && s != S_BEGIN && s != S_COMMIT) {
		if (run(h, S_BEGIN, "opening a batch") < 0)
			return -1;
		h->in_batch = true;
	}
	rc = sqlite3_step(h->st[s]);
	sqlite3_reset(h->st[s]);
	sqlite3_clear_bindings(h->st[s]);
	if (rc != SQLITE_DONE)
		return fail(h, what);
	if (s != S_BEGIN && s != S_COMMIT)
		h->pending++;
	return 0;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int64_t
history_release_begin(struct history *h, const struct history_release *r)
{
	sqlite3_stmt *st = h->st[S_RELEASE];

	bind_text(st, 1, r->service);
	bind_text(st, 2, r->version);
	bind_text(st, 3, r->from_version);
	sqlite3_bind_double(st, 4, r->at);
	if (run(h, S_RELEASE, "recording a release") < 0)
		return -1;
	return sqlite3_last_insert_rowid(h->db);
}

int
history_release_end(struct history *h, int64_t release, const char *outcome, double at)
{
	sqlite3_stmt *st = h->st[S_RELEASE_END];

	bind_text(st, 1, outcome);
	sqlite3_bind_double(st, 2, at);
	sqlite3_bind_int64(st, 3, release);
	return run(h, S_RELEASE_END, "ending a release");
}

int
history_add_transition(struct history *h, const struct history_transition *t)
{
	sqlite3_stmt *st = h->st[S_TRANSITION];

	sqlite3_bind_int64(st, 1, t->release);
	bind_text(st, 2, t->event);
	bind_text(st, 3, t->from_stage);
	bind_text(st, 4, t->to_stage);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)t->generation);
	sqlite3_bind_double(st, 6, t->at);
	return run(h, S_TRANSITION, "recording a transition");
}

int
history_add_decision(struct history *h, const struct history_decision *d)
{
	sqlite3_stmt *st = h->st[S_DECISION];

	sqlite3_bind_int64(st, 1, d->release);
	bind_text(st, 2, d->stage);
	bind_text(st, 3, d->state);
	bind_text(st, 4, d->mode);
	bind_text(st, 5, d->metric);
	bind_text(st, 6, d->reason);
	bind_text(st, 7, d->evidence_json);
	sqlite3_bind_double(st, 8, d->at);
	return run(h, S_DECISION, "recording a decision");
}

int
history_add_rollback(struct history *h, const struct history_rollback *rb)
{
	sqlite3_stmt *st = h->st[S_ROLLBACK];

	sqlite3_bind_int64(st, 1, rb->release);
	if (rb->onset > 0)
		sqlite3_bind_double(st, 2, rb->onset);
	if (rb->detected > 0)
		sqlite3_bind_double(st, 3, rb->detected);
	sqlite3_bind_double(st, 4, rb->done);
	bind_text(st, 5, rb->metric);
	bind_text(st, 6, rb->endpoint);
	bind_text(st, 7, rb->mode);
	sqlite3_bind_int(st, 8, rb->automatic);
	return run(h, S_ROLLBACK, "recording a rollback");
}

int
history_add_prediction(struct history *h, const struct history_prediction *p)
{
	sqlite3_stmt *st = h->st[S_PREDICTION];

	sqlite3_bind_int64(st, 1, p->release);
	sqlite3_bind_double(st, 2, p->risk);
	sqlite3_bind_int(st, 3, p->predicted_bad);
	sqlite3_bind_double(st, 4, p->at);
	return run(h, S_PREDICTION, "recording a prediction");
}

int
history_set_outcome(struct history *h, int64_t release, bool bad)
{
	sqlite3_stmt *st = h->st[S_OUTCOME];

	sqlite3_bind_int(st, 1, bad);
	sqlite3_bind_int64(st, 2, release);
	return run(h, S_OUTCOME, "recording an outcome");
}

int
history_wf_put(struct history *h, uint64_t id, const char *service, const char *status,
	       const char *record)
{
	sqlite3_stmt *st = h->st[S_WF_PUT];

	if (id == 0 || id > INT64_MAX || service == NULL || status == NULL || record == NULL)
		return history_refuse(h, "history: a workflow transition needs an id, "
				      "service, status and record");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	bind_text(st, 2, service);
	bind_text(st, 3, status);
	bind_text(st, 4, record);
	return run(h, S_WF_PUT, "recording a workflow transition");
}

int
history_flush(struct history *h)
{
	int n = h->pending;

	if (!h->in_batch)
		return 0;
	if (run(h, S_COMMIT, "committing a batch") < 0) {
		/* Leave no half-open transaction behind: the batch is lost,
		 * the next record opens a new one. */
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
		h->in_batch = false;
		h->pending = 0;
		return -1;
	}
	h->in_batch = false;
	h->pending = 0;
	return n;
}

/* One integer (or real) from a query without parameters. */
static double
scalar(struct history *h, const char *sql, double dflt)
{
	sqlite3_stmt *st;
	double v = dflt;

	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The p-th percentile (nearest rank) of time to rollback, ms. */
static double
ttr_percentile(struct history *h, double p)
{
	double n = scalar(h, "SELECT count(*) FROM rollbacks WHERE onset IS NOT NULL", 0);
	char sql[160];

	if (n < 1)
		return -1;
	long rank = (long)ceil(p * n) - 1;

	snprintf(sql, sizeof(sql), "SELECT (done - onset) * 1000 FROM rollbacks WHERE onset "
		 "IS NOT NULL ORDER BY done - onset LIMIT 1 OFFSET %ld", rank < 0 ? 0 : rank);
	return scalar(h, sql, -1);
}

static void
root_causes(struct history *h, struct history_summary *s)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(h->db, "SELECT coalesce(metric, '-'), coalesce(mode, '-'), "
			       "count(*) AS n FROM rollbacks GROUP BY 1, 2 ORDER BY n DESC, 1 "
			       "LIMIT 8", -1, &st, NULL) != SQLITE_OK)
		return;
	while (s->n_causes < 8 && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(s->causes[s->n_causes].metric, sizeof(s->causes[0].metric), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(s->causes[s->n_causes].mode, sizeof(s->causes[0].mode), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		s->causes[s->n_causes++].count = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
}

int
history_summarize(struct history *h, struct history_summary *s)
{
	*s = (struct history_summary){ 0 };
	if (history_flush(h) < 0)
		return -1;
	s->releases = (uint64_t)scalar(h, "SELECT count(*) FROM releases", 0);
	s->validated = (uint64_t)scalar(h, "SELECT count(*) FROM releases WHERE outcome "
					"IS NOT NULL", 0);
	s->rollbacks = (uint64_t)scalar(h, "SELECT count(*) FROM rollbacks", 0);
	s->automatic_rollbacks = (uint64_t)scalar(h, "SELECT count(*) FROM rollbacks WHERE "
						  "automatic", 0);
	s->predictions = (uint64_t)scalar(h, "SELECT count(*) FROM predictions", 0);
	s->predictions_judged = (uint64_t)scalar(h, "SELECT count(*) FROM predictions p "
		"JOIN releases r ON r.id = p.release WHERE r.bad IS NOT NULL", 0);
	double tp = scalar(h, "SELECT count(*) FROM predictions p JOIN releases r ON "
			   "r.id = p.release WHERE p.predicted_bad AND r.bad", 0);
	double fp = scalar(h, "SELECT count(*) FROM predictions p JOIN releases r ON "
			   "r.id = p.release WHERE p.predicted_bad AND r.bad = 0", 0);
	double fn = scalar(h, "SELECT count(*) FROM predictions p JOIN releases r ON "
			   "r.id = p.release WHERE NOT p.predicted_bad AND r.bad", 0);

	s->precision = tp + fp > 0 ? tp / (tp + fp) : -1;
	s->recall = tp + fn > 0 ? tp / (tp + fn) : -1;
	s->ttr_p50_ms = ttr_percentile(h, 0.50);
	s->ttr_p95_ms = ttr_percentile(h, 0.95);
	root_causes(h, s);
	return 0;
}
