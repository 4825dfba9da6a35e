/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The workflow's memory in the state directory, and the reports built from
 * it (status, history, metrics).
 *
 * workflow.json is the compacted base: {seq, next_id, releases, history},
 * written atomically. Each change is one line appended (and fdatasync'd) to
 * workflow.journal: {seq, next_id, service, releases: that service's list,
 * transitions: the one that changed and those it undid}. Loading replays
 * the lines after the base's seq, upserting transitions by id; a torn last
 * line (umbra stopped while writing it, so never acknowledged) is cut off
 * and logged. Past WF_JOURNAL_MAX lines the base is rewritten and the
 * journal emptied. Anything else unreadable or of the wrong shape refuses
 * the start with a sentence: history is never replaced by an empty one.
 *
 * Both hold the recent window only (wf_history_trim). With a history
 * database attached each noted change is also put into its pending batch
 * (history_wf_put: every transition, whoever flushes commits it), and
 * history, transition and metrics read past the window from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gen_store.h"
#include "history.h"
#include "workflow_private.h"

#define WF_FILE "workflow.json"
#define WF_JOURNAL "workflow.journal"
#define WF_FILE_MAX (256u << 20)   /* 10000 transitions with hook output */
#define WF_JOURNAL_MAX 1000        /* lines before the base is rewritten */

static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* ---- shape checks: what the rest of lib/workflow relies on ---- */

static const char *
transition_bad(const json_t *t)
{
	static const char *const strs[] = { "service", "event", "status" };
	static const char *const opt_strs[] = { "version", "from_stage", "to_stage" };
	static const char *const ints[] = { "generation", "base_generation",
					    "restored_generation", "undone_by" };
	static const char *const arrays[] = { "changes", "hooks", "undoes" };
	size_t i;
	json_t *v;

	if (!json_is_object(t))
		return "is not an object";
	if (!json_is_integer(json_object_get(t, "id")) ||
	    json_integer_value(json_object_get(t, "id")) < 1)
		return "has no positive integer id";
	for (i = 0; i < 3; i++)
		if (!json_is_string(json_object_get(t, strs[i])))
			return "lacks service, event or status as strings";
	for (i = 0; i < 3; i++)
		if ((v = json_object_get(t, opt_strs[i])) != NULL && !json_is_string(v))
			return "has a version or stage that is not a string";
	for (i = 0; i < 4; i++)
		if ((v = json_object_get(t, ints[i])) != NULL && !json_is_integer(v))
			return "has a generation number that is not an integer";
	for (i = 0; i < 3; i++)
		if ((v = json_object_get(t, arrays[i])) != NULL && !json_is_array(v))
			return "has changes, hooks or undoes that are not lists";
	json_array_foreach(json_object_get(t, "changes"), i, v)
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "stage")))
			return "has a change without a stage";
	json_array_foreach(json_object_get(t, "undoes"), i, v)
		if (!json_is_integer(v))
			return "undoes something that is not a transition number";
	if ((v = json_object_get(t, "signature")) != NULL && !json_is_object(v))
		return "has a signature that is not an object";
	return NULL;
}

static const char *
releases_bad(const json_t *list)
{
	size_t i;
	json_t *r;

	if (!json_is_array(list))
		return "is not a list";
	json_array_foreach(list, i, r)
		if (!json_is_object(r) || !json_is_string(json_object_get(r, "version")) ||
		    !json_is_string(json_object_get(r, "stage")) ||
		    !json_is_string(json_object_get(r, "status")))
			return "has a release without version, stage and status strings";
	return NULL;
}

/* Shape of the base; a sentence naming the first thing wrong in @p what. */
static int
base_check(const json_t *o, char *what, size_t len)
{
	const json_t *rel = json_object_get(o, "releases");
	const json_t *hist = json_object_get(o, "history");
	const char *key, *bad;
	size_t i;
	json_t *v;

	if (!json_is_object(o) || !json_is_object(rel) || !json_is_array(hist)) {
		snprintf(what, len, "no releases object or history list");
		return -1;
	}
	if ((v = json_object_get(o, "next_id")) != NULL && !json_is_integer(v)) {
		snprintf(what, len, "next_id is not an integer");
		return -1;
	}
	json_object_foreach((json_t *)rel, key, v)
		if ((bad = releases_bad(v)) != NULL) {
			snprintf(what, len, "releases of '%.64s' %s", key, bad);
			return -1;
		}
	json_array_foreach(hist, i, v)
		if ((bad = transition_bad(v)) != NULL) {
			snprintf(what, len, "history[%zu] %s", i, bad);
			return -1;
		}
	return 0;
}

