// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer harness for control-API messages: the daemon's request handler
 * runs against a state without a data plane; every input gets a reply that
 * is either ok or carries an error, and a rejected request changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "control_server.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *req, *reply, *ok, *e;
	struct xlb_config base;
	struct state st;
	char *before, *after;

	config_init(&base);
	base.manage_addresses = false;
	state_init(&st, NULL, &base);
	req = json_tokener_parse_ex(tok, (const char *)data, size);
	json_tokener_free(tok);
	if (req) {
		before = config_emit_yaml(&st.cfg);
		reply = control_handle(&st, req);
		if (!json_object_object_get_ex(reply, "ok", &ok))
			abort();
		if (!json_object_get_boolean(ok)) {
			if (!json_object_object_get_ex(reply, "error", &e))
				abort();
			after = config_emit_yaml(&st.cfg);
			if (strcmp(before, after))
				abort();
			free(after);
		}
		free(before);
		json_object_put(reply);
		json_object_put(req);
	}
	state_teardown(&st);
	config_free(&base);
	return 0;
}
