/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_flow rules per generation (management core). Planning is pure
 * (port_flow_plan.c); here rules are validated, created, kept when a new
 * generation wants them too, destroyed when it does not, and reported.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_log.h>

#include "port.h"
#include "port_flow.h"
#include "port_private.h"

/* One rule of a generation's table. */
struct pf_entry {
	struct port_flow_status st;
	struct rte_flow *flow;          /* NULL: software path */
	uint16_t port_id;
	/* DROP only: wanted by every generation of this run (see port_flow.h) */
	bool wanted_always;
	bool kept;                      /* moved into the next table */
};

static struct {
	pthread_mutex_t lock;           /* the table against report readers */
	struct pf_entry *cur;
	uint32_t n;
	uint64_t gen_id;                /* 0: never synced */
} pf = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Pattern storage: items point into it. */
struct pf_pattern {
	struct rte_flow_item items[6];
	struct rte_flow_item_eth eth, eth_mask;
	struct rte_flow_item_vlan vlan, vlan_mask;
	struct rte_flow_item_ipv4 ip4, ip4_mask;
	struct rte_flow_item_ipv6 ip6, ip6_mask;
	union {
		struct rte_flow_item_tcp tcp;
		struct rte_flow_item_udp udp;
	} l4, l4_mask, l4_last;
};

static void
prefix_mask(const struct conf_prefix *p, uint8_t *addr, uint8_t *mask,
	    size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned int bits = p->len > i * 8 ? p->len - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		addr[i] = p->addr[i] & mask[i];
	}
}

static void
item_add(struct pf_pattern *pt, unsigned int *k, enum rte_flow_item_type t,
	 const void *spec, const void *mask, const void *last)
{
	pt->items[*k] = (struct rte_flow_item){ .type = t, .spec = spec,
						.mask = mask, .last = last };
	(*k)++;
}

static uint8_t
rule_family(const struct port_flow_rule *r)
{
	return r->src.family ? r->src.family : r->dst.family;
}

/* ETH, then VLAN: untagged is "EtherType IPv4/IPv6 right after the MACs". */
static void
pattern_l2(struct pf_pattern *pt, unsigned int *k, const struct port_flow_rule *r)
{
	uint8_t fam = rule_family(r);

	if (r->vlan == CONF_VLAN_UNTAGGED && fam != 0) {
		pt->eth.type = rte_cpu_to_be_16(fam == 4 ? RTE_ETHER_TYPE_IPV4 :
						RTE_ETHER_TYPE_IPV6);
		pt->eth_mask.type = RTE_BE16(0xffff);
		item_add(pt, k, RTE_FLOW_ITEM_TYPE_ETH, &pt->eth, &pt->eth_mask, NULL);
		return;
	}
	item_add(pt, k, RTE_FLOW_ITEM_TYPE_ETH, NULL, NULL, NULL);
	if (r->vlan > 0) {
		pt->vlan.tci = rte_cpu_to_be_16((uint16_t)r->vlan);
		pt->vlan_mask.tci = RTE_BE16(0x0fff);
		item_add(pt, k, RTE_FLOW_ITEM_TYPE_VLAN, &pt->vlan, &pt->vlan_mask,
			 NULL);
	}
}

static void
pattern_l3(struct pf_pattern *pt, unsigned int *k, const struct port_flow_rule *r)
{
	uint8_t proto = r->proto == CONF_ANY ? 0 : (uint8_t)r->proto;
	uint8_t pmask = r->proto == CONF_ANY ? 0 : 0xff;

	if (rule_family(r) == 4) {
		prefix_mask(&r->src, (uint8_t *)&pt->ip4.hdr.src_addr,
			    (uint8_t *)&pt->ip4_mask.hdr.src_addr, 4);
		prefix_mask(&r->dst, (uint8_t *)&pt->ip4.hdr.dst_addr,
			    (uint8_t *)&pt->ip4_mask.hdr.dst_addr, 4);
		pt->ip4.hdr.next_proto_id = proto;
		pt->ip4_mask.hdr.next_proto_id = pmask;
		item_add(pt, k, RTE_FLOW_ITEM_TYPE_IPV4, &pt->ip4, &pt->ip4_mask, NULL);
	} else if (rule_family(r) == 6) {
		prefix_mask(&r->src, pt->ip6.hdr.src_addr, pt->ip6_mask.hdr.src_addr, 16);
		prefix_mask(&r->dst, pt->ip6.hdr.dst_addr, pt->ip6_mask.hdr.dst_addr, 16);
		pt->ip6.hdr.proto = proto;
		pt->ip6_mask.hdr.proto = pmask;
		item_add(pt, k, RTE_FLOW_ITEM_TYPE_IPV6, &pt->ip6, &pt->ip6_mask, NULL);
	}
}

