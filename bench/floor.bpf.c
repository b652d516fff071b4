// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The floor of bench/xdp_cost: the least a stateful balancer does per packet
 * of an established flow. It parses the frame with xlb's own parser, looks
 * the 5-tuple up once in a flow table shaped like xlb's (LRU hash, 1M
 * entries, struct xlb_flow), writes the next hop's MACs and returns XDP_TX.
 * xlb_xdp cannot cost less than this; its rows are read against it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
} floor_flows SEC(".maps");

/* The MACs a cached next hop would give. */
static const __u8 dmac[ETH_ALEN] = { 2, 0, 0, 0, 1, 0x11 };
static const __u8 smac[ETH_ALEN] = { 2, 0, 0, 0, 0, 0x0a };

SEC("xdp")
int xdp_floor(struct xdp_md *ctx)
{
	struct xlb_pkt p = {};
	struct ethhdr *eth;
	struct xlb_flow *f;

	if (xlb_parse(ctx, &p) != XLB_PARSE_OK)
		return XDP_PASS;
	f = bpf_map_lookup_elem(&floor_flows, &p.key);
	if (!f)
		return XDP_PASS;
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
