/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet (fleet: in the -c file): this appliance as one member of many,
 * through etcd, on the management loop.
 *
 * Keys, all under PREFIX:
 *   PREFIX/members/ID     this appliance (JSON: id, generation, the desired
 *                         configuration's revision it runs or refused, health,
 *                         releases), on a lease renewed every ttl/3
 *   PREFIX/config         the desired configuration (YAML text), written by
 *                         fleet/apply with compare-and-swap on its revision
 *   PREFIX/decisions/SVC  the last rollback decided for service SVC (JSON)
 *
 * A session: grant a lease, put the member key, read everything under
 * PREFIX (one range: members, the configuration, decisions), then watch
 * PREFIX from the revision after that read. Any failure (a call without an
 * answer, the watch ending, the lease gone, the watch compacted) ends the
 * session: the next endpoint is tried after a backoff (100 ms doubling to
 * 2 s) and the whole read is done again, so a return of etcd, a compaction
 * or a missed event all resync the same way. Forwarding never depends on
 * etcd: without it the running generation stays.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "etcd.h"
#include "gen.h"
#include "umbra.h"

#define FLEET_MEMBERS_MAX 64
#define FLEET_DECISIONS_KEPT 16
#define FLEET_PENDING_MAX 8
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define REPORT_MS 500

struct fleet_member {
	char id[64];
	int64_t mod_revision;
	json_t *doc;                  /* its value, parsed (NULL: not JSON) */
};

/* A decision seen (published here or followed from another member). */
struct fleet_decision {
	char service[64];
	char version[128];
	char from[64];
	char result[300];             /* "published", "rolled back", "refused: ..." */
	int64_t revision;
	uint64_t at_ms;               /* wall clock of the decision */
	uint64_t done_ms;             /* wall clock when followed here */
};

struct umbra_fleet {
	struct umbra_app *app;
	struct conf_fleet cf;
	struct etcd_client *cli;
	char k_prefix[160], k_members[176], k_member[256], k_config[176], k_decisions[176];

	uint64_t epoch;               /* callbacks of older sessions are ignored */
	bool synced;                  /* read done, watching */
	bool ever_synced;
	bool up;                      /* etcd reachable */
	unsigned int failures;        /* consecutive failed sessions */
	uint64_t lost_at_ms;          /* when it became unreachable */
	uint64_t last_ok_ms;
	char last_error[300];
	int64_t lease;
	struct event *t_retry, *t_keepalive, *t_report;
	struct etcd_watch *watch;
	bool in_watch_cb;
	int64_t rev_seen;             /* newest revision processed */

	int64_t config_rev;           /* newest desired configuration seen */
	uint64_t config_seen_ms;      /* monotonic, when it was seen */
	int64_t applied_rev;          /* the desired configuration this runs */
	uint64_t applied_gen;
	uint64_t applied_at_ms;       /* wall clock */
	double apply_ms;              /* seen to applied */
	int64_t refused_rev;
	char refused[512];

	char *member_value;           /* last put (JSON text) */

	struct {
		char state[16];       /* "", "submitted", "written", "conflict", "failed" */
		int64_t expected, revision;
		char error[512];
	} write;

	struct fleet_member members[FLEET_MEMBERS_MAX];
	unsigned int n_members;
	struct fleet_decision dec[FLEET_DECISIONS_KEPT];
	unsigned int n_dec;           /* total; ring of the last FLEET_DECISIONS_KEPT */
	char *pending[FLEET_PENDING_MAX][2]; /* decisions to publish: key, value */
	unsigned int n_pending;

	uint64_t sessions, applies, refusals, published, followed, events;
};

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
timer_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static void session_fail(struct umbra_fleet *f, const char *why);
static void report(struct umbra_fleet *f, bool force);

/* A call's answer belongs to the running session and succeeded. */
static bool
answer_ok(struct umbra_fleet *f, const struct etcd_resp *r, const char *error,
	  uint64_t tag, const char *what)
{
	char why[400];

	if (tag != f->epoch)
		return false;
	if (r == NULL || r->error[0]) {
		snprintf(why, sizeof(why), "%s: %s", what, r ? r->error : error);
		session_fail(f, why);
		return false;
	}
	f->last_ok_ms = mgmt_now_ms();
	return true;
}

