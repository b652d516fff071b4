// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Fixture table for the XDP programs (xlb_xdp, xlb_decap): packets in, verdict
 * and packet out, through BPF_PROG_TEST_RUN inside a private network namespace
 * whose routes and permanent neighbours make route lookups deterministic. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "xlb_hash.h"
#include "xlb.skel.h"
#include "decap.skel.h"

#define XDP_ABORTED_ 0
#define XDP_DROP_    1
#define XDP_PASS_    2
#define XDP_TX_      3
#define XDP_REDIRECT_ 4

/* ---- the lab inside the test's own namespace ---------------------------- */

static const uint8_t MAC_CLIENT[6] = { 0x02, 0, 0, 0, 0, 0x01 }; /* router */
static const uint8_t MAC_XA[6] = { 0x02, 0, 0, 0, 0, 0x0a };     /* LB port */
static const uint8_t MAC_YA[6] = { 0x02, 0, 0, 0, 0, 0x1a };     /* 2nd port */
static const uint8_t MAC_B1[6] = { 0x02, 0, 0, 0, 1, 0x11 };
static const uint8_t MAC_B2[6] = { 0x02, 0, 0, 0, 1, 0x12 };
static const uint8_t MAC_B3[6] = { 0x02, 0, 0, 0, 1, 0x13 };
static const uint8_t MAC_B6_1[6] = { 0x02, 0, 0, 0, 6, 0x11 };
static const uint8_t MAC_B6_2[6] = { 0x02, 0, 0, 0, 6, 0x12 };
static const uint8_t MAC_B6_3[6] = { 0x02, 0, 0, 0, 6, 0x13 };
static const uint8_t MAC_Y1[6] = { 0x02, 0, 0, 0, 2, 0x11 };

#define CLIENT4 "198.18.0.1"
#define CLIENT6 "2001:db8::1"
#define ROUTER4 "198.18.0.254"

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
 * 198.18.0.99 has a route but no neighbour; 198.19.200.1 has no route. */
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

/* ---- packet builders ----------------------------------------------------- */

struct pkt {
	uint8_t b[4096];
	size_t len;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void put16(struct pkt *p, uint16_t v)
{
	v = htons(v);
	put(p, &v, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	v = htonl(v);
	put(p, &v, 4);
}

static void set16(uint8_t *at, uint16_t v)
{
	v = htons(v);
	memcpy(at, &v, 2);
}

static uint16_t get16(const uint8_t *at)
{
	uint16_t v;

	memcpy(&v, at, 2);
	return ntohs(v);
}

static uint32_t sum16(const uint8_t *d, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static union xlb_addr A(const char *s)
{
	union xlb_addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':'))
		inet_pton(AF_INET6, s, &a);
	else
		inet_pton(AF_INET, s, &a.v4);
	return a;
}

static void eth(struct pkt *p, const uint8_t *dst, const uint8_t *src,
		uint16_t proto)
{
	put(p, dst, 6);
	put(p, src, 6);
	put16(p, proto);
}

/* IPv4 header (no options) with a correct checksum. */
static void ip4(struct pkt *p, const char *src, const char *dst, uint8_t proto,
		uint16_t payload, uint16_t frag, uint16_t id)
{
	uint8_t tos = 0;
	size_t at = p->len;
	union xlb_addr s = A(src), d = A(dst);

	put(p, (uint8_t[]){ 0x45, tos }, 2);
	put16(p, 20 + payload);
	put16(p, id);
	put16(p, frag);
	put(p, (uint8_t[]){ 64, proto, 0, 0 }, 4);
	put(p, &s.v4, 4);
	put(p, &d.v4, 4);
	set16(p->b + at + 10, fold(sum16(p->b + at, 20, 0)));
}

static void ip6(struct pkt *p, const char *src, const char *dst, uint8_t nh,
		uint16_t payload)
{
	union xlb_addr s = A(src), d = A(dst);

	put32(p, 0x60000000);
	put16(p, payload);
	put(p, (uint8_t[]){ nh, 64 }, 2);
	put(p, &s, 16);
	put(p, &d, 16);
}

/* Checksum of the L4 segment at l4 (len bytes) under the IP header at l3. */
static uint16_t l4_csum(const uint8_t *l3, const uint8_t *l4, size_t len,
			uint8_t proto)
{
	uint32_t sum = 0;

	if ((l3[0] >> 4) == 4) {
		if (proto != 1)
			sum = sum16(l3 + 12, 8, 0) + proto + len;
	} else {
		sum = sum16(l3 + 8, 32, 0) + proto + len;
	}
	return fold(sum16(l4, len, sum));
}

static size_t l4_csum_off(uint8_t proto)
{
	return proto == 6 ? 16 : proto == 17 ? 6 : 2;
}

/* A frame client -> dst of family fam (4/6) carrying proto with paylen
 * payload bytes, all lengths and checksums right. vid != 0 adds a VLAN tag. */
struct spec {
	int fam;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	size_t paylen;
	uint16_t vid;
	uint16_t frag;          /* IPv4 frag_off; default DF */
	int nodf;
	uint8_t tcpflags;       /* 0: SYN */
	int udp_nocsum;         /* IPv4 UDP sent without checksum (0) */
};

static size_t l3_of(const struct pkt *p)
{
	return get16(p->b + 12) == 0x8100 ? 18 : 14;
}

static void mk(struct pkt *p, const struct spec *s)
{
	size_t l4len = (s->proto == 6 ? 20 : 8) + s->paylen, l3, l4, i;
	uint16_t frag = s->frag ? s->frag : (s->nodf ? 0 : 0x4000);

	memset(p, 0, sizeof(*p));
	if (s->vid) {
		eth(p, MAC_XA, MAC_CLIENT, 0x8100);
		put16(p, s->vid);
		put16(p, s->fam == 4 ? 0x0800 : 0x86dd);
	} else {
		eth(p, MAC_XA, MAC_CLIENT, s->fam == 4 ? 0x0800 : 0x86dd);
	}
	l3 = p->len;
	if (s->fam == 4)
		ip4(p, s->src, s->dst, s->proto, l4len, frag, 0x1234);
	else
		ip6(p, s->src, s->dst, s->proto == 1 ? 58 : s->proto, l4len);
	l4 = p->len;
	put16(p, s->sport);
	put16(p, s->dport);
	if (s->proto == 6) {
		put32(p, 1000);
		put32(p, 0);
		put(p, (uint8_t[]){ 0x50, s->tcpflags ? s->tcpflags : 0x02 }, 2);
		put16(p, 65535);
		put32(p, 0);
	} else {
		put16(p, l4len);
		put16(p, 0);
	}
	for (i = 0; i < s->paylen; i++)
		p->b[p->len++] = (uint8_t)(i * 7 + 3);
	if (!(s->udp_nocsum && s->proto == 17 && s->fam == 4))
		set16(p->b + l4 + l4_csum_off(s->proto),
		      l4_csum(p->b + l3, p->b + l4, l4len, s->proto));
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
		if (quoted)
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

static struct xlb_bpf *skel;
static struct decap_bpf *dskel;
static int ifx_xa, ifx_ya, ncpu;
static int ingress;             /* ingress ifindex of the next run; 0 = xa */

static uint64_t reason_get(int r)
{
	uint64_t v[ncpu], s = 0;
	uint32_t k = r;
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.reason_stats), &k, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		s += v[i];
	return s;
}

static uint64_t reasons_total(void)
{
	uint64_t s = 0;
	int r;

	for (r = 0; r < XLB_R_MAX; r++)
		s += reason_get(r);
	return s;
}

static struct xlb_counter counter_get(struct bpf_map *m, uint32_t id)
{
	struct xlb_counter v[ncpu], s = { 0, 0, 0 };
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(m), &id, v))
		return s;
	for (i = 0; i < ncpu; i++) {
		s.packets += v[i].packets;
		s.bytes += v[i].bytes;
		s.new_flows += v[i].new_flows;
	}
	return s;
}

static int run_prog(int fd, const struct pkt *in, struct pkt *out, int ifindex,
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

static const char *vname(int v)
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
static int expect_ex(int decap, const struct pkt *in, int verdict,
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

static int expect(const struct pkt *in, int verdict, const struct pkt *exp,
		  int reason, char *why, size_t n)
{
	return expect_ex(0, in, verdict, exp, reason, NULL, why, n);
}

/* ---- map set-up ---------------------------------------------------------- */

/* Sets a's bit in an addr_filter set, as the daemon does before it writes a
 * service or a backend (src/xlbd/dataplane.c). */
static int filter_set(uint32_t set, const union xlb_addr *a)
{
	uint32_t bit = xlb_filter_bit(a), k = set * XLB_FILTER_WORDS + bit / 64;
	int fd = bpf_map__fd(skel->maps.addr_filter);
	uint64_t w = 0;

	if (bpf_map_lookup_elem(fd, &k, &w))
		return -1;
	w |= 1ull << (bit % 64);
	return bpf_map_update_elem(fd, &k, &w, 0);
}

/* Writes service k -> v as the daemon does: the services map, then the
 * same entry under its id (svc_by_id). */
static int svc_write(const struct xlb_svc_key *k, const struct xlb_svc *v)
{
	struct xlb_svc_ent e = { .key = *k, .svc = *v };

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.services), k, v, 0))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.svc_by_id), &v->id, &e, 0);
}

/* Removes service k as the daemon does: by id first, then by key. */
static int svc_del(const struct xlb_svc_key *k)
{
	struct xlb_svc_ent e;
	struct xlb_svc v;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), k, &v))
		return -1;
	memset(&e, 0, sizeof(e));
	bpf_map_update_elem(bpf_map__fd(skel->maps.svc_by_id), &v.id, &e, 0);
	return bpf_map_delete_elem(bpf_map__fd(skel->maps.services), k);
}

static int svc_add(const char *vip, uint16_t port, uint8_t proto,
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
	if (filter_set(XLB_FILTER_VIP, &k.vip))
		return -1;
	return svc_write(&k, &v);
}

static int backend_set(uint32_t id, const char *addr, uint8_t flags,
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

static int backend_port(uint32_t id, const char *addr, uint16_t port,
			uint32_t svc)
{
	struct xlb_backend b;

	memset(&b, 0, sizeof(b));
	b.addr = A(addr);
	b.family = strchr(addr, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	b.flags = XLB_BACKEND_F_ACTIVE;
	b.port_be = htons(port);
	b.svc_id = svc;
	if (filter_set(XLB_FILTER_BACKEND, &b.addr))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.backends), &id, &b, 0);
}

static int backend_flags(uint32_t id, uint8_t flags)
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
static int table_set(uint32_t svc, uint32_t size, const uint32_t *ids,
		     uint32_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	int fd, err = 0;
	uint32_t i;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "maglev", 4, 4, size, &o);
	if (fd < 0)
		return fd;
	for (i = 0; i < size && !err; i++)
		err = bpf_map_update_elem(fd, &i, &ids[i % n], 0);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.maglev_outer),
					  &svc, &fd, 0);
	close(fd);
	return err;
}

static int table_one(uint32_t svc, uint32_t id)
{
	return table_set(svc, 13, &id, 1);
}

static void flows_clear(void)
{
	int fd = bpf_map__fd(skel->maps.flows);
	struct xlb_flow_key k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
}

static int flow_backend(const struct spec *s, uint32_t *bid)
{
	struct xlb_flow_key k;
	struct xlb_flow f;

	memset(&k, 0, sizeof(k));
	k.src = A(s->src);
	k.dst = A(s->dst);
	k.sport_be = htons(s->sport);
	k.dport_be = htons(s->dport);
	k.proto = s->proto;
	k.family = s->fam == 4 ? XLB_AF_INET : XLB_AF_INET6;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, &f))
		return -1;
	*bid = f.backend_id;
	return 0;
}

static uint32_t spec_hash(const struct spec *s)
{
	union xlb_addr a = A(s->src), b = A(s->dst);

	return xlb_flow_hash(&a, &b, htons(s->sport), htons(s->dport), s->proto);
}

/* Services and backends of the fixture world. */
enum {
	S_DR4_TCP = 1, S_DR4_UDP, S_DR6_TCP, S_DR6_UDP, S_TUN4, S_TUN6,
	S_ALLPORTS, S_STICKY, S_EMPTY, S_REDIR, S_TUN4IN6, S_NONEIGH,
	S_NOROUTE, S_NAT, S_TUN6IN4,
	S_N4T, S_N4U, S_N6T, S_F4T, S_F4U, S_F6U, S_F6T, S_LC,
};
enum { B1 = 1, B2, B3, B6_1, B6_2, B6_3, BY1, BNN, BNR,
       BN_Y, BN_2, BN6_1, BF_Y, BF_2, BF6_2, BF6_1, BL1, BL2, BL3 };

