// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* TCP in mode proxy: accept, optional PROXY header from the client, pick a
 * backend, non-blocking connect with retries, then relay both ways through
 * two buffers until both directions are closed (a FIN is forwarded as
 * shutdown(SHUT_WR), so half-closed connections work).
 *
 * The backend connection waits for the client's first bytes (wait_data),
 * so a client that connects and says nothing costs no backend connection,
 * and at max_connections the idlest connection makes room for a new one.
 * Buffers come from a per-worker pool only while they hold bytes, and
 * timers sit in the worker's wheel (proxy_timer.h).
 *
 * Events only note what a socket can do; the reads and writes of all the
 * connections that had one happen after the event batch (ptcp_flush):
 * reads first, the first of each direction all in one io_uring_enter,
 * then the sends, PROXY_SUBMIT_EVERY to an io_uring_enter.
 * A bulk direction (PROXY_SPLICE_AFTER) moves its bytes with splice(2)
 * through a pipe of the worker's instead, in the worker's own thread:
 * io_uring never runs an IORING_OP_SPLICE inline but hands each to one of
 * its io-wq threads, more threads on the CPUs the workers use. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proxy_int.h"
#include "proxy_protocol.h"

static void list_add(struct pconn *head, struct pconn *c)
{
	c->next = head->next;
	c->prev = head;
	head->next->prev = c;
	head->next = c;
}

static void list_del(struct pconn *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
}

/* Activity on the client (or server) side: the connection moves to the
 * front of the worker's list, so its end holds the idlest (ptcp_shed). */
static void touch(struct pconn *c, bool client)
{
	struct pworker *w = c->w;

	if (client)
		c->t_client = w->now;
	else
		c->t_server = w->now;
	if (w->conns.next != c) {
		list_del(c);
		list_add(&w->conns, c);
	}
}

/* The pool keeps what the worker needs: each POOL_WINDOW_MS, the buffers
 * that stayed in it the whole window (its low-water mark) go back to
 * malloc, so a steady load reuses its buffers without a malloc or free
 * each, and a burst's go back a window after it ends. */
#define POOL_WINDOW_MS 1000
#define TRIM_AFTER     256      /* buffers given back before a malloc_trim */

/* A buffer for b (PROXY_BIG_BUF once it is big) from the worker's pool of
 * that size or from malloc. Returns 0 or -ENOMEM. */
static int buf_get(struct pworker *w, struct pbuf *b)
{
	struct ppool *pl = &w->pool[b->big];
	char *p = pl->free;

	if (b->data)
		return 0;
	if (p) {
		memcpy(&pl->free, (const void *)p, sizeof(pl->free));
		if (--pl->n < pl->low)
			pl->low = pl->n;
	} else {
		p = malloc(b->big ? PROXY_BIG_BUF : PROXY_BUF);
		if (!p)
			return -ENOMEM;
	}
	b->data = p;
	b->size = b->big ? PROXY_BIG_BUF : PROXY_BUF;
	b->off = b->len = 0;
	return 0;
}

/* b's buffer back to the pool of its size. */
static void buf_put(struct pworker *w, struct pbuf *b)
{
	struct ppool *pl = &w->pool[b->size == PROXY_BIG_BUF];

	if (!b->data)
		return;
	memcpy(b->data, &pl->free, sizeof(pl->free));
	pl->free = b->data;
	pl->n++;
	b->data = NULL;
	b->off = b->len = 0;
}

/* An empty buffer no send points into goes back: idle costs nothing. */
static void buf_put_empty(struct pworker *w, struct pbuf *b)
{
	if (b->off == b->len && !b->busy)
		buf_put(w, b);
}

/* n free buffers of pl back to malloc. */
static void pool_release(struct pworker *w, struct ppool *pl, unsigned n)
{
	for (; n && pl->free; n--) {
		char *p = pl->free;

		memcpy(&pl->free, (const void *)p, sizeof(pl->free));
		free(p);
		pl->n--;
		w->pool_freed++;
	}
}

/* The pipe b holds, or NULL. */
static struct ppipe *pipe_of(struct pworker *w, const struct pbuf *b)
{
	return b->pipe ? &w->pipes.p[b->pipe - 1] : NULL;
}

/* A pipe for b from the worker's pool, or a new one while the worker has
 * fewer than PROXY_PIPES. Returns false when there is none (b then copies
 * through its buffer). */
