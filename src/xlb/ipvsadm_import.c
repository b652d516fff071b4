// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb import ipvsadm`: reads the rules `ipvsadm -S -n` prints into the
 * IPVS model of import.c, which builds the xlb config that does the same,
 * noting whatever does not carry over (fwmark services, mixed forwarding
 * methods, schedulers xlb lacks...). */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsadm_import.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_TOKENS    64
#define IPVS_PERSIST_DEFAULT 300u       /* -p without a value */

/* The rules read so far. */
struct rules {
	struct import im;
	size_t n_svcs;
	struct ivs_svc *svcs;
	uint32_t set[3];                /* --set tcp tcpfin udp */
};

static bool same_svc(const struct ivs_svc *s, uint8_t proto, uint32_t mark,
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
			return import_fail(im, lineno, "too many words (at most %d)", MAX_TOKENS);
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
		return import_fail(im, lineno, "%s %s (host and port names are not "
			    "resolved: give the output of `ipvsadm -S -n`)", opt, e);
	return 0;
}

/* One line being read: an option handler gets its word t and the next
 * one, arg (NULL at the end), and returns how many words after t it used,
 * or a negative errno. */
struct line {
	struct import *im;
	unsigned int no;
	struct rule *r;
	char **tok;
	int n, i;                       /* the words, the index of t */
};

static int opt_cmd(struct line *l, const char *t, const char *arg)
{
	char cmd = !strcmp(t, "--set") ? 'S' : t[1] == '-' ?
		   (!strcmp(t, "--add-service") ? 'A' : !strcmp(t, "--add-server") ?
		    'a' : 'C') : t[1];

	if (l->r->cmd)
		return import_fail(l->im, l->no, "two commands on one line ('%s' and "
				   "'%s')", l->r->cmd_tok, t);
	l->r->cmd = cmd;
	l->r->cmd_tok = t;
	if (cmd != 'S')
		return 0;
	for (int k = 0; k < 3; k++) {
		uint64_t v;

		if (l->i + 1 + k >= l->n ||
		    parse_u64(l->tok[l->i + 1 + k], XLB_TIMEOUT_MAX_S, &v))
			return import_fail(l->im, l->no, "--set needs three timeouts in "
					   "seconds (tcp tcpfin udp)");
		l->r->set[k] = (uint32_t)v;
	}
	return 3;
}

static int opt_refused(struct line *l, const char *t, const char *arg)
{
	return import_fail(l->im, l->no, "'%s' is not a rule `ipvsadm -S` prints; "
			   "only -A, -a, -C and --set lines are imported", t);
}

static int opt_service(struct line *l, const char *t, const char *arg)
{
	struct rule *r = l->r;
	uint64_t v;

	if (r->svc_tok)
		return import_fail(l->im, l->no, "two services on one line ('%s' and "
				   "'%s')", r->svc_tok, arg);
	r->svc_tok = arg;
	if (is(t, "-f", "--fwmark-service")) {
		if (parse_u64(arg, UINT32_MAX, &v) || !v)
			return import_fail(l->im, l->no, "-f '%s': a firewall mark is a "
					   "number from 1 to %u", arg, UINT32_MAX);
		r->fwmark = (uint32_t)v;
		return 1;
	}
	r->proto = t[1] == 't' || t[2] == 't' ? IPPROTO_TCP :
		   t[1] == 'u' || t[2] == 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
	return parse_addr(l->im, l->no, t, arg, ADDR_PORT_REQUIRED, &r->vip) ?: 1;
}

static int opt_persistent(struct line *l, const char *t, const char *arg)
{
	uint64_t v;

	/* The timeout is optional (ipvsadm's default: 300 s). */
	l->r->persistent = true;
	l->r->timeout = IPVS_PERSIST_DEFAULT;
	if (!arg || arg[0] == '-')
		return 0;
	if (parse_u64(arg, UINT32_MAX, &v))
		return import_fail(l->im, l->no, "-p '%s': persistence is a number of "
				   "seconds", arg);
	l->r->timeout = (uint32_t)v;
	return 1;
}

