// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The notify hook: run detached with its environment, never waited for by
 * the caller, and killed with its process group at its timeout. */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "unit.h"

static char dir[] = "/tmp/xlb-notify.XXXXXX";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The first line of file name in dir (empty when there is none yet). */
static void read_line(const char *name, char *buf, size_t len)
{
	char path[256];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/* Waits up to 5 s for file name to hold a line; returns it in buf. */
static int wait_line(const char *name, char *buf, size_t len)
{
	for (int i = 0; i < 50; i++) {
		read_line(name, buf, len);
		if (buf[0])
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

/* Whether pid runs (a zombie does not: it waits only to be reaped). */
static int alive(pid_t pid)
{
	char path[64], st[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(st, sizeof(st), f);
	fclose(f);
	p = p ? strrchr(st, ')') : NULL;
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void test_env(void)
{
	char cmd[512], line[256];

	snprintf(cmd, sizeof(cmd), "echo \"$XLB_SERVICE $XLB_BACKEND $XLB_OLD $XLB_NEW $XLB_REASON\" > %s/env",
		 dir);
	CHECK(notify_run(cmd, 10, "web", "198.18.0.11", "up", "down", "timeout") == 0);
	CHECK(wait_line("env", line, sizeof(line)), "the hook did not run");
	CHECK(!strcmp(line, "web 198.18.0.11 up down timeout"), "got '%s'", line);
}

/* A hook that hangs (and what it started) is killed at its timeout; the
 * caller returned at once all the same. */
static void test_timeout(void)
{
	char cmd[512], line[64];
	pid_t sh, child;
	double t0 = now_s(), took;

	snprintf(cmd, sizeof(cmd), "sleep 300 & echo $! > %s/child; echo $$ > %s/sh; wait",
		 dir, dir);
	CHECK(notify_run(cmd, 1, "web", "198.18.0.11", "up", "down", "") == 0);
	took = now_s() - t0;
	CHECK(took < 0.5, "notify_run waited %.2f s for the hook", took);
	CHECK(wait_line("sh", line, sizeof(line)), "the hook did not start");
	sh = atoi(line);
	CHECK(wait_line("child", line, sizeof(line)), "the hook's child did not start");
	child = atoi(line);
	CHECK(sh > 0 && child > 0 && alive(sh) && alive(child), "sh %d child %d", sh, child);
	for (int i = 0; i < 40 && (alive(sh) || alive(child)); i++)
		usleep(100 * 1000);
	CHECK(!alive(sh), "the hook (pid %d) still runs 5 s after its 1 s timeout", sh);
	CHECK(!alive(child), "the hook's child (pid %d) still runs", child);
	if (child > 0 && alive(child))
		kill(child, SIGKILL);
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	RUN(test_env);
	RUN(test_timeout);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
	UNIT_SUMMARY();
}
