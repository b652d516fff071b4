// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: backend choice (flow stickiness, drain, Maglev slots,
 * rr/wrr, sh, lc/wlc) and services without backends. */
#include "fixture.h"
#include "xlb_cttag.h"

ROW(r_sticky)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 41000, .dport = 80, .paylen = 10 };
	struct spec b = a;
	struct xlb_counter c0, c1;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	c0 = counter_get(skel->maps.svc_stats, S_STICKY);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	a.tcpflags = 0x10;      /* the flow goes on (a SYN would reschedule) */
	if (fwd_dr(&a, MAC_B1, why, n)) {
		strncat(why, " (existing flow moved)", n - strlen(why) - 1);
		return -1;
	}
	b.sport = 41001;
	err = fwd_dr(&b, MAC_B2, why, n);
	c1 = counter_get(skel->maps.svc_stats, S_STICKY);
	table_one(S_STICKY, B1);
	if (err)
		return -1;
	if (c1.packets - c0.packets != 3 || c1.new_flows - c0.new_flows != 2) {
		snprintf(why, n, "svc counters: %llu packets, %llu new flows (want 3, 2)",
			 (unsigned long long)(c1.packets - c0.packets),
			 (unsigned long long)(c1.new_flows - c0.new_flows));
		return -1;
	}
	return 0;
}

ROW(r_drain)
{
	/* Weight 0: the backend stays ACTIVE but leaves the table. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 42000, .dport = 80, .paylen = 10 };
	struct spec b = a;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	a.tcpflags = 0x10;      /* the flow goes on (a SYN would reschedule) */
	err = fwd_dr(&a, MAC_B1, why, n);
	b.sport = 42001;
	if (!err)
		err = fwd_dr(&b, MAC_B2, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_deleted)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 43000, .dport = 80, .paylen = 10 };
	uint32_t bid = 0;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	backend_flags(B1, 0);
	table_one(S_STICKY, B2);
	err = fwd_dr(&a, MAC_B2, why, n);
	backend_flags(B1, BE_UP);
	table_one(S_STICKY, B1);
	if (err)
		return -1;
	if (flow_backend(&a, &bid) || bid != B2) {
		snprintf(why, n, "flow entry not updated to the new backend (%u)", bid);
		return -1;
	}
	return 0;
}

/* An existing flow finds its service by id (svc_slots) only while that
 * gives what the services map would: a mode change applies at once, a
 * deleted service passes its flows, an id given to another VIP does not
 * take them over, and an id without a slot falls back to the map. */
ROW(r_flow_svc_by_id)
{
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = "198.18.0.113", .proto = 6,
			  .sport = 43100, .dport = 80, .paylen = 10 };
	struct xlb_svc_key k;
	struct xlb_svc v;
	struct pkt in;
	uint32_t id = 40;
	int err;

	if (svc_add(a.dst, 80, 6, id, XLB_MODE_DR, 13) || table_one(id, B1))
		return snprintf(why, n, "cannot add the service"), -1;
	memset(&k, 0, sizeof(k));
	k.vip = A(a.dst);
	k.port_be = htons(80);
	k.proto = 6;
	k.family = XLB_AF_INET;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), &k, &v);
	pkt_mk(&in, &a);
	err = fwd_dr(&a, MAC_B1, why, n);
	v.mode = XLB_MODE_PROXY;
	svc_write(&k, &v);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	v.mode = XLB_MODE_DR;
	svc_write(&k, &v);
	svcslots_set(slots, id, NULL, NULL);
	err = err ?: fwd_dr(&a, MAC_B1, why, n);
	svc_write(&k, &v);
	svc_del(&k);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	svc_add("198.18.0.114", 80, 6, id, XLB_MODE_DR, 13);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	k.vip = A("198.18.0.114");
	svc_del(&k);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer), &id);
	return err;
}

ROW(r_maglev_slots)
{
	/* Slot i -> B1 for even i, B2 for odd: the hash in xlb_hash.h must
	 * predict every choice. */
	const uint32_t ids[2] = { B1, B2 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .dport = 80, .paylen = 10 };
	int i, seen[2] = { 0, 0 }, err = 0;

	flows_clear();
	table_set(S_STICKY, 13, ids, 2);
	for (i = 0; i < 32 && !err; i++) {
		uint32_t slot, bid = 0;

		s.sport = 44000 + i;
		slot = spec_hash(&s) % 13;
		seen[slot & 1] = 1;
		err = fwd_dr(&s, slot & 1 ? MAC_B2 : MAC_B1, why, n);
		if (!err && (flow_backend(&s, &bid) || bid != ids[slot & 1])) {
			snprintf(why, n, "flow table holds backend %u", bid);
			err = -1;
		}
	}
	table_one(S_STICKY, B1);
	if (!err && !(seen[0] && seen[1])) {
		snprintf(why, n, "32 flows all hashed to one backend");
		err = -1;
	}
	return err;
}

