/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the worker half of shadow comparison. The HTTP parser over
 * every framing (each stream also fed split at every byte and a byte at a
 * time, giving the same messages), ignored headers, bad and long input,
 * truncation; the DNS parser; the digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare.h"

#define MSG_MAX 64
/* Streams longer than this are split every SPLIT_STRIDE bytes, not at
 * every byte (which is quadratic). */
#define SPLIT_ALL_MAX 8192
#define SPLIT_STRIDE 997

struct run {
	struct compare_msg m[MSG_MAX];
	unsigned int n;
	uint32_t dropped;
};

struct stream {
	bool resp;
	unsigned int heads;             /* HEAD requests announced first */
	const struct compare_ignore *ign;
	bool close;                     /* close after the last byte */
};

static const struct compare_ignore no_ign = { 0 };

static const struct compare_ignore volatile_ign = {
	.n = 3, .names = { "date", "server", "set-cookie" },
};

/* ---- helpers ---- */

static uint64_t
H(const char *s)
{
	return compare_digest(0, s, strlen(s));
}

/* The contract's digest: start (status or method SP target), headers, body. */
static uint64_t
msg_digest(const char *start, uint64_t hdr, uint64_t body)
{
	return compare_digest_u64(compare_digest_u64(H(start), hdr), body);
}

static void
run_init(const struct stream *s, struct compare_http *p, struct run *r)
{
	memset(r, 0, sizeof(*r));
	compare_http_init(p, s->resp);
	for (unsigned int i = 0; i < s->heads; i++)
		compare_http_expect_head(p);
}

static void
run_feed(struct compare_http *p, const struct stream *s, const char *d,
	 size_t n, struct run *r)
{
	r->n += compare_http_feed(p, (const uint8_t *)d, n, s->ign, r->m + r->n,
				  MSG_MAX - r->n);
}

static void
run_end(struct compare_http *p, const struct stream *s, struct run *r)
{
	if (s->close && r->n < MSG_MAX)
		r->n += compare_http_close(p, &r->m[r->n]);
	r->dropped = p->dropped;
}

/* Feed @p in whole (cut = len, step = 0), cut in two at @p cut, or in
 * pieces of @p step bytes. */
static void
run_stream(const struct stream *s, const char *in, size_t len, size_t cut,
	   size_t step, struct run *r)
{
	struct compare_http p;

	run_init(s, &p, r);
	if (step == 0) {
		run_feed(&p, s, in, cut, r);
		run_feed(&p, s, in + cut, len - cut, r);
	} else {
		for (size_t off = 0; off < len; off += step)
			run_feed(&p, s, in + off, len - off < step ? len - off : step, r);
	}
	run_end(&p, s, r);
}

static void
assert_msg_equal(const struct compare_msg *a, const struct compare_msg *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->size, b->size);
	assert_true(a->digest == b->digest);
	assert_true(a->header_digest == b->header_digest);
	assert_true(a->body_digest == b->body_digest);
	assert_memory_equal(a->method, b->method, sizeof(a->method));
	assert_memory_equal(a->path, b->path, sizeof(a->path));
}

static void
assert_runs_equal(const struct run *a, const struct run *b)
{
	assert_int_equal(a->n, b->n);
	assert_int_equal(a->dropped, b->dropped);
	for (unsigned int i = 0; i < a->n; i++)
		assert_msg_equal(&a->m[i], &b->m[i]);
}

static void
assert_strings_bounded(const struct run *r)
{
	for (unsigned int i = 0; i < r->n; i++) {
		assert_non_null(memchr(r->m[i].method, 0, sizeof(r->m[i].method)));
		assert_non_null(memchr(r->m[i].path, 0, sizeof(r->m[i].path)));
	}
}

/* Parse @p in whole into @p r, and check that every way of cutting it
 * gives the same messages. */
static void
check_stream_len(const struct stream *s, const char *in, size_t len, struct run *r)
{
	static struct run other;
	size_t stride = len > SPLIT_ALL_MAX ? SPLIT_STRIDE : 1;

	run_stream(s, in, len, len, 0, r);
	assert_strings_bounded(r);
	for (size_t cut = 0; cut <= len; cut += stride) {
		run_stream(s, in, len, cut, 0, &other);
		assert_runs_equal(r, &other);
	}
	run_stream(s, in, len, 0, 1, &other);
	assert_runs_equal(r, &other);
	run_stream(s, in, len, 0, 7, &other);
	assert_runs_equal(r, &other);
}

static void
check_stream(const struct stream *s, const char *in, struct run *r)
{
	check_stream_len(s, in, strlen(in), r);
}

/* One message from a stream and nothing else. */
static const struct compare_msg *
only_msg(const struct stream *s, const char *in, struct run *r)
{
	check_stream(s, in, r);
	assert_int_equal(r->n, 1);
	return &r->m[0];
}

static const struct stream req_s = { .resp = false, .ign = &no_ign };
static const struct stream resp_s = { .resp = true, .ign = &no_ign };
static const struct stream resp_close_s = { .resp = true, .ign = &no_ign, .close = true };
static const struct stream req_close_s = { .resp = false, .ign = &no_ign, .close = true };
static const struct stream resp_ign_s = { .resp = true, .ign = &volatile_ign };

/* ---- digest ---- */

static void
test_digest(void **state)
{
	uint8_t buf[300];
	uint64_t whole, h;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	/* FNV-1a 64 of "a", carried as state xor offset basis. */
	assert_true(compare_digest(0, "a", 1) ==
		    (0xaf63dc4c8601ec8cULL ^ 0xcbf29ce484222325ULL));
	assert_true(compare_digest(0, buf, 0) == 0);
	assert_true(compare_digest(12345, buf, 0) == 12345);
	whole = compare_digest(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut++) {
		h = compare_digest(compare_digest(0, buf, cut), buf + cut,
				   sizeof(buf) - cut);
		assert_true(h == whole);
	}
	h = 0;
	for (size_t i = 0; i < sizeof(buf); i++)
		h = compare_digest(h, buf + i, 1);
	assert_true(h == whole);
	assert_true(compare_digest(0, "ab", 2) != compare_digest(0, "ba", 2));
}

/* ---- requests ---- */

