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
#include "state.h"
#include "sysctl.h"

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
"                      interfaces, capacity) without touching the system;\n"
"                      exit 0 when it is valid, 1 with file:line:column\n"
"                      errors when not\n"
"      --cleanup       remove what a stopped instance left running (the XDP\n"
"                      program, its pinned maps, the VIPs it added) and exit\n"
"  -h, --help          this help\n"
"  -V, --version       print the version\n"
"\n"
"Signals: SIGTERM/SIGINT detach and remove everything xlbd added, or with\n"
"`detach_on_exit: false` leave the data plane forwarding for the next xlbd,\n"
"which adopts it (flows survive); SIGHUP reloads the config file (a config\n"
"with errors is rejected, the running one stays).\n";

/* A neighbour entry changed: the data plane's cached next hops follow. */
static void on_neigh_event(void *arg, int ifindex, const struct xlb_sockaddr *a,
			   const uint8_t *mac)
{
	dataplane_neigh_changed(arg, ifindex, a, mac);
}

/* One xlbd per instance name: the lock file is held for the daemon's life. */
static int take_instance_lock(const char *instance, char *err, size_t errlen)
{
	char path[256];
	int fd;

	mkdir(XLB_RUN_DIR, 0755);
	snprintf(path, sizeof(path), "%s/xlbd-%s.lock", XLB_RUN_DIR, instance);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "another xlbd already runs instance '%s' (%s is locked)",
			 instance, path);
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
static int daemonize(const char *instance)
{
	char path[256];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "%s/xlbd-%s.log", XLB_RUN_DIR, instance);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
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

