// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb import ipvsadm|keepalived`: prints the xlb config equivalent to a
 * set of IPVS rules or a keepalived.conf (ipvsadm_import.c,
 * keepalived_import.c). Needs no xlbd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "file.h"
#include "config.h"
#include "ipvsadm_import.h"
#include "keepalived_import.h"

#define IMPORT_MAX_BYTES (64u << 20)

static const char import_usage[] =
"Usage: xlb import ipvsadm [--interface IFACE]... [FILE|-]\n"
"       xlb import keepalived [--interface IFACE]... [FILE|-]\n"
"\n"
"Prints the xlb config (YAML) equivalent to IPVS rules as `ipvsadm -S -n`\n"
"prints them, or to the LVS part of a keepalived.conf (FILE, or standard\n"
"input when FILE is - or absent):\n"
"\n"
"  ipvsadm -S -n | xlb import ipvsadm -i eth0 > /etc/xlb/xlb.yaml\n"
"  xlb import keepalived -i eth0 /etc/keepalived/keepalived.conf\n"
"\n"
"Each TCP/UDP virtual service becomes a service: -g / DR becomes mode dr,\n"
"-i / TUN tun and -m / NAT nat; weights carry over (0 drains), persistence\n"
"and its netmask (-M, persistence_granularity) too. Schedulers rr, wrr, lc,\n"
"wlc and sh map directly (in every mode: dr and tun count flow entries, as\n"
"IPVS in DR), mh becomes maglev; the others get the closest one.\n"
"keepalived's virtual_server_group gives one service per address, its\n"
"checkers one health_check per service (TCP_CHECK, HTTP_GET, DNS_CHECK,\n"
"UDP_CHECK; delay_loop, connect_timeout, retry). What xlb cannot express\n"
"(fwmark services, mixed forwarding methods in one service, ports changed in\n"
"dr/tun, GUE/GRE tunnels, thresholds, -o, --pe, -b, VRRP...) is said on a\n"
"'# note:' line of the output. Input that cannot be read is an error naming\n"
"FILE:LINE, and nothing is printed.\n"
"\n"
"  -i, --interface IFACE   put IFACE in interfaces: (repeat for more)\n";

/* The formats: what they read and how. */
static const struct {
	const char *name, *what;
	int (*parse)(const char *text, size_t len, const char *origin,
		     struct xlb_config *cfg, struct import_notes *notes,
		     char *err, size_t errlen);
} formats[] = {
	{ "ipvsadm", "IPVS rules", ipvsadm_parse },
	{ "keepalived", "keepalived.conf", keepalived_parse },
};

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

/* The options and the input file of argv[2..]; CLI_OK or an exit code. */
static int import_args(int argc, char **argv, struct xlb_config *cfg,
		       const char **path)
{
	int rc = CLI_OK;

	for (int i = 2; i < argc && rc == CLI_OK; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(import_usage, stdout);
			return -1;
		} else if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--interface")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "xlb import: %s needs an interface name\n",
					argv[i]);
				return CLI_EUSAGE;
			}
			rc = add_interface(cfg, argv[++i]);
		} else if (!strncmp(argv[i], "--interface=", 12)) {
			rc = add_interface(cfg, argv[i] + 12);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "xlb import: unknown option '%s'\n", argv[i]);
			rc = CLI_EUSAGE;
		} else if (*path) {
			fprintf(stderr, "xlb import: one input only ('%s' and '%s')\n",
				*path, argv[i]);
			rc = CLI_EUSAGE;
		} else {
			*path = argv[i];
		}
	}
	if (!*path)
		*path = "-";
	return rc;
}

/* Read path, translate it with format f and print the YAML. */
static int import_run(size_t f, const char *path, struct xlb_config *cfg)
{
	const char *origin = strcmp(path, "-") ? path : "<stdin>";
	struct import_notes notes = { 0 };
	char err[512] = "", *text = NULL, *yaml = NULL;
	int rc = CLI_EFAIL, e;
	size_t len;

	if (file_read(path, IMPORT_MAX_BYTES, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "xlb import: %s\n", err);
		goto out;
	}
	e = formats[f].parse(text, len, origin, cfg, &notes, err, sizeof(err));
	if (e) {
		fprintf(stderr, "xlb import: %s\n", e == -ENOMEM ? "out of memory" : err);
		goto out;
	}
	yaml = import_yaml(cfg, &notes, formats[f].what, formats[f].name, origin);
	if (!yaml) {
		fprintf(stderr, "xlb import: out of memory\n");
		goto out;
	}
	fputs(yaml, stdout);
	if (notes.n)
		fprintf(stderr, "xlb import: %zu service%s, %zu note%s: read the "
			"'# note:' lines before applying\n", cfg->n_services,
			cfg->n_services == 1 ? "" : "s", notes.n, notes.n == 1 ? "" : "s");
	rc = CLI_OK;
out:
	free(yaml);
	free(text);
	import_notes_free(&notes);
	return rc;
}

int cli_import(int argc, char **argv)
{
	const char *path = NULL;
	struct xlb_config cfg;
	size_t f = 0;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(import_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EUSAGE : CLI_OK;
	}
	while (f < sizeof(formats) / sizeof(formats[0]) && strcmp(argv[1], formats[f].name))
		f++;
	if (f == sizeof(formats) / sizeof(formats[0])) {
		fprintf(stderr, "xlb import: unknown format '%s' (ipvsadm or "
			"keepalived)\n", argv[1]);
		return CLI_EUSAGE;
	}
	config_init(&cfg);
	rc = import_args(argc, argv, &cfg, &path);
	if (rc == CLI_OK)
		rc = import_run(f, path, &cfg);
	config_free(&cfg);
	return rc < 0 ? CLI_OK : rc;
}
