// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The daemon side of the control socket: non-blocking connections, each
 * with a deadline for its whole request and reply and a size cap, a bounded
 * number of them served in turn, every request handed to control_handle()
 * (control_handlers.c). No client can hold the main loop. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "control_server.h"
#include "log.h"
#include "runfile.h"

#define CONTROL_CLIENTS 32              /* connections served at once */
#define CONTROL_DEADLINE_MS 2000        /* to send a whole request */
#define CONTROL_REPLY_MS 10000          /* to take the whole reply */
#define CONTROL_READ_CHUNK 65536        /* per connection and turn */
#define EV_LISTEN UINT32_MAX
#define EV_TIMER (UINT32_MAX - 1)

struct control_conn {
	int fd;                         /* -1: free slot */
	uint64_t deadline_ms;           /* CLOCK_MONOTONIC */
	uint64_t accepted_ms;
	char *buf;                      /* the request, then the reply */
	size_t len, cap, off;           /* off: reply bytes written */
	bool replying;
};

struct control_server {
	int fd, ep, tfd;                /* listener, epoll set, deadline timer */
	char path[108];
	dev_t dev;                      /* the socket file we bound, so close */
	ino_t ino;                      /* removes it only if still ours */
	struct state *st;
	struct control_conn conns[CONTROL_CLIENTS];
};

/* A socket file at path: a live xlbd behind it is never replaced (two
 * daemons on one socket leave the first unreachable); a stale one is
 * removed; anything that is not a socket is left alone. */
static int claim_socket_path(const char *path, const struct sockaddr_un *sun,
			     char *err, size_t errlen)
{
	struct stat sb;
	int fd, live;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "cannot listen on %s: it exists and is not a "
			 "socket (%s); not removing it", path,
			 S_ISLNK(sb.st_mode) ? "a symbolic link" : "another file");
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ||
	       errno == EAGAIN;
	close(fd);
	if (live) {
		snprintf(err, errlen, "another xlbd listens on %s; stop it first, or "
			 "give this one its own --socket", path);
		return -EADDRINUSE;
	}
	unlink(path);
	return 0;
}

static int listen_unix(struct control_server *srv, const char *path,
		       char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	int ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is too long (at most %zu bytes)",
			 path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	ret = claim_socket_path(path, &sun, err, errlen);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "cannot use %s: %s", path, strerror(-ret));
		return ret;
	}
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->fd < 0 || bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(srv->fd, 128) != 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-ret));
		return ret;
	}
	if (chmod(path, 0600) != 0 || lstat(path, &sb) != 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot restrict %s to root: %s", path, strerror(-ret));
		unlink(path);
		return ret;
	}
	srv->dev = sb.st_dev;
	srv->ino = sb.st_ino;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	return 0;
}

