// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture rows of the service index (include/xlb_svcidx.h, bpf/svcidx.h):
 * the services a new flow finds through it, in buckets with room and in a
 * full one, as services come and go. A service changed in place: fx_sched's
 * r_flow_svc_by_id (its SYNs find the service through the index). */
#include <arpa/inet.h>

#include "fixture.h"

#define VIP_IDX "198.18.0.120"
#define ID_IDX 700              /* ids of this file's services, upwards */
#define N_IDX 12                /* keys of one bucket: 8 words and 4 more */

/* The key of the tcp service VIP_IDX:port. */
static struct xlb_svc_key idx_key(uint16_t port)
{
	struct xlb_svc_key k;

	memset(&k, 0, sizeof(k));
	k.vip = A(VIP_IDX);
	k.port_be = htons(port);
	k.proto = 6;
	k.family = XLB_AF_INET;
	return k;
}

static uint32_t idx_bucket(uint16_t port)
{
	struct xlb_svc_key k = idx_key(port);

	return xlb_svc_idx_bucket(xlb_svc_idx_hash(&k));
}

/* A SYN to VIP_IDX:port. */
static struct spec idx_syn(uint16_t port)
{
	struct spec s = { .fam = 4, .src = "198.18.0.1", .dst = VIP_IDX,
			  .proto = 6, .sport = 40000, .dport = port, .paylen = 10 };

	return s;
}

/* The SYN to each of the cnt ports goes to its service (dr, all to B1,
 * each its own table) where live[i] says it has one; else the stack
 * takes it. */
static int idx_check(const uint16_t *ports, const int *live, int cnt,
		     char *why, size_t n)
{
	for (int i = 0; i < cnt; i++) {
		struct spec s = idx_syn(ports[i]);
		struct pkt in;
		int err;

		pkt_mk(&in, &s);
		err = live[i] ? fwd_dr(&s, MAC_B1, why, n) :
				expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
		if (err) {
			snprintf(why + strlen(why), n - strlen(why), " (port %u, %s)",
				 ports[i], live[i] ? "a service" : "none");
			return -1;
		}
	}
	return 0;
}

ROW(r_idx_full_bucket)
{
	/* N_IDX + 1 ports whose keys share one bucket; the last never gets a
	 * service (a full bucket's miss asks the services map, which has
	 * none). */
	uint16_t ports[N_IDX + 1];
	int live[N_IDX + 1] = { 0 }, m = 0, err = 0, in_map = 0;
	uint32_t b = idx_bucket(1000);

	for (uint32_t p = 1000; p < 65536 && m <= N_IDX; p++)
		if (idx_bucket((uint16_t)p) == b)
			ports[m++] = (uint16_t)p;
	if (m <= N_IDX)
		return snprintf(why, n, "no %d ports share a bucket", N_IDX + 1), -1;
	for (int i = 0; i < N_IDX && !err; i++) {
		err = svc_add(VIP_IDX, ports[i], 6, ID_IDX + i, XLB_MODE_DR, 13) ||
		      table_one(ID_IDX + i, B1);
		live[i] = 1;
	}
	if (err)
		return snprintf(why, n, "cannot add the services"), -1;
	/* Eight in the bucket's words, four in the services map alone. */
	for (int i = 0; i < N_IDX; i++) {
		struct xlb_svc_key k = idx_key(ports[i]);
		bool from_index;

		in_map += svcidx_find(svcidx, &k, &from_index) && !from_index;
	}
	if (in_map != N_IDX - XLB_SVC_IDX_WAYS)
		return snprintf(why, n, "%d keys outside the bucket, not %d", in_map,
				N_IDX - XLB_SVC_IDX_WAYS), -1;
	err = idx_check(ports, live, N_IDX + 1, why, n);
	/* Deleted one by one, first the bucket's (each frees a word that a
	 * key of the services map takes), every other key still found. */
	for (int i = 0; i < N_IDX && !err; i++) {
		struct xlb_svc_key k = idx_key(ports[i]);

		svc_del(&k);
		live[i] = 0;
		err = idx_check(ports, live, N_IDX + 1, why, n);
	}
	for (int i = 0; i < N_IDX; i++)
		bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer),
				    &(uint32_t){ ID_IDX + i });
	return err;
}

ROW(r_idx_world)
{
	/* Every service of the fixture world (both families, every mode,
	 * the all-ports one) is answered by the index itself. */
	int fd = bpf_map__fd(skel->maps.services), seen = 0;
	struct xlb_svc_key key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		const struct xlb_svc *v;
		struct xlb_svc want;
		bool from_index;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &want))
			continue;
		v = svcidx_find(svcidx, &key, &from_index);
		if (!v || !from_index || memcmp(v, &want, sizeof(want)))
			return snprintf(why, n, "service %u: %s", want.id,
					!v ? "not in the index" :
					!from_index ? "in the services map alone" :
					"another value in the index"), -1;
		seen++;
	}
	if (seen < 10)
		return snprintf(why, n, "only %d services", seen), -1;
	return 0;
}

static const struct row rows[] = {
	{ .desc = "service index: 12 services in one bucket of 8 words found, 4 through the services map; each deletion keeps the rest found", .fn = r_idx_full_bucket },
	{ .desc = "service index: every service of the fixture world answered by the index", .fn = r_idx_world },
};

const struct suite fx_svcidx = { "svcidx", rows, sizeof(rows) / sizeof(rows[0]) };
