// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Finds the node of a top-level key (or an item of its sequence) in a YAML
 * document: its position, or that it is absent. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "yaml_find.h"

static yaml_node_t *top_value(yaml_document_t *doc, const char *key)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);

	if (!root || root->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/* The parser has its input set; it is deleted here. */
static int find(yaml_parser_t *ps, const char *key, size_t idx, size_t *line,
		size_t *col)
{
	yaml_document_t doc;
	yaml_node_t *n;
	int found = 0;

	if (!yaml_parser_load(ps, &doc)) {
		yaml_parser_delete(ps);
		return 0;
	}
	n = top_value(&doc, key);
	if (n && idx != YAML_FIND_KEY)
		n = n->type == YAML_SEQUENCE_NODE &&
		    idx < (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) ?
		    yaml_document_get_node(&doc, n->data.sequence.items.start[idx]) : NULL;
	if (n) {
		*line = n->start_mark.line + 1;
		*col = n->start_mark.column + 1;
		found = 1;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(ps);
	return found;
}

int yaml_find_text(const char *text, size_t len, const char *key, size_t idx,
		   size_t *line, size_t *col)
{
	yaml_parser_t ps;

	if (!yaml_parser_initialize(&ps))
		return 0;
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	return find(&ps, key, idx, line, col);
}

int yaml_find_file(const char *path, const char *key, size_t idx,
		   size_t *line, size_t *col)
{
	yaml_parser_t ps;
	FILE *f = fopen(path, "r");
	int found;

	if (!f)
		return 0;
	if (!yaml_parser_initialize(&ps)) {
		fclose(f);
		return 0;
	}
	yaml_parser_set_input_file(&ps, f);
	found = find(&ps, key, idx, line, col);
	fclose(f);
	return found;
}
