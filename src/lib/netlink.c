// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* rtnetlink glue over libmnl: one short-lived NETLINK_ROUTE socket per call
 * for addresses, route lookups and kernel-managed neighbour entries. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netlink.h"

/* Large enough for one dump batch: the kernel fills up to 32 KiB per recv
 * when the buffer allows it, and a truncated batch would lose entries. */
#define NL_BUF_SIZE 32768

static size_t family_addr_len(uint8_t family)
{
	return family == XLB_AF_INET ? 4 : 16;
}

static int check_family(const struct xlb_sockaddr *a)
{
	if (a->family != XLB_AF_INET && a->family != XLB_AF_INET6)
		return -EAFNOSUPPORT;
	return 0;
}

/* Send the request in nlh and read replies until the kernel's ack (or the
 * end of a dump), handing each data message to cb. Returns 0, the kernel's
 * negative errno from the ack, or a negative errno of the socket calls. */
static int nl_request(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static unsigned int seq_base;
	struct mnl_socket *nl;
	unsigned int portid;
	char *buf;
	ssize_t n;
	int ret, err = 0, one = 1;

	buf = malloc(NL_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl) {
		err = -errno;
		goto out_free;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out_close;
	}
	/* Ask for extended acks so a rejected request does not echo the
	 * whole message back; harmless if the kernel ignores it. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));

	portid = mnl_socket_get_portid(nl);
	if (!seq_base)
		seq_base = (unsigned int)time(NULL);
	nlh->nlmsg_seq = ++seq_base;
	/* NLM_F_DUMP shares its bits with NLM_F_EXCL/NLM_F_CREATE, so only a
	 * GET (type % 4 == 2) can be a dump; everything else asks for an ack. */
	if (!(nlh->nlmsg_type % 4 == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out_close;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, NL_BUF_SIZE);
		if (n < 0) {
			err = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
		if (ret < 0) {
			err = errno ? -errno : -EIO;
			break;
		}
		if (ret == MNL_CB_STOP)
			break;
	}
out_close:
	mnl_socket_close(nl);
out_free:
	free(buf);
	return err;
}

/* An attribute table being filled by nl_parse(). */
struct attr_table {
	const struct nlattr **tb;
	unsigned int max;
};

static int attr_table_cb(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;

	/* Attributes newer than our headers know are skipped, not an error. */
	if (mnl_attr_type_valid(attr, t->max) < 0)
		return MNL_CB_OK;
	t->tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/* Fills tb (max + 1 entries, zeroed by the caller) with the attributes of
 * nlh that follow its hdr_len-byte family header. */
static void nl_parse(const struct nlmsghdr *nlh, size_t hdr_len,
		     const struct nlattr **tb, unsigned int max)
{
	struct attr_table t = { tb, max };

	mnl_attr_parse(nlh, hdr_len, attr_table_cb, &t);
}

static int ifindex_of(const char *ifname)
{
	unsigned int idx = if_nametoindex(ifname);

	return idx ? (int)idx : -ENODEV;
}

static struct nlmsghdr *addr_msg(char *buf, int type, uint16_t flags, int ifindex,
				 const struct xlb_sockaddr *a, uint8_t plen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen = family_addr_len(a->family);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, a->addr.b);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, a->addr.b);
	return nlh;
}

static int check_plen(const struct xlb_sockaddr *a, uint8_t plen)
{
	if (check_family(a))
		return -EAFNOSUPPORT;
	if (plen > family_addr_len(a->family) * 8)
		return -EINVAL;
	return 0;
}

int nl_addr_add(const char *ifname, const struct xlb_sockaddr *a, uint8_t plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ifindex = ifindex_of(ifname), err;

	if (ifindex < 0)
		return ifindex;
	err = check_plen(a, plen);
	if (err)
		return err;
	nlh = addr_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, a, plen);
	/* A VIP must answer at once: skip duplicate address detection, which
	 * would leave an IPv6 VIP unusable ("tentative") for a second or more. */
	if (a->family == XLB_AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nl_request(nlh, NULL, NULL);
}

int nl_addr_del(const char *ifname, const struct xlb_sockaddr *a, uint8_t plen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ifindex = ifindex_of(ifname), err;

	if (ifindex < 0)
		return ifindex;
	err = check_plen(a, plen);
	if (err)
		return err;
	return nl_request(addr_msg(buf, RTM_DELADDR, 0, ifindex, a, plen), NULL, NULL);
}

/* State of an address dump: what to match and what was found. */
struct addr_walk {
	int ifindex;                    /* 0: any interface */
	uint8_t family;
	const union xlb_addr *want;     /* NULL: first global address */
	bool found;
	union xlb_addr got;
};

