/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Events to transitions. Pure: the configuration, the steering state, the
 * releases and the history come in; a plan (the transition record and the
 * steering state it leads to) or the reason for refusing comes out.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "workflow_private.h"

__attribute__((format(printf, 3, 4)))
static int
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
str_arg(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

json_t *
wf_slot(const json_t *state, const char *service, const char *stage)
{
	return json_object_get(json_object_get(state, service), stage);
}

static const char *
slot_version(const json_t *slot)
{
	const char *v = json_string_value(json_object_get(slot, "version"));

	return v ? v : "";
}

static bool
version_valid(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n == 0 || n >= CONF_VERSION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("._+-", v[i]))
			return false;
	return true;
}

/* Latest release of @p service called @p version (borrowed), or NULL. */
static json_t *
release_find(const json_t *releases, const char *service, const char *version)
{
	json_t *list = json_object_get(releases, service);

	for (size_t i = json_array_size(list); i-- > 0;) {
		json_t *r = json_array_get(list, i);

		if (strcmp(str_arg(r, "version"), version) == 0)
			return r;
	}
	return NULL;
}

static bool
release_live(const json_t *r)
{
	const char *s = str_arg((json_t *)r, "status");

	return strcmp(s, WF_ACTIVE) == 0 || strcmp(s, WF_ROLLING_OUT) == 0;
}

/* Pipeline position of the step taken on @p trigger, or -1. */
static int
step_on(const struct conf_workflow *w, enum conf_wf_trigger trigger)
{
	for (uint8_t i = 0; i < w->n_pipeline; i++)
		if (w->pipeline[i].on == trigger)
			return i;
	return -1;
}

static const char *
stage_name(const struct umbra_conf *c, int stage)
{
	return stage >= 0 ? c->stages[stage].name : "";
}

/* The rollout of @p svc if it applies to @p stage, else NULL. */
static const struct conf_rollout *
rollout_in(const struct conf_service *svc, uint16_t stage)
{
	return svc->rollout.n_steps && svc->rollout.stage == stage ? &svc->rollout : NULL;
}

uint32_t
wf_rollout_next(const struct conf_rollout *r, const json_t *slot)
{
	json_t *canary = json_object_get(slot, "canary");
	json_int_t bp = json_integer_value(json_object_get(canary, "bp"));

	if (canary == NULL || r == NULL)
		return 0;
	for (uint8_t i = 0; i < r->n_steps; i++)
		if (r->steps_bp[i] > bp)
			return r->steps_bp[i];
	return 10000;
}

/*
 * Where @p version goes in @p stage: in place on the stage's one backend
 * (or its own egress), or, with two backends, on the one the running
 * version does not use; there a rollout starts it as a canary.
 */
static json_t *
placement(const struct conf_service *svc, uint16_t stage, const json_t *cur,
	  const char *version)
{
	const struct conf_svc_stage *st = &svc->stages[stage];
	const struct conf_rollout *r = rollout_in(svc, stage);
	const char *cur_b = json_string_value(json_object_get(cur, "backend"));
	const char *b0, *b1, *next;

	if (st->n_backends == 0)
		return json_pack("{s:s}", "version", version);
	b0 = svc->backends[st->backends[0]].name;
	if (st->n_backends == 1)
		return json_pack("{s:s,s:s}", "version", version, "backend", b0);
	b1 = svc->backends[st->backends[1]].name;
	next = cur_b && strcmp(cur_b, b0) == 0 ? b1 : b0;
	if (r == NULL || cur == NULL || slot_version(cur)[0] == '\0' || cur_b == NULL ||
	    r->steps_bp[0] >= 10000)
		return json_pack("{s:s,s:s}", "version", version, "backend", next);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:i}}", "version", slot_version(cur),
			 "backend", cur_b, "canary", "version", version,
			 "backend", next, "bp", (int)r->steps_bp[0]);
}

