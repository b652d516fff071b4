// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of `xlb import ipvsadm` (src/xlb/ipvsadm_import.c) on `ipvsadm -S -n`
 * text: every forwarding method and scheduler, tcp/udp, IPv4/IPv6,
 * persistence, weights, the notes, errors with their line, and that the
 * YAML printed reads back through the config parser. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include "config.h"
#include "ipvsadm_import.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")

/* A real-looking rule set: what `ipvsadm -S -n` prints on a director with
 * a DR web farm, a tunnelled DNS farm, a NAT'd IPv6 service and more. */
static const char saved[] =
	"-A -t 198.18.0.100:80 -s wlc -p 300\n"
	"-a -t 198.18.0.100:80 -r 198.18.0.11:80 -g -w 100\n"
	"-a -t 198.18.0.100:80 -r 198.18.0.12:80 -g -w 100\n"
	"-a -t 198.18.0.100:80 -r 198.18.0.13:80 -g -w 0\n"
	"-A -u 198.18.0.100:53 -s rr\n"
	"-a -u 198.18.0.100:53 -r 198.18.0.21:53 -i -w 1 --tun-type ipip\n"
	"-a -u 198.18.0.100:53 -r 198.18.0.22:53 -i -w 1\n"
	"-A -t 198.18.0.101:443 -s wlc\n"
	"-a -t 198.18.0.101:443 -r 10.0.0.1:8443 -m -w 5\n"
	"-a -t 198.18.0.101:443 -r 10.0.0.2:443 -m -w 1\n"
	"-A -t [2001:db8::100]:80 -s sh\n"
	"-a -t [2001:db8::100]:80 -r [2001:db8::11]:80 -g -w 1\n"
	"-A -u [2001:db8::100]:53 -s mh\n"
	"-a -u [2001:db8::100]:53 -r [2001:db8::21]:5353 -m -w 10\n";

struct result {
	struct xlb_config cfg;
	struct import_notes notes;
	char err[512];
	int rc;
};

static void import(const char *text, struct result *r)
{
	memset(r, 0, sizeof(*r));
	config_init(&r->cfg);
	r->rc = ipvsadm_parse(text, strlen(text), "rules", &r->cfg, &r->notes,
			      r->err, sizeof(r->err));
}

static void done(struct result *r)
{
	import_notes_free(&r->notes);
	config_free(&r->cfg);
}

/* Some note contains every one of the words (NULL-terminated). */
static bool has_note(const struct result *r, const char *w1, const char *w2)
{
	for (size_t i = 0; i < r->notes.n; i++)
		if (strstr(r->notes.lines[i], w1) && (!w2 || strstr(r->notes.lines[i], w2)))
			return true;
	return false;
}

static struct xlb_service_cfg *svc(struct result *r, const char *name)
{
	struct xlb_sockaddr vip;
	uint8_t proto;
	char e[128];

	if (service_name_parse(name, &proto, &vip, e, sizeof(e)))
		return NULL;
	return config_find_service(&r->cfg, proto, &vip);
}

static bool backend_is(const struct xlb_backend_cfg *b, const char *addr, uint32_t w)
{
	char buf[XLB_ADDRSTR_MAX];

	return !strcmp(addr_str(&b->addr, buf, sizeof(buf)), addr) && b->weight == w;
}

