// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Weighted Maglev table builder: exact weight quotas filled in Maglev
 * permutation order, a pure function of the backends (no history). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

#define NO_OWNER UINT32_MAX

struct mb {
	uint32_t idx;           /* index into the caller's array */
	uint32_t id;
	uint64_t key;
	uint64_t rem;           /* remainder of m * weight / total */
	uint32_t quota;
	uint32_t count;         /* slots owned so far */
	uint32_t skip;
	uint32_t pos;           /* next slot of the permutation to try:
				 * offset + j * skip mod m, stepped by adding */
};

int maglev_is_prime(uint32_t m)
{
	uint32_t d;

	if (m < 2)
		return 0;
	if (m % 2 == 0)
		return m == 2;
	for (d = 3; (uint64_t)d * d <= m; d += 2)
		if (m % d == 0)
			return 0;
	return 1;
}

/* splitmix64's finaliser: cheap and well mixed, and fixed forever because
 * every node must derive the same permutation from the same key. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int cmp_key(const void *pa, const void *pb)
{
	const struct mb *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Who gets the slots left over after rounding down: largest remainder
 * first, then by key (never by what a backend held before: the table must
 * not depend on history). */
static int cmp_rem(const void *pa, const void *pb)
{
	const struct mb *a = *(const struct mb *const *)pa;
	const struct mb *b = *(const struct mb *const *)pb;

	if (a->rem != b->rem)
		return a->rem > b->rem ? -1 : 1;
	return cmp_key(a, b);
}

/* Copies the weighted backends into @mbs in key order (so the result does
 * not depend on the order of the caller's array), with each one's rounded
 * down quota of @m slots and its permutation; returns the slots handed out. */
static uint64_t mb_collect(const struct maglev_backend *backends, size_t n,
			   uint64_t total, struct mb *mbs, uint32_t m)
{
	uint64_t assigned = 0;
	size_t na = 0, i;

	for (i = 0; i < n; i++) {
		const struct maglev_backend *b = &backends[i];

		if (!b->weight)
			continue;
		mbs[na].idx = (uint32_t)i;
		mbs[na].id = b->id;
		mbs[na].key = b->key;
		na++;
	}
	qsort(mbs, na, sizeof(*mbs), cmp_key);
	for (i = 0; i < na; i++) {
		uint64_t w = backends[mbs[i].idx].weight;
		/* m and w are both < 2^32, so the product fits in 64 bits. */
		uint64_t share = (uint64_t)m * w;

		mbs[i].quota = (uint32_t)(share / total);
		mbs[i].rem = share % total;
		assigned += mbs[i].quota;
		mbs[i].pos = (uint32_t)(mix64(mbs[i].key) % m);
		mbs[i].skip = (uint32_t)(mix64(mbs[i].key ^ 0x5bd1e9955bd1e995ULL) %
					 (m - 1)) + 1;
	}
	return assigned;
}

/* Largest remainder: hand out the slots lost to rounding down. */
static void mb_give_remainder(struct mb *mbs, struct mb **order, size_t na,
			      uint64_t assigned, uint32_t m)
{
	size_t i;

	for (i = 0; i < na; i++)
		order[i] = &mbs[i];
	qsort(order, na, sizeof(*order), cmp_rem);
	for (i = 0; assigned < m; i++, assigned++)
		order[i]->quota++;
}

/* Backends take turns (in key order) claiming the next free slot of their
 * permutation; the list shrinks as they reach their quota so heavy weights
 * do not cost a pass over everyone per slot. */
static void mb_fill(struct mb *mbs, struct mb **turn, size_t na,
		    uint32_t *owner, uint32_t m)
{
	size_t i, nturn = 0, filled = 0;

	for (i = 0; i < m; i++)
		owner[i] = NO_OWNER;
	for (i = 0; i < na; i++)
		if (mbs[i].quota)
			turn[nturn++] = &mbs[i];
	while (filled < m && nturn) {
		size_t j, k = 0;

		for (j = 0; j < nturn; j++) {
			struct mb *b = turn[j];
			uint32_t slot;

			do {
				slot = b->pos;
				/* pos + skip < 2m: a subtraction, not a division. */
				b->pos = slot >= m - b->skip ? slot - (m - b->skip)
							     : slot + b->skip;
			} while (owner[slot] != NO_OWNER);
			owner[slot] = (uint32_t)(b - mbs);
			b->count++;
			filled++;
			if (b->count < b->quota)
				turn[k++] = b;
		}
		nturn = k;
	}
}