/* Sets the scheduler flags (and rr sequence length) of the VIP_STICKY
 * service; 0, 0 is Maglev again. */
static int sticky_sched(uint8_t flags, uint16_t seq_len)
{
	return svc_sched(VIP_STICKY, flags, seq_len);
}

ROW(r_sched_sh)
{
	/* sh: the slot is xlb_src_hash(client) % 13, whatever the ports; the
	 * table alternates B1/B2, so two clients of different slot parity
	 * reach different backends. */
	static const char *const clients[] = { "198.18.0.1", "198.18.0.3",
		"198.18.0.4", "198.18.0.5", "198.18.0.6", "198.18.0.7" };
	const uint32_t ids[2] = { B1, B2 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .dport = 80, .paylen = 10 };
	int seen[2] = { 0, 0 }, err = 0;

	flows_clear();
	table_set(S_STICKY, 13, ids, 2);
	sticky_sched(XLB_SVC_F_SH, 0);
	for (size_t c = 0; c < 6 && !err; c++) {
		union xlb_addr a = A(clients[c]);
		uint32_t slot = xlb_src_hash(&a) % 13, bid = 0;

		s.src = clients[c];
		seen[slot & 1] = 1;
		for (int port = 0; port < 4 && !err; port++) {
			s.sport = (uint16_t)(45000 + 7 * port + c);
			err = fwd_dr(&s, slot & 1 ? MAC_B2 : MAC_B1, why, n);
			if (!err && (flow_backend(&s, &bid) || bid != ids[slot & 1])) {
				snprintf(why, n, "%s:%u: flow table holds backend %u",
					 clients[c], s.sport, bid);
				err = -1;
			}
		}
	}
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	if (!err && !(seen[0] && seen[1])) {
		snprintf(why, n, "6 clients all hashed to one backend");
		err = -1;
	}
	return err;
}

/* S_STICKY as wrr over the sequence ids[0..3) repeated over 13 slots, no
 * flows, every CPU's position at the start. 0 or -1. */
static int wrr_start(const uint32_t *ids)
{
	uint32_t key = S_STICKY, *zero = calloc(ncpu, sizeof(uint32_t));
	int err;

	if (!zero)
		return -1;
	flows_clear();
	err = table_set(S_STICKY, 13, ids, 3) ?: sticky_sched(XLB_SVC_F_RR, 3) ?:
	      bpf_map_update_elem(bpf_map__fd(skel->maps.rr_pos), &key, zero, 0);
	free(zero);
	return err ? -1 : 0;
}

