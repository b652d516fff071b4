// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The BPF fixtures' harness: runs frames through xlb_xdp and xlb_decap with
 * BPF_PROG_TEST_RUN inside a private network namespace whose routes and
 * permanent neighbours make route lookups deterministic, checks verdicts,
 * exact output bytes, checksums and reason counters. */
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "hz.h"
#include "xlb_ct.h"

/* ---- the lab inside the test's own namespace ---------------------------- */

/* The private namespace (gone when the process exits):
 *
 *   xa 02:..:00:0a  198.18.0.2/24 2001:db8::2/64 <-> xb     (ingress of every row)
 *      neighbours .11 .12 .13, 2001:db8::11 ::12 ::13 (permanent, known MACs)
 *   ya 02:..:00:1a  198.18.1.2/24                 <-> yb     (redirect target)
 *      neighbour 198.18.1.11
 *
 * The client (198.18.0.1, 2001:db8::1, MAC 02:..:00:01) is a neighbour on xa
 * for the replies of nat/fullnat flows; so is a client behind a 1280-byte
 * link (198.18.0.9, same MAC, route MTU 1280).
 * 198.18.0.99 has a route but no neighbour; 198.19.200.1 has no route.
 * Neither have the on-link clients 198.18.0.97 and 2001:db8::97, nor the
 * gateways 198.18.0.98 (of 198.18.9.0/24) and 2001:db8::98 (of
 * 2001:db8:9::/64 and, an IPv6 next hop of an IPv4 route, 198.18.10.0/24). */
static const char *lab_cmds[] = {
	"ip link set lo up",
	"ip link add xa type veth peer name xb",
	"ip link set xa address 02:00:00:00:00:0a",
	"ip link set xa up",
	"ip link set xb up",
	"ip addr add 198.18.0.2/24 dev xa",
	"ip addr add 2001:db8::2/64 dev xa nodad",
	"ip link add ya type veth peer name yb",
	"ip link set ya address 02:00:00:00:00:1a",
	"ip link set ya up",
	"ip link set yb up",
	"ip addr add 198.18.1.2/24 dev ya",
	"ip neigh add 198.18.0.11 lladdr 02:00:00:00:01:11 dev xa nud permanent",
	"ip neigh add 198.18.0.12 lladdr 02:00:00:00:01:12 dev xa nud permanent",
	"ip neigh add 198.18.0.13 lladdr 02:00:00:00:01:13 dev xa nud permanent",
	"ip neigh add 2001:db8::11 lladdr 02:00:00:00:06:11 dev xa nud permanent",
	"ip neigh add 2001:db8::12 lladdr 02:00:00:00:06:12 dev xa nud permanent",
	"ip neigh add 2001:db8::13 lladdr 02:00:00:00:06:13 dev xa nud permanent",
	"ip neigh add 198.18.1.11 lladdr 02:00:00:00:02:11 dev ya nud permanent",
	"ip neigh add 198.18.0.1 lladdr 02:00:00:00:00:01 dev xa nud permanent",
	"ip neigh add 2001:db8::1 lladdr 02:00:00:00:00:01 dev xa nud permanent",
	"ip route add 198.18.0.9/32 dev xa mtu lock 1280",
	"ip neigh add 198.18.0.9 lladdr 02:00:00:00:00:01 dev xa nud permanent",
	"ip route add 198.18.9.0/24 via 198.18.0.98 dev xa",
	"ip -6 route add 2001:db8:9::/64 via 2001:db8::98 dev xa",
	"ip route add 198.18.10.0/24 via inet6 2001:db8::98 dev xa",
};

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -errno;
	ok = fputs(s, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -EIO;
}

static int lab_setup(char *why, size_t n)
{
	size_t i;

	if (unshare(CLONE_NEWNET)) {
		snprintf(why, n, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(lab_cmds) / sizeof(lab_cmds[0]); i++) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", lab_cmds[i]);
		if (system(cmd) != 0) {
			snprintf(why, n, "'%s' failed", lab_cmds[i]);
			return -1;
		}
	}
	/* bpf_fib_lookup's input lookup refuses to route when forwarding is
	 * off, exactly like the kernel's own forwarding path. */
	if (write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1") ||
	    write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1")) {
		snprintf(why, n, "cannot enable forwarding in the test namespace");
		return -1;
	}
	return 0;
}

/* ---- output checks ------------------------------------------------------- */

/* Verifies every checksum of the IP packet at l3 (len bytes) by
 * recomputation; quoted packets inside ICMP errors only get their IPv4
 * header checked, since their L4 part is cut. */
static int check_l3(const uint8_t *l3, size_t len, int quoted, char *why,
		    size_t n)
{
	int ver = l3[0] >> 4;
	size_t hl, tot;
	uint8_t proto;

	if (ver == 4) {
		hl = (l3[0] & 15) * 4;
		if (len < 20 || hl > len || fold(sum16(l3, hl, 0)) != 0) {
			snprintf(why, n, "bad IPv4 header checksum");
			return -1;
		}
		/* A fragment's L4 checksum covers the whole datagram. */
		if (quoted || (get16(l3 + 6) & 0x3fff))
			return 0;
		tot = get16(l3 + 2);
		proto = l3[9];
	} else if (ver == 6) {
		if (quoted)
			return 0;
		hl = 40;
		tot = 40 + get16(l3 + 4);
		proto = l3[6];
	} else {
		snprintf(why, n, "IP version %d", ver);
		return -1;
	}
	if (tot > len || tot < hl) {
		snprintf(why, n, "IP length %zu vs %zu bytes", tot, len);
		return -1;
	}
	if (proto == 4 || proto == 41)
		return check_l3(l3 + hl, tot - hl, 0, why, n);
	/* IPv4 UDP without checksum (0) is valid (RFC 768). */
	if (proto == 17 && ver == 4 && tot - hl >= 8 && get16(l3 + hl + 6) == 0)
		return 0;
	if (proto == 6 || proto == 17 || proto == 1 || proto == 58) {
		if (l4_csum(l3, l3 + hl, tot - hl, proto) != 0) {
			snprintf(why, n, "bad L4 checksum (proto %u)", proto);
			return -1;
		}
		if (proto == 1 || proto == 58) {
			uint8_t t = l3[hl];

			if ((proto == 1 && (t == 3 || t == 11)) ||
			    (proto == 58 && t < 4))
				return check_l3(l3 + hl + 8, tot - hl - 8, 1,
						why, n);
		}
	}
	return 0;
}

static int check_frame(const struct pkt *p, char *why, size_t n)
{
	size_t l3 = l3_of(p);

	if (p->len < l3 + 20)
		return 0;
	return check_l3(p->b + l3, p->len - l3, 0, why, n);
}

/* ---- the loaded programs and their maps ---------------------------------- */

struct xlb_bpf *skel;
struct decap_bpf *dskel;
struct svcidx *svcidx;
struct svcslots *slots;
struct cfgslots *cfgw;
struct lcslots *lcw;
int ifx_xa, ifx_ya, ncpu;
int ingress;
unsigned int fixture_hz;
int fixture_ns_clock;

uint64_t percpu_sum(struct bpf_map *m, uint32_t k)
{
	uint64_t v[ncpu], s = 0;
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(m), &k, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		s += v[i];
	return s;
}

static uint64_t reason_get(int r)
{
	return percpu_sum(skel->maps.reason_stats, r);
}

static uint64_t reasons_total(void)
{
	uint64_t s = 0;
	int r;

	for (r = 0; r < XLB_R_MAX; r++)
		s += reason_get(r);
	return s;
}

struct xlb_counter counter_get(struct bpf_map *m, uint32_t id)
{
	struct xlb_counter v[ncpu], s = { 0 };
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(m), &id, v))
		return s;
	for (i = 0; i < ncpu; i++) {
		s.packets += v[i].packets;
		s.bytes += v[i].bytes;
		s.new_flows += v[i].new_flows;
		s.packets_out += v[i].packets_out;
		s.bytes_out += v[i].bytes_out;
	}
	return s;
}