#define VIP_DR4 "198.18.0.100"
#define VIP_TUN4 "198.18.0.101"
#define VIP_ALL "198.18.0.102"
#define VIP_STICKY "198.18.0.103"
#define VIP_EMPTY "198.18.0.104"
#define VIP_REDIR "198.18.0.105"
#define VIP_NONEIGH "198.18.0.106"
#define VIP_NOROUTE "198.18.0.107"
#define VIP_NAT "198.18.0.108"
#define VIP_N4 "198.18.0.110"
#define VIP_F4 "198.18.0.111"
#define VIP_N6 "2001:db8::110"
#define VIP_F6 "2001:db8::111"
#define VIP_LC "198.18.0.112"
#define LIP4 "198.18.1.2"
#define LIP6 "2001:db8::2"
#define LPORT_MIN 20000
#define LPORT_MAX 20999
#define VIP_DR6 "2001:db8::100"
#define VIP_TUN6 "2001:db8::101"

static int world_setup(void)
{
	struct xlb_globals g;
	uint32_t zero = 0;
	int err = 0;

	err |= backend_set(B1, "198.18.0.11", XLB_BACKEND_F_ACTIVE, S_DR4_TCP);
	err |= backend_set(B2, "198.18.0.12", XLB_BACKEND_F_ACTIVE, S_DR4_UDP);
	err |= backend_set(B3, "198.18.0.13", XLB_BACKEND_F_ACTIVE, S_TUN4);
	err |= backend_set(B6_1, "2001:db8::11", XLB_BACKEND_F_ACTIVE, S_DR6_TCP);
	err |= backend_set(B6_2, "2001:db8::12", XLB_BACKEND_F_ACTIVE, S_DR6_UDP);
	err |= backend_set(B6_3, "2001:db8::13", XLB_BACKEND_F_ACTIVE, S_TUN6);
	err |= backend_set(BY1, "198.18.1.11", XLB_BACKEND_F_ACTIVE, S_REDIR);
	err |= backend_set(BNN, "198.18.0.99", XLB_BACKEND_F_ACTIVE, S_NONEIGH);
	err |= backend_set(BNR, "198.19.200.1", XLB_BACKEND_F_ACTIVE, S_NOROUTE);

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
	{
		union xlb_addr l4 = A(LIP4), l6 = A(LIP6);
		uint32_t i4 = 0, i6 = XLB_LIP_V6_BASE;
		int fd = bpf_map__fd(skel->maps.lips);

		err |= bpf_map_update_elem(fd, &i4, &l4, 0);
		err |= bpf_map_update_elem(fd, &i6, &l6, 0);
	}

	memset(&g, 0, sizeof(g));
	g.lport_min = LPORT_MIN;
	g.lport_max = LPORT_MAX;
	g.n_lips_v4 = 1;
	g.n_lips_v6 = 1;
	g.tun_src_v4 = A("198.18.0.0").v4;
	g.tun_src_v4_plen = 24;
	g.tun_src_v6 = A("2001:db8:0:1::");
	g.tun_src_v6_plen = 64;
	err |= bpf_map_update_elem(bpf_map__fd(skel->maps.globals), &zero, &g, 0);

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
static void dr_expect(struct pkt *exp, const struct pkt *in, const uint8_t *dmac,
		      const uint8_t *smac)
{
	*exp = *in;
	memcpy(exp->b, dmac, 6);
	memcpy(exp->b + 6, smac, 6);
}

static const struct xlb_globals *globals_get(void)
{
	static struct xlb_globals g;
	uint32_t zero = 0;

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.globals), &zero, &g);
	return &g;
}

/* The outer source the data plane must pick for the flow of s. */
static union xlb_addr tun_src(const struct spec *s, int outer_fam)
{
	const struct xlb_globals *g = globals_get();
	union xlb_addr a;

	memset(&a, 0, sizeof(a));
	if (outer_fam == 4)
		a.v4 = xlb_tun_src_v4(g->tun_src_v4, g->tun_src_v4_plen,
				      spec_hash(s));
	else
		xlb_tun_src_v6(&g->tun_src_v6, g->tun_src_v6_plen, spec_hash(s),
			       &a);
	return a;
}

/* tun: Ethernet to the backend, then the outer header, then in's IP packet. */
static void tun_expect(struct pkt *exp, const struct pkt *in, const char *be,
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

/* ICMP too big from the VIP back to the client: MACs swapped, quoting the
 * first bytes of in's IP packet. */
static void too_big_expect(struct pkt *exp, const struct pkt *in,
			   const struct spec *s, uint32_t mtu)
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
		ip4(exp, s->dst, s->src, 1, 8 + 64, 0, 0);
		at = exp->len;
		put(exp, (uint8_t[]){ 3, 4, 0, 0, 0, 0 }, 6);
		put16(exp, mtu);
		put(exp, in->b + l3, 64);
		set16(exp->b + at + 2, fold(sum16(exp->b + at, 72, 0)));
	} else {
		ip6(exp, s->dst, s->src, 58, 8 + 128);
		at = exp->len;
		put(exp, (uint8_t[]){ 2, 0, 0, 0 }, 4);
		put32(exp, mtu);
		put(exp, in->b + l3, 128);
		set16(exp->b + at + 2,
		      l4_csum(exp->b + l3, exp->b + at, 136, 58));
	}
}

/* An ICMP error from a router to the VIP about the reply VIP:vp -> C:cp of
 * flow s (quoting the IP header and 8 bytes of L4). */
static void icmp_err_mk(struct pkt *p, const struct spec *s, uint8_t type,
			uint8_t code, uint32_t extra)
{
	struct spec rev = *s;
	struct pkt inner;
	size_t l3, at, qlen;

	rev.src = s->dst;
	rev.dst = s->src;
	rev.sport = s->dport;
	rev.dport = s->sport;
	mk(&inner, &rev);
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

/* ---- rows ---------------------------------------------------------------- */

#define ROW(name) static int name(char *why, size_t n)

static int fwd_dr(const struct spec *s, const uint8_t *mac, char *why, size_t n)
{
	struct pkt in, exp;

	mk(&in, s);
	dr_expect(&exp, &in, mac, MAC_XA);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
}

ROW(r_dr4_tcp)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40000, 80, 100, 0, 0, 0, 0, 0 };

	return fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_dr4_udp)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 17, 40000, 53, 30, 0, 0, 0, 0, 0 };

	return fwd_dr(&s, MAC_B2, why, n);
}

ROW(r_dr6_tcp)
{
	struct spec s = { 6, CLIENT6, VIP_DR6, 6, 40000, 80, 100, 0, 0, 0, 0, 0 };

	return fwd_dr(&s, MAC_B6_1, why, n);
}

ROW(r_dr6_udp)
{
	struct spec s = { 6, CLIENT6, VIP_DR6, 17, 40000, 53, 30, 0, 0, 0, 0, 0 };

	return fwd_dr(&s, MAC_B6_2, why, n);
}

ROW(r_dr4_vlan)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40001, 80, 10, 42, 0, 0, 0, 0 };

	return fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_dr_redirect)
{
	struct spec s = { 4, CLIENT4, VIP_REDIR, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in, exp;

	mk(&in, &s);
	dr_expect(&exp, &in, MAC_Y1, MAC_YA);
	return expect(&in, XDP_REDIRECT_, &exp, XLB_R_REDIRECT, why, n);
}

ROW(r_allports)
{
	struct spec s = { 4, CLIENT4, VIP_ALL, 6, 40000, 8443, 10, 0, 0, 0, 0, 0 };

	if (fwd_dr(&s, MAC_B1, why, n))
		return -1;
	s.dport = 22;
	return fwd_dr(&s, MAC_B1, why, n);
}

ROW(r_allports_proto)
{
	/* The all-ports service is TCP only: UDP to the same VIP is not ours. */
	struct spec s = { 4, CLIENT4, VIP_ALL, 17, 40000, 53, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

static int fwd_tun(const struct spec *s, const char *be, const uint8_t *mac,
		   char *why, size_t n)
{
	struct pkt in, exp;

	mk(&in, s);
	tun_expect(&exp, &in, be, mac, s);
	return expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
}

ROW(r_tun4)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 40000, 80, 100, 0, 0, 0, 0, 0 };
	union xlb_addr a, b;
	unsigned i;

	if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n))
		return -1;
	/* The outer source carries flow bits: some other flow must differ,
	 * and all stay inside 198.18.0.0/24. */
	a = tun_src(&s, 4);
	for (i = 1; i < 8; i++) {
		s.sport = 40000 + i;
		b = tun_src(&s, 4);
		if ((ntohl(b.v4) >> 8) != (198u << 16 | 18u << 8)) {
			snprintf(why, n, "outer source outside the prefix");
			return -1;
		}
		if (fwd_tun(&s, "198.18.0.13", MAC_B3, why, n))
			return -1;
		if (b.v4 != a.v4)
			return 0;
	}
	snprintf(why, n, "outer source never varies across flows");
	return -1;
}

ROW(r_tun6)
{
	struct spec s = { 6, CLIENT6, VIP_TUN6, 6, 40000, 80, 100, 0, 0, 0, 0, 0 };
	union xlb_addr a, b;

	if (fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n))
		return -1;
	a = tun_src(&s, 6);
	s.sport = 40001;
	if (fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n))
		return -1;
	b = tun_src(&s, 6);
	if (memcmp(&a, &b, 8) || !memcmp(&a, &b, 16)) {
		snprintf(why, n, "outer v6 source: prefix changed or host part constant");
		return -1;
	}
	return 0;
}

ROW(r_tun4in6)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 17, 40000, 53, 40, 0, 0, 0, 0, 0 };

	return fwd_tun(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_tun6in4)
{
	struct spec s = { 6, CLIENT6, VIP_TUN6, 17, 40000, 53, 40, 0, 0, 0, 0, 0 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_tun4_vlan)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 40100, 80, 50, 42, 0, 0, 0, 0 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_tun6in4_vlan)
{
	struct spec s = { 6, CLIENT6, VIP_TUN6, 17, 40100, 53, 50, 42, 0, 0, 0, 0 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_too_big6_vlan)
{
	struct spec s = { 6, CLIENT6, VIP_TUN6, 6, 45010, 80, 1430, 42, 0, 0, 0, 0 };
	struct pkt in, exp;

	mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1460);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_tun_no_src)
{
	/* Zeroed globals: no tunnel source configured, nothing is sent. */
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 40200, 80, 10, 0, 0, 0, 0, 0 };
	struct xlb_globals saved = *globals_get(), z;
	uint32_t zero = 0;
	struct pkt in;
	int fd = bpf_map__fd(skel->maps.globals), err;

	memset(&z, 0, sizeof(z));
	bpf_map_update_elem(fd, &zero, &z, 0);
	mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_MODE, why, n);
	bpf_map_update_elem(fd, &zero, &saved, 0);
	return err;
}

ROW(r_sticky)
{
	struct spec a = { 4, CLIENT4, VIP_STICKY, 6, 41000, 80, 10, 0, 0, 0, 0, 0 };
	struct spec b = a;
	struct xlb_counter c0, c1;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	c0 = counter_get(skel->maps.svc_stats, S_STICKY);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	a.tcpflags = 0x10;      /* the flow goes on (a SYN would reschedule) */
	if (fwd_dr(&a, MAC_B1, why, n)) {
		strncat(why, " (existing flow moved)", n - strlen(why) - 1);
		return -1;
	}
	b.sport = 41001;
	err = fwd_dr(&b, MAC_B2, why, n);
	c1 = counter_get(skel->maps.svc_stats, S_STICKY);
	table_one(S_STICKY, B1);
	if (err)
		return -1;
	if (c1.packets - c0.packets != 3 || c1.new_flows - c0.new_flows != 2) {
		snprintf(why, n, "svc counters: %llu packets, %llu new flows (want 3, 2)",
			 (unsigned long long)(c1.packets - c0.packets),
			 (unsigned long long)(c1.new_flows - c0.new_flows));
		return -1;
	}
	return 0;
}

