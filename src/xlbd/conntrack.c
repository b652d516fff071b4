// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Sweeps expired nat/fullnat flow entries (and the counted dr/tun entries of
 * lc/wlc services) and orphaned reverse entries out of the data plane's maps,
 * in bounded steps on a thread of its own (see conntrack.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "conntrack.h"
#include "xlb_ct.h"

/* Entries read per step: one batch syscall, then a bounded amount of work. */
#define CT_BATCH 1024

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

/* Entries with a state and a timeout: nat/fullnat, and dr/tun entries of
 * lc/wlc services (counted in backend_conns, XLB_CT_* from the client's
 * segments); other dr/tun entries only leave the LRU table. */
static int is_tracked(const struct xlb_flow *f)
{
	return is_nat(f) || f->state != XLB_CT_NONE;
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

/* Adds d to the entries of f's service in svc_flows (the data plane adds
 * to the same word atomically): every tracked entry is in its service's
 * share. */
static void svc_add(struct xlb_svc_flows *svc_flows, const struct xlb_flow *f,
		    __s64 d)
{
	if (svc_flows && is_tracked(f) && f->svc_id < XLB_MAX_SERVICES)
		__atomic_fetch_add(&svc_flows[f->svc_id].n, d, __ATOMIC_RELAXED);
}

/* One count of backend_conns or svc_flows: set it to want if it still
 * holds seen (no flow of the backend or service came or went during the
 * pass). */
static void conns_fix(__s64 *at, __s64 seen, __s64 want)
{
	if (seen != want)
		__atomic_compare_exchange_n(at, &seen, want, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
}

/* The timeouts of f's service in svc_to (NULL: none), as the data plane
 * reads svc_timeouts[f->svc_id]. */
static const struct xlb_svc_timeouts *svc_to_of(const struct xlb_svc_timeouts *svc_to,
						const struct xlb_flow *f)
{
	return svc_to && f->svc_id < XLB_MAX_SERVICES ? &svc_to[f->svc_id] : NULL;
}

/* ---- one pass, in steps ---------------------------------------------------- */

/* A pass reads each map with BPF_MAP_LOOKUP_BATCH: its cursor is a bucket
 * position, not a key, so entries evicted or deleted under the walk do not
 * send it back to the start (get_next_key from a vanished key does). */
struct ct_pass {
	int flows_fd, rev_fd;
	const struct xlb_globals *g;
	const struct xlb_svc_timeouts *svc_to;
	uint64_t now;
	struct ct_sweep_stats *st;
	struct xlb_conns *before;       /* backend_conns at the start */
	__s64 *svc_before;              /* svc_flows[].n at the start */
	__u64 *svc_head;                /* svc_flows[].head at the start */
	int phase;                      /* 0: flows, 1: nat_rev, 2: done */
	bool started;                   /* the phase's first batch was read */
	__u32 cursor;
	struct xlb_flow_key keys[CT_BATCH];
	union {
		struct xlb_flow flows[CT_BATCH];
		struct xlb_nat_rev revs[CT_BATCH];
	} v;
};

/* The next batch of fd into p->keys and vals: the count read (0 at the end
 * of the map), or -errno. */
static int pass_batch(struct ct_pass *p, int fd, void *vals)
{
	__u32 n = CT_BATCH;
	int ret;

	ret = bpf_map_lookup_batch(fd, p->started ? &p->cursor : NULL, &p->cursor,
				   p->keys, vals, &n, NULL);
	p->started = true;
	if (ret && errno != ENOENT)
		return -errno;
	if (ret)
		p->phase++;             /* ENOENT: this was the last batch */
	return (int)n;
}

/* An expired flow entry k: its reverse entry first (once it is gone no
 * reply can reach the entry, and its port is free again), then the entry,
 * read again at once so that a packet since the batch saves it. */
static void expire_flow(struct ct_pass *p, const struct xlb_flow_key *k)
{
	struct xlb_flow_key rk;
	struct xlb_nat_rev rv;
	struct xlb_flow f;

	if (bpf_map_lookup_elem(p->flows_fd, k, &f) ||
	    !xlb_ct_expired(p->g, svc_to_of(p->svc_to, &f), &f, p->now))
		return;
	xlb_ct_rev_key(k, &f, &rk);
	if (bpf_map_lookup_elem(p->rev_fd, &rk, &rv) == 0 &&
	    memcmp(&rv.fwd, k, sizeof(*k)) == 0)
		bpf_map_delete_elem(p->rev_fd, &rk);
	/* Only the side whose delete succeeded uncounts it. */
	if (bpf_map_delete_elem(p->flows_fd, k) == 0) {
		conns_add(p->st->conns, &f, -1);
		conns_add(p->before, &f, -1);
		svc_add(p->st->svc_flows, &f, -1);
		if (p->svc_before && is_tracked(&f) && f.svc_id < XLB_MAX_SERVICES)
			p->svc_before[f.svc_id]--;
	}
	p->st->expired++;
}

static void flows_step(struct ct_pass *p, int n)
{
	struct ct_sweep_stats *st = p->st;

	for (int i = 0; i < n; i++) {
		const struct xlb_flow *f = &p->v.flows[i];

		if (!is_tracked(f))
			continue;
		st->flows++;
		if (xlb_ct_expired(p->g, svc_to_of(p->svc_to, f), f, p->now)) {
			expire_flow(p, &p->keys[i]);
			continue;
		}
		if (f->backend_id < XLB_MAX_BACKENDS && st->active && st->inactive)
			(xlb_ct_is_active(f->state) ? st->active :
						      st->inactive)[f->backend_id]++;
		if (st->svc_n && f->svc_id < XLB_MAX_SERVICES)
			st->svc_n[f->svc_id]++;
	}
}

/* Reverse entries whose flow is gone (LRU eviction, a lost race between
 * CPUs) or no longer uses them. */
static void rev_step(struct ct_pass *p, int n)
{
	struct xlb_flow_key rk;
	struct xlb_flow f;

	for (int i = 0; i < n; i++) {
		const struct xlb_flow_key *k = &p->keys[i], *fwd = &p->v.revs[i].fwd;

		if (bpf_map_lookup_elem(p->flows_fd, fwd, &f) == 0 && is_nat(&f) &&
		    !xlb_ct_expired(p->g, svc_to_of(p->svc_to, &f), &f, p->now)) {
			xlb_ct_rev_key(fwd, &f, &rk);
			if (memcmp(&rk, k, sizeof(*k)) == 0)
				continue;
		}
		bpf_map_delete_elem(p->rev_fd, k);
		p->st->orphans++;
	}
}

/* The services' counts n and ring heads at the start of pass p: a count
 * is corrected at the end only if neither moved (at max_flows, a flood's
 * new entries and the ones they end leave n where it was). */
static void svc_snapshot(struct ct_pass *p, const struct xlb_svc_flows *sf)
{
	p->svc_before = malloc(XLB_MAX_SERVICES * sizeof(*p->svc_before));
	p->svc_head = malloc(XLB_MAX_SERVICES * sizeof(*p->svc_head));
	for (uint32_t id = 0; p->svc_before && p->svc_head && id < XLB_MAX_SERVICES; id++) {
		p->svc_before[id] = __atomic_load_n(&sf[id].n, __ATOMIC_RELAXED);
		p->svc_head[id] = __atomic_load_n(&sf[id].head, __ATOMIC_RELAXED);
	}
}

/* Starts a pass; the counts of st start from zero and a snapshot of
 * st->conns is taken for the reconciliation at the end. NULL: no memory. */
static struct ct_pass *pass_begin(int flows_fd, int rev_fd, const struct xlb_globals *g,
				  const struct xlb_svc_timeouts *svc_to, uint64_t now,
				  struct ct_sweep_stats *st)
{
	struct ct_pass *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	*p = (struct ct_pass){ .flows_fd = flows_fd, .rev_fd = rev_fd, .g = g,
			       .svc_to = svc_to, .now = now, .st = st };
	st->flows = st->expired = st->orphans = 0;
	if (st->active)
		memset(st->active, 0, XLB_MAX_BACKENDS * sizeof(*st->active));
	if (st->inactive)
		memset(st->inactive, 0, XLB_MAX_BACKENDS * sizeof(*st->inactive));
	if (st->svc_n)
		memset(st->svc_n, 0, XLB_MAX_SERVICES * sizeof(*st->svc_n));
	if (st->svc_flows && st->svc_n)
		svc_snapshot(p, st->svc_flows);
	if (st->conns && st->active && st->inactive) {
		p->before = malloc(XLB_MAX_BACKENDS * sizeof(*p->before));
		for (uint32_t id = 0; p->before && id < XLB_MAX_BACKENDS; id++) {
			p->before[id].active = __atomic_load_n(&st->conns[id].active,
							       __ATOMIC_RELAXED);
			p->before[id].inactive = __atomic_load_n(&st->conns[id].inactive,
								 __ATOMIC_RELAXED);
		}
	}
	return p;
}

/* One batch of the pass: 1 while there is more, 0 when the pass is done,
 * or -errno (the pass is over too). */
static int pass_step(struct ct_pass *p)
{
	int n;

	if (p->phase == 0) {
		n = pass_batch(p, p->flows_fd, p->v.flows);
		if (n > 0)
			flows_step(p, n);
		if (p->phase == 1)
			p->started = false;
	} else if (p->phase == 1) {
		n = pass_batch(p, p->rev_fd, p->v.revs);
		if (n > 0)
			rev_step(p, n);
	} else {
		return 0;
	}
	if (n < 0)
		p->phase = 2;
	return n < 0 ? n : p->phase < 2;
}

/* Ends the pass: where a backend's or a service's counts did not move
 * during it but differ from what it counted (entries the LRU table evicted,
 * lost races), they are set to its counts; only after a complete pass (ok). */
static void pass_end(struct ct_pass *p, bool ok)
{
	struct ct_sweep_stats *st = p->st;

	for (uint32_t id = 0; ok && p->before && id < XLB_MAX_BACKENDS; id++) {
		conns_fix(&st->conns[id].active, p->before[id].active, st->active[id]);
		conns_fix(&st->conns[id].inactive, p->before[id].inactive,
			  st->inactive[id]);
	}
	for (uint32_t id = 0; ok && p->svc_before && p->svc_head && id < XLB_MAX_SERVICES; id++)
		if (__atomic_load_n(&st->svc_flows[id].head, __ATOMIC_RELAXED) == p->svc_head[id])
			conns_fix(&st->svc_flows[id].n, p->svc_before[id], st->svc_n[id]);
	free(p->before);
	free(p->svc_before);
	free(p->svc_head);
	free(p);
}

int conntrack_sweep(int flows_fd, int rev_fd, const struct xlb_globals *g,
		    const struct xlb_svc_timeouts *svc_to, uint64_t now_ns,
		    struct ct_sweep_stats *st)
{
	struct ct_sweep_stats own = { 0 };
	struct ct_pass *p;
	int ret;

	p = pass_begin(flows_fd, rev_fd, g, svc_to, now_ns, st ? st : &own);
	if (!p)
		return -ENOMEM;
	while ((ret = pass_step(p)) > 0)
		;
	pass_end(p, ret == 0);
	return ret;
}

/* ---- the sweeper thread ------------------------------------------------------ */

struct ct_sweeper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;                      /* under lock */
	bool want;                      /* atomic: nat/fullnat services exist */
	uint64_t nat_flows;             /* atomic: the last complete pass's count */
	bool counted;                   /* atomic: a pass completed */
	int flows_fd, rev_fd, globals_fd, svc_to_fd;
	struct xlb_conns *conns;
	struct xlb_svc_flows *svc_flows;
	uint32_t *active, *inactive;    /* the pass's counts */
	uint32_t *svc_n;
	struct xlb_svc_timeouts svc_to[XLB_MAX_SERVICES];
};

/* Sleeps ns unless told to stop; returns whether to stop. */
static bool sweeper_wait(struct ct_sweeper *s, uint64_t ns)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	pthread_mutex_lock(&s->lock);
	while (!s->stop &&
	       pthread_cond_timedwait(&s->wake, &s->lock, &ts) != ETIMEDOUT)
		;
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

/* The timeouts the data plane judges entries by: the instance's and every
 * service's, read from their maps at the start of a pass. */
static int sweeper_timeouts(struct ct_sweeper *s, struct xlb_globals *g)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(s->globals_fd, &zero, g))
		return -errno;
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++)
		if (bpf_map_lookup_elem(s->svc_to_fd, &id, &s->svc_to[id]))
			memset(&s->svc_to[id], 0, sizeof(s->svc_to[id]));
	return 0;
}

