// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb list` and `xlb save`: show the running state (with --rate, rates
 * measured over a second), or print it as config. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char list_usage[] =
"Usage: xlb list [--stats] [--rate] [--json]\n"
"\n"
"Services, their backends (weight, active, draining or maint, backup in\n"
"use or standby, health) and, with --stats, packet/byte/new-flow counters\n"
"per service and backend (out:\n"
"the replies nat and fullnat send back) plus the data plane's\n"
"pass/drop/forward reasons; conns A/I are the active/inactive nat and\n"
"fullnat connections of a backend (as IPVS counts them); flows N/MAX are a\n"
"nat, fullnat or lc/wlc dr/tun service's connection-table entries and\n"
"max_flows, refused\n"
"and evicted what it did at max_flows (docs/operations.md, Floods).\n"
"--rate measures over one second: new connections/s, packets/s and bytes/s\n"
"in, and out where the balancer sees the replies (nat, fullnat; bytes only\n"
"in mode proxy; \"-\" in dr and tun). --json prints everything (counters,\n"
"and with --rate a \"rate\" object per service and backend) as JSON.\n";

static const char save_usage[] =
"Usage: xlb save\n"
"\n"
"Prints the running configuration as YAML that `xlb apply -f` and `xlbd -c`\n"
"accept: xlb save > /etc/xlb/xlb.yaml\n";

static uint64_t u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_uint64(v) : 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* The counters --rate reads, by mode: packets or only bytes (proxy), and
 * whether the balancer sees the replies. */
static struct json_object *rate_of(struct json_object *now, struct json_object *before,
				   const char *mode, double secs)
{
	struct json_object *r = json_object_new_object(), *pn, *pb;
	bool proxy = !strcmp(mode, "proxy");
	bool out = proxy || !strcmp(mode, "nat") || !strcmp(mode, "fullnat");

#define RATE(name, n, b) json_object_object_add(r, name, json_object_new_double( \
	(double)((n) >= (b) ? (n) - (b) : (n)) / secs))
	if (proxy && json_object_object_get_ex(now, "proxy", &pn) &&
	    json_object_object_get_ex(before, "proxy", &pb)) {
		RATE("conns_per_s", u64(pn, "total"), u64(pb, "total"));
		RATE("bytes_in_per_s", u64(pn, "bytes_in"), u64(pb, "bytes_in"));
		RATE("bytes_out_per_s", u64(pn, "bytes_out"), u64(pb, "bytes_out"));
		return r;
	}
	RATE("conns_per_s", u64(now, "new_flows"), u64(before, "new_flows"));
	RATE("packets_in_per_s", u64(now, "packets"), u64(before, "packets"));
	RATE("bytes_in_per_s", u64(now, "bytes"), u64(before, "bytes"));
	if (out) {
		RATE("packets_out_per_s", u64(now, "packets_out"), u64(before, "packets_out"));
		RATE("bytes_out_per_s", u64(now, "bytes_out"), u64(before, "bytes_out"));
	}
#undef RATE
	return r;
}

static struct json_object *find_by(struct json_object *arr, const char *key,
				   const char *val)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);

		if (!strcmp(str(o, key), val))
			return o;
	}
	return NULL;
}

/* Put a "rate" object into every service and backend of now that before
 * has too (a counter that went back, after `xlb zero`, counts from 0). */
static void add_rates(struct json_object *now, struct json_object *before, double secs)
{
	struct json_object *svcs, *old_svcs, *bes, *old_bes;

	if (!json_object_object_get_ex(now, "services", &svcs) ||
	    !json_object_object_get_ex(before, "services", &old_svcs))
		return;
	for (size_t i = 0; i < json_object_array_length(svcs); i++) {
		struct json_object *s = json_object_array_get_idx(svcs, i);
		struct json_object *o = find_by(old_svcs, "service", str(s, "service"));

		if (!o)
			continue;
		json_object_object_add(s, "rate", rate_of(s, o, str(s, "mode"), secs));
		if (!json_object_object_get_ex(s, "backends", &bes) ||
		    !json_object_object_get_ex(o, "backends", &old_bes))
			continue;
		for (size_t j = 0; j < json_object_array_length(bes); j++) {
			struct json_object *b = json_object_array_get_idx(bes, j);
			struct json_object *ob = find_by(old_bes, "address", str(b, "address"));

			if (ob)
				json_object_object_add(b, "rate",
						       rate_of(b, ob, str(s, "mode"), secs));
		}
	}
}

