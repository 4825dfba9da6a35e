/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compliance invariants: YAML `policies:` say which stage must never reach
 * which. They are checked against every road by which one stage's traffic
 * can leave through another stage's network, before anything is compiled
 * or published:
 *
 *  - an allow rule in `flows:` from the one stage to the other;
 *  - an egress map: each road a stage's flows can take out of umbra (its
 *    own egress, its splits, its service backends, the backends a steering
 *    state runs versions and canaries on, shadow and control copies), with
 *    the (port, VLAN) it leaves through. A road that leaves through another
 *    stage's egress (port, VLAN) reaches that stage: it breaks a policy
 *    from its own stage, or from any stage an allow rule lets into it.
 *
 * A road that a policy's protocol and port cannot meet (a service on
 * another port) does not break it.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "classify.h"

/* What a road (or a rule) carries: a protocol and a destination port range. */
struct l4 {
	int32_t proto;
	struct conf_range dport;
};

/* One way a stage's flows leave umbra. */
struct road {
	uint16_t stage;         /* the stage whose flows take it */
	struct conf_egress net; /* where they leave */
	int16_t service;        /* only this service's flows, or -1 */
	struct l4 sel;          /* and only these */
	bool names_stage;       /* head already says "to stage X" */
	const char *prep;       /* " on", " to", " through": before "stage X's network" */
	bool has_pos;
	struct conf_pos pos;
	char head[192];         /* "split 'x' sends production's flows to ..." */
};

static const struct l4 L4_ANY = { CONF_ANY, { 0, 65535 } };

static bool
ranges_overlap(struct conf_range a, struct conf_range b)
{
	return a.lo <= b.hi && b.lo <= a.hi;
}

/* Traffic both @p a and @p b carry, in @p out; false when there is none. */
static bool
l4_meet(struct l4 a, struct l4 b, struct l4 *out)
{
	if (a.proto != CONF_ANY && b.proto != CONF_ANY && a.proto != b.proto)
		return false;
	if (!ranges_overlap(a.dport, b.dport))
		return false;
	out->proto = a.proto != CONF_ANY ? a.proto : b.proto;
	out->dport.lo = a.dport.lo > b.dport.lo ? a.dport.lo : b.dport.lo;
	out->dport.hi = a.dport.hi < b.dport.hi ? a.dport.hi : b.dport.hi;
	return true;
}

static const char *
proto_name(int32_t proto, char *buf, size_t len)
{
	switch (proto) {
	case CONF_ANY: return "any protocol";
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmpv6";
	default:
		snprintf(buf, len, "protocol %d", (int)proto);
		return buf;
	}
}

static bool
rule_breaks_policy(const struct conf_flow_rule *r, const struct conf_policy *p)
{
	if (!r->allow || r->from != p->from || r->to != p->to)
		return false;
	if (r->proto != CONF_ANY && p->proto != CONF_ANY && r->proto != p->proto)
		return false;
	/* A policy on a port range only concerns rules that can carry ports. */
	return ranges_overlap(r->dport, p->dport);
}

/* The inter-stage rules against the policies (and policies against themselves). */
static int
check_flow_rules(const struct umbra_conf *c, char *err, size_t errlen)
{
	char pbuf[32];

	for (uint32_t i = 0; i < c->n_policies; i++) {
		const struct conf_policy *p = &c->policies[i];

		if (p->from == p->to) {
			conf_error_at(c, p->pos, err, errlen,
				      "policy '%s' forbids stage '%s' to reach itself, "
				      "which a stage always does", p->name,
				      c->stages[p->from].name);
			return -1;
		}
		for (uint32_t j = 0; j < c->n_flow_rules; j++) {
			const struct conf_flow_rule *r = &c->flow_rules[j];

			if (!rule_breaks_policy(r, p))
				continue;
			conf_error_at(c, r->pos, err, errlen,
				      "flow rule '%s' allows %s -> %s (%s, dport %u-%u), "
				      "which policy '%s' at line %u forbids",
				      r->name, c->stages[r->from].name,
				      c->stages[r->to].name,
				      proto_name(r->proto, pbuf, sizeof(pbuf)),
				      r->dport.lo, r->dport.hi, p->name,
				      p->pos.line);
			return -1;
		}
	}
	return 0;
}

