/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the fleet (umbra_fleet*.c): the state of this member and the
 * helpers its files share.
 *
 *   umbra_fleet.c          the etcd session: lease, one read, the watch,
 *                          backoff, resync; keys dispatched by concern
 *   umbra_fleet_member.c   members' keys, this member's key, evidence
 *   umbra_fleet_config.c   the desired configuration, overrides, fleet/apply
 *   umbra_fleet_leader.c   the leader, events forwarded to it and taken
 *                          into the log, decisions published
 *   umbra_fleet_log.c      the log every member follows, rollout steps
 *   umbra_fleet_cmds.c     fleet/... commands, status, /metrics
 */
#ifndef UMBRA_FLEET_PRIVATE_H
#define UMBRA_FLEET_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "etcd.h"
#include "gen.h"
#include "umbra.h"

#define FLEET_MEMBERS_MAX 64
#define FLEET_DECISIONS_KEPT 16
#define FLEET_EVENTS_MAX 64     /* events waiting for the leader, kept here */
#define FLEET_LOG_KEPT 32       /* log entries shown; the leader keeps 64 in etcd */
#define FLEET_LOG_ETCD 64
#define FLEET_RAN_KEPT 32       /* events this leader ran, against running twice */
#define FLEET_PENDING_MAX 8     /* decisions kept while etcd is away */
#define FLEET_DEFER_MAX 16      /* log entries waiting for a transition here */
#define FLEET_DEFER_RETRY_MS 50
#define FLEET_PUMP_POLL_MS 10   /* the leader's transition ended? */

struct fleet_member {
	char id[64];
	int64_t mod_revision;
	json_t *doc;                  /* its value, parsed (NULL: not JSON) */
};

/* A rollback decision seen (published here or followed from the log). */
struct fleet_decision {
	char service[64];
	char version[128];
	char from[64];
	char result[300];             /* "published", "rolled back", "refused: ..." */
	int64_t revision;
	uint64_t at_ms;               /* wall clock of the decision */
	uint64_t done_ms;             /* wall clock when followed here */
};

/* An event waiting under PREFIX/events/ for the leader. */
struct fleet_event {
	char key[ETCD_KEY_MAX];
	int64_t rev;
	char *value;
};

/* A log entry: one transition the leader ran, as this member followed it. */
struct fleet_logent {
	int64_t rev;                  /* the entry's etcd revision */
	char event[32];
	char service[64];
	char version[128];
	char from[64];                /* the member the event was sent to */
	char leader[64];
	char here[300];               /* "followed", "ran as leader", "skipped", "refused: " */
	uint64_t at_ms, done_ms;      /* sent, and followed here (wall) */
};

struct umbra_fleet {
	struct umbra_app *app;
	struct conf_fleet cf;
	struct etcd_client *cli;
	char k_prefix[160], k_members[176], k_member[256], k_config[176];
	char k_leader[176], k_events[176], k_log[176], k_rollout[176];

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

	/* The leader (PREFIX/leader, on its holder's member lease). */
	bool leader;                  /* this member holds the key on its lease */
	int64_t leader_rev;           /* its create revision: the fence of our writes */
	uint64_t fenced;              /* writes refused: this member was deposed */
	bool campaigning;             /* a create-if-absent in flight */
	char leader_id[64];           /* who holds it; "" none */
	uint64_t leader_since_ms;     /* wall clock, from the key */
	uint64_t leader_gone_ms;      /* monotonic: when the key was seen gone */
	double failover_ms;           /* last: key gone to a leader seen */
	uint64_t elections, terms;

	/* Events for the leader, in revision order; the one being taken. */
	struct fleet_event ev[FLEET_EVENTS_MAX];
	unsigned int n_ev;
	bool taking;
	char taking_key[ETCD_KEY_MAX];
	char *pending[FLEET_PENDING_MAX][2]; /* events to put once etcd answers: key, value */
	unsigned int n_pending;
	struct fleet_ran {
		char key[ETCD_KEY_MAX];
		int64_t rev;
		json_t *entry;        /* the log entry for it */
		int64_t tid;          /* its transition here, until it ended; 0: ended */
	} ran[FLEET_RAN_KEPT];
	struct event *t_pump;         /* polls the transition the leader runs */
	unsigned int n_ran;
	uint64_t n_seq;               /* events sent from here */

	/* The log: followed up to log_followed; the last entries seen. */
	int64_t log_followed;
	bool log_persisted;           /* log_followed read from / saved to STATE_DIR */
	struct {
		int64_t rev;
		json_t *o;
	} defer[FLEET_DEFER_MAX];     /* entries waiting, in the leader's order */
	unsigned int n_defer;
	struct event *t_defer;
	struct fleet_logent log[FLEET_LOG_KEPT];
	unsigned int n_log;           /* total; ring */
	int64_t log_keys[FLEET_LOG_ETCD * 2]; /* revisions of log keys in etcd (leader prunes) */
	unsigned int n_log_keys;

