// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the nat/fullnat sweeper and of the shared state machine
 * (include/xlb_ct.h) on real BPF hash maps (needs root; skipped otherwise). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "conntrack.h"
#include "xlb_ct.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")
#define S 1000000000ull

static const struct xlb_globals zero_g;

static void test_state_machine(void)
{
	uint8_t fl = 0, st;

	st = xlb_ct_initial(6, &fl);
	EXPECT(st == XLB_CT_SYN_SENT);
	EXPECT(xlb_ct_tcp_next(st, &fl, XLB_TCP_ACK, 0) == XLB_CT_SYN_SENT);
	/* The server's SYN-ACK: SYN_RECV; only the client's ACK establishes. */
	st = xlb_ct_tcp_next(st, &fl, XLB_TCP_SYN | XLB_TCP_ACK, 1);
	EXPECT(st == XLB_CT_SYN_RECV);
	EXPECT(xlb_ct_tcp_next(st, &fl, XLB_TCP_ACK, 1) == XLB_CT_SYN_RECV);
	EXPECT(xlb_ct_tcp_next(st, &fl, XLB_TCP_SYN, 0) == XLB_CT_SYN_RECV);
	st = xlb_ct_tcp_next(st, &fl, XLB_TCP_ACK, 0);
	EXPECT(st == XLB_CT_ESTABLISHED);
	st = xlb_ct_tcp_next(st, &fl, XLB_TCP_FIN | XLB_TCP_ACK, 1);
	EXPECT(st == XLB_CT_FIN_WAIT);
	EXPECT(xlb_ct_tcp_next(st, &fl, XLB_TCP_FIN, 1) == XLB_CT_FIN_WAIT);
	st = xlb_ct_tcp_next(st, &fl, XLB_TCP_FIN, 0);
	EXPECT(st == XLB_CT_TIME_WAIT);
	EXPECT(xlb_ct_tcp_next(XLB_CT_ESTABLISHED, &fl, XLB_TCP_RST, 0) == XLB_CT_CLOSE);
	EXPECT(xlb_ct_initial(17, &fl) == XLB_CT_UDP);
}

static void test_timeouts(void)
{
	struct xlb_globals g = zero_g;
	struct xlb_flow f = { 0 };

	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_ESTABLISHED) == 900 * S);
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_SYN_SENT) == 120 * S);
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_SYN_RECV) == 60 * S);
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_FIN_WAIT) == 120 * S);
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_CLOSE) == 10 * S);
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_UDP) == 300 * S);
	g.to_udp_s = 5;
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_UDP) == 5 * S);
	f.state = XLB_CT_UDP;
	f.last_seen_ns = 1000 * S;
	EXPECT(!xlb_ct_expired(&g, NULL, &f, 1005 * S));
	EXPECT(xlb_ct_expired(&g, NULL, &f, 1006 * S));
	EXPECT(!xlb_ct_expired(&g, NULL, &f, 999 * S));      /* refreshed elsewhere */
	f.state = XLB_CT_NONE;                          /* dr/tun: never */
	EXPECT(!xlb_ct_expired(&g, NULL, &f, 100000 * S));
}

/* A service's own timeouts override the instance's key by key; 0 keeps
 * the instance's (or the default). */
static void test_svc_timeouts(void)
{
	struct xlb_globals g = zero_g;
	struct xlb_svc_timeouts t = { 0 };
	struct xlb_flow f = { 0 };

	g.to_established_s = 600;
	t.to_established_s = 30;
	t.to_time_wait_s = 1;
	EXPECT(xlb_ct_timeout_ns(&g, &t, XLB_CT_ESTABLISHED) == 30 * S);
	EXPECT(xlb_ct_timeout_ns(&g, NULL, XLB_CT_ESTABLISHED) == 600 * S);
	EXPECT(xlb_ct_timeout_ns(&g, &t, XLB_CT_TIME_WAIT) == 1 * S);
	EXPECT(xlb_ct_timeout_ns(&g, &t, XLB_CT_FIN_WAIT) == 120 * S);
	EXPECT(xlb_ct_timeout_ns(&g, &t, XLB_CT_UDP) == 300 * S);
	EXPECT(xlb_ct_timeout_ns(&g, &t, XLB_CT_NONE) == ~0ull);
	f.state = XLB_CT_ESTABLISHED;
	f.last_seen_ns = 1000 * S;
	EXPECT(!xlb_ct_expired(&g, &t, &f, 1030 * S));
	EXPECT(xlb_ct_expired(&g, &t, &f, 1031 * S));
	EXPECT(!xlb_ct_expired(&g, NULL, &f, 1031 * S));
}

