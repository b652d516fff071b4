// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of `xlb import keepalived` (src/xlb/keepalived_import.c) on
 * keepalived.conf files written from keepalived.conf(5): every LVS keyword
 * the importer reads, groups with ranges and fwmarks, IPv6, the checkers,
 * VRRP and global blocks, syntax errors with their line. Every output is
 * read back by the config parser, and checked by `xlbd -t` when built. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "keepalived_import.h"
#include "unit.h"

struct kcase {
	const char *what;
	const char *conf;
	size_t n_services;
	const char *yaml[6];            /* in the YAML printed, in this order */
	const char *notes[6];           /* each in some note */
};

static const struct kcase cases[] = {
	{ "NAT web farm (RHEL's example)",
	  "global_defs {\n   notification_email {\n     admin@example.com\n   }\n"
	  "   notification_email_from noreply@example.com\n   smtp_server 127.0.0.1\n"
	  "   smtp_connect_timeout 60\n}\n"
	  "vrrp_sync_group VG1 {\n   group {\n      RH_EXT\n      RH_INT\n   }\n}\n"
	  "vrrp_instance RH_EXT {\n    state MASTER\n    interface eth0\n"
	  "    virtual_router_id 50\n    priority 100\n    advert_int 1\n"
	  "    authentication {\n        auth_type PASS\n        auth_pass passw123\n"
	  "    }\n    virtual_ipaddress {\n        198.18.0.1\n    }\n}\n"
	  "virtual_server 198.18.0.1 80 {\n    delay_loop 6\n    lb_algo rr\n"
	  "    lb_kind NAT\n    protocol TCP\n\n"
	  "    real_server 198.19.1.20 80 {\n        TCP_CHECK {\n"
	  "                connect_timeout 10\n        }\n    }\n"
	  "    real_server 198.19.1.21 80 {\n        TCP_CHECK {\n"
	  "                connect_timeout 10\n        }\n    }\n}\n",
	  1, { "vip: 198.18.0.1\n    port: 80\n    protocol: tcp\n    mode: nat\n"
	       "    scheduler: rr\n",
	       "health_check: { type: tcp, interval: 6s, timeout: 6s, rise: 1, fall: 2 }",
	       "{ address: 198.19.1.20, weight: 1 }", "{ address: 198.19.1.21, weight: 1 }" },
	  { "global_defs (line 1) is not imported",
	    "vrrp_sync_group (line 9) and the other VRRP blocks are not imported",
	    "docs/scale-out.md", "connect_timeout 10s is longer than delay_loop" } },

	{ "DR with persistence and HTTP_GET (digest, status_code, retry)",
	  "virtual_server 198.18.0.100 80 {\n  delay_loop 10\n  lb_algo wlc\n"
	  "  lb_kind DR\n  persistence_timeout 9600\n  protocol TCP\n"
	  "  real_server 198.18.0.11 80 {\n    weight 100\n    inhibit_on_failure\n"
	  "    HTTP_GET {\n      url {\n        path /index.html\n"
	  "        digest c2b63159e701960a9eef44a302b56074\n        status_code 200\n"
	  "      }\n      connect_timeout 3\n      nb_get_retry 3\n"
	  "      delay_before_retry 3\n    }\n  }\n"
	  "  real_server 198.18.0.12 80 {\n    weight 200\n    HTTP_GET {\n"
	  "      url {\n        path /index.html\n"
	  "        digest c2b63159e701960a9eef44a302b56074\n        status_code 200\n"
	  "      }\n      connect_timeout 3\n      nb_get_retry 3\n"
	  "      delay_before_retry 3\n    }\n  }\n}\n",
	  1, { "mode: dr\n    scheduler: wlc\n    persistence: 9600\n",
	       "health_check: { type: http, interval: 10s, timeout: 3s, rise: 1, fall: 4, "
	       "path: \"/index.html\", expect_status: \"200\" }",
	       "{ address: 198.18.0.11, weight: 100 }", "{ address: 198.18.0.12, weight: 200 }" },
	  { "url digest (line 13) is not expressible",
	    "HTTP_GET delay_before_retry (line 18) is not expressible" } },

	{ "virtual_server_group: addresses, a range, IPv6 range, fwmark",
	  "virtual_server_group DNS {\n  198.18.0.53 53\n  198.18.0.60-61 53\n"
	  "  2001:db8::a-b 53\n  fwmark 7\n}\n"
	  "virtual_server group DNS {\n  delay_loop 5\n  lvs_sched sh\n"
	  "  lvs_method TUN\n  protocol UDP\n"
	  "  real_server 198.18.1.1 53 {\n    weight 2\n    DNS_CHECK {\n"
	  "      type A\n      name example.org\n      retry 2\n    }\n  }\n"
	  "  real_server 2001:db8::1:1 53 {\n    DNS_CHECK {\n      type A\n"
	  "      name example.org\n      retry 2\n    }\n  }\n}\n",
	  5, { "vip: 198.18.0.53\n", "vip: 198.18.0.60\n", "vip: 198.18.0.61\n",
	       "vip: \"2001:db8::a\"\n", "vip: \"2001:db8::b\"\n",
	       "health_check: { type: dns, interval: 5s, timeout: 5s, rise: 1, fall: 3, "
	       "query: example.org, query_type: A }" },
	  { "fwmark 7 (line 5) skipped" } },

	{ "IPv6 NAT with ports changed, persistence_granularity, SSL_GET, MISC_CHECK",
	  "virtual_server 2001:db8::100 443 {\n  ip_family inet6\n  lb_algo lc\n"
	  "  lb_kind NAT\n  persistence_timeout\n  persistence_granularity 255.255.0.0\n"
	  "  real_server 2001:db8::11 8443 {\n    SSL_GET {\n      url { path /health }\n"
	  "      connect_port 8443\n    }\n  }\n"
	  "  real_server 2001:db8::12 8443 {\n    MISC_CHECK {\n"
	  "      misc_path \"/usr/local/bin/check.sh --deep\"\n      misc_timeout 5\n"
	  "    }\n  }\n}\n",
	  1, { "vip: \"2001:db8::100\"\n    port: 443\n    protocol: tcp\n    mode: nat\n"
	       "    scheduler: lc\n    persistence: 360\n",
	       "{ address: \"[2001:db8::11]:8443\", weight: 1 }" },
	  { "MISC_CHECK (line 14) is not carried over: write a health_check of type script",
	    "the real server on line 13 has no checker" } },

	{ "UDP, sorry_server, mh, unexpressible keywords, weight cut, mixed methods",
	  "virtual_server 198.18.0.200 5000 {\n  lb_algo mh\n  lb_kind DR\n"
	  "  protocol UDP\n  quorum 2\n  hysteresis 1\n  alpha\n"
	  "  sorry_server 198.18.0.250 5000\n"
	  "  real_server 198.18.0.31 5000 {\n    weight 70000\n    uthreshold 100\n"
	  "    UDP_CHECK {\n      connect_port 5001\n    }\n  }\n"
	  "  real_server 198.18.0.32 5000 {\n    lvs_method TUN\n    UDP_CHECK {\n"
	  "      connect_port 5001\n    }\n  }\n"
	  "  real_server 198.18.0.33 5000 {\n    UDP_CHECK {\n"
	  "      connect_port 5001\n    }\n    TCP_CHECK {\n      connect_port 22\n"
	  "    }\n  }\n}\n",
	  1, { "protocol: udp\n    mode: dr\n    scheduler: maglev\n",
	       "health_check: { type: udp, interval: 1m, timeout: 5s, rise: 1, fall: 2, "
	       "port: 5001 }",
	       "{ address: 198.18.0.31, weight: 65535 }",
	       "{ address: 198.18.0.250, weight: 100, backup: true }" },
	  { "scheduler mh becomes maglev", "quorum (line 5) is not expressible",
	    "weight 70000 cut to 65535", "forwards with -i", "uthreshold is not expressible" } },

	{ "a group whose real servers check differently: the note once, not per member",
	  "virtual_server_group G {\n  198.18.0.70 80\n  198.18.0.71 80\n}\n"
	  "virtual_server group G {\n  lb_kind DR\n"
	  "  real_server 198.18.0.72 80 {\n    TCP_CHECK { connect_port 80 }\n  }\n"
	  "  real_server 198.18.0.73 80 {\n    TCP_CHECK { connect_port 81 }\n  }\n}\n",
	  2, { "vip: 198.18.0.70\n", "vip: 198.18.0.71\n" },
	  { "the real server on line 10 checks otherwise than the one on line 8" } },

	{ "fwmark virtual server and comments, quotes, braces on their own line",
	  "# a comment\n! another one\nvirtual_server fwmark 1\n{\n  lb_algo rr # rr\n"
	  "  real_server 198.18.0.41 80\n  {\n    TCP_CHECK { connect_port 80 }\n"
	  "  }\n}\nvirtual_server 198.18.0.42 8080 { lb_algo wrr ! trailing\n"
	  "  lb_kind DR\n  real_server 198.18.0.43 8080 { weight 5 }\n}\n"
	  "include /etc/keepalived/conf.d/*.conf\n",
	  1, { "vip: 198.18.0.42\n    port: 8080\n    protocol: tcp\n    mode: dr\n"
	       "    scheduler: wrr\n", "{ address: 198.18.0.43, weight: 5 }" },
	  { "fwmark 1 (line 3) skipped", "include /etc/keepalived/conf.d/*.conf (line 15) "
	    "is not followed" } },
};