static void
test_request_length(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	m = only_msg(&req_s, "POST /api/x?y=1 HTTP/1.1\r\nHost:  a.example \r\n"
		     "Content-Length: 5\r\n\r\nhello", &r);
	assert_string_equal(m->method, "POST");
	assert_string_equal(m->path, "/api/x?y=1");
	assert_int_equal(m->status, 0);
	assert_int_equal(m->flags, 0);
	assert_int_equal(m->size, 5);
	assert_true(m->body_digest == H("hello"));
	assert_true(m->header_digest == H("host:a.example\ncontent-length:5\n"));
	assert_true(m->digest == msg_digest("POST /api/x?y=1", m->header_digest,
					    m->body_digest));
}

static void
test_request_no_body_bare_lf(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	/* Bare LF line ends and empty lines before a request are accepted. */
	m = only_msg(&req_s, "\r\n\nGET / HTTP/1.0\nAccept: */*\n\n", &r);
	assert_string_equal(m->method, "GET");
	assert_string_equal(m->path, "/");
	assert_int_equal(m->size, 0);
	assert_true(m->body_digest == 0);
	assert_true(m->header_digest == H("accept:*/*\n"));
	assert_true(m->digest == msg_digest("GET /", m->header_digest, 0));
}

static void
test_request_chunked(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	m = only_msg(&req_s, "PUT /up HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n"
		     "5;ext=1\r\nhello\r\n6 ; a=\"b\"\r\n world\r\n"
		     "0\r\nX-Trailer: t\r\n\r\n", &r);
	assert_string_equal(m->method, "PUT");
	assert_int_equal(m->size, 11);
	assert_true(m->body_digest == H("hello world"));
	assert_true(m->header_digest ==
		    H("host:h\ntransfer-encoding:chunked\nx-trailer:t\n"));
}

static void
test_request_long_method(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	m = only_msg(&req_s, "PROPFIND /dav HTTP/1.1\r\n\r\n", &r);
	assert_string_equal(m->method, "PROPFIN");
	/* The digest has the whole method. */
	assert_true(m->digest == msg_digest("PROPFIND /dav", 0, 0));
}

static const char three_requests[] =
	"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	"POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";

static void
test_request_pipelined(void **state)
{
	struct run r, one;
	struct compare_http p;
	const char *parts[3];
	size_t lens[3];

	(void)state;
	check_stream(&req_s, three_requests, &r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.m[0].path, "/a");
	assert_string_equal(r.m[1].path, "/b");
	assert_string_equal(r.m[2].path, "/c");
	assert_int_equal(r.m[1].size, 3);
	assert_int_equal(r.m[2].size, 2);
	assert_true(r.m[2].body_digest == H("xy"));

	/* Keep-alive: the same requests one per feed, the same messages. */
	parts[0] = three_requests;
	lens[0] = strlen("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	parts[1] = parts[0] + lens[0];
	lens[1] = strlen("POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	parts[2] = parts[1] + lens[1];
	lens[2] = strlen(parts[2]);
	run_init(&req_s, &p, &one);
	for (int i = 0; i < 3; i++) {
		unsigned int before = one.n;

		run_feed(&p, &req_s, parts[i], lens[i], &one);
		assert_int_equal(one.n, before + 1);
	}
	run_end(&p, &req_s, &one);
	assert_runs_equal(&r, &one);
}

static void
test_request_upgrade_then_bytes(void **state)
{
	struct run r;

	(void)state;
	/* After an upgrade request the client speaks something else. */
	check_stream(&req_close_s, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"
		     "\x81\x85xyzw", &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.m[0].path, "/ws");
	assert_int_equal(r.m[1].flags, COMPARE_F_UNPARSED);
	assert_int_equal(r.m[1].size, 6);
	assert_true(r.m[1].digest == H("\x81\x85xyzw"));
}

/* ---- responses ---- */

static void
test_response_length(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	m = only_msg(&resp_s, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		     "Content-Length: 2\r\n\r\nhi", &r);
	assert_int_equal(m->status, 200);
	assert_string_equal(m->method, "");
	assert_string_equal(m->path, "");
	assert_int_equal(m->size, 2);
	assert_true(m->header_digest == H("content-type:text/plain\ncontent-length:2\n"));
	assert_true(m->body_digest == H("hi"));
	assert_true(m->digest == msg_digest("200", m->header_digest, m->body_digest));
}

static void
test_response_no_reason(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	m = only_msg(&resp_s, "HTTP/1.0 404\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(m->status, 404);
	assert_int_equal(m->size, 0);
}

static void
test_response_chunked(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	m = only_msg(&resp_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
		     "A;name=value;other\r\n0123456789\r\n"
		     "1\r\n!\r\n"
		     "0;last\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", &r);
	assert_int_equal(m->status, 200);
	assert_int_equal(m->size, 11);
	assert_true(m->body_digest == H("0123456789!"));
	assert_true(m->header_digest ==
		    H("transfer-encoding:gzip, Chunked\nexpires:never\nx-sum:1\n"));
}

static void
test_response_chunked_no_trailers_then_next(void **state)
{
	struct run r;

	(void)state;
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "3\r\nabc\r\n0\r\n\r\n"
		     "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nz", &r);
	assert_int_equal(r.n, 2);
	assert_true(r.m[0].body_digest == H("abc"));
	assert_int_equal(r.m[1].status, 201);
	assert_true(r.m[1].body_digest == H("z"));
}

static void
test_response_until_close(void **state)
{
	struct run r;
	struct compare_http p;
	const char *in = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of this until close";

	(void)state;
	/* Nothing before the close. */
	check_stream(&resp_s, in, &r);
	assert_int_equal(r.n, 0);

	check_stream(&resp_close_s, in, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].status, 200);
	assert_int_equal(r.m[0].flags, 0);
	assert_int_equal(r.m[0].size, strlen("all of this until close"));
	assert_true(r.m[0].body_digest == H("all of this until close"));

	/* A transfer coding that is not chunked: read until close too. */
	check_stream(&resp_close_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
		     "Content-Length: 3\r\n\r\nabcdef", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].size, 6);

	/* Closed after the head, before any body byte. */
	run_init(&resp_close_s, &p, &r);
	run_feed(&p, &resp_close_s, "HTTP/1.1 200 OK\r\n\r\n", 19, &r);
	run_end(&p, &resp_close_s, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].flags, 0);
	assert_int_equal(r.m[0].size, 0);
}

