/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the HTTP stream parser and the DNS parser never read
 * out of bounds (ASan) nor hit undefined behaviour (UBSan); the HTTP
 * parser gives the same messages whether a stream comes whole or in
 * pieces; what both report is within bounds.
 *
 * Input: byte 0 picks HEADs announced (bits 0-1) and whether the
 * connection closes at the end (bit 2); bytes 1-3 are the sizes of the
 * pieces, in turn (1 to 256); the rest is the stream, and the DNS message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MSG_MAX 1024
#define PREFIX 4

struct run {
	struct compare_msg m[MSG_MAX];
	unsigned int n;
	uint32_t dropped;
};

static const struct compare_ignore ign = {
	.n = 5,
	.names = { "date", "server", "set-cookie", "content-length",
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
};

static void
feed(struct compare_http *p, const uint8_t *d, size_t n, struct run *r)
{
	r->n += compare_http_feed(p, d, n, &ign, r->m + r->n, MSG_MAX - r->n);
}

/* Feed @p d whole (pieces NULL) or in pieces of the sizes given. */
static void
run_stream(bool resp, uint8_t opts, const uint8_t *d, size_t n,
	   const uint8_t *pieces, struct run *r)
{
	struct compare_http p;
	size_t off = 0, k = 0;

	memset(r, 0, sizeof(*r));
	compare_http_init(&p, resp);
	for (int i = 0; i < (opts & 3); i++)
		compare_http_expect_head(&p);
	while (off < n) {
		size_t step = pieces ? 1u + pieces[k++ % 3] : n;

		if (step > n - off)
			step = n - off;
		feed(&p, d + off, step, r);
		off += step;
	}
	if ((opts & 4) && r->n < MSG_MAX)
		r->n += compare_http_close(&p, &r->m[r->n]);
	r->dropped = p.dropped;
}

static void
check_msg(const struct compare_msg *m, bool resp)
{
	CHECK(memchr(m->method, 0, sizeof(m->method)) != NULL);
	CHECK(memchr(m->path, 0, sizeof(m->path)) != NULL);
	CHECK((m->flags & ~(COMPARE_F_UNPARSED | COMPARE_F_TRUNCATED)) == 0);
	if (resp) {
		CHECK(m->method[0] == '\0' && m->path[0] == '\0');
		CHECK(m->status == 0 || (m->status >= 100 && m->status <= 999));
	} else {
		CHECK(m->status == 0);
	}
	if (!(m->flags & COMPARE_F_UNPARSED) && m->size == 0)
		CHECK(m->body_digest == 0);
}

static void
check_http(bool resp, uint8_t opts, const uint8_t *d, size_t n,
	   const uint8_t *pieces)
{
	static struct run whole, cut;

	run_stream(resp, opts, d, n, NULL, &whole);
	run_stream(resp, opts, d, n, pieces, &cut);
	CHECK(whole.n == cut.n && whole.dropped == cut.dropped);
	for (unsigned int i = 0; i < whole.n; i++) {
		/* Where a message ends is an offset in the piece it ended in:
		 * it differs by design between a whole and a cut stream. */
		struct compare_msg a = whole.m[i], b = cut.m[i];

		check_msg(&a, resp);
		a.end = b.end = 0;
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	}
}

static void
check_dns(const uint8_t *d, size_t n)
{
	struct compare_msg m, again;
	uint16_t id, id2;
	bool is_resp, is_resp2;
	int rc;

	memset(&m, 0xa5, sizeof(m));
	rc = compare_dns_parse(d, n, &id, &is_resp, &m);
	CHECK(rc == 0 || rc == -1 || rc == COMPARE_DNS_TOO_MANY_RECORDS ||
	      rc == COMPARE_DNS_TOO_MANY_HOPS);
	if (rc < 0)
		return;
	CHECK(memchr(m.method, 0, sizeof(m.method)) != NULL && m.method[0] == '\0');
	CHECK(memchr(m.path, 0, sizeof(m.path)) != NULL);
	CHECK(m.status <= 15 && m.size == n && n >= 12);
	memset(&again, 0x5a, sizeof(again));
	CHECK(compare_dns_parse(d, n, &id2, &is_resp2, &again) == 0);
	CHECK(id == id2 && is_resp == is_resp2);
	CHECK(memcmp(&m, &again, sizeof(m)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t opts;

	if (size < PREFIX)
		return 0;
	opts = data[0];
	check_http(false, opts, data + PREFIX, size - PREFIX, data + 1);
	check_http(true, opts, data + PREFIX, size - PREFIX, data + 1);
	check_dns(data + PREFIX, size - PREFIX);
	return 0;
}
