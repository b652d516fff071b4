// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of address, prefix and service-name parsing and printing. */
#include <errno.h>
#include <netinet/in.h>

#include "addr.h"
#include "unit.h"

/* CHECK without a message trips -Wformat-zero-length in unit.h. */
#define EXPECT(cond) CHECK(cond, " ")

/* Parse s and print it back: the result must be `back` (NULL: same as s). */
static void ok(const char *s, int rule, uint8_t family, uint16_t port,
	       const char *back)
{
	struct xlb_sockaddr a, b;
	char err[256] = "", buf[XLB_ADDRSTR_MAX];

	CHECK(addr_parse(s, rule, &a, err, sizeof(err)) == 0, "'%s': %s", s, err);
	CHECK(a.family == family, "'%s': family %u", s, a.family);
	CHECK(a.port == port, "'%s': port %u", s, a.port);
	addr_str(&a, buf, sizeof(buf));
	CHECK(strcmp(buf, back ? back : s) == 0, "'%s' printed as '%s'", s, buf);
	CHECK(addr_parse(buf, ADDR_PORT_OPTIONAL, &b, err, sizeof(err)) == 0 &&
	      addr_equal(&a, &b), "'%s' does not parse back", buf);
}

static void bad(const char *s, int rule, const char *msg)
{
	struct xlb_sockaddr a = { .port = 4242 };
	char err[256] = "";

	CHECK(addr_parse(s, rule, &a, err, sizeof(err)) == -EINVAL, "'%s' accepted", s);
	CHECK(strcmp(err, msg) == 0, "'%s': got \"%s\", expected \"%s\"", s, err, msg);
	CHECK(a.port == 4242, "'%s': output changed on error", s);
}

static void test_addr_valid(void)
{
	ok("1.2.3.4", ADDR_PORT_OPTIONAL, XLB_AF_INET, 0, NULL);
	ok("1.2.3.4:80", ADDR_PORT_OPTIONAL, XLB_AF_INET, 80, NULL);
	ok("1.2.3.4:65535", ADDR_PORT_REQUIRED, XLB_AF_INET, 65535, NULL);
	ok("198.18.0.100", ADDR_PORT_FORBIDDEN, XLB_AF_INET, 0, NULL);
	ok("2001:db8::1", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, NULL);
	ok("[2001:db8::1]:53", ADDR_PORT_REQUIRED, XLB_AF_INET6, 53, NULL);
	ok("[2001:db8::1]", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, "2001:db8::1");
	ok("2001:DB8:0:0:0:0:0:1", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, "2001:db8::1");
	ok("::", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, NULL);
	ok("::ffff:1.2.3.4", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, NULL);
	/* Without brackets, a last group that could be a port is an error
	 * where a port may follow; where none may, it is the address's. */
	bad("2001:db8::1:80", ADDR_PORT_OPTIONAL,
	    "'2001:db8::1:80' is ambiguous: write [ADDR]:PORT for an IPv6 address "
	    "with a port, or [2001:db8::1:80] for the address alone");
	ok("2001:db8::1:80", ADDR_PORT_FORBIDDEN, XLB_AF_INET6, 0, "[2001:db8::1:80]");
	ok("[2001:db8::1:80]", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, NULL);
	ok("2001:db8::53", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, NULL);
	ok("1:2:3:4:5:6:7:8", ADDR_PORT_OPTIONAL, XLB_AF_INET6, 0, NULL);
}

