/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shadow TCP session: umbra plays the client toward a shadow server.
 *
 * For a shadowed flow, umbra clones the client's segments to a shadow
 * network where an unmodified server runs. The shadow server picks its own
 * ISN and may answer with other bytes than production, so umbra keeps the
 * shadow's sequence space itself: it completes the handshake, rewrites the
 * acknowledgement (and TS echo) of every client segment it forwards,
 * acknowledges the shadow's data on its own, retransmits after loss and
 * gives up with a reason when a bound is hit. The shadow's answers never
 * reach the client: the caller consumes them and hands the in-order payload
 * to the comparator.
 *
 * This is a pure state machine: no DPDK, no mbuf, no allocation, no clock.
 * The caller owns every packet and passes @c now in any monotonic unit
 * (TSC cycles, microseconds); the RTO in struct shadow_tcp_conf is in the
 * same unit. One struct shadow_tcp per shadowed flow and per target.
 *
 * Caller contract, per flow and target:
 *  - client->server segment: shadow_tcp_seg_parse(), shadow_tcp_client(),
 *    then act on the verdict: @ref SHADOW_TCP_A_FORWARD (shadow_tcp_rewrite()
 *    the TCP header in place, send), @ref SHADOW_TCP_A_KEEP (also keep a
 *    copy for retransmission), @ref SHADOW_TCP_A_HOLD (queue the packet);
 *    neither FORWARD nor HOLD: drop it.
 *  - shadow->client segment: shadow_tcp_seg_parse(), shadow_tcp_shadow();
 *    the packet is always consumed (never sent on). Act on DELIVER, ACK
 *    (shadow_tcp_build_ack()), RELEASE, ACKED.
 *  - periodically (or at shadow_tcp_next_timeout()): shadow_tcp_timer(),
 *    act on RETRANSMIT.
 *  - a caller-side bound hit (no room for a copy): shadow_tcp_abort().
 *  - any verdict with @ref SHADOW_TCP_A_RST_SHADOW: send
 *    shadow_tcp_build_rst(); with @ref SHADOW_TCP_A_END: count
 *    verdict.reason, free the hold queue and the retransmission copies.
 *
 * Actions of one verdict are done in this order: FORWARD/HOLD/DELIVER,
 * ACK, RELEASE, ACKED, RETRANSMIT, RST_SHADOW, END.
 *
 * Client pure ACKs (no payload, no SYN/FIN/RST) are not forwarded: their
 * acknowledgement refers to production's bytes, umbra acknowledges the
 * shadow itself, and forwarding them would look like duplicate ACKs to the
 * shadow (spurious fast retransmits). The one exception is a window update
 * (window field differs from the last one seen): it is forwarded, rewritten,
 * so that a client that closed and reopened its window does not leave the
 * shadow stuck in persist mode.
 *
 * Sequence numbers are compared modulo 2^32 (RFC 793 style).
 */
#ifndef UMBRA_SHADOW_TCP_H
#define UMBRA_SHADOW_TCP_H

#include <stdbool.h>
#include <stdint.h>

/** Session states. Terminal: CLOSED, RESET, GAVE_UP. Keep names stable. */
#define SHADOW_TCP_STATES(X) \
	X(IDLE, "idle")                /* nothing seen yet */ \
	X(SYN_SENT, "syn_sent")        /* client SYN forwarded, no SYN-ACK */ \
	X(ESTABLISHED, "established")  /* handshake done with the shadow */ \
	X(FIN_SENT, "fin_sent")        /* client FIN forwarded */ \
	X(FIN_RCVD, "fin_rcvd")        /* shadow FIN seen (and acked) */ \
	X(CLOSING, "closing")          /* both FINs, client FIN not yet acked */ \
	X(CLOSED, "closed")            /* both FINs seen and acked */ \
	X(RESET, "reset")              /* RST from either side */ \
	X(GAVE_UP, "gave_up")          /* a bound or a check failed */

