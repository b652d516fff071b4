// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xlb against Katran: the per-packet cost of xlb_xdp and of Katran's XDP
 * balancer (balancer_ingress, built from Katran's public source by
 * bench/katran_cmp.sh) on the same frames, in one process, interleaved.
 *
 * Method (docs/performance.md, "xlb against Katran"):
 * - Both programs run behind bench/vary.bpf.c (xdp_lab.c), which restores
 *   the frame and, for new-flow and cold rows, gives every run its own
 *   client tuple; the front's cost is taken out with a trivial XDP_TX
 *   baseline timed the same way: net = t(front+P) - t(front+base) + t(base).
 *   A row's figure is net(xlb) / net(Katran) per round; median and range.
 * - xlb in tun mode does what Katran does (IPIP / ip6ip6 to the real
 *   server, the frame sent back out with XDP_TX); xlb dr rows are a
 *   reference (dr rewrites the MACs only).
 * - Katran's maps are filled as its control plane (KatranLb.cpp) would for
 *   the same VIPs and three real servers: vip_map, reals, ch_rings, the
 *   default router's MAC in ctl_array, one 1M-entry LRU (LRU_HASH, as
 *   KatranLb::createLruMap) for every CPU slot of lru_mapping. xlb's real
 *   servers are reached through the same router (its next-hop cache
 *   points there), so both send to the same MAC.
 * - new-flow rows: batches of BATCH SYNs with both flow tables emptied
 *   between batches, and Katran's new-connection counter reset, so neither
 *   table fills and Katran stays under its LRU-bypass rate (MAX_CONN_RATE);
 *   flood rows: xlb's guard engaged (guard_rate 1) against Katran over
 *   MAX_CONN_RATE (no LRU insert).
 * - Before timing, both programs get the same SYN and ACK and their output
 *   frames are compared byte by byte (a tuple for which both pick the same
 *   real server); the fields that differ are printed.
 *
 * Usage: katran_cmp -k BALANCER_KERN.o [-r ROUNDS] [-n REPEAT] [-q] [-f WORDS]
 *                   [-F NAME] [-j FILE]
 * -F: the row called NAME alone (a flood row's name has a comma).
 * -j: append one JSON object per row to FILE (bench/run's latest.json).
 * Needs root (netns, BPF). Prints markdown on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "pkt.h"
#include "baseline.skel.h"
#include "floor.skel.h"
#include "xdp_lab.h"

/* Katran's map layouts (katran/lib/bpf/balancer_structs.h); katran_load
 * checks them against the object's key and value sizes. */
struct k_flow_key {
	uint32_t src[4];        /* v4: src[0] */
	uint32_t dst[4];
	uint16_t port16[2];     /* network order: source, destination */
	uint8_t proto;
};

struct k_real_pos_lru {
	uint32_t pos;
	uint64_t atime;
};

struct k_vip_definition {
	uint32_t vip[4];
	uint16_t port;          /* network order */
	uint8_t proto;
};

struct k_vip_meta {
	uint32_t flags;
	uint32_t vip_num;
};

struct k_real_definition {
	uint32_t dst[4];
	uint8_t flags;          /* K_F_IPV6 */
};

struct k_lb_stats {
	uint64_t v1;
	uint64_t v2;
};

#define K_F_IPV6           1
#define K_NEW_CONN_RATE    2        /* stats slot MAX_VIPS + 2 */
#define K_MAX_CONN_RATE    125000   /* balancer_consts.h default */
#define K_LRU_SIZE         (1u << 20)
#define GOAL               0.8

static const uint8_t MAC_ROUTER[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static struct bench_opts opt;   /* bench_opts_parse */

static struct baseline_bpf *bs;
static struct floor_bpf *fs;
static struct bpf_object *ko;   /* Katran's balancer */
static int k_prog, k_lru, k_stats, k_ring_size, k_max_vips;
static int k_flood;             /* tables_clear: leave Katran over its rate */

/* ---- Katran --------------------------------------------------------------- */

static struct bpf_map *k_map(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(ko, name);

	if (!m)
		fprintf(stderr, "katran_cmp: Katran's object has no map '%s'\n", name);
	return m;
}

/* Whether map name has the key and value sizes of the layouts above. */
static int k_sizes_ok(const char *name, uint32_t ks, uint32_t vs_)
{
	struct bpf_map *m = k_map(name);

	if (m && bpf_map__key_size(m) == ks && bpf_map__value_size(m) == vs_)
		return 1;
	if (m)
		fprintf(stderr, "katran_cmp: Katran's map '%s' has key %u value %u "
			"bytes, expected %u/%u (another Katran version?)\n", name,
			bpf_map__key_size(m), bpf_map__value_size(m), ks, vs_);
	return 0;
}

/* Opens and loads Katran's object with one LRU shared by every CPU slot
 * (BPF_PROG_TEST_RUN runs on whichever CPU the bench is on). */
static int katran_load(const char *path)
{
	struct bpf_program *p;
	struct bpf_map *mm;
	int ncpu, i, err;

	ko = bpf_object__open_file(path, NULL);
	if (!ko || libbpf_get_error(ko)) {
		fprintf(stderr, "katran_cmp: cannot open '%s'\n", path);
		return -1;
	}
	p = bpf_object__find_program_by_name(ko, "balancer_ingress");
	mm = k_map("lru_mapping");
	if (!p || !mm) {
		fprintf(stderr, "katran_cmp: '%s' is not Katran's balancer_kern.o\n", path);
		return -1;
	}
	/* Katran names its section "xdp-balancer", which libbpf does not
	 * map to a program type; the attach type as SEC("xdp") gives it (a
	 * tail call from the front needs both to match). */
	bpf_program__set_type(p, BPF_PROG_TYPE_XDP);
	bpf_program__set_expected_attach_type(p, BPF_XDP);
	k_lru = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "katran_lru",
			       sizeof(struct k_flow_key),
			       sizeof(struct k_real_pos_lru), K_LRU_SIZE, NULL);
	if (k_lru < 0) {
		fprintf(stderr, "katran_cmp: cannot create Katran's LRU: %s\n",
			strerror(errno));
		return -1;
	}
	/* Older trees leave lru_mapping's inner map to the loader; newer ones
	 * declare it (__array), and libbpf refuses a second one: theirs then. */
	bpf_map__set_inner_map_fd(mm, k_lru);
	err = bpf_object__load(ko);
	if (err) {
		fprintf(stderr, "katran_cmp: cannot load '%s': %s\n", path,
			strerror(-err));
		return -1;
	}
	if (!k_sizes_ok("vip_map", sizeof(struct k_vip_definition), sizeof(struct k_vip_meta)) ||
	    !k_sizes_ok("reals", 4, sizeof(struct k_real_definition)) ||
	    !k_sizes_ok("ch_rings", 4, 4) ||
	    !k_sizes_ok("stats", 4, sizeof(struct k_lb_stats)) ||
	    !k_sizes_ok("ctl_array", 4, 8))
		return -1;
	k_prog = bpf_program__fd(p);
	k_stats = bpf_map__fd(k_map("stats"));
	k_max_vips = bpf_map__max_entries(k_map("stats")) / 2;   /* STATS_MAP_SIZE */
	k_ring_size = bpf_map__max_entries(k_map("ch_rings")) / k_max_vips;
	ncpu = libbpf_num_possible_cpus();
	for (i = 0; i < ncpu && i < (int)bpf_map__max_entries(mm); i++)
		if (bpf_map_update_elem(bpf_map__fd(mm), &i, &k_lru, 0))
			return -1;
	return 0;
}

/* Katran's new-connection counter (is_under_flood): this second's count
 * set to 0, or to MAX_CONN_RATE when flood (every next new flow is over
 * the rate, so Katran skips the LRU insert). */
static void k_conn_rate(int flood)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct k_lb_stats v[ncpu];
	uint32_t key = k_max_vips + K_NEW_CONN_RATE;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (i = 0; i < ncpu; i++) {
		v[i].v1 = flood ? K_MAX_CONN_RATE : 0;
		v[i].v2 = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
	bpf_map_update_elem(k_stats, &key, v, 0);
}

/* Katran's LRU misses so far (stats slot MAX_VIPS + LRU_CNTRS, v2: the
 * packets that went to the hash ring), summed over CPUs. */
static uint64_t k_lru_misses(void)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct k_lb_stats v[ncpu];
	uint32_t key = k_max_vips;      /* + LRU_CNTRS (0) */
	uint64_t n = 0;

	if (bpf_map_lookup_elem(k_stats, &key, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		n += v[i].v2;
	return n;
}

/* xlb's new flows so far for the service of vip (svc_stats, summed over
 * CPUs): an established or cold row's packet that missed its flow entry. */
static uint64_t x_new_flows(const char *vip)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct xlb_counter v[ncpu];
	uint32_t id = svc_of_vip(vip);
	uint64_t n = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(xs->maps.svc_stats), &id, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		n += v[i].new_flows;
	return n;
}

static void k_addr(uint32_t *out, const char *s)
{
	union xlb_addr a = A(s);

	memcpy(out, &a, 16);
	if (!strchr(s, ':')) {
		memset(out, 0, 16);
		out[0] = a.v4;
	}
}

/* The Katran VIPs of the rows (the xlb dr and tun VIPs, port 80, TCP),
 * each over three real servers, as KatranLb's addVip/addRealForVip write
 * them: reals 1-3 v4, 4-6 v6; the ring spread as xlb's Maglev table. */
static int katran_world(void)
{
	static const char *vips[] = { "198.18.0.100", "198.18.0.101",
				      "2001:db8::100", "2001:db8::101" };
	static const char *rs[] = { "198.18.0.11", "198.18.0.12", "198.18.0.13",
				    "2001:db8::11", "2001:db8::12", "2001:db8::13" };
	uint32_t i, j, zero = 0, *ring = calloc(k_ring_size, 4), *keys = calloc(k_ring_size, 4);
	uint64_t mac = 0;
	int err = 0;

	if (!ring || !keys)
		err = -ENOMEM;
	for (i = 0; i < 6 && !err; i++) {
		struct k_real_definition r = { .flags = strchr(rs[i], ':') ? K_F_IPV6 : 0 };
		uint32_t id = i + 1;

		k_addr(r.dst, rs[i]);
		err = bpf_map_update_elem(bpf_map__fd(k_map("reals")), &id, &r, 0);
	}
	for (i = 0; i < 4 && !err; i++) {
		struct k_vip_definition d = { .port = htons(80), .proto = 6 };
		struct k_vip_meta m = { .vip_num = i };
		uint32_t cnt = k_ring_size, base = strchr(vips[i], ':') ? 4 : 1;

		k_addr(d.vip, vips[i]);
		err = bpf_map_update_elem(bpf_map__fd(k_map("vip_map")), &d, &m, 0);
		for (j = 0; j < (uint32_t)k_ring_size; j++) {
			keys[j] = i * k_ring_size + j;
			ring[j] = base + (j * 7 + 1) % 3;
		}
		err = err ?: bpf_map_update_batch(bpf_map__fd(k_map("ch_rings")),
						  keys, ring, &cnt, NULL);
	}
	memcpy(&mac, MAC_ROUTER, 6);
	err = err ?: bpf_map_update_elem(bpf_map__fd(k_map("ctl_array")), &zero, &mac, 0);
	free(ring);
	free(keys);
	return err;
}

/* xlb's next hop for the tun services' backends: the router, as Katran
 * sends everything to its default router's MAC. */
static int xlb_via_router(void)
{
	static const int svc[] = { S_TUN4, S_TUN6 };
	int fd = bpf_map__fd(xs->maps.backend_l2), i, j;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++) {
			uint32_t id = svc[i] * 4 + j;
			struct xlb_backend_l2 l2;

			if (bpf_map_lookup_elem(fd, &id, &l2))
				return -1;
			memcpy(l2.dmac, MAC_ROUTER, 6);
			if (bpf_map_update_elem(fd, &id, &l2, 0))
				return -1;
		}
	return 0;
}

/* cnt flows of k_cold_fill from filler number from on (cold_fill's). */
static int k_cold_fill_part(uint32_t from, uint32_t n, void *arg)
{
	const char *vip = arg;
	uint32_t chunk = 65536, i, done;
	struct k_flow_key *keys = calloc(chunk, sizeof(*keys));
	struct k_real_pos_lru *vals = calloc(chunk, sizeof(*vals));
	int err = 0, v6 = !!strchr(vip, ':');

	if (!keys || !vals)
		err = -ENOMEM;
	for (done = 0; done < n && !err; done += chunk) {
		uint32_t cnt = n - done < chunk ? n - done : chunk;

		memset(keys, 0, chunk * sizeof(*keys));
		for (i = 0; i < cnt; i++) {
			uint32_t x = from + done + i;
			union xlb_addr a = cold_client(x, v6);

			if (v6)
				memcpy(keys[i].src, &a, 16);
			else
				keys[i].src[0] = a.v4;
			k_addr(keys[i].dst, vip);
			keys[i].port16[0] = htons(x & 0xffff);
			keys[i].port16[1] = htons(80);
			keys[i].proto = 6;
			vals[i].pos = v6 ? 4 : 1;
		}
		err = bpf_map_update_batch(k_lru, keys, vals, &cnt, NULL);
	}
	free(keys);
	free(vals);
	return err;
}

/* Fills Katran's LRU with n flows of other clients to vip, each CPU its
 * share as for xlb (cold_fill; one common LRU list takes them alike). */
static int k_cold_fill(const char *vip, uint32_t n)
{
	return fill_on_each_cpu(n, k_cold_fill_part, (void *)vip);
}

void tables_clear(void)
{
	xlb_tables_clear();
	if (fs) {
		map_clear(fs->maps.floor_flows);
		map_clear(fs->maps.floor_new_flows);
	}
	if (k_lru > 0)
		map_clear_fd(k_lru, sizeof(struct k_flow_key));
	if (k_stats > 0)
		k_conn_rate(k_flood);
}

/* ---- the output frames ------------------------------------------------------ */

/* One run of fd over pkt; returns the output length (0: not XDP_TX). */
static uint32_t run_out(int fd, const uint8_t *pkt, uint8_t *out, uint32_t size)
{
	struct xdp_md md = { .data_end = PKT_LEN, .ingress_ifindex = ifx };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = PKT_LEN,
		    .data_out = out, .data_size_out = size, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &o) || o.retval != XDP_TX_)
		return 0;
	return o.data_size_out;
}

