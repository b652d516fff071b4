/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Mode proxy: xlbd's userspace TCP/UDP load-balancing proxy. Worker threads
 * (one per core by default), each with its own epoll loop and its own
 * SO_REUSEPORT listening sockets; the control thread publishes each config
 * to them as a reference-counted snapshot, so the data path takes no lock.
 *
 * Called from xlbd's main thread only:
 *   proxy_start() once (after daemonizing: threads do not survive fork),
 *   proxy_apply() after every successful state_apply(),
 *   proxy_stop() at exit. */
#ifndef XLB_PROXY_H
#define XLB_PROXY_H

#include <stdint.h>

#include "config.h"

struct proxy_counters {
	uint64_t active;        /* open tcp connections / udp sessions */
	uint64_t total;         /* accepted (service) / assigned (backend) */
	uint64_t bytes_in;      /* client -> backend */
	uint64_t bytes_out;     /* backend -> client */
	uint64_t connect_fail;  /* failed backend connects (each attempt) */
	uint64_t retries;       /* connects retried on another backend */
	uint64_t timeouts;      /* connect/idle/header timeouts */
	uint64_t rejected;      /* no backend, over the cap, drained */
	uint64_t bad_header;    /* malformed PROXY headers (accept_proxy) */
	uint64_t spliced;       /* of bytes_in + bytes_out: moved by splice(2) */
};

/* Start nworkers threads (0: one per online CPU). Returns 0 or -errno. */
int proxy_start(unsigned nworkers);

/* Make cfg's mode-proxy services the served ones: new services start
 * listening, removed ones stop accepting and their connections get
 * drain_time to finish, backend and weight changes apply to new
 * connections. Does nothing (returns 0) when the engine is not started.
 * Returns 0 or -ENOMEM (the previous services keep running). */
int proxy_apply(const struct xlb_config *cfg);

/* Counters of a service, or of one of its backends (be NULL: the service).
 * Returns 0, or -ENOENT when the proxy never served it. */
int proxy_stats(uint8_t proto, const struct xlb_sockaddr *vip,
		const struct xlb_sockaddr *be, struct proxy_counters *out);

/* `xlb zero`: the counters of a service and its backends count from 0
 * again (active connections stay as they are). Returns 0 or -ENOENT. */
int proxy_zero(uint8_t proto, const struct xlb_sockaddr *vip);

/* One open connection (tcp) or session (udp) of mode proxy, for `xlb conns`. */
struct proxy_conn {
	uint8_t proto;
	struct xlb_sockaddr service;    /* the service's VIP:port */
	struct xlb_sockaddr client;     /* as its PROXY header says, if it sent one */
	struct xlb_sockaddr vip;        /* the address the client reached */
	struct xlb_sockaddr backend;    /* family 0: none picked yet */
	const char *state;              /* HEADER, WAIT_DATA, CONNECTING,
					 * ESTABLISHED, FIN_WAIT; UDP */
	uint64_t expires_in_ms;         /* until its next timeout */
};

/* The open connections and sessions of service proto/vip (vip NULL: of
 * every service): the first max of them in *out (allocated; the caller
 * frees it), how many there are in *total. Each worker answers between two
 * of its event batches; one that has not taken the request within a second
 * is left out and counted in *missing. Returns the number of rows (fewer
 * than max and *total only when memory ran short). */
size_t proxy_conns(uint8_t proto, const struct xlb_sockaddr *vip, size_t max,
		   struct proxy_conn **out, uint64_t *total, unsigned *missing);

/* Close every socket and join the workers. */
void proxy_stop(void);

#endif /* XLB_PROXY_H */
