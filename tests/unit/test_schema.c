// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The config schema against itself and the docs: docs/config.md has one
 * table per section listing exactly its keys, xlb.yaml(5) names every key
 * and describes no key the schema lacks, and every row is consistent
 * (defaults in range, names for enum defaults, unique keys). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "schema.h"
#include "unit.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static const struct schema_section *section_named(const char *name, size_t len)
{
	for (size_t i = 0; i < schema_n_sections; i++)
		if (strlen(schema_sections[i]->name) == len &&
		    !strncmp(schema_sections[i]->name, name, len))
			return schema_sections[i];
	return NULL;
}

/* Keys seen in the docs, per section, by row index. */
struct seen {
	bool key[16][SCHEMA_KEYS_MAX];
};

static size_t section_idx(const struct schema_section *sec)
{
	for (size_t i = 0; i < schema_n_sections; i++)
		if (schema_sections[i] == sec)
			return i;
	return 0;
}

/* Every `key` of the first cell of a table row under a schema marker. */
static void doc_row(const struct schema_section *sec, const char *line, struct seen *sn)
{
	const char *end = strchr(line + 1, '|'), *p = line;

	while (end && (p = strchr(p, '`')) && p < end) {
		const char *q = strchr(p + 1, '`');
		char key[64];

		if (!q || q > end || (size_t)(q - p - 1) >= sizeof(key))
			break;
		snprintf(key, sizeof(key), "%.*s", (int)(q - p - 1), p + 1);
		const struct schema_key *k = schema_find(sec, key);

		CHECK(k, "docs/config.md: `%s` in the %s table is not a key of the "
		      "schema's %s section", key, sec->name, sec->name);
		if (k)
			sn->key[section_idx(sec)][k - sec->keys] = true;
		p = q + 1;
	}
}

static void test_config_md(void)
{
	char *doc = slurp("docs/config.md");
	const struct schema_section *sec = NULL;
	struct seen sn = { { { 0 } } };

	CHECK(doc, "cannot read docs/config.md");
	if (!doc)
		return;
	for (char *line = strtok(doc, "\n"); line; line = strtok(NULL, "\n")) {
		const char *m = strstr(line, "<!-- schema: ");

		if (m) {
			const char *e = strstr(m, " -->");

			sec = e ? section_named(m + 13, (size_t)(e - m - 13)) : NULL;
			CHECK(sec, "docs/config.md: unknown schema section in '%s'", line);
		} else if (line[0] != '|') {
			if (line[0] == '#')
				sec = NULL;
		} else if (sec && strncmp(line, "| key", 5) && strncmp(line, "|---", 4)) {
			doc_row(sec, line, &sn);
		}
	}
	for (size_t i = 0; i < schema_n_sections; i++)
		for (size_t j = 0; j < schema_sections[i]->n_keys; j++)
			CHECK(sn.key[i][j], "docs/config.md has no row for `%s` in a "
			      "<!-- schema: %s --> table", schema_sections[i]->keys[j].key,
			      schema_sections[i]->name);
	free(doc);
}

static const struct schema_key *find_any(const char *key)
{
	for (size_t i = 0; i < schema_n_sections; i++) {
		const struct schema_key *k = schema_find(schema_sections[i], key);

		if (k)
			return k;
	}
	return NULL;
}

/* The first word after ".B " or ".BR " at the start of a line. */
static bool bold_word(const char *line, char *w, size_t len)
{
	const char *p = !strncmp(line, ".B ", 3) ? line + 3 :
			!strncmp(line, ".BR ", 4) ? line + 4 : NULL;
	size_t n;

	if (!p)
		return false;
	n = strcspn(p, " ,;()\"");
	if (!n || n >= len)
		return false;
	snprintf(w, len, "%.*s", (int)n, p);
	return true;
}

/* key as a word of a line set in bold (.B, .BR, .RB). */
static bool bold_somewhere(const char *man, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = strstr(man, key); p; p = strstr(p + 1, key)) {
		const char *bol = p;

		while (bol > man && bol[-1] != '\n')
			bol--;
		if (strncmp(bol, ".B ", 3) && strncmp(bol, ".BR ", 4) &&
		    strncmp(bol, ".RB ", 4))
			continue;
		if ((p[-1] == ' ' || p[-1] == '"') &&
		    (!p[n] || strchr(" ,;.)\"\n", p[n])))
			return true;
	}
	return false;
}

static void test_man_page(void)
{
	char *man = slurp("packaging/man/xlb.yaml.5");
	bool in_keys = false, after_tp = false;
	char w[64];

	CHECK(man, "cannot read packaging/man/xlb.yaml.5");
	if (!man)
		return;
	/* Every key is written in bold somewhere. */
	for (size_t i = 0; i < schema_n_sections; i++)
		for (size_t j = 0; j < schema_sections[i]->n_keys; j++)
			CHECK(bold_somewhere(man, schema_sections[i]->keys[j].key),
			      "xlb.yaml(5) does not name the key '%s' (%s) in bold",
			      schema_sections[i]->keys[j].key, schema_sections[i]->name);
	/* Every item of a KEYS section is a key. */
	for (char *line = strtok(man, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, ".SH ", 4))
			in_keys = strstr(line, "KEYS") != NULL;
		if (in_keys && after_tp && bold_word(line, w, sizeof(w)))
			CHECK(find_any(w), "xlb.yaml(5) describes '%s', which is not a "
			      "key of the schema", w);
		after_tp = !strcmp(line, ".TP");
	}
	free(man);
}

