/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon's management commands: status, counters, flows, and config
 * generations (validate, apply, show, snapshots, rollback), all applied
 * through the apply road (lib/ctl); and the daemon's own listeners on it:
 * ports (CTL_PORT_FLOWS) and its bookkeeping (CTL_APP).
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <sqlite3.h>

#include "port_flow.h"
#include "umbra.h"

char *
umbra_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	return conf_read_file(path, NULL, len, err, errlen);
}

/* Ports are opened once at start: a new generation must keep them. */
static int
ports_unchanged(void *ctx, const struct umbra_conf *now,
		const struct umbra_conf *next, char *err, size_t errlen)
{
	bool same = now->n_ports == next->n_ports &&
		    now->flow_table.size == next->flow_table.size;

	(void)ctx;
	for (uint16_t i = 0; same && i < now->n_ports; i++)
		same = strcmp(now->ports[i].name, next->ports[i].name) == 0 &&
		       strcmp(now->ports[i].dev, next->ports[i].dev) == 0 &&
		       now->ports[i].role == next->ports[i].role;
	if (!same)
		snprintf(err, errlen, "%s: ports and flow_table.size cannot change while "
			 "umbra runs: restart it with the new file", next->file);
	return same ? 0 : -1;
}

/* The ports' rte_flow rules follow the generation just published. */
static int
port_flows_applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	struct umbra_app *app = ctx;

	(void)err;
	(void)errlen;
	port_flow_sync(&app->dp.ports, a->gen->conf, a->gen->id);
	return 0;
}

/* Bookkeeping of every later apply: its latency, snapshot retention. */
static int
app_applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	struct umbra_app *app = ctx;

	(void)err;
	(void)errlen;
	if (a->first)
		return 0;
	umbra_apply_probe_start(app, a->t0, a->t_pub);
	umbra_snapshots_prune(app);
	return 0;
}

int
umbra_apply_listen(struct umbra_app *app)
{
	const struct ctl_listener ports = {
		.name = "ports", .check = ports_unchanged,
		.applied = port_flows_applied, .ctx = app,
	};
	const struct ctl_listener self = {
		.name = "umbra", .applied = app_applied, .ctx = app,
	};

	if (ctl_listen(&app->ctl, CTL_PORT_FLOWS, &ports) < 0)
		return -1;
	return ctl_listen(&app->ctl, CTL_APP, &self);
}

uint64_t
umbra_apply(struct umbra_app *app, const char *yaml, size_t len, const char *name,
	    const char *state, const char *source, uint64_t from, bool migrate,
	    char *err, size_t errlen)
{
	const struct ctl_change c = {
		.yaml = yaml, .len = len, .name = name, .state = state,
		.source = source, .from = from, .migrate = migrate,
	};

	return ctl_apply(&app->ctl, &c, err, errlen);
}

void
umbra_snapshots_prune(struct umbra_app *app)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	uint64_t keep[3 * CONF_MAX_SERVICES];
	size_t n;

	/* Not before the workflow is loaded: it names generations to keep. */
	if (app->workflow == NULL)
		return;
	n = workflow_generations_in_use(app->workflow, keep, RTE_DIM(keep));
	gen_store_prune(&app->snapshots, c->snapshots.keep,
			(uint64_t)c->snapshots.keep_days * 86400, keep, n);
}

/*
 * When every worker has reported a quiescent state after the publish (an
 * RCU token taken right after the swap), every worker runs the new
 * generation. Checked from the event loop, never waited for.
 */
static void
apply_probe(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_app *app = arg;
	struct apply_latency *a = &app->apply;

	(void)fd;
	(void)what;
	uint64_t id = gen_current(&app->dp.pub)->id, last = a->t0;

	if (!rte_rcu_qsbr_check(app->dp.pub.qsbr, a->token, false)) {
		event_active(a->probe, EV_TIMEOUT, 0);
		return;
	}
	/* Workers stamp the TSC when they first run a generation: the latest
	 * stamp is when the last of them moved. */
	for (uint16_t i = 0; i < app->dp.n_workers; i++) {
		const struct dp_counters *c = app->dp.workers[i].cnt;

		if (c->gen_seen == id && c->gen_seen_tsc > last)
			last = c->gen_seen_tsc;
	}
	a->us[a->count % APPLY_SAMPLES] = (double)(last - a->t0) * 1e6 /
					  (double)rte_get_tsc_hz();
	a->switch_us[a->count % APPLY_SAMPLES] = last > a->t_pub ?
		(double)(last - a->t_pub) * 1e6 / (double)rte_get_tsc_hz() : 0.0;
	a->count++;
	a->pending = 0;
}

