/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Where a top-level key of a YAML document is, for messages that point at
 * a line of a config already parsed, and for telling an absent key from one
 * given with its default value. */
#ifndef XLB_YAML_FIND_H
#define XLB_YAML_FIND_H

#include <stddef.h>

#define YAML_FIND_KEY ((size_t)-1)      /* idx: the key's value itself */

/* Look up top-level key `key` in a YAML text (yaml_find_text) or file
 * (yaml_find_file); with idx other than YAML_FIND_KEY, item idx of the
 * sequence it holds. Returns 1 with *line and *col (1-based) of that node,
 * 0 when it is absent or the document does not parse. */
int yaml_find_text(const char *text, size_t len, const char *key, size_t idx,
		   size_t *line, size_t *col);
int yaml_find_file(const char *path, const char *key, size_t idx,
		   size_t *line, size_t *col);

#endif /* XLB_YAML_FIND_H */
