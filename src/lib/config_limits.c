// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The limits of a config text, checked event by event before libyaml loads
 * it: loading a deeply nested file costs time quadratic in its depth, and
 * aliases can make a small file a huge tree for the walk that follows. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_limits.h"

struct anchor {
	char *name;
	uint64_t nodes;                 /* of the anchored node, expanded */
};

struct scan {
	uint64_t nodes;                 /* so far, aliases expanded */
	size_t depth;
	uint64_t start[CONFIG_MAX_DEPTH];       /* nodes when each open one began */
	int open_anchor[CONFIG_MAX_DEPTH];      /* its anchor, or -1 */
	struct anchor anchors[CONFIG_MAX_ANCHORS];
	size_t n_anchors;
};

static int anchor_add(struct scan *s, const yaml_char_t *name)
{
	if (!name)
		return -1;
	if (s->n_anchors == CONFIG_MAX_ANCHORS)
		return -2;
	s->anchors[s->n_anchors].name = strdup((const char *)name);
	s->anchors[s->n_anchors].nodes = 1;
	return (int)s->n_anchors++;
}

static uint64_t alias_nodes(const struct scan *s, const yaml_char_t *name)
{
	/* The last definition wins, as in YAML. */
	for (size_t i = s->n_anchors; i-- > 0;)
		if (s->anchors[i].name && !strcmp(s->anchors[i].name, (const char *)name))
			return s->anchors[i].nodes;
	return 1;
}

/* One event; returns NULL or what limit it passes. */
static const char *scan_event(struct scan *s, const yaml_event_t *ev)
{
	int a;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		s->nodes++;
		if (anchor_add(s, ev->data.scalar.anchor) == -2)
			return "too many anchors";
		break;
	case YAML_ALIAS_EVENT:
		s->nodes += alias_nodes(s, ev->data.alias.anchor);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (s->depth == CONFIG_MAX_DEPTH)
			return "nested too deep";
		a = anchor_add(s, ev->type == YAML_MAPPING_START_EVENT ?
			       ev->data.mapping_start.anchor :
			       ev->data.sequence_start.anchor);
		if (a == -2)
			return "too many anchors";
		s->open_anchor[s->depth] = a;
		s->start[s->depth++] = s->nodes++;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (!s->depth)
			break;
		a = s->open_anchor[--s->depth];
		if (a >= 0)
			s->anchors[a].nodes = s->nodes - s->start[s->depth];
		break;
	default:
		break;
	}
	return s->nodes > CONFIG_MAX_NODES ? "too many nodes" : NULL;
}

int config_check_limits(const char *text, size_t len, const char *origin,
			char *err, size_t errlen)
{
	struct scan *s = calloc(1, sizeof(*s));
	const char *over = NULL;
	yaml_parser_t ps;
	yaml_event_t ev;
	bool done = false;

	if (!s || !yaml_parser_initialize(&ps)) {
		free(s);
		snprintf(err, errlen, "%s: out of memory", origin);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	while (!done && !over && yaml_parser_parse(&ps, &ev)) {
		over = scan_event(s, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		if (over)
			snprintf(err, errlen, "%s:%zu:%zu: %s (at most %u levels, %u nodes "
				 "with aliases expanded, %u anchors)", origin,
				 ev.start_mark.line + 1, ev.start_mark.column + 1, over,
				 CONFIG_MAX_DEPTH, CONFIG_MAX_NODES, CONFIG_MAX_ANCHORS);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
	for (size_t i = 0; i < s->n_anchors; i++)
		free(s->anchors[i].name);
	free(s);
	return over ? -E2BIG : 0;
}
