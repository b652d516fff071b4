// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the fast path (hash kept in the flow entry, SYNs of
 * deterministic schedulers past the flow table), of the flood guard, and
 * of the nat/fullnat tables under pressure (per-service max_flows,
 * embryonic entries first). */
#include <time.h>

#include "fixture.h"

ROW(r_syn_follows_table)
{
	/* Maglev is deterministic: a SYN opens a new connection without
	 * looking at the flow table, so it follows the table over an older
	 * entry of its tuple, and the entry learns the new choice. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 44000, .dport = 80, .paylen = 10 };
	uint32_t bid = 0;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	err = fwd_dr(&a, MAC_B2, why, n);
	if (!err && (flow_backend(&a, &bid) || bid != B2)) {
		snprintf(why, n, "flow entry names backend %u, want %u", bid, B2);
		err = -1;
	}
	a.tcpflags = 0x10;
	if (!err)
		err = fwd_dr(&a, MAC_B2, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_tun_outer_hash)
{
	/* A tun flow takes its outer source from the keyed hash of its
	 * dr/tun table lookup (xlb_dsr_outer_hash), its SYN from the hash
	 * of its store: the same for both, and not the flow hash, which an
	 * established packet never computes. The spec is one whose two
	 * hashes give different sources in the fixture's /24. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 44100, .dport = 80, .paylen = 100 };
	const struct xlb_globals *g = globals_get();
	union xlb_addr by_flow_hash;

	flows_clear();
	for (; s.sport < 44200; s.sport++) {
		by_flow_hash.v4 = xlb_tun_src_v4(g->tun_src_v4, g->tun_src_v4_plen,
						 spec_hash(&s));
		if (by_flow_hash.v4 != tun_src(&s, 4).v4)
			break;
	}
	if (s.sport == 44200)
		return snprintf(why, n, "no flow whose two hashes differ"), -1;
	if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n))
		return -1;
	s.tcpflags = 0x10;
	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_guard_dr)
{
	/* Over 2 new flows in the CPU's second: dr forwards new flows by the
	 * table but stores no entry; an established flow keeps its entry. */
	struct spec e = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 44200, .dport = 80, .paylen = 10 };
	struct spec s = e;
	uint64_t ne0 = guard_get(XLB_G_NO_ENTRY), en0 = guard_get(XLB_G_ENGAGED);
	uint32_t bid;
	int i, err = 0;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&e, MAC_B1, why, n))
		return -1;
	guard_rate(2);
	for (i = 1; i <= 5 && !err; i++) {
		s.sport = 44200 + i;
		err = fwd_dr(&s, MAC_B1, why, n);
		if (!err && (flow_backend(&s, &bid) == 0) != (i <= 2)) {
			snprintf(why, n, "new flow %d: entry %s", i,
				 i <= 2 ? "missing" : "stored over the rate");
			err = -1;
		}
	}
	guard_rate(0);
	if (!err && (guard_get(XLB_G_NO_ENTRY) - ne0 != 3 ||
		     guard_get(XLB_G_ENGAGED) - en0 != 1)) {
		snprintf(why, n, "guard counters: %llu not stored, %llu engaged (want 3, 1)",
			 (unsigned long long)(guard_get(XLB_G_NO_ENTRY) - ne0),
			 (unsigned long long)(guard_get(XLB_G_ENGAGED) - en0));
		err = -1;
	}
	table_one(S_STICKY, B2);
	e.tcpflags = 0x10;
	if (!err)
		err = fwd_dr(&e, MAC_B1, why, n);
	table_one(S_STICKY, B1);
	return err;
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

