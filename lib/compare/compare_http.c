/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Incremental HTTP/1.x parser of one direction of a connection.
 *
 * Start lines, header lines and chunk-size lines are read a byte at a time
 * through a small state machine (a line may be split anywhere and may be
 * of any length: only the start of a header name is kept, the rest is
 * digested as it streams). Header values, chunk data and bodies are taken
 * in spans. Lines end with CR LF or a bare LF; a CR must be followed by LF.
 *
 * Until a message is known to be well framed (its head, or the whole of a
 * chunked message) its raw bytes are digested too, so that when it turns
 * out not to be HTTP the unparsed record covers it from its first byte.
 */
#include <string.h>

#include "compare.h"

/* Where in a message. The states from ST_METHOD to ST_CHUNK_END take
 * one byte at a time. */
enum http_state {
	ST_IDLE = 0,            /* between messages: empty lines skipped */
	ST_METHOD,
	ST_TARGET,
	ST_REQ_VERSION,         /* "HTTP/1.x" then the line's end */
	ST_RESP_VERSION,        /* "HTTP/1.x " */
	ST_STATUS,              /* three digits */
	ST_REASON,
	ST_HDR_START,           /* a header line, or the head's end */
	ST_HDR_NAME,
	ST_HDR_OWS,             /* blanks after ':' */
	ST_HDR_VALUE,
	ST_CHUNK_SIZE,
	ST_CHUNK_EXT,
	ST_CHUNK_END,           /* the CR LF after chunk data */
	ST_CHUNK_DATA,
	ST_BODY_LENGTH,
	ST_BODY_CLOSE,
	ST_UNPARSED,
	ST_CLOSED,
};

/* How the message that just ended goes on. */
enum http_done {
	DONE_NONE = 0,
	DONE_EMIT,
	DONE_SKIP,              /* interim 1xx */
	DONE_UPGRADE,           /* 101: emit, then the stream is not HTTP */
};

/* A header's part in framing. */
enum http_hdr {
	HDR_PLAIN = 0,
	HDR_LENGTH,
	HDR_TE,
};

#define NO_LENGTH UINT64_MAX
#define METHOD_MAX 32           /* longer is not a method */

/* "chunked" as the last 7 bytes of te_tail. */
#define TE_CHUNKED 0x6368756e6b6564ULL

static const char http_version[] = "HTTP/1.";
#define VERSION_LEN (sizeof(http_version) - 1)

static int
is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 'a' - 'A') : c;
}

static int
hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static uint64_t
digest_byte(uint64_t h, uint8_t c)
{
	return compare_digest(h, &c, 1);
}