ROW(r_sched_rr)
{
	/* wrr 2:1: the daemon's sequence B1 B1 B2 (seq_len 3) repeats over
	 * the 13 slots; new flows walk it in order, existing ones stay. */
	const uint32_t ids[3] = { B1, B1, B2 };
	static const uint8_t *const want[7] = { MAC_B1, MAC_B1, MAC_B2, MAC_B1,
						MAC_B1, MAC_B2, MAC_B1 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .dport = 80, .paylen = 10 };
	struct pkt in;
	int err = 0;

	if (wrr_start(ids))
		return snprintf(why, n, "cannot set up the wrr service"), -1;
	for (int i = 0; i < 7 && !err; i++) {
		s.sport = (uint16_t)(46000 + i);
		err = fwd_dr(&s, want[i], why, n);
		if (err)
			snprintf(why + strlen(why), n - strlen(why), " (new flow %d)", i);
	}
	/* The first flow again: its entry holds, the sequence does not move. */
	s.sport = 46000;
	if (!err)
		err = fwd_dr(&s, MAC_B1, why, n);
	s.sport = 46007;
	if (!err)
		err = fwd_dr(&s, MAC_B1, why, n);
	/* An ICMP error about no flow is dropped without moving the
	 * sequence: the next new flow takes its 9th position, B2. */
	s.sport = 46100;
	icmp_err_mk(&in, &s, 3, 4, 1400);
	err = err ?: expect(&in, XDP_DROP_, &in, XLB_R_DROP_ICMP_NO_FLOW, why, n);
	s.sport = 46008;
	err = err ?: fwd_dr(&s, MAC_B2, why, n);
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_sched_rr_guard)
{
	/* wrr B1 B1 B2 under the flood guard (rate 1: the second new flow
	 * of the window engages it): the new flow takes the sequence's slot
	 * of its hash (table slot hash % 13), not the next position, and
	 * gets no entry (counted); its ACK, the guard off, finds the same
	 * backend by the same hash and stores the entry. The sequence did
	 * not move: the next SYN takes position 1, B1. */
	const uint32_t ids[3] = { B1, B1, B2 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .dport = 80, .paylen = 10 };
	struct xlb_dsr_flow d;
	uint64_t ne0;
	int err = -1;

	if (wrr_start(ids))
		return snprintf(why, n, "cannot set up the wrr service"), -1;
	ne0 = guard_get(XLB_G_NO_ENTRY);
	guard_rate(1);
	s.sport = 46300;
	if (fwd_dr(&s, MAC_B1, why, n))
		goto out;
	/* A port whose hash slot says B2, where position 1 would say B1. */
	for (s.sport = 46301; ids[spec_hash(&s) % 13 % 3] != B2; s.sport++)
		;
	if (fwd_dr(&s, MAC_B2, why, n))
		goto out;
	if (dsr_get(&s, &d) == 0 || guard_get(XLB_G_NO_ENTRY) - ne0 != 1) {
		snprintf(why, n, "guard on: entry %s, flow_not_stored +%llu (want none, +1)",
			 dsr_get(&s, &d) ? "none" : "made",
			 (unsigned long long)(guard_get(XLB_G_NO_ENTRY) - ne0));
		goto out;
	}
	guard_rate(0);
	s.tcpflags = 0x10;
	if (fwd_dr(&s, MAC_B2, why, n))
		goto out;
	if (dsr_get(&s, &d) || d.backend_id != B2) {
		snprintf(why, n, "the ACK stored no entry for B2");
		goto out;
	}
	s.tcpflags = 0;
	s.sport = 46400;
	err = fwd_dr(&s, MAC_B1, why, n);
out:
	guard_rate(0);
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_dsr_bucket_lru)
{
	/* One flow more than a bucket of the dr/tun table has slots
	 * (XLB_DSR_WAYS), wrr flows whose tuples share that bucket: the
	 * first XLB_DSR_WAYS each keep their backend, the entry being the
	 * binding; the last replaces the flow seen longest ago (a hit
	 * refreshes a flow), and the others keep theirs. */
	enum { NF = XLB_DSR_WAYS + 1 };
	const uint32_t ids[3] = { B1, B1, B2 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 47000, .dport = 80, .paylen = 10 };
	const uint8_t *mac[NF];
	struct xlb_dsr_flow d;
	uint16_t sp[NF];
	int err = 0;

	/* The sequence B1 B1 B2 gives the i-th new flow mac[i]. */
	for (int i = 0; i < NF; i++)
		mac[i] = i % 3 == 2 ? MAC_B2 : MAC_B1;
	if (wrr_start(ids) || dsr_bucket_mates(&s, NF, sp))
		return snprintf(why, n, "cannot set up the wrr service"), -1;
	/* Seen 3 epochs ago the first, 4 the second (the oldest), 2 or 1
	 * the others. */
	for (int i = 0; i < NF - 1 && !err; i++) {
		s.sport = sp[i];
		err = fwd_dr(&s, mac[i], why, n) ?:
		      dsr_age_set(&s, i == 0 ? -3 : i == 1 ? -4 : -1 - i % 2);
	}
	/* The second flow (the oldest) is seen again: now the first is. */
	s.sport = sp[1];
	s.tcpflags = 0x10;
	err = err ?: fwd_dr(&s, MAC_B1, why, n);
	s.sport = sp[NF - 1];
	s.tcpflags = 0;
	err = err ?: fwd_dr(&s, mac[NF - 1], why, n);
	s.sport = sp[0];
	if (!err && dsr_get(&s, &d) == 0) {
		snprintf(why, n, "the least recent flow kept its entry");
		err = -1;
	}
	/* The others' ACKs go where their SYNs went: every third to B2,
	 * which its hash need not give. */
	s.tcpflags = 0x10;
	for (int i = 1; i < NF && !err; i++) {
		s.sport = sp[i];
		if (dsr_get(&s, &d)) {
			snprintf(why, n, "flow %d lost its entry", i);
			err = -1;
		} else {
			err = fwd_dr(&s, mac[i], why, n);
		}
	}
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_syn_down_backend)
{
	/* rr (the flow table decides): a flow on B1, then B1 goes down
	 * (on_backend_down: keep: ACTIVE without SCHED) and leaves the
	 * sequence. The flow's ACKs stay on B1; a new SYN on its tuple is a
	 * new flow, to B2. */
	const uint32_t ids[2] = { B1, B2 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 46200, .dport = 80, .paylen = 10 };
	uint32_t key = S_STICKY, bid = 0, *zero = calloc(ncpu, sizeof(uint32_t));
	int err;

	if (!zero)
		return -1;
	flows_clear();
	table_set(S_STICKY, 13, ids, 2);
	sticky_sched(XLB_SVC_F_RR, 2);
	bpf_map_update_elem(bpf_map__fd(skel->maps.rr_pos), &key, zero, 0);
	free(zero);
	err = fwd_dr(&s, MAC_B1, why, n);
	backend_flags(B1, XLB_BACKEND_F_ACTIVE);
	table_set(S_STICKY, 13, &ids[1], 1);
	sticky_sched(XLB_SVC_F_RR, 1);
	s.tcpflags = 0x10;
	err = err ?: fwd_dr(&s, MAC_B1, why, n);
	s.tcpflags = 0x02;
	err = err ?: fwd_dr(&s, MAC_B2, why, n);
	if (!err && (flow_backend(&s, &bid) || bid != B2)) {
		snprintf(why, n, "flow entry holds backend %u, want B2", bid);
		err = -1;
	}
	backend_flags(B1, BE_UP);
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_no_backend)
{
	/* Port unreachable from the VIP (a SYN, and UDP over IPv6), as IPVS
	 * answers; a silent drop where the service turned that off. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_EMPTY, .proto = 6,
			  .sport = 40000, .dport = 80 };
	struct spec s6 = { .fam = 6, .src = CLIENT6, .dst = "2001:db8::104",
			   .proto = 17, .sport = 40000, .dport = 53, .paylen = 100 };
	struct xlb_svc_key k6 = { .vip = A(s6.dst), .port_be = htons(53),
				  .proto = 17, .family = XLB_AF_INET6 };
	struct pkt in, exp;
	int err;

	pkt_mk(&in, &s);
	unreach_expect(&exp, &in, &s);
	err = expect(&in, XDP_TX_, &exp, XLB_R_ICMP_UNREACH_SENT, why, n);
	svc_sched(VIP_EMPTY, XLB_SVC_F_NO_UNREACH, 0);
	err = err ?: expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_BACKEND, why, n);
	svc_sched(VIP_EMPTY, 0, 0);
	if (svc_add(s6.dst, 53, 17, 42, XLB_MODE_DR, 13))
		return snprintf(why, n, "cannot add the v6 service"), -1;
	pkt_mk(&in, &s6);
	unreach_expect(&exp, &in, &s6);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_ICMP_UNREACH_SENT, why, n);
	svc_del(&k6);
	return err;
}

ROW(r_icmp_rate)
{
	/* ICMP errors the balancer makes are rate limited per CPU: with
	 * tokens for 3, three port unreachables go out byte for byte as
	 * without a limit, the 4th is dropped and counted, and so is a
	 * frag needed about a packet without DF; with DF it is path MTU
	 * discovery, answered regardless (as the kernel does). A limit of 0
	 * means none. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_EMPTY, .proto = 6,
			  .sport = 40010, .dport = 80 };
	struct spec t = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 45010, .dport = 80, .paylen = 1450, .nodf = 1 };
	struct xlb_globals g = *globals_get();
	uint64_t saved = g.icmp_cost_ns;
	struct pkt in, exp;
	int err = 0;

	if (icmp_tokens(3))
		return snprintf(why, n, "cannot fill icmp_bucket: %s", strerror(errno)), -1;
	pkt_mk(&in, &s);
	unreach_expect(&exp, &in, &s);
	for (int i = 0; i < 3; i++)
		err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_ICMP_UNREACH_SENT, why, n);
	err = err ?: expect(&in, XDP_DROP_, &in, XLB_R_DROP_ICMP_RATE, why, n);
	pkt_mk(&in, &t);
	err = err ?: expect(&in, XDP_DROP_, &in, XLB_R_DROP_ICMP_RATE, why, n);
	t.nodf = 0;
	pkt_mk(&in, &t);
	too_big_expect(&exp, &in, &t, 1480);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
	/* icmp_rate_limit: 0 (cost 0): no limit, the empty bucket answers. */
	g.icmp_cost_ns = 0;
	globals_set(&g);
	pkt_mk(&in, &s);
	unreach_expect(&exp, &in, &s);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_ICMP_UNREACH_SENT, why, n);
	g.icmp_cost_ns = saved;
	globals_set(&g);
	icmp_tokens(1000000);
	return err;
}

