// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The YAML config: parsing with libyaml into struct xlb_config, validation,
 * and the small helpers (copy, lookups, names) runtime changes use. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "config.h"
#include "config_limits.h"
#include "file.h"
#include "maglev.h"
#include "schema.h"

/* Config files are small; a bigger one is a mistake, not a config. */
#define CONFIG_FILE_MAX   (16u << 20)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void config_health_defaults(struct xlb_health_cfg *hc, uint8_t type)
{
	memset(hc, 0, sizeof(*hc));
	/* No check is the same as no health_check key at all. */
	if (type == XLB_HC_NONE)
		return;
	schema_defaults(&schema_health, hc);
	hc->type = type;
}

static const struct { const char *name; uint16_t type; } dns_types[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
	{ "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 }, { "ANY", 255 },
};

int dns_type_from_name(const char *s)
{
	unsigned long v;
	char *end;

	for (size_t i = 0; i < ARRAY_SIZE(dns_types); i++)
		if (!strcasecmp(s, dns_types[i].name))
			return dns_types[i].type;
	/* RFC 3597 form for the others. */
	if (strncasecmp(s, "TYPE", 4) || s[4] < '0' || s[4] > '9')
		return -1;
	errno = 0;
	v = strtoul(s + 4, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -1;
	return (int)v;
}

char *dns_type_str(uint16_t type, char *buf, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(dns_types); i++)
		if (dns_types[i].type == type) {
			snprintf(buf, len, "%s", dns_types[i].name);
			return buf;
		}
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

int config_parse_duration(const char *s, uint32_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	uint64_t v = 0;
	const char *q = s;
	bool big = false;

	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (*q < '0' || *q > '9')
		return -EINVAL;
	/* Too big is told apart from not a duration, once the unit is read. */
	for (; *q >= '0' && *q <= '9'; q++) {
		v = big ? v : v * 10 + (uint64_t)(*q - '0');
		big = big || v > UINT32_MAX;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(q, units[i].unit))
			continue;
		if (big || v * units[i].ms > UINT32_MAX)
			return -ERANGE;
		*ms = (uint32_t)(v * units[i].ms);
		return 0;
	}
	return -EINVAL;
}

char *config_duration_str(uint32_t ms, char *buf, size_t len)
{
	if (ms && ms % 3600000 == 0)
		snprintf(buf, len, "%uh", ms / 3600000);
	else if (ms && ms % 60000 == 0)
		snprintf(buf, len, "%um", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
	return buf;
}

void config_init(struct xlb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	schema_defaults(&schema_top, cfg);
}

void config_free(struct xlb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		free(cfg->services[i].backends);
	free(cfg->services);
	free(cfg->interfaces);
	free(cfg->local_addresses);
	config_init(cfg);
}

/* calloc that treats zero elements as a valid empty array. */
static void *dup_array(const void *src, size_t n, size_t size, int *err)
{
	void *p;

	if (!n)
		return NULL;
	p = calloc(n, size);
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(p, src, n * size);
	return p;
}

int config_copy(struct xlb_config *dst, const struct xlb_config *src)
{
	struct xlb_config c = *src;
	int err = 0;

	c.interfaces = dup_array(src->interfaces, src->n_interfaces,
				 sizeof(*src->interfaces), &err);
	c.local_addresses = dup_array(src->local_addresses, src->n_local_addresses,
				      sizeof(*src->local_addresses), &err);
	c.services = dup_array(src->services, src->n_services,
			       sizeof(*src->services), &err);
	if (err) {
		/* Nothing in c's services owns backends yet. */
		c.n_services = 0;
		goto out;
	}
	for (size_t i = 0; i < c.n_services; i++) {
		c.services[i].backends = dup_array(src->services[i].backends,
						   src->services[i].n_backends,
						   sizeof(*src->services[i].backends),
						   &err);
		if (err) {
			/* Services from i on still point at src's arrays. */
			c.n_services = i;
			goto out;
		}
	}
out:
	if (err) {
		config_free(&c);
		config_init(dst);
		return err;
	}
	*dst = c;
	return 0;
}

struct xlb_service_cfg *config_find_service(struct xlb_config *cfg,
					    uint8_t proto,
					    const struct xlb_sockaddr *vip)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].proto == proto &&
		    addr_equal(&cfg->services[i].vip, vip))
			return &cfg->services[i];
	return NULL;
}

/* Port 0 on a backend means "the service's port", so 198.18.0.11 and
 * 198.18.0.11:80 are the same backend of a service on port 80. */
static uint16_t backend_port(const struct xlb_service_cfg *svc,
			     const struct xlb_sockaddr *a)
{
	return a->port ? a->port : svc->vip.port;
}

static bool backend_same(const struct xlb_service_cfg *svc,
			 const struct xlb_sockaddr *a, const struct xlb_sockaddr *b)
{
	return addr_equal_noport(a, b) && backend_port(svc, a) == backend_port(svc, b);
}

struct xlb_backend_cfg *config_find_backend(struct xlb_service_cfg *svc,
					    const struct xlb_sockaddr *addr)
{
	for (size_t i = 0; i < svc->n_backends; i++)
		if (backend_same(svc, &svc->backends[i].addr, addr))
			return &svc->backends[i];
	return NULL;
}

/* ---- validation ---------------------------------------------------------- */

/* Where a validation error is, so the parser can point at the line: service
 * svc (VF_TOP: the top level), its key `key` (NULL: the service itself) or
 * its backend be (VF_NONE: none). */
#define VF_TOP  SIZE_MAX
#define VF_NONE SIZE_MAX

struct vfail {
	size_t svc;
	const char *key;
	size_t be;
};

struct vctx {
	const struct xlb_config *cfg;
	struct vfail *vf;
	char *err;
	size_t errlen;
	char lbl[XLB_NAME_MAX + XLB_ADDRSTR_MAX];      /* the service's label */
	uint64_t max_flows;             /* services' max_flows so far */
};

