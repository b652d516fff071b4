// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* PROXY protocol v1/v2 encoding and strict decoding (see proxy_protocol.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proxy_protocol.h"

static const uint8_t v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char v1_sig[] = "PROXY ";

static bool same_family(const struct sockaddr *a, const struct sockaddr *b)
{
	return a && b && a->sa_family == b->sa_family &&
	       (a->sa_family == AF_INET || a->sa_family == AF_INET6);
}

int pp_encode_v1(char *buf, size_t len, const struct sockaddr *src,
		 const struct sockaddr *dst)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	unsigned sp, dp;
	int n;

	if (!same_family(src, dst)) {
		n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
	} else if (src->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)src, *b = (const void *)dst;

		inet_ntop(AF_INET, &a->sin_addr, s, sizeof(s));
		inet_ntop(AF_INET, &b->sin_addr, d, sizeof(d));
		sp = ntohs(a->sin_port);
		dp = ntohs(b->sin_port);
		n = snprintf(buf, len, "PROXY TCP4 %s %s %u %u\r\n", s, d, sp, dp);
	} else {
		const struct sockaddr_in6 *a = (const void *)src, *b = (const void *)dst;

		inet_ntop(AF_INET6, &a->sin6_addr, s, sizeof(s));
		inet_ntop(AF_INET6, &b->sin6_addr, d, sizeof(d));
		sp = ntohs(a->sin6_port);
		dp = ntohs(b->sin6_port);
		n = snprintf(buf, len, "PROXY TCP6 %s %s %u %u\r\n", s, d, sp, dp);
	}
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int pp_encode_v2(uint8_t *buf, size_t len, const struct sockaddr *src,
		 const struct sockaddr *dst)
{
	size_t alen;

	if (len < PP_V2_HDR)
		return -ENOSPC;
	memcpy(buf, v2_sig, sizeof(v2_sig));
	if (!same_family(src, dst)) {
		buf[12] = 0x20;         /* v2, LOCAL */
		buf[13] = 0x00;         /* AF_UNSPEC, UNSPEC */
		buf[14] = buf[15] = 0;
		return PP_V2_HDR;
	}
	buf[12] = 0x21;                 /* v2, PROXY */
	alen = src->sa_family == AF_INET ? 12 : 36;
	if (len < PP_V2_HDR + alen)
		return -ENOSPC;
	buf[14] = (uint8_t)(alen >> 8);
	buf[15] = (uint8_t)alen;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)src, *b = (const void *)dst;

		buf[13] = 0x11;         /* TCP over IPv4 */
		memcpy(buf + 16, &a->sin_addr, 4);
		memcpy(buf + 20, &b->sin_addr, 4);
		memcpy(buf + 24, &a->sin_port, 2);
		memcpy(buf + 26, &b->sin_port, 2);
	} else {
		const struct sockaddr_in6 *a = (const void *)src, *b = (const void *)dst;

		buf[13] = 0x21;         /* TCP over IPv6 */
		memcpy(buf + 16, &a->sin6_addr, 16);
		memcpy(buf + 32, &b->sin6_addr, 16);
		memcpy(buf + 48, &a->sin6_port, 2);
		memcpy(buf + 50, &b->sin6_port, 2);
	}
	return (int)(PP_V2_HDR + alen);
}

/* A decimal port: 0-65535, no sign, no leading zero (as the spec's
 * examples and HAProxy's parser). */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (!n || n > 5 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*out = htons((uint16_t)v);
	return 0;
}

static int parse_addr(int af, const char *s, size_t n, void *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (!n || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, out) == 1 ? 0 : -EINVAL;
}

/* Length of the v1 line with its CRLF, found within the first PP_V1_MAX
 * bytes: 0 if more bytes are needed, -EINVAL if it cannot be a v1 line. */
static int v1_line_len(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len && i < PP_V1_MAX; i++) {
		if (buf[i] == '\r') {
			if (i + 1 >= len)
				return 0;
			if (buf[i + 1] != '\n')
				return -EINVAL;
			return (int)i + 2;
		}
		/* Only printable ASCII before the CRLF. */
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	}
	return len >= PP_V1_MAX ? -EINVAL : 0;
}

/* Exactly five fields separated by single spaces, from @q to @end. */
static int v1_fields(const char *q, const char *end, const char *f[5], size_t fl[5])
{
	size_t nf = 0;

	while (q < end) {
		const char *sp = memchr(q, ' ', (size_t)(end - q));
		const char *e = sp ? sp : end;

		if (nf == 5 || e == q)
			return -EINVAL;
		f[nf] = q;
		fl[nf++] = (size_t)(e - q);
		q = sp ? sp + 1 : end;
		if (sp && q == end)
			return -EINVAL;         /* trailing space */
	}
	return nf == 5 ? 0 : -EINVAL;
}