struct field {
	uint32_t off, len;
	const char *name;
};

static const struct field f4[] = {
	{ 0, 6, "Ethernet destination" }, { 6, 6, "Ethernet source" },
	{ 12, 2, "EtherType" }, { 14, 1, "outer version/IHL" },
	{ 15, 1, "outer DSCP/ECN" }, { 16, 2, "outer total length" },
	{ 18, 2, "outer IP ID" }, { 20, 2, "outer flags (DF)/fragment offset" },
	{ 22, 1, "outer TTL" }, { 23, 1, "outer protocol" },
	{ 24, 2, "outer header checksum" }, { 26, 4, "outer source address" },
	{ 30, 4, "outer destination address" }, { 34, PKT_LEN - 14, "inner packet" },
};

static const struct field f6[] = {
	{ 0, 6, "Ethernet destination" }, { 6, 6, "Ethernet source" },
	{ 12, 2, "EtherType" }, { 14, 4, "outer version/traffic class/flow label" },
	{ 18, 2, "outer payload length" }, { 20, 1, "outer next header" },
	{ 21, 1, "outer hop limit" }, { 22, 16, "outer source address" },
	{ 38, 16, "outer destination address" }, { 54, PKT_LEN - 14, "inner packet" },
};

static void hex(const uint8_t *b, uint32_t n, char *s, size_t sz)
{
	size_t o = 0;
	uint32_t i;

	for (i = 0; i < n && o + 3 < sz; i++)
		o += snprintf(s + o, sz - o, "%02x", b[i]);
}

