/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The writer of the services' slots by id (include/xlb_svcslots.h): keeps
 * each id's published entry equal to what was set last, without ever
 * showing a reader a half-written one. */
#ifndef XLB_SVCSLOTS_WRITER_H
#define XLB_SVCSLOTS_WRITER_H

#include <stdint.h>

#include "xlb_svcslots.h"

struct svcslots;

/* A writer of slots (XLB_MAX_SERVICES of them), the map's memory as
 * mapped (or any memory, for tests), which it clears: no id has a service,
 * and no reader runs yet. grace: waits until no reader can still hold a
 * selector read before the call (an RCU grace period; NULL:
 * svcidx_grace_rcu). 0 or -ENOMEM. */
int svcslots_open(struct svcslots **out, struct xlb_svc_slots *slots,
		  int (*grace)(void));
void svcslots_close(struct svcslots *s);

/* Id's entry is now key k and service v (k NULL: none). Returns 0, -EINVAL
 * (id out of range), or the grace wait's error, which turned the slots
 * off: every selector says off from then on, and sets are ignored. */
int svcslots_set(struct svcslots *s, uint32_t id, const struct xlb_svc_key *k,
		 const struct xlb_svc *v);

/* The entry readers find for id now; NULL: none. */
const struct xlb_svc_ent *svcslots_get(const struct svcslots *s, uint32_t id);

#endif /* XLB_SVCSLOTS_WRITER_H */
