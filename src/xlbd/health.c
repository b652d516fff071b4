// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The health-check thread: a schedule per backend, non-blocking sockets for
 * tcp/udp/dns checks and libcurl's multi interface for http, all waited on
 * on one epoll (curl through its socket callbacks). Results are counted into rise/fall and only
 * transitions go back to the main thread. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "health.h"
#include "health_dns.h"
#include "log.h"
#include "schema.h"
#include "version.h"

#define RESP_MAX    (2 + DNS_QUERY_MAX + 64)
_Static_assert(RESP_MAX >= XLB_HC_STR_MAX, "resp holds the tail of a body for expect_body");
#define EVENTS_MAX  65536       /* a main thread that never reads loses the oldest */

enum phase { PH_IDLE, PH_CONNECT, PH_SEND, PH_READ, PH_CURL, PH_SCRIPT };

struct target {
	/* Identity, as the config names it. */
	uint8_t proto;
	struct xlb_sockaddr vip, backend;
	struct xlb_health_cfg hc;
	struct xlb_sockaddr dst;        /* where the check goes */

	uint8_t status;                 /* enum health_status */
	uint32_t ok_run, fail_run;      /* results in a row */
	uint64_t next_ms;               /* start of the next check */
	uint64_t start_ms, deadline_ms;
	uint64_t start_us;
	uint32_t latency_us;            /* of the last finished check */
	uint64_t checks;

	enum phase phase;
	int fd;                         /* socket, or the script's pidfd */
	pid_t pid;                      /* script: running, not reaped; 0: none */
	CURL *easy;
	struct curl_slist *headers;
	uint8_t req[2 + DNS_QUERY_MAX];
	size_t req_len, req_off;
	uint8_t resp[RESP_MAX];
	size_t resp_len;
	uint64_t body_len;              /* http(s): bytes of the body so far */
	bool body_found;                /* http(s): expect_body seen in it */
};

/* epoll data: a target pointer, 0 for the wake-up fd, or a curl socket
 * as (fd << 1) | 1 (pointers are even). */
#define EP_WAKE 0u
#define EP_CURL(fd) (((uint64_t)(fd) << 1) | 1u)

struct health {
	pthread_t thread;
	pthread_mutex_t lock;
	int event_fd;                   /* to main: transitions wait */
	int wake_fd;                    /* to the thread: sync or stop */
	int ep;
	CURLM *multi;
	long curl_timeout_ms;           /* -1: curl wants no timeout */
	bool stop;                      /* under lock */

	/* Owned by the thread (each target allocated alone so epoll can
	 * point at it); read under lock by health_last_check(). */
	struct target **targets;
	size_t n_targets;

	/* Under lock: the next target set, and transitions for main. */
	struct target **pending;
	size_t n_pending;
	bool have_pending;
	struct health_event *events;
	size_t n_events;
};

const char *health_status_name(uint8_t status)
{
	return status == HEALTH_UP ? "up" : status == HEALTH_DOWN ? "down" : "unknown";
}

static bool same_target(const struct target *a, const struct target *b)
{
	return a->proto == b->proto && addr_equal(&a->vip, &b->vip) &&
	       addr_equal(&a->backend, &b->backend);
}

/* ---- transitions --------------------------------------------------------- */