static int ep_add(int ep, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int control_listen(struct control_server **srvp, const char *path, struct state *st,
		   char *err, size_t errlen)
{
	struct control_server *srv;
	int ret;

	err[0] = 0;
	ret = run_dir_ensure(err, errlen);
	if (ret)
		return ret;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->st = st;
	srv->fd = srv->ep = srv->tfd = -1;
	for (size_t i = 0; i < CONTROL_CLIENTS; i++)
		srv->conns[i].fd = -1;
	ret = listen_unix(srv, path, err, errlen);
	if (!ret) {
		srv->ep = epoll_create1(EPOLL_CLOEXEC);
		srv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		ret = srv->ep < 0 || srv->tfd < 0 ? -errno : 0;
		if (!ret)
			ret = ep_add(srv->ep, srv->fd, EPOLLIN, EV_LISTEN);
		if (!ret)
			ret = ep_add(srv->ep, srv->tfd, EPOLLIN, EV_TIMER);
		if (ret)
			snprintf(err, errlen, "control socket: cannot set up epoll: %s",
				 strerror(-ret));
	}
	if (ret) {
		control_close(srv);
		return ret;
	}
	*srvp = srv;
	return 0;
}

int control_fd(const struct control_server *srv)
{
	return srv->ep;
}

static void conn_close(struct control_server *srv, struct control_conn *c)
{
	epoll_ctl(srv->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Whether a is a better connection to drop than b: one that has sent
 * nothing before one that has sent part of its request, then the older. */
static bool drop_before(const struct control_conn *a, const struct control_conn *b)
{
	if (!b)
		return true;
	if (!a->len != !b->len)
		return !a->len;
	return a->accepted_ms < b->accepted_ms;
}

/* A slot for a new connection: a free one, or that of the connection that
 * has waited longest without sending its request (a flood of idle
 * connections then only delays itself; a client that sends its request at
 * once is served as it is accepted). */
static struct control_conn *conn_slot(struct control_server *srv)
{
	struct control_conn *oldest = NULL;

	for (size_t i = 0; i < CONTROL_CLIENTS; i++) {
		struct control_conn *c = &srv->conns[i];

		if (c->fd < 0)
			return c;
		if (!c->replying && drop_before(c, oldest))
			oldest = c;
	}
	if (oldest) {
		log_debug("control: %d connections open, dropping the oldest idle one",
			  CONTROL_CLIENTS);
		conn_close(srv, oldest);
	}
	return oldest;
}

/* Where the request has a NUL byte, raw or escaped as \u0000 in a string
 * (json-c would keep it and C strings end at it), or -1. */
static long nul_offset(const char *buf, size_t len)
{
	const char *nul = memchr(buf, 0, len);

	if (nul)
		return nul - buf;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] == 'u' && i + 6 <= len && !memcmp(buf + i + 2, "0000", 4))
			return (long)i;
		i++;    /* the escaped character, e.g. the second of "\\" */
	}
	return -1;
}

/* The reply to a whole request (a NUL-terminated buffer of len bytes):
 * text that is not UTF-8 without NUL bytes is refused here, once, for
 * every command. */
