// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Metrics: the snapshot of the running state and its Prometheus text
 * rendering (format 0.0.4). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conntrack.h"
#include "dataplane.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "state.h"
#include "version.h"

static void collect_backend(struct state *st, const struct xlb_service_cfg *sc,
			    const struct xlb_backend_cfg *bc,
			    const struct backend_state *bs, struct metrics_backend *mb)
{
	struct xlb_conns cn;

	addr_str(&bc->addr, mb->backend, sizeof(mb->backend));
	mb->weight = bc->weight;
	mb->up = state_backend_health(bs) != HEALTH_DOWN;
	mb->health_age_s = (double)(now_ms() - bs->health_since_ms) / 1000.0;
	mb->in_table = state_backend_takes_new(bs, bc);
	if (st->dp)
		dataplane_backend_stats(st->dp, bs->id, &mb->c);
	if (st->health && sc->hc.type != XLB_HC_NONE)
		mb->has_check = health_last_check(st->health, sc->proto,
						  &sc->vip, &bc->addr,
						  &mb->check_latency_us,
						  &mb->checks) == 0;
	if (st->dp && (sc->mode == XLB_MODE_NAT ||
		       sc->mode == XLB_MODE_FULLNAT ||
		       sc->scheduler == XLB_SCHED_LC ||
		       sc->scheduler == XLB_SCHED_WLC) &&
	    dataplane_backend_conns(st->dp, bs->id, &cn) == 0) {
		mb->has_conns = true;
		mb->active = cn.active;
		mb->inactive = cn.inactive;
	}
	if (sc->mode == XLB_MODE_PROXY)
		mb->has_proxy = proxy_stats(sc->proto, &sc->vip, &bc->addr,
					    &mb->pc) == 0;
}

/* Fills @ms from service @i of @st. Returns 0 or -ENOMEM. */
static int collect_service(struct state *st, size_t i, struct metrics_service *ms)
{
	const struct xlb_service_cfg *sc = &st->cfg.services[i];
	const struct service_state *ss = &st->services[i];
	char hash[STATE_HASH_STRLEN];

	service_name_str(sc->proto, &sc->vip, ms->service, sizeof(ms->service));
	addr_str_noport(&sc->vip, ms->vip, sizeof(ms->vip));
	if (sc->vip.port)
		snprintf(ms->port, sizeof(ms->port), "%u", sc->vip.port);
	else
		snprintf(ms->port, sizeof(ms->port), "*");
	ms->protocol = proto_name(sc->proto);
	snprintf(ms->name, sizeof(ms->name), "%s", sc->name);
	ms->mode = mode_name(sc->mode);
	snprintf(ms->table_hash, sizeof(ms->table_hash), "%s",
		 state_table_hash_str(ss, hash));
	if (st->dp)
		dataplane_svc_stats(st->dp, ss->id, &ms->c);
	if (sc->mode == XLB_MODE_PROXY)
		ms->has_proxy = proxy_stats(sc->proto, &sc->vip, NULL, &ms->pc) == 0;
	if (st->dp && config_service_has_share(sc))
		ms->has_flows = dataplane_svc_flows(st->dp, ss->id, &ms->fl) == 0;
	ms->backends = calloc(sc->n_backends + 1, sizeof(*ms->backends));
	if (!ms->backends)
		return -ENOMEM;
	ms->n_backends = sc->n_backends;
	for (size_t j = 0; j < sc->n_backends && j < ss->n_backends; j++)
		collect_backend(st, sc, &sc->backends[j], &ss->backends[j],
				&ms->backends[j]);
	return 0;
}

int metrics_collect(struct state *st, struct metrics_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snprintf(snap->instance, sizeof(snap->instance), "%s", st->instance);
	snap->version = XLB_VERSION;
	snap->flow_table_size = st->cfg.flow_table_size;
	snap->dsr_flow_table_size = st->cfg.dsr_flow_table_size;
	if (st->dp) {
		/* The sweeper's count, from its last pass (no walk here). */
		snap->has_flows = dataplane_nat_flows(st->dp, &snap->nat_flows) == 0;
		snap->has_reasons = dataplane_reason_stats(st->dp, snap->reasons) == 0;
		snap->has_guard = dataplane_guard_stats(st->dp, snap->guard) == 0;
	}
	snap->services = calloc(st->cfg.n_services + 1, sizeof(*snap->services));
	if (!snap->services)
		goto nomem;
	for (size_t i = 0; i < st->cfg.n_services && i < st->n_services; i++) {
		/* Counted before filling: a failed service's backends are freed too. */
		snap->n_services = i + 1;
		if (collect_service(st, i, &snap->services[i]))
			goto nomem;
	}
	return 0;
nomem:
	metrics_snapshot_free(snap);
	return -ENOMEM;
}

