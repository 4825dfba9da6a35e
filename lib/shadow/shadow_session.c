/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: shadowed flows.
 *
 * A session per shadowed flow holds: the client's request stream parser,
 * production's response stream parser and, per target (the shadow, and a
 * control replica when the profile has one), the TCP session toward it
 * (lib/shadow/shadow_tcp.c), its response parser, the client segments
 * held until its handshake completes and the copies kept until it
 * acknowledges them. Streams are read in order only; a gap (a segment
 * umbra saw out of order) stops that stream's parsing (counted as
 * desync). Each complete answer becomes one record on the ring: exchange
 * n of the flow is the n-th request and the n-th answer of each side.
 * DNS over UDP is paired by query ID instead.
 */
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "pkt_math.h"
#include "pkt_mbuf.h"
#include "shadow.h"

#define SHADOW_HOLD_MAX 64      /* early client segments per target */
#define SHADOW_KEEP_MAX 32      /* retransmission copies per target */
#define SHADOW_REQ_RING 8       /* requests remembered for their answers (pipelining) */
/* Datagrams of a flow nobody answered yet whose heads are still held as
 * evidence (a one-way stream stops paying for it after these). */
#define SHADOW_EV_UNANSWERED 8
/* Deep copy up to this; clone the payload beyond. tests/bench/copy_cost
 * measures the two about even near 1 KB here and the deep copy cheaper
 * below (the clone's second mbuf and refcount cost more than copying a
 * few hundred bytes); from run to run the clone wins from 1024 or 1500
 * bytes, or not at all. */
#define SHADOW_COPY_MAX 1024
#define SHADOW_IDLE_S 30        /* a session silent this long ends */
#define SHADOW_LINGER_MS 500    /* an ended session stays this long (late answers) */
#define SHADOW_SWEEP 32         /* sessions the timer looks at per call */
#define SHADOW_NIL UINT32_MAX

/* One side's answers: production's, or a target's. */
struct answer_stream {
	struct compare_http parser;
	uint32_t n;             /* answers completed */
	uint64_t start;         /* TSC of the current answer's first byte; 0: none */
	uint32_t next_seq;      /* TCP: next in-order sequence */
	uint8_t synced;         /* TCP: next_seq is known and no gap was seen */
	uint8_t closed;
	uint8_t reset;
	struct compare_head head; /* evidence: the answer's first bytes (lib/compare) */
};

/*
 * A TCP target's copies: client segments held until its handshake, and
 * those kept until it acknowledges them (896 bytes). They live apart from
 * the sessions (sw->copies, one per session and target), so a UDP session
 * neither carries nor touches them.
 */
struct shadow_copies {
	struct rte_mbuf *hold[SHADOW_HOLD_MAX];
	struct rte_mbuf *keep[SHADOW_KEEP_MAX];
	uint32_t keep_end[SHADOW_KEEP_MAX];
};

struct target {
	struct shadow_tcp tcp;
	struct answer_stream ans;
	struct shadow_copies *cp;       /* read only while n_hold or n_keep */
	uint8_t n_hold;
	uint8_t n_keep;
	uint8_t ended;
};

struct req_names {
	char method[8];
	char path[COMPARE_PATH_MAX];
};

/*
 * Its first two cache lines (one 128-byte pair, which an adjacent-line
 * prefetcher fetches together) hold what every client datagram reads or
 * writes (the key checked, times, counts, the last request's TSC); the
 * rest is for streams (TCP, HTTP) and evidence.
 */
struct shadow_session {
	/* line 0: what a client datagram reads and writes (one line a copy) */
	uint32_t owner;         /* the caller's tag of its flow (entries are reused) */
	uint32_t uid;           /* profile uid */
	uint8_t in_use;
	uint8_t slot;           /* profile slot */
	uint8_t proto;          /* enum compare_proto */
	uint8_t n_targets;
	uint32_t n_req;
	uint64_t ended_tsc;     /* 0: live */
	uint64_t last_tsc;
	uint64_t flow_id;
	/* TSC of the current request's first byte; a datagram's: the last
	 * one's (its answer's latency, also DNS's, is from there) */
	uint64_t req_start;
	uint32_t cli_next;      /* client stream: next in-order sequence */
	uint16_t cli_synced;
	uint16_t server_port;
	uint32_t next_free;
	uint8_t answered;       /* a side answered (a record was emitted) */
	/* line 1 */
	struct flow_key key __rte_cache_aligned; /* the flow it belongs to */
	/* Evidence (flows that carry it only; see evidence_send()). */
	uint32_t req_ev_x;      /* the held request's exchange */
	uint32_t ev_x;          /* exchange whose evidence went last */
	uint16_t in_port;       /* the client's DPDK port */
	uint16_t target_port[SHADOW_TARGETS];
	uint8_t req_ev_held;    /* req_ev holds a request not sent yet */
	uint8_t ev_sent;        /* ev_x is set */
	/* line 2: streams */
	uint64_t req_tsc[SHADOW_REQ_RING] __rte_cache_aligned;
	struct req_names req_names[SHADOW_REQ_RING];
	struct compare_http req;
	struct pkt_meta cli_meta; /* the client's tags, for copies */
	struct answer_stream prod;
	struct target t[SHADOW_TARGETS];
	struct compare_head req_head; /* evidence: the request being received */
	/* evidence: the last complete request, until sent (a datagram's first
	 * bytes share their line with its length) */
	struct compare_head req_ev __rte_cache_aligned;
} __rte_aligned(128);
_Static_assert(offsetof(struct shadow_session, key) == RTE_CACHE_LINE_SIZE,
	       "a client datagram's session state is its first cache line");

static void session_free(struct shadow_worker *sw, uint32_t idx);
static void session_finish(struct shadow_worker *sw, struct shadow_session *s,
			   uint64_t now);

/* ---- selection ---------------------------------------------------- */

static bool
profile_matches(const struct shadow_profile *p, uint16_t stage, uint8_t service,
		const struct pkt_meta *m)
{
	int family = pkt_ip_family(m);

	return p->stage == stage &&
	       (p->service < 0 || (uint8_t)p->service == service) &&
	       (p->proto == CONF_ANY || p->proto == m->l4_proto) &&
	       conf_prefix_has(p->src.family, p->src.len, p->src.addr, family, m->src) &&
	       conf_prefix_has(p->dst.family, p->dst.len, p->dst.addr, family, m->dst) &&
	       m->sport >= p->sport.lo && m->sport <= p->sport.hi &&
	       m->dport >= p->dport.lo && m->dport <= p->dport.hi;
}

uint8_t
shadow_select(const struct shadow_table *t, uint16_t stage, uint8_t service,
	      const struct pkt_meta *m, const struct flow_key *key, uint64_t now)
{
	if (m->l4_proto == 6 && (m->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) != PKT_TCP_SYN)
		return SHADOW_NONE;     /* TCP is shadowed from its SYN only */
	if (m->l4_proto != 6 && m->l4_proto != 17)
		return SHADOW_NONE;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct shadow_profile *p = &t->p[i];

		if (now < p->end_tsc && profile_matches(p, stage, service, m) &&
		    flow_key_hash16(key, p->seed) < p->flow_threshold)
			return (uint8_t)(i + 1);
	}
	return SHADOW_NONE;
}

