/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Forwarding for the dr and tun modes: route lookup toward the backend,
 * MTU check, MAC rewrite and the XDP verdict. */
#ifndef XLB_BPF_FWD_H
#define XLB_BPF_FWD_H

#include "cfgslots.h"
#include "counters.h"
#include "encap.h"
#include "icmp.h"
#include "xlb_hash.h"

/* Result of a route lookup toward a backend. The same layout as the
 * start of struct xlb_backend_l2, so that a cached next hop is used where
 * it lies (xlb_route_be). */
struct xlb_route {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u32 ifindex;
	__u32 mtu;              /* set when the lookup said FRAG_NEEDED */
};

_Static_assert(__builtin_offsetof(struct xlb_route, smac) ==
		       __builtin_offsetof(struct xlb_backend_l2, smac) &&
	       __builtin_offsetof(struct xlb_route, ifindex) ==
		       __builtin_offsetof(struct xlb_backend_l2, ifindex) &&
	       __builtin_offsetof(struct xlb_route, mtu) ==
		       __builtin_offsetof(struct xlb_backend_l2, mtu),
	       "struct xlb_route is the head of struct xlb_backend_l2");

/* A route lookup's parameters, and after a lookup that found no neighbour
 * the neigh_miss record of its next hop, in the same stack bytes: the nat
 * paths use nearly all of the verifier's 512. */
union xlb_fib {
	struct bpf_fib_lookup fib;
	struct {
		struct xlb_neigh_miss key;
		__u32 val;
	} miss;
};

/* After BPF_FIB_LKUP_RET_NO_NEIGH the kernel has left the egress interface
 * in fib.ifindex and the next hop (the gateway, or the destination itself
 * on-link) in ipv4_dst / ipv6_dst; an IPv4 route via an IPv6 gateway has
 * switched fib.family to AF_INET6 (net/core/filter.c, bpf_ipv4_fib_lookup).
 * Records it in neigh_miss for xlbd, which has the kernel resolve it:
 * nothing else would for a next hop toward nat/fullnat clients, whose
 * replies leave by XDP. Seen once until xlbd drains it: a flood of drops
 * costs one lookup each. */
static __always_inline void xlb_neigh_miss(union xlb_fib *u)
{
	__u32 ifindex = u->fib.ifindex, v4 = u->fib.ipv4_dst;
	__u8 family = u->fib.family;

	/* nexthop (bytes 8-23) does not overlap ipv6_dst (32-47); every
	 * field the record overwrites was read above. */
	if (family == XLB_AF_INET6) {
		__builtin_memcpy(&u->miss.key.nexthop, u->fib.ipv6_dst, 16);
	} else {
		__builtin_memset(&u->miss.key.nexthop, 0, 16);
		u->miss.key.nexthop.v4 = v4;
	}
	u->miss.key.ifindex = ifindex;
	u->miss.key.family = family;
	__builtin_memset(u->miss.key.pad, 0, sizeof(u->miss.key.pad));
	u->miss.val = 0;
	if (!bpf_map_lookup_elem(&neigh_miss, &u->miss.key))
		bpf_map_update_elem(&neigh_miss, &u->miss.key, &u->miss.val,
				    BPF_NOEXIST);
}

/* bpf_fib_lookup toward dst as an input lookup on the ingress interface, so
 * the LB must have forwarding enabled (the daemon turns it on). tot_len is
 * the size of the packet that will leave, for the MTU check. Returns
 * XLB_OK, XLB_R_DROP_TOO_BIG (rt->mtu set), or a drop reason; a next hop
 * without neighbour entry is recorded (xlb_neigh_miss). */
static __always_inline int xlb_route(struct xdp_md *ctx, __u8 fam,
				     const union xlb_addr *src,
				     const union xlb_addr *dst, __u32 tot_len,
				     struct xlb_route *rt)
{
	union xlb_fib u = {};
	int rc;

