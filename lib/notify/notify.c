/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Notifications: per-URL bounded FIFOs, one request in flight per URL,
 * retries with exponential backoff on the management loop (libevent's
 * HTTP client and timers).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "notify.h"

struct notification {
	char *topic;
	char *body;
	unsigned int tries;
};

struct target {
	struct notify *owner;
	char host[64];
	uint16_t port;
	char path[256];
	char hostport[80];           /* Host header */
	struct evhttp_connection *conn;
	struct event *retry;         /* backoff timer */
	struct notification *q;      /* ring of queue_max */
	unsigned int head, len;
	bool busy;                   /* a request in flight or a retry pending */
	struct notify_stats st;
};

struct notify {
	struct event_base *base;
	struct notify_conf conf;
	char *bearer;
	struct target t[NOTIFY_URLS_MAX];
	unsigned int n;
};

void
notify_conf_default(struct notify_conf *c)
{
	*c = (struct notify_conf){ .queue_max = 256, .attempts = 5, .timeout_ms = 2000,
				   .backoff_ms = 200 };
}

/* http://ADDRESS[:PORT][/PATH], the address numeric. */
static int
target_parse(struct target *t, const char *url, char *err, size_t errlen)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *host, *path;
	unsigned char addr[16];
	int port;

	if (u == NULL) {
		snprintf(err, errlen, "notify: '%s' is not a URL", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	path = evhttp_uri_get_path(u);
	if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL ||
	    strlen(host) >= sizeof(t->host)) {
		snprintf(err, errlen, "notify: '%s' is not http://ADDRESS[:PORT]/PATH", url);
		goto bad;
	}
	snprintf(t->host, sizeof(t->host), "%s", host);
	if (t->host[0] == '[') {   /* IPv6 literal: no brackets for connect */
		memmove(t->host, t->host + 1, strlen(t->host));
		t->host[strcspn(t->host, "]")] = '\0';
	}
	if (inet_pton(AF_INET, t->host, addr) != 1 && inet_pton(AF_INET6, t->host, addr) != 1) {
		snprintf(err, errlen, "notify: '%s': give an IP address, not a name (a name "
			 "lookup could stall the management loop)", url);
		goto bad;
	}
	t->port = port > 0 ? (uint16_t)port : 80;
	snprintf(t->path, sizeof(t->path), "%s", path && *path ? path : "/");
	snprintf(t->hostport, sizeof(t->hostport), "%s:%u", host, t->port);
	evhttp_uri_free(u);
	return 0;
bad:
	evhttp_uri_free(u);
	return -1;
}

static void send_head(struct target *t);

static void
pop(struct target *t)
{
	struct notification *x = &t->q[t->head];

	free(x->topic);
	free(x->body);
	*x = (struct notification){ 0 };
	t->head = (t->head + 1) % t->owner->conf.queue_max;
	t->len--;
	t->st.waiting--;
}

/* The next one, if any; otherwise idle. */
static void
next(struct target *t)
{
	t->busy = false;
	if (t->len)
		send_head(t);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_head(arg);
}

/* The head failed: again after a backoff, or give it up. */
static void
failed(struct target *t)
{
	struct notification *x = &t->q[t->head];
	const struct notify_conf *c = &t->owner->conf;

	if (x->tries >= c->attempts) {
		t->st.given_up++;
		pop(t);
		next(t);
		return;
	}
	unsigned int shift = x->tries - 1 < 10 ? x->tries - 1 : 10;
	uint64_t ms = (uint64_t)c->backoff_ms << shift;
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	t->st.retried++;
	evtimer_add(t->retry, &tv);
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct target *t = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	if (code >= 200 && code < 300) {
		t->st.delivered++;
		pop(t);
		next(t);
	} else {
		failed(t);
	}
}