/* ---- sessions ------------------------------------------------------ */

static const struct shadow_profile *
profile_of(const struct shadow_table *t, const struct shadow_session *s)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->p[i].uid == s->uid)
			return &t->p[i];
	return NULL;
}

static void
answer_init(struct answer_stream *a)
{
	memset(a, 0, sizeof(*a));
	compare_http_init(&a->parser, true);
}

static uint8_t
proto_of(const struct shadow_profile *p, const struct pkt_meta *m)
{
	if (p->compare == CONF_COMPARE_DNS ||
	    (p->compare == CONF_COMPARE_AUTO && m->l4_proto == 17 && m->dport == 53))
		return COMPARE_DNS;
	if (m->l4_proto == 17)
		return COMPARE_BYTES;
	return COMPARE_HTTP;
}

static struct shadow_session *
session_take(struct shadow_worker *sw, const struct shadow_profile *p,
	     const struct flow_key *k, const struct pkt_meta *m, uint32_t owner,
	     uint64_t now, uint32_t *idx)
{
	struct shadow_session *s;

	if (sw->free_head == SHADOW_NIL)
		return NULL;
	*idx = sw->free_head;
	s = &sw->sessions[*idx];
	sw->free_head = s->next_free;
	memset(s, 0, sizeof(*s));
	s->in_use = 1;
	s->owner = owner;
	s->key = *k;
	s->flow_id = sw->next_flow_id++;
	s->uid = p->uid;
	s->slot = p->index;
	s->proto = proto_of(p, m);
	s->n_targets = p->n_targets;
	s->server_port = m->dport;
	s->last_tsc = now;
	s->cli_meta = *m;
	s->target_port[0] = p->port[0];
	s->target_port[1] = p->port[1];
	compare_http_init(&s->req, false);
	answer_init(&s->prod);
	for (uint8_t i = 0; i < SHADOW_TARGETS; i++) {
		shadow_tcp_init(&s->t[i].tcp);
		answer_init(&s->t[i].ans);
		s->t[i].cp = &sw->copies[(size_t)*idx * SHADOW_TARGETS + i];
	}
	if (rte_hash_add_key_data(sw->by_key, k, (void *)(uintptr_t)*idx) < 0) {
		s->in_use = 0;
		s->next_free = sw->free_head;
		sw->free_head = *idx;
		return NULL;
	}
	sw->active++;
	sw->cnt[p->index].flows++;
	return s;
}

static void
target_free_copies(struct target *tg)
{
	for (uint8_t i = 0; i < tg->n_hold; i++)
		rte_pktmbuf_free(tg->cp->hold[i]);
	for (uint8_t i = 0; i < tg->n_keep; i++)
		rte_pktmbuf_free(tg->cp->keep[i]);
	tg->n_hold = tg->n_keep = 0;
}

/* Session @p sess, if it is still the one started for @p owner. */
static struct shadow_session *
session_of(struct shadow_worker *sw, uint32_t sess, uint32_t owner)
{
	struct shadow_session *s;

	if (sess >= sw->n_sessions)
		return NULL;
	s = &sw->sessions[sess];
	if (!s->in_use || s->owner != owner)
		return NULL;
	return s;
}

/* ---- records ------------------------------------------------------- */

/*
 * Evidence for a capture (flows that carry evidence only): exchange
 * @p x's addresses, and its request's head while held, right before the
 * exchange's first record from any side; lost when the ring is full.
 * Only an exchange with a record can be compared, so a request that no
 * side answers costs the ring nothing (a one-way stream of datagrams
 * carries none at all).
 */
static void
evidence_send(struct shadow_worker *sw, struct shadow_session *s, uint32_t x)
{
	struct compare_chunk ch[COMPARE_HEAD_CHUNKS + 1];
	const struct pkt_meta *m = &s->cli_meta;
	struct compare_addr a = {
		.family = (uint8_t)pkt_ip_family(m), .l4_proto = m->l4_proto,
		.client_port = m->sport, .server_port = m->dport, .in_port = s->in_port,
		.target_port = { s->target_port[0], s->target_port[1] },
	};
	unsigned int n = 0;

	/* Sent with an earlier record of x: DNS pairs by query ID, other
	 * exchanges are numbered in order and each side answers in order. */
	if (s->ev_sent && (s->ev_x == x ||
			   (s->proto != COMPARE_DNS && pkt_seq_lt(x, s->ev_x))))
		return;
	memcpy(a.client, m->src, sizeof(a.client));
	memcpy(a.server, m->dst, sizeof(a.server));
	if (s->req_ev_held && s->req_ev_x == x) {
		n = compare_head_take(&s->req_ev, s->flow_id, x, COMPARE_CHUNK_REQUEST,
				      s->slot, NULL, 0, ch);
		s->req_ev_held = 0;
	}
	n += compare_addr_chunk(s->flow_id, x, s->slot, &a, &ch[n]);
	rte_ring_sp_enqueue_bulk_elem(sw->records, ch, sizeof(ch[0]), n, NULL);
	s->ev_x = x;
	s->ev_sent = 1;
}

static void
record_emit(struct shadow_worker *sw, struct shadow_session *s,
	    uint8_t side, uint32_t exchange, const struct compare_msg *msg,
	    uint64_t start, uint64_t req_tsc, uint8_t flags)
{
	struct shadow_counters *c = &sw->cnt[s->slot];
	struct compare_record r = {
		.flow_id = s->flow_id, .exchange = exchange, .side = side,
		.proto = s->proto, .profile = s->slot, .server_port = s->server_port,
	};

	if (unlikely(compare_evidence_sampled(s->flow_id))) {
		s->answered = 1;
		evidence_send(sw, s, exchange);
	}
	if (msg != NULL) {
		r.flags = msg->flags;
		r.status = msg->status;
		r.size = msg->size;
		r.digest = msg->digest;
		r.header_digest = msg->header_digest;
		r.body_digest = msg->body_digest;
		memcpy(r.method, msg->method, sizeof(r.method));
		memcpy(r.path, msg->path, sizeof(r.path));
	}
	r.flags |= flags;
	if (start && req_tsc && start > req_tsc)
		r.latency_us = (uint32_t)((start - req_tsc) * 1000000 / sw->tsc_hz);
	if (rte_ring_sp_enqueue_elem(sw->records, &r, sizeof(r)) == 0)
		c->records++;
	else
		c->records_dropped++;
}