ROW(r_drain)
{
	/* Weight 0: the backend stays ACTIVE but leaves the table. */
	struct spec a = { 4, CLIENT4, VIP_STICKY, 6, 42000, 80, 10, 0, 0, 0, 0, 0 };
	struct spec b = a;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	a.tcpflags = 0x10;      /* the flow goes on (a SYN would reschedule) */
	err = fwd_dr(&a, MAC_B1, why, n);
	b.sport = 42001;
	if (!err)
		err = fwd_dr(&b, MAC_B2, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_deleted)
{
	struct spec a = { 4, CLIENT4, VIP_STICKY, 6, 43000, 80, 10, 0, 0, 0, 0, 0 };
	uint32_t bid = 0;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&a, MAC_B1, why, n))
		return -1;
	backend_flags(B1, 0);
	table_one(S_STICKY, B2);
	err = fwd_dr(&a, MAC_B2, why, n);
	backend_flags(B1, XLB_BACKEND_F_ACTIVE);
	table_one(S_STICKY, B1);
	if (err)
		return -1;
	if (flow_backend(&a, &bid) || bid != B2) {
		snprintf(why, n, "flow entry not updated to the new backend (%u)", bid);
		return -1;
	}
	return 0;
}

/* An existing flow finds its service by id (svc_by_id) only while that
 * gives what the services map would: a mode change applies at once, a
 * deleted service passes its flows, an id given to another VIP does not
 * take them over, and a missing svc_by_id entry falls back to the map. */
ROW(r_flow_svc_by_id)
{
	struct spec a = { 4, CLIENT4, "198.18.0.113", 6, 43100, 80, 10, 0, 0, 0, 0, 0 };
	struct xlb_svc_key k;
	struct xlb_svc v;
	struct pkt in;
	uint32_t id = 40, zero_ent[sizeof(struct xlb_svc_ent) / 4] = { 0 };
	int err;

	if (svc_add(a.dst, 80, 6, id, XLB_MODE_DR, 13) || table_one(id, B1))
		return snprintf(why, n, "cannot add the service"), -1;
	memset(&k, 0, sizeof(k));
	k.vip = A(a.dst);
	k.port_be = htons(80);
	k.proto = 6;
	k.family = XLB_AF_INET;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.services), &k, &v);
	mk(&in, &a);
	err = fwd_dr(&a, MAC_B1, why, n);
	v.mode = XLB_MODE_PROXY;
	svc_write(&k, &v);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	v.mode = XLB_MODE_DR;
	svc_write(&k, &v);
	bpf_map_update_elem(bpf_map__fd(skel->maps.svc_by_id), &id, zero_ent, 0);
	err = err ?: fwd_dr(&a, MAC_B1, why, n);
	svc_write(&k, &v);
	svc_del(&k);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	svc_add("198.18.0.114", 80, 6, id, XLB_MODE_DR, 13);
	err = err ?: expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	k.vip = A("198.18.0.114");
	svc_del(&k);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer), &id);
	return err;
}

ROW(r_maglev_slots)
{
	/* Slot i -> B1 for even i, B2 for odd: the hash in xlb_hash.h must
	 * predict every choice. */
	const uint32_t ids[2] = { B1, B2 };
	struct spec s = { 4, CLIENT4, VIP_STICKY, 6, 0, 80, 10, 0, 0, 0, 0, 0 };
	int i, seen[2] = { 0, 0 }, err = 0;

	flows_clear();
	table_set(S_STICKY, 13, ids, 2);
	for (i = 0; i < 32 && !err; i++) {
		uint32_t slot, bid = 0;

		s.sport = 44000 + i;
		slot = spec_hash(&s) % 13;
		seen[slot & 1] = 1;
		err = fwd_dr(&s, slot & 1 ? MAC_B2 : MAC_B1, why, n);
		if (!err && (flow_backend(&s, &bid) || bid != ids[slot & 1])) {
			snprintf(why, n, "flow table holds backend %u", bid);
			err = -1;
		}
	}
	table_one(S_STICKY, B1);
	if (!err && !(seen[0] && seen[1])) {
		snprintf(why, n, "32 flows all hashed to one backend");
		err = -1;
	}
	return err;
}

/* Sets the scheduler flags (and rr sequence length) of the VIP_STICKY
 * service; 0, 0 is Maglev again. */
/* Sets the scheduler flags and seq_len of the tcp service vip:80. */
static int svc_sched(const char *vip, uint8_t flags, uint16_t seq_len)
{
	struct xlb_svc_key k;
	struct xlb_svc v;
	int fd = bpf_map__fd(skel->maps.services);

	memset(&k, 0, sizeof(k));
	k.vip = A(vip);
	k.port_be = htons(80);
	k.proto = 6;
	k.family = XLB_AF_INET;
	if (bpf_map_lookup_elem(fd, &k, &v))
		return -1;
	v.flags = flags;
	v.seq_len = seq_len;
	return svc_write(&k, &v);
}

static int sticky_sched(uint8_t flags, uint16_t seq_len)
{
	return svc_sched(VIP_STICKY, flags, seq_len);
}

ROW(r_sched_sh)
{
	/* sh: the slot is xlb_src_hash(client) % 13, whatever the ports; the
	 * table alternates B1/B2, so two clients of different slot parity
	 * reach different backends. */
	static const char *const clients[] = { "198.18.0.1", "198.18.0.3",
		"198.18.0.4", "198.18.0.5", "198.18.0.6", "198.18.0.7" };
	const uint32_t ids[2] = { B1, B2 };
	struct spec s = { 4, CLIENT4, VIP_STICKY, 6, 0, 80, 10, 0, 0, 0, 0, 0 };
	int seen[2] = { 0, 0 }, err = 0;

	flows_clear();
	table_set(S_STICKY, 13, ids, 2);
	sticky_sched(XLB_SVC_F_SH, 0);
	for (size_t c = 0; c < 6 && !err; c++) {
		union xlb_addr a = A(clients[c]);
		uint32_t slot = xlb_src_hash(&a) % 13, bid = 0;

		s.src = clients[c];
		seen[slot & 1] = 1;
		for (int port = 0; port < 4 && !err; port++) {
			s.sport = (uint16_t)(45000 + 7 * port + c);
			err = fwd_dr(&s, slot & 1 ? MAC_B2 : MAC_B1, why, n);
			if (!err && (flow_backend(&s, &bid) || bid != ids[slot & 1])) {
				snprintf(why, n, "%s:%u: flow table holds backend %u",
					 clients[c], s.sport, bid);
				err = -1;
			}
		}
	}
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	if (!err && !(seen[0] && seen[1])) {
		snprintf(why, n, "6 clients all hashed to one backend");
		err = -1;
	}
	return err;
}

ROW(r_sched_rr)
{
	/* wrr 2:1: the daemon's sequence B1 B1 B2 (seq_len 3) repeats over
	 * the 13 slots; new flows walk it in order, existing ones stay. */
	const uint32_t ids[3] = { B1, B1, B2 };
	static const uint8_t *const want[7] = { MAC_B1, MAC_B1, MAC_B2, MAC_B1,
						MAC_B1, MAC_B2, MAC_B1 };
	struct spec s = { 4, CLIENT4, VIP_STICKY, 6, 0, 80, 10, 0, 0, 0, 0, 0 };
	uint32_t key = S_STICKY, *zero = calloc(ncpu, sizeof(uint32_t));
	int err = 0;

	if (!zero)
		return -1;
	flows_clear();
	table_set(S_STICKY, 13, ids, 3);
	sticky_sched(XLB_SVC_F_RR, 3);
	bpf_map_update_elem(bpf_map__fd(skel->maps.rr_pos), &key, zero, 0);
	free(zero);
	for (int i = 0; i < 7 && !err; i++) {
		s.sport = (uint16_t)(46000 + i);
		err = fwd_dr(&s, want[i], why, n);
		if (err)
			snprintf(why + strlen(why), n - strlen(why), " (new flow %d)", i);
	}
	/* The first flow again: its entry holds, the sequence does not move. */
	s.sport = 46000;
	if (!err)
		err = fwd_dr(&s, MAC_B1, why, n);
	s.sport = 46007;
	if (!err)
		err = fwd_dr(&s, MAC_B1, why, n);
	sticky_sched(0, 0);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_no_backend)
{
	struct spec s = { 4, CLIENT4, VIP_EMPTY, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_BACKEND, why, n);
}

ROW(r_no_backend_slot)
{
	/* The table names a backend id that was never configured. */
	struct spec s = { 4, CLIENT4, VIP_EMPTY, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;
	int err;

	table_one(S_EMPTY, 4000);
	mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_BACKEND, why, n);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.maglev_outer),
			    &(uint32_t){ S_EMPTY });
	return err;
}

ROW(r_no_neigh)
{
	struct spec s = { 4, CLIENT4, VIP_NONEIGH, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_NEIGH, why, n);
}

ROW(r_no_route)
{
	struct spec s = { 4, CLIENT4, VIP_NOROUTE, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_FIB, why, n);
}

ROW(r_bad_mode)
{
	struct spec s = { 4, CLIENT4, VIP_NAT, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_MODE, why, n);
}

ROW(r_too_big4)
{
	/* 1490-byte packet + 20 outer > 1500: tell the client 1480. */
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 45000, 80, 1450, 0, 0, 0, 0, 0 };
	struct pkt in, exp;

	mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1480);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_too_big4_nodf)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 45001, 80, 1450, 0, 0, 1, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_TOO_BIG, why, n);
}

