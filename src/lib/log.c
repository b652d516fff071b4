// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging: level filter, program prefix, and the libbpf print hook. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "log.h"

enum log_level log_max_level = LOG_LVL_INFO;
const char *log_prog = "xlb";

/* As docs/operations.md shows them. */
static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl > log_max_level)
		return;
	fprintf(stderr, "%s: %s: ", log_prog, level_names[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_WARN :
			     level == LIBBPF_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG;

	if (lvl > log_max_level)
		return 0;
	/* libbpf's messages already end in a newline, and most already
	 * start with "libbpf: ". */
	if (strncmp(fmt, "libbpf: ", 8))
		fprintf(stderr, "%s: libbpf: ", log_prog);
	else
		fprintf(stderr, "%s: ", log_prog);
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
