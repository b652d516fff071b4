/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The writer of the lc/wlc lists' slots (include/xlb_lcslots.h): keeps
 * each service's list packets read equal to what was set last, without
 * ever showing a reader a half-written one. */
#ifndef XLB_LCSLOTS_WRITER_H
#define XLB_LCSLOTS_WRITER_H

#include <stdint.h>

#include "xlb_lcslots.h"

struct lcslots;

/* A writer of the slots (2 * XLB_MAX_SERVICES), the map's memory as
 * mapped (or any memory, for tests), which it clears: every list empty,
 * and no reader runs yet. grace: as for slots_clock_init (slots.h).
 * 0 or -ENOMEM. */
int lcslots_open(struct lcslots **out, struct xlb_lc_slot *slots,
		 int (*grace)(void));
void lcslots_close(struct lcslots *l);

/* Readers find list v for service id from now on (v as the svc_backends
 * map holds it). 0, -EINVAL (id or v->n out of range), or the grace
 * wait's error: v is then written over the slot readers use, in place, as
 * into the pinned map (a packet reading it meanwhile may see it half
 * written), and the next set of id waits again. */
int lcslots_set(struct lcslots *l, uint32_t id, const struct xlb_svc_backends *v);

/* The list readers find for service id now, in *out; -EINVAL: id out of
 * range. */
int lcslots_get(const struct lcslots *l, uint32_t id, struct xlb_svc_backends *out);

#endif /* XLB_LCSLOTS_WRITER_H */
