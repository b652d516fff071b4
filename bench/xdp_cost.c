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
 * Usage: xdp_cost [-r ROUNDS] [-n REPEAT] [-q] [-f WORDS] [-F NAME] [-j FILE.json]
 * -f: only the rows whose name contains one of the comma-separated WORDS
 *     (a word "=NAME": the row named NAME exactly); -F: the row called NAME
 *     alone, commas and all.
 * Needs root (netns, BPF). Prints a markdown table on stdout. */
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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_abi.h"
#include "pkt.h"
#include "baseline.skel.h"
#include "floor.skel.h"
#include "xdp_lab.h"

static struct bench_opts opt;   /* bench_opts_parse */

static struct baseline_bpf *bs;
static struct floor_bpf *fs;

void tables_clear(void)
{
	xlb_tables_clear();
	if (fs)
		map_clear(fs->maps.floor_new_flows);
}

/* K_FLOOD: new flows with the flood guard engaged (guard_rate 1: every
 * new flow but the first of each second is over the rate). K_SYNPROXY:
 * the same with syn_proxy on: each SYN answered with a SYN cookie.
 * K_ACK_FLOOD: a bare ACK of a new tuple each, syn_proxy on: no entry, so
 * its ack is checked as a cookie (wrong) and it is dropped. K_ACK_NEW: a
 * bare ACK of a new tuple each to an lc dr/tun VIP: a miss in flows, then
 * the look in the dr/tun table for a compact entry xlbd could not copy
 * (bpf/xlb.bpf.c, end of xlb_xdp), a miss too, then a pickup scheduled by
 * lc (an ACK flood's cost on such a service). */
enum kind { K_EST, K_NEW, K_COLD, K_PASS, K_FLOOR, K_FLOOR_NEW, K_FLOOD,
	    K_SYNPROXY, K_ACK_FLOOD, K_ACK_NEW };

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
	{ "dr v4 established, lc", K_EST, C4, "198.18.0.102", 0, XDP_TX_, 1.2 },
	{ "dr v6 established, lc", K_EST, C6, "2001:db8::102", 0, XDP_TX_, 1.2 },
	{ "tun v4 established, lc", K_EST, C4, "198.18.0.103", 0, XDP_TX_, 1.2 },
	{ "tun v6 established, lc", K_EST, C6, "2001:db8::103", 0, XDP_TX_, 1.2 },
	{ "dr v4 bare ACK, no entry, lc (picked up)", K_ACK_NEW, C4, "198.18.0.102", 0, XDP_TX_, 0 },
	{ "tun v6 bare ACK, no entry, lc (picked up)", K_ACK_NEW, C6, "2001:db8::103", 0, XDP_TX_, 0 },
	{ "dr v4 new flow, flood guard engaged", K_FLOOD, C4, "198.18.0.100", 0, XDP_TX_, 1.5 },
	{ "dr v6 new flow, flood guard engaged", K_FLOOD, C6, "2001:db8::100", 0, XDP_TX_, 1.5 },
	{ "tun v4 new flow, flood guard engaged", K_FLOOD, C4, "198.18.0.101", 0, XDP_TX_, 1.5 },
	{ "tun v6 new flow, flood guard engaged", K_FLOOD, C6, "2001:db8::101", 0, XDP_TX_, 1.5 },
	{ "nat v4 new flow, flood guard engaged", K_FLOOD, C4, "198.18.0.110", 0, XDP_TX_, 1.5 },
	{ "nat v4 SYN, flood guard engaged, SYN proxy (cookie SYN-ACK)", K_SYNPROXY, C4, "198.18.0.110", 0, XDP_TX_, 1.5 },
	{ "fullnat v6 SYN, flood guard engaged, SYN proxy (cookie SYN-ACK)", K_SYNPROXY, C6, "2001:db8::111", 0, XDP_TX_, 1.5 },
	{ "nat v4 bare ACK, no entry, SYN proxy (cookie checked, bad)", K_ACK_FLOOD, C4, "198.18.0.110", 0, XDP_DROP_, 1.5 },
	{ "fullnat v6 bare ACK, no entry, SYN proxy (cookie checked, bad)", K_ACK_FLOOD, C6, "2001:db8::111", 0, XDP_DROP_, 1.5 },
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

