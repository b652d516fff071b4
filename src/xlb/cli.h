/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The `xlb` command: one file per verb (cli_*.c), dispatched from xlb.c.
 * Each verb's argument parsing is a separate function that builds the
 * control request, so it can be tested without a daemon. */
#ifndef XLB_CLI_H
#define XLB_CLI_H

#include <stddef.h>
#include <json-c/json.h>

/* Exit codes of xlb. */
#define CLI_OK        0
#define CLI_EFAIL     1         /* the daemon refused or could not be reached */
#define CLI_EUSAGE    2         /* bad arguments */

extern const char *cli_socket;  /* --socket, or NULL for the default */

/* Send req (consumed) to xlbd. On success *result (may be NULL) is the
 * reply's "result" (caller puts it) and CLI_OK is returned; otherwise the
 * error is printed and CLI_EFAIL returned. */
int cli_send(struct json_object *req, struct json_object **result);
/* Print a result as pretty JSON (--json). */
void cli_print_json(struct json_object *res);

/* Request builders: argv starts at the word after the verb's noun
 * (e.g. {"add", "tcp/1.2.3.4:80", "--mode", "dr"} for `xlb service add ...`).
 * Return 0 with *req set, 1 when help was printed, or -EINVAL with err
 * naming the offending argument. */
int cli_service_request(int argc, char **argv, struct json_object **req,
			char *err, size_t errlen);
int cli_backend_request(int argc, char **argv, struct json_object **req,
			char *err, size_t errlen);
/* `xlb zero [SERVICE]`: argv after the verb. */
int cli_zero_request(int argc, char **argv, struct json_object **req,
		     char *err, size_t errlen);
/* `xlb conns ...`: argv[0] is the verb (its options come in any order). */
int cli_conns_request(int argc, char **argv, struct json_object **req,
		      char *err, size_t errlen);

/* Build a request with `build` from argv[1..] and send it: the shared body
 * of the verbs that only turn arguments into one request. */
int cli_run_request(const char *noun,
		    int (*build)(int, char **, struct json_object **, char *, size_t),
		    int argc, char **argv);

/* The flag that sets the config key `key` of section sec: value (NULL:
 * not given) is checked by the file's parser into scratch (a struct of
 * the section) and added to req, a number for integer keys. Returns 0 or
 * -EINVAL with the message in err ("--weight 70000 out of range (0-65535)"). */
struct schema_section;
int cli_key_field(struct json_object *req, const struct schema_section *sec,
		  const char *key, const char *value, void *scratch, char *err,
		  size_t errlen);

/* Verbs: argv[0] is the verb itself ("service", "list", ...). */
int cli_service(int argc, char **argv);
int cli_backend(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_save(int argc, char **argv);
int cli_apply(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_realserver(int argc, char **argv);
int cli_node(int argc, char **argv);
int cli_import(int argc, char **argv);          /* no daemon needed */
int cli_zero(int argc, char **argv);
int cli_conns(int argc, char **argv);

#endif /* XLB_CLI_H */
