// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy engine: worker threads and their epoll loops, config snapshots
 * published through a per-worker mailbox (atomic pointer + eventfd),
 * per-worker SO_REUSEPORT listeners, timers and counters. The TCP relay is
 * in proxy_tcp.c, UDP sessions in proxy_udp.c. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "log.h"
#include "proxy_int.h"

#define DEF_CONNECT_MS   3000u
#define DEF_TCP_IDLE_MS  300000u
#define DEF_UDP_IDLE_MS  30000u
#define DEF_DRAIN_MS     30000u
#define DEF_RETRIES      2u
#define DEF_HEADER_MS    10000u
#define BIND_RETRY_MS    1000u

unsigned proxy_nworkers;
struct pbal_slot *pbal_slots;
static int bal_slots_fd = -1, bal_flows_fd = -1;
static size_t bal_slots_len;
static struct pworker *workers;
static struct pservice *services;       /* control thread only */
static uint32_t maglev_size = XLB_MAGLEV_DEFAULT_SIZE;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sa_from_xlb(const struct xlb_sockaddr *a, struct sockaddr_storage *ss,
		 socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == XLB_AF_INET) {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = a->addr.v4;
		s->sin_port = htons(a->port);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a->addr.b, 16);
		s->sin6_port = htons(a->port);
		*len = sizeof(*s);
	}
}

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

/* ---- the worker's io_uring: a batch's sends in one syscall ------------ */

/* A batch's sends (tcp relay, udp queries to backends) go to the kernel in
 * one io_uring_enter: the wakeups of the receivers all happen in it and
 * the worker can be preempted once, at its end, instead of after every
 * send (when a woken client or server takes the CPU). They use
 * MSG_DONTWAIT: a send that would block completes at once with -EAGAIN,
 * like send(), instead of waiting in the ring. No io_uring (old kernel,
 * io_uring_disabled, seccomp): plain send() and sendmmsg(). */
#define RING_ENTRIES 256
#define RING_CQ      4096       /* completions a flush may leave unread */

/* The kernel knows IORING_OP_SEND (IORING_REGISTER_PROBE: 5.6, as SEND). */
static bool ring_can_send(int fd)
{
	size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *pr = calloc(1, len);
	bool ok;

	if (!pr)
		return false;
	ok = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, pr, 256) == 0 &&
	     pr->last_op >= IORING_OP_SEND &&
	     (pr->ops[IORING_OP_SEND].flags & IO_URING_OP_SUPPORTED);
	free(pr);
	return ok;
}

int pring_open(struct pworker *w)
{
	struct io_uring_params p = { .flags = IORING_SETUP_COOP_TASKRUN |
					      IORING_SETUP_CQSIZE,
				     .cq_entries = RING_CQ };
	struct pring *r = calloc(1, sizeof(*r));
	int fd;

	if (!r)
		return -ENOMEM;
	fd = (int)syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
	if (fd < 0 && errno == EINVAL) {        /* before 5.19: no COOP_TASKRUN */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = RING_CQ;
		fd = (int)syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
	}
	if (fd < 0) {
		free(r);
		return -errno;
	}
	if (!ring_can_send(fd)) {               /* before 5.6 */
		close(fd);
		free(r);
		return -EOPNOTSUPP;
	}
	r->fd = fd;
	r->entries = p.sq_entries;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		r->sq_len = r->cq_len = r->sq_len > r->cq_len ? r->sq_len : r->cq_len;
	r->sq_ptr = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 fd, IORING_OFF_SQ_RING);
	r->cq_ptr = p.features & IORING_FEAT_SINGLE_MMAP ? r->sq_ptr :
		    mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (r->sq_ptr == MAP_FAILED || r->cq_ptr == MAP_FAILED || r->sqes == MAP_FAILED) {
		int err = -errno;

		w->ring = r;
		pring_close(w);
		return err;
	}
	r->sq_tail = (unsigned *)((char *)r->sq_ptr + p.sq_off.tail);
	r->sq_mask = (unsigned *)((char *)r->sq_ptr + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)((char *)r->sq_ptr + p.sq_off.array);
	r->sq_flags = (unsigned *)((char *)r->sq_ptr + p.sq_off.flags);
	r->cq_head = (unsigned *)((char *)r->cq_ptr + p.cq_off.head);
	r->cq_tail = (unsigned *)((char *)r->cq_ptr + p.cq_off.tail);
	r->cq_mask = (unsigned *)((char *)r->cq_ptr + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)r->cq_ptr + p.cq_off.cqes);
	w->ring = r;
	/* Completions that did not come inline wake the loop. */
	w->ring_it = (struct pitem){ .type = PI_RING, .fd = fd, .owner = w };
	pitem_set(w, &w->ring_it, EPOLLIN);
	return 0;
}

