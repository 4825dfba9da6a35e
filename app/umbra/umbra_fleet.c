/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet (fleet: in the -c file): this appliance as one member of many,
 * through etcd, on the management loop. This file: the session.
 *
 * Keys, all under PREFIX:
 *   PREFIX/members/ID     this appliance (JSON: id, generation, the desired
 *                         configuration's revision it runs or refused, health,
 *                         releases, cohort evidence), on a lease renewed every
 *                         ttl/3
 *   PREFIX/config         the desired configuration (YAML text), written by
 *                         fleet/apply with compare-and-swap on its revision
 *   PREFIX/leader         the leader's id, on the leader's member lease
 *   PREFIX/events/ID-N    a workflow event sent to member ID, for the leader
 *   PREFIX/log/REV        a transition the leader ran (the event of revision
 *                         REV): every member follows it
 *   PREFIX/rollout/SVC    the rollout steps the leader took for SVC
 *
 * A session: grant a lease, put the member key, read everything under
 * PREFIX (one range), then watch PREFIX from the revision after that read.
 * Any failure (a call without an answer, the watch ending, the lease gone,
 * the watch compacted) ends the session: the next endpoint is tried after a
 * backoff (100 ms doubling to 2 s) and the whole read is done again, so a
 * return of etcd, a compaction or a missed event all resync the same way.
 * Forwarding never depends on etcd: without it the running generation stays.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "umbra_fleet_private.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define REPORT_MS 500
#define REVOKE_AT_EXIT_MS 500

uint64_t
fleet_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
fleet_timer_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

bool
fleet_answer_ok(struct umbra_fleet *f, const struct etcd_resp *r, const char *error,
		uint64_t tag, const char *what)
{
	char why[400];

	if (tag != f->epoch)
		return false;
	if (r == NULL || r->error[0]) {
		snprintf(why, sizeof(why), "%s: %s", what, r ? r->error : error);
		fleet_session_fail(f, why);
		return false;
	}
	f->last_ok_ms = mgmt_now_ms();
	return true;
}

void
fleet_on_put_done(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	fleet_answer_ok(arg, r, error, tag, "put");
}

static bool
under(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(key, prefix, n) == 0 && key[n] != '\0';
}

/* One key of the prefix, to the concern it belongs to. */
static void
kv_seen(struct umbra_fleet *f, const struct etcd_kv *kv, bool act)
{
	if (under(kv->key, f->k_members))
		fleet_member_seen(f, kv);
	else if (strcmp(kv->key, f->k_config) == 0)
		fleet_config_seen(f, kv);
	else if (strcmp(kv->key, f->k_leader) == 0)
		fleet_leader_seen(f, kv);
	else if (under(kv->key, f->k_events))
		fleet_event_seen(f, kv);
	else if (under(kv->key, f->k_log))
		fleet_log_seen(f, kv, act);
	else if (under(kv->key, f->k_rollout))
		fleet_rollout_seen(f, kv);
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
			fleet_session_fail(f, why);
		f->in_watch_cb = false;
		return;
	}
	f->in_watch_cb = true;
	for (size_t i = 0; i < r->n_kvs && f->synced; i++) {
		f->events++;
		if (r->kvs[i].mod_revision > f->rev_seen)
			f->rev_seen = r->kvs[i].mod_revision;
		kv_seen(f, &r->kvs[i], true);
	}
	f->in_watch_cb = false;
}

static void
on_watch_end(const char *reason, void *arg)
{
	struct umbra_fleet *f = arg;

	f->watch = NULL;   /* freed by the client */
	if (f->synced)
		fleet_session_fail(f, reason);
}

