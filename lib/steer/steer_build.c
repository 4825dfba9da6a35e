/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half: compile services, splits and a steering state (JSON)
 * into the read-only table workers use.
 *
 * State: { "<service>": { "<stage>": { "version": "v1", "backend": "blue",
 *          "canary": { "version": "v2", "backend": "green", "bp": 500 } } } }
 * where bp is the canary's share of new flows in basis points (1% = 100).
 */
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "steer_private.h"

void
steer_egress_compile(struct steer_egress *out, const struct conf_egress *e)
{
	out->port = e->port;
	out->vlan = e->vlan ? e->vlan : STEER_VLAN_NONE;
	out->rewrite_mac = e->rewrite_mac;
	memcpy(out->next_hop.addr_bytes, e->next_hop_mac, RTE_ETHER_ADDR_LEN);
}

static json_t *
slot_initial(const struct conf_service *svc, const struct conf_svc_stage *st)
{
	json_t *o = json_pack("{s:s}", "version", st->running);

	if (st->n_backends)
		json_object_set_new(o, "backend",
				    json_string(svc->backends[st->backends[0]].name));
	return o;
}

static json_t *
service_initial(const struct umbra_conf *conf, const struct conf_service *svc)
{
	json_t *o = json_object();

	for (uint16_t s = 0; s < conf->n_stages; s++) {
		const struct conf_svc_stage *st = &svc->stages[s];

		if (st->running[0] != '\0' || st->n_backends)
			json_object_set_new(o, conf->stages[s].name, slot_initial(svc, st));
	}
	return o;
}

json_t *
steer_state_initial(const struct umbra_conf *conf)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < conf->n_services; i++)
		json_object_set_new(o, conf->services[i].name,
				    service_initial(conf, &conf->services[i]));
	return o;
}

/* Egress of backend @p name of @p svc; -1 with a message when unknown. */
static int
backend_egress(const struct conf_service *svc, const char *stage, json_t *name,
	       struct steer_egress *out, char *err, size_t errlen)
{
	int b = json_is_string(name) ?
		conf_backend_index(svc, json_string_value(name)) : -1;

	if (b < 0) {
		snprintf(err, errlen, "steering state: service '%s' in stage '%s' "
			 "runs on backend '%s', which the configuration does not define",
			 svc->name, stage, json_is_string(name) ?
			 json_string_value(name) : "(not a name)");
		return -1;
	}
	steer_egress_compile(out, &svc->backends[b].egress);
	return 0;
}

static bool
version_ok(json_t *v)
{
	return json_is_string(v) && json_string_length(v) < CONF_VERSION_MAX;
}

static int
route_compile(const struct umbra_conf *conf, const struct conf_service *svc,
	      uint16_t stage, json_t *slot, struct steer_route *rt,
	      char *err, size_t errlen)
{
	const char *sname = conf->stages[stage].name;
	json_t *backend = json_object_get(slot, "backend");
	json_t *canary = json_object_get(slot, "canary");

	if (!json_is_object(slot) || !version_ok(json_object_get(slot, "version"))) {
		snprintf(err, errlen, "steering state: service '%s' in stage '%s' "
			 "needs a version (a string under %d bytes)", svc->name, sname,
			 CONF_VERSION_MAX);
		return -1;
	}
	steer_egress_compile(&rt->running, &conf->stages[stage].egress);
	if (backend != NULL && !json_is_null(backend)) {
		if (backend_egress(svc, sname, backend, &rt->running, err, errlen) < 0)
			return -1;
		rt->set = true;
	}
	if (canary == NULL || json_is_null(canary))
		return 0;
	json_int_t bp = json_integer_value(json_object_get(canary, "bp"));

	if (!json_is_object(canary) || !version_ok(json_object_get(canary, "version")) ||
	    !json_is_integer(json_object_get(canary, "bp")) || bp < 0 || bp > 10000) {
		snprintf(err, errlen, "steering state: the canary of service '%s' in "
			 "stage '%s' needs a version, a backend and bp 0..10000",
			 svc->name, sname);
		return -1;
	}
	if (backend_egress(svc, sname, json_object_get(canary, "backend"),
			   &rt->canary, err, errlen) < 0)
		return -1;
	rt->canary_below = (uint32_t)((uint64_t)bp * FLOW_HASH_SPAN / 10000);
	rt->has_canary = true;
	rt->set = true;
	return 0;
}

/* Version names of a validated slot (route_compile checked them). */
static void
release_names(json_t *slot, struct steer_release *r)
{
	json_t *canary = json_object_get(slot, "canary");
	const char *v = json_string_value(json_object_get(slot, "version"));

	snprintf(r->running, sizeof(r->running), "%s", v ? v : "");
	r->canary[0] = '\0';
	r->canary_bp = 0;
	if (json_is_object(canary)) {
		v = json_string_value(json_object_get(canary, "version"));
		snprintf(r->canary, sizeof(r->canary), "%s", v ? v : "");
		r->canary_bp = (uint32_t)json_integer_value(json_object_get(canary, "bp"));
	}
}

