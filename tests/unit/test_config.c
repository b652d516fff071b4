// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the YAML config: valid files, every error with its exact
 * text and position, validation, copy/lookup, and emit/parse round trips. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "config.h"
#include "unit.h"

/* CHECK without a message trips -Wformat-zero-length in unit.h. */
#define EXPECT(cond) CHECK(cond, " ")

static int parse(const char *yaml, struct xlb_config *c, char *err, size_t errlen)
{
	return config_parse_buf(yaml, strlen(yaml), "xlb.yaml", c, err, errlen);
}

/* The example of DESIGN.md, verbatim. */
static const char design_example[] =
	"interfaces: [eth0]               # where the XDP program attaches\n"
	"local_addresses: [198.18.0.2]    # fullnat source pool (LIPs)\n"
	"services:\n"
	"  - name: dns\n"
	"    vip: 198.18.0.100\n"
	"    port: 53\n"
	"    protocol: udp                # tcp | udp\n"
	"    mode: dr                     # proxy | nat | fullnat | dr | tun\n"
	"    scheduler: maglev            # maglev | rr | wrr | lc | wlc | sh\n"
	"    health_check: { type: dns, query: example.org, interval: 1s, timeout: 500ms, rise: 2, fall: 3 }\n"
	"    backends:\n"
	"      - { address: 198.18.0.11, weight: 100 }\n"
	"      - { address: 198.18.0.12, weight: 100 }\n";

static const char full_example[] =
	"instance: lb-1\n"
	"interfaces: [eth0, \"eth1.100\"]\n"
	"local_addresses:\n"
	"  - 198.18.0.2\n"
	"  - 2001:db8::2\n"
	"manage_addresses: false\n"
	"flow_table_size: 65536\n"
	"flood_guard_rate: 0\n"
	"syn_proxy: false\n"
	"maglev_table_size: 1009\n"
	"tunnel_source_v4: 198.18.1.0/24\n"
	"tunnel_source_v6: 2001:db8:1::/64\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 198.18.0.100\n"
	"    port: 80\n"
	"    protocol: tcp\n"
	"    mode: tun\n"
	"    persistence: 300\n"
	"    persistence_netmask: 255.255.255.0\n"
	"    backends:\n"
	"      - address: 198.18.0.11\n"
	"      - { address: 2001:db8::11, weight: 0 }\n"
	"      - { address: 198.18.0.13, port: 80, weight: 65535 }\n"
	"      - 198.18.0.14\n"
	"  - vip: 2001:db8::100\n"
	"    port: \"*\"\n"
	"    protocol: udp\n"
	"    mode: dr\n"
	"    backends: []\n"
	"  - vip: 198.18.0.100\n"
	"    port: 0\n"
	"    protocol: tcp\n"
	"    mode: dr\n"
	"    backends:\n";

