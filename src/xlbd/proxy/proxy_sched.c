// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The schedulers of mode proxy (see proxy_sched.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "maglev.h"
#include "proxy_sched.h"

uint64_t psched_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	/* Mix the high bits down: tables are indexed modulo small sizes. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

int psched_init(struct psched *s, uint8_t kind, const struct psched_be *be,
		size_t n, uint32_t maglev_size)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->n = n;
	s->be = calloc(n ? n : 1, sizeof(*s->be));
	s->rr = calloc(1, sizeof(*s->rr));
	if (!s->be || !s->rr) {
		psched_free(s);
		return -ENOMEM;
	}
	if (n)
		memcpy(s->be, be, n * sizeof(*be));
	if ((kind == XLB_SCHED_MAGLEV || kind == XLB_SCHED_SH) && n) {
		struct maglev_backend *mb = calloc(n, sizeof(*mb));
		int ret;

		s->maglev = malloc(maglev_size * sizeof(*s->maglev));
		if (!mb || !s->maglev) {
			free(mb);
			psched_free(s);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			mb[i].id = (uint32_t)i;
			mb[i].weight = be[i].weight;
			mb[i].key = be[i].key;
		}
		ret = maglev_build(mb, n, s->maglev, maglev_size);
		free(mb);
		if (ret) {
			/* No backend with a weight (or a size we cannot use):
			 * nothing to hash to; fall back on the generic path. */
			free(s->maglev);
			s->maglev = NULL;
		} else {
			s->maglev_size = maglev_size;
		}
	}
	return 0;
}

void psched_seed(struct psched *s, uint64_t seed)
{
	if (s->rr)
		atomic_store_explicit(s->rr, seed, memory_order_relaxed);
}

void psched_free(struct psched *s)
{
	free(s->be);
	free(s->maglev);
	free((void *)s->rr);
	memset(s, 0, sizeof(*s));
}

int psched_cursor_init(struct psched_cursor *c, size_t n, uint64_t seed)
{
	memset(c, 0, sizeof(*c));
	c->wrr_cur = calloc(n ? n : 1, sizeof(*c->wrr_cur));
	c->rng = seed | 1;
	c->rr = seed;
	return c->wrr_cur ? 0 : -ENOMEM;
}

void psched_cursor_free(struct psched_cursor *c)
{
	free(c->wrr_cur);
	c->wrr_cur = NULL;
}

static uint64_t rng_next(struct psched_cursor *c)
{
	/* xorshift64* */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545f4914f6cdd1dull;
}

/* Level 2: any weighted backend. Level 1: also not down. Level 0: also not
 * tried. The pickers ask for the best level that has a candidate. */
static bool usable(const struct psched *s, size_t i, uint64_t tried,
		   uint64_t now, int level)
{
	const struct psched_be *b = &s->be[i];

	if (!b->weight)
		return false;
	if (level <= 1 && atomic_load_explicit(&b->load->down_until,
					       memory_order_relaxed) > now)
		return false;
	if (level == 0 && i < 64 && (tried >> i) & 1)
		return false;
	return true;
}

static uint32_t active(const struct psched_be *b)
{
	return atomic_load_explicit(&b->load->active, memory_order_relaxed);
}

/* a less loaded than b, relative to weights (wlc); weights 1 for lc. */
static bool less_loaded(const struct psched_be *a, const struct psched_be *b,
			bool weighted)
{
	uint64_t la = active(a), lb = active(b);
	uint64_t wa = weighted ? a->weight : 1, wb = weighted ? b->weight : 1;

	return la * wb < lb * wa;
}

/* One picker per scheduler; each returns a backend usable at @level, or -1. */
/* rr: the rotation is the service's, not the worker's (struct psched). */
static int pick_rr(const struct psched *s, uint64_t tried, uint64_t now, int level)
{
	for (size_t k = 0; k < s->n; k++) {
		size_t i = (size_t)(atomic_fetch_add_explicit(s->rr, 1, memory_order_relaxed) %
				    s->n);

		if (usable(s, i, tried, now, level))
			return (int)i;
	}
	return -1;
}

/* Smooth weighted round robin (nginx): every pick adds each weight to its
 * current value, takes the largest and subtracts the total from it. */
