// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb apply -f FILE` and `xlb version`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "control.h"
#include "file.h"
#include "text.h"
#include "version.h"

static const char apply_usage[] =
"Usage: xlb apply -f FILE\n"
"\n"
"Loads a config into the running xlbd: services and backends become exactly\n"
"those of FILE, applied as a difference, without dropping established flows.\n"
"A file with an error is rejected whole (file:line:column) and nothing changes.\n"
"FILE - reads standard input.\n";

/* A config is UTF-8 text: a NUL byte (which would cut the text short on
 * its way to xlbd) or invalid UTF-8 is refused here, with its position. */
static int check_text(const char *path, const char *buf, size_t len,
		      char *err, size_t errlen)
{
	size_t off, line, col;
	int ret = text_check(buf, len, &off);

	if (!ret)
		return 0;
	text_position(buf, off, &line, &col);
	snprintf(err, errlen, "%s:%zu:%zu: %s (byte %zu); a config is UTF-8 text",
		 strcmp(path, "-") ? path : "<stdin>", line, col, text_error(ret), off);
	return ret;
}

int cli_apply(int argc, char **argv)
{
	const char *path = NULL;
	struct json_object *req;
	char err[512], *text;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "xlb apply: %s needs a file name\n", argv[i]);
				return CLI_EUSAGE;
			}
			path = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(apply_usage, stdout);
			return CLI_OK;
		} else {
			fprintf(stderr, "xlb apply: unexpected argument '%s'\n%s", argv[i],
				apply_usage);
			return CLI_EUSAGE;
		}
	}
	if (!path) {
		fprintf(stderr, "xlb apply: missing -f FILE\n%s", apply_usage);
		return CLI_EUSAGE;
	}
	if (file_read(path, XLB_CONTROL_MAX, &text, &len, err, sizeof(err))) {
		fprintf(stderr, "xlb apply: %s\n", err);
		return CLI_EFAIL;
	}
	if (check_text(path, text, len, err, sizeof(err))) {
		fprintf(stderr, "xlb apply: %s\n", err);
		free(text);
		return CLI_EFAIL;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("apply"));
	json_object_object_add(req, "yaml", json_object_new_string(text));
	json_object_object_add(req, "origin", json_object_new_string(
		strcmp(path, "-") ? path : "<stdin>"));
	free(text);
	return cli_send(req, NULL);
}

int cli_version(int argc, char **argv)
{
	struct json_object *req, *reply, *v, *r;
	char err[256], path[108];

	printf("xlb %s\n", XLB_VERSION);
	/* The daemon's version too, when one answers; its absence is no error. */
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: xlb version\nPrints the version of xlb and of the running xlbd.\n");
		return CLI_OK;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("version"));
	if (cli_socket)
		snprintf(path, sizeof(path), "%s", cli_socket);
	else
		control_default_socket(path, sizeof(path));
	reply = control_call(path, req, err, sizeof(err));
	if (reply && json_object_object_get_ex(reply, "result", &r) &&
	    json_object_object_get_ex(r, "version", &v))
		printf("xlbd %s\n", json_object_get_string(v));
	else
		printf("xlbd: not reachable (%s)\n", reply ? "bad reply" : err);
	json_object_put(reply);
	return CLI_OK;
}