static void test_design_example(void)
{
	struct xlb_config c;
	char err[512] = "", a[XLB_ADDRSTR_MAX];

	CHECK(parse(design_example, &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.n_interfaces == 1 && !strcmp(c.interfaces[0], "eth0"));
	EXPECT(c.n_local_addresses == 1 &&
	       !strcmp(addr_str(&c.local_addresses[0], a, sizeof(a)), "198.18.0.2"));
	EXPECT(c.manage_addresses);
	EXPECT(c.flow_table_size == XLB_FLOW_DEFAULT_SIZE);
	EXPECT(c.maglev_table_size == XLB_MAGLEV_DEFAULT_SIZE);
	EXPECT(c.flood_guard_rate == XLB_GUARD_RATE_DEFAULT);
	EXPECT(c.syn_proxy);
	EXPECT(c.icmp_rate_limit == XLB_ICMP_RATE_DEFAULT);
	EXPECT(c.n_services == 1);
	if (c.n_services == 1) {
		struct xlb_service_cfg *s = &c.services[0];

		EXPECT(!strcmp(s->name, "dns"));
		EXPECT(!strcmp(addr_str(&s->vip, a, sizeof(a)), "198.18.0.100:53"));
		EXPECT(s->proto == IPPROTO_UDP);
		EXPECT(s->mode == XLB_MODE_DR);
		EXPECT(s->scheduler == XLB_SCHED_MAGLEV);
		EXPECT(s->n_backends == 2);
		EXPECT(!strcmp(addr_str(&s->backends[1].addr, a, sizeof(a)), "198.18.0.12"));
		EXPECT(s->backends[1].weight == 100);
	}
	config_free(&c);
}

static void test_full(void)
{
	struct xlb_config c;
	char err[512] = "", a[XLB_ADDRSTR_MAX];

	CHECK(parse(full_example, &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(!strcmp(c.instance, "lb-1"));
	EXPECT(c.n_interfaces == 2 && !strcmp(c.interfaces[1], "eth1.100"));
	EXPECT(c.n_local_addresses == 2 && c.local_addresses[1].family == XLB_AF_INET6);
	EXPECT(!c.manage_addresses);
	EXPECT(c.flow_table_size == 65536);
	EXPECT(c.flood_guard_rate == 0);
	EXPECT(!c.syn_proxy);
	EXPECT(c.maglev_table_size == 1009);
	EXPECT(!strcmp(prefix_str(&c.tunnel_source_v4, a, sizeof(a)), "198.18.1.0/24"));
	EXPECT(!strcmp(prefix_str(&c.tunnel_source_v6, a, sizeof(a)), "2001:db8:1::/64"));
	CHECK(c.n_services == 3, "%zu services", c.n_services);
	if (c.n_services != 3)
		goto out;
	struct xlb_service_cfg *s = &c.services[0];
	EXPECT(s->mode == XLB_MODE_TUN && s->persistence == 300 && s->n_backends == 4);
	EXPECT(s->persistence_plen == 24 && config_persist_plen(s) == 24);
	EXPECT(s->backends[0].weight == 100);
	EXPECT(s->backends[1].weight == 0 && s->backends[1].addr.family == XLB_AF_INET6);
	EXPECT(s->backends[2].weight == 65535 && s->backends[2].addr.port == 80);
	EXPECT(s->backends[3].weight == 100);
	EXPECT(c.services[1].vip.port == 0 && c.services[1].n_backends == 0);
	EXPECT(c.services[1].name[0] == '\0');
	EXPECT(c.services[2].vip.port == 0 && c.services[2].n_backends == 0);
	EXPECT(config_validate(&c, err, sizeof(err)) == 0);

	/* Lookups: port 0 on a backend means the service port. */
	struct xlb_sockaddr v, b;
	EXPECT(addr_parse("198.18.0.100:80", ADDR_PORT_REQUIRED, &v, err, sizeof(err)) == 0);
	EXPECT(config_find_service(&c, IPPROTO_TCP, &v) == &c.services[0]);
	EXPECT(config_find_service(&c, IPPROTO_UDP, &v) == NULL);
	EXPECT(addr_parse("198.18.0.11:80", ADDR_PORT_REQUIRED, &b, err, sizeof(err)) == 0);
	EXPECT(config_find_backend(&c.services[0], &b) == &c.services[0].backends[0]);
	EXPECT(addr_parse("198.18.0.13", ADDR_PORT_OPTIONAL, &b, err, sizeof(err)) == 0);
	EXPECT(config_find_backend(&c.services[0], &b) == &c.services[0].backends[2]);
	EXPECT(addr_parse("198.18.0.13:81", ADDR_PORT_OPTIONAL, &b, err, sizeof(err)) == 0);
	EXPECT(config_find_backend(&c.services[0], &b) == NULL);
out:
	config_free(&c);
}

static void test_empty(void)
{
	struct xlb_config c;
	char err[256] = "";

	CHECK(parse("", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.n_services == 0 && c.manage_addresses);
	config_free(&c);
	CHECK(parse("# nothing\n", &c, err, sizeof(err)) == 0, "%s", err);
	config_free(&c);
	CHECK(parse("services:\ninterfaces:\n", &c, err, sizeof(err)) == 0, "%s", err);
	config_free(&c);
}

struct bad_case {
	const char *what;
	const char *yaml;
	const char *err;
};

#define SVC "services:\n  - name: web\n    vip: 198.18.0.100\n    port: 80\n" \
	    "    protocol: tcp\n"

static const struct bad_case bad_cases[] = {
	{ "syntax error", "services:\n  - name: web\n   vip: 1.2.3.4\n",
	  "xlb.yaml:3:4: did not find expected '-' indicator (while parsing a block "
	  "collection at 2:3)" },
	{ "mapping in a plain value", "instance: a: b\n",
	  "xlb.yaml:1:12: mapping values are not allowed in this context" },
	{ "unclosed flow", "interfaces: [eth0\n",
	  "xlb.yaml:2:1: did not find expected ',' or ']' (while parsing a flow "
	  "sequence at 1:13)" },
	{ "tab indentation", "services:\n\t- vip: 1.2.3.4\n",
	  "xlb.yaml:2:1: found character that cannot start any token (while "
	  "scanning for the next token at 2:1)" },
	{ "two documents", "interfaces: [eth0]\n---\ninterfaces: [eth1]\n",
	  "xlb.yaml:3:1: only one YAML document is allowed" },
	{ "top level list", "- eth0\n",
	  "xlb.yaml:1:1: expected a mapping of settings at the top level, got a list" },
	{ "unknown top key", "interfaces: [eth0]\nservice:\n",
	  "xlb.yaml:2:1: unknown key 'service'" },
	{ "duplicate key", "interfaces: [eth0]\ninterfaces: [eth1]\n",
	  "xlb.yaml:2:1: duplicate key 'interfaces'" },
	{ "unknown service key", SVC "    mode: dr\n    weight: 3\n",
	  "xlb.yaml:7:5: unknown service key 'weight'" },
	{ "unknown backend key", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11, wieght: 5 }\n",
	  "xlb.yaml:8:33: backends[0]: unknown key 'wieght' (expected address, "
	  "weight, port, state or backup)" },
	{ "bad backend state", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11, state: off }\n",
	  "xlb.yaml:8:40: backends[0]: state: 'off' (expected up, drain or maint)" },
	{ "bad mode", SVC "    mode: foo\n",
	  "xlb.yaml:6:11: unknown mode 'foo' (expected proxy, nat, fullnat, dr or tun)" },
	{ "bad protocol", "services:\n  - vip: 198.18.0.100\n    port: 80\n"
	  "    protocol: sctp\n",
	  "xlb.yaml:4:15: unknown protocol 'sctp' (expected tcp or udp)" },
	{ "bad scheduler", SVC "    mode: dr\n    scheduler: random\n",
	  "xlb.yaml:7:16: unknown scheduler 'random' (expected maglev, rr, wrr, lc, "
	  "wlc, sh or random2)" },
	{ "bad backend address", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11 }\n      - { address: abc }\n",
	  "xlb.yaml:9:20: backends[1]: 'abc' is not an IP address" },
	{ "bad vip", "services:\n  - vip: 198.18.0.300\n",
	  "xlb.yaml:2:10: vip: '198.18.0.300' is not an IP address" },
	{ "vip with a port", "services:\n  - vip: 198.18.0.1:80\n",
	  "xlb.yaml:2:10: vip: '198.18.0.1:80': a port is not allowed here "
	  "(use the 'port' key)" },
	{ "port out of range", "services:\n  - vip: 198.18.0.100\n    port: 99999\n",
	  "xlb.yaml:3:11: port 99999 out of range (0-65535)" },
	{ "port not a number", "services:\n  - vip: 198.18.0.100\n    port: http\n",
	  "xlb.yaml:3:11: port: 'http' is not a number" },
	{ "backend port out of range", SVC "    mode: dr\n    backends:\n"
	  "      - { address: \"198.18.0.11:99999\" }\n",
	  "xlb.yaml:8:20: backends[0]: '198.18.0.11:99999': port out of range (1-65535)" },
	{ "port twice", SVC "    mode: dr\n    backends:\n"
	  "      - { address: \"198.18.0.11:80\", port: 80 }\n",
	  "xlb.yaml:8:20: backends[0]: port given both in the address and as 'port'" },
	{ "weight out of range", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11, weight: 65536 }\n",
	  "xlb.yaml:8:41: backends[0]: weight 65536 out of range (0-65535)" },
	{ "negative weight", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11, weight: -1 }\n",
	  "xlb.yaml:8:41: backends[0]: weight: '-1' is not a number" },
	{ "missing address", SVC "    mode: dr\n    backends:\n      - { weight: 3 }\n",
	  "xlb.yaml:8:9: backends[0]: missing 'address'" },
	{ "missing vip", "services:\n  - name: web\n    port: 80\n",
	  "xlb.yaml:2:5: service is missing 'vip'" },
	{ "missing port", "services:\n  - vip: 198.18.0.100\n    protocol: tcp\n",
	  "xlb.yaml:2:5: service is missing 'port' (use port: \"*\" for every port)" },
	{ "missing mode", SVC,
	  "xlb.yaml:2:5: service is missing 'mode' (proxy, nat, fullnat, dr or tun)" },
	{ "list for scalar", "services:\n  - vip: [198.18.0.100]\n",
	  "xlb.yaml:2:10: vip: expected a scalar, got a list" },
	{ "mapping for scalar", "flow_table_size: { a: 1 }\n",
	  "xlb.yaml:1:18: flow_table_size: expected a scalar, got a mapping" },
	{ "scalar for list", "interfaces: eth0\n",
	  "xlb.yaml:1:13: interfaces: expected a list, got a scalar" },
	{ "scalar for service", "services: [ web ]\n",
	  "xlb.yaml:1:13: services[]: expected a mapping, got a scalar" },
	{ "empty value", "services:\n  - vip:\n    port: 80\n",
	  "xlb.yaml:2:9: vip: missing value" },
	{ "bad bool", "manage_addresses: maybe\n",
	  "xlb.yaml:1:19: manage_addresses: 'maybe' is not a boolean (expected true "
	  "or false)" },
	{ "health_check not mapping", SVC "    mode: dr\n    health_check: tcp\n",
	  "xlb.yaml:7:19: health_check: expected a mapping, got a scalar" },
	{ "health_check without type", SVC "    mode: dr\n    health_check: { interval: 1s }\n",
	  "xlb.yaml:7:19: health_check: missing 'type' (tcp, http, dns, udp, https, script or none)" },
	{ "health_check bad type", SVC "    mode: dr\n    health_check: { type: icmp }\n",
	  "xlb.yaml:7:27: health_check: unknown type 'icmp' (expected tcp, http, dns, "
	  "udp, https, script or none)" },
	{ "health_check interval too short", SVC "    mode: dr\n    health_check: { type: tcp, "
	  "interval: 50ms }\n",
	  "xlb.yaml:7:42: health_check: interval 50ms out of range (100ms-1h)" },
	{ "health_check interval overflowing", SVC "    mode: dr\n    health_check: { type: tcp, "
	  "interval: 99999999999h }\n",
	  "xlb.yaml:7:42: health_check: interval 99999999999h out of range (100ms-1h)" },
	{ "health_check unknown key", SVC "    mode: dr\n    health_check: { type: tcp, "
	  "intervall: 1s }\n",
	  "xlb.yaml:7:32: health_check: unknown key 'intervall' (expected type, interval, "
	  "timeout, rise, fall, port, path, expect_status, host, expect_body, query, query_type, "
	  "dns_proto, payload, expect or command)" },
	{ "health_check key of another type", SVC "    mode: dr\n    health_check: "
	  "{ type: tcp, path: / }\n",
	  "xlb.yaml:7:38: health_check: 'path' does not apply to type tcp" },
	{ "health_check bad interval", SVC "    mode: dr\n    health_check: "
	  "{ type: tcp, interval: 1 }\n",
	  "xlb.yaml:7:42: health_check: interval: '1' is not a duration (e.g. 500ms, "
	  "3s, 5m, 1h)" },
	{ "health_check timeout over interval", SVC "    mode: dr\n    health_check: "
	  "{ type: tcp, interval: 1s, timeout: 2s }\n",
	  "xlb.yaml:7:55: health_check: timeout must not exceed the interval" },
	{ "health_check fall 0", SVC "    mode: dr\n    health_check: "
	  "{ type: tcp, fall: 0 }\n",
	  "xlb.yaml:7:38: health_check: fall 0 out of range (1-100)" },
	{ "health_check dns without query", SVC "    mode: dr\n    health_check: "
	  "{ type: dns }\n",
	  "xlb.yaml:7:19: health_check: type dns needs 'query' (the name to ask, "
	  "e.g. example.org)" },
	{ "health_check bad query", SVC "    mode: dr\n    health_check: "
	  "{ type: dns, query: a..b }\n",
	  "xlb.yaml:7:39: health_check: query: 'a..b' is not a valid DNS name" },
	{ "health_check bad query_type", SVC "    mode: dr\n    health_check: "
	  "{ type: dns, query: a.b, query_type: XX }\n",
	  "xlb.yaml:7:56: health_check: query_type: unknown type 'XX' (e.g. A, AAAA, "
	  "SOA, TYPE65)" },
	{ "health_check bad status", SVC "    mode: dr\n    health_check: "
	  "{ type: http, expect_status: 300-200 }\n",
	  "xlb.yaml:7:48: health_check: expect_status: '300-200' out of range "
	  "(100-599, low-high)" },
	{ "health_check status list gap", SVC "    mode: dr\n    health_check: "
	  "{ type: https, expect_status: \"200,,300\" }\n",
	  "xlb.yaml:7:49: health_check: expect_status: '200,,300' (expected statuses "
	  "like 200 or ranges like 200-399, comma-separated)" },
	{ "health_check status list too long", SVC "    mode: dr\n    health_check: "
	  "{ type: http, expect_status: \"200,201,202,203,204,205,206,207,208\" }\n",
	  "xlb.yaml:7:48: health_check: expect_status: '200,201,202,203,204,205,206,"
	  "207,208' has more than 8 statuses or ranges" },
	{ "script without command", SVC "    mode: dr\n    health_check: { type: script }\n",
	  "xlb.yaml:7:19: health_check: type script needs 'command' (run by /bin/sh -c; "
	  "exit 0 passes)" },
	{ "health_check bad path", SVC "    mode: dr\n    health_check: "
	  "{ type: http, path: index.html }\n",
	  "xlb.yaml:7:39: health_check: path must start with '/'" },
	{ "health_check bad dns_proto", SVC "    mode: dr\n    health_check: "
	  "{ type: dns, query: a, dns_proto: sctp }\n",
	  "xlb.yaml:7:53: health_check: dns_proto: 'sctp' (expected udp or tcp)" },
	{ "bad on_backend_down", SVC "    mode: dr\n    on_backend_down: drop\n",
	  "xlb.yaml:7:22: on_backend_down: 'drop' (expected keep or reset)" },
	{ "bad all_down", SVC "    mode: dr\n    all_down: keep\n",
	  "xlb.yaml:7:15: all_down: 'keep' (expected drop or keep_last)" },
	{ "interface too long", "interfaces: [eth0, averyveryverylongname]\n",
	  "xlb.yaml:1:20: interfaces[1]: 'averyveryverylongname' is too long for an "
	  "interface name (maximum 15 characters)" },
	{ "duplicate interface", "interfaces: [eth0, eth0]\n",
	  "xlb.yaml:1:20: interfaces[1]: duplicate interface 'eth0'" },
	{ "local address with port", "local_addresses: [\"198.18.0.2:80\"]\n",
	  "xlb.yaml:1:19: local_addresses[0]: '198.18.0.2:80': a port is not allowed here" },
	{ "name with an escape", "services:\n  - name: \"we\\eb\"\n    vip: 198.18.0.100\n"
	  "    port: 80\n    protocol: tcp\n    mode: dr\n",
	  "xlb.yaml:2:11: name: control character 0x1b at position 3 (names and paths "
	  "are printable text)" },
	{ "bad instance", "instance: ../etc\n",
	  "xlb.yaml:1:11: instance: '../etc' may only contain letters, digits, '-', "
	  "'_' and '.'" },
	{ "tunnel source family", "tunnel_source_v4: 2001:db8::/64\n",
	  "xlb.yaml:1:19: tunnel_source_v4: '2001:db8::/64' is not an IPv4 prefix" },
	{ "tunnel source v6 too short", "tunnel_source_v6: 2001:db8::/48\n",
	  "xlb.yaml:1:19: tunnel_source_v6: prefix length 48 out of range (64-128)" },
	{ "table size not prime", "maglev_table_size: 65536\n",
	  "xlb.yaml:1:20: maglev_table_size 65536 is not a prime (the next prime is 65537)" },
	{ "table size too large", "maglev_table_size: 2000003\n",
	  "xlb.yaml:1:20: maglev_table_size 2000003 out of range (2-1000003)" },
	{ "flow table too small", "flow_table_size: 100\n",
	  "xlb.yaml:1:18: flow_table_size 100 out of range (1024-268435456)" },
	{ "table smaller than backends", "maglev_table_size: 2\n" SVC "    mode: dr\n"
	  "    backends: [198.18.0.1, 198.18.0.2]\n",
	  "xlb.yaml:3:5: service web: 2 backends need a maglev_table_size larger than 2" },
	{ "duplicate service", "services:\n"
	  "- { vip: 198.18.0.100, port: 53, protocol: udp, mode: dr }\n"
	  "- { vip: 198.18.0.100, port: 53, protocol: udp, mode: tun }\n",
	  "xlb.yaml:3:3: duplicate service udp/198.18.0.100:53" },
	{ "duplicate service name", "services:\n"
	  "- { name: a, vip: 198.18.0.100, port: 53, protocol: udp, mode: dr }\n"
	  "- { name: a, vip: 198.18.0.100, port: 53, protocol: tcp, mode: dr }\n",
	  "xlb.yaml:3:3: duplicate service name 'a'" },
	{ "duplicate backend", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11 }\n      - { address: 198.18.0.12 }\n"
	  "      - { address: \"198.18.0.11:80\" }\n",
	  "xlb.yaml:10:9: service web: duplicate backend 198.18.0.11:80" },
	{ "fullnat without local addresses", SVC "    mode: fullnat\n",
	  "xlb.yaml:6:11: service web: mode fullnat needs at least one IPv4 "
	  "address in local_addresses" },
	{ "fullnat without local address of the family",
	  "local_addresses: [\"2001:db8::2\"]\n" SVC "    mode: fullnat\n",
	  "xlb.yaml:7:11: service web: mode fullnat needs at least one IPv4 "
	  "address in local_addresses" },
	{ "nat across families", SVC "    mode: nat\n    backends: [\"2001:db8::11\"]\n",
	  "xlb.yaml:7:16: service web: backend 2001:db8::11 is IPv6 but the VIP "
	  "is IPv4 (mode nat cannot mix address families)" },
	{ "proxy without port", "services:\n  - vip: 198.18.0.100\n    port: \"*\"\n"
	  "    protocol: tcp\n    mode: proxy\n",
	  "xlb.yaml:2:5: service tcp/198.18.0.100:*: mode proxy needs a port (it "
	  "listens on VIP:port)" },
	{ "proxy key outside proxy", SVC "    mode: dr\n    send_proxy: v2\n",
	  "xlb.yaml:2:5: service web: 'send_proxy' only applies to mode proxy" },
	{ "bad send_proxy", SVC "    mode: proxy\n    send_proxy: v3\n",
	  "xlb.yaml:7:17: send_proxy: 'v3' (expected v1, v2 or off)" },
	{ "bad duration", SVC "    mode: proxy\n    connect_timeout: 3\n",
	  "xlb.yaml:7:22: connect_timeout: '3' is not a duration (e.g. 500ms, 3s, "
	  "5m, 1h)" },
	{ "retries too many", SVC "    mode: proxy\n    retries: 17\n",
	  "xlb.yaml:7:14: retries 17 out of range (0-16)" },
	{ "proxy header on udp", "services:\n  - vip: 198.18.0.100\n    port: 53\n"
	  "    protocol: udp\n    mode: proxy\n    accept_proxy: true\n",
	  "xlb.yaml:2:5: service udp/198.18.0.100:53: send_proxy and accept_proxy "
	  "apply to tcp services only" },
	{ "header_timeout on udp", "services:\n  - vip: 198.18.0.100\n    port: 53\n"
	  "    protocol: udp\n    mode: proxy\n    header_timeout: 1s\n",
	  "xlb.yaml:2:5: service udp/198.18.0.100:53: header_timeout applies to tcp "
	  "services only" },
	{ "server_timeout on udp", "services:\n  - vip: 198.18.0.100\n    port: 53\n"
	  "    protocol: udp\n    mode: proxy\n    server_timeout: 1m\n",
	  "xlb.yaml:2:5: service udp/198.18.0.100:53: server_timeout applies to tcp "
	  "services only (a udp session's idle time is client_timeout)" },
	{ "server_speaks_first outside proxy", SVC "    mode: dr\n    server_speaks_first: true\n",
	  "xlb.yaml:2:5: service web: 'server_speaks_first' only applies to mode proxy" },
	{ "random2 outside proxy", SVC "    mode: dr\n    scheduler: random2\n",
	  "xlb.yaml:7:16: service web: scheduler 'random2' is not supported yet "
	  "for mode dr" },
	{ "proxy_workers", "proxy_workers: 5000\n",
	  "xlb.yaml:1:16: proxy_workers 5000 out of range (0-1024)" },
	{ "flood_guard_rate", "flood_guard_rate: 200000000\n",
	  "xlb.yaml:1:19: flood_guard_rate 200000000 out of range (0-100000000)" },
	{ "icmp_rate_limit", "icmp_rate_limit: 2000000\n",
	  "xlb.yaml:1:18: icmp_rate_limit 2000000 out of range (0-1000000)" },
	{ "family mismatch dr", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11 }\n      - { address: 2001:db8::11 }\n",
	  "xlb.yaml:9:9: service web: backend 2001:db8::11 is IPv6 but the VIP is "
	  "IPv4 (mode dr cannot mix address families)" },
	{ "dr port change", SVC "    mode: dr\n    backends:\n"
	  "      - { address: 198.18.0.11, port: 8080 }\n",
	  "xlb.yaml:8:9: service web: backend 198.18.0.11:8080: mode dr cannot "
	  "change the destination port" },
	{ "persistence too long", SVC "    mode: dr\n    persistence: 100000\n",
	  "xlb.yaml:7:18: persistence 100000 out of range (0-86400)" },
	{ "persistence netmask alone", SVC "    mode: dr\n    persistence_netmask: 24\n",
	  "xlb.yaml:7:26: service web: persistence_netmask needs persistence "
	  "(seconds > 0)" },
	{ "persistence netmask v4 too long", SVC "    mode: dr\n    persistence: 60\n"
	  "    persistence_netmask: 64\n",
	  "xlb.yaml:8:26: service web: persistence_netmask /64 is longer than an "
	  "IPv4 address" },
	{ "persistence netmask holes", SVC "    mode: dr\n    persistence: 60\n"
	  "    persistence_netmask: 255.0.255.0\n",
	  "xlb.yaml:8:26: persistence_netmask: '255.0.255.0' is not a contiguous "
	  "netmask (like 255.255.255.0)" },
	{ "persistence netmask word", SVC "    mode: dr\n    persistence: 60\n"
	  "    persistence_netmask: big\n",
	  "xlb.yaml:8:26: persistence_netmask: 'big' is not a netmask (a prefix "
	  "length 1-128 or an IPv4 mask like 255.255.255.0)" },
	{ "name too long", "services:\n  - name: "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "xlb.yaml:2:11: name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is too "
	  "long (68 characters, maximum 63)" },
	{ "NUL in a string", "instance: \"a\\0b\"\n",
	  "xlb.yaml:1:11: instance: contains a NUL character" },
	{ "timeout unknown key", "timeouts: { tcp_est: 10 }\n",
	  "xlb.yaml:1:13: timeouts: unknown key 'tcp_est' (expected tcp_syn, "
	  "tcp_established, tcp_fin, tcp_close, tcp_time_wait, udp)" },
	{ "timeout zero", "timeouts: { udp: 0 }\n",
	  "xlb.yaml:1:18: timeouts: udp 0 out of range (1-4294967)" },
	{ "timeout milliseconds", "timeouts: { tcp_fin: 1500ms }\n",
	  "xlb.yaml:1:22: timeouts: tcp_fin: '1500ms' is not a whole number of "
	  "seconds (at least 1s)" },
	{ "timeout not a duration", "timeouts: { tcp_close: 10x }\n",
	  "xlb.yaml:1:24: timeouts: tcp_close: '10x' is not a duration (e.g. 900, "
	  "900s, 15m)" },
	{ "timeout too long", "timeouts: { tcp_syn: 4294968 }\n",
	  "xlb.yaml:1:22: timeouts: tcp_syn 4294968 out of range (1-4294967)" },
	{ "timeouts not a map", "timeouts: [1]\n",
	  "xlb.yaml:1:11: timeouts: expected a mapping, got a list" },
	{ "max_flows on dr maglev", SVC "    mode: dr\n    max_flows: 100\n",
	  "xlb.yaml:7:16: service web: max_flows needs scheduler lc or wlc in mode "
	  "dr: under the others its flows live in the dr/tun flow table "
	  "(dsr_flow_table_size), which the flood guard protects" },
	{ "max_flows on proxy", SVC "    mode: proxy\n    max_flows: 100\n",
	  "xlb.yaml:2:5: service web: 'max_flows' only applies to modes dr, tun, "
	  "nat and fullnat" },
	{ "max_flows over the table", "flow_table_size: 1024\n" SVC "    mode: nat\n"
	  "    max_flows: 1000\n",
	  "xlb.yaml:8:16: service web: the services' max_flows add up to 1000, more "
	  "than the 896 entries flow_table_size 1024 shares out (7/8 of it)" },
	{ "per-service timeouts on dr", SVC "    mode: dr\n    timeouts: { udp: 5 }\n",
	  "xlb.yaml:7:5: service web: 'timeouts' only applies to modes nat and "
	  "fullnat (mode dr keeps no connection states)" },
	{ "per-service timeouts on proxy", SVC "    mode: proxy\n"
	  "    timeouts: { tcp_established: 5 }\n",
	  "xlb.yaml:7:5: service web: 'timeouts' only applies to modes nat and "
	  "fullnat (mode proxy keeps no connection states); use client_timeout "
	  "and server_timeout" },
	{ "per-service timeout unknown key", SVC "    mode: nat\n"
	  "    timeouts: { udp: 5, tcp_x: 3 }\n",
	  "xlb.yaml:7:25: timeouts: unknown key 'tcp_x' (expected tcp_syn, "
	  "tcp_established, tcp_fin, tcp_close, tcp_time_wait, udp)" },
	{ "per-service timeout milliseconds", SVC "    mode: nat\n"
	  "    timeouts: { tcp_fin: 1500ms }\n",
	  "xlb.yaml:7:26: timeouts: tcp_fin: '1500ms' is not a whole number of "
	  "seconds (at least 1s)" },
	{ "per-service timeouts not a map", SVC "    mode: nat\n    timeouts: 5\n",
	  "xlb.yaml:7:15: timeouts: expected a mapping, got a scalar" },
	{ "non-scalar key", "[a]: 1\n",
	  "xlb.yaml:1:1: top level: keys must be scalars, not a list" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct xlb_config c;
		char err[512] = "";
		int ret;

		memset(&c, 0xa5, sizeof(c));
		ret = parse(bc->yaml, &c, err, sizeof(err));
		CHECK(ret == -EINVAL, "%s: returned %d", bc->what, ret);
		CHECK(!strcmp(err, bc->err), "%s:\n    got      \"%s\"\n    expected \"%s\"",
		      bc->what, err, bc->err);
		/* Left initialised and empty. */
		CHECK(c.n_services == 0 && c.services == NULL && c.interfaces == NULL &&
		      c.local_addresses == NULL && c.manage_addresses &&
		      c.maglev_table_size == XLB_MAGLEV_DEFAULT_SIZE,
		      "%s: cfg not reset", bc->what);
	}
}

