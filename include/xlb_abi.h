/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The ABI shared by the XDP data plane (bpf/) and userspace (src/, tests/):
 * map keys and values, flags, limits and counter ids. Everything here is in
 * host byte order unless the field name ends in _be (network byte order). */
#ifndef XLB_ABI_H
#define XLB_ABI_H

#include <linux/types.h>

#define XLB_MAX_SERVICES        1024
#define XLB_MAX_BACKENDS        16384
#define XLB_MAGLEV_DEFAULT_SIZE 65537
#define XLB_FLOW_DEFAULT_SIZE   (1u << 20)
#define XLB_MAX_LIPS            64      /* fullnat local addresses per family */

/* Address families as stored in keys (same values as AF_INET/AF_INET6, but
 * the BPF side cannot include <sys/socket.h>). */
#define XLB_AF_INET  2
#define XLB_AF_INET6 10

/* An IPv4 or IPv6 address in network byte order. IPv4 uses v4 (= u32[0]),
 * the remaining 12 bytes are zero so the whole union can be hashed/compared. */
union xlb_addr {
	__u32 v4;
	__u32 v6[4];
	__u8  b[16];
};

enum xlb_mode {
	XLB_MODE_NONE    = 0,
	XLB_MODE_DR      = 1,
	XLB_MODE_TUN     = 2,
	XLB_MODE_NAT     = 3,
	XLB_MODE_FULLNAT = 4,
	XLB_MODE_PROXY   = 5,
};

/* services map key. port_be == 0 is the "every port of this VIP" service,
 * looked up when no exact-port service matches. */
struct xlb_svc_key {
	union xlb_addr vip;
	__u16 port_be;
	__u8  proto;            /* IPPROTO_TCP or IPPROTO_UDP */
	__u8  family;           /* XLB_AF_INET or XLB_AF_INET6 */
};

/* services map value. */
struct xlb_svc {
	__u32 id;               /* index into maglev_outer and svc_stats */
	__u32 table_size;       /* Maglev table size (prime) of this service */
	__u8  mode;             /* enum xlb_mode */
	__u8  flags;            /* XLB_SVC_F_* */
	__u16 seq_len;          /* rr/wrr: length of the round-robin sequence
				 * at the start of the table (<= table_size) */
	__u32 persist_s;        /* persistence in seconds; 0: off */
	__u8  persist_plen;     /* persistence: client prefix length kept
				 * (1-32 IPv4, 1-128 IPv6) */
	__u8  pad[3];
};

/* svc_by_id map value, indexed by service id: the service's services-map
 * entry, key and value, written by the daemon after the services map and
 * cleared before the entry leaves it. A packet of an existing flow finds
 * its service here (the flow holds the id) instead of in the services map,
 * when this entry's key is the packet's own VIP, protocol and exact port:
 * the services map would give that same service. */
struct xlb_svc_ent {
	struct xlb_svc_key key;
	struct xlb_svc svc;
};

/* struct xlb_svc flags: how a new flow picks its slot of the service's
 * table (none: Maglev, slot = 5-tuple hash % table_size). */
#define XLB_SVC_F_SH 0x01       /* sh: slot = hash of the client address only */
#define XLB_SVC_F_RR 0x02       /* rr/wrr: the table starts with a weighted
				 * round-robin sequence of seq_len slots; slot =
				 * a per-CPU position that wraps at seq_len */
#define XLB_SVC_F_LC 0x04       /* lc/wlc: the backend of the service's list
				 * (include/xlb_lcslots.h) with the least
				 * (active * 256 + inactive) / weight in
				 * backend_conns; the table is not used */
#define XLB_SVC_F_NO_UNREACH 0x08 /* no usable backend: drop new flows
				 * silently instead of answering ICMP port
				 * unreachable */
#define XLB_SVC_F_DSR_LEFT 0x10  /* lc/wlc dr/tun, set by xlbd when the
				 * service's scheduler left the dr/tun tables
				 * (and kept while it stays lc/wlc): flows it
				 * could not copy may have entries there, so a
				 * packet past the SYN that misses flows looks
				 * there (one random line: only where needed) */

/* lc/wlc: the backends a service's new flows may go to, as the daemon
 * writes them (svc_backends map, indexed by service id; packets read the
 * same lists from lc_slots, include/xlb_lcslots.h): the ones that are up
 * with weight > 0 (lc: weight 1 each). The data plane scans them all per
 * new flow, so a service has at most XLB_LC_MAX_BACKENDS. */
