// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A fast packet generator for the lab: BPF_PROG_RUN of bench/gen.bpf.c with
 * BPF_F_TEST_XDP_LIVE_FRAMES (kernel >= 5.18), ingress_ifindex = IFNAME, so
 * each XDP_TX of the program leaves IFNAME as a real frame. Run it inside
 * the client's network namespace (ip netns exec).
 *
 * Frames: IPv4 (60 bytes) or IPv6 (80 bytes), as DST is; UDP (18 bytes of
 * payload), TCP SYN or TCP ACK (-p udp|tcp|ack), and two kinds the fast
 * path does not see in the common way: a TCP SYN with 8 bytes of IPv4
 * options (seven NOPs and an end of list) or an IPv6 destination-options
 * header (PadN) before TCP (-p synopt; 68- and 82-byte frames), and the
 * first fragment of a UDP datagram that never completes (-p frag: offset
 * 0, more fragments, identification 0x4242; IPv6 by a fragment header,
 * with 10 bytes of payload), from
 * SRC_BASE + k : 1024 + j to DST:DPORT, cycling over FLOWS flows (k = i >> 14
 * added to the address's last byte, j = i & 0x3fff), valid checksums;
 * Ethernet source the interface's MAC, destination DMAC (the balancer's).
 * SRC_BASE defaults to 198.18.64.0, or 2001:db8:40:: for an IPv6 DST.
 *
 * Bounded: stops after PACKETS frames or SECONDS seconds, whichever comes
 * first (checked between calls, each sized to end before the deadline at
 * the rate seen so far), or at SIGINT/SIGTERM after the current call (a
 * test stops a flood once its clients are done); with -r, each thread sends at most PPS frames per
 * second (calls of PPS/20 frames, a sleep after each). Prints
 *   packets=N seconds=S pps=R threads=T cpu=C
 * where S is the wall time from the first call to the end of the last and C
 * the CPU time of the sending threads (CLOCK_THREAD_CPUTIME_ID). The frames'
 * way through the lab (veth NAPI, bridge, the balancer's XDP or stack, the
 * sinks) mostly runs as softirq work on the sending CPU, inside the thread's
 * time, so C is close to what the whole path cost; softirq work deferred to
 * ksoftirqd is not in it (bench/e2e_packet.sh adds that).
 *
 * Usage: xdp_gen -i IFNAME -m DMAC -d DST [-P DPORT] [-p udp|tcp|ack|synopt|frag]
 *                [-s SRC_BASE] [-f FLOWS] [-n PACKETS] [-t SECONDS]
 *                [-T THREADS] [-b BATCH] [-R RT_PRIO] [-r PPS]
 * -R: the sending threads run SCHED_FIFO at RT_PRIO (1-99), bounded by the
 * kernel's RT throttling (95% of each second by default). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gen.skel.h"

#define FRAME_MAX 96             /* gen.bpf.c's tmpl; the longest frame is 82 */
#define EXT_LEN 8                /* -p synopt's IPv4 options, IPv6 extension headers */
#define CHUNK_MIN (1u << 14)     /* frames per BPF_PROG_RUN call: the first, the least */
#define CHUNK_MAX (1u << 21)
#define CHUNK_SECS 0.2           /* what later calls aim at */
#define MAX_THREADS 64

static struct gen_bpf *skel;
static uint8_t frame[FRAME_MAX];
static uint32_t frame_len;
static int ifindex, prog_fd, batch, rt_prio;
static uint32_t max_pps;        /* -r: per thread; 0 = as fast as possible */
static uint64_t max_packets;
static double max_secs, t_start;
static volatile int stop;
static uint64_t sent[MAX_THREADS];
static int run_err[MAX_THREADS];
static double cpu[MAX_THREADS];         /* CPU time of each sender thread */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* An address of either family: 4 or 16 bytes in a. */
struct gen_addr {
	int v6;
	uint8_t a[16];
};

/* flow 0's frame with valid checksums (frame_len bytes): Ethernet, the IP
 * header of src's family (with options, or the first fragment of a longer
 * datagram: opt, frag), then UDP with its payload or a 20-byte TCP header
 * (and zero padding up to the frame's length). The UDP checksum of a
 * fragment is that of the bytes sent, as if the datagram ended there: its
 * real end never comes. */
