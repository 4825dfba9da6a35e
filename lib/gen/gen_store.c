/* SPDX-License-Identifier: BSD-3-Clause */
/* Snapshots of published generations (management core). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_store.h"

void
gen_store_init(struct gen_store *s)
{
	memset(s, 0, sizeof(*s));
}

static void
snapshot_free(struct gen_snapshot *sn)
{
	free(sn->yaml);
	free(sn);
}

int
gen_store_add(struct gen_store *s, uint64_t id, uint64_t from, const char *source,
	      const char *yaml, size_t len)
{
	struct gen_snapshot *sn = calloc(1, sizeof(*sn));

	if (sn == NULL || (sn->yaml = malloc(len + 1)) == NULL) {
		free(sn);
		return -1;
	}
	memcpy(sn->yaml, yaml, len);
	sn->yaml[len] = '\0';
	sn->len = len;
	sn->id = id;
	sn->from = from;
	sn->time = time(NULL);
	snprintf(sn->source, sizeof(sn->source), "%s", source);
	if (s->tail != NULL)
		s->tail->next = sn;
	else
		s->head = sn;
	s->tail = sn;
	if (++s->count > GEN_STORE_MAX) {
		struct gen_snapshot *old = s->head;

		s->head = old->next;
		snapshot_free(old);
		s->count--;
	}
	return 0;
}

const struct gen_snapshot *
gen_store_get(const struct gen_store *s, uint64_t id)
{
	for (const struct gen_snapshot *sn = s->head; sn != NULL; sn = sn->next)
		if (sn->id == id)
			return sn;
	return NULL;
}

void
gen_store_fini(struct gen_store *s)
{
	while (s->head != NULL) {
		struct gen_snapshot *next = s->head->next;

		snapshot_free(s->head);
		s->head = next;
	}
	memset(s, 0, sizeof(*s));
}