static void push_event(struct health *h, const struct target *t, const char *reason)
{
	struct health_event *ev;
	uint64_t one = 1;

	pthread_mutex_lock(&h->lock);
	if (h->n_events == EVENTS_MAX) {
		memmove(h->events, h->events + 1, (EVENTS_MAX - 1) * sizeof(*ev));
		h->n_events--;
	}
	ev = realloc(h->events, (h->n_events + 1) * sizeof(*ev));
	if (ev) {
		h->events = ev;
		ev = &h->events[h->n_events++];
		ev->proto = t->proto;
		ev->vip = t->vip;
		ev->backend = t->backend;
		ev->status = t->status;
		snprintf(ev->reason, sizeof(ev->reason), "%s", reason);
	}
	pthread_mutex_unlock(&h->lock);
	if (write(h->event_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; nothing to do. */
	}
}

static void close_check(struct health *h, struct target *t)
{
	if (t->easy) {
		curl_multi_remove_handle(h->multi, t->easy);
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	if (t->pid > 0) {
		/* Past its timeout (or going away): it ends now, with what
		 * it started (its process group). */
		kill(-t->pid, SIGKILL);
		while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR)
			;
		t->pid = 0;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->phase = PH_IDLE;
}

/* One check finished: count it, and report a change of state. */
static void finish(struct health *h, struct target *t, bool ok, const char *what)
{
	char reason[HEALTH_REASON_MAX];
	uint8_t before = t->status;

	close_check(h, t);
	pthread_mutex_lock(&h->lock);
	t->latency_us = (uint32_t)(now_us() - t->start_us);
	t->checks++;
	pthread_mutex_unlock(&h->lock);
	if (ok) {
		t->fail_run = 0;
		t->ok_run++;
		/* Unknown counts as up already: one pass confirms it. */
		if ((before == HEALTH_DOWN && t->ok_run >= t->hc.rise) ||
		    before == HEALTH_UNKNOWN)
			t->status = HEALTH_UP;
	} else {
		t->ok_run = 0;
		t->fail_run++;
		if (before != HEALTH_DOWN && t->fail_run >= t->hc.fall)
			t->status = HEALTH_DOWN;
	}
	if (t->status == before)
		return;
	if (t->status == HEALTH_UP)
		snprintf(reason, sizeof(reason), "%s check passed %u time(s) in a row: %s",
			 hc_type_name(t->hc.type), t->ok_run, what);
	else
		snprintf(reason, sizeof(reason), "%s check failed %u time(s) in a row: %s",
			 hc_type_name(t->hc.type), t->fail_run, what);
	push_event(h, t, reason);
}

static void fail_errno(struct health *h, struct target *t, const char *op, int err)
{
	char what[96];

	snprintf(what, sizeof(what), "%s: %s", op, strerror(err));
	finish(h, t, false, what);
}

/* ---- checks over our own sockets ---------------------------------------- */

/* Wait for what the phase needs: writable to connect or send, readable
 * to receive. EPOLLERR/EPOLLHUP always wake us (an ICMP error on udp). */
static void watch(struct health *h, struct target *t)
{
	struct epoll_event e = { .events = t->phase == PH_READ ? EPOLLIN : EPOLLOUT,
				 .data.ptr = t };

	if (epoll_ctl(h->ep, EPOLL_CTL_MOD, t->fd, &e) && errno == ENOENT)
		epoll_ctl(h->ep, EPOLL_CTL_ADD, t->fd, &e);
}

static void start_socket(struct health *h, struct target *t, int type)
{
	union inet_sockaddr ss;
	socklen_t sl;
	int fd;

	sl = addr_to_sockaddr(&t->dst, &ss);
	fd = socket(ss.sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_errno(h, t, "socket", errno);
		return;
	}
	t->fd = fd;
	if (type == SOCK_STREAM) {
		/* Close with a RST: hundreds of checks a second must not fill
		 * our side with TIME_WAIT sockets. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (connect(fd, &ss.sa, sl) == 0) {
		t->phase = type == SOCK_STREAM ? PH_CONNECT : PH_SEND;
	} else if (errno != EINPROGRESS) {
		fail_errno(h, t, "connect", errno);
		return;
	} else {
		t->phase = PH_CONNECT;
	}
	watch(h, t);
}

static void build_request(struct target *t)
{
	uint16_t id;
	int n;

	t->req_len = t->req_off = t->resp_len = 0;
	if (t->hc.type == XLB_HC_UDP) {
		t->req_len = strlen(t->hc.payload);
		memcpy(t->req, t->hc.payload, t->req_len);
	} else if (t->hc.type == XLB_HC_DNS) {
		bool tcp = t->hc.dns_proto == IPPROTO_TCP;

		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
			id = (uint16_t)now_us();
		n = dns_build_query(t->req + (tcp ? 2 : 0), sizeof(t->req) - 2, id,
				    t->hc.query, t->hc.query_type);
		if (n < 0)
			return;         /* the config checked the name */
		if (tcp) {
			t->req[0] = (uint8_t)(n >> 8);
			t->req[1] = (uint8_t)n;
		}
		t->req_len = (size_t)n + (tcp ? 2 : 0);
	}
}

/* The reply is complete (or, for dns over tcp, has its question): judge it. */
static void judge_reply(struct health *h, struct target *t)
{
	char what[HEALTH_REASON_MAX], rc[16], ty[16];
	bool tcp = t->hc.type == XLB_HC_DNS && t->hc.dns_proto == IPPROTO_TCP;
	int r;

	if (t->hc.type == XLB_HC_UDP) {
		if (t->hc.expect[0] &&
		    !memmem(t->resp, t->resp_len, t->hc.expect, strlen(t->hc.expect))) {
			snprintf(what, sizeof(what), "reply of %zu bytes without '%.64s'",
				 t->resp_len, t->hc.expect);
			finish(h, t, false, what);
		} else {
			snprintf(what, sizeof(what), "reply of %zu bytes", t->resp_len);
			finish(h, t, true, what);
		}
		return;
	}
	r = dns_check_reply(t->req + (tcp ? 2 : 0), t->req_len - (tcp ? 2 : 0),
			    t->resp + (tcp ? 2 : 0), t->resp_len - (tcp ? 2 : 0));
	if (r < 0) {
		finish(h, t, false, "malformed DNS reply or one to another query");
		return;
	}
	snprintf(what, sizeof(what), "%.64s %s: %s", t->hc.query,
		 dns_type_str(t->hc.query_type, ty, sizeof(ty)),
		 dns_rcode_str(r, rc, sizeof(rc)));
	finish(h, t, r == 0, what);
}

/* ---- script ---------------------------------------------------------------- */

/* The environment of a script check: xlbd's, and the target's. NULL: no
 * memory. Freed with free_env. */
static char **script_env(const struct target *t)
{
	char svc[XLB_ADDRSTR_MAX + 8], a[XLB_ADDRSTR_MAX];
	size_t n = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (!env)
		return NULL;
	memcpy(env, environ, n * sizeof(*env));
	service_name_str(t->proto, &t->vip, svc, sizeof(svc));
	addr_str_noport(&t->dst, a, sizeof(a));
	if (asprintf(&env[n], "XLB_SERVICE=%s", svc) < 0)
		env[n] = NULL;
	if (asprintf(&env[n + 1], "XLB_BACKEND=%s", a) < 0)
		env[n + 1] = NULL;
	if (asprintf(&env[n + 2], "XLB_PORT=%u", t->dst.port) < 0)
		env[n + 2] = NULL;
	if (!env[n] || !env[n + 1] || !env[n + 2]) {
		for (size_t i = n; i < n + 3; i++)
			free(env[i]);
		free(env);
		return NULL;
	}
	return env;
}

static void free_env(char **env)
{
	size_t n = 0;

	while (environ[n])
		n++;
	for (size_t i = n; env[i]; i++)
		free(env[i]);
	free(env);
}

/* Starts hc.command with /bin/sh -c in a process group of its own, stdin
 * on /dev/null, and watches its pidfd: readable when the command exits. */
static void start_script(struct health *h, struct target *t)
{
	char *argv[] = { "sh", "-c", t->hc.command, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = t };
	char **env = script_env(t);
	int ret;

	if (!env) {
		finish(h, t, false, "out of memory");
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	/* Its own process group: a timeout kills what it started too. */
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	ret = posix_spawn(&t->pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free_env(env);
	if (ret) {
		t->pid = 0;
		fail_errno(h, t, "posix_spawn", ret);
		return;
	}
	t->phase = PH_SCRIPT;
	t->fd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (t->fd < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, t->fd, &e)) {
		fail_errno(h, t, "pidfd_open", errno);
		return;
	}
}

/* The script's pidfd is readable: it exited; exit 0 passes. */
static void script_done(struct health *h, struct target *t)
{
	char what[64];
	int st;

	if (waitpid(t->pid, &st, WNOHANG) != t->pid)
		return;
	t->pid = 0;
	if (WIFEXITED(st))
		snprintf(what, sizeof(what), "exit %d", WEXITSTATUS(st));
	else
		snprintf(what, sizeof(what), "killed by signal %d", WTERMSIG(st));
	finish(h, t, WIFEXITED(st) && WEXITSTATUS(st) == 0, what);
}

/* A connecting check's socket is ready: a tcp check is done, the others go
 * on to send their request (returns true then). */
static bool connect_done(struct health *h, struct target *t, uint32_t revents)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err) {
		fail_errno(h, t, "connect", err);
		return false;
	}
	if (!(revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		return false;
	if (t->hc.type == XLB_HC_TCP) {
		finish(h, t, true, "connected");
		return false;
	}
	t->phase = PH_SEND;
	return true;
}

/* Sends what is left of the request; once all is out, waits for the reply. */
static void send_request(struct health *h, struct target *t)
{
	ssize_t n = send(t->fd, t->req + t->req_off, t->req_len - t->req_off,
			 MSG_NOSIGNAL);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fail_errno(h, t, "send", errno);
		return;
	}
	t->req_off += (size_t)n;
	if (t->req_off < t->req_len)
		return;
	t->phase = PH_READ;
	watch(h, t);
}

/* Reads the reply and judges it once it is whole. */
static void read_reply(struct health *h, struct target *t)
{
	ssize_t n = recv(t->fd, t->resp + t->resp_len,
			 sizeof(t->resp) - t->resp_len, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* ECONNREFUSED on udp: an ICMP port unreachable came back. */
		fail_errno(h, t, "receive", errno);
		return;
	}
	if (t->hc.type == XLB_HC_UDP || t->hc.dns_proto == IPPROTO_UDP) {
		t->resp_len = (size_t)n;
		judge_reply(h, t);
		return;
	}
	/* dns over tcp: a 2-byte length, then the message; its header and
	 * question are all we need. */
	if (n == 0) {
		finish(h, t, false, "connection closed before the reply");
		return;
	}
	t->resp_len += (size_t)n;
	if (t->resp_len >= 2) {
		size_t msg = (size_t)t->resp[0] << 8 | t->resp[1];

		if (t->resp_len >= t->req_len || t->resp_len >= 2 + msg ||
		    t->resp_len == sizeof(t->resp))
			judge_reply(h, t);
	}
}

/* The socket of a check is ready (revents from poll). */
static void progress(struct health *h, struct target *t, uint32_t revents)
{
	if (t->phase == PH_SCRIPT) {
		script_done(h, t);
		return;
	}
	if (t->phase == PH_CONNECT && !connect_done(h, t, revents))
		return;
	if (t->phase == PH_SEND)
		send_request(h, t);
	else if (t->phase == PH_READ)
		read_reply(h, t);
}

/* ---- http through libcurl ------------------------------------------------ */

/* The body as it comes, searched for expect_body chunk by chunk: resp
 * keeps the last strlen(expect_body) - 1 bytes seen, for a match across
 * two chunks. */
static size_t body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct target *t = arg;
	size_t len = size * n, k = strlen(t->hc.expect_body), m, all;
	uint8_t joint[2 * XLB_HC_STR_MAX];

	t->body_len += len;
	if (!k || t->body_found)
		return len;
	if (memmem(p, len, t->hc.expect_body, k)) {
		t->body_found = true;
		return len;
	}
	/* The previous tail with this chunk's head (or all of a short one). */
	m = len < k - 1 ? len : k - 1;
	memcpy(joint, t->resp, t->resp_len);
	memcpy(joint + t->resp_len, p, m);
	all = t->resp_len + m;
	if (memmem(joint, all, t->hc.expect_body, k)) {
		t->body_found = true;
		return len;
	}
	if (len >= k - 1) {
		memcpy(t->resp, p + len - (k - 1), k - 1);
		t->resp_len = k - 1;
	} else {
		m = all < k - 1 ? all : k - 1;
		memmove(t->resp, joint + all - m, m);
		t->resp_len = m;
	}
	return len;
}

static void start_http(struct health *h, struct target *t)
{
	char url[XLB_ADDRSTR_MAX + XLB_HC_STR_MAX + 16], a[XLB_ADDRSTR_MAX];
	char hdr[XLB_HC_STR_MAX + 8];
	const char *scheme = t->hc.type == XLB_HC_HTTPS ? "https" : "http";
	CURL *e;

	addr_str_noport(&t->dst, a, sizeof(a));
	if (t->dst.family == XLB_AF_INET6)
		snprintf(url, sizeof(url), "%s://[%s]:%u%s", scheme, a, t->dst.port,
			 t->hc.path);
	else
		snprintf(url, sizeof(url), "%s://%s:%u%s", scheme, a, t->dst.port,
			 t->hc.path);
	e = curl_easy_init();
	if (!e) {
		finish(h, t, false, "cannot create a curl handle");
		return;
	}
	t->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");          /* ignore *_proxy env */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->hc.timeout_ms);
	t->resp_len = 0;
	t->body_len = 0;
	t->body_found = false;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "xlb-health/" XLB_VERSION);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, scheme);
	/* Like keepalived's SSL_GET: the backend's certificate is not
	 * verified (backends are addressed by IP, often self-signed); the
	 * check is that TLS and HTTP work and answer as expected. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	if (t->hc.host[0]) {
		snprintf(hdr, sizeof(hdr), "Host: %s", t->hc.host);
		t->headers = curl_slist_append(NULL, hdr);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		finish(h, t, false, "cannot add a curl handle");
		return;
	}
	t->phase = PH_CURL;
}

/* Whether HTTP status code is one of hc's expect_status. */
static bool status_passes(const struct xlb_health_cfg *hc, long code)
{
	for (uint8_t i = 0; i < hc->n_status && i < XLB_HC_STATUS_MAX; i++)
		if (code >= hc->status[i][0] && code <= hc->status[i][1])
			return true;
	return false;
}

