/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Management half: sum the workers' counters and report them as JSON and
 * as a human summary. Counters are single-writer 64-bit words, so reading
 * them while workers run gives a consistent-enough snapshot per counter.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include <rte_cycles.h>

#include "dp.h"

static const char *const parse_drop_names[] = {
#define NAME(id, name) name,
	PKT_DROP_REASONS(NAME)
};
static const char *const dp_drop_names[] = {
	DP_DROP_REASONS(NAME)
};
static const char *const cycle_names[] = {
	DP_CYCLE_STAGES(NAME)
#undef NAME
};

void
dp_counters_sum(const struct dp_context *dp, struct dp_counters *out)
{
	uint64_t *sum = (uint64_t *)out;

	/* Every field is a uint64_t (dp.h): add them word by word. */
	memset(out, 0, sizeof(*out));
	for (uint16_t i = 0; i < dp->n_workers; i++) {
		const uint64_t *c = (const uint64_t *)dp->workers[i].cnt;

		for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
			sum[k] += c[k];
	}
}

static json_t *
ports_json(const struct dp_context *dp, const struct dp_counters *t,
            const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint16_t p = 0; p < dp->ports.n_ports; p++) {
		json_t *queues = json_array();

		for (uint16_t i = 0; i < dp->n_workers; i++) {
			if (i >= dp->ports.ports[p].n_rxq)
				break;
			json_array_append_new(queues, json_pack("{s:i,s:I}",
				"queue", i,
				"rx_pkts", (json_int_t)dp->workers[i].cnt->port[p].rx_pkts));
		}
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(mac, sizeof(mac), &dp->ports.ports[p].mac);
		json_object_set_new(o, c->ports[p].name, json_pack(
			"{s:s,s:I,s:I,s:I,s:I,s:I,s:o}",
			"mac", mac,
			"rx_pkts", (json_int_t)t->port[p].rx_pkts,
			"rx_bytes", (json_int_t)t->port[p].rx_bytes,
			"tx_pkts", (json_int_t)(t->port[p].tx_pkts -
						t->port[p].tx_dropped),
			"tx_bytes", (json_int_t)t->port[p].tx_bytes,
			"tx_dropped", (json_int_t)t->port[p].tx_dropped,
			"rx_queues", queues));
	}
	return o;
}

static json_t *
stages_json(const struct dp_counters *t, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint16_t s = 0; s < c->n_stages; s++)
		json_object_set_new(o, c->stages[s].name, json_pack("{s:I,s:I,s:I}",
			"pkts", (json_int_t)t->stage_pkts[s],
			"bytes", (json_int_t)t->stage_bytes[s],
			"flows", (json_int_t)t->stage_flows[s]));
	return o;
}

static json_t *
rules_json(const struct dp_counters *t, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint32_t r = 0; r < c->n_flow_rules && r < CONF_MAX_FLOW_RULES; r++) {
		const struct conf_flow_rule *fr = &c->flow_rules[r];

		json_object_set_new(o, fr->name, json_pack("{s:s,s:s,s:s,s:I,s:I}",
			"from", c->stages[fr->from].name,
			"to", c->stages[fr->to].name,
			"action", fr->allow ? "allow" : "deny",
			"pkts", (json_int_t)t->rule_pkts[r],
			"flows", (json_int_t)t->rule_flows[r]));
	}
	return o;
}

/* One cohort's health counters (summed over workers): "metric": [n, bad]. */
static json_t *
cohort_json(const struct dp_context *dp, uint32_t service, int cohort)
{
	json_t *o = json_object();

	for (int m = 0; m < VERDICT_M_MAX; m++) {
		uint64_t n = 0, bad = 0;

		for (uint16_t w = 0; w < dp->n_workers; w++) {
			n += dp->workers[w].health->c[service][cohort].n[m];
			bad += dp->workers[w].health->c[service][cohort].bad[m];
		}
		if (n || bad)
			json_object_set_new(o, verdict_metric_names[m],
					    json_pack("[I,I]", (json_int_t)n, (json_int_t)bad));
	}
	return o;
}

