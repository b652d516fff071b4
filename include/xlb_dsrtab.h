/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The dr/tun flow tables (dsr_flows4, dsr_flows6): arrays of one-cache-line
 * buckets of XLB_DSR_WAYS slots, found by a keyed hash of the client
 * 5-tuple; shared by the XDP program and userspace (fills, listing). */
#ifndef XLB_DSRTAB_H
#define XLB_DSRTAB_H

#include <linux/types.h>

#include "xlb_abi.h"

#define XLB_DSR_INLINE static inline __attribute__((always_inline))

/* One flow is one 64-bit word, its slot's id:
 *
 *   bits 40-63  tag (24 bits, never 0: an empty slot is id 0)
 *   bits 25-39  age: the tables' epoch (units of 2^26 ns, ~67 ms; 15 bits,
 *               ~37 min around) when the flow was last seen, by which a
 *               full bucket picks the flow a new one replaces (its least
 *               recently seen)
 *   bit  24     the mark of a slot whose 5-tuple is not yet written
 *               (include/xlb_dsrkey.h)
 *   bits 14-23  the service
 *   bits 0-13   the backend
 *
 * packed by xlb_dsr_id, read by xlb_dsr_id_svc, xlb_dsr_id_backend and
 * xlb_dsr_id_age. Eight bytes a slot, so that a bucket of eight is one
 * cache line: a new flow's time is mostly the miss of its bucket's line
 * in a table larger than the caches, and the table's size decides how
 * often that line is found in them (performance.md part 7, "One word a
 * slot"). tun's outer source, which varies by flow, comes from the keyed
 * hash that finds the bucket (xlb_dsr_outer_hash), not from the slot.
 *
 * No locks: every CPU reads and writes the buckets. A reader loads id once
 * and takes everything from that one aligned load; every writer replaces
 * id whole by a compare-and-swap from the id it read (a new flow's store,
 * a hit's age stamp, the clearing of the mark). So a tag that matches
 * always comes with the ids written with it: a packet never goes to a
 * backend, or a service, that was not its flow's (the tag aside, below).
 * Two CPUs placing new flows in one bucket at once: the compare-and-swap
 * fails for the one whose slot changed under it, which chooses again, so
 * neither overwrites the other's new flow; an age stamp that loses to
 * another write is simply not made.
 *
 * Tags, not keys: a flow matches the slot whose tag equals its own in its
 * bucket. Another flow of the same bucket with the same tag (about one
 * lookup in 2^20 of flows that have no entry, eight slots to match; a
 * full table pushes out about one flow in 120 early by its bucket's
 * fill) is taken for it: a packet of a flow without an entry follows that
 * flow's backend (its service is checked), and a new flow whose tag is
 * already in the bucket takes that slot over. */
#define XLB_DSR_TAG_SHIFT 40
#define XLB_DSR_TAG_MASK 0xffffffu
#define XLB_DSR_AGE_SHIFT 25
#define XLB_DSR_AGE_MASK 0x7fffu
#define XLB_DSR_ID_SVC_SHIFT 14
#define XLB_DSR_ID_SVC_MASK 0x3ffu
#define XLB_DSR_ID_BACKEND_MASK 0x3fffu
/* The service and the backend: what a hit gives the packet path. */
#define XLB_DSR_ID_FLOW_MASK 0xffffffu

/* The tables' epoch unit: 2^XLB_DSR_EPOCH_SHIFT ns. */
#define XLB_DSR_EPOCH_SHIFT 26

/* Eight slots to a bucket, two slots per flow: a table is 16 bytes of
 * buckets a flow. Filled to its size, 0.8% of the flows find their bucket
 * full and push out its least recent flow early (twice the flows: 14%);
 * buckets of four at two slots a flow would push out 3.8% (20%). A bucket
 * is one 64-byte line (the table is page-aligned); a bucket's first flows
 * take its first slots (xlb_dsr_victim takes the first empty slot). */
#define XLB_DSR_WAYS 8

#define XLB_DSR_SLOTS_PER_FLOW 2

struct xlb_dsr_bucket {
	__u64 id[XLB_DSR_WAYS];
};

_Static_assert(sizeof(struct xlb_dsr_bucket) == 64, "a bucket is one cache line");
_Static_assert(XLB_MAX_SERVICES <= XLB_DSR_ID_SVC_MASK + 1 &&
	       XLB_MAX_BACKENDS <= XLB_DSR_ID_BACKEND_MASK + 1,
	       "a slot's id holds the service in 10 bits, the backend in 14");
_Static_assert((XLB_DSR_ID_SVC_MASK << XLB_DSR_ID_SVC_SHIFT |
		XLB_DSR_ID_BACKEND_MASK) == XLB_DSR_ID_FLOW_MASK,
	       "the service and the backend are the id's low 24 bits");