/* An entry made under the flood guard lives XLB_TO_GUARD_DEFAULT s at
 * most, whatever its state's timeout; without the flag, the state's. */
static void test_guard_timeout(void)
{
	struct xlb_flow f = { .state = XLB_CT_UDP, .last_seen_ns = 1000 * S };

	EXPECT(!xlb_ct_expired(&zero_g, NULL, &f, (1000 + XLB_TO_GUARD_DEFAULT + 1) * S));
	f.flags = XLB_FLOW_F_GUARD;
	EXPECT(xlb_ct_entry_timeout_ns(&zero_g, NULL, &f) == XLB_TO_GUARD_DEFAULT * S);
	EXPECT(!xlb_ct_expired(&zero_g, NULL, &f, (1000 + XLB_TO_GUARD_DEFAULT) * S));
	EXPECT(xlb_ct_expired(&zero_g, NULL, &f, (1000 + XLB_TO_GUARD_DEFAULT + 1) * S));
	f.state = XLB_CT_CLOSE;         /* 10 s: capped too */
	EXPECT(xlb_ct_entry_timeout_ns(&zero_g, NULL, &f) == XLB_TO_GUARD_DEFAULT * S);
}

static struct xlb_flow_key key(uint32_t src, uint16_t sport)
{
	struct xlb_flow_key k = { 0 };

	k.src.v4 = htonl(src);
	k.dst.v4 = htonl(0xc6120064);   /* 198.18.0.100 */
	k.sport_be = htons(sport);
	k.dport_be = htons(53);
	k.proto = 17;
	k.family = XLB_AF_INET;
	return k;
}

/* A flow of service svc_id in state (UDP for nat/fullnat when 0) with its
 * reverse entry, last seen age_s ago. */
static void add_svc(int ffd, int rfd, uint16_t sport, uint16_t lport,
		    uint8_t mode, uint32_t svc_id, uint8_t state, uint64_t now,
		    uint64_t age_s, struct xlb_flow_key *kout)
{
	struct xlb_flow_key k = key(0xc6120001, sport), rk;
	struct xlb_nat_rev rv = { .fwd = k };
	struct xlb_flow f = { 0 };

	f.backend_id = 7;
	f.svc_id = svc_id;
	f.last_seen_ns = now - age_s * S;
	f.raddr.v4 = htonl(0xc612000c);
	f.laddr.v4 = htonl(0xc6120102);
	f.rport_be = htons(53);
	f.lport_be = htons(lport);
	f.state = mode == XLB_MODE_DR ? XLB_CT_NONE : state ? state : XLB_CT_UDP;
	f.mode = mode;
	bpf_map_update_elem(ffd, &k, &f, 0);
	if (mode != XLB_MODE_DR) {
		xlb_ct_rev_key(&k, &f, &rk);
		bpf_map_update_elem(rfd, &rk, &rv, 0);
	}
	if (kout)
		*kout = k;
}

/* A fullnat flow with its reverse entry, last seen age_s ago. */
static void add(int ffd, int rfd, uint16_t sport, uint16_t lport, uint8_t mode,
		uint64_t now, uint64_t age_s, struct xlb_flow_key *kout)
{
	add_svc(ffd, rfd, sport, lport, mode, 0, 0, now, age_s, kout);
}

static unsigned count(int fd)
{
	struct xlb_flow_key k, n;
	unsigned c = 0;
	int more = bpf_map_get_next_key(fd, NULL, &n) == 0;

	while (more) {
		k = n;
		c++;
		more = bpf_map_get_next_key(fd, &k, &n) == 0;
	}
	return c;
}

