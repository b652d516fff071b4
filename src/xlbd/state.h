/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The running state of xlbd: the current config, the ids it gave services
 * and backends in the data plane, their Maglev tables and the addresses it
 * added to the host. Every change, from the config file, `xlb apply` or a
 * single CLI verb, goes through state_apply(): validate first, then change. */
#ifndef XLB_STATE_H
#define XLB_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dataplane.h"
#include "health.h"

struct backend_state {
	struct xlb_sockaddr addr;
	uint32_t id;                    /* index in the backends map */
	uint8_t health;                 /* enum health_status, as checked */
	uint8_t forced;                 /* HEALTH_UP/DOWN: `xlb backend set
					 * --health` overrides the checks;
					 * HEALTH_UNKNOWN: they decide (auto) */
	bool in_table;                  /* takes new flows (unless weight 0):
					 * healthy, or kept by all_down: keep_last */
	char health_reason[HEALTH_REASON_MAX];
	uint64_t health_since_ms;       /* CLOCK_MONOTONIC of the last change
					 * of health (or of the backend's or its
					 * check's start) */
};

struct service_state {
	uint8_t proto;
	struct xlb_sockaddr vip;
	uint32_t id;                    /* index in maglev_outer and svc_stats */
	uint64_t table_hash;            /* maglev_table_hash of the installed
					 * table, 0: none (no backend) */
	uint64_t table_sig;             /* what the installed table was built
					 * from (0: unknown); unchanged inputs
					 * need no rebuild and no swap */
	uint16_t seq_len;               /* rr/wrr sequence length in the table */
	size_t n_backends;
	struct backend_state *backends;
};

struct managed_addr {
	struct xlb_sockaddr addr;
	bool added;                     /* false: it was there already, keep it */
};

struct managed_neigh {
	int ifindex;
	struct xlb_sockaddr nexthop;
	bool missed;                    /* made for a next hop the data plane
					 * dropped packets to, no backend's */
	uint64_t unresolved_ms;         /* missed: since when (now_ms) it has
					 * had no MAC; 0: resolved */
};

struct state {
	struct xlb_config cfg;          /* what is running now */
	struct dataplane *dp;           /* NULL in dry runs (tests) */
	char instance[XLB_NAME_MAX];    /* effective name (config or default) */
	char vip_ifname[XLB_IFNAME_MAX];/* where VIPs are added */
	size_t n_services;
	struct service_state *services; /* same order as cfg.services */
	size_t n_addrs;
	struct managed_addr *addrs;
	char addrs_name[XLB_NAME_MAX + 16];/* the record of added addresses
					 * (under XLB_RUN_DIR; "": none) */
	size_t n_neighs;
	struct managed_neigh *neighs;   /* entries to remove at teardown */
	size_t n_client_neighs;         /* of them, made for next hops the data
					 * plane missed (state_neigh_misses) */
	bool client_neighs_full;        /* XLB_CLIENT_NEIGHS_MAX reached (logged) */
	uint8_t svc_used[XLB_MAX_SERVICES];
	uint8_t be_used[XLB_MAX_BACKENDS];
	uint32_t be_cursor;             /* ids are handed out round-robin so a
					 * freed id is not reused at once */
	struct health *health;          /* the check thread; NULL: no checks */
	struct announce *announce;      /* BGP via BIRD; NULL: no `announce:` */
	size_t n_hints;                 /* ids found in adopted maps (restart), */
	struct adopt_hint *hints;       /* reserved until the first apply */
};

struct adopt_hint {
	uint8_t proto;                  /* service: proto and vip; backend: 0 */
	struct xlb_sockaddr addr;       /* the vip, or the backend's address */
	uint32_t svc_id;                /* the service (of the backend) */
	uint32_t id;                    /* backend id (backends only) */
	bool used;
};

/* Start from an empty state bound to a loaded data plane (may be NULL). */
void state_init(struct state *st, struct dataplane *dp, const struct xlb_config *base);
/* Remove every service and every address that was added. */
void state_teardown(struct state *st);

