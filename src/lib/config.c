// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The YAML config: parsing with libyaml into struct xlb_config, validation,
 * and the small helpers (copy, lookups, names) runtime changes use. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "config_limits.h"
#include "maglev.h"

#define MAGLEV_MAX_SIZE   1000003u
#define FLOW_MIN_SIZE     1024u
#define FLOW_MAX_SIZE     (1u << 28)
#define PERSISTENCE_MAX   86400u
#define WEIGHT_MAX        65535u
#define WEIGHT_DEFAULT    100u
#define PROXY_WORKERS_MAX 1024u
#define PROXY_RETRIES_MAX 16u
#define HC_INTERVAL_DEFAULT 2000u
#define HC_TIMEOUT_DEFAULT  1000u
#define HC_RISE_DEFAULT     2u
#define HC_FALL_DEFAULT     3u
#define HC_INTERVAL_MIN     100u
#define HC_INTERVAL_MAX     3600000u
#define HC_COUNT_MAX        100u
/* Config files are small; a bigger one is a mistake, not a config. */
#define CONFIG_FILE_MAX   (16u << 20)

static const char *const mode_names[] = {
	[XLB_MODE_NONE] = "none",
	[XLB_MODE_DR] = "dr",
	[XLB_MODE_TUN] = "tun",
	[XLB_MODE_NAT] = "nat",
	[XLB_MODE_FULLNAT] = "fullnat",
	[XLB_MODE_PROXY] = "proxy",
};

