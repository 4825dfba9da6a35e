/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's desired configuration: applied through the one apply road
 * (lib/ctl) when the watch shows a new revision, with this box's local keys (fleet:
 * local:) merged in; and fleet/apply, which validates a file here and
 * writes it with compare-and-swap.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "umbra_fleet_private.h"

/* ---- overrides: top-level keys kept from this box ---------------------- */

/* One top-level block of a YAML text: "key:" at column 0 and the lines
 * under it. key[0] == '\0': lines before the first key (comments, ---). */
struct ytop {
	char key[32];
	const char *p;
	size_t n;
};

#define YTOP_MAX 48

/* The key a column-0 line starts ("name:" or "name :"), or -1 when the line
 * is not one; 0 for a line that belongs to no key (comment, blank, ---). */
static int
line_key(const char *l, const char *end, char *key, size_t cap)
{
	size_t i = 0;

	if (l == end || *l == '\n' || *l == ' ' || *l == '\t' || *l == '#' ||
	    (end - l >= 3 && (strncmp(l, "---", 3) == 0 || strncmp(l, "...", 3) == 0)))
		return 0;
	while (l + i < end && (isalnum((unsigned char)l[i]) || l[i] == '_'))
		i++;
	if (i == 0 || i >= cap)
		return -1;
	memcpy(key, l, i);
	key[i] = '\0';
	while (l + i < end && l[i] == ' ')
		i++;
	return l + i < end && l[i] == ':' ? 1 : -1;
}

/* Split @p text into its top-level blocks. @return how many, or -1. */
static int
ytop_split(const char *text, size_t len, struct ytop *b, char *err, size_t errlen,
	   const char *what)
{
	const char *end = text + len, *l = text;
	int n = 0;

	b[0] = (struct ytop){ .p = text };
	n = 1;
	while (l < end) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *next = nl ? nl + 1 : end;
		char key[32];
		int k = line_key(l, next, key, sizeof(key));

		if (k < 0) {
			snprintf(err, errlen, "%s: fleet local keys need a block mapping at the "
				 "top (one 'key:' per line at column 0), not '%.40s'", what, l);
			return -1;
		}
		if (k == 1) {
			if (n == YTOP_MAX) {
				snprintf(err, errlen, "%s: too many top-level keys", what);
				return -1;
			}
			b[n - 1].n = (size_t)(l - b[n - 1].p);
			b[n++] = (struct ytop){ .p = l };
			snprintf(b[n - 1].key, sizeof(b[n - 1].key), "%s", key);
		}
		l = next;
	}
	b[n - 1].n = (size_t)(end - b[n - 1].p);
	return n;
}

static bool
is_local(const struct umbra_fleet *f, const char *key)
{
	if (strcmp(key, "fleet") == 0)
		return true;   /* membership is always the box's own */
	for (unsigned int i = 0; i < CONF_FLEET_LOCAL_KEYS; i++)
		if ((f->cf.local & (1u << i)) && strcmp(key, conf_fleet_local_keys[i]) == 0)
			return true;
	return false;
}

static const struct ytop *
ytop_find(const struct ytop *b, int n, const char *key)
{
	for (int i = 1; i < n; i++)
		if (strcmp(b[i].key, key) == 0)
			return &b[i];
	return NULL;
}

/* Append @p n bytes, with a newline when the block lacks its last one. */
static void
put_block(char *out, size_t *o, const char *p, size_t n)
{
	memcpy(out + *o, p, n);
	*o += n;
	if (n && p[n - 1] != '\n')
		out[(*o)++] = '\n';
}