/* TCP or UDP destination port: one value, or a range with "last". */
static void
pattern_l4(struct pf_pattern *pt, unsigned int *k, const struct port_flow_rule *r)
{
	bool any = r->dport.lo == 0 && r->dport.hi == 65535;
	bool range = !any && r->dport.lo != r->dport.hi;
	enum rte_flow_item_type t = r->proto == 6 ? RTE_FLOW_ITEM_TYPE_TCP :
						    RTE_FLOW_ITEM_TYPE_UDP;

	if (r->proto != 6 && r->proto != 17)
		return;
	if (!any) {
		/* tcp.hdr and udp.hdr both start with src_port, dst_port */
		pt->l4.tcp.hdr.dst_port = rte_cpu_to_be_16(r->dport.lo);
		pt->l4_mask.tcp.hdr.dst_port = RTE_BE16(0xffff);
		pt->l4_last.tcp.hdr.dst_port = rte_cpu_to_be_16(r->dport.hi);
	}
	item_add(pt, k, t, any ? NULL : &pt->l4, any ? NULL : &pt->l4_mask,
		 range ? &pt->l4_last : NULL);
}

static void
pattern_build(struct pf_pattern *pt, const struct port_flow_rule *r)
{
	unsigned int k = 0;

	memset(pt, 0, sizeof(*pt));
	pattern_l2(pt, &k, r);
	pattern_l3(pt, &k, r);
	pattern_l4(pt, &k, r);
	item_add(pt, &k, RTE_FLOW_ITEM_TYPE_END, NULL, NULL, NULL);
}

static void
reason_set(struct pf_entry *e, const char *step, int rc,
	   const struct rte_flow_error *fe)
{
	const char *why = rte_strerror(rc < 0 ? -rc : rc);

	if (rc == -ENOSYS || rc == ENOSYS)
		snprintf(e->st.reason, sizeof(e->st.reason),
			 "%s: the device has no rte_flow", step);
	else if (fe->message == NULL || strcmp(fe->message, why) == 0)
		snprintf(e->st.reason, sizeof(e->st.reason), "%s: %s", step, why);
	else
		snprintf(e->st.reason, sizeof(e->st.reason), "%s: %s (%s)", step,
			 fe->message, why);
}

/* Validate, then create; the entry says which path the rule took. */
static void
pf_install(struct pf_entry *e)
{
	static uint16_t queues[RTE_MAX_QUEUES_PER_PORT];
	const struct port_flow_rule *r = &e->st.rule;
	struct rte_flow_attr attr = { .ingress = 1 };
	struct rte_flow_action_rss rss = {
		.func = RTE_ETH_HASH_FUNCTION_DEFAULT,
		.types = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP,
		.key = port_rss_key, .key_len = PORT_RSS_KEY_LEN,
		.queue = queues,
		.queue_num = RTE_MIN(r->n_queues, RTE_MAX_QUEUES_PER_PORT),
	};
	struct rte_flow_action actions[2] = {
		{ .type = r->action == PORT_FLOW_DROP ? RTE_FLOW_ACTION_TYPE_DROP :
							RTE_FLOW_ACTION_TYPE_RSS,
		  .conf = r->action == PORT_FLOW_DROP ? NULL : &rss },
		{ .type = RTE_FLOW_ACTION_TYPE_END },
	};
	struct rte_flow_error fe = { 0 };
	struct pf_pattern pt;
	int rc;

	for (uint16_t q = 0; q < rss.queue_num; q++)
		queues[q] = q;
	pattern_build(&pt, r);
	rc = rte_flow_validate(e->port_id, &attr, pt.items, actions, &fe);
	if (rc != 0) {
		reason_set(e, "refused at validation", rc, &fe);
		return;
	}
	e->flow = rte_flow_create(e->port_id, &attr, pt.items, actions, &fe);
	if (e->flow == NULL) {
		reason_set(e, "validated but not created", rte_errno, &fe);
		return;
	}
	e->st.path = PORT_FLOW_HARDWARE;
	e->st.reason[0] = '\0';
}