static bool pipe_get(struct pworker *w, struct pbuf *b)
{
	struct ppipes *pl = &w->pipes;
	struct ppipe *p;
	int fd[2], sz;
	unsigned i;

	if (pl->free) {
		b->pipe = pl->free;
		pl->free = pl->p[b->pipe - 1].next;
		if (--pl->n < pl->low)
			pl->low = pl->n;
		return true;
	}
	for (i = 0; i < PROXY_PIPES && pl->p[i].size; i++)
		;
	if (i == PROXY_PIPES || pipe2(fd, O_NONBLOCK | O_CLOEXEC))
		return false;
	/* Refused past the user's pipe-user-pages-soft without
	 * CAP_SYS_RESOURCE: the kernel's size does too. */
	fcntl(fd[1], F_SETPIPE_SZ, PROXY_PIPE_SIZE);
	sz = fcntl(fd[1], F_GETPIPE_SZ);
	p = &pl->p[i];
	*p = (struct ppipe){ .rd = fd[0], .wr = fd[1],
			     .size = sz > 0 ? (uint32_t)sz : 65536 };
	b->pipe = (uint8_t)(i + 1);
	return true;
}

static void pipe_close(struct ppipe *p)
{
	close(p->rd);
	close(p->wr);
	p->size = 0;
}

/* b's pipe back to the pool; one that still holds bytes (the connection
 * closed before they left) is closed: its bytes are no one's now. */
static void pipe_put(struct pworker *w, struct pbuf *b)
{
	struct ppipe *p = pipe_of(w, b);

	if (!p)
		return;
	if (p->len) {
		pipe_close(p);
		p->len = 0;
	} else {
		p->next = w->pipes.free;
		w->pipes.free = b->pipe;
		w->pipes.n++;
	}
	b->pipe = 0;
}

/* n free pipes closed. */
static void pipes_release(struct pworker *w, unsigned n)
{
	struct ppipes *pl = &w->pipes;

	for (; n && pl->free; n--) {
		struct ppipe *p = &pl->p[pl->free - 1];

		pl->free = p->next;
		pl->n--;
		pipe_close(p);
	}
}

/* From the worker's tick: the window's surplus back to malloc, and once
 * enough went back, malloc's free memory to the kernel; the pipes that
 * stayed free the whole window are closed. */
void ptcp_pool_trim(struct pworker *w)
{
	if (w->now - w->pool_window < POOL_WINDOW_MS)
		return;
	for (int k = 0; k < 2; k++) {
		pool_release(w, &w->pool[k], w->pool[k].low);
		w->pool[k].low = w->pool[k].n;
	}
	pipes_release(w, w->pipes.low);
	w->pipes.low = w->pipes.n;
	w->pool_window = w->now;
	if (w->pool_freed < TRIM_AFTER && (w->pool[0].n || w->pool[1].n || !w->pool_freed))
		return;
	w->pool_freed = 0;
	malloc_trim(0);
}

static void release_backend(struct pconn *c)
{
	if (!c->be)
		return;
	atomic_fetch_sub_explicit(&c->be->load.active, 1, memory_order_relaxed);
	c->be = NULL;
}

/* close() takes the socket out of epoll with the file's last reference,
 * without an epoll_ctl of its own; a send of the connection still in the
 * ring holds one (epoll could then report the socket after the connection
 * is freed), so it leaves epoll first. The close itself goes into the
 * ring behind that send (pfd_close). */
static void close_item(struct pworker *w, struct pconn *c, struct pitem *it)
{
	if (it->fd < 0)
		return;
	if (c->inflight)
		pitem_set(w, it, 0);
	pfd_close(w, it->fd);
	it->fd = -1;
	it->events = 0;
}

static void conn_free_later(struct pconn *c)
{
	c->next = c->w->grave_c;
	c->w->grave_c = c;
}

void ptcp_close(struct pconn *c)
{
	struct pworker *w = c->w;

	if (c->dead)
		return;
	c->dead = true;
	pbal_live(w, -1);
	ptimer_disarm(&c->tm);
	list_del(c);
	close_item(w, c, &c->ci);
	close_item(w, c, &c->si);
	release_backend(c);
	atomic_fetch_sub_explicit(&c->ps->active, 1, memory_order_relaxed);
	/* Freed after the current event batch (see worker_main); with sends
	 * still in the ring, once they complete. */
	if (!c->inflight)
		conn_free_later(c);
}

/* Client address as the hash input: address only for sh (all of a
 * client's connections on one backend), address and port for maglev. */
static uint64_t client_hash(const union inet_sockaddr *ss, bool with_port)
{
	uint8_t k[18] = { 0 };

	if (ss->sa.sa_family == AF_INET) {
		const struct sockaddr_in *s = &ss->in;

		memcpy(k, &s->sin_addr, 4);
		memcpy(k + 16, &s->sin_port, 2);
	} else {
		const struct sockaddr_in6 *s = &ss->in6;

		memcpy(k, &s->sin6_addr, 16);
		memcpy(k + 16, &s->sin6_port, 2);
	}
	return psched_hash(k, with_port ? 18 : 16);
}

/* Both sockets of a connection stay in epoll, edge-triggered, with one
 * interest set from start to end: no epoll_ctl per read or write. The
 * pitem flags remember what the events said (rd, wr) until a read or a
 * write finds otherwise. */
#define TCP_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

/* Room kept in c2s before the backend connection is up, for the PROXY
 * header send_proxy puts in front of what the client sent already. */
