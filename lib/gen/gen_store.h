/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Snapshots: the YAML text of every published generation, where it came
 * from and when, so that any of them can be shown, compared or re-published
 * (rollback). Management core only. Bounded: the oldest are dropped past
 * GEN_STORE_MAX in memory, and gen_store_prune() removes files by count and
 * age.
 *
 * Start-up rule (never delete on doubt): umbra resumes the newest complete
 * snapshot (gen-N.meta present, its sizes and checksums matching gen-N.yaml
 * and gen-N.state). "current" is written after it as a cross-check: when it
 * is missing, unreadable or names another generation, that is logged with
 * the generation resumed. Nothing is deleted at start-up; a damaged
 * snapshot is logged and left on disk.
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
	uint64_t current;           /**< generation to resume / last stored */
	uint64_t damaged_max;       /**< highest damaged snapshot left on disk
				     *   (its number is never reused), or 0 */
};

/** An empty store, in memory only. */
void gen_store_init(struct gen_store *s);

/**
 * Keep snapshots in directory @p dir too (created 0750 if missing) and load
 * the complete ones already there; s->current is the newest of them (see
 * the start-up rule above; what disagrees is logged on stderr). Refuses a
 * directory that is not owned by this uid or is group/world-writable, since
 * whoever can write there chooses the configuration umbra resumes.
 * @return 0, or -1 with one sentence (what is wrong, what to do) in @p err.
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
 * Remove the files of snapshots beyond the newest @p keep or older than
 * @p max_age_s seconds (0: no age limit), never the current one nor the
 * @p n_protect generations in @p protect (the workflow's rollback points).
 * Memory only: nothing. @return how many snapshots were removed.
 */
unsigned int gen_store_prune(struct gen_store *s, unsigned int keep,
			     uint64_t max_age_s, const uint64_t *protect,
			     size_t n_protect);

/**
 * Write @p len bytes to @p dir/@p name durably: a new temporary file
 * (O_CREAT|O_EXCL|O_NOFOLLOW, so a link planted at its name is never written
 * through), fsync, rename, fsync of the directory.
 * @return 0, or -1 with errno set.
 */
int gen_store_file_put(const char *dir, const char *name, const char *data,
		       size_t len);

/**
 * Read the regular file @p dir/@p name (no symbolic link, at most @p max
 * bytes, read whole) into a NUL-terminated buffer to free().
 * @return the buffer, or NULL with errno set: ENOENT when there is no such
 * file, EFBIG when larger than @p max, EIO on a short read, else the
 * error of open/read (EINVAL: not a regular file).
 */
char *gen_store_file_get(const char *dir, const char *name, size_t max, size_t *len);

/** fsync directory @p dir, so that a file made, renamed or removed in it
 * stays so after a crash. */
void gen_store_dir_sync(const char *dir);

/** Checksum of @p len bytes (CRC32C), kept in snapshot metas and the
 * workflow journal to tell a damaged file from a whole one. */
uint32_t gen_store_checksum(const void *data, size_t len);

/** Free every snapshot. */
void gen_store_fini(struct gen_store *s);

#endif
