/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* BGP announcement of this node's VIPs through BIRD (`announce:`,
 * docs/scale-out.md): which VIPs to announce, the include file BIRD reads,
 * `xlb node drain`, and the watchdog that withdraws them when xlbd dies and
 * no successor takes over. */
#ifndef XLB_ANNOUNCE_H
#define XLB_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct announce;
struct state;

/* A VIP that reads `announce:` is announced while it has a usable backend
 * and the node is not drained; after a withdrawal for lack of backends it
 * comes back only once they have been usable this long, so a flapping view
 * on one node does not flap the routers' ECMP groups (which would move
 * other nodes' flows). */
#define ANNOUNCE_RISE_MS 3000

struct announce_vip {
	struct xlb_sockaddr addr;       /* port 0 */
	bool want;                      /* this node should announce it */
	bool pending;                   /* no service usable, one waiting for
					 * its first health results */
	bool announced;                 /* want, and BIRD took the file */
	char reason[160];               /* why not announced; "" when it is */
	bool withdrawn_for_backends;    /* the rise delay applies */
	long long usable_since_ms;      /* monotonic; 0 while not usable */
};

/* Start announcing what cfg says for this instance; *ap stays NULL when cfg
 * has no `announce:`. Replaces the watchdog of a previous xlbd of the
 * instance, forks this one's, and starts the thread that writes the file
 * and reloads BIRD. Returns 0 or -errno with err set. */
/* The paths of `announce:` that must be right before xlbd starts: the
 * directory of `file` exists (xlbd writes file.tmp there and renames it).
 * BIRD's socket may appear later (BIRD started after xlbd): not checked.
 * 0, or -ENOENT/-ENOTDIR with the reason in err. */
int announce_check(const struct xlb_announce_cfg *cfg, char *err, size_t errlen);

int announce_start(struct announce **ap, const struct xlb_announce_cfg *cfg,
		   const char *instance, char *err, size_t errlen);

/* Recompute which VIPs this node should announce from the running state
 * and hand a changed set to the thread. Cheap; called by the main loop
 * before it waits, so every change (apply, health, drain) is seen at once. */
void announce_sync(struct announce *a, const struct state *st);

/* `xlb node drain` / `undrain`: kept in XLB_RUN_DIR so a restarted xlbd
 * stays drained. Returns 0 or -errno with err set. */
int announce_set_drained(struct announce *a, bool drained, char *err, size_t errlen);
bool announce_drained(const struct announce *a);

/* The VIPs and their state as of the last announce_sync (*n of them). */
const struct announce_vip *announce_vips(struct announce *a, size_t *n);

/* Stop. withdraw: xlbd removes its data plane, so BIRD stops announcing
 * every VIP now. Otherwise (the data plane keeps forwarding for the next
 * xlbd) the VIPs stay announced and the watchdog withdraws them unless a
 * new xlbd replaces it within `hold`. */
void announce_stop(struct announce *a, bool withdraw);

#endif /* XLB_ANNOUNCE_H */
