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

/* Close every socket and join the workers. */
void proxy_stop(void);

#endif /* XLB_PROXY_H */
