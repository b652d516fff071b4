/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The writer of the service index (include/xlb_svcidx.h): keeps the
 * buckets and records the data plane reads equal to the services map, one
 * key at a time, without ever showing a reader a half-written entry. */
#ifndef XLB_SVCIDX_WRITER_H
#define XLB_SVCIDX_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "xlb_svcidx.h"

struct svcidx;

/* A writer of the index at buckets (XLB_SVC_IDX_BUCKETS of them) and recs
 * (XLB_SVC_IDX_RECS), the maps' memory as mapped (or any memory, for
 * tests), which it clears: the index starts empty. grace: waits until no
 * reader can still hold a word read before the call (an RCU grace period;
 * NULL: svcidx_grace_rcu). 0 or -ENOMEM. */
int svcidx_open(struct svcidx **out, struct xlb_svc_idx_bucket *buckets,
		struct xlb_svc_rec *recs, int (*grace)(void));
void svcidx_close(struct svcidx *x);

/* Key k now has service v (added, or changed), written in the services
 * map before. Returns 0, or the error that turned the index off (-ENOSPC:
 * more than XLB_SVC_IDX_KEYS keys; the grace wait's): from then on every
 * lookup asks the services map, and the index takes no more changes. */
int svcidx_put(struct svcidx *x, const struct xlb_svc_key *k,
	       const struct xlb_svc *v);
/* Key k has no service any more (none: nothing happens), before it leaves
 * the services map. Returns as svcidx_put. */
int svcidx_del(struct svcidx *x, const struct xlb_svc_key *k);

/* What the data plane's lookup gives for k (bpf/svcidx.h, the services
 * map taken to hold exactly what was put): for tests. from_index: whether
 * the index answered without the services map. */
const struct xlb_svc *svcidx_find(const struct svcidx *x,
				  const struct xlb_svc_key *k, bool *from_index);

/* Returns once no XDP program still runs that began before the call (an
 * RCU grace period, waited for by the update of a throwaway map-in-map):
 * 0 or -errno. */
int svcidx_grace_rcu(void);

#endif /* XLB_SVCIDX_WRITER_H */