/** Current state of a session (struct shadow_tcp.state). */
enum shadow_tcp_state {
#define SHADOW_TCP_STATE_ENUM(id, name) SHADOW_TCP_S_##id,
	SHADOW_TCP_STATES(SHADOW_TCP_STATE_ENUM)
#undef SHADOW_TCP_STATE_ENUM
	SHADOW_TCP_S_MAX
};

/** Why a session ended; the caller counts these. Keep names stable. */
#define SHADOW_TCP_REASONS(X) \
	X(NONE, "none") \
	X(CLOSED, "closed")                   /* FIN both ways, both acked */ \
	X(CLIENT_RST, "client_rst")           /* client reset, forwarded */ \
	X(SHADOW_RST, "shadow_rst")           /* shadow reset the connection */ \
	X(NO_SYN, "no_syn")                   /* first client segment not a SYN */ \
	X(SYN_DATA, "syn_data")               /* SYN with payload (Fast Open) */ \
	X(QUEUE_FULL, "queue_full")           /* too much early client data */ \
	X(HANDSHAKE_TIMEOUT, "handshake_timeout") /* SYN retries exhausted */ \
	X(RETRIES, "retries")                 /* data/FIN retries exhausted */ \
	X(BAD_SYNACK, "bad_synack")           /* SYN-ACK acks another ISN */ \
	X(BAD_ACK, "bad_ack")                 /* shadow acked unsent bytes */ \
	X(BAD_SEQ, "bad_seq")                 /* sequence far out of window */ \
	X(ABORTED, "aborted")                 /* caller gave up (no resources) */

/** Reason a session ended (struct shadow_tcp.reason, verdict.reason). */
enum shadow_tcp_reason {
#define SHADOW_TCP_REASON_ENUM(id, name) SHADOW_TCP_R_##id,
	SHADOW_TCP_REASONS(SHADOW_TCP_REASON_ENUM)
#undef SHADOW_TCP_REASON_ENUM
	SHADOW_TCP_R_MAX
};

/** Bits of struct shadow_tcp_verdict.act. */
enum {
	/** Client path: shadow_tcp_rewrite() this segment, send it to the
	 * shadow. */
	SHADOW_TCP_A_FORWARD = 1 << 0,
	/** Client path, with FORWARD: the segment carries new sequence space;
	 * keep a copy (its range [seq, seq + len + SYN + FIN)) until ACKED
	 * passes its end, for RETRANSMIT. */
	SHADOW_TCP_A_KEEP = 1 << 1,
	/** Client path: handshake pending; append the packet to the flow's
	 * hold queue (the state machine counts it against hold_max). */
	SHADOW_TCP_A_HOLD = 1 << 2,
	/** Shadow path: payload bytes [dlv_off, dlv_off + dlv_len) are new
	 * and in order: give them to the comparator. */
	SHADOW_TCP_A_DELIVER = 1 << 3,
	/** Shadow path: send a pure ACK to the shadow (shadow_tcp_build_ack()
	 * from the shadow's segment in hand). */
	SHADOW_TCP_A_ACK = 1 << 4,
	/** Shadow path: handshake done. After the ACK, pass every held
	 * packet, in arrival order, to shadow_tcp_client() again and act on
	 * each verdict; the queue is then empty (the count is already 0). */
	SHADOW_TCP_A_RELEASE = 1 << 5,
	/** Shadow path: the shadow acknowledged client sequence space below
	 * verdict.acked: free copies whose end is at or before it
	 * (wrap-safe: (int32_t)(end - acked) <= 0). */
	SHADOW_TCP_A_ACKED = 1 << 6,
	/** Timer: resend, in sequence order and after shadow_tcp_rewrite_rtx(),
	 * every kept copy overlapping [rtx_lo, rtx_hi). */
	SHADOW_TCP_A_RETRANSMIT = 1 << 7,
	/** The session gave up while the shadow may hold a connection: send
	 * it shadow_tcp_build_rst() so that it frees it (best effort). */
	SHADOW_TCP_A_RST_SHADOW = 1 << 8,
	/** The session has just ended (reported once): count verdict.reason,
	 * free the hold queue and all copies. The state may be kept a while
	 * (in CLOSED it re-acks a retransmitted shadow FIN) or freed now. */
	SHADOW_TCP_A_END = 1 << 9,
};

