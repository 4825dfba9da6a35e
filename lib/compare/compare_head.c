/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: the first bytes of answers and requests (evidence), and
 * the exchange's addresses, for the flows that carry it. Fixed size, no
 * allocation: a copy of at most COMPARE_HEAD_MAX bytes per answer or
 * request, and a few chunks on the record ring per exchange.
 */
#include <string.h>

#include "compare.h"

void
compare_head_add(struct compare_head *h, uint64_t flow_id, const uint8_t *data,
		 uint32_t len)
{
	uint32_t room;

	if (!compare_evidence_sampled(flow_id) || len == 0)
		return;
	room = COMPARE_HEAD_MAX - h->len;
	if (room > len)
		room = len;
	memcpy(h->data + h->len, data, room);
	h->len = (uint16_t)(h->len + room);
	h->seen = len > UINT32_MAX - h->seen ? UINT32_MAX : h->seen + len;
}

/* Bytes of the head that ended @p rest_len bytes before what was fed:
 * the last rest_len bytes belong to the next message. */
static uint32_t
head_kept(const struct compare_head *h, uint32_t rest_len)
{
	uint32_t keep = h->seen > rest_len ? h->seen - rest_len : 0;

	return keep > h->len ? h->len : keep;
}

/* Start again with @p rest, the next message's first bytes. */
static void
head_restart(struct compare_head *h, uint64_t flow_id, const uint8_t *rest,
	     uint32_t rest_len)
{
	h->len = 0;
	h->seen = 0;
	compare_head_add(h, flow_id, rest, rest_len);
}

unsigned int
compare_head_take(struct compare_head *h, uint64_t flow_id, uint32_t exchange,
		  uint8_t side, uint8_t profile, const uint8_t *rest,
		  uint32_t rest_len, struct compare_chunk out[COMPARE_HEAD_CHUNKS])
{
	uint32_t keep, n = 0, off;

	if (!compare_evidence_sampled(flow_id))
		return 0;
	keep = head_kept(h, rest_len);
	for (off = 0; off < keep; off += COMPARE_CHUNK_BYTES) {
		struct compare_chunk *c = &out[n];
		uint32_t k = keep - off < COMPARE_CHUNK_BYTES ? keep - off : COMPARE_CHUNK_BYTES;

		c->flow_id = flow_id;
		c->exchange = exchange;
		c->side = side;
		c->part = (uint8_t)n++;
		c->profile = profile;
		c->flags = COMPARE_F_BYTES;
		c->len = (uint16_t)k;
		c->total = (uint16_t)keep;
		memcpy(c->data, h->data + off, k);
	}
	head_restart(h, flow_id, rest, rest_len);
	return n;
}

void
compare_head_move(struct compare_head *h, uint64_t flow_id, const uint8_t *rest,
		  uint32_t rest_len, struct compare_head *out)
{
	uint32_t keep;

	if (!compare_evidence_sampled(flow_id))
		return;
	keep = head_kept(h, rest_len);
	memcpy(out->data, h->data, keep);
	out->len = (uint16_t)keep;
	out->seen = keep;
	head_restart(h, flow_id, rest, rest_len);
}

unsigned int
compare_addr_chunk(uint64_t flow_id, uint32_t exchange, uint8_t profile,
		   const struct compare_addr *a, struct compare_chunk *out)
{
	if (!compare_evidence_sampled(flow_id))
		return 0;
	memset(out, 0, sizeof(*out));
	out->flow_id = flow_id;
	out->exchange = exchange;
	out->side = COMPARE_CHUNK_ADDR;
	out->profile = profile;
	out->flags = COMPARE_F_BYTES;
	out->len = sizeof(*a);
	out->total = sizeof(*a);
	memcpy(out->data, a, sizeof(*a));
	return 1;
}
