/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* nat and fullnat: connection tracking with TCP state and timeouts, fullnat
 * local-port claims, address/port rewriting with incremental checksums, and
 * translation of ICMP errors (outer and quoted headers) in both directions. */
#ifndef XLB_BPF_NAT_H
#define XLB_BPF_NAT_H

#include "cfgslots.h"
#include "counters.h"
#include "csum.h"
#include "cttag.h"
#include "fwd.h"
#include "maps.h"
#include "parse.h"
#include "select.h"
#include "xlb_ct.h"

/* Candidate local ports tried for a new fullnat flow before giving up. */
#define XLB_LPORT_PROBES 8

/* ---- one's-complement arithmetic (RFC 1624: HC' = ~(~HC + ~m + m')) ---- */

static __always_inline __u64 xlb_cd32(__u32 old, __u32 new)
{
	return (__u64)(__u32)~old + new;
}

static __always_inline __u64 xlb_cd16(__u16 old, __u16 new)
{
	return (__u64)(__u16)~old + new;
}

/* Difference of replacing address o by n (4 or 16 bytes). */
static __always_inline __u64 xlb_cd_addr(const __u32 *o, const union xlb_addr *n,
					 int v6)
{
	__u64 d = xlb_cd32(o[0], n->v6[0]);

	if (v6)
		d += xlb_cd32(o[1], n->v6[1]) + xlb_cd32(o[2], n->v6[2]) +
		     xlb_cd32(o[3], n->v6[3]);
	return d;
}

static __always_inline __u16 xlb_csum_apply(__u16 csum, __u64 d)
{
	return xlb_csum_fold((__u64)(__u16)~csum + d);
}

static __always_inline int xlb_key_eq(const struct xlb_flow_key *a,
				      const struct xlb_flow_key *b)
{
	return xlb_addr_eq(&a->src, &b->src) && xlb_addr_eq(&a->dst, &b->dst) &&
	       a->sport_be == b->sport_be && a->dport_be == b->dport_be &&
	       a->proto == b->proto && a->family == b->family;
}

static __always_inline void xlb_addr_put(__u32 *to, const union xlb_addr *a,
					 int v6)
{
	to[0] = a->v6[0];
	if (v6) {
		to[1] = a->v6[1];
		to[2] = a->v6[2];
		to[3] = a->v6[3];
	}
}

/* ---- rewriting ----------------------------------------------------------- */

/* nat and fullnat forward as a router does: one hop off the TTL (hop
 * limit). Returns the checksum difference for the IPv4 header, or -1 when
 * the packet must not go on (TTL 0 or 1: dropped and counted, as the kernel
 * would, minus the time-exceeded error). */
static __always_inline __s64 xlb_ttl_dec(void *l3, int v6)
{
	if (v6) {
		struct ipv6hdr *ip6h = l3;

		if (ip6h->hop_limit <= 1)
			return -1;
		ip6h->hop_limit--;
		return 0;
	} else {
		struct iphdr *iph = l3;
		__u16 *w = (__u16 *)&iph->ttl, old;

		if (iph->ttl <= 1)
			return -1;
		old = *w;
		iph->ttl--;
		return (__s64)xlb_cd16(old, *w);
	}
}

/* Rewrites the data packet p (its headers hold p->key) to x and takes one
 * off its TTL (hop limit): IPv4 header checksum and the TCP/UDP checksum
 * (pseudo-header and ports) updated incrementally; a zero UDP checksum over
 * IPv4 means "none" and stays zero. A later fragment has no L4 header: its
 * addresses change, the first fragment's checksum covers the datagram.
 * Returns XLB_OK; XLB_R_DROP_TTL when the TTL runs out, or a drop reason. */
