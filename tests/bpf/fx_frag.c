// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: IPv4 options and IP fragments (IPv4, IPv6 fragment header)
 * in every packet mode: options stay in the packet, and every fragment of a
 * datagram reaches the backend of its first fragment, exact bytes. */
#include "fixture.h"

#define FRAG_ID6 0x1234abcdu

/* ---- IPv4 options ---------------------------------------------------------- */

ROW(r_opts_dr)
{
	/* 4, 8 and 40 option bytes: L4 found behind them, frame only
	 * re-addressed. */
	static const size_t lens[] = { 4, 8, 40 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 48000, .dport = 80, .paylen = 100,
			  .tcpflags = 0x18 };
	int err = 0;

	for (size_t i = 0; i < 3 && !err; i++) {
		s.ipopts = lens[i];
		s.sport = (uint16_t)(48000 + i);
		err = fwd_dr(&s, MAC_B1, why, n);
	}
	return err;
}

ROW(r_opts_tun)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 48010, .dport = 80, .paylen = 100, .ipopts = 12 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_opts_nat)
{
	/* The ports behind 8 (nat) and 20 (fullnat) option bytes are
	 * translated, the options kept. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 48020, .dport = 80, .paylen = 20, .ipopts = 8 };
	struct spec f = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .sport = 48021, .dport = 53, .paylen = 20, .ipopts = 20 };

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 48020, "198.18.1.11", 8080, why, n))
		return -1;
	return nat_step(&f, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4,
			fnat_port(&f), "198.18.0.12", 5353, why, n);
}

/* ---- IPv6 extension headers ------------------------------------------------ */

ROW(r_ext6_dr)
{
	/* Destination options; hop-by-hop too; and a routing header with no
	 * segment left: L4 found behind them, frame only re-addressed. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 100 };
	int err = 0;

	for (s.ip6ext = 1; s.ip6ext <= 3 && !err; s.ip6ext++)
		err = fwd_dr(&s, MAC_B6_1, why, n);
	return err;
}

ROW(r_ext6_tun)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 100, .ip6ext = 2 };

	return fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_ext6_nat)
{
	/* The ports behind the extension headers are translated, the
	 * headers kept. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_N6, .proto = 6,
			  .sport = 48140, .dport = 80, .ip6ext = 1 };
	struct spec f = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 17,
			  .sport = 48151, .dport = 53, .paylen = 20, .ip6ext = 3 };

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6, 48140,
		     "2001:db8::11", 80, why, n))
		return -1;
	return nat_step(&f, 0, XDP_TX_, XLB_R_TX, MAC_B6_2, MAC_XA, LIP6,
			fnat_port(&f), "2001:db8::12", 5353, why, n);
}

/* ---- fragments --------------------------------------------------------------- */

/* Where a fragment of the datagram of s must go: its tun backend (be,
 * mac), or else the matching fragment of out, the datagram as a whole
 * would leave. */
struct frag_want {
	const char *be;
	const uint8_t *mac;
	const struct pkt *out;
	int verdict, reason;
	int ingress;
};

/* Splits the datagram of s into a first, a middle and a last fragment and
 * runs them in that order; with clear, the flow table is emptied after the
 * first, so the later ones find their backend by the ports alone. */
static int frags_run(const struct spec *s, const struct frag_want *w,
		     int clear, char *why, size_t n)
{
	struct pkt whole, in, exp;
	size_t hl, total, off = 0;

	pkt_mk(&whole, s);
	hl = s->fam == 4 ? (whole.b[14] & 15) * 4 : 40;
	total = whole.len - 14 - hl;
	for (int i = 0; i < 3; i++) {
		size_t len = i < 2 ? 1208 : total - off;

		pkt_fragment(&in, &whole, off, len, i < 2, FRAG_ID6);
		if (w->be)
			tun_expect(&exp, &in, w->be, w->mac, s);
		else
			pkt_fragment(&exp, w->out, off, len, i < 2, FRAG_ID6);
		ingress = w->ingress;
		if (expect(&in, w->verdict, &exp, w->reason, why, n)) {
			snprintf(why + strlen(why), n - strlen(why),
				 " (fragment %d of 3)", i + 1);
			return -1;
		}
		if (clear && i == 0)
			flows_clear();
		off += len;
	}
	return 0;
}

/* The whole datagram of s as nat/fullnat sends it on (xlat_expect). */
static struct frag_want xlat_want(struct pkt *out, const struct spec *s,
				  const uint8_t *dmac, const uint8_t *smac,
				  const char *src, uint16_t sport,
				  const char *dst, uint16_t dport)
{
	struct pkt whole;

	pkt_mk(&whole, s);
	xlat_expect(out, &whole, dmac, smac, src, sport, dst, dport);
	return (struct frag_want){ .out = out, .verdict = XDP_TX_,
				   .reason = XLB_R_FWD_FRAGMENT };
}

ROW(r_frag_dr4)
{
	/* Two backends: a port whose slot differs from the slot of ports
	 * 0/0, so a later fragment reaches B1/B2 only through the ports its
	 * first fragment left, even with the flow table emptied. */
	const uint32_t ids[2] = { B1, B2 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 48100, .dport = 80, .paylen = 3000,
			  .tcpflags = 0x18 };
	struct spec z = s;
	struct frag_want w = { .verdict = XDP_TX_, .reason = XLB_R_FWD_FRAGMENT };
	struct pkt whole, out;
	uint32_t slot;
	int err;

	z.sport = z.dport = 0;
	while ((spec_hash(&s) % 13 & 1) == (spec_hash(&z) % 13 & 1))
		s.sport++;
	slot = spec_hash(&s) % 13;
	flows_clear();
	table_set(S_STICKY, 13, ids, 2);
	pkt_mk(&whole, &s);
	dr_expect(&out, &whole, slot & 1 ? MAC_B2 : MAC_B1, MAC_XA);
	w.out = &out;
	err = frags_run(&s, &w, 1, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_frag_dr6)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 17,
			  .sport = 48110, .dport = 53, .paylen = 3000 };
	struct frag_want w = { .verdict = XDP_TX_, .reason = XLB_R_FWD_FRAGMENT };
	struct pkt whole, out;

	pkt_mk(&whole, &s);
	dr_expect(&out, &whole, MAC_B6_2, MAC_XA);
	w.out = &out;
	return frags_run(&s, &w, 0, why, n);
}

ROW(r_frag_tun)
{
	/* 4in6 and 6in4: each fragment tunnelled whole, same outer source. */
	struct spec s4 = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 17,
			   .sport = 48120, .dport = 53, .paylen = 3000 };
	struct spec s6 = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 17,
			   .sport = 48121, .dport = 53, .paylen = 3000 };
	struct frag_want w4 = { .be = "2001:db8::13", .mac = MAC_B6_3,
				.verdict = XDP_TX_, .reason = XLB_R_FWD_FRAGMENT };
	struct frag_want w6 = { .be = "198.18.0.13", .mac = MAC_B3,
				.verdict = XDP_TX_, .reason = XLB_R_FWD_FRAGMENT };

	if (frags_run(&s4, &w4, 0, why, n))
		return -1;
	return frags_run(&s6, &w6, 0, why, n);
}

