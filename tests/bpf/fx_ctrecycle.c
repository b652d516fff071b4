// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the connection table's recycled entries (issue 13): the
 * kernel hands an LRU hash element that was evicted or deleted to the next
 * update at once, while a packet on another CPU may still hold it. A packet
 * of flow A must never leave with the translation of the flow B that took
 * A's element, nor write its own state into B's entry. */
#include <arpa/inet.h>
#include <time.h>

#include "fixture.h"
#include "xlb_cttag.h"

/* The churn of the other CPU (lru_recycle): A's entry as the data plane
 * made it, then deleted (the sweeper's expiry, an eviction), and B's
 * entry made at once in the element A left, checked and deleted. */
static struct xlb_flow_key ka, kb;
static struct xlb_flow va, vb;
static char churn_why[200];

/* Whether got is B's entry with only its age moved to the present (ns,
 * the data plane's clock): what A's packet may write into B's entry while
 * the kernel copies B's into the element (bpf/cttag.h, xlb_ct_set_seen);
 * never its state, flags or translation. */
static int b_aged_now(const struct xlb_flow *got, uint64_t present)
{
	struct xlb_flow t = *got;

	t.last_seen_ns = vb.last_seen_ns;
	return !memcmp(&t, &vb, sizeof(t)) &&
	       got->last_seen_ns > vb.last_seen_ns && got->last_seen_ns <= present;
}

/* XLB_FX_NO_B=1 leaves out the check of B's entry, so that a race shows
 * the translation read from B's entry (which that check, failing first,
 * usually hides). */