static int
service_compile(const struct umbra_conf *conf, uint32_t si, json_t *svc_state,
		struct steer_table *t, char *err, size_t errlen)
{
	const struct conf_service *svc = &conf->services[si];
	const char *stage;
	json_t *slot;

	if (!json_is_object(svc_state)) {
		snprintf(err, errlen, "steering state: service '%s' must map stages "
			 "to what runs there", svc->name);
		return -1;
	}
	json_object_foreach(svc_state, stage, slot) {
		int s = conf_stage_index(conf, stage);

		if (s < 0) {
			snprintf(err, errlen, "steering state: service '%s' names stage "
				 "'%s', which the configuration does not have",
				 svc->name, stage);
			return -1;
		}
		if (route_compile(conf, svc, (uint16_t)s, slot,
				  &t->routes[s * CONF_MAX_SERVICES + si], err, errlen) < 0)
			return -1;
		release_names(slot, &t->releases[s * CONF_MAX_SERVICES + si]);
	}
	for (uint8_t m = 0; m < svc->n_matches; m++) {
		const struct conf_svc_match *cm = &svc->matches[m];
		struct steer_match *sm = &t->matches[t->n_matches++];

		sm->family = cm->dst.family;
		sm->len = cm->dst.len;
		memcpy(sm->addr, cm->dst.addr, sizeof(sm->addr));
		sm->proto = cm->proto;
		sm->dport_lo = cm->dport.lo;
		sm->dport_hi = cm->dport.hi;
		sm->service = (uint8_t)si;
	}
	return 0;
}

/*
 * DevMesh: a stage that extends service @p si to production and runs no
 * version of it (no slot in @p svc_state) takes production's route, marked
 * so that its flows become production's. Its copy is never a canary of its
 * own: cohorts and verdicts stay production's.
 */
static void
extensions_compile(const struct umbra_conf *conf, uint32_t si, const json_t *svc_state,
		   struct steer_table *t)
{
	for (uint16_t d = 0; d < conf->n_stages; d++) {
		const struct conf_devmesh *x = conf_devmesh_extension(conf, d, (uint16_t)si);
		struct steer_route *rt = &t->routes[d * CONF_MAX_SERVICES + si];

		if (x == NULL || json_object_get(svc_state, conf->stages[d].name) != NULL)
			continue;
		*rt = t->routes[x->production * CONF_MAX_SERVICES + si];
		if (!rt->set)
			steer_egress_compile(&rt->running, &conf->stages[x->production].egress);
		rt->set = true;
		rt->has_canary = false;
		rt->extend_to = (uint8_t)(x->production + 1);
	}
}

static void
splits_compile(const struct umbra_conf *conf, struct steer_table *t)
{
	for (uint32_t i = 0; i < conf->n_splits; i++) {
		const struct conf_split *cs = &conf->splits[i];
		struct steer_split_rule *r = &t->splits[i];

		r->stage = cs->stage;
		r->service = cs->service;
		r->src = cs->src;
		r->hash_lo = cs->hash_lo;
		r->hash_hi = cs->hash_hi;
		if (cs->to_stage >= 0)
			steer_egress_compile(&r->to, &conf->stages[cs->to_stage].egress);
		else
			steer_egress_compile(&r->to, &conf->services[cs->service]
					     .backends[cs->to_backend].egress);
	}
	t->n_splits = conf->n_splits;
}

struct steer_table *
steer_build(const struct umbra_conf *conf, const json_t *state, json_t **canonical,
	    char *err, size_t errlen)
{
	struct steer_table *t = rte_zmalloc("umbra_steer", sizeof(*t), RTE_CACHE_LINE_SIZE);
	json_t *merged = json_object();

	if (t == NULL || merged == NULL) {
		snprintf(err, errlen, "out of memory for the steering table");
		goto fail;
	}
	t->seed = conf->steer_seed;
	t->n_stages = conf->n_stages;
	t->n_services = (uint16_t)conf->n_services;
	for (uint32_t i = 0; i < conf->n_services; i++) {
		const char *name = conf->services[i].name;
		json_t *s = state ? json_object_get(state, name) : NULL;

		s = s ? json_incref(s) : service_initial(conf, &conf->services[i]);
		json_object_set_new(merged, name, s);
		if (service_compile(conf, i, s, t, err, errlen) < 0)
			goto fail;
		extensions_compile(conf, i, s, t);
	}
	splits_compile(conf, t);
	t->active = t->n_matches > 0 || t->n_splits > 0;
	for (size_t r = 0; r < RTE_DIM(t->routes); r++)
		t->any_canary |= t->routes[r].has_canary;
	if (canonical != NULL)
		*canonical = merged;
	else
		json_decref(merged);
	return t;
fail:
	json_decref(merged);
	rte_free(t);
	return NULL;
}

void
steer_free(struct steer_table *t)
{
	rte_free(t);
}

void
steer_release_of(const struct steer_table *t, uint16_t stage, uint8_t service,
		  struct steer_release *out)
{
	if (stage >= CONF_MAX_STAGES || service >= CONF_MAX_SERVICES) {
		*out = (struct steer_release){ 0 };
		return;
	}
	*out = t->releases[stage * CONF_MAX_SERVICES + service];
}
