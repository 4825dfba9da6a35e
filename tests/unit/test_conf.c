/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: the YAML loader, every field, and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

static const char full_yaml[] =
	"ports:\n"
	"  - name: uplink\n"
	"    vdev: \"net_pcap0,rx_pcap=in.pcap\"\n"
	"    role: uplink\n"
	"    rx_queues: 2\n"
	"    tx_queues: 4\n"
	"    rx_desc: 512\n"
	"    tx_desc: 2048\n"
	"    mtu: 9000\n"
	"    promiscuous: false\n"
	"  - { name: prod, pci: \"0000:03:00.0\" }\n"
	"stages:\n"
	"  - name: production\n"
	"    default: true\n"
	"    egress: { port: prod }\n"
	"  - name: dev\n"
	"    egress: { port: prod, vlan: 10, next_hop_mac: \"02:00:00:00:0d:01\" }\n"
	"    proxy_arp: yes\n"
	"    match:\n"
	"      - { port: uplink, vlan: untagged, src: 10.1.0.0/16, proto: tcp, dport: 8000-8080 }\n"
	"      - { dst: \"2001:db8::/32\", priority: 7 }\n"
	"flows:\n"
	"  - { from: dev, to: production, proto: udp, sport: 1024-65535, dport: 53 }\n"
	"  - { name: no-ssh, from: production, to: dev, proto: 6, dport: 22, action: deny }\n"
	"policies:\n"
	"  - name: prod-never-dev\n"
	"    never: { from: production, to: dev, proto: tcp, dport: 5432 }\n"
	"flow_table: { size: 4096, tcp_closed_timeout_ms: 50, tcp_idle_timeout_s: 60,\n"
	"              udp_idle_timeout_s: 20, other_idle_timeout_s: 10 }\n"
	"mempool: { mbufs: 65536, data_room: 4096 }\n"
	"stats: { interval_s: 5 }\n"
	"mgmt: { socket: /tmp/u.sock, socket_group: umbra, state_dir: /var/lib/umbra,\n"
	"        http: \"127.0.0.1:9470\", http_token_file: /etc/umbra/token }\n";

static struct umbra_conf *
load(const char *yaml, char *err, size_t errlen)
{
	return conf_load_string(yaml, strlen(yaml), "t.yaml", err, errlen);
}

static void
test_full_config(void **state)
{
	char err[512] = "";
	struct umbra_conf *c = load(full_yaml, err, sizeof(err));
	const struct conf_match *m;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_ports, 2);
	assert_string_equal(c->ports[0].dev, "net_pcap0,rx_pcap=in.pcap");
	assert_false(c->ports[0].is_pci);
	assert_int_equal(c->ports[0].role, CONF_PORT_UPLINK);
	assert_int_equal(c->ports[0].rx_queues, 2);
	assert_int_equal(c->ports[0].tx_queues, 4);
	assert_int_equal(c->ports[0].rx_desc, 512);
	assert_int_equal(c->ports[0].tx_desc, 2048);
	assert_int_equal(c->ports[0].mtu, 9000);
	assert_false(c->ports[0].promiscuous);
	assert_int_equal(c->ports[0].pos.line, 2);
	assert_int_equal(c->ports[0].pos.col, 5);
	assert_true(c->ports[1].is_pci);
	assert_int_equal(c->ports[1].role, CONF_PORT_STAGE);
	assert_int_equal(c->ports[1].rx_desc, 1024); /* defaults */
	assert_true(c->ports[1].promiscuous);
	assert_int_equal(c->ports[1].mtu, 0);

	assert_int_equal(c->n_stages, 2);
	assert_int_equal(c->default_stage, 0);
	assert_int_equal(c->stages[0].egress.port, 1);
	assert_int_equal(c->stages[0].egress.vlan, 0);
	assert_false(c->stages[0].egress.rewrite_mac);
	assert_int_equal(c->stages[1].egress.vlan, 10);
	assert_true(c->stages[1].egress.rewrite_mac);
	assert_memory_equal(c->stages[1].egress.next_hop_mac, "\x02\0\0\0\x0d\x01", 6);
	assert_true(c->stages[1].proxy_arp);

	assert_int_equal(c->n_matches, 2);
	m = &c->matches[0];
	assert_int_equal(m->stage, 1);
	assert_int_equal(m->port, 0);
	assert_int_equal(m->vlan, CONF_VLAN_UNTAGGED);
	assert_int_equal(m->proto, 6);
	assert_int_equal(m->src.family, 4);
	assert_int_equal(m->src.len, 16);
	assert_memory_equal(m->src.addr, "\x0a\x01\0\0", 4);
	assert_int_equal(m->dst.family, 0);
	assert_int_equal(m->dport.lo, 8000);
	assert_int_equal(m->dport.hi, 8080);
	assert_int_equal(m->pos.line, 20);
	m = &c->matches[1];
	assert_int_equal(m->port, CONF_ANY);
	assert_int_equal(m->vlan, CONF_ANY);
	assert_int_equal(m->proto, CONF_ANY);
	assert_int_equal(m->dst.family, 6);
	assert_int_equal(m->dst.len, 32);
	assert_int_equal(m->dport.lo, 0);
	assert_int_equal(m->dport.hi, 65535);
	/* An explicit priority beats file order; otherwise earlier wins. */
	assert_true(c->matches[1].priority > c->matches[0].priority);

	assert_int_equal(c->n_flow_rules, 2);
	assert_string_equal(c->flow_rules[0].name, "flow1");
	assert_int_equal(c->flow_rules[0].from, 1);
	assert_int_equal(c->flow_rules[0].to, 0);
	assert_int_equal(c->flow_rules[0].proto, 17);
	assert_int_equal(c->flow_rules[0].sport.lo, 1024);
	assert_int_equal(c->flow_rules[0].dport.hi, 53);
	assert_true(c->flow_rules[0].allow);
	assert_string_equal(c->flow_rules[1].name, "no-ssh");
	assert_false(c->flow_rules[1].allow);
	assert_int_equal(c->n_policies, 1);
	assert_string_equal(c->policies[0].name, "prod-never-dev");
	assert_int_equal(c->policies[0].proto, 6);
	assert_int_equal(c->policies[0].dport.lo, 5432);
	assert_int_equal(c->flow_table.size, 4096);
	assert_int_equal(c->flow_table.tcp_closed_timeout_ms, 50);
	assert_int_equal(c->flow_table.other_idle_timeout_s, 10);
	assert_int_equal(c->mempool.mbufs, 65536);
	assert_int_equal(c->mempool.data_room, 4096);
	assert_int_equal(c->stats_interval_s, 5);
	assert_string_equal(c->mgmt.socket, "/tmp/u.sock");
	assert_string_equal(c->mgmt.socket_group, "umbra");
	assert_string_equal(c->mgmt.state_dir, "/var/lib/umbra");
	assert_string_equal(c->mgmt.http, "127.0.0.1:9470");
	assert_string_equal(c->mgmt.http_token_file, "/etc/umbra/token");
	assert_int_equal(conf_port_index(c, "prod"), 1);
	assert_int_equal(conf_stage_index(c, "nope"), -1);
	conf_free(c);
}

static const char release_yaml[] =
	"ports:\n"
	"  - { name: uplink, vdev: net_null0, role: uplink }\n"
	"  - { name: prod, vdev: net_null1 }\n"
	"stages:\n"
	"  - { name: production, default: true, egress: { port: prod } }\n"
	"  - { name: staging, egress: { port: prod, vlan: 300 } }\n"
	"  - { name: test, egress: { port: prod, vlan: 200 } }\n"
	"  - { name: dev, egress: { port: prod, vlan: 100 } }\n"
	"services:\n"
	"  - name: web\n"
	"    match:\n"
	"      - { dst: 10.0.0.10/32, proto: tcp, dport: 80 }\n"
	"      - { dst: \"2001:db8::10/128\" }\n"
	"    backends:\n"
	"      - { name: blue, port: prod }\n"
	"      - { name: green, port: prod, vlan: 301, next_hop_mac: \"02:00:00:00:00:02\" }\n"
	"    stages:\n"
	"      production: { backends: [blue, green], running: v1.2.0+build_7 }\n"
	"      staging: { backends: [green], running: v1.3-rc1 }\n"
	"      dev: {}\n"
	"    rollout: { steps: [0.5, 5, 25.25, 100], hold_s: 30, stage: production }\n"
	"  - name: db\n"
	"    match: { proto: udp, dport: 5353-5354 }\n"
	"    backends: [ { name: a, port: uplink, next_hop_mac: \"02:00:00:00:00:0a\" }, "
	"{ name: b, port: prod } ]\n"
	"    stages: { production: { backends: [b, a] } }\n"
	"    rollout: { steps: [100] }\n"
	"workflow:\n"
	"  pipeline:\n"
	"    - { stage: dev, on: code_commit }\n"
	"    - { stage: test, on: auto }\n"
	"    - { stage: staging, on: test_completion }\n"
	"    - { stage: production, on: manual_approval }\n"
	"  hooks:\n"
	"    - name: provision\n"
	"      stage: staging\n"
	"      service: web\n"
	"      when: after\n"
	"      run: [/bin/sh, -c, \"echo hi\"]\n"
	"      undo: [/bin/true]\n"
	"      timeout_s: 10\n"
	"    - { name: notify, stage: production, run: [/usr/bin/logger, released] }\n"
	"  hook_timeout_s: 45\n"
	"  history: 500\n"
	"splits:\n"
	"  - { name: lab, stage: production, service: web, src: 10.9.0.0/16, to_backend: green }\n"
	"  - { name: half, stage: production, hash: [0, 32767], to_stage: staging }\n"
	"steering: { seed: 12345 }\n";

