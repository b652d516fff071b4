// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What the TCP and UDP sides of a proxy worker use from it: epoll interest
 * (pitem_set), the service lookup in the worker's snapshot, and the
 * worker's io_uring (liburing), which sends a batch's bytes in one syscall.
 * It calls back into them only through handler pointers (pitem.handle,
 * preq.done), so the layers do not depend on each other in a circle. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proxy_int.h"

/* Register, change or drop an fd's epoll interest. An fd with no interest
 * leaves epoll: EPOLLHUP/EPOLLERR would otherwise fire forever. */
void pitem_set(struct pworker *w, struct pitem *it, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = it };
	int op;

	if (it->fd < 0 || events == it->events)
		return;
	/* An ADD of it may wait in the ring (pitem_add): it goes first. */
	pring_submit(w);
	if (!events)
		op = EPOLL_CTL_DEL;
	else
		op = it->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(w->epfd, op, it->fd, &e) && op != EPOLL_CTL_DEL)
		log_warn("proxy: epoll_ctl on fd %d: %s", it->fd, strerror(errno));
	it->events = events;
}

struct psnap_svc *pworker_find_svc(struct pworker *w, struct pservice *ps)
{
	for (size_t i = 0; w->snap && i < w->snap->n; i++)
		if (w->snap->svc[i].ps == ps)
			return &w->snap->svc[i];
	return NULL;
}

/* ---- the worker's io_uring: a batch's sends in few syscalls ----------- */

/* A batch's sends (tcp relay, udp queries to backends) go to the kernel a
 * few to an io_uring_enter (tcp: PROXY_SUBMIT_EVERY; udp: all at once),
 * not one syscall each. Not all of a large batch in one: its receivers
 * would all wait for the batch's end, and on a CPU shared with them the
 * worker then waits longer for its next turn. They use
 * MSG_DONTWAIT: a send that would block completes at once with -EAGAIN,
 * like send(), instead of waiting in the ring. No io_uring (old kernel,
 * io_uring_disabled, seccomp) or no IORING_OP_SEND in it (before 5.6):
 * plain send() and sendmmsg(). */
#define RING_CQ      4096       /* completions a flush may leave unread */

static bool ring_can_send(struct io_uring *r)
{
	struct io_uring_probe *pr = io_uring_get_probe_ring(r);
	bool ok = pr && io_uring_opcode_supported(pr, IORING_OP_SEND);

	io_uring_free_probe(pr);
	return ok;
}

/* Closing a socket and adding it to epoll (5.6) go through the ring
 * together or not at all: an ADD queued in it must never reach the kernel
 * after a close() that could free its number. */
static bool ring_can_fdops(struct io_uring *r)
{
	struct io_uring_probe *pr = io_uring_get_probe_ring(r);
	bool ok = pr && io_uring_opcode_supported(pr, IORING_OP_CLOSE) &&
		  io_uring_opcode_supported(pr, IORING_OP_EPOLL_CTL);

	io_uring_free_probe(pr);
	return ok;
}

/* setsockopt as a socket command of the ring (6.7), laid out by hand:
 * liburing 2.3 has no io_uring_prep_cmd_sock and no names for its fields
 * (level and optname in addr, optlen in file_index, optval in addr3). */
#define SOCKET_URING_OP_SETSOCKOPT 3

static void prep_setsockopt(struct io_uring_sqe *sqe, int fd, int level, int name,
			    const int *val)
{
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = SOCKET_URING_OP_SETSOCKOPT;
	sqe->addr = (uint32_t)level | (uint64_t)(uint32_t)name << 32;
	sqe->file_index = sizeof(*val);
	sqe->addr3 = (uint64_t)(uintptr_t)val;
}

static const int one = 1;

/* The probe does not tell which socket commands the kernel has: try one. */
static bool ring_can_sockopt(struct pworker *w)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	struct io_uring_cqe *cqe;
	bool ok = false;

	if (fd < 0 || !sqe) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	memset(sqe, 0, sizeof(*sqe));
	prep_setsockopt(sqe, fd, IPPROTO_TCP, TCP_NODELAY, &one);
	if (io_uring_submit_and_wait(&w->ring, 1) == 1 &&
	    io_uring_wait_cqe(&w->ring, &cqe) == 0) {
		ok = cqe->res == 0;
		io_uring_cqe_seen(&w->ring, cqe);
	}
	close(fd);
	return ok;
}

/* Completions that did not come inline wake the loop. */
static void ring_event(struct pworker *w, struct pitem *it, uint32_t ev)
{
	pring_reap(w);
}

int pring_open(struct pworker *w)
{
	struct io_uring_params p = { .flags = IORING_SETUP_COOP_TASKRUN |
					      IORING_SETUP_CQSIZE,
				     .cq_entries = RING_CQ };
	int ret = io_uring_queue_init_params(PROXY_RING_SQ, &w->ring, &p);

	if (ret == -EINVAL) {           /* before 5.19: no COOP_TASKRUN */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = RING_CQ;
		ret = io_uring_queue_init_params(PROXY_RING_SQ, &w->ring, &p);
	}
	if (ret)
		return ret;
	if (!ring_can_send(&w->ring)) {
		io_uring_queue_exit(&w->ring);
		return -EOPNOTSUPP;
	}
	w->has_ring = true;
	w->ring_fdops = ring_can_fdops(&w->ring);
	w->ring_sockopt = w->ring_fdops && ring_can_sockopt(w);
	w->ring_it = (struct pitem){ .handle = ring_event, .fd = w->ring.ring_fd,
				     .owner = w };
	pitem_set(w, &w->ring_it, EPOLLIN);
	return 0;
}