/* Some note contains w. */
static bool has_note(const struct import_notes *n, const char *w)
{
	for (size_t i = 0; i < n->n; i++)
		if (strstr(n->lines[i], w))
			return true;
	return false;
}

/* `xlbd -t` on yaml (with interface lo) when xlbd is built; 0 when valid. */
static int xlbd_check(const char *yaml, const char *what)
{
	char path[] = "/tmp/xlb-test-keepalived-XXXXXX", cmd[256];
	FILE *f;
	int fd, rc;

	if (access("build/xlbd", X_OK))
		return 0;
	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		return -1;
	fputs(yaml, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "build/xlbd -t -c %s >/dev/null 2>&1", path);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "  %s: xlbd -t refused:\n%s\n", what, yaml);
	unlink(path);
	return rc;
}

static void run_case(const struct kcase *k)
{
	struct import_notes notes = { 0 };
	struct xlb_config cfg, back;
	char err[512] = "", *yaml = NULL;
	const char *at;
	int rc;

	config_init(&cfg);
	rc = keepalived_parse(k->conf, strlen(k->conf), "k.conf", &cfg, &notes, err,
			      sizeof(err));
	CHECK(rc == 0, "%s: %d %s", k->what, rc, err);
	CHECK(cfg.n_services == k->n_services, "%s: %zu services", k->what,
	      cfg.n_services);
	cfg.interfaces = calloc(1, sizeof(*cfg.interfaces));
	cfg.n_interfaces = cfg.interfaces ? 1 : 0;
	if (cfg.interfaces)
		strcpy(cfg.interfaces[0], "lo");
	yaml = import_yaml(&cfg, &notes, "keepalived.conf", "keepalived", "k.conf");
	CHECK(yaml, "%s", k->what);
	at = yaml;
	for (size_t i = 0; yaml && i < 6 && k->yaml[i]; i++) {
		const char *p = strstr(at, k->yaml[i]);

		CHECK(p, "%s: no '%s' in order in:\n%s", k->what, k->yaml[i], yaml);
		at = p ? p : at;
	}
	for (size_t i = 0; i < 6 && k->notes[i]; i++)
		CHECK(has_note(&notes, k->notes[i]), "%s: no note '%s' in:\n%s", k->what,
		      k->notes[i], yaml);
	CHECK(!has_note(&notes, "fails xlb's checks"), "%s:\n%s", k->what, yaml);
	for (size_t i = 0; i < notes.n; i++)
		for (size_t j = i + 1; j < notes.n; j++)
			CHECK(strcmp(notes.lines[i], notes.lines[j]), "%s: note twice: %s",
			      k->what, notes.lines[i]);
	if (yaml) {
		CHECK(config_parse_buf(yaml, strlen(yaml), "out.yaml", &back, err,
				       sizeof(err)) == 0, "%s: %s", k->what, err);
		config_free(&back);
		CHECK(xlbd_check(yaml, k->what) == 0, "%s", k->what);
	}
	free(yaml);
	import_notes_free(&notes);
	config_free(&cfg);
}

