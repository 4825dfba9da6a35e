/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A snapshot as a Graphviz digraph: clients (services or addresses) on
 * the left, server endpoints on the right, named from the service table,
 * the registry and DNS. Names from the wire are escaped: a DNS name can
 * hold any byte.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define LABEL_MAX 320

/* @p s as the inside of a DOT quoted string: quotes and backslashes
 * escaped, anything not printable ASCII as '?'. */
static int
put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			if (fputc('\\', f) == EOF || fputc(ch, f) == EOF)
				return -1;
		} else if (fputc(ch >= 0x20 && ch < 0x7f ? ch : '?', f) == EOF) {
			return -1;
		}
	}
	return 0;
}

static void
client_id(const struct graph_key *k, char *buf, size_t len)
{
	char a[64];

	if (k->client_kind == GRAPH_CLIENT_SERVICE) {
		snprintf(buf, len, "c:svc:%u", k->client[0]);
		return;
	}
	graph_addr_str(k->family, k->client, a, sizeof(a));
	snprintf(buf, len, "c:%s", a);
}

static void
server_id(const struct graph_key *k, char *buf, size_t len)
{
	char a[64];

	graph_addr_str(k->family, k->server, a, sizeof(a));
	snprintf(buf, len, "s:%s:%u/%u", a, k->server_port, k->proto);
}

static int
put_node(FILE *f, const char *id, const char *name, const char *detail, const char *note,
	 const char *shape)
{
	if (fputs("  \"", f) == EOF || put_escaped(f, id) || fputs("\" [shape=", f) == EOF ||
	    fputs(shape, f) == EOF || fputs(", label=\"", f) == EOF || put_escaped(f, name))
		return -1;
	if (detail[0] && (fputs("\\n", f) == EOF || put_escaped(f, detail)))
		return -1;
	if (note[0] && (fputs("\\n(", f) == EOF || put_escaped(f, note) || fputc(')', f) == EOF))
		return -1;
	return fputs("\"];\n", f) == EOF ? -1 : 0;
}

static int
put_client(FILE *f, const struct graph_snap *s, const struct graph_key *k,
	   const struct graph_namer *n)
{
	char id[96], name[LABEL_MAX], detail[96] = "", addr[64];
	enum graph_name_src src = graph_name_client(n, k, name, sizeof(name));

	client_id(k, id, sizeof(id));
	if (src == GRAPH_NAME_SERVICE && s->filter.cohort != GRAPH_ANY && n && n->services &&
	    n->services->s[k->client[0]].version[s->filter.cohort ? 1 : 0][0])
		snprintf(detail, sizeof(detail), "%s %s", s->filter.cohort ? "canary" : "control",
			 n->services->s[k->client[0]].version[s->filter.cohort ? 1 : 0]);
	else if (src != GRAPH_NAME_SERVICE && src != GRAPH_NAME_NONE) {
		graph_addr_str(k->family, k->client, addr, sizeof(addr));
		snprintf(detail, sizeof(detail), "%s", addr);
	}
	return put_node(f, id, name, detail,
			src == GRAPH_NAME_NONE ? "no name" :
			src == GRAPH_NAME_DNS_STALE ? "stale name" : "", "box");
}

static int
put_server(FILE *f, const struct graph_key *k, const struct graph_namer *n)
{
	char id[96], name[LABEL_MAX], detail[96], addr[64];
	enum graph_name_src src = graph_name_server(n, k->stage, k->family, k->server,
						    k->server_port, name, sizeof(name));

	server_id(k, id, sizeof(id));
	graph_addr_str(k->family, k->server, addr, sizeof(addr));
	if (src == GRAPH_NAME_NONE)
		snprintf(detail, sizeof(detail), "port %u/%u", k->server_port, k->proto);
	else
		snprintf(detail, sizeof(detail), "%s:%u/%u", addr, k->server_port, k->proto);
	return put_node(f, id, name, detail,
			src == GRAPH_NAME_NONE ? "no name" :
			src == GRAPH_NAME_DNS_STALE ? "stale name" : "", "ellipse");
}

static const struct graph_diff_edge *
mark_of(const struct graph_diff *marks, const struct graph_key *k)
{
	for (uint32_t i = 0; marks && i < marks->n_listed; i++) {
		struct graph_key a = marks->list[i].key, b = *k;

		a.cohort = b.cohort = 0;
		if (memcmp(&a, &b, sizeof(a)) == 0)
			return &marks->list[i];
	}
	return NULL;
}