void pring_close(struct pworker *w)
{
	struct pring *r = w->ring;

	if (!r)
		return;
	pitem_set(w, &w->ring_it, 0);
	if (r->sqes && r->sqes != MAP_FAILED)
		munmap(r->sqes, r->entries * sizeof(struct io_uring_sqe));
	if (r->cq_ptr && r->cq_ptr != MAP_FAILED && r->cq_ptr != r->sq_ptr)
		munmap(r->cq_ptr, r->cq_len);
	if (r->sq_ptr && r->sq_ptr != MAP_FAILED)
		munmap(r->sq_ptr, r->sq_len);
	close(r->fd);
	free(r);
	w->ring = NULL;
}

int pring_submit(struct pworker *w)
{
	struct pring *r = w->ring;

	while (r && r->queued) {
		int n = (int)syscall(__NR_io_uring_enter, r->fd, r->queued, 0, 0, NULL, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r->queued -= (unsigned)n;
	}
	return 0;
}

struct io_uring_sqe *pring_sqe(struct pworker *w)
{
	struct pring *r = w->ring;
	unsigned tail, idx;
	struct io_uring_sqe *sqe;

	if (!r || (r->queued == r->entries && pring_submit(w)))
		return NULL;
	tail = *r->sq_tail;
	idx = tail & *r->sq_mask;
	sqe = &r->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	r->queued++;
	return sqe;
}

/* The completions: each goes to the tcp or udp side, by its tag. */
void pring_reap(struct pworker *w)
{
	struct pring *r = w->ring;
	unsigned head, tail;

	if (!r)
		return;
	head = *r->cq_head;
	tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
	for (; head != tail; head++) {
		struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
		uint64_t ud = cqe->user_data;
		void *p = (void *)(uintptr_t)(ud & ~(uint64_t)PRING_TAGS);

		if (ud & PRING_UDP)
			pudp_done(w, p, cqe->res);
		else
			ptcp_done(w, p, ud & PRING_TO_SERVER, cqe->res);
	}
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	/* More than RING_CQ at once: the kernel kept the rest aside. */
	if (__atomic_load_n(r->sq_flags, __ATOMIC_ACQUIRE) & IORING_SQ_CQ_OVERFLOW) {
		syscall(__NR_io_uring_enter, r->fd, 0, 0, IORING_ENTER_GETEVENTS, NULL, 0);
		pring_reap(w);
	}
}

/* Wait for one completion. */
int pring_wait(struct pworker *w)
{
	if (!w->ring)
		return -ENOENT;
	if (syscall(__NR_io_uring_enter, w->ring->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	return 0;
}

/* Before closing one of the worker's sockets: a send queued for it must
 * reach the kernel while the number is still its own (another thread's
 * next socket could get it). */
void pring_before_close(struct pworker *w)
{
	if (w->ring && w->ring->queued)
		pring_submit(w);
}

/* ---- balance over the workers ------------------------------------------ */

/* With one SO_REUSEPORT listener per worker the kernel picks a listener by
 * a hash of the 4-tuple: 32 connections land 20/12 as often as 16/16, and
 * a worker with 5 of them idles while the other queues 27. So each
 * service's listener group gets a BPF_PROG_TYPE_SK_REUSEPORT program that
 * sends a new TCP connection (its SYN) or a new UDP flow to the least
 * loaded worker (struct pbal_slot), and keeps a UDP flow on the worker it
 * went to first (LRU map keyed by the kernel's 4-tuple hash), so its
 * session stays there. Without it (no CAP_BPF, old kernel) the kernel's
 * hash applies, as before.
 *
 * The program, in C:
 *
 *	if (ctx->ip_protocol == IPPROTO_UDP &&
 *	    (w = bpf_map_lookup_elem(&flows, &ctx->hash)))
 *		goto select;
 *	best = 1ull << 62, k = 0;
 *	for (i = 0; i < nworkers; i++) {        // unrolled, branch-free
 *		load = slot[i].live + max(0, (s64)(slot[i].sel - slot[i].ack));
 *		if (load < best) best = load, k = i;
 *	}
 *	if (ctx->ip_protocol == IPPROTO_UDP)
 *		bpf_map_update_elem(&flows, &ctx->hash, &k, BPF_ANY);
 *	__sync_fetch_and_add(&slot[k].sel, 1);
 * select:
 *	bpf_sk_select_reuseport(ctx, &listeners, &k, 0);  // key: worker index
 *	return SK_PASS;      // nothing selected: the kernel's hash decides
 */
#define BAL_FLOWS   65536               /* udp flows kept on their worker */
#define BAL_MAX_W   256

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), \
					       .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_R(d, s)      INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_I(d, i)      INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU_R(op, d, s)  INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU_I(op, d, i)  INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define LDX(sz, d, s, o) INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o) INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define JMP_I(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define JA(o)            INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f)          INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()           INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD64(d, s, i)    INSN(BPF_LD | BPF_DW | BPF_IMM, d, s, 0, i)
#define LD64_HI(i)       INSN(0, 0, 0, 0, i)
#define XADD(d, s, o)    INSN(BPF_STX | BPF_ATOMIC | BPF_DW, d, s, o, BPF_ADD)

static int bal_prog_load(int listeners_fd, unsigned n)
{
	struct bpf_insn *p = calloc(64 + 16 * (size_t)n, sizeof(*p));
	const int proto = offsetof(struct sk_reuseport_md, ip_protocol);
	const int hash = offsetof(struct sk_reuseport_md, hash);
	size_t i = 0, j_pick, j_sel, j_tcp, j_udp;
	int fd;

	if (!p)
		return -ENOMEM;
	p[i++] = MOV_R(BPF_REG_6, BPF_REG_1);                   /* ctx */
	p[i++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, proto);
	j_pick = i;
	p[i++] = JMP_I(BPF_JNE, BPF_REG_2, IPPROTO_UDP, 0);     /* -> pick */
	p[i++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, hash);
	p[i++] = STX(BPF_W, BPF_REG_10, BPF_REG_2, -4);         /* key */
	p[i++] = LD64(BPF_REG_1, BPF_PSEUDO_MAP_FD, bal_flows_fd);
	p[i++] = LD64_HI(0);
	p[i++] = MOV_R(BPF_REG_2, BPF_REG_10);
	p[i++] = ALU_I(BPF_ADD, BPF_REG_2, -4);
	p[i++] = CALL(BPF_FUNC_map_lookup_elem);
	p[i++] = JMP_I(BPF_JEQ, BPF_REG_0, 0, 2);               /* -> pick */
	p[i++] = LDX(BPF_W, BPF_REG_7, BPF_REG_0, 0);
	j_sel = i;
	p[i++] = JA(0);                                         /* -> select */
	/* pick: r8 = slots, r9 = best, r7 = k */
	p[j_pick].off = (int16_t)(i - j_pick - 1);
	p[i++] = LD64(BPF_REG_8, BPF_PSEUDO_MAP_VALUE, bal_slots_fd);
	p[i++] = LD64_HI(0);
	p[i++] = MOV_I(BPF_REG_9, 1);
	p[i++] = ALU_I(BPF_LSH, BPF_REG_9, 62);
	p[i++] = MOV_I(BPF_REG_7, 0);
	for (unsigned k = 0; k < n; k++) {
		int16_t o = (int16_t)(k * sizeof(struct pbal_slot));

		p[i++] = LDX(BPF_DW, BPF_REG_2, BPF_REG_8, o + offsetof(struct pbal_slot, live));
		p[i++] = LDX(BPF_DW, BPF_REG_3, BPF_REG_8, o + offsetof(struct pbal_slot, sel));
		p[i++] = LDX(BPF_DW, BPF_REG_4, BPF_REG_8, o + offsetof(struct pbal_slot, ack));
		p[i++] = ALU_R(BPF_SUB, BPF_REG_3, BPF_REG_4);  /* pending */
		p[i++] = MOV_R(BPF_REG_4, BPF_REG_3);
		p[i++] = ALU_I(BPF_ARSH, BPF_REG_4, 63);
		p[i++] = ALU_I(BPF_XOR, BPF_REG_4, -1);
		p[i++] = ALU_R(BPF_AND, BPF_REG_3, BPF_REG_4);  /* max(0, ..) */
		p[i++] = ALU_R(BPF_ADD, BPF_REG_2, BPF_REG_3);  /* load */
		p[i++] = ALU_R(BPF_SUB, BPF_REG_2, BPF_REG_9);  /* load - best */
		p[i++] = MOV_R(BPF_REG_3, BPF_REG_2);
		p[i++] = ALU_I(BPF_ARSH, BPF_REG_3, 63);        /* ~0 if less */
		p[i++] = ALU_R(BPF_AND, BPF_REG_2, BPF_REG_3);
		p[i++] = ALU_R(BPF_ADD, BPF_REG_9, BPF_REG_2);  /* best = min */
		p[i++] = MOV_R(BPF_REG_4, BPF_REG_7);
		p[i++] = ALU_I(BPF_XOR, BPF_REG_4, (int32_t)k);
		p[i++] = ALU_R(BPF_AND, BPF_REG_4, BPF_REG_3);
		p[i++] = ALU_R(BPF_XOR, BPF_REG_7, BPF_REG_4);  /* k if less */
	}
	p[i++] = JMP_I(BPF_JGE, BPF_REG_7, (int32_t)n, 0);      /* never; bounds */
	j_tcp = i - 1;
	p[i++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, proto);
	j_udp = i;
	p[i++] = JMP_I(BPF_JNE, BPF_REG_2, IPPROTO_UDP, 0);     /* -> count */
	p[i++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, hash);
	p[i++] = STX(BPF_W, BPF_REG_10, BPF_REG_2, -4);
	p[i++] = STX(BPF_W, BPF_REG_10, BPF_REG_7, -8);
	p[i++] = LD64(BPF_REG_1, BPF_PSEUDO_MAP_FD, bal_flows_fd);
	p[i++] = LD64_HI(0);
	p[i++] = MOV_R(BPF_REG_2, BPF_REG_10);
	p[i++] = ALU_I(BPF_ADD, BPF_REG_2, -4);
	p[i++] = MOV_R(BPF_REG_3, BPF_REG_10);
	p[i++] = ALU_I(BPF_ADD, BPF_REG_3, -8);
	p[i++] = MOV_I(BPF_REG_4, BPF_ANY);
	p[i++] = CALL(BPF_FUNC_map_update_elem);
	/* count: */
	p[j_udp].off = (int16_t)(i - j_udp - 1);
	p[i++] = MOV_R(BPF_REG_2, BPF_REG_7);
	p[i++] = ALU_I(BPF_MUL, BPF_REG_2, sizeof(struct pbal_slot));
	p[i++] = ALU_R(BPF_ADD, BPF_REG_2, BPF_REG_8);
	p[i++] = MOV_I(BPF_REG_3, 1);
	p[i++] = XADD(BPF_REG_2, BPF_REG_3, offsetof(struct pbal_slot, sel));
	/* select: */
	p[j_sel].off = (int16_t)(i - j_sel - 1);
	p[j_tcp].off = (int16_t)(i - j_tcp - 1);
	p[i++] = STX(BPF_W, BPF_REG_10, BPF_REG_7, -8);
	p[i++] = MOV_R(BPF_REG_1, BPF_REG_6);
	p[i++] = LD64(BPF_REG_2, BPF_PSEUDO_MAP_FD, listeners_fd);
	p[i++] = LD64_HI(0);
	p[i++] = MOV_R(BPF_REG_3, BPF_REG_10);
	p[i++] = ALU_I(BPF_ADD, BPF_REG_3, -8);
	p[i++] = MOV_I(BPF_REG_4, 0);
	p[i++] = CALL(BPF_FUNC_sk_select_reuseport);
	p[i++] = MOV_I(BPF_REG_0, SK_PASS);
	p[i++] = EXIT();
	fd = bpf_prog_load(BPF_PROG_TYPE_SK_REUSEPORT, "xlb_proxy_bal", "Dual BSD/GPL",
			   p, i, NULL);
	fd = fd < 0 ? -errno : fd;
	free(p);
	return fd;
}

/* The maps every service's program shares; on failure the kernel's hash
 * stays in charge (logged once). */
static void bal_init(unsigned n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	long pg = sysconf(_SC_PAGESIZE);
	void *m;

	if (n < 2 || n > BAL_MAX_W)
		return;
	bal_slots_len = (n * sizeof(struct pbal_slot) + (size_t)pg - 1) & ~((size_t)pg - 1);
	bal_slots_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_proxy_load", 4,
				      n * sizeof(struct pbal_slot), 1, &o);
	bal_flows_fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "xlb_proxy_flows", 4, 4,
				      BAL_FLOWS, NULL);
	m = bal_slots_fd < 0 ? MAP_FAILED :
	    mmap(NULL, bal_slots_len, PROT_READ | PROT_WRITE, MAP_SHARED, bal_slots_fd, 0);
	if (bal_flows_fd < 0 || m == MAP_FAILED) {
		log_info("proxy: no BPF balance over the workers (%s): the kernel's "
			 "reuseport hash spreads connections", strerror(errno));
		if (bal_slots_fd >= 0)
			close(bal_slots_fd);
		if (bal_flows_fd >= 0)
			close(bal_flows_fd);
		bal_slots_fd = bal_flows_fd = -1;
		return;
	}
	pbal_slots = m;
	log_debug("proxy: new connections and udp flows go to the least loaded "
		  "of %u workers (BPF reuseport selector)", n);
}

