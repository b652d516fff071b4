// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb backend add|set|del`: manage the real servers of a service. */
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
"Usage: xlb backend add PROTO/VIP:PORT ADDR[:PORT] [--weight N] [--state S]\n"
"                       [--backup true|false]\n"
"       xlb backend set PROTO/VIP:PORT ADDR[:PORT] [--weight N] [--state S]\n"
"                       [--backup true|false] [--health up|down|auto]\n"
"       xlb backend del PROTO/VIP:PORT ADDR[:PORT]\n"
"\n"
"  --weight N   0-65535, default 100. Shares of new flows are proportional\n"
"               to weights; 0 drains: no new flows, existing ones continue.\n"
"  --state S    up (default); drain: no new flows, its flows go on, the\n"
"               weight is kept for the way back; maint: out of the table,\n"
"               its flows are reset or kept as the service's\n"
"               on_backend_down says for a down backend. Kept by `save`.\n"
"  --backup B   true: a backup (sorry) server, which takes new flows only\n"
"               while no other backend of the service can; false: a\n"
"               regular one (the default).\n"
"  --health H   up or down: force the health result whatever the checks\n"
"               say; auto: the checks decide again. Not saved.\n"
"Established flows stay on their backend across every other change.\n"
"\n"
"Example: xlb backend add tcp/198.18.0.100:80 198.18.0.11 --weight 200\n"
"         xlb backend set tcp/198.18.0.100:80 198.18.0.11 --state drain\n";

/* The flags: --weight and --state set the config keys of those names,
 * --health forces the check's result (not a config key: not saved). */
struct be_opts {
	const char *weight, *state, *backup, *health;
};

static int parse_opts(int argc, char **argv, struct be_opts *o, char *err,
		      size_t errlen)
{
	static const struct option opts[] = {
		{ "weight", required_argument, NULL, 'w' },
		{ "state", required_argument, NULL, 'S' },
		{ "backup", required_argument, NULL, 'B' },
		{ "health", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'w') {
			o->weight = optarg;
		} else if (opt == 'S') {
			o->state = optarg;
		} else if (opt == 'B') {
			o->backup = optarg;
		} else if (opt == 'H') {
			o->health = optarg;
			if (strcmp(optarg, "up") && strcmp(optarg, "down") &&
			    strcmp(optarg, "auto")) {
				snprintf(err, errlen, "--health: '%s' (expected up, down or "
					 "auto)", optarg);
				return -EINVAL;
			}
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

/* The service and the backend after the options, and which options the
 * action takes. */
static int check_args(int argc, char **argv, const char *action,
		      const struct be_opts *o, char *err, size_t errlen)
{
	struct xlb_sockaddr vip, be;
	char perr[256];
	uint8_t proto;

	if (argc - optind > 2) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind + 2]);
		return -EINVAL;
	}
	if (argc - optind < 2) {
		snprintf(err, errlen, "%s", argc - optind < 1 ? "missing service "
			 "(PROTO/VIP:PORT) and backend (ADDR[:PORT])" :
			 "missing backend (ADDR[:PORT])");
		return -EINVAL;
	}
	if (service_name_parse(argv[optind], &proto, &vip, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	if (addr_parse(argv[optind + 1], ADDR_PORT_OPTIONAL, &be, perr, sizeof(perr))) {
		snprintf(err, errlen, "backend: %s", perr);
		return -EINVAL;
	}
	if (!strcmp(action, "set") && !o->weight && !o->state && !o->backup && !o->health)
		snprintf(err, errlen, "backend set needs --weight N, --state S, --backup B "
			 "or --health H");
	else if (!strcmp(action, "del") && (o->weight || o->state || o->backup || o->health))
		snprintf(err, errlen, "backend del takes no option but the backend");
	else if (!strcmp(action, "add") && o->health)
		snprintf(err, errlen, "--health is for backend set (a new backend's "
			 "checks decide)");
	else
		return 0;
	return -EINVAL;
}

int cli_backend_request(int argc, char **argv, struct json_object **req,
			char *err, size_t errlen)
{
	struct xlb_backend_cfg scratch = { 0 };
	struct be_opts o;
	char cmd[16];
	int ret;

	*req = NULL;
	if (argc < 1) {
		snprintf(err, errlen, "missing action (add, set or del)");
		return -EINVAL;
	}
	if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		fputs(usage, stdout);
		return 1;
	}
	if (strcmp(argv[0], "add") && strcmp(argv[0], "set") && strcmp(argv[0], "del")) {
		snprintf(err, errlen, "unknown action '%s' (expected add, set or del)",
			 argv[0]);
		return -EINVAL;
	}
	ret = parse_opts(argc, argv, &o, err, errlen) ?:
	      check_args(argc, argv, argv[0], &o, err, errlen);
	if (ret)
		return ret;     /* 1: help printed */
	snprintf(cmd, sizeof(cmd), "backend_%s", argv[0]);
	*req = json_object_new_object();
	json_object_object_add(*req, "cmd", json_object_new_string(cmd));
	json_object_object_add(*req, "service", json_object_new_string(argv[optind]));
	json_object_object_add(*req, "backend", json_object_new_string(argv[optind + 1]));
	if (o.health)
		json_object_object_add(*req, "health", json_object_new_string(o.health));
	if (cli_key_field(*req, &schema_backend, "weight", o.weight, &scratch, err,
			  errlen) ||
	    cli_key_field(*req, &schema_backend, "state", o.state, &scratch, err, errlen) ||
	    cli_key_field(*req, &schema_backend, "backup", o.backup, &scratch, err,
			  errlen)) {
		json_object_put(*req);
		*req = NULL;
		return -EINVAL;
	}
	return 0;
}

int cli_backend(int argc, char **argv)
{
	return cli_run_request("backend", cli_backend_request, argc, argv);
}
