// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The BPF fixtures' harness (tests/bpf/fixture.c): the lab namespace, the
 * loaded programs, the fixture world of services and backends, the builders of
 * expected outputs, and the row type every per-concern file (fx_*.c) lists. */
#ifndef XLB_TEST_FIXTURE_H
#define XLB_TEST_FIXTURE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "xlb_dsrkey.h"
#include "xlb_dsrtab.h"
#include "xlb_hash.h"
#include "svcidx.h"
#include "cfgslots.h"
#include "lcslots.h"
#include "svcslots.h"
#include "xlb.skel.h"
#include "decap.skel.h"
#include "pkt.h"

#define XDP_ABORTED_ 0
#define XDP_DROP_    1
#define XDP_PASS_    2
#define XDP_TX_      3
#define XDP_REDIRECT_ 4

/* ---- the lab (see lab_cmds in fixture.c) ---------------------------------- */

static const uint8_t MAC_YA[6] = { 0x02, 0, 0, 0, 0, 0x1a };     /* 2nd port */
static const uint8_t MAC_B1[6] = { 0x02, 0, 0, 0, 1, 0x11 };
static const uint8_t MAC_B2[6] = { 0x02, 0, 0, 0, 1, 0x12 };
static const uint8_t MAC_B3[6] = { 0x02, 0, 0, 0, 1, 0x13 };
static const uint8_t MAC_B6_1[6] = { 0x02, 0, 0, 0, 6, 0x11 };
static const uint8_t MAC_B6_2[6] = { 0x02, 0, 0, 0, 6, 0x12 };
static const uint8_t MAC_B6_3[6] = { 0x02, 0, 0, 0, 6, 0x13 };
static const uint8_t MAC_Y1[6] = { 0x02, 0, 0, 0, 2, 0x11 };

/* A backend as xlbd writes one that is up, in its table, with a weight. */
#define BE_UP (XLB_BACKEND_F_ACTIVE | XLB_BACKEND_F_SCHED)

#define CLIENT4 "198.18.0.1"
#define CLIENT6 "2001:db8::1"
#define ROUTER4 "198.18.0.254"

/* ---- the fixture world (world_setup) --------------------------------------- */

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

/* ---- the loaded programs ------------------------------------------------- */

extern struct xlb_bpf *skel;
extern struct decap_bpf *dskel;
extern struct svcidx *svcidx;   /* the service index's writer */
extern struct svcslots *slots;  /* the services' slots by id, their writer */
extern struct cfgslots *cfgw;   /* the settings' slots, their writer */
extern struct lcslots *lcw;     /* the lc/wlc lists' slots, their writer */
extern int ifx_xa, ifx_ya, ncpu;
extern int ingress;             /* ingress ifindex of the next run; 0 = xa */
/* The HZ xlb.bpf.o was loaded with (bpf/select.h, xlb_hz): learnt as xlbd
 * does, or 0 when fixture_ns_clock was set before fixture_setup (the flood
 * guard's window then runs on the ns clock, xlbd's fallback). */
extern unsigned int fixture_hz;
extern int fixture_ns_clock;

/* ---- rows ------------------------------------------------------------------ */

/* A fixture: either fn (returns 0 pass, -1 fail, 1 skip, with why filled),
 * or mk, a frame that must come out untouched with verdict under reason. */
struct row {
	const char *desc;
	int (*fn)(char *why, size_t n);
	void (*mk)(struct pkt *p);
	int verdict;
	int reason;
};

/* The rows of one concern, run in order. */
struct suite {
	const char *name;
	const struct row *rows;
	size_t n;
};

extern const struct suite fx_dsr, fx_sched, fx_icmp, fx_nat, fx_frag, fx_l2,
	fx_malformed, fx_decap, fx_flood, fx_persist, fx_synproxy, fx_svcidx, fx_svcslots,
	fx_cfgslots, fx_lcslots, fx_ctrecycle;

#define ROW(name) static int name(char *why, size_t n)

/* Runs frame in through the program on CPU 0 for about two seconds while
 * CPU 1 calls write(0), write(1), write(2)... (each writes one of the
 * values of what, all of which give verdict and frame exp; reset, if not
 * NULL, after each frame): any other frame is a read of a value half
 * rewritten. 0, -1 (why says which frame), or 1 (skipped: one CPU). */
