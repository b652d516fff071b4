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

/* ---- two CPUs changing one flow's state at once --------------------------- */

/* The flow of a FIN race: its key, its established entry, its backend. */
static struct xlb_flow_key fin_k;
static struct xlb_flow fin_v;

static int conns_put(uint32_t id, int64_t active, int64_t inactive)
{
	struct xlb_conns c = { active, inactive };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.backend_conns), &id,
				   &c, 0) ? -errno : 0;
}

/* A round: the flow established again, its backend's counts 1 active. */
static int fin_prep(void)
{
	return bpf_map_update_elem(bpf_map__fd(skel->maps.flows), &fin_k,
				   &fin_v, BPF_ANY) ? -errno :
	       conns_put(fin_v.backend_id, 1, 0);
}

/* Both FINs went through: TIME_WAIT with both sides' FIN, whichever came
 * first, and the backend's connection moved once, active to inactive. */
static int fin_check(char *why, size_t n)
{
	const uint8_t both = XLB_FLOW_F_FIN_CLIENT | XLB_FLOW_F_FIN_SERVER;
	struct xlb_conns c = { 0, 0 };
	struct xlb_flow f;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &fin_k, &f))
		return snprintf(why, n, "the flow's entry is gone"), -1;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.backend_conns),
			    &fin_v.backend_id, &c);
	if (f.state != XLB_CT_TIME_WAIT || (f.flags & both) != both ||
	    c.active != 0 || c.inactive != 1)
		return snprintf(why, n, "after the client's and the server's FIN: "
				"state %u flags %#x, backend counts %lld/%lld "
				"(want %u, both FINs, 0/1)", f.state, f.flags,
				(long long)c.active, (long long)c.inactive,
				XLB_CT_TIME_WAIT), -1;
	return 0;
}

/* The established flow a (its reply r) closed by both sides at once: the
 * client's FIN on CPU 0 as the server's on CPU 1, every round. */
static int fin_race(const struct spec *a, const struct spec *r, char *why,
		    size_t n)
{
	struct spec fa = *a, fr = *r;
	struct pkt ina, inr;
	int err;

	fin_k = spec_key(a);
	if (flow_get(a, &fin_v))
		return snprintf(why, n, "no flow entry"), -1;
	fa.tcpflags = 0x11;
	fr.tcpflags = 0x11;
	pkt_mk(&ina, &fa);
	pkt_mk(&inr, &fr);
	err = pair_race(&ina, ifx_xa, XDP_REDIRECT_, &inr, ifx_ya, XDP_REDIRECT_,
			fin_prep, fin_check, why, n);
	conns_put(fin_v.backend_id, 0, 0);
	return err;
}

/* nat v4 TCP through its handshake to ESTABLISHED; its reply in *r. */
static int nat4_established(struct spec *a, struct spec *r, char *why, size_t n)
{
	*r = spec_rev(a, "198.18.1.11", 8080, CLIENT4, a->sport, 0x12);
	nat_clear();
	a->tcpflags = 0x02;
	if (nat_step(a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, a->sport, "198.18.1.11", 8080, why, n) ||
	    nat_step(r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, a->sport, why, n))
		return -1;
	a->tcpflags = 0x10;
	r->tcpflags = 0x10;
	return nat_step(a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
			CLIENT4, a->sport, "198.18.1.11", 8080, why, n) ?:
	       want_state(a, XLB_CT_ESTABLISHED, why, n);
}

ROW(r_nat4_fin_race)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 51010, .dport = 80, .paylen = 0 };
	struct spec r;
	int err;

	err = nat4_established(&a, &r, why, n) ?: fin_race(&a, &r, why, n);
	nat_clear();
	return err;
}

ROW(r_fnat4_fin_race)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 51012, .dport = 80, .paylen = 0 };
	uint16_t lp = fnat_port(&a);
	struct spec r = spec_rev(&a, "198.18.1.11", 80, LIP4, lp, 0x12);
	int err;

	nat_clear();
	a.tcpflags = 0x02;
	err = nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		       LIP4, lp, "198.18.1.11", 80, why, n) ?:
	      nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		       MAC_XA, VIP_F4, 80, CLIENT4, 51012, why, n);
	a.tcpflags = 0x10;
	r.tcpflags = 0x10;
	err = err ?: nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1,
			      MAC_YA, LIP4, lp, "198.18.1.11", 80, why, n) ?:
	      want_state(&a, XLB_CT_ESTABLISHED, why, n) ?:
	      fin_race(&a, &r, why, n);
	nat_clear();
	return err;
}

