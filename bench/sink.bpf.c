// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The real servers' end of bench/e2e_packet: drops every IPv4 and IPv6
 * frame (the veth counts them, rx_queue_N_xdp_drops in `ethtool -S`) and
 * passes the rest, so ARP keeps working. Nothing is answered: the row
 * measures the path to the real servers, not their stacks. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP) || eth->h_proto == bpf_htons(ETH_P_IPV6))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