static void build(const uint8_t *dmac, const uint8_t *smac,
		  const struct gen_addr *src, const struct gen_addr *dst,
		  uint16_t dport, int udp, uint8_t tcp_flags, int opt, int frag)
{
	int v6 = src->v6, alen = v6 ? 16 : 4, ihl = 20 + (opt ? EXT_LEN : 0);
	int ext = v6 && (opt || frag) ? EXT_LEN : 0;
	uint8_t *ip = frame + 14, *l4 = ip + (v6 ? 40 + ext : ihl), ph[40];
	uint16_t l4len, c;
	uint32_t s;

	frame_len = v6 ? (opt ? 82 : 80) : 40 + ihl;
	l4len = udp ? frame_len - (uint32_t)(l4 - frame) : 20;
	memset(frame, 0, sizeof(frame));
	memcpy(frame, dmac, 6);
	memcpy(frame + 6, smac, 6);
	if (v6) {
		frame[12] = 0x86;
		frame[13] = 0xdd;
		ip[0] = 0x60;
		ip[4] = (ext + l4len) >> 8;
		ip[5] = (ext + l4len) & 0xff;
		ip[6] = frag ? 44 : opt ? 60 : udp ? 17 : 6;
		if (frag) {             /* fragment header: offset 0, M */
			ip[40] = 17;
			ip[43] = 1;
			ip[46] = 0x42;  /* identification */
			ip[47] = 0x42;
		} else if (opt) {       /* destination options: PadN */
			ip[40] = 6;
			ip[42] = 1;
			ip[43] = 4;
		}
		ip[7] = 64;
		memcpy(ip + 8, src->a, 16);
		memcpy(ip + 24, dst->a, 16);
	} else {
		frame[12] = 0x08;
		ip[0] = 0x40 | ihl / 4;
		ip[2] = (ihl + l4len) >> 8;
		ip[3] = (ihl + l4len) & 0xff;
		if (frag) {
			ip[4] = 0x42;   /* identification */
			ip[5] = 0x42;
			ip[6] = 0x20;   /* MF, offset 0 */
		} else {
			ip[6] = 0x40;   /* DF */
		}
		ip[8] = 64;
		ip[9] = udp ? 17 : 6;
		memcpy(ip + 12, src->a, 4);
		memcpy(ip + 16, dst->a, 4);
		if (opt) {
			memset(ip + 20, 1, EXT_LEN - 1);        /* NOP */
			ip[20 + EXT_LEN - 1] = 0;               /* end of list */
		}
		c = csum_fold(csum_add(0, ip, ihl));
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	}
	l4[0] = 1024 >> 8;              /* source port of flow 0 */
	l4[1] = 1024 & 0xff;
	l4[2] = dport >> 8;
	l4[3] = dport & 0xff;
	if (udp) {
		l4[4] = l4len >> 8;
		l4[5] = l4len & 0xff;
		memcpy(l4 + 8, "xlb-bench-xdp-gen!", l4len - 8);
	} else {
		l4[4] = 0x12;           /* sequence number */
		l4[5] = 0x34;
		l4[12] = 0x50;          /* 20-byte header */
		l4[13] = tcp_flags;     /* SYN, or a bare ACK */
		l4[14] = 0xff;          /* window */
		l4[15] = 0xff;
	}
	/* The pseudo-header: addresses, then length and protocol (IPv4: 12
	 * bytes; IPv6: 40, RFC 8200 8.1). */
	memset(ph, 0, sizeof(ph));
	memcpy(ph, src->a, alen);
	memcpy(ph + alen, dst->a, alen);
	if (v6) {
		ph[34] = l4len >> 8;
		ph[35] = l4len & 0xff;
		ph[39] = udp ? 17 : 6;
	} else {
		ph[9] = udp ? 17 : 6;
		ph[10] = l4len >> 8;
		ph[11] = l4len & 0xff;
	}
	s = csum_add(csum_add(0, ph, v6 ? 40 : 12), l4, l4len);
	c = csum_fold(s);
	if (udp && c == 0)
		c = 0xffff;
	l4[udp ? 6 : 16] = c >> 8;
	l4[udp ? 7 : 17] = c & 0xff;
}

