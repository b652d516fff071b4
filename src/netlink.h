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
/* 1 when ADDR is configured on ifname (any prefix length), 0 when not. */
int nl_addr_present(const char *ifname, const struct xlb_sockaddr *a);
/* First global-scope address of the family on ifname (for defaults such as
 * the tun outer source). -ENOENT when there is none. */
int nl_addr_first(const char *ifname, uint8_t family, struct xlb_sockaddr *out);

/* Route lookup (like `ip route get`): the output interface for dst and the
 * next hop (gateway, or dst itself when directly connected). */
int nl_route_get(const struct xlb_sockaddr *dst, int *ifindex,
		 struct xlb_sockaddr *nexthop);

/* Create (or refresh) a neighbour entry for nexthop on ifindex flagged
 * NTF_EXT_MANAGED, so the kernel keeps it resolved on its own and XDP's
 * bpf_fib_lookup finds the MAC. A permanent entry is left alone. */
int nl_neigh_manage(int ifindex, const struct xlb_sockaddr *nexthop);
/* Remove an entry created by nl_neigh_manage. */
int nl_neigh_unmanage(int ifindex, const struct xlb_sockaddr *nexthop);

#endif /* XLB_NETLINK_H */
