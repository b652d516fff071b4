// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the settings' slots (include/xlb_cfgslots.h): a packet
 * never reads the instance's settings or LIPs half rewritten. The rest of
 * what the settings do: the rows of their users (fx_dsr's tun rows, fx_nat,
 * fx_flood, fx_synproxy). */
#include <arpa/inet.h>

#include "fixture.h"
#include "xlb_ct.h"

#define VIP_F4_UDP_BE "198.18.0.12"     /* BF_2, VIP_F4:53's backend */
#define LIP_X "198.18.1.3"              /* a LIP no frame expected has */

/* The settings the writer alternates between (both give the row's frame). */
static struct xlb_cfg cfg_a, cfg_b;
/* The fullnat row's flow, deleted after each frame so that each is new. */
static struct xlb_flow_key flow_k, flow_rk;

/* A (odd) or B, as xlbd writes them (cfgslots_set). */
static int cfg_write(int odd)
{
	return cfgslots_set(cfgw, odd ? &cfg_a : &cfg_b);
}

/* The tunnel's IPv6 outer source of an established tun flow, rewritten on
 * another CPU between the fixture's prefix (/64: the flow's hash fills
 * the low 64 bits) and the address it gives this flow (/128): the same
 * outer header from both. The length of one with the address of the
 * other gives another source (the prefix alone, /128) or the same. */
ROW(r_cfg_tun_torn)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 43300, .dport = 80, .paylen = 10 };
	struct pkt in, exp;
	int err;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	cfgslots_get(cfgw, &cfg_a);
	cfg_b = cfg_a;
	cfg_b.g.tun_src_v6 = tun_src(&s, 6);
	cfg_b.g.tun_src_v6_plen = 128;
	err = fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n);
	s.tcpflags = 0x10;
	pkt_mk(&in, &s);
	tun_expect(&exp, &in, "2001:db8::13", MAC_B6_3, &s);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	err = err ?: torn_race(&in, XDP_TX_, &exp, cfg_write, NULL,
			       "tunnel sources", why, n);
	cfg_write(1);
	return err;
}

/* After each frame: the flow and its local port claim gone, so that the
 * next frame is a new flow and picks a LIP again. */
static int fnat_forget(void)
{
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.flows), &flow_k) ?:
	       bpf_map_delete_elem(bpf_map__fd(skel->maps.nat_rev), &flow_rk);
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
 * one LIP (the fixture's) and two (another, then the fixture's): a flow
 * whose candidate is the second LIP of two gets the fixture's LIP and the
 * same port from both. The count of one with the list of the other, or a
 * LIP half rewritten, gives another source. */
ROW(r_cfg_lip_torn)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .dport = 53, .paylen = 40 };
	struct pkt in, exp;
	struct xlb_flow f;
	int err;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	fnat_second_lip_port(&s);
	cfgslots_get(cfgw, &cfg_a);
	cfg_b = cfg_a;
	cfg_b.lips[0] = A(LIP_X);
	cfg_b.lips[1] = A(LIP4);
	cfg_b.g.n_lips_v4 = 2;
	nat_clear();
	pkt_mk(&in, &s);
	xlat_expect(&exp, &in, MAC_B2, MAC_XA, LIP4, fnat_port(&s), VIP_F4_UDP_BE,
		    5353);
	err = expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	if (!err && flow_get(&s, &f)) {
		snprintf(why, n, "no flow entry");
		err = -1;
	}
	if (err)
		goto out;
	flow_k = spec_key(&s);
	xlb_ct_rev_key(&flow_k, &f, &flow_rk);
	/* Under B too: the same frame. */
	err = fnat_forget() ?: cfg_write(0) ?:
	      expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n) ?: fnat_forget();
	err = err ?: torn_race(&in, XDP_TX_, &exp, cfg_write, fnat_forget,
			       "LIP lists", why, n);
out:
	cfg_write(1);
	nat_clear();
	return err;
}

static const struct row rows[] = {
	{ .desc = "tun v6 outer source rewritten on another CPU between a /64 prefix and the /128 it gives the flow: every frame the one both give", .fn = r_cfg_tun_torn },
	{ .desc = "fullnat v4 LIPs rewritten on another CPU between one LIP and two (the flow's second): every new flow's frame the one both give", .fn = r_cfg_lip_torn },
};

const struct suite fx_cfgslots = { "cfgslots", rows, sizeof(rows) / sizeof(rows[0]) };