/* A transition record with its common fields. */
static json_t *
transition_new(const char *event, const char *service, const char *version,
	       const char *from, const char *to, json_t *args)
{
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:[],s:s}", "event", event,
			 "service", service, "version", version, "from_stage", from,
			 "to_stage", to, "args", args ? args : json_object(),
			 "started", when, "changes", "status", WF_RUNNING);
}

/* Record that @p service in @p stage goes from its current slot to @p after. */
static void
change_add(struct wf_plan *p, const char *service, const char *stage, json_t *after)
{
	json_t *before = wf_slot(p->state, service, stage);
	json_t *svc = json_object_get(p->state, service);

	json_array_append_new(json_object_get(p->transition, "changes"),
			      json_pack("{s:s,s:O,s:O}", "stage", stage,
					"before", before ? before : json_null(),
					"after", after ? after : json_null()));
	if (svc == NULL) {
		svc = json_object();
		json_object_set_new(p->state, service, svc);
	}
	if (after != NULL)
		json_object_set(svc, stage, after);
	else
		json_object_del(svc, stage);
	json_decref(after);
}

/* Plan moving @p version of @p svc into pipeline step @p step. */
static int
plan_enter(const struct wf_inputs *in, const char *event, const struct conf_service *svc,
	   const char *version, int step, json_t *args, struct wf_plan *p,
	   char *err, size_t errlen)
{
	const struct conf_workflow *w = &in->conf->workflow;
	uint16_t to = w->pipeline[step].stage;
	const char *to_name = stage_name(in->conf, to);
	json_t *cur = wf_slot(in->state, svc->name, to_name);

	if (json_object_get(cur, "canary") != NULL)
		return refuse(err, errlen, "%s for %s %s refused: %s %s is still rolling "
			      "out in %s; wait for it or roll it back", event, svc->name,
			      version, svc->name,
			      str_arg(json_object_get(cur, "canary"), "version"), to_name);
	p->transition = transition_new(event, svc->name, version,
				       step ? stage_name(in->conf, w->pipeline[step - 1].stage) : "",
				       to_name, args);
	p->state = json_deep_copy(in->state);
	change_add(p, svc->name, to_name, placement(svc, to, cur, version));
	p->publish = true;
	p->run_hooks = true;
	return 0;
}

static const struct conf_service *
service_arg(const struct wf_inputs *in, json_t *args, char *err, size_t errlen)
{
	const char *name = str_arg(args, "service");
	int i = name ? conf_service_index(in->conf, name) : -1;

	if (name == NULL) {
		refuse(err, errlen, "the event needs a service");
		return NULL;
	}
	if (i < 0) {
		refuse(err, errlen, "unknown service '%s' (see workflow/status)", name);
		return NULL;
	}
	if (in->conf->workflow.n_pipeline == 0) {
		refuse(err, errlen, "the configuration has no workflow pipeline");
		return NULL;
	}
	if (json_object_get(in->busy, name) != NULL) {
		refuse(err, errlen, "transition %lld of %s is still running its hooks; "
		       "retry when it ends", (long long)json_integer_value(
			       json_object_get(in->busy, name)), name);
		return NULL;
	}
	return &in->conf->services[i];
}

static int
plan_code_commit(const struct wf_inputs *in, json_t *args, struct wf_plan *p,
		 char *err, size_t errlen)
{
	const struct conf_service *svc = service_arg(in, args, err, errlen);
	const char *version = str_arg(args, "version");
	json_t *r;

	if (svc == NULL)
		return -1;
	if (!version_valid(version))
		return refuse(err, errlen, "code_commit needs a version of 1 to %d letters, "
			      "digits, '.', '_', '+' or '-'", CONF_VERSION_MAX - 1);
	r = release_find(in->releases, svc->name, version);
	if (r != NULL && release_live(r))
		return refuse(err, errlen, "%s %s is already in the pipeline (in %s); "
			      "commit a new version", svc->name, version, str_arg(r, "stage"));
	return plan_enter(in, "code_commit", svc, version, 0, args, p, err, errlen);
}