/* YAML aliases repeat a list for free: the backend limit must hold across
 * services before anything is allocated for them. */
static void test_alias_limit(void)
{
	size_t cap = (XLB_MAX_BACKENDS / 2 + 10) * 18 + 1024;
	char *y = malloc(cap), err[512] = "";
	struct xlb_config c;
	size_t off;

	off = (size_t)snprintf(y, cap, "services:\n"
			       "  - { vip: 198.18.0.1, port: 1, protocol: tcp, mode: dr,"
			       " backends: &b [");
	for (int i = 0; i < XLB_MAX_BACKENDS / 2 + 10; i++)
		off += (size_t)snprintf(y + off, cap - off, "%s198.18.%d.%d",
					i ? "," : "", i / 256, i % 256);
	snprintf(y + off, cap - off, "] }\n"
		 "  - { vip: 198.18.0.2, port: 1, protocol: tcp, mode: dr, backends: *b }\n");
	EXPECT(parse(y, &c, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "xlb.yaml:3:58: backends: too many backends in all "
		      "services (maximum 16384)"), "%s", err);
	free(y);
}

/* Errors from config_validate on a config built at runtime (no positions). */
static const char proxy_example[] =
	"proxy_workers: 2\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 198.18.0.100\n"
	"    port: 80\n"
	"    protocol: tcp\n"
	"    mode: proxy\n"
	"    scheduler: random2\n"
	"    send_proxy: v2\n"
	"    accept_proxy: true\n"
	"    retries: 0\n"
	"    max_connections: 1000\n"
	"    connect_timeout: 500ms\n"
	"    client_timeout: 2m\n"
	"    server_timeout: 1h\n"
	"    drain_time: 10s\n"
	"    header_timeout: 2s\n"
	"    server_speaks_first: false\n"
	"    backends: [\"198.18.0.11:8080\", \"[2001:db8::11]:80\"]\n"
	"  - vip: 2001:db8::100\n"
	"    port: 53\n"
	"    protocol: udp\n"
	"    mode: proxy\n"
	"    scheduler: wlc\n"
	"    backends: [198.18.0.11]\n";

