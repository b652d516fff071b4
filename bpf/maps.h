/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The maps of the XDP data plane; userspace reaches them through the skeleton. */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb_abi.h"
#include "xlb_dsrtab.h"

/* (VIP, port, proto, family) -> service; port 0 = every port of the VIP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * XLB_MAX_SERVICES);
	__type(key, struct xlb_svc_key);
	__type(value, struct xlb_svc);
} services SEC(".maps");

/* Bitmaps of VIP and backend addresses (XLB_FILTER_*, xlb_abi.h): what
 * is surely not for xlb is passed after three array reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_FILTER_SETS * XLB_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} addr_filter SEC(".maps");

/* service id -> its services-map key and value (struct xlb_svc_ent).
 * Not read by this program (a flow's service by id comes from svc_slots,
 * bpf/svcslots.h, never half written): still pinned and written by xlbd
 * for a restart into an xlbd that reads it (before 2026-12-04). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_svc_ent);
} svc_by_id SEC(".maps");

/* backend id -> address and flags (ids are global, not per service). An
 * address changes only under clear flags, read first (write_backend,
 * src/xlbd/dataplane.c). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend);
} backends SEC(".maps");

/* backend id -> the daemon's next hop toward it (MACs, egress, MTU). Its
 * fields change only while it is invalid (dataplane_backend_l2_put). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend_l2);
} backend_l2 SEC(".maps");

/* Next hops a route lookup found no neighbour for (struct xlb_neigh_miss),
 * drained by xlbd each second, which has the kernel resolve them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_NEIGH_MISS_MAX);
	__type(key, struct xlb_neigh_miss);
	__type(value, __u32);
} neigh_miss SEC(".maps");

/* Template of a Maglev table: slot / XLB_MAGLEV_PER_ELEM -> the backend
 * ids of that many slots (struct xlb_maglev_slots, declared as its array:
 * BTF would keep only a forward declaration of a struct the program
 * reaches through a pointer alone, and the kernel refuses that). Userspace
 * creates tables of any (prime) size with BPF_F_INNER_MAP and swaps them
 * into maglev_outer. */
struct xlb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, XLB_MAGLEV_ELEMS(XLB_MAGLEV_DEFAULT_SIZE));
	__type(key, __u32);
	__type(value, __u16[XLB_MAGLEV_PER_ELEM]);
};

