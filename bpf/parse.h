/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Packet parsing: Ethernet (+ one VLAN tag), IPv4 (with options, and
 * fragments)/IPv6 (and its fragment header), TCP/UDP and the inner header of
 * ICMP errors, reduced to the client 5-tuple the balancer needs. */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb_abi.h"
#include "xlb_hash.h"

#define XLB_IP_MF     0x2000
#define XLB_IP_DF     0x4000
#define XLB_IP_OFFSET 0x1fff

#define XLB_ETH_P_8021Q  0x8100
#define XLB_ETH_P_8021AD 0x88a8

/* Returned by xlb_parse when the packet may be for a VIP. */
#define XLB_PARSE_OK XLB_R_MAX
/* Returned by a step past parsing that went well (route lookup, encap,
 * rewrite, port claim): the caller goes on to its verdict. Not a reason. */
#define XLB_OK XLB_R_MAX

/* <linux/icmp.h> drags in libc's socket headers, which BPF cannot use. */
#define ICMP_DEST_UNREACH   3
#define ICMP_FRAG_NEEDED    4
#define ICMP_TIME_EXCEEDED  11

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

struct xlb_frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;        /* offset in 8-byte units << 3, M in bit 0 */
	__be32 id;
};

/* struct xlb_pkt frag: which part of a fragmented datagram the packet is. */
#define XLB_FRAG_NONE  0
#define XLB_FRAG_FIRST 1        /* offset 0, more to come: has the ports */
#define XLB_FRAG_LATER 2        /* no L4 header: ports from the frags map */

struct xlb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What the rest of the program knows about a packet. For an ICMP error the
 * tuple is the one of the client flow the error is about, not the ICMP's. */
/* struct xlb_pkt's hashed: hash is set (xlb_pkt_hash), outer_hash is set
 * (bpf/select.h: xlb_pkt_outer_hash). One byte for both: the packet's
 * struct is on the stack of the deepest chain of calls. */
#define XLB_HASHED_FLOW  1
#define XLB_HASHED_OUTER 2

struct xlb_pkt {
	struct xlb_flow_key key;        /* src = client, dst = VIP */
	__u32 l3_off;                   /* 14, or 18 behind a VLAN tag */
	__u32 l3_len;                   /* IP total length (header included) */
	__u32 l4_off;                   /* frame offset of TCP/UDP (ICMP) */
	__u32 frame_len;                /* bytes of the whole frame */
	__u32 ifindex;                  /* ctx->ingress_ifindex */
	__u8  vlan;                     /* a VLAN tag is present */
	__u8  icmp_err;                 /* an ICMP error about key's flow */
	__u8  df;                       /* IPv4 DF bit (IPv6: always 1) */
	__u8  tos;                      /* IPv4 TOS / IPv6 traffic class */
	__u8  hashed;                   /* XLB_HASHED_*: which hashes are set */
	__u8  frag;                     /* XLB_FRAG_* */
	__u8  syn;                      /* a TCP SYN without ACK (not an ICMP
					 * error): opens a connection; set
					 * by the entry program */
	__u8  tcp_flags;                /* flags byte of the TCP header (0:
					 * none, or an ICMP error's quote) */
	__u32 hash;
	__u32 outer_hash;               /* tun's outer source: xlb_dsr_outer_hash */
	__u32 frag_id;                  /* IPv4/IPv6 fragment identification */
};

/* Whether two addresses are the same 16 bytes (IPv4: v4 and 12 zero bytes,
 * as in union xlb_addr), compared as four words. */
static __always_inline int xlb_addr_eq(const union xlb_addr *a,
				       const union xlb_addr *b)
{
	return a->v6[0] == b->v6[0] && a->v6[1] == b->v6[1] &&
	       a->v6[2] == b->v6[2] && a->v6[3] == b->v6[3];
}

/* Copies a MAC address as three 16-bit words: Ethernet addresses sit at
 * even offsets of the frame and of every struct holding one, so each access
 * is aligned, where a memcpy of a byte array is six byte stores. */
static __always_inline void xlb_mac_copy(void *dst, const void *src)
{
	__u16 *d = dst;
	const __u16 *s = src;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

/* Whether two MAC addresses (at even offsets, as for xlb_mac_copy) are
 * equal. */
static __always_inline int xlb_mac_eq(const void *a, const void *b)
{
	const __u16 *x = a, *y = b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2])) == 0;
}

/* The flow hash of p's client tuple (xlb_flow_hash), computed on first use:
 * a packet of an existing dr or nat flow never needs it. Data packets and
 * the ICMP errors about them hash alike, so both reach the same backend. */