static void test_saved_rules(void)
{
	struct xlb_service_cfg *s;
	struct result r;

	import(saved, &r);
	CHECK(r.rc == 0, "%s", r.err);
	EXPECT(r.cfg.n_services == 5);

	/* -g: dr; wlc as in IPVS DR (flow entries counted), no note. */
	s = svc(&r, "tcp/198.18.0.100:80");
	CHECK(s, "no web service");
	if (s) {
		EXPECT(s->mode == XLB_MODE_DR);
		EXPECT(s->scheduler == XLB_SCHED_WLC);
		EXPECT(s->persistence == 300);
		EXPECT(s->n_backends == 3);
		if (s->n_backends == 3) {
			/* The service port is dropped: same as the VIP's. */
			EXPECT(backend_is(&s->backends[0], "198.18.0.11", 100));
			EXPECT(backend_is(&s->backends[2], "198.18.0.13", 0));
		}
	}
	EXPECT(!has_note(&r, "tcp/198.18.0.100:80 (line 1)", "scheduler"));

	/* -i: tun, --tun-type ipip is what xlb does: no note. */
	s = svc(&r, "udp/198.18.0.100:53");
	CHECK(s, "no dns service");
	if (s) {
		EXPECT(s->mode == XLB_MODE_TUN);
		EXPECT(s->proto == IPPROTO_UDP);
		EXPECT(s->scheduler == XLB_SCHED_RR);
		EXPECT(s->persistence == 0);
		EXPECT(s->n_backends == 2);
	}
	EXPECT(!has_note(&r, "udp/198.18.0.100:53", NULL));

	/* -m: nat keeps wlc and a changed port. */
	s = svc(&r, "tcp/198.18.0.101:443");
	CHECK(s, "no nat service");
	if (s) {
		EXPECT(s->mode == XLB_MODE_NAT);
		EXPECT(s->scheduler == XLB_SCHED_WLC);
		EXPECT(s->n_backends == 2);
		if (s->n_backends == 2) {
			EXPECT(backend_is(&s->backends[0], "10.0.0.1:8443", 5));
			EXPECT(backend_is(&s->backends[1], "10.0.0.2", 1));
		}
	}
	EXPECT(!has_note(&r, "tcp/198.18.0.101:443", NULL));

	/* IPv6, sh maps directly. */
	s = svc(&r, "tcp/[2001:db8::100]:80");
	CHECK(s, "no v6 service");
	if (s) {
		EXPECT(s->vip.family == XLB_AF_INET6);
		EXPECT(s->mode == XLB_MODE_DR);
		EXPECT(s->scheduler == XLB_SCHED_SH);
		EXPECT(s->n_backends == 1 && backend_is(&s->backends[0], "2001:db8::11", 1));
	}
	s = svc(&r, "udp/[2001:db8::100]:53");
	CHECK(s, "no v6 dns service");
	if (s) {
		EXPECT(s->mode == XLB_MODE_NAT);
		EXPECT(s->scheduler == XLB_SCHED_MAGLEV);
		EXPECT(s->n_backends == 1 &&
		       backend_is(&s->backends[0], "[2001:db8::21]:5353", 10));
	}
	EXPECT(has_note(&r, "mh becomes maglev", NULL));
	EXPECT(r.notes.n == 1);
	{
		char verr[256];

		CHECK(config_validate(&r.cfg, verr, sizeof(verr)) == 0, "%s", verr);
	}
	done(&r);
}

/* Every IPVS scheduler, in a nat service and a dr service (alike: dr
 * counts connections by its flow entries too). */
