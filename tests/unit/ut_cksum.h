/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For unit tests: an Internet checksum (RFC 1071) written independently of
 * the code under test, to check the checksums it writes.
 */
#ifndef UMBRA_UT_CKSUM_H
#define UMBRA_UT_CKSUM_H

#include <stdint.h>

/* Sum of big-endian 16-bit words, odd byte padded with zero. */
static inline uint32_t
sum_be(const uint8_t *p, uint32_t n, uint32_t acc)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

/* Carries folded in: a 16-bit one's complement sum (not complemented). */
static inline uint16_t
fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

#endif