#define XLB_LC_MAX_BACKENDS 64

struct xlb_svc_backends {
	__u32 n;
	__u32 pad;
	__u32 id[XLB_LC_MAX_BACKENDS];
	__u32 weight[XLB_LC_MAX_BACKENDS];
};

/* backend_conns map value, indexed by backend id: live nat/fullnat flow
 * entries of the backend (and dr/tun entries of lc/wlc services), active (ESTABLISHED or UDP) and inactive (any
 * other state), as IPVS counts ActiveConn/InActConn. The data plane adds
 * and removes atomically as entries are created, change class and end; the
 * sweeper removes the entries it expires and corrects drift (entries the
 * LRU table evicted) through a shared mapping (the map is mmapable). */
struct xlb_conns {
	__s64 active;
	__s64 inactive;
};

/* svc_flows map value, indexed by service id: a nat/fullnat service's
 * share of the connection table (flows and nat_rev entries, fullnat ports),
 * so that a flood on one service cannot take another's. n: its live
 * entries, added to atomically by the data plane as entries come and go,
 * by the sweeper for those it expires, corrected by its passes (entries
 * the LRU table evicted); max: the most it may hold (the daemon's max_flows,
 * 0: no limit). A service's ring, ring_len slots of the embryos map from
 * ring_base, is a queue of the keys of its entries in order of creation:
 * a new entry's key goes in at head, and a new flow of a service at max
 * takes keys from tail on until one names an embryonic entry, which it ends
 * (IPVS's drop_entry, oldest first); with none within XLB_EMBRYO_PROBES
 * keys the flow is refused (drop_service_full). Positions count up for
 * ever; slot = position % ring_len. The map is mmapable: the daemon writes
 * max and the ring and reads the counts in place. */
struct xlb_svc_flows {
	__s64 n;
	__u64 max;
	__u64 refused;          /* new flows refused at max */
	__u64 evicted;          /* its embryonic entries evicted for a new flow */
	__u64 head;             /* the next position written */
	__u64 tail;             /* the oldest position not taken yet */
	__u32 ring_base;
	__u32 ring_len;         /* 0: no ring, nothing evicted at max */
};

/* Of flow_table_size, the part the daemon shares out as max_flows; the
 * rest is headroom, so the LRU table (whose per-CPU free lists evict
 * before it is full) never evicts a nat/fullnat entry to make room. */
#define XLB_SVC_FLOWS_SHARE(table) ((table) / 8 * 7)
/* Slots of the embryos map (flow keys), shared out between the services'
 * rings in proportion to their max_flows: a ring as long as the service's
 * share up to this many slots in all (10 MB). */
#define XLB_EMBRYO_SLOTS_MAX (1u << 18)
#define XLB_EMBRYO_SLOTS(table) (XLB_SVC_FLOWS_SHARE(table) < XLB_EMBRYO_SLOTS_MAX ? \
				 XLB_SVC_FLOWS_SHARE(table) : XLB_EMBRYO_SLOTS_MAX)
/* Ring keys (from the oldest on) a new flow at max_flows looks at. */
#define XLB_EMBRYO_PROBES 16

/* backends map value, indexed by backend id (0 .. XLB_MAX_BACKENDS-1).
 * Ids are global to the instance, not per service. */
struct xlb_backend {
	union xlb_addr addr;
	__u16 port_be;          /* 0: same port as the VIP (dr/tun ignore it) */
	__u8  family;
	__u8  flags;            /* XLB_BACKEND_F_* */
	__u32 svc_id;           /* owning service */
};

/* backend_l2 map value, indexed by backend id: the daemon's resolution of
 * the next hop toward the backend, so dr, tun and nat/fullnat packets to it
 * need no bpf_fib_lookup. Written when a backend is added, on every
 * neighbour refresh (every 5 s) and whenever the neighbour entry of nexthop
 * changes (rtnetlink events), and only when something changed. Used while
 * valid and addr is the destination of the packet; otherwise the data plane
 * does its own route lookup, as it does for nat replies. Unlike
 * bpf_fib_lookup it does not see policy routing by source or input
 * interface, and a change of the route or of an interface's MAC or MTU
 * reaches it with the next refresh. */