static int addr_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	struct addr_walk *w = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *at;
	size_t alen = family_addr_len(w->family);
	uint32_t flags;

	if (w->found || nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	if (ifa->ifa_family != w->family ||
	    (w->ifindex && (int)ifa->ifa_index != w->ifindex))
		return MNL_CB_OK;
	nl_parse(nlh, sizeof(*ifa), tb, IFA_MAX);
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer
	 * on point-to-point links and the only attribute for plain IPv6. */
	at = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!at || mnl_attr_get_payload_len(at) != alen)
		return MNL_CB_OK;
	flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (w->want) {
		if (memcmp(mnl_attr_get_payload(at), w->want->b, alen))
			return MNL_CB_OK;
	} else if (ifa->ifa_scope != RT_SCOPE_UNIVERSE ||
		   (flags & IFA_F_DADFAILED)) {
		return MNL_CB_OK;
	}
	memset(&w->got, 0, sizeof(w->got));
	memcpy(w->got.b, mnl_attr_get_payload(at), alen);
	w->found = true;
	return MNL_CB_OK;
}

static int addr_walk(struct addr_walk *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = w->family;
	return nl_request(nlh, addr_walk_cb, w);
}

int nl_addr_present(const char *ifname, const struct xlb_sockaddr *a)
{
	struct addr_walk w = { .want = &a->addr, .family = a->family };
	int err;

	w.ifindex = ifname ? ifindex_of(ifname) : 0;
	if (w.ifindex < 0)
		return w.ifindex;
	err = check_family(a);
	if (!err)
		err = addr_walk(&w);
	return err ? err : w.found;
}

int nl_addr_first(const char *ifname, uint8_t family, struct xlb_sockaddr *out)
{
	struct addr_walk w = { .family = family };
	int err;

	if (family != XLB_AF_INET && family != XLB_AF_INET6)
		return -EAFNOSUPPORT;
	w.ifindex = ifindex_of(ifname);
	if (w.ifindex < 0)
		return w.ifindex;
	err = addr_walk(&w);
	if (err)
		return err;
	if (!w.found)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->addr = w.got;
	return 0;
}

/* Result of a route lookup. */
struct route_res {
	uint8_t family;
	int oif;
	bool has_gw;
	union xlb_addr gw;
	uint32_t mtu;           /* RTAX_MTU of RTA_METRICS, 0 when absent */
};

static int metrics_attr_cb(const struct nlattr *attr, void *data)
{
	uint32_t *mtu = data;

	if (mnl_attr_get_type(attr) == RTAX_MTU &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*mtu = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct route_res *r = data;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	size_t alen = family_addr_len(r->family);

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	nl_parse(nlh, sizeof(*rtm), tb, RTA_MAX);
	if (tb[RTA_OIF])
		r->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) == alen) {
		memset(&r->gw, 0, sizeof(r->gw));
		memcpy(r->gw.b, mnl_attr_get_payload(tb[RTA_GATEWAY]), alen);
		r->has_gw = true;
	}
	if (tb[RTA_METRICS])
		mnl_attr_parse_nested(tb[RTA_METRICS], metrics_attr_cb, &r->mtu);
	return MNL_CB_OK;
}

int nl_route_get(const struct xlb_sockaddr *dst, int *ifindex,
		 struct xlb_sockaddr *nexthop, uint32_t *mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct route_res r = { .family = dst->family };
	struct rtmsg *rtm;
	size_t alen;
	int err;

	err = check_family(dst);
	if (err)
		return err;
	alen = family_addr_len(dst->family);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, dst->addr.b);

	err = nl_request(nlh, route_cb, &r);
	if (err)
		return err;
	if (!r.oif)
		return -ENETUNREACH;
	*ifindex = r.oif;
	memset(nexthop, 0, sizeof(*nexthop));
	nexthop->family = dst->family;
	nexthop->addr = r.has_gw ? r.gw : dst->addr;
	if (mtu)
		*mtu = r.mtu;
	return 0;
}

/* What RTM_GETLINK says about one interface. */
struct link_res {
	bool has_mac;
	uint8_t mac[6];
	uint32_t mtu;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_res *l = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	nl_parse(nlh, sizeof(*ifi), tb, IFLA_MAX);
	/* Loopback has a 6-byte (zero) address too: Ethernet only. */
	if (ifi->ifi_type == ARPHRD_ETHER && tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		l->has_mac = true;
	}
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	return MNL_CB_OK;
}

int nl_link_l2(int ifindex, uint8_t mac[6], uint32_t *mtu)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct link_res l = { 0 };
	struct ifinfomsg *ifi;
	int err;

	if (ifindex <= 0)
		return -ENODEV;
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	err = nl_request(nlh, link_cb, &l);
	if (err)
		return err;
	if (!l.has_mac || !l.mtu)
		return -ENOENT;
	memcpy(mac, l.mac, 6);
	*mtu = l.mtu;
	return 0;
}

