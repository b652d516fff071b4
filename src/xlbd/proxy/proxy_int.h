/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Types shared by the proxy engine's files: proxy.c (workers, snapshots,
 * listeners, timers), proxy_tcp.c (TCP relay) and proxy_udp.c (UDP
 * sessions). Not for use outside the engine. */
#ifndef XLB_PROXY_INT_H
#define XLB_PROXY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "proxy.h"
#include "proxy_sched.h"
#include "proxy_timer.h"

#define PROXY_BUF          16384        /* per direction, per tcp connection */
#define PROXY_TICK_MS      PTIMER_TICK_MS
#define PROXY_DOWN_MS      2000         /* skip a backend after a failed connect */
#define PROXY_UDP_BUCKETS  65536        /* per worker */
#define PROXY_UDP_MAX      262144       /* sessions per worker, whatever the cap */

/* Counters, one shard per worker (a cache line each, so workers never
 * share one): only that worker writes a shard, proxy_stats() sums them. */
struct pcount {
	_Alignas(64) _Atomic uint64_t total;
	_Atomic uint64_t bytes_in, bytes_out, connect_fail, retries,
			 timeouts, rejected, bad_header;
};

/* The shard of worker w in obj (a pservice or a pbackend). */
#define PCNT(obj, w) (&(obj)->cnt[(w)->idx])
/* Single writer: a relaxed load and store, no locked instruction. */
#define PCOUNT_ADD(c, field, v) \
	atomic_store_explicit(&(c)->field, \
		atomic_load_explicit(&(c)->field, memory_order_relaxed) + (v), \
		memory_order_relaxed)

/* A backend of a service, as long as the engine runs (the control thread
 * creates them and frees them only in proxy_stop, so a connection can keep
 * pointing at one after a config change removed it). */
struct pbackend {
	struct pbackend *next;
	struct xlb_sockaddr addr;       /* port resolved */
	struct sockaddr_storage sa;
	socklen_t salen;
	struct psched_load load;
	struct pcount *cnt;             /* proxy_nworkers shards */
};

/* A service (proto + VIP:port), same lifetime as pbackend. */
struct pservice {
	struct pservice *next;
	int bal_map, bal_prog;          /* its reuseport selector, or -1 */
	uint8_t proto;
	struct xlb_sockaddr vip;
	struct sockaddr_storage sa;
	socklen_t salen;
	_Atomic uint32_t active;
	_Atomic bool starved;           /* a worker is paused at max_connections
					 * with nothing of its own to shed */
	struct pcount *cnt;             /* proxy_nworkers shards */
	struct pbackend *backends;
};

/* Effective settings of a service (defaults resolved). */
struct psettings {
	uint8_t send_proxy;
	bool accept_proxy;
	uint32_t retries, max_conn;
	uint32_t connect_ms, client_ms, server_ms, drain_ms, header_ms;
	bool wait_data;                 /* tcp: connect once the client sent */
};

struct psnap_svc {
	struct pservice *ps;
	struct psettings set;
	size_t n_be;
	struct pbackend **be;           /* same order as sched.be */
	struct psched sched;
	struct psched_cursor *cur;      /* one per worker */
};

/* One published config. Workers hold a reference each; the last to drop
 * it frees it. */
struct psnap {
	_Atomic int ref;
	size_t n;
	struct psnap_svc *svc;
};

enum pitem_type {
	PI_EVENT,                       /* the worker's mailbox eventfd */
	PI_TCP_LISTEN,
	PI_UDP_LISTEN,
	PI_CLIENT,                      /* tcp, client side */
	PI_SERVER,                      /* tcp, backend side */
	PI_UDP_BACKEND,                 /* udp session's backend socket */
	PI_RING,                        /* the worker's io_uring */
};

