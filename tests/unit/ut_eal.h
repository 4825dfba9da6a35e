/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For unit tests that need EAL memory (rte_hash, rte_acl): start EAL with
 * no hugepages, no PCI and a private file prefix, so tests run in parallel
 * on any machine.
 */
#ifndef UMBRA_UT_EAL_H
#define UMBRA_UT_EAL_H

#include <stdio.h>

#include <rte_common.h>
#include <rte_eal.h>

/** Start EAL for test @p name with @p mem_mb of heap; 0 on success. */
static inline int
ut_eal_init(const char *name, const char *mem_mb)
{
	char prefix[64];
	char *args[] = { (char *)name, "--no-huge", "-m", (char *)mem_mb, "--no-pci",
			 "--no-shconf", "--file-prefix", prefix, "-l", "0",
			 "--log-level", "lib.eal:error" };

	snprintf(prefix, sizeof(prefix), "ut_%s", name);
	return rte_eal_init((int)RTE_DIM(args), args) < 0 ? -1 : 0;
}

#endif
