/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * YAML to struct umbra_conf (libyaml document API). Every value is checked
 * and every name resolved here; the first problem ends the load with
 * "file:line:col: what is wrong" and nothing is returned.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_private.h"

/* Match priority: explicit * 4096 + (4095 - rule index), so an explicit
 * priority always wins and file order breaks ties (fits rte_acl's range). */
#define PRIO_EXPLICIT_MAX 65535u
#define PRIO_INDEX_SPAN 4096u
_Static_assert(CONF_MAX_MATCHES <= PRIO_INDEX_SPAN, "file order must fit the span");
_Static_assert((PRIO_EXPLICIT_MAX + 1ull) * PRIO_INDEX_SPAN <= (1u << 28),
	       "priorities stay below 2^28 (rte_acl)");

/* By enum conf_port_role. */
static const char *const role_names[] = { "stage", "uplink", "shadow" };

static int
load_port(struct loader *L, yaml_node_t *n, struct conf_port *p)
{
	struct field f[] = {
		{ "name", true }, { "vdev" }, { "pci" }, { "role" }, { "rx_queues" },
		{ "tx_queues" }, { "rx_desc" }, { "tx_desc" }, { "mtu" },
		{ "promiscuous" }, { NULL },
	};
	yaml_node_t *v;
	const char *s;

	if (ld_fields_get(L, n, f, "port") < 0 || ld_get_name(L, f[0].value, "port name", p->name) < 0)
		return -1;
	p->pos = ld_pos_of(n);
	p->rx_desc = p->tx_desc = 1024;
	p->promiscuous = true;
	if ((f[1].value == NULL) == (f[2].value == NULL))
		return ld_fail(L, n, "port '%s' needs exactly one of vdev: or pci:", p->name);
	v = f[1].value ? f[1].value : f[2].value;
	if (ld_get_str(L, v, f[1].value ? "vdev" : "pci", &s) < 0)
		return -1;
	if (strlen(s) == 0 || strlen(s) >= CONF_DEV_MAX)
		return ld_fail(L, v, "device string must be 1 to %d characters", CONF_DEV_MAX - 1);
	strcpy(p->dev, s);
	p->is_pci = f[2].value != NULL;
	if ((v = ld_field_value(f, "role")) &&
	    ld_get_choice(L, v, "role", role_names,
			  (uint8_t)(sizeof(role_names) / sizeof(role_names[0])), &p->role) < 0)
		return -1;
	if (((v = ld_field_value(f, "rx_queues")) && ld_get_u16(L, v, "rx_queues", 0, 64, &p->rx_queues) < 0) ||
	    ((v = ld_field_value(f, "tx_queues")) && ld_get_u16(L, v, "tx_queues", 0, 64, &p->tx_queues) < 0) ||
	    ((v = ld_field_value(f, "rx_desc")) && ld_get_u16(L, v, "rx_desc", 64, 16384, &p->rx_desc) < 0) ||
	    ((v = ld_field_value(f, "tx_desc")) && ld_get_u16(L, v, "tx_desc", 64, 16384, &p->tx_desc) < 0) ||
	    ((v = ld_field_value(f, "mtu")) && ld_get_u16(L, v, "mtu", 68, 9600, &p->mtu) < 0) ||
	    ((v = ld_field_value(f, "promiscuous")) && ld_get_bool(L, v, "promiscuous", &p->promiscuous) < 0))
		return -1;
	if (p->rx_desc & (p->rx_desc - 1))
		return ld_fail(L, ld_field_value(f, "rx_desc"), "rx_desc must be a power of two");
	if (p->tx_desc & (p->tx_desc - 1))
		return ld_fail(L, ld_field_value(f, "tx_desc"), "tx_desc must be a power of two");
	return 0;
}

static int
load_ports(struct loader *L, yaml_node_t *seq)
{
	yaml_node_item_t *it;

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "ports") < 0)
		return -1;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);
		struct conf_port *p;

		if (L->c->n_ports == CONF_MAX_PORTS)
			return ld_fail(L, n, "too many ports (at most %d)", CONF_MAX_PORTS);
		p = &L->c->ports[L->c->n_ports];
		if (load_port(L, n, p) < 0)
			return -1;
		if (conf_port_index(L->c, p->name) >= 0)
			return ld_fail(L, n, "duplicate port name '%s'", p->name);
		L->c->n_ports++;
	}
	if (L->c->n_ports == 0)
		return ld_fail(L, seq, "ports must list at least one port");
	return 0;
}

