// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy engine: worker threads and their epoll loops (each event to
 * its item's handler), config snapshots published through a per-worker
 * mailbox (atomic pointer + eventfd), per-worker SO_REUSEPORT listeners
 * and counters. The TCP relay is in proxy_tcp.c, UDP sessions in
 * proxy_udp.c; epoll interest and the io_uring in proxy_io.c, timers in
 * proxy_timer.c. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>

#include "clock.h"
#include "log.h"
#include "proxy_int.h"
#include "sysctl.h"
#include "proxy_select.skel.h"

#define DEF_CONNECT_MS   3000u
#define DEF_TCP_IDLE_MS  300000u
#define DEF_UDP_IDLE_MS  30000u
#define DEF_DRAIN_MS     30000u
#define DEF_RETRIES      2u
#define DEF_HEADER_MS    10000u
#define BIND_RETRY_MS    1000u

unsigned proxy_nworkers;
struct pbal_slot *pbal_slots;
static struct proxy_select_bpf *bal_base;      /* holds the shared maps */
static struct pworker *workers;
static struct pservice *services;       /* control thread only */
static uint32_t maglev_size = XLB_MAGLEV_DEFAULT_SIZE;

/* ---- balance over the workers ------------------------------------------ */

/* Each service's listener group gets the selector of
 * bpf/proxy_select.bpf.c; all of them share one load map (mapped here as
 * pbal_slots) and one map of udp flows, made by bal_base. Without it (no
 * CAP_BPF, old kernel) the kernel's 4-tuple hash applies. */

/* A selector for n workers, sharing bal_base's maps when there is one.
 * Returns 0 or -errno. */
static int bal_open(unsigned n, struct proxy_select_bpf **out)
{
	struct proxy_select_bpf *o = proxy_select_bpf__open();
	int err;

	if (!o)
		return -errno;
	o->rodata->nworkers = n;
	if (bal_base) {
		err = bpf_map__reuse_fd(o->maps.load, bpf_map__fd(bal_base->maps.load));
		if (!err)
			err = bpf_map__reuse_fd(o->maps.flows,
						bpf_map__fd(bal_base->maps.flows));
		if (err)
			goto fail;
	}
	err = proxy_select_bpf__load(o);
	if (err)
		goto fail;
	*out = o;
	return 0;
fail:
	proxy_select_bpf__destroy(o);
	return err;
}

/* The shared maps; on failure the kernel's hash stays in charge (logged
 * once). */
static void bal_init(unsigned n)
{
	void *m = MAP_FAILED;
	int err;

	if (n < 2 || n > PBAL_MAX_W)
		return;
	err = bal_open(n, &bal_base);
	if (!err) {
		m = mmap(NULL, sizeof(struct pbal_load), PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(bal_base->maps.load), 0);
		err = m == MAP_FAILED ? -errno : 0;
	}
	if (err) {
		log_info("proxy: no BPF balance over the workers (%s): the kernel's "
			 "reuseport hash spreads connections", strerror(-err));
		proxy_select_bpf__destroy(bal_base);
		bal_base = NULL;
		return;
	}
	pbal_slots = ((struct pbal_load *)m)->slot;
	log_debug("proxy: new connections and udp flows go to the least loaded "
		  "of %u workers (BPF reuseport selector)", n);
}

static void bal_fini(void)
{
	if (pbal_slots)
		munmap(pbal_slots, sizeof(struct pbal_load));
	pbal_slots = NULL;
	proxy_select_bpf__destroy(bal_base);
	bal_base = NULL;
}

/* Control thread, for a new service: its own selector (and listener map). */
static void bal_service(struct pservice *ps)
{
	int err;

	ps->bal = NULL;
	if (!pbal_slots)
		return;
	err = bal_open(proxy_nworkers, &ps->bal);
	if (err)
		log_warn("proxy: no BPF balance over the workers for this service: %s",
			 strerror(-err));
}

