// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb import keepalived`: reads keepalived.conf (keepalived.conf(5)) into
 * a tree of statements, turns each virtual_server into the IPVS model of
 * import.c (which keepalived itself hands to IPVS) plus the health check
 * of its real servers, and notes what does not carry over. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keepalived_import.h"
#include "schema.h"

#define MAX_DEPTH     16                /* blocks in blocks */
#define KA_DELAY_LOOP 60                /* keepalived's default, seconds */
#define KA_TIMEOUT    5                 /* connect_timeout's default, seconds */
#define KA_RETRY      1                 /* retry's default */
#define KA_PERSIST    360               /* persistence_timeout without a value */

/* One statement: its words and the block it opens. */
struct kst {
	char **w;
	int n;
	unsigned int line;
	struct kst *kids;
	size_t n_kids;
};

/* ---- syntax -------------------------------------------------------------- */

enum { T_WORD, T_OPEN, T_CLOSE, T_EOL, T_END };

struct lexer {
	char *p;                        /* the text, cut into words in place */
	unsigned int line;
	struct import *im;
};

/* A copy of text where every '{', '}' and line end stands apart from the
 * words and comments are blanked, so words end at a blank that can be cut
 * to a NUL in place. Quoted strings are copied as they are. */
static char *normalize(const char *text, size_t len)
{
	char *out = malloc(3 * len + 1), *o = out;
	bool quoted = false, comment = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (c == '\n') {
			comment = quoted = false;       /* the lexer refuses it */
			*o++ = ' ';
			*o++ = '\n';
		} else if (comment) {
			*o++ = ' ';
		} else if (quoted || c == '"') {
			quoted = c == '"' ? !quoted : quoted;
			*o++ = c;
			if (c == '"' && !quoted)
				*o++ = ' ';
		} else if (c == '#' || c == '!') {
			comment = true;
			*o++ = ' ';
		} else if (c == '{' || c == '}') {
			*o++ = ' ';
			*o++ = c;
			*o++ = ' ';
		} else {
			*o++ = c == '\t' || c == '\r' || c == '\v' || c == '\f' ? ' ' : c;
		}
	}
	*o = '\0';
	return out;
}

/* The next token of normalize()d text; *word for T_WORD. */
static int next_token(struct lexer *lx, char **word, unsigned int *line)
{
	char *s;

	while (*lx->p == ' ')
		lx->p++;
	*line = lx->line;
	if (!*lx->p)
		return T_END;
	if (*lx->p == '\n') {
		lx->p++;
		lx->line++;
		return T_EOL;
	}
	if ((*lx->p == '{' || *lx->p == '}') && lx->p[1] == ' ')
		return *lx->p++ == '{' ? T_OPEN : T_CLOSE;
	s = lx->p;
	if (*s == '"') {
		char *q = strpbrk(s + 1, "\"\n");

		if (!q || *q != '"')
			return import_fail(lx->im, lx->line, "unterminated quoted string");
		*q = '\0';
		*word = s + 1;
		lx->p = q + 1;
		return T_WORD;
	}
	lx->p += strcspn(lx->p, " \n");
	*word = s;
	if (*lx->p == ' ')
		*lx->p++ = '\0';
	return T_WORD;
}

static int add_word(struct kst *st, char *w)
{
	char **nw = realloc(st->w, (size_t)(st->n + 1) * sizeof(*nw));

	if (!nw)
		return -ENOMEM;
	st->w = nw;
	st->w[st->n++] = w;
	return 0;
}

static struct kst *add_kid(struct kst *parent)
{
	struct kst *k = realloc(parent->kids, (parent->n_kids + 1) * sizeof(*k));

	if (!k)
		return NULL;
	parent->kids = k;
	k = &k[parent->n_kids++];
	memset(k, 0, sizeof(*k));
	return k;
}

static void kst_free(struct kst *st)
{
	for (size_t i = 0; i < st->n_kids; i++)
		kst_free(&st->kids[i]);
	free(st->kids);
	free(st->w);
}

/* The statements of a block into parent->kids, up to its '}' (or the end
 * of the text at depth 0). */
