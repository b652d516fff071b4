// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Writes a struct xlb_config as YAML that config_parse_buf reads back to the
 * same config: what `xlb save` prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

/* Plain (unquoted) YAML is only safe for a conservative set of strings:
 * no indicators, nothing YAML would read as a bool/null, no ':' or '['
 * (IPv6 addresses, ADDR:PORT in flow mappings). */
static bool plain_ok(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on",
					     "off", "null", "y", "n", "~" };

	if (!*s)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      (*s >= '0' && *s <= '9')))
		return false;
	for (const char *q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '-' ||
		      *q == '_' || *q == '/'))
			return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return false;
	return true;
}

static void emit_str(FILE *f, const char *s)
{
	if (plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (*q == '"' || *q == '\\')
			fprintf(f, "\\%c", *q);
		else if (*q < 0x20 || *q == 0x7f)
			fprintf(f, "\\x%02x", *q);
		else
			fputc(*q, f);
	}
	fputc('"', f);
}

static void emit_addr(FILE *f, const struct xlb_sockaddr *a)
{
	char buf[XLB_ADDRSTR_MAX];

	emit_str(f, addr_str(a, buf, sizeof(buf)));
}

static void emit_prefix(FILE *f, const char *key, const struct xlb_prefix *p)
{
	char buf[XLB_ADDRSTR_MAX];

	if (!p->family)
		return;
	fprintf(f, "%s: ", key);
	emit_str(f, prefix_str(p, buf, sizeof(buf)));
	fputc('\n', f);
}

static void emit_duration(FILE *f, const char *key, uint32_t ms)
{
	char buf[32];

	if (ms)
		fprintf(f, "    %s: %s\n", key, config_duration_str(ms, buf, sizeof(buf)));
}

/* The nat/fullnat timeouts that are set (0 = default), in seconds, on a
 * line that starts with indent. */
static void emit_timeouts(FILE *f, const char *indent, const struct xlb_timeouts *t)
{
	const struct { const char *key; uint32_t s; } all[] = {
		{ "tcp_syn", t->tcp_syn },
		{ "tcp_established", t->tcp_established },
		{ "tcp_fin", t->tcp_fin },
		{ "tcp_close", t->tcp_close },
		{ "tcp_time_wait", t->tcp_time_wait },
		{ "udp", t->udp },
	};
	const char *sep = "timeouts: { ";

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!all[i].s)
			continue;
		if (sep[0] != ',')
			fputs(indent, f);
		fprintf(f, "%s%s: %u", sep, all[i].key, all[i].s);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputs(" }\n", f);
}

/* Mode proxy settings, only those that differ from the defaults. */
static void emit_proxy_settings(FILE *f, const struct xlb_service_cfg *s)
{
	if (s->send_proxy)
		fprintf(f, "    send_proxy: %s\n",
			s->send_proxy == XLB_SEND_PROXY_V1 ? "v1" : "v2");
	if (s->accept_proxy)
		fputs("    accept_proxy: true\n", f);
	if (s->retries_set)
		fprintf(f, "    retries: %u\n", s->retries);
	if (s->max_connections)
		fprintf(f, "    max_connections: %u\n", s->max_connections);
	emit_duration(f, "connect_timeout", s->connect_timeout_ms);
	emit_duration(f, "client_timeout", s->client_timeout_ms);
	emit_duration(f, "server_timeout", s->server_timeout_ms);
	emit_duration(f, "drain_time", s->drain_time_ms);
}

/* health_check in flow style: the timing keys always, the others when set. */
static void emit_health(FILE *f, const struct xlb_service_cfg *s)
{
	const struct xlb_health_cfg *hc = &s->hc;
	struct xlb_health_cfg def;
	char buf[32];

	if (s->on_backend_down == XLB_ON_DOWN_RESET)
		fputs("    on_backend_down: reset\n", f);
	if (s->all_down == XLB_ALL_DOWN_KEEP_LAST)
		fputs("    all_down: keep_last\n", f);
	if (hc->type == XLB_HC_NONE)
		return;
	config_health_defaults(&def, hc->type);
	fprintf(f, "    health_check: { type: %s", hc_type_name(hc->type));
	fprintf(f, ", interval: %s", config_duration_str(hc->interval_ms, buf, sizeof(buf)));
	fprintf(f, ", timeout: %s", config_duration_str(hc->timeout_ms, buf, sizeof(buf)));
	fprintf(f, ", rise: %u, fall: %u", hc->rise, hc->fall);
	if (hc->port)
		fprintf(f, ", port: %u", hc->port);
	if (hc->type == XLB_HC_HTTP) {
		fputs(", path: ", f);
		emit_str(f, hc->path);
		if (hc->status_min == hc->status_max)
			fprintf(f, ", expect_status: \"%u\"", hc->status_min);
		else
			fprintf(f, ", expect_status: \"%u-%u\"", hc->status_min,
				hc->status_max);
		if (hc->host[0]) {
			fputs(", host: ", f);
			emit_str(f, hc->host);
		}
	}
	if (hc->type == XLB_HC_DNS) {
		fputs(", query: ", f);
		emit_str(f, hc->query);
		fprintf(f, ", query_type: %s", dns_type_str(hc->query_type, buf, sizeof(buf)));
		if (hc->dns_proto != def.dns_proto)
			fprintf(f, ", dns_proto: %s", proto_name(hc->dns_proto));
	}
	if (hc->type == XLB_HC_UDP) {
		if (hc->payload[0]) {
			fputs(", payload: ", f);
			emit_str(f, hc->payload);
		}
		if (hc->expect[0]) {
			fputs(", expect: ", f);
			emit_str(f, hc->expect);
		}
	}
	fputs(" }\n", f);
}

