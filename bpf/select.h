/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Backend selection: the flow table first, then the service's Maglev table. */
#ifndef XLB_BPF_SELECT_H
#define XLB_BPF_SELECT_H

#include "maps.h"
#include "parse.h"
#include "xlb_hash.h"

/* Looks a service up by exact port, then as an all-ports service. */
static __always_inline struct xlb_svc *xlb_svc_lookup(const struct xlb_pkt *p)
{
	struct xlb_svc_key k = {};
	struct xlb_svc *svc;

	k.vip = p->key.dst;
	k.port_be = p->key.dport_be;
	k.proto = p->key.proto;
	k.family = p->key.family;
	svc = bpf_map_lookup_elem(&services, &k);
	if (svc)
		return svc;
	k.port_be = 0;
	return bpf_map_lookup_elem(&services, &k);
}

/* Returns the backend if id names an existing one, NULL otherwise. */
static __always_inline struct xlb_backend *xlb_backend_get(__u32 id)
{
	struct xlb_backend *be = bpf_map_lookup_elem(&backends, &id);

	if (!be || !(be->flags & XLB_BACKEND_F_ACTIVE))
		return NULL;
	return be;
}

/* The Maglev choice for hash; XLB_MAX_BACKENDS when the service has no
 * table (or an empty slot). */
static __always_inline __u32 xlb_maglev_pick(const struct xlb_svc *svc,
					     __u32 hash)
{
	__u32 id = svc->id, slot;
	__u32 *bid;
	void *table;

	if (svc->table_size == 0)
		return XLB_MAX_BACKENDS;
	table = bpf_map_lookup_elem(&maglev_outer, &id);
	if (!table)
		return XLB_MAX_BACKENDS;
	slot = hash % svc->table_size;
	bid = bpf_map_lookup_elem(table, &slot);
	if (!bid)
		return XLB_MAX_BACKENDS;
	return *bid;
}

/* The scheduler's choice for a new flow of svc: the slot of the service's
 * table comes from the 5-tuple hash (maglev), the client address alone (sh)
 * or the next position of a round-robin sequence (rr/wrr: the daemon
 * filled the table with that sequence). */
static __always_inline __u32 xlb_sched_pick(const struct xlb_svc *svc,
					    const struct xlb_flow_key *k,
					    __u32 hash)
{
	if (svc->flags & XLB_SVC_F_RR) {
		__u32 id = svc->id, *pos = bpf_map_lookup_elem(&rr_pos, &id);

		if (pos) {
			hash = *pos < svc->seq_len ? *pos : 0;
			*pos = hash + 1 >= svc->seq_len ? 0 : hash + 1;
		}
	} else if (svc->flags & XLB_SVC_F_SH) {
		hash = xlb_src_hash(&k->src);
	}
	return xlb_maglev_pick(svc, hash);
}

/* Picks the backend of p's flow. An existing flow keeps its backend while
 * that backend exists (even at weight 0: draining); otherwise Maglev decides
 * and, for data packets, the flow table learns the choice. ICMP errors never
 * create flows. Sets *bid and *new_flow; NULL means no usable backend. */
static __always_inline struct xlb_backend *
xlb_select(const struct xlb_pkt *p, const struct xlb_svc *svc, __u32 hash,
	   __u32 *bid, int *new_flow)
{
	struct xlb_backend *be;
	struct xlb_flow *f;
	struct xlb_flow nf = {};

	*new_flow = 0;
	f = bpf_map_lookup_elem(&flows, &p->key);
	if (f && f->svc_id == svc->id) {
		be = xlb_backend_get(f->backend_id);
		if (be) {
			__u64 now = bpf_ktime_get_ns();

			*bid = f->backend_id;
			/* Refresh at most every 100 ms: a write per packet
			 * would bounce the entry's cache line between CPUs. */
			if (!p->icmp_err && now - f->last_seen_ns > 100000000ull)
				f->last_seen_ns = now;
			return be;
		}
	}
	*bid = xlb_sched_pick(svc, &p->key, hash);
	be = xlb_backend_get(*bid);
	if (!be)
		return NULL;
	if (p->icmp_err)
		return be;
	nf.backend_id = *bid;
	nf.svc_id = svc->id;
	nf.last_seen_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&flows, &p->key, &nf, BPF_ANY);
	*new_flow = 1;
	return be;
}

#endif /* XLB_BPF_SELECT_H */