int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t m)
{
	struct mb *mbs = NULL, **order = NULL, **turn = NULL;
	uint32_t *owner = NULL;
	uint64_t total = 0, assigned;
	size_t na = 0, i;
	int err = 0;

	if (!maglev_is_prime(m) || n > m)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (backends[i].weight) {
			na++;
			total += backends[i].weight;
		}
	if (!na)
		return -ENOENT;

	mbs = calloc(na, sizeof(*mbs));
	order = calloc(na, sizeof(*order));
	turn = calloc(na, sizeof(*turn));
	owner = malloc((size_t)m * sizeof(*owner));
	if (!mbs || !order || !turn || !owner) {
		err = -ENOMEM;
		goto out;
	}
	assigned = mb_collect(backends, n, total, mbs, m);
	mb_give_remainder(mbs, order, na, assigned, m);
	mb_fill(mbs, turn, na, owner, m);
	for (i = 0; i < m; i++)
		table[i] = mbs[owner[i]].id;
out:
	free(mbs);
	free(order);
	free(turn);
	free(owner);
	return err;
}

static int cmp_id(const void *pa, const void *pb)
{
	const struct maglev_backend *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

int maglev_table_hash(const uint32_t *table, uint32_t len,
		      const struct maglev_backend *backends, size_t n,
		      uint64_t *hash)
{
	struct maglev_backend *by_id = malloc((n + 1) * sizeof(*by_id));
	uint64_t h = 0xcbf29ce484222325ull ^ len;       /* FNV-1a, 64-bit words */

	if (!by_id)
		return -ENOMEM;
	memcpy(by_id, backends, n * sizeof(*by_id));
	qsort(by_id, n, sizeof(*by_id), cmp_id);
	for (uint32_t i = 0; i < len; i++) {
		struct maglev_backend k = { .id = table[i] }, *b;

		b = bsearch(&k, by_id, n, sizeof(*by_id), cmp_id);
		if (!b) {
			free(by_id);
			return -ENOENT;
		}
		h = (h ^ b->key) * 0x100000001b3ull;
		h ^= h >> 32;
	}
	free(by_id);
	*hash = h;
	return 0;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int wrr_build(const struct maglev_backend *backends, size_t n, int weighted,
	      uint32_t *seq, uint32_t cap)
{
	uint64_t g = 0, total = 0, *w;
	int64_t *cur;
	size_t live = 0;
	uint32_t len;

	w = calloc(n + 1, sizeof(*w));
	cur = calloc(n + 1, sizeof(*cur));
	if (!w || !cur) {
		free(w);
		free(cur);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		w[i] = backends[i].weight ? (weighted ? backends[i].weight : 1) : 0;
		if (w[i]) {
			g = gcd64(g, w[i]);
			live++;
		}
	}
	if (!live || cap < live) {
		free(w);
		free(cur);
		return live ? -EINVAL : -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		w[i] /= g;
		total += w[i];
	}
	if (total > cap) {
		/* Scale down; the floor of each share plus the one slot every
		 * live backend keeps can still overshoot by at most live. */
		uint64_t room = cap - live, t2 = 0;

		for (size_t i = 0; i < n; i++) {
			if (w[i])
				w[i] = 1 + w[i] * room / total;
			t2 += w[i];
		}
		total = t2;
	}
	len = (uint32_t)total;
	for (uint32_t k = 0; k < len; k++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (!w[i])
				continue;
			cur[i] += (int64_t)w[i];
			if (best == n || cur[i] > cur[best])
				best = i;
		}
		cur[best] -= (int64_t)total;
		seq[k] = backends[best].id;
	}
	free(w);
	free(cur);
	return (int)len;
}