/* One pass, a batch at a time; after each batch it sleeps CT_DUTY times as
 * long as the batch took, so the thread uses at most 1/(CT_DUTY+1) of a CPU
 * whatever the table's size (a full 1M table takes a few seconds). */
#define CT_DUTY 4
static bool sweeper_pass(struct ct_sweeper *s)
{
	struct ct_sweep_stats st = { .active = s->active, .inactive = s->inactive,
				     .conns = s->conns, .svc_n = s->svc_n,
				     .svc_flows = s->svc_flows };
	struct xlb_globals g;
	struct ct_pass *p;
	uint64_t t0;
	int ret;

	if (sweeper_timeouts(s, &g))
		return false;
	p = pass_begin(s->flows_fd, s->rev_fd, &g, s->svc_to, conntrack_now_ns(), &st);
	if (!p)
		return false;
	do {
		t0 = conntrack_now_ns();
		ret = pass_step(p);
		if (ret > 0 && sweeper_wait(s, CT_DUTY * (conntrack_now_ns() - t0))) {
			pass_end(p, false);
			return true;
		}
	} while (ret > 0);
	pass_end(p, ret == 0);
	if (ret == 0) {
		__atomic_store_n(&s->nat_flows, st.flows, __ATOMIC_RELAXED);
		__atomic_store_n(&s->counted, true, __ATOMIC_RELEASE);
	}
	return false;
}

