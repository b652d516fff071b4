// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What bench/xdp_cost and bench/katran_cmp share (xdp_lab.h): the namespace
 * bpf_fib_lookup needs, xlb_xdp's maps with one service per mode, the test
 * frames, and BPF_PROG_TEST_RUN timing behind bench/vary.bpf.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "xlb_hash.h"
#include "cfgslots.h"
#include "hz.h"
#include "lcslots.h"
#include "svcidx.h"
#include "svcslots.h"
#include "pkt.h"
#include "xdp_lab.h"

struct xlb_bpf *xs;
struct vary_bpf *vs;
int ifx;

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

int lab_setup(void)
{
	size_t i;
	char cmd[256];

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "%s: unshare(CLONE_NEWNET): %s\n",
			program_invocation_short_name, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(lab_cmds) / sizeof(lab_cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", lab_cmds[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "%s: '%s' failed\n",
				program_invocation_short_name, lab_cmds[i]);
			return -1;
		}
	}
	ifx = if_nametoindex("xa");
	return ifx ? 0 : -1;
}

void lab_hz(struct xlb_bpf *xs)
{
	char err[256];

	if (hz_learn(&xs->rodata->xlb_hz, err, sizeof(err)))
		fprintf(stderr, "%s: %s: the flood guard's window runs on the ns "
			"clock\n", program_invocation_short_name, err);
}

/* ---- packets: the fixtures' builders (tests/bpf/pkt.h) --------------------- */

