// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb node drain|undrain`: withdraw every VIP of this node from BGP (or
 * announce them again) without touching the flows it forwards. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
"Usage: xlb node drain|undrain\n"
"\n"
"  drain     withdraw every VIP this node announces (`announce:` in the\n"
"            config); the routers send new connections to the other nodes,\n"
"            and the flows this node forwards keep going. A drained node\n"
"            stays drained across a restart of xlbd.\n"
"  undrain   announce the VIPs again (those with a usable backend).\n"
"`xlb list` shows the node's state and each VIP's (announced or withdrawn,\n"
"with the reason). See docs/scale-out.md.\n";

int cli_node(int argc, char **argv)
{
	struct json_object *req;
	const char *cmd;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "xlb node: %s\n%s", argc < 2 ? "missing action (drain or "
			"undrain)" : "too many arguments", usage);
		return CLI_EUSAGE;
	}
	if (!strcmp(argv[1], "drain")) {
		cmd = "node_drain";
	} else if (!strcmp(argv[1], "undrain")) {
		cmd = "node_undrain";
	} else {
		fprintf(stderr, "xlb node: unknown action '%s' (expected drain or undrain)\n%s",
			argv[1], usage);
		return CLI_EUSAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return cli_send(req, NULL);
}
