/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden graphs in the history database: one row per stage and version
 * in golden_graphs, one row per edge in golden_edges, every field in a
 * named column and addresses and service names as text, so a field added
 * to the in-memory edge or another machine reads them the same. A save is
 * committed at once, outside the record batch: an operator who saved a
 * golden graph expects it to survive a crash that follows.
 *
 * Schema 3 kept a graph as one blob in the saving build's memory layout;
 * a migrated file keeps those in golden_graphs.legacy until the daemon
 * (which knows that layout) converts them: history_golden_upgrade().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "history_private.h"

/* golden_edges' columns, in the order bound and read. */
#define EDGE_COLUMNS "client_kind, client, server, port, proto, flows, bytes, first_ms," \
	" last_ms, errors, resets, rtt_avg_us, rtt_max_us, max_gap_ms, active"

int
history_golden_next_version(struct history *h, const char *stage, uint32_t *version)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(history_db(h), "SELECT coalesce(max(version), 0) FROM "
			       "golden_graphs WHERE stage = ?", -1, &st, NULL) != SQLITE_OK)
		return history_fail(h, "reading golden versions");
	sqlite3_bind_text(st, 1, stage, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = (uint32_t)sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : history_fail(h, "reading golden versions");
}

/* Run @p sql without rows or parameters. */
static int
exec(struct history *h, const char *sql, const char *what)
{
	return sqlite3_exec(history_db(h), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	       history_fail(h, what);
}

/* Insert @p n edges of golden graph @p id. */
static int
put_edges(struct history *h, int64_t id, const struct history_golden_edge *e, uint32_t n)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE;

	if (sqlite3_prepare_v2(history_db(h), "INSERT INTO golden_edges(golden, " EDGE_COLUMNS
			       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return history_fail(h, "saving a golden graph's edges");
	for (uint32_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		const struct history_golden_edge *x = &e[i];

		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, x->client_kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, x->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, x->server, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, x->port);
		sqlite3_bind_int(st, 6, x->proto);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)x->flows);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)x->bytes);
		sqlite3_bind_int64(st, 9, (sqlite3_int64)x->first_ms);
		sqlite3_bind_int64(st, 10, (sqlite3_int64)x->last_ms);
		sqlite3_bind_int64(st, 11, x->errors);
		sqlite3_bind_int64(st, 12, x->resets);
		sqlite3_bind_int64(st, 13, x->rtt_avg_us);
		sqlite3_bind_int64(st, 14, x->rtt_max_us);
		sqlite3_bind_int64(st, 15, x->max_gap_ms);
		sqlite3_bind_int64(st, 16, x->active);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : history_fail(h, "saving a golden graph's edges");
}

/* The header of @p g and its edges, inside the caller's transaction. */
static int
insert_golden(struct history *h, const struct history_golden *g)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(history_db(h), "INSERT INTO golden_graphs(stage, version, "
			       "origin, label, release, at, edges, flows, truncated, from_ms, "
			       "taken_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return history_fail(h, "saving a golden graph");
	sqlite3_bind_text(st, 1, g->stage, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, g->version);
	sqlite3_bind_text(st, 3, g->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, g->label ? g->label : "", -1, SQLITE_STATIC);
	if (g->release)
		sqlite3_bind_text(st, 5, g->release, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 6, g->at);
	sqlite3_bind_int64(st, 7, g->edges);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)g->flows);
	sqlite3_bind_int64(st, 9, g->truncated);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)g->from_ms);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)g->taken_ms);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return history_fail(h, "saving a golden graph");
	return put_edges(h, sqlite3_last_insert_rowid(history_db(h)), g->e, g->edges);
}

int
history_golden_save(struct history *h, const struct history_golden *g)
{
	if (g->stage == NULL || g->origin == NULL || g->version == 0 ||
	    (g->e == NULL && g->edges > 0)) {
		return history_refuse(h, "history: a golden graph needs a stage, an origin, "
				      "a version and its edges");
	}
	/* Commit the pending records first: this graph is committed alone. */
	if (history_flush(h) < 0 || exec(h, "SAVEPOINT golden", "saving a golden graph") < 0)
		return -1;
	if (insert_golden(h, g) < 0) {
		/* Keep the message: the rollback would overwrite it. */
		sqlite3_exec(history_db(h), "ROLLBACK TO golden; RELEASE golden", NULL, NULL,
			     NULL);
		return -1;
	}
	return exec(h, "RELEASE golden", "saving a golden graph");
}

