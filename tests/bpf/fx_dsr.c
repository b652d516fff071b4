// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: dr and tun forwarding (MACs, tunnel headers, MTU, routes,
 * VLAN tags) and traffic that is not for a VIP. */
#include "fixture.h"

ROW(r_dr4_tcp)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 100 };

	return fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_dr4_udp)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 17,
			  .sport = 40000, .dport = 53, .paylen = 30 };

	return fwd_dr(&s, MAC_B2, why, n);
}

ROW(r_dr6_tcp)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 100 };

	return fwd_dr(&s, MAC_B6_1, why, n);
}

ROW(r_dr6_udp)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 17,
			  .sport = 40000, .dport = 53, .paylen = 30 };

	return fwd_dr(&s, MAC_B6_2, why, n);
}

ROW(r_dr4_vlan)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40001, .dport = 80, .paylen = 10, .vid = 42 };

	return fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_dr_redirect_vlan)
{
	/* Tagged, and the route to the backend leaves through ya: the tag is
	 * kept and the frame goes back out of xa (a trunk port), counted as
	 * not following the route. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_REDIR, .proto = 6,
			  .sport = 40002, .dport = 80, .paylen = 10, .vid = 42 };
	struct pkt in, exp;

	pkt_mk(&in, &s);
	dr_expect(&exp, &in, MAC_Y1, MAC_YA);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX_VLAN_KEPT, why, n);
}

ROW(r_dr_redirect)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_REDIR, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	struct pkt in, exp;

	pkt_mk(&in, &s);
	dr_expect(&exp, &in, MAC_Y1, MAC_YA);
	return expect(&in, XDP_REDIRECT_, &exp, XLB_R_REDIRECT, why, n);
}

ROW(r_allports)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_ALL, .proto = 6,
			  .sport = 40000, .dport = 8443, .paylen = 10 };

	if (fwd_dr(&s, MAC_B1, why, n))
		return -1;
	s.dport = 22;
	return fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_allports_proto)
{
	/* The all-ports service is TCP only: UDP to the same VIP is not ours. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_ALL, .proto = 17,
			  .sport = 40000, .dport = 53, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

ROW(r_tun4)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 100 };
	union xlb_addr a, b;
	unsigned i;

	if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n))
		return -1;
	/* The outer source carries flow bits: some other flow must differ,
	 * and all stay inside 198.18.0.0/24. */
	a = tun_src(&s, 4);
	for (i = 1; i < 8; i++) {
		s.sport = 40000 + i;
		b = tun_src(&s, 4);
		if ((ntohl(b.v4) >> 8) != (198u << 16 | 18u << 8)) {
			snprintf(why, n, "outer source outside the prefix");
			return -1;
		}
		if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n))
			return -1;
		if (b.v4 != a.v4)
			return 0;
	}
	snprintf(why, n, "outer source never varies across flows");
	return -1;
}

ROW(r_tun6)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 100 };
	union xlb_addr a, b;

	if (fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n))
		return -1;
	a = tun_src(&s, 6);
	s.sport = 40001;
	if (fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n))
		return -1;
	b = tun_src(&s, 6);
	if (memcmp(&a, &b, 8) || !memcmp(&a, &b, 16)) {
		snprintf(why, n, "outer v6 source: prefix changed or host part constant");
		return -1;
	}
	return 0;
}

