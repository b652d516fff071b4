// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The notify hook (see notify.h): a double fork, so the command's exit is
 * reaped at once by its short-lived parent and xlbd never waits on it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify.h"

/* In the grandchild: the environment, stdin, default signals, exec. */
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
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

int notify_run(const char *cmd, const char *service, const char *backend,
	       const char *old_state, const char *new_state, const char *reason)
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
			exec_hook(cmd, env);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}