static void
test_release_sections(void **state)
{
	char err[512] = "";
	struct umbra_conf *c = load(release_yaml, err, sizeof(err));
	const struct conf_service *s;
	const struct conf_workflow *w;
	const struct conf_hook *h;
	const struct conf_split *sp;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_services, 2);
	assert_int_equal(conf_service_index(c, "db"), 1);
	assert_int_equal(conf_service_index(c, "nope"), -1);
	s = &c->services[0];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->pos.line, 10);
	assert_int_equal(s->pos.col, 5);
	assert_int_equal(s->n_matches, 2);
	assert_int_equal(s->matches[0].dst.family, 4);
	assert_int_equal(s->matches[0].dst.len, 32);
	assert_memory_equal(s->matches[0].dst.addr, "\x0a\0\0\x0a", 4);
	assert_int_equal(s->matches[0].proto, 6);
	assert_int_equal(s->matches[0].dport.lo, 80);
	assert_int_equal(s->matches[0].dport.hi, 80);
	assert_int_equal(s->matches[0].pos.line, 12);
	assert_int_equal(s->matches[1].dst.family, 6);
	assert_int_equal(s->matches[1].dst.len, 128);
	assert_int_equal(s->matches[1].proto, CONF_ANY);
	assert_int_equal(s->matches[1].dport.lo, 0);
	assert_int_equal(s->matches[1].dport.hi, 65535);
	assert_int_equal(s->n_backends, 2);
	assert_string_equal(s->backends[0].name, "blue");
	assert_int_equal(s->backends[0].egress.port, 1);
	assert_int_equal(s->backends[0].egress.vlan, 0);
	assert_false(s->backends[0].egress.rewrite_mac);
	assert_int_equal(s->backends[0].pos.line, 15);
	assert_string_equal(s->backends[1].name, "green");
	assert_int_equal(s->backends[1].egress.vlan, 301);
	assert_true(s->backends[1].egress.rewrite_mac);
	assert_memory_equal(s->backends[1].egress.next_hop_mac, "\x02\0\0\0\0\x02", 6);
	assert_int_equal(conf_backend_index(s, "green"), 1);
	assert_int_equal(conf_backend_index(s, "red"), -1);
	/* stages by stage index: production 0, staging 1, test 2, dev 3 */
	assert_int_equal(s->stages[0].n_backends, 2);
	assert_int_equal(s->stages[0].backends[0], 0);
	assert_int_equal(s->stages[0].backends[1], 1);
	assert_string_equal(s->stages[0].running, "v1.2.0+build_7");
	assert_int_equal(s->stages[0].pos.line, 18);
	assert_int_equal(s->stages[0].pos.col, 7);
	assert_int_equal(s->stages[1].n_backends, 1);
	assert_int_equal(s->stages[1].backends[0], 1);
	assert_string_equal(s->stages[1].running, "v1.3-rc1");
	assert_int_equal(s->stages[2].n_backends, 0);
	assert_string_equal(s->stages[2].running, "");
	assert_int_equal(s->stages[3].n_backends, 0);
	assert_string_equal(s->stages[3].running, "");
	assert_int_equal(s->rollout.n_steps, 4);
	assert_int_equal(s->rollout.steps_bp[0], 50);
	assert_int_equal(s->rollout.steps_bp[1], 500);
	assert_int_equal(s->rollout.steps_bp[2], 2525);
	assert_int_equal(s->rollout.steps_bp[3], 10000);
	assert_int_equal(s->rollout.hold_s, 30);
	assert_int_equal(s->rollout.stage, 0);
	s = &c->services[1];
	assert_int_equal(s->n_matches, 1); /* a single mapping */
	assert_int_equal(s->matches[0].dst.family, 0);
	assert_int_equal(s->matches[0].proto, 17);
	assert_int_equal(s->matches[0].dport.lo, 5353);
	assert_int_equal(s->matches[0].dport.hi, 5354);
	assert_int_equal(s->backends[0].egress.port, 0);
	assert_int_equal(s->stages[0].backends[0], 1);
	assert_int_equal(s->stages[0].backends[1], 0);
	assert_int_equal(s->rollout.n_steps, 1);
	assert_int_equal(s->rollout.steps_bp[0], 10000);
	assert_int_equal(s->rollout.hold_s, 60); /* default */
	assert_int_equal(s->rollout.stage, 0);   /* last of the pipeline */

	w = &c->workflow;
	assert_int_equal(w->n_pipeline, 4);
	assert_int_equal(w->pipeline[0].stage, 3);
	assert_int_equal(w->pipeline[0].on, CONF_WF_CODE_COMMIT);
	assert_int_equal(w->pipeline[0].pos.line, 29);
	assert_int_equal(w->pipeline[1].stage, 2);
	assert_int_equal(w->pipeline[1].on, CONF_WF_AUTO);
	assert_int_equal(w->pipeline[2].stage, 1);
	assert_int_equal(w->pipeline[2].on, CONF_WF_TEST_COMPLETION);
	assert_int_equal(w->pipeline[3].stage, 0);
	assert_int_equal(w->pipeline[3].on, CONF_WF_MANUAL_APPROVAL);
	assert_int_equal(conf_pipeline_index(c, 0), 3);
	assert_int_equal(conf_pipeline_index(c, 3), 0);
	assert_int_equal(w->hook_timeout_ms, 45000);
	assert_int_equal(w->history_max, 500);
	assert_int_equal(w->n_hooks, 2);
	h = &w->hooks[0];
	assert_string_equal(h->name, "provision");
	assert_int_equal(h->pos.line, 34);
	assert_int_equal(h->stage, 1);
	assert_int_equal(h->service, 0);
	assert_int_equal(h->when, CONF_HOOK_AFTER);
	assert_int_equal(h->argc, 3);
	assert_string_equal(h->argv[0], "/bin/sh");
	assert_string_equal(h->argv[1], "-c");
	assert_string_equal(h->argv[2], "echo hi");
	assert_int_equal(h->undo_argc, 1);
	assert_string_equal(h->undo[0], "/bin/true");
	assert_int_equal(h->timeout_ms, 10000);
	h = &w->hooks[1];
	assert_string_equal(h->name, "notify");
	assert_int_equal(h->stage, 0);
	assert_int_equal(h->service, -1);
	assert_int_equal(h->when, CONF_HOOK_BEFORE);
	assert_int_equal(h->argc, 2);
	assert_string_equal(h->argv[1], "released");
	assert_int_equal(h->undo_argc, 0);
	assert_int_equal(h->timeout_ms, 45000); /* hook_timeout_s, given after hooks */

	assert_int_equal(c->n_splits, 2);
	sp = &c->splits[0];
	assert_string_equal(sp->name, "lab");
	assert_int_equal(sp->pos.line, 45);
	assert_int_equal(sp->stage, 0);
	assert_int_equal(sp->service, 0);
	assert_int_equal(sp->src.family, 4);
	assert_int_equal(sp->src.len, 16);
	assert_memory_equal(sp->src.addr, "\x0a\x09\0\0", 4);
	assert_int_equal(sp->hash_lo, 0);
	assert_int_equal(sp->hash_hi, 65535);
	assert_int_equal(sp->to_stage, -1);
	assert_int_equal(sp->to_backend, 1);
	sp = &c->splits[1];
	assert_string_equal(sp->name, "half");
	assert_int_equal(sp->service, -1);
	assert_int_equal(sp->src.family, 0);
	assert_int_equal(sp->hash_lo, 0);
	assert_int_equal(sp->hash_hi, 32767);
	assert_int_equal(sp->to_stage, 1);
	assert_int_equal(sp->to_backend, -1);
	assert_int_equal(c->steer_seed, 12345);
	conf_free(c);
}

static void
test_default_pipeline(void **state)
{
	const char *y =
		"ports: [ { name: p, vdev: net_null0 } ]\n"
		"stages:\n"
		"  - { name: production, default: true, egress: { port: p } }\n"
		"  - { name: dev, egress: { port: p, vlan: 1 } }\n"
		"  - { name: test, egress: { port: p, vlan: 2 } }\n"
		"  - { name: staging, egress: { port: p, vlan: 3 } }\n"
		"services:\n"
		"  - name: web\n"
		"    match: { dst: 10.0.0.1 }\n"
		"    backends: [ { name: old, port: p },\n"
		"                { name: new, port: p, vlan: 9, next_hop_mac: \"02:00:00:00:00:09\" } ]\n"
		"    stages: { production: { backends: [old, new], running: \"1.0\" } }\n"
		"    rollout: { steps: [10, 100] }\n"
		"workflow: { hooks: [ { name: h, stage: staging, run: [x] } ] }\n";
	char err[512] = "";
	struct umbra_conf *c = load(y, err, sizeof(err));
	const struct conf_workflow *w;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	w = &c->workflow;
	assert_int_equal(w->n_pipeline, 4);
	assert_int_equal(w->pipeline[0].stage, 1);
	assert_int_equal(w->pipeline[0].on, CONF_WF_CODE_COMMIT);
	assert_int_equal(w->pipeline[1].stage, 2);
	assert_int_equal(w->pipeline[1].on, CONF_WF_AUTO);
	assert_int_equal(w->pipeline[2].stage, 3);
	assert_int_equal(w->pipeline[2].on, CONF_WF_TEST_COMPLETION);
	assert_int_equal(w->pipeline[3].stage, 0);
	assert_int_equal(w->pipeline[3].on, CONF_WF_MANUAL_APPROVAL);
	assert_int_equal(w->n_hooks, 1); /* its stage is in the default pipeline */
	assert_int_equal(w->hooks[0].stage, 3);
	assert_int_equal(w->hooks[0].timeout_ms, 30000);
	assert_int_equal(w->hook_timeout_ms, 30000);
	assert_int_equal(w->history_max, 256);    /* the window, not 10000 */
	assert_int_equal(c->steer_seed, 0x5eed);
	assert_int_equal(c->n_splits, 0);
	assert_int_equal(c->services[0].matches[0].dst.len, 32);
	assert_string_equal(c->services[0].stages[0].running, "1.0");
	assert_int_equal(c->services[0].rollout.stage, 0); /* production, last */
	assert_int_equal(c->services[0].rollout.steps_bp[0], 1000);
	assert_int_equal(c->services[0].rollout.hold_s, 60);
	conf_free(c);
}

static void
test_minimal_defaults(void **state)
{
	const char *y = "ports: [ { name: p, vdev: net_null0 } ]\n"
			"stages: [ { name: only, egress: { port: p } } ]\n";
	char err[256];
	struct umbra_conf *c = load(y, err, sizeof(err));

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->default_stage, 0); /* a single stage is the default */
	assert_int_equal(c->flow_table.size, 65536);
	assert_int_equal(c->flow_table.tcp_closed_timeout_ms, 2000);
	assert_int_equal(c->flow_table.tcp_idle_timeout_s, 300);
	assert_int_equal(c->flow_table.udp_idle_timeout_s, 60);
	assert_int_equal(c->mempool.mbufs, 0);
	assert_int_equal(c->stats_interval_s, 0);
	assert_int_equal(c->n_services, 0);
	assert_null(c->services);
	assert_int_equal(c->workflow.n_pipeline, 0); /* no services: no pipeline */
	assert_int_equal(c->workflow.hook_timeout_ms, 30000);
	assert_int_equal(c->workflow.history_max, 256);
	assert_int_equal(c->n_splits, 0);
	assert_int_equal(c->steer_seed, 0x5eed);
	assert_false(c->stages[0].production); /* not named production */
	assert_false(c->fault_policy.allow_production);
	assert_true(c->fault_policy.default_lease_ns == 300000000000ull);
	assert_true(c->fault_policy.max_lease_ns == 86400000000000ull);
	assert_int_equal(c->fault_policy.max_inflight, 8192);
	assert_int_equal(c->n_faults, 0);
	assert_null(c->faults);
	assert_int_equal(c->n_scenarios, 0);
	assert_null(c->scenarios);
	conf_free(c);
}

#define PORTS "ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n"
#define STAGES "stages:\n  - { name: prod, default: true, egress: { port: a } }\n" \
	       "  - { name: dev, egress: { port: b } }\n"

/* Release sections: stages named as the default pipeline wants (lines 4-8),
 * and one service with two backends (lines 9-12). */
#define RSTAGES "stages:\n  - { name: production, default: true, egress: { port: a } }\n" \
		"  - { name: staging, egress: { port: b } }\n" \
		"  - { name: test, egress: { port: b, vlan: 2 } }\n" \
		"  - { name: dev, egress: { port: b, vlan: 3 } }\n"
#define SVC "services:\n  - name: web\n    match: { proto: tcp, dport: 80 }\n" \
	    "    backends: [ { name: blue, port: a }, { name: green, port: b } ]\n"
/* Fault sections start at line 13, after services. */
#define FSVC PORTS RSTAGES SVC
/* Shadow sections: two shadow ports (lines 2-5), the release stages (6-10)
 * and service (11-14); shadows start at line 15, their first item line 16. */
#define SPORTS "ports:\n  - { name: a, vdev: net_null0, role: uplink }\n" \
	       "  - { name: b, vdev: net_null1 }\n" \
	       "  - { name: sh, vdev: net_null2, role: shadow }\n" \
	       "  - { name: ctl, vdev: net_null3, role: shadow }\n"
#define SSVC SPORTS RSTAGES SVC
#define SH1 SSVC "shadows:\n  - "
#define X16 "xxxxxxxxxxxxxxxx"
#define X256 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16 X16