static __attribute__((noinline)) int
xlb_nat_rewrite(struct xdp_md *ctx, const struct xlb_pkt *p,
		const struct xlb_xlat *x)
{
	const union xlb_addr *src = &x->src, *dst = &x->dst;
	__u16 sport = x->sport_be, dport = x->dport_be;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = p->l3_off & 0x1f;
	int v6 = p->key.family == XLB_AF_INET6;
	__u64 d_addr, d_port;
	__u16 *ports;
	__s64 d_ttl;
	void *l4;

	if (!v6) {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		d_ttl = xlb_ttl_dec(iph, 0);
		if (d_ttl < 0)
			return XLB_R_DROP_TTL;
		d_addr = xlb_cd32(iph->saddr, src->v4) + xlb_cd32(iph->daddr, dst->v4);
		iph->check = xlb_csum_apply(iph->check, d_addr + (__u64)d_ttl);
		iph->saddr = src->v4;
		iph->daddr = dst->v4;
	} else {
		struct ipv6hdr *ip6h = data + l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		if (xlb_ttl_dec(ip6h, 1) < 0)
			return XLB_R_DROP_TTL;
		d_addr = xlb_cd_addr(ip6h->saddr.in6_u.u6_addr32, src, 1) +
			 xlb_cd_addr(ip6h->daddr.in6_u.u6_addr32, dst, 1);
		xlb_addr_put(ip6h->saddr.in6_u.u6_addr32, src, 1);
		xlb_addr_put(ip6h->daddr.in6_u.u6_addr32, dst, 1);
	}
	if (p->frag == XLB_FRAG_LATER)
		return XLB_OK;
	l4 = data + (p->l4_off & 0xff);
	ports = l4;
	if ((void *)(ports + 2) > data_end)
		return XLB_R_DROP_TRUNCATED;
	d_port = xlb_cd16(ports[0], sport) + xlb_cd16(ports[1], dport);
	ports[0] = sport;
	ports[1] = dport;
	if (p->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		th->check = xlb_csum_apply(th->check, d_addr + d_port);
	} else {
		struct udphdr *uh = l4;
		__u16 c;

		if ((void *)(uh + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		if (uh->check || v6) {
			c = xlb_csum_apply(uh->check, d_addr + d_port);
			uh->check = c ? c : 0xffff;
		}
	}
	return XLB_OK;
}

/* Rewrites the ICMP error p: the outer header's addresses to o (ports
 * unused) and one off its TTL, the quoted packet's to i. Updates the outer IPv4
 * checksum, the quoted IPv4 header checksum, the quoted TCP/UDP checksum when
 * the quote reaches it, and the ICMP checksum over all of that (ICMPv6: and
 * its pseudo-header). The parser checked the quote's IP header and ports.
 * Returns XLB_OK or a drop reason. */
static __attribute__((noinline)) int
xlb_nat_icmp_rewrite(struct xdp_md *ctx, const struct xlb_pkt *p,
		     const struct xlb_xlat *o, const struct xlb_xlat *i)
{
	const union xlb_addr *osrc = o->keep_src ? NULL : &o->src;
	const union xlb_addr *odst = &o->dst, *isrc = &i->src, *idst = &i->dst;
	__u16 isport = i->sport_be, idport = i->dport_be;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = p->l3_off & 0x1f, hl, l4csum_end;
	int v6 = p->key.family == XLB_AF_INET6;
	__u64 d_out = 0, d_in, d_port, d_icmp;
	__u16 *ports, *icsum, *l4csum, old;
	__s64 d_ttl;

	if (!v6) {
		struct iphdr *iph = data + l3_off, *in;
		struct icmphdr *ih;

		ih = (void *)(iph + 1);
		in = (void *)(ih + 1);
		if ((void *)(in + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		d_ttl = xlb_ttl_dec(iph, 0);
		if (d_ttl < 0)
			return XLB_R_DROP_TTL;
		d_out = (__u64)d_ttl;
		if (osrc) {
			d_out += xlb_cd32(iph->saddr, osrc->v4);
			iph->saddr = osrc->v4;
		}
		d_out += xlb_cd32(iph->daddr, odst->v4);
		iph->daddr = odst->v4;
		iph->check = xlb_csum_apply(iph->check, d_out);
		d_out = 0;      /* ICMPv4 has no pseudo-header */

		d_in = xlb_cd32(in->saddr, isrc->v4) + xlb_cd32(in->daddr, idst->v4);
		in->saddr = isrc->v4;
		in->daddr = idst->v4;
		old = in->check;
		in->check = xlb_csum_apply(old, d_in);
		d_icmp = xlb_cd16(old, in->check);
		icsum = &ih->checksum;
		ports = (void *)(in + 1);
		hl = sizeof(*iph) + sizeof(*ih) + sizeof(*in);
	} else {
		struct ipv6hdr *ip6h = data + l3_off, *in;
		struct icmp6hdr *ih;

		ih = (void *)(ip6h + 1);
		in = (void *)(ih + 1);
		if ((void *)(in + 1) > data_end)
			return XLB_R_DROP_TRUNCATED;
		if (xlb_ttl_dec(ip6h, 1) < 0)
			return XLB_R_DROP_TTL;
		if (osrc) {
			d_out = xlb_cd_addr(ip6h->saddr.in6_u.u6_addr32, osrc, 1);
			xlb_addr_put(ip6h->saddr.in6_u.u6_addr32, osrc, 1);
		}
		d_out += xlb_cd_addr(ip6h->daddr.in6_u.u6_addr32, odst, 1);
		xlb_addr_put(ip6h->daddr.in6_u.u6_addr32, odst, 1);

		d_in = xlb_cd_addr(in->saddr.in6_u.u6_addr32, isrc, 1) +
		       xlb_cd_addr(in->daddr.in6_u.u6_addr32, idst, 1);
		xlb_addr_put(in->saddr.in6_u.u6_addr32, isrc, 1);
		xlb_addr_put(in->daddr.in6_u.u6_addr32, idst, 1);
		d_icmp = 0;
		icsum = &ih->icmp6_cksum;
		ports = (void *)(in + 1);
		hl = sizeof(*ip6h) + sizeof(*ih) + sizeof(*in);
	}
	if ((void *)(ports + 4) > data_end)
		return XLB_R_DROP_TRUNCATED;
	d_port = xlb_cd16(ports[0], isport) + xlb_cd16(ports[1], idport);
	ports[0] = isport;
	ports[1] = idport;

	/* The quoted L4 checksum, when the quote is long enough to hold it
	 * (UDP always: it sits in the 8 bytes every error quotes). */
	l4csum = p->key.proto == IPPROTO_TCP ? ports + 8 : ports + 3;
	l4csum_end = hl + (p->key.proto == IPPROTO_TCP ? 18 : 8);
	if ((void *)(l4csum + 1) <= data_end && p->l3_len >= l4csum_end) {
		old = *l4csum;
		if (old || v6 || p->key.proto == IPPROTO_TCP) {
			__u16 c = xlb_csum_apply(old, d_in + d_port);

			if (!c && p->key.proto == IPPROTO_UDP)
				c = 0xffff;
			*l4csum = c;
			d_icmp += xlb_cd16(old, c);
		}
	}
	if ((void *)(icsum + 1) > data_end)
		return XLB_R_DROP_TRUNCATED;
	*icsum = xlb_csum_apply(*icsum, d_out + d_in + d_port + d_icmp);
	return XLB_OK;
}

/* ---- connection table ---------------------------------------------------- */

/* Is the entry f dead under its service's timeouts? One array read (the
 * verifier inlines it), done only where an entry's age is judged. */
static __always_inline int xlb_nat_expired(const struct xlb_globals *g,
					   const struct xlb_flow *f, __u64 now)
{
	__u32 id = f->svc_id;

	return xlb_ct_expired(g, bpf_map_lookup_elem(&svc_timeouts, &id), f, now);
}

/* Deletes the nat_rev entry r if it still belongs to flow k. */
static __always_inline void xlb_rev_del(const struct xlb_flow_key *r,
					const struct xlb_flow_key *k)
{
	struct xlb_nat_rev *rv = bpf_map_lookup_elem(&nat_rev, r);

	if (rv && xlb_key_eq(&rv->fwd, k))
		bpf_map_delete_elem(&nat_rev, r);
}

/* Ends the nat/fullnat flow k (entry f): its reverse entry goes, and with
 * it the fullnat port claim, then the entry itself. r: room for the
 * reverse key (the nat path's scratch: the BPF stack is short). */
static __always_inline void xlb_ct_release(const struct xlb_flow_key *k,
					   const struct xlb_flow *f,
					   struct xlb_flow_key *r)
{
	if (f->mode == XLB_MODE_NAT || f->mode == XLB_MODE_FULLNAT) {
		xlb_ct_rev_key(k, f, r);
		xlb_rev_del(r, k);
	}
	xlb_ct_del(k, f);
}

/* Whether r's destination is where replies of flow fk (entry f) go: the
 * client for nat, the flow's local address and port for fullnat. */
static __always_inline int xlb_rev_dst_is(const struct xlb_flow_key *fk,
					  const struct xlb_flow *f,
					  const struct xlb_flow_key *r)
{
	if (f->mode == XLB_MODE_FULLNAT)
		return xlb_addr_eq(&f->laddr, &r->dst) && f->lport_be == r->dport_be;
	return xlb_addr_eq(&fk->src, &r->dst) && fk->sport_be == r->dport_be;
}

/* The live flow holding the claim s->rk (its key in s->fk), or NULL when
 * nothing alive holds it: its flow is gone, expired, or no longer uses it;
 * such a claim is removed (and its expired flow with it). The entry is
 * judged by the claim it holds, not by its tag (the tag's paths in the
 * probe loop take more of the verifier's budget and of the stack than the
 * program has left): claims are unique, so an element of flows that holds
 * another flow's entry by now holds no claim of s->fk's, and is neither
 * the holder nor deleted. */
static __always_inline struct xlb_flow *
xlb_rev_holder(const struct xlb_globals *g, struct xlb_nat_scratch *s,
	       __u64 now)
{
	const struct xlb_flow_key *rk = &s->rk;
	struct xlb_nat_rev *rv = bpf_map_lookup_elem(&nat_rev, rk);
	struct xlb_flow *f;

	if (!rv)
		return NULL;
	s->fk = rv->fwd;
	f = bpf_map_lookup_elem(&flows, &s->fk);
	if (f && (f->lport_be != rk->dport_be || f->rport_be != rk->sport_be ||
		  !xlb_addr_eq(&f->laddr, &rk->dst) ||
		  !xlb_addr_eq(&f->raddr, &rk->src)))
		f = NULL;
	if (f && !xlb_nat_expired(g, f, now))
		return f;
	if (f)
		xlb_ct_del(&s->fk, f);
	bpf_map_delete_elem(&nat_rev, rk);
	return NULL;
}

/* Candidate c of the local (LIP, port) pool (LIPs from cfg_lips[base],
 * range ports each from lo) for the new fullnat flow k: in s->nf and its
 * claim in s->rk. 0, or -1 when the LIP is missing. */
static __always_inline int xlb_lport_cand(const struct xlb_flow_key *k,
					  struct xlb_nat_scratch *s, __u32 c,
					  __u32 base, __u32 range, __u32 lo)
{
	__u32 idx = base + c / range;
	union xlb_addr *lip = bpf_map_lookup_elem(&cfg_lips, &idx);

	if (!lip)
		return -1;
	s->nf.laddr = *lip;
	s->nf.lport_be = bpf_htons((__u16)(lo + c % range));
	xlb_ct_rev_key(k, &s->nf, &s->rk);
	return 0;
}

/* The claim s->rk held by an embryonic flow: ends that flow (counted in its
 * service's evicted) and takes the claim. Returns XLB_OK or
 * XLB_R_DROP_NO_LPORT. */
static __always_inline int xlb_lport_take(const struct xlb_globals *g,
					  struct xlb_nat_scratch *s, __u64 now)
{
	struct xlb_flow *f = xlb_rev_holder(g, s, now);
	struct xlb_svc_flows *c;
	__u32 id;

	if (f && xlb_ct_embryonic(f)) {
		id = f->svc_id;
		xlb_rev_del(&s->rk, &s->fk);    /* the claim is f's */
		xlb_ct_del(&s->fk, f);
		c = bpf_map_lookup_elem(&svc_flows, &id);
		if (c)
			__sync_fetch_and_add(&c->evicted, 1);
	}
	return bpf_map_update_elem(&nat_rev, &s->rk, &s->rv, BPF_NOEXIST) ?
	       XLB_R_DROP_NO_LPORT : XLB_OK;
}

/* Claims a local (LIP, port) for the new fullnat flow k toward nf->raddr:
 * nf->rport_be: the nat_rev entry is created with BPF_NOEXIST, which is the
 * atomic test-and-set that keeps (LIP, lport, R, rp) unique across CPUs.
 * Candidates are consecutive slots of the pool (all LIPs x port range) from
 * a slot given by the flow hash, so a small pool is searched exhaustively.
 * When every candidate is held by a live flow, the port of the embryonic
 * one seen longest ago is taken over (a flood's half-open entries must not
 * keep every port from real clients). Sets nf->laddr/lport_be; returns
 * XLB_OK or the drop reason. A global function: the verifier checks its
 * probe loop once, not once per state xlb_fwd_nat reaches it in (static,
 * it took most of the verifier's 1M-instruction budget for the program);
 * its arguments may be NULL as far as it knows. */
__attribute__((noinline)) int
xlb_lport_claim(const struct xlb_cfg_slot *cfg, const struct xlb_flow_key *k,
		struct xlb_nat_scratch *s, __u32 hash, __u64 now)
{
	/* The count and the addresses of the LIPs from one slot. */
	const struct xlb_globals *g;
	__u32 n, base, range, total, i, lo, hi, victim = XLB_LPORT_PROBES;
	__u64 oldest = ~0ull;
	struct xlb_flow *f;

	if (!cfg || !k || !s)
		return XLB_R_DROP_NO_LPORT;
	g = &cfg->g;
	lo = g->lport_min ? g->lport_min : XLB_LPORT_MIN_DEFAULT;
	hi = g->lport_max ? g->lport_max : XLB_LPORT_MAX_DEFAULT;

	n = k->family == XLB_AF_INET ? g->n_lips_v4 : g->n_lips_v6;
	base = cfg->lips + (k->family == XLB_AF_INET ? 0 : XLB_LIP_V6_BASE);
	if (n == 0 || n > XLB_MAX_LIPS)
		return XLB_R_DROP_NO_LIP;
	if (hi < lo)
		return XLB_R_DROP_NO_LPORT;
	range = hi - lo + 1;
	total = range * n;
	s->rv.fwd = *k;
	for (i = 0; i < XLB_LPORT_PROBES; i++) {
		if (xlb_lport_cand(k, s, (hash + i) % total, base, range, lo))
			continue;
		if (!bpf_map_update_elem(&nat_rev, &s->rk, &s->rv, BPF_NOEXIST))
			return XLB_OK;
		/* Held: by a live flow, or by one that expired with no packet
		 * since (the sweeper has not passed yet), which we take over. */
		f = xlb_rev_holder(g, s, now);
		if (!f && !bpf_map_update_elem(&nat_rev, &s->rk, &s->rv, BPF_NOEXIST))
			return XLB_OK;
		if (f && xlb_ct_embryonic(f) && f->last_seen_ns < oldest) {
			oldest = f->last_seen_ns;
			victim = i;
		}
	}
	if (victim == XLB_LPORT_PROBES ||
	    xlb_lport_cand(k, s, (hash + victim) % total, base, range, lo))
		return XLB_R_DROP_NO_LPORT;
	return xlb_lport_take(g, s, now);
}

/* Ends the entry of key s->fk if it is an entry of service id with a
 * state (nat/fullnat, lc/wlc dr/tun) that is embryonic or expired, by its
 * checked copy, counting it in c->evicted. Returns 1 if it did. */
static __always_inline int xlb_embryo_end(const struct xlb_globals *g,
					  struct xlb_svc_flows *c, __u32 id,
					  struct xlb_nat_scratch *s, __u64 now)
{
	struct xlb_flow *f = bpf_map_lookup_elem(&flows, &s->fk);
	struct xlb_flow *e = &s->nf;

	/* Judged by its checked copy (xlb_ct_copy), in s->nf: the new entry
	 * is made there only once its place is found (xlb_ct_begin), and
	 * nothing reads the copy a packet made there of its own dead entry
	 * after that. An element that holds another flow's entry by now is
	 * not ended for s->fk. */
	if (!f || !xlb_ct_copy_checked(&s->fk, f, e) || e->svc_id != id ||
	    e->state == XLB_CT_NONE ||
	    (!xlb_ct_embryonic(e) && !xlb_nat_expired(g, e, now)))
		return 0;
	xlb_ct_release(&s->fk, e, &s->rk);
	__sync_fetch_and_add(&c->evicted, 1);
	return 1;
}

/* Service id (c) holds its max_flows: ends the oldest of its embryonic (or
 * expired) entries, taking the ring's slots from its tail on (the oldest
 * first; slots of entries gone or established are passed over for good),
 * at most XLB_EMBRYO_PROBES of them, and never reaching h, the slot of the
 * new entry. Returns 1 if it made room. */
static __attribute__((noinline)) int
xlb_embryo_evict(struct xlb_svc_flows *c, __u32 id, __u64 h,
		 struct xlb_nat_scratch *s)
{
	__u32 base = c->ring_base, len = c->ring_len, i, idx;
	const struct xlb_globals *g = xlb_globals();
	__u64 now = xlb_now(), t = c->tail;
	struct xlb_flow_key *e;

	/* Slots more than a ring behind were written over: start at the
	 * oldest that was not. */
	if (len && h - t > len)
		__sync_val_compare_and_swap(&c->tail, t, h - len);
	for (i = 0; i < XLB_EMBRYO_PROBES && len; i++) {
		t = __sync_fetch_and_add(&c->tail, 1);
		if ((__s64)(h - t) <= 0)
			break;
		idx = base + (__u32)(t % len);
		e = bpf_map_lookup_elem(&embryos, &idx);
		if (!e)
			continue;
		/* A copy: another CPU may write the slot meanwhile. */
		s->fk = *e;
		if (xlb_embryo_end(g, c, id, s, now))
			return 1;
	}
	return 0;
}

/* May service id have one more entry? Counts it in the service's n,
 * takes the slot at the head of the service's ring for it (*slot, ~0u: no
 * ring) and, when the service holds its max_flows, ends one of its
 * embryonic entries to make room. XLB_OK (the caller gives the place back
 * if it does not make the entry), or XLB_R_DROP_SVC_FULL (counted) when
 * there was none to end. */
static __always_inline int
xlb_ct_admit(__u32 id, __u32 *slot, struct xlb_nat_scratch *s)
{
	struct xlb_svc_flows *c = bpf_map_lookup_elem(&svc_flows, &id);
	__u64 h = 0;
	__u32 len;

	*slot = ~0u;
	if (!c)
		return XLB_OK;
	len = c->ring_len;
	if (len) {
		h = __sync_fetch_and_add(&c->head, 1);
		*slot = c->ring_base + (__u32)(h % len);
	}
	/* Counted at once (undone if the entry is not made), so that two
	 * CPUs cannot both take a share's last place, nor one take the place
	 * the other has just freed by ending an entry. */
	if (__sync_fetch_and_add(&c->n, 1) < (__s64)c->max || !c->max ||
	    xlb_embryo_evict(c, id, h, s))
		return XLB_OK;
	__sync_fetch_and_add(&c->n, -1);
	__sync_fetch_and_add(&c->refused, 1);
	return XLB_R_DROP_SVC_FULL;
}

/* The new entry k in its ring slot (xlb_ct_admit's). */
static __always_inline void xlb_embryo_put(__u32 slot, const struct xlb_flow_key *k)
{
	struct xlb_flow_key *e = bpf_map_lookup_elem(&embryos, &slot);

	if (e)
		*e = *k;
}

/* The start of every new entry of flows, in s->nf: a place in service
 * svc's share (xlb_ct_admit; *slot its ring slot), the backend bid, the
 * initial state and age; short-lived when made under the flood guard, so
 * that a flood's entries (and fullnat ports) outlive it by a few seconds
 * at most unless their connection gets established. guard: whether the
 * guard is engaged, when the caller has counted the flow already (-1: it
 * has not). XLB_OK, or XLB_R_DROP_SVC_FULL. */
static __always_inline int xlb_ct_begin(const struct xlb_globals *g,
					const struct xlb_pkt *p,
					const struct xlb_svc *svc, __u32 bid,
					struct xlb_nat_scratch *s, __u64 now,
					__u32 *slot, int guard)
{
	int r = xlb_ct_admit(svc->id, slot, s);

	if (r != XLB_OK)
		return r;
	__builtin_memset(&s->nf, 0, sizeof(s->nf));
	s->nf.backend_id = bid;
	s->nf.svc_id = svc->id;
	s->nf.last_seen_ns = now;
	s->nf.mode = svc->mode;
	s->nf.state = xlb_ct_initial(p->key.proto, &s->nf.flags);
	if (guard < 0)
		guard = xlb_guard_engaged(g->guard_rate);
	if (guard) {
		s->nf.flags |= XLB_FLOW_F_GUARD;
		xlb_guard_count(XLB_G_SHORT);
	}
	return XLB_OK;
}

/* The entry of a new flow p of the lc/wlc dr/tun service svc toward
 * backend bid: its state counts the connection for its backend
 * (xlb_dsr_conns), and it takes a place in the service's share of flows
 * as a nat entry does, so that a flood on such a VIP cannot push other
 * services' entries out of the table. XLB_OK (made, or the table refused
 * it), or XLB_R_DROP_SVC_FULL (counted): the service holds its
 * max_flows and none of them is embryonic. A global function, verified
 * once. */
__attribute__((noinline)) int
xlb_dsr_ct_new(const struct xlb_pkt *p, const struct xlb_svc *svc, __u32 bid)
{
	struct xlb_nat_scratch *s;
	const struct xlb_globals *g;
	__u32 zero = 0, slot;
	__u64 now = xlb_now();
	int r;

	g = xlb_globals();
	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!p || !svc || !s)
		return XLB_OK;
	r = xlb_ct_begin(g, p, svc, bid, s, now, &slot, -1);
	if (r != XLB_OK)
		return r;
	xlb_dsr_ct_tag_put(&p->key, &s->nf);
	/* Over whatever is there (an entry without state copied at a
	 * scheduler switch, one of a service gone): the new flow must stick.
	 * Two CPUs making the same flow leave one place too many counted,
	 * which the sweeper corrects. */
	if (bpf_map_update_elem(&flows, &p->key, &s->nf, BPF_ANY)) {
		xlb_svc_flows_add(svc->id, -1);
		return XLB_OK;
	}
	xlb_conns_add(bid, s->nf.state, 1);
	xlb_embryo_put(slot, &p->key);
	return XLB_OK;
}

/* Who sent the packet that moves an entry's state (xlb_ct_next). */
enum xlb_ct_by {
	XLB_CT_BY_CLIENT,       /* nat/fullnat: the client */
	XLB_CT_BY_SERVER,       /* nat/fullnat: the backend (a reply) */
	XLB_CT_BY_CLIENT_IN,    /* dr/tun of lc/wlc: the client, the one side
				 * the balancer sees */
	XLB_CT_BY_SP_SYNACK,    /* the backend's SYN-ACK to the SYN proxy:
				 * SYN_SENT becomes ESTABLISHED */
};

/* The state (and in *fl the flags) of the entry copied into c after a
 * packet of proto with tcp_flags from by. */
static __always_inline __u8 xlb_ct_next(const struct xlb_flow *c, __u8 *fl,
					__u8 proto, __u8 tcp_flags, __u32 by)
{
	__u8 st = c->state;

	*fl = c->flags;
	if (by == XLB_CT_BY_SP_SYNACK)
		st = st == XLB_CT_SYN_SENT ? XLB_CT_ESTABLISHED : st;
	else if (proto != IPPROTO_TCP && by != XLB_CT_BY_CLIENT_IN)
		*fl = xlb_ct_udp_flags(*fl, by == XLB_CT_BY_SERVER);
	else if (proto == IPPROTO_TCP && by == XLB_CT_BY_CLIENT_IN)
		st = xlb_ct_tcp_next_in(st, fl, tcp_flags);
	else if (proto == IPPROTO_TCP)
		st = xlb_ct_tcp_next(st, fl, tcp_flags, by == XLB_CT_BY_SERVER);
	/* Established: no longer one of a flood's embryonic entries. */
	if (st == XLB_CT_ESTABLISHED)
		*fl &= ~XLB_FLOW_F_GUARD;
	return st;
}

/* State st and flags fl into f and its copy c (xlb_ct_set_state), the
 * backend's connection count moved with them and the age now: 1; 0 when
 * the compare-and-swap lost (f holds another entry, or another CPU
 * changed the state first), nothing written or moved. */
static __always_inline int xlb_ct_move(struct xlb_flow *f, struct xlb_flow *c,
				       __u8 st, __u8 fl, __u64 now)
{
	__u8 old = c->state;

	if (!xlb_ct_set_state(f, c, st, fl))
		return 0;
	xlb_conns_move(c->backend_id, old, st);
	xlb_ct_set_seen(f, c, now);
	return 1;
}

/* The word that holds the tag of the entry copied into c (0: none). */
static __always_inline __u32 xlb_ct_tagw(const struct xlb_flow *c)
{
	return c->mode == XLB_MODE_NAT || c->mode == XLB_MODE_FULLNAT ?
	       c->hash : c->syn_seq;
}

/* Tries a state change gets in all: the first, then one after each
 * change of the same entry that another CPU wrote first. An entry's
 * state and flags only move forward (xlb_ct.h: its TCP states in order,
 * CLOSE last; flags only set, the guard's only cleared), so no entry
 * takes more changes than this from its first state on: past them, a
 * compare-and-swap that still loses is one on an entry that changed
 * beyond its state machine (recycled: the tag check ends the tries
 * first). */
#define XLB_CT_TRIES 8

/* The state change of a packet (how: by | proto << 8 | tcp_flags << 16)
 * whose compare-and-swap lost on f, the element of key k copied into c:
 * the words of c that change in place read again while f holds the same
 * entry (its tag word and pad), the change
 * worked out again from the state another CPU wrote, and tried again;
 * none when that state holds it already. The backend's count moves with
 * the change that is written, once. 1: the change is in f (or was
 * there); 0: f holds another entry by now, or the tries ran out. A global
 * function: the verifier checks the loop once. */
__attribute__((noinline)) int
xlb_ct_retry(const struct xlb_flow_key *k, struct xlb_flow *f,
	     struct xlb_flow *c, __u32 how, __u64 now)
{
	__u64 w, t, seen;
	__u32 tag, i;
	__u8 st, fl, t8;
	int nat;

	if (!k || !f || !c)
		return 0;
	tag = xlb_ct_tagw(c);
	nat = c->mode == XLB_MODE_NAT || c->mode == XLB_MODE_FULLNAT;
	/* The tag's byte in pad (not covered by the tag: c's may be
	 * another entry's, half written, as the state that lost was). */
	t8 = !tag ? 0 : nat ? xlb_ct_tag8(tag) : xlb_dsr_ct_pad(tag);
	for (i = 1; i < XLB_CT_TRIES; i++) {
		/* Nothing of k's tag nor of how hoisted out of the loop: held across it
		 * in spills, it would take stack that the deepest chain of
		 * calls (the SYN proxy's) does not have. */
		asm volatile("" : "+r"(k), "+r"(how));
		/* Only the words that change in place read again (age, state
		 * and flags, SYN-proxy delta), and kept only while f holds the
		 * entry by its tag word and pad: a whole copy that failed its
		 * check would leave c another flow's entry, which the packet
		 * goes on with (sent by the other's translation). Read in the
		 * order of their offsets, the kernel's order of writing a new
		 * value: an age from another flow's value comes with its pad
		 * and tag word, which the check rejects. */
		seen = *(volatile const __u64 *)&f->last_seen_ns;
		w = *(volatile const __u64 *)&f->rport_be;
		t = *(volatile const __u64 *)&f->hash;
		if ((__u8)(w >> 56) != t8 ||
		    (nat ? (__u32)t : (__u32)(t >> 32)) != tag)  /* hash, syn_seq */
			return 0;
		*(__u64 *)&c->rport_be = w;
		*(__u64 *)&c->hash = t;
		c->last_seen_ns = seen;
		st = xlb_ct_next(c, &fl, (__u8)(how >> 8), (__u8)(how >> 16),
				 how & 0xff);
		if ((st == c->state && fl == c->flags) ||
		    xlb_ct_move(f, c, st, fl, now))
			return 1;
	}
	return 0;
}

/* Updates state and age of the entry copied into c (xlb_ct_copy) after a
 * packet of proto with tcp_flags from by, in c and in its element f (of
 * key k) while f still holds it. State changes are written at once, by
 * compare-and-swap, tried again when another CPU changed the entry first
 * (xlb_ct_retry); a mere refresh at most every 100 ms (select.h). */
static __always_inline void xlb_ct_touch(const struct xlb_flow_key *k,
					 struct xlb_flow *f, struct xlb_flow *c,
					 __u8 proto, __u8 tcp_flags, __u32 by,
					 __u64 now)
{
	__u8 fl, st = xlb_ct_next(c, &fl, proto, tcp_flags, by);

	if (st != c->state || fl != c->flags) {
		if (!xlb_ct_move(f, c, st, fl, now))
			xlb_ct_retry(k, f, c, by | (__u32)proto << 8 |
					      (__u32)tcp_flags << 16, now);
	} else if (now - c->last_seen_ns > 100000000ull) {
		xlb_ct_set_seen(f, c, now);
	}
}

/* lc/wlc in dr/tun count a backend's live flow entries, as IPVS does in
 * DR: such an entry has a state (XLB_CT_*, set at creation by xlb_select)
 * that follows the client's segments and expires by the nat/fullnat
 * timeouts; backend_conns follows its class. f is p's entry, c its
 * checked copy (xlb_ct_copy), read in its place; the state is written as
 * a nat entry's (xlb_ct_touch). Returns f, or NULL when f was dead
 * (expired, its backend gone, a new SYN on a closed connection or to a
 * backend that takes no new flows): its count and entry released, the
 * flow is scheduled afresh. */
static __attribute__((noinline)) struct xlb_flow *
xlb_dsr_conns(const struct xlb_pkt *p, const struct xlb_svc *svc,
	      struct xlb_flow *f, struct xlb_flow *c, __u8 tflags)
{
	const struct xlb_globals *g = xlb_globals();
	__u32 id = svc->id;
	__u64 now = xlb_now();

	if (!f || !c || c->state == XLB_CT_NONE || c->svc_id != svc->id)
		return f;
	if (xlb_ct_expired(g, bpf_map_lookup_elem(&svc_timeouts, &id), c, now) ||
	    !xlb_backend_get(c->backend_id) ||
	    ((tflags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN &&
	     (c->state == XLB_CT_CLOSE || c->state == XLB_CT_TIME_WAIT ||
	      !xlb_backend_sched(c->backend_id)))) {
		xlb_ct_del(&p->key, c);
		return NULL;
	}
	xlb_ct_touch(&p->key, f, c, p->key.proto, tflags, XLB_CT_BY_CLIENT_IN,
		     now);
	return f;
}

/* ---- SYN proxy -------------------------------------------------------------
 *
 * While the flood guard is engaged on a CPU (and `syn_proxy` is on), a SYN
 * to a nat/fullnat TCP service with no entry gets no entry, no fullnat port
 * and no trip to a backend: the balancer answers it with a SYN-ACK whose
 * sequence number is a cookie (xlb_ct.h) and that offers an MSS from the
 * cookie's table and nothing else (no window scaling, SACK or timestamps:
 * connections opened this way run without them). The client's ACK carrying
 * a valid cookie (checked whether the guard is still engaged or not) opens
 * the flow as a SYN would (XLB_FLOW_F_SYNPROXY, state SYN_SENT, the cookie
 * in syn_seq) and becomes, in place, the SYN toward the backend (its data
 * dropped: the client sends it again). The backend's SYN-ACK becomes the
 * ACK that completes its handshake and goes back to it; the entry keeps
 * the difference of the two ISNs and every later segment is shifted by it
 * (client to backend: ack; backend to client: seq). ICMP errors quoting a
 * TCP header are translated as for any flow, their quoted sequence number
 * left as the sender wrote it. Only headers without IPv4 options or IPv6
 * extension headers are proxied. */

/* Checksum of the TCP segment th of len bytes (header only: 20, or 24 with
 * an MSS option; check 0) between addresses s and d (1 or 4 words). */
static __always_inline __u16 xlb_tcp_csum(const __u32 *th, __u32 len,
					  const __u32 *s, const __u32 *d, int v6)
{
	__u64 sum = (__u64)bpf_htons(IPPROTO_TCP) + bpf_htons((__u16)len) +
		    s[0] + d[0] + th[0] + th[1] + th[2] + th[3] + th[4];

	if (v6)
		sum += (__u64)s[1] + s[2] + s[3] + d[1] + d[2] + d[3];
	if (len > 20)
		sum += th[5];
	return xlb_csum_fold(sum);
}

/* The client's MSS option in the SYN whose TCP header th has hl bytes, or
 * 0 when it has none (the first ten options are looked at). */
static __always_inline __u32 xlb_syn_mss(__u8 *th, void *data_end, __u32 hl)
{
	__u32 off = 20, i;
	__u8 *o;

	for (i = 0; i < 10; i++) {
		if (off >= hl || off > 56)
			break;
		o = th + (off & 63);
		if ((void *)(o + 4) > data_end)
			break;
		if (o[0] == 0)
			break;
		if (o[0] == 1) {
			off++;
			continue;
		}
		if (o[0] == 2 && o[1] == 4)
			return (__u32)o[2] << 8 | o[3];
		if (o[1] < 2)
			break;
		off += o[1];
	}
	return 0;
}

/* Cuts (or grows) the frame of p to its headers and tcp_len bytes of TCP,
 * and sets its IP lengths (IPv4: the header checksum too, from scratch,
 * TTL ttl when not 0), p->l3_len and p->frame_len. Then swaps addresses
 * (and MACs) when swap. The TCP header is left to the caller. Returns the
 * TCP header or NULL (the frame could not be resized). */
static __always_inline struct tcphdr *
xlb_sp_reshape(struct xdp_md *ctx, struct xlb_pkt *p, __u32 tcp_len, int swap)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = p->l3_off & 0x1f, t;
	int v6 = p->key.family == XLB_AF_INET6;
	__u32 ipl = v6 ? 40 : 20;
	struct tcphdr *th;
	int i;

	if (bpf_xdp_adjust_tail(ctx, (int)(l3_off + ipl + tcp_len) -
				     (int)(data_end - data)))
		return NULL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (v6) {
		struct ipv6hdr *ip6h = data + l3_off;

		th = (void *)(ip6h + 1);
		if ((void *)th + tcp_len > data_end || (void *)(th + 1) > data_end)
			return NULL;
		ip6h->payload_len = bpf_htons((__u16)tcp_len);
		if (swap) {
			ip6h->hop_limit = 64;
#pragma unroll
			for (i = 0; i < 4; i++) {
				t = ip6h->saddr.in6_u.u6_addr32[i];
				ip6h->saddr.in6_u.u6_addr32[i] =
					ip6h->daddr.in6_u.u6_addr32[i];
				ip6h->daddr.in6_u.u6_addr32[i] = t;
			}
		}
	} else {
		struct iphdr *iph = data + l3_off;

		th = (void *)(iph + 1);
		if ((void *)th + tcp_len > data_end || (void *)(th + 1) > data_end)
			return NULL;
		iph->tot_len = bpf_htons((__u16)(20 + tcp_len));
		if (swap) {
			iph->ttl = 64;
			t = iph->saddr;
			iph->saddr = iph->daddr;
			iph->daddr = t;
		}
		iph->check = 0;
		iph->check = xlb_ip4_csum(iph);
	}
	if (swap) {
		struct ethhdr *eth = data;
		__u16 m[3];

		if ((void *)(eth + 1) > data_end)
			return NULL;
		xlb_mac_copy(m, eth->h_dest);
		xlb_mac_copy(eth->h_dest, eth->h_source);
		xlb_mac_copy(eth->h_source, m);
		t = th->source;
		th->source = th->dest;
		th->dest = (__u16)t;
	}
	p->l3_len = ipl + tcp_len;
	p->frame_len = l3_off + ipl + tcp_len;
	return th;
}

/* Writes the TCP header th of p (reshaped to tcp_len bytes: 20, or 24
 * with an MSS option of mss) and its checksum. */
static __always_inline void xlb_sp_tcp(struct xdp_md *ctx, struct xlb_pkt *p,
				       struct tcphdr *th, __u32 tcp_len,
				       __u32 seq, __u32 ack, __u8 flags,
				       __u16 win, __u32 mss)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_off = p->l3_off & 0x1f;
	__u8 *b = (__u8 *)th;

	if ((void *)(th + 1) > data_end)
		return;
	if ((void *)(b + 24) > data_end)
		tcp_len = 20;
	th->seq = bpf_htonl(seq);
	th->ack_seq = bpf_htonl(ack);
	b[12] = (__u8)(tcp_len << 2);
	b[13] = flags;
	th->window = bpf_htons(win);
	th->urg_ptr = 0;
	th->check = 0;
	if (tcp_len > 20) {
		b[20] = 2;
		b[21] = 4;
		b[22] = (__u8)(mss >> 8);
		b[23] = (__u8)mss;
	}
	if (p->key.family == XLB_AF_INET6) {
		struct ipv6hdr *ip6h = data + l3_off;

		if ((void *)(ip6h + 1) > data_end)
			return;
		th->check = xlb_tcp_csum((__u32 *)th, tcp_len,
					 ip6h->saddr.in6_u.u6_addr32,
					 ip6h->daddr.in6_u.u6_addr32, 1);
	} else {
		struct iphdr *iph = data + l3_off;

		if ((void *)(iph + 1) > data_end)
			return;
		th->check = xlb_tcp_csum((__u32 *)th, tcp_len, &iph->saddr,
					 &iph->daddr, 0);
	}
}

/* Whether the proxy handles p's headers: no IPv4 options, no IPv6
 * extension headers, not a fragment. */
static __always_inline int xlb_sp_plain(const struct xlb_pkt *p)
{
	__u32 ipl = p->key.family == XLB_AF_INET6 ? 40 : 20;

	return p->frag == XLB_FRAG_NONE && p->l4_off == p->l3_off + ipl;
}

/* The client's SYN p answered in place with the SYN-ACK of its cookie,
 * sent back out where it came in. XLB_OK, or -1 when the proxy does not
 * handle it (headers, a frame that cannot be resized): the frame is then
 * the SYN as it came, and goes on as one. */
static __attribute__((noinline)) int
xlb_sp_synack(struct xdp_md *ctx, struct xlb_pkt *p, const __u32 *key)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 isn, m, mss, hl;
	struct tcphdr *th;

	if (!xlb_sp_plain(p))
		return -1;
	th = data + (p->l4_off & 0xff);
	if ((void *)(th + 1) > data_end)
		return -1;
	hl = th->doff * 4;
	mss = xlb_syn_mss((__u8 *)th, data_end, hl);
	if (!mss)       /* RFC 9293's default, IPv6's minimum link MTU's */
		mss = p->key.family == XLB_AF_INET6 ? 1220 : 536;
	isn = bpf_ntohl(th->seq);
	m = xlb_cookie_mss_idx(mss);
	th = xlb_sp_reshape(ctx, p, 24, 1);
	if (!th)
		return -1;
	xlb_sp_tcp(ctx, p, th, 24,
		   xlb_cookie(&p->key, isn, (__u32)(xlb_now() >> XLB_COOKIE_T_SHIFT),
			      key, m),
		   isn + 1, XLB_TCP_SYN | XLB_TCP_ACK, 65535, xlb_cookie_mss(m));
	return XLB_OK;
}

/* The MSS the client's ACK p vouches for, its ack - 1 being the cookie of
 * its tuple (in *cookie) under the time counter the cookie names (the
 * current or the previous: one MAC, xlb_cookie_t); 0 when it is not. */
static __attribute__((noinline)) __u32
xlb_sp_check(struct xdp_md *ctx, const struct xlb_pkt *p, const __u32 *key,
	     __u32 *cookie)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 c, isn, t, m;
	struct tcphdr *th;

	if (!xlb_sp_plain(p))
		return 0;
	th = data + (p->l4_off & 0xff);
	if ((void *)(th + 1) > data_end)
		return 0;
	c = bpf_ntohl(th->ack_seq) - 1;
	isn = bpf_ntohl(th->seq) - 1;
	t = xlb_cookie_t(c, (__u32)(xlb_now() >> XLB_COOKIE_T_SHIFT));
	m = c & 7;
	if (xlb_cookie(&p->key, isn, t, key, m) != c)
		return 0;
	*cookie = c;
	return xlb_cookie_mss(m);
}

