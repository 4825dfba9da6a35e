/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A profile's captured mismatches as pcapng (see shadow_capture.h): frames
 * are built in mbufs from the comparator's records and heads, and handed
 * to rte_pcapng, which writes one interface per DPDK port, so each packet
 * shows on the port it passed.
 */
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "shadow_capture.h"

#define CAP_POOL_SIZE 511
#define CAP_PKTS 10             /* packets of one conversation at most */
#define CAP_PAYLOAD_MAX COMPARE_HEAD_MAX

/* Made-up, locally administered MACs: the records carry no link layer. */
static const struct rte_ether_addr client_mac = {{ 0x02, 0, 0, 0, 0, 0x01 }};
static const struct rte_ether_addr server_mac = {{ 0x02, 0, 0, 0, 0, 0x02 }};

static struct rte_mempool *cap_pool;

/* One conversation being written: one side of one exchange. */
struct cap_conv {
	const struct compare_addr *a;
	uint16_t port;                  /* DPDK port: the pcapng interface */
	enum rte_pcapng_direction client_dir;
	uint32_t cli_seq, srv_seq;      /* next sequence number of each end */
	int64_t base_ns, base_us;       /* one moment as wall-clock ns and as the
					   comparator's microseconds */
	struct rte_mbuf *pkt[CAP_PKTS];
	unsigned int n;
	bool failed;
};

static void
ip_fill(const struct cap_conv *c, bool from_client, uint8_t *p, uint16_t l4_len)
{
	const uint8_t *src = from_client ? c->a->client : c->a->server;
	const uint8_t *dst = from_client ? c->a->server : c->a->client;

	if (c->a->family == 6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)p;

		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16(l4_len);
		ip->proto = c->a->l4_proto;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, src, 16);
		memcpy(ip->dst_addr, dst, 16);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + l4_len);
		ip->time_to_live = 64;
		ip->next_proto_id = c->a->l4_proto;
		memcpy(&ip->src_addr, src, 4);
		memcpy(&ip->dst_addr, dst, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
}

static uint16_t
l4_cksum(const struct cap_conv *c, const uint8_t *ip, const uint8_t *l4)
{
	if (c->a->family == 6)
		return rte_ipv6_udptcp_cksum((const struct rte_ipv6_hdr *)ip, l4);
	return rte_ipv4_udptcp_cksum((const struct rte_ipv4_hdr *)ip, l4);
}

/* The L4 header of a packet of @p c (checksum left to the caller). */
static void
l4_fill(struct cap_conv *c, bool from_client, uint8_t tcp_flags, uint8_t *p,
	uint16_t len)
{
	uint16_t sport = from_client ? c->a->client_port : c->a->server_port;
	uint16_t dport = from_client ? c->a->server_port : c->a->client_port;

	if (c->a->l4_proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)p;

		t->src_port = rte_cpu_to_be_16(sport);
		t->dst_port = rte_cpu_to_be_16(dport);
		t->sent_seq = rte_cpu_to_be_32(from_client ? c->cli_seq : c->srv_seq);
		t->recv_ack = rte_cpu_to_be_32((tcp_flags & RTE_TCP_ACK_FLAG) ?
					       (from_client ? c->srv_seq : c->cli_seq) : 0);
		t->data_off = sizeof(*t) << 2;
		t->tcp_flags = tcp_flags;
		t->rx_win = rte_cpu_to_be_16(65535);
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)p;

		u->src_port = rte_cpu_to_be_16(sport);
		u->dst_port = rte_cpu_to_be_16(dport);
		u->dgram_len = rte_cpu_to_be_16(sizeof(*u) + len);
	}
}

/*
 * The time of a packet rte_pcapng_copy() formatted: DPDK 22.11 counts
 * TSC from its own first use on, so an exchange from before it would
 * wrap. The Enhanced Packet Block's timestamp (high and low 32 bits at
 * bytes 12 and 16, per the pcapng format, in the interfaces' nanoseconds)
 * is written here instead.
 */
static void
epb_time(struct rte_mbuf *epb, int64_t ns)
{
	uint32_t *w = rte_pktmbuf_mtod(epb, uint32_t *);

	if (ns < 0)
		ns = 0;
	w[3] = (uint32_t)((uint64_t)ns >> 32);
	w[4] = (uint32_t)ns;
}