static int churn(uint64_t i)
{
	struct xlb_flow got;
	struct timespec ts;
	int err;

	(void)i;
	err = lru_recycle(skel->maps.flows, &ka, &va, &kb, &vb, &got, sizeof(got));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (err == -EUCLEAN &&
	    b_aged_now(&got, (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec))
		return bpf_map_delete_elem(bpf_map__fd(skel->maps.flows), &kb) ?
		       -errno : 0;
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

/* The churn's entries: A's, flow a's as the data plane made it, and B's
 * (flow b's), a copy of it in state st made after A was last seen, for
 * the caller to make b's own and tag as the data plane would. 0 or -1. */
static int churn_pair(const struct spec *a, const struct spec *b, uint8_t st,
		      char *why, size_t n)
{
	ka = spec_key(a);
	kb = spec_key(b);
	if (flow_get(a, &va))
		return snprintf(why, n, "no flow entry for A"), -1;
	vb = va;
	vb.state = st;
	vb.last_seen_ns = va.last_seen_ns + 1;
	return 0;
}

/* B's entry tagged as the data plane tags a new nat/fullnat entry. */
static void churn_nat_tag(void)
{
	vb.hash = xlb_ct_tag(&kb, &vb);
	vb.pad = xlb_ct_tag8(vb.hash);
}

/* torn_race_or of frame in under the churn of churn_pair's entries; why
 * says so when A's packet wrote B's entry. */
static int churn_race(const struct pkt *in, int verdict, const struct pkt *exp,
		      int other, int (*reset)(void), const char *what,
		      char *why, size_t n)
{
	int err;

	churn_why[0] = 0;
	err = torn_race_or(in, verdict, exp, other, churn, reset, what, why, n);
	if (err && churn_why[0])
		snprintf(why, n, "%s", churn_why);
	return err;
}

/* Flow a of an established connection (its ACKs leaving as exp, under
 * verdict) on CPU 0 while CPU 1 churns its element between a and b, whose entry is a's
 * with b_raddr (and b_lport, fullnat) and state SYN_RECV: every frame of
 * a that leaves carries a's translation, or a is gone (dropped), and b's
 * entry is never written. */
static int recycle_race(const struct spec *a, const struct spec *b,
			int verdict, const struct pkt *exp, const char *b_raddr,
			uint16_t b_lport, char *why, size_t n)
{
	struct pkt in;

	pkt_mk(&in, a);
	if (churn_pair(a, b, XLB_CT_SYN_RECV, why, n))
		return -1;
	vb.raddr = A(b_raddr);
	if (b_lport)
		vb.lport_be = htons(b_lport);
	churn_nat_tag();
	return churn_race(&in, verdict, exp, XDP_DROP_, NULL, "entries of A",
			  why, n);
}

/* ---- the nat/fullnat services of the fixture world ------------------------ */

/* A nat/fullnat tcp service on vip:80 as its flows see it: the backend be
 * (port) they go to, b_be the one another flow's entry holds (a neighbour),
 * fullnat's local address lip (NULL: nat). ya: be is behind ya, where a
 * flow's frames are redirected both ways; otherwise on xa, where they are
 * transmitted (bmac: the next hop to be). */
struct natw {
	int fam;
	const char *vip, *client, *lip, *be, *b_be;
	uint16_t port;
	int ya;
	const uint8_t *bmac;
};

static const struct natw NAT4 = { 4, VIP_N4, CLIENT4, NULL, "198.18.1.11",
				  "198.18.0.12", 8080, 1, MAC_Y1 };
static const struct natw FNAT4 = { 4, VIP_F4, CLIENT4, LIP4, "198.18.1.11",
				   "198.18.0.12", 80, 1, MAC_Y1 };
static const struct natw NAT6 = { 6, VIP_N6, CLIENT6, NULL, "2001:db8::11",
				  "2001:db8::12", 80, 0, MAC_B6_1 };
static const struct natw FNAT6 = { 6, VIP_F6, CLIENT6, LIP6, "2001:db8::11",
				   "2001:db8::12", 8080, 0, MAC_B6_1 };

static int natw_verdict(const struct natw *w)
{
	return w->ya ? XDP_REDIRECT_ : XDP_TX_;
}

/* The frame of a as it leaves to w's backend ((*src):lp its source). */
static void natw_expect(const struct natw *w, struct pkt *exp,
			const struct pkt *in, uint16_t lp)
{
	xlat_expect(exp, in, w->bmac, w->ya ? MAC_YA : MAC_XA,
		    w->lip ? w->lip : w->client, lp, w->be, w->port);
}

/* a (its sport and paylen set) made a tcp flow of w, taken through its
 * handshake to ESTABLISHED: its reply in *r, its source port as it
 * leaves (fullnat's local port) in *lp. */
static int nat_established(const struct natw *w, struct spec *a,
			   struct spec *r, uint16_t *lp, char *why, size_t n)
{
	int v = natw_verdict(w), re = w->ya ? XLB_R_REDIRECT : XLB_R_TX;
	const uint8_t *smac = w->ya ? MAC_YA : MAC_XA;
	const char *src = w->lip ? w->lip : w->client;

	a->fam = w->fam;
	a->src = w->client;
	a->dst = w->vip;
	a->proto = 6;
	a->dport = 80;
	a->tcpflags = 0x02;
	*lp = w->lip ? fnat_port(a) : a->sport;
	*r = spec_rev(a, w->be, w->port, src, *lp, 0x12);
	nat_clear();
	if (nat_step(a, 0, v, re, w->bmac, smac, src, *lp, w->be, w->port,
		     why, n) ||
	    nat_step(r, w->ya ? ifx_ya : 0, v, re, MAC_CLIENT, MAC_XA, w->vip,
		     80, w->client, a->sport, why, n))
		return -1;
	a->tcpflags = 0x10;
	r->tcpflags = 0x10;
	return nat_step(a, 0, v, re, w->bmac, smac, src, *lp, w->be, w->port,
			why, n) ?:
	       want_state(a, XLB_CT_ESTABLISHED, why, n);
}

/* recycle_race of w's established flow from client port sport, whose
 * element goes to the flow from sport + 1 (on b_be; fullnat: on the next
 * local port too). */
static int nat_recycled(const struct natw *w, uint16_t sport, char *why,
			size_t n)
{
	struct spec a = { .sport = sport, .paylen = 100 }, b, r;
	struct pkt in, exp;
	uint16_t lp;
	int err;

	err = nat_established(w, &a, &r, &lp, why, n);
	if (!err) {
		b = a;
		b.sport = sport + 1;
		pkt_mk(&in, &a);
		natw_expect(w, &exp, &in, lp);
		err = recycle_race(&a, &b, natw_verdict(w), &exp, w->b_be,
				   !w->lip ? 0 : lp == LPORT_MAX ? LPORT_MIN :
				   lp + 1, why, n);
	}
	nat_clear();
	return err;
}

ROW(r_nat4_recycled) { return nat_recycled(&NAT4, 51000, why, n); }
ROW(r_fnat4_recycled) { return nat_recycled(&FNAT4, 51002, why, n); }
ROW(r_nat6_recycled) { return nat_recycled(&NAT6, 51030, why, n); }
ROW(r_fnat6_recycled) { return nat_recycled(&FNAT6, 51032, why, n); }

/* w's established flow from client port sport, its entry's tag cleared
 * (hash 0), as a packet finds an element never used before while another
 * CPU writes a flow's first entry into it (the tag still 0, the rest
 * half written): a miss, so the ACK is dropped as a packet past the SYN
 * of an unknown flow, never forwarded by what the element holds. (Before
 * the layout of buckets of eight, untagged entries were an older xlbd's
 * and read unchecked; no xlbd of this layout writes one.) */
static int nat_untagged(const struct natw *w, uint16_t sport, char *why,
			size_t n)
{
	struct spec a = { .sport = sport, .paylen = 100 }, r;
	struct xlb_flow f;
	struct pkt in;
	uint16_t lp;
	int err;

	err = nat_established(w, &a, &r, &lp, why, n);
	if (!err && flow_get(&a, &f)) {
		snprintf(why, n, "no flow entry");
		err = -1;
	}
	if (!err) {
		f.hash = 0;
		err = flow_put(&a, &f);
	}
	if (!err) {
		pkt_mk(&in, &a);
		err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n);
	}
	nat_clear();
	return err;
}

ROW(r_nat4_untagged) { return nat_untagged(&NAT4, 51060, why, n); }
ROW(r_fnat6_untagged) { return nat_untagged(&FNAT6, 51062, why, n); }

/* ---- a share's eviction (xlb_embryo_end) ----------------------------------- */

/* The nat v4 service's share: max_flows 1, its ring's first slot the key
 * of its one established flow (ka), the ring's next slot the new flow's. */
static int share_full(void)
{
	struct xlb_svc_flows c = { .n = 1, .max = 1, .head = 1, .tail = 0,
				   .ring_base = 0, .ring_len = 4 };
	uint32_t id = S_N4T;

	return bpf_map_update_elem(bpf_map__fd(skel->maps.svc_flows), &id, &c,
				   0) ? -errno : 0;
}

/* The share of the nat v4 service held by its established flow a, whose
 * element CPU 1 churns between a and b, an embryonic (SYN_RECV) entry of
 * the same service: a new flow's SYN on CPU 0 finds a's key in the ring
 * and must not end b's entry for it (judged by a copy checked against a's
 * key), so there is never room: every SYN is refused. */
ROW(r_nat4_evict_recycled)
{
	struct spec a = { .sport = 51060, .paylen = 100 }, b, r, d;
	struct pkt in;
	uint16_t lp;
	int err;

	svc_flows_set(S_N4T, 1, 0, 4);
	err = nat_established(&NAT4, &a, &r, &lp, why, n);
	if (!err) {
		b = d = a;
		b.sport = 51061;
		d.sport = 51062;
		d.tcpflags = 0x02;
		pkt_mk(&in, &d);
		err = share_full() ?:
		      expect(&in, XDP_DROP_, &in, XLB_R_DROP_SVC_FULL, why, n);
	}
	err = err ?: churn_pair(&a, &b, XLB_CT_SYN_RECV, why, n);
	if (!err) {
		churn_nat_tag();
		err = share_full() ?:
		      churn_race(&in, XDP_DROP_, &in, -1, share_full,
				 "entries of the ring's flow", why, n);
	}
	svc_flows_set(S_N4T, 0, 0, 0);
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

/* w's established flow from client port sport closed by both sides at
 * once: the client's FIN on CPU 0 as the server's on CPU 1, every round. */
static int nat_fin_race(const struct natw *w, uint16_t sport, char *why,
			size_t n)
{
	struct spec a = { .sport = sport }, r;
	struct pkt ina, inr;
	int v = natw_verdict(w), err;
	uint16_t lp;

	err = nat_established(w, &a, &r, &lp, why, n);
	fin_k = spec_key(&a);
	if (!err && flow_get(&a, &fin_v)) {
		snprintf(why, n, "no flow entry");
		err = -1;
	}
	if (!err) {
		a.tcpflags = 0x11;
		r.tcpflags = 0x11;
		pkt_mk(&ina, &a);
		pkt_mk(&inr, &r);
		err = pair_race(&ina, ifx_xa, v, &inr, w->ya ? ifx_ya : ifx_xa,
				v, fin_prep, fin_check, why, n);
		conns_put(fin_v.backend_id, 0, 0);
	}
	nat_clear();
	return err;
}

ROW(r_nat4_fin_race) { return nat_fin_race(&NAT4, 51010, why, n); }
ROW(r_fnat4_fin_race) { return nat_fin_race(&FNAT4, 51012, why, n); }
ROW(r_nat6_fin_race) { return nat_fin_race(&NAT6, 51040, why, n); }
ROW(r_fnat6_fin_race) { return nat_fin_race(&FNAT6, 51042, why, n); }

/* ---- dr/tun entries of lc/wlc services ------------------------------------ */

/* A dr or tun service (mode) under lc on vip:80 over RL1 (be1) and RL2
 * (be2), both neighbours on xa (mac1: be1's); under wlc where RL1's
 * weight wt1 is not 1 (the data plane's lc with the list's weights). */
struct rlcw {
	int fam;
	const char *vip, *client, *be1, *be2;
	const uint8_t *mac1;
	uint8_t mode;
	uint32_t wt1;
};
enum { S_RLC = 47, RL1 = 66, RL2 };

static const struct rlcw RLC4 = { 4, "198.18.0.119", CLIENT4, "198.18.0.11",
				  "198.18.0.12", MAC_B1, XLB_MODE_DR, 1 };
static const struct rlcw RLC6 = { 6, "2001:db8::119", CLIENT6, "2001:db8::11",
				  "2001:db8::12", MAC_B6_1, XLB_MODE_DR, 1 };
static const struct rlcw TLC4 = { 4, "198.18.0.118", CLIENT4, "198.18.0.11",
				  "198.18.0.12", MAC_B1, XLB_MODE_TUN, 1 };
static const struct rlcw TLC6 = { 6, "2001:db8::120", CLIENT6, "2001:db8::11",
				  "2001:db8::12", MAC_B6_1, XLB_MODE_TUN, 1 };
static const struct rlcw RWLC4 = { 4, "198.18.0.119", CLIENT4, "198.18.0.11",
				   "198.18.0.12", MAC_B1, XLB_MODE_DR, 3 };

static int rlc_setup(const struct rlcw *w)
{
	const uint32_t ids[2] = { RL1, RL2 }, wt[2] = { w->wt1, 1 };

	return backend_set(RL1, w->be1, XLB_BACKEND_F_ACTIVE, S_RLC) ?:
	       backend_set(RL2, w->be2, XLB_BACKEND_F_ACTIVE, S_RLC) ?:
	       svc_add(w->vip, 80, 6, S_RLC, w->mode, 13) ?:
	       lc_list(S_RLC, ids, wt, 2) ?: svc_sched(w->vip, XLB_SVC_F_LC, 0);
}

/* Frame in of flow s of w's service as it leaves for RL1. */
static void rlc_expect(const struct rlcw *w, struct pkt *exp,
		       const struct pkt *in, const struct spec *s)
{
	if (w->mode == XLB_MODE_TUN)
		tun_expect(exp, in, w->be1, w->mac1, s);
	else
		dr_expect(exp, in, w->mac1, MAC_XA);
}

/* Flow s's next frame goes to RL1 (exact bytes). */
static int rlc_fwd(const struct rlcw *w, const struct spec *s, char *why,
		   size_t n)
{
	struct pkt in, exp;

	pkt_mk(&in, s);
	rlc_expect(w, &exp, &in, s);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
}

/* The established dr/tun flow a (client port sport) of w's service (on RL1;
 * RL2 so loaded that a flow scheduled afresh goes to RL1 too) on CPU 0,
 * while CPU 1 churns its element between a and b (sport + 1), whose entry
 * is on RL2: every frame of a goes to RL1, and b's entry is never written. */
static int dsr_lc_recycled(const struct rlcw *w, uint16_t sport, char *why,
			   size_t n)
{
	struct spec a = { .fam = w->fam, .src = w->client, .dst = w->vip,
			  .proto = 6, .sport = sport, .dport = 80, .paylen = 100 };
	struct spec b = a;
	struct pkt in, exp;
	int err;

	b.sport = sport + 1;
	flows_clear();
	if (rlc_setup(w) || conns_put(RL1, 0, 0) || conns_put(RL2, 1 << 30, 0))
		return snprintf(why, n, "cannot set up the service"), -1;
	err = rlc_fwd(w, &a, why, n);
	a.tcpflags = 0x10;
	err = err ?: rlc_fwd(w, &a, why, n) ?:
	      want_state(&a, XLB_CT_ESTABLISHED, why, n);
	err = err ?: churn_pair(&a, &b, XLB_CT_SYN_SENT, why, n);
	if (!err) {
		vb.backend_id = RL2;
		xlb_dsr_ct_tag_put(&kb, &vb);   /* as the data plane tags it */
		pkt_mk(&in, &a);
		rlc_expect(w, &exp, &in, &a);
		err = churn_race(&in, XDP_TX_, &exp, -1, NULL, "entries of A",
				 why, n);
	}
	flows_clear();
	conns_put(RL1, 0, 0);
	conns_put(RL2, 0, 0);
	svc_del(&(struct xlb_svc_key){ .vip = A(w->vip), .port_be = htons(80),
				       .proto = 6, .family = w->fam == 6 ?
				       XLB_AF_INET6 : XLB_AF_INET });
	return err;
}

ROW(r_dsr_lc_recycled) { return dsr_lc_recycled(&RLC4, 51020, why, n); }
ROW(r_dsr6_lc_recycled) { return dsr_lc_recycled(&RLC6, 51050, why, n); }
ROW(r_tun_lc_recycled) { return dsr_lc_recycled(&TLC4, 51024, why, n); }
ROW(r_tun6_lc_recycled) { return dsr_lc_recycled(&TLC6, 51054, why, n); }
ROW(r_dsr_wlc_recycled) { return dsr_lc_recycled(&RWLC4, 51026, why, n); }

static const struct row rows[] = {
	{ .desc = "nat v4 TCP: the client's and the server's FIN on two CPUs at once: both count (TIME_WAIT), the backend's connection moved once", .fn = r_nat4_fin_race },
	{ .desc = "fullnat v4 TCP: the client's and the server's FIN on two CPUs at once: both count (TIME_WAIT), the backend's connection moved once", .fn = r_fnat4_fin_race },
	{ .desc = "dr lc TCP: an established flow's element deleted and taken by another flow (another backend) on another CPU: its frames keep its backend, the other's entry is not written", .fn = r_dsr_lc_recycled },
	{ .desc = "dr lc TCP v6: an established flow's element deleted and taken by another flow (another backend) on another CPU: its frames keep its backend, the other's entry is not written", .fn = r_dsr6_lc_recycled },
	{ .desc = "tun lc TCP: an established flow's element deleted and taken by another flow (another backend) on another CPU: its frames keep its backend, the other's entry is not written", .fn = r_tun_lc_recycled },
	{ .desc = "tun lc TCP v6: an established flow's element deleted and taken by another flow (another backend) on another CPU: its frames keep its backend, the other's entry is not written", .fn = r_tun6_lc_recycled },
	{ .desc = "dr wlc TCP (weights 3:1): an established flow's element deleted and taken by another flow (another backend) on another CPU: its frames keep its backend, the other's entry is not written", .fn = r_dsr_wlc_recycled },
	{ .desc = "nat v6 TCP: the client's and the server's FIN on two CPUs at once: both count (TIME_WAIT), the backend's connection moved once", .fn = r_nat6_fin_race },
	{ .desc = "fullnat v6 TCP: the client's and the server's FIN on two CPUs at once: both count (TIME_WAIT), the backend's connection moved once", .fn = r_fnat6_fin_race },
	{ .desc = "nat v4 TCP: an established flow's element deleted and taken by another flow on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_nat4_recycled },
	{ .desc = "nat v4 TCP: an entry without a tag (an element caught before its first entry's tag is written) is a miss: the ACK is dropped, not forwarded by it", .fn = r_nat4_untagged },
	{ .desc = "fullnat v6 TCP: an entry without a tag is a miss: the ACK is dropped, not forwarded by it", .fn = r_fnat6_untagged },
	{ .desc = "fullnat v4 TCP: an established flow's element deleted and taken by another flow (another local port) on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_fnat4_recycled },
	{ .desc = "nat v4 TCP at max_flows: the ring's established flow's element deleted and taken by an embryonic flow on another CPU: a new flow never ends it for the ring's key (every SYN refused)", .fn = r_nat4_evict_recycled },
	{ .desc = "nat v6 TCP: an established flow's element deleted and taken by another flow on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_nat6_recycled },
	{ .desc = "fullnat v6 TCP: an established flow's element deleted and taken by another flow (another local port) on another CPU: its frames keep its translation or drop, the other's entry is not written", .fn = r_fnat6_recycled },
};

const struct suite fx_ctrecycle = { "ctrecycle", rows, sizeof(rows) / sizeof(rows[0]) };