/* "TCP4|TCP6 src dst sport dport" into @out's addresses. */
static int v1_addrs(const char *const f[5], const size_t fl[5], struct pp_info *out)
{
	int af;

	if (fl[0] == 4 && !memcmp(f[0], "TCP4", 4))
		af = AF_INET;
	else if (fl[0] == 4 && !memcmp(f[0], "TCP6", 4))
		af = AF_INET6;
	else
		return -EINVAL;
	if (af == AF_INET) {
		struct sockaddr_in *s = &out->src.in, *d = &out->dst.in;

		s->sin_family = d->sin_family = AF_INET;
		if (parse_addr(af, f[1], fl[1], &s->sin_addr) ||
		    parse_addr(af, f[2], fl[2], &d->sin_addr) ||
		    parse_port(f[3], fl[3], &s->sin_port) ||
		    parse_port(f[4], fl[4], &d->sin_port))
			return -EINVAL;
	} else {
		struct sockaddr_in6 *s = &out->src.in6, *d = &out->dst.in6;

		s->sin6_family = d->sin6_family = AF_INET6;
		if (parse_addr(af, f[1], fl[1], &s->sin6_addr) ||
		    parse_addr(af, f[2], fl[2], &d->sin6_addr) ||
		    parse_port(f[3], fl[3], &s->sin6_port) ||
		    parse_port(f[4], fl[4], &d->sin6_port))
			return -EINVAL;
	}
	return 0;
}

static int decode_v1(const uint8_t *buf, size_t len, struct pp_info *out)
{
	const char *p = (const char *)buf, *end, *q, *f[5];
	size_t fl[5];
	int hl;

	hl = v1_line_len(buf, len);
	if (hl <= 0)
		return hl;
	end = p + hl - 2;
	memset(out, 0, sizeof(*out));
	q = p + 6;
	if ((size_t)(end - q) >= 7 && !memcmp(q, "UNKNOWN", 7)) {
		/* The rest of the line is ignored by the spec. */
		if (end - q > 7 && q[7] != ' ')
			return -EINVAL;
		out->local = 1;
		return hl;
	}
	if (v1_fields(q, end, f, fl) || v1_addrs(f, fl, out))
		return -EINVAL;
	return hl;
}

/* TLVs after the addresses: each must fit exactly in what is left. */
static int check_tlvs(const uint8_t *p, size_t n)
{
	while (n) {
		size_t l;

		if (n < 3)
			return -EINVAL;
		l = (size_t)p[1] << 8 | p[2];
		if (3 + l > n)
			return -EINVAL;
		p += 3 + l;
		n -= 3 + l;
	}
	return 0;
}

static int decode_v2(const uint8_t *buf, size_t len, struct pp_info *out)
{
	size_t alen, need;
	uint8_t ver = buf[12] >> 4, cmd = buf[12] & 0xf;
	uint8_t fam = buf[13] >> 4, tr = buf[13] & 0xf;
	const uint8_t *a = buf + PP_V2_HDR;

	if (ver != 2 || cmd > 1 || fam > 3 || tr > 2)
		return -EINVAL;
	alen = (size_t)buf[14] << 8 | buf[15];
	if (PP_V2_HDR + alen > PP_V2_MAX)
		return -EINVAL;
	need = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	if (alen < need)
		return -EINVAL;
	if (len < PP_V2_HDR + alen)
		return 0;
	if (check_tlvs(a + need, alen - need))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* LOCAL: the receiver must use the real connection endpoints; so are
	 * families we do not carry (UNSPEC, UNIX). */
	if (cmd == 0 || fam == 0 || fam == 3) {
		out->local = 1;
	} else if (fam == 1) {
		struct sockaddr_in *s = &out->src.in, *d = &out->dst.in;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
	} else {
		struct sockaddr_in6 *s = &out->src.in6, *d = &out->dst.in6;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		memcpy(&d->sin6_addr, a + 16, 16);
		memcpy(&s->sin6_port, a + 32, 2);
		memcpy(&d->sin6_port, a + 34, 2);
	}
	return (int)(PP_V2_HDR + alen);
}

int pp_decode(const uint8_t *buf, size_t len, struct pp_info *out)
{
	size_t n;

	/* Decide on the version as soon as the bytes disagree with one. */
	n = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	if (!memcmp(buf, v2_sig, n)) {
		if (len < PP_V2_HDR)
			return 0;
		return decode_v2(buf, len, out);
	}
	n = len < 6 ? len : 6;
	if (!memcmp(buf, v1_sig, n)) {
		if (len < 6)
			return 0;
		return decode_v1(buf, len, out);
	}
	return -EINVAL;
}