struct xlb_backend_l2 {
	__u8  dmac[6];          /* the next hop's MAC (its neighbour entry) */
	__u8  smac[6];          /* the egress interface's MAC */
	__u32 ifindex;          /* egress interface */
	__u32 mtu;              /* largest IP packet toward addr: the route's
				 * MTU (metric or learned path MTU), else the
				 * egress interface's */
	union xlb_addr addr;    /* the backend address it was resolved for */
	union xlb_addr nexthop; /* gateway, or addr itself (daemon's use) */
	__u8  family;
	__u8  valid;            /* 0: not resolved (no route, no neighbour MAC) */
	__u16 pad;
};

/* A next hop bpf_fib_lookup found without a resolved neighbour entry (the
 * key of neigh_miss; the value is unused). The data plane cannot send
 * ARP/ND, and for the next hops toward nat/fullnat clients nothing of the
 * balancer's own stack asks for them: xlbd drains the map each second and
 * has the kernel keep each one resolved (a managed neighbour entry, at most
 * XLB_CLIENT_NEIGHS_MAX besides the backends'). */
struct xlb_neigh_miss {
	__u32 ifindex;          /* egress interface of the route */
	__u8  family;           /* of nexthop: an IPv4 route may have an IPv6
				 * gateway */
	__u8  pad[3];
	union xlb_addr nexthop; /* the gateway, or the destination on-link */
};

#define XLB_NEIGH_MISS_MAX    256       /* entries of neigh_miss */
#define XLB_CLIENT_NEIGHS_MAX 256       /* next hops xlbd manages for it */

/* Set while the backend exists. A flow-table entry whose backend lost this
 * flag (backend deleted) is rescheduled; weight 0 (draining) keeps the flag
 * and is simply absent from the Maglev table. */
#define XLB_BACKEND_F_ACTIVE 0x01
/* Set while the backend takes new flows (in its service's table: not down,
 * weight > 0). A persistence entry (struct xlb_persist) is followed only to
 * a backend with this flag: a drained or down backend gets no new
 * connections from the clients pinned to it, they are scheduled afresh. */
#define XLB_BACKEND_F_SCHED  0x02

/* addr_filter map: three bitmaps of addresses (u64 words, key = word index)
 * that the data plane tests before any hash lookup, so traffic that is not
 * xlb's leaves after three array reads. A clear bit proves the address is not
 * in the set; a set bit (or a collision) only means "look it up". The bit
 * of an address is xlb_filter_bit() (xlb_hash.h).
 * XLB_FILTER_VIP, words [0, XLB_FILTER_WORDS): the VIP of every entry of
 * the services map whose flows live in dsr_flows (xlb_svc_dsr_table() 1;
 * set before a service is written, cleared after the last such service
 * on that bit is gone).
 * XLB_FILTER_BACKEND, the next XLB_FILTER_WORDS: every backend address ever
 * written to the backends map, the only sources a nat_rev key can have.
 * Never cleared: the reverse entries of a removed backend's flows outlive
 * it until they end.
 * XLB_FILTER_VIP_CT, the next XLB_FILTER_WORDS: as XLB_FILTER_VIP, for
 * the services whose flows live in the flows map (xlb_svc_dsr_table() 0):
 * so XLB_FILTER_VIP says where a VIP's packet may find its flow entry
 * (dsr_flows), and a packet to a VIP of dr/tun services only never looks
 * at the flows map. */
#define XLB_FILTER_BITS_LOG 15
#define XLB_FILTER_WORDS    ((1u << XLB_FILTER_BITS_LOG) / 64)
#define XLB_FILTER_VIP      0
#define XLB_FILTER_BACKEND  1
#define XLB_FILTER_VIP_CT   2
#define XLB_FILTER_SETS     3

/* persist map key (services with persistence, as IPVS templates): the
 * service and the client address masked to the service's persist_plen, so
 * every connection of a client (or of its network) finds one entry. A
 * port-0 service has one id for all ports: one backend across them. */
struct xlb_persist_key {
	union xlb_addr client;
	__u32 svc_id;
	__u8  family;
	__u8  pad[3];
};

/* persist map value: the client's backend and when its last new
 * connection was placed (CLOCK_MONOTONIC, coarse); the entry holds while
 * the next comes within the service's persist_s of it. */
