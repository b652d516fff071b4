// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb service add|del`: create and remove services. */
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
"                       [--persistence SEC [--persistence-netmask MASK]]\n"
"                       [--name NAME]\n"
"       xlb service del PROTO/VIP:PORT\n"
"\n"
"PROTO is tcp or udp; VIP:PORT is 198.18.0.100:80 or [2001:db8::100]:80;\n"
"port * (or 0) makes a service for every port of the VIP.\n"
"  --mode MODE        dr, tun, nat, fullnat or proxy (docs/modes.md)\n"
"  --scheduler S      maglev (default), sh, rr, wrr; lc, wlc (nat, fullnat,\n"
"                     proxy); random2 (proxy)\n"
"  --persistence SEC  every connection of a client goes to one backend while\n"
"                     it comes back within SEC seconds (1-86400; IPVS -p)\n"
"  --persistence-netmask MASK\n"
"                     clients are grouped by this prefix: 24 or 255.255.255.0\n"
"                     (default: the whole address, /32 or /128; IPVS -M)\n"
"  --name NAME        a label shown by `xlb list` and kept by `xlb save`\n"
"\n"
"Example: xlb service add udp/198.18.0.100:53 --mode dr\n";

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

int cli_service_request(int argc, char **argv, struct json_object **req,
			char *err, size_t errlen)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "scheduler", required_argument, NULL, 's' },
		{ "persistence", required_argument, NULL, 'p' },
		{ "persistence-netmask", required_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *mode = NULL, *sched = NULL, *name = NULL, *pmask = NULL;
	unsigned long persistence = 0;
	bool has_persistence = false;
	struct xlb_sockaddr vip;
	char perr[256];
	uint8_t proto;
	bool add;
	int opt;

	*req = NULL;
	if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		if (argc < 1) {
			snprintf(err, errlen, "missing action (add or del)");
			return -EINVAL;
		}
		fputs(usage, stdout);
		return 1;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "del")) {
		snprintf(err, errlen, "unknown action '%s' (expected add or del)", argv[0]);
		return -EINVAL;
	}
	add = !strcmp(argv[0], "add");
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 's':
			sched = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, XLB_PERSIST_MAX_S, &persistence)) {
				snprintf(err, errlen, "--persistence: '%s' is not a number of "
					 "seconds (0-%u)", optarg, XLB_PERSIST_MAX_S);
				return -EINVAL;
			}
			has_persistence = true;
			break;
		case 'M': {
			uint8_t plen;

			if (netmask_parse(optarg, &plen, perr, sizeof(perr))) {
				snprintf(err, errlen, "--persistence-netmask: %s", perr);
				return -EINVAL;
			}
			pmask = optarg;
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			snprintf(err, errlen, "unknown or incomplete option '%s'",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
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
	if (add && !mode) {
		snprintf(err, errlen, "--mode is required (dr, tun, nat, fullnat or proxy)");
		return -EINVAL;
	}
	if (!add && (mode || sched || name || has_persistence || pmask)) {
		snprintf(err, errlen, "service del takes no option but the service");
		return -EINVAL;
	}
	if (mode && mode_from_name(mode) < 0) {
		snprintf(err, errlen, "--mode: unknown mode '%s' (expected proxy, nat, "
			 "fullnat, dr or tun)", mode);
		return -EINVAL;
	}
	if (sched && sched_from_name(sched) < 0) {
		snprintf(err, errlen, "--scheduler: unknown scheduler '%s' (expected "
			 "maglev, rr, wrr, lc, wlc, sh or random2)", sched);
		return -EINVAL;
	}
	if (name && strlen(name) >= XLB_NAME_MAX) {
		snprintf(err, errlen, "--name: at most %d characters", XLB_NAME_MAX - 1);
		return -EINVAL;
	}

	*req = json_object_new_object();
	json_object_object_add(*req, "cmd", json_object_new_string(add ? "service_add" :
								  "service_del"));
	json_object_object_add(*req, "service", json_object_new_string(argv[optind]));
	if (mode)
		json_object_object_add(*req, "mode", json_object_new_string(mode));
	if (sched)
		json_object_object_add(*req, "scheduler", json_object_new_string(sched));
	if (name)
		json_object_object_add(*req, "name", json_object_new_string(name));
	if (has_persistence)
		json_object_object_add(*req, "persistence",
				       json_object_new_int64(persistence));
	if (pmask)
		json_object_object_add(*req, "persistence_netmask",
				       json_object_new_string(pmask));
	return 0;
}

int cli_service(int argc, char **argv)
{
	return cli_run_request("service", cli_service_request, argc, argv);
}
