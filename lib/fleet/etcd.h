/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * An etcd v3 client over the JSON gateway, on libevent's HTTP client:
 * every call is a POST whose answer comes back later, on the loop; the
 * loop never waits. Unary calls (range, put, txn, lease grant and
 * keepalive) share one connection per endpoint; a watch holds a
 * connection of its own and delivers each streamed message as it
 * arrives.
 *
 * Endpoints are tried one at a time: the client stays on one while it
 * answers and moves to the next (etcd_client_failover()) when the caller
 * says it failed. Reconnecting (when, and with what backoff) is the
 * caller's: it knows what it must redo. Endpoints are IP addresses (a
 * name lookup could stall the loop); http:// only.
 */
#ifndef UMBRA_ETCD_H
#define UMBRA_ETCD_H

#include <stdbool.h>
#include <stdint.h>

#include "etcd_json.h"

struct event_base;
struct etcd_client;
struct etcd_watch;

/** Endpoints, at most. */
#define ETCD_ENDPOINTS_MAX 8

/**
 * The answer to a call: @p r parsed (r->error may hold etcd's own error),
 * or NULL when there was none (no connection, timeout, HTTP error,
 * unparsable), with the reason in @p error. @p tag is the caller's.
 */
typedef void (*etcd_cb)(const struct etcd_resp *r, const char *error, void *arg,
			uint64_t tag);

/** One message of a watch (events, or created/canceled/compacted). */
typedef void (*etcd_watch_event_cb)(const struct etcd_resp *r, void *arg);

/**
 * The watch stream ended (connection lost, etcd closed it, unparsable
 * message): the watch is freed after this returns; do not cancel it.
 */
typedef void (*etcd_watch_end_cb)(const char *reason, void *arg);

/**
 * A client of @p n endpoints ("http://IP:PORT"), unary calls timing out
 * after @p timeout_ms. @return the client, or NULL with a sentence in @p err.
 */
struct etcd_client *etcd_client_new(struct event_base *base, const char *const *urls,
				    unsigned int n, unsigned int timeout_ms,
				    char *err, size_t errlen);

/**
 * Revoke lease @p id on the current endpoint and wait for etcd's answer,
 * at most @p timeout_ms: for a clean exit only, once the loop has ended
 * (the keys on the lease go at once instead of after its TTL).
 * @return 0 when etcd answered 200, or -1.
 */
int etcd_revoke_sync(struct etcd_client *c, int64_t id, unsigned int timeout_ms);

/** Free the client; calls in flight are dropped without their callbacks. */
void etcd_client_free(struct etcd_client *c);

/** The endpoint calls go to now ("http://IP:PORT"). */
const char *etcd_client_endpoint(const struct etcd_client *c);

/** Move calls to the next endpoint (after a failure on this one). */
void etcd_client_failover(struct etcd_client *c);

/**
 * POST @p body (taken; freed here, NULL counts as a failure) to @p path
 * (e.g. "/v3/kv/range") on the current endpoint; @p cb gets the answer.
 * @return 0, or -1 when the call could not even start (@p cb not called).
 */
int etcd_call(struct etcd_client *c, const char *path, char *body, etcd_cb cb,
	      void *arg, uint64_t tag);

/**
 * Watch @p key (or every key under it with @p prefix) from
 * @p start_revision on the current endpoint.
 * @return the watch, or NULL (out of memory, cannot connect).
 */
struct etcd_watch *etcd_watch_start(struct etcd_client *c, const char *key, bool prefix,
				    int64_t start_revision, etcd_watch_event_cb on_event,
				    etcd_watch_end_cb on_end, void *arg);

/** Stop a running watch (not from its own callbacks) and free it. */
void etcd_watch_cancel(struct etcd_watch *w);

#endif
