/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a shadow copy costs by frame size: a deep copy (rte_pktmbuf_copy)
 * against the headers copied into a fresh mbuf with the payload attached
 * as an indirect clone (what lib/shadow does above SHADOW_COPY_MAX).
 * Each way, per size: alloc, copy, write one header byte (the rewrite a
 * copy gets), free. Prints cycles per copy and the size where the clone
 * starts to win. A benchmark program, not a test.
 */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#define HDR_LEN 54              /* Ethernet + IPv4 + TCP, no options */
#define ROUNDS 200000

static struct rte_mbuf *
frame_of(struct rte_mempool *pool, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d = m ? rte_pktmbuf_append(m, len) : NULL;

	if (d != NULL)
		memset(d, 0xab, len);
	return m;
}

static double
cycles_deep(struct rte_mempool *pool, struct rte_mbuf *src)
{
	uint64_t t0 = rte_rdtsc();

	for (int i = 0; i < ROUNDS; i++) {
		struct rte_mbuf *c = rte_pktmbuf_copy(src, pool, 0, UINT32_MAX);

		rte_pktmbuf_mtod(c, uint8_t *)[0] ^= 1;
		rte_pktmbuf_free(c);
	}
	return (double)(rte_rdtsc() - t0) / ROUNDS;
}

static double
cycles_clone(struct rte_mempool *pool, struct rte_mbuf *src)
{
	uint64_t t0 = rte_rdtsc();

	for (int i = 0; i < ROUNDS; i++) {
		struct rte_mbuf *h = rte_pktmbuf_alloc(pool);
		struct rte_mbuf *body = rte_pktmbuf_clone(src, pool);

		memcpy(rte_pktmbuf_append(h, HDR_LEN), rte_pktmbuf_mtod(src, void *), HDR_LEN);
		rte_pktmbuf_adj(body, HDR_LEN);
		rte_pktmbuf_chain(h, body);
		rte_pktmbuf_mtod(h, uint8_t *)[0] ^= 1;
		rte_pktmbuf_free(h);
	}
	return (double)(rte_rdtsc() - t0) / ROUNDS;
}

int
main(void)
{
	static const uint16_t sizes[] = { 64, 128, 256, 512, 1024, 1500 };
	char *args[] = { "copy_cost", "--no-huge", "-m", "256", "--no-pci",
			 "--no-shconf", "--file-prefix", "copy_cost", "-l", "0",
			 "--log-level", "lib.eal:error" };
	struct rte_mempool *pool;
	int crossover = -1;

	if (rte_eal_init((int)RTE_DIM(args), args) < 0)
		return 1;
	pool = rte_pktmbuf_pool_create("copy_cost", 4096, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		return 1;
	printf("| frame bytes | deep copy cycles | header copy + clone cycles |\n"
	       "|---|---|---|\n");
	for (size_t i = 0; i < RTE_DIM(sizes); i++) {
		struct rte_mbuf *src = frame_of(pool, sizes[i]);
		double deep, clone;

		cycles_deep(pool, src);         /* warm up */
		deep = cycles_deep(pool, src);
		clone = cycles_clone(pool, src);
		printf("| %u | %.1f | %.1f |\n", sizes[i], deep, clone);
		if (crossover < 0 && clone < deep)
			crossover = sizes[i];
		rte_pktmbuf_free(src);
	}
	if (crossover < 0)
		printf("the deep copy is cheaper at every size measured\n");
	else
		printf("the clone is cheaper from %d bytes\n", crossover);
	rte_eal_cleanup();
	return 0;
}