static int vfail(struct vctx *v, size_t svc, const char *key, size_t be,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int vfail(struct vctx *v, size_t svc, const char *key, size_t be,
		 const char *fmt, ...)
{
	va_list ap;

	*v->vf = (struct vfail){ svc, key, be };
	va_start(ap, fmt);
	if (v->err && v->errlen)
		vsnprintf(v->err, v->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint32_t next_prime(uint32_t m)
{
	while (!maglev_is_prime(m) && m < UINT32_MAX)
		m++;
	return m;
}

static const char *svc_label(const struct xlb_service_cfg *s, char *buf, size_t len)
{
	if (s->name[0])
		snprintf(buf, len, "%s", s->name);
	else
		service_name_str(s->proto, &s->vip, buf, len);
	return buf;
}

struct be_ref {
	const struct xlb_service_cfg *svc;
	size_t idx;
};

static int cmp_be(const void *pa, const void *pb)
{
	const struct be_ref *a = pa, *b = pb;
	const struct xlb_sockaddr *x = &a->svc->backends[a->idx].addr;
	const struct xlb_sockaddr *y = &b->svc->backends[b->idx].addr;
	uint16_t px = backend_port(a->svc, x), py = backend_port(b->svc, y);
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr.b, y->addr.b, sizeof(x->addr.b));
	if (c)
		return c;
	if (px != py)
		return px < py ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Find the first duplicate backend of svc: returns the index of the later
 * of the two, or SIZE_MAX. Sorting keeps this fast with thousands of
 * backends. */
static size_t find_dup_backend(const struct xlb_service_cfg *svc, int *err)
{
	struct be_ref *r;
	size_t dup = SIZE_MAX;

	if (svc->n_backends < 2)
		return SIZE_MAX;
	r = calloc(svc->n_backends, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return SIZE_MAX;
	}
	for (size_t i = 0; i < svc->n_backends; i++)
		r[i] = (struct be_ref){ svc, i };
	qsort(r, svc->n_backends, sizeof(*r), cmp_be);
	for (size_t i = 1; i < svc->n_backends; i++)
		if (backend_same(svc, &svc->backends[r[i - 1].idx].addr,
				 &svc->backends[r[i].idx].addr) &&
		    (dup == SIZE_MAX || r[i].idx < dup))
			dup = r[i].idx;
	free(r);
	return dup;
}

/* The longest of the timeouts t (0 when none is set). */
static uint32_t timeouts_max(const struct xlb_timeouts *t)
{
	uint32_t m = 0;

	for (size_t i = 0; i < schema_timeouts.n_keys; i++) {
		uint64_t x = schema_get_uint(&schema_timeouts.keys[i], t);

		if (x > m)
			m = (uint32_t)x;
	}
	return m;
}

/* How many of the n addresses are of family fam. */
static size_t count_family(const struct xlb_sockaddr *addrs, size_t n, uint8_t fam)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += addrs[i].family == fam;
	return c;
}

/* Ranges (for what the control API builds; the walk checks them as it
 * reads) and the names of enums, for every scalar row of sec in obj. */
static int check_rows(struct vctx *v, size_t svc, size_t be,
		      const struct schema_section *sec, const void *obj,
		      const char *prefix)
{
	char msg[256];

	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct schema_key *k = &sec->keys[i];

		if (schema_check_range(k, prefix, obj, msg, sizeof(msg)))
			return vfail(v, svc, k->key, be, "%s", msg);
		if (k->type == SCHEMA_ENUM &&
		    !schema_name_of(k->names, (uint8_t)schema_get_uint(k, obj)))
			return vfail(v, svc, k->key, be, "%sbad %s", prefix, k->key);
	}
	return 0;
}

static int validate_top(struct vctx *v)
{
	const struct xlb_config *cfg = v->cfg;
	int e;

	e = check_rows(v, VF_TOP, VF_NONE, &schema_top, cfg, "");
	if (e)
		return e;
	if (!maglev_is_prime(cfg->maglev_table_size))
		return vfail(v, VF_TOP, "maglev_table_size", VF_NONE,
			     "maglev_table_size %u is not a prime (the next prime is %u)",
			     cfg->maglev_table_size, next_prime(cfg->maglev_table_size));
	/* The data plane's lips map holds XLB_MAX_LIPS of each family. */
	if (count_family(cfg->local_addresses, cfg->n_local_addresses,
			 XLB_AF_INET) > XLB_MAX_LIPS ||
	    count_family(cfg->local_addresses, cfg->n_local_addresses,
			 XLB_AF_INET6) > XLB_MAX_LIPS)
		return vfail(v, VF_TOP, "local_addresses", VF_NONE,
			     "local_addresses: at most %u IPv4 and %u IPv6 "
			     "addresses", XLB_MAX_LIPS, XLB_MAX_LIPS);
	if (timeouts_max(&cfg->timeouts) > XLB_TIMEOUT_MAX_S)
		return vfail(v, VF_TOP, "timeouts", VF_NONE,
			     "timeouts: %u s is too long (maximum %u s)",
			     timeouts_max(&cfg->timeouts), XLB_TIMEOUT_MAX_S);
	/* A mapping gets the default hold: with it alone, a path is missing. */
	if (!cfg->announce.file[0] != !cfg->announce.bird_socket[0] ||
	    (!cfg->announce.file[0] && cfg->announce.hold_ms &&
	     cfg->announce.hold_ms != XLB_ANNOUNCE_HOLD_DEFAULT_MS))
		return vfail(v, VF_TOP, "announce", VF_NONE,
			     "announce: needs both bird_socket and file (e.g. { "
			     "bird_socket: /run/bird/bird.ctl, file: /etc/bird/xlb-vips.conf })");
	if (cfg->n_services > XLB_MAX_SERVICES)
		return vfail(v, XLB_MAX_SERVICES, NULL, VF_NONE,
			     "too many services (maximum %u)", XLB_MAX_SERVICES);
	return 0;
}

/* Its address, protocol, and that no other service has them or its name. */
static int validate_identity(struct vctx *v, size_t i)
{
	const struct xlb_service_cfg *s = &v->cfg->services[i];
	char a[XLB_ADDRSTR_MAX];

	if (s->vip.family != XLB_AF_INET && s->vip.family != XLB_AF_INET6)
		return vfail(v, i, NULL, VF_NONE, "service %s: no VIP", v->lbl);
	if (addr_vip_problem(&s->vip, s->mode == XLB_MODE_PROXY))
		return vfail(v, i, NULL, VF_NONE, "service %s: the VIP is %s; a VIP is "
			     "a unicast address clients can reach", v->lbl,
			     addr_vip_problem(&s->vip, s->mode == XLB_MODE_PROXY));
	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
		return vfail(v, i, NULL, VF_NONE, "service %s: protocol must be tcp "
			     "or udp", v->lbl);
	for (size_t j = 0; j < i; j++) {
		const struct xlb_service_cfg *o = &v->cfg->services[j];

		if (o->proto == s->proto && addr_equal(&o->vip, &s->vip))
			return vfail(v, i, NULL, VF_NONE, "duplicate service %s",
				     service_name_str(s->proto, &s->vip, a, sizeof(a)));
		if (s->name[0] && strcmp(o->name, s->name) == 0)
			return vfail(v, i, NULL, VF_NONE, "duplicate service name '%s'",
				     s->name);
	}
	return 0;
}

bool config_service_has_share(const struct xlb_service_cfg *s)
{
	bool lc = s->scheduler == XLB_SCHED_LC || s->scheduler == XLB_SCHED_WLC;

	return s->mode == XLB_MODE_NAT || s->mode == XLB_MODE_FULLNAT ||
	       ((s->mode == XLB_MODE_DR || s->mode == XLB_MODE_TUN) && lc);
}

/* The mode and the scheduler, and what each needs of the other. */
static int validate_mode(struct vctx *v, size_t i)
{
	const struct xlb_config *cfg = v->cfg;
	const struct xlb_service_cfg *s = &cfg->services[i];
	bool lc = s->scheduler == XLB_SCHED_LC || s->scheduler == XLB_SCHED_WLC;

	if (!schema_name_of(schema_key(&schema_service, "mode")->names, s->mode))
		return vfail(v, i, "mode", VF_NONE, "service %s: no mode", v->lbl);
	/* fullnat sources its packets from the local_addresses of the VIP's
	 * family (it never translates across families). */
	if (s->mode == XLB_MODE_FULLNAT &&
	    !count_family(cfg->local_addresses, cfg->n_local_addresses, s->vip.family))
		return vfail(v, i, "mode", VF_NONE, "service %s: mode fullnat needs at "
			     "least one %s address in local_addresses", v->lbl,
			     s->vip.family == XLB_AF_INET ? "IPv4" : "IPv6");
	/* The data plane scans an lc/wlc service's backends for every new
	 * flow: a bounded list. */
	if (lc && s->mode != XLB_MODE_PROXY && s->n_backends > XLB_LC_MAX_BACKENDS)
		return vfail(v, i, "scheduler", VF_NONE, "service %s: scheduler '%s' "
			     "takes at most %u backends in mode %s (%zu given)", v->lbl,
			     sched_name(s->scheduler), XLB_LC_MAX_BACKENDS,
			     mode_name(s->mode), s->n_backends);
	if (s->mode != XLB_MODE_PROXY && s->scheduler == XLB_SCHED_RANDOM2)
		return vfail(v, i, "scheduler", VF_NONE, "service %s: scheduler '%s' is "
			     "not supported yet for mode %s", v->lbl,
			     sched_name(s->scheduler), mode_name(s->mode));
	return 0;
}

/* "mode proxy", "modes nat and fullnat": the modes of a row's .only. */
static char *modes_str(uint32_t only, char *buf, size_t len)
{
	size_t n = 0, total = (size_t)__builtin_popcount(only), used = 0;

	used += (size_t)snprintf(buf, len, "mode%s ", total > 1 ? "s" : "");
	for (uint8_t m = 0; m < 32 && used < len; m++)
		if (only & (1u << m))
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 !n++ ? "" : n == total ? " and " : ", ",
						 mode_name(m));
	return buf;
}