ROW(r_no_backend_slot)
{
	/* The table names a backend id that was never configured. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_EMPTY, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };
	struct pkt in;
	int err;

	table_one(S_EMPTY, 4000);
	svc_sched(VIP_EMPTY, XLB_SVC_F_NO_UNREACH, 0);
	pkt_mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_BACKEND, why, n);
	svc_sched(VIP_EMPTY, 0, 0);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer),
			    &(uint32_t){ S_EMPTY });
	return err;
}

/* ---- lc and wlc ------------------------------------------------------- */

static void conns_set(uint32_t id, int64_t active, int64_t inactive)
{
	struct xlb_conns c = { active, inactive };

	bpf_map_update_elem(bpf_map__fd(skel->maps.backend_conns), &id, &c, 0);
}

static struct xlb_conns conns_get(uint32_t id)
{
	struct xlb_conns c = { 0, 0 };

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.backend_conns), &id, &c);
	return c;
}

static int want_conns(uint32_t id, int64_t active, int64_t inactive,
		      char *why, size_t n)
{
	struct xlb_conns c = conns_get(id);

	if (c.active == active && c.inactive == inactive)
		return 0;
	snprintf(why, n, "backend %u counts %lld/%lld, want %lld/%lld", id,
		 (long long)c.active, (long long)c.inactive, (long long)active,
		 (long long)inactive);
	return -1;
}

