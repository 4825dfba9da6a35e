/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Egress fields (port, vlan, next_hop_mac) of a stage, a backend or a
 * shadow network, and the rule that only shadows use a shadow port. Apart
 * from conf_load.c so that every section's loader uses them through
 * conf_private.h, and they use only the node readers (conf_node.c).
 */
#include "conf_private.h"

int
ld_check_not_shadow_port(struct loader *L, yaml_node_t *n, uint16_t port,
			 const char *user)
{
	const struct conf_port *p = &L->c->ports[port];

	if (p->role != CONF_PORT_SHADOW)
		return 0;
	return ld_fail(L, n, "port '%s' is a shadow port (role: shadow): only shadows may "
		       "use it, not %s; use another port", p->name, user);
}

/* vlan and next_hop_mac; the port is read and checked by the caller. */
static int
egress_rest(struct loader *L, struct field *f, struct conf_egress *e)
{
	yaml_node_t *v;

	if ((v = ld_field_value(f, "vlan")) && ld_get_u16(L, v, "vlan", 0, 4094, &e->vlan) < 0)
		return -1;
	if ((v = ld_field_value(f, "next_hop_mac")) != NULL) {
		if (ld_get_mac(L, v, e->next_hop_mac) < 0)
			return -1;
		e->rewrite_mac = true;
	}
	return 0;
}

int
ld_egress_fields(struct loader *L, struct field *f, const char *user,
		 struct conf_egress *e)
{
	yaml_node_t *port = ld_field_value(f, "port");

	if (ld_get_port_ref(L, port, "egress port", &e->port) < 0 ||
	    ld_check_not_shadow_port(L, port, e->port, user) < 0)
		return -1;
	return egress_rest(L, f, e);
}

int
ld_shadow_egress_fields(struct loader *L, struct field *f, struct conf_egress *e)
{
	yaml_node_t *port = ld_field_value(f, "port");

	if (ld_get_port_ref(L, port, "port", &e->port) < 0)
		return -1;
	if (L->c->ports[e->port].role != CONF_PORT_SHADOW)
		return ld_fail(L, port, "port '%s' is not a shadow port: give it role: shadow",
			       L->c->ports[e->port].name);
	return egress_rest(L, f, e);
}
