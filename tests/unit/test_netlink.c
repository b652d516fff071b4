// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Tests of the rtnetlink glue and of `xlb realserver` in a private network
 * namespace: addresses, route lookup, managed neighbours, dr/tun setup.
 *
 *   private netns:  lo (VIPs)    xt0 198.18.7.1/24 2001:db8:7::1/64
 *                                 |  veth
 *                                xt1 198.18.7.2/24 2001:db8:7::2/64
 *                                 (moved to a second netns "peer" so that
 *                                  neighbour resolution crosses a real link)
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

/* CHECK without a message trips -Wformat-zero-length in unit.h. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#include "unit.h"
#include "log.h"
#include "netlink.h"
#include "realserver.h"

static struct xlb_sockaddr mkaddr(const char *s)
{
	struct xlb_sockaddr a;
	char err[128];

	if (addr_parse(s, ADDR_PORT_FORBIDDEN, &a, err, sizeof(err))) {
		fprintf(stderr, "bad test address %s: %s\n", s, err);
		exit(2);
	}
	return a;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
	return rc;
}

static long sysctl_get(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 10);
}

static void sysctl_set(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

/* Run realserver_main on a NULL-terminated word list. */
static int rs(const char *first, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	const char *w;

	va_start(ap, first);
	for (w = first; w && argc < 15; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	va_end(ap);
	argv[argc] = NULL;
	return realserver_main(argc, argv);
}

static void test_addr_v4(void)
{
	struct xlb_sockaddr a = mkaddr("198.18.7.100"), got;

	CHECK(nl_addr_present("lo", &a) == 0);
	CHECK(nl_addr_add("lo", &a, 32) == 0);
	CHECK(nl_addr_present("lo", &a) == 1);
	CHECK(nl_addr_add("lo", &a, 32) == -EEXIST, "re-add must say EEXIST");
	CHECK(nl_addr_del("lo", &a, 32) == 0);
	CHECK(nl_addr_present("lo", &a) == 0);
	CHECK(nl_addr_del("lo", &a, 32) == -EADDRNOTAVAIL);
	CHECK(nl_addr_add("nosuchdev0", &a, 32) == -ENODEV);
	CHECK(nl_addr_present("nosuchdev0", &a) == -ENODEV);
	CHECK(nl_addr_add("lo", &a, 33) == -EINVAL);

	CHECK(nl_addr_first("xt0", XLB_AF_INET, &got) == 0);
	CHECK(addr_equal_noport(&got, &(struct xlb_sockaddr){ 0 }) == false);
	a = mkaddr("198.18.7.1");
	CHECK(addr_equal_noport(&got, &a));
	CHECK(nl_addr_first("lo", XLB_AF_INET, &got) == -ENOENT,
	      "lo has only 127.0.0.1, scope host");
}

static void test_addr_v6(void)
{
	struct xlb_sockaddr a = mkaddr("2001:db8:7::100"), got, want;

	CHECK(nl_addr_present("lo", &a) == 0);
	CHECK(nl_addr_add("lo", &a, 128) == 0);
	CHECK(nl_addr_present("lo", &a) == 1);
	CHECK(nl_addr_add("lo", &a, 128) == -EEXIST);
	CHECK(nl_addr_del("lo", &a, 128) == 0);
	CHECK(nl_addr_present("lo", &a) == 0);
	CHECK(nl_addr_del("lo", &a, 128) == -EADDRNOTAVAIL);

	want = mkaddr("2001:db8:7::1");
	CHECK(nl_addr_first("xt0", XLB_AF_INET6, &got) == 0);
	CHECK(addr_equal_noport(&got, &want), "link-local must be skipped");
}

static void test_route_get(void)
{
	struct xlb_sockaddr dst, nh, want;
	int ifindex = 0, xt0 = (int)if_nametoindex("xt0");
	uint32_t mtu = 1;

	dst = mkaddr("198.18.7.2");
	CHECK(nl_route_get(&dst, &ifindex, &nh, &mtu) == 0);
	CHECK(ifindex == xt0, "got ifindex %d, want %d", ifindex, xt0);
	CHECK(addr_equal_noport(&nh, &dst), "connected: next hop is dst");
	CHECK(mtu == 0, "no mtu metric: got %u", mtu);

	dst = mkaddr("198.19.1.1");
	want = mkaddr("198.18.7.2");
	CHECK(nl_route_get(&dst, &ifindex, &nh, NULL) == 0);
	CHECK(ifindex == xt0);
	CHECK(addr_equal_noport(&nh, &want), "via gateway");

	dst = mkaddr("2001:db8:99::1");
	want = mkaddr("2001:db8:7::2");
	CHECK(nl_route_get(&dst, &ifindex, &nh, NULL) == 0);
	CHECK(ifindex == xt0);
	CHECK(addr_equal_noport(&nh, &want), "v6 via gateway");

	dst = mkaddr("203.0.113.1");
	CHECK(nl_route_get(&dst, &ifindex, &nh, NULL) == -ENETUNREACH);

	/* A route's mtu metric is the path MTU the data plane checks. */
	sh("ip route add 198.19.2.0/24 via 198.18.7.2 mtu 1400");
	sh("ip -6 route add 2001:db8:98::/64 via 2001:db8:7::2 mtu 1300");
	dst = mkaddr("198.19.2.1");
	CHECK(nl_route_get(&dst, &ifindex, &nh, &mtu) == 0);
	CHECK(mtu == 1400, "v4 route mtu: got %u", mtu);
	dst = mkaddr("2001:db8:98::1");
	CHECK(nl_route_get(&dst, &ifindex, &nh, &mtu) == 0);
	CHECK(mtu == 1300, "v6 route mtu: got %u", mtu);
	sh("ip route del 198.19.2.0/24");
	sh("ip -6 route del 2001:db8:98::/64");
}

static void test_link_l2(void)
{
	int xt0 = (int)if_nametoindex("xt0");
	uint8_t mac[6] = { 0 }, want[6] = { 2, 0, 0, 0, 0x70, 1 };
	uint32_t mtu = 0;

	sh("ip link set xt0 address 02:00:00:00:70:01 mtu 1480");
	CHECK(nl_link_l2(xt0, mac, &mtu) == 0);
	CHECK(!memcmp(mac, want, 6), "wrong MAC");
	CHECK(mtu == 1480, "got mtu %u", mtu);
	sh("ip link set xt0 mtu 1500");
	CHECK(nl_link_l2((int)if_nametoindex("lo"), mac, &mtu) == -ENOENT,
	      "lo has no Ethernet address");
	CHECK(nl_link_l2(0, mac, &mtu) == -ENODEV);
}

/* Neighbour events seen by on_event. */
static struct {
	int n, ifindex;
	struct xlb_sockaddr addr;
	bool has_mac;
	uint8_t mac[6];
} ev;

static void on_event(void *arg, int ifindex, const struct xlb_sockaddr *a,
		     const uint8_t *mac)
{
	struct xlb_sockaddr *want = arg;

	if (!addr_equal_noport(a, want))
		return;
	ev.n++;
	ev.ifindex = ifindex;
	ev.addr = *a;
	ev.has_mac = mac != NULL;
	if (mac)
		memcpy(ev.mac, mac, 6);
}

static void test_neigh_lladdr_and_events(void)
{
	int xt0 = (int)if_nametoindex("xt0");
	struct xlb_sockaddr a = mkaddr("198.18.7.60"), a6 = mkaddr("2001:db8:7::60");
	uint8_t mac[6], want[6] = { 2, 0, 0, 0, 0, 0x60 };
	struct nl_monitor *m = NULL;

	CHECK(nl_neigh_monitor_open(&m) == 0);
	CHECK(nl_monitor_fd(m) >= 0);
	CHECK(nl_neigh_lladdr(xt0, &a, mac) == -ENOENT);
	sh("ip neigh replace 198.18.7.60 dev xt0 nud incomplete");
	CHECK(nl_neigh_lladdr(xt0, &a, mac) == -EAGAIN, "no MAC yet");
	sh("ip neigh replace 198.18.7.60 lladdr 02:00:00:00:00:60 dev xt0 nud stale");
	CHECK(nl_neigh_lladdr(xt0, &a, mac) == 0);
	CHECK(!memcmp(mac, want, 6));
	sh("ip neigh replace 2001:db8:7::60 lladdr 02:00:00:00:00:60 dev xt0 nud permanent");
	CHECK(nl_neigh_lladdr(xt0, &a6, mac) == 0 && !memcmp(mac, want, 6));

	memset(&ev, 0, sizeof(ev));
	CHECK(nl_neigh_monitor_read(m, on_event, &a) == 0);
	CHECK(ev.n >= 1 && ev.ifindex == xt0 && ev.has_mac &&
	      !memcmp(ev.mac, want, 6), "the stale entry with its MAC");
	memset(&ev, 0, sizeof(ev));
	sh("ip neigh del 198.18.7.60 dev xt0");
	CHECK(nl_neigh_monitor_read(m, on_event, &a) == 0);
	CHECK(ev.n >= 1 && !ev.has_mac, "deleted: no MAC");
	memset(&ev, 0, sizeof(ev));
	CHECK(nl_neigh_monitor_read(m, on_event, &a) == 0 && ev.n == 0,
	      "nothing pending");
	sh("ip neigh del 2001:db8:7::60 dev xt0");
	nl_monitor_close(m);
}

/* Poll `ip neigh` until the entry has a MAC and the managed flag, without
 * sending any traffic ourselves. */
static bool neigh_resolved(const char *addr)
{
	char cmd[256];
	int i;

	snprintf(cmd, sizeof(cmd),
		 "ip -d neigh show %s dev xt0 | grep -q 'lladdr .* managed'", addr);
	for (i = 0; i < 50; i++) {
		if (system(cmd) == 0)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

static void count_own(void *arg, int ifindex, const struct xlb_sockaddr *nexthop)
{
	(*(size_t *)arg)++;
}

static void test_neigh_manage(void)
{
	int xt0 = (int)if_nametoindex("xt0");
	struct xlb_sockaddr v4 = mkaddr("198.18.7.2"), v6 = mkaddr("2001:db8:7::2");
	struct xlb_sockaddr perm = mkaddr("198.18.7.50");

	CHECK(nl_neigh_manage(xt0, &v4) == 0);
	CHECK(nl_neigh_manage(xt0, &v6) == 0);
	CHECK(nl_neigh_manage(xt0, &v4) == 0, "second call is a no-op");
	CHECK(neigh_resolved("198.18.7.2"), "v4 entry not resolved/managed");
	CHECK(neigh_resolved("2001:db8:7::2"), "v6 entry not resolved/managed");
	CHECK(nl_neigh_unmanage(xt0, &v4) == 0);
	CHECK(nl_neigh_unmanage(xt0, &v6) == 0);
	CHECK(system("ip -d neigh show dev xt0 | grep -q managed") != 0);
	CHECK(nl_neigh_unmanage(xt0, &v4) == -ENOENT);

	/* A permanent entry is left exactly as it is. */
	sh("ip neigh replace 198.18.7.50 lladdr 02:00:00:00:00:50 dev xt0 nud permanent");
	CHECK(nl_neigh_manage(xt0, &perm) == 0);
	CHECK(system("ip -d neigh show 198.18.7.50 dev xt0 | "
		     "grep -q '02:00:00:00:00:50 PERMANENT'") == 0);
	CHECK(system("ip -d neigh show 198.18.7.50 dev xt0 | grep -q managed") != 0);
	CHECK(nl_neigh_unmanage(xt0, &perm) == 0);
	CHECK(system("ip neigh show 198.18.7.50 dev xt0 | grep -q PERMANENT") == 0);
	sh("ip neigh del 198.18.7.50 dev xt0");

	/* Ours are tagged, and only ours are listed and removed: one managed
	 * by hand stays, even for an address we were asked to manage. */
	struct xlb_sockaddr hand = mkaddr("198.18.7.51");
	size_t n_own = 0;

	CHECK(nl_neigh_manage(xt0, &v6) == 0);
	CHECK(system("ip -d neigh show 2001:db8:7::2 dev xt0 | grep -q 'proto 176'") == 0);
	sh("ip neigh replace 198.18.7.51 dev xt0 managed");
	CHECK(nl_neigh_manage(xt0, &hand) == 0, "one managed by hand is left as is");
	CHECK(nl_neigh_walk_own(xt0, count_own, &n_own) == 0);
	CHECK(n_own == 1, "listed %zu entries as ours, want 1 (the v6 one)", n_own);
	CHECK(nl_neigh_unmanage(xt0, &hand) == 0);
	CHECK(system("ip neigh show 198.18.7.51 dev xt0 | grep -q managed") == 0,
	      "the entry made by hand was removed");
	sh("ip neigh del 198.18.7.51 dev xt0");
	nl_neigh_unmanage(xt0, &v6);

	/* A resolved dynamic entry keeps its MAC while becoming managed. */
	sh("ip neigh replace 198.18.7.2 lladdr 02:00:00:00:00:02 dev xt0 nud reachable");
	CHECK(nl_neigh_manage(xt0, &v4) == 0);
	CHECK(system("ip -d neigh show 198.18.7.2 dev xt0 | "
		     "grep -q 'lladdr 02:00:00:00:00:02 .*managed'") == 0);
	nl_neigh_unmanage(xt0, &v4);

	CHECK(nl_neigh_manage(0, &v4) == -ENODEV);
}

#define ARP_IGNORE   "/proc/sys/net/ipv4/conf/all/arp_ignore"
#define ARP_ANNOUNCE "/proc/sys/net/ipv4/conf/all/arp_announce"
#define RP_ALL       "/proc/sys/net/ipv4/conf/all/rp_filter"
#define RP_LO        "/proc/sys/net/ipv4/conf/lo/rp_filter"
#define RP_XT0       "/proc/sys/net/ipv4/conf/xt0/rp_filter"

static void test_realserver_dr(void)
{
	struct xlb_sockaddr vip = mkaddr("198.18.7.100"), vip6 = mkaddr("2001:db8:7::100");

	sysctl_set(ARP_IGNORE, 0);
	sysctl_set(ARP_ANNOUNCE, 0);
	CHECK(rs("setup", "--mode", "dr", "--vip", "198.18.7.100", NULL) == 0);
	CHECK(nl_addr_present("lo", &vip) == 1);
	CHECK(sysctl_get(ARP_IGNORE) == 1);
	CHECK(sysctl_get(ARP_ANNOUNCE) == 2);
	CHECK(rs("setup", "--mode", "dr", "--vip", "198.18.7.100", NULL) == 0,
	      "setup is idempotent");
	CHECK(rs("setup", "--mode", "tun", "--vip", "198.18.7.100", "--dev", "xt0", NULL) != 0,
	      "mode change without teardown is refused");
	CHECK(rs("teardown", "--vip", "198.18.7.100", NULL) == 0);
	CHECK(nl_addr_present("lo", &vip) == 0);
	CHECK(sysctl_get(ARP_IGNORE) == 0);
	CHECK(sysctl_get(ARP_ANNOUNCE) == 0);
	CHECK(rs("teardown", "--vip", "198.18.7.100", NULL) != 0, "no state: error");

	/* An address that was there before setup stays after teardown. */
	nl_addr_add("lo", &vip, 32);
	sysctl_set(ARP_IGNORE, 1);
	CHECK(rs("setup", "--mode", "dr", "--vip", "198.18.7.100", NULL) == 0);
	CHECK(rs("teardown", "--vip", "198.18.7.100", NULL) == 0);
	CHECK(nl_addr_present("lo", &vip) == 1);
	CHECK(sysctl_get(ARP_IGNORE) == 1);
	CHECK(sysctl_get(ARP_ANNOUNCE) == 0);
	nl_addr_del("lo", &vip, 32);
	sysctl_set(ARP_IGNORE, 0);

	/* Two VIPs share the sysctls: the first teardown must not undo
	 * what the second still needs. */
	CHECK(rs("setup", "--mode", "dr", "--vip", "198.18.7.100", NULL) == 0);
	CHECK(rs("setup", "--mode", "dr", "--vip", "198.18.7.101", NULL) == 0);
	CHECK(rs("teardown", "--vip", "198.18.7.100", NULL) == 0);
	CHECK(sysctl_get(ARP_IGNORE) == 1, "still needed by 198.18.7.101");
	CHECK(rs("teardown", "--vip", "198.18.7.101", NULL) == 0);
	CHECK(sysctl_get(ARP_IGNORE) == 0);
	CHECK(sysctl_get(ARP_ANNOUNCE) == 0);

	/* IPv6 */
	CHECK(rs("setup", "--mode", "dr", "--vip", "2001:db8:7::100", NULL) == 0);
	CHECK(nl_addr_present("lo", &vip6) == 1);
	CHECK(sysctl_get(ARP_IGNORE) == 0, "an IPv6 VIP needs no ARP sysctls");
	CHECK(rs("setup", "--mode", "dr", "--vip", "2001:db8:7:0::100", NULL) == 0);
	CHECK(rs("teardown", "--vip", "2001:db8:7::100", NULL) == 0);
	CHECK(nl_addr_present("lo", &vip6) == 0);
}

static void test_realserver_errors(void)
{
	CHECK(rs("setup", "--mode", "nat", "--vip", "198.18.7.100", NULL) != 0);
	CHECK(rs("setup", "--mode", "dr", "--vip", "1.2.3", NULL) != 0);
	CHECK(rs("setup", "--mode", "dr", NULL) != 0, "--vip is required");
	CHECK(rs("setup", "--vip", "198.18.7.100", NULL) != 0, "--mode is required");
	CHECK(rs("setup", "--mode", "tun", "--vip", "198.18.7.100", "--dev", "foo0", NULL) != 0);
	CHECK(rs("setup", "--mode", NULL) != 0, "missing value");
	CHECK(rs("setup", "--bogus", NULL) != 0);
	CHECK(rs("frobnicate", NULL) != 0);
	CHECK(rs("teardown", "--vip", "198.18.7.222", NULL) != 0);
	CHECK(rs(NULL) != 0, "no subcommand");
	CHECK(rs("--help", NULL) == 0);
	CHECK(rs("setup", "--help", NULL) == 0);
}

static bool xdp_attached(const char *dev, __u32 *id)
{
	int ifindex = (int)if_nametoindex(dev);

	*id = 0;
	if (bpf_xdp_query_id(ifindex, 0, id))
		return false;
	return *id != 0;
}

static void test_realserver_tun(void)
{
	struct xlb_sockaddr vip = mkaddr("198.18.7.110");
	__u32 id = 0;

	sysctl_set(RP_ALL, 1);
	sysctl_set(RP_LO, 0);
	sysctl_set(RP_XT0, 2);
	CHECK(!xdp_attached("xt0", &id));
	CHECK(rs("setup", "--mode", "tun", "--vip", "198.18.7.110", "--dev", "xt0", NULL) == 0);
	CHECK(nl_addr_present("lo", &vip) == 1);
	CHECK(sysctl_get(RP_ALL) == 0);
	CHECK(sysctl_get(RP_XT0) == 0);
	CHECK(xdp_attached("xt0", &id), "decap program attached");
	CHECK(rs("setup", "--mode", "tun", "--vip", "198.18.7.110", "--dev", "xt0", NULL) == 0);
	CHECK(rs("setup", "--mode", "tun", "--vip", "2001:db8:7::110", NULL) == 0,
	      "default --dev from the default route");
	CHECK(rs("teardown", "--vip", "198.18.7.110", NULL) == 0);
	CHECK(xdp_attached("xt0", &id), "still needed by the IPv6 VIP");
	CHECK(sysctl_get(RP_XT0) == 2, "an IPv6 VIP needs no rp_filter change");
	CHECK(rs("teardown", "--vip", "2001:db8:7::110", NULL) == 0);
	CHECK(!xdp_attached("xt0", &id), "decap program detached");
	CHECK(nl_addr_present("lo", &vip) == 0);
	CHECK(sysctl_get(RP_ALL) == 1);
	CHECK(sysctl_get(RP_LO) == 0);
	CHECK(sysctl_get(RP_XT0) == 2);
}

/* The peer's named netns, unique per run: the suite may run twice at once. */
static char peer_ns[32];

/* sh() with printf-style formatting. */
static int shf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int shf(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return sh(cmd);
}

static void peer_ns_del(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", peer_ns);
	system(cmd);
}

/* A trivial XDP_PASS program standing for someone else's. */
static int other_xdp_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 2 },      /* r0 = XDP_PASS */
		{ .code = 0x95 },                               /* exit */
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "other", "GPL", insns, 2, NULL);
}

