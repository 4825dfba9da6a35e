/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Digests: FNV-1a 64, one byte at a time. A byte string gives the same
 * digest whether it is fed whole or in pieces split anywhere, which is what
 * the stream parsers need (a message arrives in pieces of any size).
 *
 * The state passed between calls is the FNV state xor the offset basis, so
 * that "start with 0" is the standard FNV-1a start and digesting nothing
 * leaves 0 unchanged.
 */
#include "compare.h"

#define FNV64_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

uint64_t
compare_digest(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = h ^ FNV64_BASIS;

	for (size_t i = 0; i < len; i++) {
		s ^= p[i];
		s *= FNV64_PRIME;
	}
	return s ^ FNV64_BASIS;
}

uint64_t
compare_digest_u64(uint64_t h, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return compare_digest(h, b, sizeof(b));
}
