// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The config schema: every key of xlb.yaml as one row (type, field, range,
 * default, names), and the scalar parsing and printing every reader of the
 * rows shares (file, control API, CLI flags, importers).
 *
 * Adding a key: one row in its section's table below, e.g.
 *   { .key = "foo", .type = SCHEMA_UINT, FIELD(struct xlb_service_cfg, foo),
 *     .max = 10, .def = 1, .flags = SK_API },
 * one field in config.h, one line in docs/config.md and xlb.yaml(5). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "schema.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(x) (1u << (x))

/* ---- names --------------------------------------------------------------- */

/* In the order messages list them. */
static const struct schema_name mode_names[] = {
	{ .name = "proxy", .value = XLB_MODE_PROXY }, { .name = "nat", .value = XLB_MODE_NAT },
	{ .name = "fullnat", .value = XLB_MODE_FULLNAT }, { .name = "dr", .value = XLB_MODE_DR }, { .name = "tun", .value = XLB_MODE_TUN },
	{ .name = NULL },
};

static const struct schema_name sched_names[] = {
	{ .name = "maglev", .value = XLB_SCHED_MAGLEV }, { .name = "rr", .value = XLB_SCHED_RR }, { .name = "wrr", .value = XLB_SCHED_WRR },
	{ .name = "lc", .value = XLB_SCHED_LC }, { .name = "wlc", .value = XLB_SCHED_WLC }, { .name = "sh", .value = XLB_SCHED_SH },
	{ .name = "random2", .value = XLB_SCHED_RANDOM2 }, { .name = NULL },
};

static const struct schema_name proto_names[] = {
	{ .name = "tcp", .value = IPPROTO_TCP }, { .name = "udp", .value = IPPROTO_UDP }, { .name = NULL },
};

static const struct schema_name send_proxy_names[] = {
	{ .name = "v1", .value = XLB_SEND_PROXY_V1 }, { .name = "v2", .value = XLB_SEND_PROXY_V2 },
	{ .name = "off", .value = XLB_SEND_PROXY_OFF }, { .name = "false", .value = XLB_SEND_PROXY_OFF, .alias = true }, { .name = NULL },
};

static const struct schema_name on_down_names[] = {
	{ .name = "keep", .value = XLB_ON_DOWN_KEEP }, { .name = "reset", .value = XLB_ON_DOWN_RESET }, { .name = NULL },
};

static const struct schema_name all_down_names[] = {
	{ .name = "drop", .value = XLB_ALL_DOWN_DROP }, { .name = "keep_last", .value = XLB_ALL_DOWN_KEEP_LAST }, { .name = NULL },
};

static const struct schema_name admin_state_names[] = {
	{ .name = "up", .value = XLB_ADMIN_UP }, { .name = "drain", .value = XLB_ADMIN_DRAIN },
	{ .name = "maint", .value = XLB_ADMIN_MAINT }, { .name = NULL },
};

static const struct schema_name hc_type_names[] = {
	{ .name = "tcp", .value = XLB_HC_TCP }, { .name = "http", .value = XLB_HC_HTTP }, { .name = "dns", .value = XLB_HC_DNS },
	{ .name = "udp", .value = XLB_HC_UDP }, { .name = "https", .value = XLB_HC_HTTPS },
	{ .name = "script", .value = XLB_HC_SCRIPT },
	{ .name = "none", .value = XLB_HC_NONE }, { .name = NULL },
};

static const struct schema_name dns_proto_names[] = {
	{ .name = "udp", .value = IPPROTO_UDP }, { .name = "tcp", .value = IPPROTO_TCP }, { .name = NULL },
};

const char *schema_name_of(const struct schema_name *names, uint8_t value)
{
	for (; names->name; names++)
		if (names->value == value && !names->alias)
			return names->name;
	return NULL;
}

int schema_value_of(const struct schema_name *names, const char *name)
{
	for (; names->name; names++)
		if (!strcmp(names->name, name))
			return names->value;
	return -1;
}

char *schema_names_str(const struct schema_name *names, char *buf, size_t len)
{
	size_t n = 0, total = 0, used = 0;

	for (const struct schema_name *p = names; p->name; p++)
		total += !p->alias;
	buf[0] = '\0';
	for (; names->name; names++) {
		if (names->alias)
			continue;
		n++;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 n == 1 ? "" : n == total ? " or " : ", ",
					 names->name);
		if (used >= len)
			break;
	}
	return buf;
}

/* The name of value, "?" for a value without one (in messages). */
static const char *name_or_what(const struct schema_name *names, uint8_t value)
{
	const char *s = schema_name_of(names, value);

	return s ? s : "?";
}

const char *mode_name(uint8_t mode)
{
	return mode == XLB_MODE_NONE ? "none" : name_or_what(mode_names, mode);
}

const char *sched_name(uint8_t sched)
{
	return name_or_what(sched_names, sched);
}

const char *proto_name(uint8_t proto)
{
	return name_or_what(proto_names, proto);
}

const char *admin_state_name(uint8_t state)
{
	return name_or_what(admin_state_names, state);
}

const char *hc_type_name(uint8_t type)
{
	return name_or_what(hc_type_names, type);
}

/* ---- string checks and scalar hooks -------------------------------------- */

#define MSG(...) (snprintf(msg, len, __VA_ARGS__), -EINVAL)