#define SEND_PROXY_ROOM 128

static void tcp_register(struct pworker *w, struct pitem *it)
{
	it->rd = it->wr = it->rdhup = false;
	it->events = 0;
	pitem_add(w, it, TCP_EVENTS);
}

/* Bytes delivered (counted when sent: the backend is known by then, and
 * a send_proxy header is not the client's). */
static void count_bytes(struct pconn *c, bool in, uint64_t n)
{
	struct pworker *w = c->w;

	if (in && c->pp_left) {
		uint32_t h = n < c->pp_left ? (uint32_t)n : c->pp_left;

		c->pp_left -= h;
		n -= h;
	}
	if (in) {
		PCOUNT_ADD(PCNT(c->ps, w), bytes_in, n);
		PCOUNT_ADD(PCNT(c->be, w), bytes_in, n);
	} else {
		PCOUNT_ADD(PCNT(c->ps, w), bytes_out, n);
		PCOUNT_ADD(PCNT(c->be, w), bytes_out, n);
	}
}

/* dir_read of a splicing direction: src -> its pipe. A pipe that fills
 * fails like an empty socket (EAGAIN), and a short splice may be a full
 * pipe: src counts as drained only when the pipe was empty, otherwise the
 * write side empties it and the read is tried again. */
static int pipe_read(struct pconn *c, struct pitem *src, struct pbuf *b, bool to_server)
{
	struct ppipe *p = pipe_of(c->w, b);
	ssize_t n;

	if (p->len >= p->size)
		return 0;
	n = splice(src->fd, NULL, p->wr, NULL, p->size - p->len,
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		p->len += (uint32_t)n;
		touch(c, to_server);
		return 1;
	}
	if (n == 0) {
		b->eof = true;
		src->rd = false;
		return 1;
	}
	if (errno == EAGAIN) {
		if (!p->len) {
			src->rd = false;
			pipe_put(c->w, b);
		}
		return 0;
	}
	return errno == EINTR ? 0 : -1;
}

/* One direction, src -> b -> dst: dir_read reads while src has data and b
 * room; dir_write sends what b holds (through the ring when there is one:
 * the send completes in ptcp_done) and forwards the FIN once b is empty
 * after EOF. A read shorter than the room means the socket is drained for
 * now (a new edge comes with new data); so does a short write for the
 * other side. With the peer's FIN already seen (rdhup), a short read means
 * EOF: the data and the FIN then leave together (MSG_MORE, then shutdown,
 * makes one segment). Both return 1 when something moved, 0 when nothing
 * could, -1 on a fatal error. */

/* Where the next read of src goes in b: 1 with *room set, 0 when b has
 * no room, -1 without a buffer. */
static int read_room(struct pconn *c, struct pbuf *b, size_t *room)
{
	uint32_t cap;

	if (buf_get(c->w, b))
		return -1;
	cap = b->size;
	if (c->state != PC_RELAY && c->set.send_proxy)
		cap -= SEND_PROXY_ROOM;
	if (!b->busy) {         /* a send in the ring points into b */
		if (b->off == b->len) {
			b->off = b->len = 0;
		} else if (b->len == b->size && b->off) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
	}
	if (b->len >= cap)
		return 0;
	*room = cap - b->len;
	return 1;
}

/* What a read of room bytes from src into b found: n bytes, or -errno. */
static int read_result(struct pconn *c, struct pitem *src, struct pbuf *b, bool to_server,
		       size_t room, ssize_t n)
{
	if (n > 0) {
		if ((size_t)n == room && !b->len)
			b->big = true;  /* its next buffer */
		if ((size_t)n == room && b->size == PROXY_BIG_BUF && c->state == PC_RELAY &&
		    !b->splice && ++b->fills >= PROXY_SPLICE_AFTER)
			b->splice = true;
		b->len += (uint32_t)n;
		touch(c, to_server);
		if ((size_t)n < room) {
			src->rd = false;
			if (src->rdhup)
				b->eof = true;
		}
		return 1;
	}
	buf_put_empty(c->w, b);
	if (n == 0) {
		b->eof = true;
		src->rd = false;
		return 1;
	}
	if (n == -EAGAIN) {
		src->rd = false;
		return 0;
	}
	return n == -EINTR ? 0 : -1;
}

static int dir_read(struct pconn *c, struct pitem *src, struct pbuf *b, bool to_server)
{
	size_t room;
	ssize_t n;
	int r;

	if (!src->rd || b->eof)
		return 0;
	if (b->splice && (b->pipe || pipe_get(c->w, b)))
		return pipe_read(c, src, b, to_server);
	r = read_room(c, b, &room);
	if (r <= 0)
		return r;
	n = read(src->fd, b->data + b->len, room);
	return read_result(c, src, b, to_server, room, n < 0 ? -errno : n);
}