/* True when @p r's flows can carry traffic of @p want. */
static bool
road_carries(const struct umbra_conf *c, const struct road *r, struct l4 want)
{
	const struct conf_service *svc;
	struct l4 sel;

	if (!l4_meet(r->sel, want, &sel))
		return false;
	if (r->service < 0)
		return true;
	svc = &c->services[r->service];
	for (uint8_t m = 0; m < svc->n_matches; m++) {
		struct l4 ml4 = { svc->matches[m].proto, svc->matches[m].dport }, any;

		if (l4_meet(ml4, sel, &any))
			return true;
	}
	return false;
}

/* "never{from: a, to: b, proto: tcp, dport: 5432}" */
static void
policy_text(const struct umbra_conf *c, const struct conf_policy *p, char *buf,
	    size_t len)
{
	char pbuf[32];
	int n = snprintf(buf, len, "never{from: %s, to: %s", c->stages[p->from].name,
			 c->stages[p->to].name);

	if (n > 0 && (size_t)n < len && p->proto != CONF_ANY)
		n += snprintf(buf + n, len - (size_t)n, ", proto: %s",
			      proto_name(p->proto, pbuf, sizeof(pbuf)));
	if (n > 0 && (size_t)n < len && (p->dport.lo != 0 || p->dport.hi != 65535))
		n += p->dport.lo == p->dport.hi ?
		     snprintf(buf + n, len - (size_t)n, ", dport: %u", p->dport.lo) :
		     snprintf(buf + n, len - (size_t)n, ", dport: %u-%u", p->dport.lo,
			      p->dport.hi);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "}");
}

/* Refuse road @p r: it reaches stage @p to, forbidden by @p p (via rule @p via). */
static int
road_refuse(const struct umbra_conf *c, const struct road *r, uint16_t to,
	    const struct conf_policy *p, const struct conf_flow_rule *via,
	    char *err, size_t errlen)
{
	char where[160] = "", through[256] = "", ptext[128];

	if (!r->names_stage && r->net.vlan == 0)
		snprintf(where, sizeof(where), "%s stage %s's network (port %s, untagged)",
			 r->prep, c->stages[to].name, c->ports[r->net.port].name);
	else if (!r->names_stage)
		snprintf(where, sizeof(where), "%s stage %s's network (port %s, vlan %u)",
			 r->prep, c->stages[to].name, c->ports[r->net.port].name,
			 r->net.vlan);
	if (via != NULL)
		snprintf(through, sizeof(through), " (and flow rule '%s' at %s:%u:%u "
			 "lets %s's traffic into %s)", via->name, c->file, via->pos.line,
			 via->pos.col, c->stages[via->from].name, c->stages[via->to].name);
	policy_text(c, p, ptext, sizeof(ptext));
	if (r->has_pos)
		conf_error_at(c, r->pos, err, errlen, "%s%s%s, which policy '%s' %s "
			      "(%s:%u:%u) forbids", r->head, where, through, p->name,
			      ptext, c->file, p->pos.line, p->pos.col);
	else
		snprintf(err, errlen, "%s%s%s, which policy '%s' %s (%s:%u:%u) forbids",
			 r->head, where, through, p->name, ptext, c->file,
			 p->pos.line, p->pos.col);
	return -1;
}

/* Road @p r against every policy on every stage whose network it leaves through. */
static int
road_check(const struct umbra_conf *c, const struct road *r, char *err, size_t errlen)
{
	for (uint16_t to = 0; to < c->n_stages; to++) {
		const struct conf_egress *e = &c->stages[to].egress;

		if (to == r->stage || e->port != r->net.port || e->vlan != r->net.vlan)
			continue;
		for (uint32_t i = 0; i < c->n_policies; i++) {
			const struct conf_policy *p = &c->policies[i];
			struct l4 want = { p->proto, p->dport };

			if (p->to != to)
				continue;
			if (p->from == r->stage && road_carries(c, r, want))
				return road_refuse(c, r, to, p, NULL, err, errlen);
			/* Traffic an allow rule lets from p->from into r's stage. */
			for (uint32_t j = 0; j < c->n_flow_rules; j++) {
				const struct conf_flow_rule *fr = &c->flow_rules[j];
				struct l4 frl4 = { fr->proto, fr->dport }, both;

				if (fr->allow && fr->from == p->from && fr->to == r->stage &&
				    l4_meet(frl4, want, &both) && road_carries(c, r, both))
					return road_refuse(c, r, to, p, fr, err, errlen);
			}
		}
	}
	return 0;
}