static void test_schedulers(void)
{
	static const struct {
		const char *ipvs;
		uint8_t nat, dr;
		bool noted_nat, noted_dr;
	} cases[] = {
		{ "rr", XLB_SCHED_RR, XLB_SCHED_RR, false, false },
		{ "wrr", XLB_SCHED_WRR, XLB_SCHED_WRR, false, false },
		{ "lc", XLB_SCHED_LC, XLB_SCHED_LC, false, false },
		{ "wlc", XLB_SCHED_WLC, XLB_SCHED_WLC, false, false },
		{ "sh", XLB_SCHED_SH, XLB_SCHED_SH, false, false },
		{ "mh", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV, true, true },
		{ "dh", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV, true, true },
		{ "lblc", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV, true, true },
		{ "lblcr", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV, true, true },
		{ "sed", XLB_SCHED_WLC, XLB_SCHED_WLC, true, true },
		{ "nq", XLB_SCHED_WLC, XLB_SCHED_WLC, true, true },
		{ "fo", XLB_SCHED_WRR, XLB_SCHED_WRR, true, true },
		{ "ovf", XLB_SCHED_WLC, XLB_SCHED_WLC, true, true },
		{ "twos", XLB_SCHED_WLC, XLB_SCHED_WLC, true, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], verr[256];
		struct result r;

		snprintf(text, sizeof(text),
			 "-A -t 198.18.0.100:80 -s %s\n"
			 "-a -t 198.18.0.100:80 -r 10.0.0.1:80 -m -w 1\n"
			 "-A -u 198.18.0.100:53 -s %s\n"
			 "-a -u 198.18.0.100:53 -r 198.18.0.11:53 -g -w 1\n",
			 cases[i].ipvs, cases[i].ipvs);
		import(text, &r);
		CHECK(r.rc == 0, "%s: %s", cases[i].ipvs, r.err);
		CHECK(r.cfg.n_services == 2, "%s", cases[i].ipvs);
		if (r.cfg.n_services == 2) {
			CHECK(r.cfg.services[0].scheduler == cases[i].nat, "%s nat: %s",
			      cases[i].ipvs, sched_name(r.cfg.services[0].scheduler));
			CHECK(r.cfg.services[1].scheduler == cases[i].dr, "%s dr: %s",
			      cases[i].ipvs, sched_name(r.cfg.services[1].scheduler));
		}
		CHECK(has_note(&r, "tcp/198.18.0.100:80", "scheduler") == cases[i].noted_nat,
		      "%s: nat note", cases[i].ipvs);
		CHECK(has_note(&r, "udp/198.18.0.100:53", "scheduler") == cases[i].noted_dr,
		      "%s: dr note", cases[i].ipvs);
		CHECK(config_validate(&r.cfg, verr, sizeof(verr)) == 0, "%s: %s",
		      cases[i].ipvs, verr);
		done(&r);
	}
}

/* Mixed methods: the majority wins, each other server is noted; a changed
 * port in dr/tun is dropped with a note. */
static void test_mixed_forwarding(void)
{
	struct result r;

	import("-A -t 198.18.0.100:80 -s rr\n"
	       "-a -t 198.18.0.100:80 -r 198.18.0.11:80 -m -w 1\n"
	       "-a -t 198.18.0.100:80 -r 198.18.0.12:80 -i -w 1\n"
	       "-a -t 198.18.0.100:80 -r 198.18.0.13:8080 -i -w 1\n"
	       "-a -t 198.18.0.100:80 -r 198.18.0.14:80 -g -w 1\n", &r);
	CHECK(r.rc == 0, "%s", r.err);
	if (r.cfg.n_services == 1) {
		struct xlb_service_cfg *s = &r.cfg.services[0];

		EXPECT(s->mode == XLB_MODE_TUN);
		EXPECT(s->n_backends == 4);
		if (s->n_backends == 4)
			EXPECT(backend_is(&s->backends[2], "198.18.0.13", 1));
	}
	EXPECT(has_note(&r, "198.18.0.11:80 (line 2) forwards with -m", "uses tun"));
	EXPECT(has_note(&r, "198.18.0.14:80 (line 5) forwards with -g", NULL));
	EXPECT(!has_note(&r, "198.18.0.12:80 (line 3) forwards", NULL));
	EXPECT(has_note(&r, "198.18.0.13:8080", "cannot change the destination port"));
	done(&r);

	/* A tie goes to the first server's method. */
	import("-A -u 198.18.0.100:53 -s rr\n"
	       "-a -u 198.18.0.100:53 -r 198.18.0.11:53 -g -w 1\n"
	       "-a -u 198.18.0.100:53 -r 198.18.0.12:53 -m -w 1\n", &r);
	CHECK(r.rc == 0, "%s", r.err);
	EXPECT(r.cfg.n_services == 1 && r.cfg.services[0].mode == XLB_MODE_DR);
	done(&r);
}

