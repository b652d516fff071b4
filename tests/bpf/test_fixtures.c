// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runs the BPF fixture rows of every concern (fx_*.c) through the harness
 * (fixture.c) and prints PASS/FAIL/SKIP per row and a closing count. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const struct suite *const suites[] = {
	&fx_dsr, &fx_sched, &fx_persist, &fx_icmp, &fx_nat, &fx_frag, &fx_l2,
	&fx_malformed, &fx_decap, &fx_flood, &fx_synproxy, &fx_svcidx, &fx_svcslots,
	&fx_cfgslots, &fx_lcslots, &fx_ctrecycle,
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/* One row: its own function, or a frame that must come out untouched. */
static int row_run(const struct row *r, char *why, size_t n)
{
	struct pkt in;

	if (r->fn)
		return r->fn(why, n);
	r->mk(&in);
	return expect(&in, r->verdict, &in, r->reason, why, n);
}

/* Runs every row of every suite whose description holds only (NULL: all),
 * adding to the counts; clock names the guard's clock in the lines. */
static void rows_run(const char *only, const char *clock, int *passed,
		     int *failed, int *skipped)
{
	char why[512];
	size_t i, j;
	int r;

	for (i = 0; i < NSUITES; i++) {
		for (j = 0; j < suites[i]->n; j++) {
			const struct row *row = &suites[i]->rows[j];

			if (only && !strstr(row->desc, only))
				continue;
			why[0] = 0;
			r = row_run(row, why, sizeof(why));
			if (r == 0) {
				printf("PASS %s%s: %s\n", suites[i]->name, clock, row->desc);
				(*passed)++;
			} else if (r > 0) {
				printf("SKIP %s%s: %s: %s\n", suites[i]->name, clock,
				       row->desc, why);
				(*skipped)++;
			} else {
				printf("FAIL %s%s: %s: %s\n", suites[i]->name, clock,
				       row->desc, why);
				(*failed)++;
			}
		}
	}
}

int main(void)
{
	int passed = 0, failed = 0, skipped = 0, r;
	char why[512] = "";
	size_t i, j, total = 0;

	libbpf_set_print(libbpf_quiet);
	for (i = 0; i < NSUITES; i++)
		total += suites[i]->n;
	r = fixture_setup(why, sizeof(why));
	if (r > 0) {
		for (i = 0; i < NSUITES; i++)
			for (j = 0; j < suites[i]->n; j++)
				printf("SKIP %s: %s\n", suites[i]->rows[j].desc, why);
		printf("0 passed, 0 failed, %zu skipped\n", total);
		return 0;
	}
	if (r < 0) {
		printf("FAIL %s\n0 passed, 1 failed\n", why);
		return 1;
	}
	/* XLB_FX_ONLY=TEXT: only the rows whose description holds TEXT. */
	rows_run(getenv("XLB_FX_ONLY"), "", &passed, &failed, &skipped);
	fixture_teardown();
	/* The flood guard's rows again, the program loaded without HZ as
	 * xlbd loads it when it cannot learn HZ: the window on the ns clock. */
	fixture_ns_clock = 1;
	if (fixture_setup(why, sizeof(why))) {
		printf("FAIL loading without HZ: %s\n", why);
		failed++;
	} else {
		rows_run("guard", " (ns clock)", &passed, &failed, &skipped);
		fixture_teardown();
	}
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