static struct json_object *handle_request(struct control_server *srv,
					  const char *buf, size_t len)
{
	struct json_object *req, *reply;
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	char err[CONTROL_ERRLEN];

	long nul = nul_offset(buf, len);

	if (nul >= 0) {
		snprintf(err, sizeof(err), "request has a NUL byte at offset %ld; "
			 "every string must be UTF-8 text", nul);
		return control_reply_error(err);
	}
	tok = json_tokener_new();
	if (!tok)
		return control_reply_error("out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!req && jerr == json_tokener_continue)
		snprintf(err, sizeof(err), "request is not valid JSON: it ends early "
			 "(after %zu bytes)", len);
	else if (!req)
		snprintf(err, sizeof(err), "request is not valid JSON at offset %zu: %s",
			 json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
	json_tokener_free(tok);
	if (!req)
		return control_reply_error(err);
	reply = control_handle(srv->st, req);
	json_object_put(req);
	return reply;
}

/* Swap the request for its reply; the connection now waits to write. */
static void start_reply(struct control_server *srv, struct control_conn *c,
			struct json_object *reply)
{
	const char *text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(text);
	char *out = malloc(n + 1);
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u32 = (uint32_t)(c - srv->conns) };

	free(c->buf);
	c->buf = out;
	c->len = out ? n : 0;
	c->off = 0;
	if (out)
		memcpy(out, text, n + 1);
	json_object_put(reply);
	c->replying = true;
	c->deadline_ms = now_ms() + CONTROL_REPLY_MS;
	shutdown(c->fd, SHUT_RD);
	epoll_ctl(srv->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* One read of at most CONTROL_READ_CHUNK; the request ends with a newline
 * or the client's shutdown. */
static void conn_read(struct control_server *srv, struct control_conn *c)
{
	char err[128];
	ssize_t r;

	if (c->len + CONTROL_READ_CHUNK + 1 > c->cap) {
		size_t cap = c->len + CONTROL_READ_CHUNK + 1;
		char *nb;

		if (c->len >= XLB_CONTROL_MAX) {
			snprintf(err, sizeof(err), "request larger than %u bytes",
				 XLB_CONTROL_MAX);
			start_reply(srv, c, control_reply_error(err));
			return;
		}
		nb = realloc(c->buf, cap);
		if (!nb) {
			start_reply(srv, c, control_reply_error("out of memory"));
			return;
		}
		c->buf = nb;
		c->cap = cap;
	}
	r = read(c->fd, c->buf + c->len, CONTROL_READ_CHUNK);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0 || (r == 0 && c->len == 0)) {
		conn_close(srv, c);     /* gone without a request */
		return;
	}
	if (r > 0 && !memchr(c->buf + c->len, '\n', (size_t)r)) {
		c->len += (size_t)r;
		return;
	}
	c->len += (size_t)r;
	c->buf[c->len] = 0;
	start_reply(srv, c, handle_request(srv, c->buf, c->len));
}

static void conn_write(struct control_server *srv, struct control_conn *c)
{
	ssize_t w = 0;

	if (c->off < c->len)
		w = write(c->fd, c->buf + c->off, c->len - c->off);
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w > 0)
		c->off += (size_t)w;
	if (w < 0 || c->off >= c->len)
		conn_close(srv, c);
}

static void accept_all(struct control_server *srv)
{
	/* Bounded: the other sources of the main loop get their turn. */
	for (int n = 0; n < CONTROL_CLIENTS; n++) {
		struct control_conn *c;
		int fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		c = conn_slot(srv);
		if (!c || ep_add(srv->ep, fd, EPOLLIN, (uint32_t)(c - srv->conns))) {
			close(fd);      /* every slot is sending a reply */
			continue;
		}
		c->fd = fd;
		c->accepted_ms = now_ms();
		c->deadline_ms = c->accepted_ms + CONTROL_DEADLINE_MS;
		/* A request already waiting is served before the next accept
		 * can take its slot. */
		conn_read(srv, c);
	}
}

/* Close what is past its deadline and arm the timer for the next one. */
static void expire(struct control_server *srv)
{
	struct itimerspec its = { 0 };
	uint64_t now = now_ms(), next = 0, ticks;

	if (read(srv->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_debug("control: timer: %s", strerror(errno));
	for (size_t i = 0; i < CONTROL_CLIENTS; i++) {
		struct control_conn *c = &srv->conns[i];

		if (c->fd < 0)
			continue;
		if (c->deadline_ms <= now) {
			log_debug("control: closing a connection that %s in time",
				  c->replying ? "did not take its reply" :
				  "did not send a whole request");
			conn_close(srv, c);
		} else if (!next || c->deadline_ms < next) {
			next = c->deadline_ms;
		}
	}
	its.it_value.tv_sec = next / 1000;
	its.it_value.tv_nsec = (long)(next % 1000) * 1000000;
	timerfd_settime(srv->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void control_serve(struct control_server *srv)
{
	struct epoll_event ev[CONTROL_CLIENTS + 2];
	int n = epoll_wait(srv->ep, ev, CONTROL_CLIENTS + 2, 0);

	/* Each ready connection gets one turn per call: the main loop comes
	 * back while any is still ready (level-triggered). */
	for (int i = 0; i < n; i++) {
		uint32_t tag = ev[i].data.u32;
		struct control_conn *c;

		if (tag == EV_LISTEN) {
			accept_all(srv);
			continue;
		}
		if (tag == EV_TIMER || tag >= CONTROL_CLIENTS)
			continue;
		c = &srv->conns[tag];
		if (c->fd < 0)
			continue;       /* closed earlier in this turn */
		if (c->replying)
			conn_write(srv, c);
		else
			conn_read(srv, c);
	}
	expire(srv);
}

void control_close(struct control_server *srv)
{
	struct stat sb;

	if (!srv)
		return;
	for (size_t i = 0; i < CONTROL_CLIENTS; i++)
		if (srv->conns[i].fd >= 0)
			conn_close(srv, &srv->conns[i]);
	if (srv->fd >= 0)
		close(srv->fd);
	if (srv->ep >= 0)
		close(srv->ep);
	if (srv->tfd >= 0)
		close(srv->tfd);
	/* Only our own socket: another xlbd may have taken the path since. */
	if (srv->path[0] && lstat(srv->path, &sb) == 0 && sb.st_dev == srv->dev &&
	    sb.st_ino == srv->ino)
		unlink(srv->path);
	free(srv);
}
