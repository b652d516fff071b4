/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading a whole file with a size cap: configs, rule sets, imports. */
#ifndef XLB_FILE_H
#define XLB_FILE_H

#include <stddef.h>

/* The file at path ("-": standard input) into *out, a NUL-terminated
 * malloc'd string of at most max bytes, its length in *len (may be NULL).
 * Returns 0, or -errno (-EFBIG: larger than max) with "PATH: why" in err. */
int file_read(const char *path, size_t max, char **out, size_t *len, char *err,
	      size_t errlen);

#endif /* XLB_FILE_H */