static void *sweeper_main(void *arg)
{
	struct ct_sweeper *s = arg;
	uint64_t t0;

	for (;;) {
		t0 = conntrack_now_ns();
		if (__atomic_load_n(&s->want, __ATOMIC_RELAXED) && sweeper_pass(s))
			break;
		t0 += CT_SWEEP_PERIOD_NS;
		if (sweeper_wait(s, t0 > conntrack_now_ns() ? t0 - conntrack_now_ns() : 0))
			break;
	}
	return NULL;
}

int ct_sweeper_start(struct ct_sweeper **out, int flows_fd, int rev_fd,
		     int globals_fd, int svc_to_fd, struct xlb_conns *conns,
		     struct xlb_svc_flows *svc_flows)
{
	struct ct_sweeper *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->flows_fd = flows_fd;
	s->rev_fd = rev_fd;
	s->globals_fd = globals_fd;
	s->svc_to_fd = svc_to_fd;
	s->conns = conns;
	s->svc_flows = svc_flows;
	s->active = calloc(XLB_MAX_BACKENDS, sizeof(*s->active));
	s->inactive = calloc(XLB_MAX_BACKENDS, sizeof(*s->inactive));
	s->svc_n = calloc(XLB_MAX_SERVICES, sizeof(*s->svc_n));
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	ret = s->active && s->inactive && s->svc_n ?
	      -pthread_create(&s->thread, NULL, sweeper_main, s) : -ENOMEM;
	if (ret) {
		free(s->active);
		free(s->inactive);
		free(s->svc_n);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void ct_sweeper_want(struct ct_sweeper *s, bool want)
{
	if (s)
		__atomic_store_n(&s->want, want, __ATOMIC_RELAXED);
}

int ct_sweeper_nat_flows(struct ct_sweeper *s, uint64_t *n)
{
	if (!s || !__atomic_load_n(&s->counted, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	*n = __atomic_load_n(&s->nat_flows, __ATOMIC_RELAXED);
	return 0;
}

void ct_sweeper_stop(struct ct_sweeper *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->active);
	free(s->inactive);
	free(s->svc_n);
	free(s);
}
