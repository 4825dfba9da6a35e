/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * etcd v3 JSON gateway messages, pure (no I/O): base64, the request
 * bodies umbra sends (range, put, compare-and-swap txn, lease grant and
 * keepalive, watch create) and the typed responses it reads back,
 * including the newline-delimited stream of a watch.
 *
 * The gateway speaks etcd's protobuf messages as JSON: keys and values
 * are base64, 64-bit integers are decimal strings, fields at their zero
 * value are left out (a txn that failed its compare has no "succeeded";
 * a PUT event has no "type"). Streamed answers (watch, keepalive) wrap
 * each message in {"result": ...}; errors are {"error", "code", ...}.
 */
#ifndef UMBRA_ETCD_JSON_H
#define UMBRA_ETCD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Longest key umbra reads or writes (bytes). */
#define ETCD_KEY_MAX 512
/** Largest value umbra accepts from etcd (its default request limit). */
#define ETCD_VALUE_MAX (2u << 20)
/** Longest line of a watch stream kept while waiting for its end. */
#define ETCD_STREAM_LINE_MAX (8u << 20)

/** Bytes base64 needs for @p n bytes, with padding and the NUL. */
#define ETCD_B64_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/**
 * Encode @p n bytes of @p in as standard base64 (padded) into @p out
 * (at least ETCD_B64_LEN(n) bytes). @return the length written.
 */
size_t etcd_b64_encode(const void *in, size_t n, char *out);

/**
 * Decode standard base64 @p in (@p n characters, padding optional) into
 * @p out (room for @p cap bytes). @return the bytes written, or -1 when
 * @p in is not base64 or does not fit.
 */
long etcd_b64_decode(const char *in, size_t n, void *out, size_t cap);

/**
 * The end of the range holding every key that starts with @p prefix
 * (etcd's range_end: the prefix with its last byte plus one), written to
 * @p out (at least strlen(prefix) + 1 bytes). @return 0, or -1 when no
 * such end exists (empty, or all 0xff).
 */
int etcd_prefix_end(const char *prefix, char *out, size_t cap);

/* Request bodies: each a malloc'd NUL-terminated JSON text, or NULL on
 * out of memory. Keys are text; values any bytes. */

/** kv/range of @p key, or of every key under it with @p prefix. */
char *etcd_req_range(const char *key, bool prefix);

/** kv/put of @p val (@p len bytes) at @p key, attached to @p lease (0: none). */
char *etcd_req_put(const char *key, const void *val, size_t len, int64_t lease);

/**
 * kv/txn: put @p val at @p key only if the key's mod_revision is still
 * @p mod_revision (0: the key must not exist); otherwise read it back
 * (so the caller learns the revision that won).
 */
char *etcd_req_cas(const char *key, const void *val, size_t len, int64_t mod_revision);

/**
 * kv/txn: put @p val at @p key on @p lease only if the key does not exist
 * (its create revision is 0); otherwise read it back (an election: the
 * caller learns who holds the key).
 */
char *etcd_req_create(const char *key, const void *val, size_t len, int64_t lease);

/**
 * kv/txn: if @p from's mod_revision is still @p mod_revision, delete it
 * and put @p val at @p to, atomically (an event taken once, by one taker).
 * With @p fence, only while @p fence's create revision is still
 * @p fence_rev (a leader's write: it still holds the key it won);
 * otherwise @p fence is read back, so the caller learns who holds it.
 */
char *etcd_req_move(const char *from, int64_t mod_revision, const char *to,
		    const void *val, size_t len, const char *fence, int64_t fence_rev);

/**
 * kv/txn, fenced: only while @p fence's create revision is still
 * @p fence_rev, delete [@p del_key, @p del_end) (@p del_key NULL: nothing;
 * @p del_end NULL: the key alone), then put @p val at @p put_key (NULL:
 * nothing); otherwise read @p fence back.
 */
char *etcd_req_fenced(const char *fence, int64_t fence_rev, const char *put_key,
		      const void *val, size_t len, const char *del_key, const char *del_end);

/** kv/deleterange of @p key, or of [@p key, @p range_end) when given. */
char *etcd_req_delete_range(const char *key, const char *range_end);

/** lease/grant of @p ttl_s seconds. */
char *etcd_req_lease_grant(unsigned int ttl_s);

/** lease/keepalive of lease @p id. */
char *etcd_req_keepalive(int64_t id);

/** lease/revoke of lease @p id. */
char *etcd_req_revoke(int64_t id);

/** watch create_request for @p key (or under it) from @p start_revision. */
char *etcd_req_watch(const char *key, bool prefix, int64_t start_revision);

/** One key-value as etcd reports it. */
struct etcd_kv {
	char key[ETCD_KEY_MAX];
	char *value;                 /**< malloc'd, NUL-terminated (len bytes) */
	size_t len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
	bool deleted;                /**< a watch event of type DELETE */
};

/** A response of any of the calls above, or one message of a stream. */
struct etcd_resp {
	int64_t revision;            /**< header.revision: the store's */
	struct etcd_kv *kvs;         /**< range kvs, txn range, watch events */
	size_t n_kvs;
	bool succeeded;              /**< txn: the compare held */
	int64_t lease_id;            /**< grant, keepalive */
	int64_t ttl;                 /**< grant, keepalive: 0 = the lease is gone */
	bool created;                /**< watch: the watch started */
	bool canceled;               /**< watch: etcd ended it */
	int64_t compact_revision;    /**< watch: asked for a compacted revision */
	char error[256];             /**< a gateway error; empty when none */
};

/**
 * Parse one JSON response (or stream message) of @p len bytes into @p r
 * (release with etcd_resp_free()). A message with "error" parses, with
 * the message in r->error.
 * @return 0, or -1 (not JSON, wrong shape, bad base64) with the reason
 * in r->error.
 */
int etcd_resp_parse(const char *json, size_t len, struct etcd_resp *r);

/** Free what etcd_resp_parse() allocated (the struct itself is the caller's). */
void etcd_resp_free(struct etcd_resp *r);

/** A stream of newline-delimited messages (a watch), split as it arrives. */
struct etcd_stream {
	char *buf;
	size_t len, cap;
	size_t off;                  /**< start of the next message in buf */
};

/** Append @p n bytes received. @return 0, or -1 (out of memory, line too long). */
int etcd_stream_feed(struct etcd_stream *s, const void *data, size_t n);

/**
 * The next complete message, without its newline (valid until the next
 * feed). @return its length, or 0 when none is complete yet (blank lines
 * are skipped).
 */
size_t etcd_stream_next(struct etcd_stream *s, const char **msg);

/** Free the buffer. */
void etcd_stream_free(struct etcd_stream *s);

#endif