void
umbra_apply_probe_start(struct umbra_app *app, uint64_t t0, uint64_t t_pub)
{
	struct apply_latency *a = &app->apply;

	if (a->probe == NULL && app->base != NULL)
		a->probe = event_new(app->base, -1, 0, apply_probe, app);
	if (a->probe == NULL)
		return;
	a->t0 = t0;
	a->t_pub = t_pub;
	a->token = rte_rcu_qsbr_start(app->dp.pub.qsbr);
	a->pending = 1; /* a newer apply supersedes an older one still pending */
	event_active(a->probe, EV_TIMEOUT, 0);
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* p50, p99 and max of @p n samples. */
static json_t *
percentiles(const double *samples, size_t n)
{
	static double sorted[APPLY_SAMPLES];

	memcpy(sorted, samples, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cmp_double);
	return json_pack("{s:f,s:f,s:f}", "p50_us", sorted[n / 2],
			 "p99_us", sorted[n * 99 / 100], "max_us", sorted[n - 1]);
}

/* Command to last worker (compile included), and publish to last worker. */
static json_t *
apply_latency_json(const struct apply_latency *a)
{
	size_t n = a->count < APPLY_SAMPLES ? a->count : APPLY_SAMPLES;
	json_t *o;

	if (n == 0)
		return json_pack("{s:i}", "applies", 0);
	o = percentiles(a->us, n);
	json_object_set_new(o, "applies", json_integer((json_int_t)a->count));
	json_object_set_new(o, "switch", percentiles(a->switch_us, n));
	return o;
}

static json_t *
cmd_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const struct umbra_gen *g = gen_current(&app->dp.pub);

	(void)args;
	(void)err;
	return json_pack("{s:I,s:i,s:i,s:i,s:I,s:s,s:i,s:o,s:o*}",
			 "generation", (json_int_t)g->id,
			 "workers", app->dp.n_workers,
			 "ports", app->dp.ports.n_ports,
			 "stages", g->conf->n_stages,
			 "uptime_s", (json_int_t)(time(NULL) - app->started),
			 "version", UMBRA_VERSION,
			 "pid", (int)getpid(),
			 "apply_latency", apply_latency_json(&app->apply),
			 "fleet", umbra_fleet_summary(app));
}

