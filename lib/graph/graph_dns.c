/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DNS name cache: address -> the name that was asked, from answers
 * seen on the wire.
 *
 * Two preallocated arrays behind open-addressing indexes: addresses
 * (on an LRU list of answers and uses, and on their name's list) and
 * names (interned, one per asked name, freed with their last address).
 * A name is held by at least one address, so as many name slots as
 * address slots always suffice.
 *
 * A mapping lives until its TTL; then, if a flow used it within
 * linger_ms, it stays as stale (at most stale_per_name per name, the
 * least recently used ones go first), else it goes. Both are settled
 * lazily at lookup and by graph_dns_expire()'s bounded sweep.
 */
#include <ctype.h>
#include <string.h>

#include "graph.h"
#include "graph_private.h"

struct daddr {
	uint8_t family;
	uint8_t live;
	uint8_t stale;
	uint8_t addr[16];
	uint32_t hash;
	uint32_t name;
	uint64_t expires_ms;
	uint64_t last_used_ms;    /* 0: never used by a flow */
	uint32_t prev, next;      /* LRU; next is the free list's link when not live */
	uint32_t nprev, nnext;    /* the name's addresses */
};

struct dname {
	char name[GRAPH_DNS_NAME_MAX];
	uint32_t hash;
	uint32_t n_addrs, n_stale;
	uint32_t head;            /* first address; GX_NIL */
	uint32_t next_free;
};

struct graph_dns {
	struct graph_dns_conf conf;
	struct daddr *a;
	struct dname *n;
	struct gx_index aix, nix;
	struct gx_lru lru;
	uint32_t free_a, free_n;
	uint32_t n_addrs, n_names, n_stale;
	uint32_t cursor;
	uint64_t answers, mapped, rr_ignored, chain_too_long, expired, stale_capped, evicted;
};

const char *const graph_name_src_names[GRAPH_NAME_SRC_MAX] = {
#define SRC_NAME(id, name) name,
	GRAPH_NAME_SOURCES(SRC_NAME)
#undef SRC_NAME
};

void
graph_dns_conf_default(struct graph_dns_conf *c, uint32_t max_addrs)
{
	*c = (struct graph_dns_conf){
		.max_addrs = max_addrs,
		.stale_per_name = 4,
		.linger_ms = 300000,
		.min_ttl_s = 0,
		.max_ttl_s = 86400,
	};
}

static uint32_t
addr_hash_of(const void *ctx, uint32_t slot)
{
	return ((const struct graph_dns *)ctx)->a[slot].hash;
}

static uint32_t
name_hash_of(const void *ctx, uint32_t slot)
{
	return ((const struct graph_dns *)ctx)->n[slot].hash;
}

static void
reset_free_lists(struct graph_dns *d)
{
	uint32_t cap = d->conf.max_addrs;

	for (uint32_t i = 0; i < cap; i++) {
		d->a[i].live = 0;
		d->a[i].next = i + 1 < cap ? i + 1 : GX_NIL;
		d->n[i].next_free = i + 1 < cap ? i + 1 : GX_NIL;
	}
	d->free_a = d->free_n = 0;
}

struct graph_dns *
graph_dns_create(const struct graph_dns_conf *c)
{
	if (!c || c->max_addrs == 0 || c->max_addrs > (1u << 28))
		return NULL;
	struct graph_dns *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->conf = *c;
	d->a = calloc(c->max_addrs, sizeof(*d->a));
	d->n = calloc(c->max_addrs, sizeof(*d->n));
	if (!d->a || !d->n || gx_init(&d->aix, c->max_addrs) < 0 ||
	    gx_init(&d->nix, c->max_addrs) < 0) {
		graph_dns_free(d);
		return NULL;
	}
	d->lru = (struct gx_lru)GX_LRU_INIT;
	reset_free_lists(d);
	return d;
}

void
graph_dns_free(struct graph_dns *d)
{
	if (!d)
		return;
	gx_fini(&d->aix);
	gx_fini(&d->nix);
	free(d->a);
	free(d->n);
	free(d);
}

/* DNS names compare without case and without a trailing dot. */
static size_t
normalize(const char *in, char out[GRAPH_DNS_NAME_MAX])
{
	size_t n = strnlen(in, GRAPH_DNS_NAME_MAX - 1);

	while (n && in[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	return n;
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
find_addr(const struct graph_dns *d, uint8_t family, const uint8_t addr[16], uint32_t h)
{
	size_t alen = alen_of(family);

	for (uint32_t p = gx_first(&d->aix, h); d->aix.b[p]; p = gx_next(&d->aix, p)) {
		const struct daddr *a = &d->a[d->aix.b[p] - 1];

		if (a->hash == h && a->family == family && memcmp(a->addr, addr, alen) == 0)
			return d->aix.b[p] - 1;
	}
	return GX_NIL;
}

static uint32_t
find_name(const struct graph_dns *d, const char *name, uint32_t h)
{
	for (uint32_t p = gx_first(&d->nix, h); d->nix.b[p]; p = gx_next(&d->nix, p)) {
		const struct dname *n = &d->n[d->nix.b[p] - 1];

		if (n->hash == h && strcmp(n->name, name) == 0)
			return d->nix.b[p] - 1;
	}
	return GX_NIL;
}

/* Take address @p i off its name; the name goes with its last address. */
static void
unlink_name(struct graph_dns *d, uint32_t i)
{
	struct daddr *a = &d->a[i];
	struct dname *n = &d->n[a->name];

	if (a->nprev != GX_NIL)
		d->a[a->nprev].nnext = a->nnext;
	else
		n->head = a->nnext;
	if (a->nnext != GX_NIL)
		d->a[a->nnext].nprev = a->nprev;
	n->n_addrs--;
	if (a->stale)
		n->n_stale--;
	if (n->n_addrs == 0) {
		gx_remove(&d->nix, n->hash, a->name, name_hash_of, d);
		n->next_free = d->free_n;
		d->free_n = a->name;
		d->n_names--;
	}
}

static void
link_name(struct graph_dns *d, uint32_t i, uint32_t ni)
{
	struct daddr *a = &d->a[i];
	struct dname *n = &d->n[ni];

	a->name = ni;
	a->nprev = GX_NIL;
	a->nnext = n->head;
	if (n->head != GX_NIL)
		d->a[n->head].nprev = i;
	n->head = i;
	n->n_addrs++;
	if (a->stale)
		n->n_stale++;
}

static void
remove_addr(struct graph_dns *d, uint32_t i)
{
	struct daddr *a = &d->a[i];

	if (a->stale)
		d->n_stale--;
	unlink_name(d, i);
	GX_LRU_UNLINK(&d->lru, d->a, i, prev, next);
	gx_remove(&d->aix, a->hash, i, addr_hash_of, d);
	a->live = 0;
	a->stale = 0;
	a->next = d->free_a;
	d->free_a = i;
	d->n_addrs--;
}

/* The name's index, made if new. A free name slot always exists: every
 * live name holds a live address and an address slot was just freed. */
static uint32_t
intern(struct graph_dns *d, const char *name)
{
	uint32_t h = gx_hash(name, strlen(name));
	uint32_t ni = find_name(d, name, h);

	if (ni != GX_NIL)
		return ni;
	ni = d->free_n;
	d->free_n = d->n[ni].next_free;
	struct dname *n = &d->n[ni];

	memcpy(n->name, name, strlen(name) + 1);
	n->hash = h;
	n->n_addrs = n->n_stale = 0;
	n->head = GX_NIL;
	gx_insert(&d->nix, h, ni);
	d->n_names++;
	return ni;
}

static uint32_t
alloc_addr(struct graph_dns *d)
{
	if (d->free_a == GX_NIL) {
		remove_addr(d, d->lru.tail);
		d->evicted++;
	}
	uint32_t i = d->free_a;

	d->free_a = d->a[i].next;
	return i;
}

static void
map_addr(struct graph_dns *d, uint8_t family, const uint8_t addr[16], const char *name,
	 uint32_t ttl_s, uint64_t ts)
{
	uint32_t h = addr_hash(family, addr);
	uint32_t i = find_addr(d, family, addr, h);

	if (i == GX_NIL) {
		i = alloc_addr(d);
		struct daddr *a = &d->a[i];

		*a = (struct daddr){ .family = family, .live = 1, .hash = h };
		memcpy(a->addr, addr, alen_of(family));
		gx_insert(&d->aix, h, i);
		d->n_addrs++;
	} else {
		GX_LRU_UNLINK(&d->lru, d->a, i, prev, next);
		unlink_name(d, i);
		if (d->a[i].stale) {
			d->a[i].stale = 0;
			d->n_stale--;
		}
	}
	GX_LRU_PUSH(&d->lru, d->a, i, prev, next);
	/* The name is interned after the old one may have gone, so a full
	 * name table always has the slot just freed. */
	link_name(d, i, intern(d, name));
	d->a[i].expires_ms = ts + (uint64_t)ttl_s * 1000;
	d->mapped++;
}

static uint32_t
clamp_ttl(const struct graph_dns *d, uint32_t ttl)
{
	if (ttl < d->conf.min_ttl_s)
		return d->conf.min_ttl_s;
	return ttl > d->conf.max_ttl_s ? d->conf.max_ttl_s : ttl;
}

static bool
rr_owned_by(const struct graph_dns_rr *rr, const char *owner)
{
	char o[GRAPH_DNS_NAME_MAX];

	normalize(rr->owner, o);
	return strcmp(o, owner) == 0;
}

unsigned int
graph_dns_add_answer(struct graph_dns *d, const struct graph_dns_answer *ans)
{
	char qname[GRAPH_DNS_NAME_MAX], cur[GRAPH_DNS_NAME_MAX];
	bool used[GRAPH_DNS_RR_MAX] = { false };
	unsigned int n_rr = ans->n_rr, mapped = 0;
	uint32_t chain_ttl = UINT32_MAX;

	d->answers++;
	if (n_rr > GRAPH_DNS_RR_MAX) {
		d->rr_ignored += n_rr - GRAPH_DNS_RR_MAX;
		n_rr = GRAPH_DNS_RR_MAX;
	}
	if (normalize(ans->qname, qname) == 0) {
		d->rr_ignored += n_rr;
		return 0;
	}
	memcpy(cur, qname, sizeof(cur));
	/* Walk the chain from the asked name: addresses of every name on it
	 * are the asked name's, valid while every link to them is. */
	for (unsigned int depth = 0;; depth++) {
		int cname = -1;

		for (unsigned int i = 0; i < n_rr; i++) {
			const struct graph_dns_rr *rr = &ans->rr[i];
			uint8_t fam = rr->type == GRAPH_RR_A ? 4 :
				      rr->type == GRAPH_RR_AAAA ? 6 : 0;

			if (used[i] || !rr_owned_by(rr, cur))
				continue;
			if (fam) {
				uint32_t ttl = rr->ttl_s < chain_ttl ? rr->ttl_s : chain_ttl;

				map_addr(d, fam, rr->addr, qname, clamp_ttl(d, ttl), ans->ts_ms);
				used[i] = true;
				mapped++;
			} else if (rr->type == GRAPH_RR_CNAME && cname < 0) {
				cname = (int)i;
			}
		}
		if (cname < 0)
			break;
		if (depth == GRAPH_DNS_CHAIN_MAX) {
			d->chain_too_long++;
			break;
		}
		used[cname] = true;
		if (ans->rr[cname].ttl_s < chain_ttl)
			chain_ttl = ans->rr[cname].ttl_s;
		normalize(ans->rr[cname].target, cur);
	}
	for (unsigned int i = 0; i < n_rr; i++)
		d->rr_ignored += !used[i];
	return mapped;
}

/* The least recently used stale address of name @p ni. */
static uint32_t
oldest_stale(const struct graph_dns *d, uint32_t ni)
{
	uint32_t best = GX_NIL;

	for (uint32_t i = d->n[ni].head; i != GX_NIL; i = d->a[i].nnext)
		if (d->a[i].stale && (best == GX_NIL ||
				      d->a[i].last_used_ms < d->a[best].last_used_ms))
			best = i;
	return best;
}

/*
 * Bring mapping @p i up to @p now: fresh, stale (in use past its TTL,
 * within its name's cap) or gone. @return true if it is still there.
 */
static bool
settle(struct graph_dns *d, uint32_t i, uint64_t now)
{
	struct daddr *a = &d->a[i];

	if (now < a->expires_ms)
		return true;
	if (a->last_used_ms == 0 || now - a->last_used_ms > d->conf.linger_ms) {
		remove_addr(d, i);
		d->expired++;
		return false;
	}
	if (a->stale)
		return true;
	uint32_t ni = a->name;

	a->stale = 1;
	d->n[ni].n_stale++;
	d->n_stale++;
	if (d->n[ni].n_stale <= d->conf.stale_per_name)
		return true;
	uint32_t victim = oldest_stale(d, ni);

	remove_addr(d, victim);
	d->stale_capped++;
	return victim != i;
}

enum graph_name_src
graph_dns_lookup(struct graph_dns *d, uint8_t family, const uint8_t addr[16], uint64_t now_ms,
		 enum graph_dns_use use, const char **name)
{
	if (!alen_of(family))
		return GRAPH_NAME_NONE;
	uint32_t i = find_addr(d, family, addr, addr_hash(family, addr));

	if (i == GX_NIL || !settle(d, i, now_ms))
		return GRAPH_NAME_NONE;
	struct daddr *a = &d->a[i];

	/* A new flow never gets a stale name, and does not keep one alive. */
	if (a->stale && use == GRAPH_DNS_NEW_FLOW)
		return GRAPH_NAME_NONE;
	if (use != GRAPH_DNS_PEEK) {
		a->last_used_ms = now_ms;
		GX_LRU_UNLINK(&d->lru, d->a, i, prev, next);
		GX_LRU_PUSH(&d->lru, d->a, i, prev, next);
	}
	*name = d->n[a->name].name;
	return a->stale ? GRAPH_NAME_DNS_STALE : GRAPH_NAME_DNS;
}

unsigned int
graph_dns_expire(struct graph_dns *d, uint64_t now_ms, uint32_t budget)
{
	uint64_t before = d->expired + d->stale_capped;
	uint32_t cap = d->conf.max_addrs;

	if (budget > cap)
		budget = cap;
	for (uint32_t k = 0; k < budget; k++) {
		uint32_t i = d->cursor;

		d->cursor = i + 1 < cap ? i + 1 : 0;
		if (d->a[i].live)
			settle(d, i, now_ms);
	}
	return (unsigned int)(d->expired + d->stale_capped - before);
}

void
graph_dns_info(const struct graph_dns *d, struct graph_dns_info *info)
{
	*info = (struct graph_dns_info){
		.addrs = d->n_addrs, .names = d->n_names, .stale = d->n_stale,
		.answers = d->answers, .mapped = d->mapped, .rr_ignored = d->rr_ignored,
		.chain_too_long = d->chain_too_long, .expired = d->expired,
		.stale_capped = d->stale_capped, .evicted = d->evicted,
		.memory_bytes = sizeof(*d) +
			(size_t)d->conf.max_addrs * (sizeof(*d->a) + sizeof(*d->n)) +
			gx_bytes(&d->aix) + gx_bytes(&d->nix),
	};
}
