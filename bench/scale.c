// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Flow table and scheduler scale (issue 6, part 3):
 *
 * 1. Map memory per flow: xlb.bpf.o is loaded with its default 1M-entry
 *    flows and nat_rev tables (both sized by flow_table_size, in every mode)
 *    and dr/tun tables for 1M flows per family (dsr_flows4/6 and the
 *    5-tuples beside them, dsr_keys4/6: xlb_dsr_buckets(dsr_flow_table_size)
 *    buckets each) and the kernel's
 *    own figure is read back: "memlock" in
 *    /proc/self/fdinfo of each map (what `bpftool map show` prints; both
 *    maps are preallocated, so it is memory held, not a bound). Bytes per
 *    flow = memlock / max_entries.
 * 2. The largest flow_table_size whose two maps fit in 1 GiB (and the
 *    largest dsr_flow_table_size whose four maps alone do): maps of the
 *    same type, key, value and flags as xlb's are created at growing sizes
 *    and their memlock read; between powers of two the cost is linear (a
 *    hash map's bucket array only grows at a power of two; the dr/tun
 *    tables are arrays of exactly the buckets they need), so two probes
 *    give the line, and the answer is checked by creating the maps at it
 *    and one step beyond.
 * 3. Maglev table build time (src/lib/maglev.c, the daemon's builder, which
 *    is deterministic: no previous table; CPU time of the thread) for 10,
 *    100, 1000 equal-weight backends at M = 65537, against the paper's
 *    1.8 ms (Eisenbud et al., NSDI 2016, other hardware) and, measured in
 *    the same run, the paper's own populate loop (Algorithm 1, permutation
 *    computed on the fly).
 * 4. Flows remapped when one of N backends is removed: the fraction of the
 *    M slots whose backend changes (flows hash uniformly onto slots, so
 *    this is the expected fraction of new-flow decisions that change; flows
 *    already in the flow table stay where they are either way), against
 *    the bound 1/N + 1% (issue 10), averaged over several removed backends.
 *
 * Usage: scale [-q]   (-q: fewer repetitions, no 1 GiB search). Needs root
 * for the maps.
 * Prints a markdown table; appends one JSON object per row to $BENCH_JSONL
 * when it is set. Nothing here asserts a timing. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maglev.h"
#include "xlb_abi.h"
#include "xlb_cfgslots.h"
#include "xlb_dsrtab.h"
#include "xlb.skel.h"

#define GiB (1ull << 30)
#define M_SIZE 65537u

static int quick;
static FILE *jsonl;

/* ---- output ------------------------------------------------------------- */

static void row(const char *name, const char *measured, const char *target,
		const char *status, const char *extra_fmt, ...)
{
	char extra[512] = "";
	va_list ap;

	printf("| %s | %s | %s | %s |\n", name, measured, target, status);
	if (!jsonl)
		return;
	if (extra_fmt) {
		va_start(ap, extra_fmt);
		vsnprintf(extra, sizeof(extra), extra_fmt, ap);
		va_end(ap);
	}
	fprintf(jsonl, "{\"bench\":\"scale\",\"row\":\"%s\",\"measured\":\"%s\","
		"\"target\":\"%s\",\"status\":\"%s\"%s%s}\n",
		name, measured, target, status, extra[0] ? "," : "", extra);
}

/* ---- map memory ----------------------------------------------------------- */

/* "memlock:" of an fd in /proc/self/fdinfo, or 0. */
static uint64_t memlock_of(int fd)
{
	char path[64], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lu", &v) == 1)
			break;
	fclose(f);
	return v;
}

struct mapdef {
	enum bpf_map_type type;
	uint32_t key, value, flags;
};

static struct mapdef def_flows, def_rev, def_dsr4, def_dsr6, def_keys4, def_keys6;

static struct mapdef mapdef_of(const struct bpf_map *m)
{
	return (struct mapdef){ bpf_map__type(m), bpf_map__key_size(m),
				bpf_map__value_size(m), bpf_map__map_flags(m) };
}

/* memlock of a map like d at n entries; 0 on failure. */
static uint64_t probe(const struct mapdef *d, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = d->flags);
	uint64_t v;
	int fd;

	fd = bpf_map_create(d->type, "xlb_scale", d->key, d->value, n, &o);
	if (fd < 0)
		return 0;
	v = memlock_of(fd);
	close(fd);
	return v;
}

