/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests: the shadow TCP session state machine.
 *
 * A scripted harness plays the client and the shadow server with real
 * Ethernet/IPv4/TCP frames and acts as the data path would: it parses each
 * segment, calls the state machine, and carries out the verdict (rewrite
 * and forward, hold, keep retransmission copies, deliver payload, build
 * ACKs and RSTs). Everything that goes to the shadow is recorded on a
 * "wire" after its checksums were verified by recomputing them from
 * scratch with code independent of shadow_tcp.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ut_cksum.h"

#include "shadow_tcp.h"

#define UT_FRAME_MAX 1600
#include "ut_frame.h"

#define L3 14u
#define L4 34u                  /* IPv4 without options */
#define CPORT 40000
#define SPORT 80
#define C_ISN 1000u
#define S_ISN 7000000u
/* Production's sequence space: client acks carry it, the shadow never may. */
#define P_ISN 0x50000000u

#define RTO 100
#define RTO_MAX 1000
#define MAX_RETRIES 3
#define HOLD_MAX 4
#define MAXQ 16
#define MAXWIRE 64
#define WIN 1000

#define A_FWD SHADOW_TCP_A_FORWARD
#define A_KEEP SHADOW_TCP_A_KEEP
#define A_HOLD SHADOW_TCP_A_HOLD
#define A_DLV SHADOW_TCP_A_DELIVER
#define A_ACK SHADOW_TCP_A_ACK
#define A_REL SHADOW_TCP_A_RELEASE
#define A_ACKED SHADOW_TCP_A_ACKED
#define A_RTX SHADOW_TCP_A_RETRANSMIT
#define A_RST SHADOW_TCP_A_RST_SHADOW
#define A_END SHADOW_TCP_A_END

#define F_FIN SHADOW_TCP_FIN
#define F_SYN SHADOW_TCP_SYN
#define F_RST SHADOW_TCP_RST
#define F_PSH SHADOW_TCP_PSH
#define F_ACK SHADOW_TCP_ACK

static const uint8_t mac_c[6] = { 2, 0, 0, 0, 0, 0xc };
static const uint8_t mac_s[6] = { 2, 0, 0, 0, 0, 0x5 };
static const uint8_t ip_c[4] = { 10, 0, 0, 1 };
static const uint8_t ip_s[4] = { 10, 0, 0, 2 };

/* ------------------------------------------------------------------ */
/* Checksums from scratch (byte helpers and sums: ut_cksum.h).          */

/* TCP checksum from scratch (field taken as zero). */
static uint16_t
tcp_cksum_scratch(const uint8_t *src, const uint8_t *dst, uint32_t alen,
		  const uint8_t *tcp, uint32_t tcp_len)
{
	uint32_t acc = sum_be(src, alen, 0);

	acc = sum_be(dst, alen, acc);
	acc += 6 + (tcp_len & 0xffff) + (tcp_len >> 16);
	acc = sum_be(tcp, 16, acc);
	acc = sum_be(tcp + 18, tcp_len - 18, acc);
	return (uint16_t)~fold(acc);
}

static inline bool
lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool
le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/* Payload bytes depend on their sequence number only: copies agree. */
static uint8_t
pat(uint32_t seq)
{
	return (uint8_t)(seq * 7u + 3u);
}

/* ------------------------------------------------------------------ */
/* Frames.                                                              */

struct pkt {
	uint8_t b[UT_FRAME_MAX];
	uint32_t len;
	uint32_t seq, end;      /* sequence range (copies) */
};

/* One segment as the script describes it. */
struct spec {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t len;
	uint16_t win;           /* 0: WIN */
	bool ts;
	uint32_t tsval, tsecr;
	uint8_t nsack;          /* SACK blocks (NOP NOP SACK) */
};

/* An IPv4 frame with the given TCP option bytes; checksums complete. */
static void
build_opts(struct pkt *p, bool from_shadow, const struct spec *s,
	   const uint8_t *opts, uint32_t olen)
{
	struct frame f = { .len = 0 };
	uint32_t tcp_len = 20 + olen + s->len;

	assert_int_equal(olen % 4, 0);
	put(&f, from_shadow ? mac_c : mac_s, 6);
	put(&f, from_shadow ? mac_s : mac_c, 6);
	put16(&f, 0x0800);
	put8(&f, 0x45);
	put8(&f, 0);
	put16(&f, (uint16_t)(20 + tcp_len));
	put16(&f, 0x4321);
	put16(&f, 0x4000);
	put8(&f, 61);
	put8(&f, 6);
	put16(&f, 0);
	put(&f, from_shadow ? ip_s : ip_c, 4);
	put(&f, from_shadow ? ip_c : ip_s, 4);
	put16(&f, from_shadow ? SPORT : CPORT);
	put16(&f, from_shadow ? CPORT : SPORT);
	put32(&f, s->seq);
	put32(&f, s->ack);
	put8(&f, (uint8_t)((5 + olen / 4) << 4));
	put8(&f, s->flags);
	put16(&f, s->win ? s->win : WIN);
	put16(&f, 0);
	put16(&f, 0);
	put(&f, opts, olen);
	for (uint32_t i = 0; i < s->len; i++)
		put8(&f, pat(s->seq + i));
	set16(f.b + L3 + 10, (uint16_t)~fold(sum_be(f.b + L3, 20, 0)));
	set16(f.b + L4 + 16, tcp_cksum_scratch(f.b + L3 + 12, f.b + L3 + 16, 4,
					       f.b + L4, tcp_len));
	memcpy(p->b, f.b, f.len);
	p->len = f.len;
}

/* Usual layout: NOP NOP TS, NOP NOP SACK. */
static void
build(struct pkt *p, bool from_shadow, const struct spec *s)
{
	uint8_t o[40];
	uint32_t n = 0;

	if (s->ts) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 8;
		o[n++] = 10;
		set32(o + n, s->tsval);
		set32(o + n + 4, s->tsecr);
		n += 8;
	}
	if (s->nsack) {
		/* as many blocks as fit (3 with TS, 4 without) */
		uint32_t blocks = s->nsack;

		if (blocks > (sizeof(o) - n - 4) / 8)
			blocks = (uint32_t)(sizeof(o) - n - 4) / 8;
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 5;
		o[n++] = (uint8_t)(2 + 8 * blocks);
		for (uint32_t i = 0; i < 2 * blocks && n + 4 <= sizeof(o);
		     i++, n += 4)
			set32(o + n, P_ISN + 1000 * i);
	}
	build_opts(p, from_shadow, s, o, n);
}

/* What reached the shadow, decoded. */
struct wseg {
	uint32_t seq, ack, tsval, tsecr;
	uint16_t len, win;
	uint8_t flags;
	bool ts, sack;
	bool made;              /* an ACK or RST umbra built */
	bool rtx;               /* umbra's own retransmission */
};

/*
 * Decode a frame toward the shadow (Ethernet, optional VLAN tags, IPv4 or
 * IPv6, TCP), asserting both checksums and the addressing.
 */