	u.fib.ifindex = ctx->ingress_ifindex;
	u.fib.tot_len = tot_len;
	if (fam == XLB_AF_INET) {
		u.fib.family = XLB_AF_INET;
		u.fib.ipv4_src = src->v4;
		u.fib.ipv4_dst = dst->v4;
	} else {
		u.fib.family = XLB_AF_INET6;
		__builtin_memcpy(u.fib.ipv6_src, src, 16);
		__builtin_memcpy(u.fib.ipv6_dst, dst, 16);
	}
	rc = bpf_fib_lookup(ctx, &u.fib, sizeof(u.fib), 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		rt->mtu = u.fib.mtu_result;
		return XLB_R_DROP_TOO_BIG;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		xlb_neigh_miss(&u);
		return XLB_R_DROP_NO_NEIGH;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XLB_R_DROP_FIB;
	__builtin_memcpy(rt->dmac, u.fib.dmac, ETH_ALEN);
	__builtin_memcpy(rt->smac, u.fib.smac, ETH_ALEN);
	rt->ifindex = u.fib.ifindex;
	return XLB_OK;
}

/* The route toward backend bid at dst (its address, or a nat flow's): the
 * daemon's cached next hop (backend_l2) when it is valid for dst, which
 * saves the bpf_fib_lookup; otherwise xlb_route into rt. Same results as
 * xlb_route, the MTU check included (rt->mtu); with XLB_OK, *hop is the
 * route to send with: the cached entry itself (no copy of it through the
 * stack), or rt. The fields are read after the branch on valid: the
 * daemon changes them only while the entry is invalid and no packet still
 * holds it valid (a grace period after it turned invalid), so a packet
 * never sends with MACs, interface or MTU of two resolutions
 * (dataplane_backend_l2_put). */
static __always_inline int xlb_route_be(struct xdp_md *ctx, __u32 bid, __u8 fam,
					const union xlb_addr *src,
					const union xlb_addr *dst, __u32 tot_len,
					struct xlb_route *rt,
					const struct xlb_route **hop)
{
	const struct xlb_backend_l2 *l2 = bpf_map_lookup_elem(&backend_l2, &bid);

	if (!l2 || !l2->valid || l2->family != fam ||
	    !xlb_addr_eq(&l2->addr, dst)) {
		*hop = rt;
		return xlb_route(ctx, fam, src, dst, tot_len, rt);
	}
	if (tot_len > l2->mtu) {
		rt->mtu = l2->mtu;
		return XLB_R_DROP_TOO_BIG;
	}
	*hop = (const struct xlb_route *)l2;
	return XLB_OK;
}

/* Answers a packet that does not fit (after overhead bytes of tunnel) with an
 * ICMP too-big. IPv4 without DF too: the data plane cannot fragment the
 * outer packet, and a client told the path MTU fragments (or sends less)
 * from then on, where a silent drop would lose every such packet. ICMP
 * errors are never answered with ICMP errors. Frag needed without DF is
 * rate limited (xlb_icmp_allow); with DF (and IPv6) it is path MTU
 * discovery, which the kernel never limits either. */
static __always_inline int xlb_too_big(struct xdp_md *ctx, struct xlb_pkt *p,
				       __u32 mtu, __u32 overhead)
{
	int r;

	if (p->icmp_err || mtu <= overhead)
		return xlb_done(XLB_R_DROP_TOO_BIG, XDP_DROP);
	if (!p->df && !xlb_icmp_allow())
		return xlb_done(XLB_R_DROP_ICMP_RATE, XDP_DROP);
	r = xlb_icmp_too_big(ctx, p, mtu - overhead);
	return xlb_done(r, r == XLB_R_ICMP_TOO_BIG_SENT ? XDP_TX : XDP_DROP);
}

/* No usable backend for a new flow: port unreachable to the client, unless
 * the service turned it off. */
static __always_inline int xlb_no_backend(struct xdp_md *ctx, struct xlb_pkt *p,
					  const struct xlb_svc *svc)
{
	int r;

	if (svc->flags & XLB_SVC_F_NO_UNREACH)
		return xlb_done(XLB_R_DROP_NO_BACKEND, XDP_DROP);
	r = xlb_icmp_port_unreach(ctx, p);
	return xlb_done(r, r == XLB_R_ICMP_UNREACH_SENT ? XDP_TX : XDP_DROP);
}

/* Writes the route's MACs and picks the verdict. Behind a VLAN tag the frame
 * is always sent back out of the ingress port with its tag kept: the route
 * names the VLAN sub-interface, whose ifindex differs from the ingress one,
 * and redirecting to it would lose the tag a trunk port needs. Where the
 * route leaves through another interface the route's VLAN is not followed:
 * counted apart (fwd_vlan_same_port), so that shows. */
static __always_inline int xlb_send(struct xdp_md *ctx, struct xlb_pkt *p,
				    const struct xlb_route *rt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 why;

	if ((void *)(eth + 1) > data_end)
		return xlb_done(XLB_R_DROP_ADJUST, XDP_DROP);
	xlb_mac_copy(eth->h_dest, rt->dmac);
	xlb_mac_copy(eth->h_source, rt->smac);
	/* ICMP errors and fragments are counted apart, whichever way they
	 * leave. */
	why = p->frag ? XLB_R_FWD_FRAGMENT : p->icmp_err ? XLB_R_ICMP_FORWARDED : 0;
	if (rt->ifindex == p->ifindex)
		return xlb_done(why ? why : XLB_R_TX, XDP_TX);
	if (p->vlan)
		return xlb_done(why ? why : XLB_R_TX_VLAN_KEPT, XDP_TX);
	xlb_done(why ? why : XLB_R_REDIRECT, 0);
	return bpf_redirect(rt->ifindex, 0);
}

/* dr: the IP packet is left alone; only the destination MAC changes. */
static __always_inline int xlb_fwd_dr(struct xdp_md *ctx, struct xlb_pkt *p,
				      const struct xlb_backend *be, __u32 bid)
{
	const struct xlb_route *hop;
	struct xlb_route rt = {};
	int r;

	if (be->family != p->key.family)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	r = xlb_route_be(ctx, bid, be->family, &p->key.src, &be->addr, p->l3_len,
			 &rt, &hop);
	if (r == XLB_R_DROP_TOO_BIG)
		return xlb_too_big(ctx, p, rt.mtu, 0);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	return xlb_send(ctx, p, hop);
}

/* xlb_tun_src_v6 (xlb_hash.h) as the data plane computes it per packet:
 * the same address for the prefix lengths the configuration takes (64 to
 * 128), where the first two words are always the prefix's own, so only
 * words 2 and 3 get a mask, and only word 2 a re-mix of hash (the
 * fixtures predict every tun packet with xlb_tun_src_v6 itself). */
static __always_inline void xlb_tun_src6(const union xlb_addr *base, __u32 plen,
					 __u32 hash, union xlb_addr *out)
{
	__u32 m2 = XLB_HTONL(xlb_host_mask(plen, 2));
	__u32 m3 = XLB_HTONL(xlb_host_mask(plen, 3));

	out->v6[0] = base->v6[0];
	out->v6[1] = base->v6[1];
	out->v6[2] = base->v6[2];
	if (m2)
		out->v6[2] = (base->v6[2] & ~m2) |
			     (XLB_HTONL(xlb_hash_final(hash ^ 3)) & m2);
	out->v6[3] = (base->v6[3] & ~m3) | (XLB_HTONL(hash) & m3);
}

/* tun: outer header from a per-flow source inside the configured tunnel
 * prefix (by hash, the flow's xlb_dsr_outer_hash) to the backend. */
static __always_inline int xlb_fwd_tun(struct xdp_md *ctx, struct xlb_pkt *p,
				       const struct xlb_backend *be, __u32 bid,
				       __u32 hash)
{
	__u32 overhead = xlb_encap_overhead(be->family);
	const struct xlb_route *hop;
	const struct xlb_globals *g;
	/* Not zeroed first (the per-packet path): rt's fields are read only
	 * where xlb_route_be wrote them, and src's bytes past v4 only for an
	 * IPv6 backend, whose src xlb_tun_src6 writes whole. */
	struct xlb_route rt;
	union xlb_addr src;
	int r;

	/* Without a configured tunnel source (zero address) there is nothing
	 * sane to put in the outer header: tun is then unusable. */
	g = xlb_globals();
	if (be->family == XLB_AF_INET) {
		if (!g->tun_src_v4)
			return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
		src.v4 = xlb_tun_src_v4(g->tun_src_v4, g->tun_src_v4_plen, hash);
	} else {
		if (!(g->tun_src_v6.v6[0] | g->tun_src_v6.v6[1] |
		      g->tun_src_v6.v6[2] | g->tun_src_v6.v6[3]))
			return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
		xlb_tun_src6(&g->tun_src_v6, g->tun_src_v6_plen, hash, &src);
	}

	r = xlb_route_be(ctx, bid, be->family, &src, &be->addr,
			 p->l3_len + overhead, &rt, &hop);
	if (r == XLB_R_DROP_TOO_BIG)
		return xlb_too_big(ctx, p, rt.mtu, overhead);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	r = xlb_encap(ctx, p, be, &src);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	return xlb_send(ctx, p, hop);
}

#endif /* XLB_BPF_FWD_H */