/* A worker's new listener joins its service's group: slot w->idx of the
 * map, and the program (attaching it again is harmless). */
static void bal_listener(struct pworker *w, struct plisten *ls)
{
	struct proxy_select_bpf *o = ls->ps->bal;
	uint32_t k = w->idx;
	uint64_t fd = (uint64_t)ls->it.fd;
	int prog;

	if (!o)
		return;
	prog = bpf_program__fd(o->progs.xlb_proxy_bal);
	if (bpf_map_update_elem(bpf_map__fd(o->maps.listeners), &k, &fd, BPF_ANY) ||
	    setsockopt(ls->it.fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog,
		       sizeof(prog)))
		log_warn("proxy: worker %u: BPF balance not set on a listener: %s",
			 w->idx, strerror(errno));
}

/* ---- snapshots (control thread builds, workers read) ------------------- */

static void snap_free(struct psnap *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct psnap_svc *v = &s->svc[i];

		psched_free(&v->sched);
		for (unsigned k = 0; v->cur && k < proxy_nworkers; k++)
			psched_cursor_free(&v->cur[k]);
		free(v->cur);
		free(v->be);
	}
	free(s->svc);
	free(s);
}

static void snap_put(struct psnap *s)
{
	if (s && atomic_fetch_sub(&s->ref, 1) == 1)
		snap_free(s);
}

/* proxy_nworkers counter shards, a cache line each. */
static struct pcount *pcount_alloc(void)
{
	struct pcount *c = aligned_alloc(_Alignof(struct pcount),
					 proxy_nworkers * sizeof(*c));

	if (c)
		memset(c, 0, proxy_nworkers * sizeof(*c));
	return c;
}

static struct pservice *service_get(const struct xlb_service_cfg *sc)
{
	struct pservice *ps;

	for (ps = services; ps; ps = ps->next)
		if (ps->proto == sc->proto && addr_equal(&ps->vip, &sc->vip))
			return ps;
	ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->cnt = pcount_alloc();
	if (!ps || !ps->cnt) {
		free(ps);
		return NULL;
	}
	ps->proto = sc->proto;
	ps->vip = sc->vip;
	ps->salen = addr_to_sockaddr(&ps->vip, &ps->sa);
	bal_service(ps);
	ps->next = services;
	services = ps;
	return ps;
}

static struct pbackend *backend_get(struct pservice *ps, const struct xlb_sockaddr *a)
{
	struct xlb_sockaddr r = *a;
	struct pbackend *pb;

	if (!r.port)
		r.port = ps->vip.port;
	for (pb = ps->backends; pb; pb = pb->next)
		if (addr_equal(&pb->addr, &r))
			return pb;
	pb = calloc(1, sizeof(*pb));
	if (pb)
		pb->cnt = pcount_alloc();
	if (!pb || !pb->cnt) {
		free(pb);
		return NULL;
	}
	pb->addr = r;
	pb->salen = addr_to_sockaddr(&r, &pb->sa);
	pb->next = ps->backends;
	ps->backends = pb;
	return pb;
}

/* Protocols where the server speaks first (FTP, SSH, telnet, SMTP, POP3,
 * IMAP, submission, MySQL, VNC): their clients wait for it, so the backend
 * connection cannot wait for them. */