static void
decode(const uint8_t *b, uint32_t len, struct wseg *w)
{
	uint32_t l3 = 12, alen, l4, ip_end, hl;
	const uint8_t *src, *dst;
	uint16_t type = get16(b + l3);

	while (type == 0x8100 || type == 0x88a8) {
		l3 += 4;
		type = get16(b + l3);
	}
	l3 += 2;
	if (type == 0x0800) {
		assert_int_equal(b[l3] >> 4, 4);
		assert_int_equal(fold(sum_be(b + l3, (b[l3] & 0xf) * 4u, 0)), 0xffff);
		alen = 4;
		src = b + l3 + 12;
		l4 = l3 + (b[l3] & 0xf) * 4u;
		ip_end = l3 + get16(b + l3 + 2);
	} else {
		assert_int_equal(type, 0x86dd);
		assert_int_equal(b[l3 + 6], 6);
		alen = 16;
		src = b + l3 + 8;
		l4 = l3 + 40;
		ip_end = l4 + get16(b + l3 + 4);
	}
	dst = src + alen;
	assert_true(ip_end <= len);
	assert_memory_equal(src + alen - 4, ip_c, 4);
	assert_memory_equal(dst + alen - 4, ip_s, 4);
	assert_memory_equal(b, mac_s, 6);
	assert_memory_equal(b + 6, mac_c, 6);
	assert_int_equal(get16(b + l4), CPORT);
	assert_int_equal(get16(b + l4 + 2), SPORT);
	assert_int_equal(get16(b + l4 + 16),
			 tcp_cksum_scratch(src, dst, alen, b + l4, ip_end - l4));
	assert_int_equal(fold(sum_be(src, 2 * alen, 6 + ip_end - l4) +
			      sum_be(b + l4, ip_end - l4, 0)), 0xffff);
	memset(w, 0, sizeof(*w));
	hl = (b[l4 + 12] >> 4) * 4u;
	w->seq = get32(b + l4 + 4);
	w->ack = get32(b + l4 + 8);
	w->flags = b[l4 + 13];
	w->win = get16(b + l4 + 14);
	w->len = (uint16_t)(ip_end - l4 - hl);
	for (uint32_t i = 20; i < hl;) {
		uint8_t kind = b[l4 + i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (kind == 8) {
			w->ts = true;
			w->tsval = get32(b + l4 + i + 2);
			w->tsecr = get32(b + l4 + i + 6);
		}
		if (kind == 5)
			w->sack = true;
		i += b[l4 + i + 1];
	}
}

/* ------------------------------------------------------------------ */
/* The harness: a data path in miniature.                               */

struct harness {
	struct shadow_tcp st;
	struct shadow_tcp_conf conf;
	uint64_t now;
	struct pkt tmpl;                /* the client's SYN, for RSTs */
	struct pkt held[MAXQ];
	unsigned int nheld;
	struct pkt copies[MAXQ];
	unsigned int ncopies;
	struct wseg wire[MAXWIRE];
	unsigned int nwire;
	uint8_t dlv[16384];
	uint32_t ndlv;
	unsigned int ends;
	uint8_t end_reason;
};

static struct harness H;

static void
h_init(void)
{
	memset(&H, 0, sizeof(H));
	H.conf.rto = RTO;
	H.conf.rto_max = RTO_MAX;
	H.conf.max_retries = MAX_RETRIES;
	H.conf.hold_max = HOLD_MAX;
	assert_int_equal(shadow_tcp_conf_check(&H.conf), 0);
	shadow_tcp_init(&H.st);
}

static void
wire_push(const uint8_t *b, uint32_t len, bool made, bool rtx)
{
	assert_true(H.nwire < MAXWIRE);
	decode(b, len, &H.wire[H.nwire]);
	H.wire[H.nwire].made = made;
	H.wire[H.nwire].rtx = rtx;
	H.nwire++;
}

static const struct wseg *
wire_last(void)
{
	assert_true(H.nwire > 0);
	return &H.wire[H.nwire - 1];
}

static uint32_t
seg_space(const struct shadow_tcp_seg *s)
{
	return s->len + !!(s->flags & F_SYN) + !!(s->flags & F_FIN);
}

static void
copies_free(uint32_t acked)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < H.ncopies; i++)
		if (!le(H.copies[i].end, acked))
			H.copies[n++] = H.copies[i];
	H.ncopies = n;
}

/* RST_SHADOW and END, common to every path. */
static void
h_finish(const struct shadow_tcp_verdict *v, const struct pkt *tmpl,
	 enum shadow_tcp_dir dir)
{
	uint8_t out[256];
	uint32_t n;

	if (v->act & A_RST) {
		n = shadow_tcp_build_rst(&H.st, tmpl->b, tmpl->len, L3, L4, dir,
					 out, sizeof(out));
		assert_true(n > 0);
		wire_push(out, n, true, false);
		assert_true(wire_last()->flags & F_RST);
	}
	if (v->act & A_END) {
		assert_true(shadow_tcp_ended(&H.st));
		assert_int_equal(v->reason, H.st.reason);
		H.ends++;
		H.end_reason = v->reason;
		H.nheld = 0;
		H.ncopies = 0;
	}
}

static uint16_t
payload_len(const struct pkt *p)
{
	return (uint16_t)(L3 + get16(p->b + L3 + 2) - L4 - (p->b[L4 + 12] >> 4) * 4u);
}

/* A client segment through the data path; returns the verdict's actions. */
static unsigned int
h_client_pkt(const struct pkt *p)
{
	struct shadow_tcp_verdict v;
	struct shadow_tcp_seg seg;
	struct pkt q;

	assert_int_equal(shadow_tcp_seg_parse(p->b + L4, p->len - L4,
					      payload_len(p), &seg), 0);
	shadow_tcp_client(&H.st, &H.conf, &seg, H.now, &v);
	assert_false((v.act & A_FWD) && (v.act & A_HOLD));
	assert_false((v.act & A_KEEP) && !(v.act & A_FWD));
	assert_int_equal(v.act & ~(A_FWD | A_KEEP | A_HOLD | A_RST | A_END), 0);
	if (v.act & A_FWD) {
		q = *p;
		assert_int_equal(shadow_tcp_rewrite(&H.st, q.b + L4, q.len - L4), 0);
		wire_push(q.b, q.len, false, false);
		if (v.act & A_KEEP) {
			assert_true(H.ncopies < MAXQ);
			q.seq = seg.seq;
			q.end = seg.seq + seg_space(&seg);
			H.copies[H.ncopies++] = q;
		}
	}
	if (v.act & A_HOLD) {
		assert_true(H.nheld < MAXQ);
		H.held[H.nheld++] = *p;
	}
	if (seg.flags & F_SYN)
		H.tmpl = *p;
	h_finish(&v, p, SHADOW_TCP_FROM_CLIENT);
	if (!shadow_tcp_ended(&H.st) && H.st.state != SHADOW_TCP_S_IDLE)
		assert_int_equal(H.st.nheld, H.nheld);
	return v.act;
}

static unsigned int
h_client(const struct spec *s)
{
	struct pkt p;

	build(&p, false, s);
	return h_client_pkt(&p);
}

static void
h_release(void)
{
	struct pkt *q = malloc(sizeof(H.held));
	unsigned int n = H.nheld;

	assert_non_null(q);
	memcpy(q, H.held, sizeof(H.held));
	H.nheld = 0;
	for (unsigned int i = 0; i < n; i++)
		h_client_pkt(&q[i]);
	free(q);
}

/* A shadow segment; the harness consumes it as the data path would. */
static unsigned int
h_shadow_pkt(const struct pkt *p)
{
	struct shadow_tcp_verdict v;
	struct shadow_tcp_seg seg;
	uint8_t out[256];
	uint32_t n;

	assert_int_equal(shadow_tcp_seg_parse(p->b + L4, p->len - L4,
					      payload_len(p), &seg), 0);
	shadow_tcp_shadow(&H.st, &H.conf, &seg, H.now, &v);
	assert_int_equal(v.act & (A_FWD | A_KEEP | A_HOLD | A_RTX), 0);
	if (v.act & A_DLV) {
		const uint8_t *pl = p->b + p->len - seg.len;

		assert_true(v.dlv_len > 0);
		assert_true((uint32_t)v.dlv_off + v.dlv_len <= seg.len);
		assert_true(H.ndlv + v.dlv_len <= sizeof(H.dlv));
		memcpy(H.dlv + H.ndlv, pl + v.dlv_off, v.dlv_len);
		H.ndlv += v.dlv_len;
	}
	if (v.act & A_ACK) {
		n = shadow_tcp_build_ack(&H.st, p->b, p->len, L3, L4,
					 SHADOW_TCP_FROM_SHADOW, out, sizeof(out));
		assert_true(n > 0);
		wire_push(out, n, true, false);
		assert_int_equal(wire_last()->flags, F_ACK);
		assert_int_equal(wire_last()->len, 0);
	}
	if (v.act & A_REL)
		h_release();
	if (v.act & A_ACKED)
		copies_free(v.acked);
	h_finish(&v, p, SHADOW_TCP_FROM_SHADOW);
	return v.act;
}

static unsigned int
h_shadow(const struct spec *s)
{
	struct pkt p;

	build(&p, true, s);
	return h_shadow_pkt(&p);
}

static unsigned int
h_tick(uint64_t now)
{
	struct shadow_tcp_verdict v;
	uint64_t at;

	H.now = now;
	shadow_tcp_timer(&H.st, &H.conf, now, &v);
	assert_int_equal(v.act & ~(A_RTX | A_RST | A_END), 0);
	if (v.act & A_RTX) {
		unsigned int sent = 0;

		assert_true(lt(v.rtx_lo, v.rtx_hi));
		for (unsigned int i = 0; i < H.ncopies; i++) {
			struct pkt *c = &H.copies[i];

			if (!lt(c->seq, v.rtx_hi) || !lt(v.rtx_lo, c->end))
				continue;
			assert_int_equal(shadow_tcp_rewrite_rtx(&H.st, c->b + L4,
								c->len - L4), 0);
			wire_push(c->b, c->len, false, true);
			sent++;
		}
		assert_true(sent > 0);
		assert_true(shadow_tcp_next_timeout(&H.st, &at));
		assert_true(at > now);
	}
	h_finish(&v, &H.tmpl, SHADOW_TCP_FROM_CLIENT);
	return v.act;
}

/*
 * Handshake: client SYN (TSval 10), shadow SYN-ACK (TSval @p s_tsval);
 * timestamps on both or neither.
 */
static void
establish_ts(uint32_t c_isn, uint32_t s_isn, bool ts, uint32_t s_tsval)
{
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN, .seq = c_isn,
				  .ts = ts, .tsval = 10 }), A_FWD | A_KEEP);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = s_isn, .ack = c_isn + 1, .ts = ts,
				  .tsval = s_tsval, .tsecr = 10 }), A_ACK | A_ACKED);
	assert_int_equal(H.st.state, SHADOW_TCP_S_ESTABLISHED);
	assert_int_equal(H.ncopies, 0);
}

static void
establish(uint32_t c_isn, uint32_t s_isn, bool ts)
{
	establish_ts(c_isn, s_isn, ts, 100);
}