/* New flows per service, by how they were steered; cohort health. */
static json_t *
services_json(const struct dp_context *dp, const struct dp_counters *t,
               const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < c->n_services; i++)
		json_object_set_new(o, c->services[i].name, json_pack(
			"{s:I,s:I,s:I,s:I,s:{s:o,s:o}}",
			"stage_flows", (json_int_t)t->service_flows[i][STEER_STAGE],
			"running_flows", (json_int_t)t->service_flows[i][STEER_RUNNING],
			"canary_flows", (json_int_t)t->service_flows[i][STEER_CANARY],
			"split_flows", (json_int_t)t->service_flows[i][STEER_SPLIT],
			"health", "control", cohort_json(dp, i, 0),
			"canary", cohort_json(dp, i, 1)));
	return o;
}

static json_t *
splits_json(const struct dp_counters *t, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < c->n_splits; i++)
		json_object_set_new(o, c->splits[i].name, json_pack("{s:I}", "flows",
			(json_int_t)t->split_flows[i]));
	return o;
}

static json_t *
default_deny_json(const struct dp_counters *t, const struct umbra_conf *c)
{
	json_t *o = json_object();
	char key[2 * CONF_NAME_MAX + 4];

	for (uint16_t f = 0; f < c->n_stages; f++) {
		for (uint16_t to = 0; to < c->n_stages; to++) {
			uint64_t n = t->default_deny[f][to];

			if (n == 0)
				continue;
			snprintf(key, sizeof(key), "%s->%s", c->stages[f].name,
				 c->stages[to].name);
			json_object_set_new(o, key, json_integer((json_int_t)n));
		}
	}
	return o;
}

static json_t *
drops_json(const struct dp_counters *t)
{
	json_t *o = json_object();

	for (int r = 1; r < PKT_DROP_MAX; r++)
		json_object_set_new(o, parse_drop_names[r],
				    json_integer((json_int_t)t->parse_drop[r]));
	for (int r = 0; r < DP_DROP_MAX; r++)
		json_object_set_new(o, dp_drop_names[r],
				    json_integer((json_int_t)t->dp_drop[r]));
	return o;
}

/* Cycles per pipeline stage: raw totals, or per packet when @p per_pkt. */
static json_t *
cycles_json(const struct dp_counters *c, bool per_pkt)
{
	json_t *o = json_object();
	uint64_t total = 0;
	double div = per_pkt && c->pkts ? (double)c->pkts : 1.0;

	for (int s = 0; s < DP_CYC_MAX; s++) {
		total += c->cycles[s];
		json_object_set_new(o, cycle_names[s], per_pkt ?
				    json_real(c->cycles[s] / div) :
				    json_integer((json_int_t)c->cycles[s]));
	}
	json_object_set_new(o, "total", per_pkt ? json_real(total / div) :
			    json_integer((json_int_t)total));
	return o;
}

static double
burst_cycles(const struct dp_counters *c)
{
	uint64_t total = 0;

	for (int s = 0; s < DP_CYC_MAX; s++)
		total += c->cycles[s];
	return c->bursts ? (double)total / (double)c->bursts : 0.0;
}

static json_t *
workers_json(const struct dp_context *dp)
{
	json_t *a = json_array();

	for (uint16_t i = 0; i < dp->n_workers; i++) {
		const struct dp_worker *w = &dp->workers[i];
		const struct flow_table_stats *fs = flow_table_stats(w->ft);

		json_array_append_new(a, json_pack(
			"{s:i,s:i,s:I,s:I,s:I,s:f,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
			"worker", i, "lcore", (int)w->lcore,
			"loops", (json_int_t)w->cnt->loops,
			"bursts", (json_int_t)w->cnt->bursts,
			"pkts", (json_int_t)w->cnt->pkts,
			"cycles_per_burst", burst_cycles(w->cnt),
			"cycles", cycles_json(w->cnt, false),
			"cycles_per_pkt", cycles_json(w->cnt, true),
			"flow_table",
			"active", (json_int_t)fs->active,
			"added", (json_int_t)fs->added,
			"table_full", (json_int_t)fs->table_full,
			"expired_idle", (json_int_t)fs->expired_idle,
			"expired_closed", (json_int_t)fs->expired_closed,
			"migrated", (json_int_t)fs->migrated,
			"memory_bytes", (json_int_t)flow_table_memory(w->ft)));
	}
	return a;
}

/* Most packets one worker's delay faults held at once. */
static uint64_t
inflight_max(const struct dp_context *dp)
{
	uint64_t m = 0;

	for (uint16_t i = 0; i < dp->n_workers; i++)
		if (dp->workers[i].fault.inflight_max > m)
			m = dp->workers[i].fault.inflight_max;
	return m;
}