ROW(r_tun4in6)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 17,
			  .sport = 40000, .dport = 53, .paylen = 40 };

	return fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_tun6in4)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 17,
			  .sport = 40000, .dport = 53, .paylen = 40 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_tun4_vlan)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 40100, .dport = 80, .paylen = 50, .vid = 42 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_tun6in4_vlan)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 17,
			  .sport = 40100, .dport = 53, .paylen = 50, .vid = 42 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_too_big6_vlan)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 45010, .dport = 80, .paylen = 1430, .vid = 42 };
	struct pkt in, exp;

	pkt_mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1460);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_tun_no_src)
{
	/* Zeroed globals: no tunnel source configured, nothing is sent. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 40200, .dport = 80, .paylen = 10 };
	struct xlb_globals saved = *globals_get(), z;
	struct pkt in;
	int err;

	memset(&z, 0, sizeof(z));
	globals_set(&z);
	pkt_mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_MODE, why, n);
	globals_set(&saved);
	return err;
}

ROW(r_no_neigh)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_NONEIGH, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_NEIGH, why, n);
}

ROW(r_no_route)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_NOROUTE, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_FIB, why, n);
}

ROW(r_bad_mode)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_NAT, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_MODE, why, n);
}

ROW(r_too_big4)
{
	/* 1490-byte packet + 20 outer > 1500: tell the client 1480. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 45000, .dport = 80, .paylen = 1450 };
	struct pkt in, exp;

	pkt_mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1480);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_too_big4_nodf)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 45001, .dport = 80, .paylen = 1450, .nodf = 1 };
	struct pkt in, exp;

	/* xlb cannot fragment the outer packet: the client learns the MTU
	 * (and fragments from then on) instead of losing every such packet. */
	pkt_mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1480);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_too_big6)
{
	/* 1490-byte packet + 40 outer > 1500: tell the client 1460. */
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_TUN6, .proto = 6,
			  .sport = 45000, .dport = 80, .paylen = 1430 };
	struct pkt in, exp;

	pkt_mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1460);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_tun4_fits)
{
	/* 1480 + 20 = 1500: exactly the MTU, still tunnelled. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 45002, .dport = 80, .paylen = 1440 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

/* Whether s's flow has an entry in the flows map (not dsr_flows4/6). */
static int in_flows(const struct spec *s)
{
	struct xlb_flow_key k = spec_key(s);
	struct xlb_flow f;

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, &f) == 0;
}

/* The compact entry of s's flow, in the table of its family (an IPv4
 * flow in dsr_flows4, an IPv6 one in dsr_flows6), is backend bid of
 * service sid with s's hash; keyed: s's 5-tuple is beside it for
 * userspace (dsr_keys4/6) and the slot unmarked, as the flow's second
 * packet leaves it; else (its first packet) the slot is marked and the
 * 5-tuple not written (the row's flows_clear zeroed them). The other
 * family's table and the flows map have none. */
static int want_dsr_entry(const struct spec *s, uint32_t bid, uint32_t sid,
			  int keyed, char *why, size_t n)
{
	struct xlb_flow_key k, want = spec_key(s);
	struct spec o = *s;
	struct xlb_dsr_flow d;
	uint64_t id;

	if (dsr_get(s, &d) || dsr_id_get(s, &id))
		return snprintf(why, n, "no dsr_flows%d entry", s->fam), -1;
	if (d.backend_id != bid || d.svc_id != sid)
		return snprintf(why, n, "dsr_flows%d entry %u/%u, want %u/%u",
				s->fam, d.backend_id, d.svc_id, bid, sid), -1;
	if (dsr_key_get(s, &k))
		return snprintf(why, n, "cannot read dsr_keys%d", s->fam), -1;
	if (keyed && (!xlb_dsr_id_keyed(id) || memcmp(&k, &want, sizeof(k))))
		return snprintf(why, n, "after the second packet: slot %s, dsr_keys%d %s "
				"the flow's 5-tuple (want unmarked, with it)",
				xlb_dsr_id_keyed(id) ? "unmarked" : "marked", s->fam,
				memcmp(&k, &want, sizeof(k)) ? "without" : "with"), -1;
	if (!keyed && (xlb_dsr_id_keyed(id) || !memcmp(&k, &want, sizeof(k))))
		return snprintf(why, n, "after the first packet: slot %s, dsr_keys%d %s "
				"the flow's 5-tuple (want marked, without)",
				xlb_dsr_id_keyed(id) ? "unmarked" : "marked", s->fam,
				memcmp(&k, &want, sizeof(k)) ? "without" : "with"), -1;
	/* The same tuple's bucket and tag in the other family's table. */
	o.fam = s->fam == 4 ? 6 : 4;
	if (dsr_get(&o, &d) == 0)
		return snprintf(why, n, "an entry in the other family's table too"), -1;
	if (in_flows(s))
		return snprintf(why, n, "an entry in flows too"), -1;
	return 0;
}

