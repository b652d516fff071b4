// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb list` and `xlb save`: show the running state, or print it as config. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char list_usage[] =
"Usage: xlb list [--stats] [--json]\n"
"\n"
"Services, their backends (weight, active or draining) and, with --stats,\n"
"packet/byte/new-flow counters per service and backend plus the data plane's\n"
"pass/drop/forward reasons and the flood guard's actions; conns A/I are the\n"
"active/inactive nat and fullnat\n"
"connections of a backend (as IPVS counts them). --json prints everything (counters included) as JSON.\n";

static const char save_usage[] =
"Usage: xlb save\n"
"\n"
"Prints the running configuration as YAML that `xlb apply -f` and `xlbd -c`\n"
"accept: xlb save > /etc/xlb/xlb.yaml\n";

static uint64_t u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_uint64(v) : 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void print_counters(struct json_object *o)
{
	struct json_object *p;

	/* Proxy services count connections, not packets. */
	if (json_object_object_get_ex(o, "proxy", &p)) {
		printf("  conns %llu active %llu total  bytes %llu in %llu out  "
		       "connect_fail %llu retries %llu timeouts %llu rejected %llu bad_header %llu",
		       (unsigned long long)u64(p, "active"), (unsigned long long)u64(p, "total"),
		       (unsigned long long)u64(p, "bytes_in"), (unsigned long long)u64(p, "bytes_out"),
		       (unsigned long long)u64(p, "connect_fail"), (unsigned long long)u64(p, "retries"),
		       (unsigned long long)u64(p, "timeouts"), (unsigned long long)u64(p, "rejected"),
		       (unsigned long long)u64(p, "bad_header"));
		return;
	}
	printf("  packets %llu  bytes %llu  new_flows %llu",
	       (unsigned long long)u64(o, "packets"), (unsigned long long)u64(o, "bytes"),
	       (unsigned long long)u64(o, "new_flows"));
}

/* One line of the non-zero counts of o (a JSON object of name -> count),
 * nothing when all are zero. */
static void print_counts(const char *title, struct json_object *o)
{
	bool any = false;

	json_object_object_foreach(o, key, val) {
		if (!json_object_get_uint64(val))
			continue;
		printf("%s %s=%llu", any ? "" : title, key,
		       (unsigned long long)json_object_get_uint64(val));
		any = true;
	}
	if (any)
		putchar('\n');
}

static void print_text(struct json_object *res, bool stats)
{
	struct json_object *svcs, *reasons;

	if (!json_object_object_get_ex(res, "services", &svcs) ||
	    !json_object_array_length(svcs)) {
		printf("no services\n");
	} else {
		for (size_t i = 0; i < json_object_array_length(svcs); i++) {
			struct json_object *s = json_object_array_get_idx(svcs, i);
			struct json_object *bes;
			const char *name = str(s, "name");

			printf("%s%s%s%s  mode %s  scheduler %s", str(s, "service"),
			       *name ? " (" : "", name, *name ? ")" : "", str(s, "mode"),
			       str(s, "scheduler"));
			/* As ipvsadm -L: "persistent SEC", and the client prefix. */
			if (u64(s, "persistence"))
				printf("  persistent %llu mask /%llu",
				       (unsigned long long)u64(s, "persistence"),
				       (unsigned long long)u64(s, "persistence_netmask"));
			if (stats)
				print_counters(s);
			putchar('\n');
			if (!json_object_object_get_ex(s, "backends", &bes))
				continue;
			for (size_t j = 0; j < json_object_array_length(bes); j++) {
				struct json_object *b = json_object_array_get_idx(bes, j);

				printf("  -> %-28s weight %-5llu %s", str(b, "address"),
				       (unsigned long long)u64(b, "weight"), str(b, "state"));
				/* Health only where a check runs. */
				if (strcmp(str(s, "health_check"), "none") &&
				    *str(s, "health_check"))
					printf("  health %s (%s)", str(b, "health"),
					       str(b, "health_reason"));
				if (stats) {
					print_counters(b);
					if (json_object_object_get_ex(b, "active_conns", NULL))
						printf("  conns %llu/%llu",
						       (unsigned long long)u64(b, "active_conns"),
						       (unsigned long long)u64(b, "inactive_conns"));
				}
				putchar('\n');
			}
		}
	}
	if (stats && json_object_object_get_ex(res, "reasons", &reasons))
		print_counts("data plane:", reasons);
	if (stats && json_object_object_get_ex(res, "flood_guard", &reasons))
		print_counts("flood guard:", reasons);
}

int cli_list(int argc, char **argv)
{
	struct json_object *req, *res;
	bool stats = false, json = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--stats") || !strcmp(argv[i], "-s")) {
			stats = true;
		} else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(list_usage, stdout);
			return CLI_OK;
		} else {
			fprintf(stderr, "xlb list: unknown argument '%s'\n%s", argv[i], list_usage);
			return CLI_EUSAGE;
		}
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("list"));
	ret = cli_send(req, &res);
	if (ret)
		return ret;
	if (json)
		printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(res, stats);
	json_object_put(res);
	return CLI_OK;
}

int cli_save(int argc, char **argv)
{
	struct json_object *req, *res;
	int ret;

	if (argc > 1) {
		if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			fputs(save_usage, stdout);
			return CLI_OK;
		}
		fprintf(stderr, "xlb save: unexpected argument '%s'\n%s", argv[1], save_usage);
		return CLI_EUSAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("save"));
	ret = cli_send(req, &res);
	if (ret)
		return ret;
	fputs(str(res, "yaml"), stdout);
	json_object_put(res);
	return CLI_OK;
}
