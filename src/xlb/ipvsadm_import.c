// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb import ipvsadm`: reads the rules `ipvsadm -S -n` prints and builds
 * the xlb config that does the same, noting whatever does not carry over
 * (fwmark services, mixed forwarding methods, schedulers xlb lacks...). */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsadm_import.h"
#include "schema.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_TOKENS    64
/* xlb's limits: those of the config keys. */
#define WEIGHT_MAX    ((uint32_t)schema_key(&schema_backend, "weight")->max)
#define PERSIST_MAX   ((uint32_t)schema_key(&schema_service, "persistence")->max)
#define IPVS_PERSIST_DEFAULT 300u       /* -p without a value */

enum fwd { FWD_DR = 0, FWD_TUN, FWD_NAT, FWD_N };

static const char *const fwd_flag[FWD_N] = { "-g", "-i", "-m" };
static const uint8_t fwd_mode[FWD_N] = { XLB_MODE_DR, XLB_MODE_TUN, XLB_MODE_NAT };

/* One `-a` line. */
struct ipvs_dest {
	struct xlb_sockaddr addr;
	uint64_t weight;
	uint8_t fwd;                    /* enum fwd */
	unsigned int line;
	char tun_type[8];               /* "" (ipip), "ipip", "gue", "gre" */
};

/* One `-A` line and the `-a` lines that name it. */
struct ipvs_svc {
	unsigned int line;
	uint8_t proto;                  /* IPPROTO_TCP/UDP/SCTP; 0 for fwmark */
	uint32_t fwmark;
	struct xlb_sockaddr vip;
	char sched[16];
	bool persistent;
	uint32_t timeout;
	char netmask[48];               /* "" = full length */
	char extras[256];               /* options noted as is: pe, ops, -b */
	size_t n_dests;
	struct ipvs_dest *dests;
};

struct import {
	const char *origin;
	char *err;
	size_t errlen;
	struct ipvsadm_notes *notes;
	size_t n_svcs;
	struct ipvs_svc *svcs;
	uint32_t set[3];                /* --set tcp tcpfin udp */
};

/* IPVS schedulers and what xlb does instead. `nat` is the choice for modes
 * that count connections (nat), `dsr` for dr and tun, which do not. */
static const struct {
	const char *name;
	uint8_t nat, dsr;
	const char *what;               /* NULL: same scheduler, no note */
} scheds[] = {
	{ "rr", XLB_SCHED_RR, XLB_SCHED_RR, NULL },
	{ "wrr", XLB_SCHED_WRR, XLB_SCHED_WRR, NULL },
	{ "lc", XLB_SCHED_LC, XLB_SCHED_RR, NULL },
	{ "wlc", XLB_SCHED_WLC, XLB_SCHED_WRR, NULL },
	{ "sh", XLB_SCHED_SH, XLB_SCHED_SH, NULL },
	{ "mh", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV,
	  "IPVS mh hashes the client address, xlb's maglev the whole 5-tuple: one "
	  "client's connections may reach different real servers (sh hashes the "
	  "client address only)" },
	{ "dh", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV,
	  "destination hashing has no equivalent (xlb hashes the client side)" },
	{ "lblc", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV,
	  "locality-based least-connection (by destination) has no equivalent" },
	{ "lblcr", XLB_SCHED_MAGLEV, XLB_SCHED_MAGLEV,
	  "locality-based least-connection with replication has no equivalent" },
	{ "sed", XLB_SCHED_WLC, XLB_SCHED_WRR,
	  "shortest expected delay has no equivalent; the closest weighted one" },
	{ "nq", XLB_SCHED_WLC, XLB_SCHED_WRR,
	  "never queue has no equivalent; the closest weighted one" },
	{ "ovf", XLB_SCHED_WLC, XLB_SCHED_WRR,
	  "weighted overflow (the highest weight until its connections exceed "
	  "the weight) has no equivalent; the closest weighted one" },
	{ "fo", XLB_SCHED_WRR, XLB_SCHED_WRR,
	  "weighted failover (everything to the highest weight) has no "
	  "equivalent; for the same effect keep only the primary at a non-zero "
	  "weight and raise another one's when it fails" },
	{ "twos", XLB_SCHED_WLC, XLB_SCHED_WRR,
	  "weighted random two choices has no equivalent in the packet modes; "
	  "the closest weighted one" },
};

