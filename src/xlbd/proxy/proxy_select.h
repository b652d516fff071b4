/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the proxy's reuseport selector (bpf/proxy_select.bpf.c) and the
 * workers share: each worker's load, one cache line per worker in a BPF
 * array mapped into xlbd's memory. Plain C for both sides: userspace reads
 * and writes the fields with __atomic builtins. */
#ifndef XLB_PROXY_SELECT_H
#define XLB_PROXY_SELECT_H

#include <linux/types.h>

#define PBAL_MAX_W  256         /* workers a selector chooses among */
#define PBAL_FLOWS  65536       /* udp flows kept on their worker */

/* A worker's load is what it holds (live) plus what was sent its way and
 * has not arrived yet (sel - ack). The program adds to sel; the worker
 * alone writes live and ack. */
struct pbal_slot {
	__u64 live;
	__u64 sel;
	__u64 ack;
} __attribute__((aligned(64)));

struct pbal_load {
	struct pbal_slot slot[PBAL_MAX_W];
};

#endif /* XLB_PROXY_SELECT_H */