static int check_instance(const char *what, const char *s, char *msg, size_t len)
{
	bool ok = strcmp(s, ".") && strcmp(s, "..");

	/* It names a directory under /sys/fs/bpf/xlb. */
	for (const char *c = s; ok && *c; c++)
		ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		     (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
	if (!ok)
		return MSG("%s: '%s' may only contain letters, digits, '-', '_' and '.'",
			   what, s);
	return 0;
}

static int check_bpffs(const char *what, const char *s, char *msg, size_t len)
{
	/* Room for "/xlb/INSTANCE/..." after it; quotes would break the
	 * paths printed into shell snippets. */
	if (s[0] != '/' || strlen(s) >= XLB_PATH_MAX - 32 || strchr(s, '\''))
		return MSG("%s: '%s' must be an absolute path of at most %d characters "
			   "without quotes", what, s, XLB_PATH_MAX - 33);
	return 0;
}

/* announce: paths xlbd writes or connects to, and that BIRD reads (a quote
 * or newline would break the include). */
static int check_announce_path(const char *what, const char *s, char *msg, size_t len)
{
	if (s[0] != '/' || strlen(s) >= XLB_PATH_MAX - 16 || strpbrk(s, "\"'\n"))
		return MSG("%s: '%s' must be an absolute path of at most %d characters "
			   "without quotes", what, s, XLB_PATH_MAX - 17);
	return 0;
}

static bool has_ctl_or_space(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

static int check_path(const char *what, const char *s, char *msg, size_t len)
{
	if (s[0] != '/')
		return MSG("%s must start with '/'", what);
	if (has_ctl_or_space(s))
		return MSG("%s: spaces and control characters must be %%-encoded", what);
	return 0;
}

static int check_host(const char *what, const char *s, char *msg, size_t len)
{
	if (has_ctl_or_space(s))
		return MSG("%s: spaces and control characters are not allowed", what);
	return 0;
}

/* A DNS name as a query: labels of 1-63 bytes, 253 bytes in all. */
static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s), lab = 0;

	if (!strcmp(s, "."))
		return true;
	if (!n || n > 254 || (n == 254 && s[253] != '.') || s[0] == '.')
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

static int check_query(const char *what, const char *s, char *msg, size_t len)
{
	if (!dns_name_ok(s))
		return MSG("%s: '%s' is not a valid DNS name", what, s);
	return 0;
}

static int parse_vip(const struct schema_key *k, const char *prefix, const char *s,
		     void *obj, char *msg, size_t len)
{
	struct xlb_service_cfg *svc = obj;
	struct xlb_sockaddr a;
	char e[256];

	if (addr_parse(s, ADDR_PORT_FORBIDDEN, &a, e, sizeof(e)))
		return MSG("%s%s: %s%s", prefix, k->key, e,
			   strstr(e, "port") ? " (use the 'port' key)" : "");
	a.port = svc->vip.port;
	svc->vip = a;
	return 0;
}

static const char *format_vip(const void *obj, char *buf, size_t len)
{
	return addr_str_noport(&((const struct xlb_service_cfg *)obj)->vip, buf, len);
}

/* The service port: 0-65535, "*" (or 0) for every port. */
static int parse_port(const struct schema_key *k, const char *prefix, const char *s,
		      void *obj, char *msg, size_t len)
{
	struct xlb_service_cfg *svc = obj;
	const struct schema_key num = { .key = k->key, .type = SCHEMA_UINT,
					FIELD(struct xlb_service_cfg, vip.port),
					.max = 65535 };

	if (!strcmp(s, "*")) {
		svc->vip.port = 0;
		return 0;
	}
	return schema_parse(&num, prefix, s, obj, msg, len);
}

static const char *format_port(const void *obj, char *buf, size_t len)
{
	uint16_t port = ((const struct xlb_service_cfg *)obj)->vip.port;

	if (port)
		snprintf(buf, len, "%u", port);
	else
		snprintf(buf, len, "*");
	return buf;
}

/* persistence_netmask: a prefix length or an IPv4 netmask, kept as the
 * prefix length (0: unset, the whole address). */
static int parse_pmask(const struct schema_key *k, const char *prefix, const char *s,
		       void *obj, char *msg, size_t len)
{
	struct xlb_service_cfg *svc = obj;
	char e[160];

	if (netmask_parse(s, &svc->persistence_plen, e, sizeof(e)))
		return MSG("%s%s: %s", prefix, k->key, e);
	return 0;
}

static const char *format_pmask(const void *obj, char *buf, size_t len)
{
	snprintf(buf, len, "%u", ((const struct xlb_service_cfg *)obj)->persistence_plen);
	return buf;
}

/* A backend's address; its port may come from the 'port' key instead. */
static int parse_backend_addr(const struct schema_key *k, const char *prefix,
			      const char *s, void *obj, char *msg, size_t len)
{
	struct xlb_backend_cfg *b = obj;
	struct xlb_sockaddr a;
	char e[256];

	(void)k;
	if (addr_parse(s, ADDR_PORT_OPTIONAL, &a, e, sizeof(e)))
		return MSG("%s%s", prefix, e);
	if (a.port && b->addr.port)
		return MSG("%sport given both in the address and as 'port'", prefix);
	if (!a.port)
		a.port = b->addr.port;
	b->addr = a;
	return 0;
}

static const char *format_backend_addr(const void *obj, char *buf, size_t len)
{
	return addr_str(&((const struct xlb_backend_cfg *)obj)->addr, buf, len);
}

static int parse_tunnel_source(const struct schema_key *k, const char *prefix,
			       const char *s, uint8_t family, struct xlb_prefix *out,
			       char *msg, size_t len)
{
	char e[256];

	if (prefix_parse(s, out, e, sizeof(e)))
		return MSG("%s%s: %s", prefix, k->key, e);
	if (out->family != family)
		return MSG("%s%s: '%s' is not an %s prefix", prefix, k->key, s,
			   family == XLB_AF_INET ? "IPv4" : "IPv6");
	/* The low bits carry flow entropy; IPv6 keeps at least a /64. */
	if (family == XLB_AF_INET6 && out->plen < 64)
		return MSG("%s%s: prefix length %u out of range (64-128)", prefix,
			   k->key, out->plen);
	return 0;
}

static int parse_tunnel_v4(const struct schema_key *k, const char *prefix,
			   const char *s, void *obj, char *msg, size_t len)
{
	return parse_tunnel_source(k, prefix, s, XLB_AF_INET,
				   &((struct xlb_config *)obj)->tunnel_source_v4, msg, len);
}

static int parse_tunnel_v6(const struct schema_key *k, const char *prefix,
			   const char *s, void *obj, char *msg, size_t len)
{
	return parse_tunnel_source(k, prefix, s, XLB_AF_INET6,
				   &((struct xlb_config *)obj)->tunnel_source_v6, msg, len);
}

static const char *format_tunnel(const struct xlb_prefix *p, char *buf, size_t len)
{
	return p->family ? prefix_str(p, buf, len) : NULL;
}

static const char *format_tunnel_v4(const void *obj, char *buf, size_t len)
{
	return format_tunnel(&((const struct xlb_config *)obj)->tunnel_source_v4, buf, len);
}

static const char *format_tunnel_v6(const void *obj, char *buf, size_t len)
{
	return format_tunnel(&((const struct xlb_config *)obj)->tunnel_source_v6, buf, len);
}

static int parse_listen(const struct schema_key *k, const char *prefix, const char *s,
			void *obj, char *msg, size_t len)
{
	char e[256];

	if (addr_parse(s, ADDR_PORT_REQUIRED, obj, e, sizeof(e)))
		return MSG("%s%s: %s (e.g. 127.0.0.1:9100 or [::1]:9100)", prefix,
			   k->key, e);
	return 0;
}

static const char *format_listen(const void *obj, char *buf, size_t len)
{
	const struct xlb_sockaddr *a = obj;

	return a->family ? addr_str(a, buf, len) : NULL;
}

/* "200", "200-399". */
/* expect_status: statuses and ranges, comma-separated ("200,204,300-399"). */
static int parse_status(const struct schema_key *k, const char *prefix, const char *s,
			void *obj, char *msg, size_t len)
{
	struct xlb_health_cfg *hc = obj;
	const char *p = s;
	unsigned int a, b;
	uint8_t n = 0;
	int used;

	do {
		used = 0;
		if (sscanf(p, "%3u-%3u%n", &a, &b, &used) == 2) {
			/* a range */
		} else if (sscanf(p, "%3u%n", &a, &used) == 1) {
			b = a;
		} else {
			used = -1;
		}
		if (used < 0 || (p[used] && p[used] != ','))
			return MSG("%s%s: '%s' (expected statuses like 200 or ranges "
				   "like 200-399, comma-separated)", prefix, k->key, s);
		if (a < 100 || b > 599 || a > b)
			return MSG("%s%s: '%s' out of range (100-599, low-high)",
				   prefix, k->key, s);
		if (n == XLB_HC_STATUS_MAX)
			return MSG("%s%s: '%s' has more than %d statuses or ranges",
				   prefix, k->key, s, XLB_HC_STATUS_MAX);
		hc->status[n][0] = (uint16_t)a;
		hc->status[n++][1] = (uint16_t)b;
		p += used + (p[used] == ',');
	} while (p[-1] == ',');
	hc->n_status = n;
	return 0;
}

static const char *format_status(const void *obj, char *buf, size_t len)
{
	const struct xlb_health_cfg *hc = obj;
	size_t off = 0;

	buf[0] = '\0';
	for (uint8_t i = 0; i < hc->n_status && off < len; i++) {
		if (hc->status[i][0] == hc->status[i][1])
			off += snprintf(buf + off, len - off, "%s%u", i ? "," : "",
					hc->status[i][0]);
		else
			off += snprintf(buf + off, len - off, "%s%u-%u", i ? "," : "",
					hc->status[i][0], hc->status[i][1]);
	}
	return buf;
}

static int parse_query_type(const struct schema_key *k, const char *prefix,
			    const char *s, void *obj, char *msg, size_t len)
{
	int t = dns_type_from_name(s);

	if (t < 0)
		return MSG("%s%s: unknown type '%s' (e.g. A, AAAA, SOA, TYPE65)", prefix,
			   k->key, s);
	((struct xlb_health_cfg *)obj)->query_type = (uint16_t)t;
	return 0;
}

static const char *format_query_type(const void *obj, char *buf, size_t len)
{
	return dns_type_str(((const struct xlb_health_cfg *)obj)->query_type, buf, len);
}

/* ---- the tables ---------------------------------------------------------- */

#define MODE(m) BIT(XLB_MODE_##m)
#define HC_ANY  (BIT(XLB_HC_TCP) | BIT(XLB_HC_HTTP) | BIT(XLB_HC_DNS) | BIT(XLB_HC_UDP) | \
		 BIT(XLB_HC_HTTPS) | BIT(XLB_HC_SCRIPT))
