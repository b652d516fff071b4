// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The importers' shared half: an IPVS virtual service (from ipvsadm rules
 * or keepalived.conf) into the xlb service that does the same, with a
 * note for everything that does not carry over, and the YAML printed. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "schema.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* xlb's limits: those of the config keys. */
#define WEIGHT_MAX    ((uint32_t)schema_key(&schema_backend, "weight")->max)
#define PERSIST_MAX   ((uint32_t)schema_key(&schema_service, "persistence")->max)

static const char *const fwd_flag[FWD_N] = { "-g", "-i", "-m" };
static const uint8_t fwd_mode[FWD_N] = { XLB_MODE_DR, XLB_MODE_TUN, XLB_MODE_NAT };

/* IPVS schedulers and what xlb does instead (in every mode: dr and tun
 * count connections by their flow entries, as IPVS does in DR). */
static const struct {
	const char *name;
	uint8_t sched;
	const char *what;               /* NULL: same scheduler, no note */
} scheds[] = {
	{ "rr", XLB_SCHED_RR, NULL },
	{ "wrr", XLB_SCHED_WRR, NULL },
	{ "lc", XLB_SCHED_LC, NULL },
	{ "wlc", XLB_SCHED_WLC, NULL },
	{ "sh", XLB_SCHED_SH, NULL },
	{ "mh", XLB_SCHED_MAGLEV,
	  "IPVS mh hashes the client address, xlb's maglev the whole 5-tuple: one "
	  "client's connections may reach different real servers (sh hashes the "
	  "client address only)" },
	{ "dh", XLB_SCHED_MAGLEV,
	  "destination hashing has no equivalent (xlb hashes the client side)" },
	{ "lblc", XLB_SCHED_MAGLEV,
	  "locality-based least-connection (by destination) has no equivalent" },
	{ "lblcr", XLB_SCHED_MAGLEV,
	  "locality-based least-connection with replication has no equivalent" },
	{ "sed", XLB_SCHED_WLC,
	  "shortest expected delay has no equivalent; the closest weighted one" },
	{ "nq", XLB_SCHED_WLC,
	  "never queue has no equivalent; the closest weighted one" },
	{ "ovf", XLB_SCHED_WLC,
	  "weighted overflow (the highest weight until its connections exceed "
	  "the weight) has no equivalent; the closest weighted one" },
	{ "fo", XLB_SCHED_WRR,
	  "weighted failover (everything to the highest weight) has no "
	  "equivalent; for the same effect keep only the primary at a non-zero "
	  "weight and raise another one's when it fails" },
	{ "twos", XLB_SCHED_WLC,
	  "weighted random two choices has no equivalent in the packet modes; "
	  "the closest weighted one" },
};

void import_notes_free(struct import_notes *notes)
{
	for (size_t i = 0; i < notes->n; i++)
		free(notes->lines[i]);
	free(notes->lines);
	notes->lines = NULL;
	notes->n = 0;
}

int import_note(struct import *im, const char *fmt, ...)
{
	char **lines;
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	/* Said once: a group's members share their virtual_server's notes. */
	for (size_t i = 0; i < im->notes->n; i++)
		if (!strcmp(im->notes->lines[i], s)) {
			free(s);
			return 0;
		}
	lines = realloc(im->notes->lines, (im->notes->n + 1) * sizeof(*lines));
	if (!lines) {
		free(s);
		return -ENOMEM;
	}
	lines[im->notes->n++] = s;
	im->notes->lines = lines;
	return 0;
}