int run_prog(int fd, const struct pkt *in, struct pkt *out, int ifindex,
		    int *verdict)
{
	struct xdp_md md;
	int err;

	memset(&md, 0, sizeof(md));
	md.data_end = in->len;
	md.ingress_ifindex = ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = in->b,
		    .data_size_in = in->len,
		    .data_out = out->b,
		    .data_size_out = sizeof(out->b),
		    .ctx_in = &md,
		    .ctx_size_in = sizeof(md),
		    .repeat = 1);
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	out->len = o.data_size_out;
	*verdict = o.retval;
	return 0;
}

const char *vname(int v)
{
	static const char *n[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return v >= 0 && v <= 4 ? n[v] : "?";
}

static void hexdiff(const struct pkt *got, const struct pkt *exp, char *why,
		    size_t n)
{
	size_t i, m = got->len < exp->len ? got->len : exp->len;

	for (i = 0; i < m && got->b[i] == exp->b[i]; i++)
		;
	snprintf(why, n, "output differs at byte %zu (got %zu bytes, want %zu; "
		 "got 0x%02x want 0x%02x)", i, got->len, exp->len,
		 i < got->len ? got->b[i] : 0, i < exp->len ? exp->b[i] : 0);
}

/* Runs in through xlb_xdp (decap: xlb_decap) on ingress xa and checks the
 * verdict, the exact output (unless exp is NULL), its checksums and that exactly the counter of
 * reason (if >= 0) moved by one. out receives the output. */
int expect_ex(int decap, const struct pkt *in, int verdict,
		     const struct pkt *exp, int reason, struct pkt *out,
		     char *why, size_t n)
{
	struct pkt tmp;
	uint64_t before = 0, total = 0;
	int v, err, fd;

	if (!out)
		out = &tmp;
	fd = decap ? bpf_program__fd(dskel->progs.xlb_decap) :
		     bpf_program__fd(skel->progs.xlb_xdp);
	if (reason >= 0) {
		before = reason_get(reason);
		total = reasons_total();
	}
	err = run_prog(fd, in, out, ingress ? ingress : ifx_xa, &v);
	ingress = 0;
	if (err) {
		snprintf(why, n, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		return -1;
	}
	if (v != verdict) {
		snprintf(why, n, "verdict %s, want %s", vname(v), vname(verdict));
		return -1;
	}
	if (exp && (out->len != exp->len || memcmp(out->b, exp->b, exp->len))) {
		hexdiff(out, exp, why, n);
		return -1;
	}
	/* Untouched input may be malformed on purpose; anything the program
	 * wrote must carry correct checksums. */
	if ((in->len != out->len || memcmp(in->b, out->b, in->len) ||
	     verdict == XDP_TX_ || verdict == XDP_REDIRECT_) &&
	    check_frame(out, why, n))
		return -1;
	if (reason >= 0) {
		if (reason_get(reason) != before + 1) {
			snprintf(why, n, "reason counter %d did not move", reason);
			return -1;
		}
		if (reasons_total() != total + 1) {
			snprintf(why, n, "more than one reason counted");
			return -1;
		}
	}
	return 0;
}

int expect(const struct pkt *in, int verdict, const struct pkt *exp,
		  int reason, char *why, size_t n)
{
	return expect_ex(0, in, verdict, exp, reason, NULL, why, n);
}

/* ---- map set-up ---------------------------------------------------------- */

/* Sets (on) or clears a's bit in an addr_filter set. */
static int filter_put(uint32_t set, const union xlb_addr *a, bool on)
{
	uint32_t bit = xlb_filter_bit(a), k = set * XLB_FILTER_WORDS + bit / 64;
	int fd = bpf_map__fd(skel->maps.addr_filter);
	uint64_t w = 0;

	if (bpf_map_lookup_elem(fd, &k, &w))
		return -1;
	if (on)
		w |= 1ull << (bit % 64);
	else
		w &= ~(1ull << (bit % 64));
	return bpf_map_update_elem(fd, &k, &w, 0);
}

/* Sets a's bit in an addr_filter set, as the daemon does before it writes a
 * service or a backend (src/xlbd/dataplane.c). */
int filter_set(uint32_t set, const union xlb_addr *a)
{
	return filter_put(set, a, true);
}

/* Clears a's bit in an addr_filter set, as the daemon does when the last
 * address on that bit leaves the set. */
int filter_clear(uint32_t set, const union xlb_addr *a)
{
	return filter_put(set, a, false);
}

/* Writes service k -> v as the daemon does: the VIP's bit in the set of
 * v's flow table, the entry in its slot by id (svc_slots), the services
 * map, then the service index. */
int svc_write(const struct xlb_svc_key *k, const struct xlb_svc *v)
{
	if (filter_set(xlb_svc_dsr_table(v) ? XLB_FILTER_VIP : XLB_FILTER_VIP_CT,
		       &k->vip) ||
	    svcslots_set(slots, v->id, k, v))
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.services), k, v, 0))
		return -1;
	return svcidx_put(svcidx, k, v);
}

/* Removes service k as the daemon does: by id first, from the index,
 * then by key. */
int svc_del(const struct xlb_svc_key *k)
{
	struct xlb_svc v;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), k, &v))
		return -1;
	svcslots_set(slots, v.id, NULL, NULL);
	if (svcidx_del(svcidx, k))
		return -1;
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.services), k);
}

int svc_add(const char *vip, uint16_t port, uint8_t proto,
		   uint32_t id, uint8_t mode, uint32_t table_size)
{
	struct xlb_svc_key k;
	struct xlb_svc v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.vip = A(vip);
	k.port_be = htons(port);
	k.proto = proto;
	k.family = strchr(vip, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	v.id = id;
	v.table_size = table_size;
	v.mode = mode;
	return svc_write(&k, &v);
}

int svc_sched(const char *vip, uint8_t flags, uint16_t seq_len)
{
	struct xlb_svc_key k;
	struct xlb_svc v;
	int fd = bpf_map__fd(skel->maps.services);

	memset(&k, 0, sizeof(k));
	k.vip = A(vip);
	k.port_be = htons(80);
	k.proto = 6;
	k.family = strchr(vip, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	if (bpf_map_lookup_elem(fd, &k, &v))
		return -1;
	v.flags = flags;
	v.seq_len = seq_len;
	return svc_write(&k, &v);
}

int backend_set(uint32_t id, const char *addr, uint8_t flags,
		       uint32_t svc)
{
	struct xlb_backend b;

	memset(&b, 0, sizeof(b));
	b.addr = A(addr);
	b.family = strchr(addr, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	b.flags = flags;
	b.svc_id = svc;
	if (filter_set(XLB_FILTER_BACKEND, &b.addr))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.backends), &id, &b, 0);
}

int backend_port(uint32_t id, const char *addr, uint16_t port,
			uint32_t svc)
{
	struct xlb_backend b;

	memset(&b, 0, sizeof(b));
	b.addr = A(addr);
	b.family = strchr(addr, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	b.flags = BE_UP;
	b.port_be = htons(port);
	b.svc_id = svc;
	if (filter_set(XLB_FILTER_BACKEND, &b.addr))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.backends), &id, &b, 0);
}

int backend_flags(uint32_t id, uint8_t flags)
{
	struct xlb_backend b;
	int fd = bpf_map__fd(skel->maps.backends);

	if (bpf_map_lookup_elem(fd, &id, &b))
		return -1;
	b.flags = flags;
	return bpf_map_update_elem(fd, &id, &b, 0);
}

/* Builds a Maglev table of size slots, slot i -> ids[i % n], and swaps it
 * into the service's slot as the daemon does. */
