/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the packet parser never reads out of bounds, and what
 * it reports for a frame it accepts stays inside that frame. */
#include <stdint.h>
#include <stdlib.h>

#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_meta m;

	if (size > 65535)
		return 0;
	if (pkt_parse(data, (uint32_t)size, &m) != PKT_DROP_OK)
		return 0;
	if (m.l3_off > size || m.n_vlan > 2)
		abort();
	if ((m.flags & PKT_F_L4) && (m.l4_off > size || m.payload_off > size ||
				     (uint32_t)m.payload_off + m.payload_len > size))
		abort();
	return 0;
}