static void test_proxy(void)
{
	static const char *const scheds[] = { "rr", "wrr", "lc", "wlc", "sh",
					      "maglev", "random2" };
	struct xlb_config c;
	char err[512] = "", yaml[512], buf[32];
	uint32_t ms;

	CHECK(parse(proxy_example, &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.proxy_workers == 2 && c.n_services == 2);
	if (c.n_services == 2) {
		struct xlb_service_cfg *s = &c.services[0];

		EXPECT(s->mode == XLB_MODE_PROXY && s->scheduler == XLB_SCHED_RANDOM2);
		EXPECT(s->send_proxy == XLB_SEND_PROXY_V2 && s->accept_proxy);
		EXPECT(s->retries_set && s->retries == 0 && s->max_connections == 1000);
		EXPECT(s->connect_timeout_ms == 500 && s->client_timeout_ms == 120000 &&
		       s->server_timeout_ms == 3600000 && s->drain_time_ms == 10000);
		EXPECT(s->header_timeout_ms == 2000 && s->server_first_set &&
		       !s->server_first);
		EXPECT(s->backends[0].addr.port == 8080);
		s = &c.services[1];
		EXPECT(s->scheduler == XLB_SCHED_WLC && !s->retries_set &&
		       !s->connect_timeout_ms && !s->send_proxy);
	}
	config_free(&c);
	for (size_t i = 0; i < sizeof(scheds) / sizeof(scheds[0]); i++) {
		snprintf(yaml, sizeof(yaml), "services:\n  - { vip: 198.18.0.1, port: 1, "
			 "protocol: tcp, mode: proxy, scheduler: %s }\n", scheds[i]);
		CHECK(parse(yaml, &c, err, sizeof(err)) == 0, "%s: %s", scheds[i], err);
		config_free(&c);
	}

	EXPECT(config_parse_duration("0", &ms) == 0 && ms == 0);
	EXPECT(config_parse_duration("0s", &ms) == 0 && ms == 0);
	EXPECT(config_parse_duration("250ms", &ms) == 0 && ms == 250);
	EXPECT(config_parse_duration("3s", &ms) == 0 && ms == 3000);
	EXPECT(config_parse_duration("5m", &ms) == 0 && ms == 300000);
	EXPECT(config_parse_duration("1h", &ms) == 0 && ms == 3600000);
	EXPECT(config_parse_duration("4294967295ms", &ms) == 0 && ms == UINT32_MAX);
	EXPECT(config_parse_duration("4294968s", &ms) == -ERANGE);
	EXPECT(config_parse_duration("99999999999h", &ms) == -ERANGE);
	EXPECT(config_parse_duration("99999999999x", &ms) == -EINVAL);
	EXPECT(config_parse_duration("3", &ms) == -EINVAL);
	EXPECT(config_parse_duration("", &ms) == -EINVAL);
	EXPECT(config_parse_duration("s", &ms) == -EINVAL);
	EXPECT(config_parse_duration("-1s", &ms) == -EINVAL);
	EXPECT(config_parse_duration("1.5s", &ms) == -EINVAL);
	EXPECT(config_parse_duration("1 s", &ms) == -EINVAL);
	EXPECT(config_parse_duration("1sec", &ms) == -EINVAL);

	EXPECT(!strcmp(config_duration_str(0, buf, sizeof(buf)), "0s"));
	EXPECT(!strcmp(config_duration_str(1500, buf, sizeof(buf)), "1500ms"));
	EXPECT(!strcmp(config_duration_str(3000, buf, sizeof(buf)), "3s"));
	EXPECT(!strcmp(config_duration_str(120000, buf, sizeof(buf)), "2m"));
	EXPECT(!strcmp(config_duration_str(7200000, buf, sizeof(buf)), "2h"));
}

static void test_validate(void)
{
	struct xlb_config c;
	char err[512] = "";

	CHECK(parse(SVC "    mode: dr\n    backends: [198.18.0.11, 198.18.0.12]\n",
		    &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(config_validate(&c, err, sizeof(err)) == 0);
	c.services[0].backends[1].weight = 70000;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "service web: backend 198.18.0.12: weight 70000 out of "
		      "range (0-65535)"), "%s", err);
	c.services[0].backends[1].weight = 1;
	c.services[0].mode = XLB_MODE_FULLNAT;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "service web: mode fullnat needs at least one IPv4 "
		      "address in local_addresses"), "%s", err);
	/* nat and fullnat may map the port. */
	c.services[0].mode = XLB_MODE_NAT;
	c.services[0].backends[1].addr.port = 8080;
	CHECK(config_validate(&c, err, sizeof(err)) == 0, "%s", err);
	c.services[0].backends[1].addr.port = 0;
	c.services[0].mode = XLB_MODE_DR;
	c.services[0].backends[1] = c.services[0].backends[0];
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "service web: duplicate backend 198.18.0.11"), "%s", err);
	c.services[0].backends[1].addr.port = 80;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	c.services[0].backends[1].addr.port = 81;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "service web: backend 198.18.0.11:81: mode dr cannot "
		      "change the destination port"), "%s", err);
	c.services[0].backends[1].addr.port = 0;
	c.services[0].backends[1].addr.addr.v4 ^= htonl(1);
	EXPECT(config_validate(&c, err, sizeof(err)) == 0);
	c.maglev_table_size = 1000;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "maglev_table_size 1000 is not a prime (the next prime "
		      "is 1009)"), "%s", err);
	config_free(&c);

	/* tun may mix families. */
	CHECK(parse(SVC "    mode: tun\n    backends: [198.18.0.11, \"2001:db8::1\"]\n",
		    &c, err, sizeof(err)) == 0, "%s", err);
	config_free(&c);
}