int table_set(uint32_t svc, uint32_t size, const uint32_t *ids,
		     uint32_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	uint32_t i, *table = calloc(size, sizeof(*table));
	struct xlb_maglev_slots *e = calloc(XLB_MAGLEV_ELEMS(size), sizeof(*e));
	int fd = -ENOMEM, err = 0;

	for (i = 0; table && i < size; i++)
		table[i] = ids[i % n];
	if (table && e && !xlb_maglev_pack(table, size, e))
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "maglev", 4, sizeof(*e),
				    XLB_MAGLEV_ELEMS(size), &o);
	for (i = 0; fd >= 0 && i < XLB_MAGLEV_ELEMS(size) && !err; i++)
		err = bpf_map_update_elem(fd, &i, &e[i], 0);
	free(table);
	free(e);
	if (fd < 0)
		return fd;
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.maglev_outer),
					  &svc, &fd, 0);
	close(fd);
	return err;
}

int table_one(uint32_t svc, uint32_t id)
{
	return table_set(svc, 13, &id, 1);
}

int lc_list(uint32_t svc, const uint32_t *ids, const uint32_t *w, uint32_t n)
{
	struct xlb_svc_backends sb;

	memset(&sb, 0, sizeof(sb));
	sb.n = n;
	for (uint32_t i = 0; i < n; i++) {
		sb.id[i] = ids[i];
		sb.weight[i] = w[i];
	}
	return lcslots_set(lcw, svc, &sb);
}

void flows_clear(void)
{
	int fd = bpf_map__fd(skel->maps.flows);
	struct xlb_flow_key k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
	for (int v6 = 0; v6 < 2; v6++) {
		struct bpf_map *m = v6 ? skel->maps.dsr_flows6 : skel->maps.dsr_flows4;
		struct bpf_map *km = v6 ? skel->maps.dsr_keys6 : skel->maps.dsr_keys4;
		struct xlb_dsr_keys6 ks = { 0 };
		struct xlb_dsr_bucket b = { 0 };

		for (uint32_t i = 0; i < bpf_map__max_entries(m); i++)
			bpf_map_update_elem(bpf_map__fd(m), &i, &b, 0);
		/* The 5-tuples too: a row sees what its own flows wrote. */
		for (uint32_t i = 0; i < bpf_map__max_entries(km); i++)
			bpf_map_update_elem(bpf_map__fd(km), &i, &ks, 0);
	}
}

int flow_backend(const struct spec *s, uint32_t *bid)
{
	struct xlb_flow f;

	if (flow_get(s, &f))
		return -1;
	*bid = f.backend_id;
	return 0;
}

uint32_t spec_hash(const struct spec *s)
{
	union xlb_addr a = A(s->src), b = A(s->dst);

	return xlb_flow_hash(&a, &b, htons(s->sport), htons(s->dport), s->proto);
}

/* Writes (mac NULL: deletes) the if_macs entry of ifindex, as xlbd does
 * at attach and when the MAC changes. */
int if_mac_set(int ifindex, const uint8_t *mac)
{
	struct xlb_if_mac m = { .valid = 1 };
	uint32_t k = (uint32_t)ifindex;
	int direct = k < XLB_IF_MAC_DIRECT;
	int fd = bpf_map__fd(direct ? skel->maps.if_mac_direct : skel->maps.if_macs);

	if (!mac) {
		memset(&m, 0, sizeof(m));
		return direct ? bpf_map_update_elem(fd, &k, &m, 0) :
				bpf_map_delete_elem(fd, &k);
	}
	memcpy(m.mac, mac, 6);
	return bpf_map_update_elem(fd, &k, &m, 0);
}

/* What each ICMP error costs with the default icmp_rate_limit. */
#define ICMP_COST_NS (1000000000ULL / XLB_ICMP_RATE_DEFAULT)

/* Leaves exactly n ICMP errors in every CPU's bucket, and stops the refill
 * (last_ns in the future): rows do not depend on the clock. */
int icmp_tokens(uint64_t n)
{
	struct xlb_icmp_bucket b[ncpu];
	uint32_t zero = 0;

	for (int i = 0; i < ncpu; i++) {
		b[i].last_ns = UINT64_MAX;
		b[i].credit_ns = n * ICMP_COST_NS;
	}
	return bpf_map_update_elem(bpf_map__fd(skel->maps.icmp_bucket), &zero, b, 0);
}

/* The service index's maps, the services' slots by id, the settings'
 * slots and the lc/wlc lists' slots, mapped as xlbd maps them, and their
 * writers (src/lib/svcidx.c, svcslots.c, cfgslots.c, lcslots.c): the
 * services, settings and lists are written through them. */
static int svcidx_setup(void)
{
	struct xlb_svc_idx_bucket *b;
	struct xlb_svc_slots *sl;
	struct xlb_cfg_slot *cs;
	struct xlb_lc_slot *ls;
	union xlb_addr *cl;
	struct xlb_svc_rec *r;

	b = mmap(NULL, XLB_SVC_IDX_BUCKETS * sizeof(*b), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(skel->maps.svc_idx), 0);
	r = mmap(NULL, XLB_SVC_IDX_RECS * sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED, bpf_map__fd(skel->maps.svc_recs), 0);
	sl = mmap(NULL, XLB_MAX_SERVICES * sizeof(*sl), PROT_READ | PROT_WRITE,
		  MAP_SHARED, bpf_map__fd(skel->maps.svc_slots), 0);
	cs = mmap(NULL, 2 * sizeof(*cs), PROT_READ | PROT_WRITE, MAP_SHARED,
		  bpf_map__fd(skel->maps.data_cfg_slots), 0);
	cl = mmap(NULL, 2 * XLB_CFG_LIPS * sizeof(*cl), PROT_READ | PROT_WRITE,
		  MAP_SHARED, bpf_map__fd(skel->maps.cfg_lips), 0);
	ls = mmap(NULL, 2 * XLB_MAX_SERVICES * sizeof(*ls), PROT_READ | PROT_WRITE,
		  MAP_SHARED, bpf_map__fd(skel->maps.lc_slots), 0);
	if (b == MAP_FAILED || r == MAP_FAILED || sl == MAP_FAILED ||
	    cs == MAP_FAILED || cl == MAP_FAILED || ls == MAP_FAILED)
		return -1;
	return svcidx_open(&svcidx, b, r, NULL) ?: svcslots_open(&slots, sl, NULL) ?:
	       cfgslots_open(&cfgw, cs, cl, NULL) ?: lcslots_open(&lcw, ls, NULL);
}

