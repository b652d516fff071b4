// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* XDP decapsulation for tun-mode real servers whose kernel has no ipip:
 * strips the outer IPv4/IPv6 header of tunnel packets sent to this host. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb_abi.h"

/* This host's tunnel endpoint addresses (IPv4: v4, rest zero) -> unused. An
 * empty map means no packet is decapsulated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, union xlb_addr);
	__type(value, __u8);
} decap_addrs SEC(".maps");

/* Removes outer bytes of outer header: the Ethernet header moves up over
 * it with the inner family's ethertype. Anything that fails stays intact. */
static __always_inline int decap_strip(struct xdp_md *ctx, __u32 outer,
				       __u8 inner_proto)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *neth;
	__u8 *ver;

	/* Only strip when the inner header really is of the announced family. */
	ver = data + sizeof(*eth) + (outer & 0x3f);
	if ((void *)(ver + 1) > data_end)
		return XDP_PASS;
	if ((*ver >> 4) != (inner_proto == IPPROTO_IPIP ? 4 : 6))
		return XDP_PASS;

	neth = data + (outer & 0x3f);
	if ((void *)(neth + 1) > data_end)
		return XDP_PASS;
	__builtin_memmove(neth, eth, 2 * ETH_ALEN);
	neth->h_proto = bpf_htons(inner_proto == IPPROTO_IPIP ? ETH_P_IP :
								 ETH_P_IPV6);
	bpf_xdp_adjust_head(ctx, (int)outer);
	return XDP_PASS;
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	union xlb_addr dst = {};

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return XDP_PASS;
		/* No options, no fragments: a fragmented tunnel packet must be
		 * reassembled by the stack first. */
		if (iph->version != 4 || iph->ihl != 5 ||
		    (iph->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		if (iph->protocol != IPPROTO_IPIP && iph->protocol != IPPROTO_IPV6)
			return XDP_PASS;
		dst.v4 = iph->daddr;
		if (!bpf_map_lookup_elem(&decap_addrs, &dst))
			return XDP_PASS;
		return decap_strip(ctx, sizeof(*iph), iph->protocol);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end)
			return XDP_PASS;
		if (ip6h->nexthdr != IPPROTO_IPIP && ip6h->nexthdr != IPPROTO_IPV6)
			return XDP_PASS;
		__builtin_memcpy(&dst, &ip6h->daddr, 16);
		if (!bpf_map_lookup_elem(&decap_addrs, &dst))
			return XDP_PASS;
		return decap_strip(ctx, sizeof(*ip6h), ip6h->nexthdr);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
