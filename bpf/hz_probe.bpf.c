// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reads the kernel's two clocks at one instant, for xlbd to learn HZ
 * (src/xlbd/hz.c): run with BPF_PROG_TEST_RUN, it writes bpf_jiffies64()
 * and bpf_ktime_get_ns() (CLOCK_MONOTONIC) into the packet's first 16
 * bytes. Never attached. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int hz_probe(struct xdp_md *ctx)
{
	__u64 *t = (void *)(long)ctx->data;

	if ((void *)(t + 2) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	t[0] = bpf_jiffies64();
	t[1] = bpf_ktime_get_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