/* What epoll_event.data.ptr points at. */
struct pitem {
	uint8_t type;
	/* Edge-triggered tcp sockets: what the last events said and what
	 * reads and writes found since (a short read or write clears it). */
	bool rd, wr, rdhup;
	uint32_t events;                /* registered interest, 0 = not in epoll */
	int fd;
	void *owner;
};

struct pworker;
struct pudp_io;
struct pring;

struct plisten {
	struct pservice *ps;
	struct psnap_svc *cfg;          /* in the worker's current snapshot */
	struct pitem it;
	bool paused;                    /* at max_connections (or EMFILE) */
	uint64_t retry_at;              /* fd < 0: when to try binding again */
};

/* data: from the worker's pool while it holds bytes, NULL when empty. */
struct pbuf {
	char *data;
	uint32_t off, len;
	bool eof;                       /* the source sent FIN */
	bool shut;                      /* FIN forwarded to the destination */
	bool busy;                      /* a send from it is in the ring */
};

enum pconn_state {
	PC_HEADER,                      /* reading the client's PROXY header */
	PC_WAIT,                        /* for the client's first bytes */
	PC_CONNECTING,
	PC_RELAY,
};

struct pconn {
	struct pconn *prev, *next;      /* worker's list, most recently
					 * active first */
	struct pworker *w;
	struct ptimer tm;               /* the next deadline (lazy: rechecked) */
	struct pservice *ps;
	struct pbackend *be;            /* NULL until picked */
	struct pitem ci, si;
	uint8_t state;
	bool dead;
	struct psettings set;
	struct sockaddr_storage cli, vip;       /* as the client sees it (or as
						 * its PROXY header says) */
	struct pbuf c2s, s2c;
	uint64_t hash;                  /* for sh/maglev */
	bool hash_port;                 /* the port is part of it */
	uint64_t tried;
	uint32_t attempts;
	uint64_t t_start, t_client, t_server, deadline;
	uint32_t pp_left;               /* send_proxy header bytes not sent yet */
	struct pconn *dnext;            /* worker's dirty list */
	bool dirty;
	uint8_t inflight;               /* sends in the ring */
};

struct usess {
	struct usess *prev, *next;      /* worker's list */
	struct usess *hnext;            /* hash chain */
	struct pworker *w;
	int lfd;                        /* the listener: replies leave from
					 * VIP:port through it */
	struct pservice *ps;
	struct pbackend *be;
	struct pitem bi;
	struct ptimer tm;               /* idle timeout (lazy: rechecked) */
	bool dead;
	struct sockaddr_storage cli;
	socklen_t clilen;
	uint64_t last;
	uint32_t idle_ms;
	uint64_t hash;
};

struct pworker {
	unsigned idx;
	pthread_t th;
	int epfd;
	struct pitem ev;
	_Atomic(struct psnap *) pending;
	_Atomic bool stop;
	struct psnap *snap;
	struct plisten *ls;             /* one per snap->svc, same order */
	size_t n_ls;
	struct pconn conns;             /* list head */
	struct usess sess;              /* list head */
	size_t n_sess;
	struct usess **buckets;
	struct pconn *grave_c;          /* freed after the event batch */
	struct pconn *dirty_c;          /* to move bytes for at the batch's end */
	struct pring *ring;             /* io_uring for the batch's sends */
	struct pitem ring_it;
	struct pconn *spare_c;          /* freed ones kept for reuse */
	unsigned n_spare_c;
	char *pool;                     /* free tcp buffers, a list through */
	unsigned n_pool;                /* their first bytes */
	unsigned pool_freed;            /* given back to malloc since a trim */
	struct pwheel wheel;
	struct usess *grave_s;
	uint64_t now;
	uint64_t n_live, n_ack;         /* see pbal_slot */
	uint64_t rng;
	struct pudp_io *udp;            /* proxy_udp.c's batches */
};

extern unsigned proxy_nworkers;

