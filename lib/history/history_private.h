/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside lib/history: what history_golden.c needs of history.c.
 */
#ifndef UMBRA_HISTORY_PRIVATE_H
#define UMBRA_HISTORY_PRIVATE_H

#include <sqlite3.h>

#include "history.h"

/** The open database of @p h. */
struct sqlite3 *history_db(struct history *h);

/** Keep "history: @p what: <SQLite's message>" as the last error. @return -1. */
int history_fail(struct history *h, const char *what);

/** Keep @p msg as the last error. @return -1. */
int history_refuse(struct history *h, const char *msg);

#endif /* UMBRA_HISTORY_PRIVATE_H */
