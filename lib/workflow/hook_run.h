/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Operator hooks: external commands run as child processes from the
 * management loop, never waited for.
 *
 * A hook is started with posix_spawn (its own process group, stdin from
 * /dev/null, stdout and stderr into one pipe), watched through libevent (the
 * pipe, a pidfd for its exit, a timer for its timeout) and reported once,
 * from the event loop, when it has exited and its output is drained. On
 * timeout the whole process group is killed (SIGKILL). Management core only.
 */
#ifndef UMBRA_HOOK_RUN_H
#define UMBRA_HOOK_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/** Output kept per hook (stdout and stderr interleaved); the rest is counted. */
#define HOOK_OUTPUT_MAX 4096

/** How a hook ended. */
struct hook_result {
	int exit_status;        /**< exit code; -1 when killed or not started */
	int term_signal;        /**< signal that ended it, 0 if none */
	bool timed_out;         /**< killed by umbra after its timeout */
	bool spawn_failed;      /**< could not be started (see output) */
	char output[HOOK_OUTPUT_MAX + 1]; /**< NUL-terminated */
	size_t output_len;
	uint64_t output_dropped; /**< bytes past HOOK_OUTPUT_MAX */
	double duration_ms;
};

/** True when @p r means success: started, exited 0, not timed out. */
static inline bool
hook_result_ok(const struct hook_result *r)
{
	return !r->spawn_failed && !r->timed_out && r->term_signal == 0 &&
	       r->exit_status == 0;
}

/** Called once from the event loop when the hook has ended. */
typedef void (*hook_done_fn)(const struct hook_result *r, void *arg);

struct hook_run;

/**
 * Start @p argv (argv[0] looked up in PATH when it has no '/'), with a
 * clean environment: PATH=/usr/sbin:/usr/bin:/sbin:/bin and @p env
 * ("NAME=value" strings, NULL-terminated, may be NULL; a PATH there
 * replaces the default), nothing inherited from the daemon.
 * @p done is called later from @p base's loop, never from this call, even
 * when the spawn fails. The hook frees itself after @p done returns, so the
 * handle is invalid from then on; @p done may start other hooks.
 *
 * The child gets default signal dispositions, an empty signal mask and no
 * descriptors but 0-2. It is reported once reaped and its output has
 * reached EOF; the exited leader is reaped only then, so that its group
 * id cannot have been reused when the group is killed. At @p timeout_ms
 * (0: no timeout) its process group is killed and timed_out set; output then gets a short grace (processes that left
 * the group may hold the pipe) before the hook is reported.
 * @return the running hook, or NULL (out of memory; @p err says so).
 */
struct hook_run *hook_run_start(struct event_base *base, char *const argv[],
				char *const env[], uint32_t timeout_ms,
				hook_done_fn done, void *arg,
				char *err, size_t errlen);

/**
 * Kill a running hook's process group, reap it (waiting briefly for the
 * SIGKILL'ed leader) and free it; @p done is not called. Not for a hook
 * whose @p done has started (ignored from inside @p done).
 */
void hook_run_cancel(struct hook_run *h);

/** Hooks running now (for status and tests). */
unsigned int hook_run_active(void);

#endif