static struct pf_entry *
prev_same(const struct port_flow_rule *r)
{
	for (uint32_t i = 0; i < pf.n; i++)
		if (!pf.cur[i].kept && port_flow_rule_same(&pf.cur[i].st.rule, r))
			return &pf.cur[i];
	return NULL;
}

/* Fill one entry of the next table from the previous one or the device. */
static void
pf_decide(struct pf_entry *e, const struct port_set *ps, uint64_t gen_id,
	  bool first)
{
	struct pf_entry *prev = prev_same(&e->st.rule);

	e->port_id = ps->ports[e->st.rule.port].port_id;
	e->st.since_gen = gen_id;
	e->wanted_always = first || (prev != NULL && prev->wanted_always);
	if (prev != NULL && prev->flow != NULL) {
		/* The same rule is already at the port: keep it, no gap. */
		prev->kept = true;
		e->flow = prev->flow;
		e->st.path = PORT_FLOW_HARDWARE;
		e->st.since_gen = prev->st.since_gen;
		return;
	}
	e->st.path = PORT_FLOW_SOFTWARE;
	if (!e->st.rule.expressible)
		snprintf(e->st.reason, sizeof(e->st.reason), "no rte_flow form: %s",
			 e->st.rule.why);
	else if (e->st.rule.action == PORT_FLOW_DROP && !e->wanted_always)
		snprintf(e->st.reason, sizeof(e->st.reason),
			 "an earlier generation of this run allowed some of this "
			 "traffic and its flows may live on (a restart re-plans)");
	else
		pf_install(e);
}

static void
pf_destroy(struct pf_entry *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct rte_flow_error fe = { 0 };

		if (t[i].kept || t[i].flow == NULL)
			continue;
		if (rte_flow_destroy(t[i].port_id, t[i].flow, &fe) != 0)
			RTE_LOG(WARNING, USER1, "port rule '%s': cannot destroy: %s\n",
				t[i].st.rule.name, fe.message ? fe.message : "?");
		t[i].flow = NULL;
	}
}

static void
pf_log(const struct pf_entry *t, uint32_t n, uint64_t gen_id)
{
	for (uint32_t i = 0; i < n; i++)
		RTE_LOG(INFO, USER1, "generation %llu: port rule '%s': %s%s%s\n",
			(unsigned long long)gen_id, t[i].st.rule.name,
			t[i].st.path == PORT_FLOW_HARDWARE ? "hardware" : "software",
			t[i].st.reason[0] ? ", " : "", t[i].st.reason);
}

static uint32_t
port_flow_hw_count(void)
{
	uint32_t hw = 0;

	for (uint32_t i = 0; i < pf.n; i++)
		hw += pf.cur[i].st.path == PORT_FLOW_HARDWARE;
	return hw;
}

uint32_t
port_flow_sync(const struct port_set *ps, const struct umbra_conf *c,
	       uint64_t gen_id)
{
	struct port_flow_rule *plan = calloc(PORT_FLOW_MAX, sizeof(*plan));
	struct pf_entry *next = calloc(PORT_FLOW_MAX, sizeof(*next)), *old;
	uint16_t rxq[CONF_MAX_PORTS] = { 0 };
	uint32_t n, n_old, hw = 0;

	/* Ports not started yet, or this generation already synced (start-up
	 * may tell it twice): nothing to do. */
	if (ps->n_ports == 0 || (gen_id == pf.gen_id && pf.cur != NULL)) {
		free(plan);
		free(next);
		return port_flow_hw_count();
	}
	if (plan == NULL || next == NULL) {
		/* The previous rules may drop what this generation allows: none
		 * at all is always right (later ones stay off: see port_flow.h). */
		RTE_LOG(ERR, USER1, "port rules: out of memory, generation %llu "
			"runs with none\n", (unsigned long long)gen_id);
		free(plan);
		free(next);
		port_flow_flush();
		pthread_mutex_lock(&pf.lock);
		pf.gen_id = gen_id;
		pthread_mutex_unlock(&pf.lock);
		return 0;
	}
	for (uint16_t p = 0; p < c->n_ports && p < ps->n_ports; p++)
		rxq[p] = ps->ports[p].n_rxq;
	n = port_flow_plan(c, rxq, plan, PORT_FLOW_MAX);
	for (uint32_t i = 0; i < n; i++) {
		next[i].st.rule = plan[i];
		if (plan[i].port < ps->n_ports)
			pf_decide(&next[i], ps, gen_id, pf.gen_id == 0);
		else
			snprintf(next[i].st.reason, sizeof(next[i].st.reason),
				 "port not started");
		hw += next[i].st.path == PORT_FLOW_HARDWARE;
	}
	free(plan);
	pthread_mutex_lock(&pf.lock);
	old = pf.cur;
	n_old = pf.n;
	pf.cur = next;
	pf.n = n;
	pf.gen_id = gen_id;
	pthread_mutex_unlock(&pf.lock);
	/* Only now: the new generation's rules are in place. */
	pf_destroy(old, n_old);
	free(old);
	pf_log(next, n, gen_id);
	return hw;
}