void ipvsadm_notes_free(struct ipvsadm_notes *notes)
{
	for (size_t i = 0; i < notes->n; i++)
		free(notes->lines[i]);
	free(notes->lines);
	notes->lines = NULL;
	notes->n = 0;
}

static int note(struct import *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int note(struct import *im, const char *fmt, ...)
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
	lines = realloc(im->notes->lines, (im->notes->n + 1) * sizeof(*lines));
	if (!lines) {
		free(s);
		return -ENOMEM;
	}
	lines[im->notes->n++] = s;
	im->notes->lines = lines;
	return 0;
}

static int fail(struct import *im, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct import *im, unsigned int line, const char *fmt, ...)
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

static void svc_label(const struct ipvs_svc *s, char *buf, size_t len)
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

static bool same_svc(const struct ipvs_svc *s, uint8_t proto, uint32_t mark,
		     const struct xlb_sockaddr *vip)
{
	if (s->proto != proto)
		return false;
	return proto ? addr_equal(&s->vip, vip) : s->fwmark == mark;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Everything one line says. */
struct rule {
	char cmd;                       /* 'A', 'a', 'C', 'S' (--set), 0 */
	const char *cmd_tok;
	uint8_t proto;
	const char *svc_tok;
	uint32_t fwmark;
	struct xlb_sockaddr vip;
	const char *sched;
	bool persistent;
	uint32_t timeout;
	const char *netmask;
	char extras[256];
	const char *real_tok;
	struct xlb_sockaddr real;
	int fwd;                        /* -1: not given */
	bool have_weight;
	uint64_t weight;
	const char *tun_type;
	uint32_t tun_port;
	uint64_t uthresh, lthresh;
	uint32_t set[3];
};

static void add_extra(struct rule *r, const char *fmt, const char *a, const char *b)
{
	size_t n = strlen(r->extras);

	snprintf(r->extras + n, sizeof(r->extras) - n, fmt, a, b);
}

static int split(char *line, char **tok, unsigned int lineno, struct import *im)
{
	int n = 0;

	for (char *p = strtok(line, " \t\r\v\f"); p; p = strtok(NULL, " \t\r\v\f")) {
		char *eq = NULL;

		if (*p == '#')
			break;
		/* --option=value is the same as --option value */
		if (p[0] == '-' && p[1] == '-')
			eq = strchr(p, '=');
		if (n + 2 > MAX_TOKENS)
			return fail(im, lineno, "too many words (at most %d)", MAX_TOKENS);
		if (eq) {
			*eq = '\0';
			tok[n++] = p;
			tok[n++] = eq + 1;
		} else {
			tok[n++] = p;
		}
	}
	return n;
}

static bool is(const char *t, const char *s, const char *l)
{
	return (s && !strcmp(t, s)) || (l && !strcmp(t, l));
}

static int parse_addr(struct import *im, unsigned int lineno, const char *opt,
		      const char *s, int port_rule, struct xlb_sockaddr *out)
{
	char e[160], buf[XLB_ADDRSTR_MAX];
	size_t l = strlen(s);

	/* IPVS writes port 0 (every port: persistent port-0 services and
	 * fwmark real servers) as ":0", which addr_parse refuses. */
	if (l > 2 && l < sizeof(buf) && !strcmp(s + l - 2, ":0") &&
	    (s[l - 3] == ']' || !memchr(s, ':', l - 2))) {
		memcpy(buf, s, l - 2);
		buf[l - 2] = '\0';
		if (buf[0] == '[' && buf[l - 3] == ']') {
			memmove(buf, buf + 1, l - 4);
			buf[l - 4] = '\0';
		}
		if (!addr_parse(buf, ADDR_PORT_FORBIDDEN, out, e, sizeof(e)))
			return 0;
	}
	if (addr_parse(s, port_rule, out, e, sizeof(e)))
		return fail(im, lineno, "%s %s (host and port names are not "
			    "resolved: give the output of `ipvsadm -S -n`)", opt, e);
	return 0;
}

static int set_cmd(struct import *im, unsigned int lineno, struct rule *r,
		   char cmd, const char *tok)
{
	if (r->cmd)
		return fail(im, lineno, "two commands on one line ('%s' and '%s')",
			    r->cmd_tok, tok);
	r->cmd = cmd;
	r->cmd_tok = tok;
	return 0;
}

/* Read the words of one line into r. */
static int parse_rule(struct import *im, unsigned int lineno, char **tok, int n,
		      struct rule *r)
{
	int i = 0, e;

	memset(r, 0, sizeof(*r));
	r->fwd = -1;
	if (n && !strcmp(tok[0], "ipvsadm"))
		i++;
	for (; i < n; i++) {
		const char *t = tok[i];
		const char *arg = i + 1 < n ? tok[i + 1] : NULL;
		uint64_t v;

#define NEED_ARG() do {                                                         \
		if (!arg)                                                       \
			return fail(im, lineno, "option '%s' needs a value", t); \
		i++;                                                            \
	} while (0)

		if (is(t, "-A", "--add-service")) {
			e = set_cmd(im, lineno, r, 'A', t);
		} else if (is(t, "-a", "--add-server")) {
			e = set_cmd(im, lineno, r, 'a', t);
		} else if (is(t, "-C", "--clear")) {
			e = set_cmd(im, lineno, r, 'C', t);
		} else if (is(t, "--set", NULL)) {
			e = set_cmd(im, lineno, r, 'S', t);
			for (int k = 0; !e && k < 3; k++) {
				if (i + 1 >= n || parse_u64(tok[i + 1], XLB_TIMEOUT_MAX_S, &v))
					return fail(im, lineno, "--set needs three timeouts "
						    "in seconds (tcp tcpfin udp)");
				r->set[k] = (uint32_t)v;
				i++;
			}
		} else if (is(t, "-E", "--edit-service") || is(t, "-e", "--edit-server") ||
			   is(t, "-D", "--delete-service") || is(t, "-d", "--delete-server") ||
			   is(t, "-R", "--restore") || is(t, "-S", "--save") ||
			   is(t, "-L", "--list") || is(t, "-l", NULL) ||
			   is(t, "-Z", "--zero") || is(t, "--start-daemon", "--stop-daemon")) {
			return fail(im, lineno, "'%s' is not a rule `ipvsadm -S` prints; "
				    "only -A, -a, -C and --set lines are imported", t);
		} else if (is(t, "-t", "--tcp-service") || is(t, "-u", "--udp-service") ||
			   is(t, "--sctp-service", NULL)) {
			NEED_ARG();
			if (r->svc_tok)
				return fail(im, lineno, "two services on one line ('%s' and '%s')",
					    r->svc_tok, arg);
			r->svc_tok = arg;
			r->proto = t[1] == 't' || t[2] == 't' ? IPPROTO_TCP :
				   t[1] == 'u' || t[2] == 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
			e = parse_addr(im, lineno, t, arg, ADDR_PORT_REQUIRED, &r->vip);
		} else if (is(t, "-f", "--fwmark-service")) {
			NEED_ARG();
			if (r->svc_tok)
				return fail(im, lineno, "two services on one line ('%s' and '%s')",
					    r->svc_tok, arg);
			if (parse_u64(arg, UINT32_MAX, &v) || !v)
				return fail(im, lineno, "-f '%s': a firewall mark is a "
					    "number from 1 to %u", arg, UINT32_MAX);
			r->svc_tok = arg;
			r->fwmark = (uint32_t)v;
			e = 0;
		} else if (is(t, "-6", "--ipv6")) {
			e = 0;          /* the fwmark's family: nothing to keep */
		} else if (is(t, "-s", "--scheduler")) {
			NEED_ARG();
			r->sched = arg;
			e = 0;
		} else if (is(t, "-p", "--persistent")) {
			/* The timeout is optional (ipvsadm's default: 300 s). */
			r->persistent = true;
			r->timeout = IPVS_PERSIST_DEFAULT;
			if (arg && arg[0] != '-') {
				if (parse_u64(arg, UINT32_MAX, &v))
					return fail(im, lineno, "-p '%s': persistence is "
						    "a number of seconds", arg);
				r->timeout = (uint32_t)v;
				i++;
			}
			e = 0;
		} else if (is(t, "-M", "--netmask")) {
			NEED_ARG();
			r->netmask = arg;
			e = 0;
		} else if (is(t, "--pe", "pe")) {
			NEED_ARG();
			add_extra(r, "%s%s ", "--pe ", arg);
			e = 0;
		} else if (is(t, "-o", "--ops") || is(t, "ops", NULL)) {
			add_extra(r, "%s%s", "-o (one-packet scheduling) ", "");
			e = 0;
		} else if (is(t, "-b", "--sched-flags")) {
			NEED_ARG();
			add_extra(r, "%s%s ", "-b ", arg);
			e = 0;
		} else if (is(t, "-r", "--real-server")) {
			NEED_ARG();
			r->real_tok = arg;
			e = parse_addr(im, lineno, t, arg, ADDR_PORT_OPTIONAL, &r->real);
		} else if (is(t, "-g", "--gatewaying")) {
			r->fwd = FWD_DR;
			e = 0;
		} else if (is(t, "-i", "--ipip")) {
			r->fwd = FWD_TUN;
			e = 0;
		} else if (is(t, "-m", "--masquerading")) {
			r->fwd = FWD_NAT;
			e = 0;
		} else if (is(t, "-w", "--weight")) {
			NEED_ARG();
			if (parse_u64(arg, INT32_MAX, &r->weight))
				return fail(im, lineno, "-w '%s': a weight is a number "
					    "from 0 to %d", arg, INT32_MAX);
			r->have_weight = true;
			e = 0;
		} else if (is(t, "-x", "--u-threshold") || is(t, "-y", "--l-threshold")) {
			NEED_ARG();
			if (parse_u64(arg, UINT32_MAX, &v))
				return fail(im, lineno, "%s '%s': a threshold is a "
					    "number of connections", t, arg);
			*(t[1] == 'x' || t[2] == 'u' ? &r->uthresh : &r->lthresh) = v;
			e = 0;
		} else if (is(t, "--tun-type", NULL)) {
			NEED_ARG();
			if (strcmp(arg, "ipip") && strcmp(arg, "gue") && strcmp(arg, "gre"))
				return fail(im, lineno, "--tun-type '%s': expected ipip, "
					    "gue or gre", arg);
			r->tun_type = arg;
			e = 0;
		} else if (is(t, "--tun-port", NULL)) {
			NEED_ARG();
			if (parse_u64(arg, 65535, &v))
				return fail(im, lineno, "--tun-port '%s': not a port", arg);
			r->tun_port = (uint32_t)v;
			e = 0;
		} else if (is(t, "--tun-nocsum", "--tun-csum") || is(t, "--tun-remcsum", NULL)) {
			e = 0;          /* GUE/GRE checksum options: noted with the type */
		} else {
			return fail(im, lineno, "unknown option '%s'", t);
		}
		if (e)
			return e;
#undef NEED_ARG
	}
	if (!r->cmd)
		return fail(im, lineno, "no command (expected -A, -a, -C or --set)");
	return 0;
}

