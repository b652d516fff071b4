/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Persistence (IPVS -p): a new flow of a client that came within the
 * service's persist_s seconds goes to the backend its last one went to. */
#ifndef XLB_BPF_PERSIST_H
#define XLB_BPF_PERSIST_H

#include "cttag.h"
#include "maps.h"
#include "xlb_hash.h"

/* The persist key of client address a in service svc: a masked to the
 * service's prefix length (0 or full: the address itself). */
static __always_inline void xlb_persist_key_of(const struct xlb_svc *svc,
					       const struct xlb_flow_key *k,
					       struct xlb_persist_key *pk)
{
	__u32 plen = svc->persist_plen, i;

	if (k->family == XLB_AF_INET && (!plen || plen > 32))
		plen = 32;
	else if (!plen || plen > 128)
		plen = 128;
	for (i = 0; i < 4; i++)
		pk->client.v6[i] = k->src.v6[i] &
				   ~XLB_HTONL(xlb_host_mask(plen, i));
	pk->svc_id = svc->id;
	pk->family = k->family;
}

/* The backend svc's client of pk is pinned to, if the pin holds: the last
 * new flow came within persist_s, and the backend is still this service's
 * and takes new flows. XLB_MAX_BACKENDS: none. The pin is read once, with
 * its tag (the entry's pad word, never 0): an element
 * that holds another client's pin by now (pk's was evicted, and the
 * element given to a new pin at once) is a miss. Its time is refreshed,
 * at most every 100 ms as a flow's, by a new element for pk (BPF_EXIST),
 * never in place: the element read may hold another client's pin, or be
 * being written with one, whose time a store of ours would change. */
static __always_inline __u32 xlb_persist_get(const struct xlb_svc *svc,
					     const struct xlb_persist_key *pk,
					     __u64 now)
{
	struct xlb_persist *v = bpf_map_lookup_elem(&persist, pk);
	struct xlb_persist n;
	struct xlb_backend *be;
	__u32 bid, tag;
	__u64 last;

	if (!v)
		return XLB_MAX_BACKENDS;
	bid = v->backend_id;
	tag = v->pad;
	last = v->last_ns;
	if (tag != xlb_persist_tag(pk, bid))
		return XLB_MAX_BACKENDS;
	if (now - last > (__u64)svc->persist_s * 1000000000ull)
		return XLB_MAX_BACKENDS;
	be = bpf_map_lookup_elem(&backends, &bid);
	if (!be || !(be->flags & XLB_BACKEND_F_SCHED) || be->svc_id != svc->id)
		return XLB_MAX_BACKENDS;
	if (now - last > 100000000ull) {
		n.backend_id = bid;
		n.pad = xlb_persist_tag(pk, bid);
		n.last_ns = now;
		bpf_map_update_elem(&persist, pk, &n, BPF_EXIST);
	}
	return bid;
}

/* Pins pk's client to bid, the scheduler's choice. When another CPU pinned
 * the same client meanwhile (the client's first connections raced), its
 * choice is returned instead, so they all agree. */
static __always_inline __u32 xlb_persist_put(const struct xlb_svc *svc,
					     const struct xlb_persist_key *pk,
					     __u32 bid, __u64 now)
{
	struct xlb_persist v = { .backend_id = bid, .pad = xlb_persist_tag(pk, bid),
				 .last_ns = now };
	__u32 other;

	if (bpf_map_update_elem(&persist, pk, &v, BPF_NOEXIST) == 0)
		return bid;
	other = xlb_persist_get(svc, pk, now);
	if (other != XLB_MAX_BACKENDS)
		return other;
	/* An expired or stale pin: replace it. */
	bpf_map_update_elem(&persist, pk, &v, BPF_ANY);
	return bid;
}

#endif /* XLB_BPF_PERSIST_H */
