// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xlbd: loads the XDP data plane, applies the config and serves the control
 * API until SIGTERM, then removes everything it added. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "announce.h"
#include "check.h"
#include "config.h"
#include "control_server.h"
#include "dataplane.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "netlink.h"
#include "proxy.h"
#include "runfile.h"
#include "state.h"
#include "sysctl.h"
#include "version.h"

#define DEFAULT_CONFIG "/etc/xlb/xlb.yaml"
#define NEIGH_REFRESH_TICKS 5   /* seconds between neighbour refreshes */

static const char usage[] =
"Usage: xlbd [-c FILE] [-f|--foreground] [--socket PATH] [-v|--verbose]\n"
"       xlbd --cleanup [-c FILE]\n"
"       xlbd -t|--check [-c FILE]\n"
"\n"
"The xlb daemon: attaches the XDP data plane to the interfaces of the config,\n"
"serves its services and answers the `xlb` command on a unix socket.\n"
"\n"
"  -c, --config FILE   config file (default " DEFAULT_CONFIG ")\n"
"  -f, --foreground    stay in the foreground and log to stderr; without it\n"
"                      xlbd detaches once the data plane is running and logs\n"
"                      to " XLB_RUN_DIR "/xlbd-INSTANCE.log\n"
"      --socket PATH   control socket (default " XLB_RUN_DIR "/xlbd-ns<netns inode>.sock,\n"
"                      one per network namespace; `xlb` finds it the same way)\n"
"  -v, --verbose       debug logging (also libbpf's)\n"
"  -t, --check         check the config as a start would (syntax, values,\n"
"                      interfaces, capacity, bpffs directories, proxy and\n"
"                      metrics ports free unless this instance runs)\n"
"                      without touching the system; exit 0 when it is\n"
"                      valid, 1 with file:line:column errors when not\n"
"      --cleanup       remove what a stopped instance left running (the XDP\n"
"                      program, its pinned maps, the VIPs and managed\n"
"                      neighbour entries it added) and exit\n"
"  -h, --help          this help\n"
"  -V, --version       print the version\n"
"\n"
"Signals: SIGTERM/SIGINT detach and remove everything xlbd added, or with\n"
"`detach_on_exit: false` leave the data plane forwarding for the next xlbd,\n"
"which adopts it (flows survive); SIGHUP reloads the config file (a config\n"
"with errors is rejected, the running one stays).\n";

/* The daemon's parts, from start to stop. */
struct xlbd {
	const char *config_path;
	char socket_path[108];
	char instance[XLB_NAME_MAX];
	char addrs_name[XLB_NAME_MAX + 16];     /* under XLB_RUN_DIR */
	bool foreground, cleanup, running;
	struct xlb_config cfg;          /* the start-up config */
	struct state st;
	bool st_ready;                  /* st holds the data plane's state */
	struct dataplane *dp;
	struct forwarding_saved fwd;
	struct nl_monitor *neigh_mon;
	struct control_server *srv;
	struct metrics_server *metrics;
	int lock_fd, sig_fd, timer_fd;
	uint64_t tick;
};

/* One event source of the main loop: its fd (-1: not there) and what to do
 * when it is readable. */
struct loop_source {
	int fd;
	void (*handler)(struct xlbd *d);
};

/* A neighbour entry changed: the data plane's cached next hops follow. */
static void on_neigh_event(void *arg, int ifindex, const struct xlb_sockaddr *a,
			   const uint8_t *mac)
{
	dataplane_neigh_changed(arg, ifindex, a, mac);
}

/* One xlbd per instance name: the lock file is held for the daemon's life. */
static int take_instance_lock(const char *instance, char *err, size_t errlen)
{
	char name[XLB_NAME_MAX + 16];
	int fd;

	snprintf(name, sizeof(name), "xlbd-%s.lock", instance);
	fd = run_open(name, O_RDWR | O_CREAT, err, errlen);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "another xlbd already runs instance '%s' (%s/%s "
			 "is locked)", instance, XLB_RUN_DIR, name);
		close(fd);
		return -1;
	}
	return fd;
}