static bool server_speaks_first(uint16_t port)
{
	static const uint16_t ports[] = { 21, 22, 23, 25, 110, 143, 587, 3306, 5900 };

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

static void settings_from(const struct xlb_service_cfg *sc, struct psettings *s)
{
	bool udp = sc->proto == IPPROTO_UDP;
	bool server_first = sc->server_first_set ? sc->server_first :
			    server_speaks_first(sc->vip.port);

	s->send_proxy = sc->send_proxy;
	s->accept_proxy = sc->accept_proxy;
	s->retries = sc->retries_set ? sc->retries : DEF_RETRIES;
	s->max_conn = sc->max_connections;
	s->connect_ms = sc->connect_timeout_ms ? sc->connect_timeout_ms : DEF_CONNECT_MS;
	s->client_ms = sc->client_timeout_ms ? sc->client_timeout_ms :
		       udp ? DEF_UDP_IDLE_MS : DEF_TCP_IDLE_MS;
	s->server_ms = sc->server_timeout_ms ? sc->server_timeout_ms : DEF_TCP_IDLE_MS;
	s->drain_ms = sc->drain_time_ms ? sc->drain_time_ms : DEF_DRAIN_MS;
	s->persist_ms = (uint64_t)sc->persistence * 1000;
	s->persist_plen = sc->persistence_plen;
	s->header_ms = sc->header_timeout_ms ? sc->header_timeout_ms : DEF_HEADER_MS;
	s->wait_data = !udp && !server_first;
}

static int snap_add_service(struct psnap_svc *v, const struct xlb_service_cfg *sc)
{
	struct psched_be *sb;
	int ret;

	v->ps = service_get(sc);
	if (!v->ps)
		return -ENOMEM;
	settings_from(sc, &v->set);
	/* Before the snapshot is published: workers see it with it. */
	if (sc->persistence && !v->ps->persist &&
	    !(v->ps->persist = ppersist_new()))
		return -ENOMEM;
	v->be = calloc(sc->n_backends + 1, sizeof(*v->be));
	sb = calloc(sc->n_backends + 1, sizeof(*sb));
	v->cur = calloc(proxy_nworkers, sizeof(*v->cur));
	if (!v->be || !sb || !v->cur) {
		free(sb);
		return -ENOMEM;
	}
	for (size_t j = 0; j < sc->n_backends; j++) {
		struct pbackend *pb = backend_get(v->ps, &sc->backends[j].addr);

		if (!pb) {
			free(sb);
			return -ENOMEM;
		}
		v->be[j] = pb;
		sb[j].weight = sc->backends[j].weight;
		sb[j].key = psched_hash(&pb->addr, sizeof(pb->addr));
		sb[j].load = &pb->load;
	}
	v->n_be = sc->n_backends;
	ret = psched_init(&v->sched, sc->scheduler, sb, sc->n_backends, maglev_size);
	free(sb);
	if (ret)
		return ret;
	psched_seed(&v->sched, psched_hash(&v->sched, sizeof(v->sched)) ^ (uint64_t)now_ms());
	for (unsigned k = 0; k < proxy_nworkers; k++)
		if (psched_cursor_init(&v->cur[k], sc->n_backends,
				       psched_hash(&k, sizeof(k)) ^ (uint64_t)now_ms()))
			return -ENOMEM;
	return 0;
}

int proxy_apply(const struct xlb_config *cfg)
{
	struct psnap *s;
	size_t n = 0;
	int ret = 0;

	if (!workers)
		return 0;
	if (cfg->maglev_table_size)
		maglev_size = cfg->maglev_table_size;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->svc = calloc(cfg->n_services + 1, sizeof(*s->svc));
	if (!s->svc) {
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_services; i++) {
		if (cfg->services[i].mode != XLB_MODE_PROXY)
			continue;
		s->n = n + 1;           /* so snap_free releases it on failure */
		ret = snap_add_service(&s->svc[n++], &cfg->services[i]);
		if (ret) {
			log_err("proxy: cannot apply the config: %s", strerror(-ret));
			snap_free(s);
			return ret;
		}
	}
	atomic_store(&s->ref, (int)proxy_nworkers);
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		struct pworker *w = &workers[k];

		/* Never picked up: that worker skips straight to s. */
		snap_put(atomic_exchange(&w->pending, s));
		pworker_wake(w);
	}
	return 0;
}

struct pworker *pworker_get(unsigned k)
{
	return workers && k < proxy_nworkers ? &workers[k] : NULL;
}

