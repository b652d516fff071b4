// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The packet generator of bench/xdp_gen: run by BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, so every XDP_TX leaves the interface given as
 * ingress_ifindex (the client's veth) as a real frame.
 *
 * Every run writes the whole template frame (the kernel recycles frame
 * pages, and whatever the lab did to a page's last frame must not leak into
 * the next) and gives it flow i, i cycling over n_flows per CPU: source
 * address src_base + (i >> 14) (its last byte), source port 1024 +
 * (i & 0x3fff). The checksums (IPv4 header, L4) are updated incrementally
 * (RFC 1624), so every frame is valid for the kernel's stack too (the
 * nftables row). IPv4 frames are 60 bytes (68 with IP options: is_opt),
 * IPv6 ones 80 (82 with a destination-options header: is_opt; a fragment
 * header: is_frag, 80). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define FRAME_MAX 96
#define MAX_CPUS  64

__u8 tmpl[FRAME_MAX];           /* flow 0, checksums valid */
__u32 n_flows;
__u32 is_udp;
__u32 is_v6;
__u32 is_opt;                   /* TCP behind 8 bytes of IPv4 options or an
				 * IPv6 destination-options header */
__u32 is_frag;                  /* IPv6: UDP behind a fragment header */

/* next flow of CPU c at [c * 16]: one cache line per CPU */
__u32 next_flow[MAX_CPUS * 16];

static __always_inline __u16 csum_upd(__u16 sum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~sum + (__u32)(__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Flow i into the len-byte frame b from the template: the source address's
 * last byte at src_last, the source port at sport, the IPv4 header
 * checksum at ip_csum (0: none, IPv6) and the L4 one at l4_csum. Called
 * with constants, one copy per family and protocol. */
static __always_inline int gen(__u8 *b, void *data_end, __u32 i, const int len,
			       const int src_last, const int sport,
			       const int ip_csum, const int l4_csum, int udp)
{
	__u16 o_src, n_src, o_sp, n_sp, c;

	if (b + len > (__u8 *)data_end)
		return XDP_ABORTED;
	__builtin_memcpy(b, tmpl, len);
	o_src = *(__u16 *)(tmpl + src_last - 1);
	b[src_last] = tmpl[src_last] + (__u8)(i >> 14);
	n_src = *(__u16 *)(b + src_last - 1);
	o_sp = *(__u16 *)(tmpl + sport);
	b[sport] = (1024 + (i & 0x3fff)) >> 8;
	b[sport + 1] = (1024 + (i & 0x3fff)) & 0xff;
	n_sp = *(__u16 *)(b + sport);

	if (ip_csum)
		*(__u16 *)(b + ip_csum) = csum_upd(*(__u16 *)(tmpl + ip_csum), o_src, n_src);
	c = csum_upd(*(__u16 *)(tmpl + l4_csum), o_src, n_src);
	c = csum_upd(c, o_sp, n_sp);
	if (udp && c == 0)
		c = 0xffff;
	*(__u16 *)(b + l4_csum) = c;
	return XDP_TX;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 cpu, i;

	cpu = bpf_get_smp_processor_id() & (MAX_CPUS - 1);
	i = next_flow[cpu * 16];
	next_flow[cpu * 16] = i + 1 < n_flows ? i + 1 : 0;

	/* Ethernet 14; IPv4: source address 26-29, checksum 24, L4 at 34;
	 * with 8 bytes of options, L4 at 42; IPv6: source address 22-37, L4
	 * at 54 (62 behind an extension header). L4 checksum: UDP +6, TCP
	 * +16. */
	if (is_v6 && is_opt)
		return gen(data, data_end, i, 82, 37, 62, 0, 78, 0);
	if (is_v6 && is_frag)
		return gen(data, data_end, i, 80, 37, 62, 0, 68, 1);
	if (is_opt)
		return gen(data, data_end, i, 68, 29, 42, 24, 58, 0);
	if (is_v6)
		return is_udp ? gen(data, data_end, i, 80, 37, 54, 0, 60, 1) :
				gen(data, data_end, i, 80, 37, 54, 0, 70, 0);
	return is_udp ? gen(data, data_end, i, 60, 29, 34, 24, 40, 1) :
			gen(data, data_end, i, 60, 29, 34, 24, 50, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
