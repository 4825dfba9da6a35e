/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the daemon's release verdicts (umbra_verdict*.c): the state of
 * each release under judgement and the helpers the three files share.
 */
#ifndef UMBRA_VERDICT_PRIVATE_H
#define UMBRA_VERDICT_PRIVATE_H

#include <stdint.h>

#include <jansson.h>

#include "compare.h"
#include "history.h"
#include "notify.h"
#include "shadow.h"
#include "umbra.h"
#include "verdict.h"

/* Running totals of one cohort, summed over workers. */
struct cohort_totals {
	uint64_t n[VERDICT_M_MAX];
	uint64_t bad[VERDICT_M_MAX];
	uint64_t lat[VERDICT_LAT_BUCKETS];
};

/* One service's release under judgement. */
struct verdict_slot {
	bool active;
	char canary[CONF_VERSION_MAX];
	char control[CONF_VERSION_MAX];
	struct verdict_release rel;
	struct cohort_totals prev[2];   /* [0] control, [1] canary */
	enum verdict_state reported;
	double graph_score;             /* dependency-map deviation, -1: none yet */
	bool rolled_back;               /* the verdict's rollback was started */
	int64_t hist_id;                /* history release id, or -1 */
};

/*
 * A service's last judged version: what the gate before production and the
 * risk estimate read once its canary (in its rollout stage) is over.
 */
struct verdict_record {
	char version[CONF_VERSION_MAX];
	enum verdict_state state;
	double risk;              /* 0..1, how far the evidence went toward rollback */
	char reason[256];
	int64_t pending_hist;     /* the release an approval predicted, not yet judged */
};

/* A release's shadow profile under judgement: the shadow's answers
 * (canary) against production's to the same requests (control). */
struct shadow_slot {
	bool used;
	char name[CONF_NAME_MAX];
	uint32_t uid;
	int16_t service;
	char version[CONF_VERSION_MAX];
	struct verdict_release rel;
	struct compare_totals prev;
	enum verdict_state reported;
	bool seen;                      /* still listed by shadow_ctl this tick */
};

struct umbra_verdicts {
	struct event *timer;
	struct verdict_slot s[CONF_MAX_SERVICES];
	struct verdict_record last[CONF_MAX_SERVICES];
	struct shadow_slot sh[CONF_MAX_SHADOWS];
	struct verdict_record shadow_last[CONF_MAX_SERVICES];
	struct history *hist;
	struct notify *notify;
	uint64_t decisions, rollbacks;
	/* The services the arrays above are indexed by, by name: the
	 * CTL_VERDICTS listener moves entries when a generation renumbers. */
	char names[CONF_MAX_SERVICES][CONF_NAME_MAX];
	uint32_t n_names;
};

/** Monotonic @p ms as wall-clock seconds. */
double vd_wall_of(uint64_t ms);
/** Health counters of @p service's @p cohort (0 control, 1 canary), summed over workers. */
void vd_totals_of(const struct dp_context *dp, uint8_t service, int cohort,
		  struct cohort_totals *t);
/** What a counter grew by; 0 when it went down (a histogram halved). */
uint32_t vd_grew(uint64_t now, uint64_t before);
/** A decision with its evidence, for operators (socket, HTTP, history, notify). */
json_t *vd_decision_json(const char *service, const char *canary, const char *control,
			 const struct verdict_release *rel);
/** How far a release's evidence went toward a rollback, 0..1. */
double vd_risk_of(const struct verdict_release *rel);
/** POST @p o to the notify: URLs under @p topic. */
void vd_notify_json(struct umbra_verdicts *v, const char *topic, json_t *o);
/** Judge every release's shadow profile (umbra_verdict_shadow.c), once a tick. */
void vd_shadows_tick(struct umbra_app *app, const struct umbra_conf *c, uint64_t now);

#endif
