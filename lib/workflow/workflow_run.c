/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running transitions on the management loop: hooks before the publish,
 * the publish, hooks after it, abort and restore when a hook fails, the
 * automatic next step, rollout steps on a timer. Nothing here waits: hooks
 * report through hook_run's callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workflow_private.h"

enum wf_phase { WF_PHASE_BEFORE, WF_PHASE_AFTER };

/** A transition that is running its hooks. */
struct wf_txn {
	struct workflow *wf;
	json_t *t;              /**< its record (shared with the history) */
	json_t *state;          /**< steering state it publishes */
	json_t *hooks;          /**< [{name, when, run, undo, timeout_ms}] to run */
	size_t next_hook;
	enum wf_phase phase;
	bool publish;
	bool published;
	struct hook_run *run;
	struct wf_txn *next;
};

static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void
now_iso(char *buf, size_t len)
{
	time_t now = time(NULL);

	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
}

static json_t *
argv_json(const char (*argv)[CONF_HOOK_ARG_LEN], uint8_t argc)
{
	json_t *a = json_array();

	for (uint8_t i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	return a;
}

/* Hooks of the configuration for a transition into its to_stage. */
static json_t *
hooks_for(const struct umbra_conf *c, const json_t *t)
{
	int stage = conf_stage_index(c, str_of(t, "to_stage"));
	int svc = conf_service_index(c, str_of(t, "service"));
	json_t *list = json_array();

	for (uint32_t i = 0; stage >= 0 && i < c->workflow.n_hooks; i++) {
		const struct conf_hook *h = &c->workflow.hooks[i];

		if (h->stage != stage || (h->service >= 0 && h->service != svc))
			continue;
		json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:o,s:i}",
			"name", h->name, "when", h->when == CONF_HOOK_AFTER ? "after" : "before",
			"run", argv_json(h->argv, h->argc),
			"undo", argv_json(h->undo, h->undo_argc),
			"timeout_ms", (int)h->timeout_ms));
	}
	return list;
}

/* A rollback runs the undo commands of what it undoes, after publishing. */
static json_t *
undo_hooks_for(const json_t *t)
{
	json_t *list = json_array();
	size_t i;
	json_t *h;

	json_array_foreach(json_object_get(t, "undo_hooks"), i, h)
		json_array_append_new(list, json_pack("{s:s,s:s,s:O,s:[],s:I}",
			"name", str_of(h, "name"), "when", "after",
			"run", json_object_get(h, "run"), "undo",
			"timeout_ms", json_integer_value(json_object_get(h, "timeout_ms"))));
	return list;
}

/* Latest earlier transition of the service that touched @p stage. */
static json_t *
depends_on(const struct workflow *wf, const json_t *t)
{
	json_t *ids = json_array();
	size_t i, k, n = json_array_size(wf->history);
	json_t *c;

	json_array_foreach(json_object_get(t, "changes"), i, c) {
		for (k = n; k-- > 0;) {
			json_t *u = json_array_get(wf->history, k);
			size_t j;
			json_t *uc;
			bool hit = false;

			if (u == t || strcmp(str_of(u, "service"), str_of(t, "service")) != 0 ||
			    strcmp(str_of(u, "status"), WF_DONE) != 0 ||
			    json_object_get(u, "undone_by") != NULL)
				continue;
			json_array_foreach(json_object_get(u, "changes"), j, uc)
				hit |= strcmp(str_of(uc, "stage"), str_of(c, "stage")) == 0;
			if (hit) {
				json_array_append(ids, json_object_get(u, "id"));
				break;
			}
		}
	}
	return ids;
}

/*
 * The rollback signature: the changes to revert (newest first), the undo
 * commands of the hooks that ran (filled as they succeed), the transitions
 * this one builds on, and what must hold once it is undone.
 */