/* ---- writing ---- */

static void
journal_close(struct workflow *wf)
{
	if (wf->jfd >= 0)
		close(wf->jfd);
	wf->jfd = -1;
}

/* Rewrite the base with everything, then empty the journal. */
int
wf_store_save(struct workflow *wf)
{
	json_t *o;
	char *text;
	int rc = -1;

	if (wf->dir[0] == '\0')
		return 0;
	o = json_pack("{s:I,s:I,s:O,s:O}", "seq", (json_int_t)wf->jseq,
		      "next_id", (json_int_t)wf->next_id, "releases", wf->releases,
		      "history", wf->history);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	/* A failed write keeps the previous base and journal whole. */
	if (text != NULL && gen_store_file_put(wf->dir, WF_FILE, text, strlen(text)) == 0) {
		char path[512];

		/* Lines up to seq are in the base now: a crash before the
		 * truncation only leaves lines that loading skips. */
		snprintf(path, sizeof(path), "%s/%s", wf->dir, WF_JOURNAL);
		journal_close(wf);
		if (truncate(path, 0) != 0 && errno != ENOENT)
			fprintf(stderr, "umbra: cannot empty %s: %s\n", path, strerror(errno));
		wf->jlines = 0;
		rc = 0;
	} else {
		fprintf(stderr, "umbra: cannot write %s/%s: %s\n", wf->dir, WF_FILE,
			strerror(errno));
	}
	free(text);
	json_decref(o);
	return rc;
}

