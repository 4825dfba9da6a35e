/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's release workflow, its leader's half: the election, events
 * forwarded to the leader, the leader taking them into the log, and
 * rollbacks decided anywhere published as events. umbra_fleet_log.c: the
 * log every member follows, and rollout steps.
 *
 * Election: PREFIX/leader is created only if absent (a txn on its create
 * revision), on the candidate's member lease. Whoever sees it gone (the
 * watch: deleted with a dead leader's lease, or revoked by a leader that
 * stops cleanly) campaigns again.
 *
 * Fencing: the create revision of the key won is the leader's term. Every
 * write it makes for the fleet (an event moved to the log, the log pruned,
 * a rollout step) is a txn that also compares the key's create revision
 * with it: a leader deposed without knowing it yet (paused past its lease,
 * cut off) has its write refused, learns who leads from the failure
 * branch, and steps down. The local run of an event cannot be fenced: a
 * member that ran an event as leader and then sees another leader's entry
 * for it does not run it again (fleet_ran_here()).
 *
 * An event sent to any member (event/..., in a fleet) is put at
 * PREFIX/events/ID-N. The leader runs it on its own workflow and, once its
 * transition ended (hooks run: done or aborted), moves it in one txn (the
 * event key still at its revision: delete it, put PREFIX/log/REV with the
 * outcome): a second leader cannot take it too. A leader that dies before
 * the move leaves the event in place: the next leader runs it, and the
 * dead one, on restart, finds its own transition interrupted and reverted
 * by lib/workflow, as after any crash, then follows the new leader's entry
 * like every member.
 *
 * Every member follows each log entry once (the revision followed is
 * kept), on its own workflow: same configuration, same events, same
 * transitions. Entries made while it was away are followed on a resync;
 * at start its state directory already holds what it ran.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umbra_fleet_private.h"

static void pump(struct umbra_fleet *f);

/* ---- election ---------------------------------------------------------- */

static void
leader_set(struct umbra_fleet *f, const char *id, bool mine, uint64_t since)
{
	bool was = f->leader;

	if (id[0] && f->leader_gone_ms) {
		f->failover_ms = (double)(mgmt_now_ms() - f->leader_gone_ms);
		f->leader_gone_ms = 0;
	}
	snprintf(f->leader_id, sizeof(f->leader_id), "%s", id);
	f->leader = mine;
	if (!mine) {
		f->leader_rev = 0;
		fleet_rollout_lost(f);
	}
	f->leader_since_ms = since;
	if (mine && !was) {
		f->terms++;
		printf("umbra: fleet: %s leads the fleet's workflow\n", f->cf.id);
		fflush(stdout);
		fleet_report(f, true);
		pump(f);
	} else if (was && !mine) {
		printf("umbra: fleet: %s no longer leads (%s does)\n", f->cf.id,
		       id[0] ? id : "nobody");
		fflush(stdout);
	}
}

/* The leader key's value and lease: who leads, and whether it is us. */
static void
leader_kv(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	json_t *o = json_loadb(kv->value, kv->len, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "id"));

	bool mine;

	if (id == NULL)
		id = "?";   /* someone else's value: a leader all the same */
	mine = strcmp(id, f->cf.id) == 0 && kv->lease == f->lease;
	if (mine)
		f->leader_rev = kv->create_revision;
	leader_set(f, id, mine, (uint64_t)json_integer_value(json_object_get(o, "since_ms")));
	json_decref(o);
}

static void campaign(struct umbra_fleet *f);

static void
on_campaign(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (tag == f->epoch)
		f->campaigning = false;
	if (!fleet_answer_ok(f, r, error, tag, "leader election"))
		return;
	if (r->succeeded) {
		f->leader_rev = r->revision;   /* the put's: the key's create revision */
		leader_set(f, f->cf.id, true, fleet_wall_ms());
	}
	else if (r->n_kvs)
		leader_kv(f, &r->kvs[0]);
	else
		campaign(f);   /* gone between the compare and the read */
}

