/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's release workflow, every member's half: the leader's log
 * followed once per entry (the revision followed kept in the state
 * directory), the decisions it carries, and rollout steps taken when the
 * leader took them (PREFIX/rollout/SVC: the steering each step left).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umbra_fleet_private.h"

#define ROLLOUT_PASSED_KEPT 16

/* STATE_DIR/fleet.json: the log revision followed, so that a member that
 * restarts follows what it missed, and nothing twice. */
static void
followed_path(const struct umbra_fleet *f, char *path, size_t cap)
{
	snprintf(path, cap, "%s/fleet.json", f->app->opts.state_dir);
}

void
fleet_log_load(struct umbra_fleet *f)
{
	char path[1024];
	const char *pfx;
	json_t *o;

	if (f->app->opts.state_dir == NULL || !f->app->opts.state_dir[0])
		return;
	followed_path(f, path, sizeof(path));
	o = json_load_file(path, 0, NULL);
	pfx = json_string_value(json_object_get(o, "prefix"));
	if (pfx != NULL && strcmp(pfx, f->cf.prefix) == 0) {   /* the same fleet */
		f->log_followed = json_integer_value(json_object_get(o, "log_revision"));
		f->log_persisted = true;
	}
	json_decref(o);
}

/* Small and rare (one write per transition followed), like the journal. */
static void
followed_save(struct umbra_fleet *f)
{
	char path[1024], tmp[1100];
	json_t *o;

	if (f->app->opts.state_dir == NULL || !f->app->opts.state_dir[0])
		return;
	followed_path(f, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Entries still waiting are not followed yet: after a restart they are. */
	o = json_pack("{s:s,s:I}", "prefix", f->cf.prefix, "log_revision",
		      (json_int_t)(f->n_defer ? f->defer[0].rev - 1 : f->log_followed));
	if (o != NULL && json_dump_file(o, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
		f->log_persisted = true;
	json_decref(o);
}

struct fleet_decision *
fleet_decision_slot(struct umbra_fleet *f)
{
	struct fleet_decision *d = &f->dec[f->n_dec++ % FLEET_DECISIONS_KEPT];

	*d = (struct fleet_decision){ 0 };
	return d;
}

static int64_t
log_key_rev(struct umbra_fleet *f, const char *key)
{
	return strtoll(key + strlen(f->k_log), NULL, 10);
}

static void
log_keys_note(struct umbra_fleet *f, int64_t k, bool gone)
{
	for (unsigned int i = 0; i < f->n_log_keys; i++)
		if (f->log_keys[i] == k) {
			if (gone)
				f->log_keys[i] = f->log_keys[--f->n_log_keys];
			return;
		}
	if (!gone && f->n_log_keys < sizeof(f->log_keys) / sizeof(f->log_keys[0]))
		f->log_keys[f->n_log_keys++] = k;
}

static int
i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
on_pruned(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (fleet_answer_ok(f, r, error, tag, "pruning the log") && !r->succeeded)
		fleet_fence_lost(f, r, "pruning the log");
}

/* The leader keeps the last FLEET_LOG_ETCD entries in etcd (fenced). */
void
fleet_log_prune(struct umbra_fleet *f)
{
	char from[ETCD_KEY_MAX], to[ETCD_KEY_MAX];

	if (f->n_log_keys <= FLEET_LOG_ETCD)
		return;
	qsort(f->log_keys, f->n_log_keys, sizeof(f->log_keys[0]), i64_cmp);
	snprintf(from, sizeof(from), "%s", f->k_log);
	snprintf(to, sizeof(to), "%s%020" PRId64, f->k_log,
		 f->log_keys[f->n_log_keys - FLEET_LOG_ETCD]);
	etcd_call(f->cli, "/v3/kv/txn", etcd_req_fenced(f->k_leader, f->leader_rev, NULL,
							 NULL, 0, from, to),
		  on_pruned, f, f->epoch);
}

/* Run entry @p o on this workflow: the leader ran it, so should we. */
static void
run_here(struct umbra_fleet *f, json_t *o, struct fleet_logent *l)
{
	json_t *r = fleet_run_event(f, o, false);
	const char *res = json_string_value(json_object_get(r, "result"));

	snprintf(l->here, sizeof(l->here), "%s", strcmp(res, "started") == 0 ? "followed" : res);
	json_decref(r);
	f->log_followed_n++;
	if (strncmp(l->here, "refused", 7) == 0) {
		f->log_refused_n++;
		fprintf(stderr, "umbra: fleet: %s of %s from the leader %s: %s\n",
			l->event, l->service, l->leader, l->here);
	}
}

/* A transition of @p svc still runs its hooks here. */
static bool
busy_here(struct umbra_fleet *f, const char *svc)
{
	json_t *st = workflow_status(f->app->workflow, svc);
	bool busy = json_object_get(json_array_get(json_object_get(st, "services"), 0),
				    "running") != NULL;

	json_decref(st);
	return busy;
}

/*
 * What following entry @p o means here; runs it when it is ours to run. Our
 * own transition of the service may still run its hooks (the leader's
 * ended first): the entry then waits, and every later one behind it, so
 * that entries run in the leader's order. @return true when it waits.
 */
static bool
follow(struct umbra_fleet *f, json_t *o, struct fleet_logent *l, bool act)
{
	const char *res = json_string_value(json_object_get(o, "result"));

	if (!act)
		snprintf(l->here, sizeof(l->here), "before this member started");
	else if (strcmp(l->leader, f->cf.id) == 0)
		snprintf(l->here, sizeof(l->here), "ran as leader");
	else if (fleet_ran_here(f, json_string_value(json_object_get(o, "key")),
				json_integer_value(json_object_get(o, "key_revision"))))
		/* We ran it as leader, then were deposed before logging it:
		 * once is enough. */
		snprintf(l->here, sizeof(l->here), "ran here as a deposed leader");
	else if (res == NULL || strncmp(res, "refused", 7) == 0)
		snprintf(l->here, sizeof(l->here), "refused by the leader");
	else if (strcmp(res, "done") != 0 && strcmp(res, "decided") != 0)
		snprintf(l->here, sizeof(l->here), "not done by the leader: %.250s", res);
	else if (fleet_decided_by(o, f->cf.id))
		snprintf(l->here, sizeof(l->here), "decided here");
	else if ((f->n_defer || busy_here(f, l->service)) && f->n_defer < FLEET_DEFER_MAX &&
		 f->t_defer != NULL) {
		f->defer[f->n_defer].rev = l->rev;
		f->defer[f->n_defer++].o = json_incref(o);
		f->log_waited_n++;
		snprintf(l->here, sizeof(l->here), "waiting: a transition of %s runs here",
			 l->service);
		fleet_timer_ms(f->t_defer, FLEET_DEFER_RETRY_MS);
		return true;
	} else
		run_here(f, o, l);
	l->done_ms = fleet_wall_ms();
	return false;
}

/* A rollback decided by a member: shown with its delay to here. */
static void
decision_note(struct umbra_fleet *f, json_t *o, const struct fleet_logent *l)
{
	json_t *dec = json_object_get(o, "decision");
	struct fleet_decision *d;

	if (dec == NULL)
		return;
	d = fleet_decision_slot(f);
	snprintf(d->service, sizeof(d->service), "%s", l->service);
	snprintf(d->version, sizeof(d->version), "%s", l->version);
	snprintf(d->from, sizeof(d->from), "%s", l->from);
	snprintf(d->result, sizeof(d->result), "%s",
		 strcmp(l->here, "followed") == 0 || strcmp(l->here, "ran as leader") == 0 ?
		 "rolled back" : l->here);
	d->revision = l->rev;
	d->at_ms = l->at_ms;
	d->done_ms = l->done_ms;
	if (strcmp(d->result, "rolled back") == 0) {
		f->followed++;
		printf("umbra: fleet: %s %s rolled back here %" PRIu64 " ms after %s decided\n",
		       d->service, d->version, d->done_ms - d->at_ms, d->from);
		fflush(stdout);
	}
}

static void
logent_fill(struct fleet_logent *l, json_t *o, int64_t rev)
{
	json_t *args = json_object_get(o, "args");

	*l = (struct fleet_logent){ .rev = rev };
#define STR(dst, src) snprintf(dst, sizeof(dst), "%s", (src) ? (src) : "")
	STR(l->event, json_string_value(json_object_get(o, "event")));
	STR(l->service, json_string_value(json_object_get(args, "service")));
	STR(l->version, json_string_value(json_object_get(args, "version")));
	if (l->version[0] == '\0')
		STR(l->version, json_string_value(json_object_get(
			json_object_get(o, "decision"), "version")));
	STR(l->from, json_string_value(json_object_get(o, "from")));
	STR(l->leader, json_string_value(json_object_get(o, "leader")));
#undef STR
	l->at_ms = (uint64_t)json_integer_value(json_object_get(o, "at_ms"));
}

/* The entry of revision @p rev in the ring shown, or NULL (pushed out). */
static struct fleet_logent *
logent_of(struct umbra_fleet *f, int64_t rev)
{
	for (unsigned int i = 0; i < FLEET_LOG_KEPT && i < f->n_log; i++)
		if (f->log[i].rev == rev)
			return &f->log[i];
	return NULL;
}

/* Entries waiting for a transition here to end: run them in order. */
static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_fleet *f = arg;

	(void)fd;
	(void)what;
	while (f->n_defer) {
		json_t *o = f->defer[0].o;
		struct fleet_logent tmp, *l = logent_of(f, f->defer[0].rev);
		const char *svc = json_string_value(json_object_get(json_object_get(o, "args"),
								    "service"));

		if (svc != NULL && busy_here(f, svc)) {
			fleet_timer_ms(f->t_defer, FLEET_DEFER_RETRY_MS);
			return;
		}
		if (l == NULL) {
			logent_fill(&tmp, o, f->defer[0].rev);
			l = &tmp;
		}
		run_here(f, o, l);
		l->done_ms = fleet_wall_ms();
		decision_note(f, o, l);
		json_decref(o);
		memmove(&f->defer[0], &f->defer[1], --f->n_defer * sizeof(f->defer[0]));
		followed_save(f);
		fleet_report(f, true);
	}
}

int
fleet_log_init(struct umbra_fleet *f)
{
	f->t_defer = evtimer_new(f->app->base, on_defer, f);
	return f->t_defer ? 0 : -1;
}

void
fleet_log_free(struct umbra_fleet *f)
{
	if (f->t_defer != NULL)
		event_free(f->t_defer);
	f->t_defer = NULL;
	while (f->n_defer)
		json_decref(f->defer[--f->n_defer].o);
}

void
fleet_log_seen(struct umbra_fleet *f, const struct etcd_kv *kv, bool act)
{
	struct fleet_logent *l;
	json_t *o;

	log_keys_note(f, log_key_rev(f, kv->key), kv->deleted);
	if (kv->deleted || kv->mod_revision <= f->log_followed)
		return;
	f->log_followed = kv->mod_revision;
	o = json_loadb(kv->value, kv->len, 0, NULL);
	l = &f->log[f->n_log++ % FLEET_LOG_KEPT];
	logent_fill(l, o, kv->mod_revision);
	if (!follow(f, o, l, act) && act)
		decision_note(f, o, l);
	json_decref(o);
	followed_save(f);
	fleet_report(f, true);
}

json_t *
fleet_log_json(struct umbra_fleet *f)
{
	json_t *a = json_array();
	unsigned int n = f->n_log < FLEET_LOG_KEPT ? f->n_log : FLEET_LOG_KEPT;

	for (unsigned int i = 0; i < n; i++) {
		const struct fleet_logent *l = &f->log[(f->n_log - 1 - i) % FLEET_LOG_KEPT];

		json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}",
			"revision", (json_int_t)l->rev, "event", l->event,
			"service", l->service, "version", l->version, "from", l->from,
			"leader", l->leader, "here", l->here, "at_ms", (json_int_t)l->at_ms,
			"delay_ms", (json_int_t)(l->done_ms >= l->at_ms && l->at_ms ?
						 l->done_ms - l->at_ms : 0)));
	}
	return a;
}

