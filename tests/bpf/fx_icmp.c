// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: ICMP errors about flows (dr, tun, nat, fullnat) and ICMP
 * that is not ours. */
#include "fixture.h"

ROW(r_icmp_flow)
{
	/* The flow sits on B1; the table now says B2: the error must follow
	 * the flow table, and must not create or move any flow. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 46000, .dport = 80, .paylen = 10 };
	struct pkt in, exp;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&s, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	icmp_err_mk(&in, &s, 3, 4, 1400);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_icmp_noflow)
{
	/* No flow entry: the Maglev choice for the client's tuple. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 46001, .dport = 80, .paylen = 10 };
	struct pkt in, exp;
	uint32_t bid;
	int err;

	flows_clear();
	table_one(S_STICKY, B2);
	icmp_err_mk(&in, &s, 11, 0, 0);
	dr_expect(&exp, &in, MAC_B2, MAC_XA);
	err = expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
	table_one(S_STICKY, B1);
	if (!err && flow_backend(&s, &bid) == 0) {
		snprintf(why, n, "an ICMP error created a flow entry");
		return -1;
	}
	return err;
}

ROW(r_icmp6_flow)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 6,
			  .sport = 46002, .dport = 80, .paylen = 10 };
	struct pkt in, exp;

	icmp_err_mk(&in, &s, 2, 0, 1280);
	dr_expect(&exp, &in, MAC_B6_1, MAC_XA);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_icmp_tun)
{
	/* Tunnelled like the flow's data: same backend, same outer source. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 46003, .dport = 80, .paylen = 10 };
	struct pkt in, exp;

	icmp_err_mk(&in, &s, 3, 4, 1400);
	tun_expect(&exp, &in, "198.18.0.13", MAC_B3, &s);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_icmp_not_vip)
{
	/* An error about some other host's flow goes to the stack. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = "198.18.0.200", .proto = 6,
			  .sport = 46004, .dport = 80, .paylen = 10 };
	struct pkt in;

	icmp_err_mk(&in, &s, 3, 4, 1400);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_echo)
{
	struct pkt in;
	size_t at;

	memset(&in, 0, sizeof(in));
	eth(&in, MAC_XA, MAC_CLIENT, 0x0800);
	ip4(&in, CLIENT4, VIP_DR4, 1, 16, 0, 1);
	at = in.len;
	put(&in, (uint8_t[]){ 8, 0, 0, 0, 0, 1, 0, 1, 'x', 'l', 'b', '!', 0, 0, 0, 0 }, 16);
	set16(in.b + at + 2, fold(sum16(in.b + at, 16, 0)));
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_ndp)
{
	/* Neighbour solicitation for the VIP must reach the stack. */
	struct pkt in;
	size_t at;

	memset(&in, 0, sizeof(in));
	eth(&in, MAC_XA, MAC_CLIENT, 0x86dd);
	ip6(&in, CLIENT6, VIP_DR6, 58, 24);
	at = in.len;
	put(&in, (uint8_t[]){ 135, 0, 0, 0, 0, 0, 0, 0 }, 8);
	put(&in, &(union xlb_addr){ .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 } }, 16);
	set16(in.b + at + 2, l4_csum(in.b + 14, in.b + at, 24, 58));
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_nat_icmp_from_backend)
{
	/* Port unreachable from the backend about C:cp -> R:rp reaches the
	 * client from the VIP, quoting C:cp -> V:vp. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 50030, .dport = 53, .paylen = 20 };
	struct spec q = spec_rev(&s, CLIENT4, 50030, "198.18.0.12", 5353, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50030,
		     "198.18.0.12", 5353, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_B2, "198.18.0.12", CLIENT4, 3, 3, 0, &q);
	icmp_mk(&exp, MAC_CLIENT, MAC_XA, VIP_N4, CLIENT4, 3, 3, 0, &s);
	hop(&exp);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_fnat_icmp_from_backend_side)
{
	/* Frag needed from a router on the backend side, sent to the LIP about
	 * LIP:lp -> R:rp (TCP: the quoted checksum is cut off). */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 50031, .dport = 80, .paylen = 20 };
	uint16_t lp = fnat_port(&s);
	struct spec q = spec_rev(&s, LIP4, lp, "198.18.1.11", 80, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n))
		return -1;
	icmp_mk(&in, MAC_YA, MAC_Y1, "198.18.1.254", LIP4, 3, 4, 1400, &q);
	icmp_mk(&exp, MAC_CLIENT, MAC_XA, VIP_F4, CLIENT4, 3, 4, 1400, &s);
	hop(&exp);
	ingress = ifx_ya;
	return expect(&in, XDP_REDIRECT_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_nat_icmp_from_client_side)
{
	/* A router on the client side cannot deliver our reply V:vp -> C:cp:
	 * the error goes to the backend, quoting R:rp -> C:cp. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 50032, .dport = 53, .paylen = 20 };
	struct spec q = spec_rev(&s, VIP_N4, 53, CLIENT4, 50032, 0);
	struct spec qx = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 50032, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50032,
		     "198.18.0.12", 5353, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_CLIENT, ROUTER4, VIP_N4, 3, 1, 0, &q);
	icmp_mk(&exp, MAC_B2, MAC_XA, ROUTER4, "198.18.0.12", 3, 1, 0, &qx);
	hop(&exp);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_fnat6_icmp_too_big)
{
	/* ICMPv6 packet too big from the client side about our reply: to the
	 * backend from the LIP, quoting R:rp -> LIP:lp; and one from the
	 * backend side back to the client. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 17,
			  .sport = 50033, .dport = 53, .paylen = 20 };
	uint16_t lp = fnat_port(&s);
	struct spec q = spec_rev(&s, VIP_F6, 53, CLIENT6, 50033, 0);
	struct spec qx = spec_rev(&s, "2001:db8::12", 5353, LIP6, lp, 0);
	struct spec q2 = spec_rev(&s, LIP6, lp, "2001:db8::12", 5353, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_2, MAC_XA, LIP6, lp,
		     "2001:db8::12", 5353, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_CLIENT, "2001:db8::fe", VIP_F6, 2, 0, 1280, &q);
	icmp_mk(&exp, MAC_B6_2, MAC_XA, LIP6, "2001:db8::12", 2, 0, 1280, &qx);
	hop(&exp);
	if (expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_B6_2, "2001:db8::12", LIP6, 1, 4, 0, &q2);
	icmp_mk(&exp, MAC_CLIENT, MAC_XA, VIP_F6, CLIENT6, 1, 4, 0, &s);
	hop(&exp);
	if (expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n)) {
		strncat(why, " (backend side)", n - strlen(why) - 1);
		return -1;
	}
	return 0;
}

ROW(r_nat_icmp_no_flow)
{
	/* An error about a nat flow the table does not know: dropped. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 50034, .dport = 53, .paylen = 20 };
	struct spec q = spec_rev(&s, VIP_N4, 53, CLIENT4, 50034, 0);
	struct pkt in;

	nat_clear();
	icmp_mk(&in, MAC_XA, MAC_CLIENT, ROUTER4, VIP_N4, 3, 1, 0, &q);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_ICMP_NO_FLOW, why, n);
}

static const struct row rows[] = {
	{ .desc = "ICMP error about a flow follows the flow table", .fn = r_icmp_flow },
	{ .desc = "ICMP error without flow entry: Maglev choice, no flow created", .fn = r_icmp_noflow },
	{ .desc = "ICMPv6 packet-too-big about a flow forwarded (dr)", .fn = r_icmp6_flow },
	{ .desc = "ICMP error about a tun flow tunnelled like its data", .fn = r_icmp_tun },
	{ .desc = "ICMP error about a non-VIP flow passed", .fn = r_icmp_not_vip },
	{ .desc = "ICMP echo to a VIP passed", .fn = r_echo },
	{ .desc = "ICMPv6 neighbour solicitation passed", .fn = r_ndp },
	{ .desc = "nat ICMP port unreachable from the backend: to the client from the VIP", .fn = r_nat_icmp_from_backend },
	{ .desc = "fullnat ICMP frag needed to the LIP: to the client, inner translated", .fn = r_fnat_icmp_from_backend_side },
	{ .desc = "nat ICMP error about a reply: to the backend, inner translated", .fn = r_nat_icmp_from_client_side },
	{ .desc = "fullnat ICMPv6 too big / unreachable in both directions", .fn = r_fnat6_icmp_too_big },
	{ .desc = "nat ICMP error without flow entry: dropped", .fn = r_nat_icmp_no_flow },
};

const struct suite fx_icmp = { "icmp", rows, sizeof(rows) / sizeof(rows[0]) };
