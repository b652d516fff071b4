/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A service by its key through the service index (include/xlb_svcidx.h):
 * a bucket and a record, two array reads, where the services map costs a
 * hash-map lookup. The maps live here, not in maps.h: they are never
 * pinned, every xlbd fills them afresh (no part of the ABI hash). */
#ifndef XLB_BPF_SVCIDX_H
#define XLB_BPF_SVCIDX_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "svcslots.h"
#include "xlb_svcidx.h"

/* hash bucket -> the words of its keys (struct xlb_svc_idx_bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_SVC_IDX_BUCKETS);
	__type(key, __u32);
	__type(value, struct xlb_svc_idx_bucket);
} svc_idx SEC(".maps");

/* record number -> a key and its service (struct xlb_svc_rec). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_SVC_IDX_RECS);
	__type(key, __u32);
	__type(value, struct xlb_svc_rec);
} svc_recs SEC(".maps");

/* xlb_svc_idx_find's answers besides a record number. */
#define XLB_SVC_IDX_NONE (-1)   /* k has no service */
#define XLB_SVC_IDX_ASK  (-2)   /* a full bucket: the services map knows */

/* The number of the record of key k, or XLB_SVC_IDX_NONE / _ASK. A number,
 * not the record: the program after the lookup is verified once per kind
 * of pointer that can reach it. */
static __always_inline __s64 xlb_svc_idx_find(const struct xlb_svc_key *k)
{
	__u64 h = xlb_svc_idx_hash(k);
	__u32 b = xlb_svc_idx_bucket(h), tag = xlb_svc_idx_tag(h), i;
	const struct xlb_svc_idx_bucket *bk;
	__s64 ans = XLB_SVC_IDX_ASK;

	bk = bpf_map_lookup_elem(&svc_idx, &b);
	if (!bk)
		return XLB_SVC_IDX_ASK;
#pragma unroll
	for (i = 0; i < XLB_SVC_IDX_WAYS; i++) {
		/* Loaded once: the record read is the one this word names. */
		__u64 w = *(volatile const __u64 *)&bk->w[i];
		const struct xlb_svc_rec *r;
		__u32 rec;

		if (!w) {
			ans = XLB_SVC_IDX_NONE;
			continue;
		}
		if ((__u32)(w >> 32) != tag)
			continue;
		rec = (__u32)w;
		r = bpf_map_lookup_elem(&svc_recs, &rec);
		if (r && xlb_svc_key_eq(&r->key, k))
			return rec;
	}
	/* A full bucket may have more keys, in the services map alone. */
	return ans;
}

/* The service of key k from the services map: its id there (one aligned
 * word, whatever became of the element), the service from that id's slot,
 * which holds k when the element was k's (include/xlb_svcslots.h). NULL:
 * none, or an element recycled under the lookup. Out of line: the
 * program's frame cannot spare another key compare inline. */
static __attribute__((noinline)) const struct xlb_svc *
xlb_svc_by_map(const struct xlb_svc_key *k)
{
	const struct xlb_svc *v = bpf_map_lookup_elem(&services, k);
	const struct xlb_svc_ent *e;
	int off = 0;

	if (!v)
		return NULL;
	e = xlb_svc_slot(*(volatile const __u32 *)&v->id, &off);
	if (e && xlb_svc_key_eq(&e->key, k))
		return &e->svc;
	return off ? v : NULL;
}

/* The service of key k, as the services map holds it; NULL: none. */
static __always_inline const struct xlb_svc *xlb_svc_find(const struct xlb_svc_key *k)
{
	__s64 n = xlb_svc_idx_find(k);
	struct xlb_svc_rec *r;
	__u32 rec;

	if (n == XLB_SVC_IDX_ASK)
		return xlb_svc_by_map(k);
	if (n < 0)
		return NULL;
	rec = (__u32)n;
	r = bpf_map_lookup_elem(&svc_recs, &rec);
	return r ? &r->svc : NULL;
}

#endif /* XLB_BPF_SVCIDX_H */
