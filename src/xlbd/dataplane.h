/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The daemon's handle on the XDP data plane: loading, pinning and attaching
 * the program, and writing services, backends and Maglev tables to its maps. */
#ifndef XLB_DATAPLANE_H
#define XLB_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "xlb_abi.h"
#include "config.h"

struct dataplane;

/* Load the program with the sizes from cfg and pin its maps under
 * <bpffs>/xlb/<instance>/: the maps a previous xlbd pinned when they fit
 * (adopted), fresh ones otherwise. Returns 0 or -errno; on error nothing
 * new stays loaded or pinned, what a previous xlbd left keeps running, and
 * err says what failed on what. */
int dataplane_open(struct dataplane **dpp, const struct xlb_config *cfg,
		   const char *instance, char *err, size_t errlen);
/* Attach the program to every interface of cfg: once its maps hold the
 * config (state_apply), so no packet meets an empty program. Links a
 * previous xlbd pinned are taken over (the program swapped in, never
 * detached); after an upgrade across map layouts, the new maps' pins then
 * replace the old ones. Returns 0 or -errno with err set. */
int dataplane_attach(struct dataplane *dp, const struct xlb_config *cfg,
		     char *err, size_t errlen);
/* Detach from every interface, unpin and free. */
void dataplane_close(struct dataplane *dp);
/* Free without detaching or unpinning: the XDP program keeps forwarding
 * with its maps until the next xlbd of the instance adopts them
 * (detach_on_exit: false). */
void dataplane_release(struct dataplane *dp);
/* Pins (maps, links) removed under the running xlbd are pinned again, each
 * with an error logged, so the next xlbd still adopts them. Returns how
 * many could not be restored. */
int dataplane_check_pins(struct dataplane *dp);
/* xlbd --cleanup: remove the pins (links and maps) of an instance that does
 * not run. Returns 0 or -ENOENT (nothing pinned). */
int dataplane_cleanup(const char *bpffs, const char *instance);

/* Adoption: true when dataplane_open() reused the maps of a previous xlbd.
 * The readers below let the state rebuild its ids from them. */
bool dataplane_adopted(const struct dataplane *dp);
/* Adopted, or an upgrade that takes over the previous xlbd's links: what
 * that one left running must keep running if this one fails. */
bool dataplane_inherited(const struct dataplane *dp);
/* Call fn for each entry of the services map; a non-zero return stops. */
int dataplane_services_each(struct dataplane *dp,
			    int (*fn)(void *arg, uint8_t proto,
				      const struct xlb_sockaddr *vip,
				      const struct xlb_svc *svc), void *arg);
int dataplane_backend_get(struct dataplane *dp, uint32_t id, struct xlb_backend *be);

/* The instance's settings g (a zero syn_key: the one the globals map
 * holds, else a new random one) with the LIPs of the last
 * dataplane_set_lips: in the pinned globals map, for an xlbd that reads
 * it after a restart, and in the settings' slots packets read. */
int dataplane_set_globals(struct dataplane *dp, const struct xlb_globals *g);

/* Write (del: remove) the services-map entry of (proto, vip), and keep
 * what the data plane reads beside it in step: the VIP's bit of
 * addr_filter (set before the entry exists, cleared after the last entry
 * on that bit is gone), the entry's copy in its slot by id (svc_slots,
 * written before it, cleared before it goes), the service index, and
 * svc_by_id (for a restart into an xlbd that reads it). */
int dataplane_service_put(struct dataplane *dp, uint8_t proto,
			  const struct xlb_sockaddr *vip, const struct xlb_svc *svc);
int dataplane_service_del(struct dataplane *dp, uint8_t proto,
			  const struct xlb_sockaddr *vip);

/* Write (or with be == NULL, clear: its flags, the address stays)
 * backends[id]; the backend's address gets its addr_filter bit first
 * (never cleared). Clearing it, or giving the id another address,
 * invalidates its next hop too. Another address on an id waits for a
 * grace period when the id lost its last backend less than one ago. */
int dataplane_backend_put(struct dataplane *dp, uint32_t id,
			  const struct xlb_backend *be);

/* Write (l2 == NULL: invalidate) the next hop toward backend id that the
 * data plane uses instead of bpf_fib_lookup (struct xlb_backend_l2); the
 * map is written only when the entry changes. New fields under an entry
 * packets may still hold valid wait, the entry invalid, for the next
 * dataplane_l2_commit. */
int dataplane_backend_l2_put(struct dataplane *dp, uint32_t id,
			     const struct xlb_backend_l2 *l2);
/* Writes the next hops that wait, after one RCU grace period for them
 * all: 0 or -errno (they stay invalid, and wait for the next commit). */
int dataplane_l2_commit(struct dataplane *dp);
/* Reads the MAC of every attached interface again and rewrites the
 * data plane's entry (if_macs) of each one that changed. */
void dataplane_if_macs_refresh(struct dataplane *dp);
/* A neighbour entry changed (rtnetlink event): every cached next hop on
 * (ifindex, nexthop) takes its MAC, or turns invalid when mac is NULL. */
void dataplane_neigh_changed(struct dataplane *dp, int ifindex,
			     const struct xlb_sockaddr *nexthop, const uint8_t *mac);