/* Both maps at n entries: flows + nat_rev, as xlbd creates them; or the
 * dr/tun tables alone for n flows per family: dsr_flows4 + dsr_flows6 and
 * the 5-tuples beside them, dsr_keys4 + dsr_keys6, at xlb_dsr_buckets(n)
 * each (what a dr/tun-only balancer needs). */
static int dsr_only;

static uint64_t probe_both(uint32_t n)
{
	uint64_t a, b;

	if (dsr_only) {
		uint32_t nb = xlb_dsr_buckets(n);
		uint64_t k4 = probe(&def_keys4, nb), k6 = probe(&def_keys6, nb);

		a = probe(&def_dsr4, nb);
		b = probe(&def_dsr6, nb);
		a = a && k4 ? a + k4 : 0;
		b = b && k6 ? b + k6 : 0;
	} else {
		a = probe(&def_flows, n);
		b = probe(&def_rev, n);
	}

	return a && b ? a + b : 0;
}

/* Largest n with probe_both(n) <= 1 GiB. First the power of two range it
 * lies in, then the line through two probes in that range (a hash map's
 * bucket array only grows at powers of two), then settle on the boundary. */
static uint32_t largest_in_gib(void)
{
	uint64_t lo_m, hi_m = 0, m;
	uint32_t k, lo, hi, best;
	double slope;

	for (k = 16; k < 30; k++) {
		hi_m = probe_both(1u << (k + 1));
		if (!hi_m)
			return 0;
		if (hi_m > GiB)
			break;
	}
	lo = (1u << k) + 1;
	hi = 1u << (k + 1);
	lo_m = probe_both(lo);
	if (!lo_m)
		return 0;
	if (lo_m > GiB)                 /* crosses right at the power of two */
		return 1u << k;
	slope = (double)(hi_m - lo_m) / (hi - lo);
	best = lo + (uint32_t)((GiB - lo_m) / slope);
	while (best > lo && probe_both(best) > GiB)
		best--;
	while (best < hi && (m = probe_both(best + 1)) && m <= GiB)
		best++;
	return best;
}

/* The memory row of a map like d holding mem bytes at n entries. */
static void mem_row(const char *name, uint64_t mem, uint32_t n, const struct mapdef *d)
{
	char meas[256];

	snprintf(meas, sizeof(meas), "%.1f B (%lu B at %u entries; key %u B, value %u B, %s)",
		 (double)mem / n, (unsigned long)mem, n, d->key, d->value,
		 d->type == BPF_MAP_TYPE_LRU_HASH ? "LRU hash" : "hash");
	row(name, meas, "none set", "measured",
	    "\"bytes_per_flow\":%.1f,\"memlock\":%lu,\"entries\":%u",
	    (double)mem / n, (unsigned long)mem, n);
}

/* The row of a dr/tun table: its buckets (mem) and 5-tuples (keys) for n
 * flows. */
static void dsr_row(const char *name, uint64_t mem, uint64_t keys, uint32_t n)
{
	char meas[256];

	snprintf(meas, sizeof(meas), "%.1f B (%lu B of buckets and %lu B of 5-tuples "
		 "for %u flows, %u slots each)", (double)(mem + keys) / n,
		 (unsigned long)mem, (unsigned long)keys, n, XLB_DSR_SLOTS_PER_FLOW);
	row(name, meas, "none set", "measured",
	    "\"bytes_per_flow\":%.1f,\"memlock\":%lu,\"entries\":%u",
	    (double)(mem + keys) / n, (unsigned long)(mem + keys), n);
}

/* The row of two maps sized alike: memory a at na entries, b at nb. */
static void sum_row(const char *name, uint64_t a, uint32_t na, uint64_t b, uint32_t nb)
{
	char meas[256];

	snprintf(meas, sizeof(meas), "%.1f B (%.0f MiB for the default %u)",
		 (double)a / na + (double)b / nb, (double)(a + b) / (1 << 20), na);
	row(name, meas, "none set", "measured", "\"bytes_per_flow\":%.1f",
	    (double)a / na + (double)b / nb);
}