/* The client's ACK p (its cookie checked) made, in place, the SYN toward
 * the backend: sequence number one before the ACK's, the cookie's MSS, the
 * client's window, no payload. XLB_OK or a drop reason. */
static __attribute__((noinline)) int
xlb_sp_syn(struct xdp_md *ctx, struct xlb_pkt *p, __u32 mss)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + (p->l4_off & 0xff);
	__u32 len = 24, seq;
	__u16 win;

	if ((void *)(th + 1) > data_end)
		return XLB_R_DROP_TRUNCATED;
	seq = bpf_ntohl(th->seq) - 1;
	win = bpf_ntohs(th->window);
	th = xlb_sp_reshape(ctx, p, len, 0);
	if (!th) {
		/* No room to grow: a SYN without options (the backend
		 * assumes the default MSS). */
		len = 20;
		th = xlb_sp_reshape(ctx, p, len, 0);
	}
	if (!th)
		return XLB_R_DROP_ADJUST;
	xlb_sp_tcp(ctx, p, th, len, seq, 0, XLB_TCP_SYN, win, mss);
	return XLB_OK;
}

/* Adds d to the TCP sequence number (seq 1) or acknowledgement number
 * (seq 0) of p, its checksum updated; seq 2: sets the sequence number to
 * d. Segments without TCP header (later fragments) are left alone. */