/** Bits of struct shadow_tcp_seg.opts. */
enum {
	SHADOW_TCP_O_TS = 1 << 0,   /**< timestamp option present */
	SHADOW_TCP_O_SACK = 1 << 1, /**< SACK blocks present */
};

/** TCP flag bits as on the wire (same values as PKT_TCP_*). */
enum {
	SHADOW_TCP_FIN = 0x01,
	SHADOW_TCP_SYN = 0x02,
	SHADOW_TCP_RST = 0x04,
	SHADOW_TCP_PSH = 0x08,
	SHADOW_TCP_ACK = 0x10,
};

/** Farthest a sequence or ack number may sit from where it is expected
 * before the session gives up (RFC 7323's largest window). */
#define SHADOW_TCP_SEQ_SANE (UINT32_C(1) << 30)

/** Shared settings (one per worker or per target), passed to each call. */
struct shadow_tcp_conf {
	uint64_t rto;        /**< first retransmission timeout, caller's unit */
	uint64_t rto_max;    /**< cap on the backed-off timeout */
	/** Client segments held before the SYN-ACK; one more gives up
	 * (QUEUE_FULL). 0: any early data gives up. */
	uint16_t hold_max;
	/** Timeouts answered with RETRANSMIT; the next one without progress
	 * gives up. Any new ack from the shadow starts the count over. */
	uint8_t max_retries;
};

/**
 * Per-flow, per-target session state (48 bytes). Fields are read-only to
 * the caller; state and reason may be read directly.
 */
struct shadow_tcp {
	uint64_t rto_at;    /**< retransmission deadline (valid with timer) */
	uint32_t snd_una;   /**< oldest client seq the shadow has not acked */
	uint32_t snd_nxt;   /**< client seq after the last one forwarded */
	uint32_t hold_end;  /**< client seq after the last one held */
	uint32_t irs;       /**< shadow's ISN */
	uint32_t rcv_nxt;   /**< next shadow seq expected in order */
	uint32_t ts_recent; /**< shadow's latest TSval, echoed as TSecr */
	uint32_t c_tsval;   /**< client's latest TSval */
	uint16_t c_win;     /**< client's latest window field (raw) */
	uint16_t nheld;     /**< client segments in the caller's hold queue */
	uint8_t state;      /**< enum shadow_tcp_state */
	uint8_t reason;     /**< enum shadow_tcp_reason (when terminal) */
	uint8_t retries;    /**< timeouts since the shadow last acked */
	uint8_t flags;      /**< internal */
};

_Static_assert(sizeof(struct shadow_tcp) <= 48, "one per shadowed flow");

/** A parsed TCP segment (host order). */
struct shadow_tcp_seg {
	uint32_t seq;
	uint32_t ack;
	uint32_t tsval;  /**< valid with SHADOW_TCP_O_TS */
	uint32_t tsecr;  /**< valid with SHADOW_TCP_O_TS */
	uint16_t len;    /**< payload bytes */
	uint16_t win;    /**< window field, unscaled */
	uint8_t flags;   /**< SHADOW_TCP_FIN ... (wire flags byte) */
	uint8_t opts;    /**< SHADOW_TCP_O_* */
};

