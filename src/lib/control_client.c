// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The client side of the control API, and the default socket path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

int netns_inode(unsigned long *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) != 0)
		return -errno;
	*ino = (unsigned long)st.st_ino;
	return 0;
}

int control_default_socket(char *buf, size_t len)
{
	unsigned long ino;
	int ret = netns_inode(&ino);

	if (ret)
		return ret;
	snprintf(buf, len, "%s/xlbd-ns%lu.sock", XLB_RUN_DIR, ino);
	return 0;
}

int control_default_instance(char *buf, size_t len)
{
	unsigned long ino;
	int ret = netns_inode(&ino);

	if (ret)
		return ret;
	snprintf(buf, len, "ns%lu", ino);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* How long the CLI waits for xlbd's reply before giving up. */
#define CONTROL_REPLY_TIMEOUT_S 30

/* A stream socket connected to xlbd at @path, with the reply timeout set.
 * Returns the fd, or -1 with @err set. */
static int control_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CONTROL_REPLY_TIMEOUT_S };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "cannot reach xlbd at %s: %s%s", path,
			 strerror(errno),
			 errno == ENOENT || errno == ECONNREFUSED ?
			 " (is xlbd running in this network namespace? see --socket)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until xlbd closes: the reply text (NUL-terminated, *@lenp bytes),
 * or NULL with @err set. */
static char *control_read(int fd, size_t *lenp, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t r;

		if (len + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			snprintf(err, errlen, "xlbd did not answer within %ld s (busy, or "
				 "stuck?)", (long)CONTROL_REPLY_TIMEOUT_S);
			goto fail;
		}
		if (r < 0) {
			snprintf(err, errlen, "cannot read the reply of xlbd: %s",
				 strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += r;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
fail:
	free(buf);
	return NULL;
}

struct json_object *control_call(const char *path, struct json_object *req,
				 char *err, size_t errlen)
{
	struct json_object *reply = NULL;
	const char *text;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret;

	fd = control_connect(path, err, errlen);
	if (fd < 0) {
		json_object_put(req);
		return NULL;
	}
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	ret = write_all(fd, text, strlen(text));
	if (!ret)
		ret = write_all(fd, "\n", 1);
	if (ret) {
		snprintf(err, errlen, "cannot send to xlbd: %s", strerror(-ret));
		goto out;
	}
	shutdown(fd, SHUT_WR);
	buf = control_read(fd, &len, err, errlen);
	if (!buf)
		goto out;
	if (!len) {
		snprintf(err, errlen, "xlbd closed the connection without a reply "
			 "(it stopped, or dropped the connection as too slow)");
		goto out;
	}
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		reply = NULL;
		snprintf(err, errlen, "xlbd sent a reply that is not JSON");
	}
out:
	free(buf);
	close(fd);
	json_object_put(req);
	return reply;
}