struct xlb_persist {
	__u32 backend_id;
	__u32 pad;
	__u64 last_ns;
};

/* Longest persistence accepted (seconds), by the config, the CLI, the
 * control API and the importers alike. */
#define XLB_PERSIST_MAX_S 86400u

/* Connection (flow) table key: the client's 5-tuple as received. */
struct xlb_flow_key {
	union xlb_addr src;
	union xlb_addr dst;
	__u16 sport_be;
	__u16 dport_be;
	__u8  proto;
	__u8  family;
	__u16 pad;
};

/* An IPv4 dr/tun flow's 5-tuple as dsr_keys4 keeps it beside its slot
 * (include/xlb_dsrtab.h): a struct xlb_flow_key of family XLB_AF_INET
 * without the 24 bytes that are zero there. IPv6 flows keep the whole
 * struct xlb_flow_key (dsr_keys6). */
struct xlb_flow_key4 {
	__u32 src;              /* network byte order, as union xlb_addr's v4 */
	__u32 dst;
	__u16 sport_be;
	__u16 dport_be;
	__u8  proto;
	__u8  pad[3];           /* zero */
};

_Static_assert(sizeof(struct xlb_flow_key4) == 16, "dsr_flows4 keys are 16 bytes");

/* The dsr_flows4 key of IPv4 flow key k. */
static inline __attribute__((always_inline)) struct xlb_flow_key4
xlb_flow_key4_of(const struct xlb_flow_key *k)
{
	struct xlb_flow_key4 k4 = {
		.src = k->src.v4, .dst = k->dst.v4, .sport_be = k->sport_be,
		.dport_be = k->dport_be, .proto = k->proto,
	};

	return k4;
}

/* The struct xlb_flow_key of dsr_flows4 key k4. */
static inline __attribute__((always_inline)) struct xlb_flow_key
xlb_flow_key_of4(const struct xlb_flow_key4 *k4)
{
	struct xlb_flow_key k = {
		.src.v4 = k4->src, .dst.v4 = k4->dst, .sport_be = k4->sport_be,
		.dport_be = k4->dport_be, .proto = k4->proto,
		.family = XLB_AF_INET,
	};

	return k;
}

/* flows map value: a nat/fullnat flow, or a dr/tun flow of an lc/wlc
 * service (the others: struct xlb_dsr_flow). */
struct xlb_flow {
	__u32 backend_id;
	__u32 svc_id;
	__u64 last_seen_ns;     /* CLOCK_MONOTONIC (coarse: jiffies) of the last
				 * packet */
	/* nat and fullnat only (zero in dr/tun entries): the translation. */
	union xlb_addr raddr;   /* backend address the flow goes to */
	union xlb_addr laddr;   /* fullnat: local address (LIP) used as source */
	__u16 rport_be;         /* backend port */
	__u16 lport_be;         /* fullnat: local port */
	__u8  state;            /* enum xlb_ct_state */
	__u8  mode;             /* enum xlb_mode of the service at creation */
	__u8  flags;            /* XLB_FLOW_F_* */
	__u8  pad;
	__u32 hash;             /* nat/fullnat: the entry's tag
				 * (include/xlb_cttag.h); 0 in dr/tun */
	/* XLB_FLOW_F_SYNPROXY only: in XLB_CT_SYN_SENT the ISN the SYN proxy
	 * gave the client (its cookie); from the backend's SYN-ACK on, the
	 * backend's ISN minus that cookie (the sequence delta). */
	__u32 syn_seq;
};

/* A flow of a dr or tun service whose scheduler needs no connection
 * state (Maglev, sh, rr/wrr, with or without persistence), as a slot of
 * dsr_flows4 / dsr_flows6 holds it (include/xlb_dsrtab.h): what its later
 * packets need, the backend and the service (found by id, an array read).
 * No state: such an entry never
 * expires; a new flow of its bucket replaces the least recently seen.
 * dr/tun flows of lc/wlc services keep a struct xlb_flow in the flows
 * map: their state counts the backend's connections and expires by the
 * nat timeouts (conntrack sweeper). */
struct xlb_dsr_flow {
	__u16 backend_id;       /* < XLB_MAX_BACKENDS */
	__u16 svc_id;           /* < XLB_MAX_SERVICES */
};

