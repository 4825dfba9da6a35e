/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dependency map's commands: graph/show, graph/record, graph/diff,
 * the helpers the graph commands share (arguments, named edges, DOT),
 * and the table of every graph/ and service/ command.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "umbra_graph_private.h"

const char *
ug_arg_str(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

/* stage= (required when @p need): a stage's index, or GRAPH_ANY. */
int
ug_stage_arg(struct umbra_app *app, json_t *args, bool need, uint16_t *stage,
	  struct mgmt_error *err)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *name = ug_arg_str(args, "stage");
	int i;

	*stage = GRAPH_ANY;
	if (name == NULL) {
		if (need)
			mgmt_fail(err, NULL, "stage= is needed (a stage of the configuration)");
		return need ? -1 : 0;
	}
	i = conf_stage_index(c, name);
	if (i < 0) {
		mgmt_fail(err, NULL, "no stage '%s' in the configuration", name);
		return -1;
	}
	*stage = (uint16_t)i;
	return 0;
}

static int
service_arg(struct umbra_app *app, json_t *args, uint16_t *svc, struct mgmt_error *err)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *name = ug_arg_str(args, "service");

	*svc = GRAPH_ANY;
	if (name == NULL)
		return 0;
	for (uint32_t s = 0; s < c->n_services; s++)
		if (strcmp(c->services[s].name, name) == 0) {
			*svc = (uint16_t)s;
			return 0;
		}
	mgmt_fail(err, NULL, "no service '%s' in the configuration", name);
	return -1;
}

const char *
ug_stage_name(const struct umbra_conf *c, uint16_t stage)
{
	return stage < c->n_stages ? c->stages[stage].name : "any";
}

static const char *
proto_name(uint8_t proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp" :
	       proto == 58 ? "icmpv6" : "other";
}

static void
namer_of(struct umbra_graph *gr, struct graph_namer *n)
{
	*n = (struct graph_namer){ .services = &gr->names, .registry = gr->reg,
				   .dns = gr->dns, .now_ms = ug_now_ms(gr) };
}

static json_t *
key_json(const struct graph_namer *n, const struct umbra_conf *c, const struct graph_key *k)
{
	char client[GRAPH_DNS_NAME_MAX], server[GRAPH_DNS_NAME_MAX], ip[64];
	enum graph_name_src cs = graph_name_client(n, k, client, sizeof(client));
	enum graph_name_src ss = graph_name_server(n, k->stage, k->family, k->server,
						   k->server_port, server, sizeof(server));

	graph_addr_str(k->family, k->server, ip, sizeof(ip));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s}",
			 "client", client, "client_source", graph_name_src_names[cs],
			 "server", server, "server_source", graph_name_src_names[ss],
			 "server_ip", ip, "port", (int)k->server_port,
			 "proto", proto_name(k->proto), "stage", ug_stage_name(c, k->stage));
}

json_t *
ug_snap_json(struct umbra_graph *gr, const struct umbra_conf *c, const struct graph_snap *s)
{
	struct graph_namer n;
	json_t *edges = json_array();

	namer_of(gr, &n);
	for (uint32_t i = 0; i < s->n; i++) {
		const struct graph_snap_edge *e = &s->e[i];
		json_t *o = key_json(&n, c, &e->key);

		json_object_update_new(o, json_pack(
			"{s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:i}",
			"flows", (json_int_t)e->st.flows, "bytes", (json_int_t)e->st.bytes,
			"first_ms", (json_int_t)e->st.first_ms,
			"last_ms", (json_int_t)e->st.last_ms,
			"errors", (int)e->st.errors, "resets", (int)e->st.resets,
			"rtt_avg_us", (int)e->st.rtt_avg_us, "rtt_max_us", (int)e->st.rtt_max_us,
			"max_gap_ms", (int)e->st.max_gap_ms, "active", (int)e->st.active));
		json_array_append_new(edges, o);
	}
	return json_pack("{s:o,s:I,s:I,s:i,s:I}", "edges", edges,
			 "flows", (json_int_t)s->flows, "bytes", (json_int_t)s->bytes,
			 "truncated", (int)s->truncated, "taken_ms", (json_int_t)s->taken_ms);
}

