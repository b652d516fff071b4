// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the connection table's recycled entries (issue 13): the
 * kernel hands an LRU hash element that was evicted or deleted to the next
 * update at once, while a packet on another CPU may still hold it. A packet
 * of flow A must never leave with the translation of the flow B that took
 * A's element, nor write its own state into B's entry. */
#include <arpa/inet.h>

#include "fixture.h"
#include "xlb_cttag.h"

/* The churn of the other CPU (lru_recycle): A's entry as the data plane
 * made it, then deleted (the sweeper's expiry, an eviction), and B's
 * entry made at once in the element A left, checked and deleted. */
static struct xlb_flow_key ka, kb;
static struct xlb_flow va, vb;
static char churn_why[200];

/* XLB_FX_NO_B=1 leaves out the check of B's entry, so that a race shows
 * the translation read from B's entry (which that check, failing first,
 * usually hides). */
static int churn(uint64_t i)
{
	struct xlb_flow got;
	int err;

	(void)i;
	err = lru_recycle(skel->maps.flows, &ka, &va, &kb, &vb, &got, sizeof(got));
	if (err == -EUCLEAN && getenv("XLB_FX_NO_B"))
		return bpf_map_delete_elem(bpf_map__fd(skel->maps.flows), &kb) ?
		       -errno : 0;
	if (err == -EUCLEAN)
		snprintf(churn_why, sizeof(churn_why),
			 "B's entry written by A's packet: state %u -> %u, "
			 "flags %#x -> %#x, last_seen %s",
			 vb.state, got.state, vb.flags, got.flags,
			 got.last_seen_ns == vb.last_seen_ns ? "kept" : "changed");
	return err;
}

/* Flow a of an established connection (its ACKs redirected as exp) on CPU 0
 * while CPU 1 churns its element between a and b, whose entry is a's
 * with b_raddr (and b_lport, fullnat) and state SYN_RECV: every frame of
 * a that leaves carries a's translation, or a is gone (dropped), and b's
 * entry is never written. */
static int recycle_race(const struct spec *a, const struct spec *b,
			const struct pkt *exp, const char *b_raddr,
			uint16_t b_lport, char *why, size_t n)
{
	struct spec ack = *a;
	struct pkt in;
	int err;

	pkt_mk(&in, &ack);
	ka = spec_key(a);
	kb = spec_key(b);
	if (flow_get(a, &va)) {
		snprintf(why, n, "no flow entry for A");
		return -1;
	}
	vb = va;
	vb.raddr = A(b_raddr);
	if (b_lport)
		vb.lport_be = htons(b_lport);
	vb.state = XLB_CT_SYN_RECV;
	vb.last_seen_ns = va.last_seen_ns + 1;  /* made after A was last seen */
	vb.hash = xlb_ct_tag(&kb, &vb);         /* B's own, as the data plane */
	vb.pad = xlb_ct_tag8(vb.hash);          /* tags a new entry */
	churn_why[0] = 0;
	err = torn_race_or(&in, XDP_REDIRECT_, exp,
			   XDP_DROP_, churn, NULL, "entries of A", why, n);
	if (err && churn_why[0])
		snprintf(why, n, "%s", churn_why);
	return err;
}

/* nat v4 TCP (backend 198.18.1.11:8080 behind ya): B's entry holds
 * 198.18.0.12 (a neighbour on xa). */
ROW(r_nat4_recycled)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 51000, .dport = 80, .paylen = 100 };
	struct spec b = a;
	struct spec r = spec_rev(&a, "198.18.1.11", 8080, CLIENT4, 51000, 0x12);
	struct pkt in, exp;
	int err;

	b.sport = 51001;
	nat_clear();
	err = nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		       CLIENT4, 51000, "198.18.1.11", 8080, why, n) ?:
	      nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		       MAC_XA, VIP_N4, 80, CLIENT4, 51000, why, n);
	a.tcpflags = 0x10;
	err = err ?: nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1,
			      MAC_YA, CLIENT4, 51000, "198.18.1.11", 8080, why, n) ?:
	      want_state(&a, XLB_CT_ESTABLISHED, why, n);
	if (!err) {
		pkt_mk(&in, &a);
		xlat_expect(&exp, &in, MAC_Y1, MAC_YA, CLIENT4, 51000,
			    "198.18.1.11", 8080);
		err = recycle_race(&a, &b, &exp, "198.18.0.12", 0, why, n);
	}
	nat_clear();
	return err;
}

/* fullnat v4 TCP (LIP4:lport -> 198.18.1.11:80 behind ya): B's entry
 * holds 198.18.0.12 (a neighbour on xa) and another local port. */
ROW(r_fnat4_recycled)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 51002, .dport = 80, .paylen = 100 };
	struct spec b = a;
	uint16_t lp = fnat_port(&a);
	struct spec r = spec_rev(&a, "198.18.1.11", 80, LIP4, lp, 0x12);
	struct pkt in, exp;
	int err;

	b.sport = 51003;
	nat_clear();
	err = nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		       LIP4, lp, "198.18.1.11", 80, why, n) ?:
	      nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		       MAC_XA, VIP_F4, 80, CLIENT4, 51002, why, n);
	a.tcpflags = 0x10;
	err = err ?: nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1,
			      MAC_YA, LIP4, lp, "198.18.1.11", 80, why, n) ?:
	      want_state(&a, XLB_CT_ESTABLISHED, why, n);
	if (!err) {
		pkt_mk(&in, &a);
		xlat_expect(&exp, &in, MAC_Y1, MAC_YA, LIP4, lp, "198.18.1.11", 80);
		err = recycle_race(&a, &b, &exp, "198.18.0.12",
				   lp == LPORT_MAX ? LPORT_MIN : lp + 1, why, n);
	}
	nat_clear();
	return err;
}

static const struct row rows[] = {
	{ .desc = "nat v4 TCP: an established flow's element deleted and taken by another flow on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_nat4_recycled },
	{ .desc = "fullnat v4 TCP: an established flow's element deleted and taken by another flow (another local port) on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_fnat4_recycled },
};

const struct suite fx_ctrecycle = { "ctrecycle", rows, sizeof(rows) / sizeof(rows[0]) };
