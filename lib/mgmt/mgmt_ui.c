/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dashboard's files (/ui) and its Server-Sent Events stream (/events);
 * see mgmt_ui.h. mgmt_http.c has already applied the request rules.
 *
 * A stream is an evhttp chunked reply that never ends. Its connection is
 * marked as a stream in mgmt_http.c's table (not cut for want of a
 * request), its read timeout is lifted and a write timeout set. When the
 * peer goes away, or is cut here (shutdown(), evhttp then reads EOF),
 * evhttp detaches the unfinished request from the connection and frees
 * the connection; its close callback removes the client and frees the
 * request (evhttp_send_reply_end() of a detached request frees it).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mgmt_private.h"

/** Topic names are command names: at most this long. */
#define TOPIC_NAME_MAX 64

/* Only this server's scripts and styles (and inline style attributes the
 * graph library sets), no framing: the rollback button cannot be
 * clickjacked. */
#define UI_CSP "default-src 'self'; script-src 'self'; style-src 'self' " \
	"'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

struct ev_topic {
	char cmd[TOPIC_NAME_MAX];
	char *line;                     /**< the request mgmt_dispatch() takes */
	unsigned int every_ms;
	uint64_t next_ms;               /**< due again */
	char *text;                     /**< latest answer, one line; NULL: none yet */
	size_t len;
	uint64_t seq;                   /**< event number of the latest change */
};

/* One refresh's events, shared by reference by every client's buffer. */
struct ev_blob {
	unsigned int refs;
	size_t len;
	char data[];
};

struct ev_client {
	struct mgmt_events *e;
	struct evhttp_request *req;
	struct bufferevent *bev;
	bool cut;
	struct ev_client *prev, *next;
};

struct mgmt_events {
	struct mgmt *m;
	struct ev_topic topics[MGMT_EVENTS_TOPICS_MAX];
	unsigned int n_topics;
	uint64_t boot;                  /**< this run, in ids: <boot>-<seq> */
	uint64_t seq;
	uint64_t last_refresh_ms, last_send_ms;
	bool refreshed;
	struct event *timer;
	struct ev_client *clients;
	struct mgmt_events_stats st;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- /ui ---------------------------------------------------------------- */

void
mgmt_ui_set_assets(struct mgmt *m, const struct mgmt_ui_asset *assets, size_t n)
{
	m->assets = assets;
	m->n_assets = n;
}

void
mgmt_ui_serve(struct mgmt *m, struct evhttp_request *req, const char *asset)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out;

	for (size_t i = 0; i < m->n_assets; i++) {
		const struct mgmt_ui_asset *a = &m->assets[i];

		if (strcmp(a->path, asset) != 0)
			continue;
		out = evbuffer_new();
		evhttp_add_header(h, "Content-Type", a->type);
		evhttp_add_header(h, "Cache-Control", "no-cache");
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(h, "X-Frame-Options", "DENY");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
		evhttp_add_header(h, "Content-Security-Policy", UI_CSP);
		/* Compiled in, never freed: no copy. */
		if (out != NULL)
			evbuffer_add_reference(out, a->data, a->len, NULL, NULL);
		evhttp_send_reply(req, 200, "OK", out);
		if (out != NULL)
			evbuffer_free(out);
		return;
	}
	out = evbuffer_new();
	evhttp_add_header(h, "Content-Type", "text/plain");
	if (out != NULL)
		evbuffer_add_printf(out, "%s\n", m->n_assets ? "no such file under /ui" :
				    "this umbra was built without the dashboard");
	evhttp_send_reply(req, 404, "Not Found", out);
	if (out != NULL)
		evbuffer_free(out);
}

/* ---- /events ------------------------------------------------------------- */

static struct mgmt_events *
events_get(struct mgmt *m)
{
	struct mgmt_events *e = m->events;

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->m = m;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		e->boot = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	m->events = e;
	return e;
}

int
mgmt_events_add_topic(struct mgmt *m, const char *cmd, const char *args_json,
		      unsigned int every_s)
{
	struct mgmt_events *e = events_get(m);
	struct ev_topic *t;
	json_t *args = NULL, *req;

	if (e == NULL || e->n_topics == MGMT_EVENTS_TOPICS_MAX ||
	    strlen(cmd) >= TOPIC_NAME_MAX)
		return -1;
	for (unsigned int i = 0; i < e->n_topics; i++)
		if (strcmp(e->topics[i].cmd, cmd) == 0)
			return -1;
	if (args_json != NULL && (args = json_loads(args_json, 0, NULL)) == NULL)
		return -1;
	req = json_pack("{s:i,s:s,s:o}", "id", 0, "cmd", cmd,
			"args", args ? args : json_object());
	t = &e->topics[e->n_topics];
	*t = (struct ev_topic){ .every_ms = (every_s ? every_s : 1) * 1000 };
	snprintf(t->cmd, sizeof(t->cmd), "%s", cmd);
	t->line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (t->line == NULL)
		return -1;
	e->n_topics++;
	return 0;
}

