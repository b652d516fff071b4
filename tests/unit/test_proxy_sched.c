// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the mode-proxy schedulers: spread by weight, weight 0
 * drains, least-connection choices, hash stability, avoidance of tried and
 * down backends. */
#include <stdlib.h>

#include "config.h"
#include "proxy_sched.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")
#define NB 4

static struct psched_load loads[NB];

static void setup(struct psched *s, struct psched_cursor *c, uint8_t kind,
		  const uint32_t *weights, size_t n)
{
	struct psched_be be[NB];

	for (size_t i = 0; i < n; i++) {
		be[i].weight = weights[i];
		be[i].key = 1000 + i;
		be[i].load = &loads[i];
		atomic_store(&loads[i].active, 0);
		atomic_store(&loads[i].down_until, 0);
	}
	EXPECT(psched_init(s, kind, be, n, 1009) == 0);
	EXPECT(psched_cursor_init(c, n, 42) == 0);
}

static void done(struct psched *s, struct psched_cursor *c)
{
	psched_free(s);
	psched_cursor_free(c);
}

/* Count picks over 1000 new connections with distinct hashes. */
static void spread(uint8_t kind, const uint32_t *w, size_t n, unsigned *cnt)
{
	struct psched s;
	struct psched_cursor c;

	setup(&s, &c, kind, w, n);
	memset(cnt, 0, n * sizeof(*cnt));
	for (uint64_t i = 0; i < 1000; i++) {
		int b = psched_pick(&s, &c, psched_hash(&i, sizeof(i)), 0, 1);

		CHECK(b >= 0 && (size_t)b < n, "kind %u", kind);
		if (b >= 0)
			cnt[b]++;
	}
	done(&s, &c);
}

static void test_weights(void)
{
	static const uint32_t w[NB] = { 100, 300, 0, 100 };
	unsigned cnt[NB];

	spread(XLB_SCHED_RR, w, NB, cnt);
	EXPECT(cnt[2] == 0 && cnt[0] >= 333 && cnt[0] <= 334 && cnt[1] >= 333 &&
	       cnt[1] <= 334 && cnt[3] >= 333 && cnt[3] <= 334);
	spread(XLB_SCHED_WRR, w, NB, cnt);
	EXPECT(cnt[2] == 0 && cnt[0] == 200 && cnt[1] == 600 && cnt[3] == 200);
	/* Hashing and random schedulers: within 25% of the weight share. */
	for (uint8_t k = XLB_SCHED_MAGLEV; k <= XLB_SCHED_RANDOM2; k++) {
		if (k == XLB_SCHED_RR || k == XLB_SCHED_WRR || k == XLB_SCHED_LC ||
		    k == XLB_SCHED_WLC)
			continue;
		spread(k, w, NB, cnt);
		CHECK(cnt[2] == 0, "%s: drained backend got %u", sched_name(k), cnt[2]);
		if (k == XLB_SCHED_RANDOM2)
			continue;       /* no load here: any of two equal picks */
		CHECK(cnt[1] > 450 && cnt[1] < 750 && cnt[0] > 150 && cnt[0] < 250,
		      "%s: %u %u %u", sched_name(k), cnt[0], cnt[1], cnt[3]);
	}
}

static void test_least_conn(void)
{
	static const uint32_t w[NB] = { 100, 200, 100, 0 };
	struct psched s;
	struct psched_cursor c;

	setup(&s, &c, XLB_SCHED_LC, w, NB);
	atomic_store(&loads[0].active, 5);
	atomic_store(&loads[1].active, 3);
	atomic_store(&loads[2].active, 4);
	EXPECT(psched_pick(&s, &c, 0, 0, 1) == 1);
	done(&s, &c);

	setup(&s, &c, XLB_SCHED_WLC, w, NB);
	atomic_store(&loads[0].active, 2);
	atomic_store(&loads[1].active, 5);      /* 5/200 < 2/100 is false */
	atomic_store(&loads[2].active, 3);
	EXPECT(psched_pick(&s, &c, 0, 0, 1) == 0);
	atomic_store(&loads[1].active, 3);      /* 3/200 < 2/100 */
	EXPECT(psched_pick(&s, &c, 0, 0, 1) == 1);
	done(&s, &c);

	/* random2 never picks the more loaded of two when one is idle:
	 * with 2 backends and one idle, the loaded one only wins when both
	 * draws land on it. */
	static const uint32_t w2[2] = { 100, 100 };
	unsigned busy = 0;

	setup(&s, &c, XLB_SCHED_RANDOM2, w2, 2);
	atomic_store(&loads[0].active, 50);
	for (uint64_t i = 0; i < 1000; i++)
		busy += psched_pick(&s, &c, 0, 0, 1) == 0;
	CHECK(busy > 150 && busy < 350, "busy picked %u/1000", busy);
	done(&s, &c);
}

