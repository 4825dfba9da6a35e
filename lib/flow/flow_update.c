/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: per-packet flow accounting. Counters per direction, TCP flags
 * and a middlebox's view of the connection state, retransmissions (a
 * segment ending at or before the highest sequence already seen), and the
 * handshake round trip (SYN to the ACK that completes it).
 */
#include "flow.h"

static inline bool
seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static void
tcp_state_update(struct flow_entry *e, uint8_t f, enum flow_dir dir,
		 uint64_t now, uint64_t tsc_hz)
{
	if (f & PKT_TCP_RST) {
		e->tcp_state = FLOW_TCP_CLOSED;
		return;
	}
	switch (e->tcp_state) {
	case FLOW_TCP_NONE:
		if ((f & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN && dir == FLOW_DIR_ORIG)
			e->tcp_state = FLOW_TCP_SYN_SENT;
		else if (f & PKT_TCP_ACK) /* picked up mid-stream */
			e->tcp_state = FLOW_TCP_ESTABLISHED;
		break;
	case FLOW_TCP_SYN_SENT:
		if ((f & (PKT_TCP_SYN | PKT_TCP_ACK)) == (PKT_TCP_SYN | PKT_TCP_ACK) &&
		    dir == FLOW_DIR_REPLY)
			e->tcp_state = FLOW_TCP_SYNACK_SEEN;
		break;
	case FLOW_TCP_SYNACK_SEEN:
		if (!(f & PKT_TCP_SYN) && (f & PKT_TCP_ACK) && dir == FLOW_DIR_ORIG) {
			uint64_t per_us = tsc_hz / 1000000;

			e->tcp_state = FLOW_TCP_ESTABLISHED;
			e->rtt_us = (uint32_t)((now - e->first_tsc) / (per_us ? per_us : 1));
		}
		break;
	default:
		break;
	}
	if (e->tcp_state >= FLOW_TCP_ESTABLISHED && (f & PKT_TCP_FIN))
		e->tcp_state = (e->flags_seen[0] & e->flags_seen[1] & PKT_TCP_FIN) ?
			       FLOW_TCP_CLOSED : FLOW_TCP_FIN_WAIT;
}

static void
retrans_update(struct flow_entry *e, const struct pkt_meta *m, enum flow_dir dir)
{
	uint32_t seg_len = m->payload_len +
			   ((m->tcp_flags & (PKT_TCP_SYN | PKT_TCP_FIN)) ? 1 : 0);
	uint32_t end = m->tcp_seq + seg_len;

	if (seg_len == 0)
		return;
	/* snd_max is meaningful once this direction sent a segment with data
	 * or SYN/FIN; pkts[dir] was already incremented for this packet. */
	if (e->pkts[dir] > 1 && e->snd_max[dir] != 0 && seq_leq(end, e->snd_max[dir]))
		e->retrans[dir]++;
	else if (e->snd_max[dir] == 0 || !seq_leq(end, e->snd_max[dir]))
		e->snd_max[dir] = end;
}

void
flow_entry_update(struct flow_entry *e, const struct pkt_meta *m,
		  enum flow_dir dir, uint32_t pkt_len, uint64_t now,
		  uint64_t tsc_hz)
{
	e->pkts[dir]++;
	e->bytes[dir] += pkt_len;
	e->last_tsc = now;
	if (m->l4_proto != 6 || !(m->flags & PKT_F_L4))
		return;
	e->flags_seen[dir] |= m->tcp_flags;
	retrans_update(e, m, dir);
	tcp_state_update(e, m->tcp_flags, dir, now, tsc_hz);
}
