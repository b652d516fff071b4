// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: nat and fullnat translation, connection states, timeouts,
 * local ports and replies. */
#include "fixture.h"

ROW(r_nat4_tcp)
{
	/* Two-armed: client on xa, backend 198.18.1.11:8080 behind ya. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50000, .dport = 80, .paylen = 100 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50000, 0x12);

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50000, "198.18.1.11", 8080, why, n))
		return -1;
	if (want_state(&s, XLB_CT_SYN_SENT, why, n))
		return -1;
	if (nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50000, why, n)) {
		strncat(why, " (reply)", n - strlen(why) - 1);
		return -1;
	}
	/* The SYN-ACK alone does not establish: the client's ACK does. */
	if (want_state(&s, XLB_CT_SYN_RECV, why, n))
		return -1;
	s.tcpflags = 0x10;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50000, "198.18.1.11", 8080, why, n))
		return -1;
	return want_state(&s, XLB_CT_ESTABLISHED, why, n);
}

ROW(r_nat4_udp_nocsum)
{
	/* Port mapping 53 -> 5353; a zero UDP checksum stays zero, a reply
	 * with one gets it updated. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 50001, .dport = 53, .paylen = 33, .udp_nocsum = 1 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 50001, 0);

	r.udp_nocsum = 0;
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50001,
		     "198.18.0.12", 5353, why, n))
		return -1;
	if (want_state(&s, XLB_CT_UDP, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_N4,
			53, CLIENT4, 50001, why, n);
}

ROW(r_nat6_tcp)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_N6, .proto = 6,
			  .sport = 50002, .dport = 80, .paylen = 200 };
	struct spec r = spec_rev(&s, "2001:db8::11", 80, CLIENT6, 50002, 0x12);

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6, 50002,
		     "2001:db8::11", 80, why, n))
		return -1;
	if (nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_N6, 80,
		     CLIENT6, 50002, why, n))
		return -1;
	/* Later client packets use the same translation. */
	s.tcpflags = 0x10;
	return nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6,
			50002, "2001:db8::11", 80, why, n);
}

ROW(r_fnat4_tcp)
{
	/* Source becomes LIP:lport (predicted from the flow hash), the
	 * backend's reply to LIP:lport goes back as VIP -> client. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 50003, .dport = 80, .paylen = 100 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "198.18.1.11", 80, LIP4, lp, 0x12);
	struct xlb_flow f;

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n))
		return -1;
	if (flow_get(&s, &f) || ntohs(f.lport_be) != lp ||
	    f.mode != XLB_MODE_FULLNAT) {
		snprintf(why, n, "flow entry does not hold the local port");
		return -1;
	}
	if (nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 50003, why, n) ||
	    want_state(&s, XLB_CT_SYN_RECV, why, n))
		return -1;
	s.tcpflags = 0x10;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n))
		return -1;
	return want_state(&s, XLB_CT_ESTABLISHED, why, n);
}

ROW(r_fnat4_udp)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .sport = 50004, .dport = 53, .paylen = 40 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, LIP4, lp, 0);

	/* The route to the backend is on xa, from a LIP of ya: still TX. */
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, lp,
		     "198.18.0.12", 5353, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F4, 53,
			CLIENT4, 50004, why, n);
}

ROW(r_fnat6_udp)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 17,
			  .sport = 50005, .dport = 53, .paylen = 40 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "2001:db8::12", 5353, LIP6, lp, 0);

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_2, MAC_XA, LIP6, lp,
		     "2001:db8::12", 5353, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F6, 53,
			CLIENT6, 50005, why, n);
}

ROW(r_fnat6_tcp)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_F6, .proto = 6,
			  .sport = 50006, .dport = 80, .paylen = 300 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "2001:db8::11", 8080, LIP6, lp, 0x12);

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, LIP6, lp,
		     "2001:db8::11", 8080, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F6, 80,
			CLIENT6, 50006, why, n);
}

