// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Sweeps expired nat/fullnat flow entries and orphaned reverse entries out
 * of the data plane's maps (see conntrack.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "conntrack.h"
#include "xlb_ct.h"

uint64_t conntrack_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int is_nat(const struct xlb_flow *f)
{
	return f->mode == XLB_MODE_NAT || f->mode == XLB_MODE_FULLNAT;
}

/* Adds d to the count of f's class of backend f->backend_id in conns (the
 * data plane adds to the same words with atomic instructions). */
static void conns_add(struct xlb_conns *conns, const struct xlb_flow *f,
		      __s64 d)
{
	struct xlb_conns *c;

	if (!conns || f->backend_id >= XLB_MAX_BACKENDS || f->state == XLB_CT_NONE)
		return;
	c = &conns[f->backend_id];
	__atomic_fetch_add(xlb_ct_is_active(f->state) ? &c->active : &c->inactive,
			   d, __ATOMIC_RELAXED);
}

/* One count of backend_conns: set it to want if it still holds seen (no
 * flow of the backend came or went during the pass). */
static void conns_fix(__s64 *at, __s64 seen, __s64 want)
{
	if (seen != want)
		__atomic_compare_exchange_n(at, &seen, want, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
}

/* The reconciliation of backend_conns after a pass (see conntrack.h):
 * before holds the counts at the start, minus the pass's own removals. */
static void conns_reconcile(struct xlb_conns *conns, const struct xlb_conns *before,
			    const struct ct_sweep_stats *st)
{
	for (uint32_t id = 0; id < XLB_MAX_BACKENDS; id++) {
		conns_fix(&conns[id].active, before[id].active, st->active[id]);
		conns_fix(&conns[id].inactive, before[id].inactive,
			  st->inactive[id]);
	}
}

/* Walks a hash map's keys with get_next_key; deleting the current key
 * while walking is fine as long as the next key was fetched first. */
/* The timeouts of f's service in svc_to (NULL: none), as the data plane
 * reads svc_timeouts[f->svc_id]. */
static const struct xlb_svc_timeouts *svc_to_of(const struct xlb_svc_timeouts *svc_to,
						const struct xlb_flow *f)
{
	return svc_to && f->svc_id < XLB_MAX_SERVICES ? &svc_to[f->svc_id] : NULL;
}

int conntrack_sweep(int flows_fd, int rev_fd, const struct xlb_globals *g,
		    const struct xlb_svc_timeouts *svc_to, uint64_t now_ns,
		    struct ct_sweep_stats *st)
{
	struct xlb_conns *conns = st ? st->conns : NULL, *before = NULL;
	struct xlb_flow_key k, next, rk;
	struct xlb_nat_rev rv;
	struct xlb_flow f;
	int more;

	if (st) {
		st->flows = st->expired = st->orphans = 0;
		if (st->active)
			memset(st->active, 0, XLB_MAX_BACKENDS * sizeof(*st->active));
		if (st->inactive)
			memset(st->inactive, 0, XLB_MAX_BACKENDS * sizeof(*st->inactive));
	}

	/* A reconciliation needs the counts before the pass. */
	if (conns && st->active && st->inactive) {
		before = malloc(XLB_MAX_BACKENDS * sizeof(*before));
		for (uint32_t id = 0; before && id < XLB_MAX_BACKENDS; id++) {
			before[id].active = __atomic_load_n(&conns[id].active,
							    __ATOMIC_RELAXED);
			before[id].inactive = __atomic_load_n(&conns[id].inactive,
							      __ATOMIC_RELAXED);
		}
	}

	more = bpf_map_get_next_key(flows_fd, NULL, &next) == 0;
	while (more) {
		k = next;
		more = bpf_map_get_next_key(flows_fd, &k, &next) == 0;
		if (bpf_map_lookup_elem(flows_fd, &k, &f) || !is_nat(&f))
			continue;
		if (st)
			st->flows++;
		if (xlb_ct_expired(g, svc_to_of(svc_to, &f), &f, now_ns)) {
			/* The reverse entry first: once it is gone no reply
			 * can reach the entry, and its port is free again. */
			xlb_ct_rev_key(&k, &f, &rk);
			if (bpf_map_lookup_elem(rev_fd, &rk, &rv) == 0 &&
			    memcmp(&rv.fwd, &k, sizeof(k)) == 0)
				bpf_map_delete_elem(rev_fd, &rk);
			/* Only the side whose delete succeeded uncounts it. */
			if (bpf_map_delete_elem(flows_fd, &k) == 0) {
				conns_add(conns, &f, -1);
				if (before)
					conns_add(before, &f, -1);
			}
			if (st)
				st->expired++;
			continue;
		}
		if (st && f.backend_id < XLB_MAX_BACKENDS) {
			uint32_t *c = xlb_ct_is_active(f.state) ? st->active :
								 st->inactive;

			if (c)
				c[f.backend_id]++;
		}
	}

	/* Reverse entries whose flow is gone (LRU eviction, a lost race
	 * between CPUs) or no longer uses them. */
	more = bpf_map_get_next_key(rev_fd, NULL, &next) == 0;
	while (more) {
		k = next;
		more = bpf_map_get_next_key(rev_fd, &k, &next) == 0;
		if (bpf_map_lookup_elem(rev_fd, &k, &rv))
			continue;
		if (bpf_map_lookup_elem(flows_fd, &rv.fwd, &f) == 0 && is_nat(&f) &&
		    !xlb_ct_expired(g, svc_to_of(svc_to, &f), &f, now_ns)) {
			xlb_ct_rev_key(&rv.fwd, &f, &rk);
			if (memcmp(&rk, &k, sizeof(k)) == 0)
				continue;
		}
		bpf_map_delete_elem(rev_fd, &k);
		if (st)
			st->orphans++;
	}
	if (before)
		conns_reconcile(conns, before, st);
	free(before);
	return 0;
}
