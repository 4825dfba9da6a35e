/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the HTTP front's decisions (mgmt_http_decide(),
 * mgmt_http_req.c) on any request fields and server settings.
 *
 * Input: byte 0 says which headers are present (bit i: field i below) and
 * bit 6 a wildcard listen address; bytes 1-2 the port; the rest, split at
 * '\n': method, uri, Host, Origin, Content-Type, Authorization, the
 * server's token, one allowed host name.
 *
 * Must hold: no out-of-bounds access or undefined behaviour; the same
 * request gets the same verdict; a refusal has a 4xx status and a
 * reason, code and message; Allow only with 405, a challenge only with
 * 401; /metrics only by GET; a command only by POST, with a token set and
 * presented exactly, application/json, a command name of the allowed
 * characters, a Host naming this server and no foreign Origin; the
 * constant-time compare agrees with memcmp.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mgmt_http_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

enum { F_METHOD, F_URI, F_HOST, F_ORIGIN, F_CTYPE, F_AUTH, F_TOKEN, F_ALLOWED, F_N };
#define FIELD_MAX 512

/* The path family app/umbra/umbra_shadow.c registers. */
static const struct mgmt_http_path shadowing[] = {
	{ "/networks/", "/shadowing/", "shadow/", "network" },
};

static bool
verdict_eq(const struct mgmt_http_verdict *a, const struct mgmt_http_verdict *b)
{
	return a->route == b->route && a->status == b->status && a->reason == b->reason &&
	       a->code == b->code && a->message == b->message && a->allow == b->allow &&
	       a->challenge == b->challenge && strcmp(a->cmd, b->cmd) == 0 &&
	       a->arg_name == b->arg_name && strcmp(a->arg, b->arg) == 0;
}

static bool
status_refusal(int s)
{
	static const int ok[] = { 400, 401, 403, 404, 405, 414, 415, 421 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (s == ok[i])
			return true;
	return false;
}

/* Host's name part (no port, no brackets) is one this server answers to. */
static bool
host_plausible(const struct mgmt_http_policy *p, const char *host)
{
	const char *names[] = { "localhost", "127.0.0.1", "::1", p->listen_addr,
				p->n_hosts ? p->hosts[0] : "" };
	bool wildcard = strcmp(p->listen_addr, "0.0.0.0") == 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		const char *h = host + (host[0] == '[');

		if (n && strncasecmp(h, names[i], n) == 0 &&
		    (h[n] == '\0' || h[n] == ':' || h[n] == ']'))
			return true;
	}
	return wildcard && strspn(host, "0123456789.:[]abcdefABCDEF") == strlen(host);
}

static void
check_command(const struct mgmt_http_policy *p, const struct mgmt_http_req *r,
	      const struct mgmt_http_verdict *v)
{
	size_t n = strlen(v->cmd);

	CHECK(strcmp(r->method, "POST") == 0);
	CHECK(p->token[0] != '\0' && r->authorization != NULL &&
	      strstr(r->authorization, p->token) != NULL);
	CHECK(r->content_type != NULL && strcasestr(r->content_type, "application/json"));
	CHECK(n > 0 && n < sizeof(v->cmd));
	CHECK(strspn(v->cmd, "abcdefghijklmnopqrstuvwxyz0123456789/_-") == n);
	CHECK(strlen(v->arg) < sizeof(v->arg));
	CHECK(v->arg[0] == '\0' || strncmp(v->cmd, "shadow/", 7) == 0);
}

static void
check_verdict(const struct mgmt_http_policy *p, const struct mgmt_http_req *r,
	      const struct mgmt_http_verdict *v)
{
	if (v->route == MGMT_HTTP_REFUSE) {
		CHECK(status_refusal(v->status));
		CHECK(v->reason != NULL && v->code != NULL && v->message != NULL);
		CHECK((v->allow != NULL) == (v->status == 405));
		CHECK(!v->challenge || v->status == 401);
		return;
	}
	CHECK(v->status == 200 && v->allow == NULL && !v->challenge);
	CHECK(r->host != NULL && host_plausible(p, r->host));
	if (r->origin != NULL)
		CHECK(strncasecmp(r->origin, "http://", 7) == 0 &&
		      strcasecmp(r->origin + 7, r->host) == 0);
	if (v->route == MGMT_HTTP_METRICS) {
		CHECK(strcmp(r->method, "GET") == 0 && strncmp(r->uri, "/metrics", 8) == 0);
	} else if (v->route == MGMT_HTTP_UI) {
		/* Public files: read-only methods, a name with no way out of /ui. */
		CHECK(strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0);
		CHECK(strncmp(r->uri, "/ui", 3) == 0);
		CHECK(strstr(v->asset, "..") == NULL && v->asset[0] != '/');
	} else if (v->route == MGMT_HTTP_EVENTS) {
		/* The stream needs the token, in the header or the query. */
		CHECK(strcmp(r->method, "GET") == 0 && strncmp(r->uri, "/events", 7) == 0);
		CHECK(p->token[0] != '\0');
	} else {
		CHECK(v->route == MGMT_HTTP_COMMAND);
		check_command(p, r, v);
	}
}

static void
check_token_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	CHECK(mgmt_http_token_equal(a, la, b, lb) == (la == lb && memcmp(a, b, la) == 0));
	CHECK(mgmt_http_token_equal(b, lb, b, lb));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char f[F_N][FIELD_MAX];
	const char *s, *end = (const char *)data + size;
	struct mgmt_http_verdict v, again;
	const char *hosts[1];
	uint8_t present;
	unsigned int i;

	if (size < 3)
		return 0;
	present = data[0];
	s = (const char *)data + 3;
	for (i = 0; i < F_N; i++) {
		const char *nl = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
		size_t n = s < end ? (nl ? (size_t)(nl - s) : (size_t)(end - s)) : 0;

		if (n >= FIELD_MAX)
			n = FIELD_MAX - 1;
		memcpy(f[i], s, n);
		f[i][n] = '\0'; /* a NUL inside ends the field, as in a C string */
		s = nl ? nl + 1 : end;
	}
	hosts[0] = f[F_ALLOWED];
	const struct mgmt_http_policy p = {
		.token = f[F_TOKEN], .listen_addr = present & 0x40 ? "0.0.0.0" : "127.0.0.1",
		.port = (uint16_t)(data[1] << 8 | data[2]), .hosts = hosts,
		.n_hosts = f[F_ALLOWED][0] != '\0', .paths = shadowing, .n_paths = 1,
	};
	const struct mgmt_http_req r = {
		.method = f[F_METHOD], .uri = f[F_URI],
		.host = present & 1 ? f[F_HOST] : NULL,
		.origin = present & 2 ? f[F_ORIGIN] : NULL,
		.content_type = present & 4 ? f[F_CTYPE] : NULL,
		.authorization = present & 8 ? f[F_AUTH] : NULL,
	};

	mgmt_http_decide(&p, &r, &v);
	check_verdict(&p, &r, &v);
	mgmt_http_decide(&p, &r, &again);
	CHECK(verdict_eq(&v, &again));
	check_token_equal(f[F_AUTH], f[F_TOKEN]);
	return 0;
}
