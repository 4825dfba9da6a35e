/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Names that are not DNS: the service table (the data path's service
 * indexes), the service registry (configuration, service/register with
 * heartbeats, host agents' reports) and the namer that picks a name for
 * an endpoint from all of them.
 *
 * The registry is a preallocated array behind an open-addressing index
 * by address (one address may carry several services, on several ports
 * or stages). A full registry refuses: a registration silently evicted
 * would make an endpoint lose its name with nobody told.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "graph_private.h"

struct rslot {
	struct graph_reg_entry e;
	uint32_t hash;
	uint32_t next_free;
	uint8_t live;
};

struct graph_registry {
	struct rslot *s;
	uint32_t cap, count, free;
	struct gx_index ix;
	uint64_t registered, renewed, deregistered, expired;
	uint64_t refused_full, refused_invalid;
};

const char *const graph_reg_source_names[GRAPH_REG_SOURCE_MAX] = {
#define REG_NAME(id, name) name,
	GRAPH_REG_SOURCES(REG_NAME)
#undef REG_NAME
};

/* Copy @p src into @p dst of @p len bytes, cut to fit. */
static void
copy_str(char *dst, const char *src, size_t len)
{
	snprintf(dst, len, "%s", src);
}

int
graph_services_set(struct graph_services *s, unsigned int idx, const char *name,
		   const char *control_version, const char *canary_version)
{
	if (idx >= GRAPH_SERVICES_MAX)
		return -1;
	struct graph_service_name *n = &s->s[idx];

	if (name)
		copy_str(n->name, name, sizeof(n->name));
	if (control_version)
		copy_str(n->version[GRAPH_COHORT_CONTROL], control_version, sizeof(n->version[0]));
	if (canary_version)
		copy_str(n->version[GRAPH_COHORT_CANARY], canary_version, sizeof(n->version[1]));
	return 0;
}

int
graph_services_find(const struct graph_services *s, const char *name)
{
	if (name == NULL || name[0] == '\0')
		return -1;
	for (unsigned int i = 0; i < GRAPH_SERVICES_MAX; i++)
		if (strcmp(s->s[i].name, name) == 0)
			return (int)i;
	return -1;
}

static size_t
alen_of(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

static uint32_t
addr_hash(uint8_t family, const uint8_t addr[16])
{
	uint8_t k[17] = { family };

	memcpy(k + 1, addr, alen_of(family));
	return gx_hash(k, sizeof(k));
}

static uint32_t
reg_hash_of(const void *ctx, uint32_t slot)
{
	return ((const struct graph_registry *)ctx)->s[slot].hash;
}

struct graph_registry *
graph_registry_create(uint32_t capacity)
{
	if (capacity == 0 || capacity > (1u << 24))
		return NULL;
	struct graph_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cap = capacity;
	r->s = calloc(capacity, sizeof(*r->s));
	if (!r->s || gx_init(&r->ix, capacity) < 0) {
		graph_registry_free(r);
		return NULL;
	}
	for (uint32_t i = 0; i < capacity; i++)
		r->s[i].next_free = i + 1 < capacity ? i + 1 : GX_NIL;
	return r;
}

void
graph_registry_free(struct graph_registry *r)
{
	if (!r)
		return;
	gx_fini(&r->ix);
	free(r->s);
	free(r);
}

/* 1 .. max-1 characters, each a letter, digit or one of @p extra. */
static bool
valid_word(const char *s, size_t max, bool empty_ok, const char *extra)
{
	size_t n = strnlen(s, max);

	if (n == max || (n == 0 && !empty_ok))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	return true;
}

static bool
valid_entry(const struct graph_reg_entry *e, enum graph_reg_source src)
{
	return valid_word(e->name, sizeof(e->name), false, "._-") &&
	       valid_word(e->version, sizeof(e->version), true, "._-+") &&
	       alen_of(e->family) && src < GRAPH_REG_SOURCE_MAX &&
	       (src == GRAPH_REG_CONF || e->ttl_s > 0);
}

static bool
stage_match(uint16_t a, uint16_t b)
{
	return a == b || a == GRAPH_ANY || b == GRAPH_ANY;
}

static bool
same_instance(const struct graph_reg_entry *a, const struct graph_reg_entry *b)
{
	return a->stage == b->stage && a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, alen_of(a->family)) == 0 &&
	       strcmp(a->name, b->name) == 0;
}

static uint32_t
find_instance(const struct graph_registry *r, const struct graph_reg_entry *e, uint32_t h)
{
	for (uint32_t p = gx_first(&r->ix, h); r->ix.b[p]; p = gx_next(&r->ix, p)) {
		const struct rslot *s = &r->s[r->ix.b[p] - 1];

		if (s->hash == h && same_instance(&s->e, e))
			return r->ix.b[p] - 1;
	}
	return GX_NIL;
}

static void
remove_slot(struct graph_registry *r, uint32_t i)
{
	gx_remove(&r->ix, r->s[i].hash, i, reg_hash_of, r);
	r->s[i].live = 0;
	r->s[i].next_free = r->free;
	r->free = i;
	r->count--;
}

static void
set_lifetime(struct graph_reg_entry *e, uint32_t ttl_s, enum graph_reg_source src,
	     uint64_t now_ms)
{
	e->source = (uint8_t)src;
	e->ttl_s = src == GRAPH_REG_CONF ? 0 : ttl_s;
	e->renewed_ms = now_ms;
	e->expires_ms = src == GRAPH_REG_CONF ? UINT64_MAX : now_ms + (uint64_t)ttl_s * 1000;
}

int
graph_registry_register(struct graph_registry *r, const struct graph_reg_entry *e,
			enum graph_reg_source source, uint64_t now_ms)
{
	if (!valid_entry(e, source)) {
		r->refused_invalid++;
		return -EINVAL;
	}
	struct graph_reg_entry n = *e;

	/* Unused address bytes are zero: entries are compared as bytes. */
	memset(n.addr + alen_of(n.family), 0, sizeof(n.addr) - alen_of(n.family));
	uint32_t h = addr_hash(n.family, n.addr);
	uint32_t i = find_instance(r, &n, h);

	if (i != GX_NIL) {
		struct graph_reg_entry *o = &r->s[i].e;

		/* The configuration's entry is permanent: a heartbeat for it
		 * changes nothing. */
		if (o->source != GRAPH_REG_CONF || source == GRAPH_REG_CONF) {
			copy_str(o->version, n.version, sizeof(o->version));
			set_lifetime(o, n.ttl_s, source, now_ms);
		}
		r->renewed++;
		return 0;
	}
	if (r->free == GX_NIL) {
		r->refused_full++;
		return -ENOSPC;
	}
	i = r->free;
	r->free = r->s[i].next_free;
	r->s[i].e = n;
	r->s[i].e.registered_ms = now_ms;
	set_lifetime(&r->s[i].e, n.ttl_s, source, now_ms);
	r->s[i].hash = h;
	r->s[i].live = 1;
	gx_insert(&r->ix, h, i);
	r->count++;
	r->registered++;
	return 0;
}

unsigned int
graph_registry_deregister(struct graph_registry *r, const char *name, uint16_t stage,
			  uint8_t family, const uint8_t *addr, uint16_t port)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < r->cap; i++) {
		const struct graph_reg_entry *e = &r->s[i].e;

		if (!r->s[i].live || e->source == GRAPH_REG_CONF || strcmp(e->name, name) != 0 ||
		    !stage_match(e->stage, stage))
			continue;
		if (addr && (e->family != family || e->port != port ||
			     memcmp(e->addr, addr, alen_of(family)) != 0))
			continue;
		remove_slot(r, i);
		n++;
	}
	r->deregistered += n;
	return n;
}