/* Evidence: answer x's head, ended @p rest_len bytes before what was fed. */
static void
head_emit(struct shadow_worker *sw, const struct shadow_session *s,
	  struct answer_stream *a, uint8_t side, uint32_t x, const uint8_t *rest,
	  uint32_t rest_len)
{
	struct compare_chunk ch[COMPARE_HEAD_CHUNKS];
	unsigned int n = compare_head_take(&a->head, s->flow_id, x, side, s->slot,
					   rest, rest_len, ch);

	if (n > 0)  /* all or none, right before the record; lost when full */
		rte_ring_sp_enqueue_bulk_elem(sw->records, ch, sizeof(ch[0]), n, NULL);
}

/* The method and path of request @p x, when still known. */
static void
names_of_request(const struct shadow_session *s, uint32_t x, struct compare_msg *msg)
{
	if (x < s->n_req && s->n_req - x <= SHADOW_REQ_RING) {
		memcpy(msg->method, s->req_names[x % SHADOW_REQ_RING].method,
		       sizeof(msg->method));
		memcpy(msg->path, s->req_names[x % SHADOW_REQ_RING].path,
		       sizeof(msg->path));
	}
}

static void
answers_feed(struct shadow_worker *sw, struct shadow_session *s,
	     struct answer_stream *a, uint8_t side, const uint8_t *data,
	     uint32_t len, uint64_t now, const struct compare_ignore *ign)
{
	struct compare_msg msg[8];
	unsigned int n;

	if (len == 0)
		return;
	if (a->start == 0)
		a->start = now;
	compare_head_add(&a->head, s->flow_id, data, len);
	n = compare_http_feed(&a->parser, data, len, ign, msg, 8);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t x = a->n++;

		names_of_request(s, x, &msg[i]);
		head_emit(sw, s, a, side, x, data + msg[i].end, len - msg[i].end);
		record_emit(sw, s, side, x, &msg[i], a->start,
			    x < s->n_req ? s->req_tsc[x % SHADOW_REQ_RING] : 0, 0);
		a->start = i + 1 < n ? now : 0;
	}
}

/* The side's connection ended: an answer read until close ends too. */
static void
answers_close(struct shadow_worker *sw, struct shadow_session *s,
	      struct answer_stream *a, uint8_t side)
{
	struct compare_msg msg;

	if (a->closed)
		return;
	a->closed = 1;
	if (compare_http_close(&a->parser, &msg) == 1) {
		uint32_t x = a->n++;

		names_of_request(s, x, &msg);
		head_emit(sw, s, a, side, x, NULL, 0);
		record_emit(sw, s, side, x, &msg, a->start,
			    x < s->n_req ? s->req_tsc[x % SHADOW_REQ_RING] : 0, 0);
	}
	/* A request left without an answer: this side reset or closed. */
	if (a->n < s->n_req && a->reset) {
		record_emit(sw, s, side, a->n, NULL, 0, 0, COMPARE_F_RESET);
		a->n++;
	}
}

/*
 * Request @p x of a flow that carries evidence ended, @p rest_len bytes
 * before what was fed: its head is held for the exchange's first record
 * (evidence_send()). A request still held when the next one ends was not
 * answered yet (pipelining): it goes now. (A datagram still held is
 * dropped instead, datagram_evidence_hold(): datagrams nobody answers are
 * usual, one-way streams.)
 */
static void
request_evidence_hold(struct shadow_worker *sw, struct shadow_session *s,
		      uint16_t in_port, uint32_t x, const uint8_t *rest,
		      uint32_t rest_len)
{
	if (!compare_evidence_sampled(s->flow_id))
		return;
	if (s->req_ev_held)
		evidence_send(sw, s, s->req_ev_x);
	compare_head_move(&s->req_head, s->flow_id, rest, rest_len, &s->req_ev);
	s->req_ev_x = x;
	s->req_ev_held = 1;
	s->in_port = in_port;
}

static void
requests_feed(struct shadow_worker *sw, struct shadow_session *s,
	      const struct shadow_profile *p, uint16_t in_port, const uint8_t *data,
	      uint32_t len, uint64_t now)
{
	struct compare_msg msg[8];
	unsigned int n;

	if (len == 0)
		return;
	if (s->req_start == 0)
		s->req_start = now;
	compare_head_add(&s->req_head, s->flow_id, data, len);
	n = compare_http_feed(&s->req, data, len, &p->ignore, msg, 8);
	for (unsigned int i = 0; i < n; i++) {
		struct req_names *rn = &s->req_names[s->n_req % SHADOW_REQ_RING];

		request_evidence_hold(sw, s, in_port, s->n_req, data + msg[i].end,
				      len - msg[i].end);
		memcpy(rn->method, msg[i].method, sizeof(rn->method));
		memcpy(rn->path, msg[i].path, sizeof(rn->path));
		s->req_tsc[s->n_req % SHADOW_REQ_RING] = s->req_start;
		s->n_req++;
		if (strcmp(msg[i].method, "HEAD") == 0) {
			compare_http_expect_head(&s->prod.parser);
			for (uint8_t t = 0; t < s->n_targets; t++)
				compare_http_expect_head(&s->t[t].ans.parser);
		}
	}
	if (n)
		s->req_start = 0;
}

/*
 * @p len bytes at @p off of @p pkt, contiguous: in place, or copied to the
 * worker's scratch when they cross into a later segment (a jumbo frame in
 * small buffers). NULL when the packet is shorter.
 */
static const uint8_t *
pkt_bytes(struct shadow_worker *sw, const struct rte_mbuf *pkt, uint32_t off,
	  uint32_t len)
{
	return rte_pktmbuf_read(pkt, off, len, sw->scratch);
}

/* In-order payload of a TCP stream: the new part of @p m, or none. */
static bool
stream_in_order(uint32_t *next, uint16_t *synced_flag, const struct pkt_meta *m,
		uint32_t *off, uint32_t *len)
{
	uint32_t seq = m->tcp_seq + ((m->tcp_flags & PKT_TCP_SYN) ? 1 : 0);

	if (m->tcp_flags & PKT_TCP_SYN) {
		*next = seq;
		*synced_flag = 1;
	}
	*off = m->payload_off;
	*len = m->payload_len;
	if (!*synced_flag || m->payload_len == 0)
		return false;
	if (pkt_seq_lt(*next, seq)) {       /* a gap: this stream can no longer be read */
		*synced_flag = 0;
		return false;
	}
	if (!pkt_seq_lt(*next, seq + m->payload_len) && *next != seq)
		return false;           /* old data */
	*off += *next - seq;
	*len -= *next - seq;
	*next = seq + m->payload_len;
	return *len > 0;
}

/* ---- sending to targets ------------------------------------------- */

static bool
budget_ok(struct shadow_worker *sw, const struct shadow_profile *p, uint64_t now)
{
	struct rte_meter_srtcm_profile *mp;

	if (!p->capped)
		return true;
	mp = (struct rte_meter_srtcm_profile *)(uintptr_t)&p->meter;
	if (rte_meter_srtcm_color_blind_check(&sw->meter[p->index], mp, now, 1) ==
	    RTE_COLOR_GREEN)
		return true;
	sw->cnt[p->index].capped++;
	return false;
}

