// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of PROXY protocol v1/v2: exact encodings (HAProxy's
 * proxy-protocol.txt), decoding of valid headers, partial headers and a
 * table of malformed ones. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "proxy_protocol.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")

static union inet_sockaddr v4(const char *a, uint16_t port)
{
	union inet_sockaddr ss = { 0 };
	struct sockaddr_in *s = (void *)&ss;

	s->sin_family = AF_INET;
	inet_pton(AF_INET, a, &s->sin_addr);
	s->sin_port = htons(port);
	return ss;
}

static union inet_sockaddr v6(const char *a, uint16_t port)
{
	union inet_sockaddr ss = { 0 };
	struct sockaddr_in6 *s = (void *)&ss;

	s->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &s->sin6_addr);
	s->sin6_port = htons(port);
	return ss;
}

static void test_encode_v1(void)
{
	union inet_sockaddr s = v4("198.18.0.1", 56324), d = v4("198.18.0.100", 80);
	union inet_sockaddr s6 = v6("2001:db8::1", 1), d6 = v6("2001:db8::100", 443);
	char buf[PP_V1_MAX + 1];
	int n;

	n = pp_encode_v1(buf, sizeof(buf), (void *)&s, (void *)&d);
	EXPECT(n == (int)strlen("PROXY TCP4 198.18.0.1 198.18.0.100 56324 80\r\n"));
	EXPECT(!strcmp(buf, "PROXY TCP4 198.18.0.1 198.18.0.100 56324 80\r\n"));
	n = pp_encode_v1(buf, sizeof(buf), (void *)&s6, (void *)&d6);
	EXPECT(n > 0 && !strcmp(buf, "PROXY TCP6 2001:db8::1 2001:db8::100 1 443\r\n"));
	n = pp_encode_v1(buf, sizeof(buf), (void *)&s, (void *)&d6);
	EXPECT(n > 0 && !strcmp(buf, "PROXY UNKNOWN\r\n"));
	EXPECT(pp_encode_v1(buf, 10, (void *)&s, (void *)&d) == -ENOSPC);

	/* The longest TCP6 header (104 bytes) fits in PP_V1_MAX. */
	s6 = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	n = pp_encode_v1(buf, sizeof(buf), (void *)&s6, (void *)&s6);
	EXPECT(n == 104 && n <= PP_V1_MAX);
}

static void test_encode_v2(void)
{
	static const uint8_t want4[] = {
		0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
		0x21, 0x11, 0x00, 0x0C,
		198, 18, 0, 1, 198, 18, 0, 100, 0xdc, 0x04, 0x00, 0x50,
	};
	union inet_sockaddr s = v4("198.18.0.1", 56324), d = v4("198.18.0.100", 80);
	union inet_sockaddr s6 = v6("2001:db8::1", 1), d6 = v6("2001:db8::100", 443);
	uint8_t buf[64];
	int n;

	n = pp_encode_v2(buf, sizeof(buf), (void *)&s, (void *)&d);
	EXPECT(n == (int)sizeof(want4) && !memcmp(buf, want4, sizeof(want4)));
	n = pp_encode_v2(buf, sizeof(buf), (void *)&s6, (void *)&d6);
	EXPECT(n == 16 + 36 && buf[12] == 0x21 && buf[13] == 0x21 && buf[14] == 0 &&
	       buf[15] == 36 && buf[16] == 0x20 && buf[17] == 0x01 &&
	       buf[48] == 0 && buf[49] == 1 && buf[50] == 0x01 && buf[51] == 0xbb);
	n = pp_encode_v2(buf, sizeof(buf), (void *)&s, (void *)&d6);
	EXPECT(n == 16 && buf[12] == 0x20 && buf[13] == 0 && buf[15] == 0);
	EXPECT(pp_encode_v2(buf, 20, (void *)&s, (void *)&d) == -ENOSPC);
}

static bool same_sa(const union inet_sockaddr *a, const union inet_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return !memcmp(a, b, sizeof(struct sockaddr_in));
	return !memcmp(a, b, sizeof(struct sockaddr_in6));
}

