/* SPDX-License-Identifier: BSD-3-Clause */
/* The daemon's state, shared by its start-up (main.c) and its commands. */
#ifndef UMBRA_APP_H
#define UMBRA_APP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "ctl.h"
#include "dp.h"
#include "gen_store.h"
#include "mgmt.h"
#include "verdict.h"
#include "workflow.h"

#define UMBRA_VERSION "0.1.0"
#define UMBRA_DEFAULT_SOCKET "/run/umbra/umbra.sock"

struct app_opts {
	const char *conf_file;
	const char *stats_json;     /**< write final counters here */
	const char *socket;         /**< management socket path */
	const char *socket_group;   /**< group allowed on the socket; NULL: ours */
	const char *state_dir;      /**< persisted generations; NULL: memory only */
	const char *http;           /**< [ADDR:]PORT of the HTTP API; NULL: off */
	const char *http_token_file;/**< bearer token for /api/v1/ */
	const char *http_hosts[MGMT_HTTP_HOSTS_MAX]; /**< --http-allowed-host names */
	unsigned int n_http_hosts;
	const char *config_dir;     /**< config/validate|apply paths must be inside */
	unsigned int client_timeout_s; /**< idle socket clients; 0: from mgmt: or default */
	unsigned int idle_exit_ms;  /**< 0: run until a signal */
	int stats_interval_s;       /**< -1: from the config */
	unsigned int top_flows;
	bool summary;
	bool check_only;
};

/** Samples of "apply to every worker on the new generation", microseconds. */
#define APPLY_SAMPLES 4096

struct apply_latency {
	double us[APPLY_SAMPLES];    /**< ring of the last samples */
	double switch_us[APPLY_SAMPLES]; /**< the part from publish to last worker */
	uint64_t count;              /**< applies measured */
	uint64_t pending;            /**< applies whose workers have not all moved */
	uint64_t token;              /**< RCU token of the newest pending apply */
	uint64_t t0;                 /**< TSC when that apply's command arrived */
	uint64_t t_pub;              /**< TSC when it was published */
	struct event *probe;         /**< polls the token from the event loop */
};

struct umbra_app {
	struct app_opts opts;
	struct dp_context dp;        /**< what the workers use */
	struct ctl ctl;              /**< the apply road (lib/ctl) and its listeners */
	struct fault_ctl *faults;    /**< fault rules (umbra_fault.c) */
	struct shadow_ctl *shadows;  /**< shadow profiles (umbra_shadow.c) */
	struct gen_store snapshots;
	struct event_base *base;
	struct mgmt *mgmt;
	struct apply_latency apply;
	struct workflow *workflow;
	/** Held while replaced generations are freed, and by readers outside
	 * the management loop (telemetry) while they read names from one. */
	pthread_mutex_t reclaim_lock;
	time_t started;
	struct event *fault_timer;   /**< ends fault leases on time */
	struct event *shadow_poll;   /**< drains shadow records into the comparator */
	struct umbra_verdicts *verdicts; /**< release verdicts (umbra_verdict.c) */
	struct umbra_graph *graph;   /**< dependency map (umbra_graph.c) */
	struct umbra_fleet *fleet;   /**< fleet membership (umbra_fleet.c); NULL: standalone */
};

/**
 * Join the fleet of the -c file's fleet: section (standalone without one):
 * the member key, the desired configuration and decisions through etcd,
 * on the management loop. @return 0, or -1 with a sentence in @p err.
 */
int umbra_fleet_init(struct umbra_app *app, char *err, size_t errlen);

/** Register fleet/... commands. @return 0, or -1. */
int umbra_fleet_register(struct umbra_app *app);

/** Leave the fleet (the member key goes with its lease) and free it. */
void umbra_fleet_fini(struct umbra_app *app);

/** Append the fleet's Prometheus lines to @p f (none when standalone). */
void umbra_fleet_metrics(struct umbra_app *app, FILE *f);

/**
 * A rollback of @p service @p version (in @p stage, or NULL) was decided
 * here for @p reason: publish it so that every member rolls it back too
 * (kept until etcd answers when it does not now). No-op when standalone.
 */
void umbra_fleet_publish_rollback(struct umbra_app *app, const char *service,
				  const char *version, const char *stage,
				  const char *reason);

/**
 * A workflow event (code_commit, test_completion, manual_approval,
 * rollback) sent to this member of a fleet: put in etcd for the leader,
 * which runs it and publishes the transition every member follows.
 * @return {forwarded, key, leader}, or NULL with the reason in @p err
 * (etcd unreachable: nothing changed).
 */