/* Resident set size in kB, from /proc/self/statm (0 when unreadable). */
static json_int_t
rss_kb(void)
{
	unsigned long long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (json_int_t)(resident * (unsigned long long)sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Where the daemon's memory is, for soaks and operators chasing growth:
 * glibc's heap (every arena), SQLite's own allocations, DPDK's heaps, and
 * the snapshots kept. trim=true first gives free heap pages back to the
 * kernel (malloc_trim), which tells fragmentation from memory in use.
 */
static json_t *
cmd_memory(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct rte_malloc_socket_stats rs;
	json_int_t before = rss_kb();
	int trimmed = -1;
	struct mallinfo2 mi;
	json_t *dpdk;

	(void)err;
	if (json_is_true(json_object_get(args, "trim")))
		trimmed = malloc_trim(0);
	mi = mallinfo2();
	dpdk = json_object();
	for (int s = 0; s < RTE_MAX_NUMA_NODES; s++) {
		char socket[16];

		if (rte_malloc_get_socket_stats(s, &rs) != 0 || rs.heap_totalsz_bytes == 0)
			continue;
		snprintf(socket, sizeof(socket), "socket%d", s);
		json_object_set_new(dpdk, socket, json_pack("{s:I,s:I,s:I}",
				    "total", (json_int_t)rs.heap_totalsz_bytes,
				    "allocated", (json_int_t)rs.heap_allocsz_bytes,
				    "free", (json_int_t)rs.heap_freesz_bytes));
	}
	return json_pack("{s:I,s:o,s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I},s:o,s:I}",
			 "rss_kb", rss_kb(),
			 "trim", trimmed < 0 ? json_null() :
				 json_pack("{s:b,s:I}", "released", trimmed,
					   "rss_kb_before", before),
			 "malloc",
			 "arena", (json_int_t)mi.arena, "mmap", (json_int_t)mi.hblkhd,
			 "in_use", (json_int_t)(mi.uordblks + mi.hblkhd),
			 "free", (json_int_t)mi.fordblks, "top_free", (json_int_t)mi.keepcost,
			 "sqlite",
			 "in_use", (json_int_t)sqlite3_memory_used(),
			 "highwater", (json_int_t)sqlite3_memory_highwater(0),
			 "dpdk", dpdk,
			 "snapshots", (json_int_t)app->snapshots.count);
}

json_t *
umbra_stats_json(struct umbra_app *app)
{
	json_t *st = dp_stats_json(&app->dp);

	if (st != NULL) {
		json_object_set_new(json_object_get(st, "faults"), "rules",
				    fault_ctl_rules_json(app->faults));
		json_object_set_new(st, "port_rules", port_flow_stats_json());
	}
	return st;
}

static json_t *
cmd_stats(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *st = umbra_stats_json(app);

	(void)args;
	(void)err;
	return st;
}

static json_t *
cmd_flows(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *top = json_object_get(args, "top");
	const char *stage = json_string_value(json_object_get(args, "stage"));
	json_int_t n = top ? json_integer_value(top) : 10;
	struct dp_flow flows[DP_TOP_FLOWS_MAX];
	int32_t at = -1;

	if (n < 1 || n > DP_TOP_FLOWS_MAX) {
		mgmt_fail(err, MGMT_E_ARGS, "flows: top must be 1..64");
		return NULL;
	}
	if (stage != NULL) {
		at = conf_stage_index(gen_current(&app->dp.pub)->conf, stage);
		if (at < 0)     /* no such stage: none of its flows */
			return json_array();
	}
	return dp_flows_json(&app->dp, flows,
			     dp_top_flows(&app->dp, (unsigned int)n, at, flows));
}

/*
 * A path given to config/validate or config/apply, read whole (regular
 * files only, never blocking; inside --config-dir when one is set).
 */
static char *
config_arg_read(struct umbra_app *app, json_t *args, size_t *len,
		struct mgmt_error *err)
{
	const char *path = json_string_value(json_object_get(args, "path"));

	return conf_read_file(path, app->opts.config_dir, len, err->message,
			      sizeof(err->message));
}

static json_t *
cmd_config_validate(json_t *args, void *ctx, struct mgmt_error *err)
{
	const char *path = json_string_value(json_object_get(args, "path"));
	struct umbra_conf *conf;
	size_t len;
	char *yaml = config_arg_read(ctx, args, &len, err);
	json_t *r;

	if (yaml == NULL)
		return NULL;
	conf = conf_load_string(yaml, len, path, err->message, sizeof(err->message));
	free(yaml);
	if (conf == NULL)
		return NULL;
	if (gen_validate(conf, err->message, sizeof(err->message)) < 0) {
		conf_free(conf);
		return NULL;
	}
	r = json_pack("{s:b,s:i,s:i,s:i,s:i,s:i}", "valid", 1, "ports", conf->n_ports,
		      "stages", conf->n_stages, "match_rules", conf->n_matches,
		      "flow_rules", conf->n_flow_rules, "policies", conf->n_policies);
	conf_free(conf);
	return r;
}

static json_t *
cmd_config_apply(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *path = json_string_value(json_object_get(args, "path"));
	char source[300];
	size_t len;
	char *yaml = config_arg_read(app, args, &len, err);
	uint64_t id;

	if (yaml == NULL)
		return NULL;
	snprintf(source, sizeof(source), "file:%s", path);
	/* A new file keeps the release state (what runs where). */
	id = umbra_apply(app, yaml, len, path, gen_current(&app->dp.pub)->state,
			 source, 0, false, err->message, sizeof(err->message));
	free(yaml);
	return id ? json_pack("{s:I}", "generation", (json_int_t)id) : NULL;
}

void
umbra_reload(struct umbra_app *app)
{
	const char *path = app->opts.conf_file;
	char err[512], source[300];
	size_t len;
	char *yaml = umbra_read_file(path, &len, err, sizeof(err));
	uint64_t id = 0;

	snprintf(source, sizeof(source), "sighup:file:%s", path);
	if (yaml != NULL)
		id = umbra_apply(app, yaml, len, path, gen_current(&app->dp.pub)->state,
				 source, 0, false, err, sizeof(err));
	free(yaml);
	if (id != 0) {
		printf("umbra: SIGHUP: %s applied as generation %llu\n", path,
		       (unsigned long long)id);
		fflush(stdout);
	} else {
		fprintf(stderr, "umbra: SIGHUP: %s not applied, generation %llu still "
			"runs: %s\n", path,
			(unsigned long long)gen_current(&app->dp.pub)->id, err);
	}
}

/* The snapshot named by args.generation, or the current one. */
static const struct gen_snapshot *
snapshot_arg(struct umbra_app *app, json_t *args, struct mgmt_error *err)
{
	json_t *gen = json_object_get(args, "generation");
	uint64_t id = gen ? (uint64_t)json_integer_value(gen) :
			    gen_current(&app->dp.pub)->id;
	const struct gen_snapshot *sn = gen_store_get(&app->snapshots, id);

	if (sn == NULL)
		mgmt_fail(err, MGMT_E_FAILED, "no snapshot of generation %llu "
			  "(see snapshot/list)", (unsigned long long)id);
	return sn;
}

static json_t *
snapshot_json(const struct gen_snapshot *sn, bool with_yaml)
{
	char when[32];
	json_t *o;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&sn->time));
	o = json_pack("{s:I,s:s,s:s}", "generation", (json_int_t)sn->id,
		      "source", sn->source, "time", when);
	if (sn->from)
		json_object_set_new(o, "from", json_integer((json_int_t)sn->from));
	if (with_yaml)
		json_object_set_new(o, "yaml", json_stringn(sn->yaml, sn->len));
	return o;
}