static void
campaign(struct umbra_fleet *f)
{
	char v[160];

	if (!f->synced || f->campaigning || f->lease == 0)
		return;
	snprintf(v, sizeof(v), "{\"id\":\"%s\",\"since_ms\":%" PRIu64 "}", f->cf.id,
		 fleet_wall_ms());
	f->campaigning = true;
	f->elections++;
	if (etcd_call(f->cli, "/v3/kv/txn", etcd_req_create(f->k_leader, v, strlen(v),
							     f->lease),
		      on_campaign, f, f->epoch) < 0) {
		f->campaigning = false;
		fleet_session_fail(f, "cannot send the leader election");
	}
}

void
fleet_leader_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	if (!kv->deleted) {
		leader_kv(f, kv);
		return;
	}
	if (f->leader_id[0] && strcmp(f->leader_id, f->cf.id) != 0) {
		printf("umbra: fleet: leader %s gone; electing\n", f->leader_id);
		fflush(stdout);
	}
	leader_set(f, "", false, 0);
	f->leader_gone_ms = mgmt_now_ms();
	campaign(f);
}

static void pending_flush(struct umbra_fleet *f);

void
fleet_leader_synced(struct umbra_fleet *f)
{
	pending_flush(f);
	if (f->leader_id[0] == '\0') {
		if (f->leader_gone_ms == 0)
			f->leader_gone_ms = mgmt_now_ms();
		campaign(f);
	}
	pump(f);
}

void
fleet_leader_lost(struct umbra_fleet *f)
{
	if (f->leader) {
		printf("umbra: fleet: %s stops leading: no etcd session\n", f->cf.id);
		fflush(stdout);
	}
	f->leader = false;
	f->leader_rev = 0;
	f->campaigning = false;
	f->taking = false;
	fleet_rollout_lost(f);
}

bool
fleet_fence_lost(struct umbra_fleet *f, const struct etcd_resp *r, const char *what)
{
	const struct etcd_kv *kv = NULL;

	for (size_t i = 0; i < r->n_kvs; i++)
		if (strcmp(r->kvs[i].key, f->k_leader) == 0)
			kv = &r->kvs[i];
	if (f->leader && kv != NULL && kv->create_revision == f->leader_rev)
		return false;
	f->fenced++;
	fprintf(stderr, "umbra: fleet: %s refused: %s no longer holds the leader key it "
		"won (revision %" PRId64 ")\n", what, f->cf.id, f->leader_rev);
	if (kv != NULL) {
		leader_kv(f, kv);   /* whoever holds it now (us again: a new term) */
	} else {
		leader_set(f, "", false, 0);
		if (f->leader_gone_ms == 0)
			f->leader_gone_ms = mgmt_now_ms();
		campaign(f);
	}
	return true;
}

/* ---- events to the leader --------------------------------------------- */

static int
event_find(struct umbra_fleet *f, const char *key)
{
	for (unsigned int i = 0; i < f->n_ev; i++)
		if (strcmp(f->ev[i].key, key) == 0)
			return (int)i;
	return -1;
}

static void
event_remove(struct umbra_fleet *f, const char *key)
{
	int i = event_find(f, key);

	if (i < 0)
		return;
	free(f->ev[i].value);
	memmove(&f->ev[i], &f->ev[i + 1], (f->n_ev - (unsigned int)i - 1) * sizeof(f->ev[0]));
	f->n_ev--;
}

void
fleet_events_clear(struct umbra_fleet *f)
{
	while (f->n_ev)
		event_remove(f, f->ev[0].key);
}

static int
ev_cmp(const void *a, const void *b)
{
	const struct fleet_event *x = a, *y = b;

	return x->rev < y->rev ? -1 : x->rev > y->rev;
}

void
fleet_events_sort(struct umbra_fleet *f)
{
	qsort(f->ev, f->n_ev, sizeof(f->ev[0]), ev_cmp);
}

