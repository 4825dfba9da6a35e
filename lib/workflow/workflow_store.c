/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The workflow's memory: workflow.json in the state directory (releases,
 * history, the next transition number), written atomically at every
 * change; and the reports built from it (status, history, metrics).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_store.h"
#include "workflow_private.h"

#define WF_FILE "workflow.json"

void
wf_store_save(struct workflow *wf)
{
	json_t *o;
	char *text;

	if (wf->dir[0] == '\0')
		return;
	o = json_pack("{s:I,s:O,s:O}", "next_id", (json_int_t)wf->next_id,
		      "releases", wf->releases, "history", wf->history);
	text = json_dumps(o, JSON_COMPACT);
	/* A failed write keeps the previous file whole; the next change retries. */
	if (text == NULL || gen_store_file_put(wf->dir, WF_FILE, text, strlen(text)) != 0)
		fprintf(stderr, "umbra: cannot write %s/%s: %s\n", wf->dir, WF_FILE,
			strerror(errno));
	free(text);
	json_decref(o);
}

int
wf_store_load(struct workflow *wf, char *err, size_t errlen)
{
	size_t len;
	char *text = wf->dir[0] ? gen_store_file_get(wf->dir, WF_FILE, &len) : NULL;
	json_error_t jerr;
	json_t *o;

	wf->releases = json_object();
	wf->history = json_array();
	if (text == NULL)
		return 0;
	o = json_loads(text, 0, &jerr);
	free(text);
	if (o == NULL || !json_is_object(json_object_get(o, "releases")) ||
	    !json_is_array(json_object_get(o, "history"))) {
		snprintf(err, errlen, "%s/%s is not a workflow state (%s); move it away "
			 "to start with an empty history", wf->dir, WF_FILE,
			 o ? "missing releases or history" : jerr.text);
		json_decref(o);
		return -1;
	}
	json_object_update(wf->releases, json_object_get(o, "releases"));
	json_array_extend(wf->history, json_object_get(o, "history"));
	wf->next_id = (uint64_t)json_integer_value(json_object_get(o, "next_id"));
	if (wf->next_id == 0)
		wf->next_id = 1;
	json_decref(o);
	return 0;
}

json_t *
wf_state_of(void *ctx, uint64_t id)
{
	struct workflow *wf = ctx;
	const char *text = wf->ops.state_of(wf->ctx, id);

	return text ? json_loads(text, 0, NULL) : NULL;
}

static json_t *
service_status(struct workflow *wf, const struct umbra_conf *c, uint32_t si,
	       const json_t *state)
{
	const struct conf_service *svc = &c->services[si];
	json_t *stages = json_array(), *o;

	for (uint8_t p = 0; p < c->workflow.n_pipeline; p++) {
		const char *st = c->stages[c->workflow.pipeline[p].stage].name;
		json_t *slot = wf_slot(state, svc->name, st);

		o = json_pack("{s:s}", "stage", st);
		if (slot != NULL)
			json_object_update(o, slot);
		json_array_append_new(stages, o);
	}
	o = json_pack("{s:s,s:o,s:O}", "service", svc->name, "stages", stages,
		      "releases", json_object_get(wf->releases, svc->name) ?
		      json_object_get(wf->releases, svc->name) : json_array());
	if (json_object_get(wf->busy, svc->name) != NULL)
		json_object_set(o, "running", json_object_get(wf->busy, svc->name));
	if (svc->rollout.n_steps) {
		json_t *steps = json_array();

		for (uint8_t i = 0; i < svc->rollout.n_steps; i++)
			json_array_append_new(steps, json_real(svc->rollout.steps_bp[i] / 100.0));
		json_object_set_new(o, "rollout", json_pack("{s:s,s:o,s:i}", "stage",
			c->stages[svc->rollout.stage].name, "steps_percent", steps,
			"hold_s", (int)svc->rollout.hold_s));
	}
	return o;
}

json_t *
workflow_status(struct workflow *wf, const char *service)
{
	const struct umbra_conf *c = wf->ops.conf(wf->ctx);
	uint64_t gen;
	json_t *state = json_loads(wf->ops.state(wf->ctx, &gen), 0, NULL);
	json_t *list = json_array(), *pipeline = json_array();

	for (uint8_t p = 0; p < c->workflow.n_pipeline; p++) {
		static const char *const on[] = { "code_commit", "auto", "test_completion",
						  "manual_approval" };

		json_array_append_new(pipeline, json_pack("{s:s,s:s}", "stage",
			c->stages[c->workflow.pipeline[p].stage].name,
			"on", on[c->workflow.pipeline[p].on]));
	}
	for (uint32_t i = 0; i < c->n_services; i++)
		if (service == NULL || strcmp(service, c->services[i].name) == 0)
			json_array_append_new(list, service_status(wf, c, i, state));
	json_decref(state);
	return json_pack("{s:I,s:o,s:o}", "generation", (json_int_t)gen,
			 "pipeline", pipeline, "services", list);
}

json_t *
workflow_history(struct workflow *wf, const char *service, size_t limit)
{
	json_t *out = json_array();

	for (size_t i = json_array_size(wf->history); i-- > 0 &&
	     json_array_size(out) < limit;) {
		json_t *t = json_array_get(wf->history, i);

		if (service == NULL ||
		    strcmp(json_string_value(json_object_get(t, "service")), service) == 0)
			json_array_append(out, t);
	}
	return out;
}

json_t *
workflow_transition(struct workflow *wf, uint64_t id)
{
	size_t i;
	json_t *t;

	json_array_foreach(wf->history, i, t)
		if ((uint64_t)json_integer_value(json_object_get(t, "id")) == id)
			return json_incref(t);
	return NULL;
}

static void
count(json_t *o, const char *key)
{
	json_object_set_new(o, key, json_integer(
		json_integer_value(json_object_get(o, key)) + 1));
}

json_t *
workflow_metrics(struct workflow *wf)
{
	json_t *by_status = json_object(), *releases = json_array();
	const char *svc;
	size_t i;
	json_t *t, *list;

	json_array_foreach(wf->history, i, t)
		count(by_status, json_string_value(json_object_get(t, "status")));
	json_object_foreach(wf->releases, svc, list)
		json_array_foreach(list, i, t)
			if (strcmp(json_string_value(json_object_get(t, "status")), WF_ACTIVE) == 0 ||
			    strcmp(json_string_value(json_object_get(t, "status")),
				   WF_ROLLING_OUT) == 0)
				json_array_append_new(releases, json_pack("{s:s,s:O,s:O,s:O}",
					"service", svc, "version", json_object_get(t, "version"),
					"stage", json_object_get(t, "stage"),
					"status", json_object_get(t, "status")));
	return json_pack("{s:o,s:o,s:I}", "transitions", by_status, "releases", releases,
			 "running", (json_int_t)json_object_size(wf->busy));
}