/* ---- dr/tun entries of lc/wlc services ------------------------------------ */

/* A dr service under lc on VIP_RLC:80 over RL1 (.11) and RL2 (.12). */
#define VIP_RLC "198.18.0.119"
enum { S_RLC = 47, RL1 = 66, RL2 };

static int rlc_setup(void)
{
	const uint32_t ids[2] = { RL1, RL2 }, w[2] = { 1, 1 };

	return backend_set(RL1, "198.18.0.11", XLB_BACKEND_F_ACTIVE, S_RLC) ?:
	       backend_set(RL2, "198.18.0.12", XLB_BACKEND_F_ACTIVE, S_RLC) ?:
	       svc_add(VIP_RLC, 80, 6, S_RLC, XLB_MODE_DR, 13) ?:
	       lc_list(S_RLC, ids, w, 2) ?: svc_sched(VIP_RLC, XLB_SVC_F_LC, 0);
}

/* The established dr flow a of the lc service (on RL1; RL2 so loaded that
 * a flow scheduled afresh goes to RL1 too) on CPU 0, while CPU 1 churns
 * its element between a and b, whose entry is on RL2: every frame of a
 * goes to RL1, and b's entry is never written. */
ROW(r_dsr_lc_recycled)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_RLC, .proto = 6,
			  .sport = 51020, .dport = 80, .paylen = 100 };
	struct spec b = a;
	struct pkt in, exp;
	int err;

	b.sport = 51021;
	flows_clear();
	if (rlc_setup() || conns_put(RL1, 0, 0) || conns_put(RL2, 1 << 30, 0))
		return snprintf(why, n, "cannot set up the service"), -1;
	err = fwd_dr(&a, MAC_B1, why, n);
	a.tcpflags = 0x10;
	err = err ?: fwd_dr(&a, MAC_B1, why, n) ?:
	      want_state(&a, XLB_CT_ESTABLISHED, why, n);
	if (!err) {
		ka = spec_key(&a);
		kb = spec_key(&b);
		err = flow_get(&a, &va);
	}
	if (!err) {
		vb = va;
		vb.backend_id = RL2;
		vb.hash = spec_hash(&b);
		vb.state = XLB_CT_SYN_SENT;
		vb.last_seen_ns = va.last_seen_ns + 1;
		xlb_dsr_ct_tag_put(&kb, &vb);   /* as the data plane tags it */
		pkt_mk(&in, &a);
		dr_expect(&exp, &in, MAC_B1, MAC_XA);
		churn_why[0] = 0;
		err = torn_race(&in, XDP_TX_, &exp, churn, NULL, "entries of A",
				why, n);
		if (err && churn_why[0])
			snprintf(why, n, "%s", churn_why);
	}
	flows_clear();
	conns_put(RL1, 0, 0);
	conns_put(RL2, 0, 0);
	svc_del(&(struct xlb_svc_key){ .vip = A(VIP_RLC), .port_be = htons(80),
				       .proto = 6, .family = XLB_AF_INET });
	return err;
}

static const struct row rows[] = {
	{ .desc = "nat v4 TCP: the client's and the server's FIN on two CPUs at once: both count (TIME_WAIT), the backend's connection moved once", .fn = r_nat4_fin_race },
	{ .desc = "fullnat v4 TCP: the client's and the server's FIN on two CPUs at once: both count (TIME_WAIT), the backend's connection moved once", .fn = r_fnat4_fin_race },
	{ .desc = "dr lc TCP: an established flow's element deleted and taken by another flow (another backend) on another CPU: its frames keep its backend, the other's entry is not written", .fn = r_dsr_lc_recycled },
	{ .desc = "nat v4 TCP: an established flow's element deleted and taken by another flow on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_nat4_recycled },
	{ .desc = "fullnat v4 TCP: an established flow's element deleted and taken by another flow (another local port) on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_fnat4_recycled },
};

const struct suite fx_ctrecycle = { "ctrecycle", rows, sizeof(rows) / sizeof(rows[0]) };