/* Keys that apply to some modes only, and the settings of mode proxy. */
static int validate_mode_keys(struct vctx *v, size_t i)
{
	const struct xlb_service_cfg *s = &v->cfg->services[i];
	char modes[64];

	for (size_t j = 0; j < schema_service.n_keys; j++) {
		const struct schema_key *k = &schema_service.keys[j];

		/* timeouts: validate_svc_timeouts says more. */
		if (!k->only || (k->only & (1u << s->mode)) || k->type == SCHEMA_NODE ||
		    schema_is_default(k, s))
			continue;
		return vfail(v, i, NULL, VF_NONE, "service %s: '%s' only applies to %s",
			     v->lbl, k->key, modes_str(k->only, modes, sizeof(modes)));
	}
	if (s->mode != XLB_MODE_PROXY)
		return 0;
	if (!s->vip.port)
		return vfail(v, i, NULL, VF_NONE, "service %s: mode proxy needs a port "
			     "(it listens on VIP:port)", v->lbl);
	if (s->proto == IPPROTO_UDP && (s->send_proxy || s->accept_proxy))
		return vfail(v, i, NULL, VF_NONE, "service %s: send_proxy and "
			     "accept_proxy apply to tcp services only", v->lbl);
	if (s->proto == IPPROTO_UDP && (s->header_timeout_ms || s->server_first_set))
		return vfail(v, i, NULL, VF_NONE, "service %s: %s applies to tcp "
			     "services only", v->lbl, s->header_timeout_ms ?
			     "header_timeout" : "server_speaks_first");
	/* A udp session has one idle time, client_timeout (proxy_udp.c). */
	if (s->proto == IPPROTO_UDP && s->server_timeout_ms)
		return vfail(v, i, NULL, VF_NONE, "service %s: server_timeout applies to "
			     "tcp services only (a udp session's idle time is "
			     "client_timeout)", v->lbl);
	return 0;
}

/* A service's own timeouts: only the connection table of nat and fullnat
 * has them (dr/tun entries never expire by state, proxy has its own
 * client/server timeouts). */
