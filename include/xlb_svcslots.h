/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The service of a flow by its id (svc_slots): two slots per id and a
 * selector, so that a packet never reads an entry half written. Shared by
 * the XDP program (bpf/svcslots.h, bpf/select.h: the reader) and userspace
 * (src/lib/svcslots.c: the writer).
 *
 * An id's entry (struct xlb_svc_ent: the services-map key and value of the
 * service that has the id) is what a packet of an existing flow uses in
 * place of a services-map lookup. A map update rewrites an array value in
 * place with a plain copy, which a packet on another CPU may read half old
 * and half new (one service's key with another's mode, table size or
 * flags). So an id has two slots: the writer fills the slot the selector
 * does not name, then publishes it with one aligned 32-bit store of the
 * selector; the reader loads the selector once and reads the slot it names
 * (an address dependency, the ordering RCU readers rely on). A slot the
 * selector stopped naming is written again only after an RCU grace period
 * (an XDP program runs inside an RCU read-side section), so no packet
 * still reads it. A failed wait turns the slots off: every selector says
 * so, and packets find their service by key (slower).
 *
 * The slots also make the services map's answers whole. That map is a
 * preallocated hash, whose replaced or deleted element the kernel hands
 * to the next update at once (no grace period): a packet holding it may
 * read another key's service, or half of one. So a lookup that must ask
 * it (a full bucket of the service index, or the index off) takes only
 * the service's id from it (one aligned word) and the service from that
 * id's slot, which must hold the same key (bpf/svcidx.h); the writer puts
 * a service in its slot before its services-map entry.
 *
 * The map is never pinned: every xlbd makes it afresh and fills it from
 * the services map before its program runs (src/xlbd/dataplane.c), so its
 * layout is no part of the ABI hash of the maps a restart adopts
 * (Makefile, ABI_TEXT). */
#ifndef XLB_SVCSLOTS_H
#define XLB_SVCSLOTS_H

#include <linux/types.h>

#include "xlb_abi.h"

/* struct xlb_svc_slots sel: which slot readers use, or none (no service
 * has the id), or off (the slots are off: the services map's value is
 * the only answer). */
#define XLB_SVC_SLOT_0    0
#define XLB_SVC_SLOT_1    1
#define XLB_SVC_SLOT_NONE 2
#define XLB_SVC_SLOT_OFF  3

/* One id's slots, two cache lines: the selector shares the first slot's,
 * so a packet reads one line while slot 0 is the live one, two otherwise. */
struct xlb_svc_slots {
	struct xlb_svc_ent ent0;
	__u32 sel;
	__u8 pad0[64 - sizeof(struct xlb_svc_ent) - sizeof(__u32)];
	struct xlb_svc_ent ent1;
	__u8 pad1[64 - sizeof(struct xlb_svc_ent)];
};

_Static_assert(sizeof(struct xlb_svc_slots) == 128 &&
	       __builtin_offsetof(struct xlb_svc_slots, ent1) == 64,
	       "an id's slots are two cache lines, one slot in each");

#endif /* XLB_SVCSLOTS_H */
