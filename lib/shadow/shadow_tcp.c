/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow TCP session state machine (see shadow_tcp.h for the contract).
 *
 * Client sequence space is the client's own (segments are forwarded with
 * their seq untouched); shadow sequence space is the shadow's, tracked from
 * its SYN-ACK. umbra is the client toward the shadow: it acknowledges what
 * it received in order and retransmits what the shadow did not acknowledge.
 * Bytes only: no DPDK, so unit tests and fuzzers run it as the worker does.
 */
#include <stddef.h>
#include <string.h>

#include "pkt.h"
#include "pkt_math.h"
#include "shadow_tcp.h"

#define TCP_HLEN 20u
#define TCP_HLEN_MAX 60u
#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_SACK 5
#define OPT_TS 8
#define OPT_TS_LEN 10u
#define OPT_MAX_SACK 4          /* 40 option bytes, 10 per SACK option */
#define ETH_ALEN 6u
#define ETH_HLEN 14u
#define IPV4_HLEN 20u
#define IPV6_HLEN 40u
#define PROTO_TCP 6
#define ANSWER_TTL 64

/* Private bits of struct shadow_tcp.flags. */
enum {
	F_CLIENT_TS = 1 << 0, /* client's SYN offered timestamps */
	F_TS = 1 << 1,        /* both sides use timestamps */
	F_SYNCED = 1 << 2,    /* shadow ISN known: rcv_nxt valid */
	F_TIMER = 1 << 3,     /* rto_at valid */
};

/* ------------------------------------------------------------------ */
/* Bytes, sequence arithmetic, checksums.                              */

/* |a - b| modulo 2^32 stays within what any window allows. */
static inline bool
seq_near(uint32_t a, uint32_t b)
{
	uint32_t d = a - b;

	return d <= SHADOW_TCP_SEQ_SANE || -d <= SHADOW_TCP_SEQ_SANE;
}

/* Sequence space a segment occupies: payload, SYN and FIN count one. */
static inline uint32_t
seg_space(const struct shadow_tcp_seg *s)
{
	return (uint32_t)s->len + !!(s->flags & SHADOW_TCP_SYN) +
	       !!(s->flags & SHADOW_TCP_FIN);
}

/* Sum of big-endian 16-bit words (RFC 1071); an odd tail is zero-padded. */
static uint32_t
cksum_add(uint32_t acc, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += pkt_be16(p + i);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

/*
 * Replace @p n bytes at @p off of a header whose checksum is being updated
 * per RFC 1624 eqn 3 (HC' = ~(~HC + ~m + m')): every 16-bit word the bytes
 * touch is taken out before and put back after, so any offset and length
 * (odd ones included) work. @p acc starts as ~HC.
 */
static void
patch_bytes(uint8_t *hdr, uint32_t off, const uint8_t *val, uint32_t n,
	    uint32_t *acc)
{
	uint32_t lo = off & ~1u;
	uint32_t hi = (off + n + 1) & ~1u;
	uint32_t w;

	for (w = lo; w < hi; w += 2)
		*acc += (uint16_t)~pkt_be16(hdr + w);
	memcpy(hdr + off, val, n);
	for (w = lo; w < hi; w += 2)
		*acc += pkt_be16(hdr + w);
}

static void
patch32(uint8_t *hdr, uint32_t off, uint32_t v, uint32_t *acc)
{
	uint8_t b[4];

	pkt_put_be32(b, v);
	patch_bytes(hdr, off, b, 4, acc);
}

/* ------------------------------------------------------------------ */
/* TCP options.                                                         */

/* Where the options a rewrite touches sit (offsets from the header). */
struct opt_pos {
	uint8_t ts;                    /* 0: none */
	uint8_t n_sack;
	uint8_t sack[OPT_MAX_SACK][2]; /* offset, length */
};

/* Header length from the data offset, or 0 when it cannot be trusted. */
static uint32_t
tcp_hdr_len(const uint8_t *tcp, uint32_t avail)
{
	uint32_t hl;

	if (avail < TCP_HLEN)
		return 0;
	hl = (uint32_t)(tcp[12] >> 4) * 4;
	return hl >= TCP_HLEN && hl <= avail ? hl : 0;
}

/*
 * Walk the options of a header of @p hl bytes, every read bounded by it.
 * -1 on a malformed list (length < 2 or past the end, TS not 10 bytes).
 */
static int
opts_scan(const uint8_t *tcp, uint32_t hl, struct opt_pos *pos)
{
	uint32_t i = TCP_HLEN;

	memset(pos, 0, sizeof(*pos));
	while (i < hl) {
		uint8_t kind = tcp[i];
		uint32_t olen;

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= hl)
			return -1;
		olen = tcp[i + 1];
		if (olen < 2 || i + olen > hl)
			return -1;
		if (kind == OPT_TS) {
			if (olen != OPT_TS_LEN)
				return -1;
			pos->ts = (uint8_t)i;
		} else if (kind == OPT_SACK && pos->n_sack < OPT_MAX_SACK) {
			pos->sack[pos->n_sack][0] = (uint8_t)i;
			pos->sack[pos->n_sack][1] = (uint8_t)olen;
			pos->n_sack++;
		}
		i += olen;
	}
	return 0;
}

