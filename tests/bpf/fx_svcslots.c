// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the services' slots by id (include/xlb_svcslots.h): a
 * packet of an existing flow never sees its service half rewritten. The
 * rest of what the slots answer (a mode change, a deletion, an id given
 * to another VIP, a missing slot): fx_sched's r_flow_svc_by_id. */
#include <arpa/inet.h>

#include "fixture.h"

#define VIP_SLOT "198.18.0.121"
#define ID_SLOT 720

/* Service A, the flow's (dr, to B1), and service B: the same id, every
 * other field of key and value different (the family, the protocol, the
 * VIP, the port; tun, another table size, flags, round-robin length,
 * persistence). */
static struct xlb_svc_key key_a, key_b;
static struct xlb_svc svc_a, svc_b;

/* id's entry: B, A, B... (write i), as xlbd writes it (svcslots_set). */
static int ent_write(uint64_t i)
{
	return svcslots_set(slots, ID_SLOT, i & 1 ? &key_a : &key_b,
			    i & 1 ? &svc_a : &svc_b);
}

ROW(r_slot_torn)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_SLOT, .proto = 6,
			  .sport = 43200, .dport = 80, .paylen = 10 };
	struct pkt in, exp;
	int err = 0;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	if (svc_add(VIP_SLOT, 80, 6, ID_SLOT, XLB_MODE_DR, 13) ||
	    table_one(ID_SLOT, B1))
		return snprintf(why, n, "cannot add the service"), -1;
	memset(&key_a, 0, sizeof(key_a));
	key_a.vip = A(VIP_SLOT);
	key_a.port_be = htons(80);
	key_a.proto = 6;
	key_a.family = XLB_AF_INET;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), &key_a, &svc_a);
	memset(&key_b, 0, sizeof(key_b));
	key_b.vip = A("2001:db8::121");
	key_b.port_be = htons(53);
	key_b.proto = 17;
	key_b.family = XLB_AF_INET6;
	svc_b = (struct xlb_svc){ .id = ID_SLOT, .table_size = 17,
				  .mode = XLB_MODE_TUN,
				  .flags = XLB_SVC_F_SH | XLB_SVC_F_NO_UNREACH,
				  .seq_len = 7, .persist_s = 60, .persist_plen = 24 };
	/* The SYN makes the flow's dr/tun entry; its next segments find the
	 * service by id. Under A: A's. Under B: not the packet's key, so the
	 * services map's, A again. Either way the same dr frame to B1. */
	err = fwd_dr(&s, MAC_B1, why, n);
	s.tcpflags = 0x10;
	pkt_mk(&in, &s);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	if (err)
		goto out;
	err = torn_race(&in, XDP_TX_, &exp, ent_write, NULL, "services", why, n);
out:
	ent_write(1);
	svc_del(&key_a);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer),
			    &(uint32_t){ ID_SLOT });
	return err;
}

static const struct row rows[] = {
	{ .desc = "flow's service by id rewritten on another CPU between two services (every field but the id differs): every frame the dr frame both give", .fn = r_slot_torn },
};

const struct suite fx_svcslots = { "svcslots", rows, sizeof(rows) / sizeof(rows[0]) };
