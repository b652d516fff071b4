/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* ICMP errors the data plane answers with, built in place from the packet:
 * "fragmentation needed" / "packet too big" to clients whose packet no longer
 * fits the path once encapsulated, "port unreachable" for a service without
 * backends. */
#ifndef XLB_BPF_ICMP_H
#define XLB_BPF_ICMP_H

#include "cfgslots.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"

/* Bytes of the offending packet quoted back: the IPv4 header plus 44 bytes
 * (RFC 792 asks for 8), and for IPv6 the header plus 88 bytes, far under the
 * 1280-byte minimum MTU. Multiples of 4 as bpf_csum_diff requires. */
#define XLB_ICMP4_QUOTE 64
#define XLB_ICMP6_QUOTE 128
/* The least a quote holds (RFC 792: the IP header and 8 bytes of L4), what
 * port unreachable quotes so that a bare SYN can be answered. */
#define XLB_ICMP4_QUOTE_MIN 28
#define XLB_ICMP6_QUOTE_MIN 48
#define ICMP_PORT_UNREACH 3

struct xlb_ip6_pseudo {
	struct in6_addr src;
	struct in6_addr dst;
	__be32 len;
	__u8 zero[3];
	__u8 nexthdr;
};

/* Takes a token from this CPU's ICMP bucket (struct xlb_icmp_bucket):
 * 1 when an ICMP error may be sent, 0 when over the limit (globals'
 * icmp_cost_ns; 0: no limit). The clock only refills when it moved
 * forward since last_ns. */
static __always_inline int xlb_icmp_allow(void)
{
	__u64 now = bpf_ktime_get_ns(), cost, cap;
	const struct xlb_globals *g;
	struct xlb_icmp_bucket *b;
	__u32 zero = 0;

	g = xlb_globals();
	b = bpf_map_lookup_elem(&icmp_bucket, &zero);
	if (!b)
		return 0;
	cost = g->icmp_cost_ns;
	if (!cost)
		return 1;
	cap = XLB_ICMP_BURST * cost;
	if (now > b->last_ns) {
		b->credit_ns += now - b->last_ns;
		if (b->credit_ns > cap)
			b->credit_ns = cap;
		b->last_ns = now;
	}
	if (b->credit_ns < cost)
		return 0;
	b->credit_ns -= cost;
	return 1;
}

/* Copies the Ethernet header (and VLAN tag) from `from` to `to`, swapping
 * the MACs so the frame goes back where it came from. */
static __always_inline void xlb_eth_reflect(void *to, void *from, int vlan)
{
	struct ethhdr *d = to, *s = from;
	struct ethhdr tmp;

	__builtin_memcpy(&tmp, s, sizeof(tmp));
	if (vlan)
		__builtin_memcpy((void *)(d + 1), (void *)(s + 1),
				 sizeof(struct xlb_vlan_hdr));
	__builtin_memcpy(d->h_dest, tmp.h_source, ETH_ALEN);
	__builtin_memcpy(d->h_source, tmp.h_dest, ETH_ALEN);
	d->h_proto = tmp.h_proto;
}

/* Makes room in p's frame for an ICMP error of grow bytes (IP + ICMP
 * headers) that quotes quote bytes of the packet: grows the head by grow,
 * trims the tail so the quote ends the frame, and moves the Ethernet header
 * (reflected) back to the front. The packet's own IP header already sits
 * where the quote belongs, so only Ethernet moves. On success returns 0 and
 * sets *l3 to the new IP header, grow + quote bytes of it checked against
 * the end of the frame; else the drop reason. */
static __always_inline int xlb_icmp_make_room(struct xdp_md *ctx,
					      struct xlb_pkt *p, int grow,
					      __u32 quote, void **l3)
{
	__u32 l3_off = p->l3_off, new_len = l3_off + grow + quote, cur_len;
	void *data, *end;

	if (p->l3_len < quote)
		return XLB_R_DROP_TOO_BIG;
	if (bpf_xdp_adjust_head(ctx, -grow))
		return XLB_R_DROP_ADJUST;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	cur_len = (__u32)(end - data);
	/* An opaque frame length: without it the compiler may fold the
	 * difference into 32-bit arithmetic on the packet pointer itself,
	 * which the verifier refuses (alu32 builds). */
	asm volatile("" : "+r"(cur_len));
	if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)cur_len))
		return XLB_R_DROP_ADJUST;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + grow + sizeof(struct ethhdr) + sizeof(struct xlb_vlan_hdr) >
	    end)
		return XLB_R_DROP_ADJUST;
	xlb_eth_reflect(data, data + grow, p->vlan);

	data += l3_off & 0x1f;
	if (data + grow + quote > end)
		return XLB_R_DROP_ADJUST;
	*l3 = data;
	return 0;
}

/* Turns the IPv4 packet p into an ICMP destination unreachable (type 3)
 * with code from the VIP to the client, quoting quote bytes of p; mtu is
 * the next-hop MTU of code 4. Returns 0 or the drop reason. */
