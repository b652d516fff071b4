// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy's reuseport selector. With one SO_REUSEPORT listener per
 * worker the kernel picks a listener by a hash of the 4-tuple: 32
 * connections land 20/12 as often as 16/16, and a worker with 5 of them
 * idles while the other queues 27. This program, attached to each
 * service's listener group, sends a new TCP connection (its SYN) or a new
 * UDP flow to the least loaded worker, and keeps a UDP flow on the worker
 * it went to first so its session stays there. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "proxy_select.h"

/* Set before loading: how many workers there are. */
const volatile __u32 nworkers = 1;

/* This service's listeners, by worker index. */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, PBAL_MAX_W);
	__type(key, __u32);
	__type(value, __u64);
} listeners SEC(".maps");

/* The workers' loads (shared by every service's selector, mapped by xlbd). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pbal_load);
} load SEC(".maps");

/* A udp flow (the kernel's 4-tuple hash) -> the worker it went to. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PBAL_FLOWS);
	__type(key, __u32);
	__type(value, __u32);
} flows SEC(".maps");

/* The least loaded worker (the first of equals). */
static __always_inline __u32 least_loaded(struct pbal_load *l)
{
	__s64 best = 1ll << 62;
	__u32 k = 0;

	for (__u32 i = 0; i < PBAL_MAX_W && i < nworkers; i++) {
		struct pbal_slot *s = &l->slot[i];
		__s64 pending = (__s64)(s->sel - s->ack);
		__s64 v = (__s64)s->live + (pending > 0 ? pending : 0);

		if (v < best) {
			best = v;
			k = i;
		}
	}
	return k;
}

SEC("sk_reuseport")
int xlb_proxy_bal(struct sk_reuseport_md *ctx)
{
	__u32 hash = ctx->hash, zero = 0, k, *known;
	struct pbal_load *l;

	if (ctx->ip_protocol == IPPROTO_UDP &&
	    (known = bpf_map_lookup_elem(&flows, &hash))) {
		k = *known;
		goto select;
	}
	l = bpf_map_lookup_elem(&load, &zero);
	if (!l)
		return SK_PASS;
	k = least_loaded(l);
	if (k >= PBAL_MAX_W)
		return SK_PASS;
	/* Before k goes to the stack for a helper (the verifier then loses
	 * its bound). */
	__sync_fetch_and_add(&l->slot[k].sel, 1);
	if (ctx->ip_protocol == IPPROTO_UDP)
		bpf_map_update_elem(&flows, &hash, &k, BPF_ANY);
select:
	/* Nothing selected (no listener at k yet): the kernel's hash decides. */
	bpf_sk_select_reuseport(ctx, &listeners, &k, 0);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