static void
road_init(struct road *r, uint16_t stage, const struct conf_egress *net,
	  int16_t service, const struct conf_pos *pos)
{
	memset(r, 0, sizeof(*r));
	r->stage = stage;
	r->net = *net;
	r->service = service;
	r->sel = L4_ANY;
	r->prep = " on";
	r->has_pos = pos != NULL;
	if (pos != NULL)
		r->pos = *pos;
}

/* A stage whose own egress is another stage's network. */
static int
check_stages(const struct umbra_conf *c, char *err, size_t errlen)
{
	struct road r;

	for (uint16_t s = 0; s < c->n_stages; s++) {
		road_init(&r, s, &c->stages[s].egress, -1, &c->stages[s].pos);
		r.prep = " through";
		snprintf(r.head, sizeof(r.head), "stage '%s' leaves", c->stages[s].name);
		if (road_check(c, &r, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int
check_splits(const struct umbra_conf *c, char *err, size_t errlen)
{
	struct road r;

	for (uint32_t i = 0; i < c->n_splits; i++) {
		const struct conf_split *sp = &c->splits[i];
		const char *from = c->stages[sp->stage].name;
		char of[64] = "";

		if (sp->service >= 0)
			snprintf(of, sizeof(of), " of service '%s'",
				 c->services[sp->service].name);
		if (sp->to_stage >= 0) {
			road_init(&r, sp->stage, &c->stages[sp->to_stage].egress,
				  sp->service, &sp->pos);
			r.names_stage = true;
			snprintf(r.head, sizeof(r.head), "split '%s' sends %s's flows%s "
				 "to stage %s", sp->name, from, of,
				 c->stages[sp->to_stage].name);
		} else {
			const struct conf_backend *b =
				&c->services[sp->service].backends[sp->to_backend];

			road_init(&r, sp->stage, &b->egress, sp->service, &sp->pos);
			snprintf(r.head, sizeof(r.head), "split '%s' sends %s's flows%s "
				 "to backend '%s'", sp->name, from, of, b->name);
		}
		if (road_check(c, &r, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Every backend a stage lists: each version the workflow places there runs on one. */
static int
check_backends(const struct umbra_conf *c, char *err, size_t errlen)
{
	struct road r;

	for (uint32_t i = 0; i < c->n_services; i++) {
		const struct conf_service *svc = &c->services[i];

		for (uint16_t s = 0; s < c->n_stages; s++) {
			const struct conf_svc_stage *st = &svc->stages[s];

			for (uint8_t k = 0; k < st->n_backends; k++) {
				const struct conf_backend *b = &svc->backends[st->backends[k]];

				road_init(&r, s, &b->egress, (int16_t)i, &st->pos);
				snprintf(r.head, sizeof(r.head), "service '%s' gives %s "
					 "backend '%s'", svc->name, c->stages[s].name, b->name);
				if (road_check(c, &r, err, errlen) < 0)
					return -1;
			}
		}
	}
	return 0;
}

/* Copies of a stage's flows to a shadow network and to its control replica. */
static int
check_one_shadow(const struct umbra_conf *c, const struct conf_shadow *s,
		 const struct conf_pos *pos, char *err, size_t errlen)
{
	const struct l4 sel = { s->proto, s->dport };
	struct road r;

	road_init(&r, s->stage, &s->egress, s->service, pos);
	r.sel = sel;
	r.prep = " to";
	snprintf(r.head, sizeof(r.head), "shadow '%s' copies %s's flows", s->name,
		 c->stages[s->stage].name);
	if (road_check(c, &r, err, errlen) < 0)
		return -1;
	if (!s->has_control)
		return 0;
	r.net = s->control;
	snprintf(r.head, sizeof(r.head), "shadow '%s' copies %s's flows for its "
		 "control replica", s->name, c->stages[s->stage].name);
	return road_check(c, &r, err, errlen);
}

int
classify_check_shadow(const struct umbra_conf *c, const struct conf_shadow *s,
		      char *err, size_t errlen)
{
	/* A profile given at run time has no place in the file. */
	return check_one_shadow(c, s, NULL, err, errlen);
}

static const char *
version_of(const json_t *slot)
{
	const char *v = json_string_value(json_object_get(slot, "version"));

	return v != NULL ? v : "?";
}

/* Backend @p name (a JSON string) of @p svc running @p what in stage @p s. */
static int
check_placement(const struct umbra_conf *c, uint32_t si, uint16_t s,
		const json_t *name, const char *what, char *err, size_t errlen)
{
	const struct conf_service *svc = &c->services[si];
	int b = json_is_string(name) ? conf_backend_index(svc, json_string_value(name)) : -1;
	struct road r;

	/* An unknown backend is steer_build's error to report. */
	if (b < 0)
		return 0;
	road_init(&r, s, &svc->backends[b].egress, (int16_t)si, NULL);
	snprintf(r.head, sizeof(r.head), "steering state: %s of service '%s' in %s "
		 "runs on backend '%s'", what, svc->name, c->stages[s].name,
		 svc->backends[b].name);
	return road_check(c, &r, err, errlen);
}

/* Each version and canary a steering state runs, on its backend. */
static int
check_state(const struct umbra_conf *c, const json_t *state, char *err, size_t errlen)
{
	const char *sname, *stname;
	json_t *svc_state, *slot;
	char what[96];

	json_object_foreach((json_t *)state, sname, svc_state) {
		int si = conf_service_index(c, sname);

		if (si < 0 || !json_is_object(svc_state))
			continue;
		json_object_foreach(svc_state, stname, slot) {
			int s = conf_stage_index(c, stname);
			json_t *canary = json_object_get(slot, "canary");

			if (s < 0)
				continue;
			snprintf(what, sizeof(what), "version %s", version_of(slot));
			if (check_placement(c, (uint32_t)si, (uint16_t)s,
					    json_object_get(slot, "backend"), what,
					    err, errlen) < 0)
				return -1;
			if (!json_is_object(canary))
				continue;
			snprintf(what, sizeof(what), "canary %s", version_of(canary));
			if (check_placement(c, (uint32_t)si, (uint16_t)s,
					    json_object_get(canary, "backend"), what,
					    err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- DevMesh (stages[].devmesh) ---- */

/* The first policy from @p from to @p to that road @p r's traffic meets. */
static const struct conf_policy *
policy_met(const struct umbra_conf *c, uint16_t from, uint16_t to, const struct road *r)
{
	for (uint32_t i = 0; i < c->n_policies; i++) {
		const struct conf_policy *p = &c->policies[i];
		struct l4 want = { p->proto, p->dport };

		if (p->from == from && p->to == to && road_carries(c, r, want))
			return p;
	}
	return NULL;
}

/* Rule @p r can match a flow of service match @p m. */
static bool
rule_meets(const struct conf_flow_rule *r, const struct conf_svc_match *m)
{
	return (r->proto == CONF_ANY || m->proto == CONF_ANY || r->proto == m->proto) &&
	       ranges_overlap(r->dport, m->dport);
}

/* Rule @p r matches every flow of @p m (any client port, its whole ports). */
static bool
rule_covers(const struct conf_flow_rule *r, const struct conf_svc_match *m)
{
	return (r->proto == CONF_ANY || r->proto == m->proto) &&
	       r->sport.lo == 0 && r->sport.hi == 65535 &&
	       r->dport.lo <= m->dport.lo && r->dport.hi >= m->dport.hi;
}

/*
 * An extension's flows become production's, so the first flows: rule from
 * the dev stage to production that meets them decides each one: it must
 * be an allow rule that lets all of them through.
 */
static int
extension_rule(const struct umbra_conf *c, const struct conf_devmesh *x, uint32_t si,
	       char *err, size_t errlen)
{
	const struct conf_service *svc = &c->services[si];
	const char *dev = c->stages[x->stage].name, *prod = c->stages[x->production].name;
	char pbuf[32], what[192];

	for (uint8_t k = 0; k < svc->n_matches; k++) {
		const struct conf_svc_match *m = &svc->matches[k];
		const struct conf_flow_rule *r = NULL;

		for (uint32_t j = 0; j < c->n_flow_rules && r == NULL; j++)
			if (c->flow_rules[j].from == x->stage && c->flow_rules[j].to == x->production &&
			    rule_meets(&c->flow_rules[j], m))
				r = &c->flow_rules[j];
		if (r != NULL && r->allow && rule_covers(r, m))
			continue;
		snprintf(what, sizeof(what), "devmesh extension of stage '%s' hands its flows "
			 "of service '%s' (%s, dport %u-%u) to stage %s", dev, svc->name,
			 proto_name(m->proto, pbuf, sizeof(pbuf)), m->dport.lo, m->dport.hi, prod);
		if (r == NULL)
			conf_error_at(c, x->pos, err, errlen, "%s, but no allow rule in flows: "
				      "lets %s reach %s there (add one: { from: %s, to: %s, "
				      "proto: ..., dport: ... })", what, dev, prod, dev, prod);
		else
			conf_error_at(c, x->pos, err, errlen, "%s, but flow rule '%s' (%s:%u:%u) "
				      "%s them first", what, r->name, c->file, r->pos.line,
				      r->pos.col, r->allow ? "lets through only part of" :
				      "denies");
		return -1;
	}
	return 0;
}

/* Extension @p x of service @p si: no policy forbids it, a rule allows it. */
static int
check_extension(const struct umbra_conf *c, const struct conf_devmesh *x, uint32_t si,
		char *err, size_t errlen)
{
	const struct conf_policy *p;
	struct road r;

	road_init(&r, x->stage, &c->stages[x->production].egress, (int16_t)si, &x->pos);
	r.names_stage = true;
	snprintf(r.head, sizeof(r.head), "devmesh extension of stage '%s' hands its flows of "
		 "service '%s' to stage %s", c->stages[x->stage].name, c->services[si].name,
		 c->stages[x->production].name);
	p = policy_met(c, x->stage, x->production, &r);
	if (p != NULL)
		return road_refuse(c, &r, x->production, p, NULL, err, errlen);
	return extension_rule(c, x, si, err, errlen);
}

/* A mirror copies production's flows into the dev stage's replica. */
static int
check_mirror(const struct umbra_conf *c, const struct conf_devmesh *x, char *err,
	     size_t errlen)
{
	const struct conf_shadow *s = &c->shadows[x->shadow];
	const struct l4 sel = { s->proto, s->dport };
	const struct conf_policy *p;
	struct road r;

	road_init(&r, x->production, &s->egress, x->service, &x->pos);
	r.sel = sel;
	r.names_stage = true;
	snprintf(r.head, sizeof(r.head), "devmesh mirror of stage '%s' copies %s's flows of "
		 "service '%s' to the stage's replica", c->stages[x->stage].name,
		 c->stages[x->production].name, c->services[x->service].name);
	p = policy_met(c, x->production, x->stage, &r);
	return p != NULL ? road_refuse(c, &r, x->stage, p, NULL, err, errlen) : 0;
}

/* Every service item @p x extends: the one it names, else each its stage
 * does not run and no other item names. */
static int
check_devmesh(const struct umbra_conf *c, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < c->n_devmesh; i++) {
		const struct conf_devmesh *x = &c->devmesh[i];

		if (x->mode == CONF_DEVMESH_MIRROR) {
			if (check_mirror(c, x, err, errlen) < 0)
				return -1;
			continue;
		}
		for (uint32_t si = 0; si < c->n_services; si++) {
			if (x->service >= 0 ? si != (uint32_t)x->service :
			    conf_service_runs_in(&c->services[si], x->stage) ||
			    conf_devmesh_extension(c, x->stage, (uint16_t)si) != x)
				continue;
			if (check_extension(c, x, si, err, errlen) < 0)
				return -1;
		}
	}
	return 0;
}

int
classify_check_invariants(const struct umbra_conf *c, const struct json_t *state,
			  char *err, size_t errlen)
{
	if (check_flow_rules(c, err, errlen) < 0)
		return -1;
	if (check_devmesh(c, err, errlen) < 0)
		return -1;
	if (c->n_policies == 0)
		return 0;
	if (check_stages(c, err, errlen) < 0 || check_splits(c, err, errlen) < 0 ||
	    check_backends(c, err, errlen) < 0)
		return -1;
	for (uint32_t i = 0; i < c->n_shadows; i++)
		if (check_one_shadow(c, &c->shadows[i], &c->shadows[i].pos, err, errlen) < 0)
			return -1;
	return json_is_object(state) ? check_state(c, state, err, errlen) : 0;
}