/* test_completion and manual_approval: only from the step before theirs. */
static int
plan_promote(const struct wf_inputs *in, const char *event,
	     enum conf_wf_trigger trigger, json_t *args, struct wf_plan *p,
	     char *err, size_t errlen)
{
	const struct conf_service *svc = service_arg(in, args, err, errlen);
	const struct conf_workflow *w = &in->conf->workflow;
	const char *version = str_arg(args, "version");
	int step = step_on(w, trigger);
	const char *from;
	json_t *r;

	if (svc == NULL)
		return -1;
	if (version == NULL)
		return refuse(err, errlen, "%s needs a version", event);
	if (step <= 0)
		return refuse(err, errlen, "the pipeline takes no %s", event);
	from = stage_name(in->conf, w->pipeline[step - 1].stage);
	r = release_find(in->releases, svc->name, version);
	if (r == NULL)
		return refuse(err, errlen, "%s refused: %s %s was never committed",
			      event, svc->name, version);
	if (!release_live(r))
		return refuse(err, errlen, "%s refused: %s %s is %s (in %s)", event,
			      svc->name, version, str_arg(r, "status"), str_arg(r, "stage"));
	if (strcmp(str_arg(r, "stage"), from) != 0)
		return refuse(err, errlen, "%s refused: %s %s is in %s; %s is taken "
			      "only in %s", event, svc->name, version, str_arg(r, "stage"),
			      event, from);
	if (trigger == CONF_WF_MANUAL_APPROVAL && str_arg(args, "approver") == NULL)
		return refuse(err, errlen, "manual_approval needs an approver");
	if (trigger == CONF_WF_TEST_COMPLETION &&
	    !json_is_true(json_object_get(args, "passed"))) {
		/* Failed tests change no steering: they are recorded. */
		p->transition = transition_new(event, svc->name, version, from, from, args);
		p->state = json_deep_copy(in->state);
		p->publish = false;
		return 0;
	}
	return plan_enter(in, event, svc, version, step, args, p, err, errlen);
}

/* The automatic step after @p t (borrowed) is done, if the pipeline has one. */
static int
plan_auto(const struct wf_inputs *in, json_t *args, struct wf_plan *p,
	  char *err, size_t errlen)
{
	const struct conf_service *svc = service_arg(in, args, err, errlen);
	const struct conf_workflow *w = &in->conf->workflow;
	int from, step;

	if (svc == NULL)
		return -1;
	from = conf_stage_index(in->conf, str_arg(args, "from_stage"));
	step = from >= 0 ? conf_pipeline_index(in->conf, (uint16_t)from) + 1 : 0;
	if (step <= 0 || step >= w->n_pipeline || w->pipeline[step].on != CONF_WF_AUTO)
		return refuse(err, errlen, "no automatic step after %s",
			      str_arg(args, "from_stage"));
	return plan_enter(in, "auto", svc, str_arg(args, "version"), step, args, p,
			  err, errlen);
}

/* Next rollout step of @p svc (internal event "rollout_step"). */
static int
plan_rollout_step(const struct wf_inputs *in, json_t *args, struct wf_plan *p,
		  char *err, size_t errlen)
{
	const struct conf_service *svc = service_arg(in, args, err, errlen);
	const char *stage;
	json_t *slot, *canary, *after;
	uint32_t next;

	if (svc == NULL)
		return -1;
	if (svc->rollout.n_steps == 0)
		return refuse(err, errlen, "%s has no rollout", svc->name);
	stage = stage_name(in->conf, svc->rollout.stage);
	slot = wf_slot(in->state, svc->name, stage);
	canary = json_object_get(slot, "canary");
	if (canary == NULL)
		return refuse(err, errlen, "%s is not rolling out in %s", svc->name, stage);
	next = wf_rollout_next(&svc->rollout, slot);
	if (next >= 10000)
		after = json_pack("{s:O,s:O}", "version", json_object_get(canary, "version"),
				  "backend", json_object_get(canary, "backend"));
	else {
		after = json_deep_copy(slot);
		json_object_set_new(json_object_get(after, "canary"), "bp",
				    json_integer(next));
	}
	p->transition = transition_new("rollout_step", svc->name, str_arg(canary, "version"),
				       stage, stage, args);
	json_object_set_new(p->transition, "bp", json_integer(next));
	p->state = json_deep_copy(in->state);
	change_add(p, svc->name, stage, after);
	p->publish = true;
	return 0;
}