int main(int argc, char **argv)
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
	const char *config_path = DEFAULT_CONFIG;
	char socket_path[108] = "", instance[XLB_NAME_MAX], err[1024];
	struct control_server *srv = NULL;
	struct metrics_server *metrics = NULL;
	struct dataplane *dp = NULL;
	struct nl_monitor *neigh_mon = NULL;
	struct forwarding_saved fwd = { 0 };
	struct xlb_config cfg;
	struct state st;
	char addrs_file[256];
	bool foreground = false, running = true, cleanup = false, keep = false;
	bool check = false;
	int opt, lock_fd, sig_fd, timer_fd, ret = 1;
	sigset_t mask;

	log_prog = "xlbd";
	while ((opt = getopt_long(argc, argv, "c:fvhVt", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 's':
			snprintf(socket_path, sizeof(socket_path), "%s", optarg);
			if (strlen(optarg) >= sizeof(socket_path)) {
				fprintf(stderr, "xlbd: --socket: path too long (at most %zu bytes)\n",
					sizeof(socket_path) - 1);
				return 2;
			}
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
			cleanup = true;
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
	if (check)
		return check_config(config_path);
	log_setup_libbpf();

	if (config_parse_file(config_path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "xlbd: %s\n", err);
		return 2;
	}
	if (cfg.instance[0])
		snprintf(instance, sizeof(instance), "%s", cfg.instance);
	else
		control_default_instance(instance, sizeof(instance));
	if (!socket_path[0])
		control_default_socket(socket_path, sizeof(socket_path));

	snprintf(addrs_file, sizeof(addrs_file), "%s/xlbd-%s.addrs", XLB_RUN_DIR, instance);

	lock_fd = take_instance_lock(instance, err, sizeof(err));
	if (lock_fd < 0) {
		log_err("%s", err);
		goto out_cfg;
	}
	if (cleanup) {
		state_cleanup_addrs(addrs_file);
		if (dataplane_cleanup(cfg.bpffs, instance) == 0)
			log_info("instance '%s': removed the pinned XDP links and maps "
				 "under %s/xlb/%s", instance, cfg.bpffs, instance);
		else
			log_info("instance '%s': nothing pinned under %s/xlb/%s",
				 instance, cfg.bpffs, instance);
		ret = 0;
		goto out_lock;
	}
	if (forwarding_enable(cfg.interfaces, cfg.n_interfaces, &fwd, err, sizeof(err))) {
		log_err("%s", err);
		goto out_lock;
	}
	if (dataplane_open(&dp, &cfg, instance, err, sizeof(err))) {
		log_err("%s", err);
		goto out_fwd;
	}
	/* Before the backends resolve: no change of their neighbours is missed. */
	ret = nl_neigh_monitor_open(&neigh_mon);
	if (ret)
		log_warn("cannot watch neighbour changes: %s (cached next hops are "
			 "refreshed every %d s only)", strerror(-ret), NEIGH_REFRESH_TICKS);
	ret = 1;
	state_init(&st, dp, &cfg);
	snprintf(st.instance, sizeof(st.instance), "%s", instance);
	state_adopt(&st, addrs_file);
	if (state_apply(&st, &cfg, err, sizeof(err))) {
		log_err("%s: %s", config_path, err);
		goto out_state;
	}
	state_adopt_finish(&st);
	if (control_listen(&srv, socket_path, &st, err, sizeof(err))) {
		log_err("%s", err);
		goto out_state;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (sig_fd < 0 || timer_fd < 0) {
		log_err("cannot create signal/timer fds: %s", strerror(errno));
		goto out_srv;
	}
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	uint64_t tick = 0;
	timerfd_settime(timer_fd, 0, &its, NULL);

	log_info("instance '%s' running: %zu service(s), control socket %s",
		 instance, st.n_services, socket_path);
	if (!foreground && daemonize(instance)) {
		log_err("cannot daemonize: %s", strerror(errno));
		goto out_srv;
	}
	/* The announcer (and its watchdog), mode proxy, health checks and the
	 * conntrack sweeper (which frees fullnat ports of flows that went idle
	 * without another packet to expire them): threads start after the
	 * fork of daemonize(). */
	if (announce_start(&st.announce, &cfg.announce, instance, err, sizeof(err)))
		log_err("%s; running without announcing the VIPs", err);
	if (dataplane_sweeper_start(dp))
		log_err("cannot start the conntrack sweeper: expired nat/fullnat "
			"entries stay until a packet finds them");
	if (proxy_start(cfg.proxy_workers) == 0)
		state_proxy_apply(&st);
	if (health_start(&st.health) == 0)
		health_sync(st.health, &st.cfg);
	else
		log_err("cannot start the health checks: every backend counts as up");
	if (cfg.metrics_listen.family &&
	    metrics_server_start(&metrics, &cfg.metrics_listen, err, sizeof(err)))
		log_err("%s; running without metrics", err);

	while (running) {
		struct pollfd pfd[6] = {
			{ .fd = control_fd(srv), .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = timer_fd, .events = POLLIN },
			{ .fd = st.health ? health_event_fd(st.health) : -1, .events = POLLIN },
			{ .fd = metrics_server_fd(metrics), .events = POLLIN },
			{ .fd = nl_monitor_fd(neigh_mon), .events = POLLIN },
		};

		/* Every event below may change what this node announces. */
		announce_sync(st.announce, &st);
		if (poll(pfd, 6, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			control_serve_one(srv);
		if (pfd[3].revents & POLLIN) {
			struct health_event *ev;
			size_t n = health_take_events(st.health, &ev);

			for (size_t i = 0; i < n; i++)
				state_health_event(&st, &ev[i]);
			free(ev);
		}
		if (pfd[4].revents & POLLIN)
			metrics_server_serve(metrics, &st);
		/* Lost events: read every next hop again. */
		if ((pfd[5].revents & POLLIN) &&
		    nl_neigh_monitor_read(neigh_mon, on_neigh_event, dp) == -ENOBUFS)
			state_refresh_neighbours(&st);
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload(&st, config_path);
				} else {
					log_info("signal %u: shutting down", si.ssi_signo);
					running = false;
				}
			}
		}
		if (pfd[2].revents & POLLIN) {
			uint64_t ticks;

			if (read(timer_fd, &ticks, sizeof(ticks)) <= 0)
				continue;
			tick += ticks;
			if (tick % NEIGH_REFRESH_TICKS == 0)
				state_refresh_neighbours(&st);
		}
	}
	ret = 0;
out_srv:
	metrics_server_stop(metrics);
	health_stop(st.health);
	st.health = NULL;
	proxy_stop();
	control_close(srv);
out_state:
	nl_monitor_close(neigh_mon);
	/* Keep the data plane forwarding when the config says so, and never
	 * stop one adopted from a previous xlbd because this one failed. */
	keep = !st.cfg.detach_on_exit || (ret && dataplane_adopted(dp));
	/* Withdraw before the data plane goes; a kept one stays announced
	 * under the watchdog's hold for the next xlbd. */
	announce_stop(st.announce, !keep);
	st.announce = NULL;
	if (keep) {
		state_release(&st, addrs_file);
		dataplane_release(dp);
	} else {
		state_teardown(&st);
		dataplane_close(dp);
	}
out_fwd:
	/* bpf_fib_lookup needs forwarding on while the program runs. */
	if (!keep)
		forwarding_restore(&fwd);
	else
		free(fwd.items);
out_lock:
	snprintf(err, sizeof(err), "%s/xlbd-%s.lock", XLB_RUN_DIR, instance);
	unlink(err);
	close(lock_fd);
out_cfg:
	config_free(&cfg);
	return ret;
}
