// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The operator commands of the control API (service_set, backend states,
 * apply with fixed keys) against a state without a data plane: what each
 * request changes in the running config, and that a refused one changes
 * nothing. */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "control_server.h"
#include "state.h"
#include "unit.h"

static struct state st;

/* Send the JSON text req; returns the reply's error, "" when ok (static). */
static const char *send_req(const char *text)
{
	static char err[1024];
	struct json_object *req = json_tokener_parse(text), *reply, *v;

	err[0] = '\0';
	if (!req) {
		snprintf(err, sizeof(err), "bad test JSON: %s", text);
		return err;
	}
	reply = control_handle(&st, req);
	if (json_object_object_get_ex(reply, "ok", &v) && !json_object_get_boolean(v) &&
	    json_object_object_get_ex(reply, "error", &v))
		snprintf(err, sizeof(err), "%s", json_object_get_string(v));
	json_object_put(reply);
	json_object_put(req);
	return err;
}

#define OK(text) do {                                                   \
	const char *e_ = send_req(text);                                \
	CHECK(!e_[0], "%s -> %s", text, e_);                            \
} while (0)

/* A refused request: its error starts with msg and the config is as before. */
#define REFUSED(text, msg) do {                                         \
	char *before_ = config_emit_yaml(&st.cfg), *after_;             \
	const char *e_ = send_req(text);                                \
	after_ = config_emit_yaml(&st.cfg);                             \
	CHECK(!strncmp(e_, msg, strlen(msg)), "%s -> '%s'", text, e_);  \
	CHECK(!strcmp(before_, after_), "%s changed the config", text); \
	free(before_);                                                  \
	free(after_);                                                   \
} while (0)

static const struct xlb_service_cfg *svc0(void)
{
	return st.cfg.n_services ? &st.cfg.services[0] : NULL;
}

static void setup(void)
{
	struct xlb_config base;

	config_init(&base);
	base.manage_addresses = false;
	state_init(&st, NULL, &base);
	config_free(&base);
	OK("{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:80\",\"mode\":\"nat\","
	   "\"health_check\":\"type: tcp, interval: 1s\"}");
	OK("{\"cmd\":\"backend_add\",\"service\":\"tcp/198.18.0.100:80\","
	   "\"backend\":\"198.18.0.11\",\"weight\":50}");
}

static void test_service_add_health_check(void)
{
	CHECK(svc0() && svc0()->hc.type == XLB_HC_TCP && svc0()->hc.interval_ms == 1000,
	      "hc type %d interval %u", svc0() ? svc0()->hc.type : -1,
	      svc0() ? svc0()->hc.interval_ms : 0);
	REFUSED("{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:81\",\"mode\":\"dr\","
		"\"health_check\":\"type: smtp\"}", "health_check: ");
}

static void test_service_set(void)
{
	uint32_t id = st.services[0].backends[0].id;

	OK("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\",\"scheduler\":\"wrr\","
	   "\"name\":\"web\",\"persistence\":60,\"timeouts\":\"tcp_established: 900s\","
	   "\"health_check\":\"{type: http, path: /health}\"}");
	CHECK(svc0()->scheduler == XLB_SCHED_WRR && !strcmp(svc0()->name, "web") &&
	      svc0()->persistence == 60 && svc0()->timeouts.tcp_established == 900 &&
	      svc0()->hc.type == XLB_HC_HTTP && !strcmp(svc0()->hc.path, "/health"),
	      "sched %d name '%s' persistence %u est %u hc %d path '%s'", svc0()->scheduler,
	      svc0()->name, svc0()->persistence, svc0()->timeouts.tcp_established,
	      svc0()->hc.type, svc0()->hc.path);
	/* In place: the same backend, the same id (its flows point at it). */
	CHECK(svc0()->n_backends == 1 && svc0()->backends[0].weight == 50 &&
	      st.services[0].backends[0].id == id, "backends changed");
	OK("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\","
	   "\"persistence_netmask\":\"255.255.255.0\"}");
	CHECK(svc0()->persistence == 60 && svc0()->persistence_plen == 24,
	      "persistence %u plen %u", svc0()->persistence, svc0()->persistence_plen);
	REFUSED("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\","
		"\"persistence_netmask\":\"255.0.255.0\"}", "persistence_netmask: ");
	/* Off: the netmask goes with it (alone it is refused). */
	OK("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\",\"persistence\":0}");
	CHECK(!svc0()->persistence && !svc0()->persistence_plen, "plen %u",
	      svc0()->persistence_plen);
	OK("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\",\"health_check\":\"none\"}");
	CHECK(svc0()->hc.type == XLB_HC_NONE, "hc %d", svc0()->hc.type);
	REFUSED("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\",\"mode\":\"dr\"}",
		"the mode of a service cannot change in place");
	REFUSED("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\"}",
		"service_set: nothing to change");
	REFUSED("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:99\",\"name\":\"x\"}",
		"no service tcp/198.18.0.100:99");
	REFUSED("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\","
		"\"timeouts\":\"tcp_bogus: 1s\"}", "timeouts: ");
	REFUSED("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\","
		"\"health_check\":\"type: http, path: [\"}", "health_check: ");
}

static const struct backend_state *bs0(void)
{
	return &st.services[0].backends[0];
}

