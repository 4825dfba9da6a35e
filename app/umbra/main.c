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
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <event2/event.h>

#include "conf.h"
#include "dp.h"
#include "gen.h"
#include "port_flow.h"
#include "umbra.h"

#define EXIT_CONFIG 2

/** Name of the configuration in messages: the -c file, or a resumed snapshot. */
static char conf_name[512];
/** The management loop's housekeeping period. */
#define TICK_MS 100

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
		"      --socket PATH        management socket (default "
		UMBRA_DEFAULT_SOCKET "; none: no socket)\n"
		"      --socket-group NAME  group that may use the socket (mode 0660)\n"
		"      --state-dir DIR      persist every generation in DIR and, on\n"
		"                           restart, resume the last one from there\n"
		"      --http [ADDR:]PORT   HTTP API (/api/v1/...) and /metrics\n"
		"                           (address default 127.0.0.1)\n"
		"      --http-token-file F  commands over HTTP need 'Authorization: Bearer\n"
		"                           <F's content>'; without it only /metrics\n"
		"      --http-allowed-host H  a further name the Host header may carry\n"
		"                           (repeatable; default: the address, localhost)\n"
		"      --config-dir DIR     config/validate and config/apply read only\n"
		"                           files inside DIR\n"
		"      --client-timeout S   close socket clients idle for S seconds\n"
		"                           (default 30)\n"
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
	enum { O_CHECK = 256, O_INTERVAL, O_JSON, O_IDLE, O_SUMMARY, O_TOP, O_SOCKET,
	       O_STATE, O_HTTP, O_TOKEN, O_GROUP, O_CONFDIR, O_CLIENT_TO,
	       O_HTTP_HOST };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, O_CHECK },
		{ "stats-interval", required_argument, NULL, O_INTERVAL },
		{ "stats-json", required_argument, NULL, O_JSON },
		{ "idle-exit", required_argument, NULL, O_IDLE },
		{ "summary", no_argument, NULL, O_SUMMARY },
		{ "top", required_argument, NULL, O_TOP },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "http", required_argument, NULL, O_HTTP },
		{ "socket-group", required_argument, NULL, O_GROUP },
		{ "http-token-file", required_argument, NULL, O_TOKEN },
		{ "http-allowed-host", required_argument, NULL, O_HTTP_HOST },
		{ "config-dir", required_argument, NULL, O_CONFDIR },
		{ "client-timeout", required_argument, NULL, O_CLIENT_TO },
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
		case O_SOCKET: o->socket = optarg; break;
		case O_STATE: o->state_dir = optarg; break;
		case O_HTTP: o->http = optarg; break;
		case O_GROUP: o->socket_group = optarg; break;
		case O_TOKEN: o->http_token_file = optarg; break;
		case O_HTTP_HOST:
			if (o->n_http_hosts == MGMT_HTTP_HOSTS_MAX) {
				fprintf(stderr, "umbra: at most %d --http-allowed-host\n",
					MGMT_HTTP_HOSTS_MAX);
				return -1;
			}
			o->http_hosts[o->n_http_hosts++] = optarg;
			break;
		case O_CONFDIR:
			if (optarg[0] != '/') {
				fprintf(stderr, "umbra: --config-dir wants an absolute path\n");
				return -1;
			}
			o->config_dir = optarg;
			break;
		case O_INTERVAL:
		case O_CLIENT_TO:
		case O_IDLE:
		case O_TOP:
			if (parse_uint(optarg, &v) < 0) {
				fprintf(stderr, "umbra: invalid number '%s'\n", optarg);
				return -1;
			}
			if (opt == O_CLIENT_TO && (v == 0 || v > 86400)) {
				fprintf(stderr, "umbra: --client-timeout wants 1..86400 s\n");
				return -1;
			}
			if (opt == O_CLIENT_TO)
				o->client_timeout_s = v;
			else if (opt == O_INTERVAL)
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
stats_print(FILE *out, struct umbra_app *app)
{
	json_t *st = umbra_stats_json(app);

	json_dumpf(st, out, JSON_COMPACT);
	fputc('\n', out);
	fflush(out);
	json_decref(st);
}

