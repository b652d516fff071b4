// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `xlb realserver setup|teardown`: VIP on lo, ARP/rp_filter sysctls and the
 * decapsulation XDP program, with a state file so teardown undoes exactly
 * what setup changed and nothing else. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "addr.h"
#include "control.h"
#include "log.h"
#include "netlink.h"
#include "realserver.h"
#include "sysctl.h"

#include "decap.skel.h"

#define DECAP_PROG_NAME "xlb_decap"
#define MAX_SYSCTLS     8
#define SYSCTL_PATH_MAX 96

enum { RS_OK = 0, RS_FAIL = 1, RS_USAGE = 2 };

/* One sysctl setup changed, with the value it had before. */
struct rs_sysctl {
	char path[SYSCTL_PATH_MAX];     /* relative to /proc/sys */
	long old;
};

/* What setup did for one VIP: the contents of its state file. */
struct rs_state {
	char mode[8];                   /* "dr" or "tun" */
	struct xlb_sockaddr vip;
	bool vip_added;                 /* we put the VIP on lo */
	char dev[IF_NAMESIZE];          /* tun: where the decap program goes */
	__u32 xdp_prog_id;              /* 0: we did not attach XDP */
	int xdp_ifindex;
	__u32 xdp_flags;                /* XDP_FLAGS_DRV_MODE or _SKB_MODE */
	int nsysctl;
	struct rs_sysctl sysctl[MAX_SYSCTLS];
};

/* A sysctl a mode needs, and which values already satisfy it. */
struct rs_need {
	char path[SYSCTL_PATH_MAX];
	long want;
	long ok_min, ok_max;
};

/* The sysctls mode needs for a VIP of this family. IPv6 needs none: the
 * kernel answers neighbour solicitations only for addresses of the
 * receiving interface, and IPv6 has no rp_filter. tun also sets the ARP
 * pair because a tun real server often shares a segment with the router,
 * and answering ARP for the VIP would steal the VIP's traffic. The
 * effective rp_filter is max(all, dev), so all three must be relaxed. */
static int rs_needs(const struct rs_state *st, struct rs_need *need)
{
	int n = 0;

	if (st->vip.family != XLB_AF_INET)
		return 0;
	need[n++] = (struct rs_need){ "net/ipv4/conf/all/arp_ignore", 1, 1, 2 };
	need[n++] = (struct rs_need){ "net/ipv4/conf/all/arp_announce", 2, 2, 2 };
	if (!strcmp(st->mode, "tun")) {
		need[n++] = (struct rs_need){ "net/ipv4/conf/all/rp_filter", 0, 0, 0 };
		need[n++] = (struct rs_need){ "net/ipv4/conf/lo/rp_filter", 0, 0, 0 };
		need[n] = (struct rs_need){ "", 0, 0, 0 };
		snprintf(need[n].path, sizeof(need[n].path),
			 "net/ipv4/conf/%s/rp_filter", st->dev);
		n++;
	}
	return n;
}

static struct rs_sysctl *rs_find_sysctl(struct rs_state *st, const char *path)
{
	int i;

	for (i = 0; i < st->nsysctl; i++)
		if (!strcmp(st->sysctl[i].path, path))
			return &st->sysctl[i];
	return NULL;
}

static int rs_record_sysctl(struct rs_state *st, const char *path, long old)
{
	struct rs_sysctl *s;

	if (rs_find_sysctl(st, path))
		return 0;
	if (st->nsysctl == MAX_SYSCTLS)
		return -ENOSPC;
	s = &st->sysctl[st->nsysctl++];
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->old = old;
	return 0;
}

/* ---- state files ---------------------------------------------------- */