static void test_backend_states(void)
{
	const char *set = "{\"cmd\":\"backend_set\",\"service\":\"tcp/198.18.0.100:80\","
			  "\"backend\":\"198.18.0.11\",";
	char req[512], *yaml;

	snprintf(req, sizeof(req), "%s\"state\":\"drain\"}", set);
	OK(req);
	/* Drained: no new flows, the weight kept for the way back. */
	CHECK(svc0()->backends[0].state == XLB_ADMIN_DRAIN && svc0()->backends[0].weight == 50 &&
	      bs0()->in_table && !state_backend_takes_new(bs0(), &svc0()->backends[0]),
	      "state %d weight %u", svc0()->backends[0].state, svc0()->backends[0].weight);
	yaml = config_emit_yaml(&st.cfg);
	CHECK(strstr(yaml, "{ address: 198.18.0.11, weight: 50, state: drain }"), "%s", yaml);
	free(yaml);
	snprintf(req, sizeof(req), "%s\"state\":\"maint\"}", set);
	OK(req);
	CHECK(!bs0()->in_table, "a backend in maintenance stays in the table");
	snprintf(req, sizeof(req), "%s\"state\":\"up\",\"weight\":60}", set);
	OK(req);
	CHECK(state_backend_takes_new(bs0(), &svc0()->backends[0]) &&
	      svc0()->backends[0].weight == 60, "not back up");

	snprintf(req, sizeof(req), "%s\"health\":\"down\"}", set);
	OK(req);
	CHECK(bs0()->forced == HEALTH_DOWN && state_backend_health(bs0()) == HEALTH_DOWN &&
	      !bs0()->in_table, "forced down: forced %d in_table %d", bs0()->forced,
	      bs0()->in_table);
	/* Forced health is not config: save does not carry it. */
	yaml = config_emit_yaml(&st.cfg);
	CHECK(!strstr(yaml, "health: down"), "%s", yaml);
	free(yaml);
	/* It survives other changes of the service. */
	OK("{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\",\"name\":\"w\"}");
	CHECK(bs0()->forced == HEALTH_DOWN, "forced health lost by service_set");
	snprintf(req, sizeof(req), "%s\"health\":\"auto\"}", set);
	OK(req);
	CHECK(!bs0()->forced && bs0()->in_table, "auto: forced %d", bs0()->forced);

	snprintf(req, sizeof(req), "%s\"state\":\"off\"}", set);
	REFUSED(req, "state: 'off' (expected up, drain or maint)");
	snprintf(req, sizeof(req), "%s\"health\":\"maybe\"}", set);
	REFUSED(req, "health 'maybe' (expected up, down or auto)");
	snprintf(req, sizeof(req), "%s\"x\":1}", set);
	REFUSED(req, "backend_set: nothing to change");
	REFUSED("{\"cmd\":\"backend_add\",\"service\":\"tcp/198.18.0.100:80\","
		"\"backend\":\"198.18.0.12\",\"health\":\"up\"}",
		"'health' is forced with backend_set only");
}

/* A file without the keys fixed at start keeps the running ones; a file
 * that changes one is refused. */
static void test_apply_fixed_keys(void)
{
	struct json_object *req;
	const char *svc = "services:\n  - { vip: 198.18.0.100, port: 80, protocol: tcp, "
			  "mode: nat, backends: [198.18.0.11] }\n";
	char text[512];

	addr_parse("127.0.0.1:9999", ADDR_PORT_REQUIRED, &st.cfg.metrics_listen, text,
		   sizeof(text));
	st.cfg.flow_table_size = 4096;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("apply"));
	json_object_object_add(req, "yaml", json_object_new_string(svc));
	snprintf(text, sizeof(text), "%s", json_object_to_json_string(req));
	json_object_put(req);
	OK(text);
	CHECK(st.cfg.metrics_listen.port == 9999 && st.cfg.flow_table_size == 4096 &&
	      st.cfg.n_services == 1 && st.cfg.services[0].n_backends == 1,
	      "metrics port %u flow_table_size %u", st.cfg.metrics_listen.port,
	      st.cfg.flow_table_size);
	/* The same values written out: accepted as well. */
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("apply"));
	json_object_object_add(req, "yaml", json_object_new_string(
		"metrics: { listen: \"127.0.0.1:9999\" }\nflow_table_size: 4096\n"));
	snprintf(text, sizeof(text), "%s", json_object_to_json_string(req));
	json_object_put(req);
	OK(text);
	CHECK(st.cfg.n_services == 0, "apply did not replace the services");
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("apply"));
	json_object_object_add(req, "yaml", json_object_new_string("flow_table_size: 8192\n"));
	snprintf(text, sizeof(text), "%s", json_object_to_json_string(req));
	json_object_put(req);
	REFUSED(text, "'flow_table_size' cannot change while xlbd runs");
	/* The proxy workers start once: a new count is refused, not ignored. */
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("apply"));
	json_object_object_add(req, "yaml", json_object_new_string("proxy_workers: 3\n"));
	snprintf(text, sizeof(text), "%s", json_object_to_json_string(req));
	json_object_put(req);
	REFUSED(text, "'proxy_workers' cannot change while xlbd runs");
}

int main(void)
{
	setup();
	RUN(test_service_add_health_check);
	RUN(test_service_set);
	RUN(test_backend_states);
	RUN(test_apply_fixed_keys);
	state_teardown(&st);
	UNIT_SUMMARY();
}
