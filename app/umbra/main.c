/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * umbra daemon: umbra [EAL args] -- -c FILE [options]
 *
 * The main lcore loads and compiles the configuration, brings up ports and
 * workers, then reports counters until SIGINT/SIGTERM (or, for captures,
 * until the input has been idle long enough), and stops cleanly with final
 * counters.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "conf.h"
#include "dp.h"
#include "gen.h"

#define EXIT_CONFIG 2

struct app_opts {
	const char *conf_file;
	const char *stats_json;     /**< write final counters here */
	unsigned int idle_exit_ms;  /**< 0: run until a signal */
	int stats_interval_s;       /**< -1: from the config */
	unsigned int top_flows;
	bool summary;
	bool check_only;
};

static volatile sig_atomic_t app_quit;

static void
on_signal(int sig)
{
	(void)sig;
	app_quit = 1;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- -c FILE [options]\n"
		"  -c, --config FILE        YAML configuration (required)\n"
		"      --check              validate the configuration and exit\n"
		"      --stats-interval S   print counters as JSON every S seconds\n"
		"      --stats-json FILE    write the final counters to FILE\n"
		"                           (default: one JSON line on stdout)\n"
		"      --idle-exit MS       exit after MS ms without received packets\n"
		"                           (once some arrived): for capture replays\n"
		"      --summary            print a human summary on exit\n"
		"      --top N              flows in the summary (default 10)\n",
		prog);
}

static int
parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > 86400000UL)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct app_opts *o)
{
	enum { O_CHECK = 256, O_INTERVAL, O_JSON, O_IDLE, O_SUMMARY, O_TOP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, O_CHECK },
		{ "stats-interval", required_argument, NULL, O_INTERVAL },
		{ "stats-json", required_argument, NULL, O_JSON },
		{ "idle-exit", required_argument, NULL, O_IDLE },
		{ "summary", no_argument, NULL, O_SUMMARY },
		{ "top", required_argument, NULL, O_TOP },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned int v;
	int opt;

	*o = (struct app_opts){ .stats_interval_s = -1, .top_flows = 10 };
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o->conf_file = optarg; break;
		case O_CHECK: o->check_only = true; break;
		case O_JSON: o->stats_json = optarg; break;
		case O_SUMMARY: o->summary = true; break;
		case O_INTERVAL:
		case O_IDLE:
		case O_TOP:
			if (parse_uint(optarg, &v) < 0) {
				fprintf(stderr, "umbra: invalid number '%s'\n", optarg);
				return -1;
			}
			if (opt == O_INTERVAL)
				o->stats_interval_s = (int)v;
			else if (opt == O_IDLE)
				o->idle_exit_ms = v;
			else
				o->top_flows = v;
			break;
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind < argc || o->conf_file == NULL) {
		fprintf(stderr, "umbra: %s\n", o->conf_file ? "unexpected argument" :
			"a configuration file is required (-- -c FILE)");
		usage(argv[0]);
		return -1;
	}
	return 0;
}

static void
stats_print(FILE *out, const struct dp_context *dp)
{
	json_t *st = dp_stats_json(dp);

	json_dumpf(st, out, JSON_COMPACT);
	fputc('\n', out);
	fflush(out);
	json_decref(st);
}

/* Management loop: periodic counters, idle exit, signals. */
static void
mgmt_loop(struct dp_context *dp, const struct app_opts *o, unsigned int interval)
{
	uint64_t hz = rte_get_timer_hz();
	uint64_t last_rx = 0, last_change = rte_get_timer_cycles();
	uint64_t next_stats = last_change + (uint64_t)interval * hz;

	while (!app_quit) {
		uint64_t now = rte_get_timer_cycles();
		uint64_t rx = dp_rx_total(dp);

		if (rx != last_rx) {
			last_rx = rx;
			last_change = now;
		} else if (o->idle_exit_ms && rx > 0 &&
			   now - last_change > hz / 1000 * o->idle_exit_ms) {
			break;
		}
		if (interval && now >= next_stats) {
			stats_print(stdout, dp);
			next_stats = now + (uint64_t)interval * hz;
		}
		gen_reclaim(&dp->pub);
		rte_delay_us_sleep(10000);
	}
}

static int
write_final_stats(const struct dp_context *dp, const struct app_opts *o)
{
	json_t *st = dp_stats_json(dp);
	int rc = 0;

	json_object_set_new(st, "top_flows", dp_top_flows_json(dp, o->top_flows));
	if (o->stats_json == NULL) {
		json_dumpf(st, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	} else if (json_dump_file(st, o->stats_json, JSON_INDENT(1)) != 0) {
		fprintf(stderr, "umbra: cannot write %s\n", o->stats_json);
		rc = -1;
	}
	json_decref(st);
	return rc;
}

int
main(int argc, char **argv)
{
	struct app_opts o;
	struct umbra_conf *conf;
	struct umbra_gen *g;
	static struct dp_context dp;
	char err[512];
	unsigned int interval;
	int n;

	/* Options after "--" are umbra's; the configuration is read and checked
	 * before EAL starts, so its errors come alone and fast. */
	for (n = 1; n < argc && strcmp(argv[n], "--") != 0; n++)
		;
	if (n == argc) {
		fprintf(stderr, "umbra: a configuration file is required (-- -c FILE)\n");
		usage(argv[0]);
		return EXIT_CONFIG;
	}
	argv[n] = argv[0];
	if (parse_args(argc - n, argv + n, &o) < 0)
		return EXIT_CONFIG;
	conf = conf_load_file(o.conf_file, err, sizeof(err));
	if (conf == NULL || gen_validate(conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		conf_free(conf);
		return EXIT_CONFIG;
	}
	if (rte_eal_init(n, argv) < 0) {
		fprintf(stderr, "umbra: cannot initialise DPDK (%s). Without "
			"hugepages, pass --no-huge -m 1024 --no-shconf; on a machine "
			"with no NIC for DPDK, pass --no-pci.\n",
			rte_strerror(rte_errno));
		conf_free(conf);
		return 1;
	}
	g = gen_build(conf, 1, err, sizeof(err));
	if (g == NULL) {
		fprintf(stderr, "%s\n", err);
		rte_eal_cleanup();
		return EXIT_CONFIG;
	}
	if (o.check_only) {
		printf("%s: ok (%u ports, %u stages, %u match rules, %u flow rules, "
		       "%u policies)\n", o.conf_file, g->conf->n_ports,
		       g->conf->n_stages, g->conf->n_matches,
		       g->conf->n_flow_rules, g->conf->n_policies);
		gen_free(g);
		rte_eal_cleanup();
		return 0;
	}
	interval = o.stats_interval_s >= 0 ? (unsigned int)o.stats_interval_s :
					     g->conf->stats_interval_s;
	if (dp_init(&dp, g, err, sizeof(err)) < 0) {
		fprintf(stderr, "umbra: %s\n", err);
		dp_fini(&dp);
		rte_eal_cleanup();
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("umbra: %u workers, %u ports, %u stages; %s\n", dp.n_workers,
	       dp.ports.n_ports, g->conf->n_stages,
	       o.idle_exit_ms ? "exits when input is idle" : "Ctrl-C to stop");
	fflush(stdout);
	dp_start(&dp);
	mgmt_loop(&dp, &o, interval);
	dp_stop(&dp);
	n = write_final_stats(&dp, &o);
	if (o.summary)
		dp_stats_summary(stdout, &dp, o.top_flows);
	dp_fini(&dp);
	rte_eal_cleanup();
	return n < 0 ? 1 : 0;
}