int
shadow_tcp_seg_parse(const uint8_t *tcp, uint32_t avail, uint16_t payload_len,
		     struct shadow_tcp_seg *seg)
{
	uint32_t hl = tcp_hdr_len(tcp, avail);
	struct opt_pos pos;

	if (hl == 0 || opts_scan(tcp, hl, &pos) < 0)
		return -1;
	memset(seg, 0, sizeof(*seg));
	seg->seq = pkt_be32(tcp + 4);
	seg->ack = pkt_be32(tcp + 8);
	seg->flags = tcp[13];
	seg->win = pkt_be16(tcp + 14);
	seg->len = payload_len;
	if (pos.ts) {
		seg->opts |= SHADOW_TCP_O_TS;
		seg->tsval = pkt_be32(tcp + pos.ts + 2);
		seg->tsecr = pkt_be32(tcp + pos.ts + 6);
	}
	if (pos.n_sack)
		seg->opts |= SHADOW_TCP_O_SACK;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Rewriting forwarded client segments.                                 */

static int
rewrite(const struct shadow_tcp *st, uint8_t *tcp, uint32_t avail, bool rtx)
{
	static const uint8_t nops[TCP_HLEN_MAX] = {
		[0 ... TCP_HLEN_MAX - 1] = OPT_NOP
	};
	uint32_t hl = tcp_hdr_len(tcp, avail);
	bool ack = tcp[13] & SHADOW_TCP_ACK;
	struct opt_pos pos;
	uint32_t acc;

	if (hl == 0 || opts_scan(tcp, hl, &pos) < 0)
		return -1;
	acc = (uint16_t)~pkt_be16(tcp + 16);
	/* Before the SYN-ACK only SYN and RST go out: nothing to ack yet. */
	if (ack && (st->flags & F_SYNCED))
		patch32(tcp, 8, st->rcv_nxt, &acc);
	/* SACK blocks name production's bytes: meaningless to the shadow. */
	for (unsigned int i = 0; i < pos.n_sack; i++)
		patch_bytes(tcp, pos.sack[i][0], nops, pos.sack[i][1], &acc);
	if (pos.ts && ack && (st->flags & F_TS))
		patch32(tcp, pos.ts + 6u, st->ts_recent, &acc);
	if (pos.ts && rtx && (st->flags & F_TS))
		patch32(tcp, pos.ts + 2u, st->c_tsval, &acc);
	pkt_put_be16(tcp + 16, (uint16_t)~pkt_cksum_fold(acc));
	return 0;
}

int
shadow_tcp_rewrite(const struct shadow_tcp *st, uint8_t *tcp, uint32_t avail)
{
	return rewrite(st, tcp, avail, false);
}

int
shadow_tcp_rewrite_rtx(const struct shadow_tcp *st, uint8_t *tcp,
		       uint32_t avail)
{
	return rewrite(st, tcp, avail, true);
}

/* ------------------------------------------------------------------ */
/* Session bookkeeping.                                                 */

int
shadow_tcp_conf_check(const struct shadow_tcp_conf *conf)
{
	if (conf->rto == 0 || conf->rto_max < conf->rto ||
	    conf->max_retries == 0)
		return -1;
	return 0;
}

void
shadow_tcp_init(struct shadow_tcp *st)
{
	memset(st, 0, sizeof(*st));
}

const char *
shadow_tcp_state_name(enum shadow_tcp_state s)
{
	static const char *const names[] = {
#define SHADOW_TCP_STATE_NAME(id, name) name,
		SHADOW_TCP_STATES(SHADOW_TCP_STATE_NAME)
#undef SHADOW_TCP_STATE_NAME
	};

	return (unsigned int)s < SHADOW_TCP_S_MAX ? names[s] : "?";
}

const char *
shadow_tcp_reason_name(enum shadow_tcp_reason r)
{
	static const char *const names[] = {
#define SHADOW_TCP_REASON_NAME(id, name) name,
		SHADOW_TCP_REASONS(SHADOW_TCP_REASON_NAME)
#undef SHADOW_TCP_REASON_NAME
	};

	return (unsigned int)r < SHADOW_TCP_R_MAX ? names[r] : "?";
}

bool
shadow_tcp_next_timeout(const struct shadow_tcp *st, uint64_t *at)
{
	if (!(st->flags & F_TIMER))
		return false;
	*at = st->rto_at;
	return true;
}

/* Timeout after @p retries expiries: rto doubled each time, capped. */
static uint64_t
backoff(const struct shadow_tcp_conf *conf, uint8_t retries)
{
	uint64_t t = conf->rto;

	while (retries-- > 0 && t < conf->rto_max)
		t = t > UINT64_MAX / 2 ? UINT64_MAX : t * 2;
	return t < conf->rto_max ? t : conf->rto_max;
}

static void
timer_start(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
	    uint64_t now)
{
	st->rto_at = now + backoff(conf, st->retries);
	st->flags |= F_TIMER;
}

/* The timer runs exactly while sent sequence space is unacknowledged. */
static void
timer_arm_if_idle(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		  uint64_t now)
{
	if (st->snd_una == st->snd_nxt)
		st->flags &= ~F_TIMER;
	else if (!(st->flags & F_TIMER))
		timer_start(st, conf, now);
}

static void
session_end(struct shadow_tcp *st, enum shadow_tcp_state state,
	    enum shadow_tcp_reason reason, struct shadow_tcp_verdict *v)
{
	st->state = (uint8_t)state;
	st->reason = (uint8_t)reason;
	st->flags &= ~F_TIMER;
	st->nheld = 0;
	v->act |= SHADOW_TCP_A_END;
	v->reason = (uint8_t)reason;
}

/* Give up; a shadow that has seen our SYN may hold a connection: reset it. */
static void
give_up(struct shadow_tcp *st, enum shadow_tcp_reason reason,
	struct shadow_tcp_verdict *v)
{
	if (st->state != SHADOW_TCP_S_IDLE)
		v->act |= SHADOW_TCP_A_RST_SHADOW;
	v->act &= ~(SHADOW_TCP_A_FORWARD | SHADOW_TCP_A_KEEP | SHADOW_TCP_A_HOLD);
	session_end(st, SHADOW_TCP_S_GAVE_UP, reason, v);
}

void
shadow_tcp_abort(struct shadow_tcp *st, enum shadow_tcp_reason reason,
		 struct shadow_tcp_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (!shadow_tcp_ended(st))
		give_up(st, reason, v);
}

static bool
client_fin_sent(const struct shadow_tcp *st)
{
	return st->state == SHADOW_TCP_S_FIN_SENT ||
	       st->state == SHADOW_TCP_S_CLOSING;
}

/* ------------------------------------------------------------------ */
/* Client -> shadow.                                                    */

static void
client_note_options(struct shadow_tcp *st, const struct shadow_tcp_seg *seg)
{
	if ((seg->opts & SHADOW_TCP_O_TS) && !pkt_seq_lt(seg->tsval, st->c_tsval))
		st->c_tsval = seg->tsval;
}

static void
client_in_idle(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
	       const struct shadow_tcp_seg *seg, uint64_t now,
	       struct shadow_tcp_verdict *v)
{
	uint8_t f = seg->flags & (SHADOW_TCP_SYN | SHADOW_TCP_ACK |
				  SHADOW_TCP_RST | SHADOW_TCP_FIN);

