/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Reading and writing integer sysctls under /proc/sys, and the per-interface
 * forwarding switch xlbd needs (bpf_fib_lookup refuses to route without it). */
#ifndef XLB_SYSCTL_H
#define XLB_SYSCTL_H

#include <stddef.h>

/* path is relative to /proc/sys, e.g. "net/ipv4/conf/all/arp_ignore". */
int sysctl_read(const char *path, long *val);
int sysctl_write(const char *path, long val);

/* Saved forwarding settings of a set of interfaces. */
struct forwarding_saved {
	size_t n;
	struct {
		char path[128];
		long old;
	} *items;
};

/* Turn IPv4 and IPv6 forwarding on for each interface, remembering what
 * was changed; forwarding_restore() puts the old values back. */
int forwarding_enable(char (*ifnames)[16], size_t n, struct forwarding_saved *saved,
		      char *err, size_t errlen);
void forwarding_restore(struct forwarding_saved *saved);

#endif /* XLB_SYSCTL_H */
