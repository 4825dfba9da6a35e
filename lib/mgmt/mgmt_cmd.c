/* SPDX-License-Identifier: BSD-3-Clause */
/* Command registry and request dispatch: JSON line in, JSON response out. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt_private.h"

static const char *const arg_type_names[] = {
	[MGMT_ARG_STRING] = "string",
	[MGMT_ARG_INTEGER] = "integer",
	[MGMT_ARG_BOOLEAN] = "boolean",
	[MGMT_ARG_OBJECT] = "object",
	[MGMT_ARG_SCALAR] = "scalar",
	[MGMT_ARG_ARRAY] = "array",
};

/* Bytes of the UTF-8 sequence led by @p c (0: not a lead byte). */
static size_t
utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/* True when @p s[0..len) is one well-formed character (no overlong form,
 * no surrogate, at most U+10FFFF): what jansson accepts. */
static bool
utf8_char_ok(const unsigned char *s, size_t len)
{
	uint32_t cp = s[0] & (0xFF >> (len + 1));

	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return false;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF)
		return false;
	return !(cp >= 0xD800 && cp <= 0xDFFF);
}

size_t
mgmt_utf8_sanitize(char *str)
{
	unsigned char *s = (unsigned char *)str;
	size_t n = strlen(str), i = 0;

	while (i < n) {
		size_t len = utf8_seq_len(s[i]), have = 0;

		if (len == 1) {
			i++;
			continue;
		}
		if (len > 1 && i + len > n) {
			/* Short at the end: a character cut in two, or garbage? */
			for (have = 1; i + have < n && (s[i + have] & 0xC0) == 0x80; have++)
				;
			if (i + have == n) {
				s[i] = '\0';
				return i;
			}
		}
		if (len > 1 && i + len <= n && utf8_char_ok(s + i, len)) {
			i += len;
			continue;
		}
		s[i++] = '?';
	}
	return n;
}

void
mgmt_fail(struct mgmt_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static struct mgmt_command *
command_find(struct mgmt *m, const char *name)
{
	for (struct mgmt_command *c = m->commands; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
mgmt_register(struct mgmt *m, const char *name, const char *help,
	      const struct mgmt_arg *args, mgmt_handler fn, void *ctx)
{
	static const struct mgmt_arg no_args[] = { { NULL } };
	struct mgmt_command *c, **tail;

	if (command_find(m, name) != NULL)
		return -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	*c = (struct mgmt_command){ name, help, args ? args : no_args, fn, ctx, NULL };
	/* Keep registration order: list-commands reads like the code. */
	for (tail = &m->commands; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = c;
	return 0;
}

static json_t *
list_commands(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct mgmt *m = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	for (struct mgmt_command *c = m->commands; c != NULL; c = c->next) {
		json_t *a = json_array();

		for (const struct mgmt_arg *arg = c->args; arg->name != NULL; arg++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:b}",
				"name", arg->name, "type", arg_type_names[arg->type],
				"required", arg->required));
		json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "name", c->name,
						      "help", c->help, "args", a));
	}
	return list;
}

static json_t *
hello(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct mgmt *m = ctx;

	(void)args;
	(void)err;
	return json_pack("{s:i,s:s,s:s}", "api_version", MGMT_API_VERSION,
			 "name", "umbra", "version", m->version);
}

struct mgmt *
mgmt_create(struct event_base *base, const char *version)
{
	struct mgmt *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->base = base;
	m->listen_fd = -1;
	m->client_timeout_s = MGMT_CLIENT_TIMEOUT_S;
	snprintf(m->version, sizeof(m->version), "%s", version);
	mgmt_register(m, "hello", "Protocol handshake: API version and daemon version.",
		      NULL, hello, m);
	mgmt_register(m, "list-commands", "Every command with its help and arguments.",
		      NULL, list_commands, m);
	return m;
}

int
mgmt_register_table(struct mgmt *m, const struct mgmt_command_def *defs, size_t n,
		    void *ctx)
{
	for (size_t i = 0; i < n; i++)
		if (mgmt_register(m, defs[i].name, defs[i].help, defs[i].args, defs[i].fn,
				  ctx) < 0)
			return -1;
	return 0;
}