int torn_race(const struct pkt *in, int verdict, const struct pkt *exp,
	      int (*write)(uint64_t i), int (*reset)(void), const char *what,
	      char *why, size_t n);
/* torn_race where verdict other (any frame) is right too, -1: none. */
int torn_race_or(const struct pkt *in, int verdict, const struct pkt *exp,
		 int other, int (*write)(uint64_t i), int (*reset)(void),
		 const char *what, char *why, size_t n);
/* torn_race for a new nat/fullnat flow per frame (in, of spec s), each
 * transmitted as exp under write(0), write(1) and write(2) alike: the
 * frame under each of the three first, then the race, the flow's entry
 * and reverse entry deleted after each frame. */
int torn_race_new_flows(const struct spec *s, const struct pkt *in,
			const struct pkt *exp, int (*write)(uint64_t i),
			const char *what, char *why, size_t n);

/* Runs frame a (ingress ifa) on CPU 0 and frame b (ifb) on CPU 1 at the
 * same moment, round after round for about two seconds: prep() before
 * each round, the verdicts va and vb and check() after it. 0, -1 (why
 * says which round failed how), or 1 (skipped: one CPU). */
int pair_race(const struct pkt *a, int ifa, int va, const struct pkt *b,
	      int ifb, int vb, int (*prep)(void),
	      int (*check)(char *why, size_t n), char *why, size_t n);

/* A churn of the LRU map m for a write() of torn_race: A's entry (ka, va)
 * made, deleted, and B's (kb, vb) made at once in the element A's left (the
 * map gives the element a CPU freed last to that CPU's next update), read
 * back into got (vsize bytes) and deleted. 0, -EUCLEAN when what was read
 * back is not vb (written by a packet of A), or -errno. */
int lru_recycle(struct bpf_map *m, const void *ka, const void *va,
		const void *kb, const void *vb, void *got, size_t vsize);
int fixture_setup(char *why, size_t n);
void fixture_teardown(void);
const char *vname(int v);
struct xlb_counter counter_get(struct bpf_map *m, uint32_t id);
/* The sum over CPUs of a per-CPU array of u64 at key k (0 on error). */
uint64_t percpu_sum(struct bpf_map *m, uint32_t k);
int run_prog(int fd, const struct pkt *in, struct pkt *out, int ifindex,
		    int *verdict);
int expect_ex(int decap, const struct pkt *in, int verdict,
		     const struct pkt *exp, int reason, struct pkt *out,
		     char *why, size_t n);
int expect(const struct pkt *in, int verdict, const struct pkt *exp,
		  int reason, char *why, size_t n);
int filter_set(uint32_t set, const union xlb_addr *a);
int filter_clear(uint32_t set, const union xlb_addr *a);
int svc_write(const struct xlb_svc_key *k, const struct xlb_svc *v);
int svc_del(const struct xlb_svc_key *k);
int svc_add(const char *vip, uint16_t port, uint8_t proto,
		   uint32_t id, uint8_t mode, uint32_t table_size);
/* Sets the scheduler flags and seq_len of the tcp service vip:80. */
int svc_sched(const char *vip, uint8_t flags, uint16_t seq_len);
int backend_set(uint32_t id, const char *addr, uint8_t flags,
		       uint32_t svc);
int backend_port(uint32_t id, const char *addr, uint16_t port,
			uint32_t svc);
int backend_flags(uint32_t id, uint8_t flags);
int table_set(uint32_t svc, uint32_t size, const uint32_t *ids,
		     uint32_t n);
int table_one(uint32_t svc, uint32_t id);
/* Service svc's lc/wlc list: ids with weights w, as the daemon's
 * put_lc_list makes it, through xlbd's writer (the program reads no
 * svc_backends map). */
int lc_list(uint32_t svc, const uint32_t *ids, const uint32_t *w, uint32_t n);
void flows_clear(void);
int flow_backend(const struct spec *s, uint32_t *bid);
uint32_t spec_hash(const struct spec *s);
uint32_t spec_outer_hash(const struct spec *s);
void dr_expect(struct pkt *exp, const struct pkt *in, const uint8_t *dmac,
		      const uint8_t *smac);
/* The globals packets read (the settings' slots); globals_set: new ones
 * with the same LIPs, through xlbd's writer (the program reads no
 * globals map). */
