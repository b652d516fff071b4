/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Cheap "surely not ours" tests: the destination MAC of the frame, and the
 * address filter on the VIP and backend bitmaps the daemon keeps
 * (XLB_FILTER_*, xlb_abi.h), run before the hash lookups of the flow,
 * services and nat_rev maps. */
#ifndef XLB_BPF_FILTER_H
#define XLB_BPF_FILTER_H

#include "maps.h"
#include "parse.h"
#include "xlb_hash.h"

/* 0 when a is surely not in set; 1 when it may be (look it up). */
static __always_inline int xlb_filter_may_have(__u32 set,
					       const union xlb_addr *a)
{
	__u32 bit = xlb_filter_bit(a);
	__u32 k = set * XLB_FILTER_WORDS + bit / 64;
	__u64 *w = bpf_map_lookup_elem(&addr_filter, &k);

	return w && ((*w >> (bit % 64)) & 1);
}

/* 0 when a is surely no VIP (of any service, XLB_FILTER_VIP and
 * XLB_FILTER_VIP_CT); 1 when it may be. */
static __always_inline int xlb_filter_may_be_vip(const union xlb_addr *a)
{
	return xlb_filter_may_have(XLB_FILTER_VIP, a) ||
	       xlb_filter_may_have(XLB_FILTER_VIP_CT, a);
}

/* 0 when the frame is unicast to another MAC than the ingress
 * interface's: a bridge floods frames for a host it has not learned (or
 * whose port went down) to every port, and another node's frames must not
 * be forwarded twice. Broadcast and multicast (ARP, ND) are ours to look
 * at; so is everything on an interface without an if_macs entry. ifindex:
 * the ingress interface's. */
static __always_inline int xlb_frame_for_us(struct xdp_md *ctx, __u32 ifindex)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct xlb_if_mac *m;
	const __u8 *d = data;

	if ((void *)(d + 6) > data_end || (d[0] & 1))
		return 1;
	if (ifindex < XLB_IF_MAC_DIRECT) {
		m = bpf_map_lookup_elem(&if_mac_direct, &ifindex);
		if (!m || !m->valid)
			return 1;
	} else {
		m = bpf_map_lookup_elem(&if_macs, &ifindex);
		if (!m)
			return 1;
	}
	return xlb_mac_eq(d, m->mac);
}

#endif /* XLB_BPF_FILTER_H */