static void round_trip(const char *yaml)
{
	struct xlb_config a, b;
	char err[512] = "";
	char *out = NULL, *out2 = NULL;

	CHECK(parse(yaml, &a, err, sizeof(err)) == 0, "%s", err);
	out = config_emit_yaml(&a);
	CHECK(out != NULL, " ");
	if (!out)
		goto out;
	CHECK(config_parse_buf(out, strlen(out), "emitted", &b, err, sizeof(err)) == 0,
	      "%s\n--- emitted:\n%s", err, out);
	out2 = config_emit_yaml(&b);
	CHECK(out2 && !strcmp(out, out2), "emit not stable:\n%s\n---\n%s", out, out2);
	/* Same config, field by field. */
	EXPECT(!strcmp(a.instance, b.instance));
	EXPECT(a.n_interfaces == b.n_interfaces);
	EXPECT(a.n_interfaces == 0 ||
	       !memcmp(a.interfaces, b.interfaces, a.n_interfaces * sizeof(*a.interfaces)));
	EXPECT(a.n_local_addresses == b.n_local_addresses);
	for (size_t i = 0; i < a.n_local_addresses && i < b.n_local_addresses; i++)
		EXPECT(addr_equal(&a.local_addresses[i], &b.local_addresses[i]));
	EXPECT(a.manage_addresses == b.manage_addresses);
	EXPECT(a.flow_table_size == b.flow_table_size);
	EXPECT(a.maglev_table_size == b.maglev_table_size);
	EXPECT(!memcmp(&a.tunnel_source_v4, &b.tunnel_source_v4, sizeof(a.tunnel_source_v4)));
	EXPECT(!memcmp(&a.tunnel_source_v6, &b.tunnel_source_v6, sizeof(a.tunnel_source_v6)));
	EXPECT(a.proxy_workers == b.proxy_workers);
	EXPECT(a.n_services == b.n_services);
	for (size_t i = 0; i < a.n_services && i < b.n_services; i++) {
		struct xlb_service_cfg *x = &a.services[i], *y = &b.services[i];

		EXPECT(!strcmp(x->name, y->name));
		EXPECT(addr_equal(&x->vip, &y->vip));
		EXPECT(x->proto == y->proto && x->mode == y->mode &&
		       x->scheduler == y->scheduler && x->persistence == y->persistence &&
		       x->persistence_plen == y->persistence_plen);
		EXPECT(x->send_proxy == y->send_proxy && x->accept_proxy == y->accept_proxy &&
		       x->retries_set == y->retries_set && x->retries == y->retries &&
		       x->max_connections == y->max_connections &&
		       x->connect_timeout_ms == y->connect_timeout_ms &&
		       x->client_timeout_ms == y->client_timeout_ms &&
		       x->server_timeout_ms == y->server_timeout_ms &&
		       x->drain_time_ms == y->drain_time_ms &&
		       x->header_timeout_ms == y->header_timeout_ms &&
		       x->server_first_set == y->server_first_set &&
		       x->server_first == y->server_first);
		EXPECT(!memcmp(&x->hc, &y->hc, sizeof(x->hc)));
		EXPECT(x->on_backend_down == y->on_backend_down &&
		       x->all_down == y->all_down);
		EXPECT(x->n_backends == y->n_backends);
		for (size_t j = 0; j < x->n_backends && j < y->n_backends; j++) {
			EXPECT(addr_equal(&x->backends[j].addr, &y->backends[j].addr));
			EXPECT(x->backends[j].weight == y->backends[j].weight);
		}
	}
	config_free(&b);
out:
	free(out);
	free(out2);
	config_free(&a);
}