static int rs_state_path(const struct xlb_sockaddr *vip, char *buf, size_t len)
{
	char a[XLB_ADDRSTR_MAX];
	unsigned long ino = 0;
	int err = netns_inode(&ino);

	if (err)
		return err;
	snprintf(buf, len, "%s/%lu-%s.state", REALSERVER_STATE_DIR, ino,
		 addr_str_noport(vip, a, sizeof(a)));
	return 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[256], *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Serialize concurrent setups/teardowns: they share sysctls and state
 * files. Returns the lock fd (closing it releases the lock) or -errno. */
static int rs_state_lock(void)
{
	int fd, err = mkdir_p(REALSERVER_STATE_DIR);

	if (err)
		return err;
	fd = open(REALSERVER_STATE_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Returns 0, -ENOENT when there is no state file, -EINVAL when it is
 * damaged (with a message), or another -errno. */
static int rs_state_load(const char *path, struct rs_state *st)
{
	char line[256], err_s[128];
	FILE *f;
	int lineno = 0, err = 0;

	memset(st, 0, sizeof(*st));
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq, *key = line, *val;

		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			goto bad;
		*eq = 0;
		val = eq + 1;
		if (!strcmp(key, "mode")) {
			snprintf(st->mode, sizeof(st->mode), "%s", val);
		} else if (!strcmp(key, "vip")) {
			if (addr_parse(val, ADDR_PORT_FORBIDDEN, &st->vip, err_s, sizeof(err_s)))
				goto bad;
		} else if (!strcmp(key, "vip_added")) {
			st->vip_added = atoi(val) != 0;
		} else if (!strcmp(key, "dev")) {
			snprintf(st->dev, sizeof(st->dev), "%s", val);
		} else if (!strcmp(key, "xdp_prog_id")) {
			st->xdp_prog_id = (__u32)strtoul(val, NULL, 10);
		} else if (!strcmp(key, "xdp_ifindex")) {
			st->xdp_ifindex = atoi(val);
		} else if (!strcmp(key, "xdp_mode")) {
			st->xdp_flags = !strcmp(val, "skb") ? XDP_FLAGS_SKB_MODE
							    : XDP_FLAGS_DRV_MODE;
		} else if (!strncmp(key, "sysctl.", 7)) {
			if (rs_record_sysctl(st, key + 7, strtol(val, NULL, 10)))
				goto bad;
		}
		/* Unknown keys are skipped so an older xlb can read a newer file. */
	}
	if (strcmp(st->mode, "dr") && strcmp(st->mode, "tun"))
		goto bad;
	fclose(f);
	return 0;
bad:
	log_err("state file %s:%d is damaged; fix or remove it and undo the "
		"real-server settings by hand", path, lineno);
	err = -EINVAL;
	fclose(f);
	return err;
}

static int rs_state_save(const char *path, const struct rs_state *st)
{
	char tmp[320], a[XLB_ADDRSTR_MAX];
	FILE *f;
	int i, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# xlb realserver: what `setup` changed; `teardown` undoes it\n");
	fprintf(f, "mode=%s\n", st->mode);
	fprintf(f, "vip=%s\n", addr_str_noport(&st->vip, a, sizeof(a)));
	fprintf(f, "vip_added=%d\n", st->vip_added);
	if (st->dev[0])
		fprintf(f, "dev=%s\n", st->dev);
	if (st->xdp_prog_id) {
		fprintf(f, "xdp_prog_id=%u\n", st->xdp_prog_id);
		fprintf(f, "xdp_ifindex=%d\n", st->xdp_ifindex);
		fprintf(f, "xdp_mode=%s\n",
			st->xdp_flags == XDP_FLAGS_SKB_MODE ? "skb" : "drv");
	}
	for (i = 0; i < st->nsysctl; i++)
		fprintf(f, "sysctl.%s=%ld\n", st->sysctl[i].path, st->sysctl[i].old);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Calls fn for every other state file of this network namespace; stops
 * when fn returns non-zero and returns that value. */
static int rs_state_foreach_other(const char *self,
			       int (*fn)(const char *path, struct rs_state *st, void *arg),
			       void *arg)
{
	char prefix[32], path[320];
	struct dirent *de;
	struct rs_state st;
	unsigned long ino = 0;
	DIR *d;
	int ret = 0;

	if (netns_inode(&ino))
		return 0;
	snprintf(prefix, sizeof(prefix), "%lu-", ino);
	d = opendir(REALSERVER_STATE_DIR);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (strncmp(de->d_name, prefix, strlen(prefix)) || len < 6 ||
		    strcmp(de->d_name + len - 6, ".state"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", REALSERVER_STATE_DIR, de->d_name);
		if (!strcmp(path, self) || rs_state_load(path, &st))
			continue;
		ret = fn(path, &st, arg);
	}
	closedir(d);
	return ret;
}

/* ---- XDP ------------------------------------------------------------ */

/* Name of the program with this id, "" when it cannot be read. */
static void prog_name(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info;
	__u32 info_len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	name[0] = 0;
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(name, len, "%s", info.name);
	close(fd);
}

static __u32 xdp_attached_id(int ifindex)
{
	__u32 id = 0;

	if (bpf_xdp_query_id(ifindex, 0, &id))
		return 0;
	return id;
}

/* The dev's own addresses are the outer destinations the decap program
 * accepts: IPv4 and global IPv6 (a tunnel to a link-local is no use). */
static int decap_fill_addrs(struct decap_bpf *skel, const char *dev)
{
	struct ifaddrs *ifa, *it;
	int n = 0, err;

	if (getifaddrs(&ifa))
		return -errno;
	for (it = ifa; it; it = it->ifa_next) {
		union xlb_addr key;
		__u8 val = 1;

		if (!it->ifa_addr || strcmp(it->ifa_name, dev))
			continue;
		memset(&key, 0, sizeof(key));
		if (it->ifa_addr->sa_family == AF_INET) {
			key.v4 = ((struct sockaddr_in *)it->ifa_addr)->sin_addr.s_addr;
		} else if (it->ifa_addr->sa_family == AF_INET6) {
			struct in6_addr *a6 = &((struct sockaddr_in6 *)it->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a6))
				continue;
			memcpy(key.b, a6, 16);
		} else {
			continue;
		}
		err = bpf_map__update_elem(skel->maps.decap_addrs, &key, sizeof(key),
					   &val, sizeof(val), BPF_ANY);
		if (err) {
			freeifaddrs(ifa);
			return err;
		}
		n++;
	}
	freeifaddrs(ifa);
	return n ? 0 : -EADDRNOTAVAIL;
}

/* Load the decap program, fill its address map and attach it to ifindex
 * (native XDP, else generic). The attachment outlives this process. */
static int decap_attach(struct rs_state *st, int ifindex)
{
	__u32 modes[] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE };
	struct decap_bpf *skel;
	int err, i, fd;

	skel = decap_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		log_err("cannot load the decap XDP program: %s", strerror(-err));
		return err;
	}
	err = decap_fill_addrs(skel, st->dev);
	if (err) {
		log_err("cannot fill the decap address map from '%s': %s%s", st->dev,
			strerror(-err), err == -EADDRNOTAVAIL ?
			" (the interface has no IPv4 or global IPv6 address)" : "");
		goto out;
	}
	fd = bpf_program__fd(skel->progs.xlb_decap);
	for (i = 0; i < 2; i++) {
		err = bpf_xdp_attach(ifindex, fd, XDP_FLAGS_UPDATE_IF_NOEXIST | modes[i],
				     NULL);
		if (!err) {
			st->xdp_flags = modes[i];
			break;
		}
	}
	if (err) {
		log_err("cannot attach XDP to '%s': %s", st->dev, strerror(-err));
		goto out;
	}
	st->xdp_ifindex = ifindex;
	st->xdp_prog_id = xdp_attached_id(ifindex);
	if (!st->xdp_prog_id) {
		err = -ENOENT;
		log_err("XDP program on '%s' vanished right after attaching", st->dev);
	}
out:
	decap_bpf__destroy(skel);
	return err;
}

/* Detach our program, but only when the one attached is still ours. */
static int decap_detach(struct rs_state *st)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 cur = xdp_attached_id(st->xdp_ifindex);
	int fd, err;

	if (cur != st->xdp_prog_id) {
		log_warn("XDP program on '%s' is id %u, not the decap program setup "
			 "attached (id %u); left attached", st->dev, cur, st->xdp_prog_id);
		return 0;
	}
	fd = bpf_prog_get_fd_by_id(cur);
	if (fd < 0)
		return -errno;
	/* XDP_FLAGS_REPLACE makes the kernel compare, so a program attached
	 * in between is never removed. */
	opts.old_prog_fd = fd;
	err = bpf_xdp_detach(st->xdp_ifindex, st->xdp_flags | XDP_FLAGS_REPLACE, &opts);
	close(fd);
	if (err)
		log_err("cannot detach XDP from '%s': %s", st->dev, strerror(-err));
	return err;
}