static void
on_range(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;
	bool resync = f->ever_synced || f->log_persisted;

	if (!fleet_answer_ok(f, r, error, tag, "range"))
		return;
	fleet_members_clear(f);
	fleet_events_clear(f);
	json_object_clear(f->rollout);
	f->leader_id[0] = '\0';
	/* Log entries made while away are followed on a resync, or at start
	 * after the revision saved in the state directory; without one, a
	 * member starts from its own state. */
	for (size_t i = 0; i < r->n_kvs; i++)
		kv_seen(f, &r->kvs[i], resync);
	fleet_events_sort(f);
	if (r->revision > f->rev_seen)
		f->rev_seen = r->revision;
	f->watch = etcd_watch_start(f->cli, f->k_prefix, true, r->revision + 1,
				    on_watch_event, on_watch_end, f);
	if (f->watch == NULL) {
		fleet_session_fail(f, "cannot start the watch");
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
	fleet_report(f, true);
	fleet_leader_synced(f);
}

static void
on_keepalive(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (!fleet_answer_ok(f, r, error, tag, "keepalive"))
		return;
	if (r->ttl <= 0) {
		fleet_session_fail(f, "the member lease expired");
		return;
	}
	fleet_timer_ms(f->t_keepalive, f->cf.lease_ttl_s * 1000 / 3);
}

static void
on_keepalive_timer(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_fleet *f = arg;

	(void)fd;
	(void)what;
	if (etcd_call(f->cli, "/v3/lease/keepalive", etcd_req_keepalive(f->lease),
		      on_keepalive, f, f->epoch) < 0)
		fleet_session_fail(f, "cannot send the keepalive");
}

static void
on_revoked(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	(void)r;
	(void)error;
	(void)arg;
	(void)tag;   /* best effort: an old lease expires anyway */
}

/* A lease to hold the session's keys: put the member key, read it all. */
static void
session_leased(struct umbra_fleet *f, int64_t lease)
{
	f->lease = lease;
	fleet_timer_ms(f->t_keepalive, f->cf.lease_ttl_s * 1000 / 3);
	free(f->member_value);
	f->member_value = NULL;   /* put again, on this lease */
	fleet_report(f, true);
	if (etcd_call(f->cli, "/v3/kv/range", etcd_req_range(f->k_prefix, true), on_range,
		      f, f->epoch) < 0)
		fleet_session_fail(f, "cannot send the range");
}

static void
on_grant(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (!fleet_answer_ok(f, r, error, tag, "lease grant"))
		return;
	if (r->lease_id == 0 || r->ttl <= 0) {
		fleet_session_fail(f, "lease grant without a lease");
		return;
	}
	/* The last session's lease, expired or not, holds our old keys (the
	 * leader's, maybe): revoked, they go now rather than after its TTL. */
	if (f->lease != 0)
		etcd_call(f->cli, "/v3/lease/revoke", etcd_req_revoke(f->lease), on_revoked,
			  f, 0);
	session_leased(f, r->lease_id);
}

static void
grant(struct umbra_fleet *f)
{
	if (etcd_call(f->cli, "/v3/lease/grant", etcd_req_lease_grant(f->cf.lease_ttl_s),
		      on_grant, f, f->epoch) < 0)
		fleet_session_fail(f, "cannot send the lease grant");
}

/* The last session's lease still alive (another etcd member answers
 * within its TTL): keep it, and with it the member key and the lead. */
static void
on_renewed(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	if (!fleet_answer_ok(f, r, error, tag, "keepalive of the last lease"))
		return;
	if (r->ttl > 0)
		session_leased(f, f->lease);
	else
		grant(f);
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
	if (f->lease == 0)
		grant(f);
	else if (etcd_call(f->cli, "/v3/lease/keepalive", etcd_req_keepalive(f->lease),
			   on_renewed, f, f->epoch) < 0)
		fleet_session_fail(f, "cannot send the keepalive");
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_start(arg);
}

void
fleet_session_fail(struct umbra_fleet *f, const char *why)
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
	fleet_leader_lost(f);
	etcd_client_failover(f->cli);
	/* Unreachable once every endpoint failed in a row. */
	if (f->up && f->failures >= f->cf.n_etcd) {
		f->up = false;
		f->lost_at_ms = mgmt_now_ms();
		fprintf(stderr, "umbra: fleet: etcd lost (%s); forwarding goes on with "
			"generation %" PRIu64 "\n", why, gen_current(&f->app->dp.pub)->id);
	}
	shift = f->failures - 1 < 5 ? f->failures - 1 : 5;
	fleet_timer_ms(f->t_retry, (BACKOFF_MIN_MS << shift) < BACKOFF_MAX_MS ?
			     (BACKOFF_MIN_MS << shift) : BACKOFF_MAX_MS);
}

