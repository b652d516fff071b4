/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The instance's settings as packets read them (include/xlb_cfgslots.h):
 * they live here, not in maps.h: they are never pinned, every xlbd fills
 * them afresh (no part of the ABI hash). */
#ifndef XLB_BPF_CFGSLOTS_H
#define XLB_BPF_CFGSLOTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb_cfgslots.h"

/* The two slots; slot 0's sel names the one packets read. A data section
 * of their own (libbpf makes it a one-value array map, which the writer
 * maps as it would any mmapable array): the program reaches the slots at
 * a constant address, where an array map of two would take two lookups
 * per read (the selector's entry, then the slot it names), each a key
 * stored to the stack and loaded back, a bounds check and a multiply. */
struct xlb_cfg_slot cfg_slots[2] SEC(".data.cfg_slots");

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

/* The settings as the selector names them now (never NULL). A packet
 * that reads settings in several places may see the set before a change
 * in one and the set after it in another, each whole; what must agree (a
 * LIP count and its addresses, a prefix and its length) is read from one
 * return. */
static __always_inline const struct xlb_cfg_slot *xlb_cfg(void)
{
	/* Loaded once; the slot read is at an address computed from this
	 * load, so its reads come after it (an address dependency orders
	 * them on every CPU but Alpha; x86 keeps loads in order anyway), and
	 * the writer filled the slot before its release store of the
	 * selector. */
	__u32 sel = *(volatile const __u32 *)&cfg_slots[0].sel & 1;

	return &cfg_slots[sel];
}

/* The globals of the settings xlb_cfg() gives (never NULL). */
static __always_inline const struct xlb_globals *xlb_globals(void)
{
	return &xlb_cfg()->g;
}

#endif /* XLB_BPF_CFGSLOTS_H */