/* ---- setup and teardown --------------------------------------------- */

static uint8_t vip_plen(const struct xlb_sockaddr *vip)
{
	return vip->family == XLB_AF_INET ? 32 : 128;
}

/* Another state of this netns that needs the same thing takes over the
 * record of the old value, so the last VIP's teardown restores it. */
struct handover {
	const char *sysctl;             /* or NULL for the XDP program */
	const struct rs_state *from;
};

static int handover_fn(const char *path, struct rs_state *other, void *arg)
{
	struct handover *h = arg;
	struct rs_need need[MAX_SYSCTLS];
	int i, n;

	if (!h->sysctl) {
		if (strcmp(other->mode, "tun") || strcmp(other->dev, h->from->dev) ||
		    other->xdp_prog_id)
			return 0;
		other->xdp_prog_id = h->from->xdp_prog_id;
		other->xdp_ifindex = h->from->xdp_ifindex;
		other->xdp_flags = h->from->xdp_flags;
		return rs_state_save(path, other) ? 0 : 1;
	}
	n = rs_needs(other, need);
	for (i = 0; i < n; i++) {
		struct rs_sysctl *s;

		if (strcmp(need[i].path, h->sysctl))
			continue;
		s = rs_find_sysctl((struct rs_state *)h->from, h->sysctl);
		if (rs_record_sysctl(other, h->sysctl, s->old) || rs_state_save(path, other))
			return 0;
		return 1;
	}
	return 0;
}

