/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DNS messages: header, questions, answers. Two servers that give the same
 * answers may order them differently, compress names differently and count
 * TTLs down differently: the answer digest is a sum of per-record digests
 * over decompressed, lower-cased names, type, class and data, TTL left out.
 * Every read is bounds-checked against the message, and the work per
 * message is capped (this runs on a worker, per answer): at most
 * COMPARE_DNS_MAX_RECORDS questions and answers are read, and at most
 * COMPARE_DNS_MAX_HOPS compression pointers followed per name; a message
 * past either cap is refused with its own code, so the caller can count
 * it and compare it as bytes.
 */
#include <string.h>

#include "compare.h"
#include "pkt.h"
#include "pkt_math.h"

#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255        /* wire length of a name */
#define DNS_QR 0x8000
#define DNS_TC 0x0200

/* Where a name goes as it is read. */
struct dns_name_out {
	uint64_t h;             /* digest of the name in lower-case wire form */
	char *txt;              /* dotted text, or NULL */
	size_t txt_len;
};

/* Data of the types that carry names: fixed bytes, names, fixed bytes. */
struct dns_rdata_layout {
	uint16_t type;
	uint8_t prefix, names, suffix;
};

static const struct dns_rdata_layout rdata_layouts[] = {
	{ 2, 0, 1, 0 },         /* NS */
	{ 5, 0, 1, 0 },         /* CNAME */
	{ 6, 0, 2, 20 },        /* SOA */
	{ 12, 0, 1, 0 },        /* PTR */
	{ 15, 2, 1, 0 },        /* MX */
	{ 33, 6, 1, 0 },        /* SRV */
	{ 39, 0, 1, 0 },        /* DNAME */
};

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 'a' - 'A') : c;
}

static void
text_label(struct dns_name_out *o, const uint8_t *label, uint8_t n)
{
	if (o->txt == NULL)
		return;
	if (o->txt_len > 0 && o->txt_len < COMPARE_PATH_MAX - 1)
		o->txt[o->txt_len++] = '.';
	for (uint8_t i = 0; i < n && o->txt_len < COMPARE_PATH_MAX - 1; i++) {
		uint8_t c = lower(label[i]);

		/* Keep the text printable. */
		o->txt[o->txt_len++] = (char)(c > ' ' && c < 0x7f ? c : '?');
	}
}

static void
digest_label(struct dns_name_out *o, const uint8_t *label, uint8_t n)
{
	uint8_t buf[1 + 63];

	buf[0] = n;
	for (uint8_t i = 0; i < n; i++)
		buf[1 + i] = lower(label[i]);
	o->h = compare_digest(o->h, buf, 1u + n);
}

/*
 * Read the name at @p off; @p next gets the offset just after it where it
 * is written (after its first pointer, if any).
 * @return 0, -1 when it is malformed, too long or runs out, or
 * COMPARE_DNS_TOO_MANY_HOPS past the pointer cap (a loop ends there).
 */
