// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb zero [SERVICE]`: start the counters of a service (or of all) again
 * from 0, as `ipvsadm -Z` does. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cli.h"

static const char usage[] =
"Usage: xlb zero [PROTO/VIP:PORT]\n"
"\n"
"Sets the counters of a service and its backends to 0 (packets, bytes and\n"
"new flows in and out; in mode proxy connections, bytes, failures...; open\n"
"connections stay as they are), or of every service without an argument.\n"
"The metrics endpoint shows the same counters: Prometheus reads the drop as\n"
"a counter reset. The data plane's reason counters are left alone.\n"
"\n"
"Example: xlb zero tcp/198.18.0.100:80\n";

int cli_zero_request(int argc, char **argv, struct json_object **req, char *err,
		     size_t errlen)
{
	struct xlb_sockaddr vip;
	char perr[256];
	uint8_t proto;

	*req = NULL;
	if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		fputs(usage, stdout);
		return 1;
	}
	if (argc > 1) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[1]);
		return -EINVAL;
	}
	if (argc == 1 && service_name_parse(argv[0], &proto, &vip, perr, sizeof(perr))) {
		snprintf(err, errlen, "%s", perr);
		return -EINVAL;
	}
	*req = json_object_new_object();
	json_object_object_add(*req, "cmd", json_object_new_string("zero"));
	if (argc == 1)
		json_object_object_add(*req, "service", json_object_new_string(argv[0]));
	return 0;
}

int cli_zero(int argc, char **argv)
{
	return cli_run_request("zero", cli_zero_request, argc, argv);
}