ROW(r_frag_nat4)
{
	/* A 3000-byte query and a 3000-byte answer, both fragmented. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 48130, .dport = 53, .paylen = 3000 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 48130, 0);
	struct frag_want w;
	struct pkt out;

	nat_clear();
	w = xlat_want(&out, &s, MAC_B2, MAC_XA, CLIENT4, 48130, "198.18.0.12",
		      5353);
	if (frags_run(&s, &w, 0, why, n))
		return -1;
	w = xlat_want(&out, &r, MAC_CLIENT, MAC_XA, VIP_N4, 53, CLIENT4, 48130);
	if (frags_run(&r, &w, 0, why, n)) {
		strncat(why, " (reply)", n - strlen(why) - 1);
		return -1;
	}
	return 0;
}

ROW(r_frag_nat6)
{
	/* TCP: the SYN opens the flow, a fragmented segment follows it. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_N6, .proto = 6,
			  .sport = 48140, .dport = 80 };
	struct frag_want w;
	struct pkt out;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6, 48140,
		     "2001:db8::11", 80, why, n))
		return -1;
	s.tcpflags = 0x18;
	s.paylen = 3000;
	w = xlat_want(&out, &s, MAC_B6_1, MAC_XA, CLIENT6, 48140,
		      "2001:db8::11", 80);
	return frags_run(&s, &w, 0, why, n);
}

ROW(r_frag_fnat)
{
	struct spec s4 = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			   .sport = 48150, .dport = 53, .paylen = 3000 };
	struct spec s6 = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 17,
			   .sport = 48151, .dport = 53, .paylen = 3000 };
	struct frag_want w;
	struct pkt out;

	nat_clear();
	w = xlat_want(&out, &s4, MAC_B2, MAC_XA, LIP4, fnat_port(&s4),
		      "198.18.0.12", 5353);
	if (frags_run(&s4, &w, 0, why, n))
		return -1;
	w = xlat_want(&out, &s6, MAC_B6_2, MAC_XA, LIP6, fnat_port(&s6),
		      "2001:db8::12", 5353);
	return frags_run(&s6, &w, 0, why, n);
}

ROW(r_frag_orphan)
{
	/* A later fragment whose first one never came: for a VIP, dropped
	 * (nothing can complete it); for another host, passed. Fragments of
	 * other protocols (a large ping) are the stack's as before. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 17,
			  .sport = 48160, .dport = 53, .paylen = 3000 };
	struct pkt whole, in;
	int err;

	pkt_mk(&whole, &s);
	set16(whole.b + 18, 0x4321);
	ip4_recsum(&whole);
	pkt_fragment(&in, &whole, 1208, 1208, 1, 0);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_FRAG_UNKNOWN, why, n);
	s.dst = "198.18.0.200";
	pkt_mk(&whole, &s);
	pkt_fragment(&in, &whole, 1208, 1208, 1, 0);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_FRAGMENT, why, n);
	s.dst = VIP_DR4;
	s.proto = 1;
	pkt_mk(&whole, &s);
	pkt_fragment(&in, &whole, 1208, 1208, 1, 0);
	return err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_FRAGMENT, why, n);
}

static const struct row rows[] = {
	{ .desc = "IPv4 options (4, 8, 40 bytes), dr: forwarded, options kept", .fn = r_opts_dr },
	{ .desc = "IPv4 options, tun: tunnelled with the options inside", .fn = r_opts_tun },
	{ .desc = "IPv4 options, nat and fullnat: ports behind them translated", .fn = r_opts_nat },
	{ .desc = "IPv6 extension headers (1, 2, 3), dr: forwarded, headers kept", .fn = r_ext6_dr },
	{ .desc = "IPv6 extension headers, tun: tunnelled with them inside", .fn = r_ext6_tun },
	{ .desc = "IPv6 extension headers, nat and fullnat: ports behind them translated", .fn = r_ext6_nat },
	{ .desc = "dr v4 TCP first/middle/last: all to the first's backend, flow table emptied between", .fn = r_frag_dr4 },
	{ .desc = "dr v6 UDP fragment header: first/middle/last forwarded", .fn = r_frag_dr6 },
	{ .desc = "tun 4in6 and 6in4: every fragment tunnelled to one backend", .fn = r_frag_tun },
	{ .desc = "nat v4 UDP: fragmented query and fragmented answer translated", .fn = r_frag_nat4 },
	{ .desc = "nat v6 TCP: fragmented segment of an open connection translated", .fn = r_frag_nat6 },
	{ .desc = "fullnat v4 and v6 UDP: fragments from the flow's LIP:lport", .fn = r_frag_fnat },
	{ .desc = "later fragment without its first: VIP drop, other host and ICMP pass", .fn = r_frag_orphan },
};

const struct suite fx_frag = { "frag", rows, sizeof(rows) / sizeof(rows[0]) };
