/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * etcd v3 JSON gateway client on libevent's HTTP client: unary POSTs on
 * one connection per endpoint, each watch on a connection of its own
 * read chunk by chunk as it streams.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "etcd.h"

/** A watch's connection carries nothing while no key changes: no timeout
 *  short enough to cut a quiet watch (a dead endpoint shows in the unary
 *  calls, and the caller restarts the watch then). */
#define WATCH_TIMEOUT_S 3600

struct endpoint {
	char url[160];
	char host[64];
	char hostport[80];          /* Host header */
	uint16_t port;
	struct evhttp_connection *conn; /* unary calls; made on first use */
};

struct etcd_client {
	struct event_base *base;
	struct endpoint ep[ETCD_ENDPOINTS_MAX];
	unsigned int n, cur;
	unsigned int timeout_ms;
};

struct call {
	struct etcd_client *c;
	etcd_cb cb;
	void *arg;
	uint64_t tag;
	unsigned int ep;
};

struct etcd_watch {
	struct etcd_client *c;
	struct evhttp_connection *conn;
	struct etcd_stream stream;
	etcd_watch_event_cb on_event;
	etcd_watch_end_cb on_end;
	void *arg;
	bool ended;                 /* on_end called; freed by a deferred event */
	bool bad;                   /* a message did not parse: end at completion */
	char reason[160];
};

/* http://IP[:PORT], the address numeric. */
static int
endpoint_parse(struct endpoint *e, const char *url, char *err, size_t errlen)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *host;
	unsigned char addr[16];
	int port;

	if (u == NULL) {
		snprintf(err, errlen, "etcd: '%s' is not a URL", url);
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL ||
	    strlen(host) >= sizeof(e->host) || strlen(url) >= sizeof(e->url)) {
		snprintf(err, errlen, "etcd: '%s' is not http://ADDRESS:PORT", url);
		evhttp_uri_free(u);
		return -1;
	}
	snprintf(e->host, sizeof(e->host), "%s", host);
	if (e->host[0] == '[') {
		memmove(e->host, e->host + 1, strlen(e->host));
		e->host[strcspn(e->host, "]")] = '\0';
	}
	if (inet_pton(AF_INET, e->host, addr) != 1 && inet_pton(AF_INET6, e->host, addr) != 1) {
		snprintf(err, errlen, "etcd: '%s': give an IP address, not a name (a name "
			 "lookup could stall the management loop)", url);
		evhttp_uri_free(u);
		return -1;
	}
	e->port = port > 0 ? (uint16_t)port : 2379;
	snprintf(e->hostport, sizeof(e->hostport), "%s:%u", host, e->port);
	snprintf(e->url, sizeof(e->url), "%s", url);
	evhttp_uri_free(u);
	return 0;
}

struct etcd_client *
etcd_client_new(struct event_base *base, const char *const *urls, unsigned int n,
		unsigned int timeout_ms, char *err, size_t errlen)
{
	struct etcd_client *c;

	if (n == 0 || n > ETCD_ENDPOINTS_MAX) {
		snprintf(err, errlen, "etcd: 1 to %d endpoints", ETCD_ENDPOINTS_MAX);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "etcd: out of memory");
		return NULL;
	}
	c->base = base;
	c->timeout_ms = timeout_ms ? timeout_ms : 1000;
	for (unsigned int i = 0; i < n; i++) {
		if (endpoint_parse(&c->ep[i], urls[i], err, errlen) < 0) {
			free(c);
			return NULL;
		}
	}
	c->n = n;
	return c;
}

void
etcd_client_free(struct etcd_client *c)
{
	if (c == NULL)
		return;
	for (unsigned int i = 0; i < c->n; i++)
		if (c->ep[i].conn)
			evhttp_connection_free(c->ep[i].conn);
	free(c);
}

const char *
etcd_client_endpoint(const struct etcd_client *c)
{
	return c->ep[c->cur].url;
}

void
etcd_client_failover(struct etcd_client *c)
{
	c->cur = (c->cur + 1) % c->n;
}

static void
set_timeout(struct evhttp_connection *conn, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	evhttp_connection_set_timeout_tv(conn, &tv);
}