void metrics_snapshot_free(struct metrics_snapshot *snap)
{
	for (size_t i = 0; i < snap->n_services; i++)
		free(snap->services[i].backends);
	free(snap->services);
	snap->services = NULL;
	snap->n_services = 0;
}

void metrics_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* service="tcp/198.18.0.100:80",vip="198.18.0.100",port="80",protocol="tcp" */
static void svc_id_labels(FILE *f, const char *name, const struct metrics_service *ms)
{
	fprintf(f, "%s{service=\"", name);
	metrics_label_value(f, ms->service);
	fputs("\",vip=\"", f);
	metrics_label_value(f, ms->vip);
	fprintf(f, "\",port=\"%s\",protocol=\"%s", ms->port, ms->protocol);
}

static void svc_labels(FILE *f, const char *name, const struct metrics_service *ms)
{
	svc_id_labels(f, name, ms);
	fputs("\",name=\"", f);
	metrics_label_value(f, ms->name);
	fputs("\",mode=\"", f);
	metrics_label_value(f, ms->mode);
	fputs("\"} ", f);
}

static void be_labels(FILE *f, const char *name, const struct metrics_service *ms,
		      const struct metrics_backend *mb)
{
	svc_id_labels(f, name, ms);
	fputs("\",backend=\"", f);
	metrics_label_value(f, mb->backend);
	fputs("\"} ", f);
}

/* The counters of struct xlb_counter and struct proxy_counters, by offset. */
struct field {
	const char *suffix, *type, *help;
	size_t off;
};

static const struct field dp_fields[] = {
	{ "packets_total", "counter", "Packets forwarded by the XDP data plane.",
	  offsetof(struct xlb_counter, packets) },
	{ "bytes_total", "counter", "Bytes forwarded by the XDP data plane.",
	  offsetof(struct xlb_counter, bytes) },
	{ "new_flows_total", "counter", "New flows scheduled by the XDP data plane.",
	  offsetof(struct xlb_counter, new_flows) },
	{ "packets_out_total", "counter", "Replies (nat, fullnat) the XDP data plane sent back to clients.",
	  offsetof(struct xlb_counter, packets_out) },
	{ "bytes_out_total", "counter", "Bytes of those replies.",
	  offsetof(struct xlb_counter, bytes_out) },
};

static const struct field proxy_fields[] = {
	{ "active_connections", "gauge", "Open proxy connections (tcp) or sessions (udp).",
	  offsetof(struct proxy_counters, active) },
	{ "connections_total", "counter", "Connections accepted (service) or assigned (backend) by the proxy.",
	  offsetof(struct proxy_counters, total) },
	{ "bytes_in_total", "counter", "Bytes relayed by the proxy from clients to backends.",
	  offsetof(struct proxy_counters, bytes_in) },
	{ "bytes_out_total", "counter", "Bytes relayed by the proxy from backends to clients.",
	  offsetof(struct proxy_counters, bytes_out) },
	{ "connect_failures_total", "counter", "Failed backend connects of the proxy.",
	  offsetof(struct proxy_counters, connect_fail) },
	{ "retries_total", "counter", "Proxy connects retried on another backend.",
	  offsetof(struct proxy_counters, retries) },
	{ "timeouts_total", "counter", "Proxy connect, idle or header timeouts.",
	  offsetof(struct proxy_counters, timeouts) },
	{ "rejected_total", "counter", "Proxy connections rejected (no backend, over the cap, drained).",
	  offsetof(struct proxy_counters, rejected) },
	{ "bad_header_total", "counter", "Malformed PROXY protocol headers from clients.",
	  offsetof(struct proxy_counters, bad_header) },
	{ "spliced_bytes_total", "counter", "Of the bytes relayed by the proxy, those moved by "
	  "splice(2), without a copy (bulk directions).", offsetof(struct proxy_counters, spliced) },
};

/* A nat/fullnat service's share of the connection table (struct
 * xlb_svc_flows). */
static const struct field flows_fields[] = {
	{ "flows", "gauge", "Connection-table entries of the nat/fullnat service.",
	  offsetof(struct xlb_svc_flows, n) },
	{ "max_flows", "gauge", "Most connection-table entries the service may hold "
	  "(max_flows, or its share of flow_table_size).",
	  offsetof(struct xlb_svc_flows, max) },
	{ "flows_refused_total", "counter", "New flows refused because the service "
	  "held max_flows entries, none of them embryonic in reach.",
	  offsetof(struct xlb_svc_flows, refused) },
	{ "flows_evicted_total", "counter", "Embryonic entries of the service evicted "
	  "for a new flow at max_flows.", offsetof(struct xlb_svc_flows, evicted) },
};

#define FIELD(p, fl) (*(const uint64_t *)((const char *)(p) + (fl)->off))

/* The families of fields (n of them, named PREFIX_suffix) in the struct at
 * offset base of each service whose bool at offset has is set. */
