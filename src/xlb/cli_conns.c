// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb conns [SERVICE] [--limit N]`: the connections in the data plane's
 * flow table, as `ipvsadm -L -c` lists IPVS's. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cli.h"

static const char usage[] =
"Usage: xlb conns [PROTO/VIP:PORT] [--limit N] [--json]\n"
"\n"
"The connections, one per line: service, client, backend, state and the time\n"
"left before the entry expires. nat and fullnat flows have a TCP state\n"
"(SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE, TIME_WAIT) or UDP and\n"
"expire by the timeouts; dr and tun flows (\"-\") stay in the flow table\n"
"until it needs room (\"never\"), listed from their second packet on: those\n"
"seen by one packet only (a SYN not answered yet, a lone datagram, a flood's)\n"
"are counted on the last line. Mode proxy lists its own: tcp connections\n"
"reading a PROXY header (HEADER), waiting for the client's first bytes\n"
"(WAIT_DATA, no backend yet \"-\"), CONNECTING, ESTABLISHED, FIN_WAIT (one\n"
"side closed), and udp sessions (UDP); EXPIRES is the time to the next\n"
"timeout.\n"
"  --limit N   list at most N (default all); the total is always printed\n"
"  --json      the daemon's answer as JSON\n";

/* argv[0] is the verb itself (getopt starts after it). */
int cli_conns_request(int argc, char **argv, struct json_object **req, char *err,
		      size_t errlen)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct xlb_sockaddr vip;
	unsigned long limit = 0;
	bool has_limit = false;
	const char *svc = NULL;
	char perr[256], *end;
	uint8_t proto;
	int opt;

	*req = NULL;
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			errno = 0;
			limit = strtoul(optarg, &end, 10);
			if (!*optarg || *optarg == '-' || *end || errno || limit > UINT32_MAX) {
				snprintf(err, errlen, "--limit: '%s' is not a count", optarg);
				return -EINVAL;
			}
			has_limit = true;
			break;
		case 'j':
			break;          /* how to print: cli_conns reads it */
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			snprintf(err, errlen, "unknown or incomplete option '%s'",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc)
		svc = argv[optind++];
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (svc && service_name_parse(svc, &proto, &vip, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	*req = json_object_new_object();
	json_object_object_add(*req, "cmd", json_object_new_string("conns"));
	if (svc)
		json_object_object_add(*req, "service", json_object_new_string(svc));
	if (has_limit)
		json_object_object_add(*req, "limit", json_object_new_int64(limit));
	return 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static void print_conns(struct json_object *res)
{
	struct json_object *list, *c, *v;
	size_t n;

	if (!json_object_object_get_ex(res, "conns", &list))
		return;
	n = json_object_array_length(list);
	printf("%-5s %-46s %-46s %-46s %-11s %s\n", "PROTO", "CLIENT", "VIP", "BACKEND",
	       "STATE", "EXPIRES");
	for (size_t i = 0; i < n; i++) {
		char left[32] = "never";

		c = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(c, "expires_in_ms", &v) && v)
			snprintf(left, sizeof(left), "%.1fs", json_object_get_int64(v) / 1000.0);
		printf("%-5.3s %-46s %-46s %-46s %-11s %s\n", str(c, "service"),
		       str(c, "client"), str(c, "vip"), str(c, "backend"), str(c, "state"),
		       left);
	}
	printf("%zu of %s connection(s)\n", n, str(res, "total"));
	if (json_object_object_get_ex(res, "one_packet_flows", &v) && json_object_get_int64(v))
		printf("%s dr/tun flow(s) seen by one packet only, not listed (a SYN not "
		       "answered yet, a lone datagram, a flood's)\n", str(res, "one_packet_flows"));
	if (str(res, "proxy_workers_missing"))
		fprintf(stderr, "xlb conns: %s proxy worker(s) did not answer within a second: "
			"their connections are neither listed nor counted\n",
			str(res, "proxy_workers_missing"));
}

int cli_conns(int argc, char **argv)
{
	struct json_object *req, *res;
	char err[512];
	bool json = false;
	int ret;

	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "--json");
	ret = cli_conns_request(argc, argv, &req, err, sizeof(err));
	if (ret == 1)
		return CLI_OK;
	if (ret) {
		fprintf(stderr, "xlb conns: %s\n(see 'xlb conns --help')\n", err);
		return CLI_EUSAGE;
	}
	ret = cli_send(req, &res);
	if (ret)
		return ret;
	if (json)
		cli_print_json(res);
	else
		print_conns(res);
	json_object_put(res);
	return CLI_OK;
}
