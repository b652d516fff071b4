// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: the daemon's cached next hops (backend_l2) in dr, tun and
 * nat. */
#include "fixture.h"

/* ---- the daemon's next-hop cache (backend_l2) ---------------------------- */

/* MACs no neighbour entry of the lab has: output carrying them was built
 * from the cache, not from bpf_fib_lookup. */
static const uint8_t MAC_L2D[6] = { 0x02, 0, 0, 0, 0x0c, 0x11 };
static const uint8_t MAC_L2S[6] = { 0x02, 0, 0, 0, 0x0c, 0x0a };

/* Writes backend id's cached next hop as xlbd would, for addr (valid with
 * the MACs above, egress ifindex, mtu); valid 0 / addr NULL: clears it. */
static int l2_set(uint32_t id, const char *addr, int ifindex, uint32_t mtu,
		  int valid)
{
	struct xlb_backend_l2 l2;

	memset(&l2, 0, sizeof(l2));
	if (addr) {
		l2.addr = A(addr);
		l2.nexthop = l2.addr;
		l2.family = strchr(addr, ':') ? XLB_AF_INET6 : XLB_AF_INET;
		memcpy(l2.dmac, MAC_L2D, 6);
		memcpy(l2.smac, MAC_L2S, 6);
		l2.ifindex = ifindex;
		l2.mtu = mtu;
		l2.valid = valid;
	}
	return bpf_map_update_elem(bpf_map__fd(skel->maps.backend_l2), &id, &l2, 0);
}

ROW(r_l2_dr)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40100, .dport = 80, .paylen = 100 };
	struct pkt in, exp;
	int err;

	pkt_mk(&in, &s);
	/* Valid: the cached MACs, and XDP_TX out of the ingress port. */
	l2_set(B1, "198.18.0.11", ifx_xa, 1500, 1);
	dr_expect(&exp, &in, MAC_L2D, MAC_L2S);
	err = expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	/* Another egress port: redirected there. */
	l2_set(B1, "198.18.0.11", ifx_ya, 1500, 1);
	err = err ?: expect(&in, XDP_REDIRECT_, &exp, XLB_R_REDIRECT, why, n);
	/* Not resolved, or resolved for another address (an id given to
	 * another backend): the route lookup decides, as without a cache. */
	l2_set(B1, "198.18.0.11", ifx_xa, 1500, 0);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	l2_set(B1, "198.18.0.12", ifx_xa, 1500, 1);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	l2_set(B1, NULL, 0, 0, 0);
	return err;
}

ROW(r_l2_tun_mtu)
{
	/* The cached MTU is the limit: 1380 + 20 fits 1400, 1381 + 20 not. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 45100, .dport = 80, .paylen = 1340 };
	struct pkt in, exp;
	int err;

	l2_set(B3, "198.18.0.13", ifx_xa, 1400, 1);
	pkt_mk(&in, &s);
	tun_expect(&exp, &in, "198.18.0.13", MAC_L2D, &s);
	memcpy(exp.b + 6, MAC_L2S, 6);
	err = expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	s.paylen = 1341;
	pkt_mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1380);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
	l2_set(B3, NULL, 0, 0, 0);
	return err;
}

ROW(r_l2_nat)
{
	/* nat: the client's packets use the backend's cached next hop, the
	 * backend's replies (to the client) their own route lookup. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50100, .dport = 80, .paylen = 100 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50100, 0x12);
	int err;

	nat_clear();
	l2_set(BN_Y, "198.18.1.11", ifx_ya, 1500, 1);
	err = nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_L2D, MAC_L2S,
		       CLIENT4, 50100, "198.18.1.11", 8080, why, n);
	err = err ?: nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT,
			      MAC_CLIENT, MAC_XA, VIP_N4, 80, CLIENT4, 50100,
			      why, n);
	l2_set(BN_Y, NULL, 0, 0, 0);
	return err;
}

static const struct row rows[] = {
	{ .desc = "dr with a cached next hop: its MACs and port; invalid or other address: route lookup", .fn = r_l2_dr },
	{ .desc = "tun with a cached next hop: its MTU decides too-big", .fn = r_l2_tun_mtu },
	{ .desc = "nat with a cached next hop: client side cached, replies looked up", .fn = r_l2_nat },
};

const struct suite fx_l2 = { "l2", rows, sizeof(rows) / sizeof(rows[0]) };