/* The frame at @p p: Ethernet, IP (@p l3 bytes), TCP or UDP (@p l4), payload. */
static void
frame_fill(struct cap_conv *c, bool from_client, uint8_t tcp_flags, const uint8_t *data,
	   uint16_t len, uint8_t *p, uint16_t l3, uint16_t l4)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	uint8_t *ip = p + sizeof(*eth), *l4h = ip + l3;
	uint16_t ck;

	memset(p, 0, sizeof(*eth) + l3 + l4);
	rte_ether_addr_copy(from_client ? &client_mac : &server_mac, &eth->src_addr);
	rte_ether_addr_copy(from_client ? &server_mac : &client_mac, &eth->dst_addr);
	eth->ether_type = rte_cpu_to_be_16(c->a->family == 6 ? RTE_ETHER_TYPE_IPV6 :
					   RTE_ETHER_TYPE_IPV4);
	ip_fill(c, from_client, ip, l4 + len);
	l4_fill(c, from_client, tcp_flags, l4h, len);
	if (len > 0)
		memcpy(l4h + l4, data, len);
	ck = l4_cksum(c, ip, l4h);
	if (c->a->l4_proto == IPPROTO_TCP)
		((struct rte_tcp_hdr *)l4h)->cksum = ck;
	else
		((struct rte_udp_hdr *)l4h)->dgram_cksum = ck;
}

/* One packet of @p c at @p t_us: from the client or the server. */
static void
cap_packet(struct cap_conv *c, bool from_client, uint8_t tcp_flags,
	   const uint8_t *data, uint16_t len, uint64_t t_us)
{
	bool tcp = c->a->l4_proto == IPPROTO_TCP;
	uint16_t l3 = c->a->family == 6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
	uint16_t l4 = tcp ? sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr);
	enum rte_pcapng_direction dir = c->client_dir;
	struct rte_mbuf *m, *copy;
	uint8_t *p;

	if (c->failed || c->n == CAP_PKTS)
		return;
	m = rte_pktmbuf_alloc(cap_pool);
	p = m ? (uint8_t *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + l3 + l4 + len) : NULL;
	if (p == NULL) {
		rte_pktmbuf_free(m);
		c->failed = true;
		return;
	}
	frame_fill(c, from_client, tcp_flags, data, len, p, l3, l4);
	if (!from_client)
		dir = dir == RTE_PCAPNG_DIRECTION_IN ? RTE_PCAPNG_DIRECTION_OUT :
						       RTE_PCAPNG_DIRECTION_IN;
	copy = rte_pcapng_copy(c->port, 0, m, cap_pool, UINT32_MAX, rte_rdtsc(), dir);
	rte_pktmbuf_free(m);
	if (copy == NULL) {
		c->failed = true;
		return;
	}
	epb_time(copy, c->base_ns - (c->base_us - (int64_t)t_us) * 1000);
	c->pkt[c->n++] = copy;
	/* SYN and FIN take a sequence number each. */
	if (from_client)
		c->cli_seq += len + ((tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) != 0);
	else
		c->srv_seq += len + ((tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) != 0);
}

#define F_ACK RTE_TCP_ACK_FLAG
#define F_PSH RTE_TCP_PSH_FLAG

/*
 * One side's conversation: the request at @p t0_us, the answer its
 * latency later. TCP: a whole connection, so that the next one on the
 * same addresses (the other side's) is a new stream; a side that reset
 * ends with the server's RST, one that never answered with the client's.
 */
static void
cap_conversation(struct cap_conv *c, const struct compare_capture *x, unsigned int s,
		 uint64_t t0_us)
{
	const struct compare_record *r = &x->side[s];
	bool answered = !(r->flags & COMPARE_F_NO_ANSWER);
	uint64_t t1_us = t0_us + r->latency_us;
	uint16_t req_len = x->request_len, ans_len = x->answer_len[s];

	if (c->a->l4_proto != IPPROTO_TCP) {
		cap_packet(c, true, 0, x->request, req_len, t0_us);
		if (answered && ans_len > 0)
			cap_packet(c, false, 0, x->answer[s], ans_len, t1_us);
		return;
	}
	cap_packet(c, true, RTE_TCP_SYN_FLAG, NULL, 0, t0_us);
	cap_packet(c, false, RTE_TCP_SYN_FLAG | F_ACK, NULL, 0, t0_us);
	cap_packet(c, true, F_ACK, NULL, 0, t0_us);
	cap_packet(c, true, F_PSH | F_ACK, x->request, req_len, t0_us);
	if (answered && ans_len > 0)
		cap_packet(c, false, F_PSH | F_ACK, x->answer[s], ans_len, t1_us);
	if (r->flags & COMPARE_F_RESET) {
		cap_packet(c, false, RTE_TCP_RST_FLAG | F_ACK, NULL, 0, t1_us);
	} else if (!answered) {
		cap_packet(c, true, RTE_TCP_RST_FLAG | F_ACK, NULL, 0, t1_us);
	} else {
		cap_packet(c, false, RTE_TCP_FIN_FLAG | F_ACK, NULL, 0, t1_us);
		cap_packet(c, true, RTE_TCP_FIN_FLAG | F_ACK, NULL, 0, t1_us);
		cap_packet(c, false, F_ACK, NULL, 0, t1_us);
	}
}

