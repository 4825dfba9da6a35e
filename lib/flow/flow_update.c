/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker half: per-packet flow accounting. Counters per direction, TCP flags
 * and a middlebox's view of the connection state, retransmissions (a
 * segment ending at or before the highest sequence already seen), and the
 * handshake round trip (SYN to the ACK that completes it).
 *
 * TCP states, as a middlebox that may see a connection from its middle:
 *   NONE         --SYN (ORIG)------------------> SYN_SENT
 *   NONE         --ACK without SYN--------------> ESTABLISHED (picked up
 *                                                 mid-stream, no RTT)
 *   SYN_SENT     --SYN+ACK (REPLY)--------------> SYNACK_SEEN
 *   SYN_SENT     --ACK without SYN (ORIG)-------> ESTABLISHED (the SYN+ACK
 *                                                 took another path, no RTT)
 *   SYNACK_SEEN  --ACK without SYN (ORIG)-------> ESTABLISHED, RTT measured
 *   ESTABLISHED  --FIN------------------------> FIN_WAIT, or CLOSED once
 *   FIN_WAIT       both directions sent a FIN
 *   any          --RST------------------------> CLOSED
 *   CLOSED       --SYN (ORIG)------------------> SYN_SENT: the 5-tuple is
 *                  reused before the closed flow aged out; TCP tracking
 *                  (flags, sequence space, RTT, first_tsc) starts over,
 *                  packet, byte and retransmission counts go on.
 */
#include <rte_branch_prediction.h>

#include "flow.h"
#include "pkt_math.h"

#define SYN_ACK (PKT_TCP_SYN | PKT_TCP_ACK)

/* Cycles to microseconds without overflow, clamped to 32 bits. */
static uint32_t
cycles_to_us(uint64_t cycles, uint64_t tsc_hz)
{
	uint64_t us;

	if (tsc_hz == 0)
		return 0;
	us = cycles / tsc_hz * 1000000 + cycles % tsc_hz * 1000000 / tsc_hz;
	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
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
		if ((f & SYN_ACK) == PKT_TCP_SYN) {
			if (dir == FLOW_DIR_ORIG)
				e->tcp_state = FLOW_TCP_SYN_SENT;
		} else if ((f & SYN_ACK) == PKT_TCP_ACK) {
			e->tcp_state = FLOW_TCP_ESTABLISHED;
		}
		break;
	case FLOW_TCP_SYN_SENT:
		if ((f & SYN_ACK) == SYN_ACK && dir == FLOW_DIR_REPLY)
			e->tcp_state = FLOW_TCP_SYNACK_SEEN;
		else if ((f & SYN_ACK) == PKT_TCP_ACK && dir == FLOW_DIR_ORIG)
			e->tcp_state = FLOW_TCP_ESTABLISHED;
		break;
	case FLOW_TCP_SYNACK_SEEN:
		if ((f & SYN_ACK) == PKT_TCP_ACK && dir == FLOW_DIR_ORIG) {
			e->tcp_state = FLOW_TCP_ESTABLISHED;
			e->rtt_us = cycles_to_us(now - e->first_tsc, tsc_hz);
		}
		break;
	default:
		break;
	}
	if ((f & PKT_TCP_FIN) && (e->tcp_state == FLOW_TCP_ESTABLISHED ||
				  e->tcp_state == FLOW_TCP_FIN_WAIT))
		e->tcp_state = (e->flags_seen[0] & e->flags_seen[1] & PKT_TCP_FIN) ?
			       FLOW_TCP_CLOSED : FLOW_TCP_FIN_WAIT;
}

/* A new connection on the 5-tuple of a closed one. */
static void
tcp_reopen(struct flow_entry *e, uint64_t now)
{
	e->flags_seen[0] = e->flags_seen[1] = 0;
	e->snd_max[0] = e->snd_max[1] = 0;
	e->rtt_us = 0;
	e->first_tsc = now;
	e->tcp_state = FLOW_TCP_NONE;
}

/*
 * snd_max[dir] == 0 means "no segment yet": a sequence space that ends
 * exactly at 0 costs at most one missed retransmission (1 in 2^32).
 */
static inline void
retrans_update(struct flow_entry *e, const struct pkt_meta *m, enum flow_dir dir)
{
	uint32_t seg_len = m->payload_len +
			   ((m->tcp_flags & (PKT_TCP_SYN | PKT_TCP_FIN)) ? 1 : 0);
	uint32_t end = m->tcp_seq + seg_len;

	if (seg_len == 0) /* pure ACKs never count */
		return;
	if (e->snd_max[dir] == 0)
		e->snd_max[dir] = end;
	else if (pkt_seq_leq(end, e->snd_max[dir]))
		e->retrans[dir]++;
	else
		e->snd_max[dir] = end;
}

void
flow_entry_update(struct flow_entry *e, const struct pkt_meta *m,
		  enum flow_dir dir, uint32_t pkt_len, uint64_t now,
		  uint64_t tsc_hz)
{
	uint8_t f;

	e->pkts[dir]++;
	e->bytes[dir] += pkt_len;
	e->last_tsc = now;
	if (m->l4_proto != 6 || !(m->flags & PKT_F_L4))
		return;
	f = m->tcp_flags;
	if (unlikely(e->tcp_state == FLOW_TCP_CLOSED) && dir == FLOW_DIR_ORIG &&
	    (f & (SYN_ACK | PKT_TCP_RST)) == PKT_TCP_SYN)
		tcp_reopen(e, now);
	e->flags_seen[dir] |= f;
	retrans_update(e, m, dir);
	tcp_state_update(e, f, dir, now, tsc_hz);
}