/* A POST of @p body to @p path, its answer to @p done (with @p arg). */
static struct evhttp_request *
post(struct evhttp_connection *conn, struct endpoint *e, const char *path, char *body,
     void (*done)(struct evhttp_request *, void *), void *arg)
{
	struct evhttp_request *req = evhttp_request_new(done, arg);
	struct evkeyvalq *h;

	if (req == NULL)
		return NULL;
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", e->hostport);
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	/* On failure libevent has freed the request and will not call back. */
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, path) != 0)
		return NULL;
	return req;
}

static void
on_call_done(struct evhttp_request *req, void *arg)
{
	struct call *k = arg;
	struct endpoint *e = &k->c->ep[k->ep];
	int code = req ? evhttp_request_get_response_code(req) : 0;
	struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
	size_t len = in ? evbuffer_get_length(in) : 0;
	char why[300];
	struct etcd_resp r;

	if (code == 0 || len == 0) {
		snprintf(why, sizeof(why), "no answer from %s%s", e->url,
			 code ? " (empty)" : "");
		k->cb(NULL, why, k->arg, k->tag);
	} else {
		const char *text = (const char *)evbuffer_pullup(in, (ssize_t)len);

		if (text == NULL || etcd_resp_parse(text, len, &r) < 0) {
			snprintf(why, sizeof(why), "%s answered HTTP %d: %s", e->url, code,
				 text ? r.error : "out of memory");
			k->cb(NULL, why, k->arg, k->tag);
		} else {
			if (r.error[0] == '\0' && code != 200)
				snprintf(r.error, sizeof(r.error), "HTTP %d", code);
			k->cb(&r, NULL, k->arg, k->tag);
			etcd_resp_free(&r);
		}
	}
	free(k);
}

int
etcd_call(struct etcd_client *c, const char *path, char *body, etcd_cb cb, void *arg,
	  uint64_t tag)
{
	struct endpoint *e = &c->ep[c->cur];
	struct call *k;

	if (body == NULL)
		return -1;
	k = malloc(sizeof(*k));
	if (k == NULL) {
		free(body);
		return -1;
	}
	*k = (struct call){ .c = c, .cb = cb, .arg = arg, .tag = tag, .ep = c->cur };
	if (e->conn == NULL) {
		e->conn = evhttp_connection_base_new(c->base, NULL, e->host, e->port);
		if (e->conn == NULL) {
			free(k);
			free(body);
			return -1;
		}
		set_timeout(e->conn, c->timeout_ms);
	}
	if (post(e->conn, e, path, body, on_call_done, k) == NULL) {
		free(k);
		free(body);
		return -1;
	}
	free(body);
	return 0;
}

static void
watch_free(struct etcd_watch *w)
{
	if (w->conn)
		evhttp_connection_free(w->conn);
	etcd_stream_free(&w->stream);
	free(w);
}

static void
on_watch_freed(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	watch_free(arg);
}

static void
on_watch_chunk(struct evhttp_request *req, void *arg)
{
	struct etcd_watch *w = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in), n;
	const char *msg;
	struct etcd_resp r;

	if (w->bad || evhttp_request_get_response_code(req) != 200) {
		if (!w->bad)
			snprintf(w->reason, sizeof(w->reason), "watch refused: HTTP %d",
				 evhttp_request_get_response_code(req));
		w->bad = true;
		evbuffer_drain(in, len);
		return;
	}
	if (etcd_stream_feed(&w->stream, evbuffer_pullup(in, (ssize_t)len), len) < 0) {
		snprintf(w->reason, sizeof(w->reason), "watch message too long");
		w->bad = true;
	}
	evbuffer_drain(in, len);
	while (!w->bad && (n = etcd_stream_next(&w->stream, &msg)) > 0) {
		if (etcd_resp_parse(msg, n, &r) < 0) {
			snprintf(w->reason, sizeof(w->reason), "watch: %s", r.error);
			w->bad = true;
			break;
		}
		w->on_event(&r, w->arg);
		etcd_resp_free(&r);
	}
}