/* Delivered stream equals the shadow's bytes from @p first on. */
static void
assert_delivered(uint32_t first, uint32_t n)
{
	assert_int_equal(H.ndlv, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(H.dlv[i], pat(first + i));
}

/* ------------------------------------------------------------------ */
/* Whole sessions.                                                      */

static void
test_session_normal(void **state)
{
	const struct wseg *w;

	(void)state;
	h_init();
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN,
				  .ts = true, .tsval = 10 }), A_FWD | A_KEEP);
	assert_int_equal(H.st.state, SHADOW_TCP_S_SYN_SENT);
	w = wire_last();
	assert_int_equal(w->flags, F_SYN);
	assert_int_equal(w->seq, C_ISN);
	assert_int_equal(w->ack, 0);

	/* SYN-ACK: umbra acks it itself with the shadow's own ISN. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 1, .ts = true,
				  .tsval = 100, .tsecr = 10 }), A_ACK | A_ACKED);
	w = wire_last();
	assert_true(w->made);
	assert_int_equal(w->seq, C_ISN + 1);
	assert_int_equal(w->ack, S_ISN + 1);
	assert_true(w->ts);
	assert_int_equal(w->tsval, 10);
	assert_int_equal(w->tsecr, 100);
	assert_int_equal(H.ncopies, 0);

	/* The client's third ACK (to production) is not forwarded. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 1, .ack = P_ISN + 1, .ts = true,
				  .tsval = 11, .tsecr = 900 }), 0);

	/* Request: ack and TSecr refer to the shadow, TSval kept. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = C_ISN + 1, .ack = P_ISN + 1, .len = 100,
				  .ts = true, .tsval = 12, .tsecr = 901 }),
			 A_FWD | A_KEEP);
	w = wire_last();
	assert_false(w->made);
	assert_int_equal(w->seq, C_ISN + 1);
	assert_int_equal(w->ack, S_ISN + 1);
	assert_int_equal(w->len, 100);
	assert_int_equal(w->tsval, 12);
	assert_int_equal(w->tsecr, 100);
	assert_int_equal(H.ncopies, 1);

	/* Response: delivered, acked by umbra, request copy freed. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = S_ISN + 1, .ack = C_ISN + 101, .len = 300,
				  .ts = true, .tsval = 101, .tsecr = 12 }),
			 A_DLV | A_ACK | A_ACKED);
	assert_delivered(S_ISN + 1, 300);
	w = wire_last();
	assert_int_equal(w->seq, C_ISN + 101);
	assert_int_equal(w->ack, S_ISN + 301);
	assert_int_equal(w->tsval, 12);
	assert_int_equal(w->tsecr, 101);
	assert_int_equal(H.ncopies, 0);

	/* The client acks production's response: dropped. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 101, .ack = P_ISN + 301,
				  .ts = true, .tsval = 13, .tsecr = 902 }), 0);

	/* Client FIN forwarded with the shadow's ack. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = C_ISN + 101, .ack = P_ISN + 301,
				  .ts = true, .tsval = 14, .tsecr = 902 }),
			 A_FWD | A_KEEP);
	assert_int_equal(H.st.state, SHADOW_TCP_S_FIN_SENT);
	w = wire_last();
	assert_int_equal(w->flags, F_ACK | F_FIN);
	assert_int_equal(w->ack, S_ISN + 301);

	/* Shadow FIN acking ours: closed, acked. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = S_ISN + 301, .ack = C_ISN + 102,
				  .ts = true, .tsval = 102, .tsecr = 14 }),
			 A_ACK | A_ACKED | A_END);
	assert_int_equal(H.st.state, SHADOW_TCP_S_CLOSED);
	assert_int_equal(H.end_reason, SHADOW_TCP_R_CLOSED);
	w = wire_last();
	assert_int_equal(w->seq, C_ISN + 102);
	assert_int_equal(w->ack, S_ISN + 302);
	assert_int_equal(w->tsecr, 102);
	assert_false(shadow_tcp_next_timeout(&H.st, &(uint64_t){ 0 }));

	/* TIME-WAIT: a retransmitted FIN is acked again, once ended. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = S_ISN + 301, .ack = C_ISN + 102,
				  .ts = true, .tsval = 103 }), A_ACK);
	assert_int_equal(wire_last()->ack, S_ISN + 302);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 102, .ack = P_ISN + 302 }), 0);
	assert_int_equal(H.ends, 1);
	assert_delivered(S_ISN + 1, 300);
}

/* No forwarded client segment may carry an ack from production. */
static void
assert_no_production_acks(void)
{
	for (unsigned int i = 0; i < H.nwire; i++)
		if (H.wire[i].flags & F_ACK)
			assert_true(H.wire[i].ack - S_ISN < 0x10000000u);
}

static void
test_shadow_answers_more(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	h_client(&(struct spec){ .flags = F_ACK | F_PSH, .seq = C_ISN + 1,
		 .ack = P_ISN + 1, .len = 50 });
	/* Production answered 10 bytes, the shadow 3000. */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
					  .seq = S_ISN + 1 + 1000 * i,
					  .ack = C_ISN + 51, .len = 1000 }),
				 A_DLV | A_ACK | (i == 0 ? A_ACKED : 0));
	assert_int_equal(wire_last()->ack, S_ISN + 3001);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 51, .ack = P_ISN + 11 }), 0);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = C_ISN + 51, .ack = P_ISN + 11, .len = 20 }),
			 A_FWD | A_KEEP);
	assert_int_equal(wire_last()->ack, S_ISN + 3001);
	assert_delivered(S_ISN + 1, 3000);
	assert_no_production_acks();
}

static void
test_shadow_answers_fewer(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	h_client(&(struct spec){ .flags = F_ACK | F_PSH, .seq = C_ISN + 1,
		 .ack = P_ISN + 1, .len = 50 });
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = S_ISN + 1, .ack = C_ISN + 51, .len = 10 }),
			 A_DLV | A_ACK | A_ACKED);
	/* Production answered 5000: the client acks far beyond the shadow. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 51, .ack = P_ISN + 5001 }), 0);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = C_ISN + 51, .ack = P_ISN + 5001, .len = 2 }),
			 A_FWD | A_KEEP);
	assert_int_equal(wire_last()->ack, S_ISN + 11);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = C_ISN + 53, .ack = P_ISN + 5001 }),
			 A_FWD | A_KEEP);
	assert_int_equal(wire_last()->ack, S_ISN + 11);
	assert_delivered(S_ISN + 1, 10);
	assert_no_production_acks();
}

/* ------------------------------------------------------------------ */
/* Header rewrite on real option layouts.                               */

/* A TCP header + payload whose checksum is computed from scratch. */
struct raw {
	uint8_t b[80];
	uint32_t hl, len;
};

static void
raw_build(struct raw *r, uint8_t flags, uint32_t ack, const uint8_t *opts,
	  uint32_t olen, uint32_t paylen, uint32_t seed)
{
	memset(r, 0, sizeof(*r));
	r->hl = 20 + olen;
	r->len = r->hl + paylen;
	assert_true(r->len <= sizeof(r->b));
	set16(r->b, CPORT);
	set16(r->b + 2, SPORT);
	set32(r->b + 4, seed * 2654435761u);
	set32(r->b + 8, ack);
	r->b[12] = (uint8_t)(r->hl / 4) << 4;
	r->b[13] = flags;
	set16(r->b + 14, (uint16_t)(seed * 40503u));
	memcpy(r->b + 20, opts, olen);
	for (uint32_t i = 0; i < paylen; i++)
		r->b[r->hl + i] = (uint8_t)(seed + i * 13);
	set16(r->b + 16, tcp_cksum_scratch(ip_c, ip_s, 4, r->b, r->len));
}

static void
assert_raw_cksum(const struct raw *r)
{
	assert_int_equal(get16(r->b + 16),
			 tcp_cksum_scratch(ip_c, ip_s, 4, r->b, r->len));
}

/*
 * Check a rewritten header against its original: ack, TSecr (at @p ts),
 * SACK options (ranges in @p sack) NOPs, every other byte untouched.
 */
static void
assert_rewritten(const struct raw *before, const struct raw *after, bool ack,
		 int ts, const int (*sack)[2], unsigned int nsack)
{
	bool changed[80] = { false };

	assert_raw_cksum(after);
	changed[16] = changed[17] = true;
	if (ack) {
		assert_int_equal(get32(after->b + 8), H.st.rcv_nxt);
		for (int i = 8; i < 12; i++)
			changed[i] = true;
	}
	if (ts >= 0) {
		assert_int_equal(get32(after->b + ts + 2), get32(before->b + ts + 2));
		if (ack) {
			assert_int_equal(get32(after->b + ts + 6), H.st.ts_recent);
			for (int i = ts + 6; i < ts + 10; i++)
				changed[i] = true;
		}
	}
	for (unsigned int s = 0; s < nsack; s++)
		for (int i = sack[s][0]; i < sack[s][0] + sack[s][1]; i++) {
			assert_int_equal(after->b[i], 1);
			changed[i] = true;
		}
	for (uint32_t i = 0; i < before->len; i++)
		if (!changed[i])
			assert_int_equal(after->b[i], before->b[i]);
}

