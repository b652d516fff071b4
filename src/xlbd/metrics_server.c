// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The metrics HTTP endpoint: libmicrohttpd in its own thread. A scrape asks
 * the main thread (which owns the state) for a rendering through an eventfd
 * and waits for it under a mutex, so no state is read from this thread. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics.h"

#define SCRAPE_WAIT_S 5         /* a main loop busier than this: 503 */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server {
	struct MHD_Daemon *mhd;
	int efd;                        /* scrape -> main thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* CLOCK_MONOTONIC */
	uint64_t requested;             /* generation asked for by scrapes */
	uint64_t served;                /* generation the text is for */
	char *text;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *body, size_t len, enum MHD_ResponseMemoryMode mm,
			     const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, mm);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Ask the main thread for a rendering newer than this request and copy it. */
static char *fetch(struct metrics_server *ms, size_t *len)
{
	struct timespec deadline;
	uint64_t one = 1, gen;
	char *copy = NULL;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SCRAPE_WAIT_S;
	pthread_mutex_lock(&ms->mu);
	gen = ++ms->requested;
	if (write(ms->efd, &one, sizeof(one)) != sizeof(one))
		log_warn("metrics: cannot wake the main loop: %s", strerror(errno));
	while (ms->served < gen)
		if (pthread_cond_timedwait(&ms->cv, &ms->mu, &deadline) == ETIMEDOUT)
			break;
	if (ms->served >= gen && ms->text) {
		copy = malloc(ms->len + 1);
		if (copy) {
			memcpy(copy, ms->text, ms->len + 1);
			*len = ms->len;
		}
	}
	pthread_mutex_unlock(&ms->mu);
	return copy;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload_data, size_t *upload_size, void **ptr)
{
	static const char not_found[] = "not found: metrics are at /metrics\n";
	static const char bad_method[] = "only GET is served\n";
	static const char busy[] = "xlbd did not answer in time\n";
	struct metrics_server *ms = cls;
	static int first;
	size_t len = 0;
	char *text;

	/* The first call only announces the request (headers read). */
	if (*ptr != &first) {
		*ptr = &first;
		return MHD_YES;
	}
	*ptr = NULL;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method,
			     sizeof(bad_method) - 1, MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	text = fetch(ms, &len);
	if (!text)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, busy, sizeof(busy) - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	return reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE, CONTENT_TYPE);
}

int metrics_server_start(struct metrics_server **msp, const struct xlb_sockaddr *addr,
			 char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	struct metrics_server *ms;
	pthread_condattr_t ca;
	char buf[XLB_ADDRSTR_MAX];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	pthread_mutex_init(&ms->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ms->cv, &ca);
	pthread_condattr_destroy(&ca);
	ms->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ms->efd < 0) {
		snprintf(err, errlen, "metrics: cannot create an eventfd: %s",
			 strerror(errno));
		free(ms);
		return -errno;
	}
	addr_to_sockaddr(addr, &ss);
	if (addr->family == XLB_AF_INET6)
		flags |= MHD_USE_IPv6;
	ms->mhd = MHD_start_daemon(flags, addr->port, NULL, NULL, handle, ms,
				   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				   MHD_OPTION_CONNECTION_LIMIT, 32u,
				   MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				   MHD_OPTION_END);
	if (!ms->mhd) {
		snprintf(err, errlen, "metrics: cannot listen on %s (address in use or "
			 "not local?)", addr_str(addr, buf, sizeof(buf)));
		close(ms->efd);
		free(ms);
		return -EADDRNOTAVAIL;
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
	}
	ms->served = gen;       /* on failure: the previous text, or 503 */
	pthread_cond_broadcast(&ms->cv);
	pthread_mutex_unlock(&ms->mu);
}

void metrics_server_stop(struct metrics_server *ms)
{
	if (!ms)
		return;
	/* MHD_stop_daemon joins its thread; a scrape waiting in fetch() gives
	 * up after SCRAPE_WAIT_S at most. Wake it now instead. */
	pthread_mutex_lock(&ms->mu);
	ms->served = UINT64_MAX;
	pthread_cond_broadcast(&ms->cv);
	pthread_mutex_unlock(&ms->mu);
	MHD_stop_daemon(ms->mhd);
	close(ms->efd);
	free(ms->text);
	pthread_cond_destroy(&ms->cv);
	pthread_mutex_destroy(&ms->mu);
	free(ms);
}
