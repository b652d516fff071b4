/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A packet's entry of the LRU map `flows` (nat/fullnat), read from a copy
 * checked against its tag (include/xlb_cttag.h) and written only while
 * its element still holds it: the kernel hands an evicted or deleted LRU
 * element to the next update at once (no RCU grace period), while a
 * packet on another CPU may still hold it (operations.md, "How the daemon
 * changes what packets read"). */
#ifndef XLB_BPF_CTTAG_H
#define XLB_BPF_CTTAG_H

#include "maps.h"
#include "xlb_cttag.h"

/* Copies the entry f of key k into *c; whether the copy is k's entry: its
 * tag is k's and its fields' (nat/fullnat: in the hash word; dr/tun of an
 * lc/wlc service: in syn_seq, its mark in pad). 0: f holds, or was being
 * rewritten with, another flow's entry, or is an element caught before
 * its first entry's tag was written (tags are never 0); k's own is gone.
 * Every later read is of the copy. (Entries without a tag, an xlbd's
 * before tags, were read unchecked until the layout of buckets of eight:
 * no xlbd of this ABI writes one.) */
static __always_inline int xlb_ct_copy(const struct xlb_flow_key *k,
				       const struct xlb_flow *f,
				       struct xlb_flow *c)
{
	*c = *f;
	if (c->mode == XLB_MODE_NAT || c->mode == XLB_MODE_FULLNAT)
		return c->hash == xlb_ct_tag(k, c);
	return c->syn_seq == xlb_dsr_ct_tag(k, c);
}

/* xlb_ct_copy out of line, for the loops that judge other flows' entries
 * (a local port's holder, a share's embryonic entries): a global
 * function, so that the verifier checks the tags' paths once, not once
 * per probe. Its arguments may be NULL as far as it knows. */
__attribute__((noinline)) int
xlb_ct_copy_checked(const struct xlb_flow_key *k, const struct xlb_flow *f,
		    struct xlb_flow *c)
{
	if (!k || !f || !c)
		return 0;
	return xlb_ct_copy(k, f, c);
}

/* Whether the element f still holds the entry copied into c, by its tag
 * and the word beside it (nat: the SYN proxy's delta; dr/tun: the hash
 * word, 0): checked before a write into f, which then compares and swaps a
 * word that the entry's own values fill, so that a packet whose entry's
 * element was given to another flow since its copy does not write its
 * state into the other's, not even while the other's value is being
 * written (the kernel's copy has no order: the tag may come last). */
static __always_inline int xlb_ct_still(const struct xlb_flow *f,
					const struct xlb_flow *c)
{
	return *(volatile const __u64 *)&f->hash == *(const __u64 *)&c->hash;
}

/* The 8 bytes of an entry that hold its ports, state, mode, flags and the
 * top byte of its tag (in pad), and the 8
 * that hold its tag and SYN-proxy delta: the words a write compares with
 * the copy's and swaps. */
union xlb_ct_word {
	__u64 w;
	struct {
		__u16 rport_be;
		__u16 lport_be;
		__u8 state;
		__u8 mode;
		__u8 flags;
		__u8 tag8;
	} f;
};

union xlb_ct_tail {
	__u64 w;
	struct {
		__u32 hash;
		__u32 syn_seq;
	} f;
};

_Static_assert(__builtin_offsetof(struct xlb_flow, rport_be) % 8 == 0 &&
	       __builtin_offsetof(struct xlb_flow, pad) ==
		       __builtin_offsetof(struct xlb_flow, rport_be) + 7 &&
	       __builtin_offsetof(struct xlb_flow, hash) % 8 == 0 &&
	       __builtin_offsetof(struct xlb_flow, syn_seq) ==
		       __builtin_offsetof(struct xlb_flow, hash) + 4,
	       "union xlb_ct_word and xlb_ct_tail lie over struct xlb_flow");

/* State st and flags fl into the element f, if it still holds the entry
 * copied into c (and into c). 1 if written; 0 if f holds another entry
 * by now, or another CPU changed the state first (its change stands). */
static __always_inline int xlb_ct_set_state(struct xlb_flow *f,
					    struct xlb_flow *c, __u8 st, __u8 fl)
{
	union xlb_ct_word o, n;

	o.w = *(const __u64 *)&c->rport_be;
	n.w = o.w;
	n.f.state = st;
	n.f.flags = fl;
	if (!xlb_ct_still(f, c) ||
	    __sync_val_compare_and_swap((__u64 *)&f->rport_be, o.w, n.w) != o.w)
		return 0;
	c->state = st;
	c->flags = fl;
	return 1;
}

/* The age now into f, if it still holds the entry copied into c and its
 * age (and into c). The age's word carries no tag: while the kernel
 * copies another flow's new entry into f (an element recycled under the
 * packet), after that entry's age and before its tag word, the swap can
 * land in it. Harmless: every writer of an entry makes it with the
 * present as its age (the data plane's new flows, xlbd's copies), and
 * the present is what lands. Its state and flags are swapped only in the
 * word that holds its tag's top byte, its SYN-proxy delta only with its
 * tag word (xlb_ct_set_state, xlb_ct_set_syn_seq). */
static __always_inline void xlb_ct_set_seen(struct xlb_flow *f,
					    struct xlb_flow *c, __u64 now)
{
	__u64 old = c->last_seen_ns;

	if (xlb_ct_still(f, c) &&
	    __sync_val_compare_and_swap(&f->last_seen_ns, old, now) == old)
		c->last_seen_ns = now;
}

/* The SYN proxy's word v into f, if it still holds the entry copied into
 * c, its tag and that word compared and swapped together (and into c). */
static __always_inline void xlb_ct_set_syn_seq(struct xlb_flow *f,
					       struct xlb_flow *c, __u32 v)
{
	union xlb_ct_tail o, n;

	o.w = *(const __u64 *)&c->hash;
	n.w = o.w;
	n.f.syn_seq = v;
	if (__sync_val_compare_and_swap((__u64 *)&f->hash, o.w, n.w) == o.w)
		c->syn_seq = v;
}

#endif /* XLB_BPF_CTTAG_H */