struct layout {
	uint8_t opts[40];
	uint32_t olen;
	int ts;                 /* offset of TS in the header, -1: none */
	int sack[4][2];         /* offset, length in the header */
	unsigned int nsack;
};

#define TS_BYTES 8, 10, 0x11, 0x22, 0x33, 0x44, 0xde, 0xad, 0xbe, 0xef
#define SACK1 5, 10, 1, 2, 3, 4, 5, 6, 7, 8
#define SACK2 5, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

static const struct layout layouts[] = {
	/* Linux: NOP NOP TS NOP NOP SACK */
	{ { 1, 1, TS_BYTES, 1, 1, SACK2 }, 32, 22, { { 34, 18 } }, 1 },
	/* TS at an odd offset, SACK at an odd offset, EOL padding */
	{ { 1, TS_BYTES, SACK1, 0 }, 24, 21, { { 31, 10 } }, 1 },
	/* SACK first (3 blocks, odd length tail), TS after */
	{ { 5, 26, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
	    18, 19, 20, 21, 22, 23, 24, 1, TS_BYTES, 0 }, 38 + 2, 47,
	  { { 20, 26 } }, 1 },
	/* an unknown 3-byte option moves everything by one */
	{ { 30, 3, 0x77, TS_BYTES, SACK1, 0, 0, 0 }, 24, 23, { { 33, 10 } }, 1 },
	/* two SACK options, no TS */
	{ { SACK1, SACK1 }, 20, -1, { { 20, 10 }, { 30, 10 } }, 2 },
	/* 4 SACK blocks fill the option space */
	{ { 5, 34, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
	    18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0, 0, 0,
	    0, 0, 0 }, 40, -1, { { 20, 34 } }, 1 },
	/* options after EOL are not options: left alone */
	{ { 1, 1, TS_BYTES, 0, 5, 10, 1, 2, 3, 4, 5, 6, 7, 8 }, 24, 22, { { 0 } },
	  0 },
	/* no options */
	{ { 0 }, 0, -1, { { 0 } }, 0 },
};

static void
test_rewrite_layouts(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, true);
	h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
		 .ack = C_ISN + 1, .len = 77, .ts = true, .tsval = 0x7edcba98 });
	assert_int_equal(H.st.ts_recent, 0x7edcba98);
	for (unsigned int l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++)
		for (uint32_t seed = 0; seed < 64; seed++)
			for (int ack = 0; ack < 2; ack++) {
				const struct layout *lo = &layouts[l];
				struct raw before, after;

				raw_build(&before, ack ? F_ACK | F_PSH : F_PSH,
					  P_ISN + seed * 0x01010101u, lo->opts,
					  lo->olen, seed % 9, seed + l);
				after = before;
				assert_int_equal(shadow_tcp_rewrite(&H.st, after.b,
								    after.hl), 0);
				assert_rewritten(&before, &after, ack, lo->ts,
						 lo->sack, lo->nsack);
			}
}

/* Random option lists and field values: the checksum always holds. */
static void
test_rewrite_random(void **state)
{
	uint32_t x = 12345;

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, true);
	for (int iter = 0; iter < 5000; iter++) {
		struct layout lo = { .olen = 0, .ts = -1 };
		uint8_t o[40];
		uint32_t n = 0;
		struct raw before, after;

		while (n < 40) {
			uint32_t k;

			x = x * 1103515245u + 12345u;
			k = (x >> 16) % 5;
			if (k == 0) {
				o[n++] = 1;
			} else if (k == 1 && n + 10 <= 40 && lo.ts < 0) {
				lo.ts = (int)(20 + n);
				o[n] = 8;
				o[n + 1] = 10;
				for (int i = 2; i < 10; i++)
					o[n + i] = (uint8_t)(x >> i);
				n += 10;
			} else if (k == 2 && n + 10 <= 40 && lo.nsack < 4) {
				uint32_t blocks = 1 + (x >> 20) % ((40 - n - 2) / 8);

				lo.sack[lo.nsack][0] = (int)(20 + n);
				lo.sack[lo.nsack][1] = (int)(2 + 8 * blocks);
				lo.nsack++;
				o[n] = 5;
				o[n + 1] = (uint8_t)(2 + 8 * blocks);
				for (uint32_t i = 2; i < 2 + 8 * blocks; i++)
					o[n + i] = (uint8_t)(x >> (i % 24));
				n += 2 + 8 * blocks;
			} else if (k == 3 && n + 4 <= 40) {
				o[n] = 30;
				o[n + 1] = 4;
				o[n + 2] = (uint8_t)x;
				o[n + 3] = (uint8_t)(x >> 8);
				n += 4;
			} else if (k == 4) {
				break;
			}
		}
		while (n % 4)
			o[n++] = 0;
		memcpy(lo.opts, o, n);
		lo.olen = n;
		x = x * 1103515245u + 12345u;
		H.st.rcv_nxt = x;
		H.st.ts_recent = x * 31u;
		raw_build(&before, F_ACK, x ^ 0x5a5a5a5au, lo.opts, lo.olen,
			  (x >> 8) % 13, x);
		after = before;
		assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, after.hl), 0);
		assert_rewritten(&before, &after, true, lo.ts, lo.sack, lo.nsack);
	}
}

static void
test_rewrite_bounds(void **state)
{
	static const struct {
		uint8_t opts[12];
		uint32_t olen;
	} bad[] = {
		{ { 5, 1, 0, 0 }, 4 },                 /* length below 2 */
		{ { 1, 1, 5, 10, 1, 2, 3, 4 }, 8 },    /* runs past the header */
		{ { 1, 1, 1, 8 }, 4 },                 /* kind without length */
		{ { 8, 8, 1, 2, 3, 4, 5, 6 }, 8 },     /* TS of the wrong size */
		{ { 1, 1, 1, 0xfe }, 4 },              /* kind at the last byte */
	};
	struct raw before, after;
	struct shadow_tcp_seg seg;

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, true);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_build(&before, F_ACK, 1, bad[i].opts, bad[i].olen, 0, i);
		after = before;
		assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, after.hl), -1);
		assert_memory_equal(after.b, before.b, before.len);
		assert_int_equal(shadow_tcp_seg_parse(after.b, after.hl, 0, &seg), -1);
	}
	/* Data offset below 5, beyond what is readable, or a short buffer. */
	raw_build(&before, F_ACK, 1, bad[0].opts, 0, 0, 1);
	after = before;
	after.b[12] = 4 << 4;
	assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, 20), -1);
	after.b[12] = 15 << 4;
	assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, 59), -1);
	assert_int_equal(shadow_tcp_seg_parse(after.b, 59, 0, &seg), -1);
	after = before;
	assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, 19), -1);
	assert_memory_equal(after.b, before.b, before.len);
	assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, 20), 0);
	assert_raw_cksum(&after);
}

/* Before the SYN-ACK the ack of a forwarded RST is the client's own. */
static void
test_rewrite_before_synack(void **state)
{
	struct raw before, after;
	static const uint8_t opts[] = { 1, 1, TS_BYTES, 1, 1, SACK1 };

	(void)state;
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN, .ts = true,
		 .tsval = 5 });
	raw_build(&before, F_RST | F_ACK, 77, opts, sizeof(opts), 0, 3);
	after = before;
	assert_int_equal(shadow_tcp_rewrite(&H.st, after.b, after.hl), 0);
	assert_int_equal(get32(after.b + 8), 77);
	assert_int_equal(get32(after.b + 28), 0xdeadbeef);
	for (int i = 34; i < 44; i++)
		assert_int_equal(after.b[i], 1);
	assert_raw_cksum(&after);
}

/* ------------------------------------------------------------------ */
/* Early client data.                                                   */

