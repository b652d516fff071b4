// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the weighted Maglev builder: quotas, disruption on change,
 * tables independent of history, the table hash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "maglev.h"
#include "xlb_abi.h"
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
		EXPECT(maglev_build(b, n, t, M) == 0);
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
	EXPECT(maglev_build(b, n, t, M) == 0);
	count(t, M, counts, n);
	for (size_t i = 0; i < n; i++) {
		double exact = (double)M * w[i] / (double)total;

		CHECK(counts[i] >= exact - 1 && counts[i] <= exact + 1,
		      "weight %u: %u slots, expected %.2f", w[i], counts[i], exact);
	}
	CHECK(counts[6] == 0, "weight 0 got %u slots", counts[6]);
	free(t);
}

/* Fraction of slots whose owner changed that were not owned by `gone`. */
static double moved_between(const uint32_t *a, const uint32_t *b, uint32_t gone)
{
	size_t moved = 0;

	for (uint32_t i = 0; i < M; i++)
		if (a[i] != gone && a[i] != b[i])
			moved++;
	return (double)moved / M;
}

/* Removing (or draining, weight 0) one of N backends moves its slots and at
 * most 1% of all flows besides: remapped <= 1/N + 1%. */
static void test_disruption(void)
{
	static const size_t ns[] = { 2, 3, 10, 32, 100, 1000 };
	uint32_t *old = malloc(M * sizeof(*old)), *t = malloc(M * sizeof(*t));
	struct maglev_backend *b = calloc(1000, sizeof(*b));

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];

		make(b, n, 0);
		EXPECT(maglev_build(b, n, old, M) == 0);
		for (size_t v = 0; v < n; v += n / 4 + 1) {
			size_t remapped = 0;

			b[v].weight = 0;
			EXPECT(maglev_build(b, n, t, M) == 0);
			b[v].weight = 100;
			for (uint32_t i = 0; i < M; i++) {
				remapped += old[i] != t[i];
				EXPECT(t[i] != v);
			}
			CHECK((double)remapped / M <= 1.0 / n + 0.01,
			      "n=%zu: %zu of %u slots remapped when %zu left", n,
			      remapped, M, v);
			CHECK(moved_between(old, t, (uint32_t)v) <= 0.01,
			      "n=%zu: %.2f%% moved between survivors", n,
			      100 * moved_between(old, t, (uint32_t)v));
			/* Coming back restores the table exactly. */
			EXPECT(maglev_build(b, n, t, M) == 0);
			CHECK(!memcmp(old, t, M * sizeof(*t)), "n=%zu: not restored", n);
		}
	}
	/* Adding one to N moves about 1/(N+1), far from a full rehash. */
	make(b, 11, 0);
	EXPECT(maglev_build(b, 10, old, M) == 0);
	EXPECT(maglev_build(b, 11, t, M) == 0);
	CHECK(moved_between(old, t, UINT32_MAX) <= 1.0 / 11 + 0.01, "add moved %.2f%%",
	      100 * moved_between(old, t, UINT32_MAX));
	free(b);
	free(old);
	free(t);
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(uint32_t below)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state % below);
}

/* Random add / remove / reweight sequences that end in the same set give
 * the same table (as keys: ids differ between histories, as they do between
 * nodes), and the same table hash. */
static void test_history(void)
{
	enum { POOL = 12, STEPS = 40, M2 = 4093 };
	struct maglev_backend want[POOL], cur[POOL];
	uint32_t ref[M2], t[M2];
	uint64_t ref_hash, h;
	size_t nwant = 0;

	for (size_t i = 0; i < POOL; i++) {
		want[nwant].id = (uint32_t)i;
		want[nwant].key = key_of((uint32_t)i);
		want[nwant].weight = 1 + (uint32_t)i % 3;
		if (i % 4 != 3)
			nwant++;
	}
	EXPECT(maglev_build(want, nwant, ref, M2) == 0);
	EXPECT(maglev_table_hash(ref, M2, want, nwant, &ref_hash) == 0);
	for (int run = 0; run < 20; run++) {
		size_t n = 0;
		uint32_t next_id = 1000 + 100 * (uint32_t)run;

		for (int step = 0; step < STEPS; step++) {
			uint32_t k = rnd(POOL), op = rnd(3);
			size_t j;

			for (j = 0; j < n && cur[j].key != key_of(k); j++)
				;
			if (j == n && n < POOL) {       /* add, new local id */
				cur[n].id = next_id++;
				cur[n].key = key_of(k);
				cur[n++].weight = 1 + rnd(5);
			} else if (j < n && op == 0) {  /* remove */
				cur[j] = cur[--n];
			} else if (j < n) {             /* reweight, or drain */
				cur[j].weight = rnd(4);
			}
			if (n && maglev_build(cur, n, t, M2) == -EINVAL)
				CHECK(0, "run %d step %d: build failed", run, step);
		}
		/* End in the wanted set, in a shuffled order. */
		n = 0;
		for (size_t i = 0; i < nwant; i++) {
			size_t at = rnd((uint32_t)n + 1);

			cur[n] = cur[at];
			cur[at] = want[i];
			cur[at].id = next_id++;
			n++;
		}
		EXPECT(maglev_build(cur, n, t, M2) == 0);
		EXPECT(maglev_table_hash(t, M2, cur, n, &h) == 0);
		CHECK(h == ref_hash, "run %d: table hash differs", run);
		for (uint32_t i = 0; i < M2; i++) {
			uint64_t kt = 0, kr = 0;

			for (size_t j = 0; j < n; j++) {
				if (cur[j].id == t[i])
					kt = cur[j].key;
				if (want[j].id == ref[i])
					kr = want[j].key;
			}
			if (kt != kr) {
				CHECK(0, "run %d: slot %u differs", run, i);
				break;
			}
		}
	}
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
	EXPECT(maglev_build(b, N, t1, M) == 0);
	EXPECT(maglev_build(b, N, t2, M) == 0);
	CHECK(memcmp(t1, t2, M * sizeof(*t1)) == 0, "same input, different table");
	EXPECT(maglev_build(r, N, t2, M) == 0);
	CHECK(memcmp(t1, t2, M * sizeof(*t1)) == 0, "order changed the table");
	free(t1);
	free(t2);
}