/* s as an address of either family; 0, or -1 when it is neither. */
static int parse_addr(const char *s, struct gen_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1)
		return 0;
	a->v6 = 1;
	return inet_pton(AF_INET6, s, a->a) == 1 ? 0 : -1;
}

static void *sender(void *arg)
{
	long t = (long)arg;
	struct xdp_md md;
	cpu_set_t cs;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&cs);
	CPU_SET((int)(t % (ncpu > 0 ? ncpu : 1)), &cs);
	pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
	if (rt_prio) {
		/* Nothing else preempts the sender, so the softirq work its
		 * frames raise runs inline, in its own CPU time. */
		struct sched_param sp = { .sched_priority = rt_prio };

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
			fprintf(stderr, "xdp_gen: SCHED_FIFO refused, running without\n");
	}
	struct timespec c0, c1;

	uint32_t chunk = CHUNK_MIN;
	double rate = 0;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	memset(&md, 0, sizeof(md));
	md.data_end = frame_len;
	md.ingress_ifindex = ifindex;
	while (!stop) {
		uint64_t tot = 0, rem;
		double t0 = now_s(), left = max_secs - (t0 - t_start), dt;
		uint32_t rep = chunk;

		for (int k = 0; k < MAX_THREADS; k++)
			tot += __atomic_load_n(&sent[k], __ATOMIC_RELAXED);
		rem = tot < max_packets ? max_packets - tot : 0;
		if (!rem || left <= 0)
			break;
		if (rep > rem)
			rep = (uint32_t)rem;
		if (rate > 0 && rep > rate * left + CHUNK_MIN)
			rep = (uint32_t)(rate * left) + CHUNK_MIN;
		if (max_pps && rep > max_pps / 20 + 1)
			rep = max_pps / 20 + 1;
		LIBBPF_OPTS(bpf_test_run_opts, o,
			    .data_in = frame,
			    .data_size_in = frame_len,
			    .ctx_in = &md,
			    .ctx_size_in = sizeof(md),
			    .repeat = rep,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = batch);
		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			run_err[t] = errno;
			stop = 1;
			break;
		}
		__atomic_add_fetch(&sent[t], rep, __ATOMIC_RELAXED);
		/* Every call ends in an RCU grace period (the kernel tears its
		 * page pool down): calls of ~CHUNK_SECS keep that wait small
		 * next to the sending, and the time bound's step short. */
		dt = now_s() - t0;
		if (max_pps && dt < (double)rep / max_pps) {
			double w = (double)rep / max_pps - dt;
			struct timespec ts = { (time_t)w, (long)((w - (time_t)w) * 1e9) };

			nanosleep(&ts, NULL);
			continue;
		}
		if (dt > 0) {
			rate = rep / dt;
			chunk = rate * CHUNK_SECS < CHUNK_MIN ? CHUNK_MIN :
				rate * CHUNK_SECS > CHUNK_MAX ? CHUNK_MAX :
				(uint32_t)(rate * CHUNK_SECS);
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	cpu[t] = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9;
	return NULL;
}

static void on_stop(int sig)
{
	stop = 1;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2],
		      &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