static void
test_early_data_held(void **state)
{
	const struct wseg *w;

	(void)state;
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 1, .ack = P_ISN + 1 }), 0);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = C_ISN + 1, .ack = P_ISN + 1, .len = 100 }),
			 A_HOLD);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = C_ISN + 101, .ack = P_ISN + 1, .len = 100 }),
			 A_HOLD);
	/* The client retransmits a held segment: one copy is enough. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_PSH,
				  .seq = C_ISN + 1, .ack = P_ISN + 1, .len = 100 }),
			 0);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = C_ISN + 201, .ack = P_ISN + 1 }), A_HOLD);
	assert_int_equal(H.st.nheld, 3);
	assert_int_equal(H.nwire, 1);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 1 }),
			 A_ACK | A_REL | A_ACKED);
	assert_int_equal(H.nwire, 5);
	w = &H.wire[1];
	assert_true(w->made);
	assert_int_equal(w->ack, S_ISN + 1);
	for (unsigned int i = 0; i < 3; i++) {
		w = &H.wire[2 + i];
		assert_false(w->made);
		assert_int_equal(w->seq, C_ISN + 1 + 100 * i);
		assert_int_equal(w->ack, S_ISN + 1);
	}
	assert_int_equal(H.wire[4].flags, F_ACK | F_FIN);
	assert_int_equal(H.st.state, SHADOW_TCP_S_FIN_SENT);
	assert_int_equal(H.st.nheld, 0);
	assert_int_equal(H.ncopies, 3);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 1, .ack = C_ISN + 202 }), A_ACKED);
	assert_int_equal(H.ncopies, 0);
}

static void
test_hold_queue_full(void **state)
{
	(void)state;
	h_init();
	H.conf.hold_max = 2;
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	for (uint32_t i = 0; i < 2; i++)
		assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
					  .seq = C_ISN + 1 + 10 * i, .len = 10 }),
				 A_HOLD);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 21, .len = 10 }), A_RST | A_END);
	assert_int_equal(H.st.state, SHADOW_TCP_S_GAVE_UP);
	assert_int_equal(H.end_reason, SHADOW_TCP_R_QUEUE_FULL);
	assert_int_equal(wire_last()->flags, F_RST);
	assert_int_equal(wire_last()->seq, C_ISN + 1);
	assert_int_equal(H.nheld, 0);
	/* Nothing more happens, and END is reported once. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 31, .len = 10 }), 0);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 1 }), 0);
	assert_int_equal(h_tick(1000000), 0);
	assert_int_equal(H.ends, 1);
}

/* ------------------------------------------------------------------ */
/* Retransmission.                                                      */

static void
test_rto_backoff_give_up(void **state)
{
	uint64_t at;

	(void)state;
	h_init();
	H.conf.rto_max = 700;
	establish(C_ISN, S_ISN, true);
	H.now = 1000;
	h_client(&(struct spec){ .flags = F_ACK | F_PSH, .seq = C_ISN + 1,
		 .len = 100, .ts = true, .tsval = 20 });
	/* A later client segment does not push the deadline back. */
	H.now = 1050;
	h_client(&(struct spec){ .flags = F_ACK | F_PSH, .seq = C_ISN + 101,
		 .len = 50, .ts = true, .tsval = 21 });
	assert_true(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(at, 1000 + RTO);
	assert_int_equal(h_tick(1000 + RTO - 1), 0);
	assert_int_equal(h_tick(1000 + RTO), A_RTX);
	assert_int_equal(H.nwire, 2 + 2 + 2);
	assert_true(H.wire[4].rtx && H.wire[5].rtx);
	assert_int_equal(H.wire[4].seq, C_ISN + 1);
	assert_int_equal(H.wire[5].seq, C_ISN + 101);
	/* umbra's own retransmission carries the client's latest TSval. */
	assert_int_equal(H.wire[4].tsval, 21);
	assert_true(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(at, 1100 + 2 * RTO);

	/* The shadow talks without acking: the next copy acks its bytes. */
	h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
		 .ack = C_ISN + 1, .len = 10, .ts = true, .tsval = 150 });
	assert_int_equal(h_tick(1300), A_RTX);
	assert_int_equal(wire_last()->ack, S_ISN + 11);
	assert_int_equal(wire_last()->tsecr, 150);
	assert_true(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(at, 1300 + 4 * RTO);
	assert_int_equal(h_tick(1700), A_RTX);
	assert_true(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(at, 1700 + 700);         /* 8 * RTO capped */
	assert_int_equal(h_tick(2399), 0);
	assert_int_equal(h_tick(2400), A_RST | A_END);
	assert_int_equal(H.st.state, SHADOW_TCP_S_GAVE_UP);
	assert_int_equal(H.end_reason, SHADOW_TCP_R_RETRIES);
	assert_int_equal(wire_last()->flags, F_RST | F_ACK);
	assert_int_equal(wire_last()->seq, C_ISN + 151);
	assert_int_equal(wire_last()->ack, S_ISN + 11);
	assert_false(shadow_tcp_next_timeout(&H.st, &at));
}

static void
test_rto_reset_on_progress(void **state)
{
	uint64_t at;

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1, .len = 100 });
	h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 101, .len = 100 });
	assert_int_equal(h_tick(RTO), A_RTX);
	assert_int_equal(h_tick(RTO + 2 * RTO), A_RTX);
	/* Partial ack: backoff forgotten, timer restarted from now. */
	H.now = 400;
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
				  .ack = C_ISN + 101 }), A_ACKED);
	assert_int_equal(H.ncopies, 1);
	assert_true(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(at, 400 + RTO);
	assert_int_equal(h_tick(500), A_RTX);
	assert_int_equal(wire_last()->seq, C_ISN + 101);
	/* Everything acked: the timer stops. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
				  .ack = C_ISN + 201 }), A_ACKED);
	assert_false(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(h_tick(100000), 0);
	assert_int_equal(H.ncopies, 0);
}

static void
test_syn_lost_handshake_timeout(void **state)
{
	uint64_t t = 0, at;

	(void)state;
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	for (int i = 0; i < MAX_RETRIES; i++) {
		assert_true(shadow_tcp_next_timeout(&H.st, &at));
		t = at;
		assert_int_equal(h_tick(t), A_RTX);
		assert_int_equal(wire_last()->flags, F_SYN);
		assert_int_equal(wire_last()->seq, C_ISN);
	}
	/* The client's own SYN retransmission goes out too, no new copy. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN }),
			 A_FWD);
	assert_int_equal(H.ncopies, 1);
	assert_true(shadow_tcp_next_timeout(&H.st, &at));
	assert_int_equal(h_tick(at), A_RST | A_END);
	assert_int_equal(H.end_reason, SHADOW_TCP_R_HANDSHAKE_TIMEOUT);
	assert_int_equal(wire_last()->flags, F_RST);
}

/* A SYN copy lost once, then the SYN-ACK: retries counted from zero. */
static void
test_syn_retransmitted_then_answered(void **state)
{
	(void)state;
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	assert_int_equal(h_tick(RTO), A_RTX);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 1 }),
			 A_ACK | A_ACKED);
	assert_int_equal(H.st.retries, 0);
	assert_int_equal(H.ncopies, 0);
	/* The SYN-ACK again (our ACK was lost): acked again. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 1 }), A_ACK);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
	/* A late client SYN copy is not forwarded any more. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN }),
			 0);
}

/* ------------------------------------------------------------------ */
/* Shadow data: reordering, overlap.                                    */

static void
test_shadow_reorder(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, true);
	/* Second segment first: dup ACK, nothing delivered or echoed. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 101, .ack = C_ISN + 1, .len = 100,
				  .ts = true, .tsval = 300 }), A_ACK);
	assert_int_equal(H.ndlv, 0);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
	assert_int_equal(wire_last()->tsecr, 100);
	/* A third, also beyond the gap: another dup ACK. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 201, .ack = C_ISN + 1, .len = 100,
				  .ts = true, .tsval = 301 }), A_ACK);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
	/* The gap fills: only that segment is delivered (others not kept). */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 1, .ack = C_ISN + 1, .len = 100,
				  .ts = true, .tsval = 200 }), A_DLV | A_ACK);
	assert_int_equal(wire_last()->ack, S_ISN + 101);
	assert_int_equal(wire_last()->tsecr, 200);
	/* The shadow retransmits the rest. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 101, .ack = C_ISN + 1, .len = 200,
				  .ts = true, .tsval = 400 }), A_DLV | A_ACK);
	assert_int_equal(wire_last()->ack, S_ISN + 301);
	assert_int_equal(wire_last()->tsecr, 400);
	assert_delivered(S_ISN + 1, 300);
}

static void
test_shadow_overlap(void **state)
{
	struct shadow_tcp_verdict v;
	struct shadow_tcp_seg seg = { .flags = F_ACK, .seq = S_ISN + 51,
				      .ack = C_ISN + 1, .len = 100 };

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 1, .ack = C_ISN + 1, .len = 100 }),
			 A_DLV | A_ACK);
	/* Straight call to read the offsets: only the new half is given. */
	shadow_tcp_shadow(&H.st, &H.conf, &seg, 0, &v);
	assert_int_equal(v.act, A_DLV | A_ACK);
	assert_int_equal(v.dlv_off, 50);
	assert_int_equal(v.dlv_len, 50);
	assert_int_equal(H.st.rcv_nxt, S_ISN + 151);
	H.st.rcv_nxt = S_ISN + 101;     /* replay it through the harness */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 51, .ack = C_ISN + 1, .len = 100 }),
			 A_DLV | A_ACK);
	/* Whole old copies and copies ending at rcv_nxt: dup ACK only. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 1, .ack = C_ISN + 1, .len = 100 }),
			 A_ACK);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 101, .ack = C_ISN + 1, .len = 50 }),
			 A_ACK);
	assert_int_equal(wire_last()->ack, S_ISN + 151);
	/* A copy reaching one byte further, with the FIN. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = S_ISN + 1, .ack = C_ISN + 1, .len = 151 }),
			 A_DLV | A_ACK);
	assert_int_equal(H.st.state, SHADOW_TCP_S_FIN_RCVD);
	assert_int_equal(wire_last()->ack, S_ISN + 153);
	assert_delivered(S_ISN + 1, 151);
	/* A pure ACK from the shadow is never answered. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 153, .ack = C_ISN + 1 }), 0);
}

/* ------------------------------------------------------------------ */
/* FIN and RST in every state.                                          */