static void test_sweep(void)
{
	uint32_t *act = calloc(XLB_MAX_BACKENDS, sizeof(*act));
	uint32_t *inact = calloc(XLB_MAX_BACKENDS, sizeof(*inact));
	struct ct_sweep_stats st = { .active = act, .inactive = inact };
	struct xlb_flow_key live, dead, orphan_k;
	struct xlb_nat_rev orphan = { .fwd = key(0xc6120009, 9) };
	struct xlb_flow f;
	uint64_t now = 100000 * S;
	int ffd, rfd;

	ffd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_flow), 64, NULL);
	rfd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_rev", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_nat_rev), 64, NULL);
	if (ffd < 0 || rfd < 0) {
		printf("SKIP test_sweep: cannot create BPF maps (%s)\n", strerror(errno));
		goto out;
	}
	add(ffd, rfd, 1001, 20001, XLB_MODE_FULLNAT, now, 10, &live);
	add(ffd, rfd, 1002, 20002, XLB_MODE_FULLNAT, now, 301, &dead);
	add(ffd, rfd, 1003, 20003, XLB_MODE_NAT, now, 400, NULL);
	add(ffd, rfd, 1004, 0, XLB_MODE_DR, now, 100000, NULL);
	orphan_k = key(0xc612000c, 53);
	orphan_k.dport_be = htons(20009);
	bpf_map_update_elem(rfd, &orphan_k, &orphan, 0);
	EXPECT(count(ffd) == 4 && count(rfd) == 4);

	EXPECT(conntrack_sweep(ffd, rfd, &zero_g, NULL, now, &st) == 0);
	EXPECT(st.flows == 3 && st.expired == 2 && st.orphans == 1);
	EXPECT(count(ffd) == 2);                /* live + dr */
	EXPECT(count(rfd) == 1);                /* live's claim */
	EXPECT(bpf_map_lookup_elem(ffd, &live, &f) == 0);
	EXPECT(bpf_map_lookup_elem(ffd, &dead, &f) != 0);
	EXPECT(act[7] == 1 && inact[7] == 0);

	/* backend_conns: the expired entries leave it, and counts that
	 * drifted (entries the LRU evicted) are set to what the pass saw. */
	st.conns = calloc(XLB_MAX_BACKENDS, sizeof(*st.conns));
	if (!st.conns)
		goto out;
	add(ffd, rfd, 1005, 20005, XLB_MODE_FULLNAT, now, 301, NULL);
	st.conns[7].active = 6;         /* live + 1005 + 4 evicted */
	st.conns[9].inactive = 4;       /* nothing left on 9 */
	EXPECT(conntrack_sweep(ffd, rfd, &zero_g, NULL, now, &st) == 0);
	EXPECT(st.expired == 1);
	EXPECT(st.conns[7].active == 1 && st.conns[7].inactive == 0);
	EXPECT(st.conns[9].active == 0 && st.conns[9].inactive == 0);
	free(st.conns);
out:
	if (ffd >= 0)
		close(ffd);
	if (rfd >= 0)
		close(rfd);
	free(act);
	free(inact);
}

/* The sweeper judges each entry by its service's timeouts (the array the
 * daemon keeps of the svc_timeouts map), as the data plane does: two
 * established flows idle 60 s, one of a service with a 30 s established
 * timeout (expired, its port claim freed), one of a service with none of
 * its own (kept under the default 900 s); likewise TIME_WAIT of 1 s. */
static void test_sweep_svc(void)
{
	struct xlb_svc_timeouts *svc_to = calloc(XLB_MAX_SERVICES, sizeof(*svc_to));
	struct ct_sweep_stats st = { 0 };
	struct xlb_flow_key short_k, dflt_k, tw_k, tw_dflt_k;
	struct xlb_flow f;
	uint64_t now = 100000 * S;
	int ffd, rfd;

	ffd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_flow), 64, NULL);
	rfd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_rev", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_nat_rev), 64, NULL);
	if (!svc_to || ffd < 0 || rfd < 0) {
		printf("SKIP test_sweep_svc: cannot create BPF maps (%s)\n",
		       strerror(errno));
		goto out;
	}
	svc_to[3].to_established_s = 30;
	svc_to[3].to_time_wait_s = 1;
	add_svc(ffd, rfd, 2001, 21001, XLB_MODE_FULLNAT, 3, XLB_CT_ESTABLISHED,
		now, 60, &short_k);
	add_svc(ffd, rfd, 2002, 21002, XLB_MODE_FULLNAT, 4, XLB_CT_ESTABLISHED,
		now, 60, &dflt_k);
	add_svc(ffd, rfd, 2003, 21003, XLB_MODE_NAT, 3, XLB_CT_TIME_WAIT,
		now, 2, &tw_k);
	add_svc(ffd, rfd, 2004, 21004, XLB_MODE_NAT, 4, XLB_CT_TIME_WAIT,
		now, 2, &tw_dflt_k);
	EXPECT(count(ffd) == 4 && count(rfd) == 4);

	/* Without the array: the instance's timeouts, nothing expires. */
	EXPECT(conntrack_sweep(ffd, rfd, &zero_g, NULL, now, &st) == 0);
	EXPECT(st.expired == 0 && count(ffd) == 4);

	EXPECT(conntrack_sweep(ffd, rfd, &zero_g, svc_to, now, &st) == 0);
	EXPECT(st.flows == 4 && st.expired == 2 && st.orphans == 0);
	EXPECT(bpf_map_lookup_elem(ffd, &short_k, &f) != 0);
	EXPECT(bpf_map_lookup_elem(ffd, &tw_k, &f) != 0);
	EXPECT(bpf_map_lookup_elem(ffd, &dflt_k, &f) == 0);
	EXPECT(bpf_map_lookup_elem(ffd, &tw_dflt_k, &f) == 0);
	EXPECT(count(rfd) == 2);        /* the kept flows' claims */
