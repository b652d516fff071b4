// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the fast path (hash kept in the flow entry, SYNs of
 * deterministic schedulers past the flow table) and of the flood guard. */
#include <sched.h>

#include "fixture.h"

static uint64_t guard_get(int ev)
{
	return percpu_sum(skel->maps.guard_stats, ev);
}

/* Sets the flood guard's rate (0: off) and starts its window afresh; pins
 * the test to its current CPU while a rate is set, the guard's window
 * being per CPU. */
static void guard_rate(uint32_t rate)
{
	static cpu_set_t saved;
	struct xlb_globals g = *globals_get();
	struct xlb_guard_win w[ncpu];
	uint32_t zero = 0;
	cpu_set_t one;

	if (rate) {
		sched_getaffinity(0, sizeof(saved), &saved);
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		sched_setaffinity(0, sizeof(one), &one);
	} else {
		sched_setaffinity(0, sizeof(saved), &saved);
	}
	g.guard_rate = rate;
	bpf_map_update_elem(bpf_map__fd(skel->maps.globals), &zero, &g, 0);
	/* A fresh window: earlier rows' flows do not count. */
	memset(w, 0, sizeof(w));
	bpf_map_update_elem(bpf_map__fd(skel->maps.guard_win), &zero, w, 0);
}

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

ROW(r_tun_hash_kept)
{
	/* An established tun flow takes its outer source from the hash kept
	 * in its flow entry: the 5-tuple is hashed once per flow. */
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_TUN4, .proto = 6,
			  .sport = 44100, .dport = 80, .paylen = 100 };
	const struct xlb_globals *g = globals_get();
	struct xlb_flow f;
	struct pkt in, exp;
	union xlb_addr o;

	flows_clear();
	if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n))
		return -1;
	if (flow_get(&s, &f) || f.hash != spec_hash(&s)) {
		snprintf(why, n, "flow entry without the flow's hash");
		return -1;
	}
	f.hash ^= 0x5a;
	flow_put(&s, &f);
	s.tcpflags = 0x10;
	pkt_mk(&in, &s);
	tun_expect(&exp, &in, "198.18.0.13", MAC_B3, &s);
	o.v4 = xlb_tun_src_v4(g->tun_src_v4, g->tun_src_v4_plen, f.hash);
	memcpy(exp.b + 14 + 12, &o.v4, 4);
	ip4_recsum(&exp);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
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

static const struct row rows[] = {
	{ .desc = "SYN of a Maglev dr service follows the table, not an old entry", .fn = r_syn_follows_table },
	{ .desc = "tun established: outer source from the hash in the flow entry", .fn = r_tun_hash_kept },
	{ .desc = "flood guard, dr: over the rate no entry, established entry kept", .fn = r_guard_dr },
	{ .desc = "flood guard, fullnat: entry made over the rate is short-lived", .fn = r_guard_nat },
};

const struct suite fx_flood = { "flood", rows, sizeof(rows) / sizeof(rows[0]) };