#define HC(t)   BIT(XLB_HC_##t)
#define HC_WEB  (HC(HTTP) | HC(HTTPS))

#define TIMEOUT(k) { .key = #k, .type = SCHEMA_SECONDS, \
		     FIELD(struct xlb_timeouts, k), .min = 1, .max = XLB_TIMEOUT_MAX_S }

static const struct schema_key timeouts_keys[] = {
	TIMEOUT(tcp_syn), TIMEOUT(tcp_established), TIMEOUT(tcp_fin),
	TIMEOUT(tcp_close), TIMEOUT(tcp_time_wait), TIMEOUT(udp),
};

const struct schema_section schema_timeouts = {
	.name = "timeouts", .prefix = "timeouts: ", .comma_list = true, .only_off = -1,
	.keys = timeouts_keys, .n_keys = ARRAY_SIZE(timeouts_keys),
};

static const struct schema_key metrics_keys[] = {
	{ .key = "listen", .type = SCHEMA_SCALAR, .off = 0,
	  .size = sizeof(struct xlb_sockaddr), .parse = parse_listen,
	  .format = format_listen },
};

const struct schema_section schema_metrics = {
	.name = "metrics", .prefix = "metrics: ", .only_off = -1,
	.keys = metrics_keys, .n_keys = ARRAY_SIZE(metrics_keys),
};