static void
target_send(struct shadow_worker *sw, const struct shadow_session *s,
	    const struct shadow_profile *p, int ti, struct rte_mbuf *c,
	    const struct pkt_meta *m, uint64_t now, const struct shadow_tx *tx)
{
	struct flow_action act = {
		.port = p->port[ti], .vlan = p->vlan[ti],
		.rewrite_mac = p->rewrite_mac[ti],
	};

	if (!budget_ok(sw, p, now)) {
		rte_pktmbuf_free(c);
		return;
	}
	sw->cnt[p->index].cloned++;
	sw->cnt[p->index].cloned_bytes += rte_pktmbuf_pkt_len(c);
	tx->send(tx->ctx, c, m, &act, p->mac[ti], &s->key, (uint8_t)(p->index + 1));
}

/*
 * A reset mbuf of the shadow pool: from the worker's stash, refilled a
 * burst at a time (one pool access per SHADOW_STASH copies, not one each).
 */
static inline struct rte_mbuf *
stash_alloc(struct shadow_worker *sw)
{
	if (unlikely(sw->n_stash == 0)) {
		if (rte_pktmbuf_alloc_bulk(sw->pool, sw->stash, SHADOW_STASH) == 0)
			sw->n_stash = SHADOW_STASH;
		else
			return rte_pktmbuf_alloc(sw->pool);     /* the last few */
	}
	return sw->stash[--sw->n_stash];
}

/*
 * A private copy of @p pkt for profile slot @p slot: deep up to
 * SHADOW_COPY_MAX bytes, else the headers copied and the payload attached
 * as an indirect clone, so rewriting headers touches no shared byte.
 * @p hdr_len bytes of headers lie in @p pkt's first segment (the caller
 * checked) and lie in the copy's first segment too, or there is no copy.
 * @return the copy, or NULL, counted (no mbuf, or no room for the headers).
 */
static struct rte_mbuf *
shadow_copy(struct shadow_worker *sw, uint8_t slot, const struct rte_mbuf *pkt,
	    uint16_t hdr_len)
{
	struct shadow_counters *c = &sw->cnt[slot];
	struct rte_mbuf *h, *body;
	uint8_t *dst;

	/* The common case, one small buffer: only its bytes and lengths are
	 * copied (the copy's metadata is the caller's pkt_meta; none of the
	 * offload fields rte_pktmbuf_copy() carries over is read on the way
	 * out). */
	if (likely(pkt->nb_segs == 1 && pkt->data_len <= SHADOW_COPY_MAX)) {
		h = stash_alloc(sw);
		if (unlikely(h == NULL)) {
			c->no_mbuf++;
			return NULL;
		}
		if (unlikely(pkt->data_len > rte_pktmbuf_tailroom(h))) {
			rte_pktmbuf_free(h);
			c->no_room++;
			return NULL;
		}
		rte_memcpy(rte_pktmbuf_mtod(h, void *),
			   rte_pktmbuf_mtod(pkt, const void *), pkt->data_len);
		h->data_len = pkt->data_len;
		h->pkt_len = pkt->data_len;
		h->port = pkt->port;
		return h;
	}
	if (rte_pktmbuf_pkt_len(pkt) <= SHADOW_COPY_MAX ||
	    hdr_len >= rte_pktmbuf_data_len(pkt)) {
		h = rte_pktmbuf_copy(pkt, sw->pool, 0, UINT32_MAX);
		if (h == NULL) {
			c->no_mbuf++;
		} else if (rte_pktmbuf_data_len(h) < hdr_len) {
			rte_pktmbuf_free(h);
			c->no_room++;
			h = NULL;
		}
		return h;
	}
	h = rte_pktmbuf_alloc(sw->pool);
	body = h ? rte_pktmbuf_clone((struct rte_mbuf *)(uintptr_t)pkt, sw->pool) : NULL;
	if (body == NULL) {
		rte_pktmbuf_free(h);
		c->no_mbuf++;
		return NULL;
	}
	dst = (uint8_t *)rte_pktmbuf_append(h, hdr_len);
	/* hdr_len < the first segment's length: the body keeps a byte there */
	if (dst == NULL || rte_pktmbuf_adj(body, hdr_len) == NULL ||
	    rte_pktmbuf_chain(h, body) != 0) {
		rte_pktmbuf_free(h);
		rte_pktmbuf_free(body);
		c->no_room++;
		return NULL;
	}
	memcpy(dst, rte_pktmbuf_mtod(pkt, const void *), hdr_len);
	return h;
}

/*
 * The TCP header of copy @p c, at @p m's offsets (those of @p c itself),
 * rewritten for the target (@p rtx: umbra's own resend). Only the first
 * segment is written: -1 when the header does not lie in it.
 */
static int
tcp_rewrite(const struct shadow_tcp *st, struct rte_mbuf *c, const struct pkt_meta *m,
	    bool rtx)
{
	uint8_t *tcp;
	uint32_t avail;

	if (!pkt_mbuf_hdrs_linear(c, m) || m->l4_off >= rte_pktmbuf_data_len(c))
		return -1;
	tcp = rte_pktmbuf_mtod_offset(c, uint8_t *, m->l4_off);
	avail = rte_pktmbuf_data_len(c) - m->l4_off;
	return rtx ? shadow_tcp_rewrite_rtx(st, tcp, avail) :
		     shadow_tcp_rewrite(st, tcp, avail);
}

/*
 * The metadata of kept copy @p c, parsed again: a retransmission and a
 * reset built from a copy use that copy's own offsets (its IPv6
 * extensions, IP options and tags may differ from the SYN's).
 * @return false when it no longer parses or its headers are not linear.
 */
static bool
kept_meta(struct shadow_worker *sw, const struct rte_mbuf *c, struct pkt_meta *m)
{
	return pkt_parse_mbuf(c, sw->scratch, m) == PKT_DROP_OK &&
	       m->l4_proto == 6 && pkt_mbuf_hdrs_linear(c, m);
}

static void target_end(struct shadow_worker *sw, struct shadow_session *s,
		       int ti, uint8_t reason);

static void
keep_copy(struct shadow_worker *sw, struct shadow_session *s, int ti,
	  struct rte_mbuf *c, const struct pkt_meta *m)
{
	struct target *tg = &s->t[ti];
	struct rte_mbuf *k;
	struct shadow_tcp_verdict v;

	if (tg->n_keep == SHADOW_KEEP_MAX ||
	    (k = rte_pktmbuf_copy(c, sw->pool, 0, UINT32_MAX)) == NULL) {
		shadow_tcp_abort(&tg->tcp, SHADOW_TCP_R_ABORTED, &v);
		target_end(sw, s, ti, SHADOW_TCP_R_ABORTED);
		return;
	}
	tg->cp->keep[tg->n_keep] = k;
	tg->cp->keep_end[tg->n_keep] = m->tcp_seq + m->payload_len +
		((m->tcp_flags & PKT_TCP_SYN) ? 1 : 0) + ((m->tcp_flags & PKT_TCP_FIN) ? 1 : 0);
	tg->n_keep++;
}

