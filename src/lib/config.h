/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The in-memory configuration of one xlbd instance: what the YAML file says,
 * what `xlb save` prints, and what runtime changes edit. */
#ifndef XLB_CONFIG_H
#define XLB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "addr.h"

#define XLB_NAME_MAX   64
#define XLB_IFNAME_MAX 16
#define XLB_PATH_MAX   192
#define XLB_BPFFS_DEFAULT "/sys/fs/bpf"

enum xlb_sched {
	XLB_SCHED_MAGLEV = 0,
	XLB_SCHED_RR,
	XLB_SCHED_WRR,
	XLB_SCHED_LC,
	XLB_SCHED_WLC,
	XLB_SCHED_SH,
	XLB_SCHED_RANDOM2,              /* proxy only: power of two choices */
};

/* PROXY protocol header sent to backends (mode proxy, tcp). */
enum xlb_send_proxy {
	XLB_SEND_PROXY_OFF = 0,
	XLB_SEND_PROXY_V1,
	XLB_SEND_PROXY_V2,
};

/* Health check of a service's backends (src/xlbd/health.c runs them). */
enum xlb_hc_type {
	XLB_HC_NONE = 0,                /* no check: backends count as up */
	XLB_HC_TCP,                     /* connect */
	XLB_HC_HTTP,                    /* GET path, status in a range */
	XLB_HC_DNS,                     /* query, expect NOERROR */
	XLB_HC_UDP,                     /* send payload, expect a reply */
	XLB_HC_HTTPS,                   /* http over TLS (not verified) */
	XLB_HC_SCRIPT,                  /* run command: exit 0 passes */
};

#define XLB_HC_STR_MAX 256
#define XLB_HC_STATUS_MAX 8     /* ranges of expect_status */

struct xlb_health_cfg {
	uint8_t type;                   /* enum xlb_hc_type */
	uint8_t dns_proto;              /* IPPROTO_UDP (default) or IPPROTO_TCP */
	uint16_t port;                  /* 0: the backend's port */
	uint16_t query_type;            /* DNS type number; default 1 (A) */
	uint8_t n_status;               /* http(s): ranges in status[] */
	uint16_t status[XLB_HC_STATUS_MAX][2];  /* passing [low, high] ranges;
						 * default one, 200-399 */
	uint32_t interval_ms;           /* default 2 s */
	uint32_t timeout_ms;            /* default 1 s, at most interval */
	uint32_t rise;                  /* passes in a row to come up; default 2 */
	uint32_t fall;                  /* failures in a row to go down; default 3 */
	char path[XLB_HC_STR_MAX];      /* http; default "/" */
	char host[XLB_HC_STR_MAX];      /* http Host header; "" = the address */
	char query[XLB_HC_STR_MAX];     /* dns name */
	char payload[XLB_HC_STR_MAX];   /* udp datagram sent */
	char expect[XLB_HC_STR_MAX];    /* udp: the reply must contain it */
	char expect_body[XLB_HC_STR_MAX];       /* http(s): the body must contain
						 * it; "" = any body */
	char command[XLB_HC_STR_MAX];   /* script: run by /bin/sh -c */
};

/* What happens to existing flows of a backend that goes down. */
enum xlb_on_down {
	XLB_ON_DOWN_KEEP = 0,           /* they stay (like weight 0: draining) */
	XLB_ON_DOWN_RESET,              /* they are rescheduled to healthy ones */
};

/* What a service does when none of its backends is healthy. */
enum xlb_all_down {
	XLB_ALL_DOWN_DROP = 0,          /* new flows are dropped */
	XLB_ALL_DOWN_KEEP_LAST,         /* the last healthy set keeps serving */
};

/* What the operator says of a backend (`state:`, `xlb backend set
 * --state`), beside its weight and health. */
enum xlb_admin_state {
	XLB_ADMIN_UP = 0,               /* serves as its weight and health say */
	XLB_ADMIN_DRAIN,                /* no new flows, its flows go on; weight kept */
	XLB_ADMIN_MAINT,                /* out of the table: its flows end or stay
					 * as on_backend_down says for a down one */
};

struct xlb_backend_cfg {
	struct xlb_sockaddr addr;       /* port 0: same as the service port */
	uint32_t weight;                /* 0 = draining; default 100 */
	uint8_t state;                  /* enum xlb_admin_state */
	bool backup;                    /* takes new flows only while no other
					 * backend of the service can */
};