static int
put_edge(FILE *f, const struct graph_key *k, const struct graph_edge_stats *st,
	 const struct graph_diff_edge *m)
{
	char c[96], s[96];
	const char *style = "";

	client_id(k, c, sizeof(c));
	server_id(k, s, sizeof(s));
	if (m && m->change == GRAPH_CHANGE_NEW)
		style = ", color=red, fontcolor=red";
	else if (m && m->change == GRAPH_CHANGE_CHANGED)
		style = ", color=orange";
	else if (m && m->change == GRAPH_CHANGE_MISSING)
		style = ", style=dashed, color=gray";
	if (fputs("  \"", f) == EOF || put_escaped(f, c) || fputs("\" -> \"", f) == EOF ||
	    put_escaped(f, s))
		return -1;
	if (st)
		return fprintf(f, "\" [label=\"%" PRIu64 " flows\\n%" PRIu64 " B\\n%" PRIu32
			       " err %" PRIu32 " rst\"%s];\n", st->flows, st->bytes,
			       st->errors, st->resets, style) < 0 ? -1 : 0;
	return fprintf(f, "\" [label=\"%s\"%s];\n", m ? graph_change_names[m->change] : "",
		       style) < 0 ? -1 : 0;
}

static int
server_cmp(const void *a, const void *b, void *ctx)
{
	const struct graph_snap *s = ctx;
	const struct graph_key *x = &s->e[*(const uint32_t *)a].key;
	const struct graph_key *y = &s->e[*(const uint32_t *)b].key;
	int c = memcmp(x->server, y->server, sizeof(x->server));

	if (c)
		return c;
	if (x->server_port != y->server_port)
		return x->server_port < y->server_port ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static bool
same_server(const struct graph_key *x, const struct graph_key *y)
{
	return memcmp(x->server, y->server, sizeof(x->server)) == 0 &&
	       x->server_port == y->server_port && x->proto == y->proto;
}

/* Server nodes, each once: the edges are sorted by client, so sort an
 * index of them by server. */
static int
put_servers(FILE *f, const struct graph_snap *s, const struct graph_namer *n)
{
	uint32_t *ix = malloc((size_t)(s->n ? s->n : 1) * sizeof(*ix));
	int rc = 0;

	if (!ix)
		return -1;
	for (uint32_t i = 0; i < s->n; i++)
		ix[i] = i;
	qsort_r(ix, s->n, sizeof(*ix), server_cmp, (void *)(uintptr_t)s);
	for (uint32_t i = 0; i < s->n && !rc; i++)
		if (i == 0 || !same_server(&s->e[ix[i - 1]].key, &s->e[ix[i]].key))
			rc = put_server(f, &s->e[ix[i]].key, n);
	free(ix);
	return rc;
}

int
graph_dot_write(FILE *f, const struct graph_snap *s, const struct graph_namer *n,
		const struct graph_diff *marks)
{
	if (fprintf(f, "digraph \"stage %u\" {\n  rankdir=LR;\n", s->filter.stage) < 0)
		return -1;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct graph_key *k = &s->e[i].key;

		if (i == 0 || memcmp(k->client, s->e[i - 1].key.client, sizeof(k->client)) ||
		    k->client_kind != s->e[i - 1].key.client_kind)
			if (put_client(f, s, k, n))
				return -1;
	}
	if (put_servers(f, s, n))
		return -1;
	for (uint32_t i = 0; i < s->n; i++)
		if (put_edge(f, &s->e[i].key, &s->e[i].st, mark_of(marks, &s->e[i].key)))
			return -1;
	/* Missing edges are not in the graph: draw them from the marks. */
	for (uint32_t i = 0; marks && i < marks->n_listed; i++) {
		const struct graph_diff_edge *m = &marks->list[i];

		if (m->change != GRAPH_CHANGE_MISSING || graph_snap_find(s, &m->key))
			continue;
		if (put_client(f, s, &m->key, n) || put_server(f, &m->key, n) ||
		    put_edge(f, &m->key, NULL, m))
			return -1;
	}
	return fputs("}\n", f) == EOF ? -1 : 0;
}
