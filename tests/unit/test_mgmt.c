/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: the command registry and request dispatch (no socket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_and_list),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_argument_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
