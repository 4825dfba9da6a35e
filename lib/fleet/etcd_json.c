/* SPDX-License-Identifier: BSD-3-Clause */
/* etcd v3 JSON gateway messages: building and parsing, no I/O. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etcd_json.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
etcd_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
etcd_b64_decode(const char *in, size_t n, void *out, size_t cap)
{
	unsigned char *o = out;
	uint32_t acc = 0;
	size_t len = 0;
	int bits = 0;

	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(in[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (len == cap)
				return -1;
			o[len++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)len;
}

int
etcd_prefix_end(const char *prefix, char *out, size_t cap)
{
	size_t n = strlen(prefix);

	if (n == 0 || n + 1 > cap)
		return -1;
	memcpy(out, prefix, n + 1);
	while (n > 0) {
		unsigned char c = (unsigned char)out[n - 1];

		if (c < 0xff) {
			out[n - 1] = (char)(c + 1);
			out[n] = '\0';
			return 0;
		}
		n--;
	}
	return -1;
}

/* A JSON string of base64 @p n bytes (a new reference), or NULL. */
static json_t *
b64_json(const void *p, size_t n)
{
	char *s = malloc(ETCD_B64_LEN(n));
	json_t *j;

	if (s == NULL)
		return NULL;
	etcd_b64_encode(p, n, s);
	j = json_string(s);
	free(s);
	return j;
}

static json_t *
i64_json(int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

/* Serialise and release @p o. */
static char *
dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* {"key": .., "range_end": ..} of @p key, or of the keys under it. */
static json_t *
key_obj(const char *key, bool prefix)
{
	json_t *o = json_object();
	char end[ETCD_KEY_MAX + 1];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "key", b64_json(key, strlen(key)));
	if (prefix && etcd_prefix_end(key, end, sizeof(end)) == 0)
		json_object_set_new(o, "range_end", b64_json(end, strlen(end)));
	return o;
}

char *
etcd_req_range(const char *key, bool prefix)
{
	return dump(key_obj(key, prefix));
}

static json_t *
put_obj(const char *key, const void *val, size_t len, int64_t lease)
{
	json_t *o = key_obj(key, false);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "value", b64_json(val, len));
	if (lease)
		json_object_set_new(o, "lease", i64_json(lease));
	return o;
}

char *
etcd_req_put(const char *key, const void *val, size_t len, int64_t lease)
{
	return dump(put_obj(key, val, len, lease));
}

char *
etcd_req_cas(const char *key, const void *val, size_t len, int64_t mod_revision)
{
	json_t *cmp = key_obj(key, false), *o;

	if (cmp == NULL)
		return NULL;
	json_object_set_new(cmp, "target", json_string("MOD"));
	json_object_set_new(cmp, "result", json_string("EQUAL"));
	json_object_set_new(cmp, "mod_revision", i64_json(mod_revision));
	o = json_pack("{s:[o],s:[{s:o}],s:[{s:o}]}", "compare", cmp,
		      "success", "request_put", put_obj(key, val, len, 0),
		      "failure", "request_range", key_obj(key, false));
	return dump(o);
}

/* A compare of @p key's @p target ("MOD", "CREATE") revision with @p rev. */
static json_t *
cmp_obj(const char *key, const char *target, int64_t rev)
{
	json_t *cmp = key_obj(key, false);

	if (cmp == NULL)
		return NULL;
	json_object_set_new(cmp, "target", json_string(target));
	json_object_set_new(cmp, "result", json_string("EQUAL"));
	json_object_set_new(cmp, strcmp(target, "MOD") == 0 ? "mod_revision" :
			    "create_revision", i64_json(rev));
	return cmp;
}

char *
etcd_req_create(const char *key, const void *val, size_t len, int64_t lease)
{
	json_t *o = json_pack("{s:[o],s:[{s:o}],s:[{s:o}]}",
			      "compare", cmp_obj(key, "CREATE", 0),
			      "success", "request_put", put_obj(key, val, len, lease),
			      "failure", "request_range", key_obj(key, false));

	return dump(o);
}

/* A compare that @p fence still has create revision @p fence_rev, appended
 * to @p cmps; nothing when @p fence is NULL. @return 0, or -1. */
static int
fence_add(json_t *cmps, const char *fence, int64_t fence_rev)
{
	if (fence == NULL)
		return 0;
	return json_array_append_new(cmps, cmp_obj(fence, "CREATE", fence_rev));
}

/* The failure branch of a fenced txn: read the fence back (the caller
 * learns whether it still holds it), or nothing when unfenced. */
static json_t *
fence_failure(const char *fence)
{
	return fence ? json_pack("[{s:o}]", "request_range", key_obj(fence, false)) :
		       json_array();
}