/* A PKT_LEN-byte frame src:sp -> dst:dp, TCP with flags. */
void mk(uint8_t *b, const char *src, uint16_t sp, const char *dst,
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

struct svc_def {
	uint32_t id;
	const char *vip;
	uint8_t mode;
	const char *be[3];
	uint16_t be_port;
	uint8_t flags;          /* XLB_SVC_F_LC: lc over its three backends */
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
	{ S_DRLC4, "198.18.0.102", XLB_MODE_DR,
	  { "198.18.0.11", "198.18.0.12", "198.18.0.13" }, 0, XLB_SVC_F_LC },
	{ S_DRLC6, "2001:db8::102", XLB_MODE_DR,
	  { "2001:db8::11", "2001:db8::12", "2001:db8::13" }, 0, XLB_SVC_F_LC },
	{ S_TUNLC4, "198.18.0.103", XLB_MODE_TUN,
	  { "198.18.0.11", "198.18.0.12", "198.18.0.13" }, 0, XLB_SVC_F_LC },
	{ S_TUNLC6, "2001:db8::103", XLB_MODE_TUN,
	  { "2001:db8::11", "2001:db8::12", "2001:db8::13" }, 0, XLB_SVC_F_LC },
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

/* The dr/tun flow table of family v6, mapped (NULL if it cannot be). */
struct xlb_dsr_bucket *dsr_table(int v6)
{
	static struct xlb_dsr_bucket *mem[2];
	struct bpf_map *m = v6 ? xs->maps.dsr_flows6 : xs->maps.dsr_flows4;

	if (!mem[v6]) {
		void *p = mmap(NULL, (size_t)bpf_map__max_entries(m) * sizeof(**mem),
			       PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);

		mem[v6] = p == MAP_FAILED ? NULL : p;
	}
	return mem[v6];
}

/* The dr/tun entry of flow key f in *d: 0, or -1 when there is none. */
int dsr_lookup(const struct xlb_flow_key *f, struct xlb_dsr_flow *d)
{
	int v6 = f->family == XLB_AF_INET6, i;
	struct xlb_dsr_bucket *t = dsr_table(v6), *b;
	struct xlb_dsr_params k;
	uint32_t zero = 0;
	uint64_t h;

	if (!t || bpf_map_lookup_elem(bpf_map__fd(xs->maps.dsr_params), &zero, &k))
		return -1;
	h = xlb_dsr_hash_key(&k, f);
	b = &t[xlb_dsr_index(h, v6 ? k.buckets6 : k.buckets4)];
	i = xlb_dsr_find(b, xlb_dsr_tag(h));
	if (i < 0)
		return -1;
	d->backend_id = xlb_dsr_id_backend(b->id[i]);
	d->svc_id = xlb_dsr_id_svc(b->id[i]);
	return 0;
}

/* The dr/tun tables' key (random) and sizes, as xlbd sets them. */
static int dsr_params_setup(void)
{
	struct xlb_dsr_params k = {
		.k0 = (uint64_t)random() << 32 ^ random(),
		.k1 = (uint64_t)random() << 32 ^ random(),
		.buckets4 = bpf_map__max_entries(xs->maps.dsr_flows4),
		.buckets6 = bpf_map__max_entries(xs->maps.dsr_flows6),
	};
	uint32_t zero = 0;

	return bpf_map_update_elem(bpf_map__fd(xs->maps.dsr_params), &zero, &k, 0);
}

/* The service index, mapped and written as xlbd does (src/lib/svcidx.c). */
static struct svcidx *svcidx_lab(void)
{
	static struct svcidx *x;
	struct xlb_svc_idx_bucket *b;
	struct xlb_svc_rec *r;

	if (x)
		return x;
	b = mmap(NULL, XLB_SVC_IDX_BUCKETS * sizeof(*b), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(xs->maps.svc_idx), 0);
	r = mmap(NULL, XLB_SVC_IDX_RECS * sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(xs->maps.svc_recs), 0);
	if (b == MAP_FAILED || r == MAP_FAILED || svcidx_open(&x, b, r, NULL))
		return NULL;
	return x;
}

/* The services' slots by id, mapped and written as xlbd does
 * (src/lib/svcslots.c). */
static struct svcslots *svcslots_lab(void)
{
	static struct svcslots *s;
	struct xlb_svc_slots *m;

	if (s)
		return s;
	m = mmap(NULL, XLB_MAX_SERVICES * sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(xs->maps.svc_slots), 0);
	if (m == MAP_FAILED || svcslots_open(&s, m, NULL))
		return NULL;
	return s;
}

/* The lc/wlc lists' slots, mapped and written as xlbd does
 * (src/lib/lcslots.c). */
static struct lcslots *lcslots_lab(void)
{
	static struct lcslots *l;
	struct xlb_lc_slot *m;

	if (l)
		return l;
	m = mmap(NULL, 2 * XLB_MAX_SERVICES * sizeof(*m), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(xs->maps.lc_slots), 0);
	if (m == MAP_FAILED || lcslots_open(&l, m, NULL))
		return NULL;
	return l;
}

/* The settings' slots, mapped and written as xlbd does
 * (src/lib/cfgslots.c). */
static struct cfgslots *cfgslots_lab(void)
{
	static struct cfgslots *c;
	struct xlb_cfg_slot *m;
	union xlb_addr *l;

	if (c)
		return c;
	m = mmap(NULL, 2 * sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(xs->maps.data_cfg_slots), 0);
	l = mmap(NULL, 2 * XLB_CFG_LIPS * sizeof(*l), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(xs->maps.cfg_lips), 0);
	if (m == MAP_FAILED || l == MAP_FAILED || cfgslots_open(&c, m, l, NULL))
		return NULL;
	return c;
}

/* A Maglev-sized table (65537 slots, the default) spreading over 3 backends:
 * the lookup cost does not depend on the slot contents. */
int world_setup(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_INNER_MAP);
	uint32_t size = XLB_MAGLEV_DEFAULT_SIZE, i, j, *ids;
	struct svcidx *x = svcidx_lab();
	struct svcslots *sl = svcslots_lab();
	struct cfgslots *cs = cfgslots_lab();
	struct xlb_cfg cfg;
	int err = 0, fd;

	ids = x && sl && cs ? calloc(size, sizeof(*ids)) : NULL;
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
		v.flags = d->flags;
		if (d->flags & XLB_SVC_F_LC) {
			struct xlb_svc_backends sb = { .n = 3 };
			struct lcslots *lc = lcslots_lab();

			for (j = 0; j < 3; j++) {
				sb.id[j] = d->id * 4 + j;
				sb.weight[j] = 1;
			}
			err = err ?: lc ? lcslots_set(lc, d->id, &sb) : -ENOMEM;
		}
		err = err ?: filter_set(xlb_svc_dsr_table(&v) ? XLB_FILTER_VIP :
					XLB_FILTER_VIP_CT, &k.vip);
		err = err ?: svcslots_set(sl, d->id, &k, &v);
		err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.services),
						 &k, &v, 0);
		err = err ?: svcidx_put(x, &k, &v);
		for (j = 0; j < size; j++)
			ids[j] = d->id * 4 + (j * 7 + 1) % 3;
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "maglev", 4,
				    sizeof(struct xlb_maglev_slots),
				    XLB_MAGLEV_ELEMS(size), &mo);
		if (fd < 0) {
			err = fd;
			break;
		}
		{
			uint32_t cnt = XLB_MAGLEV_ELEMS(size);
			uint32_t *keys = malloc(cnt * sizeof(*keys));
			struct xlb_maglev_slots *e = malloc(cnt * sizeof(*e));

			for (j = 0; keys && j < cnt; j++)
				keys[j] = j;
			err = keys && e && !xlb_maglev_pack(ids, size, e) ?
			      bpf_map_update_batch(fd, keys, e, &cnt, NULL) : -ENOMEM;
			free(keys);
			free(e);
		}
		err = err ?: bpf_map_update_elem(bpf_map__fd(xs->maps.maglev_outer),
						 &d->id, &fd, 0);
		close(fd);
	}
	free(ids);
	memset(&cfg, 0, sizeof(cfg));
	cfg.lips[0] = A("198.18.0.2");
	cfg.lips[XLB_LIP_V6_BASE] = A("2001:db8::2");
	cfg.g.n_lips_v4 = 1;
	cfg.g.n_lips_v6 = 1;
	cfg.g.tun_src_v4 = A("198.18.0.0").v4;
	cfg.g.tun_src_v4_plen = 24;
	cfg.g.tun_src_v6 = A("2001:db8:0:1::");
	cfg.g.tun_src_v6_plen = 64;
	err = err ?: cfgslots_set(cs, &cfg);
	err = err ?: dsr_params_setup();
	/* xa's MAC, as xlbd writes it at attach: every frame is checked. */
	{
		struct xlb_if_mac m = { .valid = 1 };
		uint32_t k = (uint32_t)ifx;

		memcpy(m.mac, MAC_XA, 6);
		err = err ?: bpf_map_update_elem(bpf_map__fd(
			k < XLB_IF_MAC_DIRECT ? xs->maps.if_mac_direct :
						xs->maps.if_macs), &k, &m, 0);
	}
	return err;
}

