// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* DNS query builder and reply checker for the dns health check (RFC 1035
 * section 4): no library needed for one question and a header. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "health_dns.h"

#define DNS_FLAG_QR 0x80        /* in byte 2 */
#define DNS_FLAG_RD 0x01        /* in byte 2 */

int dns_build_query(uint8_t *buf, size_t len, uint16_t id, const char *name,
		    uint16_t qtype)
{
	size_t off = DNS_HEADER_LEN, nlen = strlen(name);

	if (len < DNS_HEADER_LEN + 1 + 4)
		return -ENOSPC;
	if (nlen && name[nlen - 1] == '.')
		nlen--;                 /* "example.org." and "." */
	if (nlen > 253 || (nlen && name[nlen - 1] == '.'))
		return -EINVAL;
	memset(buf, 0, DNS_HEADER_LEN);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = DNS_FLAG_RD;
	buf[5] = 1;                     /* QDCOUNT */
	for (size_t i = 0; i < nlen;) {
		size_t lab = 0;

		while (i + lab < nlen && name[i + lab] != '.')
			lab++;
		if (lab == 0 || lab > 63)
			return -EINVAL;
		if (off + 1 + lab + 1 + 4 > len)
			return -ENOSPC;
		buf[off++] = (uint8_t)lab;
		memcpy(buf + off, name + i, lab);
		off += lab;
		i += lab + 1;           /* skip the dot */
	}
	if (off + 1 + 4 > len)
		return -ENOSPC;
	buf[off++] = 0;                 /* root label */
	buf[off++] = qtype >> 8;
	buf[off++] = qtype & 0xff;
	buf[off++] = 0;
	buf[off++] = 1;                 /* class IN */
	return (int)off;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int dns_check_reply(const uint8_t *query, size_t qlen, const uint8_t *reply,
		    size_t rlen)
{
	size_t qsec = qlen - DNS_HEADER_LEN, off = DNS_HEADER_LEN;

	if (qlen <= DNS_HEADER_LEN || rlen < DNS_HEADER_LEN)
		return -EBADMSG;
	if (reply[0] != query[0] || reply[1] != query[1] || !(reply[2] & DNS_FLAG_QR))
		return -EBADMSG;
	/* A truncated reply still carries the RCODE; the check only needs it. */
	if (reply[4] != 0 || reply[5] != 1)
		return -EBADMSG;        /* QDCOUNT must be 1 */
	if (rlen < DNS_HEADER_LEN + qsec)
		return -EBADMSG;
	/* The question, label by label: lengths exactly, bytes without case
	 * (a server may echo 0x20-randomised case). A compression pointer
	 * never matches a length byte of ours (they are at most 63). */
	while (off < qlen) {
		uint8_t l = query[off];

		if (reply[off] != l)
			return -EBADMSG;
		off++;
		if (l == 0)
			break;
		for (uint8_t i = 0; i < l; i++, off++)
			if (lower(reply[off]) != lower(query[off]))
				return -EBADMSG;
	}
	if (off + 4 != qlen || memcmp(reply + off, query + off, 4))
		return -EBADMSG;        /* type and class */
	return reply[3] & 0x0f;
}

const char *dns_rcode_str(int rcode, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
					     "NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		snprintf(buf, len, "%s", names[rcode]);
	else
		snprintf(buf, len, "RCODE%d", rcode);
	return buf;
}