/* @p port when it is a DPDK port, else the first one (UINT16_MAX: none). */
static uint16_t
port_or_first(uint16_t port)
{
	uint16_t p;

	if (rte_eth_dev_is_valid_port(port))
		return port;
	RTE_ETH_FOREACH_DEV(p)
		return p;
	return UINT16_MAX;
}

/* When the exchange's request left: its first record came after the
 * earliest answer. */
static uint64_t
request_time(const struct compare_capture *x)
{
	uint32_t lat = UINT32_MAX;

	for (unsigned int s = 0; s < 2; s++)
		if (!(x->side[s].flags & COMPARE_F_NO_ANSWER) && x->side[s].latency_us < lat)
			lat = x->side[s].latency_us;
	return lat == UINT32_MAX || lat > x->at_us ? x->at_us : x->at_us - lat;
}

/* Exchange @p x: production's conversation, then the shadow's. */
static int
cap_exchange(rte_pcapng_t *w, const struct compare_capture *x, int64_t base_ns,
	     int64_t base_us)
{
	/* Distinct initial sequence numbers: a new SYN on the same addresses
	 * is a new conversation. */
	uint32_t isn = (uint32_t)(x->flow_id * 2654435761u + x->exchange * 40503u);
	uint64_t t0 = request_time(x);
	int pkts = 0;

	for (unsigned int s = 0; s < 2; s++) {
		struct cap_conv c = {
			.a = &x->addr, .base_ns = base_ns, .base_us = base_us,
			.port = port_or_first(s == 0 ? x->addr.in_port : x->addr.target_port[0]),
			/* production's request comes in, the shadow's copy goes out */
			.client_dir = s == 0 ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT,
			.cli_seq = isn + s * 0x40000000u, .srv_seq = ~isn + s * 0x40000000u,
		};

		if (c.port == UINT16_MAX)
			return -1;
		cap_conversation(&c, x, s, t0);
		if (c.failed) {
			rte_pktmbuf_free_bulk(c.pkt, c.n);
			return -1;
		}
		if (c.n > 0 && rte_pcapng_write_packets(w, c.pkt, (uint16_t)c.n) < 0)
			return -1;
		pkts += (int)c.n;
	}
	return pkts;
}

static int
pool_get(void)
{
	if (cap_pool == NULL)
		cap_pool = rte_pktmbuf_pool_create("umbra_capture", CAP_POOL_SIZE, 0, 0,
						   rte_pcapng_mbuf_size(RTE_ETHER_HDR_LEN + 60 +
									CAP_PAYLOAD_MAX),
						   SOCKET_ID_ANY);
	return cap_pool == NULL ? -1 : 0;
}

int
shadow_capture_write(const struct compare_ctx *cmp, unsigned int profile,
		     uint64_t tsc_hz, int fd, char *err, size_t errlen)
{
	struct compare_capture x;
	struct timespec now;
	int64_t base_ns, base_us;
	rte_pcapng_t *w;
	int out, n, total = 0;

	if (pool_get() < 0) {
		snprintf(err, errlen, "no memory for the capture's buffers: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	/* rte_pcapng_close() closes what it writes to: a copy of @p fd. */
	out = dup(fd);
	w = out < 0 ? NULL : rte_pcapng_fdopen(out, "Linux", NULL, "umbra",
					       "umbra shadow capture: mismatched exchanges");
	if (w == NULL) {
		if (out >= 0)
			close(out);
		snprintf(err, errlen, "cannot start the pcapng file: %s", rte_strerror(rte_errno));
		return -1;
	}
	/* The comparator's clock: TSC in microseconds (shadow_ctl_poll()). */
	base_us = (int64_t)(rte_rdtsc() / (tsc_hz / 1000000));
	clock_gettime(CLOCK_REALTIME, &now);
	base_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	for (uint32_t i = 0; compare_capture_get(cmp, profile, i, &x) == 0; i++) {
		n = cap_exchange(w, &x, base_ns, base_us);
		if (n < 0) {
			rte_pcapng_close(w);
			snprintf(err, errlen, "cannot write the capture (exchange %u)", i);
			return -1;
		}
		total += n;
	}
	rte_pcapng_close(w);
	return total;
}
