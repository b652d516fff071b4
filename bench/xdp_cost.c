// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-packet cost of xlb_xdp against a trivial XDP_TX program, both timed by
 * BPF_PROG_TEST_RUN in the same run, interleaved, over several rounds.
 *
 * Method (see bench/README.md):
 * - BPF_PROG_TEST_RUN repeats one buffer and keeps what the program did to
 *   it (a nat rewrite, a tunnel header). So every timed program runs behind
 *   bench/vary.bpf.c, which restores the packet from a template and, for
 *   "new" and "cold" rows, gives each run its own client tuple, then
 *   tail-calls the program under test. The baseline runs behind the same
 *   front; the reported ratio subtracts the front's cost:
 *       ratio = (t(front+xlb) - t(front+baseline) + t(baseline)) / t(baseline)
 * - "new" rows: every packet a new flow, in batches of BATCH packets with
 *   the flow and nat_rev tables emptied (outside the timed part) between
 *   batches, so the tables never fill and fullnat never runs out of ports.
 * - "est" rows: one flow, created and (for nat/fullnat) taken through the
 *   TCP handshake before timing; "reply" rows: the backend's ACKs of it.
 * - "cold" rows: 1M-entry flow table filled to ~1M flows, packets cycling
 *   over 100k distinct flows (each established before timing).
 * - "floor" rows: bench/floor.bpf.c (xlb's parser, one lookup in a 1M
 *   flow table, MACs, XDP_TX; for a new flow the lookup misses and the
 *   flow is inserted): the least a stateful balancer does, a reference for
 *   the rows above (no target).
 *
 * Usage: xdp_cost [-r ROUNDS] [-n REPEAT] [-q] [-f WORDS] [-j FILE.json]
 * -f: only the rows whose name contains one of the comma-separated WORDS.
 * Needs root (netns, BPF). Prints a markdown table on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "xlb_hash.h"
#include "xlb.skel.h"
#include "pkt.h"
#include "baseline.skel.h"
#include "floor.skel.h"
#include "vary.skel.h"

#define PKT_LEN   96            /* every test frame; vary.bpf.c restores it */
#define BATCH     8192          /* new-flow packets between table flushes */
#define COLD_FLOWS 100000
#define XDP_PASS_ 2
#define XDP_TX_   3

static int rounds = 5;
static unsigned int repeat = 1000000;
static int quick;
static const char *only;        /* -f: comma-separated name fragments */

static struct xlb_bpf *xs;
static struct baseline_bpf *bs;
static struct floor_bpf *fs;
static struct vary_bpf *vs;
static int ifx;

/* ---- the namespace: routes and permanent neighbours for bpf_fib_lookup ---- */

static const char *lab_cmds[] = {
	"ip link set lo up",
	"ip link add xa type veth peer name xb",
	"ip link set xa address 02:00:00:00:00:0a",
	"ip link set xa up",
	"ip link set xb up",
	"ip addr add 198.18.0.2/24 dev xa",
	"ip addr add 2001:db8::2/64 dev xa nodad",
	"ip route add 198.18.128.0/17 via 198.18.0.1",
	"ip neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev xa nud permanent",
	"ip neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev xa nud permanent",
	"ip neigh add 198.18.0.11 lladdr 02:00:00:00:01:11 dev xa nud permanent",
	"ip neigh add 198.18.0.12 lladdr 02:00:00:00:01:12 dev xa nud permanent",
	"ip neigh add 198.18.0.13 lladdr 02:00:00:00:01:13 dev xa nud permanent",
	"ip neigh add 2001:db8::11 lladdr 02:00:00:00:06:11 dev xa nud permanent",
	"ip neigh add 2001:db8::12 lladdr 02:00:00:00:06:12 dev xa nud permanent",
	"ip neigh add 2001:db8::13 lladdr 02:00:00:00:06:13 dev xa nud permanent",
	"sysctl -qw net.ipv4.conf.all.forwarding=1",
	"sysctl -qw net.ipv6.conf.all.forwarding=1",
};

static int lab_setup(void)
{
	size_t i;
	char cmd[256];

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "xdp_cost: unshare(CLONE_NEWNET): %s\n",
			strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(lab_cmds) / sizeof(lab_cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", lab_cmds[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "xdp_cost: '%s' failed\n", lab_cmds[i]);
			return -1;
		}
	}
	ifx = if_nametoindex("xa");
	return ifx ? 0 : -1;
}

/* ---- packets: the fixtures' builders (tests/bpf/pkt.h) --------------------- */

