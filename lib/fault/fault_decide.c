/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: run a packet through the fault table.
 *
 * Rules sit in the table in stacking order, so one pass does it: for each
 * rule whose lease runs and whose target matches, the selection decides
 * (per flow: the seeded flow hash; per packet: one draw of the slot's
 * generator, skipped at probability 1), then the kind acts. A drop or an
 * answer ends the pass; delays add up. Draws per selected packet, in order:
 * selection (per packet, probability < 1), then the kind's own (loss GE:
 * loss then transition; corrupt: one per bit; delay: the jitter's).
 */
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_meter.h>

#include "fault.h"

/* Client and server sides of the packet's flow, whatever its direction. */
struct fault_ends {
	const uint8_t *client;
	const uint8_t *server;
	uint16_t client_port;
	uint16_t server_port;
};

static inline void
ends_of(const struct fault_pkt *p, struct fault_ends *e)
{
	const struct pkt_meta *m = p->m;

	if (p->dir == FLOW_DIR_ORIG) {
		*e = (struct fault_ends){ m->src, m->dst, m->sport, m->dport };
	} else {
		*e = (struct fault_ends){ m->dst, m->src, m->dport, m->sport };
	}
}

static bool
partition_has(const struct fault_rule *r, const struct fault_pkt *p)
{
	bool there = p->from_stage == (uint16_t)r->from_stage &&
		     p->stage == (uint16_t)r->stage;
	bool back = r->both_ways && p->from_stage == (uint16_t)r->stage &&
		    p->stage == (uint16_t)r->from_stage;

	if (!there && !back)
		return false;
	return !r->new_flows_only || p->flow_first_tsc >= r->start_tsc;
}

