/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The userspace side of nat/fullnat connection tracking: a sweeper that
 * removes expired flow entries and their reverse entries (freeing fullnat
 * local ports of flows that went idle without another packet), and counts
 * the live ones per backend. It runs on a thread of its own in bounded
 * steps, never on the daemon's control loop, and not at all while no
 * nat/fullnat service exists (dr/tun entries never expire). */
#ifndef XLB_CONNTRACK_H
#define XLB_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "xlb_abi.h"

struct ct_sweep_stats {
	uint64_t flows;                 /* nat/fullnat entries seen */
	uint64_t expired;               /* entries removed as expired */
	uint64_t orphans;               /* reverse entries without a live flow */
	/* Per backend id: live entries in ESTABLISHED or UDP (active) and in
	 * any other state (inactive), as IPVS counts ActiveConn/InActConn.
	 * NULL: not counted. */
	uint32_t *active;
	uint32_t *inactive;
	/* The data plane's backend_conns map (mmapped), or NULL. Entries the
	 * pass expires leave its counts; and where a backend's counts did not
	 * move during the pass but differ from what the pass counted (entries
	 * the LRU table evicted, lost races), they are set to the pass's
	 * counts (needs active and inactive). */
	struct xlb_conns *conns;
	/* Per service id: live nat/fullnat entries (NULL: not counted); and
	 * the data plane's svc_flows map (mmapped, or NULL), whose counts n
	 * are kept right the same way (needs svc_n). */
	uint32_t *svc_n;
	struct xlb_svc_flows *svc_flows;
};

/* One pass over the flows map (flows_fd) and the nat_rev map (rev_fd) at
 * time now_ns (CLOCK_MONOTONIC; the data plane's coarse reading of it lags
 * by at most a jiffy) with the timeouts of g, overridden per service by
 * svc_to (XLB_MAX_SERVICES entries indexed by service id, as the
 * svc_timeouts map holds them; NULL: none).
 * Entries of dr/tun flows are left alone. Returns 0 or -errno; st (may be
 * NULL) receives the counts. */
int conntrack_sweep(int flows_fd, int rev_fd, const struct xlb_globals *g,
		    const struct xlb_svc_timeouts *svc_to, uint64_t now_ns,
		    struct ct_sweep_stats *st);

/* CLOCK_MONOTONIC in ns. */
uint64_t conntrack_now_ns(void);

/* A pass starts at most this often. */
#define CT_SWEEP_PERIOD_NS 1000000000ull

struct ct_sweeper;

/* Starts the sweeper thread over the data plane's flows, nat_rev, globals
 * and svc_timeouts maps (fds) and its mmapped backend_conns (conns) and
 * svc_flows (svc_flows), kept right as conntrack_sweep does. It sweeps
 * only while wanted. Start it after any fork. Returns 0 or -errno. */
int ct_sweeper_start(struct ct_sweeper **s, int flows_fd, int rev_fd,
		     int globals_fd, int svc_to_fd, struct xlb_conns *conns,
		     struct xlb_svc_flows *svc_flows);
/* Whether to sweep (nat/fullnat services exist); s may be NULL. */
void ct_sweeper_want(struct ct_sweeper *s, bool want);
/* The nat/fullnat entries the last complete pass saw: 0, or -EAGAIN when
 * no pass completed yet. */
int ct_sweeper_nat_flows(struct ct_sweeper *s, uint64_t *n);
/* Stops the thread (mid-pass if need be) and frees s; s may be NULL. */
void ct_sweeper_stop(struct ct_sweeper *s);

#endif /* XLB_CONNTRACK_H */
