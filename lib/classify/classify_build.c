/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half of classification: compile a configuration into an
 * rte_acl context and the inter-stage rule index.
 */
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "classify_private.h"

enum {
	F_PROTO, F_PORT, F_VLAN, F_FAMILY, F_DPORT,
	F_SRC0, F_SRC1, F_SRC2, F_SRC3,
	F_DST0, F_DST1, F_DST2, F_DST3,
	F_NUM
};

RTE_ACL_RULE_DEF(classify_acl_rule, F_NUM);

#define KEY_OFF(f) offsetof(struct classify_key, f)

/* rte_acl reads the first byte alone, then four bytes per input index. */
static const struct rte_acl_field_def classify_fields[F_NUM] = {
	{ RTE_ACL_FIELD_TYPE_BITMASK, 1, F_PROTO, 0, KEY_OFF(proto) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 2, F_PORT, 1, KEY_OFF(in_port) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 2, F_VLAN, 1, KEY_OFF(vlan) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 2, F_FAMILY, 2, KEY_OFF(family) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 2, F_DPORT, 2, KEY_OFF(dport) },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_SRC0, 3, KEY_OFF(src) + 0 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_SRC1, 4, KEY_OFF(src) + 4 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_SRC2, 5, KEY_OFF(src) + 8 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_SRC3, 6, KEY_OFF(src) + 12 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_DST0, 7, KEY_OFF(dst) + 0 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_DST1, 8, KEY_OFF(dst) + 4 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_DST2, 9, KEY_OFF(dst) + 8 },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_DST3, 10, KEY_OFF(dst) + 12 },
};

static void
range_field(struct rte_acl_field *f, uint16_t lo, uint16_t hi)
{
	f->value.u16 = lo;
	f->mask_range.u16 = hi;
}

/* A prefix becomes four 32-bit MASK fields (host order values). */
static void
prefix_fields(struct rte_acl_field *f, const struct conf_prefix *p)
{
	for (int i = 0; i < 4; i++) {
		int bits = p->len - 32 * i;
		uint32_t word;

		memcpy(&word, p->addr + 4 * i, 4);
		bits = bits < 0 ? 0 : (bits > 32 ? 32 : bits);
		f[i].value.u32 = bits ? rte_be_to_cpu_32(word) : 0;
		f[i].mask_range.u32 = bits;
	}
}

static uint8_t
match_family(const struct conf_match *m)
{
	return m->src.family ? m->src.family : m->dst.family;
}

static void
acl_rule_from_match(struct classify_acl_rule *r, const struct conf_match *m,
		    uint32_t index)
{
	struct rte_acl_field *f = r->field;
	uint8_t family = match_family(m);

	memset(r, 0, sizeof(*r));
	r->data.category_mask = 1;
	/* The loader keeps priorities below 2^28 (explicit * 4096 + file
	 * order), inside rte_acl's range; rte_acl wants them positive. */
	r->data.priority = (int32_t)m->priority + 1;
	r->data.userdata = index + 1;

	if (m->proto != CONF_ANY) {
		f[F_PROTO].value.u8 = (uint8_t)m->proto;
		f[F_PROTO].mask_range.u8 = 0xff;
	}
	if (m->port == CONF_ANY)
		range_field(&f[F_PORT], 0, UINT16_MAX);
	else
		range_field(&f[F_PORT], (uint16_t)m->port, (uint16_t)m->port);
	if (m->vlan == CONF_ANY)
		range_field(&f[F_VLAN], 0, UINT16_MAX);
	else
		range_field(&f[F_VLAN], (uint16_t)m->vlan, (uint16_t)m->vlan);
	if (family)
		range_field(&f[F_FAMILY], family, family);
	else
		range_field(&f[F_FAMILY], 0, UINT16_MAX);
	range_field(&f[F_DPORT], m->dport.lo, m->dport.hi);
	prefix_fields(&f[F_SRC0], &m->src);
	prefix_fields(&f[F_DST0], &m->dst);
}