static void test_round_trip(void)
{
	round_trip(design_example);
	round_trip(full_example);
	round_trip("");
	round_trip(proxy_example);
	round_trip("instance: \"true\"\nservices:\n  - name: \"a: b # c\"\n"
		   "    vip: 198.18.0.1\n    port: 1\n    protocol: udp\n    mode: tun\n"
		   "    backends: [\"[2001:db8::1]:1\", { address: 1.2.3.4, weight: 0 }]\n");
	/* Admin states survive save and apply. */
	round_trip("services:\n  - vip: 198.18.0.1\n    port: 1\n    protocol: tcp\n"
		   "    mode: dr\n    backends:\n      - { address: 1.2.3.4, state: drain }\n"
		   "      - { address: 1.2.3.5, weight: 7, state: maint }\n"
		   "      - { address: 1.2.3.6, state: up }\n");
	{
		struct xlb_config a;
		char e[256], *o;

		EXPECT(parse("services:\n  - { vip: 198.18.0.1, port: 1, protocol: tcp, "
			     "mode: dr, backends: [ { address: 1.2.3.4, state: drain }, "
			     "{ address: 1.2.3.5, state: maint }, 1.2.3.6 ] }\n",
			     &a, e, sizeof(e)) == 0);
		o = config_emit_yaml(&a);
		CHECK(o && strstr(o, "1.2.3.4, weight: 100, state: drain }") &&
		      strstr(o, "1.2.3.5, weight: 100, state: maint }") &&
		      strstr(o, "1.2.3.6, weight: 100 }"), "%s", o);
		free(o);
		config_free(&a);
	}

	/* The emitted form of the DESIGN.md example, exactly. */
	struct xlb_config c;
	char err[256];
	char *out;

	EXPECT(parse(design_example, &c, err, sizeof(err)) == 0);
	out = config_emit_yaml(&c);
	CHECK(out && !strcmp(out,
		"interfaces: [eth0]\n"
		"local_addresses: [198.18.0.2]\n"
		"services:\n"
		"  - name: dns\n"
		"    vip: 198.18.0.100\n"
		"    port: 53\n"
		"    protocol: udp\n"
		"    mode: dr\n"
		"    scheduler: maglev\n"
		"    health_check: { type: dns, interval: 1s, timeout: 500ms, rise: 2, "
		"fall: 3, query: example.org, query_type: A }\n"
		"    backends:\n"
		"      - { address: 198.18.0.11, weight: 100 }\n"
		"      - { address: 198.18.0.12, weight: 100 }\n"), "got:\n%s", out);
	free(out);
	config_free(&c);
}

/* sh, rr and wrr are accepted in every packet mode, lc/wlc in nat and
 * fullnat with at most XLB_LC_MAX_BACKENDS backends. */
static void test_packet_schedulers(void)
{
	static const char *const modes[] = { "dr", "tun", "nat", "fullnat" };
	static const char *const scheds[] = { "maglev", "sh", "rr", "wrr", "lc",
					      "wlc" };
	struct xlb_config c;
	char err[512] = "", yaml[8192];
	size_t at;

	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 6; j++) {
			if (j >= 4 && i < 2)
				continue;       /* dr/tun refuse lc/wlc (table above) */
			snprintf(yaml, sizeof(yaml), "local_addresses: [198.18.0.2]\n"
				 SVC "    mode: %s\n    scheduler: %s\n", modes[i],
				 scheds[j]);
			CHECK(parse(yaml, &c, err, sizeof(err)) == 0, "%s/%s: %s",
			      modes[i], scheds[j], err);
			config_free(&c);
		}

	/* 64 backends scan fine; 65 are refused, naming the limit. */
	for (int nb = 64; nb <= 65; nb++) {
		at = (size_t)snprintf(yaml, sizeof(yaml), "services:\n  - name: web\n"
				      "    vip: 198.18.0.100\n    port: 80\n"
				      "    protocol: tcp\n    mode: nat\n    scheduler: wlc\n"
				      "    backends:\n");
		for (int b = 0; b < nb; b++)
			at += (size_t)snprintf(yaml + at, sizeof(yaml) - at,
					       "      - { address: 198.18.1.%d }\n",
					       b + 1);
		err[0] = 0;
		if (nb == 64) {
			CHECK(parse(yaml, &c, err, sizeof(err)) == 0, "%s", err);
			config_free(&c);
		} else {
			CHECK(parse(yaml, &c, err, sizeof(err)) != 0 &&
			      strstr(err, "service web: scheduler 'wlc' takes at most "
				     "64 backends in mode nat (65 given)"), "got: %s", err);
		}
	}
}

/* Top-level nat/fullnat timeouts: seconds or durations, emitted when set. */
static void test_timeouts(void)
{
	struct xlb_config c, d;
	char err[256] = "";
	char *out;

	CHECK(parse("timeouts: { tcp_established: 15m, tcp_fin: 120s, tcp_close: 10,\n"
		    "  tcp_syn: 1h, tcp_time_wait: \"2s\", udp: 300 }\n",
		    &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.timeouts.tcp_established == 900 && c.timeouts.tcp_fin == 120 &&
	       c.timeouts.tcp_close == 10 && c.timeouts.tcp_syn == 3600 &&
	       c.timeouts.tcp_time_wait == 2 && c.timeouts.udp == 300);
	out = config_emit_yaml(&c);
	CHECK(out && strstr(out, "timeouts: { tcp_syn: 3600, tcp_established: 900, "
			    "tcp_fin: 120, tcp_close: 10, tcp_time_wait: 2, udp: 300 }\n"),
	      "got:\n%s", out);
	CHECK(parse(out, &d, err, sizeof(err)) == 0, "%s", err);
	EXPECT(!memcmp(&c.timeouts, &d.timeouts, sizeof(c.timeouts)));
	free(out);
	config_free(&d);
	config_free(&c);

	/* Partly set: the rest stays 0 (the data plane's defaults), and only
	 * what is set is emitted. */
	CHECK(parse("timeouts: { udp: 5s }\n", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.timeouts.udp == 5 && c.timeouts.tcp_established == 0);
	out = config_emit_yaml(&c);
	CHECK(out && strstr(out, "timeouts: { udp: 5 }\n"), "got:\n%s", out);
	free(out);
	config_free(&c);

	/* Unset: nothing emitted. */
	CHECK(parse("timeouts:\n", &c, err, sizeof(err)) == 0, "%s", err);
	out = config_emit_yaml(&c);
	CHECK(out && !strstr(out, "timeouts"), "got:\n%s", out);
	free(out);

	/* config_validate catches what the control API could set. */
	c.timeouts.tcp_fin = XLB_TIMEOUT_MAX_S + 1;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "timeouts: 4294968 s is too long"), "%s", err);
	config_free(&c);
}

/* Per-service nat/fullnat timeouts: key by key over the top level's,
 * emitted in the service when set, read back the same. */
