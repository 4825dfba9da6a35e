/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark (never a test): what the delay queue of fault injection
 * (lib/fault/fault_delay.c) costs per held packet on its own, with HELD
 * packets waiting, against what a worker pays for them (tests/bench/
 * faults.py). One constant-delay FIFO holds copies of 60-byte frames (the
 * data-plane benchmark's); the queue is filled to HELD, then each step
 * pushes a burst of 32 and polls the 32 that are due, copying their bytes
 * out as the worker's release does. The clock is the packet count, so
 * every packet waits for exactly HELD others.
 *
 * Usage: delayq_rate [HELD ...]   (default: 1000 32000 126000 250000)
 * Prints one line per HELD: cycles (TSC) per packet, push + poll + copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "fault.h"

#define BURST 32
#define STEPS 200000
#define FRAME 60

static double
cycles_per_packet(uint32_t held)
{
	struct fault_delayq *q = fault_delayq_create(262144, 64, 256, 4096, 0);
	struct fault_delay_item it = { .rule_uid = 1, .port = 1 }, out[BURST];
	uint8_t frame[FRAME], copy[BURST][FRAME];
	uint64_t t = 1, n = 0, t0, t1;
	volatile uint8_t keep = 0;

	if (q == NULL || held + BURST > 262144)
		return -1;
	memset(frame, 0xab, sizeof(frame));
	for (uint32_t i = 0; i < held; i++, t++) {
		it.deadline = it.requested = t + held;
		fault_delayq_push_copy(q, &it, 0, frame, sizeof(frame));
	}
	t0 = rte_rdtsc();
	for (uint32_t s = 0; s < STEPS; s++) {
		uint32_t k;

		for (int i = 0; i < BURST; i++, t++) {
			it.deadline = it.requested = t + held;
			frame[0] = (uint8_t)t;
			fault_delayq_push_copy(q, &it, 0, frame, sizeof(frame));
		}
		k = fault_delayq_poll(q, t, out, BURST);
		for (uint32_t i = 0; i < k; i++) {
			memcpy(copy[i], out[i].pkt, out[i].len);
			keep ^= copy[i][0];
		}
		n += k;
	}
	t1 = rte_rdtsc();
	fault_delayq_free(q);
	return n ? (double)(t1 - t0) / (double)n : -1;
}

int
main(int argc, char **argv)
{
	static const uint32_t dflt[] = { 1000, 32000, 126000, 250000 };
	int n = argc > 1 ? argc - 1 : (int)(sizeof(dflt) / sizeof(dflt[0]));

	for (int i = 0; i < n; i++) {
		uint32_t held = argc > 1 ? (uint32_t)strtoul(argv[i + 1], NULL, 10) : dflt[i];
		double c = cycles_per_packet(held);

		if (c < 0) {
			fprintf(stderr, "delayq_rate: cannot hold %u\n", held);
			return 1;
		}
		printf("held %u: %.1f cycles per packet (push + poll + copy out)\n", held, c);
	}
	return 0;
}
