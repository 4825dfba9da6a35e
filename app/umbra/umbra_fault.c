/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fault and chaos commands: fault/add|list|clear, chaos/start|stop|list,
 * and the loop timer that ends leases on time (lib/fault does the rest).
 */
#include <string.h>

#include <rte_cycles.h>

#include "umbra.h"
#include "umbra_args.h"

/* End what has lapsed, then sleep until the next lease ends. */
static void
fault_timer_arm(struct umbra_app *app)
{
	uint64_t now = rte_rdtsc(), next = fault_ctl_expire(app->faults, now);
	uint64_t us;
	struct timeval tv;

	if (next == UINT64_MAX) {
		evtimer_del(app->fault_timer);
		return;
	}
	us = (next - now) * 1000000 / rte_get_tsc_hz() + 1;
	tv = (struct timeval){ .tv_sec = (time_t)(us / 1000000),
			       .tv_usec = (suseconds_t)(us % 1000000) };
	evtimer_add(app->fault_timer, &tv);
}

static void
on_fault_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fault_timer_arm(arg);
}

/* CTL_FAULTS: the rules follow each generation; the lease timer is re-armed. */
static int
faults_applied(void *ctx, const struct ctl_applied *a, char *err, size_t errlen)
{
	struct umbra_app *app = ctx;
	int rc = fault_ctl_set_conf(app->faults, a->gen->conf, err, errlen);

	fault_timer_arm(app);
	return rc;
}

static void
faults_refresh(void *fc)
{
	fault_ctl_refresh(fc);
}

int
umbra_fault_init(struct umbra_app *app, char *err, size_t errlen)
{
	const struct ctl_listener l = {
		.name = "faults", .applied = faults_applied, .ctx = app,
	};
	struct fault_rule_counters *cnt[RTE_MAX_LCORE];
	uint16_t n = dp_fault_counters(&app->dp, cnt);

	/* Its tables go through the generations' RCU (dp.fpub). */
	app->faults = fault_ctl_create(&app->dp.fpub, cnt, n, rte_get_tsc_hz(),
				       err, errlen);
	if (app->faults == NULL)
		return -1;
	/* Faults aimed at a shadow profile follow it: its slot, its end. */
	fault_ctl_set_shadow_resolver(app->faults, shadow_ctl_slot_of, app->shadows);
	shadow_ctl_on_change(app->shadows, faults_refresh, app->faults);
	app->fault_timer = evtimer_new(app->base, on_fault_timer, app);
	if (app->fault_timer == NULL || ctl_listen(&app->ctl, CTL_FAULTS, &l) < 0) {
		snprintf(err, errlen, "cannot set up fault rules");
		return -1;
	}
	return 0;
}

void
umbra_fault_fini(struct umbra_app *app)
{
	if (app->fault_timer != NULL)
		event_free(app->fault_timer);
	app->fault_timer = NULL;
	if (app->shadows != NULL)
		shadow_ctl_on_change(app->shadows, NULL, NULL);
	fault_ctl_free(app->faults);
	app->faults = NULL;
}

static json_t *
faults_json(struct umbra_app *app)
{
	return json_pack("{s:o, s:I}", "rules", fault_ctl_rules_json(app->faults),
			 "inflight", (json_int_t)dp_delayed_total(&app->dp));
}

static json_t *
cmd_fault_add(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	char *text = json_dumps(args, JSON_COMPACT);
	uint32_t id;

	if (text == NULL) {
		mgmt_fail(err, NULL, "out of memory");
		return NULL;
	}
	id = fault_ctl_add(app->faults, text, err->message, sizeof(err->message));
	free(text);
	if (id == 0)
		return NULL;
	fault_timer_arm(app);
	return json_pack("{s:I, s:o}", "id", (json_int_t)id, "faults", faults_json(app));
}

static json_t *
cmd_fault_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	(void)args;
	(void)err;
	return faults_json(ctx);
}

static json_t *
cmd_fault_clear(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	json_t *id = json_object_get(args, "id");
	uint32_t n;

	if (json_is_true(json_object_get(args, "all"))) {
		n = fault_ctl_clear_all(app->faults);
	} else if (id != NULL) {
		if (fault_ctl_remove(app->faults, (uint32_t)json_integer_value(id)) < 0) {
			mgmt_fail(err, NULL, "no run-time fault %lld (fault list shows "
				  "them; rules of the configuration go with config apply)",
				  (long long)json_integer_value(id));
			return NULL;
		}
		n = 1;
	} else {
		mgmt_fail(err, MGMT_E_ARGS, "give id=N for one fault, or all=true");
		return NULL;
	}
	fault_timer_arm(app);
	return json_pack("{s:i, s:o}", "removed", (int)n, "faults", faults_json(app));
}

static json_t *
cmd_chaos_start(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *d = json_string_value(json_object_get(args, "duration"));
	uint64_t ns = 0;

	if (d != NULL && (conf_duration_parse(d, &ns) < 0 || ns == 0)) {
		mgmt_fail(err, MGMT_E_ARGS, "duration '%s' is not a duration such "
			  "as 30s or 5m", d);
		return NULL;
	}
	if (fault_ctl_scenario_start(app->faults,
				     json_string_value(json_object_get(args, "name")),
				     ns, err->message, sizeof(err->message)) < 0)
		return NULL;
	fault_timer_arm(app);
	return fault_ctl_scenarios_json(app->faults);
}