static json_t *
cmd_config_show(json_t *args, void *ctx, struct mgmt_error *err)
{
	const struct gen_snapshot *sn = snapshot_arg(ctx, args, err);

	return sn ? snapshot_json(sn, true) : NULL;
}

static json_t *
cmd_snapshot_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *list = json_array();

	(void)args;
	(void)err;
	for (const struct gen_snapshot *sn = app->snapshots.head; sn; sn = sn->next)
		json_array_append_new(list, snapshot_json(sn, false));
	return list;
}

/* Split @p text into at most @p max lines (pointers into a copy). */
static size_t
split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;

	for (char *p = text; *p != '\0' && n < max; n++) {
		char *nl = strchr(p, '\n');

		lines[n] = p;
		if (nl == NULL)
			return n + 1;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

#define DIFF_MAX_LINES 2000

/*
 * Line diff of two snapshots (longest common subsequence): a list of
 * "- line" / "+ line" entries, in order, for what changed.
 */
static json_t *
cmd_snapshot_diff(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_int_t ida = json_integer_value(json_object_get(args, "from"));
	json_int_t idb = json_integer_value(json_object_get(args, "to"));
	const struct gen_snapshot *a = gen_store_get(&app->snapshots, (uint64_t)ida);
	const struct gen_snapshot *b = gen_store_get(&app->snapshots, (uint64_t)idb);
	char *ta, *tb, **la, **lb;
	uint16_t *lcs;
	size_t na, nb, i, j;
	json_t *out = NULL;

	if (a == NULL || b == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "no snapshot of generation %lld (see snapshot/list)",
			  (long long)(a == NULL ? ida : idb));
		return NULL;
	}
	ta = strdup(a->yaml);
	tb = strdup(b->yaml);
	la = calloc(DIFF_MAX_LINES, sizeof(*la));
	lb = calloc(DIFF_MAX_LINES, sizeof(*lb));
	lcs = calloc((size_t)(DIFF_MAX_LINES + 1) * (DIFF_MAX_LINES + 1), sizeof(*lcs));
	if (ta == NULL || tb == NULL || la == NULL || lb == NULL || lcs == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "out of memory");
		goto done;
	}
	na = split_lines(ta, la, DIFF_MAX_LINES);
	nb = split_lines(tb, lb, DIFF_MAX_LINES);
#define L(x, y) lcs[(x) * (nb + 1) + (y)]
	for (i = na; i-- > 0;)
		for (j = nb; j-- > 0;)
			L(i, j) = strcmp(la[i], lb[j]) == 0 ? L(i + 1, j + 1) + 1 :
				  (L(i + 1, j) > L(i, j + 1) ? L(i + 1, j) : L(i, j + 1));
	out = json_array();
	for (i = 0, j = 0; i < na || j < nb;) {
		char line[600];

		if (i < na && j < nb && strcmp(la[i], lb[j]) == 0) {
			i++, j++;
		} else if (i < na && (j == nb || L(i + 1, j) >= L(i, j + 1))) {
			snprintf(line, sizeof(line), "- %s", la[i++]);
			json_array_append_new(out, json_string(line));
		} else {
			snprintf(line, sizeof(line), "+ %s", lb[j++]);
			json_array_append_new(out, json_string(line));
		}
	}