/* dsr_keys4 / dsr_keys6 value: the 5-tuples of a bucket's flows, slot by
 * slot, written by a new flow's second packet (its first stores the slot
 * marked: include/xlb_dsrkey.h) and read only by userspace (listing,
 * copies into the connection table): the packet path never reads them.
 * A key goes with its slot while the slot is unmarked and the keyed hash
 * of the key gives the slot's bucket and tag. */
struct xlb_dsr_keys4 {
	struct xlb_flow_key4 k[XLB_DSR_WAYS];
};

struct xlb_dsr_keys6 {
	struct xlb_flow_key k[XLB_DSR_WAYS];
};

/* dsr_params value: the tables' hash key (random, from xlbd), their sizes
 * in buckets (any number: xlb_dsr_index) and the epoch that hits stamp
 * into their slots' age. */
struct xlb_dsr_params {
	__u64 k0;
	__u64 k1;
	__u32 buckets4;
	__u32 buckets6;
	__u32 epoch;
	__u32 pad;
};

#define XLB_DSR_M1 0x9e3779b97f4a7c15ull
#define XLB_DSR_M2 0xc2b2ae3d27d4eb4full
#define XLB_DSR_M3 0xff51afd7ed558ccdull

/* Keyed 64-bit hash of an IPv4 client tuple: the bucket comes from its
 * upper 32 bits (xlb_dsr_index), the tag from its low ones. */
XLB_DSR_INLINE __u64 xlb_dsr_hash4(const struct xlb_dsr_params *k, __u32 src,
				   __u32 dst, __u16 sport_be, __u16 dport_be,
				   __u8 proto)
{
	__u64 h;

	h = (((__u64)dst << 32 | src) ^ k->k0) * XLB_DSR_M1;
	h ^= h >> 32;
	h = (h ^ ((__u64)proto << 32 | (__u32)dport_be << 16 | sport_be) ^ k->k1) *
	    XLB_DSR_M2;
	h ^= h >> 29;
	h *= XLB_DSR_M3;
	return h ^ (h >> 32);
}

/* The same for an IPv6 tuple (s, d: four words each, as union xlb_addr). */
XLB_DSR_INLINE __u64 xlb_dsr_hash6(const struct xlb_dsr_params *k,
				   const __u32 *s, const __u32 *d,
				   __u16 sport_be, __u16 dport_be, __u8 proto)
{
	__u64 h;

	h = (((__u64)s[1] << 32 | s[0]) ^ k->k0) * XLB_DSR_M1;
	h ^= h >> 32;
	h = (h ^ ((__u64)s[3] << 32 | s[2])) * XLB_DSR_M2;
	h ^= h >> 29;
	h = (h ^ ((__u64)d[1] << 32 | d[0])) * XLB_DSR_M1;
	h ^= h >> 32;
	h = (h ^ ((__u64)d[3] << 32 | d[2])) * XLB_DSR_M2;
	h ^= h >> 29;
	h = (h ^ ((__u64)proto << 32 | (__u32)dport_be << 16 | sport_be) ^ k->k1) *
	    XLB_DSR_M3;
	return h ^ (h >> 32);
}

/* The tag of hash h (never 0): 24 of its low 32 bits, the bucket's
 * aside (xlb_dsr_index takes the upper 32). */
XLB_DSR_INLINE __u32 xlb_dsr_tag(__u64 h)
{
	return ((__u32)h & XLB_DSR_TAG_MASK) | 1;
}

/* The tag of a slot's id. */
XLB_DSR_INLINE __u32 xlb_dsr_id_tag(__u64 id)
{
	return (__u32)(id >> XLB_DSR_TAG_SHIFT);
}

/* The hash tun takes its outer source from (xlb_tun_src_v4/v6) for the
 * flow of keyed hash h: the same for every packet of a flow, different
 * for most flows, so that real servers spreading by outer header spread
 * flows. Keyed by each instance's own key: another instance gives a flow
 * another outer source (its backend is the same where the scheduler is). */
XLB_DSR_INLINE __u32 xlb_dsr_outer_hash(__u64 h)
{
	return (__u32)h ^ (__u32)(h >> 32);
}

/* An epoch as a slot's age holds it. */
XLB_DSR_INLINE __u32 xlb_dsr_age_of(__u32 epoch)
{
	return epoch & XLB_DSR_AGE_MASK;
}

/* The age of a slot's id. */
XLB_DSR_INLINE __u32 xlb_dsr_id_age(__u64 id)
{
	return (__u32)(id >> XLB_DSR_AGE_SHIFT) & XLB_DSR_AGE_MASK;
}

/* id with its age set to epoch's. */
XLB_DSR_INLINE __u64 xlb_dsr_id_aged(__u64 id, __u32 epoch)
{
	return (id & ~((__u64)XLB_DSR_AGE_MASK << XLB_DSR_AGE_SHIFT)) |
	       (__u64)xlb_dsr_age_of(epoch) << XLB_DSR_AGE_SHIFT;
}