_Static_assert(XLB_MAX_BACKENDS <= 65536 && XLB_MAX_SERVICES <= 65536,
	       "struct xlb_dsr_flow holds ids in 16 bits");

/* One element of a Maglev table's inner map (maglev_outer): the backend
 * ids of four slots, 16 bits each. An array map gives every element 8
 * bytes, so one 4-byte slot per element made a 65537-slot table 512 KB;
 * packed it is 128 KB, a quarter of the cache lines that a flood of random
 * tuples reads at random. Slot s is id[s % XLB_MAGLEV_PER_ELEM] of element
 * s / XLB_MAGLEV_PER_ELEM. */
#define XLB_MAGLEV_PER_ELEM 4
struct xlb_maglev_slots {
	__u16 id[XLB_MAGLEV_PER_ELEM];
};

_Static_assert(sizeof(struct xlb_maglev_slots) == 2 * XLB_MAGLEV_PER_ELEM,
	       "the BPF side reads an element as __u16[XLB_MAGLEV_PER_ELEM]");

/* Elements of the inner map of a table of size slots. */
#define XLB_MAGLEV_ELEMS(size) \
	(((size) + XLB_MAGLEV_PER_ELEM - 1) / XLB_MAGLEV_PER_ELEM)

/* Packs table[0..size-1] (backend ids) into out[0..XLB_MAGLEV_ELEMS(size)
 * - 1]; the last element's slots past size name no backend
 * (XLB_MAX_BACKENDS). Returns 0, or -1 when an id does not fit 16 bits
 * (out is then incomplete). For whoever fills the inner map. */
static inline int xlb_maglev_pack(const __u32 *table, __u32 size,
				  struct xlb_maglev_slots *out)
{
	__u32 i;

	for (i = 0; i < XLB_MAGLEV_ELEMS(size) * XLB_MAGLEV_PER_ELEM; i++) {
		__u32 id = i < size ? table[i] : XLB_MAX_BACKENDS;

		if (id > 0xffff)
			return -1;
		out[i / XLB_MAGLEV_PER_ELEM].id[i % XLB_MAGLEV_PER_ELEM] = (__u16)id;
	}
	return 0;
}

/* Whether the flows of service svc live in dsr_flows4/dsr_flows6 (struct
 * xlb_dsr_flow): dr and tun, but under lc/wlc. */
static inline __attribute__((always_inline)) int
xlb_svc_dsr_table(const struct xlb_svc *svc)
{
	return (svc->mode == XLB_MODE_DR || svc->mode == XLB_MODE_TUN) &&
	       !(svc->flags & XLB_SVC_F_LC);
}

/* Connection state of a flows-map entry; each has its own timeout
 * (struct xlb_globals). The dr/tun entries of lc/wlc services follow the
 * client's flags (xlb_ct_tcp_next_in) and expire like nat entries, so that
 * their backend's count is right; XLB_CT_NONE is a dr/tun flow older than
 * its service's lc/wlc (copied from dsr_flows when the scheduler changed):
 * kept, not counted, aged out by the LRU. */
enum xlb_ct_state {
	XLB_CT_NONE        = 0,
	XLB_CT_SYN_SENT    = 1,
	XLB_CT_ESTABLISHED = 2,
	XLB_CT_FIN_WAIT    = 3,
	XLB_CT_CLOSE       = 4,
	XLB_CT_TIME_WAIT   = 5,
	XLB_CT_UDP         = 6,
	XLB_CT_SYN_RECV    = 7,         /* the server's SYN-ACK seen, not the
					 * client's ACK yet */
	XLB_CT_MAX,
};

/* Which side sent the first FIN (so a FIN from the other side means both
 * halves are closed). */
#define XLB_FLOW_F_FIN_CLIENT 0x01
#define XLB_FLOW_F_FIN_SERVER 0x02
/* Created while the flood guard was engaged on its CPU: until the
 * connection is established (UDP: for its life) the entry lives
 * XLB_TO_GUARD_DEFAULT seconds at most, so a flood's entries and fullnat
 * port claims free themselves quickly. */
#define XLB_FLOW_F_GUARD      0x04
/* UDP: the backend replied; the client sent again after a reply (as
 * conntrack's ASSURED): no longer embryonic (xlb_ct_embryonic). */
