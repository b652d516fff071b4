/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Health checks: one thread runs every backend's check (tcp, http through
 * libcurl's multi interface, dns, udp) without blocking, so hundreds of
 * backends at 1 s intervals stay on schedule. The daemon's main thread
 * gives it the config (health_sync) and takes the up/down transitions
 * (health_take_events) when the event fd is readable; it never waits for
 * a check. */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum health_status {
	HEALTH_UNKNOWN = 0,     /* no check, or no result yet: counts as up */
	HEALTH_UP,
	HEALTH_DOWN,
};

#define HEALTH_REASON_MAX 160

struct health_event {
	uint8_t proto;
	struct xlb_sockaddr vip;
	struct xlb_sockaddr backend;    /* as in the config (port may be 0) */
	uint8_t status;                 /* enum health_status */
	char reason[HEALTH_REASON_MAX];
};

struct health;

/* Start the check thread. Returns 0 or -errno. */
int health_start(struct health **hp);
/* Stop the thread, abort running checks and free everything. */
void health_stop(struct health *h);
/* Readable (an eventfd) when transitions wait in health_take_events(). */
int health_event_fd(const struct health *h);

/* Check the backends of cfg from now on. A backend whose service keeps the
 * same health_check keeps its state and schedule; others start unknown.
 * Returns 0 or -ENOMEM (the previous set stays). */
int health_sync(struct health *h, const struct xlb_config *cfg);

/* Move the pending transitions to *out (malloc'd, caller frees) and
 * return how many there are. */
size_t health_take_events(struct health *h, struct health_event **out);

/* Duration of the last finished check of a backend in microseconds and
 * how many checks ran; returns 0, or -ENOENT when it is not checked. */
int health_last_check(struct health *h, uint8_t proto, const struct xlb_sockaddr *vip,
		      const struct xlb_sockaddr *backend, uint32_t *latency_us,
		      uint64_t *checks);

const char *health_status_name(uint8_t status);  /* "up", "down", "unknown" */

#endif /* XLB_HEALTH_H */