/* Each bad configuration and the exact message it must give. */
static const struct {
	const char *yaml;
	const char *error;
} bad[] = {
	{ "", "t.yaml:1:1: the configuration is empty" },
	{ "ports: [\n", "t.yaml:2:1: YAML syntax error: did not find expected node content while parsing a flow node" },
	{ "- a\n- b\n", "t.yaml:1:1: the configuration must be a mapping, not a list" },
	{ PORTS, "t.yaml:1:1: missing required key 'stages' in the configuration" },
	{ PORTS STAGES "extra: 1\n", "t.yaml:7:1: unknown key 'extra' in the configuration" },
	{ "ports:\n  - { name: a, vdev: x, rx_queus: 1 }\n" STAGES,
	  "t.yaml:2:25: unknown key 'rx_queus' in port" },
	{ "ports:\n  - { vdev: x }\n" STAGES, "t.yaml:2:5: missing required key 'name' in port" },
	{ "ports: { name: a }\n" STAGES, "t.yaml:1:8: ports must be a list, not a mapping" },
	{ "ports:\n  - { name: a, vdev: x, rx_desc: -1 }\n" STAGES,
	  "t.yaml:2:34: rx_desc must be a whole number from 64 to 16384, not '-1'" },
	{ "ports:\n  - { name: a, vdev: x, rx_desc: 99999 }\n" STAGES,
	  "t.yaml:2:34: rx_desc must be a whole number from 64 to 16384, not '99999'" },
	{ "ports:\n  - { name: a, vdev: x, rx_desc: 1000 }\n" STAGES,
	  "t.yaml:2:34: rx_desc must be a power of two" },
	{ "ports:\n  - { name: a, vdev: x, mtu: 1500x }\n" STAGES,
	  "t.yaml:2:30: mtu must be a whole number from 68 to 9600, not '1500x'" },
	{ "ports:\n  - { name: a, vdev: x, mtu: [1] }\n" STAGES,
	  "t.yaml:2:30: mtu must be a value, not a list" },
	{ "ports:\n  - { name: a, vdev: x, promiscuous: maybe }\n" STAGES,
	  "t.yaml:2:38: promiscuous must be true or false, not 'maybe'" },
	{ "ports:\n  - { name: a, vdev: x, pci: y }\n" STAGES,
	  "t.yaml:2:5: port 'a' needs exactly one of vdev: or pci:" },
	{ "ports:\n  - { name: a }\n" STAGES, "t.yaml:2:5: port 'a' needs exactly one of vdev: or pci:" },
	{ "ports:\n  - { name: a, vdev: x, role: client }\n" STAGES,
	  "t.yaml:2:31: role must be stage, uplink or shadow, not 'client'" },
	{ "ports:\n  - { name: 'a b', vdev: x }\n" STAGES,
	  "t.yaml:2:13: port name 'a b' may only hold letters, digits, '-' and '_'" },
	{ PORTS "  - { name: a, vdev: y }\n" STAGES, "t.yaml:4:5: duplicate port name 'a'" },
	{ "ports: []\n" STAGES, "t.yaml:1:8: ports must list at least one port" },
	{ PORTS "stages:\n  - { name: prod, egress: { port: c } }\n",
	  "t.yaml:5:35: unknown port 'c' (ports are: a, b)" },
	{ PORTS "stages:\n  - { name: prod, egress: { vlan: 3 } }\n",
	  "t.yaml:5:27: missing required key 'port' in egress" },
	{ PORTS "stages:\n  - { name: prod, egress: { port: a, vlan: 4095 } }\n",
	  "t.yaml:5:44: vlan must be a whole number from 0 to 4094, not '4095'" },
	{ PORTS "stages:\n  - { name: prod, egress: { port: a, next_hop_mac: 02:00 } }\n",
	  "t.yaml:5:52: next_hop_mac must look like 02:00:00:00:00:01, not '02:00'" },
	{ PORTS "stages:\n  - { name: p, default: true, egress: { port: a } }\n"
		"  - { name: q, default: true, egress: { port: b } }\n",
	  "t.yaml:6:5: stage 'q' is a second default stage (only one may say default: true)" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a } }\n  - { name: q, egress: { port: b } }\n",
	  "t.yaml:5:3: no default stage: mark one stage with default: true" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a } }\n  - { name: p, egress: { port: b } }\n",
	  "t.yaml:6:5: duplicate stage name 'p'" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { src: 10.0.0.0/33 } ] }\n",
	  "t.yaml:5:53: invalid prefix '10.0.0.0/33': length must be 0..32" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { src: 10.0.0.1/8 } ] }\n",
	  "t.yaml:5:53: invalid prefix '10.0.0.1/8': bits set beyond /8" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { dst: shop } ] }\n",
	  "t.yaml:5:53: invalid prefix 'shop': not an IPv4 or IPv6 address" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { src: 10.0.0.0/8, dst: \"::/0\" } ] }\n",
	  "t.yaml:5:46: src and dst of one rule must both be IPv4 or both IPv6" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { proto: sctpx } ] }\n",
	  "t.yaml:5:55: proto must be tcp, udp, icmp, icmpv6 or a number 0-255, not 'sctpx'" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { proto: 300 } ] }\n",
	  "t.yaml:5:55: proto must be a whole number from 0 to 255, not '300'" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { proto: icmp, dport: 1 } ] }\n",
	  "t.yaml:5:68: dport needs proto tcp or udp" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { proto: tcp, dport: 90-80 } ] }\n",
	  "t.yaml:5:67: dport range '90-80' ends before it starts" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { proto: tcp, dport: 70000 } ] }\n",
	  "t.yaml:5:67: dport must be a port (0-65535) or a range like 8000-8080, not '70000'" },
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, match: [ { vlan: 5000 } ] }\n",
	  "t.yaml:5:54: vlan must be a whole number from 0 to 4094, not '5000'" },
	{ PORTS STAGES "flows:\n  - { from: dev, to: qa }\n",
	  "t.yaml:8:22: unknown stage 'qa' (stages are: prod, dev)" },
	{ PORTS STAGES "flows:\n  - { from: dev, to: dev }\n",
	  "t.yaml:8:22: flow rule 'flow1' goes from stage 'dev' to itself; traffic within a stage needs no rule" },
	{ PORTS STAGES "flows:\n  - { from: dev }\n",
	  "t.yaml:8:5: missing required key 'to' in flow rule" },
	{ PORTS STAGES "flows:\n  - { from: dev, to: prod, action: drop }\n",
	  "t.yaml:8:36: action must be allow or deny, not 'drop'" },
	{ PORTS STAGES "flows:\n  - { name: x, from: dev, to: prod }\n  - { name: x, from: prod, to: dev }\n",
	  "t.yaml:9:5: duplicate flow rule name 'x'" },
	{ PORTS STAGES "flows:\n  - { from: dev, to: prod, sport: 5 }\n",
	  "t.yaml:8:35: sport needs proto tcp or udp" },
	{ PORTS STAGES "policies:\n  - { name: x, never: { from: prod } }\n",
	  "t.yaml:8:23: missing required key 'to' in never" },
	{ PORTS STAGES "policies:\n  - { never: { from: prod, to: dev } }\n",
	  "t.yaml:8:5: missing required key 'name' in policy" },
	{ PORTS STAGES "flow_table: { size: 100 }\n",
	  "t.yaml:7:21: size must be a whole number from 1024 to 16777216, not '100'" },
	{ PORTS STAGES "mempool: { data_room: 64 }\n",
	  "t.yaml:7:23: data_room must be a whole number from 256 to 65535, not '64'" },
	{ PORTS STAGES "stats: { interval_s: soon }\n",
	  "t.yaml:7:22: interval_s must be a whole number from 0 to 86400, not 'soon'" },
	{ PORTS STAGES "mgmt: { sockett: /x }\n", "t.yaml:7:9: unknown key 'sockett' in mgmt" },
	{ PORTS STAGES "mgmt: { socket: \"\" }\n",
	  "t.yaml:7:17: socket must be 1 to 107 characters" },
	{ PORTS STAGES "stats: { interval_s: 1, interval_s: 2 }\n",
	  "t.yaml:7:25: duplicate key 'interval_s' in stats" },
	/* services */
	{ PORTS RSTAGES SVC "    stages: { qa: { running: v1 } }\n",
	  "t.yaml:13:15: unknown stage 'qa' (stages are: production, staging, test, dev)" },
	{ PORTS RSTAGES SVC "  - { name: web, match: { proto: udp } }\n",
	  "t.yaml:13:5: duplicate service name 'web'" },
	{ PORTS RSTAGES SVC "    extra: 1\n", "t.yaml:13:5: unknown key 'extra' in service" },
	{ PORTS RSTAGES "services:\n  - { name: web }\n",
	  "t.yaml:10:5: missing required key 'match' in service" },
	{ PORTS RSTAGES "services:\n  - { name: web, match: {} }\n",
	  "t.yaml:10:25: a service match needs dst, proto or dport" },
	{ PORTS RSTAGES "services:\n  - { name: web, match: [] }\n",
	  "t.yaml:10:25: match of service 'web' must list 1 to 16 matches" },
	{ PORTS RSTAGES "services:\n  - { name: web, match: { dport: 80 } }\n",
	  "t.yaml:10:34: dport needs proto tcp or udp" },
	{ PORTS RSTAGES SVC "    stages: { production: { running: \"v1 beta\" } }\n",
	  "t.yaml:13:38: version 'v1 beta' may only hold letters, digits, '.', '_', '+' and '-'" },
	{ PORTS RSTAGES SVC "    stages: { production: { running: \"\" } }\n",
	  "t.yaml:13:38: version must be 1 to 63 characters" },
	{ PORTS RSTAGES "services:\n  - name: web\n    match: { proto: tcp }\n"
		"    backends: [ { name: x, port: a }, { name: x, port: b } ]\n",
	  "t.yaml:12:39: duplicate backend name 'x' in service 'web'" },
	{ PORTS RSTAGES "services:\n  - name: web\n    match: { proto: tcp }\n"
		"    backends: [ { name: blue, port: a }, { name: green, port: b, vlan: 7 } ]\n",
	  "t.yaml:12:42: backend 'green' of service 'web' is on its own segment (port b, "
	  "vlan 7), no stage's egress: give it next_hop_mac (its host's MAC; umbra "
	  "rewrites MACs toward it)" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, red] } }\n",
	  "t.yaml:13:46: unknown backend 'red' of service 'web' (backends are: blue, green)" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, blue] } }\n",
	  "t.yaml:13:46: backend 'blue' is listed twice in stage 'production'" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green, blue] } }\n",
	  "t.yaml:13:39: backends of stage 'production' must list 1 or 2 backends" },
	{ PORTS RSTAGES SVC "    stages: { production: {}, production: {} }\n",
	  "t.yaml:13:31: stage 'production' is twice in service 'web'" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green] } }\n"
		"    rollout: { steps: [5, 5, 100] }\n",
	  "t.yaml:14:27: rollout steps must rise: '5' is not above '5'" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green] } }\n"
		"    rollout: { steps: [1, 50] }\n",
	  "t.yaml:14:27: the last rollout step must be 100, not '50'" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green] } }\n"
		"    rollout: { steps: [0.001, 100] }\n",
	  "t.yaml:14:24: rollout step must be a percentage above 0 and at most 100 (two decimals at most), not '0.001'" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green] } }\n"
		"    rollout: { steps: [0, 100] }\n",
	  "t.yaml:14:24: rollout step must be a percentage above 0 and at most 100 (two decimals at most), not '0'" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue] } }\n"
		"    rollout: { steps: [50, 100] }\n",
	  "t.yaml:14:14: service 'web': rollout in stage 'production' needs two backends there (the old and the new version side by side)" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green] } }\n"
		"    rollout: { steps: [50, 100], stage: staging }\n",
	  "t.yaml:14:14: service 'web': rollout in stage 'staging' needs two backends there (the old and the new version side by side)" },
	{ PORTS RSTAGES SVC "    stages: { production: { backends: [blue, green] } }\n"
		"    rollout: { stage: production }\n"
		"workflow: { pipeline: [ { stage: dev, on: code_commit } ] }\n",
	  "t.yaml:14:23: service 'web': rollout stage 'production' is not in workflow.pipeline" },
	{ PORTS RSTAGES SVC "    rollout: { hold_s: 86401 }\n",
	  "t.yaml:13:24: hold_s must be a whole number from 0 to 86400, not '86401'" },
	{ PORTS STAGES SVC,
	  "t.yaml:8:3: services need workflow.pipeline (the default pipeline uses stages dev, test, staging, production; there is no stage 'test')" },
	/* workflow */
	{ PORTS RSTAGES "workflow:\n  pipeline:\n    - { stage: dev, on: auto }\n",
	  "t.yaml:11:25: the first pipeline step must be on: code_commit, not 'auto'" },
	{ PORTS RSTAGES "workflow:\n  pipeline:\n    - { stage: dev, on: code_commit }\n"
		"    - { stage: test, on: code_commit }\n",
	  "t.yaml:12:26: only the first pipeline step may be on: code_commit" },
	{ PORTS RSTAGES "workflow:\n  pipeline:\n    - { stage: dev, on: code_commit }\n"
		"    - { stage: dev, on: auto }\n",
	  "t.yaml:12:16: stage 'dev' is twice in workflow.pipeline" },
	{ PORTS RSTAGES "workflow:\n  pipeline:\n    - { stage: dev, on: push }\n",
	  "t.yaml:11:25: on must be code_commit, auto, test_completion or manual_approval, not 'push'" },
	{ PORTS RSTAGES "workflow:\n  pipeline: []\n",
	  "t.yaml:10:13: workflow.pipeline must list 1 to 8 steps" },
	{ PORTS RSTAGES "workflow:\n  pipeline: [ { stage: dev, on: code_commit } ]\n"
		"  hooks:\n    - { name: h, stage: test, run: [/bin/true] }\n",
	  "t.yaml:12:25: hook 'h': stage 'test' is not in workflow.pipeline" },
	{ PORTS RSTAGES "workflow:\n  hooks:\n    - { name: h, stage: test, run: [/bin/true] }\n",
	  "t.yaml:11:25: hook 'h': stage 'test' is not in workflow.pipeline" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, run: [] }\n",
	  "t.yaml:15:36: run must list 1 to 16 arguments (the command first)" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, run: [\"" X256 "\"] }\n",
	  "t.yaml:15:37: run argument must be 1 to 255 characters" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, run: [x], undo: /bin/true }\n",
	  "t.yaml:15:47: undo must be a list, not a scalar" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, service: api, run: [x] }\n",
	  "t.yaml:15:40: unknown service 'api' (services are: web)" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, when: during, run: [x] }\n",
	  "t.yaml:15:37: when must be before or after, not 'during'" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, run: [x] }\n"
		"    - { name: h, stage: dev, run: [y] }\n",
	  "t.yaml:16:7: duplicate hook name 'h'" },
	{ PORTS RSTAGES SVC "workflow:\n  hooks:\n    - { name: h, stage: test, run: [x], timeout_s: 0 }\n",
	  "t.yaml:15:52: timeout_s must be a whole number from 1 to 3600, not '0'" },
	{ PORTS RSTAGES "workflow: { history: 5 }\n",
	  "t.yaml:9:22: history must be a whole number from 10 to 1000000, not '5'" },
	/* splits, steering */
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, to_stage: staging }\n",
	  "t.yaml:14:5: split 's' needs src or hash" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, src: 10.0.0.0/8, hash: [0, 1], to_stage: staging }\n",
	  "t.yaml:14:5: split 's' needs src or hash, not both" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, src: 10.0.0.0/8, to_backend: green }\n",
	  "t.yaml:14:64: split 's': to_backend needs service" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, service: web, src: 10.0.0.0/8, to_backend: red }\n",
	  "t.yaml:14:78: unknown backend 'red' of service 'web' (backends are: blue, green)" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, src: 10.0.0.0/8, to_stage: production }\n",
	  "t.yaml:14:62: split 's' sends stage 'production' to itself" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, hash: [9, 3], to_stage: staging }\n",
	  "t.yaml:14:41: hash range [9, 3] ends before it starts" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, hash: [9], to_stage: staging }\n",
	  "t.yaml:14:41: hash must be a list of two numbers [lo, hi] out of 0..65535" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, hash: [0, 65536], to_stage: staging }\n",
	  "t.yaml:14:45: hash must be a whole number from 0 to 65535, not '65536'" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, hash: [0, 1] }\n",
	  "t.yaml:14:5: split 's' needs to_stage or to_backend" },
	{ PORTS RSTAGES SVC "splits:\n  - { name: s, stage: production, hash: [0, 1], to_stage: dev }\n"
		"  - { name: s, stage: dev, hash: [0, 1], to_stage: test }\n",
	  "t.yaml:15:5: duplicate split name 's'" },
	{ PORTS RSTAGES "steering: { seed: 4294967296 }\n",
	  "t.yaml:9:19: seed must be a whole number from 0 to 4294967295, not '4294967296'" },
	{ PORTS RSTAGES "steering: { salt: 1 }\n", "t.yaml:9:13: unknown key 'salt' in steering" },
	/* fault_policy, faults, chaos (FSVC: lines 1-12) */
	{ PORTS "stages:\n  - { name: p, egress: { port: a }, production: maybe }\n",
	  "t.yaml:5:49: production must be true or false, not 'maybe'" },
	{ FSVC "faults:\n  - { kind: slow, stage: dev }\n",
	  "t.yaml:14:13: kind must be partition, blackhole, syn_drop, icmp_unreachable, dns_servfail, reset, loss, bandwidth, corrupt, duplicate, reorder or delay, not 'slow'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, jitter: 5ms }\n",
	  "t.yaml:14:31: jitter does not apply to kind loss (only to delay)" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, p: 0.1 }\n",
	  "t.yaml:14:31: p applies only to model gilbert_elliott" },
	{ FSVC "faults:\n  - { stage: dev }\n", "t.yaml:14:5: missing required key 'kind' in fault" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, colour: red }\n",
	  "t.yaml:14:31: unknown key 'colour' in fault" },
	{ FSVC "faults: { kind: loss }\n", "t.yaml:13:9: faults must be a list, not a mapping" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev }\n",
	  "t.yaml:14:5: fault 'delay-1': kind delay needs delay (such as delay: 200ms)" },
	{ FSVC "faults:\n  - { kind: bandwidth, stage: dev }\n",
	  "t.yaml:14:5: fault 'bandwidth-1': kind bandwidth needs rate (such as rate: 10mbit)" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, model: gilbert_elliott, p: 0.1 }\n",
	  "t.yaml:14:38: fault 'loss-1': model gilbert_elliott needs p and r (the chances per packet to enter and to leave the bad state)" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev, delay: 200 }\n",
	  "t.yaml:14:39: delay '200' needs a unit (ns, us, ms, s, m, h)" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev, delay: 200sec }\n",
	  "t.yaml:14:39: delay must be a duration such as 200ms or 1.5s (a number and ns, us, ms, s, m or h), not '200sec'" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev, delay: -1ms }\n",
	  "t.yaml:14:39: delay must be a duration such as 200ms or 1.5s (a number and ns, us, ms, s, m or h), not '-1ms'" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev, delay: 99999999999h }\n",
	  "t.yaml:14:39: delay '99999999999h' is too long" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev, delay: 10ms, jitter: 20ms }\n",
	  "t.yaml:14:53: jitter '20ms' is more than delay '10ms': with distribution uniform, jitter must not exceed delay" },
	{ FSVC "faults:\n  - { kind: delay, stage: dev, delay: 10ms, distribution: pareto }\n",
	  "t.yaml:14:59: distribution pareto needs jitter above 0 (its spread)" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, probability: 1.5 }\n",
	  "t.yaml:14:44: probability must be from 0 to 1, or a percentage such as 5%, not '1.5'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, probability: 150% }\n",
	  "t.yaml:14:44: probability must be from 0 to 1, or a percentage such as 5%, not '150%'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, probability: high }\n",
	  "t.yaml:14:44: probability must be from 0 to 1, or a percentage such as 5%, not 'high'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, model: gilbert_elliott, p: 0.1, r: 2 }\n",
	  "t.yaml:14:66: r must be from 0 to 1, or a percentage such as 5%, not '2'" },
	{ FSVC "faults:\n  - { kind: bandwidth, stage: dev, rate: 10mb }\n",
	  "t.yaml:14:42: rate must be a bit rate such as 10mbit or 1.5gbit (a number and bit, kbit, mbit or gbit), not '10mb'" },
	{ FSVC "faults:\n  - { kind: bandwidth, stage: dev, rate: 100 }\n",
	  "t.yaml:14:42: rate '100' needs a unit (bit, kbit, mbit, gbit)" },
	{ FSVC "faults:\n  - { kind: bandwidth, stage: dev, rate: 7bit }\n",
	  "t.yaml:14:42: rate must be at least 8bit (1 byte per second), not '7bit'" },
	{ FSVC "faults:\n  - { kind: bandwidth, stage: dev, rate: 1mbit, burst: 0 }\n",
	  "t.yaml:14:56: burst must be from 1 to 1073741824 bytes, not '0'" },
	{ FSVC "faults:\n  - { kind: bandwidth, stage: dev, rate: 1mbit, burst: 2GB }\n",
	  "t.yaml:14:56: burst must be a size in bytes such as 3000, 64KB or 1MB, not '2GB'" },
	{ FSVC "faults:\n  - { kind: duplicate, stage: dev, copies: 9 }\n",
	  "t.yaml:14:44: copies must be a whole number from 1 to 8, not '9'" },
	{ FSVC "faults:\n  - { kind: corrupt, stage: dev, bits: 0 }\n",
	  "t.yaml:14:40: bits must be a whole number from 1 to 64, not '0'" },
	{ FSVC "faults:\n  - { kind: corrupt, stage: dev, checksum: right }\n",
	  "t.yaml:14:44: checksum must be wrong or fixed, not 'right'" },
	{ FSVC "faults:\n  - { kind: reorder, stage: dev, hold: 0ms }\n",
	  "t.yaml:14:40: hold must be above 0" },
	{ FSVC "faults:\n  - { kind: icmp_unreachable, stage: dev, code: 16 }\n",
	  "t.yaml:14:49: code must be a whole number from 0 to 15, not '16'" },
	{ FSVC "faults:\n  - { kind: icmp_unreachable, stage: dev, code: proto }\n",
	  "t.yaml:14:49: code must be net, host, port, admin or a number 0-15, not 'proto'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, direction: up }\n",
	  "t.yaml:14:42: direction must be both, to_server or to_client, not 'up'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, select: byte }\n",
	  "t.yaml:14:39: select must be packet or flow, not 'byte'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, seed: -1 }\n",
	  "t.yaml:14:37: seed must be a whole number from 0 to 4294967295, not '-1'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, dport: 80-90 }\n",
	  "t.yaml:14:38: dport needs proto tcp or udp" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, src: 10.0.0.0/8, dst: \"::1\" }\n",
	  "t.yaml:14:5: src and dst of one rule must both be IPv4 or both IPv6" },
	{ FSVC "faults:\n  - { kind: reset, stage: dev, proto: udp }\n",
	  "t.yaml:14:39: kind reset acts on TCP only: give proto tcp or none, not 'udp'" },
	{ FSVC "faults:\n  - { kind: dns_servfail, stage: dev, proto: tcp }\n",
	  "t.yaml:14:46: kind dns_servfail acts on UDP only: give proto udp or none, not 'tcp'" },
	{ FSVC "faults:\n  - { kind: partition, stage: dev }\n",
	  "t.yaml:14:5: fault 'partition-1': partition needs both stage and from_stage (the two sides it cuts apart)" },
	{ FSVC "faults:\n  - { kind: partition, stage: dev, from_stage: dev }\n",
	  "t.yaml:14:48: fault 'partition-1': partition cuts stage 'dev' from itself; stage and from_stage must differ" },
	{ FSVC "faults:\n  - { kind: loss, stage: qa }\n",
	  "t.yaml:14:26: unknown stage 'qa' (stages are: production, staging, test, dev)" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, service: db }\n",
	  "t.yaml:14:40: unknown service 'db' (services are: web)" },
	{ FSVC "faults:\n  - { name: slow-db, kind: delay, delay: 1ms }\n",
	  "t.yaml:14:5: fault 'slow-db' would act on production traffic (no stage given); set fault_policy.allow_production: true to allow it" },
	{ FSVC "faults:\n  - { kind: reset, shadow: web-v2 }\n",
	  "t.yaml:14:28: a reset fault cannot act on a shadow network; use blackhole, loss, bandwidth, corrupt, duplicate, reorder or delay" },
	{ FSVC "faults:\n  - { kind: loss, shadow: web-v2, stage: staging }\n",
	  "t.yaml:14:27: a fault on a shadow network takes its traffic from the profile: drop stage, from_stage and service" },
	{ FSVC "faults:\n  - { kind: delay, stage: production, delay: 1ms }\n",
	  "t.yaml:14:5: fault 'delay-1' would act on production traffic (stage production); set fault_policy.allow_production: true to allow it" },
	{ FSVC "faults:\n  - { kind: delay, from_stage: production, delay: 1ms }\n",
	  "t.yaml:14:5: fault 'delay-1' would act on production traffic (from_stage production); set fault_policy.allow_production: true to allow it" },
	{ FSVC "chaos:\n  - { name: c, faults: [ { kind: loss, service: web } ] }\n",
	  "t.yaml:14:26: fault 'loss-1' would act on production traffic (no stage given); set fault_policy.allow_production: true to allow it" },
	{ FSVC "faults:\n  - { name: x, kind: loss, stage: dev }\n  - { name: x, kind: loss, stage: test }\n",
	  "t.yaml:15:5: duplicate fault name 'x'" },
	{ FSVC "faults:\n  - { kind: loss, stage: dev, duration: 5m }\n",
	  "t.yaml:14:31: fault 'loss-1': rules in faults: are permanent and have no duration; for a fault that ends, use `fault add` or a chaos scenario" },
	{ FSVC "chaos:\n  - { name: c, faults: [ { kind: loss, stage: dev, duration: 5m } ] }\n",
	  "t.yaml:14:52: fault 'loss-1': rules of a chaos scenario have no duration of their own; give the scenario a duration" },
	{ FSVC "chaos:\n  - { name: c }\n", "t.yaml:14:5: missing required key 'faults' in chaos scenario" },
	{ FSVC "chaos:\n  - { name: c, faults: [] }\n",
	  "t.yaml:14:24: chaos scenario 'c' needs at least one fault in faults" },
	{ FSVC "chaos:\n  - { name: c, faults: [ { kind: loss, stage: dev }, { kind: loss, stage: dev, name: loss-1 } ] }\n",
	  "t.yaml:14:54: duplicate fault name 'loss-1' in chaos scenario 'c'" },
	{ FSVC "chaos:\n  - { name: c, faults: [ { kind: loss, stage: dev } ] }\n"
		"  - { name: c, faults: [ { kind: loss, stage: dev } ] }\n",
	  "t.yaml:15:5: duplicate chaos scenario name 'c'" },
	{ FSVC "chaos:\n  - { name: c, description: \"\", faults: [ { kind: loss, stage: dev } ] }\n",
	  "t.yaml:14:29: description must be 1 to 127 characters" },
	{ FSVC "chaos:\n  - { name: c, duration: 2d, faults: [ { kind: loss, stage: dev } ] }\n",
	  "t.yaml:14:26: duration must be a duration such as 200ms or 1.5s (a number and ns, us, ms, s, m or h), not '2d'" },
	{ FSVC "fault_policy: { max_lease: 1h }\nchaos:\n  - { name: c, duration: 2h, faults: [ { kind: loss, stage: dev } ] }\n",
	  "t.yaml:15:26: duration '2h' is longer than fault_policy.max_lease (1h)" },
	{ FSVC "fault_policy: { default_lease: 2h, max_lease: 1h }\n",
	  "t.yaml:13:32: default_lease (2h) must not be longer than max_lease (1h)" },
	{ FSVC "fault_policy: { max_lease: 1m }\n",
	  "t.yaml:13:28: default_lease (5m) must not be longer than max_lease (1m)" },
	{ FSVC "fault_policy: { default_lease: 0s }\n", "t.yaml:13:32: default_lease must be above 0" },
	{ FSVC "fault_policy: { max_inflight: 0 }\n",
	  "t.yaml:13:31: max_inflight must be a whole number from 1 to 4194304, not '0'" },
	{ FSVC "fault_policy: { allow: true }\n", "t.yaml:13:17: unknown key 'allow' in fault_policy" },
	{ SH1 "{ name: x, stage: production, port: sh, fractin: 1 }\n",
	  "t.yaml:16:45: unknown key 'fractin' in shadow profile" },
	{ SH1 "{ stage: production, port: sh }\n",
	  "t.yaml:16:5: missing required key 'name' in shadow profile" },
	{ SH1 "{ name: x, port: sh }\n",
	  "t.yaml:16:5: missing required key 'stage' in shadow profile" },
	{ SH1 "{ name: x, stage: production }\n",
	  "t.yaml:16:5: missing required key 'port' in shadow profile" },
	{ SH1 "{ name: x, stage: qa, port: sh }\n",
	  "t.yaml:16:23: unknown stage 'qa' (stages are: production, staging, test, dev)" },
	{ SH1 "{ name: x, stage: production, service: db, port: sh }\n",
	  "t.yaml:16:44: unknown service 'db' (services are: web)" },
	{ SH1 "{ name: x, stage: production, port: shh }\n",
	  "t.yaml:16:41: unknown port 'shh' (ports are: a, b, sh, ctl)" },
	{ SH1 "{ name: x, stage: production, port: b }\n",
	  "t.yaml:16:41: port 'b' is not a shadow port: give it role: shadow" },
	{ SH1 "{ name: x, stage: production, port: sh, control: { port: a } }\n",
	  "t.yaml:16:62: port 'a' is not a shadow port: give it role: shadow" },
	{ SH1 "{ name: x, stage: production, port: sh, control: { vlan: 2 } }\n",
	  "t.yaml:16:54: missing required key 'port' in control" },
	{ SH1 "{ name: x, stage: production, port: sh, vlan: 7, control: { port: sh, vlan: 7 } }\n",
	  "t.yaml:16:63: shadow 'x': control is on the shadow's own port 'sh' and vlan 7; give control another port or vlan (the two replicas' answers must not mix)" },
	{ SH1 "{ name: x, stage: production, port: sh, control: { port: sh, vlan: 0 } }\n",
	  "t.yaml:16:54: shadow 'x': control is on the shadow's own port 'sh' and vlan 0; give control another port or vlan (the two replicas' answers must not mix)" },
	{ SH1 "{ name: x, stage: production, port: sh }\n  - { name: x, stage: dev, port: ctl }\n",
	  "t.yaml:17:5: duplicate shadow name 'x'" },
	{ SH1 "{ name: x, stage: production, port: sh, compare: dns, proto: tcp }\n",
	  "t.yaml:16:66: compare dns reads DNS over UDP: give proto udp or none, not 'tcp'" },
	{ SH1 "{ name: x, stage: production, port: sh, compare: http, proto: udp }\n",
	  "t.yaml:16:67: compare http reads HTTP/1.x over TCP: give proto tcp or none, not 'udp'" },
	{ SH1 "{ name: x, stage: production, port: sh, compare: diff }\n",
	  "t.yaml:16:54: compare must be auto, http, dns or bytes, not 'diff'" },
	{ SH1 "{ name: x, stage: production, port: sh, fraction: 150% }\n",
	  "t.yaml:16:55: fraction must be from 0 to 1, or a percentage such as 5%, not '150%'" },
	{ SH1 "{ name: x, stage: production, port: sh, fraction: -0.5 }\n",
	  "t.yaml:16:55: fraction must be from 0 to 1, or a percentage such as 5%, not '-0.5'" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: [date, \"\"] }\n",
	  "t.yaml:16:68: header name must be 1 to 47 characters" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: [" X16 X16 X16 "] }\n",
	  "t.yaml:16:62: header name must be 1 to 47 characters" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: [\"date:\"] }\n",
	  "t.yaml:16:62: header name 'date:' may only hold letters, digits and !#$%&'*+-.^_`|~ (no ':' or spaces)" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: [\"x date\"] }\n",
	  "t.yaml:16:62: header name 'x date' may only hold letters, digits and !#$%&'*+-.^_`|~ (no ':' or spaces)" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: [Date, date] }\n",
	  "t.yaml:16:68: duplicate header 'date' in ignore_headers" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q] }\n",
	  "t.yaml:16:61: too many ignore_headers (at most 16)" },
	{ SH1 "{ name: x, stage: production, port: sh, ignore_headers: date }\n",
	  "t.yaml:16:61: ignore_headers must be a list, not a scalar" },
	{ SH1 "{ name: x, stage: production, port: sh, response_timeout: 0s }\n",
	  "t.yaml:16:63: response_timeout must be above 0" },
	{ SH1 "{ name: x, stage: production, port: sh, ttl: 60 }\n",
	  "t.yaml:16:50: ttl '60' needs a unit (ns, us, ms, s, m, h)" },
	{ SH1 "{ name: x, stage: production, port: sh, max_sessions: 1048577 }\n",
	  "t.yaml:16:59: max_sessions must be a whole number from 1 to 1048576, not '1048577'" },
	{ SH1 "{ name: x, stage: production, port: sh, shed: sometimes }\n",
	  "t.yaml:16:51: shed must be true or false, not 'sometimes'" },
	{ SH1 "{ name: x, stage: production, port: sh, early_segments: 0 }\n",
	  "t.yaml:16:61: early_segments must be a whole number from 1 to 64, not '0'" },
	{ SH1 "{ name: x, stage: production, port: sh, burst: 0 }\n",
	  "t.yaml:16:52: burst must be a whole number from 1 to 65536, not '0'" },
	{ SH1 "{ name: x, stage: production, port: sh, max_pps: -1 }\n",
	  "t.yaml:16:54: max_pps must be a whole number from 0 to 4294967295, not '-1'" },
	{ SH1 "{ name: x, stage: production, port: sh, seed: 4294967296 }\n",
	  "t.yaml:16:51: seed must be a whole number from 0 to 4294967295, not '4294967296'" },
	{ SH1 "{ name: x, stage: production, port: sh, dport: 80 }\n",
	  "t.yaml:16:52: dport needs proto tcp or udp" },
	{ SH1 "{ name: x, stage: production, port: sh, src: 10.0.0.0/8, dst: \"::1\" }\n",
	  "t.yaml:16:5: src and dst of one shadow profile must both be IPv4 or both IPv6" },
	{ SSVC "shadows: { name: x }\n", "t.yaml:15:10: shadows must be a list, not a mapping" },
	{ SPORTS "stages:\n  - { name: production, egress: { port: sh } }\n",
	  "t.yaml:7:41: port 'sh' is a shadow port (role: shadow): only shadows may use it, not a stage's egress; use another port" },
	{ SPORTS "stages:\n  - { name: production, egress: { port: b }, match: [ { port: sh } ] }\n",
	  "t.yaml:7:63: port 'sh' is a shadow port (role: shadow): only shadows may use it, not a match rule's port; use another port" },
	{ SH1 "{ name: x, stage: production, port: sh, version: v2 }\n",
	  "t.yaml:16:54: a shadow profile's version names a release: give its service too" },
	{ FSVC "    verdict: { alpha: 0 }\n", 
	  "t.yaml:13:23: alpha must be above 0 and below 100%, not '0'" },
	{ FSVC "    verdict: { alpha: 150% }\n", 
	  "t.yaml:13:23: alpha must be from 0 to 1, or a percentage such as 5%, not '150%'" },
	{ FSVC "    verdict: { bake: 2d }\n", 
	  "t.yaml:13:22: bake must be a duration such as 200ms or 1.5s (a number and ns, us, ms, s, m or h), not '2d'" },
	{ FSVC "    verdict: { sample: 0% }\n", 
	  "t.yaml:13:24: sample must be above 0: a verdict needs traffic" },
	{ FSVC "    verdict: { metrics: { http_500: { min_ratio: 2 } } }\n", 
	  "t.yaml:13:27: unknown verdict metric 'http_500' (known: http_5xx, connect_failed, reset, no_answer, dns_failure, slow_answer, retransmission, new_destination, policy_deny)" },
	{ FSVC "    verdict: { metrics: { http_5xx: { min_ratio: 1 } } }\n", 
	  "t.yaml:13:50: min_ratio must be a number from 1.01 to 1000, not '1'" },
	{ FSVC "    verdict: { metrics: { slow_answer: { min_bad: 0 } } }\n", 
	  "t.yaml:13:51: min_bad must be a whole number from 1 to 100000, not '0'" },
	{ FSVC "    verdict: { colour: red }\n", 
	  "t.yaml:13:16: unknown key 'colour' in verdict" },
	{ FSVC "notify: { urls: [ \"https://10.0.0.1/hook\" ] }\n", 
	  "t.yaml:13:19: notify url must start with http:// (no TLS here; put a local relay in front of https receivers), not 'https://10.0.0.1/hook'" },
	{ FSVC "notify: { queue: 10 }\n", 
	  "t.yaml:13:9: missing required key 'urls' in notify" },
	{ SPORTS RSTAGES "services:\n  - { name: web, match: { dport: 80, proto: tcp }, "
	  "backends: [ { name: blue, port: ctl } ] }\n",
	  "t.yaml:12:84: port 'ctl' is a shadow port (role: shadow): only shadows may use it, not a backend; use another port" },
};