static void test_svc_timeouts(void)
{
	static const char yaml[] =
		"local_addresses: [198.18.1.2]\n"
		"timeouts: { tcp_established: 600 }\n"
		"services:\n"
		"  - name: short\n    vip: 198.18.0.100\n    port: 80\n"
		"    protocol: tcp\n    mode: fullnat\n"
		"    timeouts: { tcp_established: 30s, tcp_time_wait: 1s }\n"
		"    backends: [ { address: 198.18.1.11 } ]\n"
		"  - name: dflt\n    vip: 198.18.0.101\n    port: 53\n"
		"    protocol: udp\n    mode: nat\n    timeouts:\n"
		"    backends: [ { address: 198.18.1.11 } ]\n";
	struct xlb_config c, d;
	char err[256] = "";
	char *out;

	CHECK(parse(yaml, &c, err, sizeof(err)) == 0, "%s", err);
	if (c.n_services != 2) {
		config_free(&c);
		return;
	}
	EXPECT(c.timeouts.tcp_established == 600);
	EXPECT(c.services[0].timeouts.tcp_established == 30 &&
	       c.services[0].timeouts.tcp_time_wait == 1 &&
	       c.services[0].timeouts.udp == 0 && c.services[0].timeouts.tcp_syn == 0);
	EXPECT(!c.services[1].timeouts.tcp_established && !c.services[1].timeouts.udp);
	out = config_emit_yaml(&c);
	if (!out) {
		CHECK(0, "config_emit_yaml failed");
		config_free(&c);
		return;
	}
	CHECK(strstr(out, "    mode: fullnat\n    scheduler: maglev\n"
			    "    timeouts: { tcp_established: 30, tcp_time_wait: 1 }\n"),
	      "got:\n%s", out);
	CHECK(strstr(out, "timeouts: { tcp_established: 600 }\n"), "got:\n%s", out);
	/* dflt has none of its own: no timeouts line in it. */
	CHECK(strstr(out, "name: dflt") && !strstr(strstr(out, "name: dflt"), "timeouts"),
	      "got:\n%s", out);
	CHECK(parse(out, &d, err, sizeof(err)) == 0, "%s", err);
	if (d.n_services == 2) {
		EXPECT(!memcmp(&c.services[0].timeouts, &d.services[0].timeouts,
			       sizeof(c.services[0].timeouts)));
		EXPECT(!memcmp(&c.services[1].timeouts, &d.services[1].timeouts,
			       sizeof(c.services[1].timeouts)));
		config_free(&d);
	}
	free(out);

	/* config_validate catches what the control API could set. */
	c.services[0].timeouts.udp = XLB_TIMEOUT_MAX_S + 1;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "service short: timeouts: 4294968 s is too long"), "%s", err);
	c.services[0].timeouts.udp = 0;
	c.services[0].mode = XLB_MODE_TUN;
	EXPECT(config_validate(&c, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "service short: 'timeouts' only applies to modes nat and "
		     "fullnat (mode tun"), "%s", err);
	config_free(&c);
}