static bool
touches(const json_t *t, const char *stage)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(t, "changes"), i, c)
		if (strcmp(str_arg(c, "stage"), stage) == 0)
			return true;
	return false;
}

/* Rollbacks are not undone by a rollback: a new event or to_generation is. */
static bool
undoable(const json_t *t, const char *service)
{
	return strcmp(str_arg((json_t *)t, "service"), service) == 0 &&
	       strcmp(str_arg((json_t *)t, "event"), "rollback") != 0 &&
	       strcmp(str_arg((json_t *)t, "status"), WF_DONE) == 0 &&
	       json_object_get(t, "undone_by") == NULL &&
	       json_array_size(json_object_get(t, "changes")) > 0;
}

static bool
is_enter(const json_t *t)
{
	const char *e = str_arg((json_t *)t, "event");

	return strcmp(e, "rollout_step") != 0 && strcmp(e, "rollback") != 0;
}

/*
 * Transitions a rollback to pipeline position @p pos undoes: in each later
 * stage, the one that brought the release there and everything after it.
 * pos -1: only the service's latest transition.
 */
static json_t *
undo_set(const struct wf_inputs *in, const char *service, int pos)
{
	const struct conf_workflow *w = &in->conf->workflow;
	json_t *set = json_array();
	size_t n = json_array_size(in->history);

	if (pos < 0) {
		for (size_t i = n; i-- > 0;) {
			json_t *t = json_array_get(in->history, i);

			if (undoable(t, service)) {
				json_array_append(set, t);
				break;
			}
		}
		return set;
	}
	for (size_t i = n; i-- > 0;) {
		json_t *t = json_array_get(in->history, i);
		bool take = false;

		if (!undoable(t, service))
			continue;
		for (int s = pos + 1; s < w->n_pipeline && !take; s++)
			take = touches(t, stage_name(in->conf, w->pipeline[s].stage));
		if (take)
			json_array_append(set, t);
	}
	return set;
}

/*
 * Keep, per later stage, only the transitions back to the last one that
 * entered it. @p set is newest first; the result keeps that order.
 */
static json_t *
undo_trim(const struct wf_inputs *in, json_t *set, int pos)
{
	const struct conf_workflow *w = &in->conf->workflow;
	json_t *keep = json_object(), *out = json_array();
	char key[32];
	size_t i;
	json_t *t;

	if (pos < 0) {
		json_decref(keep);
		json_decref(out);
		return set;
	}
	for (int s = pos + 1; s < w->n_pipeline; s++) {
		const char *st = stage_name(in->conf, w->pipeline[s].stage);

		json_array_foreach(set, i, t) {
			if (!touches(t, st))
				continue;
			snprintf(key, sizeof(key), "%zu", i);
			json_object_set_new(keep, key, json_true());
			if (is_enter(t) && strcmp(str_arg(t, "to_stage"), st) == 0)
				break;
		}
	}
	json_array_foreach(set, i, t) {
		snprintf(key, sizeof(key), "%zu", i);
		if (json_object_get(keep, key) != NULL)
			json_array_append(out, t);
	}
	json_decref(keep);
	json_decref(set);
	return out;
}

/*
 * Transitions that undo the release in stage @p st: every one touching it
 * back to (and with) the one that brought the release there (its rollout
 * steps too). Newest first.
 */
static json_t *
undo_stage_set(const struct wf_inputs *in, const char *service, const char *st)
{
	json_t *set = json_array();

	for (size_t i = json_array_size(in->history); i-- > 0;) {
		json_t *t = json_array_get(in->history, i);

		if (!undoable(t, service) || !touches(t, st))
			continue;
		json_array_append(set, t);
		if (is_enter(t) && strcmp(str_arg(t, "to_stage"), st) == 0)
			break;
	}
	return set;
}