/* verdict: and notify: values, and lib/verdict's defaults where not given. */
static void
test_verdict_section(void **state)
{
	static const char yaml[] = FSVC
		"    verdict: { bake: 3s, alpha: 0.5%, sample: 25%, seed: 9,\n"
		"               metrics: { http_5xx: { min_abs: 2%, weight: 4 },\n"
		"                          retransmission: { enabled: false } } }\n"
		"notify: { urls: [ \"http://127.0.0.1:9/h\" ], attempts: 2, timeout: 1500ms }\n";
	struct verdict_conf def;
	char err[512] = "";
	struct umbra_conf *c = load(yaml, err, sizeof(err));
	const struct conf_verdict *v;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	v = &c->services[0].verdict;
	verdict_conf_default(&def);
	assert_true(v->enabled);
	assert_int_equal(v->vc.bake_ms, 3000);
	assert_float_equal(v->vc.alpha, 0.005, 1e-12);
	assert_int_equal(v->sample_bp, 2500);
	assert_int_equal(v->sample_seed, 9);
	assert_float_equal(v->vc.m[VERDICT_M_HTTP_5XX].min_abs, 0.02, 1e-12);
	assert_float_equal(v->vc.m[VERDICT_M_HTTP_5XX].alpha_weight, 4, 1e-12);
	assert_float_equal(v->vc.m[VERDICT_M_HTTP_5XX].min_ratio,
			   def.m[VERDICT_M_HTTP_5XX].min_ratio, 1e-12);
	assert_false(v->vc.m[VERDICT_M_RETRANS].enabled);
	assert_true(v->vc.m[VERDICT_M_RESET].enabled);
	assert_float_equal(v->vc.power, def.power, 1e-12);
	assert_int_equal(c->notify.n_urls, 1);
	assert_string_equal(c->notify.urls[0], "http://127.0.0.1:9/h");
	assert_int_equal(c->notify.attempts, 2);
	assert_int_equal(c->notify.timeout_ms, 1500);
	assert_int_equal(c->notify.queue, 256);
	conf_free(c);
}

