// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* UDP in mode proxy: one session per client address and port, each with
 * its own connected socket to the backend, so a reply can only go back to
 * the client whose datagrams that socket carried. Replies leave through the
 * service's listening socket, bound to VIP:port, so they come from the VIP. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proxy_int.h"

#define UDP_MAX_DGRAM 65536
#define UDP_BATCH     64

int pudp_init(struct pworker *w)
{
	w->buckets = calloc(PROXY_UDP_BUCKETS, sizeof(*w->buckets));
	w->udp_buf = malloc(UDP_MAX_DGRAM);
	if (!w->buckets || !w->udp_buf) {
		free(w->buckets);
		free(w->udp_buf);
		w->buckets = NULL;
		w->udp_buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

static uint64_t sess_hash(const struct pservice *ps, const struct sockaddr_storage *ss)
{
	uint8_t k[8 + 16 + 2] = { 0 };
	uintptr_t p = (uintptr_t)ps;

	memcpy(k, &p, sizeof(p));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		memcpy(k + 8, &s->sin_addr, 4);
		memcpy(k + 24, &s->sin_port, 2);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		memcpy(k + 8, &s->sin6_addr, 16);
		memcpy(k + 24, &s->sin6_port, 2);
	}
	return psched_hash(k, sizeof(k));
}

static bool same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, 16) &&
	       x->sin6_scope_id == y->sin6_scope_id;
}

static void sess_close(struct usess *s)
{
	struct pworker *w = s->w;
	struct usess **pp;

	if (s->dead)
		return;
	s->dead = true;
	s->prev->next = s->next;
	s->next->prev = s->prev;
	for (pp = &w->buckets[s->hash & (PROXY_UDP_BUCKETS - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	w->n_sess--;
	pbal_live(w, -1);
	if (s->bi.fd >= 0) {
		pitem_set(w, &s->bi, 0);
		close(s->bi.fd);
		s->bi.fd = -1;
	}
	atomic_fetch_sub_explicit(&s->be->load.active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->ps->active, 1, memory_order_relaxed);
	s->next = w->grave_s;
	w->grave_s = s;
}

static struct usess *sess_new(struct pworker *w, struct plisten *ls,
			      const struct sockaddr_storage *cli, socklen_t cl,
			      uint64_t h)
{
	struct psnap_svc *v = ls->cfg;
	struct pservice *ps = ls->ps;
	struct pbackend *be;
	struct usess *s;
	uint8_t key[18] = { 0 };
	int i, fd;

	if ((v->set.max_conn &&
	     atomic_load_explicit(&ps->active, memory_order_relaxed) >= v->set.max_conn) ||
	    w->n_sess >= PROXY_UDP_MAX) {
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return NULL;
	}
	if (cli->ss_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)cli)->sin_addr, 4);
		memcpy(key + 16, &((const struct sockaddr_in *)cli)->sin_port, 2);
	} else {
		memcpy(key, &((const struct sockaddr_in6 *)cli)->sin6_addr, 16);
		memcpy(key + 16, &((const struct sockaddr_in6 *)cli)->sin6_port, 2);
	}
	i = psched_pick(&v->sched, &v->cur[w->idx],
			psched_hash(key, v->sched.kind == XLB_SCHED_SH ? 16 : 18),
			0, w->now);
	if (i < 0) {
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return NULL;
	}
	be = v->be[i];
	fd = socket(be->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return NULL;
	}
	if (connect(fd, (const struct sockaddr *)&be->sa, be->salen)) {
		PCOUNT_ADD(PCNT(be, w), connect_fail, 1);
		PCOUNT_ADD(PCNT(ps, w), connect_fail, 1);
		close(fd);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return NULL;
	}
	s->w = w;
	s->lfd = ls->it.fd;
	s->ps = ps;
	s->be = be;
	s->cli = *cli;
	s->clilen = cl;
	s->idle_ms = v->set.client_ms;
	s->last = w->now;
	s->hash = h;
	s->bi = (struct pitem){ .type = PI_UDP_BACKEND, .fd = fd, .owner = s };
	atomic_fetch_add_explicit(&be->load.active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ps->active, 1, memory_order_relaxed);
	PCOUNT_ADD(PCNT(ps, w), total, 1);
	PCOUNT_ADD(PCNT(be, w), total, 1);
	s->next = w->sess.next;
	s->prev = &w->sess;
	w->sess.next->prev = s;
	w->sess.next = s;
	s->hnext = w->buckets[h & (PROXY_UDP_BUCKETS - 1)];
	w->buckets[h & (PROXY_UDP_BUCKETS - 1)] = s;
	w->n_sess++;
	pbal_live(w, 1);
	pbal_arrived(w);
	pitem_set(w, &s->bi, EPOLLIN);
	return s;
}

