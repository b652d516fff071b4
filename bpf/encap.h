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

/* Writes the outer IPv4 header of p from src to dst: five 32-bit stores
 * of values built in registers (the header starts 14 or 18 bytes into the
 * frame: 4-byte aligned behind the 2 bytes of NET_IP_ALIGN), and the
 * header checksum summed from the same values, not read back from words
 * just written in pieces (a load spanning several recent stores waits for
 * them). The sum of the five 32-bit words folds to the sum of the ten
 * 16-bit ones (2^16 = 1 modulo 2^16 - 1) in either byte order. */
static __always_inline void xlb_encap_ip4(struct iphdr *iph,
					  const struct xlb_pkt *p, __be32 src,
					  __be32 dst)
{
	__u32 *w = (__u32 *)iph;
	__u8 proto = p->key.family == XLB_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	/* version 4, ihl 5, tos, tot_len | id 0, DF (the inner packet was
	 * checked against the path MTU, and a fragmented tunnel packet would
	 * defeat that check) | ttl 64, protocol, check 0. */
	__u32 w0 = bpf_htonl(0x45000000 | (__u32)p->tos << 16 |
			     ((p->l3_len + sizeof(*iph)) & 0xffff));
	__u32 w1 = bpf_htonl(XLB_IP_DF);
	__u32 w2 = bpf_htonl(64 << 24 | (__u32)proto << 16);

	w[0] = w0;
	w[1] = w1;
	w[2] = w2;
	w[3] = src;
	w[4] = dst;
	iph->check = xlb_csum_fold((__u64)w0 + w1 + w2 + src + dst);
}

/* Writes the outer IPv6 header of p from src to dst: version 6, the inner
 * TOS as traffic class, flow label 0, hop limit 64. */
static __always_inline void xlb_encap_ip6(struct ipv6hdr *ip6h,
					  const struct xlb_pkt *p,
					  const union xlb_addr *src,
					  const union xlb_addr *dst)
{
	__u32 *w = (__u32 *)ip6h;
	__u8 next = p->key.family == XLB_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;

	w[0] = bpf_htonl(0x60000000 | (__u32)p->tos << 20);
	w[1] = bpf_htonl((p->l3_len & 0xffff) << 16 | (__u32)next << 8 | 64);
	__builtin_memcpy(&ip6h->saddr, src, 16);
	__builtin_memcpy(&ip6h->daddr, dst, 16);
}

/* Grows the frame by the outer header, keeps the VLAN tag (if any) at the
 * new front with the outer ethertype, and writes the outer header from src
 * to be->addr. The MACs are not moved: the caller writes both (xlb_send).
 * Returns XLB_OK or a reason. */
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
	eproto = bpf_htons(be->family == XLB_AF_INET ? ETH_P_IP : ETH_P_IPV6);
	if (p->vlan) {
		const struct ethhdr *old = data + grow;
		const struct xlb_vlan_hdr *ovh = (const void *)(old + 1);
		struct xlb_vlan_hdr *vh = (void *)(eth + 1);

		eth->h_proto = old->h_proto;    /* the tag's TPID */
		vh->tci = ovh->tci;
		vh->proto = eproto;
	} else {
		eth->h_proto = eproto;
	}

	if (be->family == XLB_AF_INET) {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > data_end)
			return XLB_R_DROP_ADJUST;
		xlb_encap_ip4(iph, p, src->v4, be->addr.v4);
	} else {
		struct ipv6hdr *ip6h = data + l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return XLB_R_DROP_ADJUST;
		xlb_encap_ip6(ip6h, p, src, &be->addr);
	}
	return XLB_OK;
}

#endif /* XLB_BPF_ENCAP_H */
