/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A proxy worker's timers: a hashed wheel of PTIMER_TICK_MS slots. Arming,
 * moving and disarming a timer cost O(1), and a tick touches only the slot
 * that comes due, so a connection that waits costs nothing until its own
 * deadline. Users arm for the earliest time anything could expire and
 * recheck when the timer fires (activity only moves their deadlines later,
 * so it never needs to touch the wheel). */
#ifndef XLB_PROXY_TIMER_H
#define XLB_PROXY_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define PTIMER_TICK_MS 100
#define PWHEEL_SLOTS   4096             /* 409.6 s; later timers wait in the last */

struct pworker;

struct plink {
	struct plink *prev, *next;
};

struct ptimer {
	struct plink link;              /* next NULL: not armed */
	uint64_t at;                    /* ms, CLOCK_MONOTONIC */
	void (*fire)(struct pworker *w, struct ptimer *t);
};

struct pwheel {
	uint64_t tick;                  /* the next slot to run, in ticks */
	struct plink slot[PWHEEL_SLOTS];
};

void pwheel_init(struct pwheel *wh, uint64_t now);
/* (Re)arm t to fire at or up to one tick after at (ms). */
void ptimer_arm(struct pwheel *wh, struct ptimer *t, uint64_t at);
void ptimer_disarm(struct ptimer *t);
static inline bool ptimer_armed(const struct ptimer *t) { return t->link.next; }
/* Fire every timer due by now: each is disarmed before its fire() runs,
 * which may arm it (or any other) again. */
void pwheel_run(struct pwheel *wh, struct pworker *w, uint64_t now);

#endif /* XLB_PROXY_TIMER_H */
