// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Parsing and printing of ADDR, ADDR:PORT, [ADDR6]:PORT, PREFIX/LEN and
 * PROTO/VIP:PORT, with errors that quote what the user typed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* Longest text we accept as one address; anything longer cannot be valid
 * and would only make error messages unreadable. */
#define ADDR_IN_MAX 128

static int fail(char *err, size_t errlen, const char *fmt, const char *s,
		const char *extra)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, s, extra);
	return -EINVAL;
}

/* Parse a decimal port. allow_zero also accepts "0" and "*" (all ports).
 * Returns the port or -1. */
static long port_parse(const char *p, int allow_zero)
{
	long v = 0;

	if (allow_zero && strcmp(p, "*") == 0)
		return 0;
	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return 65536;   /* out of range, reported as such */
	}
	if (v == 0 && !allow_zero)
		return 65536;
	return v;
}

static int ip_parse(const char *s, uint8_t *family, union xlb_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1) {
		*family = XLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr->b) == 1) {
		*family = XLB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* A bare IPv6 address whose last group could be a port: what comes before
 * that group is an address too ("2001:db8::11:53" may be 2001:db8::11 port
 * 53). */
static bool v6_port_ambiguous(const char *s)
{
	const char *last = strrchr(s, ':');
	char head[ADDR_IN_MAX];
	union xlb_addr a;
	uint8_t family;
	size_t n;

	if (!last || strspn(last + 1, "0123456789") != strlen(last + 1) ||
	    !last[1] || strlen(last + 1) > 5 || last == s || last[-1] == ':')
		return false;
	n = (size_t)(last - s);
	if (n >= sizeof(head))
		return false;
	memcpy(head, s, n);
	head[n] = 0;
	return ip_parse(head, &family, &a) == 0 && family == XLB_AF_INET6;
}

/* "[ADDR6]" or "[ADDR6]:PORT" in @buf (cut in place): the address into @a,
 * the port text (if any) into *@port. */
static int split_bracketed(char *buf, const char *whole, struct xlb_sockaddr *a,
			   const char **port, char *err, size_t errlen)
{
	char *close = strchr(buf, ']');
	const char *host = buf + 1;

	if (!close)
		return fail(err, errlen, "'%s': missing ']'%s", whole, "");
	*close = '\0';
	if (close[1] == ':')
		*port = close + 2;
	else if (close[1] != '\0')
		return fail(err, errlen,
			    "'%s': unexpected text after ']'%s", whole, "");
	if (ip_parse(host, &a->family, &a->addr) < 0 || a->family != XLB_AF_INET6)
		return fail(err, errlen,
			    "'%s': '%s' is not an IPv6 address", whole, host);
	return 0;
}

/* "ADDR4", "ADDR4:PORT" or a bare IPv6 address in @buf (cut in place). */
static int split_plain(char *buf, const char *whole, int port_rule,
		       struct xlb_sockaddr *a, const char **port,
		       char *err, size_t errlen)
{
	char *colon = strchr(buf, ':');

	/* One colon is ADDR4:PORT; more is an IPv6 address, which needs
	 * brackets to carry a port. */
	if (colon && !strchr(colon + 1, ':')) {
		*colon = '\0';
		*port = colon + 1;
	}
	if (ip_parse(buf, &a->family, &a->addr) < 0) {
		if (*port)
			return fail(err, errlen, "'%s': '%s' is not an IP address",
				    whole, buf);
		return fail(err, errlen, "'%s' is not an IP address%s", whole, "");
	}
	if (port_rule == ADDR_PORT_OPTIONAL && v6_port_ambiguous(buf))
		return fail(err, errlen, "'%s' is ambiguous: write [ADDR]:PORT "
			    "for an IPv6 address with a port, or [%s] for the "
			    "address alone", whole, buf);
	return 0;
}

/* The port text (NULL: none given) into @a under @port_rule. */
static int apply_port(const char *port, const char *whole, int port_rule,
		      int allow_zero, struct xlb_sockaddr *a, char *err,
		      size_t errlen)
{
	long pv;

	if (port) {
		if (port_rule == ADDR_PORT_FORBIDDEN)
			return fail(err, errlen, "'%s': a port is not allowed here%s",
				    whole, "");
		pv = port_parse(port, allow_zero);
		if (pv < 0)
			return fail(err, errlen, "'%s': '%s' is not a port number",
				    whole, port);
		if (pv > 65535)
			return fail(err, errlen, "'%s': port out of range (%s-65535)",
				    whole, allow_zero ? "0" : "1");
		a->port = (uint16_t)pv;
	} else if (port_rule == ADDR_PORT_REQUIRED) {
		return fail(err, errlen, "'%s': missing port%s", whole,
			    a->family == XLB_AF_INET6 ?
			    " (an IPv6 address with a port is written [ADDR]:PORT)" : "");
	}
	return 0;
}

/* The body of addr_parse and service_name_parse: `whole` is the text quoted
 * in errors, which for a service name includes the protocol. */
static int addr_parse_in(const char *s, const char *whole, int port_rule,
			 int allow_zero, struct xlb_sockaddr *out,
			 char *err, size_t errlen)
{
	char buf[ADDR_IN_MAX];
	const char *port = NULL;
	struct xlb_sockaddr a = { 0 };
	size_t len = strlen(s);
	int ret;

	if (len == 0)
		return fail(err, errlen, "'%s': empty address%s", whole, "");
	if (len >= sizeof(buf))
		return fail(err, errlen, "'%.40s...': address too long%s", whole, "");
	memcpy(buf, s, len + 1);
	if (buf[0] == '[')
		ret = split_bracketed(buf, whole, &a, &port, err, errlen);
	else
		ret = split_plain(buf, whole, port_rule, &a, &port, err, errlen);
	if (ret)
		return ret;
	ret = apply_port(port, whole, port_rule, allow_zero, &a, err, errlen);
	if (ret)
		return ret;
	*out = a;
	return 0;
}

int addr_parse(const char *s, int port_rule, struct xlb_sockaddr *out,
	       char *err, size_t errlen)
{
	return addr_parse_in(s, s, port_rule, 0, out, err, errlen);
}

const char *addr_vip_problem(const struct xlb_sockaddr *a, bool local_ok)
{
	const uint8_t *b = (const uint8_t *)&a->addr;
	static const uint8_t zero[16];

	if (a->family == XLB_AF_INET) {
		uint32_t v = ntohl(a->addr.v4);

		if (v == 0)
			return "the unspecified address";
		if (v == 0xffffffffu)
			return "the broadcast address";
		if ((v >> 24) == 127 && !local_ok)
			return "a loopback address";
		if ((v >> 28) == 0xe)
			return "a multicast address";
		if ((v >> 28) == 0xf || (v >> 24) == 0)
			return "a reserved address";
		return NULL;
	}
	if (!memcmp(b, zero, 16))
		return "the unspecified address";
	if (!memcmp(b, zero, 15) && b[15] == 1 && !local_ok)
		return "the loopback address";
	if (b[0] == 0xff)
		return "a multicast address";
	return NULL;
}

int prefix_parse(const char *s, struct xlb_prefix *out, char *err, size_t errlen)
{
	char buf[ADDR_IN_MAX];
	struct xlb_prefix p = { 0 };
	char *slash;
	size_t len = strlen(s);
	unsigned max;
	long v = 0;

	if (len == 0)
		return fail(err, errlen, "'%s': empty prefix%s", s, "");
	if (len >= sizeof(buf))
		return fail(err, errlen, "'%.40s...': prefix too long%s", s, "");
	memcpy(buf, s, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (ip_parse(buf, &p.family, &p.addr) < 0)
		return fail(err, errlen, "'%s': '%s' is not an IP address", s, buf);
	max = p.family == XLB_AF_INET ? 32 : 128;
	p.plen = (uint8_t)max;
	if (slash) {
		const char *q = slash + 1;

		if (!*q)
			return fail(err, errlen, "'%s': missing prefix length%s", s, "");
		for (; *q; q++) {
			if (*q < '0' || *q > '9')
				return fail(err, errlen,
					    "'%s': '%s' is not a prefix length",
					    s, slash + 1);
			v = v * 10 + (*q - '0');
			if (v > 128)
				break;
		}
		if (v > (long)max)
			return fail(err, errlen, "'%s': prefix length out of range (0-%s)",
				    s, max == 32 ? "32" : "128");
		p.plen = (uint8_t)v;
	}
	*out = p;
	return 0;
}

int netmask_parse(const char *s, uint8_t *plen, char *err, size_t errlen)
{
	struct in_addr m;
	uint32_t h;
	char *end;
	long v;

	if (strchr(s, '.')) {
		if (inet_pton(AF_INET, s, &m) != 1)
			return fail(err, errlen, "'%s' is not a netmask%s", s, "");
		h = ntohl(m.s_addr);
		/* Contiguous: the ones, then only zeros. */
		if (!h || (~h & (~h + 1)))
			return fail(err, errlen, "'%s' is not a contiguous netmask "
				    "(like 255.255.255.0)%s", s, "");
		*plen = (uint8_t)__builtin_popcount(h);
		return 0;
	}
	v = (*s >= '0' && *s <= '9') ? strtol(s, &end, 10) : -1;
	if (v < 1 || v > 128 || *end)
		return fail(err, errlen, "'%s' is not a netmask (a prefix length "
			    "1-128 or an IPv4 mask like 255.255.255.0)%s", s, "");
	*plen = (uint8_t)v;
	return 0;
}

int service_name_parse(const char *s, uint8_t *proto, struct xlb_sockaddr *vip,
		       char *err, size_t errlen)
{
	const char *slash = strchr(s, '/');
	char pname[16];
	size_t plen;

	if (!slash)
		return fail(err, errlen,
			    "'%s': expected PROTO/VIP:PORT (e.g. tcp/198.18.0.100:80)%s",
			    s, "");
	plen = (size_t)(slash - s);
	if (plen >= sizeof(pname))
		plen = sizeof(pname) - 1;
	memcpy(pname, s, plen);
	pname[plen] = '\0';
	if (strcmp(pname, "tcp") == 0)
		*proto = IPPROTO_TCP;
	else if (strcmp(pname, "udp") == 0)
		*proto = IPPROTO_UDP;
	else
		return fail(err, errlen,
			    "'%s': unknown protocol '%s' (expected tcp or udp)",
			    s, pname);
	return addr_parse_in(slash + 1, s, ADDR_PORT_REQUIRED, 1, vip, err, errlen);
}

char *addr_str_noport(const struct xlb_sockaddr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (a->family == XLB_AF_INET)
		inet_ntop(AF_INET, &a->addr.v4, tmp, sizeof(tmp));
	else if (a->family == XLB_AF_INET6)
		inet_ntop(AF_INET6, a->addr.b, tmp, sizeof(tmp));
	else
		strcpy(tmp, "?");
	snprintf(buf, len, "%s", tmp);
	return buf;
}

char *addr_str(const struct xlb_sockaddr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	addr_str_noport(a, tmp, sizeof(tmp));
	/* Brackets where the last group could be read as a port, so what is
	 * printed parses back (addr_parse, ADDR_PORT_OPTIONAL). */
	if (!a->port && a->family == XLB_AF_INET6 && v6_port_ambiguous(tmp))
		snprintf(buf, len, "[%s]", tmp);
	else if (!a->port)
		snprintf(buf, len, "%s", tmp);
	else if (a->family == XLB_AF_INET6)
		snprintf(buf, len, "[%s]:%u", tmp, a->port);
	else
		snprintf(buf, len, "%s:%u", tmp, a->port);
	return buf;
}

char *prefix_str(const struct xlb_prefix *p, char *buf, size_t len)
{
	struct xlb_sockaddr a = { .family = p->family, .addr = p->addr };
	char tmp[INET6_ADDRSTRLEN];
	unsigned max = p->family == XLB_AF_INET ? 32 : 128;

	addr_str_noport(&a, tmp, sizeof(tmp));
	/* A full-length prefix is just an address; print it the way users
	 * write it. */
	if (p->plen == max)
		snprintf(buf, len, "%s", tmp);
	else
		snprintf(buf, len, "%s/%u", tmp, p->plen);
	return buf;
}

char *service_name_str(uint8_t proto, const struct xlb_sockaddr *vip,
			char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	const char *pn = proto == IPPROTO_TCP ? "tcp" :
			 proto == IPPROTO_UDP ? "udp" : "?";

	addr_str_noport(vip, tmp, sizeof(tmp));
	/* Always print a port so the name parses back; "*" is every port. */
	if (vip->family == XLB_AF_INET6) {
		if (vip->port)
			snprintf(buf, len, "%s/[%s]:%u", pn, tmp, vip->port);
		else
			snprintf(buf, len, "%s/[%s]:*", pn, tmp);
	} else {
		if (vip->port)
			snprintf(buf, len, "%s/%s:%u", pn, tmp, vip->port);
		else
			snprintf(buf, len, "%s/%s:*", pn, tmp);
	}
	return buf;
}

bool addr_equal_noport(const struct xlb_sockaddr *a, const struct xlb_sockaddr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == XLB_AF_INET)
		return a->addr.v4 == b->addr.v4;
	return memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b)) == 0;
}

