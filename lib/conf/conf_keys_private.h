/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside lib/conf: a loader's field table from its section's exported key
 * table (conf_keys.h), so the two cannot disagree.
 */
#ifndef UMBRA_CONF_KEYS_PRIVATE_H
#define UMBRA_CONF_KEYS_PRIVATE_H

#include "conf_keys.h"
#include "conf_private.h"

/** Fill @p f with the keys of @p keys (NULL-ended) and end it with a
 *  NULL key: @p f has room for every key and the end. */
void ld_fields_of_keys(struct field *f, const struct conf_key *keys);

#endif
