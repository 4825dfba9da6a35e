/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden graphs in the history database: one row per stage and version,
 * the graph itself an opaque blob (lib/graph packs it). A save is
 * committed at once, outside the record batch: an operator who saved a
 * golden graph expects it to survive a crash that follows.
 */
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "history_private.h"

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

int
history_golden_save(struct history *h, const struct history_golden *g)
{
	sqlite3_stmt *st;
	int rc;

	if (g->stage == NULL || g->origin == NULL || g->version == 0 || g->data == NULL) {
		return history_refuse(h, "history: a golden graph needs a stage, an origin, "
				      "a version and its graph");
	}
	/* Commit the pending records first: this row is committed alone. */
	if (history_flush(h) < 0)
		return -1;
	if (sqlite3_prepare_v2(history_db(h), "INSERT INTO golden_graphs(stage, version, "
			       "origin, label, release, at, edges, flows, graph) VALUES "
			       "(?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
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
	sqlite3_bind_blob(st, 9, g->data, (int)g->len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : history_fail(h, "saving a golden graph");
}

static const char *
text_of(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

int
history_golden_each(struct history *h, const char *stage, uint32_t version,
		    unsigned int newest, bool with_graph, history_golden_fn fn, void *ctx)
{
	char sql[384];
	sqlite3_stmt *st;
	int n = 0, rc;

	if (history_flush(h) < 0)
		return -1;
	/* The newest rows, given oldest first. */
	snprintf(sql, sizeof(sql), "SELECT * FROM (SELECT stage, version, origin, label, "
		 "release, at, edges, flows, %s, id FROM golden_graphs WHERE (?1 IS NULL OR "
		 "stage = ?1) AND (?2 = 0 OR version = ?2) ORDER BY id DESC LIMIT ?3) "
		 "ORDER BY id", with_graph ? "graph" : "NULL");
	if (sqlite3_prepare_v2(history_db(h), sql, -1, &st, NULL) != SQLITE_OK)
		return history_fail(h, "reading golden graphs");
	if (stage)
		sqlite3_bind_text(st, 1, stage, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_int64(st, 3, newest ? (sqlite3_int64)newest : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_golden g = {
			.stage = text_of(st, 0),
			.version = (uint32_t)sqlite3_column_int64(st, 1),
			.origin = text_of(st, 2),
			.label = text_of(st, 3),
			.release = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL :
				   text_of(st, 4),
			.at = sqlite3_column_double(st, 5),
			.edges = (uint32_t)sqlite3_column_int64(st, 6),
			.flows = (uint64_t)sqlite3_column_int64(st, 7),
			.data = sqlite3_column_blob(st, 8),
			.len = (size_t)sqlite3_column_bytes(st, 8),
		};

		n++;
		if (fn(&g, ctx) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return history_fail(h, "reading golden graphs");
	return n;
}
