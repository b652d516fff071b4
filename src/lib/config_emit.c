// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Writes a struct xlb_config as YAML that config_parse_buf reads back to the
 * same config: what `xlb save` prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "schema.h"

/* Plain (unquoted) YAML is only safe for a conservative set of strings:
 * no indicators, nothing YAML would read as a bool/null, no ':' or '['
 * (IPv6 addresses, ADDR:PORT in flow mappings). */
static bool plain_ok(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on",
					     "off", "null", "y", "n", "~" };

	if (!*s)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      (*s >= '0' && *s <= '9')))
		return false;
	for (const char *q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '-' ||
		      *q == '_' || *q == '/'))
			return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return false;
	return true;
}

static void emit_str(FILE *f, const char *s)
{
	if (plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (*q == '"' || *q == '\\')
			fprintf(f, "\\%c", *q);
		else if (*q < 0x20 || *q == 0x7f)
			fprintf(f, "\\x%02x", *q);
		else
			fputc(*q, f);
	}
	fputc('"', f);
}

static void emit_addr(FILE *f, const struct xlb_sockaddr *a)
{
	char buf[XLB_ADDRSTR_MAX];

	emit_str(f, addr_str(a, buf, sizeof(buf)));
}

/* A scalar row's value: numbers and names as they are, strings and
 * addresses quoted when YAML needs it. */
static void emit_value(FILE *f, const struct schema_key *k, const void *obj)
{
	char buf[XLB_ADDRSTR_MAX + XLB_HC_STR_MAX];
	const char *s = schema_format(k, obj, buf, sizeof(buf));

	if (!s)
		return;
	if (k->flags & SK_QUOTE)
		fprintf(f, "\"%s\"", s);
	else if (k->type == SCHEMA_STRING || k->type == SCHEMA_SCALAR)
		emit_str(f, s);
	else
		fputs(s, f);
}

/* Whether `xlb save` prints row k of obj (its section's .only tested on
 * the byte at only_off). */
static bool emitted(const struct schema_section *sec, const struct schema_key *k,
		    const void *obj)
{
	if (k->flags & SK_NO_EMIT)
		return false;
	if (sec->only_off >= 0 && k->only &&
	    !(k->only & (1u << ((const uint8_t *)obj)[sec->only_off])))
		return false;
	return (k->flags & SK_ALWAYS) || !schema_is_default(k, obj);
}

/* "KEY: { a: 1, b: 2 }\n" after indent (no "KEY: " when key is NULL);
 * nothing when no row is printed. */
static void emit_flow(FILE *f, const char *indent, const char *key,
		      const struct schema_section *sec, const void *obj)
{
	const char *sep = " ";

	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct schema_key *k = &sec->keys[i];

		if (!emitted(sec, k, obj))
			continue;
		if (sep[0] == ' ')
			fprintf(f, "%s%s%s{", indent, key ? key : "", key ? ": " : "");
		fprintf(f, "%s%s: ", sep, k->key);
		emit_value(f, k, obj);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputs(" }\n", f);
}

/* The rows of obj one per line: the first after `first`, the others after
 * indent. */
static void emit_block(FILE *f, const struct schema_section *sec, const void *obj,
		       const char *first, const char *indent)
{
	size_t n = 0;

	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct schema_key *k = &sec->keys[i];
		const char *in = n ? indent : first;

		if (!emitted(sec, k, obj))
			continue;
		n++;
		if (k->type == SCHEMA_NODE && k->emit) {
			k->emit(f, in, obj);
		} else if (k->type == SCHEMA_NODE) {
			emit_flow(f, in, k->key, k->sub, (const char *)obj + k->off);
		} else {
			fprintf(f, "%s%s: ", in, k->key);
			emit_value(f, k, obj);
			fputc('\n', f);
		}
	}
}

void config_emit_interfaces(FILE *f, const char *indent, const void *obj)
{
	const struct xlb_config *cfg = obj;

	fprintf(f, "%sinterfaces: [", indent);
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		if (i)
			fputs(", ", f);
		emit_str(f, cfg->interfaces[i]);
	}
	fputs("]\n", f);
}

void config_emit_local_addresses(FILE *f, const char *indent, const void *obj)
{
	const struct xlb_config *cfg = obj;

	if (!cfg->n_local_addresses)
		return;
	fprintf(f, "%slocal_addresses: [", indent);
	for (size_t i = 0; i < cfg->n_local_addresses; i++) {
		if (i)
			fputs(", ", f);
		emit_addr(f, &cfg->local_addresses[i]);
	}
	fputs("]\n", f);
}

void config_emit_health(FILE *f, const char *indent, const void *obj)
{
	const struct xlb_service_cfg *s = obj;

	if (s->hc.type != XLB_HC_NONE)
		emit_flow(f, indent, "health_check", &schema_health, &s->hc);
}

void config_emit_backends(FILE *f, const char *indent, const void *obj)
{
	const struct xlb_service_cfg *s = obj;
	char item[32];

	if (!s->n_backends) {
		fprintf(f, "%sbackends: []\n", indent);
		return;
	}
	fprintf(f, "%sbackends:\n", indent);
	snprintf(item, sizeof(item), "%s  - ", indent);
	for (size_t i = 0; i < s->n_backends; i++)
		emit_flow(f, item, NULL, &schema_backend, &s->backends[i]);
}

void config_emit_services(FILE *f, const char *indent, const void *obj)
{
	const struct xlb_config *cfg = obj;

	if (!cfg->n_services) {
		fprintf(f, "%sservices: []\n", indent);
		return;
	}
	fprintf(f, "%sservices:\n", indent);
	for (size_t i = 0; i < cfg->n_services; i++)
		emit_block(f, &schema_service, &cfg->services[i], "  - ", "    ");
}

char *config_emit_yaml(const struct xlb_config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	emit_block(f, &schema_top, cfg, "", "");
	if (ferror(f)) {
		fclose(f);
		free(out);
		return NULL;
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