const struct xlb_globals *globals_get(void);
int globals_set(const struct xlb_globals *g);
union xlb_addr tun_src(const struct spec *s, int outer_fam);
void tun_expect(struct pkt *exp, const struct pkt *in, const char *be,
		       const uint8_t *dmac, const struct spec *s);
void icmp_answer_expect(struct pkt *exp, const struct pkt *in,
			const struct spec *s, uint8_t type, uint8_t code,
			uint32_t info, size_t quote);
void too_big_expect(struct pkt *exp, const struct pkt *in,
		    const struct spec *s, uint32_t mtu);
int if_mac_set(int ifindex, const uint8_t *mac);
int icmp_tokens(uint64_t n);
void unreach_expect(struct pkt *exp, const struct pkt *in,
		    const struct spec *s);
void icmp_err_mk(struct pkt *p, const struct spec *s, uint8_t type,
			uint8_t code, uint32_t extra);
int fwd_dr(const struct spec *s, const uint8_t *mac, char *why, size_t n);
int fwd_tun(const struct spec *s, const char *be, const uint8_t *mac,
		   char *why, size_t n);
void nat_clear(void);
uint32_t nat_rev_count(void);
struct xlb_flow_key spec_key(const struct spec *s);
int dsr_get(const struct spec *s, struct xlb_dsr_flow *d);
/* The id of s's slot as stored, its mark (XLB_DSR_ID_UNKEYED) kept. */
int dsr_id_get(const struct spec *s, uint64_t *id);
/* The 5-tuple userspace reads beside s's slot (dsr_keys4/6). */
int dsr_key_get(const struct spec *s, struct xlb_flow_key *k);
int dsr_put(const struct spec *s, const struct xlb_dsr_flow *d);
/* cnt client ports from s's on (s's first) whose flows, s's otherwise,
 * share s's bucket of the dr/tun table: 0, or -1 when there are not cnt. */
int dsr_bucket_mates(const struct spec *s, int cnt, uint16_t *sports);
/* The dr/tun tables' sizes in dsr_params set to n4 and n6 buckets (0:
 * their maps' sizes, as xlbd sets them), their key kept: 0 or -1. */
int dsr_buckets_set(uint32_t n4, uint32_t n6);
/* The bucket of s's family's table that holds a slot of s's tag, found by
 * reading every bucket (-1: none); *want gets the one its hash gives. */
int dsr_bucket_held(const struct spec *s, uint32_t *want);
/* Sets the age of s's dr/tun entry to the tables' epoch plus delta. */
int dsr_age_set(const struct spec *s, int32_t delta);
int flow_get(const struct spec *s, struct xlb_flow *f);
int flow_put(const struct spec *s, const struct xlb_flow *f);
int flow_age(const struct spec *s, uint64_t age_s);
struct spec spec_rev(const struct spec *s, const char *src, uint16_t sport,
			    const char *dst, uint16_t dport, uint8_t flags);
void xlat_expect(struct pkt *exp, const struct pkt *in,
			const uint8_t *dmac, const uint8_t *smac,
			const char *src, uint16_t sport, const char *dst,
			uint16_t dport);
void icmp_mk(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
		    const char *osrc, const char *odst, uint8_t type,
		    uint8_t code, uint32_t extra, const struct spec *inner);
void hop(struct pkt *p);
int nat_step(const struct spec *in_s, int ifin, int verdict, int reason,
		    const uint8_t *dmac, const uint8_t *smac, const char *src,
		    uint16_t sport, const char *dst, uint16_t dport, char *why,
		    size_t n);
uint16_t fnat_port(const struct spec *s);
void lport_range(uint16_t lo, uint16_t hi);
int fnat_udp_assure(const struct spec *a, char *why, size_t n);
int want_state(const struct spec *s, uint8_t st, char *why, size_t n);
void svc_flows_set(uint32_t id, uint64_t max, uint32_t base, uint32_t len);
struct xlb_svc_flows svc_flows_get(uint32_t id);
uint64_t guard_get(int ev);
void guard_rate(uint32_t rate);
void base4(struct pkt *p, uint8_t proto, size_t paylen);
void base6(struct pkt *p, uint8_t proto, size_t paylen);

#endif
