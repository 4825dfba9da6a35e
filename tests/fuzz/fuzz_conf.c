/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the config loader either loads or explains, never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct umbra_conf *c = conf_load_string((const char *)data, size, "fuzz.yaml",
						err, sizeof(err));

	if (c == NULL && strncmp(err, "fuzz.yaml:", 10) != 0)
		abort(); /* every failure says where */
	conf_free(c);
	return 0;
}