/* Empties the hash map fd (keys of key_size <= 64 bytes): one walk
 * collecting keys, then batch deletes (get_next_key from NULL after each
 * delete rescans the buckets). */
void map_clear_fd(int fd, uint32_t key_size)
{
	static uint8_t keys[65536 * 64];
	uint32_t n, cnt;

	if (key_size > 64)
		return;
	do {
		n = 0;
		while (n < 65536 &&
		       !bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL,
					     keys + n * key_size))
			n++;
		cnt = n;
		if (n && bpf_map_delete_batch(fd, keys, &cnt, NULL))
			break;
	} while (n == 65536);
}

void map_clear(struct bpf_map *m)
{
	map_clear_fd(bpf_map__fd(m), bpf_map__key_size(m));
}

/* Every table xlb_xdp fills per flow: its LRU maps (flows, and whatever
 * other per-flow table a version has), nat_rev, and the dr/tun tables of
 * buckets (zeroed; their 5-tuples are never read per packet). */
void xlb_tables_clear(void)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, xs->obj)
		if (bpf_map__type(m) == BPF_MAP_TYPE_LRU_HASH ||
		    !strcmp(bpf_map__name(m), "nat_rev"))
			map_clear(m);
	for (int v6 = 0; v6 < 2; v6++)
		if (dsr_table(v6))
			memset(dsr_table(v6), 0, (size_t)bpf_map__max_entries(
				v6 ? xs->maps.dsr_flows6 : xs->maps.dsr_flows4) *
				sizeof(struct xlb_dsr_bucket));
}

/* ---- timing ---------------------------------------------------------------- */

/* One BPF_PROG_TEST_RUN of fd over pkt, repeat times; returns the kernel's
 * mean ns per run, or -1. *verdict gets the last run's return value. */
