// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The kernel's HZ as xlbd learns it (src/xlbd/hz.c): the rounding of a
 * measured rate, and the measurement against the kernel's own config where
 * this system has one (/proc/config.gz or /boot/config-<release>). */
#include <errno.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "hz.h"
#include "unit.h"

static void test_round(void)
{
	/* Each offered HZ, exact and 4% off either way. */
	CHECK(hz_round(100) == 100);
	CHECK(hz_round(96) == 100 && hz_round(104) == 100);
	CHECK(hz_round(250) == 250);
	CHECK(hz_round(240.5) == 250 && hz_round(259.5) == 250);
	CHECK(hz_round(300) == 300);
	CHECK(hz_round(288.5) == 300 && hz_round(311.5) == 300);
	CHECK(hz_round(1000) == 1000);
	CHECK(hz_round(961) == 1000 && hz_round(1039) == 1000);
	/* Between 250 and 300 (the closest two), far from all, or nonsense:
	 * nothing, so that xlbd falls back rather than guess. */
	CHECK(hz_round(275) == 0);
	CHECK(hz_round(264) == 0 && hz_round(284) == 0);
	CHECK(hz_round(175) == 0);
	CHECK(hz_round(500) == 0);
	CHECK(hz_round(2000) == 0);
	CHECK(hz_round(0) == 0);
	CHECK(hz_round(-250) == 0);
}

/* CONFIG_HZ from the kernel's config, 0 when this system has none. */
static unsigned int config_hz(void)
{
	char path[128], line[256];
	struct utsname u;
	unsigned int hz = 0;
	gzFile f = NULL;

	if (uname(&u) == 0) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "r");  /* reads plain files too */
	}
	if (!f)
		f = gzopen("/proc/config.gz", "r");
	while (f && !hz && gzgets(f, line, sizeof(line)))
		if (!strncmp(line, "CONFIG_HZ=", 10))
			hz = (unsigned int)strtoul(line + 10, NULL, 10);
	if (f)
		gzclose(f);
	return hz;
}

static void test_learn(void)
{
	unsigned int want = config_hz(), hz = 0;
	char err[256] = "";
	int ret = hz_learn(&hz, err, sizeof(err));

	if (ret == -EPERM) {
		printf("  note: %s: not root, HZ not measured\n", err);
		return;
	}
	CHECK(ret == 0, "%s", err);
	CHECK(hz_round(hz) == hz && hz, "%u", hz);
	if (want)
		CHECK(hz == want, "learnt %u, CONFIG_HZ=%u", hz, want);
	else
		printf("  note: no kernel config here: HZ %u not compared\n", hz);
}

int main(void)
{
	RUN(test_round);
	RUN(test_learn);
	UNIT_SUMMARY();
}