#undef L
done:
	free(ta);
	free(tb);
	free(la);
	free(lb);
	free(lcs);
	return out;
}

static json_t *
cmd_snapshot_rollback(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const struct gen_snapshot *sn = snapshot_arg(app, args, err);
	char name[64], source[64];
	uint64_t id, from;

	if (sn == NULL)
		return NULL;
	from = sn->id;
	snprintf(name, sizeof(name), "generation %llu", (unsigned long long)from);
	snprintf(source, sizeof(source), "rollback:%llu", (unsigned long long)from);
	id = umbra_apply(app, sn->yaml, sn->len, name, sn->state, source, from,
			 json_is_true(json_object_get(args, "migrate")), err->message,
			 sizeof(err->message));
	return id ? json_pack("{s:I,s:I}", "generation", (json_int_t)id,
			      "from", (json_int_t)from) : NULL;
}

/* Established flows follow the current generation too: it is published
 * again with migrate_before set, and each older flow is decided again by
 * its client's next packet (flow_table_migrate()). */
static json_t *
cmd_config_migrate(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const struct umbra_gen *g = gen_current(&app->dp.pub);
	const struct gen_snapshot *sn = gen_store_get(&app->snapshots, g->id);
	uint64_t id;

	(void)args;
	if (sn == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "the YAML of generation %llu is not kept",
			  (unsigned long long)g->id);
		return NULL;
	}
	id = umbra_apply(app, sn->yaml, sn->len, g->conf->file, g->state,
			 "migrate", 0, true, err->message, sizeof(err->message));
	return id ? json_pack("{s:I,s:I}", "generation", (json_int_t)id,
			      "migrate_before", (json_int_t)id) : NULL;
}

int
umbra_cmds_register(struct umbra_app *app)
{
	static const struct mgmt_arg path_arg[] = {
		{ "path", MGMT_ARG_STRING, true }, { NULL },
	};
	static const struct mgmt_arg gen_opt[] = {
		{ "generation", MGMT_ARG_INTEGER, false }, { NULL },
	};
	static const struct mgmt_arg gen_req[] = {
		{ "generation", MGMT_ARG_INTEGER, true }, { NULL },
	};
	static const struct mgmt_arg rollback_args[] = {
		{ "generation", MGMT_ARG_INTEGER, true }, { "migrate", MGMT_ARG_BOOLEAN, false },
		{ NULL },
	};
	static const struct mgmt_arg diff_args[] = {
		{ "from", MGMT_ARG_INTEGER, true }, { "to", MGMT_ARG_INTEGER, true },
		{ NULL },
	};
	static const struct mgmt_arg memory_args[] = {
		{ "trim", MGMT_ARG_BOOLEAN, false }, { NULL },
	};
	static const struct mgmt_arg flows_args[] = {
		{ "top", MGMT_ARG_INTEGER, false }, { "stage", MGMT_ARG_STRING, false },
		{ NULL },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "status", "Generation, workers, ports, uptime.", NULL, cmd_status },
		{ "stats", "All counters: ports, queues, stages, rules, drops, workers.",
		  NULL, cmd_stats },
		{ "flows", "Biggest flows by bytes (top N, optionally of one stage).",
		  flows_args, cmd_flows },
		{ "memory", "Resident size, heap, SQLite and DPDK memory (trim=true: "
		  "give free heap pages back first).", memory_args, cmd_memory },
		{ "config/validate", "Check a configuration file without applying it.",
		  path_arg, cmd_config_validate },
		{ "config/apply", "Publish a configuration file as the next generation; "
		  "established flows keep theirs.", path_arg, cmd_config_apply },
		{ "config/show", "YAML of a generation (default: the current one).",
		  gen_opt, cmd_config_show },
		{ "snapshot/list", "Every generation kept: number, source, time.",
		  NULL, cmd_snapshot_list },
		{ "snapshot/show", "YAML of a generation.", gen_req, cmd_config_show },
		{ "snapshot/diff", "Lines that differ between two generations' YAML.",
		  diff_args, cmd_snapshot_diff },
		{ "snapshot/rollback", "Re-publish an earlier generation as a new one "
		  "(migrate=true: established flows follow it too).",
		  rollback_args, cmd_snapshot_rollback },
		{ "config/migrate", "Established flows follow the current generation "
		  "too (dropped from the flow tables, decided again at their next "
		  "packet).", NULL, cmd_config_migrate },
	};

	return mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app);
}