/* One pool's size and mbufs in use (cache contents count as in use). */
static json_t *
pool_json(const struct rte_mempool *mp)
{
	if (mp == NULL)
		return json_null();
	return json_pack("{s:I,s:I}", "size", (json_int_t)mp->size,
			 "in_use", (json_int_t)rte_mempool_in_use_count(mp));
}

json_t *
dp_stats_json(const struct dp_context *dp)
{
	const struct umbra_gen *g = gen_current(&dp->pub);
	const struct umbra_conf *c = g->conf;
	struct dp_counters sum;
	const struct dp_counters *t = &sum;

	dp_counters_sum(dp, &sum);
	return json_pack("{s:I,s:f,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I},"
			 "s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I},s:{s:o,s:o}}",
		"generation", (json_int_t)g->id,
		"time_s", (double)rte_get_tsc_cycles() / (double)rte_get_tsc_hz(),
		"rx_pkts", (json_int_t)t->pkts,
		"ports", ports_json(dp, t, c),
		"stages", stages_json(t, c),
		"rules", rules_json(t, c),
		"services", services_json(dp, t, c),
		"splits", splits_json(t, c),
		"default_deny", default_deny_json(t, c),
		"drops", drops_json(t),
		"workers", workers_json(dp),
		"flows", "new", (json_int_t)t->flows_new,
		"stateless", (json_int_t)t->flows_stateless,
		"graph", "records", (json_int_t)t->graph_records,
		"ring_full", (json_int_t)t->graph_ring_full,
		"over_budget", (json_int_t)t->graph_over_budget,
		"dns", (json_int_t)t->graph_dns,
		"dns_full", (json_int_t)t->graph_dns_full,
		"arp", "forwarded", (json_int_t)t->arp_forwarded,
		"proxied", (json_int_t)t->arp_proxied,
		"nd_proxied", (json_int_t)t->nd_proxied,
		"faults", "inflight", (json_int_t)dp_delayed_total(dp),
		"inflight_max", (json_int_t)inflight_max(dp),
		"mempools", "packets", pool_json(dp->ports.pool),
		"shadow", pool_json(dp->shadow_pool));
}

/*
 * Top flows: a racy but safe read of copied fields, while workers run.
 * Tables are single-owner, but their memory (entries and the hash's key
 * store) lives until dp_fini(), after the workers stopped, and holds no
 * pointers: reading it can never fault. Each entry is copied, then its
 * key, then the entry again; a slot reused in between (its first_tsc,
 * stamped when the flow was added, changed) is skipped, so a key is never
 * paired with another flow's counters. Counters may be a few packets
 * apart from each other, as any live read. A snapshot taken by the worker
 * itself would put a scan of its whole table into its loop (the hot path);
 * this costs workers nothing.
 */
static bool
flow_copy(struct flow_table *ft, uint32_t pos, struct dp_flow *out)
{
	const volatile struct flow_entry *e = flow_table_entry(ft, (int32_t)pos);
	const struct flow_key *k;
	uint64_t first;

	if (!e->in_use)
		return false;
	memcpy(&out->e, (const void *)e, sizeof(out->e));
	k = flow_table_key(ft, (int32_t)pos);
	if (k == NULL)
		return false;
	memcpy(&out->key, k, sizeof(out->key));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	first = e->first_tsc;
	return e->in_use && out->e.in_use && first == out->e.first_tsc;
}

static uint64_t
flow_bytes(const struct dp_flow *f)
{
	return f->e.bytes[0] + f->e.bytes[1];
}

/* Keep @p f among the @p n biggest of out[0..*len), sorted by bytes. */
static void
top_insert(struct dp_flow *out, unsigned int n, unsigned int *len,
	   const struct dp_flow *f)
{
	uint64_t bytes = flow_bytes(f);
	unsigned int i;

	if (*len == n && flow_bytes(&out[n - 1]) >= bytes)
		return;
	i = *len < n ? (*len)++ : n - 1;
	while (i > 0 && flow_bytes(&out[i - 1]) < bytes) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *f;
}

unsigned int
dp_top_flows(const struct dp_context *dp, unsigned int n, int32_t stage,
	     struct dp_flow *out)
{
	unsigned int len = 0;
	struct dp_flow f;

	for (uint16_t i = 0; i < dp->n_workers && n > 0; i++) {
		struct flow_table *ft = dp->workers[i].ft;

		for (uint32_t pos = 0; pos < flow_table_capacity(ft); pos++)
			if (flow_copy(ft, pos, &f) && (stage < 0 || f.e.stage == stage))
				top_insert(out, n, &len, &f);
	}
	return len;
}