static int parse_block(struct lexer *lx, struct kst *parent, int depth)
{
	struct kst *cur = NULL;
	unsigned int line;
	char *w = NULL;
	int t, e;

	if (depth > MAX_DEPTH)
		return import_fail(lx->im, lx->line, "blocks nested more than %d deep",
				   MAX_DEPTH);
	while ((t = next_token(lx, &w, &line)) != T_END) {
		if (t < 0)
			return t;
		if (t == T_EOL) {
			cur = NULL;
		} else if (t == T_CLOSE) {
			if (depth)
				return 0;
			return import_fail(lx->im, line, "'}' without a block to close");
		} else if (t == T_OPEN) {
			/* A block belongs to the statement before it, even
			 * on the line above ("url\n{"). */
			if (!cur && parent->n_kids)
				cur = &parent->kids[parent->n_kids - 1];
			if (!cur || cur->kids)
				return import_fail(lx->im, line, "'{' without a keyword");
			e = parse_block(lx, cur, depth + 1);
			if (e)
				return e;
			cur = NULL;
		} else {
			if (!cur && !(cur = add_kid(parent)))
				return -ENOMEM;
			if (!cur->n)
				cur->line = line;
			if (add_word(cur, w))
				return -ENOMEM;
		}
	}
	if (depth)
		return import_fail(lx->im, lx->line, "a block is not closed (missing '}' "
				   "for line %u)", parent->line);
	return 0;
}

/* ---- values -------------------------------------------------------------- */

static const char *arg(const struct kst *st, int i)
{
	return i < st->n ? st->w[i] : NULL;
}

static int need(struct import *im, const struct kst *st, int n)
{
	if (st->n >= n + 1)
		return 0;
	return import_fail(im, st->line, "'%s' needs %s", st->w[0],
			   n == 1 ? "a value" : "more values");
}

static int get_uint(struct import *im, const struct kst *st, uint64_t max,
		    uint64_t *out)
{
	char *end;
	const char *s = arg(st, 1);

	if (need(im, st, 1))
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || *out > max)
		return import_fail(im, st->line, "%s '%s': expected a number from 0 to "
				   "%llu", st->w[0], s, (unsigned long long)max);
	return 0;
}

/* A keepalived TIMER ("3", "2.5" seconds) as milliseconds. */
static int get_timer_ms(struct import *im, const struct kst *st, uint32_t *ms)
{
	const char *s = arg(st, 1);
	char *end;
	double v;

	if (need(im, st, 1))
		return -EINVAL;
	v = strtod(s, &end);
	if (*s < '0' || *s > '9' || *end || v > 4294967.0)
		return import_fail(im, st->line, "%s '%s': expected seconds", st->w[0], s);
	*ms = (uint32_t)(v * 1000.0 + 0.5);
	return 0;
}

/* "IP PORT" (PORT optional when may_omit) at words i, i+1. */
static int get_addr_port(struct import *im, const struct kst *st, int i,
			 bool may_omit, struct xlb_sockaddr *a)
{
	char e[160];
	uint64_t port = 0;
	char *end;

	if (!arg(st, i) || (!may_omit && !arg(st, i + 1)))
		return import_fail(im, st->line, "%s needs an address and a port",
				   st->w[0]);
	if (addr_parse(arg(st, i), ADDR_PORT_FORBIDDEN, a, e, sizeof(e)))
		return import_fail(im, st->line, "%s: %s (names are not resolved)",
				   st->w[0], e);
	if (arg(st, i + 1) && arg(st, i + 1)[0] != '{') {
		port = strtoull(arg(st, i + 1), &end, 10);
		if (*end || port > 65535)
			return import_fail(im, st->line, "%s: '%s' is not a port",
					   st->w[0], arg(st, i + 1));
	}
	a->port = (uint16_t)port;
	return 0;
}

static int get_fwd(struct import *im, const struct kst *st, uint8_t *fwd)
{
	static const char *const names[FWD_N] = { "DR", "TUN", "NAT" };

	if (need(im, st, 1))
		return -EINVAL;
	for (int i = 0; i < FWD_N; i++)
		if (!strcasecmp(arg(st, 1), names[i])) {
			*fwd = (uint8_t)i;
			return 0;
		}
	return import_fail(im, st->line, "%s '%s': expected NAT, DR or TUN", st->w[0],
			   arg(st, 1));
}

/* ---- checkers ------------------------------------------------------------ */

/* The timing keepalived gives a checker: from the virtual_server, the
 * real_server, then the checker block, each over the one before. */
struct timing {
	uint32_t delay_loop_ms;         /* 0: not given */
	uint32_t connect_timeout_ms;
	int retry;                      /* -1: not given */
};

