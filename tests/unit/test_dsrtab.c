// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The dr/tun tables' sizing and bucket index (include/xlb_dsrtab.h): a
 * table holds exactly the buckets its size needs, and every flow's index
 * falls inside it, whatever the number (the BPF fixtures check that the
 * data plane places flows so in a table of 3 buckets). */
#include <stdint.h>

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

int main(void)
{
	RUN(test_buckets_exact);
	RUN(test_index_bounds);
	RUN(test_every_bucket);
	UNIT_SUMMARY();
}