int import_fail(struct import *im, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!im->err || !im->errlen)
		return -EINVAL;
	n = snprintf(im->err, im->errlen, "%s:%u: ", im->origin, line);
	if (n < 0 || (size_t)n >= im->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(im->err + n, im->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

struct ivs_svc *ivs_new_svc(struct ivs_svc **svcs, size_t *n)
{
	struct ivs_svc *s = realloc(*svcs, (*n + 1) * sizeof(*s));

	if (!s)
		return NULL;
	*svcs = s;
	s = &s[(*n)++];
	memset(s, 0, sizeof(*s));
	return s;
}

struct ivs_dest *ivs_new_dest(struct ivs_svc *s)
{
	struct ivs_dest *d = realloc(s->dests, (s->n_dests + 1) * sizeof(*d));

	if (!d)
		return NULL;
	s->dests = d;
	d = &d[s->n_dests++];
	memset(d, 0, sizeof(*d));
	return d;
}

void ivs_free(struct ivs_svc *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(svcs[i].dests);
	free(svcs);
}

bool import_sched_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(scheds); i++)
		if (!strcmp(name, scheds[i].name))
			return true;
	return false;
}

void import_svc_label(const struct ivs_svc *s, char *buf, size_t len)
{
	char a[XLB_ADDRSTR_MAX];

	if (!s->proto)
		snprintf(buf, len, "fwmark %u (line %u)", s->fwmark, s->line);
	else if (s->proto == IPPROTO_SCTP)
		snprintf(buf, len, "sctp/%s (line %u)", addr_str(&s->vip, a, sizeof(a)),
			 s->line);
	else
		snprintf(buf, len, "%s (line %u)",
			 service_name_str(s->proto, &s->vip, a, sizeof(a)), s->line);
}

/* A netmask that keeps the whole address of the family: no grouping. */
static bool full_netmask(const char *m, uint8_t family)
{
	if (family == XLB_AF_INET)
		return !*m || !strcmp(m, "255.255.255.255") || !strcmp(m, "32");
	return !*m || !strcmp(m, "128");
}

/* fwmark and sctp services: only a note naming what to define instead. */
static int note_skipped(struct import *im, const struct ivs_svc *s, const char *lbl)
{
	char a[XLB_ADDRSTR_MAX], *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);
	int e;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_dests; i++)
		fprintf(f, "%s%s", i ? ", " : "",
			addr_str_noport(&s->dests[i].addr, a, sizeof(a)));
	if (fclose(f)) {
		free(list);
		return -ENOMEM;
	}
	e = import_note(im, "%s skipped: %s; define one service per VIP:port it "
			"covers%s%s", lbl,
			s->proto ? "xlb balances tcp and udp only" :
			"xlb matches packets by VIP, port and protocol, not by "
			"firewall mark", s->n_dests ? " with its real servers " : "",
			s->n_dests ? list : "");
	free(list);
	return e;
}

/* One mode per service: the forwarding method of most real servers (the
 * first one's on a tie). */
static int pick_fwd(const struct ivs_svc *s)
{
	size_t count[FWD_N] = { 0 };
	int best;

	for (size_t i = 0; i < s->n_dests; i++)
		count[s->dests[i].fwd]++;
	best = s->n_dests ? s->dests[0].fwd : FWD_DR;
	for (int m = 0; m < FWD_N; m++)
		if (count[m] > count[best])
			best = m;
	return best;
}

static int map_scheduler(struct import *im, const struct ivs_svc *s,
			 struct xlb_service_cfg *x, const char *lbl)
{
	for (size_t i = 0; i < ARRAY_SIZE(scheds); i++) {
		if (strcmp(s->sched, scheds[i].name))
			continue;
		x->scheduler = scheds[i].sched;
		if (scheds[i].what)
			return import_note(im, "%s: scheduler %s becomes %s: %s", lbl,
					   s->sched, sched_name(x->scheduler),
					   scheds[i].what);
		return 0;
	}
	return 0;
}

/* IPVS persistence, with its netmask when xlb has the key for it. */
static int map_persistence(struct import *im, const struct ivs_svc *s,
			   struct xlb_service_cfg *x, const char *lbl)
{
	const struct schema_key *nm = schema_find(&schema_service, "persistence_netmask");
	char msg[256];
	int e = 0;

