/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The service index (svc_idx, svc_recs): the services map's entries in
 * one-cache-line buckets found by a multiply-shift hash of the key, so that
 * a new flow finds its service with two array reads instead of a hash-map
 * lookup (jhash over the key, a bucket walk). Shared by the XDP program
 * (bpf/svcidx.h, the reader) and userspace (src/lib/svcidx.c, the writer).
 *
 * The services map stays the truth; the index mirrors it. A key lives in
 * its home bucket (xlb_svc_idx_bucket) as one 64-bit word, its tag and the
 * number of a record (struct xlb_svc_rec: the key and its struct xlb_svc);
 * a bucket whose XLB_SVC_IDX_WAYS words are all taken may have more keys,
 * which live in the services map alone: a lookup that finds its key in no
 * word of a full bucket asks the services map (bpf/svcidx.h).
 *
 * No locks, no half-written entries: a record is written while no word
 * names it, then published by one aligned 64-bit store of its word (which
 * replaces the key's previous word, or fills an empty one); the reader
 * loads the word once and reads the record it names (an address
 * dependency: the ordering RCU readers rely on). A record that a word
 * stopped naming is written again only after an RCU grace period (an XDP
 * program runs inside an RCU read-side section), so no packet still reads
 * it.
 *
 * These maps are never pinned: every xlbd makes them afresh and fills them
 * from the services map before its program runs (src/xlbd/dataplane.c), so
 * their layout is no part of the ABI hash of the maps a restart adopts
 * (Makefile, ABI_TEXT). */
#ifndef XLB_SVCIDX_H
#define XLB_SVCIDX_H

#include <linux/types.h>

#include "xlb_abi.h"

#define XLB_SVCIDX_INLINE static inline __attribute__((always_inline))

/* 1024 buckets of 8 words: the services map's 2 * XLB_MAX_SERVICES keys
 * fill a quarter of the words. */
#define XLB_SVC_IDX_BUCKETS_LOG 10
#define XLB_SVC_IDX_BUCKETS (1u << XLB_SVC_IDX_BUCKETS_LOG)
#define XLB_SVC_IDX_WAYS 8
/* Keys the index mirrors (the services map's max_entries), and records:
 * twice as many, so that at least half of them are free or waiting for a
 * grace period, which the writer then waits for once per as many changes. */
#define XLB_SVC_IDX_KEYS (2 * XLB_MAX_SERVICES)
#define XLB_SVC_IDX_RECS (2 * XLB_SVC_IDX_KEYS)

/* One bucket: word = tag << 32 | record number; 0 is an empty word. */
struct xlb_svc_idx_bucket {
	__u64 w[XLB_SVC_IDX_WAYS];
};

_Static_assert(sizeof(struct xlb_svc_idx_bucket) == 64, "a bucket is one cache line");
_Static_assert(XLB_SVC_IDX_RECS <= 0xffffffffu, "a word holds a record in 32 bits");

/* One record: a key and its service, one cache line. */
struct xlb_svc_rec {
	struct xlb_svc_key key;
	struct xlb_svc svc;
	__u8 pad[64 - sizeof(struct xlb_svc_key) - sizeof(struct xlb_svc)];
};

_Static_assert(sizeof(struct xlb_svc_rec) == 64, "a record is one cache line");

#define XLB_SVC_IDX_M1 0x9e3779b97f4a7c15ull
#define XLB_SVC_IDX_M2 0xc2b2ae3d27d4eb4full
#define XLB_SVC_IDX_M3 0xff51afd7ed558ccdull

/* The key's last word: port_be, proto and family as they lie in memory. */
XLB_SVCIDX_INLINE __u32 xlb_svc_key_tail(const struct xlb_svc_key *k)
{
	__u32 t;

	__builtin_memcpy(&t, &k->port_be, sizeof(t));
	return t;
}

_Static_assert(__builtin_offsetof(struct xlb_svc_key, port_be) == 16 &&
	       sizeof(struct xlb_svc_key) == 20,
	       "a service key is the VIP's four words and one more");

/* 64-bit hash of service key k (multiply and xor-shift over its five
 * words): the bucket from its top bits, the tag from its low 32. Not keyed:
 * the keys are the operator's services; keys that share a bucket are found
 * all the same (a full bucket sends the lookup to the services map). */
XLB_SVCIDX_INLINE __u64 xlb_svc_idx_hash(const struct xlb_svc_key *k)
{
	__u64 h;

	h = ((__u64)k->vip.v6[1] << 32 | k->vip.v6[0]) * XLB_SVC_IDX_M1;
	h ^= h >> 32;
	h = (h ^ ((__u64)k->vip.v6[3] << 32 | k->vip.v6[2])) * XLB_SVC_IDX_M2;
	h ^= h >> 29;
	h = (h ^ xlb_svc_key_tail(k)) * XLB_SVC_IDX_M3;
	return h ^ (h >> 32);
}

/* The home bucket of hash h. */
XLB_SVCIDX_INLINE __u32 xlb_svc_idx_bucket(__u64 h)
{
	return (__u32)(h >> (64 - XLB_SVC_IDX_BUCKETS_LOG));
}

/* The tag of hash h (never 0: a taken word is never 0). */
XLB_SVCIDX_INLINE __u32 xlb_svc_idx_tag(__u64 h)
{
	return (__u32)h | 1;
}

/* Whether a and b are the same key. */
XLB_SVCIDX_INLINE int xlb_svc_key_eq(const struct xlb_svc_key *a,
				     const struct xlb_svc_key *b)
{
	return a->vip.v6[0] == b->vip.v6[0] && a->vip.v6[1] == b->vip.v6[1] &&
	       a->vip.v6[2] == b->vip.v6[2] && a->vip.v6[3] == b->vip.v6[3] &&
	       xlb_svc_key_tail(a) == xlb_svc_key_tail(b);
}

#endif /* XLB_SVCIDX_H */
