/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Backend selection: the flow table first, then the service's Maglev table. */
#ifndef XLB_BPF_SELECT_H
#define XLB_BPF_SELECT_H

#include "cfgslots.h"
#include "counters.h"
#include "lcslots.h"
#include "maps.h"
#include "parse.h"
#include "persist.h"
#include "svcidx.h"
#include "svcslots.h"
#include "xlb_ct.h"
#include "xlb_dsrkey.h"
#include "xlb_hash.h"

/* The clock of flow entries (last_seen_ns): CLOCK_MONOTONIC at jiffy
 * resolution (a few ms; timeouts are seconds), half the cost of
 * bpf_ktime_get_ns. */
static __always_inline __u64 xlb_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* Looks a service up by exact port, then as an all-ports service, in the
 * service index (bpf/svcidx.h). Out of line: its loop over a bucket's
 * words keeps values across map lookups, whose stack the program's frame
 * cannot spare (512 bytes for the longest chain of calls). */
static __attribute__((noinline)) const struct xlb_svc *
xlb_svc_lookup(const struct xlb_pkt *p)
{
	struct xlb_svc_key k = {};
	const struct xlb_svc *svc;

	k.vip = p->key.dst;
	k.port_be = p->key.dport_be;
	k.proto = p->key.proto;
	k.family = p->key.family;
	svc = xlb_svc_find(&k);
	if (svc)
		return svc;
	k.port_be = 0;
	return xlb_svc_find(&k);
}

/* The service of p's existing flow, whose entry names service id, from
 * its slot (svc_slots, bpf/svcslots.h): what xlb_svc_lookup would return,
 * when the flow's service is the exact-port service of p's VIP and
 * protocol (one array read instead of a hash lookup). NULL: not known this
 * way (an all-ports service, a service gone or changed, the slots off):
 * ask xlb_svc_lookup. */
static __always_inline const struct xlb_svc *
xlb_svc_of_id(const struct xlb_pkt *p, __u32 id)
{
	const struct xlb_svc_ent *e = xlb_svc_slot(id, NULL);

	if (!e || e->svc.id != id || !e->key.port_be ||
	    e->key.port_be != p->key.dport_be || e->key.proto != p->key.proto ||
	    e->key.family != p->key.family ||
	    !xlb_addr_eq(&e->key.vip, &p->key.dst))
		return NULL;
	return &e->svc;
}

/* Returns the backend if id names an existing one, NULL otherwise. The
 * caller reads its address after this branch on the flags: the daemon
 * writes another address on an id only while its flags are clear and no
 * packet still holds them set (write_backend, src/xlbd/dataplane.c). */
static __always_inline struct xlb_backend *xlb_backend_get(__u32 id)
{
	struct xlb_backend *be = bpf_map_lookup_elem(&backends, &id);

	if (!be || !(be->flags & XLB_BACKEND_F_ACTIVE))
		return NULL;
	return be;
}

/* Whether backend id takes new flows (XLB_BACKEND_F_SCHED: in its
 * service's table, not down, weight > 0). */
static __always_inline int xlb_backend_sched(__u32 id)
{
	struct xlb_backend *be = bpf_map_lookup_elem(&backends, &id);

	return be && (be->flags & XLB_BACKEND_F_SCHED);
}

/* hash % size. The default size (65537, the table of every service unless
 * maglev_table_size says otherwise) without a division: the BPF backend
 * keeps a modulo by a constant as a division, which the JIT emits as a
 * div instruction (tens of cycles, once per new flow). The quotient is
 * (hash * 0xffff0001) >> 48, exact for every 32-bit hash: 2^48 = 65537 *
 * 0xffff0000 + 65536, so 0xffff0001 = 2^48 / 65537 + 1 / 65537, and the
 * product exceeds hash * 2^48 / 65537 by hash / 65537, less than the
 * 2^48 / 65537 that would move the quotient while hash < 2^48 (checked
 * over all 2^32 hashes). */
