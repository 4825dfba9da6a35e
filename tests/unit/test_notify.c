/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: notifications (lib/notify) against a real HTTP server on
 * loopback (libevent's, in the same loop): delivery in order with the
 * headers, retries until a flaky receiver answers, giving up on a dead
 * one, a receiver that never answers (timeout), a full queue dropping
 * and counting, and a loop that never waits on any of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "notify.h"

struct server {
	struct event_base *base;
	struct evhttp *http;
	uint16_t port;
	char bodies[64][64];
	unsigned int n_bodies;
	unsigned int flaky_left;
	char last_topic[32], last_auth[64], last_type[64];
};

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *v;

	if (strcmp(uri, "/hang") == 0)
		return;  /* never answered: the client's timeout must act */
	if (strcmp(uri, "/flaky") == 0 && s->flaky_left > 0) {
		s->flaky_left--;
		evhttp_send_reply(req, 503, "Busy", NULL);
		return;
	}
	if (s->n_bodies < 64) {
		size_t len = evbuffer_get_length(in);

		if (len > 63)
			len = 63;
		evbuffer_remove(in, s->bodies[s->n_bodies], len);
		s->bodies[s->n_bodies++][len] = '\0';
	}
	if ((v = evhttp_find_header(h, "X-Umbra-Topic")))
		snprintf(s->last_topic, sizeof(s->last_topic), "%s", v);
	if ((v = evhttp_find_header(h, "Authorization")))
		snprintf(s->last_auth, sizeof(s->last_auth), "%s", v);
	if ((v = evhttp_find_header(h, "Content-Type")))
		snprintf(s->last_type, sizeof(s->last_type), "%s", v);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
server_start(struct server *s)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(s, 0, sizeof(*s));
	s->base = event_base_new();
	s->http = evhttp_new(s->base);
	evhttp_set_gencb(s->http, on_request, s);
	b = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(b);
	getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&ss, &len);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
server_stop(struct server *s)
{
	evhttp_free(s->http);
	event_base_free(s->base);
}

/* Run the loop until @p n has nothing waiting, at most @p ms. */
static void
run_until_idle(struct server *s, struct notify *n, unsigned int ms)
{
	struct notify_stats st;

	for (unsigned int i = 0; i < ms / 10; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(s->base, &tv);
		event_base_dispatch(s->base);
		notify_get_stats(n, -1, &st);
		if (st.waiting == 0)
			return;
	}
}

static struct notify *
notifier(struct server *s, const char *path, unsigned int queue_max, unsigned int timeout_ms)
{
	struct notify_conf c;
	char url[64], err[256];
	struct notify *n;

	notify_conf_default(&c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, path);
	c.urls[0] = url;
	c.n_urls = 1;
	c.queue_max = queue_max;
	c.backoff_ms = 20;
	c.timeout_ms = timeout_ms;
	c.bearer = "s3cret";
	n = notify_new(s->base, &c, err, sizeof(err));
	assert_non_null(n);
	return n;
}

static void
test_delivered_in_order(void **state)
{
	struct server s;
	struct notify_stats st;

	(void)state;
	server_start(&s);
	struct notify *n = notifier(&s, "/hook", 64, 2000);

	for (int i = 0; i < 20; i++) {
		char body[32];

		snprintf(body, sizeof(body), "{\"seq\":%d}", i);
		assert_int_equal(notify_post(n, "decision", body), 1);
	}
	run_until_idle(&s, n, 5000);
	notify_get_stats(n, -1, &st);
	assert_int_equal(st.delivered, 20);
	assert_int_equal(s.n_bodies, 20);
	for (int i = 0; i < 20; i++) {
		char body[32];

		snprintf(body, sizeof(body), "{\"seq\":%d}", i);
		assert_string_equal(s.bodies[i], body);
	}
	assert_string_equal(s.last_topic, "decision");
	assert_string_equal(s.last_auth, "Bearer s3cret");
	assert_string_equal(s.last_type, "application/json");
	notify_free(n);
	server_stop(&s);
}