/* Conditions a kind puts on the packet itself. */
static bool
kind_applies(const struct fault_rule *r, const struct pkt_meta *m,
	     const struct fault_pkt *p)
{
	switch (r->kind) {
	case CONF_FAULT_SYN_DROP:
		return (m->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN;
	case CONF_FAULT_RESET:
		return !(m->tcp_flags & PKT_TCP_RST);
	case CONF_FAULT_DNS_SERVFAIL:
		return p->dir == FLOW_DIR_ORIG;
	case CONF_FAULT_CORRUPT:
		return (m->flags & PKT_F_L4) != 0;
	default:
		return true;
	}
}

static bool
rule_targets(const struct fault_rule *r, const struct fault_pkt *p)
{
	const struct pkt_meta *m = p->m;
	struct fault_ends e;
	int family;

	if (!(r->dir_mask & (1u << p->dir)) || r->shadow != p->shadow)
		return false;
	if (r->shadow) {
		/* The profile is the target: no stage or service to compare. */
	} else if (r->kind == CONF_FAULT_PARTITION) {
		if (!partition_has(r, p))
			return false;
	} else if ((r->stage >= 0 && p->stage != (uint16_t)r->stage) ||
		   (r->from_stage >= 0 && p->from_stage != (uint16_t)r->from_stage) ||
		   (r->service >= 0 && p->service != (uint8_t)r->service)) {
		return false;
	}
	if (r->proto != CONF_ANY && r->proto != m->l4_proto)
		return false;
	ends_of(p, &e);
	family = pkt_ip_family(m);
	if (!conf_prefix_has(r->src.family, r->src.len, r->src.addr, family, e.client) ||
	    !conf_prefix_has(r->dst.family, r->dst.len, r->dst.addr, family, e.server))
		return false;
	if (e.client_port < r->sport.lo || e.client_port > r->sport.hi ||
	    e.server_port < r->dport.lo || e.server_port > r->dport.hi)
		return false;
	return kind_applies(r, m, p);
}

static inline bool
rule_selects(struct fault_slot_state *st, const struct fault_rule *r,
	     const struct fault_pkt *p)
{
	if (r->select == CONF_SELECT_FLOW)
		return flow_key_hash16(p->key, r->seed) < r->flow_threshold;
	return r->threshold >= FAULT_P_ALWAYS || fault_rng_chance(&st->rng, r->threshold);
}

/* rte_meter takes the profile non-const; it only reads it. */
static inline struct rte_meter_srtcm_profile *
meter_profile(const struct fault_rule *r)
{
	return (struct rte_meter_srtcm_profile *)(uintptr_t)&r->meter;
}

/* Gilbert-Elliott: lose by the current state's rate, then move. */
static bool
loss_ge(struct fault_slot_state *st, const struct fault_rule *r)
{
	bool lost = fault_rng_chance(&st->rng, st->ge_bad ? r->ge_loss_bad :
						       r->ge_loss_good);

	st->ge_bad = st->ge_bad ? !fault_rng_chance(&st->rng, r->ge_r) :
				  fault_rng_chance(&st->rng, r->ge_p);
	return lost;
}

/* An answer made by @p craft into a fresh mbuf, added to @p res. */
typedef size_t (*fault_craft_fn)(const uint8_t *pkt, size_t len,
				 const struct pkt_meta *m, uint8_t *out,
				 size_t cap, uint32_t arg);

static size_t
craft_rst_sender(const uint8_t *pkt, size_t len, const struct pkt_meta *m,
		 uint8_t *out, size_t cap, uint32_t arg)
{
	(void)arg;
	return fault_craft_tcp_rst(pkt, len, m, true, out, cap);
}

static size_t
craft_rst_receiver(const uint8_t *pkt, size_t len, const struct pkt_meta *m,
		   uint8_t *out, size_t cap, uint32_t arg)
{
	(void)arg;
	return fault_craft_tcp_rst(pkt, len, m, false, out, cap);
}

static size_t
craft_icmp(const uint8_t *pkt, size_t len, const struct pkt_meta *m,
	   uint8_t *out, size_t cap, uint32_t arg)
{
	return fault_craft_icmp_unreach(pkt, len, m, (uint8_t)arg, out, cap);
}

static size_t
craft_dns(const uint8_t *pkt, size_t len, const struct pkt_meta *m,
	  uint8_t *out, size_t cap, uint32_t arg)
{
	(void)arg;
	return fault_craft_dns_servfail(pkt, len, m, out, cap);
}

static bool
answer_add(struct fault_worker *fw, struct fault_rule_counters *c,
	   struct rte_mbuf *pkt, const struct pkt_meta *m, fault_craft_fn craft,
	   uint32_t arg, bool to_sender, struct fault_result *res)
{
	struct rte_mbuf *a = rte_pktmbuf_alloc(fw->pool);
	size_t n;

	if (a == NULL) {
		c->no_mbuf++;
		return false;
	}
	n = craft(rte_pktmbuf_mtod(pkt, const uint8_t *), rte_pktmbuf_data_len(pkt),
		  m, rte_pktmbuf_mtod(a, uint8_t *), rte_pktmbuf_tailroom(a), arg);
	if (n == 0) {
		rte_pktmbuf_free(a);
		return false;
	}
	if (rte_pktmbuf_append(a, (uint16_t)n) == NULL) {
		rte_pktmbuf_free(a);
		c->no_mbuf++;
		return false;
	}
	res->answers[res->n_answers].m = a;
	res->answers[res->n_answers].to_sender = to_sender;
	res->n_answers++;
	return true;
}

/* Kinds that end the pass: outages and answers. @return true: dropped. */
static bool
act_terminal(struct fault_worker *fw, const struct fault_rule *r,
	     struct fault_rule_counters *c, struct rte_mbuf *pkt,
	     const struct pkt_meta *m, struct fault_result *res)
{
	switch (r->kind) {
	case CONF_FAULT_ICMP_UNREACHABLE:
		if (answer_add(fw, c, pkt, m, craft_icmp, r->icmp_code, true, res))
			c->answered++;
		break;
	case CONF_FAULT_DNS_SERVFAIL:
		if (!answer_add(fw, c, pkt, m, craft_dns, 0, true, res))
			return false;   /* not a query it can answer: goes on */
		c->answered++;
		break;
	case CONF_FAULT_RESET: {
		/* Both ends, each when it can be made. */
		bool back = answer_add(fw, c, pkt, m, craft_rst_sender, 0, true, res);
		bool ahead = answer_add(fw, c, pkt, m, craft_rst_receiver, 0, false, res);

		if (back && ahead)
			c->resets++;
		break;
	}
	default:                /* partition, blackhole, syn_drop */
		break;
	}
	c->dropped++;
	res->drop = true;
	return true;
}

static void
act_delay(struct fault_slot_state *st, const struct fault_rule *r,
	  struct fault_rule_counters *c, uint64_t *total, uint32_t *timing,
	  struct fault_result *res)
{
	uint64_t d;

	if (r->kind == CONF_FAULT_REORDER) {
		d = r->hold;
		c->reordered++;
	} else {
		d = fault_delay_draw(&st->rng, r->distribution, r->delay, r->jitter);
		c->delayed++;
	}
	if ((*timing)++ == 0) {
		res->delay_slot = r->slot;
		res->delay_uid = r->uid;
		/* One constant delay keeps arrival order: its FIFO will do. */
		res->fifo = r->jitter == 0 ? r->slot : FAULT_DELAY_WHEEL;
	} else {
		res->fifo = FAULT_DELAY_WHEEL;
	}
	*total += d;
}

/*
 * Later than every delayed packet of this flow direction before it. The
 * stamp is the latest deadline >> FAULT_ORDER_SHIFT, wrapping; 0 means none
 * yet (a stamp that would be 0 is stored as 1).
 */
static uint64_t
keep_flow_order(uint32_t *stamp, uint64_t deadline)
{
	uint64_t q = deadline >> FAULT_ORDER_SHIFT;
	int32_t ahead = (int32_t)(*stamp - (uint32_t)q);

	if (*stamp != 0 && ahead >= 0) {
		q += (uint64_t)ahead + 1;
		deadline = q << FAULT_ORDER_SHIFT;
	}
	*stamp = (uint32_t)q ? (uint32_t)q : 1;
	return deadline;
}

/*
 * Whether the first segment of @p pkt (all that corruption writes) is
 * this packet's alone: not an indirect or external-buffer mbuf, and no
 * clone attached to its buffer (shadow copies attach their payload so).
 */
static inline bool
mbuf_writable(const struct rte_mbuf *pkt)
{
	return RTE_MBUF_DIRECT(pkt) && rte_mbuf_refcnt_read(pkt) == 1;
}

/* Kinds that let the packet through, changed. @return true: dropped. */
static bool
act_pass(struct fault_slot_state *st, const struct fault_rule *r,
	 struct fault_rule_counters *c, struct rte_mbuf *pkt,
	 const struct pkt_meta *m, uint64_t now, uint64_t *total,
	 uint32_t *timing, struct fault_result *res)
{
	switch (r->kind) {
	case CONF_FAULT_LOSS:
		if (r->loss_model == CONF_LOSS_GILBERT_ELLIOTT && !loss_ge(st, r))
			return false;
		c->dropped++;
		res->drop = true;
		return true;
	case CONF_FAULT_BANDWIDTH:
		if (rte_meter_srtcm_color_blind_check(&st->meter, meter_profile(r),
				now, rte_pktmbuf_pkt_len(pkt)) == RTE_COLOR_GREEN)
			return false;
		c->dropped++;
		res->drop = true;
		return true;
	case CONF_FAULT_CORRUPT:
		/* Never flip a byte another mbuf sees (a shadow copy's clone). */
		if (!mbuf_writable(pkt)) {
			c->corrupt_shared++;
			return false;
		}
		if (fault_corrupt(rte_pktmbuf_mtod(pkt, uint8_t *),
				  rte_pktmbuf_data_len(pkt), m, r->bits,
				  r->fix_checksum, &st->rng))
			c->corrupted++;
		return false;
	case CONF_FAULT_DUPLICATE:
		res->copies += r->copies;
		c->duplicated += r->copies;
		return false;
	default:                /* reorder, delay */
		act_delay(st, r, c, total, timing, res);
		return false;
	}
}

void
fault_apply(struct fault_worker *fw, const struct fault_table *t,
	    struct rte_mbuf *pkt, const struct fault_pkt *p, uint64_t now,
	    struct fault_result *res)
{
	uint64_t total = 0;
	uint32_t timing = 0;
	bool order = false;

	memset(res, 0, sizeof(*res));
	for (uint32_t i = 0; i < t->n_rules; i++) {
		const struct fault_rule *r = &t->rules[i];
		struct fault_slot_state *st = &fw->slot[r->slot];
		struct fault_rule_counters *c = &fw->cnt[r->slot];

		if (now >= r->end_tsc || !rule_targets(r, p))
			continue;
		c->matched++;
		if (!rule_selects(st, r, p))
			continue;
		c->selected++;
		if (r->kind <= CONF_FAULT_RESET) {
			if (act_terminal(fw, r, c, pkt, p->m, res))
				return;
			continue;
		}
		if (act_pass(st, r, c, pkt, p->m, now, &total, &timing, res))
			return;
		order |= r->keep_order;
	}
	if (timing == 0)
		return;
	res->requested = now + total;
	res->deadline = res->requested;
	if (order && p->order_stamp != NULL) {
		res->deadline = keep_flow_order(p->order_stamp, res->deadline);
		if (res->deadline != res->requested)
			res->fifo = FAULT_DELAY_WHEEL;
	}
}

void
fault_delay_sent(struct fault_worker *fw, const struct fault_delay_item *it,
		 uint64_t now)
{
	struct fault_rule_counters *c = &fw->cnt[it->slot];
	uint64_t late = now > it->requested ? now - it->requested : 0;
	uint64_t ns;

	if (c->uid != it->rule_uid)
		return;         /* the rule ended and its slot was reused */
	ns = (late * fw->ns_per_cycle_q32) >> 32;
	c->sent_late++;
	c->err_sum_ns += ns;
	if (ns > c->err_max_ns)
		c->err_max_ns = ns;
	c->err_hist[fault_hist_bucket(ns)]++;
}

static void
slot_reset(struct fault_worker *fw, const struct fault_rule *r)
{
	struct fault_slot_state *st = &fw->slot[r->slot];
	struct fault_rule_counters *c = &fw->cnt[r->slot];

	st->uid = r->uid;
	st->ge_bad = 0;
	/* Worker 0 draws exactly the rule's seed sequence (tests rely on it). */
	fault_rng_seed(&st->rng, (uint64_t)r->seed + ((uint64_t)fw->index << 32));
	if (r->kind == CONF_FAULT_BANDWIDTH)
		rte_meter_srtcm_config(&st->meter, meter_profile(r));
	memset(c, 0, sizeof(*c));
	/* The uid goes last: readers trust counters whose uid matches. */
	__atomic_store_n(&c->uid, r->uid, __ATOMIC_RELEASE);
}

void
fault_worker_sync(struct fault_worker *fw, const struct fault_table *t)
{
	if (likely(t->version == fw->table_version))
		return;
	for (uint32_t i = 0; i < t->n_rules; i++)
		if (fw->slot[t->rules[i].slot].uid != t->rules[i].uid)
			slot_reset(fw, &t->rules[i]);
	fw->table_version = t->version;
}

int
fault_worker_init(struct fault_worker *fw, uint16_t index, uint64_t tsc_hz,
		  uint32_t max_inflight, struct rte_mempool *pool, uint64_t now)
{
	uint64_t tick = 1;

	memset(fw, 0, sizeof(*fw));
	fw->index = index;
	fw->tsc_hz = tsc_hz;
	fw->pool = pool;
	fw->ns_per_cycle_q32 = (UINT64_C(1000000000) << 32) / tsc_hz;
	if (pool != NULL)
		fw->rx_line_off = sizeof(struct rte_mbuf) +
				  rte_pktmbuf_priv_size(pool) + RTE_PKTMBUF_HEADROOM;
	/* The wheel's tick: the power of two nearest 1/8 us. */
	while (tick * 2 <= tsc_hz / 8000000)
		tick *= 2;
	fw->dq = fault_delayq_create(max_inflight, FAULT_MAX_RULES, tick,
				     FAULT_WHEEL_SLOTS, now);
	fw->cnt = rte_zmalloc("umbra_fault_cnt",
			      sizeof(*fw->cnt) * FAULT_MAX_RULES,
			      RTE_CACHE_LINE_SIZE);
	if (fw->dq == NULL || fw->cnt == NULL) {
		fault_worker_fini(fw);
		return -1;
	}
	return 0;
}

void
fault_worker_fini(struct fault_worker *fw)
{
	struct fault_delay_item items[64];
	uint32_t n;

	if (fw->dq != NULL) {
		while ((n = fault_delayq_drain(fw->dq, items, 64)) > 0)
			for (uint32_t i = 0; i < n; i++)
				if (items[i].len == 0)  /* else a copy */
					rte_pktmbuf_free(items[i].pkt);
		fault_delayq_free(fw->dq);
	}
	rte_free(fw->cnt);
	fw->dq = NULL;
	fw->cnt = NULL;
}