/* ---- members ---------------------------------------------------------- */

static struct fleet_member *
member_find(struct umbra_fleet *f, const char *id)
{
	for (unsigned int i = 0; i < f->n_members; i++)
		if (strcmp(f->members[i].id, id) == 0)
			return &f->members[i];
	return NULL;
}

static void
member_remove(struct umbra_fleet *f, const char *id)
{
	struct fleet_member *m = member_find(f, id);

	if (m == NULL)
		return;
	json_decref(m->doc);
	*m = f->members[--f->n_members];
	f->members[f->n_members] = (struct fleet_member){ 0 };
}

static void
members_clear(struct umbra_fleet *f)
{
	while (f->n_members)
		member_remove(f, f->members[0].id);
}

static void
member_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	const char *id = kv->key + strlen(f->k_members);
	struct fleet_member *m;

	if (kv->deleted) {
		member_remove(f, id);
		return;
	}
	m = member_find(f, id);
	if (m == NULL) {
		if (f->n_members == FLEET_MEMBERS_MAX || strlen(id) >= sizeof(m->id))
			return;
		m = &f->members[f->n_members++];
		snprintf(m->id, sizeof(m->id), "%s", id);
	}
	json_decref(m->doc);
	m->doc = json_loadb(kv->value, kv->len, 0, NULL);
	m->mod_revision = kv->mod_revision;
}

/* ---- the desired configuration ---------------------------------------- */

/* The YAML of the running generation (its snapshot), or NULL. */
static const struct gen_snapshot *
running_snapshot(struct umbra_app *app)
{
	return gen_store_get(&app->snapshots, gen_current(&app->dp.pub)->id);
}

static void
config_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	struct umbra_app *app = f->app;
	const struct gen_snapshot *sn = running_snapshot(app);
	char name[256], source[300], err[512];
	uint64_t id;

	if (kv->deleted || kv->mod_revision <= f->config_rev)
		return;   /* a deleted configuration leaves the running one */
	f->config_rev = kv->mod_revision;
	f->config_seen_ms = mgmt_now_ms();
	/* Already running it (a restart, a resync): nothing to apply. */
	if (sn != NULL && sn->len == kv->len && memcmp(sn->yaml, kv->value, kv->len) == 0) {
		f->applied_rev = kv->mod_revision;
		f->applied_gen = sn->id;
		f->refused_rev = 0;
		f->refused[0] = '\0';
		report(f, true);
		return;
	}
	snprintf(name, sizeof(name), "etcd:%s@%" PRId64, f->k_config, kv->mod_revision);
	snprintf(source, sizeof(source), "fleet:%s@%" PRId64, f->k_config, kv->mod_revision);
	id = umbra_apply(app, kv->value, kv->len, name, gen_current(&app->dp.pub)->state,
			 source, 0, false, err, sizeof(err));
	if (id == 0) {
		f->refusals++;
		f->refused_rev = kv->mod_revision;
		snprintf(f->refused, sizeof(f->refused), "%s", err);
		fprintf(stderr, "umbra: fleet: desired configuration revision %" PRId64
			" refused, generation %" PRIu64 " still runs: %s\n", kv->mod_revision,
			gen_current(&app->dp.pub)->id, err);
	} else {
		f->applies++;
		f->applied_rev = kv->mod_revision;
		f->applied_gen = id;
		f->applied_at_ms = wall_ms();
		f->apply_ms = (double)(mgmt_now_ms() - f->config_seen_ms);
		f->refused_rev = 0;
		f->refused[0] = '\0';
		printf("umbra: fleet: desired configuration revision %" PRId64 " applied as "
		       "generation %" PRIu64 "\n", kv->mod_revision, id);
		fflush(stdout);
	}
	report(f, true);
}

/* ---- decisions -------------------------------------------------------- */

static struct fleet_decision *
decision_slot(struct umbra_fleet *f)
{
	struct fleet_decision *d = &f->dec[f->n_dec++ % FLEET_DECISIONS_KEPT];

	*d = (struct fleet_decision){ 0 };
	return d;
}

