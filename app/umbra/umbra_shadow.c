/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow commands: shadow/create|list|status|delete|capture (also as
 * /networks/{stage}/shadowing/create|status over HTTP), and the loop timer
 * that drains the workers' record rings into the comparator.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "shadow_capture.h"
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
	shadow_ctl_poll(app->shadows, rte_rdtsc());
}

/* CTL_SHADOWS: the configuration's profiles follow each generation. */
static int
shadows_applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	struct umbra_app *app = ctx;

	return shadow_ctl_set_conf(app->shadows, a->gen->conf, err, errlen);
}

int
umbra_shadow_init(struct umbra_app *app, char *err, size_t errlen)
{
	const struct timeval every = { 0, SHADOW_POLL_MS * 1000 };
	const struct ctl_listener l = {
		.name = "shadows", .applied = shadows_applied, .ctx = app,
	};
	struct shadow_worker *sw[RTE_MAX_LCORE];
	uint16_t n = dp_shadow_workers(&app->dp, sw);

	/* Its tables go through the generations' RCU (dp.spub). */
	app->shadows = shadow_ctl_create(&app->dp.spub, sw, n, rte_get_tsc_hz(),
					 err, errlen);
	if (app->shadows == NULL)
		return -1;
	app->shadow_poll = event_new(app->base, -1, EV_PERSIST, on_shadow_poll, app);
	if (app->shadow_poll == NULL || event_add(app->shadow_poll, &every) != 0 ||
	    ctl_listen(&app->ctl, CTL_SHADOWS, &l) < 0) {
		snprintf(err, errlen, "cannot set up shadow profiles");
		return -1;
	}
	return 0;
}

void
umbra_shadow_fini(struct umbra_app *app)
{
	if (app->shadow_poll != NULL)
		event_free(app->shadow_poll);
	app->shadow_poll = NULL;
	shadow_ctl_free(app->shadows);
	app->shadows = NULL;
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
		rc = shadow_ctl_create_profile(app->shadows, network, text,
					       err->message, sizeof(err->message));
	free(text);
	if (rc < 0)
		return NULL;
	return json_pack("{s:o}", "profiles",
			 shadow_ctl_list_json(app->shadows, network));
}

static json_t *
cmd_shadow_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;

	(void)err;
	return json_pack("{s:o}", "profiles",
			 shadow_ctl_list_json(app->shadows, arg_str(args, "network")));
}

static json_t *
cmd_shadow_status(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = arg_str(args, "name");
	json_t *a;

	/* What the workers have recorded so far is compared first. */
	shadow_ctl_poll(app->shadows, rte_rdtsc());
	a = shadow_ctl_status_json(app->shadows, name, arg_str(args, "network"));
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

	if (shadow_ctl_delete(app->shadows, name) < 0) {
		mgmt_fail(err, NULL, "no shadow profile '%s'", name);
		return NULL;
	}
	return json_pack("{s:o}", "profiles", shadow_ctl_list_json(app->shadows, NULL));
}

/* @p n bytes as standard base64 (padded), a new string; NULL when out of memory. */
static char *
base64_of(const uint8_t *b, size_t n)
{
	static const char d[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3, o += 4) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];

		o[0] = d[v >> 18];
		o[1] = d[(v >> 12) & 63];
		o[2] = d[(v >> 6) & 63];
		o[3] = d[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0);

		*o++ = d[v >> 18];
		*o++ = d[(v >> 12) & 63];
		*o++ = i + 1 < n ? d[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* The pcapng file written into a memory file, as base64 into @p o. */
static int
capture_attach(const struct compare_ctx *cmp, unsigned int slot, json_t *o,
	       struct mgmt_error *err)
{
	int fd = memfd_create("umbra-capture", MFD_CLOEXEC), pkts = -1;
	struct stat st;
	void *map = MAP_FAILED;
	char *b64 = NULL;

	if (fd < 0) {
		mgmt_fail(err, NULL, "no memory file for the capture");
		return -1;
	}
	pkts = shadow_capture_write(cmp, slot, rte_get_tsc_hz(), fd, err->message,
				    sizeof(err->message));
	if (pkts >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED) {
		b64 = base64_of(map, (size_t)st.st_size);
		munmap(map, (size_t)st.st_size);
	}
	close(fd);
	if (pkts < 0)
		return -1;
	if (b64 == NULL) {
		mgmt_fail(err, NULL, "out of memory for the capture");
		return -1;
	}
	json_object_set_new(o, "packets", json_integer(pkts));
	json_object_set_new(o, "size", json_integer((json_int_t)st.st_size));
	json_object_set_new(o, "pcapng_base64", json_string(b64));
	free(b64);
	return 0;
}

/*
 * shadow/capture profile=NAME: the profile's captured mismatches as a
 * pcapng file (base64), with what the capture holds and lost.
 */
static json_t *
cmd_shadow_capture(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = arg_str(args, "profile") ? arg_str(args, "profile") :
			   arg_str(args, "name");
	const struct compare_ctx *cmp;
	struct compare_capture_info info;
	unsigned int slot;
	json_t *o;

	if (name == NULL) {
		mgmt_fail(err, "invalid_args", "profile= names the shadow profile");
		return NULL;
	}
	/* What the workers have recorded so far is compared first. */
	shadow_ctl_poll(app->shadows, rte_rdtsc());
	cmp = shadow_ctl_comparator(app->shadows, name, &slot);
	if (cmp == NULL) {
		mgmt_fail(err, NULL, "no shadow profile '%s' (shadow list shows them)", name);
		return NULL;
	}
	compare_capture_info(cmp, slot, &info);
	o = json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:I}", "profile", name,
		      "format", "pcapng", "exchanges", (int)info.exchanges,
		      "bytes", (int)info.bytes, "captured", (json_int_t)info.kept,
		      "dropped", (json_int_t)info.dropped,
		      "without_evidence", (json_int_t)info.without_evidence);
	if (o == NULL || capture_attach(cmp, slot, o, err) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
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
	static const struct mgmt_arg capture_args[] = {
		{ "profile", MGMT_ARG_STRING, false },
		{ "name", MGMT_ARG_STRING, false },
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
		{ "shadow/capture", "a profile's mismatched exchanges as a pcapng "
		  "file, base64 (profile=)", capture_args, cmd_shadow_capture },
	};

	if (create_args_build() < 0 ||
	    mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app) < 0)
		return -1;
	/* POST /networks/{stage}/shadowing/{action}: shadow/{action}, network={stage}. */
	return mgmt_http_add_route(app->mgmt, "/networks/", "/shadowing/", "shadow/",
				   "network");
}