/* Rings w's mailbox: w looks at it after its current event batch. */
void pworker_wake(struct pworker *w)
{
	uint64_t one = 1;

	if (write(w->ev.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("proxy: cannot wake worker %u: %s", w->idx, strerror(errno));
}

/* ---- listeners (worker side) ------------------------------------------- */

static int listen_open(struct plisten *ls)
{
	const struct pservice *ps = ls->ps;
	int type = ps->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int fd, one = 1, af = ps->sa.sa.sa_family;

	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto fail;
	/* The VIP may not be on the host yet (manage_addresses: false and an
	 * operator who adds it later). */
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	/* Accepted sockets inherit TCP_NODELAY: one setsockopt less each. */
	if (type == SOCK_STREAM)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ps->sa, ps->salen))
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 4096))
		goto fail;
	return fd;
fail:
	one = -errno;
	close(fd);
	return one;
}

static void listen_try(struct pworker *w, struct plisten *ls)
{
	char a[XLB_ADDRSTR_MAX + 8];
	int fd = listen_open(ls);

	if (fd < 0) {
		if (w->idx == 0)
			log_warn("proxy: cannot listen on %s: %s; retrying",
				 service_name_str(ls->ps->proto, &ls->ps->vip, a,
						  sizeof(a)), strerror(-fd));
		ls->retry_at = w->now + BIND_RETRY_MS;
		return;
	}
	ls->it.fd = fd;
	ls->it.events = 0;
	bal_listener(w, ls);
	pitem_set(w, &ls->it, EPOLLIN);
	if (w->idx == 0)
		log_info("proxy: listening on %s",
			 service_name_str(ls->ps->proto, &ls->ps->vip, a, sizeof(a)));
}

static void listen_close(struct pworker *w, struct plisten *ls)
{
	if (ls->it.fd < 0)
		return;
	pitem_set(w, &ls->it, 0);
	close(ls->it.fd);
	ls->it.fd = -1;
}

/* Take the snapshot waiting in the mailbox, if any: keep the listeners of
 * services that stay, open new ones, close and drain the others. */
static void worker_take_snapshot(struct pworker *w)
{
	struct psnap *s = atomic_exchange(&w->pending, NULL), *old = w->snap;
	struct plisten *ls;

	if (!s)
		return;
	ls = calloc(s->n + 1, sizeof(*ls));
	if (!ls) {
		/* Keep serving the old config; the next apply tries again. */
		log_err("proxy: worker %u: out of memory, config not taken", w->idx);
		snap_put(s);
		return;
	}
	w->snap = s;
	for (size_t i = 0; i < s->n; i++) {
		ls[i].ps = s->svc[i].ps;
		ls[i].cfg = &s->svc[i];
		ls[i].it.fd = -1;
		ls[i].it.owner = &ls[i];
		ls[i].it.handle = ls[i].ps->proto == IPPROTO_TCP ? ptcp_accept :
				  pudp_listen_event;
		for (size_t j = 0; j < w->n_ls; j++) {
			struct plisten *o = &w->ls[j];

			if (o->ps != ls[i].ps || !o->ps)
				continue;
			/* Moving the item: epoll's data.ptr must follow. */
			ls[i].paused = o->paused;
			ls[i].retry_at = o->retry_at;
			if (o->it.fd >= 0) {
				uint32_t ev = o->it.events;

				ls[i].it.fd = o->it.fd;
				o->it.fd = -1;
				if (ev) {
					struct epoll_event e = { .events = ev,
								 .data.ptr = &ls[i].it };

					epoll_ctl(w->epfd, EPOLL_CTL_MOD, ls[i].it.fd, &e);
				}
				ls[i].it.events = ev;
			}
			o->ps = NULL;   /* kept */
			break;
		}
		if (ls[i].it.fd < 0 && !ls[i].paused)
			listen_try(w, &ls[i]);
	}
	for (size_t j = 0; j < w->n_ls; j++) {
		struct plisten *o = &w->ls[j];

		if (!o->ps)
			continue;
		listen_close(w, o);
		if (o->ps->proto == IPPROTO_TCP)
			ptcp_drain(w, o->ps, o->cfg->set.drain_ms);
		else
			pudp_drop_listener(w, o);
	}
	free(w->ls);
	w->ls = ls;
	w->n_ls = s->n;
	snap_put(old);
}