/* A read of the ring (ptcp_flush) completed. */
static void ring_read_done(struct pworker *w, struct preq *r, int res)
{
	struct pread *rd = container_of(r, struct pread, req);
	struct pconn *c = rd->c;
	struct pbuf *b = rd->to_server ? &c->c2s : &c->s2c;
	struct pitem *src = rd->to_server ? &c->ci : &c->si;

	w->reads_out--;
	if (!c->dead && read_result(c, src, b, rd->to_server, rd->room, res) < 0)
		ptcp_close(c);
}

/* dir_read for a round of many connections: the read goes into the ring,
 * and all of the round's first reads reach the kernel in one
 * io_uring_enter (ptcp_flush), not one read() each. Returns as dir_read
 * does, 0 for a read queued. */
static int dir_read_ring(struct pconn *c, struct pitem *src, struct pbuf *b, bool to_server)
{
	struct pworker *w = c->w;
	struct io_uring_sqe *sqe;
	struct pread *rd;
	size_t room;
	int r;

	if (!src->rd || b->eof)
		return 0;
	if (b->splice || b->busy || w->n_reads == PROXY_RING_SQ)
		return dir_read(c, src, b, to_server);
	r = read_room(c, b, &room);
	if (r <= 0)
		return r;
	rd = &w->reads[w->n_reads];
	sqe = pring_sqe(w, &rd->req);
	if (!sqe)
		return dir_read(c, src, b, to_server);
	io_uring_prep_recv(sqe, src->fd, b->data + b->len, room, MSG_DONTWAIT);
	*rd = (struct pread){ .req.done = ring_read_done, .c = c, .room = (uint32_t)room,
			      .to_server = to_server };
	w->n_reads++;
	w->reads_out++;
	return 0;
}

static void sent(struct pconn *c, struct pbuf *b, struct pitem *dst, bool to_server,
		 ssize_t n)
{
	b->off += (uint32_t)n;
	if (b->off < b->len)
		dst->wr = false;
	count_bytes(c, to_server, (uint64_t)n);
	touch(c, !to_server);
}

/* dir_write of the pipe's bytes, once the buffer's have left. A splice
 * into a socket whose peer is gone raises SIGPIPE (there is no
 * MSG_NOSIGNAL for it): xlbd ignores the signal. */
static int pipe_write(struct pconn *c, struct pbuf *b, struct pitem *dst, bool to_server)
{
	struct ppipe *p = pipe_of(c->w, b);
	unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK |
			 (b->eof && !b->shut ? SPLICE_F_MORE : 0);
	ssize_t n = splice(p->rd, NULL, dst->fd, NULL, p->len, flags);

	if (n > 0) {
		p->len -= (uint32_t)n;
		if (p->len)
			dst->wr = false;
		count_bytes(c, to_server, (uint64_t)n);
		PCOUNT_ADD(PCNT(c->ps, c->w), spliced, (uint64_t)n);
		PCOUNT_ADD(PCNT(c->be, c->w), spliced, (uint64_t)n);
		touch(c, !to_server);
		return 1;
	}
	if (n < 0 && errno == EAGAIN)
		dst->wr = false;
	else if (n < 0 && errno != EINTR)
		return -1;
	return 0;
}

static int dir_write(struct pconn *c, struct pbuf *b, struct pitem *dst, bool to_server)
{
	struct ppipe *p;
	int moved = 0;
	ssize_t n;

	if (b->busy)
		return 0;
	if (dst->wr && b->off < b->len) {
		int flags = MSG_NOSIGNAL | (b->eof && !b->shut ? MSG_MORE : 0);
		struct io_uring_sqe *sqe = c->w->direct ? NULL : pring_sqe(c->w, &b->req);

		if (sqe) {
			io_uring_prep_send(sqe, dst->fd, b->data + b->off, b->len - b->off,
					   flags | MSG_DONTWAIT);
			b->busy = true;
			c->inflight++;
			pring_submit_some(c->w);
			return 0;
		}
		n = send(dst->fd, b->data + b->off, b->len - b->off, flags);
		if (n > 0) {
			sent(c, b, dst, to_server, n);
			moved = 1;
		} else if (n < 0 && errno == EAGAIN) {
			dst->wr = false;
		} else if (n < 0 && errno != EINTR) {
			return -1;
		}
	}
	p = pipe_of(c->w, b);
	if (b->off == b->len && p && p->len && dst->wr) {
		int r = pipe_write(c, b, dst, to_server);

		if (r < 0)
			return -1;
		moved |= r;
	}
	if (b->off == b->len && !(p && p->len)) {
		buf_put(c->w, b);
		pipe_put(c->w, b);
		if (b->eof && !b->shut) {
			struct pbuf *o = b == &c->c2s ? &c->s2c : &c->c2s;

			/* The last FIN: close() sends it (both receive queues
			 * are empty, so no reset) without a shutdown first. */
			if (!o->shut)
				shutdown(dst->fd, SHUT_WR);
			b->shut = true;
		}
	}
	return moved;
}

