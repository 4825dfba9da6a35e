/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fleet membership: the members' keys as the watch shows them, this
 * member's own key (put when it changes, on the session's lease), and the
 * cohort evidence each member publishes and the fleet view sums.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umbra_fleet_private.h"

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

void
fleet_members_clear(struct umbra_fleet *f)
{
	while (f->n_members)
		member_remove(f, f->members[0].id);
}

void
fleet_member_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
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

/*
 * This member's cohort counts per service under judgement: for each metric
 * [canary exposures, canary bad, control exposures, control bad] since the
 * release started here. Counts only: no flow leaves the box.
 */
static json_t *
evidence_doc(struct umbra_fleet *f)
{
	const struct umbra_conf *c = gen_current(&f->app->dp.pub)->conf;
	struct umbra_verdict_judged j;
	json_t *o = json_object();

	for (uint32_t i = 0; i < c->n_services && i < CONF_MAX_SERVICES; i++) {
		json_t *mets;

		if (!umbra_verdict_judged(f->app, (uint8_t)i, &j))
			continue;
		mets = json_object();
		for (int m = 0; m < VERDICT_M_MAX; m++) {
			if (j.m[m].canary_n == 0 && j.m[m].control_n == 0)
				continue;
			json_object_set_new(mets, verdict_metric_names[m], json_pack("[I,I,I,I]",
				(json_int_t)j.m[m].canary_n, (json_int_t)j.m[m].canary_bad,
				(json_int_t)j.m[m].control_n, (json_int_t)j.m[m].control_bad));
		}
		json_object_set_new(o, c->services[i].name, json_pack("{s:s,s:s,s:o}",
			"canary", j.canary, "control", j.control, "metrics", mets));
	}
	return o;
}

static const char *const cohort_keys[] = { "canary_n", "canary_bad", "control_n",
					    "control_bad" };

static void
evidence_add(json_t *sum, const char *id, const char *svc, json_t *e)
{
	json_t *s = json_object_get(sum, svc), *mets, *v;
	const char *metric;
	const char *canary = json_string_value(json_object_get(e, "canary"));

	if (canary == NULL)
		return;
	if (s == NULL) {
		s = json_pack("{s:s,s:O,s:[],s:{}}", "canary", canary, "control",
			      json_object_get(e, "control"), "members", "metrics");
		json_object_set_new(sum, svc, s);
	} else if (strcmp(json_string_value(json_object_get(s, "canary")), canary) != 0) {
		return;   /* another release of it: not the same evidence */
	}
	json_array_append_new(json_object_get(s, "members"), json_string(id));
	mets = json_object_get(s, "metrics");
	json_object_foreach(json_object_get(e, "metrics"), metric, v) {
		json_t *acc = json_object_get(mets, metric);

		if (acc == NULL) {
			acc = json_pack("{s:I,s:I,s:I,s:I}", "canary_n", 0, "canary_bad", 0,
					"control_n", 0, "control_bad", 0);
			json_object_set_new(mets, metric, acc);
		}
		for (size_t i = 0; i < 4; i++)
			json_object_set_new(acc, cohort_keys[i], json_integer(
				json_integer_value(json_object_get(acc, cohort_keys[i])) +
				json_integer_value(json_array_get(v, i))));
	}
}

/* Rates of the summed counts: what the fleet's traffic says together. */
static void
evidence_rates(json_t *sum)
{
	const char *svc, *metric;
	json_t *s, *m;

	json_object_foreach(sum, svc, s) {
		json_object_foreach(json_object_get(s, "metrics"), metric, m) {
			double cn = (double)json_integer_value(json_object_get(m, "canary_n"));
			double cb = (double)json_integer_value(json_object_get(m, "canary_bad"));
			double kn = (double)json_integer_value(json_object_get(m, "control_n"));
			double kb = (double)json_integer_value(json_object_get(m, "control_bad"));

			json_object_set_new(m, "canary_rate", json_real(cn > 0 ? cb / cn : 0));
			json_object_set_new(m, "control_rate", json_real(kn > 0 ? kb / kn : 0));
		}
	}
}

json_t *
fleet_evidence(struct umbra_fleet *f)
{
	json_t *sum = json_object(), *e;
	const char *svc;

	for (unsigned int i = 0; i < f->n_members; i++)
		json_object_foreach(json_object_get(f->members[i].doc, "evidence"), svc, e)
			evidence_add(sum, f->members[i].id, svc, e);
	evidence_rates(sum);
	return sum;
}

static json_t *
member_doc(struct umbra_fleet *f)
{
	json_t *wm = f->app->workflow ? workflow_metrics(f->app->workflow) : NULL;
	json_t *releases = wm ? json_incref(json_object_get(wm, "releases")) : NULL;
	json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:o,s:b,s:I}", "id", f->cf.id,
			      "generation", (json_int_t)gen_current(&f->app->dp.pub)->id,
			      "config_revision", (json_int_t)f->applied_rev,
			      "health", "forwarding",
			      "releases", releases ? releases : json_array(),
			      "leader", f->leader,
			      "log_revision", (json_int_t)f->log_followed);

	json_decref(wm);
	json_object_set_new(o, "refused", f->refused_rev == 0 ? json_null() :
			    json_pack("{s:I,s:s}", "revision", (json_int_t)f->refused_rev,
				      "reason", f->refused));
	json_object_set_new(o, "ports", json_integer(f->app->dp.ports.n_ports));
	json_object_set_new(o, "evidence", evidence_doc(f));
	return o;
}

void
fleet_report(struct umbra_fleet *f, bool force)
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
							  f->lease), fleet_on_put_done, f,
		      f->epoch) < 0) {
		free(text);
		return;
	}
	free(f->member_value);
	f->member_value = text;
}