static void test_hash_stable(void)
{
	static const uint32_t w[NB] = { 100, 100, 100, 100 };
	struct psched s;
	struct psched_cursor c;

	for (uint8_t k = XLB_SCHED_MAGLEV; k <= XLB_SCHED_SH; k += XLB_SCHED_SH) {
		setup(&s, &c, k, w, NB);
		for (uint64_t i = 0; i < 100; i++) {
			uint64_t h = psched_hash(&i, sizeof(i));
			int a = psched_pick(&s, &c, h, 0, 1);

			CHECK(psched_pick(&s, &c, h, 0, 1) == a, "%s", sched_name(k));
		}
		done(&s, &c);
	}
}

static void test_tried_and_down(void)
{
	static const uint32_t w[NB] = { 100, 100, 100, 100 };
	struct psched s;
	struct psched_cursor c;

	for (uint8_t k = XLB_SCHED_MAGLEV; k <= XLB_SCHED_RANDOM2; k++) {
		setup(&s, &c, k, w, NB);
		for (uint64_t i = 0; i < 200; i++) {
			uint64_t h = psched_hash(&i, sizeof(i));
			int b = psched_pick(&s, &c, h, 0x7, 1);

			CHECK(b == 3, "%s: tried 0-2, got %d", sched_name(k), b);
		}
		/* Backend 1 down until t=100: avoided before, used after. */
		atomic_store(&loads[1].down_until, 100);
		unsigned hit = 0, hit_after = 0;

		for (uint64_t i = 0; i < 400; i++) {
			uint64_t h = psched_hash(&i, sizeof(i));

			hit += psched_pick(&s, &c, h, 0, 50) == 1;
			hit_after += psched_pick(&s, &c, h, 0, 150) == 1;
		}
		CHECK(hit == 0 && hit_after > 0, "%s: down %u, after %u",
		      sched_name(k), hit, hit_after);
		/* Everything tried or down: still an answer (a retry goes
		 * somewhere rather than nowhere). */
		CHECK(psched_pick(&s, &c, 1, 0xf, 50) >= 0, "%s", sched_name(k));
		done(&s, &c);
	}
	/* Nothing with a weight: no backend. */
	static const uint32_t z[2] = { 0, 0 };

	setup(&s, &c, XLB_SCHED_MAGLEV, z, 2);
	EXPECT(psched_pick(&s, &c, 1, 0, 1) == -1);
	done(&s, &c);
	setup(&s, &c, XLB_SCHED_RR, z, 0);
	EXPECT(psched_pick(&s, &c, 1, 0, 1) == -1);
	done(&s, &c);
}

/* rr is one rotation for all workers: two workers (two cursors, same
 * seed) that take 4 connections each spread 8 over 3 backends 3/3/2,
 * not 4/2/2 as two rotations of their own starting at one place did. */
static void test_rr_shared(void)
{
	static const uint32_t w[3] = { 100, 100, 100 };
	struct psched s;
	struct psched_cursor c[2];
	unsigned cnt[3] = { 0 };

	setup(&s, &c[0], XLB_SCHED_RR, w, 3);
	EXPECT(psched_cursor_init(&c[1], 3, 42) == 0);
	for (int k = 0; k < 8; k++) {
		int b = psched_pick(&s, &c[k / 4], 0, 0, 1);

		EXPECT(b >= 0 && b < 3);
		if (b >= 0 && b < 3)
			cnt[b]++;
	}
	CHECK(cnt[0] <= 3 && cnt[1] <= 3 && cnt[2] <= 3, "%u %u %u", cnt[0], cnt[1], cnt[2]);
	psched_cursor_free(&c[1]);
	done(&s, &c[0]);
}

int main(void)
{
	RUN(test_rr_shared);
	RUN(test_weights);
	RUN(test_least_conn);
	RUN(test_hash_stable);
	RUN(test_tried_and_down);
	UNIT_SUMMARY();
}
