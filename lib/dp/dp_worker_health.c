/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: cohort health of the flows of a service under release.
 *
 * A flow steered to the version that runs in the service's rollout stage
 * is "control", one steered to the canary is "canary". For those flows
 * (and a seeded flow-hash sample of them when verdict.sample is below
 * 100 %), each packet adds what it tells about its server to the worker's
 * counters for (service, cohort): TCP connects answered, refused (RST to
 * the SYN) or timed out (the SYN sent again), resets from the server after
 * establishment, retransmitted segments, HTTP/1.x answers and their status
 * class, requests the server closed without answering, DNS answers and
 * their rcode, and answer latency (request's first byte to the answer's
 * first byte) in the verdict engine's histogram buckets.
 *
 * Only the first bytes of a segment are looked at: an HTTP answer starts
 * a server segment with "HTTP/1.", a request starts a client segment with
 * a method; nothing is reassembled. Counters are single-writer; the
 * management core reads and diffs them every 100 ms.
 *
 * Packets that cannot change a count never reach this step
 * (dp_health_wants(), on the entry's first cache line): pure ACKs of an
 * established connection, UDP other than DNS, and a DNS client's further
 * queries while one is open (DP_HEALTH_REQ_OPEN), so a flow's queries are
 * read once until answered.
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "dp_worker_private.h"

/* How many payload bytes are looked at. */
#define PEEK DP_HEALTH_DNS_HDR

static inline uint32_t
req_stamp(uint64_t now)
{
	return (uint32_t)(now >> DP_HEALTH_TS_SHIFT) | 1u;  /* 0 means none */
}

/* Microseconds since a request stamp (wrap-safe for ~minutes). */
static inline uint32_t
since_us(const struct dp_worker *w, uint32_t stamp, uint64_t now)
{
	uint64_t cycles = (uint64_t)(uint32_t)(req_stamp(now) - stamp) << DP_HEALTH_TS_SHIFT;

	return (uint32_t)(cycles * 1000000 / w->tsc_hz);
}

/*
 * A request opens (its stamp) or closes. DP_HEALTH_REQ_OPEN mirrors "the
 * stamp is set" on the flow's first cache line, so that dp_health_wants()
 * can pass over a client's further UDP queries without reading the stamp.
 */
static inline void
req_open(struct flow_entry *e, uint32_t *ts, uint64_t now)
{
	*ts = req_stamp(now);
	e->health |= DP_HEALTH_REQ_OPEN;
}

static inline void
req_close(struct flow_entry *e, uint32_t *ts)
{
	*ts = 0;
	e->health &= (uint8_t)~DP_HEALTH_REQ_OPEN;
}

/* An uppercase method and a space: the start of an HTTP/1.x request. */
static bool
is_request(const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	while (i < len && i < 8 && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	return i >= 3 && i < len && p[i] == ' ';
}

static inline bool
is_http_answer(const uint8_t *p, uint32_t len)
{
	return len >= 12 && memcmp(p, "HTTP/1.", 7) == 0 &&
	       p[9] >= '1' && p[9] <= '5';
}

/* An answer arrived: count it, its class and its latency. */
static void
answered(struct dp_worker *w, struct flow_entry *e, struct dp_health_cohort *c,
	 uint32_t *ts, enum verdict_metric m, bool bad, uint64_t now)
{
	c->n[m]++;
	c->bad[m] += bad;
	if (e->health & DP_HEALTH_REQ_OPEN) {
		c->n[VERDICT_M_NO_ANSWER]++;
		c->lat[verdict_lat_bucket(since_us(w, *ts, now))]++;
		req_close(e, ts);
	}
}

/* What the first bytes of a payload say (HTTP or DNS). */
static void
payload_seen(struct dp_worker *w, struct flow_entry *e, struct rte_mbuf *pkt,
	     const struct pkt_meta *m, struct dp_health_cohort *c, uint32_t *ts,
	     enum flow_dir dir, uint64_t now)
{
	uint8_t buf[PEEK];
	uint32_t len = m->payload_len < PEEK ? m->payload_len : PEEK;
	bool open = e->health & DP_HEALTH_REQ_OPEN;
	const uint8_t *p;

	if (m->l4_proto == 17) {   /* DNS: the server answers from port 53 */
		if (len < DP_HEALTH_DNS_HDR)
			return;
		if (dir == FLOW_DIR_ORIG) {
			if (m->dport == 53 && !open)
				req_open(e, ts, now);
			return;
		}
		if (m->sport != 53 || (p = rte_pktmbuf_read(pkt, m->payload_off, len, buf)) == NULL)
			return;
		if (p[2] & 0x80) {
			uint8_t rcode = p[3] & 0x0f;

			answered(w, e, c, ts, VERDICT_M_DNS_FAIL, rcode == 2 || rcode == 5, now);
		}
		return;
	}
	/* With a request open, the client's bytes cannot open another. */
	if ((dir == FLOW_DIR_ORIG && open) ||
	    (p = rte_pktmbuf_read(pkt, m->payload_off, len, buf)) == NULL)
		return;
	if (dir == FLOW_DIR_ORIG) {
		if (is_request(p, len))
			req_open(e, ts, now);
	} else if (is_http_answer(p, len)) {
		answered(w, e, c, ts, VERDICT_M_HTTP_5XX, p[9] == '5', now);
	}
}

/* A connect resolves once: answered, refused, or retried (timed out). */
static void
tcp_connect(struct flow_entry *e, struct dp_health_cohort *c, uint8_t prev_state,
	    uint8_t f, enum flow_dir dir)
{
	bool syn_only = (f & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN;

	if (prev_state != FLOW_TCP_SYN_SENT) {
		/* Picked up mid-stream: no connect to judge. */
		if (prev_state != FLOW_TCP_NONE || e->tcp_state != FLOW_TCP_SYN_SENT)
			e->health |= DP_HEALTH_CONNECT_DONE;
		return;
	}
	if (e->tcp_state == FLOW_TCP_SYNACK_SEEN || e->tcp_state == FLOW_TCP_ESTABLISHED) {
		c->n[VERDICT_M_CONNECT_FAIL]++;
	} else if ((f & PKT_TCP_RST) && dir == FLOW_DIR_REPLY) {
		c->n[VERDICT_M_CONNECT_FAIL]++;
		c->bad[VERDICT_M_CONNECT_FAIL]++;
	} else if (syn_only && dir == FLOW_DIR_ORIG) {
		c->n[VERDICT_M_CONNECT_FAIL]++;   /* the client gave up waiting once */
		c->bad[VERDICT_M_CONNECT_FAIL]++;
	} else {
		return;
	}
	e->health |= DP_HEALTH_CONNECT_DONE;
}

static void
tcp_seen(struct flow_entry *e, const struct pkt_meta *m, struct dp_health_cohort *c,
	 uint32_t *ts, enum flow_dir dir, const struct dp_health_prev *prev)
{
	uint8_t f = m->tcp_flags;
	bool was_up = prev->tcp_state == FLOW_TCP_ESTABLISHED ||
		      prev->tcp_state == FLOW_TCP_FIN_WAIT;

	if (!(e->health & DP_HEALTH_CONNECT_DONE))
		tcp_connect(e, c, prev->tcp_state, f, dir);
	if (!was_up && e->tcp_state == FLOW_TCP_ESTABLISHED)
		c->n[VERDICT_M_RESET]++;
	if (dir == FLOW_DIR_REPLY && (f & (PKT_TCP_RST | PKT_TCP_FIN))) {
		if ((f & PKT_TCP_RST) && was_up)
			c->bad[VERDICT_M_RESET]++;
		if (e->health & DP_HEALTH_REQ_OPEN) {
			/* the server closed on a request it never answered */
			c->n[VERDICT_M_NO_ANSWER]++;
			c->bad[VERDICT_M_NO_ANSWER]++;
			req_close(e, ts);
		}
	}
	if (m->payload_len) {
		c->n[VERDICT_M_RETRANS]++;
		c->bad[VERDICT_M_RETRANS] += e->retrans[dir] != prev->retrans;
	}
}

void
dp_health_flow_start(struct dp_worker *w, const struct umbra_gen *g, struct flow_entry *e,
		     int32_t pos, const struct flow_key *k)
{
	const struct conf_service *s;

	e->health = 0;
	if (e->service == STEER_NO_SERVICE ||
	    (e->steer != STEER_RUNNING && e->steer != STEER_CANARY))
		return;
	s = &g->conf->services[e->service];
	if (e->stage != s->rollout.stage || !s->verdict.enabled ||
	    !steer_has_canary(g->steer, e->stage, e->service))
		return;
	if (s->verdict.sample_bp < 10000 &&
	    flow_key_hash16(k, s->verdict.sample_seed) % 10000 >= s->verdict.sample_bp) {
		w->cnt->health_unsampled++;
		return;
	}
	e->health = DP_HEALTH_TRACK | (e->steer == STEER_CANARY ? DP_HEALTH_CANARY : 0);
	w->health->req_ts[pos] = 0;
}

void
dp_health_packet(struct dp_worker *w, struct flow_entry *e, int32_t pos,
		 struct rte_mbuf *pkt, const struct pkt_meta *m, enum flow_dir dir,
		 const struct dp_health_prev *prev, uint64_t now)
{
	struct dp_health_cohort *c =
		&w->health->c[e->service][(e->health & DP_HEALTH_CANARY) ? 1 : 0];
	uint32_t *ts = &w->health->req_ts[pos];

	if (m->l4_proto == 6 && (m->flags & PKT_F_L4))
		tcp_seen(e, m, c, ts, dir, prev);
	/* A retransmitted segment says nothing new (an answer sent twice is
	 * one answer). */
	if (m->payload_len && (m->flags & PKT_F_L4) &&
	    (m->l4_proto != 6 || e->retrans[dir] == prev->retrans))
		payload_seen(w, e, pkt, m, c, ts, dir, now);
}
