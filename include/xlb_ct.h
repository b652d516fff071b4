/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Connection-tracking rules shared by the XDP program and userspace (the
 * sweeper and the tests): per-state timeouts and the TCP state machine of
 * nat/fullnat flow entries, so both sides agree on when an entry is dead. */
#ifndef XLB_CT_H
#define XLB_CT_H

#include <linux/types.h>

#include "xlb_abi.h"
#include "xlb_hash.h"
#include "xlb_siphash.h"

/* BPF objects and userspace both include this file: no libc, no helpers. */
#define XLB_CT_INLINE static inline __attribute__((always_inline))

#define XLB_TCP_FIN 0x01
#define XLB_TCP_SYN 0x02
#define XLB_TCP_RST 0x04
#define XLB_TCP_ACK 0x10

#define XLB_NS_PER_S 1000000000ull

/* One timeout in seconds: the service's (t, may be NULL), else the
 * instance's, else the default. */
XLB_CT_INLINE __u32 xlb_ct_pick(__u32 svc, __u32 inst, __u32 def)
{
	return svc ? svc : inst ? inst : def;
}

/* Timeout in ns of an entry in state under the instance's timeouts g and
 * its service's t (NULL: none of its own); XLB_CT_NONE never expires
 * (dr/tun entries leave the LRU table when it needs room). */
XLB_CT_INLINE __u64 xlb_ct_timeout_ns(const struct xlb_globals *g,
				      const struct xlb_svc_timeouts *t,
				      __u8 state)
{
	__u32 s;

/* Field f of both structs (named once, so the two cannot disagree). */
#define XLB_CT_TO(f, def) xlb_ct_pick(t ? t->f : 0, g->f, def)
	switch (state) {
	case XLB_CT_SYN_SENT:
		s = XLB_CT_TO(to_syn_s, XLB_TO_SYN_DEFAULT);
		break;
	case XLB_CT_SYN_RECV:
		/* tcp_syn, when set, covers both halves of the handshake. */
		s = XLB_CT_TO(to_syn_s, XLB_TO_SYN_RECV_DEFAULT);
		break;
	case XLB_CT_ESTABLISHED:
		s = XLB_CT_TO(to_established_s, XLB_TO_ESTABLISHED_DEFAULT);
		break;
	case XLB_CT_FIN_WAIT:
		s = XLB_CT_TO(to_fin_s, XLB_TO_FIN_DEFAULT);
		break;
	case XLB_CT_CLOSE:
		s = XLB_CT_TO(to_close_s, XLB_TO_CLOSE_DEFAULT);
		break;
	case XLB_CT_TIME_WAIT:
		s = XLB_CT_TO(to_time_wait_s, XLB_TO_TIME_WAIT_DEFAULT);
		break;
	case XLB_CT_UDP:
		s = XLB_CT_TO(to_udp_s, XLB_TO_UDP_DEFAULT);
		break;
	default:
		return ~0ull;
	}
#undef XLB_CT_TO
	return (__u64)s * XLB_NS_PER_S;
}

/* Whether an entry in state counts as an active connection of its backend
 * (lc/wlc, xlb list): an established TCP connection or a UDP flow, as the
 * sweeper always counted them; everything else is inactive. */
XLB_CT_INLINE int xlb_ct_is_active(__u8 state)
{
	return state == XLB_CT_ESTABLISHED || state == XLB_CT_UDP;
}

/* Timeout in ns of the entry f itself: its state's, at most
 * XLB_TO_GUARD_DEFAULT for an entry made under the flood guard and never
 * established. */
XLB_CT_INLINE __u64 xlb_ct_entry_timeout_ns(const struct xlb_globals *g,
					    const struct xlb_svc_timeouts *t,
					    const struct xlb_flow *f)
{
	__u64 to = xlb_ct_timeout_ns(g, t, f->state);

	if ((f->flags & XLB_FLOW_F_GUARD) && to > XLB_TO_GUARD_DEFAULT * XLB_NS_PER_S)
		to = XLB_TO_GUARD_DEFAULT * XLB_NS_PER_S;
	return to;
}

/* An expired entry is treated as absent. A last_seen in the future (another
 * CPU refreshed it after this one read the clock) is not expired. t: the
 * timeouts of f's service (svc_timeouts[f->svc_id]), or NULL. */