static void
endpoint(const struct flow_key *k, int side, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const uint8_t *a = side ? k->addr_b : k->addr_a;
	uint16_t port = side ? k->port_b : k->port_a;

	inet_ntop(k->family == 6 ? AF_INET6 : AF_INET, a, addr, sizeof(addr));
	snprintf(buf, len, k->family == 6 ? "[%s]:%u" : "%s:%u", addr, port);
}

static const char *const tcp_state_names[] = {
	"none", "syn_sent", "synack_seen", "established", "fin_wait", "closed",
};

static const char *
stage_name(const struct umbra_conf *c, uint16_t s)
{
	return s < c->n_stages ? c->stages[s].name : "?";
}

json_t *
dp_flows_json(const struct dp_context *dp, const struct dp_flow *f, unsigned int n)
{
	const struct umbra_conf *c = gen_current(&dp->pub)->conf;
	json_t *a = json_array();

	for (unsigned int i = 0; i < n; i++) {
		const struct flow_entry *e = &f[i].e;
		char cli[64], srv[64];

		endpoint(&f[i].key, e->orig_side, cli, sizeof(cli));
		endpoint(&f[i].key, !e->orig_side, srv, sizeof(srv));
		json_array_append_new(a, json_pack(
			"{s:s,s:s,s:i,s:s,s:s,s:s,s:[I,I],s:[I,I],s:[I,I],s:I,s:s}",
			"client", cli, "server", srv, "proto", f[i].key.proto,
			"stage", stage_name(c, e->stage),
			"from_stage", stage_name(c, e->from_stage),
			"verdict", e->verdict == FLOW_DENY ? "deny" : "forward",
			"pkts", (json_int_t)e->pkts[0], (json_int_t)e->pkts[1],
			"bytes", (json_int_t)e->bytes[0], (json_int_t)e->bytes[1],
			"retrans", (json_int_t)e->retrans[0], (json_int_t)e->retrans[1],
			"rtt_us", (json_int_t)e->rtt_us,
			"tcp_state", e->tcp_state < RTE_DIM(tcp_state_names) ?
				tcp_state_names[e->tcp_state] : "?"));
	}
	return a;
}

json_t *
dp_top_flows_json(const struct dp_context *dp, unsigned int n)
{
	struct dp_flow top[DP_TOP_FLOWS_MAX];

	n = n > DP_TOP_FLOWS_MAX ? DP_TOP_FLOWS_MAX : n;
	return dp_flows_json(dp, top, dp_top_flows(dp, n, -1, top));
}

/* ---- the human summary and Prometheus text, from typed sums ------ */

static const char *
drop_name(int r, bool parse)
{
	return parse ? parse_drop_names[r] : dp_drop_names[r];
}