static void render_svc_opt(FILE *f, const struct metrics_snapshot *s, const char *prefix,
			   const struct field *fields, size_t n, size_t has, size_t base)
{
	char name[96];

	for (size_t k = 0; k < n; k++) {
		bool header = false;

		for (size_t i = 0; i < s->n_services; i++) {
			const char *ms = (const char *)&s->services[i];

			if (!*(const bool *)(ms + has))
				continue;
			snprintf(name, sizeof(name), "%s_%s", prefix, fields[k].suffix);
			if (!header)
				family(f, name, fields[k].type, fields[k].help);
			header = true;
			svc_labels(f, name, &s->services[i]);
			fprintf(f, "%llu\n", (unsigned long long)FIELD(ms + base, &fields[k]));
		}
	}
}

static void render_services(FILE *f, const struct metrics_snapshot *s)
{
	char name[96];

	for (size_t k = 0; k < sizeof(dp_fields) / sizeof(dp_fields[0]); k++) {
		snprintf(name, sizeof(name), "xlb_service_%s", dp_fields[k].suffix);
		family(f, name, dp_fields[k].type, dp_fields[k].help);
		for (size_t i = 0; i < s->n_services; i++) {
			svc_labels(f, name, &s->services[i]);
			fprintf(f, "%llu\n", (unsigned long long)
				FIELD(&s->services[i].c, &dp_fields[k]));
		}
	}
	/* A label, not a value: a 64-bit hash does not fit a float exactly. */
	family(f, "xlb_service_table_info", "gauge",
	       "Hash of the service's Maglev table (equal on two nodes exactly when "
	       "their tables are equal; none: no table).");
	for (size_t i = 0; i < s->n_services; i++) {
		svc_id_labels(f, "xlb_service_table_info", &s->services[i]);
		fputs("\",table_hash=\"", f);
		metrics_label_value(f, s->services[i].table_hash);
		fputs("\"} 1\n", f);
	}
	render_svc_opt(f, s, "xlb_proxy_service", proxy_fields,
		       sizeof(proxy_fields) / sizeof(proxy_fields[0]),
		       offsetof(struct metrics_service, has_proxy),
		       offsetof(struct metrics_service, pc));
	render_svc_opt(f, s, "xlb_service", flows_fields,
		       sizeof(flows_fields) / sizeof(flows_fields[0]),
		       offsetof(struct metrics_service, has_flows),
		       offsetof(struct metrics_service, fl));
}

/* One family over every backend; `value` returns false to skip one. */
typedef bool (*be_value_fn)(const struct metrics_backend *mb, const void *arg,
			    char *out, size_t len);

static void render_be_family(FILE *f, const struct metrics_snapshot *s,
			     const char *name, const char *type, const char *help,
			     be_value_fn value, const void *arg)
{
	char v[64];
	bool header = false;

	for (size_t i = 0; i < s->n_services; i++)
		for (size_t j = 0; j < s->services[i].n_backends; j++) {
			const struct metrics_backend *mb = &s->services[i].backends[j];

			if (!value(mb, arg, v, sizeof(v)))
				continue;
			if (!header) {
				family(f, name, type, help);
				header = true;
			}
			be_labels(f, name, &s->services[i], mb);
			fprintf(f, "%s\n", v);
		}
}

static bool v_dp(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	snprintf(o, l, "%llu", (unsigned long long)FIELD(&mb->c, (const struct field *)arg));
	return true;
}

static bool v_proxy(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	if (!mb->has_proxy)
		return false;
	snprintf(o, l, "%llu", (unsigned long long)FIELD(&mb->pc, (const struct field *)arg));
	return true;
}

static bool v_weight(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	snprintf(o, l, "%u", mb->weight);
	return true;
}

static bool v_up(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	snprintf(o, l, "%d", mb->up);
	return true;
}

static bool v_health_age(const struct metrics_backend *mb, const void *arg, char *o,
			 size_t l)
{
	snprintf(o, l, "%.3f", mb->health_age_s);
	return true;
}

static bool v_in_table(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	snprintf(o, l, "%d", mb->in_table);
	return true;
}

static bool v_latency(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	if (!mb->has_check || !mb->checks)
		return false;
	snprintf(o, l, "%u.%06u", mb->check_latency_us / 1000000,
		 mb->check_latency_us % 1000000);
	return true;
}

static bool v_checks(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	if (!mb->has_check)
		return false;
	snprintf(o, l, "%llu", (unsigned long long)mb->checks);
	return true;
}

static bool v_active(const struct metrics_backend *mb, const void *arg, char *o, size_t l)
{
	if (!mb->has_conns)
		return false;
	snprintf(o, l, "%llu", (unsigned long long)(arg ? mb->inactive : mb->active));
	return true;
}