XLB_CT_INLINE int xlb_ct_expired(const struct xlb_globals *g,
				 const struct xlb_svc_timeouts *t,
				 const struct xlb_flow *f, __u64 now)
{
	__s64 age = (__s64)(now - f->last_seen_ns);

	if (f->state == XLB_CT_NONE || age <= 0)
		return 0;
	return (__u64)age > xlb_ct_entry_timeout_ns(g, t, f);
}

/* Is f embryonic: a TCP handshake not completed, or a UDP flow whose client
 * never sent again after a reply? Such entries are what a spoofed flood
 * creates; under pressure they go first (IPVS's drop_entry). */
XLB_CT_INLINE int xlb_ct_embryonic(const struct xlb_flow *f)
{
	return f->state == XLB_CT_SYN_SENT || f->state == XLB_CT_SYN_RECV ||
	       (f->state == XLB_CT_UDP && !(f->flags & XLB_FLOW_F_ASSURED));
}

/* The flags of a UDP entry after a packet from the server or the client. */
XLB_CT_INLINE __u8 xlb_ct_udp_flags(__u8 fflags, int from_server)
{
	if (from_server)
		return fflags | XLB_FLOW_F_REPLIED;
	return fflags & XLB_FLOW_F_REPLIED ? fflags | XLB_FLOW_F_ASSURED : fflags;
}

/* State of a new entry: UDP, or a TCP connection opened by a SYN (the
 * data plane creates TCP entries for nothing else). */
XLB_CT_INLINE __u8 xlb_ct_initial(__u8 proto, __u8 *fflags)
{
	*fflags = 0;
	return proto == 6 ? XLB_CT_SYN_SENT : XLB_CT_UDP;
}

/* The state after a TCP segment with flags went through an existing entry
 * in state/fflags, from the server (reply) or the client. IPVS's table,
 * simplified: RST closes; the server's SYN-ACK makes SYN_RECV and only the
 * client's ACK after it ESTABLISHED (a spoofed SYN's entry never gets
 * there, and keeps its short timeout); the first FIN starts the close and
 * a FIN from the other side finishes it. */
