/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Types shared by the proxy engine's files, in layers: proxy.c (workers,
 * snapshots, listeners) uses proxy_tcp.c (TCP relay) and proxy_udp.c (UDP
 * sessions), which use proxy_io.c (epoll interest, the io_uring) and
 * proxy_timer.c; a layer calls the one above only through handler
 * pointers. Not for use outside the engine. */
#ifndef XLB_PROXY_INT_H
#define XLB_PROXY_INT_H

#include <liburing.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "config.h"
#include "proxy.h"
#include "proxy_persist.h"
#include "proxy_sched.h"
#include "proxy_select.h"
#include "proxy_timer.h"

#define PROXY_BUF          16384        /* per direction, per tcp connection */
/* A direction whose read filled a whole PROXY_BUF (bulk) gets buffers of
 * this size from then on: an eighth of the reads and sends per byte. */
#define PROXY_BIG_BUF      131072
/* A bulk direction whose big buffer a read filled PROXY_SPLICE_AFTER times
 * moves its bytes through a pipe from then on, with splice(2): the pages
 * go from one socket to the other without a copy in and a copy out. Three
 * full reads with the one that made it big, as HAProxy's splice-auto
 * (a "fast streamer" fills its buffer in one read three times in a row).
 * Requests and DNS answers never fill a buffer, and a 10 MiB response has
 * copied 16 + 2 x 128 KiB by then. */
#define PROXY_SPLICE_AFTER 2
/* Pipes per worker, each taken by a direction only while bytes wait in
 * it, and of PROXY_PIPE_SIZE (F_SETPIPE_SZ; the kernel's 64 KiB if that
 * is refused): 2 descriptors and its pages each. */
#define PROXY_PIPES        32
#define PROXY_PIPE_SIZE    (256 * 1024)
#define PROXY_TICK_MS      PTIMER_TICK_MS
#define PROXY_DOWN_MS      2000         /* skip a backend after a failed connect */
#define PROXY_UDP_BUCKETS  65536        /* per worker */
#define PROXY_UDP_MAX      262144       /* sessions per worker, whatever the cap */
/* Sends in a batch up to which send() beats one io_uring_enter (the ring
 * pays off by sending many at once). */
#define PROXY_DIRECT_MAX   2
/* Connections in a round up to which its first reads are read() calls, not
 * one io_uring_enter: where a syscall costs a quarter of a microsecond (no
 * PTI) the ring's reads save nothing in rounds this small, and new
 * connections moved faster without them on a loaded VM (the same on a
 * quiet one; docs/performance.md part 4, "Today's host: where the lead
 * went"). */
#define PROXY_READ_DIRECT_MAX 8
/* TCP sends queued in the ring at which they go to the kernel, before the
 * batch ends: the receivers (a backend, a client) start on them while the
 * worker moves on, instead of all of them waiting for the batch's end. On
 * a CPU the worker shares with them that is what keeps the rate at 256 or
 * 1000 connections (see docs/performance.md part 4). */
#define PROXY_SUBMIT_EVERY 8
#define PROXY_RING_SQ      256          /* requests the worker's ring holds */
/* At max_connections (or the worker's session cap), the idlest connection
 * or udp session of the worker makes room for a new one: one idle this
 * long, looked for among the PROXY_SHED_LOOK least recently active. */
#define PROXY_SHED_IDLE_MS 1000
#define PROXY_SHED_LOOK    64

/* Counters, one shard per worker (a cache line each, so workers never
 * share one): only that worker writes a shard, proxy_stats() sums them. */
struct pcount {
	_Alignas(64) _Atomic uint64_t total;
	_Atomic uint64_t bytes_in, bytes_out, connect_fail, retries,
			 timeouts, rejected, bad_header, spliced;
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
	union inet_sockaddr sa;
	socklen_t salen;
	struct psched_load load;
	struct pcount *cnt;             /* proxy_nworkers shards */
	struct proxy_counters zeroed;   /* the sums at the last proxy_zero()
					 * (control thread only) */
};