static int world_setup(void)
{
	struct xlb_dsr_params dp = {
		.k0 = 0x0123456789abcdefull, .k1 = 0xfedcba9876543210ull,
		.buckets4 = bpf_map__max_entries(skel->maps.dsr_flows4),
		.buckets6 = bpf_map__max_entries(skel->maps.dsr_flows6),
	};
	struct xlb_cfg cfg;
	uint32_t zero = 0;
	int err = 0;

	err |= bpf_map_update_elem(bpf_map__fd(skel->maps.dsr_params), &zero, &dp, 0);

	err |= backend_set(B1, "198.18.0.11", BE_UP, S_DR4_TCP);
	err |= backend_set(B2, "198.18.0.12", BE_UP, S_DR4_UDP);
	err |= backend_set(B3, "198.18.0.13", BE_UP, S_TUN4);
	err |= backend_set(B6_1, "2001:db8::11", BE_UP, S_DR6_TCP);
	err |= backend_set(B6_2, "2001:db8::12", BE_UP, S_DR6_UDP);
	err |= backend_set(B6_3, "2001:db8::13", BE_UP, S_TUN6);
	err |= backend_set(BY1, "198.18.1.11", BE_UP, S_REDIR);
	err |= backend_set(BNN, "198.18.0.99", BE_UP, S_NONEIGH);
	err |= backend_set(BNR, "198.19.200.1", BE_UP, S_NOROUTE);

	err |= svc_add(VIP_DR4, 80, 6, S_DR4_TCP, XLB_MODE_DR, 13);
	err |= svc_add(VIP_DR4, 53, 17, S_DR4_UDP, XLB_MODE_DR, 13);
	err |= svc_add(VIP_DR6, 80, 6, S_DR6_TCP, XLB_MODE_DR, 13);
	err |= svc_add(VIP_DR6, 53, 17, S_DR6_UDP, XLB_MODE_DR, 13);
	err |= svc_add(VIP_TUN4, 80, 6, S_TUN4, XLB_MODE_TUN, 13);
	err |= svc_add(VIP_TUN6, 80, 6, S_TUN6, XLB_MODE_TUN, 13);
	err |= svc_add(VIP_ALL, 0, 6, S_ALLPORTS, XLB_MODE_DR, 13);
	err |= svc_add(VIP_STICKY, 80, 6, S_STICKY, XLB_MODE_DR, 13);
	err |= svc_add(VIP_EMPTY, 80, 6, S_EMPTY, XLB_MODE_DR, 13);
	err |= svc_add(VIP_REDIR, 80, 6, S_REDIR, XLB_MODE_DR, 13);
	err |= svc_add(VIP_TUN4, 53, 17, S_TUN4IN6, XLB_MODE_TUN, 13);
	err |= svc_add(VIP_NONEIGH, 80, 6, S_NONEIGH, XLB_MODE_DR, 13);
	err |= svc_add(VIP_NOROUTE, 80, 6, S_NOROUTE, XLB_MODE_DR, 13);
	err |= svc_add(VIP_NAT, 80, 6, S_NAT, 9 /* no such mode */, 13);
	err |= svc_add(VIP_TUN6, 53, 17, S_TUN6IN4, XLB_MODE_TUN, 13);

	err |= table_one(S_DR4_TCP, B1);
	err |= table_one(S_DR4_UDP, B2);
	err |= table_one(S_DR6_TCP, B6_1);
	err |= table_one(S_DR6_UDP, B6_2);
	err |= table_one(S_TUN4, B3);
	err |= table_one(S_TUN6, B6_3);
	err |= table_one(S_ALLPORTS, B1);
	err |= table_one(S_STICKY, B1);
	err |= table_one(S_REDIR, BY1);
	err |= table_one(S_TUN4IN6, B6_3);
	err |= table_one(S_NONEIGH, BNN);
	err |= table_one(S_NOROUTE, BNR);
	err |= table_one(S_NAT, B1);
	err |= table_one(S_TUN6IN4, B3);

	/* nat and fullnat: two-armed v4 (backend behind ya), one-armed v6,
	 * port mapping on some backends. */
	err |= backend_port(BN_Y, "198.18.1.11", 8080, S_N4T);
	err |= backend_port(BN_2, "198.18.0.12", 5353, S_N4U);
	err |= backend_port(BN6_1, "2001:db8::11", 0, S_N6T);
	err |= backend_port(BF_Y, "198.18.1.11", 0, S_F4T);
	err |= backend_port(BF_2, "198.18.0.12", 5353, S_F4U);
	err |= backend_port(BF6_2, "2001:db8::12", 5353, S_F6U);
	err |= backend_port(BF6_1, "2001:db8::11", 8080, S_F6T);
	err |= svc_add(VIP_N4, 80, 6, S_N4T, XLB_MODE_NAT, 13);
	err |= svc_add(VIP_N4, 53, 17, S_N4U, XLB_MODE_NAT, 13);
	err |= svc_add(VIP_N6, 80, 6, S_N6T, XLB_MODE_NAT, 13);
	err |= svc_add(VIP_F4, 80, 6, S_F4T, XLB_MODE_FULLNAT, 13);
	err |= svc_add(VIP_F4, 53, 17, S_F4U, XLB_MODE_FULLNAT, 13);
	err |= svc_add(VIP_F6, 53, 17, S_F6U, XLB_MODE_FULLNAT, 13);
	err |= svc_add(VIP_F6, 80, 6, S_F6T, XLB_MODE_FULLNAT, 13);
	err |= table_one(S_N4T, BN_Y);
	err |= table_one(S_N4U, BN_2);
	err |= table_one(S_N6T, BN6_1);
	err |= table_one(S_F4T, BF_Y);
	err |= table_one(S_F4U, BF_2);
	err |= table_one(S_F6U, BF6_2);
	err |= table_one(S_F6T, BF6_1);
	/* nat lc/wlc: three backends on xa, picked from backend_conns. */
	err |= backend_port(BL1, "198.18.0.11", 0, S_LC);
	err |= backend_port(BL2, "198.18.0.12", 0, S_LC);
	err |= backend_port(BL3, "198.18.0.13", 0, S_LC);
	err |= svc_add(VIP_LC, 80, 6, S_LC, XLB_MODE_NAT, 13);
	memset(&cfg, 0, sizeof(cfg));
	cfg.lips[0] = A(LIP4);
	cfg.lips[XLB_LIP_V6_BASE] = A(LIP6);
	cfg.g.lport_min = LPORT_MIN;
	cfg.g.lport_max = LPORT_MAX;
	cfg.g.n_lips_v4 = 1;
	cfg.g.n_lips_v6 = 1;
	cfg.g.tun_src_v4 = A("198.18.0.0").v4;
	cfg.g.tun_src_v4_plen = 24;
	cfg.g.tun_src_v6 = A("2001:db8:0:1::");
	cfg.g.tun_src_v6_plen = 64;
	cfg.g.icmp_cost_ns = ICMP_COST_NS;
	err |= cfgslots_set(cfgw, &cfg);
	/* xa's MAC, as xlbd writes it at attach (ya has none: frames
	 * injected there are addressed to xa's MAC, and go unchecked). */
	err |= if_mac_set(ifx_xa, MAC_XA);
	/* ICMP errors unlimited, unless a row says otherwise. */
	err |= icmp_tokens(1000000);

	{
		union xlb_addr d4 = A("198.18.0.13"), d6 = A("2001:db8::13");
		uint8_t one = 1;
		int fd = bpf_map__fd(dskel->maps.decap_addrs);

		err |= bpf_map_update_elem(fd, &d4, &one, 0);
		err |= bpf_map_update_elem(fd, &d6, &one, 0);
	}
	return err ? -1 : 0;
}

/* ---- expected outputs ---------------------------------------------------- */

/* dr: the same frame with the backend's MAC and the egress port's MAC. */
void dr_expect(struct pkt *exp, const struct pkt *in, const uint8_t *dmac,
		      const uint8_t *smac)
{
	*exp = *in;
	memcpy(exp->b, dmac, 6);
	memcpy(exp->b + 6, smac, 6);
}

const struct xlb_globals *globals_get(void)
{
	static struct xlb_cfg c;

	cfgslots_get(cfgw, &c);
	return &c.g;
}

int globals_set(const struct xlb_globals *g)
{
	struct xlb_cfg c;

	cfgslots_get(cfgw, &c);
	c.g = *g;
	return cfgslots_set(cfgw, &c);
}

/* The dr/tun tables' keyed hash of s's flow (p: their parameters, read
 * from dsr_params), or -1 when they cannot be read. */
static int spec_dsr_hash(const struct spec *s, struct xlb_dsr_params *p,
			 uint64_t *h)
{
	struct xlb_flow_key k = spec_key(s);
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsr_params), &zero, p))
		return -1;
	*h = xlb_dsr_hash_key(p, &k);
	return 0;
}

/* The hash of the outer source of s's flow in tun: from the dr/tun
 * tables' keyed hash (xlb_dsr_outer_hash). */
uint32_t spec_outer_hash(const struct spec *s)
{
	struct xlb_dsr_params p;
	uint64_t h;

	return spec_dsr_hash(s, &p, &h) ? 0 : xlb_dsr_outer_hash(h);
}