static uint32_t
add_sat32(uint32_t a, uint64_t b)
{
	uint64_t s = (uint64_t)a + b;

	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* Forget the current message; what belongs to the connection stays. */
static void
message_reset(struct compare_http *p)
{
	uint8_t is_response = p->is_response, head_pending = p->head_pending;
	uint32_t dropped = p->dropped;

	memset(p, 0, sizeof(*p));
	p->is_response = is_response;
	p->head_pending = head_pending;
	p->dropped = dropped;
	p->content_length = NO_LENGTH;
	p->raw_on = 1;
	p->state = ST_IDLE;
}

/* Not HTTP: from here on, bytes. The raw digest already holds the
 * failing message's bytes up to here. */
static void
fail(struct compare_http *p)
{
	p->state = ST_UNPARSED;
	p->flags |= COMPARE_F_UNPARSED;
	p->raw_on = 1;
	p->cr = 0;
}

static void
body_add(struct compare_http *p, const uint8_t *d, size_t n)
{
	p->body_digest = compare_digest(p->body_digest, d, n);
	p->size = add_sat32(p->size, n);
}

/* ---- start lines ---- */

static void
method_byte(struct compare_http *p, uint8_t c)
{
	if (c == ' ' && p->method_len > 0) {
		p->start_digest = digest_byte(p->start_digest, c);
		p->state = ST_TARGET;
		return;
	}
	if (!is_tchar(c) || p->method_len >= METHOD_MAX) {
		fail(p);
		return;
	}
	if (p->method_len < sizeof(p->method) - 1)
		p->method[p->method_len] = (char)c;
	p->method_len++;
	p->start_digest = digest_byte(p->start_digest, c);
}

static void
target_byte(struct compare_http *p, uint8_t c)
{
	if (c == ' ' && p->path_len > 0) {
		p->state = ST_REQ_VERSION;
		p->pos = 0;
		return;
	}
	if (c <= ' ' || c == 0x7f) {
		fail(p);
		return;
	}
	if (p->path_len < COMPARE_PATH_MAX - 1)
		p->path[p->path_len++] = (char)c;
	p->start_digest = digest_byte(p->start_digest, c);
}

/* "HTTP/1." then a digit; false when @p c does not fit. */
static int
version_byte(struct compare_http *p, uint8_t c)
{
	if (p->pos < VERSION_LEN) {
		if (c != (uint8_t)http_version[p->pos])
			return 0;
	} else if (p->pos > VERSION_LEN || c < '0' || c > '9') {
		return 0;
	}
	p->pos++;
	return 1;
}

static void
req_version_byte(struct compare_http *p, uint8_t c)
{
	if (!version_byte(p, c))
		fail(p);
}

static void
resp_version_byte(struct compare_http *p, uint8_t c)
{
	if (p->pos == VERSION_LEN + 1 && c == ' ') {
		p->state = ST_STATUS;
		p->pos = 0;
		return;
	}
	if (!version_byte(p, c))
		fail(p);
}

static void
status_byte(struct compare_http *p, uint8_t c)
{
	if (p->pos == 3 && c == ' ') {
		p->state = ST_REASON;
		return;
	}
	if (p->pos == 3 || c < '0' || c > '9' || (p->pos == 0 && c == '0')) {
		fail(p);
		return;
	}
	/* The status counts once its three digits are in. */
	p->num = p->num * 10 + (uint64_t)(c - '0');
	p->start_digest = digest_byte(p->start_digest, c);
	if (++p->pos == 3)
		p->status = (uint16_t)p->num;
}

/* ---- header lines ---- */

static int
name_is(const struct compare_http *p, const char *s)
{
	size_t n = strlen(s);

	return p->name_len == n && memcmp(p->name, s, n) == 0;
}

static int
name_ignored(const struct compare_http *p, const struct compare_ignore *ign)
{
	unsigned int n;

	if (ign == NULL || p->name_len > COMPARE_HDR_NAME_MAX)
		return 0;
	n = ign->n < COMPARE_IGNORE_MAX ? ign->n : COMPARE_IGNORE_MAX;
	for (unsigned int i = 0; i < n; i++) {
		const char *s = ign->names[i];

		if (strnlen(s, COMPARE_HDR_NAME_MAX) == p->name_len &&
		    memcmp(s, p->name, p->name_len) == 0)
			return 1;
	}
	return 0;
}

static void
name_byte(struct compare_http *p, uint8_t c)
{
	c = lower(c);
	if (p->name_len < COMPARE_HDR_NAME_MAX) {
		p->name[p->name_len++] = (char)c;
		return;
	}
	/* Too long to be ignored: digest what was kept, then stream. */
	if (p->name_len == COMPARE_HDR_NAME_MAX) {
		p->header_digest = compare_digest(p->header_digest, p->name,
						  COMPARE_HDR_NAME_MAX);
		p->name_len++;
	}
	p->header_digest = digest_byte(p->header_digest, c);
}

/* The name is complete (':' seen): decide what the value is for. */
static void
name_end(struct compare_http *p, const struct compare_ignore *ign)
{
	int is_long = p->name_len > COMPARE_HDR_NAME_MAX;

	p->ignored = (uint8_t)name_ignored(p, ign);
	if (!p->ignored) {
		if (!is_long)
			p->header_digest = compare_digest(p->header_digest, p->name,
							  p->name_len);
		p->header_digest = digest_byte(p->header_digest, ':');
	}
	p->value_mark = p->header_digest;
	p->hdr = HDR_PLAIN;
	/* Trailers do not frame the message they end. */
	if (!p->in_trailers && !is_long) {
		if (name_is(p, "content-length"))
			p->hdr = HDR_LENGTH;
		else if (name_is(p, "transfer-encoding"))
			p->hdr = HDR_TE;
	}
	p->num = 0;
	p->num_state = 0;
	p->te_tail = 0;
	p->te_count = 0;
	p->state = ST_HDR_OWS;
}

static void
hdr_start_byte(struct compare_http *p, uint8_t c)
{
	/* A leading blank would be obsolete line folding: not supported. */
	if (!is_tchar(c)) {
		fail(p);
		return;
	}
	p->name_len = 0;
	p->ignored = 0;
	p->state = ST_HDR_NAME;
	name_byte(p, c);
}

static void
hdr_name_byte(struct compare_http *p, uint8_t c, const struct compare_ignore *ign)
{
	if (c == ':')
		name_end(p, ign);
	else if (is_tchar(c))
		name_byte(p, c);
	else
		fail(p);
}

/* Content-Length: digits, blanks only after them. */
static void
length_byte(struct compare_http *p, uint8_t c)
{
	if (is_blank(c)) {
		if (p->num_state == 1)
			p->num_state = 2;
		return;
	}
	if (c < '0' || c > '9' || p->num_state == 2 ||
	    p->num > (UINT64_MAX - 1 - 9) / 10) {
		fail(p);
		return;
	}
	p->num = p->num * 10 + (uint64_t)(c - '0');
	p->num_state = 1;
}

/* Transfer-Encoding: keep the last 8 non-blank bytes to find whether the
 * last coding is chunked. */
static void
te_byte(struct compare_http *p, uint8_t c)
{
	if (is_blank(c))
		return;
	p->te_tail = (p->te_tail << 8) | lower(c);
	if (p->te_count < 8)
		p->te_count++;
}

static void
value_byte(struct compare_http *p, uint8_t c)
{
	if (!p->ignored) {
		p->header_digest = digest_byte(p->header_digest, c);
		if (!is_blank(c))
			p->value_mark = p->header_digest;
	}
	if (p->hdr == HDR_LENGTH)
		length_byte(p, c);
	else if (p->hdr == HDR_TE)
		te_byte(p, c);
}

static int
te_is_chunked(const struct compare_http *p)
{
	if ((p->te_tail & 0xffffffffffffffULL) != TE_CHUNKED)
		return 0;
	return p->te_count == 7 || (p->te_tail >> 56) == ',';
}

static void
hdr_line_end(struct compare_http *p)
{
	if (!p->ignored)
		p->header_digest = digest_byte(p->value_mark, '\n');
	p->state = ST_HDR_START;
	if (p->hdr == HDR_LENGTH) {
		if (p->num_state == 0 ||
		    (p->content_length != NO_LENGTH && p->content_length != p->num)) {
			fail(p);
			return;
		}
		p->content_length = p->num;
	} else if (p->hdr == HDR_TE) {
		p->te = 1;
		p->chunked = (uint8_t)te_is_chunked(p);
	}
}

/* ---- bodies ---- */

static void
chunked_begin(struct compare_http *p)
{
	p->state = ST_CHUNK_SIZE;
	p->num = 0;
	p->pos = 0;
}

static void
length_begin(struct compare_http *p, uint64_t n)
{
	if (n == 0) {
		p->done = DONE_EMIT;
		return;
	}
	p->remaining = n;
	p->state = ST_BODY_LENGTH;
	p->raw_on = 0; /* nothing can fail from here */
}

static void
close_begin(struct compare_http *p)
{
	p->state = ST_BODY_CLOSE;
	p->raw_on = 0;
}

static void
request_head_end(struct compare_http *p)
{
	if (p->te) {
		/* A request's body must be chunked if it is encoded. */
		if (p->chunked)
			chunked_begin(p);
		else
			fail(p);
	} else if (p->content_length != NO_LENGTH) {
		length_begin(p, p->content_length);
	} else {
		p->done = DONE_EMIT;
	}
}

static void
response_head_end(struct compare_http *p)
{
	if (p->status < 200) {
		p->done = p->status == 101 ? DONE_UPGRADE : DONE_SKIP;
		return;
	}
	if (p->head_pending > 0) {
		p->head_pending--;
		p->done = DONE_EMIT;
	} else if (p->status == 204 || p->status == 304) {
		p->done = DONE_EMIT;
	} else if (p->te) {
		if (p->chunked)
			chunked_begin(p);
		else
			close_begin(p);
	} else if (p->content_length != NO_LENGTH) {
		length_begin(p, p->content_length);
	} else {
		close_begin(p);
	}
}

/* The empty line after the headers (or the trailers). */
static void
head_end(struct compare_http *p)
{
	if (p->in_trailers)
		p->done = DONE_EMIT;
	else if (p->is_response)
		response_head_end(p);
	else
		request_head_end(p);
}

static void
chunk_size_byte(struct compare_http *p, uint8_t c)
{
	int v = hex_value(c);

	if (v >= 0) {
		if (p->num >> 60) {
			fail(p);
			return;
		}
		p->num = (p->num << 4) | (uint64_t)v;
		p->pos = 1;
	} else if (p->pos && (is_blank(c) || c == ';')) {
		p->state = ST_CHUNK_EXT; /* extensions are not compared */
	} else {
		fail(p);
	}
}

static void
chunk_size_end(struct compare_http *p)
{
	if (!p->pos) {
		fail(p);
	} else if (p->num == 0) {
		p->in_trailers = 1;
		p->state = ST_HDR_START;
	} else {
		p->remaining = p->num;
		p->state = ST_CHUNK_DATA;
	}
}

/* ---- one byte of a line ---- */

static void
line_end(struct compare_http *p)
{
	switch (p->state) {
	case ST_REQ_VERSION:
		if (p->pos == VERSION_LEN + 1)
			p->state = ST_HDR_START;
		else
			fail(p);
		break;
	case ST_STATUS:
		if (p->pos == 3)
			p->state = ST_HDR_START;
		else
			fail(p);
		break;
	case ST_REASON:
		p->state = ST_HDR_START;
		break;
	case ST_HDR_START:
		head_end(p);
		break;
	case ST_HDR_OWS:
	case ST_HDR_VALUE:
		hdr_line_end(p);
		break;
	case ST_CHUNK_SIZE:
	case ST_CHUNK_EXT:
		chunk_size_end(p);
		break;
	case ST_CHUNK_END:
		chunked_begin(p);
		break;
	default:
		fail(p);
		break;
	}
}

static void
line_byte(struct compare_http *p, uint8_t c, const struct compare_ignore *ign)
{
	switch (p->state) {
	case ST_METHOD:
		method_byte(p, c);
		break;
	case ST_TARGET:
		target_byte(p, c);
		break;
	case ST_REQ_VERSION:
		req_version_byte(p, c);
		break;
	case ST_RESP_VERSION:
		resp_version_byte(p, c);
		break;
	case ST_STATUS:
		status_byte(p, c);
		break;
	case ST_REASON:
	case ST_CHUNK_EXT:
		break; /* neither is compared */
	case ST_HDR_START:
		hdr_start_byte(p, c);
		break;
	case ST_HDR_NAME:
		hdr_name_byte(p, c, ign);
		break;
	case ST_HDR_OWS:
		if (is_blank(c))
			break;
		p->state = ST_HDR_VALUE;
		value_byte(p, c);
		break;
	case ST_HDR_VALUE:
		value_byte(p, c);
		break;
	case ST_CHUNK_SIZE:
		chunk_size_byte(p, c);
		break;
	default:
		fail(p);
		break;
	}
}

static void
head_byte(struct compare_http *p, uint8_t c, const struct compare_ignore *ign)
{
	if (p->cr) {
		p->cr = 0;
		if (c != '\n')
			fail(p);
		else
			line_end(p);
	} else if (c == '\r') {
		p->cr = 1;
	} else if (c == '\n') {
		line_end(p);
	} else {
		line_byte(p, c, ign);
	}
}

static int
byte_at_a_time(const struct compare_http *p)
{
	if (p->state < ST_METHOD || p->state > ST_CHUNK_END)
		return 0;
	/* Plain header values go by spans. */
	return p->state != ST_HDR_VALUE || p->hdr != HDR_PLAIN || p->cr;
}

/* ---- steps: each consumes bytes of one message ---- */

static size_t
step_lines(struct compare_http *p, const uint8_t *d, size_t n,
	   const struct compare_ignore *ign)
{
	size_t i = 0;

	while (i < n) {
		head_byte(p, d[i++], ign);
		if (p->done != DONE_NONE || !byte_at_a_time(p))
			break;
	}
	return i;
}

/* A plain header value up to its line's end: digested as a span, the
 * mark set after its last non-blank byte. */
static size_t
step_value(struct compare_http *p, const uint8_t *d, size_t n)
{
	size_t i = 0, last = 0;

	while (i < n && d[i] != '\r' && d[i] != '\n') {
		if (!is_blank(d[i]))
			last = i + 1;
		i++;
	}
	if (!p->ignored) {
		if (last > 0) {
			p->header_digest = compare_digest(p->header_digest, d, last);
			p->value_mark = p->header_digest;
		}
		p->header_digest = compare_digest(p->header_digest, d + last, i - last);
	}
	return i;
}

/* Empty lines before a message are skipped, and not part of it. */
static size_t
step_idle(struct compare_http *p, const uint8_t *d, size_t n)
{
	size_t i = 0;

	while (i < n && (d[i] == '\r' || d[i] == '\n'))
		i++;
	if (i < n)
		p->state = p->is_response ? ST_RESP_VERSION : ST_METHOD;
	return i;
}

static size_t
step_body(struct compare_http *p, const uint8_t *d, size_t n)
{
	size_t take = n;

	if (p->state != ST_BODY_CLOSE && p->remaining < n)
		take = (size_t)p->remaining;
	body_add(p, d, take);
	if (p->state == ST_BODY_CLOSE)
		return take;
	p->remaining -= take;
	if (p->remaining > 0)
		return take;
	if (p->state == ST_CHUNK_DATA)
		p->state = ST_CHUNK_END;
	else
		p->done = DONE_EMIT;
	return take;
}

static size_t
step(struct compare_http *p, const uint8_t *d, size_t n,
     const struct compare_ignore *ign)
{
	size_t k;

	switch (p->state) {
	case ST_IDLE:
		return step_idle(p, d, n);
	case ST_CHUNK_DATA:
	case ST_BODY_LENGTH:
	case ST_BODY_CLOSE:
		return step_body(p, d, n);
	case ST_UNPARSED:
		return n;
	default:
		break;
	}
	if (!byte_at_a_time(p)) {
		k = step_value(p, d, n);
		if (k > 0)
			return k;
	}
	return step_lines(p, d, n, ign);
}

/* ---- messages out ---- */

static void
message_write(const struct compare_http *p, struct compare_msg *m)
{
	uint64_t d;

	memset(m, 0, sizeof(*m));
	m->status = p->status;
	m->flags = p->flags;
	memcpy(m->method, p->method, sizeof(m->method));
	memcpy(m->path, p->path, sizeof(m->path));
	m->method[sizeof(m->method) - 1] = '\0';
	m->path[sizeof(m->path) - 1] = '\0';
	if (p->flags & COMPARE_F_UNPARSED) {
		m->size = add_sat32(0, p->raw_size);
		m->digest = p->raw_digest;
		m->body_digest = p->raw_digest;
		return;
	}
	m->size = p->size;
	m->header_digest = p->header_digest;
	m->body_digest = p->body_digest;
	d = compare_digest_u64(p->start_digest, p->header_digest);
	m->digest = compare_digest_u64(d, p->body_digest);
}

/* The message ended (p->done): report it unless it is an interim 1xx. */
static unsigned int
message_end(struct compare_http *p, struct compare_msg *out, unsigned int room)
{
	uint8_t done = p->done;
	unsigned int n = 0;

	if (done != DONE_SKIP) {
		if (room > 0) {
			message_write(p, out);
			n = 1;
		} else {
			p->dropped++;
		}
	}
	message_reset(p);
	if (done == DONE_UPGRADE) {
		/* After 101 the connection speaks another protocol. */
		p->state = ST_UNPARSED;
		p->flags = COMPARE_F_UNPARSED;
	}
	return n;
}

void
compare_http_init(struct compare_http *p, bool is_response)
{
	memset(p, 0, sizeof(*p));
	p->is_response = is_response;
	message_reset(p);
}

void
compare_http_expect_head(struct compare_http *p)
{
	if (p->head_pending < UINT8_MAX)
		p->head_pending++;
}

unsigned int
compare_http_feed(struct compare_http *p, const uint8_t *data, size_t len,
		  const struct compare_ignore *ign, struct compare_msg *out,
		  unsigned int max)
{
	unsigned int n_out = 0;
	size_t off = 0;

	if (out == NULL)
		max = 0;
	while (off < len && p->state != ST_CLOSED) {
		int raw = p->raw_on && p->state != ST_IDLE;
		size_t k = step(p, data + off, len - off, ign);

		if (raw) {
			p->raw_digest = compare_digest(p->raw_digest, data + off, k);
			p->raw_size += k;
		}
		off += k;
		if (p->done != DONE_NONE) {
			unsigned int k = message_end(p, max > n_out ? out + n_out : NULL,
						     max - n_out);

			if (k > 0)
				out[n_out].end = (uint32_t)off;
			n_out += k;
		}
	}
	return n_out;
}

unsigned int
compare_http_close(struct compare_http *p, struct compare_msg *out)
{
	unsigned int n = 1;

	switch (p->state) {
	case ST_CLOSED:
	case ST_IDLE:
		n = 0;
		break;
	case ST_UNPARSED:
		n = p->raw_size > 0;
		break;
	case ST_BODY_CLOSE:
		break;
	default:
		p->flags |= COMPARE_F_TRUNCATED;
		break;
	}
	if (n > 0 && out != NULL)
		message_write(p, out);
	else if (n > 0)
		p->dropped++;
	message_reset(p);
	p->state = ST_CLOSED;
	return out != NULL ? n : 0;
}