/* A VIP is a unicast address clients can reach. */
static void test_vip(void)
{
	static const struct { const char *s; const char *problem; } cases[] = {
		{ "198.18.0.100", NULL }, { "2001:db8::100", NULL },
		{ "0.0.0.0", "the unspecified address" },
		{ "255.255.255.255", "the broadcast address" },
		{ "127.0.0.1", "a loopback address" },
		{ "224.0.0.1", "a multicast address" },
		{ "240.0.0.1", "a reserved address" },
		{ "::", "the unspecified address" },
		{ "::1", "the loopback address" },
		{ "ff02::1", "a multicast address" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xlb_sockaddr a;
		char err[128];
		const char *p;

		CHECK(addr_parse(cases[i].s, ADDR_PORT_FORBIDDEN, &a, err, sizeof(err)) == 0,
		      "%s: %s", cases[i].s, err);
		p = addr_vip_problem(&a, false);
		CHECK(cases[i].problem ? p && !strcmp(p, cases[i].problem) : !p,
		      "%s: got '%s', expected '%s'", cases[i].s, p ? p : "(none)",
		      cases[i].problem ? cases[i].problem : "(none)");
	}
}

/* A proxy-mode listener serves local clients too: loopback is fine there. */
static void test_vip_proxy(void)
{
	struct xlb_sockaddr a;
	char err[64];

	CHECK(addr_parse("127.0.0.1", ADDR_PORT_FORBIDDEN, &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(!addr_vip_problem(&a, true), "127.0.0.1 refused for a proxy");
	CHECK(addr_parse("224.0.0.1", ADDR_PORT_FORBIDDEN, &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(addr_vip_problem(&a, true), "224.0.0.1 accepted for a proxy");
}

static void test_addr_invalid(void)
{
	bad("1.2.3.4:99999", ADDR_PORT_OPTIONAL,
	    "'1.2.3.4:99999': port out of range (1-65535)");
	bad("1.2.3.4:0", ADDR_PORT_OPTIONAL, "'1.2.3.4:0': port out of range (1-65535)");
	bad("1.2.3.4:http", ADDR_PORT_OPTIONAL,
	    "'1.2.3.4:http': 'http' is not a port number");
	bad("1.2.3.4:", ADDR_PORT_OPTIONAL, "'1.2.3.4:': '' is not a port number");
	bad("1.2.3.4", ADDR_PORT_REQUIRED, "'1.2.3.4': missing port");
	bad("2001:db8::1", ADDR_PORT_REQUIRED,
	    "'2001:db8::1': missing port (an IPv6 address with a port is written [ADDR]:PORT)");
	bad("1.2.3.4:80", ADDR_PORT_FORBIDDEN, "'1.2.3.4:80': a port is not allowed here");
	bad("abc", ADDR_PORT_OPTIONAL, "'abc' is not an IP address");
	bad("1.2.3", ADDR_PORT_OPTIONAL, "'1.2.3' is not an IP address");
	bad("1.2.3.256", ADDR_PORT_OPTIONAL, "'1.2.3.256' is not an IP address");
	bad("abc:80", ADDR_PORT_OPTIONAL, "'abc:80': 'abc' is not an IP address");
	bad("", ADDR_PORT_OPTIONAL, "'': empty address");
	bad("[1.2.3.4]:80", ADDR_PORT_OPTIONAL,
	    "'[1.2.3.4]:80': '1.2.3.4' is not an IPv6 address");
	bad("[2001:db8::1:80", ADDR_PORT_OPTIONAL, "'[2001:db8::1:80': missing ']'");
	bad("[2001:db8::1]80", ADDR_PORT_OPTIONAL,
	    "'[2001:db8::1]80': unexpected text after ']'");
	bad("[2001:db8::1]:70000", ADDR_PORT_OPTIONAL,
	    "'[2001:db8::1]:70000': port out of range (1-65535)");
	bad(" 1.2.3.4", ADDR_PORT_OPTIONAL, "' 1.2.3.4' is not an IP address");
}

static void test_addr_equal(void)
{
	struct xlb_sockaddr a, b, c, d;
	char err[128];

	EXPECT(addr_parse("10.0.0.1:80", ADDR_PORT_OPTIONAL, &a, err, sizeof(err)) == 0);
	EXPECT(addr_parse("10.0.0.1:81", ADDR_PORT_OPTIONAL, &b, err, sizeof(err)) == 0);
	EXPECT(addr_parse("::a00:1", ADDR_PORT_FORBIDDEN, &c, err, sizeof(err)) == 0);
	EXPECT(addr_parse("10.0.0.1:80", ADDR_PORT_OPTIONAL, &d, err, sizeof(err)) == 0);
	EXPECT(addr_equal(&a, &d));
	EXPECT(!addr_equal(&a, &b));
	EXPECT(addr_equal_noport(&a, &b));
	EXPECT(!addr_equal_noport(&a, &c));
	/* The unused 12 bytes of an IPv4 address are zero, so keys hash alike. */
	for (int i = 4; i < 16; i++)
		EXPECT(a.addr.b[i] == 0);
	EXPECT(addr_str_noport(&a, err, sizeof(err)) == err && strcmp(err, "10.0.0.1") == 0);
}

static void prefix_ok(const char *s, uint8_t family, uint8_t plen, const char *back)
{
	struct xlb_prefix p;
	char err[256] = "", buf[XLB_ADDRSTR_MAX];

	CHECK(prefix_parse(s, &p, err, sizeof(err)) == 0, "'%s': %s", s, err);
	CHECK(p.family == family && p.plen == plen, "'%s': %u/%u", s, p.family, p.plen);
	prefix_str(&p, buf, sizeof(buf));
	CHECK(strcmp(buf, back ? back : s) == 0, "'%s' printed as '%s'", s, buf);
}

static void prefix_bad(const char *s, const char *msg)
{
	struct xlb_prefix p;
	char err[256] = "";

	CHECK(prefix_parse(s, &p, err, sizeof(err)) == -EINVAL, "'%s' accepted", s);
	CHECK(strcmp(err, msg) == 0, "'%s': got \"%s\"", s, err);
}

static void test_prefix(void)
{
	prefix_ok("198.18.1.0/24", XLB_AF_INET, 24, NULL);
	prefix_ok("198.18.1.7", XLB_AF_INET, 32, NULL);
	prefix_ok("198.18.1.7/32", XLB_AF_INET, 32, "198.18.1.7");
	prefix_ok("0.0.0.0/0", XLB_AF_INET, 0, NULL);
	prefix_ok("2001:db8:1::/64", XLB_AF_INET6, 64, NULL);
	prefix_ok("2001:db8::5", XLB_AF_INET6, 128, NULL);
	prefix_bad("198.18.1.0/33", "'198.18.1.0/33': prefix length out of range (0-32)");
	prefix_bad("2001:db8::/129", "'2001:db8::/129': prefix length out of range (0-128)");
	prefix_bad("198.18.1.0/", "'198.18.1.0/': missing prefix length");
	prefix_bad("198.18.1.0/x", "'198.18.1.0/x': 'x' is not a prefix length");
	prefix_bad("eth0/24", "'eth0/24': 'eth0' is not an IP address");
}

static void svc_ok(const char *s, uint8_t proto, uint8_t family, uint16_t port,
		   const char *back)
{
	struct xlb_sockaddr v;
	uint8_t p = 0;
	char err[256] = "", buf[XLB_ADDRSTR_MAX + 8];

	CHECK(service_name_parse(s, &p, &v, err, sizeof(err)) == 0, "'%s': %s", s, err);
	CHECK(p == proto && v.family == family && v.port == port, "'%s'", s);
	service_name_str(p, &v, buf, sizeof(buf));
	CHECK(strcmp(buf, back ? back : s) == 0, "'%s' printed as '%s'", s, buf);
}

static void svc_bad(const char *s, const char *msg)
{
	struct xlb_sockaddr v;
	uint8_t p;
	char err[256] = "";

	CHECK(service_name_parse(s, &p, &v, err, sizeof(err)) == -EINVAL, "'%s' accepted", s);
	CHECK(strcmp(err, msg) == 0, "'%s': got \"%s\"", s, err);
}

static void test_service_name(void)
{
	svc_ok("tcp/198.18.0.100:80", IPPROTO_TCP, XLB_AF_INET, 80, NULL);
	svc_ok("udp/[2001:db8::100]:53", IPPROTO_UDP, XLB_AF_INET6, 53, NULL);
	svc_ok("tcp/198.18.0.100:*", IPPROTO_TCP, XLB_AF_INET, 0, NULL);
	svc_ok("tcp/198.18.0.100:0", IPPROTO_TCP, XLB_AF_INET, 0, "tcp/198.18.0.100:*");
	svc_ok("udp/[2001:db8::100]:*", IPPROTO_UDP, XLB_AF_INET6, 0, NULL);
	svc_bad("tcp/1.2.3.4", "'tcp/1.2.3.4': missing port");
	svc_bad("sctp/1.2.3.4:80", "'sctp/1.2.3.4:80': unknown protocol 'sctp' (expected tcp or udp)");
	svc_bad("1.2.3.4:80",
		"'1.2.3.4:80': expected PROTO/VIP:PORT (e.g. tcp/198.18.0.100:80)");
	svc_bad("tcp/1.2.3.4:99999", "'tcp/1.2.3.4:99999': port out of range (0-65535)");
	svc_bad("udp/2001:db8::1", "'udp/2001:db8::1': missing port (an IPv6 address "
		"with a port is written [ADDR]:PORT)");
	svc_bad("tcp/foo:80", "'tcp/foo:80': 'foo' is not an IP address");
	svc_bad("TCP/1.2.3.4:80", "'TCP/1.2.3.4:80': unknown protocol 'TCP' (expected tcp or udp)");
}

int main(void)
{
	RUN(test_addr_valid);
	RUN(test_addr_invalid);
	RUN(test_addr_equal);
	RUN(test_prefix);
	RUN(test_service_name);
	RUN(test_vip);
	RUN(test_vip_proxy);
	UNIT_SUMMARY();
}
