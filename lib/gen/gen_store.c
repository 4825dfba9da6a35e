/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshots of published generations (management core), in memory and,
 * with a state directory, on disk: write a temporary file, fsync, rename,
 * fsync the directory. Loading skips anything incomplete.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen_store.h"

void
gen_store_init(struct gen_store *s)
{
	memset(s, 0, sizeof(*s));
}

static void
snapshot_free(struct gen_snapshot *sn)
{
	free(sn->yaml);
	free(sn->state);
	free(sn);
}

/* Insert keeping generation order; drop the oldest past the bound. */
static void
snapshot_insert(struct gen_store *s, struct gen_snapshot *sn)
{
	struct gen_snapshot **p = &s->head;

	while (*p != NULL && (*p)->id < sn->id)
		p = &(*p)->next;
	sn->next = *p;
	*p = sn;
	if (sn->next == NULL)
		s->tail = sn;
	if (++s->count > GEN_STORE_MAX) {
		struct gen_snapshot *old = s->head;

		s->head = old->next;
		snapshot_free(old);
		s->count--;
	}
}

static struct gen_snapshot *
snapshot_new(uint64_t id, uint64_t from, const char *source, time_t when,
	     const char *yaml, size_t len, const char *state)
{
	struct gen_snapshot *sn = calloc(1, sizeof(*sn));

	if (sn == NULL || (sn->yaml = malloc(len + 1)) == NULL ||
	    (state != NULL && (sn->state = strdup(state)) == NULL)) {
		if (sn != NULL)
			free(sn->yaml);
		free(sn);
		return NULL;
	}
	memcpy(sn->yaml, yaml, len);
	sn->yaml[len] = '\0';
	sn->len = len;
	sn->id = id;
	sn->from = from;
	sn->time = when;
	snprintf(sn->source, sizeof(sn->source), "%s", source);
	return sn;
}