/* Prints the bytes of the inner packet (the client's, from its IP header
 * on) that differ, by offset. */
static void inner_diff(const uint8_t *x, const uint8_t *k, int sep)
{
	uint32_t i, n = 0;

	printf("%s inner packet at", sep ? ";" : "");
	for (i = 0; i < PKT_LEN - 14; i++)
		if (x[i] != k[i] && n++ < 6)
			printf(" +%u (xlb %02x, Katran %02x)", i, x[i], k[i]);
}

/* Prints the fields in which xlb's and Katran's frames differ. */
static void diff_fields(const uint8_t *x, const uint8_t *k, int v6)
{
	const struct field *f = v6 ? f6 : f4;
	size_t n = v6 ? sizeof(f6) / sizeof(f6[0]) : sizeof(f4) / sizeof(f4[0]), i;
	int any = 0;

	for (i = 0; i < n; i++) {
		char hx[80] = "", hk[80] = "";

		if (!memcmp(x + f[i].off, k + f[i].off, f[i].len))
			continue;
		if (f[i].len == 4 || f[i].len == 16) {
			inet_ntop(f[i].len == 4 ? AF_INET : AF_INET6, x + f[i].off, hx, sizeof(hx));
			inet_ntop(f[i].len == 4 ? AF_INET : AF_INET6, k + f[i].off, hk, sizeof(hk));
		} else if (f[i].len == PKT_LEN - 14) {
			inner_diff(x + f[i].off, k + f[i].off, any++);
			continue;
		} else {
			hex(x + f[i].off, f[i].len, hx, sizeof(hx));
			hex(k + f[i].off, f[i].len, hk, sizeof(hk));
		}
		printf("%s %s (xlb %s, Katran %s)", any++ ? ";" : "", f[i].name, hx, hk);
	}
	if (!any)
		printf(" none: byte-identical");
}