/* Defaults in range, enum defaults named, keys unique, and the default of
 * every row reads back through schema_parse. */
static void test_rows(void)
{
	char buf[256], msg[256];

	for (size_t i = 0; i < schema_n_sections; i++) {
		const struct schema_section *sec = schema_sections[i];

		CHECK(sec->n_keys <= SCHEMA_KEYS_MAX, "%s", sec->name);
		for (size_t j = 0; j < sec->n_keys; j++) {
			const struct schema_key *k = &sec->keys[j];
			union { struct xlb_config c; struct xlb_service_cfg s;
				struct xlb_backend_cfg b; struct xlb_health_cfg h;
				struct xlb_timeouts t; struct xlb_sockaddr a; } obj;
			const char *s;

			CHECK(schema_find(sec, k->key) == k, "%s: '%s' twice", sec->name,
			      k->key);
			if (k->type == SCHEMA_NODE)
				continue;
			memset(&obj, 0, sizeof(obj));
			schema_defaults(sec, &obj);
			if (k->type == SCHEMA_ENUM && !(k->flags & SK_REQUIRED))
				CHECK(schema_name_of(k->names, (uint8_t)k->def), "%s: %s",
				      sec->name, k->key);
			if (k->type == SCHEMA_UINT || k->type == SCHEMA_MS)
				CHECK(k->def == 0 || (k->def >= k->min && k->def <= k->max),
				      "%s: %s default %llu out of its range", sec->name,
				      k->key, (unsigned long long)k->def);
			s = schema_format(k, &obj, buf, sizeof(buf));
			if (s && *s && !schema_is_default(k, &obj))
				continue;       /* SCALAR rows without a default */
			if (s && *s && (k->def || k->def_str))
				CHECK(schema_parse(k, "", s, &obj, msg, sizeof(msg)) == 0,
				      "%s: %s: default '%s' does not parse: %s", sec->name,
				      k->key, s, msg);
		}
	}
}

/* One parser for the file, the control API and the CLI: the same limit and
 * the same words everywhere. */
static void test_parse(void)
{
	const struct schema_key *p = schema_key(&schema_service, "persistence");
	const struct schema_key *m = schema_key(&schema_service, "mode");
	struct xlb_service_cfg s;
	char msg[256];

	memset(&s, 0, sizeof(s));
	s.vip.port = 80;
	CHECK(schema_parse(p, "", "300", &s, msg, sizeof(msg)) == 0 &&
	      s.persistence == 300, "%s", msg);
	CHECK(schema_parse(p, "", "86401", &s, msg, sizeof(msg)) == -EINVAL &&
	      !strcmp(msg, "persistence 86401 out of range (0-86400)"), "%s", msg);
	CHECK(schema_parse_flag(p, "-5", &s, msg, sizeof(msg)) == -EINVAL &&
	      !strcmp(msg, "--persistence: '-5' is not a number"), "%s", msg);
	CHECK(schema_parse_flag(m, "bogus", &s, msg, sizeof(msg)) == -EINVAL &&
	      !strcmp(msg, "--mode: unknown mode 'bogus' (expected proxy, nat, "
		      "fullnat, dr or tun)"), "%s", msg);
	CHECK(schema_parse(m, "", "fullnat", &s, msg, sizeof(msg)) == 0 &&
	      s.mode == XLB_MODE_FULLNAT, "%s", msg);

	/* One key's YAML, as the control API passes it: the walk's checks,
	 * no position, one line only. */
	CHECK(config_parse_value(&schema_service, "health_check", "type: tcp, rise: 5",
				 &s, msg, sizeof(msg)) == 0 && s.hc.type == XLB_HC_TCP &&
	      s.hc.rise == 5 && s.hc.fall == 3, "%s", msg);
	s.vip.port = 0;
	CHECK(config_parse_value(&schema_service, "health_check", "type: tcp", &s, msg,
				 sizeof(msg)) == -EINVAL &&
	      !strcmp(msg, "health_check: a service on every port (port \"*\") needs "
		      "the check's 'port'"), "%s", msg);
	CHECK(config_parse_value(&schema_service, "persistence", "5\nmode: dr", &s, msg,
				 sizeof(msg)) == -EINVAL &&
	      !strcmp(msg, "persistence: the value must be on one line"), "%s", msg);
}

int main(void)
{
	RUN(test_config_md);
	RUN(test_man_page);
	RUN(test_rows);
	RUN(test_parse);
	UNIT_SUMMARY();
}
