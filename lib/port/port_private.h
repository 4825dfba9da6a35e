/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared inside lib/port only. */
#ifndef UMBRA_PORT_PRIVATE_H
#define UMBRA_PORT_PRIVATE_H

#include <stdint.h>

#define PORT_RSS_KEY_LEN 40

/** Symmetric Toeplitz key: the same hash for (a->b) and (b->a). */
extern uint8_t port_rss_key[PORT_RSS_KEY_LEN];

#endif