int
gen_store_file_put(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[512], path[512];
	int fd, dfd, ok;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	ok &= close(fd) == 0;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

char *
gen_store_file_get(const char *dir, const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || st.st_size > (16 << 20) ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/*
 * gen-N.meta: "<id> <from> <time> <source>\n" (one line, source last),
 * written after gen-N.yaml and gen-N.state, so a snapshot with its meta is
 * complete. A missing .state (older state directories) means the
 * configuration's initial steering.
 */
static int
snapshot_load(struct gen_store *s, uint64_t id)
{
	char name[64], source[320] = "";
	unsigned long long gid, from, when;
	size_t mlen, ylen, slen;
	char *meta, *yaml, *state;
	int n = -1;

	snprintf(name, sizeof(name), "gen-%" PRIu64 ".meta", id);
	meta = gen_store_file_get(s->dir, name, &mlen);
	snprintf(name, sizeof(name), "gen-%" PRIu64 ".yaml", id);
	yaml = gen_store_file_get(s->dir, name, &ylen);
	snprintf(name, sizeof(name), "gen-%" PRIu64 ".state", id);
	state = gen_store_file_get(s->dir, name, &slen);
	if (meta != NULL && yaml != NULL &&
	    sscanf(meta, "%llu %llu %llu %319[^\n]", &gid, &from, &when, source) == 4 &&
	    gid == id) {
		struct gen_snapshot *sn = snapshot_new(id, from, source, (time_t)when,
						       yaml, ylen, state);

		if (sn != NULL) {
			snapshot_insert(s, sn);
			n = 0;
		}
	}
	free(meta);
	free(yaml);
	free(state);
	return n;
}

/*
 * "current" is written last: a snapshot newer than it was written but never
 * made current (the process died in between), so it never ran. Forget it,
 * on disk too, so that its number is free for the next generation.
 */
static void
snapshots_drop_after(struct gen_store *s, uint64_t id)
{
	struct gen_snapshot **p = &s->head;

	s->tail = NULL;
	while (*p != NULL) {
		struct gen_snapshot *sn = *p;
		char path[512];

		if (sn->id <= id) {
			s->tail = sn;
			p = &sn->next;
			continue;
		}
		snprintf(path, sizeof(path), "%s/gen-%" PRIu64 ".meta", s->dir, sn->id);
		unlink(path);
		snprintf(path, sizeof(path), "%s/gen-%" PRIu64 ".yaml", s->dir, sn->id);
		unlink(path);
		snprintf(path, sizeof(path), "%s/gen-%" PRIu64 ".state", s->dir, sn->id);
		unlink(path);
		*p = sn->next;
		snapshot_free(sn);
		s->count--;
	}
}

int
gen_store_open(struct gen_store *s, const char *dir, char *err, size_t errlen)
{
	struct dirent *de;
	size_t len;
	char *cur;
	DIR *d;

	if (strlen(dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "state directory path too long: %s", dir);
		return -1;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "cannot read state directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	strcpy(s->dir, dir);
	while ((de = readdir(d)) != NULL) {
		unsigned long long id;
		char name[64];

		if (sscanf(de->d_name, "gen-%llu.yaml", &id) != 1)
			continue;
		snprintf(name, sizeof(name), "gen-%llu.yaml", id);
		if (strcmp(name, de->d_name) == 0)
			snapshot_load(s, id); /* an incomplete pair is skipped */
	}
	closedir(d);
	cur = gen_store_file_get(dir, "current", &len);
	s->current = cur ? strtoull(cur, NULL, 10) : 0;
	free(cur);
	if (s->current && gen_store_get(s, s->current) == NULL)
		s->current = 0; /* points at a snapshot that never completed */
	snapshots_drop_after(s, s->current);
	return 0;
}

static int
snapshot_persist(struct gen_store *s, const struct gen_snapshot *sn)
{
	char name[64], meta[512], cur[32];
	int n;

	snprintf(name, sizeof(name), "gen-%" PRIu64 ".yaml", sn->id);
	if (gen_store_file_put(s->dir, name, sn->yaml, sn->len) != 0)
		return -1;
	snprintf(name, sizeof(name), "gen-%" PRIu64 ".state", sn->id);
	if (sn->state != NULL &&
	    gen_store_file_put(s->dir, name, sn->state, strlen(sn->state)) != 0)
		return -1;
	n = snprintf(meta, sizeof(meta), "%" PRIu64 " %" PRIu64 " %llu %s\n", sn->id,
		     sn->from, (unsigned long long)sn->time, sn->source);
	snprintf(name, sizeof(name), "gen-%" PRIu64 ".meta", sn->id);
	if (gen_store_file_put(s->dir, name, meta, (size_t)n) != 0)
		return -1;
	n = snprintf(cur, sizeof(cur), "%" PRIu64 "\n", sn->id);
	return gen_store_file_put(s->dir, "current", cur, (size_t)n);
}

int
gen_store_add(struct gen_store *s, uint64_t id, uint64_t from, const char *source,
	      const char *yaml, size_t len, const char *state)
{
	struct gen_snapshot *sn = snapshot_new(id, from, source, time(NULL), yaml, len,
					       state);

	if (sn == NULL)
		return -1;
	if (s->dir[0] != '\0' && snapshot_persist(s, sn) != 0) {
		snapshot_free(sn);
		return -1;
	}
	s->current = id;
	snapshot_insert(s, sn);
	return 0;
}

const struct gen_snapshot *
gen_store_get(const struct gen_store *s, uint64_t id)
{
	for (const struct gen_snapshot *sn = s->head; sn != NULL; sn = sn->next)
		if (sn->id == id)
			return sn;
	return NULL;
}

void
gen_store_fini(struct gen_store *s)
{
	while (s->head != NULL) {
		struct gen_snapshot *next = s->head->next;

		snapshot_free(s->head);
		s->head = next;
	}
	memset(s, 0, sizeof(*s));
}
