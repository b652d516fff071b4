// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What the TCP and UDP sides of a proxy worker use from it: epoll interest
 * (pitem_set), the service lookup in the worker's snapshot, and the
 * worker's io_uring (liburing), which sends a batch's bytes in one syscall.
 * It calls back into them only through handler pointers (pitem.handle,
 * preq.done), so the layers do not depend on each other in a circle. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
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
#define RING_ENTRIES 256
#define RING_CQ      4096       /* completions a flush may leave unread */

static bool ring_can_send(struct io_uring *r)
{
	struct io_uring_probe *pr = io_uring_get_probe_ring(r);
	bool ok = pr && io_uring_opcode_supported(pr, IORING_OP_SEND);

	io_uring_free_probe(pr);
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
	int ret = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);

	if (ret == -EINVAL) {           /* before 5.19: no COOP_TASKRUN */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = RING_CQ;
		ret = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
	}
	if (ret)
		return ret;
	if (!ring_can_send(&w->ring)) {
		io_uring_queue_exit(&w->ring);
		return -EOPNOTSUPP;
	}
	w->has_ring = true;
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