static void test_unexpressible(void)
{
	struct result r;

	import("-A -f 7 -s rr\n"
	       "-a -f 7 -r 198.18.0.11:0 -g -w 1\n"
	       "-A -f 8 -6 -s wlc -p 60\n"
	       "-A -t 198.18.0.100:0 -s wrr -p 1800 -M 255.255.255.0\n"
	       "-a -t 198.18.0.100:0 -r 198.18.0.11:0 -g -w 100000\n"
	       "-A -u 198.18.0.100:5060 -s rr -p 60 pe sip ops\n"
	       "-a -u 198.18.0.100:5060 -r 198.18.0.11:5060 -i -w 1 --tun-type gue "
	       "--tun-port 6080 --tun-nocsum\n"
	       "-A -t 198.18.0.101:80 -s sh -b sh-port\n"
	       "-a -t 198.18.0.101:80 -r 198.18.0.12:80 -g -w 1 -x 100 -y 10\n"
	       "-a -t 198.18.0.101:80 -r 2001:db8::12 -g -w 1\n", &r);
	CHECK(r.rc == 0, "%s", r.err);
	EXPECT(has_note(&r, "fwmark 7 (line 1) skipped", "198.18.0.11"));
	EXPECT(has_note(&r, "fwmark 8 (line 3) skipped", NULL));
	EXPECT(r.cfg.n_services == 3);
	if (r.cfg.n_services == 3) {
		struct xlb_service_cfg *s = &r.cfg.services[0];

		EXPECT(s->vip.port == 0);
		EXPECT(s->persistence == 1800 && s->persistence_plen == 24);
		EXPECT(s->n_backends == 1 && s->backends[0].weight == 65535);
		EXPECT(r.cfg.services[1].mode == XLB_MODE_TUN);
		EXPECT(r.cfg.services[1].persistence == 60);
		/* dr cannot mix families: the v6 server is left out. */
		EXPECT(r.cfg.services[2].n_backends == 1);
	}
	EXPECT(!has_note(&r, "-M 255.255.255.0", NULL));
	EXPECT(has_note(&r, "weight 100000 cut to 65535", NULL));
	EXPECT(has_note(&r, "--pe sip", "one-packet"));
	EXPECT(has_note(&r, "tunnel type gue", NULL));
	EXPECT(has_note(&r, "-b sh-port", NULL));
	EXPECT(has_note(&r, "thresholds (-x 100 -y 10)", NULL));
	EXPECT(has_note(&r, "2001:db8::12 skipped", "cannot mix"));
	done(&r);
}

/* What a hand-kept rules file may hold beyond `ipvsadm -S`: comments, an
 * "ipvsadm" prefix, long options, -C, --set, -p without a value. */
static void test_rules_file(void)
{
	struct result r;

	import("# web\n"
	       "\n"
	       "ipvsadm -C\n"
	       "ipvsadm --set 900 120 300\n"
	       "ipvsadm --add-service --tcp-service=198.18.0.100:80 --scheduler rr -p\n"
	       "ipvsadm --add-server --tcp-service 198.18.0.100:80 --real-server 198.18.0.11 "
	       "--masquerading --weight 3   # the first\n"
	       "-a -t 198.18.0.100:80 -r 198.18.0.12\n", &r);
	CHECK(r.rc == 0, "%s", r.err);
	EXPECT(r.cfg.n_services == 1);
	if (r.cfg.n_services == 1) {
		struct xlb_service_cfg *s = &r.cfg.services[0];

		EXPECT(s->persistence == 300);
		EXPECT(s->mode == XLB_MODE_NAT);  /* -m 1, -g (default) 1: first */
		EXPECT(s->n_backends == 2);
		if (s->n_backends == 2) {
			EXPECT(backend_is(&s->backends[0], "198.18.0.11", 3));
			EXPECT(backend_is(&s->backends[1], "198.18.0.12", 1));
		}
	}
	EXPECT(r.cfg.timeouts.tcp_established == 900);
	EXPECT(r.cfg.timeouts.tcp_fin == 120);
	EXPECT(r.cfg.timeouts.udp == 300);
	done(&r);

	import("", &r);
	EXPECT(r.rc == 0 && r.cfg.n_services == 0 && has_note(&r, "no virtual service", NULL));
	done(&r);
}