/* Undo what st records. self is st's own state file (skipped when looking
 * for VIPs that still need a shared setting). Returns 0 or the first error;
 * it goes on after an error so as much as possible is undone. */
static int rs_undo(const char *self, struct rs_state *st)
{
	char a[XLB_ADDRSTR_MAX];
	int i, err, ret = 0;

	addr_str_noport(&st->vip, a, sizeof(a));
	if (st->xdp_prog_id) {
		struct handover h = { NULL, st };

		if (!rs_state_foreach_other(self, handover_fn, &h)) {
			err = decap_detach(st);
			if (err && !ret)
				ret = err;
		}
	}
	for (i = st->nsysctl - 1; i >= 0; i--) {
		struct handover h = { st->sysctl[i].path, st };

		if (rs_state_foreach_other(self, handover_fn, &h))
			continue;
		err = sysctl_write(st->sysctl[i].path, st->sysctl[i].old);
		if (err) {
			log_err("cannot restore %s to %ld: %s", st->sysctl[i].path,
				st->sysctl[i].old, strerror(-err));
			if (!ret)
				ret = err;
		}
	}
	if (st->vip_added) {
		err = nl_addr_del("lo", &st->vip, vip_plen(&st->vip));
		if (err && err != -EADDRNOTAVAIL) {
			log_err("cannot remove %s from lo: %s", a, strerror(-err));
			if (!ret)
				ret = err;
		}
	}
	return ret;
}

/* tun: the decap program on the dev, unless it is there already (ours, or
 * attached for another VIP of this host, which then shares it). */
