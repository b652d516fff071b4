// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* UDP in mode proxy: one session per client address and port, each with
 * its own connected socket to the backend, so a reply can only go back to
 * the client whose datagrams that socket carried. Replies leave through the
 * service's listening socket, bound to VIP:port, so they come from the VIP.
 *
 * Datagrams move in batches: recvmmsg on the listener, then all of them to
 * their sessions' backends in one io_uring_enter (without a ring: one
 * sendmmsg per session); recvmmsg on a session's socket straight into the
 * worker's reply batch, which goes out with one sendmmsg per listener at
 * the end of the event batch (or when full).
 *
 * At max_connections (or PROXY_UDP_MAX sessions in the worker) the idlest
 * session makes room for a new client, as for TCP: a client that sent
 * once and went away must not keep the next ones out until its idle
 * timeout. */
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
#define UDP_BATCH     32

/* A worker's batches. The buffers are UDP_BATCH x 64 KiB each, address
 * space mostly: only what datagrams touch gets memory. */
struct pudp_io {
	/* from the listener: datagrams and the session each goes to */
	struct mmsghdr rx[UDP_BATCH];
	struct iovec rx_iov[UDP_BATCH];
	union inet_sockaddr rx_addr[UDP_BATCH];
	struct usess *rx_sess[UDP_BATCH];
	struct mmsghdr fw[UDP_BATCH];           /* one session's share */
	char *rx_buf;
	/* replies waiting for sendmmsg on tx_fd (a listener) */
	struct mmsghdr tx[UDP_BATCH];
	struct iovec tx_iov[UDP_BATCH];
	struct pservice *tx_ps[UDP_BATCH];
	struct pbackend *tx_be[UDP_BATCH];
	unsigned tx_n;
	int tx_fd;
	char *tx_buf;
	unsigned inflight;                      /* forward_ring's sends */
};

int pudp_init(struct pworker *w)
{
	struct pudp_io *io = calloc(1, sizeof(*io));

	w->buckets = calloc(PROXY_UDP_BUCKETS, sizeof(*w->buckets));
	if (io) {
		io->rx_buf = malloc((size_t)UDP_BATCH * UDP_MAX_DGRAM);
		io->tx_buf = malloc((size_t)UDP_BATCH * UDP_MAX_DGRAM);
	}
	if (!w->buckets || !io || !io->rx_buf || !io->tx_buf) {
		free(w->buckets);
		if (io) {
			free(io->rx_buf);
			free(io->tx_buf);
		}
		free(io);
		w->buckets = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		io->rx_iov[i] = (struct iovec){ io->rx_buf + (size_t)i * UDP_MAX_DGRAM,
						UDP_MAX_DGRAM };
		io->tx_iov[i] = (struct iovec){ io->tx_buf + (size_t)i * UDP_MAX_DGRAM,
						UDP_MAX_DGRAM };
	}
	io->tx_fd = -1;
	w->udp = io;
	return 0;
}

static uint64_t sess_hash(const struct pservice *ps, const union inet_sockaddr *ss)
{
	uint8_t k[8 + 16 + 2] = { 0 };
	uintptr_t p = (uintptr_t)ps;

	memcpy(k, &p, sizeof(p));
	if (ss->sa.sa_family == AF_INET) {
		const struct sockaddr_in *s = &ss->in;

		memcpy(k + 8, &s->sin_addr, 4);
		memcpy(k + 24, &s->sin_port, 2);
	} else {
		const struct sockaddr_in6 *s = &ss->in6;

		memcpy(k + 8, &s->sin6_addr, 16);
		memcpy(k + 24, &s->sin6_port, 2);
	}
	return psched_hash(k, sizeof(k));
}

static bool same_client(const union inet_sockaddr *a, const union inet_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET) {
		const struct sockaddr_in *x = &a->in, *y = &b->in;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = &a->in6, *y = &b->in6;

	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, 16) &&
	       x->sin6_scope_id == y->sin6_scope_id;
}

static void sess_unlink(struct usess *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
}

/* At the front of the worker's list: the most recently active. */
static void sess_push(struct pworker *w, struct usess *s)
{
	s->next = w->sess.next;
	s->prev = &w->sess;
	w->sess.next->prev = s;
	w->sess.next = s;
}