/* metrics, detach_on_exit and bpffs: defaults, parsing, errors, emission. */
static void test_ops_keys(void)
{
	struct xlb_config c, d;
	char err[256] = "";
	char *out;

	CHECK(parse("interfaces: [eth0]\n", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(!c.metrics_listen.family && c.detach_on_exit &&
	       !strcmp(c.bpffs, "/sys/fs/bpf"));
	out = config_emit_yaml(&c);
	CHECK(out && !strstr(out, "metrics") && !strstr(out, "detach_on_exit") &&
	      !strstr(out, "bpffs"), "got:\n%s", out);
	free(out);
	config_free(&c);

	CHECK(parse("metrics: { listen: \"[::1]:9100\" }\ndetach_on_exit: false\n"
		    "bpffs: /run/xlb/bpffs\n", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.metrics_listen.family == XLB_AF_INET6 && c.metrics_listen.port == 9100);
	EXPECT(!c.detach_on_exit && !strcmp(c.bpffs, "/run/xlb/bpffs"));
	out = config_emit_yaml(&c);
	CHECK(out && strstr(out, "metrics: { listen: \"[::1]:9100\" }\n") &&
	      strstr(out, "detach_on_exit: false\n") &&
	      strstr(out, "bpffs: \"/run/xlb/bpffs\"\n"), "got:\n%s", out);
	CHECK(parse(out, &d, err, sizeof(err)) == 0, "%s", err);
	EXPECT(addr_equal(&c.metrics_listen, &d.metrics_listen) && !d.detach_on_exit &&
	       !strcmp(d.bpffs, c.bpffs));
	free(out);
	config_free(&d);
	config_free(&c);

	CHECK(parse("metrics: { listen: 127.0.0.1 }\n", &c, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "xlb.yaml:1:20: metrics: listen:"), "%s", err);
	CHECK(parse("metrics: { port: 1 }\n", &c, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "metrics: unknown key 'port'"), "%s", err);
	CHECK(parse("detach_on_exit: maybe\n", &c, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "xlb.yaml:1:17: detach_on_exit: 'maybe' is not a boolean"),
	      "%s", err);
	CHECK(parse("bpffs: relative/path\n", &c, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "bpffs: 'relative/path' must be an absolute path"), "%s", err);
}

/* icmp_unreachable: on by default in the packet modes, false kept by a
 * round trip, refused in proxy mode. */
static void test_icmp_unreachable(void)
{
	struct xlb_config c, d;
	char err[256] = "";
	char *out;

	CHECK(parse(SVC "    mode: dr\n", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.n_services == 1 && c.services[0].icmp_unreachable);
	out = config_emit_yaml(&c);
	CHECK(out && !strstr(out, "icmp_unreachable"), "got:\n%s", out ? out : "");
	free(out);
	config_free(&c);

	CHECK(parse(SVC "    mode: nat\n    icmp_unreachable: false\n", &c, err,
		    sizeof(err)) == 0, "%s", err);
	EXPECT(c.n_services == 1 && !c.services[0].icmp_unreachable);
	out = config_emit_yaml(&c);
	if (!out) {
		CHECK(0, "%s", "config_emit_yaml failed");
		config_free(&c);
		return;
	}
	CHECK(strstr(out, "icmp_unreachable: false"), "got:\n%s", out);
	CHECK(parse(out, &d, err, sizeof(err)) == 0, "%s", err);
	EXPECT(d.n_services == 1 && !d.services[0].icmp_unreachable);
	free(out);
	config_free(&d);
	config_free(&c);

	CHECK(parse(SVC "    mode: proxy\n    icmp_unreachable: false\n", &c, err,
		    sizeof(err)) == -EINVAL && strstr(err, "icmp_unreachable"),
	      "%s", err);
}

/* max_flows: a nat/fullnat (or lc/wlc dr/tun) service's share, printed by `xlb save` only when
 * set, read back the same; services' shares may fill 7/8 of the table. */
static void test_max_flows(void)
{
	struct xlb_config c, d;
	char err[256] = "";
	char *out;

	CHECK(parse("flow_table_size: 8192\nlocal_addresses: [198.18.1.2]\n" SVC
		    "    mode: fullnat\n"
		    "    max_flows: 7168\n", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.n_services == 1 && c.services[0].max_flows == 7168);
	out = config_emit_yaml(&c);
	if (!out) {
		CHECK(0, "%s", "config_emit_yaml failed");
		config_free(&c);
		return;
	}
	CHECK(strstr(out, "    max_flows: 7168\n"), "got:\n%s", out);
	CHECK(parse(out, &d, err, sizeof(err)) == 0, "%s", err);
	EXPECT(d.n_services == 1 && d.services[0].max_flows == 7168);
	free(out);
	config_free(&d);
	config_free(&c);
	CHECK(parse(SVC "    mode: nat\n", &c, err, sizeof(err)) == 0, "%s", err);
	out = config_emit_yaml(&c);
	CHECK(out && !strstr(out, "max_flows"), "got:\n%s", out ? out : "");
	free(out);
	config_free(&c);
	/* dr/tun under lc/wlc keep their flows in the connection table too. */
	CHECK(parse(SVC "    mode: tun\n    scheduler: wlc\n    max_flows: 500\n",
		    &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(c.n_services == 1 && c.services[0].max_flows == 500);
	config_free(&c);
}

/* announce: both paths required, hold defaults to 30 s, round trip. */
static void test_announce(void)
{
	struct xlb_config c, d;
	char err[256] = "";
	char *out;

	CHECK(parse("interfaces: [eth0]\n", &c, err, sizeof(err)) == 0, "%s", err);
	EXPECT(!c.announce.file[0]);
	out = config_emit_yaml(&c);
	CHECK(out && !strstr(out, "announce"), "got:\n%s", out ? out : "");
	free(out);
	config_free(&c);

	CHECK(parse("announce:\n  bird_socket: /run/bird/bird.ctl\n"
		    "  file: /etc/bird/xlb-vips.conf\n", &c, err, sizeof(err)) == 0,
	      "%s", err);
	EXPECT(!strcmp(c.announce.bird_socket, "/run/bird/bird.ctl") &&
	       !strcmp(c.announce.file, "/etc/bird/xlb-vips.conf") &&
	       c.announce.hold_ms == 30000);
	config_free(&c);
	CHECK(parse("announce: { bird_socket: /b.ctl, file: /x.conf, hold: 3s }\n",
		    &c, err, sizeof(err)) == 0, "%s", err);
	out = config_emit_yaml(&c);
	CHECK(out && strstr(out, "announce: { bird_socket: \"/b.ctl\", file: "
			    "\"/x.conf\", hold: 3s }\n"), "got:\n%s", out ? out : "");
	CHECK(out && parse(out, &d, err, sizeof(err)) == 0, "%s", err);
	EXPECT(!memcmp(&c.announce, &d.announce, sizeof(c.announce)));
	free(out);
	config_free(&d);
	config_free(&c);

	CHECK(parse("announce: { file: /x.conf }\n", &c, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "xlb.yaml:1:1: announce: needs both bird_socket and file"),
	      "%s", err);
	CHECK(parse("announce: { bird_socket: b.ctl, file: /x }\n", &c, err,
		    sizeof(err)) == -EINVAL &&
	      strstr(err, "xlb.yaml:1:26: announce: bird_socket: 'b.ctl' must be an "
		     "absolute path"), "%s", err);
	CHECK(parse("announce: { bird_socket: /b, file: /x, peer: 1 }\n", &c, err,
		    sizeof(err)) == -EINVAL &&
	      strstr(err, "announce: unknown key 'peer' (expected bird_socket, file "
		     "or hold)"), "%s", err);
	CHECK(parse("announce: { bird_socket: /b, file: /x, hold: soon }\n", &c, err,
		    sizeof(err)) == -EINVAL &&
	      strstr(err, "announce: hold: 'soon' is not a duration"), "%s", err);
}

static void test_copy(void)
{
	struct xlb_config a, b;
	char err[256] = "";
	char *ea, *eb;

	CHECK(parse(full_example, &a, err, sizeof(err)) == 0, "%s", err);
	EXPECT(config_copy(&b, &a) == 0);
	EXPECT(b.services != a.services && b.services[0].backends != a.services[0].backends);
	ea = config_emit_yaml(&a);
	config_free(&a);        /* b must not share anything with a */
	eb = config_emit_yaml(&b);
	CHECK(ea && eb && !strcmp(ea, eb), " ");
	free(ea);
	free(eb);
	config_free(&b);
}

static void test_names(void)
{
	EXPECT(!strcmp(mode_name(XLB_MODE_PROXY), "proxy"));
	EXPECT(!strcmp(mode_name(XLB_MODE_NONE), "none"));
	EXPECT(!strcmp(sched_name(XLB_SCHED_SH), "sh"));
	EXPECT(!strcmp(proto_name(IPPROTO_TCP), "tcp"));
	EXPECT(!strcmp(admin_state_name(XLB_ADMIN_DRAIN), "drain"));
}

static void test_file(void)
{
	struct xlb_config c;
	char err[512] = "", path[] = "/tmp/xlb-test-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	EXPECT(fd >= 0);
	f = fdopen(fd, "w");
	fputs("services:\n  - vip: 1.2.3.4\n    port: 80\n    mode: bogus\n", f);
	fclose(f);
	EXPECT(config_parse_file(path, &c, err, sizeof(err)) == -EINVAL);
	char want[600];
	snprintf(want, sizeof(want), "%s:4:11: unknown mode 'bogus' (expected proxy, "
		 "nat, fullnat, dr or tun)", path);
	CHECK(!strcmp(err, want), "%s", err);
	unlink(path);
	EXPECT(config_parse_file(path, &c, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "cannot open: No such file or directory") != NULL, "%s", err);
}

static void test_health(void)
{
	static const char yaml[] =
		"services:\n"
		"  - vip: 198.18.0.100\n    port: 80\n    protocol: tcp\n    mode: dr\n"
		"    on_backend_down: reset\n    all_down: keep_last\n"
		"    health_check: { type: http, interval: 500ms, rise: 1, fall: 5, port: 8080,\n"
		"                    path: \"/health?x=1\", expect_status: 204, host: www.example }\n"
		"    backends: [198.18.0.11]\n"
		"  - vip: 198.18.0.100\n    port: 53\n    protocol: udp\n    mode: dr\n"
		"    health_check: { type: dns, query: example.org, query_type: aaaa, "
		"dns_proto: tcp }\n"
		"    backends: [198.18.0.11]\n"
		"  - vip: 198.18.0.101\n    port: \"*\"\n    protocol: udp\n    mode: dr\n"
		"    health_check: { type: udp, port: 7, payload: \"ping: 1\", expect: pong, "
		"timeout: 200ms }\n"
		"  - vip: 198.18.0.102\n    port: 80\n    protocol: tcp\n    mode: dr\n"
		"    health_check: { type: none }\n"
		"  - vip: 198.18.0.103\n    port: 443\n    protocol: tcp\n    mode: dr\n"
		"    health_check: { type: https, expect_status: \"200,204,300-399\", "
		"expect_body: ok }\n";
	struct xlb_config c;
	struct xlb_health_cfg *h;
	char err[512] = "";

	CHECK(parse(yaml, &c, err, sizeof(err)) == 0, "%s", err);
	if (c.n_services != 5)
		return;
	h = &c.services[4].hc;
	EXPECT(h->type == XLB_HC_HTTPS && h->n_status == 3 && h->status[1][0] == 204 &&
	       h->status[2][0] == 300 && h->status[2][1] == 399 &&
	       !strcmp(h->expect_body, "ok"));
	h = &c.services[0].hc;
	EXPECT(h->type == XLB_HC_HTTP && h->interval_ms == 500 && h->timeout_ms == 500);
	EXPECT(h->rise == 1 && h->fall == 5 && h->port == 8080);
	EXPECT(!strcmp(h->path, "/health?x=1") && !strcmp(h->host, "www.example"));
	EXPECT(h->n_status == 1 && h->status[0][0] == 204 && h->status[0][1] == 204);
	EXPECT(c.services[0].on_backend_down == XLB_ON_DOWN_RESET);
	EXPECT(c.services[0].all_down == XLB_ALL_DOWN_KEEP_LAST);
	h = &c.services[1].hc;
	EXPECT(h->type == XLB_HC_DNS && h->query_type == 28 && h->dns_proto == IPPROTO_TCP);
	EXPECT(!strcmp(h->query, "example.org") && h->interval_ms == 2000 &&
	       h->timeout_ms == 1000 && h->rise == 2 && h->fall == 3);
	EXPECT(c.services[1].on_backend_down == XLB_ON_DOWN_KEEP &&
	       c.services[1].all_down == XLB_ALL_DOWN_DROP);
	h = &c.services[2].hc;
	EXPECT(h->type == XLB_HC_UDP && !strcmp(h->payload, "ping: 1") &&
	       !strcmp(h->expect, "pong") && h->timeout_ms == 200 && h->port == 7);
	EXPECT(c.services[3].hc.type == XLB_HC_NONE);
	config_free(&c);
	round_trip(yaml);

	/* A service on every port needs the check's port. */
	EXPECT(parse("services:\n  - vip: 198.18.0.1\n    port: \"*\"\n    protocol: tcp\n"
		     "    mode: dr\n    health_check: { type: tcp }\n", &c, err,
		     sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "xlb.yaml:6:19: health_check: a service on every port (port "
		      "\"*\") needs the check's 'port'"), "%s", err);

	/* DNS type names. */
	char buf[16];

	EXPECT(dns_type_from_name("SOA") == 6 && dns_type_from_name("type65") == 65);
	EXPECT(dns_type_from_name("TYPE0") < 0 && dns_type_from_name("TYPE70000") < 0 &&
	       dns_type_from_name("TYPE") < 0 && dns_type_from_name("B") < 0);
	EXPECT(!strcmp(dns_type_str(28, buf, sizeof(buf)), "AAAA"));
	EXPECT(!strcmp(dns_type_str(65, buf, sizeof(buf)), "TYPE65"));
}

int main(void)
{
	RUN(test_design_example);
	RUN(test_full);
	RUN(test_empty);
	RUN(test_errors);
	RUN(test_alias_limit);
	RUN(test_validate);
	RUN(test_proxy);
	RUN(test_round_trip);
	RUN(test_timeouts);
	RUN(test_svc_timeouts);
	RUN(test_packet_schedulers);
	RUN(test_ops_keys);
	RUN(test_announce);
	RUN(test_icmp_unreachable);
	RUN(test_max_flows);
	RUN(test_copy);
	RUN(test_names);
	RUN(test_file);
	RUN(test_health);
	UNIT_SUMMARY();
}
