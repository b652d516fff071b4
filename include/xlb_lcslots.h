/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The lc/wlc backend lists as packets read them (lc_slots): two slots per
 * service id and a selector, so that a packet never reads a list half
 * written. Shared by the XDP program (bpf/lcslots.h: the reader,
 * xlb_lc_pick) and userspace (src/lib/lcslots.c: the writer).
 *
 * The pinned svc_backends map holds the same lists, written in place (a
 * plain copy over the live value), which a new flow on another CPU could
 * read half old and half new: one list's count with another's backends,
 * or a backend of one list with the weight of another, which picks a
 * backend neither list would. Here service id has the entries id * 2 and
 * id * 2 + 1; the writer fills the one the selector does not name, then
 * publishes it with one aligned 32-bit store of the selector (entry
 * id * 2's sel); the reader loads the selector once and reads the entry
 * it names (its key depends on the load). An entry the selector stopped
 * naming is written again only after an RCU grace period
 * (src/lib/slots.c), so no packet still reads it.
 *
 * The map is never pinned: every xlbd makes it afresh and fills it from
 * the pinned svc_backends (an adopted one holds the last xlbd's lists)
 * before its program runs (src/xlbd/dataplane.c), and keeps writing that
 * map for a restart into an xlbd that reads it; so its layout is no part
 * of the ABI hash of the maps a restart adopts (Makefile, ABI_TEXT). */
#ifndef XLB_LCSLOTS_H
#define XLB_LCSLOTS_H

#include <linux/types.h>

#include "xlb_abi.h"

/* lc_slots value: one slot of a service's list, as struct
 * xlb_svc_backends, whose unused word is the selector here. Entry
 * id * 2's sel says which of id's two entries packets read (0 or 1);
 * entry id * 2 + 1's is unused. */
struct xlb_lc_slot {
	__u32 n;
	__u32 sel;
	__u32 id[XLB_LC_MAX_BACKENDS];
	__u32 weight[XLB_LC_MAX_BACKENDS];
};

_Static_assert(sizeof(struct xlb_lc_slot) == sizeof(struct xlb_svc_backends) &&
	       sizeof(struct xlb_lc_slot) % 8 == 0,
	       "a slot is a list as svc_backends holds it; entries follow each "
	       "other without padding, as mapped");

#endif /* XLB_LCSLOTS_H */
