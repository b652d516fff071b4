// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb conns` for mode proxy: the open connections and udp sessions live in
 * the workers' own lists, which only their worker may walk. The control
 * thread hands one request to every worker through its mailbox; each adds
 * its rows between two of its event batches, so the data path takes no lock
 * for this, and a request costs the workers nothing until one is made. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "proxy_int.h"

#define ANSWER_WAIT_MS 1000u     /* for a worker to take the request */

static const char *tcp_state(const struct pconn *c)
{
	switch (c->state) {
	case PC_HEADER:
		return "HEADER";
	case PC_WAIT:
		return "WAIT_DATA";
	case PC_CONNECTING:
		return "CONNECTING";
	default:
		return c->c2s.eof || c->s2c.eof ? "FIN_WAIT" : "ESTABLISHED";
	}
}

static bool wanted(const struct pdump *d, const struct pservice *ps)
{
	return !d->vip || (ps->proto == d->proto && addr_equal(&ps->vip, d->vip));
}

/* The row of the next connection (of service ps, from client cli), its
 * service and client filled in; NULL when d already has max or memory ran
 * short (the connection is counted either way). */
static struct proxy_conn *row_add(struct pdump *d, const struct pservice *ps,
				  const union inet_sockaddr *cli)
{
	struct proxy_conn *r;

	d->total++;
	if (d->n >= d->max)
		return NULL;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct proxy_conn *rows = realloc(d->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		d->rows = rows;
		d->cap = cap;
	}
	r = &d->rows[d->n++];
	r->proto = ps->proto;
	r->service = ps->vip;
	addr_from_sockaddr(&cli->sa, &r->client);
	return r;
}

static uint64_t left(uint64_t at, uint64_t now)
{
	return at > now ? at - now : 0;
}

void pconns_answer(struct pworker *w)
{
	struct pdump *d;
	struct proxy_conn *r;

	if (!atomic_load_explicit(&w->dump, memory_order_relaxed))
		return;
	d = atomic_exchange(&w->dump, NULL);
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	for (struct pconn *c = w->conns.next; c != &w->conns; c = c->next) {
		if (c->dead || !wanted(d, c->ps) || !(r = row_add(d, c->ps, &c->cli)))
			continue;
		addr_from_sockaddr(&c->vip.sa, &r->vip);
		if (c->be)
			r->backend = c->be->addr;
		else
			r->backend.family = 0;
		r->state = tcp_state(c);
		r->expires_in_ms = left(ptcp_deadline(c), w->now);
	}
	for (struct usess *s = w->sess.next; s != &w->sess; s = s->next) {
		if (s->dead || !wanted(d, s->ps) || !(r = row_add(d, s->ps, &s->cli)))
			continue;
		r->vip = s->ps->vip;
		r->backend = s->be->addr;
		r->state = "UDP";
		r->expires_in_ms = left(s->last + s->idle_ms, w->now);
	}
	d->waiting--;
	pthread_cond_signal(&d->done);
	pthread_mutex_unlock(&d->mu);
}

size_t proxy_conns(uint8_t proto, const struct xlb_sockaddr *vip, size_t max,
		   struct proxy_conn **out, uint64_t *total, unsigned *missing)
{
	struct pdump d = { .proto = proto, .vip = vip, .max = max };
	pthread_condattr_t ca;
	struct timespec until;
	struct pworker *w;
	int ret = 0;

	*missing = 0;
	pthread_mutex_init(&d.mu, NULL);
	/* A monotonic deadline: the wall clock may step under the wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d.done, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&d.mu);
	for (unsigned k = 0; (w = pworker_get(k)); k++) {
		d.waiting++;
		atomic_store(&w->dump, &d);
		pworker_wake(w);
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ANSWER_WAIT_MS / 1000;
	while (d.waiting && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&d.done, &d.mu, &until);
	/* A worker that has not taken it by now (stuck in a long batch, or
	 * gone) is left out; one that has is adding its rows: wait for it. */
	for (unsigned k = 0; d.waiting && (w = pworker_get(k)); k++)
		if (atomic_exchange(&w->dump, NULL) == &d) {
			d.waiting--;
			(*missing)++;
		}
	while (d.waiting)
		pthread_cond_wait(&d.done, &d.mu);
	pthread_mutex_unlock(&d.mu);
	pthread_cond_destroy(&d.done);
	pthread_mutex_destroy(&d.mu);
	*out = d.rows;
	*total = d.total;
	return d.n;
}