ROW(r_too_big6)
{
	/* 1490-byte packet + 40 outer > 1500: tell the client 1460. */
	struct spec s = { 6, CLIENT6, VIP_TUN6, 6, 45000, 80, 1430, 0, 0, 0, 0, 0 };
	struct pkt in, exp;

	mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1460);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_tun4_fits)
{
	/* 1480 + 20 = 1500: exactly the MTU, still tunnelled. */
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 45002, 80, 1440, 0, 0, 0, 0, 0 };

	return fwd_tun(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_icmp_flow)
{
	/* The flow sits on B1; the table now says B2: the error must follow
	 * the flow table, and must not create or move any flow. */
	struct spec s = { 4, CLIENT4, VIP_STICKY, 6, 46000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in, exp;
	int err;

	flows_clear();
	table_one(S_STICKY, B1);
	if (fwd_dr(&s, MAC_B1, why, n))
		return -1;
	table_one(S_STICKY, B2);
	icmp_err_mk(&in, &s, 3, 4, 1400);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
	table_one(S_STICKY, B1);
	return err;
}

ROW(r_icmp_noflow)
{
	/* No flow entry: the Maglev choice for the client's tuple. */
	struct spec s = { 4, CLIENT4, VIP_STICKY, 6, 46001, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in, exp;
	uint32_t bid;
	int err;

	flows_clear();
	table_one(S_STICKY, B2);
	icmp_err_mk(&in, &s, 11, 0, 0);
	dr_expect(&exp, &in, MAC_B2, MAC_XA);
	err = expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
	table_one(S_STICKY, B1);
	if (!err && flow_backend(&s, &bid) == 0) {
		snprintf(why, n, "an ICMP error created a flow entry");
		return -1;
	}
	return err;
}

ROW(r_icmp6_flow)
{
	struct spec s = { 6, CLIENT6, VIP_DR6, 6, 46002, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in, exp;

	icmp_err_mk(&in, &s, 2, 0, 1280);
	dr_expect(&exp, &in, MAC_B6_1, MAC_XA);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_icmp_tun)
{
	/* Tunnelled like the flow's data: same backend, same outer source. */
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 46003, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in, exp;

	icmp_err_mk(&in, &s, 3, 4, 1400);
	tun_expect(&exp, &in, "198.18.0.13", MAC_B3, &s);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_icmp_not_vip)
{
	/* An error about some other host's flow goes to the stack. */
	struct spec s = { 4, CLIENT4, "198.18.0.200", 6, 46004, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	icmp_err_mk(&in, &s, 3, 4, 1400);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_echo)
{
	struct pkt in;
	size_t at;

	memset(&in, 0, sizeof(in));
	eth(&in, MAC_XA, MAC_CLIENT, 0x0800);
	ip4(&in, CLIENT4, VIP_DR4, 1, 16, 0, 1);
	at = in.len;
	put(&in, (uint8_t[]){ 8, 0, 0, 0, 0, 1, 0, 1, 'x', 'l', 'b', '!', 0, 0, 0, 0 }, 16);
	set16(in.b + at + 2, fold(sum16(in.b + at, 16, 0)));
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_ndp)
{
	/* Neighbour solicitation for the VIP must reach the stack. */
	struct pkt in;
	size_t at;

	memset(&in, 0, sizeof(in));
	eth(&in, MAC_XA, MAC_CLIENT, 0x86dd);
	ip6(&in, CLIENT6, VIP_DR6, 58, 24);
	at = in.len;
	put(&in, (uint8_t[]){ 135, 0, 0, 0, 0, 0, 0, 0 }, 8);
	put(&in, &(union xlb_addr){ .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 } }, 16);
	set16(in.b + at + 2, l4_csum(in.b + 14, in.b + at, 24, 58));
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_not_vip)
{
	struct spec s = { 4, CLIENT4, "198.18.0.200", 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

/* The address filter only ever saves lookups: an address whose bit it
 * shares with a VIP (or a backend) still gets the right answer. */
ROW(r_filter_collision)
{
	struct spec s = { 4, CLIENT4, "198.18.0.200", 6, 40000, 80, 10, 0, 0, 0, 0, 0 };
	union xlb_addr other = A("198.18.0.200"), client = A(CLIENT4);
	int fd = bpf_map__fd(skel->maps.addr_filter), err;
	uint32_t kv = xlb_filter_bit(&other) / 64;
	uint32_t kb = XLB_FILTER_WORDS + xlb_filter_bit(&client) / 64;
	uint64_t wv = 0, wb = 0;
	struct pkt in;

	if (bpf_map_lookup_elem(fd, &kv, &wv) || bpf_map_lookup_elem(fd, &kb, &wb))
		return snprintf(why, n, "cannot read addr_filter"), -1;
	filter_set(XLB_FILTER_VIP, &other);
	filter_set(XLB_FILTER_BACKEND, &client);
	mk(&in, &s);
	err = expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
	s.dst = VIP_DR4;
	err = err ?: fwd_dr(&s, MAC_B1, why, n);
	bpf_map_update_elem(fd, &kv, &wv, 0);
	bpf_map_update_elem(fd, &kb, &wb, 0);
	return err;
}

ROW(r_not_vip_port)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40000, 81, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

ROW(r_not_vip6)
{
	struct spec s = { 6, CLIENT6, "2001:db8::200", 17, 40000, 53, 10, 0, 0, 0, 0, 0 };
	struct pkt in;

	mk(&in, &s);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

/* ---- nat and fullnat ----------------------------------------------------- */

static void ip4_recsum(struct pkt *p);

static void nat_clear(void)
{
	int fd = bpf_map__fd(skel->maps.nat_rev);
	struct xlb_flow_key k;

	flows_clear();
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
}

static uint32_t nat_rev_count(void)
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

static struct xlb_flow_key spec_key(const struct spec *s)
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

static int flow_get(const struct spec *s, struct xlb_flow *f)
{
	struct xlb_flow_key k = spec_key(s);

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.flows), &k, f);
}

static int flow_put(const struct spec *s, const struct xlb_flow *f)
{
	struct xlb_flow_key k = spec_key(s);

	return bpf_map_update_elem(bpf_map__fd(skel->maps.flows), &k, f, 0);
}

/* Makes the flow of s look idle for age seconds. */
static int flow_age(const struct spec *s, uint64_t age_s)
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
static struct spec spec_rev(const struct spec *s, const char *src, uint16_t sport,
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
static void xlat_expect(struct pkt *exp, const struct pkt *in,
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
		set16(ip + 10, 0);
		set16(ip + 10, fold(sum16(ip, 20, 0)));
		l4 = l3 + 20;
		proto = ip[9];
		len = get16(ip + 2) - 20;
	} else {
		memcpy(ip + 8, &a, 16);
		memcpy(ip + 24, &b, 16);
		ip[7]--;
		l4 = l3 + 40;
		proto = ip[6];
		len = get16(ip + 4);
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
static void icmp_mk(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
		    const char *osrc, const char *odst, uint8_t type,
		    uint8_t code, uint32_t extra, const struct spec *inner)
{
	struct pkt ip;
	size_t at, qlen = (inner->fam == 4 ? 20 : 40) + 8;

	mk(&ip, inner);
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
static void hop(struct pkt *p)
{
	if ((p->b[14] >> 4) == 4) {
		p->b[14 + 8]--;
		ip4_recsum(p);
	} else {
		p->b[14 + 7]--;
	}
}

/* One packet in (on ifindex ifin), the translated packet out. */
static int nat_step(const struct spec *in_s, int ifin, int verdict, int reason,
		    const uint8_t *dmac, const uint8_t *smac, const char *src,
		    uint16_t sport, const char *dst, uint16_t dport, char *why,
		    size_t n)
{
	struct pkt in, exp;

	mk(&in, in_s);
	xlat_expect(&exp, &in, dmac, smac, src, sport, dst, dport);
	ingress = ifin;
	return expect(&in, verdict, &exp, reason, why, n);
}

static uint16_t fnat_port(const struct spec *s)
{
	return LPORT_MIN + spec_hash(s) % (LPORT_MAX - LPORT_MIN + 1);
}

static int want_state(const struct spec *s, uint8_t st, char *why, size_t n)
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

ROW(r_nat4_tcp)
{
	/* Two-armed: client on xa, backend 198.18.1.11:8080 behind ya. */
	struct spec s = { 4, CLIENT4, VIP_N4, 6, 50000, 80, 100, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50000, 0x12);

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50000, "198.18.1.11", 8080, why, n))
		return -1;
	if (want_state(&s, XLB_CT_SYN_SENT, why, n))
		return -1;
	if (nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50000, why, n)) {
		strncat(why, " (reply)", n - strlen(why) - 1);
		return -1;
	}
	return want_state(&s, XLB_CT_ESTABLISHED, why, n);
}

ROW(r_nat4_udp_nocsum)
{
	/* Port mapping 53 -> 5353; a zero UDP checksum stays zero, a reply
	 * with one gets it updated. */
	struct spec s = { 4, CLIENT4, VIP_N4, 17, 50001, 53, 33, 0, 0, 0, 0, 1 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 50001, 0);

	r.udp_nocsum = 0;
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50001,
		     "198.18.0.12", 5353, why, n))
		return -1;
	if (want_state(&s, XLB_CT_UDP, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_N4,
			53, CLIENT4, 50001, why, n);
}

ROW(r_nat6_tcp)
{
	struct spec s = { 6, CLIENT6, VIP_N6, 6, 50002, 80, 200, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "2001:db8::11", 80, CLIENT6, 50002, 0x12);

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6, 50002,
		     "2001:db8::11", 80, why, n))
		return -1;
	if (nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_N6, 80,
		     CLIENT6, 50002, why, n))
		return -1;
	/* Later client packets use the same translation. */
	s.tcpflags = 0x10;
	return nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6,
			50002, "2001:db8::11", 80, why, n);
}

ROW(r_fnat4_tcp)
{
	/* Source becomes LIP:lport (predicted from the flow hash), the
	 * backend's reply to LIP:lport goes back as VIP -> client. */
	struct spec s = { 4, CLIENT4, VIP_F4, 6, 50003, 80, 100, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "198.18.1.11", 80, LIP4, lp, 0x12);
	struct xlb_flow f;

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n))
		return -1;
	if (flow_get(&s, &f) || ntohs(f.lport_be) != lp ||
	    f.mode != XLB_MODE_FULLNAT) {
		snprintf(why, n, "flow entry does not hold the local port");
		return -1;
	}
	if (nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 50003, why, n))
		return -1;
	return want_state(&s, XLB_CT_ESTABLISHED, why, n);
}

ROW(r_fnat4_udp)
{
	struct spec s = { 4, CLIENT4, VIP_F4, 17, 50004, 53, 40, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, LIP4, lp, 0);

	/* The route to the backend is on xa, from a LIP of ya: still TX. */
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, lp,
		     "198.18.0.12", 5353, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F4, 53,
			CLIENT4, 50004, why, n);
}

ROW(r_fnat6_udp)
{
	struct spec s = { 6, CLIENT6, VIP_F6, 17, 50005, 53, 40, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "2001:db8::12", 5353, LIP6, lp, 0);

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_2, MAC_XA, LIP6, lp,
		     "2001:db8::12", 5353, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F6, 53,
			CLIENT6, 50005, why, n);
}

ROW(r_fnat6_tcp)
{
	struct spec s = { 6, CLIENT6, VIP_F6, 6, 50006, 80, 300, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "2001:db8::11", 8080, LIP6, lp, 0x12);

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, LIP6, lp,
		     "2001:db8::11", 8080, why, n))
		return -1;
	return nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_F6, 80,
			CLIENT6, 50006, why, n);
}

/* Sets the fullnat port range (0, 0: the fixture's). */
static void lport_range(uint16_t lo, uint16_t hi)
{
	struct xlb_globals g = *globals_get();
	uint32_t zero = 0;

	g.lport_min = lo ? lo : LPORT_MIN;
	g.lport_max = hi ? hi : LPORT_MAX;
	bpf_map_update_elem(bpf_map__fd(skel->maps.globals), &zero, &g, 0);
}

ROW(r_fnat_exhaust)
{
	/* Two local ports: two flows get them, the third is a counted drop,
	 * the first two keep flowing. */
	struct spec a = { 4, CLIENT4, VIP_F4, 17, 51000, 53, 20, 0, 0, 0, 0, 0 };
	struct spec b = a, c = a;
	struct xlb_flow fa, fb;
	struct pkt in;
	int err = -1;

	nat_clear();
	lport_range(30000, 30001);
	b.sport = 51001;
	c.sport = 51002;
	mk(&in, &a);
	if (expect(&in, XDP_TX_, NULL, XLB_R_TX, why, n))
		goto out;
	mk(&in, &b);
	if (expect(&in, XDP_TX_, NULL, XLB_R_TX, why, n))
		goto out;
	if (flow_get(&a, &fa) || flow_get(&b, &fb) ||
	    fa.lport_be == fb.lport_be) {
		snprintf(why, n, "two flows do not hold the two ports");
		goto out;
	}
	mk(&in, &c);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n))
		goto out;
	if (flow_get(&c, &fa) == 0) {
		snprintf(why, n, "a flow entry was created without a port");
		goto out;
	}
	if (flow_get(&a, &fa))
		goto out;
	if (nat_step(&a, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4,
		     ntohs(fa.lport_be), "198.18.0.12", 5353, why, n))
		goto out;
	err = 0;
out:
	lport_range(0, 0);
	return err;
}

ROW(r_fnat_expiry_frees_port)
{
	/* One local port. Flow a holds it; b is refused; once a has been
	 * idle past the UDP timeout, b takes the port over. */
	struct spec a = { 4, CLIENT4, VIP_F4, 17, 52000, 53, 20, 0, 0, 0, 0, 0 };
	struct spec b = a;
	struct pkt in;
	int err = -1;

	nat_clear();
	lport_range(30000, 30000);
	b.sport = 52001;
	if (nat_step(&a, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, 30000,
		     "198.18.0.12", 5353, why, n))
		goto out;
	mk(&in, &b);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n))
		goto out;
	flow_age(&a, XLB_TO_UDP_DEFAULT - 5);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LPORT, why, n)) {
		strncat(why, " (before the timeout)", n - strlen(why) - 1);
		goto out;
	}
	flow_age(&a, XLB_TO_UDP_DEFAULT + 1);
	if (nat_step(&b, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, 30000,
		     "198.18.0.12", 5353, why, n))
		goto out;
	if (nat_rev_count() != 1) {
		snprintf(why, n, "%u reverse entries, want 1", nat_rev_count());
		goto out;
	}
	err = 0;
out:
	lport_range(0, 0);
	return err;
}

ROW(r_nat_reply_expired)
{
	/* An idle entry is absent: its reply goes to the stack and the reverse
	 * entry is gone. */
	struct spec s = { 4, CLIENT4, VIP_N4, 17, 50010, 53, 20, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 50010, 0);
	struct xlb_flow f;
	struct pkt in;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50010,
		     "198.18.0.12", 5353, why, n))
		return -1;
	flow_age(&s, XLB_TO_UDP_DEFAULT + 1);
	mk(&in, &r);
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n))
		return -1;
	if (nat_rev_count() != 0 || flow_get(&s, &f) == 0) {
		snprintf(why, n, "expired entry not removed");
		return -1;
	}
	return 0;
}