/* ---- stages and their match rules ---- */

static int
load_match(struct loader *L, yaml_node_t *n, uint16_t stage)
{
	struct field f[] = {
		{ "port" }, { "vlan" }, { "src" }, { "dst" }, { "proto" },
		{ "dport" }, { "priority" }, { NULL },
	};
	struct umbra_conf *c = L->c;
	struct conf_match *m;
	yaml_node_t *v;
	uint32_t prio = 0;
	uint16_t port;

	if (c->n_matches == CONF_MAX_MATCHES)
		return ld_fail(L, n, "too many match rules (at most %d)", CONF_MAX_MATCHES);
	if (ld_fields_get(L, n, f, "match rule") < 0)
		return -1;
	m = &c->matches[c->n_matches];
	*m = (struct conf_match){ .stage = stage, .port = CONF_ANY, .vlan = CONF_ANY,
				  .proto = CONF_ANY, .dport = { 0, 65535 },
				  .pos = ld_pos_of(n) };
	if ((v = ld_field_value(f, "port")) != NULL) {
		if (ld_get_port_ref(L, v, "port", &port) < 0 ||
		    ld_check_not_shadow_port(L, v, port, "a match rule's port") < 0)
			return -1;
		m->port = port;
	}
	if ((v = ld_field_value(f, "vlan")) != NULL) {
		uint32_t vlan;

		if (v->type == YAML_SCALAR_NODE && strcmp(ld_scalar(v), "untagged") == 0)
			m->vlan = CONF_VLAN_UNTAGGED;
		else if (ld_get_uint(L, v, "vlan", 0, 4094, &vlan) < 0)
			return -1;
		else
			m->vlan = (int32_t)vlan;
	}
	if (((v = ld_field_value(f, "src")) && ld_get_prefix(L, v, "src", &m->src) < 0) ||
	    ((v = ld_field_value(f, "dst")) && ld_get_prefix(L, v, "dst", &m->dst) < 0) ||
	    ((v = ld_field_value(f, "proto")) && ld_get_proto(L, v, &m->proto) < 0) ||
	    ((v = ld_field_value(f, "dport")) && ld_get_range(L, v, "dport", &m->dport) < 0) ||
	    ((v = ld_field_value(f, "priority")) &&
	     ld_get_uint(L, v, "priority", 0, PRIO_EXPLICIT_MAX, &prio) < 0))
		return -1;
	if (ld_check_ports_need_l4(L, ld_field_value(f, "dport"), m->proto, "dport") < 0)
		return -1;
	if (m->src.family && m->dst.family && m->src.family != m->dst.family)
		return ld_fail(L, n, "src and dst of one rule must both be IPv4 or both IPv6");
	m->priority = prio * PRIO_INDEX_SPAN + (PRIO_INDEX_SPAN - 1 - c->n_matches);
	c->n_matches++;
	return 0;
}

static int
load_egress(struct loader *L, yaml_node_t *n, struct conf_stage *s)
{
	struct field f[] = { { "port", true }, { "vlan" }, { "next_hop_mac" }, { NULL } };

	if (ld_fields_get(L, n, f, "egress") < 0)
		return -1;
	return ld_egress_fields(L, f, "a stage's egress", &s->egress);
}