static int validate_svc_timeouts(struct vctx *v, size_t i)
{
	const struct xlb_service_cfg *s = &v->cfg->services[i];
	uint32_t m = timeouts_max(&s->timeouts);

	if (!m)
		return 0;
	if (s->mode != XLB_MODE_NAT && s->mode != XLB_MODE_FULLNAT)
		return vfail(v, i, "timeouts", VF_NONE, "service %s: 'timeouts' only "
			     "applies to modes nat and fullnat (mode %s keeps no "
			     "connection states)%s", v->lbl, mode_name(s->mode),
			     s->mode == XLB_MODE_PROXY ?
			     "; use client_timeout and server_timeout" : "");
	if (m > XLB_TIMEOUT_MAX_S)
		return vfail(v, i, "timeouts", VF_NONE, "service %s: timeouts: %u s is "
			     "too long (maximum %u s)", v->lbl, m, XLB_TIMEOUT_MAX_S);
	return 0;
}

static int validate_backends(struct vctx *v, size_t i)
{
	const struct xlb_service_cfg *s = &v->cfg->services[i];
	char a[XLB_ADDRSTR_MAX], prefix[sizeof(v->lbl) + XLB_ADDRSTR_MAX + 32];
	size_t dup;
	int e = 0;

	for (size_t j = 0; j < s->n_backends; j++) {
		const struct xlb_backend_cfg *b = &s->backends[j];

		addr_str(&b->addr, a, sizeof(a));
		snprintf(prefix, sizeof(prefix), "service %s: backend %s: ", v->lbl, a);
		e = check_rows(v, i, j, &schema_backend, b, prefix);
		if (e)
			return e;
		/* dr only rewrites the MAC: the packet keeps its IP header,
		 * so the real server must speak the VIP's family; nat and
		 * fullnat rewrite addresses within one family. tun
		 * encapsulates and may cross them. */
		if (s->mode != XLB_MODE_TUN && s->mode != XLB_MODE_PROXY &&
		    b->addr.family != s->vip.family)
			return vfail(v, i, NULL, j, "service %s: backend %s is %s but the "
				     "VIP is %s (mode %s cannot mix address families)",
				     v->lbl, a, b->addr.family == XLB_AF_INET ? "IPv4" : "IPv6",
				     s->vip.family == XLB_AF_INET ? "IPv4" : "IPv6",
				     mode_name(s->mode));
		/* In the DSR modes the real server sees the packet as the
		 * client sent it, port included. */
		if ((s->mode == XLB_MODE_DR || s->mode == XLB_MODE_TUN) &&
		    b->addr.port && b->addr.port != s->vip.port)
			return vfail(v, i, NULL, j, "service %s: backend %s: mode %s cannot "
				     "change the destination port", v->lbl, a,
				     mode_name(s->mode));
	}
	dup = find_dup_backend(s, &e);
	if (e)
		return e;
	if (dup != SIZE_MAX)
		return vfail(v, i, NULL, dup, "service %s: duplicate backend %s", v->lbl,
			     addr_str(&s->backends[dup].addr, a, sizeof(a)));
	return 0;
}

/* persistence_netmask only with persistence, and no longer than the VIP's
 * addresses (the row's range is the IPv6 one). */
static int validate_persistence(struct vctx *v, size_t i)
{
	const struct xlb_service_cfg *s = &v->cfg->services[i];

	if (s->persistence_plen && !s->persistence)
		return vfail(v, i, "persistence_netmask", VF_NONE, "service %s: "
			     "persistence_netmask needs persistence (seconds > 0)",
			     v->lbl);
	if (s->vip.family == XLB_AF_INET && s->persistence_plen > 32)
		return vfail(v, i, "persistence_netmask", VF_NONE, "service %s: "
			     "persistence_netmask /%u is longer than an IPv4 address",
			     v->lbl, s->persistence_plen);
	return 0;
}

uint8_t config_persist_plen(const struct xlb_service_cfg *s)
{
	if (s->persistence_plen)
		return s->persistence_plen;
	return s->vip.family == XLB_AF_INET ? 32 : 128;
}

static int validate_service(struct vctx *v, size_t i, size_t *total_backends)
{
	const struct xlb_service_cfg *s = &v->cfg->services[i];
	char prefix[sizeof(v->lbl) + 16];
	int e;

	svc_label(s, v->lbl, sizeof(v->lbl));
	snprintf(prefix, sizeof(prefix), "service %s: ", v->lbl);
	e = validate_identity(v, i) ?: validate_mode(v, i) ?:
	    validate_mode_keys(v, i) ?: validate_svc_timeouts(v, i) ?:
	    check_rows(v, i, VF_NONE, &schema_service, s, prefix) ?:
	    validate_persistence(v, i);
	if (e)
		return e;
	if (s->n_backends >= v->cfg->maglev_table_size)
		return vfail(v, i, NULL, VF_NONE, "service %s: %zu backends need a "
			     "maglev_table_size larger than %u", v->lbl, s->n_backends,
			     v->cfg->maglev_table_size);
	if (s->max_flows && !config_service_has_share(s))
		return vfail(v, i, "max_flows", VF_NONE, "service %s: max_flows needs "
			     "scheduler lc or wlc in mode %s: under the others its "
			     "flows live in the dr/tun flow table (dsr_flow_table_size), "
			     "which the flood guard protects", v->lbl, mode_name(s->mode));
	/* Shares of the table that cannot overlap, or they isolate nothing. */
	v->max_flows += s->max_flows;
	if (s->max_flows && v->max_flows > XLB_SVC_FLOWS_SHARE(v->cfg->flow_table_size))
		return vfail(v, i, "max_flows", VF_NONE, "service %s: the services' "
			     "max_flows add up to %llu, more than the %u entries "
			     "flow_table_size %u shares out (7/8 of it)", v->lbl,
			     (unsigned long long)v->max_flows,
			     XLB_SVC_FLOWS_SHARE(v->cfg->flow_table_size),
			     v->cfg->flow_table_size);
	*total_backends += s->n_backends;
	if (*total_backends > XLB_MAX_BACKENDS)
		return vfail(v, i, NULL, VF_NONE, "service %s: too many backends in all "
			     "(maximum %u)", v->lbl, XLB_MAX_BACKENDS);
	return validate_backends(v, i);
}

static int validate(const struct xlb_config *cfg, struct vfail *vf,
		    char *err, size_t errlen)
{
	struct vctx v = { .cfg = cfg, .vf = vf, .err = err, .errlen = errlen };
	size_t total_backends = 0;
	int e;

	e = validate_top(&v);
	for (size_t i = 0; !e && i < cfg->n_services; i++)
		e = validate_service(&v, i, &total_backends);
	return e;
}