char *
etcd_req_move(const char *from, int64_t mod_revision, const char *to, const void *val,
	      size_t len, const char *fence, int64_t fence_rev)
{
	json_t *o = json_pack("{s:[o],s:[{s:o},{s:o}],s:o}",
			      "compare", cmp_obj(from, "MOD", mod_revision),
			      "success", "request_delete_range", key_obj(from, false),
			      "request_put", put_obj(to, val, len, 0),
			      "failure", fence_failure(fence));

	if (o != NULL && fence_add(json_object_get(o, "compare"), fence, fence_rev) < 0) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *
etcd_req_fenced(const char *fence, int64_t fence_rev, const char *put_key,
		const void *val, size_t len, const char *del_key, const char *del_end)
{
	json_t *o = json_pack("{s:[],s:[],s:o}", "compare", "success", "failure",
			      fence_failure(fence));
	json_t *ops = json_object_get(o, "success");

	if (o == NULL || fence_add(json_object_get(o, "compare"), fence, fence_rev) < 0)
		goto fail;
	if (del_key != NULL) {
		json_t *d = key_obj(del_key, false);

		if (d != NULL && del_end != NULL)
			json_object_set_new(d, "range_end", b64_json(del_end, strlen(del_end)));
		if (d == NULL ||
		    json_array_append_new(ops, json_pack("{s:o}", "request_delete_range", d)) < 0)
			goto fail;
	}
	if (put_key != NULL &&
	    json_array_append_new(ops, json_pack("{s:o}", "request_put",
						 put_obj(put_key, val, len, 0))) < 0)
		goto fail;
	return dump(o);
fail:
	json_decref(o);
	return NULL;
}

char *
etcd_req_delete_range(const char *key, const char *range_end)
{
	json_t *o = key_obj(key, false);

	if (o == NULL)
		return NULL;
	if (range_end != NULL)
		json_object_set_new(o, "range_end", b64_json(range_end, strlen(range_end)));
	return dump(o);
}

char *
etcd_req_lease_grant(unsigned int ttl_s)
{
	return dump(json_pack("{s:I}", "TTL", (json_int_t)ttl_s));
}

char *
etcd_req_keepalive(int64_t id)
{
	return dump(json_pack("{s:o}", "ID", i64_json(id)));
}

char *
etcd_req_revoke(int64_t id)
{
	return dump(json_pack("{s:o}", "ID", i64_json(id)));
}

char *
etcd_req_watch(const char *key, bool prefix, int64_t start_revision)
{
	json_t *k = key_obj(key, prefix);

	if (k == NULL)
		return NULL;
	if (start_revision > 0)
		json_object_set_new(k, "start_revision", i64_json(start_revision));
	return dump(json_pack("{s:o}", "create_request", k));
}

/* An int64 field: a decimal string (or, leniently, a number); absent: 0. */
static int
get_i64(json_t *o, const char *name, int64_t *out)
{
	json_t *v = json_object_get(o, name);
	char *end;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return -1;
	*out = strtoll(json_string_value(v), &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* One kv object into @p kv. @return 0, or -1 with the reason in @p r. */
static int
kv_parse(json_t *o, struct etcd_kv *kv, struct etcd_resp *r)
{
	json_t *k = json_object_get(o, "key"), *v = json_object_get(o, "value");
	long n;

	if (!json_is_object(o) || !json_is_string(k)) {
		snprintf(r->error, sizeof(r->error), "a kv without a key");
		return -1;
	}
	n = etcd_b64_decode(json_string_value(k), json_string_length(k), kv->key,
			    sizeof(kv->key) - 1);
	if (n < 0) {
		snprintf(r->error, sizeof(r->error), "a key that is not base64 or too long");
		return -1;
	}
	kv->key[n] = '\0';
	if (get_i64(o, "create_revision", &kv->create_revision) < 0 ||
	    get_i64(o, "mod_revision", &kv->mod_revision) < 0 ||
	    get_i64(o, "version", &kv->version) < 0 ||
	    get_i64(o, "lease", &kv->lease) < 0) {
		snprintf(r->error, sizeof(r->error), "a kv revision that is not a number");
		return -1;
	}
	size_t cap = v && json_is_string(v) ? json_string_length(v) / 4 * 3 + 3 : 0;

	if (v != NULL && !json_is_string(v)) {
		snprintf(r->error, sizeof(r->error), "a value that is not a string");
		return -1;
	}
	if (cap > ETCD_VALUE_MAX + 3) {
		snprintf(r->error, sizeof(r->error), "a value over %u bytes", ETCD_VALUE_MAX);
		return -1;
	}
	kv->value = malloc(cap + 1);
	if (kv->value == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -1;
	}
	n = v ? etcd_b64_decode(json_string_value(v), json_string_length(v), kv->value,
				cap) : 0;
	if (n < 0) {
		snprintf(r->error, sizeof(r->error), "a value that is not base64");
		return -1;
	}
	kv->value[n] = '\0';
	kv->len = (size_t)n;
	return 0;
}

/* Append the kvs of array @p a (watch events when @p events). */
static int
kvs_parse(json_t *a, bool events, struct etcd_resp *r)
{
	size_t i, base = r->n_kvs;
	json_t *e;
	struct etcd_kv *kvs;

	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		snprintf(r->error, sizeof(r->error), "kvs or events is not a list");
		return -1;
	}
	if (json_array_size(a) == 0)
		return 0;
	kvs = realloc(r->kvs, (base + json_array_size(a)) * sizeof(*kvs));
	if (kvs == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -1;
	}
	r->kvs = kvs;
	json_array_foreach(a, i, e) {
		struct etcd_kv *kv = &r->kvs[base + i];
		json_t *o = events ? json_object_get(e, "kv") : e;
		const char *type = events ? json_string_value(json_object_get(e, "type")) : NULL;

		memset(kv, 0, sizeof(*kv));
		r->n_kvs = base + i + 1;
		if (kv_parse(o, kv, r) < 0)
			return -1;
		kv->deleted = type != NULL && strcmp(type, "DELETE") == 0;
	}
	return 0;
}

int
etcd_resp_parse(const char *text, size_t len, struct etcd_resp *r)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je), *o, *x;
	size_t i;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(root)) {
		snprintf(r->error, sizeof(r->error), "etcd answered something that is not "
			 "a JSON object: %s", root ? "another JSON value" : je.text);
		json_decref(root);
		return -1;
	}
	/* Streamed messages carry the message in "result"; errors in "error". */
	o = json_object_get(root, "result");
	if (!json_is_object(o))
		o = root;
	x = json_object_get(root, "error");
	if (x != NULL) {
		json_t *m = json_object_get(x, "message");

		snprintf(r->error, sizeof(r->error), "%s",
			 json_is_string(x) ? json_string_value(x) :
			 json_is_string(m) ? json_string_value(m) : "etcd error");
		json_decref(root);
		return 0;
	}
	if (get_i64(json_object_get(o, "header"), "revision", &r->revision) < 0 ||
	    get_i64(o, "ID", &r->lease_id) < 0 || get_i64(o, "TTL", &r->ttl) < 0 ||
	    get_i64(o, "compact_revision", &r->compact_revision) < 0) {
		snprintf(r->error, sizeof(r->error), "a revision, ID or TTL that is not a number");
		goto out;
	}
	r->succeeded = json_is_true(json_object_get(o, "succeeded"));
	r->created = json_is_true(json_object_get(o, "created"));
	r->canceled = json_is_true(json_object_get(o, "canceled"));
	if (kvs_parse(json_object_get(o, "kvs"), false, r) < 0 ||
	    kvs_parse(json_object_get(o, "events"), true, r) < 0)
		goto out;
	/* txn: the responses of its success or failure branch. */
	json_array_foreach(json_object_get(o, "responses"), i, x) {
		json_t *rr = json_object_get(x, "response_range");

		if (rr && kvs_parse(json_object_get(rr, "kvs"), false, r) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0) {
		char keep[sizeof(r->error)];

		memcpy(keep, r->error, sizeof(keep));
		etcd_resp_free(r);
		memcpy(r->error, keep, sizeof(keep));
	}
	return rc;
}

void
etcd_resp_free(struct etcd_resp *r)
{
	for (size_t i = 0; i < r->n_kvs; i++)
		free(r->kvs[i].value);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

int
etcd_stream_feed(struct etcd_stream *s, const void *data, size_t n)
{
	/* Drop what was consumed before growing. */
	if (s->off > 0) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len + n > ETCD_STREAM_LINE_MAX)
		return -1;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *b;

		while (cap < s->len + n + 1)
			cap *= 2;
		b = realloc(s->buf, cap);
		if (b == NULL)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return 0;
}

size_t
etcd_stream_next(struct etcd_stream *s, const char **msg)
{
	while (s->off < s->len) {
		char *start = s->buf + s->off;
		char *nl = memchr(start, '\n', s->len - s->off);
		size_t n;

		if (nl == NULL)
			return 0;
		n = (size_t)(nl - start);
		s->off += n + 1;
		while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' '))
			n--;
		if (n == 0)
			continue;
		*msg = start;
		return n;
	}
	return 0;
}

void
etcd_stream_free(struct etcd_stream *s)
{
	free(s->buf);
	*s = (struct etcd_stream){ 0 };
}