static void sess_close(struct usess *s)
{
	struct pworker *w = s->w;
	struct usess **pp;

	if (s->dead)
		return;
	s->dead = true;
	ptimer_disarm(&s->tm);
	sess_unlink(s);
	for (pp = &w->buckets[s->hash & (PROXY_UDP_BUCKETS - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	w->n_sess--;
	pbal_live(w, -1);
	if (s->bi.fd >= 0) {
		pring_before_close(w);
		pitem_set(w, &s->bi, 0);
		close(s->bi.fd);
		s->bi.fd = -1;
	}
	atomic_fetch_sub_explicit(&s->be->load.active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->ps->active, 1, memory_order_relaxed);
	s->next = w->grave_s;
	w->grave_s = s;
}

static void backend_event(struct pworker *w, struct pitem *it, uint32_t ev);
static void query_done(struct pworker *w, struct preq *r, int res);

/* A datagram either way: the session moves to the front of the worker's
 * list, so its end holds the idlest (pudp_shed). */
static void sess_touch(struct pworker *w, struct usess *s)
{
	s->last = w->now;
	if (w->sess.next != s) {
		sess_unlink(s);
		sess_push(w, s);
	}
}

/* Close the worker's idlest session of ps (any service when ps is NULL)
 * if it has been idle PROXY_SHED_IDLE_MS, counted as a timeout. Returns
 * true when one was shed. */
bool pudp_shed(struct pworker *w, struct pservice *ps)
{
	struct usess *s = w->sess.prev;

	for (int k = 0; k < PROXY_SHED_LOOK && s != &w->sess; k++, s = s->prev) {
		if (w->now - s->last < PROXY_SHED_IDLE_MS)
			return false;   /* the rest are more recent */
		if (ps && s->ps != ps)
			continue;
		PCOUNT_ADD(PCNT(s->ps, w), timeouts, 1);
		sess_close(s);
		return true;
	}
	return false;
}

/* The idle timer: a session that saw traffic since waits again. */
static void sess_expired(struct pworker *w, struct ptimer *t)
{
	struct usess *s = (struct usess *)((char *)t - offsetof(struct usess, tm));

	if (w->now - s->last < s->idle_ms)
		ptimer_arm(&w->wheel, t, s->last + s->idle_ms);
	else
		sess_close(s);
}

/* The backend of a new session: sh hashes the client's address, the other
 * schedulers address and port. NULL (counted as rejected) if none. */
static struct pbackend *sess_pick(struct pworker *w, struct plisten *ls,
				  const union inet_sockaddr *cli)
{
	struct psnap_svc *v = ls->cfg;
	uint8_t key[18] = { 0 };
	int i;

	if (cli->sa.sa_family == AF_INET) {
		memcpy(key, &cli->in.sin_addr, 4);
		memcpy(key + 16, &cli->in.sin_port, 2);
	} else {
		memcpy(key, &cli->in6.sin6_addr, 16);
		memcpy(key + 16, &cli->in6.sin6_port, 2);
	}
	i = ppersist_pick(v, &v->cur[w->idx], cli,
			  psched_hash(key, v->sched.kind == XLB_SCHED_SH ? 16 : 18),
			  0, w->now);
	if (i < 0) {
		PCOUNT_ADD(PCNT(ls->ps, w), rejected, 1);
		return NULL;
	}
	return v->be[i];
}

/* A socket connected to @be, so its replies come back on it alone.
 * Returns the fd, or -1 with the failure counted. */
static int sess_connect(struct pworker *w, struct pservice *ps,
			struct pbackend *be)
{
	int fd = socket(be->sa.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&be->sa, be->salen)) {
		PCOUNT_ADD(PCNT(be, w), connect_fail, 1);
		PCOUNT_ADD(PCNT(ps, w), connect_fail, 1);
		close(fd);
		return -1;
	}
	return fd;
}

/* Counts @s as live and puts it on the worker's list and hash bucket. */
static void sess_link(struct pworker *w, struct usess *s, uint64_t h)
{
	atomic_fetch_add_explicit(&s->be->load.active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->ps->active, 1, memory_order_relaxed);
	PCOUNT_ADD(PCNT(s->ps, w), total, 1);
	PCOUNT_ADD(PCNT(s->be, w), total, 1);
	sess_push(w, s);
	s->hnext = w->buckets[h & (PROXY_UDP_BUCKETS - 1)];
	w->buckets[h & (PROXY_UDP_BUCKETS - 1)] = s;
	w->n_sess++;
	pbal_live(w, 1);
	pbal_arrived(w);
}

static struct usess *sess_new(struct pworker *w, struct plisten *ls,
			      const union inet_sockaddr *cli, socklen_t cl,
			      uint64_t h)
{
	struct psnap_svc *v = ls->cfg;
	struct pservice *ps = ls->ps;
	struct pbackend *be;
	struct usess *s;
	int fd;

	if (v->set.max_conn &&
	    atomic_load_explicit(&ps->active, memory_order_relaxed) >= v->set.max_conn &&
	    !pudp_shed(w, ps)) {
		/* Another worker may hold the idlest: its tick sheds it. */
		atomic_store_explicit(&ps->starved, true, memory_order_relaxed);
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return NULL;
	}
	if (w->n_sess >= PROXY_UDP_MAX && !pudp_shed(w, NULL)) {
		PCOUNT_ADD(PCNT(ps, w), rejected, 1);
		return NULL;
	}
	be = sess_pick(w, ls, cli);
	if (!be)
		return NULL;
	fd = sess_connect(w, ps, be);
	if (fd < 0)
		return NULL;
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
	s->tm.fire = sess_expired;
	ptimer_arm(&w->wheel, &s->tm, s->last + s->idle_ms);
	s->hash = h;
	s->bi = (struct pitem){ .handle = backend_event, .fd = fd, .owner = s };
	s->req.done = query_done;
	sess_link(w, s, h);
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

static struct usess *sess_find(struct pworker *w, struct plisten *ls,
			       const union inet_sockaddr *cli, socklen_t cl)
{
	uint64_t h = sess_hash(ls->ps, cli);
	struct usess *s;

	for (s = w->buckets[h & (PROXY_UDP_BUCKETS - 1)]; s; s = s->hnext)
		if (s->hash == h && s->ps == ls->ps && same_client(&s->cli, cli))
			return s;
	return sess_new(w, ls, cli, cl, h);
}

/* A query's send to the backend is done (res: bytes, or -errno). A refused
 * one means nothing listens there (ICMP port unreachable). */
static void query_sent(struct pworker *w, struct usess *s, int res)
{
	if (s->dead)
		return;
	if (res == -ECONNREFUSED) {
		backend_refused(s);
	} else if (res > 0) {
		PCOUNT_ADD(PCNT(s->ps, w), bytes_in, (uint64_t)res);
		PCOUNT_ADD(PCNT(s->be, w), bytes_in, (uint64_t)res);
	}
}

/* The same, from the ring. */
static void query_done(struct pworker *w, struct preq *r, int res)
{
	w->udp->inflight--;
	query_sent(w, container_of(r, struct usess, req), res);
}

/* The batch's datagrams to their sessions' backends: one request each,
 * all in one io_uring_enter, done before the buffers are used again. */
static void forward_ring(struct pworker *w, int n)
{
	struct pudp_io *io = w->udp;

	for (int i = 0; i < n; i++) {
		struct usess *s = io->rx_sess[i];
		struct io_uring_sqe *sqe;

		if (!s)
			continue;
		sqe = pring_sqe(w, &s->req);
		if (!sqe) {
			if (send(s->bi.fd, io->rx_iov[i].iov_base, io->rx[i].msg_len, 0) < 0)
				query_sent(w, s, -errno);
			else
				query_sent(w, s, (int)io->rx[i].msg_len);
			continue;
		}
		io_uring_prep_send(sqe, s->bi.fd, io->rx_iov[i].iov_base, io->rx[i].msg_len,
				   MSG_DONTWAIT);
		io->inflight++;
	}
	pring_submit(w);
	pring_reap(w);
	/* They complete inline (MSG_DONTWAIT); should one not, the next
	 * recvmmsg must still not write over its datagram. */
	while (io->inflight && pring_wait(w) == 0)
		pring_reap(w);
}

/* Without a ring: each session's datagrams, in their order, in one
 * sendmmsg. */
static void forward_mmsg(struct pworker *w, int n)
{
	struct pudp_io *io = w->udp;

	for (int i = 0; i < n; i++) {
		struct usess *s = io->rx_sess[i];
		unsigned m = 0;
		uint64_t bytes = 0;
		int r;

		if (!s)
			continue;
		for (int j = i; j < n; j++) {
			if (io->rx_sess[j] != s)
				continue;
			io->fw[m].msg_hdr = (struct msghdr){
				.msg_iov = &io->rx_iov[j], .msg_iovlen = 1 };
			io->rx_iov[j].iov_len = io->rx[j].msg_len;
			bytes += io->rx[j].msg_len;
			m++;
			io->rx_sess[j] = NULL;
		}
		r = sendmmsg(s->bi.fd, io->fw, m, 0);
		for (unsigned j = 0; j < m; j++)
			io->fw[j].msg_hdr.msg_iov->iov_len = UDP_MAX_DGRAM;
		if (r < 0) {
			query_sent(w, s, -errno);
			continue;
		}
		PCOUNT_ADD(PCNT(s->ps, w), bytes_in, bytes);
		PCOUNT_ADD(PCNT(s->be, w), bytes_in, bytes);
	}
}

void pudp_listen_event(struct pworker *w, struct pitem *it, uint32_t ev)
{
	struct plisten *ls = it->owner;
	struct pudp_io *io = w->udp;

	for (int round = 0; round < 2; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++)
			io->rx[i].msg_hdr = (struct msghdr){
				.msg_name = &io->rx_addr[i],
				.msg_namelen = sizeof(io->rx_addr[i]),
				.msg_iov = &io->rx_iov[i], .msg_iovlen = 1 };
		n = recvmmsg(ls->it.fd, io->rx, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				pbal_drained(w);
			return;         /* EAGAIN, or an ICMP error to ignore */
		}
		for (int i = 0; i < n; i++) {
			struct usess *s = sess_find(w, ls, &io->rx_addr[i],
						    io->rx[i].msg_hdr.msg_namelen);

			io->rx_sess[i] = s;
			if (s)
				sess_touch(w, s);
		}
		if (w->has_ring && n > PROXY_DIRECT_MAX)
			forward_ring(w, n);
		else
			forward_mmsg(w, n);
		if (n < UDP_BATCH) {
			pbal_drained(w);
			return;
		}
	}
}

/* Send the replies waiting in the batch (a datagram that cannot go is
 * dropped, as a full socket buffer would drop it). */
void pudp_flush(struct pworker *w)
{
	struct pudp_io *io = w->udp;
	unsigned done = 0;

	while (done < io->tx_n) {
		int r = sendmmsg(io->tx_fd, io->tx + done, io->tx_n - done, 0);

		if (r <= 0) {
			done++;         /* skip the one that failed */
			continue;
		}
		for (unsigned i = done; i < done + (unsigned)r; i++) {
			PCOUNT_ADD(PCNT(io->tx_ps[i], w), bytes_out, io->tx[i].msg_len);
			PCOUNT_ADD(PCNT(io->tx_be[i], w), bytes_out, io->tx[i].msg_len);
		}
		done += (unsigned)r;
	}
	io->tx_n = 0;
	io->tx_fd = -1;
}

static void backend_event(struct pworker *w, struct pitem *it, uint32_t ev)
{
	struct usess *s = it->owner;
	struct pudp_io *io = w->udp;
	int n;

	if (s->dead)
		return;
	/* Replies go out through the listener: one batch per listener. */
	if (io->tx_n == UDP_BATCH || (io->tx_n && io->tx_fd != s->lfd))
		pudp_flush(w);
	for (unsigned i = io->tx_n; i < UDP_BATCH; i++) {
		io->tx_iov[i].iov_len = UDP_MAX_DGRAM;
		io->tx[i].msg_hdr = (struct msghdr){
			.msg_iov = &io->tx_iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(s->bi.fd, io->tx + io->tx_n, UDP_BATCH - io->tx_n, MSG_DONTWAIT,
		     NULL);
	if (n <= 0) {
		if (n < 0 && errno == ECONNREFUSED)
			backend_refused(s);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			sess_close(s);
		return;
	}
	/* Back to the client, from the VIP. */
	for (unsigned i = io->tx_n; i < io->tx_n + (unsigned)n; i++) {
		io->tx[i].msg_hdr.msg_name = &s->cli;
		io->tx[i].msg_hdr.msg_namelen = s->clilen;
		io->tx[i].msg_hdr.msg_iov->iov_len = io->tx[i].msg_len;
		io->tx_ps[i] = s->ps;
		io->tx_be[i] = s->be;
	}
	io->tx_n += (unsigned)n;
	io->tx_fd = s->lfd;
	sess_touch(w, s);
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
	w->buckets = NULL;
	if (w->udp) {
		free(w->udp->rx_buf);
		free(w->udp->tx_buf);
		free(w->udp);
		w->udp = NULL;
	}
}