/* The hash follows the backends' keys, not their local ids, and sees a
 * single slot's change. */
static void test_table_hash(void)
{
	struct maglev_backend b[3], c[3];
	uint32_t t[13], u[13];
	uint64_t h1, h2;

	make(b, 3, 0);
	memcpy(c, b, sizeof(c));
	for (int i = 0; i < 3; i++)
		c[i].id += 50;
	EXPECT(maglev_build(b, 3, t, 13) == 0);
	EXPECT(maglev_build(c, 3, u, 13) == 0);
	EXPECT(maglev_table_hash(t, 13, b, 3, &h1) == 0);
	EXPECT(maglev_table_hash(u, 13, c, 3, &h2) == 0);
	CHECK(h1 == h2, "same keys, other ids: %llx != %llx",
	      (unsigned long long)h1, (unsigned long long)h2);
	t[5] = t[5] == 0 ? 1 : 0;
	EXPECT(maglev_table_hash(t, 13, b, 3, &h2) == 0);
	CHECK(h1 != h2, "one slot changed, same hash");
	t[5] = 99;
	EXPECT(maglev_table_hash(t, 13, b, 3, &h2) == -ENOENT);
}

static void test_errors(void)
{
	struct maglev_backend b[4];
	uint32_t t[13];

	make(b, 4, 0);
	t[0] = 12345;
	EXPECT(maglev_build(b, 4, t, 12) == -EINVAL);
	EXPECT(maglev_build(b, 4, t, 1) == -EINVAL);
	CHECK(maglev_build(b, 4, t, 3) == -EINVAL, "fewer slots than backends");
	EXPECT(maglev_build(b, 0, t, 13) == -ENOENT);
	for (int i = 0; i < 4; i++)
		b[i].weight = 0;
	EXPECT(maglev_build(b, 4, t, 13) == -ENOENT);
	CHECK(t[0] == 12345, "table changed on error");
	/* Small table: every slot owned, every backend present. */
	make(b, 4, 0);
	EXPECT(maglev_build(b, 4, t, 13) == 0);
	uint32_t c[4];
	count(t, 13, c, 4);
	EXPECT(c[0] + c[1] + c[2] + c[3] == 13);
	for (int i = 0; i < 4; i++)
		EXPECT(c[i] == 3 || c[i] == 4);
}

/* Large inputs build correctly: 1000 backends at the default size, a
 * rebuild after one is drained, and the largest table size.
 * (How long builds take is measured in bench/, never asserted here.) */
static void test_large(void)
{
	enum { N = 1000 };
	struct maglev_backend *b = calloc(N, sizeof(*b));
	uint32_t *t = malloc(M * sizeof(*t)), *t2 = malloc(M * sizeof(*t2));
	uint32_t *big = malloc(1000003u * sizeof(*big));
	uint32_t *c = calloc(N, sizeof(*c));

	make(b, N, 0);
	EXPECT(maglev_build(b, N, t, M) == 0);
	b[N / 2].weight = 0;
	EXPECT(maglev_build(b, N, t2, M) == 0);
	count(t2, M, c, N);
	EXPECT(c[N / 2] == 0);
	for (int i = 0; i < N; i++)
		if (i != N / 2)
			CHECK(c[i] == M / (N - 1) || c[i] == M / (N - 1) + 1,
			      "backend %d has %u slots", i, c[i]);
	EXPECT(maglev_build(b, N, big, 1000003u) == 0);
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

/* The data plane's packed layout (xlb_maglev_pack): slot s is id[s % 4] of
 * element s / 4, slots past the table name no backend, ids over 16 bits
 * are refused. */
static void test_pack(void)
{
	struct xlb_maglev_slots e[XLB_MAGLEV_ELEMS(13)];
	uint32_t t[13];

	for (uint32_t i = 0; i < 13; i++)
		t[i] = 100 + i;
	EXPECT(XLB_MAGLEV_ELEMS(13) == 4);
	EXPECT(xlb_maglev_pack(t, 13, e) == 0);
	for (uint32_t i = 0; i < 13; i++)
		CHECK(e[i / 4].id[i % 4] == 100 + i, "slot %u: %u", i,
		      e[i / 4].id[i % 4]);
	for (uint32_t i = 13; i < 16; i++)
		CHECK(e[i / 4].id[i % 4] == XLB_MAX_BACKENDS, "pad slot %u", i);
	t[7] = 0x10000;
	EXPECT(xlb_maglev_pack(t, 13, e) == -1);
}

int main(void)
{
	RUN(test_prime);
	RUN(test_equal_weights);
	RUN(test_weighted);
	RUN(test_disruption);
	RUN(test_history);
	RUN(test_deterministic);
	RUN(test_table_hash);
	RUN(test_errors);
	RUN(test_large);
	RUN(test_wrr);
	RUN(test_pack);
	UNIT_SUMMARY();
}
