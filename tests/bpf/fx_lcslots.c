// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the lc/wlc lists' slots (include/xlb_lcslots.h): a new
 * flow never picks from a list half rewritten. The rest of what lc/wlc
 * do: fx_sched's lc rows. */
#include <arpa/inet.h>

#include "fixture.h"

/* The lists the writer cycles through, all picking BL1 (the others carry
 * far more connections): three, so that a slot is rewritten with other
 * bytes than it holds. A count of one with the backends of another, or
 * backends with another list's weights, leave BL1 out or at weight 0,
 * and pick BL2 or BL3. */
static const struct {
	uint32_t n, ids[3], w[3];
} lists[3] = {
	{ 1, { BL1 }, { 1 } },
	{ 3, { BL2, BL3, BL1 }, { 1, 1, 1 } },
	{ 2, { BL3, BL1 }, { 1, 1 } },
};
/* List i % 3 of S_LC, as xlbd writes it (lcslots_set). */
static int list_write(uint64_t i)
{
	return lc_list(S_LC, lists[i % 3].ids, lists[i % 3].w, lists[i % 3].n);
}

static int conns_set(uint32_t id, int64_t active)
{
	struct xlb_conns c = { active, 0 };

	return bpf_map_update_elem(bpf_map__fd(skel->maps.backend_conns), &id, &c, 0);
}

/* VIP_LC:80's (S_LC, nat) flags become flags; *old (not NULL): what they
 * were. */
static int lc_flags(uint8_t flags, uint8_t *old)
{
	struct xlb_svc_key k;
	struct xlb_svc v;

	memset(&k, 0, sizeof(k));
	k.vip = A(VIP_LC);
	k.port_be = htons(80);
	k.proto = 6;
	k.family = XLB_AF_INET;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), &k, &v))
		return -1;
	if (old)
		*old = v.flags;
	v.flags = flags;
	return svc_write(&k, &v);
}

/* S_LC's list rewritten on another CPU between the three lists: every new
 * flow's SYN goes to BL1. BL1's count grows by one per frame (the
 * fixture deletes the flow, not the data plane), at most 2M against
 * BL2's and BL3's 2^36 active (overhead 2^44). */
ROW(r_lc_torn)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_LC, .proto = 6,
			  .sport = 43500, .dport = 80 };
	struct pkt in, exp;
	uint8_t flags = 0;
	int err;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	nat_clear();
	err = conns_set(BL1, 0) ?: conns_set(BL2, 1ll << 36) ?:
	      conns_set(BL3, 1ll << 36) ?: list_write(0) ?:
	      lc_flags(XLB_SVC_F_LC, &flags);
	if (err) {
		snprintf(why, n, "cannot set up the service: %s", strerror(errno));
		goto out;
	}
	pkt_mk(&in, &s);
	xlat_expect(&exp, &in, MAC_B1, MAC_XA, CLIENT4, s.sport, "198.18.0.11", 80);
	err = torn_race_new_flows(&s, &in, &exp, list_write, "lc lists", why, n);
out:
	lc_flags(flags, NULL);
	lc_list(S_LC, NULL, NULL, 0);
	for (uint32_t id = BL1; id <= BL3; id++)
		conns_set(id, 0);
	nat_clear();
	return err;
}

static const struct row rows[] = {
	{ .desc = "lc nat list rewritten on another CPU between three lists that all pick B1: every new flow's frame to B1", .fn = r_lc_torn },
};

const struct suite fx_lcslots = { "lcslots", rows, sizeof(rows) / sizeof(rows[0]) };
