/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Text that comes from outside (files, arguments, control messages): one
 * check, at the edge, that it is UTF-8 without NUL bytes. */
#ifndef XLB_TEXT_H
#define XLB_TEXT_H

#include <stddef.h>

/* Returns 0 when s[0..len) is valid UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF) without NUL bytes; otherwise -EINVAL (a
 * NUL) or -EILSEQ (invalid UTF-8) with *off the offset of the first bad
 * byte. */
int text_check(const char *s, size_t len, size_t *off);

/* "a NUL byte" or "invalid UTF-8" for a text_check() error. */
const char *text_error(int err);

/* Line and column (from 1) of offset off in s, for messages. */
void text_position(const char *s, size_t off, size_t *line, size_t *col);

#endif /* XLB_TEXT_H */