/* Revert every change of @p set (newest first): the oldest "before" wins. */
static void
undo_apply(struct wf_plan *p, const char *service, json_t *set)
{
	json_t *hooks = json_array(), *ids = json_array();
	size_t i, k;
	json_t *t, *c;

	json_array_foreach(set, i, t) {
		json_t *changes = json_object_get(t, "changes");

		json_array_append(ids, json_object_get(t, "id"));
		for (k = json_array_size(changes); k-- > 0;) {
			c = json_array_get(changes, k);
			json_t *before = json_object_get(c, "before");

			change_add(p, service, str_arg(c, "stage"),
				   json_is_null(before) ? NULL : json_incref(before));
		}
		json_array_foreach(json_object_get(json_object_get(t, "signature"), "hooks"),
				   k, c)
			json_array_append(hooks, c);
	}
	json_object_set_new(p->transition, "undoes", ids);
	json_object_set_new(p->transition, "undo_hooks", hooks);
}

static int
plan_rollback(const struct wf_inputs *in, json_t *args, struct wf_plan *p,
	      char *err, size_t errlen)
{
	const struct conf_service *svc = service_arg(in, args, err, errlen);
	const char *to_stage = str_arg(args, "to_stage");
	const char *in_stage = str_arg(args, "stage");
	json_t *to_gen = json_object_get(args, "to_generation");
	int pos = -1;

	if (svc == NULL)
		return -1;
	if ((to_stage != NULL) + (to_gen != NULL) + (in_stage != NULL) > 1)
		return refuse(err, errlen, "rollback takes one of to_stage, stage and "
			      "to_generation");
	if (in_stage != NULL && conf_stage_index(in->conf, in_stage) < 0)
		return refuse(err, errlen, "rollback: there is no stage '%s'", in_stage);
	if (to_stage != NULL) {
		int s = conf_stage_index(in->conf, to_stage);

		pos = s >= 0 ? conf_pipeline_index(in->conf, (uint16_t)s) : -1;
		if (pos < 0)
			return refuse(err, errlen, "rollback: '%s' is not a stage of the "
				      "pipeline", to_stage);
	}
	p->transition = transition_new("rollback", svc->name, "", "", to_stage ? to_stage : "",
				       args);
	p->state = json_deep_copy(in->state);
	p->publish = true;
	if (to_gen != NULL) {
		json_t *old = in->state_of ? in->state_of(in->ctx,
					  (uint64_t)json_integer_value(to_gen)) : NULL;
		json_t *svc_old = json_object_get(old, svc->name), *cur, *slot;
		const char *stage;

		if (svc_old == NULL) {
			json_decref(old);
			return refuse(err, errlen, "rollback: generation %lld is not kept or "
				      "has no steering for %s (see snapshot/list)",
				      (long long)json_integer_value(to_gen), svc->name);
		}
		cur = json_deep_copy(json_object_get(in->state, svc->name));
		json_object_foreach(cur, stage, slot)
			if (json_object_get(svc_old, stage) == NULL)
				change_add(p, svc->name, stage, NULL);
		json_object_foreach(svc_old, stage, slot)
			if (!json_equal(slot, wf_slot(in->state, svc->name, stage)))
				change_add(p, svc->name, stage, json_incref(slot));
		json_decref(cur);
		json_decref(old);
		json_object_set_new(p->transition, "undoes", json_array());
		json_object_set_new(p->transition, "undo_hooks", json_array());
		return 0;
	}
	json_t *set = in_stage ? undo_stage_set(in, svc->name, in_stage) :
		      undo_trim(in, undo_set(in, svc->name, pos), pos);

	if (json_array_size(set) == 0) {
		json_decref(set);
		if (in_stage)
			return refuse(err, errlen, "nothing to roll back: %s has no transition "
				      "into %s", svc->name, in_stage);
		return refuse(err, errlen, "nothing to roll back: %s has no transition "
			      "%s%s", svc->name, to_stage ? "after " : "to undo",
			      to_stage ? to_stage : "");
	}
	undo_apply(p, svc->name, set);
	json_decref(set);
	return 0;
}

