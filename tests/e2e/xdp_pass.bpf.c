// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The e2e lab's switch-side program: passes every packet. A veth drops frames
 * that its peer sends with XDP_TX/XDP_REDIRECT unless this end has an XDP
 * program too (LAB.md, fact 1), so the balancer's peer port carries this one. */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
