/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the HTTP front (mgmt_http.c) decides about a request before any
 * command runs: route, method, Host and Origin, content type and token.
 * A pure function over a few request fields, so it is tested and fuzzed
 * without a socket (tests/fuzz/fuzz_httpreq.c).
 *
 * Rules, in order (the first that fails answers):
 *  1. a Host header naming this server: the listen address, a loopback
 *     name (localhost, 127.0.0.1, [::1]) or an allowed name, and the listen
 *     port (80 when absent); any IP literal when listening on a wildcard
 *     address. Else 421 (400 without a Host): defeats DNS rebinding.
 *  2. no Origin header, or "http://" + that Host exactly. Else 403: a web
 *     page of another origin never drives the API.
 *  3. a route: GET /metrics; GET or HEAD /ui, /ui/ and /ui/<asset> (the
 *     dashboard's files: public, they hold no data); GET /events (the
 *     Server-Sent Events stream); POST /api/v1/<command>; POST on a path
 *     of a registered family (struct mgmt_http_path, such as the shadow
 *     module's /networks/{id}/shadowing/{action}). A known route with
 *     another method answers 405 (with Allow); anything else 404.
 *  4. commands and /events need a token: none configured 403, missing or
 *     wrong 401 (compared in constant time, mgmt_http_token_equal()).
 *     /events alone also takes it as a query parameter, ?token=<token>
 *     (percent-encoded): a browser's EventSource cannot set headers.
 *  5. commands need "Content-Type: application/json": else 415.
 */
#ifndef UMBRA_MGMT_HTTP_REQ_H
#define UMBRA_MGMT_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mgmt.h"

/** Longest request path (before '?') a route is looked up for. */
#define MGMT_HTTP_PATH_MAX 256
/** Longest command name and network id taken from a path. */
#define MGMT_HTTP_NAME_MAX 64

/** The fields of a request the decision looks at (NULL: header absent). */
struct mgmt_http_req {
	const char *method;             /**< "GET", "POST", ... */
	const char *uri;                /**< request target, as sent */
	const char *host;               /**< Host */
	const char *origin;             /**< Origin */
	const char *content_type;       /**< Content-Type */
	const char *authorization;      /**< Authorization */
};

/**
 * A family of paths that run commands, registered by the module whose
 * commands they are (mgmt_http_add_route()): POST
 * <prefix>{id}<infix>{action} runs command <cmd_prefix>{action} with
 * argument <arg> set to {id}. {id} is letters, digits and "_.-"; {action}
 * lower case letters and "_".
 */
struct mgmt_http_path {
	const char *prefix;             /**< "/networks/" */
	const char *infix;              /**< "/shadowing/" */
	const char *cmd_prefix;         /**< "shadow/" */
	const char *arg;                /**< "network" */
};

/** The server's settings the decision depends on. */
struct mgmt_http_policy {
	const char *token;              /**< NULL or "": /metrics only */
	const char *listen_addr;        /**< as bound: "127.0.0.1", "::", ... */
	uint16_t port;
	const char *const *hosts;       /**< further names Host may carry */
	unsigned int n_hosts;
	const struct mgmt_http_path *paths; /**< registered path families */
	unsigned int n_paths;
};

enum mgmt_http_route {
	MGMT_HTTP_REFUSE,               /**< answer the verdict's error */
	MGMT_HTTP_METRICS,              /**< serve /metrics */
	MGMT_HTTP_COMMAND,              /**< run cmd (with arg_name = arg when set) */
	MGMT_HTTP_UI,                   /**< serve the dashboard's file asset */
	MGMT_HTTP_EVENTS,               /**< start the /events stream */
};

/** The decision: a route to serve, or an error to answer. */
struct mgmt_http_verdict {
	enum mgmt_http_route route;
	int status;                     /**< HTTP status (200 when served) */
	const char *reason;             /**< its reason phrase */
	const char *code;               /**< protocol error code (mgmt.h) */
	const char *message;            /**< one sentence for the caller */
	const char *allow;              /**< Allow header of a 405, else NULL */
	bool challenge;                 /**< add WWW-Authenticate: Bearer */
	char cmd[MGMT_HTTP_NAME_MAX];   /**< command to run */
	const char *arg_name;           /**< a path family's argument, or NULL */
	char arg[MGMT_HTTP_NAME_MAX];   /**< "" or the {id} of its path */
	char asset[MGMT_HTTP_NAME_MAX]; /**< MGMT_HTTP_UI: the file under /ui/ */
};

/**
 * Decide what to do with request @p r under @p p (no I/O, no allocation).
 * @p v is always filled; v->route says whether to serve.
 */
void mgmt_http_decide(const struct mgmt_http_policy *p, const struct mgmt_http_req *r,
		      struct mgmt_http_verdict *v);

/**
 * Compare a presented token with the expected one in time that depends
 * only on the expected token's length.
 * @return true when equal.
 */
bool mgmt_http_token_equal(const char *given, size_t given_len, const char *want,
			   size_t want_len);

#endif
