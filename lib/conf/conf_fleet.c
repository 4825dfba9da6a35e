/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fleet: in YAML: the etcd endpoints, this appliance's id, the key prefix
 * of its cluster, the lease of its member key and the top-level keys it
 * keeps from its own file when it applies the fleet's configuration.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

/* 1..63 of [A-Za-z0-9._-], not starting with '.' or '-'. */
static bool
id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") == n;
}

/* "/a/b": starts with '/', no trailing '/', no "//", [A-Za-z0-9._/-]. */
static bool
prefix_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || s[0] != '/' || s[n - 1] == '/' || strstr(s, "//") != NULL)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-/") == n;
}

/* http://IPv4:PORT or http://[IPv6]:PORT, the port given. */
static bool
endpoint_ok(const char *url)
{
	char host[64];
	const char *p, *colon;
	char *end;
	unsigned char addr[16];
	unsigned long port;

	if (strncmp(url, "http://", 7) != 0)
		return false;
	p = url + 7;
	if (*p == '[') {
		const char *rb = strchr(p, ']');

		if (rb == NULL || (size_t)(rb - p - 1) >= sizeof(host) || rb[1] != ':')
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - p - 1), p + 1);
		colon = rb + 1;
		if (inet_pton(AF_INET6, host, addr) != 1)
			return false;
	} else {
		colon = strchr(p, ':');
		if (colon == NULL || (size_t)(colon - p) >= sizeof(host))
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
		if (inet_pton(AF_INET, host, addr) != 1)
			return false;
	}
	port = strtoul(colon + 1, &end, 10);
	return colon[1] != '\0' && (*end == '\0' || strcmp(end, "/") == 0) && port > 0 &&
	       port <= 65535;
}

/* Box-level keys: its ports, memory and management differ by box. */
const char *const conf_fleet_local_keys[CONF_FLEET_LOCAL_KEYS] = {
	"ports", "mempool", "flow_table", "mgmt", "stats",
};

/* local: [KEY, ...], each one of conf_fleet_local_keys. */
static int
ld_fleet_local(struct loader *L, yaml_node_t *seq, uint32_t *mask)
{
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "local") < 0)
		return -1;
	for (yaml_node_item_t *i = seq->data.sequence.items.start;
	     i < seq->data.sequence.items.top; i++) {
		yaml_node_t *u = yaml_document_get_node(L->doc, *i);
		char key[32];
		unsigned int k;

		if (ld_get_bounded(L, u, "fleet local key", key, sizeof(key)) < 0)
			return -1;
		for (k = 0; k < CONF_FLEET_LOCAL_KEYS; k++)
			if (strcmp(key, conf_fleet_local_keys[k]) == 0)
				break;
		if (k == CONF_FLEET_LOCAL_KEYS)
			return ld_fail(L, u, "fleet local key must be one of ports, mempool, "
				       "flow_table, mgmt, stats (what differs by box), not '%s'",
				       key);
		*mask |= 1u << k;
	}
	return 0;
}

int
ld_fleet(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "etcd", true }, { "id", true }, { "prefix", true }, { "lease_ttl" },
		{ "local" }, { NULL },
	};
	struct conf_fleet *fl = &L->c->fleet;
	yaml_node_t *seq, *v;
	uint64_t ns;

	/* 3 s: a dead leader's key goes within 3 s, a new one leads within 5 */
	*fl = (struct conf_fleet){ .lease_ttl_s = 3 };
	if (ld_fields_get(L, n, f, "fleet") < 0 ||
	    ld_get_bounded(L, f[1].value, "id", fl->id, sizeof(fl->id)) < 0 ||
	    ld_get_bounded(L, f[2].value, "prefix", fl->prefix, sizeof(fl->prefix)) < 0)
		return -1;
	if (!id_ok(fl->id))
		return ld_fail(L, f[1].value, "fleet id must be 1 to 63 letters, digits, '.', "
			       "'_' or '-' (not first), not '%s'", fl->id);
	if (!prefix_ok(fl->prefix))
		return ld_fail(L, f[2].value, "fleet prefix must look like /umbra/CLUSTER "
			       "(letters, digits, '.', '_', '-' between single slashes, no "
			       "trailing slash), not '%s'", fl->prefix);
	if ((v = f[3].value)) {
		if (ld_get_positive_duration(L, v, "lease_ttl", &ns) < 0)
			return -1;
		if (ns < 2000000000ull || ns > 600000000000ull)
			return ld_fail(L, v, "fleet lease_ttl must be 2s to 10m");
		fl->lease_ttl_s = (uint32_t)(ns / 1000000000ull);
	}
	if (f[4].value && ld_fleet_local(L, f[4].value, &fl->local) < 0)
		return -1;
	seq = f[0].value;
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "etcd") < 0)
		return -1;
	if (seq->data.sequence.items.top == seq->data.sequence.items.start)
		return ld_fail(L, seq, "fleet etcd needs at least one endpoint");
	if (seq->data.sequence.items.top - seq->data.sequence.items.start >
	    CONF_FLEET_ENDPOINTS_MAX)
		return ld_fail(L, seq, "fleet etcd: at most %d endpoints",
			       CONF_FLEET_ENDPOINTS_MAX);
	for (yaml_node_item_t *i = seq->data.sequence.items.start;
	     i < seq->data.sequence.items.top; i++) {
		yaml_node_t *u = yaml_document_get_node(L->doc, *i);
		char *url = fl->etcd[fl->n_etcd];

		if (ld_get_bounded(L, u, "etcd endpoint", url, sizeof(fl->etcd[0])) < 0)
			return -1;
		if (!endpoint_ok(url))
			return ld_fail(L, u, "fleet etcd endpoint must be http://IP:PORT (an "
				       "address, not a name: a lookup could stall the "
				       "management loop; no TLS here), not '%s'", url);
		fl->n_etcd++;
	}
	fl->enabled = true;
	return 0;
}