int config_validate(const struct xlb_config *cfg, char *err, size_t errlen)
{
	struct vfail vf;

	return validate(cfg, &vf, err, errlen);
}

/* ---- parsing ------------------------------------------------------------- */

/* Where each key of a service is, for validation errors. */
struct svc_marks {
	yaml_mark_t start;
	yaml_mark_t at[SCHEMA_KEYS_MAX];        /* by row of schema_service */
	bool has[SCHEMA_KEYS_MAX];
	yaml_mark_t *backends;
};

struct schema_walk {
	const char *origin;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	yaml_mark_t top_at[SCHEMA_KEYS_MAX];    /* by row of schema_top */
	bool top_has[SCHEMA_KEYS_MAX];
	struct svc_marks *sm;           /* one per service */
	size_t n_sm;
	struct svc_marks *cur;          /* of the service being read */
	/* Backends parsed so far in all services: YAML aliases can repeat
	 * a big list cheaply, so the limit is enforced before allocating. */
	size_t n_backends;
};

static int perr_at(struct schema_walk *p, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr_at(struct schema_walk *p, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	/* config_parse_value: the text is not a file, no position. */
	n = p->origin ? snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->origin,
				 m.line + 1, m.column + 1) : 0;
	if (n < 0 || (size_t)n >= p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

#define perr(p, node, ...) perr_at(p, (node)->start_mark, __VA_ARGS__)

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "scalar";
	case YAML_SEQUENCE_NODE:
		return "list";
	case YAML_MAPPING_NODE:
		return "mapping";
	default:
		return "empty node";
	}
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* An empty plain value, "~" or "null": the key is there without a value. */
static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = sval(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static int get_str(struct schema_walk *p, yaml_node_t *n, const char *what, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return perr(p, n, "%s: expected a scalar, got a %s", what, kind(n));
	if (is_null(n))
		return perr(p, n, "%s: missing value", what);
	/* An escaped "\0" would silently cut the value short. */
	if (strlen(sval(n)) != n->data.scalar.length)
		return perr(p, n, "%s: contains a NUL character", what);
	*out = sval(n);
	return 0;
}

/* A list; a key with no value is an empty list. */
static int get_seq(struct schema_walk *p, yaml_node_t *n, const char *what,
		   yaml_node_item_t **items, size_t *count, size_t max)
{
	if (is_null(n)) {
		*items = NULL;
		*count = 0;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return perr(p, n, "%s: expected a list, got a %s", what, kind(n));
	*items = n->data.sequence.items.start;
	*count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (*count > max)
		return perr(p, n, "%s: too many entries (maximum %zu)", what, max);
	return 0;
}

static yaml_node_t *node_at(struct schema_walk *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

/* Walk a mapping: checks that keys are scalars and unique, then calls
 * fn(p, key, value, arg) for each pair. */
typedef int (*pair_fn)(struct schema_walk *p, const char *key, yaml_node_t *k,
		       yaml_node_t *v, void *arg);

static int each_pair(struct schema_walk *p, yaml_node_t *map, const char *what,
		     pair_fn fn, void *arg)
{
	yaml_node_pair_t *start, *pr;
	int err;

	if (map->type != YAML_MAPPING_NODE)
		return perr(p, map, "%s: expected a mapping, got a %s", what, kind(map));
	start = map->data.mapping.pairs.start;
	for (pr = start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);

		if (k->type != YAML_SCALAR_NODE)
			return perr(p, k, "%s: keys must be scalars, not a %s",
				    what, kind(k));
		for (yaml_node_pair_t *o = start; o < pr; o++)
			if (!strcmp(sval(node_at(p, o->key)), sval(k)))
				return perr(p, k, "duplicate key '%s'", sval(k));
		err = fn(p, sval(k), k, v, arg);
		if (err)
			return err;
	}
	return 0;
}


/* The keys of one mapping of section sec, found by row. */
struct keyed {
	const struct schema_section *sec;
	const char *prefix;
	yaml_node_t *key[SCHEMA_KEYS_MAX], *val[SCHEMA_KEYS_MAX];
};

static int record_pair(struct schema_walk *p, const char *key, yaml_node_t *k,
		       yaml_node_t *v, void *arg)
{
	struct keyed *kd = arg;
	const struct schema_key *row = schema_find(kd->sec, key);
	char list[512];

	if (!row) {
		const char *exp = kd->sec->expected ? kd->sec->expected :
				  schema_keys_str(kd->sec, list, sizeof(list));

		return perr(p, k, "%sunknown %s '%s'%s%s%s", kd->prefix,
			    kd->sec->noun ? kd->sec->noun : "key", key,
			    *exp ? " (expected " : "", exp, *exp ? ")" : "");
	}
	kd->key[row - kd->sec->keys] = k;
	kd->val[row - kd->sec->keys] = v;
	return 0;
}

/* Read mapping n (called `what` in errors) into kd, nothing parsed yet. */
static int record_map(struct schema_walk *p, yaml_node_t *n, const char *what,
		      const struct schema_section *sec, const char *prefix,
		      struct keyed *kd)
{
	memset(kd, 0, sizeof(*kd));
	kd->sec = sec;
	kd->prefix = prefix;
	return each_pair(p, n, what, record_pair, kd);
}

static yaml_node_t *kd_val(const struct keyed *kd, const char *key)
{
	return kd->val[schema_key(kd->sec, key) - kd->sec->keys];
}

static int walk_map(struct schema_walk *p, yaml_node_t *n, const char *what,
		    const struct schema_section *sec, const char *prefix, void *obj);

/* One key's value v (key node k) into obj, by its row. */
static int walk_value(struct schema_walk *p, const struct schema_key *row,
		      const char *prefix, yaml_node_t *k, yaml_node_t *v, void *obj)
{
	char what[96], msg[512];
	const char *s;
	int err;

	if (row->type == SCHEMA_NODE && row->walk)
		return row->walk(p, k, v, obj);
	if (row->type == SCHEMA_NODE) {
		/* A nested mapping; the key without a value resets it. */
		memset((char *)obj + row->off, 0, row->size);
		schema_defaults(row->sub, (char *)obj + row->off);
		if (is_null(v))
			return 0;
		return walk_map(p, v, row->sub->name, row->sub, row->sub->prefix,
				(char *)obj + row->off);
	}
	snprintf(what, sizeof(what), "%s%s", prefix, row->key);
	err = get_str(p, v, what, &s);
	if (err)
		return err;
	if (schema_parse(row, prefix, s, obj, msg, sizeof(msg)))
		return perr(p, v, "%s", msg);
	return 0;
}

/* Parse what record_map found, in the order of the rows. */
static int walk_recorded(struct schema_walk *p, const struct keyed *kd, void *obj)
{
	for (size_t i = 0; i < kd->sec->n_keys; i++) {
		int err;

		if (!kd->val[i])
			continue;
		err = walk_value(p, &kd->sec->keys[i], kd->prefix, kd->key[i],
				 kd->val[i], obj);
		if (err)
			return err;
	}
	return 0;
}

static int walk_map(struct schema_walk *p, yaml_node_t *n, const char *what,
		    const struct schema_section *sec, const char *prefix, void *obj)
{
	struct keyed kd;

	return record_map(p, n, what, sec, prefix, &kd) ?: walk_recorded(p, &kd, obj);
}

/* Where each recorded key is: the value, or the key of a list or mapping
 * (an alias's value node carries the anchor's position). */
static void mark_keys(const struct keyed *kd, yaml_mark_t *at, bool *has)
{
	for (size_t i = 0; i < kd->sec->n_keys; i++) {
		if (!kd->val[i])
			continue;
		has[i] = true;
		at[i] = kd->sec->keys[i].type == SCHEMA_NODE ? kd->key[i]->start_mark :
			kd->val[i]->start_mark;
	}
}

static bool ifname_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int config_walk_interfaces(struct schema_walk *p, void *key, void *node, void *obj)
{
	struct xlb_config *c = obj;
	yaml_node_item_t *items;
	char what[48];
	const char *s;
	size_t n;
	int err;

	err = get_seq(p, node, "interfaces", &items, &n, 4096);
	if (err)
		return err;
	free(c->interfaces);
	c->n_interfaces = 0;
	c->interfaces = calloc(n ? n : 1, sizeof(*c->interfaces));
	if (!c->interfaces)
		return perr(p, (yaml_node_t *)node, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *in = node_at(p, items[i]);

		snprintf(what, sizeof(what), "interfaces[%zu]", i);
		err = get_str(p, in, what, &s);
		if (err)
			return err;
		if (strlen(s) >= XLB_IFNAME_MAX)
			return perr(p, in, "%s: '%s' is too long for an interface name "
				    "(maximum %d characters)", what, s, XLB_IFNAME_MAX - 1);
		if (!ifname_ok(s))
			return perr(p, in, "%s: '%s' is not a valid interface name", what, s);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->interfaces[j], s))
				return perr(p, in, "%s: duplicate interface '%s'", what, s);
		strcpy(c->interfaces[i], s);
		c->n_interfaces = i + 1;
	}
	return 0;
}

int config_walk_local_addresses(struct schema_walk *p, void *key, void *node, void *obj)
{
	struct xlb_config *c = obj;
	yaml_node_item_t *items;
	char what[48], aerr[256];
	const char *s;
	size_t n;
	int err;

	err = get_seq(p, node, "local_addresses", &items, &n, 65536);
	if (err)
		return err;
	free(c->local_addresses);
	c->n_local_addresses = 0;
	c->local_addresses = calloc(n ? n : 1, sizeof(*c->local_addresses));
	if (!c->local_addresses)
		return perr(p, (yaml_node_t *)node, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *in = node_at(p, items[i]);
		struct xlb_sockaddr *a = &c->local_addresses[i];

		snprintf(what, sizeof(what), "local_addresses[%zu]", i);
		err = get_str(p, in, what, &s);
		if (err)
			return err;
		if (addr_parse(s, ADDR_PORT_FORBIDDEN, a, aerr, sizeof(aerr)))
			return perr(p, in, "%s: %s", what, aerr);
		for (size_t j = 0; j < i; j++)
			if (addr_equal(&c->local_addresses[j], a))
				return perr(p, in, "%s: duplicate address '%s'", what, s);
		c->n_local_addresses = i + 1;
	}
	return 0;
}

/* A backend: a bare address, or a mapping of schema_backend. */
static int walk_backend(struct schema_walk *p, yaml_node_t *n, size_t idx,
			struct xlb_backend_cfg *b)
{
	const struct schema_key *addr = schema_key(&schema_backend, "address");
	char what[32], prefix[40];
	struct keyed kd;
	int err;

	schema_defaults(&schema_backend, b);
	snprintf(what, sizeof(what), "backends[%zu]", idx);
	snprintf(prefix, sizeof(prefix), "%s: ", what);
	if (n->type == YAML_SCALAR_NODE && !is_null(n))
		return walk_value(p, addr, prefix, NULL, n, b);
	err = record_map(p, n, what, &schema_backend, prefix, &kd) ?:
	      walk_recorded(p, &kd, b);
	if (err)
		return err;
	if (!kd_val(&kd, "address"))
		return perr(p, n, "%s: missing 'address'", what);
	return 0;
}

int config_walk_backends(struct schema_walk *p, void *key, void *node, void *obj)
{
	struct xlb_service_cfg *s = obj;
	yaml_node_item_t *items;
	yaml_node_t *v = node;
	size_t n;
	int err;

	err = get_seq(p, v, "backends", &items, &n, XLB_MAX_BACKENDS);
	if (err)
		return err;
	if (p->n_backends + n > XLB_MAX_BACKENDS)
		/* The key: an alias's node carries the anchor's position,
		 * not this service's. */
		return perr(p, (yaml_node_t *)key, "backends: too many backends in all "
			    "services (maximum %u)", XLB_MAX_BACKENDS);
	p->n_backends += n;
	free(s->backends);
	free(p->cur->backends);
	s->n_backends = 0;
	s->backends = calloc(n ? n : 1, sizeof(*s->backends));
	p->cur->backends = calloc(n ? n : 1, sizeof(*p->cur->backends));
	if (!s->backends || !p->cur->backends)
		return perr(p, v, "out of memory");
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *bn = node_at(p, items[i]);

		p->cur->backends[i] = bn->start_mark;
		err = walk_backend(p, bn, i, &s->backends[i]);
		if (err)
			return err;
		s->n_backends = i + 1;
	}
	return 0;
}