/* service id -> that service's Maglev table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__array(values, struct xlb_maglev_inner);
} maglev_outer SEC(".maps");

/* service id -> position in its round-robin sequence (rr/wrr), per CPU so
 * picking needs no atomic; each CPU walks the whole weighted sequence. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u32);
} rr_pos SEC(".maps");

/* service id -> backends new flows of an lc/wlc service may go to.
 * Written, pinned, for an xlbd that reads it after a restart (and to fill
 * the next one's lc_slots); packets read lc_slots (bpf/lcslots.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_svc_backends);
} svc_backends SEC(".maps");

/* service id -> that nat/fullnat service's own timeouts (0: the instance's),
 * read by the expiry check of a flow entry through its svc_id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_svc_timeouts);
} svc_timeouts SEC(".maps");

/* backend id -> live nat/fullnat connections, active and inactive (one
 * global copy updated atomically, so a pick sees every CPU's flows;
 * mmapable so the sweeper can update it atomically too). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_conns);
} backend_conns SEC(".maps");

/* service id -> that nat/fullnat service's entries and limit (struct
 * xlb_svc_flows; mmapable, like backend_conns). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_svc_flows);
} svc_flows SEC(".maps");

/* Ring slots of the nat/fullnat services (struct xlb_svc_flows): the keys
 * of their newest entries in order of creation. Sized by the daemon
 * (XLB_EMBRYO_SLOTS). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_EMBRYO_SLOTS_MAX);
	__type(key, __u32);
	__type(value, struct xlb_flow_key);
} embryos SEC(".maps");

/* The dr/tun flows (xlb_svc_dsr_table), one table per family: arrays of
 * 64-byte buckets (struct xlb_dsr_bucket, include/xlb_dsrtab.h), a flow
 * found by the keyed hash of its 5-tuple in one cache line. Sized by
 * dsr_flow_table_size (xlb_dsr_buckets: XLB_DSR_SLOTS_PER_FLOW slots a
 * flow, XLB_DSR_WAYS to a bucket, any number of buckets); mmapable, so
 * that the buckets are page-aligned (a line each) and userspace reads
 * them without a syscall per bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE * XLB_DSR_SLOTS_PER_FLOW / XLB_DSR_WAYS);
	__type(key, __u32);
	__type(value, struct xlb_dsr_bucket);
} dsr_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE * XLB_DSR_SLOTS_PER_FLOW / XLB_DSR_WAYS);
	__type(key, __u32);
	__type(value, struct xlb_dsr_bucket);
} dsr_flows6 SEC(".maps");

/* The 5-tuples of the dr/tun tables' slots (struct xlb_dsr_keys4/6), for
 * userspace, written by a flow's second packet (include/xlb_dsrkey.h);
 * sized as dsr_flows4 and dsr_flows6. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE * XLB_DSR_SLOTS_PER_FLOW / XLB_DSR_WAYS);
	__type(key, __u32);
	__type(value, struct xlb_dsr_keys4);
} dsr_keys4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE * XLB_DSR_SLOTS_PER_FLOW / XLB_DSR_WAYS);
	__type(key, __u32);
	__type(value, struct xlb_dsr_keys6);
} dsr_keys6 SEC(".maps");

/* The dr/tun tables' key, sizes and epoch (struct xlb_dsr_params). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_dsr_params);
} dsr_params SEC(".maps");

/* client 5-tuple -> backend and connection state of a nat/fullnat flow, or
 * of a dr/tun flow of an lc/wlc service (the connection table). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_flow);
} flows SEC(".maps");

/* (service, masked client address) -> the client's backend, for services
 * with persistence (bpf/persist.h). LRU: a client that stopped coming back
 * is forgotten first; the daemon sizes it after the flow table. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE / 4);
	__type(key, struct xlb_persist_key);
	__type(value, struct xlb_persist);
} persist SEC(".maps");

/* reply tuple (R:rp -> C:cp, or R:rp -> LIP:lp) -> key of the nat/fullnat
 * flow it belongs to. A plain hash, never LRU: for fullnat an entry is the
 * claim on a local port, and must not vanish under a live flow. Entries
 * leave when their flow ends or expires (data plane or the sweeper); the
 * kernel recycles a deleted element at once, so a reader checks that the
 * flow it names is the reply's whole (xlb_nat_reply, xlb_rev_holder). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_FLOW_DEFAULT_SIZE);
	__type(key, struct xlb_flow_key);
	__type(value, struct xlb_nat_rev);
} nat_rev SEC(".maps");

/* fragmented datagram -> ports of its first fragment (struct xlb_frag),
 * filled by first fragments, read by the later ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FRAG_TABLE_SIZE);
	__type(key, struct xlb_frag_key);
	__type(value, struct xlb_frag);
} frags SEC(".maps");

/* ifindex (< XLB_IF_MAC_DIRECT) -> MAC of the interface (struct
 * xlb_if_mac). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_IF_MAC_DIRECT);
	__type(key, __u32);
	__type(value, struct xlb_if_mac);
} if_mac_direct SEC(".maps");

/* ifindex (>= XLB_IF_MAC_DIRECT) -> MAC of the interface. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_IF_MACS);
	__type(key, __u32);
	__type(value, struct xlb_if_mac);
} if_macs SEC(".maps");

/* fullnat local addresses (LIPs): IPv4 at [0, n_lips_v4), IPv6 from
 * XLB_LIP_V6_BASE (counts in globals). Written, pinned, for an xlbd that
 * reads it after a restart; packets read cfg_lips (bpf/cfgslots.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * XLB_MAX_LIPS);
	__type(key, __u32);
	__type(value, union xlb_addr);
} lips SEC(".maps");

/* Addresses and ports a rewrite puts in a header. */
struct xlb_xlat {
	union xlb_addr src;
	union xlb_addr dst;
	__u16 sport_be;
	__u16 dport_be;
	__u32 keep_src;                 /* leave the source address as it is */
};

/* Per-CPU scratch space of the nat path: its structures do not fit the
 * 512-byte BPF stack next to the rest of the program. */
struct xlb_nat_scratch {
	struct xlb_flow nf;             /* entry being created */
	struct xlb_flow_key rk;         /* a reverse key */
	struct xlb_nat_rev rv;          /* a reverse value */
	struct xlb_flow_key fk;         /* a flow key read from nat_rev */
	struct xlb_xlat out;            /* new outer (or only) header */
	struct xlb_xlat in;             /* new quoted header (ICMP errors) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_nat_scratch);
} nat_scratch SEC(".maps");

/* Per CPU, so taking a token needs no atomic (the rate is per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_bucket);
} icmp_bucket SEC(".maps");

/* Per CPU, so counting a new flow needs no atomic (the rate is per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_guard_win);
} guard_win SEC(".maps");

/* Instance-wide settings (tunnel source prefixes, timeouts, LIP counts):
 * pinned, it keeps the SYN proxy's key across restarts, and an xlbd that
 * reads it after a restart finds the settings; packets read cfg_slots
 * (bpf/cfgslots.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_globals);
} globals SEC(".maps");

/* service id -> packets, bytes, new flows (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct xlb_counter);
} svc_stats SEC(".maps");

/* backend id -> packets, bytes, new flows (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_counter);
} backend_stats SEC(".maps");

/* enum xlb_guard_event -> times the flood guard acted (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_G_MAX);
	__type(key, __u32);
	__type(value, __u64);
} guard_stats SEC(".maps");

/* enum xlb_reason -> packets that took that path (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
} reason_stats SEC(".maps");

#endif /* XLB_BPF_MAPS_H */