/* Another member decided a rollback: run it here too. */
static void
decision_seen(struct umbra_fleet *f, const struct etcd_kv *kv, bool act)
{
	json_t *o = json_loadb(kv->value, kv->len, 0, NULL), *args, *r;
	const char *svc = json_string_value(json_object_get(o, "service"));
	const char *ver = json_string_value(json_object_get(o, "version"));
	const char *from = json_string_value(json_object_get(o, "from"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	const char *stage = json_string_value(json_object_get(o, "stage"));
	struct fleet_decision *d;
	char why[600], err[512];

	if (kv->deleted || !act || svc == NULL || from == NULL ||
	    strcmp(from, f->cf.id) == 0) {
		json_decref(o);
		return;
	}
	d = decision_slot(f);
	snprintf(d->service, sizeof(d->service), "%s", svc);
	snprintf(d->version, sizeof(d->version), "%s", ver ? ver : "");
	snprintf(d->from, sizeof(d->from), "%s", from);
	d->revision = kv->mod_revision;
	d->at_ms = (uint64_t)json_integer_value(json_object_get(o, "at_ms"));
	snprintf(why, sizeof(why), "fleet: %s decided: %.400s", from, reason ? reason : "rollback");
	args = json_pack("{s:s,s:s}", "service", svc, "reason", why);
	if (stage != NULL)
		json_object_set_new(args, "stage", json_string(stage));
	r = workflow_event(f->app->workflow, "rollback", args, err, sizeof(err));
	d->done_ms = wall_ms();
	f->followed++;
	if (r != NULL) {
		snprintf(d->result, sizeof(d->result), "rolled back");
		printf("umbra: fleet: %s %s rolled back here %" PRIu64 " ms after %s decided\n",
		       svc, d->version, d->at_ms ? d->done_ms - d->at_ms : 0, from);
		fflush(stdout);
	} else {
		snprintf(d->result, sizeof(d->result), "refused: %.280s", err);
		fprintf(stderr, "umbra: fleet: rollback of %s decided by %s refused here: %s\n",
			svc, from, err);
	}
	json_decref(r);
	json_decref(args);
	json_decref(o);
	report(f, true);
}

static void
on_put_done(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	answer_ok(arg, r, error, tag, "put");
}

/* Publish the decisions waiting for a session. */
static void
pending_flush(struct umbra_fleet *f)
{
	for (unsigned int i = 0; i < f->n_pending; i++) {
		char *k = f->pending[i][0], *v = f->pending[i][1];

		etcd_call(f->cli, "/v3/kv/put", etcd_req_put(k, v, strlen(v), 0), on_put_done,
			  f, f->epoch);
		free(k);
		free(v);
	}
	f->n_pending = 0;
}

/* ---- the session ------------------------------------------------------ */

static void
kv_seen(struct umbra_fleet *f, const struct etcd_kv *kv, bool act_on_decisions)
{
	size_t nm = strlen(f->k_members), nd = strlen(f->k_decisions);

	if (strncmp(kv->key, f->k_members, nm) == 0 && kv->key[nm])
		member_seen(f, kv);
	else if (strcmp(kv->key, f->k_config) == 0)
		config_seen(f, kv);
	else if (strncmp(kv->key, f->k_decisions, nd) == 0 && kv->key[nd])
		decision_seen(f, kv, act_on_decisions && kv->mod_revision > f->rev_seen);
}

static void
on_watch_event(const struct etcd_resp *r, void *arg)
{
	struct umbra_fleet *f = arg;

	f->last_ok_ms = mgmt_now_ms();
	if (r->error[0] || r->canceled || r->compact_revision) {
		char why[400];

		snprintf(why, sizeof(why), "watch %s%s", r->compact_revision ? "compacted" :
			 r->canceled ? "canceled" : "error: ", r->error);
		f->in_watch_cb = true;
		if (f->synced)
			session_fail(f, why);
		f->in_watch_cb = false;
		return;
	}
	f->in_watch_cb = true;
	for (size_t i = 0; i < r->n_kvs && f->synced; i++) {
		f->events++;
		kv_seen(f, &r->kvs[i], true);
		if (r->kvs[i].mod_revision > f->rev_seen)
			f->rev_seen = r->kvs[i].mod_revision;
	}
	f->in_watch_cb = false;
}

static void
on_watch_end(const char *reason, void *arg)
{
	struct umbra_fleet *f = arg;

	f->watch = NULL;   /* freed by the client */
	if (f->synced)
		session_fail(f, reason);
}

static void
on_range(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;
	bool resync = f->ever_synced;

	if (!answer_ok(f, r, error, tag, "range"))
		return;
	members_clear(f);
	for (size_t i = 0; i < r->n_kvs; i++)
		kv_seen(f, &r->kvs[i], resync);
	if (r->revision > f->rev_seen)
		f->rev_seen = r->revision;
	f->watch = etcd_watch_start(f->cli, f->k_prefix, true, r->revision + 1,
				    on_watch_event, on_watch_end, f);
	if (f->watch == NULL) {
		session_fail(f, "cannot start the watch");
		return;
	}
	if (!f->up && f->ever_synced) {
		printf("umbra: fleet: etcd back at %s after %" PRIu64 " ms; resynced at "
		       "revision %" PRId64 "\n", etcd_client_endpoint(f->cli),
		       mgmt_now_ms() - f->lost_at_ms, r->revision);
		fflush(stdout);
	}
	f->synced = f->ever_synced = f->up = true;
	f->failures = 0;
	f->last_error[0] = '\0';
	pending_flush(f);
	report(f, true);
}

static void
on_keepalive(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (!answer_ok(f, r, error, tag, "keepalive"))
		return;
	if (r->ttl <= 0) {
		session_fail(f, "the member lease expired");
		return;
	}
	timer_ms(f->t_keepalive, f->cf.lease_ttl_s * 1000 / 3);
}

static void
on_keepalive_timer(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_fleet *f = arg;

	(void)fd;
	(void)what;
	if (etcd_call(f->cli, "/v3/lease/keepalive", etcd_req_keepalive(f->lease),
		      on_keepalive, f, f->epoch) < 0)
		session_fail(f, "cannot send the keepalive");
}

static void
on_grant(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (!answer_ok(f, r, error, tag, "lease grant"))
		return;
	if (r->lease_id == 0 || r->ttl <= 0) {
		session_fail(f, "lease grant without a lease");
		return;
	}
	f->lease = r->lease_id;
	timer_ms(f->t_keepalive, f->cf.lease_ttl_s * 1000 / 3);
	free(f->member_value);
	f->member_value = NULL;   /* put again, on the new lease */
	report(f, true);
	if (etcd_call(f->cli, "/v3/kv/range", etcd_req_range(f->k_prefix, true), on_range,
		      f, f->epoch) < 0)
		session_fail(f, "cannot send the range");
}

static void
session_start(struct umbra_fleet *f)
{
	f->epoch++;
	f->sessions++;
	f->synced = false;
	if (f->watch != NULL) {
		etcd_watch_cancel(f->watch);
		f->watch = NULL;
	}
	if (etcd_call(f->cli, "/v3/lease/grant", etcd_req_lease_grant(f->cf.lease_ttl_s),
		      on_grant, f, f->epoch) < 0)
		session_fail(f, "cannot send the lease grant");
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_start(arg);
}

static void
session_fail(struct umbra_fleet *f, const char *why)
{
	unsigned int shift;

	f->epoch++;   /* answers still on their way are ignored */
	f->synced = false;
	f->failures++;
	snprintf(f->last_error, sizeof(f->last_error), "%s", why);
	evtimer_del(f->t_keepalive);
	if (f->watch != NULL && !f->in_watch_cb) {
		etcd_watch_cancel(f->watch);
		f->watch = NULL;
	}
	etcd_client_failover(f->cli);
	/* Unreachable once every endpoint failed in a row. */
	if (f->up && f->failures >= f->cf.n_etcd) {
		f->up = false;
		f->lost_at_ms = mgmt_now_ms();
		fprintf(stderr, "umbra: fleet: etcd lost (%s); forwarding goes on with "
			"generation %" PRIu64 "\n", why, gen_current(&f->app->dp.pub)->id);
	}
	shift = f->failures - 1 < 5 ? f->failures - 1 : 5;
	timer_ms(f->t_retry, (BACKOFF_MIN_MS << shift) < BACKOFF_MAX_MS ?
			     (BACKOFF_MIN_MS << shift) : BACKOFF_MAX_MS);
}

/* ---- this member's key ------------------------------------------------ */

static json_t *
member_doc(struct umbra_fleet *f)
{
	json_t *wm = f->app->workflow ? workflow_metrics(f->app->workflow) : NULL;
	json_t *releases = wm ? json_incref(json_object_get(wm, "releases")) : NULL;
	json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:o}", "id", f->cf.id,
			      "generation", (json_int_t)gen_current(&f->app->dp.pub)->id,
			      "config_revision", (json_int_t)f->applied_rev,
			      "health", "forwarding",
			      "releases", releases ? releases : json_array());

	json_decref(wm);
	json_object_set_new(o, "refused", f->refused_rev == 0 ? json_null() :
			    json_pack("{s:I,s:s}", "revision", (json_int_t)f->refused_rev,
				      "reason", f->refused));
	json_object_set_new(o, "ports", json_integer(f->app->dp.ports.n_ports));
	return o;
}

