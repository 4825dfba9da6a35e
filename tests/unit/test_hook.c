/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: operator hooks as child processes on a libevent loop. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hook_run.h"

/** No test should come near this; it only keeps a broken hook from hanging. */
#define SAFETY_MS 5000

/* What one hook reported. */
struct outcome {
	int calls;
	struct hook_result r;
};

static void
record(const struct hook_result *r, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->r = *r;
}

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void
on_safety(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Run @p base until @p calls reaches @p want; fail past SAFETY_MS. */
static void
run_until(struct event_base *base, const int *calls, int want)
{
	struct timeval tv = { SAFETY_MS / 1000, 0 };
	bool expired = false;
	struct event *safety = evtimer_new(base, on_safety, &expired);

	assert_non_null(safety);
	evtimer_add(safety, &tv);
	while (*calls < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(safety);
	assert_false(expired);
}

/* Start @p argv, run it to its end, and return what it reported. */
static struct outcome
run_hook(char *const argv[], char *const env[], uint32_t timeout_ms)
{
	struct event_base *base = event_base_new();
	struct outcome o = { 0 };
	char err[128];

	assert_non_null(base);
	assert_non_null(hook_run_start(base, argv, env, timeout_ms, record, &o,
				       err, sizeof(err)));
	assert_int_equal(hook_run_active(), 1);
	run_until(base, &o.calls, 1);
	/* Everything the hook registered is gone once it has reported. */
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(hook_run_active(), 0);
	event_base_free(base);
	return o;
}

/* True when no child of this process is left, zombie or alive. */
static bool
no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* Dead, or a zombie waiting for a reaper that is not us. */
static bool
pid_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p != NULL ? strrchr(buf, ')') : NULL;
	return p != NULL && p[1] == ' ' && p[2] == 'Z';
}

static void
test_true_false(void **state)
{
	char *yes[] = { "/bin/true", NULL };
	char *no[] = { "false", NULL };
	struct outcome o;

	(void)state;
	o = run_hook(yes, NULL, 5000);
	assert_true(hook_result_ok(&o.r));
	assert_int_equal(o.r.exit_status, 0);
	assert_int_equal(o.r.output_len, 0);
	assert_true(o.r.duration_ms >= 0 && o.r.duration_ms < SAFETY_MS);
	o = run_hook(no, NULL, 5000);
	assert_false(hook_result_ok(&o.r));
	assert_int_equal(o.r.exit_status, 1);
	assert_int_equal(o.r.term_signal, 0);
	assert_false(o.r.timed_out);
	assert_false(o.r.spawn_failed);
	assert_true(no_children());
}

static void
test_output_and_status(void **state)
{
	char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct outcome o;

	(void)state;
	o = run_hook(argv, NULL, 5000);
	assert_false(hook_result_ok(&o.r));
	assert_int_equal(o.r.exit_status, 3);
	assert_string_equal(o.r.output, "out\nerr\n");
	assert_int_equal(o.r.output_len, 8);
	assert_int_equal(o.r.output_dropped, 0);
}

static void
test_stdin_and_signal(void **state)
{
	char *cat[] = { "cat", NULL };
	char *self[] = { "sh", "-c", "kill -TERM $$", NULL };
	struct outcome o;

	(void)state;
	/* stdin is /dev/null: cat ends at once. */
	o = run_hook(cat, NULL, 5000);
	assert_true(hook_result_ok(&o.r));
	o = run_hook(self, NULL, 5000);
	assert_false(hook_result_ok(&o.r));
	assert_int_equal(o.r.exit_status, -1);
	assert_int_equal(o.r.term_signal, SIGTERM);
	assert_false(o.r.timed_out);
}

/* Nothing of the daemon's environment: PATH and the given variables only. */
static void
test_environment(void **state)
{
	char *argv[] = { "sh", "-c", "echo $UMBRA_TEST_VAR $UMBRA_TEST_NEW", NULL };
	char *env[] = { "/usr/bin/env", NULL };
	char *extra[] = { "UMBRA_TEST_VAR=override", "UMBRA_TEST_NEW=new", NULL };
	char *path[] = { "PATH=/opt/hooks/bin", NULL };
	char *which[] = { "/bin/sh", "-c", "echo $PATH", NULL };
	struct outcome o;

	(void)state;
	assert_int_equal(setenv("UMBRA_TEST_VAR", "inherited", 1), 0);
	assert_int_equal(setenv("DAEMON_SECRET", "inherited", 1), 0);
	o = run_hook(argv, NULL, 5000);
	assert_string_equal(o.r.output, "\n");
	o = run_hook(argv, extra, 5000);
	assert_string_equal(o.r.output, "override new\n");
	o = run_hook(env, extra, 5000);
	assert_string_equal(o.r.output, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
			    "UMBRA_TEST_VAR=override\nUMBRA_TEST_NEW=new\n");
	o = run_hook(which, path, 5000);
	assert_string_equal(o.r.output, "/opt/hooks/bin\n");
	unsetenv("UMBRA_TEST_VAR");
	unsetenv("DAEMON_SECRET");
}

static void
test_timeout(void **state)
{
	char *argv[] = { "sleep", "10", NULL };
	double t0 = now_ms();
	struct outcome o;

	(void)state;
	o = run_hook(argv, NULL, 100);
	assert_true(now_ms() - t0 < 2000);
	assert_false(hook_result_ok(&o.r));
	assert_true(o.r.timed_out);
	assert_int_equal(o.r.exit_status, -1);
	assert_int_equal(o.r.term_signal, SIGKILL);
	assert_true(o.r.duration_ms >= 100 && o.r.duration_ms < 2000);
	assert_true(no_children());
}

static void
test_timeout_kills_group(void **state)
{
	char *argv[] = { "sh", "-c", "sleep 10 & echo $!; sleep 10", NULL };
	double t0 = now_ms();
	struct outcome o;
	pid_t grandchild;

	(void)state;
	o = run_hook(argv, NULL, 300);
	assert_true(now_ms() - t0 < 2000);
	assert_true(o.r.timed_out);
	grandchild = (pid_t)atoi(o.r.output);
	assert_true(grandchild > 0);
	/* Its reaper (init) may take a moment. */
	for (int i = 0; i < 100 && !pid_gone(grandchild); i++)
		usleep(10000);
	assert_true(pid_gone(grandchild));
}

static void
test_timeout_escaped_output(void **state)
{
	char *argv[] = { "sh", "-c", "setsid sleep 10 & echo $!; sleep 10", NULL };
	double t0 = now_ms();
	struct outcome o;
	pid_t escaped;

	(void)state;
	/* Out of the group, the pipe stays open: reported after the grace. */
	o = run_hook(argv, NULL, 300);
	assert_true(now_ms() - t0 < 2000);
	assert_true(o.r.timed_out);
	assert_true(o.r.duration_ms >= 300 + 150);
	escaped = (pid_t)atoi(o.r.output);
	assert_true(escaped > 0);
	assert_false(pid_gone(escaped));
	kill(escaped, SIGKILL);
}

/* The state letter of @p pid in /proc ('Z': zombie), or 0 when gone. */
static char
pid_state(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p != NULL ? strrchr(buf, ')') : NULL;
	return p != NULL && p[1] == ' ' ? p[2] : 0;
}

/*
 * The leader exits at once while its background child keeps the pipe: the
 * leader must stay unreaped (a zombie, its pid not reusable) until its
 * group has been killed, so that kill(-pgid) can only reach its own group.
 */
static void
test_group_killed_before_leader_reaped(void **state)
{
	char pids[] = "/tmp/umbra-hook-pids-XXXXXX";
	char script[256];
	char *argv[] = { "sh", "-c", script, NULL };
	struct event_base *base = event_base_new();
	struct outcome o = { 0 };
	int leader = 0, sleeper = 0;
	char err[128];
	FILE *f;
	int fd = mkstemp(pids);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(script, sizeof(script), "echo $$ > %s; sleep 10 & echo $! >> %s; exit 0",
		 pids, pids);
	assert_non_null(hook_run_start(base, argv, NULL, 500, record, &o, err, sizeof(err)));
	event_base_loopexit(base, &(struct timeval){ 0, 250000 });
	event_base_dispatch(base);
	f = fopen(pids, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d %d", &leader, &sleeper), 2);
	fclose(f);
	unlink(pids);
	assert_int_equal(o.calls, 0);
	assert_int_equal(pid_state(leader), 'Z'); /* exited, not reaped */
	assert_int_equal(kill(sleeper, 0), 0);
	run_until(base, &o.calls, 1);
	assert_true(o.r.timed_out);
	assert_int_equal(o.r.exit_status, 0); /* the leader's own exit */
	for (int i = 0; i < 100 && !pid_gone(sleeper); i++)
		usleep(10000);
	assert_true(pid_gone(sleeper));
	assert_int_equal(pid_state(leader), 0); /* reaped once reported */
	assert_true(no_children());
	event_base_free(base);
}

static void
test_spawn_failure(void **state)
{
	char *path[] = { "umbra-no-such-command", NULL };
	char *abs[] = { "/nonexistent/umbra-hook", NULL };
	struct event_base *base = event_base_new();
	struct outcome o = { 0 };
	char err[128];

	(void)state;
	assert_non_null(base);
	assert_non_null(hook_run_start(base, path, NULL, 1000, record, &o, err, sizeof(err)));
	/* Reported from the loop, not from inside hook_run_start. */
	assert_int_equal(o.calls, 0);
	assert_int_equal(hook_run_active(), 1);
	run_until(base, &o.calls, 1);
	assert_int_equal(hook_run_active(), 0);
	assert_true(o.r.spawn_failed);
	assert_false(hook_result_ok(&o.r));
	assert_int_equal(o.r.exit_status, -1);
	assert_string_equal(o.r.output,
			    "cannot start 'umbra-no-such-command': No such file or directory");
	assert_int_equal(o.r.output_len, strlen(o.r.output));
	event_base_free(base);
	o = run_hook(abs, NULL, 1000);
	assert_true(o.r.spawn_failed);
	assert_string_equal(o.r.output,
			    "cannot start '/nonexistent/umbra-hook': No such file or directory");
}

static void
test_output_truncated(void **state)
{
	char *argv[] = { "sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", NULL };
	struct outcome o;

	(void)state;
	o = run_hook(argv, NULL, 5000);
	assert_true(hook_result_ok(&o.r));
	assert_int_equal(o.r.output_len, HOOK_OUTPUT_MAX);
	assert_int_equal(o.r.output_dropped, 100000 - HOOK_OUTPUT_MAX);
	assert_int_equal(strlen(o.r.output), HOOK_OUTPUT_MAX);
	assert_int_equal(strspn(o.r.output, "x"), HOOK_OUTPUT_MAX);
}

/* A callback that starts the next hook from inside done. */
struct chain {
	struct event_base *base;
	struct outcome first, second;
};

static void
chain_second(const struct hook_result *r, void *arg)
{
	struct chain *c = arg;

	record(r, &c->second);
}

static void
chain_first(const struct hook_result *r, void *arg)
{
	static char *argv[] = { "sh", "-c", "echo second", NULL };
	struct chain *c = arg;
	char err[128];

	record(r, &c->first);
	assert_non_null(hook_run_start(c->base, argv, NULL, 5000, chain_second, c,
				       err, sizeof(err)));
	assert_int_equal(hook_run_active(), 1);
}

static void
test_done_starts_hook(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	struct chain c = { .base = event_base_new() };
	char err[128];

	(void)state;
	assert_non_null(c.base);
	assert_non_null(hook_run_start(c.base, argv, NULL, 5000, chain_first, &c,
				       err, sizeof(err)));
	run_until(c.base, &c.second.calls, 1);
	assert_int_equal(c.first.calls, 1);
	assert_true(hook_result_ok(&c.first.r));
	assert_string_equal(c.second.r.output, "second\n");
	assert_int_equal(hook_run_active(), 0);
	event_base_free(c.base);
}

static void
test_cancel(void **state)
{
	char *argv[] = { "sh", "-c", "sleep 10 & sleep 10", NULL };
	char *bad[] = { "umbra-no-such-command", NULL };
	struct event_base *base = event_base_new();
	struct outcome o = { 0 };
	struct hook_run *h;
	char err[128];

	(void)state;
	assert_non_null(base);
	h = hook_run_start(base, argv, NULL, 5000, record, &o, err, sizeof(err));
	assert_non_null(h);
	/* Let it start and its shell fork the background sleep. */
	event_base_loopexit(base, &(struct timeval){ 0, 100000 });
	event_base_dispatch(base);
	hook_run_cancel(h);
	assert_int_equal(hook_run_active(), 0);
	assert_true(no_children());
	/* A failed spawn not yet reported can be cancelled too. */
	h = hook_run_start(base, bad, NULL, 5000, record, &o, err, sizeof(err));
	assert_non_null(h);
	hook_run_cancel(h);
	assert_int_equal(hook_run_active(), 0);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE), 0);
	event_base_dispatch(base);
	assert_int_equal(o.calls, 0);
	event_base_free(base);
}

