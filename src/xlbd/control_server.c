// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The daemon side of the control socket: listens, reads one request per
 * connection, hands it to control_handle() (control_handlers.c), writes the
 * reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_server.h"
#include "log.h"

struct control_server {
	int fd;
	char path[108];
	struct state *st;
};

int control_listen(struct control_server **srvp, const char *path, struct state *st,
		   char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control_server *srv;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	mkdir(XLB_RUN_DIR, 0755);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* A socket file left by a daemon that died; the instance lock taken
	 * before this says no live daemon owns it. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, 64) != 0) {
		int e = errno;

		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	chmod(path, 0600);
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	srv->fd = fd;
	srv->st = st;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	*srvp = srv;
	return 0;
}

int control_fd(const struct control_server *srv)
{
	return srv->fd;
}

/* Read one request (until EOF or newline). Bounded in size and time so a
 * stuck or hostile client cannot hold the daemon. */
static char *read_request(int fd, char *err)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= XLB_CONTROL_MAX) {
				snprintf(err, CONTROL_ERRLEN, "request larger than %u bytes",
					 XLB_CONTROL_MAX);
				free(buf);
				return NULL;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, CONTROL_ERRLEN, "cannot read the request: %s", strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0 || memchr(buf + len, '\n', r)) {
			len += r;
			break;
		}
		len += r;
	}
	buf[len] = '\0';
	return buf;
}

void control_serve_one(struct control_server *srv)
{
	struct timeval tv = { .tv_sec = 2 };
	struct json_object *req = NULL, *reply;
	struct json_tokener *tok;
	char err[CONTROL_ERRLEN] = "";
	const char *text;
	char *buf;
	int fd;

	fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	buf = read_request(fd, err);
	if (!buf) {
		reply = control_reply_error(err[0] ? err : "out of memory");
		goto send;
	}
	tok = json_tokener_new();
	req = tok ? json_tokener_parse_ex(tok, buf, strlen(buf)) : NULL;
	if (!req) {
		snprintf(err, sizeof(err), "request is not valid JSON: %s",
			 tok ? json_tokener_error_desc(json_tokener_get_error(tok)) :
			 "out of memory");
		reply = control_reply_error(err);
	} else {
		reply = control_handle(srv->st, req);
	}
	if (tok)
		json_tokener_free(tok);
	free(buf);
send:
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	for (size_t off = 0, n = strlen(text); off < n;) {
		ssize_t w = write(fd, text + off, n - off);

		if (w <= 0)
			break;
		off += w;
	}
	json_object_put(reply);
	json_object_put(req);
	close(fd);
}

void control_close(struct control_server *srv)
{
	if (!srv)
		return;
	close(srv->fd);
	unlink(srv->path);
	free(srv);
}
