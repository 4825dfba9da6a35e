/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the etcd client (lib/fleet). Pure: base64 both ways (every
 * length mod 3, refusals), range ends of prefixes, the request bodies
 * (what etcd's gateway reads: base64 keys, decimal-string revisions, the
 * compare of a compare-and-swap, the election's create-if-absent, an
 * event moved to the log), responses (range, txn won and lost,
 * lease, errors, watch events with DELETE, compaction), the watch stream
 * split across arbitrary chunks. On the loop: a fake gateway (libevent's
 * HTTP server) answering a range and streaming a watch in pieces, and a
 * dead endpoint answered as a failure without blocking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "etcd.h"
#include "etcd_json.h"

static void
test_b64(void **state)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char enc[32], dec[32];
	unsigned char bin[256], back[256];

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(etcd_b64_encode(in[i], strlen(in[i]), enc), strlen(out[i]));
		assert_string_equal(enc, out[i]);
		assert_int_equal(etcd_b64_decode(enc, strlen(enc), dec, sizeof(dec)),
				 (long)strlen(in[i]));
		assert_memory_equal(dec, in[i], strlen(in[i]));
	}
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)(255 - i);
	char big[ETCD_B64_LEN(256)];

	etcd_b64_encode(bin, 256, big);
	assert_int_equal(etcd_b64_decode(big, strlen(big), back, sizeof(back)), 256);
	assert_memory_equal(back, bin, 256);
	assert_int_equal(etcd_b64_decode("Zm9v", 4, dec, 2), -1);     /* no room */
	assert_int_equal(etcd_b64_decode("Zm*v", 4, dec, 8), -1);     /* not base64 */
	assert_int_equal(etcd_b64_decode("Zm9vY", 5, dec, 8), -1);    /* bad length */
	assert_int_equal(etcd_b64_decode("Zm9vYg", 6, dec, 8), 4);    /* no padding */
}

static void
test_prefix_end(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(etcd_prefix_end("/umbra/a/", out, sizeof(out)), 0);
	assert_string_equal(out, "/umbra/a0");
	assert_int_equal(etcd_prefix_end("", out, sizeof(out)), -1);
	assert_int_equal(etcd_prefix_end("a\xff", out, sizeof(out)), 0);
	assert_string_equal(out, "b");
	assert_int_equal(etcd_prefix_end("\xff\xff", out, sizeof(out)), -1);
}

/* The base64 string field @p name of @p o, decoded. */
static char *
field(json_t *o, const char *name)
{
	static char buf[256];
	const char *s = json_string_value(json_object_get(o, name));
	long n;

	assert_non_null(s);
	n = etcd_b64_decode(s, strlen(s), buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void
test_requests(void **state)
{
	char *s;
	json_t *o, *c;

	(void)state;
	s = etcd_req_range("/u/c/", true);
	o = json_loads(s, 0, NULL);
	assert_string_equal(field(o, "key"), "/u/c/");
	assert_string_equal(field(o, "range_end"), "/u/c0");
	json_decref(o);
	free(s);

	s = etcd_req_put("/u/c/members/a", "{\"x\":1}", 7, 1234567890123456789LL);
	o = json_loads(s, 0, NULL);
	assert_string_equal(field(o, "value"), "{\"x\":1}");
	assert_string_equal(json_string_value(json_object_get(o, "lease")),
			    "1234567890123456789");
	json_decref(o);
	free(s);

	s = etcd_req_cas("/u/c/config", "ports: []", 9, 42);
	o = json_loads(s, 0, NULL);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "target")), "MOD");
	assert_string_equal(json_string_value(json_object_get(c, "result")), "EQUAL");
	assert_string_equal(json_string_value(json_object_get(c, "mod_revision")), "42");
	assert_string_equal(field(c, "key"), "/u/c/config");
	c = json_object_get(json_array_get(json_object_get(o, "success"), 0), "request_put");
	assert_string_equal(field(c, "value"), "ports: []");
	assert_non_null(json_object_get(json_array_get(json_object_get(o, "failure"), 0),
					"request_range"));
	json_decref(o);
	free(s);

	s = etcd_req_watch("/u/c/", true, 77);
	o = json_loads(s, 0, NULL);
	c = json_object_get(o, "create_request");
	assert_string_equal(json_string_value(json_object_get(c, "start_revision")), "77");
	assert_string_equal(field(c, "range_end"), "/u/c0");
	json_decref(o);
	free(s);

	s = etcd_req_lease_grant(5);
	assert_string_equal(s, "{\"TTL\":5}");
	free(s);
	s = etcd_req_keepalive(99);
	assert_string_equal(s, "{\"ID\":\"99\"}");
	free(s);
}