/* Put the member key when it changed (or now, with @p force). */
static void
report(struct umbra_fleet *f, bool force)
{
	json_t *o;
	char *text;

	if (f->lease == 0 || f->epoch == 0)
		return;
	o = member_doc(f);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return;
	if (!force && f->member_value && strcmp(text, f->member_value) == 0) {
		free(text);
		return;
	}
	if (etcd_call(f->cli, "/v3/kv/put", etcd_req_put(f->k_member, text, strlen(text),
							  f->lease), on_put_done, f, f->epoch) < 0) {
		free(text);
		return;
	}
	free(f->member_value);
	f->member_value = text;
}

static void
on_report_timer(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_fleet *f = arg;

	(void)fd;
	(void)what;
	if (f->synced)
		report(f, false);
	timer_ms(f->t_report, REPORT_MS);
}

/* ---- decisions published here ----------------------------------------- */

void
umbra_fleet_publish_rollback(struct umbra_app *app, const char *service,
			     const char *version, const char *stage, const char *reason)
{
	struct umbra_fleet *f = app->fleet;
	struct fleet_decision *d;
	char key[300];
	json_t *o;
	char *v;

	if (f == NULL)
		return;
	o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "service", service,
		      "version", version ? version : "", "from", f->cf.id,
		      "reason", reason ? reason : "rollback", "at_ms", (json_int_t)wall_ms());
	if (stage != NULL)
		json_object_set_new(o, "stage", json_string(stage));
	v = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(key, sizeof(key), "%s%s", f->k_decisions, service);
	d = decision_slot(f);
	snprintf(d->service, sizeof(d->service), "%s", service);
	snprintf(d->version, sizeof(d->version), "%s", version ? version : "");
	snprintf(d->from, sizeof(d->from), "%s", f->cf.id);
	d->at_ms = d->done_ms = wall_ms();
	f->published++;
	if (v == NULL)
		return;
	if (f->synced) {
		snprintf(d->result, sizeof(d->result), "published");
		etcd_call(f->cli, "/v3/kv/put", etcd_req_put(key, v, strlen(v), 0),
			  on_put_done, f, f->epoch);
		free(v);
	} else if (f->n_pending < FLEET_PENDING_MAX) {
		snprintf(d->result, sizeof(d->result), "waiting for etcd");
		f->pending[f->n_pending][0] = strdup(key);
		f->pending[f->n_pending][1] = v;
		if (f->pending[f->n_pending][0] == NULL)
			free(v);
		else
			f->n_pending++;
	} else {
		snprintf(d->result, sizeof(d->result), "not published: etcd unreachable");
		free(v);
	}
}