static __always_inline __u32 xlb_maglev_slot(__u32 hash, __u32 size)
{
	_Static_assert(XLB_MAGLEV_DEFAULT_SIZE == 65537,
		       "the multiplier below is 65537's");
	if (size == XLB_MAGLEV_DEFAULT_SIZE)
		return hash - (__u32)(((__u64)hash * 0xffff0001ull) >> 48) *
				      XLB_MAGLEV_DEFAULT_SIZE;
	return hash % size;
}

/* The Maglev choice for hash; XLB_MAX_BACKENDS when the service has no
 * table (or an empty slot). */
static __always_inline __u32 xlb_maglev_pick(const struct xlb_svc *svc,
					     __u32 hash)
{
	__u32 id = svc->id, slot, elem;
	__u16 *ids;                     /* struct xlb_maglev_slots */
	void *table;

	if (svc->table_size == 0)
		return XLB_MAX_BACKENDS;
	table = bpf_map_lookup_elem(&maglev_outer, &id);
	if (!table)
		return XLB_MAX_BACKENDS;
	slot = xlb_maglev_slot(hash, svc->table_size);
	elem = slot / XLB_MAGLEV_PER_ELEM;
	ids = bpf_map_lookup_elem(table, &elem);
	if (!ids)
		return XLB_MAX_BACKENDS;
	return ids[slot % XLB_MAGLEV_PER_ELEM];
}

/* Moves backend bid's connection count of state's class by d (entries
 * with a state only: nat/fullnat, dr/tun under lc/wlc). */
static __always_inline void xlb_conns_add(__u32 bid, __u8 state, __s64 d)
{
	struct xlb_conns *c = bpf_map_lookup_elem(&backend_conns, &bid);

	if (!c || state == XLB_CT_NONE)
		return;
	if (xlb_ct_is_active(state))
		__sync_fetch_and_add(&c->active, d);
	else
		__sync_fetch_and_add(&c->inactive, d);
}

/* An entry's state goes from old to new: its count moves class when the
 * two are not both active or both inactive. */
static __always_inline void xlb_conns_move(__u32 bid, __u8 old, __u8 new)
{
	if (xlb_ct_is_active(new) != xlb_ct_is_active(old)) {
		xlb_conns_add(bid, old, -1);
		xlb_conns_add(bid, new, 1);
	}
}

/* Overhead of a backend as IPVS (w)lc computes it; counts below zero (a
 * transient of the sweeper's corrections) are zero, and the cap keeps the
 * product with a 16-bit weight inside 64 bits. */
static __always_inline __u64 xlb_conns_overhead(__u32 bid)
{
	struct xlb_conns *c = bpf_map_lookup_elem(&backend_conns, &bid);
	__s64 a, i;
	__u64 oh;

	if (!c)
		return 0;
	a = c->active;
	i = c->inactive;
	oh = (__u64)(a > 0 ? a : 0) * 256 + (__u64)(i > 0 ? i : 0);
	return oh < (1ull << 46) ? oh : (1ull << 46);
}

/* lc/wlc: the backend of the service's list with the least overhead per
 * weight (oh_a / w_a < oh_b / w_b, cross-multiplied); the first one wins a
 * tie. XLB_MAX_BACKENDS when the list is empty. The list is the one its
 * slots' selector names (bpf/lcslots.h): count, backends and weights of
 * one list, never half rewritten. A global function: the verifier checks
 * the bounded scan once, not at every call site. */
__attribute__((noinline)) __u32 xlb_lc_pick(__u32 svc_id)
{
	const struct xlb_lc_slot *sb = xlb_lc_list(svc_id);
	__u32 best = XLB_MAX_BACKENDS, i, n;
	__u64 best_oh = 0, best_w = 1;

	if (!sb)
		return XLB_MAX_BACKENDS;
	n = sb->n;
	for (i = 0; i < XLB_LC_MAX_BACKENDS && i < n; i++) {
		__u32 id = sb->id[i];
		__u64 w = sb->weight[i] & 0xffff, oh;

		if (!w)
			continue;
		oh = xlb_conns_overhead(id);
		if (best == XLB_MAX_BACKENDS || oh * best_w < best_oh * w) {
			best = id;
			best_oh = oh;
			best_w = w;
		}
	}
	return best;
}