static void reload(struct state *st, const char *path)
{
	struct xlb_config cfg;
	char err[1024];

	if (config_parse_file(path, &cfg, err, sizeof(err))) {
		log_err("reload rejected, the running config stays: %s", err);
		return;
	}
	if (state_apply(st, &cfg, err, sizeof(err)))
		log_err("reload rejected, the running config stays: %s", err);
	else
		log_info("reloaded %s", path);
	config_free(&cfg);
}

/* Detach from the terminal once everything is up, so start-up errors are
 * still printed where the operator sees them. */
static int daemonize(const char *instance, char *err, size_t errlen)
{
	char name[XLB_NAME_MAX + 16];
	pid_t pid;
	int fd;

	snprintf(name, sizeof(name), "xlbd-%s.log", instance);
	fd = run_open(name, O_WRONLY | O_CREAT | O_APPEND, err, errlen);
	if (fd < 0)
		return fd;
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (pid > 0)
		_exit(0);
	setsid();
	dup2(fd, STDERR_FILENO);
	close(fd);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	return 0;
}

/* ---- parse: the command line ------------------------------------------- */

/* Returns -1 to go on, or the exit code (help, version, usage error). */
static int parse_args(struct xlbd *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cleanup", no_argument, NULL, 'C' },
		{ "check", no_argument, NULL, 't' },
		{ 0 }
	};
	bool check = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:fvhVt", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'f':
			d->foreground = true;
			break;
		case 's':
			if (strlen(optarg) >= sizeof(d->socket_path)) {
				fprintf(stderr, "xlbd: --socket: path too long (at most %zu bytes)\n",
					sizeof(d->socket_path) - 1);
				return 2;
			}
			snprintf(d->socket_path, sizeof(d->socket_path), "%s", optarg);
			break;
		case 'v':
			log_max_level = LOG_LVL_DEBUG;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("xlbd %s\n", XLB_VERSION);
			return 0;
		case 'C':
			d->cleanup = true;
			break;
		case 't':
			check = true;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xlbd: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	if (check && d->cleanup) {
		fprintf(stderr, "xlbd: -t and --cleanup do not go together (check a "
			"config, or clean up an instance)\n%s", usage);
		return 2;
	}
	if (check)
		return check_config(d->config_path);
	return -1;
}

/* ---- start: config, data plane, state, control socket, threads ----------- */

/* xlbd --cleanup: remove what a stopped instance left. */
static void cleanup_instance(struct xlbd *d)
{
	size_t n;

	state_cleanup_addrs(d->addrs_name);
	n = state_cleanup_neighbours(&d->cfg);
	if (n)
		log_info("instance '%s': removed %zu managed neighbour entr%s it made",
			 d->instance, n, n == 1 ? "y" : "ies");
	if (dataplane_cleanup(d->cfg.bpffs, d->instance) == 0)
		log_info("instance '%s': removed the pinned XDP links and maps "
			 "under %s/xlb/%s", d->instance, d->cfg.bpffs, d->instance);
	else
		log_info("instance '%s': nothing pinned under %s/xlb/%s",
			 d->instance, d->cfg.bpffs, d->instance);
}

/* Forwarding, the XDP program, the neighbour watch, and the state with the
 * config applied. */