static void
on_watch_done(struct evhttp_request *req, void *arg)
{
	struct etcd_watch *w = arg;
	const struct timeval now = { 0, 0 };

	if (w->reason[0] == '\0')
		snprintf(w->reason, sizeof(w->reason), "watch stream ended (%s)",
			 req && evhttp_request_get_response_code(req) ? "closed by etcd" :
			 "connection lost");
	w->ended = true;
	w->on_end(w->reason, w->arg);
	/* The connection is freed outside its own callback. */
	if (event_base_once(w->c->base, -1, EV_TIMEOUT, on_watch_freed, w, &now) != 0)
		w->conn = NULL;   /* leaks the connection rather than freeing it in use */
}

struct etcd_watch *
etcd_watch_start(struct etcd_client *c, const char *key, bool prefix,
		 int64_t start_revision, etcd_watch_event_cb on_event,
		 etcd_watch_end_cb on_end, void *arg)
{
	struct endpoint *e = &c->ep[c->cur];
	struct etcd_watch *w = calloc(1, sizeof(*w));
	char *body = etcd_req_watch(key, prefix, start_revision);
	struct evhttp_request *req;

	if (w == NULL || body == NULL)
		goto bad;
	*w = (struct etcd_watch){ .c = c, .on_event = on_event, .on_end = on_end, .arg = arg };
	w->conn = evhttp_connection_base_new(c->base, NULL, e->host, e->port);
	if (w->conn == NULL)
		goto bad;
	set_timeout(w->conn, WATCH_TIMEOUT_S * 1000);
	req = post(w->conn, e, "/v3/watch", body, on_watch_done, w);
	if (req == NULL)
		goto bad;
	evhttp_request_set_chunked_cb(req, on_watch_chunk);
	free(body);
	return w;
bad:
	free(body);
	if (w)
		watch_free(w);
	return NULL;
}

void
etcd_watch_cancel(struct etcd_watch *w)
{
	if (w != NULL && !w->ended)
		watch_free(w);   /* the request goes with its connection, no callback */
}

/* ---- at exit ----------------------------------------------------------- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to the deadline for @p events on @p fd. @return 0, or -1. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - mono_ms();

	if (left <= 0)
		return -1;
	return poll(&p, 1, (int)left) == 1 && (p.revents & (events | POLLHUP)) ? 0 : -1;
}

int
etcd_revoke_sync(struct etcd_client *c, int64_t lease, unsigned int timeout_ms)
{
	const struct endpoint *e = &c->ep[c->cur];
	int64_t deadline = mono_ms() + timeout_ms;
	struct sockaddr_storage ss = { 0 };
	socklen_t slen;
	char *body = etcd_req_revoke(lease), req[512], ans[64];
	size_t off = 0, got = 0;
	int fd = -1, n, rc = -1;

	if (body == NULL)
		return -1;
	if (inet_pton(AF_INET, e->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(e->port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, e->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(e->port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		goto out;
	}
	n = snprintf(req, sizeof(req), "POST /v3/lease/revoke HTTP/1.1\r\nHost: %s\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", e->hostport, strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(req))
		goto out;
	/* Non-blocking, so that a dead endpoint costs the timeout, no more. */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (connect(fd, (struct sockaddr *)&ss, slen) < 0 && errno != EINPROGRESS)
		goto out;
	while (off < (size_t)n) {
		ssize_t w;

		if (wait_fd(fd, POLLOUT, deadline) < 0)
			goto out;
		w = send(fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			goto out;
		if (w > 0)
			off += (size_t)w;
	}
	/* "HTTP/1.1 200": enough to know etcd revoked it. */
	while (got < 12) {
		ssize_t r;

		if (wait_fd(fd, POLLIN, deadline) < 0)
			goto out;
		r = recv(fd, ans + got, sizeof(ans) - 1 - got, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			goto out;
		if (r > 0)
			got += (size_t)r;
	}
	ans[got] = '\0';
	rc = strncmp(ans + 8, " 200", 4) == 0 ? 0 : -1;
out:
	if (fd >= 0)
		close(fd);
	free(body);
	return rc;
}
