/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed MAC of the SYN
 * proxy's cookies (xlb_ct.h), shared by the XDP program and userspace so
 * that tests predict every cookie. */
#ifndef XLB_SIPHASH_H
#define XLB_SIPHASH_H

#include <linux/types.h>

/* BPF objects and userspace both include this file: no libc, no helpers,
 * 64-bit operations only (the BPF ALU has them). */
#define XLB_SIP_INLINE static inline __attribute__((always_inline))

/* The running state. A message is fed as 64-bit words m, each the
 * little-endian reading of 8 message bytes; the last, partial word goes to
 * xlb_sip_final with the message's length in bytes:
 *
 *   xlb_sip_init(&s, k0, k1);  xlb_sip_word(&s, m) per full word;
 *   h = xlb_sip_final(&s, (len << 56) | the len % 8 last bytes, LE);
 *
 * which is SipHash-2-4 of those bytes under the key whose 16 bytes, read
 * little-endian, are k0 then k1 (tests/unit/test_siphash.c checks it
 * against the paper's vector and against OpenSSL). */
struct xlb_sip {
	__u64 v0, v1, v2, v3;
};

XLB_SIP_INLINE __u64 xlb_rotl64(__u64 x, unsigned int k)
{
	return (x << k) | (x >> (64 - k));
}

XLB_SIP_INLINE void xlb_sip_round(struct xlb_sip *s)
{
	s->v0 += s->v1;
	s->v1 = xlb_rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = xlb_rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = xlb_rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = xlb_rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = xlb_rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = xlb_rotl64(s->v2, 32);
}

XLB_SIP_INLINE void xlb_sip_init(struct xlb_sip *s, __u64 k0, __u64 k1)
{
	s->v0 = k0 ^ 0x736f6d6570736575ull;     /* "somepseudorandomlygeneratedbytes" */
	s->v1 = k1 ^ 0x646f72616e646f6dull;
	s->v2 = k0 ^ 0x6c7967656e657261ull;
	s->v3 = k1 ^ 0x7465646279746573ull;
}

/* A 128-bit key held as four 32-bit words (struct xlb_globals.syn_key):
 * k0 = key[0] | key[1] << 32, k1 = key[2] | key[3] << 32. */
XLB_SIP_INLINE void xlb_sip_init_key(struct xlb_sip *s, const __u32 *key)
{
	xlb_sip_init(s, (__u64)key[0] | (__u64)key[1] << 32,
		     (__u64)key[2] | (__u64)key[3] << 32);
}

/* One full message word: two compression rounds. */
XLB_SIP_INLINE void xlb_sip_word(struct xlb_sip *s, __u64 m)
{
	s->v3 ^= m;
	xlb_sip_round(s);
	xlb_sip_round(s);
	s->v0 ^= m;
}

/* The last block b (the length in bytes in its top byte, the trailing
 * bytes below) and the four finalization rounds: the 64-bit MAC. */
XLB_SIP_INLINE __u64 xlb_sip_final(struct xlb_sip *s, __u64 b)
{
	xlb_sip_word(s, b);
	s->v2 ^= 0xff;
	xlb_sip_round(s);
	xlb_sip_round(s);
	xlb_sip_round(s);
	xlb_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

#endif /* XLB_SIPHASH_H */