/* The election (create if absent, on a lease), taking an event (delete it
 * and put the log entry, only while it is at its revision), pruning. */
static void
test_requests_leader(void **state)
{
	json_t *o, *c, *ops;
	char *s;

	(void)state;
	s = etcd_req_create("/u/c/leader", "{\"id\":\"a\"}", 10, 7);
	o = json_loads(s, 0, NULL);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "target")), "CREATE");
	assert_string_equal(json_string_value(json_object_get(c, "create_revision")), "0");
	assert_string_equal(field(c, "key"), "/u/c/leader");
	c = json_object_get(json_array_get(json_object_get(o, "success"), 0), "request_put");
	assert_string_equal(json_string_value(json_object_get(c, "lease")), "7");
	assert_non_null(json_object_get(json_array_get(json_object_get(o, "failure"), 0),
					"request_range"));
	json_decref(o);
	free(s);

	s = etcd_req_move("/u/c/events/a-1", 31, "/u/c/log/31", "{}", 2, NULL, 0);
	o = json_loads(s, 0, NULL);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "target")), "MOD");
	assert_string_equal(json_string_value(json_object_get(c, "mod_revision")), "31");
	assert_int_equal(json_array_size(json_object_get(o, "compare")), 1);
	ops = json_object_get(o, "success");
	assert_int_equal(json_array_size(ops), 2);
	assert_string_equal(field(json_object_get(json_array_get(ops, 0),
						  "request_delete_range"), "key"),
			    "/u/c/events/a-1");
	assert_string_equal(field(json_object_get(json_array_get(ops, 1), "request_put"),
				  "key"), "/u/c/log/31");
	assert_int_equal(json_array_size(json_object_get(o, "failure")), 0);
	json_decref(o);
	free(s);

	/* The leader's move, fenced on the create revision of the key it won;
	 * refused, it reads the leader key back. */
	s = etcd_req_move("/u/c/events/a-1", 31, "/u/c/log/31", "{}", 2, "/u/c/leader", 12);
	o = json_loads(s, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(o, "compare")), 2);
	c = json_array_get(json_object_get(o, "compare"), 1);
	assert_string_equal(json_string_value(json_object_get(c, "target")), "CREATE");
	assert_string_equal(json_string_value(json_object_get(c, "create_revision")), "12");
	assert_string_equal(field(c, "key"), "/u/c/leader");
	assert_int_equal(json_array_size(json_object_get(o, "success")), 2);
	c = json_object_get(json_array_get(json_object_get(o, "failure"), 0), "request_range");
	assert_string_equal(field(c, "key"), "/u/c/leader");
	json_decref(o);
	free(s);

	/* A fenced put (a rollout step) and a fenced prune. */
	s = etcd_req_fenced("/u/c/leader", 12, "/u/c/rollout/web", "{}", 2, NULL, NULL);
	o = json_loads(s, 0, NULL);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "create_revision")), "12");
	ops = json_object_get(o, "success");
	assert_int_equal(json_array_size(ops), 1);
	assert_string_equal(field(json_object_get(json_array_get(ops, 0), "request_put"),
				  "key"), "/u/c/rollout/web");
	assert_non_null(json_object_get(json_array_get(json_object_get(o, "failure"), 0),
					"request_range"));
	json_decref(o);
	free(s);
	s = etcd_req_fenced("/u/c/leader", 12, NULL, NULL, 0, "/u/c/log/", "/u/c/log/9");
	o = json_loads(s, 0, NULL);
	ops = json_object_get(o, "success");
	assert_int_equal(json_array_size(ops), 1);
	c = json_object_get(json_array_get(ops, 0), "request_delete_range");
	assert_string_equal(field(c, "key"), "/u/c/log/");
	assert_string_equal(field(c, "range_end"), "/u/c/log/9");
	json_decref(o);
	free(s);

	s = etcd_req_delete_range("/u/c/log/", "/u/c/log/9");
	o = json_loads(s, 0, NULL);
	assert_string_equal(field(o, "key"), "/u/c/log/");
	assert_string_equal(field(o, "range_end"), "/u/c/log/9");
	json_decref(o);
	free(s);
}