/* Housekeeping on the management loop: idle exit, periodic counters, RCU. */
struct tick_state {
	struct umbra_app *app;
	unsigned int interval_s;
	uint64_t last_rx;
	uint64_t last_change;
	uint64_t next_stats;
};

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tick_state *t = arg;
	struct umbra_app *app = t->app;
	uint64_t hz = rte_get_timer_hz(), now = rte_get_timer_cycles();
	uint64_t rx = dp_rx_total(&app->dp);

	(void)fd;
	(void)what;
	/* Packets still held by a delay fault count as activity. */
	if (rx != t->last_rx || dp_delayed_total(&app->dp) != 0) {
		t->last_rx = rx;
		t->last_change = now;
	} else if (app->opts.idle_exit_ms && rx > 0 &&
		   now - t->last_change > hz / 1000 * app->opts.idle_exit_ms) {
		event_base_loopbreak(app->base);
	}
	if (t->interval_s && now >= t->next_stats) {
		stats_print(stdout, app);
		t->next_stats = now + (uint64_t)t->interval_s * hz;
	}
	pthread_mutex_lock(&app->reclaim_lock);
	gen_reclaim(&app->dp.pub);
	pthread_mutex_unlock(&app->reclaim_lock);
	/* Also frees replaced fault tables; leases have their own timer. */
	fault_ctl_expire(app->faults, rte_rdtsc());
	umbra_telemetry_publish(app, false);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

/* SIGHUP: apply the -c file again, as config/apply would. */
static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	umbra_reload(arg);
}

/*
 * The default socket's directory, /run/umbra: created if missing, and
 * made root:GROUP mode 0750 (GROUP: the socket's) so that the socket's
 * group can reach the socket and nobody else can. Other directories are
 * the operator's to set up.
 */
static void
socket_dir(const char *path, gid_t gid)
{
	struct stat st;
	int fd;

	if (strcmp(path, UMBRA_DEFAULT_SOCKET) != 0)
		return;
	mkdir("/run/umbra", 0750);
	fd = open("/run/umbra", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	/* Only a directory of ours: never loosen someone else's. */
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (fchown(fd, (uid_t)-1, gid == (gid_t)-1 ? getegid() : gid) != 0 ||
	     fchmod(fd, 0750) != 0))
		fprintf(stderr, "umbra: cannot set the group of /run/umbra: %s\n",
			strerror(errno));
	close(fd);
}

static char *
metrics_text(void *ctx)
{
	struct umbra_app *app = ctx;
	char *dp_text = dp_metrics_text(&app->dp), *text = NULL;
	size_t len = 0;
	FILE *f = dp_text ? open_memstream(&text, &len) : NULL;

	if (f == NULL) {
		free(dp_text);
		return NULL;
	}
	fputs(dp_text, f);
	umbra_workflow_metrics(app, f);
	umbra_verdict_metrics(app, f);
	umbra_graph_metrics(app, f);
	umbra_ui_metrics(app, f);
	umbra_fleet_metrics(app, f);
	fault_ctl_metrics(app->faults, f);
	shadow_ctl_metrics(app->shadows, f);
	port_flow_metrics(f);
	fclose(f);
	free(dp_text);
	return text;
}

/* HTTP API and /metrics on [ADDR:]PORT; commands only with a token file. */
static int
http_start(struct umbra_app *app, char *err, size_t errlen)
{
	char addr[64] = "127.0.0.1";
	const char *spec = app->opts.http, *colon = strrchr(spec, ':');
	struct mgmt_http_conf c = {
		.addr = addr, .token_file = app->opts.http_token_file,
		.hosts = app->opts.http_hosts, .n_hosts = app->opts.n_http_hosts,
		.metrics = metrics_text, .ctx = app,
	};
	unsigned int port;
	char *end;

	if (colon != NULL)
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - spec), spec);
	port = (unsigned int)strtoul(colon ? colon + 1 : spec, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535) {
		snprintf(err, errlen, "--http wants [ADDR:]PORT, not '%s'", spec);
		return -1;
	}
	c.port = (uint16_t)port;
	if (mgmt_http_listen(app->mgmt, &c, err, errlen) < 0)
		return -1;
	if (c.token_file == NULL)
		printf("umbra: HTTP on %s:%u serves /metrics only: commands over HTTP "
		       "need --http-token-file\n", addr, port);
	return 0;
}

