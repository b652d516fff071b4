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

int main(void)
{
	setup();
	RUN(test_service_add_health_check);
	RUN(test_service_set);
	state_teardown(&st);
	UNIT_SUMMARY();
}