static int pick_wrr(const struct psched *s, struct psched_cursor *c,
		    uint64_t tried, uint64_t now, int level)
{
	int64_t total = 0;
	int best = -1;

	for (size_t i = 0; i < s->n; i++) {
		if (!usable(s, i, tried, now, level))
			continue;
		c->wrr_cur[i] += s->be[i].weight;
		total += s->be[i].weight;
		if (best < 0 || c->wrr_cur[i] > c->wrr_cur[best])
			best = (int)i;
	}
	if (best >= 0)
		c->wrr_cur[best] -= total;
	return best;
}

static int pick_lc(const struct psched *s, struct psched_cursor *c,
		   uint64_t tried, uint64_t now, int level)
{
	size_t n = s->n;
	/* Start at a moving offset so ties spread over backends. */
	size_t off = (size_t)(c->rr++ % (n ? n : 1));
	int best = -1;

	for (size_t k = 0; k < n; k++) {
		size_t i = (off + k) % n;

		if (!usable(s, i, tried, now, level))
			continue;
		if (best < 0 || less_loaded(&s->be[i], &s->be[best],
					    s->kind == XLB_SCHED_WLC))
			best = (int)i;
	}
	return best;
}

/* sh and maglev differ in what is hashed (the caller's choice): both look up
 * a weighted Maglev table. */
static int pick_hash(const struct psched *s, uint64_t hash, uint64_t tried,
		     uint64_t now, int level)
{
	uint64_t best_score = 0;
	int best = -1;

	if (s->maglev) {
		size_t i = s->maglev[hash % s->maglev_size];

		if (usable(s, i, tried, now, level))
			return (int)i;
	}
	/* The slot's backend is unusable (down, tried): rendezvous hashing
	 * over the rest, so the fallback is stable too. */
	for (size_t i = 0; i < s->n; i++) {
		uint64_t x[2] = { hash, s->be[i].key }, sc;

		if (!usable(s, i, tried, now, level))
			continue;
		sc = (psched_hash(x, sizeof(x)) >> 16) * s->be[i].weight;
		if (best < 0 || sc > best_score) {
			best = (int)i;
			best_score = sc;
		}
	}
	return best;
}

/* One weighted random draw among the usable backends (@total: their weights). */
static int random_weighted(const struct psched *s, struct psched_cursor *c,
			   uint64_t total, uint64_t tried, uint64_t now,
			   int level)
{
	uint64_t r = rng_next(c) % total;

	for (size_t i = 0; i < s->n; i++) {
		if (!usable(s, i, tried, now, level))
			continue;
		if (r < s->be[i].weight)
			return (int)i;
		r -= s->be[i].weight;
	}
	return -1;
}

/* Two weighted random candidates; keep the less loaded. */
static int pick_random2(const struct psched *s, struct psched_cursor *c,
			uint64_t tried, uint64_t now, int level)
{
	uint64_t total = 0;
	int cand[2];

	for (size_t i = 0; i < s->n; i++)
		if (usable(s, i, tried, now, level))
			total += s->be[i].weight;
	if (!total)
		return -1;
	for (int k = 0; k < 2; k++)
		cand[k] = random_weighted(s, c, total, tried, now, level);
	if (less_loaded(&s->be[cand[1]], &s->be[cand[0]], true))
		return cand[1];
	return cand[0];
}

static int pick_level(const struct psched *s, struct psched_cursor *c,
		      uint64_t hash, uint64_t tried, uint64_t now, int level)
{
	switch (s->kind) {
	case XLB_SCHED_RR:
		return pick_rr(s, tried, now, level);
	case XLB_SCHED_WRR:
		return pick_wrr(s, c, tried, now, level);
	case XLB_SCHED_LC:
	case XLB_SCHED_WLC:
		return pick_lc(s, c, tried, now, level);
	case XLB_SCHED_SH:
	case XLB_SCHED_MAGLEV:
		return pick_hash(s, hash, tried, now, level);
	case XLB_SCHED_RANDOM2:
		return pick_random2(s, c, tried, now, level);
	}
	return -1;
}

int psched_pick(const struct psched *s, struct psched_cursor *c, uint64_t hash,
		uint64_t tried, uint64_t now_ms)
{
	int i;

	if (!s->n)
		return -1;
	for (int level = 0; level <= 2; level++) {
		i = pick_level(s, c, hash, tried, now_ms, level);
		if (i >= 0)
			return i;
	}
	return -1;
}