static __attribute__((noinline)) int
xlb_sp_shift(struct xdp_md *ctx, const struct xlb_pkt *p, __u32 d, int seq)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + (p->l4_off & 0xff);
	__u32 old, new;

	if (p->frag == XLB_FRAG_LATER)
		return XLB_OK;
	if ((void *)(th + 1) > data_end)
		return XLB_R_DROP_TRUNCATED;
	if (seq) {
		old = th->seq;
		new = bpf_htonl(seq == 2 ? d : bpf_ntohl(old) + d);
		th->seq = new;
	} else {
		old = th->ack_seq;
		new = bpf_htonl(bpf_ntohl(old) + d);
		th->ack_seq = new;
	}
	th->check = xlb_csum_apply(th->check, xlb_cd32(old, new));
	return XLB_OK;
}

/* The backend's SYN-ACK p for the SYN proxy's flow f (client key s->fk,
 * its checked copy s->nf, xlb_ct_copy): the first one records the ISN
 * difference and establishes the entry;
 * each becomes, in place, the ACK of the backend's handshake (from the
 * client, or fullnat's LIP:lport), sent to the backend. Nothing goes to
 * the client, whose handshake was done with the balancer. */
static __attribute__((noinline)) int
xlb_sp_backend_synack(struct xdp_md *ctx, struct xlb_pkt *p,
		      struct xlb_flow *f, struct xlb_nat_scratch *s, __u64 now)
{
	const struct xlb_flow_key *fk = &s->fk;
	struct xlb_flow *c = &s->nf;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + (p->l4_off & 0xff);
	const struct xlb_route *hop;
	struct xlb_route rt = {};
	__u32 seq, ack;
	int r;