/* At start: addrs_name is the record (under XLB_RUN_DIR) of the addresses
 * added to the host, written before each one is added so a crash loses
 * none; those it lists are ours to remove when unneeded. After a restart
 * that adopted the data plane's maps (dataplane_adopted), also read the ids
 * of services and backends there, so the first state_apply() gives the
 * same services and backends the same ids (flows point at backend ids) and
 * keeps their counters. Then state_adopt_finish() clears what the new
 * config no longer has. */
void state_adopt(struct state *st, const char *addrs_name);
void state_adopt_finish(struct state *st);
/* Exit keeping the data plane (detach_on_exit: false): the record of added
 * addresses stays for the next xlbd or `xlbd --cleanup`; free the state
 * without touching the data plane or the host. */
void state_release(struct state *st);
/* xlbd --cleanup: remove the addresses recorded in addrs_name, and it. */
void state_cleanup_addrs(const char *addrs_name);
/* xlbd --cleanup: removes the managed neighbour entries an xlbd made
 * (tagged) on cfg's interfaces; returns how many. */
size_t state_cleanup_neighbours(const struct xlb_config *cfg);

/* Make `next` the running config. Returns 0, or -errno with err set and
 * nothing changed when next is invalid or cannot be applied. */
int state_apply(struct state *st, const struct xlb_config *next,
		char *err, size_t errlen);

/* A backend's health changed (from the check thread): record it and
 * re-apply the running config so tables, backend flags (on_backend_down)
 * and the proxy engine follow. Returns 0, or -ENOENT for a backend that is
 * gone (a late event). */
int state_health_event(struct state *st, const struct health_event *ev);

/* Hand the mode-proxy services to the proxy engine, with backends that are
 * out of the table at weight 0. */
void state_proxy_apply(struct state *st);

/* Re-resolve the neighbour entries of every backend and the data plane's
 * cached next hops, and read the attached interfaces' MACs again (called
 * periodically, and when neighbour events were lost). */
void state_refresh_neighbours(struct state *st);

/* Every second: the next hops the data plane dropped packets to for want
 * of a neighbour entry (neigh_miss; the nat/fullnat replies toward clients,
 * which nothing else resolves) are made managed neighbour entries, kept
 * resolved by the kernel until teardown; at most XLB_CLIENT_NEIGHS_MAX
 * besides the backends', so spoofed on-link sources cannot make it grow
 * without bound. One that stays unresolved (state_refresh_neighbours
 * looks) is given up, so those of spoofed sources do not hold the places
 * of real next hops. */
void state_neigh_misses(struct state *st);

struct service_state *state_find_service(struct state *st, uint8_t proto,
					 const struct xlb_sockaddr *vip);

/* The health that counts: the forced one, else the checks'. */
uint8_t state_backend_health(const struct backend_state *b);
/* Whether a backend takes new flows: in the table (healthy or kept, not in
 * maintenance), weight above 0 and not draining. */
bool state_backend_takes_new(const struct backend_state *b,
			     const struct xlb_backend_cfg *bc);
/* Force a backend's health (HEALTH_UP, HEALTH_DOWN) or give it back to the
 * checks (HEALTH_UNKNOWN), and apply the running config so tables and
 * flows follow. Returns 0, -ENOENT (no such service or backend) or the
 * error of state_apply (err set; the previous setting stays). */
int state_force_health(struct state *st, uint8_t proto, const struct xlb_sockaddr *vip,
		       const struct xlb_sockaddr *backend, uint8_t forced,
		       char *err, size_t errlen);
/* ss's table hash as `xlb list --json` and the metrics show it: 16 hex
 * digits, or "none" while the service has no table (no usable backend). */
#define STATE_HASH_STRLEN 17
const char *state_table_hash_str(const struct service_state *ss,
				 char buf[STATE_HASH_STRLEN]);

#endif /* XLB_STATE_H */