static int
build_acl(struct classify_ctx *ctx, const struct umbra_conf *c,
	  const char *name, int socket, char *err, size_t errlen)
{
	struct rte_acl_param prm = {
		.name = name,
		.socket_id = socket,
		.rule_size = RTE_ACL_RULE_SZ(F_NUM),
		.max_rule_num = c->n_matches,
	};
	struct rte_acl_config cfg = {
		.num_categories = 1,
		.num_fields = F_NUM,
	};
	struct classify_acl_rule r;
	int rc;

	memcpy(cfg.defs, classify_fields, sizeof(classify_fields));
	ctx->acl = rte_acl_create(&prm);
	if (ctx->acl == NULL) {
		snprintf(err, errlen, "cannot create classifier '%s': %s",
			 name, rte_strerror(rte_errno));
		return -1;
	}
	for (uint32_t i = 0; i < c->n_matches; i++) {
		acl_rule_from_match(&r, &c->matches[i], i);
		rc = rte_acl_add_rules(ctx->acl, (struct rte_acl_rule *)&r, 1);
		if (rc != 0) {
			conf_error_at(c, c->matches[i].pos, err, errlen,
				      "cannot add match rule: %s", strerror(-rc));
			return -1;
		}
	}
	rc = rte_acl_build(ctx->acl, &cfg);
	if (rc != 0) {
		snprintf(err, errlen, "cannot build classifier: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

static int
build_policy(struct classify_ctx *ctx, const struct umbra_conf *c,
	     int socket, char *err, size_t errlen)
{
	uint32_t n = c->n_flow_rules, next = 0;

	ctx->n_rules = n;
	if (n == 0)
		return 0;
	ctx->rules = rte_zmalloc_socket("classify_rules", n * sizeof(*ctx->rules),
					RTE_CACHE_LINE_SIZE, socket);
	ctx->rule_ids = rte_zmalloc_socket("classify_rule_ids",
					   n * sizeof(*ctx->rule_ids),
					   RTE_CACHE_LINE_SIZE, socket);
	if (ctx->rules == NULL || ctx->rule_ids == NULL) {
		snprintf(err, errlen, "out of memory for %u flow rules", n);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct conf_flow_rule *fr = &c->flow_rules[i];

		ctx->rules[i] = (struct classify_rule){
			.proto = fr->proto,
			.sport_lo = fr->sport.lo, .sport_hi = fr->sport.hi,
			.dport_lo = fr->dport.lo, .dport_hi = fr->dport.hi,
			.allow = fr->allow,
		};
	}
	/* Group rule indices by (from, to), keeping file order in a group. */
	for (uint16_t f = 0; f < c->n_stages; f++) {
		for (uint16_t t = 0; t < c->n_stages; t++) {
			ctx->pair_first[f][t] = next;
			for (uint32_t i = 0; i < n; i++) {
				if (c->flow_rules[i].from == f &&
				    c->flow_rules[i].to == t)
					ctx->rule_ids[next++] = (uint16_t)i;
			}
			ctx->pair_count[f][t] =
				(uint16_t)(next - ctx->pair_first[f][t]);
		}
	}
	return 0;
}

/* Add segment (port, vlan) for stage @p s unless an earlier entry names it. */
static void
segment_add(struct classify_ctx *ctx, const struct conf_egress *e, uint16_t s,
	    bool backend)
{
	for (uint16_t i = 0; i < ctx->n_egress; i++)
		if (ctx->egress[i].port == e->port && ctx->egress[i].vlan == e->vlan)
			return;
	if (ctx->n_egress == CLASSIFY_MAX_SEGMENTS)
		return; /* cannot happen: the loader bounds stages and backends */
	ctx->egress[ctx->n_egress++] = (struct classify_egress){
		.port = e->port,
		.vlan = e->vlan,
		.stage = s,
		.backend = backend,
	};
}

/* Backend segments of stage @p s: its services' backends and split targets. */
static void
stage_backends(struct classify_ctx *ctx, const struct umbra_conf *c, uint16_t s)
{
	for (uint32_t i = 0; i < c->n_services; i++) {
		const struct conf_service *svc = &c->services[i];
		const struct conf_svc_stage *st = &svc->stages[s];

		for (uint8_t b = 0; b < st->n_backends; b++)
			segment_add(ctx, &svc->backends[st->backends[b]].egress, s, true);
	}
	for (uint32_t i = 0; i < c->n_splits; i++) {
		const struct conf_split *sp = &c->splits[i];

		if (sp->stage == s && sp->to_backend >= 0)
			segment_add(ctx, &c->services[sp->service]
				    .backends[sp->to_backend].egress, s, true);
	}
}

/*
 * The from-stage map. Stage egresses first (two stages may share one: the
 * first names it). Then backend segments that are no stage's egress (blue
 * and green each on their own port): one belongs to the stage whose
 * services run there, so that what its servers send is that stage's
 * traffic. Used by several stages, a production stage wins, then the
 * first in file order.
 */
static void
build_egress(struct classify_ctx *ctx, const struct umbra_conf *c)
{
	for (uint16_t s = 0; s < c->n_stages; s++)
		segment_add(ctx, &c->stages[s].egress, s, false);
	for (uint16_t s = 0; s < c->n_stages; s++)
		if (c->stages[s].production)
			stage_backends(ctx, c, s);
	for (uint16_t s = 0; s < c->n_stages; s++)
		if (!c->stages[s].production)
			stage_backends(ctx, c, s);
}

struct classify_ctx *
classify_build(const struct umbra_conf *c, const char *name, int socket,
	       char *err, size_t errlen)
{
	struct classify_ctx *ctx;

	ctx = rte_zmalloc_socket("classify_ctx", sizeof(*ctx),
				 RTE_CACHE_LINE_SIZE, socket);
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory for the classifier");
		return NULL;
	}
	ctx->default_stage = c->default_stage;
	ctx->n_stages = c->n_stages;
	ctx->n_matches = c->n_matches;
	build_egress(ctx, c);
	if (c->n_matches > 0) {
		ctx->match_stage = rte_zmalloc_socket("classify_match_stage",
				c->n_matches * sizeof(uint16_t), 0, socket);
		if (ctx->match_stage == NULL) {
			snprintf(err, errlen, "out of memory for match rules");
			goto fail;
		}
		for (uint32_t i = 0; i < c->n_matches; i++)
			ctx->match_stage[i] = c->matches[i].stage;
		if (build_acl(ctx, c, name, socket, err, errlen) < 0)
			goto fail;
	}
	if (build_policy(ctx, c, socket, err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	classify_free(ctx);
	return NULL;
}

void
classify_free(struct classify_ctx *ctx)
{
	if (ctx == NULL)
		return;
	rte_acl_free(ctx->acl);
	rte_free(ctx->match_stage);
	rte_free(ctx->rules);
	rte_free(ctx->rule_ids);
	rte_free(ctx);
}

uint32_t
classify_n_matches(const struct classify_ctx *ctx)
{
	return ctx->n_matches;
}
