// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* How every `xlb` verb sends its request to xlbd and reports the answer,
 * and how a flag that sets a config key becomes a request field. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "schema.h"

const char *cli_socket;

int cli_send(struct json_object *req, struct json_object **result)
{
	struct json_object *reply, *ok, *v;
	char path[108], err[512];
	int ret = CLI_EFAIL;

	if (result)
		*result = NULL;
	if (cli_socket) {
		if (strlen(cli_socket) >= sizeof(path)) {
			fprintf(stderr, "xlb: --socket: path too long\n");
			json_object_put(req);
			return CLI_EUSAGE;
		}
		snprintf(path, sizeof(path), "%s", cli_socket);
	} else if (control_default_socket(path, sizeof(path))) {
		fprintf(stderr, "xlb: cannot find the network namespace; use --socket\n");
		json_object_put(req);
		return CLI_EFAIL;
	}
	reply = control_call(path, req, err, sizeof(err));
	if (!reply) {
		fprintf(stderr, "xlb: %s\n", err);
		return CLI_EFAIL;
	}
	if (json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok)) {
		if (result && json_object_object_get_ex(reply, "result", &v))
			*result = json_object_get(v);
		ret = CLI_OK;
	} else {
		fprintf(stderr, "xlb: %s\n", json_object_object_get_ex(reply, "error", &v) ?
			json_object_get_string(v) : "xlbd refused the request");
	}
	json_object_put(reply);
	return ret;
}

void cli_print_json(struct json_object *res)
{
	printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

int cli_run_request(const char *noun,
		    int (*build)(int, char **, struct json_object **, char *, size_t),
		    int argc, char **argv)
{
	struct json_object *req;
	char err[512];
	int ret;

	ret = build(argc - 1, argv + 1, &req, err, sizeof(err));
	if (ret == 1)
		return CLI_OK;          /* --help was printed */
	if (ret) {
		fprintf(stderr, "xlb %s: %s\n(see 'xlb %s --help')\n", noun, err, noun);
		return CLI_EUSAGE;
	}
	return cli_send(req, NULL);
}

int cli_key_field(struct json_object *req, const struct schema_section *sec,
		  const char *key, const char *value, void *scratch, char *err,
		  size_t errlen)
{
	const struct schema_key *k = schema_key(sec, key);
	int ret;

	if (!value)
		return 0;
	/* A single value goes through the file's parser here, so a typo
	 * fails before the daemon is asked (which checks again). A mapping
	 * (health_check) is the daemon's to read: against the running
	 * service. */
	ret = k->type == SCHEMA_NODE ? 0 : schema_parse_flag(k, value, scratch, err,
							     errlen);
	if (ret)
		return ret;
	if (k->type == SCHEMA_UINT)
		json_object_object_add(req, key, json_object_new_int64(
			(int64_t)schema_get_uint(k, scratch)));
	else
		json_object_object_add(req, key, json_object_new_string(value));
	return 0;
}
