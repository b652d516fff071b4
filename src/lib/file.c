// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reading a whole file with a size cap: configs, rule sets, imports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

int file_read(const char *path, size_t max, char **out, size_t *len, char *err,
	      size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t n = 0, cap = 65536;
	char *buf = NULL, *nb;
	int ret = 0;

	*out = NULL;
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	for (;;) {
		size_t r;

		if (n == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				ret = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				break;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		/* Reading past max tells a file of max bytes from a larger one. */
		if (n > max) {
			ret = -EFBIG;
			snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			break;
		}
		if (r == 0)
			break;
	}
	if (!ret && ferror(f)) {
		ret = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
	}
	if (f != stdin)
		fclose(f);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}