static struct ipvs_svc *find_svc(struct import *im, uint8_t proto, uint32_t mark,
				 const struct xlb_sockaddr *vip)
{
	for (size_t i = 0; i < im->n_svcs; i++)
		if (same_svc(&im->svcs[i], proto, mark, vip))
			return &im->svcs[i];
	return NULL;
}

static int apply_rule(struct import *im, unsigned int lineno, struct rule *r)
{
	uint8_t proto = r->svc_tok && !r->fwmark ? r->proto : 0;
	struct ipvs_svc *s;

	if (r->cmd == 'C') {
		/* A rule file that starts by clearing the table. */
		return 0;
	}
	if (r->cmd == 'S') {
		memcpy(im->set, r->set, sizeof(im->set));
		return 0;
	}
	if (!r->svc_tok)
		return fail(im, lineno, "%s without a service (-t, -u or -f)", r->cmd_tok);
	s = find_svc(im, proto, r->fwmark, &r->vip);
	if (r->cmd == 'A') {
		if (s)
			return fail(im, lineno, "service '%s' is defined twice (first "
				    "on line %u)", r->svc_tok, s->line);
		if (r->real_tok)
			return fail(im, lineno, "-r belongs on an -a line, not with -A");
		s = realloc(im->svcs, (im->n_svcs + 1) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		im->svcs = s;
		s = &im->svcs[im->n_svcs++];
		memset(s, 0, sizeof(*s));
		s->line = lineno;
		s->proto = proto;
		s->fwmark = r->fwmark;
		s->vip = r->vip;
		/* ipvsadm's default scheduler is wlc. */
		snprintf(s->sched, sizeof(s->sched), "%s", r->sched ? r->sched : "wlc");
		s->persistent = r->persistent;
		s->timeout = r->timeout;
		if (r->netmask)
			snprintf(s->netmask, sizeof(s->netmask), "%s", r->netmask);
		snprintf(s->extras, sizeof(s->extras), "%s", r->extras);
		for (size_t i = 0; i < ARRAY_SIZE(scheds); i++)
			if (!strcmp(s->sched, scheds[i].name))
				return 0;
		return fail(im, lineno, "unknown scheduler '%s' (IPVS has rr, wrr, lc, "
			    "wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)",
			    s->sched);
	}
	/* -a */
	if (!s)
		return fail(im, lineno, "real server for '%s', which no -A line before "
			    "it defines", r->svc_tok);
	if (!r->real_tok)
		return fail(im, lineno, "-a without a real server (-r ADDR:PORT)");
	for (size_t i = 0; i < s->n_dests; i++)
		if (addr_equal(&s->dests[i].addr, &r->real))
			return fail(im, lineno, "real server '%s' is added twice to '%s' "
				    "(first on line %u)", r->real_tok, r->svc_tok,
				    s->dests[i].line);
	struct ipvs_dest *d = realloc(s->dests, (s->n_dests + 1) * sizeof(*d));

	if (!d)
		return -ENOMEM;
	s->dests = d;
	d = &s->dests[s->n_dests++];
	memset(d, 0, sizeof(*d));
	d->addr = r->real;
	d->line = lineno;
	/* ipvsadm's defaults: gatewaying (dr), weight 1. */
	d->fwd = r->fwd < 0 ? FWD_DR : (uint8_t)r->fwd;
	d->weight = r->have_weight ? r->weight : 1;
	if (r->tun_type)
		snprintf(d->tun_type, sizeof(d->tun_type), "%s", r->tun_type);
	if (r->uthresh || r->lthresh) {
		char a[XLB_ADDRSTR_MAX];

		return note(im, "%s: real server %s: connection thresholds (-x %llu "
			    "-y %llu) are not expressible; ignored", r->svc_tok,
			    addr_str(&r->real, a, sizeof(a)),
			    (unsigned long long)r->uthresh,
			    (unsigned long long)r->lthresh);
	}
	return 0;
}

static bool full_netmask(const char *m)
{
	return !*m || !strcmp(m, "255.255.255.255") || !strcmp(m, "128") ||
	       !strcmp(m, "32");
}

/* Turn one IPVS service into an xlb service (or only notes). */
static int build_service(struct import *im, const struct ipvs_svc *s,
			 struct xlb_config *cfg)
{
	struct xlb_service_cfg *x;
	size_t count[FWD_N] = { 0 };
	char lbl[XLB_ADDRSTR_MAX + 32], a[XLB_ADDRSTR_MAX];
	int best = FWD_DR, e;

	svc_label(s, lbl, sizeof(lbl));
	if (!s->proto || s->proto == IPPROTO_SCTP) {
		char *list = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);

		if (!f)
			return -ENOMEM;
		for (size_t i = 0; i < s->n_dests; i++)
			fprintf(f, "%s%s", i ? ", " : "",
				addr_str_noport(&s->dests[i].addr, a, sizeof(a)));
		if (fclose(f)) {
			free(list);
			return -ENOMEM;
		}
		e = note(im, "%s skipped: %s; define one service per VIP:port it "
			 "covers%s%s", lbl,
			 s->proto ? "xlb balances tcp and udp only" :
			 "xlb matches packets by VIP, port and protocol, not by "
			 "firewall mark", s->n_dests ? " with its real servers " : "",
			 s->n_dests ? list : "");
		free(list);
		return e;
	}

	/* One mode per service: the forwarding method of most real servers
	 * (the first one's on a tie). */
	for (size_t i = 0; i < s->n_dests; i++)
		count[s->dests[i].fwd]++;
	if (s->n_dests)
		best = s->dests[0].fwd;
	for (int m = 0; m < FWD_N; m++)
		if (count[m] > count[best])
			best = m;
	if (!s->n_dests) {
		e = note(im, "%s has no real servers: mode dr assumed", lbl);
		if (e)
			return e;
	}

	x = realloc(cfg->services, (cfg->n_services + 1) * sizeof(*x));
	if (!x)
		return -ENOMEM;
	cfg->services = x;
	x = &cfg->services[cfg->n_services];
	memset(x, 0, sizeof(*x));
	x->vip = s->vip;
	x->proto = s->proto;
	x->mode = fwd_mode[best];
	x->backends = calloc(s->n_dests ? s->n_dests : 1, sizeof(*x->backends));
	if (!x->backends)
		return -ENOMEM;
	cfg->n_services++;

	for (size_t i = 0; i < ARRAY_SIZE(scheds); i++) {
		if (strcmp(s->sched, scheds[i].name))
			continue;
		x->scheduler = best == FWD_NAT ? scheds[i].nat : scheds[i].dsr;
		if (scheds[i].what)
			e = note(im, "%s: scheduler %s becomes %s: %s", lbl, s->sched,
				 sched_name(x->scheduler), scheds[i].what);
		else if (x->scheduler != scheds[i].nat)
			e = note(im, "%s: scheduler %s becomes %s: %s needs connection "
				 "counts, which mode %s does not keep (it sees no replies)",
				 lbl, s->sched, sched_name(x->scheduler), s->sched,
				 mode_name(x->mode));
		else
			e = 0;
		if (e)
			return e;
	}

	if (s->persistent) {
		x->persistence = s->timeout > PERSIST_MAX ? PERSIST_MAX : s->timeout;
		if (s->timeout > PERSIST_MAX &&
		    (e = note(im, "%s: persistence %u s cut to the maximum, %u s", lbl,
			      s->timeout, PERSIST_MAX)))
			return e;
		if (!full_netmask(s->netmask) &&
		    (e = note(im, "%s: persistence granularity -M %s is not "
			      "expressible: xlb keeps each client address apart", lbl,
			      s->netmask)))
			return e;
		/* IPVS persistence of 0 s is still persistence... with no time. */
		if (!x->persistence && (e = note(im, "%s: persistence of 0 s means "
						  "none in xlb", lbl)))
			return e;
	}
	if (s->extras[0] && (e = note(im, "%s: %sis not expressible; ignored", lbl,
				      s->extras)))
		return e;
	if (s->vip.port == 0 && (e = note(im, "%s: port 0 (every port, IPVS "
					  "persistent port-0 service) becomes port \"*\"",
					  lbl)))
		return e;

	for (size_t i = 0; i < s->n_dests; i++) {
		const struct ipvs_dest *d = &s->dests[i];
		struct xlb_backend_cfg *b = &x->backends[x->n_backends];

		addr_str(&d->addr, a, sizeof(a));
		if (d->fwd != best &&
		    (e = note(im, "%s: real server %s (line %u) forwards with %s, the "
			      "others with %s: xlb has one mode per service, so it "
			      "uses %s", lbl, a, d->line, fwd_flag[d->fwd],
			      fwd_flag[best], mode_name(x->mode))))
			return e;
		/* dr and nat keep the packet's address family (tun may cross). */
		if (x->mode != XLB_MODE_TUN && d->addr.family != s->vip.family) {
			e = note(im, "%s: real server %s skipped: mode %s cannot mix "
				 "IPv4 and IPv6", lbl, a, mode_name(x->mode));
			if (e)
				return e;
			continue;
		}
		b->addr = d->addr;
		/* The service port is the default; dr and tun cannot change it. */
		if (b->addr.port == s->vip.port) {
			b->addr.port = 0;
		} else if (x->mode != XLB_MODE_NAT && b->addr.port) {
			e = note(im, "%s: real server %s: mode %s cannot change the "
				 "destination port, the real server receives port %u",
				 lbl, a, mode_name(x->mode), s->vip.port);
			if (e)
				return e;
			b->addr.port = 0;
		}
		for (size_t j = 0; j < x->n_backends; j++)
			if (addr_equal(&x->backends[j].addr, &b->addr)) {
				e = note(im, "%s: real server %s skipped: the same "
					 "address as another without the port", lbl, a);
				if (e)
					return e;
				goto next;
			}
		b->weight = d->weight > WEIGHT_MAX ? WEIGHT_MAX : (uint32_t)d->weight;
		if (d->weight > WEIGHT_MAX &&
		    (e = note(im, "%s: real server %s: weight %llu cut to %u (xlb "
			      "weights are 0-%u; scale the others to keep the ratio)",
			      lbl, a, (unsigned long long)d->weight, WEIGHT_MAX,
			      WEIGHT_MAX)))
			return e;
		if (x->mode == XLB_MODE_TUN && d->tun_type[0] && strcmp(d->tun_type, "ipip") &&
		    (e = note(im, "%s: real server %s: tunnel type %s is not "
			      "expressible; xlb encapsulates in IP-in-IP, so the real "
			      "server must decapsulate ipip/ip6ip6 (xlb realserver setup "
			      "--mode tun)", lbl, a, d->tun_type)))
			return e;
		x->n_backends++;
next:;
	}
	/* lc/wlc are limited in the data plane; wrr is the weighted fallback. */
	if ((x->scheduler == XLB_SCHED_LC || x->scheduler == XLB_SCHED_WLC) &&
	    x->n_backends > XLB_LC_MAX_BACKENDS) {
		e = note(im, "%s: %zu real servers: scheduler %s takes at most %u, "
			 "using wrr", lbl, x->n_backends, sched_name(x->scheduler),
			 XLB_LC_MAX_BACKENDS);
		x->scheduler = XLB_SCHED_WRR;
		if (e)
			return e;
	}
	return 0;
}