/** What the caller must do after one call. */
struct shadow_tcp_verdict {
	uint32_t acked;   /**< with ACKED: client seq acked by the shadow */
	uint32_t rtx_lo;  /**< with RETRANSMIT: first seq to resend */
	uint32_t rtx_hi;  /**< with RETRANSMIT: seq after the last */
	uint16_t act;     /**< SHADOW_TCP_A_* */
	uint16_t dlv_off; /**< with DELIVER: offset into the payload */
	uint16_t dlv_len; /**< with DELIVER: bytes */
	uint8_t reason;   /**< with END: enum shadow_tcp_reason */
};

/** Which way the template frame of a builder travelled. */
enum shadow_tcp_dir {
	SHADOW_TCP_FROM_CLIENT, /**< client->server: copied as is */
	SHADOW_TCP_FROM_SHADOW, /**< shadow->client: MACs, IPs, ports swapped */
};

/** Bytes of the pure ACK's TCP header: 20, or 32 with timestamps. */
#define SHADOW_TCP_ACK_HDR_MAX 32

/**
 * Check a configuration.
 * @return 0, or -1 when rto is 0, rto_max < rto or max_retries is 0.
 */
int shadow_tcp_conf_check(const struct shadow_tcp_conf *conf);

/** Start a session in IDLE (all zero). */
void shadow_tcp_init(struct shadow_tcp *st);

/**
 * Parse a TCP header into @p seg (options included).
 *
 * @param tcp          first byte of the TCP header
 * @param avail        bytes readable at @p tcp (at least the header)
 * @param payload_len  payload bytes (pkt_meta.payload_len)
 * @param seg          filled on success
 * @return 0, or -1 when the header is truncated or its options malformed.
 */
int shadow_tcp_seg_parse(const uint8_t *tcp, uint32_t avail,
			 uint16_t payload_len, struct shadow_tcp_seg *seg);

/**
 * A client->server segment of the flow (also each released held packet).
 *
 * Verdict: FORWARD (+KEEP for new sequence space), HOLD, or neither (drop);
 * END and RST_SHADOW when it ends the session. In a terminal state every
 * segment is dropped.
 */
void shadow_tcp_client(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		       const struct shadow_tcp_seg *seg, uint64_t now,
		       struct shadow_tcp_verdict *v);

/**
 * A shadow->client segment of the flow. The caller consumes it always.
 *
 * Verdict: DELIVER (only bytes never delivered before, in order), ACK (for
 * in-order data, a duplicate ACK for out-of-order or old data, the
 * SYN-ACK and a FIN), RELEASE (after the SYN-ACK, when segments are held),
 * ACKED, and END/RST_SHADOW when it ends the session.
 */
void shadow_tcp_shadow(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		       const struct shadow_tcp_seg *seg, uint64_t now,
		       struct shadow_tcp_verdict *v);

/**
 * Run the retransmission timer. Cheap when nothing is due.
 *
 * Verdict: RETRANSMIT (timeout: resend, next timeout doubled up to
 * rto_max), or END + RST_SHADOW once max_retries timeouts passed without
 * progress (reason HANDSHAKE_TIMEOUT before the SYN-ACK, RETRIES after).
 */
void shadow_tcp_timer(struct shadow_tcp *st, const struct shadow_tcp_conf *conf,
		      uint64_t now, struct shadow_tcp_verdict *v);

/**
 * Give up on the caller's behalf (e.g. no room for a retransmission copy).
 * No-op (empty verdict) in a terminal state.
 *
 * @param reason  counted as given; SHADOW_TCP_R_ABORTED when in doubt
 */
void shadow_tcp_abort(struct shadow_tcp *st, enum shadow_tcp_reason reason,
		      struct shadow_tcp_verdict *v);

/**
 * Rewrite a forwarded client segment's TCP header in place: ack number set
 * to rcv_nxt (once the shadow's ISN is known and the ACK flag is set),
 * every SACK option turned into NOPs, TSecr set to the shadow's latest
 * TSval (when the shadow uses timestamps). The TCP checksum is updated
 * incrementally (RFC 1624); payload and pseudo-header are not read.
 *
 * @param tcp    first byte of the TCP header
 * @param avail  bytes writable at @p tcp (at least the header)
 * @return 0, or -1 (nothing written) when the header is truncated or its
 *         options malformed: drop the segment.
 */
