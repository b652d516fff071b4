// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlbd -t` / `--check`: everything `xlbd -c` would reject, found without
 * attaching, adding addresses or keeping sockets open. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "addr.h"
#include "announce.h"
#include "check.h"
#include "config.h"
#include "control.h"
#include "state.h"
#include "yaml_find.h"

/* dataplane_attach() attaches to every interface: a missing one stops xlbd. */
static int check_interfaces(const char *path, const struct xlb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		size_t line, col;

		if (if_nametoindex(cfg->interfaces[i]))
			continue;
		if (yaml_find_file(path, "interfaces", i, &line, &col))
			fprintf(stderr, "xlbd: %s:%zu:%zu: no such interface '%s'\n",
				path, line, col, cfg->interfaces[i]);
		else
			fprintf(stderr, "xlbd: %s: no such interface '%s'\n", path,
				cfg->interfaces[i]);
		return -1;
	}
	return 0;
}

/* The bpffs a start pins under: an existing path that is not a bpffs is
 * mounted over at start (fine); a missing one, or an xlb directory on it
 * that others could write to, makes the start fail. */
static int check_bpffs(const char *path, const char *bpffs, const char *instance)
{
	char dir[XLB_PATH_MAX + 8 + XLB_NAME_MAX];
	struct statfs sfs;
	struct stat sb;

	if (statfs(bpffs, &sfs) != 0) {
		fprintf(stderr, "xlbd: %s: bpffs: %s: %s\n", path, bpffs, strerror(errno));
		return -1;
	}
	if (sfs.f_type != BPF_FS_MAGIC) {
		printf("xlbd: note: %s is not a bpffs mount; a start mounts one there\n",
		       bpffs);
		return 0;
	}
	for (int depth = 0; depth < 2; depth++) {
		if (depth == 0)
			snprintf(dir, sizeof(dir), "%s/xlb", bpffs);
		else
			snprintf(dir, sizeof(dir), "%s/xlb/%s", bpffs, instance);
		if (lstat(dir, &sb) != 0)
			return 0;               /* created 0700 at start */
		if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
			fprintf(stderr, "xlbd: %s: a start would refuse to pin in %s: %s\n",
				path, dir, !S_ISDIR(sb.st_mode) ? "not a directory" :
				sb.st_uid != geteuid() ? "owned by another user" :
				"writable by other users");
			return -1;
		}
	}
	return 0;
}

/* Is an xlbd running this instance (its lock held)? Then the config is
 * one for `xlb apply` or SIGHUP, and the ports are that xlbd's own. */
static bool instance_running(const char *instance)
{
	char name[XLB_PATH_MAX];
	bool held;
	int fd;

	snprintf(name, sizeof(name), "%s/xlbd-%s.lock", XLB_RUN_DIR, instance);
	fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* A socket a start opens, bound and closed at once: another program on the
 * address makes the start fail (a SO_REUSEPORT one would even share it).
 * True when the address is taken. */
static bool in_use(const struct xlb_sockaddr *a, int type)
{
	union inet_sockaddr ss;
	socklen_t sl = addr_to_sockaddr(a, &ss);
	int one = 1, fd;
	bool taken;

	fd = socket(ss.sa.sa_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;           /* no such family here: the start says so */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	taken = bind(fd, &ss.sa, sl) != 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* The proxy listeners and the metrics endpoint, when no xlbd of this
 * instance holds them already. */
static int check_ports(const char *path, const struct xlb_config *cfg)
{
	char as[XLB_ADDRSTR_MAX + 8];

	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct xlb_service_cfg *s = &cfg->services[i];

		if (s->mode != XLB_MODE_PROXY ||
		    !in_use(&s->vip, s->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM))
			continue;
		fprintf(stderr, "xlbd: %s: service %s%s%s%s: the address is in use by "
			"another program\n", path,
			service_name_str(s->proto, &s->vip, as, sizeof(as)),
			s->name[0] ? " (" : "", s->name, s->name[0] ? ")" : "");
		return -1;
	}
	if (cfg->metrics_listen.family && in_use(&cfg->metrics_listen, SOCK_STREAM)) {
		fprintf(stderr, "xlbd: %s: metrics listen %s: the address is in use by "
			"another program\n", path,
			addr_str(&cfg->metrics_listen, as, sizeof(as)));
		return -1;
	}
	return 0;
}

/* Checks of the host a start depends on beyond the config itself. */
static int check_host(const char *path, const struct xlb_config *cfg)
{
	char instance[XLB_NAME_MAX];

	if (cfg->instance[0])
		snprintf(instance, sizeof(instance), "%s", cfg->instance);
	else
		control_default_instance(instance, sizeof(instance));
	if (check_interfaces(path, cfg) || check_bpffs(path, cfg->bpffs, instance))
		return -1;
	if (instance_running(instance)) {
		printf("xlbd: note: an xlbd runs instance '%s': load this config with "
		       "`xlb apply` or SIGHUP (a second xlbd would refuse to start)\n",
		       instance);
		return 0;
	}
	return check_ports(path, cfg);
}

int check_config(const char *path)
{
	struct xlb_config cfg;
	struct state st;
	char err[1024];
	int ret = 1;

	if (config_parse_file(path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "xlbd: %s\n", err);
		return 1;
	}
	if (check_host(path, &cfg))
		goto out;
	if (announce_check(&cfg.announce, err, sizeof(err))) {
		fprintf(stderr, "xlbd: %s: %s\n", path, err);
		goto out;
	}
	/* A state without a data plane (dp NULL) changes nothing on the host
	 * but runs every check of a real start: capacity, tables. */
	state_init(&st, NULL, &cfg);
	if (state_apply(&st, &cfg, err, sizeof(err)))
		fprintf(stderr, "xlbd: %s: %s\n", path, err);
	else
		ret = 0;
	state_teardown(&st);
	if (!ret)
		printf("xlbd: %s: configuration OK (%zu service(s))\n", path,
		       cfg.n_services);
out:
	config_free(&cfg);
	return ret;
}