static void
test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct umbra_conf *c = load(bad[i].yaml, err, sizeof(err));

		if (c != NULL)
			fail_msg("case %zu loaded but must fail with: %s", i, bad[i].error);
		if (strcmp(err, bad[i].error) != 0)
			fail_msg("case %zu:\n  got  %s\n  want %s", i, err, bad[i].error);
	}
}

/* Fault sections: every kind, the defaults, and fault_policy given after
 * the rules it allows (it is loaded first whatever the key order). */
static const char fault_yaml[] =
	"ports:\n"
	"  - { name: a, vdev: net_null0 }\n"
	"  - { name: b, vdev: net_null1 }\n"
	"stages:\n"
	"  - { name: production, default: true, egress: { port: a } }\n"
	"  - { name: staging, egress: { port: b } }\n"
	"  - { name: dev, egress: { port: b, vlan: 3 } }\n"
	"  - { name: live, egress: { port: b, vlan: 4 }, production: true }\n"
	"  - { name: qa, egress: { port: b, vlan: 5 }, production: false }\n"
	"services:\n"
	"  - { name: db, match: { dst: 10.1.0.5/32, proto: tcp, dport: 5432 } }\n"
	"workflow: { pipeline: [ { stage: dev, on: code_commit } ] }\n"
	"faults:\n"
	"  - { name: cut, kind: partition, stage: staging, from_stage: dev, new_flows_only: true }\n"
	"  - { kind: blackhole, stage: dev, dst: 10.1.0.5/32 }\n"
	"  - { kind: syn_drop, stage: qa, dport: 443 }\n"
	"  - { kind: icmp_unreachable, stage: dev, code: port }\n"
	"  - { kind: dns_servfail, stage: dev, probability: 50% }\n"
	"  - { kind: reset, from_stage: qa, direction: to_client, select: flow, seed: 7 }\n"
	"  - { kind: loss, stage: staging, model: gilbert_elliott, p: 0.01, r: 0.3 }\n"
	"  - { kind: bandwidth, stage: staging, rate: 1.5gbit }\n"
	"  - { kind: corrupt, stage: dev, bits: 3, checksum: fixed, proto: udp, sport: 1024-65535 }\n"
	"  - { kind: duplicate, stage: dev }\n"
	"  - { kind: reorder, stage: dev, hold: 1.5ms }\n"
	"  - name: slow-db\n"
	"    kind: delay\n"
	"    stage: staging\n"
	"    service: db\n"
	"    src: 10.0.0.0/8\n"
	"    delay: 200ms\n"
	"    jitter: 50ms\n"
	"    distribution: normal\n"
	"    keep_order: true\n"
	"  - { kind: loss, stage: production, probability: 0.25 }\n"
	"chaos:\n"
	"  - name: database-overload\n"
	"    description: \"DB at its limit\"\n"
	"    duration: 5m\n"
	"    faults:\n"
	"      - { kind: delay, service: db, stage: staging, delay: 1.5s }\n"
	"      - { kind: loss, service: db, stage: staging, probability: 5% }\n"
	"  - name: live-slow\n"
	"    faults: [ { kind: bandwidth, stage: live, rate: 10mbit, burst: 64KB } ]\n"
	"fault_policy:\n"
	"  allow_production: true\n"
	"  default_lease: 10m\n"
	"  max_lease: 1h\n"
	"  max_inflight: 1024\n";