#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* A PKT_LEN-byte frame src:sp -> dst:dp, TCP with flags. */
static void mk(uint8_t *b, const char *src, uint16_t sp, const char *dst,
	       uint16_t dp, uint8_t flags)
{
	int v6 = strchr(src, ':') != NULL;
	struct spec s = { .fam = v6 ? 6 : 4, .src = src, .dst = dst, .proto = 6,
			  .sport = sp, .dport = dp, .tcpflags = flags,
			  .paylen = PKT_LEN - 14 - (v6 ? 40 : 20) - 20 };
	struct pkt p;

	pkt_mk(&p, &s);
	memcpy(b, p.b, PKT_LEN);
}

/* ---- the data plane's world ---------------------------------------------- */

enum { S_DR4 = 1, S_DR6, S_TUN4, S_TUN6, S_NAT4, S_NAT6, S_FN4, S_FN6 };

struct svc_def {
	uint32_t id;
	const char *vip;
	uint8_t mode;
	const char *be[3];
	uint16_t be_port;
};

static const struct svc_def svcs[] = {
	{ S_DR4, "198.18.0.100", XLB_MODE_DR,
	  { "198.18.0.11", "198.18.0.12", "198.18.0.13" }, 0 },
	{ S_DR6, "2001:db8::100", XLB_MODE_DR,
	  { "2001:db8::11", "2001:db8::12", "2001:db8::13" }, 0 },
	{ S_TUN4, "198.18.0.101", XLB_MODE_TUN,
	  { "198.18.0.11", "198.18.0.12", "198.18.0.13" }, 0 },
	{ S_TUN6, "2001:db8::101", XLB_MODE_TUN,
	  { "2001:db8::11", "2001:db8::12", "2001:db8::13" }, 0 },
	{ S_NAT4, "198.18.0.110", XLB_MODE_NAT,
	  { "198.18.0.11", "198.18.0.12", "198.18.0.13" }, 8080 },
	{ S_NAT6, "2001:db8::110", XLB_MODE_NAT,
	  { "2001:db8::11", "2001:db8::12", "2001:db8::13" }, 8080 },
	{ S_FN4, "198.18.0.111", XLB_MODE_FULLNAT,
	  { "198.18.0.11", "198.18.0.12", "198.18.0.13" }, 8080 },
	{ S_FN6, "2001:db8::111", XLB_MODE_FULLNAT,
	  { "2001:db8::11", "2001:db8::12", "2001:db8::13" }, 8080 },
};

/* Sets a's bit in an addr_filter set, as the daemon does before it writes a
 * service or a backend (src/xlbd/dataplane.c). */
static int filter_set(uint32_t set, const union xlb_addr *a)
{
	uint32_t bit = xlb_filter_bit(a), k = set * XLB_FILTER_WORDS + bit / 64;
	int fd = bpf_map__fd(xs->maps.addr_filter);
	uint64_t w = 0;

	if (bpf_map_lookup_elem(fd, &k, &w))
		return -1;
	w |= 1ull << (bit % 64);
	return bpf_map_update_elem(fd, &k, &w, 0);
}

/* A Maglev-sized table (65537 slots, the default) spreading over 3 backends:
 * the lookup cost does not depend on the slot contents. */
