/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Prometheus metrics: a snapshot of the running state taken by xlbd's main
 * thread (metrics_collect), rendered as text format 0.0.4 (metrics_render),
 * and an HTTP server (metrics_server.c, its own thread) that asks the main
 * thread for a rendering through an eventfd handshake, so the state is only
 * ever read by the thread that owns it. */
#ifndef XLB_METRICS_H
#define XLB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xlb_abi.h"
#include "config.h"
#include "proxy.h"

struct metrics_backend {
	char backend[XLB_ADDRSTR_MAX];          /* "198.18.0.11" or with :port */
	struct xlb_counter c;
	uint32_t weight;
	bool up;                                /* not down (unknown counts as up) */
	double health_age_s;                    /* since its health last changed */
	bool in_table;                          /* takes new flows */
	bool has_check;                         /* health check latency known */
	uint32_t check_latency_us;
	uint64_t checks;
	bool has_conns;                         /* nat/fullnat connection counts */
	uint64_t active, inactive;
	bool has_proxy;
	struct proxy_counters pc;
};

struct metrics_service {
	char service[XLB_ADDRSTR_MAX + 8];      /* "tcp/198.18.0.100:80" */
	char vip[XLB_ADDRSTR_MAX];              /* "198.18.0.100", "2001:db8::100" */
	char port[8];                           /* "80", "*" */
	const char *protocol;                   /* "tcp", "udp" */
	char name[XLB_NAME_MAX];
	const char *mode;                       /* "dr", "proxy"... */
	char table_hash[17];                    /* state_table_hash_str's */
	struct xlb_counter c;
	bool has_proxy;
	struct proxy_counters pc;
	bool has_flows;                         /* nat/fullnat: fl is set */
	struct xlb_svc_flows fl;
	size_t n_backends;
	struct metrics_backend *backends;
};

struct metrics_snapshot {
	char instance[XLB_NAME_MAX];
	const char *version;
	size_t n_services;
	struct metrics_service *services;
	bool has_reasons;
	uint64_t reasons[XLB_R_MAX];
	bool has_guard;
	uint64_t guard[XLB_G_MAX];
	bool has_flows;
	uint64_t nat_flows;                     /* nat/fullnat flow-table entries */
	uint32_t flow_table_size;
	uint32_t dsr_flow_table_size;
};

struct state;

/* Fill snap from the running state and the data plane (main thread only).
 * Returns 0 or -ENOMEM; free with metrics_snapshot_free. */
int metrics_collect(struct state *st, struct metrics_snapshot *snap);
void metrics_snapshot_free(struct metrics_snapshot *snap);

/* The text exposition of snap (malloc'd, NUL-terminated, *len its length
 * when len is not NULL); NULL when out of memory. */
char *metrics_render(const struct metrics_snapshot *snap, size_t *len);

/* Write s as a label value (escapes \, " and newline) to f. */
void metrics_label_value(FILE *f, const char *s);

struct metrics_server;

/* Listen on addr (HTTP, GET /metrics). Returns 0 or -errno with err set. */
int metrics_server_start(struct metrics_server **msp, const struct xlb_sockaddr *addr,
			 char *err, size_t errlen);
/* Readable when a scrape waits for metrics_server_serve(). */
int metrics_server_fd(const struct metrics_server *ms);
/* Main thread: render the state for the waiting scrapes. */
void metrics_server_serve(struct metrics_server *ms, struct state *st);
void metrics_server_stop(struct metrics_server *ms);

#endif /* XLB_METRICS_H */