static int rs_apply_xdp(struct rs_state *st, int ifindex)
{
	__u32 cur = xdp_attached_id(ifindex);
	char name[32];

	if (cur && cur == st->xdp_prog_id)
		return 0;
	if (cur) {
		prog_name(cur, name, sizeof(name));
		if (!strcmp(name, DECAP_PROG_NAME))
			return 0;
		log_err("--dev: '%s' already has XDP program id %u ('%s'); detach it "
			"first or choose another interface", st->dev, cur, name);
		return -EBUSY;
	}
	st->xdp_prog_id = 0;
	return decap_attach(st, ifindex);
}

/* Make every change st's mode needs that is not in place yet, recording
 * each one in st. Already-recorded changes keep their original old value. */
static int rs_apply(struct rs_state *st, int ifindex)
{
	struct rs_need need[MAX_SYSCTLS];
	char a[XLB_ADDRSTR_MAX];
	int i, n, err;

	addr_str_noport(&st->vip, a, sizeof(a));
	err = nl_addr_present("lo", &st->vip);
	if (err < 0) {
		log_err("cannot list the addresses of lo: %s", strerror(-err));
		return err;
	}
	if (!err) {
		err = nl_addr_add("lo", &st->vip, vip_plen(&st->vip));
		if (err) {
			log_err("cannot add %s/%u to lo: %s", a, vip_plen(&st->vip),
				strerror(-err));
			return err;
		}
		st->vip_added = true;
	}

	n = rs_needs(st, need);
	for (i = 0; i < n; i++) {
		long cur = 0;

		err = sysctl_read(need[i].path, &cur);
		if (err) {
			log_err("cannot read sysctl %s: %s", need[i].path, strerror(-err));
			return err;
		}
		if (cur >= need[i].ok_min && cur <= need[i].ok_max)
			continue;
		err = rs_record_sysctl(st, need[i].path, cur);
		if (!err)
			err = sysctl_write(need[i].path, need[i].want);
		if (err) {
			log_err("cannot set sysctl %s to %ld: %s", need[i].path,
				need[i].want, strerror(-err));
			return err;
		}
	}

	return strcmp(st->mode, "tun") ? 0 : rs_apply_xdp(st, ifindex);
}

/* The interface of the default route of the family, from /proc (the lookup
 * is by route, not by destination, so no address has to be invented). */
static int default_route_dev(uint8_t family, char *dev, size_t len)
{
	char line[512], name[IF_NAMESIZE];
	FILE *f;
	int found = 0;

	if (family == XLB_AF_INET) {
		unsigned long dst, mask;

		f = fopen("/proc/net/route", "r");
		if (!f)
			return -errno;
		while (!found && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%15s %lx %*x %*x %*d %*d %*d %lx",
				   name, &dst, &mask) == 3 && !dst && !mask)
				found = 1;
		}
	} else {
		char dst[33];
		unsigned int plen;

		f = fopen("/proc/net/ipv6_route", "r");
		if (!f)
			return -errno;
		while (!found && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %*x %15s",
				   dst, &plen, name) == 3 && !plen &&
			    !strcmp(dst, "00000000000000000000000000000000") &&
			    strcmp(name, "lo"))
				found = 1;
		}
	}
	fclose(f);
	if (!found)
		return -ENOENT;
	snprintf(dev, len, "%s", name);
	return 0;
}

/* ---- command line --------------------------------------------------- */

struct rs_args {
	const char *mode, *vip, *dev;
};

/* Parse --mode/--vip/--dev (also as --opt=value). allowed lists the
 * options this subcommand takes. Returns 0, 1 for --help, or -EINVAL. */