	if (!xlb_sp_plain(p) || (void *)(th + 1) > data_end)
		return xlb_done(XLB_R_DROP_BAD_HEADER, XDP_DROP);
	seq = bpf_ntohl(th->seq);
	ack = bpf_ntohl(th->ack_seq);
	if (c->state == XLB_CT_SYN_SENT) {
		xlb_ct_set_syn_seq(f, c, seq - c->syn_seq);
		xlb_ct_touch(fk, f, c, IPPROTO_TCP, 0, XLB_CT_BY_SP_SYNACK, now);
	}
	th = xlb_sp_reshape(ctx, p, 20, 1);
	if (!th)
		return xlb_done(XLB_R_DROP_ADJUST, XDP_DROP);
	xlb_sp_tcp(ctx, p, th, 20, ack, seq + 1, XLB_TCP_ACK, 65535, 0);
	r = xlb_route_be(ctx, c->backend_id, p->key.family,
			 c->mode == XLB_MODE_FULLNAT ? &c->laddr : &fk->src,
			 &c->raddr, p->l3_len, &rt, &hop);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	return xlb_send(ctx, p, hop);
}

/* ---- the two directions -------------------------------------------------- */

/* The entry of a new nat/fullnat flow p of svc toward backend be (id
 * bid): counted in its service's share (which may end an embryonic entry to
 * make room), its reverse entry (fullnat: a local port) and the entry
 * itself, tagged (xlb_ct_tag), as s->nf. guard as for xlb_ct_begin. XLB_OK, *made 0 when another CPU
 * made the entry first; or the drop reason, nothing made. */
