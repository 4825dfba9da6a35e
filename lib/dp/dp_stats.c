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

/* Sum the uint64_t at byte offset @p off of every worker's counters. */
static uint64_t
sum_at(const struct dp_context *dp, size_t off)
{
	uint64_t n = 0;

	for (uint16_t i = 0; i < dp->n_workers; i++)
		n += *(const uint64_t *)((const char *)dp->workers[i].cnt + off);
	return n;
}

#define SUM(dp, field) sum_at((dp), offsetof(struct dp_counters, field))

static json_t *
ports_json(const struct dp_context *dp, const struct umbra_conf *c)
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
			"rx_pkts", (json_int_t)SUM(dp, port[p].rx_pkts),
			"rx_bytes", (json_int_t)SUM(dp, port[p].rx_bytes),
			"tx_pkts", (json_int_t)(SUM(dp, port[p].tx_pkts) -
						SUM(dp, port[p].tx_dropped)),
			"tx_bytes", (json_int_t)SUM(dp, port[p].tx_bytes),
			"tx_dropped", (json_int_t)SUM(dp, port[p].tx_dropped),
			"rx_queues", queues));
	}
	return o;
}

static json_t *
stages_json(const struct dp_context *dp, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint16_t s = 0; s < c->n_stages; s++)
		json_object_set_new(o, c->stages[s].name, json_pack("{s:I,s:I,s:I}",
			"pkts", (json_int_t)SUM(dp, stage_pkts[s]),
			"bytes", (json_int_t)SUM(dp, stage_bytes[s]),
			"flows", (json_int_t)SUM(dp, stage_flows[s])));
	return o;
}

static json_t *
rules_json(const struct dp_context *dp, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint32_t r = 0; r < c->n_flow_rules && r < CONF_MAX_FLOW_RULES; r++) {
		const struct conf_flow_rule *fr = &c->flow_rules[r];

		json_object_set_new(o, fr->name, json_pack("{s:s,s:s,s:s,s:I,s:I}",
			"from", c->stages[fr->from].name,
			"to", c->stages[fr->to].name,
			"action", fr->allow ? "allow" : "deny",
			"pkts", (json_int_t)SUM(dp, rule_pkts[r]),
			"flows", (json_int_t)SUM(dp, rule_flows[r])));
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
services_json(const struct dp_context *dp, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < c->n_services; i++)
		json_object_set_new(o, c->services[i].name, json_pack(
			"{s:I,s:I,s:I,s:I,s:{s:o,s:o}}",
			"stage_flows", (json_int_t)SUM(dp, service_flows[i][STEER_STAGE]),
			"running_flows", (json_int_t)SUM(dp, service_flows[i][STEER_RUNNING]),
			"canary_flows", (json_int_t)SUM(dp, service_flows[i][STEER_CANARY]),
			"split_flows", (json_int_t)SUM(dp, service_flows[i][STEER_SPLIT]),
			"health", "control", cohort_json(dp, i, 0),
			"canary", cohort_json(dp, i, 1)));
	return o;
}

static json_t *
splits_json(const struct dp_context *dp, const struct umbra_conf *c)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < c->n_splits; i++)
		json_object_set_new(o, c->splits[i].name, json_pack("{s:I}", "flows",
			(json_int_t)SUM(dp, split_flows[i])));
	return o;
}

static json_t *
default_deny_json(const struct dp_context *dp, const struct umbra_conf *c)
{
	json_t *o = json_object();
	char key[2 * CONF_NAME_MAX + 4];

	for (uint16_t f = 0; f < c->n_stages; f++) {
		for (uint16_t t = 0; t < c->n_stages; t++) {
			uint64_t n = SUM(dp, default_deny[f][t]);

			if (n == 0)
				continue;
			snprintf(key, sizeof(key), "%s->%s", c->stages[f].name,
				 c->stages[t].name);
			json_object_set_new(o, key, json_integer((json_int_t)n));
		}
	}
	return o;
}