int
graph_registry_set_conf(struct graph_registry *r, const struct graph_reg_entry *e,
			unsigned int n, uint64_t now_ms)
{
	for (uint32_t i = 0; i < r->cap; i++)
		if (r->s[i].live && r->s[i].e.source == GRAPH_REG_CONF)
			remove_slot(r, i);
	for (unsigned int i = 0; i < n; i++) {
		int rc = graph_registry_register(r, &e[i], GRAPH_REG_CONF, now_ms);

		if (rc < 0)
			return rc;
	}
	return 0;
}

unsigned int
graph_registry_agent_report(struct graph_registry *r, const struct graph_reg_entry *e,
			    unsigned int n, uint32_t ttl_s, uint64_t now_ms)
{
	unsigned int taken = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct graph_reg_entry a = e[i];

		a.ttl_s = ttl_s;
		taken += graph_registry_register(r, &a, GRAPH_REG_AGENT, now_ms) == 0;
	}
	return taken;
}

unsigned int
graph_registry_expire(struct graph_registry *r, uint64_t now_ms)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < r->cap; i++)
		if (r->s[i].live && now_ms >= r->s[i].e.expires_ms) {
			remove_slot(r, i);
			n++;
		}
	r->expired += n;
	return n;
}

const struct graph_reg_entry *
graph_registry_lookup(const struct graph_registry *r, uint16_t stage, uint8_t family,
		      const uint8_t addr[16], uint16_t port, uint64_t now_ms)
{
	const struct graph_reg_entry *any_port = NULL;
	size_t alen = alen_of(family);
	uint32_t h;

	if (!alen)
		return NULL;
	h = addr_hash(family, addr);
	for (uint32_t p = gx_first(&r->ix, h); r->ix.b[p]; p = gx_next(&r->ix, p)) {
		const struct rslot *s = &r->s[r->ix.b[p] - 1];
		const struct graph_reg_entry *e = &s->e;

		if (s->hash != h || e->family != family || memcmp(e->addr, addr, alen) != 0 ||
		    !stage_match(e->stage, stage) || now_ms >= e->expires_ms)
			continue;
		if (e->port == port)
			return e;
		if (e->port == 0 || port == 0)
			any_port = any_port ? any_port : e;
	}
	return any_port;
}