static void bal_fini(void)
{
	if (pbal_slots)
		munmap(pbal_slots, bal_slots_len);
	pbal_slots = NULL;
	if (bal_slots_fd >= 0)
		close(bal_slots_fd);
	if (bal_flows_fd >= 0)
		close(bal_flows_fd);
	bal_slots_fd = bal_flows_fd = -1;
}

/* Control thread, for a new service: its listener map and program. */
static void bal_service(struct pservice *ps)
{
	int err;

	ps->bal_map = ps->bal_prog = -1;
	if (!pbal_slots)
		return;
	ps->bal_map = bpf_map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "xlb_proxy_ls",
				     4, 8, proxy_nworkers, NULL);
	if (ps->bal_map < 0) {
		err = -errno;
		goto fail;
	}
	ps->bal_prog = bal_prog_load(ps->bal_map, proxy_nworkers);
	if (ps->bal_prog < 0) {
		err = ps->bal_prog;
		goto fail;
	}
	return;
fail:
	log_warn("proxy: no BPF balance over the workers for this service: %s",
		 strerror(-err));
	if (ps->bal_map >= 0)
		close(ps->bal_map);
	ps->bal_map = ps->bal_prog = -1;
}

/* A worker's new listener joins its service's group: slot w->idx of the
 * map, and the program (attaching it again is harmless). */