static int parse_args(const char *cmd, int argc, char **argv, const char *allowed,
		      struct rs_args *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val, *eq;
		const char **slot;
		char opt[16];
		size_t olen;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return 1;
		eq = strchr(arg, '=');
		olen = eq ? (size_t)(eq - arg) : strlen(arg);
		snprintf(opt, sizeof(opt), "%.*s", (int)olen, arg);
		if (!strcmp(opt, "--mode"))
			slot = &out->mode;
		else if (!strcmp(opt, "--vip"))
			slot = &out->vip;
		else if (!strcmp(opt, "--dev"))
			slot = &out->dev;
		else
			slot = NULL;
		if (!slot || !strstr(allowed, opt)) {
			log_err("realserver %s: unknown option '%s' (see xlb realserver --help)",
				cmd, arg);
			return -EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			log_err("%s: missing value", opt);
			return -EINVAL;
		}
		if (!*val) {
			log_err("%s: empty value", opt);
			return -EINVAL;
		}
		*slot = val;
	}
	return 0;
}

static int parse_vip(const char *s, struct xlb_sockaddr *vip)
{
	char err[128];

	if (!s) {
		log_err("--vip is required (the virtual address this host serves)");
		return -EINVAL;
	}
	if (addr_parse(s, ADDR_PORT_FORBIDDEN, vip, err, sizeof(err))) {
		log_err("--vip: %s", err);
		return -EINVAL;
	}
	return 0;
}

/* The interface of a setup: --dev, else (tun only) the one of the default
 * route, since the tunnelled packets arrive there. Returns 0 or -EINVAL. */
static int setup_dev(struct rs_state *st, const char *dev, int *ifindex)
{
	if (dev) {
		*ifindex = (int)if_nametoindex(dev);
		if (!*ifindex) {
			log_err("--dev: no interface '%s'", dev);
			return -EINVAL;
		}
	}
	/* dr needs no interface: the ARP sysctls are set on "all". */
	if (strcmp(st->mode, "tun"))
		return 0;
	if (dev) {
		snprintf(st->dev, sizeof(st->dev), "%s", dev);
	} else if (default_route_dev(st->vip.family, st->dev, sizeof(st->dev))) {
		log_err("--dev: no IPv%c default route to take the interface "
			"from; name the interface the tunnelled packets arrive on",
			st->vip.family == XLB_AF_INET ? '4' : '6');
		return -EINVAL;
	} else {
		*ifindex = (int)if_nametoindex(st->dev);
	}
	if (!strcmp(st->dev, "lo")) {
		log_err("--dev: tunnelled packets cannot arrive on lo");
		return -EINVAL;
	}
	return 0;
}

/* Reads setup's arguments into @st. Returns 0, 1 for --help, or -EINVAL. */
static int setup_args(int argc, char **argv, struct rs_state *st, int *ifindex)
{
	struct rs_args args;
	int err;

	err = parse_args("setup", argc, argv, "--mode --vip --dev", &args);
	if (err > 0)
		fputs(realserver_usage, stdout);
	if (err)
		return err;
	if (!args.mode) {
		log_err("--mode is required: dr or tun");
		return -EINVAL;
	}
	if (strcmp(args.mode, "dr") && strcmp(args.mode, "tun")) {
		log_err("--mode: expected dr or tun, got '%s'", args.mode);
		return -EINVAL;
	}
	memset(st, 0, sizeof(*st));
	snprintf(st->mode, sizeof(st->mode), "%s", args.mode);
	if (parse_vip(args.vip, &st->vip))
		return -EINVAL;
	return setup_dev(st, args.dev, ifindex);
}

/* Applies @st under the state lock: a VIP already set up the same way is
 * set up again from its saved state (idempotent); one set up differently
 * is refused. @a names the VIP in messages. Returns 0 or -errno. */