/* nat/fullnat connection-table timeouts in seconds. Top level: 0 = the
 * default of include/xlb_abi.h (like IPVS); per service: 0 = the top
 * level's, key by key. */
struct xlb_timeouts {
	uint32_t tcp_syn;
	uint32_t tcp_established;
	uint32_t tcp_fin;
	uint32_t tcp_close;
	uint32_t tcp_time_wait;
	uint32_t udp;
};

struct xlb_service_cfg {
	char name[XLB_NAME_MAX];        /* optional; "" when not given */
	struct xlb_sockaddr vip;        /* port 0: every port of the VIP */
	uint8_t proto;                  /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t mode;                   /* enum xlb_mode (include/xlb_abi.h) */
	uint8_t scheduler;              /* enum xlb_sched */
	uint32_t persistence;           /* seconds, 0 = off */
	uint8_t persistence_plen;       /* persistence_netmask as a prefix length;
					 * 0 = the whole address (/32, /128) */
	size_t n_backends;
	struct xlb_backend_cfg *backends;
	/* Mode proxy only. Zero means "the default" for every field below so a
	 * service built field by field (CLI, control API) gets the defaults. */
	uint8_t send_proxy;             /* enum xlb_send_proxy */
	bool accept_proxy;              /* clients send a PROXY v1/v2 header */
	bool retries_set;               /* false: default retries (2) */
	uint32_t retries;               /* other backends tried after a failed connect */
	uint32_t max_connections;       /* tcp connections / udp sessions; 0 = no cap */
	uint32_t connect_timeout_ms;    /* 0 = 3 s */
	uint32_t client_timeout_ms;     /* 0 = 300 s (tcp), 30 s (udp session idle) */
	uint32_t server_timeout_ms;     /* 0 = 300 s (tcp), unused for udp */
	uint32_t drain_time_ms;         /* after removal; 0 = 30 s */
	uint32_t header_timeout_ms;     /* tcp: first bytes (PROXY header); 0 = 10 s */
	bool server_first_set;          /* false: by port (proxy.c) */
	bool server_first;              /* tcp: connect to the backend at accept */
	struct xlb_health_cfg hc;       /* hc.type XLB_HC_NONE: no check */
	char notify[XLB_HC_STR_MAX];    /* command run on every health change of
					 * a backend; "" = none */
	uint8_t on_backend_down;        /* enum xlb_on_down */
	uint8_t all_down;               /* enum xlb_all_down */
	bool icmp_unreachable;          /* no usable backend: answer port
					 * unreachable (packet modes) */
	struct xlb_timeouts timeouts;   /* nat/fullnat only; all 0 = the top level's */
	uint32_t max_flows;             /* config_service_has_share: most
					 * connection-table entries; 0 = an equal
					 * share of what the others leave (state.c) */
};

/* Longest timeout accepted, in seconds (what a uint32 of ms can hold, as for
 * every other duration of the config). */
#define XLB_TIMEOUT_MAX_S (UINT32_MAX / 1000)

/* `announce:` (docs/scale-out.md): the VIPs this node should announce, for
 * BIRD to export over BGP. file[0] == 0: no announcing. */
struct xlb_announce_cfg {
	char bird_socket[XLB_PATH_MAX]; /* BIRD's control socket (birdc -s) */
	char file[XLB_PATH_MAX];        /* xlbd writes it; bird.conf includes it */
	uint32_t hold_ms;               /* how long VIPs stay announced after
					 * xlbd died with no successor */
};
#define XLB_ANNOUNCE_HOLD_DEFAULT_MS 30000

struct xlb_config {
	char instance[XLB_NAME_MAX];    /* "" = derive from the network namespace */
	size_t n_interfaces;
	char (*interfaces)[XLB_IFNAME_MAX];
	size_t n_local_addresses;
	struct xlb_sockaddr *local_addresses;   /* ports are 0 */
	bool manage_addresses;          /* default true */
	uint32_t flow_table_size;       /* default XLB_FLOW_DEFAULT_SIZE */
	uint32_t dsr_flow_table_size;   /* dr/tun flows (dsr_flows); same default */
	uint32_t maglev_table_size;     /* prime; default XLB_MAGLEV_DEFAULT_SIZE */
	uint32_t flood_guard_rate;      /* new flows/s per CPU; 0 = no guard;
					 * default XLB_GUARD_RATE_DEFAULT */
	bool syn_proxy;                 /* default true: under the flood guard,
					 * nat/fullnat TCP SYNs get SYN cookies */
	uint32_t icmp_rate_limit;       /* ICMP errors/s per CPU; 0 = no limit;
					 * default XLB_ICMP_RATE_DEFAULT */
	struct xlb_prefix tunnel_source_v4;     /* family 0 when not set */
	struct xlb_prefix tunnel_source_v6;
	size_t n_services;
	struct xlb_service_cfg *services;
	uint32_t proxy_workers;         /* proxy threads; 0 = one per online CPU */
	struct xlb_timeouts timeouts;   /* `timeouts:` map */
	struct xlb_sockaddr metrics_listen;     /* `metrics: { listen: }`;
						 * family 0: no metrics */
	bool detach_on_exit;            /* default true: SIGTERM removes the data
					 * plane; false: it keeps forwarding for
					 * the next xlbd to adopt */
	char bpffs[XLB_PATH_MAX];       /* bpffs mount; default XLB_BPFFS_DEFAULT */
	struct xlb_announce_cfg announce;
};

