/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Translation of an IPVS rule set (`ipvsadm -S -n` output) into an xlb
 * config, with a note for everything xlb cannot express. */
#ifndef XLB_IPVSADM_IMPORT_H
#define XLB_IPVSADM_IMPORT_H

#include <stddef.h>

#include "config.h"
#include "import.h"

/* Parse `ipvsadm -S -n` text (also accepted: blank lines, '#' comments, a
 * leading "ipvsadm" word, long option names, -C and --set) and append one
 * service per TCP/UDP virtual service to cfg (config_init'ed by the caller).
 * Returns 0; -EINVAL with "origin:LINE: message" in err for a line that is
 * not an ipvsadm rule (cfg then holds no service); -ENOMEM. */
int ipvsadm_parse(const char *text, size_t len, const char *origin,
		  struct xlb_config *cfg, struct import_notes *notes,
		  char *err, size_t errlen);

#endif /* XLB_IPVSADM_IMPORT_H */