/* The outer source the data plane must pick for the flow of s. */
union xlb_addr tun_src(const struct spec *s, int outer_fam)
{
	const struct xlb_globals *g = globals_get();
	uint32_t h = spec_outer_hash(s);
	union xlb_addr a;

	memset(&a, 0, sizeof(a));
	if (outer_fam == 4)
		a.v4 = xlb_tun_src_v4(g->tun_src_v4, g->tun_src_v4_plen, h);
	else
		xlb_tun_src_v6(&g->tun_src_v6, g->tun_src_v6_plen, h, &a);
	return a;
}

/* tun: Ethernet to the backend, then the outer header, then in's IP packet. */
void tun_expect(struct pkt *exp, const struct pkt *in, const char *be,
		       const uint8_t *dmac, const struct spec *s)
{
	int ofam = strchr(be, ':') ? 6 : 4;
	size_t l3 = l3_of(in), ilen = in->len - l3;
	uint8_t nh = (in->b[l3] >> 4) == 4 ? 4 : 41;
	union xlb_addr src = tun_src(s, ofam), dst = A(be);
	char srcs[64];

	memset(exp, 0, sizeof(*exp));
	if (l3 == 18) {
		eth(exp, dmac, MAC_XA, 0x8100);
		put16(exp, get16(in->b + 14));
		put16(exp, ofam == 4 ? 0x0800 : 0x86dd);
	} else {
		eth(exp, dmac, MAC_XA, ofam == 4 ? 0x0800 : 0x86dd);
	}
	if (ofam == 4) {
		inet_ntop(AF_INET, &src.v4, srcs, sizeof(srcs));
		ip4(exp, srcs, be, nh, ilen, 0x4000, 0);
	} else {
		inet_ntop(AF_INET6, &src, srcs, sizeof(srcs));
		ip6(exp, srcs, be, nh, ilen);
	}
	(void)dst;
	put(exp, in->b + l3, ilen);
}

/* An ICMP error of type/code with info (the MTU of too-big) from the VIP
 * back to the client: MACs swapped, quoting the first quote bytes of in's
 * IP packet. too_big_expect and unreach_expect: the two the data plane
 * sends. */
void icmp_answer_expect(struct pkt *exp, const struct pkt *in,
			const struct spec *s, uint8_t type, uint8_t code,
			uint32_t info, size_t quote)
{
	size_t l3 = l3_of(in), at;

	memset(exp, 0, sizeof(*exp));
	if (l3 == 18) {
		eth(exp, MAC_CLIENT, MAC_XA, 0x8100);
		put16(exp, get16(in->b + 14));
		put16(exp, s->fam == 4 ? 0x0800 : 0x86dd);
	} else {
		eth(exp, MAC_CLIENT, MAC_XA, s->fam == 4 ? 0x0800 : 0x86dd);
	}
	if (s->fam == 4) {
		ip4(exp, s->dst, s->src, 1, 8 + quote, 0, 0);
		at = exp->len;
		put(exp, (uint8_t[]){ type, code, 0, 0, 0, 0 }, 6);
		put16(exp, info);
		put(exp, in->b + l3, quote);
		set16(exp->b + at + 2, fold(sum16(exp->b + at, 8 + quote, 0)));
	} else {
		ip6(exp, s->dst, s->src, 58, 8 + quote);
		at = exp->len;
		put(exp, (uint8_t[]){ type, code, 0, 0 }, 4);
		put32(exp, info);
		put(exp, in->b + l3, quote);
		set16(exp->b + at + 2,
		      l4_csum(exp->b + l3, exp->b + at, 8 + quote, 58));
	}
}

void too_big_expect(struct pkt *exp, const struct pkt *in,
		    const struct spec *s, uint32_t mtu)
{
	if (s->fam == 4)
		icmp_answer_expect(exp, in, s, 3, 4, mtu, 64);
	else
		icmp_answer_expect(exp, in, s, 2, 0, mtu, 128);
}

void unreach_expect(struct pkt *exp, const struct pkt *in,
		    const struct spec *s)
{
	if (s->fam == 4)
		icmp_answer_expect(exp, in, s, 3, 3, 0, 28);
	else
		icmp_answer_expect(exp, in, s, 1, 4, 0, 48);
}

/* An ICMP error from a router to the VIP about the reply VIP:vp -> C:cp of
 * flow s (quoting the IP header and 8 bytes of L4). */
void icmp_err_mk(struct pkt *p, const struct spec *s, uint8_t type,
			uint8_t code, uint32_t extra)
{
	struct spec rev = *s;
	struct pkt inner;
	size_t l3, at, qlen;

	rev.src = s->dst;
	rev.dst = s->src;
	rev.sport = s->dport;
	rev.dport = s->sport;
	pkt_mk(&inner, &rev);
	l3 = l3_of(&inner);
	qlen = (s->fam == 4 ? 20 : 40) + 8;

	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, s->fam == 4 ? 0x0800 : 0x86dd);
	if (s->fam == 4)
		ip4(p, ROUTER4, s->dst, 1, 8 + qlen, 0, 7);
	else
		ip6(p, "2001:db8::fe", s->dst, 58, 8 + qlen);
	at = p->len;
	put(p, (uint8_t[]){ type, code, 0, 0 }, 4);
	put32(p, extra);
	put(p, inner.b + l3, qlen);
	set16(p->b + at + 2, l4_csum(p->b + 14, p->b + at, 8 + qlen,
				     s->fam == 4 ? 1 : 58));
}

int fwd_dr(const struct spec *s, const uint8_t *mac, char *why, size_t n)
{
	struct pkt in, exp;

	pkt_mk(&in, s);
	dr_expect(&exp, &in, mac, MAC_XA);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
}

int fwd_tun(const struct spec *s, const char *be, const uint8_t *mac,
		   char *why, size_t n)
{
	struct pkt in, exp;

	pkt_mk(&in, s);
	tun_expect(&exp, &in, be, mac, s);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
}

void nat_clear(void)
{
	int fd = bpf_map__fd(skel->maps.nat_rev);
	struct xlb_flow_key k;

	flows_clear();
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
}

uint32_t nat_rev_count(void)
{
	int fd = bpf_map__fd(skel->maps.nat_rev);
	struct xlb_flow_key k, nk;
	uint32_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &nk) == 0) {
		k = nk;
		prev = &k;
		n++;
	}
	return n;
}

struct xlb_flow_key spec_key(const struct spec *s)
{
	struct xlb_flow_key k;

	memset(&k, 0, sizeof(k));
	k.src = A(s->src);
	k.dst = A(s->dst);
	k.sport_be = htons(s->sport);
	k.dport_be = htons(s->dport);
	k.proto = s->proto;
	k.family = s->fam == 4 ? XLB_AF_INET : XLB_AF_INET6;
	return k;
}

/* The dr/tun table of s's family (dsr_flows4, dsr_flows6), the bucket of
 * s's flow in it (index *i, read into *b) and the flow's tag. */
static int dsr_bucket(const struct spec *s, uint32_t *i, struct xlb_dsr_bucket *b,
		      uint32_t *tag)
{
	struct xlb_dsr_params p;
	uint64_t h;
	int fd = bpf_map__fd(s->fam == 4 ? skel->maps.dsr_flows4 : skel->maps.dsr_flows6);

	if (spec_dsr_hash(s, &p, &h))
		return -1;
	*i = xlb_dsr_index(h, s->fam == 4 ? p.buckets4 : p.buckets6);
	*tag = xlb_dsr_tag(h);
	return bpf_map_lookup_elem(fd, i, b) ? -1 : fd;
}

/* The slot of s's flow in its bucket (*b, index *i), or -1. */
static int dsr_slot(const struct spec *s, struct xlb_dsr_bucket *b, uint32_t *i)
{
	uint32_t tag;

	if (dsr_bucket(s, i, b, &tag) < 0)
		return -1;
	return xlb_dsr_find(b, tag);
}

