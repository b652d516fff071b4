// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* UTF-8 and NUL checks for outside text (RFC 3629's well-formed sequences). */
#include <errno.h>
#include <stdint.h>

#include "text.h"

/* Length of the well-formed sequence at p (n bytes left), 0 if none. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The second byte's range excludes overlong forms, surrogates and
	 * code points past U+10FFFF. */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

int text_check(const char *s, size_t len, size_t *off)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < len;) {
		size_t n;

		if (p[i] == 0) {
			*off = i;
			return -EINVAL;
		}
		n = utf8_seq(p + i, len - i);
		if (!n) {
			*off = i;
			return -EILSEQ;
		}
		i += n;
	}
	return 0;
}

const char *text_error(int err)
{
	return err == -EINVAL ? "a NUL byte" : "invalid UTF-8";
}

void text_position(const char *s, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((uint8_t)s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}