static json_t *
signature_new(const struct workflow *wf, const json_t *t)
{
	json_t *changes = json_object_get(t, "changes");
	json_t *revert = json_array(), *verify = json_array();
	size_t n = json_array_size(changes);

	for (size_t i = n; i-- > 0;) {
		json_t *c = json_array_get(changes, i);

		json_array_append_new(revert, json_pack("{s:I,s:s,s:s,s:O}",
			"order", (json_int_t)(n - i), "service", str_of(t, "service"),
			"stage", str_of(c, "stage"), "revert_to", json_object_get(c, "before")));
		json_array_append_new(verify, json_pack("{s:s,s:s,s:O}",
			"check", "steering", "stage", str_of(c, "stage"),
			"expect", json_object_get(c, "before")));
	}
	return json_pack("{s:o,s:[],s:o,s:o}", "changes", revert, "hooks",
			 "depends_on", depends_on(wf, t), "verify", verify);
}

static void txn_step(struct wf_txn *x);

static bool
is_rollback(const json_t *t)
{
	return strcmp(str_of(t, "event"), "rollback") == 0;
}

static void
txn_unlink(struct wf_txn *x)
{
	struct wf_txn **p = &x->wf->running;

	while (*p != NULL && *p != x)
		p = &(*p)->next;
	if (*p == x)
		*p = x->next;
}

static void
txn_free(struct wf_txn *x)
{
	json_decref(x->t);
	json_decref(x->state);
	json_decref(x->hooks);
	free(x);
}

/* Publish @p state for transition @p t; its number, or 0 (recorded). */
static uint64_t
publish(struct workflow *wf, json_t *t, const json_t *state, const char *what)
{
	char source[300], err[512];
	char *text = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t id;

	snprintf(source, sizeof(source), "workflow:%s %s %s (transition %lld)", what,
		 str_of(t, "service"), str_of(t, "version"),
		 (long long)json_integer_value(json_object_get(t, "id")));
	id = text ? wf->ops.publish(wf->ctx, text, source, err, sizeof(err)) : 0;
	free(text);
	if (id == 0)
		json_object_set_new(t, "message", json_string(text ? err : "out of memory"));
	return id;
}

/* The current steering with @p t's changes reverted (its service only). */
static json_t *
state_reverted(struct workflow *wf, const json_t *t)
{
	json_error_t jerr;
	json_t *state = json_loads(wf->ops.state(wf->ctx, NULL), 0, &jerr);
	json_t *changes = json_object_get(t, "changes");
	json_t *svc;

	if (state == NULL)
		return NULL;
	svc = json_object_get(state, str_of(t, "service"));
	for (size_t i = json_array_size(changes); svc != NULL && i-- > 0;) {
		json_t *c = json_array_get(changes, i);
		json_t *before = json_object_get(c, "before");

		if (json_is_null(before))
			json_object_del(svc, str_of(c, "stage"));
		else
			json_object_set(svc, str_of(c, "stage"), before);
	}
	return state;
}

static void rollout_arm(struct workflow *wf, const char *service);

static void
txn_chain_auto(struct workflow *wf, const json_t *t)
{
	char err[512];
	json_t *args, *r;

	if (strcmp(str_of(t, "event"), "rollback") == 0 ||
	    strcmp(str_of(t, "event"), "rollout_step") == 0 ||
	    strcmp(str_of(t, "from_stage"), str_of(t, "to_stage")) == 0)
		return;
	args = json_pack("{s:s,s:s,s:s}", "service", str_of(t, "service"),
			 "version", str_of(t, "version"), "from_stage", str_of(t, "to_stage"));
	r = workflow_event(wf, "auto", args, err, sizeof(err));
	json_decref(args);
	json_decref(r);
}

/*
 * The signatures' verification: the generation now running must steer the
 * service exactly as the rollback planned (every undone change reverted).
 */
static void
rollback_verify(struct workflow *wf, json_t *t, const json_t *planned)
{
	const char *svc = str_of(t, "service");
	json_t *now = json_loads(wf->ops.state(wf->ctx, NULL), 0, NULL);
	json_t *want = json_object_get(planned, svc), *have = json_object_get(now, svc);
	bool ok = (want == NULL && have == NULL) ||
		  (want != NULL && have != NULL && json_equal(want, have));

	json_object_set_new(t, "verified", json_boolean(ok));
	if (!ok)
		json_object_set_new(t, "message", json_string(
			"verification failed: the running generation does not steer "
			"the service as the rollback planned"));
	json_decref(now);
}