static int setup_locked(const char *path, const char *a, struct rs_state *st,
			int ifindex)
{
	struct rs_state old;
	bool had_state;
	int err;

	err = rs_state_load(path, &old);
	had_state = !err;
	if (err && err != -ENOENT) {
		if (err != -EINVAL)
			log_err("cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (had_state) {
		if (strcmp(old.mode, st->mode) ||
		    (!strcmp(st->mode, "tun") && strcmp(old.dev, st->dev))) {
			log_err("%s is already set up as a %s real server%s%s; run "
				"`xlb realserver teardown --vip %s` first", a, old.mode,
				old.dev[0] ? " on " : "", old.dev, a);
			return -EEXIST;
		}
		*st = old;
	}
	err = rs_apply(st, ifindex);
	if (err && !had_state) {
		/* Leave the host as it was: undo this run's partial changes. */
		rs_undo(path, st);
		return err;
	}
	err = rs_state_save(path, st) ?: err;
	if (err)
		log_err("%s: setup incomplete or state not saved (%s); "
			"`xlb realserver teardown --vip %s` undoes what was done",
			a, strerror(-err), a);
	else
		log_info("%s: %s real server set up%s%s", a, st->mode,
			 st->dev[0] ? " on " : "", st->dev);
	return err;
}

static int cmd_setup(int argc, char **argv)
{
	char path[256], a[XLB_ADDRSTR_MAX];
	struct rs_state st;
	int ifindex = 0, lock, err;

	err = setup_args(argc, argv, &st, &ifindex);
	if (err)
		return err > 0 ? RS_OK : RS_USAGE;
	addr_str_noport(&st.vip, a, sizeof(a));
	err = rs_state_path(&st.vip, path, sizeof(path));
	lock = err ? err : rs_state_lock();
	if (lock < 0) {
		log_err("cannot open the state directory %s: %s", REALSERVER_STATE_DIR,
			strerror(-lock));
		return RS_FAIL;
	}
	err = setup_locked(path, a, &st, ifindex);
	close(lock);
	return err ? RS_FAIL : RS_OK;
}

static int cmd_teardown(int argc, char **argv)
{
	char path[256], a[XLB_ADDRSTR_MAX];
	struct xlb_sockaddr vip;
	struct rs_state st;
	struct rs_args args;
	int lock, err;

	err = parse_args("teardown", argc, argv, "--vip", &args);
	if (err > 0)
		fputs(realserver_usage, stdout);
	if (err)
		return err > 0 ? RS_OK : RS_USAGE;
	if (parse_vip(args.vip, &vip))
		return RS_USAGE;
	addr_str_noport(&vip, a, sizeof(a));

	err = rs_state_path(&vip, path, sizeof(path));
	lock = err ? err : rs_state_lock();
	if (lock < 0) {
		log_err("cannot open the state directory %s: %s", REALSERVER_STATE_DIR,
			strerror(-lock));
		return RS_FAIL;
	}
	err = rs_state_load(path, &st);
	if (err == -ENOENT) {
		log_err("--vip: %s was not set up by `xlb realserver setup` in this "
			"network namespace (no %s); nothing to undo", a, path);
		goto out;
	}
	if (err) {
		if (err != -EINVAL)
			log_err("cannot read %s: %s", path, strerror(-err));
		goto out;
	}
	err = rs_undo(path, &st);
	if (err) {
		log_err("%s: teardown incomplete; state kept in %s", a, path);
		goto out;
	}
	if (unlink(path)) {
		err = -errno;
		log_err("cannot remove %s: %s", path, strerror(-err));
		goto out;
	}
	log_info("%s: %s real server settings removed", a, st.mode);
out:
	close(lock);
	return err ? RS_FAIL : RS_OK;
}

int realserver_main(int argc, char **argv)
{
	if (argc < 1) {
		fputs(realserver_usage, stderr);
		return RS_USAGE;
	}
	if (!strcmp(argv[0], "setup"))
		return cmd_setup(argc, argv);
	if (!strcmp(argv[0], "teardown"))
		return cmd_teardown(argc, argv);
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "help")) {
		fputs(realserver_usage, stdout);
		return RS_OK;
	}
	log_err("realserver: unknown command '%s': expected setup or teardown", argv[0]);
	return RS_USAGE;
}
