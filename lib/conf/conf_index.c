/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Name lookups in a loaded configuration (conf_*_index in conf.h). They
 * live apart from the loaders so that the node readers (conf_node.c), the
 * section loaders and the rest of umbra all depend on this file, and it on
 * none of them.
 */
#include <stddef.h>
#include <string.h>

#include "conf.h"

/* Position of the item called @p name in @p n items of @p size bytes whose
 * name (a char array) is @p off bytes in, or -1. */
static int
index_by_name(const void *items, uint32_t n, size_t size, size_t off, const char *name)
{
	const char *p = items;

	for (uint32_t i = 0; i < n; i++, p += size)
		if (strcmp(p + off, name) == 0)
			return (int)i;
	return -1;
}

/* Every named item keeps its name in a member called name. */
#define INDEX_OF(array, n, type, key) \
	index_by_name((array), (n), sizeof(type), offsetof(type, name), (key))

int
conf_stage_index(const struct umbra_conf *c, const char *name)
{
	return INDEX_OF(c->stages, c->n_stages, struct conf_stage, name);
}

int
conf_service_index(const struct umbra_conf *c, const char *name)
{
	return INDEX_OF(c->services, c->n_services, struct conf_service, name);
}

int
conf_backend_index(const struct conf_service *svc, const char *name)
{
	return INDEX_OF(svc->backends, svc->n_backends, struct conf_backend, name);
}

int
conf_port_index(const struct umbra_conf *c, const char *name)
{
	return INDEX_OF(c->ports, c->n_ports, struct conf_port, name);
}

int
conf_scenario_index(const struct umbra_conf *c, const char *name)
{
	return INDEX_OF(c->scenarios, c->n_scenarios, struct conf_scenario, name);
}

int
conf_shadow_index(const struct umbra_conf *c, const char *name)
{
	return INDEX_OF(c->shadows, c->n_shadows, struct conf_shadow, name);
}

int
conf_pipeline_index(const struct umbra_conf *c, uint16_t stage)
{
	for (uint8_t i = 0; i < c->workflow.n_pipeline; i++)
		if (c->workflow.pipeline[i].stage == stage)
			return i;
	return -1;
}
