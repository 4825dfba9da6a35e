/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DevMesh modes of a development stage (stages[].devmesh):
 *
 *   - name: dev
 *     egress: { port: dev }
 *     devmesh:
 *       - { mode: extension, service: pay }
 *       - { mode: mirror, service: api, port: devmirror }
 *
 * The services a stage runs (services[].stages) are served locally, as
 * always. An extension is steering (lib/steer): the stage's new flows for
 * a service it does not run go to production's instance and become
 * production's flows, so the flows: rule from the stage to production
 * decides on each, and classify_check_invariants() refuses an extension
 * that no allow rule lets through or that a policy forbids. A mirror is a
 * shadow profile generated here (stage: production, the service, all of
 * its flows unless fraction says less): the replica sits on a port with
 * role shadow, umbra plays the client toward it, and its answers never
 * leave umbra.
 *
 * Load order (load_root): after shadows, whose names a mirror's must not
 * take, and after services, which the items name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* By enum conf_devmesh_mode. */
static const char *const mode_names[] = { "extension", "mirror" };

static const struct conf_key devmesh_keys[] = {
	{ "mode", CONF_KEY_STRING, true },
	{ "service", CONF_KEY_STRING, false },
	{ "production", CONF_KEY_STRING, false },
	{ NULL, 0, false },
};
_Static_assert(COUNT(devmesh_keys) == CONF_DEVMESH_KEYS + 1,
	       "CONF_DEVMESH_KEYS counts the item's keys");
const struct conf_key *const conf_devmesh_keys = devmesh_keys;

/* An item's keys: its own, then a shadow profile's but stage and service
 * (none required: an extension takes none of them; a mirror needs port). */
#define ITEM_FIELDS (CONF_DEVMESH_KEYS + CONF_SHADOW_PROFILE_KEYS - 2 + 1)

bool
conf_service_runs_in(const struct conf_service *svc, uint16_t stage)
{
	const struct conf_svc_stage *st = &svc->stages[stage];

	return st->running[0] != '\0' || st->n_backends > 0;
}

const struct conf_devmesh *
conf_devmesh_extension(const struct umbra_conf *c, uint16_t stage, uint16_t service)
{
	const struct conf_devmesh *every = NULL;

	for (uint32_t i = 0; i < c->n_devmesh; i++) {
		const struct conf_devmesh *d = &c->devmesh[i];

		if (d->stage != stage || d->mode != CONF_DEVMESH_EXTENSION)
			continue;
		if (d->service == (int16_t)service)
			return d;
		if (d->service < 0)
			every = d;
	}
	return every;
}

static void
item_fields(struct field *f)
{
	struct field *end;

	ld_fields_of_keys(f, devmesh_keys);
	end = f + CONF_DEVMESH_KEYS;
	for (const struct conf_key *k = conf_shadow_profile_keys; k->name != NULL; k++)
		if (strcmp(k->name, "stage") != 0 && strcmp(k->name, "service") != 0)
			*end++ = (struct field){ k->name, false, NULL, NULL };
	*end = (struct field){ NULL, false, NULL, NULL };
}

/* production: given, else the one production stage other than @p d's. */
static int
get_production(struct loader *L, yaml_node_t *n, yaml_node_t *v, struct conf_devmesh *d)
{
	const struct umbra_conf *c = L->c;
	const char *dev = c->stages[d->stage].name;
	int found = -1, count = 0;

	if (v != NULL) {
		if (ld_get_stage_ref(L, v, "production", &d->production) < 0)
			return -1;
		if (d->production == d->stage)
			return ld_fail(L, v, "devmesh of stage '%s' names the stage itself as "
				       "production", dev);
		return 0;
	}
	for (uint16_t s = 0; s < c->n_stages; s++)
		if (c->stages[s].production && count++ == 0)
			found = s;
	if (count != 1)
		return ld_fail(L, n, "devmesh of stage '%s': %s; say which with production: "
			       "STAGE", dev, count == 0 ? "no stage is a production stage" :
			       "more than one stage is a production stage");
	d->production = (uint16_t)found;
	return 0;
}