	json_t *rollout;              /* service -> PREFIX/rollout/SVC document */
	json_t *publishing;           /* the leader's step on its way: {service: doc} */

	uint64_t sessions, applies, refusals, published, followed, events;
	uint64_t forwarded, taken, log_followed_n, log_refused_n, log_waited_n;
};

/* ---- umbra_fleet.c ---- */

/** Wall clock, ms. */
uint64_t fleet_wall_ms(void);

/** Arm @p ev in @p ms. */
void fleet_timer_ms(struct event *ev, uint64_t ms);

/** End the session (a failure): resync after a backoff. */
void fleet_session_fail(struct umbra_fleet *f, const char *why);

/** A call's answer belongs to the running session and succeeded. */
bool fleet_answer_ok(struct umbra_fleet *f, const struct etcd_resp *r, const char *error,
		     uint64_t tag, const char *what);

/** A put whose answer only matters when it fails. */
void fleet_on_put_done(const struct etcd_resp *r, const char *error, void *arg,
		       uint64_t tag);

/* ---- umbra_fleet_member.c ---- */

void fleet_member_seen(struct umbra_fleet *f, const struct etcd_kv *kv);
void fleet_members_clear(struct umbra_fleet *f);
/** Put this member's key when it changed (or now, with @p force). */
void fleet_report(struct umbra_fleet *f, bool force);
/** The fleet's evidence per service: every member's cohorts summed. */
json_t *fleet_evidence(struct umbra_fleet *f);

/* ---- umbra_fleet_config.c ---- */

void fleet_config_seen(struct umbra_fleet *f, const struct etcd_kv *kv);
/**
 * The desired configuration @p yaml with this member's local keys (fleet:
 * local:) taken from its own -c file. @return malloc'd text (length in
 * @p out_len), or NULL with the reason in @p err.
 */
char *fleet_config_merge(struct umbra_fleet *f, const char *yaml, size_t len,
			 size_t *out_len, char *err, size_t errlen);
/** fleet/apply: validate a file here, then compare-and-swap PREFIX/config. */
json_t *fleet_cmd_apply(json_t *args, void *ctx, struct mgmt_error *err);

/* ---- umbra_fleet_leader.c ---- */

/**
 * Run event @p o (as a member put it) on this workflow (not when
 * @p decided_here: its origin ran it). @return {"result": "started" with
 * "transition", "decided", or "refused: WHY"}.
 */
json_t *fleet_run_event(struct umbra_fleet *f, json_t *o, bool decided_here);
/**
 * A fenced txn of the leader failed (@p r: its failure branch, the leader
 * key read back). @return true when this member no longer holds the key
 * it won (it steps down, the write refused), false when it still leads
 * (another compare failed).
 */
bool fleet_fence_lost(struct umbra_fleet *f, const struct etcd_resp *r, const char *what);
/** This member ran event @p key of revision @p rev as leader (logged or not). */
bool fleet_ran_here(struct umbra_fleet *f, const char *key, int64_t rev);
/** @p o is a rollback decided (and run) by member @p id. */
bool fleet_decided_by(const json_t *o, const char *id);

/** The leader's timer. @return 0, or -1. */
int fleet_leader_init(struct umbra_fleet *f);
/** After the read of a session: campaign when nobody leads; take events. */
void fleet_leader_synced(struct umbra_fleet *f);
/** The session ended: this member no longer leads (its lease may live on). */
void fleet_leader_lost(struct umbra_fleet *f);
void fleet_leader_seen(struct umbra_fleet *f, const struct etcd_kv *kv);
void fleet_event_seen(struct umbra_fleet *f, const struct etcd_kv *kv);
void fleet_events_clear(struct umbra_fleet *f);
/** Sort the events read in one range by revision (keys sort by name). */
void fleet_events_sort(struct umbra_fleet *f);
void fleet_leader_free(struct umbra_fleet *f);

/* ---- umbra_fleet_log.c ---- */

/** The timer of entries waiting for a transition here. @return 0, or -1. */
int fleet_log_init(struct umbra_fleet *f);
void fleet_log_free(struct umbra_fleet *f);
/** Read the log revision followed before a restart (STATE_DIR/fleet.json). */
void fleet_log_load(struct umbra_fleet *f);
/** A log entry: followed once, when @p act (live, a resync, or saved before). */
void fleet_log_seen(struct umbra_fleet *f, const struct etcd_kv *kv, bool act);
/** The leader keeps the last FLEET_LOG_ETCD entries in etcd. */
void fleet_log_prune(struct umbra_fleet *f);
void fleet_rollout_seen(struct umbra_fleet *f, const struct etcd_kv *kv);
/** The session or the lead ended: a step on its way is dropped. */
void fleet_rollout_lost(struct umbra_fleet *f);
json_t *fleet_log_json(struct umbra_fleet *f);
json_t *fleet_decisions_json(struct umbra_fleet *f);
struct fleet_decision *fleet_decision_slot(struct umbra_fleet *f);

#endif
