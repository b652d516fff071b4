// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Learns the kernel's HZ by timing bpf_jiffies64 (see hz.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hz.h"
#include "hz_probe.skel.h"

/* The span between the two tick edges timed; a tick edge counts only when
 * the reads before and after it are at most EDGE_NS apart, which bounds
 * the error to 2 * EDGE_NS / SPAN_NS (2%: well inside hz_round's 5%, the
 * closest two HZ being 250 and 300). Edges are awaited for EDGE_WAIT_NS
 * at most (a tick is 10 ms at HZ 100). */
#define SPAN_NS      100000000ull
#define EDGE_NS      1000000ull
#define EDGE_WAIT_NS 500000000ull
#define TRIES        3

static const unsigned int hz_offered[] = { 100, 250, 300, 1000 };

unsigned int hz_round(double per_s)
{
	for (size_t i = 0; i < sizeof(hz_offered) / sizeof(hz_offered[0]); i++) {
		double d = per_s - hz_offered[i];

		if (d <= hz_offered[i] * 0.05 && -d <= hz_offered[i] * 0.05)
			return hz_offered[i];
	}
	return 0;
}

/* One run of the probe: the jiffies and CLOCK_MONOTONIC ns of one instant. */
static int probe(int fd, __u64 *jiffies, __u64 *ns)
{
	__u64 in[8] = { 0 }, out[8];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = sizeof(in),
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int ret = bpf_prog_test_run_opts(fd, &o);

	if (ret)
		return ret;
	if (o.retval != XDP_PASS || o.data_size_out < 2 * sizeof(__u64))
		return -EIO;
	*jiffies = out[0];
	*ns = out[1];
	return 0;
}

/* The next tick edge, read within EDGE_NS of it: *jiffies just after it,
 * *ns when it was read. Polls without sleeping, so that this CPU keeps
 * its tick (and jiffies their pace) while it waits. */
static int edge(int fd, __u64 *jiffies, __u64 *ns)
{
	__u64 j0, t0, j, t, start;
	int ret = probe(fd, &j0, &t0);

	for (start = t0; !ret; j0 = j, t0 = t) {
		ret = probe(fd, &j, &t);
		if (ret)
			break;
		if (j != j0 && t - t0 <= EDGE_NS) {
			*jiffies = j;
			*ns = t;
			return 0;
		}
		if (t - start > EDGE_WAIT_NS)
			return -ETIME;
	}
	return ret;
}

/* One measurement of jiffies per second between two tick edges. */
static int measure(int fd, double *per_s)
{
	struct timespec span = { .tv_nsec = SPAN_NS };
	__u64 j0, t0, j1, t1;
	int ret = edge(fd, &j0, &t0);

	if (!ret)
		nanosleep(&span, NULL);
	if (!ret)
		ret = edge(fd, &j1, &t1);
	if (!ret && t1 <= t0)
		ret = -EIO;
	if (!ret)
		*per_s = (double)(j1 - j0) * 1e9 / (double)(t1 - t0);
	return ret;
}

int hz_learn(unsigned int *hz, char *err, size_t errlen)
{
	struct hz_probe_bpf *s = hz_probe_bpf__open_and_load();
	double per_s = 0;
	int ret, fd;

	if (!s) {
		ret = -errno;
		snprintf(err, errlen, "cannot load the HZ probe: %s", strerror(-ret));
		return ret;
	}
	fd = bpf_program__fd(s->progs.hz_probe);
	for (int i = 0; i < TRIES; i++) {
		ret = measure(fd, &per_s);
		if (ret) {
			snprintf(err, errlen, "cannot time bpf_jiffies64: %s",
				 strerror(-ret));
			break;
		}
		*hz = hz_round(per_s);
		if (*hz)
			break;
		ret = -ERANGE;
		snprintf(err, errlen, "jiffies ran at %.1f per second, near no HZ "
			 "Linux offers (100, 250, 300, 1000)", per_s);
	}
	hz_probe_bpf__destroy(s);
	return ret;
}
