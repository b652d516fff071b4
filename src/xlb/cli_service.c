// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb service add|set|del`: create, edit in place and remove services. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "config.h"

static const char usage[] =
"Usage: xlb service add PROTO/VIP:PORT --mode MODE [--scheduler S]\n"
"                       [--persistence SEC] [--name NAME]\n"
"                       [--health-check SPEC] [--timeouts SPEC]\n"
"       xlb service set PROTO/VIP:PORT [--scheduler S] [--persistence SEC]\n"
"                       [--name NAME] [--health-check SPEC|none]\n"
"                       [--timeouts SPEC]\n"
"       xlb service del PROTO/VIP:PORT\n"
"\n"
"PROTO is tcp or udp; VIP:PORT is 198.18.0.100:80 or [2001:db8::100]:80;\n"
"port * (or 0) makes a service for every port of the VIP.\n"
"  --mode MODE          dr, tun, nat, fullnat or proxy (docs/modes.md)\n"
"  --scheduler S        maglev (default), sh, rr, wrr; lc, wlc (nat, fullnat,\n"
"                       proxy); random2 (proxy)\n"
"  --persistence SEC    the config key `persistence` (xlb.yaml(5))\n"
"  --name NAME          a label shown by `xlb list` and kept by `xlb save`\n"
"  --health-check SPEC  the config key `health_check` in YAML, e.g.\n"
"                       'type: http, path: /health, interval: 1s'; set: none\n"
"                       removes the check\n"
"  --timeouts SPEC      the config key `timeouts` (nat, fullnat), e.g.\n"
"                       'tcp_established: 900s, udp: 30s'\n"
"set changes only what it names, in place: the backends, their flows and\n"
"their health stay (a new check starts from unknown). The mode cannot change\n"
"in place.\n"
"\n"
"Example: xlb service add udp/198.18.0.100:53 --mode dr\n"
"         xlb service set tcp/198.18.0.100:80 --scheduler wrr\n";

/* Strict unsigned parse: digits only, within max. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* The options of add and set, checked here so a typo fails before the
 * daemon is asked; the daemon checks them again. */
struct svc_opts {
	const char *mode, *sched, *name, *hc, *timeouts;
	unsigned long persistence;
	bool has_persistence;
};

static int parse_opts(int argc, char **argv, struct svc_opts *o, char *err,
		      size_t errlen)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "scheduler", required_argument, NULL, 's' },
		{ "persistence", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "health-check", required_argument, NULL, 'c' },
		{ "timeouts", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': o->mode = optarg; break;
		case 's': o->sched = optarg; break;
		case 'n': o->name = optarg; break;
		case 'c': o->hc = optarg; break;
		case 't': o->timeouts = optarg; break;
		case 'p':
			if (parse_uint(optarg, 86400 * 365, &o->persistence)) {
				snprintf(err, errlen, "--persistence: '%s' is not a number of "
					 "seconds (0-31536000)", optarg);
				return -EINVAL;
			}
			o->has_persistence = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			snprintf(err, errlen, "unknown or incomplete option '%s'",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_opts(const char *action, const struct svc_opts *o, char *err,
		      size_t errlen)
{
	bool any = o->sched || o->name || o->has_persistence || o->hc || o->timeouts;

	if (!strcmp(action, "add") && !o->mode) {
		snprintf(err, errlen, "--mode is required (dr, tun, nat, fullnat or proxy)");
		return -EINVAL;
	}
	if (!strcmp(action, "del") && (o->mode || any)) {
		snprintf(err, errlen, "service del takes no option but the service");
		return -EINVAL;
	}
	if (!strcmp(action, "set") && o->mode) {
		snprintf(err, errlen, "--mode cannot change in place (the service's flows "
			 "would break): del and add the service");
		return -EINVAL;
	}
	if (!strcmp(action, "set") && !any) {
		snprintf(err, errlen, "service set needs something to change (--scheduler, "
			 "--persistence, --name, --health-check or --timeouts)");
		return -EINVAL;
	}
	if (o->mode && mode_from_name(o->mode) < 0) {
		snprintf(err, errlen, "--mode: unknown mode '%s' (expected proxy, nat, "
			 "fullnat, dr or tun)", o->mode);
		return -EINVAL;
	}
	if (o->sched && sched_from_name(o->sched) < 0) {
		snprintf(err, errlen, "--scheduler: unknown scheduler '%s' (expected "
			 "maglev, rr, wrr, lc, wlc, sh or random2)", o->sched);
		return -EINVAL;
	}
	if (o->name && strlen(o->name) >= XLB_NAME_MAX) {
		snprintf(err, errlen, "--name: at most %d characters", XLB_NAME_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

static void add_str(struct json_object *req, const char *key, const char *val)
{
	if (val)
		json_object_object_add(req, key, json_object_new_string(val));
}

int cli_service_request(int argc, char **argv, struct json_object **req,
			char *err, size_t errlen)
{
	struct xlb_sockaddr vip;
	struct svc_opts o;
	char perr[256], cmd[16];
	uint8_t proto;
	int ret;

	*req = NULL;
	if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		if (argc < 1) {
			snprintf(err, errlen, "missing action (add, set or del)");
			return -EINVAL;
		}
		fputs(usage, stdout);
		return 1;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "set") && strcmp(argv[0], "del")) {
		snprintf(err, errlen, "unknown action '%s' (expected add, set or del)", argv[0]);
		return -EINVAL;
	}
	ret = parse_opts(argc, argv, &o, err, errlen);
	if (ret)
		return ret;
	if (optind >= argc) {
		snprintf(err, errlen, "missing service (PROTO/VIP:PORT, e.g. tcp/198.18.0.100:80)");
		return -EINVAL;
	}
	if (optind + 1 < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind + 1]);
		return -EINVAL;
	}
	if (service_name_parse(argv[optind], &proto, &vip, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	ret = check_opts(argv[0], &o, err, errlen);
	if (ret)
		return ret;

	snprintf(cmd, sizeof(cmd), "service_%s", argv[0]);
	*req = json_object_new_object();
	add_str(*req, "cmd", cmd);
	add_str(*req, "service", argv[optind]);
	add_str(*req, "mode", o.mode);
	add_str(*req, "scheduler", o.sched);
	add_str(*req, "name", o.name);
	add_str(*req, "health_check", o.hc);
	add_str(*req, "timeouts", o.timeouts);
	if (o.has_persistence)
		json_object_object_add(*req, "persistence",
				       json_object_new_int64(o.persistence));
	return 0;
}

int cli_service(int argc, char **argv)
{
	return cli_run_request("service", cli_service_request, argc, argv);
}
