/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the packet parser never reads out of bounds (ASan),
 * never hits undefined behaviour (UBSan), always names its verdict, gives
 * the same answer twice, and what it reports for a frame it accepts is
 * consistent and stays inside that frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int
zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void
check_ok(const struct pkt_meta *m, uint32_t len)
{
	uint32_t ip_end = len, min_hl = 0;

	/* Offsets are 16-bit: the parser looks at no more than 64 KiB. */
	if (len > UINT16_MAX)
		len = UINT16_MAX;
	CHECK(m->n_vlan <= 2);
	CHECK(m->l3_off == 14u + 4u * m->n_vlan);
	CHECK(m->l3_off <= len);
	CHECK(m->tcp_flags <= 0x3f);
	CHECK(!(m->flags & PKT_F_FRAG_LATER) || (m->flags & PKT_F_FRAG));
	CHECK(!((m->flags & PKT_F_FRAG_LATER) && (m->flags & PKT_F_L4)));

	switch (m->l3) {
	case PKT_L3_ARP:
		CHECK(m->ethertype == 0x0806);
		CHECK(m->l3_off + 28u <= len);
		CHECK(m->flags == 0 && m->l4_proto == 0 && m->ip_len == 0);
		CHECK(zero(m->src + 4, 12) && zero(m->dst + 4, 12));
		return;
	case PKT_L3_IPV4:
		CHECK(m->ethertype == 0x0800);
		min_hl = (m->flags & PKT_F_IPV4_OPTS) ? 24 : 20;
		CHECK(!(m->flags & PKT_F_ND));
		CHECK(zero(m->src + 4, 12) && zero(m->dst + 4, 12));
		break;
	case PKT_L3_IPV6:
		CHECK(m->ethertype == 0x86dd);
		min_hl = 40;
		CHECK(!(m->flags & PKT_F_IPV4_OPTS));
		break;
	default:
		CHECK(0); /* accepted frames are ARP or IP */
	}
	CHECK(m->ip_len >= min_hl);
	ip_end = (uint32_t)m->l3_off + m->ip_len;
	CHECK(ip_end <= len);
	CHECK(m->payload_off >= m->l3_off + min_hl);
	CHECK((uint32_t)m->payload_off + m->payload_len <= ip_end);

	if (m->flags & PKT_F_ND)
		CHECK(m->l3 == PKT_L3_IPV6 && m->l4_proto == 58 && (m->flags & PKT_F_L4) &&
		      (m->icmp_type == PKT_ICMP6_ND_NS || m->icmp_type == PKT_ICMP6_ND_NA));
	if (!(m->flags & PKT_F_L4)) {
		CHECK(m->sport == 0 && m->dport == 0 && m->tcp_flags == 0);
		return;
	}
	CHECK(m->l4_off >= m->l3_off + min_hl);
	CHECK(m->l4_off <= m->payload_off);
	switch (m->l4_proto) {
	case 6:
		CHECK(m->payload_off - m->l4_off >= 20 && m->payload_off - m->l4_off <= 60);
		CHECK((m->payload_off - m->l4_off) % 4 == 0);
		break;
	case 17:
		CHECK(m->payload_off - m->l4_off == 8);
		break;
	case 1:
		CHECK(m->l3 == PKT_L3_IPV4 && m->payload_off - m->l4_off == 4);
		break;
	case 58:
		CHECK(m->l3 == PKT_L3_IPV6 && m->payload_off - m->l4_off == 4);
		break;
	default:
		CHECK(0); /* PKT_F_L4 only for TCP, UDP, ICMP, ICMPv6 */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_meta m, again;
	enum pkt_drop_reason r, r2;
	const char *name;
	uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;

	r = pkt_parse(data, len, &m);
	CHECK((unsigned int)r < PKT_DROP_MAX);
	name = pkt_drop_reason_name(r);
	CHECK(name != NULL && name[0] != '\0' && strcmp(name, "unknown") != 0);

	/* Same bytes, same answer, same metadata (nothing read uninitialised). */
	memset(&again, 0xa5, sizeof(again));
	r2 = pkt_parse(data, len, &again);
	CHECK(r2 == r);
	CHECK(memcmp(&m, &again, sizeof(m)) == 0);

	if (r == PKT_DROP_OK)
		check_ok(&m, len);
	return 0;
}
