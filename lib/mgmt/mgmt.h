/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Management socket: a registry of commands and a line-oriented JSON
 * protocol over a Unix socket, served from one libevent loop on the main
 * lcore (modelled on OVS unixctl).
 *
 * Request:  {"id": ..., "cmd": "name", "args": {...}}
 * Response: {"id": ..., "ok": true, "result": ...}
 *       or  {"id": ..., "ok": false, "error": {"code": "...", "message": "..."}}
 *
 * Commands register with the arguments they take; the dispatcher checks
 * names and JSON types before a handler runs. A command keeps its meaning
 * forever: a changed command gets a new name.
 *
 * mgmt_cmd.c: registry and dispatch (no I/O). mgmt_sock.c: the socket.
 * mgmt_http.c: the same commands over HTTP, and /metrics.
 */
#ifndef UMBRA_MGMT_H
#define UMBRA_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#define MGMT_API_VERSION 1
/** Longest request line, in bytes. */
#define MGMT_LINE_MAX 65536
/** A partial line may sit this long before the client is dropped. */
#define MGMT_PARTIAL_TIMEOUT_S 5
/**
 * Clients served at once. A client past this closes the longest-connected
 * idle client (nothing buffered either way) to make room; when none is
 * idle, the new client is told so and closed.
 */
#define MGMT_MAX_CLIENTS 256
/** Default seconds a socket client may stay connected without a request. */
#define MGMT_CLIENT_TIMEOUT_S 30

/** Error codes of the protocol (stable strings). */
#define MGMT_E_PARSE "parse_error"
#define MGMT_E_REQUEST "invalid_request"
#define MGMT_E_UNKNOWN "unknown_command"
#define MGMT_E_ARGS "invalid_args"
#define MGMT_E_FAILED "failed"
#define MGMT_E_LINE "line_too_long"
#define MGMT_E_TIMEOUT "timeout"
#define MGMT_E_CLIENTS "too_many_clients"

/** Argument types a command can declare. */
enum mgmt_arg_type {
	MGMT_ARG_STRING,
	MGMT_ARG_INTEGER,
	MGMT_ARG_BOOLEAN,
	MGMT_ARG_OBJECT,        /**< any JSON object (e.g. test results) */
	MGMT_ARG_SCALAR,        /**< a string, number or boolean (read as text) */
	MGMT_ARG_ARRAY,         /**< a JSON array (umbractl: JSON, or words split at commas) */
};

/** One declared argument; a command's list ends with a NULL name. */
struct mgmt_arg {
	const char *name;
	enum mgmt_arg_type type;
	bool required;
};

/** Where a handler reports failure (code MGMT_E_FAILED unless it sets one). */
struct mgmt_error {
	const char *code;
	char message[512];
};

/**
 * A command handler. @p args holds only declared arguments, of the
 * declared types. Returns the result (a new reference), or NULL after
 * filling @p err.
 */
typedef json_t *(*mgmt_handler)(json_t *args, void *ctx, struct mgmt_error *err);

/** Milliseconds of the monotonic clock: one time base for the loop's timers. */
static inline uint64_t
mgmt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct mgmt;

/** A registry (and, once mgmt_listen() is called, a server). */
struct mgmt *mgmt_create(struct event_base *base, const char *version);

/** Close the socket, drop every client, free the registry. */
void mgmt_free(struct mgmt *m);

/**
 * Register @p name. @p args is copied by reference: keep it static.
 * @return 0, or -1 if the name is taken.
 */
int mgmt_register(struct mgmt *m, const char *name, const char *help,
		  const struct mgmt_arg *args, mgmt_handler fn, void *ctx);

/** A command to register (see mgmt_register_table()). */
struct mgmt_command_def {
	const char *name;
	const char *help;
	const struct mgmt_arg *args;  /**< NULL: no arguments */
	mgmt_handler fn;
};

/**
 * Register @p n commands of a static table, all with context @p ctx.
 * @return 0, or -1 if a name is taken.
 */
int mgmt_register_table(struct mgmt *m, const struct mgmt_command_def *defs,
			size_t n, void *ctx);

/**
 * Handle one request line and return the response object (never NULL).
 * Used by the socket for every line, and by tests directly.
 */