char *
fleet_config_merge(struct umbra_fleet *f, const char *yaml, size_t len, size_t *out_len,
		   char *err, size_t errlen)
{
	struct ytop d[YTOP_MAX], l[YTOP_MAX];
	size_t llen, o = 0;
	char *local, *out;
	int nd, nl;

	if (f->cf.local == 0) {   /* nothing local: the text as written */
		out = malloc(len + 1);
		if (out == NULL) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		memcpy(out, yaml, len);
		out[len] = '\0';
		*out_len = len;
		return out;
	}
	local = umbra_read_file(f->app->opts.conf_file, &llen, err, errlen);
	if (local == NULL)
		return NULL;
	nd = ytop_split(yaml, len, d, err, errlen, "the desired configuration");
	nl = nd < 0 ? -1 : ytop_split(local, llen, l, err, errlen, f->app->opts.conf_file);
	out = nl < 0 ? NULL : malloc(len + llen + 2 * YTOP_MAX + 1);
	if (out == NULL) {
		if (nl >= 0)
			snprintf(err, errlen, "out of memory");
		free(local);
		return NULL;
	}
	/* The desired text in its order, each local key replaced by the box's
	 * own (dropped when the box has none), then local keys it lacks. */
	for (int i = 0; i < nd; i++) {
		const struct ytop *mine = i ? ytop_find(l, nl, d[i].key) : NULL;

		if (i == 0 || !is_local(f, d[i].key))
			put_block(out, &o, d[i].p, d[i].n);
		else if (mine != NULL)
			put_block(out, &o, mine->p, mine->n);
	}
	for (int i = 1; i < nl; i++)
		if (is_local(f, l[i].key) && ytop_find(d, nd, l[i].key) == NULL)
			put_block(out, &o, l[i].p, l[i].n);
	out[o] = '\0';
	*out_len = o;
	free(local);
	return out;
}

/* ---- the desired configuration seen ---------------------------------- */

/* The YAML of the running generation (its snapshot), or NULL. */
static const struct gen_snapshot *
running_snapshot(struct umbra_app *app)
{
	return gen_store_get(&app->snapshots, gen_current(&app->dp.pub)->id);
}

static void
refuse(struct umbra_fleet *f, int64_t rev, const char *why)
{
	f->refusals++;
	f->refused_rev = rev;
	snprintf(f->refused, sizeof(f->refused), "%s", why);
	fprintf(stderr, "umbra: fleet: desired configuration revision %" PRId64
		" refused, generation %" PRIu64 " still runs: %s\n", rev,
		gen_current(&f->app->dp.pub)->id, why);
}

static void
applied(struct umbra_fleet *f, int64_t rev, uint64_t gen)
{
	f->applied_rev = rev;
	f->applied_gen = gen;
	f->refused_rev = 0;
	f->refused[0] = '\0';
}

void
fleet_config_seen(struct umbra_fleet *f, const struct etcd_kv *kv)
{
	struct umbra_app *app = f->app;
	const struct gen_snapshot *sn = running_snapshot(app);
	char name[256], source[300], err[512];
	size_t len;
	char *text;
	uint64_t id;

	if (kv->deleted || kv->mod_revision <= f->config_rev)
		return;   /* a deleted configuration leaves the running one */
	f->config_rev = kv->mod_revision;
	f->config_seen_ms = mgmt_now_ms();
	text = fleet_config_merge(f, kv->value, kv->len, &len, err, sizeof(err));
	if (text == NULL) {
		refuse(f, kv->mod_revision, err);
		fleet_report(f, true);
		return;
	}
	/* Already running it (a restart, a resync): nothing to apply. */
	if (sn != NULL && sn->len == len && memcmp(sn->yaml, text, len) == 0) {
		applied(f, kv->mod_revision, sn->id);
		free(text);
		fleet_report(f, true);
		return;
	}
	snprintf(name, sizeof(name), "etcd:%s@%" PRId64 "%s", f->k_config, kv->mod_revision,
		 f->cf.local ? "+local" : "");
	snprintf(source, sizeof(source), "fleet:%s@%" PRId64, f->k_config, kv->mod_revision);
	/* The one road (lib/ctl): validated, checked by every listener,
	 * persisted, published; the release state kept. */
	id = ctl_apply(&app->ctl, &(const struct ctl_change){
			.yaml = text, .len = len, .name = name,
			.state = gen_current(&app->dp.pub)->state, .source = source },
		       err, sizeof(err));
	free(text);
	if (id == 0) {
		refuse(f, kv->mod_revision, err);
	} else {
		f->applies++;
		applied(f, kv->mod_revision, id);
		f->applied_at_ms = fleet_wall_ms();
		f->apply_ms = (double)(mgmt_now_ms() - f->config_seen_ms);
		printf("umbra: fleet: desired configuration revision %" PRId64 " applied as "
		       "generation %" PRIu64 "\n", kv->mod_revision, id);
		fflush(stdout);
	}
	fleet_report(f, true);
}

