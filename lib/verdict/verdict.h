/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Release verdicts: GO, HOLD or ROLLBACK for a canary, from what the wire
 * shows about it and about the concurrent control.
 *
 * The management core feeds one bucket of counts per cohort (canary: the
 * flows steered to the new version; control: the concurrent flows of the
 * running version) every 100 ms. For each metric the engine runs a
 * sequential test of "the canary's bad-event rate is the control's" that
 * stays valid however often it is looked at (an e-process: a mixture of
 * likelihood ratios over rate ratios, conditional on where each bad event
 * fell, so no rate has to be known). It decides:
 *
 *  - ROLLBACK when a metric's e-value reaches 1 / its share of alpha and
 *    the observed effect is at least the metric's minimum (ratio and
 *    absolute difference) over at least its minimum count of canary bad
 *    events: one error never rolls back;
 *  - GO when the bake time has passed and the canary has seen, for every
 *    observed metric, the traffic floor: the exposures after which a
 *    regression of the minimum effect would have been caught with the
 *    configured power; a release with no traffic never GOes;
 *  - HOLD otherwise, with what is missing or what looks suspicious.
 *
 * Pure: no EAL, no allocation after init, no I/O; the clock is the
 * caller's. Evidence is a typed struct; JSON belongs to the caller.
 */
#ifndef UMBRA_VERDICT_H
#define UMBRA_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Failure modes a rollback is attributed to. */
enum verdict_mode {
	VERDICT_MODE_NONE = 0,
	VERDICT_MODE_OUTAGE,      /**< errors, resets, refused or timed-out connects, no answers */
	VERDICT_MODE_DEGRADATION, /**< latency, retransmissions */
	VERDICT_MODE_SECURITY,    /**< new destinations, policy denies */
};

/**
 * Metrics: id, name, failure mode, default minimum ratio, default minimum
 * absolute difference, share of the release's alpha, minimum canary bad
 * events, what one exposure is.
 */
#define VERDICT_METRICS(X) \
	X(HTTP_5XX, "http_5xx", VERDICT_MODE_OUTAGE, 2.0, 0.01, 2, 3, "HTTP answer") \
	X(CONNECT_FAIL, "connect_failed", VERDICT_MODE_OUTAGE, 2.0, 0.01, 2, 3, "TCP connect") \
	X(RESET, "reset", VERDICT_MODE_OUTAGE, 2.0, 0.01, 1, 3, "established connection") \
	X(NO_ANSWER, "no_answer", VERDICT_MODE_OUTAGE, 2.0, 0.01, 1, 3, "request") \
	X(DNS_FAIL, "dns_failure", VERDICT_MODE_OUTAGE, 2.0, 0.01, 1, 3, "DNS answer") \
	X(SLOW, "slow_answer", VERDICT_MODE_DEGRADATION, 3.0, 0.20, 2, 10, "answer") \
	X(RETRANS, "retransmission", VERDICT_MODE_DEGRADATION, 3.0, 0.02, 1, 10, "TCP segment") \
	X(NEW_DEST, "new_destination", VERDICT_MODE_SECURITY, 2.0, 0.01, 1, 3, "outbound flow") \
	X(POLICY_DENY, "policy_deny", VERDICT_MODE_SECURITY, 2.0, 0.01, 1, 3, "flow")

/** Metric ids. */
enum verdict_metric {
#define VERDICT_ENUM(id, ...) VERDICT_M_##id,
	VERDICT_METRICS(VERDICT_ENUM)
#undef VERDICT_ENUM
	VERDICT_M_MAX
};

/** Latency histogram buckets: bucket i holds [2^(i/2), 2^((i+1)/2)) us, roughly. */
#define VERDICT_LAT_BUCKETS 48

/** What one cohort saw in one bucket of time. */
struct verdict_counts {
	uint32_t n[VERDICT_M_MAX];   /**< exposures (SLOW: filled by the engine) */
	uint32_t bad[VERDICT_M_MAX]; /**< bad events among them (SLOW: by the engine) */
	uint32_t lat[VERDICT_LAT_BUCKETS]; /**< answer latency histogram */
};

/** How one metric is judged. */
struct verdict_metric_conf {
	bool enabled;
	double min_ratio;     /**< canary rate / control rate at least this... */
	double min_abs;       /**< ...and canary rate - control rate at least this */
	double alpha_weight;  /**< share of the release's alpha (relative weight) */
	uint32_t min_bad;     /**< canary bad events before a rollback */
};

/** How a release is judged. */
struct verdict_conf {
	struct verdict_metric_conf m[VERDICT_M_MAX];
	double alpha;         /**< false-rollback budget of one release (0.01) */
	double power;         /**< chance to catch a minimum regression at the floor (0.9) */
	uint32_t bake_ms;     /**< minimum time before GO (10000) */
	double slow_quantile; /**< SLOW: the control's quantile (0.9)... */
	double slow_factor;   /**< ...times this (2) is slow... */
	uint32_t slow_floor_us; /**< ...and never below this (1000 us) */
	uint32_t slow_min_control; /**< SLOW: control answers before it is judged (50) */
};

/** The three verdicts. */
enum verdict_state {
	VERDICT_HOLD = 0,
	VERDICT_GO,
	VERDICT_ROLLBACK,
};

/** Grid of rate ratios the mixture is taken over. */
#define VERDICT_GRID 8