ROW(r_guard_window)
{
	/* The guard's window is one second, whichever clock times it (jiffies
	 * at the program's xlb_hz, or ns): rate 1, a first new flow at t0
	 * opens it, the second engages the guard, and new flows every 5 ms
	 * get no entry until one does (a new window). The last without an
	 * entry came before t0 + 1 s, the first with one after t0 + 1 s less
	 * a tick: 30 ms of slack each way. A wrong HZ fails it: 250 taken for
	 * 300 makes a 1.2 s window, 300 for 250 a 0.83 s one. Times taken
	 * around each run bound it; late wake-ups only thin the samples. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_STICKY, .proto = 6,
			  .sport = 45000, .dport = 80, .paylen = 10 };
	struct timespec gap = { .tv_nsec = 5000000 };
	double t0, pre, last_guarded = 0, first_stored = 0;
	uint32_t bid;
	int i, err = 0;

	flows_clear();
	table_one(S_STICKY, B1);
	guard_rate(1);
	err = fwd_dr(&s, MAC_B1, why, n);
	t0 = mono_s();
	for (i = 1; i < 600 && !err && !first_stored; i++) {
		s.sport = 45000 + i;
		pre = mono_s();
		err = fwd_dr(&s, MAC_B1, why, n);
		if (err)
			break;
		if (flow_backend(&s, &bid) != 0)
			last_guarded = pre;
		else if (i == 1)
			return guard_rate(0), snprintf(why, n, "the second new flow "
				"got an entry: the guard did not engage"), -1;
		else
			first_stored = mono_s();
		nanosleep(&gap, NULL);
	}
	guard_rate(0);
	if (err)
		return err;
	if (!first_stored)
		return snprintf(why, n, "still engaged %.2f s after the window "
				"opened", mono_s() - t0), -1;
	if (last_guarded - t0 > 1.03 || first_stored - t0 < 0.97)
		return snprintf(why, n, "window of %.3f-%.3f s, want 1 s (HZ %u)",
				last_guarded - t0, first_stored - t0, fixture_hz), -1;
	return 0;
}

ROW(r_guard_nat)
{
	/* Over 1 new flow in the CPU's second: the fullnat entry (and its
	 * port) made under the guard lives XLB_TO_GUARD_DEFAULT s, the one
	 * made before it its full UDP timeout. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 17,
			  .sport = 44300, .dport = 53, .paylen = 20 };
	struct spec b = a;
	uint64_t sh0 = guard_get(XLB_G_SHORT);
	struct xlb_flow fa, fb;
	struct spec ra, rb;
	struct pkt in;
	int err;

	b.sport = 44301;
	ra = spec_rev(&a, "198.18.0.12", 5353, LIP4, fnat_port(&a), 0);
	rb = spec_rev(&b, "198.18.0.12", 5353, LIP4, fnat_port(&b), 0);
	nat_clear();
	guard_rate(1);
	err = nat_step(&a, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4,
		       fnat_port(&a), "198.18.0.12", 5353, why, n) ?:
	      nat_step(&b, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4,
		       fnat_port(&b), "198.18.0.12", 5353, why, n);
	guard_rate(0);
	if (err)
		return -1;
	if (flow_get(&a, &fa) || flow_get(&b, &fb) ||
	    (fa.flags & XLB_FLOW_F_GUARD) || !(fb.flags & XLB_FLOW_F_GUARD) ||
	    guard_get(XLB_G_SHORT) - sh0 != 1) {
		snprintf(why, n, "guard flag: first %s, second %s (want clear, set)",
			 fa.flags & XLB_FLOW_F_GUARD ? "set" : "clear",
			 fb.flags & XLB_FLOW_F_GUARD ? "set" : "clear");
		return -1;
	}
	flow_age(&a, XLB_TO_GUARD_DEFAULT + 1);
	flow_age(&b, XLB_TO_GUARD_DEFAULT + 1);
	pkt_mk(&in, &rb);
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n)) {
		strncat(why, " (guarded entry)", n - strlen(why) - 1);
		return -1;
	}
	return nat_step(&ra, ifx_xa, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA,
			VIP_F4, 53, CLIENT4, 44300, why, n);
}

/* The nat TCP flow s (VIP_N4:80 -> 198.18.1.11:8080) after its SYN:
 * SYN-ACK from the backend, ACK from the client: established. */
static int nat_establish(struct spec s, char *why, size_t n)
{
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, s.sport, 0x12);

	s.tcpflags = 0x10;
	return nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
			MAC_XA, VIP_N4, 80, CLIENT4, s.sport, why, n) ?:
	       nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
			CLIENT4, s.sport, "198.18.1.11", 8080, why, n) ?:
	       want_state(&s, XLB_CT_ESTABLISHED, why, n);
}

static int nat_syn(const struct spec *s, char *why, size_t n)
{
	return nat_step(s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
			CLIENT4, s->sport, "198.18.1.11", 8080, why, n);
}