/* Sends the same SYN and then ACK from src to vip through xlb_xdp and
 * Katran (fresh tables) for client ports until both pick the same real
 * server, and prints where the two output frames differ. */
static void compare_frames(const char *what, const char *src, const char *vip)
{
	int v6 = strchr(src, ':') != NULL, dst_off = v6 ? 38 : 30, dlen = v6 ? 16 : 4;
	uint8_t pkt[PKT_LEN], ox[PKT_LEN + 128], ok[PKT_LEN + 128];
	uint32_t lx = 0, lk = 0;
	uint16_t sp;
	int step;

	for (sp = 41000; sp < 41064; sp++) {
		tables_clear();
		for (step = 0; step < 2; step++) {
			mk(pkt, src, sp, vip, 80, step ? TCP_ACK : TCP_SYN);
			lx = run_out(bpf_program__fd(xs->progs.xlb_xdp), pkt, ox, sizeof(ox));
			lk = run_out(k_prog, pkt, ok, sizeof(ok));
		}
		if (lx && lk && !memcmp(ox + dst_off, ok + dst_off, dlen))
			break;
	}
	printf("- %s, the client's ACK after its SYN (port %u): ", what, sp);
	if (!lx || !lk) {
		printf("no XDP_TX from %s\n", !lx ? "xlb" : "Katran");
		return;
	}
	if (lx != lk) {
		printf("lengths differ (xlb %u, Katran %u)\n", lx, lk);
		return;
	}
	printf("%u bytes;", lx);
	diff_fields(ox, ok, v6);
	printf(".\n");
}

