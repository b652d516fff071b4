// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer harness for the dns health check's reply checker (replies come
 * from the network): the first byte picks a query name, the rest is the
 * reply. It never reads past the reply, and a reply it accepts carries the
 * query's id and question. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "example.org", ".", "who.xlb.test",
					     "a.b.c.d.e.f.g" };
	uint8_t q[DNS_QUERY_MAX], *copy;
	int qlen, r;

	if (size < 1)
		return 0;
	qlen = dns_build_query(q, sizeof(q), 0x4242, names[data[0] % 4],
			       (uint16_t)(1 + data[0] / 4));
	if (qlen <= 0)
		abort();
	/* An exact-size copy so ASan catches any read past the reply. */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	r = dns_check_reply(q, (size_t)qlen, copy, size - 1);
	if (r != -EBADMSG && (r < 0 || r > 15 || size - 1 < (size_t)qlen ||
			      copy[0] != 0x42 || copy[1] != 0x42))
		abort();
	free(copy);
	return 0;
}
