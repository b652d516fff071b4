/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `xlbd -t`: check a config the way start-up would, without touching the
 * system. */
#ifndef XLB_CHECK_H
#define XLB_CHECK_H

/* Parse and validate the config at path, check that its interfaces exist
 * and apply it to a dry state (capacity, scheduling tables). Prints the
 * first error as "path:line:column: message" (or "path: message" when it
 * has no place in the file) to stderr. Returns 0 when `xlbd -c path` would
 * accept it, 1 otherwise. */
int check_config(const char *path);

#endif /* XLB_CHECK_H */
