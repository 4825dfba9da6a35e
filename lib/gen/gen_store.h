/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Snapshots: the YAML text of every published generation, where it came
 * from and when, so that any of them can be shown, compared or re-published
 * (rollback). Management core only. Bounded: the oldest are dropped past
 * GEN_STORE_MAX.
 */
#ifndef UMBRA_GEN_STORE_H
#define UMBRA_GEN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GEN_STORE_MAX 1000

struct gen_snapshot {
	uint64_t id;             /**< generation number */
	uint64_t from;           /**< rollback: the generation re-published; else 0 */
	char source[320];        /**< "file:/etc/umbra/x.yaml", "rollback:3", ... */
	time_t time;
	char *yaml;              /**< NUL-terminated */
	size_t len;
	struct gen_snapshot *next;
};

struct gen_store {
	struct gen_snapshot *head;  /**< oldest */
	struct gen_snapshot *tail;  /**< newest */
	unsigned int count;
};

/** An empty store. */
void gen_store_init(struct gen_store *s);

/** Record generation @p id. @return 0, or -1 when out of memory. */
int gen_store_add(struct gen_store *s, uint64_t id, uint64_t from,
		  const char *source, const char *yaml, size_t len);

/** Snapshot of generation @p id, or NULL (never published, or dropped). */
const struct gen_snapshot *gen_store_get(const struct gen_store *s, uint64_t id);

/** Free every snapshot. */
void gen_store_fini(struct gen_store *s);

#endif