#define XLB_FLOW_F_REPLIED    0x08
#define XLB_FLOW_F_ASSURED    0x10
/* Opened by the SYN proxy (a client's ACK carrying a valid SYN cookie):
 * the client's handshake was with the balancer, the backend's with the
 * balancer too, so the backend's sequence numbers differ from those the
 * client knows by xlb_flow.syn_seq (see bpf/nat.h, "SYN proxy"). */
#define XLB_FLOW_F_SYNPROXY   0x20

/* nat_rev map value, keyed by the tuple of replies as they arrive
 * (src = backend R:rp, dst = client C:cp for nat, LIP:lp for fullnat):
 * the key of the flow entry that holds the translation and the state. For
 * fullnat the key is also the claim on (LIP, lport) toward R:rp. */
struct xlb_nat_rev {
	struct xlb_flow_key fwd;
};

/* Instance-wide settings: a single-entry array map. The outer source of a
 * tun packet is tun_src_v4 with its low (32 - tun_src_v4_plen) bits replaced
 * by bits of a hash of the flow (xlb_dsr_outer_hash), so real servers' RSS
 * spreads flows. */
struct xlb_globals {
	__u32 tun_src_v4;       /* network order */
	__u32 tun_src_v4_plen;  /* prefix length, 0..32; 32 = fixed address */
	union xlb_addr tun_src_v6;
	__u32 tun_src_v6_plen;  /* prefix length, 64..128 */
	/* The SYN proxy's 128-bit SipHash key (random, written by xlbd at
	 * start, never all zero) for the SYN cookies of nat/fullnat TCP
	 * services (xlb_ct.h, bpf/nat.h). */
	__u32 syn_key[4];
	/* nat/fullnat connection timeouts in seconds; 0 = the default below. */
	__u32 to_syn_s;
	__u32 to_established_s;
	__u32 to_fin_s;
	__u32 to_close_s;
	__u32 to_time_wait_s;
	__u32 to_udp_s;
	/* fullnat local ports [lport_min, lport_max] (host order; 0 = default),
	 * on each of the n_lips_v4 / n_lips_v6 addresses of the lips map. */
	__u16 lport_min;
	__u16 lport_max;
	__u32 n_lips_v4;
	__u32 n_lips_v6;
	/* Flood guard: new flows per second per CPU above which that CPU's
	 * new dr/tun flows get no flow entry (the deterministic table keeps
	 * them on their backend) and its new nat/fullnat entries are
	 * short-lived (XLB_FLOW_F_GUARD). 0: no guard. */
	__u32 guard_rate;
	/* 1: while the flood guard is engaged on a CPU, a SYN to a nat/fullnat
	 * TCP service with no entry is answered with a SYN cookie and gets no
	 * entry (config `syn_proxy`); a client's ACK with a valid cookie opens
	 * the flow, guard engaged or not. 0: entries for every SYN. */
	__u32 syn_proxy;
	/* ICMP errors the data plane makes: nanoseconds of credit each costs
	 * (1e9 / the config's icmp_rate_limit); 0: no limit. */
	__u64 icmp_cost_ns;
};

/* svc_timeouts map value, indexed by service id: a nat/fullnat service's
 * own connection timeouts in seconds, each 0 = the instance's (struct
 * xlb_globals, then the default below). Flow entries carry svc_id, so the
 * expiry check of an entry reads the value of its service. */
struct xlb_svc_timeouts {
	__u32 to_syn_s;
	__u32 to_established_s;
	__u32 to_fin_s;
	__u32 to_close_s;
	__u32 to_time_wait_s;
	__u32 to_udp_s;
};

/* Defaults like IPVS (net/netfilter/ipvs/ip_vs_proto_tcp.c). */
#define XLB_TO_SYN_DEFAULT          120
#define XLB_TO_SYN_RECV_DEFAULT     60
#define XLB_TO_ESTABLISHED_DEFAULT  900
#define XLB_TO_FIN_DEFAULT          120
#define XLB_TO_CLOSE_DEFAULT        10
#define XLB_TO_TIME_WAIT_DEFAULT    120
#define XLB_TO_UDP_DEFAULT          300
/* The daemon's default guard_rate (Katran's default too). */
#define XLB_GUARD_RATE_DEFAULT      125000
/* Most a flow entry created under the flood guard lives unestablished. */
#define XLB_TO_GUARD_DEFAULT        3
/* Below the kernel's default ephemeral range (32768-60999), so the LB host's
 * own connections from a LIP do not collide with translated ones. */