/* health_check: the type first (the defaults and the keys that apply
 * depend on it), then the rest, then what holds between keys. */
int config_walk_health(struct schema_walk *p, void *key, void *node, void *obj)
{
	const struct schema_key *type = schema_key(&schema_health, "type");
	struct xlb_health_cfg *hc = &((struct xlb_service_cfg *)obj)->hc, t;
	yaml_node_t *n = node, *tmo;
	struct keyed kd;
	char names[64];
	int err;

	if (is_null(n))
		return 0;
	err = record_map(p, n, "health_check", &schema_health, "health_check: ", &kd);
	if (err)
		return err;
	if (!kd_val(&kd, "type"))
		return perr(p, n, "health_check: missing 'type' (%s)",
			    schema_names_str(type->names, names, sizeof(names)));
	err = walk_value(p, type, kd.prefix, NULL, kd_val(&kd, "type"), &t);
	if (err)
		return err;
	config_health_defaults(hc, t.type);
	for (size_t i = 0; i < schema_health.n_keys; i++)
		if (kd.val[i] && schema_health.keys[i].only &&
		    !(schema_health.keys[i].only & (1u << t.type)))
			return perr(p, kd.val[i], "health_check: '%s' does not apply to "
				    "type %s", schema_health.keys[i].key, hc_type_name(t.type));
	err = walk_recorded(p, &kd, hc);
	if (err)
		return err;
	tmo = kd_val(&kd, "timeout");
	if (!tmo && hc->timeout_ms > hc->interval_ms)
		hc->timeout_ms = hc->interval_ms;
	if (hc->timeout_ms > hc->interval_ms)
		return perr(p, tmo, "health_check: timeout must not exceed the interval");
	if (hc->type == XLB_HC_DNS && !kd_val(&kd, "query"))
		return perr(p, n, "health_check: type dns needs 'query' (the name to "
			    "ask, e.g. example.org)");
	if (hc->type == XLB_HC_SCRIPT && !hc->command[0])
		return perr(p, n, "health_check: type script needs 'command' (run by "
			    "/bin/sh -c; exit 0 passes)");
	return 0;
}