static int world_setup(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_INNER_MAP);
	uint32_t size = XLB_MAGLEV_DEFAULT_SIZE, zero = 0, i, j, *ids;
	struct xlb_globals g;
	int err = 0, fd;

	ids = calloc(size, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]) && !err; i++) {
		const struct svc_def *d = &svcs[i];
		struct xlb_svc_key k;
		struct xlb_svc v;

		for (j = 0; j < 3 && !err; j++) {
			struct xlb_backend_l2 l2;
			struct xlb_backend b;
			uint32_t id = d->id * 4 + j;

			memset(&b, 0, sizeof(b));
			b.addr = A(d->be[j]);
			b.family = strchr(d->be[j], ':') ? XLB_AF_INET6 : XLB_AF_INET;
			b.flags = XLB_BACKEND_F_ACTIVE;
			b.port_be = htons(d->be_port);
			b.svc_id = d->id;
			err = filter_set(XLB_FILTER_BACKEND, &b.addr) ?:
			      bpf_map_update_elem(bpf_map__fd(xs->maps.backends),
						  &id, &b, 0);
			/* The next hop as xlbd caches it (the lab's permanent
			 * neighbours, xa's MAC and MTU). */
			memset(&l2, 0, sizeof(l2));
			l2.dmac[0] = 2;
			l2.dmac[4] = b.family == XLB_AF_INET ? 1 : 6;
			l2.dmac[5] = 0x11 + j;
			memcpy(l2.smac, MAC_XA, 6);
			l2.ifindex = ifx;
			l2.mtu = 1500;
			l2.addr = b.addr;
			l2.nexthop = b.addr;
			l2.family = b.family;
			l2.valid = 1;
			err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.backend_l2),
							 &id, &l2, 0);
		}
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.vip = A(d->vip);
		k.port_be = htons(80);
		k.proto = 6;
		k.family = strchr(d->vip, ':') ? XLB_AF_INET6 : XLB_AF_INET;
		v.id = d->id;
		v.table_size = size;
		v.mode = d->mode;
		err = err ?: filter_set(xlb_svc_dsr_table(&v) ? XLB_FILTER_VIP :
					XLB_FILTER_VIP_CT, &k.vip);
		err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.services),
						 &k, &v, 0);
		{
			struct xlb_svc_ent e = { .key = k, .svc = v };

			err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.svc_by_id),
							 &d->id, &e, 0);
		}
		for (j = 0; j < size; j++)
			ids[j] = d->id * 4 + (j * 7 + 1) % 3;
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "maglev", 4, 4, size, &mo);
		if (fd < 0) {
			err = fd;
			break;
		}
		{
			uint32_t *keys = malloc(size * sizeof(*keys));
			uint32_t cnt = size;

			for (j = 0; keys && j < size; j++)
				keys[j] = j;
			err = keys ? bpf_map_update_batch(fd, keys, ids, &cnt, NULL)
				   : -ENOMEM;
			free(keys);
		}
		err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.maglev_outer),
						 &d->id, &fd, 0);
		close(fd);
	}
	free(ids);
	{
		union xlb_addr l4 = A("198.18.0.2"), l6 = A("2001:db8::2");
		uint32_t i4 = 0, i6 = XLB_LIP_V6_BASE;
		int lfd = bpf_map__fd(xs->maps.lips);

		err = err ?: bpf_map_update_elem(lfd, &i4, &l4, 0);
		err = err ?: bpf_map_update_elem(lfd, &i6, &l6, 0);
	}
	memset(&g, 0, sizeof(g));
	g.n_lips_v4 = 1;
	g.n_lips_v6 = 1;
	g.tun_src_v4 = A("198.18.0.0").v4;
	g.tun_src_v4_plen = 24;
	g.tun_src_v6 = A("2001:db8:0:1::");
	g.tun_src_v6_plen = 64;
	err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.globals), &zero, &g, 0);
	return err;
}

/* Empties a hash map: one walk collecting keys, then batch deletes
 * (get_next_key from NULL after each delete rescans the buckets). */
static void map_clear(struct bpf_map *m)
{
	static struct xlb_flow_key keys[65536];
	int fd = bpf_map__fd(m);
	uint32_t n, cnt;

	do {
		n = 0;
		while (n < 65536 &&
		       !bpf_map_get_next_key(fd, n ? &keys[n - 1] : NULL, &keys[n]))
			n++;
		cnt = n;
		if (n && bpf_map_delete_batch(fd, keys, &cnt, NULL))
			break;
	} while (n == 65536);
}

static void tables_clear(void)
{
	map_clear(xs->maps.flows);
	map_clear(xs->maps.dsr_flows);
	map_clear(xs->maps.nat_rev);
	if (fs)
		map_clear(fs->maps.floor_new_flows);
}

/* ---- timing ---------------------------------------------------------------- */

/* One BPF_PROG_TEST_RUN of fd over pkt, repeat times; returns the kernel's
 * mean ns per run, or -1. *verdict gets the last run's return value. */
static double run(int fd, const uint8_t *pkt, unsigned int rep, int *verdict,
		  uint8_t *out)
{
	uint8_t buf[PKT_LEN + 128];
	struct xdp_md md;

	memset(&md, 0, sizeof(md));
	md.data_end = PKT_LEN;
	md.ingress_ifindex = ifx;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = pkt,
		    .data_size_in = PKT_LEN,
		    .data_out = out ? out : buf,
		    .data_size_out = sizeof(buf),
		    .ctx_in = &md,
		    .ctx_size_in = sizeof(md),
		    .repeat = rep);
	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	if (verdict)
		*verdict = o.retval;
	return o.duration;
}

/* K_FLOOD: new flows with the flood guard engaged (guard_rate 1: every
 * new flow but the first of each second is over the rate). */
enum kind { K_EST, K_NEW, K_COLD, K_PASS, K_FLOOR, K_FLOOR_NEW, K_FLOOD };