int shadow_tcp_rewrite(const struct shadow_tcp *st, uint8_t *tcp, uint32_t avail);

/**
 * shadow_tcp_rewrite() for a copy umbra retransmits on its own: also sets
 * TSval to the client's latest, as the client's own retransmission would
 * carry a current one (keeps the shadow's PAWS check from dropping it).
 */
int shadow_tcp_rewrite_rtx(const struct shadow_tcp *st, uint8_t *tcp,
			   uint32_t avail);

/**
 * Write the TCP header of a pure ACK to the shadow: seq = snd_nxt,
 * ack = rcv_nxt, flags ACK, window = client's latest, and NOP NOP TS
 * (TSval = client's latest, TSecr = shadow's latest) when the shadow uses
 * timestamps. The checksum field is left 0 for the caller (or offload).
 *
 * @param sport, dport  client's and server's port, host order
 * @return header bytes (20 or 32), or 0 when @p cap is too small.
 */
uint32_t shadow_tcp_ack_hdr(const struct shadow_tcp *st, uint8_t *tcp,
			    uint32_t cap, uint16_t sport, uint16_t dport);

/**
 * Build a whole pure-ACK frame to the shadow from a template frame of the
 * flow: the Ethernet header and VLAN tags (bytes before @p l3_off) are
 * copied, a fresh IPv4 (no options, DF, TTL 64) or IPv6 (no extension
 * headers, hop limit 64) header is written, then the header of
 * shadow_tcp_ack_hdr(); both checksums are complete. With
 * SHADOW_TCP_FROM_SHADOW (the usual case: the shadow segment in hand)
 * MACs, addresses and ports are swapped. The template must be an
 * unfragmented TCP segment of the flow.
 *
 * @param tmpl, tmpl_len  template frame and its length
 * @param l3_off, l4_off  offsets of its IP and TCP headers (pkt_meta)
 * @param out, cap        where the frame goes (may not overlap @p tmpl)
 * @return frame length (l3_off + IP header + 20 or 32), or 0 when the
 *         template is not IPv4/IPv6 + TCP or @p cap is too small.
 */
uint32_t shadow_tcp_build_ack(const struct shadow_tcp *st, const uint8_t *tmpl,
			      uint32_t tmpl_len, uint16_t l3_off, uint16_t l4_off,
			      enum shadow_tcp_dir dir, uint8_t *out, uint32_t cap);

/**
 * As shadow_tcp_build_ack(), a RST (with ACK = rcv_nxt once the shadow's
 * ISN is known) at seq snd_nxt, no options: for SHADOW_TCP_A_RST_SHADOW.
 */
uint32_t shadow_tcp_build_rst(const struct shadow_tcp *st, const uint8_t *tmpl,
			      uint32_t tmpl_len, uint16_t l3_off, uint16_t l4_off,
			      enum shadow_tcp_dir dir, uint8_t *out, uint32_t cap);

/** Stable snake_case name of a state ("syn_sent"); "?" if out of range. */
const char *shadow_tcp_state_name(enum shadow_tcp_state s);

/** Stable snake_case name of a reason ("queue_full"); "?" if out of range. */
const char *shadow_tcp_reason_name(enum shadow_tcp_reason r);

/** True in CLOSED, RESET and GAVE_UP. */
static inline bool
shadow_tcp_ended(const struct shadow_tcp *st)
{
	return st->state >= SHADOW_TCP_S_CLOSED;
}

/**
 * When shadow_tcp_timer() next has work.
 * @return false when no timer runs; else true and *at set.
 */
bool shadow_tcp_next_timeout(const struct shadow_tcp *st, uint64_t *at);

#endif
