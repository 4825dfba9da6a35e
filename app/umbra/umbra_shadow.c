/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow commands: shadow/create|list|status|delete (also as
 * /networks/{stage}/shadowing/create|status over HTTP), and the loop timer
 * that drains the workers' record rings into the comparator.
 */
#include <string.h>

#include <rte_cycles.h>

#include "umbra.h"
#include "umbra_args.h"

/** How often the records of the workers are drained, milliseconds. */
#define SHADOW_POLL_MS 10

static void
on_shadow_poll(evutil_socket_t fd, short what, void *arg)
{
	struct umbra_app *app = arg;

	(void)fd;
	(void)what;
	shadow_ctl_poll(app->dp.shadows, rte_rdtsc());
}

int
umbra_shadow_init(struct umbra_app *app)
{
	const struct timeval every = { 0, SHADOW_POLL_MS * 1000 };

	app->shadow_poll = event_new(app->base, -1, EV_PERSIST, on_shadow_poll, app);
	return app->shadow_poll && event_add(app->shadow_poll, &every) == 0 ? 0 : -1;
}

void
umbra_shadow_conf_changed(struct umbra_app *app, const struct umbra_conf *c)
{
	char err[256];

	if (shadow_ctl_set_conf(app->dp.shadows, c, err, sizeof(err)) < 0)
		fprintf(stderr, "umbra: shadows: %s\n", err);
}

static const char *
arg_str(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

/* A profile's copies meet the policies like every other road out of a stage. */
static int
shadow_check(struct umbra_app *app, const char *text, struct mgmt_error *err)
{
	const struct umbra_conf *c = gen_current(&app->dp.pub)->conf;
	struct conf_shadow s;

	if (conf_shadow_parse(c, text, strlen(text), "shadow create", &s,
			      err->message, sizeof(err->message)) < 0)
		return -1;
	return classify_check_shadow(c, &s, err->message, sizeof(err->message));
}

static json_t *
cmd_shadow_create(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *network = arg_str(args, "network");
	json_t *fields = json_deep_copy(args);
	char *text;
	int rc;

	/* The network (from the URL) is the stage, unless stage says it. */
	json_object_del(fields, "network");
	if (network != NULL && json_object_get(fields, "stage") == NULL)
		json_object_set_new(fields, "stage", json_string(network));
	text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (text == NULL) {
		mgmt_fail(err, NULL, "out of memory");
		return NULL;
	}
	rc = shadow_check(app, text, err);
	if (rc == 0)
		rc = shadow_ctl_create_profile(app->dp.shadows, network, text,
					       err->message, sizeof(err->message));
	free(text);
	if (rc < 0)
		return NULL;
	return json_pack("{s:o}", "profiles",
			 shadow_ctl_list_json(app->dp.shadows, network));
}

static json_t *
cmd_shadow_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;

	(void)err;
	return json_pack("{s:o}", "profiles",
			 shadow_ctl_list_json(app->dp.shadows, arg_str(args, "network")));
}

static json_t *
cmd_shadow_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = arg_str(args, "name");
	json_t *a;

	/* What the workers have recorded so far is compared first. */
	shadow_ctl_poll(app->dp.shadows, rte_rdtsc());
	a = shadow_ctl_status_json(app->dp.shadows, name, arg_str(args, "network"));
	if (name != NULL && json_array_size(a) == 0) {
		json_decref(a);
		mgmt_fail(err, NULL, "no shadow profile '%s' (shadow list shows them)", name);
		return NULL;
	}
	return json_pack("{s:o}", "profiles", a);
}

static json_t *
cmd_shadow_delete(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = arg_str(args, "name");

	if (shadow_ctl_delete(app->dp.shadows, name) < 0) {
		mgmt_fail(err, NULL, "no shadow profile '%s'", name);
		return NULL;
	}
	return json_pack("{s:o}", "profiles", shadow_ctl_list_json(app->dp.shadows, NULL));
}

/* shadow/create: a shadows: item (lib/conf's key table); the network (from
 * the URL) may stand for the stage. */
static struct mgmt_arg create_args[CONF_SHADOW_PROFILE_KEYS + 2];

static int
create_args_build(void)
{
	static const struct mgmt_arg head[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ "network", MGMT_ARG_STRING, false },
		{ "stage", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};

	return umbra_args_from_keys(create_args, RTE_DIM(create_args), head,
				    conf_shadow_profile_keys, NULL);
}

int
umbra_shadow_register(struct umbra_app *app)
{
	static const struct mgmt_arg network_opt[] = {
		{ "network", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg status_args[] = {
		{ "name", MGMT_ARG_STRING, false },
		{ "network", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg name_arg[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ NULL, 0, false },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "shadow/create", "shadow a fraction of a network's flows "
		  "(name=, port=, fraction=, ...)", create_args, cmd_shadow_create },
		{ "shadow/list", "shadow profiles (of network=)", network_opt,
		  cmd_shadow_list },
		{ "shadow/status", "profiles with counters and the comparison of "
		  "shadow and production answers", status_args, cmd_shadow_status },
		{ "shadow/delete", "end a shadow profile and forget its report",
		  name_arg, cmd_shadow_delete },
	};

	if (create_args_build() < 0 ||
	    mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app) < 0)
		return -1;
	/* POST /networks/{stage}/shadowing/{action}: shadow/{action}, network={stage}. */
	return mgmt_http_add_route(app->mgmt, "/networks/", "/shadowing/", "shadow/",
				   "network");
}
