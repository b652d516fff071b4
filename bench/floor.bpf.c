// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The floors of bench/xdp_cost: the least a stateful balancer does per
 * packet. xdp_floor (an established flow) parses the frame with xlb's own
 * parser, looks the 5-tuple up once in a flow table shaped like xlb's (LRU
 * hash, 1M entries, struct xlb_flow), writes the next hop's MACs and
 * returns XDP_TX. xdp_floor_new (a new flow) misses that lookup and inserts
 * the flow instead. xlb_xdp cannot cost less; its rows are read against
 * these. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
} floor_flows SEC(".maps");

/* The new-flow floor's table (emptied between batches, like xlb's). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
} floor_new_flows SEC(".maps");

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

SEC("xdp")
int xdp_floor_new(struct xdp_md *ctx)
{
	struct xlb_flow nf = { .backend_id = 1 };
	struct xlb_pkt p = {};
	struct ethhdr *eth;

	if (xlb_parse(ctx, &p) != XLB_PARSE_OK)
		return XDP_PASS;
	if (bpf_map_lookup_elem(&floor_new_flows, &p.key))
		return XDP_PASS;
	if (bpf_map_update_elem(&floor_new_flows, &p.key, &nf, BPF_ANY))
		return XDP_DROP;
	eth = (void *)(long)ctx->data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