/* The prefix length persistence groups s's clients by: persistence_netmask,
 * else the whole address (32 or 128). */
uint8_t config_persist_plen(const struct xlb_service_cfg *s);

/* Fill cfg with defaults and no services. */
void config_init(struct xlb_config *cfg);
void config_free(struct xlb_config *cfg);
/* Deep copy; returns 0 or -ENOMEM. */
int config_copy(struct xlb_config *dst, const struct xlb_config *src);

/* Parse YAML text. `origin` names the text in errors ("xlb.yaml"). On error
 * returns -EINVAL, writes "origin:line:column: message" into err and leaves
 * cfg untouched (initialised and empty). */
int config_parse_buf(const char *text, size_t len, const char *origin,
		     struct xlb_config *cfg, char *err, size_t errlen);
int config_parse_file(const char *path, struct xlb_config *cfg,
		      char *err, size_t errlen);

/* Parse text, the YAML value of the key `key` of a section of the schema
 * (src/lib/schema.h), into obj as the file would ("type: http, path: /"
 * for a mapping may leave out its braces). Errors name the key, not a
 * position. Returns 0 or -EINVAL / -ENOMEM. */
struct schema_section;
int config_parse_value(const struct schema_section *sec, const char *key,
		       const char *text, void *obj, char *err, size_t errlen);

/* Checks that apply to the whole config (duplicate services, duplicate
 * backends, prime table size, modes not supported yet...). Returns 0 or
 * -EINVAL with a message naming the service/backend. */
int config_validate(const struct xlb_config *cfg, char *err, size_t errlen);

/* Write cfg as YAML that config_parse_buf accepts; returns a malloc'd string. */
char *config_emit_yaml(const struct xlb_config *cfg);

/* Lookups used by runtime changes; return NULL when absent. */
struct xlb_service_cfg *config_find_service(struct xlb_config *cfg,
					    uint8_t proto,
					    const struct xlb_sockaddr *vip);
struct xlb_backend_cfg *config_find_backend(struct xlb_service_cfg *svc,
					    const struct xlb_sockaddr *addr);

/* Durations as users write them: "500ms", "3s", "2m", "1h" (a bare "0" is
 * zero). Returns 0 with *ms set, -EINVAL (not a duration) or -ERANGE (past
 * UINT32_MAX ms). */
int config_parse_duration(const char *s, uint32_t *ms);
/* The shortest of those forms for ms; returns buf. */
char *config_duration_str(uint32_t ms, char *buf, size_t len);

/* Fill hc with the defaults of a check of type `type`. */
void config_health_defaults(struct xlb_health_cfg *hc, uint8_t type);
const char *hc_type_name(uint8_t type);         /* "tcp", ..., "none" */
/* DNS types by name ("A", "AAAA", "TYPE65"...); -1 when unknown. */
int dns_type_from_name(const char *s);
/* buf gets the name of a DNS type; returns buf. */
char *dns_type_str(uint16_t type, char *buf, size_t len);

/* Does service s keep its flows in the connection table (flows), each in
 * its share of flow_table_size (max_flows)? nat and fullnat, and dr/tun
 * under lc/wlc, whose entries count the backends' connections; other
 * dr/tun flows live in dsr_flows, under the flood guard. */
bool config_service_has_share(const struct xlb_service_cfg *s);

const char *mode_name(uint8_t mode);
const char *sched_name(uint8_t sched);
const char *admin_state_name(uint8_t state);    /* "up", "drain", "maint" */
const char *proto_name(uint8_t proto);          /* "tcp" / "udp" */

#endif /* XLB_CONFIG_H */