ROW(r_dsr_table_dr)
{
	/* A dr flow lives in dsr_flows4 (8 bytes: backend, service, hash);
	 * its later packets follow the entry over a changed table, byte
	 * for byte, v4 and v6. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 45000, .dport = 80, .paylen = 10 };
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	err = fwd_dr(&s, MAC_B1, why, n) ?: want_dsr_entry(&s, B1, S_STICKY, 0, why, n);
	table_one(S_STICKY, B2);
	s.tcpflags = 0x10;
	err = err ?: fwd_dr(&s, MAC_B1, why, n) ?:
	      want_dsr_entry(&s, B1, S_STICKY, 1, why, n);
	s.tcpflags = 0x18;
	s.paylen = 1000;
	err = err ?: fwd_dr(&s, MAC_B1, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_dsr_table_dr6)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 6,
			  .sport = 45001, .dport = 80, .paylen = 10 };
	struct xlb_dsr_flow d;

	flows_clear();
	if (fwd_dr(&s, MAC_B6_1, why, n) || dsr_get(&s, &d))
		return -1;
	if (want_dsr_entry(&s, d.backend_id, S_DR6_TCP, 0, why, n))
		return -1;
	s.tcpflags = 0x10;
	if (fwd_dr(&s, MAC_B6_1, why, n) ||
	    want_dsr_entry(&s, d.backend_id, S_DR6_TCP, 1, why, n))
		return -1;
	/* The entry decides, not the table: point it at another backend. */
	d.backend_id = B6_2;
	dsr_put(&s, &d);
	s.tcpflags = 0x10;
	return fwd_dr(&s, MAC_B6_2, why, n);
}

ROW(r_dsr_table_tun)
{
	/* tun: the same compact entry; the outer source comes from its
	 * hash (fx_flood checks a changed hash moves it). */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 44100, .dport = 80, .paylen = 100 };
	struct xlb_dsr_flow d;

	flows_clear();
	if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n) || dsr_get(&s, &d))
		return -1;
	if (want_dsr_entry(&s, d.backend_id, S_TUN4, 0, why, n))
		return -1;
	s.tcpflags = 0x10;
	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n) ?:
	       want_dsr_entry(&s, d.backend_id, S_TUN4, 1, why, n);
}

/* Whether any slot of b holds a flow. */
static int dsr_bucket_used(const struct xlb_dsr_bucket *b)
{
	for (int i = 0; i < XLB_DSR_WAYS; i++)
		if (b->id[i])
			return 1;
	return 0;
}

/* One family's part of r_dsr_table_any_size: 2 flows to each of nb
 * buckets, from client ports of 50000 on. */
static int any_size_family(struct spec *s, uint32_t nb, const uint8_t *mac,
			   uint32_t to, const uint8_t *to_mac, char *why, size_t n)
{
	struct bpf_map *m = s->fam == 4 ? skel->maps.dsr_flows4 : skel->maps.dsr_flows6;
	uint32_t zero = 0, count[8] = { 0 }, placed = 0, want;
	struct xlb_dsr_params p;
	struct xlb_dsr_bucket b;
	struct xlb_dsr_flow d;
	uint16_t sports[16];
	int at, err = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsr_params), &zero, &p))
		return snprintf(why, n, "cannot read dsr_params"), -1;
	for (uint32_t port = 50000; port < 51000 && placed < 2 * nb; port++) {
		struct xlb_flow_key k;
		uint32_t bi;

		s->sport = (uint16_t)port;
		k = spec_key(s);
		bi = xlb_dsr_index(xlb_dsr_hash_key(&p, &k), nb);
		if (bi < nb && count[bi] < 2) {
			count[bi]++;
			sports[placed++] = s->sport;
		}
	}
	if (placed < 2 * nb)
		return snprintf(why, n, "v%d: %u flows for %u buckets", s->fam,
				placed, nb), -1;
	for (uint32_t i = 0; i < placed && !err; i++) {
		s->sport = sports[i];
		s->tcpflags = 0;
		err = fwd_dr(s, mac, why, n);
		at = err ? -1 : dsr_bucket_held(s, &want);
		if (!err && (at < 0 || (uint32_t)at != want)) {
			snprintf(why, n, "v%d: flow :%u in bucket %d, its hash gives %u of %u",
				 s->fam, s->sport, at, want, nb);
			err = -1;
		}
	}
	/* Nothing past the table's size. */
	for (uint32_t i = nb; i < bpf_map__max_entries(m) && !err; i++)
		if (!bpf_map_lookup_elem(bpf_map__fd(m), &i, &b) && dsr_bucket_used(&b)) {
			snprintf(why, n, "v%d: a flow in bucket %u of %u", s->fam, i, nb);
			err = -1;
		}
	/* Each flow's next packet finds its entry, pointed at another
	 * backend than its table's. */
	for (uint32_t i = 0; i < placed && !err; i++) {
		s->sport = sports[i];
		if (dsr_get(s, &d))
			return snprintf(why, n, "v%d: flow :%u has no entry", s->fam,
					s->sport), -1;
		d.backend_id = to;
		dsr_put(s, &d);
		s->tcpflags = 0x10;
		err = fwd_dr(s, to_mac, why, n);
	}
	return err;
}