	if (!s->persistent)
		return 0;
	x->persistence = s->timeout > PERSIST_MAX ? PERSIST_MAX : s->timeout;
	if (s->timeout > PERSIST_MAX)
		e = import_note(im, "%s: persistence %u s cut to the maximum, %u s", lbl,
				s->timeout, PERSIST_MAX);
	/* A dotted netmask is IPv4's; an IPv6 one is a prefix length. */
	if (!e && !full_netmask(s->netmask, s->vip.family) &&
	    ((s->vip.family == XLB_AF_INET6 && strchr(s->netmask, '.')) ||
	     !nm || schema_parse(nm, "", s->netmask, x, msg, sizeof(msg))))
		e = import_note(im, "%s: %s %s is not expressible: xlb keeps each "
				"client address apart", lbl, im->netmask_opt, s->netmask);
	/* IPVS persistence of 0 s is still persistence... with no time. */
	if (!e && !x->persistence)
		e = import_note(im, "%s: persistence of 0 s means none in xlb", lbl);
	return e;
}

/* Real server d into x's backends, or a note why not. */
static int add_dest(struct import *im, const struct ivs_svc *s,
		    struct xlb_service_cfg *x, const struct ivs_dest *d, int fwd,
		    const char *lbl)
{
	struct xlb_backend_cfg *b = &x->backends[x->n_backends];
	char a[XLB_ADDRSTR_MAX];
	int e;

	addr_str(&d->addr, a, sizeof(a));
	if (d->fwd != fwd &&
	    (e = import_note(im, "%s: real server %s (line %u) forwards with %s, the "
			     "others with %s: xlb has one mode per service, so it "
			     "uses %s", lbl, a, d->line, fwd_flag[d->fwd],
			     fwd_flag[fwd], mode_name(x->mode))))
		return e;
	/* dr and nat keep the packet's address family (tun may cross). */
	if (x->mode != XLB_MODE_TUN && d->addr.family != s->vip.family)
		return import_note(im, "%s: real server %s skipped: mode %s cannot mix "
				   "IPv4 and IPv6", lbl, a, mode_name(x->mode));
	b->addr = d->addr;
	/* The service port is the default; dr and tun cannot change it. */
	if (b->addr.port == s->vip.port) {
		b->addr.port = 0;
	} else if (x->mode != XLB_MODE_NAT && b->addr.port) {
		e = import_note(im, "%s: real server %s: mode %s cannot change the "
				"destination port, the real server receives port %u",
				lbl, a, mode_name(x->mode), s->vip.port);
		if (e)
			return e;
		b->addr.port = 0;
	}
	for (size_t j = 0; j < x->n_backends; j++)
		if (addr_equal(&x->backends[j].addr, &b->addr))
			return import_note(im, "%s: real server %s skipped: the same "
					   "address as another without the port", lbl, a);
	b->weight = d->weight > WEIGHT_MAX ? WEIGHT_MAX : (uint32_t)d->weight;
	if (d->weight > WEIGHT_MAX &&
	    (e = import_note(im, "%s: real server %s: weight %llu cut to %u (xlb "
			     "weights are 0-%u; scale the others to keep the ratio)",
			     lbl, a, (unsigned long long)d->weight, WEIGHT_MAX,
			     WEIGHT_MAX)))
		return e;
	if (x->mode == XLB_MODE_TUN && d->tun_type[0] && strcmp(d->tun_type, "ipip") &&
	    (e = import_note(im, "%s: real server %s: tunnel type %s is not "
			     "expressible; xlb encapsulates in IP-in-IP, so the real "
			     "server must decapsulate ipip/ip6ip6 (xlb realserver setup "
			     "--mode tun)", lbl, a, d->tun_type)))
		return e;
	x->n_backends++;
	return 0;
}

/* The new service at the end of cfg, with room for n backends. */
static struct xlb_service_cfg *append_service(struct xlb_config *cfg, size_t n)
{
	struct xlb_service_cfg *x = realloc(cfg->services,
					    (cfg->n_services + 1) * sizeof(*x));