static const char *const sched_names[] = {
	[XLB_SCHED_MAGLEV] = "maglev",
	[XLB_SCHED_RR] = "rr",
	[XLB_SCHED_WRR] = "wrr",
	[XLB_SCHED_LC] = "lc",
	[XLB_SCHED_WLC] = "wlc",
	[XLB_SCHED_SH] = "sh",
	[XLB_SCHED_RANDOM2] = "random2",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *mode_name(uint8_t mode)
{
	return mode < ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

int mode_from_name(const char *s)
{
	/* "none" is internal, never a mode a user picks. */
	for (size_t i = 1; i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *sched_name(uint8_t sched)
{
	return sched < ARRAY_SIZE(sched_names) ? sched_names[sched] : "?";
}

int sched_from_name(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(sched_names); i++)
		if (strcmp(s, sched_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

int proto_from_name(const char *s)
{
	if (strcmp(s, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcmp(s, "udp") == 0)
		return IPPROTO_UDP;
	return -1;
}

static const char *const hc_type_names[] = {
	[XLB_HC_NONE] = "none",
	[XLB_HC_TCP] = "tcp",
	[XLB_HC_HTTP] = "http",
	[XLB_HC_DNS] = "dns",
	[XLB_HC_UDP] = "udp",
};

const char *hc_type_name(uint8_t type)
{
	return type < ARRAY_SIZE(hc_type_names) ? hc_type_names[type] : "?";
}

static int hc_type_from_name(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(hc_type_names); i++)
		if (strcmp(s, hc_type_names[i]) == 0)
			return (int)i;
	return -1;
}

void config_health_defaults(struct xlb_health_cfg *hc, uint8_t type)
{
	memset(hc, 0, sizeof(*hc));
	/* No check is the same as no health_check key at all. */
	if (type == XLB_HC_NONE)
		return;
	hc->type = type;
	hc->interval_ms = HC_INTERVAL_DEFAULT;
	hc->timeout_ms = HC_TIMEOUT_DEFAULT;
	hc->rise = HC_RISE_DEFAULT;
	hc->fall = HC_FALL_DEFAULT;
	hc->status_min = 200;
	hc->status_max = 399;
	hc->query_type = 1;
	hc->dns_proto = IPPROTO_UDP;
	strcpy(hc->path, "/");
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

	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (*q < '0' || *q > '9')
		return -EINVAL;
	for (; *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(q, units[i].unit))
			continue;
		if (v * units[i].ms > UINT32_MAX)
			return -EINVAL;
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
	cfg->manage_addresses = true;
	cfg->flow_table_size = XLB_FLOW_DEFAULT_SIZE;
	cfg->maglev_table_size = XLB_MAGLEV_DEFAULT_SIZE;
	cfg->detach_on_exit = true;
	strcpy(cfg->bpffs, XLB_BPFFS_DEFAULT);
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

/* Where a validation error is, so the parser can point at the line. */
enum vat { AT_NONE, AT_MAGLEV_SIZE, AT_FLOW_SIZE, AT_SERVICE, AT_MODE,
	   AT_SCHED, AT_BACKEND, AT_TIMEOUTS };

struct vfail {
	enum vat at;
	size_t svc, be;
};

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

static int vfail(struct vfail *vf, enum vat at, size_t svc, size_t be,
		 char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static int vfail(struct vfail *vf, enum vat at, size_t svc, size_t be,
		 char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	vf->at = at;
	vf->svc = svc;
	vf->be = be;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The settings of mode proxy: only there, and only where they make sense. */
static int validate_proxy(const struct xlb_service_cfg *s, const char *lbl,
			  size_t i, struct vfail *vf, char *err, size_t errlen)
{
	const char *key = NULL;

	if (s->mode != XLB_MODE_PROXY) {
		if (s->send_proxy)
			key = "send_proxy";
		else if (s->accept_proxy)
			key = "accept_proxy";
		else if (s->retries_set)
			key = "retries";
		else if (s->max_connections)
			key = "max_connections";
		else if (s->connect_timeout_ms)
			key = "connect_timeout";
		else if (s->client_timeout_ms)
			key = "client_timeout";
		else if (s->server_timeout_ms)
			key = "server_timeout";
		else if (s->drain_time_ms)
			key = "drain_time";
		if (key)
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: '%s' only applies to mode proxy",
				     lbl, key);
		return 0;
	}
	if (!s->vip.port)
		return vfail(vf, AT_SERVICE, i, 0, err, errlen,
			     "service %s: mode proxy needs a port (it listens on "
			     "VIP:port)", lbl);
	if (s->persistence)
		return vfail(vf, AT_SERVICE, i, 0, err, errlen,
			     "service %s: persistence is not supported in mode proxy "
			     "(use scheduler sh or maglev)", lbl);
	if (s->proto == IPPROTO_UDP && (s->send_proxy || s->accept_proxy))
		return vfail(vf, AT_SERVICE, i, 0, err, errlen,
			     "service %s: send_proxy and accept_proxy apply to tcp "
			     "services only", lbl);
	if (s->send_proxy > XLB_SEND_PROXY_V2)
		return vfail(vf, AT_SERVICE, i, 0, err, errlen,
			     "service %s: bad send_proxy", lbl);
	if (s->retries_set && s->retries > PROXY_RETRIES_MAX)
		return vfail(vf, AT_SERVICE, i, 0, err, errlen,
			     "service %s: retries %u out of range (0-%u)", lbl,
			     s->retries, PROXY_RETRIES_MAX);
	return 0;
}

/* The longest of the timeouts t (0 when none is set). */
static uint32_t timeouts_max(const struct xlb_timeouts *t)
{
	const uint32_t all[] = { t->tcp_syn, t->tcp_established, t->tcp_fin,
				 t->tcp_close, t->tcp_time_wait, t->udp };
	uint32_t m = 0;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (all[i] > m)
			m = all[i];
	return m;
}

/* A service's own timeouts: only the connection table of nat and fullnat
 * has them (dr/tun entries never expire by state, proxy has its own
 * client/server timeouts). */
static int validate_svc_timeouts(const struct xlb_service_cfg *s,
				 const char *lbl, size_t i, struct vfail *vf,
				 char *err, size_t errlen)
{
	uint32_t m = timeouts_max(&s->timeouts);

	if (!m)
		return 0;
	if (s->mode != XLB_MODE_NAT && s->mode != XLB_MODE_FULLNAT)
		return vfail(vf, AT_TIMEOUTS, i, 0, err, errlen,
			     "service %s: 'timeouts' only applies to modes nat and "
			     "fullnat (mode %s keeps no connection states)%s", lbl,
			     mode_name(s->mode), s->mode == XLB_MODE_PROXY ?
			     "; use client_timeout and server_timeout" : "");
	if (m > XLB_TIMEOUT_MAX_S)
		return vfail(vf, AT_TIMEOUTS, i, 0, err, errlen,
			     "service %s: timeouts: %u s is too long (maximum %u s)",
			     lbl, m, XLB_TIMEOUT_MAX_S);
	return 0;
}

/* How many of the n addresses are of family fam. */
static size_t count_family(const struct xlb_sockaddr *addrs, size_t n, uint8_t fam)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += addrs[i].family == fam;
	return c;
}

static int validate(const struct xlb_config *cfg, struct vfail *vf,
		    char *err, size_t errlen)
{
	char lbl[XLB_NAME_MAX + XLB_ADDRSTR_MAX], a[XLB_ADDRSTR_MAX];
	size_t total_backends = 0;
	int e = 0;

	if (cfg->flow_table_size < FLOW_MIN_SIZE || cfg->flow_table_size > FLOW_MAX_SIZE)
		return vfail(vf, AT_FLOW_SIZE, 0, 0, err, errlen,
			     "flow_table_size %u out of range (%u-%u)",
			     cfg->flow_table_size, FLOW_MIN_SIZE, FLOW_MAX_SIZE);
	if (cfg->maglev_table_size > MAGLEV_MAX_SIZE)
		return vfail(vf, AT_MAGLEV_SIZE, 0, 0, err, errlen,
			     "maglev_table_size %u is too large (maximum %u)",
			     cfg->maglev_table_size, MAGLEV_MAX_SIZE);
	if (!maglev_is_prime(cfg->maglev_table_size))
		return vfail(vf, AT_MAGLEV_SIZE, 0, 0, err, errlen,
			     "maglev_table_size %u is not a prime (the next prime is %u)",
			     cfg->maglev_table_size,
			     next_prime(cfg->maglev_table_size));
	if (cfg->proxy_workers > PROXY_WORKERS_MAX)
		return vfail(vf, AT_NONE, 0, 0, err, errlen,
			     "proxy_workers %u out of range (0-%u)",
			     cfg->proxy_workers, PROXY_WORKERS_MAX);
	/* The data plane's lips map holds XLB_MAX_LIPS of each family. */
	if (count_family(cfg->local_addresses, cfg->n_local_addresses,
			 XLB_AF_INET) > XLB_MAX_LIPS ||
	    count_family(cfg->local_addresses, cfg->n_local_addresses,
			 XLB_AF_INET6) > XLB_MAX_LIPS)
		return vfail(vf, AT_NONE, 0, 0, err, errlen,
			     "local_addresses: at most %u IPv4 and %u IPv6 "
			     "addresses", XLB_MAX_LIPS, XLB_MAX_LIPS);
	if (timeouts_max(&cfg->timeouts) > XLB_TIMEOUT_MAX_S)
		return vfail(vf, AT_NONE, 0, 0, err, errlen,
			     "timeouts: %u s is too long (maximum %u s)",
			     timeouts_max(&cfg->timeouts), XLB_TIMEOUT_MAX_S);
	if (cfg->n_services > XLB_MAX_SERVICES)
		return vfail(vf, AT_SERVICE, XLB_MAX_SERVICES, 0, err, errlen,
			     "too many services (maximum %u)", XLB_MAX_SERVICES);

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct xlb_service_cfg *s = &cfg->services[i];

		svc_label(s, lbl, sizeof(lbl));
		if (s->vip.family != XLB_AF_INET && s->vip.family != XLB_AF_INET6)
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: no VIP", lbl);
		if (addr_vip_problem(&s->vip))
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: the VIP is %s; a VIP is a unicast "
				     "address clients can reach", lbl,
				     addr_vip_problem(&s->vip));
		if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: protocol must be tcp or udp", lbl);
		for (size_t j = 0; j < i; j++) {
			const struct xlb_service_cfg *o = &cfg->services[j];

			if (o->proto == s->proto && addr_equal(&o->vip, &s->vip))
				return vfail(vf, AT_SERVICE, i, 0, err, errlen,
					     "duplicate service %s",
					     service_name_str(s->proto, &s->vip,
							      a, sizeof(a)));
			if (s->name[0] && strcmp(o->name, s->name) == 0)
				return vfail(vf, AT_SERVICE, i, 0, err, errlen,
					     "duplicate service name '%s'", s->name);
		}
		if (s->mode == XLB_MODE_NONE || s->mode >= ARRAY_SIZE(mode_names))
			return vfail(vf, AT_MODE, i, 0, err, errlen,
				     "service %s: no mode", lbl);
		/* fullnat sources its packets from the local_addresses of
		 * the VIP's family (it never translates across families). */
		if (s->mode == XLB_MODE_FULLNAT &&
		    !count_family(cfg->local_addresses, cfg->n_local_addresses,
				  s->vip.family))
			return vfail(vf, AT_MODE, i, 0, err, errlen,
				     "service %s: mode fullnat needs at least one "
				     "%s address in local_addresses", lbl,
				     s->vip.family == XLB_AF_INET ? "IPv4" : "IPv6");
		if (s->scheduler >= ARRAY_SIZE(sched_names))
			return vfail(vf, AT_SCHED, i, 0, err, errlen,
				     "service %s: unknown scheduler", lbl);
		/* lc/wlc count connections from their start to their end:
		 * only nat and fullnat see both (dr and tun see neither the
		 * replies nor a reliable end, so no count to go by). */
		if ((s->scheduler == XLB_SCHED_LC || s->scheduler == XLB_SCHED_WLC) &&
		    (s->mode == XLB_MODE_DR || s->mode == XLB_MODE_TUN))
			return vfail(vf, AT_SCHED, i, 0, err, errlen,
				     "service %s: scheduler '%s' needs connection "
				     "counts, which only modes nat, fullnat and proxy "
				     "keep (mode %s sees no replies); use maglev, sh, "
				     "rr or wrr", lbl, sched_name(s->scheduler),
				     mode_name(s->mode));
		/* The data plane scans an lc/wlc service's backends for
		 * every new flow: a bounded list. */
		if ((s->scheduler == XLB_SCHED_LC || s->scheduler == XLB_SCHED_WLC) &&
		    s->mode != XLB_MODE_PROXY && s->n_backends > XLB_LC_MAX_BACKENDS)
			return vfail(vf, AT_SCHED, i, 0, err, errlen,
				     "service %s: scheduler '%s' takes at most %u "
				     "backends in mode %s (%zu given)", lbl,
				     sched_name(s->scheduler), XLB_LC_MAX_BACKENDS,
				     mode_name(s->mode), s->n_backends);
		if (s->mode != XLB_MODE_PROXY && s->scheduler == XLB_SCHED_RANDOM2)
			return vfail(vf, AT_SCHED, i, 0, err, errlen,
				     "service %s: scheduler '%s' is not supported yet "
				     "for mode %s", lbl, sched_name(s->scheduler),
				     mode_name(s->mode));
		e = validate_proxy(s, lbl, i, vf, err, errlen);
		if (e)
			return e;
		e = validate_svc_timeouts(s, lbl, i, vf, err, errlen);
		if (e)
			return e;
		if (s->persistence > PERSISTENCE_MAX)
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: persistence %u out of range (0-%u)",
				     lbl, s->persistence, PERSISTENCE_MAX);
		if (s->n_backends >= cfg->maglev_table_size)
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: %zu backends need a maglev_table_size "
				     "larger than %u", lbl, s->n_backends,
				     cfg->maglev_table_size);
		total_backends += s->n_backends;
		if (total_backends > XLB_MAX_BACKENDS)
			return vfail(vf, AT_SERVICE, i, 0, err, errlen,
				     "service %s: too many backends in all (maximum %u)",
				     lbl, XLB_MAX_BACKENDS);

		for (size_t j = 0; j < s->n_backends; j++) {
			const struct xlb_backend_cfg *b = &s->backends[j];

			addr_str(&b->addr, a, sizeof(a));
			if (b->weight > WEIGHT_MAX)
				return vfail(vf, AT_BACKEND, i, j, err, errlen,
					     "service %s: backend %s: weight %u out of "
					     "range (0-%u)", lbl, a, b->weight, WEIGHT_MAX);
			/* dr only rewrites the MAC: the packet keeps its IP
			 * header, so the real server must speak the VIP's
			 * family; nat and fullnat rewrite addresses within
			 * one family. tun encapsulates and may cross them. */
			if ((s->mode == XLB_MODE_DR || s->mode == XLB_MODE_NAT ||
			     s->mode == XLB_MODE_FULLNAT) &&
			    b->addr.family != s->vip.family)
				return vfail(vf, AT_BACKEND, i, j, err, errlen,
					     "service %s: backend %s is %s but the VIP "
					     "is %s (mode %s cannot mix address families)",
					     lbl, a,
					     b->addr.family == XLB_AF_INET ? "IPv4" : "IPv6",
					     s->vip.family == XLB_AF_INET ? "IPv4" : "IPv6",
					     mode_name(s->mode));
			/* In the DSR modes the real server sees the packet as
			 * the client sent it, port included. */
			if ((s->mode == XLB_MODE_DR || s->mode == XLB_MODE_TUN) &&
			    b->addr.port && b->addr.port != s->vip.port)
				return vfail(vf, AT_BACKEND, i, j, err, errlen,
					     "service %s: backend %s: mode %s cannot "
					     "change the destination port", lbl, a,
					     mode_name(s->mode));
		}
		size_t dup = find_dup_backend(s, &e);
		if (e)
			return e;
		if (dup != SIZE_MAX)
			return vfail(vf, AT_BACKEND, i, dup, err, errlen,
				     "service %s: duplicate backend %s", lbl,
				     addr_str(&s->backends[dup].addr, a, sizeof(a)));
	}
	return 0;
}

int config_validate(const struct xlb_config *cfg, char *err, size_t errlen)
{
	struct vfail vf;

	return validate(cfg, &vf, err, errlen);
}

/* ---- parsing ------------------------------------------------------------- */

struct svc_marks {
	yaml_mark_t svc, mode, sched, timeouts;
	yaml_mark_t *backends;
};

struct pctx {
	const char *origin;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	yaml_mark_t maglev_size, flow_size;
	struct svc_marks *sm;           /* one per service */
	size_t n_sm;
	/* Backends parsed so far in all services: YAML aliases can repeat
	 * a big list cheaply, so the limit is enforced before allocating. */
	size_t n_backends;
};

static int perr_at(struct pctx *p, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr_at(struct pctx *p, yaml_mark_t m, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	n = snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->origin,
		     m.line + 1, m.column + 1);
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

static int get_str(struct pctx *p, yaml_node_t *n, const char *what, const char **out)
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

static int get_uint(struct pctx *p, yaml_node_t *n, const char *what,
		    uint64_t min, uint64_t max, uint32_t *out)
{
	const char *s, *q;
	uint64_t v = 0;
	int err;

	err = get_str(p, n, what, &s);
	if (err)
		return err;
	for (q = s; *q; q++) {
		if (*q < '0' || *q > '9')
			return perr(p, n, "%s: '%s' is not a number", what, s);
		v = v * 10 + (uint64_t)(*q - '0');
		if (v > UINT32_MAX)
			return perr(p, n, "%s %s out of range (%llu-%llu)", what, s,
				    (unsigned long long)min, (unsigned long long)max);
	}
	if (v < min || v > max)
		return perr(p, n, "%s %s out of range (%llu-%llu)", what, s,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint32_t)v;
	return 0;
}

static int get_bool(struct pctx *p, yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
					   "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No",
					  "NO", "off", "Off", "OFF" };
	const char *s;
	int err;

	err = get_str(p, n, what, &s);
	if (err)
		return err;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return perr(p, n, "%s: '%s' is not a boolean (expected true or false)", what, s);
}

static int get_duration(struct pctx *p, yaml_node_t *n, const char *what,
			uint32_t *ms)
{
	const char *s;
	int err;

	err = get_str(p, n, what, &s);
	if (err)
		return err;
	if (config_parse_duration(s, ms))
		return perr(p, n, "%s: '%s' is not a duration (e.g. 500ms, 3s, 5m, 1h)",
			    what, s);
	return 0;
}

/* A list; a key with no value is an empty list. */
static int get_seq(struct pctx *p, yaml_node_t *n, const char *what,
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

static yaml_node_t *node(struct pctx *p, int id)
{
	return yaml_document_get_node(p->doc, id);
}

/* Walk a mapping: checks that keys are scalars and unique, then calls
 * fn(p, key, value, arg) for each pair. */
typedef int (*pair_fn)(struct pctx *p, const char *key, yaml_node_t *k,
		       yaml_node_t *v, void *arg);

static int each_pair(struct pctx *p, yaml_node_t *map, const char *what,
		     pair_fn fn, void *arg)
{
	yaml_node_pair_t *start, *pr;
	int err;

	if (map->type != YAML_MAPPING_NODE)
		return perr(p, map, "%s: expected a mapping, got a %s", what, kind(map));
	start = map->data.mapping.pairs.start;
	for (pr = start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);

		if (k->type != YAML_SCALAR_NODE)
			return perr(p, k, "%s: keys must be scalars, not a %s",
				    what, kind(k));
		for (yaml_node_pair_t *o = start; o < pr; o++)
			if (!strcmp(sval(node(p, o->key)), sval(k)))
				return perr(p, k, "duplicate key '%s'", sval(k));
		err = fn(p, sval(k), k, v, arg);
		if (err)
			return err;
	}
	return 0;
}

struct be_ctx {
	struct xlb_backend_cfg *b;
	size_t idx;
	bool have_addr, have_port;
	yaml_node_t *addr_node;
	uint32_t port;
};

static int backend_pair(struct pctx *p, const char *key, yaml_node_t *k,
			yaml_node_t *v, void *arg)
{
	struct be_ctx *bc = arg;
	char what[48], aerr[256];
	const char *s;
	int err;

	if (!strcmp(key, "address")) {
		snprintf(what, sizeof(what), "backends[%zu]: address", bc->idx);
		err = get_str(p, v, what, &s);
		if (err)
			return err;
		if (addr_parse(s, ADDR_PORT_OPTIONAL, &bc->b->addr, aerr, sizeof(aerr)))
			return perr(p, v, "backends[%zu]: %s", bc->idx, aerr);
		bc->have_addr = true;
		bc->addr_node = v;
	} else if (!strcmp(key, "weight")) {
		snprintf(what, sizeof(what), "backends[%zu]: weight", bc->idx);
		return get_uint(p, v, what, 0, WEIGHT_MAX, &bc->b->weight);
	} else if (!strcmp(key, "port")) {
		snprintf(what, sizeof(what), "backends[%zu]: port", bc->idx);
		err = get_uint(p, v, what, 1, 65535, &bc->port);
		if (err)
			return err;
		bc->have_port = true;
	} else {
		return perr(p, k, "backends[%zu]: unknown key '%s' (expected address, "
			    "weight or port)", bc->idx, key);
	}
	return 0;
}

static int parse_backend(struct pctx *p, yaml_node_t *n, size_t idx,
			 struct xlb_backend_cfg *b)
{
	struct be_ctx bc = { .b = b, .idx = idx };
	char what[32], aerr[256];
	int err;

	b->weight = WEIGHT_DEFAULT;
	snprintf(what, sizeof(what), "backends[%zu]", idx);
	/* A bare address is a backend with the default weight. */
	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		if (addr_parse(sval(n), ADDR_PORT_OPTIONAL, &b->addr, aerr, sizeof(aerr)))
			return perr(p, n, "%s: %s", what, aerr);
		return 0;
	}
	err = each_pair(p, n, what, backend_pair, &bc);
	if (err)
		return err;
	if (!bc.have_addr)
		return perr(p, n, "%s: missing 'address'", what);
	if (bc.have_port) {
		if (b->addr.port)
			return perr(p, bc.addr_node, "%s: port given both in the "
				    "address and as 'port'", what);
		b->addr.port = (uint16_t)bc.port;
	}
	return 0;
}

/* health_check: { type: ..., interval: ..., ... }. Keys are checked
 * against the type once the whole mapping is read (type may come last). */
enum hc_key { HK_TYPE, HK_INTERVAL, HK_TIMEOUT, HK_RISE, HK_FALL, HK_PORT,
	      HK_PATH, HK_STATUS, HK_HOST, HK_QUERY, HK_QTYPE, HK_DNS_PROTO,
	      HK_PAYLOAD, HK_EXPECT, HK_MAX };

static const char *const hc_keys[HK_MAX] = {
	"type", "interval", "timeout", "rise", "fall", "port", "path",
	"expect_status", "host", "query", "query_type", "dns_proto", "payload",
	"expect",
};

/* Which check types each key applies to (bit per enum xlb_hc_type). */
#define HCB(t) (1u << (t))
#define HC_ANY (HCB(XLB_HC_TCP) | HCB(XLB_HC_HTTP) | HCB(XLB_HC_DNS) | HCB(XLB_HC_UDP))
static const unsigned hc_key_types[HK_MAX] = {
	[HK_TYPE] = HC_ANY | HCB(XLB_HC_NONE),
	[HK_INTERVAL] = HC_ANY, [HK_TIMEOUT] = HC_ANY, [HK_RISE] = HC_ANY,
	[HK_FALL] = HC_ANY, [HK_PORT] = HC_ANY,
	[HK_PATH] = HCB(XLB_HC_HTTP), [HK_STATUS] = HCB(XLB_HC_HTTP),
	[HK_HOST] = HCB(XLB_HC_HTTP),
	[HK_QUERY] = HCB(XLB_HC_DNS), [HK_QTYPE] = HCB(XLB_HC_DNS),
	[HK_DNS_PROTO] = HCB(XLB_HC_DNS),
	[HK_PAYLOAD] = HCB(XLB_HC_UDP), [HK_EXPECT] = HCB(XLB_HC_UDP),
};

struct hc_ctx {
	yaml_node_t *at[HK_MAX];        /* value node of each key given */
};

static int health_pair(struct pctx *p, const char *key, yaml_node_t *k,
		       yaml_node_t *v, void *arg)
{
	struct hc_ctx *hx = arg;

	for (int i = 0; i < HK_MAX; i++)
		if (!strcmp(key, hc_keys[i])) {
			hx->at[i] = v;
			return 0;
		}
	return perr(p, k, "health_check: unknown key '%s' (expected type, interval, "
		    "timeout, rise, fall, port, path, expect_status, host, query, "
		    "query_type, dns_proto, payload or expect)", key);
}

static int get_hc_str(struct pctx *p, yaml_node_t *n, const char *what,
		      char *out, size_t len)
{
	const char *s;
	int err;

	err = get_str(p, n, what, &s);
	if (err)
		return err;
	if (strlen(s) >= len)
		return perr(p, n, "%s: too long (maximum %zu characters)", what, len - 1);
	strcpy(out, s);
	return 0;
}

/* "200", "200-399". */
static int get_status_range(struct pctx *p, yaml_node_t *n, uint16_t *lo, uint16_t *hi)
{
	const char *s;
	unsigned a, b;
	int err, used = 0;

	err = get_str(p, n, "health_check: expect_status", &s);
	if (err)
		return err;
	if (sscanf(s, "%3u-%3u%n", &a, &b, &used) == 2 && !s[used]) {
		/* range */
	} else if (sscanf(s, "%3u%n", &a, &used) == 1 && !s[used]) {
		b = a;
	} else {
		return perr(p, n, "health_check: expect_status: '%s' (expected a "
			    "status like 200 or a range like 200-399)", s);
	}
	if (a < 100 || b > 599 || a > b)
		return perr(p, n, "health_check: expect_status: '%s' out of range "
			    "(100-599, low-high)", s);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* A DNS name as a query: labels of 1-63 bytes, 253 bytes in all. */
static bool dns_name_ok(const char *s)
{
	size_t len = strlen(s), lab = 0;

	if (!strcmp(s, "."))
		return true;
	if (!len || len > 254 || (len == 254 && s[253] != '.') || s[0] == '.')
		return false;
	for (const char *c = s; *c; c++) {
		if (*c == '.') {
			if (!lab)
				return false;
			lab = 0;
		} else if (++lab > 63 || *c <= ' ' || *c == 0x7f) {
			return false;
		}
	}
	return true;
}

static int parse_health(struct pctx *p, yaml_node_t *n, struct xlb_health_cfg *hc)
{
	struct hc_ctx hx = { { 0 } };
	const char *s;
	uint32_t v;
	int err, t;

	err = each_pair(p, n, "health_check", health_pair, &hx);
	if (err)
		return err;
	if (!hx.at[HK_TYPE])
		return perr(p, n, "health_check: missing 'type' (tcp, http, dns, udp "
			    "or none)");
	err = get_str(p, hx.at[HK_TYPE], "health_check: type", &s);
	if (err)
		return err;
	t = hc_type_from_name(s);
	if (t < 0)
		return perr(p, hx.at[HK_TYPE], "health_check: unknown type '%s' "
			    "(expected tcp, http, dns, udp or none)", s);
	config_health_defaults(hc, (uint8_t)t);
	for (int i = 0; i < HK_MAX; i++)
		if (hx.at[i] && !(hc_key_types[i] & HCB(t)))
			return perr(p, hx.at[i], "health_check: '%s' does not apply "
				    "to type %s", hc_keys[i], hc_type_name(t));
	if (hx.at[HK_INTERVAL]) {
		err = get_duration(p, hx.at[HK_INTERVAL], "health_check: interval",
				   &hc->interval_ms);
		if (err)
			return err;
		if (hc->interval_ms < HC_INTERVAL_MIN || hc->interval_ms > HC_INTERVAL_MAX)
			return perr(p, hx.at[HK_INTERVAL], "health_check: interval out "
				    "of range (100ms-1h)");
	}
	if (hx.at[HK_TIMEOUT]) {
		err = get_duration(p, hx.at[HK_TIMEOUT], "health_check: timeout",
				   &hc->timeout_ms);
		if (err)
			return err;
		if (!hc->timeout_ms)
			return perr(p, hx.at[HK_TIMEOUT], "health_check: timeout must "
				    "not be 0");
	} else if (hc->timeout_ms > hc->interval_ms) {
		hc->timeout_ms = hc->interval_ms;
	}
	if (hc->timeout_ms > hc->interval_ms)
		return perr(p, hx.at[HK_TIMEOUT], "health_check: timeout must not "
			    "exceed the interval");
	if (hx.at[HK_RISE] && (err = get_uint(p, hx.at[HK_RISE], "health_check: rise",
					      1, HC_COUNT_MAX, &hc->rise)))
		return err;
	if (hx.at[HK_FALL] && (err = get_uint(p, hx.at[HK_FALL], "health_check: fall",
					      1, HC_COUNT_MAX, &hc->fall)))
		return err;
	if (hx.at[HK_PORT]) {
		err = get_uint(p, hx.at[HK_PORT], "health_check: port", 1, 65535, &v);
		if (err)
			return err;
		hc->port = (uint16_t)v;
	}
	if (hx.at[HK_PATH]) {
		err = get_hc_str(p, hx.at[HK_PATH], "health_check: path", hc->path,
				 sizeof(hc->path));
		if (err)
			return err;
		if (hc->path[0] != '/')
			return perr(p, hx.at[HK_PATH], "health_check: path must start "
				    "with '/'");
		for (const char *c = hc->path; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return perr(p, hx.at[HK_PATH], "health_check: path: "
					    "spaces and control characters must be "
					    "%%-encoded");
	}
	if (hx.at[HK_STATUS] && (err = get_status_range(p, hx.at[HK_STATUS],
							&hc->status_min,
							&hc->status_max)))
		return err;
	if (hx.at[HK_HOST]) {
		err = get_hc_str(p, hx.at[HK_HOST], "health_check: host", hc->host,
				 sizeof(hc->host));
		if (err)
			return err;
		for (const char *c = hc->host; *c; c++)
			if (*c <= ' ' || *c == 0x7f)
				return perr(p, hx.at[HK_HOST], "health_check: host: "
					    "spaces and control characters are not "
					    "allowed");
	}
	if (t == XLB_HC_DNS) {
		if (!hx.at[HK_QUERY])
			return perr(p, n, "health_check: type dns needs 'query' (the "
				    "name to ask, e.g. example.org)");
		err = get_hc_str(p, hx.at[HK_QUERY], "health_check: query", hc->query,
				 sizeof(hc->query));
		if (err)
			return err;
		if (!dns_name_ok(hc->query))
			return perr(p, hx.at[HK_QUERY], "health_check: query: '%s' is "
				    "not a valid DNS name", hc->query);
	}
	if (hx.at[HK_QTYPE]) {
		err = get_str(p, hx.at[HK_QTYPE], "health_check: query_type", &s);
		if (err)
			return err;
		t = dns_type_from_name(s);
		if (t < 0)
			return perr(p, hx.at[HK_QTYPE], "health_check: query_type: "
				    "unknown type '%s' (e.g. A, AAAA, SOA, TYPE65)", s);
		hc->query_type = (uint16_t)t;
	}
	if (hx.at[HK_DNS_PROTO]) {
		err = get_str(p, hx.at[HK_DNS_PROTO], "health_check: dns_proto", &s);
		if (err)
			return err;
		t = proto_from_name(s);
		if (t < 0)
			return perr(p, hx.at[HK_DNS_PROTO], "health_check: dns_proto: "
				    "'%s' (expected udp or tcp)", s);
		hc->dns_proto = (uint8_t)t;
	}
	if (hx.at[HK_PAYLOAD] && (err = get_hc_str(p, hx.at[HK_PAYLOAD],
						   "health_check: payload",
						   hc->payload, sizeof(hc->payload))))
		return err;
	if (hx.at[HK_EXPECT] && (err = get_hc_str(p, hx.at[HK_EXPECT],
						  "health_check: expect",
						  hc->expect, sizeof(hc->expect))))
		return err;
	return 0;
}

static int timeouts_pair(struct pctx *p, const char *key, yaml_node_t *k,
			 yaml_node_t *v, void *arg);

struct svc_ctx {
	struct xlb_service_cfg *s;
	struct svc_marks *m;
	yaml_node_t *vip, *port, *proto, *mode, *hc;
};

static int service_pair(struct pctx *p, const char *key, yaml_node_t *k,
			yaml_node_t *v, void *arg)
{
	struct svc_ctx *sc = arg;
	struct xlb_service_cfg *s = sc->s;
	yaml_node_item_t *items;
	size_t n;
	const char *str;
	int err, x;

	if (!strcmp(key, "name")) {
		err = get_str(p, v, "name", &str);
		if (err)
			return err;
		if (strlen(str) >= sizeof(s->name))
			return perr(p, v, "name: '%s' is too long (maximum %zu characters)",
				    str, sizeof(s->name) - 1);
		strcpy(s->name, str);
	} else if (!strcmp(key, "vip")) {
		char aerr[256];

		err = get_str(p, v, "vip", &str);
		if (err)
			return err;
		if (addr_parse(str, ADDR_PORT_FORBIDDEN, &s->vip, aerr, sizeof(aerr)))
			return perr(p, v, "vip: %s%s", aerr,
				    strstr(aerr, "port") ? " (use the 'port' key)" : "");
		sc->vip = v;
	} else if (!strcmp(key, "port")) {
		uint32_t port;

		if (v->type == YAML_SCALAR_NODE && !strcmp(sval(v), "*")) {
			port = 0;
		} else {
			err = get_uint(p, v, "port", 0, 65535, &port);
			if (err)
				return err;
		}
		s->vip.port = (uint16_t)port;
		sc->port = v;
	} else if (!strcmp(key, "protocol")) {
		err = get_str(p, v, "protocol", &str);
		if (err)
			return err;
		x = proto_from_name(str);
		if (x < 0)
			return perr(p, v, "unknown protocol '%s' (expected tcp or udp)", str);
		s->proto = (uint8_t)x;
		sc->proto = v;
	} else if (!strcmp(key, "mode")) {
		err = get_str(p, v, "mode", &str);
		if (err)
			return err;
		x = mode_from_name(str);
		if (x < 0)
			return perr(p, v, "unknown mode '%s' (expected proxy, nat, "
				    "fullnat, dr or tun)", str);
		s->mode = (uint8_t)x;
		sc->mode = v;
		sc->m->mode = v->start_mark;
	} else if (!strcmp(key, "scheduler")) {
		err = get_str(p, v, "scheduler", &str);
		if (err)
			return err;
		x = sched_from_name(str);
		if (x < 0)
			return perr(p, v, "unknown scheduler '%s' (expected maglev, rr, "
				    "wrr, lc, wlc, sh or random2)", str);
		s->scheduler = (uint8_t)x;
		sc->m->sched = v->start_mark;
	} else if (!strcmp(key, "persistence")) {
		return get_uint(p, v, "persistence", 0, PERSISTENCE_MAX, &s->persistence);
	} else if (!strcmp(key, "send_proxy")) {
		err = get_str(p, v, "send_proxy", &str);
		if (err)
			return err;
		if (!strcmp(str, "v1"))
			s->send_proxy = XLB_SEND_PROXY_V1;
		else if (!strcmp(str, "v2"))
			s->send_proxy = XLB_SEND_PROXY_V2;
		else if (!strcmp(str, "off") || !strcmp(str, "false"))
			s->send_proxy = XLB_SEND_PROXY_OFF;
		else
			return perr(p, v, "send_proxy: '%s' (expected v1, v2 or off)", str);
	} else if (!strcmp(key, "accept_proxy")) {
		return get_bool(p, v, "accept_proxy", &s->accept_proxy);
	} else if (!strcmp(key, "retries")) {
		s->retries_set = true;
		return get_uint(p, v, "retries", 0, PROXY_RETRIES_MAX, &s->retries);
	} else if (!strcmp(key, "max_connections")) {
		return get_uint(p, v, "max_connections", 0, UINT32_MAX,
				&s->max_connections);
	} else if (!strcmp(key, "connect_timeout")) {
		return get_duration(p, v, "connect_timeout", &s->connect_timeout_ms);
	} else if (!strcmp(key, "client_timeout")) {
		return get_duration(p, v, "client_timeout", &s->client_timeout_ms);
	} else if (!strcmp(key, "server_timeout")) {
		return get_duration(p, v, "server_timeout", &s->server_timeout_ms);
	} else if (!strcmp(key, "drain_time")) {
		return get_duration(p, v, "drain_time", &s->drain_time_ms);
	} else if (!strcmp(key, "health_check")) {
		if (is_null(v))
			return 0;
		sc->hc = v;
		return parse_health(p, v, &s->hc);
	} else if (!strcmp(key, "on_backend_down")) {
		err = get_str(p, v, "on_backend_down", &str);
		if (err)
			return err;
		if (!strcmp(str, "keep"))
			s->on_backend_down = XLB_ON_DOWN_KEEP;
		else if (!strcmp(str, "reset"))
			s->on_backend_down = XLB_ON_DOWN_RESET;
		else
			return perr(p, v, "on_backend_down: '%s' (expected keep or reset)",
				    str);
	} else if (!strcmp(key, "all_down")) {
		err = get_str(p, v, "all_down", &str);
		if (err)
			return err;
		if (!strcmp(str, "drop"))
			s->all_down = XLB_ALL_DOWN_DROP;
		else if (!strcmp(str, "keep_last"))
			s->all_down = XLB_ALL_DOWN_KEEP_LAST;
		else
			return perr(p, v, "all_down: '%s' (expected drop or keep_last)",
				    str);
	} else if (!strcmp(key, "backends")) {
		err = get_seq(p, v, "backends", &items, &n, XLB_MAX_BACKENDS);
		if (err)
			return err;
		if (p->n_backends + n > XLB_MAX_BACKENDS)
			/* k, not v: an alias's node carries the anchor's
			 * position, not this service's. */
			return perr(p, k, "backends: too many backends in all services "
				    "(maximum %u)", XLB_MAX_BACKENDS);
		p->n_backends += n;
		free(s->backends);
		free(sc->m->backends);
		s->n_backends = 0;
		s->backends = calloc(n ? n : 1, sizeof(*s->backends));
		sc->m->backends = calloc(n ? n : 1, sizeof(*sc->m->backends));
		if (!s->backends || !sc->m->backends)
			return perr(p, v, "out of memory");
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *bn = node(p, items[i]);

			sc->m->backends[i] = bn->start_mark;
			err = parse_backend(p, bn, i, &s->backends[i]);
			if (err)
				return err;
			s->n_backends = i + 1;
		}
	} else if (!strcmp(key, "timeouts")) {
		/* Key by key over the top level's (validate() refuses them
		 * outside nat/fullnat, at this mark). */
		memset(&s->timeouts, 0, sizeof(s->timeouts));
		sc->m->timeouts = k->start_mark;
		if (is_null(v))
			return 0;
		return each_pair(p, v, "timeouts", timeouts_pair, &s->timeouts);
	} else {
		return perr(p, k, "unknown service key '%s'", key);
	}
	return 0;
}

static int parse_service(struct pctx *p, yaml_node_t *n, size_t idx,
			 struct xlb_service_cfg *s)
{
	struct svc_ctx sc = { .s = s, .m = &p->sm[idx] };
	int err;

	sc.m->svc = sc.m->mode = sc.m->sched = sc.m->timeouts = n->start_mark;
	err = each_pair(p, n, "services[]", service_pair, &sc);
	if (err)
		return err;
	if (!sc.vip)
		return perr(p, n, "service is missing 'vip'");
	if (!sc.port)
		return perr(p, n, "service is missing 'port' (use port: \"*\" for "
			    "every port)");
	if (!sc.proto)
		return perr(p, n, "service is missing 'protocol' (tcp or udp)");
	if (!sc.mode)
		return perr(p, n, "service is missing 'mode' (proxy, nat, fullnat, "
			    "dr or tun)");
	if (sc.hc && s->hc.type != XLB_HC_NONE && !s->hc.port && !s->vip.port)
		return perr(p, sc.hc, "health_check: a service on every port (port "
			    "\"*\") needs the check's 'port'");
	return 0;
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

static bool instance_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int parse_tunnel_source(struct pctx *p, yaml_node_t *v, const char *key,
			       uint8_t family, struct xlb_prefix *out)
{
	char perrbuf[256];
	const char *s;
	int err;

	err = get_str(p, v, key, &s);
	if (err)
		return err;
	if (prefix_parse(s, out, perrbuf, sizeof(perrbuf)))
		return perr(p, v, "%s: %s", key, perrbuf);
	if (out->family != family)
		return perr(p, v, "%s: '%s' is not an %s prefix", key, s,
			    family == XLB_AF_INET ? "IPv4" : "IPv6");
	/* The low bits carry flow entropy; IPv6 keeps at least a /64. */
	if (family == XLB_AF_INET6 && out->plen < 64)
		return perr(p, v, "%s: prefix length %u out of range (64-128)",
			    key, out->plen);
	return 0;
}

/* A timeout: a plain integer is seconds (as IPVS's ipvsadm --set takes
 * them), otherwise a duration ("900s", "15m") of whole seconds. */
static int get_timeout_s(struct pctx *p, yaml_node_t *n, const char *what,
			 uint32_t *out)
{
	const char *s, *q;
	uint32_t ms;
	int err;

	err = get_str(p, n, what, &s);
	if (err)
		return err;
	for (q = s; *q >= '0' && *q <= '9'; q++)
		;
	if (!*q)
		return get_uint(p, n, what, 1, XLB_TIMEOUT_MAX_S, out);
	if (config_parse_duration(s, &ms))
		return perr(p, n, "%s: '%s' is not a duration (e.g. 900, 900s, 15m)",
			    what, s);
	if (ms < 1000 || ms % 1000)
		return perr(p, n, "%s: '%s' is not a whole number of seconds "
			    "(at least 1s)", what, s);
	*out = ms / 1000;
	return 0;
}

static int timeouts_pair(struct pctx *p, const char *key, yaml_node_t *k,
			 yaml_node_t *v, void *arg)
{
	static const struct { const char *key; size_t off; } keys[] = {
		{ "tcp_syn", offsetof(struct xlb_timeouts, tcp_syn) },
		{ "tcp_established", offsetof(struct xlb_timeouts, tcp_established) },
		{ "tcp_fin", offsetof(struct xlb_timeouts, tcp_fin) },
		{ "tcp_close", offsetof(struct xlb_timeouts, tcp_close) },
		{ "tcp_time_wait", offsetof(struct xlb_timeouts, tcp_time_wait) },
		{ "udp", offsetof(struct xlb_timeouts, udp) },
	};
	char what[48];

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(key, keys[i].key))
			continue;
		snprintf(what, sizeof(what), "timeouts: %s", key);
		return get_timeout_s(p, v, what,
				     (uint32_t *)((char *)arg + keys[i].off));
	}
	return perr(p, k, "timeouts: unknown key '%s' (expected tcp_syn, "
		    "tcp_established, tcp_fin, tcp_close, tcp_time_wait, udp)", key);
}

static int metrics_pair(struct pctx *p, const char *key, yaml_node_t *k,
			yaml_node_t *v, void *arg)
{
	struct xlb_sockaddr *a = arg;
	const char *s;
	char aerr[256];
	int err;

	if (strcmp(key, "listen"))
		return perr(p, k, "metrics: unknown key '%s' (expected listen)", key);
	err = get_str(p, v, "metrics: listen", &s);
	if (err)
		return err;
	if (addr_parse(s, ADDR_PORT_REQUIRED, a, aerr, sizeof(aerr)))
		return perr(p, v, "metrics: listen: %s (e.g. 127.0.0.1:9100 or "
			    "[::1]:9100)", aerr);
	return 0;
}

static int top_pair(struct pctx *p, const char *key, yaml_node_t *k,
		    yaml_node_t *v, void *arg)
{
	struct xlb_config *c = arg;
	yaml_node_item_t *items;
	size_t n;
	const char *s;
	char what[48];
	int err;

	if (!strcmp(key, "instance")) {
		err = get_str(p, v, "instance", &s);
		if (err)
			return err;
		if (strlen(s) >= sizeof(c->instance))
			return perr(p, v, "instance: '%s' is too long (maximum %zu "
				    "characters)", s, sizeof(c->instance) - 1);
		/* It names a directory under /sys/fs/bpf/xlb. */
		if (!instance_ok(s))
			return perr(p, v, "instance: '%s' may only contain letters, "
				    "digits, '-', '_' and '.'", s);
		strcpy(c->instance, s);
	} else if (!strcmp(key, "interfaces")) {
		err = get_seq(p, v, "interfaces", &items, &n, 4096);
		if (err)
			return err;
		free(c->interfaces);
		c->n_interfaces = 0;
		c->interfaces = calloc(n ? n : 1, sizeof(*c->interfaces));
		if (!c->interfaces)
			return perr(p, v, "out of memory");
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *in = node(p, items[i]);

			snprintf(what, sizeof(what), "interfaces[%zu]", i);
			err = get_str(p, in, what, &s);
			if (err)
				return err;
			if (strlen(s) >= XLB_IFNAME_MAX)
				return perr(p, in, "%s: '%s' is too long for an "
					    "interface name (maximum %d characters)",
					    what, s, XLB_IFNAME_MAX - 1);
			if (!ifname_ok(s))
				return perr(p, in, "%s: '%s' is not a valid interface "
					    "name", what, s);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c->interfaces[j], s))
					return perr(p, in, "%s: duplicate interface '%s'",
						    what, s);
			strcpy(c->interfaces[i], s);
			c->n_interfaces = i + 1;
		}
	} else if (!strcmp(key, "local_addresses")) {
		err = get_seq(p, v, "local_addresses", &items, &n, 65536);
		if (err)
			return err;
		free(c->local_addresses);
		c->n_local_addresses = 0;
		c->local_addresses = calloc(n ? n : 1, sizeof(*c->local_addresses));
		if (!c->local_addresses)
			return perr(p, v, "out of memory");
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *in = node(p, items[i]);
			struct xlb_sockaddr *a = &c->local_addresses[i];
			char aerr[256];

			snprintf(what, sizeof(what), "local_addresses[%zu]", i);
			err = get_str(p, in, what, &s);
			if (err)
				return err;
			if (addr_parse(s, ADDR_PORT_FORBIDDEN, a, aerr, sizeof(aerr)))
				return perr(p, in, "%s: %s", what, aerr);
			for (size_t j = 0; j < i; j++)
				if (addr_equal(&c->local_addresses[j], a))
					return perr(p, in, "%s: duplicate address '%s'",
						    what, s);
			c->n_local_addresses = i + 1;
		}
	} else if (!strcmp(key, "manage_addresses")) {
		return get_bool(p, v, "manage_addresses", &c->manage_addresses);
	} else if (!strcmp(key, "flow_table_size")) {
		p->flow_size = v->start_mark;
		return get_uint(p, v, "flow_table_size", FLOW_MIN_SIZE, FLOW_MAX_SIZE,
				&c->flow_table_size);
	} else if (!strcmp(key, "maglev_table_size")) {
		p->maglev_size = v->start_mark;
		return get_uint(p, v, "maglev_table_size", 2, MAGLEV_MAX_SIZE,
				&c->maglev_table_size);
	} else if (!strcmp(key, "proxy_workers")) {
		return get_uint(p, v, "proxy_workers", 0, PROXY_WORKERS_MAX,
				&c->proxy_workers);
	} else if (!strcmp(key, "timeouts")) {
		memset(&c->timeouts, 0, sizeof(c->timeouts));
		if (is_null(v))
			return 0;
		return each_pair(p, v, "timeouts", timeouts_pair, &c->timeouts);
	} else if (!strcmp(key, "metrics")) {
		memset(&c->metrics_listen, 0, sizeof(c->metrics_listen));
		if (is_null(v))
			return 0;
		return each_pair(p, v, "metrics", metrics_pair, &c->metrics_listen);
	} else if (!strcmp(key, "detach_on_exit")) {
		return get_bool(p, v, "detach_on_exit", &c->detach_on_exit);
	} else if (!strcmp(key, "bpffs")) {
		err = get_str(p, v, "bpffs", &s);
		if (err)
			return err;
		if (s[0] != '/' || strlen(s) >= sizeof(c->bpffs) - 32 || strstr(s, "'"))
			return perr(p, v, "bpffs: '%s' must be an absolute path of at "
				    "most %zu characters without quotes", s,
				    sizeof(c->bpffs) - 33);
		strcpy(c->bpffs, s);
	} else if (!strcmp(key, "tunnel_source_v4")) {
		return parse_tunnel_source(p, v, key, XLB_AF_INET, &c->tunnel_source_v4);
	} else if (!strcmp(key, "tunnel_source_v6")) {
		return parse_tunnel_source(p, v, key, XLB_AF_INET6, &c->tunnel_source_v6);
	} else if (!strcmp(key, "services")) {
		err = get_seq(p, v, "services", &items, &n, XLB_MAX_SERVICES);
		if (err)
			return err;
		c->services = calloc(n ? n : 1, sizeof(*c->services));
		p->sm = calloc(n ? n : 1, sizeof(*p->sm));
		if (!c->services || !p->sm)
			return perr(p, v, "out of memory");
		p->n_sm = n;
		for (size_t i = 0; i < n; i++) {
			/* Count it first so config_free releases its backends
			 * if it fails half-way. */
			c->n_services = i + 1;
			err = parse_service(p, node(p, items[i]), i, &c->services[i]);
			if (err)
				return err;
		}
	} else {
		return perr(p, k, "unknown key '%s'", key);
	}
	return 0;
}

