/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Persistence for mode proxy (IPVS -p): every connection of a client (its
 * address masked to the service's prefix) goes to the backend its last one
 * went to, while it comes back within the service's persistence. One table
 * per service, shared by the workers under a mutex taken only by new
 * connections of persistent services. */
#ifndef XLB_PROXY_PERSIST_H
#define XLB_PROXY_PERSIST_H

#include <stdint.h>
#include <sys/socket.h>

struct ppersist;
struct psnap_svc;
struct psched_cursor;

/* A table for a service (NULL: out of memory). */
struct ppersist *ppersist_new(void);
void ppersist_free(struct ppersist *t);

/* The backend index in v for a new connection of client cli: the pinned
 * one while the pin holds and that backend can take it (weight > 0, not
 * marked down, not in tried), else psched_pick's choice, then pinned.
 * Without persistence in v, psched_pick alone. -1: no backend. */
int ppersist_pick(const struct psnap_svc *v, struct psched_cursor *cur,
		  const union inet_sockaddr *cli, uint64_t hash,
		  uint64_t tried, uint64_t now_ms);

#endif /* XLB_PROXY_PERSIST_H */