XLB_CT_INLINE __u8 xlb_ct_tcp_next(__u8 state, __u8 *fflags, __u8 tcp_flags,
				   int from_server)
{
	if (tcp_flags & XLB_TCP_RST)
		return XLB_CT_CLOSE;
	if (tcp_flags & XLB_TCP_FIN) {
		if (state == XLB_CT_CLOSE || state == XLB_CT_TIME_WAIT)
			return state;
		*fflags |= from_server ? XLB_FLOW_F_FIN_SERVER : XLB_FLOW_F_FIN_CLIENT;
		if ((*fflags & (XLB_FLOW_F_FIN_SERVER | XLB_FLOW_F_FIN_CLIENT)) ==
		    (XLB_FLOW_F_FIN_SERVER | XLB_FLOW_F_FIN_CLIENT))
			return XLB_CT_TIME_WAIT;
		return XLB_CT_FIN_WAIT;
	}
	if (state == XLB_CT_SYN_SENT && from_server &&
	    (tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == (XLB_TCP_SYN | XLB_TCP_ACK))
		return XLB_CT_SYN_RECV;
	if (state == XLB_CT_SYN_RECV && !from_server &&
	    (tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_ACK)
		return XLB_CT_ESTABLISHED;
	return state;
}

/* The same for a dr/tun entry of an lc/wlc service, which sees the
 * client's segments only (IPVS's input-only table): the client's ACK after
 * its SYN establishes; its FIN starts a close that only the timeout ends. */
XLB_CT_INLINE __u8 xlb_ct_tcp_next_in(__u8 state, __u8 *fflags, __u8 tcp_flags)
{
	if (state == XLB_CT_SYN_SENT &&
	    (tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK | XLB_TCP_FIN | XLB_TCP_RST)) ==
	    XLB_TCP_ACK)
		return XLB_CT_ESTABLISHED;
	return xlb_ct_tcp_next(state, fflags, tcp_flags, 0);
}

/* The nat_rev key of a nat/fullnat flow entry f created for client key k:
 * the tuple its replies carry. */
XLB_CT_INLINE void xlb_ct_rev_key(const struct xlb_flow_key *k,
				  const struct xlb_flow *f,
				  struct xlb_flow_key *r)
{
	r->src = f->raddr;
	r->sport_be = f->rport_be;
	if (f->mode == XLB_MODE_FULLNAT) {
		r->dst = f->laddr;
		r->dport_be = f->lport_be;
	} else {
		r->dst = k->src;
		r->dport_be = k->sport_be;
	}
	r->proto = k->proto;
	r->family = k->family;
	r->pad = 0;
}

/* ---- SYN cookies (the SYN proxy of nat/fullnat TCP services, bpf/nat.h) ----
 *
 * The balancer's ISN toward a client whose SYN it answered itself:
 *
 *   cookie = (MAC & ~15) | (t & 1) << 3 | m
 *
 * MAC the low 32 bits of SipHash-2-4 (xlb_siphash.h) under the instance's
 * random 128-bit syn_key (xlb_globals) of the 48-byte message
 *
 *   client addr (16) | VIP (16) | client port, VIP port (2 + 2, network
 *   order) | client ISN (4) | t (4) | family (1) | 0 0 0
 *
 * (addresses as in union xlb_addr, IPv4 followed by 12 zero bytes; the
 * ISN, t and family as the little-endian halves of 64-bit words, which on
 * a little-endian host are exactly those bytes: xlb_cookie_mac). t is the
 * data plane's clock in units of 2^36 ns (about 69 s), m the index of the
 * MSS offered (xlb_cookie_mss). The cookie carries t's low bit, so the
 * check of an ACK computes one MAC: under the current t when the bit
 * matches it, else under t - 1. A cookie is good from the tick it was
 * made in to the end of the next (69 to 137 s), and a forger who knows
 * the tuple, the ISN, the tick and the MSS index still has 28 bits of MAC
 * to guess (one chance in 2^28 per ACK). A keyed PRF with a 128-bit key
 * (what Linux's SYN cookies use): cookies seen from the forger's own
 * connections do not reveal the key. */
#define XLB_COOKIE_T_SHIFT 36

/* The MSS offered for cookie index m (0..7). */
XLB_CT_INLINE __u32 xlb_cookie_mss(__u32 m)
{
	switch (m & 7) {
	case 0: return 536;
	case 1: return 1200;
	case 2: return 1220;
	case 3: return 1280;
	case 4: return 1360;
	case 5: return 1400;
	case 6: return 1440;
	default: return 1460;
	}
}

/* The index of the largest table MSS not above the client's mss (0: 536,
 * the smallest, when even that is above it). */
XLB_CT_INLINE __u32 xlb_cookie_mss_idx(__u32 mss)
{
	__u32 m = 7;

	while (m && xlb_cookie_mss(m) > mss)
		m--;
	return m;
}

/* The 64-bit MAC of a cookie: SipHash-2-4 under key (four words, see
 * xlb_sip_init_key) of client flow k (src = client, dst = VIP), the
 * client's ISN isn (host order) and time counter t, as laid out above. */
XLB_CT_INLINE __u64 xlb_cookie_mac(const struct xlb_flow_key *k, __u32 isn,
				   __u32 t, const __u32 *key)
{
	struct xlb_sip s;

	xlb_sip_init_key(&s, key);
	xlb_sip_word(&s, (__u64)k->src.v6[0] | (__u64)k->src.v6[1] << 32);
	xlb_sip_word(&s, (__u64)k->src.v6[2] | (__u64)k->src.v6[3] << 32);
	xlb_sip_word(&s, (__u64)k->dst.v6[0] | (__u64)k->dst.v6[1] << 32);
	xlb_sip_word(&s, (__u64)k->dst.v6[2] | (__u64)k->dst.v6[3] << 32);
	xlb_sip_word(&s, (__u64)(((__u32)k->dport_be << 16) | k->sport_be) |
			 (__u64)isn << 32);
	xlb_sip_word(&s, (__u64)t | (__u64)k->family << 32);
	return xlb_sip_final(&s, 48ull << 56);
}

/* The cookie of client flow k whose SYN had ISN isn (host order), under
 * time counter t, key (four words), MSS index m. */
XLB_CT_INLINE __u32 xlb_cookie(const struct xlb_flow_key *k, __u32 isn,
			       __u32 t, const __u32 *key, __u32 m)
{
	return ((__u32)xlb_cookie_mac(k, isn, t, key) & ~15u) | (t & 1) << 3 |
	       (m & 7);
}

/* The time counter cookie c was made under, for a check at time counter
 * now: now when c's bit 3 is now's low bit, else now - 1. */
XLB_CT_INLINE __u32 xlb_cookie_t(__u32 c, __u32 now)
{
	return now - ((now ^ (c >> 3)) & 1);
}

#endif /* XLB_CT_H */