json_t *
ug_dot_json(struct umbra_graph *gr, const struct graph_snap *s, const struct graph_diff *marks,
	 struct mgmt_error *err)
{
	struct graph_namer n;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *o;

	namer_of(gr, &n);
	if (f == NULL || graph_dot_write(f, s, &n, marks) < 0) {
		if (f != NULL)
			fclose(f);
		free(text);
		mgmt_fail(err, NULL, "out of memory for the DOT text");
		return NULL;
	}
	fclose(f);
	o = json_pack("{s:s%}", "dot", text, len);
	free(text);
	return o;
}

/* format=: json (default) or dot. @return 0 json, 1 dot, -1 refused. */
int
ug_format_arg(json_t *args, struct mgmt_error *err)
{
	const char *f = ug_arg_str(args, "format");

	if (f == NULL || strcmp(f, "json") == 0)
		return 0;
	if (strcmp(f, "dot") == 0)
		return 1;
	mgmt_fail(err, NULL, "format= is json or dot, not '%s'", f);
	return -1;
}

static json_t *
cmd_graph_show(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct graph_filter f = { .cohort = GRAPH_ANY };
	int fmt = ug_format_arg(args, err);
	json_t *o;

	if (fmt < 0 || ug_stage_arg(app, args, false, &f.stage, err) < 0 ||
	    service_arg(app, args, &f.service, err) < 0)
		return NULL;
	ug_drain(app);
	graph_snap_take(gr->edges, &f, ug_now_ms(gr), gr->snap);
	if (fmt == 1)
		return ug_dot_json(gr, gr->snap, NULL, err);
	o = ug_snap_json(gr, c, gr->snap);
	json_object_set_new(o, "stage", json_string(ug_stage_name(c, f.stage)));
	return o;
}

/* graph/record enabled=true|false: the workers report new flows, or not. */
static json_t *
cmd_graph_record(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *en = json_object_get(args, "enabled");

	if (en != NULL) {
		if (!json_is_boolean(en)) {
			mgmt_fail(err, NULL, "enabled= is true or false");
			return NULL;
		}
		for (uint16_t i = 0; i < app->dp.n_workers; i++)
			__atomic_store_n(&app->dp.workers[i].graph.paused,
					 (uint8_t)!json_is_true(en), __ATOMIC_RELAXED);
	}
	return json_pack("{s:b}", "enabled", app->dp.n_workers == 0 ||
			 !__atomic_load_n(&app->dp.workers[0].graph.paused, __ATOMIC_RELAXED));
}

static json_t *
diff_json(struct umbra_graph *gr, const struct umbra_conf *c, const struct graph_diff *d)
{
	struct graph_namer n;
	json_t *list = json_array();

	namer_of(gr, &n);
	for (uint32_t i = 0; i < d->n_listed; i++) {
		const struct graph_diff_edge *e = &d->list[i];
		json_t *o = key_json(&n, c, &e->key);

		json_object_update_new(o, json_pack("{s:s,s:f,s:I,s:I,s:I}",
			"change", graph_change_names[e->change], "weight", e->weight,
			"ref_flows", (json_int_t)e->ref_flows,
			"cur_flows", (json_int_t)e->cur_flows,
			"silent_ms", (json_int_t)e->silent_ms));
		json_array_append_new(list, o);
	}
	return json_pack("{s:f,s:f,s:f,s:b,s:s,s:s,s:s,s:i,s:i,s:{s:i,s:i,s:i,s:i},s:o}",
		"score", d->score, "missing_share", d->missing_share,
		"new_share", d->new_share, "above", d->above,
		"mode", graph_dev_mode_name(d->mode), "service", d->service_name,
		"version", d->version, "ref_edges", (int)d->n_ref, "cur_edges", (int)d->n_cur,
		"count", "new", (int)d->count[GRAPH_CHANGE_NEW],
		"missing", (int)d->count[GRAPH_CHANGE_MISSING],
		"changed", (int)d->count[GRAPH_CHANGE_CHANGED],
		"pending", (int)d->count[GRAPH_CHANGE_PENDING], "edges", list);
}