/* Takes up to max next hops the data plane found without a neighbour
 * entry (neigh_miss) out of the map into out. Returns how many, or -errno. */
int dataplane_neigh_misses(struct dataplane *dp, struct xlb_neigh_miss *out,
			   size_t max);

/* Write the lc/wlc backend list of a service (n <= XLB_LC_MAX_BACKENDS;
 * n == 0: no backend takes new flows): in the pinned svc_backends map,
 * for an xlbd that reads it after a restart, and in the lists' slots
 * packets read (include/xlb_lcslots.h). */
int dataplane_svc_backends_put(struct dataplane *dp, uint32_t svc_id,
			       const uint32_t *ids, const uint32_t *weights,
			       size_t n);

/* Write the nat/fullnat timeouts of a service (t == NULL: none of its own,
 * the instance's apply); the sweeper uses the same values. */
int dataplane_svc_timeouts_put(struct dataplane *dp, uint32_t svc_id,
			       const struct xlb_svc_timeouts *t);
/* A nat/fullnat service's most entries (svc_flows; 0: no limit) and its
 * ring of embryos slots; and its counts as the data plane keeps them (n
 * never below 0). */
int dataplane_svc_flows_set(struct dataplane *dp, uint32_t svc_id, uint64_t max,
			    uint32_t ring_base, uint32_t ring_len);
int dataplane_svc_flows(struct dataplane *dp, uint32_t svc_id,
			struct xlb_svc_flows *out);
/* The data plane's live connection counts of backend id (what lc/wlc
 * use, never below 0); between sweeps they may include entries that
 * expired unseen. */
int dataplane_backend_conns(struct dataplane *dp, uint32_t id,
			    struct xlb_conns *out);

/* Swap the Maglev tables of services: stage each (a new inner map filled
 * completely before it replaces the old one, so a packet sees the old or
 * the new table, never a mix; table == NULL removes the table: no backend
 * available), then commit them all in one batch (one RCU wait instead of
 * one per service). */
int dataplane_table_stage(struct dataplane *dp, uint32_t svc_id,
			  const uint32_t *table, uint32_t size);
int dataplane_tables_commit(struct dataplane *dp);

/* Sums of the per-CPU counters. Zeroes the counters of a slot (used when an
 * id is reused). */
int dataplane_svc_stats(struct dataplane *dp, uint32_t svc_id, struct xlb_counter *out);
int dataplane_backend_stats(struct dataplane *dp, uint32_t id, struct xlb_counter *out);
int dataplane_reason_stats(struct dataplane *dp, uint64_t out[XLB_R_MAX]);
/* What the flood guard did (enum xlb_guard_event), summed over CPUs. */
int dataplane_guard_stats(struct dataplane *dp, uint64_t out[XLB_G_MAX]);
int dataplane_svc_stats_reset(struct dataplane *dp, uint32_t svc_id);
int dataplane_backend_stats_reset(struct dataplane *dp, uint32_t id);

/* Write the fullnat local addresses (the lips map) in the order given, IPv4
 * and IPv6 each from its own base; n4 and n6 receive the counts, which
 * struct xlb_globals must then carry: packets see the new addresses with
 * those counts, at the next dataplane_set_globals (one change of the
 * settings' slots, include/xlb_cfgslots.h). Slots past the counts are
 * ignored by the data plane, so shrinking the list needs no clearing. */
int dataplane_set_lips(struct dataplane *dp, const struct xlb_sockaddr *addrs,
		       size_t n, uint32_t *n4, uint32_t *n6);

/* The flows of the dr/tun tables dataplane_flows_each leaves out because
 * their 5-tuple is not written yet (seen by their first packet only:
 * include/xlb_dsrkey.h): n counts those of service svc_id, or (-1) of
 * every one. */
struct dataplane_unlisted {
	int64_t svc_id;
	uint64_t n;
};

/* Call fn for each entry of the flow tables (flows, then dsr_flows4 and
 * dsr_flows6, whose compact entries come as a struct xlb_flow without a
 * state) with the time it has left in ms (-1: none, a dr/tun entry that stays until the table
 * needs room; 0: expired, not swept yet); a non-zero return stops the
 * walk. Entries come and go while it runs: each is seen at most once.
 * The flows it leaves out are counted in *unlisted if given (a walk
 * stopped early counts only those it passed). */
typedef int (*dataplane_flow_fn)(void *arg, const struct xlb_flow_key *k,
				 const struct xlb_flow *f, int64_t left_ms);
int dataplane_flows_each(struct dataplane *dp, dataplane_flow_fn fn, void *arg,
			 struct dataplane_unlisted *unlisted);

/* The conntrack sweeper (conntrack.h) on its own thread: start it after
 * any fork; it sweeps while wanted (nat/fullnat services exist) and stops
 * with dataplane_close/release. */
int dataplane_sweeper_start(struct dataplane *dp);
void dataplane_sweeper_want(struct dataplane *dp, bool want);
/* nat/fullnat entries of the sweeper's last complete pass; -EAGAIN: none. */
int dataplane_nat_flows(struct dataplane *dp, uint64_t *n);

extern const char *const xlb_reason_names[XLB_R_MAX];
extern const char *const xlb_guard_names[XLB_G_MAX];

#endif /* XLB_DATAPLANE_H */