void
fleet_event_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	struct fleet_event *e;

	if (kv->deleted) {
		event_remove(f, kv->key);
		return;
	}
	if (event_find(f, kv->key) >= 0 || f->n_ev == FLEET_EVENTS_MAX)
		return;   /* full: the rest wait in etcd for the next read */
	e = &f->ev[f->n_ev];
	e->value = strndup(kv->value, kv->len);
	if (e->value == NULL)
		return;
	snprintf(e->key, sizeof(e->key), "%s", kv->key);
	e->rev = kv->mod_revision;
	f->n_ev++;
	if (f->synced)
		pump(f);
}

static struct fleet_ran *
ran_find(struct umbra_fleet *f, const char *key, int64_t rev)
{
	unsigned int n = f->n_ran < FLEET_RAN_KEPT ? f->n_ran : FLEET_RAN_KEPT;

	for (unsigned int i = 0; i < n; i++)
		if (f->ran[i].rev == rev && strcmp(f->ran[i].key, key) == 0)
			return &f->ran[i];
	return NULL;
}

bool
fleet_ran_here(struct umbra_fleet *f, const char *key, int64_t rev)
{
	return key != NULL && ran_find(f, key, rev) != NULL;
}

static bool
event_known(const char *ev)
{
	static const char *const ok[] = { "code_commit", "test_completion",
					  "manual_approval", "rollback" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ev != NULL && strcmp(ev, ok[i]) == 0)
			return true;
	return false;
}

/*
 * Run event @p o (as put by a member) on this workflow.
 * @return the outcome: "started" with its transition, "decided" (a rollback
 * its origin already ran: this is the origin), or "refused: ...".
 */
json_t *
fleet_run_event(struct umbra_fleet *f, json_t *o, bool decided_here)
{
	const char *ev = json_string_value(json_object_get(o, "event"));
	json_t *args = json_object_get(o, "args"), *r;
	char err[600], why[700];

	if (!event_known(ev) || !json_is_object(args)) {
		return json_pack("{s:s}", "result", "refused: not an event umbra knows "
				 "(code_commit, test_completion, manual_approval, rollback)");
	}
	if (decided_here)
		return json_pack("{s:s}", "result", "decided");
	if (workflow_args_check(args, err, sizeof(err)) < 0) {
		snprintf(why, sizeof(why), "refused: %s", err);
		return json_pack("{s:s}", "result", why);
	}
	r = workflow_event(f->app->workflow, ev, args, err, sizeof(err));
	if (r == NULL) {
		snprintf(why, sizeof(why), "refused: %s", err);
		return json_pack("{s:s}", "result", why);
	}
	o = json_pack("{s:s,s:O}", "result", "started", "transition",
		      json_object_get(r, "id") ? json_object_get(r, "id") : json_null());
	json_decref(r);
	return o;
}

bool
fleet_decided_by(const json_t *o, const char *id)
{
	const char *from = json_string_value(json_object_get(o, "from"));

	return json_object_get(o, "decision") != NULL && from != NULL &&
	       strcmp(from, id) == 0;
}

/* Run event @p e here as the leader: its log entry, final once its
 * transition ended (ran_ended). */
static struct fleet_ran *
ran_new(struct umbra_fleet *f, const struct fleet_event *e)
{
	struct fleet_ran *r = &f->ran[f->n_ran++ % FLEET_RAN_KEPT];
	json_t *o = json_loads(e->value, 0, NULL), *res;

	if (!json_is_object(o)) {
		json_decref(o);
		o = json_pack("{s:s}", "event", "?");
	}
	res = fleet_run_event(f, o, fleet_decided_by(o, f->cf.id));
	json_decref(r->entry);
	snprintf(r->key, sizeof(r->key), "%s", e->key);
	r->rev = e->rev;
	r->tid = json_integer_value(json_object_get(res, "transition"));
	json_object_update(o, res);
	json_decref(res);
	json_object_set_new(o, "leader", json_string(f->cf.id));
	json_object_set_new(o, "taken_ms", json_integer((json_int_t)fleet_wall_ms()));
	/* Which event: a deposed leader that ran it too does not follow it. */
	json_object_set_new(o, "key", json_string(e->key));
	json_object_set_new(o, "key_revision", json_integer((json_int_t)e->rev));
	r->entry = o;
	return r;
}