/* Move what can move, both ways, until nothing does (sends that went to
 * the ring continue in ptcp_done); close the connection when both
 * directions are finished or on an error. */
static void pump(struct pconn *c)
{
	bool up = c->state == PC_RELAY;
	int a, b;

	do {
		a = dir_read(c, &c->ci, &c->c2s, true);
		if (a < 0)
			goto fail;
		b = 0;
		if (up) {
			int r = dir_write(c, &c->c2s, &c->si, true);

			if (r < 0)
				goto fail;
			a |= r;
			b = dir_read(c, &c->si, &c->s2c, false);
			if (b < 0)
				goto fail;
			r = dir_write(c, &c->s2c, &c->ci, false);
			if (r < 0)
				goto fail;
			b |= r;
		}
	} while (a | b);
	if (c->c2s.shut && c->s2c.shut)
		ptcp_close(c);          /* both directions finished */
	return;
fail:
	ptcp_close(c);
}

/* Reads and writes wait for the end of the event batch. */
static void mark_dirty(struct pconn *c)
{
	if (c->dirty || c->dead)
		return;
	c->dirty = true;
	c->dnext = c->w->dirty_c;
	c->w->dirty_c = c;
}

/* A send from the ring completed: move the buffer on and go on with the
 * connection (it is dirty again). */
static void send_done(struct pworker *w, struct pconn *c, bool to_server, int res)
{
	struct pbuf *b = to_server ? &c->c2s : &c->s2c;
	struct pitem *dst = to_server ? &c->si : &c->ci;

	b->busy = false;
	c->inflight--;
	if (c->dead) {
		if (!c->inflight)
			conn_free_later(c);
		return;
	}
	if (res > 0)
		sent(c, b, dst, to_server, res);
	else if (res == -EAGAIN || res == -EINTR)
		dst->wr = res == -EINTR;
	else {
		ptcp_close(c);
		return;
	}
	mark_dirty(c);
}

static void c2s_sent(struct pworker *w, struct preq *r, int res)
{
	send_done(w, container_of(r, struct pconn, c2s.req), true, res);
}

static void s2c_sent(struct pworker *w, struct preq *r, int res)
{
	send_done(w, container_of(r, struct pconn, s2c.req), false, res);
}

/* At the end of an event batch: pump every connection that had an event
 * (reads first, their first ones all in one io_uring_enter, then writes),
 * its sends going to the kernel a few at a time (PROXY_SUBMIT_EVERY), and
 * again for the connections whose sends completed, until nothing moves.
 * A round of PROXY_DIRECT_MAX connections or fewer (a few pipelined
 * connections, DNS over TCP) reads and sends directly: the ring's round
 * trip would cost more than it saves; one of PROXY_READ_DIRECT_MAX or
 * fewer reads directly and sends through the ring. */
void ptcp_flush(struct pworker *w)
{
	for (int round = 0; round < 16 && (w->dirty_c || pring_pending(w)); round++) {
		int (*rd)(struct pconn *, struct pitem *, struct pbuf *, bool);
		struct pconn *c, *list = w->dirty_c;
		unsigned n = 0;

		w->dirty_c = NULL;
		for (c = list; c; c = c->dnext)
			n += !c->dead;
		w->direct = n <= PROXY_DIRECT_MAX;
		rd = n <= PROXY_READ_DIRECT_MAX || !w->has_ring ? dir_read : dir_read_ring;
		for (c = list; c; c = c->dnext) {
			if (c->dead)
				continue;
			if (rd(c, &c->ci, &c->c2s, true) < 0 ||
			    (c->state == PC_RELAY && rd(c, &c->si, &c->s2c, false) < 0))
				ptcp_close(c);
		}
		/* The reads queued above, in one io_uring_enter; they complete
		 * inline (MSG_DONTWAIT), and should one not, its slot must not
		 * be taken again before it does. */
		if (w->n_reads) {
			pring_submit(w);
			pring_reap(w);
			while (w->reads_out && pring_wait(w) == 0)
				pring_reap(w);
			w->n_reads = 0;
		}
		for (c = list; c; c = c->dnext) {
			c->dirty = false;
			if (!c->dead)
				pump(c);
		}
		pring_submit(w);
		pring_reap(w);
	}
	/* A last round's completions may have closed connections: their
	 * closes must not wait in the ring while the worker sleeps. */
	pring_submit(w);
	/* Left for the next loop (see worker_main): not the ones that
	 * closed meanwhile, freed before then. */
	for (struct pconn **pp = &w->dirty_c; *pp;) {
		struct pconn *c = *pp;

		if (c->dead) {
			c->dirty = false;
			*pp = c->dnext;
		} else {
			pp = &c->dnext;
		}
	}
}

static void conn_connect(struct pconn *c);
static void connect_failed(struct pconn *c, int err);