/* Whether ids a and b are the same flow in the same state (tag, mark,
 * service, backend), whatever their ages: a hit may stamp the age of a
 * slot between another writer's read and its compare-and-swap. */
XLB_DSR_INLINE int xlb_dsr_id_same(__u64 a, __u64 b)
{
	return xlb_dsr_id_aged(a, 0) == xlb_dsr_id_aged(b, 0);
}

/* A slot's id for tag, service and backend, seen at epoch. */
XLB_DSR_INLINE __u64 xlb_dsr_id(__u32 tag, __u32 svc, __u32 bid, __u32 epoch)
{
	return (__u64)tag << XLB_DSR_TAG_SHIFT |
	       (__u64)xlb_dsr_age_of(epoch) << XLB_DSR_AGE_SHIFT |
	       (svc & XLB_DSR_ID_SVC_MASK) << XLB_DSR_ID_SVC_SHIFT |
	       (bid & XLB_DSR_ID_BACKEND_MASK);
}

/* The service of a slot's id (or of what xlb_dsr_lookup returns for a
 * hit: the id's low bits, XLB_DSR_FOUND aside). */
XLB_DSR_INLINE __u32 xlb_dsr_id_svc(__u64 id)
{
	return (__u32)(id >> XLB_DSR_ID_SVC_SHIFT) & XLB_DSR_ID_SVC_MASK;
}

/* The backend of a slot's id (or of what xlb_dsr_lookup returns for a hit). */
XLB_DSR_INLINE __u32 xlb_dsr_id_backend(__u64 id)
{
	return (__u32)id & XLB_DSR_ID_BACKEND_MASK;
}

/* The slot of bucket b that a new flow of tag takes: its own (the tag
 * there already), else an empty one, else the one seen longest ago
 * (epoch now; the first of equals). */
XLB_DSR_INLINE __u32 xlb_dsr_victim(const struct xlb_dsr_bucket *b, __u32 tag,
				    __u32 now)
{
	__u32 i, best = 0, best_d = 0, seen_empty = 0;

	for (i = 0; i < XLB_DSR_WAYS; i++) {
		__u64 id = b->id[i];
		__u32 d = (now - xlb_dsr_id_age(id)) & XLB_DSR_AGE_MASK;

		if (xlb_dsr_id_tag(id) == tag)
			return i;
		if (seen_empty)
			continue;
		if (!id) {
			best = i;
			seen_empty = 1;
		} else if (i == 0 || d > best_d) {
			best = i;
			best_d = d;
		}
	}
	return best;
}

/* Buckets of a table sized for flows flows: XLB_DSR_SLOTS_PER_FLOW slots
 * each, XLB_DSR_WAYS to a bucket, rounded up to a whole bucket (at least
 * one). */
XLB_DSR_INLINE __u32 xlb_dsr_buckets(__u32 flows)
{
	__u64 n = ((__u64)flows * XLB_DSR_SLOTS_PER_FLOW + XLB_DSR_WAYS - 1) /
		  XLB_DSR_WAYS;

	return n ? (__u32)n : 1;
}

/* The bucket of hash h in a table of n buckets: h's upper 32 bits scaled
 * to [0, n) by a multiply and a shift, which takes any n (a mask would
 * need a power of two, up to twice the memory) and leaves the low 32 bits
 * to the tag: a flow's bucket says nothing of its tag. The upper half, not
 * the low: a shift gives it zero-extended, where the low half costs the
 * BPF program two more instructions per packet. */
XLB_DSR_INLINE __u32 xlb_dsr_index(__u64 h, __u32 n)
{
	return (__u32)(((h >> 32) * n) >> 32);
}

/* xlb_dsr_hash4 or xlb_dsr_hash6 of flow key f. */
XLB_DSR_INLINE __u64 xlb_dsr_hash_key(const struct xlb_dsr_params *k,
				      const struct xlb_flow_key *f)
{
	if (f->family == XLB_AF_INET)
		return xlb_dsr_hash4(k, f->src.v4, f->dst.v4, f->sport_be,
				     f->dport_be, f->proto);
	return xlb_dsr_hash6(k, f->src.v6, f->dst.v6, f->sport_be, f->dport_be,
			     f->proto);
}

/* The slot of bucket b whose tag is tag, or -1. */
XLB_DSR_INLINE int xlb_dsr_find(const struct xlb_dsr_bucket *b, __u32 tag)
{
	int i;

	for (i = 0; i < XLB_DSR_WAYS; i++)
		if (xlb_dsr_id_tag(b->id[i]) == tag)
			return i;
	return -1;
}

#endif /* XLB_DSRTAB_H */
