/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading an operator-given file (configuration, token) without letting it
 * block, follow links or escape a directory. The path is opened as O_PATH
 * only (opening a FIFO, a tty or a device can block or have side effects),
 * checked with fstat, and only a regular file under CONF_FILE_MAX is then
 * reopened through that very descriptor (/proc/self/fd) and read: what was
 * checked is what is read, whatever happens to the name meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf.h"

/* The one refusal for anything outside the directory: it must not tell
 * whether that other file exists or what it is. */
static void
refuse_outside(const char *path, const char *dir, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: refused: configuration files must be regular files "
		 "inside %s (mgmt.config_dir; no '..', no symbolic links)", path, dir);
}

/* @p path relative to @p dir ("" or NULL when it is not inside, lexically). */
static const char *
path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (path[0] != '/')
		return path;
	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && n != 1))
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

/* True when a component of @p rel is "..". */
static bool
has_dotdot(const char *rel)
{
	for (const char *p = rel; *p != '\0'; p += strcspn(p, "/"), p += *p == '/') {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
	}
	return false;
}

/* Where openat2 is missing (Linux < 5.6): open, then check where it is. */
static int
open_beneath_fallback(int dfd, const char *rel, const char *dir)
{
	char link[64], real[PATH_MAX], base[PATH_MAX];
	int fd = openat(dfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n < 0 || realpath(dir, base) == NULL) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	real[n] = '\0';
	n = (ssize_t)strlen(base);
	if (strncmp(real, base, (size_t)n) != 0 || (real[n] != '/' && n != 1)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

/* An O_PATH descriptor of @p path inside @p dir, never resolved outside. */
static int
open_beneath(const char *path, const char *dir, char *err, size_t errlen)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *rel = path_under(path, dir);
	char base[PATH_MAX];
	int dfd, fd;

	/* The directory may be named through a link: compare with its real path too. */
	if (rel == NULL && realpath(dir, base) != NULL)
		rel = path_under(path, base);
	if (rel == NULL || rel[0] == '\0' || has_dotdot(rel)) {
		refuse_outside(path, dir, err, errlen);
		return -1;
	}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "%s: the configuration directory %s cannot be "
			 "opened: %s", path, dir, strerror(errno));
		return -1;
	}
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = open_beneath_fallback(dfd, rel, dir);
	close(dfd);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENOTDIR)
		snprintf(err, errlen, "%s: no such file in the configuration directory %s",
			 path, dir);
	else if (errno == EXDEV || errno == ELOOP)
		refuse_outside(path, dir, err, errlen);
	else
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	return -1;
}

/* "" when @p st is a regular file small enough, else what it is instead. */
static const char *
not_readable(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return st->st_size > (off_t)CONF_FILE_MAX ? "is larger than 16 MiB" : "";
	if (S_ISLNK(st->st_mode))
		return "is a symbolic link (not followed: name the file itself)";
	if (S_ISDIR(st->st_mode))
		return "is a directory";
	if (S_ISFIFO(st->st_mode))
		return "is a FIFO, not a regular file";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return "is a device, not a regular file";
	if (S_ISSOCK(st->st_mode))
		return "is a socket, not a regular file";
	return "is not a regular file";
}

/* The whole of regular file @p fd, at most CONF_FILE_MAX bytes, NUL-terminated. */
static char *
read_all(int fd, size_t hint, const char *path, size_t *len, char *err, size_t errlen)
{
	size_t cap = hint + 1, n = 0;
	char *buf = malloc(cap + 1);

	while (buf != NULL) {
		ssize_t r;

		if (n == cap) { /* it grew since fstat */
			char *bigger = cap > CONF_FILE_MAX ? NULL : realloc(buf, 2 * cap + 1);

			if (bigger == NULL) {
				snprintf(err, errlen, "%s: %s", path, cap > CONF_FILE_MAX ?
					 "is larger than 16 MiB" : "out of memory");
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0) {
			if (n > CONF_FILE_MAX) {
				snprintf(err, errlen, "%s: is larger than 16 MiB", path);
				free(buf);
				return NULL;
			}
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		n += (size_t)r;
	}
	snprintf(err, errlen, "%s: out of memory", path);
	return NULL;
}

char *
conf_read_file(const char *path, const char *dir, size_t *len, char *err,
	       size_t errlen)
{
	struct stat st, st2;
	char self[64];
	const char *why;
	int pfd, fd;
	char *buf;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "an empty path names no file");
		return NULL;
	}
	if (dir != NULL && dir[0] != '\0') {
		pfd = open_beneath(path, dir, err, errlen);
	} else {
		pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (pfd < 0)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	}
	if (pfd < 0)
		return NULL;
	if (fstat(pfd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		close(pfd);
		return NULL;
	}
	why = not_readable(&st);
	if (why[0] != '\0') {
		snprintf(err, errlen, "%s: %s", path, why);
		close(pfd);
		return NULL;
	}
	/* Reopen the checked inode itself; O_NONBLOCK in case it is not what
	 * fstat said after all (checked again below). */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino ||
	    !S_ISREG(st2.st_mode)) {
		snprintf(err, errlen, "%s: changed while being opened", path);
		close(fd);
		return NULL;
	}
	buf = read_all(fd, (size_t)st.st_size, path, len, err, errlen);
	close(fd);
	return buf;
}