/* The earliest time c could expire; activity only moves it later. */
static uint64_t conn_deadline(const struct pconn *c)
{
	uint64_t d, s;

	switch (c->state) {
	case PC_HEADER:
	case PC_WAIT:
		d = c->t_start + c->set.header_ms;
		break;
	case PC_CONNECTING:
		d = c->t_start + c->set.connect_ms;
		break;
	default:
		d = c->t_client + c->set.client_ms;
		s = c->t_server + c->set.server_ms;
		if (s < d)
			d = s;
	}
	if (c->deadline && c->deadline < d)
		d = c->deadline;
	return d;
}

uint64_t ptcp_deadline(const struct pconn *c)
{
	return conn_deadline(c);
}

/* After a change that may bring the deadline forward (state, drain). */
static void conn_arm(struct pconn *c)
{
	ptimer_arm(&c->w->wheel, &c->tm, conn_deadline(c));
}

static void conn_expired(struct pworker *w, struct ptimer *t)
{
	struct pconn *c = (struct pconn *)((char *)t - offsetof(struct pconn, tm));

	if (w->now < conn_deadline(c)) {        /* active since: later */
		conn_arm(c);
		return;
	}
	if (c->deadline && w->now >= c->deadline) {     /* drained */
		ptcp_close(c);
		return;
	}
	PCOUNT_ADD(PCNT(c->ps, w), timeouts, 1);
	if (c->state == PC_CONNECTING)
		connect_failed(c, ETIMEDOUT);
	else
		ptcp_close(c);
}

#define SHED_QUIET_MS 200       /* a client that never sent a byte */

/* At max_connections: close the worker's idlest connection of ps (the
 * list's end is the least recently active) to admit a new one: a client
 * that holds a connection and says nothing (slowloris) must not keep the
 * ones that would talk out. A client that has not sent its first bytes
 * SHED_QUIET_MS after its handshake is the first to go (a real one sends
 * them right behind its ACK; they were in its socket when it was accepted
 * from the queue), one idle PROXY_SHED_IDLE_MS next. Counted as a timeout.
 * Returns true when one was shed. */
bool ptcp_shed(struct pworker *w, struct pservice *ps)
{
	struct pconn *c = w->conns.prev;

	for (int k = 0; k < PROXY_SHED_LOOK && c != &w->conns; k++, c = c->prev) {
		uint64_t last = c->t_client > c->t_server ? c->t_client : c->t_server;
		bool quiet = c->state == PC_WAIT || c->state == PC_HEADER;

		if (w->now - last < SHED_QUIET_MS)
			return false;   /* the rest are more recent */
		if (c->ps != ps || (!quiet && w->now - last < PROXY_SHED_IDLE_MS))
			continue;
		PCOUNT_ADD(PCNT(ps, w), timeouts, 1);
		ptcp_close(c);
		return true;
	}
	return false;
}

static void connected(struct pconn *c)
{
	struct pbuf *b = &c->c2s;

	c->state = PC_RELAY;
	c->t_client = c->t_server = c->w->now;
	conn_arm(c);
	if (c->set.send_proxy && buf_get(c->w, b)) {
		ptcp_close(c);
		return;
	}
	if (c->set.send_proxy) {
		uint8_t hdr[PP_V2_HDR + 36 > PP_V1_MAX + 1 ? PP_V2_HDR + 36 : PP_V1_MAX + 1];
		int hl;

		if (c->set.send_proxy == XLB_SEND_PROXY_V1)
			hl = pp_encode_v1((char *)hdr, sizeof(hdr), &c->cli.sa, &c->vip.sa);
		else
			hl = pp_encode_v2(hdr, sizeof(hdr), &c->cli.sa, &c->vip.sa);
		/* The header goes before whatever the client sent already
		 * (bytes that followed its own PROXY header); reads kept
		 * SEND_PROXY_ROOM free for it. */
		if (hl > 0 && b->len - b->off + (uint32_t)hl <= b->size) {
			memmove(b->data + hl, b->data + b->off, b->len - b->off);
			b->len = b->len - b->off + (uint32_t)hl;
			b->off = 0;
			memcpy(b->data, hdr, (size_t)hl);
			c->pp_left = (uint32_t)hl;
		}
	}
	c->si.wr = true;
	mark_dirty(c);
}

static void connect_failed(struct pconn *c, int err)
{
	struct pbackend *be = c->be;
	struct pworker *w = c->w;

	PCOUNT_ADD(PCNT(be, w), connect_fail, 1);
	PCOUNT_ADD(PCNT(c->ps, w), connect_fail, 1);
	/* New connections avoid it for a while: a dead backend costs one
	 * refused connect, not one per connection. */
	atomic_store_explicit(&be->load.down_until, w->now + PROXY_DOWN_MS,
			      memory_order_relaxed);
	close_item(w, c, &c->si);
	release_backend(c);
	if (c->attempts > c->set.retries) {
		char a[XLB_ADDRSTR_MAX];

		log_debug("proxy: connect to %s failed: %s; giving up",
			  addr_str(&be->addr, a, sizeof(a)), strerror(err));
		ptcp_close(c);
		return;
	}
	PCOUNT_ADD(PCNT(c->ps, w), retries, 1);
	conn_connect(c);
}