static void
test_responses(void **state)
{
	struct etcd_resp r;
	const char *range = "{\"header\":{\"revision\":\"12\"},\"kvs\":[{\"key\":\"L2EvY29uZmln\","
		"\"create_revision\":\"2\",\"mod_revision\":\"11\",\"version\":\"3\","
		"\"value\":\"aGVsbG8=\"}],\"count\":\"1\"}";
	const char *lost = "{\"header\":{\"revision\":\"12\"},\"responses\":[{\"response_range\":"
		"{\"header\":{\"revision\":\"12\"},\"kvs\":[{\"key\":\"eA==\",\"mod_revision\":"
		"\"11\",\"value\":\"\"}]}}]}";
	const char *won = "{\"header\":{\"revision\":\"13\"},\"succeeded\":true,"
		"\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"13\"}}}]}";
	const char *watch = "{\"result\":{\"header\":{\"revision\":\"14\"},\"events\":["
		"{\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"14\",\"value\":\"eQ==\"}},"
		"{\"type\":\"DELETE\",\"kv\":{\"key\":\"eg==\",\"mod_revision\":\"14\"}}]}}";
	const char *compacted = "{\"result\":{\"header\":{\"revision\":\"20\"},"
		"\"canceled\":true,\"compact_revision\":\"15\"}}";

	(void)state;
	assert_int_equal(etcd_resp_parse(range, strlen(range), &r), 0);
	assert_int_equal(r.revision, 12);
	assert_int_equal(r.n_kvs, 1);
	assert_string_equal(r.kvs[0].key, "/a/config");
	assert_string_equal(r.kvs[0].value, "hello");
	assert_int_equal(r.kvs[0].len, 5);
	assert_int_equal(r.kvs[0].mod_revision, 11);
	assert_int_equal(r.kvs[0].version, 3);
	assert_false(r.kvs[0].deleted);
	etcd_resp_free(&r);

	/* A compare that failed: no "succeeded", the winner read back. */
	assert_int_equal(etcd_resp_parse(lost, strlen(lost), &r), 0);
	assert_false(r.succeeded);
	assert_int_equal(r.n_kvs, 1);
	assert_int_equal(r.kvs[0].mod_revision, 11);
	assert_int_equal(r.kvs[0].len, 0);
	etcd_resp_free(&r);
	assert_int_equal(etcd_resp_parse(won, strlen(won), &r), 0);
	assert_true(r.succeeded);
	assert_int_equal(r.revision, 13);
	etcd_resp_free(&r);

	assert_int_equal(etcd_resp_parse(watch, strlen(watch), &r), 0);
	assert_int_equal(r.n_kvs, 2);
	assert_string_equal(r.kvs[0].value, "y");
	assert_false(r.kvs[0].deleted);
	assert_string_equal(r.kvs[1].key, "z");
	assert_true(r.kvs[1].deleted);
	etcd_resp_free(&r);
	assert_int_equal(etcd_resp_parse(compacted, strlen(compacted), &r), 0);
	assert_true(r.canceled);
	assert_int_equal(r.compact_revision, 15);
	etcd_resp_free(&r);

	const char *lease = "{\"result\":{\"ID\":\"4111120490797423115\",\"TTL\":\"5\"}}";
	const char *gone = "{\"result\":{\"ID\":\"12345\"}}";
	const char *err = "{\"error\":\"etcdserver: requested lease not found\",\"code\":5}";

	assert_int_equal(etcd_resp_parse(lease, strlen(lease), &r), 0);
	assert_int_equal(r.lease_id, 4111120490797423115LL);
	assert_int_equal(r.ttl, 5);
	etcd_resp_free(&r);
	assert_int_equal(etcd_resp_parse(gone, strlen(gone), &r), 0);
	assert_int_equal(r.ttl, 0);     /* the lease is gone */
	etcd_resp_free(&r);
	assert_int_equal(etcd_resp_parse(err, strlen(err), &r), 0);
	assert_string_equal(r.error, "etcdserver: requested lease not found");
	etcd_resp_free(&r);

	/* Refused: not JSON, a revision that is no number, a value not base64. */
	assert_int_equal(etcd_resp_parse("<html>", 6, &r), -1);
	assert_true(r.error[0] != '\0');
	const char *bad_rev = "{\"header\":{\"revision\":\"x1\"}}";
	const char *bad_val = "{\"kvs\":[{\"key\":\"eA==\",\"value\":\"***\"}]}";

	assert_int_equal(etcd_resp_parse(bad_rev, strlen(bad_rev), &r), -1);
	assert_int_equal(etcd_resp_parse(bad_val, strlen(bad_val), &r), -1);
	assert_null(r.kvs);
}