/* The management loop: socket, signals, housekeeping; until told to stop. */
static int
mgmt_run(struct umbra_app *app, unsigned int interval, char *err, size_t errlen)
{
	struct tick_state t = { .app = app, .interval_s = interval };
	const struct timeval tick = { 0, TICK_MS * 1000 };
	struct event *ev_tick, *ev_int, *ev_term, *ev_hup;

	t.last_change = rte_get_timer_cycles();
	t.next_stats = t.last_change + (uint64_t)interval * rte_get_timer_hz();
	app->mgmt = mgmt_create(app->base, UMBRA_VERSION);
	if (app->mgmt == NULL || umbra_cmds_register(app) < 0 ||
	    umbra_workflow_register(app) < 0 || umbra_fault_register(app) < 0 ||
	    umbra_shadow_register(app) < 0 || umbra_verdict_register(app) < 0 ||
	    umbra_graph_register(app) < 0 || umbra_fleet_register(app) < 0 ||
	    umbra_ui_register(app) < 0) {
		snprintf(err, errlen, "cannot set up the management commands");
		return -1;
	}
	if (umbra_verdict_init(app, err, errlen) < 0 ||
	    umbra_graph_init(app, err, errlen) < 0 ||
	    umbra_workflow_init(app, err, errlen) < 0 ||
	    umbra_fleet_init(app, err, errlen) < 0)
		return -1;
	if (strcmp(app->opts.socket, "none") != 0) {
		gid_t gid = (gid_t)-1;

		if (app->opts.socket_group != NULL) {
			struct group *gr = getgrnam(app->opts.socket_group);

			if (gr == NULL) {
				snprintf(err, errlen, "no group '%s' for the socket: create it "
					 "(groupadd) or name another", app->opts.socket_group);
				return -1;
			}
			gid = gr->gr_gid;
		}
		socket_dir(app->opts.socket, gid);
		if (mgmt_listen(app->mgmt, app->opts.socket, gid, err, errlen) < 0)
			return -1;
		mgmt_set_client_timeout(app->mgmt, app->opts.client_timeout_s);
	}
	if (app->opts.http != NULL && http_start(app, err, errlen) < 0)
		return -1;
	ev_tick = event_new(app->base, -1, EV_PERSIST, on_tick, &t);
	ev_int = evsignal_new(app->base, SIGINT, on_signal, app->base);
	ev_term = evsignal_new(app->base, SIGTERM, on_signal, app->base);
	ev_hup = evsignal_new(app->base, SIGHUP, on_sighup, app);
	event_add(ev_tick, &tick);
	event_add(ev_int, NULL);
	event_add(ev_term, NULL);
	event_add(ev_hup, NULL);
	printf("umbra: %u workers, %u ports, %u stages; %s\n", app->dp.n_workers,
	       app->dp.ports.n_ports, gen_current(&app->dp.pub)->conf->n_stages,
	       app->opts.idle_exit_ms ? "exits when input is idle" : "Ctrl-C to stop");
	fflush(stdout);
	event_base_dispatch(app->base);
	if (app->apply.probe != NULL)
		event_free(app->apply.probe);
	event_free(ev_tick);
	event_free(ev_int);
	event_free(ev_term);
	event_free(ev_hup);
	workflow_free(app->workflow);
	app->workflow = NULL;
	umbra_fleet_fini(app);
	umbra_verdict_fini(app);
	umbra_graph_fini(app);
	return 0;
}