/* A check of a service on every port has its own port (n: the health_check
 * value, NULL when not given). */
static int check_hc_port(struct schema_walk *p, yaml_node_t *n,
			 const struct xlb_service_cfg *s)
{
	if (n && s->hc.type != XLB_HC_NONE && !s->hc.port && !s->vip.port)
		return perr(p, n, "health_check: a service on every port (port \"*\") "
			    "needs the check's 'port'");
	return 0;
}

static int walk_service(struct schema_walk *p, yaml_node_t *n, size_t idx,
			struct xlb_service_cfg *s)
{
	struct svc_marks *m = &p->sm[idx];
	struct keyed kd;
	int err;

	m->start = n->start_mark;
	p->cur = m;
	schema_defaults(&schema_service, s);
	err = record_map(p, n, "services[]", &schema_service, "", &kd);
	if (err)
		return err;
	mark_keys(&kd, m->at, m->has);
	err = walk_recorded(p, &kd, s);
	if (err)
		return err;
	if (!kd_val(&kd, "vip"))
		return perr(p, n, "service is missing 'vip'");
	if (!kd_val(&kd, "port"))
		return perr(p, n, "service is missing 'port' (use port: \"*\" for "
			    "every port)");
	if (!kd_val(&kd, "protocol"))
		return perr(p, n, "service is missing 'protocol' (tcp or udp)");
	if (!kd_val(&kd, "mode"))
		return perr(p, n, "service is missing 'mode' (proxy, nat, fullnat, "
			    "dr or tun)");
	return check_hc_port(p, kd_val(&kd, "health_check"), s);
}

int config_walk_services(struct schema_walk *p, void *key, void *node, void *obj)
{
	struct xlb_config *c = obj;
	yaml_node_item_t *items;
	size_t n;
	int err;

	err = get_seq(p, node, "services", &items, &n, XLB_MAX_SERVICES);
	if (err)
		return err;
	c->services = calloc(n ? n : 1, sizeof(*c->services));
	p->sm = calloc(n ? n : 1, sizeof(*p->sm));
	if (!c->services || !p->sm)
		return perr(p, (yaml_node_t *)node, "out of memory");
	p->n_sm = n;
	for (size_t i = 0; i < n; i++) {
		/* Count it first so config_free releases its backends if it
		 * fails half-way. */
		c->n_services = i + 1;
		err = walk_service(p, node_at(p, items[i]), i, &c->services[i]);
		if (err)
			return err;
	}
	return 0;
}

static int yaml_error(struct schema_walk *p, const yaml_parser_t *ps)
{
	const char *problem = ps->problem ? ps->problem : "invalid YAML";

	if (ps->error == YAML_MEMORY_ERROR) {
		snprintf(p->err, p->errlen, "%s: out of memory", p->origin);
		return -ENOMEM;
	}
	if (ps->error == YAML_READER_ERROR) {
		snprintf(p->err, p->errlen, "%s: %s at byte %zu", p->origin, problem,
			 ps->problem_offset);
		return -EINVAL;
	}
	if (ps->context)
		return perr_at(p, ps->problem_mark, "%s (%s at %zu:%zu)", problem,
			       ps->context, ps->context_mark.line + 1,
			       ps->context_mark.column + 1);
	return perr_at(p, ps->problem_mark, "%s", problem);
}

/* Where a validation error is in the file. */
static yaml_mark_t vfail_mark(const struct schema_walk *p, const struct vfail *vf)
{
	yaml_mark_t m = { 0, 0, 0 };
	const struct svc_marks *sm;
	size_t k;

	if (vf->svc == VF_TOP) {
		k = vf->key ? (size_t)(schema_key(&schema_top, vf->key) - schema_top.keys) : 0;
		return vf->key && p->top_has[k] ? p->top_at[k] : m;
	}
	if (vf->svc >= p->n_sm)
		return m;
	sm = &p->sm[vf->svc];
	if (vf->be != VF_NONE && sm->backends)
		return sm->backends[vf->be];
	if (!vf->key)
		return sm->start;
	k = (size_t)(schema_key(&schema_service, vf->key) - schema_service.keys);
	return sm->has[k] ? sm->at[k] : sm->start;
}