static void print_rate(struct json_object *o)
{
	static const char *const keys[] = { "conns_per_s", "packets_in_per_s",
		"bytes_in_per_s", "packets_out_per_s", "bytes_out_per_s" };
	static const char *const labels[] = { "cps", "in pps", "bps", "out pps", "bps" };
	struct json_object *r, *v;

	if (!json_object_object_get_ex(o, "rate", &r))
		return;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (json_object_object_get_ex(r, keys[k], &v))
			printf("  %s %.0f", labels[k], json_object_get_double(v));
		else
			printf("  %s -", labels[k]);
	}
}

static void print_counters(struct json_object *o)
{
	struct json_object *p;

	/* Proxy services count connections, not packets. */
	if (json_object_object_get_ex(o, "proxy", &p)) {
		printf("  conns %llu active %llu total  bytes %llu in %llu out %llu spliced  "
		       "connect_fail %llu retries %llu timeouts %llu rejected %llu bad_header %llu",
		       (unsigned long long)u64(p, "active"), (unsigned long long)u64(p, "total"),
		       (unsigned long long)u64(p, "bytes_in"), (unsigned long long)u64(p, "bytes_out"),
		       (unsigned long long)u64(p, "spliced"),
		       (unsigned long long)u64(p, "connect_fail"), (unsigned long long)u64(p, "retries"),
		       (unsigned long long)u64(p, "timeouts"), (unsigned long long)u64(p, "rejected"),
		       (unsigned long long)u64(p, "bad_header"));
		return;
	}
	printf("  packets %llu  bytes %llu  new_flows %llu",
	       (unsigned long long)u64(o, "packets"), (unsigned long long)u64(o, "bytes"),
	       (unsigned long long)u64(o, "new_flows"));
}

/* One line of the non-zero counts of o (a JSON object of name -> count),
 * nothing when all are zero. */
static void print_counts(const char *title, struct json_object *o)
{
	bool any = false;

	json_object_object_foreach(o, key, val) {
		if (!json_object_get_uint64(val))
			continue;
		printf("%s %s=%llu", any ? "" : title, key,
		       (unsigned long long)json_object_get_uint64(val));
		any = true;
	}
	if (any)
		putchar('\n');
}

/* With `announce:`: the node's drain and each VIP's BGP state. */
static void print_announce(struct json_object *res)
{
	struct json_object *vips, *d;

	if (!json_object_object_get_ex(res, "vips", &vips))
		return;
	json_object_object_get_ex(res, "drained", &d);
	printf("node %s\n", json_object_get_boolean(d) ? "drained" : "active");
	for (size_t i = 0; i < json_object_array_length(vips); i++) {
		struct json_object *v = json_object_array_get_idx(vips, i), *a;

		json_object_object_get_ex(v, "announced", &a);
		if (json_object_get_boolean(a))
			printf("vip %s announced\n", str(v, "vip"));
		else
			printf("vip %s withdrawn (%s)\n", str(v, "vip"), str(v, "reason"));
	}
}