static int yaml_error(struct pctx *p, const yaml_parser_t *ps)
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

/* The validation of the whole config, with the error placed at the line of
 * what it is about. */
static int validate_marked(struct pctx *p, const struct xlb_config *c)
{
	struct vfail vf = { AT_NONE, 0, 0 };
	char msg[512];
	yaml_mark_t m = { 0, 0, 0 };
	int err;

	err = validate(c, &vf, msg, sizeof(msg));
	if (!err)
		return 0;
	if (err != -EINVAL) {
		snprintf(p->err, p->errlen, "%s: %s", p->origin, strerror(-err));
		return err;
	}
	switch (vf.at) {
	case AT_MAGLEV_SIZE:
		m = p->maglev_size;
		break;
	case AT_FLOW_SIZE:
		m = p->flow_size;
		break;
	case AT_SERVICE:
	case AT_MODE:
	case AT_SCHED:
	case AT_BACKEND:
	case AT_TIMEOUTS:
		if (vf.svc >= p->n_sm)
			break;
		m = vf.at == AT_MODE ? p->sm[vf.svc].mode :
		    vf.at == AT_SCHED ? p->sm[vf.svc].sched :
		    vf.at == AT_TIMEOUTS ? p->sm[vf.svc].timeouts : p->sm[vf.svc].svc;
		if (vf.at == AT_BACKEND && p->sm[vf.svc].backends)
			m = p->sm[vf.svc].backends[vf.be];
		break;
	case AT_NONE:
		break;
	}
	return perr_at(p, m, "%s", msg);
}