static int
dns_name(const uint8_t *d, size_t len, size_t off, size_t *next,
	 struct dns_name_out *o)
{
	size_t pos = off, wire = 1;
	unsigned int hops = 0;
	int jumped = 0;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -1;
		l = d[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			if (++hops > COMPARE_DNS_MAX_HOPS)
				return COMPARE_DNS_TOO_MANY_HOPS;
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			pos = (size_t)(l & 0x3f) << 8 | d[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return -1; /* extended label types: not in use */
		if (l == 0)
			break;
		wire += 1u + l;
		if (wire > DNS_NAME_MAX || pos + 1 + l > len)
			return -1;
		digest_label(o, d + pos + 1, l);
		text_label(o, d + pos + 1, l);
		pos += 1u + l;
	}
	if (!jumped)
		*next = pos + 1;
	o->h = compare_digest(o->h, "", 1); /* the root label */
	return 0;
}

static const struct dns_rdata_layout *
rdata_layout(uint16_t type)
{
	for (size_t i = 0; i < sizeof(rdata_layouts) / sizeof(rdata_layouts[0]); i++)
		if (rdata_layouts[i].type == type)
			return &rdata_layouts[i];
	return NULL;
}

/* Data with its names decompressed, when it has the layout of its type. */
static int
rdata_names_digest(const uint8_t *d, size_t off, size_t end,
		   const struct dns_rdata_layout *lay, uint64_t *h)
{
	struct dns_name_out o = { .h = *h };

	if (off + lay->prefix > end)
		return -1;
	o.h = compare_digest(o.h, d + off, lay->prefix);
	off += lay->prefix;
	for (uint8_t i = 0; i < lay->names; i++) {
		size_t next;
		int rc = dns_name(d, end, off, &next, &o);

		if (rc < 0)
			return rc;
		off = next;
	}
	if (end - off != lay->suffix)
		return -1;
	*h = compare_digest(o.h, d + off, lay->suffix);
	return 0;
}

/* @return 0, or COMPARE_DNS_TOO_MANY_HOPS: names in the data are capped too. */
static int
rdata_digest(const uint8_t *d, size_t off, size_t end, uint16_t type, uint64_t *h)
{
	const struct dns_rdata_layout *lay = rdata_layout(type);
	int rc = lay != NULL ? rdata_names_digest(d, off, end, lay, h) : -1;

	/* Names in data point backwards, so the message up to the data's end
	 * is enough; data that does not fit its type is taken as bytes. */
	if (rc == COMPARE_DNS_TOO_MANY_HOPS)
		return rc;
	if (rc != 0)
		*h = compare_digest(*h, d + off, end - off);
	return 0;
}

/* One answer record at *off: its digest added to @p sum. */
static int
dns_answer(const uint8_t *d, size_t len, size_t *off, uint64_t *sum)
{
	struct dns_name_out o = { 0 };
	size_t pos, end;
	uint16_t type, rdlen;
	int rc = dns_name(d, len, *off, &pos, &o);

	if (rc < 0)
		return rc;
	if (len - pos < 10)
		return -1;
	type = pkt_be16(d + pos);
	rdlen = pkt_be16(d + pos + 8);
	if (len - pos - 10 < rdlen)
		return -1;
	/* Type and class; the TTL after them differs between servers. */
	o.h = compare_digest(o.h, d + pos, 4);
	end = pos + 10 + rdlen;
	rc = rdata_digest(d, pos + 10, end, type, &o.h);
	if (rc < 0)
		return rc;
	*sum += pkt_mix64(o.h);   /* digests are summed: spread them first */
	*off = end;
	return 0;
}

static int
dns_question(const uint8_t *d, size_t len, size_t *off, char *txt)
{
	struct dns_name_out o = { .txt = txt };
	size_t pos;
	int rc = dns_name(d, len, *off, &pos, &o);

	if (rc < 0)
		return rc;
	if (len - pos < 4)
		return -1;
	if (txt != NULL && o.txt_len == 0)
		txt[0] = '.';
	*off = pos + 4;
	return 0;
}

int
compare_dns_parse(const uint8_t *data, size_t len, uint16_t *id,
		  bool *is_response, struct compare_msg *msg)
{
	char name[COMPARE_PATH_MAX] = "";
	uint16_t flags, qd, an;
	uint64_t sum = 0;
	size_t off = DNS_HDR_LEN;
	uint8_t rcode;
	int rc = 0;

	if (data == NULL || len < DNS_HDR_LEN)
		return -1;
	flags = pkt_be16(data + 2);
	qd = pkt_be16(data + 4);
	an = pkt_be16(data + 6);
	/* The counts say how much work the message asks for: cap it first. */
	if ((unsigned int)qd + an > COMPARE_DNS_MAX_RECORDS)
		return COMPARE_DNS_TOO_MANY_RECORDS;
	for (unsigned int i = 0; i < qd && rc == 0; i++)
		rc = dns_question(data, len, &off, i == 0 ? name : NULL);
	for (unsigned int i = 0; i < an && rc == 0; i++)
		rc = dns_answer(data, len, &off, &sum);
	if (rc < 0)
		return rc;

	rcode = flags & 0xf;
	*id = pkt_be16(data);
	*is_response = (flags & DNS_QR) != 0;
	memset(msg, 0, sizeof(*msg));
	msg->status = rcode;
	if ((flags & DNS_QR) && (flags & DNS_TC))
		msg->flags = COMPARE_F_TRUNCATED;
	msg->size = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	msg->body_digest = sum;
	msg->digest = compare_digest_u64(compare_digest(0, &rcode, 1), sum);
	memcpy(msg->path, name, sizeof(msg->path));
	return 0;
}
