// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer harness for the YAML config parser: any input either parses
 * into a config whose emitted YAML parses back to the same YAML, or is
 * rejected with a message; never a crash, leak or out-of-bounds access. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_config cfg, again;
	char err[1024];
	char *yaml, *yaml2;

	if (config_parse_buf((const char *)data, size, "fuzz", &cfg, err, sizeof(err))) {
		if (!err[0])
			abort();        /* a rejection must say why */
		return 0;
	}
	yaml = config_emit_yaml(&cfg);
	if (!yaml)
		abort();
	if (config_parse_buf(yaml, strlen(yaml), "emitted", &again, err, sizeof(err)))
		abort();        /* what we emit must parse */
	yaml2 = config_emit_yaml(&again);
	if (!yaml2 || strcmp(yaml, yaml2))
		abort();        /* and round-trip exactly */
	free(yaml);
	free(yaml2);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