#define ANN(k) FIELD(struct xlb_announce_cfg, k)

static const struct schema_key announce_keys[] = {
	{ .key = "bird_socket", .type = SCHEMA_STRING, ANN(bird_socket),
	  .check = check_announce_path, .flags = SK_REQUIRED },
	{ .key = "file", .type = SCHEMA_STRING, ANN(file),
	  .check = check_announce_path, .flags = SK_REQUIRED },
	{ .key = "hold", .type = SCHEMA_MS, ANN(hold_ms), .max = 3600000,
	  .def = XLB_ANNOUNCE_HOLD_DEFAULT_MS },
};

const struct schema_section schema_announce = {
	.name = "announce", .prefix = "announce: ", .only_off = -1,
	.keys = announce_keys, .n_keys = ARRAY_SIZE(announce_keys),
};

#define HC_STR(k, t, chk, fl) { .key = #k, .type = SCHEMA_STRING, \
	FIELD(struct xlb_health_cfg, k), .only = (t), .check = (chk), .flags = (fl) }

static const struct schema_key health_keys[] = {
	{ .key = "type", .type = SCHEMA_ENUM, FIELD(struct xlb_health_cfg, type),
	  .names = hc_type_names, .flags = SK_ALWAYS | SK_UNKNOWN | SK_REQUIRED },
	{ .key = "interval", .type = SCHEMA_MS, FIELD(struct xlb_health_cfg, interval_ms),
	  .min = 100, .max = 3600000, .def = 2000, .only = HC_ANY, .flags = SK_ALWAYS },
	/* At most the interval (config.c), which is also its default. */
	{ .key = "timeout", .type = SCHEMA_MS, FIELD(struct xlb_health_cfg, timeout_ms),
	  .min = 1, .max = UINT32_MAX, .def = 1000, .only = HC_ANY, .flags = SK_ALWAYS },
	{ .key = "rise", .type = SCHEMA_UINT, FIELD(struct xlb_health_cfg, rise),
	  .min = 1, .max = 100, .def = 2, .only = HC_ANY, .flags = SK_ALWAYS },
	{ .key = "fall", .type = SCHEMA_UINT, FIELD(struct xlb_health_cfg, fall),
	  .min = 1, .max = 100, .def = 3, .only = HC_ANY, .flags = SK_ALWAYS },
	{ .key = "port", .type = SCHEMA_UINT, FIELD(struct xlb_health_cfg, port),
	  .min = 1, .max = 65535, .only = HC_ANY },
	{ .key = "path", .type = SCHEMA_STRING, FIELD(struct xlb_health_cfg, path),
	  .def_str = "/", .only = HC_WEB, .check = check_path, .flags = SK_ALWAYS },
	{ .key = "expect_status", .type = SCHEMA_SCALAR, .def_str = "200-399",
	  .only = HC_WEB, .parse = parse_status, .format = format_status,
	  .flags = SK_ALWAYS | SK_QUOTE },
	HC_STR(host, HC_WEB, check_host, 0),
	HC_STR(expect_body, HC_WEB, NULL, 0),
	/* Required by type dns (config.c). */
	HC_STR(query, HC(DNS), check_query, SK_ALWAYS),
	{ .key = "query_type", .type = SCHEMA_SCALAR, .def_str = "A", .only = HC(DNS),
	  .parse = parse_query_type, .format = format_query_type, .flags = SK_ALWAYS },
	{ .key = "dns_proto", .type = SCHEMA_ENUM, FIELD(struct xlb_health_cfg, dns_proto),
	  .names = dns_proto_names, .def = IPPROTO_UDP, .only = HC(DNS) },
	HC_STR(payload, HC(UDP), NULL, 0),
	HC_STR(expect, HC(UDP), NULL, 0),
	/* Required by type script (config.c). */
	HC_STR(command, HC(SCRIPT), NULL, SK_ALWAYS),
};

