/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The lc/wlc backend lists as packets read them (include/xlb_lcslots.h):
 * the map lives here, not in maps.h: it is never pinned, every xlbd fills
 * it afresh (no part of the ABI hash). */
#ifndef XLB_BPF_LCSLOTS_H
#define XLB_BPF_LCSLOTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb_lcslots.h"

/* service id * 2 + slot -> that slot of the service's list; entry
 * id * 2's sel names the slot packets read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_lc_slot);
} lc_slots SEC(".maps");

/* Service svc_id's list as its selector names it now; NULL: none. */
static __always_inline const struct xlb_lc_slot *xlb_lc_list(__u32 svc_id)
{
	const struct xlb_lc_slot *s;
	__u32 key;

	if (svc_id >= XLB_MAX_SERVICES)
		return NULL;
	key = svc_id * 2;
	s = bpf_map_lookup_elem(&lc_slots, &key);
	if (!s)
		return NULL;
	/* Loaded once: the slot read is the one this selector names (its
	 * key depends on the load). */
	key += *(volatile const __u32 *)&s->sel & 1;
	return bpf_map_lookup_elem(&lc_slots, &key);
}

#endif /* XLB_BPF_LCSLOTS_H */
