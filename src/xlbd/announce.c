// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `announce:`: the main thread decides which VIPs this node announces
 * (announce_sync), a thread writes them to BIRD's include file and has BIRD
 * re-read its config, and a forked watchdog withdraws them if xlbd dies and
 * no successor takes over within `hold`. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "control.h"
#include "health.h"
#include "log.h"
#include "state.h"

#define WATCHDOG_COMM "xlbd-watchdog"
#define FILE_MAX (64 * 1024 + 4096)     /* every VIP of XLB_MAX_SERVICES */
#define BIRD_TIMEOUT_S 5         /* for one command, the whole exchange */

struct announce {
	struct xlb_announce_cfg cfg;
	char instance[XLB_NAME_MAX];
	char drain_path[256];
	char tmp_path[XLB_PATH_MAX + 16];
	bool drained;
	/* main thread only */
	struct announce_vip *vips;
	size_t n_vips;
	char *text;                     /* the file for the wanted set */
	/* shared with the thread, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool stop;
	char *pending;                  /* file text to install, or NULL */
	unsigned long long gen, done_gen;
	bool failed;
	char bird_err[160];
	/* A previous xlbd's watchdog held the VIPs when this one started: a
	 * backend without a health result yet counts as usable, so a restart
	 * does not withdraw what the previous xlbd announced. */
	bool took_over;
	/* the watchdog */
	pid_t wd_pid;
	int wd_fd;                      /* write end of its pipe */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- BIRD's control socket (system calls only: the watchdog uses it) ---- */

/* Read one reply: lines "NNNN-..." or " ..." continue, "NNNN ..." ends it.
 * Returns the final line's code (0-9999) with msg = that line, or -errno
 * (-ETIMEDOUT past deadline, a CLOCK_MONOTONIC time in ms: a socket that
 * trickles bytes must not hold the caller longer than one that is silent). */
static int bird_reply(int fd, char *msg, size_t msglen, long long deadline)
{
	char buf[4096];
	struct timeval tv;
	size_t len = 0;
	long long left;

	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(buf, '\n', len))) {
			size_t l = (size_t)(nl - buf);
			bool final = l >= 5 && buf[4] == ' ' && buf[0] >= '0' &&
				     buf[0] <= '9';

			if (final) {
				int code = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 +
					   (buf[2] - '0') * 10 + (buf[3] - '0');
				size_t m = l < msglen - 1 ? l : msglen - 1;

				memcpy(msg, buf, m);
				msg[m] = 0;
				return code;
			}
			memmove(buf, nl + 1, len - l - 1);
			len -= l + 1;
		}
		if (len == sizeof(buf))
			len = 0;        /* an overlong line: not a final one */
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		len += (size_t)n;
	}
}

/* Run one command; 0 when BIRD answers with a success code (0xxx), else
 * -EPROTO with its reply in msg, or -errno when the socket fails. */
static int bird_cmd(const char *sock, const char *cmd, char *msg, size_t msglen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = BIRD_TIMEOUT_S };        /* connect, send */
	long long deadline = now_ms() + BIRD_TIMEOUT_S * 1000LL;
	size_t clen = strlen(cmd);
	char line[64];
	int fd, code;

	msg[0] = 0;
	if (strlen(sock) >= sizeof(sun.sun_path) || clen >= sizeof(line))
		return -ENAMETOOLONG;
	memcpy(line, cmd, clen);
	line[clen++] = '\n';
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		code = -errno;
		goto out;
	}
	code = bird_reply(fd, msg, msglen, deadline);   /* "0001 BIRD ... ready." */
	if (code < 0)
		goto out;
	/* MSG_NOSIGNAL: a BIRD that hangs up must not kill the watchdog. */
	if (send(fd, line, clen, MSG_NOSIGNAL) != (ssize_t)clen) {
		code = -errno;
		goto out;
	}
	code = bird_reply(fd, msg, msglen, deadline);
	if (code >= 0)
		code = code < 1000 ? 0 : -EPROTO;
