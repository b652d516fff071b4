/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The kernel's HZ (jiffies per second), which the flood guard's window
 * needs to run on bpf_jiffies64 (bpf/select.h, xlb_hz). No interface tells
 * it on every system (libbpf's __kconfig needs /proc/config.gz or
 * /boot/config-*), so xlbd measures it once at start. */
#ifndef XLB_HZ_H
#define XLB_HZ_H

#include <stddef.h>

/* per_s, a measured rate of jiffies, as the HZ Linux offers (100, 250,
 * 300, 1000) it is within 5% of; 0 when it is near none of them. */
unsigned int hz_round(double per_s);

/* Measures the rate of bpf_jiffies64 against CLOCK_MONOTONIC over ~0.1 s
 * with a probe program (bpf/hz_probe.bpf.c; needs the rights to load BPF)
 * and rounds it (hz_round), trying again twice if it rounds to nothing.
 * Returns 0 with *hz set, or -errno with err saying what failed. */
int hz_learn(unsigned int *hz, char *err, size_t errlen);

#endif /* XLB_HZ_H */