/* Sets the fullnat port range (0, 0: the fixture's). */
ROW(r_fnat_exhaust)
{
	/* Two local ports: two flows get them, the third is a counted drop,
	 * the first two keep flowing (answered, and continued by their
	 * clients: no longer embryonic, no port taken from them). */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .sport = 51000, .dport = 53, .paylen = 20 };
	struct spec b = a, c = a;
	struct xlb_flow fa, fb;
	struct pkt in;
	int err = -1;

	nat_clear();
	lport_range(30000, 30001);
	b.sport = 51001;
	c.sport = 51002;
	pkt_mk(&in, &a);
	if (expect(&in, XDP_TX_, NULL, XLB_R_TX, why, n))
		goto out;
	pkt_mk(&in, &b);
	if (expect(&in, XDP_TX_, NULL, XLB_R_TX, why, n))
		goto out;
	if (flow_get(&a, &fa) || flow_get(&b, &fb) ||
	    fa.lport_be == fb.lport_be) {
		snprintf(why, n, "two flows do not hold the two ports");
		goto out;
	}
	if (fnat_udp_assure(&a, why, n) || fnat_udp_assure(&b, why, n))
		goto out;
	pkt_mk(&in, &c);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n))
		goto out;
	if (flow_get(&c, &fa) == 0) {
		snprintf(why, n, "a flow entry was created without a port");
		goto out;
	}
	if (flow_get(&a, &fa))
		goto out;
	if (nat_step(&a, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4,
		     ntohs(fa.lport_be), "198.18.0.12", 5353, why, n))
		goto out;
	err = 0;
out:
	lport_range(0, 0);
	return err;
}

ROW(r_fnat_expiry_frees_port)
{
	/* One local port. Flow a holds it (answered and continued); b is
	 * refused; once a has been idle past the UDP timeout, b takes the
	 * port over. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .sport = 52000, .dport = 53, .paylen = 20 };
	struct spec b = a;
	struct pkt in;
	int err = -1;

	nat_clear();
	lport_range(30000, 30000);
	b.sport = 52001;
	if (nat_step(&a, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, 30000,
		     "198.18.0.12", 5353, why, n) || fnat_udp_assure(&a, why, n))
		goto out;
	pkt_mk(&in, &b);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n))
		goto out;
	flow_age(&a, XLB_TO_UDP_DEFAULT - 5);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n)) {
		strncat(why, " (before the timeout)", n - strlen(why) - 1);
		goto out;
	}
	flow_age(&a, XLB_TO_UDP_DEFAULT + 1);
	if (nat_step(&b, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, 30000,
		     "198.18.0.12", 5353, why, n))
		goto out;
	if (nat_rev_count() != 1) {
		snprintf(why, n, "%u reverse entries, want 1", nat_rev_count());
		goto out;
	}
	err = 0;
out:
	lport_range(0, 0);
	return err;
}

ROW(r_nat_reply_expired)
{
	/* An idle entry is absent: its reply goes to the stack and the reverse
	 * entry is gone. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 50010, .dport = 53, .paylen = 20 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 50010, 0);
	struct xlb_flow f;
	struct pkt in;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50010,
		     "198.18.0.12", 5353, why, n))
		return -1;
	flow_age(&s, XLB_TO_UDP_DEFAULT + 1);
	pkt_mk(&in, &r);
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n))
		return -1;
	if (nat_rev_count() != 0 || flow_get(&s, &f) == 0) {
		snprintf(why, n, "expired entry not removed");
		return -1;
	}
	return 0;
}

ROW(r_nat_tcp_states)
{
	/* SYN -> SYN_SENT, SYN-ACK -> SYN_RECV, ACK -> ESTABLISHED, FIN
	 * (client) -> FIN_WAIT, FIN (server) -> TIME_WAIT; a new SYN on
	 * TIME_WAIT is rescheduled as a new flow. Per-state timeouts: ESTABLISHED lives 900 s, CLOSE 10 s. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50020, .dport = 80 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50020, 0x12);
	struct xlb_counter c0, c1;
	struct pkt in;

	nat_clear();
	c0 = counter_get(skel->maps.svc_stats, S_N4T);
	pkt_mk(&in, &s);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n))
		return -1;
	ingress = ifx_ya;
	pkt_mk(&in, &r);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n) ||
	    want_state(&s, XLB_CT_SYN_RECV, why, n))
		return -1;
	s.tcpflags = 0x10;
	pkt_mk(&in, &s);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n) ||
	    want_state(&s, XLB_CT_ESTABLISHED, why, n))
		return -1;
	/* 800 s idle: still there, the next packet refreshes it. */
	flow_age(&s, 800);
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n))
		return -1;
	s.tcpflags = 0x11;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n) ||
	    want_state(&s, XLB_CT_FIN_WAIT, why, n))
		return -1;
	r.tcpflags = 0x11;
	if (nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50020, why, n) ||
	    want_state(&s, XLB_CT_TIME_WAIT, why, n))
		return -1;
	s.tcpflags = 0x02;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n) ||
	    want_state(&s, XLB_CT_SYN_SENT, why, n))
		return -1;
	c1 = counter_get(skel->maps.svc_stats, S_N4T);
	if (c1.new_flows - c0.new_flows != 2) {
		snprintf(why, n, "%llu new flows, want 2 (SYN on TIME_WAIT)",
			 (unsigned long long)(c1.new_flows - c0.new_flows));
		return -1;
	}
	/* The two replies (SYN-ACK, FIN) went back through: counted out,
	 * with their bytes (every frame here has the size of the others). */
	if (c1.packets_out - c0.packets_out != 2 ||
	    (c1.bytes_out - c0.bytes_out) * (c1.packets - c0.packets) !=
	    2 * (c1.bytes - c0.bytes)) {
		snprintf(why, n, "%llu packets (%llu bytes) out, %llu in (%llu bytes); "
			 "want 2 out, all of one size",
			 (unsigned long long)(c1.packets_out - c0.packets_out),
			 (unsigned long long)(c1.bytes_out - c0.bytes_out),
			 (unsigned long long)(c1.packets - c0.packets),
			 (unsigned long long)(c1.bytes - c0.bytes));
		return -1;
	}
	/* RST closes; 11 s later the entry is gone and a reply is stale. */
	s.tcpflags = 0x04;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n) ||
	    want_state(&s, XLB_CT_CLOSE, why, n))
		return -1;
	flow_age(&s, XLB_TO_CLOSE_DEFAULT + 1);
	r.tcpflags = 0x10;
	pkt_mk(&in, &r);
	ingress = ifx_ya;
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n);
}

