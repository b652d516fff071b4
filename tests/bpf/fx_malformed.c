// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* BPF fixtures: malformed and unsupported frames, each passed or dropped
 * untouched under its own reason. */
#include "fixture.h"

static void m_eth_only4(struct pkt *p) { memset(p, 0, sizeof(*p)); eth(p, MAC_XA, MAC_CLIENT, 0x0800); }
static void m_eth_only6(struct pkt *p) { memset(p, 0, sizeof(*p)); eth(p, MAC_XA, MAC_CLIENT, 0x86dd); }
static void m_ip4_trunc(struct pkt *p) { base4(p, 6, 0); p->len = 14 + 19; }
static void m_ip6_trunc(struct pkt *p) { base6(p, 6, 0); p->len = 14 + 39; }
static void m_ihl_lt5(struct pkt *p) { base4(p, 6, 10); p->b[14] = 0x44; ip4_recsum(p); }
static void m_ver4_bad(struct pkt *p) { base4(p, 6, 10); p->b[14] = 0x65; }
static void m_ver6_bad(struct pkt *p) { base6(p, 6, 10); p->b[14] = 0x40; }
static void m_totlen_gt(struct pkt *p) { base4(p, 6, 10); set16(p->b + 16, p->len - 14 + 1); ip4_recsum(p); }
static void m_totlen_lt_ihl(struct pkt *p) { base4(p, 6, 10); set16(p->b + 16, 16); ip4_recsum(p); }
static void m_ip6_plen_gt(struct pkt *p) { base6(p, 6, 10); set16(p->b + 18, get16(p->b + 18) + 1); }
static void m_ip6_plen_zero(struct pkt *p) { base6(p, 6, 10); set16(p->b + 18, 0); }
static void m_doff_lt5(struct pkt *p) { base4(p, 6, 10); p->b[14 + 20 + 12] = 0x40; }
static void m_doff_gt(struct pkt *p) { base4(p, 6, 10); p->b[14 + 20 + 12] = 0xf0; }
static void m_sctp(struct pkt *p) { base4(p, 6, 10); p->b[14 + 9] = 132; ip4_recsum(p); }
static void m_vlan_trunc(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x8100);
	put16(p, 42);
}

static void m_vlan_ip_trunc(struct pkt *p)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40000, .dport = 80, .vid = 42 };

	pkt_mk(p, &s);
	p->len = 18 + 12;
}

static void m_qinq(struct pkt *p)
{
	struct pkt in;

	base4(&in, 6, 10);
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x8100);
	put16(p, 42);
	put16(p, 0x8100);
	put16(p, 43);
	put16(p, 0x0800);
	put(p, in.b + 14, in.len - 14);
}

static void m_ihl_gt_len(struct pkt *p)
{
	/* The header claims 60 bytes (and so does tot_len); 40 are there. */
	base4(p, 6, 0);
	p->b[14] = 0x4f;
	set16(p->b + 16, 60);
	ip4_recsum(p);
}

static void m_ip6_ext_trunc(struct pkt *p)
{
	base6(p, 6, 10);
	ip6_insert(p, 60, (uint8_t[]){ 6, 4, 1, 4, 0, 0, 0, 0 });   /* says 40 bytes */
}

static void m_ip6_rh(struct pkt *p)
{
	base6(p, 17, 10);
	ip6_insert(p, 43, (uint8_t[]){ 17, 0, 0, 1, 0, 0, 0, 0 });  /* a segment left */
}

static void m_ip6_ah(struct pkt *p)
{
	base6(p, 6, 10);
	ip6_insert(p, 51, (uint8_t[]){ 6, 0, 0, 0, 0, 0, 0, 0 });
}

static void m_ip6_ext_many(struct pkt *p)
{
	base6(p, 6, 10);
	for (int i = 0; i < 5; i++)
		ip6_insert(p, 60, (uint8_t[]){ p->b[20], 0, 1, 4, 0, 0, 0, 0 });
}

static void m_tcp_trunc(struct pkt *p)
{
	base4(p, 6, 0);
	set16(p->b + 16, 30);
	ip4_recsum(p);
	p->len = 14 + 30;
}

static void m_udp_trunc(struct pkt *p)
{
	base4(p, 17, 0);
	set16(p->b + 16, 24);
	ip4_recsum(p);
	p->len = 14 + 24;
}

static void m_udp6_trunc(struct pkt *p)
{
	base6(p, 17, 0);
	set16(p->b + 18, 4);
	p->len = 14 + 44;
}

static void m_arp(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x0806);
	p->len += 28;
}

static void m_icmp_trunc(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	eth(p, MAC_XA, MAC_CLIENT, 0x0800);
	ip4(p, CLIENT4, VIP_DR4, 1, 4, 0, 1);
	put32(p, 0x03040000);
}

