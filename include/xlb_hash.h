/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The flow hash and the per-flow tunnel source, shared by the XDP program and
 * userspace so that tests and tools predict the Maglev slot of any 5-tuple. */
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include <linux/types.h>

#include "xlb_abi.h"

/* BPF objects and userspace both include this file: no libc, no helpers. */
#define XLB_HASH_INLINE static inline __attribute__((always_inline))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XLB_HTONL(x) __builtin_bswap32(x)
#else
#define XLB_HTONL(x) (x)
#endif

#define XLB_HASH_SEED 0x5bd1e995u

XLB_HASH_INLINE __u32 xlb_rotl32(__u32 x, unsigned int k)
{
	return (x << k) | (x >> (32 - k));
}

/* Folds one 32-bit word into the running state (multiply-rotate-multiply,
 * then a rotate-add step, so every input bit reaches every state bit). */
XLB_HASH_INLINE __u32 xlb_hash_word(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51u;
	w = xlb_rotl32(w, 15);
	w *= 0x1b873593u;
	h ^= w;
	h = xlb_rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

/* Final avalanche: small input differences flip about half the output bits,
 * which matters because the result is reduced modulo the table size. */
XLB_HASH_INLINE __u32 xlb_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* The 5-tuple hash over its nine words: the source and destination
 * addresses as four words each, then the ports. */
XLB_HASH_INLINE __u32 xlb_flow_hash_words(__u32 s0, __u32 s1, __u32 s2,
					  __u32 s3, __u32 d0, __u32 d1,
					  __u32 d2, __u32 d3, __u32 ports,
					  __u8 proto)
{
	__u32 h = XLB_HASH_SEED ^ proto;

	h = xlb_hash_word(h, s0);
	h = xlb_hash_word(h, s1);
	h = xlb_hash_word(h, s2);
	h = xlb_hash_word(h, s3);
	h = xlb_hash_word(h, d0);
	h = xlb_hash_word(h, d1);
	h = xlb_hash_word(h, d2);
	h = xlb_hash_word(h, d3);
	h = xlb_hash_word(h, ports);
	return xlb_hash_final(h ^ 37);
}

/* Hash of a client 5-tuple as received (src = client, dst = VIP). Addresses
 * are hashed as 16 bytes (IPv4: v4 then 12 zero bytes, as in union xlb_addr);
 * ports are the raw network-order 16-bit values. */
XLB_HASH_INLINE __u32 xlb_flow_hash(const union xlb_addr *src,
				    const union xlb_addr *dst,
				    __u16 sport_be, __u16 dport_be, __u8 proto)
{
	return xlb_flow_hash_words(src->v6[0], src->v6[1], src->v6[2],
				   src->v6[3], dst->v6[0], dst->v6[1],
				   dst->v6[2], dst->v6[3],
				   ((__u32)sport_be << 16) | dport_be, proto);
}

/* xlb_flow_hash of an IPv4 tuple, whose addresses' last 12 bytes are zero:
 * the same value, with the six zero words folded away at compile time
 * (the BPF program's new flows hash this way). */
XLB_HASH_INLINE __u32 xlb_flow_hash_v4(__u32 src_v4, __u32 dst_v4,
				       __u16 sport_be, __u16 dport_be,
				       __u8 proto)
{
	return xlb_flow_hash_words(src_v4, 0, 0, 0, dst_v4, 0, 0, 0,
				   ((__u32)sport_be << 16) | dport_be, proto);
}

/* Hash of a client address alone (16 bytes as in union xlb_addr): the
 * source-hash (sh) scheduler's slot, so every port of a client lands on one
 * backend. */
XLB_HASH_INLINE __u32 xlb_src_hash(const union xlb_addr *src)
{
	__u32 h = XLB_HASH_SEED ^ 0x5348;       /* "SH" */

	h = xlb_hash_word(h, src->v6[0]);
	h = xlb_hash_word(h, src->v6[1]);
	h = xlb_hash_word(h, src->v6[2]);
	h = xlb_hash_word(h, src->v6[3]);
	return xlb_hash_final(h ^ 16);
}

/* Bit of address a in an addr_filter set (xlb_abi.h): the 16 bytes folded
 * to one word, then a multiplicative hash whose top bits pick the bit. */
XLB_HASH_INLINE __u32 xlb_filter_bit(const union xlb_addr *a)
{
	__u32 x = a->v6[0] ^ xlb_rotl32(a->v6[1], 8) ^
		  xlb_rotl32(a->v6[2], 16) ^ xlb_rotl32(a->v6[3], 24);

	return (x * 0x9e3779b1u) >> (32 - XLB_FILTER_BITS_LOG);
}

/* Host-order mask of the host bits (those past plen) inside 32-bit word i
 * of an address, i = 0 for the most significant word. */
XLB_HASH_INLINE __u32 xlb_host_mask(__u32 plen, __u32 i)
{
	__u32 lo = 32 * i;

	if (plen <= lo)
		return 0xffffffffu;
	if (plen >= lo + 32)
		return 0;
	return 0xffffffffu >> (plen - lo);
}

/* Outer IPv4 source of a tun packet: base_be's prefix, host bits from hash. */
XLB_HASH_INLINE __u32 xlb_tun_src_v4(__u32 base_be, __u32 plen, __u32 hash)
{
	__u32 m = XLB_HTONL(xlb_host_mask(plen, 0));

	return (base_be & ~m) | (XLB_HTONL(hash) & m);
}

/* Outer IPv6 source: base's prefix; every word's host bits come from a
 * different re-mix of hash so a /64 gets 64 varying bits. The data plane
 * computes the same address with xlb_tun_src6 (bpf/fwd.h), written for
 * the prefix lengths the configuration takes (64-128); the fixtures
 * predict its packets with this one. */
XLB_HASH_INLINE void xlb_tun_src_v6(const union xlb_addr *base, __u32 plen,
				    __u32 hash, union xlb_addr *out)
{
	__u32 i;

	for (i = 0; i < 4; i++) {
		__u32 m = XLB_HTONL(xlb_host_mask(plen, i));
		__u32 h;

		/* A word of the prefix alone needs no re-mix. */
		if (!m) {
			out->v6[i] = base->v6[i];
			continue;
		}
		h = i == 3 ? hash : xlb_hash_final(hash ^ (i + 1));
		out->v6[i] = (base->v6[i] & ~m) | (XLB_HTONL(h) & m);
	}
}

#endif /* XLB_HASH_H */