static int
load_stage(struct loader *L, yaml_node_t *n, uint16_t index, bool *is_default)
{
	struct field f[] = {
		{ "name", true }, { "default" }, { "egress", true }, { "proxy_arp" },
		{ "match" }, { "production" }, { "devmesh" }, { NULL },
	};
	struct conf_stage *s = &L->c->stages[index];
	yaml_node_t *v;

	if (ld_fields_get(L, n, f, "stage") < 0 || ld_get_name(L, f[0].value, "stage name", s->name) < 0)
		return -1;
	s->pos = ld_pos_of(n);
	if (conf_stage_index(L->c, s->name) >= 0)
		return ld_fail(L, n, "duplicate stage name '%s'", s->name);
	*is_default = false;
	if (((v = f[1].value) && ld_get_bool(L, v, "default", is_default) < 0) ||
	    load_egress(L, f[2].value, s) < 0 ||
	    ((v = f[3].value) && ld_get_bool(L, v, "proxy_arp", &s->proxy_arp) < 0))
		return -1;
	s->production = strcmp(s->name, "production") == 0;
	if ((v = f[5].value) && ld_get_bool(L, v, "production", &s->production) < 0)
		return -1;
	return 0;
}

/* Match rules are loaded once every stage is known (a rule names its own). */
static int
load_stage_matches(struct loader *L, yaml_node_t *n, uint16_t index)
{
	yaml_node_t *seq = NULL;
	yaml_node_pair_t *p;
	yaml_node_item_t *it;

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
		if (strcmp(ld_scalar(yaml_document_get_node(L->doc, p->key)), "match") == 0)
			seq = yaml_document_get_node(L->doc, p->value);
	if (seq == NULL)
		return 0;
	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "match") < 0)
		return -1;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++)
		if (load_match(L, yaml_document_get_node(L->doc, *it), index) < 0)
			return -1;
	return 0;
}

static int
load_stages(struct loader *L, yaml_node_t *seq)
{
	struct umbra_conf *c = L->c;
	yaml_node_item_t *it;
	int n_default = 0;
	uint16_t i = 0;

	if (ld_expect(L, seq, YAML_SEQUENCE_NODE, "stages") < 0)
		return -1;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *n = yaml_document_get_node(L->doc, *it);
		bool is_default;

		if (c->n_stages == CONF_MAX_STAGES)
			return ld_fail(L, n, "too many stages (at most %d)", CONF_MAX_STAGES);
		if (load_stage(L, n, c->n_stages, &is_default) < 0)
			return -1;
		if (is_default && n_default++ > 0)
			return ld_fail(L, n, "stage '%s' is a second default stage (only one "
				    "may say default: true)", c->stages[c->n_stages].name);
		if (is_default)
			c->default_stage = c->n_stages;
		c->n_stages++;
	}
	if (c->n_stages == 0)
		return ld_fail(L, seq, "stages must list at least one stage");
	if (n_default == 0 && c->n_stages > 1)
		return ld_fail(L, seq, "no default stage: mark one stage with default: true");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++)
		if (load_stage_matches(L, yaml_document_get_node(L->doc, *it), i) < 0)
			return -1;
	return 0;
}

/* ---- flows and policies ---- */

static int
load_flow_rule(struct loader *L, yaml_node_t *n, struct conf_flow_rule *r, uint32_t index)
{
	struct field f[] = {
		{ "name" }, { "from", true }, { "to", true }, { "proto" }, { "sport" },
		{ "dport" }, { "action" }, { NULL },
	};
	yaml_node_t *v;
	const char *s;

	*r = (struct conf_flow_rule){ .proto = CONF_ANY, .sport = { 0, 65535 },
				      .dport = { 0, 65535 }, .allow = true, .pos = ld_pos_of(n) };
	if (ld_fields_get(L, n, f, "flow rule") < 0)
		return -1;
	if (f[0].value != NULL) {
		if (ld_get_name(L, f[0].value, "flow rule name", r->name) < 0)
			return -1;
	} else {
		snprintf(r->name, sizeof(r->name), "flow%u", index + 1);
	}
	if (ld_get_stage_ref(L, f[1].value, "from", &r->from) < 0 ||
	    ld_get_stage_ref(L, f[2].value, "to", &r->to) < 0 ||
	    ((v = f[3].value) && ld_get_proto(L, v, &r->proto) < 0) ||
	    ((v = f[4].value) && ld_get_range(L, v, "sport", &r->sport) < 0) ||
	    ((v = f[5].value) && ld_get_range(L, v, "dport", &r->dport) < 0) ||
	    ld_check_ports_need_l4(L, f[4].value, r->proto, "sport") < 0 ||
	    ld_check_ports_need_l4(L, f[5].value, r->proto, "dport") < 0)
		return -1;
	if (r->from == r->to)
		return ld_fail(L, f[2].value, "flow rule '%s' goes from stage '%s' to itself; "
			    "traffic within a stage needs no rule", r->name,
			    L->c->stages[r->from].name);
	if ((v = f[6].value) != NULL) {
		if (ld_get_str(L, v, "action", &s) < 0)
			return -1;
		if (strcmp(s, "allow") != 0 && strcmp(s, "deny") != 0)
			return ld_fail(L, v, "action must be allow or deny, not '%s'", s);
		r->allow = strcmp(s, "allow") == 0;
	}
	return 0;
}