static int
journal_open(struct workflow *wf)
{
	char path[512];

	if (wf->jfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", wf->dir, WF_JOURNAL);
	wf->jfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (wf->jfd < 0)
		return -1;
	gen_store_dir_sync(wf->dir); /* the journal's name, if it was just made */
	return 0;
}

/* One journal line for a change of transition @p t. */
static char *
journal_line(struct workflow *wf, const json_t *t)
{
	const char *svc = str_of(t, "service");
	json_t *list = json_array(), *id, *rel = json_object_get(wf->releases, svc);
	json_t *o;
	char *text;
	size_t i;

	json_array_append(list, (json_t *)t);
	json_array_foreach(json_object_get(t, "undoes"), i, id) {
		json_t *u = workflow_transition(wf, (uint64_t)json_integer_value(id));

		if (u != NULL)
			json_array_append_new(list, u);
	}
	o = json_pack("{s:I,s:I,s:s,s:O,s:o}", "seq", (json_int_t)wf->jseq,
		      "next_id", (json_int_t)wf->next_id, "service", svc,
		      "releases", rel ? rel : json_null(), "transitions", list);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Store transition @p t in the history database's pending batch. */
static void
db_put(struct workflow *wf, const json_t *t)
{
	char *text;

	if (wf->hist == NULL)
		return;
	text = json_dumps(t, JSON_COMPACT);
	if (text == NULL ||
	    history_wf_put(wf->hist, (uint64_t)json_integer_value(json_object_get(t, "id")),
			   str_of(t, "service"), str_of(t, "status"), text) < 0)
		fprintf(stderr, "umbra: workflow: transition %lld not stored: %s\n",
			(long long)json_integer_value(json_object_get(t, "id")),
			text ? history_error(wf->hist) : "out of memory");
	free(text);
}

/* The transition and those it undid (they changed with it) into SQLite. */
static void
db_note(struct workflow *wf, const json_t *t)
{
	size_t i;
	json_t *id;

	db_put(wf, t);
	json_array_foreach(json_object_get(t, "undoes"), i, id) {
		json_t *u = workflow_transition(wf, (uint64_t)json_integer_value(id));

		if (u != NULL)
			db_put(wf, u);
		json_decref(u);
	}
}

void
wf_store_note(struct workflow *wf, const json_t *t)
{
	char *text;
	size_t len;
	int ok;

	db_note(wf, t);
	if (wf->dir[0] == '\0')
		return;
	wf->jseq++;
	if (wf->jlines >= WF_JOURNAL_MAX) {
		wf_store_save(wf);
		return;
	}
	text = journal_line(wf, t);
	if (text == NULL || journal_open(wf) < 0) {
		free(text);
		wf_store_save(wf);
		return;
	}
	len = strlen(text);
	text[len] = '\n'; /* json_dumps' NUL: the line is written with its end */
	ok = write(wf->jfd, text, len + 1) == (ssize_t)(len + 1) && fdatasync(wf->jfd) == 0;
	free(text);
	if (!ok) {
		/* A short line would be taken for a torn one: start over. */
		fprintf(stderr, "umbra: cannot append to %s/%s: %s; rewriting %s\n",
			wf->dir, WF_JOURNAL, strerror(errno), WF_FILE);
		wf_store_save(wf);
		return;
	}
	wf->jlines++;
}

/* ---- loading ---- */

static json_t *
history_find(json_t *history, json_int_t id, size_t *at)
{
	for (size_t i = json_array_size(history); i-- > 0;) {
		json_t *t = json_array_get(history, i);

		if (json_integer_value(json_object_get(t, "id")) == id) {
			*at = i;
			return t;
		}
	}
	return NULL;
}

/* Insert @p t where its @p id keeps the window in id order (an undone
 * transition may come back after newer ones). */
static void
history_insert(json_t *history, json_int_t id, json_t *t)
{
	size_t at = json_array_size(history);

	while (at > 0 && json_integer_value(json_object_get(json_array_get(history, at - 1),
							    "id")) > id)
		at--;
	json_array_insert(history, at, t);
}

/* Apply one journal record; -1 with @p what when it has the wrong shape. */
static int
journal_apply(struct workflow *wf, json_t *rec, char *what, size_t len)
{
	json_t *list = json_object_get(rec, "transitions"), *rel, *t;
	const char *svc = json_string_value(json_object_get(rec, "service")), *bad;
	size_t i, at;

	rel = json_object_get(rec, "releases");
	if (!json_is_object(rec) || svc == NULL || !json_is_array(list) ||
	    !json_is_integer(json_object_get(rec, "next_id")) ||
	    (!json_is_null(rel) && releases_bad(rel) != NULL)) {
		snprintf(what, len, "a record lacks service, next_id, releases or transitions");
		return -1;
	}
	json_array_foreach(list, i, t)
		if ((bad = transition_bad(t)) != NULL) {
			snprintf(what, len, "a transition %s", bad);
			return -1;
		}
	json_array_foreach(list, i, t) {
		json_int_t id = json_integer_value(json_object_get(t, "id"));

		if (history_find(wf->history, id, &at))
			json_array_set(wf->history, at, t);
		else
			history_insert(wf->history, id, t);
	}
	if (!json_is_null(rel))
		json_object_set(wf->releases, svc, rel);
	wf->next_id = (uint64_t)json_integer_value(json_object_get(rec, "next_id"));
	return 0;
}

/* Cut a torn last line off the journal (it was never acknowledged). */
static void
journal_cut(struct workflow *wf, size_t keep, size_t torn)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", wf->dir, WF_JOURNAL);
	fprintf(stderr, "umbra: state: %s: the last record (%zu bytes) is torn, umbra "
		"stopped while writing it; it was never acknowledged and is dropped\n",
		path, torn);
	if (truncate(path, (off_t)keep) != 0)
		fprintf(stderr, "umbra: cannot cut %s: %s\n", path, strerror(errno));
}

static int
journal_replay(struct workflow *wf, const char *text, size_t len, uint64_t base_seq,
	       char *err, size_t errlen)
{
	size_t pos = 0, line = 0;
	char what[160];

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		json_t *rec = nl ? json_loadb(text + pos, n, 0, NULL) : NULL;
		json_int_t seq = json_integer_value(json_object_get(rec, "seq"));

		line++;
		if (rec == NULL && (nl == NULL || nl + 1 == text + len)) {
			journal_cut(wf, pos, len - pos);
			return 0;
		}
		if (rec == NULL || (seq > (json_int_t)base_seq &&
				    journal_apply(wf, rec, what, sizeof(what)) < 0)) {
			snprintf(err, errlen, "%s/%s line %zu is damaged (%s): move %s and "
				 "%s away to start with an empty history, or restore them",
				 wf->dir, WF_JOURNAL, line, rec ? what : "not JSON", WF_FILE,
				 WF_JOURNAL);
			json_decref(rec);
			return -1;
		}
		if (seq > (json_int_t)wf->jseq)
			wf->jseq = (uint64_t)seq;
		json_decref(rec);
		pos += n + 1;
	}
	return 0;
}