ROW(r_dsr_table_any_size)
{
	/* Tables of 3 (IPv4) and 5 (IPv6) buckets, no power of two: two
	 * flows to each bucket are placed where their hash scales to (a mask
	 * of the hash would never give bucket 1 of 3), none past the size,
	 * and the next packet of each finds its entry. */
	struct spec s4 = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			   .dport = 80, .paylen = 10 };
	struct spec s6 = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = 6,
			   .dport = 80, .paylen = 10 };
	int err;

	flows_clear();
	if (dsr_buckets_set(3, 5))
		return snprintf(why, n, "cannot write dsr_params"), -1;
	err = any_size_family(&s4, 3, MAC_B1, B2, MAC_B2, why, n) ?:
	      any_size_family(&s6, 5, MAC_B6_1, B6_2, MAC_B6_2, why, n);
	dsr_buckets_set(0, 0);
	flows_clear();
	return err;
}

ROW(r_not_vip)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = "198.18.0.200", .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

/* The address filter only ever saves lookups: an address whose bit it
 * shares with a VIP (or a backend) still gets the right answer. */
ROW(r_filter_collision)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = "198.18.0.200", .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	union xlb_addr other = A("198.18.0.200"), client = A(CLIENT4);
	int fd = bpf_map__fd(skel->maps.addr_filter), err;
	uint32_t kv = xlb_filter_bit(&other) / 64;
	uint32_t kb = XLB_FILTER_WORDS + xlb_filter_bit(&client) / 64;
	uint64_t wv = 0, wb = 0;
	struct pkt in;

	if (bpf_map_lookup_elem(fd, &kv, &wv) || bpf_map_lookup_elem(fd, &kb, &wb))
		return snprintf(why, n, "cannot read addr_filter"), -1;
	filter_set(XLB_FILTER_VIP, &other);
	filter_set(XLB_FILTER_BACKEND, &client);
	pkt_mk(&in, &s);
	err = expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	s.dst = VIP_DR4;
	err = err ?: fwd_dr(&s, MAC_B1, why, n);
	bpf_map_update_elem(fd, &kv, &wv, 0);
	bpf_map_update_elem(fd, &kb, &wb, 0);
	return err;
}

ROW(r_not_vip_port)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40000, .dport = 81, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

ROW(r_not_vip6)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = "2001:db8::200", .proto = 17,
			  .sport = 40000, .dport = 53, .paylen = 10 };
	struct pkt in;

	pkt_mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

ROW(r_other_mac)
{
	/* Unicast to another host's MAC (a bridge flooding it): passed
	 * untouched, even to a VIP, even malformed; broadcast ARP and a
	 * frame to our own MAC go on as before. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40300, .dport = 80, .paylen = 10 };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct pkt in;
	int err;

	pkt_mk(&in, &s);
	memcpy(in.b, MAC_B3, 6);
	err = expect(&in, XDP_PASS_, &in, XLB_R_PASS_OTHER_MAC, why, n);
	in.len = 14 + 10;
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_OTHER_MAC, why, n);
	memset(&in, 0, sizeof(in));
	eth(&in, bcast, MAC_CLIENT, 0x0806);
	in.len += 28;
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_IP, why, n);
	return err ?: fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_if_mac_exact)
{
	/* if_macs is keyed by the exact ifindex: an entry for ifindex + 1024
	 * (the old array's same slot) leaves xa's alone; a MAC rewritten
	 * after attach (xlbd's refresh) is the one checked from then on. */
	static const uint8_t mac_new[6] = { 0x02, 0, 0, 0, 0, 0x0b };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40301, .dport = 80, .paylen = 10 };
	struct pkt in, exp;
	int err;

	if (if_mac_set(ifx_xa + XLB_IF_MACS, MAC_YA))
		return snprintf(why, n, "cannot write if_macs: %s", strerror(errno)), -1;
	pkt_mk(&in, &s);
	memcpy(in.b, MAC_B3, 6);
	err = expect(&in, XDP_PASS_, &in, XLB_R_PASS_OTHER_MAC, why, n);
	if_mac_set(ifx_xa + XLB_IF_MACS, NULL);
	if_mac_set(ifx_xa, mac_new);
	pkt_mk(&in, &s);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_OTHER_MAC, why, n);
	memcpy(in.b, mac_new, 6);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	/* No entry (an if_mac_direct slot not set): no check at all. */
	if_mac_set(ifx_xa, NULL);
	pkt_mk(&in, &s);
	memcpy(in.b, MAC_B3, 6);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	if_mac_set(ifx_xa, MAC_XA);
	return err;
}

