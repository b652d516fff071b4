// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the dns health check's query builder and reply checker:
 * exact bytes of queries, and replies that match, mismatch or are cut. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "health_dns.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")

static void test_build(void)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
		0, 28, 0, 1,
	};
	uint8_t buf[DNS_QUERY_MAX], buf2[DNS_QUERY_MAX];
	char name[300];
	int n;

	n = dns_build_query(buf, sizeof(buf), 0x1234, "example.org", 28);
	CHECK(n == (int)sizeof(want) && !memcmp(buf, want, sizeof(want)), "n=%d", n);
	/* The final dot changes nothing. */
	EXPECT(dns_build_query(buf2, sizeof(buf2), 0x1234, "example.org.", 28) == n &&
	       !memcmp(buf, buf2, (size_t)n));
	/* The root. */
	n = dns_build_query(buf, sizeof(buf), 1, ".", 2);
	EXPECT(n == 17 && buf[12] == 0 && buf[14] == 2 && buf[16] == 1);
	EXPECT(dns_build_query(buf, sizeof(buf), 1, "", 2) == 17);
	/* Bad names. */
	EXPECT(dns_build_query(buf, sizeof(buf), 1, "a..b", 1) == -EINVAL);
	EXPECT(dns_build_query(buf, sizeof(buf), 1, ".a", 1) == -EINVAL);
	EXPECT(dns_build_query(buf, sizeof(buf), 1, "a..", 1) == -EINVAL);
	memset(name, 'a', 64);
	name[64] = '\0';
	EXPECT(dns_build_query(buf, sizeof(buf), 1, name, 1) == -EINVAL);
	name[63] = '\0';
	EXPECT(dns_build_query(buf, sizeof(buf), 1, name, 1) == 12 + 1 + 63 + 1 + 4);
	/* 254 characters is too long; no space is no space. */
	for (int i = 0; i < 254; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[254] = '\0';
	name[253] = 'a';
	EXPECT(dns_build_query(buf, sizeof(buf), 1, name, 1) == -EINVAL);
	EXPECT(dns_build_query(buf, 20, 1, "example.org", 1) == -ENOSPC);
	EXPECT(dns_build_query(buf, 8, 1, ".", 1) == -ENOSPC);
}

/* A reply made of the query with QR set, rcode and an answer appended. */
static size_t make_reply(const uint8_t *q, size_t qlen, int rcode, uint8_t *r)
{
	static const uint8_t answer[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60,
					  0, 4, 198, 18, 0, 11 };

	memcpy(r, q, qlen);
	r[2] |= 0x80;
	r[3] = (uint8_t)rcode | 0x80;   /* RA */
	r[7] = 1;
	memcpy(r + qlen, answer, sizeof(answer));
	return qlen + sizeof(answer);
}

static void test_check(void)
{
	uint8_t q[DNS_QUERY_MAX], r[DNS_QUERY_MAX + 64];
	size_t rlen;
	char buf[16];
	int qlen;

	qlen = dns_build_query(q, sizeof(q), 0xbeef, "Example.org", 1);
	EXPECT(qlen > 0);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == 0);
	/* Case differences in the echoed name are fine. */
	r[13] = 'e';
	r[21] = 'O';
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == 0);
	rlen = make_reply(q, (size_t)qlen, 2, r);
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == 2);
	EXPECT(!strcmp(dns_rcode_str(2, buf, sizeof(buf)), "SERVFAIL"));
	EXPECT(!strcmp(dns_rcode_str(3, buf, sizeof(buf)), "NXDOMAIN"));
	EXPECT(!strcmp(dns_rcode_str(11, buf, sizeof(buf)), "RCODE11"));
	/* Only the header and question are needed. */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, (size_t)qlen) == 2);

	/* Mismatches and cuts. */
	rlen = make_reply(q, (size_t)qlen, 0, r);
	for (size_t cut = 0; cut < (size_t)qlen; cut++)
		CHECK(dns_check_reply(q, (size_t)qlen, r, cut) == -EBADMSG, "cut %zu", cut);
	r[1] ^= 1;                                      /* id */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	r[2] &= 0x7f;                                   /* not a reply */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	r[5] = 2;                                       /* two questions */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	r[14] = 'y';                                    /* other name */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	r[12] = 0xc0;                                   /* pointer in question */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	r[qlen - 3] = 28;                               /* other type */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	rlen = make_reply(q, (size_t)qlen, 0, r);
	r[qlen - 1] = 3;                                /* other class */
	EXPECT(dns_check_reply(q, (size_t)qlen, r, rlen) == -EBADMSG);
	/* A query that is not one (no question) never matches. */
	EXPECT(dns_check_reply(q, 12, r, rlen) == -EBADMSG);
}

int main(void)
{
	RUN(test_build);
	RUN(test_check);
	UNIT_SUMMARY();
}