/* Time target behind the front: n_flows 1 keeps the template's tuple, 0
 * gives each run a new one, else cycles over n_flows. */
static double front_run(int target_fd, const uint8_t *pkt, uint32_t n_flows,
			int vary, unsigned int rep, int *verdict)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(vs->maps.target), &zero, &target_fd, 0))
		return -1;
	memcpy(vs->bss->tmpl, pkt, PKT_LEN);
	vs->bss->vary = vary;
	vs->bss->n_flows = n_flows;
	vs->bss->run_no = 0;
	return run(bpf_program__fd(vs->progs.vary_front), pkt, rep, verdict, NULL);
}

/* new-flow timing: batches of BATCH with the tables flushed in between. */
static double front_new(int target_fd, const uint8_t *pkt, unsigned int rep,
			int *verdict)
{
	unsigned int done = 0, b;
	double sum = 0, t;

	while (done < rep) {
		b = rep - done < BATCH ? rep - done : BATCH;
		tables_clear();
		t = front_run(target_fd, pkt, 0, 1, b, verdict);
		if (t < 0)
			return -1;
		sum += t * b;
		done += b;
	}
	tables_clear();
	return sum / rep;
}

/* ---- rows ------------------------------------------------------------------ */

struct row {
	const char *name;
	enum kind kind;
	const char *src, *dst;          /* client and VIP (fwd) */
	int reply;                      /* time the backend's reply instead */
	int want;                       /* expected verdict */
	double target;
	/* filled per round */
	uint8_t pkt[PKT_LEN];
	double r_net[16], r_raw[16], t_x[16], t_b[16], t_bf[16];
	double r_direct[16];            /* xlb without the front (idempotent rows) */
	int bad_verdict;
};

#define C4 "198.18.0.1"
#define C6 "2001:db8::1"

