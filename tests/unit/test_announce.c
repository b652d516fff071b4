// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* announce.c against a fake BIRD (a thread speaking BIRD's control socket
 * protocol) and a state without a data plane: the file xlbd writes, when a
 * VIP is announced or withdrawn and why, drain, BIRD refusing the file, and
 * the withdrawal at stop. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "control.h"
#include "health.h"
#include "state.h"
#include "unit.h"

static struct state st;
static struct announce *an;
static char dir[64], sock_path[128], file_path[128], instance[32];

/* The fake BIRD: greets, answers `configure` with success or, while
 * refuse is set, with a parse error; while trickle is set, with a reply
 * that never ends, a byte every 100 ms, until the client goes away. */
static int bird_fd = -1;
static volatile int refuse, trickle, configures;

static void *fake_bird(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[256];
		int c = accept(bird_fd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			return NULL;
		if (write(c, "0001 BIRD 2.0.12 ready.\n", 24) != 24) {
			close(c);
			continue;
		}
		n = read(c, buf, sizeof(buf) - 1);
		if (n > 0 && trickle) {
			if (write(c, "0002-", 5) == 5)
				while (write(c, "x", 1) == 1)
					nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			close(c);
			continue;
		}
		if (n > 0 && !strncmp(buf, "configure\n", 10)) {
			const char *r = refuse ? "9001 bird.conf:3:1 syntax error\n" :
				"0002-Reading configuration from bird.conf\n0003 Reconfigured\n";

			if (write(c, r, strlen(r)) > 0)
				__atomic_add_fetch(&configures, 1, __ATOMIC_SEQ_CST);
		}
		close(c);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Sync, then wait up to 3 s for BIRD to have seen `want` configures. */
static bool sync_until(int want)
{
	announce_sync(an, &st);
	for (int i = 0; i < 300 && configures < want; i++)
		sleep_ms(10);
	sleep_ms(20);   /* the thread records the reply after BIRD's answer */
	return configures >= want;
}

static char *file_text(void)
{
	static char buf[4096];
	FILE *f = fopen(file_path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

static const struct announce_vip *vip0(void)
{
	size_t n;
	const struct announce_vip *v = announce_vips(an, &n);

	return n ? v : NULL;
}

/* Every backend of both services of the VIP. */
static void set_health(uint8_t h)
{
	for (size_t i = 0; i < st.n_services; i++)
		for (size_t j = 0; j < st.services[i].n_backends; j++)
			st.services[i].backends[j].health = h;
}

static int setup(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct xlb_announce_cfg ac = { .hold_ms = 1000 };
	struct xlb_config cfg;
	char err[512];
	pthread_t t;
	static const char yaml[] =
		"manage_addresses: false\n"
		"services:\n"
		"  - { vip: 198.18.0.100, port: 80, protocol: tcp, mode: dr,\n"
		"      backends: [ { address: 198.18.0.11 }, { address: 198.18.0.12 } ] }\n"
		"  - { vip: 198.18.0.100, port: 53, protocol: udp, mode: dr,\n"
		"      backends: [ { address: 198.18.0.11 } ] }\n"
		"  - { vip: 198.18.0.101, port: 80, protocol: tcp, mode: dr,\n"
		"      health_check: { type: tcp },\n"
		"      backends: [ { address: 198.18.0.11 } ] }\n";

	snprintf(dir, sizeof(dir), "/tmp/xlb-unit-announce.%d", (int)getpid());
	snprintf(sock_path, sizeof(sock_path), "%s/bird.ctl", dir);
	snprintf(file_path, sizeof(file_path), "%s/vips.conf", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	strcpy(sun.sun_path, sock_path);
	bird_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(bird_fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(bird_fd, 8) ||
	    pthread_create(&t, NULL, fake_bird, NULL))
		return -1;
	pthread_detach(t);
	if (config_parse_buf(yaml, sizeof(yaml) - 1, "unit", &cfg, err, sizeof(err)))
		return -1;
	state_init(&st, NULL, &cfg);
	if (state_apply(&st, &cfg, err, sizeof(err)))
		return -1;
	config_free(&cfg);
	strcpy(ac.bird_socket, sock_path);
	strcpy(ac.file, file_path);
	snprintf(instance, sizeof(instance), "unit-announce-%d", (int)getpid());
	return announce_start(&an, &ac, instance, err, sizeof(err));
}

/* One protocol per VIP (two services share it), announced once BIRD took
 * the file. */
static void test_announced(void)
{
	const char *t;

	CHECK(sync_until(1), "BIRD was not asked to configure");
	t = file_text();
	CHECK(strstr(t, "protocol static xlb_198_18_0_100 {\n\tipv4;\n"
		      "\troute 198.18.0.100/32 blackhole;\n}\n"), "file:\n%s", t);
	t = strstr(t, "protocol static");
	CHECK(t && !strstr(t + 1, "protocol static"), "not one protocol:\n%s", file_text());
	CHECK(vip0() && vip0()->announced && !vip0()->reason[0], "reason '%s'",
	      vip0() ? vip0()->reason : "-");
	CHECK(!announce_drained(an), "drained at start");
}

/* The VIP .101 of the checked service, its state and its health. */
static const struct announce_vip *vip1(void)
{
	size_t n;
	const struct announce_vip *v = announce_vips(an, &n);

	return n > 1 ? v + 1 : NULL;
}

static void set_health1(uint8_t h)
{
	st.services[2].backends[0].health = h;
}

/* A checked service without a result yet keeps a fresh node's VIP
 * unannounced (a node cut off from its backends attracts nothing); the
 * first result announces it at once; an announced VIP stays while a
 * changed check has no result yet; a backend in maintenance is not usable. */
static void test_pending(void)
{
	int before;

	CHECK(vip1() && !vip1()->want &&
	      !strcmp(vip1()->reason, "waiting for the first health check results"),
	      "reason '%s'", vip1() ? vip1()->reason : "-");
	CHECK(!strstr(file_text(), "xlb_198_18_0_101"), "announced before a result:\n%s",
	      file_text());
	set_health1(HEALTH_UP);
	before = configures;
	CHECK(sync_until(before + 1) && vip1() && vip1()->announced &&
	      strstr(file_text(), "xlb_198_18_0_101"), "not announced on the first "
	      "result: '%s'", vip1() ? vip1()->reason : "-");
	set_health1(HEALTH_UNKNOWN);
	announce_sync(an, &st);
	CHECK(vip1() && vip1()->want, "withdrawn while a changed check has no result: "
	      "'%s'", vip1()->reason);
	set_health1(HEALTH_UP);
	st.cfg.services[2].backends[0].state = XLB_ADMIN_MAINT;
	before = configures;
	CHECK(sync_until(before + 1) && vip1() && !vip1()->announced &&
	      !strncmp(vip1()->reason, "no usable backend", 17), "maint still usable: "
	      "'%s'", vip1() ? vip1()->reason : "-");
	st.cfg.services[2].backends[0].state = XLB_ADMIN_UP;
	announce_sync(an, &st);
}

/* Every backend down in this node's view: withdrawn with the reason; back
 * up: withdrawn until they have been usable ANNOUNCE_RISE_MS. */
static void test_no_backend(void)
{
	int before = configures;

	set_health(HEALTH_DOWN);
	CHECK(sync_until(before + 1), "no configure after the change");
	CHECK(!strstr(file_text(), "xlb_198_18_0_100"), "still in the file");
	CHECK(vip0() && !vip0()->announced &&
	      !strncmp(vip0()->reason, "no usable backend", 17), "reason '%s'",
	      vip0() ? vip0()->reason : "-");
	set_health(HEALTH_UP);
	announce_sync(an, &st);
	CHECK(vip0() && !vip0()->want && strstr(vip0()->reason, "announcing after"),
	      "reason '%s'", vip0() ? vip0()->reason : "-");
	sleep_ms(ANNOUNCE_RISE_MS + 100);
	before = configures;
	CHECK(sync_until(before + 1) && vip0() && vip0()->announced, "not back: '%s'",
	      vip0() ? vip0()->reason : "-");
}

/* Drain withdraws and is kept in XLB_RUN_DIR; BIRD refusing the file on
 * undrain: the VIP shows why, and the file is offered again every second
 * until BIRD takes it. */
static void test_drain_and_refusal(void)
{
	char err[256], path[128];
	int before = configures;

	snprintf(path, sizeof(path), "%s/xlbd-%s.drained", XLB_RUN_DIR, instance);
	CHECK(announce_set_drained(an, true, err, sizeof(err)) == 0, "%s", err);
	CHECK(access(path, F_OK) == 0, "%s not written", path);
	CHECK(sync_until(before + 1) && vip0() && !vip0()->announced &&
	      !strncmp(vip0()->reason, "node drained", 12), "reason '%s'",
	      vip0() ? vip0()->reason : "-");
	refuse = 1;
	CHECK(announce_set_drained(an, false, err, sizeof(err)) == 0, "%s", err);
	CHECK(access(path, F_OK) != 0, "%s left", path);
	before = configures;
	CHECK(sync_until(before + 2), "not retried: %d configures", configures - before);
	announce_sync(an, &st);
	CHECK(vip0() && vip0()->want && !vip0()->announced &&
	      strstr(vip0()->reason, "BIRD did not take the file: 9001"), "reason '%s'",
	      vip0() ? vip0()->reason : "-");
	refuse = 0;
	before = configures;
	CHECK(sync_until(before + 1) && vip0() && vip0()->announced,
	      "not announced after BIRD took the file: '%s'", vip0() ? vip0()->reason : "-");
}

/* BIRD not running (its socket gone): the reason says so, and once the
 * socket is back the file is taken without another change. */
static void test_bird_missing(void)
{
	char err[256], moved[160];
	int before;

	snprintf(moved, sizeof(moved), "%s.away", sock_path);
	CHECK(announce_set_drained(an, true, err, sizeof(err)) == 0, "%s", err);
	before = configures;
	CHECK(sync_until(before + 1), "drain not configured");
	CHECK(rename(sock_path, moved) == 0, "rename: %s", strerror(errno));
	CHECK(announce_set_drained(an, false, err, sizeof(err)) == 0, "%s", err);
	announce_sync(an, &st);
	sleep_ms(200);
	announce_sync(an, &st);
	CHECK(vip0() && !vip0()->announced &&
	      strstr(vip0()->reason, "No such file or directory"), "reason '%s'",
	      vip0() ? vip0()->reason : "-");
	CHECK(rename(moved, sock_path) == 0, "rename back: %s", strerror(errno));
	before = configures;
	for (int i = 0; i < 300 && configures <= before; i++)
		sleep_ms(10);
	sleep_ms(20);
	announce_sync(an, &st);
	CHECK(vip0() && vip0()->announced, "not announced once BIRD is back: '%s'",
	      vip0() ? vip0()->reason : "-");
}

/* A BIRD that answers a byte at a time and never ends its reply holds a
 * command no longer than a silent one (5 s), and the next file is taken
 * once it answers again. */
static void test_bird_trickles(void)
{
	char err[256];
	int before;

	before = configures;
	CHECK(announce_set_drained(an, true, err, sizeof(err)) == 0, "%s", err);
	CHECK(sync_until(before + 1), "drain not configured");
	trickle = 1;
	CHECK(announce_set_drained(an, false, err, sizeof(err)) == 0, "%s", err);
	announce_sync(an, &st);
	for (int i = 0; i < 90 && !(vip0() && strstr(vip0()->reason, "timed out")); i++) {
		sleep_ms(100);
		announce_sync(an, &st);
	}
	CHECK(vip0() && !vip0()->announced && strstr(vip0()->reason, "timed out"),
	      "reason after 9 s: '%s'", vip0() ? vip0()->reason : "-");
	before = configures;
	trickle = 0;
	CHECK(sync_until(before + 1), "not configured after BIRD answered again");
	for (int i = 0; i < 300 && !(vip0() && vip0()->announced); i++) {
		sleep_ms(10);
		announce_sync(an, &st);
	}
	CHECK(vip0() && vip0()->announced, "not announced: '%s'", vip0() ? vip0()->reason : "-");
}

/* A file whose directory is missing (or is a file) is refused before
 * anything starts, with the path in the message; BIRD's socket may be
 * missing (BIRD started later). */
static void test_check_paths(void)
{
	struct xlb_announce_cfg c = { .bird_socket = "/nonexistent/bird.ctl" };
	char err[256] = "";

	snprintf(c.file, sizeof(c.file), "/nonexistent-xlb-dir/vips.conf");
	CHECK(announce_check(&c, err, sizeof(err)) == -ENOENT &&
	      strstr(err, "'/nonexistent-xlb-dir'"), "missing directory: '%s'", err);
	snprintf(c.file, sizeof(c.file), "/proc/version/vips.conf");
	CHECK(announce_check(&c, err, sizeof(err)) == -ENOTDIR, "file as directory: '%s'", err);
	snprintf(c.file, sizeof(c.file), "/tmp/vips.conf");
	CHECK(announce_check(&c, err, sizeof(err)) == 0, "existing directory: '%s'", err);
	c.file[0] = 0;
	CHECK(announce_check(&c, err, sizeof(err)) == 0, "no announce: '%s'", err);
}

/* Stopping with the data plane removed withdraws every VIP. */
static void test_stop(void)
{
	announce_stop(an, true);
	an = NULL;
	CHECK(!strstr(file_text(), "protocol"), "not withdrawn at stop:\n%s", file_text());
}

int main(void)
{
	char path[128];

	signal(SIGPIPE, SIG_IGN);       /* as xlbd does */
	if (setup()) {
		printf("SKIP announce: cannot set up the fake BIRD or the state\n");
		UNIT_SUMMARY();
	}
	RUN(test_announced);
	RUN(test_pending);
	RUN(test_no_backend);
	RUN(test_drain_and_refusal);
	RUN(test_bird_missing);
	RUN(test_bird_trickles);
	RUN(test_stop);
	RUN(test_check_paths);
	snprintf(path, sizeof(path), "%s/xlbd-%s.watchdog", XLB_RUN_DIR, instance);
	unlink(path);
	unlink(file_path);
	unlink(sock_path);
	rmdir(dir);
	state_teardown(&st);
	UNIT_SUMMARY();
}