/* What one real server's checker says, as the YAML of health_check. */
struct check {
	char spec[512];                 /* "" = no checker */
	const char *kind;               /* "HTTP_GET", ... */
	const char *type;               /* xlb's */
	const char *query, *qtype;      /* dns */
	unsigned int line;
};

static void spec_add(struct check *c, const char *fmt, const char *v)
{
	size_t n = strlen(c->spec);

	snprintf(c->spec + n, sizeof(c->spec) - n, fmt, v);
}

/* Timing keywords of any level into t; 1 when st was one of them. */
static int timing_kw(struct import *im, const struct kst *st, struct timing *t)
{
	uint64_t v;

	if (!strcmp(st->w[0], "delay_loop"))
		return get_timer_ms(im, st, &t->delay_loop_ms) ?: 1;
	if (!strcmp(st->w[0], "connect_timeout"))
		return get_timer_ms(im, st, &t->connect_timeout_ms) ?: 1;
	if (!strcmp(st->w[0], "retry") || !strcmp(st->w[0], "nb_get_retry")) {
		if (get_uint(im, st, 99, &v))
			return -EINVAL;
		t->retry = (int)v;
		return 1;
	}
	return 0;
}

/* The url block of HTTP_GET/SSL_GET: path, status_code, virtualhost. */
static int url_block(struct import *im, const struct kst *u, struct check *c,
		     const char *lbl)
{
	for (size_t i = 0; i < u->n_kids; i++) {
		const struct kst *st = &u->kids[i];
		int e = 0;

		if (need(im, st, 1))
			return -EINVAL;
		if (!strcmp(st->w[0], "path"))
			spec_add(c, ", path: \"%s\"", arg(st, 1));
		else if (!strcmp(st->w[0], "status_code"))
			spec_add(c, ", expect_status: \"%s\"", arg(st, 1));
		else if (!strcmp(st->w[0], "virtualhost"))
			spec_add(c, ", host: \"%s\"", arg(st, 1));
		else
			e = import_note(im, "%s: %s url %s (line %u) is not expressible: "
					"xlb checks the status only", lbl, c->kind,
					st->w[0], st->line);
		if (e)
			return e;
	}
	return 0;
}

static const struct {
	const char *kind, *type;        /* keepalived checker, xlb type */
} checkers[] = {
	{ "TCP_CHECK", "tcp" }, { "HTTP_GET", "http" }, { "SSL_GET", "https" },
	{ "DNS_CHECK", "dns" }, { "UDP_CHECK", "udp" }, { "SMTP_CHECK", "tcp" },
};

/* One keyword of a checker block. */
static int checker_kw(struct import *im, const struct kst *st, struct check *c,
		      struct timing *t, int *urls, const char *lbl)
{
	bool http = !strcmp(c->type, "http") || !strcmp(c->type, "https");
	int e = timing_kw(im, st, t);

	if (e)
		return e < 0 ? e : 0;
	if (!strcmp(st->w[0], "url") && http && (*urls)++)
		return import_note(im, "%s: %s: xlb checks one url, the first; the one "
				   "on line %u is left out", lbl, c->kind, st->line);
	if (!strcmp(st->w[0], "url") && http)
		return url_block(im, st, c, lbl);
	if (st->n_kids || st->n < 2)
		return import_note(im, "%s: %s %s (line %u) is not expressible; "
				   "ignored", lbl, c->kind, st->w[0], st->line);
	if (!strcmp(st->w[0], "connect_port"))
		spec_add(c, ", port: %s", arg(st, 1));
	else if (!strcmp(st->w[0], "virtualhost") && http)
		spec_add(c, ", host: \"%s\"", arg(st, 1));
	else if (!strcmp(st->w[0], "name") && !strcmp(c->type, "dns"))
		c->query = arg(st, 1);
	else if (!strcmp(st->w[0], "type") && !strcmp(c->type, "dns"))
		c->qtype = arg(st, 1);
	else
		return import_note(im, "%s: %s %s (line %u) is not expressible; "
				   "ignored", lbl, c->kind, st->w[0], st->line);
	return 0;
}