static json_t *
drops_json(const struct dp_context *dp)
{
	json_t *o = json_object();

	for (int r = 1; r < PKT_DROP_MAX; r++)
		json_object_set_new(o, parse_drop_names[r],
				    json_integer((json_int_t)SUM(dp, parse_drop[r])));
	for (int r = 0; r < DP_DROP_MAX; r++)
		json_object_set_new(o, dp_drop_names[r],
				    json_integer((json_int_t)SUM(dp, dp_drop[r])));
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

	return json_pack("{s:I,s:f,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I},"
			 "s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:o,s:I,s:I},s:{s:o,s:o}}",
		"generation", (json_int_t)g->id,
		"time_s", (double)rte_get_tsc_cycles() / (double)rte_get_tsc_hz(),
		"rx_pkts", (json_int_t)SUM(dp, pkts),
		"ports", ports_json(dp, c),
		"stages", stages_json(dp, c),
		"rules", rules_json(dp, c),
		"services", services_json(dp, c),
		"splits", splits_json(dp, c),
		"default_deny", default_deny_json(dp, c),
		"drops", drops_json(dp),
		"workers", workers_json(dp),
		"flows", "new", (json_int_t)SUM(dp, flows_new),
		"stateless", (json_int_t)SUM(dp, flows_stateless),
		"graph", "records", (json_int_t)SUM(dp, graph_records),
		"ring_full", (json_int_t)SUM(dp, graph_ring_full),
		"over_budget", (json_int_t)SUM(dp, graph_over_budget),
		"dns", (json_int_t)SUM(dp, graph_dns),
		"dns_full", (json_int_t)SUM(dp, graph_dns_full),
		"arp", "forwarded", (json_int_t)SUM(dp, arp_forwarded),
		"proxied", (json_int_t)SUM(dp, arp_proxied),
		"nd_proxied", (json_int_t)SUM(dp, nd_proxied),
		"faults", "rules", fault_ctl_rules_json(dp->faults),
		"inflight", (json_int_t)dp_delayed_total(dp),
		"inflight_max", (json_int_t)inflight_max(dp),
		"mempools", "packets", pool_json(dp->ports.pool),
		"shadow", pool_json(dp->shadow_pool));
}

/* A flow picked for the top-N report. */
struct top_flow {
	const struct flow_entry *e;
	const struct flow_key *k;
	uint64_t bytes;
};

