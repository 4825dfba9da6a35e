/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the management command layer (mgmt_cmd.c). Every line
 * of the input, and the input whole, goes through mgmt_dispatch() as the
 * socket and the HTTP front send it, to a registry holding the built-in
 * commands and stubs that declare every argument type, required and not.
 *
 * Must hold for any bytes: an answer always comes (never NULL), it is one
 * line of valid JSON, an object with "id" and a boolean "ok", "result"
 * when ok and {"code","message"} strings when not; an answer that is ok
 * echoes the request's id; a handler only ever sees declared arguments of
 * the declared types with the required ones present; nothing leaks (LSan).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static const struct mgmt_arg typed_args[] = {
	{ "name", MGMT_ARG_STRING, true },
	{ "count", MGMT_ARG_INTEGER, false },
	{ "on", MGMT_ARG_BOOLEAN, false },
	{ "meta", MGMT_ARG_OBJECT, false },
	{ "value", MGMT_ARG_SCALAR, false },
	{ "list", MGMT_ARG_ARRAY, false },
	{ NULL },
};

static const struct mgmt_arg opt_args[] = {
	{ "path", MGMT_ARG_STRING, false },
	{ "force", MGMT_ARG_BOOLEAN, false },
	{ NULL },
};

static bool
type_ok(const json_t *v, enum mgmt_arg_type t)
{
	switch (t) {
	case MGMT_ARG_STRING: return json_is_string(v);
	case MGMT_ARG_INTEGER: return json_is_integer(v);
	case MGMT_ARG_BOOLEAN: return json_is_boolean(v);
	case MGMT_ARG_OBJECT: return json_is_object(v);
	case MGMT_ARG_ARRAY: return json_is_array(v);
	case MGMT_ARG_SCALAR:
		return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
	}
	return false;
}

/* The dispatcher's promise to every handler. */
static void
check_args(const struct mgmt_arg *decl, json_t *args)
{
	const char *key;
	json_t *v;

	CHECK(json_is_object(args));
	json_object_foreach(args, key, v) {
		const struct mgmt_arg *a = decl;

		while (a->name != NULL && strcmp(a->name, key) != 0)
			a++;
		CHECK(a->name != NULL && type_ok(v, a->type));
	}
	for (const struct mgmt_arg *a = decl; a->name != NULL; a++)
		CHECK(!a->required || json_object_get(args, a->name) != NULL);
}

/* Succeeds with its args, or fails quoting them (long, any UTF-8). */
static json_t *
stub_typed(json_t *args, void *ctx, struct mgmt_error *err)
{
	const char *name;

	(void)ctx;
	check_args(typed_args, args);
	name = json_string_value(json_object_get(args, "name"));
	if (json_is_true(json_object_get(args, "on"))) {
		mgmt_fail(err, MGMT_E_FAILED, "cannot do it to '%s': %s%s", name, name, name);
		return NULL;
	}
	return json_deep_copy(args);
}

/* Fails without setting a code, or with one of its own; else a string. */
static json_t *
stub_opt(json_t *args, void *ctx, struct mgmt_error *err)
{
	json_t *path = json_object_get(args, "path");

	(void)ctx;
	check_args(opt_args, args);
	if (json_is_true(json_object_get(args, "force"))) {
		err->code = NULL;
		snprintf(err->message, sizeof(err->message), "%s",
			 path ? json_string_value(path) : "");
		return NULL;
	}
	if (path != NULL) {
		mgmt_fail(err, MGMT_E_ARGS, "no file %s", json_string_value(path));
		return NULL;
	}
	return json_string("done");
}

static const struct mgmt_command_def stubs[] = {
	{ "stub/typed", "every argument type", typed_args, stub_typed },
	{ "stub/opt", "optional arguments only", opt_args, stub_opt },
	{ "stub/none", "no arguments", NULL, stub_opt },
};

static struct mgmt *
registry(void)
{
	static struct mgmt *m;

	if (m == NULL) {
		m = mgmt_create(NULL, "fuzz");
		CHECK(m != NULL);
		CHECK(mgmt_register_table(m, stubs, sizeof(stubs) / sizeof(stubs[0]),
					  NULL) == 0);
	}
	return m;
}

/* The request's id, when it is an object that has one (else NULL). */
static json_t *
request_id(const char *line, size_t len)
{
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *id = json_is_object(req) ? json_incref(json_object_get(req, "id")) : NULL;

	json_decref(req);
	return id;
}

static void
check_answer(const char *line, size_t len)
{
	json_t *resp = mgmt_dispatch(registry(), line, len), *ok, *back, *id;
	char *text;

	CHECK(resp != NULL && json_is_object(resp));
	ok = json_object_get(resp, "ok");
	CHECK(json_is_boolean(ok) && json_object_get(resp, "id") != NULL);
	if (json_is_true(ok)) {
		CHECK(json_object_get(resp, "result") != NULL);
		id = request_id(line, len);
		CHECK(json_equal(json_object_get(resp, "id"), id ? id : json_null()));
		json_decref(id);
	} else {
		json_t *e = json_object_get(resp, "error");

		CHECK(json_is_object(e));
		CHECK(json_is_string(json_object_get(e, "code")));
		CHECK(json_is_string(json_object_get(e, "message")));
	}
	/* What the socket writes: one line that parses back to the same. */
	text = json_dumps(resp, JSON_COMPACT);
	CHECK(text != NULL && strchr(text, '\n') == NULL);
	back = json_loads(text, 0, NULL);
	CHECK(back != NULL && json_equal(back, resp));
	json_decref(back);
	free(text);
	json_decref(resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;

	if (size > MGMT_LINE_MAX)
		return 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

		check_answer(s, n);
		s += n + 1;
	}
	check_answer((const char *)data, size);
	return 0;
}