/* Read one state file: absent is fine (NULL, no error), anything else
 * unreadable is an error sentence. */
static char *
state_file(struct workflow *wf, const char *name, size_t *len, int *rc, char *err,
	   size_t errlen)
{
	char *text = gen_store_file_get(wf->dir, name, WF_FILE_MAX, len);

	*rc = 0;
	if (text == NULL && errno != ENOENT) {
		snprintf(err, errlen, "%s/%s cannot be read (%s): fix it or move it away "
			 "to start with an empty history", wf->dir, name,
			 errno == EFBIG ? "larger than 256 MiB" :
			 errno == EINVAL ? "not a regular file" : strerror(errno));
		*rc = -1;
	}
	return text;
}

int
wf_store_load(struct workflow *wf, char *err, size_t errlen)
{
	size_t len = 0, jlen = 0;
	char *text, *jtext, what[160];
	json_error_t jerr;
	bool have;
	json_t *o;
	int rc;

	wf->releases = json_object();
	wf->history = json_array();
	wf->jfd = -1;
	if (wf->dir[0] == '\0')
		return 0;
	text = state_file(wf, WF_FILE, &len, &rc, err, errlen);
	if (rc < 0)
		return -1;
	jtext = state_file(wf, WF_JOURNAL, &jlen, &rc, err, errlen);
	if (rc < 0) {
		free(text);
		return -1;
	}
	have = text != NULL;
	o = have ? json_loadb(text, len, 0, &jerr) : json_object();
	free(text);
	if (have && (o == NULL || base_check(o, what, sizeof(what)) < 0)) {
		snprintf(err, errlen, "%s/%s is not a workflow state (%s): move it away "
			 "to start with an empty history, or restore it", wf->dir, WF_FILE,
			 o ? what : jerr.text);
		json_decref(o);
		free(jtext);
		return -1;
	}
	if (have) {
		json_object_update(wf->releases, json_object_get(o, "releases"));
		json_array_extend(wf->history, json_object_get(o, "history"));
		wf->next_id = (uint64_t)json_integer_value(json_object_get(o, "next_id"));
		wf->jseq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	}
	rc = jtext ? journal_replay(wf, jtext, jlen, wf->jseq, err, errlen) : 0;
	json_decref(o);
	free(jtext);
	if (wf->next_id == 0)
		wf->next_id = 1;
	return rc;
}

void
wf_store_close(struct workflow *wf)
{
	journal_close(wf);
}

size_t
workflow_generations_in_use(struct workflow *wf, uint64_t *ids, size_t max)
{
	static const char *const keys[] = { "base_generation", "generation",
					    "restored_generation" };
	json_t *seen = json_object();
	size_t n = 0;

	/* Each service's last transition: the generations on both sides of it
	 * are where a rollback to_generation most likely goes. */
	for (size_t i = json_array_size(wf->history); i-- > 0 && n + 3 <= max;) {
		json_t *t = json_array_get(wf->history, i);

		if (json_object_get(seen, str_of(t, "service")) != NULL)
			continue;
		json_object_set_new(seen, str_of(t, "service"), json_true());
		for (int k = 0; k < 3; k++)
			if (json_integer_value(json_object_get(t, keys[k])) > 0)
				ids[n++] = (uint64_t)json_integer_value(json_object_get(t, keys[k]));
	}
	json_decref(seen);
	return n;
}

json_t *
wf_state_of(void *ctx, uint64_t id)
{
	struct workflow *wf = ctx;
	const char *text = wf->ops.state_of(wf->ctx, id);

	return text ? json_loads(text, 0, NULL) : NULL;
}

