// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the services' slots by id (include/xlb_svcslots.h): a
 * packet of an existing flow never sees its service half rewritten. The
 * rest of what the slots answer (a mode change, a deletion, an id given
 * to another VIP, a missing slot): fx_sched's r_flow_svc_by_id. */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "fixture.h"

#define VIP_SLOT "198.18.0.121"
#define ID_SLOT 720
#define TORN_SECONDS 2          /* how long the reader runs, at most */
#define TORN_FRAMES 2000000     /* how many frames, at most */

/* Service A, the flow's (dr, to B1), and service B: the same id, every
 * other field of key and value different (the family, the protocol, the
 * VIP, the port; tun, another table size, flags, round-robin length,
 * persistence). */
static struct xlb_svc_key key_a, key_b;
static struct xlb_svc svc_a, svc_b;

struct torn_run {
	volatile int stop;
	uint64_t writes;
	int err;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* id's entry: k and v, as xlbd writes it (svcslots_set). */
static int ent_write(const struct xlb_svc_key *k, const struct xlb_svc *v)
{
	return svcslots_set(slots, ID_SLOT, k, v);
}

/* The writer, on CPU 1: A, B, A, B... until the reader is done. */
static void *torn_writer(void *arg)
{
	struct torn_run *r = arg;

	pin_cpu(1);
	while (!r->stop && !r->err) {
		int odd = r->writes & 1;

		r->err = ent_write(odd ? &key_a : &key_b, odd ? &svc_a : &svc_b);
		r->writes++;
	}
	return NULL;
}

ROW(r_slot_torn)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_SLOT, .proto = 6,
			  .sport = 43200, .dport = 80, .paylen = 10 };
	struct torn_run r = { 0 };
	struct pkt in, exp, out;
	uint64_t frames = 0;
	cpu_set_t all;
	pthread_t w;
	double end;
	int v, err = 0;

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
	if (pthread_create(&w, NULL, torn_writer, &r))
		return snprintf(why, n, "cannot start the writer"), -1;
	pthread_getaffinity_np(pthread_self(), sizeof(all), &all);
	pin_cpu(0);
	end = now_s() + TORN_SECONDS;
	while (frames < TORN_FRAMES && !r.err && (frames & 1023 || now_s() < end)) {
		err = run_prog(bpf_program__fd(skel->progs.xlb_xdp), &in, &out,
			       ifx_xa, &v);
		frames++;
		if (err || v != XDP_TX_ || out.len != exp.len ||
		    memcmp(out.b, exp.b, exp.len)) {
			snprintf(why, n, "frame %llu of %llu, after %llu writes: %s, "
				 "verdict %s, %zu bytes: not the dr frame both "
				 "services give", (unsigned long long)frames,
				 (unsigned long long)TORN_FRAMES,
				 (unsigned long long)r.writes,
				 err ? strerror(-err) : "a service half rewritten",
				 vname(v), out.len);
			err = -1;
			break;
		}
	}
	r.stop = 1;
	pthread_join(w, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	if (!err && r.err) {
		snprintf(why, n, "writer: %s", strerror(-r.err));
		err = -1;
	}
	if (!err && r.writes < 20) {
		snprintf(why, n, "only %llu writes in %llu frames",
			 (unsigned long long)r.writes, (unsigned long long)frames);
		err = -1;
	}
	if (!err)
		printf("    (%llu frames, %llu rewrites of the id)\n",
		       (unsigned long long)frames, (unsigned long long)r.writes);
out:
	ent_write(&key_a, &svc_a);
	svc_del(&key_a);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer),
			    &(uint32_t){ ID_SLOT });
	return err;
}

static const struct row rows[] = {
	{ .desc = "flow's service by id rewritten on another CPU between two services (every field but the id differs): every frame the dr frame both give", .fn = r_slot_torn },
};

const struct suite fx_svcslots = { "svcslots", rows, sizeof(rows) / sizeof(rows[0]) };