/* Sets service id's own established and TIME_WAIT timeouts (0: the
 * instance's), as the daemon writes svc_timeouts. */
static int svc_to_set(uint32_t id, uint32_t established_s, uint32_t time_wait_s)
{
	struct xlb_svc_timeouts t = { 0 };

	t.to_established_s = established_s;
	t.to_time_wait_s = time_wait_s;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.svc_timeouts), &id, &t, 0);
}

ROW(r_svc_timeouts)
{
	/* Per-service timeouts: the fullnat service has an established
	 * timeout of 30 s, the nat one none of its own (900 s). Both flows
	 * established (SYN, SYN-ACK, ACK); idle 25 s, both live; idle 31 s, the
	 * fullnat flow is dead (its reply goes to the stack, its entry and
	 * port claim are gone), the nat flow is translated as before. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 50030, .dport = 80 };
	struct spec b = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50031, .dport = 80 };
	uint16_t lp = fnat_port(&a);
	struct spec ar = spec_rev(&a, "198.18.1.11", 80, LIP4, lp, 0x12);
	struct spec br = spec_rev(&b, "198.18.1.11", 8080, CLIENT4, 50031, 0x12);
	struct xlb_flow f;
	struct pkt in;
	int err = -1;

	nat_clear();
	if (svc_to_set(S_F4T, 30, 0)) {
		snprintf(why, n, "cannot write svc_timeouts: %s", strerror(errno));
		return -1;
	}
	if (nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n) ||
	    nat_step(&ar, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 50030, why, n))
		goto out;
	a.tcpflags = 0x10;
	if (nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n) ||
	    want_state(&a, XLB_CT_ESTABLISHED, why, n))
		goto out;
	if (nat_step(&b, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50031, "198.18.1.11", 8080, why, n) ||
	    nat_step(&br, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50031, why, n))
		goto out;
	b.tcpflags = 0x10;
	if (nat_step(&b, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50031, "198.18.1.11", 8080, why, n) ||
	    want_state(&b, XLB_CT_ESTABLISHED, why, n))
		goto out;
	ar.tcpflags = 0x10;
	br.tcpflags = 0x10;
	flow_age(&a, 25);
	if (nat_step(&ar, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 50030, why, n)) {
		strncat(why, " (before its 30 s timeout)", n - strlen(why) - 1);
		goto out;
	}
	flow_age(&a, 31);
	flow_age(&b, 31);
	pkt_mk(&in, &ar);
	ingress = ifx_ya;
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n))
		goto out;
	if (flow_get(&a, &f) == 0 || nat_rev_count() != 1) {
		snprintf(why, n, "expired fullnat entry or its claim left (%u "
			 "reverse entries, want 1)", nat_rev_count());
		goto out;
	}
	if (nat_step(&br, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50031, why, n)) {
		strncat(why, " (service with the default timeout)", n - strlen(why) - 1);
		goto out;
	}
	err = 0;
out:
	svc_to_set(S_F4T, 0, 0);
	return err;
}

ROW(r_nat_ttl)
{
	/* A routed hop: TTL 1 (hop limit 1) cannot go on, either way. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50050, .dport = 80, .paylen = 10 };
	struct spec s6 = { .fam = 6, .src = CLIENT6, .dst = VIP_N6, .proto = 6,
			   .sport = 50051, .dport = 80, .paylen = 10 };
	struct spec r6 = spec_rev(&s6, "2001:db8::11", 80, CLIENT6, 50051, 0x12);
	struct pkt in;

	nat_clear();
	pkt_mk(&in, &s);
	in.b[14 + 8] = 1;
	ip4_recsum(&in);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_TTL, why, n))
		return -1;
	/* TTL 2 leaves with 1 (nat_step expects one less). */
	pkt_mk(&in, &s);
	s.sport = 50052;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50052, "198.18.1.11", 8080, why, n))
		return -1;
	if (nat_step(&s6, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6, 50051,
		     "2001:db8::11", 80, why, n))
		return -1;
	pkt_mk(&in, &r6);
	in.b[14 + 7] = 1;
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_TTL, why, n);
}