ROW(r_svc_max_flows)
{
	/* The nat service may hold 2 entries (ring of 4 slots). a and b
	 * open, a is established; c, over the limit, ends b's half-open
	 * entry (the oldest embryonic one in the ring) and is translated;
	 * once c is established too, d is refused and counted: established
	 * connections are never evicted. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_N4, .proto = 6,
			  .sport = 44500, .dport = 80 };
	struct spec b = a, c = a, d = a;
	struct xlb_svc_flows sf;
	struct xlb_flow f;
	struct pkt in;
	int err = -1;

	b.sport = 44501;
	c.sport = 44502;
	d.sport = 44503;
	nat_clear();
	svc_flows_set(S_N4T, 2, 0, 4);
	if (nat_syn(&a, why, n) || nat_syn(&b, why, n) || nat_establish(a, why, n) ||
	    nat_syn(&c, why, n))
		goto out;
	sf = svc_flows_get(S_N4T);
	if (flow_get(&b, &f) == 0 || sf.n != 2 || sf.evicted != 1) {
		snprintf(why, n, "over the limit: b's entry %s, %lld entries, %llu "
			 "evicted (want gone, 2, 1)", flow_get(&b, &f) ? "gone" : "kept",
			 (long long)sf.n, (unsigned long long)sf.evicted);
		goto out;
	}
	if (nat_establish(c, why, n))
		goto out;
	pkt_mk(&in, &d);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_SVC_FULL, why, n))
		goto out;
	sf = svc_flows_get(S_N4T);
	if (flow_get(&d, &f) == 0 || sf.refused != 1 || sf.n != 2 ||
	    want_state(&a, XLB_CT_ESTABLISHED, why, n)) {
		snprintf(why + strlen(why), n - strlen(why), " refused: d's entry %s, "
			 "%llu refused, %lld entries (want none, 1, 2)",
			 flow_get(&d, &f) ? "none" : "made",
			 (unsigned long long)sf.refused, (long long)sf.n);
		goto out;
	}
	err = 0;
out:
	svc_flows_set(S_N4T, 0, 0, 0);
	return err;
}

ROW(r_embryo_port)
{
	/* One fullnat local port. a's half-open entry holds it; b's SYN
	 * takes the port over (a's entry ends, counted as evicted); once b
	 * is established, c is refused: no port is taken from a live
	 * connection. */
	struct spec a = { .fam = 4, .src = CLIENT4, .dst = VIP_F4, .proto = 6,
			  .sport = 44600, .dport = 80 };
	struct spec b = a, c = a, br;
	uint64_t ev0 = svc_flows_get(S_F4T).evicted;
	struct xlb_flow f;
	struct pkt in;
	int err = -1;

	b.sport = 44601;
	c.sport = 44602;
	br = spec_rev(&b, "198.18.1.11", 80, LIP4, 30000, 0x12);
	nat_clear();
	lport_range(30000, 30000);
	if (nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     30000, "198.18.1.11", 80, why, n) ||
	    nat_step(&b, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     30000, "198.18.1.11", 80, why, n))
		goto out;
	if (flow_get(&a, &f) == 0 || svc_flows_get(S_F4T).evicted - ev0 != 1 ||
	    nat_rev_count() != 1) {
		snprintf(why, n, "a's entry %s, %llu evicted, %u reverse entries "
			 "(want gone, 1, 1)", flow_get(&a, &f) ? "gone" : "kept",
			 (unsigned long long)(svc_flows_get(S_F4T).evicted - ev0),
			 nat_rev_count());
		goto out;
	}
	b.tcpflags = 0x10;
	if (nat_step(&br, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 44601, why, n) ||
	    nat_step(&b, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     30000, "198.18.1.11", 80, why, n) ||
	    want_state(&b, XLB_CT_ESTABLISHED, why, n))
		goto out;
	pkt_mk(&in, &c);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n);
out:
	lport_range(0, 0);
	return err;
}

static const struct row rows[] = {
	{ .desc = "SYN of a Maglev dr service follows the table, not an old entry", .fn = r_syn_follows_table },
	{ .desc = "tun SYN and established: outer source from the dr/tun table's keyed hash", .fn = r_tun_outer_hash },
	{ .desc = "flood guard, dr: over the rate no entry, established entry kept", .fn = r_guard_dr },
	{ .desc = "flood guard, fullnat: entry made over the rate is short-lived", .fn = r_guard_nat },
	{ .desc = "flood guard: its window is one second", .fn = r_guard_window },
	{ .desc = "nat service at max_flows: oldest half-open entry ended, then refused", .fn = r_svc_max_flows },
	{ .desc = "fullnat out of ports: a half-open entry's port taken, a live one's not", .fn = r_embryo_port },
};

const struct suite fx_flood = { "flood", rows, sizeof(rows) / sizeof(rows[0]) };