/* What RTM_GETNEIGH says about one entry. */
struct neigh_res {
	bool found;
	uint16_t state;
	uint8_t protocol;               /* NDA_PROTOCOL: who made it */
	uint32_t ext_flags;
	uint8_t lladdr[32];
	size_t lladdr_len;
};

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	struct neigh_res *n = data;
	struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return MNL_CB_OK;
	nl_parse(nlh, sizeof(*ndm), tb, NDA_MAX);
	n->found = true;
	n->state = ndm->ndm_state;
	n->ext_flags = tb[NDA_FLAGS_EXT] ? mnl_attr_get_u32(tb[NDA_FLAGS_EXT]) : 0;
	n->protocol = tb[NDA_PROTOCOL] ? mnl_attr_get_u8(tb[NDA_PROTOCOL]) : 0;
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) <= sizeof(n->lladdr)) {
		n->lladdr_len = mnl_attr_get_payload_len(tb[NDA_LLADDR]);
		memcpy(n->lladdr, mnl_attr_get_payload(tb[NDA_LLADDR]), n->lladdr_len);
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *neigh_msg(char *buf, int type, uint16_t flags, int ifindex,
				  const struct xlb_sockaddr *a, uint16_t state)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = a->family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = state;
	mnl_attr_put(nlh, NDA_DST, family_addr_len(a->family), a->addr.b);
	return nlh;
}

/* The entry for a on ifindex; n->found stays false when there is none.
 * Checks a's family and ifindex first, for all three public callers. */
static int neigh_get(int ifindex, const struct xlb_sockaddr *a, struct neigh_res *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int err;

	err = check_family(a);
	if (err)
		return err;
	if (ifindex <= 0)
		return -ENODEV;
	memset(n, 0, sizeof(*n));
	err = nl_request(neigh_msg(buf, RTM_GETNEIGH, 0, ifindex, a, 0), neigh_cb, n);
	if (err == -ENOENT)
		return 0;
	return err;
}

/* neigh_get, where no entry is an error (-ENOENT). */
static int neigh_find(int ifindex, const struct xlb_sockaddr *a, struct neigh_res *n)
{
	int err = neigh_get(ifindex, a, n);

	return err ? err : n->found ? 0 : -ENOENT;
}

/* Entries an administrator (or the stack) pinned: never ours to change. */
#define NUD_FIXED (NUD_PERMANENT | NUD_NOARP)
/* States with a usable link-layer address (the kernel's NUD_VALID). */
#define NUD_HAS_MAC (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | \
		     NUD_STALE | NUD_DELAY)

int nl_neigh_manage(int ifindex, const struct xlb_sockaddr *nexthop)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct neigh_res cur;
	uint16_t state = NUD_NONE;
	int err;

	err = neigh_get(ifindex, nexthop, &cur);
	if (err)
		return err;
	/* Pinned, or managed already (by an xlbd, or by hand: left as is). */
	if (cur.found && ((cur.state & NUD_FIXED) || (cur.ext_flags & NTF_EXT_MANAGED)))
		return 0;
	/* Checked on 6.18: an entry created with NTF_EXT_MANAGED in state
	 * NUD_NONE is resolved at once and re-probed by the kernel's managed
	 * work whenever it goes stale, with no traffic needed. A resolved
	 * dynamic entry keeps its MAC (as STALE, so it is re-verified) rather
	 * than dropping to NONE, which would make bpf_fib_lookup miss until
	 * the next probe answers. */
	if (cur.found && (cur.state & NUD_HAS_MAC) && cur.lladdr_len)
		state = NUD_STALE;
	nlh = neigh_msg(buf, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE,
			ifindex, nexthop, state);
	if (state == NUD_STALE)
		mnl_attr_put(nlh, NDA_LLADDR, cur.lladdr_len, cur.lladdr);
	mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
	mnl_attr_put_u8(nlh, NDA_PROTOCOL, XLB_NEIGH_PROTOCOL);
	return nl_request(nlh, NULL, NULL);
}

int nl_neigh_unmanage(int ifindex, const struct xlb_sockaddr *nexthop)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct neigh_res cur;
	int err;

	err = neigh_find(ifindex, nexthop, &cur);
	if (err)
		return err;
	/* Made by someone else (by hand, as managed too), or made permanent
	 * or replaced since: not ours to remove. */
	if ((cur.state & NUD_FIXED) || !(cur.ext_flags & NTF_EXT_MANAGED) ||
	    cur.protocol != XLB_NEIGH_PROTOCOL)
		return 0;
	err = nl_request(neigh_msg(buf, RTM_DELNEIGH, 0, ifindex, nexthop, 0), NULL, NULL);
	return err == -ENOENT ? 0 : err;
}