const struct schema_section schema_health = {
	.name = "health_check", .prefix = "health_check: ",
	.only_off = offsetof(struct xlb_health_cfg, type),
	.keys = health_keys, .n_keys = ARRAY_SIZE(health_keys),
};

static const struct schema_key backend_keys[] = {
	/* Before address, which refuses a port given twice. */
	{ .key = "port", .type = SCHEMA_UINT, FIELD(struct xlb_backend_cfg, addr.port),
	  .min = 1, .max = 65535, .flags = SK_NO_EMIT },
	{ .key = "address", .type = SCHEMA_SCALAR, FIELD(struct xlb_backend_cfg, addr),
	  .parse = parse_backend_addr, .format = format_backend_addr,
	  .flags = SK_ALWAYS | SK_REQUIRED },
	{ .key = "weight", .type = SCHEMA_UINT, FIELD(struct xlb_backend_cfg, weight),
	  .max = 65535, .def = 100, .flags = SK_ALWAYS | SK_API },
	/* The operator's state (`xlb backend set --state`); printed when not up. */
	{ .key = "state", .type = SCHEMA_ENUM, FIELD(struct xlb_backend_cfg, state),
	  .names = admin_state_names, .def = XLB_ADMIN_UP, .flags = SK_API },
	/* HAProxy's backup server, keepalived's sorry_server. */
	{ .key = "backup", .type = SCHEMA_BOOL, FIELD(struct xlb_backend_cfg, backup),
	  .flags = SK_API },
};

const struct schema_section schema_backend = {
	.name = "backends[]", .prefix = "backends[]: ",
	.expected = "address, weight, port, state or backup", .only_off = -1,
	.keys = backend_keys, .n_keys = ARRAY_SIZE(backend_keys),
};

#define SVC(k) FIELD(struct xlb_service_cfg, k)
#define PROXY_MS(k) { .key = #k, .type = SCHEMA_MS, SVC(k##_ms), .max = UINT32_MAX, \
		      .only = MODE(PROXY), .flags = SK_API }

static const struct schema_key service_keys[] = {
	{ .key = "name", .type = SCHEMA_STRING, SVC(name), .flags = SK_API },
	{ .key = "vip", .type = SCHEMA_SCALAR, SVC(vip), .parse = parse_vip,
	  .format = format_vip, .flags = SK_ALWAYS | SK_REQUIRED },
	{ .key = "port", .type = SCHEMA_SCALAR, SVC(vip.port), .parse = parse_port,
	  .format = format_port, .flags = SK_ALWAYS | SK_REQUIRED },
	{ .key = "protocol", .type = SCHEMA_ENUM, SVC(proto), .names = proto_names,
	  .flags = SK_ALWAYS | SK_UNKNOWN | SK_REQUIRED },
	{ .key = "mode", .type = SCHEMA_ENUM, SVC(mode), .names = mode_names,
	  .flags = SK_ALWAYS | SK_UNKNOWN | SK_API | SK_REQUIRED },
	{ .key = "scheduler", .type = SCHEMA_ENUM, SVC(scheduler), .names = sched_names,
	  .flags = SK_ALWAYS | SK_UNKNOWN | SK_API },
	{ .key = "persistence", .type = SCHEMA_UINT, SVC(persistence),
	  .max = XLB_PERSIST_MAX_S, .flags = SK_API },
	/* Needs persistence, /32 at most for IPv4 (config.c). */
	{ .key = "persistence_netmask", .type = SCHEMA_SCALAR, SVC(persistence_plen),
	  .parse = parse_pmask, .format = format_pmask, .flags = SK_API },
	{ .key = "timeouts", .type = SCHEMA_NODE, SVC(timeouts), .sub = &schema_timeouts,
	  .only = MODE(NAT) | MODE(FULLNAT), .flags = SK_API },
	/* Summed against flow_table_size; in dr/tun only under lc/wlc
	 * (config.c). */
	{ .key = "max_flows", .type = SCHEMA_UINT, SVC(max_flows), .max = UINT32_MAX,
	  .only = MODE(NAT) | MODE(FULLNAT) | MODE(DR) | MODE(TUN) },
	{ .key = "send_proxy", .type = SCHEMA_ENUM, SVC(send_proxy),
	  .names = send_proxy_names, .only = MODE(PROXY), .flags = SK_API },
	{ .key = "accept_proxy", .type = SCHEMA_BOOL, SVC(accept_proxy),
	  .only = MODE(PROXY), .flags = SK_API },
	{ .key = "retries", .type = SCHEMA_UINT, SVC(retries), .max = 16,
	  .only = MODE(PROXY), .flags = SK_SET | SK_API,
	  .set_off = offsetof(struct xlb_service_cfg, retries_set) },
	{ .key = "max_connections", .type = SCHEMA_UINT, SVC(max_connections),
	  .max = UINT32_MAX, .only = MODE(PROXY), .flags = SK_API },
	PROXY_MS(connect_timeout), PROXY_MS(client_timeout),
	PROXY_MS(server_timeout), PROXY_MS(drain_time), PROXY_MS(header_timeout),
	{ .key = "server_speaks_first", .type = SCHEMA_BOOL, SVC(server_first),
	  .only = MODE(PROXY), .flags = SK_SET | SK_API,
	  .set_off = offsetof(struct xlb_service_cfg, server_first_set) },
	{ .key = "on_backend_down", .type = SCHEMA_ENUM, SVC(on_backend_down),
	  .names = on_down_names, .flags = SK_API },
	{ .key = "all_down", .type = SCHEMA_ENUM, SVC(all_down), .names = all_down_names,
	  .flags = SK_API },
	{ .key = "notify", .type = SCHEMA_STRING, SVC(notify) },
	{ .key = "icmp_unreachable", .type = SCHEMA_BOOL, SVC(icmp_unreachable),
	  .def = 1, .only = MODE(DR) | MODE(TUN) | MODE(NAT) | MODE(FULLNAT) },
	{ .key = "health_check", .type = SCHEMA_NODE, SVC(hc), .sub = &schema_health,
	  .walk = config_walk_health, .emit = config_emit_health, .flags = SK_API },
	{ .key = "backends", .type = SCHEMA_NODE, SVC(backends), .sub = &schema_backend,
	  .walk = config_walk_backends, .emit = config_emit_backends, .flags = SK_ALWAYS },
};