static int memory_rows(void)
{
	struct xlb_bpf *s;
	uint64_t mf, mr, md4, md6, mk4, mk6;
	uint32_t nf, nr, nd4, nd6, best;
	char meas[256], ex[256];

	struct bpf_program *p;

	/* Maps only: the programs are not needed to size them. */
	s = xlb_bpf__open();
	if (s)
		bpf_object__for_each_program(p, s->obj)
			bpf_program__set_autoload(p, false);
	if (!s || xlb_bpf__load(s)) {
		fprintf(stderr, "scale: cannot load xlb.bpf.o\n");
		xlb_bpf__destroy(s);
		return -1;
	}
	nf = bpf_map__max_entries(s->maps.flows);
	nr = bpf_map__max_entries(s->maps.nat_rev);
	/* Flows each dr/tun table (and its 5-tuples) is sized for. */
	nd4 = bpf_map__max_entries(s->maps.dsr_flows4) * XLB_DSR_WAYS /
	      XLB_DSR_SLOTS_PER_FLOW;
	nd6 = bpf_map__max_entries(s->maps.dsr_flows6) * XLB_DSR_WAYS /
	      XLB_DSR_SLOTS_PER_FLOW;
	mf = memlock_of(bpf_map__fd(s->maps.flows));
	mr = memlock_of(bpf_map__fd(s->maps.nat_rev));
	md4 = memlock_of(bpf_map__fd(s->maps.dsr_flows4));
	md6 = memlock_of(bpf_map__fd(s->maps.dsr_flows6));
	mk4 = memlock_of(bpf_map__fd(s->maps.dsr_keys4));
	mk6 = memlock_of(bpf_map__fd(s->maps.dsr_keys6));
	def_dsr4 = mapdef_of(s->maps.dsr_flows4);
	def_dsr6 = mapdef_of(s->maps.dsr_flows6);
	def_keys4 = mapdef_of(s->maps.dsr_keys4);
	def_keys6 = mapdef_of(s->maps.dsr_keys6);
	def_flows = mapdef_of(s->maps.flows);
	def_rev = mapdef_of(s->maps.nat_rev);
	xlb_bpf__destroy(s);
	if (!mf || !mr || !md4 || !md6 || !mk4 || !mk6 || !nf || !nr || !nd4 || !nd6) {
		fprintf(stderr, "scale: no memlock in fdinfo\n");
		return -1;
	}

	mem_row("map memory per flow: flows", mf, nf, &def_flows);
	mem_row("map memory per flow: nat_rev (allocated in every mode)", mr, nr, &def_rev);
	sum_row("map memory per flow: flows + nat_rev", mf, nf, mr, nr);
	dsr_row("map memory per flow: dsr_flows4 + dsr_keys4 (dr/tun IPv4)", md4, mk4, nd4);
	dsr_row("map memory per flow: dsr_flows6 + dsr_keys6 (dr/tun IPv6)", md6, mk6, nd6);
	sum_row("map memory per flow: both families' dr/tun tables (sized alike)",
		md4 + mk4, nd4, md6 + mk6, nd6);

	if (quick)              /* creating GiB-sized maps takes seconds */
		return 0;
	best = largest_in_gib();
	if (!best)
		return fprintf(stderr, "scale: cannot create maps to size 1 GiB\n"), -1;
	snprintf(meas, sizeof(meas), "flow_table_size %u (%.2fM flows; %.1f MiB)",
		 best, best / 1e6, (double)probe_both(best) / (1 << 20));
	snprintf(ex, sizeof(ex), "\"entries\":%u,\"memlock\":%lu", best,
		 (unsigned long)probe_both(best));
	row("largest flow table in 1 GiB (flows + nat_rev)", meas, "none set",
	    "measured", "%s", ex);
	dsr_only = 1;
	best = largest_in_gib();
	dsr_only = 0;
	if (best) {
		snprintf(meas, sizeof(meas), "dsr_flow_table_size %u (%.2fM dr/tun flows "
			 "per family)", best, best / 1e6);
		row("largest dr/tun flow tables in 1 GiB (dsr_flows4/6 + dsr_keys4/6)", meas,
		    "none set",
		    "measured", "\"entries\":%u", best);
	}
	return 0;
}

/* ---- Maglev --------------------------------------------------------------- */

/* The daemon's backend key (src/xlbd/state.c backend_key): FNV-1a over the
 * 16-byte address, family and port. */
