// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the Prometheus text rendering: label escaping, HELP/TYPE
 * once per family, samples grouped by family, optional families. */
#include <stdlib.h>

#include "metrics.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")

static char *label(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	metrics_label_value(f, s);
	fclose(f);
	return out;
}

static void test_escaping(void)
{
	struct { const char *in, *out; } cases[] = {
		{ "web", "web" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "", "" },
		{ "[2001:db8::1]:80", "[2001:db8::1]:80" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = label(cases[i].in);

		CHECK(got && !strcmp(got, cases[i].out), "'%s' -> '%s', expected '%s'",
		      cases[i].in, got, cases[i].out);
		free(got);
	}
}

static struct metrics_backend bes[2] = {
	{ .backend = "198.18.0.11", .c = { 10, 1000, 2 }, .weight = 100, .up = true,
	  .in_table = true, .has_check = true, .check_latency_us = 1500, .checks = 7 },
	{ .backend = "198.18.0.12", .c = { 0, 0, 0 }, .weight = 0, .up = false,
	  .health_age_s = 42.5 },
};
static struct metrics_backend nat_be = {
	.backend = "198.18.1.11:8080", .weight = 1, .up = true, .in_table = true,
	.has_conns = true, .active = 3, .inactive = 1,
};
static struct metrics_backend proxy_be = {
	.backend = "198.18.0.13", .weight = 1, .up = true, .has_proxy = true,
	.pc = { .active = 4, .total = 9 },
};
static struct metrics_service svcs[3] = {
	{ .service = "tcp/198.18.0.100:80", .vip = "198.18.0.100", .port = "80", .protocol = "tcp",
	   .name = "we\"b", .mode = "dr",
	  .c = { 10, 1000, 2 }, .n_backends = 2, .backends = bes,
	  .table_hash = "00c0ffee12345678" },
	{ .service = "udp/198.18.0.100:53", .vip = "198.18.0.100", .port = "53", .protocol = "udp",
	   .name = "", .mode = "nat", .table_hash = "none",
	  .has_flows = true, .fl = { .n = 7, .max = 500, .refused = 2, .evicted = 30 },
	  .n_backends = 1, .backends = &nat_be },
	{ .service = "tcp/198.18.0.101:80", .vip = "198.18.0.101", .port = "80", .protocol = "tcp",
	   .name = "px", .mode = "proxy",
	  .has_proxy = true, .pc = { .active = 4, .total = 9, .bytes_in = 100 },
	  .n_backends = 1, .backends = &proxy_be },
};

static struct metrics_snapshot snap(bool reasons)
{
	struct metrics_snapshot s = {
		.instance = "lab", .version = "1.0-test", .n_services = 3,
		.services = svcs, .has_reasons = reasons, .flow_table_size = 1000,
		.dsr_flow_table_size = 2000,
	};

	if (reasons)
		s.reasons[XLB_R_PASS_NOT_IP] = 5;
	return s;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_samples(void)
{
	struct metrics_snapshot s = snap(true);
	size_t len = 0;
	char *t = metrics_render(&s, &len);

	EXPECT(t && strlen(t) == len);
	if (!t)
		return;
	EXPECT(strstr(t, "xlb_info{version=\"1.0-test\",instance=\"lab\"} 1\n"));
	EXPECT(strstr(t, "xlb_service_packets_total{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",name=\"we\\\"b\",mode=\"dr\"} 10\n"));
	EXPECT(strstr(t, "xlb_service_bytes_total{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",name=\"we\\\"b\",mode=\"dr\"} 1000\n"));
	EXPECT(strstr(t, "xlb_service_table_info{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",table_hash=\"00c0ffee12345678\"} 1\n"));
	EXPECT(strstr(t, "xlb_service_table_info{service=\"udp/198.18.0.100:53\","
		       "vip=\"198.18.0.100\",port=\"53\",protocol=\"udp\",table_hash=\"none\"} 1\n"));
	EXPECT(strstr(t, "xlb_backend_new_flows_total{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",backend=\"198.18.0.11\"} 2\n"));
	EXPECT(strstr(t, "xlb_backend_weight{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",backend=\"198.18.0.12\"} 0\n"));
	EXPECT(strstr(t, "xlb_backend_up{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",backend=\"198.18.0.12\"} 0\n"));
	EXPECT(strstr(t, "xlb_backend_up{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",backend=\"198.18.0.11\"} 1\n"));
	EXPECT(strstr(t, "xlb_backend_health_check_duration_seconds{service=\"tcp/"
		       "198.18.0.100:80\",vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\","
		       "backend=\"198.18.0.11\"} 0.001500\n"));
	EXPECT(strstr(t, "xlb_backend_health_change_age_seconds{service=\"tcp/198.18.0.100:80\","
		       "vip=\"198.18.0.100\",port=\"80\",protocol=\"tcp\",backend=\"198.18.0.12\"} "
		       "42.500\n"));
	/* Connection counts only for nat/fullnat backends. */
	EXPECT(strstr(t, "xlb_backend_active_connections{service=\"udp/198.18.0.100:53\","
		       "vip=\"198.18.0.100\",port=\"53\",protocol=\"udp\",backend=\"198.18.1.11:8080\"} 3\n"));
	EXPECT(strstr(t, "xlb_backend_inactive_connections{service=\"udp/198.18.0.100:53\","
		       "vip=\"198.18.0.100\",port=\"53\",protocol=\"udp\",backend=\"198.18.1.11:8080\"} 1\n"));
	EXPECT(count(t, "xlb_backend_active_connections{") == 1);
	/* Proxy counters only for proxy services. */
	EXPECT(strstr(t, "xlb_proxy_service_connections_total{service=\"tcp/198.18.0.101:80\","
		       "vip=\"198.18.0.101\",port=\"80\",protocol=\"tcp\",name=\"px\",mode=\"proxy\"} 9\n"));
	EXPECT(strstr(t, "xlb_proxy_backend_active_connections{service=\"tcp/198.18.0.101:80\","
		       "vip=\"198.18.0.101\",port=\"80\",protocol=\"tcp\",backend=\"198.18.0.13\"} 4\n"));
	EXPECT(count(t, "xlb_proxy_service_active_connections{") == 1);
	/* A nat/fullnat service's share of the connection table, for those only. */
	EXPECT(strstr(t, "xlb_service_flows{service=\"udp/198.18.0.100:53\",vip=\"198.18.0.100\","
		       "port=\"53\",protocol=\"udp\",name=\"\",mode=\"nat\"} 7\n"));
	EXPECT(strstr(t, "xlb_service_max_flows{service=\"udp/198.18.0.100:53\"") &&
	       strstr(strstr(t, "xlb_service_max_flows{service=\"udp/198.18.0.100:53\""), "} 500\n"));
	EXPECT(strstr(t, "xlb_service_flows_refused_total{service=\"udp/198.18.0.100:53\"") &&
	       strstr(t, "mode=\"nat\"} 2\n"));
	EXPECT(strstr(t, "mode=\"nat\"} 30\n"));
	EXPECT(count(t, "xlb_service_flows{") == 1 && count(t, "xlb_service_flows_evicted_total{") == 1);
	EXPECT(strstr(t, "xlb_datapath_packets_total{reason=\"pass_not_ip\"} 5\n"));
	EXPECT(strstr(t, "xlb_datapath_packets_total{reason=\"fwd_tx\"} 0\n"));
	EXPECT(strstr(t, "xlb_flow_table_size 1000\n"));
	EXPECT(strstr(t, "xlb_dsr_flow_table_size 2000\n"));
	free(t);
}

/* Every family has one HELP and one TYPE line, right before its samples,
 * and its samples are contiguous (the format requires it). */
static void test_format(void)
{
	struct metrics_snapshot s = snap(true);
	char *t = metrics_render(&s, NULL), *save = NULL, *line;
	char seen[64][96], cur[96] = "";
	size_t n_seen = 0;
	bool typed = false;

	if (!t) {
		EXPECT(0);
		return;
	}
	EXPECT(t[strlen(t) - 1] == '\n');
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[96];

		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%95s", cur);
			for (size_t i = 0; i < n_seen; i++)
				CHECK(strcmp(seen[i], cur), "family %s twice", cur);
			if (n_seen < 64)
				strcpy(seen[n_seen++], cur);
			typed = false;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char type[32] = "";

			sscanf(line + 7, "%95s %31s", name, type);
			CHECK(!strcmp(name, cur), "TYPE %s after HELP %s", name, cur);
			CHECK(!strcmp(type, "counter") || !strcmp(type, "gauge"), "type %s", type);
			/* counters end in _total */
			if (!strcmp(type, "counter"))
				CHECK(strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total"),
				      "counter %s", name);
			typed = true;
			continue;
		}
		sscanf(line, "%95[^{ ]", name);
		CHECK(typed && !strcmp(name, cur), "sample '%s' outside its family (%s)",
		      line, cur);
		CHECK(strchr(line, ' ') && strchr(line, ' ')[1], "no value: '%s'", line);
	}
	free(t);
}

static void test_no_dataplane(void)
{
	struct metrics_snapshot s = snap(false);
	char *t = metrics_render(&s, NULL);

	EXPECT(t && !strstr(t, "xlb_datapath_packets_total"));
	EXPECT(t && !strstr(t, "xlb_flow_table_nat_entries"));
	free(t);
	s.n_services = 0;
	t = metrics_render(&s, NULL);
	EXPECT(t && strstr(t, "xlb_info{") && !strstr(t, "xlb_backend_weight"));
	free(t);
}

int main(void)
{
	RUN(test_escaping);
	RUN(test_samples);
	RUN(test_format);
	RUN(test_no_dataplane);
	UNIT_SUMMARY();
}