/* ---- rows ------------------------------------------------------------------ */

enum kind { K_EST, K_NEW, K_COLD, K_FLOOD };

struct row {
	const char *name;
	enum kind kind;
	const char *src, *dst;  /* client and VIP */
	int reference;          /* xlb dr, the floor: no goal */
	int floor;              /* bench/floor.bpf.c in xlb's place */
	uint8_t pkt[PKT_LEN];
	double ratio[16], t_x[16], t_k[16], t_b[16];
	uint64_t k_miss, k_pkts;  /* established and cold rows: Katran's LRU */
	uint64_t x_miss, x_pkts;  /* the same rows: xlb's new flows */
	const char *fail;
};

static struct row rows[] = {
	{ "tun v4 established", K_EST, C4, "198.18.0.101", 0 },
	{ "tun v6 established", K_EST, C6, "2001:db8::101", 0 },
	{ "tun v4 new flow", K_NEW, C4, "198.18.0.101", 0 },
	{ "tun v6 new flow", K_NEW, C6, "2001:db8::101", 0 },
	{ "tun v4 new flow, flood (xlb guard engaged, Katran over MAX_CONN_RATE)", K_FLOOD, C4, "198.18.0.101", 0 },
	{ "tun v6 new flow, flood (xlb guard engaged, Katran over MAX_CONN_RATE)", K_FLOOD, C6, "2001:db8::101", 0 },
	{ "dr v4 established (reference: no encapsulation)", K_EST, C4, "198.18.0.100", 1 },
	{ "dr v6 established (reference: no encapsulation)", K_EST, C6, "2001:db8::100", 1 },
	{ "dr v4 new flow (reference: no encapsulation)", K_NEW, C4, "198.18.0.100", 1 },
	{ "floor v4 established (reference: xdp_cost's floor, parse + one 1M lookup + MACs)", K_EST, C4, "198.18.0.101", 1, 1 },
	{ "floor v4 new flow (reference: xdp_cost's floor, a miss + an insert in a 1M table)", K_NEW, C4, "198.18.0.101", 1, 1 },
	{ "tun v4 established, 100k flows of 1M (cold)", K_COLD, C4, "198.18.0.101", 0 },
	{ "tun v6 established, 100k flows of 1M (cold)", K_COLD, C6, "2001:db8::101", 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int row_active(const struct row *r)
{
	if (opt.quick && (r->kind == K_COLD || r->reference))
		return 0;
	return bench_row_selected(&opt, r->name);
}

/* The floor's flow table gets src:sp -> dst:80 (as xdp_cost's floor rows). */
static int floor_add(const char *src, uint16_t sp, const char *dst)
{
	struct xlb_flow_key k = lab_key(src, sp, dst);
	struct xlb_flow f;

	memset(&f, 0, sizeof(f));
	return bpf_map_update_elem(bpf_map__fd(fs->maps.floor_flows), &k, &f, 0);
}

/* An established row's flow, in both programs: the SYN, then the ACK that
 * the row times. */
static int est_prepare(struct row *r)
{
	uint8_t p[PKT_LEN], o[PKT_LEN + 128];

	tables_clear();
	mk(p, r->src, 40000, r->dst, 80, TCP_SYN);
	if (!run_out(k_prog, p, o, sizeof(o)))
		return -1;
	mk(r->pkt, r->src, 40000, r->dst, 80, TCP_ACK);
	if (r->floor)
		return floor_add(r->src, 40000, r->dst);
	return run_out(bpf_program__fd(xs->progs.xlb_xdp), p, o, sizeof(o)) ? 0 : -1;
}

/* The program a row times in xlb's place. */
static int x_prog(const struct row *r)
{
	if (!r->floor)
		return bpf_program__fd(xs->progs.xlb_xdp);
	return r->kind == K_NEW ? bpf_program__fd(fs->progs.xdp_floor_new) :
				  bpf_program__fd(fs->progs.xdp_floor);
}

/* A cold row: both tables filled toward 1M flows of other clients, then
 * the COLD_FLOWS the row cycles over established in both. Where in memory
 * a flow's entry lies follows the history of the table's free list: a
 * table never filled hands out its entries in address order (the row's
 * flows, inserted last, then sit side by side), one filled and emptied
 * before in the order of that emptying (scattered). Both tables are
 * filled to capacity and emptied first, so that in both the row's flows
 * are scattered over the whole table, as in a table that has turned over
 * its flows for a while, whatever rows ran before. */
static int cold_prepare(struct row *r)
{
	uint32_t n = (1u << 20) - COLD_FLOWS - 4096;
	int vx = -1, vk = -1;

	tables_clear();
	if (cold_fill(r->dst, cold_capacity(r->dst)) || k_cold_fill(r->dst, K_LRU_SIZE))
		return -1;
	tables_clear();
	if (cold_fill(r->dst, n) || k_cold_fill(r->dst, n))
		return -1;
	mk(r->pkt, r->src, 40000, r->dst, 80, TCP_ACK);
	front_run(bpf_program__fd(xs->progs.xlb_xdp), r->pkt, COLD_FLOWS, 1, COLD_FLOWS, &vx);
	k_conn_rate(0);
	front_run(k_prog, r->pkt, COLD_FLOWS, 1, COLD_FLOWS, &vk);
	return vx == XDP_TX_ && vk == XDP_TX_ ? 0 : -1;
}

/* Each round's measurements come in PARTS slices, xlb and Katran
 * alternating slice by slice, so that load changing under the run (other
 * jobs on the 2 vCPUs) falls on both alike. */
#define PARTS 4

/* An established or cold row's packets through fd behind the front. */
static double timed_run(struct row *r, int fd, int *v)
{
	if (r->kind == K_COLD)
		return front_run(fd, r->pkt, COLD_FLOWS, 1, opt.repeat / PARTS, v);
	return front_run(fd, r->pkt, 1, 0, opt.repeat / PARTS, v);
}

/* One slice of fd (xlb's, Katran's or the baseline) the way the row's kind
 * says. */
static double timed(struct row *r, int fd, int is_xlb, int *v)
{
	unsigned int nrep = (opt.quick ? 4 * BATCH : 32 * BATCH) / PARTS;
	uint64_t miss = fd == k_prog ? k_lru_misses() : is_xlb ? x_new_flows(r->dst) : 0;
	double t;

	if (r->kind == K_EST || r->kind == K_COLD) {
		t = timed_run(r, fd, v);
		if (fd == k_prog) {
			r->k_miss += k_lru_misses() - miss;
			r->k_pkts += opt.repeat / PARTS;
		} else if (is_xlb && !r->floor) {
			r->x_miss += x_new_flows(r->dst) - miss;
			r->x_pkts += opt.repeat / PARTS;
		}
		return t;
	}
	k_flood = r->kind == K_FLOOD;
	guard_rate(r->kind == K_FLOOD && is_xlb ? 1 : 0);
	t = front_new(fd, r->pkt, nrep, v);
	guard_rate(0);
	k_flood = 0;
	return t;
}

/* One round of a row: the baseline alone, then PARTS slices of the
 * baseline, xlb and Katran behind the front, the order of xlb and Katran
 * swapped from slice to slice. */
static void row_round(struct row *r, int rd)
{
	int bfd = bpf_program__fd(bs->progs.xdp_tx_baseline);
	int xfd = x_prog(r), vx = -1, vk = -1, vb = -1, p;
	double tb, tbf = 0, tx = 0, tk = 0;

	if (r->kind == K_EST && est_prepare(r))
		r->fail = "flow set-up refused";
	if (r->kind == K_NEW || r->kind == K_FLOOD)
		mk(r->pkt, r->src, 40000, r->dst, 80, TCP_SYN);
	tb = run(bfd, r->pkt, opt.repeat, NULL, NULL);
	for (p = 0; p < PARTS; p++) {
		tbf += timed(r, bfd, 0, &vb) / PARTS;
		if ((rd + p) % 2) {
			tk += timed(r, k_prog, 0, &vk) / PARTS;
			tx += timed(r, xfd, 1, &vx) / PARTS;
		} else {
			tx += timed(r, xfd, 1, &vx) / PARTS;
			tk += timed(r, k_prog, 0, &vk) / PARTS;
		}
	}
	if (vx != XDP_TX_ || vk != XDP_TX_)
		r->fail = vx != XDP_TX_ ? "xlb did not send (XDP_TX)" :
					  "Katran did not send (XDP_TX)";
	r->t_b[rd] = tb;
	r->t_x[rd] = tx - tbf + tb;
	r->t_k[rd] = tk - tbf + tb;
	r->ratio[rd] = r->t_x[rd] / r->t_k[rd];
}

static void loadavg(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?");
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	printf("Load average %s: %s.\n", when, buf);
}

/* One row of the table, and of jf (JSON lines as bench/lib.sh's bench_row,
 * with the figures as numbers) when given. */
static void report_row(struct row *r, FILE *jf)
{
	const char *goal = r->reference ? "-" : "<= 0.8x", *st;
	double med, lo, hi;

	if (r->fail) {
		printf("| %s | - | - | - | - | %s | FAIL: %s |\n", r->name, goal, r->fail);
		if (jf)
			fprintf(jf, "{\"bench\":\"katran_cmp\",\"row\":\"%s\",\"measured\":\"-\","
				"\"target\":\"%s\",\"status\":\"FAIL: %s\"}\n", r->name, goal, r->fail);
		return;
	}
	med = median(r->ratio, opt.rounds);
	lo = vmin(r->ratio, opt.rounds);
	hi = vmax(r->ratio, opt.rounds);
	st = r->reference ? "reference" :
	     hi <= GOAL ? "meets the goal in every round" :
	     med <= GOAL ? "not in every round" : "SHORT of the goal";
	printf("| %s | %.1f | %.1f | %.1f | %.2fx (%.2f-%.2f) | %s | %s",
	       r->name, median(r->t_x, opt.rounds), median(r->t_k, opt.rounds),
	       median(r->t_b, opt.rounds), med, lo, hi, goal, st);
	if (r->k_pkts)
		printf(" (Katran's LRU: %.2f%% misses", 100.0 * r->k_miss / r->k_pkts);
	if (r->k_pkts && r->x_pkts)
		printf(", xlb's: %.2f%%", 100.0 * r->x_miss / r->x_pkts);
	if (r->k_pkts)
		printf(")");
	printf(" |\n");
	if (jf)
		fprintf(jf, "{\"bench\":\"katran_cmp\",\"row\":\"%s\",\"measured\":\"%.2fx (%.2f-%.2f)\","
			"\"target\":\"%s\",\"status\":\"%s\",\"ratio\":%.3f,\"ratio_min\":%.3f,"
			"\"ratio_max\":%.3f,\"xlb_ns\":%.1f,\"katran_ns\":%.1f,\"rounds\":%d}\n",
			r->name, med, lo, hi, goal, st, med, lo, hi,
			median(r->t_x, opt.rounds), median(r->t_k, opt.rounds), opt.rounds);
}

static void report(const char *json)
{
	FILE *jf = json ? fopen(json, "a") : NULL;
	size_t i;

	if (json && !jf)
		fprintf(stderr, "katran_cmp: cannot append to '%s': %s\n", json, strerror(errno));
	printf("\n| katran_cmp row | xlb ns | Katran ns | baseline ns | xlb/Katran (median, min-max) | goal | |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (i = 0; i < NROWS; i++)
		if (row_active(&rows[i]))
			report_row(&rows[i], jf);
	printf("\nxlb ns, Katran ns: t(front+program) - t(front+baseline) + t(baseline), "
	       "medians; ratio per round, %d rounds, %u runs per measurement "
	       "(new flows: %u in batches of %d).\n", opt.rounds, opt.repeat,
	       opt.quick ? 4 * BATCH : 32 * BATCH, BATCH);
	if (jf)
		fclose(jf);
}

static int setup(const char *kobj)
{
	if (lab_setup())
		return -1;
	xs = xlb_bpf__open();
	if (!xs)
		return fprintf(stderr, "katran_cmp: cannot open xlb.bpf.o\n"), -1;
	bpf_map__set_max_entries(xs->maps.nat_rev, 1 << 18);
	lab_hz(xs);
	if (xlb_bpf__load(xs))
		return fprintf(stderr, "katran_cmp: cannot load xlb.bpf.o\n"), -1;
	bs = baseline_bpf__open_and_load();
	vs = vary_bpf__open_and_load();
	fs = floor_bpf__open_and_load();
	if (!bs || !vs || !fs)
		return fprintf(stderr, "katran_cmp: cannot load bench programs\n"), -1;
	if (world_setup() || xlb_via_router()) {
		fprintf(stderr, "katran_cmp: cannot fill xlb's maps: %s\n", strerror(errno));
		return -1;
	}
	if (katran_load(kobj))
		return -1;
	if (katran_world()) {
		fprintf(stderr, "katran_cmp: cannot fill Katran's maps: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rd;
	size_t i;

	if (bench_opts_parse(argc, argv, 1, 4000, &opt))
		return 2;
	libbpf_set_print(libbpf_quiet);
	if (setup(opt.kobj))
		return 1;
	loadavg("at start");
	printf("\nOutput frames, xlb tun against Katran (IPIP / ip6ip6), fields that differ:\n\n");
	compare_frames("v4", C4, "198.18.0.101");
	compare_frames("v6", C6, "2001:db8::101");
	for (rd = 0; rd < opt.rounds; rd++)
		for (i = 0; i < NROWS; i++)
			if (row_active(&rows[i]) && rows[i].kind != K_COLD && !rows[i].fail)
				row_round(&rows[i], rd);
	/* The cold row last: it fills both tables. */
	for (i = 0; i < NROWS; i++) {
		if (!row_active(&rows[i]) || rows[i].kind != K_COLD)
			continue;
		if (cold_prepare(&rows[i])) {
			rows[i].fail = "cold set-up failed";
			continue;
		}
		for (rd = 0; rd < opt.rounds; rd++)
			row_round(&rows[i], rd);
	}
	report(opt.json);
	loadavg("at the end");
	xlb_bpf__destroy(xs);
	baseline_bpf__destroy(bs);
	vary_bpf__destroy(vs);
	floor_bpf__destroy(fs);
	bpf_object__close(ko);
	return 0;
}