static void
test_fault_sections(void **state)
{
	char err[512] = "";
	struct umbra_conf *c = load(fault_yaml, err, sizeof(err));
	const struct conf_fault *f;
	const struct conf_scenario *s;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	/* production: by name unless given */
	assert_true(c->stages[0].production);
	assert_false(c->stages[1].production);
	assert_false(c->stages[2].production);
	assert_true(c->stages[3].production);
	assert_false(c->stages[4].production);

	assert_true(c->fault_policy.allow_production);
	assert_true(c->fault_policy.default_lease_ns == 600000000000ull);
	assert_true(c->fault_policy.max_lease_ns == 3600000000000ull);
	assert_int_equal(c->fault_policy.max_inflight, 1024);

	assert_int_equal(c->n_faults, 13);
	f = &c->faults[0];
	assert_string_equal(f->name, "cut");
	assert_int_equal(f->kind, CONF_FAULT_PARTITION);
	assert_int_equal(f->stage, 1);
	assert_int_equal(f->from_stage, 2);
	assert_int_equal(f->service, -1);
	assert_true(f->both_ways);
	assert_true(f->new_flows_only);
	assert_int_equal(f->pos.line, 14);
	assert_int_equal(f->pos.col, 5);
	assert_int_equal(f->duration_ns, 0);
	assert_false(conf_fault_touches_production(c, f));
	f = &c->faults[1];
	assert_string_equal(f->name, "blackhole-2"); /* <kind>-<n> */
	assert_int_equal(f->kind, CONF_FAULT_BLACKHOLE);
	assert_int_equal(f->from_stage, -1);
	assert_int_equal(f->direction, CONF_FAULT_BOTH);
	assert_int_equal(f->proto, CONF_ANY);
	assert_int_equal(f->src.family, 0);
	assert_int_equal(f->dst.family, 4);
	assert_int_equal(f->dst.len, 32);
	assert_memory_equal(f->dst.addr, "\x0a\x01\0\x05", 4);
	assert_int_equal(f->sport.lo, 0);
	assert_int_equal(f->sport.hi, 65535);
	assert_int_equal(f->dport.lo, 0);
	assert_int_equal(f->dport.hi, 65535);
	assert_int_equal(f->select, CONF_SELECT_PACKET);
	assert_float_equal(f->probability, 1.0, 1e-9);
	assert_int_equal(f->seed, 0);
	f = &c->faults[2];
	assert_string_equal(f->name, "syn_drop-3");
	assert_int_equal(f->stage, 4);
	assert_int_equal(f->proto, 6); /* implied */
	assert_int_equal(f->dport.lo, 443);
	assert_int_equal(f->dport.hi, 443);
	f = &c->faults[3];
	assert_int_equal(f->kind, CONF_FAULT_ICMP_UNREACHABLE);
	assert_int_equal(f->icmp_code, 3);
	f = &c->faults[4];
	assert_int_equal(f->kind, CONF_FAULT_DNS_SERVFAIL);
	assert_int_equal(f->proto, 17); /* implied, with port 53 */
	assert_int_equal(f->dport.lo, 53);
	assert_int_equal(f->dport.hi, 53);
	assert_float_equal(f->probability, 0.5, 1e-9);
	f = &c->faults[5];
	assert_string_equal(f->name, "reset-6");
	assert_int_equal(f->stage, -1);
	assert_int_equal(f->from_stage, 4);
	assert_int_equal(f->direction, CONF_FAULT_TO_CLIENT);
	assert_int_equal(f->select, CONF_SELECT_FLOW);
	assert_int_equal(f->seed, 7);
	assert_int_equal(f->proto, 6);
	assert_false(conf_fault_touches_production(c, f)); /* names a stage, qa */
	f = &c->faults[6];
	assert_int_equal(f->loss_model, CONF_LOSS_GILBERT_ELLIOTT);
	assert_float_equal(f->ge_p, 0.01, 1e-9);
	assert_float_equal(f->ge_r, 0.3, 1e-9);
	assert_float_equal(f->ge_loss_good, 0.0, 1e-9);
	assert_float_equal(f->ge_loss_bad, 1.0, 1e-9);
	f = &c->faults[7];
	assert_int_equal(f->kind, CONF_FAULT_BANDWIDTH);
	assert_true(f->rate_Bps == 187500000ull); /* 1.5gbit */
	assert_int_equal(f->burst_bytes, 1875000); /* rate / 100 */
	f = &c->faults[8];
	assert_int_equal(f->bits, 3);
	assert_true(f->fix_checksum);
	assert_int_equal(f->proto, 17);
	assert_int_equal(f->sport.lo, 1024);
	assert_int_equal(f->sport.hi, 65535);
	f = &c->faults[9];
	assert_int_equal(f->kind, CONF_FAULT_DUPLICATE);
	assert_int_equal(f->copies, 1);
	f = &c->faults[10];
	assert_true(f->hold_ns == 1500000ull);
	f = &c->faults[11];
	assert_string_equal(f->name, "slow-db");
	assert_int_equal(f->kind, CONF_FAULT_DELAY);
	assert_int_equal(f->pos.line, 25);
	assert_int_equal(f->service, 0);
	assert_int_equal(f->src.family, 4);
	assert_int_equal(f->src.len, 8);
	assert_true(f->delay_ns == 200000000ull);
	assert_true(f->jitter_ns == 50000000ull);
	assert_int_equal(f->distribution, CONF_DIST_NORMAL);
	assert_true(f->keep_order);
	assert_int_equal(f->rate_Bps, 0); /* other kinds' parameters stay zero */
	assert_int_equal(f->copies, 0);
	f = &c->faults[12];
	assert_string_equal(f->name, "loss-13");
	assert_int_equal(f->loss_model, CONF_LOSS_RANDOM);
	assert_float_equal(f->ge_loss_bad, 0.0, 1e-9);
	assert_float_equal(f->probability, 0.25, 1e-9);
	assert_true(conf_fault_touches_production(c, f)); /* allowed by the policy */

	assert_int_equal(c->n_scenarios, 2);
	assert_int_equal(conf_scenario_index(c, "live-slow"), 1);
	assert_int_equal(conf_scenario_index(c, "nope"), -1);
	s = &c->scenarios[0];
	assert_string_equal(s->name, "database-overload");
	assert_string_equal(s->description, "DB at its limit");
	assert_true(s->duration_ns == 300000000000ull);
	assert_int_equal(s->pos.line, 36);
	assert_int_equal(s->n_faults, 2);
	assert_string_equal(s->faults[0].name, "delay-1");
	assert_true(s->faults[0].delay_ns == 1500000000ull);
	assert_int_equal(s->faults[0].jitter_ns, 0);
	assert_int_equal(s->faults[0].distribution, CONF_DIST_UNIFORM);
	assert_false(s->faults[0].keep_order);
	assert_int_equal(s->faults[0].duration_ns, 0);
	assert_string_equal(s->faults[1].name, "loss-2");
	assert_float_equal(s->faults[1].probability, 0.05, 1e-9);
	assert_int_equal(s->faults[1].service, 0);
	s = &c->scenarios[1];
	assert_string_equal(s->description, "");
	assert_true(s->duration_ns == 60000000000ull); /* default */
	assert_int_equal(s->faults[0].rate_Bps, 1250000); /* 10mbit */
	assert_int_equal(s->faults[0].burst_bytes, 65536);
	assert_true(conf_fault_touches_production(c, &s->faults[0])); /* live */

	assert_string_equal(conf_fault_kind_name(CONF_FAULT_PARTITION), "partition");
	assert_string_equal(conf_fault_kind_name(CONF_FAULT_ICMP_UNREACHABLE), "icmp_unreachable");
	assert_string_equal(conf_fault_kind_name(CONF_FAULT_DELAY), "delay");
	assert_string_equal(conf_fault_kind_name(CONF_FAULT_KIND_MAX), "unknown");
	conf_free(c);
}