/* The SYN proxy on or off (off, as world_setup left it). */
static void syn_proxy(int on)
{
	struct xlb_globals g;

	globals_get(&g);
	g.syn_proxy = on;
	g.syn_key[0] = 0x5eed1234u;
	globals_set(&g);
}

/* The flow entry of src:sp -> dst:80: a nat/fullnat one in *f, or a dr/tun
 * one (dsr_flows4/6, *f zeroed). 0, or -1 when there is none. */
static int flow_of(const char *src, uint16_t sp, const char *dst,
		   struct xlb_flow *f)
{
	struct xlb_flow_key k = lab_key(src, sp, dst);
	struct xlb_dsr_flow d;

	memset(f, 0, sizeof(*f));
	if (dsr_lookup(&k, &d) == 0)
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
	    r->kind == K_FLOOR_NEW || r->kind == K_SYNPROXY || r->kind == K_ACK_FLOOD ||
	    r->kind == K_ACK_NEW) {
		mk(r->pkt, r->src, sp, r->dst, 80,
		   r->kind == K_PASS || r->kind == K_ACK_FLOOD || r->kind == K_ACK_NEW ?
		   TCP_ACK : TCP_SYN);
		return 0;
	}
	if (r->kind == K_FLOOR) {
		struct xlb_flow_key k = lab_key(r->src, sp, r->dst);

		memset(&f, 0, sizeof(f));
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
 * (198.18.200.0/21), then establishes the COLD_FLOWS the row cycles over.
 * The table is filled to capacity and emptied first, so that the row's
 * flows lie scattered over the table's memory whatever ran before (as in
 * katran_cmp's cold_prepare). */
static int cold_prepare(struct row *r)
{
	int v = -1;

	tables_clear();
	if (cold_fill(r->dst, cold_capacity(r->dst)))
		return -1;
	tables_clear();
	if (cold_fill(r->dst, (1u << 20) - COLD_FLOWS - 4096))
		return -1;
	mk(r->pkt, r->src, 40000, r->dst, 80, TCP_ACK);
	front_run(xlb_fd(), r->pkt, COLD_FLOWS, 1, COLD_FLOWS, &v);
	return v == XDP_TX_ ? 0 : -1;
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
	tb = run(bfd, r->pkt, opt.repeat, NULL, NULL);
	/* pass leaves the frame as the next run needs it: time xlb alone
	 * too, a check on the front subtraction. (dr no longer does: its
	 * new destination MAC is not xa's, which the MAC check then passes.) */
	r->r_direct[rd] = 0;
	if (r->kind == K_PASS || r->kind == K_FLOOR)
		r->r_direct[rd] = run(prog_fd(r), r->pkt, opt.repeat, NULL, NULL) /
				  run(bfd, r->pkt, opt.repeat, NULL, NULL);
	switch (r->kind) {
	case K_NEW:
	case K_FLOOD:
	case K_SYNPROXY:
	case K_ACK_FLOOD:
	case K_ACK_NEW:
	case K_FLOOR_NEW: {
		unsigned int nrep = opt.quick ? 4 * BATCH : 32 * BATCH;

		tbf = front_new(bfd, r->pkt, nrep, &vb);
		guard_rate(r->kind == K_FLOOD || r->kind == K_SYNPROXY ? 1 : 0);
		syn_proxy(r->kind == K_SYNPROXY || r->kind == K_ACK_FLOOD);
		tx = front_new(prog_fd(r), r->pkt, nrep, &v);
		syn_proxy(0);
		guard_rate(0);
		break;
	}
	case K_COLD:
		tbf = front_run(bfd, r->pkt, COLD_FLOWS, 1, opt.repeat, &vb);
		tx = front_run(xlb_fd(), r->pkt, COLD_FLOWS, 1, opt.repeat, &v);
		break;
	default:
		tbf = front_run(bfd, r->pkt, 1, 0, opt.repeat, &vb);
		tx = front_run(prog_fd(r), r->pkt, 1, 0, opt.repeat, &v);
	}
	if (v != r->want)
		r->bad_verdict = v ? v : -2;
	r->t_b[rd] = tb;
	r->t_x[rd] = tx;
	r->t_bf[rd] = tbf;
	r->r_raw[rd] = tx / tbf;
	r->r_net[rd] = (tx - tbf + tb) / tb;
}

int main(int argc, char **argv)
{
	int rd, fails = 0, nj = 0;
	int active[NROWS];
	FILE *jf = NULL;
	size_t i;

	if (bench_opts_parse(argc, argv, 0, 1000, &opt))
		return 2;
	libbpf_set_print(libbpf_quiet);
	if (lab_setup())
		return 1;
	xs = xlb_bpf__open();
	if (!xs)
		return fprintf(stderr, "xdp_cost: cannot open xlb.bpf.o\n"), 1;
	/* nat_rev at 256k keeps memory modest; flows and dsr_flows4/6 keep
	 * the 1M default. */
	bpf_map__set_max_entries(xs->maps.nat_rev, 1 << 18);
	lab_hz(xs);
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

		active[i] = (!opt.quick || row_in_quick(r)) && bench_row_selected(&opt, r->name);
		if (!active[i] || r->kind == K_COLD)
			continue;
		if (row_prepare(r)) {
			fprintf(stderr, "xdp_cost: %s: set-up refused by xlb_xdp\n",
				r->name);
			r->bad_verdict = -1;
		}
	}
	/* Interleaved: every round visits every row, baseline next to xlb. */
	for (rd = 0; rd < opt.rounds; rd++) {
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
		for (rd = 0; rd < opt.rounds; rd++)
			row_round(&rows[i], rd);
	}

	if (opt.json)
		jf = fopen(opt.json, "w");
	if (jf)
		fprintf(jf, "{\"bench\":\"xdp_cost\",\"rounds\":%d,\"repeat\":%u,"
			"\"new_flow_batch\":%d,\"rows\":[", opt.rounds, opt.repeat, BATCH);
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
		med = median(r->r_net, opt.rounds);
		if (median(r->r_direct, opt.rounds) > 0)
			snprintf(dstr, sizeof(dstr), "%.2fx",
				 median(r->r_direct, opt.rounds));
		tx = median(r->t_x, opt.rounds);
		tb = median(r->t_b, opt.rounds);
		st = r->bad_verdict == -2 ? "FAIL: flow set-up refused" :
		     r->bad_verdict ? "FAIL: wrong verdict" :
		     !r->target ? "reference" :
		     med <= r->target ? "ok" : "SHORT of target";
		if (r->bad_verdict || (r->target && med > r->target))
			fails++;
		snprintf(tstr, sizeof(tstr), r->target ? "<= %.1fx" : "-", r->target);
		printf("| %s | %.1f | %.1f | %.1f | %.2fx (%.2f-%.2f) | %s | %s | %s |\n",
		       r->name, tx, median(r->t_bf, opt.rounds), tb, med,
		       vmin(r->r_net, opt.rounds), vmax(r->r_net, opt.rounds), dstr,
		       tstr, st);
		if (jf) {
			fprintf(jf, "%s{\"row\":\"%s\",\"ratio\":%.3f,\"ratio_min\":%.3f,"
				"\"ratio_max\":%.3f,\"ratio_with_front\":%.3f,"
				"\"xlb_ns_with_front\":%.1f,\"baseline_ns\":%.1f,"
				"\"baseline_ns_with_front\":%.1f,\"ratio_direct\":%.3f,"
				"\"target\":%.1f,\"status\":\"%s\"}",
				nj++ ? "," : "", r->name, med,
				vmin(r->r_net, opt.rounds), vmax(r->r_net, opt.rounds),
				median(r->r_raw, opt.rounds), tx, tb,
				median(r->t_bf, opt.rounds), median(r->r_direct, opt.rounds),
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
	       opt.rounds, opt.repeat, opt.quick ? 4 * BATCH : 32 * BATCH, BATCH, fails);
	xlb_bpf__destroy(xs);
	baseline_bpf__destroy(bs);
	floor_bpf__destroy(fs);
	vary_bpf__destroy(vs);
	return 0;
}