int dsr_get(const struct spec *s, struct xlb_dsr_flow *d)
{
	struct xlb_dsr_bucket b;
	uint32_t i;
	int j;

	if ((j = dsr_slot(s, &b, &i)) < 0)
		return -1;
	d->backend_id = xlb_dsr_id_backend(b.id[j]);
	d->svc_id = xlb_dsr_id_svc(b.id[j]);
	return 0;
}

int dsr_id_get(const struct spec *s, uint64_t *id)
{
	struct xlb_dsr_bucket b;
	uint32_t i;
	int j;

	if ((j = dsr_slot(s, &b, &i)) < 0)
		return -1;
	*id = b.id[j];
	return 0;
}

int dsr_key_get(const struct spec *s, struct xlb_flow_key *k)
{
	struct xlb_dsr_bucket b;
	uint32_t i;
	int j;

	if ((j = dsr_slot(s, &b, &i)) < 0)
		return -1;
	if (s->fam == 4) {
		struct xlb_dsr_keys4 ks;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsr_keys4), &i, &ks))
			return -1;
		*k = xlb_flow_key_of4(&ks.k[j]);
	} else {
		struct xlb_dsr_keys6 ks;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsr_keys6), &i, &ks))
			return -1;
		*k = ks.k[j];
	}
	return 0;
}

int dsr_put(const struct spec *s, const struct xlb_dsr_flow *d)
{
	struct xlb_dsr_bucket b;
	uint32_t i, tag, v;
	int fd = dsr_bucket(s, &i, &b, &tag);

	if (fd < 0)
		return -1;
	v = xlb_dsr_victim(&b, tag, 0);
	b.id[v] = xlb_dsr_id(tag, d->svc_id, d->backend_id, 0);
	return bpf_map_update_elem(fd, &i, &b, 0);
}

int dsr_buckets_set(uint32_t n4, uint32_t n6)
{
	struct xlb_dsr_params p;
	uint32_t zero = 0;
	int fd = bpf_map__fd(skel->maps.dsr_params);

	if (bpf_map_lookup_elem(fd, &zero, &p))
		return -1;
	p.buckets4 = n4 ? n4 : bpf_map__max_entries(skel->maps.dsr_flows4);
	p.buckets6 = n6 ? n6 : bpf_map__max_entries(skel->maps.dsr_flows6);
	return bpf_map_update_elem(fd, &zero, &p, 0);
}

int dsr_bucket_held(const struct spec *s, uint32_t *want)
{
	struct bpf_map *m = s->fam == 4 ? skel->maps.dsr_flows4 : skel->maps.dsr_flows6;
	struct xlb_dsr_bucket b;
	uint32_t tag;
	int found = -1;

	if (dsr_bucket(s, want, &b, &tag) < 0)
		return -1;
	for (uint32_t i = 0; i < bpf_map__max_entries(m) && found < 0; i++)
		if (!bpf_map_lookup_elem(bpf_map__fd(m), &i, &b) &&
		    xlb_dsr_find(&b, tag) >= 0)
			found = (int)i;
	return found;
}

int dsr_bucket_mates(const struct spec *s, int cnt, uint16_t *sports)
{
	struct xlb_dsr_bucket b;
	uint32_t want, i, tag;
	struct spec t = *s;
	int got = 0;

	if (dsr_bucket(s, &want, &b, &tag) < 0)
		return -1;
	for (uint32_t p = s->sport; p <= 0xffff && got < cnt; p++) {
		t.sport = (uint16_t)p;
		if (dsr_bucket(&t, &i, &b, &tag) < 0)
			return -1;
		if (i == want)
			sports[got++] = t.sport;
	}
	return got == cnt ? 0 : -1;
}

int dsr_age_set(const struct spec *s, int32_t delta)
{
	struct xlb_dsr_bucket b;
	struct xlb_dsr_params p;
	uint32_t i, tag, zero = 0;
	int fd = dsr_bucket(s, &i, &b, &tag), j;

	if (fd < 0 || (j = xlb_dsr_find(&b, tag)) < 0 ||
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.dsr_params), &zero, &p))
		return -1;
	b.id[j] = xlb_dsr_id_aged(b.id[j], p.epoch + (uint32_t)delta);
	return bpf_map_update_elem(fd, &i, &b, 0);
}

/* A dr/tun table entry comes as a struct xlb_flow without a state, as xlbd
 * shows it (dataplane_flows_each). */
int flow_get(const struct spec *s, struct xlb_flow *f)
{
	struct xlb_flow_key k = spec_key(s);
	struct xlb_dsr_flow d;

	if (dsr_get(s, &d) == 0) {
		memset(f, 0, sizeof(*f));
		f->backend_id = d.backend_id;
		f->svc_id = d.svc_id;
		return 0;
	}
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, f);
}

/* Into the table that holds s's flow: a dr/tun table keeps f's backend
 * and service. */
int flow_put(const struct spec *s, const struct xlb_flow *f)
{
	struct xlb_flow_key k = spec_key(s);
	struct xlb_dsr_flow d = { .backend_id = f->backend_id,
				  .svc_id = f->svc_id };
	struct xlb_dsr_flow cur;

	if (dsr_get(s, &cur) == 0)
		return dsr_put(s, &d);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.flows), &k, f, 0);
}

/* Makes the flow of s look idle for age seconds. */
int flow_age(const struct spec *s, uint64_t age_s)
{
	struct xlb_flow f;
	struct timespec ts;

	if (flow_get(s, &f))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	f.last_seen_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec -
			 age_s * 1000000000ull;
	return flow_put(s, &f);
}

/* The reverse of s (the reply a server sends), payload and flags kept. */
struct spec spec_rev(const struct spec *s, const char *src, uint16_t sport,
			    const char *dst, uint16_t dport, uint8_t flags)
{
	struct spec r = *s;

	r.src = src;
	r.sport = sport;
	r.dst = dst;
	r.dport = dport;
	r.tcpflags = flags;
	return r;
}

/* The frame in with MACs dmac/smac, its tuple replaced by src:sport ->
 * dst:dport and one off its TTL (hop limit), every checksum computed from
 * scratch (a zero IPv4 UDP checksum stays zero). */
void xlat_expect(struct pkt *exp, const struct pkt *in,
			const uint8_t *dmac, const uint8_t *smac,
			const char *src, uint16_t sport, const char *dst,
			uint16_t dport)
{
	size_t l3 = l3_of(in), l4, len;
	union xlb_addr a = A(src), b = A(dst);
	uint8_t *ip, proto;
	int v4;

	*exp = *in;
	memcpy(exp->b, dmac, 6);
	memcpy(exp->b + 6, smac, 6);
	ip = exp->b + l3;
	v4 = (ip[0] >> 4) == 4;
	if (v4) {
		memcpy(ip + 12, &a.v4, 4);
		memcpy(ip + 16, &b.v4, 4);
		ip[8]--;                /* a routed hop */
		ip4_recsum_at(exp, l3);
		l4 = l3 + (ip[0] & 15) * 4;
		proto = ip[9];
		len = get16(ip + 2) - (l4 - l3);
	} else {
		memcpy(ip + 8, &a, 16);
		memcpy(ip + 24, &b, 16);
		ip[7]--;
		l4 = l3 + 40;
		proto = ip[6];
		len = get16(ip + 4);
		while (proto == 0 || proto == 43 || proto == 60) {  /* extension headers */
			size_t hl = (exp->b[l4 + 1] + 1u) * 8;

			proto = exp->b[l4];
			l4 += hl;
			len -= hl;
		}
	}
	set16(exp->b + l4, sport);
	set16(exp->b + l4 + 2, dport);
	if (proto == 17 && v4 && get16(exp->b + l4 + 6) == 0)
		return;
	set16(exp->b + l4 + l4_csum_off(proto), 0);
	{
		uint16_t c = l4_csum(ip, exp->b + l4, len, proto);

		if (proto == 17 && c == 0)
			c = 0xffff;
		set16(exp->b + l4 + l4_csum_off(proto), c);
	}
}