/* The transition has ended (done or aborted): record, release, go on. */
static void
txn_end(struct wf_txn *x, const char *status)
{
	struct workflow *wf = x->wf;
	json_t *t = json_incref(x->t);
	char when[32];

	now_iso(when, sizeof(when));
	if (is_rollback(t) && strcmp(status, WF_DONE) == 0)
		rollback_verify(wf, t, x->state);
	json_object_set_new(t, "status", json_string(status));
	json_object_set_new(t, "finished", json_string(when));
	json_object_del(wf->busy, str_of(t, "service"));
	if (strcmp(status, WF_DONE) == 0)
		wf_plan_done(wf->ops.conf(wf->ctx), wf->releases, wf->history, t, x->state);
	txn_unlink(x);
	txn_free(x);
	wf_store_note(wf, t);
	rollout_arm(wf, str_of(t, "service"));
	if (strcmp(status, WF_DONE) == 0)
		txn_chain_auto(wf, t);
	json_decref(t);
}

/* A hook failed: nothing of the transition may remain. */
static void
txn_abort(struct wf_txn *x, const char *why)
{
	json_object_set_new(x->t, "message", json_string(why));
	if (x->published) {
		json_t *back = state_reverted(x->wf, x->t);
		uint64_t id = back ? publish(x->wf, x->t, back, "abort") : 0;

		json_object_set_new(x->t, "restored_generation", json_integer((json_int_t)id));
		json_decref(back);
	}
	txn_end(x, WF_ABORTED);
}

static json_t *
hook_result_json(const json_t *h, const struct hook_result *r)
{
	return json_pack("{s:s,s:s,s:O,s:i,s:i,s:b,s:b,s:f,s:s%,s:I}",
			 "name", str_of(h, "name"), "when", str_of(h, "when"),
			 "run", json_object_get(h, "run"), "exit", r->exit_status,
			 "signal", r->term_signal, "timed_out", r->timed_out,
			 "spawn_failed", r->spawn_failed, "duration_ms", r->duration_ms,
			 "output", r->output, r->output_len,
			 "output_dropped", (json_int_t)r->output_dropped);
}

static void
txn_hook_done(const struct hook_result *r, void *arg)
{
	struct wf_txn *x = arg;
	json_t *h = json_array_get(x->hooks, x->next_hook - 1);
	json_t *undo = json_object_get(h, "undo");
	char why[300];

	x->run = NULL;
	json_array_append_new(json_object_get(x->t, "hooks"), hook_result_json(h, r));
	if (hook_result_ok(r)) {
		if (json_array_size(undo) > 0)
			json_array_append_new(json_object_get(json_object_get(x->t, "signature"),
							      "hooks"),
					      json_pack("{s:s,s:O,s:O}", "name", str_of(h, "name"),
							"run", undo, "timeout_ms",
							json_object_get(h, "timeout_ms")));
	} else if (is_rollback(x->t)) {
		/* A rollback is never undone by its own hooks: note and go on. */
		json_object_set_new(x->t, "hook_errors", json_integer(
			json_integer_value(json_object_get(x->t, "hook_errors")) + 1));
	} else {
		snprintf(why, sizeof(why), "hook '%s' %s", str_of(h, "name"),
			 r->timed_out ? "timed out" : r->spawn_failed ? "could not start" :
			 "failed");
		txn_abort(x, why);
		return;
	}
	wf_store_note(x->wf, x->t);
	txn_step(x);
}

static char **
hook_env(const json_t *t)
{
	static char buf[7][320];
	static char *env[8];
	const char *names[] = { "UMBRA_EVENT", "UMBRA_SERVICE", "UMBRA_VERSION",
				"UMBRA_FROM_STAGE", "UMBRA_TO_STAGE", "UMBRA_REF" };
	const char *keys[] = { "event", "service", "version", "from_stage", "to_stage" };

	for (int i = 0; i < 5; i++)
		snprintf(buf[i], sizeof(buf[i]), "%s=%s", names[i], str_of(t, keys[i]));
	snprintf(buf[5], sizeof(buf[5]), "%s=%s", names[5],
		 str_of(json_object_get(t, "args"), "ref"));
	snprintf(buf[6], sizeof(buf[6]), "UMBRA_TRANSITION=%lld",
		 (long long)json_integer_value(json_object_get(t, "id")));
	for (int i = 0; i < 7; i++)
		env[i] = buf[i];
	env[7] = NULL;
	return env;
}