	if (!x)
		return NULL;
	cfg->services = x;
	x = &cfg->services[cfg->n_services];
	memset(x, 0, sizeof(*x));
	schema_defaults(&schema_service, x);
	x->backends = calloc(n ? n : 1, sizeof(*x->backends));
	if (!x->backends)
		return NULL;
	cfg->n_services++;
	return x;
}

int import_service(struct import *im, const struct ivs_svc *s, struct xlb_config *cfg,
		   struct xlb_service_cfg **out)
{
	struct xlb_service_cfg *x;
	char lbl[XLB_ADDRSTR_MAX + 32];
	int fwd = pick_fwd(s), e = 0;

	*out = NULL;
	import_svc_label(s, lbl, sizeof(lbl));
	if (!s->proto || s->proto == IPPROTO_SCTP)
		return note_skipped(im, s, lbl);
	if (!s->n_dests && (e = import_note(im, "%s has no real servers: mode %s "
					    "assumed", lbl, mode_name(fwd_mode[fwd]))))
		return e;
	x = append_service(cfg, s->n_dests);
	if (!x)
		return -ENOMEM;
	x->vip = s->vip;
	x->proto = s->proto;
	x->mode = fwd_mode[fwd];
	e = map_scheduler(im, s, x, lbl) ?: map_persistence(im, s, x, lbl);
	if (!e && s->extras[0])
		e = import_note(im, "%s: %sis not expressible; ignored", lbl, s->extras);
	if (!e && s->vip.port == 0)
		e = import_note(im, "%s: port 0 (every port, IPVS persistent port-0 "
				"service) becomes port \"*\"", lbl);
	for (size_t i = 0; i < s->n_dests && !e; i++)
		e = add_dest(im, s, x, &s->dests[i], fwd, lbl);
	/* lc/wlc are limited in the data plane; wrr is the weighted fallback. */
	if (!e && (x->scheduler == XLB_SCHED_LC || x->scheduler == XLB_SCHED_WLC) &&
	    x->n_backends > XLB_LC_MAX_BACKENDS) {
		e = import_note(im, "%s: %zu real servers: scheduler %s takes at most %u, "
				"using wrr", lbl, x->n_backends, sched_name(x->scheduler),
				XLB_LC_MAX_BACKENDS);
		x->scheduler = XLB_SCHED_WRR;
	}
	*out = x;
	return e;
}

int import_finish(struct import *im, struct xlb_config *cfg, size_t n_before, int e)
{
	char verr[256];

	/* Whatever slipped through the translation: say so rather than print
	 * a config xlbd would refuse without a word here. */
	if (!e && config_validate(cfg, verr, sizeof(verr)))
		e = import_note(im, "the result fails xlb's checks, edit it before "
				"applying: %s", verr);
	if (e) {
		/* Leave cfg as it came. */
		for (size_t i = n_before; i < cfg->n_services; i++)
			free(cfg->services[i].backends);
		cfg->n_services = n_before;
	}
	return e;
}

char *import_yaml(const struct xlb_config *cfg, const struct import_notes *notes,
		  const char *what, const char *tool, const char *origin)
{
	char *yaml = config_emit_yaml(cfg), *out = NULL;
	size_t len = 0;
	FILE *f;

	if (!yaml)
		return NULL;
	f = open_memstream(&out, &len);
	if (!f) {
		free(yaml);
		return NULL;
	}
	fprintf(f, "# xlb config imported from %s (%s) by `xlb import %s`.\n", what,
		origin ? origin : "-", tool);
	if (!cfg->n_interfaces)
		fputs("# Set interfaces: to where the XDP program attaches "
		      "(or use --interface).\n", f);
	for (size_t i = 0; i < notes->n; i++) {
		fputs("# note: ", f);
		/* A note is one comment line whatever it quotes. */
		for (const char *q = notes->lines[i]; *q; q++)
			fputc(*q == '\n' || *q == '\r' ? ' ' : *q, f);
		fputc('\n', f);
	}
	fputs(yaml, f);
	free(yaml);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