json_t *
fleet_decisions_json(struct umbra_fleet *f)
{
	json_t *a = json_array();
	unsigned int n = f->n_dec < FLEET_DECISIONS_KEPT ? f->n_dec : FLEET_DECISIONS_KEPT;

	for (unsigned int i = 0; i < n; i++) {
		const struct fleet_decision *d = &f->dec[(f->n_dec - 1 - i) % FLEET_DECISIONS_KEPT];

		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I}",
			"service", d->service, "version", d->version, "from", d->from,
			"result", d->result, "revision", (json_int_t)d->revision,
			"at_ms", (json_int_t)d->at_ms,
			"delay_ms", (json_int_t)(d->done_ms >= d->at_ms ? d->done_ms - d->at_ms : 0)));
	}
	return a;
}

/* ---- rollout steps ----------------------------------------------------- */

void
fleet_rollout_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	const char *svc = kv->key + strlen(f->k_rollout);

	if (kv->deleted)
		json_object_del(f->rollout, svc);
	else
		json_object_set_new(f->rollout, svc, json_loadb(kv->value, kv->len, 0, NULL));
}

/* @p service's steering in its rollout stage now (a new reference), or NULL. */
static json_t *
rollout_slot(struct umbra_app *app, const char *service)
{
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	int si = conf_service_index(g->conf, service);
	json_t *state, *slot;

	if (si < 0)
		return NULL;
	state = json_loads(g->state ? g->state : "{}", 0, NULL);
	slot = json_object_get(json_object_get(state, service),
			       g->conf->stages[g->conf->services[si].rollout.stage].name);
	json_incref(slot);
	json_decref(state);
	return slot;
}

