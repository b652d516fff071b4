/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Weighted Maglev consistent-hashing table (Eisenbud et al., NSDI 2016). */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

struct maglev_backend {
	uint32_t id;            /* value stored in the table (backend id) */
	uint32_t weight;        /* 0 = not in the table (draining) */
	uint64_t key;           /* stable identity, e.g. hash of address+port:
				 * the permutation depends only on it, so every
				 * node computes the same table */
};

/* Returns true when m is prime (table sizes must be). */
int maglev_is_prime(uint32_t m);

/* Fill table[0..m-1] with backend ids. m must be prime and at least the
 * number of backends. Each backend with a non-zero weight gets a quota of
 * slots proportional to its weight (largest-remainder rounding, so with equal
 * weights every backend gets floor(m/n) or ceil(m/n) slots); weight 0 gets none.
 * Slots are filled in Maglev order: backends take turns claiming the next
 * free slot of their permutation (offset/skip from `key`).
 *
 * The table is a pure function of the backends' keys and weights (not of
 * their order, nor of any earlier table), so every node with the same view
 * builds the same table: a node that takes over a flow after an ECMP change
 * sends it where the previous node did. Removing one of n backends moves
 * its slots and about 0.3% of the others' (bench/scale).
 *
 * Returns 0, -EINVAL (m not prime or too small), -ENOMEM or -ENOENT (no
 * backend with a non-zero weight; the table is then left unchanged). */
int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t m);

/* A digest of what table[0..len-1] maps to: each slot's backend `key`
 * (found by id in backends[0..n-1]), not its id, since ids are local to a
 * node. Two nodes' tables get the same hash exactly when they send every
 * slot to the same address and port (up to 64-bit collisions). Returns 0 and
 * sets *hash, -ENOENT (a slot names an id not in backends) or -ENOMEM. */
int maglev_table_hash(const uint32_t *table, uint32_t len,
		      const struct maglev_backend *backends, size_t n,
		      uint64_t *hash);

/* Weighted round-robin sequence for the rr/wrr schedulers of the packet
 * modes: writes backend ids to seq[0..len-1], interleaved (smooth weighted
 * round robin, as nginx does: a backend of weight 3 next to one of weight 1
 * gives A A B A, not A A A B), each backend appearing weight/gcd times
 * (every non-zero weight counts as 1 when !weighted). When that sum exceeds
 * cap the weights are scaled down to fit (each keeps at least one slot).
 * Returns len (1..cap) or -ENOENT when no backend has a non-zero weight,
 * -EINVAL when cap is smaller than the number of such backends, -ENOMEM. */
int wrr_build(const struct maglev_backend *backends, size_t n, int weighted,
	      uint32_t *seq, uint32_t cap);

#endif /* XLB_MAGLEV_H */