static void
test_stream(void **state)
{
	const char *text = "{\"a\":1}\n\r\n{\"b\":2}\r\n{\"c\"";
	struct etcd_stream s = { 0 };
	const char *msg;
	size_t n;
	char got[3][16];
	unsigned int k = 0;

	(void)state;
	/* One byte at a time: messages come out whole, in order. */
	for (size_t i = 0; i < strlen(text); i++) {
		assert_int_equal(etcd_stream_feed(&s, text + i, 1), 0);
		while ((n = etcd_stream_next(&s, &msg)) > 0) {
			assert_true(k < 3);
			snprintf(got[k++], sizeof(got[0]), "%.*s", (int)n, msg);
		}
	}
	assert_int_equal(k, 2);
	assert_string_equal(got[0], "{\"a\":1}");
	assert_string_equal(got[1], "{\"b\":2}");
	assert_int_equal(etcd_stream_feed(&s, ":3}\n", 4), 0);
	n = etcd_stream_next(&s, &msg);
	assert_int_equal(n, 7);
	assert_memory_equal(msg, "{\"c\":3}", 7);
	assert_int_equal(etcd_stream_next(&s, &msg), 0);
	etcd_stream_free(&s);
}

/* ---- on the loop, against a fake gateway ------------------------------- */

struct fake {
	struct event_base *base;
	struct evhttp *http;
	uint16_t port;
	struct evhttp_request *watch;   /* the streaming answer */
	unsigned int step;
	struct event *pace;
	/* what the client saw */
	int range_ok;
	char range_error[300];
	unsigned int events;
	char last_value[32];
	char ended[200];
	int dead_failed;
};

