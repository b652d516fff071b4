// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SipHash-2-4 (include/xlb_siphash.h) and the SYN cookie built on it
 * (include/xlb_ct.h) against independent implementations: the SipHash
 * paper's vectors, and OpenSSL's for the cookie's exact 48-byte message. */
#include <stdint.h>
#include <arpa/inet.h>

#include "xlb_ct.h"
#include "unit.h"

/* The key of the paper's vectors: bytes 00 01 .. 0f. */
static const uint32_t KEY[4] = { 0x03020100u, 0x07060504u, 0x0b0a0908u,
				 0x0f0e0d0cu };

/* SipHash-2-4 of bytes 00 01 .. len-1 under KEY, fed word by word as the
 * header says. */
static uint64_t sip_seq(unsigned int len)
{
	struct xlb_sip s;
	uint64_t w = 0;
	unsigned int i;

	xlb_sip_init_key(&s, KEY);
	for (i = 0; i < len; i++) {
		w |= (uint64_t)i << (8 * (i % 8));
		if (i % 8 == 7) {
			xlb_sip_word(&s, w);
			w = 0;
		}
	}
	return xlb_sip_final(&s, (uint64_t)len << 56 | w);
}

static void test_reference_vectors(void)
{
	/* The paper's (Aumasson, Bernstein: "SipHash: a fast short-input
	 * PRF", appendix A): 15 bytes 00 .. 0e. */
	CHECK(sip_seq(15) == 0xa129ca6149be45e5ull, "%016llx",
	      (unsigned long long)sip_seq(15));
	/* The reference implementation's vectors.h, first entries: the empty
	 * message and 00 .. 07 (one full word, then a length-only block). */
	CHECK(sip_seq(0) == 0x726fdb47dd0e0e31ull, "%016llx",
	      (unsigned long long)sip_seq(0));
	CHECK(sip_seq(8) == 0x93f5f5799a932462ull, "%016llx",
	      (unsigned long long)sip_seq(8));
	/* 48 bytes 00 .. 2f: the cookie's length, six full words. From
	 * OpenSSL 3.0 (see test_cookie_mac for the command). */
	CHECK(sip_seq(48) == 0xe612a3cb9ecba951ull, "%016llx",
	      (unsigned long long)sip_seq(48));
}

static struct xlb_flow_key key_of(int v6, const char *src, uint16_t sport,
				  const char *dst, uint16_t dport)
{
	struct xlb_flow_key k = { .sport_be = htons(sport),
				  .dport_be = htons(dport), .proto = 6,
				  .family = v6 ? XLB_AF_INET6 : XLB_AF_INET };

	inet_pton(v6 ? AF_INET6 : AF_INET, src, &k.src);
	inet_pton(v6 ? AF_INET6 : AF_INET, dst, &k.dst);
	return k;
}

/* The cookie's MAC of two tuples under KEY against OpenSSL's SipHash of
 * the message bytes as xlb_ct.h lays them out: client address, VIP (16
 * bytes each, IPv4 followed by 12 zeros), client port, VIP port (network
 * order), ISN, t (32-bit little-endian), family, 3 zero bytes. Produced
 * with Python writing those 48 bytes to FILE, then
 *   openssl mac -macopt hexkey:000102030405060708090a0b0c0d0e0f \
 *       -macopt size:8 -in FILE SIPHASH
 * (OpenSSL 3.0.19, Debian 12), whose 8 output bytes read little-endian
 * are the values below (the same command gives the paper's vector as
 * E545BE4961CA29A1). A little-endian host's words are those bytes. */
static void test_cookie_mac(void)
{
	struct xlb_flow_key k4 = key_of(0, "198.18.0.1", 52000, "198.18.0.110", 80);
	struct xlb_flow_key k6 = key_of(1, "2001:db8::1", 52001, "2001:db8::111", 443);
	uint64_t m4 = xlb_cookie_mac(&k4, 0x11223344u, 0x1234u, KEY);
	uint64_t m6 = xlb_cookie_mac(&k6, 0xa0b0c0d0u, 0xfffffffeu, KEY);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	CHECK(m4 == 0x57698779c1e86da2ull, "%016llx", (unsigned long long)m4);
	CHECK(m6 == 0xfa7fb55dec116a0bull, "%016llx", (unsigned long long)m6);
#endif
	/* Every input counts: the family, the ISN, t, a port, a key bit. */
	k4.family = XLB_AF_INET6;
	CHECK(xlb_cookie_mac(&k4, 0x11223344u, 0x1234u, KEY) != m4, " ");
	k4.family = XLB_AF_INET;
	CHECK(xlb_cookie_mac(&k4, 0x11223345u, 0x1234u, KEY) != m4, " ");
	CHECK(xlb_cookie_mac(&k4, 0x11223344u, 0x1235u, KEY) != m4, " ");
	k4.dport_be = htons(81);
	CHECK(xlb_cookie_mac(&k4, 0x11223344u, 0x1234u, KEY) != m4, " ");
	k4.dport_be = htons(80);
	CHECK(xlb_cookie_mac(&k4, 0x11223344u, 0x1234u,
			     (const uint32_t[4]){ KEY[0], KEY[1], KEY[2],
						  KEY[3] ^ 0x80000000u }) != m4, " ");
}

/* The cookie: the MAC's bits 4-31, t's low bit at bit 3, the MSS index
 * below; the check's t from the cookie's bit and the clock. */
static void test_cookie_bits(void)
{
	struct xlb_flow_key k = key_of(0, "198.18.0.1", 52000, "198.18.0.110", 80);
	uint32_t m4 = (uint32_t)xlb_cookie_mac(&k, 0x11223344u, 0x1234u, KEY);
	uint32_t c = xlb_cookie(&k, 0x11223344u, 0x1234u, KEY, 5);
	uint32_t c1 = xlb_cookie(&k, 0x11223344u, 0x1235u, KEY, 5);

	CHECK(c == ((m4 & ~15u) | 5), "%08x mac %08x", c, m4);
	CHECK((c1 & 15) == (8 | 5), "%08x", c1);
	/* Made under t: checked under t during t and the tick after, and
	 * under another t (which then fails to match) otherwise. */
	CHECK(xlb_cookie_t(c, 0x1234u) == 0x1234u, " ");
	CHECK(xlb_cookie_t(c, 0x1235u) == 0x1234u, " ");
	CHECK(xlb_cookie_t(c, 0x1236u) == 0x1236u, " ");
	CHECK(xlb_cookie_t(c1, 0x1235u) == 0x1235u, " ");
	CHECK(xlb_cookie_t(c1, 0x1236u) == 0x1235u, " ");
	/* The clock's first tick: the previous one wraps, as the t of the
	 * cookie made then did. */
	CHECK(xlb_cookie_t(8, 0) == 0xffffffffu, " ");
	CHECK(xlb_cookie_t(0, 0) == 0, " ");
}

int main(void)
{
	RUN(test_reference_vectors);
	RUN(test_cookie_mac);
	RUN(test_cookie_bits);
	UNIT_SUMMARY();
}