#define XLB_LPORT_MIN_DEFAULT       1024
#define XLB_LPORT_MAX_DEFAULT       32767

/* lips map index: IPv4 LIPs at [0, n_lips_v4), IPv6 at
 * [XLB_MAX_LIPS, XLB_MAX_LIPS + n_lips_v6). */
#define XLB_LIP_V6_BASE XLB_MAX_LIPS

/* Per-service and per-backend counters (per-CPU array values). */
struct xlb_counter {
	__u64 packets;          /* client -> backend */
	__u64 bytes;
	__u64 new_flows;
	__u64 packets_out;      /* backend -> client, where the balancer sees */
	__u64 bytes_out;        /* replies (nat, fullnat) */
};

/* Why a packet was passed to the stack or dropped, or how it was forwarded.
 * X(id, name): the name is what `xlb list --stats` and metrics print. */
#define XLB_REASONS(X)                                   \
	X(XLB_R_PASS_NOT_IP,        "pass_not_ip")           \
	X(XLB_R_PASS_NOT_VIP,       "pass_not_vip")          \
	X(XLB_R_PASS_PROTO,         "pass_unhandled_proto")  \
	X(XLB_R_PASS_FRAGMENT,      "pass_fragment")         \
	X(XLB_R_PASS_IPV6_EXT,      "pass_ipv6_ext_header")  \
	X(XLB_R_PASS_ICMP_NOT_OURS, "pass_icmp_not_ours")    \
	X(XLB_R_DROP_TRUNCATED,     "drop_truncated")        \
	X(XLB_R_DROP_BAD_HEADER,    "drop_bad_header")       \
	X(XLB_R_DROP_NO_BACKEND,    "drop_no_backend")       \
	X(XLB_R_DROP_MODE,          "drop_unsupported_mode") \
	X(XLB_R_DROP_FIB,           "drop_no_route")         \
	X(XLB_R_DROP_NO_NEIGH,      "drop_no_neighbour")     \
	X(XLB_R_DROP_ADJUST,        "drop_adjust_failed")    \
	X(XLB_R_DROP_TTL,           "drop_ttl_exceeded")     \
	X(XLB_R_ICMP_TOO_BIG_SENT,  "icmp_too_big_sent")     \
	X(XLB_R_TX,                 "fwd_tx")                \
	X(XLB_R_REDIRECT,           "fwd_redirect")          \
	X(XLB_R_ICMP_FORWARDED,     "fwd_icmp_error")          \
	X(XLB_R_DROP_TOO_BIG,       "drop_too_big")          \
	X(XLB_R_DROP_NO_LPORT,      "drop_no_local_port")    \
	X(XLB_R_DROP_NO_LIP,        "drop_no_local_address") \
	X(XLB_R_PASS_NAT_STALE,     "pass_nat_stale")        \
	X(XLB_R_DROP_CT_FULL,       "drop_conntrack_full")   \
	X(XLB_R_PASS_OTHER_MAC,     "pass_other_mac")        \
	X(XLB_R_DROP_FRAG_UNKNOWN,  "drop_fragment_unknown") \
	X(XLB_R_DROP_NOT_SYN,       "drop_tcp_not_syn")      \
	X(XLB_R_DROP_ICMP_NO_FLOW,  "drop_icmp_unknown_flow") \
	X(XLB_R_ICMP_UNREACH_SENT,  "icmp_unreachable_sent") \
	X(XLB_R_TX_VLAN_KEPT,       "fwd_vlan_same_port")    \
	X(XLB_R_FWD_FRAGMENT,       "fwd_fragment")          \
	X(XLB_R_DROP_ICMP_RATE,     "drop_icmp_rate_limited") \
	X(XLB_R_DROP_SVC_FULL,      "drop_service_full")     \
	X(XLB_R_DROP_SYN_NOT_PROXIED, "drop_syn_not_proxied")

#define XLB_REASON_ENUM(id, name) id,
enum xlb_reason { XLB_REASONS(XLB_REASON_ENUM) XLB_R_MAX };
#undef XLB_REASON_ENUM

/* frags map key: a fragmented datagram, as IPv4 (and the IPv6 fragment
 * header) identify one. */