ROW(r_nat_tcp_states)
{
	/* SYN -> SYN_SENT, SYN-ACK -> ESTABLISHED, FIN (client) -> FIN_WAIT,
	 * FIN (server) -> TIME_WAIT; a new SYN on TIME_WAIT is rescheduled as
	 * a new flow. Per-state timeouts: ESTABLISHED lives 900 s, CLOSE 10 s. */
	struct spec s = { 4, CLIENT4, VIP_N4, 6, 50020, 80, 0, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50020, 0x12);
	struct xlb_counter c0, c1;
	struct pkt in;

	nat_clear();
	c0 = counter_get(skel->maps.svc_stats, S_N4T);
	mk(&in, &s);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n))
		return -1;
	ingress = ifx_ya;
	mk(&in, &r);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n))
		return -1;
	if (want_state(&s, XLB_CT_ESTABLISHED, why, n))
		return -1;
	/* 800 s idle: still there, the next packet refreshes it. */
	flow_age(&s, 800);
	s.tcpflags = 0x10;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n))
		return -1;
	s.tcpflags = 0x11;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n) ||
	    want_state(&s, XLB_CT_FIN_WAIT, why, n))
		return -1;
	r.tcpflags = 0x11;
	if (nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50020, why, n) ||
	    want_state(&s, XLB_CT_TIME_WAIT, why, n))
		return -1;
	s.tcpflags = 0x02;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n) ||
	    want_state(&s, XLB_CT_SYN_SENT, why, n))
		return -1;
	c1 = counter_get(skel->maps.svc_stats, S_N4T);
	if (c1.new_flows - c0.new_flows != 2) {
		snprintf(why, n, "%llu new flows, want 2 (SYN on TIME_WAIT)",
			 (unsigned long long)(c1.new_flows - c0.new_flows));
		return -1;
	}
	/* RST closes; 11 s later the entry is gone and a reply is stale. */
	s.tcpflags = 0x04;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50020, "198.18.1.11", 8080, why, n) ||
	    want_state(&s, XLB_CT_CLOSE, why, n))
		return -1;
	flow_age(&s, XLB_TO_CLOSE_DEFAULT + 1);
	r.tcpflags = 0x10;
	mk(&in, &r);
	ingress = ifx_ya;
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n);
}

/* Sets service id's own established and TIME_WAIT timeouts (0: the
 * instance's), as the daemon writes svc_timeouts. */
static int svc_to_set(uint32_t id, uint32_t established_s, uint32_t time_wait_s)
{
	struct xlb_svc_timeouts t = { 0 };

	t.to_established_s = established_s;
	t.to_time_wait_s = time_wait_s;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.svc_timeouts), &id, &t, 0);
}

ROW(r_svc_timeouts)
{
	/* Per-service timeouts: the fullnat service has an established
	 * timeout of 30 s, the nat one none of its own (900 s). Both flows
	 * established (SYN, SYN-ACK); idle 25 s, both live; idle 31 s, the
	 * fullnat flow is dead (its reply goes to the stack, its entry and
	 * port claim are gone), the nat flow is translated as before. */
	struct spec a = { 4, CLIENT4, VIP_F4, 6, 50030, 80, 0, 0, 0, 0, 0, 0 };
	struct spec b = { 4, CLIENT4, VIP_N4, 6, 50031, 80, 0, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&a);
	struct spec ar = spec_rev(&a, "198.18.1.11", 80, LIP4, lp, 0x12);
	struct spec br = spec_rev(&b, "198.18.1.11", 8080, CLIENT4, 50031, 0x12);
	struct xlb_flow f;
	struct pkt in;
	int err = -1;

	nat_clear();
	if (svc_to_set(S_F4T, 30, 0)) {
		snprintf(why, n, "cannot write svc_timeouts: %s", strerror(errno));
		return -1;
	}
	if (nat_step(&a, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n) ||
	    nat_step(&ar, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 50030, why, n) ||
	    want_state(&a, XLB_CT_ESTABLISHED, why, n))
		goto out;
	if (nat_step(&b, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50031, "198.18.1.11", 8080, why, n) ||
	    nat_step(&br, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50031, why, n) ||
	    want_state(&b, XLB_CT_ESTABLISHED, why, n))
		goto out;
	ar.tcpflags = 0x10;
	br.tcpflags = 0x10;
	flow_age(&a, 25);
	if (nat_step(&ar, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_F4, 80, CLIENT4, 50030, why, n)) {
		strncat(why, " (before its 30 s timeout)", n - strlen(why) - 1);
		goto out;
	}
	flow_age(&a, 31);
	flow_age(&b, 31);
	mk(&in, &ar);
	ingress = ifx_ya;
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n))
		goto out;
	if (flow_get(&a, &f) == 0 || nat_rev_count() != 1) {
		snprintf(why, n, "expired fullnat entry or its claim left (%u "
			 "reverse entries, want 1)", nat_rev_count());
		goto out;
	}
	if (nat_step(&br, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_CLIENT,
		     MAC_XA, VIP_N4, 80, CLIENT4, 50031, why, n)) {
		strncat(why, " (service with the default timeout)", n - strlen(why) - 1);
		goto out;
	}
	err = 0;
out:
	svc_to_set(S_F4T, 0, 0);
	return err;
}

/* ---- lc and wlc ------------------------------------------------------- */

static void conns_set(uint32_t id, int64_t active, int64_t inactive)
{
	struct xlb_conns c = { active, inactive };

	bpf_map_update_elem(bpf_map__fd(skel->maps.backend_conns), &id, &c, 0);
}

static struct xlb_conns conns_get(uint32_t id)
{
	struct xlb_conns c = { 0, 0 };

	bpf_map_lookup_elem(bpf_map__fd(skel->maps.backend_conns), &id, &c);
	return c;
}

static int want_conns(uint32_t id, int64_t active, int64_t inactive,
		      char *why, size_t n)
{
	struct xlb_conns c = conns_get(id);

	if (c.active == active && c.inactive == inactive)
		return 0;
	snprintf(why, n, "backend %u counts %lld/%lld, want %lld/%lld", id,
		 (long long)c.active, (long long)c.inactive, (long long)active,
		 (long long)inactive);
	return -1;
}

/* Makes S_LC an lc/wlc service over ids with weights (as the daemon's
 * put_lc_list writes it). */
static int lc_setup(const uint32_t *ids, const uint32_t *w, uint32_t cnt)
{
	struct xlb_svc_backends sb;
	uint32_t key = S_LC;

	memset(&sb, 0, sizeof(sb));
	sb.n = cnt;
	for (uint32_t i = 0; i < cnt; i++) {
		sb.id[i] = ids[i];
		sb.weight[i] = w[i];
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.svc_backends), &key, &sb, 0))
		return -1;
	return svc_sched(VIP_LC, XLB_SVC_F_LC, 0);
}

/* A new nat flow from sport must go to be (one of BL1..3, on xa). */
static int lc_new(uint16_t sport, uint32_t be, char *why, size_t n)
{
	static const char *const addr[] = { "198.18.0.11", "198.18.0.12",
					    "198.18.0.13" };
	static const uint8_t *const mac[] = { MAC_B1, MAC_B2, MAC_B3 };
	struct spec s = { 4, CLIENT4, VIP_LC, 6, sport, 80, 0, 0, 0, 0, 0, 0 };
	uint32_t i = be - BL1;

	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, mac[i], MAC_XA, CLIENT4, sport,
		     addr[i], 80, why, n)) {
		snprintf(why + strlen(why), n - strlen(why),
			 " (new flow from port %u, want backend %u)", sport, be);
		return -1;
	}
	return 0;
}

ROW(r_sched_lc)
{
	/* lc: least active * 256 + inactive. Counts 2/0, 1/0, 0/300 give
	 * 512, 256, 300: BL2. Its SYN_SENT entry makes it 1/1 (257), still
	 * least; the SYN-ACK establishes it (2/0, 512): BL3 (300) next. A RST
	 * moves BL2's entry to inactive (1/1), and when that entry ends (CLOSE
	 * timed out, the tuple's next SYN) it is uncounted. */
	const uint32_t ids[3] = { BL1, BL2, BL3 }, w[3] = { 1, 1, 1 };
	struct spec s = { 4, CLIENT4, VIP_LC, 6, 51000, 80, 0, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.0.12", 80, CLIENT4, 51000, 0x12);

	nat_clear();
	conns_set(BL1, 2, 0);
	conns_set(BL2, 1, 0);
	conns_set(BL3, 0, 300);
	if (lc_setup(ids, w, 3) || lc_new(51000, BL2, why, n) ||
	    want_conns(BL2, 1, 1, why, n) || lc_new(51001, BL2, why, n) ||
	    want_conns(BL2, 1, 2, why, n))
		return -1;
	if (nat_step(&r, 0, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA, VIP_LC, 80,
		     CLIENT4, 51000, why, n) || want_conns(BL2, 2, 1, why, n))
		return -1;
	if (lc_new(51002, BL3, why, n) || want_conns(BL3, 0, 301, why, n))
		return -1;
	s.tcpflags = 0x04;
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 51000,
		     "198.18.0.12", 80, why, n) || want_conns(BL2, 1, 2, why, n))
		return -1;
	/* Entry gone by timeout: its next SYN ends it (uncounted) and is a
	 * new flow, to the least loaded: BL2 (258) against BL3 (301). */
	flow_age(&s, XLB_TO_CLOSE_DEFAULT + 1);
	if (lc_new(51000, BL2, why, n) || want_conns(BL2, 1, 2, why, n))
		return -1;
	return 0;
}

ROW(r_sched_wlc)
{
	/* wlc: BL1 weight 3 at 2/0 (512 / 3 = 170) beats BL2 weight 1 at 1/0
	 * (256); lc (weights 1) would pick BL2. Weight 0 is never picked,
	 * and an empty list is a counted drop. */
	const uint32_t ids[3] = { BL1, BL2, BL3 }, w[3] = { 3, 1, 0 };
	const uint32_t w1[3] = { 1, 1, 0 };
	struct spec s = { 4, CLIENT4, VIP_LC, 6, 51100, 80, 0, 0, 0, 0, 0, 0 };
	struct pkt in;

	nat_clear();
	conns_set(BL1, 2, 0);
	conns_set(BL2, 1, 0);
	conns_set(BL3, 0, 0);
	if (lc_setup(ids, w, 3) || lc_new(51100, BL1, why, n) ||
	    want_conns(BL1, 2, 1, why, n))
		return -1;
	conns_set(BL1, 2, 0);
	if (lc_setup(ids, w1, 3) || lc_new(51101, BL2, why, n))
		return -1;
	lc_setup(ids, w, 0);
	s.sport = 51102;
	mk(&in, &s);
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_BACKEND, why, n);
}

ROW(r_nat_sched_rr_sh)
{
	/* The nat path picks through the same schedulers: rr walks the
	 * sequence BL1 BL2 BL3 BL1; sh sends every port of a client to the
	 * backend of its address's slot. */
	const uint32_t ids[3] = { BL1, BL2, BL3 };
	uint32_t key = S_LC, *zero = calloc(ncpu, sizeof(uint32_t)), slot;
	union xlb_addr a = A(CLIENT4);
	int err = 0;

	if (!zero)
		return -1;
	nat_clear();
	table_set(S_LC, 13, ids, 3);
	svc_sched(VIP_LC, XLB_SVC_F_RR, 3);
	bpf_map_update_elem(bpf_map__fd(skel->maps.rr_pos), &key, zero, 0);
	free(zero);
	for (int i = 0; i < 4 && !err; i++)
		err = lc_new((uint16_t)(51200 + i), ids[i % 3], why, n);
	svc_sched(VIP_LC, XLB_SVC_F_SH, 0);
	slot = xlb_src_hash(&a) % 13;
	for (int i = 0; i < 4 && !err; i++)
		err = lc_new((uint16_t)(51300 + 17 * i), ids[slot % 3], why, n);
	svc_sched(VIP_LC, XLB_SVC_F_LC, 0);
	return err;
}

/* ---- the daemon's next-hop cache (backend_l2) ---------------------------- */

/* MACs no neighbour entry of the lab has: output carrying them was built
 * from the cache, not from bpf_fib_lookup. */
static const uint8_t MAC_L2D[6] = { 0x02, 0, 0, 0, 0x0c, 0x11 };
static const uint8_t MAC_L2S[6] = { 0x02, 0, 0, 0, 0x0c, 0x0a };

/* Writes backend id's cached next hop as xlbd would, for addr (valid with
 * the MACs above, egress ifindex, mtu); valid 0 / addr NULL: clears it. */
static int l2_set(uint32_t id, const char *addr, int ifindex, uint32_t mtu,
		  int valid)
{
	struct xlb_backend_l2 l2;

	memset(&l2, 0, sizeof(l2));
	if (addr) {
		l2.addr = A(addr);
		l2.nexthop = l2.addr;
		l2.family = strchr(addr, ':') ? XLB_AF_INET6 : XLB_AF_INET;
		memcpy(l2.dmac, MAC_L2D, 6);
		memcpy(l2.smac, MAC_L2S, 6);
		l2.ifindex = ifindex;
		l2.mtu = mtu;
		l2.valid = valid;
	}
	return bpf_map_update_elem(bpf_map__fd(skel->maps.backend_l2), &id, &l2, 0);
}

