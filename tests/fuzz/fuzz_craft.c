/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: packets made or changed by faults. For every frame the
 * parser accepts, the RST (both ways), ICMP unreachable (a few codes) and
 * DNS SERVFAIL builders stay inside the bytes they are given and the
 * capacity they are allowed (buffers are sized exactly, so ASan sees any
 * overrun), and whatever they make parses again as what it claims to be.
 * Corruption flips bits only inside the L4 segment, and a fixed checksum
 * validates whenever the frame's checksum validated before.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define CAP 2048
#define SEED 0x5eedf00dull

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What a builder made: parses, within cap, of the kind it should be. */
static void
check_answer(const uint8_t *out, size_t n, size_t cap, uint8_t proto,
	     const struct pkt_meta *in)
{
	struct pkt_meta m;

	if (n == 0)
		return;
	CHECK(n <= cap);
	CHECK(pkt_parse(out, (uint32_t)n, &m) == PKT_DROP_OK);
	CHECK(m.l3 == in->l3 && m.n_vlan == in->n_vlan);
	CHECK(m.l4_proto == proto && (m.flags & PKT_F_L4));
	CHECK((size_t)m.l3_off + m.ip_len == n);
}

/* Run one builder into a buffer of exactly @p cap bytes. */
#define CRAFT(cap, proto, call) do {                                    \
		uint8_t *out = malloc((cap) ? (cap) : 1);               \
		size_t n_;                                              \
		CHECK(out != NULL);                                     \
		n_ = (call);                                            \
		check_answer(out, n_, (cap), (proto), m);               \
		free(out);                                              \
	} while (0)

static void
craft_all(const uint8_t *d, size_t size, const struct pkt_meta *m, size_t cap)
{
	static const uint8_t codes[] = { 0, 1, 3, 13, 255 };
	uint8_t v6 = m->l3 == PKT_L3_IPV6;

	CRAFT(cap, 6, fault_craft_tcp_rst(d, size, m, true, out, cap));
	CRAFT(cap, 6, fault_craft_tcp_rst(d, size, m, false, out, cap));
	for (size_t i = 0; i < sizeof(codes); i++)
		CRAFT(cap, v6 ? 58 : 1,
		      fault_craft_icmp_unreach(d, size, m, codes[i], out, cap));
	CRAFT(cap, 17, fault_craft_dns_servfail(d, size, m, out, cap));
}

/* One's complement sum of big-endian words. */
static uint32_t
sum_be(const uint8_t *p, uint32_t n, uint32_t acc)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		acc += get16(p + i);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

/* The L4 checksum of a complete (unfragmented) packet validates. */
static bool
l4_valid(const uint8_t *f, const struct pkt_meta *m)
{
	const uint8_t *l4 = f + m->l4_off;
	uint32_t seg = (uint32_t)m->l3_off + m->ip_len - m->l4_off;
	uint32_t l4_len = seg, acc = 0;
	bool v6 = m->l3 == PKT_L3_IPV6;

	if (m->l4_proto == 17) {
		uint32_t ulen = get16(l4 + 4);

		if (ulen >= 8 && ulen <= seg)
			l4_len = ulen;
		if (!v6 && get16(l4 + 6) == 0)
			return false;
	}
	if (!(!v6 && m->l4_proto == 1))
		acc = sum_be(f + m->l3_off + (v6 ? 8 : 12), v6 ? 32 : 8, 0) +
		      m->l4_proto + l4_len;
	acc = sum_be(l4, l4_len, acc);
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return acc == 0xffff;
}

static void
corrupt_one(const uint8_t *d, size_t size, const struct pkt_meta *m,
	    unsigned int bits, bool fix)
{
	uint8_t *c = malloc(size ? size : 1);
	size_t seg_start = m->l4_off, seg_end;
	struct fault_rng r;
	unsigned int n;
	bool fresh;

	CHECK(c != NULL);
	memcpy(c, d, size);
	fault_rng_seed(&r, SEED);
	n = fault_corrupt(c, size, m, bits, fix, &r);
	if (!(m->flags & PKT_F_L4)) {
		CHECK(n == 0);
		CHECK(memcmp(c, d, size) == 0);
		free(c);
		return;
	}
	CHECK(n == bits);
	seg_end = (size_t)m->l3_off + m->ip_len;
	CHECK(seg_end <= size);
	/* nothing outside the segment moves */
	CHECK(memcmp(c, d, seg_start) == 0);
	CHECK(memcmp(c + seg_end, d + seg_end, size - seg_end) == 0);
	/*
	 * Without extension headers the checksum is computed afresh; behind
	 * them it is adjusted, so it validates when it did before. A
	 * fragment's covers bytes this frame does not have.
	 */
	fresh = m->l3 == PKT_L3_IPV4 || m->l4_off == m->l3_off + 40;
	if (fix && !(m->flags & PKT_F_FRAG) && (fresh || l4_valid(d, m)))
		CHECK(l4_valid(c, m));
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_meta m;
	uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	unsigned int bits;

	if (pkt_parse(data, len, &m) != PKT_DROP_OK)
		return 0;
	craft_all(data, size, &m, CAP);
	/* a capacity that cuts most answers short */
	craft_all(data, size, &m, size ? data[size - 1] : 0);

	bits = size ? 1 + data[0] % 16 : 1;
	corrupt_one(data, size, &m, bits, false);
	corrupt_one(data, size, &m, bits, true);
	return 0;
}
