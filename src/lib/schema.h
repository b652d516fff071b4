/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The config schema: one row per key of xlb.yaml, with its type, struct
 * field, range, default and names. The YAML walk (config.c), validation,
 * `xlb save` (config_emit.c), the control API, the CLI flags and the
 * importers all read these rows, so a key's facts live here only.
 *
 * Adding a key: one row in the section's table in src/lib/schema.c
 * (e.g. `{ .key = "foo", .type = SCHEMA_UINT, FIELD(struct xlb_service_cfg, foo),
 * .max = 10, .def = 1 },`), the field in config.h, and a line in
 * docs/config.md and packaging/man/xlb.yaml.5 (test_schema checks both). */
#ifndef XLB_SCHEMA_H
#define XLB_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum schema_type {
	SCHEMA_BOOL,            /* bool */
	SCHEMA_UINT,            /* uint8/16/32_t (by .size), .min-.max */
	SCHEMA_MS,              /* uint32_t ms written as a duration ("500ms", "3s") */
	SCHEMA_SECONDS,         /* uint32_t s: a number or a duration of whole seconds */
	SCHEMA_ENUM,            /* uint8_t, one of .names */
	SCHEMA_STRING,          /* char[.size], checked by .check */
	SCHEMA_SCALAR,          /* one string through .parse / .format */
	SCHEMA_NODE,            /* a list or mapping: .walk (config.c) / .emit */
};

/* A name of an enum value; `alias` names are accepted, never printed. */
struct schema_name {
	const char *name;
	uint8_t value;
	bool alias;
};

struct schema_walk;             /* the YAML walk's state (config.c) */
struct schema_key;

/* Scalar hooks: parse s into obj, the section's struct (0 or -EINVAL with
 * the message in msg, which starts with prefix), print obj's value (NULL:
 * not printed). */
typedef int (*schema_parse_fn)(const struct schema_key *k, const char *prefix,
			       const char *s, void *obj, char *msg, size_t len);
typedef const char *(*schema_format_fn)(const void *obj, char *buf, size_t len);
/* STRING check: 0, or -EINVAL with a message naming `what`. */
typedef int (*schema_check_fn)(const char *what, const char *s, char *msg, size_t len);
/* NODE hooks: the YAML key and value nodes (yaml_node_t *) into obj, the
 * section's struct; obj's part as YAML. */
typedef int (*schema_walk_fn)(struct schema_walk *w, void *key, void *node, void *obj);
typedef void (*schema_emit_fn)(FILE *f, const char *indent, const void *obj);

enum {
	SK_ALWAYS   = 1u << 0,  /* `xlb save` prints it even at its default */
	SK_NO_EMIT  = 1u << 1,  /* never printed (another key carries it) */
	SK_SET      = 1u << 2,  /* .set_off: a bool the walk sets when given */
	SK_UNKNOWN  = 1u << 3,  /* ENUM errors read "unknown KEY 'x' (...)" */
	SK_API      = 1u << 4,  /* settable by the control API and CLI flags */
	SK_QUOTE    = 1u << 5,  /* printed in quotes ("200-399") */
	SK_REQUIRED = 1u << 6,  /* no default: the walk refuses a mapping without it */
};

#define SCHEMA_KEYS_MAX 48       /* rows of the largest section */

struct schema_key {
	const char *key;
	enum schema_type type;
	size_t off, size;               /* FIELD(): where in the section's struct */
	uint64_t min, max;              /* UINT, MS, SECONDS */
	uint64_t def;                   /* default of BOOL, UINT, MS, SECONDS, ENUM */
	const char *def_str;            /* default of STRING and SCALAR (parsed) */
	const struct schema_name *names;        /* ENUM, ended by { NULL } */
	unsigned int flags;             /* SK_* */
	uint32_t only;                  /* service: modes (1 << mode), health_check:
					 * types (1 << type) it applies to; 0: all */
	size_t set_off;                 /* SK_SET */
	schema_check_fn check;
	schema_parse_fn parse;
	schema_format_fn format;
	schema_walk_fn walk;            /* NODE: NULL with .sub: the mapping .sub */
	schema_emit_fn emit;            /* NODE: NULL with .sub: .sub in flow style */
	const struct schema_section *sub;
};