ROW(r_l2_dr)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40100, 80, 100, 0, 0, 0, 0, 0 };
	struct pkt in, exp;
	int err;

	mk(&in, &s);
	/* Valid: the cached MACs, and XDP_TX out of the ingress port. */
	l2_set(B1, "198.18.0.11", ifx_xa, 1500, 1);
	dr_expect(&exp, &in, MAC_L2D, MAC_L2S);
	err = expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	/* Another egress port: redirected there. */
	l2_set(B1, "198.18.0.11", ifx_ya, 1500, 1);
	err = err ?: expect(&in, XDP_REDIRECT_, &exp, XLB_R_REDIRECT, why, n);
	/* Not resolved, or resolved for another address (an id given to
	 * another backend): the route lookup decides, as without a cache. */
	l2_set(B1, "198.18.0.11", ifx_xa, 1500, 0);
	dr_expect(&exp, &in, MAC_B1, MAC_XA);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	l2_set(B1, "198.18.0.12", ifx_xa, 1500, 1);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	l2_set(B1, NULL, 0, 0, 0);
	return err;
}

ROW(r_l2_tun_mtu)
{
	/* The cached MTU is the limit: 1380 + 20 fits 1400, 1381 + 20 not. */
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 45100, 80, 1340, 0, 0, 0, 0, 0 };
	struct pkt in, exp;
	int err;

	l2_set(B3, "198.18.0.13", ifx_xa, 1400, 1);
	mk(&in, &s);
	tun_expect(&exp, &in, "198.18.0.13", MAC_L2D, &s);
	memcpy(exp.b + 6, MAC_L2S, 6);
	err = expect(&in, XDP_TX_, &exp, XLB_R_TX, why, n);
	s.paylen = 1341;
	mk(&in, &s);
	too_big_expect(&exp, &in, &s, 1380);
	err = err ?: expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
	l2_set(B3, NULL, 0, 0, 0);
	return err;
}

ROW(r_l2_nat)
{
	/* nat: the client's packets use the backend's cached next hop, the
	 * backend's replies (to the client) their own route lookup. */
	struct spec s = { 4, CLIENT4, VIP_N4, 6, 50100, 80, 100, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50100, 0x12);
	int err;

	nat_clear();
	l2_set(BN_Y, "198.18.1.11", ifx_ya, 1500, 1);
	err = nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_L2D, MAC_L2S,
		       CLIENT4, 50100, "198.18.1.11", 8080, why, n);
	err = err ?: nat_step(&r, ifx_ya, XDP_REDIRECT_, XLB_R_REDIRECT,
			      MAC_CLIENT, MAC_XA, VIP_N4, 80, CLIENT4, 50100,
			      why, n);
	l2_set(BN_Y, NULL, 0, 0, 0);
	return err;
}

ROW(r_nat_ttl)
{
	/* A routed hop: TTL 1 (hop limit 1) cannot go on, either way. */
	struct spec s = { 4, CLIENT4, VIP_N4, 6, 50050, 80, 10, 0, 0, 0, 0, 0 };
	struct spec s6 = { 6, CLIENT6, VIP_N6, 6, 50051, 80, 10, 0, 0, 0, 0, 0 };
	struct spec r6 = spec_rev(&s6, "2001:db8::11", 80, CLIENT6, 50051, 0x12);
	struct pkt in;

	nat_clear();
	mk(&in, &s);
	in.b[14 + 8] = 1;
	ip4_recsum(&in);
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_TTL, why, n))
		return -1;
	/* TTL 2 leaves with 1 (nat_step expects one less). */
	mk(&in, &s);
	s.sport = 50052;
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     CLIENT4, 50052, "198.18.1.11", 8080, why, n))
		return -1;
	if (nat_step(&s6, 0, XDP_TX_, XLB_R_TX, MAC_B6_1, MAC_XA, CLIENT6, 50051,
		     "2001:db8::11", 80, why, n))
		return -1;
	mk(&in, &r6);
	in.b[14 + 7] = 1;
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_TTL, why, n);
}

ROW(r_nat_reply_too_big)
{
	/* The client sits behind a 1280-byte link; the backend's 1400-byte
	 * reply (DF) gets a frag-needed back, from the address it sent to,
	 * quoting the packet as it left the backend. */
	struct spec s = { 4, "198.18.0.9", VIP_N4, 6, 50060, 80, 0, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, "198.18.0.9", 50060, 0x10);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA,
		     "198.18.0.9", 50060, "198.18.1.11", 8080, why, n))
		return -1;
	r.paylen = 1360;
	mk(&in, &r);
	memcpy(in.b, MAC_YA, 6);
	memcpy(in.b + 6, MAC_Y1, 6);
	too_big_expect(&exp, &in, &r, 1280);
	memcpy(exp.b, MAC_Y1, 6);
	memcpy(exp.b + 6, MAC_YA, 6);
	ingress = ifx_ya;
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_TOO_BIG_SENT, why, n);
}

ROW(r_nat_icmp_from_backend)
{
	/* Port unreachable from the backend about C:cp -> R:rp reaches the
	 * client from the VIP, quoting C:cp -> V:vp. */
	struct spec s = { 4, CLIENT4, VIP_N4, 17, 50030, 53, 20, 0, 0, 0, 0, 0 };
	struct spec q = spec_rev(&s, CLIENT4, 50030, "198.18.0.12", 5353, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50030,
		     "198.18.0.12", 5353, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_B2, "198.18.0.12", CLIENT4, 3, 3, 0, &q);
	icmp_mk(&exp, MAC_CLIENT, MAC_XA, VIP_N4, CLIENT4, 3, 3, 0, &s);
	hop(&exp);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_fnat_icmp_from_backend_side)
{
	/* Frag needed from a router on the backend side, sent to the LIP about
	 * LIP:lp -> R:rp (TCP: the quoted checksum is cut off). */
	struct spec s = { 4, CLIENT4, VIP_F4, 6, 50031, 80, 20, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec q = spec_rev(&s, LIP4, lp, "198.18.1.11", 80, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_REDIRECT_, XLB_R_REDIRECT, MAC_Y1, MAC_YA, LIP4,
		     lp, "198.18.1.11", 80, why, n))
		return -1;
	icmp_mk(&in, MAC_YA, MAC_Y1, "198.18.1.254", LIP4, 3, 4, 1400, &q);
	icmp_mk(&exp, MAC_CLIENT, MAC_XA, VIP_F4, CLIENT4, 3, 4, 1400, &s);
	hop(&exp);
	ingress = ifx_ya;
	return expect(&in, XDP_REDIRECT_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_nat_icmp_from_client_side)
{
	/* A router on the client side cannot deliver our reply V:vp -> C:cp:
	 * the error goes to the backend, quoting R:rp -> C:cp. */
	struct spec s = { 4, CLIENT4, VIP_N4, 17, 50032, 53, 20, 0, 0, 0, 0, 0 };
	struct spec q = spec_rev(&s, VIP_N4, 53, CLIENT4, 50032, 0);
	struct spec qx = spec_rev(&s, "198.18.0.12", 5353, CLIENT4, 50032, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50032,
		     "198.18.0.12", 5353, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_CLIENT, ROUTER4, VIP_N4, 3, 1, 0, &q);
	icmp_mk(&exp, MAC_B2, MAC_XA, ROUTER4, "198.18.0.12", 3, 1, 0, &qx);
	hop(&exp);
	return expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n);
}

ROW(r_fnat6_icmp_too_big)
{
	/* ICMPv6 packet too big from the client side about our reply: to the
	 * backend from the LIP, quoting R:rp -> LIP:lp; and one from the
	 * backend side back to the client. */
	struct spec s = { 6, CLIENT6, VIP_F6, 17, 50033, 53, 20, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec q = spec_rev(&s, VIP_F6, 53, CLIENT6, 50033, 0);
	struct spec qx = spec_rev(&s, "2001:db8::12", 5353, LIP6, lp, 0);
	struct spec q2 = spec_rev(&s, LIP6, lp, "2001:db8::12", 5353, 0);
	struct pkt in, exp;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B6_2, MAC_XA, LIP6, lp,
		     "2001:db8::12", 5353, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_CLIENT, "2001:db8::fe", VIP_F6, 2, 0, 1280, &q);
	icmp_mk(&exp, MAC_B6_2, MAC_XA, LIP6, "2001:db8::12", 2, 0, 1280, &qx);
	hop(&exp);
	if (expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n))
		return -1;
	icmp_mk(&in, MAC_XA, MAC_B6_2, "2001:db8::12", LIP6, 1, 4, 0, &q2);
	icmp_mk(&exp, MAC_CLIENT, MAC_XA, VIP_F6, CLIENT6, 1, 4, 0, &s);
	hop(&exp);
	if (expect(&in, XDP_TX_, &exp, XLB_R_ICMP_FORWARDED, why, n)) {
		strncat(why, " (backend side)", n - strlen(why) - 1);
		return -1;
	}
	return 0;
}

ROW(r_nat_icmp_no_flow)
{
	/* An error about a nat flow the table does not know: the stack's. */
	struct spec s = { 4, CLIENT4, VIP_N4, 17, 50034, 53, 20, 0, 0, 0, 0, 0 };
	struct spec q = spec_rev(&s, VIP_N4, 53, CLIENT4, 50034, 0);
	struct pkt in;

	nat_clear();
	icmp_mk(&in, MAC_XA, MAC_CLIENT, ROUTER4, VIP_N4, 3, 1, 0, &q);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_ICMP_NOT_OURS, why, n);
}

ROW(r_nat_reply_wrong_port)
{
	/* From the backend but another source port: not a reply of ours. */
	struct spec s = { 4, CLIENT4, VIP_N4, 17, 50035, 53, 20, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.0.12", 5354, CLIENT4, 50035, 0);
	struct pkt in;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, CLIENT4, 50035,
		     "198.18.0.12", 5353, why, n))
		return -1;
	mk(&in, &r);
	return expect(&in, XDP_PASS_, &in, XLB_R_PASS_NOT_VIP, why, n);
}

ROW(r_nat_reply_orphan)
{
	/* The flow entry vanished (LRU): the reverse entry is stale, the reply
	 * goes to the stack and the entry is removed. */
	struct spec s = { 4, CLIENT4, VIP_F4, 17, 50036, 53, 20, 0, 0, 0, 0, 0 };
	uint16_t lp = fnat_port(&s);
	struct spec r = spec_rev(&s, "198.18.0.12", 5353, LIP4, lp, 0);
	struct xlb_flow_key k = spec_key(&s);
	struct pkt in;

	nat_clear();
	if (nat_step(&s, 0, XDP_TX_, XLB_R_TX, MAC_B2, MAC_XA, LIP4, lp,
		     "198.18.0.12", 5353, why, n))
		return -1;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.flows), &k);
	mk(&in, &r);
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n))
		return -1;
	if (nat_rev_count()) {
		snprintf(why, n, "stale reverse entry kept");
		return -1;
	}
	return 0;
}

ROW(r_nat_reply_bad_header)
{
	/* A reply tuple with a broken TCP header is dropped untouched. */
	struct spec s = { 4, CLIENT4, VIP_N4, 6, 50037, 80, 10, 0, 0, 0, 0, 0 };
	struct spec r = spec_rev(&s, "198.18.1.11", 8080, CLIENT4, 50037, 0x12);
	struct pkt in;

	nat_clear();
	mk(&in, &s);
	if (expect(&in, XDP_REDIRECT_, NULL, XLB_R_REDIRECT, why, n))
		return -1;
	mk(&in, &r);
	in.b[14 + 20 + 12] = 0x40;
	ingress = ifx_ya;
	if (expect(&in, XDP_DROP_, &in, XLB_R_DROP_BAD_HEADER, why, n))
		return -1;
	/* And a truncated one. */
	mk(&in, &r);
	in.len = 14 + 20 + 10;
	set16(in.b + 16, 30);
	ip4_recsum(&in);
	ingress = ifx_ya;
	return expect(&in, XDP_DROP_, &in, XLB_R_DROP_TRUNCATED, why, n);
}

ROW(r_nat_mixed_family)
{
	/* A v4 VIP whose table names a v6 backend: no cross-family nat. */
	struct spec s = { 4, CLIENT4, VIP_N4, 6, 50038, 80, 10, 0, 0, 0, 0, 0 };
	struct pkt in;
	int err;

	nat_clear();
	table_one(S_N4T, BN6_1);
	mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_MODE, why, n);
	table_one(S_N4T, BN_Y);
	return err;
}

