/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command arguments built from a configuration section's key table
 * (conf_keys.h), so a command that takes a section's item declares the
 * keys lib/conf reads and a new key needs no second list.
 */
#ifndef UMBRA_ARGS_H
#define UMBRA_ARGS_H

#include <stddef.h>

#include "conf_keys.h"
#include "mgmt.h"

/**
 * Fill @p out with the command's own arguments @p head (NULL-ended; they
 * come first, in order, and replace a key of the same name), then every
 * key of @p keys that @p head does not name and @p skip (NULL-ended, or
 * NULL) does not list, in table order, of the key's type. Keys are
 * optional here whatever the table says: the loader names a missing key
 * itself, as it does in a file; a command that wants the socket to
 * insist puts the key in @p head.
 * @param cap  entries @p out holds, its NULL end included.
 * @return 0, or -1 when they do not fit (@p out is then not ended).
 */
int umbra_args_from_keys(struct mgmt_arg *out, size_t cap, const struct mgmt_arg *head,
			 const struct conf_key *keys, const char *const *skip);

#endif