/* -s, -M, -r and the options only noted. */
static int opt_value(struct line *l, const char *t, const char *arg)
{
	struct rule *r = l->r;

	if (is(t, "-s", "--scheduler"))
		r->sched = arg;
	else if (is(t, "-M", "--netmask"))
		r->netmask = arg;
	else if (is(t, "--pe", "pe"))
		add_extra(r, "%s%s ", "--pe ", arg);
	else if (is(t, "-b", "--sched-flags"))
		add_extra(r, "%s%s ", "-b ", arg);
	else if (is(t, "-o", "--ops") || is(t, "ops", NULL))
		add_extra(r, "%s%s", "-o (one-packet scheduling) ", "");
	else if (is(t, "-r", "--real-server"))
		return parse_addr(l->im, l->no, t, arg, ADDR_PORT_OPTIONAL, &r->real) ?:
		       (r->real_tok = arg, 1);
	return arg && !is(t, "-o", "--ops") && !is(t, "ops", NULL) ? 1 : 0;
}

static int opt_fwd(struct line *l, const char *t, const char *arg)
{
	l->r->fwd = is(t, "-g", "--gatewaying") ? FWD_DR :
		    is(t, "-i", "--ipip") ? FWD_TUN : FWD_NAT;
	return 0;
}

/* -w, -x, -y. */
static int opt_number(struct line *l, const char *t, const char *arg)
{
	struct rule *r = l->r;

	if (is(t, "-w", "--weight")) {
		if (parse_u64(arg, INT32_MAX, &r->weight))
			return import_fail(l->im, l->no, "-w '%s': a weight is a number "
					   "from 0 to %d", arg, INT32_MAX);
		r->have_weight = true;
		return 1;
	}
	if (parse_u64(arg, UINT32_MAX, t[1] == 'x' || t[2] == 'u' ? &r->uthresh :
		      &r->lthresh))
		return import_fail(l->im, l->no, "%s '%s': a threshold is a number of "
				   "connections", t, arg);
	return 1;
}

static int opt_tunnel(struct line *l, const char *t, const char *arg)
{
	uint64_t v;

	if (!strcmp(t, "--tun-type")) {
		if (strcmp(arg, "ipip") && strcmp(arg, "gue") && strcmp(arg, "gre"))
			return import_fail(l->im, l->no, "--tun-type '%s': expected ipip, "
					   "gue or gre", arg);
		l->r->tun_type = arg;
		return 1;
	}
	if (!strcmp(t, "--tun-port")) {
		if (parse_u64(arg, 65535, &v))
			return import_fail(l->im, l->no, "--tun-port '%s': not a port", arg);
		l->r->tun_port = (uint32_t)v;
		return 1;
	}
	return 0;       /* GUE/GRE checksum options: noted with the type */
}

static int opt_ignored(struct line *l, const char *t, const char *arg)
{
	return 0;       /* -6: the fwmark's family, nothing to keep */
}

static const struct {
	const char *s, *l;              /* short and long name */
	bool arg;                       /* needs a value */
	int (*fn)(struct line *l, const char *t, const char *arg);
} opts[] = {
	{ "-A", "--add-service", false, opt_cmd }, { "-a", "--add-server", false, opt_cmd },
	{ "-C", "--clear", false, opt_cmd }, { "--set", NULL, false, opt_cmd },
	{ "-E", "--edit-service", false, opt_refused },
	{ "-e", "--edit-server", false, opt_refused },
	{ "-D", "--delete-service", false, opt_refused },
	{ "-d", "--delete-server", false, opt_refused },
	{ "-R", "--restore", false, opt_refused }, { "-S", "--save", false, opt_refused },
	{ "-L", "--list", false, opt_refused }, { "-l", NULL, false, opt_refused },
	{ "-Z", "--zero", false, opt_refused },
	{ "--start-daemon", "--stop-daemon", false, opt_refused },
	{ "-t", "--tcp-service", true, opt_service },
	{ "-u", "--udp-service", true, opt_service },
	{ "--sctp-service", NULL, true, opt_service },
	{ "-f", "--fwmark-service", true, opt_service },
	{ "-6", "--ipv6", false, opt_ignored },
	{ "-s", "--scheduler", true, opt_value },
	{ "-p", "--persistent", false, opt_persistent },
	{ "-M", "--netmask", true, opt_value }, { "--pe", "pe", true, opt_value },
	{ "-o", "--ops", false, opt_value }, { "ops", NULL, false, opt_value },
	{ "-b", "--sched-flags", true, opt_value },
	{ "-r", "--real-server", true, opt_value },
	{ "-g", "--gatewaying", false, opt_fwd }, { "-i", "--ipip", false, opt_fwd },
	{ "-m", "--masquerading", false, opt_fwd },
	{ "-w", "--weight", true, opt_number }, { "-x", "--u-threshold", true, opt_number },
	{ "-y", "--l-threshold", true, opt_number },
	{ "--tun-type", NULL, true, opt_tunnel }, { "--tun-port", NULL, true, opt_tunnel },
	{ "--tun-nocsum", "--tun-csum", false, opt_tunnel },
	{ "--tun-remcsum", NULL, false, opt_tunnel },
};