static void reap_curl(struct health *h)
{
	char what[HEALTH_REASON_MAX];
	struct target *t;
	CURLMsg *m;
	long code = 0;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		t = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!t)
			continue;
		if (m->data.result != CURLE_OK) {
			snprintf(what, sizeof(what), "%s", curl_easy_strerror(m->data.result));
			finish(h, t, false, what);
			continue;
		}
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (!status_passes(&t->hc, code)) {
			char want[XLB_HC_STR_MAX];

			snprintf(what, sizeof(what), "HTTP %ld (expected %.128s)", code,
				 schema_format(schema_key(&schema_health, "expect_status"),
					       &t->hc, want, sizeof(want)));
			finish(h, t, false, what);
		} else if (t->hc.expect_body[0] && !t->body_found) {
			snprintf(what, sizeof(what), "HTTP %ld, body of %llu bytes without "
				 "'%.64s'", code, (unsigned long long)t->body_len,
				 t->hc.expect_body);
			finish(h, t, false, what);
		} else {
			snprintf(what, sizeof(what), "HTTP %ld", code);
			finish(h, t, true, what);
		}
	}
}

/* ---- the loop ------------------------------------------------------------ */

static void start_check(struct health *h, struct target *t, uint64_t now)
{
	t->start_ms = now;
	t->start_us = now_us();
	t->deadline_ms = now + t->hc.timeout_ms;
	/* The next check is due one interval after this one started, so a
	 * slow backend does not drift its own schedule. */
	t->next_ms += t->hc.interval_ms;
	if (t->next_ms <= now)
		t->next_ms = now + t->hc.interval_ms;
	switch (t->hc.type) {
	case XLB_HC_TCP:
		start_socket(h, t, SOCK_STREAM);
		break;
	case XLB_HC_UDP:
		build_request(t);
		start_socket(h, t, SOCK_DGRAM);
		break;
	case XLB_HC_DNS:
		build_request(t);
		start_socket(h, t, t->hc.dns_proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM);
		break;
	case XLB_HC_HTTP:
	case XLB_HC_HTTPS:
		start_http(h, t);
		break;
	case XLB_HC_SCRIPT:
		start_script(h, t);
		break;
	}
}