	/* A flow picked mid-stream cannot be replayed to a fresh server. */
	if (f != SHADOW_TCP_SYN) {
		give_up(st, SHADOW_TCP_R_NO_SYN, v);
		return;
	}
	/*
	 * Fast Open data rides on a cookie production issued; the shadow
	 * would only ack the SYN and the client never sends the bytes again.
	 */
	if (seg->len) {
		give_up(st, SHADOW_TCP_R_SYN_DATA, v);
		return;
	}
	st->snd_una = seg->seq;
	st->snd_nxt = seg->seq + seg_space(seg);
	st->hold_end = st->snd_nxt;
	st->c_win = seg->win;
	if (seg->opts & SHADOW_TCP_O_TS) {
		st->flags |= F_CLIENT_TS;
		st->c_tsval = seg->tsval;
	}
	st->state = SHADOW_TCP_S_SYN_SENT;
	timer_start(st, conf, now);
	v->act |= SHADOW_TCP_A_FORWARD | SHADOW_TCP_A_KEEP;
}

/* Before the shadow's SYN-ACK: only SYN retransmissions and RST go out. */
static void
client_in_syn_sent(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		   const struct shadow_tcp_seg *seg, struct shadow_tcp_verdict *v)
{
	uint32_t end = seg->seq + seg_space(seg);

	if (seg->flags & SHADOW_TCP_SYN) {
		if (seg->seq != st->snd_una)
			give_up(st, SHADOW_TCP_R_BAD_SEQ, v);
		else
			v->act |= SHADOW_TCP_A_FORWARD;
		return;
	}
	st->c_win = seg->win;
	if (seg_space(seg) == 0 || pkt_seq_leq(end, st->hold_end))
		return;         /* pure ACK, or a copy of a held segment */
	if (!seq_near(seg->seq, st->snd_nxt)) {
		give_up(st, SHADOW_TCP_R_BAD_SEQ, v);
		return;
	}
	if (st->nheld >= conf->hold_max) {
		give_up(st, SHADOW_TCP_R_QUEUE_FULL, v);
		return;
	}
	st->nheld++;
	st->hold_end = end;
	v->act |= SHADOW_TCP_A_HOLD;
}

/* Pure ACK: forwarded only when it changes the window the shadow sees. */
static void
client_pure_ack(struct shadow_tcp *st, const struct shadow_tcp_seg *seg,
		struct shadow_tcp_verdict *v)
{
	if (seg->win != st->c_win && (seg->flags & SHADOW_TCP_ACK))
		v->act |= SHADOW_TCP_A_FORWARD;
	st->c_win = seg->win;
}

static void
client_in_sync(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
	       const struct shadow_tcp_seg *seg, uint64_t now,
	       struct shadow_tcp_verdict *v)
{
	uint32_t end = seg->seq + seg_space(seg);

