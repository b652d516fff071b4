/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* tun mode: prepend an outer IPv4 (IPIP / 6in4) or IPv6 (ip6ip6 / 4in6)
 * header addressed to the backend. */
#ifndef XLB_BPF_ENCAP_H
#define XLB_BPF_ENCAP_H

#include "csum.h"
#include "parse.h"

/* Outer header bytes for a backend of family fam. */
static __always_inline __u32 xlb_encap_overhead(__u8 fam)
{
	return fam == XLB_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* Grows the frame by the outer header, moves Ethernet (and VLAN tag) to the
 * new front with the outer ethertype, and writes the outer header from src to
 * be->addr. The MACs are left for the caller. Returns XLB_OK or a
 * reason. */
static __always_inline int xlb_encap(struct xdp_md *ctx, struct xlb_pkt *p,
				     const struct xlb_backend *be,
				     const union xlb_addr *src)
{
	__u32 grow = xlb_encap_overhead(be->family);
	__u32 l3_off = p->l3_off & 0x1f;
	void *data, *data_end;
	struct ethhdr *eth;
	__be16 eproto;

	if (bpf_xdp_adjust_head(ctx, -(int)grow))
		return XLB_R_DROP_ADJUST;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + grow + sizeof(struct ethhdr) + sizeof(struct xlb_vlan_hdr) >
	    data_end)
		return XLB_R_DROP_ADJUST;
	eth = data;
	__builtin_memcpy(eth, data + grow, sizeof(*eth));
	eproto = bpf_htons(be->family == XLB_AF_INET ? ETH_P_IP : ETH_P_IPV6);
	if (p->vlan) {
		struct xlb_vlan_hdr *vh = (void *)(eth + 1);

		__builtin_memcpy(vh, data + grow + sizeof(*eth), sizeof(*vh));
		vh->proto = eproto;
	} else {
		eth->h_proto = eproto;
	}

	if (be->family == XLB_AF_INET) {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > data_end)
			return XLB_R_DROP_ADJUST;
		iph->version = 4;
		iph->ihl = 5;
		iph->tos = p->tos;
		iph->tot_len = bpf_htons(p->l3_len + sizeof(*iph));
		iph->id = 0;
		/* DF: the inner packet was checked against the path MTU, and
		 * a fragmented tunnel packet would defeat that check. */
		iph->frag_off = bpf_htons(XLB_IP_DF);
		iph->ttl = 64;
		iph->protocol = p->key.family == XLB_AF_INET ? IPPROTO_IPIP :
							      IPPROTO_IPV6;
		iph->check = 0;
		iph->saddr = src->v4;
		iph->daddr = be->addr.v4;
		iph->check = xlb_ip4_csum(iph);
	} else {
		struct ipv6hdr *ip6h = data + l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return XLB_R_DROP_ADJUST;
		ip6h->version = 6;
		ip6h->priority = p->tos >> 4;
		ip6h->flow_lbl[0] = (p->tos & 0xf) << 4;
		ip6h->flow_lbl[1] = 0;
		ip6h->flow_lbl[2] = 0;
		ip6h->payload_len = bpf_htons(p->l3_len);
		ip6h->nexthdr = p->key.family == XLB_AF_INET ? IPPROTO_IPIP :
							      IPPROTO_IPV6;
		ip6h->hop_limit = 64;
		__builtin_memcpy(&ip6h->saddr, src, 16);
		__builtin_memcpy(&ip6h->daddr, &be->addr, 16);
	}
	return XLB_OK;
}

#endif /* XLB_BPF_ENCAP_H */
