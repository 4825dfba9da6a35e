/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTP front's decisions on a request (see mgmt_http_req.h): pure. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mgmt.h"
#include "mgmt_http_req.h"

#define API_PREFIX "/api/v1/"
/** Longest Host header value looked at (a DNS name is at most 253). */
#define HOST_MAX 300

bool
mgmt_http_token_equal(const char *given, size_t given_len, const char *want,
		      size_t want_len)
{
	/* Every byte of the expected token is looked at whatever the input;
	 * volatile keeps the compiler from stopping at the first difference. */
	volatile unsigned char diff = given_len != want_len;

	for (size_t i = 0; i < want_len; i++) {
		unsigned char g = given_len ? (unsigned char)given[i % given_len] : 0;

		diff |= g ^ (unsigned char)want[i];
	}
	return diff == 0;
}

/* Fill @p v with an error answer; false, for "return refuse(...)". */
static bool
refuse(struct mgmt_http_verdict *v, int status, const char *reason, const char *code,
       const char *message)
{
	v->route = MGMT_HTTP_REFUSE;
	v->status = status;
	v->reason = reason;
	v->code = code;
	v->message = message;
	return false;
}

/* "" or a decimal port 1-65535 (no sign, no leading junk): -1 if invalid. */
static long
parse_port(const char *s, size_t n, uint16_t dflt)
{
	long v = 0;

	if (n == 0)
		return dflt;
	if (n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

static bool
is_wildcard(const char *addr)
{
	return addr == NULL || addr[0] == '\0' || strcmp(addr, "0.0.0.0") == 0 ||
	       strcmp(addr, "::") == 0;
}

/* @p name (a host without port or brackets) names this server. */
static bool
host_name_ok(const struct mgmt_http_policy *p, const char *name, bool bracketed)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1", "::1" };
	unsigned char bin[16];

	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		if (strcasecmp(name, loopback[i]) == 0)
			return true;
	if (!is_wildcard(p->listen_addr) && strcasecmp(name, p->listen_addr) == 0)
		return true;
	for (unsigned int i = 0; i < p->n_hosts; i++)
		if (p->hosts[i] != NULL && strcasecmp(name, p->hosts[i]) == 0)
			return true;
	/* An address literal involves no DNS, so no rebinding: any of ours
	 * will do when listening on all of them. */
	return is_wildcard(p->listen_addr) &&
	       inet_pton(bracketed ? AF_INET6 : AF_INET, name, bin) == 1;
}

/* Host is "name[:port]" or "[v6][:port]" naming this server and port. */
static bool
host_ok(const struct mgmt_http_policy *p, const char *host)
{
	char name[HOST_MAX];
	const char *port;
	size_t len = strlen(host), n;
	bool bracketed = host[0] == '[';

	if (len == 0 || len >= HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (host[i] <= ' ' || host[i] > '~' || host[i] == '/' || host[i] == '@')
			return false;
	if (bracketed) {
		const char *end = strchr(host, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return false;
		n = (size_t)(end - host - 1);
		memcpy(name, host + 1, n);
		port = end[1] == ':' ? end + 2 : end + 1;
	} else {
		const char *colon = strchr(host, ':');

		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return false;   /* an IPv6 literal must be bracketed */
		n = colon ? (size_t)(colon - host) : len;
		memcpy(name, host, n);
		port = colon ? colon + 1 : host + len;
	}
	name[n] = '\0';
	if (n == 0 || (port[-1] == ':' && port[0] == '\0'))
		return false;
	return parse_port(port, strlen(port), 80) == p->port &&
	       host_name_ok(p, name, bracketed);
}

/* Origin absent, or exactly http://<Host> (the page is this API's own). */
static bool
origin_ok(const char *origin, const char *host)
{
	static const char scheme[] = "http://";

	return origin == NULL ||
	       (strncasecmp(origin, scheme, sizeof(scheme) - 1) == 0 &&
		strcasecmp(origin + sizeof(scheme) - 1, host) == 0);
}

/* @p s[0..n) is 1 to MGMT_HTTP_NAME_MAX-1 bytes, each in @p set. */
static bool
name_ok(const char *s, size_t n, const char *set)
{
	if (n == 0 || n >= MGMT_HTTP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* <prefix>{id}<infix>{action} of path family @p f: fills v->cmd and v->arg. */
static bool
path_route(const struct mgmt_http_path *f, const char *path, size_t n,
	   struct mgmt_http_verdict *v)
{
	const size_t pre = strlen(f->prefix), in = strlen(f->infix);
	const char *id = path + pre, *slash, *action;
	size_t id_len, act_len;

	if (n <= pre || strncmp(path, f->prefix, pre) != 0 ||
	    (slash = memchr(id, '/', n - pre)) == NULL ||
	    (size_t)(path + n - slash) <= in || strncmp(slash, f->infix, in) != 0)
		return false;
	id_len = (size_t)(slash - id);
	action = slash + in;
	act_len = (size_t)(path + n - action);
	if (!name_ok(id, id_len, LOWER UPPER DIGIT "_.-") ||
	    !name_ok(action, act_len, LOWER "_") ||
	    act_len + strlen(f->cmd_prefix) >= MGMT_HTTP_NAME_MAX)
		return false;
	v->arg_name = f->arg;
	snprintf(v->arg, sizeof(v->arg), "%.*s", (int)id_len, id);
	snprintf(v->cmd, sizeof(v->cmd), "%s%.*s", f->cmd_prefix, (int)act_len, action);
	return true;
}

/* /api/v1/<command> or a registered path family: fills v->cmd. */
static bool
command_route(const struct mgmt_http_policy *p, const char *path, size_t n,
	      struct mgmt_http_verdict *v)
{
	const size_t api = strlen(API_PREFIX);

	if (n > api && strncmp(path, API_PREFIX, api) == 0) {
		if (!name_ok(path + api, n - api, LOWER DIGIT "/_-"))
			return false;
		snprintf(v->cmd, sizeof(v->cmd), "%.*s", (int)(n - api), path + api);
		return true;
	}
	for (unsigned int i = 0; i < p->n_paths; i++)
		if (path_route(&p->paths[i], path, n, v))
			return true;
	return false;
}

/* "Bearer <token>" (scheme in any case) carrying the expected token. */
static bool
token_ok(const char *want, const char *auth)
{
	static const char scheme[] = "Bearer";
	size_t n;

	if (auth == NULL || strncasecmp(auth, scheme, sizeof(scheme) - 1) != 0 ||
	    (auth[sizeof(scheme) - 1] != ' ' && auth[sizeof(scheme) - 1] != '\t'))
		return false;
	auth += sizeof(scheme) - 1;
	auth += strspn(auth, " \t");
	n = strlen(auth);
	while (n > 0 && (auth[n - 1] == ' ' || auth[n - 1] == '\t'))
		n--;
	return mgmt_http_token_equal(auth, n, want, strlen(want));
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A "token=" parameter of query @p q (after '?', up to '#') carrying the
 * expected token, percent-decoded. */
static bool
query_token_ok(const char *want, const char *q)
{
	static const char key[] = "token=";
	char tok[MGMT_HTTP_TOKEN_MAX + 1];

	while (q != NULL && *q != '\0' && *q != '#') {
		size_t n = 0;

		q += *q == '?' || *q == '&';
		if (strncmp(q, key, sizeof(key) - 1) != 0) {
			q = q + strcspn(q, "&#");
			continue;
		}
		for (q += sizeof(key) - 1; *q != '\0' && *q != '&' && *q != '#'; q++) {
			int c = (unsigned char)*q;

			if (c == '%') {
				int hi = hex_val(q[1]), lo = hi < 0 ? -1 : hex_val(q[2]);

				if (lo < 0)
					return false;
				c = hi * 16 + lo;
				q += 2;
			}
			if (n == sizeof(tok) - 1)
				return false;
			tok[n++] = (char)c;
		}
		return mgmt_http_token_equal(tok, n, want, strlen(want));
	}
	return false;
}

/* /ui, /ui/ (index.html) or /ui/<file>: fills v->asset. */
static bool
ui_route(const char *path, size_t n, struct mgmt_http_verdict *v)
{
	static const char pre[] = "/ui/";
	const size_t pl = sizeof(pre) - 1;

	if ((n == pl - 1 && strncmp(path, pre, n) == 0) ||
	    (n == pl && strncmp(path, pre, n) == 0)) {
		snprintf(v->asset, sizeof(v->asset), "index.html");
		return true;
	}
	if (n <= pl || strncmp(path, pre, pl) != 0 ||
	    !name_ok(path + pl, n - pl, LOWER UPPER DIGIT "._-/") ||
	    path[pl] == '/' || path[pl] == '.' || memmem(path, n, "..", 2) != NULL ||
	    memmem(path, n, "//", 2) != NULL)
		return false;
	snprintf(v->asset, sizeof(v->asset), "%.*s", (int)(n - pl), path + pl);
	return true;
}

/* The media type (before any ';' parameter) is application/json. */
static bool
is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n;

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == sizeof(want) - 1 && strncasecmp(ct, want, n) == 0;
}

static bool
decide(const struct mgmt_http_policy *p, const struct mgmt_http_req *r,
       struct mgmt_http_verdict *v)
{
	const char *uri = r->uri ? r->uri : "", *method = r->method ? r->method : "";
	size_t n = strcspn(uri, "?#");

	if (r->host == NULL)
		return refuse(v, 400, "Bad Request", MGMT_E_REQUEST,
			      "a Host header is required");
	if (!host_ok(p, r->host))
		return refuse(v, 421, "Misdirected Request", MGMT_E_REQUEST,
			      "the Host header does not name this server (see "
			      "--http-allowed-host)");
	if (!origin_ok(r->origin, r->host))
		return refuse(v, 403, "Forbidden", "forbidden",
			      "requests from another origin are refused");
	if (uri[0] != '/')
		return refuse(v, 400, "Bad Request", MGMT_E_REQUEST,
			      "the request target must be a path");
	if (n > MGMT_HTTP_PATH_MAX)
		return refuse(v, 414, "URI Too Long", MGMT_E_REQUEST,
			      "the path is too long");
	if (n == strlen("/metrics") && strncmp(uri, "/metrics", n) == 0) {
		if (strcmp(method, "GET") != 0) {
			v->allow = "GET";
			return refuse(v, 405, "Method Not Allowed", MGMT_E_REQUEST,
				      "/metrics answers GET");
		}
		v->route = MGMT_HTTP_METRICS;
		return true;
	}
	if (ui_route(uri, n, v)) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			v->allow = "GET, HEAD";
			return refuse(v, 405, "Method Not Allowed", MGMT_E_REQUEST,
				      "/ui answers GET");
		}
		v->route = MGMT_HTTP_UI;
		return true;
	}
	if (n == strlen("/events") && strncmp(uri, "/events", n) == 0) {
		if (strcmp(method, "GET") != 0) {
			v->allow = "GET";
			return refuse(v, 405, "Method Not Allowed", MGMT_E_REQUEST,
				      "/events answers GET");
		}
		if (p->token == NULL || p->token[0] == '\0')
			return refuse(v, 403, "Forbidden", "forbidden",
				      "/events is disabled: umbra was started without "
				      "--http-token-file");
		if (!token_ok(p->token, r->authorization) &&
		    !query_token_ok(p->token, uri + n)) {
			v->challenge = true;
			return refuse(v, 401, "Unauthorized", "unauthorized",
				      "/events needs 'Authorization: Bearer <token>' or "
				      "?token=<token>");
		}
		v->route = MGMT_HTTP_EVENTS;
		return true;
	}
	if (!command_route(p, uri, n, v))
		return refuse(v, 404, "Not Found", MGMT_E_UNKNOWN,
			      "no such path: POST /api/v1/<command>, GET /metrics, "
			      "/ui or /events");
	if (strcmp(method, "POST") != 0) {
		v->allow = "POST";
		return refuse(v, 405, "Method Not Allowed", MGMT_E_REQUEST,
			      "commands are run by POST with a JSON body");
	}
	if (p->token == NULL || p->token[0] == '\0')
		return refuse(v, 403, "Forbidden", "forbidden",
			      "commands over HTTP are disabled: umbra was started "
			      "without --http-token-file");
	if (!token_ok(p->token, r->authorization)) {
		v->challenge = true;
		return refuse(v, 401, "Unauthorized", "unauthorized",
			      "a valid 'Authorization: Bearer <token>' header is required");
	}
	if (!is_json_type(r->content_type))
		return refuse(v, 415, "Unsupported Media Type", MGMT_E_REQUEST,
			      "commands take 'Content-Type: application/json'");
	v->route = MGMT_HTTP_COMMAND;
	return true;
}

void
mgmt_http_decide(const struct mgmt_http_policy *p, const struct mgmt_http_req *r,
		 struct mgmt_http_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (decide(p, r, v)) {
		v->status = 200;
		v->reason = "OK";
	}
}