json_t *umbra_fleet_event(struct umbra_app *app, const char *event, json_t *args,
			  struct mgmt_error *err);

/**
 * workflow_ops.may_advance in a fleet: the leader steps on its verdict's
 * GO and publishes the step; the others step when the leader did.
 * Standalone: umbra_verdict_may_advance().
 */
bool umbra_fleet_may_advance(void *ctx, const char *service, char *why, size_t len);

/** The fleet section of status (etcd, leader, generation), or NULL standalone. */
json_t *umbra_fleet_summary(struct umbra_app *app);

/**
 * Start the dependency map: its tables and a 10 ms loop timer draining
 * the workers' records. @return 0, or -1 with a sentence in @p err.
 */
int umbra_graph_init(struct umbra_app *app, char *err, size_t errlen);

/** Register graph/... and service/... commands. @return 0, or -1. */
int umbra_graph_register(struct umbra_app *app);

/** Stop the map and free it. */
void umbra_graph_fini(struct umbra_app *app);

/** Append the dependency map's Prometheus lines to @p f. */
void umbra_graph_metrics(struct umbra_app *app, FILE *f);

/**
 * The latest deviation of @p service's canary cohort from its control
 * cohort (the same window, since the canary started; scored every
 * 250 ms while it has a canary in its rollout stage): out->above says
 * whether it passed the threshold, out->mode outage or security, and
 * out->list the edges that changed.
 * @return 0, or -1 when there is none (no canary, or not scored yet).
 */
int umbra_graph_deviation(struct umbra_app *app, uint8_t service, struct graph_diff *out);

/**
 * Start judging releases: the history database in the state directory,
 * notifications (notify:), and a 100 ms timer. @return 0, or -1 with a
 * sentence in @p err.
 */
int umbra_verdict_init(struct umbra_app *app, char *err, size_t errlen);

/** Register verdict/... and analytics/... commands. @return 0, or -1. */
int umbra_verdict_register(struct umbra_app *app);

/** Stop judging; commit and close the history. */
void umbra_verdict_fini(struct umbra_app *app);

struct history;
/** The history database (NULL without a state directory), for the golden graphs. */
struct history *umbra_verdict_history(struct umbra_app *app);

/**
 * Whether @p service's canary under judgement (in its rollout stage) is at
 * GO; its version into @p version. @return true at GO.
 */
bool umbra_verdict_at_go(struct umbra_app *app, uint8_t service, char *version, size_t len);

/** A release under judgement and its cohorts' counts since it started here. */
struct umbra_verdict_judged {
	char canary[CONF_VERSION_MAX];
	char control[CONF_VERSION_MAX];
	/** Per metric (enum verdict_metric): exposures and bad ones per cohort. */
	struct {
		uint64_t canary_n, canary_bad, control_n, control_bad;
	} m[VERDICT_M_MAX];
};

/**
 * @p service's release under judgement (its canary in its rollout stage)
 * with its evidence counts, into @p out (what a fleet member publishes).
 * @return true when one is judged.
 */
bool umbra_verdict_judged(struct umbra_app *app, uint8_t service,
			  struct umbra_verdict_judged *out);

/**
 * The dashboard (umbra_ui.c): /ui's compiled-in files and the topics of
 * /events (the commands whose answers the views show). Call after every
 * other module registered its commands. @return 0, or -1.
 */
int umbra_ui_register(struct umbra_app *app);

/** Append /events' Prometheus lines (clients, cuts, time spent) to @p f. */
void umbra_ui_metrics(struct umbra_app *app, FILE *f);

/** Append the release verdicts' Prometheus lines to @p f. */
void umbra_verdict_metrics(struct umbra_app *app, FILE *f);

/**
 * Before manual_approval of @p service @p version: with verdict.gate, a
 * GO of that version is needed (NULL, with the reason in @p why);
 * otherwise the risk estimate to show with the approval (JSON, new
 * reference), also recorded as a prediction in the history.
 */
json_t *umbra_verdict_approval(struct umbra_app *app, const char *service,
			       const char *version, char *why, size_t len);

/** @p version of @p service was approved: its risk estimate becomes a
 *  prediction in the history, judged by the next canary's outcome. */
void umbra_verdict_approved(struct umbra_app *app, const char *service,
			    const char *version);