/*
 * Has the transition of @p r ended here (hooks run, published or
 * aborted)? Then its outcome is the entry's result: members follow a
 * transition the leader completed, never one it aborted.
 */
static bool
ran_ended(struct umbra_fleet *f, struct fleet_ran *r)
{
	json_t *t;
	const char *st, *msg;
	char res[600];

	if (r->tid == 0)
		return true;
	t = workflow_transition(f->app->workflow, (uint64_t)r->tid);
	st = json_string_value(json_object_get(t, "status"));
	if (st != NULL && strcmp(st, "running") == 0) {
		json_decref(t);
		return false;
	}
	msg = json_string_value(json_object_get(t, "message"));
	snprintf(res, sizeof(res), "%s%s%.500s", st ? st : "unknown", msg ? ": " : "",
		 msg ? msg : "");
	json_object_set_new(r->entry, "result", json_string(res));
	json_object_set_new(r->entry, "done_ms", json_integer((json_int_t)fleet_wall_ms()));
	json_decref(t);
	r->tid = 0;
	return true;
}

static void
on_taken(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (tag != f->epoch)
		return;
	f->taking = false;
	if (!fleet_answer_ok(f, r, error, tag, "taking an event"))
		return;
	if (!r->succeeded && fleet_fence_lost(f, r, "moving an event to the log")) {
		pump(f);  /* a new term of ours, or nothing: deposed */
		return;
	}
	event_remove(f, f->taking_key);   /* taken, here or by another leader */
	if (r->succeeded) {
		f->taken++;
		fleet_log_prune(f);
	}
	pump(f);
}

/* The leader takes the oldest event waiting, one at a time. */
static void
pump(struct umbra_fleet *f)
{
	const struct fleet_event *e;
	char lkey[ETCD_KEY_MAX];
	struct fleet_ran *r;
	char *entry;
	int rc;

	if (!f->leader || !f->synced || f->taking || f->n_ev == 0)
		return;
	e = &f->ev[0];
	r = ran_find(f, e->key, e->rev);
	if (r == NULL)
		r = ran_new(f, e);
	if (!ran_ended(f, r)) {
		fleet_timer_ms(f->t_pump, FLEET_PUMP_POLL_MS);
		return;
	}
	entry = json_dumps(r->entry, JSON_COMPACT);
	if (entry == NULL)
		return;
	snprintf(lkey, sizeof(lkey), "%s%020" PRId64, f->k_log, e->rev);
	snprintf(f->taking_key, sizeof(f->taking_key), "%s", e->key);
	f->taking = true;
	rc = etcd_call(f->cli, "/v3/kv/txn", etcd_req_move(e->key, e->rev, lkey, entry,
							    strlen(entry), f->k_leader,
							    f->leader_rev),
		       on_taken, f, f->epoch);
	free(entry);
	if (rc < 0) {
		f->taking = false;
		fleet_session_fail(f, "cannot send the event's move to the log");
	}
}

