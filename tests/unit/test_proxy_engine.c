// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy engine on loopback, with echo backends in threads: TCP relay
 * with half-close, many connections' bytes at once, a large transfer,
 * spread by weight, retry after a refused connect, PROXY headers out and
 * in, UDP sessions that never mix replies, connections spread evenly over
 * the workers, slow clients (no backend connection before the first byte,
 * the header timeout, the idlest shed at max_connections, tcp and udp),
 * bulk directions spliced (byte-exact, half-closed, aborted by either
 * side), udp sessions that close while queries flow and a udp service
 * removed and added again while its clients ask (their sockets let go of),
 * and removal of a service. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proxy.h"
#include "proxy_int.h"
#include "unit.h"

#define EXPECT(cond) CHECK(cond, " ")

struct server {
	int fd;
	uint16_t port;
	bool udp;
	void *(*conn)(void *);  /* tcp: serves an accepted fd */
	_Atomic unsigned conns;
};

static uint16_t bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static int sock_on(int type, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    (type == SOCK_STREAM && listen(fd, 512))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A port nothing listens on (now), below the ephemeral range (32768 and
 * up by default): a port from bind(0) is one that any connect() on the
 * machine may take as its source port before the engine binds it. */
static uint16_t free_port(int type)
{
	static uint16_t given[32];
	static unsigned seed, n_given;

	if (!seed)
		seed = (unsigned)getpid();
	for (int i = 0; i < 1000; i++) {
		uint16_t p = (uint16_t)(20000 + rand_r(&seed) % 12000);
		int fd, taken = 0;

		for (unsigned k = 0; k < n_given; k++)
			taken |= given[k] == p;
		if (taken || (fd = sock_on(type, p)) < 0)
			continue;
		close(fd);
		if (n_given < sizeof(given) / sizeof(given[0]))
			given[n_given++] = p;
		return p;
	}
	return 0;
}

static void *tcp_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t m = write(fd, buf + off, (size_t)(n - off));

			if (m <= 0)
				goto out;
			off += m;
		}
out:
	close(fd);
	return NULL;
}

static void *first_line_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[512];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	if (write(fd, buf, len) < 0)
		len = 0;
	close(fd);
	return NULL;
}

/* The bytes of bulk transfers: byte i of a stream is pat[i % PAT]. */
#define PAT 65536
static char pat[PAT];

/* The stream from fd matches pat from offset *got on (adds what it read
 * to *got); reads until EOF, an error or max bytes. */