void
mgmt_events_stats(const struct mgmt *m, struct mgmt_events_stats *s)
{
	if (m->events == NULL) {
		memset(s, 0, sizeof(*s));
		return;
	}
	*s = m->events->st;
}

static void
blob_unref(const void *data, size_t len, void *arg)
{
	struct ev_blob *b = arg;

	(void)data;
	(void)len;
	if (--b->refs == 0)
		free(b);
}

static void
client_cut(struct ev_client *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (!c->cut && fd >= 0)
		shutdown(fd, SHUT_RDWR); /* evhttp reads EOF and frees the connection */
	c->cut = true;
}

/* Queue @p len bytes at @p data (inside @p b, or copied when @p b is NULL). */
static void
client_send(struct ev_client *c, struct ev_blob *b, const char *data, size_t len)
{
	struct evbuffer *buf;

	if (c->cut || len == 0)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) + len >
	    MGMT_EVENTS_OUT_MAX) {
		c->e->st.cut_slow++;
		client_cut(c);
		return;
	}
	buf = evbuffer_new();
	if (buf == NULL)
		return;
	if (b != NULL) {
		b->refs++;
		if (evbuffer_add_reference(buf, data, len, blob_unref, b) < 0)
			b->refs--;
	} else {
		evbuffer_add(buf, data, len);
	}
	evhttp_send_reply_chunk(c->req, buf);
	evbuffer_free(buf);
}

/* Append topic @p t's event to @p out. */
static void
event_format(const struct mgmt_events *e, const struct ev_topic *t, struct evbuffer *out)
{
	evbuffer_add_printf(out, "id: %" PRIx64 "-%" PRIu64 "\nevent: %s\ndata: ", e->boot,
			    t->seq, t->cmd);
	evbuffer_add(out, t->text, t->len);
	evbuffer_add(out, "\n\n", 2);
}

/* Send what @p out holds to every client, one shared copy. */
static void
broadcast(struct mgmt_events *e, struct evbuffer *out)
{
	size_t len = evbuffer_get_length(out);
	struct ev_blob *b;

	if (len == 0 || e->clients == NULL)
		return;
	b = malloc(sizeof(*b) + len);
	if (b == NULL)
		return;
	b->refs = 1;
	b->len = len;
	evbuffer_remove(out, b->data, len);
	for (struct ev_client *c = e->clients; c != NULL; c = c->next)
		client_send(c, b, b->data, len);
	e->last_send_ms = mgmt_now_ms();
	blob_unref(NULL, 0, b);
}

/* Run the topics that are due; send those whose answer changed. */
static void
refresh(struct mgmt_events *e, bool all)
{
	uint64_t t0 = mono_ns(), now = mgmt_now_ms();
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		return;
	for (unsigned int i = 0; i < e->n_topics; i++) {
		struct ev_topic *t = &e->topics[i];
		json_t *resp, *err;
		char *text;

		if (!all && now < t->next_ms)
			continue;
		t->next_ms = now + t->every_ms;
		resp = mgmt_dispatch(e->m, t->line, strlen(t->line));
		err = json_object_get(resp, "error");
		if (err != NULL && json_is_string(json_object_get(err, "code")) &&
		    strcmp(json_string_value(json_object_get(err, "code")),
			   MGMT_E_UNKNOWN) == 0) {
			/* Not registered (yet): no topic. */
			json_decref(resp);
			continue;
		}
		text = json_dumps(resp, JSON_COMPACT);
		json_decref(resp);
		if (text == NULL)
			continue;
		if (t->text != NULL && strcmp(t->text, text) == 0) {
			free(text);
			continue;
		}
		free(t->text);
		t->text = text;
		t->len = strlen(text);
		t->seq = ++e->seq;
		e->st.events++;
		event_format(e, t, out);
	}
	if (evbuffer_get_length(out) == 0 &&
	    now - e->last_send_ms >= MGMT_EVENTS_KEEPALIVE_S * 1000ULL)
		evbuffer_add(out, ": keepalive\n\n", 13);
	broadcast(e, out);
	evbuffer_free(out);
	e->last_refresh_ms = now;
	e->refreshed = true;
	e->st.refresh_ns += mono_ns() - t0;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mgmt_events *e = arg;

	(void)fd;
	(void)what;
	if (e->clients == NULL) {
		event_del(e->timer); /* nothing runs without a client */
		return;
	}
	refresh(e, false);
}