static __always_inline __u32 xlb_pkt_hash(struct xlb_pkt *p)
{
	if (!(p->hashed & XLB_HASHED_FLOW)) {
		p->hash = p->key.family == XLB_AF_INET ?
			  xlb_flow_hash_v4(p->key.src.v4, p->key.dst.v4,
					   p->key.sport_be, p->key.dport_be,
					   p->key.proto) :
			  xlb_flow_hash(&p->key.src, &p->key.dst, p->key.sport_be,
					p->key.dport_be, p->key.proto);
		p->hashed |= XLB_HASHED_FLOW;
	}
	return p->hash;
}

/* Ports of the TCP/UDP header at l4 (l4_len bytes of IP payload, protocol
 * p->key.proto) into p->key, and a TCP header's flags into p->tcp_flags:
 * read here, where the header is at hand, rather than again for every
 * packet's SYN test. Returns XLB_PARSE_OK or a reason. */
static __always_inline int xlb_parse_ports(void *l4, void *data_end,
					   __u32 l4_len, struct xlb_pkt *p)
{
	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || l4_len < sizeof(*th))
			return XLB_R_DROP_TRUNCATED;
		if (th->doff < 5 || th->doff * 4u > l4_len)
			return XLB_R_DROP_BAD_HEADER;
		p->key.sport_be = th->source;
		p->key.dport_be = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return XLB_PARSE_OK;
	}
	if (p->key.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || l4_len < sizeof(*uh))
			return XLB_R_DROP_TRUNCATED;
		p->key.sport_be = uh->source;
		p->key.dport_be = uh->dest;
		return XLB_PARSE_OK;
	}
	return XLB_R_PASS_PROTO;
}

/* The packet quoted by an ICMPv4 error (ours were VIP:vp -> C:cp). Quotes are
 * truncated by design, so only the IP header and the 8 bytes of ports are
 * required. Anything odd goes to the stack, which knows what to do with it. */
static __always_inline int xlb_parse_icmp4_inner(void *in, void *data_end,
						 struct xlb_pkt *p,
						 __u32 outer_dst)
{
	struct iphdr *iph = in;
	__u16 *ports;

	if ((void *)(iph + 1) > data_end)
		return XLB_R_PASS_ICMP_NOT_OURS;
	if (iph->version != 4 || iph->ihl != 5 || iph->saddr != outer_dst)
		return XLB_R_PASS_ICMP_NOT_OURS;
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return XLB_R_PASS_ICMP_NOT_OURS;
	ports = (void *)(iph + 1);
	if ((void *)(ports + 2) > data_end)
		return XLB_R_PASS_ICMP_NOT_OURS;
	/* Reverse the quoted tuple to get the client's flow key. */
	p->key.src.v4 = iph->daddr;
	p->key.dst.v4 = iph->saddr;
	p->key.sport_be = ports[1];
	p->key.dport_be = ports[0];
	p->key.proto = iph->protocol;
	p->icmp_err = 1;
	return XLB_PARSE_OK;
}

static __always_inline int xlb_parse_icmp6_inner(void *in, void *data_end,
						 struct xlb_pkt *p,
						 const struct in6_addr *outer_dst)
{
	struct ipv6hdr *ip6h = in;
	__u16 *ports;

	if ((void *)(ip6h + 1) > data_end)
		return XLB_R_PASS_ICMP_NOT_OURS;
	if (ip6h->version != 6 ||
	    !xlb_addr_eq((const union xlb_addr *)&ip6h->saddr,
			 (const union xlb_addr *)outer_dst))
		return XLB_R_PASS_ICMP_NOT_OURS;
	if (ip6h->nexthdr != IPPROTO_TCP && ip6h->nexthdr != IPPROTO_UDP)
		return XLB_R_PASS_ICMP_NOT_OURS;
	ports = (void *)(ip6h + 1);
	if ((void *)(ports + 2) > data_end)
		return XLB_R_PASS_ICMP_NOT_OURS;
	__builtin_memcpy(&p->key.src, &ip6h->daddr, 16);
	__builtin_memcpy(&p->key.dst, &ip6h->saddr, 16);
	p->key.sport_be = ports[1];
	p->key.dport_be = ports[0];
	p->key.proto = ip6h->nexthdr;
	p->icmp_err = 1;
	return XLB_PARSE_OK;
}

/* The fragment state of an IPv4 header: later fragments carry no L4
 * header; a first one does, and tells the frags map the ports. */
static __always_inline __u8 xlb_frag4(const struct iphdr *iph)
{
	if (iph->frag_off & bpf_htons(XLB_IP_OFFSET))
		return XLB_FRAG_LATER;
	if (iph->frag_off & bpf_htons(XLB_IP_MF))
		return XLB_FRAG_FIRST;
	return XLB_FRAG_NONE;
}