/* The xlb type of a keepalived checker; NULL (with a note) when none. */
static const char *checker_type(struct import *im, const struct kst *blk,
				const char *lbl, int *e)
{
	const struct schema_name *types = schema_key(&schema_health, "type")->names;

	*e = 0;
	for (size_t i = 0; i < sizeof(checkers) / sizeof(checkers[0]); i++) {
		if (strcmp(blk->w[0], checkers[i].kind))
			continue;
		if (schema_value_of(types, checkers[i].type) >= 0)
			return checkers[i].type;
		/* No https check: the connect part of it. */
		*e = import_note(im, "%s: %s (line %u) becomes a tcp connect check: xlb "
				 "has no %s check", lbl, blk->w[0], blk->line,
				 checkers[i].type);
		return "tcp";
	}
	/* Not translated: misc_path names one real server, xlb's script check
	 * runs one command for all of a service's backends. */
	if (!strcmp(blk->w[0], "MISC_CHECK"))
		*e = import_note(im, "%s: %s (line %u) is not carried over: write a "
				 "health_check of type script whose command checks the "
				 "backend in $XLB_BACKEND", lbl, blk->w[0], blk->line);
	else
		*e = import_note(im, "%s: %s (line %u) is not carried over: xlb has no "
				 "such check", lbl, blk->w[0], blk->line);
	return NULL;
}

/* When and how often: keepalived's delay_loop, connect_timeout (at most
 * the interval in xlb), retry (retries before a server is down), and one
 * success to come back up. */
static int timing_spec(struct import *im, struct check *c, const struct timing *t,
		       const char *lbl)
{
	uint32_t iv = t->delay_loop_ms ? t->delay_loop_ms : KA_DELAY_LOOP * 1000;
	uint32_t to = t->connect_timeout_ms ? t->connect_timeout_ms : KA_TIMEOUT * 1000;
	char buf[32], fall[16];
	int e = 0;

	if (iv < 100)
		iv = 100;
	if (to > iv)
		e = import_note(im, "%s: connect_timeout %s is longer than delay_loop: "
				"xlb's timeout is at most the interval", lbl,
				config_duration_str(to, buf, sizeof(buf)));
	spec_add(c, ", interval: %s", config_duration_str(iv, buf, sizeof(buf)));
	spec_add(c, ", timeout: %s", config_duration_str(to > iv ? iv : to, buf,
							 sizeof(buf)));
	snprintf(fall, sizeof(fall), "%d", t->retry >= 0 ? t->retry + 1 : KA_RETRY + 1);
	spec_add(c, ", rise: 1, fall: %s", fall);
	if (!strcmp(c->type, "dns")) {
		spec_add(c, ", query: \"%s\"", c->query ? c->query : ".");
		spec_add(c, ", query_type: %s", c->qtype ? c->qtype : "SOA");
	}
	return e;
}

/* A checker block into c (spec "" when xlb has no such check). */
static int checker(struct import *im, const struct kst *blk, struct check *c,
		   struct timing t, const char *lbl)
{
	int urls = 0, e;

	c->kind = blk->w[0];
	c->line = blk->line;
	c->type = checker_type(im, blk, lbl, &e);
	if (e || !c->type)
		return e;
	snprintf(c->spec, sizeof(c->spec), "type: %s", c->type);
	for (size_t i = 0; i < blk->n_kids; i++) {
		e = checker_kw(im, &blk->kids[i], c, &t, &urls, lbl);
		if (e)
			return e;
	}
	return timing_spec(im, c, &t, lbl);
}

/* ---- real servers and virtual servers ------------------------------------ */

/* What one virtual_server says beyond the IPVS model. */
struct kvs {
	struct ivs_svc s;               /* the template: no VIP yet */
	struct timing t;                /* the checkers' defaults */
	struct check *checks;           /* one per real server */
	const struct kst *sorry;
	char lbl[96];
};

static const char *const vs_unexpressible[] = {
	"alpha", "omega", "quorum", "quorum_up", "quorum_down", "hysteresis",
	"ha_suspend", "warmup", "delay_before_retry", "sorry_server_inhibit",
	"sorry_server_lvs_method", "persistence_engine", "ops", "flag-1", "flag-2",
	"flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "smtp_alert",
	"nat_mask", "virtualhost",
};

static const char *const rs_unexpressible[] = {
	"notify_up", "notify_down", "uthreshold", "lthreshold", "warmup",
	"delay_before_retry", "smtp_alert", "alpha",
};

static bool in_list(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w, list[i]))
			return true;
	return false;
}

#define IN(w, list) in_list(w, list, sizeof(list) / sizeof(list[0]))

