// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the weighted Maglev builder: quotas, disruption on change,
 * determinism and speed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "maglev.h"
#include "unit.h"

/* CHECK without a message trips -Wformat-zero-length in unit.h. */
#define EXPECT(cond) CHECK(cond, " ")

#define M 65537

static uint64_t key_of(uint32_t id)
{
	/* Any stable per-backend value will do; mimic a hashed address. */
	return 0x1000000ULL * id + 0xabcdef;
}

static void make(struct maglev_backend *b, size_t n, uint32_t first_id)
{
	for (size_t i = 0; i < n; i++) {
		b[i].id = first_id + (uint32_t)i;
		b[i].weight = 100;
		b[i].key = key_of(b[i].id);
	}
}

/* counts[id] = number of slots owned by id (ids < maxid). */
static void count(const uint32_t *t, uint32_t m, uint32_t *counts, size_t maxid)
{
	memset(counts, 0, maxid * sizeof(*counts));
	for (uint32_t i = 0; i < m; i++)
		if (t[i] < maxid)
			counts[t[i]]++;
}

static void test_prime(void)
{
	EXPECT(maglev_is_prime(2));
	EXPECT(maglev_is_prime(3));
	EXPECT(maglev_is_prime(65537));
	EXPECT(maglev_is_prime(1000003));
	EXPECT(!maglev_is_prime(0));
	EXPECT(!maglev_is_prime(1));
	EXPECT(!maglev_is_prime(65536));
	EXPECT(!maglev_is_prime(1000001));
	EXPECT(!maglev_is_prime(4294967295u));
}

static void test_equal_weights(void)
{
	static const size_t ns[] = { 1, 2, 3, 7, 100, 1000 };
	uint32_t *t = malloc(M * sizeof(*t));
	uint32_t counts[1000];
	struct maglev_backend b[1000];

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		uint32_t lo = M / n, hi = (M + n - 1) / n;

		make(b, n, 0);
		EXPECT(maglev_build(b, n, NULL, t, M) == 0);
		count(t, M, counts, n);
		uint64_t sum = 0;
		for (size_t i = 0; i < n; i++) {
			CHECK(counts[i] >= lo && counts[i] <= hi,
			      "n=%zu backend %zu has %u slots", n, i, counts[i]);
			sum += counts[i];
		}
		CHECK(sum == M, "n=%zu: %llu slots owned", n, (unsigned long long)sum);
	}
	free(t);
}

static void test_weighted(void)
{
	static const uint32_t w[] = { 1, 10, 100, 255, 1000, 7, 0, 65535 };
	size_t n = sizeof(w) / sizeof(w[0]);
	struct maglev_backend b[8];
	uint32_t *t = malloc(M * sizeof(*t));
	uint32_t counts[8];
	uint64_t total = 0;

	make(b, n, 0);
	for (size_t i = 0; i < n; i++) {
		b[i].weight = w[i];
		total += w[i];
	}
	EXPECT(maglev_build(b, n, NULL, t, M) == 0);
	count(t, M, counts, n);
	for (size_t i = 0; i < n; i++) {
		double exact = (double)M * w[i] / (double)total;

		CHECK(counts[i] >= exact - 1 && counts[i] <= exact + 1,
		      "weight %u: %u slots, expected %.2f", w[i], counts[i], exact);
	}
	CHECK(counts[6] == 0, "weight 0 got %u slots", counts[6]);
	free(t);
}

static void test_remove(void)
{
	enum { N = 10 };
	struct maglev_backend b[N];
	uint32_t *old = malloc(M * sizeof(*old)), *t = malloc(M * sizeof(*t));
	uint32_t counts[N], gained[N] = { 0 };
	const uint32_t gone = 4;
	size_t moved_between_survivors = 0, freed = 0;

	make(b, N, 0);
	EXPECT(maglev_build(b, N, NULL, old, M) == 0);
	/* Remove backend 4 by compacting the array. */
	memmove(&b[gone], &b[gone + 1], (N - gone - 1) * sizeof(b[0]));
	EXPECT(maglev_build(b, N - 1, old, t, M) == 0);
	for (uint32_t i = 0; i < M; i++) {
		if (old[i] == gone) {
			freed++;
			gained[t[i]]++;
			EXPECT(t[i] != gone);
		} else if (old[i] != t[i]) {
			moved_between_survivors++;
		}
	}
	CHECK(moved_between_survivors == 0, "%zu slots moved between survivors",
	      moved_between_survivors);
	count(t, M, counts, N);
	uint32_t lo = M / (N - 1), hi = (M + N - 2) / (N - 1);
	for (uint32_t i = 0; i < N; i++) {
		if (i == gone) {
			EXPECT(counts[i] == 0);
			continue;
		}
		CHECK(counts[i] >= lo && counts[i] <= hi, "backend %u: %u", i, counts[i]);
		/* The orphaned slots are spread evenly over the survivors. */
		CHECK(gained[i] + 1 >= freed / (N - 1) && gained[i] <= freed / (N - 1) + 1,
		      "backend %u gained %u of %zu", i, gained[i], freed);
	}

	/* Draining (weight 0) behaves like removal. */
	make(b, N, 0);
	b[gone].weight = 0;
	EXPECT(maglev_build(b, N, old, t, M) == 0);
	moved_between_survivors = 0;
	for (uint32_t i = 0; i < M; i++)
		if (old[i] != gone && old[i] != t[i])
			moved_between_survivors++;
	EXPECT(moved_between_survivors == 0);
	free(old);
	free(t);
}