static void bal_listener(struct pworker *w, struct plisten *ls)
{
	struct pservice *ps = ls->ps;
	uint32_t k = w->idx;
	uint64_t fd = (uint64_t)ls->it.fd;

	if (ps->bal_prog < 0)
		return;
	if (bpf_map_update_elem(ps->bal_map, &k, &fd, BPF_ANY) ||
	    setsockopt(ls->it.fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &ps->bal_prog,
		       sizeof(ps->bal_prog)))
		log_warn("proxy: worker %u: BPF balance not set on a listener: %s",
			 w->idx, strerror(errno));
}

/* ---- snapshots (control thread builds, workers read) ------------------- */

static void snap_free(struct psnap *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct psnap_svc *v = &s->svc[i];

		psched_free(&v->sched);
		for (unsigned k = 0; v->cur && k < proxy_nworkers; k++)
			psched_cursor_free(&v->cur[k]);
		free(v->cur);
		free(v->be);
	}
	free(s->svc);
	free(s);
}

static void snap_put(struct psnap *s)
{
	if (s && atomic_fetch_sub(&s->ref, 1) == 1)
		snap_free(s);
}

/* proxy_nworkers counter shards, a cache line each. */
static struct pcount *pcount_alloc(void)
{
	struct pcount *c = aligned_alloc(_Alignof(struct pcount),
					 proxy_nworkers * sizeof(*c));

