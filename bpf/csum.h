/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internet checksum helpers for headers the data plane writes itself. */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

/* Folds a 32-bit one's-complement sum to 16 bits and complements it. */
static __always_inline __u16 xlb_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Header checksum of an option-less IPv4 header (check must be 0 before). */
static __always_inline __u16 xlb_ip4_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return xlb_csum_fold(sum);
}

#endif /* XLB_BPF_CSUM_H */
