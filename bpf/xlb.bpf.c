// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The xlb XDP entry program: dr and tun forwarding of VIP traffic. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "counters.h"
#include "fwd.h"
#include "maps.h"
#include "parse.h"
#include "select.h"
#include "xlb_hash.h"

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	struct xlb_pkt p = {};
	struct xlb_backend *be;
	struct xlb_svc *svc;
	__u32 hash, bid = 0;
	int r, new_flow;

	r = xlb_parse(ctx, &p);
	if (r != XLB_PARSE_OK)
		return xlb_done(r, r >= XLB_R_DROP_TRUNCATED ? XDP_DROP : XDP_PASS);

	svc = xlb_svc_lookup(&p);
	if (!svc)
		return xlb_done(p.icmp_err ? XLB_R_PASS_ICMP_NOT_OURS :
					     XLB_R_PASS_NOT_VIP, XDP_PASS);
	/* proxy services live in the daemon's sockets: the stack takes them.
	 * nat/fullnat are not handled by this program. */
	if (svc->mode == XLB_MODE_PROXY || svc->mode == XLB_MODE_NONE)
		return xlb_done(XLB_R_PASS_NOT_VIP, XDP_PASS);
	if (svc->mode != XLB_MODE_DR && svc->mode != XLB_MODE_TUN)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);

	/* Same function of the client tuple for data packets and for the ICMP
	 * errors about them, so both reach the same backend. */
	hash = xlb_flow_hash(&p.key.src, &p.key.dst, p.key.sport_be,
			     p.key.dport_be, p.key.proto);
	be = xlb_select(&p, svc, hash, &bid, &new_flow);
	if (!be)
		return xlb_done(XLB_R_DROP_NO_BACKEND, XDP_DROP);

	xlb_count(&svc_stats, svc->id, p.frame_len, new_flow);
	xlb_count(&backend_stats, bid, p.frame_len, new_flow);

	if (svc->mode == XLB_MODE_DR)
		return xlb_fwd_dr(ctx, &p, be);
	return xlb_fwd_tun(ctx, &p, be, hash);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
