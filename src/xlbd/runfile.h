/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The files xlbd keeps under XLB_RUN_DIR (lock, log, ABI, added addresses):
 * a private directory, and files opened relative to it that are never
 * symbolic links. */
#ifndef XLB_RUNFILE_H
#define XLB_RUNFILE_H

#include <stddef.h>

/* Create XLB_RUN_DIR (0700) or check the one there: a directory, not a
 * symbolic link, owned by us and writable by no one else (made 0700 when
 * it is wider). Returns 0 or -errno with err set. */
int run_dir_ensure(char *err, size_t errlen);

/* open(2) of XLB_RUN_DIR/name with O_NOFOLLOW | O_CLOEXEC added (mode 0600
 * when created). A symbolic link there is refused (-ELOOP) and so is
 * anything but a regular file. Returns the fd, or -errno with err set. */
int run_open(const char *name, int flags, char *err, size_t errlen);

/* Replace XLB_RUN_DIR/name with data in one step (a temporary file renamed
 * over it), so a crash leaves the old or the new content, never a mix.
 * Returns 0 or -errno with err set. */
int run_write(const char *name, const char *data, size_t len,
	      char *err, size_t errlen);

/* Remove XLB_RUN_DIR/name (a symbolic link there is removed, not followed). */
void run_unlink(const char *name);

#endif /* XLB_RUNFILE_H */