/* A checker block: TCP_CHECK, HTTP_GET... (upper case, with a body). */
static bool is_checker(const struct kst *st)
{
	return st->n_kids && st->w[0][0] >= 'A' && st->w[0][0] <= 'Z';
}

/* One keyword of a real_server block (checkers aside). */
static int real_kw(struct import *im, const struct kst *st, struct ivs_dest *d,
		   const struct kvs *vs, struct timing *t)
{
	uint64_t v;
	int e = timing_kw(im, st, t);

	if (e)
		return e < 0 ? e : 0;
	if (!strcmp(st->w[0], "weight")) {
		e = get_uint(im, st, UINT32_MAX, &v);
		d->weight = v;
	} else if (!strcmp(st->w[0], "lvs_method") || !strcmp(st->w[0], "lb_kind")) {
		e = get_fwd(im, st, &d->fwd);
	} else if (!strcmp(st->w[0], "inhibit_on_failure")) {
		/* xlb's way already: a down backend takes no new flows and
		 * keeps its own (on_backend_down: keep). */
	} else if (IN(st->w[0], rs_unexpressible)) {
		e = import_note(im, "%s: real server line %u: %s is not expressible; "
				"ignored", vs->lbl, d->line, st->w[0]);
	} else {
		e = import_note(im, "%s: real server line %u: unknown keyword '%s' "
				"ignored", vs->lbl, d->line, st->w[0]);
	}
	return e;
}