out:
	close(fd);
	return code;
}

/* Replace the include file (write, then rename: BIRD never reads half a
 * file) and have BIRD re-read its config. */
static int install(const struct announce *a, const char *text, char *msg,
		   size_t msglen)
{
	size_t len = strlen(text);
	int fd, ret = 0;

	msg[0] = 0;
	fd = open(a->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && rename(a->tmp_path, a->cfg.file) != 0)
		ret = -errno;
	if (ret) {
		unlink(a->tmp_path);
		return ret;
	}
	return bird_cmd(a->cfg.bird_socket, "configure", msg, msglen);
}

static const char empty_file[] =
	"# Written by xlbd: the VIPs this node announces. None now.\n";

/* ---- the watchdog ------------------------------------------------------ */

/* In the forked child of a threaded process: system calls only. It waits
 * for xlbd to go away (its pipe closes); a 'q' first means xlbd withdrew
 * what it had to. Then it waits `hold` for a successor, which kills it
 * (announce_start), and otherwise withdraws every VIP. */
static void watchdog(const struct announce *a, int rfd)
{
	struct timespec step = { 0, 100 * 1000 * 1000 };
	sigset_t all;
	char c, msg[160];
	ssize_t n;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);        /* a Ctrl-C for a foreground xlbd */
	prctl(PR_SET_NAME, WATCHDOG_COMM);
	if (rfd != 3) {
		dup2(rfd, 3);
		rfd = 3;
	}
	close_range(4, ~0U, 0);
	while ((n = read(rfd, &c, 1)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && c == 'q')
			_exit(0);
	for (uint32_t waited = 0; waited < a->cfg.hold_ms; waited += 100)
		nanosleep(&step, NULL);
	if (install(a, empty_file, msg, sizeof(msg)) == 0) {
		static const char m[] = "xlbd-watchdog: xlbd is gone and no successor "
					"took over: withdrew every VIP\n";

		if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0)
			_exit(1);
	}
	_exit(0);
}

/* A watchdog left by a previous xlbd of this instance stands down: this
 * xlbd now decides what is announced. True when there was one. */
