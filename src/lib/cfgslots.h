/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The writer of the settings' slots (include/xlb_cfgslots.h): keeps the
 * settings packets read equal to what was set last, without ever showing
 * a reader a half-written set. */
#ifndef XLB_CFGSLOTS_WRITER_H
#define XLB_CFGSLOTS_WRITER_H

#include "xlb_cfgslots.h"

/* One set of settings: the globals and the LIPs as the lips map orders
 * them (IPv4 at [0, n_lips_v4), IPv6 from XLB_LIP_V6_BASE). */
struct xlb_cfg {
	struct xlb_globals g;
	union xlb_addr lips[XLB_CFG_LIPS];
};

struct cfgslots;

/* A writer of the slots (two) and their LIPs (2 * XLB_CFG_LIPS), the
 * maps' memory as mapped (or any memory, for tests), which it clears: all
 * settings zero, and no reader runs yet. grace: as for slots_clock_init
 * (slots.h). 0 or -ENOMEM. */
int cfgslots_open(struct cfgslots **out, struct xlb_cfg_slot *slots,
		  union xlb_addr *lips, int (*grace)(void));
void cfgslots_close(struct cfgslots *c);

/* Readers find v from now on. 0, or the grace wait's error: v is then
 * written over the slot readers use, in place, as into the pinned maps (a
 * packet reading it meanwhile may see it half written), and the next set
 * waits again. */
int cfgslots_set(struct cfgslots *c, const struct xlb_cfg *v);

/* The settings readers find now, in *out. */
void cfgslots_get(const struct cfgslots *c, struct xlb_cfg *out);

#endif /* XLB_CFGSLOTS_WRITER_H */