	if (c)
		memset(c, 0, proxy_nworkers * sizeof(*c));
	return c;
}

static struct pservice *service_get(const struct xlb_service_cfg *sc)
{
	struct pservice *ps;

	for (ps = services; ps; ps = ps->next)
		if (ps->proto == sc->proto && addr_equal(&ps->vip, &sc->vip))
			return ps;
	ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->cnt = pcount_alloc();
	if (!ps || !ps->cnt) {
		free(ps);
		return NULL;
	}
	ps->proto = sc->proto;
	ps->vip = sc->vip;
	sa_from_xlb(&ps->vip, &ps->sa, &ps->salen);
	bal_service(ps);
	ps->next = services;
	services = ps;
	return ps;
}

static struct pbackend *backend_get(struct pservice *ps, const struct xlb_sockaddr *a)
{
	struct xlb_sockaddr r = *a;
	struct pbackend *pb;

	if (!r.port)
		r.port = ps->vip.port;
	for (pb = ps->backends; pb; pb = pb->next)
		if (addr_equal(&pb->addr, &r))
			return pb;
	pb = calloc(1, sizeof(*pb));
	if (pb)
		pb->cnt = pcount_alloc();
	if (!pb || !pb->cnt) {
		free(pb);
		return NULL;
	}
	pb->addr = r;
	sa_from_xlb(&r, &pb->sa, &pb->salen);
	pb->next = ps->backends;
	ps->backends = pb;
	return pb;
}

/* Protocols where the server speaks first (FTP, SSH, telnet, SMTP, POP3,
 * IMAP, submission, MySQL, VNC): their clients wait for it, so the backend
 * connection cannot wait for them. */
