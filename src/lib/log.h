/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Logging for xlbd and xlb: one line per event on stderr, with a level. */
#ifndef XLB_LOG_H
#define XLB_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_max_level;
extern const char *log_prog;    /* prefix, e.g. "xlbd" */

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Route libbpf's own messages through log_msg (warnings and errors only,
 * unless the level is debug). */
void log_setup_libbpf(void);

#endif /* XLB_LOG_H */