/* Makes S_LC an lc/wlc service over ids with weights. */
static int lc_setup(const uint32_t *ids, const uint32_t *w, uint32_t cnt)
{
	if (lc_list(S_LC, ids, w, cnt))
		return -1;
	return svc_sched(VIP_LC, XLB_SVC_F_LC, 0);
}

/* A new nat flow from sport must go to be (one of BL1..3, on xa). */
static int lc_new(uint16_t sport, uint32_t be, char *why, size_t n)
{
	static const char *const addr[] = { "198.18.0.11", "198.18.0.12",
					    "198.18.0.13" };
	static const uint8_t *const mac[] = { MAC_B1, MAC_B2, MAC_B3 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_LC, .proto = 6,
			  .sport = sport, .dport = 80 };
	uint32_t i = be - BL1;

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, mac[i], MAC_XA, CLIENT4, sport,
		     addr[i], 80, why, n)) {
		snprintf(why + strlen(why), n - strlen(why),
			 " (new flow from port %u, want backend %u)", sport, be);
		return -1;
	}
	return 0;
}

ROW(r_sched_lc)
{
	/* lc: least active * 256 + inactive. Counts 2/0, 1/0, 0/300 give
	 * 512, 256, 300: BL2. Its SYN_SENT entry makes it 1/1 (257), still
	 * least; the SYN-ACK makes it SYN_RECV (still inactive), the client's
	 * ACK establishes it (2/0, 512): BL3 (300) next. A RST
	 * moves BL2's entry to inactive (1/1), and when that entry ends (CLOSE
	 * timed out, the tuple's next SYN) it is uncounted. */
	const uint32_t ids[3] = { BL1, BL2, BL3 }, w[3] = { 1, 1, 1 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_LC, .proto = 6,
			  .sport = 51000, .dport = 80 };
	struct spec r = spec_rev(&s, "198.18.0.12", 80, CLIENT4, 51000, 0x12);

	nat_clear();
	conns_set(BL1, 2, 0);
	conns_set(BL2, 1, 0);
	conns_set(BL3, 0, 300);
	if (lc_setup(ids, w, 3) || lc_new(51000, BL2, why, n) ||
	    want_conns(BL2, 1, 1, why, n) || lc_new(51001, BL2, why, n) ||
	    want_conns(BL2, 1, 2, why, n))
		return -1;
	if (nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_LC, 80,
		     CLIENT4, 51000, why, n) || want_conns(BL2, 1, 2, why, n))
		return -1;
	s.tcpflags = 0x10;
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 51000,
		     "198.18.0.12", 80, why, n) || want_conns(BL2, 2, 1, why, n))
		return -1;
	if (lc_new(51002, BL3, why, n) || want_conns(BL3, 0, 301, why, n))
		return -1;
	s.tcpflags = 0x04;
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 51000,
		     "198.18.0.12", 80, why, n) || want_conns(BL2, 1, 2, why, n))
		return -1;
	/* Entry gone by timeout: its next SYN ends it (uncounted) and is a
	 * new flow, to the least loaded: BL2 (258) against BL3 (301). */
	flow_age(&s, XLB_TO_CLOSE_DEFAULT + 1);
	if (lc_new(51000, BL2, why, n) || want_conns(BL2, 1, 2, why, n))
		return -1;
	return 0;
}

ROW(r_sched_wlc)
{
	/* wlc: BL1 weight 3 at 2/0 (512 / 3 = 170) beats BL2 weight 1 at 1/0
	 * (256); lc (weights 1) would pick BL2. Weight 0 is never picked,
	 * and an empty list answers port unreachable. */
	const uint32_t ids[3] = { BL1, BL2, BL3 }, w[3] = { 3, 1, 0 };
	const uint32_t w1[3] = { 1, 1, 0 };
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_LC, .proto = 6,
			  .sport = 51100, .dport = 80 };
	struct pkt in, exp;

	nat_clear();
	conns_set(BL1, 2, 0);
	conns_set(BL2, 1, 0);
	conns_set(BL3, 0, 0);
	if (lc_setup(ids, w, 3) || lc_new(51100, BL1, why, n) ||
	    want_conns(BL1, 2, 1, why, n))
		return -1;
	conns_set(BL1, 2, 0);
	if (lc_setup(ids, w1, 3) || lc_new(51101, BL2, why, n))
		return -1;
	lc_setup(ids, w, 0);
	s.sport = 51102;
	pkt_mk(&in, &s);
	unreach_expect(&exp, &in, &s);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_UNREACH_SENT, why, n);
}

/* lc/wlc in dr: a service on VIP_DLC:80 over DL1 (.11) and DL2 (.12). */
#define VIP_DLC "198.18.0.117"
enum { S_DLC = 46, DL1 = 64, DL2 };

