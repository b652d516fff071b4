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

/* dr and tun: pick the backend and send. dv is p's dsr_flows4/6 entry as
 * xlb_dsr_lookup returns it (0: none), f its flows entry (an lc/wlc
 * service's, whose state counts the backend's connections, read from a
 * checked copy); either may be
 * none, and the one of the service's own
 * table comes first (the other is a flow older than the service's
 * scheduler). Kept out of line so each mode's stack frame stands alone
 * under the 512-byte limit; a global function, so the verifier checks it
 * once rather than once per caller's state (its arguments may be NULL as
 * far as it knows). */
__attribute__((noinline)) int xlb_fwd_dsr(struct xdp_md *ctx, struct xlb_pkt *p,
					  const struct xlb_svc *svc,
					  __u32 dv, struct xlb_flow *f)
{
	const struct xlb_dsr_flow *d = NULL;
	struct xlb_nat_scratch *s;
	struct xlb_flow *c = NULL;
	struct xlb_dsr_flow v;
	struct xlb_backend *be;
	__u32 bid = 0, zero = 0;
	int new_flow;

	if (!p || !svc)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	/* Every read of f is of its copy c (in the nat path's scratch),
	 * checked to be p's (xlb_ct_copy): an element that holds another
	 * flow's entry by now (p's was evicted or deleted on another CPU,
	 * and its element given to a new flow at once) is a miss, never
	 * the other flow's backend. */
	if (f) {
		s = bpf_map_lookup_elem(&nat_scratch, &zero);
		if (!s)
			return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
		c = &s->nf;
		if (!xlb_ct_copy(&p->key, f, c))
			f = NULL;
	}

	/* An ICMP error about no flow of ours picks no backend where picking
	 * moves the scheduler (rr) or picks at random (lc): dropped, as IPVS
	 * does. Maglev and sh give the flow's own backend, and change nothing. */
	if (p->icmp_err && !d && !f && (svc->flags & (XLB_SVC_F_RR | XLB_SVC_F_LC)))
		return xlb_done(XLB_R_DROP_ICMP_NO_FLOW, XDP_DROP);
	/* lc/wlc count live entries: theirs follow the client's TCP flags
	 * (an ICMP error's l4 header is not the flow's). */
	if ((svc->flags & XLB_SVC_F_LC) && !p->icmp_err)
		f = xlb_dsr_conns(p, svc, f, c, p->tcp_flags);
	if (dv) {
		v.backend_id = xlb_dsr_id_backend(dv);
		v.svc_id = xlb_dsr_id_svc(dv);
		d = &v;
	}
	if (f && c && (!d || (svc->flags & XLB_SVC_F_LC))) {
		v.backend_id = c->backend_id;
		v.svc_id = c->svc_id;
		d = &v;
	}
	/* A new connection reusing the tuple of a flow whose backend takes no
	 * new flows (down, drained, removed) is a new flow; the flow's other
	 * packets stay where they were. */
	if (d && p->syn && !xlb_backend_sched(d->backend_id))
		d = NULL;
	be = xlb_select(p, svc, d, &bid, &new_flow);
	if (!be && new_flow < 0)
		return xlb_done(XLB_R_DROP_SVC_FULL, XDP_DROP);
	if (!be)
		return xlb_no_backend(ctx, p, svc);

	xlb_count(&svc_stats, svc->id, p->frame_len, new_flow);
	xlb_count(&backend_stats, bid, p->frame_len, new_flow);

	if (svc->mode == XLB_MODE_DR)
		return xlb_fwd_dr(ctx, p, be, bid);
	return xlb_fwd_tun(ctx, p, be, bid, xlb_pkt_outer_hash(p));
}

/* What every frame goes through before any table: the MAC check, the
 * parser, a fragment's ports. XLB_PARSE_OK: p holds a tuple worth looking
 * up; otherwise the verdict, counted. */
static __always_inline int xlb_admit(struct xdp_md *ctx, struct xlb_pkt *p)
{
	int r;

	/* ctx->ingress_ifindex is three dependent loads (rxq, dev, ifindex):
	 * read once, for the MAC check and xlb_send's verdict. */
	p->ifindex = ctx->ingress_ifindex;
	if (!xlb_frame_for_us(ctx, p->ifindex))
		return xlb_done(XLB_R_PASS_OTHER_MAC, XDP_PASS);
	r = xlb_parse(ctx, p);
	if (r != XLB_PARSE_OK)
		return xlb_done(r, r >= XLB_R_DROP_TRUNCATED ? XDP_DROP : XDP_PASS);
	if (p->frag) {
		r = xlb_frag_follow(p);
		if (r != XLB_PARSE_OK)
			return xlb_done(r, r == XLB_R_PASS_FRAGMENT ? XDP_PASS :
								     XDP_DROP);
	}
	return XLB_PARSE_OK;
}

