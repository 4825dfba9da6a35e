/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Operator hooks as child processes, watched from the management loop.
 * Nothing here waits: the output pipe and a pidfd are libevent events, the
 * timeout is a timer. A hook is reported once it has exited and its output
 * is drained (or, after a kill, drained or past a short grace), then freed.
 *
 * The exited leader is left a zombie (waitid WNOWAIT) until the hook is
 * over: while it is not reaped its pid cannot be reused, so kill(-pid)
 * reaches its own process group and nobody else's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hook_run.h"

/** After a kill, how long to wait for EOF from processes outside the group. */
#define HOOK_GRACE_MS 200
/** Exit polling period where pidfd_open is unavailable (kernel < 5.3). */
#define HOOK_POLL_MS 20
/** The whole environment a hook gets besides its UMBRA_* variables. */
#define HOOK_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

struct hook_run {
	struct event_base *base;
	hook_done_fn done;
	void *arg;
	pid_t pid;
	int out_fd;              /**< pipe read end, -1 once at EOF */
	int pid_fd;              /**< -1 once reaped or when polling */
	struct event *ev_out;
	struct event *ev_exit;   /**< pidfd readable, or the polling timer */
	struct event *ev_timer;  /**< timeout, then grace; or the failure report */
	bool exited;             /**< the leader ended (a zombie until reaped) */
	bool reaped;             /**< its pid is gone: never signal the group again */
	bool killed;
	bool reporting;          /**< inside done: cancel must not free */
	struct timespec start;
	struct hook_result res;
};

static unsigned int hooks_active;

static struct timeval
ms_to_tv(uint32_t ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
hook_free(struct hook_run *h)
{
	if (h->ev_out != NULL)
		event_free(h->ev_out);
	if (h->ev_exit != NULL)
		event_free(h->ev_exit);
	if (h->ev_timer != NULL)
		event_free(h->ev_timer);
	if (h->out_fd >= 0)
		close(h->out_fd);
	if (h->pid_fd >= 0)
		close(h->pid_fd);
	free(h);
}

static void
stop_output(struct hook_run *h)
{
	if (h->out_fd < 0)
		return;
	if (h->ev_out != NULL)
		event_del(h->ev_out);
	close(h->out_fd);
	h->out_fd = -1;
}

/* Reap the exited (or SIGKILLed) leader: from now on its pid may be reused. */
static void
reap(struct hook_run *h)
{
	int status;

	if (h->reaped)
		return;
	while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
		;
	h->reaped = true;
}

/* Report when both halves are over; the callback may start other hooks. */
static void
maybe_finish(struct hook_run *h)
{
	if (!h->exited || h->out_fd >= 0)
		return;
	reap(h);
	event_del(h->ev_timer);
	h->res.duration_ms = ms_since(&h->start);
	h->res.output[h->res.output_len] = '\0';
	hooks_active--;
	h->reporting = true;
	h->done(&h->res, h->arg);
	hook_free(h);
}

/*
 * True once the leader has exited: its status is recorded but it stays a
 * zombie (WNOWAIT), keeping its pid, and so its group id, ours to signal.
 */
static bool
try_exited(struct hook_run *h)
{
	siginfo_t si = { 0 };
	int r;

	do
		r = waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG | WNOWAIT);
	while (r < 0 && errno == EINTR);
	if (r == 0 && si.si_pid == 0)
		return false;
	if (r == 0 && si.si_code == CLD_EXITED) {
		h->res.exit_status = si.si_status;
	} else if (r == 0) {
		h->res.exit_status = -1;
		h->res.term_signal = si.si_status;
	} else {
		h->res.exit_status = -1;
		h->reaped = true; /* someone else's waitpid took it */
	}
	h->exited = true;
	event_del(h->ev_exit);
	if (h->pid_fd >= 0) {
		close(h->pid_fd);
		h->pid_fd = -1;
	}
	return true;
}

static void
on_exit_event(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run *h = arg;

	(void)fd;
	(void)what;
	if (try_exited(h))
		maybe_finish(h);
}

/* SIGKILL the hook's process group, only while its leader is not reaped. */
static void
kill_group(struct hook_run *h)
{
	if (!h->reaped)
		kill(-h->pid, SIGKILL);
}

/* Keep the head of the output; count the rest so the operator knows. */
static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run *h = arg;
	struct hook_result *r = &h->res;
	char buf[16384];
	ssize_t n;
	size_t keep;

	(void)what;
	/* One read a callback: a chatty hook must not starve the loop. */
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		stop_output(h);
		maybe_finish(h);
		return;
	}
	keep = HOOK_OUTPUT_MAX - r->output_len;
	if (keep > (size_t)n)
		keep = (size_t)n;
	memcpy(r->output + r->output_len, buf, keep);
	r->output_len += keep;
	r->output_dropped += (size_t)n - keep;
}

/*
 * First expiry: the timeout, so kill the group. Second: the grace after the
 * kill, so stop waiting for EOF (something outside the group holds the
 * pipe). Also the deferred report of a spawn failure (reaped, no pipe).
 */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hook_run *h = arg;
	struct timeval grace = ms_to_tv(HOOK_GRACE_MS);

	(void)fd;
	(void)what;
	if (h->killed || h->res.spawn_failed) {
		stop_output(h);
		maybe_finish(h);
		return;
	}
	kill_group(h);
	h->killed = true;
	h->res.timed_out = true;
	evtimer_add(h->ev_timer, &grace);
}

