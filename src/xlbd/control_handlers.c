// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The commands of the control API: decodes a request, checks every field,
 * turns it into a new config and hands it to state_apply(), or answers a
 * query (list). The socket side is control_server.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "announce.h"
#include "conntrack.h"
#include "control_server.h"
#include "log.h"
#include "proxy.h"
#include "yaml_find.h"
#include "schema.h"
#include "version.h"


struct json_object *control_reply_error(const char *msg)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", json_object_new_string(msg));
	return r;
}

static struct json_object *reply_ok(struct json_object *result)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(1));
	if (result)
		json_object_object_add(r, "result", result);
	return r;
}

/* Fetch a string field; *out is NULL when absent and not required. */
static int get_string(struct json_object *req, const char *key, bool required,
		      const char **out, char *err)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(req, key, &v)) {
		if (required) {
			snprintf(err, CONTROL_ERRLEN, "request field '%s' is missing", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, CONTROL_ERRLEN, "request field '%s' must be a string", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

/* Resolve the "service" field to the config entry of `cfg`. */
static int get_service(struct json_object *req, struct xlb_config *cfg,
		       bool must_exist, uint8_t *proto, struct xlb_sockaddr *vip,
		       struct xlb_service_cfg **svc, char *err)
{
	const char *s;
	char perr[256];
	int ret;

	ret = get_string(req, "service", true, &s, err);
	if (ret)
		return ret;
	if (service_name_parse(s, proto, vip, perr, sizeof(perr))) {
		snprintf(err, CONTROL_ERRLEN, "%s", perr);
		return -EINVAL;
	}
	*svc = config_find_service(cfg, *proto, vip);
	if (must_exist && !*svc) {
		snprintf(err, CONTROL_ERRLEN, "no service %s", s);
		return -ENOENT;
	}
	if (!must_exist && *svc) {
		snprintf(err, CONTROL_ERRLEN, "service %s already exists", s);
		return -EEXIST;
	}
	return 0;
}

static int get_backend(struct json_object *req, struct xlb_sockaddr *addr, char *err)
{
	const char *s;
	char perr[256];
	int ret;

	ret = get_string(req, "backend", true, &s, err);
	if (ret)
		return ret;
	if (addr_parse(s, ADDR_PORT_OPTIONAL, addr, perr, sizeof(perr))) {
		snprintf(err, CONTROL_ERRLEN, "backend: %s", perr);
		return -EINVAL;
	}
	return 0;
}

/* The text of a scalar JSON value as the config file would write it;
 * NULL for arrays, objects and null. */
static const char *json_text(struct json_object *v, char *buf, size_t len)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		return json_object_get_string(v);
	case json_type_int:
		snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
		return buf;
	case json_type_boolean:
		return json_object_get_boolean(v) ? "true" : "false";
	default:
		return NULL;
	}
}

/* The request field v of the config key k into obj, a struct of the
 * section sec: the file's parser, names and limits (src/lib/schema.c).
 * A mapping (health_check, timeouts) is its YAML: "type: http, path: /". */
static int set_field(const struct schema_section *sec, const struct schema_key *k,
		     struct json_object *v, void *obj, char *err)
{
	char buf[32];
	const char *s = json_text(v, buf, sizeof(buf));

	if (!s) {
		snprintf(err, CONTROL_ERRLEN, "request field '%s' must be a string or a "
			 "number", k->key);
		return -EINVAL;
	}
	if (k->type != SCHEMA_NODE)
		return schema_parse(k, "", s, obj, err, CONTROL_ERRLEN);
	/* "none" removes a check, as no health_check key does. */
	if (!strcmp(k->key, "health_check") && !strcmp(s, "none"))
		s = "type: none";
	return config_parse_value(sec, k->key, s, obj, err, CONTROL_ERRLEN);
}

/* The field `key` of req, a config key of sec, into obj when present. */
static int get_field(struct json_object *req, const struct schema_section *sec,
		     const char *key, bool required, void *obj, bool *present,
		     char *err)
{
	struct json_object *v;

	*present = json_object_object_get_ex(req, key, &v);
	if (!*present && required) {
		snprintf(err, CONTROL_ERRLEN, "request field '%s' is missing", key);
		return -EINVAL;
	}
	return *present ? set_field(sec, schema_key(sec, key), v, obj, err) : 0;
}

/* The service settings of a request (service_add, service_set): every
 * field but cmd and service is a config key of a service that the API may
 * set (SK_API rows). *n counts them. */
static int set_svc_fields(struct json_object *req, struct xlb_service_cfg *svc,
			  bool add, size_t *n, char *err)
{
	*n = 0;
	json_object_object_foreach(req, key, v) {
		const struct schema_key *k = schema_find(&schema_service, key);
		int ret;

		if (!strcmp(key, "cmd") || !strcmp(key, "service"))
			continue;
		if (!k || !(k->flags & SK_API)) {
			snprintf(err, CONTROL_ERRLEN, "unknown request field '%.64s'", key);
			return -EINVAL;
		}
		if (!add && !strcmp(key, "mode")) {
			snprintf(err, CONTROL_ERRLEN, "the mode of a service cannot change "
				 "in place (its flows would break): delete and add it");
			return -EINVAL;
		}
		ret = set_field(&schema_service, k, v, svc, err);
		if (ret)
			return ret;
		(*n)++;
	}
	/* Persistence turned off takes its netmask along. */
	if (json_object_object_get_ex(req, "persistence", NULL) && !svc->persistence &&
	    !json_object_object_get_ex(req, "persistence_netmask", NULL))
		svc->persistence_plen = 0;
	return 0;
}

static int do_service_add(struct json_object *req, struct xlb_config *cfg, char *err)
{
	struct xlb_service_cfg *svc, *arr, add;
	struct xlb_sockaddr vip;
	const char *mode;
	uint8_t proto;
	size_t n;
	int ret;

	memset(&add, 0, sizeof(add));
	schema_defaults(&schema_service, &add);
	ret = get_service(req, cfg, false, &proto, &vip, &svc, err);
	if (!ret)
		ret = get_string(req, "mode", true, &mode, err);
	if (ret)
		return ret;
	add.vip = vip;
	add.proto = proto;
	ret = set_svc_fields(req, &add, true, &n, err);
	if (ret)
		return ret;
	arr = realloc(cfg->services, (cfg->n_services + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	cfg->services = arr;
	arr[cfg->n_services++] = add;
	return 0;
}

/* ipvsadm -E: the settings of a service change in place; its id, backends
 * and flows stay (state_apply keeps what is the same service). */
static int do_service_set(struct json_object *req, struct xlb_config *cfg, char *err)
{
	struct xlb_service_cfg *svc;
	struct xlb_sockaddr vip;
	uint8_t proto;
	size_t n;
	int ret;

	ret = get_service(req, cfg, true, &proto, &vip, &svc, err);
	if (!ret)
		ret = set_svc_fields(req, svc, false, &n, err);
	if (ret)
		return ret;
	if (!n) {
		snprintf(err, CONTROL_ERRLEN, "service_set: nothing to change (a service "
			 "key such as scheduler, persistence, name, health_check or "
			 "timeouts)");
		return -EINVAL;
	}
	return 0;
}

static int do_service_del(struct json_object *req, struct xlb_config *cfg, char *err)
{
	struct xlb_service_cfg *svc;
	struct xlb_sockaddr vip;
	uint8_t proto;
	size_t idx;
	int ret;

	ret = get_service(req, cfg, true, &proto, &vip, &svc, err);
	if (ret)
		return ret;
	idx = svc - cfg->services;
	free(svc->backends);
	memmove(svc, svc + 1, (cfg->n_services - idx - 1) * sizeof(*svc));
	cfg->n_services--;
	return 0;
}

/* The forced health of a backend_set ("health": up|down|auto) into
 * *health (-1 when absent). */
static int get_forced_health(struct json_object *req, int *health, char *err)
{
	const char *h;
	int ret;

	*health = -1;
	ret = get_string(req, "health", false, &h, err);
	if (ret || !h)
		return ret;
	*health = !strcmp(h, "up") ? HEALTH_UP : !strcmp(h, "down") ? HEALTH_DOWN :
		  !strcmp(h, "auto") ? HEALTH_UNKNOWN : -1;
	if (*health < 0) {
		snprintf(err, CONTROL_ERRLEN, "health '%s' (expected up, down or auto)", h);
		return -EINVAL;
	}
	return 0;
}

/* The keys a backend_add or backend_set may carry, in this order. */
static const char *const be_fields[] = { "weight", "state", "backup" };
#define BE_FIELDS (sizeof(be_fields) / sizeof(be_fields[0]))

/* backend_add, backend_set, backend_del on cfg. A forced health (set only)
 * is not config: it goes to *health for the caller to apply once the rest
 * is in (-1: none). */
static int do_backend(struct json_object *req, struct xlb_config *cfg,
		      const char *cmd, int *health, char *err)
{
	struct xlb_service_cfg *svc;
	struct xlb_backend_cfg *be, *arr, nb;
	struct xlb_sockaddr vip, addr;
	char buf[XLB_ADDRSTR_MAX];
	bool has[BE_FIELDS], set = !strcmp(cmd, "backend_set");
	uint8_t proto;
	int ret;

	schema_defaults(&schema_backend, &nb);
	ret = get_service(req, cfg, true, &proto, &vip, &svc, err);
	if (!ret)
		ret = get_backend(req, &addr, err);
	for (size_t i = 0; !ret && i < BE_FIELDS; i++)
		ret = get_field(req, &schema_backend, be_fields[i], false, &nb, &has[i], err);
	if (!ret)
		ret = get_forced_health(req, health, err);
	if (ret)
		return ret;
	if (set && !has[0] && !has[1] && !has[2] && *health < 0) {
		snprintf(err, CONTROL_ERRLEN, "backend_set: nothing to change (weight, "
			 "state, backup or health)");
		return -EINVAL;
	}
	if (!set && *health >= 0) {
		snprintf(err, CONTROL_ERRLEN, "'health' is forced with backend_set only");
		return -EINVAL;
	}
	be = config_find_backend(svc, &addr);
	addr_str(&addr, buf, sizeof(buf));
	if (!strcmp(cmd, "backend_add")) {
		if (be) {
			snprintf(err, CONTROL_ERRLEN, "backend %s already exists", buf);
			return -EEXIST;
		}
		arr = realloc(svc->backends, (svc->n_backends + 1) * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		svc->backends = arr;
		nb.addr = addr;
		arr[svc->n_backends++] = nb;
		return 0;
	}
	if (!be) {
		snprintf(err, CONTROL_ERRLEN, "no backend %s in this service", buf);
		return -ENOENT;
	}
	if (set) {
		be->weight = has[0] ? nb.weight : be->weight;
		be->state = has[1] ? nb.state : be->state;
		be->backup = has[2] ? nb.backup : be->backup;
		return 0;
	}
	memmove(be, be + 1, (svc->n_backends - (be - svc->backends) - 1) * sizeof(*be));
	svc->n_backends--;
	return 0;
}

/* After a backend_set was applied: force its health as asked. */
static int force_health(struct state *st, struct json_object *req, int health,
			char *err)
{
	struct xlb_sockaddr vip, addr;
	const char *s;
	uint8_t proto;

	/* Both fields were checked by do_backend. */
	if (get_string(req, "service", true, &s, err) ||
	    service_name_parse(s, &proto, &vip, err, CONTROL_ERRLEN) ||
	    get_backend(req, &addr, err))
		return -EINVAL;
	return state_force_health(st, proto, &vip, &addr, (uint8_t)health, err,
				  CONTROL_ERRLEN);
}

/* Counters of a proxy-mode service or backend (be == NULL: the service). */
static void add_proxy_counters(struct json_object *o, const struct xlb_service_cfg *sc,
			       const struct xlb_sockaddr *be)
{
	struct proxy_counters pc;
	struct json_object *p;

	if (proxy_stats(sc->proto, &sc->vip, be, &pc))
		return;
	p = json_object_new_object();
	json_object_object_add(p, "active", json_object_new_uint64(pc.active));
	json_object_object_add(p, "total", json_object_new_uint64(pc.total));
	json_object_object_add(p, "bytes_in", json_object_new_uint64(pc.bytes_in));
	json_object_object_add(p, "bytes_out", json_object_new_uint64(pc.bytes_out));
	json_object_object_add(p, "connect_fail", json_object_new_uint64(pc.connect_fail));
	json_object_object_add(p, "retries", json_object_new_uint64(pc.retries));
	json_object_object_add(p, "timeouts", json_object_new_uint64(pc.timeouts));
	json_object_object_add(p, "rejected", json_object_new_uint64(pc.rejected));
	json_object_object_add(p, "bad_header", json_object_new_uint64(pc.bad_header));
	json_object_object_add(p, "spliced", json_object_new_uint64(pc.spliced));
	json_object_object_add(o, "proxy", p);
}

static void add_counter(struct json_object *o, const struct xlb_counter *c)
{
	json_object_object_add(o, "packets", json_object_new_uint64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(c->bytes));
	json_object_object_add(o, "new_flows", json_object_new_uint64(c->new_flows));
	json_object_object_add(o, "packets_out", json_object_new_uint64(c->packets_out));
	json_object_object_add(o, "bytes_out", json_object_new_uint64(c->bytes_out));
}

/* health: the one that counts; health_forced when `backend set --health`
 * decides it, health_reason the checks' last word either way. */
static void add_health(struct json_object *b, const struct xlb_service_cfg *sc,
		       const struct backend_state *bs)
{
	json_object_object_add(b, "health", json_object_new_string(
		health_status_name(state_backend_health(bs))));
	json_object_object_add(b, "health_forced", json_object_new_boolean(bs->forced));
	json_object_object_add(b, "health_reason", json_object_new_string(
		sc->hc.type == XLB_HC_NONE ? "no health check" :
		bs->health_reason[0] ? bs->health_reason : "no result yet"));
}

/* "flood_guard": what the flood guard did, by xlb_guard_names. */
static void add_guard_stats(struct json_object *res, struct dataplane *dp)
{
	struct json_object *o = json_object_new_object();
	uint64_t g[XLB_G_MAX];

	if (dataplane_guard_stats(dp, g) == 0)
		for (int k = 0; k < XLB_G_MAX; k++)
			json_object_object_add(o, xlb_guard_names[k],
					       json_object_new_uint64(g[k]));
	json_object_object_add(res, "flood_guard", o);
}

/* `announce:` in `xlb list`: the node's drain and each VIP's state. */
static void add_announce(struct json_object *res, struct state *st)
{
	struct json_object *vips = json_object_new_array();
	const struct announce_vip *v;
	char buf[XLB_ADDRSTR_MAX];
	size_t n;

	v = announce_vips(st->announce, &n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "vip", json_object_new_string(
			addr_str_noport(&v[i].addr, buf, sizeof(buf))));
		json_object_object_add(o, "announced", json_object_new_boolean(
			v[i].announced));
		json_object_object_add(o, "reason", json_object_new_string(v[i].reason));
		json_object_array_add(vips, o);
	}
	json_object_object_add(res, "drained", json_object_new_boolean(
		announce_drained(st->announce)));
	json_object_object_add(res, "vips", vips);
}

/* One backend (index j of service sc) as `xlb list --json` shows it. */
static struct json_object *list_backend(struct state *st, const struct xlb_service_cfg *sc,
					const struct service_state *ss, size_t j)
{
	const struct xlb_backend_cfg *bc = &sc->backends[j];
	struct json_object *b = json_object_new_object();
	char buf[XLB_ADDRSTR_MAX + 8];
	struct xlb_counter c = { 0 };
	struct xlb_conns cn;

	json_object_object_add(b, "address", json_object_new_string(
		addr_str(&bc->addr, buf, sizeof(buf))));
	json_object_object_add(b, "weight", json_object_new_int(bc->weight));
	json_object_object_add(b, "state", json_object_new_string(
		bc->state == XLB_ADMIN_MAINT ? "maint" :
		bc->weight && bc->state == XLB_ADMIN_UP ? "active" : "draining"));
	json_object_object_add(b, "admin_state", json_object_new_string(
		admin_state_name(bc->state)));
	json_object_object_add(b, "backup", json_object_new_boolean(bc->backup));
	add_health(b, sc, &ss->backends[j]);
	json_object_object_add(b, "in_table", json_object_new_boolean(
		state_backend_takes_new(&ss->backends[j], bc)));
	if (st->dp)
		dataplane_backend_stats(st->dp, ss->backends[j].id, &c);
	add_counter(b, &c);
	if (sc->mode == XLB_MODE_PROXY)
		add_proxy_counters(b, sc, &bc->addr);
	/* Flows with states to count (as IPVS shows ActiveConn/InActConn):
	 * nat/fullnat, and dr/tun under lc/wlc. The data plane's counts,
	 * which the sweeper keeps right. */
	if (st->dp && (sc->mode == XLB_MODE_NAT || sc->mode == XLB_MODE_FULLNAT ||
		       sc->scheduler == XLB_SCHED_LC || sc->scheduler == XLB_SCHED_WLC) &&
	    dataplane_backend_conns(st->dp, ss->backends[j].id, &cn) == 0) {
		json_object_object_add(b, "active_conns", json_object_new_int64(cn.active));
		json_object_object_add(b, "inactive_conns",
				       json_object_new_int64(cn.inactive));
	}
	return b;
}

/* A service's share of the connection table (config_service_has_share):
 * its entries, max_flows and what it refused and evicted there. */
static void add_svc_flows(struct json_object *o, struct state *st,
			  const struct xlb_service_cfg *sc, const struct service_state *ss)
{
	struct xlb_svc_flows fl;

	if (!st->dp || !config_service_has_share(sc) ||
	    dataplane_svc_flows(st->dp, ss->id, &fl))
		return;
	json_object_object_add(o, "flows", json_object_new_int64(fl.n));
	json_object_object_add(o, "max_flows", json_object_new_uint64(fl.max));
	json_object_object_add(o, "flows_refused", json_object_new_uint64(fl.refused));
	json_object_object_add(o, "flows_evicted", json_object_new_uint64(fl.evicted));
}

/* Service i with its backends. */
static struct json_object *list_service(struct state *st, size_t i)
{
	const struct xlb_service_cfg *sc = &st->cfg.services[i];
	const struct service_state *ss = &st->services[i];
	struct json_object *o = json_object_new_object();
	struct json_object *bes = json_object_new_array();
	char buf[XLB_ADDRSTR_MAX + 8], hash[STATE_HASH_STRLEN];
	struct xlb_counter c = { 0 };

	json_object_object_add(o, "name", json_object_new_string(sc->name));
	json_object_object_add(o, "service", json_object_new_string(
		service_name_str(sc->proto, &sc->vip, buf, sizeof(buf))));
	json_object_object_add(o, "protocol", json_object_new_string(proto_name(sc->proto)));
	json_object_object_add(o, "vip", json_object_new_string(
		addr_str_noport(&sc->vip, buf, sizeof(buf))));
	json_object_object_add(o, "port", json_object_new_int(sc->vip.port));
	json_object_object_add(o, "mode", json_object_new_string(mode_name(sc->mode)));
	json_object_object_add(o, "scheduler", json_object_new_string(sched_name(sc->scheduler)));
	json_object_object_add(o, "persistence", json_object_new_int64(sc->persistence));
	json_object_object_add(o, "persistence_netmask", json_object_new_int(
		config_persist_plen(sc)));
	json_object_object_add(o, "health_check", json_object_new_string(
		hc_type_name(sc->hc.type)));
	json_object_object_add(o, "table_hash", json_object_new_string(
		state_table_hash_str(ss, hash)));
	if (st->dp)
		dataplane_svc_stats(st->dp, ss->id, &c);
	add_counter(o, &c);
	if (sc->mode == XLB_MODE_PROXY)
		add_proxy_counters(o, sc, NULL);
	add_svc_flows(o, st, sc, ss);
	for (size_t j = 0; j < sc->n_backends; j++)
		json_object_array_add(bes, list_backend(st, sc, ss, j));
	json_object_object_add(o, "backends", bes);
	return o;
}

static struct json_object *do_list(struct state *st)
{
	struct json_object *res = json_object_new_object();
	struct json_object *svcs = json_object_new_array();
	struct json_object *ifs = json_object_new_array();

	json_object_object_add(res, "instance", json_object_new_string(st->instance));
	for (size_t i = 0; i < st->cfg.n_interfaces; i++)
		json_object_array_add(ifs, json_object_new_string(st->cfg.interfaces[i]));
	json_object_object_add(res, "interfaces", ifs);
	for (size_t i = 0; i < st->cfg.n_services; i++)
		json_object_array_add(svcs, list_service(st, i));
	json_object_object_add(res, "services", svcs);
	if (st->announce)
		add_announce(res, st);
	if (st->dp) {
		struct json_object *reasons = json_object_new_object();
		uint64_t r[XLB_R_MAX];

		if (dataplane_reason_stats(st->dp, r) == 0)
			for (int k = 0; k < XLB_R_MAX; k++)
				json_object_object_add(reasons, xlb_reason_names[k],
						       json_object_new_uint64(r[k]));
		json_object_object_add(res, "reasons", reasons);
		add_guard_stats(res, st->dp);
	}
	return res;
}

/* node_drain / node_undrain: no config change, only what is announced. */
static struct json_object *do_node_drain(struct state *st, bool drain)
{
	char err[CONTROL_ERRLEN];

	if (!st->announce)
		return control_reply_error(drain ?
			"this xlbd has no `announce:` in its config: there is no "
			"announced VIP to withdraw" :
			"this xlbd has no `announce:` in its config: there is no "
			"VIP to announce");
	if (announce_set_drained(st->announce, drain, err, sizeof(err)))
		return control_reply_error(err);
	announce_sync(st->announce, st);
	return reply_ok(NULL);
}

/* The keys fixed for xlbd's life (state_apply refuses a change of them):
 * a file that leaves one out keeps the running value, so a file of
 * services alone (`xlb import ipvsadm | xlb apply -f -`) applies. */
static void keep_absent_fixed(const char *yaml, struct xlb_config *run,
			      struct xlb_config *next)
{
	size_t len = strlen(yaml), l, c;

#define ABSENT(key) (!yaml_find_text(yaml, len, key, YAML_FIND_KEY, &l, &c))
	if (ABSENT("interfaces")) {
		free(next->interfaces);
		next->interfaces = run->interfaces;
		next->n_interfaces = run->n_interfaces;
		run->interfaces = NULL;
		run->n_interfaces = 0;
	}
	if (ABSENT("instance"))
		memcpy(next->instance, run->instance, sizeof(next->instance));
	if (ABSENT("flow_table_size"))
		next->flow_table_size = run->flow_table_size;
	if (ABSENT("dsr_flow_table_size"))
		next->dsr_flow_table_size = run->dsr_flow_table_size;
	if (ABSENT("maglev_table_size"))
		next->maglev_table_size = run->maglev_table_size;
	if (ABSENT("manage_addresses"))
		next->manage_addresses = run->manage_addresses;
	if (ABSENT("metrics"))
		next->metrics_listen = run->metrics_listen;
	if (ABSENT("bpffs"))
		memcpy(next->bpffs, run->bpffs, sizeof(next->bpffs));
	if (ABSENT("announce"))
		next->announce = run->announce;
	if (ABSENT("proxy_workers"))
		next->proxy_workers = run->proxy_workers;
#undef ABSENT
}

static int do_apply(struct json_object *req, struct xlb_config *cfg, char *err)
{
	const char *yaml, *origin;
	char perr[CONTROL_ERRLEN];
	struct xlb_config run;
	int ret;

	ret = get_string(req, "yaml", true, &yaml, err);
	if (!ret)
		ret = get_string(req, "origin", false, &origin, err);
	if (ret)
		return ret;
	run = *cfg;
	ret = config_parse_buf(yaml, strlen(yaml), origin ? origin : "<apply>", cfg,
			       perr, sizeof(perr));
	if (ret)
		snprintf(err, CONTROL_ERRLEN, "%s", perr);
	else
		keep_absent_fixed(yaml, &run, cfg);     /* state_apply validates it */
	config_free(&run);
	return ret;
}

static const char *const ct_state_names[XLB_CT_MAX] = {
	[XLB_CT_NONE] = "-", [XLB_CT_SYN_SENT] = "SYN_SENT",
	[XLB_CT_ESTABLISHED] = "ESTABLISHED", [XLB_CT_FIN_WAIT] = "FIN_WAIT",
	[XLB_CT_CLOSE] = "CLOSE", [XLB_CT_TIME_WAIT] = "TIME_WAIT", [XLB_CT_UDP] = "UDP",
	[XLB_CT_SYN_RECV] = "SYN_RECV",
};

/* The walk of `conns`: which service (NULL: all), how many to list. */
struct conns_walk {
	struct state *st;
	const struct service_state *only;
	uint32_t limit;
	uint64_t total;
	struct json_object *list;
};

static int conns_one(void *arg, const struct xlb_flow_key *k, const struct xlb_flow *f,
		     int64_t left_ms)
{
	struct conns_walk *w = arg;
	const struct service_state *ss = NULL;
	const struct backend_state *b = NULL;
	struct xlb_sockaddr a = { .family = k->family };
	char buf[XLB_ADDRSTR_MAX + 8];
	struct json_object *o;

	for (size_t i = 0; i < w->st->n_services && !ss; i++)
		if (w->st->services[i].id == f->svc_id)
			ss = &w->st->services[i];
	if (!ss || (w->only && ss != w->only) || left_ms == 0)
		return 0;
	if (w->total++ >= w->limit)
		return 0;
	for (size_t j = 0; j < ss->n_backends && !b; j++)
		if (ss->backends[j].id == f->backend_id)
			b = &ss->backends[j];
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(
		service_name_str(ss->proto, &ss->vip, buf, sizeof(buf))));
	a.addr = k->src;
	a.port = ntohs(k->sport_be);
	json_object_object_add(o, "client", json_object_new_string(
		addr_str(&a, buf, sizeof(buf))));
	a.addr = k->dst;
	a.port = ntohs(k->dport_be);
	json_object_object_add(o, "vip", json_object_new_string(addr_str(&a, buf, sizeof(buf))));
	json_object_object_add(o, "backend", json_object_new_string(
		b ? addr_str(&b->addr, buf, sizeof(buf)) : "(gone)"));
	json_object_object_add(o, "state", json_object_new_string(
		f->state < XLB_CT_MAX ? ct_state_names[f->state] : "?"));
	json_object_object_add(o, "expires_in_ms", left_ms < 0 ? NULL :
			       json_object_new_int64(left_ms));
	json_object_array_add(w->list, o);
	return 0;
}

/* The connections of mode proxy, after the data plane's flows: of w->only
 * (a proxy service) or of every one, as many as w->limit leaves room for.
 * Returns how many workers did not answer. */
static unsigned conns_proxy(struct conns_walk *w)
{
	size_t listed = json_object_array_length(w->list), n;
	char buf[XLB_ADDRSTR_MAX + 8];
	struct proxy_conn *rows;
	unsigned missing;
	uint64_t total;

	n = proxy_conns(w->only ? w->only->proto : 0, w->only ? &w->only->vip : NULL,
			w->limit > listed ? w->limit - listed : 0, &rows, &total, &missing);
	for (size_t i = 0; i < n; i++) {
		const struct proxy_conn *r = &rows[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "service", json_object_new_string(
			service_name_str(r->proto, &r->service, buf, sizeof(buf))));
		json_object_object_add(o, "client", json_object_new_string(
			addr_str(&r->client, buf, sizeof(buf))));
		json_object_object_add(o, "vip", json_object_new_string(
			addr_str(&r->vip, buf, sizeof(buf))));
		json_object_object_add(o, "backend", json_object_new_string(
			r->backend.family ? addr_str(&r->backend, buf, sizeof(buf)) : "-"));
		json_object_object_add(o, "state", json_object_new_string(r->state));
		json_object_object_add(o, "expires_in_ms",
				       json_object_new_int64((int64_t)r->expires_in_ms));
		json_object_array_add(w->list, o);
	}
	free(rows);
	w->total += total;
	return missing;
}

/* The optional "service" of conns and zero (*ss NULL: every service). */
static int get_named_service(struct state *st, struct json_object *req,
			     const struct service_state **ss, char *err)
{
	struct xlb_sockaddr vip;
	const char *s;
	uint8_t proto;
	int ret;

	*ss = NULL;
	ret = get_string(req, "service", false, &s, err);
	if (ret || !s)
		return ret;
	if (service_name_parse(s, &proto, &vip, err, CONTROL_ERRLEN))
		return -EINVAL;
	*ss = state_find_service(st, proto, &vip);
	if (!*ss) {
		snprintf(err, CONTROL_ERRLEN, "no service %s", s);
		return -ENOENT;
	}
	return 0;
}

/* ipvsadm -L -c: the flows of the data plane (nat/fullnat connections with
 * their state and time left; the flow table of dr/tun, whose entries stay
 * until it needs room), then the connections and sessions of mode proxy. */
static int do_conns(struct state *st, struct json_object *req,
		    struct json_object **res, char *err)
{
	struct conns_walk w = { .st = st, .limit = UINT32_MAX };
	struct dataplane_unlisted unlisted = { 0 };
	struct json_object *v;
	unsigned missing = 0;
	bool proxy_only;
	int ret;

	ret = get_named_service(st, req, &w.only, err);
	if (ret)
		return ret;
	proxy_only = w.only && st->cfg.services[w.only - st->services].mode == XLB_MODE_PROXY;
	if (json_object_object_get_ex(req, "limit", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > UINT32_MAX) {
			snprintf(err, CONTROL_ERRLEN, "request field 'limit' must be a count "
				 "(0-%u)", UINT32_MAX);
			return -EINVAL;
		}
		w.limit = (uint32_t)json_object_get_int64(v);
	}
	w.list = json_object_new_array();
	unlisted.svc_id = w.only ? (int64_t)w.only->id : -1;
	if (st->dp && !proxy_only &&
	    (ret = dataplane_flows_each(st->dp, conns_one, &w, &unlisted))) {
		json_object_put(w.list);
		snprintf(err, CONTROL_ERRLEN, "cannot read the flow table: %s", strerror(-ret));
		return ret;
	}
	if (!w.only || proxy_only)
		missing = conns_proxy(&w);
	*res = json_object_new_object();
	json_object_object_add(*res, "conns", w.list);
	json_object_object_add(*res, "total", json_object_new_uint64(w.total));
	/* dr/tun flows whose 5-tuple their first packet did not write: not
	 * listed, counted (a SYN flood's residue shows here). */
	if (st->dp && !proxy_only)
		json_object_object_add(*res, "one_packet_flows",
				       json_object_new_uint64(unlisted.n));
	if (missing)
		json_object_object_add(*res, "proxy_workers_missing",
				       json_object_new_int64(missing));
	return 0;
}

/* ipvsadm -Z: the counters of one service and its backends, or of all
 * (what `list` and the metrics show start again from 0). */
static int do_zero(struct state *st, struct json_object *req, char *err)
{
	const struct service_state *only;
	int ret;

	ret = get_named_service(st, req, &only, err);
	if (ret)
		return ret;
	for (size_t i = 0; i < st->n_services; i++) {
		const struct service_state *ss = &st->services[i];

		if (only && ss != only)
			continue;
		/* The proxy engine keeps its own (no-op when it never served
		 * the service). */
		if (st->cfg.services[i].mode == XLB_MODE_PROXY)
			proxy_zero(ss->proto, &ss->vip);
		if (!st->dp)
			continue;
		dataplane_svc_stats_reset(st->dp, ss->id);
		for (size_t j = 0; j < ss->n_backends; j++)
			dataplane_backend_stats_reset(st->dp, ss->backends[j].id);
	}
	return 0;
}

/* The commands that read the state or act on it without editing the config.
 * Returns false (and leaves @reply) when @cmd is not one of them. */
static bool handle_query(struct state *st, struct json_object *req, const char *cmd,
			 struct json_object **reply)
{
	char err[CONTROL_ERRLEN] = "";
	int ret;

	if (!strcmp(cmd, "version")) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "version", json_object_new_string(XLB_VERSION));
		*reply = reply_ok(r);
		return true;
	}
	if (!strcmp(cmd, "list")) {
		*reply = reply_ok(do_list(st));
		return true;
	}
	if (!strcmp(cmd, "node_drain") || !strcmp(cmd, "node_undrain")) {
		*reply = do_node_drain(st, !strcmp(cmd, "node_drain"));
		return true;
	}
	if (!strcmp(cmd, "conns") || !strcmp(cmd, "zero")) {
		struct json_object *res = NULL;

		ret = !strcmp(cmd, "conns") ? do_conns(st, req, &res, err) :
					      do_zero(st, req, err);
		if (ret) {
			*reply = control_reply_error(err);
			return true;
		}
		if (!strcmp(cmd, "zero"))
			log_info("applied 'zero'");
		*reply = reply_ok(res);
		return true;
	}
	if (!strcmp(cmd, "save")) {
		char *yaml = config_emit_yaml(&st->cfg);
		struct json_object *r;

		if (!yaml) {
			*reply = control_reply_error("out of memory");
			return true;
		}
		r = json_object_new_object();
		json_object_object_add(r, "yaml", json_object_new_string(yaml));
		free(yaml);
		*reply = reply_ok(r);
		return true;
	}
	return false;
}