/* ---- commands --------------------------------------------------------- */

static json_t *
decisions_json(struct umbra_fleet *f)
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

static json_t *
cmd_fleet_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_fleet *f = app->fleet;
	json_t *o, *members;
	uint64_t now = mgmt_now_ms();

	(void)args;
	(void)err;
	if (f == NULL)
		return json_pack("{s:b}", "enabled", 0);
	members = json_array();
	for (unsigned int i = 0; i < f->n_members; i++) {
		const struct fleet_member *m = &f->members[i];
		json_t *d = m->doc ? json_deep_copy(m->doc) : json_object();
		json_int_t rev = json_integer_value(json_object_get(d, "config_revision"));

		json_object_set_new(d, "id", json_string(m->id));
		json_object_set_new(d, "in_sync", json_boolean(rev == f->config_rev));
		/* Lag: revisions of the desired configuration it does not run. */
		json_object_set_new(d, "lag_revisions",
				    json_integer(f->config_rev > rev ? f->config_rev - rev : 0));
		json_array_append_new(members, d);
	}
	o = json_pack("{s:b,s:s,s:s,s:{s:b,s:s,s:I,s:s?,s:I},s:o,s:I,s:I,s:I}",
		      "enabled", 1, "id", f->cf.id, "prefix", f->cf.prefix,
		      "etcd", "reachable", f->up, "endpoint", etcd_client_endpoint(f->cli),
		      "lost_for_ms", (json_int_t)(f->up || f->lost_at_ms == 0 ? 0 :
						  now - f->lost_at_ms),
		      "last_error", f->last_error[0] ? f->last_error : NULL,
		      "sessions", (json_int_t)f->sessions,
		      "leader", json_null(),
		      "revision", (json_int_t)f->rev_seen,
		      "generation", (json_int_t)gen_current(&app->dp.pub)->id,
		      "lease", (json_int_t)f->lease);
	json_object_set_new(o, "config", json_pack(
		"{s:I,s:I,s:I,s:I,s:f,s:b,s:o}",
		"revision", (json_int_t)f->config_rev,
		"applied_revision", (json_int_t)f->applied_rev,
		"generation", (json_int_t)f->applied_gen,
		"applied_at_ms", (json_int_t)f->applied_at_ms,
		"apply_ms", f->apply_ms,
		"in_sync", f->config_rev == f->applied_rev,
		"refused", f->refused_rev == 0 ? json_null() :
			json_pack("{s:I,s:s}", "revision", (json_int_t)f->refused_rev,
				  "reason", f->refused)));
	json_object_set_new(o, "members", members);
	json_object_set_new(o, "decisions", decisions_json(f));
	json_object_set_new(o, "write", json_pack("{s:s,s:I,s:I,s:s?}",
		"state", f->write.state, "expected_revision", (json_int_t)f->write.expected,
		"revision", (json_int_t)f->write.revision,
		"error", f->write.error[0] ? f->write.error : NULL));
	return o;
}