/* Start the next hook of the current phase; true when one was started. */
static bool
txn_next_hook(struct wf_txn *x)
{
	const char *phase = x->phase == WF_PHASE_BEFORE ? "before" : "after";
	char *argv[CONF_HOOK_ARGV_MAX + 1];
	char err[256];

	while (x->next_hook < json_array_size(x->hooks)) {
		json_t *h = json_array_get(x->hooks, x->next_hook);
		json_t *run = json_object_get(h, "run");
		size_t n = json_array_size(run), i;

		if (strcmp(str_of(h, "when"), phase) != 0) {
			if (x->phase == WF_PHASE_BEFORE)
				return false; /* before hooks come first */
			x->next_hook++;
			continue;
		}
		x->next_hook++;
		for (i = 0; i < n && i < CONF_HOOK_ARGV_MAX; i++)
			argv[i] = (char *)json_string_value(json_array_get(run, i));
		argv[i] = NULL;
		x->run = hook_run_start(x->wf->base, argv, hook_env(x->t),
			(uint32_t)json_integer_value(json_object_get(h, "timeout_ms")),
			txn_hook_done, x, err, sizeof(err));
		if (x->run == NULL) {
			txn_abort(x, err);
			return true;
		}
		return true;
	}
	return false;
}

/* Before hooks, publish, after hooks, end. */
static void
txn_step(struct wf_txn *x)
{
	if (x->phase == WF_PHASE_BEFORE) {
		if (txn_next_hook(x))
			return;
		x->phase = WF_PHASE_AFTER;
		if (x->publish) {
			uint64_t id = publish(x->wf, x->t, x->state, str_of(x->t, "event"));

			if (id == 0) {
				txn_end(x, WF_ABORTED);
				return;
			}
			x->published = true;
			json_object_set_new(x->t, "generation", json_integer((json_int_t)id));
			wf_store_note(x->wf, x->t);
		}
	}
	if (txn_next_hook(x))
		return;
	txn_end(x, WF_DONE);
}

/* Sort hooks so that every "before" hook comes ahead of every "after" one. */
static void
hooks_order(json_t *hooks)
{
	json_t *after = json_array();

	for (size_t i = 0; i < json_array_size(hooks);) {
		json_t *h = json_array_get(hooks, i);

		if (strcmp(str_of(h, "when"), "after") == 0) {
			json_array_append(after, h);
			json_array_remove(hooks, i);
		} else {
			i++;
		}
	}
	json_array_extend(hooks, after);
	json_decref(after);
}

/* Memory alone keeps by default what it keeps beside a database. */
_Static_assert(CONF_WORKFLOW_HISTORY_DEFAULT == WORKFLOW_WINDOW,
	       "workflow.history's default is the window");

size_t
wf_window(const struct workflow *wf, const struct umbra_conf *c)
{
	size_t max = c->workflow.history_max ? c->workflow.history_max :
		     CONF_WORKFLOW_HISTORY_DEFAULT;

	/* With the database every transition is there: memory needs only the
	 * recent ones (rollbacks, dependencies, retention). */
	if (wf->hist != NULL && max > WORKFLOW_WINDOW)
		max = WORKFLOW_WINDOW;
	return max;
}

/* Is @p i the newest transition of its service in the window? */
static bool
last_of_service(const json_t *history, size_t i)
{
	const char *svc = str_of(json_array_get(history, i), "service");

	for (size_t k = i + 1; k < json_array_size(history); k++)
		if (strcmp(str_of(json_array_get(history, k), "service"), svc) == 0)
			return false;
	return true;
}

void
wf_history_trim(struct workflow *wf, const struct umbra_conf *c)
{
	size_t max = wf_window(wf, c), i = 0;

	/* Oldest first; a running transition and each service's newest stay
	 * (the generations it rolls back to are kept for it), so the window
	 * holds at most max + services + running. */
	while (json_array_size(wf->history) > max && i < json_array_size(wf->history)) {
		json_t *t = json_array_get(wf->history, i);

		if (strcmp(str_of(t, "status"), WF_RUNNING) == 0 ||
		    last_of_service(wf->history, i))
			i++;
		else
			json_array_remove(wf->history, i);
	}
	/* A release is at least one transition: never more releases than that. */
	wf_releases_trim(wf->releases, max);
}

