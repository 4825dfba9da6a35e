/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For unit tests that build frames byte by byte: a bounded buffer and
 * big-endian writers (cmocka asserts that nothing is written past it).
 * Include after cmocka.h.
 */
#ifndef UMBRA_UT_FRAME_H
#define UMBRA_UT_FRAME_H

#include <stdint.h>
#include <string.h>

#ifndef UT_FRAME_MAX
#define UT_FRAME_MAX 512
#endif

/** A frame under construction. */
struct frame {
	uint8_t b[UT_FRAME_MAX];
	uint32_t len;
};

static inline void
put(struct frame *f, const void *p, uint32_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static inline void
put8(struct frame *f, uint8_t v)
{
	put(f, &v, 1);
}

static inline void
put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(f, b, 2);
}

static inline void
put32(struct frame *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
			 (uint8_t)v };

	put(f, b, 4);
}

/** @p n bytes of @p byte. */
static inline void
putn(struct frame *f, uint8_t byte, uint32_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memset(f->b + f->len, byte, n);
	f->len += n;
}

#endif