/* An ICMP error osrc -> odst (MACs dmac/smac) quoting the IP header and 8
 * bytes of L4 of the packet inner. */
void icmp_mk(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
		    const char *osrc, const char *odst, uint8_t type,
		    uint8_t code, uint32_t extra, const struct spec *inner)
{
	struct pkt ip;
	size_t at, qlen = (inner->fam == 4 ? 20 : 40) + 8;

	pkt_mk(&ip, inner);
	memset(p, 0, sizeof(*p));
	eth(p, dmac, smac, inner->fam == 4 ? 0x0800 : 0x86dd);
	if (inner->fam == 4)
		ip4(p, osrc, odst, 1, 8 + qlen, 0, 7);
	else
		ip6(p, osrc, odst, 58, 8 + qlen);
	at = p->len;
	put(p, (uint8_t[]){ type, code, 0, 0 }, 4);
	put32(p, extra);
	put(p, ip.b + 14, qlen);
	set16(p->b + at + 2, l4_csum(p->b + 14, p->b + at, 8 + qlen,
				     inner->fam == 4 ? 1 : 58));
}

/* One off the outer TTL (hop limit) of the untagged frame p, as nat and
 * fullnat forward ICMP errors too. */
void hop(struct pkt *p)
{
	if ((p->b[14] >> 4) == 4) {
		p->b[14 + 8]--;
		ip4_recsum(p);
	} else {
		p->b[14 + 7]--;
	}
}

/* One packet in (on ifindex ifin), the translated packet out. */
int nat_step(const struct spec *in_s, int ifin, int verdict, int reason,
		    const uint8_t *dmac, const uint8_t *smac, const char *src,
		    uint16_t sport, const char *dst, uint16_t dport, char *why,
		    size_t n)
{
	struct pkt in, exp;

	pkt_mk(&in, in_s);
	xlat_expect(&exp, &in, dmac, smac, src, sport, dst, dport);
	ingress = ifin;
	return expect(&in, verdict, &exp, reason, why, n);
}

uint16_t fnat_port(const struct spec *s)
{
	return LPORT_MIN + spec_hash(s) % (LPORT_MAX - LPORT_MIN + 1);
}

/* The fullnat local ports [lo, hi] (0, 0: the fixture's). */
void lport_range(uint16_t lo, uint16_t hi)
{
	struct xlb_globals g = *globals_get();

	g.lport_min = lo ? lo : LPORT_MIN;
	g.lport_max = hi ? hi : LPORT_MAX;
	globals_set(&g);
}

/* The fullnat UDP flow a (to VIP_F4:53) answered by its backend and
 * continued by its client: assured, no longer embryonic. */
int fnat_udp_assure(const struct spec *a, char *why, size_t n)
{
	struct xlb_flow f;
	struct spec r;
	uint16_t lp;

	if (flow_get(a, &f)) {
		snprintf(why, n, "no flow entry to answer");
		return -1;
	}
	lp = ntohs(f.lport_be);
	r = spec_rev(a, "198.18.0.12", 5353, LIP4, lp, 0);
	if (nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F4, 53,
		     CLIENT4, a->sport, why, n))
		return -1;
	if (nat_step(a, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, lp,
		     "198.18.0.12", 5353, why, n))
		return -1;
	if (flow_get(a, &f) || !(f.flags & XLB_FLOW_F_ASSURED)) {
		snprintf(why, n, "answered and continued, the flow is not assured");
		return -1;
	}
	return 0;
}

int want_state(const struct spec *s, uint8_t st, char *why, size_t n)
{
	struct xlb_flow f;

	if (flow_get(s, &f)) {
		snprintf(why, n, "no flow entry");
		return -1;
	}
	if (f.state != st) {
		snprintf(why, n, "flow state %u, want %u", f.state, st);
		return -1;
	}
	return 0;
}

void base4(struct pkt *p, uint8_t proto, size_t paylen)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = proto,
			  .sport = 40000, .dport = proto == 6 ? 80 : 53,
			  .paylen = paylen };

	pkt_mk(p, &s);
}

void base6(struct pkt *p, uint8_t proto, size_t paylen)
{
	struct spec s = { .fam = 6, .src = CLIENT6, .dst = VIP_DR6, .proto = proto,
			  .sport = 40000, .dport = proto == 6 ? 80 : 53,
			  .paylen = paylen };

	pkt_mk(p, &s);
}

/* Enters the lab, loads both programs and fills their maps; why says what
 * failed. Returns 0, 1 when the lab cannot be built here (skip), or -1. */
int fixture_setup(char *why, size_t n)
{
	if (lab_setup(why, n))
		return 1;
	ifx_xa = if_nametoindex("xa");
	ifx_ya = if_nametoindex("ya");
	ncpu = libbpf_num_possible_cpus();
	skel = xlb_bpf__open();
	if (!skel)
		return snprintf(why, n, "open xlb.bpf.o"), -1;
	fixture_hz = 0;
	if (!fixture_ns_clock && hz_learn(&fixture_hz, why, n))
		return -1;
	skel->rodata->xlb_hz = fixture_hz;
	/* The default 1M-entry flow table is preallocated: keep tests light. */
	bpf_map__set_max_entries(skel->maps.flows, 4096);
	bpf_map__set_max_entries(skel->maps.dsr_flows4, 1024);
	bpf_map__set_max_entries(skel->maps.dsr_flows6, 1024);
	bpf_map__set_max_entries(skel->maps.nat_rev, 4096);
	if (xlb_bpf__load(skel))
		return snprintf(why, n, "load xlb.bpf.o (verifier)"), -1;
	dskel = decap_bpf__open_and_load();
	if (!dskel)
		return snprintf(why, n, "load decap.bpf.o (verifier)"), -1;
	if (svcidx_setup())
		return snprintf(why, n, "map the service index: %s", strerror(errno)), -1;
	if (world_setup())
		return snprintf(why, n, "populate maps: %s", strerror(errno)), -1;
	return 0;
}

void fixture_teardown(void)
{
	svcidx_close(svcidx);
	svcslots_close(slots);
	cfgslots_close(cfgw);
	lcslots_close(lcw);
	decap_bpf__destroy(dskel);
	xlb_bpf__destroy(skel);
}

/* Service id's svc_flows entry, written whole: max, its ring of embryos
 * slots [base, base + len), no entries counted; the ring's slots emptied. */
void svc_flows_set(uint32_t id, uint64_t max, uint32_t base, uint32_t len)
{
	struct xlb_svc_flows c = { .max = max, .ring_base = base, .ring_len = len };
	struct xlb_flow_key none = { 0 };

	bpf_map_update_elem(bpf_map__fd(skel->maps.svc_flows), &id, &c, 0);
	for (uint32_t i = base; i < base + len; i++)
		bpf_map_update_elem(bpf_map__fd(skel->maps.embryos), &i, &none, 0);
}

struct xlb_svc_flows svc_flows_get(uint32_t id)
{
	struct xlb_svc_flows c = { 0 };

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.svc_flows), &id, &c);
	return c;
}

/* Guard event ev's count over every CPU. */
uint64_t guard_get(int ev)
{
	return percpu_sum(skel->maps.guard_stats, ev);
}

/* Sets the flood guard's rate (0: off) and starts its window afresh; pins
 * the test to its current CPU while a rate is set, the guard's window
 * being per CPU. */
void guard_rate(uint32_t rate)
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
	globals_set(&g);
	/* A fresh window: earlier rows' flows do not count. */
	memset(w, 0, sizeof(w));
	bpf_map_update_elem(bpf_map__fd(skel->maps.guard_win), &zero, w, 0);
}

/* ---- a value rewritten on another CPU under flowing packets ------------- */