/* real_server IP [PORT] { ... } into vs: the server and its check. */
static int real_server(struct import *im, const struct kst *st, struct kvs *vs,
		       uint8_t fwd)
{
	const struct kst *chk = NULL;
	struct timing t = vs->t;
	struct ivs_dest *d;
	struct check *c;
	int e;

	c = realloc(vs->checks, (vs->s.n_dests + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	vs->checks = c;
	c = &c[vs->s.n_dests];
	memset(c, 0, sizeof(*c));
	d = ivs_new_dest(&vs->s);
	if (!d)
		return -ENOMEM;
	d->line = st->line;
	d->fwd = fwd;
	d->weight = 1;          /* keepalived's default */
	e = get_addr_port(im, st, 1, true, &d->addr);
	for (size_t i = 0; i < st->n_kids && !e; i++) {
		const struct kst *k = &st->kids[i];

		if (!is_checker(k))
			e = real_kw(im, k, d, vs, &t);
		else if (!chk)
			chk = k;        /* read last: timing after it applies too */
		else
			e = import_note(im, "%s: real server line %u: xlb runs one "
					"check per backend, the first (%s); %s (line "
					"%u) is left out", vs->lbl, d->line, chk->w[0],
					k->w[0], k->line);
	}
	return e || !chk ? e : checker(im, chk, c, t, vs->lbl);
}

/* One keyword of a virtual_server block (real servers aside). */
static int vs_kw(struct import *im, const struct kst *st, struct kvs *vs,
		 uint8_t *fwd)
{
	uint64_t v;
	int e = timing_kw(im, st, &vs->t);

	if (e)
		return e < 0 ? e : 0;
	if (!strcmp(st->w[0], "lb_algo") || !strcmp(st->w[0], "lvs_sched")) {
		if (need(im, st, 1))
			return -EINVAL;
		if (!import_sched_known(arg(st, 1)))
			return import_fail(im, st->line, "unknown scheduler '%s' (IPVS "
					   "has rr, wrr, lc, wlc, lblc, lblcr, dh, sh, "
					   "sed, nq, fo, ovf, mh, twos)", arg(st, 1));
		snprintf(vs->s.sched, sizeof(vs->s.sched), "%s", arg(st, 1));
	} else if (!strcmp(st->w[0], "lb_kind") || !strcmp(st->w[0], "lvs_method")) {
		return get_fwd(im, st, fwd);
	} else if (!strcmp(st->w[0], "protocol")) {
		if (need(im, st, 1))
			return -EINVAL;
		vs->s.proto = !strcasecmp(arg(st, 1), "TCP") ? IPPROTO_TCP :
			      !strcasecmp(arg(st, 1), "UDP") ? IPPROTO_UDP :
			      !strcasecmp(arg(st, 1), "SCTP") ? IPPROTO_SCTP : 0;
		if (!vs->s.proto)
			return import_fail(im, st->line, "protocol '%s': expected TCP, "
					   "UDP or SCTP", arg(st, 1));
	} else if (!strcmp(st->w[0], "persistence_timeout")) {
		vs->s.persistent = true;
		vs->s.timeout = KA_PERSIST;
		if (st->n > 1 && (e = get_uint(im, st, UINT32_MAX, &v)) == 0)
			vs->s.timeout = (uint32_t)v;
	} else if (!strcmp(st->w[0], "persistence_granularity")) {
		if (need(im, st, 1))
			return -EINVAL;
		snprintf(vs->s.netmask, sizeof(vs->s.netmask), "%s", arg(st, 1));
	} else if (!strcmp(st->w[0], "sorry_server")) {
		vs->sorry = st;
	} else if (!strcmp(st->w[0], "ip_family") || !strcmp(st->w[0], "inhibit_on_failure")) {
		/* The addresses say the family; a down server's flows stay. */
	} else if (IN(st->w[0], vs_unexpressible)) {
		return import_note(im, "%s: %s (line %u) is not expressible; ignored",
				   vs->lbl, st->w[0], st->line);
	} else {
		return import_note(im, "%s: unknown keyword '%s' (line %u) ignored",
				   vs->lbl, st->w[0], st->line);
	}
	return e;
}

/* The body of a virtual_server into vs: the template service, its real
 * servers and their checks. */
static int vs_body(struct import *im, const struct kst *st, struct kvs *vs)
{
	uint8_t fwd = FWD_NAT;          /* keepalived's default lvs_method */
	int e = 0;

	vs->s.line = st->line;
	vs->s.proto = IPPROTO_TCP;
	vs->t.retry = -1;
	snprintf(vs->s.sched, sizeof(vs->s.sched), "wlc");
	/* lb_kind and timing may come after the real servers: two passes. */
	for (size_t i = 0; i < st->n_kids && !e; i++)
		if (strcmp(st->kids[i].w[0], "real_server"))
			e = vs_kw(im, &st->kids[i], vs, &fwd);
	for (size_t i = 0; i < st->n_kids && !e; i++)
		if (!strcmp(st->kids[i].w[0], "real_server"))
			e = real_server(im, &st->kids[i], vs, fwd);
	return e;
}

/* The check of the first real server that has one becomes the service's;
 * xlb runs one check for all the backends of a service. */
static int apply_check(struct import *im, const struct kvs *vs,
		       struct xlb_service_cfg *x)
{
	const struct check *first = NULL;
	char err[256];
	int e = 0;

	for (size_t i = 0; i < vs->s.n_dests && !e; i++) {
		const struct check *c = &vs->checks[i];

		if (!c->spec[0])
			continue;
		if (!first)
			first = c;
		else if (strcmp(c->spec, first->spec))
			e = import_note(im, "%s: the real server on line %u checks "
					"otherwise than the one on line %u: xlb runs one "
					"check per service, the first one's", vs->lbl,
					vs->s.dests[i].line, first->line);
	}
	for (size_t i = 0; first && i < vs->s.n_dests && !e; i++)
		if (!vs->checks[i].spec[0])
			e = import_note(im, "%s: the real server on line %u has no "
					"checker; xlb checks it as the others", vs->lbl,
					vs->s.dests[i].line);
	if (e || !first)
		return e;
	if (config_parse_value(&schema_service, "health_check", first->spec, x, err,
			       sizeof(err)))
		return import_note(im, "%s: %s (line %u) is not carried over: %s",
				   vs->lbl, first->kind, first->line, err);
	return 0;
}

/* sorry_server: a backup backend, which takes new flows only while no
 * real server can (keepalived adds it to the pool when all are down). */
static int apply_sorry(struct import *im, const struct kvs *vs,
		       struct xlb_service_cfg *x)
{
	struct xlb_backend_cfg *arr;
	struct xlb_sockaddr sa;

	if (!vs->sorry)
		return 0;
	if (get_addr_port(im, vs->sorry, 1, true, &sa))
		return -EINVAL;
	if (sa.port == x->vip.port)
		sa.port = 0;            /* the service's port, as the real servers */
	if (config_find_backend(x, &sa)) {
		char a[XLB_ADDRSTR_MAX];

		return import_note(im, "%s: sorry_server %s (line %u) is also a real "
				   "server: not added as a backup", vs->lbl,
				   addr_str(&sa, a, sizeof(a)), vs->sorry->line);
	}
	arr = realloc(x->backends, (x->n_backends + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	x->backends = arr;
	schema_defaults(&schema_backend, &arr[x->n_backends]);
	arr[x->n_backends].addr = sa;
	arr[x->n_backends++].backup = true;
	return 0;
}

/* The service of vs on one VIP (or firewall mark). */
static int emit_vs(struct import *im, const struct kvs *vs, const struct xlb_sockaddr *vip,
		   uint32_t fwmark, unsigned int line, struct xlb_config *cfg)
{
	struct ivs_svc s = vs->s;       /* shares vs's real servers */
	struct xlb_service_cfg *x;
	int e;

	s.line = line;
	s.fwmark = fwmark;
	if (fwmark)
		s.proto = 0;
	else
		s.vip = *vip;
	e = import_service(im, &s, cfg, &x);
	if (e || !x)
		return e;
	return apply_check(im, vs, x) ?: apply_sorry(im, vs, x);
}

/* "192.168.200.1-10 80", "2001:db8::1-a 80": one service per address. */
static int group_range(struct import *im, const struct kst *st, const struct kvs *vs,
		       struct xlb_config *cfg)
{
	char base[64], *dash, *end;
	struct kst one = *st;
	struct xlb_sockaddr a;
	unsigned long last, first;
	int e, v6;

	snprintf(base, sizeof(base), "%s", st->w[0]);
	dash = strrchr(base, '-');
	*dash = '\0';
	one.w = (char *[]){ base, (char *)arg(st, 1) };
	one.n = 2;
	e = get_addr_port(im, &one, 0, false, &a);
	if (e)
		return e;
	v6 = a.family == XLB_AF_INET6;
	first = v6 ? (unsigned long)(a.addr.b[14] << 8 | a.addr.b[15]) : a.addr.b[3];
	last = strtoul(dash + 1, &end, v6 ? 16 : 10);
	if (*end || !dash[1] || last < first || last > (v6 ? 0xffffu : 255u) ||
	    last - first >= 256)
		return import_fail(im, st->line, "'%s': a range is ADDR-LAST with LAST "
				   "at least the address's last %s, 256 addresses at "
				   "most", st->w[0], v6 ? "group" : "byte");
	for (unsigned long i = first; i <= last && !e; i++) {
		if (v6) {
			a.addr.b[14] = (uint8_t)(i >> 8);
			a.addr.b[15] = (uint8_t)i;
		} else {
			a.addr.b[3] = (uint8_t)i;
		}
		e = emit_vs(im, vs, &a, 0, st->line, cfg);
	}
	return e;
}

static int group_entry(struct import *im, const struct kst *st, const struct kvs *vs,
		       struct xlb_config *cfg)
{
	struct xlb_sockaddr a;
	uint64_t mark;
	int e;

	if (!strcmp(st->w[0], "fwmark")) {
		e = get_uint(im, st, UINT32_MAX, &mark);
		if (!e && !mark)
			e = import_fail(im, st->line, "fwmark 0 is no firewall mark");
		return e ?: emit_vs(im, vs, NULL, (uint32_t)mark, st->line, cfg);
	}
	if (strchr(st->w[0], '-'))
		return group_range(im, st, vs, cfg);
	e = get_addr_port(im, st, 0, false, &a);
	return e ?: emit_vs(im, vs, &a, 0, st->line, cfg);
}

/* ---- the file ------------------------------------------------------------ */

struct kconf {
	struct import im;
	const struct kst *top;
	struct xlb_config *cfg;
	bool vrrp_noted;
};

static const struct kst *find_group(const struct kconf *kc, const char *name)
{
	for (size_t i = 0; i < kc->top->n_kids; i++) {
		const struct kst *g = &kc->top->kids[i];

		if (!strcmp(g->w[0], "virtual_server_group") && g->n > 1 &&
		    !strcmp(g->w[1], name))
			return g;
	}
	return NULL;
}

/* The VIPs of a virtual_server: ADDR PORT, fwmark N or group NAME. */
static int vs_targets(struct kconf *kc, const struct kst *st, const struct kvs *vs)
{
	const struct kst *g;
	struct xlb_sockaddr a;
	uint64_t mark;
	int e = 0;

	if (need(&kc->im, st, 2))
		return -EINVAL;
	if (!strcmp(st->w[1], "fwmark")) {
		struct kst m = { .w = st->w + 1, .n = st->n - 1, .line = st->line };

		e = get_uint(&kc->im, &m, UINT32_MAX, &mark);
		if (!e && !mark)
			e = import_fail(&kc->im, st->line, "fwmark 0 is no firewall mark");
		return e ?: emit_vs(&kc->im, vs, NULL, (uint32_t)mark, st->line, kc->cfg);
	}
	if (!strcmp(st->w[1], "group")) {
		g = find_group(kc, st->w[2]);
		if (!g)
			return import_fail(&kc->im, st->line, "no virtual_server_group "
					   "'%s'", st->w[2]);
		for (size_t i = 0; i < g->n_kids && !e; i++)
			e = group_entry(&kc->im, &g->kids[i], vs, kc->cfg);
		return e;
	}
	e = get_addr_port(&kc->im, st, 1, false, &a);
	return e ?: emit_vs(&kc->im, vs, &a, 0, st->line, kc->cfg);
}

static int virtual_server(struct kconf *kc, const struct kst *st)
{
	struct kvs vs;
	int e;

	memset(&vs, 0, sizeof(vs));
	snprintf(vs.lbl, sizeof(vs.lbl), "virtual_server %s %s (line %u)",
		 arg(st, 1) ? arg(st, 1) : "", arg(st, 2) ? arg(st, 2) : "", st->line);
	e = vs_body(&kc->im, st, &vs) ?: vs_targets(kc, st, &vs);
	free(vs.s.dests);
	free(vs.checks);
	return e;
}

/* What keepalived does besides IPVS: said once, not imported. */
static int top_other(struct kconf *kc, const struct kst *st)
{
	const char *w = st->w[0];

	if (!strncmp(w, "vrrp_", 5) || !strncmp(w, "static_", 7) ||
	    !strcmp(w, "garp_group") || !strcmp(w, "track_file") ||
	    !strcmp(w, "bfd_instance") || !strcmp(w, "linkbeat_use_polling")) {
		if (kc->vrrp_noted)
			return 0;
		kc->vrrp_noted = true;
		return import_note(&kc->im, "%s (line %u) and the other VRRP blocks are "
				   "not imported: VRRP (a standby balancer taking "
				   "the VIPs over) is out of scope; xlb runs "
				   "active-active, every node announcing the VIPs "
				   "(docs/scale-out.md)", w, st->line);
	}
	if (!strcmp(w, "global_defs"))
		return import_note(&kc->im, "global_defs (line %u) is not imported "
				   "(notifications, router_id, lvs_sync_daemon)", st->line);
	if (!strncmp(w, "include", 7))
		return import_note(&kc->im, "%s %s (line %u) is not followed: import "
				   "that file too", w, arg(st, 1) ? arg(st, 1) : "",
				   st->line);
	return import_note(&kc->im, "'%s' (line %u) is not imported", w, st->line);
}

int keepalived_parse(const char *text, size_t len, const char *origin,
		     struct xlb_config *cfg, struct import_notes *notes,
		     char *err, size_t errlen)
{
	struct kconf kc = { .im = { .origin = origin ? origin : "-", .err = err,
				    .errlen = errlen, .notes = notes,
				    .netmask_opt = "persistence_granularity" },
			    .cfg = cfg };
	size_t n_before = cfg->n_services, n_vs = 0;
	struct kst top = { .line = 1 };
	struct lexer lx = { .line = 1, .im = &kc.im };
	char *buf;
	int e;

	if (err && errlen)
		err[0] = '\0';
	if (memchr(text, '\0', len))
		return import_fail(&kc.im, 1, "contains a NUL character");
	buf = lx.p = normalize(text, len);
	if (!buf)
		return -ENOMEM;
	kc.top = &top;
	e = parse_block(&lx, &top, 0);
	for (size_t i = 0; i < top.n_kids && !e; i++) {
		const struct kst *st = &top.kids[i];

		if (!strcmp(st->w[0], "virtual_server")) {
			n_vs++;
			e = virtual_server(&kc, st);
		} else if (strcmp(st->w[0], "virtual_server_group")) {
			e = top_other(&kc, st);
		}
	}
	if (!e && !n_vs)
		e = import_note(&kc.im, "%s holds no virtual_server", kc.im.origin);
	kst_free(&top);
	free(buf);
	return import_finish(&kc.im, cfg, n_before, e);
}