/* A service (proto + VIP:port), same lifetime as pbackend. */
struct pservice {
	struct pservice *next;
	struct proxy_select_bpf *bal;   /* its reuseport selector, or NULL */
	uint8_t proto;
	struct xlb_sockaddr vip;
	union inet_sockaddr sa;
	socklen_t salen;
	_Atomic uint32_t active;
	_Atomic bool starved;           /* a worker is at max_connections with
					 * nothing of its own to shed (tcp: its
					 * listener paused; udp: a new flow was
					 * refused) */
	struct pcount *cnt;             /* proxy_nworkers shards */
	struct proxy_counters zeroed;   /* as in pbackend */
	struct pbackend *backends;
	struct ppersist *persist;       /* created with the first persistence */
};

/* Effective settings of a service (defaults resolved). */
struct psettings {                      /* widest first: no padding (a
					 * copy is kept per connection) */
	uint64_t persist_ms;            /* 0: no persistence */
	uint32_t retries, max_conn;
	uint32_t connect_ms, client_ms, server_ms, drain_ms, header_ms;
	uint8_t send_proxy;
	bool accept_proxy;
	bool wait_data;                 /* tcp: connect once the client sent */
	uint8_t persist_plen;           /* 0: the whole client address */
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

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

struct pworker;

/* What epoll_event.data.ptr points at: handle() gets its events. */
struct pitem {
	void (*handle)(struct pworker *w, struct pitem *it, uint32_t events);
	/* Edge-triggered tcp sockets: what the last events said and what
	 * reads and writes found since (a short read or write clears it). */
	bool rd, wr, rdhup;
	uint32_t events;                /* registered interest, 0 = not in epoll */
	int fd;
	void *owner;
};

struct pudp_io;

/* A request in the worker's ring (its user_data): done() gets the result
 * (bytes sent, or -errno). */
struct preq {
	void (*done)(struct pworker *w, struct preq *r, int res);
};

struct plisten {
	struct pservice *ps;
	struct psnap_svc *cfg;          /* in the worker's current snapshot */
	struct pitem it;
	bool paused;                    /* at max_connections (or EMFILE) */
	uint64_t retry_at;              /* fd < 0: when to try binding again */
};

/* A pipe of the worker's (splice), in a direction's hands while bytes
 * wait in it. */
struct ppipe {
	int rd, wr;
	uint32_t len;                   /* bytes in it */
	uint32_t size;                  /* 0: not open */
	uint8_t next;                   /* in the worker's pool, as pbuf.pipe */
};

/* data: from the worker's pool while it holds bytes, NULL when empty;
 * pipe likewise. The pipe's bytes follow the buffer's: reads go to the
 * pipe only while the direction holds one, and it is given back empty.
 * Flags in bits: a connection is 368 bytes, as before splice. */
struct pbuf {
	char *data;
	uint32_t size;                  /* of data: PROXY_BUF or PROXY_BIG_BUF */
	uint32_t off, len;
	uint8_t pipe;                   /* 1 + its index in the worker's
					 * pipes, 0: none */
	bool big : 1;                   /* bulk: PROXY_BIG_BUF from now on */
	bool splice : 1;                /* bulk: through a pipe from now on */
	bool eof : 1;                   /* the source sent FIN */
	bool shut : 1;                  /* FIN forwarded to the destination */
	bool busy : 1;                  /* a send from it is in the ring */
	uint8_t fills : 2;              /* reads that filled the big buffer */
	struct preq req;                /* that send */
};

enum pconn_state {
	PC_HEADER,                      /* reading the client's PROXY header */
	PC_WAIT,                        /* for the client's first bytes */
	PC_CONNECTING,
	PC_RELAY,
};

struct pconn {                          /* one per proxied tcp connection
					 * (idle ones too): fields widest
					 * first, no padding */
	struct pconn *prev, *next;      /* worker's list, most recently
					 * active first */
	struct pworker *w;
	struct ptimer tm;               /* the next deadline (lazy: rechecked) */
	struct pservice *ps;
	struct pbackend *be;            /* NULL until picked */
	struct pitem ci, si;
	struct psettings set;
	union inet_sockaddr cli, vip;   /* as the client sees it (or as its
					 * PROXY header says) */
	struct pbuf c2s, s2c;
	uint64_t hash;                  /* for sh/maglev */
	uint64_t tried;
	uint64_t t_start, t_client, t_server, deadline;
	struct pconn *dnext;            /* worker's dirty list */
	uint32_t attempts;
	uint32_t pp_left;               /* send_proxy header bytes not sent yet */
	uint8_t state;
	uint8_t inflight;               /* sends in the ring */
	bool dead;
	bool hash_port;                 /* the port is part of the hash */
	bool dirty;
};

struct usess {
	struct usess *prev, *next;      /* worker's list, most recently
					 * active first */
	struct usess *hnext;            /* hash chain */
	struct pworker *w;
	int lfd;                        /* the listener: replies leave from
					 * VIP:port through it */
	struct pservice *ps;
	struct pbackend *be;
	struct pitem bi;
	struct ptimer tm;               /* idle timeout (lazy: rechecked) */
	struct preq req;                /* its queries' sends in the ring */
	bool dead;
	union inet_sockaddr cli;
	socklen_t clilen;
	uint64_t last;
	uint32_t idle_ms;
	uint64_t hash;
};

/* A read of a tcp connection in the worker's ring (ptcp_flush). */
struct pread {
	struct preq req;
	struct pconn *c;
	uint32_t room;                  /* bytes asked for */
	bool to_server;                 /* c2s (from the client), else s2c */
};

/* Free tcp buffers of one size. */
struct ppool {
	char *free;                     /* a list through their first bytes */
	unsigned n;
	unsigned low;                   /* fewest free in this window */
};

/* The worker's pipes, open ones free or held by a direction. */
struct ppipes {
	struct ppipe p[PROXY_PIPES];
	uint8_t free;                   /* the free ones' list, as pbuf.pipe */
	unsigned n, low;                /* free ones, as in ppool */
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
	struct io_uring ring;           /* for the batch's sends */
	bool has_ring;
	bool ring_fdops;                /* epoll ADD and close in it */
	bool ring_sockopt;              /* setsockopt in it (6.7) */
	bool direct;                    /* this round sends without the ring */
	unsigned n_reads, reads_out;    /* queued this round, not completed */
	struct pitem ring_it;
	bool mail;                      /* the mailbox rang in this batch */
	struct pconn *spare_c;          /* freed ones kept for reuse */
	unsigned n_spare_c;
	struct ppool pool[2];           /* free tcp buffers: PROXY_BUF, PROXY_BIG_BUF */
	struct ppipes pipes;
	uint64_t pool_window;           /* when their window began */
	unsigned pool_freed;            /* given back to malloc since a trim */
	struct pwheel wheel;
	struct usess *grave_s;
	uint64_t now;
	uint64_t n_live, n_ack;         /* see pbal_slot */
	uint64_t rng;
	struct pudp_io *udp;            /* proxy_udp.c's batches */
	_Atomic(struct pdump *) dump;   /* a `conns` request to answer */
	/* Last: 9 KiB the loop touches only when it uses them. */
	struct epoll_event ring_ev[PROXY_RING_SQ];      /* the ADDs' events,
							 * by sqe slot */
	struct pread reads[PROXY_RING_SQ];      /* a round's reads in the ring */
};

/* A `conns` request (proxy_conns.c): the control thread hands it to every
 * worker and waits until each has added its rows or given it back. */
struct pdump {
	pthread_mutex_t mu;
	pthread_cond_t done;
	unsigned waiting;               /* workers that hold it or have not
					 * taken it yet */
	uint8_t proto;
	const struct xlb_sockaddr *vip; /* NULL: every service */
	struct proxy_conn *rows;
	size_t n, cap, max;
	uint64_t total;
};

extern unsigned proxy_nworkers;

/* Balance over the workers: a BPF program attached to each service's
 * group of SO_REUSEPORT listeners (bpf/proxy_select.bpf.c) sends every new
 * TCP connection and every new UDP flow to the least loaded worker; the
 * loads (proxy_select.h) are a BPF array mapped into memory. */
extern struct pbal_slot *pbal_slots;    /* NULL: no selector, kernel hash */

/* The worker holds delta more (or fewer) connections or sessions. */
static inline void pbal_live(struct pworker *w, int delta)
{
	w->n_live += (uint64_t)(int64_t)delta;
	if (pbal_slots)
		__atomic_store_n(&pbal_slots[w->idx].live, w->n_live, __ATOMIC_RELAXED);
}

/* A new connection or flow reached the worker. */
static inline void pbal_arrived(struct pworker *w)
{
	if (pbal_slots)
		__atomic_store_n(&pbal_slots[w->idx].ack, ++w->n_ack, __ATOMIC_RELAXED);
}

/* A listener of the worker is drained: what was sent its way arrived
 * (and what never will, a SYN without its handshake, stops counting). */
static inline void pbal_drained(struct pworker *w)
{
	if (!pbal_slots)
		return;
	w->n_ack = __atomic_load_n(&pbal_slots[w->idx].sel, __ATOMIC_RELAXED);
	__atomic_store_n(&pbal_slots[w->idx].ack, w->n_ack, __ATOMIC_RELAXED);
}

/* proxy_io.c */
void pitem_set(struct pworker *w, struct pitem *it, uint32_t events);
struct psnap_svc *pworker_find_svc(struct pworker *w, struct pservice *ps);
int pring_open(struct pworker *w);
void pring_close(struct pworker *w);
/* A zeroed request whose completion goes to req->done, or NULL without a
 * ring. */
struct io_uring_sqe *pring_sqe(struct pworker *w, struct preq *req);
bool pring_pending(struct pworker *w);
int pring_submit(struct pworker *w);
void pring_submit_some(struct pworker *w);
void pring_reap(struct pworker *w);
int pring_wait(struct pworker *w);
void pring_before_close(struct pworker *w);
/* A connection's socket calls, queued in the ring when it has them (they
 * reach the kernel at the next submit, in order), else done at once. */
void pitem_add(struct pworker *w, struct pitem *it, uint32_t events);
void pfd_nodelay(struct pworker *w, int fd);
void pfd_close(struct pworker *w, int fd);

/* proxy_tcp.c */
void ptcp_accept(struct pworker *w, struct pitem *it, uint32_t ev);
bool ptcp_shed(struct pworker *w, struct pservice *ps);
void ptcp_pool_trim(struct pworker *w);
void ptcp_drain(struct pworker *w, struct pservice *ps, uint32_t drain_ms);
void ptcp_close(struct pconn *c);
void ptcp_reap(struct pworker *w, bool keep);
void ptcp_flush(struct pworker *w);
void ptcp_free_all(struct pworker *w);
uint64_t ptcp_deadline(const struct pconn *c);

/* proxy.c */
struct pworker *pworker_get(unsigned k);        /* NULL: not started */
void pworker_wake(struct pworker *w);

/* proxy_conns.c */
void pconns_answer(struct pworker *w);

/* proxy_udp.c */
int pudp_init(struct pworker *w);
void pudp_listen_event(struct pworker *w, struct pitem *it, uint32_t ev);
bool pudp_shed(struct pworker *w, struct pservice *ps);
void pudp_flush(struct pworker *w);
void pudp_drop_listener(struct pworker *w, struct plisten *ls);
void pudp_free_all(struct pworker *w);

#endif /* XLB_PROXY_INT_H */