static void
test_retried_until_answered(void **state)
{
	struct server s;
	struct notify_stats st;

	(void)state;
	server_start(&s);
	s.flaky_left = 3;
	struct notify *n = notifier(&s, "/flaky", 8, 2000);

	notify_post(n, "transition", "{\"a\":1}");
	notify_post(n, "transition", "{\"a\":2}");
	run_until_idle(&s, n, 5000);
	notify_get_stats(n, -1, &st);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.retried, 3);
	assert_int_equal(st.given_up, 0);
	assert_string_equal(s.bodies[0], "{\"a\":1}");   /* order kept across retries */
	assert_string_equal(s.bodies[1], "{\"a\":2}");
	notify_free(n);
	server_stop(&s);
}

/* Nobody listens: every attempt fails, then it is given up; a receiver
 * that never answers times out the same way. */
static void
test_dead_and_hung_receivers(void **state)
{
	struct server s;
	struct notify_stats st;
	struct notify_conf c;
	char err[256];

	(void)state;
	server_start(&s);
	notify_conf_default(&c);
	c.urls[0] = "http://127.0.0.1:1/dead";
	c.n_urls = 1;
	c.attempts = 3;
	c.backoff_ms = 10;
	struct notify *n = notify_new(s.base, &c, err, sizeof(err));

	assert_non_null(n);
	notify_post(n, "decision", "{}");
	run_until_idle(&s, n, 5000);
	notify_get_stats(n, -1, &st);
	assert_int_equal(st.given_up, 1);
	assert_int_equal(st.retried, 2);
	assert_int_equal(st.waiting, 0);
	notify_free(n);

	n = notifier(&s, "/hang", 8, 200);
	struct timeval t0, t1;

	gettimeofday(&t0, NULL);
	notify_post(n, "decision", "{}");
	run_until_idle(&s, n, 10000);
	gettimeofday(&t1, NULL);
	notify_get_stats(n, -1, &st);
	assert_int_equal(st.given_up, 1);
	/* 5 tries of 200 ms with 20..160 ms between them: about 1.3 s. */
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	notify_free(n);
	server_stop(&s);
}

/* A full queue drops and counts; posting never runs the loop. */
static void
test_full_queue_drops(void **state)
{
	struct server s;
	struct notify_stats st;

	(void)state;
	server_start(&s);
	struct notify *n = notifier(&s, "/hook", 4, 2000);
	unsigned int ok = 0;

	for (int i = 0; i < 10; i++)
		ok += notify_post(n, "decision", "{}");
	notify_get_stats(n, -1, &st);
	assert_int_equal(ok, 4);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(s.n_bodies, 0);   /* nothing delivered without the loop */
	run_until_idle(&s, n, 5000);
	notify_get_stats(n, -1, &st);
	assert_int_equal(st.delivered, 4);
	notify_free(n);
	server_stop(&s);
}

static void
test_bad_urls(void **state)
{
	struct event_base *base = event_base_new();
	struct notify_conf c;
	char err[256];
	static const char *const bad[] = {
		"https://127.0.0.1/x", "http://example.com/hook", "not a url", "ftp://1.2.3.4/",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		notify_conf_default(&c);
		c.urls[0] = bad[i];
		c.n_urls = 1;
		assert_null(notify_new(base, &c, err, sizeof(err)));
		assert_non_null(strstr(err, "notify:"));
	}
	c.urls[0] = "http://[::1]:8080/hook";
	struct notify *n = notify_new(base, &c, err, sizeof(err));

	assert_non_null(n);
	notify_free(n);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivered_in_order),
		cmocka_unit_test(test_retried_until_answered),
		cmocka_unit_test(test_dead_and_hung_receivers),
		cmocka_unit_test(test_full_queue_drops),
		cmocka_unit_test(test_bad_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
