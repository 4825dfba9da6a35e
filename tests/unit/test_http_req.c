/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTP front's request rules (mgmt_http_decide()) and token compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt_http_req.h"

#define PORT 9470

static const char *const allowed[] = { "umbra.example" };

/* The family app/umbra/umbra_shadow.c registers. */
static const struct mgmt_http_path shadowing[] = {
	{ "/networks/", "/shadowing/", "shadow/", "network" },
};

static const struct mgmt_http_policy with_token = {
	.token = "s3cret", .listen_addr = "127.0.0.1", .port = PORT,
	.hosts = allowed, .n_hosts = 1, .paths = shadowing, .n_paths = 1,
};

/* A good command request; each case changes one field. */
static struct mgmt_http_req
good(void)
{
	return (struct mgmt_http_req){
		.method = "POST", .uri = "/api/v1/status", .host = "127.0.0.1:9470",
		.content_type = "application/json", .authorization = "Bearer s3cret",
	};
}

static int
status_of(const struct mgmt_http_policy *p, const struct mgmt_http_req *r)
{
	struct mgmt_http_verdict v;

	mgmt_http_decide(p, r, &v);
	return v.status;
}

static void
test_command(void **state)
{
	struct mgmt_http_req r = good();
	struct mgmt_http_verdict v;

	(void)state;
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.route, MGMT_HTTP_COMMAND);
	assert_string_equal(v.cmd, "status");
	assert_string_equal(v.arg, "");
	r.uri = "/networks/production/shadowing/inject_fault?x=1";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.route, MGMT_HTTP_COMMAND);
	assert_string_equal(v.cmd, "shadow/inject_fault");
	assert_string_equal(v.arg, "production");
	assert_string_equal(v.arg_name, "network");
	r.uri = "/api/v1/config/apply";
	r.authorization = "bearer   s3cret ";
	r.content_type = " Application/JSON ; charset=utf-8";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.route, MGMT_HTTP_COMMAND);
	assert_string_equal(v.cmd, "config/apply");
}

static void
test_token(void **state)
{
	const struct mgmt_http_policy none = { .listen_addr = "127.0.0.1", .port = PORT };
	static const char *const wrong[] = { NULL, "", "Bearer", "Bearer ", "Bearer s3cre",
		"Bearer s3cret2", "Basic s3cret", "Bearers3cret", "s3cret" };
	struct mgmt_http_req r = good();
	struct mgmt_http_verdict v;

	(void)state;
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		r.authorization = wrong[i];
		mgmt_http_decide(&with_token, &r, &v);
		assert_int_equal(v.status, 401);
		assert_true(v.challenge);
	}
	r = good();
	assert_int_equal(status_of(&none, &r), 403);  /* no token file */
	r.uri = "/metrics";
	r.method = "GET";
	assert_int_equal(status_of(&none, &r), 200);
	assert_true(mgmt_http_token_equal("abc", 3, "abc", 3));
	assert_false(mgmt_http_token_equal("abd", 3, "abc", 3));
	assert_false(mgmt_http_token_equal("ab", 2, "abc", 3));
	assert_false(mgmt_http_token_equal("", 0, "abc", 3));
	assert_false(mgmt_http_token_equal("abcabc", 6, "abc", 3));
}

static void
test_method_and_type(void **state)
{
	struct mgmt_http_req r = good();
	struct mgmt_http_verdict v;

	(void)state;
	r.method = "GET";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.status, 405);
	assert_string_equal(v.allow, "POST");
	r.method = "PUT";
	assert_int_equal(status_of(&with_token, &r), 405);
	r = good();
	r.uri = "/metrics";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.status, 405);
	assert_string_equal(v.allow, "GET");
	r = good();
	r.content_type = "text/plain";
	assert_int_equal(status_of(&with_token, &r), 415);
	r.content_type = NULL;
	assert_int_equal(status_of(&with_token, &r), 415);
	r.content_type = "application/jsonp";
	assert_int_equal(status_of(&with_token, &r), 415);
}

static void
test_host_origin(void **state)
{
	static const struct { const char *host; int status; } hosts[] = {
		{ "127.0.0.1:9470", 200 }, { "localhost:9470", 200 }, { "[::1]:9470", 200 },
		{ "UMBRA.example:9470", 200 }, { "evil.example:9470", 421 },
		{ "127.0.0.1:9471", 421 }, { "127.0.0.1", 421 }, { "127.0.0.1:", 421 },
		{ "127.0.0.1:09470x", 421 }, { "::1:9470", 421 }, { "[::1", 421 },
		{ "", 421 }, { "user@127.0.0.1:9470", 421 }, { "10.0.0.1:9470", 421 },
	};
	const struct mgmt_http_policy any = { .token = "s3cret", .listen_addr = "0.0.0.0",
					      .port = PORT };
	struct mgmt_http_req r = good();

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		r.host = hosts[i].host;
		assert_int_equal(status_of(&with_token, &r), hosts[i].status);
	}
	r.host = NULL;
	assert_int_equal(status_of(&with_token, &r), 400);
	r.host = "10.0.0.1:9470";  /* an address literal on a wildcard listener */
	assert_int_equal(status_of(&any, &r), 200);
	r.host = "rebind.example:9470";
	assert_int_equal(status_of(&any, &r), 421);
	r = good();
	r.origin = "http://127.0.0.1:9470";
	assert_int_equal(status_of(&with_token, &r), 200);
	r.origin = "http://evil.example";
	assert_int_equal(status_of(&with_token, &r), 403);
	r.origin = "null";
	assert_int_equal(status_of(&with_token, &r), 403);
	r.origin = "http://127.0.0.1:9470.evil.example";
	assert_int_equal(status_of(&with_token, &r), 403);
}