const struct schema_section schema_service = {
	.name = "service", .prefix = "", .noun = "service key", .expected = "",
	.only_off = offsetof(struct xlb_service_cfg, mode),
	.keys = service_keys, .n_keys = ARRAY_SIZE(service_keys),
};

#define TOP(k) FIELD(struct xlb_config, k)

static const struct schema_key top_keys[] = {
	{ .key = "instance", .type = SCHEMA_STRING, TOP(instance), .check = check_instance },
	{ .key = "interfaces", .type = SCHEMA_NODE, TOP(interfaces),
	  .walk = config_walk_interfaces, .emit = config_emit_interfaces,
	  .flags = SK_ALWAYS },
	{ .key = "local_addresses", .type = SCHEMA_NODE, TOP(local_addresses),
	  .walk = config_walk_local_addresses, .emit = config_emit_local_addresses },
	{ .key = "manage_addresses", .type = SCHEMA_BOOL, TOP(manage_addresses), .def = 1 },
	{ .key = "flow_table_size", .type = SCHEMA_UINT, TOP(flow_table_size),
	  .min = 1024, .max = 1u << 28, .def = XLB_FLOW_DEFAULT_SIZE },
	{ .key = "dsr_flow_table_size", .type = SCHEMA_UINT, TOP(dsr_flow_table_size),
	  .min = 1024, .max = 1u << 28, .def = XLB_FLOW_DEFAULT_SIZE },
	/* A prime too (config.c). */
	{ .key = "maglev_table_size", .type = SCHEMA_UINT, TOP(maglev_table_size),
	  .min = 2, .max = 1000003, .def = XLB_MAGLEV_DEFAULT_SIZE },
	{ .key = "flood_guard_rate", .type = SCHEMA_UINT, TOP(flood_guard_rate),
	  .max = 100000000, .def = XLB_GUARD_RATE_DEFAULT },
	{ .key = "syn_proxy", .type = SCHEMA_BOOL, TOP(syn_proxy), .def = 1 },
	{ .key = "icmp_rate_limit", .type = SCHEMA_UINT, TOP(icmp_rate_limit),
	  .max = 1000000, .def = XLB_ICMP_RATE_DEFAULT },
	{ .key = "proxy_workers", .type = SCHEMA_UINT, TOP(proxy_workers), .max = 1024 },
	{ .key = "timeouts", .type = SCHEMA_NODE, TOP(timeouts), .sub = &schema_timeouts },
	{ .key = "metrics", .type = SCHEMA_NODE, TOP(metrics_listen), .sub = &schema_metrics },
	{ .key = "detach_on_exit", .type = SCHEMA_BOOL, TOP(detach_on_exit), .def = 1 },
	{ .key = "announce", .type = SCHEMA_NODE, TOP(announce), .sub = &schema_announce },
	{ .key = "bpffs", .type = SCHEMA_STRING, TOP(bpffs), .def_str = XLB_BPFFS_DEFAULT,
	  .check = check_bpffs },
	{ .key = "tunnel_source_v4", .type = SCHEMA_SCALAR, TOP(tunnel_source_v4),
	  .parse = parse_tunnel_v4, .format = format_tunnel_v4 },
	{ .key = "tunnel_source_v6", .type = SCHEMA_SCALAR, TOP(tunnel_source_v6),
	  .parse = parse_tunnel_v6, .format = format_tunnel_v6 },
	{ .key = "services", .type = SCHEMA_NODE, TOP(services), .sub = &schema_service,
	  .walk = config_walk_services, .emit = config_emit_services, .flags = SK_ALWAYS },
};

const struct schema_section schema_top = {
	.name = "top level", .prefix = "", .expected = "", .only_off = -1,
	.keys = top_keys, .n_keys = ARRAY_SIZE(top_keys),
};

const struct schema_section *const schema_sections[] = {
	&schema_top, &schema_service, &schema_backend, &schema_health,
	&schema_timeouts, &schema_metrics, &schema_announce,
};
const size_t schema_n_sections = ARRAY_SIZE(schema_sections);

_Static_assert(ARRAY_SIZE(service_keys) <= SCHEMA_KEYS_MAX, "SCHEMA_KEYS_MAX");
_Static_assert(ARRAY_SIZE(top_keys) <= SCHEMA_KEYS_MAX, "SCHEMA_KEYS_MAX");
_Static_assert(ARRAY_SIZE(health_keys) <= SCHEMA_KEYS_MAX, "SCHEMA_KEYS_MAX");