out:
	if (ffd >= 0)
		close(ffd);
	if (rfd >= 0)
		close(rfd);
	free(svc_to);
}

/* A pass over more entries than one batch (conntrack.c reads CT_BATCH at a
 * time): every third expired, all of them judged once. */
static void test_sweep_batches(void)
{
	struct ct_sweep_stats st = { 0 };
	uint64_t now = 100000 * S;
	int ffd, rfd;

	ffd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_flow), 4096, NULL);
	rfd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_rev", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_nat_rev), 4096, NULL);
	if (ffd < 0 || rfd < 0) {
		printf("SKIP test_sweep_batches: cannot create BPF maps (%s)\n",
		       strerror(errno));
		goto out;
	}
	for (uint16_t i = 0; i < 3000; i++)
		add(ffd, rfd, 10000 + i, 20000 + i, XLB_MODE_FULLNAT, now,
		    i % 3 ? 10 : 301, NULL);
	EXPECT(conntrack_sweep(ffd, rfd, &zero_g, NULL, now, &st) == 0);
	EXPECT(st.flows == 3000 && st.expired == 1000 && st.orphans == 0);
	EXPECT(count(ffd) == 2000 && count(rfd) == 2000);
out:
	if (ffd >= 0)
		close(ffd);
	if (rfd >= 0)
		close(rfd);
}

/* The sweeper thread: nothing while no nat/fullnat service is wanted;
 * once wanted, a pass expires what is due, keeps the counts of
 * backend_conns and of svc_flows (service 0: 11 entries, 10 expire; the
 * count of service 3 had drifted to 5 entries it does not have) and
 * reports the entries it saw. */
static void test_sweeper_thread(void)
{
	struct xlb_conns *conns = calloc(XLB_MAX_BACKENDS, sizeof(*conns));
	struct xlb_svc_flows *svcf = calloc(XLB_MAX_SERVICES, sizeof(*svcf));
	uint64_t now = conntrack_now_ns(), n = 0;
	struct ct_sweeper *sw = NULL;
	int ffd, rfd, gfd, tfd, i;
	uint32_t zero = 0;

	ffd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_flows", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_flow), 64, NULL);
	rfd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_rev", sizeof(struct xlb_flow_key),
			     sizeof(struct xlb_nat_rev), 64, NULL);
	gfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_glob", 4, sizeof(struct xlb_globals),
			     1, NULL);
	tfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_svcto", 4,
			     sizeof(struct xlb_svc_timeouts), XLB_MAX_SERVICES, NULL);
	if (!conns || !svcf || ffd < 0 || rfd < 0 || gfd < 0 || tfd < 0) {
		printf("SKIP test_sweeper_thread: cannot create BPF maps (%s)\n",
		       strerror(errno));
		goto out;
	}
	bpf_map_update_elem(gfd, &zero, &zero_g, 0);
	for (i = 0; i < 10; i++)
		add(ffd, rfd, 3000 + i, 23000 + i, XLB_MODE_FULLNAT, now, 301, NULL);
	add(ffd, rfd, 3100, 23100, XLB_MODE_FULLNAT, now, 10, NULL);
	conns[7].active = 11;
	svcf[0].n = 11;
	svcf[3].n = 5;
	CHECK(ct_sweeper_start(&sw, ffd, rfd, gfd, tfd, conns, svcf) == 0, "start");
	usleep(500000);
	EXPECT(count(ffd) == 11 && ct_sweeper_nat_flows(sw, &n) == -EAGAIN);
	ct_sweeper_want(sw, true);
	for (i = 0; i < 100 && ct_sweeper_nat_flows(sw, &n); i++)
		usleep(100000);
	EXPECT(ct_sweeper_nat_flows(sw, &n) == 0 && n == 11);
	EXPECT(count(ffd) == 1 && count(rfd) == 1);
	EXPECT(conns[7].active == 1 && conns[7].inactive == 0);
	EXPECT(svcf[0].n == 1 && svcf[3].n == 0);
out:
	ct_sweeper_stop(sw);
	for (int fd = 0, *fds[] = { &ffd, &rfd, &gfd, &tfd }; fd < 4; fd++)
		if (*fds[fd] >= 0)
			close(*fds[fd]);
	free(conns);
	free(svcf);
}

int main(void)
{
	RUN(test_state_machine);
	RUN(test_timeouts);
	RUN(test_svc_timeouts);
	RUN(test_guard_timeout);
	RUN(test_sweep);
	RUN(test_sweep_svc);
	RUN(test_sweep_batches);
	RUN(test_sweeper_thread);
	UNIT_SUMMARY();
}