/* Take a plan and start running it. */
static json_t *
txn_start(struct workflow *wf, struct wf_plan *plan)
{
	const struct umbra_conf *c = wf->ops.conf(wf->ctx);
	struct wf_txn *x = calloc(1, sizeof(*x));
	json_t *t = plan->transition;
	uint64_t base;

	if (x == NULL)
		return NULL;
	wf->ops.state(wf->ctx, &base);
	json_object_set_new(t, "id", json_integer((json_int_t)wf->next_id++));
	json_object_set_new(t, "base_generation", json_integer((json_int_t)base));
	json_object_set_new(t, "hooks", json_array());
	json_object_set_new(t, "signature", signature_new(wf, t));
	json_array_append(wf->history, t);
	wf_history_trim(wf, c);
	json_object_set(wf->busy, str_of(t, "service"), json_object_get(t, "id"));
	x->wf = wf;
	x->t = json_incref(t);
	x->state = json_incref(plan->state);
	x->hooks = is_rollback(t) ? undo_hooks_for(t) :
		   plan->run_hooks ? hooks_for(c, t) : json_array();
	hooks_order(x->hooks);
	x->publish = plan->publish;
	x->next = wf->running;
	wf->running = x;
	wf_store_note(wf, t);
	txn_step(x);
	return t;
}