/* With many backends, m/n is close to m/(n-1): whether a survivor ends up
 * with floor or ceil must follow what it held, or slots would shuffle. */
static void test_remove_many(void)
{
	enum { N = 1000 };
	struct maglev_backend *b = calloc(N, sizeof(*b));
	uint32_t *old = malloc(M * sizeof(*old)), *t = malloc(M * sizeof(*t));
	size_t moved = 0;

	make(b, N, 0);
	EXPECT(maglev_build(b, N, NULL, old, M) == 0);
	b[123].weight = 0;
	EXPECT(maglev_build(b, N, old, t, M) == 0);
	for (uint32_t i = 0; i < M; i++)
		if (old[i] != 123 && old[i] != t[i])
			moved++;
	CHECK(moved == 0, "%zu slots moved between survivors", moved);
	free(b);
	free(old);
	free(t);
}

static void test_add(void)
{
	enum { N = 10 };
	struct maglev_backend b[N + 1];
	uint32_t *old = malloc(M * sizeof(*old)), *t = malloc(M * sizeof(*t));
	uint32_t counts[N + 1];
	size_t moved = 0, to_new = 0;

	make(b, N + 1, 0);
	EXPECT(maglev_build(b, N, NULL, old, M) == 0);
	EXPECT(maglev_build(b, N + 1, old, t, M) == 0);
	for (uint32_t i = 0; i < M; i++) {
		if (old[i] != t[i]) {
			moved++;
			if (t[i] == N)
				to_new++;
		}
	}
	count(t, M, counts, N + 1);
	/* Only the new backend's share moves, and it all moves to it. */
	CHECK(moved == counts[N], "moved %zu, new backend has %u", moved, counts[N]);
	EXPECT(to_new == moved);
	CHECK(moved <= M / (N + 1) + 1, "moved %zu", moved);
	for (uint32_t i = 0; i <= N; i++)
		EXPECT(counts[i] >= M / (N + 1) && counts[i] <= M / (N + 1) + 1);

	/* Adding without prev (a fresh node) still moves only about 1/(N+1)
	 * plus Maglev's small reshuffle; far from a full rehash. */
	EXPECT(maglev_build(b, N + 1, NULL, t, M) == 0);
	moved = 0;
	for (uint32_t i = 0; i < M; i++)
		moved += old[i] != t[i];
	CHECK(moved < M / 4, "fresh build moved %zu", moved);
	free(old);
	free(t);
}

static void test_deterministic(void)
{
	enum { N = 50 };
	struct maglev_backend b[N], r[N];
	uint32_t *t1 = malloc(M * sizeof(*t1)), *t2 = malloc(M * sizeof(*t2));

	make(b, N, 7);
	for (size_t i = 0; i < N; i++) {
		b[i].weight = (uint32_t)(i % 5) * 10 + 1;
		r[N - 1 - i] = b[i];
	}
	EXPECT(maglev_build(b, N, NULL, t1, M) == 0);
	EXPECT(maglev_build(b, N, NULL, t2, M) == 0);
	CHECK(memcmp(t1, t2, M * sizeof(*t1)) == 0, "same input, different table");
	EXPECT(maglev_build(r, N, NULL, t2, M) == 0);
	CHECK(memcmp(t1, t2, M * sizeof(*t1)) == 0, "order changed the table");
	/* A rebuild against itself changes nothing, also in place. */
	memcpy(t2, t1, M * sizeof(*t1));
	EXPECT(maglev_build(b, N, t2, t2, M) == 0);
	CHECK(memcmp(t1, t2, M * sizeof(*t1)) == 0, "rebuild moved slots");
	free(t1);
	free(t2);
}