/* Options (ihl > 5) are kept in the packet: L4 starts at ihl * 4, and no
 * mode needs to read or change them. */
static __always_inline int xlb_parse_ip4(void *data, void *data_end,
					 struct xlb_pkt *p)
{
	struct iphdr *iph = data + p->l3_off;
	__u32 avail, tot, hl;
	void *l4;

	if ((void *)(iph + 1) > data_end)
		return XLB_R_DROP_TRUNCATED;
	if (iph->version != 4 || iph->ihl < 5)
		return XLB_R_DROP_BAD_HEADER;
	hl = iph->ihl * 4u;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hl)
		return XLB_R_DROP_BAD_HEADER;
	avail = (__u32)(data_end - (void *)iph);
	if (tot > avail)
		return XLB_R_DROP_TRUNCATED;

	p->l3_len = tot;
	p->l4_off = p->l3_off + hl;
	p->key.family = XLB_AF_INET;
	p->key.src.v4 = iph->saddr;
	p->key.dst.v4 = iph->daddr;
	p->key.proto = iph->protocol;
	p->df = !!(iph->frag_off & bpf_htons(XLB_IP_DF));
	p->tos = iph->tos;
	p->frag = xlb_frag4(iph);
	p->frag_id = iph->id;
	l4 = (void *)iph + hl;

	if (p->frag && iph->protocol != IPPROTO_TCP &&
	    iph->protocol != IPPROTO_UDP)
		return XLB_R_PASS_FRAGMENT;
	if (p->frag == XLB_FRAG_LATER)
		return XLB_PARSE_OK;
	if (iph->protocol == IPPROTO_ICMP) {
		struct icmphdr *ih = l4;

		/* An error with options of its own is left to the stack: the
		 * translation of errors expects a plain header. */
		if (hl != sizeof(*iph))
			return XLB_R_PASS_ICMP_NOT_OURS;
		if ((void *)(ih + 1) > data_end || tot < sizeof(*iph) + sizeof(*ih))
			return XLB_R_DROP_TRUNCATED;
		if (ih->type != ICMP_DEST_UNREACH && ih->type != ICMP_TIME_EXCEEDED)
			return XLB_R_PASS_ICMP_NOT_OURS;
		return xlb_parse_icmp4_inner(ih + 1, data_end, p, iph->daddr);
	}
	return xlb_parse_ports(l4, data_end, tot - hl, p);
}

/* An IPv6 fragment header at fh: the datagram's transport protocol and
 * where its L4 header starts (first fragment), as IPv4 fragments. Returns
 * XLB_PARSE_OK or a reason. */
static __always_inline int xlb_parse_frag6(struct xlb_frag6_hdr *fh, void *data_end,
					   struct xlb_pkt *p, __u32 *plen)
{
	__u16 off;

	if ((void *)(fh + 1) > data_end || *plen < sizeof(*fh))
		return XLB_R_DROP_TRUNCATED;
	if (fh->nexthdr != IPPROTO_TCP && fh->nexthdr != IPPROTO_UDP)
		return XLB_R_PASS_FRAGMENT;
	off = bpf_ntohs(fh->frag_off);
	p->frag = off & ~7 ? XLB_FRAG_LATER : off & 1 ? XLB_FRAG_FIRST :
							 XLB_FRAG_NONE;
	p->frag_id = fh->id;
	p->key.proto = fh->nexthdr;
	p->l4_off += sizeof(*fh);
	*plen -= sizeof(*fh);
	return XLB_PARSE_OK;
}

/* Extension headers a client's TCP/UDP may carry in front of its transport
 * header (RFC 8200: hop-by-hop and destination options, a routing header
 * with no segment left, a fragment header) are stepped over, at most
 * XLB_IP6_EXT_MAX of them within XLB_IP6_EXT_BYTES, and stay in the packet;
 * like IPv4 options, they must not send a VIP's packet to the balancer's
 * own stack, which would answer with a reset. A routing header with
 * segments left names another destination: not ours. Returns XLB_PARSE_OK
 * with p->key.proto and p->l4_off set, or a reason. */
#define XLB_IP6_EXT_MAX 4
#define XLB_IP6_EXT_BYTES 128