static void target_client_segment(struct shadow_worker *sw, struct shadow_session *s,
				  const struct shadow_profile *p, int ti,
				  const struct rte_mbuf *pkt, const struct pkt_meta *m,
				  uint64_t now, const struct shadow_tx *tx);

/* Go back N: resend every kept copy that ends after @p lo, in order. */
static void
target_retransmit(struct shadow_worker *sw, struct shadow_session *s,
		  const struct shadow_profile *p, int ti, uint32_t lo,
		  uint64_t now, const struct shadow_tx *tx)
{
	struct target *tg = &s->t[ti];

	for (uint8_t i = 0; i < tg->n_keep; i++) {
		struct pkt_meta km;
		struct rte_mbuf *c;

		if (!pkt_seq_lt(lo, tg->cp->keep_end[i]))
			continue;
		if (!kept_meta(sw, tg->cp->keep[i], &km)) {
			sw->cnt[p->index].no_room++;
			continue;
		}
		c = rte_pktmbuf_copy(tg->cp->keep[i], sw->pool, 0, UINT32_MAX);
		if (c == NULL) {
			sw->cnt[p->index].no_mbuf++;
			continue;
		}
		if (tcp_rewrite(&tg->tcp, c, &km, true) < 0) {
			rte_pktmbuf_free(c);
			sw->cnt[p->index].no_room++;
			continue;
		}
		sw->cnt[p->index].retransmits++;
		target_send(sw, s, p, ti, c, &km, now, tx);
	}
}

static void
target_rst(struct shadow_worker *sw, struct shadow_session *s,
	   const struct shadow_profile *p, int ti, const struct rte_mbuf *tmpl,
	   const struct pkt_meta *m, enum shadow_tcp_dir dir, uint64_t now,
	   const struct shadow_tx *tx)
{
	struct rte_mbuf *r = rte_pktmbuf_alloc(sw->pool);
	uint32_t n;

	if (r == NULL) {
		sw->cnt[p->index].no_mbuf++;
		return;
	}
	n = shadow_tcp_build_rst(&s->t[ti].tcp, rte_pktmbuf_mtod(tmpl, const uint8_t *),
				 rte_pktmbuf_data_len(tmpl), m->l3_off, m->l4_off, dir,
				 rte_pktmbuf_mtod(r, uint8_t *), rte_pktmbuf_tailroom(r));
	if (n == 0 || rte_pktmbuf_append(r, (uint16_t)n) == NULL) {
		sw->cnt[p->index].no_room++;
		rte_pktmbuf_free(r);
		return;
	}
	target_send(sw, s, p, ti, r, m, now, tx);
}

static void
target_end(struct shadow_worker *sw, struct shadow_session *s, int ti, uint8_t reason)
{
	struct target *tg = &s->t[ti];

	if (tg->ended)
		return;
	tg->ended = 1;
	sw->cnt[s->slot].ended[reason < SHADOW_TCP_R_MAX ? reason : 0]++;
	tg->ans.reset = reason == SHADOW_TCP_R_SHADOW_RST;
	target_free_copies(tg);
	answers_close(sw, s, &tg->ans, (uint8_t)(COMPARE_SHADOW + ti));
}

static void
target_client_verdict(struct shadow_worker *sw, struct shadow_session *s,
		      const struct shadow_profile *p, int ti,
		      const struct rte_mbuf *pkt, const struct pkt_meta *m,
		      const struct shadow_tcp_verdict *v, uint64_t now,
		      const struct shadow_tx *tx)
{
	struct target *tg = &s->t[ti];

	if (v->act & SHADOW_TCP_A_FORWARD) {
		struct rte_mbuf *c = shadow_copy(sw, p->index, pkt, m->payload_off);

		if (c == NULL) {
			/* counted by shadow_copy() */
		} else if (tcp_rewrite(&tg->tcp, c, m, false) < 0) {
			rte_pktmbuf_free(c);
			sw->cnt[p->index].no_room++;
		} else {
			if (v->act & SHADOW_TCP_A_KEEP)
				keep_copy(sw, s, ti, c, m);
			target_send(sw, s, p, ti, c, m, now, tx);
		}
	} else if (v->act & SHADOW_TCP_A_HOLD) {
		struct rte_mbuf *c = tg->n_hold < SHADOW_HOLD_MAX ?
			rte_pktmbuf_copy(pkt, sw->pool, 0, UINT32_MAX) : NULL;

		if (c != NULL) {
			tg->cp->hold[tg->n_hold++] = c;
			sw->cnt[p->index].held++;
		} else {
			sw->cnt[p->index].no_mbuf++;
		}
	}
	if (v->act & SHADOW_TCP_A_RST_SHADOW)
		target_rst(sw, s, p, ti, pkt, m, SHADOW_TCP_FROM_CLIENT, now, tx);
	if (v->act & SHADOW_TCP_A_END)
		target_end(sw, s, ti, v->reason);
}

static struct shadow_tcp_conf
tcp_conf_of(const struct shadow_profile *p)
{
	return (struct shadow_tcp_conf){
		.rto = p->rto, .rto_max = p->rto * 16,
		.hold_max = p->early_segments, .max_retries = 6,
	};
}

static void
target_client_segment(struct shadow_worker *sw, struct shadow_session *s,
		      const struct shadow_profile *p, int ti,
		      const struct rte_mbuf *pkt, const struct pkt_meta *m,
		      uint64_t now, const struct shadow_tx *tx)
{
	struct shadow_tcp_conf conf = tcp_conf_of(p);
	struct shadow_tcp_seg seg;
	struct shadow_tcp_verdict v;

	if (s->t[ti].ended)
		return;
	/* Copies are rewritten in their first segment only. */
	if (!pkt_mbuf_hdrs_linear(pkt, m)) {
		sw->cnt[p->index].hdr_split++;
		return;
	}
	if (shadow_tcp_seg_parse(rte_pktmbuf_mtod_offset(pkt, const uint8_t *, m->l4_off),
				 rte_pktmbuf_data_len(pkt) - m->l4_off, m->payload_len,
				 &seg) < 0)
		return;
	shadow_tcp_client(&s->t[ti].tcp, &conf, &seg, now, &v);
	target_client_verdict(sw, s, p, ti, pkt, m, &v, now, tx);
}

/* ---- the flow's packets --------------------------------------------- */

/*
 * A datagram (@p pkt, @p m) of a flow that carries evidence: its head
 * is held as request_evidence_hold() does, straight from the
 * datagram. Once SHADOW_EV_UNANSWERED datagrams went without any answer,
 * none is held until an answer comes: a one-way stream pays nothing.
 */