static void
test_many_at_once(void **state)
{
	enum { N = 20 };
	struct event_base *base = event_base_new();
	struct outcome o[N];
	int total = 0;
	char err[128];

	(void)state;
	assert_non_null(base);
	memset(o, 0, sizeof(o));
	for (int i = 0; i < N; i++) {
		char env[32];
		char *extra[] = { env, NULL };
		char *argv[] = { "sh", "-c", "sleep 0.05; echo $HOOK_N", NULL };

		snprintf(env, sizeof(env), "HOOK_N=%d", i);
		assert_non_null(hook_run_start(base, argv, extra, 5000, record, &o[i],
					       err, sizeof(err)));
	}
	assert_int_equal(hook_run_active(), N);
	/* Without a safety timer: the loop ends when every hook is done. */
	event_base_dispatch(base);
	for (int i = 0; i < N; i++) {
		char want[32];

		snprintf(want, sizeof(want), "%d\n", i);
		assert_int_equal(o[i].calls, 1);
		assert_true(hook_result_ok(&o[i].r));
		assert_string_equal(o[i].r.output, want);
		total += o[i].calls;
	}
	assert_int_equal(total, N);
	assert_int_equal(hook_run_active(), 0);
	assert_true(no_children());
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_true_false),
		cmocka_unit_test(test_output_and_status),
		cmocka_unit_test(test_stdin_and_signal),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_timeout_escaped_output),
		cmocka_unit_test(test_group_killed_before_leader_reaped),
		cmocka_unit_test(test_spawn_failure),
		cmocka_unit_test(test_output_truncated),
		cmocka_unit_test(test_done_starts_hook),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_many_at_once),
	};

	/* A hard stop for the whole run, should a hook never be reported. */
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