enum event { EV_CLIENT_FIN, EV_CLIENT_RST, EV_SHADOW_FIN, EV_SHADOW_RST };

static void
goto_state(enum shadow_tcp_state s)
{
	struct shadow_tcp_verdict v;

	switch (s) {
	case SHADOW_TCP_S_IDLE:
		return;
	case SHADOW_TCP_S_SYN_SENT:
		h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
		return;
	default:
		break;
	}
	establish(C_ISN, S_ISN, false);
	switch (s) {
	case SHADOW_TCP_S_FIN_SENT:
		h_client(&(struct spec){ .flags = F_ACK | F_FIN, .seq = C_ISN + 1 });
		break;
	case SHADOW_TCP_S_FIN_RCVD:
		h_shadow(&(struct spec){ .flags = F_ACK | F_FIN, .seq = S_ISN + 1,
			 .ack = C_ISN + 1 });
		break;
	case SHADOW_TCP_S_CLOSING:
		h_shadow(&(struct spec){ .flags = F_ACK | F_FIN, .seq = S_ISN + 1,
			 .ack = C_ISN + 1 });
		h_client(&(struct spec){ .flags = F_ACK | F_FIN, .seq = C_ISN + 1 });
		break;
	case SHADOW_TCP_S_CLOSED:
		h_client(&(struct spec){ .flags = F_ACK | F_FIN, .seq = C_ISN + 1 });
		h_shadow(&(struct spec){ .flags = F_ACK | F_FIN, .seq = S_ISN + 1,
			 .ack = C_ISN + 2 });
		break;
	case SHADOW_TCP_S_RESET:
		h_client(&(struct spec){ .flags = F_ACK | F_RST, .seq = C_ISN + 1 });
		break;
	case SHADOW_TCP_S_GAVE_UP:
		shadow_tcp_abort(&H.st, SHADOW_TCP_R_ABORTED, &v);
		h_finish(&v, &H.tmpl, SHADOW_TCP_FROM_CLIENT);
		break;
	default:
		break;
	}
}

static unsigned int
fire(enum event e)
{
	switch (e) {
	case EV_CLIENT_FIN:
		return h_client(&(struct spec){ .flags = F_ACK | F_FIN,
				.seq = C_ISN + 1, .ack = P_ISN + 1 });
	case EV_CLIENT_RST:
		return h_client(&(struct spec){ .flags = F_ACK | F_RST,
				.seq = C_ISN + 1, .ack = P_ISN + 1 });
	case EV_SHADOW_FIN:
		return h_shadow(&(struct spec){ .flags = F_ACK | F_FIN,
				.seq = S_ISN + 1, .ack = C_ISN + 1 });
	default:
		return h_shadow(&(struct spec){ .flags = F_ACK | F_RST,
				.seq = S_ISN + 1, .ack = C_ISN + 1 });
	}
}

struct fin_rst_case {
	uint8_t from;
	uint8_t ev;
	uint16_t act;
	uint8_t to;
	uint8_t reason;         /* with END, or the terminal state's reason */
};

#define S(x) SHADOW_TCP_S_##x
#define R(x) SHADOW_TCP_R_##x

static const struct fin_rst_case fin_rst_cases[] = {
	{ S(IDLE), EV_CLIENT_FIN, A_END, S(GAVE_UP), R(NO_SYN) },
	{ S(IDLE), EV_CLIENT_RST, A_END, S(GAVE_UP), R(NO_SYN) },
	{ S(IDLE), EV_SHADOW_FIN, 0, S(IDLE), R(NONE) },
	{ S(IDLE), EV_SHADOW_RST, 0, S(IDLE), R(NONE) },

	{ S(SYN_SENT), EV_CLIENT_FIN, A_HOLD, S(SYN_SENT), R(NONE) },
	{ S(SYN_SENT), EV_CLIENT_RST, A_FWD | A_END, S(RESET), R(CLIENT_RST) },
	{ S(SYN_SENT), EV_SHADOW_FIN, 0, S(SYN_SENT), R(NONE) },
	{ S(SYN_SENT), EV_SHADOW_RST, A_END, S(RESET), R(SHADOW_RST) },

	{ S(ESTABLISHED), EV_CLIENT_FIN, A_FWD | A_KEEP, S(FIN_SENT), R(NONE) },
	{ S(ESTABLISHED), EV_CLIENT_RST, A_FWD | A_END, S(RESET), R(CLIENT_RST) },
	{ S(ESTABLISHED), EV_SHADOW_FIN, A_ACK, S(FIN_RCVD), R(NONE) },
	{ S(ESTABLISHED), EV_SHADOW_RST, A_END, S(RESET), R(SHADOW_RST) },

	{ S(FIN_SENT), EV_CLIENT_FIN, A_FWD, S(FIN_SENT), R(NONE) },
	{ S(FIN_SENT), EV_CLIENT_RST, A_FWD | A_END, S(RESET), R(CLIENT_RST) },
	{ S(FIN_SENT), EV_SHADOW_FIN, A_ACK, S(CLOSING), R(NONE) },
	{ S(FIN_SENT), EV_SHADOW_RST, A_END, S(RESET), R(SHADOW_RST) },

	{ S(FIN_RCVD), EV_CLIENT_FIN, A_FWD | A_KEEP, S(CLOSING), R(NONE) },
	{ S(FIN_RCVD), EV_CLIENT_RST, A_FWD | A_END, S(RESET), R(CLIENT_RST) },
	{ S(FIN_RCVD), EV_SHADOW_FIN, A_ACK, S(FIN_RCVD), R(NONE) },
	{ S(FIN_RCVD), EV_SHADOW_RST, A_END, S(RESET), R(SHADOW_RST) },

	{ S(CLOSING), EV_CLIENT_FIN, A_FWD, S(CLOSING), R(NONE) },
	{ S(CLOSING), EV_CLIENT_RST, A_FWD | A_END, S(RESET), R(CLIENT_RST) },
	{ S(CLOSING), EV_SHADOW_FIN, A_ACK, S(CLOSING), R(NONE) },
	{ S(CLOSING), EV_SHADOW_RST, A_END, S(RESET), R(SHADOW_RST) },

	{ S(CLOSED), EV_CLIENT_FIN, 0, S(CLOSED), R(CLOSED) },
	{ S(CLOSED), EV_CLIENT_RST, 0, S(CLOSED), R(CLOSED) },
	{ S(CLOSED), EV_SHADOW_FIN, A_ACK, S(CLOSED), R(CLOSED) },
	{ S(CLOSED), EV_SHADOW_RST, 0, S(CLOSED), R(CLOSED) },

	{ S(RESET), EV_CLIENT_FIN, 0, S(RESET), R(CLIENT_RST) },
	{ S(RESET), EV_CLIENT_RST, 0, S(RESET), R(CLIENT_RST) },
	{ S(RESET), EV_SHADOW_FIN, 0, S(RESET), R(CLIENT_RST) },
	{ S(RESET), EV_SHADOW_RST, 0, S(RESET), R(CLIENT_RST) },

	{ S(GAVE_UP), EV_CLIENT_FIN, 0, S(GAVE_UP), R(ABORTED) },
	{ S(GAVE_UP), EV_CLIENT_RST, 0, S(GAVE_UP), R(ABORTED) },
	{ S(GAVE_UP), EV_SHADOW_FIN, 0, S(GAVE_UP), R(ABORTED) },
	{ S(GAVE_UP), EV_SHADOW_RST, 0, S(GAVE_UP), R(ABORTED) },
};

static void
test_fin_rst_every_state(void **state)
{
	bool seen[SHADOW_TCP_S_MAX][4] = { { false } };

	(void)state;
	for (unsigned int i = 0; i < sizeof(fin_rst_cases) / sizeof(fin_rst_cases[0]);
	     i++) {
		const struct fin_rst_case *c = &fin_rst_cases[i];
		unsigned int ends, act;

		print_message("%s + event %u\n",
			      shadow_tcp_state_name(c->from), c->ev);
		h_init();
		goto_state(c->from);
		assert_int_equal(H.st.state, c->from);
		ends = H.ends;
		act = fire(c->ev);
		assert_int_equal(act, c->act);
		assert_int_equal(H.st.state, c->to);
		assert_int_equal(H.st.reason, c->reason);
		assert_int_equal(H.ends, ends + !!(act & A_END));
		if (act & A_END)
			assert_int_equal(H.end_reason, c->reason);
		/* A forwarded RST never carries production's ack. */
		if (c->ev == EV_CLIENT_RST && (act & A_FWD))
			assert_int_equal(wire_last()->ack, c->from == S(SYN_SENT) ?
					 P_ISN + 1 : H.st.rcv_nxt);
		seen[c->from][c->ev] = true;
	}
	for (unsigned int s = 0; s < SHADOW_TCP_S_MAX; s++)
		for (unsigned int e = 0; e < 4; e++)
			assert_true(seen[s][e]);
}