const struct graph_reg_entry *
graph_registry_next(const struct graph_registry *r, uint32_t *cursor)
{
	for (uint32_t i = *cursor; i < r->cap; i++)
		if (r->s[i].live) {
			*cursor = i + 1;
			return &r->s[i].e;
		}
	*cursor = r->cap;
	return NULL;
}

void
graph_registry_info(const struct graph_registry *r, struct graph_registry_info *info)
{
	*info = (struct graph_registry_info){
		.count = r->count, .capacity = r->cap,
		.registered = r->registered, .renewed = r->renewed,
		.deregistered = r->deregistered, .expired = r->expired,
		.refused_full = r->refused_full, .refused_invalid = r->refused_invalid,
		.memory_bytes = sizeof(*r) + (size_t)r->cap * sizeof(*r->s) + gx_bytes(&r->ix),
	};
}

/* ------------------------------------------------------------------ */
/* The namer                                                           */

void
graph_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, a, sizeof(a)))
		copy_str(a, "?", sizeof(a));
	snprintf(buf, len, "%s", a);
}

enum graph_name_src
graph_name_server(const struct graph_namer *n, uint16_t stage, uint8_t family,
		  const uint8_t addr[16], uint16_t port, char *buf, size_t len)
{
	const char *name;

	if (n && n->registry) {
		const struct graph_reg_entry *e =
			graph_registry_lookup(n->registry, stage, family, addr, port, n->now_ms);

		if (e) {
			snprintf(buf, len, "%s", e->name);
			return GRAPH_NAME_REGISTRY;
		}
	}
	if (n && n->dns) {
		enum graph_name_src src = graph_dns_lookup(n->dns, family, addr, n->now_ms,
							   GRAPH_DNS_PEEK, &name);

		if (src != GRAPH_NAME_NONE) {
			snprintf(buf, len, "%s", name);
			return src;
		}
	}
	graph_addr_str(family, addr, buf, len);
	return GRAPH_NAME_NONE;
}

enum graph_name_src
graph_name_client(const struct graph_namer *n, const struct graph_key *k, char *buf, size_t len)
{
	if (k->client_kind == GRAPH_CLIENT_SERVICE) {
		const struct graph_service_name *s =
			n && n->services && k->client[0] < GRAPH_SERVICES_MAX ?
			&n->services->s[k->client[0]] : NULL;

		if (s && s->name[0])
			snprintf(buf, len, "%s", s->name);
		else
			snprintf(buf, len, "service#%u", k->client[0]);
		return GRAPH_NAME_SERVICE;
	}
	return graph_name_server(n, k->stage, k->family, k->client, 0, buf, len);
}
