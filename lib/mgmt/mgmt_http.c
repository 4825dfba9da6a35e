/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTP front of the command registry (libevent evhttp):
 *   POST /api/v1/<command>       JSON body = the command's args; the answer
 *                                is the socket protocol's response object
 *   POST <prefix>{id}<infix>{action}  a family of paths a module registered
 *                                (mgmt_http_add_route()): <cmd_prefix>{action}
 *                                with <arg>={id}
 *   GET /metrics                 Prometheus text from the metrics callback
 *   GET /ui/..., GET /events     the dashboard and its stream (mgmt_ui.c)
 * What a request may do is decided by mgmt_http_decide() (mgmt_http_req.c);
 * this file is the I/O: the token file, the limits, the connections.
 *
 * Connections: libevent 2.1 has no connection cap and its timeout is an
 * idle one (a client trickling a byte a second never trips it). Each
 * connection's bufferevent is made here (evhttp_set_bevcb) and kept with
 * one extra reference, so this file knows every connection: past
 * MGMT_HTTP_MAX_CONNS the oldest without a whole request is cut, and one
 * that has not delivered a request MGMT_HTTP_REQUEST_S after it was
 * accepted (or after its last request) is cut too. Cutting is a
 * shutdown() of the socket: evhttp reads EOF and frees the connection
 * itself. A bufferevent that evhttp has freed has no callbacks left; the
 * sweep then drops our reference, which closes the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mgmt_http_req.h"
#include "mgmt_private.h"

/** How often slow connections and freed ones are looked for. */
#define SWEEP_MS 500
/** Read no further ahead of evhttp than this (bounds a dying connection). */
#define READ_HIGH_WM (2 * MGMT_LINE_MAX)

/** One accepted connection, by the bufferevent made for it. */
struct http_conn {
	struct bufferevent *bev;        /**< holds one reference of ours */
	uint64_t since_ms;              /**< accepted, or last request arrived */
	bool cut;                       /**< shut down; evhttp will free it */
	bool stream;                    /**< an /events stream: mgmt_ui.c bounds it */
};

struct mgmt_http {
	struct mgmt *m;
	struct evhttp *http;
	struct event *sweep;
	char token[MGMT_HTTP_TOKEN_MAX + 1];
	char addr[64];
	char host_names[MGMT_HTTP_HOSTS_MAX][256];
	const char *hosts[MGMT_HTTP_HOSTS_MAX];
	struct mgmt_http_policy policy;
	mgmt_metrics_fn metrics;
	void *metrics_ctx;
	struct http_conn *conns;        /**< live and cut, until evhttp frees them */
	unsigned int n_conns, cap_conns;
	uint64_t cut_slow, cut_full;    /**< connections cut, by reason */
};

static void
conn_cut(struct http_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (!c->cut && fd >= 0)
		shutdown(fd, SHUT_RDWR);
	c->cut = true;
}

/* Let go of connections evhttp has freed; cut those too slow. */
static void
conns_sweep(struct mgmt_http *h, uint64_t now)
{
	unsigned int i = 0;

	while (i < h->n_conns) {
		struct http_conn *c = &h->conns[i];
		bufferevent_event_cb ecb;
		void *arg;

		bufferevent_getcb(c->bev, NULL, NULL, &ecb, &arg);
		if (ecb == NULL && arg == NULL) {
			bufferevent_decref(c->bev); /* the last reference: closes it */
			*c = h->conns[--h->n_conns];
			continue;
		}
		if (!c->cut && !c->stream &&
		    now - c->since_ms > MGMT_HTTP_REQUEST_S * 1000ULL) {
			conn_cut(c);
			h->cut_slow++;
		}
		i++;
	}
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conns_sweep(arg, mgmt_now_ms());
}

/* At the cap, cut the live connection that has waited longest for a request. */
static void
conns_make_room(struct mgmt_http *h)
{
	struct http_conn *oldest = NULL;
	unsigned int live = 0;

	for (unsigned int i = 0; i < h->n_conns; i++) {
		struct http_conn *c = &h->conns[i];

		if (c->cut || c->stream)
			continue;
		live++;
		if (oldest == NULL || c->since_ms < oldest->since_ms)
			oldest = c;
	}
	if (live >= MGMT_HTTP_MAX_CONNS && oldest != NULL) {
		conn_cut(oldest);
		h->cut_full++;
	}
}