static void
send_head(struct target *t)
{
	struct notify *n = t->owner;
	struct notification *x = &t->q[t->head];
	struct evhttp_request *req;
	struct evkeyvalq *h;

	t->busy = true;
	x->tries++;
	if (t->conn == NULL) {
		t->conn = evhttp_connection_base_new(n->base, NULL, t->host, t->port);
		if (t->conn == NULL) {
			failed(t);
			return;
		}
		struct timeval tv = { .tv_sec = n->conf.timeout_ms / 1000,
				      .tv_usec = (suseconds_t)(n->conf.timeout_ms % 1000) * 1000 };

		evhttp_connection_set_timeout_tv(t->conn, &tv);
	}
	req = evhttp_request_new(on_done, t);
	if (req == NULL) {
		failed(t);
		return;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", t->hostport);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "X-Umbra-Topic", x->topic);
	if (n->bearer) {
		char auth[300];

		snprintf(auth, sizeof(auth), "Bearer %s", n->bearer);
		evhttp_add_header(h, "Authorization", auth);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), x->body, strlen(x->body));
	/* On failure libevent has freed the request and will not call back. */
	if (evhttp_make_request(t->conn, req, EVHTTP_REQ_POST, t->path) != 0)
		failed(t);
}

struct notify *
notify_new(struct event_base *base, const struct notify_conf *c, char *err, size_t errlen)
{
	struct notify *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		snprintf(err, errlen, "notify: out of memory");
		return NULL;
	}
	n->base = base;
	n->conf = *c;
	if (n->conf.queue_max == 0)
		n->conf.queue_max = 1;
	if (n->conf.attempts == 0)
		n->conf.attempts = 1;
	if (c->n_urls > NOTIFY_URLS_MAX) {
		snprintf(err, errlen, "notify: at most %d URLs", NOTIFY_URLS_MAX);
		goto bad;
	}
	n->bearer = c->bearer ? strdup(c->bearer) : NULL;
	for (unsigned int i = 0; i < c->n_urls; i++) {
		struct target *t = &n->t[i];

		t->owner = n;
		if (target_parse(t, c->urls[i], err, errlen) < 0)
			goto bad;
		t->q = calloc(n->conf.queue_max, sizeof(*t->q));
		t->retry = evtimer_new(base, on_retry, t);
		n->n = i + 1;
		if (t->q == NULL || t->retry == NULL) {
			snprintf(err, errlen, "notify: out of memory");
			goto bad;
		}
	}
	return n;
bad:
	notify_free(n);
	return NULL;
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	for (unsigned int i = 0; i < n->n; i++) {
		struct target *t = &n->t[i];

		/* Pending requests are freed without their callbacks. */
		if (t->conn)
			evhttp_connection_free(t->conn);
		if (t->retry)
			event_free(t->retry);
		while (t->q && t->len)
			pop(t);
		free(t->q);
	}
	free(n->bearer);
	free(n);
}

unsigned int
notify_post(struct notify *n, const char *topic, const char *json)
{
	unsigned int queued = 0;

	for (unsigned int i = 0; i < n->n; i++) {
		struct target *t = &n->t[i];
		struct notification *x;

		if (t->len == n->conf.queue_max) {
			t->st.dropped++;
			continue;
		}
		x = &t->q[(t->head + t->len) % n->conf.queue_max];
		x->topic = strdup(topic);
		x->body = strdup(json);
		x->tries = 0;
		if (x->topic == NULL || x->body == NULL) {
			free(x->topic);
			free(x->body);
			t->st.dropped++;
			continue;
		}
		t->len++;
		t->st.queued++;
		t->st.waiting++;
		queued++;
		if (!t->busy)
			send_head(t);
	}
	return queued;
}

void
notify_get_stats(const struct notify *n, int url, struct notify_stats *s)
{
	*s = (struct notify_stats){ 0 };
	for (unsigned int i = 0; i < n->n; i++) {
		const struct notify_stats *x = &n->t[i].st;

		if (url >= 0 && (unsigned int)url != i)
			continue;
		s->queued += x->queued;
		s->delivered += x->delivered;
		s->retried += x->retried;
		s->given_up += x->given_up;
		s->dropped += x->dropped;
		s->waiting += x->waiting;
	}
}