/* One backend or egress an extension hands frames to must rewrite MACs. */
static int
need_rewrite(struct loader *L, yaml_node_t *n, const struct conf_devmesh *d,
	     const struct conf_service *svc, const struct conf_egress *e,
	     const char *what)
{
	const struct umbra_conf *c = L->c;

	if (e->rewrite_mac)
		return 0;
	return ld_fail(L, n, "extension of service '%s' from stage '%s': %s (port %s) has "
		       "no next_hop_mac; the stage's frames carry the MAC its hosts "
		       "resolved, so umbra must rewrite it toward production's instance",
		       svc->name, c->stages[d->stage].name, what,
		       c->ports[e->port].name);
}

/* Production's instance of service @p si: each backend it lists, else its egress. */
static int
check_target(struct loader *L, yaml_node_t *n, const struct conf_devmesh *d, uint32_t si)
{
	const struct umbra_conf *c = L->c;
	const struct conf_service *svc = &c->services[si];
	const struct conf_svc_stage *st = &svc->stages[d->production];
	char what[CONF_NAME_MAX + 64];

	if (st->n_backends == 0) {
		snprintf(what, sizeof(what), "stage %s's egress", c->stages[d->production].name);
		return need_rewrite(L, n, d, svc, &c->stages[d->production].egress, what);
	}
	for (uint8_t k = 0; k < st->n_backends; k++) {
		const struct conf_backend *b = &svc->backends[st->backends[k]];

		snprintf(what, sizeof(what), "%s's backend '%s'",
			 c->stages[d->production].name, b->name);
		if (need_rewrite(L, n, d, svc, &b->egress, what) < 0)
			return -1;
	}
	return 0;
}

static int
load_extension(struct loader *L, yaml_node_t *n, struct field *f, struct conf_devmesh *d)
{
	const struct umbra_conf *c = L->c;
	const struct conf_service *svc;

	for (struct field *x = f + CONF_DEVMESH_KEYS; x->key != NULL; x++)
		if (x->value != NULL)
			return ld_fail(L, x->key_node, "'%s' is a mirror's key; an extension "
				       "takes mode, service and production", x->key);
	if (d->service < 0) {
		/* Every service the stage lacks that production runs. */
		for (uint32_t si = 0; si < c->n_services; si++)
			if (!conf_service_runs_in(&c->services[si], d->stage) &&
			    conf_service_runs_in(&c->services[si], d->production) &&
			    check_target(L, n, d, si) < 0)
				return -1;
		return 0;
	}
	svc = &c->services[d->service];
	if (conf_service_runs_in(svc, d->stage))
		return ld_fail(L, ld_field_value(f, "service"), "stage '%s' runs service '%s' "
			       "itself (services[].stages): an extension is for a service the "
			       "stage does not run", c->stages[d->stage].name, svc->name);
	return check_target(L, n, d, (uint32_t)d->service);
}

/* The mirror's shadow profile, appended to the configuration's. */
static int
load_mirror(struct loader *L, yaml_node_t *n, struct field *f, struct conf_devmesh *d)
{
	struct umbra_conf *c = L->c;
	struct conf_shadow s, *grown;
	yaml_node_t *name = ld_field_value(f, "name");

	if (d->service < 0)
		return ld_fail(L, n, "a mirror needs service: (the service whose production "
			       "flows it copies)");
	if (ld_field_value(f, "port") == NULL)
		return ld_fail(L, n, "a mirror needs port: (a port with role shadow, where "
			       "the stage's replica is)");
	ld_shadow_defaults(&s, n);
	s.fraction = 1.0; /* a mirror copies every flow unless told less */
	s.stage = d->production;
	if (name != NULL) {
		if (ld_get_name(L, name, "shadow name", s.name) < 0)
			return -1;
	} else if (snprintf(s.name, sizeof(s.name), "%s-%s", c->stages[d->stage].name,
			    c->services[d->service].name) >= (int)sizeof(s.name)) {
		return ld_fail(L, n, "the mirror's shadow name '%s-%s' would be longer than "
			       "%d characters: give it name:", c->stages[d->stage].name,
			       c->services[d->service].name, CONF_NAME_MAX - 1);
	}
	if (conf_shadow_index(c, s.name) >= 0)
		return ld_fail(L, name ? name : n, "shadow name '%s' is taken%s: give the "
			       "mirror another name:", s.name,
			       name ? "" : " (a mirror's is STAGE-SERVICE)");
	if (c->n_shadows >= CONF_MAX_SHADOWS)
		return ld_fail(L, n, "too many shadow profiles with the mirrors (at most %d)",
			       CONF_MAX_SHADOWS);
	if (ld_shadow_body(L, n, f, &s) < 0)
		return -1;
	grown = realloc(c->shadows, (c->n_shadows + 1) * sizeof(*grown));
	if (grown == NULL)
		return ld_fail(L, n, "out of memory");
	c->shadows = grown;
	d->shadow = (int16_t)c->n_shadows;
	c->shadows[c->n_shadows++] = s;
	return 0;
}

