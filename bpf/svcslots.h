/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The service of a flow by its id (include/xlb_svcslots.h): the map lives
 * here, not in maps.h: it is never pinned, every xlbd fills it afresh (no
 * part of the ABI hash). */
#ifndef XLB_BPF_SVCSLOTS_H
#define XLB_BPF_SVCSLOTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb_svcslots.h"

/* service id -> its two slots and selector (struct xlb_svc_slots). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_svc_slots);
} svc_slots SEC(".maps");

/* The entry of service id as its selector names it; NULL: none (*off:
 * whether the slots are off, when off is not NULL). */
static __always_inline const struct xlb_svc_ent *xlb_svc_slot(__u32 id, int *off)
{
	const struct xlb_svc_slots *s = bpf_map_lookup_elem(&svc_slots, &id);
	__u32 sel;

	if (!s)
		return NULL;
	/* Loaded once: the slot read is the one this selector names. */
	sel = *(volatile const __u32 *)&s->sel;
	if (sel == XLB_SVC_SLOT_0)
		return &s->ent0;
	if (sel == XLB_SVC_SLOT_1)
		return &s->ent1;
	if (off)
		*off = sel == XLB_SVC_SLOT_OFF;
	return NULL;
}

#endif /* XLB_BPF_SVCSLOTS_H */
