// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The machinery bench/xdp_cost and bench/katran_cmp share (xdp_lab.c): a
 * network namespace with the routes and neighbours xlb_xdp's bpf_fib_lookup
 * needs, xlb's maps filled with one service per mode, TCP test frames, and
 * BPF_PROG_TEST_RUN timing of a program behind bench/vary.bpf.c (the front
 * that restores the frame and varies the client tuple on every run). */
#ifndef XLB_BENCH_XDP_LAB_H
#define XLB_BENCH_XDP_LAB_H

#include <stdarg.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "xlb_cfgslots.h"
#include "xlb_dsrtab.h"
#include "xlb.skel.h"
#include "vary.skel.h"

#define PKT_LEN   96            /* every test frame; vary.bpf.c restores it */
#define BATCH     8192          /* new-flow packets between table flushes */
#define COLD_FLOWS 100000
#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define XDP_TX_   3
#define TCP_SYN   0x02
#define TCP_ACK   0x10
#define C4        "198.18.0.1"  /* the client, v4 and v6 */
#define C6        "2001:db8::1"

/* world_setup's services (ids): one VIP per mode and family, port 80, three
 * backends each (198.18.0.11-13, 2001:db8::11-13, on-link); dr and tun
 * once more under lc (their flows in the connection table, with state). */
enum { S_DR4 = 1, S_DR6, S_TUN4, S_TUN6, S_NAT4, S_NAT6, S_FN4, S_FN6,
       S_DRLC4, S_DRLC6, S_TUNLC4, S_TUNLC6 };

extern struct xlb_bpf *xs;      /* xlb_xdp, loaded by the caller */
extern struct vary_bpf *vs;     /* the front, loaded by the caller */
extern int ifx;                 /* the lab's interface (xa) */

/* The options both benches take. */
struct bench_opts {
	int rounds;             /* -r ROUNDS, 1..16 (5) */
	unsigned int repeat;    /* -n REPEAT: runs per measurement (1000000) */
	int quick;              /* -q: at most 3 rounds of 200000, fewer rows */
	const char *only;       /* -f WORDS: rows whose name has one of them */
	const char *row;        /* -F NAME: the row called NAME, commas and all */
	const char *json;       /* -j FILE: the rows as JSON */
	const char *kobj;       /* -k FILE (katran_cmp): Katran's balancer */
};

/* Reads argv into o, defaults first; -k only when with_k (then required).
 * 0, or 2 after printing the usage or what is wrong. */
int bench_opts_parse(int argc, char **argv, int with_k, unsigned int min_repeat,
		     struct bench_opts *o);
/* Whether -f or -F selects the row called name (neither: every row). */
int bench_row_selected(const struct bench_opts *o, const char *name);

/* Enters a new network namespace and builds the lab in it: 0 or -1. */
int lab_setup(void);
/* Gives xs (opened, not loaded) the kernel's HZ, as xlbd does, so that the
 * flood guard's window runs on jiffies; says so on stderr when it cannot. */
void lab_hz(struct xlb_bpf *xs);
/* A PKT_LEN-byte frame src:sp -> dst:dp, TCP with flags (tests/bpf/pkt.h). */
void mk(uint8_t *b, const char *src, uint16_t sp, const char *dst,
	uint16_t dp, uint8_t flags);
/* The flow key of TCP src:sp -> dst:80, as xlb_xdp builds it. */
struct xlb_flow_key lab_key(const char *src, uint16_t sp, const char *dst);
/* Fills xlb's maps as xlbd would for the services above: 0 or -errno. */
int world_setup(void);
/* Empty a hash map whose keys are at most 64 bytes. */
void map_clear_fd(int fd, uint32_t key_size);
void map_clear(struct bpf_map *m);
/* Empties every table xlb_xdp fills per flow (LRU maps, nat_rev, the
 * dr/tun tables). */
void xlb_tables_clear(void);
/* Defined by each bench: empties every table its new-flow batches fill
 * (front_new calls it between batches). */
void tables_clear(void);

/* One BPF_PROG_TEST_RUN of fd over pkt, rep times: the kernel's mean ns per
 * run, or -1; *verdict (if not NULL) gets the last run's return value, out
 * (if not NULL, PKT_LEN + 128 bytes) the frame. */
double run(int fd, const uint8_t *pkt, unsigned int rep, int *verdict,
	   uint8_t *out);
/* Times target_fd behind the front: vary 0 keeps the template's tuple, else
 * run i uses flow i % n_flows (n_flows 0: i itself). */
double front_run(int target_fd, const uint8_t *pkt, uint32_t n_flows,
		 int vary, unsigned int rep, int *verdict);
/* New flows behind the front: batches of BATCH, tables_clear() between. */
double front_new(int target_fd, const uint8_t *pkt, unsigned int rep,
		 int *verdict);
/* The id of the lab's service on vip, 0 for none. */
uint32_t svc_of_vip(const char *vip);
/* Client x of the cold rows' filler flows (v4 or v6). */
union xlb_addr cold_client(uint32_t x, int v6);
/* fill(from, cnt, arg) over [0, n) in equal shares, pinned to each CPU in
 * turn (an LRU map with per-CPU lists fills each CPU's share): 0 or -errno. */
int fill_on_each_cpu(uint32_t n, int (*fill)(uint32_t from, uint32_t cnt, void *arg),
		     void *arg);
/* Fills xlb's dr/tun flow table with n flows of other clients to vip (each
 * CPU its share). */
int cold_fill(const char *vip, uint32_t n);
/* The number of entries of the dr/tun flow table of vip's family. */
uint32_t cold_capacity(const char *vip);
/* xlb's dr/tun flow table of family v6, mapped (NULL: cannot be). */
struct xlb_dsr_bucket *dsr_table(int v6);
/* xlb's dr/tun entry of flow key f: 0, or -1 for none. */
int dsr_lookup(const struct xlb_flow_key *f, struct xlb_dsr_flow *d);
/* The globals xlb's packets read (its settings' slots), and new ones
 * with the same LIPs, written as xlbd writes them. */
void globals_get(struct xlb_globals *g);
int globals_set(const struct xlb_globals *g);
/* Sets xlb's flood guard rate (0: off, as world_setup leaves it). */
void guard_rate(uint32_t rate);

double median(const double *v, int n);  /* of n <= 16 values */
double vmin(const double *v, int n);
double vmax(const double *v, int n);
/* libbpf print callback: warnings only. */
int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt, va_list ap);

#endif