void
dp_stats_summary(FILE *out, const struct dp_context *dp, unsigned int top)
{
	const struct umbra_gen *g = gen_current(&dp->pub);
	const struct umbra_conf *c = g->conf;
	struct dp_flow flows[DP_TOP_FLOWS_MAX];
	struct dp_counters t;
	unsigned int nf;

	dp_counters_sum(dp, &t);
	nf = dp_top_flows(dp, top > DP_TOP_FLOWS_MAX ? DP_TOP_FLOWS_MAX : top, -1, flows);
	fprintf(out, "umbra summary (generation %llu): %llu packets received\n",
		(unsigned long long)g->id, (unsigned long long)t.pkts);
	fprintf(out, "Ports%24s %12s %12s\n", "rx", "tx", "tx_dropped");
	for (uint16_t p = 0; p < dp->ports.n_ports; p++)
		fprintf(out, "  %-20s %12llu %12llu %12llu\n", c->ports[p].name,
			(unsigned long long)t.port[p].rx_pkts,
			(unsigned long long)(t.port[p].tx_pkts - t.port[p].tx_dropped),
			(unsigned long long)t.port[p].tx_dropped);
	fprintf(out, "Packets per stage\n");
	for (uint16_t s = 0; s < c->n_stages; s++)
		fprintf(out, "  %-28s %12llu\n", c->stages[s].name,
			(unsigned long long)t.stage_pkts[s]);
	fprintf(out, "Packets per inter-stage rule\n");
	for (uint32_t r = 0; r < c->n_flow_rules && r < CONF_MAX_FLOW_RULES; r++)
		fprintf(out, "  %-28s %12llu\n", c->flow_rules[r].name,
			(unsigned long long)t.rule_pkts[r]);
	fprintf(out, "Denied by default (from->to)\n");
	for (uint16_t f = 0; f < c->n_stages; f++)
		for (uint16_t to = 0; to < c->n_stages; to++) {
			char key[2 * CONF_NAME_MAX + 4];

			if (t.default_deny[f][to] == 0)
				continue;
			snprintf(key, sizeof(key), "%s->%s", c->stages[f].name,
				 c->stages[to].name);
			fprintf(out, "  %-28s %12llu\n", key,
				(unsigned long long)t.default_deny[f][to]);
		}
	fprintf(out, "Drops by reason (non-zero)\n");
	for (int r = 1; r < PKT_DROP_MAX; r++)
		if (t.parse_drop[r])
			fprintf(out, "  %-28s %12llu\n", drop_name(r, true),
				(unsigned long long)t.parse_drop[r]);
	for (int r = 0; r < DP_DROP_MAX; r++)
		if (t.dp_drop[r])
			fprintf(out, "  %-28s %12llu\n", drop_name(r, false),
				(unsigned long long)t.dp_drop[r]);
	fprintf(out, "Top flows by bytes\n");
	for (unsigned int i = 0; i < nf; i++) {
		char cli[64], srv[64];

		endpoint(&flows[i].key, flows[i].e.orig_side, cli, sizeof(cli));
		endpoint(&flows[i].key, !flows[i].e.orig_side, srv, sizeof(srv));
		fprintf(out, "  %-24s -> %-24s %-12s %-7s %8llu B\n", cli, srv,
			stage_name(c, flows[i].e.stage),
			flows[i].e.verdict == FLOW_DENY ? "deny" : "forward",
			(unsigned long long)flow_bytes(&flows[i]));
	}
}

/* One Prometheus family: HELP and TYPE lines. */
static void
prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_ports(FILE *f, const struct dp_context *dp, const struct dp_counters *t,
	   const struct umbra_conf *c)
{
#define PORT_FAMILY(field, family, expr) \
	prom_family(f, family, "counter", "Per-port counter."); \
	for (uint16_t p = 0; p < dp->ports.n_ports; p++) \
		fprintf(f, family "{port=\"%s\"} %llu\n", c->ports[p].name, \
			(unsigned long long)(expr));
	PORT_FAMILY(rx_pkts, "umbra_port_rx_packets_total", t->port[p].rx_pkts)
	PORT_FAMILY(rx_bytes, "umbra_port_rx_bytes_total", t->port[p].rx_bytes)
	PORT_FAMILY(tx_pkts, "umbra_port_tx_packets_total",
		    t->port[p].tx_pkts - t->port[p].tx_dropped)
	PORT_FAMILY(tx_bytes, "umbra_port_tx_bytes_total", t->port[p].tx_bytes)
	PORT_FAMILY(tx_dropped, "umbra_port_tx_dropped_total", t->port[p].tx_dropped)
#undef PORT_FAMILY
	prom_family(f, "umbra_queue_rx_packets_total", "counter", "Packets per RX queue.");
	for (uint16_t p = 0; p < dp->ports.n_ports; p++)
		for (uint16_t i = 0; i < dp->n_workers && i < dp->ports.ports[p].n_rxq; i++)
			fprintf(f, "umbra_queue_rx_packets_total{port=\"%s\",queue=\"%u\"} %llu\n",
				c->ports[p].name, i,
				(unsigned long long)dp->workers[i].cnt->port[p].rx_pkts);
}

static void
prom_stages(FILE *f, const struct dp_counters *t, const struct umbra_conf *c)
{
#define STAGE_FAMILY(family, help, field) \
	prom_family(f, family, "counter", help); \
	for (uint16_t s = 0; s < c->n_stages; s++) \
		fprintf(f, family "{stage=\"%s\"} %llu\n", c->stages[s].name, \
			(unsigned long long)t->field[s]);
	STAGE_FAMILY("umbra_stage_packets_total", "Packets classified into each stage.",
		     stage_pkts)
	STAGE_FAMILY("umbra_stage_bytes_total", "Bytes classified into each stage.",
		     stage_bytes)
	STAGE_FAMILY("umbra_stage_flows_total", "Flows classified into each stage.",
		     stage_flows)
#undef STAGE_FAMILY
	prom_family(f, "umbra_rule_packets_total", "counter",
		    "Packets matching each inter-stage rule.");
	for (uint32_t r = 0; r < c->n_flow_rules && r < CONF_MAX_FLOW_RULES; r++)
		fprintf(f, "umbra_rule_packets_total{rule=\"%s\"} %llu\n",
			c->flow_rules[r].name, (unsigned long long)t->rule_pkts[r]);
}