/* Every PROXY_TICK_MS: paused and unbound listeners, the buffer pool
 * (connections and sessions have their timers in the wheel). */
static void worker_tick(struct pworker *w)
{
	for (size_t i = 0; i < w->n_ls; i++) {
		struct plisten *ls = &w->ls[i];
		uint32_t max = ls->cfg->set.max_conn;

		if (ls->it.fd < 0) {
			if (w->now >= ls->retry_at)
				listen_try(w, ls);
			continue;
		}
		bool full = max && atomic_load(&ls->ps->active) >= max;
		bool tcp = ls->ps->proto == IPPROTO_TCP;

		if (ls->paused && w->now >= ls->retry_at &&
		    (!full || ptcp_shed(w, ls->ps))) {
			ls->paused = false;
			atomic_store(&ls->ps->starved, false);
			pitem_set(w, &ls->it, EPOLLIN);
		} else if (full && atomic_load(&ls->ps->starved)) {
			/* The idlest may be ours while another worker waits
			 * (udp: one refused a new flow; its retry finds room). */
			if (tcp)
				ptcp_shed(w, ls->ps);
			else if (pudp_shed(w, ls->ps))
				atomic_store(&ls->ps->starved, false);
		} else if (!full && !tcp && atomic_load(&ls->ps->starved)) {
			atomic_store(&ls->ps->starved, false);  /* below the cap */
		}
	}
	ptcp_pool_trim(w);
}

/* The mailbox rang: a snapshot waits (taken at the batch's end). */
static void mailbox_event(struct pworker *w, struct pitem *it, uint32_t ev)
{
	uint64_t v;

	if (read(it->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("proxy: eventfd: %s", strerror(errno));
	w->mail = true;
}

static void *worker_main(void *arg)
{
	struct pworker *w = arg;
	struct epoll_event evs[256];
	uint64_t next_tick = 0;
	sigset_t all;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	ret = pring_open(w);
	if (ret && w->idx == 0)
		log_info("proxy: no io_uring (%s): one send() per write", strerror(-ret));
	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		/* Connections left to pump (ptcp_flush stops after a while so
		 * as not to starve the other sockets): do not sleep. */
		int n = epoll_wait(w->epfd, evs, 256, w->dirty_c ? 0 : PROXY_TICK_MS);

		if (n < 0 && errno != EINTR) {
			log_err("proxy: worker %u: epoll_wait: %s", w->idx, strerror(errno));
			break;
		}
		w->now = now_ms();
		w->mail = false;
		for (int i = 0; i < n; i++) {
			struct pitem *it = evs[i].data.ptr;

			it->handle(w, it, evs[i].events);
		}
		/* The batch's udp replies (they point at their sessions'
		 * client addresses), before a snapshot may close the listener
		 * they leave from. */
		pudp_flush(w);
		/* Listener structs move when a snapshot is taken: only
		 * between batches. */
		if (w->mail) {
			worker_take_snapshot(w);
			pconns_answer(w);
		}
		pwheel_run(&w->wheel, w, w->now);
		if (w->now >= next_tick) {
			worker_tick(w);
			next_tick = w->now + PROXY_TICK_MS;
		}
		/* The batch's tcp reads and sends (proxy_tcp.c), then free
		 * what closed: connections closed in this batch may have had
		 * events later in it. */
		ptcp_flush(w);
		ptcp_reap(w, true);
		while (w->grave_s) {
			struct usess *s = w->grave_s;

			w->grave_s = s->next;
			free(s);
		}
	}
	pring_close(w);
	return NULL;
}

#define NOFILE_WANT (1ul << 20)  /* 100 000 tcp connections need 200 000 */

/* Descriptors: two sockets per tcp connection, one per udp session. The
 * hard limit goes up to NOFILE_WANT (or fs.nr_open) when xlbd may
 * (CAP_SYS_RESOURCE; under systemd the unit's LimitNOFILE sets it), the
 * soft limit to the hard one. */
static void raise_nofile(void)
{
	rlim_t want = NOFILE_WANT;
	struct rlimit rl;
	long nr_open;

	if (sysctl_read("fs/nr_open", &nr_open) == 0 && nr_open > 0 &&
	    (rlim_t)nr_open < want)
		want = (rlim_t)nr_open;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max < want) {
		struct rlimit up = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("proxy: up to %llu open files (about %llu tcp connections)",
			 (unsigned long long)rl.rlim_cur,
			 (unsigned long long)rl.rlim_cur / 2);
}

/* Sum of the workers' shards. */
/* The sums of the shards since the engine made them. */
static void counters_sum(const struct pcount *c, struct proxy_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		out->total += atomic_load_explicit(&c[k].total, memory_order_relaxed);
		out->bytes_in += atomic_load_explicit(&c[k].bytes_in, memory_order_relaxed);
		out->bytes_out += atomic_load_explicit(&c[k].bytes_out, memory_order_relaxed);
		out->connect_fail += atomic_load_explicit(&c[k].connect_fail,
							  memory_order_relaxed);
		out->retries += atomic_load_explicit(&c[k].retries, memory_order_relaxed);
		out->timeouts += atomic_load_explicit(&c[k].timeouts, memory_order_relaxed);
		out->rejected += atomic_load_explicit(&c[k].rejected, memory_order_relaxed);
		out->bad_header += atomic_load_explicit(&c[k].bad_header,
							memory_order_relaxed);
		out->spliced += atomic_load_explicit(&c[k].spliced, memory_order_relaxed);
	}
}