/** workflow_ops.may_advance: a rollout step only on GO. */
bool umbra_verdict_may_advance(void *ctx, const char *service, char *why, size_t len);

/** POST @p json under @p topic to the notify: URLs (no-op without any). */
void umbra_verdict_notify(struct umbra_app *app, const char *topic, const char *json);

/**
 * Fault rules: their manager on the workers' fault tables, the lease
 * timer, the coupling to shadow profiles (faults aimed at a profile follow
 * its slot and its end; after umbra_shadow_init) and the CTL_FAULTS
 * listener. @return 0, or -1 with a sentence in @p err.
 */
int umbra_fault_init(struct umbra_app *app, char *err, size_t errlen);

/** Free the fault manager and its timer (workers stopped). */
void umbra_fault_fini(struct umbra_app *app);

/** Register fault/... and chaos/... commands. @return 0, or -1. */
int umbra_fault_register(struct umbra_app *app);

/**
 * Shadow profiles: their manager on the workers' shadow halves, a loop
 * timer draining their records into the comparator, and the CTL_SHADOWS
 * listener. @return 0, or -1 with a sentence in @p err.
 */
int umbra_shadow_init(struct umbra_app *app, char *err, size_t errlen);

/** Free the shadow manager and its timer (workers stopped). */
void umbra_shadow_fini(struct umbra_app *app);

/** Register shadow/... commands. @return 0, or -1. */
int umbra_shadow_register(struct umbra_app *app);


/** Register /umbra/... telemetry commands and enable dpdk-dumpcap capture. */
void umbra_telemetry_init(struct umbra_app *app);

/**
 * Publish the counters telemetry reads (loop only; called from the tick):
 * a new snapshot every tick while telemetry is read, else every second,
 * or now with @p force. Telemetry never reads live state.
 */
void umbra_telemetry_publish(struct umbra_app *app, bool force);

/**
 * Time the generation just published (at TSC @p t_pub), from @p t0 (TSC
 * when the command arrived) until the last worker first ran it (see
 * apply_latency).
 */
void umbra_apply_probe_start(struct umbra_app *app, uint64_t t0, uint64_t t_pub);

/**
 * The daemon's own listeners on the apply road: CTL_PORT_FLOWS (ports
 * opened at start must stay; their rte_flow rules follow each generation)
 * and CTL_APP (apply latency, snapshot retention). @return 0, or -1.
 */
int umbra_apply_listen(struct umbra_app *app);

/**
 * ctl_apply() on app->ctl, for callers holding the change's parts: YAML
 * @p yaml (named @p name in messages), steering @p state (JSON text; NULL:
 * the file's), recorded from @p source (@p from: the generation a rollback
 * re-publishes; @p migrate: established flows are decided again too).
 * A rejected configuration changes nothing.
 * @return the new generation number, or 0 with a message in @p err.
 */
uint64_t umbra_apply(struct umbra_app *app, const char *yaml, size_t len,
		     const char *name, const char *state, const char *source,
		     uint64_t from, bool migrate, char *err, size_t errlen);

/**
 * Snapshot retention (the current configuration's snapshots: section):
 * remove the files of the oldest snapshots, never the current generation
 * nor the workflow's rollback points. After every new generation.
 */
void umbra_snapshots_prune(struct umbra_app *app);

/** Start the release workflow (resumes it from the state directory). */
int umbra_workflow_init(struct umbra_app *app, char *err, size_t errlen);

/** Register event/... and workflow/... commands on app->mgmt. */
int umbra_workflow_register(struct umbra_app *app);

/** Append the workflow's Prometheus lines to @p f. */
void umbra_workflow_metrics(struct umbra_app *app, FILE *f);

/**
 * Counters for the socket, HTTP and telemetry: dp_stats_json() with the
 * fault rules joined (faults.rules). Caller owns the result.
 */
json_t *umbra_stats_json(struct umbra_app *app);

/** Register the daemon's commands on app->mgmt. */
int umbra_cmds_register(struct umbra_app *app);

/**
 * Read a whole operator-given file into a NUL-terminated buffer (free()
 * it): conf_read_file() with no directory to stay in.
 */
char *umbra_read_file(const char *path, size_t *len, char *err, size_t errlen);

/**
 * Apply the -c file again as the next generation (SIGHUP), like
 * config/apply; the outcome is logged on stdout or stderr.
 */
void umbra_reload(struct umbra_app *app);

#endif