ROW(r_nat_reply_too_big)
{
	/* The client sits behind a 1280-byte link; the backend's 1400-byte
	 * reply (DF) gets a frag-needed back, from the address it sent to,
	 * quoting the packet as it left the backend. */
	struct spec s = { .fam = 4, .src = "198.18.0.9", .dst = VIP_N4, .proto = 6,
			  .sport = 50060, .dport = 80 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, "198.18.0.9", 50060, 0x10);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     "198.18.0.9", 50060, "198.18.1.11", 8080, why, n))
		return -1;
	r.paylen = 1360;
	pkt_mk(&in, &r);
	memcpy(in.b, MAC_YA, 6);
	memcpy(in.b + 6, MAC_Y1, 6);
	too_big_expect(&exp, &in, &r, 1280);
	memcpy(exp.b, MAC_Y1, 6);
	memcpy(exp.b + 6, MAC_YA, 6);
	ingress = ifx_ya;
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_nat_reply_wrong_port)
{
	/* From the backend but another source port: not a reply of ours. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 17,
			  .sport = 50035, .dport = 53, .paylen = 20 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5354, CLIENT4, 50035, 0);
	struct pkt in;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50035,
		     "198.18.0.12", 5353, why, n))
		return -1;
	pkt_mk(&in, &r);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

ROW(r_nat_reply_orphan)
{
	/* The flow entry vanished (LRU): the reverse entry is stale, the reply
	 * goes to the stack and the entry is removed. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .sport = 50036, .dport = 53, .paylen = 20 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, LIP4, lp, 0);
	struct xlb_flow_key k = spec_key(&s);
	struct pkt in;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, lp,
		     "198.18.0.12", 5353, why, n))
		return -1;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.flows), &k);
	pkt_mk(&in, &r);
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n))
		return -1;
	if (nat_rev_count()) {
		snprintf(why, n, "stale reverse entry kept");
		return -1;
	}
	return 0;
}

ROW(r_nat_reply_bad_header)
{
	/* A reply tuple with a broken TCP header is dropped untouched. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50037, .dport = 80, .paylen = 10 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50037, 0x12);
	struct pkt in;

	nat_clear();
	pkt_mk(&in, &s);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n))
		return -1;
	pkt_mk(&in, &r);
	in.b[14 + 20 + 12] = 0x40;
	ingress = ifx_ya;
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_BAD_HEADER, why, n))
		return -1;
	/* And a truncated one. */
	pkt_mk(&in, &r);
	in.len = 14 + 20 + 10;
	set16(in.b + 16, 30);
	ip4_recsum(&in);
	ingress = ifx_ya;
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_TRUNCATED, why, n);
}

