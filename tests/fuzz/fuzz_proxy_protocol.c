// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer harness for the PROXY v1/v2 header parser (accept_proxy reads
 * it from any client): it never reads past the input, a header it accepts
 * is no longer than the input, every shorter prefix asks for more bytes,
 * and the addresses it returns encode and decode to themselves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "proxy_protocol.h"

static int same(const union inet_sockaddr *a, const union inet_sockaddr *b)
{
	size_t n = a->sa.sa_family == AF_INET ? sizeof(struct sockaddr_in) :
						 sizeof(struct sockaddr_in6);

	return a->sa.sa_family == b->sa.sa_family && !memcmp(a, b, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_info pi, pj;
	uint8_t buf[PP_MAX];
	uint8_t *copy;
	int r, n;

	/* An exact-size copy so ASan catches any read past the input. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	r = pp_decode(copy, size, &pi);
	if (r > (int)size)
		abort();
	if (r > 0) {
		for (int k = 0; k < r; k++)
			if (pp_decode(copy, (size_t)k, &pj) != 0)
				abort();
		if (!pi.local) {
			n = pp_encode_v1((char *)buf, sizeof(buf), &pi.src.sa, &pi.dst.sa);
			if (n <= 0 || pp_decode(buf, (size_t)n, &pj) != n ||
			    !same(&pi.src, &pj.src) || !same(&pi.dst, &pj.dst))
				abort();
			n = pp_encode_v2(buf, sizeof(buf), &pi.src.sa, &pi.dst.sa);
			if (n <= 0 || pp_decode(buf, (size_t)n, &pj) != n ||
			    !same(&pi.src, &pj.src) || !same(&pi.dst, &pj.dst))
				abort();
		}
	}
	free(copy);
	return 0;
}