/* Applies the editing command @cmd to @next, the copy of the running config.
 * Sets *@health when the command forces a backend's health. */
static int edit_config(struct json_object *req, struct xlb_config *next,
		       const char *cmd, int *health, char *err)
{
	int ret;

	if (!strcmp(cmd, "service_add"))
		ret = do_service_add(req, next, err);
	else if (!strcmp(cmd, "service_set"))
		ret = do_service_set(req, next, err);
	else if (!strcmp(cmd, "service_del"))
		ret = do_service_del(req, next, err);
	else if (!strcmp(cmd, "backend_add") || !strcmp(cmd, "backend_set") ||
		 !strcmp(cmd, "backend_del"))
		ret = do_backend(req, next, cmd, health, err);
	else if (!strcmp(cmd, "apply"))
		ret = do_apply(req, next, err);
	else {
		snprintf(err, CONTROL_ERRLEN, "unknown command '%.64s'", cmd);
		ret = -EINVAL;
	}
	return ret;
}

struct json_object *control_handle(struct state *st, struct json_object *req)
{
	char err[CONTROL_ERRLEN] = "";
	struct json_object *reply;
	struct xlb_config next;
	const char *cmd;
	int ret, health = -1;

	if (!json_object_is_type(req, json_type_object))
		return control_reply_error("request must be a JSON object");
	if (get_string(req, "cmd", true, &cmd, err))
		return control_reply_error(err);
	if (handle_query(st, req, cmd, &reply))
		return reply;

	/* Every other command edits a copy of the running config; the copy
	 * replaces it only when state_apply() accepts it whole. */
	if (config_copy(&next, &st->cfg))
		return control_reply_error("out of memory");
	ret = edit_config(req, &next, cmd, &health, err);
	if (!ret)
		ret = state_apply(st, &next, err, sizeof(err));
	if (!ret && health >= 0)
		ret = force_health(st, req, health, err);
	config_free(&next);
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		log_warn("rejected '%s': %s", cmd, err);
		return control_reply_error(err);
	}
	log_info("applied '%s'", cmd);
	return reply_ok(NULL);
}