/* What proxy_stats shows: the sums less those at the last proxy_zero().
 * The workers own the shards; the control thread only reads them. */
static void counters_read(const struct pcount *c, const struct proxy_counters *zeroed,
			  uint64_t active, struct proxy_counters *out)
{
	counters_sum(c, out);
	out->active = active;
	out->total -= zeroed->total;
	out->bytes_in -= zeroed->bytes_in;
	out->bytes_out -= zeroed->bytes_out;
	out->connect_fail -= zeroed->connect_fail;
	out->retries -= zeroed->retries;
	out->timeouts -= zeroed->timeouts;
	out->rejected -= zeroed->rejected;
	out->bad_header -= zeroed->bad_header;
	out->spliced -= zeroed->spliced;
}

int proxy_start(unsigned nworkers)
{
	long ncpu;
	int ret;

	if (workers)
		return -EALREADY;
	if (!nworkers) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		nworkers = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	raise_nofile();
	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	proxy_nworkers = nworkers;
	bal_init(nworkers);
	for (unsigned k = 0; k < nworkers; k++) {
		struct pworker *w = &workers[k];

		w->idx = k;
		w->conns.next = w->conns.prev = &w->conns;
		w->sess.next = w->sess.prev = &w->sess;
		w->rng = psched_hash(&k, sizeof(k)) | 1;
		w->ev.handle = mailbox_event;
		w->ev.owner = w;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->epfd < 0 || w->ev.fd < 0) {
			ret = -errno;
			goto fail;
		}
		ret = pudp_init(w);
		if (ret)
			goto fail;
		w->now = now_ms();
		pwheel_init(&w->wheel, w->now);
		pitem_set(w, &w->ev, EPOLLIN);
		ret = -pthread_create(&w->th, NULL, worker_main, w);
		if (ret) {
			close(w->epfd);
			close(w->ev.fd);
			w->epfd = w->ev.fd = -1;
			goto fail;
		}
	}
	log_info("proxy: %u worker thread(s)", nworkers);
	return 0;
fail:
	log_err("proxy: cannot start worker threads: %s", strerror(-ret));
	proxy_stop();
	return ret;
}