static void
on_client_close(struct evhttp_connection *evcon, void *arg)
{
	struct ev_client *c = arg;
	struct mgmt_events *e = c->e;
	uint64_t t0 = mono_ns();

	(void)evcon;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	e->st.clients--;
	/* Detached by evhttp (the peer left): ours to free. Still attached
	 * (the server is being freed): evhttp frees it next. */
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_send_reply_end(c->req);
	free(c);
	e->st.refresh_ns += mono_ns() - t0;
}

/* "<boot hex>-<seq>" of this run: the seq; else 0 (send everything). */
static uint64_t
last_seen(const struct mgmt_events *e, const char *id)
{
	unsigned long long boot, seq;
	char tail;

	if (id == NULL || sscanf(id, "%llx-%llu%c", &boot, &seq, &tail) != 2 ||
	    boot != e->boot || seq > e->seq)
		return 0;
	return seq;
}

static void
refuse(struct evhttp_request *req, int status, const char *reason, const char *code,
       const char *message)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (status == 503)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
				  "5");
	if (out != NULL)
		evbuffer_add_printf(out, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"%s\","
				    "\"message\":\"%s\"}}\n", code, message);
	evhttp_send_reply(req, status, reason, out);
	if (out != NULL)
		evbuffer_free(out);
}

void
mgmt_events_serve(struct mgmt *m, struct evhttp_request *req)
{
	static const char hello[] = "retry: 2000\n\n";
	struct mgmt_events *e = events_get(m);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const struct timeval wr = { MGMT_EVENTS_WRITE_TIMEOUT_S, 0 };
	const struct timeval period = { MGMT_EVENTS_PERIOD_MS / 1000,
		(MGMT_EVENTS_PERIOD_MS % 1000) * 1000 };
	struct ev_client *c;
	struct evbuffer *out;
	uint64_t seen, t0 = mono_ns();

	if (e == NULL || evcon == NULL) {
		refuse(req, 500, "Internal Server Error", MGMT_E_FAILED, "out of memory");
		return;
	}
	if (e->st.clients >= MGMT_EVENTS_MAX_CLIENTS) {
		e->st.refused_full++;
		refuse(req, 503, "Service Unavailable", MGMT_E_CLIENTS,
		       "too many /events clients");
		return;
	}
	if (e->timer == NULL &&
	    (e->timer = event_new(m->base, -1, EV_PERSIST, on_timer, e)) == NULL) {
		refuse(req, 500, "Internal Server Error", MGMT_E_FAILED, "out of memory");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		refuse(req, 500, "Internal Server Error", MGMT_E_FAILED, "out of memory");
		return;
	}
	/* The latest state, at most a period old, before the snapshot. */
	if (!e->refreshed || mgmt_now_ms() - e->last_refresh_ms >= MGMT_EVENTS_PERIOD_MS)
		refresh(e, !e->refreshed || e->clients == NULL);
	seen = last_seen(e, evhttp_find_header(evhttp_request_get_input_headers(req),
					       "Last-Event-ID"));
	*c = (struct ev_client){ .e = e, .req = req,
		.bev = evhttp_connection_get_bufferevent(evcon), .next = e->clients };
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply_start(req, 200, "OK");
	/* No read timeout (the client says nothing more); a write timeout. */
	bufferevent_set_timeouts(c->bev, NULL, &wr);
	mgmt_http_conn_stream(m->http, req);
	evhttp_connection_set_closecb(evcon, on_client_close, c);
	if (e->clients != NULL)
		e->clients->prev = c;
	e->clients = c;
	e->st.clients++;
	e->st.accepted++;
	out = evbuffer_new();
	if (out != NULL) {
		evbuffer_add(out, hello, sizeof(hello) - 1);
		for (unsigned int i = 0; i < e->n_topics; i++)
			if (e->topics[i].text != NULL && e->topics[i].seq > seen)
				event_format(e, &e->topics[i], out);
		client_send(c, NULL, (const char *)evbuffer_pullup(out, -1),
			    evbuffer_get_length(out));
		evbuffer_free(out);
	}
	if (!event_pending(e->timer, EV_TIMEOUT, NULL))
		event_add(e->timer, &period);
	e->st.refresh_ns += mono_ns() - t0;
}

void
mgmt_events_free(struct mgmt_events *e)
{
	if (e == NULL)
		return;
	/* The HTTP server, freed first, closed every stream. */
	while (e->clients != NULL) {
		struct ev_client *c = e->clients;

		e->clients = c->next;
		free(c);
	}
	if (e->timer != NULL)
		event_free(e->timer);
	for (unsigned int i = 0; i < e->n_topics; i++) {
		free(e->topics[i].line);
		free(e->topics[i].text);
	}
	free(e);
}
