// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Packet builders shared by the BPF fixtures (tests/bpf/) and bench/xdp_cost.c:
 * Ethernet, IPv4/IPv6 and TCP/UDP frames with every length and checksum right,
 * described by a struct spec with designated initializers. */
#ifndef XLB_TEST_PKT_H
#define XLB_TEST_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "xlb_abi.h"

/* The client's (router's) MAC and the balancer port's: every frame a spec
 * builds goes from the first to the second. */
static const uint8_t MAC_CLIENT[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_XA[6] = { 0x02, 0, 0, 0, 0, 0x0a };

struct pkt {
	uint8_t b[4096];
	size_t len;
};

static inline void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static inline void put16(struct pkt *p, uint16_t v)
{
	v = htons(v);
	put(p, &v, 2);
}

static inline void put32(struct pkt *p, uint32_t v)
{
	v = htonl(v);
	put(p, &v, 4);
}

static inline void set16(uint8_t *at, uint16_t v)
{
	v = htons(v);
	memcpy(at, &v, 2);
}

static inline uint16_t get16(const uint8_t *at)
{
	uint16_t v;

	memcpy(&v, at, 2);
	return ntohs(v);
}

static inline uint32_t sum16(const uint8_t *d, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	return sum;
}

static inline uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline union xlb_addr A(const char *s)
{
	union xlb_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':'))
		inet_pton(AF_INET6, s, &a);
	else
		inet_pton(AF_INET, s, &a.v4);
	return a;
}

static inline void eth(struct pkt *p, const uint8_t *dst, const uint8_t *src,
		uint16_t proto)
{
	put(p, dst, 6);
	put(p, src, 6);
	put16(p, proto);
}

/* IPv4 header (no options) with a correct checksum. */
static inline void ip4(struct pkt *p, const char *src, const char *dst, uint8_t proto,
		uint16_t payload, uint16_t frag, uint16_t id)
{
	uint8_t tos = 0;
	size_t at = p->len;
	union xlb_addr s = A(src), d = A(dst);

	put(p, (uint8_t[]){ 0x45, tos }, 2);
	put16(p, 20 + payload);
	put16(p, id);
	put16(p, frag);
	put(p, (uint8_t[]){ 64, proto, 0, 0 }, 4);
	put(p, &s.v4, 4);
	put(p, &d.v4, 4);
	set16(p->b + at + 10, fold(sum16(p->b + at, 20, 0)));
}

static inline void ip6(struct pkt *p, const char *src, const char *dst, uint8_t nh,
		uint16_t payload)
{
	union xlb_addr s = A(src), d = A(dst);

	put32(p, 0x60000000);
	put16(p, payload);
	put(p, (uint8_t[]){ nh, 64 }, 2);
	put(p, &s, 16);
	put(p, &d, 16);
}

/* Checksum of the L4 segment at l4 (len bytes) under the IP header at l3. */
static inline uint16_t l4_csum(const uint8_t *l3, const uint8_t *l4, size_t len,
			uint8_t proto)
{
	uint32_t sum = 0;

	if ((l3[0] >> 4) == 4) {
		if (proto != 1)
			sum = sum16(l3 + 12, 8, 0) + proto + len;
	} else {
		sum = sum16(l3 + 8, 32, 0) + proto + len;
	}
	return fold(sum16(l4, len, sum));
}

static inline size_t l4_csum_off(uint8_t proto)
{
	return proto == 6 ? 16 : proto == 17 ? 6 : 2;
}

/* Recomputes the header checksum of the IPv4 packet at l3 of p. */
static inline void ip4_recsum_at(struct pkt *p, size_t l3)
{
	size_t hl = (p->b[l3] & 15) * 4;

	set16(p->b + l3 + 10, 0);
	set16(p->b + l3 + 10, fold(sum16(p->b + l3, hl, 0)));
}

static inline void ip4_recsum(struct pkt *p)
{
	ip4_recsum_at(p, 14);
}

/* Inserts n bytes of IPv4 options (NOPs, the last one an end of list)
 * after the fixed header of the IPv4 packet at l3 of p. */
static inline void ip4_add_options(struct pkt *p, size_t l3, size_t n)
{
	uint8_t *ip = p->b + l3;

	memmove(ip + 20 + n, ip + 20, p->len - l3 - 20);
	memset(ip + 20, 1, n);
	ip[20 + n - 1] = 0;
	p->len += n;
	ip[0] = 0x45 + n / 4;
	set16(ip + 2, get16(ip + 2) + n);
	ip4_recsum_at(p, l3);
}

/* A frame client -> dst of family fam (4/6) carrying proto with paylen
 * payload bytes, all lengths and checksums right. vid != 0 adds a VLAN tag. */