static bool server_speaks_first(uint16_t port)
{
	static const uint16_t ports[] = { 21, 22, 23, 25, 110, 143, 587, 3306, 5900 };

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

static void settings_from(const struct xlb_service_cfg *sc, struct psettings *s)
{
	bool udp = sc->proto == IPPROTO_UDP;
	bool server_first = sc->server_first_set ? sc->server_first :
			    server_speaks_first(sc->vip.port);

	s->send_proxy = sc->send_proxy;
	s->accept_proxy = sc->accept_proxy;
	s->retries = sc->retries_set ? sc->retries : DEF_RETRIES;
	s->max_conn = sc->max_connections;
	s->connect_ms = sc->connect_timeout_ms ? sc->connect_timeout_ms : DEF_CONNECT_MS;
	s->client_ms = sc->client_timeout_ms ? sc->client_timeout_ms :
		       udp ? DEF_UDP_IDLE_MS : DEF_TCP_IDLE_MS;
	s->server_ms = sc->server_timeout_ms ? sc->server_timeout_ms : DEF_TCP_IDLE_MS;
	s->drain_ms = sc->drain_time_ms ? sc->drain_time_ms : DEF_DRAIN_MS;
	s->header_ms = sc->header_timeout_ms ? sc->header_timeout_ms : DEF_HEADER_MS;
	s->wait_data = !udp && !server_first;
}

static int snap_add_service(struct psnap_svc *v, const struct xlb_service_cfg *sc)
{
	struct psched_be *sb;
	int ret;

	v->ps = service_get(sc);
	if (!v->ps)
		return -ENOMEM;
	settings_from(sc, &v->set);
	v->be = calloc(sc->n_backends + 1, sizeof(*v->be));
	sb = calloc(sc->n_backends + 1, sizeof(*sb));
	v->cur = calloc(proxy_nworkers, sizeof(*v->cur));
	if (!v->be || !sb || !v->cur) {
		free(sb);
		return -ENOMEM;
	}
	for (size_t j = 0; j < sc->n_backends; j++) {
		struct pbackend *pb = backend_get(v->ps, &sc->backends[j].addr);

		if (!pb) {
			free(sb);
			return -ENOMEM;
		}
		v->be[j] = pb;
		sb[j].weight = sc->backends[j].weight;
		sb[j].key = psched_hash(&pb->addr, sizeof(pb->addr));
		sb[j].load = &pb->load;
	}
	v->n_be = sc->n_backends;
	ret = psched_init(&v->sched, sc->scheduler, sb, sc->n_backends, maglev_size);
	free(sb);
	if (ret)
		return ret;
	for (unsigned k = 0; k < proxy_nworkers; k++)
		if (psched_cursor_init(&v->cur[k], sc->n_backends,
				       psched_hash(&k, sizeof(k)) ^ (uint64_t)now_ms()))
			return -ENOMEM;
	return 0;
}

int proxy_apply(const struct xlb_config *cfg)
{
	struct psnap *s;
	size_t n = 0;
	int ret = 0;

	if (!workers)
		return 0;
	if (cfg->maglev_table_size)
		maglev_size = cfg->maglev_table_size;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->svc = calloc(cfg->n_services + 1, sizeof(*s->svc));
	if (!s->svc) {
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_services; i++) {
		if (cfg->services[i].mode != XLB_MODE_PROXY)
			continue;
		s->n = n + 1;           /* so snap_free releases it on failure */
		ret = snap_add_service(&s->svc[n++], &cfg->services[i]);
		if (ret) {
			log_err("proxy: cannot apply the config: %s", strerror(-ret));
			snap_free(s);
			return ret;
		}
	}
	atomic_store(&s->ref, (int)proxy_nworkers);
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		struct pworker *w = &workers[k];
		struct psnap *old = atomic_exchange(&w->pending, s);
		uint64_t one = 1;

		/* Never picked up: that worker skips straight to s. */
		snap_put(old);
		if (write(w->ev.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("proxy: cannot wake worker %u: %s", k, strerror(errno));
	}
	return 0;
}

/* ---- listeners (worker side) ------------------------------------------- */

static int listen_open(struct plisten *ls)
{
	const struct pservice *ps = ls->ps;
	int type = ps->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd, one = 1, af = ps->sa.ss_family;

	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto fail;
	/* The VIP may not be on the host yet (manage_addresses: false and an
	 * operator who adds it later). */
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	/* Accepted sockets inherit TCP_NODELAY: one setsockopt less each. */
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ps->sa, ps->salen))
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 4096))
		goto fail;
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

static void listen_try(struct pworker *w, struct plisten *ls)
{
	char a[XLB_ADDRSTR_MAX + 8];
	int fd = listen_open(ls);

	if (fd < 0) {
		if (w->idx == 0)
			log_warn("proxy: cannot listen on %s: %s; retrying",
				 service_name_str(ls->ps->proto, &ls->ps->vip, a,
						  sizeof(a)), strerror(-fd));
		ls->retry_at = w->now + BIND_RETRY_MS;
		return;
	}
	ls->it.fd = fd;
	ls->it.events = 0;
	bal_listener(w, ls);
	pitem_set(w, &ls->it, EPOLLIN);
	if (w->idx == 0)
		log_info("proxy: listening on %s",
			 service_name_str(ls->ps->proto, &ls->ps->vip, a, sizeof(a)));
}

static void listen_close(struct pworker *w, struct plisten *ls)
{
	if (ls->it.fd < 0)
		return;
	pitem_set(w, &ls->it, 0);
	close(ls->it.fd);
	ls->it.fd = -1;
}

/* Take the snapshot waiting in the mailbox, if any: keep the listeners of
 * services that stay, open new ones, close and drain the others. */
static void worker_take_snapshot(struct pworker *w)
{
	struct psnap *s = atomic_exchange(&w->pending, NULL), *old = w->snap;
	struct plisten *ls;

	if (!s)
		return;
	ls = calloc(s->n + 1, sizeof(*ls));
	if (!ls) {
		/* Keep serving the old config; the next apply tries again. */
		log_err("proxy: worker %u: out of memory, config not taken", w->idx);
		snap_put(s);
		return;
	}
	w->snap = s;
	for (size_t i = 0; i < s->n; i++) {
		ls[i].ps = s->svc[i].ps;
		ls[i].cfg = &s->svc[i];
		ls[i].it.fd = -1;
		ls[i].it.owner = &ls[i];
		ls[i].it.type = ls[i].ps->proto == IPPROTO_TCP ? PI_TCP_LISTEN :
				PI_UDP_LISTEN;
		for (size_t j = 0; j < w->n_ls; j++) {
			struct plisten *o = &w->ls[j];

			if (o->ps != ls[i].ps || !o->ps)
				continue;
			/* Moving the item: epoll's data.ptr must follow. */
			ls[i].paused = o->paused;
			ls[i].retry_at = o->retry_at;
			if (o->it.fd >= 0) {
				uint32_t ev = o->it.events;

				ls[i].it.fd = o->it.fd;
				o->it.fd = -1;
				if (ev) {
					struct epoll_event e = { .events = ev,
								 .data.ptr = &ls[i].it };

					epoll_ctl(w->epfd, EPOLL_CTL_MOD, ls[i].it.fd, &e);
				}
				ls[i].it.events = ev;
			}
			o->ps = NULL;   /* kept */
			break;
		}
		if (ls[i].it.fd < 0 && !ls[i].paused)
			listen_try(w, &ls[i]);
	}
	for (size_t j = 0; j < w->n_ls; j++) {
		struct plisten *o = &w->ls[j];

		if (!o->ps)
			continue;
		listen_close(w, o);
		if (o->ps->proto == IPPROTO_TCP)
			ptcp_drain(w, o->ps, o->cfg->set.drain_ms);
		else
			pudp_drop_listener(w, o);
	}
	free(w->ls);
	w->ls = ls;
	w->n_ls = s->n;
	snap_put(old);
}