/* p is for no service of ours: the stack takes it. */
static __always_inline int xlb_not_ours(const struct xlb_pkt *p)
{
	return xlb_done(p->icmp_err ? XLB_R_PASS_ICMP_NOT_OURS :
				      XLB_R_PASS_NOT_VIP, XDP_PASS);
}

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	const struct xlb_svc *svc = NULL;
	struct xlb_flow *f = NULL;
	__u32 d = 0;
	struct xlb_pkt p = {};
	struct xlb_nat_rev *rev;
	int r, vip_dsr;

	r = xlb_admit(ctx, &p);
	if (r != XLB_PARSE_OK)
		return r;

	/* A packet of an existing dr/tun flow needs its entry in dsr_flows
	 * and its service, by the entry's id (an array read rather than a
	 * hash lookup, when that gives the same service), and nothing else.
	 * A SYN opens a new connection: the service first, and the flow
	 * table only where the scheduler needs it (a lookup that would
	 * almost always miss). */
	p.syn = !p.icmp_err &&
		(p.tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	vip_dsr = xlb_filter_may_have(XLB_FILTER_VIP, &p.key.dst);
	if (vip_dsr && !p.syn) {
		d = xlb_dsr_lookup(&p);
		svc = d ? xlb_svc_of_id(&p, xlb_dsr_id_svc(d)) : NULL;
		if (svc && xlb_svc_dsr_table(svc))
			return xlb_fwd_dsr(ctx, &p, svc, d, NULL);
	}

	/* Replies of nat/fullnat flows (and ICMP errors about the packets we
	 * sent to backends) carry the tuple of a reverse entry, whose source
	 * is always a backend's address. */
	if (xlb_filter_may_have(XLB_FILTER_BACKEND, &p.key.src)) {
		rev = bpf_map_lookup_elem(&nat_rev, &p.key);
		if (rev)
			return xlb_nat_reply(ctx, &p, rev);
	}

	/* The flows map the same way, for nat/fullnat and lc/wlc VIPs. */
	if (xlb_filter_may_have(XLB_FILTER_VIP_CT, &p.key.dst)) {
		f = p.syn ? NULL : bpf_map_lookup_elem(&flows, &p.key);
		if (!svc && f)
			svc = xlb_svc_of_id(&p, f->svc_id);
	} else if (!vip_dsr) {
		return xlb_not_ours(&p);
	}
	if (!svc)
		svc = xlb_svc_lookup(&p);
	if (!svc)
		return xlb_not_ours(&p);
	/* proxy services live in the daemon's sockets: the stack takes them. */
	if (svc->mode == XLB_MODE_PROXY || svc->mode == XLB_MODE_NONE)
		return xlb_done(XLB_R_PASS_NOT_VIP, XDP_PASS);
	if (p.syn && !xlb_sched_stateless(svc) && xlb_svc_dsr_table(svc))
		d = xlb_dsr_lookup(&p);
	else if (p.syn && !xlb_sched_stateless(svc))
		f = bpf_map_lookup_elem(&flows, &p.key);

	if (svc->mode == XLB_MODE_NAT || svc->mode == XLB_MODE_FULLNAT)
		return p.icmp_err ? xlb_nat_icmp_fwd(ctx, &p, svc) :
				    xlb_fwd_nat(ctx, &p, svc, f);
	if (svc->mode != XLB_MODE_DR && svc->mode != XLB_MODE_TUN)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	/* A packet past the SYN of an lc/wlc service's flow without an entry
	 * in flows may be of a flow older than the service's scheduler whose
	 * compact entry xlbd could not copy (past the share, or its 5-tuple
	 * not yet written): that entry keeps its backend (xlb_fwd_dsr). Only
	 * where xlbd says there may be such entries (XLB_SVC_F_DSR_LEFT,
	 * xlb_abi.h): the look costs a miss its own cache line. */
	if (!p.syn && !d && !f && (svc->flags & XLB_SVC_F_DSR_LEFT))
		d = xlb_dsr_lookup(&p);
	return xlb_fwd_dsr(ctx, &p, svc, d, f);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