static void emit_service(FILE *f, const struct xlb_service_cfg *s)
{
	char buf[XLB_ADDRSTR_MAX];

	fputs("  - ", f);
	if (s->name[0]) {
		fputs("name: ", f);
		emit_str(f, s->name);
		fputs("\n    ", f);
	}
	fputs("vip: ", f);
	emit_str(f, addr_str_noport(&s->vip, buf, sizeof(buf)));
	if (s->vip.port)
		fprintf(f, "\n    port: %u\n", s->vip.port);
	else
		fputs("\n    port: \"*\"\n", f);
	fprintf(f, "    protocol: %s\n", proto_name(s->proto));
	fprintf(f, "    mode: %s\n", mode_name(s->mode));
	fprintf(f, "    scheduler: %s\n", sched_name(s->scheduler));
	if (s->persistence)
		fprintf(f, "    persistence: %u\n", s->persistence);
	emit_timeouts(f, "    ", &s->timeouts);
	emit_proxy_settings(f, s);
	emit_health(f, s);
	if (!s->n_backends) {
		fputs("    backends: []\n", f);
		return;
	}
	fputs("    backends:\n", f);
	for (size_t i = 0; i < s->n_backends; i++) {
		fputs("      - { address: ", f);
		emit_addr(f, &s->backends[i].addr);
		fprintf(f, ", weight: %u", s->backends[i].weight);
		if (s->backends[i].state != XLB_ADMIN_UP)
			fprintf(f, ", state: %s", admin_state_name(s->backends[i].state));
		fputs(" }\n", f);
	}
}

char *config_emit_yaml(const struct xlb_config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	if (cfg->instance[0]) {
		fputs("instance: ", f);
		emit_str(f, cfg->instance);
		fputc('\n', f);
	}
	fputs("interfaces: [", f);
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		if (i)
			fputs(", ", f);
		emit_str(f, cfg->interfaces[i]);
	}
	fputs("]\n", f);
	if (cfg->n_local_addresses) {
		fputs("local_addresses: [", f);
		for (size_t i = 0; i < cfg->n_local_addresses; i++) {
			if (i)
				fputs(", ", f);
			emit_addr(f, &cfg->local_addresses[i]);
		}
		fputs("]\n", f);
	}
	if (!cfg->manage_addresses)
		fputs("manage_addresses: false\n", f);
	if (cfg->flow_table_size != XLB_FLOW_DEFAULT_SIZE)
		fprintf(f, "flow_table_size: %u\n", cfg->flow_table_size);
	if (cfg->maglev_table_size != XLB_MAGLEV_DEFAULT_SIZE)
		fprintf(f, "maglev_table_size: %u\n", cfg->maglev_table_size);
	if (cfg->proxy_workers)
		fprintf(f, "proxy_workers: %u\n", cfg->proxy_workers);
	emit_timeouts(f, "", &cfg->timeouts);
	if (cfg->metrics_listen.family) {
		char a[XLB_ADDRSTR_MAX];

		fprintf(f, "metrics: { listen: \"%s\" }\n",
			addr_str(&cfg->metrics_listen, a, sizeof(a)));
	}
	if (!cfg->detach_on_exit)
		fputs("detach_on_exit: false\n", f);
	if (strcmp(cfg->bpffs, XLB_BPFFS_DEFAULT)) {
		fputs("bpffs: ", f);
		emit_str(f, cfg->bpffs);
		fputc('\n', f);
	}
	emit_prefix(f, "tunnel_source_v4", &cfg->tunnel_source_v4);
	emit_prefix(f, "tunnel_source_v6", &cfg->tunnel_source_v6);
	if (!cfg->n_services) {
		fputs("services: []\n", f);
	} else {
		fputs("services:\n", f);
		for (size_t i = 0; i < cfg->n_services; i++)
			emit_service(f, &cfg->services[i]);
	}
	if (ferror(f)) {
		fclose(f);
		free(out);
		return NULL;
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