/* Every PROXY_TICK_MS: paused and unbound listeners, the buffer pool
 * (connections and sessions have their timers in the wheel). */
static void worker_tick(struct pworker *w)
{
	for (size_t i = 0; i < w->n_ls; i++) {
		struct plisten *ls = &w->ls[i];
		uint32_t max = ls->cfg->set.max_conn;

		if (ls->it.fd < 0) {
			if (w->now >= ls->retry_at)
				listen_try(w, ls);
			continue;
		}
		bool full = max && atomic_load(&ls->ps->active) >= max;

		if (ls->paused && w->now >= ls->retry_at &&
		    (!full || ptcp_shed(w, ls->ps))) {
			ls->paused = false;
			atomic_store(&ls->ps->starved, false);
			pitem_set(w, &ls->it, EPOLLIN);
		} else if (full && atomic_load(&ls->ps->starved)) {
			/* The idlest may be ours while another worker waits. */
			ptcp_shed(w, ls->ps);
		}
	}
	ptcp_pool_trim(w);
}

static void *worker_main(void *arg)
{
	struct pworker *w = arg;
	struct epoll_event evs[256];
	uint64_t next_tick = 0;
	sigset_t all;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ret = pring_open(w);
	if (ret && w->idx == 0)
		log_info("proxy: no io_uring (%s): one send() per write", strerror(-ret));
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		bool mail = false;
		/* Connections left to pump (ptcp_flush stops after a while so
		 * as not to starve the other sockets): do not sleep. */
		int n = epoll_wait(w->epfd, evs, 256, w->dirty_c ? 0 : PROXY_TICK_MS);

		if (n < 0 && errno != EINTR) {
			log_err("proxy: worker %u: epoll_wait: %s", w->idx, strerror(errno));
			break;
		}
		w->now = now_ms();
		for (int i = 0; i < n; i++) {
			struct pitem *it = evs[i].data.ptr;

			switch (it->type) {
			case PI_EVENT: {
				uint64_t v;

				if (read(it->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_warn("proxy: eventfd: %s", strerror(errno));
				mail = true;
				break;
			}
			case PI_TCP_LISTEN:
				ptcp_accept(w, it->owner);
				break;
			case PI_UDP_LISTEN:
				pudp_listen_event(w, it->owner);
				break;
			case PI_CLIENT:
			case PI_SERVER:
				ptcp_event(w, it, evs[i].events);
				break;
			case PI_UDP_BACKEND:
				pudp_backend_event(w, it->owner, evs[i].events);
				break;
			case PI_RING:
				pring_reap(w);
				break;
			}
		}
		/* The batch's udp replies (they point at their sessions'
		 * client addresses), before a snapshot may close the listener
		 * they leave from. */
		pudp_flush(w);
		/* Listener structs move when a snapshot is taken: only
		 * between batches. */
		if (mail)
			worker_take_snapshot(w);
		pwheel_run(&w->wheel, w, w->now);
		if (w->now >= next_tick) {
			worker_tick(w);
			next_tick = w->now + PROXY_TICK_MS;
		}
		/* The batch's tcp reads and sends (proxy_tcp.c), then free
		 * what closed: connections closed in this batch may have had
		 * events later in it. */
		ptcp_flush(w);
		ptcp_reap(w, true);
		while (w->grave_s) {
			struct usess *s = w->grave_s;

			w->grave_s = s->next;
			free(s);
		}
	}
	pring_close(w);
	return NULL;
}

/* Descriptors: two sockets per tcp connection, one per udp session. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Sum of the workers' shards. */
static void counters_read(const struct pcount *c, uint64_t active,
			  struct proxy_counters *out)
{
	memset(out, 0, sizeof(*out));
	out->active = active;
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		out->total += atomic_load_explicit(&c[k].total, memory_order_relaxed);
		out->bytes_in += atomic_load_explicit(&c[k].bytes_in, memory_order_relaxed);
		out->bytes_out += atomic_load_explicit(&c[k].bytes_out, memory_order_relaxed);
		out->connect_fail += atomic_load_explicit(&c[k].connect_fail,
							  memory_order_relaxed);
		out->retries += atomic_load_explicit(&c[k].retries, memory_order_relaxed);
		out->timeouts += atomic_load_explicit(&c[k].timeouts, memory_order_relaxed);
		out->rejected += atomic_load_explicit(&c[k].rejected, memory_order_relaxed);
		out->bad_header += atomic_load_explicit(&c[k].bad_header,
							memory_order_relaxed);
	}
}