void
fleet_rollout_lost(struct umbra_fleet *f)
{
	json_decref(f->publishing);
	f->publishing = NULL;
}

static void
on_published(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;
	json_t *p = f->publishing;

	if (tag != f->epoch || p == NULL)
		return;
	f->publishing = NULL;
	if (fleet_answer_ok(f, r, error, tag, "publishing a rollout step")) {
		if (r->succeeded)   /* ours to take now; the watch says the same */
			json_object_update(f->rollout, p);
		else
			fleet_fence_lost(f, r, "publishing a rollout step");
	}
	json_decref(p);
}

/*
 * The leader publishes the step from @p slot (fenced on its term); it
 * steps itself only once etcd has it (rollout_passed()), so a step it
 * could not publish is taken nowhere, and members never wait for one.
 */
static void
rollout_publish(struct umbra_fleet *f, const char *service, json_t *slot)
{
	json_t *doc, *passed;
	char key[ETCD_KEY_MAX], *v;

	if (f->publishing != NULL)
		return;   /* one at a time: the others ask again */
	doc = json_deep_copy(json_object_get(f->rollout, service));
	if (!json_is_object(doc)) {
		json_decref(doc);
		doc = json_object();
	}
	passed = json_object_get(doc, "passed");
	if (!json_is_array(passed)) {
		passed = json_array();
		json_object_set_new(doc, "passed", passed);
	}
	json_array_append(passed, slot);
	while (json_array_size(passed) > ROLLOUT_PASSED_KEPT)
		json_array_remove(passed, 0);
	json_object_set_new(doc, "leader", json_string(f->cf.id));
	snprintf(key, sizeof(key), "%s%s", f->k_rollout, service);
	v = json_dumps(doc, JSON_COMPACT);
	f->publishing = json_pack("{s:o}", service, doc);
	if (v == NULL || f->publishing == NULL ||
	    etcd_call(f->cli, "/v3/kv/txn", etcd_req_fenced(f->k_leader, f->leader_rev, key,
							     v, strlen(v), NULL, NULL),
		      on_published, f, f->epoch) < 0)
		fleet_rollout_lost(f);
	free(v);
}

