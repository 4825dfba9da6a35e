/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * When a worker counts as overloaded (shadow_worker_rx/_loop, lib/shadow
 * shadow.h): SHADOW_SHED_LOOPS loops in a row with a full RX burst turn
 * shedding on, as many without one turn it off; a single odd loop changes
 * nothing. Pure: no EAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "shadow.h"

#define BURST 32

/* One poll loop over three queues: the first gives @p n packets. */
static void
loop(struct shadow_worker *sw, uint16_t n)
{
	shadow_worker_rx(sw, n, BURST);
	shadow_worker_rx(sw, 0, BURST);         /* an idle queue beside it */
	shadow_worker_rx(sw, 5, BURST);
	shadow_worker_loop(sw);
}

static void
test_turns_on_after_full_loops(void **state)
{
	struct shadow_worker sw;

	(void)state;
	memset(&sw, 0, sizeof(sw));
	for (int i = 0; i < SHADOW_SHED_LOOPS - 1; i++) {
		loop(&sw, BURST);
		assert_false(sw.overloaded);
	}
	loop(&sw, BURST);
	assert_true(sw.overloaded);
}

static void
test_one_odd_loop_changes_nothing(void **state)
{
	struct shadow_worker sw;

	(void)state;
	memset(&sw, 0, sizeof(sw));
	/* Full, full, full, then one loop that caught up: the count restarts. */
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < SHADOW_SHED_LOOPS - 1; i++)
			loop(&sw, BURST);
		loop(&sw, 7);
		assert_false(sw.overloaded);
	}
	for (int i = 0; i < SHADOW_SHED_LOOPS; i++)
		loop(&sw, BURST);
	assert_true(sw.overloaded);
	/* Overloaded: one loop without a full burst does not end it. */
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < SHADOW_SHED_LOOPS - 1; i++)
			loop(&sw, 3);
		loop(&sw, BURST);
		assert_true(sw.overloaded);
	}
}

static void
test_turns_off_after_calm_loops(void **state)
{
	struct shadow_worker sw;

	(void)state;
	memset(&sw, 0, sizeof(sw));
	for (int i = 0; i < SHADOW_SHED_LOOPS; i++)
		loop(&sw, BURST);
	assert_true(sw.overloaded);
	for (int i = 0; i < SHADOW_SHED_LOOPS - 1; i++) {
		loop(&sw, 0);
		assert_true(sw.overloaded);
	}
	loop(&sw, 0);
	assert_false(sw.overloaded);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_turns_on_after_full_loops),
		cmocka_unit_test(test_one_odd_loop_changes_nothing),
		cmocka_unit_test(test_turns_off_after_calm_loops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