/* Wakes every worker with its stop flag set and waits for it to exit. */
static void workers_join(void)
{
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		struct pworker *w = &workers[k];
		uint64_t one = 1;

		if (!w->th)
			continue;
		atomic_store(&w->stop, true);
		if (write(w->ev.fd, &one, sizeof(one)) < 0)
			log_warn("proxy: cannot wake worker %u", k);
		pthread_join(w->th, NULL);
	}
}

/* Closes what the (stopped) workers held: listeners, sessions, snapshots. */
static void workers_free(void)
{
	for (unsigned k = 0; k < proxy_nworkers; k++) {
		struct pworker *w = &workers[k];

		for (size_t i = 0; i < w->n_ls; i++)
			listen_close(w, &w->ls[i]);
		free(w->ls);
		if (w->epfd > 0) {
			ptcp_free_all(w);
			pudp_free_all(w);
		}
		snap_put(w->snap);
		snap_put(atomic_exchange(&w->pending, NULL));
		if (w->epfd > 0)
			close(w->epfd);
		if (w->ev.fd > 0)
			close(w->ev.fd);
	}
	free(workers);
	workers = NULL;
}

/* Logs each service's totals, the last word on them, and frees it. */
static void services_free(void)
{
	while (services) {
		struct pservice *ps = services;
		char a[XLB_ADDRSTR_MAX + 8];
		struct proxy_counters t;

		counters_sum(ps->cnt, &t);

		log_info("proxy: %s: %llu connections, %llu bytes in, %llu bytes out, "
			 "%llu connect failures, %llu retries, %llu timeouts, "
			 "%llu rejected, %llu bad PROXY headers",
			 service_name_str(ps->proto, &ps->vip, a, sizeof(a)),
			 (unsigned long long)t.total,
			 (unsigned long long)t.bytes_in,
			 (unsigned long long)t.bytes_out,
			 (unsigned long long)t.connect_fail,
			 (unsigned long long)t.retries,
			 (unsigned long long)t.timeouts,
			 (unsigned long long)t.rejected,
			 (unsigned long long)t.bad_header);
		services = ps->next;
		while (ps->backends) {
			struct pbackend *pb = ps->backends;

			ps->backends = pb->next;
			free(pb->cnt);
			free(pb);
		}
		proxy_select_bpf__destroy(ps->bal);
		free(ps->cnt);
		ppersist_free(ps->persist);
		free(ps);
	}
}

void proxy_stop(void)
{
	if (!workers)
		return;
	workers_join();
	workers_free();
	services_free();
	bal_fini();
	proxy_nworkers = 0;
}

int proxy_zero(uint8_t proto, const struct xlb_sockaddr *vip)
{
	for (struct pservice *ps = services; ps; ps = ps->next) {
		if (ps->proto != proto || !addr_equal(&ps->vip, vip))
			continue;
		counters_sum(ps->cnt, &ps->zeroed);
		for (struct pbackend *pb = ps->backends; pb; pb = pb->next)
			counters_sum(pb->cnt, &pb->zeroed);
		return 0;
	}
	return -ENOENT;
}

int proxy_stats(uint8_t proto, const struct xlb_sockaddr *vip,
		const struct xlb_sockaddr *be, struct proxy_counters *out)
{
	for (struct pservice *ps = services; ps; ps = ps->next) {
		if (ps->proto != proto || !addr_equal(&ps->vip, vip))
			continue;
		if (!be) {
			counters_read(ps->cnt, &ps->zeroed, atomic_load(&ps->active), out);
			return 0;
		}
		struct xlb_sockaddr r = *be;

		if (!r.port)
			r.port = vip->port;
		for (struct pbackend *pb = ps->backends; pb; pb = pb->next)
			if (addr_equal(&pb->addr, &r)) {
				counters_read(pb->cnt, &pb->zeroed,
					      atomic_load(&pb->load.active), out);
				return 0;
			}
		return -ENOENT;
	}
	return -ENOENT;
}