/* The validation of the whole config, with the error placed at the line of
 * what it is about. */
static int validate_marked(struct schema_walk *p, const struct xlb_config *c)
{
	struct vfail vf = { VF_TOP, NULL, VF_NONE };
	char msg[512];
	int err;

	err = validate(c, &vf, msg, sizeof(msg));
	if (!err)
		return 0;
	if (err != -EINVAL) {
		snprintf(p->err, p->errlen, "%s: %s", p->origin, strerror(-err));
		return err;
	}
	return perr_at(p, vfail_mark(p, &vf), "%s", msg);
}

/* The document's root mapping into c, then the checks of the whole. */
static int walk_root(struct schema_walk *p, yaml_node_t *root, struct xlb_config *c)
{
	struct keyed kd;
	int err;

	if (root->type != YAML_MAPPING_NODE)
		return perr(p, root, "expected a mapping of settings at the top level, "
			    "got a %s", kind(root));
	err = record_map(p, root, "top level", &schema_top, "", &kd);
	if (err)
		return err;
	mark_keys(&kd, p->top_at, p->top_has);
	return walk_recorded(p, &kd, c) ?: validate_marked(p, c);
}

/* The one YAML document of text into doc (deleted by the caller when 0 is
 * returned); a second document is an error rather than ignored. */
static int load_document(struct schema_walk *p, const char *text, size_t len,
			 yaml_document_t *doc)
{
	yaml_document_t doc2;
	yaml_parser_t ps;
	yaml_node_t *root;
	int ret = 0;

	/* Before the load, whose cost a hostile text can make huge. */
	ret = config_check_limits(text, len, p->origin, p->err, p->errlen);
	if (ret)
		return ret;
	if (!yaml_parser_initialize(&ps)) {
		snprintf(p->err, p->errlen, "%s: out of memory", p->origin);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	if (!yaml_parser_load(&ps, doc)) {
		ret = yaml_error(p, &ps);
		goto out;
	}
	p->doc = doc;
	if (!yaml_parser_load(&ps, &doc2)) {
		ret = yaml_error(p, &ps);
	} else {
		root = yaml_document_get_root_node(&doc2);
		if (root)
			ret = perr(p, root, "only one YAML document is allowed");
		yaml_document_delete(&doc2);
	}
	if (ret)
		yaml_document_delete(doc);
out:
	yaml_parser_delete(&ps);
	return ret;
}

int config_parse_buf(const char *text, size_t len, const char *origin,
		     struct xlb_config *cfg, char *err, size_t errlen)
{
	char dummy[1];
	struct schema_walk p = { .origin = origin ? origin : "config",
			  .err = err && errlen ? err : dummy,
			  .errlen = err && errlen ? errlen : sizeof(dummy) };
	struct xlb_config c;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret;

	config_init(&c);
	p.err[0] = '\0';
	ret = load_document(&p, text, len, &doc);
	if (ret) {
		config_init(cfg);
		return ret;
	}
	root = yaml_document_get_root_node(&doc);
	/* An empty file: defaults, no services. */
	if (root && !is_null(root))
		ret = walk_root(&p, root, &c);
	for (size_t i = 0; p.sm && i < p.n_sm; i++)
		free(p.sm[i].backends);
	free(p.sm);
	yaml_document_delete(&doc);
	if (ret) {
		config_free(&c);
		config_init(cfg);
		return ret;
	}
	*cfg = c;
	return 0;
}

int config_parse_file(const char *path, struct xlb_config *cfg,
		      char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int ret;

	config_init(cfg);
	ret = file_read(path, CONFIG_FILE_MAX, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = config_parse_buf(buf, len, path, cfg, err, errlen);
	free(buf);
	return ret;
}

/* Load text as YAML into doc; the error (at no position) in p. */
static int load_value_doc(struct schema_walk *p, const char *text, yaml_document_t *doc)
{
	yaml_parser_t ps;
	int ret = 0;

	if (!yaml_parser_initialize(&ps)) {
		snprintf(p->err, p->errlen, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&ps, doc)) {
		snprintf(p->err, p->errlen, "%s", ps.problem ? ps.problem : "invalid YAML");
		ret = ps.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	}
	yaml_parser_delete(&ps);
	return ret;
}

int config_parse_value(const struct schema_section *sec, const char *key,
		       const char *text, void *obj, char *err, size_t errlen)
{
	const struct schema_key *k = schema_find(sec, key);
	struct schema_walk p = { .err = err, .errlen = errlen };
	bool wrap = k && k->type == SCHEMA_NODE && k->sub && text[0] != '{';
	yaml_document_t doc;
	yaml_node_t *root;
	char *yaml = NULL;
	struct keyed kd;
	int ret;

	if (!k) {
		snprintf(err, errlen, "unknown %s key '%s'", sec->name, key);
		return -EINVAL;
	}
	/* One line: another line could carry another key. */
	if (strpbrk(text, "\r\n")) {
		snprintf(err, errlen, "%s: the value must be on one line", key);
		return -EINVAL;
	}
	/* "type: http, path: /" is the mapping's inside, as a flag gives it. */
	if (asprintf(&yaml, "%s: %s%s%s\n", key, wrap ? "{ " : "", text,
		     wrap ? " }" : "") < 0)
		return -ENOMEM;
	ret = load_value_doc(&p, yaml, &doc);
	free(yaml);
	if (ret)
		goto prefix;
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	ret = root ? record_map(&p, root, sec->name, sec, sec->prefix, &kd) ?:
		     walk_recorded(&p, &kd, obj) : -EINVAL;
	if (!ret && sec == &schema_service)
		ret = check_hc_port(&p, kd_val(&kd, "health_check"), obj);
	yaml_document_delete(&doc);
prefix:
	/* Every message names the key. */
	if (ret && strncmp(err, key, strlen(key))) {
		char *m = strdup(err);

		snprintf(err, errlen, "%s: %s", key, m ? m : "invalid value");
		free(m);
	}
	return ret;
}
