/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Translation of an IPVS rule set (`ipvsadm -S -n` output) into an xlb
 * config, with a note for everything xlb cannot express. */
#ifndef XLB_IPVSADM_IMPORT_H
#define XLB_IPVSADM_IMPORT_H

#include <stddef.h>

#include "config.h"

/* What the translation changed or left out, one sentence each. */
struct ipvsadm_notes {
	size_t n;
	char **lines;
};

void ipvsadm_notes_free(struct ipvsadm_notes *notes);

/* Parse `ipvsadm -S -n` text (also accepted: blank lines, '#' comments, a
 * leading "ipvsadm" word, long option names, -C and --set) and append one
 * service per TCP/UDP virtual service to cfg (config_init'ed by the caller).
 * Returns 0; -EINVAL with "origin:LINE: message" in err for a line that is
 * not an ipvsadm rule (cfg then holds no service); -ENOMEM. */
int ipvsadm_parse(const char *text, size_t len, const char *origin,
		  struct xlb_config *cfg, struct ipvsadm_notes *notes,
		  char *err, size_t errlen);

/* The YAML of cfg (config_emit_yaml) preceded by a header naming `origin`
 * and a "# note: ..." line per note; malloc'd, NULL on ENOMEM. */
char *ipvsadm_yaml(const struct xlb_config *cfg, const struct ipvsadm_notes *notes,
		   const char *origin);

#endif /* XLB_IPVSADM_IMPORT_H */