int
wf_plan_make(const struct wf_inputs *in, const char *event, json_t *args,
	     struct wf_plan *plan, char *err, size_t errlen)
{
	int rc;

	memset(plan, 0, sizeof(*plan));
	if (strcmp(event, "code_commit") == 0)
		rc = plan_code_commit(in, args, plan, err, errlen);
	else if (strcmp(event, "test_completion") == 0)
		rc = plan_promote(in, event, CONF_WF_TEST_COMPLETION, args, plan, err, errlen);
	else if (strcmp(event, "manual_approval") == 0)
		rc = plan_promote(in, event, CONF_WF_MANUAL_APPROVAL, args, plan, err, errlen);
	else if (strcmp(event, "rollback") == 0)
		rc = plan_rollback(in, args, plan, err, errlen);
	else if (strcmp(event, "auto") == 0)
		rc = plan_auto(in, args, plan, err, errlen);
	else if (strcmp(event, "rollout_step") == 0)
		rc = plan_rollout_step(in, args, plan, err, errlen);
	else
		rc = refuse(err, errlen, "unknown event '%s' (events: code_commit, "
			    "test_completion, manual_approval, rollback)", event);
	if (rc < 0)
		wf_plan_clear(plan);
	return rc;
}

void
wf_plan_clear(struct wf_plan *plan)
{
	json_decref(plan->transition);
	json_decref(plan->state);
	memset(plan, 0, sizeof(*plan));
}

static json_t *
release_list(json_t *releases, const char *service)
{
	json_t *list = json_object_get(releases, service);

	if (list == NULL) {
		list = json_array();
		json_object_set_new(releases, service, list);
	}
	return list;
}

static void
release_set(json_t *r, const char *stage, const char *status)
{
	json_object_set_new(r, "stage", json_string(stage));
	json_object_set_new(r, "status", json_string(status));
}

/* Other live releases in @p stage have been replaced by @p keep. */
static void
supersede(json_t *list, const char *stage, const json_t *keep)
{
	size_t i;
	json_t *r;

	json_array_foreach(list, i, r)
		if (r != keep && release_live(r) && strcmp(str_arg(r, "stage"), stage) == 0)
			json_object_set_new(r, "status", json_string(WF_SUPERSEDED));
}

/* Stage an undone transition had brought @p version from, or NULL. */
static const char *
undone_from(const json_t *history, const json_t *t, const char *version)
{
	size_t i, k;
	json_t *id, *u;

	json_array_foreach(json_object_get(t, "undoes"), i, id)
		json_array_foreach(history, k, u)
			if (json_equal(json_object_get(u, "id"), id) && is_enter(u) &&
			    strcmp(str_arg(u, "version"), version) == 0)
				return str_arg(u, "from_stage");
	return NULL;
}

/* After a rollback: each undone release is back where it came from. */
static void
releases_after_rollback(json_t *list, json_t *history, const json_t *t,
			const json_t *state)
{
	const char *service = str_arg((json_t *)t, "service");
	const char *to_stage = str_arg((json_t *)t, "to_stage");
	size_t i, k;
	json_t *id, *u, *r;

	json_array_foreach(json_object_get(t, "undoes"), i, id)
		json_array_foreach(history, k, u)
			if (json_equal(json_object_get(u, "id"), id))
				json_object_set(u, "undone_by", json_object_get(t, "id"));
	/* Releases whose version no longer runs where they were are rolled back;
	 * those whose stage an undo returned them to are active there. */
	json_array_foreach(list, i, r) {
		const char *stage = str_arg(r, "stage");
		json_t *slot;

		if (!release_live(r))
			continue;
		slot = wf_slot(state, service, stage);
		if (slot == NULL || strcmp(slot_version(slot), str_arg(r, "version")) != 0) {
			const char *back = to_stage[0] ? to_stage :
					   undone_from(history, t, str_arg(r, "version"));
			json_t *bslot = back ? wf_slot(state, service, back) : NULL;

			if (bslot && strcmp(slot_version(bslot), str_arg(r, "version")) == 0)
				release_set(r, back, WF_ACTIVE);
			else
				json_object_set_new(r, "status", json_string(WF_ROLLED_BACK));
		} else if (json_object_get(slot, "canary") == NULL &&
			   strcmp(str_arg(r, "status"), WF_ROLLING_OUT) == 0) {
			json_object_set_new(r, "status", json_string(WF_ACTIVE));
		}
	}
}