/* Refuse a plan whose steering breaks an invariant: nothing has run yet. */
static int
plan_check(struct workflow *wf, const char *event, const struct wf_plan *plan,
	   char *err, size_t errlen)
{
	const char *version = str_of(plan->transition, "version");
	char why[512];

	if (!plan->publish || wf->ops.check == NULL ||
	    wf->ops.check(wf->ctx, plan->state, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s for %s%s%s refused: %s", event,
		 str_of(plan->transition, "service"), version[0] ? " " : "", version, why);
	return -1;
}

json_t *
workflow_event(struct workflow *wf, const char *event, json_t *args, char *err,
	       size_t errlen)
{
	json_t *state = json_loads(wf->ops.state(wf->ctx, NULL), 0, NULL);
	struct wf_inputs in = {
		.conf = wf->ops.conf(wf->ctx), .state = state, .releases = wf->releases,
		.history = wf->history, .busy = wf->busy, .ctx = wf,
	};
	struct wf_plan plan;
	json_t *t, *out;

	in.state_of = wf_state_of;
	if (state == NULL) {
		snprintf(err, errlen, "the current steering state cannot be read");
		return NULL;
	}
	if (wf_plan_make(&in, event, args, &plan, err, errlen) < 0) {
		json_decref(state);
		return NULL;
	}
	json_decref(state);
	if (plan_check(wf, event, &plan, err, errlen) < 0) {
		wf_plan_clear(&plan);
		return NULL;
	}
	t = txn_start(wf, &plan);
	out = t ? json_deep_copy(t) : NULL;
	wf_plan_clear(&plan);
	if (out == NULL)
		snprintf(err, errlen, "out of memory");
	return out;
}

/* ---- rollout steps ---- */

static void
rollout_fire(evutil_socket_t fd, short what, void *arg)
{
	struct wf_timer *tm = arg;
	json_t *args = json_pack("{s:s}", "service", tm->service);
	char err[512];
	json_t *r;

	(void)fd;
	(void)what;
	if (tm->wf->ops.may_advance &&
	    !tm->wf->ops.may_advance(tm->wf->ctx, tm->service, err, sizeof(err))) {
		struct timeval tv = { 0, WORKFLOW_HOLD_RETRY_MS * 1000 };

		evtimer_add(tm->ev, &tv);   /* the hold time has passed: ask again soon */
		json_decref(args);
		return;
	}
	r = workflow_event(tm->wf, "rollout_step", args, err, sizeof(err));
	if (r == NULL && json_object_get(tm->wf->busy, tm->service) != NULL)
		rollout_arm(tm->wf, tm->service); /* busy: try again later */
	json_decref(r);
	json_decref(args);
}

static struct wf_timer *
timer_of(struct workflow *wf, const char *service)
{
	struct wf_timer *free_slot = NULL;

	for (int i = 0; i < CONF_MAX_SERVICES; i++) {
		struct wf_timer *tm = &wf->timers[i];

		if (tm->ev != NULL && strcmp(tm->service, service) == 0)
			return tm;
		if (tm->ev == NULL && free_slot == NULL)
			free_slot = tm;
	}
	if (free_slot != NULL) {
		snprintf(free_slot->service, sizeof(free_slot->service), "%s", service);
		free_slot->wf = wf;
		free_slot->ev = evtimer_new(wf->base, rollout_fire, free_slot);
	}
	return free_slot;
}

/* Arm the next rollout step of @p service if it is rolling out, else disarm. */
static void
rollout_arm(struct workflow *wf, const char *service)
{
	const struct umbra_conf *c = wf->ops.conf(wf->ctx);
	int si = conf_service_index(c, service);
	json_t *state = json_loads(wf->ops.state(wf->ctx, NULL), 0, NULL);
	const struct conf_service *svc = si >= 0 ? &c->services[si] : NULL;
	json_t *slot = svc && svc->rollout.n_steps ?
		       wf_slot(state, service, c->stages[svc->rollout.stage].name) : NULL;
	struct wf_timer *tm = timer_of(wf, service);

	if (tm != NULL && tm->ev != NULL) {
		struct timeval tv = { .tv_sec = svc ? svc->rollout.hold_s : 0 };

		if (json_object_get(slot, "canary") != NULL)
			evtimer_add(tm->ev, &tv);
		else
			evtimer_del(tm->ev);
	}
	json_decref(state);
}

/* ---- life cycle ---- */

/*
 * After a restart: a transition that was running is interrupted, and what
 * it had published is reverted. Whether it published is read from the
 * steering that runs, not from the record: umbra may have stopped between
 * storing the generation and noting its number.
 */
static void
resume_interrupted(struct workflow *wf)
{
	size_t i;
	json_t *t;

	json_array_foreach(wf->history, i, t) {
		json_t *now, *back;

		if (strcmp(str_of(t, "status"), WF_RUNNING) != 0)
			continue;
		json_object_set_new(t, "status", json_string(WF_INTERRUPTED));
		json_object_set_new(t, "message", json_string(
			"umbra stopped while this transition ran; its change was reverted"));
		now = json_loads(wf->ops.state(wf->ctx, NULL), 0, NULL);
		back = state_reverted(wf, t);
		if (back != NULL && now != NULL && !json_equal(now, back))
			json_object_set_new(t, "restored_generation", json_integer(
				(json_int_t)publish(wf, t, back, "interrupted")));
		json_decref(back);
		json_decref(now);
	}
}

struct workflow *
workflow_create(struct event_base *base, const char *dir,
		const struct workflow_ops *ops, void *ctx, char *err, size_t errlen)
{
	struct workflow *wf = calloc(1, sizeof(*wf));
	const struct umbra_conf *c;

	if (wf == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	wf->base = base;
	wf->ops = *ops;
	wf->ctx = ctx;
	wf->next_id = 1;
	wf->busy = json_object();
	snprintf(wf->dir, sizeof(wf->dir), "%s", dir ? dir : "");
	if (wf_store_load(wf, err, errlen) < 0) {
		workflow_free(wf);
		return NULL;
	}
	c = ops->conf(ctx);
	wf_history_trim(wf, c);
	resume_interrupted(wf);
	wf_store_save(wf); /* compacts what the journal added */
	for (uint32_t i = 0; i < c->n_services; i++)
		rollout_arm(wf, c->services[i].name);
	return wf;
}

void
workflow_free(struct workflow *wf)
{
	if (wf == NULL)
		return;
	while (wf->running != NULL) {
		struct wf_txn *x = wf->running;

		wf->running = x->next;
		if (x->run != NULL)
			hook_run_cancel(x->run);
		txn_free(x);
	}
	for (int i = 0; i < CONF_MAX_SERVICES; i++)
		if (wf->timers[i].ev != NULL)
			event_free(wf->timers[i].ev);
	wf_store_close(wf);
	json_decref(wf->releases);
	json_decref(wf->history);
	json_decref(wf->busy);
	free(wf);
}