/* Read the words of one line into r. */
static int parse_rule(struct import *im, unsigned int lineno, char **tok, int n,
		      struct rule *r)
{
	struct line l = { .im = im, .no = lineno, .r = r, .tok = tok, .n = n };

	memset(r, 0, sizeof(*r));
	r->fwd = -1;
	for (l.i = n && !strcmp(tok[0], "ipvsadm"); l.i < n; l.i++) {
		const char *t = tok[l.i], *arg = l.i + 1 < n ? tok[l.i + 1] : NULL;
		size_t k = 0;
		int used;

		while (k < ARRAY_SIZE(opts) && !is(t, opts[k].s, opts[k].l))
			k++;
		if (k == ARRAY_SIZE(opts))
			return import_fail(im, lineno, "unknown option '%s'", t);
		if (opts[k].arg && !arg)
			return import_fail(im, lineno, "option '%s' needs a value", t);
		used = opts[k].fn(&l, t, arg);
		if (used < 0)
			return used;
		l.i += used;
	}
	if (!r->cmd)
		return import_fail(im, lineno, "no command (expected -A, -a, -C or --set)");
	return 0;
}

static struct ivs_svc *find_svc(struct rules *rs, uint8_t proto, uint32_t mark,
				const struct xlb_sockaddr *vip)
{
	for (size_t i = 0; i < rs->n_svcs; i++)
		if (same_svc(&rs->svcs[i], proto, mark, vip))
			return &rs->svcs[i];
	return NULL;
}

/* -A: a new virtual service. */
static int add_service(struct rules *rs, unsigned int lineno, const struct rule *r,
		       uint8_t proto)
{
	struct ivs_svc *s = find_svc(rs, proto, r->fwmark, &r->vip);

	if (s)
		return import_fail(&rs->im, lineno, "service '%s' is defined twice "
				   "(first on line %u)", r->svc_tok, s->line);
	if (r->real_tok)
		return import_fail(&rs->im, lineno, "-r belongs on an -a line, not "
				   "with -A");
	s = ivs_new_svc(&rs->svcs, &rs->n_svcs);
	if (!s)
		return -ENOMEM;
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
	if (import_sched_known(s->sched))
		return 0;
	return import_fail(&rs->im, lineno, "unknown scheduler '%s' (IPVS has rr, wrr, "
			   "lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)",
			   s->sched);
}