void
wf_plan_done(const struct umbra_conf *conf, json_t *releases, json_t *history,
	     const json_t *t, const json_t *state)
{
	const char *event = str_arg((json_t *)t, "event");
	const char *service = str_arg((json_t *)t, "service");
	const char *version = str_arg((json_t *)t, "version");
	const char *to = str_arg((json_t *)t, "to_stage");
	json_t *list = release_list(releases, service);
	json_t *r = release_find(releases, service, version);
	json_t *slot = wf_slot(state, service, to);
	bool canary = json_object_get(slot, "canary") != NULL;

	(void)conf;
	if (strcmp(event, "rollback") == 0) {
		releases_after_rollback(list, history, t, state);
		return;
	}
	if (strcmp(event, "code_commit") == 0 && (r == NULL || !release_live(r))) {
		r = json_pack("{s:s,s:s,s:s,s:s,s:O}", "version", version, "ref",
			      str_arg(json_object_get(t, "args"), "ref") ?
			      str_arg(json_object_get(t, "args"), "ref") : "",
			      "stage", to, "status", WF_ACTIVE,
			      "committed", json_object_get(t, "started"));
		json_array_append_new(list, r);
	}
	if (r == NULL)
		return;
	if (strcmp(event, "test_completion") == 0 &&
	    !json_is_true(json_object_get(json_object_get(t, "args"), "passed"))) {
		json_object_set_new(r, "status", json_string(WF_FAILED));
		return;
	}
	release_set(r, to, canary ? WF_ROLLING_OUT : WF_ACTIVE);
	if (!canary)
		supersede(list, to, r);
}

void
wf_releases_trim(json_t *releases, size_t max)
{
	const char *service;
	json_t *list;

	json_object_foreach(releases, service, list) {
		/* The oldest ended releases go first; live ones always stay. */
		for (size_t i = 0; json_array_size(list) > max && i < json_array_size(list);) {
			if (release_live(json_array_get(list, i)))
				i++;
			else
				json_array_remove(list, i);
		}
	}
}

/* A value that may reach a hook (environment, history): a safe charset and
 * no leading '-' (a script passing it on must not read it as an option). */
static bool
hook_value_ok(const char *v, size_t max)
{
	size_t n = strlen(v);

	if (n == 0 || n > max || v[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && strchr("._:/@+-", v[i]) == NULL)
			return false;
	return true;
}

int
workflow_args_check(const json_t *args, char *err, size_t errlen)
{
	static const struct { const char *name; size_t max; } words[] = {
		{ "service", CONF_NAME_MAX - 1 }, { "version", CONF_VERSION_MAX - 1 },
		{ "ref", WORKFLOW_VALUE_MAX }, { "approver", WORKFLOW_VALUE_MAX },
		{ "to_stage", CONF_NAME_MAX - 1 }, { "stage", CONF_NAME_MAX - 1 },
	};
	const char *reason = json_string_value(json_object_get(args, "reason"));

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		const char *v = json_string_value(json_object_get(args, words[i].name));

		if (v != NULL && !hook_value_ok(v, words[i].max)) {
			snprintf(err, errlen, "%s must be 1 to %zu of letters, digits and "
				 "'._:/@+-', not starting with '-'", words[i].name,
				 words[i].max);
			return -1;
		}
	}
	if (reason != NULL) {
		size_t n = strlen(reason);

		for (size_t i = 0; i < n; i++)
			if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
				n = SIZE_MAX;
		if (n > WORKFLOW_REASON_MAX) {
			snprintf(err, errlen, "reason must be at most %d bytes without "
				 "control characters", WORKFLOW_REASON_MAX);
			return -1;
		}
	}
	return 0;
}
