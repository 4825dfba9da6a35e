/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow verdicts: a shadow profile with a version belongs to that
 * release; its answers (the canary) are judged against production's to
 * the same requests (the control) by the same engine, every tick. Nothing
 * is rolled back (production never ran it): the verdict is logged,
 * notified, and read by the gate before an approval.
 */
#include <stdio.h>
#include <string.h>

#include "umbra_verdict_private.h"

/* One bucket of a shadow profile: shadow (canary) against production. */
static void
shadow_bucket(const struct compare_totals *t, const struct compare_totals *p,
	      struct verdict_counts *canary, struct verdict_counts *control)
{
	uint32_t n = vd_grew(t->compared, p->compared);

	memset(canary, 0, sizeof(*canary));
	memset(control, 0, sizeof(*control));
	canary->n[VERDICT_M_HTTP_5XX] = control->n[VERDICT_M_HTTP_5XX] = n;
	canary->bad[VERDICT_M_HTTP_5XX] = vd_grew(t->errors[COMPARE_SHADOW], p->errors[COMPARE_SHADOW]);
	control->bad[VERDICT_M_HTTP_5XX] = vd_grew(t->errors[COMPARE_PROD], p->errors[COMPARE_PROD]);
	/* Production's own silence and resets are what the comparison
	 * measures against: a difference is the shadow's. */
	canary->n[VERDICT_M_NO_ANSWER] = control->n[VERDICT_M_NO_ANSWER] = n;
	canary->bad[VERDICT_M_NO_ANSWER] = vd_grew(t->no_answer, p->no_answer);
	canary->n[VERDICT_M_RESET] = control->n[VERDICT_M_RESET] = n;
	canary->bad[VERDICT_M_RESET] = vd_grew(t->reset, p->reset);
	for (unsigned int i = 0; i < COMPARE_LAT_BUCKETS; i++) {
		/* The middle of [2^i, 2^(i+1)). */
		uint64_t mid = compare_lat_value(i) - compare_lat_value(i) / 4;
		unsigned int b = verdict_lat_bucket(mid > UINT32_MAX ? UINT32_MAX : (uint32_t)mid);

		canary->lat[b] += vd_grew(t->lat[COMPARE_SHADOW][i], p->lat[COMPARE_SHADOW][i]);
		control->lat[b] += vd_grew(t->lat[COMPARE_PROD][i], p->lat[COMPARE_PROD][i]);
	}
}

static struct shadow_slot *
shadow_slot_of(struct umbra_verdicts *v, const struct shadow_release *r)
{
	struct shadow_slot *free_slot = NULL;

	for (int i = 0; i < CONF_MAX_SHADOWS; i++) {
		struct shadow_slot *sl = &v->sh[i];

		if (sl->used && sl->uid == r->uid && strcmp(sl->name, r->name) == 0)
			return sl;
		if (!sl->used && free_slot == NULL)
			free_slot = sl;
	}
	return free_slot;
}

static void
shadow_report(struct umbra_app *app, struct shadow_slot *sl, const char *service,
	      uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	const struct verdict_decision *d = &sl->rel.d;
	char canary[CONF_VERSION_MAX + CONF_NAME_MAX + 16];
	json_t *o;

	snprintf(canary, sizeof(canary), "%s (shadow %s)", sl->version, sl->name);
	o = vd_decision_json(service, canary, "production", &sl->rel);
	printf("umbra: verdict: %s %s in shadow %s: %s: %s\n", service, sl->version, sl->name,
	       verdict_state_name(d->state), d->reason);
	fflush(stdout);
	vd_notify_json(v, "shadow_decision", o);
	json_decref(o);
	sl->reported = d->state;
	(void)now;
}

/* Judge every release's shadow profile, once a tick. */
void
vd_shadows_tick(struct umbra_app *app, const struct umbra_conf *c, uint64_t now)
{
	struct umbra_verdicts *v = app->verdicts;
	static struct shadow_release rel[CONF_MAX_SHADOWS];   /* loop only */
	unsigned int n = shadow_ctl_releases(app->shadows, rel, CONF_MAX_SHADOWS);

	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		v->sh[i].seen = false;
	for (unsigned int k = 0; k < n; k++) {
		const struct shadow_release *r = &rel[k];
		struct shadow_slot *sl;
		struct verdict_counts canary, control;

		if (r->service < 0 || (uint32_t)r->service >= c->n_services ||
		    (sl = shadow_slot_of(v, r)) == NULL)
			continue;
		if (!sl->used) {
			*sl = (struct shadow_slot){ .used = true, .uid = r->uid,
						    .service = r->service, .prev = r->totals };
			snprintf(sl->name, sizeof(sl->name), "%s", r->name);
			snprintf(sl->version, sizeof(sl->version), "%s", r->version);
			verdict_release_init(&sl->rel, &c->services[r->service].verdict.vc, now);
			printf("umbra: verdict: judging %s %s in shadow %s against production\n",
			       c->services[r->service].name, sl->version, sl->name);
		}
		sl->seen = true;
		if (!r->active)
			continue;
		shadow_bucket(&r->totals, &sl->prev, &canary, &control);
		sl->prev = r->totals;
		verdict_release_observe(&sl->rel, now, &canary, &control);
		struct verdict_record *rec = &v->shadow_last[r->service];

		snprintf(rec->version, sizeof(rec->version), "%s", sl->version);
		rec->state = sl->rel.d.state;
		rec->risk = vd_risk_of(&sl->rel);
		snprintf(rec->reason, sizeof(rec->reason), "in shadow %s: %s", sl->name,
			 sl->rel.d.reason);
		if (sl->rel.d.state != sl->reported)
			shadow_report(app, sl, c->services[r->service].name, now);
	}
	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		if (v->sh[i].used && !v->sh[i].seen)
			v->sh[i].used = false;   /* the profile is gone */
}