static bool replace_old_watchdog(const char *pid_path)
{
	char buf[32] = "", comm_path[64], comm[32] = "";
	long pid;
	FILE *f = fopen(pid_path, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	pid = strtol(buf, NULL, 10);
	if (pid <= 1)
		return false;
	snprintf(comm_path, sizeof(comm_path), "/proc/%ld/comm", pid);
	f = fopen(comm_path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	if (strncmp(comm, WATCHDOG_COMM, strlen(WATCHDOG_COMM)) ||
	    kill((pid_t)pid, SIGTERM) != 0)
		return false;
	log_info("announce: took over from the previous xlbd's watchdog (pid %ld)", pid);
	return true;
}

static int start_watchdog(struct announce *a)
{
	char pid_path[256];
	int p[2], fd;

	snprintf(pid_path, sizeof(pid_path), "%s/xlbd-%s.watchdog", XLB_RUN_DIR,
		 a->instance);
	a->took_over = replace_old_watchdog(pid_path);
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	a->wd_pid = fork();
	if (a->wd_pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (a->wd_pid == 0) {
		close(p[1]);
		watchdog(a, p[0]);
	}
	close(p[0]);
	a->wd_fd = p[1];
	/* Never through a link planted there (docs/operations.md). */
	fd = open(pid_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%d\n", (int)a->wd_pid);
		close(fd);
	}
	return 0;
}

/* ---- the thread: file and BIRD ------------------------------------------ */

static void *announce_thread(void *arg)
{
	struct announce *a = arg;
	char msg[160];

	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		struct timespec until;
		unsigned long long gen;
		char *text;
		int ret;

		if (!a->pending) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		text = a->pending;
		a->pending = NULL;
		gen = a->gen;
		pthread_mutex_unlock(&a->mu);

		ret = install(a, text, msg, sizeof(msg));

		pthread_mutex_lock(&a->mu);
		if (ret == 0) {
			if (a->failed)
				log_info("announce: BIRD at %s took %s again",
					 a->cfg.bird_socket, a->cfg.file);
			a->failed = false;
			a->bird_err[0] = 0;
			a->done_gen = gen;
			free(text);
			continue;
		}
		snprintf(a->bird_err, sizeof(a->bird_err), "%s",
			 ret == -EPROTO ? msg : strerror(-ret));
		if (!a->failed)
			log_warn("announce: cannot update BIRD (%s, socket %s): %s; "
				 "retrying every second, traffic is not affected",
				 a->cfg.file, a->cfg.bird_socket, a->bird_err);
		a->failed = true;
		if (!a->pending)
			a->pending = text;      /* retry it unless a newer one came */
		else
			free(text);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&a->cv, &a->mu, &until);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int announce_check(const struct xlb_announce_cfg *cfg, char *err, size_t errlen)
{
	char dir[XLB_PATH_MAX];
	char *slash;
	struct stat sb;

	if (!cfg->file[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s", cfg->file);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (stat(dir, &sb)) {
		snprintf(err, errlen, "announce: file: directory '%s' of '%s': %s",
			 dir, cfg->file, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "announce: file: '%s' of '%s' is not a directory",
			 dir, cfg->file);
		return -ENOTDIR;
	}
	return 0;
}

int announce_start(struct announce **ap, const struct xlb_announce_cfg *cfg,
		   const char *instance, char *err, size_t errlen)
{
	struct announce *a;
	int ret;

	*ap = NULL;
	if (!cfg->file[0])
		return 0;
	ret = announce_check(cfg, err, errlen);
	if (ret)
		return ret;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	a->wd_fd = -1;
	snprintf(a->instance, sizeof(a->instance), "%s", instance);
	snprintf(a->tmp_path, sizeof(a->tmp_path), "%s.tmp", cfg->file);
	snprintf(a->drain_path, sizeof(a->drain_path), "%s/xlbd-%s.drained",
		 XLB_RUN_DIR, instance);
	a->drained = access(a->drain_path, F_OK) == 0;
	if (a->drained)
		log_info("announce: this node is drained (%s): no VIP is announced "
			 "until `xlb node undrain`", a->drain_path);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	mkdir(XLB_RUN_DIR, 0755);
	ret = start_watchdog(a);
	if (!ret)
		ret = -pthread_create(&a->thread, NULL, announce_thread, a);
	if (ret) {
		snprintf(err, errlen, "announce: cannot start: %s", strerror(-ret));
		if (a->wd_fd >= 0) {
			/* Nothing was announced by us: the watchdog may go. */
			if (write(a->wd_fd, "q", 1) != 1)
				log_warn("announce: watchdog pid %d not told to stop",
					 (int)a->wd_pid);
			close(a->wd_fd);
			waitpid(a->wd_pid, NULL, 0);
		}
		free(a);
		return ret;
	}
	*ap = a;
	return 0;
}

/* ---- the main thread: what to announce ---------------------------------- */

enum usable { UNUSABLE, PENDING, USABLE };

/* Has the service a backend that can take new flows in this node's view
 * (weighted, up or drained by no operator, not down, checked or forced)?
 * keep_last does not count: a node that sees every backend down withdraws
 * and lets nodes that see them take the VIP. A backend whose check has no
 * result yet makes the service PENDING: a node that has just started and
 * is cut off from its backends must not attract traffic until its checks
 * say so; unless it took over from a previous xlbd (unknown_ok). */
static enum usable service_usable(const struct xlb_service_cfg *sc,
				  const struct service_state *ss, bool unknown_ok)
{
	enum usable u = UNUSABLE;

	for (size_t j = 0; j < sc->n_backends && j < ss->n_backends; j++) {
		uint8_t h = state_backend_health(&ss->backends[j]);

		if (!sc->backends[j].weight || sc->backends[j].state != XLB_ADMIN_UP ||
		    h == HEALTH_DOWN)
			continue;
		if (h != HEALTH_UNKNOWN || sc->hc.type == XLB_HC_NONE || unknown_ok)
			return USABLE;
		u = PENDING;
	}
	return u;
}

static struct announce_vip *find_vip(struct announce_vip *v, size_t n,
				     const struct xlb_sockaddr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (addr_equal(&v[i].addr, addr))
			return &v[i];
	return NULL;
}

/* The VIPs of st, each usable when one of its services is. */
static size_t collect_vips(const struct announce *a, const struct state *st,
			   struct announce_vip *out)
{
	size_t n = 0;

	for (size_t i = 0; i < st->cfg.n_services && i < st->n_services; i++) {
		const struct xlb_service_cfg *sc = &st->cfg.services[i];
		struct xlb_sockaddr vip = sc->vip;
		struct announce_vip *v;
		enum usable u = service_usable(sc, &st->services[i], a->took_over);

		vip.port = 0;
		v = find_vip(out, n, &vip);
		if (!v) {
			v = &out[n++];
			memset(v, 0, sizeof(*v));
			v->addr = vip;
		}
		v->want |= u == USABLE; /* "usable" until decide() */
		v->pending |= u == PENDING;
	}
	return n;
}

/* want, and the reason when not, for one VIP given its previous state. */
static void decide(struct announce *a, struct announce_vip *v,
		   const struct announce_vip *old, long long now)
{
	/* A VIP announced stays so while a changed check has no result yet. */
	bool usable = v->want || (v->pending && old && old->want);

	if (old) {
		v->withdrawn_for_backends = old->withdrawn_for_backends;
		v->usable_since_ms = old->usable_since_ms;
	}
	v->want = false;
	if (!usable && v->pending) {
		v->usable_since_ms = 0;
		snprintf(v->reason, sizeof(v->reason), "waiting for the first health "
			 "check results");
		return;
	}
	if (!usable) {
		v->usable_since_ms = 0;
		v->withdrawn_for_backends = true;
		snprintf(v->reason, sizeof(v->reason), "no usable backend in this "
			 "node's view (all down or weight 0)");
		return;
	}
	if (!v->usable_since_ms)
		v->usable_since_ms = now;
	if (a->drained) {
		snprintf(v->reason, sizeof(v->reason), "node drained (xlb node undrain "
			 "announces it again)");
		return;
	}
	if (v->withdrawn_for_backends && now - v->usable_since_ms < ANNOUNCE_RISE_MS) {
		snprintf(v->reason, sizeof(v->reason), "backends usable again, "
			 "announcing after %d ms without a change", ANNOUNCE_RISE_MS);
		return;
	}
	v->withdrawn_for_backends = false;
	v->want = true;
	v->reason[0] = 0;
}

/* BIRD's name for a VIP's protocol: xlb_ and the address with '.' and ':'
 * as '_' (bird.conf exports `where proto ~ "xlb_*"`). */
static void proto_name_of(const struct xlb_sockaddr *addr, char *buf, size_t len)
{
	char s[XLB_ADDRSTR_MAX];

	addr_str_noport(addr, s, sizeof(s));
	for (char *p = s; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '_';
	snprintf(buf, len, "xlb_%s", s);
}

static char *file_text(const struct announce *a)
{
	char *out = NULL, name[XLB_ADDRSTR_MAX + 8], s[XLB_ADDRSTR_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fprintf(f, "# Written by xlbd (instance %s) at every change: do not edit.\n"
		"# The VIPs this node announces now; bird.conf includes this file\n"
		"# and exports `where proto ~ \"xlb_*\"` to its BGP peers.\n",
		a->instance);
	for (size_t i = 0; i < a->n_vips; i++) {
		const struct announce_vip *v = &a->vips[i];
		bool v4 = v->addr.family == XLB_AF_INET;

		if (!v->want)
			continue;
		proto_name_of(&v->addr, name, sizeof(name));
		fprintf(f, "protocol static %s {\n\t%s;\n\troute %s/%d blackhole;\n}\n",
			name, v4 ? "ipv4" : "ipv6",
			addr_str_noport(&v->addr, s, sizeof(s)), v4 ? 32 : 128);
	}
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

void announce_sync(struct announce *a, const struct state *st)
{
	struct announce_vip *nv;
	long long now = now_ms();
	size_t n;
	char *text;

	if (!a)
		return;
	nv = calloc(st->cfg.n_services + 1, sizeof(*nv));
	if (!nv)
		return;         /* the next call tries again */
	n = collect_vips(a, st, nv);
	for (size_t i = 0; i < n; i++)
		decide(a, &nv[i], find_vip(a->vips, a->n_vips, &nv[i].addr), now);
	free(a->vips);
	a->vips = nv;
	a->n_vips = n;
	text = file_text(a);
	if (!text)
		return;
	if (a->text && !strcmp(a->text, text)) {
		free(text);
		return;
	}
	free(a->text);
	a->text = text;
	pthread_mutex_lock(&a->mu);
	free(a->pending);
	a->pending = strdup(text);
	a->gen++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

const struct announce_vip *announce_vips(struct announce *a, size_t *n)
{
	bool done;
	char err[sizeof(a->bird_err)];

	pthread_mutex_lock(&a->mu);
	done = a->done_gen == a->gen;
	snprintf(err, sizeof(err), "%s", a->bird_err);
	pthread_mutex_unlock(&a->mu);
	for (size_t i = 0; i < a->n_vips; i++) {
		struct announce_vip *v = &a->vips[i];

		v->announced = v->want && done;
		if (v->want && !done)
			snprintf(v->reason, sizeof(v->reason), "%s%.100s",
				 err[0] ? "BIRD did not take the file: " :
				 "BIRD is re-reading its config", err);
	}
	*n = a->n_vips;
	return a->vips;
}

int announce_set_drained(struct announce *a, bool drained, char *err, size_t errlen)
{
	if (drained && !a->drained) {
		int fd = open(a->drain_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			      0600);

		if (fd < 0) {
			snprintf(err, errlen, "cannot record the drain in %s: %s",
				 a->drain_path, strerror(errno));
			return -errno;
		}
		close(fd);
	} else if (!drained && a->drained && unlink(a->drain_path) && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", a->drain_path,
			 strerror(errno));
		return -errno;
	}
	if (a->drained != drained)
		log_info("announce: node %s", drained ? "drained: withdrawing every VIP" :
			 "undrained: announcing its VIPs again");
	a->drained = drained;
	return 0;
}

bool announce_drained(const struct announce *a)
{
	return a->drained;
}

void announce_stop(struct announce *a, bool withdraw)
{
	char msg[160];
	int ret = 0;

	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	if (withdraw) {
		ret = install(a, empty_file, msg, sizeof(msg));
		if (ret)
			log_warn("announce: cannot withdraw the VIPs (%s): %s; the "
				 "watchdog retries after %u ms", a->cfg.file,
				 ret == -EPROTO ? msg : strerror(-ret), a->cfg.hold_ms);
		else if (write(a->wd_fd, "q", 1) != 1)
			log_warn("announce: cannot tell the watchdog (pid %d) to stop",
				 (int)a->wd_pid);
	}
	/* Without 'q' the watchdog now waits `hold` for a successor. */
	close(a->wd_fd);
	if (withdraw && ret == 0)
		waitpid(a->wd_pid, NULL, 0);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->pending);
	free(a->text);
	free(a->vips);
	free(a);
}