static json_t *
service_status(struct workflow *wf, const struct umbra_conf *c, uint32_t si,
	       const json_t *state)
{
	const struct conf_service *svc = &c->services[si];
	json_t *stages = json_array(), *o;

	for (uint8_t p = 0; p < c->workflow.n_pipeline; p++) {
		const char *st = c->stages[c->workflow.pipeline[p].stage].name;
		json_t *slot = wf_slot(state, svc->name, st);

		o = json_pack("{s:s}", "stage", st);
		if (slot != NULL)
			json_object_update(o, slot);
		json_array_append_new(stages, o);
	}
	o = json_pack("{s:s,s:o,s:O}", "service", svc->name, "stages", stages,
		      "releases", json_object_get(wf->releases, svc->name) ?
		      json_object_get(wf->releases, svc->name) : json_array());
	if (json_object_get(wf->busy, svc->name) != NULL)
		json_object_set(o, "running", json_object_get(wf->busy, svc->name));
	if (svc->rollout.n_steps) {
		json_t *steps = json_array();

		for (uint8_t i = 0; i < svc->rollout.n_steps; i++)
			json_array_append_new(steps, json_real(svc->rollout.steps_bp[i] / 100.0));
		json_object_set_new(o, "rollout", json_pack("{s:s,s:o,s:i}", "stage",
			c->stages[svc->rollout.stage].name, "steps_percent", steps,
			"hold_s", (int)svc->rollout.hold_s));
	}
	return o;
}

json_t *
workflow_status(struct workflow *wf, const char *service)
{
	const struct umbra_conf *c = wf->ops.conf(wf->ctx);
	uint64_t gen;
	json_t *state = json_loads(wf->ops.state(wf->ctx, &gen), 0, NULL);
	json_t *list = json_array(), *pipeline = json_array();

	for (uint8_t p = 0; p < c->workflow.n_pipeline; p++) {
		static const char *const on[] = { "code_commit", "auto", "test_completion",
						  "manual_approval" };

		json_array_append_new(pipeline, json_pack("{s:s,s:s}", "stage",
			c->stages[c->workflow.pipeline[p].stage].name,
			"on", on[c->workflow.pipeline[p].on]));
	}
	for (uint32_t i = 0; i < c->n_services; i++)
		if (service == NULL || strcmp(service, c->services[i].name) == 0)
			json_array_append_new(list, service_status(wf, c, i, state));
	json_decref(state);
	return json_pack("{s:I,s:o,s:o}", "generation", (json_int_t)gen,
			 "pipeline", pipeline, "services", list);
}

int
workflow_attach_history(struct workflow *wf, struct history *hist, char *err,
			size_t errlen)
{
	size_t i;
	json_t *t;

	if (wf == NULL || hist == NULL) {
		snprintf(err, errlen, "workflow: no workflow or history database to attach");
		return -1;
	}
	wf->hist = hist;
	/* What the window holds now (from workflow.json, possibly written by an
	 * umbra without the database) is stored before the window shrinks. */
	json_array_foreach(wf->history, i, t)
		db_put(wf, t);
	wf_history_trim(wf, wf->ops.conf(wf->ctx));
	wf_store_save(wf);
	return 0;
}

/* The window's transition @p id (borrowed), or NULL: binary search, the
 * window is in id order. */