static void test_configs(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	if (access("build/xlbd", X_OK))
		printf("  SKIP xlbd -t on the imports: build/xlbd is not built\n");
}

static void test_errors(void)
{
	static const struct { const char *conf, *err; } bad[] = {
		{ "virtual_server 198.18.0.1 80 {\n  lb_algo rr\n",
		  "k.conf:3: a block is not closed (missing '}' for line 1)" },
		{ "}\n", "k.conf:1: '}' without a block to close" },
		{ "virtual_server 198.18.0.1 80 {\n  lb_algo fastest\n}\n",
		  "k.conf:2: unknown scheduler 'fastest'" },
		{ "virtual_server 198.18.0.1 http {\n}\n",
		  "k.conf:1: virtual_server: 'http' is not a port" },
		{ "virtual_server www.example.org 80 {\n}\n",
		  "k.conf:1: virtual_server: 'www.example.org' is not an IP address" },
		{ "virtual_server 198.18.0.1 80 {\n  lb_kind FULLNAT\n}\n",
		  "k.conf:2: lb_kind 'FULLNAT': expected NAT, DR or TUN" },
		{ "virtual_server group NOPE {\n}\n",
		  "k.conf:1: no virtual_server_group 'NOPE'" },
		{ "virtual_server_group G {\n  198.18.0.9-3 80\n}\n"
		  "virtual_server group G {\n}\n", "k.conf:2: '198.18.0.9-3': a range" },
		{ "virtual_server 198.18.0.1 80 {\n  real_server 198.18.0.2 80 {\n"
		  "    weight heavy\n  }\n}\n",
		  "k.conf:3: weight 'heavy': expected a number" },
		{ "virtual_server 198.18.0.1 80 {\n  protocol \"TCP\n}\n",
		  "k.conf:2: unterminated quoted string" },
	};
	struct import_notes notes = { 0 };
	struct xlb_config cfg;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&cfg);
		err[0] = '\0';
		CHECK(keepalived_parse(bad[i].conf, strlen(bad[i].conf), "k.conf", &cfg,
				       &notes, err, sizeof(err)) == -EINVAL &&
		      !strncmp(err, bad[i].err, strlen(bad[i].err)) && !cfg.n_services,
		      "'%s' -> '%s'", bad[i].conf, err);
		import_notes_free(&notes);
		config_free(&cfg);
	}
}

