/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The address filter: cheap "surely not ours" tests on the VIP and backend
 * bitmaps the daemon keeps (XLB_FILTER_*, xlb_abi.h), run before the hash
 * lookups of the services and nat_rev maps. */
#ifndef XLB_BPF_FILTER_H
#define XLB_BPF_FILTER_H

#include "maps.h"
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

#endif /* XLB_BPF_FILTER_H */