/* Pick a backend (avoiding those already tried) and start connecting. */
static void conn_connect(struct pconn *c)
{
	struct pworker *w = c->w;
	struct psnap_svc *v = pworker_find_svc(w, c->ps);
	struct pbackend *be;
	int i, fd;

	if (!v) {               /* removed while we read the PROXY header */
		PCOUNT_ADD(PCNT(c->ps, w), rejected, 1);
		ptcp_close(c);
		return;
	}
	i = ppersist_pick(v, &v->cur[w->idx], &c->cli, c->hash, c->tried,
			  w->now);
	if (i < 0) {
		PCOUNT_ADD(PCNT(c->ps, w), rejected, 1);
		ptcp_close(c);
		return;
	}
	be = v->be[i];
	if (i < 64)
		c->tried |= 1ull << i;
	c->attempts++;
	c->be = be;
	atomic_fetch_add_explicit(&be->load.active, 1, memory_order_relaxed);
	PCOUNT_ADD(PCNT(be, w), total, 1);
	fd = socket(be->sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* Out of descriptors: retrying elsewhere will not help. */
		PCOUNT_ADD(PCNT(c->ps, w), rejected, 1);
		ptcp_close(c);
		return;
	}
	pfd_nodelay(w, fd);
	c->si.fd = fd;
	c->state = PC_CONNECTING;
	c->t_start = w->now;
	conn_arm(c);
	if (connect(fd, (const struct sockaddr *)&be->sa, be->salen) == 0) {
		tcp_register(w, &c->si);
		pring_submit(w);        /* TCP_NODELAY before the first send */
		connected(c);
		return;
	}
	if (errno != EINPROGRESS) {
		c->si.events = 0;
		connect_failed(c, errno);
		return;
	}
	/* The first EPOLLOUT (or EPOLLERR) tells how the connect went. */
	tcp_register(w, &c->si);
}

/* The client's PROXY header is in c2s (accept_proxy): take the addresses
 * from it. Returns 1 when it was whole, 0 when more must come, -1 when
 * the connection was closed (malformed, or the client left before its
 * end). */
static int header_parse(struct pconn *c)
{
	struct pbuf *b = &c->c2s;
	struct pp_info pi;
	int r = pp_decode((const uint8_t *)b->data, b->len, &pi);

	if (r < 0 || (r == 0 && b->len >= PP_MAX)) {
		char a[XLB_ADDRSTR_MAX + 8];

		PCOUNT_ADD(PCNT(c->ps, c->w), bad_header, 1);
		log_debug("proxy: %s: malformed PROXY header, connection closed",
			  service_name_str(c->ps->proto, &c->ps->vip, a, sizeof(a)));
		ptcp_close(c);
		return -1;
	}
	if (r == 0) {
		if (b->eof)     /* gone before the end of its header */
			ptcp_close(c);
		return b->eof ? -1 : 0;
	}
	b->off = (uint32_t)r;
	if (!pi.local) {
		c->cli = pi.src;
		c->vip = pi.dst;
		c->hash = client_hash(&c->cli, c->hash_port);
	}
	return 1;
}

/* Before the backend connection: the client's PROXY header and its first
 * bytes. The backend is connected once they are here; a client that
 * leaves without a byte (a port scan, a slowloris giving up) never costs
 * one. */
static void first_read(struct pconn *c)
{
	struct pbuf *b = &c->c2s;
	int r = dir_read(c, &c->ci, b, true);

	if (r < 0) {
		ptcp_close(c);
		return;
	}
	if (!r)
		return;
	if (!b->len) {                  /* FIN, nothing before it */
		ptcp_close(c);
		return;
	}
	if (c->state == PC_HEADER) {
		if (header_parse(c) <= 0)
			return;
		if (c->set.wait_data && b->off == b->len && !b->eof) {
			c->state = PC_WAIT;
			return;
		}
	}
	conn_connect(c);
}

