// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The notify hook (see notify.h): a double fork, so that xlbd reaps at once
 * a short-lived child and never waits on the hook; the grandchild runs the
 * hook in a process group of its own and ends it at its timeout. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify.h"

/* In the hook's process: the environment, stdin, default signals, exec. */
static void exec_hook(const char *cmd, const char *const env[][2])
{
	sigset_t none;
	int fd;

	for (int i = 0; env[i][0]; i++)
		setenv(env[i][0], env[i][1], 1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* In the grandchild: the hook in a process group of its own, waited for at
 * most timeout_s seconds; then that group is killed, whatever the hook
 * started in it with it. */
static void supervise(const char *cmd, const char *const env[][2],
		      unsigned int timeout_s)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigset_t alrm;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid == 0) {
		setpgid(0, 0);
		exec_hook(cmd, env);
	}
	setpgid(pid, pid);      /* as the child does: whichever runs first */
	sigaction(SIGALRM, &sa, NULL);  /* no SA_RESTART: waitpid returns */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, NULL);
	alarm(timeout_s);
	if (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	_exit(0);
}

int notify_run(const char *cmd, unsigned int timeout_s, const char *service,
	       const char *backend, const char *old_state, const char *new_state,
	       const char *reason)
{
	const char *const env[][2] = {
		{ "XLB_SERVICE", service }, { "XLB_BACKEND", backend },
		{ "XLB_OLD", old_state }, { "XLB_NEW", new_state },
		{ "XLB_REASON", reason }, { NULL, NULL },
	};
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Its own session: a signal to xlbd's group spares it. */
		setsid();
		if (fork() == 0)
			supervise(cmd, env, timeout_s);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}
