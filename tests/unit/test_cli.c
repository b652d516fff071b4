// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of `xlb` argument parsing: the request each verb builds, and
 * the error that names the offending argument. */
#include <errno.h>
#include <json-c/json.h>

#include "cli.h"
#include "unit.h"

/* Build a request from a space-separated command line (no quoting needed
 * for these cases). Returns the builder's result; *out is the request as
 * JSON text or the error. */
static int build(int (*fn)(int, char **, struct json_object **, char *, size_t),
		 const char *line, char *out, size_t outlen)
{
	char buf[512], *argv[32], *save = NULL;
	struct json_object *req = NULL;
	int argc = 0, ret;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 31; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	out[0] = '\0';
	ret = fn(argc, argv, &req, out, outlen);
	if (ret == 0) {
		snprintf(out, outlen, "%s",
			 json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(req);
	}
	return ret;
}

#define EXPECT_REQ(fn, line, json) do {                                 \
	char out_[512];                                                 \
	int r_ = build(fn, line, out_, sizeof(out_));                   \
	CHECK(r_ == 0 && !strcmp(out_, json), "'%s' -> %d '%s'", line, r_, out_); \
} while (0)

#define EXPECT_ERR(fn, line, msg) do {                                  \
	char out_[512];                                                 \
	int r_ = build(fn, line, out_, sizeof(out_));                   \
	CHECK(r_ == -EINVAL && !strcmp(out_, msg), "'%s' -> %d '%s'", line, r_, out_); \
} while (0)

static void test_service_add(void)
{
	EXPECT_REQ(cli_service_request, "add tcp/198.18.0.100:80 --mode dr",
		   "{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:80\",\"mode\":\"dr\"}");
	EXPECT_REQ(cli_service_request, "add --mode tun udp/[2001:db8::100]:53 --scheduler maglev",
		   "{\"cmd\":\"service_add\",\"service\":\"udp/[2001:db8::100]:53\",\"mode\":\"tun\","
		   "\"scheduler\":\"maglev\"}");
	EXPECT_REQ(cli_service_request, "add tcp/198.18.0.100:80 --mode=dr --persistence 300 --name web",
		   "{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:80\",\"mode\":\"dr\","
		   "\"name\":\"web\",\"persistence\":300}");
	EXPECT_REQ(cli_service_request, "add tcp/198.18.0.100:0 --mode dr --persistence 60 "
		   "--persistence-netmask 24",
		   "{\"cmd\":\"service_add\",\"service\":\"tcp/198.18.0.100:0\",\"mode\":\"dr\","
		   "\"persistence\":60,\"persistence_netmask\":\"24\"}");
}

static void test_service_set(void)
{
	EXPECT_REQ(cli_service_request, "set tcp/198.18.0.100:80 --scheduler wrr --name web",
		   "{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\","
		   "\"scheduler\":\"wrr\",\"name\":\"web\"}");
	/* The check and the timeouts go as the YAML the config key takes,
	 * for the daemon's config parser. */
	EXPECT_REQ(cli_service_request, "set tcp/198.18.0.100:80 --health-check none "
		   "--timeouts {udp:30s}",
		   "{\"cmd\":\"service_set\",\"service\":\"tcp/198.18.0.100:80\","
		   "\"health_check\":\"none\",\"timeouts\":\"{udp:30s}\"}");
	EXPECT_REQ(cli_service_request, "add udp/198.18.0.100:53 --mode dr --health-check {type:dns}",
		   "{\"cmd\":\"service_add\",\"service\":\"udp/198.18.0.100:53\",\"mode\":\"dr\","
		   "\"health_check\":\"{type:dns}\"}");
}

static void test_service_errors(void)
{
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80",
		   "--mode is required (dr, tun, nat, fullnat or proxy)");
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80 --mode bogus",
		   "--mode: unknown mode 'bogus' (expected proxy, nat, fullnat, dr or tun)");
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80 --mode dr --scheduler fifo",
		   "--scheduler: unknown scheduler 'fifo' (expected maglev, rr, wrr, lc, wlc, sh or random2)");
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80 --mode dr --persistence -5",
		   "--persistence: '-5' is not a number");
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80 --mode dr --persistence 60 "
		   "--persistence-netmask 255.255.0.255",
		   "--persistence-netmask: '255.255.0.255' is not a contiguous netmask "
		   "(like 255.255.255.0)");
	EXPECT_ERR(cli_service_request, "add --mode dr",
		   "missing service (PROTO/VIP:PORT, e.g. tcp/198.18.0.100:80)");
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80 extra --mode dr",
		   "unexpected argument 'extra'");
	EXPECT_ERR(cli_service_request, "add tcp/198.18.0.100:80 --mode dr --bogus",
		   "unknown or incomplete option '--bogus'");
	EXPECT_ERR(cli_service_request, "remove tcp/198.18.0.100:80",
		   "unknown action 'remove' (expected add, set or del)");
	EXPECT_ERR(cli_service_request, "set tcp/198.18.0.100:80",
		   "service set needs something to change (--scheduler, --persistence, "
		   "--persistence-netmask, --name, --health-check or --timeouts)");
	EXPECT_ERR(cli_service_request, "set tcp/198.18.0.100:80 --mode nat",
		   "--mode cannot change in place (the service's flows would break): "
		   "del and add the service");
	EXPECT_ERR(cli_service_request, "del tcp/198.18.0.100:80 --health-check none",
		   "service del takes no option but the service");
	EXPECT_ERR(cli_service_request, "del tcp/198.18.0.100:80 --mode dr",
		   "service del takes no option but the service");
	{
		/* The service name's own errors come from addr.c; only check
		 * that one is reported. */
		char out[512];

		CHECK(build(cli_service_request, "add sctp/198.18.0.100:80 --mode dr",
			    out, sizeof(out)) == -EINVAL && strstr(out, "sctp"), "%s", out);
		CHECK(build(cli_service_request, "add tcp/198.18.0.300:80 --mode dr",
			    out, sizeof(out)) == -EINVAL && strstr(out, "198.18.0.300"), "%s", out);
	}
}

