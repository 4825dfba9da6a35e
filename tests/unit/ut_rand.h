/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seeded randomness for simulations in unit tests (splitmix64), written
 * here independently of the code under test so a test never shares a bug
 * with it.
 */
#ifndef UT_RAND_H
#define UT_RAND_H

#include <stdint.h>

/** The next 64 random bits of the sequence @p s. */
static inline uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/** Uniform in [0, 1). */
static inline double
uniform(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

#endif
