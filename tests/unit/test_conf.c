/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests: the YAML loader, every field, and every error message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	assert_int_equal(c->stages[0].egress_port, 1);
	assert_int_equal(c->stages[0].egress_vlan, 0);
	assert_false(c->stages[0].rewrite_mac);
	assert_int_equal(c->stages[1].egress_vlan, 10);
	assert_true(c->stages[1].rewrite_mac);
	assert_memory_equal(c->stages[1].next_hop_mac, "\x02\0\0\0\x0d\x01", 6);
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
	conf_free(c);
}

#define PORTS "ports:\n  - { name: a, vdev: net_null0 }\n  - { name: b, vdev: net_null1 }\n"
#define STAGES "stages:\n  - { name: prod, default: true, egress: { port: a } }\n" \
	       "  - { name: dev, egress: { port: b } }\n"

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
	  "t.yaml:2:31: role must be uplink or stage, not 'client'" },
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
};

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_too_many_ports),
		cmocka_unit_test(test_error_buffer_small),
		cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