/* Another item of the same stage, mode and service (or every service). */
static int
check_unique(struct loader *L, yaml_node_t *n, const struct conf_devmesh *d)
{
	const struct umbra_conf *c = L->c;

	for (uint32_t i = 0; i < c->n_devmesh; i++) {
		const struct conf_devmesh *o = &c->devmesh[i];

		if (o->stage != d->stage || o->mode != d->mode || o->service != d->service)
			continue;
		if (d->service < 0)
			return ld_fail(L, n, "stage '%s' has a second %s for every service (the "
				       "first at line %u)", c->stages[d->stage].name,
				       mode_names[d->mode], o->pos.line);
		return ld_fail(L, n, "stage '%s' has a second %s of service '%s' (the first "
			       "at line %u)", c->stages[d->stage].name, mode_names[d->mode],
			       c->services[d->service].name, o->pos.line);
	}
	return 0;
}

static int
load_item(struct loader *L, yaml_node_t *n, uint16_t stage, struct conf_devmesh *d)
{
	struct field f[ITEM_FIELDS];
	yaml_node_t *v;

	*d = (struct conf_devmesh){ .stage = stage, .service = -1, .shadow = -1,
				    .pos = ld_pos_of(n) };
	item_fields(f);
	if (ld_fields_get(L, n, f, "devmesh item") < 0 ||
	    ld_get_choice(L, ld_field_value(f, "mode"), "mode", mode_names,
			  COUNT(mode_names), &d->mode) < 0 ||
	    ((v = ld_field_value(f, "service")) && ld_get_service_ref(L, v, &d->service) < 0) ||
	    get_production(L, n, ld_field_value(f, "production"), d) < 0 ||
	    check_unique(L, n, d) < 0)
		return -1;
	if (d->mode == CONF_DEVMESH_EXTENSION)
		return load_extension(L, n, f, d);
	return load_mirror(L, n, f, d);
}

static int
load_stage_items(struct loader *L, yaml_node_t *seq, uint16_t stage)
{
	struct umbra_conf *c = L->c;
	yaml_node_item_t *it;

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "devmesh") < 0)
		return -1;
	if (c->stages[stage].production)
		return ld_fail(L, seq, "stage '%s' is a production stage; devmesh modes belong "
			       "to a development stage", c->stages[stage].name);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);

		if (c->n_devmesh == CONF_MAX_DEVMESH)
			return ld_fail(L, n, "too many devmesh items (at most %d)",
				       CONF_MAX_DEVMESH);
		if (load_item(L, n, stage, &c->devmesh[c->n_devmesh]) < 0)
			return -1;
		c->n_devmesh++;
	}
	return 0;
}

int
ld_devmesh(struct loader *L, yaml_node_t *stages)
{
	struct umbra_conf *c = L->c;
	uint16_t stage = 0;
	yaml_node_item_t *it;

	for (it = stages->data.sequence.items.start; it < stages->data.sequence.items.top;
	     it++, stage++) {
		yaml_node_t *seq = ld_map_value(L, yaml_document_get_node(L->doc, *it), "devmesh");

		if (seq == NULL)
			continue;
		if (c->devmesh == NULL &&
		    (c->devmesh = calloc(CONF_MAX_DEVMESH, sizeof(*c->devmesh))) == NULL)
			return ld_fail(L, seq, "out of memory");
		if (load_stage_items(L, seq, stage) < 0)
			return -1;
	}
	return 0;
}