static bool flag(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* One line per service: its name, mode, scheduler and persistence. */
static void print_service(struct json_object *s, bool stats, bool rate)
{
	const char *name = str(s, "name");

	printf("%s%s%s%s  mode %s  scheduler %s", str(s, "service"),
	       *name ? " (" : "", name, *name ? ")" : "", str(s, "mode"),
	       str(s, "scheduler"));
	/* As ipvsadm -L: "persistent SEC", and the client prefix. */
	if (u64(s, "persistence"))
		printf("  persistent %llu mask /%llu",
		       (unsigned long long)u64(s, "persistence"),
		       (unsigned long long)u64(s, "persistence_netmask"));
	if (stats)
		print_counters(s);
	if (stats && json_object_object_get_ex(s, "max_flows", NULL))
		printf("  flows %llu/%llu refused %llu evicted %llu",
		       (unsigned long long)u64(s, "flows"),
		       (unsigned long long)u64(s, "max_flows"),
		       (unsigned long long)u64(s, "flows_refused"),
		       (unsigned long long)u64(s, "flows_evicted"));
	if (rate)
		print_rate(s);
	putchar('\n');
}

/* One line per backend b of service s. */
static void print_backend(struct json_object *s, struct json_object *b, bool stats,
			  bool rate)
{
	printf("  -> %-28s weight %-5llu %s", str(b, "address"),
	       (unsigned long long)u64(b, "weight"), str(b, "state"));
	if (flag(b, "backup"))
		printf("  backup (%s)", flag(b, "in_table") ? "in use" : "standby");
	/* Health only where a check runs or it is forced. */
	if (flag(b, "health_forced"))
		printf("  health %s (forced; check: %s)", str(b, "health"),
		       str(b, "health_reason"));
	else if (strcmp(str(s, "health_check"), "none") && *str(s, "health_check"))
		printf("  health %s (%s)", str(b, "health"), str(b, "health_reason"));
	if (rate)
		print_rate(b);
	if (stats) {
		print_counters(b);
		if (json_object_object_get_ex(b, "active_conns", NULL))
			printf("  conns %llu/%llu",
			       (unsigned long long)u64(b, "active_conns"),
			       (unsigned long long)u64(b, "inactive_conns"));
	}
	putchar('\n');
}

static void print_text(struct json_object *res, bool stats, bool rate)
{
	struct json_object *svcs = NULL, *reasons;

	if (!json_object_object_get_ex(res, "services", &svcs) ||
	    !json_object_array_length(svcs))
		printf("no services\n");
	for (size_t i = 0; svcs && i < json_object_array_length(svcs); i++) {
		struct json_object *s = json_object_array_get_idx(svcs, i), *bes;

		print_service(s, stats, rate);
		if (!json_object_object_get_ex(s, "backends", &bes))
			continue;
		for (size_t j = 0; j < json_object_array_length(bes); j++)
			print_backend(s, json_object_array_get_idx(bes, j), stats, rate);
	}
	print_announce(res);
	if (stats && json_object_object_get_ex(res, "reasons", &reasons))
		print_counts("data plane:", reasons);
	if (stats && json_object_object_get_ex(res, "flood_guard", &reasons))
		print_counts("flood guard:", reasons);
}

static struct json_object *list_request(void)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "cmd", json_object_new_string("list"));
	return req;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Two lists one second apart; res gets the second with its rates. */
static int list_with_rates(struct json_object **res)
{
	struct json_object *before;
	double t0, t1;
	int ret;

	t0 = now_s();
	ret = cli_send(list_request(), &before);
	if (ret)
		return ret;
	usleep(1000000);
	ret = cli_send(list_request(), res);
	t1 = now_s();
	if (!ret)
		add_rates(*res, before, t1 - t0);
	json_object_put(before);
	return ret;
}

int cli_list(int argc, char **argv)
{
	struct json_object *res;
	bool stats = false, json = false, rate = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stats") || !strcmp(argv[i], "-s")) {
			stats = true;
		} else if (!strcmp(argv[i], "--rate") || !strcmp(argv[i], "-r")) {
			rate = true;
		} else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(list_usage, stdout);
			return CLI_OK;
		} else {
			fprintf(stderr, "xlb list: unknown argument '%s'\n%s", argv[i], list_usage);
			return CLI_EUSAGE;
		}
	}
	ret = rate ? list_with_rates(&res) : cli_send(list_request(), &res);
	if (ret)
		return ret;
	if (json)
		cli_print_json(res);
	else
		print_text(res, stats, rate);
	json_object_put(res);
	return CLI_OK;
}

int cli_save(int argc, char **argv)
{
	struct json_object *req, *res;
	int ret;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			fputs(save_usage, stdout);
			return CLI_OK;
		}
		fprintf(stderr, "xlb save: unexpected argument '%s'\n%s", argv[1], save_usage);
		return CLI_EUSAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("save"));
	ret = cli_send(req, &res);
	if (ret)
		return ret;
	fputs(str(res, "yaml"), stdout);
	json_object_put(res);
	return CLI_OK;
}
