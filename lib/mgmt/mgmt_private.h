/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the registry (mgmt_cmd.c) and the socket (mgmt_sock.c). */
#ifndef UMBRA_MGMT_PRIVATE_H
#define UMBRA_MGMT_PRIVATE_H

#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "mgmt.h"
#include "mgmt_http_req.h"
#include "mgmt_ui.h"

struct mgmt_command {
	const char *name;
	const char *help;
	const struct mgmt_arg *args;
	mgmt_handler fn;
	void *ctx;
	struct mgmt_command *next;
};

struct mgmt_client {
	struct mgmt *m;
	struct bufferevent *bev;
	bool closing;                   /**< flush the output, then close */
	struct mgmt_client *prev, *next;
};

struct mgmt {
	struct event_base *base;
	char version[32];
	struct mgmt_command *commands;
	struct evconnlistener *listener;
	int listen_fd;
	char path[108];
	gid_t gid;
	unsigned int client_timeout_s;  /**< idle socket clients closed after */
	struct mgmt_client *clients;
	unsigned int n_clients;
	uint64_t requests;
	struct mgmt_http *http;         /**< mgmt_http.c's server, or NULL */
	struct mgmt_http_path paths[MGMT_HTTP_ROUTES_MAX]; /**< mgmt_http_add_route() */
	unsigned int n_paths;
	const struct mgmt_ui_asset *assets; /**< mgmt_ui_set_assets() */
	size_t n_assets;
	struct mgmt_events *events;     /**< mgmt_ui.c's /events, or NULL */
};

/** Stop serving HTTP and free the server (mgmt_http.c); NULL is fine. */
void mgmt_http_free(struct mgmt_http *h);

/** @p req's connection streams (/events): never cut as slow or for room. */
void mgmt_http_conn_stream(struct mgmt_http *h, struct evhttp_request *req);

/** Answer GET /ui/<asset> (mgmt_ui.c). */
void mgmt_ui_serve(struct mgmt *m, struct evhttp_request *req, const char *asset);

/** Start an /events stream on @p req (mgmt_ui.c). */
void mgmt_events_serve(struct mgmt *m, struct evhttp_request *req);

/** Free /events state after the HTTP server is gone; NULL is fine. */
void mgmt_events_free(struct mgmt_events *e);

#endif