ROW(r_fnat_no_lip)
{
	struct spec s = { 4, CLIENT4, VIP_F4, 6, 50039, 80, 10, 0, 0, 0, 0, 0 };
	struct xlb_globals g = *globals_get(), z = g;
	uint32_t zero = 0;
	int fd = bpf_map__fd(skel->maps.globals), err;
	struct pkt in;

	nat_clear();
	z.n_lips_v4 = 0;
	bpf_map_update_elem(fd, &zero, &z, 0);
	mk(&in, &s);
	err = expect(&in, XDP_DROP_, &in, XLB_R_DROP_NO_LIP, why, n);
	bpf_map_update_elem(fd, &zero, &g, 0);
	return err;
}

/* ---- malformed input: the packet must come out untouched ----------------- */

static void base4(struct pkt *p, uint8_t proto, size_t paylen)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, proto, 40000, proto == 6 ? 80 : 53,
			  paylen, 0, 0, 0, 0, 0 };

	mk(p, &s);
}

static void base6(struct pkt *p, uint8_t proto, size_t paylen)
{
	struct spec s = { 6, CLIENT6, VIP_DR6, proto, 40000, proto == 6 ? 80 : 53,
			  paylen, 0, 0, 0, 0, 0 };

	mk(p, &s);
}

static void ip4_recsum(struct pkt *p)
{
	size_t hl = (p->b[14] & 15) * 4;

	set16(p->b + 24, 0);
	set16(p->b + 24, fold(sum16(p->b + 14, hl, 0)));
}

/* Inserts an 8-byte IPv6 extension header ext (its next header must be
 * the old one) right after the fixed header. */
static void ip6_insert(struct pkt *p, uint8_t type, const uint8_t *ext)
{
	memmove(p->b + 62, p->b + 54, p->len - 54);
	memcpy(p->b + 54, ext, 8);
	p->len += 8;
	p->b[20] = type;
	set16(p->b + 18, get16(p->b + 18) + 8);
}

static void m_eth_only4(struct pkt *p) { memset(p, 0, sizeof(*p)); eth(p, MAC_XA, MAC_CLIENT, 0x0800); }
static void m_eth_only6(struct pkt *p) { memset(p, 0, sizeof(*p)); eth(p, MAC_XA, MAC_CLIENT, 0x86dd); }
static void m_ip4_trunc(struct pkt *p) { base4(p, 6, 0); p->len = 14 + 19; }
static void m_ip6_trunc(struct pkt *p) { base6(p, 6, 0); p->len = 14 + 39; }
static void m_ihl_lt5(struct pkt *p) { base4(p, 6, 10); p->b[14] = 0x44; ip4_recsum(p); }
static void m_ver4_bad(struct pkt *p) { base4(p, 6, 10); p->b[14] = 0x65; }
static void m_ver6_bad(struct pkt *p) { base6(p, 6, 10); p->b[14] = 0x40; }
static void m_totlen_gt(struct pkt *p) { base4(p, 6, 10); set16(p->b + 16, p->len - 14 + 1); ip4_recsum(p); }
static void m_totlen_lt_ihl(struct pkt *p) { base4(p, 6, 10); set16(p->b + 16, 16); ip4_recsum(p); }
static void m_ip6_plen_gt(struct pkt *p) { base6(p, 6, 10); set16(p->b + 18, get16(p->b + 18) + 1); }
static void m_ip6_plen_zero(struct pkt *p) { base6(p, 6, 10); set16(p->b + 18, 0); }
static void m_doff_lt5(struct pkt *p) { base4(p, 6, 10); p->b[14 + 20 + 12] = 0x40; }
static void m_doff_gt(struct pkt *p) { base4(p, 6, 10); p->b[14 + 20 + 12] = 0xf0; }
static void m_sctp(struct pkt *p) { base4(p, 6, 10); p->b[14 + 9] = 132; ip4_recsum(p); }
static void m_vlan_trunc(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x8100);
	put16(p, 42);
}

static void m_vlan_ip_trunc(struct pkt *p)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40000, 80, 0, 42, 0, 0, 0, 0 };

	mk(p, &s);
	p->len = 18 + 12;
}

static void m_qinq(struct pkt *p)
{
	struct pkt in;

	base4(&in, 6, 10);
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x8100);
	put16(p, 42);
	put16(p, 0x8100);
	put16(p, 43);
	put16(p, 0x0800);
	put(p, in.b + 14, in.len - 14);
}

static void m_ihl_gt_len(struct pkt *p)
{
	/* The header claims 60 bytes (and so does tot_len); 40 are there. */
	base4(p, 6, 0);
	p->b[14] = 0x4f;
	set16(p->b + 16, 60);
	ip4_recsum(p);
}

static void m_options(struct pkt *p)
{
	base4(p, 6, 10);
	memmove(p->b + 38, p->b + 34, p->len - 34);
	memcpy(p->b + 34, (uint8_t[]){ 1, 1, 1, 0 }, 4);
	p->len += 4;
	p->b[14] = 0x46;
	set16(p->b + 16, get16(p->b + 16) + 4);
	ip4_recsum(p);
}

static void m_frag_mf(struct pkt *p)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40000, 80, 10, 0, 0x2000, 0, 0, 0 };

	mk(p, &s);
}

static void m_frag_off(struct pkt *p)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40000, 80, 10, 0, 0x0010, 0, 0, 0 };

	mk(p, &s);
}

static void m_ip6_frag(struct pkt *p)
{
	base6(p, 6, 10);
	ip6_insert(p, 44, (uint8_t[]){ 6, 0, 0, 1, 0, 0, 0, 42 });
}

static void m_ip6_hbh(struct pkt *p)
{
	base6(p, 6, 10);
	ip6_insert(p, 0, (uint8_t[]){ 6, 0, 1, 4, 0, 0, 0, 0 });
}

static void m_ip6_rh(struct pkt *p)
{
	base6(p, 17, 10);
	ip6_insert(p, 43, (uint8_t[]){ 17, 0, 0, 0, 0, 0, 0, 0 });
}

static void m_tcp_trunc(struct pkt *p)
{
	base4(p, 6, 0);
	set16(p->b + 16, 30);
	ip4_recsum(p);
	p->len = 14 + 30;
}

static void m_udp_trunc(struct pkt *p)
{
	base4(p, 17, 0);
	set16(p->b + 16, 24);
	ip4_recsum(p);
	p->len = 14 + 24;
}

static void m_udp6_trunc(struct pkt *p)
{
	base6(p, 17, 0);
	set16(p->b + 18, 4);
	p->len = 14 + 44;
}

static void m_arp(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x0806);
	p->len += 28;
}

static void m_icmp_trunc(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x0800);
	ip4(p, CLIENT4, VIP_DR4, 1, 4, 0, 1);
	put32(p, 0x03040000);
}

static void m_icmp_inner_trunc(struct pkt *p)
{
	struct spec s = { 4, CLIENT4, VIP_DR4, 6, 40000, 80, 10, 0, 0, 0, 0, 0 };

	icmp_err_mk(p, &s, 3, 1, 0);
	p->len = 14 + 20 + 8 + 10;
	set16(p->b + 16, 38);
	ip4_recsum(p);
}

struct bad_row {
	const char *desc;
	void (*mk)(struct pkt *p);
	int verdict;
	int reason;
};

static const struct bad_row bad_rows[] = {
	{ "malformed: Ethernet only, IPv4 ethertype", m_eth_only4, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: Ethernet only, IPv6 ethertype", m_eth_only6, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv4 header truncated", m_ip4_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv6 header truncated", m_ip6_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv4 IHL < 5", m_ihl_lt5, XDP_DROP_, XLB_R_DROP_BAD_HEADER },
	{ "malformed: IPv4 IHL beyond the frame", m_ihl_gt_len, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv4 version 6 behind ethertype IPv4", m_ver4_bad, XDP_DROP_, XLB_R_DROP_BAD_HEADER },
	{ "malformed: IPv6 version 4 behind ethertype IPv6", m_ver6_bad, XDP_DROP_, XLB_R_DROP_BAD_HEADER },
	{ "malformed: IPv4 tot_len > frame", m_totlen_gt, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv4 tot_len < IHL*4", m_totlen_lt_ihl, XDP_DROP_, XLB_R_DROP_BAD_HEADER },
	{ "malformed: IPv6 payload_len > frame", m_ip6_plen_gt, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv6 payload_len 0 (TCP does not fit)", m_ip6_plen_zero, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: IPv4 options", m_options, XDP_PASS_, XLB_R_PASS_IP_OPTIONS },
	{ "malformed: IPv4 fragment (MF)", m_frag_mf, XDP_PASS_, XLB_R_PASS_FRAGMENT },
	{ "malformed: IPv4 fragment (offset)", m_frag_off, XDP_PASS_, XLB_R_PASS_FRAGMENT },
	{ "malformed: IPv6 fragment header", m_ip6_frag, XDP_PASS_, XLB_R_PASS_FRAGMENT },
	{ "malformed: IPv6 hop-by-hop header", m_ip6_hbh, XDP_PASS_, XLB_R_PASS_IPV6_EXT },
	{ "malformed: IPv6 routing header", m_ip6_rh, XDP_PASS_, XLB_R_PASS_IPV6_EXT },
	{ "malformed: VLAN tag truncated", m_vlan_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: VLAN-tagged IPv4 truncated", m_vlan_ip_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: two VLAN tags (QinQ) passed", m_qinq, XDP_PASS_, XLB_R_PASS_NOT_IP },
	{ "malformed: TCP header truncated", m_tcp_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: UDP header truncated", m_udp_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: UDP/IPv6 header truncated", m_udp6_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: TCP doff < 5", m_doff_lt5, XDP_DROP_, XLB_R_DROP_BAD_HEADER },
	{ "malformed: TCP doff beyond the segment", m_doff_gt, XDP_DROP_, XLB_R_DROP_BAD_HEADER },
	{ "malformed: ICMP header truncated", m_icmp_trunc, XDP_DROP_, XLB_R_DROP_TRUNCATED },
	{ "malformed: ICMP error with truncated quote", m_icmp_inner_trunc, XDP_PASS_, XLB_R_PASS_ICMP_NOT_OURS },
	{ "unsupported: ARP passed", m_arp, XDP_PASS_, XLB_R_PASS_NOT_IP },
	{ "unsupported: SCTP to a VIP passed", m_sctp, XDP_PASS_, XLB_R_PASS_PROTO },
};

ROW(r_zero_len)
{
	struct pkt in, out;
	int v, err;

	memset(&in, 0, sizeof(in));
	err = run_prog(bpf_program__fd(skel->progs.xlb_xdp), &in, &out, ifx_xa, &v);
	if (err == -EINVAL) {
		snprintf(why, n, "the kernel refuses frames under 14 bytes before any XDP program runs");
		return 1;
	}
	if (err || v != XDP_DROP_) {
		snprintf(why, n, "err %d verdict %s", err, vname(v));
		return -1;
	}
	return 0;
}

/* ---- decapsulation -------------------------------------------------------- */

/* Feeds the tun output for s (to backend be) to xlb_decap and expects the
 * client's original frame back, with the tunnel's MACs. */
static int decap_row(const struct spec *s, const char *be, const uint8_t *mac,
		     char *why, size_t n)
{
	struct pkt orig, tun, exp;

	mk(&orig, s);
	tun_expect(&tun, &orig, be, mac, s);
	memset(&exp, 0, sizeof(exp));
	eth(&exp, mac, MAC_XA, s->fam == 4 ? 0x0800 : 0x86dd);
	put(&exp, orig.b + 14, orig.len - 14);
	return expect_ex(1, &tun, XDP_PASS_, &exp, -1, NULL, why, n);
}

ROW(r_decap_ipip)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 47000, 80, 100, 0, 0, 0, 0, 0 };

	return decap_row(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_decap_ip6ip6)
{
	struct spec s = { 6, CLIENT6, VIP_TUN6, 6, 47000, 80, 100, 0, 0, 0, 0, 0 };

	return decap_row(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_decap_4in6)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 17, 47000, 53, 40, 0, 0, 0, 0, 0 };

	return decap_row(&s, "2001:db8::13", MAC_B6_3, why, n);
}

ROW(r_decap_6in4)
{
	struct spec s = { 6, CLIENT6, VIP_TUN6, 17, 47000, 53, 40, 0, 0, 0, 0, 0 };

	return decap_row(&s, "198.18.0.13", MAC_B3, why, n);
}

ROW(r_decap_not_ours)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 47001, 80, 100, 0, 0, 0, 0, 0 };
	struct pkt orig, tun;

	mk(&orig, &s);
	tun_expect(&tun, &orig, "198.18.0.12", MAC_B2, &s);
	return expect_ex(1, &tun, XDP_PASS_, &tun, -1, NULL, why, n);
}

