/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Workflow transitions in SQLite: lib/workflow keeps a recent window in
 * memory and lists older transitions from here (writes: history_wf_put in
 * history.c, in the batch). Reads use the writer's connection, so they
 * see the batch not yet committed.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "history.h"
#include "history_private.h"

int
history_wf_each(struct history *h, const char *service, uint64_t before,
		unsigned int limit, history_wf_fn fn, void *ctx)
{
	static const char sql[] =
		"SELECT id, record FROM workflow_transitions WHERE (?1 IS NULL OR "
		"service = ?1) AND id < ?2 ORDER BY id DESC LIMIT ?3";
	sqlite3_stmt *st;
	int n = 0, rc;

	if (fn == NULL)
		return history_refuse(h, "history: no callback for workflow transitions");
	if (sqlite3_prepare_v2(history_db(h), sql, -1, &st, NULL) != SQLITE_OK)
		return history_fail(h, "listing workflow transitions");
	if (service != NULL)
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, before == 0 || before > INT64_MAX ? INT64_MAX :
			   (sqlite3_int64)before);
	sqlite3_bind_int64(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *rec = (const char *)sqlite3_column_text(st, 1);

		n++;
		if (rec != NULL && fn((uint64_t)sqlite3_column_int64(st, 0), rec, ctx) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		history_fail(h, "listing workflow transitions");
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}

int
history_wf_count(struct history *h, history_wf_count_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(history_db(h), "SELECT status, count(*) FROM "
			       "workflow_transitions GROUP BY status", -1, &st,
			       NULL) != SQLITE_OK)
		return history_fail(h, "counting workflow transitions");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(st, 0),
		   (uint64_t)sqlite3_column_int64(st, 1), ctx);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : history_fail(h, "counting workflow transitions");
}
