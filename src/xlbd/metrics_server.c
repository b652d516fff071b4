// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The metrics HTTP endpoint, in its own thread: a small HTTP/1.x server
 * (GET/HEAD /metrics, one request per connection) whose connections each
 * have one deadline for the whole request and reply, however slowly the
 * bytes come, and a bounded number of which are served at once: when all
 * slots are taken, the oldest still sending its request gives way, so a
 * scrape always finds one. A scrape asks the main thread (which owns the
 * state) for a rendering through an eventfd and waits for it under a mutex;
 * a rendering serves every scrape for METRICS_CACHE_MS, so a flood of
 * scrapes costs the main thread one rendering per interval. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

#define METRICS_CLIENTS 32              /* connections at once */
/* Connections the kernel completes while the thread waits for a rendering
 * (up to SCRAPE_WAIT_S): room for a scrape behind a crowd of slow clients,
 * whose SYN a full queue would drop, costing it a retransmission (1 s). */
#define METRICS_BACKLOG 1024
#define METRICS_DEADLINE_MS 5000        /* for a whole request and reply */
#define METRICS_REQ_MAX 8192            /* request line and headers */
#define METRICS_CACHE_MS 1000           /* a rendering serves scrapes this long */
#define SCRAPE_WAIT_S 5                 /* a main loop busier than this: 503 */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct mconn {
	int fd;                         /* -1: free */
	uint64_t accepted_ms;
	size_t len;                     /* request bytes */
	char req[METRICS_REQ_MAX + 1];
	char *out;                      /* the reply, once the request is in */
	size_t out_len, off;
};

struct metrics_server {
	int lfd;                        /* listening socket */
	int efd;                        /* scrape -> main thread */
	int stop_fd;                    /* main thread -> server thread */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* CLOCK_MONOTONIC */
	uint64_t requested;             /* generation asked for by scrapes */
	uint64_t served;                /* generation the text is for */
	uint64_t text_ms;               /* when the text was rendered */
	char *text;
	size_t len;
	struct mconn c[METRICS_CLIENTS];
};

/* A copy of a rendering at most METRICS_CACHE_MS old: the cached one, or a
 * new one asked of the main thread. NULL when it does not answer in time. */
static char *fetch(struct metrics_server *ms, size_t *len)
{
	struct timespec deadline;
	uint64_t one = 1, gen;
	char *copy = NULL;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SCRAPE_WAIT_S;
	pthread_mutex_lock(&ms->mu);
	if (!ms->text || now_ms() - ms->text_ms >= METRICS_CACHE_MS) {
		gen = ++ms->requested;
		if (write(ms->efd, &one, sizeof(one)) != sizeof(one))
			log_warn("metrics: cannot wake the main loop: %s", strerror(errno));
		while (ms->served < gen)
			if (pthread_cond_timedwait(&ms->cv, &ms->mu, &deadline) == ETIMEDOUT)
				break;
		if (ms->served < gen)
			goto out;
	}
	if (ms->text) {
		copy = malloc(ms->len + 1);
		if (copy) {
			memcpy(copy, ms->text, ms->len + 1);
			*len = ms->len;
		}
	}
out:
	pthread_mutex_unlock(&ms->mu);
	return copy;
}

static char *http_reply(unsigned status, const char *reason, const char *type,
			const char *body, size_t blen, bool head, size_t *out_len)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %u %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, reason, type, blen);
	size_t total = (size_t)n + (head ? 0 : blen);
	char *out = malloc(total);

	if (!out)
		return NULL;
	memcpy(out, hdr, (size_t)n);
	if (!head)
		memcpy(out + n, body, blen);
	*out_len = total;
	return out;
}