ROW(r_nat_mixed_family)
{
	/* A v4 VIP whose table names a v6 backend: no cross-family nat. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 50038, .dport = 80, .paylen = 10 };
	struct pkt in;
	int err;

	nat_clear();
	table_one(S_N4T, BN6_1);
	pkt_mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_MODE, why, n);
	table_one(S_N4T, BN_Y);
	return err;
}

ROW(r_fnat_no_lip)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 50039, .dport = 80, .paylen = 10 };
	struct xlb_globals g = *globals_get(), z = g;
	struct pkt in;
	int err;

	nat_clear();
	z.n_lips_v4 = 0;
	globals_set(&z);
	pkt_mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LIP, why, n);
	globals_set(&g);
	return err;
}

ROW(r_nat_not_syn)
{
	/* A bare ACK, FIN or RST for a tuple nat/fullnat do not know opens
	 * nothing: dropped and counted, no entry, no local port held. */
	static const uint8_t flags[] = { 0x10, 0x11, 0x04, 0x12 };
	static const char *const vips[] = { VIP_N4, VIP_F4 };
	struct spec s = { .fam = 4, .src = CLIENT4, .proto = 6, .sport = 50070,
			  .dport = 80, .paylen = 10 };
	struct xlb_flow f;
	struct pkt in;

	nat_clear();
	for (int v = 0; v < 2; v++) {
		for (int i = 0; i < 4; i++) {
			s.dst = vips[v];
			s.tcpflags = flags[i];
			pkt_mk(&in, &s);
			if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NOT_SYN, why, n))
				return -1;
			if (flow_get(&s, &f) == 0 || nat_rev_count()) {
				snprintf(why, n, "flags 0x%02x to %s left an entry",
					 flags[i], vips[v]);
				return -1;
			}
		}
	}
	return 0;
}

/* The reply of a nat flow from client src toward a next hop without
 * neighbour entry: dropped, and neigh_miss holds that next hop (once, after
 * two such replies) on xa. */
static int no_neigh_reply(const char *src, const char *nexthop, char *why,
			  size_t n)
{
	int fd = bpf_map__fd(skel->maps.neigh_miss), v4 = !strchr(src, ':');
	struct spec s = { .fam = v4 ? 4 : 6, .src = src, .dst = v4 ? VIP_N4 : VIP_N6,
			  .proto = 6, .sport = 50070, .dport = 80 };
	const char *be = v4 ? "198.18.1.11" : "2001:db8::11";
	struct spec r = spec_rev(&s, be, v4 ? 8080 : 80, src, 50070, 0x12);
	struct xlb_neigh_miss want = { .ifindex = (uint32_t)ifx_xa }, k;
	struct pkt in;
	int i, found = 0, others = 0;

	want.family = strchr(nexthop, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	want.nexthop = A(nexthop);
	nat_clear();
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
	if (v4 ? nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
			  src, 50070, be, 8080, why, n)
	       : nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, src, 50070,
			  be, 80, why, n))
		return -1;
	pkt_mk(&in, &r);
	if (v4) {
		memcpy(in.b, MAC_YA, 6);
		memcpy(in.b + 6, MAC_Y1, 6);
	}
	for (i = 0; i < 2; i++) {
		ingress = v4 ? ifx_ya : 0;
		if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_NEIGH, why, n))
			return -1;
	}
	for (int e = bpf_map_get_next_key(fd, NULL, &k); !e;
	     e = bpf_map_get_next_key(fd, &k, &k)) {
		if (!memcmp(&k, &want, sizeof(k)))
			found++;
		else
			others++;
	}
	if (found != 1 || others) {
		snprintf(why, n, "neigh_miss: %d entries for %s on xa, %d others",
			 found, nexthop, others);
		return -1;
	}
	return 0;
}

