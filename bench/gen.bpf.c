// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The packet generator of bench/xdp_gen: run by BPF_PROG_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES, so every XDP_TX leaves the interface given as
 * ingress_ifindex (the client's veth) as a real frame.
 *
 * Every run writes the whole template frame (the kernel recycles frame
 * pages, and whatever the lab did to a page's last frame must not leak into
 * the next) and gives it flow i, i cycling over n_flows per CPU: source
 * address src_base + (i >> 14) (last byte), source port 1024 + (i & 0x3fff).
 * The IPv4 and L4 checksums are updated incrementally (RFC 1624), so every
 * frame is valid for the kernel's stack too (the nftables row). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define FRAME_LEN 60            /* a minimum-size Ethernet frame without FCS */
#define MAX_CPUS  64

__u8 tmpl[FRAME_LEN];           /* flow 0, checksums valid */
__u32 n_flows;
__u32 l4_csum_off;              /* UDP 40, TCP 50 */
__u32 is_udp;

/* next flow of CPU c at [c * 16]: one cache line per CPU */
__u32 next_flow[MAX_CPUS * 16];

static __always_inline __u16 csum_upd(__u16 sum, __u16 old, __u16 new)
{
	__u32 s = (__u16)~sum + (__u32)(__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *b = data;
	__u32 cpu, i, off;
	__u16 o_src, n_src, o_sp, n_sp, c;

	if (b + FRAME_LEN > (__u8 *)data_end)
		return XDP_ABORTED;
	__builtin_memcpy(b, tmpl, FRAME_LEN);
	cpu = bpf_get_smp_processor_id() & (MAX_CPUS - 1);
	i = next_flow[cpu * 16];
	next_flow[cpu * 16] = i + 1 < n_flows ? i + 1 : 0;

	/* low half of the source address (bytes 28, 29) and the source port */
	o_src = *(__u16 *)(tmpl + 28);
	b[29] = tmpl[29] + (__u8)(i >> 14);
	n_src = *(__u16 *)(b + 28);
	o_sp = *(__u16 *)(tmpl + 34);
	b[34] = (1024 + (i & 0x3fff)) >> 8;
	b[35] = (1024 + (i & 0x3fff)) & 0xff;
	n_sp = *(__u16 *)(b + 34);

	*(__u16 *)(b + 24) = csum_upd(*(__u16 *)(tmpl + 24), o_src, n_src);
	off = l4_csum_off == 40 ? 40 : 50;
	c = csum_upd(*(__u16 *)(tmpl + off), o_src, n_src);
	c = csum_upd(c, o_sp, n_sp);
	if (is_udp && c == 0)
		c = 0xffff;
	*(__u16 *)(b + off) = c;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
