/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The `notify:` hook of a service: a command run on every health state
 * change of one of its backends (keepalived's notify_up/notify_down). */
#ifndef XLB_NOTIFY_H
#define XLB_NOTIFY_H

/* A hook still running after this long is killed: one that hangs must not
 * leave a process behind per health change. */
#define NOTIFY_TIMEOUT_S 60

/* Runs cmd with /bin/sh -c, detached (xlbd neither waits for it nor keeps
 * a zombie), with XLB_SERVICE, XLB_BACKEND, XLB_OLD, XLB_NEW and
 * XLB_REASON in its environment and stdin on /dev/null, in a process group
 * of its own that is killed (SIGKILL) if the command still runs after
 * timeout_s seconds. Returns 0, or -errno when it could not be started
 * (logged by the caller). */
int notify_run(const char *cmd, unsigned int timeout_s, const char *service,
	       const char *backend, const char *old_state, const char *new_state,
	       const char *reason);

#endif /* XLB_NOTIFY_H */
