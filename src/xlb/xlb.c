// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xlb: the command line of the xlb load balancer. Dispatches each verb to
 * its cli_*.c file and talks to xlbd over the control socket. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "text.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} verbs[] = {
	{ "service", cli_service, "add, change or delete a service (VIP, port, protocol, mode)" },
	{ "backend", cli_backend, "add, re-weight, drain or delete a service's real servers" },
	{ "list", cli_list, "show services, backends, counters and rates" },
	{ "conns", cli_conns, "list the connections: the data plane's flows and mode proxy's" },
	{ "zero", cli_zero, "set the counters of a service (or all) to 0" },
	{ "save", cli_save, "print the running config as YAML" },
	{ "apply", cli_apply, "load a config file into the running xlbd" },
	{ "node", cli_node, "drain or undrain this node (withdraw or announce its VIPs)" },
	{ "realserver", cli_realserver, "prepare this host as a dr or tun real server" },
	{ "import", cli_import, "print the xlb config of IPVS rules or a keepalived.conf" },
	{ "version", cli_version, "print the versions of xlb and xlbd" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlb [--socket PATH] COMMAND [ARGS]\n\n"
		"xlb drives a running xlbd (a layer-4 load balancer) over its control\n"
		"socket (default: the one of this network namespace).\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n'xlb COMMAND --help' shows the arguments of a command.\n");
}

/* Every argument is checked once here, so no verb passes on text that
 * `xlb save` could not write back or a metrics label would carry raw. */
static int check_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		size_t off;
		int ret = text_check(argv[i], strlen(argv[i]), &off);

		if (ret) {
			fprintf(stderr, "xlb: argument %d has %s at byte %zu; arguments "
				"must be UTF-8 text\n", i, text_error(ret), off);
			return CLI_EUSAGE;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	if (check_args(argc, argv))
		return CLI_EUSAGE;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--socket") || !strcmp(argv[i], "-s")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "xlb: --socket needs a path\n");
				return CLI_EUSAGE;
			}
			cli_socket = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			cli_socket = argv[i] + 9;
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return CLI_OK;
		} else if (!strcmp(argv[i], "--version")) {
			return cli_version(1, argv);
		} else {
			fprintf(stderr, "xlb: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return CLI_EUSAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_EUSAGE;
	}
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (!strcmp(argv[i], verbs[v].name))
			return verbs[v].fn(argc - i, argv + i);
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return CLI_OK;
	}
	fprintf(stderr, "xlb: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return CLI_EUSAGE;
}