	/* The handshake with the shadow is done: a late SYN copy is moot. */
	if (seg->flags & SHADOW_TCP_SYN)
		return;
	if (seg_space(seg) == 0) {
		client_pure_ack(st, seg, v);
		return;
	}
	if (!seq_near(seg->seq, st->snd_nxt) ||
	    (client_fin_sent(st) && pkt_seq_lt(st->snd_nxt, end))) {
		give_up(st, SHADOW_TCP_R_BAD_SEQ, v);
		return;
	}
	st->c_win = seg->win;
	if (pkt_seq_leq(end, st->snd_una))
		return;         /* the shadow has it all already */
	v->act |= SHADOW_TCP_A_FORWARD;
	if (pkt_seq_leq(end, st->snd_nxt))
		return;         /* a retransmission: the caller has a copy */
	v->act |= SHADOW_TCP_A_KEEP;
	st->snd_nxt = end;
	if (seg->flags & SHADOW_TCP_FIN)
		st->state = st->state == SHADOW_TCP_S_FIN_RCVD ?
			SHADOW_TCP_S_CLOSING : SHADOW_TCP_S_FIN_SENT;
	timer_arm_if_idle(st, conf, now);
}

void
shadow_tcp_client(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		  const struct shadow_tcp_seg *seg, uint64_t now,
		  struct shadow_tcp_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (shadow_tcp_ended(st))
		return;
	if (st->state == SHADOW_TCP_S_IDLE) {
		client_in_idle(st, conf, seg, now, v);
		return;
	}
	client_note_options(st, seg);
	if (seg->flags & SHADOW_TCP_RST) {
		v->act |= SHADOW_TCP_A_FORWARD;
		session_end(st, SHADOW_TCP_S_RESET, SHADOW_TCP_R_CLIENT_RST, v);
		return;
	}
	if (st->state == SHADOW_TCP_S_SYN_SENT)
		client_in_syn_sent(st, conf, seg, v);
	else
		client_in_sync(st, conf, seg, now, v);
}

/* ------------------------------------------------------------------ */
/* Shadow -> client.                                                    */

static void
shadow_in_syn_sent(struct shadow_tcp *st, const struct shadow_tcp_seg *seg,
		   struct shadow_tcp_verdict *v)
{
	bool acks_syn = (seg->flags & SHADOW_TCP_ACK) && seg->ack == st->snd_nxt;

