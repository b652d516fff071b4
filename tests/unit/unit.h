/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A minimal unit-test harness: CHECK() records a failure with its location
 * and goes on; UNIT_MAIN prints "N passed, N failed" and sets the exit code. */
#ifndef XLB_UNIT_H
#define XLB_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks;
static int unit_passed, unit_failed;

#define CHECK(cond, ...) do {                                           \
	if (!(cond)) {                                                  \
		unit_failed_checks++;                                   \
		fprintf(stderr, "  %s:%d: check failed: %s: ", __FILE__, \
			__LINE__, #cond);                               \
		fprintf(stderr, " " __VA_ARGS__);                       \
		fputc('\n', stderr);                                    \
	}                                                               \
} while (0)

/* Run one test function; it passes when it made no failed CHECK. */
#define RUN(fn) do {                                                    \
	int before_ = unit_failed_checks;                               \
	fn();                                                           \
	if (unit_failed_checks == before_) {                            \
		unit_passed++;                                          \
		printf("PASS %s\n", #fn);                               \
	} else {                                                        \
		unit_failed++;                                          \
		printf("FAIL %s\n", #fn);                               \
	}                                                               \
} while (0)

#define UNIT_SUMMARY() do {                                             \
	printf("%d passed, %d failed\n", unit_passed, unit_failed);     \
	return unit_failed ? 1 : 0;                                     \
} while (0)

#endif /* XLB_UNIT_H */
