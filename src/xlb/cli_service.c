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
#include "schema.h"

static const char usage[] =
"Usage: xlb service add PROTO/VIP:PORT --mode MODE [--scheduler S]\n"
"                       [--persistence SEC [--persistence-netmask MASK]]\n"
"                       [--name NAME] [--health-check SPEC] [--timeouts SPEC]\n"
"       xlb service set PROTO/VIP:PORT [--scheduler S] [--persistence SEC]\n"
"                       [--persistence-netmask MASK] [--name NAME]\n"
"                       [--health-check SPEC|none]\n"
"                       [--timeouts SPEC]\n"
"       xlb service del PROTO/VIP:PORT\n"
"\n"
"PROTO is tcp or udp; VIP:PORT is 198.18.0.100:80 or [2001:db8::100]:80;\n"
"port * (or 0) makes a service for every port of the VIP.\n"
"  --mode MODE          dr, tun, nat, fullnat or proxy (docs/modes.md)\n"
"  --scheduler S        maglev (default), sh, rr, wrr, lc, wlc; random2 (proxy)\n"
"  --persistence SEC    every connection of a client goes to one backend while\n"
"                       it comes back within SEC seconds (0-86400, 0: off;\n"
"                       IPVS -p; the config key `persistence`)\n"
"  --persistence-netmask MASK\n"
"                       clients are grouped by this prefix: 24 or\n"
"                       255.255.255.0 (default: the whole address; IPVS -M)\n"
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

/* The flags of add and set: each sets the config key of its name
 * (health-check: health_check). */
static const char *const opt_keys[] = {
	"mode", "scheduler", "name", "health_check", "timeouts", "persistence",
	"persistence_netmask",
};
#define N_OPTS (sizeof(opt_keys) / sizeof(opt_keys[0]))

struct svc_opts {
	const char *val[N_OPTS];        /* NULL: not given */
};

static int parse_opts(int argc, char **argv, struct svc_opts *o, char *err,
		      size_t errlen)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 0 },
		{ "scheduler", required_argument, NULL, 1 },
		{ "name", required_argument, NULL, 2 },
		{ "health-check", required_argument, NULL, 3 },
		{ "timeouts", required_argument, NULL, 4 },
		{ "persistence", required_argument, NULL, 5 },
		{ "persistence-netmask", required_argument, NULL, 6 },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt >= 0 && (size_t)opt < N_OPTS) {
			o->val[opt] = optarg;
		} else if (opt == 'h') {
			fputs(usage, stdout);
			return 1;
		} else {
			snprintf(err, errlen, "unknown or incomplete option '%s'",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Which flags the action takes. */
static int check_opts(const char *action, const struct svc_opts *o, char *err,
		      size_t errlen)
{
	bool any = false;

	for (size_t i = 1; i < N_OPTS; i++)
		any |= o->val[i] != NULL;
	if (!strcmp(action, "add") && !o->val[0]) {
		snprintf(err, errlen, "--mode is required (dr, tun, nat, fullnat or proxy)");
		return -EINVAL;
	}
	if (!strcmp(action, "del") && (o->val[0] || any)) {
		snprintf(err, errlen, "service del takes no option but the service");
		return -EINVAL;
	}
	if (!strcmp(action, "set") && o->val[0]) {
		snprintf(err, errlen, "--mode cannot change in place (the service's flows "
			 "would break): del and add the service");
		return -EINVAL;
	}
	if (!strcmp(action, "set") && !any) {
		snprintf(err, errlen, "service set needs something to change (--scheduler, "
			 "--persistence, --persistence-netmask, --name, --health-check or "
			 "--timeouts)");
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
	struct xlb_service_cfg scratch;
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
		return ret;     /* 1: help printed */
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
	memset(&scratch, 0, sizeof(scratch));
	scratch.vip = vip;
	scratch.proto = proto;
	for (size_t i = 0; i < N_OPTS && !ret; i++)
		ret = cli_key_field(*req, &schema_service, opt_keys[i], o.val[i],
				    &scratch, err, errlen);
	if (ret) {
		json_object_put(*req);
		*req = NULL;
	}
	return ret;
}

int cli_service(int argc, char **argv)
{
	return cli_run_request("service", cli_service_request, argc, argv);
}