static int print_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dmac_s = NULL, *dst_s = NULL, *src_s = NULL;
	uint8_t dmac[6], smac[6];
	struct gen_addr src, dst;
	unsigned long flows = 131072;
	int dport = 80, udp = 1, threads = 1, o, ncpu, opt = 0, frag = 0;
	uint8_t tcp_flags = 0x02;
	pthread_t th[MAX_THREADS];
	struct ifreq ifr;
	uint64_t total = 0;
	double secs, cpus = 0;
	int fd;

	max_packets = 4000000;
	max_secs = 2;
	while ((o = getopt(argc, argv, "i:m:d:P:p:s:f:n:t:T:b:R:r:")) != -1) {
		switch (o) {
		case 'i': ifname = optarg; break;
		case 'm': dmac_s = optarg; break;
		case 'd': dst_s = optarg; break;
		case 'P': dport = atoi(optarg); break;
		case 'p':
			if (strcmp(optarg, "udp") && strcmp(optarg, "tcp") &&
			    strcmp(optarg, "ack") && strcmp(optarg, "synopt") &&
			    strcmp(optarg, "frag")) {
				fprintf(stderr, "xdp_gen: -p %s: expected udp, tcp, ack, "
					"synopt or frag\n", optarg);
				return 2;
			}
			frag = !strcmp(optarg, "frag");
			udp = frag || !strcmp(optarg, "udp");
			opt = !strcmp(optarg, "synopt");
			tcp_flags = strcmp(optarg, "ack") ? 0x02 : 0x10;
			break;
		case 'r': max_pps = strtoul(optarg, NULL, 0); break;
		case 's': src_s = optarg; break;
		case 'f': flows = strtoul(optarg, NULL, 0); break;
		case 'n': max_packets = strtoull(optarg, NULL, 0); break;
		case 't': max_secs = atof(optarg); break;
		case 'T': threads = atoi(optarg); break;
		case 'b': batch = atoi(optarg); break;
		case 'R': rt_prio = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s -i IFNAME -m DMAC -d DST [-P DPORT] "
				"[-p udp|tcp|ack|synopt|frag] [-s SRC_BASE] [-f FLOWS] [-n PACKETS] "
				"[-t SECONDS] [-T THREADS] [-b BATCH] [-R RT_PRIO] [-r PPS]\n",
				argv[0]);
			return 2;
		}
	}
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (dst_s && !src_s)
		src_s = strchr(dst_s, ':') ? "2001:db8:40::" : "198.18.64.0";
	if (!ifname || !dmac_s || !dst_s || parse_mac(dmac_s, dmac) ||
	    parse_addr(dst_s, &dst) || parse_addr(src_s, &src) || src.v6 != dst.v6 ||
	    flows < 1 || flows > (1ul << 22) ||
	    src.a[src.v6 ? 15 : 3] + ((flows - 1) >> 14) > 255 ||
	    threads < 1 || threads > MAX_THREADS || dport < 1 || dport > 65535 ||
	    rt_prio < 0 || rt_prio > 99 ||
	    max_secs <= 0 || max_secs > 60 || max_packets < 1 ||
	    max_packets > 1000000000ull) {
		fprintf(stderr, "xdp_gen: bad arguments (DST and SRC_BASE of one family, "
			"flows 1..%lu with SRC_BASE's last byte + flows/16384 <= 255, "
			"seconds 0..60, packets <= 1e9)\n",
			1ul << 22);
		return 2;
	}
	ifindex = (int)if_nametoindex(ifname);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ifindex || fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "xdp_gen: no interface %s here\n", ifname);
		return 1;
	}
	close(fd);
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	build(dmac, smac, &src, &dst, (uint16_t)dport, udp, tcp_flags, opt, frag);

	libbpf_set_print(print_libbpf);
	skel = gen_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "xdp_gen: cannot load gen.bpf.o\n");
		return 1;
	}
	memcpy(skel->bss->tmpl, frame, sizeof(frame));
	skel->bss->n_flows = (uint32_t)flows;
	skel->bss->is_udp = udp;
	skel->bss->is_v6 = dst.v6;
	skel->bss->is_opt = opt;
	skel->bss->is_frag = frag;
	/* Each CPU starts at its own place in the cycle. */
	for (int c = 0; c < 64; c++)
		skel->bss->next_flow[c * 16] = (uint32_t)((uint64_t)flows * (c % (ncpu > 0 ? ncpu : 1)) /
						    (ncpu > 0 ? ncpu : 1));
	prog_fd = bpf_program__fd(skel->progs.xdp_gen);

	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	t_start = now_s();
	for (long t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, sender, (void *)t);
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	secs = now_s() - t_start;
	for (int t = 0; t < threads; t++) {
		if (run_err[t]) {
			fprintf(stderr, "xdp_gen: BPF_PROG_RUN: %s\n", strerror(run_err[t]));
			gen_bpf__destroy(skel);
			return 1;
		}
		total += sent[t];
		cpus += cpu[t];
	}
	printf("packets=%llu seconds=%.4f pps=%.0f threads=%d cpu=%.4f\n",
	       (unsigned long long)total, secs, total / secs, threads, cpus);
	gen_bpf__destroy(skel);
	return 0;
}
