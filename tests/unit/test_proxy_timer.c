// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy workers' timer wheel: timers fire in their tick and not
 * before, disarmed ones never, far ones (beyond a turn) only at their
 * time, and a timer may arm itself again from fire(). */
#include "proxy_timer.h"
#include "unit.h"

static struct pwheel wh;
static int fired[8];

static void on_fire(struct pworker *w, struct ptimer *t)
{
	fired[t - (struct ptimer *)w]++;
}

static struct ptimer tm[8];

static void arm(int i, uint64_t at)
{
	tm[i].fire = on_fire;
	ptimer_arm(&wh, &tm[i], at);
}

static void run(uint64_t now)
{
	pwheel_run(&wh, (struct pworker *)tm, now);
}

static void test_order(void)
{
	pwheel_init(&wh, 1000);
	arm(0, 1050);
	arm(1, 1250);
	arm(2, 1000 + 1000000);         /* beyond a turn */
	arm(3, 1150);
	ptimer_disarm(&tm[3]);
	run(1099);
	CHECK(!fired[0], "fired before its tick ended");
	run(1200);
	CHECK(fired[0] == 1 && !fired[1] && !fired[3], "%d %d %d", fired[0],
	      fired[1], fired[3]);
	run(1300);
	CHECK(fired[1] == 1 && !ptimer_armed(&tm[1]), "%d", fired[1]);
	run(500000);
	CHECK(!fired[2] && ptimer_armed(&tm[2]), "far timer fired early");
	run(1000 + 1000000 + 100);
	CHECK(fired[2] == 1 && !fired[3], "%d %d", fired[2], fired[3]);
}

static int again;

static void rearm(struct pworker *w, struct ptimer *t)
{
	if (++again < 3)
		ptimer_arm(&wh, t, t->at + 500);
}

static void test_rearm_in_fire(void)
{
	pwheel_init(&wh, 0);
	tm[4].fire = rearm;
	ptimer_arm(&wh, &tm[4], 100);
	for (uint64_t now = 0; now <= 5000; now += 100)
		run(now);
	CHECK(again == 3 && !ptimer_armed(&tm[4]), "fired %d times", again);
}

int main(void)
{
	RUN(test_order);
	RUN(test_rearm_in_fire);
	UNIT_SUMMARY();
}