json_t *mgmt_dispatch(struct mgmt *m, const char *line, size_t len);

/**
 * Make @p s valid UTF-8 in place, as a JSON string must be: a multibyte
 * character cut off at the end (a message truncated to its buffer) is
 * dropped, and any other invalid byte becomes '?'.
 * @return the new length.
 */
size_t mgmt_utf8_sanitize(char *s);

/** Fill @p err with a formatted message (helper for handlers). */
void mgmt_fail(struct mgmt_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Serve on a Unix socket at @p path (replacing a stale one), mode 0660,
 * group @p gid (or the process's when -1). Peers are refused unless their
 * uid is 0 or ours, or @p gid is their primary or one of their
 * supplementary groups (SO_PEERGROUPS; the user database where the kernel
 * lacks it).
 * @return 0, or -1 with a sentence in @p err.
 */
int mgmt_listen(struct mgmt *m, const char *path, gid_t gid, char *err,
		size_t errlen);

/**
 * Close socket clients that stay @p seconds without sending a complete
 * request (default MGMT_CLIENT_TIMEOUT_S; a partial line has
 * MGMT_PARTIAL_TIMEOUT_S). They are told so first.
 */
void mgmt_set_client_timeout(struct mgmt *m, unsigned int seconds);

/** Clients connected now. */
unsigned int mgmt_clients(const struct mgmt *m);

/** Produces the /metrics page (Prometheus text, malloc'd) on demand. */
typedef char *(*mgmt_metrics_fn)(void *ctx);

/** HTTP connections served at once; past it the oldest still without a
 *  whole request is cut (slow clients cannot lock the API out). */
#define MGMT_HTTP_MAX_CONNS 64
/** A connection must deliver a whole request this long after it was
 *  accepted or its previous request arrived, however slowly it trickles. */
#define MGMT_HTTP_REQUEST_S 10
/** Request line and headers, at most (bytes). */
#define MGMT_HTTP_HEADERS_MAX 8192
/** Names --http-allowed-host may add, at most. */
#define MGMT_HTTP_HOSTS_MAX 8
/** Longest token (bytes) in a token file. */
#define MGMT_HTTP_TOKEN_MAX 255

/** Settings of the HTTP front (mgmt_http_listen()). */
struct mgmt_http_conf {
	const char *addr;               /**< listen address */
	uint16_t port;
	const char *token_file;         /**< NULL: /metrics only, commands refused */
	const char *const *hosts;       /**< further names a Host header may carry */
	unsigned int n_hosts;           /**< at most MGMT_HTTP_HOSTS_MAX */
	mgmt_metrics_fn metrics;        /**< the /metrics page */
	void *ctx;                      /**< for @p metrics */
};

/** Path families mgmt_http_add_route() may register, at most. */
#define MGMT_HTTP_ROUTES_MAX 8

/**
 * Serve a module's commands under paths of its own as well as under
 * /api/v1/: POST @p prefix {id} @p infix {action} runs command
 * @p cmd_prefix {action} with argument @p arg set to {id}, under the same
 * rules as /api/v1/ (mgmt_http_req.h). For example "/networks/",
 * "/shadowing/", "shadow/", "network": POST
 * /networks/production/shadowing/create runs shadow/create with
 * network=production. {id} is letters, digits and "_.-", {action} lower
 * case letters and "_". The strings are kept by reference: keep them
 * static. Works before or after mgmt_http_listen().
 * @return 0, or -1 when MGMT_HTTP_ROUTES_MAX are registered or @p prefix
 * or @p infix does not start with '/'.
 */
int mgmt_http_add_route(struct mgmt *m, const char *prefix, const char *infix,
			const char *cmd_prefix, const char *arg);

/**
 * Serve the registry over HTTP (mgmt_http.c): POST /api/v1/<command> with
 * a JSON body (the args) and the bearer token of @p c->token_file, and GET
 * /metrics; requests whose Host or Origin is not this server's are refused
 * (rules in mgmt_http_req.h).
 * @return 0, or -1 with a sentence in @p err (a token file that is
 * missing, empty, not a regular file or open to every user; a port in use).
 */
int mgmt_http_listen(struct mgmt *m, const struct mgmt_http_conf *c, char *err,
		     size_t errlen);

#endif
