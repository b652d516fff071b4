/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The writer's rule for a value kept in two slots and a selector that
 * names the one packets read (include/xlb_svcslots.h,
 * include/xlb_cfgslots.h): a slot is complete before its selector names
 * it, and a slot its selector stopped naming is written again only after
 * an RCU grace period, once no packet can still read it. */
#ifndef XLB_SLOTS_H
#define XLB_SLOTS_H

#include <stdint.h>

/* Grace periods waited for, counted: a slot whose selector stopped naming
 * it when the count was n is free once the count has moved past n. */
struct slots_clock {
	int (*grace)(void);
	uint64_t graces;
};

/* A clock no reader has seen a slot under yet. grace: waits until no
 * reader can still hold a selector read before the call (NULL:
 * svcidx_grace_rcu). */
void slots_clock_init(struct slots_clock *c, int (*grace)(void));

/* Before writing the slot its selector stopped naming when the clock said
 * left: waits for a grace period unless one has passed since. 0, or the
 * wait's error (the slot is not free). */
int slots_free(struct slots_clock *c, uint64_t left);

/* The selector at sel names v from now on (one aligned 32-bit store that
 * orders the slot's writes before it). *left (NULL: the selector named no
 * slot before) becomes the clock's count: the slot it named until now is
 * free after the next grace period. */
void slots_publish(const struct slots_clock *c, uint32_t *sel, uint32_t v,
		   uint64_t *left);

#endif /* XLB_SLOTS_H */
