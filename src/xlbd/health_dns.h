/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The DNS messages of the dns health check: a query builder and a reply
 * checker. Replies come from the network: every length is checked. */
#ifndef XLB_HEALTH_DNS_H
#define XLB_HEALTH_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_QUERY_MAX  (DNS_HEADER_LEN + 256 + 4)

/* Write a query for (name, qtype, class IN) with recursion desired into buf.
 * name is a dotted name, with or without the final dot ("." is the root).
 * Returns the message length, or -EINVAL (bad name) / -ENOSPC. */
int dns_build_query(uint8_t *buf, size_t len, uint16_t id, const char *name,
		    uint16_t qtype);

/* Check that reply answers query (same id, QR set, the same question,
 * names compared case-insensitively). Returns the reply's RCODE (0 is
 * NOERROR), or -EBADMSG when it is malformed or answers something else. */
int dns_check_reply(const uint8_t *query, size_t qlen, const uint8_t *reply,
		    size_t rlen);

/* "NOERROR", "SERVFAIL", ... or "RCODE<n>" written into buf. */
const char *dns_rcode_str(int rcode, char *buf, size_t len);

#endif /* XLB_HEALTH_DNS_H */
