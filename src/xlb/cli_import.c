// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb import ipvsadm`: prints the xlb config equivalent to a set of IPVS
 * rules (src/xlb/ipvsadm_import.c does the translation). Needs no xlbd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "file.h"
#include "config.h"
#include "ipvsadm_import.h"

#define IMPORT_MAX_BYTES (64u << 20)

static const char import_usage[] =
"Usage: xlb import ipvsadm [--interface IFACE]... [FILE|-]\n"
"\n"
"Reads IPVS rules as `ipvsadm -S -n` prints them (FILE, or standard input\n"
"when FILE is - or absent) and prints the equivalent xlb config as YAML:\n"
"\n"
"  ipvsadm -S -n | xlb import ipvsadm -i eth0 > /etc/xlb/xlb.yaml\n"
"\n"
"Each TCP/UDP virtual service (-A -t/-u) becomes a service; -g (gatewaying)\n"
"becomes mode dr, -i (ipip) tun and -m (masquerading) nat; -w weights carry\n"
"over (0 drains), -p persistence and its -M netmask too. Schedulers rr, wrr,\n"
"lc, wlc and sh map directly (in every mode: dr and tun count flow entries,\n"
"as IPVS in DR), mh becomes maglev; the others get the closest one.\n"
"What xlb cannot express (fwmark services, mixed forwarding methods in one\n"
"service, ports changed in dr/tun, GUE/GRE tunnels, thresholds, -o, --pe, -b)\n"
"is said on a '# note:' line of the output. A line that is not an ipvsadm rule\n"
"is an error naming FILE:LINE, and nothing is printed.\n"
"\n"
"  -i, --interface IFACE   put IFACE in interfaces: (repeat for more)\n";

static int add_interface(struct xlb_config *cfg, const char *name)
{
	char (*ifs)[XLB_IFNAME_MAX];

	if (!*name || strlen(name) >= XLB_IFNAME_MAX) {
		fprintf(stderr, "xlb import: interface name '%s' is empty or longer "
			"than %d characters\n", name, XLB_IFNAME_MAX - 1);
		return CLI_EUSAGE;
	}
	ifs = realloc(cfg->interfaces, (cfg->n_interfaces + 1) * sizeof(*ifs));
	if (!ifs) {
		fprintf(stderr, "xlb import: out of memory\n");
		return CLI_EFAIL;
	}
	cfg->interfaces = ifs;
	snprintf(ifs[cfg->n_interfaces++], XLB_IFNAME_MAX, "%s", name);
	return CLI_OK;
}

int cli_import(int argc, char **argv)
{
	struct import_notes notes = { 0 };
	struct xlb_config cfg;
	const char *path = NULL;
	char err[512] = "", *text = NULL, *yaml = NULL;
	size_t len;
	int rc = CLI_OK, e;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(import_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EUSAGE : CLI_OK;
	}
	if (strcmp(argv[1], "ipvsadm")) {
		fprintf(stderr, "xlb import: unknown format '%s' (only 'ipvsadm')\n", argv[1]);
		return CLI_EUSAGE;
	}
	config_init(&cfg);
	for (int i = 2; i < argc && rc == CLI_OK; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(import_usage, stdout);
			config_free(&cfg);
			return CLI_OK;
		} else if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--interface")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "xlb import: %s needs an interface name\n",
					argv[i]);
				rc = CLI_EUSAGE;
				break;
			}
			rc = add_interface(&cfg, argv[++i]);
		} else if (!strncmp(argv[i], "--interface=", 12)) {
			rc = add_interface(&cfg, argv[i] + 12);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "xlb import: unknown option '%s'\n", argv[i]);
			rc = CLI_EUSAGE;
		} else if (path) {
			fprintf(stderr, "xlb import: one input only ('%s' and '%s')\n",
				path, argv[i]);
			rc = CLI_EUSAGE;
		} else {
			path = argv[i];
		}
	}
	if (rc != CLI_OK)
		goto out;
	if (!path)
		path = "-";
	if (file_read(path, IMPORT_MAX_BYTES, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "xlb import: %s\n", err);
		rc = CLI_EFAIL;
		goto out;
	}
	e = ipvsadm_parse(text, len, strcmp(path, "-") ? path : "<stdin>", &cfg,
			  &notes, err, sizeof(err));
	if (e) {
		fprintf(stderr, "xlb import: %s\n", e == -ENOMEM ? "out of memory" : err);
		rc = CLI_EFAIL;
		goto out;
	}
	yaml = import_yaml(&cfg, &notes, "IPVS rules", "ipvsadm",
			   strcmp(path, "-") ? path : "<stdin>");
	if (!yaml) {
		fprintf(stderr, "xlb import: out of memory\n");
		rc = CLI_EFAIL;
		goto out;
	}
	fputs(yaml, stdout);
	if (notes.n)
		fprintf(stderr, "xlb import: %zu service%s, %zu note%s: read the "
			"'# note:' lines before applying\n", cfg.n_services,
			cfg.n_services == 1 ? "" : "s", notes.n, notes.n == 1 ? "" : "s");
out:
	free(yaml);
	free(text);
	import_notes_free(&notes);
	config_free(&cfg);
	return rc;
}