static void test_round_trip(void)
{
	union inet_sockaddr pairs[][2] = {
		{ v4("198.18.0.1", 56324), v4("198.18.0.100", 80) },
		{ v4("0.0.0.0", 0), v4("255.255.255.255", 65535) },
		{ v6("2001:db8::1", 1), v6("2001:db8::100", 443) },
		{ v6("::ffff:198.18.0.1", 9), v6("::", 0) },
	};
	uint8_t buf[PP_MAX];
	struct pp_info pi;

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		for (int ver = 1; ver <= 2; ver++) {
			int n = ver == 1 ?
				pp_encode_v1((char *)buf, sizeof(buf), (void *)&pairs[i][0],
					     (void *)&pairs[i][1]) :
				pp_encode_v2(buf, sizeof(buf), (void *)&pairs[i][0],
					     (void *)&pairs[i][1]);

			CHECK(n > 0, "pair %zu v%d", i, ver);
			/* Payload after the header is not part of it. */
			memcpy(buf + n, "GET /", 5);
			CHECK(pp_decode(buf, (size_t)n + 5, &pi) == n, "pair %zu v%d", i, ver);
			CHECK(!pi.local && same_sa(&pi.src, &pairs[i][0]) &&
			      same_sa(&pi.dst, &pairs[i][1]), "pair %zu v%d", i, ver);
			/* Every strict prefix asks for more. */
			for (int k = 0; k < n; k++)
				CHECK(pp_decode(buf, (size_t)k, &pi) == 0,
				      "pair %zu v%d prefix %d", i, ver, k);
		}
	}
	EXPECT(pp_decode((const uint8_t *)"PROXY UNKNOWN\r\n", 15, &pi) == 15 && pi.local);
	EXPECT(pp_decode((const uint8_t *)"PROXY UNKNOWN ffff::1 ::1 1 2\r\n", 31, &pi) == 31 &&
	       pi.local);

	/* v2 LOCAL, v2 with TLVs (skipped), v2 UNIX (treated as LOCAL). */
	uint8_t l[16] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
			  0x54, 0x0A, 0x20, 0x00, 0x00, 0x00 };
	EXPECT(pp_decode(l, 16, &pi) == 16 && pi.local);
	uint8_t t[16 + 12 + 7];
	union inet_sockaddr s = v4("198.18.0.1", 1), d = v4("198.18.0.2", 2);
	EXPECT(pp_encode_v2(t, sizeof(t), (void *)&s, (void *)&d) == 28);
	t[15] = 12 + 7;
	memcpy(t + 28, "\x04\x00\x04" "abcd", 7);      /* PP2_TYPE_NOOP */
	EXPECT(pp_decode(t, sizeof(t), &pi) == (int)sizeof(t) && !pi.local &&
	       same_sa(&pi.src, &s));
	uint8_t u[16 + 216] = { 0 };
	memcpy(u, l, 12);
	u[12] = 0x21;
	u[13] = 0x31;
	u[14] = 0;
	u[15] = 216;
	EXPECT(pp_decode(u, sizeof(u), &pi) == (int)sizeof(u) && pi.local);
}

struct bad {
	const char *what;
	const char *data;
	size_t len;
};

#define B(w, s) { w, s, sizeof(s) - 1 }

static const struct bad bad_v1[] = {
	B("not PROXY", "GET / HTTP/1.1\r\n"),
	B("lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	B("bad proto", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	B("TCP4 with v6", "PROXY TCP4 ::1 ::2 1 2\r\n"),
	B("TCP6 with v4", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"),
	B("bad address", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"),
	B("port too big", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
	B("leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"),
	B("signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"),
	B("missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"),
	B("extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"),
	B("double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"),
	B("trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"),
	B("LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
	B("CR not LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"),
	B("NUL inside", "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"),
	B("UNKNOWNX", "PROXY UNKNOWNX\r\n"),
	B("empty", "PROXY \r\n"),
	B("too long", "PROXY UNKNOWN aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"),
	B("no CRLF in 107", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
};

#define SIG "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A"
static const struct bad bad_v2[] = {
	B("bad signature", "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0B\x21\x11\x00\x0C"),
	B("version 1", SIG "\x11\x11\x00\x0C" "123456789012"),
	B("version 3", SIG "\x31\x11\x00\x0C" "123456789012"),
	B("command 2", SIG "\x22\x11\x00\x0C" "123456789012"),
	B("family 4", SIG "\x21\x41\x00\x0C" "123456789012"),
	B("transport 3", SIG "\x21\x13\x00\x0C" "123456789012"),
	B("inet too short", SIG "\x21\x11\x00\x0B" "12345678901"),
	B("inet6 too short", SIG "\x21\x21\x00\x0C" "123456789012"),
	B("bad TLV length", SIG "\x21\x11\x00\x10" "123456789012" "\x04\x00\x05" "a"),
	B("short TLV", SIG "\x21\x11\x00\x0E" "123456789012" "\x04\x00"),
	B("too long", SIG "\x21\x11\xff\xff"),
};

static void test_malformed(void)
{
	struct pp_info pi;

	for (size_t i = 0; i < sizeof(bad_v1) / sizeof(bad_v1[0]); i++)
		CHECK(pp_decode((const uint8_t *)bad_v1[i].data, bad_v1[i].len, &pi) ==
		      -EINVAL, "v1 %s", bad_v1[i].what);
	for (size_t i = 0; i < sizeof(bad_v2) / sizeof(bad_v2[0]); i++)
		CHECK(pp_decode((const uint8_t *)bad_v2[i].data, bad_v2[i].len, &pi) ==
		      -EINVAL, "v2 %s", bad_v2[i].what);
	/* Rejected as soon as the first bytes disagree with both versions. */
	EXPECT(pp_decode((const uint8_t *)"G", 1, &pi) == -EINVAL);
	EXPECT(pp_decode((const uint8_t *)"PROXX", 5, &pi) == -EINVAL);
	EXPECT(pp_decode((const uint8_t *)"\x0D\x0A\x0D\x0B", 4, &pi) == -EINVAL);
	EXPECT(pp_decode((const uint8_t *)"", 0, &pi) == 0);
}

int main(void)
{
	RUN(test_encode_v1);
	RUN(test_encode_v2);
	RUN(test_round_trip);
	RUN(test_malformed);
	UNIT_SUMMARY();
}