	if (seg->flags & SHADOW_TCP_RST) {
		/* Only a RST that answers our SYN is a refusal (RFC 793). */
		if (acks_syn)
			session_end(st, SHADOW_TCP_S_RESET,
				    SHADOW_TCP_R_SHADOW_RST, v);
		return;
	}
	if (!(seg->flags & SHADOW_TCP_SYN))
		return;         /* nothing else makes sense before the SYN-ACK */
	if (!acks_syn) {
		give_up(st, SHADOW_TCP_R_BAD_SYNACK, v);
		return;
	}
	/* Data on a SYN-ACK is not taken: the shadow sends it again. */
	st->irs = seg->seq;
	st->rcv_nxt = seg->seq + 1;
	st->flags |= F_SYNCED;
	if ((st->flags & F_CLIENT_TS) && (seg->opts & SHADOW_TCP_O_TS)) {
		st->flags |= F_TS;
		st->ts_recent = seg->tsval;
	}
	st->snd_una = st->snd_nxt;
	st->retries = 0;
	st->flags &= ~F_TIMER;
	st->state = SHADOW_TCP_S_ESTABLISHED;
	v->act |= SHADOW_TCP_A_ACK | SHADOW_TCP_A_ACKED;
	v->acked = st->snd_una;
	if (st->nheld) {
		v->act |= SHADOW_TCP_A_RELEASE;
		st->nheld = 0;
	}
}

/* CLOSING -> CLOSED once the shadow acked our FIN. */
static void
shadow_check_closed(struct shadow_tcp *st, struct shadow_tcp_verdict *v)
{
	if (st->state == SHADOW_TCP_S_CLOSING && st->snd_una == st->snd_nxt)
		session_end(st, SHADOW_TCP_S_CLOSED, SHADOW_TCP_R_CLOSED, v);
}

/* The ack field: frees our copies, restarts the timer; -1 on nonsense. */
static int
shadow_take_ack(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		const struct shadow_tcp_seg *seg, uint64_t now,
		struct shadow_tcp_verdict *v)
{
	if (!(seg->flags & SHADOW_TCP_ACK) || pkt_seq_leq(seg->ack, st->snd_una))
		return 0;       /* old or duplicate: nothing new */
	if (pkt_seq_lt(st->snd_nxt, seg->ack))
		return -1;      /* acks bytes never sent */
	st->snd_una = seg->ack;
	st->retries = 0;
	st->flags &= ~F_TIMER;
	timer_arm_if_idle(st, conf, now);
	v->act |= SHADOW_TCP_A_ACKED;
	v->acked = seg->ack;
	return 0;
}

/* RFC 7323: take the TSval of a segment that starts at or before rcv_nxt. */
static void
shadow_note_ts(struct shadow_tcp *st, const struct shadow_tcp_seg *seg)
{
	if ((st->flags & F_TS) && (seg->opts & SHADOW_TCP_O_TS) &&
	    pkt_seq_leq(seg->seq, st->rcv_nxt) && !pkt_seq_lt(seg->tsval, st->ts_recent))
		st->ts_recent = seg->tsval;
}

static void
shadow_fin(struct shadow_tcp *st, struct shadow_tcp_verdict *v)
{
	st->rcv_nxt++;
	if (st->state == SHADOW_TCP_S_ESTABLISHED) {
		st->state = SHADOW_TCP_S_FIN_RCVD;
	} else if (st->state == SHADOW_TCP_S_FIN_SENT) {
		st->state = SHADOW_TCP_S_CLOSING;
		shadow_check_closed(st, v);
	}
}

/*
 * Payload and FIN. Only what starts at or before rcv_nxt and reaches past
 * it is taken; anything else (a gap, an old copy) is answered with a
 * duplicate ACK so that the shadow retransmits or stops.
 */
static void
shadow_take_data(struct shadow_tcp *st, const struct shadow_tcp_seg *seg,
		 struct shadow_tcp_verdict *v)
{
	bool fin = seg->flags & SHADOW_TCP_FIN;
	uint32_t data_end = seg->seq + seg->len;
	uint32_t off;