static void
test_response_head(void **state)
{
	struct stream s = resp_s;
	struct run r;

	(void)state;
	s.heads = 1;
	check_stream(&s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.m[0].size, 0);
	assert_true(r.m[0].body_digest == 0);
	assert_true(r.m[0].header_digest == H("content-length:100\n"));
	assert_int_equal(r.m[1].size, 2);

	/* Two HEADs pipelined, chunked and until-close heads: no bodies. */
	s.heads = 2;
	check_stream(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "HTTP/1.1 200 OK\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.m[2].size, 1);
}

static void
test_response_204_304(void **state)
{
	struct run r;

	(void)state;
	check_stream(&resp_s, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
		     "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.m[0].status, 204);
	assert_int_equal(r.m[0].size, 0);
	assert_int_equal(r.m[1].status, 304);
	assert_int_equal(r.m[1].size, 0);
	assert_int_equal(r.m[2].status, 200);
	assert_true(r.m[2].body_digest == H("hello"));
}

static void
test_response_100_continue(void **state)
{
	static const char final[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct stream s = resp_s;
	char in[256];
	struct run r, plain;

	(void)state;
	check_stream(&resp_s, final, &plain);
	snprintf(in, sizeof(in), "HTTP/1.1 100 Continue\r\n\r\n"
		 "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n%s", final);
	check_stream(&resp_s, in, &r);
	assert_int_equal(r.n, 1);
	assert_runs_equal(&r, &plain);
	/* An interim response does not use up a HEAD. */
	s.heads = 1;
	check_stream(&s, "HTTP/1.1 100 Continue\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].size, 0);
}

static void
test_response_101(void **state)
{
	struct run r;
	struct compare_http p;

	(void)state;
	check_stream(&resp_close_s, "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		     "\x81\x05hello", &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.m[0].status, 101);
	assert_int_equal(r.m[0].flags, 0);
	assert_true(r.m[0].header_digest == H("upgrade:websocket\nconnection:Upgrade\n"));
	assert_int_equal(r.m[1].status, 0);
	assert_int_equal(r.m[1].flags, COMPARE_F_UNPARSED);
	assert_int_equal(r.m[1].size, 7);
	assert_true(r.m[1].digest == H("\x81\x05hello"));
	assert_true(r.m[1].body_digest == r.m[1].digest);

	/* The 101 comes out on the feed; no bytes after it: nothing at close. */
	run_init(&resp_close_s, &p, &r);
	run_feed(&p, &resp_close_s, "HTTP/1.1 101 Switching\r\n\r\n", 26, &r);
	assert_int_equal(r.n, 1);
	run_end(&p, &resp_close_s, &r);
	assert_int_equal(r.n, 1);
}

static void
test_response_pipelined(void **state)
{
	struct run r;

	(void)state;
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
		     "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "4\r\nnope\r\n0\r\n\r\n"
		     "HTTP/1.1 204 No Content\r\n\r\n"
		     "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.m[0].status, 200);
	assert_int_equal(r.m[1].status, 404);
	assert_true(r.m[1].body_digest == H("nope"));
	assert_int_equal(r.m[2].status, 204);
	assert_int_equal(r.m[3].status, 500);
}

/* Where each message ends in the piece fed (compare_msg.end), and the heads
 * (evidence) cut there: each answer's own bytes, pipelined or split. */
static void
test_message_end_and_heads(void **state)
{
	static const char *const part[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n",
		"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
	};
	char all[512] = "";
	struct compare_http p;
	struct compare_msg m[8];
	struct compare_head h;
	struct compare_chunk ch[COMPARE_HEAD_CHUNKS];
	uint32_t end = 0, len, split;
	unsigned int n, i, k;

	(void)state;
	for (i = 0; i < 3; i++)
		strcat(all, part[i]);
	len = (uint32_t)strlen(all);
	/* One piece: ends at each message's last byte. */
	compare_http_init(&p, true);
	n = compare_http_feed(&p, (const uint8_t *)all, len, NULL, m, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		end += (uint32_t)strlen(part[i]);
		assert_int_equal(m[i].end, end);
	}
	/* Split anywhere, as a worker does: each head is exactly its answer. */
	for (split = 1; split < len; split += 7) {
		compare_http_init(&p, true);
		memset(&h, 0, sizeof(h));
		k = 0;
		for (uint32_t off = 0; off < len; off += split) {
			uint32_t piece = len - off < split ? len - off : split;
			const uint8_t *d = (const uint8_t *)all + off;

			compare_head_add(&h, 1, d, piece);
			n = compare_http_feed(&p, d, piece, NULL, m, 8);
			for (i = 0; i < n; i++, k++) {
				assert_int_equal(compare_head_take(&h, 1, k, COMPARE_PROD, 0,
								   d + m[i].end, piece - m[i].end,
								   ch), 1);
				assert_int_equal(ch[0].len, strlen(part[k]));
				assert_memory_equal(ch[0].data, part[k], ch[0].len);
				assert_int_equal(ch[0].exchange, k);
				assert_true(ch[0].flags & COMPARE_F_BYTES);
			}
		}
		assert_int_equal(k, 3);
	}
	/* A flow that carries no evidence keeps nothing. */
	memset(&h, 0, sizeof(h));
	compare_head_add(&h, 2, (const uint8_t *)all, len);
	assert_int_equal(h.len, 0);
	assert_int_equal(compare_head_take(&h, 2, 0, COMPARE_PROD, 0, NULL, 0, ch), 0);
}

/* A request's head held apart (compare_head_move), sent later whole. */
static void
test_head_move(void **state)
{
	static const char *const req[2] = {
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", "GET /b HTTP/1.1\r\n\r\n",
	};
	char all[128] = "";
	struct compare_http p;
	struct compare_msg m[8];
	struct compare_head h, held;
	struct compare_chunk ch[COMPARE_HEAD_CHUNKS];
	uint32_t len;
	unsigned int n;

	(void)state;
	strcat(all, req[0]);
	strcat(all, req[1]);
	len = (uint32_t)strlen(all);
	compare_http_init(&p, false);
	memset(&h, 0, sizeof(h));
	memset(&held, 0, sizeof(held));
	compare_head_add(&h, 1, (const uint8_t *)all, len);
	n = compare_http_feed(&p, (const uint8_t *)all, len, NULL, m, 8);
	assert_int_equal(n, 2);
	for (unsigned int i = 0; i < n; i++) {
		/* The rest (the next request's bytes) stays in h. */
		compare_head_move(&h, 1, (const uint8_t *)all + m[i].end, len - m[i].end,
				  &held);
		assert_int_equal(held.len, strlen(req[i]));
		assert_memory_equal(held.data, req[i], held.len);
		assert_int_equal(h.len, len - m[i].end);
		assert_int_equal(compare_head_take(&held, 1, i, COMPARE_CHUNK_REQUEST, 0,
						   NULL, 0, ch), 1);
		assert_int_equal(ch[0].len, strlen(req[i]));
		assert_memory_equal(ch[0].data, req[i], ch[0].len);
		assert_int_equal(ch[0].side, COMPARE_CHUNK_REQUEST);
		assert_int_equal(held.len, 0);
	}
	/* A flow that carries no evidence moves nothing. */
	compare_head_move(&h, 2, NULL, 0, &held);
	assert_int_equal(held.len, 0);
}

static void
test_te_and_length(void **state)
{
	struct run r;
	const struct compare_msg *m;

	(void)state;
	/* Transfer-Encoding wins over Content-Length; equal lengths repeat. */
	m = only_msg(&resp_s, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", &r);
	assert_int_equal(m->size, 2);
	m = only_msg(&resp_s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		     "content-length: 2 \r\n\r\nab", &r);
	assert_int_equal(m->size, 2);
	/* Not "chunked" as a whole token. */
	check_stream(&resp_close_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n"
		     "0\r\n\r\n", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].size, 5);
	/* The last Transfer-Encoding header names the last coding. */
	check_stream(&resp_close_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		     "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].size, 5);
}

/* ---- ignored headers, digests ---- */

static void
test_ignored_headers(void **state)
{
	static const char a[] = "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024\r\n"
		"Server: prod/1.0\r\nContent-Type: text/plain\r\nSet-Cookie: s=1\r\n"
		"Content-Length: 2\r\n\r\nhi";
	static const char b[] = "HTTP/1.1 200 OK\r\nServer: shadow/2.0\r\n"
		"Content-Type:   text/plain \t\r\nDATE: Tue, 02 Jan 2024\r\n"
		"set-cookie: s=2; Path=/\r\nSet-Cookie: t=3\r\nContent-Length: 2\r\n\r\nhi";
	static const char c[] = "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024\r\n"
		"Server: prod/1.0\r\nContent-Type: text/html\r\nSet-Cookie: s=1\r\n"
		"Content-Length: 2\r\n\r\nhi";
	struct run ra, rb, rc;

	(void)state;
	check_stream(&resp_ign_s, a, &ra);
	check_stream(&resp_ign_s, b, &rb);
	check_stream(&resp_ign_s, c, &rc);
	assert_int_equal(ra.n, 1);
	assert_true(ra.m[0].header_digest ==
		    H("content-type:text/plain\ncontent-length:2\n"));
	assert_runs_equal(&ra, &rb);
	assert_true(ra.m[0].header_digest != rc.m[0].header_digest);
	assert_true(ra.m[0].digest != rc.m[0].digest);
	assert_true(ra.m[0].body_digest == rc.m[0].body_digest);

	/* Without the ignore list the volatile headers count. */
	check_stream(&resp_s, a, &ra);
	check_stream(&resp_s, b, &rb);
	assert_true(ra.m[0].header_digest != rb.m[0].header_digest);
	assert_true(ra.m[0].digest != rb.m[0].digest);
}

static void
test_header_order_and_status_count(void **state)
{
	struct run ra, rb;

	(void)state;
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n", &ra);
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nB: 2\r\nA: 1\r\nContent-Length: 0\r\n\r\n", &rb);
	assert_true(ra.m[0].header_digest != rb.m[0].header_digest);
	/* A line boundary is not a value byte. */
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nA: 1B: 2\r\nContent-Length: 0\r\n\r\n", &rb);
	assert_true(ra.m[0].header_digest != rb.m[0].header_digest);
	/* Reason phrases are not compared, status codes are. */
	check_stream(&resp_s, "HTTP/1.1 200 Fine\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n", &rb);
	assert_runs_equal(&ra, &rb);
	check_stream(&resp_s, "HTTP/1.1 201 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n", &rb);
	assert_true(ra.m[0].header_digest == rb.m[0].header_digest);
	assert_true(ra.m[0].digest != rb.m[0].digest);
	/* Interior blanks of a value count; a value of blanks is empty. */
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nA: 1 \r\nB:2\r\nContent-Length: 0\r\n\r\n", &rb);
	assert_runs_equal(&ra, &rb);
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nA: 1  1\r\nContent-Length: 0\r\n\r\n", &ra);
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nA: 1 1\r\nContent-Length: 0\r\n\r\n", &rb);
	assert_true(ra.m[0].header_digest != rb.m[0].header_digest);
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nA:   \t \r\nContent-Length: 0\r\n\r\n", &ra);
	assert_true(ra.m[0].header_digest == H("a:\ncontent-length:0\n"));
}

static void
test_body_differs(void **state)
{
	struct run ra, rb, rc;

	(void)state;
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &ra);
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhellO", &rb);
	assert_true(ra.m[0].header_digest == rb.m[0].header_digest);
	assert_true(ra.m[0].body_digest != rb.m[0].body_digest);
	assert_true(ra.m[0].digest != rb.m[0].digest);
	/* The same body chunked differently: same body digest. */
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", &rb);
	check_stream(&resp_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n0\r\n\r\n", &rc);
	assert_true(ra.m[0].body_digest == rb.m[0].body_digest);
	assert_runs_equal(&rb, &rc);
}

/* ---- bad input ---- */

struct bad_case {
	bool resp;
	const char *in;
	unsigned int good;      /* messages before the bad one */
	size_t bad_off;         /* where the bad message starts */
};

static const struct bad_case bad_cases[] = {
	{ false, "hello world\r\n\r\n", 0, 0 },
	{ false, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, 0 },
	{ false, "GET / HTTP/1.1 extra\r\n\r\n", 0, 0 },
	{ false, "GET / HTTP/2.0\r\n\r\n", 0, 0 },
	{ false, "GET /a b HTTP/1.1\r\n\r\n", 0, 0 },
	{ false, "GET  / HTTP/1.1\r\n\r\n", 0, 0 },
	{ false, "GET /\r\n\r\n", 0, 0 },
	{ false, "GET / HTTP/1.1\r\nFoo bar\r\n\r\n", 0, 0 },
	{ false, "GET / HTTP/1.1\r\nFoo : bar\r\n\r\n", 0, 0 },
	{ false, "GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", 0, 0 },
	{ false, "GET / HTTP/1.1\rX\n\r\n", 0, 0 },
	{ false, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxyz", 0, 0 },
	{ false, "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\nxyz", 0, 0 },
	{ false, "POST / HTTP/1.1\r\nContent-Length: \r\n\r\nxyz", 0, 0 },
	{ false, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, 0 },
	{ false, "GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/1.1\r\n:x\r\n\r\n", 1, 20 },
	{ false, "AVERYVERYVERYLONGMETHODNAMEXXXXXXXXX / HTTP/1.1\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1 2x0 OK\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1 1 200 OK\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1 099 Low\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1 2000 OK\r\n\r\n", 0, 0 },
	{ true, "HTTP/2 200\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1  200 OK\r\n\r\n", 0, 0 },
	{ true, "http/1.1 200 OK\r\n\r\n", 0, 0 },
	{ true, "SSH-2.0-OpenSSH_9.6\r\n", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"11111111111111111\r\n", 0, 0 },
	{ true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n", 0, 0 },
	{ true, "HTTP/1.1 204 No Content\r\n\r\nGARBAGE", 1, 27 },
};

static void
test_bad_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct stream s = { .resp = b->resp, .ign = &no_ign };
		size_t len = strlen(b->in);
		struct run r;
		struct compare_msg *m;

		/* Nothing from the bad message until the close. */
		check_stream(&s, b->in, &r);
		assert_int_equal(r.n, b->good);
		s.close = true;
		check_stream(&s, b->in, &r);
		if (r.n != b->good + 1)
			fail_msg("case %zu: %u messages", i, r.n);
		m = &r.m[b->good];
		/* A status counts only with its three digits. */
		if (b->resp && m->status != 0 && (m->status < 100 || m->status > 999))
			fail_msg("case %zu: status %u", i, m->status);
		if (!(m->flags & COMPARE_F_UNPARSED) || m->size != len - b->bad_off ||
		    m->digest != compare_digest(0, b->in + b->bad_off, len - b->bad_off))
			fail_msg("case %zu: flags %u size %u", i, m->flags, m->size);
	}
}

/* Deterministic pseudo-random streams: valid messages mutated, and noise. */
static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void
test_noise(void **state)
{
	static const char *seeds[] = {
		three_requests,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\r\nhello\r\n0\r\nT: 1\r\n\r\n"
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	};
	char buf[512];
	uint32_t seed = 1;

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		const char *src = seeds[iter % 2];
		size_t len = strlen(src);
		struct stream s = { .resp = iter % 2, .ign = &volatile_ign,
				    .close = true, .heads = iter % 3 == 0 };
		struct run r;

		memcpy(buf, src, len);
		for (int k = 0; k < 1 + iter % 4; k++)
			buf[lcg(&seed) % len] = (char)lcg(&seed);
		if (iter % 10 == 0)
			for (size_t k = 0; k < len; k++)
				buf[k] = (char)lcg(&seed);
		run_stream(&s, buf, len, lcg(&seed) % (len + 1), 0, &r);
		assert_strings_bounded(&r);
		assert_true(r.n <= 4);
	}
}

/* ---- long lines ---- */

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_long_value(void **state)
{
	char *v = repeat('v', 5000), *in = malloc(6000);
	struct run r, plain;

	(void)state;
	assert_non_null(in);
	snprintf(in, 6000, "HTTP/1.1 200 OK\r\nX-Long: %s  \r\nContent-Length: 1\r\n\r\nz", v);
	check_stream(&resp_ign_s, in, &r);
	assert_int_equal(r.n, 1);
	assert_true(r.m[0].header_digest ==
		    compare_digest(compare_digest(H("x-long:"), v, 5000), "\ncontent-length:1\n", 18));
	/* A long ignored value leaves no trace. */
	snprintf(in, 6000, "HTTP/1.1 200 OK\r\nSet-Cookie: %s\r\nContent-Length: 1\r\n\r\nz", v);
	check_stream(&resp_ign_s, in, &r);
	check_stream(&resp_ign_s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", &plain);
	assert_runs_equal(&r, &plain);
	free(v);
	free(in);
}

static void
test_very_long_lines(void **state)
{
	size_t n = 100000, cap = 3 * n + 256;
	char *reason = repeat('r', n), *name = repeat('n', 1000), *target = repeat('t', n);
	char *in = malloc(cap);
	struct run r;
	const struct compare_msg *m;

	(void)state;
	assert_non_null(in);
	snprintf(in, cap, "HTTP/1.1 200 %s\r\n%s: %s\r\nContent-Length: 2\r\n\r\nok",
		 reason, name, target);
	m = only_msg(&resp_s, in, &r);
	assert_int_equal(m->status, 200);
	assert_int_equal(m->size, 2);
	assert_true(m->header_digest ==
		    compare_digest(compare_digest(compare_digest(compare_digest(0, name, 1000),
								 ":", 1), target, n),
				   "\ncontent-length:2\n", 18));

	snprintf(in, cap, "GET /%s HTTP/1.1\r\n\r\n", target);
	m = only_msg(&req_s, in, &r);
	assert_int_equal(strlen(m->path), COMPARE_PATH_MAX - 1);
	assert_memory_equal(m->path, in + 4, COMPARE_PATH_MAX - 1);
	free(reason);
	free(name);
	free(target);
	free(in);
}

static void
test_long_name_never_ignored(void **state)
{
	struct compare_ignore ign = { .n = 1 };
	struct stream s = { .resp = true, .ign = &ign };
	char in[512], n48[COMPARE_HDR_NAME_MAX + 1], n49[COMPARE_HDR_NAME_MAX + 2];
	struct run r, plain, unignored;

	(void)state;
	memset(ign.names[0], 'a', COMPARE_HDR_NAME_MAX); /* no NUL: all 48 used */
	memset(n48, 'A', COMPARE_HDR_NAME_MAX);
	n48[COMPARE_HDR_NAME_MAX] = '\0';
	memset(n49, 'a', COMPARE_HDR_NAME_MAX + 1);
	n49[COMPARE_HDR_NAME_MAX + 1] = '\0';
	check_stream(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &plain);

	snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n%s: x\r\nContent-Length: 0\r\n\r\n", n48);
	check_stream(&s, in, &r);
	assert_runs_equal(&r, &plain);

	snprintf(in, sizeof(in), "HTTP/1.1 200 OK\r\n%s: x\r\nContent-Length: 0\r\n\r\n", n49);
	check_stream(&s, in, &r);
	assert_true(r.m[0].header_digest != plain.m[0].header_digest);
	check_stream(&resp_s, in, &unignored);
	assert_runs_equal(&r, &unignored);
}

/* ---- close ---- */

static void
test_truncated(void **state)
{
	struct run r;
	struct compare_http p;
	struct compare_msg m;

	(void)state;
	check_stream(&resp_close_s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].flags, COMPARE_F_TRUNCATED);
	assert_int_equal(r.m[0].status, 200);
	assert_int_equal(r.m[0].size, 4);
	assert_true(r.m[0].body_digest == H("abcd"));

	check_stream(&resp_close_s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "4\r\nabcd\r\n8\r\nef", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].flags, COMPARE_F_TRUNCATED);
	assert_int_equal(r.m[0].size, 6);
	assert_true(r.m[0].body_digest == H("abcdef"));

	/* Cut in the head. */
	check_stream(&resp_close_s, "HTTP/1.1 50", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].flags, COMPARE_F_TRUNCATED);
	assert_int_equal(r.m[0].status, 0);
	check_stream(&resp_close_s, "HTTP/1.1 503 Unavail", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].flags, COMPARE_F_TRUNCATED);
	assert_int_equal(r.m[0].status, 503);
	check_stream(&req_close_s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nPOST /y HTTP/1.1\r\nContent-Le", &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.m[0].flags, 0);
	assert_int_equal(r.m[1].flags, COMPARE_F_TRUNCATED);
	assert_string_equal(r.m[1].path, "/y");

	/* Between messages: nothing; closed: nothing more. */
	check_stream(&resp_close_s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\r\n", &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].flags, 0);
	compare_http_init(&p, true);
	assert_int_equal(compare_http_close(&p, &m), 0);
	assert_int_equal(compare_http_feed(&p, (const uint8_t *)"HTTP/1.1 204 X\r\n\r\n", 18,
					   NULL, &m, 1), 0);
	assert_int_equal(compare_http_close(&p, &m), 0);
}

static void
test_out_full(void **state)
{
	struct compare_http p;
	struct compare_msg m[2];
	const char *more = "GET /d HTTP/1.1\r\n\r\n";

	(void)state;
	compare_http_init(&p, false);
	assert_int_equal(compare_http_feed(&p, (const uint8_t *)three_requests,
					   strlen(three_requests), NULL, m, 2), 2);
	assert_string_equal(m[1].path, "/b");
	assert_int_equal(p.dropped, 1);
	assert_int_equal(compare_http_feed(&p, (const uint8_t *)more, strlen(more),
					   NULL, m, 2), 1);
	assert_string_equal(m[0].path, "/d");
	assert_int_equal(compare_http_feed(&p, (const uint8_t *)more, strlen(more),
					   NULL, NULL, 0), 0);
	assert_int_equal(p.dropped, 2);
}

/* ---- DNS ---- */

struct pkt {
	uint8_t b[512];
	size_t len;
};

static void
put8(struct pkt *p, uint8_t v)
{
	assert_true(p->len < sizeof(p->b));
	p->b[p->len++] = v;
}

static void
put16(struct pkt *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

/* "www.example.com" as labels, uncompressed. */
static void
put_name(struct pkt *p, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		put8(p, (uint8_t)n);
		for (size_t i = 0; i < n; i++)
			put8(p, (uint8_t)name[i]);
		name += n + (dot != NULL);
	}
	put8(p, 0);
}

static void
put_ptr(struct pkt *p, uint16_t off)
{
	put16(p, (uint16_t)(0xc000 | off));
}

static void
dns_header(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an)
{
	p->len = 0;
	put16(p, id);
	put16(p, flags);
	put16(p, qd);
	put16(p, an);
	put16(p, 0);
	put16(p, 0);
}

/* The question at offset 12. */
static void
dns_question(struct pkt *p, const char *name, uint16_t type)
{
	put_name(p, name);
	put16(p, type);
	put16(p, 1);
}

/* An A record; owner name as a pointer to the question, or written out. */
static void
dns_a(struct pkt *p, const char *owner, uint32_t ttl, uint32_t addr)
{
	if (owner)
		put_name(p, owner);
	else
		put_ptr(p, 12);
	put16(p, 1);
	put16(p, 1);
	put32(p, ttl);
	put16(p, 4);
	put32(p, addr);
}

static void
dns_response(struct pkt *p, uint16_t rcode, int order, uint32_t ttl, uint32_t last,
	     const char *owner)
{
	dns_header(p, 0xbeef, (uint16_t)(0x8180 | rcode), 1, 2);
	dns_question(p, "www.Example.COM", 1);
	if (order == 0) {
		dns_a(p, NULL, ttl, 0x01020304);
		dns_a(p, owner, ttl + 7, last);
	} else {
		dns_a(p, owner, ttl, last);
		dns_a(p, NULL, ttl * 3, 0x01020304);
	}
}

static void
parse_ok(const struct pkt *p, struct compare_msg *m, uint16_t *id, bool *resp)
{
	assert_int_equal(compare_dns_parse(p->b, p->len, id, resp, m), 0);
	assert_non_null(memchr(m->path, 0, sizeof(m->path)));
}

static void
test_dns_query(void **state)
{
	struct pkt p;
	struct compare_msg m;
	uint16_t id;
	bool resp;

	(void)state;
	dns_header(&p, 0x1234, 0x0100, 1, 0);
	dns_question(&p, "WWW.example.com", 28);
	parse_ok(&p, &m, &id, &resp);
	assert_int_equal(id, 0x1234);
	assert_false(resp);
	assert_int_equal(m.status, 0);
	assert_int_equal(m.flags, 0);
	assert_string_equal(m.path, "www.example.com");
	assert_string_equal(m.method, "");
	assert_int_equal(m.size, p.len);
	assert_true(m.body_digest == 0);

	/* The root, and a name longer than a path. */
	dns_header(&p, 1, 0x0100, 1, 0);
	dns_question(&p, "", 2);
	parse_ok(&p, &m, &id, &resp);
	assert_string_equal(m.path, ".");
	dns_header(&p, 1, 0x0100, 1, 0);
	dns_question(&p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		     "cccccccccccccccccccccccccccccc.d", 1);
	parse_ok(&p, &m, &id, &resp);
	assert_int_equal(strlen(m.path), COMPARE_PATH_MAX - 1);
}

static void
test_dns_answers(void **state)
{
	struct pkt p;
	struct compare_msg a, b;
	uint16_t id;
	bool resp;

	(void)state;
	dns_response(&p, 0, 0, 300, 0x05060708, NULL);
	parse_ok(&p, &a, &id, &resp);
	assert_int_equal(id, 0xbeef);
	assert_true(resp);
	assert_int_equal(a.status, 0);
	assert_string_equal(a.path, "www.example.com");
	assert_true(a.body_digest != 0);

	/* Another order, other TTLs, the owner written out in other case. */
	dns_response(&p, 0, 1, 60, 0x05060708, "WWW.EXAMPLE.com");
	parse_ok(&p, &b, &id, &resp);
	assert_true(a.body_digest == b.body_digest);
	assert_true(a.digest == b.digest);

	/* Other data differs. */
	dns_response(&p, 0, 0, 300, 0x05060709, NULL);
	parse_ok(&p, &b, &id, &resp);
	assert_true(a.body_digest != b.body_digest);
	assert_true(a.digest != b.digest);

	/* Another owner differs. */
	dns_response(&p, 0, 0, 300, 0x05060708, "ww.example.com");
	parse_ok(&p, &b, &id, &resp);
	assert_true(a.body_digest != b.body_digest);

	/* Same answers, other rcode: digest differs. */
	dns_response(&p, 2, 0, 300, 0x05060708, NULL);
	parse_ok(&p, &b, &id, &resp);
	assert_int_equal(b.status, 2);
	assert_true(a.body_digest == b.body_digest);
	assert_true(a.digest != b.digest);

	/* A record twice is not the same as no record. */
	dns_header(&p, 1, 0x8180, 1, 2);
	dns_question(&p, "x.y", 1);
	dns_a(&p, NULL, 1, 0x0a000001);
	dns_a(&p, NULL, 1, 0x0a000001);
	parse_ok(&p, &a, &id, &resp);
	assert_true(a.body_digest != 0);
}

static void
test_dns_nxdomain_tc(void **state)
{
	struct pkt p;
	struct compare_msg m, ok;
	uint16_t id;
	bool resp;

	(void)state;
	dns_header(&p, 7, 0x8183, 1, 0);
	dns_question(&p, "nope.example", 1);
	parse_ok(&p, &m, &id, &resp);
	assert_int_equal(m.status, 3);
	dns_header(&p, 7, 0x8180, 1, 0);
	dns_question(&p, "nope.example", 1);
	parse_ok(&p, &ok, &id, &resp);
	assert_true(m.digest != ok.digest);
	assert_int_equal(ok.flags, 0);

	dns_header(&p, 7, 0x8380, 1, 0);
	dns_question(&p, "big.example", 16);
	parse_ok(&p, &m, &id, &resp);
	assert_int_equal(m.flags, COMPARE_F_TRUNCATED);
}

/* CNAME then A; the CNAME's data and the A's owner compressed or not. */
static void
dns_cname(struct pkt *p, bool compress)
{
	size_t target;

	dns_header(p, 9, 0x8180, 1, 2);
	dns_question(p, "www.example.com", 1);
	put_ptr(p, 12);
	put16(p, 5);
	put16(p, 1);
	put32(p, 100);
	if (compress) {
		put16(p, 6);
		target = p->len;
		put8(p, 3);
		put8(p, 'c');
		put8(p, 'd');
		put8(p, 'n');
		put_ptr(p, 16);         /* "example.com" in the question */
		put_ptr(p, (uint16_t)target);
	} else {
		put16(p, 17);
		put_name(p, "cdn.example.com");
		put_name(p, "CDN.example.com");
	}
	put16(p, 1);
	put16(p, 1);
	put32(p, 100);
	put16(p, 4);
	put32(p, 0x0a0b0c0d);
}

static void
test_dns_compression(void **state)
{
	struct pkt p;
	struct compare_msg a, b;
	uint16_t id;
	bool resp;

	(void)state;
	dns_cname(&p, true);
	parse_ok(&p, &a, &id, &resp);
	dns_cname(&p, false);
	parse_ok(&p, &b, &id, &resp);
	assert_true(a.body_digest == b.body_digest);

	/* A pointer to itself, and two pointing at each other: both end at
	 * the pointer cap, with its own code. */
	dns_header(&p, 1, 0x8180, 1, 1);
	dns_question(&p, "a.b", 1);
	put_ptr(&p, (uint16_t)p.len);
	put16(&p, 1);
	put16(&p, 1);
	put32(&p, 1);
	put16(&p, 4);
	put32(&p, 1);
	assert_int_equal(compare_dns_parse(p.b, p.len, &id, &resp, &a),
			 COMPARE_DNS_TOO_MANY_HOPS);

	dns_header(&p, 1, 0x0100, 1, 0);
	put8(&p, 1);
	put8(&p, 'a');
	put_ptr(&p, 16);
	put_ptr(&p, 12);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(compare_dns_parse(p.b, p.len, &id, &resp, &a),
			 COMPARE_DNS_TOO_MANY_HOPS);

	/* A pointer past the end; a reserved label type. */
	dns_header(&p, 1, 0x0100, 1, 0);
	put_ptr(&p, 400);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(compare_dns_parse(p.b, p.len, &id, &resp, &a), -1);
	dns_header(&p, 1, 0x0100, 1, 0);
	put8(&p, 0x41);
	put8(&p, 0);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(compare_dns_parse(p.b, p.len, &id, &resp, &a), -1);
}

static void
test_dns_truncated(void **state)
{
	struct pkt p;
	struct compare_msg m;
	uint16_t id;
	bool resp;

	(void)state;
	dns_response(&p, 0, 0, 300, 0x05060708, "www.example.com");
	parse_ok(&p, &m, &id, &resp);
	for (size_t n = 0; n < p.len; n++)
		assert_int_equal(compare_dns_parse(p.b, n, &id, &resp, &m), -1);
	dns_cname(&p, true);
	for (size_t n = 0; n < p.len; n++)
		assert_int_equal(compare_dns_parse(p.b, n, &id, &resp, &m), -1);
	assert_int_equal(compare_dns_parse(NULL, 0, &id, &resp, &m), -1);
	/* A name longer than 255 bytes. */
	dns_header(&p, 1, 0x0100, 1, 0);
	for (int i = 0; i < 5; i++) {
		put8(&p, 60);
		for (int k = 0; k < 60; k++)
			put8(&p, 'x');
	}
	put8(&p, 0);
	put16(&p, 1);
	put16(&p, 1);
	assert_int_equal(compare_dns_parse(p.b, p.len, &id, &resp, &m), -1);
}

/*
 * A response with @p an answers after the question ("a" at 12), and after
 * them a chain of @p hops compression pointers: pointer 0 points to the
 * question, pointer k to pointer k - 1. Each answer's owner is a pointer
 * to the chain's last pointer, so reading it follows hops + 1 pointers.
 * As many answers as fit in @p cap bytes are written.
 */
static size_t
dns_chain_msg(uint8_t *b, size_t cap, uint16_t an, unsigned int hops)
{
	size_t fit = (cap - 19 - 2 * hops) / 16;
	size_t n_an = an < fit ? an : fit;
	size_t chain = 19 + 16 * n_an, len = 0;
	uint16_t head = (uint16_t)(hops ? chain + 2 * (hops - 1) : 12);

#define PUT16(v) do { b[len] = (uint8_t)((v) >> 8); b[len + 1] = (uint8_t)(v); \
		      len += 2; } while (0)
	PUT16(7); PUT16(0x8180); PUT16(1); PUT16(an); PUT16(0); PUT16(0);
	b[len++] = 1; b[len++] = 'a'; b[len++] = 0; PUT16(1); PUT16(1);
	for (size_t i = 0; i < n_an; i++) {
		PUT16(0xc000 | head);
		PUT16(1); PUT16(1); PUT16(0); PUT16(60);
		PUT16(4); PUT16(0x0a00); PUT16((uint16_t)i);
	}
	for (unsigned int k = 0; k < hops; k++)
		PUT16(0xc000 | (k == 0 ? 12 : chain + 2 * (k - 1)));
#undef PUT16
	return len;
}

/*
 * Two answers: an opaque record (type 99) whose data is a chain of @p hops
 * pointers (pointer 0 to the question, pointer k to pointer k - 1), then a
 * CNAME whose data points to the chain's last pointer (backwards, as data
 * names must), so reading it follows hops + 1 pointers.
 */
static size_t
dns_cname_chain_msg(uint8_t *b, unsigned int hops)
{
	size_t len = 0, chain = 19 + 12;

#define PUT16(v) do { b[len] = (uint8_t)((v) >> 8); b[len + 1] = (uint8_t)(v); \
		      len += 2; } while (0)
	PUT16(7); PUT16(0x8180); PUT16(1); PUT16(2); PUT16(0); PUT16(0);
	b[len++] = 1; b[len++] = 'a'; b[len++] = 0; PUT16(1); PUT16(1);
	PUT16(0xc000 | 12); PUT16(99); PUT16(1); PUT16(0); PUT16(60);
	PUT16(2 * hops);
	for (unsigned int k = 0; k < hops; k++)
		PUT16(0xc000 | (k == 0 ? 12 : chain + 2 * (k - 1)));
	PUT16(0xc000 | 12); PUT16(5); PUT16(1); PUT16(0); PUT16(60);
	PUT16(2);
	PUT16(0xc000 | (chain + 2 * (hops - 1)));
#undef PUT16
	return len;
}

/* The work one message can ask of a worker is capped, with named codes. */
static void
test_dns_work_caps(void **state)
{
	static uint8_t b[65535];
	struct compare_msg m;
	uint16_t id;
	bool resp;
	size_t n;

	(void)state;
	/* 65535 answers declared, as many as fit written: refused at once. */
	n = dns_chain_msg(b, sizeof(b), 65535, 0);
	assert_true(n > 65000);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m),
			 COMPARE_DNS_TOO_MANY_RECORDS);
	/* The cap counts questions and answers: 1 + 63 is read, 1 + 64 is not. */
	n = dns_chain_msg(b, sizeof(b), COMPARE_DNS_MAX_RECORDS - 1, 0);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m), 0);
	assert_int_equal(id, 7);
	n = dns_chain_msg(b, sizeof(b), COMPARE_DNS_MAX_RECORDS, 0);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m),
			 COMPARE_DNS_TOO_MANY_RECORDS);
	/* Owner names through pointer chains: up to the cap they are read. */
	n = dns_chain_msg(b, sizeof(b), 63, COMPARE_DNS_MAX_HOPS - 1);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m), 0);
	n = dns_chain_msg(b, sizeof(b), 63, COMPARE_DNS_MAX_HOPS);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m),
			 COMPARE_DNS_TOO_MANY_HOPS);
	/* The 64-hop chains the parser used to follow, on every answer. */
	n = dns_chain_msg(b, sizeof(b), 63, 64);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m),
			 COMPARE_DNS_TOO_MANY_HOPS);
	/* Names in answer data (CNAME) are capped the same way. */
	n = dns_cname_chain_msg(b, COMPARE_DNS_MAX_HOPS - 1);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m), 0);
	n = dns_cname_chain_msg(b, COMPARE_DNS_MAX_HOPS);
	assert_int_equal(compare_dns_parse(b, n, &id, &resp, &m),
			 COMPARE_DNS_TOO_MANY_HOPS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_request_length),
		cmocka_unit_test(test_request_no_body_bare_lf),
		cmocka_unit_test(test_request_chunked),
		cmocka_unit_test(test_request_long_method),
		cmocka_unit_test(test_request_pipelined),
		cmocka_unit_test(test_request_upgrade_then_bytes),
		cmocka_unit_test(test_response_length),
		cmocka_unit_test(test_response_no_reason),
		cmocka_unit_test(test_response_chunked),
		cmocka_unit_test(test_response_chunked_no_trailers_then_next),
		cmocka_unit_test(test_response_until_close),
		cmocka_unit_test(test_response_head),
		cmocka_unit_test(test_response_204_304),
		cmocka_unit_test(test_response_100_continue),
		cmocka_unit_test(test_response_101),
		cmocka_unit_test(test_response_pipelined),
		cmocka_unit_test(test_message_end_and_heads),
		cmocka_unit_test(test_head_move),
		cmocka_unit_test(test_te_and_length),
		cmocka_unit_test(test_ignored_headers),
		cmocka_unit_test(test_header_order_and_status_count),
		cmocka_unit_test(test_body_differs),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_very_long_lines),
		cmocka_unit_test(test_long_name_never_ignored),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_out_full),
		cmocka_unit_test(test_dns_query),
		cmocka_unit_test(test_dns_answers),
		cmocka_unit_test(test_dns_nxdomain_tc),
		cmocka_unit_test(test_dns_compression),
		cmocka_unit_test(test_dns_truncated),
		cmocka_unit_test(test_dns_work_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