/* A stage named production is one unless it says otherwise; without a
 * production stage, a rule naming no stage touches no production. */
static void
test_fault_production_stage(void **state)
{
	const char *y = "ports: [ { name: p, vdev: net_null0 } ]\n"
			"stages: [ { name: production, egress: { port: p }, production: false } ]\n"
			"faults: [ { kind: loss } ]\n";
	char err[256] = "";
	struct umbra_conf *c = load(y, err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_false(c->stages[0].production);
	assert_false(c->fault_policy.allow_production);
	assert_int_equal(c->n_faults, 1);
	assert_false(conf_fault_touches_production(c, &c->faults[0]));
	conf_free(c);
}

/* One rule given at run time (`fault add`): JSON with every value quoted,
 * a lease checked against the policy, messages under the given name. */
static void
test_fault_parse(void **state)
{
	const char *y = PORTS RSTAGES "fault_policy: { max_lease: 1h }\n";
	const char *json = "{\"kind\": \"delay\", \"stage\": \"staging\", \"delay\": \"200ms\", "
			   "\"jitter\": \"10ms\", \"keep_order\": \"true\", \"seed\": \"7\", "
			   "\"probability\": \"5%\", \"proto\": \"tcp\", \"dport\": \"5432\", "
			   "\"duration\": \"60s\"}";
	static const struct {
		const char *text;
		const char *error;
	} bad_rules[] = {
		{ "{\"kind\": \"delay\", \"stage\": \"dev\", \"delay\": \"1ms\", \"duration\": \"2h\"}",
		  "cli:1:63: duration '2h' is longer than fault_policy.max_lease (1h)" },
		{ "{\"kind\": \"loss\", \"stage\": \"dev\", \"duration\": \"0s\"}",
		  "cli:1:46: duration must be above 0" },
		{ "{\n  \"kind\": \"loss\",\n  \"stage\": \"qa\"\n}",
		  "cli:3:12: unknown stage 'qa' (stages are: production, staging, test, dev)" },
		{ "{\"kind\": \"loss\", \"stage\": \"dev\", \"jitter\": \"5ms\"}",
		  "cli:1:34: jitter does not apply to kind loss (only to delay)" },
		{ "{\"kind\": \"loss\"}",
		  "cli:1:1: fault 'loss' would act on production traffic (no stage given); "
		  "set fault_policy.allow_production: true to allow it" },
		{ "{\"kind\": \"loss\", \"stage\": \"dev\", \"seed\": \"x\"}",
		  "cli:1:42: seed must be a whole number from 0 to 4294967295, not 'x'" },
		{ "[1, 2]", "cli:1:1: fault must be a mapping, not a list" },
		{ "{\"kind\": ", "cli:1:10: syntax error: did not find expected node content while parsing a flow node" },
		{ "", "cli:1:1: the fault rule is empty" },
	};
	char err[512] = "";
	struct umbra_conf *c = load(y, err, sizeof(err));
	struct conf_fault f;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	if (conf_fault_parse(c, json, strlen(json), "cli", &f, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(f.name, "delay"); /* the caller makes it unique */
	assert_int_equal(f.kind, CONF_FAULT_DELAY);
	assert_int_equal(f.stage, 1);
	assert_true(f.delay_ns == 200000000ull);
	assert_true(f.jitter_ns == 10000000ull);
	assert_true(f.keep_order);
	assert_int_equal(f.seed, 7);
	assert_float_equal(f.probability, 0.05, 1e-9);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.dport.lo, 5432);
	assert_true(f.duration_ns == 60000000000ull);
	assert_int_equal(f.pos.line, 1);

	/* Compact JSON, plain numbers; no duration: 0 (the policy's default lease). */
	json = "{\"kind\":\"bandwidth\",\"name\":\"thin\",\"stage\":\"dev\",\"rate\":\"1mbit\","
	       "\"probability\":1}";
	if (conf_fault_parse(c, json, strlen(json), "cli", &f, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(f.name, "thin");
	assert_int_equal(f.rate_Bps, 125000);
	assert_int_equal(f.burst_bytes, 3000); /* at least 3000 */
	assert_int_equal(f.duration_ns, 0);
	assert_float_equal(f.probability, 1.0, 1e-9);

	/* YAML flow mapping too. */
	json = "{ kind: partition, stage: staging, from_stage: dev, both_ways: false }";
	if (conf_fault_parse(c, json, strlen(json), "cli", &f, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(f.name, "partition");
	assert_false(f.both_ways);
	assert_int_equal(f.from_stage, 3);

	for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		const char *t = bad_rules[i].text;

		if (conf_fault_parse(c, t, strlen(t), "cli", &f, err, sizeof(err)) == 0)
			fail_msg("rule %zu parsed but must fail with: %s", i, bad_rules[i].error);
		if (strcmp(err, bad_rules[i].error) != 0)
			fail_msg("rule %zu:\n  got  %s\n  want %s", i, err, bad_rules[i].error);
	}
	c->fault_policy.allow_production = true;
	json = "{\"kind\": \"loss\"}";
	assert_int_equal(conf_fault_parse(c, json, strlen(json), "cli", &f, err, sizeof(err)), 0);
	assert_true(conf_fault_touches_production(c, &f));
	conf_free(c);
}

/* Shadow profiles: every field (web-v2), the defaults (min), and compare
 * dns implying udp (dns). */
static const char shadow_yaml[] =
	SSVC
	"shadows:\n"
	"  - name: web-v2\n"
	"    stage: production\n"
	"    service: web\n"
	"    proto: tcp\n"
	"    src: 10.9.0.0/16\n"
	"    dst: 10.0.0.10/32\n"
	"    sport: 1024-65535\n"
	"    dport: 80\n"
	"    fraction: 25%\n"
	"    seed: 7\n"
	"    ttl: 1h\n"
	"    max_pps: 100000\n"
	"    burst: 32\n"
	"    port: sh\n"
	"    vlan: 12\n"
	"    next_hop_mac: \"02:00:00:00:5a:01\"\n"
	"    control: { port: ctl, vlan: 13, next_hop_mac: \"02:00:00:00:5a:02\" }\n"
	"    compare: http\n"
	"    ignore_headers: [Date, X-Trace-Id, \"set-cookie\"]\n"
	"    response_timeout: 1500ms\n"
	"    max_sessions: 1048576\n"
	"    early_segments: 64\n"
	"  - { name: min, stage: staging, port: sh }\n"
	"  - { name: dns, stage: dev, port: sh, vlan: 12, control: { port: sh, vlan: 14 }, "
	"compare: dns, fraction: 1, ignore_headers: [], shed: false }\n";

static void
test_shadow_sections(void **state)
{
	static const char *const ignored[] = {
		"date", "server", "set-cookie", "expires", "last-modified", "etag", "age",
		"x-request-id",
	};
	char err[512] = "";
	struct umbra_conf *c = load(shadow_yaml, err, sizeof(err));
	const struct conf_shadow *s;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->ports[2].role, CONF_PORT_SHADOW);
	assert_int_equal(c->ports[3].role, CONF_PORT_SHADOW);
	assert_int_equal(c->n_shadows, 3);
	assert_int_equal(conf_shadow_index(c, "min"), 1);
	assert_int_equal(conf_shadow_index(c, "nope"), -1);

	s = &c->shadows[0];
	assert_string_equal(s->name, "web-v2");
	assert_int_equal(s->pos.line, 16);
	assert_int_equal(s->pos.col, 5);
	assert_int_equal(s->stage, 0);
	assert_int_equal(s->service, 0);
	assert_int_equal(s->proto, 6);
	assert_int_equal(s->src.family, 4);
	assert_int_equal(s->src.len, 16);
	assert_memory_equal(s->src.addr, "\x0a\x09\0\0", 4);
	assert_int_equal(s->dst.len, 32);
	assert_memory_equal(s->dst.addr, "\x0a\0\0\x0a", 4);
	assert_int_equal(s->sport.lo, 1024);
	assert_int_equal(s->sport.hi, 65535);
	assert_int_equal(s->dport.lo, 80);
	assert_int_equal(s->dport.hi, 80);
	assert_float_equal(s->fraction, 0.25, 1e-9);
	assert_int_equal(s->seed, 7);
	assert_true(s->ttl_ns == 3600000000000ull);
	assert_int_equal(s->max_pps, 100000);
	assert_int_equal(s->burst, 32);
	assert_int_equal(s->egress.port, 2);
	assert_int_equal(s->egress.vlan, 12);
	assert_true(s->egress.rewrite_mac);
	assert_memory_equal(s->egress.next_hop_mac, "\x02\0\0\0\x5a\x01", 6);
	assert_true(s->has_control);
	assert_int_equal(s->control.port, 3);
	assert_int_equal(s->control.vlan, 13);
	assert_true(s->control.rewrite_mac);
	assert_memory_equal(s->control.next_hop_mac, "\x02\0\0\0\x5a\x02", 6);
	assert_int_equal(s->compare, CONF_COMPARE_HTTP);
	assert_int_equal(s->n_ignore, 3);
	assert_string_equal(s->ignore_headers[0], "date"); /* lower-cased */
	assert_string_equal(s->ignore_headers[1], "x-trace-id");
	assert_string_equal(s->ignore_headers[2], "set-cookie");
	assert_string_equal(s->ignore_headers[3], "");
	assert_true(s->response_timeout_ns == 1500000000ull);
	assert_int_equal(s->max_sessions, 1048576);
	assert_int_equal(s->early_segments, 64);

	s = &c->shadows[1]; /* the defaults */
	assert_int_equal(s->pos.line, 38);
	assert_int_equal(s->stage, 1);
	assert_int_equal(s->service, -1);
	assert_int_equal(s->proto, CONF_ANY);
	assert_int_equal(s->src.family, 0);
	assert_int_equal(s->dst.family, 0);
	assert_int_equal(s->sport.lo, 0);
	assert_int_equal(s->sport.hi, 65535);
	assert_int_equal(s->dport.lo, 0);
	assert_int_equal(s->dport.hi, 65535);
	assert_float_equal(s->fraction, 0.1, 1e-9);
	assert_int_equal(s->seed, 0);
	assert_int_equal(s->ttl_ns, 0);
	assert_int_equal(s->max_pps, 0);
	assert_int_equal(s->burst, 64);
	assert_int_equal(s->egress.port, 2);
	assert_int_equal(s->egress.vlan, 0);
	assert_false(s->egress.rewrite_mac);
	assert_false(s->has_control);
	assert_int_equal(s->compare, CONF_COMPARE_AUTO);
	assert_true(s->response_timeout_ns == 2000000000ull);
	assert_int_equal(s->max_sessions, 4096);
	assert_int_equal(s->early_segments, 8);
	assert_true(s->shed);   /* shadows yield to production by default */
	assert_int_equal(s->n_ignore, 8);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		assert_string_equal(s->ignore_headers[i], ignored[i]);

	s = &c->shadows[2];
	assert_int_equal(s->compare, CONF_COMPARE_DNS);
	assert_int_equal(s->proto, 17); /* implied */
	assert_false(s->shed);
	assert_int_equal(s->dport.lo, 0); /* any port: not implied */
	assert_float_equal(s->fraction, 1.0, 1e-9);
	assert_int_equal(s->control.port, 2); /* same port, another VLAN */
	assert_int_equal(s->control.vlan, 14);
	assert_int_equal(s->n_ignore, 0); /* [] ignores nothing */
	conf_free(c);
}

/* Without shadows: none, and a compare http profile implies tcp. */
static void
test_shadow_defaults(void **state)
{
	const char *y = "ports: [ { name: p, vdev: net_null0 }, "
			"{ name: s, vdev: net_null1, role: shadow } ]\n"
			"stages: [ { name: only, egress: { port: p } } ]\n";
	char yaml[512], err[256] = "";
	struct umbra_conf *c = load(y, err, sizeof(err));

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_shadows, 0);
	assert_null(c->shadows);
	assert_int_equal(conf_shadow_index(c, "x"), -1);
	conf_free(c);
	snprintf(yaml, sizeof(yaml), "%sshadows: [ { name: h, stage: only, port: s, "
		 "compare: http } ]\n", y);
	c = load(yaml, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->shadows[0].proto, 6);
	conf_free(c);
}

static void
test_too_many_shadows(void **state)
{
	char yaml[8192] = SSVC "shadows:\n", err[256] = "";
	size_t o = strlen(yaml);
	struct umbra_conf *c;

	(void)state;
	for (int i = 0; i < CONF_MAX_SHADOWS; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
				      "  - { name: s%d, stage: dev, port: sh }\n", i);
	c = load(yaml, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->n_shadows, CONF_MAX_SHADOWS);
	conf_free(c);
	snprintf(yaml + o, sizeof(yaml) - o, "  - { name: one-more, stage: dev, port: sh }\n");
	assert_null(load(yaml, err, sizeof(err)));
	assert_string_equal(err, "t.yaml:16:3: too many shadows (at most 16)");
}

/* One profile given at run time (shadow create): JSON with quoted values,
 * names resolved against the configuration, messages under the given name. */
static void
test_shadow_parse(void **state)
{
	const char *json = "{\"name\": \"web-v3\", \"stage\": \"production\", "
			   "\"service\": \"web\", \"proto\": \"tcp\", \"dport\": \"80\", "
			   "\"fraction\": \"0.1\", \"seed\": \"7\", \"ttl\": \"10m\", "
			   "\"max_pps\": \"5000\", \"burst\": \"16\", \"port\": \"sh\", "
			   "\"vlan\": \"5\", \"control\": {\"port\": \"ctl\"}, "
			   "\"compare\": \"bytes\", \"ignore_headers\": [\"Date\"], "
			   "\"response_timeout\": \"3s\", \"max_sessions\": \"128\", "
			   "\"early_segments\": \"4\", \"shed\": false}";
	static const struct {
		const char *text;
		const char *error;
	} bad_profiles[] = {
		{ "{\"name\": \"x\", \"stage\": \"production\", \"port\": \"b\"}",
		  "api:1:46: port 'b' is not a shadow port: give it role: shadow" },
		{ "{\n  \"name\": \"x\",\n  \"stage\": \"qa\",\n  \"port\": \"sh\"\n}",
		  "api:3:12: unknown stage 'qa' (stages are: production, staging, test, dev)" },
		{ "{\"name\": \"x\", \"stage\": \"dev\", \"port\": \"sh\", \"compare\": \"dns\", "
		  "\"proto\": \"tcp\"}",
		  "api:1:72: compare dns reads DNS over UDP: give proto udp or none, not 'tcp'" },
		{ "{\"name\": \"x\", \"stage\": \"dev\", \"port\": \"sh\", \"fraction\": \"2\"}",
		  "api:1:57: fraction must be from 0 to 1, or a percentage such as 5%, not '2'" },
		{ "{\"name\": \"x\", \"stage\": \"dev\", \"port\": \"sh\", \"seed\": \"x\"}",
		  "api:1:53: seed must be a whole number from 0 to 4294967295, not 'x'" },
		{ "{\"stage\": \"dev\", \"port\": \"sh\"}",
		  "api:1:1: missing required key 'name' in shadow profile" },
		{ "{\"name\": \"x\", \"stage\": \"dev\", \"port\": \"sh\", \"ignore\": []}",
		  "api:1:45: unknown key 'ignore' in shadow profile" },
		{ "[1, 2]", "api:1:1: shadow profile must be a mapping, not a list" },
		{ "{\"name\": ", "api:1:10: syntax error: did not find expected node content "
		  "while parsing a flow node" },
		{ "", "api:1:1: the shadow profile is empty" },
	};
	char err[512] = "";
	struct umbra_conf *c = load(SSVC, err, sizeof(err));
	struct conf_shadow s;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err);
	if (conf_shadow_parse(c, json, strlen(json), "api", &s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(s.name, "web-v3");
	assert_int_equal(s.stage, 0);
	assert_int_equal(s.service, 0);
	assert_int_equal(s.proto, 6);
	assert_int_equal(s.dport.lo, 80);
	assert_float_equal(s.fraction, 0.1, 1e-9);
	assert_int_equal(s.seed, 7);
	assert_true(s.ttl_ns == 600000000000ull);
	assert_int_equal(s.max_pps, 5000);
	assert_int_equal(s.burst, 16);
	assert_int_equal(s.egress.port, 2);
	assert_int_equal(s.egress.vlan, 5);
	assert_true(s.has_control);
	assert_int_equal(s.control.port, 3);
	assert_int_equal(s.control.vlan, 0);
	assert_int_equal(s.compare, CONF_COMPARE_BYTES);
	assert_int_equal(s.n_ignore, 1);
	assert_string_equal(s.ignore_headers[0], "date");
	assert_true(s.response_timeout_ns == 3000000000ull);
	assert_int_equal(s.max_sessions, 128);
	assert_int_equal(s.early_segments, 4);
	assert_false(s.shed);
	assert_int_equal(s.pos.line, 1);
	assert_int_equal(s.pos.col, 1);

	/* YAML flow mapping, plain numbers, the defaults. */
	json = "{ name: m, stage: dev, port: ctl, fraction: 5%, seed: 9 }";
	if (conf_shadow_parse(c, json, strlen(json), "api", &s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(s.stage, 3);
	assert_int_equal(s.egress.port, 3);
	assert_float_equal(s.fraction, 0.05, 1e-9);
	assert_int_equal(s.seed, 9);
	assert_int_equal(s.burst, 64);
	assert_int_equal(s.n_ignore, 8);
	assert_false(s.has_control);

	for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
		const char *t = bad_profiles[i].text;

		if (conf_shadow_parse(c, t, strlen(t), "api", &s, err, sizeof(err)) == 0)
			fail_msg("profile %zu parsed but must fail with: %s", i,
				 bad_profiles[i].error);
		if (strcmp(err, bad_profiles[i].error) != 0)
			fail_msg("profile %zu:\n  got  %s\n  want %s", i, err,
				 bad_profiles[i].error);
	}
	conf_free(c);
}

static void
test_too_many_ports(void **state)
{
	char yaml[4096] = "ports:\n", err[256];
	size_t o = strlen(yaml);

	(void)state;
	for (int i = 0; i <= CONF_MAX_PORTS; i++)
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
				      "  - { name: p%d, vdev: net_null%d }\n", i, i);
	snprintf(yaml + o, sizeof(yaml) - o, STAGES);
	assert_null(load(yaml, err, sizeof(err)));
	assert_string_equal(err, "t.yaml:18:5: too many ports (at most 16)");
}

static void
test_error_buffer_small(void **state)
{
	char err[12];

	(void)state;
	assert_null(load(PORTS, err, sizeof(err)));
	assert_string_equal(err, "t.yaml:1:1:"); /* truncated, terminated */
}

static void
test_files(void **state)
{
	char path[] = "/tmp/umbra-conf-XXXXXX", err[512];
	struct umbra_conf *c;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_yaml, strlen(full_yaml)), (ssize_t)strlen(full_yaml));
	close(fd);
	c = conf_load_file(path, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->file, path);
	conf_free(c);
	unlink(path);
	assert_null(conf_load_file(path, err, sizeof(err)));
	assert_non_null(strstr(err, ": cannot open: No such file or directory"));
	conf_free(NULL);
}

/* conf_read_file: only regular files, at once; confinement to a directory. */
static void
test_read_file_safely(void **state)
{
	char dir[] = "/tmp/umbra-conf-dir-XXXXXX", other[] = "/tmp/umbra-conf-out-XXXXXX";
	char p[6][300], err[512], out_err[2][512], in_other[300];
	const char *names[] = { "ok.yaml", "fifo", "link", "sub", "big", "elsewhere" };
	size_t len;
	char *buf;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_non_null(mkdtemp(other));
	for (int i = 0; i < 6; i++)
		snprintf(p[i], sizeof(p[i]), "%s/%s", dir, names[i]);
	snprintf(in_other, sizeof(in_other), "%s/x.yaml", other);
	f = fopen(p[0], "w");
	assert_non_null(f);
	fputs("x: 1\n", f);
	fclose(f);
	assert_int_equal(truncate(p[0], 4), 0);
	f = fopen(in_other, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mkfifo(p[1], 0600), 0);
	assert_int_equal(symlink(p[0], p[2]), 0);
	assert_int_equal(mkdir(p[3], 0700), 0);
	f = fopen(p[4], "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(truncate(p[4], CONF_FILE_MAX + 1), 0);
	assert_int_equal(symlink(other, p[5]), 0);

	buf = conf_read_file(p[0], NULL, &len, err, sizeof(err));
	assert_non_null(buf);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "x: 1");
	free(buf);
	assert_null(conf_read_file(p[1], NULL, &len, err, sizeof(err))); /* no writer: no wait */
	assert_non_null(strstr(err, "is a FIFO"));
	assert_null(conf_read_file(p[2], NULL, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "is a symbolic link"));
	assert_null(conf_read_file(p[3], NULL, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "is a directory"));
	assert_null(conf_read_file(p[4], NULL, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than 16 MiB"));
	assert_null(conf_read_file("/dev/zero", NULL, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "is a device"));

	/* Inside the directory: absolute or relative. */
	buf = conf_read_file("ok.yaml", dir, &len, err, sizeof(err));
	assert_non_null(buf);
	free(buf);
	buf = conf_read_file(p[0], dir, &len, err, sizeof(err));
	assert_non_null(buf);
	free(buf);
	/* Outside, existing or not: the same words but for the path. */
	assert_null(conf_read_file("/etc/passwd", dir, &len, out_err[0], sizeof(err)));
	assert_null(conf_read_file("/etc/nonexistent", dir, &len, out_err[1], sizeof(err)));
	assert_non_null(strstr(out_err[0], "refused"));
	assert_string_equal(out_err[0] + strlen("/etc/passwd"),
			    out_err[1] + strlen("/etc/nonexistent"));
	assert_null(conf_read_file("../etc/passwd", dir, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "refused"));
	assert_null(conf_read_file("sub/../ok.yaml", dir, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "refused"));
	assert_null(conf_read_file("link", dir, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "symbolic link"));
	/* A link in the middle that leads out is refused like any outside path. */
	assert_null(conf_read_file("elsewhere/x.yaml", dir, &len, err, sizeof(err)));
	assert_non_null(strstr(err, "refused"));
	for (int i = 5; i >= 0; i--)
		(i == 3 ? rmdir : unlink)(p[i]);
	unlink(in_other);
	rmdir(dir);
	rmdir(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_release_sections),
		cmocka_unit_test(test_default_pipeline),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_verdict_section),
		cmocka_unit_test(test_fault_sections),
		cmocka_unit_test(test_fault_production_stage),
		cmocka_unit_test(test_fault_parse),
		cmocka_unit_test(test_shadow_sections),
		cmocka_unit_test(test_shadow_defaults),
		cmocka_unit_test(test_too_many_shadows),
		cmocka_unit_test(test_shadow_parse),
		cmocka_unit_test(test_too_many_ports),
		cmocka_unit_test(test_error_buffer_small),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_read_file_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