bool addr_equal(const struct xlb_sockaddr *a, const struct xlb_sockaddr *b)
{
	return a->port == b->port && addr_equal_noport(a, b);
}

void addr_from_sockaddr(const struct sockaddr *sa, struct xlb_sockaddr *a)
{
	const union inet_sockaddr *u = (const union inet_sockaddr *)sa;

	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->family = XLB_AF_INET;
		a->addr.v4 = u->in.sin_addr.s_addr;
		a->port = ntohs(u->in.sin_port);
	} else if (sa->sa_family == AF_INET6) {
		a->family = XLB_AF_INET6;
		memcpy(a->addr.b, &u->in6.sin6_addr, 16);
		a->port = ntohs(u->in6.sin6_port);
	}
}

socklen_t addr_to_sockaddr(const struct xlb_sockaddr *a, union inet_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (a->family == XLB_AF_INET) {
		sa->in.sin_family = AF_INET;
		sa->in.sin_addr.s_addr = a->addr.v4;
		sa->in.sin_port = htons(a->port);
		return sizeof(sa->in);
	}
	sa->in6.sin6_family = AF_INET6;
	memcpy(&sa->in6.sin6_addr, a->addr.b, 16);
	sa->in6.sin6_port = htons(a->port);
	return sizeof(sa->in6);
}