static __always_inline int xlb_nat_new(const struct xlb_cfg_slot *cfg, struct xlb_pkt *p,
				       const struct xlb_svc *svc,
				       const struct xlb_backend *be, __u32 bid,
				       struct xlb_nat_scratch *s, __u32 hash,
				       __u64 now, int *made, int guard)
{
	__u32 slot;
	int r;

	r = xlb_ct_begin(&cfg->g, p, svc, bid, s, now, &slot, guard);
	if (r != XLB_OK)
		return r;
	s->nf.raddr = be->addr;
	s->nf.rport_be = be->port_be ? be->port_be : p->key.dport_be;
	if (svc->mode == XLB_MODE_FULLNAT) {
		r = xlb_lport_claim(cfg, &p->key, s, hash, now);
	} else {
		/* Two nat flows of one client port to two VIPs on the same
		 * backend port cannot be told apart in the replies (IPVS has
		 * the same limit): the last wins. */
		s->rv.fwd = p->key;
		xlb_ct_rev_key(&p->key, &s->nf, &s->rk);
		if (bpf_map_update_elem(&nat_rev, &s->rk, &s->rv, BPF_ANY))
			r = XLB_R_DROP_CT_FULL;
	}
	if (r == XLB_OK) {
		s->nf.hash = xlb_ct_tag(&p->key, &s->nf);
		s->nf.pad = xlb_ct_tag8(s->nf.hash);
	}
	if (r == XLB_OK && !bpf_map_update_elem(&flows, &p->key, &s->nf, BPF_NOEXIST)) {
		xlb_conns_add(bid, s->nf.state, 1);
		xlb_embryo_put(slot, &p->key);
		*made = 1;
		return XLB_OK;
	}
	/* Not made: the place taken in the share goes back. */
	xlb_svc_flows_add(svc->id, -1);
	if (r != XLB_OK)
		return r;
	if (svc->mode == XLB_MODE_FULLNAT) {
		/* Another CPU created the flow first: use its port. */
		xlb_ct_rev_key(&p->key, &s->nf, &s->rk);
		bpf_map_delete_elem(&nat_rev, &s->rk);
	}
	return XLB_OK;
}