static void test_errors(void)
{
	struct maglev_backend b[4];
	uint32_t t[13];

	make(b, 4, 0);
	t[0] = 12345;
	EXPECT(maglev_build(b, 4, NULL, t, 12) == -EINVAL);
	EXPECT(maglev_build(b, 4, NULL, t, 1) == -EINVAL);
	CHECK(maglev_build(b, 4, NULL, t, 3) == -EINVAL, "fewer slots than backends");
	EXPECT(maglev_build(b, 0, NULL, t, 13) == -ENOENT);
	for (int i = 0; i < 4; i++)
		b[i].weight = 0;
	EXPECT(maglev_build(b, 4, NULL, t, 13) == -ENOENT);
	CHECK(t[0] == 12345, "table changed on error");
	/* Small table: every slot owned, every backend present. */
	make(b, 4, 0);
	EXPECT(maglev_build(b, 4, NULL, t, 13) == 0);
	uint32_t c[4];
	count(t, 13, c, 4);
	EXPECT(c[0] + c[1] + c[2] + c[3] == 13);
	for (int i = 0; i < 4; i++)
		EXPECT(c[i] == 3 || c[i] == 4);
}

/* Large inputs build correctly: 1000 backends at the default size, a
 * rebuild with prev after one is drained, and the largest table size.
 * (How long builds take is measured in bench/, never asserted here.) */
static void test_large(void)
{
	enum { N = 1000 };
	struct maglev_backend *b = calloc(N, sizeof(*b));
	uint32_t *t = malloc(M * sizeof(*t)), *t2 = malloc(M * sizeof(*t2));
	uint32_t *big = malloc(1000003u * sizeof(*big));
	uint32_t *c = calloc(N, sizeof(*c));

	make(b, N, 0);
	EXPECT(maglev_build(b, N, NULL, t, M) == 0);
	b[N / 2].weight = 0;
	EXPECT(maglev_build(b, N, t, t2, M) == 0);
	count(t2, M, c, N);
	EXPECT(c[N / 2] == 0);
	for (int i = 0; i < N; i++)
		if (i != N / 2)
			CHECK(c[i] == M / (N - 1) || c[i] == M / (N - 1) + 1,
			      "backend %d has %u slots", i, c[i]);
	EXPECT(maglev_build(b, N, NULL, big, 1000003u) == 0);
	free(c);
	free(big);
	free(b);
	free(t);
	free(t2);
}

/* The rr/wrr sequence: exact shares, interleaved, gcd-reduced, capped. */
static void test_wrr(void)
{
	struct maglev_backend b[3] = { { 7, 300, 0 }, { 8, 100, 0 }, { 9, 0, 0 } };
	uint32_t seq[64];
	int len;

	len = wrr_build(b, 3, 1, seq, 64);
	CHECK(len == 4, "len %d, want 4 (weights 300:100:0 over their gcd)", len);
	CHECK(len == 4 && seq[0] == 7 && seq[1] == 7 && seq[2] == 8 && seq[3] == 7,
	      "got %u %u %u %u, want 7 7 8 7", seq[0], seq[1], seq[2], seq[3]);
	len = wrr_build(b, 3, 0, seq, 64);
	CHECK(len == 2 && seq[0] == 7 && seq[1] == 8, "rr: len %d", len);

	/* Larger than the cap: scaled, every live backend keeps a slot. */
	b[0].weight = 1000;
	b[1].weight = 1;
	len = wrr_build(b, 3, 1, seq, 10);
	CHECK(len > 0 && len <= 10, "capped len %d", len);
	{
		int n8 = 0;

		for (int i = 0; i < len; i++)
			n8 += seq[i] == 8;
		CHECK(n8 == 1, "backend 8 has %d slots, want 1", n8);
	}
	b[0].weight = b[1].weight = 0;
	CHECK(wrr_build(b, 3, 1, seq, 64) == -ENOENT, "all drained");
}

int main(void)
{
	RUN(test_prime);
	RUN(test_equal_weights);
	RUN(test_weighted);
	RUN(test_remove);
	RUN(test_remove_many);
	RUN(test_add);
	RUN(test_deterministic);
	RUN(test_errors);
	RUN(test_large);
	RUN(test_wrr);
	UNIT_SUMMARY();
}