/* evhttp asks for each new connection's bufferevent: make and track it. */
static struct bufferevent *
on_new_conn(struct event_base *base, void *arg)
{
	struct mgmt_http *h = arg;
	uint64_t now = mgmt_now_ms();
	struct bufferevent *bev;

	conns_sweep(h, now);
	conns_make_room(h);
	if (h->n_conns == h->cap_conns) {
		unsigned int cap = h->cap_conns ? 2 * h->cap_conns : 2 * MGMT_HTTP_MAX_CONNS;
		struct http_conn *c = realloc(h->conns, cap * sizeof(*c));

		if (c == NULL)
			return NULL; /* evhttp makes an untracked one */
		h->conns = c;
		h->cap_conns = cap;
	}
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	bufferevent_incref(bev);
	bufferevent_setwatermark(bev, EV_READ, 0, READ_HIGH_WM);
	h->conns[h->n_conns++] = (struct http_conn){ .bev = bev, .since_ms = now };
	return bev;
}

/* A whole request arrived on @p req's connection: its clock starts again. */
static void
conn_request_seen(struct mgmt_http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (unsigned int i = 0; bev != NULL && i < h->n_conns; i++)
		if (h->conns[i].bev == bev)
			h->conns[i].since_ms = mgmt_now_ms();
}

void
mgmt_http_conn_stream(struct mgmt_http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (unsigned int i = 0; h != NULL && bev != NULL && i < h->n_conns; i++)
		if (h->conns[i].bev == bev)
			h->conns[i].stream = true;
}

static void
reply_json(struct evhttp_request *req, int status, const char *reason, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(body, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (text != NULL && out != NULL) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	free(text);
	evhttp_send_reply(req, status, reason, out);
	if (out != NULL)
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

/* HTTP status for a protocol error code. */
static int
http_status(const char *code, const char **reason)
{
	if (code != NULL && strcmp(code, MGMT_E_UNKNOWN) == 0) {
		*reason = "Not Found";
		return 404;
	}
	if (code != NULL && strcmp(code, MGMT_E_FAILED) == 0) {
		*reason = "Unprocessable Entity";
		return 422;
	}
	*reason = "Bad Request";
	return 400;
}

/* Run @p v's command with the JSON body as its args. */
static void
on_command(struct mgmt *m, struct evhttp_request *req, const struct mgmt_http_verdict *v)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *args = NULL, *request, *resp, *err;
	const char *reason = "OK";
	json_error_t jerr;
	char *line;
	int status = 200;

	if (len > MGMT_LINE_MAX) { /* evhttp's limit says so first */
		reply_error(req, 413, "Payload Too Large", MGMT_E_LINE,
			    "request body longer than 65536 bytes");
		return;
	}
	if (len > 0) {
		args = json_loadb((const char *)evbuffer_pullup(in, -1), len,
				  JSON_REJECT_DUPLICATES, &jerr);
		if (args == NULL) {
			reply_error(req, 400, "Bad Request", MGMT_E_PARSE, jerr.text);
			return;
		}
	}
	if (args == NULL)
		args = json_object();
	if (v->arg_name != NULL && json_is_object(args))
		json_object_set_new(args, v->arg_name, json_string(v->arg));
	request = json_pack("{s:i,s:s,s:o}", "id", 0, "cmd", v->cmd, "args", args);
	line = request ? json_dumps(request, JSON_COMPACT) : NULL;
	json_decref(request);
	if (line == NULL) {
		reply_error(req, 500, "Internal Server Error", MGMT_E_FAILED, "out of memory");
		return;
	}
	resp = mgmt_dispatch(m, line, strlen(line));
	free(line);
	err = json_object_get(resp, "error");
	if (err != NULL)
		status = http_status(json_string_value(json_object_get(err, "code")), &reason);
	reply_json(req, status, reason, resp);
}

static void
on_metrics(struct mgmt_http *h, struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();
	char *text = h->metrics ? h->metrics(h->metrics_ctx) : NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	if (text != NULL && out != NULL)
		evbuffer_add(out, text, strlen(text));
	free(text);
	evhttp_send_reply(req, 200, "OK", out);
	if (out != NULL)
		evbuffer_free(out);
}

static const char *
method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "";
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct mgmt_http *h = arg;
	struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	struct mgmt_http_verdict v;
	const struct mgmt_http_req r = {
		.method = method_name(evhttp_request_get_command(req)),
		.uri = evhttp_request_get_uri(req),
		.host = evhttp_find_header(hdr, "Host"),
		.origin = evhttp_find_header(hdr, "Origin"),
		.content_type = evhttp_find_header(hdr, "Content-Type"),
		.authorization = evhttp_find_header(hdr, "Authorization"),
	};

	conn_request_seen(h, req);
	/* Path families may be registered after the server started. */
	h->policy.paths = h->m->paths;
	h->policy.n_paths = h->m->n_paths;
	mgmt_http_decide(&h->policy, &r, &v);
	switch (v.route) {
	case MGMT_HTTP_METRICS:
		on_metrics(h, req);
		return;
	case MGMT_HTTP_COMMAND:
		on_command(h->m, req, &v);
		return;
	case MGMT_HTTP_UI:
		mgmt_ui_serve(h->m, req, v.asset);
		return;
	case MGMT_HTTP_EVENTS:
		mgmt_events_serve(h->m, req);
		return;
	case MGMT_HTTP_REFUSE:
		break;
	}
	if (v.allow != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", v.allow);
	if (v.challenge)
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer");
	reply_error(req, v.status, v.reason, v.code, v.message);
}

/*
 * The token: the whole file, trailing whitespace trimmed, printable and
 * without blanks. The file must be a regular file that other users cannot
 * read or write (it is a password).
 */
static int
read_token(const char *path, char *tok, size_t size, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	ssize_t n = 0, r;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open the token file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: the token file must be a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "%s: the token file is open to every user: "
			 "chmod o-rw %s", path, path);
		goto fail;
	}
	while ((size_t)n < size && (r = read(fd, tok + n, size - (size_t)n)) > 0)
		n += r;
	close(fd);
	if ((size_t)n >= size) {
		snprintf(err, errlen, "%s: the token is longer than %zu bytes", path,
			 size - 1);
		return -1;
	}
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' ||
			 tok[n - 1] == '\t'))
		n--;
	tok[n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "%s: the token file is empty", path);
		return -1;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (tok[i] <= ' ' || tok[i] > '~') {
			snprintf(err, errlen, "%s: the token must be one word of printable "
				 "ASCII", path);
			return -1;
		}
	}
	return 0;