static int
load_policy(struct loader *L, yaml_node_t *n, struct conf_policy *p)
{
	struct field f[] = { { "name", true }, { "never", true }, { NULL } };
	struct field nv[] = {
		{ "from", true }, { "to", true }, { "proto" }, { "dport" }, { NULL },
	};
	yaml_node_t *v;

	*p = (struct conf_policy){ .proto = CONF_ANY, .dport = { 0, 65535 }, .pos = ld_pos_of(n) };
	if (ld_fields_get(L, n, f, "policy") < 0 ||
	    ld_get_name(L, f[0].value, "policy name", p->name) < 0 ||
	    ld_fields_get(L, f[1].value, nv, "never") < 0 ||
	    ld_get_stage_ref(L, nv[0].value, "from", &p->from) < 0 ||
	    ld_get_stage_ref(L, nv[1].value, "to", &p->to) < 0 ||
	    ((v = nv[2].value) && ld_get_proto(L, v, &p->proto) < 0) ||
	    ((v = nv[3].value) && ld_get_range(L, v, "dport", &p->dport) < 0) ||
	    ld_check_ports_need_l4(L, nv[3].value, p->proto, "dport") < 0)
		return -1;
	return 0;
}

static int
flow_rule_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct conf_flow_rule *r = item;

	if (load_flow_rule(L, n, r, index) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->flow_rules[i].name, r->name) == 0)
			return ld_fail(L, n, "duplicate flow rule name '%s'", r->name);
	return 0;
}

static int
policy_one(struct loader *L, yaml_node_t *n, void *item, uint32_t index)
{
	struct conf_policy *p = item;

	if (load_policy(L, n, p) < 0)
		return -1;
	for (uint32_t i = 0; i < index; i++)
		if (strcmp(L->c->policies[i].name, p->name) == 0)
			return ld_fail(L, n, "duplicate policy name '%s'", p->name);
	return 0;
}

/* ---- small sections ---- */