static void
on_report_timer(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_fleet *f = arg;

	(void)fd;
	(void)what;
	if (f->synced)
		fleet_report(f, false);
	fleet_timer_ms(f->t_report, REPORT_MS);
}

static void
keys_init(struct umbra_fleet *f)
{
	snprintf(f->k_prefix, sizeof(f->k_prefix), "%s/", f->cf.prefix);
	snprintf(f->k_members, sizeof(f->k_members), "%smembers/", f->k_prefix);
	snprintf(f->k_member, sizeof(f->k_member), "%s%s", f->k_members, f->cf.id);
	snprintf(f->k_config, sizeof(f->k_config), "%sconfig", f->k_prefix);
	snprintf(f->k_leader, sizeof(f->k_leader), "%sleader", f->k_prefix);
	snprintf(f->k_events, sizeof(f->k_events), "%sevents/", f->k_prefix);
	snprintf(f->k_log, sizeof(f->k_log), "%slog/", f->k_prefix);
	snprintf(f->k_rollout, sizeof(f->k_rollout), "%srollout/", f->k_prefix);
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
	keys_init(f);
	f->rollout = json_object();
	f->cli = etcd_client_new(app->base, urls, f->cf.n_etcd, 1000, err, errlen);
	f->t_retry = evtimer_new(app->base, on_retry, f);
	f->t_keepalive = evtimer_new(app->base, on_keepalive_timer, f);
	f->t_report = evtimer_new(app->base, on_report_timer, f);
	if (f->cli == NULL || !f->t_retry || !f->t_keepalive || !f->t_report ||
	    f->rollout == NULL || fleet_log_init(f) < 0 || fleet_leader_init(f) < 0) {
		if (f->cli != NULL)
			snprintf(err, errlen, "fleet: out of memory");
		app->fleet = f;
		umbra_fleet_fini(app);
		return -1;
	}
	f->up = true;   /* until every endpoint failed */
	fleet_log_load(f);
	app->fleet = f;
	printf("umbra: fleet: member %s of %s, etcd %s (%u endpoints)\n", f->cf.id,
	       f->cf.prefix, f->cf.etcd[0], f->cf.n_etcd);
	fflush(stdout);
	session_start(f);
	fleet_timer_ms(f->t_report, REPORT_MS);
	return 0;
}

void
umbra_fleet_fini(struct umbra_app *app)
{
	struct umbra_fleet *f = app->fleet;

	if (f == NULL)
		return;
	/* A clean stop: the lease revoked takes the member key and, when this
	 * member leads, the leader key with it, so that a successor is elected
	 * now rather than after the lease's TTL. The loop has ended: a short
	 * wait here stalls nothing. */
	if (f->lease != 0 && f->synced) {
		bool led = f->leader;
		int rc = etcd_revoke_sync(f->cli, f->lease, REVOKE_AT_EXIT_MS);

		printf("umbra: fleet: %s leaves: lease %s%s\n", f->cf.id,
		       rc == 0 ? "revoked" : "not revoked (it expires)",
		       led ? ", the lead handed over" : "");
		fflush(stdout);
	}
	if (f->watch != NULL)
		etcd_watch_cancel(f->watch);
	if (f->t_retry)
		event_free(f->t_retry);
	if (f->t_keepalive)
		event_free(f->t_keepalive);
	if (f->t_report)
		event_free(f->t_report);
	etcd_client_free(f->cli);
	fleet_members_clear(f);
	fleet_leader_free(f);
	fleet_log_free(f);
	fleet_rollout_lost(f);
	json_decref(f->rollout);
	free(f->member_value);
	free(f);
	app->fleet = NULL;
}