struct xlb_frag_key {
	union xlb_addr src;
	union xlb_addr dst;
	__u32 id;               /* IPv4 identification, or IPv6's 32-bit one */
	__u8  proto;
	__u8  family;
	__u16 pad;
};

/* frags map value: the ports the first fragment carried, so the later
 * fragments (which carry none) follow its flow; dead after
 * XLB_FRAG_TIMEOUT_S, the kernel's own reassembly timeout. */
struct xlb_frag {
	__u16 sport_be;
	__u16 dport_be;
	__u32 pad;
	__u64 seen_ns;
};

#define XLB_FRAG_TABLE_SIZE 16384
#define XLB_FRAG_TIMEOUT_S  30

/* if_macs maps: ifindex -> MAC of an interface the program is attached
 * to (written by the daemon at attach, rewritten when the MAC changes), so
 * unicast frames addressed to another host are left alone. No entry for
 * the ingress interface: no check. An ifindex below XLB_IF_MAC_DIRECT has
 * its entry in the array if_mac_direct at its own index (valid 0: no
 * entry), which every packet reads for the price of an array read where
 * a hash lookup costs ~25 ns; a larger one in the hash if_macs, at most
 * XLB_IF_MACS of them. */
#define XLB_IF_MACS       1024
#define XLB_IF_MAC_DIRECT 4096

struct xlb_if_mac {
	__u8  mac[6];
	__u8  valid;            /* if_mac_direct: the entry is set */
	__u8  pad;
};

/* icmp_bucket map value (per CPU, one entry): the token bucket that limits
 * the ICMP errors the data plane generates (port unreachable, frag needed
 * with DF clear) to icmp_rate_limit per second per CPU with bursts of
 * XLB_ICMP_BURST, as the kernel's icmp_msgs_per_sec / icmp_msgs_burst do:
 * spoofed sources must not turn the balancer into a reflector. credit_ns
 * grows with the time since last_ns, up to XLB_ICMP_BURST messages' worth;
 * each message costs xlb_globals.icmp_cost_ns. */
#define XLB_ICMP_RATE_DEFAULT 1000
#define XLB_ICMP_BURST        50

struct xlb_icmp_bucket {
	__u64 last_ns;
	__u64 credit_ns;
};

/* guard_win map value (per CPU, one entry): the flood guard's window on
 * that CPU, n new flows since start_ns, in the guard's clock
 * (xlb_guard_clock, bpf/select.h): jiffies when the program knows HZ, ns
 * otherwise. The field keeps its name so that the layout, and the ABI
 * hash, stay: an xlbd of either clock adopts the other's maps, and reads
 * the other's start as a window to restart (bpf/select.h). */
struct xlb_guard_win {
	__u64 start_ns;
	__u64 n;
};

/* What the flood guard did (guard_stats, per CPU; xlb_globals.guard_rate),
 * counted apart from the reasons: each packet has exactly one reason, and
 * a guarded packet is forwarded as usual. X(id, name) as for reasons. */
#define XLB_GUARD_EVENTS(X)                                       \
	X(XLB_G_ENGAGED,   "engaged")           /* a CPU's window went over the rate */ \
	X(XLB_G_NO_ENTRY,  "flow_not_stored")   /* dr/tun new flow, no entry */          \
	X(XLB_G_SHORT,     "flow_short_lived")  /* nat/fullnat entry, short timeout */ \
	X(XLB_G_NO_PIN,    "pin_not_stored")    /* persistence: new client not pinned */ \
	X(XLB_G_COOKIE_SENT, "syn_cookie_sent") /* SYN answered by the SYN proxy */       \
	X(XLB_G_COOKIE_OK,   "syn_cookie_ok")   /* ACK with a valid cookie: flow opened */ \
	X(XLB_G_COOKIE_BAD,  "syn_cookie_bad")  /* ACK without entry nor valid cookie */

#define XLB_GUARD_ENUM(id, name) id,
enum xlb_guard_event { XLB_GUARD_EVENTS(XLB_GUARD_ENUM) XLB_G_MAX };
#undef XLB_GUARD_ENUM

/* Pinned map names (under /sys/fs/bpf/xlb/<instance>/). */
#define XLB_PIN_ROOT "/sys/fs/bpf/xlb"

#endif /* XLB_ABI_H */