static int
load_flow_table(struct loader *L, yaml_node_t *n)
{
	struct field f[] = {
		{ "size" }, { "tcp_closed_timeout_ms" }, { "tcp_idle_timeout_s" },
		{ "udp_idle_timeout_s" }, { "other_idle_timeout_s" }, { NULL },
	};
	struct conf_flow_table *ft = &L->c->flow_table;
	uint32_t *dst[] = { &ft->size, &ft->tcp_closed_timeout_ms, &ft->tcp_idle_timeout_s,
			    &ft->udp_idle_timeout_s, &ft->other_idle_timeout_s };
	const unsigned long lo[] = { 1024, 1, 1, 1, 1 };
	const unsigned long hi[] = { 1u << 24, 3600000, 86400, 86400, 86400 };

	if (ld_fields_get(L, n, f, "flow_table") < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (f[i].value && ld_get_uint(L, f[i].value, f[i].key, lo[i], hi[i], dst[i]) < 0)
			return -1;
	return 0;
}

static int
load_mempool(struct loader *L, yaml_node_t *n)
{
	struct field f[] = { { "mbufs" }, { "data_room" }, { NULL } };
	struct conf_mempool *mp = &L->c->mempool;

	if (ld_fields_get(L, n, f, "mempool") < 0 ||
	    (f[0].value && ld_get_uint(L, f[0].value, "mbufs", 1024, 1u << 26, &mp->mbufs) < 0) ||
	    (f[1].value && ld_get_u16(L, f[1].value, "data_room", 256, 65535, &mp->data_room) < 0))
		return -1;
	return 0;
}

static int
load_stats(struct loader *L, yaml_node_t *n)
{
	struct field f[] = { { "interval_s" }, { NULL } };

	if (ld_fields_get(L, n, f, "stats") < 0 ||
	    (f[0].value && ld_get_uint(L, f[0].value, "interval_s", 0, 86400,
				    &L->c->stats_interval_s) < 0))
		return -1;
	return 0;
}

static int
load_mgmt(struct loader *L, yaml_node_t *n)
{
	struct conf_mgmt *m = &L->c->mgmt;
	struct field f[] = {
		{ "socket" }, { "socket_group" }, { "state_dir" }, { "http" },
		{ "http_token_file" }, { "config_dir" }, { "client_timeout_s" }, { NULL },
	};
	char *dst[] = { m->socket, m->socket_group, m->state_dir, m->http,
			m->http_token_file, m->config_dir };
	const size_t size[] = { sizeof(m->socket), sizeof(m->socket_group),
				sizeof(m->state_dir), sizeof(m->http),
				sizeof(m->http_token_file), sizeof(m->config_dir) };

	if (ld_fields_get(L, n, f, "mgmt") < 0)
		return -1;
	for (int i = 0; i < 6; i++)
		if (f[i].value && ld_get_bounded(L, f[i].value, f[i].key, dst[i], size[i]) < 0)
			return -1;
	if (f[5].value && m->config_dir[0] != '/')
		return ld_fail(L, f[5].value, "config_dir must be an absolute path, not '%s'",
			       m->config_dir);
	if (f[6].value && ld_get_uint(L, f[6].value, "client_timeout_s", 1, 86400,
				     &m->client_timeout_s) < 0)
		return -1;
	return 0;
}

static int
load_snapshots(struct loader *L, yaml_node_t *n)
{
	struct field f[] = { { "keep" }, { "keep_days" }, { NULL } };
	struct conf_snapshots *sn = &L->c->snapshots;

	if (ld_fields_get(L, n, f, "snapshots") < 0 ||
	    (f[0].value && ld_get_uint(L, f[0].value, "keep", 1, 1000, &sn->keep) < 0) ||
	    (f[1].value && ld_get_uint(L, f[1].value, "keep_days", 0, 36500,
				    &sn->keep_days) < 0))
		return -1;
	return 0;
}

static int
load_root(struct loader *L, yaml_node_t *root)
{
	struct field f[] = {
		{ "ports", true }, { "stages", true }, { "flows" }, { "policies" },
		{ "flow_table" }, { "mempool" }, { "stats" }, { "mgmt" },
		{ "services" }, { "workflow" }, { "splits" }, { "steering" },
		{ "fault_policy" }, { "faults" }, { "chaos" }, { "shadows" }, { "snapshots" },
		{ "notify" }, { "graph" }, { "fleet" }, { NULL },
	};
	struct umbra_conf *c = L->c;

	if (ld_fields_get(L, root, f, "the configuration") < 0 ||
	    load_ports(L, f[0].value) < 0)
		return -1;
	c->matches = calloc(CONF_MAX_MATCHES, sizeof(*c->matches));
	if (c->matches == NULL)
		return ld_fail(L, root, "out of memory");
	if (load_stages(L, f[1].value) < 0 ||
	    (f[2].value && ld_load_list(L, f[2].value, "flows", sizeof(struct conf_flow_rule),
				     CONF_MAX_FLOW_RULES, (void **)&c->flow_rules,
				     &c->n_flow_rules, flow_rule_one) < 0) ||
	    (f[3].value && ld_load_list(L, f[3].value, "policies", sizeof(struct conf_policy),
				     CONF_MAX_POLICIES, (void **)&c->policies,
				     &c->n_policies, policy_one) < 0) ||
	    (f[4].value && load_flow_table(L, f[4].value) < 0) ||
	    (f[5].value && load_mempool(L, f[5].value) < 0) ||
	    (f[6].value && load_stats(L, f[6].value) < 0) ||
	    (f[7].value && load_mgmt(L, f[7].value) < 0))
		return -1;
	/* Services first: hooks and splits name them. What needs the final
	 * pipeline (default pipeline, rollout stages, hook stages) comes last. */
	if ((f[8].value && ld_services(L, f[8].value) < 0) ||
	    (f[9].value && ld_workflow(L, f[9].value) < 0) ||
	    (f[10].value && ld_splits(L, f[10].value) < 0) ||
	    (f[11].value && ld_steering(L, f[11].value) < 0) ||
	    ld_release_defaults(L, root) < 0)
		return -1;
	/* Faults, shadows and DevMesh items (a mirror adds a shadow) last:
	 * they name stages and services. */
	if (ld_fault_sections(L, f[12].value, f[13].value, f[14].value) < 0 ||
	    (f[15].value && ld_shadows(L, f[15].value) < 0) ||
	    ld_devmesh(L, f[1].value) < 0 ||
	    (f[16].value && load_snapshots(L, f[16].value) < 0) ||
	    (f[17].value && ld_notify(L, f[17].value) < 0) ||
	    (f[18].value && ld_graph(L, f[18].value) < 0) ||
	    (f[19].value && ld_fleet(L, f[19].value) < 0))
		return -1;
	return 0;
}

static void
defaults(struct umbra_conf *c)
{
	c->flow_table = (struct conf_flow_table){
		.size = 65536, .tcp_closed_timeout_ms = 2000, .tcp_idle_timeout_s = 300,
		.udp_idle_timeout_s = 60, .other_idle_timeout_s = 30,
	};
	c->workflow.hook_timeout_ms = 30000;
	c->workflow.history_max = CONF_WORKFLOW_HISTORY_DEFAULT;
	c->snapshots.keep = 100;
	conf_graph_default(&c->graph);
	c->notify = (struct conf_notify){ .queue = 256, .attempts = 5, .timeout_ms = 2000,
					  .backoff_ms = 200 };
	c->steer_seed = 0x5eed;
	c->fault_policy = (struct conf_fault_policy){
		.default_lease_ns = 300 * 1000000000ull,
		.max_lease_ns = 24 * 3600 * 1000000000ull,
		.max_inflight = 8192,
	};
}

struct umbra_conf *
conf_load_string(const char *yaml, size_t len, const char *name, char *err,
		 size_t errlen)
{
	struct umbra_conf *c = calloc(1, sizeof(*c));
	yaml_parser_t parser;
	yaml_document_t doc;
	struct loader L = { .c = c, .doc = &doc, .err = err, .errlen = errlen };
	yaml_node_t *root;
	int rc = -1;

	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	snprintf(c->file, sizeof(c->file), "%s", name);
	defaults(c);
	if (len > CONF_FILE_MAX) {
		conf_error_at(c, (struct conf_pos){ 1, 1 }, err, errlen,
			      "file is larger than %u MiB", CONF_FILE_MAX >> 20);
		conf_free(c);
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		conf_error_at(c, (struct conf_pos){ (uint32_t)parser.problem_mark.line + 1,
						    (uint32_t)parser.problem_mark.column + 1 },
			      err, errlen, "YAML syntax error: %s%s%s",
			      parser.problem ? parser.problem : "unknown problem",
			      parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		conf_free(c);
		return NULL;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		conf_error_at(c, (struct conf_pos){ 1, 1 }, err, errlen,
			      "the configuration is empty");
	else
		rc = load_root(&L, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct umbra_conf *
conf_load_file(const char *path, char *err, size_t errlen)
{
	size_t n;
	char *buf = conf_read_file(path, NULL, &n, err, errlen);
	struct umbra_conf *c;

	if (buf == NULL)
		return NULL;
	c = conf_load_string(buf, n, path, err, errlen);
	free(buf);
	return c;
}

void
conf_free(struct umbra_conf *c)
{
	if (c == NULL)
		return;
	free(c->matches);
	free(c->flow_rules);
	free(c->policies);
	free(c->services);
	free(c->workflow.hooks);
	free(c->splits);
	free(c->faults);
	free(c->scenarios);
	free(c->shadows);
	free(c->devmesh);
	free(c);
}