/* -a: a real server of the service r names. */
static int add_real(struct rules *rs, unsigned int lineno, const struct rule *r,
		    uint8_t proto)
{
	struct ivs_svc *s = find_svc(rs, proto, r->fwmark, &r->vip);
	struct ivs_dest *d;
	char a[XLB_ADDRSTR_MAX];

	if (!s)
		return import_fail(&rs->im, lineno, "real server for '%s', which no -A "
				   "line before it defines", r->svc_tok);
	if (!r->real_tok)
		return import_fail(&rs->im, lineno, "-a without a real server (-r "
				   "ADDR:PORT)");
	for (size_t i = 0; i < s->n_dests; i++)
		if (addr_equal(&s->dests[i].addr, &r->real))
			return import_fail(&rs->im, lineno, "real server '%s' is added "
					   "twice to '%s' (first on line %u)", r->real_tok,
					   r->svc_tok, s->dests[i].line);
	d = ivs_new_dest(s);
	if (!d)
		return -ENOMEM;
	d->addr = r->real;
	d->line = lineno;
	/* ipvsadm's defaults: gatewaying (dr), weight 1. */
	d->fwd = r->fwd < 0 ? FWD_DR : (uint8_t)r->fwd;
	d->weight = r->have_weight ? r->weight : 1;
	if (r->tun_type)
		snprintf(d->tun_type, sizeof(d->tun_type), "%s", r->tun_type);
	if (!r->uthresh && !r->lthresh)
		return 0;
	return import_note(&rs->im, "%s: real server %s: connection thresholds (-x %llu "
			   "-y %llu) are not expressible; ignored", r->svc_tok,
			   addr_str(&r->real, a, sizeof(a)), (unsigned long long)r->uthresh,
			   (unsigned long long)r->lthresh);
}

static int apply_rule(struct rules *rs, unsigned int lineno, const struct rule *r)
{
	uint8_t proto = r->svc_tok && !r->fwmark ? r->proto : 0;

	/* -C: a rule file that starts by clearing the table. */
	if (r->cmd == 'C')
		return 0;
	if (r->cmd == 'S') {
		memcpy(rs->set, r->set, sizeof(rs->set));
		return 0;
	}
	if (!r->svc_tok)
		return import_fail(&rs->im, lineno, "%s without a service (-t, -u or -f)",
				   r->cmd_tok);
	return r->cmd == 'A' ? add_service(rs, lineno, r, proto) :
	       add_real(rs, lineno, r, proto);
}

/* One line of text (NUL-free, lineno counted from 1) into rs. */
static int read_line(struct rules *rs, unsigned int lineno, const char *p, size_t l)
{
	char *tok[MAX_TOKENS], *line;
	struct rule r;
	int n, e = 0;

	if (memchr(p, '\0', l))
		return import_fail(&rs->im, lineno, "contains a NUL character");
	line = strndup(p, l);
	if (!line)
		return -ENOMEM;
	n = split(line, tok, lineno, &rs->im);
	if (n < 0)
		e = n;
	else if (n > 0 && !(n == 1 && !strcmp(tok[0], "ipvsadm")))
		e = parse_rule(&rs->im, lineno, tok, n, &r) ?: apply_rule(rs, lineno, &r);
	free(line);
	return e;
}

int ipvsadm_parse(const char *text, size_t len, const char *origin,
		  struct xlb_config *cfg, struct import_notes *notes,
		  char *err, size_t errlen)
{
	struct rules rs = { .im = { .origin = origin ? origin : "-", .err = err,
				    .errlen = errlen, .notes = notes,
				    .netmask_opt = "persistence granularity -M" } };
	size_t n_before = cfg->n_services;
	const char *p = text, *end = text + len;
	unsigned int lineno = 0;
	struct xlb_service_cfg *x;
	int e = 0;

	if (err && errlen)
		err[0] = '\0';
	while (p < end && !e) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		e = read_line(&rs, ++lineno, p, l);
		p += l + (nl ? 1 : 0);
	}
	if (!e && !rs.n_svcs)
		e = import_note(&rs.im, "%s holds no virtual service", rs.im.origin);
	for (size_t i = 0; i < rs.n_svcs && !e; i++)
		e = import_service(&rs.im, &rs.svcs[i], cfg, &x);
	if (!e) {
		cfg->timeouts.tcp_established = rs.set[0] ? rs.set[0] :
						cfg->timeouts.tcp_established;
		cfg->timeouts.tcp_fin = rs.set[1] ? rs.set[1] : cfg->timeouts.tcp_fin;
		cfg->timeouts.udp = rs.set[2] ? rs.set[2] : cfg->timeouts.udp;
	}
	ivs_free(rs.svcs, rs.n_svcs);
	return import_finish(&rs.im, cfg, n_before, e);
}