/* A program that is not ours on the dev: setup refuses and leaves nothing
 * behind; a program that replaced ours is not detached by teardown. */
static void test_realserver_tun_foreign_xdp(void)
{
	struct xlb_sockaddr vip = mkaddr("198.18.7.120");
	int ifindex = (int)if_nametoindex("xt0");
	int fd = other_xdp_prog();
	__u32 id = 0, other_id;

	CHECK(fd >= 0, "cannot load a test XDP program: %s", strerror(errno));
	if (fd < 0)
		return;
	sysctl_set(RP_ALL, 1);
	CHECK(bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, NULL) == 0);
	CHECK(xdp_attached("xt0", &other_id));
	CHECK(rs("setup", "--mode", "tun", "--vip", "198.18.7.120", "--dev", "xt0", NULL) != 0,
	      "someone else's XDP program must not be replaced");
	CHECK(xdp_attached("xt0", &id) && id == other_id);
	CHECK(nl_addr_present("lo", &vip) == 0, "failed setup leaves no address");
	CHECK(sysctl_get(RP_ALL) == 1, "failed setup leaves sysctls alone");
	CHECK(rs("teardown", "--vip", "198.18.7.120", NULL) != 0, "and no state");
	bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);

	CHECK(rs("setup", "--mode", "tun", "--vip", "198.18.7.120", "--dev", "xt0", NULL) == 0);
	CHECK(xdp_attached("xt0", &id) && id != other_id);
	/* Replace ours behind xlb's back (same mode, so no flags conflict). */
	bpf_xdp_detach(ifindex, 0, NULL);
	CHECK(bpf_xdp_attach(ifindex, fd, 0, NULL) == 0);
	CHECK(rs("teardown", "--vip", "198.18.7.120", NULL) == 0);
	CHECK(xdp_attached("xt0", &id) && id == other_id, "foreign program kept");
	CHECK(sysctl_get(RP_ALL) == 1);
	bpf_xdp_detach(ifindex, 0, NULL);
	close(fd);
}