static uint64_t be_key(uint32_t i)
{
	uint8_t buf[19] = { 0 };
	uint64_t h = 0xcbf29ce484222325ull;

	/* IPv4 198.18.0.0 + i (bytes 0..3 of the address union), port 80 */
	buf[0] = 198;
	buf[1] = 18 + ((i >> 16) & 1);
	buf[2] = (i >> 8) & 0xff;
	buf[3] = i & 0xff;
	buf[16] = XLB_AF_INET;
	buf[17] = 0;
	buf[18] = 80;
	for (size_t j = 0; j < sizeof(buf); j++) {
		h ^= buf[j];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Algorithm 1 of the Maglev paper (Populate), equal weights, permutation
 * computed on the fly rather than stored (N x M entries). */
static int classic_build(const struct maglev_backend *b, size_t n, uint32_t *table,
			 uint32_t m)
{
	uint32_t *off = malloc(n * sizeof(*off)), *skip = malloc(n * sizeof(*skip));
	uint32_t *next = calloc(n, sizeof(*next)), filled = 0, i, c;
	int32_t *entry = malloc((size_t)m * sizeof(*entry));

	if (!off || !skip || !next || !entry) {
		free(off); free(skip); free(next); free(entry);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		off[i] = (uint32_t)(mix64(b[i].key) % m);
		skip[i] = (uint32_t)(mix64(b[i].key ^ 0x5bd1e9955bd1e995ULL) % (m - 1)) + 1;
	}
	for (i = 0; i < m; i++)
		entry[i] = -1;
	for (;;) {
		for (i = 0; i < n; i++) {
			c = (uint32_t)((off[i] + (uint64_t)next[i] * skip[i]) % m);
			while (entry[c] >= 0) {
				next[i]++;
				c = (uint32_t)((off[i] + (uint64_t)next[i] * skip[i]) % m);
			}
			entry[c] = (int32_t)i;
			next[i]++;
			if (++filled == m)
				goto done;
		}
	}
done:
	for (i = 0; i < m; i++)
		table[i] = b[entry[i]].id;
	free(off); free(skip); free(next); free(entry);
	return 0;
}

/* CPU time of this thread: a build preempted by another job on this
 * shared VM does not count the time it waited. */
static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void backends(struct maglev_backend *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		b[i].id = (uint32_t)i + 1;
		b[i].weight = 1;
		b[i].key = be_key((uint32_t)i + 1);
	}
}

#define MAX_REPS 41

/* Median, min and max in ms of reps runs of one builder: xlb's, or the
 * paper's Algorithm 1 (classic). */
static int time_build(int classic, size_t n, int reps, double *med, double *mn,
		      double *mx)
{
	struct maglev_backend *b = calloc(n, sizeof(*b));
	uint32_t *t = malloc(M_SIZE * sizeof(*t));
	double v[MAX_REPS], t0;
	int r, err = 0;

	if (!b || !t) {
		err = -ENOMEM;
		goto out;
	}
	backends(b, n);
	for (r = 0; r < reps && !err; r++) {
		t0 = now_ms();
		if (classic)
			err = classic_build(b, n, t, M_SIZE);
		else
			err = maglev_build(b, n, t, M_SIZE);
		v[r] = now_ms() - t0;
	}
	if (!err) {
		qsort(v, reps, sizeof(v[0]), cmp_d);
		*med = v[reps / 2];
		*mn = v[0];
		*mx = v[reps - 1];
	}
out:
	free(b);
	free(t);
	return err;
}

static void build_rows(void)
{
	static const size_t ns[] = { 10, 100, 1000 };
	int reps = quick ? 7 : 21;
	char name[128], meas[256];

	for (size_t i = 0; i < 3; i++) {
		double x, xmn, xmx, c, cmn, cmx;

		if (time_build(0, ns[i], reps, &x, &xmn, &xmx) ||
		    time_build(1, ns[i], reps, &c, &cmn, &cmx)) {
			snprintf(name, sizeof(name), "Maglev build, %zu backends, M=65537", ns[i]);
			row(name, "-", "1.8 ms (paper)", "FAIL: build failed", NULL);
			continue;
		}
		snprintf(name, sizeof(name), "Maglev build, %zu backends, M=65537", ns[i]);
		snprintf(meas, sizeof(meas),
			 "%.2f ms (%.2f-%.2f) = %.2fx paper, %.2fx Algorithm 1 here (%.2f ms)",
			 x, xmn, xmx, x / 1.8, x / c, c);
		row(name, meas, "<= 1.8 ms (paper, other hardware)",
		    x <= 1.8 ? "ok" : "SHORT of target",
		    "\"backends\":%zu,\"ms\":%.3f,\"ms_min\":%.3f,\"ms_max\":%.3f,"
		    "\"ratio_paper\":%.3f,\"classic_ms\":%.3f,\"ratio_classic\":%.3f,"
		    "\"reps\":%d",
		    ns[i], x, xmn, xmx, x / 1.8, c, x / c, reps);
	}
}

/* Fraction of slots that differ, and of those that moved between two
 * backends that both survive (removed: the id that left). */
static void diff(const uint32_t *a, const uint32_t *b, uint32_t removed,
		 double *changed, double *between)
{
	uint32_t ch = 0, bw = 0;

	for (uint32_t i = 0; i < M_SIZE; i++)
		if (a[i] != b[i]) {
			ch++;
			if (a[i] != removed)
				bw++;
		}
	*changed = (double)ch / M_SIZE;
	*between = (double)bw / M_SIZE;
}

static void remap_rows(void)
{
	static const size_t ns[] = { 10, 100, 1000 };
	uint32_t *t0 = malloc(M_SIZE * 4), *ts = malloc(M_SIZE * 4),
		 *tc0 = malloc(M_SIZE * 4), *tc1 = malloc(M_SIZE * 4);
	char name[128], meas[320];

	if (!t0 || !ts || !tc0 || !tc1)
		goto out;
	for (size_t i = 0; i < 3; i++) {
		size_t n = ns[i], samples = n < 10 ? n : 10, s;
		struct maglev_backend *b = calloc(n, sizeof(*b)), *c = calloc(n, sizeof(*c));
		double sc = 0, sb = 0, cc = 0, cb = 0, x, y, ideal = 1.0 / n;
		double sc_max = 0, bound = ideal + 0.01;
		int err = 0;

		if (!b || !c) {
			free(b); free(c);
			continue;
		}
		backends(b, n);
		err = maglev_build(b, n, t0, M_SIZE) ?: classic_build(b, n, tc0, M_SIZE);
		for (s = 0; s < samples && !err; s++) {
			size_t victim = s * n / samples, k = 0;
			uint32_t vid = b[victim].id;

			for (size_t j = 0; j < n; j++)
				if (j != victim)
					c[k++] = b[j];
			err = maglev_build(c, n - 1, ts, M_SIZE) ?:
			      classic_build(c, n - 1, tc1, M_SIZE);
			if (err)
				break;
			diff(t0, ts, vid, &x, &y);
			sc += x; sb += y;
			sc_max = x > sc_max ? x : sc_max;
			diff(tc0, tc1, vid, &x, &y);
			cc += x; cb += y;
		}
		snprintf(name, sizeof(name), "flows remapped, 1 of %zu backends removed", n);
		if (err) {
			row(name, "-", "1/N + 1%", "FAIL: build failed", NULL);
		} else {
			sc /= samples; sb /= samples; cc /= samples; cb /= samples;
			snprintf(meas, sizeof(meas),
				 "%.2f%% (%.2fx ideal, worst %.2f%%; %.2f%% between survivors); "
				 "ideal %.2f%%; Algorithm 1 %.2f%%",
				 100 * sc, sc / ideal, 100 * sc_max, 100 * sb, 100 * ideal,
				 100 * cc);
			row(name, meas, "<= 1/N + 1%", sc_max <= bound ? "ok" : "SHORT of target",
			    "\"backends\":%zu,\"samples\":%zu,\"ideal\":%.5f,"
			    "\"scratch\":%.5f,\"scratch_max\":%.5f,\"scratch_between\":%.5f,"
			    "\"classic\":%.5f,\"classic_between\":%.5f",
			    n, samples, ideal, sc, sc_max, sb, cc, cb);
		}
		free(b);
		free(c);
	}
out:
	free(t0); free(ts); free(tc0); free(tc1);
}

static int print_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	const char *j = getenv("BENCH_JSONL");
	int o, rc = 0;

	while ((o = getopt(argc, argv, "q")) != -1) {
		if (o == 'q') {
			quick = 1;
		} else {
			fprintf(stderr, "usage: %s [-q]\n", argv[0]);
			return 2;
		}
	}
	libbpf_set_print(print_libbpf);
	if (j && *j)
		jsonl = fopen(j, "a");
	printf("| scale row | measured | target | |\n|---|---|---|---|\n");
	if (memory_rows()) {
		row("map memory per flow", "-", "none set", "FAIL: cannot create the maps", NULL);
		rc = 1;
	}
	build_rows();
	remap_rows();
	printf("\nMemory: the kernel's memlock (fdinfo) of xlb's preallocated maps; "
	       "both are sized by flow_table_size. Maglev: M = 65537, equal weights, "
	       "%d builds per row (thread CPU time, median, min-max); remapped = slots whose backend "
	       "changes, mean over up to 10 removed backends.\n", quick ? 7 : 21);
	if (jsonl)
		fclose(jsonl);
	return rc;
}
