// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The commands of the control API: decodes a request, checks every field,
 * turns it into a new config and hands it to state_apply(), or answers a
 * query (list). The socket side is control_server.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"
#include "control_server.h"
#include "log.h"
#include "proxy.h"
#include "schema.h"


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

static int do_backend(struct json_object *req, struct xlb_config *cfg,
		      const char *cmd, char *err)
{
	struct xlb_service_cfg *svc;
	struct xlb_backend_cfg *be, *arr, nb;
	struct xlb_sockaddr vip, addr;
	char buf[XLB_ADDRSTR_MAX];
	uint32_t weight;
	bool has_weight;
	uint8_t proto;
	int ret;

	schema_defaults(&schema_backend, &nb);
	ret = get_service(req, cfg, true, &proto, &vip, &svc, err);
	if (!ret)
		ret = get_backend(req, &addr, err);
	if (!ret)
		ret = get_field(req, &schema_backend, "weight", !strcmp(cmd, "backend_set"),
				&nb, &has_weight, err);
	if (ret)
		return ret;
	weight = nb.weight;
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
		arr[svc->n_backends].addr = addr;
		arr[svc->n_backends++].weight = weight;
		return 0;
	}
	if (!be) {
		snprintf(err, CONTROL_ERRLEN, "no backend %s in this service", buf);
		return -ENOENT;
	}
	if (!strcmp(cmd, "backend_set")) {
		be->weight = weight;
		return 0;
	}
	memmove(be, be + 1, (svc->n_backends - (be - svc->backends) - 1) * sizeof(*be));
	svc->n_backends--;
	return 0;
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
	json_object_object_add(o, "proxy", p);
}

static void add_counter(struct json_object *o, const struct xlb_counter *c)
{
	json_object_object_add(o, "packets", json_object_new_uint64(c->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(c->bytes));
	json_object_object_add(o, "new_flows", json_object_new_uint64(c->new_flows));
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

static struct json_object *do_list(struct state *st)
{
	struct json_object *res = json_object_new_object();
	struct json_object *svcs = json_object_new_array();
	struct json_object *ifs = json_object_new_array();
	char buf[XLB_ADDRSTR_MAX + 8];
	json_object_object_add(res, "instance", json_object_new_string(st->instance));
	for (size_t i = 0; i < st->cfg.n_interfaces; i++)
		json_object_array_add(ifs, json_object_new_string(st->cfg.interfaces[i]));
	json_object_object_add(res, "interfaces", ifs);
	for (size_t i = 0; i < st->cfg.n_services; i++) {
		const struct xlb_service_cfg *sc = &st->cfg.services[i];
		const struct service_state *ss = &st->services[i];
		struct json_object *o = json_object_new_object();
		struct json_object *bes = json_object_new_array();
		struct xlb_counter c = { 0 };
		char hash[STATE_HASH_STRLEN];

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
		for (size_t j = 0; j < sc->n_backends; j++) {
			const struct xlb_backend_cfg *bc = &sc->backends[j];
			struct json_object *b = json_object_new_object();
			struct xlb_conns cn;

			memset(&c, 0, sizeof(c));
			json_object_object_add(b, "address", json_object_new_string(
				addr_str(&bc->addr, buf, sizeof(buf))));
			json_object_object_add(b, "weight", json_object_new_int(bc->weight));
			json_object_object_add(b, "state", json_object_new_string(
				bc->weight ? "active" : "draining"));
			json_object_object_add(b, "health", json_object_new_string(
				health_status_name(ss->backends[j].health)));
			json_object_object_add(b, "health_reason", json_object_new_string(
				sc->hc.type == XLB_HC_NONE ? "no health check" :
				ss->backends[j].health_reason[0] ?
				ss->backends[j].health_reason : "no result yet"));
			json_object_object_add(b, "in_table", json_object_new_boolean(
				ss->backends[j].in_table && bc->weight));
			if (st->dp)
				dataplane_backend_stats(st->dp, ss->backends[j].id, &c);
			add_counter(b, &c);
			if (sc->mode == XLB_MODE_PROXY)
				add_proxy_counters(b, sc, &bc->addr);
			/* Only nat/fullnat flows have states to count (as IPVS
			 * shows ActiveConn/InActConn): the data plane's counts,
			 * which the sweeper keeps right. */
			if (st->dp && (sc->mode == XLB_MODE_NAT ||
				       sc->mode == XLB_MODE_FULLNAT) &&
			    dataplane_backend_conns(st->dp, ss->backends[j].id, &cn) == 0) {
				json_object_object_add(b, "active_conns",
						       json_object_new_int64(cn.active));
				json_object_object_add(b, "inactive_conns",
						       json_object_new_int64(cn.inactive));
			}
			json_object_array_add(bes, b);
		}
		json_object_object_add(o, "backends", bes);
		json_object_array_add(svcs, o);
	}
	json_object_object_add(res, "services", svcs);
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

static int do_apply(struct json_object *req, struct xlb_config *cfg, char *err)
{
	const char *yaml, *origin;
	char perr[CONTROL_ERRLEN];
	int ret;

	ret = get_string(req, "yaml", true, &yaml, err);
	if (!ret)
		ret = get_string(req, "origin", false, &origin, err);
	if (ret)
		return ret;
	config_free(cfg);
	ret = config_parse_buf(yaml, strlen(yaml), origin ? origin : "<apply>", cfg,
			       perr, sizeof(perr));
	if (ret) {
		snprintf(err, CONTROL_ERRLEN, "%s", perr);
		return ret;
	}
	return 0;
}

struct json_object *control_handle(struct state *st, struct json_object *req)
{
	char err[CONTROL_ERRLEN] = "";
	struct xlb_config next;
	const char *cmd;
	int ret;

	if (!json_object_is_type(req, json_type_object))
		return control_reply_error("request must be a JSON object");
	if (get_string(req, "cmd", true, &cmd, err))
		return control_reply_error(err);
	if (!strcmp(cmd, "version")) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "version", json_object_new_string(XLB_VERSION));
		return reply_ok(r);
	}
	if (!strcmp(cmd, "list"))
		return reply_ok(do_list(st));
	if (!strcmp(cmd, "save")) {
		char *yaml = config_emit_yaml(&st->cfg);
		struct json_object *r;

		if (!yaml)
			return control_reply_error("out of memory");
		r = json_object_new_object();
		json_object_object_add(r, "yaml", json_object_new_string(yaml));
		free(yaml);
		return reply_ok(r);
	}

	/* Every other command edits a copy of the running config; the copy
	 * replaces it only when state_apply() accepts it whole. */
	if (config_copy(&next, &st->cfg))
		return control_reply_error("out of memory");
	if (!strcmp(cmd, "service_add"))
		ret = do_service_add(req, &next, err);
	else if (!strcmp(cmd, "service_set"))
		ret = do_service_set(req, &next, err);
	else if (!strcmp(cmd, "service_del"))
		ret = do_service_del(req, &next, err);
	else if (!strcmp(cmd, "backend_add") || !strcmp(cmd, "backend_set") ||
		 !strcmp(cmd, "backend_del"))
		ret = do_backend(req, &next, cmd, err);
	else if (!strcmp(cmd, "apply"))
		ret = do_apply(req, &next, err);
	else {
		snprintf(err, sizeof(err), "unknown command '%.64s'", cmd);
		ret = -EINVAL;
	}
	if (!ret)
		ret = state_apply(st, &next, err, sizeof(err));
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