double run(int fd, const uint8_t *pkt, unsigned int rep, int *verdict,
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

/* Time target behind the front: n_flows 1 keeps the template's tuple, 0
 * gives each run a new one, else cycles over n_flows. */
double front_run(int target_fd, const uint8_t *pkt, uint32_t n_flows,
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
double front_new(int target_fd, const uint8_t *pkt, unsigned int rep,
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

/* The id of the lab's service on vip (port 80 or the nat ports alike), 0
 * for none. */
uint32_t svc_of_vip(const char *vip)
{
	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++)
		if (!strcmp(svcs[i].vip, vip))
			return svcs[i].id;
	return 0;
}

/* Client x of the cold rows' filler flows: 198.18.200.0/21 or
 * 2001:db8:200::/109 by x's upper bits (its port takes the lower 16). */
union xlb_addr cold_client(uint32_t x, int v6)
{
	union xlb_addr a = A(v6 ? "2001:db8:200::" : "198.18.200.0");
	int at = v6 ? 14 : 2;

	a.b[at] += (x >> 24) & 7;
	a.b[at + 1] = (x >> 16) & 0xff;
	return a;
}

/* Runs fill(from, cnt, arg) over [0, n) in equal shares, the thread
 * pinned to each possible CPU in turn (its CPU mask restored after). An
 * LRU map with one list per CPU (BPF_F_NO_COMMON_LRU) gives each CPU's
 * inserts that CPU's share of its entries and evicts within it: filled
 * from one CPU, a 1M-entry table would hold 1M / ncpu flows. 0 or -errno. */
int fill_on_each_cpu(uint32_t n, int (*fill)(uint32_t from, uint32_t cnt, void *arg),
		     void *arg)
{
	int ncpu = libbpf_num_possible_cpus(), c, err = 0;
	cpu_set_t old, one;
	uint32_t from = 0;

	if (ncpu < 1 || sched_getaffinity(0, sizeof(old), &old))
		return -EINVAL;
	for (c = 0; c < ncpu && !err; c++) {
		uint32_t to = (uint64_t)n * (c + 1) / ncpu;

		CPU_ZERO(&one);
		CPU_SET(c, &one);
		err = sched_setaffinity(0, sizeof(one), &one) ? -errno :
		      fill(from, to - from, arg);
		from = to;
	}
	sched_setaffinity(0, sizeof(old), &old);
	return err;
}

struct cold_fill_arg {
	const char *vip;
	struct bpf_map *m;
};

/* cnt flows of cold_fill from filler number from on, placed in their
 * buckets as xlb_xdp places a new flow. */
static int cold_fill_part(uint32_t from, uint32_t n, void *arg)
{
	const struct cold_fill_arg *a = arg;
	int v6 = !!strchr(a->vip, ':');
	struct xlb_dsr_bucket *t = dsr_table(v6);
	struct xlb_dsr_params k;
	uint32_t zero = 0, i;

	if (!t || bpf_map_lookup_elem(bpf_map__fd(xs->maps.dsr_params), &zero, &k))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		uint32_t x = from + i, svc = v6 ? S_DR6 : S_DR4, tag, v;
		union xlb_addr src = cold_client(x, v6), dst = A(a->vip);
		uint16_t sp = htons(x & 0xffff), dp = htons(80);
		uint64_t h = v6 ? xlb_dsr_hash6(&k, src.v6, dst.v6, sp, dp, 6) :
				  xlb_dsr_hash4(&k, src.v4, dst.v4, sp, dp, 6);
		struct xlb_dsr_bucket *b = &t[xlb_dsr_index(h, v6 ? k.buckets6 : k.buckets4)];

		tag = xlb_dsr_tag(h);
		v = xlb_dsr_victim(b, tag, k.epoch);
		b->id[v] = xlb_dsr_id(tag, svc, svc * 4, k.epoch);
	}
	return 0;
}

/* Fills xlb's dr/tun flow table of vip's family with n flows of other
 * clients to vip, port 80: the rest of a "cold" table of 1M flows (their
 * entries name the dr service of vip's family; no timed packet reads
 * them), each in its bucket as the data plane would place it. */
int cold_fill(const char *vip, uint32_t n)
{
	struct cold_fill_arg a = {
		.vip = vip,
		.m = strchr(vip, ':') ? xs->maps.dsr_flows6 : xs->maps.dsr_flows4,
	};

	return fill_on_each_cpu(n, cold_fill_part, &a);
}

/* The capacity of the dr/tun flow table of vip's family. */
uint32_t cold_capacity(const char *vip)
{
	return bpf_map__max_entries(strchr(vip, ':') ? xs->maps.dsr_flows6 :
						       xs->maps.dsr_flows4) *
	       XLB_DSR_WAYS / XLB_DSR_SLOTS_PER_FLOW;
}

/* Sets the data plane's flood guard rate (0: off, as world_setup left it). */
void guard_rate(uint32_t rate)
{
	struct xlb_globals g;

	globals_get(&g);
	g.guard_rate = rate;
	globals_set(&g);
}

void globals_get(struct xlb_globals *g)
{
	struct xlb_cfg c;

	cfgslots_get(cfgslots_lab(), &c);
	*g = c.g;
}

int globals_set(const struct xlb_globals *g)
{
	struct xlb_cfg c;

	cfgslots_get(cfgslots_lab(), &c);
	c.g = *g;
	return cfgslots_set(cfgslots_lab(), &c);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values (sorts a copy). */
double median(const double *v, int n)
{
	double s[16];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_d);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double vmin(const double *v, int n)
{
	double m = v[0];

	while (n--)
		m = v[n] < m ? v[n] : m;
	return m;
}

double vmax(const double *v, int n)
{
	double m = v[0];

	while (n--)
		m = v[n] > m ? v[n] : m;
	return m;
}

int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

struct xlb_flow_key lab_key(const char *src, uint16_t sp, const char *dst)
{
	struct xlb_flow_key k;

	memset(&k, 0, sizeof(k));
	k.src = A(src);
	k.dst = A(dst);
	k.sport_be = htons(sp);
	k.dport_be = htons(80);
	k.proto = 6;
	k.family = strchr(src, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	return k;
}

/* ---- the options ------------------------------------------------------------ */

int bench_opts_parse(int argc, char **argv, int with_k, unsigned int min_repeat,
		     struct bench_opts *o)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int c;

	*o = (struct bench_opts){ .rounds = 5, .repeat = 1000000 };
	while ((c = getopt(argc, argv, with_k ? "k:r:n:qf:F:j:" : "r:n:qf:F:j:")) != -1) {
		switch (c) {
		case 'k': o->kobj = optarg; break;
		case 'r': o->rounds = atoi(optarg); break;
		case 'n': o->repeat = strtoul(optarg, NULL, 0); break;
		case 'q': o->quick = 1; break;
		case 'f': o->only = optarg; break;
		case 'F': o->row = optarg; break;
		case 'j': o->json = optarg; break;
		default:
			fprintf(stderr, "usage: %s %s[-r ROUNDS] [-n REPEAT] [-q] [-f WORDS] "
				"[-F NAME] [-j FILE]\n", argv[0],
				with_k ? "-k BALANCER_KERN.o " : "");
			return 2;
		}
	}
	if (o->quick) {
		o->rounds = o->rounds > 3 ? 3 : o->rounds;
		o->repeat = o->repeat > 200000 ? 200000 : o->repeat;
	}
	if ((with_k && !o->kobj) || o->rounds < 1 || o->rounds > 16 ||
	    o->repeat < min_repeat) {
		fprintf(stderr, "%s: %srounds 1..16, repeat >= %u\n", prog,
			with_k ? "-k Katran's object needed; " : "", min_repeat);
		return 2;
	}
	return 0;
}

int bench_row_selected(const struct bench_opts *o, const char *name)
{
	char buf[256], *w, *save = NULL;

	/* -F names one row whole: the flood rows' names have a comma, which
	 * -f would split into words that select other rows too. */
	if (o->row && !strcmp(name, o->row))
		return 1;
	if (!o->only)
		return !o->row;
	snprintf(buf, sizeof(buf), "%s", o->only);
	/* A word starting with '=' names a whole row: "=tun v6 established"
	 * without the cold row whose name begins the same. */
	for (w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		if (w[0] == '=' ? !strcmp(name, w + 1) : !!strstr(name, w))
			return 1;
	return 0;
}
