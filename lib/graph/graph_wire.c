/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A DNS answer as the workers copy it (the message's first bytes) to the
 * typed struct graph_dns_answer the name cache takes: the first
 * question's name, and the A, AAAA and CNAME records of the answer
 * section with their owner names decompressed. Bounded: names follow at
 * most GRAPH_WIRE_HOPS compression pointers, at most GRAPH_WIRE_RECORDS
 * records are walked, and a message cut short keeps the records read so
 * far.
 */
#include <string.h>

#include "graph.h"

/* Compression pointers one name may follow. */
#define GRAPH_WIRE_HOPS 16
/* Records (questions and answers) walked at most. */
#define GRAPH_WIRE_RECORDS 64

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The name at @p off as dotted lower-case text (no trailing dot; "" for
 * the root); @p next gets the offset after the name where it is written.
 * @return 0, or -1 when it is malformed, too long or runs out.
 */
static int
wire_name(const uint8_t *d, size_t len, size_t off, size_t *next, char *out)
{
	size_t pos = off, n = 0;
	unsigned int hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -1;
		l = d[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > GRAPH_WIRE_HOPS)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			pos = (size_t)(l & 0x3f) << 8 | d[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return -1;
		if (l == 0)
			break;
		if (pos + 1 + l > len || n + l + 1 >= GRAPH_DNS_NAME_MAX)
			return -1;
		if (n > 0)
			out[n++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = d[pos + 1 + i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + 'a' - 'A');
			out[n++] = (char)(c > ' ' && c < 0x7f ? c : '?');
		}
		pos += 1u + l;
	}
	out[n] = '\0';
	if (!jumped)
		*next = pos + 1;
	return 0;
}

int
graph_dns_parse(const uint8_t *d, size_t len, uint64_t ts_ms, struct graph_dns_answer *out)
{
	uint16_t qd, an;
	size_t off = 12;

	memset(out, 0, offsetof(struct graph_dns_answer, rr));
	out->ts_ms = ts_ms;
	/* A response (QR) without error (rcode 0), with a question. */
	if (len < 12 || !(d[2] & 0x80) || (d[3] & 0x0f) != 0)
		return -1;
	qd = rd16(d + 4);
	an = rd16(d + 6);
	if (qd == 0 || (uint32_t)qd + an > GRAPH_WIRE_RECORDS)
		return -1;
	for (uint16_t i = 0; i < qd; i++) {
		char tmp[GRAPH_DNS_NAME_MAX];

		if (wire_name(d, len, off, &off, i == 0 ? out->qname : tmp) < 0 ||
		    off + 4 > len)
			return -1;
		off += 4;
	}
	for (uint16_t i = 0; i < an && out->n_rr < GRAPH_DNS_RR_MAX; i++) {
		struct graph_dns_rr *rr = &out->rr[out->n_rr];
		uint16_t type, rdlen;

		if (wire_name(d, len, off, &off, rr->owner) < 0 || off + 10 > len)
			break;
		type = rd16(d + off);
		rr->ttl_s = (uint32_t)rd16(d + off + 4) << 16 | rd16(d + off + 6);
		rdlen = rd16(d + off + 8);
		off += 10;
		if (off + rdlen > len)
			break;
		rr->type = type;
		if (type == GRAPH_RR_A && rdlen == 4) {
			memset(rr->addr, 0, sizeof(rr->addr));
			memcpy(rr->addr, d + off, 4);
			out->n_rr++;
		} else if (type == GRAPH_RR_AAAA && rdlen == 16) {
			memcpy(rr->addr, d + off, 16);
			out->n_rr++;
		} else if (type == GRAPH_RR_CNAME) {
			size_t end;

			if (wire_name(d, off + rdlen, off, &end, rr->target) == 0)
				out->n_rr++;
		}
		off += rdlen;
	}
	return 0;
}