static const char *const stream_parts[] = {
	"{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}\n{\"result\":",
	"{\"header\":{\"revision\":\"6\"},\"events\":[{\"kv\":{\"key\":\"eA==\",",
	"\"mod_revision\":\"6\",\"value\":\"b25l\"}}]}}\n",
	/* one part, split over two lines (parenthesized: not a lost comma) */
	("{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":{\"key\":\"eA==\","
	 "\"mod_revision\":\"7\",\"value\":\"dHdv\"}}]}}\n"),
};

static void
on_pace(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *b;
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	if (f->step == sizeof(stream_parts) / sizeof(stream_parts[0])) {
		evhttp_send_reply_end(f->watch);   /* etcd closes the stream */
		f->watch = NULL;
		return;
	}
	b = evbuffer_new();
	evbuffer_add(b, stream_parts[f->step], strlen(stream_parts[f->step]));
	evhttp_send_reply_chunk(f->watch, b);
	evbuffer_free(b);
	f->step++;
	evtimer_add(f->pace, &tv);
}

static void
on_fake_request(struct evhttp_request *req, void *arg)
{
	struct fake *f = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b;
	struct timeval tv = { 0, 20000 };

	if (strcmp(uri, "/v3/watch") == 0) {
		f->watch = req;
		evhttp_send_reply_start(req, 200, "OK");
		evtimer_add(f->pace, &tv);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_printf(b, "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"eA==\","
			    "\"mod_revision\":\"4\",\"value\":\"emVybw==\"}]}");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
on_range(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct fake *f = arg;

	assert_int_equal(tag, 7);
	if (r == NULL) {
		snprintf(f->range_error, sizeof(f->range_error), "%s", error);
		return;
	}
	f->range_ok = r->n_kvs == 1 && strcmp(r->kvs[0].value, "zero") == 0 && r->revision == 5;
}

static void
on_event(const struct etcd_resp *r, void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < r->n_kvs; i++) {
		f->events++;
		snprintf(f->last_value, sizeof(f->last_value), "%s", r->kvs[i].value);
	}
}

static void
on_end(const char *reason, void *arg)
{
	struct fake *f = arg;

	snprintf(f->ended, sizeof(f->ended), "%s", reason);
	event_base_loopexit(f->base, NULL);
}

static void
on_dead(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct fake *f = arg;

	(void)tag;
	f->dead_failed = r == NULL && strstr(error, "no answer") != NULL;
}

static void
test_client_loop(void **state)
{
	struct fake f = { 0 };
	struct evhttp_bound_socket *bs;
	char url[64], dead[64], err[200];
	const char *urls[2];
	struct etcd_client *c;
	struct timeval cap = { 5, 0 };

	(void)state;
	f.base = event_base_new();
	f.http = evhttp_new(f.base);
	bs = evhttp_bind_socket_with_handle(f.http, "127.0.0.1", 0);
	assert_non_null(bs);
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
		f.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	evhttp_set_gencb(f.http, on_fake_request, &f);
	f.pace = evtimer_new(f.base, on_pace, &f);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", f.port);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:1");
	urls[0] = url;
	urls[1] = dead;
	assert_null(etcd_client_new(f.base, (const char *[]){ "http://localhost:2379" }, 1,
				    500, err, sizeof(err)));
	assert_non_null(strstr(err, "not a name"));
	c = etcd_client_new(f.base, urls, 2, 500, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(etcd_client_endpoint(c), url);
	assert_int_equal(etcd_call(c, "/v3/kv/range", etcd_req_range("x", false), on_range,
				   &f, 7), 0);
	assert_non_null(etcd_watch_start(c, "x", false, 5, on_event, on_end, &f));
	etcd_client_failover(c);
	assert_string_equal(etcd_client_endpoint(c), dead);
	assert_int_equal(etcd_call(c, "/v3/kv/range", etcd_req_range("x", false), on_dead,
				   &f, 1), 0);
	event_base_loopexit(f.base, &cap);
	event_base_dispatch(f.base);
	assert_true(f.range_ok);
	assert_int_equal(f.events, 2);           /* split across chunks, whole */
	assert_string_equal(f.last_value, "two");
	assert_non_null(strstr(f.ended, "watch stream ended"));
	assert_true(f.dead_failed);
	/* The deferred free of the ended watch runs. */
	event_base_loop(f.base, EVLOOP_NONBLOCK);
	etcd_client_free(c);
	event_free(f.pace);
	evhttp_free(f.http);
	event_base_free(f.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_requests_leader),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_client_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