/* Either socket of a connection. */
static void conn_event(struct pworker *w, struct pitem *it, uint32_t ev)
{
	struct pconn *c = it->owner;

	if (c->dead || it->fd < 0)
		return;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		it->rd = true;
	if (ev & (EPOLLRDHUP | EPOLLHUP))
		it->rdhup = true;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		it->wr = true;
	switch (c->state) {
	case PC_HEADER:
	case PC_WAIT:
		if (it == &c->ci)
			first_read(c);
		return;
	case PC_CONNECTING:
		if (it == &c->si) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (ev & (EPOLLERR | EPOLLHUP)) {
				if (getsockopt(it->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
					err = errno;
				connect_failed(c, err ? err : ECONNREFUSED);
			} else if (ev & EPOLLOUT) {
				connected(c);
			}
			return;
		}
		break;          /* the client: read ahead */
	case PC_RELAY:
		break;
	}
	mark_dirty(c);
}

static void conn_new(struct pworker *w, struct plisten *ls, int fd,
		     const union inet_sockaddr *cli)
{
	struct psnap_svc *v = ls->cfg;
	struct pconn *c = w->spare_c;

	if (c) {
		w->spare_c = c->next;
		w->n_spare_c--;
		memset(c, 0, sizeof(*c));
	} else {
		c = calloc(1, sizeof(*c));
	}
	if (!c) {
		close(fd);
		PCOUNT_ADD(PCNT(ls->ps, w), rejected, 1);
		return;
	}
	c->w = w;
	c->ps = ls->ps;
	c->set = v->set;
	c->cli = *cli;
	memcpy(&c->vip, &ls->ps->sa, sizeof(c->vip));
	c->hash_port = v->sched.kind != XLB_SCHED_SH;
	c->hash = client_hash(cli, c->hash_port);
	c->ci = (struct pitem){ .handle = conn_event, .fd = fd, .owner = c };
	c->si = (struct pitem){ .handle = conn_event, .fd = -1, .owner = c };
	c->c2s.req.done = c2s_sent;
	c->s2c.req.done = s2c_sent;
	c->t_start = c->t_client = c->t_server = w->now;
	c->tm.fire = conn_expired;
	atomic_fetch_add_explicit(&c->ps->active, 1, memory_order_relaxed);
	PCOUNT_ADD(PCNT(c->ps, w), total, 1);
	list_add(&w->conns, c);
	pbal_live(w, 1);
	pbal_arrived(w);
	/* TCP_NODELAY: inherited from the listener. */
	/* In epoll from now on: what the client sends while the backend
	 * connection is being set up is read ahead (and a client that goes
	 * away is noticed). */
	tcp_register(w, &c->ci);
	if (c->set.accept_proxy || c->set.wait_data) {
		c->state = c->set.accept_proxy ? PC_HEADER : PC_WAIT;
		conn_arm(c);
		return;
	}
	conn_connect(c);
}

void ptcp_accept(struct pworker *w, struct pitem *it, uint32_t ev)
{
	struct plisten *ls = it->owner;
	uint32_t max = ls->cfg->set.max_conn;

	for (int k = 0; k < 64; k++) {
		union inet_sockaddr cli;
		socklen_t cl = sizeof(cli);
		int fd;

		if (max && atomic_load_explicit(&ls->ps->active,
						memory_order_relaxed) >= max &&
		    !ptcp_shed(w, ls->ps)) {
			/* Backpressure: leave the rest in the kernel's accept
			 * queue; the tick resumes us below the cap (or when
			 * a connection has become idle enough to shed, here
			 * or, told by starved, in another worker). */
			atomic_store_explicit(&ls->ps->starved, true, memory_order_relaxed);
			ls->paused = true;
			pitem_set(w, &ls->it, 0);
			return;
		}
		fd = accept4(ls->it.fd, (struct sockaddr *)&cli, &cl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN) {
				pbal_drained(w);
				return;
			}
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("proxy: accept: %s; pausing", strerror(errno));
				ls->paused = true;
				ls->retry_at = w->now + PROXY_TICK_MS;
				pitem_set(w, &ls->it, 0);
			}
			return;
		}
		conn_new(w, ls, fd, &cli);
	}
}

void ptcp_drain(struct pworker *w, struct pservice *ps, uint32_t drain_ms)
{
	for (struct pconn *c = w->conns.next; c != &w->conns; c = c->next)
		if (c->ps == ps && !c->deadline) {
			c->deadline = w->now + drain_ms;
			conn_arm(c);
		}
}

#define SPARE_MAX 256         /* connections kept for reuse, per worker */

/* Free the connections closed during the event batch (keep: up to
 * SPARE_MAX of them go to the spare list for the next accepts, their
 * buffers to the pool; !keep: everything, the pool too). */
void ptcp_reap(struct pworker *w, bool keep)
{
	while (w->grave_c) {
		struct pconn *c = w->grave_c;

		w->grave_c = c->next;
		buf_put(w, &c->c2s);
		buf_put(w, &c->s2c);
		pipe_put(w, &c->c2s);
		pipe_put(w, &c->s2c);
		if (keep && w->n_spare_c < SPARE_MAX) {
			c->next = w->spare_c;
			w->spare_c = c;
			w->n_spare_c++;
			continue;
		}
		free(c);
	}
	while (!keep && w->spare_c) {
		struct pconn *c = w->spare_c;

		w->spare_c = c->next;
		free(c);
	}
	if (!keep) {
		pool_release(w, &w->pool[0], w->pool[0].n);
		pool_release(w, &w->pool[1], w->pool[1].n);
		pipes_release(w, w->pipes.n);
		w->n_spare_c = 0;
	}
}

void ptcp_free_all(struct pworker *w)
{
	while (w->conns.next != &w->conns)
		ptcp_close(w->conns.next);
	ptcp_reap(w, false);
}
