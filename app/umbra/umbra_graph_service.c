/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The service registry's commands: service/register, service/deregister,
 * service/list and service/report (a host agent's periodic JSON report).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "umbra_graph_private.h"

static int
addr_parse(const char *text, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

static json_t *
reg_entry_json(const struct umbra_conf *c, const struct graph_reg_entry *e, uint64_t now)
{
	char ip[64];

	graph_addr_str(e->family, e->addr, ip, sizeof(ip));
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:I}", "name", e->name,
			 "version", e->version, "stage", ug_stage_name(c, e->stage),
			 "address", ip, "port", (int)e->port,
			 "source", graph_reg_source_names[e->source], "ttl_s", (int)e->ttl_s,
			 "expires_in_ms", (json_int_t)(e->expires_ms == UINT64_MAX ? -1 :
			 e->expires_ms > now ? (json_int_t)(e->expires_ms - now) : 0));
}

static json_t *
service_list_json(struct umbra_app *app, const char *name)
{
	struct umbra_graph *gr = app->graph;
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	const struct graph_reg_entry *e;
	uint64_t now = ug_now_ms(gr);
	uint32_t cursor = 0;
	json_t *a = json_array();

	graph_registry_expire(gr->reg, now);
	while ((e = graph_registry_next(gr->reg, &cursor)) != NULL)
		if (name == NULL || strcmp(name, e->name) == 0)
			json_array_append_new(a, reg_entry_json(c, e, now));
	return json_pack("{s:o}", "services", a);
}

/* name, stage, address, port, version, ttl_s into @p e. */
static int
reg_entry_of(struct umbra_app *app, json_t *args, struct graph_reg_entry *e,
	     struct mgmt_error *err)
{
	const char *name = ug_arg_str(args, "name"), *version = ug_arg_str(args, "version");
	json_int_t port = json_integer_value(json_object_get(args, "port"));
	json_t *ttl = json_object_get(args, "ttl_s");

	memset(e, 0, sizeof(*e));
	if (ug_stage_arg(app, args, false, &e->stage, err) < 0)
		return -1;
	if (addr_parse(ug_arg_str(args, "address"), &e->family, e->addr) < 0) {
		mgmt_fail(err, NULL, "address= is an IPv4 or IPv6 address, not '%s'",
			  ug_arg_str(args, "address") ? ug_arg_str(args, "address") : "");
		return -1;
	}
	if (port < 0 || port > 65535) {
		mgmt_fail(err, NULL, "port= is 0 (any) .. 65535");
		return -1;
	}
	e->port = (uint16_t)port;
	if (strlen(name) >= sizeof(e->name) ||
	    (version != NULL && strlen(version) >= sizeof(e->version))) {
		mgmt_fail(err, NULL, "name= is at most %zu characters, version= %zu",
			  sizeof(e->name) - 1, sizeof(e->version) - 1);
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->version, sizeof(e->version), "%s", version ? version : "");
	e->ttl_s = ttl == NULL ? 30 : (uint32_t)json_integer_value(ttl);
	if (ttl != NULL && (json_integer_value(ttl) < 1 || json_integer_value(ttl) > 86400)) {
		mgmt_fail(err, NULL, "ttl_s= is 1 .. 86400 seconds (renewed by registering again)");
		return -1;
	}
	return 0;
}

json_t *
ug_cmd_service_register(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct graph_reg_entry e;
	int rc;

	if (reg_entry_of(app, args, &e, err) < 0)
		return NULL;
	rc = graph_registry_register(app->graph->reg, &e, GRAPH_REG_API, ug_now_ms(app->graph));
	if (rc == -ENOSPC) {
		struct graph_registry_info ri;

		graph_registry_info(app->graph->reg, &ri);
		mgmt_fail(err, NULL, "the service registry is full (%u entries: graph: "
			  "max_registry)", ri.capacity);
		return NULL;
	}
	if (rc < 0) {
		mgmt_fail(err, NULL, "'%s' is no valid service name (letters, digits, '.', "
			  "'-', '_') or version", e.name);
		return NULL;
	}
	return service_list_json(app, e.name);
}

json_t *
ug_cmd_service_deregister(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = ug_arg_str(args, "name"), *address = ug_arg_str(args, "address");
	json_int_t port = json_integer_value(json_object_get(args, "port"));
	uint8_t family = 0, addr[16];
	uint16_t stage;
	unsigned int n;

	if (ug_stage_arg(app, args, false, &stage, err) < 0)
		return NULL;
	if (address != NULL && addr_parse(address, &family, addr) < 0) {
		mgmt_fail(err, NULL, "address= is an IPv4 or IPv6 address, not '%s'", address);
		return NULL;
	}
	if (port < 0 || port > 65535) {
		mgmt_fail(err, NULL, "port= is 0 (any) .. 65535");
		return NULL;
	}
	n = graph_registry_deregister(app->graph->reg, name, stage, family,
				      address ? addr : NULL, (uint16_t)port);
	if (n == 0) {
		mgmt_fail(err, NULL, "no registered service '%s'%s (configured ones stay)",
			  name, address ? " at that address" : "");
		return NULL;
	}
	return json_pack("{s:i}", "removed", (int)n);
}

json_t *
ug_cmd_service_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	(void)err;
	return service_list_json(ctx, ug_arg_str(args, "name"));
}

/* A host agent's report: [{"service":..,"ip":..,"port":..}, ...]. */
json_t *
ug_cmd_service_report(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *report = json_object_get(args, "report"), *item;
	struct graph_reg_entry e[64];
	size_t i;
	unsigned int taken;

	if (json_array_size(report) > RTE_DIM(e)) {
		mgmt_fail(err, NULL, "a report lists at most %zu services", RTE_DIM(e));
		return NULL;
	}
	json_array_foreach(report, i, item) {
		const char *svc = json_string_value(json_object_get(item, "service"));
		const char *ip = json_string_value(json_object_get(item, "ip"));
		json_t *port = json_object_get(item, "port");

		memset(&e[i], 0, sizeof(e[i]));
		if (!json_is_object(item) || svc == NULL || strlen(svc) >= sizeof(e[i].name) ||
		    addr_parse(ip, &e[i].family, e[i].addr) < 0 ||
		    (port != NULL && (!json_is_integer(port) || json_integer_value(port) < 0 ||
				      json_integer_value(port) > 65535))) {
			mgmt_fail(err, NULL, "report[%zu] is not {\"service\": name, \"ip\": "
				  "address, \"port\": 0..65535}", i);
			return NULL;
		}
		snprintf(e[i].name, sizeof(e[i].name), "%s", svc);
		e[i].port = (uint16_t)json_integer_value(port);
		e[i].stage = GRAPH_ANY;
	}
	taken = graph_registry_agent_report(app->graph->reg, e, (unsigned int)i,
					    GRAPH_AGENT_TTL_S, ug_now_ms(app->graph));
	return json_pack("{s:i,s:i}", "taken", (int)taken, "refused", (int)(i - taken));
}

