/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP front of the command registry (libevent evhttp):
 *   POST|GET /api/v1/<command>   JSON body = the command's args; the answer
 *                                is the socket protocol's response object
 *   GET /metrics                 Prometheus text from the metrics callback
 * A bearer token, when set, guards /api/v1/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mgmt_private.h"

#define API_PREFIX "/api/v1/"

static void
reply_json(struct evhttp_request *req, int status, const char *reason, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(body, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (text != NULL) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
		free(text);
	}
	evhttp_send_reply(req, status, reason, out);
	evbuffer_free(out);
	json_decref(body);
}

static void
reply_error(struct evhttp_request *req, int status, const char *reason,
	    const char *code, const char *message)
{
	reply_json(req, status, reason, json_pack("{s:n,s:b,s:{s:s,s:s}}", "id", "ok", 0,
						  "error", "code", code, "message", message));
}

static bool
authorized(const struct mgmt *m, struct evhttp_request *req)
{
	const char *h;

	if (m->http_token[0] == '\0')
		return true;
	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	return h != NULL && strncmp(h, "Bearer ", 7) == 0 &&
	       strcmp(h + 7, m->http_token) == 0;
}

/* HTTP status for a protocol error code. */
static int
http_status(const char *code, const char **reason)
{
	if (strcmp(code, MGMT_E_UNKNOWN) == 0) {
		*reason = "Not Found";
		return 404;
	}
	if (strcmp(code, MGMT_E_FAILED) == 0) {
		*reason = "Unprocessable Entity";
		return 422;
	}
	*reason = "Bad Request";
	return 400;
}

/* @p network: set as the "network" argument (the /networks/{id}/ routes). */
static void
on_api(struct mgmt *m, struct evhttp_request *req, const char *cmd,
       const char *network)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *args = NULL, *request, *resp, *err;
	const char *reason = "OK";
	json_error_t jerr;
	char *line;
	int status = 200;

	if (!authorized(m, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer");
		reply_error(req, 401, "Unauthorized", "unauthorized",
			    "a valid 'Authorization: Bearer <token>' header is required");
		return;
	}
	if (len > MGMT_LINE_MAX) {
		reply_error(req, 413, "Payload Too Large", MGMT_E_LINE,
			    "request body longer than 65536 bytes");
		return;
	}
	if (len > 0) {
		args = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
		if (args == NULL) {
			reply_error(req, 400, "Bad Request", MGMT_E_PARSE, jerr.text);
			return;
		}
	}
	if (args == NULL)
		args = json_object();
	if (network != NULL && json_is_object(args))
		json_object_set_new(args, "network", json_string(network));
	request = json_pack("{s:i,s:s,s:o}", "id", 0, "cmd", cmd, "args", args);
	line = json_dumps(request, JSON_COMPACT);
	json_decref(request);
	resp = mgmt_dispatch(m, line, strlen(line));
	free(line);
	err = json_object_get(resp, "error");
	if (err != NULL)
		status = http_status(json_string_value(json_object_get(err, "code")), &reason);
	reply_json(req, status, reason, resp);
}

/*
 * /networks/{id}/shadowing/{action}: the shadow/{action} command with
 * network={id} (the stage whose traffic is shadowed).
 */
static bool
on_network_route(struct mgmt *m, struct evhttp_request *req, const char *path)
{
	char network[64], action[32], cmd[48];
	int end = 0;

	if (sscanf(path, "/networks/%63[^/]/shadowing/%31[a-z_]%n", network,
		   action, &end) != 2 || path[end] != '\0')
		return false;
	snprintf(cmd, sizeof(cmd), "shadow/%s", action);
	on_api(m, req, cmd, network);
	return true;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct mgmt *m = arg;
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char path[256];

	snprintf(path, sizeof(path), "%s", uri);
	path[strcspn(path, "?#")] = '\0';
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_POST) {
		reply_error(req, 405, "Method Not Allowed", MGMT_E_REQUEST,
			    "use GET or POST");
		return;
	}
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0) {
		on_api(m, req, path + strlen(API_PREFIX), NULL);
		return;
	}
	if (on_network_route(m, req, path))
		return;
	if (strcmp(path, "/metrics") == 0 && m->metrics != NULL) {
		struct evbuffer *out = evbuffer_new();
		char *text = m->metrics(m->metrics_ctx);

		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
				  "text/plain; version=0.0.4");
		if (text != NULL)
			evbuffer_add(out, text, strlen(text));
		free(text);
		evhttp_send_reply(req, 200, "OK", out);
		evbuffer_free(out);
		return;
	}
	reply_error(req, 404, "Not Found", MGMT_E_UNKNOWN,
		    "no such path: try /api/v1/list-commands or /metrics");
}

int
mgmt_http_listen(struct mgmt *m, const char *addr, uint16_t port, const char *token,
		 mgmt_metrics_fn metrics, void *ctx, char *err, size_t errlen)
{
	m->http = evhttp_new(m->base);
	if (m->http == NULL) {
		snprintf(err, errlen, "cannot create the HTTP server");
		return -1;
	}
	snprintf(m->http_token, sizeof(m->http_token), "%s", token ? token : "");
	m->metrics = metrics;
	m->metrics_ctx = ctx;
	evhttp_set_max_body_size(m->http, MGMT_LINE_MAX + 1);
	evhttp_set_timeout(m->http, MGMT_PARTIAL_TIMEOUT_S);
	evhttp_set_gencb(m->http, on_request, m);
	if (evhttp_bind_socket(m->http, addr, port) != 0) {
		snprintf(err, errlen, "cannot serve HTTP on %s:%u (in use, or not an "
			 "address of this host?)", addr, port);
		return -1;
	}
	return 0;
}