int nl_neigh_lladdr(int ifindex, const struct xlb_sockaddr *nexthop,
		    uint8_t mac[6])
{
	struct neigh_res cur;
	int err;

	err = neigh_find(ifindex, nexthop, &cur);
	if (err)
		return err;
	if (!(cur.state & NUD_HAS_MAC) || cur.lladdr_len != 6)
		return -EAGAIN;
	memcpy(mac, cur.lladdr, 6);
	return 0;
}

struct neigh_walk {
	int ifindex;
	void (*fn)(void *arg, int ifindex, const struct xlb_sockaddr *nexthop);
	void *arg;
};

static int neigh_walk_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct neigh_walk *w = data;
	struct xlb_sockaddr a = { 0 };
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWNEIGH || ndm->ndm_ifindex != w->ifindex)
		return MNL_CB_OK;
	nl_parse(nlh, sizeof(*ndm), tb, NDA_MAX);
	if (!tb[NDA_PROTOCOL] || mnl_attr_get_u8(tb[NDA_PROTOCOL]) != XLB_NEIGH_PROTOCOL ||
	    !tb[NDA_FLAGS_EXT] || !(mnl_attr_get_u32(tb[NDA_FLAGS_EXT]) & NTF_EXT_MANAGED) ||
	    (ndm->ndm_state & NUD_FIXED) || !tb[NDA_DST] ||
	    (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6))
		return MNL_CB_OK;
	a.family = ndm->ndm_family;
	len = family_addr_len(a.family);
	if (mnl_attr_get_payload_len(tb[NDA_DST]) != len)
		return MNL_CB_OK;
	memcpy(a.addr.b, mnl_attr_get_payload(tb[NDA_DST]), len);
	w->fn(w->arg, ndm->ndm_ifindex, &a);
	return MNL_CB_OK;
}

int nl_neigh_walk_own(int ifindex,
		      void (*fn)(void *arg, int ifindex, const struct xlb_sockaddr *nexthop),
		      void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct neigh_walk w = { .ifindex = ifindex, .fn = fn, .arg = arg };
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_UNSPEC;
	/* The kernel filters the dump by it (neigh_dump_info); so does the
	 * callback, for kernels that do not. */
	mnl_attr_put_u32(nlh, NDA_IFINDEX, (uint32_t)ifindex);
	return nl_request(nlh, neigh_walk_cb, &w);
}

/* ---- neighbour events ----------------------------------------------------- */

struct nl_monitor {
	struct mnl_socket *nl;
	char *buf;
};

int nl_neigh_monitor_open(struct nl_monitor **out)
{
	struct nl_monitor *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	m->buf = malloc(NL_BUF_SIZE);
	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->buf || !m->nl) {
		err = m->buf ? -errno : -ENOMEM;
		goto fail;
	}
	if (mnl_socket_bind(m->nl, 1u << (RTNLGRP_NEIGH - 1), MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	nl_monitor_close(m);
	return err;
}

int nl_monitor_fd(const struct nl_monitor *m)
{
	return m ? mnl_socket_get_fd(m->nl) : -1;
}

struct monitor_walk {
	void (*fn)(void *arg, int ifindex, const struct xlb_sockaddr *addr,
		   const uint8_t *mac);
	void *arg;
};

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	struct monitor_walk *w = data;
	struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct xlb_sockaddr a = { 0 };
	const uint8_t *mac = NULL;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
		return MNL_CB_OK;
	if (ndm->ndm_family != XLB_AF_INET && ndm->ndm_family != XLB_AF_INET6)
		return MNL_CB_OK;
	nl_parse(nlh, sizeof(*ndm), tb, NDA_MAX);
	alen = family_addr_len(ndm->ndm_family);
	if (!tb[NDA_DST] || mnl_attr_get_payload_len(tb[NDA_DST]) != alen)
		return MNL_CB_OK;
	a.family = ndm->ndm_family;
	memcpy(a.addr.b, mnl_attr_get_payload(tb[NDA_DST]), alen);
	if (nlh->nlmsg_type == RTM_NEWNEIGH && (ndm->ndm_state & NUD_HAS_MAC) &&
	    tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6)
		mac = mnl_attr_get_payload(tb[NDA_LLADDR]);
	w->fn(w->arg, ndm->ndm_ifindex, &a, mac);
	return MNL_CB_OK;
}

int nl_neigh_monitor_read(struct nl_monitor *m,
			  void (*fn)(void *arg, int ifindex,
				     const struct xlb_sockaddr *addr,
				     const uint8_t *mac),
			  void *arg)
{
	struct monitor_walk w = { fn, arg };
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(m->nl, m->buf, NL_BUF_SIZE);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		/* Notifications carry sequence and port 0. */
		if (mnl_cb_run(m->buf, (size_t)n, 0, 0, monitor_cb, &w) < 0)
			return errno ? -errno : -EIO;
	}
}

void nl_monitor_close(struct nl_monitor *m)
{
	if (!m)
		return;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m->buf);
	free(m);
}
