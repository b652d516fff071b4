/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Parsing and printing of the address forms users type: ADDR, ADDR:PORT,
 * [ADDR6]:PORT, PREFIX/LEN and service names PROTO/VIP:PORT. */
#ifndef XLB_ADDR_H
#define XLB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "xlb_abi.h"

/* An AF_INET or AF_INET6 socket address, as accept(), recvmsg() and a
 * PROXY header give it: 28 bytes where a sockaddr_storage takes 128, which
 * counts in what the proxy keeps per connection. */
union inet_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* An address with an optional port, in network byte order. */
struct xlb_sockaddr {
	uint8_t family;                 /* XLB_AF_INET / XLB_AF_INET6 */
	union xlb_addr addr;
	uint16_t port;                  /* host order; 0 = none given */
};

struct xlb_prefix {
	uint8_t family;                 /* 0 = unset */
	union xlb_addr addr;
	uint8_t plen;
};

#define XLB_ADDRSTR_MAX 64      /* "[ffff:...:ffff]:65535" fits */

/* Parse "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]:80".
 * port_rule: ADDR_PORT_OPTIONAL, ADDR_PORT_REQUIRED or ADDR_PORT_FORBIDDEN.
 * Returns 0 or -EINVAL with a reason in err ("port 70000 out of range"). */
enum { ADDR_PORT_OPTIONAL, ADDR_PORT_REQUIRED, ADDR_PORT_FORBIDDEN };
int addr_parse(const char *s, int port_rule, struct xlb_sockaddr *out,
	       char *err, size_t errlen);
/* "198.18.0.0/24", "2001:db8::/64"; a bare address means a full-length prefix. */
int prefix_parse(const char *s, struct xlb_prefix *out, char *err, size_t errlen);
/* A persistence netmask (ipvsadm -M): a prefix length "24" (1-128) or an
 * IPv4 netmask "255.255.255.0" (contiguous). *plen gets the length. Whether
 * it fits the service's family is the caller's check. */
int netmask_parse(const char *s, uint8_t *plen, char *err, size_t errlen);
/* "tcp/198.18.0.100:80", "udp/[2001:db8::100]:53"; port 0 or "*" = all ports. */
int service_name_parse(const char *s, uint8_t *proto, struct xlb_sockaddr *vip,
		       char *err, size_t errlen);

/* Why a cannot be a VIP (unspecified, loopback, multicast, broadcast or
 * reserved: a VIP is a unicast address packets can be sent to), or NULL
 * when it can. local_ok: loopback is fine (a proxy-mode listener serves
 * local clients; packet modes never see loopback traffic). */
const char *addr_vip_problem(const struct xlb_sockaddr *a, bool local_ok);

/* Printing: "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]:80" (port printed only
 * when non-zero). Return buf. */
char *addr_str(const struct xlb_sockaddr *a, char *buf, size_t len);
char *addr_str_noport(const struct xlb_sockaddr *a, char *buf, size_t len);
char *prefix_str(const struct xlb_prefix *p, char *buf, size_t len);
/* "tcp/198.18.0.100:80" */
char *service_name_str(uint8_t proto, const struct xlb_sockaddr *vip,
			char *buf, size_t len);

/* a as the socket address of connect()/bind(); returns its length. */
socklen_t addr_to_sockaddr(const struct xlb_sockaddr *a, union inet_sockaddr *sa);

/* The address and port of an AF_INET or AF_INET6 socket address (family 0
 * for any other). */
void addr_from_sockaddr(const struct sockaddr *sa, struct xlb_sockaddr *a);

bool addr_equal(const struct xlb_sockaddr *a, const struct xlb_sockaddr *b);
bool addr_equal_noport(const struct xlb_sockaddr *a, const struct xlb_sockaddr *b);

#endif /* XLB_ADDR_H */
