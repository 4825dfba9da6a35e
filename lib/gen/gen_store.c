/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshots of published generations (management core), in memory and,
 * with a state directory, on disk: write a new temporary file, fsync,
 * rename, fsync the directory. Loading skips what is incomplete, logs what
 * is damaged or disagrees, and never deletes anything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_hash_crc.h>

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

uint32_t
gen_store_checksum(const void *data, size_t len)
{
	return rte_hash_crc(data, (uint32_t)len, 0xffffffffu);
}

void
gen_store_dir_sync(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
gen_store_file_put(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[512], path[512];
	int fd, ok, saved;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* A leftover of a crash (or anything planted there) is removed, never
	 * opened: O_EXCL|O_NOFOLLOW fail rather than write through a link that
	 * reappears in between. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	ok = write_all(fd, data, len) == 0 && fsync(fd) == 0;
	saved = errno;
	ok &= close(fd) == 0;
	if (!ok || rename(tmp, path) != 0) {
		saved = ok ? errno : saved;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	gen_store_dir_sync(dir);
	return 0;
}

char *
gen_store_file_get(const char *dir, const char *name, size_t max, size_t *len)
{
	char path[512];
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		saved = errno;
		close(fd);
		errno = !S_ISREG(st.st_mode) ? EINVAL :
			(size_t)st.st_size > max ? EFBIG : saved;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			saved = n == 0 ? EIO : errno; /* shorter than it said */
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Snapshot files are small; the limit only bounds a damaged directory. */
#define SNAPSHOT_FILE_MAX (16u << 20)

static void
snapshot_name(char *buf, size_t len, uint64_t id, const char *ext)
{
	snprintf(buf, len, "gen-%" PRIu64 ".%s", id, ext);
}

/* The meta's check line against the files it describes. */
static bool
snapshot_check_ok(const char *check, const char *yaml, size_t ylen,
		  const char *state, size_t slen)
{
	unsigned long long ylen_c;
	unsigned int ycrc, scrc;
	char slen_s[24];

	if (check == NULL)
		return true; /* written before checks existed */
	if (sscanf(check, "\ncheck %llu %x %23s %x", &ylen_c, &ycrc, slen_s, &scrc) != 4 ||
	    ylen_c != ylen || ycrc != gen_store_checksum(yaml, ylen) ||
	    (strcmp(slen_s, "-") == 0) != (state == NULL))
		return false;
	return state == NULL || (strtoull(slen_s, NULL, 10) == slen &&
				 scrc == gen_store_checksum(state, slen));
}

/*
 * gen-N.meta: "<id> <from> <time> <source>\n" (source last), then
 * "check <yaml bytes> <yaml crc> <state bytes|-> <state crc>\n". It is
 * written after gen-N.yaml and gen-N.state, so a snapshot with its meta is
 * complete, and the check line tells a damaged one from a whole one. A meta
 * without the check line (older state directories) is trusted; a missing
 * .state means the configuration's initial steering.
 * @return 0 loaded, 1 incomplete (no meta: a write that never finished),
 * -1 damaged (@p why says how).
 */
static int
snapshot_load(struct gen_store *s, uint64_t id, const char **why)
{
	char name[64], source[320] = "";
	unsigned long long gid, from, when;
	size_t mlen, ylen = 0, slen = 0;
	char *meta, *yaml, *state;
	struct gen_snapshot *sn;
	int rc = -1;

	snapshot_name(name, sizeof(name), id, "meta");
	meta = gen_store_file_get(s->dir, name, 4096, &mlen);
	if (meta == NULL) {
		*why = "its meta cannot be read";
		return errno == ENOENT ? 1 : -1;
	}
	snapshot_name(name, sizeof(name), id, "yaml");
	yaml = gen_store_file_get(s->dir, name, SNAPSHOT_FILE_MAX, &ylen);
	snapshot_name(name, sizeof(name), id, "state");
	state = gen_store_file_get(s->dir, name, SNAPSHOT_FILE_MAX, &slen);
	if (yaml == NULL)
		*why = "its YAML cannot be read";
	else if (sscanf(meta, "%llu %llu %llu %319[^\n]", &gid, &from, &when, source) != 4 ||
		 gid != id)
		*why = "its meta is not a snapshot's";
	else if (!snapshot_check_ok(strstr(meta, "\ncheck "), yaml, ylen, state, slen))
		*why = "its files do not match the sizes and checksums in its meta";
	else if ((sn = snapshot_new(id, from, source, (time_t)when, yaml, ylen,
				    state)) == NULL)
		*why = "out of memory";
	else {
		snapshot_insert(s, sn);
		rc = 0;
	}
	free(meta);
	free(yaml);
	free(state);
	return rc;
}

/*
 * The owner and mode of the state directory: whoever can write there
 * chooses the configuration umbra resumes, as root.
 */
static int
dir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state directory %s is not a directory: give "
			 "--state-dir a directory of its own", dir);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "state directory %s is %s: make it owned by uid %u "
			 "and not writable by group or others (chown, chmod go-w), or "
			 "choose another", dir, st.st_uid != geteuid() ?
			 "not owned by umbra's user" : "writable by group or others",
			 (unsigned int)geteuid());
		return -1;
	}
	return 0;
}