static void
on_cas(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	(void)tag;   /* a write's outcome is reported whatever the session */
	if (r == NULL || r->error[0]) {
		snprintf(f->write.state, sizeof(f->write.state), "failed");
		snprintf(f->write.error, sizeof(f->write.error), "%s", r ? r->error : error);
		return;
	}
	if (r->succeeded) {
		snprintf(f->write.state, sizeof(f->write.state), "written");
		f->write.revision = r->revision;
		printf("umbra: fleet: desired configuration written at revision %" PRId64 "\n",
		       r->revision);
		fflush(stdout);
	} else {
		snprintf(f->write.state, sizeof(f->write.state), "conflict");
		f->write.revision = r->n_kvs ? r->kvs[0].mod_revision : 0;
		snprintf(f->write.error, sizeof(f->write.error), "the desired configuration is "
			 "at revision %" PRId64 ", not %" PRId64 ": someone wrote it first; "
			 "read it again and retry", f->write.revision, f->write.expected);
	}
}

/* fleet/apply: validate here, then compare-and-swap PREFIX/config. */
static json_t *
cmd_fleet_apply(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_fleet *f = app->fleet;
	const char *path = json_string_value(json_object_get(args, "path"));
	json_t *rev = json_object_get(args, "revision");
	struct umbra_conf *conf;
	size_t len;
	char *yaml;
	int64_t expected;

	if (f == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "no fleet: this umbra is standalone (add fleet: "
			  "to its configuration)");
		return NULL;
	}
	if (!f->synced) {
		mgmt_fail(err, MGMT_E_FAILED, "etcd is not reachable (%s): the desired "
			  "configuration cannot be written now", f->last_error);
		return NULL;
	}
	yaml = conf_read_file(path, app->opts.config_dir, &len, err->message,
			      sizeof(err->message));
	if (yaml == NULL)
		return NULL;
	conf = conf_load_string(yaml, len, path, err->message, sizeof(err->message));
	if (conf == NULL || gen_validate(conf, err->message, sizeof(err->message)) < 0) {
		conf_free(conf);
		free(yaml);
		return NULL;
	}
	conf_free(conf);
	expected = rev ? (int64_t)json_integer_value(rev) : f->config_rev;
	f->write.expected = expected;
	f->write.revision = 0;
	f->write.error[0] = '\0';
	snprintf(f->write.state, sizeof(f->write.state), "submitted");
	if (etcd_call(f->cli, "/v3/kv/txn", etcd_req_cas(f->k_config, yaml, len, expected),
		      on_cas, f, f->epoch) < 0) {
		free(yaml);
		snprintf(f->write.state, sizeof(f->write.state), "failed");
		mgmt_fail(err, MGMT_E_FAILED, "cannot send the write to etcd");
		return NULL;
	}
	free(yaml);
	return json_pack("{s:b,s:I,s:s}", "submitted", 1, "expected_revision",
			 (json_int_t)expected, "see", "fleet/status: write, then config");
}