/* ---- fleet/apply ------------------------------------------------------- */

static void
on_cas(const struct etcd_resp *r, const char *error, void *arg, uint64_t tag)
{
	struct umbra_fleet *f = arg;

	(void)tag;   /* a write's outcome is reported whatever the session */
	if (r == NULL || r->error[0]) {
		snprintf(f->write.state, sizeof(f->write.state), "failed");
		snprintf(f->write.error, sizeof(f->write.error), "%s", r ? r->error : error);
		return;
	}
	if (r->succeeded) {
		snprintf(f->write.state, sizeof(f->write.state), "written");
		f->write.revision = r->revision;
		printf("umbra: fleet: desired configuration written at revision %" PRId64 "\n",
		       r->revision);
		fflush(stdout);
	} else {
		snprintf(f->write.state, sizeof(f->write.state), "conflict");
		f->write.revision = r->n_kvs ? r->kvs[0].mod_revision : 0;
		snprintf(f->write.error, sizeof(f->write.error), "the desired configuration is "
			 "at revision %" PRId64 ", not %" PRId64 ": someone wrote it first; "
			 "read it again and retry", f->write.revision, f->write.expected);
	}
}

/* Load and validate @p yaml named @p name. @return 0, or -1 with err set. */
static int
validate(const char *yaml, size_t len, const char *name, struct mgmt_error *err)
{
	struct umbra_conf *conf = conf_load_string(yaml, len, name, err->message,
						   sizeof(err->message));
	int rc = conf == NULL || gen_validate(conf, err->message, sizeof(err->message)) < 0;

	conf_free(conf);
	return rc ? -1 : 0;
}

/* The file as written, then as this box would run it (its local keys). */
static int
validate_both(struct umbra_fleet *f, const char *yaml, size_t len, const char *path,
	      struct mgmt_error *err)
{
	char name[300];
	size_t mlen;
	char *merged;
	int rc;

	if (validate(yaml, len, path, err) < 0)
		return -1;
	if (f->cf.local == 0)
		return 0;
	merged = fleet_config_merge(f, yaml, len, &mlen, err->message, sizeof(err->message));
	if (merged == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s with %s's local keys", path, f->cf.id);
	rc = validate(merged, mlen, name, err);
	free(merged);
	return rc;
}

json_t *
fleet_cmd_apply(json_t *args, void *ctx, struct mgmt_error *err)
{
	struct umbra_app *app = ctx;
	struct umbra_fleet *f = app->fleet;
	const char *path = json_string_value(json_object_get(args, "path"));
	json_t *rev = json_object_get(args, "revision");
	size_t len;
	char *yaml;
	int64_t expected;

	if (f == NULL) {
		mgmt_fail(err, MGMT_E_FAILED, "no fleet: this umbra is standalone (add fleet: "
			  "to its configuration)");
		return NULL;
	}
	if (!f->synced) {
		mgmt_fail(err, MGMT_E_FAILED, "etcd is not reachable (%s): the desired "
			  "configuration cannot be written now", f->last_error);
		return NULL;
	}
	yaml = conf_read_file(path, app->opts.config_dir, &len, err->message,
			      sizeof(err->message));
	if (yaml == NULL)
		return NULL;
	if (validate_both(f, yaml, len, path, err) < 0) {
		free(yaml);
		return NULL;
	}
	expected = rev ? (int64_t)json_integer_value(rev) : f->config_rev;
	f->write.expected = expected;
	f->write.revision = 0;
	f->write.error[0] = '\0';
	snprintf(f->write.state, sizeof(f->write.state), "submitted");
	if (etcd_call(f->cli, "/v3/kv/txn", etcd_req_cas(f->k_config, yaml, len, expected),
		      on_cas, f, f->epoch) < 0) {
		free(yaml);
		snprintf(f->write.state, sizeof(f->write.state), "failed");
		mgmt_fail(err, MGMT_E_FAILED, "cannot send the write to etcd");
		return NULL;
	}
	free(yaml);
	return json_pack("{s:b,s:I,s:s}", "submitted", 1, "expected_revision",
			 (json_int_t)expected, "see", "fleet/status: write, then config");
}