/* CLOSING ends when the shadow acks the client's FIN. */
static void
test_closing_then_acked(void **state)
{
	(void)state;
	h_init();
	goto_state(S(CLOSING));
	assert_int_equal(H.ncopies, 1);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 2,
				  .ack = C_ISN + 2 }), A_ACKED | A_END);
	assert_int_equal(H.st.state, S(CLOSED));
	assert_int_equal(H.end_reason, R(CLOSED));
}

/* ------------------------------------------------------------------ */
/* Client retransmissions, window updates.                              */

static void
test_client_retransmissions(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1,
				  .ack = P_ISN + 1, .len = 100 }), A_FWD | A_KEEP);
	/* Same bytes again: forwarded, no second copy, nothing moves. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1,
				  .ack = P_ISN + 40, .len = 100 }), A_FWD);
	assert_int_equal(H.ncopies, 1);
	assert_int_equal(H.st.snd_nxt, C_ISN + 101);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
	/* Repacketised: overlaps and extends, so it is new space. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 51,
				  .ack = P_ISN + 40, .len = 100 }), A_FWD | A_KEEP);
	assert_int_equal(H.st.snd_nxt, C_ISN + 151);
	assert_int_equal(H.ncopies, 2);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
				  .ack = C_ISN + 101 }), A_ACKED);
	assert_int_equal(H.ncopies, 1);
	/* What the shadow acked already is not sent again. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1,
				  .ack = P_ISN + 40, .len = 100 }), 0);
	/* A part still unacked is. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 51,
				  .ack = P_ISN + 40, .len = 100 }), A_FWD);
	/* An old ack from the shadow changes nothing. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
				  .ack = C_ISN + 51 }), 0);
	assert_int_equal(H.st.snd_una, C_ISN + 101);
	/* A gap upstream of umbra: later data goes out, the gap follows. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 251,
				  .ack = P_ISN + 40, .len = 100 }), A_FWD | A_KEEP);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 151,
				  .ack = P_ISN + 40, .len = 100 }), A_FWD);
	assert_int_equal(H.st.snd_nxt, C_ISN + 351);
	assert_no_production_acks();
}

static void
test_window_update(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1,
				  .ack = P_ISN + 1 }), 0);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1,
				  .ack = P_ISN + 1, .win = 4000 }), A_FWD);
	assert_int_equal(wire_last()->win, 4000);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1,
				  .ack = P_ISN + 9, .win = 4000 }), 0);
	/* umbra's own ACKs advertise the client's latest window. */
	h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
		 .ack = C_ISN + 1, .len = 5 });
	assert_int_equal(wire_last()->win, 4000);
	assert_true(wire_last()->made);
}

/* ------------------------------------------------------------------ */
/* Sequence wrap, timestamps, nonsense.                                 */

static void
test_seq_wrap(void **state)
{
	const uint32_t c = 0xffffff80u, s = 0xffffffa0u;

	(void)state;
	h_init();
	establish_ts(c, s, true, 0xffffff00u);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = c + 1,
				  .len = 200, .ts = true, .tsval = 0xfffffff0u }),
			 A_FWD | A_KEEP);
	assert_int_equal(H.st.snd_nxt, c + 201);
	assert_true(H.st.snd_nxt < c);
	/* Shadow data across 2^32, delivered in two parts then acked. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = s + 1,
				  .ack = c + 101, .len = 150, .ts = true,
				  .tsval = 0xfffffffeu }), A_DLV | A_ACK | A_ACKED);
	assert_int_equal(H.ncopies, 1);         /* ends after 2^32 */
	/* Out of order beyond the wrap, then the fill. */
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = s + 251,
				  .ack = c + 201, .len = 50, .ts = true,
				  .tsval = 5 }), A_ACK | A_ACKED);
	assert_int_equal(H.ncopies, 0);
	assert_int_equal(wire_last()->ack, s + 151);
	assert_int_equal(wire_last()->tsecr, 0xfffffffeu);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = s + 101,
				  .ack = c + 201, .len = 150, .ts = true,
				  .tsval = 3 }), A_DLV | A_ACK);
	assert_int_equal(wire_last()->ack, s + 251);
	assert_int_equal(wire_last()->tsecr, 3);  /* TSval wrapped too */
	assert_delivered(s + 1, 250);
	/* The retransmission timer and a close, past the wrap. */
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = c + 201, .ts = true, .tsval = 2 }),
			 A_FWD | A_KEEP);
	assert_int_equal(h_tick(RTO), A_RTX);
	assert_int_equal(wire_last()->seq, c + 201);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK | F_FIN,
				  .seq = s + 251, .ack = c + 202, .ts = true,
				  .tsval = 9 }), A_ACK | A_ACKED | A_END);
	assert_int_equal(H.end_reason, R(CLOSED));
	assert_int_equal(wire_last()->ack, s + 252);
}

static void
test_timestamps_absent(void **state)
{
	(void)state;
	/* Client without timestamps: none anywhere, even if the shadow has. */
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	h_shadow(&(struct spec){ .flags = F_SYN | F_ACK, .seq = S_ISN,
		 .ack = C_ISN + 1, .ts = true, .tsval = 7 });
	assert_false(wire_last()->ts);
	/* Shadow without timestamps: the client's TSecr is left alone. */
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN, .ts = true,
		 .tsval = 1 });
	h_shadow(&(struct spec){ .flags = F_SYN | F_ACK, .seq = S_ISN,
		 .ack = C_ISN + 1 });
	assert_false(wire_last()->ts);
	h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1, .len = 3,
		 .ts = true, .tsval = 2, .tsecr = 0x1234, .nsack = 1 });
	assert_true(wire_last()->ts);
	assert_int_equal(wire_last()->tsecr, 0x1234);
	assert_false(wire_last()->sack);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
}

static void
test_sack_stripped(void **state)
{
	(void)state;
	h_init();
	establish(C_ISN, S_ISN, true);
	for (uint8_t n = 1; n <= 3; n++) {
		assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
					  .seq = C_ISN + 1 + 10 * n, .len = 10,
					  .ts = true, .tsval = 30 + n,
					  .tsecr = 999, .nsack = n }),
				 A_FWD | A_KEEP);
		assert_false(wire_last()->sack);
		assert_int_equal(wire_last()->tsecr, 100);
		assert_int_equal(wire_last()->tsval, 30 + n);
	}
}

static void
test_nonsense(void **state)
{
	(void)state;
	/* The shadow acks bytes never sent. */
	h_init();
	establish(C_ISN, S_ISN, false);
	h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1, .len = 10 });
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK, .seq = S_ISN + 1,
				  .ack = C_ISN + 12 }), A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_ACK));
	/* A SYN-ACK for another ISN. */
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 7 }), A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_SYNACK));
	/* Before the SYN-ACK a RST that does not answer our SYN is noise. */
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_RST | F_ACK,
				  .seq = S_ISN, .ack = C_ISN + 9 }), 0);
	assert_int_equal(H.st.state, S(SYN_SENT));
	/* Shadow data half the sequence space away. */
	h_init();
	establish(C_ISN, S_ISN, false);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_ACK,
				  .seq = S_ISN + 0x80000000u, .ack = C_ISN + 1,
				  .len = 10 }), A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_SEQ));
	/* A flow seen first mid-stream: no RST, the shadow knows nothing. */
	h_init();
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN,
				  .len = 10 }), A_END);
	assert_int_equal(H.end_reason, R(NO_SYN));
	assert_int_equal(H.nwire, 0);
	/* A Fast Open SYN cannot be replayed: given up before it goes out. */
	h_init();
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN,
				  .len = 10 }), A_END);
	assert_int_equal(H.end_reason, R(SYN_DATA));
	assert_int_equal(H.nwire, 0);
	h_init();
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN | F_FIN,
				  .seq = C_ISN }), A_END);
	assert_int_equal(H.end_reason, R(NO_SYN));
	/* Client data after its own FIN. */
	h_init();
	goto_state(S(FIN_SENT));
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 2,
				  .len = 10 }), A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_SEQ));
	/* Client data far off. */
	h_init();
	establish(C_ISN, S_ISN, false);
	assert_int_equal(h_client(&(struct spec){ .flags = F_ACK,
				  .seq = C_ISN + 0x70000000u, .len = 10 }),
			 A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_SEQ));
	/* Another client SYN while waiting for the SYN-ACK. */
	h_init();
	h_client(&(struct spec){ .flags = F_SYN, .seq = C_ISN });
	assert_int_equal(h_client(&(struct spec){ .flags = F_SYN, .seq = 5 }),
			 A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_SEQ));
	/* A shadow SYN with another ISN after the handshake. */
	h_init();
	establish(C_ISN, S_ISN, false);
	assert_int_equal(h_shadow(&(struct spec){ .flags = F_SYN | F_ACK,
				  .seq = S_ISN + 5, .ack = C_ISN + 1 }),
			 A_RST | A_END);
	assert_int_equal(H.end_reason, R(BAD_SEQ));
}

