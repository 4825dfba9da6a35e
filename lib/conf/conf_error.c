/* SPDX-License-Identifier: BSD-3-Clause */
/* Messages about a configuration: "file:line:col: what is wrong". */
#include <stdarg.h>
#include <stdio.h>

#include "conf.h"

void
conf_error_at(const struct umbra_conf *c, struct conf_pos pos, char *err,
	      size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (errlen == 0)
		return;
	n = snprintf(err, errlen, "%s:%u:%u: ", c->file, pos.line, pos.col);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}