fail:
	close(fd);
	return -1;
}

void
mgmt_http_free(struct mgmt_http *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http); /* frees every connection's bufferevent */
	for (unsigned int i = 0; i < h->n_conns; i++)
		bufferevent_decref(h->conns[i].bev);
	if (h->sweep != NULL)
		event_free(h->sweep);
	free(h->conns);
	free(h);
}

static int
http_setup(struct mgmt_http *h, const struct mgmt_http_conf *c, char *err,
	   size_t errlen)
{
	const struct timeval sweep = { 0, SWEEP_MS * 1000 };

	if (c->n_hosts > MGMT_HTTP_HOSTS_MAX) {
		snprintf(err, errlen, "at most %d --http-allowed-host names",
			 MGMT_HTTP_HOSTS_MAX);
		return -1;
	}
	if (c->token_file != NULL &&
	    read_token(c->token_file, h->token, sizeof(h->token), err, errlen) < 0)
		return -1;
	snprintf(h->addr, sizeof(h->addr), "%s", c->addr);
	for (unsigned int i = 0; i < c->n_hosts; i++) {
		snprintf(h->host_names[i], sizeof(h->host_names[i]), "%s", c->hosts[i]);
		h->hosts[i] = h->host_names[i];
	}
	h->policy = (struct mgmt_http_policy){ .token = h->token, .listen_addr = h->addr,
		.port = c->port, .hosts = h->hosts, .n_hosts = c->n_hosts };
	h->metrics = c->metrics;
	h->metrics_ctx = c->ctx;
	h->http = evhttp_new(h->m->base);
	h->sweep = event_new(h->m->base, -1, EV_PERSIST, on_sweep, h);
	if (h->http == NULL || h->sweep == NULL || event_add(h->sweep, &sweep) < 0) {
		snprintf(err, errlen, "cannot create the HTTP server");
		return -1;
	}
	evhttp_set_max_headers_size(h->http, MGMT_HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->http, MGMT_LINE_MAX);
	evhttp_set_timeout(h->http, MGMT_PARTIAL_TIMEOUT_S);
	evhttp_set_bevcb(h->http, on_new_conn, h);
	evhttp_set_gencb(h->http, on_request, h);
	if (evhttp_bind_socket(h->http, c->addr, c->port) != 0) {
		snprintf(err, errlen, "cannot serve HTTP on %s:%u (in use, or not an "
			 "address of this host?)", c->addr, c->port);
		return -1;
	}
	return 0;
}

int
mgmt_http_add_route(struct mgmt *m, const char *prefix, const char *infix,
		    const char *cmd_prefix, const char *arg)
{
	if (m->n_paths >= MGMT_HTTP_ROUTES_MAX || prefix == NULL || prefix[0] != '/' ||
	    infix == NULL || infix[0] != '/' || cmd_prefix == NULL || arg == NULL)
		return -1;
	m->paths[m->n_paths++] = (struct mgmt_http_path){ prefix, infix, cmd_prefix, arg };
	return 0;
}

int
mgmt_http_listen(struct mgmt *m, const struct mgmt_http_conf *c, char *err,
		 size_t errlen)
{
	struct mgmt_http *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->m = m;
	if (http_setup(h, c, err, errlen) < 0) {
		mgmt_http_free(h);
		return -1;
	}
	mgmt_http_free(m->http);
	m->http = h;
	return 0;
}