static json_t *
cmd_graph_diff(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const char *against = ug_arg_str(args, "against");
	json_int_t version = json_integer_value(json_object_get(args, "version"));
	json_t *min_gap = json_object_get(args, "min_gap_ms");
	json_t *min_flows = json_object_get(args, "min_flows");
	struct graph_filter f = { .cohort = GRAPH_ANY };
	struct graph_diff_opts opts = gr->opts;
	json_t *to_version = json_object_get(args, "to_version");
	const struct graph_snap *ref, *cur = gr->snap;
	int fmt = ug_format_arg(args, err);
	json_t *o;

	if (fmt < 0 || ug_stage_arg(app, args, true, &f.stage, err) < 0 ||
	    service_arg(app, args, &f.service, err) < 0)
		return NULL;
	/* An edge is new or missing only after k x max(its gap, min_gap_ms)
	 * of reference or silence: shorter for a quick look. */
	if (min_gap != NULL) {
		if (json_integer_value(min_gap) < 1 || json_integer_value(min_gap) > 86400000) {
			mgmt_fail(err, NULL, "min_gap_ms= is 1 .. 86400000");
			return NULL;
		}
		opts.min_gap_ms = (uint32_t)json_integer_value(min_gap);
	}
	if (min_flows != NULL) {
		if (json_integer_value(min_flows) < 1 || json_integer_value(min_flows) > 1000000) {
			mgmt_fail(err, NULL, "min_flows= is 1 .. 1000000");
			return NULL;
		}
		opts.min_flows = (uint32_t)json_integer_value(min_flows);
	}
	if (against == NULL)
		against = "golden";
	ug_drain(app);
	if (strcmp(against, "golden") == 0) {
		if (version < 0 || version > UINT32_MAX) {
			mgmt_fail(err, NULL, "version= is a golden version (1, 2, ...; 0 the latest)");
			return NULL;
		}
		ref = ug_golden_get(app, f.stage, (uint32_t)version, gr->ref);
		if (ref == NULL) {
			mgmt_fail(err, NULL, "no golden graph%s of stage '%s': graph/golden "
				  "action=save stage=%s captures one", version ? " of that version" : "",
				  ug_stage_name(c, f.stage), ug_stage_name(c, f.stage));
			return NULL;
		}
		f.service = GRAPH_ANY;
		if (to_version != NULL) {
			/* Two stored versions: what changed between them. */
			json_int_t tv = json_integer_value(to_version);

			if (tv < 1 || tv > UINT32_MAX ||
			    (cur = ug_golden_get(app, f.stage, (uint32_t)tv, gr->snap)) == NULL) {
				mgmt_fail(err, NULL, "to_version= is a stored golden version of "
					  "stage '%s' (graph/golden action=list shows them)",
					  ug_stage_name(c, f.stage));
				return NULL;
			}
		} else {
			graph_snap_take(gr->edges, &f, ug_now_ms(gr), gr->snap);
		}
	} else if (strcmp(against, "control") == 0) {
		if (f.service == GRAPH_ANY) {
			mgmt_fail(err, NULL, "against=control needs service= (its canary "
				  "cohort is compared with its control cohort)");
			return NULL;
		}
		f.cohort = GRAPH_COHORT_CONTROL;
		graph_snap_take(gr->edges, &f, ug_now_ms(gr), gr->ref);
		f.cohort = GRAPH_COHORT_CANARY;
		graph_snap_take(gr->edges, &f, ug_now_ms(gr), gr->snap);
		ref = gr->ref;
	} else {
		mgmt_fail(err, NULL, "against= is golden or control, not '%s'", against);
		return NULL;
	}
	if (graph_diff(ref, cur, &opts, &gr->names, &gr->diff) < 0) {
		mgmt_fail(err, NULL, "the graphs cannot be compared");
		return NULL;
	}
	if (fmt == 1)
		return ug_dot_json(gr, cur, &gr->diff, err);
	o = diff_json(gr, c, &gr->diff);
	json_object_set_new(o, "against", json_string(against));
	json_object_set_new(o, "stage", json_string(ug_stage_name(c, f.stage)));
	if (strcmp(against, "golden") == 0)
		json_object_set_new(o, "golden_version", json_integer(ref->version));
	if (to_version != NULL)
		json_object_set_new(o, "to_version", json_integer(cur->version));
	return o;
}