/* How xlb_new_flow_pick picks. */
#define XLB_PICK_LEARN 1        /* pin the client (persistence) */
#define XLB_PICK_HASH  2        /* rr/wrr: the sequence's slot by the hash */

/* The scheduler's choice for a new flow of svc: the slot of the service's
 * table comes from the 5-tuple hash (maglev), the client address alone (sh)
 * or the next position of a round-robin sequence (rr/wrr: the daemon
 * filled the table with that sequence; with by_hash its slot by the
 * 5-tuple hash instead, the same for every packet of the flow); lc/wlc
 * scan the service's backend list instead. */
static __always_inline __u32 xlb_sched_pick(const struct xlb_svc *svc,
					    const struct xlb_flow_key *k,
					    __u32 hash, int by_hash)
{
	if (svc->flags & XLB_SVC_F_LC)
		return xlb_lc_pick(svc->id);
	if ((svc->flags & XLB_SVC_F_RR) && !by_hash) {
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

/* The kernel's HZ, jiffies per second: set by the loader before the load
 * (xlbd learns it at start, src/xlbd/hz.c). 0, unknown: the flood guard's
 * window runs on xlb_now(). Read-only data, known to the verifier, which
 * drops the branches on it that are never taken. */
const volatile __u32 xlb_hz = 0;

/* The flood guard's clock, in which its window (struct xlb_guard_win)
 * starts: bpf_jiffies64, which the verifier inlines to one load (the
 * coarse ns clock is a helper call, ~5% of a flood SYN's cost), when HZ is
 * known; xlb_now() otherwise. */
static __always_inline __u64 xlb_guard_clock(void)
{
	return xlb_hz ? bpf_jiffies64() : xlb_now();
}

/* One second of xlb_guard_clock. */
static __always_inline __u64 xlb_guard_second(void)
{
	return xlb_hz ? xlb_hz : XLB_NS_PER_S;
}

/* Is the flood guard (xlb_guard_engaged) on for this CPU's current second?
 * Read without counting a new flow. */
static __always_inline int xlb_guard_on(void)
{
	struct xlb_guard_win *w;
	const struct xlb_globals *g;
	__u32 zero = 0;

	g = xlb_globals();
	if (!g->guard_rate)
		return 0;
	w = bpf_map_lookup_elem(&guard_win, &zero);
	return w && xlb_guard_clock() - w->start_ns < xlb_guard_second() &&
	       w->n > g->guard_rate;
}

/* The backend of a new flow of svc: with persistence, the one its client
 * is pinned to while the pin holds; otherwise the scheduler's choice
 * (XLB_PICK_HASH: rr/wrr by the hash), then pinned with XLB_PICK_LEARN (a
 * data packet: an ICMP error only follows a pin) while the flood guard is
 * off.
 * Out of line: the pin's key stays off the callers' stack frames; a
 * global function, verified once rather than once per caller's state. */
__attribute__((noinline)) __u32
xlb_new_flow_pick(const struct xlb_svc *svc, const struct xlb_flow_key *k,
		  __u32 hash, __u32 how)
{
	int by_hash = !!(how & XLB_PICK_HASH);
	struct xlb_persist_key pk = {};
	__u64 now;
	__u32 bid;

	if (!svc || !k)
		return XLB_MAX_BACKENDS;

	if (!svc->persist_s)
		return xlb_sched_pick(svc, k, hash, by_hash);
	now = xlb_now();
	xlb_persist_key_of(svc, k, &pk);
	bid = xlb_persist_get(svc, &pk, now);
	if (bid != XLB_MAX_BACKENDS)
		return bid;
	bid = xlb_sched_pick(svc, k, hash, by_hash);
	if (!(how & XLB_PICK_LEARN) || !xlb_backend_get(bid))
		return bid;
	/* Under the flood guard no client is pinned anew: a flood from
	 * spoofed sources would push real clients' pins out of the LRU
	 * table. */
	if (xlb_guard_on()) {
		xlb_guard_count(XLB_G_NO_PIN);
		return bid;
	}
	return xlb_persist_put(svc, &pk, bid, now);
}

/* Whether svc's scheduler gives a new flow the same backend every time it
 * is asked (Maglev, sh) and its mode keeps no per-flow state but the
 * backend (dr, tun): then a SYN, which opens a connection, needs no look
 * at the flow table, and a flow without an entry still stays put. Not with
 * persistence: a pin that expires or moves would move such a flow. */
static __always_inline int xlb_sched_stateless(const struct xlb_svc *svc)
{
	return (svc->mode == XLB_MODE_DR || svc->mode == XLB_MODE_TUN) &&
	       !(svc->flags & (XLB_SVC_F_RR | XLB_SVC_F_LC)) && !svc->persist_s;
}

/* The flood guard (xlb_globals.guard_rate): counts one new flow of this
 * CPU in its current one-second window; 1 when the window already holds
 * more than rate, i.e. the guard is engaged on this CPU. A start in the
 * future or more than a second back (also one in the other clock's units,
 * left by an xlbd of the other clock across a restart: they are billions
 * apart) starts the window afresh. */
static __always_inline int xlb_guard_engaged(__u32 rate)
{
	struct xlb_guard_win *w;
	__u32 zero = 0;
	__u64 now;

	if (!rate)
		return 0;
	w = bpf_map_lookup_elem(&guard_win, &zero);
	if (!w)
		return 0;
	now = xlb_guard_clock();
	if (now - w->start_ns >= xlb_guard_second()) {
		w->start_ns = now;
		w->n = 0;
	}
	if (++w->n == (__u64)rate + 1)
		xlb_guard_count(XLB_G_ENGAGED);
	return w->n > rate;
}

/* One entry of service id came (d 1) or went (d -1). */
static __always_inline void xlb_svc_flows_add(__u32 id, __s64 d)
{
	struct xlb_svc_flows *c = bpf_map_lookup_elem(&svc_flows, &id);

	if (c)
		__sync_fetch_and_add(&c->n, d);
}

/* Deletes the flow entry f of key k; only the CPU whose delete succeeded
 * uncounts it (read first: a deleted element's memory may be reused at
 * once). */
static __always_inline void xlb_ct_del(const struct xlb_flow_key *k,
				       const struct xlb_flow *f)
{
	__u32 bid = f->backend_id, svc = f->svc_id;
	__u8 state = f->state;

	if (bpf_map_delete_elem(&flows, k) == 0) {
		xlb_conns_add(bid, state, -1);
		xlb_svc_flows_add(svc, -1);
	}
}

/* nat.h: the flows entry of a new lc/wlc dr/tun flow, in its service's
 * share. */
int xlb_dsr_ct_new(const struct xlb_pkt *p, const struct xlb_svc *svc, __u32 bid);

/* Keeps the call that made x a call of its own: clang would otherwise
 * merge the two families' calls of a helper into one call site whose map
 * is either table, and the verifier inlines a lookup (and calls an update
 * directly rather than through the map's ops) only at a call site that
 * always sees the same map. */
#define xlb_own_call(x) asm volatile("" : "+r"(x))

/* One load of x, as it is in memory now (another CPU may be writing it). */
#define XLB_READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/* What xlb_dsr_lookup returns for a hit: XLB_DSR_FOUND | service << 14 |
 * backend, from one read of the slot's id (its low 24 bits: what
 * xlb_dsr_id_svc and xlb_dsr_id_backend read); 0 for a miss. */
#define XLB_DSR_FOUND 0x80000000u
_Static_assert(!(XLB_DSR_ID_FLOW_MASK & XLB_DSR_FOUND),
	       "a hit's mark is no bit of the service's");

/* The keyed hash of p's tuple for the dr/tun tables. */
static __always_inline __u64 xlb_dsr_hash(const struct xlb_pkt *p,
					  const struct xlb_dsr_params *k)
{
	if (p->key.family == XLB_AF_INET)
		return xlb_dsr_hash4(k, p->key.src.v4, p->key.dst.v4,
				     p->key.sport_be, p->key.dport_be, p->key.proto);
	return xlb_dsr_hash6(k, p->key.src.v6, p->key.dst.v6, p->key.sport_be,
			     p->key.dport_be, p->key.proto);
}

/* The bucket of hash h in p's family's table (k: the tables' parameters),
 * or NULL. */
static __always_inline struct xlb_dsr_bucket *
xlb_dsr_bucket_at(const struct xlb_pkt *p, const struct xlb_dsr_params *k,
		  __u64 h)
{
	struct xlb_dsr_bucket *b;
	__u32 i;

	if (p->key.family != XLB_AF_INET) {
		i = xlb_dsr_index(h, k->buckets6);
		b = bpf_map_lookup_elem(&dsr_flows6, &i);
		xlb_own_call(b);
		return b;
	}
	i = xlb_dsr_index(h, k->buckets4);
	return bpf_map_lookup_elem(&dsr_flows4, &i);
}

/* The bucket of p's flow in its family's table, or NULL; *k gets the
 * tables' parameters, *h the keyed hash of p's tuple, and p the hash of
 * its outer source should it go by tun (xlb_dsr_outer_hash). */
static __always_inline struct xlb_dsr_bucket *
xlb_dsr_bucket_of(struct xlb_pkt *p, struct xlb_dsr_params **k, __u64 *h)
{
	__u32 zero = 0;

	*k = bpf_map_lookup_elem(&dsr_params, &zero);
	if (!*k)
		return NULL;
	*h = xlb_dsr_hash(p, *k);
	p->outer_hash = xlb_dsr_outer_hash(*h);
	p->hashed |= XLB_HASHED_OUTER;
	return xlb_dsr_bucket_at(p, *k, *h);
}

/* The hash of p's tun outer source (xlb_dsr_outer_hash): the one its
 * flow's lookup or store worked out, else worked out here (a flow of an
 * lc/wlc service, in flows; a flow the guard stores nothing of; an ICMP
 * error). Not the flow hash (xlb_pkt_hash): a hit in the dr/tun table
 * gives the keyed hash for nothing, where the flow hash is a long one. */
static __always_inline __u32 xlb_pkt_outer_hash(struct xlb_pkt *p)
{
	struct xlb_dsr_params *k;
	__u32 zero = 0;

	if (p->hashed & XLB_HASHED_OUTER)
		return p->outer_hash;
	k = bpf_map_lookup_elem(&dsr_params, &zero);
	if (!k)
		return 0;
	p->outer_hash = xlb_dsr_outer_hash(xlb_dsr_hash(p, k));
	p->hashed |= XLB_HASHED_OUTER;
	return p->outer_hash;
}

/* Writes p's 5-tuple beside slot v of hash h's bucket (dsr_keys4/6), for
 * userspace. */
static __always_inline void xlb_dsr_key_put(const struct xlb_pkt *p,
					    const struct xlb_dsr_params *k,
					    __u64 h, __u32 v)
{
	__u32 i;

	v &= XLB_DSR_WAYS - 1;
	if (p->key.family != XLB_AF_INET) {
		struct xlb_dsr_keys6 *ks;

		i = xlb_dsr_index(h, k->buckets6);
		ks = bpf_map_lookup_elem(&dsr_keys6, &i);
		xlb_own_call(ks);
		if (ks)
			__builtin_memcpy(&ks->k[v], &p->key, sizeof(p->key));
	} else {
		struct xlb_dsr_keys4 *ks;

		i = xlb_dsr_index(h, k->buckets4);
		ks = bpf_map_lookup_elem(&dsr_keys4, &i);
		if (ks)
			ks->k[v] = xlb_flow_key4_of(&p->key);
	}
}

/* The second half of a new flow's store (xlb_dsr_store): p's packet found
 * its slot, v of hash h's bucket, with id, marked (include/xlb_dsrkey.h).
 * Writes p's 5-tuple beside the slot, then clears the mark by a
 * compare-and-swap from what the slot holds while it is that flow's (id,
 * its age aside: a hit may have stamped it), so that a slot another flow
 * took meanwhile (a new id, marked by its own store) keeps that flow's
 * mark: userspace never reads p's tuple as that flow's. The key goes
 * first: a slot without the mark has its tuple written. A clearing that
 * loses to an age stamp leaves the mark for the flow's next packet. Out
 * of line, so that a hit on an unmarked slot (every packet of an
 * established flow) costs a test. */
__attribute__((noinline)) int xlb_dsr_key_fill(struct xlb_pkt *p, __u64 h,
					       __u32 v, __u64 id)
{
	struct xlb_dsr_params *k;
	struct xlb_dsr_bucket *b;
	__u32 zero = 0;
	__u64 cur;

	if (!p)
		return 0;
	k = bpf_map_lookup_elem(&dsr_params, &zero);
	if (!k)
		return 0;
	b = xlb_dsr_bucket_at(p, k, h);
	if (!b)
		return 0;
	v &= XLB_DSR_WAYS - 1;
	cur = XLB_READ_ONCE(b->id[v]);
	if (!xlb_dsr_id_same(cur, id))
		return 0;
	xlb_dsr_key_put(p, k, h, v);
	__sync_val_compare_and_swap(&b->id[v], cur, cur & ~XLB_DSR_ID_UNKEYED);
	return 0;
}

/* p's entry in its family's dr/tun flow table (dsr_flows4, dsr_flows6):
 * see XLB_DSR_FOUND; 0 when there is none. A hit stamps the slot's age
 * with the tables' epoch, a write only when the epoch moved on since
 * (once an epoch, ~67 ms, at most), so that a bucket is not written per
 * packet by every CPU that reads it; by a compare-and-swap, as every
 * write of an id (include/xlb_dsrtab.h). A hit on a slot still marked by
 * its store (the flow's second packet, as a rule) writes the flow's
 * 5-tuple for userspace (xlb_dsr_key_fill). */
static __always_inline __u32 xlb_dsr_lookup(struct xlb_pkt *p)
{
	struct xlb_dsr_params *k;
	struct xlb_dsr_bucket *b;
	__u32 tag, i, epoch;
	__u64 h, id;

	b = xlb_dsr_bucket_of(p, &k, &h);
	if (!b)
		return 0;
	tag = xlb_dsr_tag(h);
	for (i = 0; i < XLB_DSR_WAYS; i++) {
		id = XLB_READ_ONCE(b->id[i]);
		if (xlb_dsr_id_tag(id) != tag)
			continue;
		epoch = k->epoch;
		if (xlb_dsr_id_age(id) != xlb_dsr_age_of(epoch))
			__sync_val_compare_and_swap(&b->id[i], id,
						    xlb_dsr_id_aged(id, epoch));
		if (!xlb_dsr_id_keyed(id))
			xlb_dsr_key_fill(p, h, i, id);
		return XLB_DSR_FOUND | ((__u32)id & XLB_DSR_ID_FLOW_MASK);
	}
	return 0;
}

/* Stores p's flow (service svc, backend bid) in its bucket
 * (xlb_dsr_victim's slot), by a compare-and-swap from what the choice
 * saw, so that two CPUs placing new flows in one bucket at once never
 * overwrite each other's (the loser chooses again). Moves the tables'
 * epoch on to the current one. The id goes in marked, its 5-tuple not
 * written (include/xlb_dsrkey.h): the flow's next packet writes it
 * (xlb_dsr_lookup). The keys' line is a second random cache line of a
 * large table, as costly as the bucket's (performance.md part 7): a flow
 * that never sends a second packet (a SYN flood's) never pays it. */
__attribute__((noinline)) int xlb_dsr_store(struct xlb_pkt *p, __u32 svc,
					   __u32 bid)
{
	__u32 tag, now, v, try;
	struct xlb_dsr_params *k;
	struct xlb_dsr_bucket *b;
	__u64 h, id, old;

	if (!p)
		return 0;
	b = xlb_dsr_bucket_of(p, &k, &h);
	if (!b)
		return 0;
	now = (__u32)(xlb_now() >> XLB_DSR_EPOCH_SHIFT);
	if (k->epoch != now)
		k->epoch = now;
	tag = xlb_dsr_tag(h);
	id = xlb_dsr_id(tag, svc, bid, now) | XLB_DSR_ID_UNKEYED;
	for (try = 0; try < 2; try++) {
		v = xlb_dsr_victim(b, tag, now) & (XLB_DSR_WAYS - 1);
		old = XLB_READ_ONCE(b->id[v]);
		if (__sync_val_compare_and_swap(&b->id[v], old, id) == old)
			break;
	}
	return 0;
}

/* A new flow of a service whose flows live in dsr_flows: counted toward
 * the flood guard's rate; 1 when the guard is engaged. */
static __always_inline int xlb_guard_new_dsr_flow(void)
{
	const struct xlb_globals *g = xlb_globals();

	return g->guard_rate && xlb_guard_engaged(g->guard_rate);
}

/* Whether svc finds a flow's backend again without its entry while the
 * guard pins no client: Maglev and sh always; rr/wrr without persistence
 * pick such flows by the hash (xlb_select). */
static __always_inline int xlb_entry_optional(const struct xlb_svc *svc)
{
	return xlb_sched_stateless(svc) ||
	       ((svc->flags & XLB_SVC_F_RR) && !svc->persist_s &&
		(svc->mode == XLB_MODE_DR || svc->mode == XLB_MODE_TUN));
}

/* Stores the new flow of p to backend bid of svc: a slot of its family's
 * dsr_flows4/dsr_flows6, or under lc/wlc a struct xlb_flow in flows
 * (xlb_dsr_ct_new). None under the flood guard (guard) where the entry is
 * optional. XLB_OK, or XLB_R_DROP_SVC_FULL: an lc/wlc service holds its
 * max_flows, none of them embryonic. */
static __always_inline int xlb_flow_store(struct xlb_pkt *p,
					  const struct xlb_svc *svc, __u32 bid,
					  int guard)
{
	if (!xlb_svc_dsr_table(svc))
		return xlb_dsr_ct_new(p, svc, bid);
	if (guard && xlb_entry_optional(svc)) {
		xlb_guard_count(XLB_G_NO_ENTRY);
		return XLB_OK;
	}
	xlb_dsr_store(p, svc->id, bid);
	return XLB_OK;
}

/* Picks the backend of p's dr/tun flow; d is p's flow entry as far as it
 * picks (NULL: none). An existing flow keeps its backend while that
 * backend exists (even at weight 0: draining); otherwise persistence or
 * the scheduler decides and, for data packets, the flow is stored
 * (xlb_flow_store). ICMP errors never create flows. Sets *bid and
 * *new_flow; NULL means no usable backend, or (*new_flow -1) no room for
 * the flow in its service's share. */
static __always_inline struct xlb_backend *
xlb_select(struct xlb_pkt *p, const struct xlb_svc *svc,
	   const struct xlb_dsr_flow *d, __u32 *bid, int *new_flow)
{
	struct xlb_backend *be;
	__u32 how = 0;
	int guard = 0;

	*new_flow = 0;
	if (d && d->svc_id == svc->id) {
		be = xlb_backend_get(d->backend_id);
		/* No clock read and no write: a dr/tun entry has no timeout
		 * (its lookup stamps its age). */
		if (be) {
			*bid = d->backend_id;
			return be;
		}
	}
	/* Every new dsr_flows flow counts toward the guard's rate (lc/wlc
	 * ones where their entry is made). rr/wrr pick by the hash where the
	 * flow must find its backend again without an entry: under the
	 * guard, and for a TCP segment past the SYN (its SYN may have had
	 * none). */
	if (!p->icmp_err) {
		how = XLB_PICK_LEARN;
		guard = xlb_svc_dsr_table(svc) && xlb_guard_new_dsr_flow();
		if (guard || (p->key.proto == IPPROTO_TCP && !p->syn))
			how |= XLB_PICK_HASH;
	}
	/* Without persistence xlb_new_flow_pick is the scheduler's pick
	 * alone: made here, without the call (a flood's every SYN). */
	*bid = svc->persist_s ?
		xlb_new_flow_pick(svc, &p->key, xlb_pkt_hash(p), how) :
		xlb_sched_pick(svc, &p->key, xlb_pkt_hash(p),
			       !!(how & XLB_PICK_HASH));
	be = xlb_backend_get(*bid);
	if (!be)
		return NULL;
	if (p->icmp_err)
		return be;
	*new_flow = 1;
	if (xlb_flow_store(p, svc, *bid, guard) != XLB_OK) {
		*new_flow = -1;
		return NULL;
	}
	return be;
}

#endif /* XLB_BPF_SELECT_H */