/* A real server with two checkers: the first is used, the other noted. */
static void test_second_checker(void)
{
	struct import_notes notes = { 0 };
	struct xlb_config cfg;
	char err[256] = "";

	config_init(&cfg);
	CHECK(keepalived_parse(cases[4].conf, strlen(cases[4].conf), "k.conf", &cfg,
			       &notes, err, sizeof(err)) == 0, "%s", err);
	CHECK(has_note(&notes, "xlb runs one check per backend, the first (UDP_CHECK); "
		       "TCP_CHECK (line 26) is left out"), "%zu notes", notes.n);
	import_notes_free(&notes);
	config_free(&cfg);
}

/* Nothing but VRRP: a config with no service and the notes saying why. */
static void test_vrrp_only(void)
{
	static const char conf[] =
		"vrrp_script chk_haproxy {\n  script \"killall -0 haproxy\"\n"
		"  interval 2\n}\nvrrp_instance VI_1 {\n  interface eth0\n  state MASTER\n"
		"  virtual_router_id 51\n  priority 101\n  virtual_ipaddress {\n"
		"    198.18.0.10\n  }\n  track_script {\n    chk_haproxy\n  }\n}\n";
	struct import_notes notes = { 0 };
	struct xlb_config cfg;
	char err[256] = "";

	config_init(&cfg);
	CHECK(keepalived_parse(conf, strlen(conf), "vrrp.conf", &cfg, &notes, err,
			       sizeof(err)) == 0 && cfg.n_services == 0, "%s", err);
	CHECK(notes.n == 2 && has_note(&notes, "vrrp_script (line 1) and the other "
				       "VRRP blocks") &&
	      has_note(&notes, "vrrp.conf holds no virtual_server"), "%zu notes", notes.n);
	import_notes_free(&notes);
	config_free(&cfg);
}

int main(void)
{
	RUN(test_configs);
	RUN(test_errors);
	RUN(test_second_checker);
	RUN(test_vrrp_only);
	UNIT_SUMMARY();
}
