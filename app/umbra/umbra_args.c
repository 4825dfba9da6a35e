/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command arguments from a section's key table (umbra_args.h).
 */
#include <stdbool.h>
#include <string.h>

#include "umbra_args.h"

static const enum mgmt_arg_type arg_type_of[] = {
	[CONF_KEY_STRING] = MGMT_ARG_STRING,
	[CONF_KEY_INTEGER] = MGMT_ARG_INTEGER,
	[CONF_KEY_BOOLEAN] = MGMT_ARG_BOOLEAN,
	[CONF_KEY_SCALAR] = MGMT_ARG_SCALAR,
	[CONF_KEY_OBJECT] = MGMT_ARG_OBJECT,
	[CONF_KEY_ARRAY] = MGMT_ARG_ARRAY,
};

static bool
in_args(const struct mgmt_arg *args, const char *name)
{
	for (; args->name != NULL; args++)
		if (strcmp(args->name, name) == 0)
			return true;
	return false;
}

static bool
in_names(const char *const *names, const char *name)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

int
umbra_args_from_keys(struct mgmt_arg *out, size_t cap, const struct mgmt_arg *head,
		     const struct conf_key *keys, const char *const *skip)
{
	size_t n = 0;

	for (const struct mgmt_arg *a = head; a->name != NULL; a++) {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *a;
	}
	for (const struct conf_key *k = keys; k->name != NULL; k++) {
		if (in_args(head, k->name) || in_names(skip, k->name))
			continue;
		if (n + 1 >= cap)
			return -1;
		out[n++] = (struct mgmt_arg){ k->name, arg_type_of[k->type], false };
	}
	out[n] = (struct mgmt_arg){ NULL, 0, false };
	return 0;
}