static void m_icmp_inner_trunc(struct pkt *p)
{
	struct spec s = { .fam = 4, .src = CLIENT4, .dst = VIP_DR4, .proto = 6,
			  .sport = 40000, .dport = 80, .paylen = 10 };

	icmp_err_mk(p, &s, 3, 1, 0);
	p->len = 14 + 20 + 8 + 10;
	set16(p->b + 16, 38);
	ip4_recsum(p);
}

ROW(r_zero_len)
{
	struct pkt in, out;
	int v, err;

	memset(&in, 0, sizeof(in));
	err = run_prog(bpf_program__fd(skel->progs.xlb_xdp), &in, &out, ifx_xa, &v);
	if (err == -EINVAL) {
		snprintf(why, n, "the kernel refuses frames under 14 bytes before any XDP program runs");
		return 1;
	}
	if (err || v != XDP_DROP_) {
		snprintf(why, n, "err %d verdict %s", err, vname(v));
		return -1;
	}
	return 0;
}

static const struct row rows[] = {
	{ .desc = "zero-length frame", .fn = r_zero_len },
	{ .desc = "Ethernet only, IPv4 ethertype", .mk = m_eth_only4, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "Ethernet only, IPv6 ethertype", .mk = m_eth_only6, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv4 header truncated", .mk = m_ip4_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv6 header truncated", .mk = m_ip6_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv4 IHL < 5", .mk = m_ihl_lt5, .verdict = XDP_DROP_, .reason = XLB_R_DROP_BAD_HEADER },
	{ .desc = "IPv4 IHL beyond the frame", .mk = m_ihl_gt_len, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv4 version 6 behind ethertype IPv4", .mk = m_ver4_bad, .verdict = XDP_DROP_, .reason = XLB_R_DROP_BAD_HEADER },
	{ .desc = "IPv6 version 4 behind ethertype IPv6", .mk = m_ver6_bad, .verdict = XDP_DROP_, .reason = XLB_R_DROP_BAD_HEADER },
	{ .desc = "IPv4 tot_len > frame", .mk = m_totlen_gt, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv4 tot_len < IHL*4", .mk = m_totlen_lt_ihl, .verdict = XDP_DROP_, .reason = XLB_R_DROP_BAD_HEADER },
	{ .desc = "IPv6 payload_len > frame", .mk = m_ip6_plen_gt, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv6 payload_len 0 (TCP does not fit)", .mk = m_ip6_plen_zero, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv6 options header longer than the packet", .mk = m_ip6_ext_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "IPv6 routing header with a segment left passed", .mk = m_ip6_rh, .verdict = XDP_PASS_, .reason = XLB_R_PASS_IPV6_EXT },
	{ .desc = "IPv6 AH passed", .mk = m_ip6_ah, .verdict = XDP_PASS_, .reason = XLB_R_PASS_IPV6_EXT },
	{ .desc = "IPv6 five extension headers passed", .mk = m_ip6_ext_many, .verdict = XDP_PASS_, .reason = XLB_R_PASS_IPV6_EXT },
	{ .desc = "VLAN tag truncated", .mk = m_vlan_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "VLAN-tagged IPv4 truncated", .mk = m_vlan_ip_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "two VLAN tags (QinQ) passed", .mk = m_qinq, .verdict = XDP_PASS_, .reason = XLB_R_PASS_NOT_IP },
	{ .desc = "TCP header truncated", .mk = m_tcp_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "UDP header truncated", .mk = m_udp_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "UDP/IPv6 header truncated", .mk = m_udp6_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "TCP doff < 5", .mk = m_doff_lt5, .verdict = XDP_DROP_, .reason = XLB_R_DROP_BAD_HEADER },
	{ .desc = "TCP doff beyond the segment", .mk = m_doff_gt, .verdict = XDP_DROP_, .reason = XLB_R_DROP_BAD_HEADER },
	{ .desc = "ICMP header truncated", .mk = m_icmp_trunc, .verdict = XDP_DROP_, .reason = XLB_R_DROP_TRUNCATED },
	{ .desc = "ICMP error with truncated quote", .mk = m_icmp_inner_trunc, .verdict = XDP_PASS_, .reason = XLB_R_PASS_ICMP_NOT_OURS },
	{ .desc = "unsupported: ARP passed", .mk = m_arp, .verdict = XDP_PASS_, .reason = XLB_R_PASS_NOT_IP },
	{ .desc = "unsupported: SCTP to a VIP passed", .mk = m_sctp, .verdict = XDP_PASS_, .reason = XLB_R_PASS_PROTO },
};

const struct suite fx_malformed = { "malformed", rows, sizeof(rows) / sizeof(rows[0]) };