static int dlc_setup(void)
{
	const uint32_t ids[2] = { DL1, DL2 }, w[2] = { 1, 1 };
	int err = 0;

	flows_clear();
	err |= backend_set(DL1, "198.18.0.11", XLB_BACKEND_F_ACTIVE, S_DLC);
	err |= backend_set(DL2, "198.18.0.12", XLB_BACKEND_F_ACTIVE, S_DLC);
	err |= svc_add(VIP_DLC, 80, 6, S_DLC, XLB_MODE_DR, 13);
	err |= lc_list(S_DLC, ids, w, 2);
	err |= svc_sched(VIP_DLC, XLB_SVC_F_LC, 0);
	conns_set(DL1, 0, 0);
	conns_set(DL2, 0, 0);
	return err;
}

ROW(r_dsr_lc)
{
	/* dr counts its flow entries: a SYN is inactive (SYN_RECV in IPVS),
	 * the client's ACK makes it active, its FIN inactive again; lc picks
	 * by those counts. An expired entry is uncounted, and its tuple's
	 * next SYN is a new flow. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_DLC, .proto = 6,
			  .sport = 52000, .dport = 80, .paylen = 10 };
	struct spec b = a, c = a;

	if (dlc_setup())
		return snprintf(why, n, "cannot set up the service"), -1;
	b.sport = 52001;
	c.sport = 52002;
	if (fwd_dr(&a, MAC_B1, why, n) || want_conns(DL1, 0, 1, why, n) ||
	    fwd_dr(&b, MAC_B2, why, n) || want_conns(DL2, 0, 1, why, n))
		return -1;
	/* Its entries live in flows (with their state), not in dsr_flows4. */
	{
		struct xlb_dsr_flow d;

		if (dsr_get(&a, &d) == 0)
			return snprintf(why, n, "an lc flow in dsr_flows4"), -1;
	}
	a.tcpflags = 0x10;
	if (fwd_dr(&a, MAC_B1, why, n) || want_conns(DL1, 1, 0, why, n))
		return -1;
	/* DL1 256 against DL2 1. */
	if (fwd_dr(&c, MAC_B2, why, n) || want_conns(DL2, 0, 2, why, n))
		return -1;
	a.tcpflags = 0x11;
	if (fwd_dr(&a, MAC_B1, why, n) || want_conns(DL1, 0, 1, why, n))
		return -1;
	flow_age(&a, XLB_TO_FIN_DEFAULT + 1);
	a.tcpflags = 0;
	return fwd_dr(&a, MAC_B1, why, n) ?: want_conns(DL1, 0, 1, why, n) ?:
	       want_state(&a, XLB_CT_SYN_SENT, why, n);
}

ROW(r_dsr_lc_copied)
{
	/* A flow older than the service's lc (xlbd copied its compact entry
	 * into flows without a state when the scheduler changed, tagged as
	 * the data plane tags its own) keeps its backend, uncounted, however
	 * the counts stand. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_DLC, .proto = 6,
			  .sport = 52100, .dport = 80, .paylen = 10, .tcpflags = 0x10 };
	struct xlb_flow f = { .backend_id = DL2, .svc_id = S_DLC,
			      .mode = XLB_MODE_DR };
	struct xlb_flow_key k = spec_key(&a);

	if (dlc_setup())
		return snprintf(why, n, "cannot set up the service"), -1;
	conns_set(DL2, 5, 0);
	xlb_dsr_ct_tag_put(&k, &f);
	if (flow_put(&a, &f))
		return snprintf(why, n, "cannot write the entry"), -1;
	return fwd_dr(&a, MAC_B2, why, n) ?: want_conns(DL2, 5, 0, why, n) ?:
	       want_conns(DL1, 0, 0, why, n) ?:
	       want_state(&a, XLB_CT_NONE, why, n);
}

/* A flow that had only its SYN under Maglev when the scheduler became lc:
 * its compact entry is marked, its 5-tuple not written, so xlbd could not
 * copy it into flows (dsr_each leaves it out); lc would pick the other
 * backend. Its VIP has left the dr/tun tables' filter, as xlbd takes it
 * out when the last such service on its bit goes. With left (the service
 * carries XLB_SVC_F_DSR_LEFT, as xlbd marks one whose scheduler left the
 * dr/tun tables), its ACK, a flows miss, finds the compact entry and
 * keeps its backend, however the counts stand, and writes the 5-tuple.
 * Without (a service created lc, say on the id of a removed Maglev one),
 * the ACK does not look there: lc picks, and the entry stays marked. */
static int dsr_lc_after_syn(int left, uint16_t sport, char *why, size_t n)
{
	const uint32_t ids[2] = { DL1, DL2 }, w[2] = { 1, 1 };
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_DLC, .proto = 6,
			  .sport = sport, .dport = 80, .paylen = 10 };
	union xlb_addr vip = A(VIP_DLC);
	struct xlb_flow_key k, want = spec_key(&a);
	struct xlb_dsr_flow d;
	uint64_t id;
	uint32_t to;
	int err = -1;

	if (dlc_setup() || table_set(S_DLC, 13, ids, 2) ||
	    svc_sched(VIP_DLC, 0, 0))
		return snprintf(why, n, "cannot set up the service"), -1;
	/* Maglev's pick, whichever it is (a SYN again picks the same). */
	if ((fwd_dr(&a, MAC_B1, why, n) && fwd_dr(&a, MAC_B2, why, n)) ||
	    dsr_get(&a, &d) || dsr_id_get(&a, &id))
		return -1;
	if (xlb_dsr_id_keyed(id))
		return snprintf(why, n, "the SYN's slot is not marked"), -1;
	if (lc_list(S_DLC, ids, w, 2) ||
	    svc_sched(VIP_DLC, XLB_SVC_F_LC | (left ? XLB_SVC_F_DSR_LEFT : 0), 0) ||
	    filter_clear(XLB_FILTER_VIP, &vip))
		goto out;
	conns_set(d.backend_id, 5, 0);
	a.tcpflags = 0x10;
	to = left ? d.backend_id : d.backend_id == DL1 ? DL2 : DL1;
	if (fwd_dr(&a, to == DL1 ? MAC_B1 : MAC_B2, why, n))
		goto out;
	if (dsr_id_get(&a, &id)) {
		snprintf(why, n, "the compact entry is gone");
		goto out;
	}
	if (!left && xlb_dsr_id_keyed(id)) {
		snprintf(why, n, "the ACK wrote the compact entry's 5-tuple: it looked there");
		goto out;
	}
	if (left && (!xlb_dsr_id_keyed(id) || dsr_key_get(&a, &k) ||
		     memcmp(&k, &want, sizeof(k)))) {
		snprintf(why, n, "the ACK left the slot marked or without its 5-tuple");
		goto out;
	}
	err = 0;
out:
	filter_set(XLB_FILTER_VIP, &vip);
	return err;
}