#define TORN_SECONDS 2          /* how long the reader runs, at most */
#define TORN_FRAMES 2000000     /* how many frames, at most */

struct torn_run {
	int (*write)(uint64_t i);
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

/* The writer, on CPU 1: write(0), write(1), write(2)... until the reader
 * is done. */
static void *torn_writer(void *arg)
{
	struct torn_run *r = arg;

	pin_cpu(1);
	while (!r->stop && !r->err) {
		r->err = r->write(r->writes);
		r->writes++;
	}
	return NULL;
}

int torn_race(const struct pkt *in, int verdict, const struct pkt *exp,
	      int (*write)(uint64_t i), int (*reset)(void), const char *what,
	      char *why, size_t n)
{
	return torn_race_or(in, verdict, exp, -1, write, reset, what, why, n);
}

int torn_race_or(const struct pkt *in, int verdict, const struct pkt *exp,
		 int other, int (*write)(uint64_t i), int (*reset)(void),
		 const char *what, char *why, size_t n)
{
	struct torn_run r = { .write = write };
	uint64_t frames = 0, others = 0;
	struct pkt out;
	cpu_set_t all;
	pthread_t w;
	double end;
	int v, err = 0;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	if (pthread_create(&w, NULL, torn_writer, &r))
		return snprintf(why, n, "cannot start the writer"), -1;
	pthread_getaffinity_np(pthread_self(), sizeof(all), &all);
	pin_cpu(0);
	end = now_s() + TORN_SECONDS;
	while (frames < TORN_FRAMES && !r.err && (frames & 1023 || now_s() < end)) {
		err = run_prog(bpf_program__fd(skel->progs.xlb_xdp), in, &out,
			       ifx_xa, &v);
		frames++;
		if (!err && v == other) {
			others++;
			continue;
		}
		if (err || v != verdict || out.len != exp->len ||
		    memcmp(out.b, exp->b, exp->len)) {
			snprintf(why, n, "frame %llu of %llu, after %llu writes: %s, "
				 "verdict %s, %zu bytes: not the frame the %s all give",
				 (unsigned long long)frames,
				 (unsigned long long)TORN_FRAMES,
				 (unsigned long long)r.writes,
				 err ? strerror(-err) : "a value half rewritten",
				 vname(v), out.len, what);
			err = -1;
			break;
		}
		if (reset && reset()) {
			snprintf(why, n, "cannot reset after frame %llu",
				 (unsigned long long)frames);
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
	if (!err && other >= 0)
		printf("    (%llu frames, %llu %s, %llu rewrites)\n",
		       (unsigned long long)frames, (unsigned long long)others,
		       vname(other), (unsigned long long)r.writes);
	else if (!err)
		printf("    (%llu frames, %llu rewrites)\n",
		       (unsigned long long)frames, (unsigned long long)r.writes);
	return err;
}

int lru_recycle(struct bpf_map *m, const void *ka, const void *va,
		const void *kb, const void *vb, void *got, size_t vsize)
{
	int fd = bpf_map__fd(m);

	if (bpf_map_update_elem(fd, ka, va, BPF_ANY) ||
	    bpf_map_delete_elem(fd, ka) ||
	    bpf_map_update_elem(fd, kb, vb, BPF_ANY) ||
	    bpf_map_lookup_elem(fd, kb, got))
		return -errno;
	if (memcmp(got, vb, vsize))
		return -EUCLEAN;
	return bpf_map_delete_elem(fd, kb) ? -errno : 0;
}

/* The flow of torn_race_new_flows, forgotten after each frame. */
static struct xlb_flow_key race_k, race_rk;

static int race_forget(void)
{
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.flows), &race_k) ?:
	       bpf_map_delete_elem(bpf_map__fd(skel->maps.nat_rev), &race_rk);
}

int torn_race_new_flows(const struct spec *s, const struct pkt *in,
			const struct pkt *exp, int (*write)(uint64_t i),
			const char *what, char *why, size_t n)
{
	struct xlb_flow f;
	int err;

	err = write(0) ?: expect(in, XDP_TX_, exp, XLB_R_TX, why, n);
	if (!err && flow_get(s, &f)) {
		snprintf(why, n, "no flow entry");
		err = -1;
	}
	if (err)
		return err;
	race_k = spec_key(s);
	xlb_ct_rev_key(&race_k, &f, &race_rk);
	/* Under the other two values too: the same frame. */
	err = race_forget();
	for (uint64_t i = 1; i < 3; i++)
		err = err ?: write(i) ?: expect(in, XDP_TX_, exp, XLB_R_TX, why, n) ?:
		      race_forget();
	return err ?: torn_race(in, XDP_TX_, exp, write, race_forget, what, why, n);
}

/* ---- two frames of one flow at the same moment on two CPUs ---------------- */

#define PAIR_SECONDS 2          /* how long the rounds run, at most */
#define PAIR_ROUNDS 200000      /* how many rounds, at most */

struct pair_run {
	const struct pkt *in;
	int ifindex;
	volatile uint64_t go, done;     /* the round posted, the round run */
	volatile int stop;
	int err, verdict;
};

/* Spins about n rounds of a pause: the two CPUs' start in a round is
 * moved by a different amount each round, so that their frames meet at
 * every point of each other's path in turn. */
static void pair_spin(unsigned int n)
{
	for (volatile unsigned int i = 0; i < n; i++)
		;
}

/* The second CPU: frame in once per round posted in go. */
static void *pair_peer(void *arg)
{
	struct pair_run *r = arg;
	uint64_t seen = 0;
	struct pkt out;

	pin_cpu(1);
	while (!r->stop) {
		uint64_t g = r->go;

		if (g == seen)
			continue;
		seen = g;
		pair_spin((unsigned int)(g * 7) % 64);
		r->err = run_prog(bpf_program__fd(skel->progs.xlb_xdp), r->in,
				  &out, r->ifindex, &r->verdict);
		r->done = g;
	}
	return NULL;
}

int pair_race(const struct pkt *a, int ifa, int va, const struct pkt *b,
	      int ifb, int vb, int (*prep)(void),
	      int (*check)(char *why, size_t n), char *why, size_t n)
{
	struct pair_run r = { .in = b, .ifindex = ifb };
	uint64_t round = 0;
	struct pkt out;
	cpu_set_t all;
	pthread_t t;
	double end;
	int v, err = 0;

	if (ncpu < 2)
		return snprintf(why, n, "needs two CPUs"), 1;
	if (pthread_create(&t, NULL, pair_peer, &r))
		return snprintf(why, n, "cannot start the second CPU's thread"), -1;
	pthread_getaffinity_np(pthread_self(), sizeof(all), &all);
	pin_cpu(0);
	end = now_s() + PAIR_SECONDS;
	while (round < PAIR_ROUNDS && (round & 255 || now_s() < end)) {
		if (prep()) {
			snprintf(why, n, "cannot set up round %llu",
				 (unsigned long long)round + 1);
			err = -1;
			break;
		}
		r.go = ++round;
		pair_spin((unsigned int)(round * 13) % 64);
		err = run_prog(bpf_program__fd(skel->progs.xlb_xdp), a, &out,
			       ifa, &v);
		while (r.done != round)
			;
		if (err || r.err || v != va || r.verdict != vb) {
			snprintf(why, n, "round %llu: %s, verdicts %s and %s, "
				 "want %s and %s", (unsigned long long)round,
				 strerror(-(err ?: r.err)), vname(v),
				 vname(r.verdict), vname(va), vname(vb));
			err = -1;
			break;
		}
		err = check(why, n);
		if (err) {
			char at[64];

			snprintf(at, sizeof(at), " (round %llu)",
				 (unsigned long long)round);
			strncat(why, at, n - strlen(why) - 1);
			break;
		}
	}
	r.stop = 1;
	pthread_join(t, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	if (!err)
		printf("    (%llu rounds)\n", (unsigned long long)round);
	return err;
}
