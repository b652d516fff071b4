/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The instance's settings as packets read them (cfg_slots, a data section
 * of the program, and the cfg_lips map): two slots and a selector, so
 * that a packet never reads them half written.
 * Shared by the XDP program (bpf/cfgslots.h: the reader) and userspace
 * (src/lib/cfgslots.c: the writer).
 *
 * A slot holds struct xlb_globals (tunnel source prefixes, timeouts, LIP
 * counts, the flood guard's rate, the SYN proxy's key) and a region of
 * cfg_lips with the fullnat local addresses (LIPs) those counts count.
 * The pinned globals and lips maps hold the same, written in place, which
 * a packet on another CPU could read half old and half new: a tun outer
 * source of two prefixes, a LIP count of one list with the addresses of
 * another, or a LIP made of two addresses. Here the writer fills the slot
 * and the region the selector does not name, then publishes them with one
 * aligned 32-bit store of the selector; the reader loads the selector once
 * and reads the slot it names, then that slot's region. A slot the
 * selector stopped naming is written again only after an RCU grace period
 * (src/lib/slots.c), so no packet still reads it. The count and the
 * addresses of the LIPs change together.
 *
 * Neither is ever pinned: every xlbd makes them afresh and fills them
 * from the pinned globals and lips (an adopted pair holds the last xlbd's
 * settings) before its program runs (src/xlbd/dataplane.c), and keeps
 * writing those two for a restart into an xlbd that reads them; so their
 * layout is no part of the ABI hash of the maps a restart adopts
 * (Makefile, ABI_TEXT). */
#ifndef XLB_CFGSLOTS_H
#define XLB_CFGSLOTS_H

#include <linux/types.h>

#include "xlb_abi.h"

/* A slot's LIPs in cfg_lips, ordered as in the lips map (IPv4 at +0,
 * IPv6 at +XLB_LIP_V6_BASE). */
#define XLB_CFG_LIPS (2 * XLB_MAX_LIPS)

/* One slot of cfg_slots[2]. Slot 0's sel says which slot packets read (0
 * or 1; slot 1's is unused). The globals start the slot. */
struct xlb_cfg_slot {
	struct xlb_globals g;
	__u32 sel;
	__u32 lips;             /* the slot's first LIP in cfg_lips */
};

_Static_assert(sizeof(struct xlb_cfg_slot) % 8 == 0,
	       "entries follow each other without padding, as mapped");

#endif /* XLB_CFGSLOTS_H */
