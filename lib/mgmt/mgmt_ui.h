/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The operator dashboard on the HTTP front (mgmt_ui.c): its static files
 * under /ui, compiled into the binary, and /events, one Server-Sent Events
 * stream carrying the answers of chosen commands ("topics").
 *
 * /ui and its files are public (they hold no data) and are sent with a
 * Content-Security-Policy that allows only this server's own scripts, and
 * frame-ancestors 'none'. /events needs the API's bearer token, as a header
 * or as ?token= (mgmt_http_req.h).
 *
 * /events: once a second (MGMT_EVENTS_PERIOD_MS) each topic whose period
 * is due is run through mgmt_dispatch() (the same handler and the same
 * JSON as the socket and /api/v1), and a topic whose answer changed is
 * sent to every client as
 *
 *     id: <boot>-<seq>
 *     event: <command>
 *     data: <the dispatch response, one line of JSON>
 *
 * A topic whose command is not registered is skipped, so a command
 * registered later appears by itself. Nothing is run while no client is
 * connected. A new client gets "retry:" and the latest answer of every
 * topic at once; with a Last-Event-ID of this run (the same <boot>) only
 * the topics that changed after it. Clients are capped
 * (MGMT_EVENTS_MAX_CLIENTS, then 503); one whose unsent output passes
 * MGMT_EVENTS_OUT_MAX, or that takes nothing for
 * MGMT_EVENTS_WRITE_TIMEOUT_S while output waits, is cut: the loop never
 * waits for a client. Each event is built once and shared by reference
 * between the clients' buffers.
 */
#ifndef UMBRA_MGMT_UI_H
#define UMBRA_MGMT_UI_H

#include <stddef.h>
#include <stdint.h>

#include "mgmt.h"

/** /events clients at once; past it a new one is answered 503. */
#define MGMT_EVENTS_MAX_CLIENTS 64
/** Bytes waiting to be sent to one client before it is cut. */
#define MGMT_EVENTS_OUT_MAX (1024 * 1024)
/** A client that takes no byte of waiting output this long is cut. */
#define MGMT_EVENTS_WRITE_TIMEOUT_S 10
/** Topics at most. */
#define MGMT_EVENTS_TOPICS_MAX 16
/** How often topics are looked at. */
#define MGMT_EVENTS_PERIOD_MS 1000
/** A comment line is sent after this long without an event. */
#define MGMT_EVENTS_KEEPALIVE_S 15

/** One file of the dashboard, compiled into the binary (ui/embed.py). */
struct mgmt_ui_asset {
	const char *path;               /**< under /ui/: "index.html", "js/app.js" */
	const char *type;               /**< its Content-Type */
	const unsigned char *data;
	size_t len;
};

/**
 * Serve @p n files of @p assets under /ui/ ("/ui" and "/ui/" are
 * "index.html"). The table is kept by reference: keep it static.
 */
void mgmt_ui_set_assets(struct mgmt *m, const struct mgmt_ui_asset *assets, size_t n);

/**
 * Add command @p cmd, run with the arguments @p args_json (a JSON object as
 * text, NULL for none), as a topic of /events, looked at every
 * @p every_s seconds (0: 1).
 * @return 0, or -1 when MGMT_EVENTS_TOPICS_MAX are taken, the name is
 * taken, or out of memory.
 */
int mgmt_events_add_topic(struct mgmt *m, const char *cmd, const char *args_json,
			  unsigned int every_s);

/** Counters of /events. */
struct mgmt_events_stats {
	unsigned int clients;           /**< connected now */
	uint64_t accepted;              /**< streams started */
	uint64_t refused_full;          /**< answered 503 at the cap */
	uint64_t cut_slow;              /**< cut: output over MGMT_EVENTS_OUT_MAX */
	uint64_t events;                /**< events built (each sent to every client) */
	uint64_t refresh_ns;            /**< time spent running topics and sending */
};

/** Fill @p s with the counters of /events (zeros before any client). */
void mgmt_events_stats(const struct mgmt *m, struct mgmt_events_stats *s);

#endif
