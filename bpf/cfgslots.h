/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The instance's settings as packets read them (include/xlb_cfgslots.h):
 * the maps live here, not in maps.h: they are never pinned, every xlbd
 * fills them afresh (no part of the ABI hash). */
#ifndef XLB_BPF_CFGSLOTS_H
#define XLB_BPF_CFGSLOTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb_cfgslots.h"

/* slot -> its globals and where its LIPs are (struct xlb_cfg_slot);
 * entry 0's sel names the slot packets read. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct xlb_cfg_slot);
} cfg_slots SEC(".maps");

/* The two slots' LIPs, XLB_CFG_LIPS each. A map of their own, not an
 * array in the slot: a lookup by index keeps the verifier's work on the
 * fullnat port search as it was (an index into a map value grew it past
 * the verifier's limit). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * XLB_CFG_LIPS);
	__type(key, __u32);
	__type(value, union xlb_addr);
} cfg_lips SEC(".maps");

/* The settings as the selector names them now. A packet that reads
 * settings in several places may see the set before a change in one and
 * the set after it in another, each whole; what must agree (a LIP count
 * and its addresses, a prefix and its length) is read from one return. */
static __always_inline const struct xlb_cfg_slot *xlb_cfg(void)
{
	const struct xlb_cfg_slot *s;
	__u32 key = 0;

	s = bpf_map_lookup_elem(&cfg_slots, &key);
	if (!s)
		return NULL;
	/* Loaded once: the slot read is the one this selector names (its
	 * address depends on the load). */
	key = *(volatile const __u32 *)&s->sel & 1;
	return bpf_map_lookup_elem(&cfg_slots, &key);
}

/* The globals of the settings xlb_cfg() gives; NULL: none. */
static __always_inline const struct xlb_globals *xlb_globals(void)
{
	const struct xlb_cfg_slot *s = xlb_cfg();

	return s ? &s->g : NULL;
}

#endif /* XLB_BPF_CFGSLOTS_H */
