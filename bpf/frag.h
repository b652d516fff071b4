/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* IP fragments (IPv4, and IPv6's fragment header): the first fragment of a
 * datagram records its ports in the frags map, the later ones (which carry
 * none) take them, so every fragment follows the flow of the first and none
 * reaches the balancer's own stack (Cilium's way; IPVS reassembles). */
#ifndef XLB_BPF_FRAG_H
#define XLB_BPF_FRAG_H

#include "filter.h"
#include "maps.h"
#include "parse.h"
#include "select.h"
#include "xlb_ct.h"

/* Completes p's tuple when p is a fragment that may be xlb's (to a VIP, or
 * a backend's reply). Returns XLB_PARSE_OK; XLB_R_PASS_FRAGMENT for a later
 * fragment of someone else's datagram; XLB_R_DROP_FRAG_UNKNOWN for a later
 * fragment whose first one was not seen (lost, reordered or too old): its
 * datagram cannot be completed anywhere. Out of line: its key would not
 * fit the stack frame of the paths that follow. */
static __attribute__((noinline)) int xlb_frag_follow(struct xlb_pkt *p)
{
	struct xlb_frag_key k = {};
	struct xlb_frag v = {}, *fr;
	__u64 now;

	if (!xlb_filter_may_be_vip(&p->key.dst) &&
	    !xlb_filter_may_have(XLB_FILTER_BACKEND, &p->key.src))
		return p->frag == XLB_FRAG_LATER ? XLB_R_PASS_FRAGMENT :
						   XLB_PARSE_OK;
	k.src = p->key.src;
	k.dst = p->key.dst;
	k.id = p->frag_id;
	k.proto = p->key.proto;
	k.family = p->key.family;
	now = xlb_now();
	if (p->frag == XLB_FRAG_FIRST) {
		v.sport_be = p->key.sport_be;
		v.dport_be = p->key.dport_be;
		v.seen_ns = now;
		bpf_map_update_elem(&frags, &k, &v, BPF_ANY);
		return XLB_PARSE_OK;
	}
	fr = bpf_map_lookup_elem(&frags, &k);
	if (!fr || (__s64)(now - fr->seen_ns) >
		   (__s64)(XLB_FRAG_TIMEOUT_S * XLB_NS_PER_S))
		return XLB_R_DROP_FRAG_UNKNOWN;
	p->key.sport_be = fr->sport_be;
	p->key.dport_be = fr->dport_be;
	return XLB_PARSE_OK;
}

#endif /* XLB_BPF_FRAG_H */
