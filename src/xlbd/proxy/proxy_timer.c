// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy workers' timer wheel (see proxy_timer.h). */
#include <stddef.h>

#include "proxy_timer.h"

static void link_init(struct plink *h)
{
	h->prev = h->next = h;
}

void pwheel_init(struct pwheel *wh, uint64_t now)
{
	wh->tick = now / PTIMER_TICK_MS;
	for (size_t i = 0; i < PWHEEL_SLOTS; i++)
		link_init(&wh->slot[i]);
}

void ptimer_disarm(struct ptimer *t)
{
	if (!t->link.next)
		return;
	t->link.prev->next = t->link.next;
	t->link.next->prev = t->link.prev;
	t->link.next = t->link.prev = NULL;
}

/* A slot at or after the next one to run, and within one turn of the
 * wheel: a later timer waits in the last slot and is placed again then. */
void ptimer_arm(struct pwheel *wh, struct ptimer *t, uint64_t at)
{
	uint64_t k = at / PTIMER_TICK_MS;
	struct plink *h;

	ptimer_disarm(t);
	if (k < wh->tick)
		k = wh->tick;
	if (k >= wh->tick + PWHEEL_SLOTS)
		k = wh->tick + PWHEEL_SLOTS - 1;
	h = &wh->slot[k % PWHEEL_SLOTS];
	t->at = at;
	t->link.next = h;
	t->link.prev = h->prev;
	h->prev->next = &t->link;
	h->prev = &t->link;
}

/* Run the slots whose whole tick is past. The slot's list moves aside
 * first, so what fire() arms lands in a later turn, never in the list
 * being walked; a timer that fire() of another disarms just leaves it. */
void pwheel_run(struct pwheel *wh, struct pworker *w, uint64_t now)
{
	uint64_t end = now / PTIMER_TICK_MS;

	/* Asleep for more than a turn: every slot runs once. */
	if (end > wh->tick + PWHEEL_SLOTS)
		wh->tick = end - PWHEEL_SLOTS;
	for (; wh->tick < end; wh->tick++) {
		struct plink *h = &wh->slot[wh->tick % PWHEEL_SLOTS], due;

		if (h->next == h)
			continue;
		due.next = h->next;
		due.prev = h->prev;
		due.next->prev = due.prev->next = &due;
		link_init(h);
		while (due.next != &due) {
			struct ptimer *t = (struct ptimer *)((char *)due.next -
							     offsetof(struct ptimer, link));

			ptimer_disarm(t);
			if (t->at <= now)
				t->fire(w, t);
			else            /* waited in the last slot */
				ptimer_arm(wh, t, t->at);
		}
	}
}
