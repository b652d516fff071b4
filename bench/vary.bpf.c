// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The front program of bench/xdp_cost. BPF_PROG_TEST_RUN repeats one buffer
 * and keeps whatever the previous run did to it (a nat rewrite, a tunnel
 * header), so before every run this program puts the template frame back,
 * optionally gives the run its own client tuple, and tail-calls the program
 * under test (xlb_xdp or the baseline: both pay for the front, and
 * xdp_cost subtracts it).
 *
 * vary == 0: the template's tuple (one established flow).
 * vary != 0: run i uses flow (i % n_flows) (n_flows == 0: i itself): the
 * client's source port takes the low 15 bits, the last two bytes of its
 * address the next 16. Checksums are left stale on purpose: xlb updates
 * them incrementally and never verifies them, so the cost is the same. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PKT_LEN 96              /* the frame size of every xdp_cost row */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

__u8 tmpl[PKT_LEN];     /* the frame every run starts from */
__u32 vary;
__u32 n_flows;
__u32 run_no;           /* runs so far (a test run stays on one CPU) */

SEC("xdp")
int vary_front(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	long len = data_end - data;
	__u8 *b;
	__u32 i, l4;

	/* Undo a previous run's bpf_xdp_adjust_head (tunnel headers) or
	 * bpf_xdp_adjust_tail (the SYN proxy's answer, shorter). */
	if (len > PKT_LEN && bpf_xdp_adjust_head(ctx, (int)(len - PKT_LEN)))
		return XDP_ABORTED;
	if (len < PKT_LEN && bpf_xdp_adjust_tail(ctx, (int)(PKT_LEN - len)))
		return XDP_ABORTED;
	b = (void *)(long)ctx->data;
	if ((void *)(b + PKT_LEN) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	__builtin_memcpy(b, tmpl, PKT_LEN);
	if (vary) {
		i = run_no++;
		if (n_flows)
			i %= n_flows;
		if (b[12] == 0x08) {            /* IPv4: saddr at 26, L4 at 34 */
			b[28] = (i >> 23) & 0xff;
			b[29] = (i >> 15) & 0xff;
			l4 = 34;
		} else {                        /* IPv6: saddr at 22, L4 at 54 */
			b[36] = (i >> 23) & 0xff;
			b[37] = (i >> 15) & 0xff;
			l4 = 54;
		}
		b[l4] = (1024 + (i & 0x7fff)) >> 8;
		b[l4 + 1] = (1024 + (i & 0x7fff)) & 0xff;
	}
	bpf_tail_call(ctx, &target, 0);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