ROW(r_nat_reply_no_neigh)
{
	static const char *cases[][2] = {
		{ "198.18.0.97", "198.18.0.97" },       /* on-link */
		{ "198.18.9.1", "198.18.0.98" },        /* via a gateway */
		{ "198.18.10.1", "2001:db8::98" },      /* via an IPv6 gateway */
		{ "2001:db8::97", "2001:db8::97" },
		{ "2001:db8:9::1", "2001:db8::98" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (no_neigh_reply(cases[i][0], cases[i][1], why, n)) {
			size_t l = strlen(why);

			snprintf(why + l, n - l, " (client %s)", cases[i][0]);
			return -1;
		}
	return 0;
}

static const struct row rows[] = {
	{ .desc = "nat/fullnat bare ACK, FIN, RST, SYN-ACK for unknown tuples: dropped, nothing held", .fn = r_nat_not_syn },
	{ .desc = "nat v4 TCP two-armed: both directions, port mapping, SYN_SENT -> SYN_RECV -> ESTABLISHED", .fn = r_nat4_tcp },
	{ .desc = "nat v4 UDP: zero checksum stays zero, reply translated", .fn = r_nat4_udp_nocsum },
	{ .desc = "nat v6 TCP: both directions, established flow", .fn = r_nat6_tcp },
	{ .desc = "fullnat v4 TCP two-armed: LIP:lport from the pool, both directions", .fn = r_fnat4_tcp },
	{ .desc = "fullnat v4 UDP: both directions", .fn = r_fnat4_udp },
	{ .desc = "fullnat v6 UDP: both directions", .fn = r_fnat6_udp },
	{ .desc = "fullnat v6 TCP: both directions, port mapping", .fn = r_fnat6_tcp },
	{ .desc = "fullnat port exhaustion: counted drop, existing flows unaffected", .fn = r_fnat_exhaust },
	{ .desc = "fullnat expired flow frees its port for a new flow", .fn = r_fnat_expiry_frees_port },
	{ .desc = "nat reply to an expired entry: stack, entries removed", .fn = r_nat_reply_expired },
	{ .desc = "nat TCP states, SYN on TIME_WAIT rescheduled, CLOSE timeout", .fn = r_nat_tcp_states },
	{ .desc = "per-service timeout: fullnat flow expires at 30 s, nat flow keeps the default", .fn = r_svc_timeouts },
	{ .desc = "nat reply from the wrong backend port: passed", .fn = r_nat_reply_wrong_port },
	{ .desc = "fullnat reply whose flow entry vanished: passed, reverse entry removed", .fn = r_nat_reply_orphan },
	{ .desc = "nat reply with a bad or truncated TCP header: dropped", .fn = r_nat_reply_bad_header },
	{ .desc = "nat v4 VIP to a v6 backend: drop", .fn = r_nat_mixed_family },
	{ .desc = "fullnat without local addresses: counted drop", .fn = r_fnat_no_lip },
	{ .desc = "nat TTL/hop limit: one off per hop, 1 is dropped (both directions)", .fn = r_nat_ttl },
	{ .desc = "nat reply over the client link's MTU: frag-needed to the backend", .fn = r_nat_reply_too_big },
	{ .desc = "nat reply toward a next hop without neighbour: dropped, the next hop recorded once for xlbd", .fn = r_nat_reply_no_neigh },
};

const struct suite fx_nat = { "nat", rows, sizeof(rows) / sizeof(rows[0]) };