/* Balance over the workers: a BPF program attached to each service's
 * group of SO_REUSEPORT listeners (proxy.c) sends every new TCP connection
 * and every new UDP flow to the least loaded worker, load being what the
 * worker holds (live) plus what was sent its way and has not arrived yet
 * (sel - ack). One cache line per worker in a BPF array map mapped into
 * memory: the program adds to sel, the worker alone writes live and ack. */
struct pbal_slot {
	_Alignas(64) _Atomic uint64_t live;
	_Atomic uint64_t sel;
	_Atomic uint64_t ack;
};
extern struct pbal_slot *pbal_slots;    /* NULL: no selector, kernel hash */

/* The worker holds delta more (or fewer) connections or sessions. */
static inline void pbal_live(struct pworker *w, int delta)
{
	w->n_live += (uint64_t)(int64_t)delta;
	if (pbal_slots)
		atomic_store_explicit(&pbal_slots[w->idx].live, w->n_live,
				      memory_order_relaxed);
}

/* A new connection or flow reached the worker. */
static inline void pbal_arrived(struct pworker *w)
{
	if (pbal_slots)
		atomic_store_explicit(&pbal_slots[w->idx].ack, ++w->n_ack,
				      memory_order_relaxed);
}

/* A listener of the worker is drained: what was sent its way arrived
 * (and what never will, a SYN without its handshake, stops counting). */
static inline void pbal_drained(struct pworker *w)
{
	if (!pbal_slots)
		return;
	w->n_ack = atomic_load_explicit(&pbal_slots[w->idx].sel, memory_order_relaxed);
	atomic_store_explicit(&pbal_slots[w->idx].ack, w->n_ack, memory_order_relaxed);
}

/* The worker's io_uring (proxy.c). */
struct pring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *sq_flags;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned entries, queued;       /* queued: not submitted yet */
	void *sq_ptr, *cq_ptr;
	size_t sq_len, cq_len;
};

/* user_data of a request: the pconn or usess it is for, and tags. */
#define PRING_TO_SERVER 1u              /* tcp: c2s (else s2c) */
#define PRING_UDP       2u              /* a usess's query to its backend */
#define PRING_TAGS      7u

struct io_uring_sqe;
int pring_open(struct pworker *w);
void pring_close(struct pworker *w);
/* A zeroed request to fill, or NULL without a ring. */
struct io_uring_sqe *pring_sqe(struct pworker *w);
int pring_submit(struct pworker *w);
void pring_reap(struct pworker *w);
int pring_wait(struct pworker *w);
void pring_before_close(struct pworker *w);

/* proxy.c */
void pitem_set(struct pworker *w, struct pitem *it, uint32_t events);
struct psnap_svc *pworker_find_svc(struct pworker *w, struct pservice *ps);
void sa_from_xlb(const struct xlb_sockaddr *a, struct sockaddr_storage *ss,
		 socklen_t *len);

/* proxy_tcp.c */
void ptcp_accept(struct pworker *w, struct plisten *ls);
void ptcp_event(struct pworker *w, struct pitem *it, uint32_t ev);
bool ptcp_shed(struct pworker *w, struct pservice *ps);
void ptcp_pool_trim(struct pworker *w);
void ptcp_drain(struct pworker *w, struct pservice *ps, uint32_t drain_ms);
void ptcp_close(struct pconn *c);
void ptcp_reap(struct pworker *w, bool keep);
void ptcp_flush(struct pworker *w);
void ptcp_done(struct pworker *w, struct pconn *c, bool to_server, int res);
void ptcp_free_all(struct pworker *w);

/* proxy_udp.c */
int pudp_init(struct pworker *w);
void pudp_listen_event(struct pworker *w, struct plisten *ls);
void pudp_backend_event(struct pworker *w, struct usess *s, uint32_t ev);
void pudp_flush(struct pworker *w);
void pudp_done(struct pworker *w, struct usess *s, int res);
void pudp_drop_listener(struct pworker *w, struct plisten *ls);
void pudp_free_all(struct pworker *w);

#endif /* XLB_PROXY_INT_H */