static json_t *
cmd_chaos_stop(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	const char *name = json_string_value(json_object_get(args, "name"));

	if (fault_ctl_scenario_stop(app->faults, name) < 0) {
		mgmt_fail(err, NULL, "scenario '%s' is not running", name);
		return NULL;
	}
	fault_timer_arm(app);
	return fault_ctl_scenarios_json(app->faults);
}

static json_t *
cmd_chaos_list(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;

	(void)args;
	(void)err;
	return fault_ctl_scenarios_json(app->faults);
}

/* fault/add: a faults: item (lib/conf's key table) with a lease. */
static struct mgmt_arg fault_add_args[CONF_FAULT_RULE_KEYS + 1];

/* shadow/inject_fault: the same, aimed at a shadow profile of a network
 * (which says the target: no stage, from_stage, service or shadow). */
static struct mgmt_arg inject_args[CONF_FAULT_RULE_KEYS + 3];

static int
fault_args_build(void)
{
	static const struct mgmt_arg add_head[] = {
		{ "kind", MGMT_ARG_STRING, true },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg inject_head[] = {
		{ "kind", MGMT_ARG_STRING, true },
		{ "network", MGMT_ARG_STRING, true },
		{ "profile", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const char *const inject_skip[] = {
		"stage", "from_stage", "service", "shadow", NULL,
	};

	if (umbra_args_from_keys(fault_add_args, RTE_DIM(fault_add_args), add_head,
				 conf_fault_rule_keys, NULL) < 0 ||
	    umbra_args_from_keys(inject_args, RTE_DIM(inject_args), inject_head,
				 conf_fault_rule_keys, inject_skip) < 0)
		return -1;
	return 0;
}

/*
 * The profile of @p network an injected fault is for: the one named, or
 * the network's only active one. @return 0 with its name in @p out, or -1.
 */
static int
inject_profile(struct umbra_app *app, json_t *args, char *out, size_t len,
	       struct mgmt_error *err)
{
	const char *network = json_string_value(json_object_get(args, "network"));
	const char *want = json_string_value(json_object_get(args, "profile"));
	struct shadow_profile_info p[CONF_MAX_SHADOWS];
	unsigned int all = shadow_ctl_profiles(app->shadows, network, p, RTE_DIM(p));
	size_t n = 0;

	for (unsigned int i = 0; i < all; i++) {
		if (!p[i].active || (want != NULL && strcmp(p[i].name, want) != 0))
			continue;
		snprintf(out, len, "%s", p[i].name);
		n++;
	}
	if (n == 1)
		return 0;
	if (n == 0)
		mgmt_fail(err, NULL, "network '%s' has no active shadow profile%s%s",
			  network, want ? " called " : "", want ? want : "");
	else
		mgmt_fail(err, MGMT_E_ARGS, "network '%s' has %zu shadow profiles: "
			  "say which with profile=", network, n);
	return -1;
}

static json_t *
cmd_shadow_inject_fault(json_t *args, void *ctx, struct mgmt_error *err)
{
	char profile[CONF_NAME_MAX];
	json_t *fields, *res;

	if (inject_profile(ctx, args, profile, sizeof(profile), err) < 0)
		return NULL;
	fields = json_deep_copy(args);
	json_object_set_new(fields, "shadow", json_string(profile));
	json_object_del(fields, "network");
	json_object_del(fields, "profile");
	res = cmd_fault_add(fields, ctx, err);
	json_decref(fields);
	return res;
}

int
umbra_fault_register(struct umbra_app *app)
{
	static const struct mgmt_arg clear_args[] = {
		{ "id", MGMT_ARG_INTEGER, false },
		{ "all", MGMT_ARG_BOOLEAN, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg start_args[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ "duration", MGMT_ARG_STRING, false },
		{ NULL, 0, false },
	};
	static const struct mgmt_arg name_arg[] = {
		{ "name", MGMT_ARG_STRING, true },
		{ NULL, 0, false },
	};
	static const struct mgmt_command_def cmds[] = {
		{ "fault/add", "add a fault with a lease (kind=... target, "
		  "selection, parameters, duration=)", fault_add_args, cmd_fault_add },
		{ "fault/list", "active faults, their leases and counters", NULL,
		  cmd_fault_list },
		{ "fault/clear", "remove a run-time fault (id=N) or every one and "
		  "every scenario (all=true)", clear_args, cmd_fault_clear },
		{ "chaos/start", "start a chaos scenario of the configuration for "
		  "a duration", start_args, cmd_chaos_start },
		{ "chaos/stop", "end a running chaos scenario now", name_arg,
		  cmd_chaos_stop },
		{ "chaos/list", "scenarios defined, running and recently ended",
		  NULL, cmd_chaos_list },
		{ "shadow/inject_fault", "a fault on what umbra sends to a network's "
		  "shadow profile (network=, profile=, kind=, ...)", inject_args,
		  cmd_shadow_inject_fault },
	};

	if (fault_args_build() < 0)
		return -1;
	return mgmt_register_table(app->mgmt, cmds, sizeof(cmds) / sizeof(cmds[0]), app);
}