int proxy_start(unsigned nworkers)
{
	long ncpu;
	int ret;

	if (workers)
		return -EALREADY;
	if (!nworkers) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	raise_nofile();
	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	proxy_nworkers = nworkers;
	bal_init(nworkers);
	for (unsigned k = 0; k < nworkers; k++) {
		struct pworker *w = &workers[k];

		w->idx = k;
		w->conns.next = w->conns.prev = &w->conns;
		w->sess.next = w->sess.prev = &w->sess;
		w->rng = psched_hash(&k, sizeof(k)) | 1;
		w->ev.type = PI_EVENT;
		w->ev.owner = w;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->ev.fd < 0) {
			ret = -errno;
			goto fail;
		}
		ret = pudp_init(w);
		if (ret)
			goto fail;
		w->now = now_ms();
		pwheel_init(&w->wheel, w->now);
		pitem_set(w, &w->ev, EPOLLIN);
		ret = -pthread_create(&w->th, NULL, worker_main, w);
		if (ret) {
			close(w->epfd);
			close(w->ev.fd);
			w->epfd = w->ev.fd = -1;
			goto fail;
		}
	}
	log_info("proxy: %u worker thread(s)", nworkers);
	return 0;
fail:
	log_err("proxy: cannot start worker threads: %s", strerror(-ret));
	proxy_stop();
	return ret;
}

void proxy_stop(void)
{
	if (!workers)
		return;
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		struct pworker *w = &workers[k];
		uint64_t one = 1;

		if (!w->th)
			continue;
		atomic_store(&w->stop, true);
		if (write(w->ev.fd, &one, sizeof(one)) < 0)
			log_warn("proxy: cannot wake worker %u", k);
		pthread_join(w->th, NULL);
	}
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		struct pworker *w = &workers[k];

		for (size_t i = 0; i < w->n_ls; i++)
			listen_close(w, &w->ls[i]);
		free(w->ls);
		if (w->epfd > 0) {
			ptcp_free_all(w);
			pudp_free_all(w);
		}
		snap_put(w->snap);
		snap_put(atomic_exchange(&w->pending, NULL));
		if (w->epfd > 0)
			close(w->epfd);
		if (w->ev.fd > 0)
			close(w->ev.fd);
	}
	free(workers);
	workers = NULL;
	while (services) {
		struct pservice *ps = services;
		char a[XLB_ADDRSTR_MAX + 8];
		struct proxy_counters t;

		counters_read(ps->cnt, 0, &t);

		log_info("proxy: %s: %llu connections, %llu bytes in, %llu bytes out, "
			 "%llu connect failures, %llu retries, %llu timeouts, "
			 "%llu rejected, %llu bad PROXY headers",
			 service_name_str(ps->proto, &ps->vip, a, sizeof(a)),
			 (unsigned long long)t.total,
			 (unsigned long long)t.bytes_in,
			 (unsigned long long)t.bytes_out,
			 (unsigned long long)t.connect_fail,
			 (unsigned long long)t.retries,
			 (unsigned long long)t.timeouts,
			 (unsigned long long)t.rejected,
			 (unsigned long long)t.bad_header);
		services = ps->next;
		while (ps->backends) {
			struct pbackend *pb = ps->backends;

			ps->backends = pb->next;
			free(pb->cnt);
			free(pb);
		}
		if (ps->bal_prog >= 0)
			close(ps->bal_prog);
		if (ps->bal_map >= 0)
			close(ps->bal_map);
		free(ps->cnt);
		free(ps);
	}
	bal_fini();
	proxy_nworkers = 0;
}

int proxy_stats(uint8_t proto, const struct xlb_sockaddr *vip,
		const struct xlb_sockaddr *be, struct proxy_counters *out)
{
	for (struct pservice *ps = services; ps; ps = ps->next) {
		if (ps->proto != proto || !addr_equal(&ps->vip, vip))
			continue;
		if (!be) {
			counters_read(ps->cnt, atomic_load(&ps->active), out);
			return 0;
		}
		struct xlb_sockaddr r = *be;

		if (!r.port)
			r.port = vip->port;
		for (struct pbackend *pb = ps->backends; pb; pb = pb->next)
			if (addr_equal(&pb->addr, &r)) {
				counters_read(pb->cnt, atomic_load(&pb->load.active), out);
				return 0;
			}
		return -ENOENT;
	}
	return -ENOENT;
}
