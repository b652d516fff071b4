// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* TCP in mode proxy: accept, optional PROXY header from the client, pick a
 * backend, non-blocking connect with retries, then relay both ways through
 * two buffers until both directions are closed (a FIN is forwarded as
 * shutdown(SHUT_WR), so half-closed connections work). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proxy_int.h"
#include "proxy_protocol.h"

static void list_add(struct pconn *head, struct pconn *c)
{
	c->next = head->next;
	c->prev = head;
	head->next->prev = c;
	head->next = c;
}

static void release_backend(struct pconn *c)
{
	if (!c->be)
		return;
	atomic_fetch_sub_explicit(&c->be->load.active, 1, memory_order_relaxed);
	c->be = NULL;
}

static void close_item(struct pworker *w, struct pitem *it)
{
	if (it->fd < 0)
		return;
	pitem_set(w, it, 0);
	close(it->fd);
	it->fd = -1;
}

void ptcp_close(struct pconn *c)
{
	struct pworker *w = c->w;

	if (c->dead)
		return;
	c->dead = true;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	close_item(w, &c->ci);
	close_item(w, &c->si);
	release_backend(c);
	atomic_fetch_sub_explicit(&c->ps->active, 1, memory_order_relaxed);
	/* Freed after the current event batch (see worker_main). */
	c->next = w->grave_c;
	w->grave_c = c;
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Client address as the hash input: address only for sh (all of a
 * client's connections on one backend), address and port for maglev. */
static uint64_t client_hash(const struct sockaddr_storage *ss, bool with_port)
{
	uint8_t k[18] = { 0 };

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		memcpy(k, &s->sin_addr, 4);
		memcpy(k + 16, &s->sin_port, 2);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		memcpy(k, &s->sin6_addr, 16);
		memcpy(k + 16, &s->sin6_port, 2);
	}
	return psched_hash(k, with_port ? 18 : 16);
}

/* The epoll interest both sockets need now. */
static void update_interest(struct pconn *c)
{
	uint32_t ce = 0, se = 0;

	switch (c->state) {
	case PC_HEADER:
		ce = EPOLLIN;
		break;
	case PC_CONNECTING:
		se = EPOLLOUT;
		break;
	case PC_RELAY:
		if (!c->c2s.eof && c->c2s.len < PROXY_BUF)
			ce |= EPOLLIN;
		if (c->s2c.off < c->s2c.len)
			ce |= EPOLLOUT;
		if (!c->s2c.eof && c->s2c.len < PROXY_BUF)
			se |= EPOLLIN;
		if (c->c2s.off < c->c2s.len)
			se |= EPOLLOUT;
		break;
	}
	pitem_set(c->w, &c->ci, ce);
	pitem_set(c->w, &c->si, se);
}

/* Read what fits from fd into b. Returns bytes read, 0 (nothing now or
 * EOF, see b->eof) or -1 on a fatal error. */
static ssize_t buf_fill(int fd, struct pbuf *b)
{
	ssize_t n;

	if (b->off == b->len)
		b->off = b->len = 0;
	else if (b->len == PROXY_BUF && b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len == PROXY_BUF || b->eof)
		return 0;
	n = read(fd, b->data + b->len, PROXY_BUF - b->len);
	if (n > 0) {
		b->len += (uint32_t)n;
		return n;
	}
	if (n == 0) {
		b->eof = true;
		return 0;
	}
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/* Write what b holds to fd; forward the FIN once b is empty after EOF.
 * Returns bytes written or -1 on a fatal error. */
static ssize_t buf_flush(int fd, struct pbuf *b)
{
	ssize_t n, total = 0;

	while (b->off < b->len) {
		n = send(fd, b->data + b->off, b->len - b->off, MSG_NOSIGNAL);
		if (n > 0) {
			b->off += (uint32_t)n;
			total += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		return -1;
	}
	if (b->off == b->len) {
		b->off = b->len = 0;
		if (b->eof && !b->shut) {
			shutdown(fd, SHUT_WR);
			b->shut = true;
		}
	}
	return total;
}

static void conn_connect(struct pconn *c);

static void connected(struct pconn *c)
{
	struct pbuf *b = &c->c2s;

	c->state = PC_RELAY;
	c->t_client = c->t_server = c->w->now;
	if (c->set.send_proxy) {
		uint8_t hdr[PP_V2_HDR + 36 > PP_V1_MAX + 1 ? PP_V2_HDR + 36 : PP_V1_MAX + 1];
		int hl;

		if (c->set.send_proxy == XLB_SEND_PROXY_V1)
			hl = pp_encode_v1((char *)hdr, sizeof(hdr),
					  (const void *)&c->cli, (const void *)&c->vip);
		else
			hl = pp_encode_v2(hdr, sizeof(hdr), (const void *)&c->cli,
					  (const void *)&c->vip);
		/* The header goes before whatever the client sent already
		 * (bytes that followed its own PROXY header). */
		if (hl > 0 && b->len - b->off + (uint32_t)hl <= PROXY_BUF) {
			memmove(b->data + hl, b->data + b->off, b->len - b->off);
			b->len = b->len - b->off + (uint32_t)hl;
			b->off = 0;
			memcpy(b->data, hdr, (size_t)hl);
		}
	}
	if (buf_flush(c->si.fd, b) < 0) {
		ptcp_close(c);
		return;
	}
	update_interest(c);
}

static void connect_failed(struct pconn *c, int err)
{
	struct pbackend *be = c->be;

	PCOUNT_ADD(&be->cnt, connect_fail, 1);
	PCOUNT_ADD(&c->ps->cnt, connect_fail, 1);
	/* New connections avoid it for a while: a dead backend costs one
	 * refused connect, not one per connection. */
	atomic_store_explicit(&be->load.down_until, c->w->now + PROXY_DOWN_MS,
			      memory_order_relaxed);
	close_item(c->w, &c->si);
	release_backend(c);
	if (c->attempts > c->set.retries) {
		char a[XLB_ADDRSTR_MAX];

		log_debug("proxy: connect to %s failed: %s; giving up",
			  addr_str(&be->addr, a, sizeof(a)), strerror(err));
		ptcp_close(c);
		return;
	}
	PCOUNT_ADD(&c->ps->cnt, retries, 1);
	conn_connect(c);
}

/* Pick a backend (avoiding those already tried) and start connecting. */
static void conn_connect(struct pconn *c)
{
	struct pworker *w = c->w;
	struct psnap_svc *v = pworker_find_svc(w, c->ps);
	struct pbackend *be;
	int i, fd;

	if (!v) {               /* removed while we read the PROXY header */
		PCOUNT_ADD(&c->ps->cnt, rejected, 1);
		ptcp_close(c);
		return;
	}
	i = psched_pick(&v->sched, &v->cur[w->idx], c->hash, c->tried, w->now);
	if (i < 0) {
		PCOUNT_ADD(&c->ps->cnt, rejected, 1);
		ptcp_close(c);
		return;
	}
	be = v->be[i];
	if (i < 64)
		c->tried |= 1ull << i;
	c->attempts++;
	c->be = be;
	atomic_fetch_add_explicit(&be->load.active, 1, memory_order_relaxed);
	PCOUNT_ADD(&be->cnt, total, 1);
	fd = socket(be->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		/* Out of descriptors: retrying elsewhere will not help. */
		PCOUNT_ADD(&c->ps->cnt, rejected, 1);
		ptcp_close(c);
		return;
	}
	set_nodelay(fd);
	c->si.fd = fd;
	c->si.events = 0;
	c->state = PC_CONNECTING;
	c->t_start = w->now;
	if (connect(fd, (const struct sockaddr *)&be->sa, be->salen) == 0) {
		connected(c);
		return;
	}
	if (errno != EINPROGRESS) {
		connect_failed(c, errno);
		return;
	}
	update_interest(c);
}

static void header_read(struct pconn *c)
{
	struct pbuf *b = &c->c2s;
	struct pp_info pi;
	ssize_t n;
	int r;

	n = buf_fill(c->ci.fd, b);
	if (n < 0 || (n == 0 && b->eof)) {
		ptcp_close(c);
		return;
	}
	if (n == 0)
		return;
	c->t_client = c->w->now;
	r = pp_decode((const uint8_t *)b->data, b->len, &pi);
	if (r < 0 || (r == 0 && b->len >= PP_MAX)) {
		char a[XLB_ADDRSTR_MAX + 8];

		PCOUNT_ADD(&c->ps->cnt, bad_header, 1);
		log_debug("proxy: %s: malformed PROXY header, connection closed",
			  service_name_str(c->ps->proto, &c->ps->vip, a, sizeof(a)));
		ptcp_close(c);
		return;
	}
	if (r == 0)
		return;
	b->off = (uint32_t)r;
	if (!pi.local) {
		c->cli = pi.src;
		c->vip = pi.dst;
		c->hash = client_hash(&c->cli, c->hash_port);
	}
	pitem_set(c->w, &c->ci, 0);
	conn_connect(c);
}

static void conn_new(struct pworker *w, struct plisten *ls, int fd,
		     const struct sockaddr_storage *cli)
{
	struct psnap_svc *v = ls->cfg;
	struct pconn *c = calloc(1, sizeof(*c));

	if (c) {
		c->c2s.data = malloc(PROXY_BUF);
		c->s2c.data = malloc(PROXY_BUF);
	}
	if (!c || !c->c2s.data || !c->s2c.data) {
		if (c) {
			free(c->c2s.data);
			free(c->s2c.data);
		}
		free(c);
		close(fd);
		PCOUNT_ADD(&ls->ps->cnt, rejected, 1);
		return;
	}
	c->w = w;
	c->ps = ls->ps;
	c->set = v->set;
	c->cli = *cli;
	memcpy(&c->vip, &ls->ps->sa, sizeof(c->vip));
	c->hash_port = v->sched.kind != XLB_SCHED_SH;
	c->hash = client_hash(cli, c->hash_port);
	c->ci = (struct pitem){ .type = PI_CLIENT, .fd = fd, .owner = c };
	c->si = (struct pitem){ .type = PI_SERVER, .fd = -1, .owner = c };
	c->t_start = c->t_client = c->t_server = w->now;
	atomic_fetch_add_explicit(&c->ps->active, 1, memory_order_relaxed);
	PCOUNT_ADD(&c->ps->cnt, total, 1);
	list_add(&w->conns, c);
	set_nodelay(fd);
	if (c->set.accept_proxy) {
		c->state = PC_HEADER;
		update_interest(c);
		return;
	}
	conn_connect(c);
}

void ptcp_accept(struct pworker *w, struct plisten *ls)
{
	uint32_t max = ls->cfg->set.max_conn;

	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage cli;
		socklen_t cl = sizeof(cli);
		int fd;

		if (max && atomic_load_explicit(&ls->ps->active,
						memory_order_relaxed) >= max) {
			/* Backpressure: leave the rest in the kernel's accept
			 * queue; the tick resumes us below the cap. */
			ls->paused = true;
			pitem_set(w, &ls->it, 0);
			return;
		}
		fd = accept4(ls->it.fd, (struct sockaddr *)&cli, &cl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("proxy: accept: %s; pausing", strerror(errno));
				ls->paused = true;
				ls->retry_at = w->now + PROXY_TICK_MS;
				pitem_set(w, &ls->it, 0);
			}
			return;
		}
		conn_new(w, ls, fd, &cli);
	}
}

void ptcp_event(struct pworker *w, struct pitem *it, uint32_t ev)
{
	struct pconn *c = it->owner;
	bool client = it->type == PI_CLIENT;
	struct pbuf *in = client ? &c->c2s : &c->s2c;   /* read from it */
	struct pbuf *out = client ? &c->s2c : &c->c2s;  /* write to it */
	int other = client ? c->si.fd : c->ci.fd;
	ssize_t n;

	if (c->dead)
		return;
	if (c->state == PC_HEADER) {
		if (client)
			header_read(c);
		return;
	}
	if (c->state == PC_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (client)
			return;
		if (getsockopt(c->si.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (!err && (ev & (EPOLLERR | EPOLLHUP)))
			err = ECONNREFUSED;
		if (err)
			connect_failed(c, err);
		else
			connected(c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = buf_fill(it->fd, in);
		if (n < 0)
			goto fail;
		if (n > 0) {
			if (client) {
				c->t_client = w->now;
				PCOUNT_ADD(&c->ps->cnt, bytes_in, (uint64_t)n);
				PCOUNT_ADD(&c->be->cnt, bytes_in, (uint64_t)n);
			} else {
				c->t_server = w->now;
				PCOUNT_ADD(&c->ps->cnt, bytes_out, (uint64_t)n);
				PCOUNT_ADD(&c->be->cnt, bytes_out, (uint64_t)n);
			}
		}
		/* Optimistic: the other side is usually writable. */
		n = buf_flush(other, in);
		if (n < 0)
			goto fail;
		if (n > 0) {
			if (client)
				c->t_server = w->now;
			else
				c->t_client = w->now;
		}
	}
	if (ev & EPOLLOUT) {
		n = buf_flush(it->fd, out);
		if (n < 0)
			goto fail;
		if (n > 0) {
			if (client)
				c->t_client = w->now;
			else
				c->t_server = w->now;
		}
	}
	if (c->c2s.shut && c->s2c.shut) {
		ptcp_close(c);          /* both directions finished */
		return;
	}
	update_interest(c);
	return;
fail:
	ptcp_close(c);
}

void ptcp_tick(struct pworker *w)
{
	struct pconn *c, *next;

	for (c = w->conns.next; c != &w->conns; c = next) {
		uint64_t now = w->now;

		next = c->next;
		if (c->deadline && now >= c->deadline) {
			ptcp_close(c);
			continue;
		}
		switch (c->state) {
		case PC_HEADER:
			if (now - c->t_start >= c->set.connect_ms) {
				PCOUNT_ADD(&c->ps->cnt, timeouts, 1);
				ptcp_close(c);
			}
			break;
		case PC_CONNECTING:
			if (now - c->t_start >= c->set.connect_ms) {
				PCOUNT_ADD(&c->ps->cnt, timeouts, 1);
				connect_failed(c, ETIMEDOUT);
			}
			break;
		case PC_RELAY:
			if (now - c->t_client >= c->set.client_ms ||
			    now - c->t_server >= c->set.server_ms) {
				PCOUNT_ADD(&c->ps->cnt, timeouts, 1);
				ptcp_close(c);
			}
			break;
		}
	}
}

void ptcp_drain(struct pworker *w, struct pservice *ps, uint32_t drain_ms)
{
	for (struct pconn *c = w->conns.next; c != &w->conns; c = c->next)
		if (c->ps == ps && !c->deadline)
			c->deadline = w->now + drain_ms;
}

void ptcp_free_all(struct pworker *w)
{
	while (w->conns.next != &w->conns)
		ptcp_close(w->conns.next);
	while (w->grave_c) {
		struct pconn *c = w->grave_c;

		w->grave_c = c->next;
		free(c->c2s.data);
		free(c->s2c.data);
		free(c);
	}
}
