/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* PROXY protocol v1 (text) and v2 (binary) headers, as specified in
 * HAProxy's doc/proxy-protocol.txt: encoding for send_proxy, decoding for
 * accept_proxy. Pure functions on buffers, no I/O. */
#ifndef XLB_PROXY_PROTOCOL_H
#define XLB_PROXY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"

#define PP_V1_MAX   107         /* "PROXY TCP6 <39> <39> 65535 65535\r\n" */
#define PP_V2_HDR   16          /* signature, ver/cmd, fam, len */
#define PP_V2_MAX   (PP_V2_HDR + 4096)  /* we refuse bigger TLV blocks */
#define PP_MAX      PP_V2_MAX

struct pp_info {
	int local;                      /* 1: LOCAL / UNKNOWN, no addresses */
	union inet_sockaddr src, dst;
};

/* Write a header for a TCP connection from src to dst (both AF_INET or both
 * AF_INET6; mixed or other families give "UNKNOWN" / LOCAL). Returns its
 * length, or -ENOSPC when buf is too small (PP_V1_MAX / PP_V2_HDR + 36
 * always fit). */
int pp_encode_v1(char *buf, size_t len, const struct sockaddr *src,
		 const struct sockaddr *dst);
int pp_encode_v2(uint8_t *buf, size_t len, const struct sockaddr *src,
		 const struct sockaddr *dst);

/* Parse a v1 or v2 header at the start of buf. Returns the header length
 * (> 0) with *out filled, 0 when buf holds a valid prefix and more bytes
 * are needed, or -EINVAL when it is not a valid header (and no number of
 * further bytes could make it one). */
int pp_decode(const uint8_t *buf, size_t len, struct pp_info *out);

#endif /* XLB_PROXY_PROTOCOL_H */
