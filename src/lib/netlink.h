/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* rtnetlink glue (libmnl): addresses, routes and neighbour entries of the
 * current network namespace. All functions return 0 or a negative errno. */
#ifndef XLB_NETLINK_H
#define XLB_NETLINK_H

#include <stdint.h>

#include "addr.h"

/* Add ADDR/plen to interface ifname. -EEXIST when it is already there (the
 * caller then knows it did not add it and must not remove it later). */
int nl_addr_add(const char *ifname, const struct xlb_sockaddr *a, uint8_t plen);
/* Remove it; -EADDRNOTAVAIL / -ENOENT when absent. */
int nl_addr_del(const char *ifname, const struct xlb_sockaddr *a, uint8_t plen);
/* 1 when ADDR is configured on ifname (any prefix length; ifname NULL:
 * on any interface), 0 when not. */
int nl_addr_present(const char *ifname, const struct xlb_sockaddr *a);
/* First global-scope address of the family on ifname (for defaults such as
 * the tun outer source). -ENOENT when there is none. */
int nl_addr_first(const char *ifname, uint8_t family, struct xlb_sockaddr *out);

/* Route lookup (like `ip route get`): the output interface for dst and the
 * next hop (gateway, or dst itself when directly connected); with mtu, the
 * MTU the route carries (its mtu metric or a learned path MTU), 0 when none
 * (the interface's applies). */
int nl_route_get(const struct xlb_sockaddr *dst, int *ifindex,
		 struct xlb_sockaddr *nexthop, uint32_t *mtu);

/* The MAC (6 bytes) and MTU of interface ifindex. -ENOENT when it has no
 * Ethernet address (tunnels, loopback). */
int nl_link_l2(int ifindex, uint8_t mac[6], uint32_t *mtu);

/* The NDA_PROTOCOL of the neighbour entries xlbd makes (`ip neigh` shows
 * "proto 176"), so that only those are ever removed, and an xlbd finds
 * those a previous one left (nl_neigh_walk_own). Unassigned in the
 * kernel's and iproute2's lists of route protocols. */
#define XLB_NEIGH_PROTOCOL 176

/* Create (or refresh) a neighbour entry for nexthop on ifindex flagged
 * NTF_EXT_MANAGED and tagged XLB_NEIGH_PROTOCOL, so the kernel keeps it
 * resolved on its own and XDP's bpf_fib_lookup finds the MAC. A permanent
 * entry, or one managed already (by an xlbd, or by hand), is left alone. */
int nl_neigh_manage(int ifindex, const struct xlb_sockaddr *nexthop);
/* Remove an entry created by nl_neigh_manage: only a managed entry tagged
 * XLB_NEIGH_PROTOCOL, never one made by hand. */
int nl_neigh_unmanage(int ifindex, const struct xlb_sockaddr *nexthop);
/* fn(arg, ifindex, nexthop) for each managed entry on ifindex tagged
 * XLB_NEIGH_PROTOCOL (made by this xlbd, or one before it). */
int nl_neigh_walk_own(int ifindex,
		      void (*fn)(void *arg, int ifindex, const struct xlb_sockaddr *nexthop),
		      void *arg);
/* The MAC of nexthop's entry on ifindex when the kernel would use it
 * (reachable, stale, delay, probe, permanent: the kernel's NUD_VALID, what
 * bpf_fib_lookup requires). -ENOENT: no entry; -EAGAIN: not resolved. */
int nl_neigh_lladdr(int ifindex, const struct xlb_sockaddr *nexthop,
		    uint8_t mac[6]);

/* Neighbour changes as they happen (RTNLGRP_NEIGH), for caches of
 * neighbour MACs. Poll nl_monitor_fd() and call nl_neigh_monitor_read()
 * when it is readable. */
struct nl_monitor;
int nl_neigh_monitor_open(struct nl_monitor **m);
int nl_monitor_fd(const struct nl_monitor *m);
/* Reads every pending event: fn(arg, ifindex, addr, mac) per neighbour
 * entry added, changed or removed; mac is NULL when the entry has no usable
 * MAC (any state outside NUD_VALID, or removed). Returns 0, -ENOBUFS when
 * events were lost (the caller must re-read what it caches), or another
 * negative errno. */
int nl_neigh_monitor_read(struct nl_monitor *m,
			  void (*fn)(void *arg, int ifindex,
				     const struct xlb_sockaddr *addr,
				     const uint8_t *mac),
			  void *arg);
void nl_monitor_close(struct nl_monitor *m);

#endif /* XLB_NETLINK_H */