static bool
rollout_passed(struct umbra_fleet *f, const char *service, const json_t *slot)
{
	json_t *passed = json_object_get(json_object_get(f->rollout, service), "passed"), *p;
	size_t i;

	json_array_foreach(passed, i, p)
		if (json_equal(p, slot))
			return true;
	return false;
}

bool
umbra_fleet_may_advance(void *ctx, const char *service, char *why, size_t len)
{
	struct umbra_app *app = ctx;
	struct umbra_fleet *f = app->fleet;
	json_t *slot;
	bool ok;

	if (f == NULL)
		return umbra_verdict_may_advance(ctx, service, why, len);
	if (!f->synced) {
		snprintf(why, len, "etcd is not reachable: the fleet's rollout waits");
		return false;
	}
	slot = rollout_slot(app, service);
	if (slot == NULL) {
		snprintf(why, len, "no rollout slot for %s", service);
		return false;
	}
	if (f->leader) {
		/* The leader's verdict, on its traffic, steps the fleet: the step
		 * published first. A step already published (by a leader that died
		 * before taking it itself) is taken at once, whatever the verdict. */
		ok = rollout_passed(f, service, slot);
		if (!ok && umbra_verdict_may_advance(ctx, service, why, len)) {
			rollout_publish(f, service, slot);
			snprintf(why, len, "publishing the step to the fleet first");
		}
	} else {
		/* A member follows the leader's step, whatever its own traffic. */
		ok = rollout_passed(f, service, slot);
		if (!ok)
			snprintf(why, len, "waiting for the fleet's leader (%s) to take this step",
				 f->leader_id[0] ? f->leader_id : "none yet");
	}
	json_decref(slot);
	return ok;
}