static json_t *
window_find(const struct workflow *wf, uint64_t id)
{
	size_t lo = 0, hi = json_array_size(wf->history);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		json_t *t = json_array_get(wf->history, mid);
		uint64_t tid = (uint64_t)json_integer_value(json_object_get(t, "id"));

		if (tid == id)
			return t;
		if (tid < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Window transitions of @p service below @p before, newest first. */
static json_t *
window_list(struct workflow *wf, const char *service, size_t limit, uint64_t before)
{
	json_t *out = json_array();

	for (size_t i = json_array_size(wf->history); i-- > 0 &&
	     json_array_size(out) < limit;) {
		json_t *t = json_array_get(wf->history, i);

		if ((before == 0 ||
		     (uint64_t)json_integer_value(json_object_get(t, "id")) < before) &&
		    (service == NULL || strcmp(str_of(t, "service"), service) == 0))
			json_array_append(out, t);
	}
	return out;
}

struct db_rows {
	struct workflow *wf;
	json_t *out;
};

/* A stored record; the window's copy when it has one (a running
 * transition's hooks are fresher there). */
static int
db_row(uint64_t id, const char *record, void *ctx)
{
	struct db_rows *r = ctx;
	json_t *t = window_find(r->wf, id);

	if (t != NULL)
		json_array_append(r->out, t);
	else if ((t = json_loads(record, 0, NULL)) != NULL)
		json_array_append_new(r->out, t);
	return 0;
}

static uint64_t
id_of(const json_t *t)
{
	return (uint64_t)json_integer_value(json_object_get(t, "id"));
}

/* Merge two newest-first lists by id (no duplicates), at most @p limit. */
static json_t *
merge(json_t *a, json_t *b, size_t limit)
{
	json_t *out = json_array();
	size_t i = 0, k = 0;

	while (json_array_size(out) < limit &&
	       (i < json_array_size(a) || k < json_array_size(b))) {
		json_t *x = json_array_get(a, i), *y = json_array_get(b, k);

		if (y == NULL || (x != NULL && id_of(x) > id_of(y))) {
			json_array_append(out, x);
			i++;
		} else if (x == NULL || id_of(y) > id_of(x)) {
			json_array_append(out, y);
			k++;
		} else {
			json_array_append(out, x);
			i++;
			k++;
		}
	}
	json_decref(a);
	json_decref(b);
	return out;
}

json_t *
workflow_history(struct workflow *wf, const char *service, size_t limit, uint64_t before)
{
	json_t *mem = window_list(wf, service, limit, before);
	struct db_rows rows = { wf, NULL };

	if (wf->hist == NULL)
		return mem;
	rows.out = json_array();
	if (history_wf_each(wf->hist, service, before,
			    limit > UINT32_MAX ? UINT32_MAX : (unsigned int)limit,
			    db_row, &rows) < 0)
		fprintf(stderr, "umbra: workflow: %s; listing the recent window only\n",
			history_error(wf->hist));
	/* The window is in the database too; merging keeps a transition that
	 * could not be stored. */
	return merge(mem, rows.out, limit);
}

json_t *
workflow_transition(struct workflow *wf, uint64_t id)
{
	json_t *t = window_find(wf, id);
	struct db_rows rows = { wf, NULL };

	if (t != NULL || wf->hist == NULL || id == 0 || id >= UINT64_MAX)
		return t ? json_incref(t) : NULL;
	rows.out = json_array();
	if (history_wf_each(wf->hist, NULL, id + 1, 1, db_row, &rows) > 0 &&
	    id_of(json_array_get(rows.out, 0)) == id)
		t = json_incref(json_array_get(rows.out, 0));
	json_decref(rows.out);
	return t;
}

static void
count(json_t *o, const char *key)
{
	json_object_set_new(o, key, json_integer(
		json_integer_value(json_object_get(o, key)) + 1));
}

/* Counts from the database (every transition, not only the window). */
static void
count_add(const char *status, uint64_t n, void *ctx)
{
	json_object_set_new(ctx, status ? status : "", json_integer((json_int_t)n));
}

json_t *
workflow_metrics(struct workflow *wf)
{
	json_t *by_status = json_object(), *releases = json_array();
	const char *svc;
	size_t i;
	json_t *t, *list;

	if (wf->hist == NULL || history_wf_count(wf->hist, count_add, by_status) < 0)
		json_array_foreach(wf->history, i, t)
			count(by_status, str_of(t, "status"));
	json_object_foreach(wf->releases, svc, list)
		json_array_foreach(list, i, t)
			if (strcmp(str_of(t, "status"), WF_ACTIVE) == 0 ||
			    strcmp(str_of(t, "status"), WF_ROLLING_OUT) == 0)
				json_array_append_new(releases, json_pack("{s:s,s:O,s:O,s:O}",
					"service", svc, "version", json_object_get(t, "version"),
					"stage", json_object_get(t, "stage"),
					"status", json_object_get(t, "status")));
	return json_pack("{s:o,s:o,s:I}", "transitions", by_status, "releases", releases,
			 "running", (json_int_t)json_object_size(wf->busy));
}