void pring_close(struct pworker *w)
{
	if (!w->has_ring)
		return;
	pitem_set(w, &w->ring_it, 0);
	io_uring_queue_exit(&w->ring);
	w->has_ring = false;
}

bool pring_pending(struct pworker *w)
{
	return w->has_ring && io_uring_sq_ready(&w->ring);
}

int pring_submit(struct pworker *w)
{
	while (pring_pending(w)) {
		int n = io_uring_submit(&w->ring);

		if (n < 0 && n != -EINTR)
			return n;
	}
	return 0;
}

/* A request was queued: PROXY_SUBMIT_EVERY of them go in. */
void pring_submit_some(struct pworker *w)
{
	if (w->has_ring && io_uring_sq_ready(&w->ring) >= PROXY_SUBMIT_EVERY)
		pring_submit(w);
}

struct io_uring_sqe *pring_sqe(struct pworker *w, struct preq *req)
{
	struct io_uring_sqe *sqe;

	if (!w->has_ring)
		return NULL;
	sqe = io_uring_get_sqe(&w->ring);
	if (!sqe && pring_submit(w) == 0)       /* full: make room */
		sqe = io_uring_get_sqe(&w->ring);
	if (sqe) {
		memset(sqe, 0, sizeof(*sqe));
		io_uring_sqe_set_data(sqe, req);
	}
	return sqe;
}

/* The completions, each to its request's handler. */
void pring_reap(struct pworker *w)
{
	if (!w->has_ring)
		return;
	do {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		io_uring_for_each_cqe(&w->ring, head, cqe) {
			struct preq *req = io_uring_cqe_get_data(cqe);

			req->done(w, req, cqe->res);
			n++;
		}
		io_uring_cq_advance(&w->ring, n);
		/* More than RING_CQ at once: the kernel kept the rest aside. */
	} while (io_uring_cq_has_overflow(&w->ring) && io_uring_get_events(&w->ring) == 0);
}

/* Wait for one completion (reap takes it). */
int pring_wait(struct pworker *w)
{
	struct io_uring_cqe *cqe;

	if (!w->has_ring)
		return -ENOENT;
	return io_uring_wait_cqe(&w->ring, &cqe);
}

/* Before closing one of the worker's sockets: a send queued for it must
 * reach the kernel while the number is still its own (another thread's
 * next socket could get it). */
void pring_before_close(struct pworker *w)
{
	if (pring_pending(w))
		pring_submit(w);
}

/* ---- a connection's socket calls in the ring ---------------------------- */

/* A new connection costs about a dozen syscalls, and on a VM whose
 * syscalls trap to the hypervisor (PTI, a paravirtualized guest: 1.6 us
 * each on the bench's VM on an AMD host) their entries are a fifth of the
 * engine's CPU per connection (without PTI, on an Intel host, 0.27 us
 * each: there the ring saves little, and costs no more). The ones whose
 * answer the engine does not wait for go into the ring instead and reach
 * the kernel with the batch's sends, in their order: registering a socket
 * with epoll, TCP_NODELAY and close, each of which the kernel does inline
 * at the submit. (Not shutdown: the ring hands every IORING_OP_SHUTDOWN
 * to an io-wq thread, a wakeup each, and it could run after the close
 * behind it.) Each falls back to its syscall without the ring.
 * A close in the ring keeps the number taken until the batch's submit,
 * after everything queued before it for that socket. */

static void op_done(struct pworker *w, struct preq *r, int res)
{
}

static void add_done(struct pworker *w, struct preq *r, int res)
{
	if (res < 0)
		log_warn("proxy: epoll_ctl in the ring: %s", strerror(-res));
}

static struct preq op_req = { .done = op_done };
static struct preq add_req = { .done = add_done };

/* Register an fd that is not in epoll (it->events 0) with events. */
void pitem_add(struct pworker *w, struct pitem *it, uint32_t events)
{
	struct io_uring_sqe *sqe = w->ring_fdops ? pring_sqe(w, &add_req) : NULL;
	struct epoll_event *e;

	if (!sqe) {
		pitem_set(w, it, events);
		return;
	}
	/* The kernel reads the event at the submit: it waits in the slot
	 * that belongs to this sqe (the ring has as many of both). */
	e = &w->ring_ev[sqe - w->ring.sq.sqes];
	*e = (struct epoll_event){ .events = events, .data.ptr = it };
	io_uring_prep_epoll_ctl(sqe, w->epfd, it->fd, EPOLL_CTL_ADD, e);
	it->events = events;
}

void pfd_nodelay(struct pworker *w, int fd)
{
	struct io_uring_sqe *sqe = w->ring_sockopt ? pring_sqe(w, &op_req) : NULL;

	if (sqe) {
		prep_setsockopt(sqe, fd, IPPROTO_TCP, TCP_NODELAY, &one);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void pfd_close(struct pworker *w, int fd)
{
	struct io_uring_sqe *sqe = w->ring_fdops ? pring_sqe(w, &op_req) : NULL;

	if (sqe) {
		io_uring_prep_close(sqe, fd);
		return;
	}
	pring_before_close(w);
	close(fd);
}
