/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: the command registry and request dispatch (no socket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgmt.h"

static json_t *
echo(json_t *args, void *ctx, struct mgmt_error *err)
{
	(void)ctx;
	if (json_object_get(args, "fail") == json_true()) {
		mgmt_fail(err, MGMT_E_FAILED, "asked to fail");
		return NULL;
	}
	return json_deep_copy(args);
}

static const struct mgmt_arg echo_args[] = {
	{ "name", MGMT_ARG_STRING, true },
	{ "count", MGMT_ARG_INTEGER, false },
	{ "fail", MGMT_ARG_BOOLEAN, false },
	{ NULL },
};

static struct mgmt *
registry(void)
{
	struct mgmt *m = mgmt_create(NULL, "9.9");

	assert_non_null(m);
	assert_int_equal(mgmt_register(m, "test/echo", "Echo args.", echo_args, echo, NULL), 0);
	assert_int_equal(mgmt_register(m, "test/echo", "again", NULL, echo, NULL), -1);
	return m;
}

/* Dispatch @p req and return the error code, or "ok". */
static const char *
code_of(struct mgmt *m, const char *req, json_t **resp)
{
	static char code[64];
	json_t *r = mgmt_dispatch(m, req, strlen(req));

	assert_non_null(r);
	if (json_is_true(json_object_get(r, "ok")))
		strcpy(code, "ok");
	else
		snprintf(code, sizeof(code), "%s",
			 json_string_value(json_object_get(json_object_get(r, "error"), "code")));
	if (resp)
		*resp = r;
	else
		json_decref(r);
	return code;
}

static void
test_hello_and_list(void **state)
{
	struct mgmt *m = registry();
	json_t *r;

	(void)state;
	assert_string_equal(code_of(m, "{\"id\":7,\"cmd\":\"hello\"}", &r), "ok");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"),
							    "api_version")), MGMT_API_VERSION);
	json_decref(r);
	assert_string_equal(code_of(m, "{\"id\":\"x\",\"cmd\":\"list-commands\"}", &r), "ok");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "x");
	assert_int_equal(json_array_size(json_object_get(r, "result")), 3);
	json_decref(r);
	mgmt_free(m);
}

static void
test_request_errors(void **state)
{
	struct mgmt *m = registry();
	json_t *r;

	(void)state;
	assert_string_equal(code_of(m, "{oops", &r), MGMT_E_PARSE);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	assert_string_equal(code_of(m, "[1,2]", NULL), MGMT_E_REQUEST);
	assert_string_equal(code_of(m, "{\"id\":1}", NULL), MGMT_E_REQUEST);
	assert_string_equal(code_of(m, "{\"id\":1,\"cmd\":5}", NULL), MGMT_E_REQUEST);
	assert_string_equal(code_of(m, "{\"id\":1,\"cmd\":\"hello\",\"args\":[]}", NULL),
			    MGMT_E_REQUEST);
	assert_string_equal(code_of(m, "{\"id\":1,\"cmd\":\"nope\"}", NULL), MGMT_E_UNKNOWN);
	assert_string_equal(code_of(m, "{\"cmd\":\"hello\",\"cmd\":\"hello\"}", NULL),
			    MGMT_E_PARSE); /* duplicate keys are refused */
	mgmt_free(m);
}

static void
test_argument_checks(void **state)
{
	struct mgmt *m = registry();
	json_t *r;

	(void)state;
	assert_string_equal(code_of(m, "{\"cmd\":\"test/echo\"}", &r), MGMT_E_ARGS);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"),
							      "message")),
			    "test/echo needs argument 'name' (string)");
	json_decref(r);
	assert_string_equal(code_of(m, "{\"cmd\":\"test/echo\",\"args\":{\"name\":1}}", NULL),
			    MGMT_E_ARGS);
	assert_string_equal(code_of(m, "{\"cmd\":\"test/echo\",\"args\":{\"name\":\"a\","
				    "\"count\":\"3\"}}", NULL), MGMT_E_ARGS);
	assert_string_equal(code_of(m, "{\"cmd\":\"test/echo\",\"args\":{\"name\":\"a\","
				    "\"colour\":1}}", NULL), MGMT_E_ARGS);
	assert_string_equal(code_of(m, "{\"cmd\":\"test/echo\",\"args\":{\"name\":\"a\","
				    "\"count\":3}}", &r), "ok");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"),
							    "count")), 3);
	json_decref(r);
	assert_string_equal(code_of(m, "{\"cmd\":\"test/echo\",\"args\":{\"name\":\"a\","
				    "\"fail\":true}}", &r), MGMT_E_FAILED);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"),
							      "message")), "asked to fail");
	json_decref(r);
	mgmt_free(m);
}

