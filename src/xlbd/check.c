// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlbd -t` / `--check`: everything `xlbd -c` would reject, found without
 * attaching, adding addresses or opening sockets. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "check.h"
#include "config.h"
#include "state.h"

/* The line and column of item `idx` of the top-level sequence `key` in the
 * YAML file at path; 0 when it cannot be found (the caller then names the
 * file alone). */
static size_t locate_item(const char *path, const char *key, size_t idx,
			  size_t *col)
{
	yaml_parser_t ps;
	yaml_document_t doc;
	yaml_node_t *root, *seq = NULL;
	size_t line = 0;
	FILE *f;

	*col = 0;
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!yaml_parser_initialize(&ps)) {
		fclose(f);
		return 0;
	}
	yaml_parser_set_input_file(&ps, f);
	if (yaml_parser_load(&ps, &doc)) {
		root = yaml_document_get_root_node(&doc);
		for (yaml_node_pair_t *pr = root && root->type == YAML_MAPPING_NODE ?
		     root->data.mapping.pairs.start : NULL;
		     pr && pr < root->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(&doc, pr->key);

			if (k && k->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)k->data.scalar.value, key))
				seq = yaml_document_get_node(&doc, pr->value);
		}
		if (seq && seq->type == YAML_SEQUENCE_NODE &&
		    idx < (size_t)(seq->data.sequence.items.top -
				   seq->data.sequence.items.start)) {
			yaml_node_t *it = yaml_document_get_node(
				&doc, seq->data.sequence.items.start[idx]);

			line = it->start_mark.line + 1;
			*col = it->start_mark.column + 1;
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&ps);
	fclose(f);
	return line;
}

/* dataplane_attach() attaches to every interface: a missing one stops xlbd. */
static int check_interfaces(const char *path, const struct xlb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		size_t line, col;

		if (if_nametoindex(cfg->interfaces[i]))
			continue;
		line = locate_item(path, "interfaces", i, &col);
		if (line)
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
