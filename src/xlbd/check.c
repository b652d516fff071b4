// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlbd -t` / `--check`: everything `xlbd -c` would reject, found without
 * attaching, adding addresses or opening sockets. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "check.h"
#include "config.h"
#include "state.h"
#include "yaml_find.h"

/* dataplane_attach() attaches to every interface: a missing one stops xlbd. */
static int check_interfaces(const char *path, const struct xlb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		size_t line, col;

		if (if_nametoindex(cfg->interfaces[i]))
			continue;
		if (yaml_find_file(path, "interfaces", i, &line, &col))
			fprintf(stderr, "xlbd: %s:%zu:%zu: no such interface '%s'\n",
				path, line, col, cfg->interfaces[i]);
		else
			fprintf(stderr, "xlbd: %s: no such interface '%s'\n", path,
				cfg->interfaces[i]);
		return -1;
	}
	return 0;
}

int check_config(const char *path)
{
	struct xlb_config cfg;
	struct state st;
	char err[1024];
	int ret = 1;

	if (config_parse_file(path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "xlbd: %s\n", err);
		return 1;
	}
	if (check_interfaces(path, &cfg))
		goto out;
	if (announce_check(&cfg.announce, err, sizeof(err))) {
		fprintf(stderr, "xlbd: %s: %s\n", path, err);
		goto out;
	}
	/* A state without a data plane (dp NULL) changes nothing on the host
	 * but runs every check of a real start: capacity, tables. */
	state_init(&st, NULL, &cfg);
	if (state_apply(&st, &cfg, err, sizeof(err)))
		fprintf(stderr, "xlbd: %s: %s\n", path, err);
	else
		ret = 0;
	state_teardown(&st);
	if (!ret)
		printf("xlbd: %s: configuration OK (%zu service(s))\n", path,
		       cfg.n_services);
out:
	config_free(&cfg);
	return ret;
}