static int start_dataplane(struct xlbd *d)
{
	char err[1024];
	int ret;

	if (forwarding_enable(d->cfg.interfaces, d->cfg.n_interfaces, &d->fwd,
			      err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	if (dataplane_open(&d->dp, &d->cfg, d->instance, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	/* Before the backends resolve: no change of their neighbours is missed. */
	ret = nl_neigh_monitor_open(&d->neigh_mon);
	if (ret)
		log_warn("cannot watch neighbour changes: %s (cached next hops are "
			 "refreshed every %d s only)", strerror(-ret), NEIGH_REFRESH_TICKS);
	state_init(&d->st, d->dp, &d->cfg);
	d->st_ready = true;
	snprintf(d->st.instance, sizeof(d->st.instance), "%s", d->instance);
	state_adopt(&d->st, d->addrs_name);
	if (state_apply(&d->st, &d->cfg, err, sizeof(err))) {
		log_err("%s: %s", d->config_path, err);
		return -1;
	}
	state_adopt_finish(&d->st);
	/* Last: the program meets its first packet with the config in place. */
	if (dataplane_attach(d->dp, &d->cfg, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* Signals as a file descriptor and the 1 s tick. */
static int start_signals(struct xlbd *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (d->sig_fd < 0 || d->timer_fd < 0) {
		log_err("cannot create signal/timer fds: %s", strerror(errno));
		return -1;
	}
	timerfd_settime(d->timer_fd, 0, &its, NULL);
	return 0;
}

/* Threads (the announcer and its watchdog; the conntrack sweeper, which
 * frees fullnat ports of flows that went idle without another packet to
 * expire them; proxy workers, health checks, metrics) start after the fork
 * of daemonize(). */
static void start_threads(struct xlbd *d)
{
	char err[1024];

	if (announce_start(&d->st.announce, &d->cfg.announce, d->instance, err,
			   sizeof(err)))
		log_err("%s; running without announcing the VIPs", err);
	if (dataplane_sweeper_start(d->dp))
		log_err("cannot start the conntrack sweeper: expired nat/fullnat "
			"entries stay until a packet finds them");
	if (proxy_start(d->cfg.proxy_workers) == 0)
		state_proxy_apply(&d->st);
	if (health_start(&d->st.health) == 0)
		health_sync(d->st.health, &d->st.cfg);
	else
		log_err("cannot start the health checks: every backend counts as up");
	if (d->cfg.metrics_listen.family &&
	    metrics_server_start(&d->metrics, &d->cfg.metrics_listen, err, sizeof(err)))
		log_err("%s; running without metrics", err);
}

/* Returns 0 when the daemon runs, or the exit code. */
static int start(struct xlbd *d)
{
	char err[1024];

	log_setup_libbpf();
	if (config_parse_file(d->config_path, &d->cfg, err, sizeof(err))) {
		fprintf(stderr, "xlbd: %s\n", err);
		return 2;
	}
	if (d->cfg.instance[0])
		snprintf(d->instance, sizeof(d->instance), "%s", d->cfg.instance);
	else
		control_default_instance(d->instance, sizeof(d->instance));
	if (!d->socket_path[0])
		control_default_socket(d->socket_path, sizeof(d->socket_path));
	snprintf(d->addrs_name, sizeof(d->addrs_name), "xlbd-%s.addrs", d->instance);
	d->lock_fd = take_instance_lock(d->instance, err, sizeof(err));
	if (d->lock_fd < 0) {
		log_err("%s", err);
		return 1;
	}
	if (d->cleanup) {
		cleanup_instance(d);
		return 0;
	}
	/* The socket first: a path where another xlbd listens stops this one
	 * before it touches the data plane. Requests wait for the loop. */
	if (control_listen(&d->srv, d->socket_path, &d->st, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (start_dataplane(d) || start_signals(d))
		return 1;
	log_info("instance '%s' running: %zu service(s), control socket %s",
		 d->instance, d->st.n_services, d->socket_path);
	if (!d->foreground && daemonize(d->instance, err, sizeof(err))) {
		log_err("cannot run in the background: %s", err);
		return 1;
	}
	start_threads(d);
	d->running = true;
	return 0;
}

/* ---- loop: one handler per event source ------------------------------- */

static void on_control(struct xlbd *d)
{
	control_serve(d->srv);
}

static void on_signal(struct xlbd *d)
{
	struct signalfd_siginfo si;

	if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		reload(&d->st, d->config_path);
	} else {
		log_info("signal %u: shutting down", si.ssi_signo);
		d->running = false;
	}
}

static void on_timer(struct xlbd *d)
{
	uint64_t ticks;

	if (read(d->timer_fd, &ticks, sizeof(ticks)) <= 0)
		return;
	d->tick += ticks;
	state_neigh_misses(&d->st);
	if (d->tick % NEIGH_REFRESH_TICKS == 0) {
		state_refresh_neighbours(&d->st);
		dataplane_check_pins(d->dp);
	}
}

static void on_health(struct xlbd *d)
{
	struct health_event *ev;
	size_t n = health_take_events(d->st.health, &ev);

	for (size_t i = 0; i < n; i++)
		state_health_event(&d->st, &ev[i]);
	free(ev);
}

static void on_metrics(struct xlbd *d)
{
	metrics_server_serve(d->metrics, &d->st);
}

static void on_neigh(struct xlbd *d)
{
	/* Lost events: read every next hop again. */
	if (nl_neigh_monitor_read(d->neigh_mon, on_neigh_event, d->dp) == -ENOBUFS)
		state_refresh_neighbours(&d->st);
}

/* Until SIGTERM/SIGINT. Signals and timers come first in each round so no
 * other source can delay them. */
static void loop(struct xlbd *d)
{
	const struct loop_source src[] = {
		{ d->sig_fd, on_signal },
		{ d->timer_fd, on_timer },
		{ d->st.health ? health_event_fd(d->st.health) : -1, on_health },
		{ nl_monitor_fd(d->neigh_mon), on_neigh },
		{ metrics_server_fd(d->metrics), on_metrics },
		{ control_fd(d->srv), on_control },
	};
	enum { N = sizeof(src) / sizeof(src[0]) };
	struct pollfd pfd[N];

	for (size_t i = 0; i < N; i++)
		pfd[i] = (struct pollfd){ .fd = src[i].fd, .events = POLLIN };
	while (d->running) {
		/* Every event below may change what this node announces. */
		announce_sync(d->st.announce, &d->st);
		if (poll(pfd, N, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < N && d->running; i++)
			if (pfd[i].revents & POLLIN)
				src[i].handler(d);
	}
}

/* ---- stop: undo what start did ---------------------------------------- */

static void stop(struct xlbd *d, int ret)
{
	bool keep;

	metrics_server_stop(d->metrics);
	if (d->st_ready) {
		health_stop(d->st.health);
		d->st.health = NULL;
	}
	proxy_stop();
	control_close(d->srv);
	nl_monitor_close(d->neigh_mon);
	if (d->sig_fd >= 0)
		close(d->sig_fd);
	if (d->timer_fd >= 0)
		close(d->timer_fd);
	/* Keep the data plane forwarding when the config says so, and never
	 * stop one adopted from a previous xlbd because this one failed. */
	keep = d->st_ready ? !d->st.cfg.detach_on_exit || (ret && dataplane_inherited(d->dp))
			   : dataplane_inherited(d->dp);
	/* Withdraw before the data plane goes; a kept one stays announced
	 * under the watchdog's hold for the next xlbd. */
	if (d->st_ready) {
		announce_stop(d->st.announce, !keep);
		d->st.announce = NULL;
	}
	if (d->st_ready && keep)
		state_release(&d->st);
	else if (d->st_ready)
		state_teardown(&d->st);
	if (keep)
		dataplane_release(d->dp);
	else
		dataplane_close(d->dp);
	/* bpf_fib_lookup needs forwarding on while the program runs. */
	if (!keep)
		forwarding_restore(&d->fwd);
	else
		free(d->fwd.items);
}

int main(int argc, char **argv)
{
	struct xlbd d = { .config_path = DEFAULT_CONFIG, .lock_fd = -1,
			  .sig_fd = -1, .timer_fd = -1 };
	char path[256];
	int ret;

	log_prog = "xlbd";
	ret = parse_args(&d, argc, argv);
	if (ret >= 0)
		return ret;
	config_init(&d.cfg);
	ret = start(&d);
	if (!ret && d.running) {
		loop(&d);
		ret = 0;
	}
	if (d.lock_fd >= 0) {
		if (!d.cleanup)
			stop(&d, ret);
		snprintf(path, sizeof(path), "xlbd-%s.lock", d.instance);
		run_unlink(path);
		close(d.lock_fd);
	}
	config_free(&d.cfg);
	return ret;
}