static int netns_setup(void)
{
	if (unshare(CLONE_NEWNET)) {
		printf("SKIP test_netlink: cannot create a network namespace: %s\n",
		       strerror(errno));
		return -1;
	}
	/* The peer end lives in a named netns so neighbour resolution goes
	 * over a real link; it is deleted at the end. */
	snprintf(peer_ns, sizeof(peer_ns), "xlbt-peer-%d", (int)getpid());
	if (sh("ip link set lo up") ||
	    shf("ip netns add %s", peer_ns) ||
	    shf("ip link add xt0 type veth peer name xt1 netns %s", peer_ns) ||
	    sh("ip link set xt0 up") ||
	    sh("ip addr add 198.18.7.1/24 dev xt0") ||
	    sh("ip addr add 2001:db8:7::1/64 dev xt0 nodad") ||
	    shf("ip -n %s link set lo up", peer_ns) ||
	    shf("ip -n %s link set xt1 up", peer_ns) ||
	    shf("ip -n %s addr add 198.18.7.2/24 dev xt1", peer_ns) ||
	    shf("ip -n %s addr add 2001:db8:7::2/64 dev xt1 nodad", peer_ns) ||
	    sh("ip route add 198.19.0.0/16 via 198.18.7.2") ||
	    sh("ip -6 route add default via 2001:db8:7::2")) {
		printf("SKIP test_netlink: cannot build the test topology\n");
		return -1;
	}
	return 0;
}

int main(void)
{
	log_prog = "test_netlink";
	if (netns_setup()) {
		peer_ns_del();
		printf("0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	RUN(test_addr_v4);
	RUN(test_addr_v6);
	RUN(test_route_get);
	RUN(test_link_l2);
	RUN(test_neigh_manage);
	RUN(test_neigh_lladdr_and_events);
	RUN(test_realserver_errors);
	RUN(test_realserver_dr);
	RUN(test_realserver_tun);
	RUN(test_realserver_tun_foreign_xdp);
	peer_ns_del();
	UNIT_SUMMARY();
}
