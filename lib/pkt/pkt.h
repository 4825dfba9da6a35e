/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Packet parsing: raw frame bytes to compact per-packet metadata.
 *
 * The parser reads bytes only (no rte_mbuf, no EAL), so it runs the same in
 * a worker, in a unit test and under a fuzzer. It never reads past @p len.
 * A frame it cannot trust is given a named drop reason; the caller drops and
 * counts it.
 */
#ifndef UMBRA_PKT_H
#define UMBRA_PKT_H

#include <stddef.h>
#include <stdint.h>

/** Longest IPv6 extension-header chain the parser walks before giving up. */
#define PKT_IPV6_MAX_EXT 8

/** Why a frame was dropped; PKT_OK means it parsed. Keep names stable. */
#define PKT_DROP_REASONS(X) \
	X(OK, "ok") \
	X(ETH_TRUNC, "eth_trunc") \
	X(VLAN_TRUNC, "vlan_trunc") \
	X(VLAN_TOO_DEEP, "vlan_too_deep") \
	X(ARP_TRUNC, "arp_trunc") \
	X(ARP_BAD_FORMAT, "arp_bad_format") \
	X(IPV4_TRUNC, "ipv4_trunc") \
	X(IPV4_BAD_VERSION, "ipv4_bad_version") \
	X(IPV4_BAD_IHL, "ipv4_bad_ihl") \
	X(IPV4_BAD_TOTLEN, "ipv4_bad_totlen") \
	X(IPV4_BAD_OPTIONS, "ipv4_bad_options") \
	X(IPV6_TRUNC, "ipv6_trunc") \
	X(IPV6_BAD_VERSION, "ipv6_bad_version") \
	X(IPV6_BAD_PLEN, "ipv6_bad_plen") \
	X(IPV6_EXT_TRUNC, "ipv6_ext_trunc") \
	X(IPV6_EXT_TOO_MANY, "ipv6_ext_too_many") \
	X(TCP_TRUNC, "tcp_trunc") \
	X(TCP_BAD_OFFSET, "tcp_bad_offset") \
	X(TCP_BAD_OPTIONS, "tcp_bad_options") \
	X(UDP_TRUNC, "udp_trunc") \
	X(UDP_BAD_LEN, "udp_bad_len") \
	X(ICMP_TRUNC, "icmp_trunc") \
	X(ICMP6_TRUNC, "icmp6_trunc") \
	X(NON_IP, "non_ip")

enum pkt_drop_reason {
#define PKT_DROP_ENUM(id, name) PKT_DROP_##id,
	PKT_DROP_REASONS(PKT_DROP_ENUM)
#undef PKT_DROP_ENUM
	PKT_DROP_MAX
};

/** Layer-3 kind found by the parser. */
enum pkt_l3 {
	PKT_L3_NONE = 0,
	PKT_L3_ARP,
	PKT_L3_IPV4,
	PKT_L3_IPV6,
};

/** Bits of pkt_meta.flags. */
enum {
	PKT_F_FRAG = 1 << 0,       /**< IPv4/IPv6 fragment (any). */
	PKT_F_FRAG_LATER = 1 << 1, /**< Non-first fragment: no L4 header, L3 only. */
	PKT_F_L4 = 1 << 2,         /**< ports/ICMP type are valid. */
	PKT_F_ND = 1 << 3,         /**< ICMPv6 neighbour solicitation/advert. */
	PKT_F_IPV4_OPTS = 1 << 4,  /**< IPv4 header carries options. */
};

/** TCP flag bits as on the wire. */
enum {
	PKT_TCP_FIN = 0x01,
	PKT_TCP_SYN = 0x02,
	PKT_TCP_RST = 0x04,
	PKT_TCP_PSH = 0x08,
	PKT_TCP_ACK = 0x10,
};

#define PKT_ARP_OP_REQUEST 1
#define PKT_ARP_OP_REPLY 2
#define PKT_ICMP6_ND_NS 135
#define PKT_ICMP6_ND_NA 136

/**
 * Parsed view of one frame. Offsets are from the start of the frame.
 * Addresses are kept in network byte order; IPv4 addresses sit in the
 * first four bytes of the 16-byte fields, the rest zero.
 */
struct pkt_meta {
	uint16_t l3_off;      /**< Offset of the L3 header (after VLAN tags). */
	uint16_t l4_off;      /**< Offset of the L4 header (valid with PKT_F_L4). */
	uint16_t payload_off; /**< Offset of the L4 payload. */
	uint16_t payload_len; /**< L4 payload bytes (bounded by IP length). */
	uint16_t ethertype;   /**< Innermost ethertype, host order. */
	uint16_t vlan_tci[2]; /**< Outer, inner tag TCI in host order. */
	uint8_t n_vlan;       /**< Number of 802.1Q/802.1ad tags (0-2). */
	uint8_t l3;           /**< enum pkt_l3 */
	uint8_t l4_proto;     /**< IP protocol number (TCP 6, UDP 17, ...). */
	uint8_t flags;        /**< PKT_F_* */
	uint8_t tcp_flags;    /**< PKT_TCP_* (TCP only). */
	uint8_t icmp_type;    /**< ICMP/ICMPv6 type. */
	uint16_t ip_len;      /**< Bytes of the IP packet per its header. */
	uint16_t sport;       /**< Host order; ICMP: 0. */
	uint16_t dport;       /**< Host order; ICMP: 0. */
	uint16_t arp_op;      /**< ARP opcode (host order). */
	uint32_t tcp_seq;     /**< Host order. */
	uint32_t tcp_ack;     /**< Host order. */
	uint16_t tcp_win;     /**< Host order, unscaled. */
	/* src and dst must stay adjacent: the parser writes them as one. */
	uint8_t src[16];      /**< IP source (ARP: sender IP). */
	/** IP destination; for ARP and ND (PKT_F_ND) the target address, so
	 * that address resolution is classified like the traffic it serves. */
	uint8_t dst[16];
};

_Static_assert(offsetof(struct pkt_meta, dst) == offsetof(struct pkt_meta, src) + 16,
	       "src and dst are written as one 32-byte block");

/**
 * Parse one Ethernet frame.
 *
 * @param data  first byte of the frame
 * @param len   bytes available at @p data
 * @param m     filled on return (partially on error)
 * @return PKT_DROP_OK, or the reason the frame must be dropped.
 */
enum pkt_drop_reason pkt_parse(const uint8_t *data, uint32_t len,
			       struct pkt_meta *m);

/** Stable snake_case name of a drop reason ("ipv4_bad_ihl"). */
const char *pkt_drop_reason_name(enum pkt_drop_reason r);

/** Big-endian 16-bit value at any alignment. */
static inline uint16_t
pkt_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/** Big-endian 32-bit value at any alignment. */
static inline uint32_t
pkt_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/** Store @p v big-endian at any alignment. */
static inline void
pkt_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/** Store @p v big-endian at any alignment. */
static inline void
pkt_put_be32(uint8_t *p, uint32_t v)
{
	pkt_put_be16(p, (uint16_t)(v >> 16));
	pkt_put_be16(p + 2, (uint16_t)v);
}

/** 4 for IPv4, 6 for IPv6, 0 otherwise (ARP counts as IPv4). */
static inline int
pkt_ip_family(const struct pkt_meta *m)
{
	return m->l3 == PKT_L3_IPV6 ? 6 : (m->l3 == PKT_L3_NONE ? 0 : 4);
}

#endif
