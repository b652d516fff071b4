// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Applies a config to the data plane: diffs it against the running state,
 * allocates ids, rebuilds Maglev tables and manages host addresses. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "clock.h"
#include "log.h"
#include "maglev.h"
#include "netlink.h"
#include "notify.h"
#include "proxy.h"
#include "runfile.h"
#include "state.h"

void state_init(struct state *st, struct dataplane *dp, const struct xlb_config *base)
{
	memset(st, 0, sizeof(*st));
	st->dp = dp;
	config_init(&st->cfg);
	/* Interfaces and sizes are fixed for the daemon's life: keep them from
	 * the start-up config, services come through state_apply(). */
	if (base) {
		struct xlb_config copy;

		if (config_copy(&copy, base) == 0) {
			for (size_t i = 0; i < copy.n_services; i++)
				free(copy.services[i].backends);
			free(copy.services);
			copy.services = NULL;
			copy.n_services = 0;
			config_free(&st->cfg);
			st->cfg = copy;
		}
		if (base->n_interfaces)
			snprintf(st->vip_ifname, sizeof(st->vip_ifname), "%s",
				 base->interfaces[0]);
	}
}

struct service_state *state_find_service(struct state *st, uint8_t proto,
					 const struct xlb_sockaddr *vip)
{
	for (size_t i = 0; i < st->n_services; i++)
		if (st->services[i].proto == proto &&
		    addr_equal(&st->services[i].vip, vip))
			return &st->services[i];
	return NULL;
}

static struct backend_state *find_backend(struct service_state *ss,
					  const struct xlb_sockaddr *addr)
{
	if (!ss)
		return NULL;
	for (size_t i = 0; i < ss->n_backends; i++)
		if (addr_equal(&ss->backends[i].addr, addr))
			return &ss->backends[i];
	return NULL;
}

uint8_t state_backend_health(const struct backend_state *b)
{
	return b->forced ? b->forced : b->health;
}

bool state_backend_takes_new(const struct backend_state *b,
			     const struct xlb_backend_cfg *bc)
{
	return b->in_table && bc->weight && bc->state == XLB_ADMIN_UP;
}

/* Out of the table whatever all_down says: down, or in maintenance. */
static bool backend_out(const struct backend_state *b,
			const struct xlb_backend_cfg *bc)
{
	return state_backend_health(b) == HEALTH_DOWN || bc->state == XLB_ADMIN_MAINT;
}

static int alloc_svc_id(struct state *st, uint32_t *id)
{
	for (uint32_t i = 0; i < XLB_MAX_SERVICES; i++)
		if (!st->svc_used[i]) {
			st->svc_used[i] = 1;
			*id = i;
			return 0;
		}
	return -ENOSPC;
}