static void
top_insert(struct top_flow *top, unsigned int n, unsigned int *len,
	   const struct flow_entry *e, const struct flow_key *k)
{
	uint64_t bytes = e->bytes[0] + e->bytes[1];
	unsigned int i;

	if (*len == n && top[n - 1].bytes >= bytes)
		return;
	i = *len < n ? (*len)++ : n - 1;
	while (i > 0 && top[i - 1].bytes < bytes) {
		top[i] = top[i - 1];
		i--;
	}
	top[i] = (struct top_flow){ e, k, bytes };
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

json_t *
dp_top_flows_json(const struct dp_context *dp, unsigned int n)
{
	const struct umbra_conf *c = gen_current(&dp->pub)->conf;
	struct top_flow top[64];
	unsigned int len = 0;
	json_t *a = json_array();

	n = n > 64 ? 64 : n;
	for (uint16_t i = 0; i < dp->n_workers && n > 0; i++) {
		struct flow_table *ft = dp->workers[i].ft;

		for (uint32_t pos = 0; pos < flow_table_capacity(ft); pos++) {
			const struct flow_entry *e = flow_table_entry(ft, (int32_t)pos);

			if (e->in_use)
				top_insert(top, n, &len, e, flow_table_key(ft, (int32_t)pos));
		}
	}
	for (unsigned int i = 0; i < len; i++) {
		const struct flow_entry *e = top[i].e;
		char cli[64], srv[64];

		if (top[i].k == NULL)
			continue;
		endpoint(top[i].k, e->orig_side, cli, sizeof(cli));
		endpoint(top[i].k, !e->orig_side, srv, sizeof(srv));
		json_array_append_new(a, json_pack(
			"{s:s,s:s,s:i,s:s,s:s,s:s,s:[I,I],s:[I,I],s:[I,I],s:I,s:s}",
			"client", cli, "server", srv, "proto", top[i].k->proto,
			"stage", e->stage < c->n_stages ? c->stages[e->stage].name : "?",
			"from_stage", e->from_stage < c->n_stages ?
				c->stages[e->from_stage].name : "?",
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

static void
summary_counts(FILE *out, const char *title, json_t *obj, const char *field)
{
	const char *name;
	json_t *v;

	fprintf(out, "%s\n", title);
	json_object_foreach(obj, name, v) {
		json_int_t n = field ? json_integer_value(json_object_get(v, field)) :
				       json_integer_value(v);

		if (n != 0 || field != NULL)
			fprintf(out, "  %-28s %12lld\n", name, (long long)n);
	}
}

void
dp_stats_summary(FILE *out, const struct dp_context *dp, unsigned int top)
{
	json_t *st = dp_stats_json(dp);
	json_t *flows = dp_top_flows_json(dp, top);
	const char *name;
	size_t i;
	json_t *v;

	fprintf(out, "umbra summary (generation %lld): %lld packets received\n",
		(long long)json_integer_value(json_object_get(st, "generation")),
		(long long)json_integer_value(json_object_get(st, "rx_pkts")));
	fprintf(out, "Ports%24s %12s %12s\n", "rx", "tx", "tx_dropped");
	json_object_foreach(json_object_get(st, "ports"), name, v)
		fprintf(out, "  %-20s %12lld %12lld %12lld\n", name,
			(long long)json_integer_value(json_object_get(v, "rx_pkts")),
			(long long)json_integer_value(json_object_get(v, "tx_pkts")),
			(long long)json_integer_value(json_object_get(v, "tx_dropped")));
	summary_counts(out, "Packets per stage", json_object_get(st, "stages"), "pkts");
	summary_counts(out, "Packets per inter-stage rule", json_object_get(st, "rules"), "pkts");
	summary_counts(out, "Denied by default (from->to)", json_object_get(st, "default_deny"), NULL);
	summary_counts(out, "Drops by reason (non-zero)", json_object_get(st, "drops"), NULL);
	fprintf(out, "Top flows by bytes\n");
	json_array_foreach(flows, i, v)
		fprintf(out, "  %-24s -> %-24s %-12s %-7s %8lld B\n",
			json_string_value(json_object_get(v, "client")),
			json_string_value(json_object_get(v, "server")),
			json_string_value(json_object_get(v, "stage")),
			json_string_value(json_object_get(v, "verdict")),
			(long long)(json_integer_value(json_array_get(json_object_get(v, "bytes"), 0)) +
				    json_integer_value(json_array_get(json_object_get(v, "bytes"), 1))));
	json_decref(flows);
	json_decref(st);
}

/* One Prometheus family: HELP and TYPE lines. */
static void
prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Every member of @p obj as one sample labelled @p label="<key>". */
static void
prom_by_key(FILE *f, json_t *obj, const char *family, const char *label,
	    const char *field, const char *help)
{
	const char *key;
	json_t *v;

	prom_family(f, family, "counter", help);
	json_object_foreach(obj, key, v)
		fprintf(f, "%s{%s=\"%s\"} %lld\n", family, label, key,
			(long long)json_integer_value(field ? json_object_get(v, field) : v));
}

char *
dp_metrics_text(const struct dp_context *dp)
{
	json_t *st = dp_stats_json(dp);
	json_t *ports = json_object_get(st, "ports"), *v, *w;
	static const char *const port_fields[][2] = {
		{ "rx_pkts", "umbra_port_rx_packets_total" },
		{ "rx_bytes", "umbra_port_rx_bytes_total" },
		{ "tx_pkts", "umbra_port_tx_packets_total" },
		{ "tx_bytes", "umbra_port_tx_bytes_total" },
		{ "tx_dropped", "umbra_port_tx_dropped_total" },
	};
	const char *key;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL) {
		json_decref(st);
		return NULL;
	}
	prom_family(f, "umbra_generation", "gauge", "Configuration generation workers run.");
	fprintf(f, "umbra_generation %lld\n",
		(long long)json_integer_value(json_object_get(st, "generation")));
	for (i = 0; i < RTE_DIM(port_fields); i++)
		prom_by_key(f, ports, port_fields[i][1], "port", port_fields[i][0],
			    "Per-port counter.");
	prom_family(f, "umbra_queue_rx_packets_total", "counter", "Packets per RX queue.");
	json_object_foreach(ports, key, v) {
		json_array_foreach(json_object_get(v, "rx_queues"), i, w)
			fprintf(f, "umbra_queue_rx_packets_total{port=\"%s\",queue=\"%lld\"} %lld\n",
				key, (long long)json_integer_value(json_object_get(w, "queue")),
				(long long)json_integer_value(json_object_get(w, "rx_pkts")));
	}
	prom_by_key(f, json_object_get(st, "stages"), "umbra_stage_packets_total", "stage",
		    "pkts", "Packets classified into each stage.");
	prom_by_key(f, json_object_get(st, "stages"), "umbra_stage_bytes_total", "stage",
		    "bytes", "Bytes classified into each stage.");
	prom_by_key(f, json_object_get(st, "stages"), "umbra_stage_flows_total", "stage",
		    "flows", "Flows classified into each stage.");
	prom_by_key(f, json_object_get(st, "rules"), "umbra_rule_packets_total", "rule",
		    "pkts", "Packets matching each inter-stage rule.");
	prom_family(f, "umbra_service_flows_total", "counter",
		    "New flows of each service, by how they were steered.");
	json_object_foreach(json_object_get(st, "services"), key, v) {
		const char *how;

		json_object_foreach(v, how, w)
			fprintf(f, "umbra_service_flows_total{service=\"%s\",steer=\"%.*s\"} %lld\n",
				key, (int)(strlen(how) - 6), how, (long long)json_integer_value(w));
	}
	prom_by_key(f, json_object_get(st, "splits"), "umbra_split_flows_total", "split",
		    "flows", "New flows sent elsewhere by each network split.");
	prom_by_key(f, json_object_get(st, "default_deny"), "umbra_default_deny_packets_total",
		    "pair", NULL, "Packets denied with no rule, by from->to stage.");
	prom_by_key(f, json_object_get(st, "drops"), "umbra_drops_total", "reason", NULL,
		    "Packets dropped, by reason.");
	prom_family(f, "umbra_worker_packets_total", "counter", "Packets per worker.");
	json_array_foreach(json_object_get(st, "workers"), i, w)
		fprintf(f, "umbra_worker_packets_total{worker=\"%zu\"} %lld\n", i,
			(long long)json_integer_value(json_object_get(w, "pkts")));
	prom_family(f, "umbra_worker_cycles_total", "counter", "TSC cycles per pipeline stage.");
	json_array_foreach(json_object_get(st, "workers"), i, w) {
		json_object_foreach(json_object_get(w, "cycles"), key, v)
			if (strcmp(key, "total") != 0)
				fprintf(f, "umbra_worker_cycles_total{worker=\"%zu\",stage=\"%s\"} %lld\n",
					i, key, (long long)json_integer_value(v));
	}
	prom_family(f, "umbra_worker_flows_active", "gauge", "Flows in each worker's table.");
	json_array_foreach(json_object_get(st, "workers"), i, w)
		fprintf(f, "umbra_worker_flows_active{worker=\"%zu\"} %lld\n", i,
			(long long)json_integer_value(json_object_get(
				json_object_get(w, "flow_table"), "active")));
	fclose(f);
	json_decref(st);
	return text;
}