static void
spawn_failed(struct hook_run *h, const char *what, int err)
{
	struct hook_result *r = &h->res;
	int n;

	r->spawn_failed = true;
	r->exit_status = -1;
	n = snprintf(r->output, sizeof(r->output), "cannot start '%s': %s",
		     what, strerror(err));
	r->output_len = n < 0 ? 0 : (size_t)n < sizeof(r->output) ?
					(size_t)n : sizeof(r->output) - 1;
	h->exited = true;
	h->reaped = true;
	/* Reported from the loop, as the caller expects, never from here. */
	event_active(h->ev_timer, EV_TIMEOUT, 1);
}

/*
 * A clean environment: PATH and @p extra (the UMBRA_* variables), nothing
 * of the daemon's (no LD_*, no credentials, no locale surprises). An extra
 * PATH replaces the default one.
 */
static char **
env_build(char *const extra[])
{
	size_t n_extra = 0, k = 0;
	bool has_path = false;
	char **out;

	while (extra != NULL && extra[n_extra] != NULL)
		has_path |= strncmp(extra[n_extra++], "PATH=", 5) == 0;
	out = calloc(n_extra + 2, sizeof(*out));
	if (out == NULL)
		return NULL;
	if (!has_path)
		out[k++] = (char *)HOOK_PATH;
	for (size_t i = 0; i < n_extra; i++)
		out[k++] = extra[i];
	return out;
}

/*
 * The child: its own process group (so a timeout kills what it started),
 * default signal dispositions and an empty mask whatever the daemon set,
 * stdin from /dev/null, stdout and stderr on the pipe, and none of the
 * daemon's other descriptors.
 */
static int
spawn_child(pid_t *pid, char *const argv[], char **envp, int out_w)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out_w, STDERR_FILENO);
#ifdef __GLIBC__
#if __GLIBC_PREREQ(2, 34)
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
#endif
	if (strchr(argv[0], '/') != NULL)
		rc = posix_spawn(pid, argv[0], &fa, &attr, argv, envp);
	else
		rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/* Pipe, spawn, pidfd; any failure is the hook's result, not the caller's. */
static void
hook_launch(struct hook_run *h, char *const argv[], char *const env[])
{
	struct event_base *base = h->base;
	int fds[2];
	char **envp;
	int rc;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		spawn_failed(h, "", EINVAL);
		return;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		spawn_failed(h, argv[0], errno);
		return;
	}
	/* Only our end: O_NONBLOCK on the child's end would be shared with it. */
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	h->out_fd = fds[0];
	h->ev_out = event_new(base, fds[0], EV_READ | EV_PERSIST, on_output, h);
	envp = env_build(env);
	if (h->ev_out == NULL || envp == NULL) {
		free(envp);
		close(fds[1]);
		stop_output(h);
		spawn_failed(h, argv[0], ENOMEM);
		return;
	}
	rc = spawn_child(&h->pid, argv, envp, fds[1]);
	free(envp);
	close(fds[1]);
	if (rc != 0) {
		stop_output(h);
		spawn_failed(h, argv[0], rc);
		return;
	}
	event_add(h->ev_out, NULL);
}

/* Watch the exit through a pidfd, or by polling where there is none. */
static int
hook_watch_exit(struct hook_run *h)
{
	struct timeval poll = ms_to_tv(HOOK_POLL_MS);

	h->pid_fd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pid_fd >= 0) {
		h->ev_exit = event_new(h->base, h->pid_fd, EV_READ | EV_PERSIST,
				       on_exit_event, h);
		return h->ev_exit != NULL ? event_add(h->ev_exit, NULL) : -1;
	}
	h->ev_exit = event_new(h->base, -1, EV_PERSIST, on_exit_event, h);
	return h->ev_exit != NULL ? event_add(h->ev_exit, &poll) : -1;
}

/* Kill the group, then reap the leader; SIGKILL is prompt, so waiting is short. */
static void
hook_kill_reap(struct hook_run *h)
{
	kill_group(h);
	reap(h);
}

struct hook_run *
hook_run_start(struct event_base *base, char *const argv[], char *const env[],
	       uint32_t timeout_ms, hook_done_fn done, void *arg,
	       char *err, size_t errlen)
{
	struct hook_run *h = calloc(1, sizeof(*h));
	struct timeval tv = ms_to_tv(timeout_ms);

	if (h == NULL)
		goto nomem;
	h->base = base;
	h->done = done;
	h->arg = arg;
	h->out_fd = -1;
	h->pid_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &h->start);
	h->ev_timer = evtimer_new(base, on_timer, h);
	if (h->ev_timer == NULL)
		goto nomem;
	hooks_active++;
	hook_launch(h, argv, env);
	if (h->res.spawn_failed)
		return h;
	if (hook_watch_exit(h) < 0) {
		hook_kill_reap(h);
		hooks_active--;
		goto nomem;
	}
	if (timeout_ms > 0)
		evtimer_add(h->ev_timer, &tv);
	return h;
nomem:
	if (h != NULL)
		hook_free(h);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "hook: out of memory");
	return NULL;
}

void
hook_run_cancel(struct hook_run *h)
{
	if (h == NULL || h->reporting)
		return;
	/* The leader is never reaped before this: the group is still ours. */
	if (!h->res.spawn_failed)
		hook_kill_reap(h);
	hooks_active--;
	hook_free(h);
}

unsigned int
hook_run_active(void)
{
	return hooks_active;
}