static __always_inline int xlb_icmp4_unreach(struct xdp_md *ctx,
					     struct xlb_pkt *p, __u8 code,
					     __u32 mtu, const __u32 quote)
{
	const int grow = sizeof(struct iphdr) + sizeof(struct icmphdr);
	void *l3;
	struct iphdr *iph;
	struct icmphdr *ih;
	__u64 sum;
	int err;

	err = xlb_icmp_make_room(ctx, p, grow, quote, &l3);
	if (err)
		return err;
	iph = l3;
	ih = (void *)(iph + 1);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = bpf_htons(grow + quote);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = 64;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = p->key.dst.v4;
	iph->daddr = p->key.src.v4;
	iph->check = xlb_ip4_csum(iph);

	ih->type = ICMP_DEST_UNREACH;
	ih->code = code;
	ih->checksum = 0;
	ih->un.frag.__unused = 0;
	ih->un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (void *)ih, sizeof(*ih) + quote, 0);
	ih->checksum = xlb_csum_fold(sum);
	return 0;
}

/* Same for IPv6: an ICMPv6 error of type and code with info (the MTU of a
 * packet too big) from the VIP to the client. */
static __always_inline int xlb_icmp6_err(struct xdp_md *ctx, struct xlb_pkt *p,
					 __u8 type, __u8 code, __u32 info,
					 const __u32 quote)
{
	const int grow = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	struct xlb_ip6_pseudo ph = {};
	void *l3;
	struct ipv6hdr *ip6h;
	struct icmp6hdr *ih;
	__u64 sum;
	int err;

	err = xlb_icmp_make_room(ctx, p, grow, quote, &l3);
	if (err)
		return err;
	ip6h = l3;
	ih = (void *)(ip6h + 1);
	ip6h->version = 6;
	ip6h->priority = 0;
	ip6h->flow_lbl[0] = 0;
	ip6h->flow_lbl[1] = 0;
	ip6h->flow_lbl[2] = 0;
	ip6h->payload_len = bpf_htons(sizeof(*ih) + quote);
	ip6h->nexthdr = IPPROTO_ICMPV6;
	ip6h->hop_limit = 64;
	__builtin_memcpy(&ip6h->saddr, &p->key.dst, 16);
	__builtin_memcpy(&ip6h->daddr, &p->key.src, 16);

	ih->icmp6_type = type;
	ih->icmp6_code = code;
	ih->icmp6_cksum = 0;
	ih->icmp6_mtu = bpf_htonl(info);

	__builtin_memcpy(&ph.src, &p->key.dst, 16);
	__builtin_memcpy(&ph.dst, &p->key.src, 16);
	ph.len = bpf_htonl(sizeof(*ih) + quote);
	ph.nexthdr = IPPROTO_ICMPV6;
	sum = bpf_csum_diff(NULL, 0, (void *)&ph, sizeof(ph), 0);
	sum = bpf_csum_diff(NULL, 0, (void *)ih, sizeof(*ih) + quote, (__u32)sum);
	ih->icmp6_cksum = xlb_csum_fold(sum);
	return 0;
}

/* Too big for the path: frag needed (IPv4) or packet too big (IPv6),
 * advertising mtu. Returns the reason (XLB_R_ICMP_TOO_BIG_SENT on success;
 * the caller then sends it with XDP_TX). */
static __always_inline int xlb_icmp_too_big(struct xdp_md *ctx,
					    struct xlb_pkt *p, __u32 mtu)
{
	int err;

	if (p->key.family == XLB_AF_INET)
		err = xlb_icmp4_unreach(ctx, p, ICMP_FRAG_NEEDED, mtu,
					XLB_ICMP4_QUOTE);
	else
		err = xlb_icmp6_err(ctx, p, ICMPV6_PKT_TOOBIG, 0, mtu,
				    XLB_ICMP6_QUOTE);
	return err ? err : XLB_R_ICMP_TOO_BIG_SENT;
}

/* Port unreachable to the client of p (a service without a usable
 * backend, as IPVS answers). Only about a first packet with a plain
 * header, never about an ICMP error or a later fragment, and within the
 * ICMP rate limit. Returns the reason (XLB_R_ICMP_UNREACH_SENT: send with
 * XDP_TX). */
static __always_inline int xlb_icmp_port_unreach(struct xdp_md *ctx,
						 struct xlb_pkt *p)
{
	int err;

	if (p->icmp_err || p->frag == XLB_FRAG_LATER)
		return XLB_R_DROP_NO_BACKEND;
	if (p->l4_off != p->l3_off + (p->key.family == XLB_AF_INET ?
				       sizeof(struct iphdr) : sizeof(struct ipv6hdr)))
		return XLB_R_DROP_NO_BACKEND;
	if (!xlb_icmp_allow())
		return XLB_R_DROP_ICMP_RATE;
	if (p->key.family == XLB_AF_INET)
		err = xlb_icmp4_unreach(ctx, p, ICMP_PORT_UNREACH, 0,
					XLB_ICMP4_QUOTE_MIN);
	else
		err = xlb_icmp6_err(ctx, p, ICMPV6_DEST_UNREACH,
				    ICMPV6_PORT_UNREACH, 0, XLB_ICMP6_QUOTE_MIN);
	return err ? err : XLB_R_ICMP_UNREACH_SENT;
}

#endif /* XLB_BPF_ICMP_H */
