/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the importers share: the IPVS virtual-service model that both fill
 * (`ipvsadm -S -n` rules, keepalived.conf virtual_server blocks, which
 * keepalived turns into the same IPVS calls), its translation into xlb
 * services with a note for everything that does not carry over, and the
 * annotated YAML they print. */
#ifndef XLB_IMPORT_H
#define XLB_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* What the translation changed or left out, one sentence each. */
struct import_notes {
	size_t n;
	char **lines;
};

void import_notes_free(struct import_notes *notes);

/* IPVS forwarding methods: ipvsadm -g/-i/-m, keepalived DR/TUN/NAT. */
enum ivs_fwd { FWD_DR = 0, FWD_TUN, FWD_NAT, FWD_N };

/* A real server. */
struct ivs_dest {
	struct xlb_sockaddr addr;
	uint64_t weight;
	uint8_t fwd;                    /* enum ivs_fwd */
	unsigned int line;
	char tun_type[8];               /* "" (ipip), "ipip", "gue", "gre" */
};

/* A virtual service and its real servers. */
struct ivs_svc {
	unsigned int line;
	uint8_t proto;                  /* IPPROTO_TCP/UDP/SCTP; 0 for fwmark */
	uint32_t fwmark;
	struct xlb_sockaddr vip;
	char sched[16];                 /* an IPVS scheduler name */
	bool persistent;
	uint32_t timeout;               /* persistence, seconds */
	char netmask[48];               /* "" = full length */
	char extras[256];               /* options noted as they are */
	size_t n_dests;
	struct ivs_dest *dests;
};

/* A new zeroed service at the end of *svcs / real server of s; NULL on
 * ENOMEM. ivs_free() frees the array and the servers. */
struct ivs_svc *ivs_new_svc(struct ivs_svc **svcs, size_t *n);
struct ivs_dest *ivs_new_dest(struct ivs_svc *s);
void ivs_free(struct ivs_svc *svcs, size_t n);

/* One import: where errors and notes go. */
struct import {
	const char *origin;
	char *err;
	size_t errlen;
	struct import_notes *notes;
	const char *netmask_opt;        /* how the input names a persistence
					 * netmask: "persistence granularity -M" */
};

int import_note(struct import *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "origin:LINE: message" into im->err; returns -EINVAL. */
int import_fail(struct import *im, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whether name is an IPVS scheduler. */
bool import_sched_known(const char *name);
/* "tcp/198.18.0.100:80 (line 3)", "fwmark 1 (line 3)". */
void import_svc_label(const struct ivs_svc *s, char *buf, size_t len);

/* Append the xlb service that does what s does to cfg, *out pointing at it
 * (NULL when xlb cannot have it: fwmark, sctp; notes say why). 0 or -ENOMEM. */
int import_service(struct import *im, const struct ivs_svc *s, struct xlb_config *cfg,
		   struct xlb_service_cfg **out);

/* Notes on what fails xlb's checks in the result, then a rollback of cfg to
 * its first n_before services when e is not 0. Returns e or the note's. */
int import_finish(struct import *im, struct xlb_config *cfg, size_t n_before, int e);

/* The YAML of cfg preceded by "# xlb config imported from WHAT (origin) by
 * `xlb import TOOL`." and a "# note: ..." line per note; malloc'd, NULL on
 * ENOMEM. */
char *import_yaml(const struct xlb_config *cfg, const struct import_notes *notes,
		  const char *what, const char *tool, const char *origin);

#endif /* XLB_IMPORT_H */