static void
test_paths(void **state)
{
	static const char *const missing[] = { "/", "/api/v1/", "/api/v1/Status",
		"/api/v1/a b", "/api/v1/x%2Fy", "/networks/p/shadowing/",
		"/networks//shadowing/create", "/networks/p/shadowing/create/x",
		"/networks/p/other/create", "/metricsx", "/api/v2/status" };
	struct mgmt_http_req r = good();
	char longpath[400];

	(void)state;
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		r.uri = missing[i];
		assert_int_equal(status_of(&with_token, &r), 404);
	}
	r.uri = "http://127.0.0.1:9470/api/v1/status";
	assert_int_equal(status_of(&with_token, &r), 400);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	memcpy(longpath, "/api/v1/", 8);
	r.uri = longpath;
	assert_int_equal(status_of(&with_token, &r), 414);
	longpath[8 + MGMT_HTTP_NAME_MAX] = '\0';  /* too long a command name */
	assert_int_equal(status_of(&with_token, &r), 404);
}

static void
test_ui_events(void **state)
{
	static const char *const not_ui[] = { "/ui/../metrics", "/ui//x", "/ui/.env",
		"/ui/a b", "/ui/%2e%2e/x", "/uix", "/ui/a/../../b" };
	struct mgmt_http_req r = good();
	struct mgmt_http_verdict v;

	(void)state;
	/* /ui: public, GET or HEAD, index for /ui and /ui/. */
	r.method = "GET";
	r.authorization = NULL;
	r.content_type = NULL;
	r.uri = "/ui";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.route, MGMT_HTTP_UI);
	assert_string_equal(v.asset, "index.html");
	r.uri = "/ui/";
	mgmt_http_decide(&with_token, &r, &v);
	assert_string_equal(v.asset, "index.html");
	r.uri = "/ui/vendor/uplot/uPlot.iife.min.js?v=1";
	r.method = "HEAD";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.route, MGMT_HTTP_UI);
	assert_string_equal(v.asset, "vendor/uplot/uPlot.iife.min.js");
	r.method = "POST";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.status, 405);
	assert_string_equal(v.allow, "GET, HEAD");
	r.method = "GET";
	for (size_t i = 0; i < sizeof(not_ui) / sizeof(not_ui[0]); i++) {
		r.uri = not_ui[i];
		assert_int_equal(status_of(&with_token, &r), 404);
	}
	/* The Host and Origin rules hold for /ui too. */
	r.uri = "/ui/";
	r.host = "evil.example:9470";
	assert_int_equal(status_of(&with_token, &r), 421);
	r = good();
	r.method = "GET";
	r.content_type = NULL;
	/* /events: the token as a header or ?token=, GET only. */
	r.uri = "/events";
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.route, MGMT_HTTP_EVENTS);
	r.authorization = NULL;
	mgmt_http_decide(&with_token, &r, &v);
	assert_int_equal(v.status, 401);
	assert_true(v.challenge);
	r.uri = "/events?token=s3cret";
	assert_int_equal(status_of(&with_token, &r), 200);
	r.uri = "/events?a=1&token=s3%63ret#x";
	assert_int_equal(status_of(&with_token, &r), 200);
	r.uri = "/events?token=s3cre";
	assert_int_equal(status_of(&with_token, &r), 401);
	r.uri = "/events?token=s3crett";
	assert_int_equal(status_of(&with_token, &r), 401);
	r.uri = "/events?token=%zz";
	assert_int_equal(status_of(&with_token, &r), 401);
	r.uri = "/events?xtoken=s3cret";
	assert_int_equal(status_of(&with_token, &r), 401);
	r.uri = "/events?token=";
	assert_int_equal(status_of(&with_token, &r), 401);
	/* Commands never take the query token. */
	r.method = "POST";
	r.content_type = "application/json";
	r.uri = "/api/v1/status?token=s3cret";
	assert_int_equal(status_of(&with_token, &r), 401);
	r.method = "POST";
	r.uri = "/events?token=s3cret";
	assert_int_equal(status_of(&with_token, &r), 405);
	/* Without a token file: /ui yes, /events no. */
	{
		struct mgmt_http_policy none = with_token;

		none.token = NULL;
		r.method = "GET";
		assert_int_equal(status_of(&none, &r), 403);
		r.uri = "/ui/";
		assert_int_equal(status_of(&none, &r), 200);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_method_and_type),
		cmocka_unit_test(test_host_origin),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_ui_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
