/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The tags in the entries of the LRU maps `flows` (nat/fullnat in the hash
 * word, dr/tun of lc/wlc services in the syn_seq word) and `persist` (in
 * the pad word) that bind an entry to its own key,
 * so that a packet tells its entry from another one the kernel wrote into
 * the same element (bpf/cttag.h). Shared with userspace for the fixtures.
 * No part of the ABI hash (Makefile), which every xlbd that writes these
 * tags shares; an entry without one (0) is a miss. A change of these
 * functions changes what pinned entries must hold: it must come with a
 * change of the ABI (xlb_abi.h). */
#ifndef XLB_CTTAG_H
#define XLB_CTTAG_H

#include <linux/types.h>

#include "xlb_abi.h"
#include "xlb_hash.h"

/* One pair of 32-bit words of NH, UMAC's hash (RFC 4418): (a + ka) *
 * (b + kb) in 64 bits, summed over the pairs. Two loads, two adds and a
 * multiply a pair, no chain between pairs. */
XLB_HASH_INLINE __u64 xlb_nh(__u32 a, __u32 b, __u32 ka, __u32 kb)
{
	return (__u64)(__u32)(a + ka) * (__u32)(b + kb);
}

/* The sum folded to 32 bits and mixed; never 0, which means "no tag". */
XLB_HASH_INLINE __u32 xlb_tag_final(__u64 h)
{
	__u32 t = xlb_hash_final((__u32)h ^ (__u32)(h >> 32));

	return t ? t : 1;
}

/* NH of a flow's key, the part the tags of its flows entry share: its
 * ports, protocol and family, and its addresses (an IPv4 flow's one word
 * each: the other three are zero in key and entry alike). */
XLB_HASH_INLINE __u64 xlb_ct_key_nh(const struct xlb_flow_key *k)
{
	__u64 h = xlb_nh((__u32)k->sport_be | (__u32)k->dport_be << 16,
			 (__u32)k->proto | (__u32)k->family << 8,
			 0xd3a2646cu, 0xfd7046c5u);

	if (k->family == XLB_AF_INET)
		return h + xlb_nh(k->src.v4, k->dst.v4, 0x9e3779b9u, 0x7f4a7c15u);
	return h + xlb_nh(k->src.v6[0], k->src.v6[1], 0x9e3779b9u, 0x7f4a7c15u) +
	       xlb_nh(k->src.v6[2], k->src.v6[3], 0xf39cc060u, 0x5ced1a6bu) +
	       xlb_nh(k->dst.v6[0], k->dst.v6[1], 0x85ebca77u, 0xc2b2ae3du) +
	       xlb_nh(k->dst.v6[2], k->dst.v6[3], 0x27d4eb2fu, 0x165667b1u);
}

/* The tag of the nat/fullnat entry f of key k: over k and every field a
 * packet forwards by or judges the entry by (backend, service, mode,
 * backend and local addresses and ports). Checked on a copy of the entry
 * (xlb_ct_copy, bpf/cttag.h), it rejects another flow's entry, and a copy
 * taken while another flow's value was being written over the element,
 * whichever bytes came from which: the kernel's memcpy of a new value has
 * no order a reader could rely on. The state, flags, age and SYN-proxy
 * delta change in place and are not covered. An IPv4 flow's addresses
 * are one word each (the other three are zero in key and entry alike):
 * half the pairs. */
XLB_HASH_INLINE __u32 xlb_ct_tag(const struct xlb_flow_key *k,
				 const struct xlb_flow *f)
{
	__u64 h;

	h = xlb_ct_key_nh(k) +
	    xlb_nh(f->backend_id, f->svc_id | (__u32)f->mode << 24,
		   0xb55a4f09u, 0x2545f491u) +
	    xlb_nh((__u32)f->rport_be | (__u32)f->lport_be << 16, 0,
		   0x5be0cd19u, 0xcbbb9d5du);
	if (k->family == XLB_AF_INET)
		return xlb_tag_final(h + xlb_nh(f->raddr.v4, f->laddr.v4,
						0x4f1bbcdcu, 0x6a09e667u));
	h += xlb_nh(f->raddr.v6[0], f->raddr.v6[1], 0x4f1bbcdcu, 0x6a09e667u) +
	     xlb_nh(f->raddr.v6[2], f->raddr.v6[3], 0xbb67ae85u, 0x3c6ef372u) +
	     xlb_nh(f->laddr.v6[0], f->laddr.v6[1], 0xa54ff53au, 0x510e527fu) +
	     xlb_nh(f->laddr.v6[2], f->laddr.v6[3], 0x9b05688cu, 0x1f83d9abu);
	return xlb_tag_final(h);
}

/* The top byte of a flow entry's tag, which its pad byte holds too: the
 * word a state change compares and swaps (bpf/cttag.h) holds it. */
XLB_HASH_INLINE __u8 xlb_ct_tag8(__u32 tag)
{
	return (__u8)(tag >> 24);
}

/* The tag of the dr/tun entry f of key k (an lc/wlc service's, whose
 * state counts its backend's connections): over k, the backend, service
 * and mode. Kept in the entry's syn_seq word (no SYN proxy in dr/tun),
 * its top byte with the low bit set in pad (xlb_dsr_ct_pad). Checked on
 * a copy as a nat entry's (xlb_ct_copy, bpf/cttag.h). */
XLB_HASH_INLINE __u32 xlb_dsr_ct_tag(const struct xlb_flow_key *k,
				     const struct xlb_flow *f)
{
	return xlb_tag_final(xlb_ct_key_nh(k) +
			     xlb_nh(f->backend_id, f->svc_id | (__u32)f->mode << 24,
				    0x2545f491u, 0xb55a4f09u));
}

/* The pad byte of a dr/tun entry with tag t: never 0, so that the word
 * at offset 48, which a state change compares and swaps, tells a tagged
 * entry alone. */
XLB_HASH_INLINE __u8 xlb_dsr_ct_pad(__u32 t)
{
	return xlb_ct_tag8(t) | 1;
}

/* Tags the new dr/tun entry f of key k. */
XLB_HASH_INLINE void xlb_dsr_ct_tag_put(const struct xlb_flow_key *k,
					struct xlb_flow *f)
{
	f->syn_seq = xlb_dsr_ct_tag(k, f);
	f->pad = xlb_dsr_ct_pad(f->syn_seq);
}

/* The tag of the persistence entry of pk pinned to backend bid. */
XLB_HASH_INLINE __u32 xlb_persist_tag(const struct xlb_persist_key *pk,
					     __u32 bid)
{
	__u64 h;

	h = xlb_nh(pk->client.v6[0], pk->client.v6[1], 0x9e3779b9u, 0x7f4a7c15u) +
	    xlb_nh(pk->client.v6[2], pk->client.v6[3], 0xf39cc060u, 0x5ced1a6bu) +
	    xlb_nh(pk->svc_id, (__u32)pk->family, 0x85ebca77u, 0xc2b2ae3du) +
	    xlb_nh(bid, 0, 0x27d4eb2fu, 0x165667b1u);
	return xlb_tag_final(h);
}

#endif /* XLB_CTTAG_H */