/** One metric's sequential test (an e-process) and its running counts. */
struct verdict_seq {
	double log_lr[VERDICT_GRID]; /**< log likelihood ratio per grid ratio */
	double ratio[VERDICT_GRID];  /**< the grid: min_ratio .. min_ratio * 2^7 */
	uint64_t canary_n, canary_bad, control_n, control_bad;
};

/** One metric's evidence, as a decision shows it. */
struct verdict_evidence {
	bool observed;        /**< both cohorts had exposures */
	bool failed;          /**< this metric rolls the release back */
	bool suspicious;      /**< e-value above the square root of its threshold */
	uint64_t canary_n, canary_bad, control_n, control_bad;
	double canary_rate, control_rate;
	double ratio;         /**< canary rate / control rate (inf when control is 0) */
	double diff;          /**< canary rate - control rate */
	double e_value;       /**< the test statistic */
	double threshold;     /**< 1 / (this metric's alpha) */
	uint64_t floor;       /**< canary exposures needed before GO */
	uint32_t slow_above_us; /**< SLOW: answers from here on are slow, us */
};

/** A verdict with its reasons and evidence. */
struct verdict_decision {
	enum verdict_state state;
	enum verdict_mode mode;        /**< ROLLBACK: the failure mode */
	enum verdict_metric metric;    /**< ROLLBACK: the metric; HOLD: the first one missing */
	uint64_t at_ms;                /**< when it was reached */
	/** ROLLBACK: the estimated onset: the first canary bad event of the
	 *  metric since the CUSUM of its best-fitting rate ratio was last at
	 *  zero. */
	uint64_t first_bad_ms;
	char reason[256];
	struct verdict_evidence ev[VERDICT_M_MAX];
};

/** One release under judgement. */
struct verdict_release {
	struct verdict_conf conf;
	struct verdict_seq seq[VERDICT_M_MAX];
	uint64_t first_bad_ms[VERDICT_M_MAX]; /**< onset: see verdict_decision.first_bad_ms */
	double cusum[VERDICT_M_MAX][VERDICT_GRID];     /**< onset CUSUM per grid ratio */
	double last_log_lr[VERDICT_M_MAX][VERDICT_GRID];
	uint64_t onset_ms[VERDICT_M_MAX][VERDICT_GRID];
	uint32_t control_lat[VERDICT_LAT_BUCKETS]; /**< cumulative, for the SLOW quantile */
	uint64_t start_ms, last_ms;
	struct verdict_decision d;
};

/** Metric names, by id. */
extern const char *const verdict_metric_names[VERDICT_M_MAX];
/** What one exposure of each metric is, by id. */
extern const char *const verdict_metric_units[VERDICT_M_MAX];
/** Failure mode of each metric, by id. */
extern const enum verdict_mode verdict_metric_modes[VERDICT_M_MAX];
/** Names of the states and modes. */
const char *verdict_state_name(enum verdict_state s);
const char *verdict_mode_name(enum verdict_mode m);

/** Fill @p c with the defaults (every metric on, alpha 0.01, power 0.9, bake 10 s). */
void verdict_conf_default(struct verdict_conf *c);

/** Latency histogram bucket of @p us microseconds. */
unsigned int verdict_lat_bucket(uint32_t us);
/** Lower bound of latency bucket @p b, microseconds. */
uint32_t verdict_lat_bucket_floor(unsigned int b);

/**
 * Start a test of one metric (grid from @p min_ratio up).
 */
void verdict_seq_init(struct verdict_seq *s, double min_ratio);

/**
 * Add one bucket: canary @p cb bad of @p cn, control @p kb bad of @p kn.
 * Buckets without exposures on both sides carry no evidence.
 */
void verdict_seq_add(struct verdict_seq *s, uint64_t cb, uint64_t cn, uint64_t kb, uint64_t kn);

/** The mixture e-value: under "same rate" it exceeds 1/a with probability at most a, ever. */
double verdict_seq_evalue(const struct verdict_seq *s);

/**
 * Canary exposures after which a regression of the minimum effect
 * (rate max(p0 * min_ratio, p0 + min_abs) against the control's p0) is
 * caught with probability @p power at e-value threshold @p threshold,
 * with the canary taking @p share of the exposures.
 * @return the floor, or UINT64_MAX when no amount of traffic suffices.
 */
uint64_t verdict_traffic_floor(double p0, double share, const struct verdict_metric_conf *mc,
			       double threshold, double power);

/** Start judging a release at @p now_ms with @p conf (copied). */
void verdict_release_init(struct verdict_release *r, const struct verdict_conf *conf,
			  uint64_t now_ms);

/**
 * Add one bucket of counts that ended at @p now_ms and decide again.
 * ROLLBACK is final; GO holds until evidence turns it into HOLD or ROLLBACK.
 * @return the decision (also in r->d).
 */
const struct verdict_decision *verdict_release_observe(struct verdict_release *r,
		uint64_t now_ms, const struct verdict_counts *canary,
		const struct verdict_counts *control);

/**
 * A signal from outside the counts (the dependency map's deviation) rolls
 * the release back at @p now_ms: @p metric and @p mode name it, @p reason
 * shows its evidence. Final, like any ROLLBACK; no-op once rolled back.
 */
void verdict_release_fail(struct verdict_release *r, uint64_t now_ms,
			  enum verdict_metric metric, enum verdict_mode mode,
			  const char *reason);

/** Restart the bake clock (a rollout step moved on); the evidence is kept. */
void verdict_release_rebake(struct verdict_release *r, uint64_t now_ms);

#endif /* UMBRA_VERDICT_H */