/* fleet/decide: a rollback decided here, as the verdict does (for operators
 * and tests): rolled back locally, then published to every member. */
static json_t *
cmd_fleet_decide(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *svc = json_string_value(json_object_get(args, "service"));
	const char *ver = json_string_value(json_object_get(args, "version"));
	const char *reason = json_string_value(json_object_get(args, "reason"));
	const char *stage = json_string_value(json_object_get(args, "stage"));
	json_t *wa, *r;

	if (app->fleet == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "no fleet: this umbra is standalone");
		return NULL;
	}
	if (workflow_args_check(args, err->message, sizeof(err->message)) < 0) {
		err->code = MGMT_E_ARGS;
		return NULL;
	}
	wa = json_pack("{s:s,s:s}", "service", svc, "reason", reason ? reason : "fleet/decide");
	if (stage)
		json_object_set_new(wa, "stage", json_string(stage));
	r = workflow_event(app->workflow, "rollback", wa, err->message, sizeof(err->message));
	json_decref(wa);
	if (r == NULL)
		return NULL;
	umbra_fleet_publish_rollback(app, svc, ver, stage, reason ? reason : "fleet/decide");
	return json_pack("{s:o,s:b}", "rollback", r, "published", app->fleet->synced);
}

int
umbra_fleet_register(struct umbra_app *app)
{
	static const struct mgmt_arg apply_args[] = {
		{ "path", MGMT_ARG_STRING, true }, { "revision", MGMT_ARG_INTEGER, false },
		{ NULL },
	};
	static const struct mgmt_arg decide_args[] = {
		{ "service", MGMT_ARG_STRING, true }, { "version", MGMT_ARG_STRING, false },
		{ "stage", MGMT_ARG_STRING, false }, { "reason", MGMT_ARG_STRING, false },
		{ NULL },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "fleet/status", "The fleet: etcd reachable, members with their "
		  "generations and lag, the desired configuration, decisions.", NULL,
		  cmd_fleet_status },
		{ "fleet/apply", "Validate a configuration file here, then make it the "
		  "fleet's desired configuration (compare-and-swap on revision, default "
		  "the one seen last); every member applies it.", apply_args, cmd_fleet_apply },
		{ "fleet/decide", "Roll a service back here and publish the decision: "
		  "every member rolls it back too.", decide_args, cmd_fleet_decide },
	};

	return mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app);
}