static const char *
text_of(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

/* Golden graph @p id's edges into a fresh array (freed by the caller). */
static int
read_edges(struct history *h, int64_t id, uint32_t hint, struct history_golden_edge **out,
	   uint32_t *n)
{
	struct history_golden_edge *e = NULL;
	uint32_t cap = 0;
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(history_db(h), "SELECT " EDGE_COLUMNS " FROM golden_edges "
			       "WHERE golden = ? ORDER BY rowid", -1, &st, NULL) != SQLITE_OK)
		return history_fail(h, "reading a golden graph's edges");
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			uint32_t want = cap ? cap * 2 : (hint ? hint : 16);
			struct history_golden_edge *more = realloc(e, (size_t)want * sizeof(*e));

			if (more == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			e = more;
			cap = want;
		}
		struct history_golden_edge *x = &e[(*n)++];

		*x = (struct history_golden_edge){
			.port = (uint16_t)sqlite3_column_int(st, 3),
			.proto = (uint8_t)sqlite3_column_int(st, 4),
			.flows = (uint64_t)sqlite3_column_int64(st, 5),
			.bytes = (uint64_t)sqlite3_column_int64(st, 6),
			.first_ms = (uint64_t)sqlite3_column_int64(st, 7),
			.last_ms = (uint64_t)sqlite3_column_int64(st, 8),
			.errors = (uint32_t)sqlite3_column_int64(st, 9),
			.resets = (uint32_t)sqlite3_column_int64(st, 10),
			.rtt_avg_us = (uint32_t)sqlite3_column_int64(st, 11),
			.rtt_max_us = (uint32_t)sqlite3_column_int64(st, 12),
			.max_gap_ms = (uint32_t)sqlite3_column_int64(st, 13),
			.active = (uint32_t)sqlite3_column_int64(st, 14),
		};
		snprintf(x->client_kind, sizeof(x->client_kind), "%s", text_of(st, 0));
		snprintf(x->client, sizeof(x->client), "%s", text_of(st, 1));
		snprintf(x->server, sizeof(x->server), "%s", text_of(st, 2));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(e);
		*n = 0;
		return rc == SQLITE_NOMEM ? history_refuse(h, "history: out of memory reading "
							   "a golden graph") :
		       history_fail(h, "reading a golden graph's edges");
	}
	*out = e;
	return 0;
}

/* The columns every walk reads, id last. */
#define GOLDEN_COLUMNS "stage, version, origin, label, release, at, edges, flows, " \
	"truncated, from_ms, taken_ms, legacy, id"

/* A row of GOLDEN_COLUMNS as a golden graph, without its edges. */
static void
golden_of(sqlite3_stmt *st, bool with_graph, struct history_golden *g)
{
	*g = (struct history_golden){
		.stage = text_of(st, 0),
		.version = (uint32_t)sqlite3_column_int64(st, 1),
		.origin = text_of(st, 2),
		.label = text_of(st, 3),
		.release = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : text_of(st, 4),
		.at = sqlite3_column_double(st, 5),
		.edges = (uint32_t)sqlite3_column_int64(st, 6),
		.flows = (uint64_t)sqlite3_column_int64(st, 7),
		.truncated = (uint32_t)sqlite3_column_int64(st, 8),
		.from_ms = (uint64_t)sqlite3_column_int64(st, 9),
		.taken_ms = (uint64_t)sqlite3_column_int64(st, 10),
	};
	if (with_graph && sqlite3_column_type(st, 11) != SQLITE_NULL) {
		g->legacy = sqlite3_column_blob(st, 11);
		g->legacy_len = (size_t)sqlite3_column_bytes(st, 11);
	}
}