static void
on_pump(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

int
fleet_leader_init(struct umbra_fleet *f)
{
	f->t_pump = evtimer_new(f->app->base, on_pump, f);
	return f->t_pump ? 0 : -1;
}

/* Put @p value at a new event key (or keep it until etcd answers). */
static int
event_put(struct umbra_fleet *f, json_t *o, char *key, size_t keylen)
{
	char *v;

	snprintf(key, keylen, "%s%s-%" PRIu64 "-%" PRIu64, f->k_events, f->cf.id,
		 fleet_wall_ms(), ++f->n_seq);
	v = json_dumps(o, JSON_COMPACT);
	if (v == NULL)
		return -1;
	if (f->synced) {
		int rc = etcd_call(f->cli, "/v3/kv/put", etcd_req_put(key, v, strlen(v), 0),
				   fleet_on_put_done, f, f->epoch);

		free(v);
		return rc;
	}
	if (f->n_pending == FLEET_PENDING_MAX) {
		free(v);
		return -1;
	}
	f->pending[f->n_pending][0] = strdup(key);
	f->pending[f->n_pending][1] = v;
	if (f->pending[f->n_pending][0] == NULL) {
		free(v);
		return -1;
	}
	f->n_pending++;
	return 0;
}

static void
pending_flush(struct umbra_fleet *f)
{
	for (unsigned int i = 0; i < f->n_pending; i++) {
		char *k = f->pending[i][0], *v = f->pending[i][1];

		etcd_call(f->cli, "/v3/kv/put", etcd_req_put(k, v, strlen(v), 0),
			  fleet_on_put_done, f, f->epoch);
		free(k);
		free(v);
	}
	f->n_pending = 0;
}

json_t *
umbra_fleet_event(struct umbra_app *app, const char *event, json_t *args,
		  struct mgmt_error *err)
{
	struct umbra_fleet *f = app->fleet;
	char key[ETCD_KEY_MAX];
	json_t *o;
	int rc;

	if (!f->synced) {
		mgmt_fail(err, MGMT_E_FAILED, "etcd is not reachable (%s): a fleet's workflow "
			  "events go to its leader through etcd; nothing changed",
			  f->last_error);
		return NULL;
	}
	o = json_pack("{s:s,s:O,s:s,s:I}", "event", event, "args", args, "from", f->cf.id,
		      "at_ms", (json_int_t)fleet_wall_ms());
	rc = o ? event_put(f, o, key, sizeof(key)) : -1;
	json_decref(o);
	if (rc < 0) {
		mgmt_fail(err, MGMT_E_FAILED, "cannot send the event to etcd");
		return NULL;
	}
	f->forwarded++;
	return json_pack("{s:b,s:s,s:s?,s:s}", "forwarded", 1, "key", key, "leader",
			 f->leader_id[0] ? f->leader_id : NULL,
			 "see", "fleet/status: log; workflow/status");
}

/* ---- decisions --------------------------------------------------------- */

void
umbra_fleet_publish_rollback(struct umbra_app *app, const char *service,
			     const char *version, const char *stage, const char *reason)
{
	struct umbra_fleet *f = app->fleet;
	struct fleet_decision *d;
	char key[ETCD_KEY_MAX];
	json_t *o, *args;
	uint64_t now = fleet_wall_ms();
	int rc;

	if (f == NULL)
		return;
	args = json_pack("{s:s,s:s}", "service", service, "reason", "");
	if (stage != NULL)
		json_object_set_new(args, "stage", json_string(stage));
	o = json_pack("{s:s,s:o,s:s,s:I,s:{s:s,s:s}}", "event", "rollback", "args", args,
		      "from", f->cf.id, "at_ms", (json_int_t)now, "decision",
		      "version", version ? version : "", "reason", reason ? reason : "rollback");
	/* Members roll back with the origin named in their history. */
	if (o != NULL) {
		char why[WORKFLOW_REASON_MAX];

		snprintf(why, sizeof(why), "fleet: %s decided: %.400s", f->cf.id,
			 reason ? reason : "rollback");
		json_object_set_new(json_object_get(o, "args"), "reason", json_string(why));
	}
	d = fleet_decision_slot(f);
	snprintf(d->service, sizeof(d->service), "%s", service);
	snprintf(d->version, sizeof(d->version), "%s", version ? version : "");
	snprintf(d->from, sizeof(d->from), "%s", f->cf.id);
	d->at_ms = d->done_ms = now;
	f->published++;
	rc = o ? event_put(f, o, key, sizeof(key)) : -1;
	json_decref(o);
	snprintf(d->result, sizeof(d->result), "%s", rc < 0 ?
		 "not published: etcd unreachable" : f->synced ? "published" :
		 "waiting for etcd");
}

void
fleet_leader_free(struct umbra_fleet *f)
{
	fleet_events_clear(f);
	if (f->t_pump != NULL)
		event_free(f->t_pump);
	f->t_pump = NULL;
	for (unsigned int i = 0; i < FLEET_RAN_KEPT; i++)
		json_decref(f->ran[i].entry);
	for (unsigned int i = 0; i < f->n_pending; i++) {
		free(f->pending[i][0]);
		free(f->pending[i][1]);
	}
	f->n_pending = 0;
}