/* An ICMP error from the client side about a reply we translated (quote:
 * V:vp -> C:cp; p->key is the client flow): to the backend, quoting the
 * packet the backend sent (R:rp -> C:cp, fullnat R:rp -> LIP:lp). */
static __always_inline int xlb_nat_icmp_to_backend(struct xdp_md *ctx,
						   struct xlb_pkt *p,
						   const struct xlb_flow *f,
						   struct xlb_nat_scratch *s)
{
	int fullnat = f->mode == XLB_MODE_FULLNAT;
	struct xlb_route rt = {};
	int r;

	/* fullnat backends may have no route to whoever sent the error:
	 * it comes from the LIP. */
	s->out.keep_src = !fullnat;
	s->out.src = f->laddr;
	s->out.dst = f->raddr;
	s->in.src = f->raddr;
	s->in.sport_be = f->rport_be;
	s->in.dst = fullnat ? f->laddr : p->key.src;
	s->in.dport_be = fullnat ? f->lport_be : p->key.sport_be;
	s->in.keep_src = 0;
	r = xlb_route(ctx, p->key.family, fullnat ? &s->out.src : &p->key.src,
		      &s->out.dst, p->l3_len, &rt);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	r = xlb_nat_icmp_rewrite(ctx, p, &s->out, &s->in);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	return xlb_send(ctx, p, &rt);
}

/* An ICMP error about a flow of a nat/fullnat service (p->key is the
 * client's flow): translated toward the flow's backend; never creates or
 * ends a flow, and one about no live flow is dropped (as IPVS). Out of
 * line: the quote rewrite needs its own stack frame. */
static __attribute__((noinline)) int
xlb_nat_icmp_fwd(struct xdp_md *ctx, struct xlb_pkt *p, const struct xlb_svc *svc)
{
	struct xlb_nat_scratch *s;
	const struct xlb_globals *g;
	struct xlb_flow *f;
	__u32 zero = 0;

	g = xlb_globals();
	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!s)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	f = bpf_map_lookup_elem(&flows, &p->key);
	if (!f || !xlb_ct_copy(&p->key, f, &s->nf))
		return xlb_done(XLB_R_DROP_ICMP_NO_FLOW, XDP_DROP);
	f = &s->nf;
	if (f->svc_id != svc->id || f->mode != svc->mode ||
	    xlb_nat_expired(g, f, xlb_now()))
		return xlb_done(XLB_R_DROP_ICMP_NO_FLOW, XDP_DROP);
	return xlb_nat_icmp_to_backend(ctx, p, f, s);
}

/* A new or existing client packet (not an ICMP error) of a nat/fullnat
 * service; f is p's flow-table entry (NULL: none). A global function: the
 * verifier checks it once, not once per state its caller reaches it in. */
__attribute__((noinline)) int
xlb_fwd_nat(struct xdp_md *ctx, struct xlb_pkt *p, const struct xlb_svc *svc,
	    struct xlb_flow *f)
{
	const struct xlb_route *hop;
	struct xlb_nat_scratch *s;
	struct xlb_flow *c;
	struct xlb_route rt = {};
	const struct xlb_globals *g;
	const struct xlb_cfg_slot *cfg;
	struct xlb_backend *be;
	__u32 zero = 0, bid, hash, mss = 0, cookie = 0;
	int new_flow = 0, guard = -1, r;
	__u8 tflags = 0;
	__u64 now;

	cfg = xlb_cfg();
	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!s || !p || !svc)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	g = &cfg->g;
	now = xlb_now();
	tflags = p->tcp_flags;

	/* Every read of the entry is of its copy c (in s->nf, the room of a
	 * new entry, which a packet with an entry does not need), checked
	 * to be p's: an element that holds another flow's entry by now
	 * (p's was evicted or deleted on another CPU, and its element given
	 * to a new flow at once) is a miss. */
	c = &s->nf;
	if (f && !xlb_ct_copy(&p->key, f, c))
		f = NULL;
	if (f && (c->svc_id != svc->id || c->mode != svc->mode ||
		  xlb_nat_expired(g, c, now) || !xlb_backend_get(c->backend_id) ||
		  ((tflags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN &&
		   (c->state == XLB_CT_TIME_WAIT || c->state == XLB_CT_CLOSE)))) {
		/* Dead (or a new connection reusing a closed one's ports, which
		 * IPVS reschedules too): forget it, freeing its port. */
		xlb_ct_release(&p->key, c, &s->rk);
		f = NULL;
	}

	/* The SYN proxy's flow before the backend's SYN-ACK: only the
	 * client's ACK of its cookie (again: the SYN sent for it may be
	 * lost), made the SYN once more. */
	if (f && (c->flags & XLB_FLOW_F_SYNPROXY) && c->state == XLB_CT_SYN_SENT) {
		mss = xlb_sp_check(ctx, p, g->syn_key, &cookie);
		if (!mss)
			return xlb_done(XLB_R_DROP_NOT_SYN, XDP_DROP);
	}

	if (!f) {
		/* Only a SYN opens a TCP connection (as IPVS): a stray or
		 * spoofed ACK, FIN or RST holds no entry and no port; an ACK
		 * does when it answers a SYN cookie (SYN proxy). */
		if (p->key.proto == IPPROTO_TCP &&
		    (tflags & (XLB_TCP_SYN | XLB_TCP_ACK | XLB_TCP_FIN |
			       XLB_TCP_RST)) != XLB_TCP_SYN) {
			if (!g->syn_proxy || (tflags & (XLB_TCP_SYN | XLB_TCP_ACK |
							XLB_TCP_FIN | XLB_TCP_RST)) !=
					     XLB_TCP_ACK)
				return xlb_done(XLB_R_DROP_NOT_SYN, XDP_DROP);
			mss = xlb_sp_check(ctx, p, g->syn_key, &cookie);
			if (!mss) {
				xlb_guard_count(XLB_G_COOKIE_BAD);
				return xlb_done(XLB_R_DROP_NOT_SYN, XDP_DROP);
			}
			xlb_guard_count(XLB_G_COOKIE_OK);
		} else if (p->syn && g->syn_proxy && g->guard_rate) {
			/* A SYN under the flood guard: answered here. One the
			 * proxy does not answer (IPv4 options, IPv6 extension
			 * headers, a fragment) is dropped: a flood whose SYNs
			 * carry a NOP option would otherwise go round the proxy
			 * and take entries, ports and the real servers' SYN
			 * queues. A real client sends it again once the flood
			 * is over, or without the options. */
			guard = xlb_guard_engaged(g->guard_rate);
			if (guard && !xlb_sp_plain(p))
				return xlb_done(XLB_R_DROP_SYN_NOT_PROXIED, XDP_DROP);
			if (guard && xlb_sp_synack(ctx, p, g->syn_key) == XLB_OK) {
				xlb_guard_count(XLB_G_COOKIE_SENT);
				return xlb_done(XLB_R_TX, XDP_TX);
			}
		}
		hash = xlb_pkt_hash(p);
		bid = xlb_new_flow_pick(svc, &p->key, hash, XLB_PICK_LEARN);
		be = xlb_backend_get(bid);
		if (!be)
			return xlb_no_backend(ctx, p, svc);
		/* Address translation stays within one family. */
		if (be->family != p->key.family)
			return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
		r = xlb_nat_new(cfg, p, svc, be, bid, s, hash, now, &new_flow,
				guard);
		if (r != XLB_OK)
			return xlb_done(r, XDP_DROP);
		/* Made here: c is the entry; made by another CPU first: its
		 * copy, checked. */
		f = bpf_map_lookup_elem(&flows, &p->key);
		if (!f || (!new_flow && !xlb_ct_copy(&p->key, f, c)))
			return xlb_done(XLB_R_DROP_CT_FULL, XDP_DROP);
		if (mss) {
			xlb_ct_set_syn_seq(f, c, cookie);
			xlb_ct_set_state(f, c, c->state,
					 c->flags | XLB_FLOW_F_SYNPROXY);
		}
	}
	if (mss) {
		/* The cookie's ACK, made the SYN toward the backend. */
		r = xlb_sp_syn(ctx, p, mss);
		if (r != XLB_OK)
			return xlb_done(r, XDP_DROP);
	} else if (c->flags & XLB_FLOW_F_SYNPROXY && (tflags & XLB_TCP_ACK)) {
		r = xlb_sp_shift(ctx, p, c->syn_seq, 0);
		if (r != XLB_OK)
			return xlb_done(r, XDP_DROP);
	}
	if (!new_flow && !mss)
		xlb_ct_touch(&p->key, f, c, p->key.proto, tflags,
			     XLB_CT_BY_CLIENT, now);
	bid = c->backend_id;
	s->out.dst = c->raddr;
	s->out.dport_be = c->rport_be;
	s->out.keep_src = 0;
	if (c->mode == XLB_MODE_FULLNAT) {
		s->out.src = c->laddr;
		s->out.sport_be = c->lport_be;
	} else {
		s->out.src = p->key.src;
		s->out.sport_be = p->key.sport_be;
	}

	xlb_count(&svc_stats, svc->id, p->frame_len, new_flow);
	xlb_count(&backend_stats, bid, p->frame_len, new_flow);

	r = xlb_route_be(ctx, bid, p->key.family, &s->out.src, &s->out.dst,
			 p->l3_len, &rt, &hop);
	if (r == XLB_R_DROP_TOO_BIG)
		return xlb_too_big(ctx, p, rt.mtu, 0);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	r = xlb_nat_rewrite(ctx, p, &s->out);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	return xlb_send(ctx, p, hop);
}