int
umbra_fleet_init(struct umbra_app *app, char *err, size_t errlen)
{
	struct umbra_conf *c = conf_load_file(app->opts.conf_file, err, errlen);
	const char *urls[CONF_FLEET_ENDPOINTS_MAX];
	struct umbra_fleet *f;

	if (c == NULL)
		return -1;
	if (!c->fleet.enabled) {
		conf_free(c);
		return 0;   /* standalone */
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		conf_free(c);
		snprintf(err, errlen, "fleet: out of memory");
		return -1;
	}
	f->app = app;
	f->cf = c->fleet;
	conf_free(c);
	for (unsigned int i = 0; i < f->cf.n_etcd; i++)
		urls[i] = f->cf.etcd[i];
	snprintf(f->k_prefix, sizeof(f->k_prefix), "%s/", f->cf.prefix);
	snprintf(f->k_members, sizeof(f->k_members), "%smembers/", f->k_prefix);
	snprintf(f->k_member, sizeof(f->k_member), "%s%s", f->k_members, f->cf.id);
	snprintf(f->k_config, sizeof(f->k_config), "%sconfig", f->k_prefix);
	snprintf(f->k_decisions, sizeof(f->k_decisions), "%sdecisions/", f->k_prefix);
	f->cli = etcd_client_new(app->base, urls, f->cf.n_etcd, 1000, err, errlen);
	f->t_retry = evtimer_new(app->base, on_retry, f);
	f->t_keepalive = evtimer_new(app->base, on_keepalive_timer, f);
	f->t_report = evtimer_new(app->base, on_report_timer, f);
	if (f->cli == NULL || !f->t_retry || !f->t_keepalive || !f->t_report) {
		if (f->cli != NULL)
			snprintf(err, errlen, "fleet: out of memory");
		app->fleet = f;
		umbra_fleet_fini(app);
		return -1;
	}
	f->up = true;   /* until every endpoint failed */
	app->fleet = f;
	printf("umbra: fleet: member %s of %s, etcd %s (%u endpoints)\n", f->cf.id,
	       f->cf.prefix, f->cf.etcd[0], f->cf.n_etcd);
	fflush(stdout);
	session_start(f);
	timer_ms(f->t_report, REPORT_MS);
	return 0;
}

void
umbra_fleet_fini(struct umbra_app *app)
{
	struct umbra_fleet *f = app->fleet;

	if (f == NULL)
		return;
	if (f->watch != NULL)
		etcd_watch_cancel(f->watch);
	if (f->t_retry)
		event_free(f->t_retry);
	if (f->t_keepalive)
		event_free(f->t_keepalive);
	if (f->t_report)
		event_free(f->t_report);
	etcd_client_free(f->cli);
	members_clear(f);
	for (unsigned int i = 0; i < f->n_pending; i++) {
		free(f->pending[i][0]);
		free(f->pending[i][1]);
	}
	free(f->member_value);
	free(f);
	app->fleet = NULL;
}

void
umbra_fleet_metrics(struct umbra_app *app, FILE *out)
{
	struct umbra_fleet *f = app->fleet;

	if (f == NULL)
		return;
	fprintf(out,
		"# HELP umbra_fleet_etcd_up Whether etcd answers (0: forwarding on the last "
		"generation, resync when it returns).\n# TYPE umbra_fleet_etcd_up gauge\n"
		"umbra_fleet_etcd_up %d\n"
		"# HELP umbra_fleet_members Members with a live key.\n"
		"# TYPE umbra_fleet_members gauge\numbra_fleet_members %u\n"
		"# HELP umbra_fleet_config_in_sync Whether this runs the desired configuration.\n"
		"# TYPE umbra_fleet_config_in_sync gauge\numbra_fleet_config_in_sync %d\n"
		"# HELP umbra_fleet_config_revision Desired configuration: newest seen, applied.\n"
		"# TYPE umbra_fleet_config_revision gauge\n"
		"umbra_fleet_config_revision{which=\"desired\"} %" PRId64 "\n"
		"umbra_fleet_config_revision{which=\"applied\"} %" PRId64 "\n"
		"# HELP umbra_fleet_events_total Fleet events by kind.\n"
		"# TYPE umbra_fleet_events_total counter\n"
		"umbra_fleet_events_total{kind=\"session\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"apply\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"refusal\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"decision_published\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"decision_followed\"} %" PRIu64 "\n"
		"umbra_fleet_events_total{kind=\"watch_event\"} %" PRIu64 "\n",
		f->up ? 1 : 0, f->n_members, f->config_rev == f->applied_rev ? 1 : 0,
		f->config_rev, f->applied_rev, f->sessions, f->applies, f->refusals,
		f->published, f->followed, f->events);
}