static int alloc_backend_id(struct state *st, uint32_t *id)
{
	for (uint32_t n = 0; n < XLB_MAX_BACKENDS; n++) {
		uint32_t i = (st->be_cursor + n) % XLB_MAX_BACKENDS;

		if (!st->be_used[i]) {
			st->be_used[i] = 1;
			st->be_cursor = (i + 1) % XLB_MAX_BACKENDS;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

/* A stable identity for Maglev: depends on the address and port only, so
 * every node with the same config computes the same permutation. */
static uint64_t backend_key(const struct xlb_sockaddr *a)
{
	uint64_t h = 0xcbf29ce484222325ull;     /* FNV-1a */
	uint8_t buf[sizeof(a->addr) + 3];

	memcpy(buf, &a->addr, sizeof(a->addr));
	buf[16] = a->family;
	buf[17] = a->port >> 8;
	buf[18] = a->port & 0xff;
	for (size_t i = 0; i < sizeof(buf); i++) {
		h ^= buf[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool neighbour_tracked(const struct state *st, int ifindex,
			      const struct xlb_sockaddr *nexthop)
{
	for (size_t i = 0; i < st->n_neighs; i++)
		if (st->neighs[i].ifindex == ifindex &&
		    addr_equal(&st->neighs[i].nexthop, nexthop))
			return true;
	return false;
}

/* Remember a neighbour entry so teardown can remove it; missed: made for a
 * next hop the data plane missed (a backend's next hop is never). Returns
 * 0, or -ENOMEM (not remembered). */
static int track_neighbour(struct state *st, int ifindex,
			   const struct xlb_sockaddr *nexthop, bool missed)
{
	struct managed_neigh *arr;

	for (size_t i = 0; i < st->n_neighs; i++) {
		struct managed_neigh *e = &st->neighs[i];

		if (e->ifindex != ifindex || !addr_equal(&e->nexthop, nexthop))
			continue;
		/* A backend's next hop now: kept as long as the backend. */
		if (e->missed && !missed) {
			e->missed = false;
			st->n_client_neighs--;
		}
		return 0;
	}
	arr = realloc(st->neighs, (st->n_neighs + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	st->neighs = arr;
	arr[st->n_neighs] = (struct managed_neigh){ .ifindex = ifindex,
						    .nexthop = *nexthop,
						    .missed = missed };
	st->n_neighs++;
	st->n_client_neighs += missed;
	return 0;
}

static void neigh_names(const struct managed_neigh *e, char *addr, size_t alen,
			char ifname[IF_NAMESIZE])
{
	if (!if_indextoname((unsigned)e->ifindex, ifname))
		snprintf(ifname, IF_NAMESIZE, "ifindex %d", e->ifindex);
	addr_str_noport(&e->nexthop, addr, alen);
}

/* Once the limit was reached (logged once; spoofed sources, likely) the
 * missed next hops' comings and goings are logged at debug level only. */
static enum log_level neigh_log_level(const struct state *st)
{
	return st->client_neighs_full ? LOG_LVL_DEBUG : LOG_LVL_INFO;
}

/* Missed next hops that stayed without a MAC for NEIGH_GIVE_UP_MS are
 * given up (the entry removed): most likely a spoofed source that was never
 * there. Replies to a real one that is back are dropped again, recorded,
 * and it is managed again. */
#define NEIGH_GIVE_UP_MS 4000
static void give_up_unresolved(struct state *st)
{
	char addr[XLB_ADDRSTR_MAX], ifname[IF_NAMESIZE];
	uint64_t now = now_ms();
	uint8_t mac[6];

	for (size_t i = 0; i < st->n_neighs;) {
		struct managed_neigh *e = &st->neighs[i];

		if (!e->missed || nl_neigh_lladdr(e->ifindex, &e->nexthop, mac) == 0) {
			e->unresolved_ms = 0;
			i++;
			continue;
		}
		if (!e->unresolved_ms)
			e->unresolved_ms = now;
		if (now - e->unresolved_ms < NEIGH_GIVE_UP_MS) {
			i++;
			continue;
		}
		nl_neigh_unmanage(e->ifindex, &e->nexthop);
		neigh_names(e, addr, sizeof(addr), ifname);
		log_msg(neigh_log_level(st), "no longer managing neighbour %s on "
			"%s: unresolved for %u s", addr, ifname,
			(unsigned)((now - e->unresolved_ms) / 1000));
		*e = st->neighs[--st->n_neighs];
		st->n_client_neighs--;
	}
}

/* One next hop the data plane found without neighbour entry. Tracked ones
 * are managed again too: someone may have deleted the entry since (`ip
 * neigh del`, a flush), and for one still managed that costs a lookup. */
static void manage_missed(struct state *st, const struct xlb_neigh_miss *m)
{
	struct xlb_sockaddr nh = { .family = m->family, .addr = m->nexthop };
	char addr[XLB_ADDRSTR_MAX], ifname[IF_NAMESIZE];
	bool known = neighbour_tracked(st, (int)m->ifindex, &nh);
	int ret;

	if (m->family != XLB_AF_INET && m->family != XLB_AF_INET6)
		return;
	if (!known && st->n_client_neighs >= XLB_CLIENT_NEIGHS_MAX) {
		if (!st->client_neighs_full)
			log_warn("%d neighbour entries made for dropped packets' next "
				 "hops already: no more until some are given up "
				 "(drop_no_neighbour may rise; resolve the next hop "
				 "toward the clients by hand)", XLB_CLIENT_NEIGHS_MAX);
		st->client_neighs_full = true;
		return;
	}
	neigh_names(&(struct managed_neigh){ .ifindex = (int)m->ifindex, .nexthop = nh },
		    addr, sizeof(addr), ifname);
	ret = nl_neigh_manage((int)m->ifindex, &nh);
	if (ret) {
		if (!known)
			log_warn("cannot have neighbour %s on %s resolved: %s (packets "
				 "to it are dropped: drop_no_neighbour)", addr, ifname,
				 strerror(-ret));
		return;
	}
	if (known || track_neighbour(st, (int)m->ifindex, &nh, true))
		return;
	log_msg(neigh_log_level(st), "managing neighbour %s on %s: packets to it "
		"were dropped (no neighbour entry)", addr, ifname);
}

void state_neigh_misses(struct state *st)
{
	struct xlb_neigh_miss m[XLB_NEIGH_MISS_MAX];
	int n;

	if (!st->dp)
		return;
	n = dataplane_neigh_misses(st->dp, m, XLB_NEIGH_MISS_MAX);
	for (int i = 0; i < n; i++)
		manage_missed(st, &m[i]);
}

static void adopt_neighbour(void *arg, int ifindex, const struct xlb_sockaddr *nexthop)
{
	track_neighbour(arg, ifindex, nexthop, true);
}

/* The managed entries an xlbd before this one made on our interfaces
 * (killed, or stopped keeping the data plane): tracked as if this one had
 * made them for missed next hops, so that those left unresolved are given
 * up and the rest removed at teardown, and never left behind; those of the
 * backends' next hops, tracked already once the config is applied, stay
 * the backends' (track_neighbour). Interfaces only: another instance's are
 * on its own. Returns how many it took on. */
static size_t adopt_neighbours(struct state *st)
{
	size_t before = st->n_neighs;
	int ifindex, ret;

	for (size_t i = 0; i < st->cfg.n_interfaces; i++) {
		ifindex = (int)if_nametoindex(st->cfg.interfaces[i]);
		if (!ifindex)
			continue;
		ret = nl_neigh_walk_own(ifindex, adopt_neighbour, st);
		if (ret)
			log_warn("cannot list the neighbour entries of %s: %s (those a "
				 "previous xlbd made stay)", st->cfg.interfaces[i],
				 strerror(-ret));
	}
	return st->n_neighs - before;
}

/* The next hop toward a backend address (struct xlb_backend_l2 without
 * the address, what bpf_fib_lookup would find): valid with a route out of
 * an Ethernet interface and a resolved neighbour entry; otherwise the data
 * plane does its own lookup. */
struct next_hop {
	bool used;
	struct xlb_sockaddr addr;       /* the backend's, port 0 */
	struct xlb_backend_l2 l2;
};

/* Next hops found in one pass (a refresh, an apply) by backend address:
 * the backends of one server in many services cost one lookup. */
struct nh_memo {
	size_t cap;                     /* a power of two; 0: no memo */
	struct next_hop *e;
};

static void nh_memo_init(struct nh_memo *m, size_t n)
{
	m->cap = 16;
	while (m->cap < 2 * n)
		m->cap *= 2;
	m->e = calloc(m->cap, sizeof(*m->e));
	if (!m->e)
		m->cap = 0;             /* each backend looks up its own */
}

static struct next_hop *nh_memo_slot(struct nh_memo *m, const struct xlb_sockaddr *a)
{
	struct xlb_sockaddr k = *a;
	size_t i;

	if (!m->cap)
		return NULL;
	k.port = 0;
	i = backend_key(&k) & (m->cap - 1);
	/* At most half full (nh_memo_init): an empty slot ends every probe. */
	while (m->e[i].used && !addr_equal(&m->e[i].addr, &k))
		i = (i + 1) & (m->cap - 1);
	m->e[i].addr = k;
	return &m->e[i];
}

/* Ask the kernel to keep the next hop toward addr resolved, so the XDP
 * program's bpf_fib_lookup finds its MAC without waiting for traffic, and
 * return it in nh->l2. */
static void find_next_hop(struct state *st, const struct xlb_sockaddr *addr,
			  struct next_hop *nh)
{
	struct xlb_sockaddr nexthop;
	char buf[XLB_ADDRSTR_MAX];
	uint32_t mtu = 0, dev_mtu = 0;
	int ifindex = 0, ret;

	memset(&nh->l2, 0, sizeof(nh->l2));
	nh->used = true;
	ret = nl_route_get(addr, &ifindex, &nexthop, &mtu);
	if (!ret)
		ret = nl_neigh_manage(ifindex, &nexthop);
	if (ret) {
		log_warn("cannot resolve the neighbour of backend %s: %s",
			 addr_str_noport(addr, buf, sizeof(buf)), strerror(-ret));
		return;
	}
	track_neighbour(st, ifindex, &nexthop, false);
	if (!st->dp || nl_link_l2(ifindex, nh->l2.smac, &dev_mtu))
		return;
	nh->l2.ifindex = (uint32_t)ifindex;
	nh->l2.nexthop = nexthop.addr;
	nh->l2.mtu = mtu ? mtu : dev_mtu;
	nh->l2.valid = nl_neigh_lladdr(ifindex, &nexthop, nh->l2.dmac) == 0;
}

/* The next hop of backend id (at addr), looked up once per address and
 * pass, handed to the data plane (dataplane_backend_l2_put). */
static void resolve_neighbour(struct state *st, struct nh_memo *memo,
			      const struct xlb_sockaddr *addr, uint32_t id)
{
	struct next_hop own = { 0 }, *nh = nh_memo_slot(memo, addr);
	struct xlb_backend_l2 l2;

	if (!nh)
		nh = &own;
	if (!nh->used)
		find_next_hop(st, addr, nh);
	if (!st->dp)
		return;
	l2 = nh->l2;
	l2.addr = addr->addr;
	l2.family = addr->family;
	dataplane_backend_l2_put(st->dp, id, &l2);
}

static size_t n_backends_total(const struct state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->n_services; i++)
		n += st->services[i].n_backends;
	return n;
}

void state_refresh_neighbours(struct state *st)
{
	struct nh_memo memo;

	nh_memo_init(&memo, n_backends_total(st));
	for (size_t i = 0; i < st->n_services; i++)
		for (size_t j = 0; j < st->services[i].n_backends; j++)
			resolve_neighbour(st, &memo, &st->services[i].backends[j].addr,
					  st->services[i].backends[j].id);
	free(memo.e);
	if (st->dp && dataplane_l2_commit(st->dp))
		log_warn("cannot rewrite the changed next hops of backends: the "
			 "data plane looks their routes up until the next refresh");
	give_up_unresolved(st);
	/* Interface MACs change as rarely as next hops: same schedule. */
	if (st->dp)
		dataplane_if_macs_refresh(st->dp);
}

static int check_fixed_settings(const struct xlb_config *cur,
				const struct xlb_config *next,
				char *err, size_t errlen)
{
	const char *what = NULL;

	if (cur->n_interfaces != next->n_interfaces)
		what = "interfaces";
	for (size_t i = 0; !what && i < cur->n_interfaces; i++)
		if (strcmp(cur->interfaces[i], next->interfaces[i]))
			what = "interfaces";
	if (!what && strcmp(cur->instance, next->instance))
		what = "instance";
	if (!what && cur->flow_table_size != next->flow_table_size)
		what = "flow_table_size";
	if (!what && cur->dsr_flow_table_size != next->dsr_flow_table_size)
		what = "dsr_flow_table_size";
	if (!what && cur->maglev_table_size != next->maglev_table_size)
		what = "maglev_table_size";
	if (!what && cur->manage_addresses != next->manage_addresses)
		what = "manage_addresses";
	if (!what && !addr_equal(&cur->metrics_listen, &next->metrics_listen))
		what = "metrics";
	if (!what && strcmp(cur->bpffs, next->bpffs))
		what = "bpffs";
	if (!what && memcmp(&cur->announce, &next->announce, sizeof(cur->announce)))
		what = "announce";
	/* The workers are started once (xlbd.c). */
	if (!what && cur->proxy_workers != next->proxy_workers)
		what = "proxy_workers";
	if (what) {
		snprintf(err, errlen, "'%s' cannot change while xlbd runs; restart xlbd "
			 "with the new config", what);
		return -EINVAL;
	}
	return 0;
}

/* Whether cfg has a nat or fullnat service: entries that expire (the
 * conntrack sweeper has work only then). */
static bool has_nat_service(const struct xlb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].mode == XLB_MODE_NAT ||
		    cfg->services[i].mode == XLB_MODE_FULLNAT)
			return true;
	return false;
}

static void globals_from(const struct xlb_config *cfg, const char *ifname,
			 struct xlb_globals *g)
{
	struct xlb_sockaddr a;

	memset(g, 0, sizeof(*g));
	/* 0 stays 0: the data plane's default (include/xlb_ct.h). */
	g->to_syn_s = cfg->timeouts.tcp_syn;
	g->to_established_s = cfg->timeouts.tcp_established;
	g->to_fin_s = cfg->timeouts.tcp_fin;
	g->to_close_s = cfg->timeouts.tcp_close;
	g->to_time_wait_s = cfg->timeouts.tcp_time_wait;
	g->to_udp_s = cfg->timeouts.udp;
	g->guard_rate = cfg->flood_guard_rate;
	g->syn_proxy = cfg->syn_proxy;
	g->icmp_cost_ns = cfg->icmp_rate_limit ?
			  1000000000ULL / cfg->icmp_rate_limit : 0;
	if (cfg->tunnel_source_v4.family) {
		g->tun_src_v4 = cfg->tunnel_source_v4.addr.v4;
		g->tun_src_v4_plen = cfg->tunnel_source_v4.plen;
	} else if (ifname[0] && nl_addr_first(ifname, XLB_AF_INET, &a) == 0) {
		/* Default: the interface's own address, no per-flow variation. */
		g->tun_src_v4 = a.addr.v4;
		g->tun_src_v4_plen = 32;
	}
	if (cfg->tunnel_source_v6.family) {
		g->tun_src_v6 = cfg->tunnel_source_v6.addr;
		g->tun_src_v6_plen = cfg->tunnel_source_v6.plen;
	} else if (ifname[0] && nl_addr_first(ifname, XLB_AF_INET6, &a) == 0) {
		g->tun_src_v6 = a.addr;
		g->tun_src_v6_plen = 128;
	}
}

/* The svc_timeouts value of a service: its own nat/fullnat timeouts, 0
 * where the top level's apply (globals_from). */
static void svc_timeouts_from(const struct xlb_service_cfg *sc,
			      struct xlb_svc_timeouts *t)
{
	t->to_syn_s = sc->timeouts.tcp_syn;
	t->to_established_s = sc->timeouts.tcp_established;
	t->to_fin_s = sc->timeouts.tcp_fin;
	t->to_close_s = sc->timeouts.tcp_close;
	t->to_time_wait_s = sc->timeouts.tcp_time_wait;
	t->to_udp_s = sc->timeouts.udp;
}

/* The most connection-table entries of service i of cfg (svc_flows): its
 * max_flows, or an equal share of what the services with one of their own
 * leave of XLB_SVC_FLOWS_SHARE, so that the shares never overlap and a
 * flood on one service leaves the others' entries and ports alone; 0 (no
 * limit) for services without a share (config_service_has_share). */
static uint64_t svc_max_flows(const struct xlb_config *cfg, size_t i)
{
	uint64_t pool = XLB_SVC_FLOWS_SHARE(cfg->flow_table_size), own = 0;
	size_t shared = 0;

	if (!config_service_has_share(&cfg->services[i]))
		return 0;
	if (cfg->services[i].max_flows)
		return cfg->services[i].max_flows;
	for (size_t j = 0; j < cfg->n_services; j++) {
		if (!config_service_has_share(&cfg->services[j]))
			continue;
		own += cfg->services[j].max_flows;
		shared += !cfg->services[j].max_flows;
	}
	/* At least one: 0 would mean no limit. */
	return own < pool && (pool - own) / shared ? (pool - own) / shared : 1;
}

/* Writes service i of cfg (id) its max_flows and its ring of embryos
 * slots, from *ring on (the next free slot, moved past it): slots in
 * proportion to its share, so the rings never overlap. */
static int svc_flows_put(struct state *st, const struct xlb_config *cfg, size_t i,
			 uint32_t id, uint32_t *ring)
{
	uint64_t max = svc_max_flows(cfg, i);
	uint32_t len = (uint32_t)(max * XLB_EMBRYO_SLOTS(cfg->flow_table_size) /
				  XLB_SVC_FLOWS_SHARE(cfg->flow_table_size));
	int ret;

	ret = dataplane_svc_flows_set(st->dp, id, max, len ? *ring : 0, len);
	*ring += len;
	return ret;
}

/* ---- host addresses and the record of those we added ------------------- */

static int addr_plen(const struct xlb_sockaddr *a)
{
	return a->family == XLB_AF_INET ? 32 : 128;
}

/* Write the record (st->addrs_name under XLB_RUN_DIR) of every address of
 * arr[0..n) we added or are about to add: it is written before an address
 * is added, so after a crash the next xlbd or `xlbd --cleanup` finds every
 * address that may be ours. */
static void record_addrs(struct state *st, const struct managed_addr *arr, size_t n)
{
	char a[XLB_ADDRSTR_MAX], err[256], *text;
	size_t len = 0, cap = n * (XLB_IFNAME_MAX + XLB_ADDRSTR_MAX + 2) + 1;

	if (!st->addrs_name[0])
		return;
	text = malloc(cap);
	if (!text) {
		log_err("cannot record the added addresses: out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (arr[i].added && arr[i].addr.family)
			len += (size_t)snprintf(text + len, cap - len, "%s %s\n",
						st->vip_ifname,
						addr_str_noport(&arr[i].addr, a, sizeof(a)));
	if (run_write(st->addrs_name, text, len, err, sizeof(err)))
		log_err("%s (an address added now would be left behind by a crash)",
			err);
	free(text);
}

/* An address the next config wants on the host. */
struct addr_want {
	bool is_new;                    /* to be added now */
	const char *what;               /* "VIP" or "LIP" */
};

/* Keep addr (a VIP or a LIP of the next config): taken over from the
 * current list (st->addrs, where it is cleared), or new: to add (recorded
 * as ours before it is), unless the host has it already (then it is not
 * ours to remove). */
static void want_address(struct state *st, struct managed_addr *keep,
			 struct addr_want *want, size_t *n_keep,
			 const struct xlb_sockaddr *addr, const char *what)
{
	struct xlb_sockaddr a = *addr;

	a.port = 0;
	for (size_t k = 0; k < *n_keep; k++)
		if (addr_equal(&keep[k].addr, &a))
			return;
	want[*n_keep].what = what;
	for (size_t k = 0; k < st->n_addrs; k++)
		if (addr_equal(&st->addrs[k].addr, &a)) {
			want[*n_keep].is_new = false;
			keep[(*n_keep)++] = st->addrs[k];
			st->addrs[k].addr.family = 0;   /* moved to keep */
			return;
		}
	keep[*n_keep].addr = a;
	/* Any prefix length, any interface: an address of the host (say the
	 * interface's own, used as a LIP) must not be added a second time
	 * and then removed at exit. */
	keep[*n_keep].added = nl_addr_present(NULL, &a) != 1;
	want[*n_keep].is_new = keep[*n_keep].added;
	(*n_keep)++;
}

static void add_address(struct state *st, struct managed_addr *m, const char *what)
{
	char buf[XLB_ADDRSTR_MAX];
	int ret;

	addr_str_noport(&m->addr, buf, sizeof(buf));
	ret = nl_addr_add(st->vip_ifname, &m->addr, addr_plen(&m->addr));
	m->added = ret == 0;
	if (ret && ret != -EEXIST)
		log_warn("cannot add %s %s to %s: %s", what, buf, st->vip_ifname,
			 strerror(-ret));
	else if (!ret)
		log_info("added %s %s to %s", what, buf, st->vip_ifname);
}

/* Add the VIPs and fullnat local addresses (LIPs) of next that are not on
 * the host yet; remove those that only the current config needed and that
 * we added. The record of added addresses covers each one before it is
 * added and until it is removed. */
static void sync_addresses(struct state *st, const struct xlb_config *next)
{
	size_t n = next->n_services + next->n_local_addresses, n_keep = 0;
	struct managed_addr *keep, *all;
	char buf[XLB_ADDRSTR_MAX];
	struct addr_want *want;

	/* A dry run (no data plane: xlbd -t, tests) touches no address. */
	if (!st->dp || !st->cfg.manage_addresses || !st->vip_ifname[0])
		return;
	keep = calloc(n + 1, sizeof(*keep));
	want = calloc(n + 1, sizeof(*want));
	all = calloc(n + st->n_addrs + 1, sizeof(*all));
	if (!keep || !want || !all) {
		log_err("cannot change the addresses on %s: out of memory", st->vip_ifname);
		goto out;
	}
	for (size_t i = 0; i < next->n_services; i++)
		want_address(st, keep, want, &n_keep, &next->services[i].vip, "VIP");
	for (size_t i = 0; i < next->n_local_addresses; i++)
		want_address(st, keep, want, &n_keep, &next->local_addresses[i], "LIP");
	/* Old and new together until the old ones are gone. */
	memcpy(all, keep, n_keep * sizeof(*all));
	if (st->n_addrs)
		memcpy(all + n_keep, st->addrs, st->n_addrs * sizeof(*all));
	record_addrs(st, all, n_keep + st->n_addrs);
	for (size_t k = 0; k < n_keep; k++)
		if (want[k].is_new)
			add_address(st, &keep[k], want[k].what);
	for (size_t k = 0; k < st->n_addrs; k++) {
		struct managed_addr *m = &st->addrs[k];

		if (!m->addr.family || !m->added)
			continue;
		nl_addr_del(st->vip_ifname, &m->addr, addr_plen(&m->addr));
		log_info("removed %s from %s",
			 addr_str_noport(&m->addr, buf, sizeof(buf)), st->vip_ifname);
	}
	record_addrs(st, keep, n_keep);
	free(st->addrs);
	st->addrs = keep;
	st->n_addrs = n_keep;
	keep = NULL;
out:
	free(keep);
	free(want);
	free(all);
}

/* The table of an rr/wrr service: the weighted round-robin sequence,
 * repeated to fill all m slots (the data plane walks only the first
 * *seq_len). Returns 0, -ENOENT (no backend takes new flows) or an error. */
static int build_rr_table(const struct xlb_service_cfg *sc,
			  const struct maglev_backend *mb, uint32_t *table,
			  uint32_t m, uint16_t *seq_len)
{
	uint32_t cap = m < UINT16_MAX ? m : UINT16_MAX;
	int len;

	len = wrr_build(mb, sc->n_backends, sc->scheduler == XLB_SCHED_WRR, table,
			cap);
	if (len < 0)
		return len;
	for (uint32_t i = (uint32_t)len; i < m; i++)
		table[i] = table[i % (uint32_t)len];
	*seq_len = (uint16_t)len;
	return 0;
}

static bool sched_is_rr(uint8_t sched)
{
	return sched == XLB_SCHED_RR || sched == XLB_SCHED_WRR;
}

static bool sched_is_lc(uint8_t sched)
{
	return sched == XLB_SCHED_LC || sched == XLB_SCHED_WLC;
}

/* lc/wlc: the list the data plane scans for a new flow, the backends that
 * take new flows (lc: all at weight 1). The config check bounds their
 * number by XLB_LC_MAX_BACKENDS. */
static int put_lc_list(struct state *st, const struct xlb_service_cfg *sc,
		       const struct service_state *ss,
		       const struct maglev_backend *mb)
{
	uint32_t ids[XLB_LC_MAX_BACKENDS], weights[XLB_LC_MAX_BACKENDS];
	size_t n = 0;

	for (size_t j = 0; j < sc->n_backends && n < XLB_LC_MAX_BACKENDS; j++) {
		if (!mb[j].weight)
			continue;
		ids[n] = mb[j].id;
		weights[n++] = sc->scheduler == XLB_SCHED_LC ? 1 : mb[j].weight;
	}
	return dataplane_svc_backends_put(st->dp, ss->id, ids, weights, n);
}

/* What a table is built from: scheduler, size, and each backend's id,
 * effective weight and key. Never 0 (0 means "unknown"). */
static uint64_t table_signature(uint8_t sched, uint32_t m,
				const struct maglev_backend *mb, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)sched << 32 | m);

	for (size_t j = 0; j < n; j++) {
		uint64_t v[3] = { mb[j].id, mb[j].weight, mb[j].key };

		for (int k = 0; k < 3; k++) {
			h ^= v[k];
			h *= 0x100000001b3ull;
			h ^= h >> 29;
		}
	}
	return h | 1;
}

/* Build the table of one service from its config and stage it for the data
 * plane (state_apply commits every staged table at once): Maglev (maglev,
 * sh; a function of the backends alone, the same on every node), or a
 * round-robin sequence (rr, wrr; *seq_len its length). Sets ss->table_hash. */
/* Hand a built table (NULL: none) and the lc/wlc list to the data plane,
 * staged for state_apply's commit, and hash it (ss->table_hash). */
static int install_table(struct state *st, const struct xlb_service_cfg *sc,
			 struct service_state *ss, const struct maglev_backend *mb,
			 const uint32_t *table, uint32_t len, char *err, size_t errlen)
{
	int ret;

	if (st->dp && sched_is_lc(sc->scheduler)) {
		ret = put_lc_list(st, sc, ss, mb);
		if (ret) {
			snprintf(err, errlen, "cannot install the backend list: %s",
				 strerror(-ret));
			return ret;
		}
	}
	if (st->dp) {
		ret = dataplane_table_stage(st->dp, ss->id, table,
					    st->cfg.maglev_table_size);
		if (ret) {
			snprintf(err, errlen, "cannot install the Maglev table: %s",
				 strerror(-ret));
			return ret;
		}
	}
	ss->table_hash = 0;
	if (!table)
		return 0;
	ret = maglev_table_hash(table, len, mb, sc->n_backends, &ss->table_hash);
	if (ret)
		snprintf(err, errlen, "cannot hash the table: %s", strerror(-ret));
	return ret;
}

static int rebuild_table(struct state *st, const struct xlb_service_cfg *sc,
			 struct service_state *ss, uint16_t *seq_len,
			 char *err, size_t errlen)
{
	uint32_t m = st->cfg.maglev_table_size;
	struct maglev_backend *mb;
	uint32_t *table = NULL;
	uint64_t sig;
	int ret;

	mb = calloc(sc->n_backends + 1, sizeof(*mb));
	table = malloc(m * sizeof(*table));
	if (!mb || !table) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t j = 0; j < sc->n_backends; j++) {
		mb[j].id = ss->backends[j].id;
		mb[j].weight = state_backend_takes_new(&ss->backends[j], &sc->backends[j]) ?
			       sc->backends[j].weight : 0;
		mb[j].key = backend_key(&sc->backends[j].addr);
	}
	sig = table_signature(sc->scheduler, m, mb, sc->n_backends);
	if (sig == ss->table_sig) {
		/* Same inputs, same table: the installed one stays. */
		ret = 0;
		*seq_len = ss->seq_len;
		goto out;
	}
	*seq_len = 0;
	if (sched_is_rr(sc->scheduler))
		ret = build_rr_table(sc, mb, table, m, seq_len);
	else
		ret = maglev_build(mb, sc->n_backends, table, m);
	if (ret == -ENOENT) {
		/* No backend can take new flows: drop the table, flows that
		 * exist keep going (draining). */
		free(table);
		table = NULL;
		ret = 0;
	} else if (ret) {
		snprintf(err, errlen, "cannot build the %s table: %s",
			 sched_is_rr(sc->scheduler) ? "round-robin" : "Maglev",
			 strerror(-ret));
		goto out;
	}
	ret = install_table(st, sc, ss, mb, table, *seq_len ? *seq_len : m, err, errlen);
	if (!ret) {
		ss->table_sig = sig;
		ss->seq_len = *seq_len;
	}
out:
	free(table);
	free(mb);
	return ret;
}

/* A backend that stays keeps its health while its service's check stays
 * the same; a new or changed check starts from unknown. */
static void keep_health(struct backend_state *nb, const struct backend_state *ob,
			const struct xlb_service_cfg *old_sc,
			const struct xlb_service_cfg *sc)
{
	if (!old_sc || memcmp(&old_sc->hc, &sc->hc, sizeof(sc->hc)))
		return;
	nb->health = ob->health;
	nb->in_table = ob->in_table;
	nb->health_since_ms = ob->health_since_ms;
	memcpy(nb->health_reason, ob->health_reason, sizeof(nb->health_reason));
}

/* Which backends take new flows: those not down (checked or forced) and
 * not in maintenance; backup ones only while none of the others could
 * take a flow (weighted, up, not down). When no backend at all is left
 * and the service says all_down: keep_last, the previous set stays. */
static void mark_in_table(const struct xlb_service_cfg *sc,
			  struct service_state *ss)
{
	bool usable[2] = { false, false };      /* [backup?] */

	for (size_t j = 0; j < sc->n_backends; j++)
		if (sc->backends[j].weight && sc->backends[j].state == XLB_ADMIN_UP &&
		    state_backend_health(&ss->backends[j]) != HEALTH_DOWN)
			usable[sc->backends[j].backup] = true;
	if (usable[0] || usable[1] || sc->all_down != XLB_ALL_DOWN_KEEP_LAST)
		for (size_t j = 0; j < sc->n_backends; j++)
			ss->backends[j].in_table =
				!backend_out(&ss->backends[j], &sc->backends[j]) &&
				(!sc->backends[j].backup || !usable[0]);
	/* The operator's maintenance wins over keep_last. */
	for (size_t j = 0; j < sc->n_backends; j++)
		if (sc->backends[j].state == XLB_ADMIN_MAINT)
			ss->backends[j].in_table = false;
}

/* The backends of a service as the data plane sees them. A backend that
 * takes new flows (in the table, a weight, not drained) is
 * XLB_BACKEND_F_SCHED: persistence follows only such; with
 * on_backend_down: reset, one out of the table loses XLB_BACKEND_F_ACTIVE
 * so its existing flows are rescheduled too. Written in one go per
 * backend: no packet sees a flag missing between two writes. */
static int write_backends(struct state *st, const struct xlb_service_cfg *sc,
			  const struct service_state *ss)
{
	for (size_t j = 0; st->dp && j < sc->n_backends; j++) {
		const struct xlb_backend_cfg *bc = &sc->backends[j];
		bool in = ss->backends[j].in_table;
		struct xlb_backend be = { 0 };
		int ret;

		be.addr = bc->addr.addr;
		be.port_be = htons(bc->addr.port);
		be.family = bc->addr.family;
		if (in || sc->on_backend_down != XLB_ON_DOWN_RESET)
			be.flags = XLB_BACKEND_F_ACTIVE;
		if (state_backend_takes_new(&ss->backends[j], bc))
			be.flags |= XLB_BACKEND_F_SCHED;
		be.svc_id = ss->id;
		ret = dataplane_backend_put(st->dp, ss->backends[j].id, &be);
		if (ret)
			return ret;
	}
	return 0;
}

void state_proxy_apply(struct state *st)
{
	struct xlb_config copy;

	if (config_copy(&copy, &st->cfg)) {
		proxy_apply(&st->cfg);
		return;
	}
	for (size_t i = 0; i < copy.n_services && i < st->n_services; i++)
		for (size_t j = 0; j < copy.services[i].n_backends &&
				   j < st->services[i].n_backends; j++)
			if (!state_backend_takes_new(&st->services[i].backends[j],
						     &copy.services[i].backends[j]))
				copy.services[i].backends[j].weight = 0;
	proxy_apply(&copy);
	config_free(&copy);
}

/* A backend's health changes from b->health to ev->status: its time, and
 * the service's notify hook. */
static void health_changed(struct state *st, const struct service_state *ss,
			   struct backend_state *b, const struct health_event *ev,
			   const char *name, const char *addr)
{
	const struct xlb_service_cfg *sc = config_find_service(&st->cfg, ss->proto,
							       &ss->vip);
	int ret;

	b->health_since_ms = now_ms();
	if (!sc || !sc->notify[0])
		return;
	ret = notify_run(sc->notify, NOTIFY_TIMEOUT_S, name, addr,
			 health_status_name(b->health),
			 health_status_name(ev->status), ev->reason);
	if (ret)
		log_warn("%s: cannot run the notify command for backend %s: %s",
			 name, addr, strerror(-ret));
}

int state_health_event(struct state *st, const struct health_event *ev)
{
	struct backend_state *b = NULL;
	struct service_state *ss;
	struct xlb_config copy;
	char name[XLB_ADDRSTR_MAX + 8], a[XLB_ADDRSTR_MAX], err[512];
	int ret;

	ss = state_find_service(st, ev->proto, &ev->vip);
	for (size_t j = 0; ss && j < ss->n_backends; j++)
		if (addr_equal(&ss->backends[j].addr, &ev->backend))
			b = &ss->backends[j];
	if (!b)
		return -ENOENT;
	service_name_str(ev->proto, &ev->vip, name, sizeof(name));
	addr_str(&ev->backend, a, sizeof(a));
	if (ev->status == HEALTH_DOWN)
		log_warn("%s: backend %s is down: %s", name, a, ev->reason);
	else
		log_info("%s: backend %s is %s: %s", name, a,
			 health_status_name(ev->status), ev->reason);
	if (b->health != ev->status)
		health_changed(st, ss, b, ev, name, a);
	b->health = ev->status;
	snprintf(b->health_reason, sizeof(b->health_reason), "%s", ev->reason);
	/* The same config again: tables and flags follow the new health. */
	ret = config_copy(&copy, &st->cfg);
	if (!ret) {
		ret = state_apply(st, &copy, err, sizeof(err));
		config_free(&copy);
	}
	if (ret)
		log_err("%s: cannot apply the health of backend %s: %s", name, a,
			ret == -ENOMEM ? "out of memory" : err);
	return ret;
}

int state_force_health(struct state *st, uint8_t proto, const struct xlb_sockaddr *vip,
		       const struct xlb_sockaddr *backend, uint8_t forced,
		       char *err, size_t errlen)
{
	struct service_state *ss = state_find_service(st, proto, vip);
	struct backend_state *b = find_backend(ss, backend);
	struct xlb_config copy;
	uint8_t before;
	int ret;

	if (!b) {
		snprintf(err, errlen, "no such backend");
		return -ENOENT;
	}
	before = b->forced;
	b->forced = forced;
	/* The same config again: tables and flags follow the new health. */
	ret = config_copy(&copy, &st->cfg);
	if (ret) {
		snprintf(err, errlen, "out of memory");
	} else {
		ret = state_apply(st, &copy, err, errlen);
		config_free(&copy);
	}
	if (ret) {
		/* state_apply changed nothing: find the backend again. */
		b = find_backend(state_find_service(st, proto, vip), backend);
		if (b)
			b->forced = before;
	}
	return ret;
}

const char *state_table_hash_str(const struct service_state *ss,
				 char buf[STATE_HASH_STRLEN])
{
	if (!ss->table_hash)
		return "none";
	snprintf(buf, STATE_HASH_STRLEN, "%016llx", (unsigned long long)ss->table_hash);
	return buf;
}

/* ---- restart: ids from the adopted maps ------------------------------- */

static int add_hint(struct state *st, const struct adopt_hint *h)
{
	struct adopt_hint *arr = realloc(st->hints, (st->n_hints + 1) * sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	st->hints = arr;
	arr[st->n_hints++] = *h;
	return 0;
}

static int hint_service(void *arg, uint8_t proto, const struct xlb_sockaddr *vip,
			const struct xlb_svc *svc)
{
	struct state *st = arg;
	struct adopt_hint h = { .proto = proto, .addr = *vip, .svc_id = svc->id };

	if (svc->id >= XLB_MAX_SERVICES || st->svc_used[svc->id])
		return 0;
	if (add_hint(st, &h))
		return -ENOMEM;
	st->svc_used[svc->id] = 1;
	return 0;
}

/* Read the record of added addresses: ours to remove when unneeded. One
 * on an interface that no longer takes the VIPs goes at once. */
static void adopt_addrs(struct state *st)
{
	char line[128], ifname[XLB_IFNAME_MAX + 1], a[XLB_ADDRSTR_MAX], err[256];
	int fd = run_open(st->addrs_name, O_RDONLY, err, sizeof(err));
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (fd < 0 && fd != -ENOENT)
		log_err("%s: addresses a previous xlbd added are not known", err);
	while (f && fgets(line, sizeof(line), f)) {
		struct managed_addr *arr;
		struct xlb_sockaddr addr;

		if (sscanf(line, "%16s %63s", ifname, a) != 2 ||
		    addr_parse(a, ADDR_PORT_FORBIDDEN, &addr, err, sizeof(err)))
			continue;
		if (strcmp(ifname, st->vip_ifname)) {
			if (nl_addr_del(ifname, &addr, addr_plen(&addr)) == 0)
				log_info("removed %s from %s", a, ifname);
			continue;
		}
		/* A recorded address no longer on the interface (removed by hand,
		 * or the record of an xlbd in an earlier namespace whose inode
		 * this one reuses) is not ours to keep: it is added again when
		 * the config wants it. */
		if (nl_addr_present(st->vip_ifname, &addr) != 1)
			continue;
		arr = realloc(st->addrs, (st->n_addrs + 1) * sizeof(*arr));
		if (!arr)
			break;
		st->addrs = arr;
		arr[st->n_addrs].addr = addr;
		arr[st->n_addrs++].added = true;
	}
	if (f)
		fclose(f);
	else if (fd >= 0)
		close(fd);
}

/* The ids of the services and backends in the adopted maps, reserved as
 * hints for the first state_apply(). */
static void adopt_ids(struct state *st)
{
	size_t nb = 0;
	uint32_t last = 0;

	dataplane_services_each(st->dp, hint_service, st);
	for (uint32_t id = 0; id < XLB_MAX_BACKENDS; id++) {
		struct xlb_backend be;
		struct adopt_hint h = { 0 };

		/* A removed backend keeps its address, without flags. */
		if (dataplane_backend_get(st->dp, id, &be) ||
		    !(be.flags & XLB_BACKEND_F_ACTIVE))
			continue;
		h.addr.family = be.family;
		h.addr.addr = be.addr;
		h.addr.port = ntohs(be.port_be);
		h.svc_id = be.svc_id;
		h.id = id;
		if (add_hint(st, &h) == 0) {
			st->be_used[id] = 1;
			last = id;
			nb++;
		}
	}
	st->be_cursor = (last + 1) % XLB_MAX_BACKENDS;
	log_info("adopted %zu service(s) and %zu backend(s) with their ids",
		 st->n_hints - nb, nb);
}

void state_adopt(struct state *st, const char *addrs_name)
{
	snprintf(st->addrs_name, sizeof(st->addrs_name), "%s", addrs_name);
	adopt_addrs(st);
	if (st->dp && dataplane_adopted(st->dp))
		adopt_ids(st);
}

void state_adopt_finish(struct state *st)
{
	size_t n;

	for (size_t i = 0; i < st->n_hints; i++) {
		struct adopt_hint *h = &st->hints[i];

		if (h->used)
			continue;
		/* In the adopted maps, not in the config: remove it. */
		if (h->proto) {
			if (st->dp) {
				dataplane_service_del(st->dp, h->proto, &h->addr);
				dataplane_table_stage(st->dp, h->svc_id, NULL, 0);
			}
			st->svc_used[h->svc_id] = 0;
		} else {
			if (st->dp)
				dataplane_backend_put(st->dp, h->id, NULL);
			st->be_used[h->id] = 0;
		}
	}
	/* One RCU wait for all the tables removed, not one per service (a
	 * restart that drops a thousand services would take half a minute). */
	if (st->dp && dataplane_tables_commit(st->dp))
		log_warn("cannot remove the tables of services no longer in the config");
	free(st->hints);
	st->hints = NULL;
	st->n_hints = 0;
	n = st->dp ? adopt_neighbours(st) : 0;
	if (n)
		log_info("adopted %zu managed neighbour entr%s a previous xlbd made",
			 n, n == 1 ? "y" : "ies");
}

void state_release(struct state *st)
{
	/* The record is current; written again in case a write failed. */
	record_addrs(st, st->addrs, st->n_addrs);
	for (size_t i = 0; i < st->n_services; i++) {
		free(st->services[i].backends);
	}
	free(st->services);
	st->services = NULL;
	st->n_services = 0;
	free(st->neighs);
	st->neighs = NULL;
	free(st->addrs);
	st->addrs = NULL;
	config_free(&st->cfg);
}

void state_cleanup_addrs(const char *addrs_name)
{
	struct state st = { 0 };

	snprintf(st.addrs_name, sizeof(st.addrs_name), "%s", addrs_name);
	adopt_addrs(&st);       /* vip_ifname "": every one is removed */
	run_unlink(addrs_name);
}

size_t state_cleanup_neighbours(const struct xlb_config *cfg)
{
	struct state st = { 0 };
	size_t n;

	/* Listed first, removed after: not while the kernel dumps them. */
	st.cfg = *cfg;
	n = adopt_neighbours(&st);
	for (size_t i = 0; i < st.n_neighs; i++)
		nl_neigh_unmanage(st.neighs[i].ifindex, &st.neighs[i].nexthop);
	free(st.neighs);
	return n;
}

/* Clear the backends a change removed from services that stay, and free
 * their ids: called once the change's tables are in, so no new flow is
 * scheduled to them any more. */
static void release_gone(struct state *st, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (st->dp)
			dataplane_backend_put(st->dp, ids[i], NULL);
		st->be_used[ids[i]] = 0;
	}
}

static void release_service(struct state *st, struct service_state *ss)
{
	for (size_t j = 0; j < ss->n_backends; j++) {
		if (st->dp)
			dataplane_backend_put(st->dp, ss->backends[j].id, NULL);
		st->be_used[ss->backends[j].id] = 0;
	}
	if (st->dp) {
		dataplane_service_del(st->dp, ss->proto, &ss->vip);
		dataplane_table_stage(st->dp, ss->id, NULL, 0);
		dataplane_svc_timeouts_put(st->dp, ss->id, NULL);
		dataplane_svc_flows_set(st->dp, ss->id, 0, 0, 0);
	}
	st->svc_used[ss->id] = 0;
	free(ss->backends);
	ss->backends = NULL;
	ss->n_backends = 0;
}

/* ---- state_apply: plan, apply, commit ---------------------------------- */

/* An adopted id waiting for the first apply (state_adopt), without taking
 * it. */
static struct adopt_hint *find_hint(struct state *st, uint8_t proto,
				    const struct xlb_sockaddr *addr, uint32_t svc_id)
{
	for (size_t i = 0; i < st->n_hints; i++) {
		struct adopt_hint *h = &st->hints[i];

		if (h->used || h->proto != proto || !addr_equal(&h->addr, addr))
			continue;
		if (!proto && h->svc_id != svc_id)
			continue;
		return h;
	}
	return NULL;
}

static struct adopt_hint *take_hint(struct state *st, uint8_t proto,
				    const struct xlb_sockaddr *addr, uint32_t svc_id)
{
	struct adopt_hint *h = find_hint(st, proto, addr, svc_id);

	if (h)
		h->used = true;
	return h;
}

/* Count the ids next needs beyond those it keeps, so state_apply() can
 * refuse before it changes anything. An id is counted once: a service that
 * stays, or comes back with an id adopted from the maps (restart), keeps
 * its ids; the services next drops give theirs back before any is handed
 * out. Backends dropped from services that stay keep theirs until the new
 * tables are in (their flows must not reach a new backend). */
static int check_capacity(struct state *st, struct xlb_config *next,
			  char *err, size_t errlen)
{
	size_t svc_free = 0, be_free = 0, svc_need = 0, be_need = 0;

	for (size_t i = 0; i < XLB_MAX_SERVICES; i++)
		svc_free += !st->svc_used[i];
	for (size_t i = 0; i < XLB_MAX_BACKENDS; i++)
		be_free += !st->be_used[i];
	for (size_t i = 0; i < st->n_services; i++) {
		const struct service_state *ss = &st->services[i];

		if (config_find_service(next, ss->proto, &ss->vip))
			continue;
		svc_free++;
		be_free += ss->n_backends;
	}
	for (size_t i = 0; i < next->n_services; i++) {
		const struct xlb_service_cfg *sc = &next->services[i];
		struct service_state *ss = state_find_service(st, sc->proto, &sc->vip);
		struct adopt_hint *h = ss ? NULL : find_hint(st, sc->proto, &sc->vip, 0);

		svc_need += !ss && !h;
		for (size_t j = 0; j < sc->n_backends; j++) {
			const struct xlb_sockaddr *a = &sc->backends[j].addr;

			if (ss)
				be_need += !find_backend(ss, a);
			else
				be_need += !h || !find_hint(st, 0, a, h->svc_id);
		}
	}
	if (svc_need > svc_free) {
		snprintf(err, errlen, "too many services: %zu more needed, %zu free "
			 "(at most %d)", svc_need, svc_free, XLB_MAX_SERVICES);
		return -ENOSPC;
	}
	if (be_need > be_free) {
		snprintf(err, errlen, "too many backends: %zu more needed, %zu free "
			 "(at most %d in all)", be_need, be_free, XLB_MAX_BACKENDS);
		return -ENOSPC;
	}
	return 0;
}

/* What one state_apply() builds before it becomes the running state. */
struct apply_plan {
	struct xlb_config copy;         /* the config to run */
	struct service_state *nss;      /* its services' state, same order */
	struct xlb_svc *pending_svc;    /* services-map values, written last */
	uint32_t *gone_ids;             /* backends removed, cleared last */
	size_t n_gone;
	struct nh_memo memo;            /* next hops of new backends */
};

static void plan_free(struct apply_plan *p)
{
	for (size_t i = 0; p->nss && i < p->copy.n_services; i++) {
		free(p->nss[i].backends);
	}
	free(p->nss);
	free(p->pending_svc);
	free(p->gone_ids);
	free(p->memo.e);
	config_free(&p->copy);
}

/* Check next against the limits and the running state, and allocate what
 * applying it needs: nothing is changed yet. */
static int plan(struct state *st, const struct xlb_config *next,
		struct apply_plan *p, char *err, size_t errlen)
{
	size_t n_old_backends = 0, n_new_backends = 0;
	int ret;

	ret = config_validate(next, err, errlen);
	if (!ret)
		ret = check_fixed_settings(&st->cfg, next, err, errlen);
	if (ret)
		return ret;
	if (config_copy(&p->copy, next)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = check_capacity(st, &p->copy, err, errlen);
	if (ret) {
		config_free(&p->copy);
		return ret;
	}
	for (size_t i = 0; i < st->n_services; i++)
		n_old_backends += st->services[i].n_backends;
	p->nss = calloc(next->n_services + 1, sizeof(*p->nss));
	p->pending_svc = calloc(next->n_services + 1, sizeof(*p->pending_svc));
	p->gone_ids = calloc(n_old_backends + 1, sizeof(*p->gone_ids));
	for (size_t i = 0; i < next->n_services; i++)
		n_new_backends += next->services[i].n_backends;
	nh_memo_init(&p->memo, n_new_backends);
	if (!p->nss || !p->pending_svc || !p->gone_ids) {
		plan_free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Services that go away are released first so their ids can serve new
 * ones; then the instance-wide values. */
static void apply_removals_and_globals(struct state *st, struct xlb_config *copy)
{
	struct xlb_globals g;

	for (size_t i = 0; i < st->n_services; i++) {
		struct service_state *old = &st->services[i];

		if (!config_find_service(copy, old->proto, &old->vip)) {
			release_service(st, old);
			old->proto = 0;
		}
	}
	if (!st->dp)
		return;
	globals_from(copy, st->vip_ifname, &g);
	/* fullnat sources: the LIPs first, then their counts. */
	if (dataplane_set_lips(st->dp, copy->local_addresses, copy->n_local_addresses,
			       &g.n_lips_v4, &g.n_lips_v6))
		log_warn("cannot write local_addresses to the data plane");
	dataplane_set_globals(st->dp, &g);
	dataplane_sweeper_want(st->dp, has_nat_service(copy));
}

/* The id of a service: kept (with what its table was built from), adopted
 * (restart) or new. */
static void service_take_id(struct state *st, const struct xlb_service_cfg *sc,
			    struct service_state *old, struct service_state *ss)
{
	struct adopt_hint *hint;

	ss->proto = sc->proto;
	ss->vip = sc->vip;
	if (old) {
		ss->id = old->id;
		ss->table_hash = old->table_hash;
		ss->table_sig = old->table_sig;
		ss->seq_len = old->seq_len;
	} else if ((hint = take_hint(st, sc->proto, &sc->vip, 0))) {
		ss->id = hint->svc_id;          /* reserved by state_adopt */
	} else {
		alloc_svc_id(st, &ss->id);      /* capacity checked by plan() */
		if (st->dp)
			dataplane_svc_stats_reset(st->dp, ss->id);
	}
}

/* Give backend j of sc its id (kept, adopted or new); a new one gets its
 * next hop (write_backends writes it). */
static void apply_backend(struct state *st, struct apply_plan *p,
			  const struct xlb_service_cfg *sc, struct service_state *old,
			  struct service_state *ss, size_t j)
{
	const struct xlb_backend_cfg *bc = &sc->backends[j];
	struct backend_state *ob = find_backend(old, &bc->addr);
	struct adopt_hint *bh = NULL;

	ss->backends[j].addr = bc->addr;
	ss->backends[j].in_table = true;
	ss->backends[j].health_since_ms = now_ms();
	if (ob) {
		ss->backends[j].id = ob->id;
		ob->addr.family = 0;    /* claimed */
		keep_health(&ss->backends[j], ob,
			    config_find_service(&st->cfg, sc->proto, &sc->vip), sc);
		ss->backends[j].forced = ob->forced;
	} else if (!old && (bh = take_hint(st, 0, &bc->addr, ss->id))) {
		ss->backends[j].id = bh->id;
	} else {
		alloc_backend_id(st, &ss->backends[j].id);
		if (st->dp)
			dataplane_backend_stats_reset(st->dp, ss->backends[j].id);
	}
	if (st->dp && !ob)
		resolve_neighbour(st, &p->memo, &bc->addr, ss->backends[j].id);
}

static uint16_t svc_flags(uint8_t sched)
{
	if (sched == XLB_SCHED_SH)
		return XLB_SVC_F_SH;
	if (sched_is_rr(sched))
		return XLB_SVC_F_RR;
	if (sched_is_lc(sched))
		return XLB_SVC_F_LC;
	return 0;
}

/* Service i of the plan: ids, backends, table staged; its services-map
 * value waits in pending_svc for commit(). */
static int apply_service(struct state *st, struct apply_plan *p, size_t i,
			 char *err, size_t errlen)
{
	struct xlb_service_cfg *sc = &p->copy.services[i];
	struct service_state *old = state_find_service(st, sc->proto, &sc->vip);
	struct service_state *ss = &p->nss[i];
	struct xlb_svc svc = { 0 };
	char name[XLB_ADDRSTR_MAX + 8];
	int ret;

	service_name_str(sc->proto, &sc->vip, name, sizeof(name));
	service_take_id(st, sc, old, ss);
	ss->backends = calloc(sc->n_backends + 1, sizeof(*ss->backends));
	if (!ss->backends) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ss->n_backends = sc->n_backends;
	for (size_t j = 0; j < sc->n_backends; j++)
		apply_backend(st, p, sc, old, ss, j);
	mark_in_table(sc, ss);
	ret = write_backends(st, sc, ss);
	if (ret) {
		snprintf(err, errlen, "%s: cannot write backend: %s", name,
			 strerror(-ret));
		return ret;
	}
	/* Backends of the old service that are gone: cleared (so their flows
	 * are rescheduled) and their ids freed only once the new tables are
	 * in (commit). Cleared now, a new flow scheduled by the old table to
	 * one would be dropped (drop_no_backend), and its id, taken by a new
	 * backend of this change, would get the old table's flows. */
	for (size_t j = 0; old && j < old->n_backends; j++)
		if (old->backends[j].addr.family)
			p->gone_ids[p->n_gone++] = old->backends[j].id;
	ret = rebuild_table(st, sc, ss, &svc.seq_len, err, errlen);
	if (ret)
		return ret;
	svc.id = ss->id;
	svc.table_size = st->cfg.maglev_table_size;
	svc.mode = sc->mode;
	svc.persist_s = sc->persistence;
	svc.persist_plen = sc->persistence_plen;
	svc.flags |= svc_flags(sc->scheduler);
	if (!sc->icmp_unreachable)
		svc.flags |= XLB_SVC_F_NO_UNREACH;
	p->pending_svc[i] = svc;
	if (old) {
		free(old->backends);
		old->backends = NULL;
		old->n_backends = 0;
		old->proto = 0;
	}
	return 0;
}

/* Every table at once, then the gone backends, then the services-map
 * entries (each after its timeouts: its first flows expire by them). */
static int commit_dataplane(struct state *st, struct apply_plan *p,
			    char *err, size_t errlen)
{
	char name[XLB_ADDRSTR_MAX + 8];
	uint32_t ring = 0;
	int ret;

	ret = dataplane_tables_commit(st->dp);
	if (ret) {
		snprintf(err, errlen, "cannot install the scheduling tables: %s",
			 strerror(-ret));
		return ret;
	}
	release_gone(st, p->gone_ids, p->n_gone);
	p->n_gone = 0;
	for (size_t i = 0; i < p->copy.n_services; i++) {
		const struct xlb_service_cfg *sc = &p->copy.services[i];
		struct xlb_svc_timeouts t;

		svc_timeouts_from(sc, &t);
		ret = dataplane_svc_timeouts_put(st->dp, p->pending_svc[i].id, &t);
		if (!ret)
			ret = svc_flows_put(st, &p->copy, i, p->pending_svc[i].id, &ring);
		if (!ret)
			ret = dataplane_service_put(st->dp, sc->proto, &sc->vip,
						    &p->pending_svc[i]);
		if (ret) {
			service_name_str(sc->proto, &sc->vip, name, sizeof(name));
			snprintf(err, errlen, "%s: cannot write service: %s", name,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* The plan becomes the running state. */
static void commit_state(struct state *st, struct apply_plan *p)
{
	release_gone(st, p->gone_ids, p->n_gone);
	p->n_gone = 0;
	sync_addresses(st, &p->copy);
	for (size_t i = 0; i < st->n_services; i++) {
		free(st->services[i].backends);
	}
	free(st->services);
	st->services = p->nss;
	st->n_services = p->copy.n_services;
	p->nss = NULL;
	config_free(&st->cfg);
	st->cfg = p->copy;
	config_init(&p->copy);
	plan_free(p);
	/* Mode proxy services live in the proxy engine (no-op until started). */
	state_proxy_apply(st);
	if (st->health && health_sync(st->health, &st->cfg))
		log_warn("health checks keep the previous backends: out of memory");
}

int state_apply(struct state *st, const struct xlb_config *next,
		char *err, size_t errlen)
{
	struct apply_plan p = { 0 };
	int ret;

	ret = plan(st, next, &p, err, errlen);
	if (ret)
		return ret;
	/* From here on, the new config is valid: apply it. */
	apply_removals_and_globals(st, &p.copy);
	for (size_t i = 0; i < p.copy.n_services; i++) {
		ret = apply_service(st, &p, i, err, errlen);
		if (ret)
			goto fail;
	}
	if (st->dp) {
		ret = commit_dataplane(st, &p, err, errlen);
		if (ret)
			goto fail;
	}
	commit_state(st, &p);
	/* New backends' next hops on ids some packet may still hold valid. */
	if (st->dp && dataplane_l2_commit(st->dp))
		log_warn("cannot write the next hops of new backends: the data "
			 "plane looks their routes up until the next refresh");
	return 0;
fail:
	/* Only an error of the kernel gets here (the config was valid): the
	 * data plane may be half-updated; say so loudly. */
	log_err("applying the config failed half-way: %s", err);
	if (st->dp)
		dataplane_tables_commit(st->dp);        /* installs or frees what was staged */
	release_gone(st, p.gone_ids, p.n_gone);
	plan_free(&p);
	return ret;
}

void state_teardown(struct state *st)
{
	struct xlb_config empty;
	char err[256];

	config_copy(&empty, &st->cfg);
	for (size_t i = 0; i < empty.n_services; i++)
		free(empty.services[i].backends);
	free(empty.services);
	empty.services = NULL;
	empty.n_services = 0;
	/* No LIP either: sync_addresses removes the ones it added. */
	free(empty.local_addresses);
	empty.local_addresses = NULL;
	empty.n_local_addresses = 0;
	if (state_apply(st, &empty, err, sizeof(err)))
		log_warn("cannot remove every service: %s", err);
	config_free(&empty);
	/* Added while manage_addresses was on, or adopted from the record. */
	for (size_t i = 0; i < st->n_addrs; i++)
		if (st->addrs[i].added && st->addrs[i].addr.family &&
		    nl_addr_del(st->vip_ifname, &st->addrs[i].addr,
				addr_plen(&st->addrs[i].addr)) == 0)
			log_info("removed %s from %s", addr_str_noport(&st->addrs[i].addr,
				 err, sizeof(err)), st->vip_ifname);
	if (st->addrs_name[0])
		run_unlink(st->addrs_name);
	for (size_t i = 0; i < st->n_neighs; i++)
		nl_neigh_unmanage(st->neighs[i].ifindex, &st->neighs[i].nexthop);
	free(st->neighs);
	st->neighs = NULL;
	free(st->services);
	st->services = NULL;
	free(st->addrs);
	st->addrs = NULL;
	config_free(&st->cfg);
}
