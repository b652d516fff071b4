// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests: outside text (text_check) and the limits of a config text
 * (config_check_limits). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "config_limits.h"
#include "text.h"
#include "unit.h"

static void test_text_check(void)
{
	static const struct { const char *s; size_t len; int ret; size_t off; } cases[] = {
		{ "plain", 5, 0, 0 },
		{ "caf\xc3\xa9", 5, 0, 0 },
		{ "\xf0\x9f\x98\x80", 4, 0, 0 },                /* U+1F600 */
		{ "ab\0cd", 5, -EINVAL, 2 },
		{ "x\xff", 2, -EILSEQ, 1 },
		{ "\xc0\xaf", 2, -EILSEQ, 0 },                  /* overlong '/' */
		{ "\xed\xa0\x80", 3, -EILSEQ, 0 },              /* a surrogate */
		{ "\xf4\x90\x80\x80", 4, -EILSEQ, 0 },          /* past U+10FFFF */
		{ "ok\xe2\x82", 4, -EILSEQ, 2 },                /* cut short */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t off = 99;
		int ret = text_check(cases[i].s, cases[i].len, &off);

		CHECK(ret == cases[i].ret, "case %zu: got %d, expected %d", i, ret,
		      cases[i].ret);
		CHECK(ret == 0 || off == cases[i].off, "case %zu: offset %zu, expected %zu",
		      i, off, cases[i].off);
	}
}

/* A 1 MB file nested as deep as it goes is refused at the first level past
 * the limit, with its position, before libyaml loads it. */
static void test_deep_yaml(void)
{
	size_t n = 1 << 20;
	char *text = malloc(n + 1), err[512] = "";
	struct xlb_config cfg;
	int ret;

	memset(text, '[', n);
	text[n] = 0;
	ret = config_parse_buf(text, n, "deep.yaml", &cfg, err, sizeof(err));
	CHECK(ret == -E2BIG, "got %d: %s", ret, err);
	CHECK(strstr(err, "deep.yaml:1:33: nested too deep") == err, "error: %s", err);
	memset(text, ' ', n);
	memcpy(text, "services: [", 11);
	for (size_t i = 11; i + 4 < n; i += 4)
		memcpy(text + i, "{a: ", 4);
	ret = config_parse_buf(text, n, "deep2.yaml", &cfg, err, sizeof(err));
	CHECK(ret == -E2BIG && strstr(err, "nested too deep"), "got %d: %s", ret, err);
	free(text);
}

/* Aliases count as what they stand for: a few lines that expand to a
 * billion nodes are refused. */
static void test_alias_bomb(void)
{
	static const char text[] =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	char err[512] = "";
	int ret = config_check_limits(text, sizeof(text) - 1, "bomb.yaml", err, sizeof(err));

	CHECK(ret == -E2BIG && strstr(err, "bomb.yaml:6:") && strstr(err, "too many nodes"),
	      "got %d: %s", ret, err);
	ret = config_check_limits(text, 80, "small.yaml", err, sizeof(err));
	CHECK(ret == 0, "two small lines refused: %s", err);
}

int main(void)
{
	RUN(test_text_check);
	RUN(test_deep_yaml);
	RUN(test_alias_bomb);
	UNIT_SUMMARY();
}