#define FIELD(st, f) .off = offsetof(st, f), .size = sizeof(((st *)0)->f)

/* A mapping of the file: its rows in the order `xlb save` prints them. */
struct schema_section {
	const char *name;               /* "service", "health_check", ... */
	const char *prefix;             /* of its keys in messages: "health_check: " */
	const char *noun;               /* "unknown NOUN 'x'"; NULL: "key" */
	const char *expected;           /* "(expected ...)" after it; NULL: the
					 * keys, "": none */
	bool comma_list;                /* the keys listed "a, b, c", not "a, b or c" */
	int only_off;                   /* offset of the uint8_t that .only of
					 * its rows tests (mode, type); -1: none */
	const struct schema_key *keys;
	size_t n_keys;
};

extern const struct schema_section schema_top, schema_service, schema_backend,
	schema_health, schema_timeouts, schema_metrics, schema_announce;
/* The hooks of the NODE rows: walks in config.c, emitters in config_emit.c. */
int config_walk_interfaces(struct schema_walk *w, void *key, void *node, void *obj);
int config_walk_local_addresses(struct schema_walk *w, void *key, void *node, void *obj);
int config_walk_services(struct schema_walk *w, void *key, void *node, void *obj);
int config_walk_backends(struct schema_walk *w, void *key, void *node, void *obj);
int config_walk_health(struct schema_walk *w, void *key, void *node, void *obj);
void config_emit_interfaces(FILE *f, const char *indent, const void *obj);
void config_emit_local_addresses(FILE *f, const char *indent, const void *obj);
void config_emit_services(FILE *f, const char *indent, const void *obj);
void config_emit_backends(FILE *f, const char *indent, const void *obj);
void config_emit_health(FILE *f, const char *indent, const void *obj);

/* Every section, for the docs test and tools. */
extern const struct schema_section *const schema_sections[];
extern const size_t schema_n_sections;

/* The row of key in sec, or NULL. */
const struct schema_key *schema_find(const struct schema_section *sec, const char *key);
/* The row or abort(): for code that names a row of the tables above. */
const struct schema_key *schema_key(const struct schema_section *sec, const char *key);

/* Parse the string s of a scalar row (every type but NODE) into obj, with
 * the range and names of the row. Messages begin with prefix and the key
 * ("health_check: rise 0 out of range (1-100)"). */
int schema_parse(const struct schema_key *k, const char *prefix, const char *s,
		 void *obj, char *msg, size_t len);
/* The same for a command-line flag --KEY: messages begin "--KEY". */
int schema_parse_flag(const struct schema_key *k, const char *s, void *obj,
		      char *msg, size_t len);
/* obj's value of a scalar row as the file writes it; NULL when not printable. */
const char *schema_format(const struct schema_key *k, const void *obj, char *buf,
			  size_t len);
/* Whether obj holds the row's default (or, SK_SET, was not given). */
bool schema_is_default(const struct schema_key *k, const void *obj);
/* Write every row's default into obj. */
void schema_defaults(const struct schema_section *sec, void *obj);
/* A uint-like row's value in obj / set it. */
uint64_t schema_get_uint(const struct schema_key *k, const void *obj);
void schema_set_uint(const struct schema_key *k, void *obj, uint64_t v);
/* The row's value out of its range: 0, or -ERANGE with "PREFIXKEY V out of
 * range (MIN-MAX)" in msg. For objects built without the walk. */
int schema_check_range(const struct schema_key *k, const char *prefix,
		       const void *obj, char *msg, size_t len);
/* "a, b or c": the names of an enum row / the keys of a section. */
char *schema_names_str(const struct schema_name *names, char *buf, size_t len);
char *schema_keys_str(const struct schema_section *sec, char *buf, size_t len);
const char *schema_name_of(const struct schema_name *names, uint8_t value);
int schema_value_of(const struct schema_name *names, const char *name);

#endif /* XLB_SCHEMA_H */