ROW(r_dsr_lc_unkeyed)
{
	return dsr_lc_after_syn(1, 52300, why, n);
}

ROW(r_dsr_lc_fresh)
{
	return dsr_lc_after_syn(0, 52310, why, n);
}

ROW(r_dsr_lc_share)
{
	/* An lc dr service's entries live in flows, so they take places in
	 * its share of that table as nat entries do (else a SYN flood on it
	 * would push other services' entries out). It may hold 2 (ring of 4
	 * slots): a and b open, a is established; c ends b's half-open entry
	 * (uncounted for DL2) and takes DL2; with c established too, d is
	 * refused. An expired entry gives its place back when its tuple
	 * comes again. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_DLC, .proto = 6,
			  .sport = 52200, .dport = 80, .paylen = 10 };
	struct spec b = a, c = a, d = a;
	struct xlb_svc_flows sf;
	struct xlb_flow f;
	struct pkt in;
	int err = -1;

	b.sport = 52201;
	c.sport = 52202;
	d.sport = 52203;
	if (dlc_setup())
		return snprintf(why, n, "cannot set up the service"), -1;
	svc_flows_set(S_DLC, 2, 8, 4);
	if (fwd_dr(&a, MAC_B1, why, n) || fwd_dr(&b, MAC_B2, why, n))
		goto out;
	a.tcpflags = 0x10;
	if (fwd_dr(&a, MAC_B1, why, n) || fwd_dr(&c, MAC_B2, why, n))
		goto out;
	sf = svc_flows_get(S_DLC);
	if (flow_get(&b, &f) == 0 || sf.n != 2 || sf.evicted != 1) {
		snprintf(why, n, "over the limit: b's entry %s, %lld entries, %llu "
			 "evicted (want gone, 2, 1)", flow_get(&b, &f) ? "gone" : "kept",
			 (long long)sf.n, (unsigned long long)sf.evicted);
		goto out;
	}
	if (want_conns(DL1, 1, 0, why, n) || want_conns(DL2, 0, 1, why, n))
		goto out;
	c.tcpflags = 0x10;
	if (fwd_dr(&c, MAC_B2, why, n))
		goto out;
	pkt_mk(&in, &d);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_SVC_FULL, why, n))
		goto out;
	sf = svc_flows_get(S_DLC);
	if (flow_get(&d, &f) == 0 || sf.refused != 1 || sf.n != 2) {
		snprintf(why, n, "refused: d's entry %s, %llu refused, %lld entries "
			 "(want none, 1, 2)", flow_get(&d, &f) ? "none" : "made",
			 (unsigned long long)sf.refused, (long long)sf.n);
		goto out;
	}
	/* a expires: its next packet ends the entry (n 1) and opens a new
	 * flow in the place it left (n 2), to the least loaded backend. */
	flow_age(&a, XLB_TO_ESTABLISHED_DEFAULT + 1);
	if (fwd_dr(&a, MAC_B1, why, n) || want_state(&a, XLB_CT_SYN_SENT, why, n))
		goto out;
	sf = svc_flows_get(S_DLC);
	if (sf.n != 2 || sf.refused != 1) {
		snprintf(why, n, "after a's expiry: %lld entries, %llu refused (want 2, 1)",
			 (long long)sf.n, (unsigned long long)sf.refused);
		goto out;
	}
	err = 0;
out:
	svc_flows_set(S_DLC, 0, 0, 0);
	return err;
}