int
umbra_graph_register(struct umbra_app *app)
{
	static const struct mgmt_arg show_args[] = {
		{ "stage", MGMT_ARG_STRING, false },
		{ "service", MGMT_ARG_STRING, false },
		{ "format", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg diff_args[] = {
		{ "stage", MGMT_ARG_STRING, true },
		{ "against", MGMT_ARG_STRING, false },
		{ "service", MGMT_ARG_STRING, false },
		{ "version", MGMT_ARG_INTEGER, false },
		{ "format", MGMT_ARG_STRING, false },
		{ "min_gap_ms", MGMT_ARG_INTEGER, false },
		{ "min_flows", MGMT_ARG_INTEGER, false },
		{ "to_version", MGMT_ARG_INTEGER, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg golden_args[] = {
		{ "action", MGMT_ARG_STRING, true },
		{ "stage", MGMT_ARG_STRING, false },
		{ "label", MGMT_ARG_STRING, false },
		{ "version", MGMT_ARG_INTEGER, false },
		{ "format", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg register_args[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ "address", MGMT_ARG_STRING, true },
		{ "port", MGMT_ARG_INTEGER, false },
		{ "stage", MGMT_ARG_STRING, false },
		{ "version", MGMT_ARG_STRING, false },
		{ "ttl_s", MGMT_ARG_INTEGER, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg deregister_args[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ "address", MGMT_ARG_STRING, false },
		{ "port", MGMT_ARG_INTEGER, false },
		{ "stage", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg list_args[] = {
		{ "name", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg report_args[] = {
		{ "report", MGMT_ARG_ARRAY, true },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg record_args[] = {
		{ "enabled", MGMT_ARG_BOOLEAN, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "graph/record", "whether workers report new flows to the map "
		  "(enabled=true|false; flows already reported still send their END)",
		  record_args, cmd_graph_record },
		{ "graph/show", "the dependency map: edges with names (stage=, service=, "
		  "format=json|dot)", show_args, cmd_graph_show },
		{ "graph/diff", "a stage's graph against a golden graph (version=, 0 the "
		  "latest; to_version=: another golden graph instead of the live one), or a "
		  "service's canary cohort against its control (stage=, "
		  "against=golden|control, service=, format=, min_gap_ms=, min_flows=)",
		  diff_args,
		  cmd_graph_diff },
		{ "graph/golden", "golden graphs: action=save|show|list (stage=, label=, "
		  "version=, format=)", golden_args, ug_cmd_graph_golden },
		{ "service/register", "register or renew a service instance (name=, "
		  "address=, port=, stage=, version=, ttl_s=)", register_args,
		  ug_cmd_service_register },
		{ "service/deregister", "remove a service's registrations (name=, "
		  "address=, port=, stage=)", deregister_args, ug_cmd_service_deregister },
		{ "service/list", "the service registry (name=)", list_args, ug_cmd_service_list },
		{ "service/report", "a host agent's report: report=[{service, ip, port}]",
		  report_args, ug_cmd_service_report },
	};

	return mgmt_register_table(app->mgmt, cmds, RTE_DIM(cmds), app);
}