ROW(r_decap_plain)
{
	struct pkt in;

	base4(&in, 6, 10);
	if (expect_ex(1, &in, XDP_PASS_, &in, -1, NULL, why, n))
		return -1;
	base6(&in, 17, 10);
	return expect_ex(1, &in, XDP_PASS_, &in, -1, NULL, why, n);
}

ROW(r_decap_empty)
{
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 47002, 80, 100, 0, 0, 0, 0, 0 };
	union xlb_addr d4 = A("198.18.0.13"), d6 = A("2001:db8::13");
	int fd = bpf_map__fd(dskel->maps.decap_addrs), err;
	struct pkt orig, tun;
	uint8_t one = 1;

	bpf_map_delete_elem(fd, &d4);
	bpf_map_delete_elem(fd, &d6);
	mk(&orig, &s);
	tun_expect(&tun, &orig, "198.18.0.13", MAC_B3, &s);
	err = expect_ex(1, &tun, XDP_PASS_, &tun, -1, NULL, why, n);
	bpf_map_update_elem(fd, &d4, &one, 0);
	bpf_map_update_elem(fd, &d6, &one, 0);
	return err;
}

/* ---- the table and the runner --------------------------------------------- */

struct row {
	const char *desc;
	int (*fn)(char *why, size_t n);
};

/* ---- fast path and flood guard ------------------------------------------- */

static uint64_t guard_get(int ev)
{
	uint64_t v[ncpu], sum = 0;
	uint32_t k = ev;
	int i;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.guard_stats), &k, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
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
	struct spec a = { 4, CLIENT4, VIP_STICKY, 6, 44000, 80, 10, 0, 0, 0, 0, 0 };
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
	struct spec s = { 4, CLIENT4, VIP_TUN4, 6, 44100, 80, 100, 0, 0, 0, 0, 0 };
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
	mk(&in, &s);
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
	struct spec e = { 4, CLIENT4, VIP_STICKY, 6, 44200, 80, 10, 0, 0, 0, 0, 0 };
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
	struct spec a = { 4, CLIENT4, VIP_F4, 17, 44300, 53, 20, 0, 0, 0, 0, 0 };
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
	mk(&in, &rb);
	if (expect(&in, XDP_PASS_, &in, XLB_R_PASS_NAT_STALE, why, n)) {
		strncat(why, " (guarded entry)", n - strlen(why) - 1);
		return -1;
	}
	return nat_step(&ra, ifx_xa, XDP_TX_, XLB_R_TX, MAC_CLIENT, MAC_XA,
			VIP_F4, 53, CLIENT4, 44300, why, n);
}

static const struct row rows[] = {
	{ "dr v4 TCP: MAC rewrite, XDP_TX", r_dr4_tcp },
	{ "dr v4 UDP: MAC rewrite, XDP_TX", r_dr4_udp },
	{ "dr v6 TCP: MAC rewrite, XDP_TX", r_dr6_tcp },
	{ "dr v6 UDP: MAC rewrite, XDP_TX", r_dr6_udp },
	{ "dr v4 behind a VLAN tag: tag kept, XDP_TX", r_dr4_vlan },
	{ "dr to a backend behind another port: XDP_REDIRECT", r_dr_redirect },
	{ "all-ports service matches any TCP port", r_allports },
	{ "all-ports TCP service does not take UDP", r_allports_proto },
	{ "tun v4 IPIP: exact outer header, per-flow source", r_tun4 },
	{ "tun v6 ip6ip6: exact outer header, per-flow source", r_tun6 },
	{ "tun v4 VIP to v6 backend (4in6)", r_tun4in6 },
	{ "tun v6 VIP to v4 backend (6in4)", r_tun6in4 },
	{ "tun v4 packet exactly at the MTU is tunnelled", r_tun4_fits },
	{ "tun v4 behind a VLAN tag: tag kept, outer ethertype in the tag", r_tun4_vlan },
	{ "tun v6 VIP to v4 backend behind a VLAN tag", r_tun6in4_vlan },
	{ "tun v6 over MTU behind a VLAN tag: packet-too-big keeps the tag", r_too_big6_vlan },
	{ "tun without a configured tunnel source: drop", r_tun_no_src },
	{ "flow stickiness across a table swap; new flow follows the table", r_sticky },
	{ "weight-0 drain: existing flow continues, new flow elsewhere", r_drain },
	{ "SYN of a Maglev dr service follows the table, not an old entry", r_syn_follows_table },
	{ "tun established: outer source from the hash in the flow entry", r_tun_hash_kept },
	{ "flood guard, dr: over the rate no entry, established entry kept", r_guard_dr },
	{ "flood guard, fullnat: entry made over the rate is short-lived", r_guard_nat },
	{ "deleted backend: flow rescheduled and flow entry updated", r_deleted },
	{ "flow's service by id: mode change, deletion, id reuse, fallback", r_flow_svc_by_id },
	{ "Maglev slot of 32 flows predicted by xlb_flow_hash", r_maglev_slots },
	{ "sh: every port of a client to one backend, by xlb_src_hash", r_sched_sh },
	{ "wrr: new flows walk the sequence B1 B1 B2, existing flows stay", r_sched_rr },
	{ "no Maglev table: drop", r_no_backend },
	{ "table names a nonexistent backend: drop", r_no_backend_slot },
	{ "backend without neighbour entry: drop", r_no_neigh },
	{ "backend without route: drop", r_no_route },
	{ "service with an unknown mode: drop", r_bad_mode },
	{ "tun v4 over MTU with DF: ICMP frag-needed to the client", r_too_big4 },
	{ "tun v4 over MTU without DF: drop", r_too_big4_nodf },
	{ "tun v6 over MTU: ICMPv6 packet-too-big to the client", r_too_big6 },
	{ "ICMP error about a flow follows the flow table", r_icmp_flow },
	{ "ICMP error without flow entry: Maglev choice, no flow created", r_icmp_noflow },
	{ "ICMPv6 packet-too-big about a flow forwarded (dr)", r_icmp6_flow },
	{ "ICMP error about a tun flow tunnelled like its data", r_icmp_tun },
	{ "ICMP error about a non-VIP flow passed", r_icmp_not_vip },
	{ "ICMP echo to a VIP passed", r_echo },
	{ "ICMPv6 neighbour solicitation passed", r_ndp },
	{ "not for a VIP (address): pass", r_not_vip },
	{ "not for a VIP (port): pass", r_not_vip_port },
	{ "address filter collisions (VIP bit, backend bit) change nothing", r_filter_collision },
	{ "not for a VIP (IPv6): pass", r_not_vip6 },
	{ "malformed: zero-length frame", r_zero_len },
	{ "nat v4 TCP two-armed: both directions, port mapping, SYN_SENT -> ESTABLISHED", r_nat4_tcp },
	{ "nat v4 UDP: zero checksum stays zero, reply translated", r_nat4_udp_nocsum },
	{ "nat v6 TCP: both directions, established flow", r_nat6_tcp },
	{ "fullnat v4 TCP two-armed: LIP:lport from the pool, both directions", r_fnat4_tcp },
	{ "fullnat v4 UDP: both directions", r_fnat4_udp },
	{ "fullnat v6 UDP: both directions", r_fnat6_udp },
	{ "fullnat v6 TCP: both directions, port mapping", r_fnat6_tcp },
	{ "fullnat port exhaustion: counted drop, existing flows unaffected", r_fnat_exhaust },
	{ "fullnat expired flow frees its port for a new flow", r_fnat_expiry_frees_port },
	{ "nat reply to an expired entry: stack, entries removed", r_nat_reply_expired },
	{ "nat TCP states, SYN on TIME_WAIT rescheduled, CLOSE timeout", r_nat_tcp_states },
	{ "per-service timeout: fullnat flow expires at 30 s, nat flow keeps the default", r_svc_timeouts },
	{ "nat ICMP port unreachable from the backend: to the client from the VIP", r_nat_icmp_from_backend },
	{ "fullnat ICMP frag needed to the LIP: to the client, inner translated", r_fnat_icmp_from_backend_side },
	{ "nat ICMP error about a reply: to the backend, inner translated", r_nat_icmp_from_client_side },
	{ "fullnat ICMPv6 too big / unreachable in both directions", r_fnat6_icmp_too_big },
	{ "nat ICMP error without flow entry: passed", r_nat_icmp_no_flow },
	{ "nat reply from the wrong backend port: passed", r_nat_reply_wrong_port },
	{ "fullnat reply whose flow entry vanished: passed, reverse entry removed", r_nat_reply_orphan },
	{ "nat reply with a bad or truncated TCP header: dropped", r_nat_reply_bad_header },
	{ "nat v4 VIP to a v6 backend: drop", r_nat_mixed_family },
	{ "fullnat without local addresses: counted drop", r_fnat_no_lip },
	{ "rr and sh on the nat path: sequence walked, client address hashed", r_nat_sched_rr_sh },
	{ "nat TTL/hop limit: one off per hop, 1 is dropped (both directions)", r_nat_ttl },
	{ "nat reply over the client link's MTU: frag-needed to the backend", r_nat_reply_too_big },
	{ "lc (nat): least active*256+inactive; counts follow create, state, end", r_sched_lc },
	{ "dr with a cached next hop: its MACs and port; invalid or other address: route lookup", r_l2_dr },
	{ "tun with a cached next hop: its MTU decides too-big", r_l2_tun_mtu },
	{ "nat with a cached next hop: client side cached, replies looked up", r_l2_nat },
	{ "wlc (nat): overhead per weight; weight 0 skipped; empty list drops", r_sched_wlc },
	{ "decap: IPIP", r_decap_ipip },
	{ "decap: ip6ip6", r_decap_ip6ip6 },
	{ "decap: 4in6", r_decap_4in6 },
	{ "decap: 6in4", r_decap_6in4 },
	{ "decap: tunnel to another host passed untouched", r_decap_not_ours },
	{ "decap: plain traffic passed untouched", r_decap_plain },
	{ "decap: empty decap_addrs decapsulates nothing", r_decap_empty },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))
#define NBAD (sizeof(bad_rows) / sizeof(bad_rows[0]))

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int main(void)
{
	int passed = 0, failed = 0, skipped = 0, r;
	char why[512];
	size_t i;

	libbpf_set_print(libbpf_quiet);
	why[0] = 0;
	if (lab_setup(why, sizeof(why))) {
		for (i = 0; i < NROWS; i++)
			printf("SKIP %s: %s\n", rows[i].desc, why);
		for (i = 0; i < NBAD; i++)
			printf("SKIP %s: %s\n", bad_rows[i].desc, why);
		printf("0 passed, 0 failed, %zu skipped\n", NROWS + NBAD);
		return 0;
	}
	ifx_xa = if_nametoindex("xa");
	ifx_ya = if_nametoindex("ya");
	ncpu = libbpf_num_possible_cpus();

	skel = xlb_bpf__open();
	if (!skel) {
		printf("FAIL open xlb.bpf.o\n0 passed, 1 failed\n");
		return 1;
	}
	/* The default 1M-entry flow table is preallocated: keep tests light. */
	bpf_map__set_max_entries(skel->maps.flows, 4096);
	bpf_map__set_max_entries(skel->maps.nat_rev, 4096);
	if (xlb_bpf__load(skel)) {
		printf("FAIL load xlb.bpf.o (verifier)\n0 passed, 1 failed\n");
		return 1;
	}
	dskel = decap_bpf__open_and_load();
	if (!dskel) {
		printf("FAIL load decap.bpf.o (verifier)\n0 passed, 1 failed\n");
		return 1;
	}
	if (world_setup()) {
		printf("FAIL populate maps: %s\n0 passed, 1 failed\n", strerror(errno));
		return 1;
	}

	for (i = 0; i < NROWS + NBAD; i++) {
		const char *desc;

		why[0] = 0;
		if (i < NROWS) {
			desc = rows[i].desc;
			r = rows[i].fn(why, sizeof(why));
		} else {
			const struct bad_row *b = &bad_rows[i - NROWS];
			struct pkt in;

			desc = b->desc;
			b->mk(&in);
			r = expect(&in, b->verdict, &in, b->reason, why, sizeof(why));
		}
		if (r == 0) {
			printf("PASS %s\n", desc);
			passed++;
		} else if (r > 0) {
			printf("SKIP %s: %s\n", desc, why);
			skipped++;
		} else {
			printf("FAIL %s: %s\n", desc, why);
			failed++;
		}
	}
	decap_bpf__destroy(dskel);
	xlb_bpf__destroy(skel);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