void
port_flow_flush(void)
{
	pthread_mutex_lock(&pf.lock);
	pf_destroy(pf.cur, pf.n);
	free(pf.cur);
	pf.cur = NULL;
	pf.n = 0;
	pthread_mutex_unlock(&pf.lock);
}

uint32_t
port_flow_status_get(struct port_flow_status *out, uint32_t max,
		     uint64_t *gen_id)
{
	uint32_t n;

	pthread_mutex_lock(&pf.lock);
	n = RTE_MIN(pf.n, max);
	for (uint32_t i = 0; i < n; i++)
		out[i] = pf.cur[i].st;
	if (gen_id != NULL)
		*gen_id = pf.gen_id;
	pthread_mutex_unlock(&pf.lock);
	return n;
}

static const char *
action_name(uint8_t a)
{
	return a == PORT_FLOW_DROP ? "drop" : "rss";
}

static const char *
path_name(uint8_t p)
{
	return p == PORT_FLOW_HARDWARE ? "hardware" : "software";
}

struct json_t *
port_flow_stats_json(void)
{
	json_t *rules = json_array();
	json_int_t hw = 0, sw = 0;

	if (rules == NULL)
		return NULL;
	pthread_mutex_lock(&pf.lock);
	for (uint32_t i = 0; i < pf.n; i++) {
		const struct port_flow_status *s = &pf.cur[i].st;

		json_array_append_new(rules, json_pack("{s:s,s:i,s:s,s:s,s:s,s:I}",
			"name", s->rule.name, "port", (int)s->rule.port,
			"action", action_name(s->rule.action),
			"path", path_name(s->path), "reason", s->reason,
			"since_generation", (json_int_t)s->since_gen));
		hw += s->path == PORT_FLOW_HARDWARE;
		sw += s->path != PORT_FLOW_HARDWARE;
	}
	json_t *o = json_pack("{s:I,s:I,s:I,s:o}", "generation",
			      (json_int_t)pf.gen_id, "hardware", hw, "software",
			      sw, "rules", rules);
	pthread_mutex_unlock(&pf.lock);
	return o;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
label_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void
port_flow_metrics(FILE *f)
{
	uint32_t hw = 0;

	fputs("# HELP umbra_port_rule Rules umbra wants at its ports, 1 each: "
	      "path hardware (an rte_flow rule at the port) or software (with "
	      "the reason).\n# TYPE umbra_port_rule gauge\n", f);
	pthread_mutex_lock(&pf.lock);
	for (uint32_t i = 0; i < pf.n; i++) {
		const struct port_flow_status *s = &pf.cur[i].st;

		fputs("umbra_port_rule{rule=\"", f);
		label_put(f, s->rule.name);
		fprintf(f, "\",action=\"%s\",path=\"%s\",reason=\"",
			action_name(s->rule.action), path_name(s->path));
		label_put(f, s->reason);
		fputs("\"} 1\n", f);
		hw += s->path == PORT_FLOW_HARDWARE;
	}
	fprintf(f, "# HELP umbra_port_rules Rules umbra wants at its ports, by path.\n"
		"# TYPE umbra_port_rules gauge\n"
		"umbra_port_rules{path=\"hardware\"} %u\n"
		"umbra_port_rules{path=\"software\"} %u\n", hw, pf.n - hw);
	pthread_mutex_unlock(&pf.lock);
}