/* A refused datagram means nothing listens there (ICMP port unreachable):
 * the session ends, the client's next datagram picks another backend. */
static void backend_refused(struct usess *s)
{
	struct pworker *w = s->w;

	PCOUNT_ADD(PCNT(s->be, w), connect_fail, 1);
	PCOUNT_ADD(PCNT(s->ps, w), connect_fail, 1);
	atomic_store_explicit(&s->be->load.down_until, s->w->now + PROXY_DOWN_MS,
			      memory_order_relaxed);
	sess_close(s);
}

void pudp_listen_event(struct pworker *w, struct plisten *ls)
{
	for (int k = 0; k < UDP_BATCH; k++) {
		struct sockaddr_storage cli;
		socklen_t cl = sizeof(cli);
		struct usess *s;
		uint64_t h;
		ssize_t n;

		n = recvfrom(ls->it.fd, w->udp_buf, UDP_MAX_DGRAM, 0,
			     (struct sockaddr *)&cli, &cl);
		if (n < 0) {
			if (errno == EAGAIN)
				pbal_drained(w);
			return;         /* EAGAIN, or an ICMP error to ignore */
		}
		h = sess_hash(ls->ps, &cli);
		for (s = w->buckets[h & (PROXY_UDP_BUCKETS - 1)]; s; s = s->hnext)
			if (s->hash == h && s->ps == ls->ps && same_client(&s->cli, &cli))
				break;
		if (!s)
			s = sess_new(w, ls, &cli, cl, h);
		if (!s)
			continue;
		s->last = w->now;
		if (send(s->bi.fd, w->udp_buf, (size_t)n, 0) < 0) {
			if (errno == ECONNREFUSED)
				backend_refused(s);
			continue;
		}
		PCOUNT_ADD(PCNT(s->ps, w), bytes_in, (uint64_t)n);
		PCOUNT_ADD(PCNT(s->be, w), bytes_in, (uint64_t)n);
	}
}

void pudp_backend_event(struct pworker *w, struct usess *s, uint32_t ev)
{
	if (s->dead)
		return;
	for (int k = 0; k < UDP_BATCH; k++) {
		ssize_t n = recv(s->bi.fd, w->udp_buf, UDP_MAX_DGRAM, 0);

		if (n < 0) {
			if (errno == ECONNREFUSED)
				backend_refused(s);
			else if (errno != EAGAIN && errno != EINTR)
				sess_close(s);
			return;
		}
		s->last = w->now;
		if (sendto(s->lfd, w->udp_buf, (size_t)n, 0,
			   (const struct sockaddr *)&s->cli, s->clilen) < 0)
			continue;
		PCOUNT_ADD(PCNT(s->ps, w), bytes_out, (uint64_t)n);
		PCOUNT_ADD(PCNT(s->be, w), bytes_out, (uint64_t)n);
	}
}

void pudp_tick(struct pworker *w)
{
	struct usess *s, *next;

	for (s = w->sess.next; s != &w->sess; s = next) {
		next = s->next;
		if (w->now - s->last >= s->idle_ms)
			sess_close(s);
	}
}

/* The service is gone and so is the socket replies left from: its
 * sessions end now (UDP has no connection to drain). */
void pudp_drop_listener(struct pworker *w, struct plisten *ls)
{
	struct usess *s, *next;

	for (s = w->sess.next; s != &w->sess; s = next) {
		next = s->next;
		if (s->ps == ls->ps)
			sess_close(s);
	}
}

void pudp_free_all(struct pworker *w)
{
	while (w->sess.next != &w->sess)
		sess_close(w->sess.next);
	while (w->grave_s) {
		struct usess *s = w->grave_s;

		w->grave_s = s->next;
		free(s);
	}
	free(w->buckets);
	free(w->udp_buf);
	w->buckets = NULL;
	w->udp_buf = NULL;
}