ROW(r_nat_sched_rr_sh)
{
	/* The nat path picks through the same schedulers: rr walks the
	 * sequence BL1 BL2 BL3 BL1; sh sends every port of a client to the
	 * backend of its address's slot. */
	const uint32_t ids[3] = { BL1, BL2, BL3 };
	uint32_t key = S_LC, *zero = calloc(ncpu, sizeof(uint32_t)), slot;
	union xlb_addr a = A(CLIENT4);
	int err = 0;

	if (!zero)
		return -1;
	nat_clear();
	table_set(S_LC, 13, ids, 3);
	svc_sched(VIP_LC, XLB_SVC_F_RR, 3);
	bpf_map_update_elem(bpf_map__fd(skel->maps.rr_pos), &key, zero, 0);
	free(zero);
	for (int i = 0; i < 4 && !err; i++)
		err = lc_new((uint16_t)(51200 + i), ids[i % 3], why, n);
	svc_sched(VIP_LC, XLB_SVC_F_SH, 0);
	slot = xlb_src_hash(&a) % 13;
	for (int i = 0; i < 4 && !err; i++)
		err = lc_new((uint16_t)(51300 + 17 * i), ids[slot % 3], why, n);
	svc_sched(VIP_LC, XLB_SVC_F_LC, 0);
	return err;
}

static const struct row rows[] = {
	{ .desc = "flow stickiness across a table swap; new flow follows the table", .fn = r_sticky },
	{ .desc = "weight-0 drain: existing flow continues, new flow elsewhere", .fn = r_drain },
	{ .desc = "deleted backend: flow rescheduled and flow entry updated", .fn = r_deleted },
	{ .desc = "flow's service by id: mode change, deletion, id reuse, fallback", .fn = r_flow_svc_by_id },
	{ .desc = "Maglev slot of 32 flows predicted by xlb_flow_hash", .fn = r_maglev_slots },
	{ .desc = "sh: every port of a client to one backend, by xlb_src_hash", .fn = r_sched_sh },
	{ .desc = "wrr: new flows walk the sequence B1 B1 B2, existing flows stay; ICMP about no flow dropped, sequence unmoved", .fn = r_sched_rr },
	{ .desc = "wrr under the flood guard: new flow by its hash, no entry; its ACK finds it again", .fn = r_sched_rr_guard },
	{ .desc = "wrr flows in one full bucket (XLB_DSR_WAYS) keep their backends; one more replaces the least recently seen", .fn = r_dsr_bucket_lru },
	{ .desc = "dr: a SYN on the tuple of a flow whose backend is down is rescheduled, its ACKs are not", .fn = r_syn_down_backend },
	{ .desc = "no Maglev table: port unreachable (v4 TCP, v6 UDP), or a drop when turned off", .fn = r_no_backend },
	{ .desc = "ICMP errors rate limited: N answered exactly, N+1 dropped; PMTU (DF) exempt; 0: no limit", .fn = r_icmp_rate },
	{ .desc = "table names a nonexistent backend: drop", .fn = r_no_backend_slot },
	{ .desc = "rr and sh on the nat path: sequence walked, client address hashed", .fn = r_nat_sched_rr_sh },
	{ .desc = "lc (nat): least active*256+inactive; counts follow create, state, end", .fn = r_sched_lc },
	{ .desc = "wlc (nat): overhead per weight; weight 0 skipped; empty list: unreachable", .fn = r_sched_wlc },
	{ .desc = "lc (dr): flow entries counted by the client's flags; expiry uncounts", .fn = r_dsr_lc },
	{ .desc = "lc (dr): a flow from before the lc (stateless entry) keeps its backend, uncounted", .fn = r_dsr_lc_copied },
	{ .desc = "lc (dr): a flow that had only its SYN before the lc (its compact entry unkeyed, not copied) keeps its backend; its ACK writes the 5-tuple", .fn = r_dsr_lc_unkeyed },
	{ .desc = "lc (dr) created lc (no XLB_SVC_F_DSR_LEFT): a packet past the SYN without an entry does not look in the dr/tun table; lc picks", .fn = r_dsr_lc_fresh },
	{ .desc = "lc (dr) at max_flows: oldest half-open entry ended, then refused; expiry frees", .fn = r_dsr_lc_share },
};

const struct suite fx_sched = { "sched", rows, sizeof(rows) / sizeof(rows[0]) };