static struct row rows[] = {
	{ "dr v4 new flow", K_NEW, C4, "198.18.0.100", 0, XDP_TX_, 1.5 },
	{ "dr v4 established", K_EST, C4, "198.18.0.100", 0, XDP_TX_, 1.2 },
	{ "dr v4 established, 100k flows of 1M (cold)", K_COLD, C4, "198.18.0.100", 0, XDP_TX_, 1.2 },
	{ "dr v6 new flow", K_NEW, C6, "2001:db8::100", 0, XDP_TX_, 1.5 },
	{ "dr v6 established", K_EST, C6, "2001:db8::100", 0, XDP_TX_, 1.2 },
	{ "dr v6 established, 100k flows of 1M (cold)", K_COLD, C6, "2001:db8::100", 0, XDP_TX_, 1.2 },
	{ "tun v4 new flow", K_NEW, C4, "198.18.0.101", 0, XDP_TX_, 1.5 },
	{ "tun v4 established", K_EST, C4, "198.18.0.101", 0, XDP_TX_, 1.2 },
	{ "tun v6 new flow", K_NEW, C6, "2001:db8::101", 0, XDP_TX_, 1.5 },
	{ "tun v6 established", K_EST, C6, "2001:db8::101", 0, XDP_TX_, 1.2 },
	{ "dr v4 new flow, flood guard engaged", K_FLOOD, C4, "198.18.0.100", 0, XDP_TX_, 1.5 },
	{ "dr v6 new flow, flood guard engaged", K_FLOOD, C6, "2001:db8::100", 0, XDP_TX_, 1.5 },
	{ "tun v4 new flow, flood guard engaged", K_FLOOD, C4, "198.18.0.101", 0, XDP_TX_, 1.5 },
	{ "tun v6 new flow, flood guard engaged", K_FLOOD, C6, "2001:db8::101", 0, XDP_TX_, 1.5 },
	{ "nat v4 new flow, flood guard engaged", K_FLOOD, C4, "198.18.0.110", 0, XDP_TX_, 1.5 },
	{ "nat v4 new flow", K_NEW, C4, "198.18.0.110", 0, XDP_TX_, 1.5 },
	{ "nat v4 established", K_EST, C4, "198.18.0.110", 0, XDP_TX_, 1.2 },
	{ "nat v4 reply", K_EST, C4, "198.18.0.110", 1, XDP_TX_, 1.2 },
	{ "nat v6 established", K_EST, C6, "2001:db8::110", 0, XDP_TX_, 1.2 },
	{ "nat v6 reply", K_EST, C6, "2001:db8::110", 1, XDP_TX_, 1.2 },
	{ "fullnat v4 new flow", K_NEW, C4, "198.18.0.111", 0, XDP_TX_, 1.5 },
	{ "fullnat v4 established", K_EST, C4, "198.18.0.111", 0, XDP_TX_, 1.2 },
	{ "fullnat v4 reply", K_EST, C4, "198.18.0.111", 1, XDP_TX_, 1.2 },
	{ "fullnat v6 new flow", K_NEW, C6, "2001:db8::111", 0, XDP_TX_, 1.5 },
	{ "fullnat v6 established", K_EST, C6, "2001:db8::111", 0, XDP_TX_, 1.2 },
	{ "fullnat v6 reply", K_EST, C6, "2001:db8::111", 1, XDP_TX_, 1.2 },
	{ "not for a VIP (pass) v4", K_PASS, C4, "198.18.0.200", 0, XDP_PASS_, 1.2 },
	{ "not for a VIP (pass) v6", K_PASS, C6, "2001:db8::200", 0, XDP_PASS_, 1.2 },
	{ "floor: parse + one 1M flow-table lookup + MACs, v4", K_FLOOR, C4, "198.18.0.100", 0, XDP_TX_, 0 },
	{ "floor: parse + one 1M flow-table lookup + MACs, v6", K_FLOOR, C6, "2001:db8::100", 0, XDP_TX_, 0 },
	{ "floor, new flow: lookup miss + insert in a 1M flow table, v4", K_FLOOR_NEW, C4, "198.18.0.100", 0, XDP_TX_, 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const char *quick_rows[] = { "dr v4 new flow", "dr v4 established",
	"nat v4 established", "fullnat v4 reply", "not for a VIP (pass) v4",
	"floor: parse + one 1M flow-table lookup + MACs, v4" };

static int row_in_quick(const struct row *r)
{
	size_t i;

	for (i = 0; i < sizeof(quick_rows) / sizeof(quick_rows[0]); i++)
		if (!strcmp(r->name, quick_rows[i]))
			return 1;
	return 0;
}

/* Whether -f selects the row (no -f: every row). */
static int row_in_filter(const struct row *r)
{
	char buf[256], *w, *save = NULL;

	if (!only)
		return 1;
	snprintf(buf, sizeof(buf), "%s", only);
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (strstr(r->name, w))
			return 1;
	return 0;
}

static int xlb_fd(void)
{
	return bpf_program__fd(xs->progs.xlb_xdp);
}

/* The program a row times: xlb_xdp, or the floor. */
static int prog_fd(const struct row *r)
{
	if (r->kind == K_FLOOR)
		return bpf_program__fd(fs->progs.xdp_floor);
	if (r->kind == K_FLOOR_NEW)
		return bpf_program__fd(fs->progs.xdp_floor_new);
	return xlb_fd();
}

/* Runs one packet through xlb_xdp once (no timing); returns the verdict. */
static int once(const uint8_t *pkt, uint8_t *out)
{
	int v = -1;

	run(xlb_fd(), pkt, 1, &v, out);
	return v;
}

/* The flow entry of src:sp -> dst:80: a nat/fullnat one in *f, or a dr/tun
 * one (dsr_flows, *f zeroed). 0, or -1 when there is none. */
static int flow_of(const char *src, uint16_t sp, const char *dst,
		   struct xlb_flow *f)
{
	struct xlb_flow_key k;
	struct xlb_dsr_flow d;

	memset(&k, 0, sizeof(k));
	memset(f, 0, sizeof(*f));
	k.src = A(src);
	k.dst = A(dst);
	k.sport_be = htons(sp);
	k.dport_be = htons(80);
	k.proto = 6;
	k.family = strchr(src, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	if (bpf_map_lookup_elem(bpf_map__fd(xs->maps.dsr_flows), &k, &d) == 0)
		return 0;
	return bpf_map_lookup_elem(bpf_map__fd(xs->maps.flows), &k, f);
}

static void addr_str(const union xlb_addr *a, int v6, char *s, size_t n)
{
	inet_ntop(v6 ? AF_INET6 : AF_INET, v6 ? (const void *)a : &a->v4, s, n);
}

/* Sets up the state of an est/reply row (handshake through xlb) and builds
 * its timed packet. Returns 0, or -1 when the data plane refused. */
static int row_prepare(struct row *r)
{
	uint8_t p[PKT_LEN];
	struct xlb_flow f;
	char be[64], lip[64];
	int v6 = strchr(r->src, ':') != NULL;
	uint16_t sp = 40000;

	if (r->kind == K_NEW || r->kind == K_FLOOD || r->kind == K_PASS ||
	    r->kind == K_FLOOR_NEW) {
		mk(r->pkt, r->src, sp, r->dst, 80, r->kind == K_PASS ? TCP_ACK : TCP_SYN);
		return 0;
	}
	if (r->kind == K_FLOOR) {
		struct xlb_flow_key k;

		memset(&k, 0, sizeof(k));
		memset(&f, 0, sizeof(f));
		k.src = A(r->src);
		k.dst = A(r->dst);
		k.sport_be = htons(sp);
		k.dport_be = htons(80);
		k.proto = 6;
		k.family = v6 ? XLB_AF_INET6 : XLB_AF_INET;
		mk(r->pkt, r->src, sp, r->dst, 80, TCP_ACK);
		return bpf_map_update_elem(bpf_map__fd(fs->maps.floor_flows), &k, &f, 0);
	}
	mk(p, r->src, sp, r->dst, 80, TCP_SYN);
	if (once(p, NULL) != XDP_TX_ || flow_of(r->src, sp, r->dst, &f))
		return -1;
	mk(r->pkt, r->src, sp, r->dst, 80, TCP_ACK);
	if (f.mode != XLB_MODE_NAT && f.mode != XLB_MODE_FULLNAT)
		return 0;
	addr_str(&f.raddr, v6, be, sizeof(be));
	if (f.mode == XLB_MODE_FULLNAT)
		addr_str(&f.laddr, v6, lip, sizeof(lip));
	else
		snprintf(lip, sizeof(lip), "%s", r->src);
	/* SYN-ACK from the backend, then the client's ACK: ESTABLISHED. */
	mk(p, be, ntohs(f.rport_be), lip,
	   f.mode == XLB_MODE_FULLNAT ? ntohs(f.lport_be) : sp, TCP_SYN | TCP_ACK);
	if (once(p, NULL) != XDP_TX_ || once(r->pkt, NULL) != XDP_TX_)
		return -1;
	if (r->reply)
		mk(r->pkt, be, ntohs(f.rport_be), lip,
		   f.mode == XLB_MODE_FULLNAT ? ntohs(f.lport_be) : sp, TCP_ACK);
	return 0;
}

/* Fills the dr/tun flow table toward 1M entries with flows of other clients
 * (198.18.200.0/21), then establishes the COLD_FLOWS the row cycles over. */
static int cold_prepare(struct row *r)
{
	uint32_t n = (1u << 20) - COLD_FLOWS - 4096, chunk = 65536, i, done;
	struct xlb_flow_key *keys = calloc(chunk, sizeof(*keys));
	struct xlb_dsr_flow *vals = calloc(chunk, sizeof(*vals));
	int fd = bpf_map__fd(xs->maps.dsr_flows), v = -1, err = 0;
	int v6 = strchr(r->src, ':') != NULL;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (done = 0; done < n && !err; done += chunk) {
		uint32_t cnt = n - done < chunk ? n - done : chunk;

		for (i = 0; i < cnt; i++) {
			uint32_t x = done + i;

			if (v6) {
				keys[i].src = A("2001:db8:200::");
				keys[i].src.b[14] = (x >> 24) & 7;
				keys[i].src.b[15] = (x >> 16) & 0xff;
			} else {
				keys[i].src = A("198.18.200.0");
				keys[i].src.b[2] = 200 + ((x >> 24) & 7);
				keys[i].src.b[3] = (x >> 16) & 0xff;
			}
			keys[i].dst = A(r->dst);
			keys[i].sport_be = htons(x & 0xffff);
			keys[i].dport_be = htons(80);
			keys[i].proto = 6;
			keys[i].family = v6 ? XLB_AF_INET6 : XLB_AF_INET;
			vals[i].backend_id = (v6 ? S_DR6 : S_DR4) * 4;
			vals[i].svc_id = v6 ? S_DR6 : S_DR4;
		}
		err = bpf_map_update_batch(fd, keys, vals, &cnt, NULL);
	}
	free(keys);
	free(vals);
	if (err)
		return -1;
	mk(r->pkt, r->src, 40000, r->dst, 80, TCP_ACK);
	front_run(xlb_fd(), r->pkt, COLD_FLOWS, 1, COLD_FLOWS, &v);
	return v == XDP_TX_ ? 0 : -1;
}

/* Sets the data plane's flood guard rate (0: off, as world_setup left it). */
static void guard_rate(uint32_t rate)
{
	struct xlb_globals g;
	uint32_t zero = 0;
	int fd = bpf_map__fd(xs->maps.globals);

	if (bpf_map_lookup_elem(fd, &zero, &g) == 0) {
		g.guard_rate = rate;
		bpf_map_update_elem(fd, &zero, &g, 0);
	}
}

/* One round of a row: baseline direct, baseline behind the front, xlb
 * behind the front (the same front mode). */
static void row_round(struct row *r, int rd)
{
	int bfd = bpf_program__fd(bs->progs.xdp_tx_baseline), v = -1, vb = -1;
	double tb, tbf, tx;

	/* new-flow rows of other rows empty the tables: re-create this
	 * row's flow (and nat handshake) before each round. */
	if (r->kind == K_EST) {
		tables_clear();
		if (row_prepare(r))
			r->bad_verdict = -2;
	}
	tb = run(bfd, r->pkt, repeat, NULL, NULL);
	/* dr and pass leave the frame as the next run needs it: time xlb
	 * alone too, a check on the front subtraction. */
	r->r_direct[rd] = 0;
	if ((r->kind == K_EST && !strncmp(r->name, "dr ", 3)) || r->kind == K_PASS ||
	    r->kind == K_FLOOR)
		r->r_direct[rd] = run(prog_fd(r), r->pkt, repeat, NULL, NULL) /
				  run(bfd, r->pkt, repeat, NULL, NULL);
	switch (r->kind) {
	case K_NEW:
	case K_FLOOD:
	case K_FLOOR_NEW: {
		unsigned int nrep = quick ? 4 * BATCH : 32 * BATCH;

		tbf = front_new(bfd, r->pkt, nrep, &vb);
		guard_rate(r->kind == K_FLOOD ? 1 : 0);
		tx = front_new(prog_fd(r), r->pkt, nrep, &v);
		guard_rate(0);
		break;
	}
	case K_COLD:
		tbf = front_run(bfd, r->pkt, COLD_FLOWS, 1, repeat, &vb);
		tx = front_run(xlb_fd(), r->pkt, COLD_FLOWS, 1, repeat, &v);
		break;
	default:
		tbf = front_run(bfd, r->pkt, 1, 0, repeat, &vb);
		tx = front_run(prog_fd(r), r->pkt, 1, 0, repeat, &v);
	}
	if (v != r->want)
		r->bad_verdict = v ? v : -2;
	r->t_b[rd] = tb;
	r->t_x[rd] = tx;
	r->t_bf[rd] = tbf;
	r->r_raw[rd] = tx / tbf;
	r->r_net[rd] = (tx - tbf + tb) / tb;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values (sorts a copy). */
static double median(const double *v, int n)
{
	double s[16];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_d);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const double *v, int n)
{
	double m = v[0];

	while (n--)
		m = v[n] < m ? v[n] : m;
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];

	while (n--)
		m = v[n] > m ? v[n] : m;
	return m;
}

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	int c, rd, fails = 0, nj = 0;
	int active[NROWS];
	FILE *jf = NULL;
	size_t i;

	while ((c = getopt(argc, argv, "r:n:qf:j:")) != -1) {
		switch (c) {
		case 'r': rounds = atoi(optarg); break;
		case 'n': repeat = strtoul(optarg, NULL, 0); break;
		case 'q': quick = 1; break;
		case 'f': only = optarg; break;
		case 'j': json = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-r ROUNDS] [-n REPEAT] [-q] [-f WORDS] [-j FILE]\n",
				argv[0]);
			return 2;
		}
	}
	if (quick) {
		rounds = rounds > 3 ? 3 : rounds;
		repeat = repeat > 200000 ? 200000 : repeat;
	}
	if (rounds < 1 || rounds > 16 || repeat < 1000) {
		fprintf(stderr, "xdp_cost: rounds must be 1..16, repeat >= 1000\n");
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	if (lab_setup())
		return 1;
	xs = xlb_bpf__open();
	if (!xs)
		return fprintf(stderr, "xdp_cost: cannot open xlb.bpf.o\n"), 1;
	/* nat_rev at 256k keeps memory modest; flows and dsr_flows keep the
	 * 1M default. */
	bpf_map__set_max_entries(xs->maps.nat_rev, 1 << 18);
	if (xlb_bpf__load(xs))
		return fprintf(stderr, "xdp_cost: cannot load xlb.bpf.o\n"), 1;
	bs = baseline_bpf__open_and_load();
	vs = vary_bpf__open_and_load();
	fs = floor_bpf__open_and_load();
	if (!bs || !vs || !fs)
		return fprintf(stderr, "xdp_cost: cannot load bench programs\n"), 1;
	if (world_setup()) {
		fprintf(stderr, "xdp_cost: cannot fill maps: %s\n", strerror(errno));
		return 1;
	}

	for (i = 0; i < NROWS; i++) {
		struct row *r = &rows[i];

		active[i] = (!quick || row_in_quick(r)) && row_in_filter(r);
		if (!active[i] || r->kind == K_COLD)
			continue;
		if (row_prepare(r)) {
			fprintf(stderr, "xdp_cost: %s: set-up refused by xlb_xdp\n",
				r->name);
			r->bad_verdict = -1;
		}
	}
	/* Interleaved: every round visits every row, baseline next to xlb. */
	for (rd = 0; rd < rounds; rd++) {
		for (i = 0; i < NROWS; i++) {
			if (!active[i] || rows[i].kind == K_COLD || rows[i].bad_verdict == -1)
				continue;
			row_round(&rows[i], rd);
		}
	}
	/* Cold rows last: they fill the flow table. */
	for (i = 0; i < NROWS; i++) {
		if (!active[i] || rows[i].kind != K_COLD)
			continue;
		tables_clear();
		if (cold_prepare(&rows[i])) {
			fprintf(stderr, "xdp_cost: %s: set-up failed\n", rows[i].name);
			rows[i].bad_verdict = -1;
			continue;
		}
		for (rd = 0; rd < rounds; rd++)
			row_round(&rows[i], rd);
	}

	if (json)
		jf = fopen(json, "w");
	if (jf)
		fprintf(jf, "{\"bench\":\"xdp_cost\",\"rounds\":%d,\"repeat\":%u,"
			"\"new_flow_batch\":%d,\"rows\":[", rounds, repeat, BATCH);
	printf("| xdp_cost row | front+xlb ns | front+baseline ns | baseline ns |"
	       " ratio (median, min-max) | direct ratio | target | |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < NROWS; i++) {
		struct row *r = &rows[i];
		double med, tx, tb;
		const char *st;
		char dstr[32] = "-", tstr[32];

		if (!active[i])
			continue;
		if (r->bad_verdict == -1) {
			printf("| %s | - | - | - | <= %.1fx | FAIL: set-up refused |\n",
			       r->name, r->target);
			fails++;
			continue;
		}
		med = median(r->r_net, rounds);
		if (median(r->r_direct, rounds) > 0)
			snprintf(dstr, sizeof(dstr), "%.2fx",
				 median(r->r_direct, rounds));
		tx = median(r->t_x, rounds);
		tb = median(r->t_b, rounds);
		st = r->bad_verdict == -2 ? "FAIL: flow set-up refused" :
		     r->bad_verdict ? "FAIL: wrong verdict" :
		     !r->target ? "reference" :
		     med <= r->target ? "ok" : "SHORT of target";
		if (r->bad_verdict || (r->target && med > r->target))
			fails++;
		snprintf(tstr, sizeof(tstr), r->target ? "<= %.1fx" : "-", r->target);
		printf("| %s | %.1f | %.1f | %.1f | %.2fx (%.2f-%.2f) | %s | %s | %s |\n",
		       r->name, tx, median(r->t_bf, rounds), tb, med,
		       vmin(r->r_net, rounds), vmax(r->r_net, rounds), dstr,
		       tstr, st);
		if (jf) {
			fprintf(jf, "%s{\"row\":\"%s\",\"ratio\":%.3f,\"ratio_min\":%.3f,"
				"\"ratio_max\":%.3f,\"ratio_with_front\":%.3f,"
				"\"xlb_ns_with_front\":%.1f,\"baseline_ns\":%.1f,"
				"\"baseline_ns_with_front\":%.1f,\"ratio_direct\":%.3f,"
				"\"target\":%.1f,\"status\":\"%s\"}",
				nj++ ? "," : "", r->name, med,
				vmin(r->r_net, rounds), vmax(r->r_net, rounds),
				median(r->r_raw, rounds), tx, tb,
				median(r->t_bf, rounds), median(r->r_direct, rounds),
				r->target, st);
		}
	}
	if (jf) {
		fprintf(jf, "]}\n");
		fclose(jf);
	}
	printf("\nratio = (t(front+xlb) - t(front+baseline) + t(baseline)) / t(baseline); "
	       "%d rounds, %u runs per measurement (new flows: %u in batches of %d); "
	       "%d row(s) short of target or failed.\n",
	       rounds, repeat, quick ? 4 * BATCH : 32 * BATCH, BATCH, fails);
	xlb_bpf__destroy(xs);
	baseline_bpf__destroy(bs);
	floor_bpf__destroy(fs);
	vary_bpf__destroy(vs);
	return 0;
}
