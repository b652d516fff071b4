/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-CPU counters: one per reason, per service and per backend. */
#ifndef XLB_BPF_COUNTERS_H
#define XLB_BPF_COUNTERS_H

#include "maps.h"

/* Counts the packet under reason and returns action, so every exit of the
 * program reads `return xlb_done(REASON, ACTION)` and none goes uncounted. */
static __always_inline int xlb_done(__u32 reason, int action)
{
	__u64 *c = bpf_map_lookup_elem(&reason_stats, &reason);

	if (c)
		*c += 1;
	return action;
}

/* Counts one action of the flood guard. */
static __always_inline void xlb_guard_count(__u32 ev)
{
	__u64 *c = bpf_map_lookup_elem(&guard_stats, &ev);

	if (c)
		*c += 1;
}

static __always_inline void xlb_count(void *map, __u32 id, __u64 bytes,
				      int new_flow)
{
	struct xlb_counter *c = bpf_map_lookup_elem(map, &id);

	if (!c)
		return;
	c->packets += 1;
	c->bytes += bytes;
	if (new_flow)
		c->new_flows += 1;
}

/* A reply going back to the client through the balancer (nat, fullnat). */
static __always_inline void xlb_count_out(void *map, __u32 id, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(map, &id);

	if (!c)
		return;
	c->packets_out += 1;
	c->bytes_out += bytes;
}

#endif /* XLB_BPF_COUNTERS_H */