static void
datagram_evidence_hold(struct shadow_worker *sw, struct shadow_session *s,
		       const struct rte_mbuf *pkt, const struct pkt_meta *m)
{
	const uint8_t *d;

	if (!s->answered && s->n_req >= SHADOW_EV_UNANSWERED)
		return;
	d = pkt_bytes(sw, pkt, m->payload_off, m->payload_len);
	if (d == NULL || m->payload_len == 0)
		return;
	s->req_ev.len = 0;
	s->req_ev.seen = 0;
	compare_head_add(&s->req_ev, s->flow_id, d, m->payload_len);
	/* DNS pairs by query ID, other datagrams by order (answer_udp()). */
	s->req_ev_x = s->proto == COMPARE_DNS && m->payload_len >= 2 ?
		      (uint32_t)(d[0] << 8 | d[1]) : s->n_req;
	s->req_ev_held = 1;
	s->in_port = pkt->port;
}

static void
client_udp(struct shadow_worker *sw, struct shadow_session *s,
	   const struct shadow_profile *p, const struct rte_mbuf *pkt,
	   const struct pkt_meta *m, uint64_t now, const struct shadow_tx *tx)
{
	if (unlikely(compare_evidence_sampled(s->flow_id)))
		datagram_evidence_hold(sw, s, pkt, m);
	s->req_start = now;
	s->n_req++;
	for (int ti = 0; ti < s->n_targets; ti++) {
		struct rte_mbuf *c;

		if (!pkt_mbuf_hdrs_linear(pkt, m)) {
			sw->cnt[p->index].hdr_split++;
			continue;
		}
		c = shadow_copy(sw, p->index, pkt, m->payload_off);
		if (c != NULL)
			target_send(sw, s, p, ti, c, m, now, tx);
	}
}

/* A datagram answer of @p side: DNS pairs by ID, others by order. */
static void
answer_udp(struct shadow_worker *sw, struct shadow_session *s,
	   struct answer_stream *a, uint8_t side, const struct rte_mbuf *pkt,
	   const struct pkt_meta *m, uint64_t now)
{
	const uint8_t *data = pkt_bytes(sw, pkt, m->payload_off, m->payload_len);
	struct compare_msg msg;
	uint32_t exchange = a->n++;
	uint16_t id;
	bool is_resp;
	int rc = -1;

	if (data == NULL)
		return;
	memset(&msg, 0, sizeof(msg));
	if (s->proto == COMPARE_DNS)
		rc = compare_dns_parse(data, m->payload_len, &id, &is_resp, &msg);
	if (rc == 0) {
		exchange = id;
	} else {
		/* Over the parser's work caps: compared as bytes, and counted. */
		if (rc == COMPARE_DNS_TOO_MANY_RECORDS)
			sw->cnt[s->slot].dns_records++;
		else if (rc == COMPARE_DNS_TOO_MANY_HOPS)
			sw->cnt[s->slot].dns_hops++;
		memset(&msg, 0, sizeof(msg));
		msg.size = m->payload_len;
		msg.digest = compare_digest(0, data, m->payload_len);
		msg.body_digest = msg.digest;
	}
	compare_head_add(&a->head, s->flow_id, data, m->payload_len);
	head_emit(sw, s, a, side, exchange, NULL, 0);
	record_emit(sw, s, side, exchange, &msg, now,
		    s->req_start, 0);
}

static void
client_tcp(struct shadow_worker *sw, struct shadow_session *s,
	   const struct shadow_profile *p, const struct rte_mbuf *pkt,
	   const struct pkt_meta *m, uint64_t now, const struct shadow_tx *tx)
{
	const uint8_t *d;
	uint32_t off, len;

	if (stream_in_order(&s->cli_next, &s->cli_synced, m, &off, &len) &&
	    (d = pkt_bytes(sw, pkt, off, len)) != NULL)
		requests_feed(sw, s, p, pkt->port, d, len, now);
	else if (!s->cli_synced && m->payload_len)
		sw->cnt[p->index].desync++;
	for (int ti = 0; ti < s->n_targets; ti++)
		target_client_segment(sw, s, p, ti, pkt, m, now, tx);
}

static void
prod_tcp(struct shadow_worker *sw, struct shadow_session *s,
	 const struct shadow_profile *p, const struct rte_mbuf *pkt,
	 const struct pkt_meta *m, uint64_t now)
{
	struct answer_stream *a = &s->prod;
	uint16_t synced = a->synced;
	const uint8_t *d;
	uint32_t off, len;

	if (stream_in_order(&a->next_seq, &synced, m, &off, &len) &&
	    (d = pkt_bytes(sw, pkt, off, len)) != NULL)
		answers_feed(sw, s, a, COMPARE_PROD, d, len, now, &p->ignore);
	else if (a->synced && !synced)
		sw->cnt[p->index].desync++;
	a->synced = (uint8_t)synced;
	if (m->tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST)) {
		a->reset = (m->tcp_flags & PKT_TCP_RST) != 0;
		answers_close(sw, s, a, COMPARE_PROD);
	}
}

uint32_t
shadow_session_start(struct shadow_worker *sw, const struct shadow_table *t,
		     uint8_t chosen, const struct flow_key *k,
		     const struct pkt_meta *m, uint32_t owner, uint64_t now)
{
	const struct shadow_profile *p = &t->p[chosen - 1];
	void *old;
	uint32_t idx;

	/* A session of an earlier flow with the same 5-tuple ends first. */
	if (rte_hash_lookup_data(sw->by_key, k, &old) >= 0) {
		session_finish(sw, &sw->sessions[(uintptr_t)old], now);
		session_free(sw, (uint32_t)(uintptr_t)old);
	}
	/* Production first: an overloaded worker starts no shadow; the flow
	 * stays unshadowed for its whole life (flow_entry.shadow is cleared). */
	if (unlikely(sw->overloaded) && p->shed) {
		sw->cnt[p->index].shed++;
		return SHADOW_NO_SESSION;
	}
	if (session_take(sw, p, k, m, owner, now, &idx) == NULL) {
		sw->cnt[p->index].no_session++;
		return SHADOW_NO_SESSION;
	}
	return idx;
}

void
shadow_session_prefetch(const struct shadow_worker *sw, uint32_t sess)
{
	if (sess < sw->n_sessions)
		rte_prefetch0(&sw->sessions[sess]);
}

void
shadow_flow_packet(struct shadow_worker *sw, const struct shadow_table *t,
		   uint32_t sess, uint32_t owner,
		   const struct rte_mbuf *pkt, const struct pkt_meta *m,
		   uint8_t dir, uint64_t now, const struct shadow_tx *tx)
{
	const struct shadow_profile *p;
	struct shadow_session *s = session_of(sw, sess, owner);

	if (s == NULL)
		return;
	/* The session keeps its profile's uid: a flow never moves to another. */
	p = profile_of(t, s);
	if (p == NULL || s->ended_tsc)
		return;
	s->last_tsc = now;
	if (dir == FLOW_DIR_ORIG) {
		if (m->l4_proto == 6)
			client_tcp(sw, s, p, pkt, m, now, tx);
		else
			client_udp(sw, s, p, pkt, m, now, tx);
	} else if (m->l4_proto == 6) {
		prod_tcp(sw, s, p, pkt, m, now);
	} else {
		answer_udp(sw, s, &s->prod, COMPARE_PROD, pkt, m, now);
	}
}