static void
test_abort(void **state)
{
	struct shadow_tcp_verdict v;

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	h_client(&(struct spec){ .flags = F_ACK, .seq = C_ISN + 1, .len = 10 });
	shadow_tcp_abort(&H.st, R(ABORTED), &v);
	assert_int_equal(v.act, A_RST | A_END);
	h_finish(&v, &H.tmpl, SHADOW_TCP_FROM_CLIENT);
	assert_int_equal(wire_last()->flags, F_RST | F_ACK);
	assert_int_equal(wire_last()->seq, C_ISN + 11);
	assert_int_equal(wire_last()->ack, S_ISN + 1);
	assert_int_equal(H.ncopies, 0);
	shadow_tcp_abort(&H.st, R(ABORTED), &v);
	assert_int_equal(v.act, 0);
	assert_int_equal(H.st.reason, R(ABORTED));
	/* In IDLE there is nobody to reset. */
	h_init();
	shadow_tcp_abort(&H.st, R(ABORTED), &v);
	assert_int_equal(v.act, A_END);
}

/* ------------------------------------------------------------------ */
/* Frame builders on other layouts.                                     */

static void
test_build_ipv6_vlan(void **state)
{
	static const uint8_t ip6_c[16] = { 0x20, 0x01, 0x0d, 0xb8, [12] = 10, 0,
					   0, 1 };
	static const uint8_t ip6_s[16] = { 0x20, 0x01, 0x0d, 0xb8, [12] = 10, 0,
					   0, 2 };
	struct frame f = { .len = 0 };
	uint8_t out[128];
	struct wseg w;
	uint32_t n, l3, l4;

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, true);
	/* Shadow -> client over QinQ, IPv6 with a hop-by-hop header. */
	put(&f, mac_c, 6);
	put(&f, mac_s, 6);
	put16(&f, 0x88a8);
	put16(&f, 0x0064);
	put16(&f, 0x8100);
	put16(&f, 0x20c8);
	put16(&f, 0x86dd);
	l3 = f.len;
	put32(&f, 0x60012345);
	put16(&f, 8 + 20);
	put8(&f, 0);
	put8(&f, 60);
	put(&f, ip6_s, 16);
	put(&f, ip6_c, 16);
	put8(&f, 6);
	put8(&f, 0);
	putn(&f, 0, 6);
	l4 = f.len;
	put16(&f, SPORT);
	put16(&f, CPORT);
	put32(&f, S_ISN + 1);
	put32(&f, C_ISN + 1);
	put16(&f, 0x5010);
	put16(&f, 100);
	put32(&f, 0);
	n = shadow_tcp_build_ack(&H.st, f.b, f.len, (uint16_t)l3, (uint16_t)l4,
				 SHADOW_TCP_FROM_SHADOW, out, sizeof(out));
	assert_int_equal(n, l3 + 40 + 32);
	assert_memory_equal(out + 12, f.b + 12, l3 - 12);       /* tags */
	decode(out, n, &w);
	assert_memory_equal(out + l3 + 8, ip6_c, 16);
	assert_memory_equal(out + l3 + 24, ip6_s, 16);
	assert_int_equal(out[l3 + 6], 6);
	assert_int_equal(w.ack, S_ISN + 1);
	assert_true(w.ts);
	/* Too small a buffer, or a template that is not IP: nothing. */
	assert_int_equal(shadow_tcp_build_ack(&H.st, f.b, f.len, (uint16_t)l3,
					      (uint16_t)l4, SHADOW_TCP_FROM_SHADOW,
					      out, n - 1), 0);
	assert_int_equal(shadow_tcp_build_ack(&H.st, f.b, l4 + 3, (uint16_t)l3,
					      (uint16_t)l4, SHADOW_TCP_FROM_SHADOW,
					      out, sizeof(out)), 0);
	assert_int_equal(shadow_tcp_build_ack(&H.st, f.b, f.len, (uint16_t)l3,
					      (uint16_t)(l3 + 20),
					      SHADOW_TCP_FROM_SHADOW, out,
					      sizeof(out)), 0);
	f.b[l3] = 0x50;
	assert_int_equal(shadow_tcp_build_ack(&H.st, f.b, f.len, (uint16_t)l3,
					      (uint16_t)l4, SHADOW_TCP_FROM_SHADOW,
					      out, sizeof(out)), 0);
	assert_int_equal(shadow_tcp_build_ack(&H.st, f.b, f.len, 10, 60,
					      SHADOW_TCP_FROM_SHADOW, out,
					      sizeof(out)), 0);
}

static void
test_build_from_client_ipv4_options(void **state)
{
	struct frame f = { .len = 0 };
	uint8_t out[128], hdr[SHADOW_TCP_ACK_HDR_MAX];
	struct wseg w;
	uint32_t n;

	(void)state;
	h_init();
	establish(C_ISN, S_ISN, false);
	/* Client -> server template with 8 bytes of IPv4 options. */
	put(&f, mac_s, 6);
	put(&f, mac_c, 6);
	put16(&f, 0x0800);
	put8(&f, 0x47);
	put8(&f, 0);
	put16(&f, 28 + 20);
	put32(&f, 0x40000);
	put8(&f, 64);
	put8(&f, 6);
	put16(&f, 0);
	put(&f, ip_c, 4);
	put(&f, ip_s, 4);
	putn(&f, 1, 8);
	put16(&f, CPORT);
	put16(&f, SPORT);
	putn(&f, 0, 16);
	n = shadow_tcp_build_ack(&H.st, f.b, f.len, L3, L3 + 28,
				 SHADOW_TCP_FROM_CLIENT, out, sizeof(out));
	assert_int_equal(n, L3 + 20 + 20);
	decode(out, n, &w);
	assert_int_equal(w.flags, F_ACK);
	assert_int_equal(w.seq, C_ISN + 1);
	assert_int_equal(w.ack, S_ISN + 1);
	assert_int_equal(w.win, WIN);
	assert_false(w.ts);
	n = shadow_tcp_build_rst(&H.st, f.b, f.len, L3, L3 + 28,
				 SHADOW_TCP_FROM_CLIENT, out, sizeof(out));
	decode(out, n, &w);
	assert_int_equal(w.flags, F_RST | F_ACK);
	/* The bare header writer. */
	assert_int_equal(shadow_tcp_ack_hdr(&H.st, hdr, 19, CPORT, SPORT), 0);
	assert_int_equal(shadow_tcp_ack_hdr(&H.st, hdr, sizeof(hdr), CPORT, SPORT),
			 20);
	assert_int_equal(get32(hdr + 8), S_ISN + 1);
	assert_int_equal(get16(hdr + 16), 0);
}

/* ------------------------------------------------------------------ */
/* Small things.                                                        */

static void
test_names_conf_size(void **state)
{
	struct shadow_tcp_conf c = { .rto = 1, .rto_max = 1, .max_retries = 1 };

	(void)state;
	assert_true(sizeof(struct shadow_tcp) <= 48);
	assert_string_equal(shadow_tcp_state_name(S(IDLE)), "idle");
	assert_string_equal(shadow_tcp_state_name(S(GAVE_UP)), "gave_up");
	assert_string_equal(shadow_tcp_state_name(S(MAX)), "?");
	assert_string_equal(shadow_tcp_reason_name(R(QUEUE_FULL)), "queue_full");
	assert_string_equal(shadow_tcp_reason_name(R(ABORTED)), "aborted");
	assert_string_equal(shadow_tcp_reason_name(R(MAX)), "?");
	assert_int_equal(shadow_tcp_conf_check(&c), 0);
	c.rto_max = 0;
	assert_int_equal(shadow_tcp_conf_check(&c), -1);
	c.rto_max = 1;
	c.rto = 0;
	assert_int_equal(shadow_tcp_conf_check(&c), -1);
	c.rto = 1;
	c.max_retries = 0;
	assert_int_equal(shadow_tcp_conf_check(&c), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_normal),
		cmocka_unit_test(test_shadow_answers_more),
		cmocka_unit_test(test_shadow_answers_fewer),
		cmocka_unit_test(test_rewrite_layouts),
		cmocka_unit_test(test_rewrite_random),
		cmocka_unit_test(test_rewrite_bounds),
		cmocka_unit_test(test_rewrite_before_synack),
		cmocka_unit_test(test_sack_stripped),
		cmocka_unit_test(test_early_data_held),
		cmocka_unit_test(test_hold_queue_full),
		cmocka_unit_test(test_rto_backoff_give_up),
		cmocka_unit_test(test_rto_reset_on_progress),
		cmocka_unit_test(test_syn_lost_handshake_timeout),
		cmocka_unit_test(test_syn_retransmitted_then_answered),
		cmocka_unit_test(test_shadow_reorder),
		cmocka_unit_test(test_shadow_overlap),
		cmocka_unit_test(test_fin_rst_every_state),
		cmocka_unit_test(test_closing_then_acked),
		cmocka_unit_test(test_client_retransmissions),
		cmocka_unit_test(test_window_update),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_timestamps_absent),
		cmocka_unit_test(test_nonsense),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_build_ipv6_vlan),
		cmocka_unit_test(test_build_from_client_ipv4_options),
		cmocka_unit_test(test_names_conf_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
