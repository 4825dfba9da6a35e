/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One schema per section: the keys an item of a section accepts, exported
 * so that what reads the same item from elsewhere (the management
 * commands fault/add and shadow/create) declares exactly these keys and a
 * new key works everywhere once it is added here.
 *
 * The loaders read their items with these tables; each table ends with a
 * NULL name and holds its section's count of keys before it.
 */
#ifndef UMBRA_CONF_KEYS_H
#define UMBRA_CONF_KEYS_H

#include <stdbool.h>

/** The JSON type a key's value takes when the item comes as JSON. */
enum conf_key_type {
	CONF_KEY_STRING,        /**< a name, a prefix, a duration ("200ms") */
	CONF_KEY_INTEGER,       /**< a whole number only */
	CONF_KEY_BOOLEAN,       /**< true or false only */
	CONF_KEY_SCALAR,        /**< a string, number or boolean ("5%", 0.05) */
	CONF_KEY_OBJECT,        /**< a mapping */
	CONF_KEY_ARRAY,         /**< a sequence */
};

/** One key of an item. */
struct conf_key {
	const char *name;
	enum conf_key_type type;
	bool required;          /**< the loader refuses an item without it */
};

/** Keys of a fault rule (faults:, chaos[].faults, fault/add). */
#define CONF_FAULT_RULE_KEYS 34
/** The fault rule's keys, CONF_FAULT_RULE_KEYS of them, then a NULL name. */
extern const struct conf_key *const conf_fault_rule_keys;

/** Keys of a shadow profile (shadows:, shadow/create). */
#define CONF_SHADOW_PROFILE_KEYS 24
/** The shadow profile's keys, CONF_SHADOW_PROFILE_KEYS of them, then a
 *  NULL name. */
extern const struct conf_key *const conf_shadow_profile_keys;

/** Keys of a DevMesh item (stages[].devmesh); a mirror also takes a shadow
 *  profile's keys but stage (its profile is generated; name is optional). */
#define CONF_DEVMESH_KEYS 3
/** The DevMesh item's keys, CONF_DEVMESH_KEYS of them, then a NULL name. */
extern const struct conf_key *const conf_devmesh_keys;

#endif
