/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Evidence as pcapng: a shadow profile's captured mismatches (lib/compare
 * keeps them, bounded) written with DPDK's rte_pcapng, so that Wireshark
 * or tshark opens them. Management core only (allocates a small mempool
 * at first use).
 *
 * Each exchange becomes two short conversations with the flow's real
 * addresses and ports: production's (the client's request and
 * production's answer, on the port the client's packets came in on) and
 * then the shadow's (the request as copied and the shadow's answer, on the
 * shadow port). The shadow network reuses production's addresses, so each
 * TCP conversation is written whole (handshake, request, answer, close)
 * before the next: Wireshark tells them apart as separate TCP streams.
 * Within one, the answer follows the request by its measured latency.
 * Payloads are the first bytes kept as evidence (COMPARE_HEAD_MAX).
 */
#ifndef UMBRA_SHADOW_CAPTURE_H
#define UMBRA_SHADOW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "compare.h"

/**
 * Write profile @p profile's capture in @p cmp as pcapng to @p fd (left
 * open). Times: the comparator's microseconds are TSC-based
 * (shadow_ctl_poll()), @p tsc_hz converts them.
 * @return packets written, or -1 with @p err.
 */
int shadow_capture_write(const struct compare_ctx *cmp, unsigned int profile,
			 uint64_t tsc_hz, int fd, char *err, size_t errlen);

#endif