struct spec {
	int fam;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	size_t paylen;
	uint16_t vid;
	uint16_t frag;          /* IPv4 frag_off; default DF */
	int nodf;
	uint8_t tcpflags;       /* 0: SYN */
	int udp_nocsum;         /* IPv4 UDP sent without checksum (0) */
	size_t ipopts;          /* IPv4 option bytes (a multiple of 4, <= 40) */
	int ip6ext;             /* IPv6 extension headers in front of L4: 1
				 * destination options; 2 hop-by-hop too; 3
				 * and a routing header with no segment left */
};

static inline void ip6_insert(struct pkt *p, uint8_t type, const uint8_t *ext);

static inline size_t l3_of(const struct pkt *p)
{
	return get16(p->b + 12) == 0x8100 ? 18 : 14;
}

static inline void pkt_mk(struct pkt *p, const struct spec *s)
{
	size_t l4len = (s->proto == 6 ? 20 : 8) + s->paylen, l3, l4, i;
	uint16_t frag = s->frag ? s->frag : (s->nodf ? 0 : 0x4000);

	memset(p, 0, sizeof(*p));
	if (s->vid) {
		eth(p, MAC_XA, MAC_CLIENT, 0x8100);
		put16(p, s->vid);
		put16(p, s->fam == 4 ? 0x0800 : 0x86dd);
	} else {
		eth(p, MAC_XA, MAC_CLIENT, s->fam == 4 ? 0x0800 : 0x86dd);
	}
	l3 = p->len;
	if (s->fam == 4)
		ip4(p, s->src, s->dst, s->proto, l4len, frag, 0x1234);
	else
		ip6(p, s->src, s->dst, s->proto == 1 ? 58 : s->proto, l4len);
	l4 = p->len;
	put16(p, s->sport);
	put16(p, s->dport);
	if (s->proto == 6) {
		put32(p, 1000);
		put32(p, 0);
		put(p, (uint8_t[]){ 0x50, s->tcpflags ? s->tcpflags : 0x02 }, 2);
		put16(p, 65535);
		put32(p, 0);
	} else {
		put16(p, l4len);
		put16(p, 0);
	}
	for (i = 0; i < s->paylen; i++)
		p->b[p->len++] = (uint8_t)(i * 7 + 3);
	if (!(s->udp_nocsum && s->proto == 17 && s->fam == 4))
		set16(p->b + l4 + l4_csum_off(s->proto),
		      l4_csum(p->b + l3, p->b + l4, l4len, s->proto));
	if (s->ipopts)
		ip4_add_options(p, l3, s->ipopts);
	/* Inserted last first, each in front of the previous (the L4
	 * checksum does not cover them). PadN fills the options. */
	if (s->ip6ext >= 1)
		ip6_insert(p, 60, (uint8_t[]){ p->b[20], 0, 1, 4, 0, 0, 0, 0 });
	if (s->ip6ext >= 3)
		ip6_insert(p, 43, (uint8_t[]){ p->b[20], 0, 2, 0, 0, 0, 0, 0 });
	if (s->ip6ext >= 2)
		ip6_insert(p, 0, (uint8_t[]){ p->b[20], 0, 1, 4, 0, 0, 0, 0 });
}

/* out = the fragment of the untagged datagram w holding bytes [off, off +
 * len) of its IP payload (off a multiple of 8), with MF when more: IPv4
 * fragments keep w's header (and options), IPv6 ones get a fragment header
 * with identification id. */
static inline void pkt_fragment(struct pkt *out, const struct pkt *w,
				size_t off, size_t len, int more, uint32_t id)
{
	size_t hl;

	memset(out, 0, sizeof(*out));
	if ((w->b[14] >> 4) == 4) {
		hl = (w->b[14] & 15) * 4;
		put(out, w->b, 14 + hl);
		put(out, w->b + 14 + hl + off, len);
		set16(out->b + 16, hl + len);
		set16(out->b + 20, (uint16_t)(off / 8 | (more ? 0x2000 : 0)));
		ip4_recsum(out);
		return;
	}
	put(out, w->b, 14 + 40);
	out->b[20] = 44;
	set16(out->b + 18, 8 + len);
	put(out, (uint8_t[]){ w->b[20], 0 }, 2);
	put16(out, (uint16_t)(off | (more ? 1 : 0)));
	put32(out, id);
	put(out, w->b + 54 + off, len);
}

/* Inserts an 8-byte IPv6 extension header ext (its next header must be
 * the old one) right after the fixed header. */
static inline void ip6_insert(struct pkt *p, uint8_t type, const uint8_t *ext)
{
	memmove(p->b + 62, p->b + 54, p->len - 54);
	memcpy(p->b + 54, ext, 8);
	p->len += 8;
	p->b[20] = type;
	set16(p->b + 18, get16(p->b + 18) + 8);
}

#endif
