// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the settings' slots (include/xlb_cfgslots.h): a packet
 * never reads the instance's settings or LIPs half rewritten. The rest of
 * what the settings do: the rows of their users (fx_dsr's tun rows, fx_nat,
 * fx_flood, fx_synproxy). */
#include <arpa/inet.h>

#include "fixture.h"

#define VIP_F4_UDP_BE "198.18.0.12"     /* BF_2, VIP_F4:53's backend */
#define LIP_X "198.18.1.3"              /* LIPs no frame expected has */
#define LIP_Y "203.0.113.77"

/* The settings the writer cycles through (all give the row's frame):
 * three, so that a slot is rewritten with other bytes than it holds. */
static struct xlb_cfg cfg[3];

/* Settings i % 3, as xlbd writes them (cfgslots_set). */
static int cfg_write(uint64_t i)
{
	return cfgslots_set(cfgw, &cfg[i % 3]);
}

/* The tunnel's IPv6 outer source of an established tun flow, rewritten on
 * another CPU between the fixture's prefix (/64: the flow's hash fills
 * the low 64 bits) and the address it gives this flow, as a /128 and as a
 * /96 (the hash fills the low 32 bits as for the /64): the same outer
 * header from all three. The length of one with the address of another
 * gives another source (the prefix alone, or its low 64 bits with the
 * hash's low 32) or the same. */
ROW(r_cfg_tun_torn)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 43300, .dport = 80, .paylen = 10 };
	struct pkt in, exp;
	int err;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	cfgslots_get(cfgw, &cfg[0]);
	cfg[2] = cfg[1] = cfg[0];
	cfg[1].g.tun_src_v6 = cfg[2].g.tun_src_v6 = tun_src(&s, 6);
	cfg[1].g.tun_src_v6_plen = 128;
	cfg[2].g.tun_src_v6_plen = 96;
	err = fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n);
	s.tcpflags = 0x10;
	pkt_mk(&in, &s);
	tun_expect(&exp, &in, "2001:db8::13", MAC_B6_3, &s);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	/* Under the other two too: the same frame. */
	for (uint64_t i = 1; i < 3; i++)
		err = err ?: cfg_write(i) ?: expect(&in, XDP_TX_, &exp, XLB_R_TX,
						    why, n);
	err = err ?: torn_race(&in, XDP_TX_, &exp, cfg_write, NULL,
			       "tunnel sources", why, n);
	cfg_write(0);
	return err;
}

/* A fullnat UDP client port whose flow takes the second LIP of two (the
 * pool's candidate from its hash). */
static uint16_t fnat_second_lip_port(struct spec *s)
{
	uint32_t range = LPORT_MAX - LPORT_MIN + 1;

	for (s->sport = 43400; ; s->sport++)
		if (spec_hash(s) % (2 * range) / range == 1)
			return s->sport;
}

/* The IPv4 LIPs of new fullnat flows, rewritten on another CPU between
 * one LIP (the fixture's) and two (another, then the fixture's; twice,
 * with two others): a flow whose candidate is the second LIP of two gets
 * the fixture's LIP and the same port from all three. The count of one
 * with the list of another, or a LIP half rewritten, gives another
 * source. */
ROW(r_cfg_lip_torn)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .dport = 53, .paylen = 40 };
	struct pkt in, exp;
	int err;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	fnat_second_lip_port(&s);
	cfgslots_get(cfgw, &cfg[0]);
	for (int i = 1; i < 3; i++) {
		cfg[i] = cfg[0];
		cfg[i].lips[0] = A(i == 1 ? LIP_X : LIP_Y);
		cfg[i].lips[1] = A(LIP4);
		cfg[i].g.n_lips_v4 = 2;
	}
	nat_clear();
	pkt_mk(&in, &s);
	xlat_expect(&exp, &in, MAC_B2, MAC_XA, LIP4, fnat_port(&s), VIP_F4_UDP_BE,
		    5353);
	err = torn_race_new_flows(&s, &in, &exp, cfg_write, "LIP lists", why, n);
	cfg_write(0);
	nat_clear();
	return err;
}

static const struct row rows[] = {
	{ .desc = "tun v6 outer source rewritten on another CPU between a /64 prefix and the /128 and /96 it gives the flow: every frame the one all give", .fn = r_cfg_tun_torn },
	{ .desc = "fullnat v4 LIPs rewritten on another CPU between one LIP and two of two lists (the flow's second): every new flow's frame the one all give", .fn = r_cfg_lip_torn },
};

const struct suite fx_cfgslots = { "cfgslots", rows, sizeof(rows) / sizeof(rows[0]) };
