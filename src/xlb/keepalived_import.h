/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Translation of keepalived.conf's LVS part (virtual_server,
 * virtual_server_group, real_server and their checkers) into an xlb
 * config, with a note for everything xlb does not express. */
#ifndef XLB_KEEPALIVED_IMPORT_H
#define XLB_KEEPALIVED_IMPORT_H

#include <stddef.h>

#include "config.h"
#include "import.h"

/* Parse keepalived.conf text and append one service per TCP/UDP virtual
 * server (one per address of a virtual_server_group) to cfg (config_init'ed
 * by the caller). VRRP, global_defs and other blocks only get a note.
 * Returns 0; -EINVAL with "origin:LINE: message" in err for text that is
 * not keepalived.conf syntax or a virtual_server xlb cannot read (cfg then
 * holds no service); -ENOMEM. */
int keepalived_parse(const char *text, size_t len, const char *origin,
		     struct xlb_config *cfg, struct import_notes *notes,
		     char *err, size_t errlen);

#endif /* XLB_KEEPALIVED_IMPORT_H */