/* The reply to a whole request head. */
static char *respond(struct metrics_server *ms, const char *req, size_t *out_len)
{
	static const char not_found[] = "not found: metrics are at /metrics\n";
	static const char bad_method[] = "only GET is served\n";
	static const char busy[] = "xlbd did not answer in time\n";
	bool head = !strncmp(req, "HEAD ", 5);
	const char *path = head ? req + 5 : req + 4;
	size_t len = 0;
	char *text, *out;

	if (!head && strncmp(req, "GET ", 4))
		return http_reply(405, "Method Not Allowed", "text/plain", bad_method,
				  sizeof(bad_method) - 1, false, out_len);
	if (strncmp(path, "/metrics", 8) || (path[8] != ' ' && path[8] != '?'))
		return http_reply(404, "Not Found", "text/plain", not_found,
				  sizeof(not_found) - 1, head, out_len);
	text = fetch(ms, &len);
	if (!text)
		return http_reply(503, "Service Unavailable", "text/plain", busy,
				  sizeof(busy) - 1, head, out_len);
	out = http_reply(200, "OK", CONTENT_TYPE, text, len, head, out_len);
	free(text);
	return out;
}

static void conn_close(struct mconn *c)
{
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
}

/* A slot for a new connection: a free one, or the one that has sent the
 * least of its request for longest. */
static struct mconn *conn_slot(struct metrics_server *ms)
{
	struct mconn *oldest = NULL;

	for (size_t i = 0; i < METRICS_CLIENTS; i++) {
		if (ms->c[i].fd < 0)
			return &ms->c[i];
		if (!ms->c[i].out && (!oldest || ms->c[i].accepted_ms < oldest->accepted_ms))
			oldest = &ms->c[i];
	}
	if (oldest)
		conn_close(oldest);
	return oldest;
}