/* Every per-backend family, one after the other as the format wants. */
static void render_backends(FILE *f, const struct metrics_snapshot *s)
{
	char name[96];

	for (size_t k = 0; k < sizeof(dp_fields) / sizeof(dp_fields[0]); k++) {
		snprintf(name, sizeof(name), "xlb_backend_%s", dp_fields[k].suffix);
		render_be_family(f, s, name, dp_fields[k].type, dp_fields[k].help,
				 v_dp, &dp_fields[k]);
	}
	render_be_family(f, s, "xlb_backend_weight", "gauge",
			 "Configured weight (0: draining).", v_weight, NULL);
	render_be_family(f, s, "xlb_backend_up", "gauge",
			 "1 unless the health check says down (no result yet counts as up).",
			 v_up, NULL);
	render_be_family(f, s, "xlb_backend_health_change_age_seconds", "gauge",
			 "Seconds since the health of the backend last changed (or since it "
			 "or its check appeared).", v_health_age, NULL);
	render_be_family(f, s, "xlb_backend_in_table", "gauge",
			 "1 when the backend takes new flows (up or kept, weight > 0).",
			 v_in_table, NULL);
	render_be_family(f, s, "xlb_backend_health_check_duration_seconds", "gauge",
			 "Duration of the last finished health check.", v_latency, NULL);
	render_be_family(f, s, "xlb_backend_health_checks_total", "counter",
			 "Health checks finished.", v_checks, NULL);
	render_be_family(f, s, "xlb_backend_active_connections", "gauge",
			 "Connections established (TCP) or live (UDP): nat/fullnat, and "
			 "dr/tun under lc/wlc (flow entries).",
			 v_active, NULL);
	render_be_family(f, s, "xlb_backend_inactive_connections", "gauge",
			 "Connections in any other TCP state (same services).",
			 v_active, "inactive");
	for (size_t k = 0; k < sizeof(proxy_fields) / sizeof(proxy_fields[0]); k++) {
		snprintf(name, sizeof(name), "xlb_proxy_backend_%s", proxy_fields[k].suffix);
		render_be_family(f, s, name, proxy_fields[k].type, proxy_fields[k].help,
				 v_proxy, &proxy_fields[k]);
	}
}

/* Whole-datapath families: verdict reasons, flood guard, flow table. */
static void render_datapath(FILE *f, const struct metrics_snapshot *s)
{
	if (s->has_reasons) {
		family(f, "xlb_datapath_packets_total", "counter",
		       "Packets of the XDP program by verdict reason (fwd_*, pass_*, drop_*).");
		for (int r = 0; r < XLB_R_MAX; r++) {
			fputs("xlb_datapath_packets_total{reason=\"", f);
			metrics_label_value(f, xlb_reason_names[r]);
			fprintf(f, "\"} %llu\n", (unsigned long long)s->reasons[r]);
		}
	}
	if (s->has_guard) {
		family(f, "xlb_flood_guard_total", "counter",
		       "Flood guard actions: engaged (a CPU went over flood_guard_rate "
		       "new flows in a second), flow_not_stored (dr/tun), "
		       "flow_short_lived (nat/fullnat), pin_not_stored (persistence), "
		       "syn_cookie_sent, syn_cookie_ok, syn_cookie_bad (SYN proxy).");
		for (int g = 0; g < XLB_G_MAX; g++)
			fprintf(f, "xlb_flood_guard_total{action=\"%s\"} %llu\n",
				xlb_guard_names[g], (unsigned long long)s->guard[g]);
	}
	if (s->has_flows) {
		family(f, "xlb_flow_table_nat_entries", "gauge",
		       "nat/fullnat entries in the flow table (dr/tun flows are not counted).");
		fprintf(f, "xlb_flow_table_nat_entries %llu\n",
			(unsigned long long)s->nat_flows);
	}
	family(f, "xlb_flow_table_size", "gauge", "Capacity of the nat/fullnat (and lc/wlc) "
	       "flow table (flow_table_size).");
	fprintf(f, "xlb_flow_table_size %u\n", s->flow_table_size);
	family(f, "xlb_dsr_flow_table_size", "gauge", "Capacity of the dr/tun flow table "
	       "(dsr_flow_table_size).");
	fprintf(f, "xlb_dsr_flow_table_size %u\n", s->dsr_flow_table_size);
}

char *metrics_render(const struct metrics_snapshot *s, size_t *lenp)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	family(f, "xlb_info", "gauge", "Version and instance of this xlbd.");
	fputs("xlb_info{version=\"", f);
	metrics_label_value(f, s->version ? s->version : "");
	fputs("\",instance=\"", f);
	metrics_label_value(f, s->instance);
	fputs("\"} 1\n", f);
	render_services(f, s);
	render_backends(f, s);
	render_datapath(f, s);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	if (lenp)
		*lenp = len;
	return out;
}