static void
prom_services(FILE *f, const struct dp_counters *t, const struct umbra_conf *c)
{
	static const struct { int how; const char *name; } hows[] = {
		{ STEER_STAGE, "stage" }, { STEER_RUNNING, "running" },
		{ STEER_CANARY, "canary" }, { STEER_SPLIT, "split" },
	};

	prom_family(f, "umbra_service_flows_total", "counter",
		    "New flows of each service, by how they were steered.");
	for (uint32_t i = 0; i < c->n_services; i++)
		for (size_t h = 0; h < RTE_DIM(hows); h++)
			fprintf(f, "umbra_service_flows_total{service=\"%s\",steer=\"%s\"} "
				"%llu\n", c->services[i].name, hows[h].name,
				(unsigned long long)t->service_flows[i][hows[h].how]);
	prom_family(f, "umbra_split_flows_total", "counter",
		    "New flows sent elsewhere by each network split.");
	for (uint32_t i = 0; i < c->n_splits; i++)
		fprintf(f, "umbra_split_flows_total{split=\"%s\"} %llu\n",
			c->splits[i].name, (unsigned long long)t->split_flows[i]);
}

static void
prom_drops(FILE *f, const struct dp_counters *t, const struct umbra_conf *c)
{
	prom_family(f, "umbra_default_deny_packets_total", "counter",
		    "Packets denied with no rule, by from->to stage.");
	for (uint16_t s = 0; s < c->n_stages; s++)
		for (uint16_t to = 0; to < c->n_stages; to++)
			if (t->default_deny[s][to])
				fprintf(f, "umbra_default_deny_packets_total{pair=\"%s->%s\"} "
					"%llu\n", c->stages[s].name, c->stages[to].name,
					(unsigned long long)t->default_deny[s][to]);
	prom_family(f, "umbra_drops_total", "counter", "Packets dropped, by reason.");
	for (int r = 1; r < PKT_DROP_MAX; r++)
		fprintf(f, "umbra_drops_total{reason=\"%s\"} %llu\n", drop_name(r, true),
			(unsigned long long)t->parse_drop[r]);
	for (int r = 0; r < DP_DROP_MAX; r++)
		fprintf(f, "umbra_drops_total{reason=\"%s\"} %llu\n", drop_name(r, false),
			(unsigned long long)t->dp_drop[r]);
}

static void
prom_workers(FILE *f, const struct dp_context *dp)
{
	prom_family(f, "umbra_worker_packets_total", "counter", "Packets per worker.");
	for (uint16_t i = 0; i < dp->n_workers; i++)
		fprintf(f, "umbra_worker_packets_total{worker=\"%u\"} %llu\n", i,
			(unsigned long long)dp->workers[i].cnt->pkts);
	prom_family(f, "umbra_worker_cycles_total", "counter", "TSC cycles per pipeline stage.");
	for (uint16_t i = 0; i < dp->n_workers; i++)
		for (int s = 0; s < DP_CYC_MAX; s++)
			fprintf(f, "umbra_worker_cycles_total{worker=\"%u\",stage=\"%s\"} %llu\n",
				i, cycle_names[s],
				(unsigned long long)dp->workers[i].cnt->cycles[s]);
	prom_family(f, "umbra_worker_flows_active", "gauge", "Flows in each worker's table.");
	for (uint16_t i = 0; i < dp->n_workers; i++)
		fprintf(f, "umbra_worker_flows_active{worker=\"%u\"} %llu\n", i,
			(unsigned long long)flow_table_stats(dp->workers[i].ft)->active);
}

char *
dp_metrics_text(const struct dp_context *dp)
{
	const struct umbra_gen *g = gen_current(&dp->pub);
	struct dp_counters t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	dp_counters_sum(dp, &t);
	prom_family(f, "umbra_generation", "gauge", "Configuration generation workers run.");
	fprintf(f, "umbra_generation %llu\n", (unsigned long long)g->id);
	prom_ports(f, dp, &t, g->conf);
	prom_stages(f, &t, g->conf);
	prom_services(f, &t, g->conf);
	prom_drops(f, &t, g->conf);
	prom_workers(f, dp);
	fclose(f);
	return text;
}