int ipvsadm_parse(const char *text, size_t len, const char *origin,
		  struct xlb_config *cfg, struct ipvsadm_notes *notes,
		  char *err, size_t errlen)
{
	struct import im = { .origin = origin ? origin : "-", .err = err,
			     .errlen = errlen, .notes = notes };
	size_t n_before = cfg->n_services;
	unsigned int lineno = 0;
	const char *p = text, *end = text + len;
	char *tok[MAX_TOKENS];
	struct rule r;
	int e = 0;

	if (err && errlen)
		err[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line;
		int n;

		lineno++;
		if (memchr(p, '\0', l)) {
			e = fail(&im, lineno, "contains a NUL character");
			goto out;
		}
		line = strndup(p, l);
		if (!line) {
			e = -ENOMEM;
			goto out;
		}
		p += l + (nl ? 1 : 0);
		n = split(line, tok, lineno, &im);
		if (n < 0)
			e = n;
		else if (n > 0 && !(n == 1 && !strcmp(tok[0], "ipvsadm")))
			e = parse_rule(&im, lineno, tok, n, &r) ?:
			    apply_rule(&im, lineno, &r);
		free(line);
		if (e)
			goto out;
	}
	if (!im.n_svcs && (e = note(&im, "%s holds no virtual service", im.origin)))
		goto out;
	for (size_t i = 0; i < im.n_svcs && !e; i++)
		e = build_service(&im, &im.svcs[i], cfg);
	if (!e) {
		char verr[256];

		/* Whatever slipped through the translation: say so rather
		 * than print a config xlbd would refuse without a word here. */
		if (config_validate(cfg, verr, sizeof(verr)))
			e = note(&im, "the result fails xlb's checks, edit it before "
				 "applying: %s", verr);
	}
	if (!e) {
		cfg->timeouts.tcp_established = im.set[0] ? im.set[0] :
						cfg->timeouts.tcp_established;
		cfg->timeouts.tcp_fin = im.set[1] ? im.set[1] : cfg->timeouts.tcp_fin;
		cfg->timeouts.udp = im.set[2] ? im.set[2] : cfg->timeouts.udp;
	}
out:
	for (size_t i = 0; i < im.n_svcs; i++)
		free(im.svcs[i].dests);
	free(im.svcs);
	if (e) {
		/* Leave cfg as it came. */
		for (size_t i = n_before; i < cfg->n_services; i++)
			free(cfg->services[i].backends);
		cfg->n_services = n_before;
	}
	return e;
}

char *ipvsadm_yaml(const struct xlb_config *cfg, const struct ipvsadm_notes *notes,
		   const char *origin)
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
	fprintf(f, "# xlb config imported from IPVS rules (%s) by `xlb import ipvsadm`.\n",
		origin ? origin : "-");
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