static const struct row rows[] = {
	{ .desc = "unicast to another MAC: passed untouched and counted; broadcast ARP passes", .fn = r_other_mac },
	{ .desc = "MAC check per exact ifindex (no slot sharing), a changed MAC takes effect, no entry no check", .fn = r_if_mac_exact },
	{ .desc = "dr v4 TCP: MAC rewrite, XDP_TX", .fn = r_dr4_tcp },
	{ .desc = "dr v4 UDP: MAC rewrite, XDP_TX", .fn = r_dr4_udp },
	{ .desc = "dr v6 TCP: MAC rewrite, XDP_TX", .fn = r_dr6_tcp },
	{ .desc = "dr v6 UDP: MAC rewrite, XDP_TX", .fn = r_dr6_udp },
	{ .desc = "dr v4 behind a VLAN tag: tag kept, XDP_TX", .fn = r_dr4_vlan },
	{ .desc = "dr to a backend behind another port: XDP_REDIRECT", .fn = r_dr_redirect },
	{ .desc = "dr, in-frame VLAN tag, route through another port: tag kept, same port, counted", .fn = r_dr_redirect_vlan },
	{ .desc = "all-ports service matches any TCP port", .fn = r_allports },
	{ .desc = "all-ports TCP service does not take UDP", .fn = r_allports_proto },
	{ .desc = "tun v4 IPIP: exact outer header, per-flow source", .fn = r_tun4 },
	{ .desc = "tun v6 ip6ip6: exact outer header, per-flow source", .fn = r_tun6 },
	{ .desc = "tun v4 VIP to v6 backend (4in6)", .fn = r_tun4in6 },
	{ .desc = "tun v6 VIP to v4 backend (6in4)", .fn = r_tun6in4 },
	{ .desc = "tun v4 packet exactly at the MTU is tunnelled", .fn = r_tun4_fits },
	{ .desc = "tun v4 behind a VLAN tag: tag kept, outer ethertype in the tag", .fn = r_tun4_vlan },
	{ .desc = "tun v6 VIP to v4 backend behind a VLAN tag", .fn = r_tun6in4_vlan },
	{ .desc = "tun v6 over MTU behind a VLAN tag: packet-too-big keeps the tag", .fn = r_too_big6_vlan },
	{ .desc = "tun without a configured tunnel source: drop", .fn = r_tun_no_src },
	{ .desc = "backend without neighbour entry: drop", .fn = r_no_neigh },
	{ .desc = "backend without route: drop", .fn = r_no_route },
	{ .desc = "service with an unknown mode: drop", .fn = r_bad_mode },
	{ .desc = "tun v4 over MTU with DF: ICMP frag-needed to the client", .fn = r_too_big4 },
	{ .desc = "tun v4 over MTU without DF: frag-needed to the client as well", .fn = r_too_big4_nodf },
	{ .desc = "tun v6 over MTU: ICMPv6 packet-too-big to the client", .fn = r_too_big6 },
	{ .desc = "dr v4 flow in dsr_flows4 (backend, service, hash), none in flows or dsr_flows6; SYN: slot marked, no 5-tuple; ACK writes it, unmarks; ACK and data follow it over a changed table", .fn = r_dsr_table_dr },
	{ .desc = "dr v6 flow in dsr_flows6, none in dsr_flows4; SYN: slot marked, no 5-tuple; ACK writes it, unmarks; the entry's backend, not the table's, gets the ACK", .fn = r_dsr_table_dr6 },
	{ .desc = "tun v4 flow in dsr_flows4, none in flows; SYN: slot marked, no 5-tuple; established packet tunnelled exactly, writes it, unmarks", .fn = r_dsr_table_tun },
	{ .desc = "dr/tun tables of 3 and 5 buckets (no power of two): flows placed in every bucket by their hash, none past the size, each found again", .fn = r_dsr_table_any_size },
	{ .desc = "not for a VIP (address): pass", .fn = r_not_vip },
	{ .desc = "not for a VIP (port): pass", .fn = r_not_vip_port },
	{ .desc = "address filter collisions (VIP bit, backend bit) change nothing", .fn = r_filter_collision },
	{ .desc = "not for a VIP (IPv6): pass", .fn = r_not_vip6 },
};

const struct suite fx_dsr = { "dsr", rows, sizeof(rows) / sizeof(rows[0]) };