int config_parse_buf(const char *text, size_t len, const char *origin,
		     struct xlb_config *cfg, char *err, size_t errlen)
{
	char dummy[1];
	struct pctx p = { .origin = origin ? origin : "config",
			  .err = err && errlen ? err : dummy,
			  .errlen = err && errlen ? errlen : sizeof(dummy) };
	struct xlb_config c;
	yaml_parser_t ps;
	yaml_document_t doc, doc2;
	bool have_doc = false, have_doc2 = false;
	yaml_node_t *root;
	int ret = 0;

	config_init(&c);
	p.err[0] = '\0';
	if (!yaml_parser_initialize(&ps)) {
		snprintf(p.err, p.errlen, "%s: out of memory", p.origin);
		config_init(cfg);
		return -ENOMEM;
	}
	/* Before the load, whose cost a hostile file can make huge. */
	ret = config_check_limits(text, len, p.origin, p.err, p.errlen);
	if (ret)
		goto out;
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	if (!yaml_parser_load(&ps, &doc)) {
		ret = yaml_error(&p, &ps);
		goto out;
	}
	have_doc = true;
	p.doc = &doc;
	/* A second document would be silently ignored otherwise. */
	if (!yaml_parser_load(&ps, &doc2)) {
		ret = yaml_error(&p, &ps);
		goto out;
	}
	have_doc2 = true;
	root = yaml_document_get_root_node(&doc2);
	if (root) {
		ret = perr(&p, root, "only one YAML document is allowed");
		goto out;
	}

	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root))
		goto out;       /* an empty file: defaults, no services */
	if (root->type != YAML_MAPPING_NODE) {
		ret = perr(&p, root, "expected a mapping of settings at the top "
			   "level, got a %s", kind(root));
		goto out;
	}
	ret = each_pair(&p, root, "top level", top_pair, &c);
	if (!ret)
		ret = validate_marked(&p, &c);
out:
	if (p.sm)
		for (size_t i = 0; i < p.n_sm; i++)
			free(p.sm[i].backends);
	free(p.sm);
	if (have_doc2)
		yaml_document_delete(&doc2);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&ps);
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
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, ret;

	config_init(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CONFIG_FILE_MAX) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes",
			 path, CONFIG_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
			goto out;
		}
		if (r == 0)
			break;  /* shrank while we read: parse what is there */
		got += (size_t)r;
	}
	buf[got] = '\0';
	ret = config_parse_buf(buf, got, path, cfg, err, errlen);
out:
	free(buf);
	close(fd);
	return ret;
}