/* Take the set health_sync() left: targets that stay keep their state
 * and their check in flight (the same object moves over). Called with the
 * lock held. */
static void adopt_pending(struct health *h)
{
	struct target **old = h->targets;
	size_t n_old = h->n_targets;

	for (size_t i = 0; i < h->n_pending; i++) {
		struct target *t = h->pending[i];

		for (size_t j = 0; j < n_old; j++) {
			struct target *o = old[j];

			if (o && same_target(o, t) && !memcmp(&o->hc, &t->hc, sizeof(t->hc)) &&
			    addr_equal(&o->dst, &t->dst)) {
				h->pending[i] = o;
				old[j] = NULL;
				free(t);
				break;
			}
		}
	}
	for (size_t j = 0; j < n_old; j++)
		if (old[j]) {
			close_check(h, old[j]);
			free(old[j]);
		}
	free(old);
	h->targets = h->pending;
	h->n_targets = h->n_pending;
	h->pending = NULL;
	h->n_pending = 0;
	h->have_pending = false;
}

/* libcurl tells which of its sockets to watch for what. */
static int curl_socket_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sp)
{
	struct health *h = arg;
	struct epoll_event ev = { .data.u64 = EP_CURL(fd) };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(h->ep, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(h->ep, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int curl_timer_cb(CURLM *m, long timeout_ms, void *arg)
{
	struct health *h = arg;

	h->curl_timeout_ms = timeout_ms;
	return 0;
}

/* Times out and starts the checks that are due; returns how long the loop
 * may sleep before the next deadline (ms, at most 1000). */
static long run_due(struct health *h, uint64_t now)
{
	long timeout = 1000;

	for (size_t i = 0; i < h->n_targets; i++) {
		struct target *t = h->targets[i];
		char what[64];

		if (t->phase != PH_IDLE && now >= t->deadline_ms) {
			snprintf(what, sizeof(what), t->phase == PH_SCRIPT ?
				 "still running after %u ms (killed)" :
				 "no answer within %u ms", t->hc.timeout_ms);
			finish(h, t, false, what);
		}
		if (t->phase == PH_IDLE && now >= t->next_ms)
			start_check(h, t, now);
		if (t->phase == PH_IDLE) {
			if ((long)(t->next_ms - now) < timeout)
				timeout = (long)(t->next_ms - now);
		} else if ((long)(t->deadline_ms - now) < timeout) {
			timeout = (long)(t->deadline_ms - now);
		}
	}
	return timeout;
}

/* One epoll event: the wake-up eventfd, a curl socket (tagged with bit 0),
 * or one of our own check sockets. */
static void dispatch_event(struct health *h, const struct epoll_event *ev,
			   int *running)
{
	uint64_t d = ev->data.u64;

	if (d == EP_WAKE) {
		uint64_t v;

		if (read(h->wake_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another event took it. */
		}
	} else if (d & 1u) {
		int mask = (ev->events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			   (ev->events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			   (ev->events & (EPOLLERR | EPOLLHUP) ?
			    CURL_CSELECT_ERR : 0);

		curl_multi_socket_action(h->multi, (curl_socket_t)(d >> 1),
					 mask, running);
	} else {
		progress(h, ev->data.ptr, ev->events);
	}
}

static void *health_main(void *arg)
{
	struct health *h = arg;
	struct epoll_event evs[64];
	int running;

	for (;;) {
		long timeout;
		int n;

		pthread_mutex_lock(&h->lock);
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		if (h->have_pending)
			adopt_pending(h);
		pthread_mutex_unlock(&h->lock);

		timeout = run_due(h, now_ms());
		if (h->curl_timeout_ms >= 0 && h->curl_timeout_ms < timeout)
			timeout = h->curl_timeout_ms;
		if (timeout < 0)
			timeout = 0;
		n = epoll_wait(h->ep, evs, 64, (int)timeout);
		if (n == 0 || h->curl_timeout_ms == 0) {
			h->curl_timeout_ms = -1;
			curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		for (int i = 0; i < n; i++)
			dispatch_event(h, &evs[i], &running);
		reap_curl(h);
	}
	return NULL;
}

/* ---- the main thread's side --------------------------------------------- */

static void wake(struct health *h)
{
	uint64_t one = 1;

	if (write(h->wake_fd, &one, sizeof(one)) < 0) {
		/* Only fails when the counter is full: it is awake anyway. */
	}
}

int health_start(struct health **hp)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = EP_WAKE };
	struct health *h;
	int ret;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->curl_timeout_ms = -1;
	h->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	h->multi = curl_multi_init();
	if (h->event_fd < 0 || h->wake_fd < 0 || h->ep < 0 || !h->multi ||
	    epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake_fd, &e)) {
		ret = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	ret = -pthread_create(&h->thread, NULL, health_main, h);
	if (ret)
		goto fail;
	*hp = h;
	return 0;
fail:
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->event_fd >= 0)
		close(h->event_fd);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	if (h->ep >= 0)
		close(h->ep);
	free(h);
	curl_global_cleanup();
	return ret;
}

static void free_set(struct target **set, size_t n)
{
	for (size_t i = 0; set && i < n; i++)
		free(set[i]);
	free(set);
}

void health_stop(struct health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_mutex_unlock(&h->lock);
	wake(h);
	pthread_join(h->thread, NULL);
	for (size_t i = 0; i < h->n_targets; i++) {
		close_check(h, h->targets[i]);
		free(h->targets[i]);
	}
	free(h->targets);
	free_set(h->pending, h->n_pending);
	free(h->events);
	curl_multi_cleanup(h->multi);
	close(h->event_fd);
	close(h->wake_fd);
	close(h->ep);
	pthread_mutex_destroy(&h->lock);
	free(h);
	curl_global_cleanup();
}

int health_event_fd(const struct health *h)
{
	return h->event_fd;
}

int health_sync(struct health *h, const struct xlb_config *cfg)
{
	struct target **set;
	size_t n = 0, k = 0;
	uint64_t now = now_ms();

	for (size_t i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].hc.type != XLB_HC_NONE)
			n += cfg->services[i].n_backends;
	set = calloc(n + 1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct xlb_service_cfg *s = &cfg->services[i];

		if (s->hc.type == XLB_HC_NONE)
			continue;
		for (size_t j = 0; j < s->n_backends; j++) {
			const struct xlb_sockaddr *b = &s->backends[j].addr;
			struct target *t = calloc(1, sizeof(*t));

			if (!t) {
				free_set(set, k);
				return -ENOMEM;
			}
			set[k++] = t;
			t->proto = s->proto;
			t->vip = s->vip;
			t->backend = *b;
			t->hc = s->hc;
			t->dst = *b;
			t->dst.port = s->hc.port ? s->hc.port : b->port ? b->port : s->vip.port;
			t->fd = -1;
			/* Spread first checks over an interval: a config with
			 * hundreds of backends must not check them in one burst. */
			t->next_ms = now + (k * 7919u) % s->hc.interval_ms;
		}
	}
	pthread_mutex_lock(&h->lock);
	free_set(h->pending, h->n_pending);
	h->pending = set;
	h->n_pending = n;
	h->have_pending = true;
	pthread_mutex_unlock(&h->lock);
	wake(h);
	return 0;
}

size_t health_take_events(struct health *h, struct health_event **out)
{
	uint64_t v;
	size_t n;

	if (read(h->event_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing new since the last call. */
	}
	pthread_mutex_lock(&h->lock);
	*out = h->events;
	n = h->n_events;
	h->events = NULL;
	h->n_events = 0;
	pthread_mutex_unlock(&h->lock);
	return n;
}

int health_last_check(struct health *h, uint8_t proto, const struct xlb_sockaddr *vip,
		      const struct xlb_sockaddr *backend, uint32_t *latency_us,
		      uint64_t *checks)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n_targets; i++) {
		struct target *t = h->targets[i];

		if (t->proto == proto && addr_equal(&t->vip, vip) &&
		    addr_equal(&t->backend, backend)) {
			*latency_us = t->latency_us;
			*checks = t->checks;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}