/* ---- the targets' answers ------------------------------------------- */

static int
target_of(const struct shadow_session *s, const struct shadow_profile *p,
	  uint16_t in_port, const struct pkt_meta *m)
{
	uint16_t vlan = m->n_vlan ? (m->vlan_tci[0] & 0x0fff) : 0;

	for (int ti = 0; ti < s->n_targets; ti++) {
		uint16_t want = p->vlan[ti] == FLOW_VLAN_NONE ? 0 : (p->vlan[ti] & 0x0fff);

		if (p->port[ti] == in_port && want == vlan)
			return ti;
	}
	return -1;
}

static void
target_ack(struct shadow_worker *sw, struct shadow_session *s,
	   const struct shadow_profile *p, int ti, const struct rte_mbuf *pkt,
	   const struct pkt_meta *m, uint64_t now, const struct shadow_tx *tx)
{
	struct rte_mbuf *a = rte_pktmbuf_alloc(sw->pool);
	uint32_t n;

	if (a == NULL) {
		sw->cnt[p->index].no_mbuf++;
		return;
	}
	n = shadow_tcp_build_ack(&s->t[ti].tcp, rte_pktmbuf_mtod(pkt, const uint8_t *),
				 rte_pktmbuf_data_len(pkt), m->l3_off, m->l4_off,
				 SHADOW_TCP_FROM_SHADOW, rte_pktmbuf_mtod(a, uint8_t *),
				 rte_pktmbuf_tailroom(a));
	if (n == 0 || rte_pktmbuf_append(a, (uint16_t)n) == NULL) {
		sw->cnt[p->index].no_room++;
		rte_pktmbuf_free(a);
		return;
	}
	sw->cnt[p->index].acks_sent++;
	target_send(sw, s, p, ti, a, m, now, tx);
}

static void
target_release(struct shadow_worker *sw, struct shadow_session *s,
	       const struct shadow_profile *p, int ti, uint64_t now,
	       const struct shadow_tx *tx)
{
	struct target *tg = &s->t[ti];
	struct rte_mbuf *held[SHADOW_HOLD_MAX];
	uint8_t n = tg->n_hold;

	memcpy(held, tg->cp->hold, n * sizeof(held[0]));
	tg->n_hold = 0;
	for (uint8_t i = 0; i < n; i++) {
		struct pkt_meta hm;

		if (!tg->ended &&
		    pkt_parse_mbuf(held[i], sw->scratch, &hm) == PKT_DROP_OK)
			target_client_segment(sw, s, p, ti, held[i], &hm, now, tx);
		rte_pktmbuf_free(held[i]);
	}
}

static void
target_acked(struct target *tg, uint32_t acked)
{
	uint8_t j = 0;

	for (uint8_t i = 0; i < tg->n_keep; i++) {
		if ((int32_t)(tg->cp->keep_end[i] - acked) <= 0) {
			rte_pktmbuf_free(tg->cp->keep[i]);
			continue;
		}
		tg->cp->keep[j] = tg->cp->keep[i];
		tg->cp->keep_end[j++] = tg->cp->keep_end[i];
	}
	tg->n_keep = j;
}

static void
target_tcp_answer(struct shadow_worker *sw, struct shadow_session *s,
		  const struct shadow_profile *p, int ti, struct rte_mbuf *pkt,
		  const struct pkt_meta *m, uint64_t now, const struct shadow_tx *tx)
{
	struct shadow_tcp_conf conf = tcp_conf_of(p);
	struct target *tg = &s->t[ti];
	const uint8_t *d = rte_pktmbuf_mtod(pkt, const uint8_t *);
	struct shadow_tcp_seg seg;
	struct shadow_tcp_verdict v;

	if (tg->ended)
		return;
	if (!pkt_mbuf_hdrs_linear(pkt, m)) {
		sw->cnt[p->index].hdr_split++;
		return;
	}
	if (shadow_tcp_seg_parse(d + m->l4_off, rte_pktmbuf_data_len(pkt) - m->l4_off,
				 m->payload_len, &seg) < 0)
		return;
	shadow_tcp_shadow(&tg->tcp, &conf, &seg, now, &v);
	if ((v.act & SHADOW_TCP_A_DELIVER) &&
	    (d = pkt_bytes(sw, pkt, m->payload_off + v.dlv_off, v.dlv_len)) != NULL)
		answers_feed(sw, s, &tg->ans, (uint8_t)(COMPARE_SHADOW + ti),
			     d, v.dlv_len, now, &p->ignore);
	if (v.act & SHADOW_TCP_A_ACK)
		target_ack(sw, s, p, ti, pkt, m, now, tx);
	if (v.act & SHADOW_TCP_A_RELEASE)
		target_release(sw, s, p, ti, now, tx);
	if (v.act & SHADOW_TCP_A_ACKED)
		target_acked(tg, v.acked);
	if (v.act & SHADOW_TCP_A_RST_SHADOW)
		target_rst(sw, s, p, ti, pkt, m, SHADOW_TCP_FROM_SHADOW, now, tx);
	if (seg.flags & SHADOW_TCP_FIN)
		answers_close(sw, s, &tg->ans, (uint8_t)(COMPARE_SHADOW + ti));
	if (v.act & SHADOW_TCP_A_END)
		target_end(sw, s, ti, v.reason);
}

bool
shadow_target_packet(struct shadow_worker *sw, const struct shadow_table *t,
		     const struct flow_key *k, struct rte_mbuf *pkt,
		     const struct pkt_meta *m, uint16_t in_port, uint64_t now,
		     const struct shadow_tx *tx)
{
	void *data;
	struct shadow_session *s = rte_hash_lookup_data(sw->by_key, k, &data) >= 0 ?
				   &sw->sessions[(uintptr_t)data] : NULL;
	const struct shadow_profile *p = s ? profile_of(t, s) : NULL;
	int ti = p ? target_of(s, p, in_port, m) : -1;

	if (ti < 0) {
		rte_pktmbuf_free(pkt);
		return false;
	}
	sw->cnt[p->index].target_pkts++;
	s->last_tsc = now;
	if (m->l4_proto == 6)
		target_tcp_answer(sw, s, p, ti, pkt, m, now, tx);
	else
		answer_udp(sw, s, &s->t[ti].ans, (uint8_t)(COMPARE_SHADOW + ti),
			   pkt, m, now);
	rte_pktmbuf_free(pkt);
	return true;
}

/* ---- timers and life ------------------------------------------------ */

static void
session_free(struct shadow_worker *sw, uint32_t idx)
{
	struct shadow_session *s = &sw->sessions[idx];

	for (int ti = 0; ti < SHADOW_TARGETS; ti++)
		target_free_copies(&s->t[ti]);
	rte_hash_del_key(sw->by_key, &s->key);
	s->in_use = 0;
	s->next_free = sw->free_head;
	sw->free_head = idx;
	sw->active--;
}