static bool read_pattern(int fd, size_t *got, size_t max)
{
	char buf[PAT];
	bool same = true;
	ssize_t n;

	while (*got < max && (n = read(fd, buf, sizeof(buf) < max - *got ?
				       sizeof(buf) : max - *got)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			same &= buf[i] == pat[(*got + (size_t)i) % PAT];
		*got += (size_t)n;
	}
	return same;
}

/* How the last 'D' connection of bulk_conn ended: 0 while it runs, then
 * the errno of its failed write. */
static _Atomic int download_err;

/* A bulk backend; the client's first byte says what it wants:
 * 'S' sink: reads pat until EOF, then answers "OK <bytes>" or "BAD <bytes>"
 *     (the client half-closed; the answer goes the other way);
 * 'D' download: writes pat until a write fails (the client went away);
 * 'R' reset: writes 4 MiB of pat, then resets the connection.
 * A PROXY v1 header before the command is skipped (send_proxy). */
static void *bulk_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct linger lg = { 1, 0 };
	char cmd = 0, msg[32];
	size_t got = 0, off;
	bool same, proxied = false;
	ssize_t n;

	if (read(fd, &cmd, 1) != 1)
		goto out;
	while (cmd == 'P' || proxied) {         /* "PROXY ...\r\n" */
		proxied = cmd != '\n';
		if (read(fd, &cmd, 1) != 1)
			goto out;
	}
	switch (cmd) {
	case 'S':
		same = read_pattern(fd, &got, SIZE_MAX);
		n = snprintf(msg, sizeof(msg), "%s %zu\n", same ? "OK" : "BAD", got);
		if (write(fd, msg, (size_t)n) != n)
			break;
		break;
	case 'D':
		for (off = 0;; off += (size_t)n) {
			n = write(fd, pat + off % PAT, PAT - off % PAT);
			if (n <= 0) {
				download_err = errno ? errno : EIO;
				break;
			}
		}
		break;
	case 'R':
		for (off = 0; off < 4u << 20; off += PAT)
			if (write(fd, pat, PAT) != PAT)
				break;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		break;
	}
out:
	close(fd);
	return NULL;
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	if (s->udp) {
		char buf[2048];

		for (;;) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &fl);

			if (n < 0)
				return NULL;
			s->conns++;
			sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	for (;;) {
		int fd = accept(s->fd, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			return NULL;
		s->conns++;
		pthread_create(&t, NULL, s->conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

/* conn NULL: udp echo. */
static void server_start(struct server *s, void *(*conn)(void *))
{
	pthread_t t;

	memset(s, 0, sizeof(*s));
	s->udp = !conn;
	s->conn = conn;
	s->fd = sock_on(s->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	s->port = bound_port(s->fd);
	pthread_create(&t, NULL, server_main, s);
	pthread_detach(t);
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send msg, half-close, read everything back until EOF. */
static ssize_t exchange(uint16_t port, const char *msg, size_t len, char *out,
			size_t outlen)
{
	int fd = connect_to(port);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (len && write(fd, msg, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while (got < outlen && (n = read(fd, out + got, outlen - got)) > 0)
		got += (size_t)n;
	close(fd);
	return (ssize_t)got;
}

static struct xlb_sockaddr lo(uint16_t port)
{
	struct xlb_sockaddr a = { .family = XLB_AF_INET, .port = port };

	a.addr.v4 = htonl(INADDR_LOOPBACK);
	return a;
}

/* Wait until the workers listen (they take the config asynchronously). */
static bool wait_listening(uint16_t port)
{
	for (int i = 0; i < 100; i++) {
		int fd = connect_to(port);

		if (fd >= 0) {
			close(fd);
			return true;
		}
		usleep(20000);
	}
	return false;
}

static struct server be1, be2, be3, be4, hdr, ube1, ube2, ube3, bulk;
static uint16_t vport, uport, dead_port, hport, aport, qport, cport, usport, bport,
		bpport, ucport, udead_port;
static struct xlb_service_cfg svcs[10];
static struct xlb_backend_cfg bes[10][3];
static struct xlb_config cfg;

static void setup(void)
{
	for (size_t i = 0; i < PAT; i++)
		pat[i] = (char)(i * 7 + i / 251);
	server_start(&be1, tcp_conn);
	server_start(&be2, tcp_conn);
	server_start(&be3, tcp_conn);
	server_start(&be4, tcp_conn);
	server_start(&hdr, first_line_conn);
	server_start(&ube1, NULL);
	server_start(&ube2, NULL);
	server_start(&ube3, NULL);
	server_start(&bulk, bulk_conn);
	vport = free_port(SOCK_STREAM);
	hport = free_port(SOCK_STREAM);
	aport = free_port(SOCK_STREAM);
	uport = free_port(SOCK_DGRAM);
	dead_port = free_port(SOCK_STREAM);
	qport = free_port(SOCK_STREAM);
	cport = free_port(SOCK_STREAM);
	usport = free_port(SOCK_DGRAM);
	bport = free_port(SOCK_STREAM);
	bpport = free_port(SOCK_STREAM);
	ucport = free_port(SOCK_DGRAM);
	udead_port = free_port(SOCK_DGRAM);

	config_init(&cfg);
	cfg.maglev_table_size = 1009;
	/* tcp: wrr 100/300 over two echo servers, and a dead backend the
	 * retries get around (weight 1: rarely picked first). */
	svcs[0] = (struct xlb_service_cfg){ .vip = lo(vport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .scheduler = XLB_SCHED_WRR,
		.n_backends = 2, .backends = bes[0] };
	bes[0][0] = (struct xlb_backend_cfg){ .addr = lo(be1.port), .weight = 100 };
	bes[0][1] = (struct xlb_backend_cfg){ .addr = lo(be2.port), .weight = 300 };
	/* send_proxy v1 to a server that echoes the first line. */
	svcs[1] = (struct xlb_service_cfg){ .vip = lo(hport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .send_proxy = XLB_SEND_PROXY_V1,
		.n_backends = 1, .backends = bes[1] };
	bes[1][0] = (struct xlb_backend_cfg){ .addr = lo(hdr.port), .weight = 100 };
	/* accept_proxy + send_proxy v2 -> echo (the echo shows what the
	 * backend got), and a refused backend first in rr order. */
	svcs[2] = (struct xlb_service_cfg){ .vip = lo(aport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .scheduler = XLB_SCHED_RR,
		.accept_proxy = true, .send_proxy = XLB_SEND_PROXY_V2,
		.n_backends = 2, .backends = bes[2] };
	bes[2][0] = (struct xlb_backend_cfg){ .addr = lo(dead_port), .weight = 100 };
	bes[2][1] = (struct xlb_backend_cfg){ .addr = lo(be1.port), .weight = 100 };
	svcs[3] = (struct xlb_service_cfg){ .vip = lo(uport), .proto = IPPROTO_UDP,
		.mode = XLB_MODE_PROXY, .scheduler = XLB_SCHED_RR,
		.n_backends = 2, .backends = bes[3] };
	bes[3][0] = (struct xlb_backend_cfg){ .addr = lo(ube1.port), .weight = 100 };
	bes[3][1] = (struct xlb_backend_cfg){ .addr = lo(ube2.port), .weight = 100 };
	/* Slow clients: a short header timeout; a cap of 4. */
	svcs[4] = (struct xlb_service_cfg){ .vip = lo(qport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .header_timeout_ms = 500,
		.n_backends = 1, .backends = bes[4] };
	bes[4][0] = (struct xlb_backend_cfg){ .addr = lo(be3.port), .weight = 100 };
	svcs[5] = (struct xlb_service_cfg){ .vip = lo(cport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .max_connections = 4,
		.n_backends = 1, .backends = bes[5] };
	bes[5][0] = (struct xlb_backend_cfg){ .addr = lo(be4.port), .weight = 100 };
	svcs[6] = (struct xlb_service_cfg){ .vip = lo(usport), .proto = IPPROTO_UDP,
		.mode = XLB_MODE_PROXY, .max_connections = 4,
		.n_backends = 1, .backends = bes[6] };
	bes[6][0] = (struct xlb_backend_cfg){ .addr = lo(ube1.port), .weight = 100 };
	svcs[7] = (struct xlb_service_cfg){ .vip = lo(bport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .n_backends = 1, .backends = bes[7] };
	bes[7][0] = (struct xlb_backend_cfg){ .addr = lo(bulk.port), .weight = 100 };
	/* The same with a PROXY v1 header in front. */
	svcs[8] = (struct xlb_service_cfg){ .vip = lo(bpport), .proto = IPPROTO_TCP,
		.mode = XLB_MODE_PROXY, .send_proxy = XLB_SEND_PROXY_V1,
		.n_backends = 1, .backends = bes[8] };
	bes[8][0] = (struct xlb_backend_cfg){ .addr = lo(bulk.port), .weight = 100 };
	/* udp sessions that end while others start: idle 200 ms, and a
	 * backend that refuses now and then. */
	svcs[9] = (struct xlb_service_cfg){ .vip = lo(ucport), .proto = IPPROTO_UDP,
		.mode = XLB_MODE_PROXY, .scheduler = XLB_SCHED_WRR,
		.client_timeout_ms = 200, .n_backends = 2, .backends = bes[9] };
	bes[9][0] = (struct xlb_backend_cfg){ .addr = lo(ube3.port), .weight = 100 };
	bes[9][1] = (struct xlb_backend_cfg){ .addr = lo(udead_port), .weight = 3 };
	cfg.services = svcs;
	cfg.n_services = 10;
	/* Keys of other modes keep their defaults (config_validate refuses
	 * anything else): icmp_unreachable is true unless a dr/tun/nat/fullnat
	 * service says otherwise. */
	for (size_t i = 0; i < cfg.n_services; i++)
		svcs[i].icmp_unreachable = true;
}

static void test_start(void)
{
	char err[256] = "";

	EXPECT(proxy_apply(&cfg) == 0);         /* not started: no-op */
	EXPECT(proxy_start(2) == 0);
	CHECK(config_validate(&cfg, err, sizeof(err)) == 0, "%s", err);
	EXPECT(proxy_apply(&cfg) == 0);
	EXPECT(wait_listening(vport) && wait_listening(hport) && wait_listening(aport) &&
	       wait_listening(qport) && wait_listening(cport) && wait_listening(bport) &&
	       wait_listening(bpport));
}

static void test_tcp_spread(void)
{
	char msg[64], out[64];
	unsigned ok = 0, b1 = be1.conns, b2 = be2.conns;

	for (int i = 0; i < 400; i++) {
		int n = snprintf(msg, sizeof(msg), "hello %d", i);

		ok += exchange(vport, msg, (size_t)n, out, sizeof(out)) == n &&
		      !memcmp(msg, out, (size_t)n);
	}
	b1 = be1.conns - b1;
	b2 = be2.conns - b2;
	CHECK(ok == 400, "%u/400 exchanges", ok);
	/* wrr per worker: 1 in 4 to be1, whatever worker got each. */
	/* (+1: the probe of wait_listening may land late.) */
	CHECK(b1 + b2 >= 400 && b1 + b2 <= 401 && b1 >= 80 && b1 <= 120,
	      "be1 %u be2 %u", b1, b2);
}

/* Many connections whose bytes arrive at once: a worker's round of more
 * than PROXY_READ_DIRECT_MAX connections reads them through its io_uring
 * (all of the round's first reads in one io_uring_enter), a smaller one
 * with read(). Waves of a message on every connection, then every echo
 * read back whole and in its own connection. */
#define MANY_CONNS 64
#define MANY_WAVES 30

static void test_tcp_many(void)
{
	int fds[MANY_CONNS];
	unsigned ok = 0, want = 0;

	for (int i = 0; i < MANY_CONNS; i++)
		fds[i] = connect_to(vport);
	for (int wave = 0; wave < MANY_WAVES && ok == want; wave++) {
		char msg[MANY_CONNS][32], out[32];

		for (int i = 0; i < MANY_CONNS; i++) {
			int n = snprintf(msg[i], sizeof(msg[i]), "wave %d conn %d.", wave, i);

			if (fds[i] >= 0 && write(fds[i], msg[i], (size_t)n) != n) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
		for (int i = 0; i < MANY_CONNS; i++) {
			size_t len = strlen(msg[i]), got = 0;
			ssize_t n;

			want++;
			while (fds[i] >= 0 && got < len &&
			       (n = read(fds[i], out + got, len - got)) > 0)
				got += (size_t)n;
			ok += got == len && !memcmp(out, msg[i], len);
			if (ok != want)         /* a read waits 5 s (connect_to) */
				break;
		}
	}
	for (int i = 0; i < MANY_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	CHECK(ok == want, "%u/%u echoes whole", ok, want);
}

/* proxy_zero: the service and its backends count from 0 again; the next
 * exchange counts 1. */
static void test_zero(void)
{
	struct xlb_sockaddr vip = lo(vport), b = lo(be1.port);
	struct proxy_counters sv, bc;
	char out[8];

	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &sv) == 0);
	CHECK(sv.total >= 400, "%llu connections before", (unsigned long long)sv.total);
	EXPECT(proxy_zero(IPPROTO_TCP, &vip) == 0);
	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &sv) == 0 &&
	       proxy_stats(IPPROTO_TCP, &vip, &b, &bc) == 0);
	CHECK(sv.total == 0 && sv.bytes_in == 0 && sv.bytes_out == 0 && bc.total == 0,
	      "after zero: service %llu conns %llu bytes in, be1 %llu conns",
	      (unsigned long long)sv.total, (unsigned long long)sv.bytes_in,
	      (unsigned long long)bc.total);
	CHECK(exchange(vport, "x", 1, out, sizeof(out)) == 1, "exchange");
	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &sv) == 0);
	CHECK(sv.total == 1 && sv.bytes_in == 1, "after one exchange: %llu conns, %llu "
	      "bytes in", (unsigned long long)sv.total, (unsigned long long)sv.bytes_in);
	CHECK(proxy_zero(IPPROTO_UDP, &vip) == -ENOENT, "zero of an unknown service");
}

static void *big_writer(void *arg)
{
	int fd = (int)(intptr_t)arg;

	for (int k = 0; k < 256; k++)           /* 16 MiB */
		if (write(fd, pat, PAT) != PAT)
			break;
	shutdown(fd, SHUT_WR);
	return NULL;
}

/* Bytes of the service on port spliced so far. */
static uint64_t spliced(uint16_t port)
{
	struct xlb_sockaddr vip = lo(port);
	struct proxy_counters st = { 0 };

	proxy_stats(IPPROTO_TCP, &vip, NULL, &st);
	return st.spliced;
}

/* 16 MiB each way through an echo server, byte-exact, the FIN after them:
 * both directions are bulk, and most of their bytes go through pipes. */
static void test_tcp_big(void)
{
	int fd = connect_to(vport);
	uint64_t sp0 = spliced(vport), sp;
	size_t got = 0;
	bool same;
	pthread_t t;

	EXPECT(fd >= 0);
	if (fd < 0)
		return;
	pthread_create(&t, NULL, big_writer, (void *)(intptr_t)fd);
	same = read_pattern(fd, &got, SIZE_MAX);
	pthread_join(t, NULL);
	close(fd);
	sp = spliced(vport) - sp0;
	CHECK(got == 256u * 65536 && same, "got %zu bytes, intact %d", got, same);
	CHECK(sp >= 16u << 20 && sp <= 32u << 20, "%llu of 32 MiB spliced",
	      (unsigned long long)sp);
}

/* A client that read 4 MiB of a download (spliced by then) resets its
 * connection: the proxy closes the backend's (whose next write fails),
 * and the pipe that held bytes in flight is not given to anyone. Then
 * the backend resets a download after 4 MiB: the client's read ends,
 * with an intact prefix. */
static void test_splice_abort(void)
{
	struct xlb_sockaddr vip = lo(bport);
	struct linger lg = { 1, 0 };
	struct proxy_counters st;
	uint64_t sp0 = spliced(bport);
	size_t got = 0;
	int fd = connect_to(bport), i;
	bool same;

	EXPECT(fd >= 0);
	if (fd < 0)
		return;
	download_err = 0;
	EXPECT(write(fd, "D", 1) == 1);
	same = read_pattern(fd, &got, 4u << 20);
	CHECK(got == 4u << 20 && same, "download: %zu bytes, intact %d", got, same);
	CHECK(spliced(bport) > sp0, "download not spliced");
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	for (i = 0; i < 250 && !download_err; i++)     /* 5 s at most */
		usleep(20000);
	CHECK(download_err == EPIPE || download_err == ECONNRESET,
	      "backend's write after the client's reset: %s", strerror(download_err));

	fd = connect_to(bport);
	EXPECT(fd >= 0);
	if (fd < 0)
		return;
	got = 0;
	EXPECT(write(fd, "R", 1) == 1);
	same = read_pattern(fd, &got, SIZE_MAX);
	CHECK(errno != EAGAIN && got <= 4u << 20 && same,
	      "after the backend's reset: %zu bytes, intact %d, %s", got, same,
	      strerror(errno));
	close(fd);
	for (i = 0; i < 250; i++) {                     /* 5 s at most */
		EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &st) == 0);
		if (!st.active)
			break;
		usleep(20000);
	}
	CHECK(st.active == 0, "%llu connections left", (unsigned long long)st.active);
}

/* A client sends 4 MiB (spliced) and half-closes: the FIN reaches the
 * backend after the last byte, and the answer comes back the other way.
 * At least four times, over both workers, after test_splice_abort: a pipe
 * that kept an aborted connection's bytes would show here. Then at least
 * twice with a PROXY header (send_proxy), which leaves before the spliced
 * bytes. A direction is spliced only once the proxy's reads fill its
 * buffer (PROXY_SPLICE_AFTER), which a proxy on an idle, fast CPU that
 * reads each write as it comes may never do in one upload (a CI run: 1.9
 * of 16 MiB spliced): uploads go on, up to 16 per port, until one port's
 * spliced bytes show the spliced path ran; every upload must be intact. */
static unsigned splice_uploads(uint16_t port, unsigned min, uint64_t want)
{
	uint64_t sp0 = spliced(port);
	unsigned ok = 0, k;

	for (k = 0; k < 16 && (k < min || spliced(port) - sp0 < want); k++) {
		char out[32] = "";
		ssize_t n = 0, m;
		int fd = connect_to(port);

		if (fd < 0)
			continue;
		if (write(fd, "S", 1) == 1)
			for (int i = 0; i < 64; i++)
				if (write(fd, pat, PAT) != PAT)
					break;
		shutdown(fd, SHUT_WR);
		while ((m = read(fd, out + n, sizeof(out) - 1 - (size_t)n)) > 0)
			n += m;
		close(fd);
		ok += !strcmp(out, "OK 4194304\n");
		if (strcmp(out, "OK 4194304\n"))
			printf("# backend answered '%s'\n", out);
	}
	CHECK(ok == k, "%u of %u uploads intact", ok, k);
	CHECK(spliced(port) - sp0 >= want, "%llu bytes of %u MiB spliced",
	      (unsigned long long)(spliced(port) - sp0), k * 4);
	return k;
}

static void test_splice_half_close(void)
{
	splice_uploads(bport, 4, 4u << 20);
	splice_uploads(bpport, 2, 1u << 20);    /* after a PROXY header */
}

static void test_send_proxy(void)
{
	char out[256], want[256];
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	int fd = connect_to(hport);
	ssize_t n = 0;

	EXPECT(fd >= 0);
	if (fd < 0)
		return;
	getsockname(fd, (struct sockaddr *)&me, &ml);
	EXPECT(write(fd, "x\n", 2) == 2);     /* the backend waits for it */
	shutdown(fd, SHUT_WR);
	for (ssize_t m; (m = read(fd, out + n, sizeof(out) - 1 - (size_t)n)) > 0;)
		n += m;
	close(fd);
	out[n < 0 ? 0 : n] = '\0';
	snprintf(want, sizeof(want), "PROXY TCP4 127.0.0.1 127.0.0.1 %u %u\r\n",
		 ntohs(me.sin_port), hport);
	CHECK(!strncmp(out, want, strlen(want)), "got '%s' want '%s'", out, want);
}

static void test_accept_proxy(void)
{
	static const char v1[] = "PROXY TCP4 198.18.0.1 198.18.0.100 5555 80\r\nping";
	struct proxy_counters st0, st;
	struct xlb_sockaddr vip = lo(aport);
	char out[256];
	ssize_t n;

	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &st0) == 0);
	/* Garbage: closed without a byte, counted. */
	n = exchange(aport, "GET / HTTP/1.0\r\n\r\n", 18, out, sizeof(out));
	EXPECT(n == 0);
	n = exchange(aport, "PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n", 36, out, sizeof(out));
	EXPECT(n == 0);
	/* Valid v1 in, v2 out with the client's address from the header,
	 * then the payload; the first backend refuses, a retry lands. */
	for (int i = 0; i < 4; i++) {
		n = exchange(aport, v1, sizeof(v1) - 1, out, sizeof(out));
		CHECK(n == 28 + 4, "got %zd bytes", n);
		if (n == 32) {
			EXPECT(out[12] == 0x21 && out[13] == 0x11);
			EXPECT(!memcmp(out + 16, "\xc6\x12\x00\x01\xc6\x12\x00\x64", 8));
			EXPECT(!memcmp(out + 24, "\x15\xb3\x00\x50", 4));
			EXPECT(!memcmp(out + 28, "ping", 4));
		}
	}
	usleep(100000);
	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &st) == 0);
	CHECK(st.bad_header - st0.bad_header == 2, "bad headers %llu",
	      (unsigned long long)(st.bad_header - st0.bad_header));
	CHECK(st.connect_fail >= 1 && st.retries >= 1, "fail %llu retries %llu",
	      (unsigned long long)st.connect_fail, (unsigned long long)st.retries);
	CHECK(st.active == 0, "active %llu", (unsigned long long)st.active);
}

static void test_udp(void)
{
	struct sockaddr_in v = { .sin_family = AF_INET, .sin_port = htons(uport),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fds[8];
	unsigned good = 0, bad = 0;
	struct timeval tv = { 2, 0 };

	for (int c = 0; c < 8; c++) {
		fds[c] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		setsockopt(fds[c], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		connect(fds[c], (struct sockaddr *)&v, sizeof(v));
	}
	for (int i = 0; i < 40; i++) {
		for (int c = 0; c < 8; c++) {
			char msg[32];
			int n = snprintf(msg, sizeof(msg), "client %d query %d", c, i);

			if (send(fds[c], msg, (size_t)n, 0) != n)
				bad++;
		}
		for (int c = 0; c < 8; c++) {
			char msg[32], out[64];
			int n = snprintf(msg, sizeof(msg), "client %d query %d", c, i);
			ssize_t m = recv(fds[c], out, sizeof(out), 0);

			if (m == n && !memcmp(out, msg, (size_t)n))
				good++;
			else
				bad++;
		}
	}
	for (int c = 0; c < 8; c++)
		close(fds[c]);
	CHECK(good == 320 && bad == 0, "good %u bad %u", good, bad);
	CHECK(ube1.conns > 0 && ube2.conns > 0, "udp spread %u %u",
	      ube1.conns, ube2.conns);
}

/* The proxy closed fd (EOF or reset) within ms. */
static bool closed_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	return poll(&p, 1, ms) == 1 && read(fd, &c, 1) <= 0;
}

/* The state `xlb conns` gives the connection of the client on local port
 * cport of the service on vport ("" when not listed), and its backend. */
static const char *conn_state(uint16_t vport, uint16_t cport, struct xlb_sockaddr *be,
			      uint64_t *total)
{
	struct xlb_sockaddr vip = lo(vport);
	static char state[16];
	struct proxy_conn *rows;
	unsigned missing;
	size_t n;

	state[0] = 0;
	n = proxy_conns(IPPROTO_TCP, &vip, 100, &rows, total, &missing);
	for (size_t i = 0; i < n; i++)
		if (rows[i].client.port == cport && addr_equal(&rows[i].service, &vip)) {
			snprintf(state, sizeof(state), "%s", rows[i].state);
			*be = rows[i].backend;
		}
	free(rows);
	return missing ? "missing" : state;
}

/* A client that connects and says nothing costs no backend connection and
 * is closed after header_timeout; one that talks is served. `xlb conns`
 * lists both, waiting for data, then the one that talked relayed. */
static void test_slow_client(void)
{
	struct xlb_sockaddr vip = lo(qport), be;
	struct proxy_counters st0, st;
	unsigned b0 = be3.conns;
	uint64_t total;
	const char *s;
	int quiet = connect_to(qport), talk = connect_to(qport);
	char out[8] = "";

	EXPECT(quiet >= 0 && talk >= 0);
	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &st0) == 0);
	usleep(200000);
	CHECK(be3.conns == b0, "%u backend connections for silent clients",
	      be3.conns - b0);
	s = conn_state(qport, bound_port(quiet), &be, &total);
	CHECK(!strcmp(s, "WAIT_DATA") && be.family == 0 && total == 2,
	      "quiet client: state '%s', backend family %u, %llu listed", s, be.family,
	      (unsigned long long)total);
	EXPECT(write(talk, "hi", 2) == 2);
	EXPECT(read(talk, out, sizeof(out)) == 2 && !memcmp(out, "hi", 2));
	CHECK(be3.conns == b0 + 1, "%u backend connections", be3.conns - b0);
	s = conn_state(qport, bound_port(talk), &be, &total);
	CHECK(!strcmp(s, "ESTABLISHED") && be.port == be3.port,
	      "talking client: state '%s', backend port %u (want %u)", s, be.port, be3.port);
	CHECK(closed_within(quiet, 2000), "silent client still connected");
	EXPECT(proxy_stats(IPPROTO_TCP, &vip, NULL, &st) == 0);
	CHECK(st.timeouts - st0.timeouts == 1, "timeouts %llu",
	      (unsigned long long)(st.timeouts - st0.timeouts));
	close(quiet);
	close(talk);
}

/* At max_connections (4) with 4 silent clients, a new client is served:
 * the idlest is shed, whichever worker holds it. */
static void test_shed_idlest(void)
{
	int fds[4], shed = 0;
	char out[8] = "";
	ssize_t n;

	for (int i = 0; i < 4; i++)
		fds[i] = connect_to(cport);
	usleep(1300000);        /* idle long enough to be shed */
	n = exchange(cport, "new", 3, out, sizeof(out));
	CHECK(n == 3 && !memcmp(out, "new", 3), "new client got %zd bytes", n);
	for (int i = 0; i < 4; i++) {
		shed += fds[i] >= 0 && closed_within(fds[i], 0);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	CHECK(shed >= 1 && shed <= 2, "%d silent clients shed", shed);
}

/* A udp client of port: connected, 300 ms receive timeout. */
static int udp_client(uint16_t port)
{
	struct sockaddr_in v = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 0, 300000 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	connect(fd, (struct sockaddr *)&v, sizeof(v));
	return fd;
}

/* A query from fd comes back (the echo), within tries x 300 ms: a client
 * refused at the cap asks again, as a resolver would. */
static bool udp_ask(int fd, int tries)
{
	char out[16];

	for (int i = 0; i < tries; i++)
		if (send(fd, "q", 1, 0) == 1 && recv(fd, out, sizeof(out), 0) == 1)
			return true;
	return false;
}

/* udp at max_connections (4): new clients are served once sessions have
 * been idle for a second, the idlest going first (not a session that just
 * had a query, whichever worker holds which). */
static void test_udp_shed(void)
{
	struct xlb_sockaddr vip = lo(usport);
	struct proxy_counters st0, st;
	int fds[6];
	bool ok = true;

	for (int c = 0; c < 6; c++)
		fds[c] = udp_client(usport);
	for (int c = 0; c < 4; c++)
		ok &= udp_ask(fds[c], 3);
	EXPECT(ok);
	EXPECT(proxy_stats(IPPROTO_UDP, &vip, NULL, &st0) == 0);
	usleep(1300000);        /* idle long enough to be shed */
	CHECK(udp_ask(fds[0], 1), "client 0 not answered");
	CHECK(udp_ask(fds[4], 5), "client 4 not served at the cap");
	CHECK(udp_ask(fds[5], 5), "client 5 not served at the cap");
	CHECK(udp_ask(fds[0], 1), "client 0 not answered after the shedding");
	EXPECT(proxy_stats(IPPROTO_UDP, &vip, NULL, &st) == 0);
	/* New sessions for clients 4 and 5 only: client 0's was kept. */
	CHECK(st.total - st0.total == 2 && st.timeouts - st0.timeouts == 2 &&
	      st.active == 4, "sessions %llu shed %llu active %llu",
	      (unsigned long long)(st.total - st0.total),
	      (unsigned long long)(st.timeouts - st0.timeouts),
	      (unsigned long long)st.active);
	for (int c = 0; c < 6; c++)
		close(fds[c]);
}

/* The BPF reuseport selector spreads connections and udp flows over the
 * two workers evenly (the kernel's hash alone gives 20/12 as often as
 * 16/16); without it (no CAP_BPF) there is nothing to check. */
static void test_balance(void)
{
	int fds[16];
	uint64_t a, b;

	if (!pbal_slots) {
		printf("# no BPF reuseport selector here: balance not checked\n");
		return;
	}
	usleep(200000);         /* earlier tests' connections gone */
	for (int i = 0; i < 16; i++)
		fds[i] = connect_to(vport);
	usleep(200000);
	a = __atomic_load_n(&pbal_slots[0].live, __ATOMIC_RELAXED);
	b = __atomic_load_n(&pbal_slots[1].live, __ATOMIC_RELAXED);
	for (int i = 0; i < 16; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* 16 connections, and test_udp's 8 sessions (30 s idle timeout). */
	CHECK(a + b >= 16 && (a > b ? a - b : b - a) <= 2,
	      "worker 0 holds %llu, worker 1 %llu", (unsigned long long)a,
	      (unsigned long long)b);
}

/* udp sockets on this host bound to port (remote: connected to it), from
 * /proc/net/udp: a socket stays there until nothing holds it, a receive
 * in the ring included. */
static int udp_socks(uint16_t port, bool remote)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[256];
	unsigned lport, rport;
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*x:%x %*x:%x", &lport, &rport) == 2 &&
		    (remote ? rport : lport) == port)
			n++;
	fclose(f);
	return n;
}

/* Sessions that close while queries flow (idle ones every 200 ms, and
 * those whose backend refused) end whole: every client answered, none
 * left active, and their sockets closed. */
static void test_udp_churn(void)
{
	struct xlb_sockaddr vip = lo(ucport);
	struct proxy_counters st;
	unsigned good = 0;
	int fds[8];

	for (int c = 0; c < 8; c++)
		fds[c] = udp_client(ucport);
	for (int i = 0; i < 200; i++) {
		int fd = udp_client(ucport);

		good += udp_ask(fd, 5);
		close(fd);
		/* And clients that stay, each idle long enough now and then
		 * for its session to end between two of its queries. */
		if (i % 25 == 0)
			usleep(300000);
		good += udp_ask(fds[i % 8], 5);
	}
	for (int c = 0; c < 8; c++)
		close(fds[c]);
	CHECK(good == 400, "answered %u of 400", good);
	usleep(600000);         /* idle 200 ms, and the wheel's tick */
	EXPECT(proxy_stats(IPPROTO_UDP, &vip, NULL, &st) == 0);
	CHECK(st.active == 0 && st.total >= 200 && st.timeouts == 0,
	      "active %llu sessions %llu", (unsigned long long)st.active,
	      (unsigned long long)st.total);
	CHECK(udp_socks(ube3.port, true) == 0, "%d sockets still connected to the backend",
	      udp_socks(ube3.port, true));
}

static _Atomic bool asking;
static _Atomic unsigned answered;

static void *udp_asker(void *arg)
{
	int fd = udp_client(ucport);

	while (atomic_load(&asking))
		answered += udp_ask(fd, 1);
	close(fd);
	return NULL;
}

/* A udp service removed and added again, 20 times, while a client asks:
 * served after the last time, and once it is gone for good its listeners
 * and session sockets are closed. */
static void test_udp_reload(void)
{
	pthread_t t;
	unsigned before;

	atomic_store(&asking, true);
	pthread_create(&t, NULL, udp_asker, NULL);
	for (int i = 0; i < 20; i++) {
		cfg.n_services = i % 2 ? 10 : 9;
		EXPECT(proxy_apply(&cfg) == 0);
		usleep(50000);
	}
	before = answered;
	usleep(500000);
	CHECK(answered > before, "no answer after the service came back (%u)", before);
	atomic_store(&asking, false);
	pthread_join(t, NULL);
	cfg.n_services = 9;
	EXPECT(proxy_apply(&cfg) == 0);
	usleep(300000);
	CHECK(udp_socks(ube3.port, true) == 0, "%d sockets still connected to the backend",
	      udp_socks(ube3.port, true));
	CHECK(udp_socks(ucport, false) == 0, "%d sockets still bound to the removed "
	      "service's port", udp_socks(ucport, false));
}

static void test_remove(void)
{
	cfg.n_services = 1;
	EXPECT(proxy_apply(&cfg) == 0);
	usleep(300000);
	int fd = connect_to(hport);

	CHECK(fd < 0, "removed service still accepts");
	if (fd >= 0)
		close(fd);
	EXPECT(wait_listening(vport));
	proxy_stop();
	fd = connect_to(vport);
	CHECK(fd < 0, "stopped engine still accepts");
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_max_level = LOG_LVL_WARN;
	setup();
	RUN(test_start);
	RUN(test_tcp_spread);
	RUN(test_tcp_many);
	RUN(test_zero);
	RUN(test_tcp_big);
	RUN(test_splice_abort);
	RUN(test_splice_half_close);
	RUN(test_send_proxy);
	RUN(test_accept_proxy);
	RUN(test_udp);
	RUN(test_balance);
	RUN(test_slow_client);
	RUN(test_shed_idlest);
	RUN(test_udp_shed);
	RUN(test_udp_churn);
	RUN(test_udp_reload);
	RUN(test_remove);
	UNIT_SUMMARY();
}