static bool
arg_type_ok(const json_t *v, enum mgmt_arg_type t)
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

/* Declared names only, of the declared types, required ones present. */
static int
args_check(const struct mgmt_command *c, json_t *args, struct mgmt_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		const struct mgmt_arg *a = c->args;

		while (a->name != NULL && strcmp(a->name, key) != 0)
			a++;
		if (a->name == NULL) {
			mgmt_fail(err, MGMT_E_ARGS, "%s takes no argument '%s'", c->name, key);
			return -1;
		}
		if (!arg_type_ok(v, a->type)) {
			mgmt_fail(err, MGMT_E_ARGS, "%s: argument '%s' must be a %s",
				  c->name, key, arg_type_names[a->type]);
			return -1;
		}
	}
	for (const struct mgmt_arg *a = c->args; a->name != NULL; a++) {
		if (a->required && json_object_get(args, a->name) == NULL) {
			mgmt_fail(err, MGMT_E_ARGS, "%s needs argument '%s' (%s)",
				  c->name, a->name, arg_type_names[a->type]);
			return -1;
		}
	}
	return 0;
}

/*
 * Messages are cut to their buffer, possibly inside a character, and may
 * quote bytes from files: made valid UTF-8 here, or jansson would refuse
 * the string and the client would get no answer at all.
 */
static json_t *
response_error(json_t *id, struct mgmt_error *err)
{
	json_t *resp;

	err->message[sizeof(err->message) - 1] = '\0';
	mgmt_utf8_sanitize(err->message);
	resp = json_pack("{s:O,s:b,s:{s:s,s:s}}", "id", id ? id : json_null(),
			 "ok", 0, "error", "code", err->code ? err->code : MGMT_E_FAILED,
			 "message", err->message);
	if (resp == NULL) /* an id jansson cannot copy, or out of memory */
		resp = json_pack("{s:n,s:b,s:{s:s,s:s}}", "id", "ok", 0, "error", "code",
				 MGMT_E_FAILED, "message", "the answer could not be encoded");
	return resp;
}

json_t *
mgmt_dispatch(struct mgmt *m, const char *line, size_t len)
{
	struct mgmt_error err = { 0 };
	const struct mgmt_command *c;
	json_error_t jerr;
	json_t *req, *id, *cmd, *args, *result, *resp;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		mgmt_fail(&err, MGMT_E_PARSE, "not JSON: %s (column %d)", jerr.text,
			  jerr.column);
		return response_error(NULL, &err);
	}
	if (!json_is_object(req)) {
		mgmt_fail(&err, MGMT_E_REQUEST, "a request is a JSON object");
		resp = response_error(NULL, &err);
		json_decref(req);
		return resp;
	}
	id = json_object_get(req, "id");
	cmd = json_object_get(req, "cmd");
	args = json_object_get(req, "args");
	if (!json_is_string(cmd))
		mgmt_fail(&err, MGMT_E_REQUEST, "\"cmd\" must be a string naming a command");
	else if (args != NULL && !json_is_object(args))
		mgmt_fail(&err, MGMT_E_REQUEST, "\"args\" must be an object");
	else if ((c = command_find(m, json_string_value(cmd))) == NULL)
		mgmt_fail(&err, MGMT_E_UNKNOWN, "no command '%s' (see list-commands)",
			  json_string_value(cmd));
	else {
		json_t *a = args ? json_incref(args) : json_object();

		result = NULL;
		if (args_check(c, a, &err) == 0) {
			m->requests++;
			err.code = MGMT_E_FAILED;
			result = c->fn(a, c->ctx, &err);
		}
		json_decref(a);
		if (result != NULL) {
			resp = json_pack("{s:O,s:b,s:o}", "id", id ? id : json_null(),
					 "ok", 1, "result", result);
			json_decref(req);
			return resp;
		}
	}
	resp = response_error(id, &err);
	json_decref(req);
	return resp;
}