/* What "current" says, compared with the newest complete snapshot. */
static void
current_check(struct gen_store *s)
{
	uint64_t newest = s->tail ? s->tail->id : 0;
	unsigned long long named = 0;
	char *cur, *end = NULL;
	size_t len = 0;

	cur = gen_store_file_get(s->dir, "current", 64, &len);
	if (cur != NULL) {
		errno = 0;
		named = strtoull(cur, &end, 10);
		if (errno != 0 || end == cur || (*end != '\0' && strcmp(end, "\n") != 0))
			end = NULL;
	}
	s->current = newest;
	if (cur == NULL && errno == ENOENT && newest == 0)
		return; /* a fresh directory */
	if (cur == NULL)
		fprintf(stderr, "umbra: state: %s/current cannot be read (%s); resuming "
			"generation %" PRIu64 ", the newest complete snapshot\n", s->dir,
			strerror(errno), newest);
	else if (end == NULL)
		fprintf(stderr, "umbra: state: %s/current does not hold a generation "
			"number; resuming generation %" PRIu64 ", the newest complete "
			"snapshot (nothing deleted)\n", s->dir, newest);
	else if (named + 1 == newest)
		fprintf(stderr, "umbra: state: generation %" PRIu64 " was stored but not "
			"yet marked current when umbra stopped; resuming it, the newest "
			"complete snapshot\n", newest);
	else if (named != newest)
		fprintf(stderr, "umbra: state: %s/current names generation %llu; resuming "
			"generation %" PRIu64 ", the newest complete snapshot (nothing "
			"deleted)\n", s->dir, named, newest);
	free(cur);
}

int
gen_store_open(struct gen_store *s, const char *dir, char *err, size_t errlen)
{
	struct dirent *de;
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
	if (dir_check(dir, err, errlen) < 0)
		return -1;
	d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "cannot read state directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	strcpy(s->dir, dir);
	while ((de = readdir(d)) != NULL) {
		unsigned long long id;
		const char *why = "";
		char name[64];

		if (sscanf(de->d_name, "gen-%llu.yaml", &id) != 1)
			continue;
		snprintf(name, sizeof(name), "gen-%llu.yaml", id);
		if (strcmp(name, de->d_name) != 0)
			continue;
		/* Incomplete (no meta): a write that never finished, replaced by
		 * the next generation of that number. Damaged: left for the
		 * operator to look at. */
		if (snapshot_load(s, id, &why) < 0) {
			fprintf(stderr, "umbra: state: %s/gen-%llu is damaged (%s): not "
				"loaded, left on disk\n", dir, id, why);
			if (id > s->damaged_max)
				s->damaged_max = id;
		}
	}
	closedir(d);
	if (s->tail == NULL && s->damaged_max) {
		snprintf(err, errlen, "state directory %s holds no complete snapshot, "
			 "only damaged ones (up to gen-%" PRIu64 "): move them away or "
			 "choose another state directory", dir, s->damaged_max);
		gen_store_fini(s);
		return -1;
	}
	current_check(s);
	return 0;
}

/* Remove one snapshot's files: meta first, so a crash in between leaves an
 * incomplete snapshot, never a different one. */
static void
snapshot_unlink(const char *dir, uint64_t id)
{
	static const char *const ext[] = { "meta", "yaml", "state" };
	char name[64], path[512];

	for (int i = 0; i < 3; i++) {
		snapshot_name(name, sizeof(name), id, ext[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		unlink(path);
	}
}

static bool
protected_id(uint64_t id, const uint64_t *protect, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (protect[i] == id)
			return true;
	return false;
}

unsigned int
gen_store_prune(struct gen_store *s, unsigned int keep, uint64_t max_age_s,
		const uint64_t *protect, size_t n_protect)
{
	time_t now = time(NULL);
	unsigned int removed = 0, rank = s->count; /* the newest has rank 1 */
	struct gen_snapshot **p = &s->head;

	if (s->dir[0] == '\0')
		return 0;
	while (*p != NULL) {
		struct gen_snapshot *sn = *p;
		bool old = rank-- > keep || (max_age_s && now > sn->time &&
					     (uint64_t)(now - sn->time) > max_age_s);

		if (!old || sn->id == s->current || sn->next == NULL ||
		    protected_id(sn->id, protect, n_protect)) {
			p = &sn->next;
			continue;
		}
		snapshot_unlink(s->dir, sn->id);
		*p = sn->next;
		snapshot_free(sn);
		s->count--;
		removed++;
	}
	if (removed)
		gen_store_dir_sync(s->dir);
	return removed;
}

static int
snapshot_persist(struct gen_store *s, const struct gen_snapshot *sn)
{
	char name[64], path[512], meta[700], cur[32];
	int n;

	/* The meta says "complete": take away a stale one of this number first
	 * (a write that died before it finished), so mixed files never pass. */
	snapshot_name(name, sizeof(name), sn->id, "meta");
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		return -1;
	snapshot_name(name, sizeof(name), sn->id, "yaml");
	if (gen_store_file_put(s->dir, name, sn->yaml, sn->len) != 0)
		return -1;
	snapshot_name(name, sizeof(name), sn->id, "state");
	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	if (sn->state != NULL ?
	    gen_store_file_put(s->dir, name, sn->state, strlen(sn->state)) != 0 :
	    (unlink(path) != 0 && errno != ENOENT))
		return -1;
	n = snprintf(meta, sizeof(meta), "%" PRIu64 " %" PRIu64 " %llu %s\ncheck %zu %08x ",
		     sn->id, sn->from, (unsigned long long)sn->time, sn->source,
		     sn->len, gen_store_checksum(sn->yaml, sn->len));
	if (sn->state != NULL)
		n += snprintf(meta + n, sizeof(meta) - (size_t)n, "%zu %08x\n",
			      strlen(sn->state),
			      gen_store_checksum(sn->state, strlen(sn->state)));
	else
		n += snprintf(meta + n, sizeof(meta) - (size_t)n, "- 0\n");
	snapshot_name(name, sizeof(name), sn->id, "meta");
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