/* ---- reading and writing values ------------------------------------------ */

const struct schema_key *schema_find(const struct schema_section *sec, const char *key)
{
	for (size_t i = 0; i < sec->n_keys; i++)
		if (!strcmp(sec->keys[i].key, key))
			return &sec->keys[i];
	return NULL;
}

const struct schema_key *schema_key(const struct schema_section *sec, const char *key)
{
	const struct schema_key *k = schema_find(sec, key);

	if (!k)
		abort();        /* a typo in the code, caught by any test */
	return k;
}

char *schema_keys_str(const struct schema_section *sec, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sec->n_keys && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 !i ? "" : i + 1 < sec->n_keys ||
					 sec->comma_list ? ", " : " or ",
					 sec->keys[i].key);
	return buf;
}

uint64_t schema_get_uint(const struct schema_key *k, const void *obj)
{
	const char *p = (const char *)obj + k->off;

	switch (k->size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

void schema_set_uint(const struct schema_key *k, void *obj, uint64_t v)
{
	char *p = (char *)obj + k->off;

	switch (k->size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = v;
	}
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
					   "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No",
					  "NO", "off", "Off", "OFF" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*out = !strcmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

/* Digits only; -ERANGE past UINT32_MAX (no config number is larger). */
static int parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

static int parse_uint(const struct schema_key *k, const char *prefix, const char *s,
		      void *obj, char *msg, size_t len)
{
	uint64_t v = 0;
	int e = parse_digits(s, &v);

	if (e == -EINVAL)
		return MSG("%s%s: '%s' is not a number", prefix, k->key, s);
	if (e || v < k->min || v > k->max)
		return MSG("%s%s %s out of range (%llu-%llu)", prefix, k->key, s,
			   (unsigned long long)k->min, (unsigned long long)k->max);
	schema_set_uint(k, obj, v);
	return 0;
}

static int parse_ms(const struct schema_key *k, const char *prefix, const char *s,
		    void *obj, char *msg, size_t len)
{
	char lo[32], hi[32];
	uint32_t ms;
	int ret = config_parse_duration(s, &ms);

	if (ret == -EINVAL)
		return MSG("%s%s: '%s' is not a duration (e.g. 500ms, 3s, 5m, 1h)",
			   prefix, k->key, s);
	if (ret || ms < k->min || ms > k->max) {
		config_duration_str((uint32_t)k->min, lo, sizeof(lo));
		if (k->max == UINT32_MAX)
			return MSG("%s%s %s must be at least %s", prefix, k->key, s, lo);
		return MSG("%s%s %s out of range (%s-%s)", prefix, k->key, s, lo,
			   config_duration_str((uint32_t)k->max, hi, sizeof(hi)));
	}
	schema_set_uint(k, obj, ms);
	return 0;
}

/* A plain integer is seconds (as ipvsadm --set takes them), otherwise a
 * duration ("900s", "15m") of whole seconds. */
static int parse_seconds(const struct schema_key *k, const char *prefix, const char *s,
			 void *obj, char *msg, size_t len)
{
	uint32_t ms;

	if (s[strspn(s, "0123456789")] == '\0')
		return parse_uint(k, prefix, s, obj, msg, len);
	int ret = config_parse_duration(s, &ms);

	if (ret == -ERANGE)
		return MSG("%s%s %s out of range (%llu-%llu)", prefix, k->key, s,
			   (unsigned long long)k->min, (unsigned long long)k->max);
	if (ret)
		return MSG("%s%s: '%s' is not a duration (e.g. 900, 900s, 15m)",
			   prefix, k->key, s);
	if (ms < 1000 * k->min || ms % 1000)
		return MSG("%s%s: '%s' is not a whole number of seconds (at least %llus)",
			   prefix, k->key, s, (unsigned long long)k->min);
	schema_set_uint(k, obj, ms / 1000);
	return 0;
}

static int parse_enum(const struct schema_key *k, const char *prefix, const char *s,
		      void *obj, char *msg, size_t len)
{
	char names[160];
	int v = schema_value_of(k->names, s);

	if (v >= 0) {
		schema_set_uint(k, obj, (uint64_t)v);
		return 0;
	}
	schema_names_str(k->names, names, sizeof(names));
	if (k->flags & SK_UNKNOWN)
		return MSG("%sunknown %s '%s' (expected %s)", prefix, k->key, s, names);
	return MSG("%s%s: '%s' (expected %s)", prefix, k->key, s, names);
}

static int parse_row(const struct schema_key *k, const char *prefix, const char *s,
		     void *obj, char *msg, size_t len)
{
	char *field = (char *)obj + k->off;
	bool b;

	switch (k->type) {
	case SCHEMA_BOOL:
		if (parse_bool(s, &b))
			return MSG("%s%s: '%s' is not a boolean (expected true or false)",
				   prefix, k->key, s);
		*(bool *)field = b;
		return 0;
	case SCHEMA_UINT:
		return parse_uint(k, prefix, s, obj, msg, len);
	case SCHEMA_MS:
		return parse_ms(k, prefix, s, obj, msg, len);
	case SCHEMA_SECONDS:
		return parse_seconds(k, prefix, s, obj, msg, len);
	case SCHEMA_ENUM:
		return parse_enum(k, prefix, s, obj, msg, len);
	case SCHEMA_STRING:
		/* Only the start of the value: the reason must fit in msg. */
		if (strlen(s) >= k->size)
			return MSG("%s%s: '%.40s...' is too long (%zu characters, "
				   "maximum %zu)", prefix, k->key, s, strlen(s),
				   k->size - 1);
		/* Names and paths end up in logs, metrics and terminals: a
		 * control character there could forge a line or an escape. */
		for (const char *c = s; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return MSG("%s%s: control character 0x%02x at position %zu "
					   "(names and paths are printable text)", prefix,
					   k->key, (unsigned char)*c, (size_t)(c - s) + 1);
		if (k->check) {
			char what[64];

			snprintf(what, sizeof(what), "%s%s", prefix, k->key);
			if (k->check(what, s, msg, len))
				return -EINVAL;
		}
		strcpy(field, s);
		return 0;
	case SCHEMA_SCALAR:
		return k->parse(k, prefix, s, obj, msg, len);
	case SCHEMA_NODE:
		break;
	}
	return MSG("%s%s: not a single value", prefix, k->key);
}

int schema_parse(const struct schema_key *k, const char *prefix, const char *s,
		 void *obj, char *msg, size_t len)
{
	int e = parse_row(k, prefix, s, obj, msg, len);

	if (!e && (k->flags & SK_SET))
		*(bool *)((char *)obj + k->set_off) = true;
	return e;
}

int schema_parse_flag(const struct schema_key *k, const char *s, void *obj,
		      char *msg, size_t len)
{
	char prefix[64];
	int ret;

	/* "--mode: unknown mode 'x' (...)", "--weight 70000 out of range". */
	if (k->type == SCHEMA_ENUM && (k->flags & SK_UNKNOWN)) {
		snprintf(prefix, sizeof(prefix), "--%s: ", k->key);
		return schema_parse(k, prefix, s, obj, msg, len);
	}
	ret = schema_parse(k, "--", s, obj, msg, len);
	/* The flag of key a_b is spelled --a-b. */
	for (size_t i = 2; ret && len && msg[i] && msg[i] != ':' && msg[i] != ' '; i++)
		if (msg[i] == '_')
			msg[i] = '-';
	return ret;
}

const char *schema_format(const struct schema_key *k, const void *obj, char *buf,
			  size_t len)
{
	const char *field = (const char *)obj + k->off;

	switch (k->type) {
	case SCHEMA_BOOL:
		return *(const bool *)field ? "true" : "false";
	case SCHEMA_UINT:
	case SCHEMA_SECONDS:
		snprintf(buf, len, "%llu", (unsigned long long)schema_get_uint(k, obj));
		return buf;
	case SCHEMA_MS:
		return config_duration_str((uint32_t)schema_get_uint(k, obj), buf, len);
	case SCHEMA_ENUM:
		return schema_name_of(k->names, (uint8_t)schema_get_uint(k, obj));
	case SCHEMA_STRING:
		return field;
	case SCHEMA_SCALAR:
		return k->format(obj, buf, len);
	case SCHEMA_NODE:
		break;
	}
	return NULL;
}

bool schema_is_default(const struct schema_key *k, const void *obj)
{
	const char *field = (const char *)obj + k->off;

	if (k->flags & SK_SET)
		return !*(const bool *)((const char *)obj + k->set_off);
	switch (k->type) {
	case SCHEMA_BOOL:
		return *(const bool *)field == (bool)k->def;
	case SCHEMA_UINT:
	case SCHEMA_MS:
	case SCHEMA_SECONDS:
	case SCHEMA_ENUM:
		return schema_get_uint(k, obj) == k->def;
	case SCHEMA_STRING:
		return !strcmp(field, k->def_str ? k->def_str : "");
	case SCHEMA_SCALAR:
	case SCHEMA_NODE:
		break;
	}
	/* Rows without a plain default are unset when all zero. */
	for (size_t i = 0; i < k->size; i++)
		if (field[i])
			return false;
	return true;
}

void schema_defaults(const struct schema_section *sec, void *obj)
{
	char msg[8];

	for (size_t i = 0; i < sec->n_keys; i++) {
		const struct schema_key *k = &sec->keys[i];

		switch (k->type) {
		case SCHEMA_BOOL:
			*(bool *)((char *)obj + k->off) = k->def;
			break;
		case SCHEMA_UINT:
		case SCHEMA_MS:
		case SCHEMA_SECONDS:
		case SCHEMA_ENUM:
			schema_set_uint(k, obj, k->def);
			break;
		case SCHEMA_STRING:
		case SCHEMA_SCALAR:
			if (k->def_str)
				schema_parse(k, "", k->def_str, obj, msg, sizeof(msg));
			break;
		case SCHEMA_NODE:
			break;
		}
	}
}

int schema_check_range(const struct schema_key *k, const char *prefix,
		       const void *obj, char *msg, size_t len)
{
	uint64_t v;

	/* A default (0 for "not set" too) is always in range. */
	if ((k->type != SCHEMA_UINT && k->type != SCHEMA_MS && k->type != SCHEMA_SECONDS) ||
	    schema_is_default(k, obj))
		return 0;
	v = schema_get_uint(k, obj);
	if (v >= k->min && v <= k->max)
		return 0;
	snprintf(msg, len, "%s%s %llu out of range (%llu-%llu)", prefix, k->key,
		 (unsigned long long)v, (unsigned long long)k->min,
		 (unsigned long long)k->max);
	return -ERANGE;
}