int
history_golden_each(struct history *h, const char *stage, uint32_t version,
		    unsigned int newest, bool with_graph, history_golden_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	if (history_flush(h) < 0)
		return -1;
	/* The newest rows, given oldest first. */
	if (sqlite3_prepare_v2(history_db(h), "SELECT * FROM (SELECT " GOLDEN_COLUMNS " FROM "
			       "golden_graphs WHERE (?1 IS NULL OR stage = ?1) AND (?2 = 0 OR "
			       "version = ?2) ORDER BY id DESC LIMIT ?3) ORDER BY id", -1, &st,
			       NULL) != SQLITE_OK)
		return history_fail(h, "reading golden graphs");
	if (stage)
		sqlite3_bind_text(st, 1, stage, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_int64(st, 3, newest ? (sqlite3_int64)newest : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_golden g;
		struct history_golden_edge *e = NULL;
		int stop;

		golden_of(st, with_graph, &g);
		if (with_graph && g.legacy == NULL &&
		    read_edges(h, sqlite3_column_int64(st, 12), g.edges, &e, &g.edges) < 0) {
			sqlite3_finalize(st);
			return -1;
		}
		g.e = e;
		n++;
		stop = fn(&g, ctx);
		free(e);
		if (stop != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return history_fail(h, "reading golden graphs");
	return n;
}

/* Golden graph @p id converted into @p conv: its edges in, the blob out. */
static int
replace_legacy(struct history *h, int64_t id, const struct history_golden *conv)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(history_db(h), "UPDATE golden_graphs SET edges = ?, flows = ?, "
			       "truncated = ?, from_ms = ?, taken_ms = ?, legacy = NULL WHERE "
			       "id = ?", -1, &st, NULL) != SQLITE_OK)
		return history_fail(h, "converting a golden graph");
	sqlite3_bind_int64(st, 1, conv->edges);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)conv->flows);
	sqlite3_bind_int64(st, 3, conv->truncated);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)conv->from_ms);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)conv->taken_ms);
	sqlite3_bind_int64(st, 6, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return history_fail(h, "converting a golden graph");
	return put_edges(h, id, conv->e, conv->edges);
}

/* Convert (or drop) legacy golden graph @p id, committed alone. @return
 * 1 converted, 0 dropped, -1 error. */
static int
upgrade_one(struct history *h, int64_t id, history_golden_legacy_fn fn, void *ctx)
{
	struct history_golden old, conv = { 0 };
	sqlite3_stmt *st;
	int rc, done;

	if (sqlite3_prepare_v2(history_db(h), "SELECT " GOLDEN_COLUMNS " FROM golden_graphs "
			       "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return history_fail(h, "reading a golden graph to convert");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return history_fail(h, "reading a golden graph to convert");
	}
	golden_of(st, true, &old);
	rc = fn(&old, &conv, ctx);
	done = rc == 0 && (conv.e != NULL || conv.edges == 0);
	/* The row is read: the statement goes before the write. */
	sqlite3_finalize(st);
	if (rc < -1)
		return history_refuse(h, "history: converting the golden graphs stopped: "
				      "out of memory");
	if (exec(h, "SAVEPOINT golden", "converting a golden graph") < 0)
		return -1;
	if (done) {
		rc = replace_legacy(h, id, &conv);
	} else {
		char sql[80];

		snprintf(sql, sizeof(sql), "DELETE FROM golden_graphs WHERE id = %lld",
			 (long long)id);
		rc = exec(h, sql, "dropping a golden graph");
	}
	if (rc < 0) {
		sqlite3_exec(history_db(h), "ROLLBACK TO golden; RELEASE golden", NULL, NULL,
			     NULL);
		return -1;
	}
	return exec(h, "RELEASE golden", "converting a golden graph") < 0 ? -1 : done;
}

int
history_golden_upgrade(struct history *h, history_golden_legacy_fn fn, void *ctx,
		       unsigned int *converted, unsigned int *dropped)
{
	sqlite3_stmt *st;
	int rc;

	*converted = *dropped = 0;
	if (history_flush(h) < 0)
		return -1;
	/* One at a time, each found again: no read stays open across a write. */
	for (;;) {
		int64_t id;

		if (sqlite3_prepare_v2(history_db(h), "SELECT id FROM golden_graphs WHERE "
				       "legacy IS NOT NULL ORDER BY id LIMIT 1", -1, &st,
				       NULL) != SQLITE_OK)
			return history_fail(h, "finding golden graphs to convert");
		rc = sqlite3_step(st);
		id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE)
			return 0;
		if (rc != SQLITE_ROW)
			return history_fail(h, "finding golden graphs to convert");
		rc = upgrade_one(h, id, fn, ctx);
		if (rc < 0)
			return -1;
		if (rc)
			(*converted)++;
		else
			(*dropped)++;
	}
}