/* Malformed input: the error names the line, and nothing is kept. */
static void test_errors(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "-A -t 198.18.0.100:80 -s foo\n", "rules:1: unknown scheduler 'foo'" },
		{ "-A -t 198.18.0.100:80\n-a -t 198.18.0.100:80 -r 1.2.3.4 -w x\n",
		  "rules:2: -w 'x': a weight is a number" },
		{ "-A -t 198.18.0.100:80\n\n-a -t 198.18.0.100:81 -r 1.2.3.4\n",
		  "rules:3: real server for '198.18.0.100:81', which no -A line" },
		{ "-A -t www.example.com:http -s rr\n", "rules:1: -t " },
		{ "-A -t 198.18.0.100:80\n-A -t 198.18.0.100:80\n",
		  "rules:2: service '198.18.0.100:80' is defined twice (first on line 1)" },
		{ "-A -s rr\n", "rules:1: -A without a service" },
		{ "-t 198.18.0.100:80 -s rr\n", "rules:1: no command" },
		{ "-A -t 198.18.0.100:80 -s\n", "rules:1: option '-s' needs a value" },
		{ "-A -t 198.18.0.100:80 --bogus\n", "rules:1: unknown option '--bogus'" },
		{ "-A -t 198.18.0.100:80\n-a -t 198.18.0.100:80\n",
		  "rules:2: -a without a real server" },
		{ "-A -t 198.18.0.100:80\n-D -t 198.18.0.100:80\n",
		  "rules:2: '-D' is not a rule" },
		{ "-A -t 198.18.0.100:80 -a -t 198.18.0.100:80\n", "rules:1: two commands" },
		{ "-A -t 198.18.0.100:80\n-a -t 198.18.0.100:80 -r 1.2.3.4 -i --tun-type vxlan\n",
		  "rules:2: --tun-type 'vxlan'" },
		{ "-A -t 198.18.0.100:80\n-a -t 198.18.0.100:80 -r 1.2.3.4\n"
		  "-a -t 198.18.0.100:80 -r 1.2.3.4 -g\n",
		  "rules:3: real server '1.2.3.4' is added twice" },
		{ "-A -f 0\n", "rules:1: -f '0'" },
		{ "-A -t 198.18.0.100:99999\n", "rules:1: -t " },
		{ "--set 1 2\n", "rules:1: --set needs three timeouts" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r;

		import(cases[i].text, &r);
		CHECK(r.rc == -EINVAL, "case %zu: rc %d", i, r.rc);
		CHECK(!strncmp(r.err, cases[i].err, strlen(cases[i].err)),
		      "case %zu: got '%s', want '%s...'", i, r.err, cases[i].err);
		EXPECT(r.cfg.n_services == 0);
		done(&r);
	}
}

/* The printed YAML carries the notes as comments and parses back to the
 * same services. */
static void test_yaml_round_trip(void)
{
	struct xlb_config back;
	struct result r;
	char err[512];
	char *yaml;

	import(saved, &r);
	yaml = import_yaml(&r.cfg, &r.notes, "IPVS rules", "ipvsadm", "ipvs.rules");
	CHECK(yaml, "no yaml");
	if (yaml) {
		EXPECT(strstr(yaml, "# note: ") && strstr(yaml, "mh becomes maglev"));
		EXPECT(strstr(yaml, "(ipvs.rules)"));
		EXPECT(strstr(yaml, "Set interfaces:"));
		config_init(&back);
		CHECK(config_parse_buf(yaml, strlen(yaml), "out.yaml", &back, err,
				       sizeof(err)) == 0, "%s\n%s", err, yaml);
		EXPECT(back.n_services == r.cfg.n_services);
		for (size_t i = 0; i < back.n_services && i < r.cfg.n_services; i++) {
			EXPECT(back.services[i].mode == r.cfg.services[i].mode);
			EXPECT(back.services[i].scheduler == r.cfg.services[i].scheduler);
			EXPECT(back.services[i].n_backends == r.cfg.services[i].n_backends);
		}
		config_free(&back);
	}
	free(yaml);
	done(&r);
}

int main(void)
{
	RUN(test_saved_rules);
	RUN(test_schedulers);
	RUN(test_mixed_forwarding);
	RUN(test_unexpressible);
	RUN(test_rules_file);
	RUN(test_errors);
	RUN(test_yaml_round_trip);
	UNIT_SUMMARY();
}