static void accept_one(struct metrics_server *ms)
{
	int fd = accept4(ms->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct mconn *c;

	if (fd < 0)
		return;
	c = conn_slot(ms);
	if (!c) {
		close(fd);      /* every slot is sending a reply */
		return;
	}
	c->fd = fd;
	c->accepted_ms = now_ms();
	c->len = 0;
	c->off = 0;
}

static void conn_io(struct metrics_server *ms, struct mconn *c)
{
	ssize_t r;

	if (c->out) {
		r = write(c->fd, c->out + c->off, c->out_len - c->off);
		if (r > 0)
			c->off += (size_t)r;
		if ((r < 0 && errno != EAGAIN && errno != EINTR) || c->off >= c->out_len)
			conn_close(c);
		return;
	}
	r = read(c->fd, c->req + c->len, METRICS_REQ_MAX - c->len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)r;
	c->req[c->len] = 0;
	if (!strstr(c->req, "\r\n\r\n") && !strstr(c->req, "\n\n")) {
		if (c->len == METRICS_REQ_MAX)
			conn_close(c);  /* a head this large is no scrape */
		return;
	}
	c->out = respond(ms, c->req, &c->out_len);
	if (!c->out)
		conn_close(c);
}

/* Poll the listener and every connection until stop_fd is written;
 * connections past their deadline are closed. */
static void *serve(void *arg)
{
	struct metrics_server *ms = arg;
	struct pollfd pfd[METRICS_CLIENTS + 2];

	for (;;) {
		uint64_t now = now_ms(), next = now + METRICS_DEADLINE_MS;

		pfd[0] = (struct pollfd){ .fd = ms->stop_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = ms->lfd, .events = POLLIN };
		for (size_t i = 0; i < METRICS_CLIENTS; i++) {
			struct mconn *c = &ms->c[i];
			uint64_t dl = c->accepted_ms + METRICS_DEADLINE_MS;

			if (c->fd >= 0 && dl <= now)
				conn_close(c);
			if (c->fd >= 0 && dl < next)
				next = dl;
			pfd[i + 2] = (struct pollfd){ .fd = c->fd,
				.events = c->out ? POLLOUT : POLLIN };
		}
		if (poll(pfd, METRICS_CLIENTS + 2, (int)(next - now) + 1) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		for (size_t i = 0; i < METRICS_CLIENTS; i++)
			if (ms->c[i].fd >= 0 && pfd[i + 2].revents)
				conn_io(ms, &ms->c[i]);
		if (pfd[1].revents & POLLIN)
			accept_one(ms);
	}
	return NULL;
}

static int listen_on(const struct xlb_sockaddr *addr)
{
	union inet_sockaddr ss = { 0 };
	socklen_t sl = addr_to_sockaddr(addr, &ss);
	int fd, one = 1;

	fd = socket(ss.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &ss.sa, sl) != 0 || listen(fd, METRICS_BACKLOG) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int metrics_server_start(struct metrics_server **msp, const struct xlb_sockaddr *addr,
			 char *err, size_t errlen)
{
	struct metrics_server *ms;
	pthread_condattr_t ca;
	char buf[XLB_ADDRSTR_MAX];
	int ret;

	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	for (size_t i = 0; i < METRICS_CLIENTS; i++)
		ms->c[i].fd = -1;
	ms->lfd = listen_on(addr);
	if (ms->lfd < 0) {
		ret = ms->lfd;
		snprintf(err, errlen, "metrics: cannot listen on %s: %s",
			 addr_str(addr, buf, sizeof(buf)), strerror(-ret));
		free(ms);
		return ret;
	}
	ms->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ms->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&ms->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ms->cv, &ca);
	pthread_condattr_destroy(&ca);
	ret = ms->efd < 0 || ms->stop_fd < 0 ? errno : pthread_create(&ms->th, NULL, serve, ms);
	if (ret) {
		snprintf(err, errlen, "metrics: cannot start: %s", strerror(ret));
		ms->th = 0;
		metrics_server_stop(ms);
		return -ret;
	}
	log_info("metrics on http://%s/metrics", addr_str(addr, buf, sizeof(buf)));
	*msp = ms;
	return 0;
}

int metrics_server_fd(const struct metrics_server *ms)
{
	return ms ? ms->efd : -1;
}

void metrics_server_serve(struct metrics_server *ms, struct state *st)
{
	struct metrics_snapshot snap;
	uint64_t n, gen;
	char *text = NULL;
	size_t len = 0;

	if (read(ms->efd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&ms->mu);
	gen = ms->requested;
	pthread_mutex_unlock(&ms->mu);
	if (metrics_collect(st, &snap) == 0) {
		text = metrics_render(&snap, &len);
		metrics_snapshot_free(&snap);
	}
	if (!text)
		log_warn("metrics: out of memory");
	pthread_mutex_lock(&ms->mu);
	if (text) {
		free(ms->text);
		ms->text = text;
		ms->len = len;
		ms->text_ms = now_ms();
	}
	ms->served = gen;       /* on failure: the previous text, or 503 */
	pthread_cond_broadcast(&ms->cv);
	pthread_mutex_unlock(&ms->mu);
}

void metrics_server_stop(struct metrics_server *ms)
{
	uint64_t one = 1;

	if (!ms)
		return;
	/* Wake a scrape waiting in fetch() and the thread's poll. */
	pthread_mutex_lock(&ms->mu);
	ms->served = UINT64_MAX;
	pthread_cond_broadcast(&ms->cv);
	pthread_mutex_unlock(&ms->mu);
	if (ms->th) {
		if (write(ms->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("metrics: cannot stop the server thread: %s", strerror(errno));
		pthread_join(ms->th, NULL);
	}
	for (size_t i = 0; i < METRICS_CLIENTS; i++)
		if (ms->c[i].fd >= 0)
			conn_close(&ms->c[i]);
	close(ms->lfd);
	if (ms->efd >= 0)
		close(ms->efd);
	if (ms->stop_fd >= 0)
		close(ms->stop_fd);
	free(ms->text);
	pthread_cond_destroy(&ms->cv);
	pthread_mutex_destroy(&ms->mu);
	free(ms);
}
