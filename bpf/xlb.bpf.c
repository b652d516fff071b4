// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The xlb XDP entry program: dr, tun, nat and fullnat forwarding of VIP
 * traffic, and the replies of nat/fullnat flows. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "filter.h"
#include "frag.h"
#include "fwd.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "select.h"
#include "xlb_hash.h"

/* dr and tun: pick the backend (flow entry f, else Maglev) and send. Kept
 * out of line so each mode's stack frame stands alone under the 512-byte
 * limit. */
static __attribute__((noinline)) int xlb_fwd_dsr(struct xdp_md *ctx,
						 struct xlb_pkt *p,
						 const struct xlb_svc *svc,
						 struct xlb_flow *f)
{
	struct xlb_backend *be;
	__u32 bid = 0;
	int new_flow;

	/* An ICMP error about no flow of ours picks no backend where picking
	 * moves the scheduler (rr) or picks at random (lc): dropped, as IPVS
	 * does. Maglev and sh give the flow's own backend, and change nothing. */
	if (p->icmp_err && !f && (svc->flags & (XLB_SVC_F_RR | XLB_SVC_F_LC)))
		return xlb_done(XLB_R_DROP_ICMP_NO_FLOW, XDP_DROP);
	/* lc/wlc count live entries: theirs follow the client's TCP flags
	 * (an ICMP error's l4 header is not the flow's). */
	if ((svc->flags & XLB_SVC_F_LC) && !p->icmp_err)
		f = xlb_dsr_conns(p, svc, f, xlb_tcp_flags(ctx, p));
	/* A new connection reusing the tuple of a flow whose backend takes no
	 * new flows (down, drained, removed) is a new flow; the flow's other
	 * packets stay where they were. */
	if (f && !xlb_backend_sched(f->backend_id) &&
	    (xlb_tcp_flags(ctx, p) & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN)
		f = NULL;
	be = xlb_select(p, svc, f, &bid, &new_flow);
	if (!be)
		return xlb_no_backend(ctx, p, svc);

	xlb_count(&svc_stats, svc->id, p->frame_len, new_flow);
	xlb_count(&backend_stats, bid, p->frame_len, new_flow);

	if (svc->mode == XLB_MODE_DR)
		return xlb_fwd_dr(ctx, p, be, bid);
	return xlb_fwd_tun(ctx, p, be, bid);
}

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	const struct xlb_svc *svc;
	struct xlb_pkt p = {};
	struct xlb_nat_rev *rev;
	struct xlb_flow *f;
	int r, syn;

	if (!xlb_frame_for_us(ctx))
		return xlb_done(XLB_R_PASS_OTHER_MAC, XDP_PASS);
	r = xlb_parse(ctx, &p);
	if (r != XLB_PARSE_OK)
		return xlb_done(r, r >= XLB_R_DROP_TRUNCATED ? XDP_DROP : XDP_PASS);
	if (p.frag) {
		r = xlb_frag_follow(&p);
		if (r != XLB_PARSE_OK)
			return xlb_done(r, r == XLB_R_PASS_FRAGMENT ? XDP_PASS :
								     XDP_DROP);
	}

	/* Replies of nat/fullnat flows (and ICMP errors about the packets we
	 * sent to backends) carry the tuple of a reverse entry, whose source
	 * is always a backend's address. */
	if (xlb_filter_may_have(XLB_FILTER_BACKEND, &p.key.src)) {
		rev = bpf_map_lookup_elem(&nat_rev, &p.key);
		if (rev)
			return xlb_nat_reply(ctx, &p, rev);
	}

	if (!xlb_filter_may_have(XLB_FILTER_VIP, &p.key.dst))
		return xlb_done(p.icmp_err ? XLB_R_PASS_ICMP_NOT_OURS :
					     XLB_R_PASS_NOT_VIP, XDP_PASS);

	/* The flow table first: a packet of an existing flow finds its
	 * service by the flow's id (an array read) rather than by a second
	 * hash lookup, when that gives the same answer. A SYN opens a new
	 * connection: the service first, and the flow table only where the
	 * scheduler needs it (a lookup that would almost always miss). */
	syn = !p.icmp_err &&
	      (xlb_tcp_flags(ctx, &p) & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	f = syn ? NULL : bpf_map_lookup_elem(&flows, &p.key);
	svc = f ? xlb_svc_of_flow(&p, f) : NULL;
	if (!svc)
		svc = xlb_svc_lookup(&p);
	if (!svc)
		return xlb_done(p.icmp_err ? XLB_R_PASS_ICMP_NOT_OURS :
					     XLB_R_PASS_NOT_VIP, XDP_PASS);
	/* proxy services live in the daemon's sockets: the stack takes them. */
	if (svc->mode == XLB_MODE_PROXY || svc->mode == XLB_MODE_NONE)
		return xlb_done(XLB_R_PASS_NOT_VIP, XDP_PASS);
	if (syn && !xlb_sched_stateless(svc))
		f = bpf_map_lookup_elem(&flows, &p.key);

	if (svc->mode == XLB_MODE_NAT || svc->mode == XLB_MODE_FULLNAT)
		return p.icmp_err ? xlb_nat_icmp_fwd(ctx, &p, svc) :
				    xlb_fwd_nat(ctx, &p, svc, f);
	if (svc->mode != XLB_MODE_DR && svc->mode != XLB_MODE_TUN)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	return xlb_fwd_dsr(ctx, &p, svc, f);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
