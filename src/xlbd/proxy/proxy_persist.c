// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The persistence table of mode proxy (see proxy_persist.h). */
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"
#include "proxy_persist.h"
#include "xlb_hash.h"

/* Set-associative: a client's pin lives in one set of PP_WAYS entries; a
 * full set forgets its least recently seen client. PP_SETS * PP_WAYS
 * clients per service (about 3 MB). */
#define PP_SETS 16384u
#define PP_WAYS 4u

struct ppin {
	union xlb_addr client;          /* masked; family 0: free */
	uint8_t family;
	const struct pbackend *be;
	uint64_t last_ms;               /* the client's last new connection */
};

struct ppersist {
	pthread_mutex_t lock;
	struct ppin pin[PP_SETS][PP_WAYS];
};

struct ppersist *ppersist_new(void)
{
	struct ppersist *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

void ppersist_free(struct ppersist *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* cli's address masked to plen (0: whole address), as a pin's key. */
static void pin_key(const union inet_sockaddr *cli, uint8_t plen,
		    union xlb_addr *a, uint8_t *family)
{
	memset(a, 0, sizeof(*a));
	if (cli->sa.sa_family == AF_INET) {
		memcpy(&a->v4, &cli->in.sin_addr, 4);
		*family = XLB_AF_INET;
		if (!plen || plen > 32)
			plen = 32;
	} else {
		memcpy(a->b, &cli->in6.sin6_addr, 16);
		*family = XLB_AF_INET6;
		if (!plen)
			plen = 128;
	}
	for (uint32_t i = 0; i < 4; i++)
		a->v6[i] &= ~XLB_HTONL(xlb_host_mask(plen, i));
}

/* The way of key in set (or, when absent, the free or least recently seen
 * one, with *found false). */
static struct ppin *pin_find(struct ppin *set, const union xlb_addr *a,
			     uint8_t family, bool *found)
{
	struct ppin *victim = &set[0];

	for (uint32_t k = 0; k < PP_WAYS; k++) {
		if (set[k].family == family && !memcmp(&set[k].client, a, sizeof(*a))) {
			*found = true;
			return &set[k];
		}
		if (!set[k].family || set[k].last_ms < victim->last_ms)
			victim = &set[k];
	}
	*found = false;
	return victim;
}

/* The index of be in v if it can take a new connection now, else -1. */
static int pin_usable(const struct psnap_svc *v, const struct pbackend *be,
		      uint64_t tried, uint64_t now_ms)
{
	for (size_t i = 0; i < v->n_be; i++) {
		if (v->be[i] != be)
			continue;
		if (!v->sched.be[i].weight || (i < 64 && (tried >> i & 1)) ||
		    atomic_load_explicit(&be->load.down_until,
					 memory_order_relaxed) > now_ms)
			return -1;
		return (int)i;
	}
	return -1;
}

int ppersist_pick(const struct psnap_svc *v, struct psched_cursor *cur,
		  const union inet_sockaddr *cli, uint64_t hash,
		  uint64_t tried, uint64_t now_ms)
{
	struct ppersist *t = v->ps->persist;
	union xlb_addr a;
	struct ppin *p;
	uint8_t family;
	bool found;
	int i;

	if (!v->set.persist_ms || !t)
		return psched_pick(&v->sched, cur, hash, tried, now_ms);
	pin_key(cli, v->set.persist_plen, &a, &family);
	pthread_mutex_lock(&t->lock);
	p = pin_find(t->pin[psched_hash(&a, sizeof(a)) % PP_SETS], &a, family,
		     &found);
	/* now_ms is the caller's worker's clock, read at the top of its
	 * loop: another worker may have pinned the client a moment later by
	 * its own. A pin from the caller's future holds, and its time never
	 * moves back. */
	if (found && (now_ms <= p->last_ms ||
		      now_ms - p->last_ms <= v->set.persist_ms) &&
	    (i = pin_usable(v, p->be, tried, now_ms)) >= 0) {
		if (now_ms > p->last_ms)
			p->last_ms = now_ms;
		pthread_mutex_unlock(&t->lock);
		return i;
	}
	/* Scheduled under the lock: a client's racing first connections
	 * all take the first one's choice. */
	i = psched_pick(&v->sched, cur, hash, tried, now_ms);
	if (i >= 0)
		*p = (struct ppin){ .client = a, .family = family, .be = v->be[i],
				    .last_ms = now_ms };
	pthread_mutex_unlock(&t->lock);
	return i;
}
