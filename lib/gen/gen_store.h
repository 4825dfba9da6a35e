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
	char *state;             /**< steering state (JSON), or NULL: initial */
	struct gen_snapshot *next;
};

struct gen_store {
	struct gen_snapshot *head;  /**< oldest */
	struct gen_snapshot *tail;  /**< newest */
	unsigned int count;
	char dir[256];              /**< state directory; "" keeps memory only */
	uint64_t current;           /**< generation the state says is current */
};

/** An empty store, in memory only. */
void gen_store_init(struct gen_store *s);

/**
 * Keep snapshots in directory @p dir too (created if missing) and load the
 * ones already there: gen-N.yaml with gen-N.meta beside it, and "current".
 * Every file is written to a temporary name, fsync'd and renamed, so a
 * half-written file is never taken for a snapshot.
 * @return 0, or -1 with a sentence in @p err.
 */
int gen_store_open(struct gen_store *s, const char *dir, char *err, size_t errlen);

/**
 * Record generation @p id, its YAML and steering @p state (and, with a
 * directory, persist them and make it current there) before it is published.
 * @return 0, or -1 when it could not be stored (nothing changed then).
 */
int gen_store_add(struct gen_store *s, uint64_t id, uint64_t from,
		  const char *source, const char *yaml, size_t len,
		  const char *state);

/** Snapshot of generation @p id, or NULL (never published, or dropped). */
const struct gen_snapshot *gen_store_get(const struct gen_store *s, uint64_t id);

/**
 * Write @p len bytes to @p dir/@p name durably: a temporary file, fsync,
 * rename, fsync of the directory. @return 0, or -1 with errno set.
 */
int gen_store_file_put(const char *dir, const char *name, const char *data,
		       size_t len);

/** Read @p dir/@p name (at most 16 MiB) into a NUL-terminated buffer to
 * free(), or NULL. */
char *gen_store_file_get(const char *dir, const char *name, size_t *len);

/** Free every snapshot. */
void gen_store_fini(struct gen_store *s);

#endif
