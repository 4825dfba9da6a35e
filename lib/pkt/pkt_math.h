/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Small arithmetic every packet-handling library shares, in its lowest
 * one so there is one home: TCP sequence comparisons (serial-number
 * arithmetic, RFC 1982), the one's-complement checksum fold (RFC 1071) and
 * the splitmix64 finaliser. Header only; no EAL.
 */
#ifndef UMBRA_PKT_MATH_H
#define UMBRA_PKT_MATH_H

#include <stdbool.h>
#include <stdint.h>

/** @return true when sequence number @p a is before @p b (modulo 2^32). */
static inline bool
pkt_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/** @return true when sequence number @p a is at or before @p b. */
static inline bool
pkt_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/**
 * Fold a 32-bit one's-complement sum to 16 bits (not complemented: the
 * caller complements a checksum it stores).
 */
static inline uint16_t
pkt_cksum_fold(uint32_t sum)
{
	sum = (sum >> 16) + (sum & 0xffff);
	sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/**
 * splitmix64's finaliser: every input bit reaches every output bit (the
 * generator's output step, and a mixer for sums of digests).
 */
static inline uint64_t
pkt_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