static __always_inline int xlb_skip_ext6(void *data, void *data_end,
					 struct xlb_pkt *p, __u32 *plen)
{
	__u32 ext_end = p->l4_off + XLB_IP6_EXT_BYTES, len;

#pragma unroll
	for (int i = 0; i < XLB_IP6_EXT_MAX; i++) {
		__u8 *h = data + (p->l4_off & 0xff);

		switch (p->key.proto) {
		case IPPROTO_TCP:
		case IPPROTO_UDP:
		case IPPROTO_ICMPV6:
			return XLB_PARSE_OK;
		case IPPROTO_FRAGMENT:
			return xlb_parse_frag6((void *)h, data_end, p, plen);
		case IPPROTO_HOPOPTS:
		case IPPROTO_DSTOPTS:
		case IPPROTO_ROUTING:
			break;
		case IPPROTO_AH:
		case IPPROTO_ESP:
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
			return XLB_R_PASS_IPV6_EXT;
		default:
			return XLB_R_PASS_PROTO;
		}
		if ((void *)(h + 8) > data_end || *plen < 8)
			return XLB_R_DROP_TRUNCATED;
		if (p->key.proto == IPPROTO_ROUTING && h[3])
			return XLB_R_PASS_IPV6_EXT;
		len = (h[1] + 1u) * 8;
		if (len > *plen)
			return XLB_R_DROP_TRUNCATED;
		p->key.proto = h[0];
		p->l4_off += len;
		*plen -= len;
		if (p->l4_off > ext_end)
			return XLB_R_PASS_IPV6_EXT;
	}
	return p->key.proto == IPPROTO_TCP || p->key.proto == IPPROTO_UDP ||
	       p->key.proto == IPPROTO_ICMPV6 ? XLB_PARSE_OK : XLB_R_PASS_IPV6_EXT;
}

static __always_inline int xlb_parse_ip6(void *data, void *data_end,
					 struct xlb_pkt *p)
{
	struct ipv6hdr *ip6h = data + p->l3_off;
	__u32 avail, plen;
	int r;

	if ((void *)(ip6h + 1) > data_end)
		return XLB_R_DROP_TRUNCATED;
	if (ip6h->version != 6)
		return XLB_R_DROP_BAD_HEADER;
	plen = bpf_ntohs(ip6h->payload_len);
	avail = (__u32)(data_end - (void *)(ip6h + 1));
	if (plen > avail)
		return XLB_R_DROP_TRUNCATED;

	p->l4_off = p->l3_off + sizeof(*ip6h);
	p->key.proto = ip6h->nexthdr;
	r = xlb_skip_ext6(data, data_end, p, &plen);
	if (r != XLB_PARSE_OK)
		return r;

	p->l3_len = bpf_ntohs(ip6h->payload_len) + sizeof(*ip6h);
	p->key.family = XLB_AF_INET6;
	__builtin_memcpy(&p->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(&p->key.dst, &ip6h->daddr, 16);
	p->df = 1;
	p->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	if (p->frag == XLB_FRAG_LATER)
		return XLB_PARSE_OK;

	if (p->key.proto == IPPROTO_ICMPV6) {
		struct icmp6hdr *ih = data + (p->l4_off & 0xff);

		if ((void *)(ih + 1) > data_end || plen < sizeof(*ih))
			return XLB_R_DROP_TRUNCATED;
		if (ih->icmp6_type != ICMPV6_DEST_UNREACH &&
		    ih->icmp6_type != ICMPV6_PKT_TOOBIG &&
		    ih->icmp6_type != ICMPV6_TIME_EXCEED)
			return XLB_R_PASS_ICMP_NOT_OURS;
		return xlb_parse_icmp6_inner(ih + 1, data_end, p, &ip6h->daddr);
	}
	return xlb_parse_ports(data + (p->l4_off & 0xff), data_end, plen, p);
}

/* Fills p from the frame. Returns XLB_PARSE_OK when p holds a TCP/UDP tuple
 * worth a service lookup, otherwise the reason to pass or drop. Inlined in
 * the entry program, every packet's first step: a BPF-to-BPF call less per
 * packet (docs/performance.md part 7); the program still loads as fast (the
 * verifier's walk of it is no longer). */
static __always_inline int xlb_parse(struct xdp_md *ctx, struct xlb_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__be16 proto;

	if (!p)
		return XLB_R_DROP_TRUNCATED;
	p->frame_len = (__u32)(data_end - data);
	if ((void *)(eth + 1) > data_end)
		return XLB_R_DROP_TRUNCATED;
	proto = eth->h_proto;
	p->l3_off = sizeof(*eth);
	if (proto == bpf_htons(XLB_ETH_P_8021Q) ||
	    proto == bpf_htons(XLB_ETH_P_8021AD)) {
		struct xlb_vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		proto = vh->proto;
		p->l3_off += sizeof(*vh);
		p->vlan = 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return xlb_parse_ip4(data, data_end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return xlb_parse_ip6(data, data_end, p);
	return XLB_R_PASS_NOT_IP;
}

#endif /* XLB_BPF_PARSE_H */
