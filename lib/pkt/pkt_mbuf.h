/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * pkt_parse() over an mbuf of any number of segments (header-only: the
 * parser itself stays free of DPDK).
 *
 * A jumbo frame received into buffers smaller than itself arrives as a
 * chain; its IP length then exceeds the first segment, and its headers
 * may too (a 2 KB IPv6 extension chain in 2 KB buffers). Such a frame is
 * parsed from a linear copy in the caller's scratch buffer, so that its
 * metadata is right; whoever then reads or writes headers in the mbuf
 * itself checks pkt_mbuf_hdrs_linear() first.
 */
#ifndef UMBRA_PKT_MBUF_H
#define UMBRA_PKT_MBUF_H

#include <stdbool.h>

#include <rte_mbuf.h>

#include "pkt.h"

/** Bytes of a scratch buffer for pkt_parse_mbuf(): the largest IP frame. */
#define PKT_MBUF_SCRATCH (65535 + 64)

/**
 * Parse @p mb. One segment: in place. Several: from a copy of at most
 * PKT_MBUF_SCRATCH bytes in @p scratch (a longer chain is parsed as if
 * cut there, so it fails with the parser's length reason).
 * @return PKT_DROP_OK, or the reason the frame must be dropped.
 */
static inline enum pkt_drop_reason
pkt_parse_mbuf(const struct rte_mbuf *mb, uint8_t *scratch, struct pkt_meta *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(mb);
	const uint8_t *d;

	if (likely(mb->nb_segs == 1))
		return pkt_parse(rte_pktmbuf_mtod(mb, const uint8_t *),
				 rte_pktmbuf_data_len(mb), m);
	len = RTE_MIN(len, (uint32_t)PKT_MBUF_SCRATCH);
	d = rte_pktmbuf_read(mb, 0, len, scratch);
	if (d == NULL)
		return PKT_DROP_ETH_TRUNC;
	return pkt_parse(d, len, m);
}

/**
 * Whether every header @p m describes (L2 to the end of L4, i.e. up to
 * the payload) lies in the first segment of @p mb, so that it can be
 * read and rewritten through rte_pktmbuf_mtod().
 */
static inline bool
pkt_mbuf_hdrs_linear(const struct rte_mbuf *mb, const struct pkt_meta *m)
{
	return m->payload_off <= rte_pktmbuf_data_len(mb);
}

#endif