	v->act |= SHADOW_TCP_A_ACK;
	if (pkt_seq_lt(st->rcv_nxt, seg->seq))
		return;         /* out of order: not kept, dup ACK */
	if (st->state == SHADOW_TCP_S_FIN_RCVD || st->state == SHADOW_TCP_S_CLOSING)
		return;         /* after its FIN: only copies of old bytes */
	if (pkt_seq_lt(st->rcv_nxt, data_end)) {
		off = st->rcv_nxt - seg->seq;
		v->act |= SHADOW_TCP_A_DELIVER;
		v->dlv_off = (uint16_t)off;
		v->dlv_len = (uint16_t)(seg->len - off);
		st->rcv_nxt = data_end;
	}
	if (fin && st->rcv_nxt == data_end)
		shadow_fin(st, v);
}

static void
shadow_in_sync(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
	       const struct shadow_tcp_seg *seg, uint64_t now,
	       struct shadow_tcp_verdict *v)
{
	if (!seq_near(seg->seq, st->rcv_nxt)) {
		give_up(st, SHADOW_TCP_R_BAD_SEQ, v);
		return;
	}
	if (seg->flags & SHADOW_TCP_RST) {
		session_end(st, SHADOW_TCP_S_RESET, SHADOW_TCP_R_SHADOW_RST, v);
		return;
	}
	if (seg->flags & SHADOW_TCP_SYN) {
		/* Our ACK of its SYN-ACK was lost: say it again. */
		if (seg->seq == st->irs)
			v->act |= SHADOW_TCP_A_ACK;
		else
			give_up(st, SHADOW_TCP_R_BAD_SEQ, v);
		return;
	}
	if (shadow_take_ack(st, conf, seg, now, v) < 0) {
		give_up(st, SHADOW_TCP_R_BAD_ACK, v);
		return;
	}
	shadow_note_ts(st, seg);
	if (seg->len || (seg->flags & SHADOW_TCP_FIN))
		shadow_take_data(st, seg, v);
	shadow_check_closed(st, v);
}

void
shadow_tcp_shadow(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		  const struct shadow_tcp_seg *seg, uint64_t now,
		  struct shadow_tcp_verdict *v)
{
	memset(v, 0, sizeof(*v));
	switch (st->state) {
	case SHADOW_TCP_S_SYN_SENT:
		shadow_in_syn_sent(st, seg, v);
		break;
	case SHADOW_TCP_S_ESTABLISHED:
	case SHADOW_TCP_S_FIN_SENT:
	case SHADOW_TCP_S_FIN_RCVD:
	case SHADOW_TCP_S_CLOSING:
		shadow_in_sync(st, conf, seg, now, v);
		break;
	case SHADOW_TCP_S_CLOSED:
		/* TIME-WAIT duty: our last ACK may have been lost. */
		if (!(seg->flags & SHADOW_TCP_RST) &&
		    (seg->len || (seg->flags & SHADOW_TCP_FIN)))
			v->act |= SHADOW_TCP_A_ACK;
		break;
	default:
		break;          /* IDLE, RESET, GAVE_UP: nothing to answer */
	}
}

/* ------------------------------------------------------------------ */
/* Retransmission timer.                                                */

void
shadow_tcp_timer(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		 uint64_t now, struct shadow_tcp_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (!(st->flags & F_TIMER) || now < st->rto_at)
		return;
	if (st->retries >= conf->max_retries) {
		give_up(st, st->state == SHADOW_TCP_S_SYN_SENT ?
			SHADOW_TCP_R_HANDSHAKE_TIMEOUT : SHADOW_TCP_R_RETRIES, v);
		return;
	}
	st->retries++;
	timer_start(st, conf, now);
	v->act |= SHADOW_TCP_A_RETRANSMIT;
	v->rtx_lo = st->snd_una;
	v->rtx_hi = st->snd_nxt;
}

/* ------------------------------------------------------------------ */
/* Packets umbra makes: pure ACK and RST toward the shadow.             */

static uint32_t
tcp_hdr_write(const struct shadow_tcp *st, uint8_t *tcp, uint32_t cap,
	      uint16_t sport, uint16_t dport, bool rst)
{
	bool ts = !rst && (st->flags & F_TS);
	uint32_t hl = TCP_HLEN + (ts ? 12u : 0u);
	bool synced = st->flags & F_SYNCED;

	if (cap < hl)
		return 0;
	memset(tcp, 0, hl);
	pkt_put_be16(tcp, sport);
	pkt_put_be16(tcp + 2, dport);
	pkt_put_be32(tcp + 4, st->snd_nxt);
	if (synced)
		pkt_put_be32(tcp + 8, st->rcv_nxt);
	tcp[12] = (uint8_t)(hl / 4) << 4;
	if (rst)
		tcp[13] = SHADOW_TCP_RST | (synced ? SHADOW_TCP_ACK : 0);
	else
		tcp[13] = SHADOW_TCP_ACK;
	if (!rst)
		pkt_put_be16(tcp + 14, st->c_win);
	if (ts) {
		tcp[20] = OPT_NOP;
		tcp[21] = OPT_NOP;
		tcp[22] = OPT_TS;
		tcp[23] = OPT_TS_LEN;
		pkt_put_be32(tcp + 24, st->c_tsval);
		pkt_put_be32(tcp + 28, st->ts_recent);
	}
	return hl;
}

uint32_t
shadow_tcp_ack_hdr(const struct shadow_tcp *st, uint8_t *tcp, uint32_t cap,
		   uint16_t sport, uint16_t dport)
{
	return tcp_hdr_write(st, tcp, cap, sport, dport, false);
}

/* The template's IP header: version 4 or 6, fits, TCP ports readable. */
static int
tmpl_ip_version(const uint8_t *tmpl, uint32_t len, uint16_t l3_off,
		uint16_t l4_off)
{
	uint32_t ip_hlen;
	int v;

	if (l3_off < ETH_HLEN || (uint32_t)l3_off + 1 > len)
		return 0;
	v = tmpl[l3_off] >> 4;
	if (v == 4)
		ip_hlen = (uint32_t)(tmpl[l3_off] & 0xf) * 4;
	else if (v == 6)
		ip_hlen = IPV6_HLEN;
	else
		return 0;
	if (ip_hlen < (v == 4 ? IPV4_HLEN : IPV6_HLEN) ||
	    (uint32_t)l3_off + ip_hlen > l4_off || (uint32_t)l4_off + 4 > len)
		return 0;
	return v;
}

static void
ipv4_hdr_write(uint8_t *ip, uint32_t l4_len, const uint8_t *src,
	       const uint8_t *dst)
{
	memset(ip, 0, IPV4_HLEN);
	ip[0] = 0x45;
	pkt_put_be16(ip + 2, (uint16_t)(IPV4_HLEN + l4_len));
	ip[6] = 0x40;                   /* DF; id 0 is fine then (RFC 6864) */
	ip[8] = ANSWER_TTL;
	ip[9] = PROTO_TCP;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	pkt_put_be16(ip + 10, (uint16_t)~pkt_cksum_fold(cksum_add(0, ip, IPV4_HLEN)));
}

static void
ipv6_hdr_write(uint8_t *ip, uint32_t l4_len, const uint8_t *src,
	       const uint8_t *dst)
{
	memset(ip, 0, IPV6_HLEN);
	ip[0] = 0x60;
	pkt_put_be16(ip + 4, (uint16_t)l4_len);
	ip[6] = PROTO_TCP;
	ip[7] = ANSWER_TTL;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

/* TCP checksum over the pseudo-header (RFC 793, RFC 8200) and segment. */
static uint16_t
tcp_cksum(const uint8_t *src, const uint8_t *dst, uint32_t alen,
	  const uint8_t *tcp, uint32_t tcp_len)
{
	uint32_t acc = cksum_add(0, src, alen);

	acc = cksum_add(acc, dst, alen);
	acc += PROTO_TCP + tcp_len;
	acc = cksum_add(acc, tcp, tcp_len);
	return (uint16_t)~pkt_cksum_fold(acc);
}

static void
mac_swap(uint8_t *eth)
{
	uint8_t mac[ETH_ALEN];

	memcpy(mac, eth, ETH_ALEN);
	memcpy(eth, eth + ETH_ALEN, ETH_ALEN);
	memcpy(eth + ETH_ALEN, mac, ETH_ALEN);
}

static uint32_t
build_frame(const struct shadow_tcp *st, bool rst, const uint8_t *tmpl,
	    uint32_t tmpl_len, uint16_t l3_off, uint16_t l4_off,
	    enum shadow_tcp_dir dir, uint8_t *out, uint32_t cap)
{
	bool swap = dir == SHADOW_TCP_FROM_SHADOW;
	int v = tmpl_ip_version(tmpl, tmpl_len, l3_off, l4_off);
	uint32_t alen = v == 6 ? 16 : 4;
	uint32_t ip_hlen = v == 6 ? IPV6_HLEN : IPV4_HLEN;
	const uint8_t *a, *src, *dst;
	uint16_t sport, dport;
	uint32_t tcp_len;
	uint8_t *tcp;

	if (v == 0 || cap < (uint32_t)l3_off + ip_hlen)
		return 0;
	a = tmpl + l3_off + (v == 6 ? 8 : 12);
	src = swap ? a + alen : a;
	dst = swap ? a : a + alen;
	sport = pkt_be16(tmpl + l4_off + (swap ? 2 : 0));
	dport = pkt_be16(tmpl + l4_off + (swap ? 0 : 2));
	tcp = out + l3_off + ip_hlen;
	tcp_len = tcp_hdr_write(st, tcp, cap - l3_off - ip_hlen, sport, dport,
				rst);
	if (tcp_len == 0)
		return 0;
	memcpy(out, tmpl, l3_off);
	if (swap)
		mac_swap(out);
	if (v == 6)
		ipv6_hdr_write(out + l3_off, tcp_len, src, dst);
	else
		ipv4_hdr_write(out + l3_off, tcp_len, src, dst);
	pkt_put_be16(tcp + 16, tcp_cksum(src, dst, alen, tcp, tcp_len));
	return l3_off + ip_hlen + tcp_len;
}

uint32_t
shadow_tcp_build_ack(const struct shadow_tcp *st, const uint8_t *tmpl,
		     uint32_t tmpl_len, uint16_t l3_off, uint16_t l4_off,
		     enum shadow_tcp_dir dir, uint8_t *out, uint32_t cap)
{
	return build_frame(st, false, tmpl, tmpl_len, l3_off, l4_off, dir, out,
			   cap);
}

uint32_t
shadow_tcp_build_rst(const struct shadow_tcp *st, const uint8_t *tmpl,
		     uint32_t tmpl_len, uint16_t l3_off, uint16_t l4_off,
		     enum shadow_tcp_dir dir, uint8_t *out, uint32_t cap)
{
	return build_frame(st, true, tmpl, tmpl_len, l3_off, l4_off, dir, out,
			   cap);
}
