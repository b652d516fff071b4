// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The dr/tun tables' sizing and bucket index (include/xlb_dsrtab.h): a
 * table holds exactly the buckets its size needs, and every flow's index
 * falls inside it, whatever the number (the BPF fixtures check that the
 * data plane places flows so in a table of 3 buckets); a slot's one word
 * gives back every field packed into it. */
#include <stdint.h>

#include "xlb_dsrkey.h"
#include "xlb_dsrtab.h"
#include "unit.h"

static void test_buckets_exact(void)
{
	/* Two slots per flow, eight to a bucket: a bucket per four flows,
	 * rounded up to a whole bucket, no power of two in sight. */
	CHECK(xlb_dsr_buckets(1000) == 250, "%u", xlb_dsr_buckets(1000));
	CHECK(xlb_dsr_buckets(1025) == 257, "%u", xlb_dsr_buckets(1025));
	CHECK(xlb_dsr_buckets(1048576) == 262144, "%u", xlb_dsr_buckets(1048576));
	CHECK(xlb_dsr_buckets(268435456) == 67108864, "%u",
	      xlb_dsr_buckets(268435456));
	CHECK(xlb_dsr_buckets(3) == 1, "%u", xlb_dsr_buckets(3));
	CHECK(xlb_dsr_buckets(0) == 1, "%u", xlb_dsr_buckets(0));
}

static void test_index_bounds(void)
{
	static const uint32_t sizes[] = { 1, 3, 1000, 1025, 268435456, UINT32_MAX };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t n = sizes[i];

		CHECK(xlb_dsr_index(0, n) == 0, "n %u", n);
		CHECK(xlb_dsr_index(UINT64_MAX, n) == n - 1, "n %u: %u", n,
		      xlb_dsr_index(UINT64_MAX, n));
		/* The tag's bits (the low 32) never move the bucket. */
		CHECK(xlb_dsr_index(12345ull << 32 | 0xffffffff, n) ==
		      xlb_dsr_index(12345ull << 32, n), "n %u", n);
	}
}

static void test_every_bucket(void)
{
	/* Flows of random tuples reach every bucket of a table of 1000
	 * (a mask of the hash's low bits would need 1024, or leave buckets
	 * empty), each about as often. */
	static uint32_t seen[1000];
	struct xlb_dsr_params k = { .k0 = 0x0123456789abcdefull,
				    .k1 = 0xfedcba9876543210ull,
				    .buckets4 = 1000 };
	uint32_t lo = UINT32_MAX, hi = 0;

	for (uint32_t i = 0; i < 200000; i++) {
		uint64_t h = xlb_dsr_hash4(&k, 0xc6120000u + i / 97, 0xc6120064u,
					   (uint16_t)(i * 7919), 80, 6);

		seen[xlb_dsr_index(h, k.buckets4)]++;
	}
	for (uint32_t b = 0; b < 1000; b++) {
		lo = seen[b] < lo ? seen[b] : lo;
		hi = seen[b] > hi ? seen[b] : hi;
	}
	/* 200 a bucket on average; 5 standard deviations (~71) either way. */
	CHECK(lo > 125 && hi < 275, "buckets got %u to %u flows", lo, hi);
}

static void test_id_fields(void)
{
	/* Every field at its extremes reads back alone: no field's bits
	 * reach another's, the mark's included. */
	static const uint32_t tags[] = { 1, 0xfffffe, XLB_DSR_TAG_MASK };
	static const uint32_t svcs[] = { 0, 1, XLB_MAX_SERVICES - 1 };
	static const uint32_t bids[] = { 0, 1, XLB_MAX_BACKENDS - 1 };
	static const uint32_t epochs[] = { 0, 1, XLB_DSR_AGE_MASK, 0xffffffffu };

	for (int t = 0; t < 3; t++)
		for (int s = 0; s < 3; s++)
			for (int b = 0; b < 3; b++)
				for (int e = 0; e < 4; e++)
					for (int m = 0; m < 2; m++) {
		uint64_t id = xlb_dsr_id(tags[t], svcs[s], bids[b], epochs[e]) |
			      (m ? XLB_DSR_ID_UNKEYED : 0);

		CHECK(xlb_dsr_id_tag(id) == tags[t] && xlb_dsr_id_svc(id) == svcs[s] &&
		      xlb_dsr_id_backend(id) == bids[b] &&
		      xlb_dsr_id_age(id) == (epochs[e] & XLB_DSR_AGE_MASK) &&
		      xlb_dsr_id_keyed(id) == !m,
		      "tag %x svc %u backend %u epoch %u mark %d: %016llx", tags[t],
		      svcs[s], bids[b], epochs[e], m, (unsigned long long)id);
		/* A new age changes the age alone. */
		CHECK(xlb_dsr_id_aged(id, epochs[e] + 7) ==
		      ((id & ~((uint64_t)XLB_DSR_AGE_MASK << XLB_DSR_AGE_SHIFT)) |
		       (uint64_t)((epochs[e] + 7) & XLB_DSR_AGE_MASK) << XLB_DSR_AGE_SHIFT),
		      "%016llx", (unsigned long long)id);
	}
	/* A tag is never 0 (an empty slot's id) and fits its bits. */
	CHECK(xlb_dsr_tag(0) == 1, "%x", xlb_dsr_tag(0));
	CHECK(xlb_dsr_tag(UINT64_MAX) == XLB_DSR_TAG_MASK, "%x",
	      xlb_dsr_tag(UINT64_MAX));
}

static void test_victim_across_wrap(void)
{
	/* Ages are 15 bits: the oldest flow is the one seen longest ago
	 * even when the epoch counter wrapped in between. */
	struct xlb_dsr_bucket b = { 0 };
	uint32_t now = XLB_DSR_AGE_MASK + 5;    /* 5 past the wrap */

	for (int i = 0; i < XLB_DSR_WAYS; i++)
		b.id[i] = xlb_dsr_id(0x100 + 2 * i + 1, 1, i, now - (uint32_t)i);
	b.id[3] = xlb_dsr_id(0x301, 1, 3, now - 9);     /* before the wrap */
	CHECK(xlb_dsr_victim(&b, 0x777, now) == 3, "%u",
	      xlb_dsr_victim(&b, 0x777, now));
	/* A flow of the tag already there takes its own slot; an empty slot
	 * goes before any full one. */
	CHECK(xlb_dsr_victim(&b, 0x105, now) == 2, "%u",
	      xlb_dsr_victim(&b, 0x105, now));
	b.id[6] = 0;
	CHECK(xlb_dsr_victim(&b, 0x777, now) == 6, "%u",
	      xlb_dsr_victim(&b, 0x777, now));
}

int main(void)
{
	RUN(test_buckets_exact);
	RUN(test_index_bounds);
	RUN(test_every_bucket);
	RUN(test_id_fields);
	RUN(test_victim_across_wrap);
	UNIT_SUMMARY();
}
