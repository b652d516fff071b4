/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Backend selection for mode proxy: rr, wrr, lc, wlc, sh, maglev and
 * random2 over a service's backends. The table (struct psched) is built by
 * the control thread and read-only afterwards; each worker thread keeps its
 * own cursor (struct psched_cursor), so picking takes no lock. Loads, and
 * rr's position, are shared atomics that every worker updates. */
#ifndef XLB_PROXY_SCHED_H
#define XLB_PROXY_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the schedulers read about one backend, shared by all workers. */
struct psched_load {
	_Atomic uint32_t active;        /* open connections / udp sessions */
	_Atomic uint64_t down_until;    /* ms (CLOCK_MONOTONIC): skip it until
					 * then after a failed connect */
};

struct psched_be {
	uint32_t weight;                /* 0: draining, never picked */
	uint64_t key;                   /* stable identity (maglev permutation) */
	struct psched_load *load;
};

struct psched {
	uint8_t kind;                   /* enum xlb_sched */
	size_t n;
	struct psched_be *be;
	uint32_t *maglev;               /* sh, maglev: table of indices in be[] */
	uint32_t maglev_size;
	/* rr: the position in the rotation, one for all workers (a cursor
	 * each put 8 connections from two workers on 3 backends 4/2/2 as
	 * often as 3/3/2). */
	_Atomic uint64_t *rr;
};

/* Per worker and per service: the state wrr/lc/random2 advance. */
struct psched_cursor {
	uint64_t rr;
	int64_t *wrr_cur;               /* n entries (smooth weighted rr) */
	uint64_t rng;
};

/* Build s over n backends (be is copied). maglev_size is used for kinds
 * sh and maglev only (a prime). Returns 0 or -ENOMEM. */
int psched_init(struct psched *s, uint8_t kind, const struct psched_be *be,
		size_t n, uint32_t maglev_size);
/* Where rr's rotation starts (say, a random place: not every instance on
 * the first backend). */
void psched_seed(struct psched *s, uint64_t seed);
void psched_free(struct psched *s);
int psched_cursor_init(struct psched_cursor *c, size_t n, uint64_t seed);
void psched_cursor_free(struct psched_cursor *c);

/* Pick a backend index for a new connection, or -1 when none can take it.
 * hash: of the client address (sh) or client address and port (maglev).
 * tried: bit i set = backend i failed already for this connection (only
 * the first 64 backends are tracked); they are avoided, and so are backends
 * marked down, unless nothing else is left. */
int psched_pick(const struct psched *s, struct psched_cursor *c, uint64_t hash,
		uint64_t tried, uint64_t now_ms);

/* FNV-1a over bytes: the hash sh and maglev use. */
uint64_t psched_hash(const void *p, size_t n);

#endif /* XLB_PROXY_SCHED_H */