/* A handler whose message is longer than its 512-byte buffer and made of
 * 2-byte characters: cut by vsnprintf at 511 bytes, inside one of them
 * unless a 1-byte prefix shifts them ("odd"). */
static json_t *
long_failure(json_t *args, void *ctx, struct mgmt_error *err)
{
	char big[1024];
	size_t n = 0;

	(void)ctx;
	if (json_is_true(json_object_get(args, "odd")))
		big[n++] = 'x';
	while (n + 2 < sizeof(big)) {
		big[n++] = (char)0xC3;
		big[n++] = (char)0xA9;
	}
	big[n] = '\0';
	mgmt_fail(err, MGMT_E_FAILED, "%s", big);
	return NULL;
}

static void
test_utf8_sanitize(void **state)
{
	char cut[] = "ok \xC3\xA9 then \xE2\x82";      /* "é", then half a '€' */
	char bad[] = "a\xFF" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x82\xAC";
	char clean[] = "plain ascii, \xF0\x9F\x98\x80 emoji";

	(void)state;
	assert_int_equal(mgmt_utf8_sanitize(cut), strlen("ok \xC3\xA9 then "));
	assert_string_equal(cut, "ok \xC3\xA9 then ");
	/* A stray byte, an overlong '/', a surrogate: '?' each; the '€' stays. */
	mgmt_utf8_sanitize(bad);
	assert_string_equal(bad, "a?b??c???d\xE2\x82\xAC");
	assert_int_equal(mgmt_utf8_sanitize(clean), strlen("plain ascii, \xF0\x9F\x98\x80 emoji"));
}

/* Messages cut inside a character, or quoting invalid bytes, still give a
 * JSON error answer (before, jansson refused the string: no answer). */
static void
test_error_message_cut_in_a_character(void **state)
{
	static const struct mgmt_arg odd_arg[] = { { "odd", MGMT_ARG_BOOLEAN, false }, { NULL } };
	struct mgmt *m = registry();
	char req[1400], name[700];
	const char *msg;
	json_t *r;
	char *text;

	(void)state;
	assert_int_equal(mgmt_register(m, "test/long", "Fails long.", odd_arg,
				       long_failure, NULL), 0);
	for (int odd = 0; odd < 2; odd++) {
		snprintf(req, sizeof(req), "{\"id\":3,\"cmd\":\"test/long\",\"args\":"
			 "{\"odd\":%s}}", odd ? "true" : "false");
		assert_string_equal(code_of(m, req, &r), MGMT_E_FAILED);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
		msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
		assert_non_null(msg);
		assert_true(strlen(msg) >= 500 && strlen(msg) <= 511);
		text = json_dumps(r, JSON_COMPACT);
		assert_non_null(text);
		free(text);
		json_decref(r);
	}
	/* An unknown command of 300 'é' is quoted into a 512-byte message. */
	for (int i = 0; i < 300; i++)
		memcpy(name + 2 * i, "\xC3\xA9", 2);
	name[600] = '\0';
	snprintf(req, sizeof(req), "{\"id\":4,\"cmd\":\"%s\"}", name);
	assert_string_equal(code_of(m, req, &r), MGMT_E_UNKNOWN);
	assert_non_null(json_string_value(json_object_get(json_object_get(r, "error"),
							 "message")));
	json_decref(r);
	mgmt_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_and_list),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_argument_checks),
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_error_message_cut_in_a_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
