// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of mode proxy's persistence (src/xlbd/proxy/proxy_persist.c):
 * a client stays on its pinned backend while it comes back within the
 * persistence, whichever worker's clock asks (each worker reads its clock
 * at the top of its loop, so a worker may ask a moment "before" another
 * pinned the client), and is scheduled afresh once the pin is older. */
#include <arpa/inet.h>
#include <string.h>

#include "config.h"
#include "proxy_int.h"
#include "proxy_persist.h"
#include "proxy_sched.h"
#include "unit.h"

#define NB 3
#define PERSIST_MS 60000u

static struct pservice ps;
static struct pbackend be[NB];
static struct pbackend *bes[NB];
static struct psnap_svc v;
static struct psched_cursor cur;

/* An rr service over NB backends with persistence PERSIST_MS. */
static void setup(void)
{
	struct psched_be sb[NB];

	memset(&ps, 0, sizeof(ps));
	memset(be, 0, sizeof(be));
	memset(&v, 0, sizeof(v));
	ps.persist = ppersist_new();
	CHECK(ps.persist != NULL, "ppersist_new");
	for (size_t i = 0; i < NB; i++) {
		bes[i] = &be[i];
		sb[i].weight = 100;
		sb[i].key = 1000 + i;
		sb[i].load = &be[i].load;
	}
	CHECK(psched_init(&v.sched, XLB_SCHED_RR, sb, NB, 1009) == 0, "psched_init");
	CHECK(psched_cursor_init(&cur, NB, 42) == 0, "psched_cursor_init");
	v.ps = &ps;
	v.be = bes;
	v.n_be = NB;
	v.set.persist_ms = PERSIST_MS;
}

static void done(void)
{
	psched_free(&v.sched);
	psched_cursor_free(&cur);
	ppersist_free(ps.persist);
}

static int pick(const union inet_sockaddr *cli, uint64_t now_ms)
{
	return ppersist_pick(&v, &cur, cli, 7, 0, now_ms);
}

static void test_clock_behind(void)
{
	union inet_sockaddr cli = { 0 };
	int x, i;

	setup();
	cli.in.sin_family = AF_INET;
	cli.in.sin_addr.s_addr = htonl(0xc6120001);     /* 198.18.0.1 */
	x = pick(&cli, 10005);
	CHECK(x >= 0, "first pick %d", x);
	/* Another worker, its clock read 5 ms before: the same backend (rr
	 * alone would give the next one). */
	i = pick(&cli, 10000);
	CHECK(i == x, "a worker 5 ms behind got backend %d, the pin is %d", i, x);
	/* The pin's time did not move back to 10000: at 10005 + PERSIST_MS it
	 * still holds. */
	i = pick(&cli, 10005 + PERSIST_MS);
	CHECK(i == x, "at the persistence's end got %d, the pin is %d", i, x);
	/* Past it (from that last connection), rr decides again: the next
	 * backend in the rotation, not the pinned one. */
	i = pick(&cli, 10005 + 2 * PERSIST_MS + 1);
	CHECK(i >= 0 && i != x, "after the persistence got %d, the old pin %d", i, x);
	done();
}

int main(void)
{
	RUN(test_clock_behind);
	UNIT_SUMMARY();
}
