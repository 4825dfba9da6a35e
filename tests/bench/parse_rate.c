/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark (never a test): the worker's parse and lookup stages on their
 * own, with everything in cache. A burst of 32 60-byte UDP frames of 32
 * known flows goes through pkt_parse(), flow_key_from_meta() and one
 * flow_table_lookup_bulk(), as dp_rx_burst() does after RX; nothing else
 * runs. The best of REPS repetitions is kept, so cache misses and the
 * host's other tenants drop out: what is left is the instructions and the
 * stalls between them (store forwarding, dependency chains). On a shared
 * VM whole replay runs of the same binary spread by a tenth and more,
 * where this settles a few cycles; compare builds by running each one's
 * binary in turn, several times.
 *
 * Usage: parse_rate   (pinned by EAL to CPU 1, no huge pages needed)
 * Prints cycles (TSC) per packet: parse + key, and parse + key + lookup.
 */
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>

#include "flow.h"
#include "pkt.h"

#define BURST 32
#define FRAME 60
#define REPS 20000
#define BURSTS_PER_REP 16

/* Client 10.0.0.i:40000+i to server 10.100.0.1:8080, UDP, 18 bytes of payload. */
static void
frame_fill(uint8_t *f, uint16_t i)
{
	static const uint8_t head[] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0,
		10, 0, 0, 0, 10, 100, 0, 1,
		0, 0, 0x1f, 0x90, 0, 26, 0, 0,
	};

	memset(f, 0, FRAME);
	memcpy(f, head, sizeof(head));
	f[29] = (uint8_t)i;
	f[34] = (uint8_t)((40000 + i) >> 8);
	f[35] = (uint8_t)(40000 + i);
}

static uint8_t frames[BURST][FRAME];
static struct pkt_meta meta[BURST];
static struct flow_key keys[BURST];
static const struct flow_key *key_ptr[BURST];
static int32_t pos[BURST];

static void
parse_burst(void)
{
	for (int i = 0; i < BURST; i++) {
		pkt_parse(frames[i], FRAME, &meta[i]);
		flow_key_from_meta(&meta[i], &keys[i]);
	}
}

/* Best cycles per packet over REPS repetitions of BURSTS_PER_REP bursts. */
static double
best_cycles(struct flow_table *ft)
{
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < REPS; r++) {
		uint64_t t0 = rte_rdtsc(), t;

		for (int b = 0; b < BURSTS_PER_REP; b++) {
			parse_burst();
			if (ft != NULL)
				flow_table_lookup_bulk(ft, key_ptr, BURST, pos);
		}
		t = rte_rdtsc() - t0;
		best = t < best ? t : best;
	}
	return (double)best / (BURSTS_PER_REP * BURST);
}

int
main(void)
{
	char *args[] = { "parse_rate", "--no-huge", "-m", "256", "--no-pci",
			 "--no-shconf", "--file-prefix", "parse_rate", "-l", "1",
			 "--log-level", "lib.eal:error" };
	struct flow_table *ft;

	if (rte_eal_init((int)RTE_DIM(args), args) < 0)
		return 1;
	ft = flow_table_create("parse_rate", 4096, 0);
	if (ft == NULL)
		return 1;
	for (uint16_t i = 0; i < BURST; i++) {
		frame_fill(frames[i], i);
		key_ptr[i] = &keys[i];
	}
	for (int i = 0; i < BURST; i++) {
		if (pkt_parse(frames[i], FRAME, &meta[i]) != PKT_DROP_OK) {
			printf("frame %d does not parse\n", i);
			return 1;
		}
		flow_key_from_meta(&meta[i], &keys[i]);
		if (flow_table_add(ft, &keys[i], 0, 0) < 0)
			return 1;
	}
	printf("parse + key: %.1f cycles/pkt\n", best_cycles(NULL));
	printf("parse + key + lookup: %.1f cycles/pkt\n", best_cycles(ft));
	for (int i = 0; i < BURST; i++)
		if (pos[i] < 0) {
			printf("flow %d not found: the frames do not parse as built\n", i);
			return 1;
		}
	flow_table_free(ft);
	rte_eal_cleanup();
	return 0;
}
