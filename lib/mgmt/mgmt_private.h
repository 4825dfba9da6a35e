/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the registry (mgmt_cmd.c) and the socket (mgmt_sock.c). */
#ifndef UMBRA_MGMT_PRIVATE_H
#define UMBRA_MGMT_PRIVATE_H

#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "mgmt.h"

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
	struct mgmt_client *clients;
	unsigned int n_clients;
	uint64_t requests;
	struct evhttp *http;
	char http_token[256];
	mgmt_metrics_fn metrics;
	void *metrics_ctx;
};

#endif