/* Everything still open is recorded as it stands, then the session ends. */
static void
session_finish(struct shadow_worker *sw, struct shadow_session *s, uint64_t now)
{
	answers_close(sw, s, &s->prod, COMPARE_PROD);
	for (int ti = 0; ti < s->n_targets; ti++)
		if (!s->t[ti].ended)
			target_end(sw, s, ti, SHADOW_TCP_R_NONE);
	s->ended_tsc = now;
}

static void
session_timers(struct shadow_worker *sw, struct shadow_session *s,
	       const struct shadow_profile *p, uint64_t now,
	       const struct shadow_tx *tx)
{
	struct shadow_tcp_conf conf = tcp_conf_of(p);

	for (int ti = 0; ti < s->n_targets; ti++) {
		struct target *tg = &s->t[ti];
		struct shadow_tcp_verdict v;
		uint64_t at;

		if (tg->ended || !shadow_tcp_next_timeout(&tg->tcp, &at) || at > now)
			continue;
		shadow_tcp_timer(&tg->tcp, &conf, now, &v);
		if (v.act & SHADOW_TCP_A_RETRANSMIT)
			target_retransmit(sw, s, p, ti, v.rtx_lo, now, tx);
		if ((v.act & SHADOW_TCP_A_RST_SHADOW) && tg->n_keep) {
			struct pkt_meta km;

			if (kept_meta(sw, tg->cp->keep[0], &km))
				target_rst(sw, s, p, ti, tg->cp->keep[0], &km,
					   SHADOW_TCP_FROM_CLIENT, now, tx);
		}
		if (v.act & SHADOW_TCP_A_END)
			target_end(sw, s, ti, v.reason);
	}
}

static bool
session_done(const struct shadow_session *s)
{
	if (!s->prod.closed)
		return false;
	for (int ti = 0; ti < s->n_targets; ti++)
		if (!s->t[ti].ended && !shadow_tcp_ended(&s->t[ti].tcp))
			return false;
	return true;
}

void
shadow_timers(struct shadow_worker *sw, const struct shadow_table *t,
	      uint64_t now, const struct shadow_tx *tx)
{
	uint64_t idle = sw->tsc_hz * SHADOW_IDLE_S;
	uint64_t linger = sw->tsc_hz / 1000 * SHADOW_LINGER_MS;

	if (sw->active == 0)
		return;
	for (uint32_t n = 0; n < SHADOW_SWEEP; n++) {
		uint32_t idx = sw->sweep;
		struct shadow_session *s = &sw->sessions[idx];
		const struct shadow_profile *p;

		sw->sweep = idx + 1 < sw->n_sessions ? idx + 1 : 0;
		if (!s->in_use)
			continue;
		p = profile_of(t, s);
		if (s->ended_tsc) {
			if (now - s->ended_tsc > linger)
				session_free(sw, idx);
			continue;
		}
		if (p == NULL || now - s->last_tsc > idle ||
		    (session_done(s) && now - s->last_tsc > linger)) {
			session_finish(sw, s, now);
			continue;
		}
		session_timers(sw, s, p, now, tx);
	}
}

void
shadow_worker_sync(struct shadow_worker *sw, const struct shadow_table *t)
{
	if (t->version == sw->table_version)
		return;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct shadow_profile *p = &t->p[i];
		struct shadow_counters *c = &sw->cnt[p->index];

		if (sw->slot_uid[p->index] == p->uid)
			continue;
		sw->slot_uid[p->index] = p->uid;
		if (p->capped)
			rte_meter_srtcm_config(&sw->meter[p->index],
				(struct rte_meter_srtcm_profile *)(uintptr_t)&p->meter);
		memset(c, 0, sizeof(*c));
		__atomic_store_n(&c->uid, p->uid, __ATOMIC_RELEASE);
	}
	sw->table_version = t->version;
}

int
shadow_worker_init(struct shadow_worker *sw, uint16_t index, uint64_t tsc_hz,
		   uint32_t n_sessions, struct rte_mempool *pool, int socket)
{
	char name[32];
	struct rte_hash_parameters hp = {
		/* rte_hash refuses fewer entries than one bucket's 8 */
		.name = name, .entries = RTE_MAX(n_sessions * 2, 8u),
		.key_len = sizeof(struct flow_key), .hash_func = rte_hash_crc,
		.socket_id = socket,
	};

	memset(sw, 0, sizeof(*sw));
	sw->index = index;
	sw->tsc_hz = tsc_hz;
	sw->pool = pool;
	sw->next_flow_id = ((uint64_t)index << 48) + 1;
	sw->n_sessions = n_sessions;
	snprintf(name, sizeof(name), "umbra_records_%u", index);
	sw->records = rte_ring_create_elem(name, sizeof(struct compare_record),
					   SHADOW_RING_SIZE, socket,
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "umbra_shadow_sess_%u", index);
	sw->by_key = rte_hash_create(&hp);
	sw->sessions = rte_zmalloc_socket("umbra_shadow_sessions",
					  (size_t)n_sessions * sizeof(*sw->sessions),
					  _Alignof(struct shadow_session), socket);
	sw->copies = rte_zmalloc_socket("umbra_shadow_copies",
					(size_t)n_sessions * SHADOW_TARGETS * sizeof(*sw->copies),
					RTE_CACHE_LINE_SIZE, socket);
	sw->cnt = rte_zmalloc_socket("umbra_shadow_cnt",
				     CONF_MAX_SHADOWS * sizeof(*sw->cnt),
				     RTE_CACHE_LINE_SIZE, socket);
	sw->scratch = rte_malloc_socket("umbra_shadow_scratch", PKT_MBUF_SCRATCH,
					RTE_CACHE_LINE_SIZE, socket);
	if (sw->records == NULL || sw->by_key == NULL || sw->sessions == NULL ||
	    sw->copies == NULL || sw->cnt == NULL || sw->scratch == NULL) {
		shadow_worker_fini(sw);
		return -1;
	}
	sw->free_head = SHADOW_NIL;
	for (uint32_t i = n_sessions; i-- > 0;) {
		sw->sessions[i].next_free = sw->free_head;
		sw->free_head = i;
	}
	return 0;
}

void
shadow_worker_fini(struct shadow_worker *sw)
{
	for (uint32_t i = 0; sw->sessions != NULL && i < sw->n_sessions; i++)
		if (sw->sessions[i].in_use)
			for (int ti = 0; ti < SHADOW_TARGETS; ti++)
				target_free_copies(&sw->sessions[i].t[ti]);
	if (sw->n_stash)
		rte_pktmbuf_free_bulk(sw->stash, sw->n_stash);
	sw->n_stash = 0;
	rte_free(sw->sessions);
	rte_free(sw->copies);
	sw->copies = NULL;
	rte_free(sw->cnt);
	rte_free(sw->scratch);
	sw->scratch = NULL;
	rte_ring_free(sw->records);
	rte_hash_free(sw->by_key);
	sw->by_key = NULL;
	sw->sessions = NULL;
	sw->cnt = NULL;
	sw->records = NULL;
}