/* The final counters: every concern's, joined here where they leave. */
static int
write_final_stats(struct umbra_app *app, const struct app_opts *o)
{
	json_t *st = umbra_stats_json(app);
	int rc = 0;

	json_object_set_new(st, "top_flows", dp_top_flows_json(&app->dp, o->top_flows));
	/* Records the workers left on their rings are compared first. */
	shadow_ctl_poll(app->shadows, rte_rdtsc());
	json_object_set_new(st, "shadows", shadow_ctl_status_json(app->shadows, NULL, NULL));
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

/* Management clients each take a descriptor: allow as many as permitted. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Management settings not given on the command line come from the -c
 * file's mgmt: section (read here once, before the state directory that
 * section may name is opened).
 * @return 0, or -1 with the configuration error in @p err.
 */
static int
mgmt_settings(struct app_opts *o, char *err, size_t errlen)
{
	static struct conf_mgmt m;
	struct umbra_conf *c = conf_load_file(o->conf_file, err, errlen);

	if (c == NULL)
		return -1;
	m = c->mgmt;
	conf_free(c);
	if (o->socket == NULL)
		o->socket = m.socket[0] ? m.socket : UMBRA_DEFAULT_SOCKET;
	if (o->socket_group == NULL && m.socket_group[0])
		o->socket_group = m.socket_group;
	if (o->state_dir == NULL && m.state_dir[0])
		o->state_dir = m.state_dir;
	if (o->http == NULL && m.http[0])
		o->http = m.http;
	if (o->http_token_file == NULL && m.http_token_file[0])
		o->http_token_file = m.http_token_file;
	if (o->config_dir == NULL && m.config_dir[0])
		o->config_dir = m.config_dir;
	if (o->client_timeout_s == 0)
		o->client_timeout_s = m.client_timeout_s;
	return 0;
}

/*
 * The YAML to start from: the current generation of the state directory
 * when there is one (a restart resumes where it was), else the -c file.
 */
static char *
startup_yaml(struct umbra_app *app, size_t *len, uint64_t *id,
	     const char **state, char *err, size_t errlen)
{
	const struct gen_snapshot *sn = gen_store_get(&app->snapshots,
						      app->snapshots.current);
	char *yaml;

	*id = 1;
	*state = NULL;
	if (sn == NULL)
		return umbra_read_file(app->opts.conf_file, len, err, errlen);
	yaml = malloc(sn->len + 1);
	if (yaml == NULL) {
		snprintf(err, errlen, "umbra: out of memory");
		return NULL;
	}
	memcpy(yaml, sn->yaml, sn->len + 1);
	*len = sn->len;
	*id = sn->id;
	*state = sn->state;
	snprintf(conf_name, sizeof(conf_name), "%s/gen-%llu.yaml", app->opts.state_dir,
		 (unsigned long long)sn->id);
	printf("umbra: resuming generation %llu (%s) from %s\n",
	       (unsigned long long)sn->id, sn->source, app->opts.state_dir);
	return yaml;
}

/*
 * Ports and workers for @p g's configuration, the event loop, the
 * listeners of the apply road in their slots, then @p g as the first
 * apply (ctl_start): shadows, faults, port rules follow it like any later
 * generation. Ownership of @p g passes here, even on failure.
 * @return 0, or -1 with a sentence in @p err.
 */
static int
start(struct umbra_app *app, struct umbra_gen *g, const char *yaml, size_t len,
      const char *source, char *err, size_t errlen)
{
	const struct ctl_change first = {
		.yaml = yaml, .len = len, .name = conf_name, .state = g->state,
		.source = source,
	};

	err[0] = '\0';
	if (dp_init(&app->dp, g->conf, err, errlen) < 0) {
		gen_free(g);
		return -1;
	}
	app->base = event_base_new();
	if (app->base == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		gen_free(g);
		return -1;
	}
	pthread_mutex_init(&app->reclaim_lock, NULL);
	ctl_init(&app->ctl, &app->dp.pub, &app->snapshots, &app->reclaim_lock);
	if (umbra_shadow_init(app, err, errlen) < 0 ||
	    umbra_fault_init(app, err, errlen) < 0 || umbra_apply_listen(app) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "cannot set up the apply road");
		gen_free(g);
		return -1;
	}
	return ctl_start(&app->ctl, g, &first, err, errlen) ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static struct umbra_app app;
	struct app_opts *o = &app.opts;
	struct umbra_conf *conf;
	struct umbra_gen *g;
	char err[512], source[300];
	unsigned int interval;
	size_t yaml_len = 0;
	uint64_t first_id;
	const char *state;
	char *yaml;
	int n, rc = 0;

	/* Options after "--" are umbra's; the configuration is read and checked
	 * before EAL starts, so its errors come alone and fast. */
	for (n = 1; n < argc && strcmp(argv[n], "--") != 0; n++)
		;
	if (n == argc) {
		fprintf(stderr, "umbra: a configuration file is required (-- -c FILE)\n");
		usage(argv[0]);
		return EXIT_CONFIG;
	}
	/* A client that hangs up before reading its answer must not end the
	 * daemon (EPIPE instead, a normal disconnect); set before EAL starts
	 * its threads, so that it holds for all of them. SIGHUP is ignored
	 * until the management loop takes it (reload). */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	argv[n] = argv[0];
	if (parse_args(argc - n, argv + n, o) < 0)
		return EXIT_CONFIG;
	snprintf(conf_name, sizeof(conf_name), "%s", o->conf_file);
	raise_fd_limit();
	if (mgmt_settings(o, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	gen_store_init(&app.snapshots);
	if (o->state_dir && gen_store_open(&app.snapshots, o->state_dir, err,
					   sizeof(err)) < 0) {
		fprintf(stderr, "umbra: %s\n", err);
		return 1;
	}
	yaml = startup_yaml(&app, &yaml_len, &first_id, &state, err, sizeof(err));
	conf = yaml ? conf_load_string(yaml, yaml_len, conf_name, err, sizeof(err)) : NULL;
	if (conf == NULL || gen_validate(conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		conf_free(conf);
		free(yaml);
		gen_store_fini(&app.snapshots);
		return EXIT_CONFIG;
	}
	if (rte_eal_init(n, argv) < 0) {
		fprintf(stderr, "umbra: cannot initialise DPDK (%s). Without "
			"hugepages, pass --no-huge -m 1024 --no-shconf; on a machine "
			"with no NIC for DPDK, pass --no-pci.\n",
			rte_strerror(rte_errno));
		conf_free(conf);
		free(yaml);
		return 1;
	}
	g = gen_build(conf, state, first_id, err, sizeof(err));
	if (g == NULL) {
		fprintf(stderr, "%s\n", err);
		free(yaml);
		rte_eal_cleanup();
		return EXIT_CONFIG;
	}
	if (o->check_only) {
		printf("%s: ok (%u ports, %u stages, %u match rules, %u flow rules, "
		       "%u policies)\n", o->conf_file, g->conf->n_ports,
		       g->conf->n_stages, g->conf->n_matches,
		       g->conf->n_flow_rules, g->conf->n_policies);
		gen_free(g);
		free(yaml);
		rte_eal_cleanup();
		return 0;
	}
	interval = o->stats_interval_s >= 0 ? (unsigned int)o->stats_interval_s :
					      g->conf->stats_interval_s;
	app.started = time(NULL);
	snprintf(source, sizeof(source), "file:%s", o->conf_file);
	if (start(&app, g, yaml, yaml_len, source, err, sizeof(err)) < 0) {
		fprintf(stderr, "umbra: %s\n", err);
		rc = 1;
		goto out;
	}
	umbra_telemetry_init(&app);
	dp_start(&app.dp);
	if (mgmt_run(&app, interval, err, sizeof(err)) < 0) {
		fprintf(stderr, "umbra: %s\n", err);
		rc = 1;
	}
	dp_stop(&app.dp);
	if (write_final_stats(&app, o) < 0)
		rc = 1;
	if (o->summary)
		dp_stats_summary(stdout, &app.dp, o->top_flows);
out:
	umbra_fault_fini(&app);
	umbra_shadow_fini(&app);
	mgmt_free(app.mgmt);
	if (app.base != NULL)
		event_base_free(app.base);
	dp_fini(&app.dp);
	gen_store_fini(&app.snapshots);
	free(yaml);
	rte_eal_cleanup();
	return rc;
}
