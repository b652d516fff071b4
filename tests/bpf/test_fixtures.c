// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runs the BPF fixture rows of every concern (fx_*.c) through the harness
 * (fixture.c) and prints PASS/FAIL/SKIP per row and a closing count. */
#include <stdarg.h>

#include "fixture.h"

static const struct suite *const suites[] = {
	&fx_dsr, &fx_sched, &fx_persist, &fx_icmp, &fx_nat, &fx_frag, &fx_l2,
	&fx_malformed, &fx_decap, &fx_flood, &fx_synproxy, &fx_svcidx,
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
	for (i = 0; i < NSUITES; i++) {
		for (j = 0; j < suites[i]->n; j++) {
			const struct row *row = &suites[i]->rows[j];

			why[0] = 0;
			r = row_run(row, why, sizeof(why));
			if (r == 0) {
				printf("PASS %s: %s\n", suites[i]->name, row->desc);
				passed++;
			} else if (r > 0) {
				printf("SKIP %s: %s: %s\n", suites[i]->name, row->desc, why);
				skipped++;
			} else {
				printf("FAIL %s: %s: %s\n", suites[i]->name, row->desc, why);
				failed++;
			}
		}
	}
	fixture_teardown();
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