static void test_backend(void)
{
	EXPECT_REQ(cli_backend_request, "add tcp/198.18.0.100:80 198.18.0.11",
		   "{\"cmd\":\"backend_add\",\"service\":\"tcp/198.18.0.100:80\",\"backend\":\"198.18.0.11\"}");
	EXPECT_REQ(cli_backend_request, "add tcp/198.18.0.100:80 198.18.0.11:8080 --weight 5",
		   "{\"cmd\":\"backend_add\",\"service\":\"tcp/198.18.0.100:80\",\"backend\":\"198.18.0.11:8080\","
		   "\"weight\":5}");
	EXPECT_REQ(cli_backend_request, "set tcp/198.18.0.100:80 [2001:db8::11]:80 --weight 0",
		   "{\"cmd\":\"backend_set\",\"service\":\"tcp/198.18.0.100:80\",\"backend\":\"[2001:db8::11]:80\","
		   "\"weight\":0}");
	EXPECT_REQ(cli_backend_request, "del tcp/198.18.0.100:80 198.18.0.11",
		   "{\"cmd\":\"backend_del\",\"service\":\"tcp/198.18.0.100:80\",\"backend\":\"198.18.0.11\"}");
	EXPECT_ERR(cli_backend_request, "set tcp/198.18.0.100:80 198.18.0.11",
		   "backend set needs --weight N, --state S, --backup B or --health H");
	EXPECT_REQ(cli_backend_request, "set tcp/198.18.0.100:80 198.18.0.11 --state drain "
		   "--health down",
		   "{\"cmd\":\"backend_set\",\"service\":\"tcp/198.18.0.100:80\","
		   "\"backend\":\"198.18.0.11\",\"health\":\"down\",\"state\":\"drain\"}");
	EXPECT_ERR(cli_backend_request, "set tcp/198.18.0.100:80 198.18.0.11 --state off",
		   "--state: 'off' (expected up, drain or maint)");
	EXPECT_ERR(cli_backend_request, "set tcp/198.18.0.100:80 198.18.0.11 --health maybe",
		   "--health: 'maybe' (expected up, down or auto)");
	EXPECT_ERR(cli_backend_request, "add tcp/198.18.0.100:80 198.18.0.11 --health up",
		   "--health is for backend set (a new backend's checks decide)");
	EXPECT_ERR(cli_backend_request, "add tcp/198.18.0.100:80 198.18.0.11 --weight 70000",
		   "--weight 70000 out of range (0-65535)");
	EXPECT_ERR(cli_backend_request, "add tcp/198.18.0.100:80 198.18.0.11 --weight x1",
		   "--weight: 'x1' is not a number");
	EXPECT_ERR(cli_backend_request, "add tcp/198.18.0.100:80",
		   "missing backend (ADDR[:PORT])");
	EXPECT_ERR(cli_backend_request, "add",
		   "missing service (PROTO/VIP:PORT) and backend (ADDR[:PORT])");
	EXPECT_ERR(cli_backend_request, "move tcp/198.18.0.100:80 198.18.0.11",
		   "unknown action 'move' (expected add, set or del)");
	EXPECT_ERR(cli_backend_request, "del tcp/198.18.0.100:80 198.18.0.11 --weight 1",
		   "backend del takes no option but the backend");
	{
		char out[512];

		CHECK(build(cli_backend_request, "add tcp/198.18.0.100:80 not-an-ip",
			    out, sizeof(out)) == -EINVAL && !strncmp(out, "backend: ", 9), "%s", out);
	}
}

/* conns takes its verb in argv[0]; build() splits after the verb. */
static int conns_build(int argc, char **argv, struct json_object **req, char *err,
		       size_t errlen)
{
	char *all[16] = { "conns" };

	for (int i = 0; i < argc && i < 15; i++)
		all[i + 1] = argv[i];
	return cli_conns_request(argc + 1, all, req, err, errlen);
}

static void test_conns_zero(void)
{
	EXPECT_REQ(cli_zero_request, "tcp/198.18.0.100:80",
		   "{\"cmd\":\"zero\",\"service\":\"tcp/198.18.0.100:80\"}");
	EXPECT_REQ(cli_zero_request, "", "{\"cmd\":\"zero\"}");
	EXPECT_ERR(cli_zero_request, "tcp/198.18.0.100:80 x", "unexpected argument 'x'");
	EXPECT_REQ(conns_build, "--limit 5 udp/198.18.0.100:53",
		   "{\"cmd\":\"conns\",\"service\":\"udp/198.18.0.100:53\",\"limit\":5}");
	EXPECT_REQ(conns_build, "--json", "{\"cmd\":\"conns\"}");
	EXPECT_ERR(conns_build, "--limit -1", "--limit: '-1' is not a count");
	EXPECT_ERR(conns_build, "tcp/198.18.0.100:80 tcp/198.18.0.100:81",
		   "unexpected argument 'tcp/198.18.0.100:81'");
}

int main(void)
{
	RUN(test_service_add);
	RUN(test_service_set);
	RUN(test_service_errors);
	RUN(test_backend);
	RUN(test_conns_zero);
	UNIT_SUMMARY();
}
