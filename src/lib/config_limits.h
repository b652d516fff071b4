/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Limits a config text must keep before it is loaded as a YAML document:
 * checked on libyaml's event stream, which stops at the first excess. */
#ifndef XLB_CONFIG_LIMITS_H
#define XLB_CONFIG_LIMITS_H

#include <stddef.h>

#define CONFIG_MAX_DEPTH   32           /* nested mappings and sequences */
#define CONFIG_MAX_NODES   1000000u     /* nodes, aliases counted expanded */
#define CONFIG_MAX_ANCHORS 4096

/* Check text (len bytes) against the limits above, without building the
 * document. Returns 0, or -E2BIG with err "origin:line:column: ..." at the
 * first node past a limit. A YAML syntax error is left to the loader
 * (returns 0), which reports it in full. */
int config_check_limits(const char *text, size_t len, const char *origin,
			char *err, size_t errlen);

#endif /* XLB_CONFIG_LIMITS_H */