/* xlb_too_big out of line: the reply path's frame has no room for it. */
static __attribute__((noinline)) int
xlb_nat_too_big(struct xdp_md *ctx, struct xlb_pkt *p, __u32 mtu)
{
	return xlb_too_big(ctx, p, mtu, 0);
}

/* A packet whose tuple is in nat_rev: a backend's reply (or an ICMP error
 * from the backend side about a packet we sent it), back to the client as
 * coming from the VIP. */
static __attribute__((noinline)) int
xlb_nat_reply(struct xdp_md *ctx, struct xlb_pkt *p, const struct xlb_nat_rev *rv)
{
	struct xlb_nat_scratch *s;
	struct xlb_flow_key *fk;
	struct xlb_route rt = {};
	const struct xlb_globals *g;
	struct xlb_flow *f, *c;
	__u32 zero = 0;
	__u64 now;
	int r;

	g = xlb_globals();
	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!s)
		return xlb_done(XLB_R_DROP_MODE, XDP_DROP);
	fk = &s->fk;
	*fk = rv->fwd;
	now = xlb_now();
	f = bpf_map_lookup_elem(&flows, fk);
	/* Read from its checked copy (xlb_ct_copy): an element that holds
	 * another flow's entry by now is passed to the stack, nothing
	 * deleted (the flow and reverse entry it is about may be made
	 * again meanwhile). */
	c = &s->nf;
	if (f && !xlb_ct_copy(fk, f, c))
		return xlb_done(XLB_R_PASS_NAT_STALE, XDP_PASS);
	/* The whole reverse tuple, the client's or LIP's end too: the
	 * kernel recycles a deleted nat_rev element at once (no grace
	 * period), so rv may hold another flow's key by now, one whose
	 * backend (and port) may well be this reply's. */
	if (!f || (c->mode != XLB_MODE_NAT && c->mode != XLB_MODE_FULLNAT) ||
	    xlb_nat_expired(g, c, now) || !xlb_addr_eq(&c->raddr, &p->key.src) ||
	    c->rport_be != p->key.sport_be || fk->family != p->key.family ||
	    fk->proto != p->key.proto || !xlb_rev_dst_is(fk, c, &p->key)) {
		/* The translation is gone: free the claim so the port can
		 * serve again, and let the stack answer (a RST, usually). */
		if (!p->icmp_err) {
			if (f && xlb_nat_expired(g, c, now))
				xlb_ct_release(fk, c, &s->rk);
			bpf_map_delete_elem(&nat_rev, &p->key);
		}
		return xlb_done(XLB_R_PASS_NAT_STALE, XDP_PASS);
	}
	if (!p->icmp_err) {
		__u8 tf = p->tcp_flags;

		if (c->flags & XLB_FLOW_F_SYNPROXY) {
			/* The backend's SYN-ACK is the proxy's to answer. */
			if ((tf & (XLB_TCP_SYN | XLB_TCP_ACK | XLB_TCP_RST)) ==
			    (XLB_TCP_SYN | XLB_TCP_ACK))
				return xlb_sp_backend_synack(ctx, p, f, s, now);
			/* Before it only a RST makes sense to the client:
			 * at the sequence number it expects. */
			if (c->state == XLB_CT_SYN_SENT && !(tf & XLB_TCP_RST))
				return xlb_done(XLB_R_DROP_NOT_SYN, XDP_DROP);
			if (c->state == XLB_CT_SYN_SENT)
				r = xlb_sp_shift(ctx, p, c->syn_seq + 1, 2);
			else
				r = xlb_sp_shift(ctx, p, -c->syn_seq, 1);
			if (r != XLB_OK)
				return xlb_done(r, XDP_DROP);
		}
		xlb_ct_touch(fk, f, c, p->key.proto, tf, XLB_CT_BY_SERVER, now);
	}

	/* To the client, from the VIP; ICMP errors too, as IPVS does, and
	 * their quote C:cp -> R:rp (LIP:lp -> R:rp) becomes C:cp -> V:vp. */
	s->out.src = fk->dst;
	s->out.sport_be = fk->dport_be;
	s->out.dst = fk->src;
	s->out.dport_be = fk->sport_be;
	s->out.keep_src = 0;
	s->in.src = fk->src;
	s->in.sport_be = fk->sport_be;
	s->in.dst = fk->dst;
	s->in.dport_be = fk->dport_be;
	s->in.keep_src = 0;
	r = xlb_route(ctx, p->key.family, &s->out.src, &s->out.dst, p->l3_len,
		      &rt);
	/* A reply too big for the client's link: the backend learns the
	 * path MTU from a too-big error about the packet as it sent it (from
	 * the address it sent to: the client for nat, the LIP for fullnat). */
	if (r == XLB_R_DROP_TOO_BIG)
		return xlb_nat_too_big(ctx, p, rt.mtu);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	if (p->icmp_err)
		r = xlb_nat_icmp_rewrite(ctx, p, &s->out, &s->in);
	else
		r = xlb_nat_rewrite(ctx, p, &s->out);
	if (r != XLB_OK)
		return xlb_done(r, XDP_DROP);
	xlb_count_out(&svc_stats, c->svc_id, p->frame_len);
	xlb_count_out(&backend_stats, c->backend_id, p->frame_len);
	return xlb_send(ctx, p, &rt);
}

#endif /* XLB_BPF_NAT_H */
