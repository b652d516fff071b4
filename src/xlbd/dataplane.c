// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Loads, pins and attaches the XDP program and writes its maps. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cfgslots.h"
#include "conntrack.h"
#include "xlb_ct.h"
#include "xlb_cttag.h"
#include "control.h"
#include "dataplane.h"
#include "hz.h"
#include "lcslots.h"
#include "log.h"
#include "netlink.h"
#include "runfile.h"
#include "svcidx.h"
#include "svcslots.h"
#include "xlb_dsrkey.h"
#include "xlb_dsrtab.h"
#include "xlb_hash.h"
#include "xlb.skel.h"

#define REASON_NAME(id, name) [id] = name,
const char *const xlb_reason_names[XLB_R_MAX] = { XLB_REASONS(REASON_NAME) };
const char *const xlb_guard_names[XLB_G_MAX] = { XLB_GUARD_EVENTS(REASON_NAME) };
#undef REASON_NAME

struct attachment {
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];                 /* as last written to if_macs */
	struct bpf_link *link;
};

struct dataplane {
	struct xlb_bpf *skel;
	char pin_root[XLB_PATH_MAX + 8];        /* <bpffs>/xlb */
	char pin_dir[XLB_PATH_MAX + 8 + XLB_NAME_MAX];
	char abi_name[XLB_NAME_MAX + 16];       /* xlbd-<instance>.abi, XLB_RUN_DIR */
	bool pinned;
	bool adopted;                           /* maps came from a previous xlbd */
	bool upgrade;                           /* pins of another layout: their
						 * links take this program before
						 * its maps replace theirs */
	/* Adopted, but for these (a group whose pinned maps do not fit the
	 * config, see map_groups; 8: all of them): fresh maps, pinned in
	 * place of the old ones once the links run this program. */
	struct bpf_map *fresh[8];
	size_t n_fresh;
	size_t n_attached;
	struct attachment *attached;
	int ncpus;
	unsigned int hz;                        /* the kernel's, 0: unknown */
	/* backend_conns, mapped so the sweeper updates it atomically. */
	struct xlb_conns *conns;
	size_t conns_len;
	/* svc_flows, mapped: the daemon writes max, the sweeper fixes n. */
	struct xlb_svc_flows *svc_flows;
	/* The dr/tun tables and their 5-tuples (IPv4, IPv6), mapped, and
	 * their buckets. */
	struct xlb_dsr_bucket *dsr[2];
	void *dsr_keys[2];
	uint32_t dsr_buckets[2];
	/* The service index (include/xlb_svcidx.h), mapped, and its writer. */
	struct xlb_svc_idx_bucket *svc_idx;
	struct xlb_svc_rec *svc_recs;
	struct svcidx *svcidx;
	/* The services' slots by id (include/xlb_svcslots.h), mapped, and
	 * their writer. */
	struct xlb_svc_slots *svc_slots;
	struct svcslots *slots;
	/* The settings' slots (include/xlb_cfgslots.h), mapped, their
	 * writer, and the settings they are to hold: the LIPs as
	 * dataplane_set_lips wrote them, published with the next globals. */
	struct xlb_cfg_slot *cfg_slots;       /* two */
	union xlb_addr *cfg_lips;
	struct cfgslots *cfg;
	struct xlb_cfg cfg_want;
	/* The lc/wlc lists' slots (include/xlb_lcslots.h), mapped, and
	 * their writer. */
	struct xlb_lc_slot *lc_slots;           /* 2 * XLB_MAX_SERVICES */
	struct lcslots *lc;
	struct ct_sweeper *sweeper;             /* its own thread (conntrack.h) */
	bool sweep_want;                        /* nat/fullnat services exist */
	/* The addr_filter map's words as written, and how many services-map
	 * entries have their VIP on each bit of XLB_FILTER_VIP (the first
	 * 1 << XLB_FILTER_BITS_LOG) and of XLB_FILTER_VIP_CT (the next); a
	 * bit clears with the last. */
	uint64_t filter[XLB_FILTER_SETS * XLB_FILTER_WORDS];
	uint16_t *vip_refs;
	/* backend_l2 as written, so a neighbour event finds the entries to
	 * change without reading the map; ids below l2_hi may be in use. */
	struct xlb_backend_l2 *l2;
	uint32_t l2_hi;
	/* Grace periods waited for (svcidx_grace_rcu), and per backend id
	 * the count when its backends entry lost its flags (be_left) or its
	 * backend_l2 entry its valid (l2_left): the fields behind them are
	 * rewritten only once the count has moved past (write_backend,
	 * dataplane_backend_l2_put). */
	uint64_t graces;
	uint64_t *be_left, *l2_left;
	/* Next hops whose new fields wait for the next grace period
	 * (dataplane_l2_commit): their entries stay invalid until then. */
	struct xlb_backend_l2 *l2_want;
	uint8_t *l2_pending;
	bool l2_any_pending;
	/* Table swaps staged by dataplane_table_stage(), applied together by
	 * dataplane_tables_commit(): fd -1 removes the service's table. */
	struct staged_table {
		uint32_t svc_id;
		int fd;
	} *staged;
	size_t n_staged, cap_staged;
};

static int svc_key_from(uint8_t proto, const struct xlb_sockaddr *vip,
			struct xlb_svc_key *key)
{
	memset(key, 0, sizeof(*key));
	key->vip = vip->addr;
	key->port_be = htons(vip->port);
	key->proto = proto;
	key->family = vip->family;
	return 0;
}

/* Remove what a previous instance of the same name left pinned (it died
 * without cleaning up; the instance lock says it is not running). */
static void remove_stale_pins(const char *dir)
{
	char cmd[512];

	if (access(dir, F_OK) != 0)
		return;
	log_warn("removing stale pinned maps in %s", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		log_warn("cannot remove %s", dir);
}

/* `ip netns exec` gives the process a fresh /sys without bpffs: mount one so
 * the maps can be pinned (it lives as long as this mount namespace). */
static int ensure_bpffs(const char *path, char *err, size_t errlen)
{
	struct statfs sfs;

	if (statfs(path, &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", path, "bpf", 0, "mode=0700") != 0) {
		snprintf(err, errlen, "%s is not a bpffs mount and mounting one "
			 "failed: %s (mount -t bpf bpf %s)", path, strerror(errno), path);
		return -errno;
	}
	log_info("mounted bpffs on %s (pins there last as long as this mount "
		 "namespace)", path);
	return 0;
}

/* A directory of ours on the bpffs: created 0700, or checked to be a
 * directory (not a link) owned by us that no one else can write to, since
 * whoever can write there can move the pins away. */
static int private_dir(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if (lstat(path, &sb) != 0) {
		snprintf(err, errlen, "cannot check %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022)) {
		snprintf(err, errlen, "refusing to pin in %s: %s; remove it (`xlbd "
			 "--cleanup`, or rm -r) if it is not another user's", path,
			 !S_ISDIR(sb.st_mode) ? "not a directory" :
			 sb.st_uid != geteuid() ? "owned by another user" :
			 "writable by other users");
		return -EPERM;
	}
	return 0;
}

/* ---- hitless restart: pinned links and maps adopted by the next xlbd ------
 *
 * pin_dir holds every map (by its name) and one bpf_link per interface
 * (link_<ifname>). The kernel keeps both while they are pinned, so the XDP
 * program forwards with its flow table while no xlbd runs. The next xlbd of
 * the instance loads its program against the same maps and swaps it into
 * each link with bpf_link__update_program: no moment without a program.
 * The ABI file under XLB_RUN_DIR says which map layout the pins have; a
 * different one (or none) means starting afresh. */

#ifndef XLB_ABI_HASH
#define XLB_ABI_HASH "unknown"
#endif

/* A previous xlbd left XDP links pinned in dir. */
static bool has_links(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool any = false;

	while (d && !any && (de = readdir(d)))
		any = !strncmp(de->d_name, "link_", 5);
	if (d)
		closedir(d);
	return any;
}

static bool adoptable(struct dataplane *dp)
{
	char buf[64] = "", path[sizeof(dp->pin_dir) + 16], err[256];
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/globals", dp->pin_dir);
	if (access(path, F_OK) != 0)
		return false;
	fd = run_open(dp->abi_name, O_RDONLY, err, sizeof(err));
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	} else if (fd != -ENOENT) {
		log_warn("%s", err);
	}
	buf[n > 0 ? n : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (strcmp(buf, XLB_ABI_HASH)) {
		log_warn("maps pinned in %s have another layout (abi '%s', this xlbd "
			 "'%s'): fresh maps, existing flows are lost; the old "
			 "program forwards until the new one takes its place",
			 dp->pin_dir, buf[0] ? buf : "unknown", XLB_ABI_HASH);
		return false;
	}
	return true;
}

/* The maps a config's sizes change, in groups whose contents only make
 * sense together: a restart into other sizes adopts every pinned map but
 * the groups it resized, which start empty (dsr_flow_table_size loses the
 * dr/tun flows and keeps nat's; flow_table_size the reverse). A pin of any
 * other map that does not fit still means fresh maps for all (dp_load). */
#define MAP_GROUP_MAX 5
static const struct map_group {
	const char *what;               /* for the log */
	const char *names[MAP_GROUP_MAX];       /* NULL-padded */
} map_groups[] = {
	{ "dr/tun flow tables", { "dsr_flows4", "dsr_flows6", "dsr_keys4",
				  "dsr_keys6", "dsr_params" } },
	/* The connection table, its reverse entries, the embryos' rings and
	 * the counts kept of its entries per service and backend. */
	{ "connection table", { "flows", "nat_rev", "embryos", "svc_flows",
				"backend_conns" } },
	{ "persistence table", { "persist" } },
};

/* Whether the map pinned at path (if any) is one libbpf would reuse as m:
 * the checks of its reuse (type, sizes, flags). */
static bool pin_fits(struct bpf_map *m, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	bool fits;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return true;    /* none: created and pinned */
	fits = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	       info.type == bpf_map__type(m) &&
	       info.key_size == bpf_map__key_size(m) &&
	       info.value_size == bpf_map__value_size(m) &&
	       info.max_entries == bpf_map__max_entries(m) &&
	       info.map_flags == bpf_map__map_flags(m);
	close(fd);
	return fits;
}

/* Before an adopting load: the groups with a pinned map that does not fit
 * get fresh maps, unpinned until dp_pin_fresh. */
static void unpin_resized_groups(struct dataplane *dp)
{
	size_t ng = sizeof(map_groups) / sizeof(map_groups[0]);

	for (size_t g = 0; g < ng; g++) {
		const char *const *names = map_groups[g].names;
		struct bpf_map *m;
		bool fits = true;
		size_t i;

		for (i = 0; i < MAP_GROUP_MAX && names[i] && fits; i++) {
			m = bpf_object__find_map_by_name(dp->skel->obj, names[i]);
			fits = !m || pin_fits(m, bpf_map__pin_path(m));
		}
		if (fits)
			continue;
		for (i = 0; i < MAP_GROUP_MAX && names[i] &&
			    dp->n_fresh < sizeof(dp->fresh) / sizeof(dp->fresh[0]); i++) {
			m = bpf_object__find_map_by_name(dp->skel->obj, names[i]);
			if (!m)
				continue;
			bpf_map__set_pin_path(m, NULL);
			dp->fresh[dp->n_fresh++] = m;
		}
		log_warn("the pinned %s (%s...) do not fit this config (a size or "
			 "flags changed): they start empty, their flows are lost; the "
			 "other maps are adopted", map_groups[g].what, names[0]);
	}
}

/* After the links run this program: its fresh maps take the place of the
 * pinned ones they replace. */
static int dp_pin_fresh(struct dataplane *dp, char *err, size_t errlen)
{
	char path[sizeof(dp->pin_dir) + 32];
	int ret = 0;

	for (size_t i = 0; i < dp->n_fresh && !ret; i++) {
		struct bpf_map *m = dp->fresh[i];

		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, bpf_map__name(m));
		unlink(path);
		ret = bpf_map__set_pin_path(m, path);
		if (!ret)
			ret = bpf_map__pin(m, NULL);
		if (ret)
			snprintf(err, errlen, "cannot pin the new %s in %s: %s",
				 bpf_map__name(m), dp->pin_dir, strerror(-ret));
	}
	dp->n_fresh = 0;
	return ret;
}

static void write_abi_file(struct dataplane *dp)
{
	char err[256];

	if (run_write(dp->abi_name, XLB_ABI_HASH "\n", strlen(XLB_ABI_HASH "\n"),
		      err, sizeof(err)))
		log_warn("%s (the next xlbd will not adopt the maps)", err);
}

/* The service index, the services' slots by id, the settings' slots and
 * LIPs and the lc/wlc lists' slots are never pinned: each xlbd fills its
 * own from the services, globals, lips and svc_backends maps before its
 * program runs (svc_index_load, cfg_load, lc_load), so a restart adopts
 * the other maps whatever their layout. Nor is any of the program's data
 * sections (the read-only xlb_hz; the settings' slots are one): they are
 * this load's own, and a pinned one would be reused as it is, with the
 * last xlbd's. */
static bool map_pinned(struct dataplane *dp, const struct bpf_map *m)
{
	return m != dp->skel->maps.svc_idx && m != dp->skel->maps.svc_recs &&
	       m != dp->skel->maps.svc_slots && m != dp->skel->maps.cfg_lips &&
	       m != dp->skel->maps.lc_slots && !bpf_map__is_internal(m);
}

static int set_pin_paths(struct dataplane *dp)
{
	char path[sizeof(dp->pin_dir) + 32];
	struct bpf_map *map;
	int ret;

	bpf_object__for_each_map(map, dp->skel->obj) {
		if (!map_pinned(dp, map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, bpf_map__name(map));
		ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return ret;
	}
	return 0;
}

static void link_path(struct dataplane *dp, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/link_%s", dp->pin_dir, ifname);
}

static void pin_link(struct dataplane *dp, struct bpf_link *link, const char *ifname)
{
	char path[sizeof(dp->pin_dir) + 32];
	int ret;

	link_path(dp, ifname, path, sizeof(path));
	ret = bpf_link__pin(link, path);
	if (ret)
		log_warn("cannot pin the XDP link of %s at %s: %s (a restart will "
			 "interrupt forwarding)", ifname, path, strerror(-ret));
}

/* The link a previous xlbd pinned for ifname, now running our program;
 * NULL when there is none or it cannot be taken over. */
static struct bpf_link *take_over_link(struct dataplane *dp, const char *ifname)
{
	char path[sizeof(dp->pin_dir) + 32];
	struct bpf_link *link;
	int ret;

	link_path(dp, ifname, path, sizeof(path));
	if (access(path, F_OK) != 0)
		return NULL;
	link = bpf_link__open(path);
	if (!link) {
		log_warn("cannot open the pinned XDP link %s: %s", path, strerror(errno));
		unlink(path);
		return NULL;
	}
	ret = bpf_link__update_program(link, dp->skel->progs.xlb_xdp);
	if (ret) {
		log_warn("cannot swap the program of the XDP link of %s: %s; "
			 "attaching anew", ifname, strerror(-ret));
		bpf_link__unpin(link);
		bpf_link__destroy(link);
		return NULL;
	}
	log_info("took over the XDP link of %s: new program, same maps", ifname);
	return link;
}

/* Links pinned for interfaces that are no longer in the config: unpinning
 * the last reference detaches the program from them. */
static void drop_foreign_links(struct dataplane *dp, const struct xlb_config *cfg)
{
	char path[sizeof(dp->pin_dir) + 260];
	struct dirent *de;
	DIR *d;

	d = opendir(dp->pin_dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		bool keep = false;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		for (size_t i = 0; i < cfg->n_interfaces; i++)
			keep |= !strcmp(de->d_name + 5, cfg->interfaces[i]);
		if (keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
		unlink(path);
		log_info("detached XDP program from %s (no longer in the config)",
			 de->d_name + 5);
	}
	closedir(d);
}

/* Pin fd at path again when the pin is gone. Returns 0 (there, or
 * restored) or 1 (lost). */
static int repin(int fd, const char *path)
{
	if (access(path, F_OK) == 0)
		return 0;
	if (bpf_obj_pin(fd, path) == 0) {
		log_err("%s was removed while xlbd runs: pinned it again", path);
		return 0;
	}
	log_err("%s was removed while xlbd runs and cannot be pinned again: %s",
		path, strerror(errno));
	return 1;
}

int dataplane_check_pins(struct dataplane *dp)
{
	char path[sizeof(dp->pin_dir) + 32];
	struct bpf_map *map;
	int lost = 0;

	if (!dp || !dp->pinned)
		return 0;
	if (access(dp->pin_dir, F_OK) != 0) {
		log_err("%s was removed while xlbd runs: creating it again", dp->pin_dir);
		mkdir(dp->pin_root, 0700);
		mkdir(dp->pin_dir, 0700);
	}
	bpf_object__for_each_map(map, dp->skel->obj) {
		if (!map_pinned(dp, map))
			continue;       /* never pinned (set_pin_paths) */
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, bpf_map__name(map));
		lost += repin(bpf_map__fd(map), path);
	}
	for (size_t i = 0; i < dp->n_attached; i++) {
		link_path(dp, dp->attached[i].ifname, path, sizeof(path));
		lost += repin(bpf_link__fd(dp->attached[i].link), path);
	}
	return lost;
}

static void l2_invalidate_all(struct dataplane *dp);

/* What release and close both end with, once the links are dealt with. */
static void dp_free(struct dataplane *dp)
{
	ct_sweeper_stop(dp->sweeper);
	if (dp->conns)
		munmap(dp->conns, dp->conns_len);
	if (dp->svc_flows)
		munmap(dp->svc_flows, XLB_MAX_SERVICES * sizeof(*dp->svc_flows));
	for (int v6 = 0; v6 < 2; v6++) {
		if (dp->dsr[v6])
			munmap(dp->dsr[v6], (size_t)dp->dsr_buckets[v6] *
					    sizeof(*dp->dsr[v6]));
		if (dp->dsr_keys[v6])
			munmap(dp->dsr_keys[v6], (size_t)dp->dsr_buckets[v6] *
				(v6 ? sizeof(struct xlb_dsr_keys6) :
				      sizeof(struct xlb_dsr_keys4)));
	}
	svcidx_close(dp->svcidx);
	if (dp->svc_idx)
		munmap(dp->svc_idx, XLB_SVC_IDX_BUCKETS * sizeof(*dp->svc_idx));
	if (dp->svc_recs)
		munmap(dp->svc_recs, XLB_SVC_IDX_RECS * sizeof(*dp->svc_recs));
	svcslots_close(dp->slots);
	if (dp->svc_slots)
		munmap(dp->svc_slots, XLB_MAX_SERVICES * sizeof(*dp->svc_slots));
	cfgslots_close(dp->cfg);
	if (dp->cfg_slots)
		munmap(dp->cfg_slots, 2 * sizeof(*dp->cfg_slots));
	if (dp->cfg_lips)
		munmap(dp->cfg_lips, 2 * XLB_CFG_LIPS * sizeof(*dp->cfg_lips));
	lcslots_close(dp->lc);
	if (dp->lc_slots)
		munmap(dp->lc_slots, 2 * XLB_MAX_SERVICES * sizeof(*dp->lc_slots));
	free(dp->vip_refs);
	free(dp->l2);
	free(dp->be_left);
	free(dp->l2_left);
	free(dp->l2_want);
	free(dp->l2_pending);
	xlb_bpf__destroy(dp->skel);
	free(dp);
}

void dataplane_release(struct dataplane *dp)
{
	char path[sizeof(dp->pin_dir) + 32];
	size_t left = 0;

	if (!dp)
		return;
	/* No one keeps the cached next hops fresh until the next xlbd: the
	 * data plane does its own route lookups meanwhile. */
	if (dp->l2)
		l2_invalidate_all(dp);
	/* Claim only what stays: a link whose pin is gone detaches with us. */
	dataplane_check_pins(dp);
	for (size_t i = 0; i < dp->n_attached; i++) {
		link_path(dp, dp->attached[i].ifname, path, sizeof(path));
		if (access(path, F_OK) == 0)
			left++;
		else
			log_err("the XDP program on %s is NOT left attached: its pinned "
				"link %s is gone; traffic to the VIPs there stops until "
				"xlbd runs again", dp->attached[i].ifname, path);
		bpf_link__destroy(dp->attached[i].link);   /* pinned: stays */
	}
	if (left)
		log_info("left the XDP program attached to %zu interface(s) and its "
			 "maps pinned in %s for the next xlbd (`xlbd --cleanup` removes "
			 "them)", left, dp->pin_dir);
	free(dp->attached);
	dp_free(dp);
}

bool dataplane_adopted(const struct dataplane *dp)
{
	return dp && dp->adopted;
}

bool dataplane_inherited(const struct dataplane *dp)
{
	return dp && (dp->adopted || dp->upgrade);
}

int dataplane_services_each(struct dataplane *dp,
			    int (*fn)(void *arg, uint8_t proto,
				      const struct xlb_sockaddr *vip,
				      const struct xlb_svc *svc), void *arg)
{
	int fd = bpf_map__fd(dp->skel->maps.services);
	struct xlb_svc_key key, next;
	struct xlb_svc svc;
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &svc))
			continue;
		struct xlb_sockaddr vip = { .family = key.family, .addr = key.vip,
					    .port = ntohs(key.port_be) };

		ret = fn(arg, key.proto, &vip, &svc);
		if (ret)
			return ret;
	}
	return 0;
}

int dataplane_backend_get(struct dataplane *dp, uint32_t id, struct xlb_backend *be)
{
	return bpf_map__lookup_elem(dp->skel->maps.backends, &id, sizeof(id), be,
				    sizeof(*be), 0);
}

/* Remove what an instance left pinned, detaching its links, without loading
 * anything (xlbd --cleanup). Returns 0, or -ENOENT when nothing was there. */
int dataplane_cleanup(const char *bpffs, const char *instance)
{
	char dir[XLB_PATH_MAX + 8 + XLB_NAME_MAX], path[256];
	struct statfs sfs;

	snprintf(path, sizeof(path), "xlbd-%s.abi", instance);
	run_unlink(path);
	if (statfs(bpffs, &sfs) != 0 || sfs.f_type != BPF_FS_MAGIC)
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%s/xlb/%s", bpffs, instance);
	if (access(dir, F_OK) != 0)
		return -ENOENT;
	remove_stale_pins(dir);
	snprintf(dir, sizeof(dir), "%s/xlb", bpffs);
	rmdir(dir);
	return 0;
}

/* ---- the address filter (XLB_FILTER_*, xlb_abi.h) ------------------------
 *
 * The data plane passes a packet whose destination has no VIP bit without
 * looking at the services map, looks a flow up only in the table its
 * VIP's bits name (XLB_FILTER_VIP: dsr_flows4/6, XLB_FILTER_VIP_CT: flows),
 * and skips the nat_rev lookup when its source has no backend bit. So a
 * VIP's bit is set before its service is written and cleared only after
 * its last service of that set is deleted or moved to the other; a
 * backend's bit is set before the backend is written and never cleared
 * (reverse entries of its nat flows may outlive it; a stale bit costs one
 * lookup). */

/* The VIP set of a service: where its flows live (xlb_svc_dsr_table). */
static uint32_t vip_set(const struct xlb_svc *svc)
{
	return xlb_svc_dsr_table(svc) ? XLB_FILTER_VIP : XLB_FILTER_VIP_CT;
}

/* How many services of VIP set `set` have their VIP on bit. */
static uint16_t *vip_ref(struct dataplane *dp, uint32_t set, uint32_t bit)
{
	return &dp->vip_refs[(set == XLB_FILTER_VIP ? 0 : 1u << XLB_FILTER_BITS_LOG) + bit];
}

/* Sets (on) or clears a's bit in set; the map word is written only when it
 * changes. */
static int filter_bit(struct dataplane *dp, uint32_t set,
		      const union xlb_addr *a, bool on)
{
	uint32_t bit = xlb_filter_bit(a), w = set * XLB_FILTER_WORDS + bit / 64;
	uint64_t old = dp->filter[w], m = 1ull << (bit % 64);
	int ret;

	dp->filter[w] = on ? old | m : old & ~m;
	if (dp->filter[w] == old)
		return 0;
	ret = bpf_map__update_elem(dp->skel->maps.addr_filter, &w, sizeof(w),
				   &dp->filter[w], sizeof(dp->filter[w]), BPF_ANY);
	if (ret)
		dp->filter[w] = old;
	return ret;
}

/* After the load: backend bits as the maps hold them (an adopted map keeps
 * a previous xlbd's), VIP bits counted again from the services map. */
static int filter_load(struct dataplane *dp)
{
	int sfd = bpf_map__fd(dp->skel->maps.services);
	int ffd = bpf_map__fd(dp->skel->maps.addr_filter);
	uint64_t want[XLB_FILTER_SETS * XLB_FILTER_WORDS] = { 0 };
	struct xlb_svc_key key, next;
	struct xlb_svc svc;
	void *prev = NULL;

	dp->vip_refs = calloc(2u << XLB_FILTER_BITS_LOG, sizeof(*dp->vip_refs));
	if (!dp->vip_refs)
		return -ENOMEM;
	for (uint32_t w = 0; w < XLB_FILTER_SETS * XLB_FILTER_WORDS; w++)
		if (bpf_map_lookup_elem(ffd, &w, &dp->filter[w]))
			return -errno;
	memcpy(&want[XLB_FILTER_BACKEND * XLB_FILTER_WORDS],
	       &dp->filter[XLB_FILTER_BACKEND * XLB_FILTER_WORDS],
	       XLB_FILTER_WORDS * sizeof(*want));
	while (bpf_map_get_next_key(sfd, prev, &next) == 0) {
		uint32_t bit = xlb_filter_bit(&next.vip), set;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(sfd, &key, &svc))
			continue;
		set = vip_set(&svc);
		(*vip_ref(dp, set, bit))++;
		want[set * XLB_FILTER_WORDS + bit / 64] |= 1ull << (bit % 64);
	}
	for (uint32_t w = 0; w < XLB_FILTER_SETS * XLB_FILTER_WORDS; w++) {
		if (want[w] == dp->filter[w])
			continue;
		dp->filter[w] = want[w];
		if (bpf_map_update_elem(ffd, &w, &want[w], BPF_ANY))
			return -errno;
	}
	return 0;
}

/* ---- the next-hop cache (backend_l2, struct xlb_backend_l2) ------------- */

/* After the load: the entries as the map holds them (an adopted map keeps a
 * previous xlbd's until the state resolves its backends again). */
static int l2_load(struct dataplane *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.backend_l2);

	dp->l2 = calloc(XLB_MAX_BACKENDS, sizeof(*dp->l2));
	dp->be_left = calloc(XLB_MAX_BACKENDS, sizeof(*dp->be_left));
	dp->l2_left = calloc(XLB_MAX_BACKENDS, sizeof(*dp->l2_left));
	dp->l2_want = calloc(XLB_MAX_BACKENDS, sizeof(*dp->l2_want));
	dp->l2_pending = calloc(XLB_MAX_BACKENDS, sizeof(*dp->l2_pending));
	if (!dp->l2 || !dp->be_left || !dp->l2_left || !dp->l2_want ||
	    !dp->l2_pending)
		return -ENOMEM;
	/* Entries no packet saw valid since this xlbd began (a restart
	 * takes longer than a grace period): none waits for one. */
	dp->graces = 1;
	for (uint32_t id = 0; id < XLB_MAX_BACKENDS; id++) {
		if (bpf_map_lookup_elem(fd, &id, &dp->l2[id]))
			return -errno;
		if (dp->l2[id].family)
			dp->l2_hi = id + 1;
	}
	return 0;
}

/* Returns once no packet still runs that began before the call (an RCU
 * grace period): 0 or -errno. Counted, so that the entries that waited
 * for one know. */
static int dp_grace(struct dataplane *dp)
{
	int ret = svcidx_grace_rcu();

	if (!ret)
		dp->graces++;
	return ret;
}

static int l2_write(struct dataplane *dp, uint32_t id,
		    const struct xlb_backend_l2 *l2)
{
	int ret = bpf_map__update_elem(dp->skel->maps.backend_l2, &id, sizeof(id),
				       l2, sizeof(*l2), BPF_ANY);

	if (ret)
		return ret;
	if (dp->l2[id].valid && !l2->valid)
		dp->l2_left[id] = dp->graces;
	dp->l2[id] = *l2;
	if (l2->family && id >= dp->l2_hi)
		dp->l2_hi = id + 1;
	return 0;
}

/* Entry id's new fields l2, under an entry no packet holds valid: the
 * fields with valid clear, then valid alone. */
static int l2_fill(struct dataplane *dp, uint32_t id,
		   const struct xlb_backend_l2 *l2)
{
	struct xlb_backend_l2 n = *l2;
	int ret;

	n.valid = 0;
	ret = l2_write(dp, id, &n);
	if (!ret && l2->valid)
		ret = l2_write(dp, id, l2);
	return ret;
}

/* A map update copies the value in place, and a packet on another CPU
 * that found the entry valid reads its MACs, interface and MTU after (the
 * branch on valid comes first, bpf/fwd.h): so those change only while the
 * entry is invalid and no packet still holds its valid view (a grace
 * period after it turned invalid: dataplane_l2_commit waits for one for
 * all the entries changed since), and valid turns on or off alone, a
 * one-byte change. In between, packets to the backend take the route
 * lookup of their own. An invalid entry keeps its last fields. */
int dataplane_backend_l2_put(struct dataplane *dp, uint32_t id,
			     const struct xlb_backend_l2 *l2)
{
	struct xlb_backend_l2 n;
	int ret;

	if (id >= XLB_MAX_BACKENDS)
		return -EINVAL;
	dp->l2_pending[id] = 0;
	n = dp->l2[id];
	if (!l2) {
		n.valid = 0;
		l2 = &n;
	}
	if (!memcmp(&dp->l2[id], l2, sizeof(*l2)))
		return 0;
	n.valid = l2->valid;
	if (!memcmp(&n, l2, sizeof(n)))
		return l2_write(dp, id, l2);
	if (dp->l2[id].valid) {
		n.valid = 0;
		ret = l2_write(dp, id, &n);
		if (ret)
			return ret;
	}
	if (dp->l2_left[id] == dp->graces) {
		dp->l2_want[id] = *l2;
		dp->l2_pending[id] = 1;
		dp->l2_any_pending = true;
		return 0;
	}
	return l2_fill(dp, id, l2);
}

int dataplane_l2_commit(struct dataplane *dp)
{
	int ret;

	if (!dp->l2_any_pending)
		return 0;
	ret = dp_grace(dp);
	if (ret)
		return ret;
	dp->l2_any_pending = false;
	for (uint32_t id = 0; id < XLB_MAX_BACKENDS; id++) {
		int r;

		if (!dp->l2_pending[id])
			continue;
		dp->l2_pending[id] = 0;
		r = l2_fill(dp, id, &dp->l2_want[id]);
		if (r)
			ret = r;
	}
	return ret;
}

/* Entry id as it will be: its pending fields, else the map's. */
static const struct xlb_backend_l2 *l2_next(const struct dataplane *dp, uint32_t id)
{
	return dp->l2_pending[id] ? &dp->l2_want[id] : &dp->l2[id];
}

/* Every cached next hop turns invalid (the data plane falls back to
 * bpf_fib_lookup); the next resolution makes them valid again. */
static void l2_invalidate_all(struct dataplane *dp)
{
	dp->l2_any_pending = false;
	memset(dp->l2_pending, 0, XLB_MAX_BACKENDS * sizeof(*dp->l2_pending));
	for (uint32_t id = 0; id < dp->l2_hi; id++) {
		struct xlb_backend_l2 n = dp->l2[id];

		if (!n.valid)
			continue;
		n.valid = 0;
		dataplane_backend_l2_put(dp, id, &n);
	}
}

void dataplane_neigh_changed(struct dataplane *dp, int ifindex,
			     const struct xlb_sockaddr *nexthop, const uint8_t *mac)
{
	for (uint32_t id = 0; id < dp->l2_hi; id++) {
		struct xlb_backend_l2 n = *l2_next(dp, id);

		if (n.ifindex != (uint32_t)ifindex || n.family != nexthop->family ||
		    memcmp(&n.nexthop, &nexthop->addr, sizeof(n.nexthop)))
			continue;
		n.valid = mac != NULL;
		if (mac)
			memcpy(n.dmac, mac, sizeof(n.dmac));
		if (dataplane_backend_l2_put(dp, id, &n))
			log_warn("cannot update the next hop of backend id %u", id);
	}
	if (dataplane_l2_commit(dp))
		log_warn("cannot rewrite the next hops of a changed neighbour: "
			 "the data plane looks their routes up until the next refresh");
}

int dataplane_neigh_misses(struct dataplane *dp, struct xlb_neigh_miss *out,
			   size_t max)
{
	int fd = bpf_map__fd(dp->skel->maps.neigh_miss);
	size_t n = 0;

	/* Deleting as it goes: the data plane records a next hop again once
	 * it is out, so none that is still missing gets lost. */
	while (n < max && bpf_map_get_next_key(fd, NULL, &out[n]) == 0) {
		if (bpf_map_delete_elem(fd, &out[n]) && errno != ENOENT)
			return n ? (int)n : -errno;
		n++;
	}
	return (int)n;
}

/* Tells the data plane the MAC of attached interface a, so that it leaves
 * unicast frames for other hosts alone (bpf/filter.h). Without it (no MAC:
 * not Ethernet) every frame is looked at, as before. At attach failures are
 * logged; a refresh writes only a MAC that changed, and stays quiet. */
static void if_mac_put(struct dataplane *dp, struct attachment *a,
		       bool refresh)
{
	struct xlb_if_mac m = { .valid = 1 };
	uint32_t k = (uint32_t)a->ifindex, mtu;
	int ret = nl_link_l2(a->ifindex, m.mac, &mtu);
	struct bpf_map *map = k < XLB_IF_MAC_DIRECT ? dp->skel->maps.if_mac_direct :
						      dp->skel->maps.if_macs;

	if (ret) {
		if (!refresh)
			log_warn("cannot read the MAC of %s: %s (frames for other "
				 "hosts are not told apart there)", a->ifname,
				 strerror(-ret));
		return;
	}
	if (refresh && !memcmp(m.mac, a->mac, sizeof(a->mac)))
		return;
	if (bpf_map_update_elem(bpf_map__fd(map), &k, &m, 0)) {
		log_warn("cannot write the MAC of %s to the data plane: %s",
			 a->ifname, strerror(errno));
		return;
	}
	if (refresh)
		log_info("the MAC of %s changed: the data plane now takes frames "
			 "to %02x:%02x:%02x:%02x:%02x:%02x", a->ifname, m.mac[0],
			 m.mac[1], m.mac[2], m.mac[3], m.mac[4], m.mac[5]);
	memcpy(a->mac, m.mac, sizeof(a->mac));
}

void dataplane_if_macs_refresh(struct dataplane *dp)
{
	for (size_t i = 0; i < dp->n_attached; i++)
		if_mac_put(dp, &dp->attached[i], true);
}

/* ---- dataplane_open: load, map, attach ---------------------------------- */

/* The dr/tun flow table of IPv4 (dsr_flows4) or IPv6 flows, and the
 * 5-tuples beside it. */
static struct bpf_map *dsr_map(struct dataplane *dp, bool v6)
{
	return v6 ? dp->skel->maps.dsr_flows6 : dp->skel->maps.dsr_flows4;
}

static struct bpf_map *dsr_keys_map(struct dataplane *dp, bool v6)
{
	return v6 ? dp->skel->maps.dsr_keys6 : dp->skel->maps.dsr_keys4;
}

/* The kernel's HZ for the flood guard's window (bpf/select.h, xlb_hz);
 * without it the window runs on the ns clock, said once in the log. */
static void learn_hz(struct dataplane *dp)
{
	char err[256];

	if (hz_learn(&dp->hz, err, sizeof(err))) {
		dp->hz = 0;
		log_warn("cannot learn the kernel's HZ (%s): the flood guard times "
			 "its one-second window on the ns clock instead (same rate, "
			 "a helper call more per new flow)", err);
		return;
	}
	log_info("the kernel's HZ is %u: the flood guard times its window in "
		 "jiffies", dp->hz);
}

/* Open the object and size its flow tables as cfg says. */
static int dp_open_sized(struct dataplane *dp, const struct xlb_config *cfg,
			 char *err, size_t errlen)
{
	int ret;

	dp->skel = xlb_bpf__open();
	if (!dp->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the XDP object: %s", strerror(-ret));
		return ret;
	}
	dp->skel->rodata->xlb_hz = dp->hz;
	ret = bpf_map__set_max_entries(dp->skel->maps.flows, cfg->flow_table_size);
	/* One reverse entry per nat/fullnat flow at most. */
	if (!ret)
		ret = bpf_map__set_max_entries(dp->skel->maps.nat_rev,
					       cfg->flow_table_size);
	/* Each family's dr/tun table holds dsr_flow_table_size flows, in
	 * buckets of XLB_DSR_WAYS (include/xlb_dsrtab.h). */
	for (int v6 = 0; v6 < 2 && !ret; v6++) {
		uint32_t n = xlb_dsr_buckets(cfg->dsr_flow_table_size);

		ret = bpf_map__set_max_entries(dsr_map(dp, v6), n);
		if (!ret)
			ret = bpf_map__set_max_entries(dsr_keys_map(dp, v6), n);
	}
	/* Persistence pins are per client, not per flow: a quarter of the
	 * larger flow table (clients open several flows each). */
	if (!ret)
		ret = bpf_map__set_max_entries(dp->skel->maps.persist,
			(cfg->flow_table_size > cfg->dsr_flow_table_size ?
			 cfg->flow_table_size : cfg->dsr_flow_table_size) / 4);
	if (!ret)
		ret = bpf_map__set_max_entries(dp->skel->maps.embryos,
					       XLB_EMBRYO_SLOTS(cfg->flow_table_size));
	if (ret)
		snprintf(err, errlen, "cannot size the flow tables to %u and %u: %s",
			 cfg->flow_table_size, cfg->dsr_flow_table_size, strerror(-ret));
	return ret;
}

/* Open the object with the sizes of cfg and load it with its maps pinned
 * in pin_dir: the pinned ones of a previous xlbd when they fit (adopted),
 * fresh ones otherwise. */
static int dp_load(struct dataplane *dp, const struct xlb_config *cfg,
		   char *err, size_t errlen)
{
	int ret;

reopen:
	ret = dp_open_sized(dp, cfg, err, errlen);
	if (ret)
		return ret;
	if (!dp->adopted && !dp->upgrade) {
		remove_stale_pins(dp->pin_dir);
		ret = private_dir(dp->pin_dir, err, errlen);
		if (ret)
			return ret;
	}
	/* Every map lives at pin_dir/<name>: libbpf reuses a pinned map that
	 * is compatible (type, sizes, flags) and pins the ones it creates. An
	 * upgrade loads fresh maps, pinned only once its links run this
	 * program (dp_pin_upgraded): the old one forwards until then. */
	ret = dp->upgrade ? 0 : set_pin_paths(dp);
	if (ret) {
		snprintf(err, errlen, "cannot set pin paths: %s", strerror(-ret));
		return ret;
	}
	if (dp->adopted)
		unpin_resized_groups(dp);
	ret = xlb_bpf__load(dp->skel);
	if (ret && dp->adopted) {
		log_warn("the maps pinned in %s do not fit this xlbd (%s): starting "
			 "with fresh maps, existing flows are lost", dp->pin_dir,
			 strerror(-ret));
		xlb_bpf__destroy(dp->skel);
		dp->skel = NULL;
		dp->adopted = false;
		dp->n_fresh = 0;
		dp->upgrade = has_links(dp->pin_dir);
		goto reopen;
	}
	if (ret) {
		snprintf(err, errlen, "cannot load the XDP program: %s "
			 "(is bpffs mounted and are you root?)", strerror(-ret));
		return ret;
	}
	if (dp->upgrade)
		return 0;
	dp->pinned = true;
	write_abi_file(dp);
	if (dp->adopted)
		log_info("adopted the maps pinned in %s: flows and counters kept%s",
			 dp->pin_dir, dp->n_fresh ? " (but in the resized tables)" : "");
	return 0;
}

/* An upgrade whose links now run this program: the old maps' pins give
 * way to this program's (flows of the old layout are lost; forwarding
 * never stopped). */
static int dp_pin_upgraded(struct dataplane *dp, char *err, size_t errlen)
{
	char path[sizeof(dp->pin_dir) + 260];
	struct dirent *de;
	DIR *d;
	int ret;

	d = opendir(dp->pin_dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !strncmp(de->d_name, "link_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	ret = set_pin_paths(dp);
	if (!ret)
		ret = bpf_object__pin_maps(dp->skel->obj, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot pin the new maps in %s: %s", dp->pin_dir,
			 strerror(-ret));
		return ret;
	}
	dp->pinned = true;
	write_abi_file(dp);
	log_info("upgraded in place: the XDP links in %s run the new program "
		 "with fresh maps; forwarding never stopped", dp->pin_dir);
	return 0;
}

/* The mmapable map m (len bytes) mapped shared into *out (NULL on error). */
static int map_shared(struct bpf_map *m, size_t len, void **out, char *err,
		      size_t errlen)
{
	*out = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (*out != MAP_FAILED)
		return 0;
	*out = NULL;
	snprintf(err, errlen, "cannot map the %s map: %s", bpf_map__name(m),
		 strerror(errno));
	return -errno;
}

/* The dr/tun tables' parameters: kept as an adopted table was made (its
 * flows sit where its key and size put them), else a random key and the
 * tables' sizes in buckets. Only a table of this layout is adopted (the
 * ABI hash, adoptable): one whose buckets came from another index (the
 * hash's low bits under a mask, before 2026-12-03) is an upgrade into
 * fresh tables, never read with this one's. */
static int dsr_params_init(struct dataplane *dp, char *err, size_t errlen)
{
	struct xlb_dsr_params k;
	uint32_t zero = 0;
	int ret;

	ret = bpf_map__lookup_elem(dp->skel->maps.dsr_params, &zero, sizeof(zero),
				   &k, sizeof(k), 0);
	if (!ret && (k.k0 || k.k1) && k.buckets4 == dp->dsr_buckets[0] &&
	    k.buckets6 == dp->dsr_buckets[1])
		return 0;
	memset(&k, 0, sizeof(k));
	while (!ret && !k.k0 && !k.k1) {
		uint64_t r[2];

		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			ret = -errno;
		k.k0 = r[0];
		k.k1 = r[1];
	}
	k.buckets4 = dp->dsr_buckets[0];
	k.buckets6 = dp->dsr_buckets[1];
	if (!ret)
		ret = bpf_map__update_elem(dp->skel->maps.dsr_params, &zero,
					   sizeof(zero), &k, sizeof(k), BPF_ANY);
	if (ret)
		snprintf(err, errlen, "cannot set up the dr/tun flow tables: %s",
			 strerror(-ret));
	return ret;
}

/* The service index after a change of the services map (svc_index_put)
 * or before one (svc_index_del). A failure turns the index off, the data
 * plane asks the services map instead (slower, still right): logged, not
 * the change's error. */
static void svc_index_put(struct dataplane *dp, const struct xlb_svc_key *key,
			  const struct xlb_svc *svc)
{
	int ret = svcidx_put(dp->svcidx, key, svc);

	if (ret)
		log_warn("the service index is off (%s): new flows find their "
			 "service in the services map", strerror(-ret));
}

static void svc_index_del(struct dataplane *dp, const struct xlb_svc_key *key)
{
	int ret = svcidx_del(dp->svcidx, key);

	if (ret)
		log_warn("the service index is off (%s): new flows find their "
			 "service in the services map", strerror(-ret));
}

/* The services' slot of id: key k and service v (k NULL: none). A failure
 * turns the slots off, packets of existing flows find their service by
 * key instead (slower, still right): logged, not the change's error. */
static void svc_slot_set(struct dataplane *dp, uint32_t id,
			 const struct xlb_svc_key *k, const struct xlb_svc *v)
{
	int ret = svcslots_set(dp->slots, id, k, v);

	if (ret)
		log_warn("the services' slots by id are off (%s): existing flows "
			 "find their service by key", strerror(-ret));
}

/* The service index and the services' slots by id, mapped, filled from
 * the services map (an adopted one holds a previous xlbd's services)
 * before the program runs. */
static int svc_index_load(struct dataplane *dp, char *err, size_t errlen)
{
	int fd = bpf_map__fd(dp->skel->maps.services), ret;
	struct xlb_svc_key key, next;
	struct xlb_svc svc;
	void *prev = NULL;

	ret = map_shared(dp->skel->maps.svc_idx, XLB_SVC_IDX_BUCKETS *
			 sizeof(*dp->svc_idx), (void **)&dp->svc_idx, err, errlen);
	if (!ret)
		ret = map_shared(dp->skel->maps.svc_recs, XLB_SVC_IDX_RECS *
				 sizeof(*dp->svc_recs), (void **)&dp->svc_recs,
				 err, errlen);
	if (!ret)
		ret = map_shared(dp->skel->maps.svc_slots, XLB_MAX_SERVICES *
				 sizeof(*dp->svc_slots), (void **)&dp->svc_slots,
				 err, errlen);
	if (ret)
		return ret;
	ret = svcidx_open(&dp->svcidx, dp->svc_idx, dp->svc_recs, NULL);
	if (!ret)
		ret = svcslots_open(&dp->slots, dp->svc_slots, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot set up the service index: %s",
			 strerror(-ret));
		return ret;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &svc) == 0) {
			svc_index_put(dp, &key, &svc);
			svc_slot_set(dp, svc.id, &key, &svc);
		}
	}
	return 0;
}

/* The settings packets read (dp->cfg_want) published in the settings'
 * slots. A failed wait leaves them written in place: logged, not the
 * change's error (the pinned maps hold them too). */
static void cfg_publish(struct dataplane *dp)
{
	int ret = cfgslots_set(dp->cfg, &dp->cfg_want);

	if (ret)
		log_warn("cannot wait for a grace period (%s): the settings were "
			 "written where packets read them", strerror(-ret));
}

/* The settings' slots, mapped, filled from the globals and lips maps (an
 * adopted pair holds a previous xlbd's settings) before the program runs. */
static int cfg_load(struct dataplane *dp, char *err, size_t errlen)
{
	int gfd = bpf_map__fd(dp->skel->maps.globals);
	int lfd = bpf_map__fd(dp->skel->maps.lips), ret;
	uint32_t zero = 0;

	ret = map_shared(dp->skel->maps.data_cfg_slots, 2 * sizeof(*dp->cfg_slots),
			 (void **)&dp->cfg_slots, err, errlen);
	if (!ret)
		ret = map_shared(dp->skel->maps.cfg_lips, 2 * XLB_CFG_LIPS *
				 sizeof(*dp->cfg_lips), (void **)&dp->cfg_lips,
				 err, errlen);
	if (ret)
		return ret;
	ret = cfgslots_open(&dp->cfg, dp->cfg_slots, dp->cfg_lips, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot set up the settings' slots: %s",
			 strerror(-ret));
		return ret;
	}
	if (bpf_map_lookup_elem(gfd, &zero, &dp->cfg_want.g))
		goto fail;
	for (uint32_t i = 0; i < XLB_CFG_LIPS; i++)
		if (bpf_map_lookup_elem(lfd, &i, &dp->cfg_want.lips[i]))
			goto fail;
	cfg_publish(dp);
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot read the globals or lips map: %s",
		 strerror(-ret));
	return ret;
}

/* Service id's lc/wlc list sb published in its slots. A failed wait
 * leaves it written in place: logged, not the change's error (the pinned
 * map holds it too). */
static void lc_publish(struct dataplane *dp, uint32_t id,
		       const struct xlb_svc_backends *sb)
{
	int ret = lcslots_set(dp->lc, id, sb);

	if (ret)
		log_warn("cannot publish the lc/wlc list of service %u (%s): it "
			 "was written where packets read it", id, strerror(-ret));
}

/* The lc/wlc lists' slots, mapped, filled from the svc_backends map (an
 * adopted one holds a previous xlbd's lists) before the program runs. */
static int lc_load(struct dataplane *dp, char *err, size_t errlen)
{
	int fd = bpf_map__fd(dp->skel->maps.svc_backends), ret;
	struct xlb_svc_backends sb;

	ret = map_shared(dp->skel->maps.lc_slots, 2 * XLB_MAX_SERVICES *
			 sizeof(*dp->lc_slots), (void **)&dp->lc_slots, err,
			 errlen);
	if (ret)
		return ret;
	ret = lcslots_open(&dp->lc, dp->lc_slots, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot set up the lc/wlc lists' slots: %s",
			 strerror(-ret));
		return ret;
	}
	for (uint32_t id = 0; id < XLB_MAX_SERVICES; id++) {
		if (bpf_map_lookup_elem(fd, &id, &sb)) {
			ret = -errno;
			snprintf(err, errlen, "cannot read the svc_backends map: %s",
				 strerror(-ret));
			return ret;
		}
		lc_publish(dp, id, &sb);
	}
	return 0;
}

/* What userspace keeps beside the maps: the address filter and next hops
 * as written, backend_conns and svc_flows mapped (the sweeper updates
 * them). */
static int dp_map(struct dataplane *dp, char *err, size_t errlen)
{
	int ret;

	ret = filter_load(dp);
	if (!ret)
		ret = l2_load(dp);
	if (ret) {
		snprintf(err, errlen, "cannot read the address filter or the "
			 "next-hop cache: %s", strerror(-ret));
		return ret;
	}
	dp->conns_len = XLB_MAX_BACKENDS * sizeof(struct xlb_conns);
	ret = map_shared(dp->skel->maps.backend_conns, dp->conns_len,
			 (void **)&dp->conns, err, errlen);
	if (!ret)
		ret = map_shared(dp->skel->maps.svc_flows,
				 XLB_MAX_SERVICES * sizeof(*dp->svc_flows),
				 (void **)&dp->svc_flows, err, errlen);
	for (int v6 = 0; v6 < 2 && !ret; v6++) {
		uint32_t n = bpf_map__max_entries(dsr_map(dp, v6));

		dp->dsr_buckets[v6] = n;
		ret = map_shared(dsr_map(dp, v6), (size_t)n * sizeof(*dp->dsr[v6]),
				 (void **)&dp->dsr[v6], err, errlen);
		if (!ret)
			ret = map_shared(dsr_keys_map(dp, v6), (size_t)n *
					 bpf_map__value_size(dsr_keys_map(dp, v6)),
					 &dp->dsr_keys[v6], err, errlen);
	}
	if (!ret)
		ret = dsr_params_init(dp, err, errlen);
	if (!ret)
		ret = svc_index_load(dp, err, errlen);
	if (!ret)
		ret = cfg_load(dp, err, errlen);
	if (!ret)
		ret = lc_load(dp, err, errlen);
	return ret;
}

/* The program on ifname: the pinned link of a previous xlbd taken over,
 * or a new link, pinned. */
static int dp_attach_one(struct dataplane *dp, const char *ifname,
			 char *err, size_t errlen)
{
	int ifindex = if_nametoindex(ifname), ret;
	struct attachment *a;
	struct bpf_link *link;

	if (!ifindex) {
		snprintf(err, errlen, "cannot attach XDP to '%s': no such interface",
			 ifname);
		return -ENODEV;
	}
	/* Before the program runs there (a new one, or the old one's maps). */
	a = &dp->attached[dp->n_attached];
	snprintf(a->ifname, IF_NAMESIZE, "%s", ifname);
	a->ifindex = ifindex;
	if_mac_put(dp, a, false);
	link = take_over_link(dp, ifname);
	if (!link) {
		link = bpf_program__attach_xdp(dp->skel->progs.xlb_xdp, ifindex);
		if (!link) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach XDP to '%s': %s%s",
				 ifname, strerror(-ret), ret == -EBUSY ?
				 " (another XDP program is attached; detach it "
				 "first, or `xlbd --cleanup` a previous instance)" : "");
			return ret;
		}
		pin_link(dp, link, ifname);
		log_info("attached XDP program to %s", ifname);
	}
	a->link = link;
	dp->n_attached++;
	return 0;
}

static int dp_attach(struct dataplane *dp, const struct xlb_config *cfg,
		     char *err, size_t errlen)
{
	int ret;

	drop_foreign_links(dp, cfg);
	dp->attached = calloc(cfg->n_interfaces + 1, sizeof(*dp->attached));
	if (!dp->attached) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_interfaces; i++) {
		ret = dp_attach_one(dp, cfg->interfaces[i], err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int dataplane_open(struct dataplane **dpp, const struct xlb_config *cfg,
		   const char *instance, char *err, size_t errlen)
{
	struct dataplane *dp;
	int ret;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		ret = dp->ncpus ? dp->ncpus : -EINVAL;
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-ret));
		goto fail;
	}
	snprintf(dp->pin_root, sizeof(dp->pin_root), "%s/xlb", cfg->bpffs);
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s/%s", dp->pin_root, instance);
	snprintf(dp->abi_name, sizeof(dp->abi_name), "xlbd-%s.abi", instance);
	ret = ensure_bpffs(cfg->bpffs, err, errlen);
	if (ret)
		goto fail;
	ret = private_dir(dp->pin_root, err, errlen);
	if (ret)
		goto fail;
	learn_hz(dp);
	dp->adopted = adoptable(dp);
	dp->upgrade = !dp->adopted && has_links(dp->pin_dir);
	if (dp->adopted || dp->upgrade) {
		ret = private_dir(dp->pin_dir, err, errlen);
		if (ret)
			goto fail;
	}
	ret = dp_load(dp, cfg, err, errlen);
	if (!ret)
		ret = dp_map(dp, err, errlen);
	if (ret)
		goto fail;
	*dpp = dp;
	return 0;
fail:
	/* What a previous xlbd left running keeps running. */
	if (dataplane_inherited(dp))
		dataplane_release(dp);
	else
		dataplane_close(dp);
	return ret;
}

int dataplane_attach(struct dataplane *dp, const struct xlb_config *cfg,
		     char *err, size_t errlen)
{
	int ret = dp_attach(dp, cfg, err, errlen);

	if (!ret && dp->upgrade)
		ret = dp_pin_upgraded(dp, err, errlen);
	if (!ret && dp->n_fresh)
		ret = dp_pin_fresh(dp, err, errlen);
	return ret;
}

void dataplane_close(struct dataplane *dp)
{
	if (!dp)
		return;
	for (size_t i = 0; i < dp->n_staged; i++)
		if (dp->staged[i].fd >= 0)
			close(dp->staged[i].fd);
	free(dp->staged);
	for (size_t i = 0; i < dp->n_attached; i++) {
		/* A pinned link lives on until its pin is gone too. */
		bpf_link__unpin(dp->attached[i].link);
		bpf_link__destroy(dp->attached[i].link);
		log_info("detached XDP program from %s", dp->attached[i].ifname);
	}
	dp->n_attached = 0;
	free(dp->attached);
	dp->attached = NULL;
	if (dp->pinned) {
		bpf_object__unpin_maps(dp->skel->obj, NULL);
		if (rmdir(dp->pin_dir) && errno != ENOENT)
			remove_stale_pins(dp->pin_dir);  /* something else left in it */
		rmdir(dp->pin_root);    /* only succeeds when no other instance is left */
		run_unlink(dp->abi_name);
	}
	dp_free(dp);
}

static int syn_key_zero(const uint32_t *k)
{
	return !(k[0] | k[1] | k[2] | k[3]);
}

int dataplane_set_globals(struct dataplane *dp, const struct xlb_globals *g)
{
	struct xlb_globals cur, w = *g;
	uint32_t zero = 0;
	int ret;

	/* The SYN proxy's key is the data plane's own: made once, kept
	 * across applies and restarts (maps adopted), so the cookies already
	 * handed out stay good. */
	if (syn_key_zero(w.syn_key)) {
		if (bpf_map__lookup_elem(dp->skel->maps.globals, &zero, sizeof(zero),
					 &cur, sizeof(cur), 0) == 0)
			memcpy(w.syn_key, cur.syn_key, sizeof(w.syn_key));
		while (syn_key_zero(w.syn_key))
			if (getrandom(w.syn_key, sizeof(w.syn_key), 0) !=
			    sizeof(w.syn_key))
				return -errno;
	}
	/* Written for an xlbd that reads it after a restart; this one's
	 * packets read the slots. */
	ret = bpf_map__update_elem(dp->skel->maps.globals, &zero, sizeof(zero),
				   &w, sizeof(w), BPF_ANY);
	if (ret)
		return ret;
	dp->cfg_want.g = w;
	cfg_publish(dp);
	return 0;
}

/* Empties id's slot and svc_by_id[id] if they still hold key (the id may
 * serve another service by now). */
static void svc_by_id_clear(struct dataplane *dp, uint32_t id,
			    const struct xlb_svc_key *key)
{
	const struct xlb_svc_ent *cur = svcslots_get(dp->slots, id);
	struct xlb_svc_ent e;

	if (cur && !memcmp(&cur->key, key, sizeof(*key)))
		svc_slot_set(dp, id, NULL, NULL);
	if (id >= XLB_MAX_SERVICES ||
	    bpf_map__lookup_elem(dp->skel->maps.svc_by_id, &id, sizeof(id),
				 &e, sizeof(e), 0) ||
	    memcmp(&e.key, key, sizeof(*key)))
		return;
	memset(&e, 0, sizeof(e));
	bpf_map__update_elem(dp->skel->maps.svc_by_id, &id, sizeof(id), &e,
			     sizeof(e), BPF_ANY);
}

/* ---- dr/tun flows between the two tables ---------------------------------- */

/* The dr/tun tables' parameters (dsr_params) in *k: 0 or -errno. */
static int dsr_params_get(struct dataplane *dp, struct xlb_dsr_params *k)
{
	uint32_t zero = 0;

	return bpf_map__lookup_elem(dp->skel->maps.dsr_params, &zero, sizeof(zero),
				    k, sizeof(*k), 0);
}

/* The 5-tuple beside slot i of bucket b of family v6's table. */
static struct xlb_flow_key dsr_key_at(struct dataplane *dp, bool v6, uint32_t b,
				      int i)
{
	struct xlb_flow_key k;

	if (!v6)
		return xlb_flow_key_of4(&((struct xlb_dsr_keys4 *)dp->dsr_keys[0])[b].k[i]);
	memcpy(&k, &((struct xlb_dsr_keys6 *)dp->dsr_keys[1])[b].k[i], sizeof(k));
	return k;
}

/* One more flow of service svc in u (if given and u asks for svc). */
static void unlisted_count(struct dataplane_unlisted *u, uint32_t svc)
{
	if (u && (u->svc_id < 0 || u->svc_id == svc))
		u->n++;
}

typedef int (*dsr_flow_fn)(void *arg, const struct xlb_flow_key *k,
			   const struct xlb_dsr_flow *d);

/* Calls fn for each flow of the dr/tun tables (read as the data plane
 * writes them, without a lock). Left out: a slot still marked by its
 * store (include/xlb_dsrkey.h: a flow seen by its first packet only,
 * whose 5-tuple beside it is not written yet, or is an earlier flow's),
 * counted in *unlisted if given, and a slot whose 5-tuple does not hash
 * to its bucket and tag (being replaced). Stops at fn's first non-zero
 * return, which it returns. */
static int dsr_each(struct dataplane *dp, dsr_flow_fn fn, void *arg,
		    struct dataplane_unlisted *unlisted)
{
	struct xlb_dsr_params p;
	int ret = dsr_params_get(dp, &p);

	for (int v6 = 0; v6 < 2 && !ret; v6++) {
		uint32_t n = v6 ? p.buckets6 : p.buckets4;

		for (uint32_t b = 0; b < dp->dsr_buckets[v6] && !ret; b++) {
			struct xlb_dsr_bucket *bk = &dp->dsr[v6][b];

			for (int i = 0; i < XLB_DSR_WAYS && !ret; i++) {
				uint64_t id = __atomic_load_n(&bk->id[i],
							      __ATOMIC_ACQUIRE), h;
				struct xlb_dsr_flow d;
				struct xlb_flow_key k;

				if (!id)
					continue;
				if (!xlb_dsr_id_keyed(id)) {
					unlisted_count(unlisted, xlb_dsr_id_svc(id));
					continue;
				}
				k = dsr_key_at(dp, v6, b, i);
				h = xlb_dsr_hash_key(&p, &k);
				if (xlb_dsr_index(h, n) != b ||
				    xlb_dsr_tag(h) != xlb_dsr_id_tag(id))
					continue;
				d.backend_id = xlb_dsr_id_backend(id);
				d.svc_id = xlb_dsr_id_svc(id);
				ret = fn(arg, &k, &d);
			}
		}
	}
	return ret;
}

/* Places flow d of key k in its bucket as the data plane places a new
 * flow and its next packet writes the 5-tuple (xlb_dsr_store,
 * xlb_dsr_key_fill), unless a flow of its tag is there already: the id
 * marked, the 5-tuple, then the mark cleared, so that no reader finds the
 * slot unmarked beside another flow's 5-tuple. Returns whether it wrote
 * the flow. */
static bool dsr_put(struct dataplane *dp, const struct xlb_flow_key *k,
		    const struct xlb_dsr_flow *d)
{
	bool v6 = k->family == XLB_AF_INET6;
	struct xlb_dsr_params p;
	struct xlb_dsr_bucket *b;
	uint32_t tag, bi, v, now;
	uint64_t h, old, id;

	if (dsr_params_get(dp, &p))
		return false;
	h = xlb_dsr_hash_key(&p, k);
	bi = xlb_dsr_index(h, v6 ? p.buckets6 : p.buckets4);
	if (bi >= dp->dsr_buckets[v6])
		return false;
	b = &dp->dsr[v6][bi];
	tag = xlb_dsr_tag(h);
	if (xlb_dsr_find(b, tag) >= 0)
		return false;
	/* Seen now (the data plane's epoch is its last new flow's, maybe long
	 * ago: 15 bits of age go round in ~37 min): a flow copied here is a
	 * live connection. The same clock as the data plane's. */
	now = (uint32_t)(conntrack_now_ns() >> XLB_DSR_EPOCH_SHIFT);
	v = xlb_dsr_victim(b, tag, now);
	old = __atomic_load_n(&b->id[v], __ATOMIC_ACQUIRE);
	id = xlb_dsr_id(tag, d->svc_id, d->backend_id, now) | XLB_DSR_ID_UNKEYED;
	if (!__atomic_compare_exchange_n(&b->id[v], &old, id, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		return false;
	/* The 5-tuple only where the compare-and-swap won, as the data
	 * plane does: a lost race must not write over the winner's. The
	 * mark goes only from the flow written here, whatever age a packet
	 * of it stamped meanwhile (a packet may also have written the same
	 * 5-tuple and cleared the mark already, a new flow may have taken
	 * the slot). */
	if (v6)
		memcpy(&((struct xlb_dsr_keys6 *)dp->dsr_keys[1])[bi].k[v], k, sizeof(*k));
	else
		((struct xlb_dsr_keys4 *)dp->dsr_keys[0])[bi].k[v] = xlb_flow_key4_of(k);
	old = __atomic_load_n(&b->id[v], __ATOMIC_ACQUIRE);
	while (xlb_dsr_id_same(old, id) &&
	       !__atomic_compare_exchange_n(&b->id[v], &old,
					    old & ~XLB_DSR_ID_UNKEYED, false,
					    __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		;
	return true;
}

/* Entry v (struct xlb_flow in flows, else struct xlb_dsr_flow) of service
 * svc, written into the other table as the data plane would have made it:
 * a compact entry (in its family's dr/tun table), or a flows entry
 * without a state (kept, not counted: XLB_CT_NONE). A flow already there
 * is left as it is. Returns whether it wrote an entry. */
static bool flow_copy_one(struct dataplane *dp, bool from_flows,
			  const struct xlb_flow_key *k, const void *v,
			  const struct xlb_svc *svc)
{
	const struct xlb_flow *f = v;
	const struct xlb_dsr_flow *d = v;
	struct xlb_dsr_flow nd = { 0 };
	struct xlb_flow nf = { 0 };

	if (from_flows) {
		if (f->svc_id != svc->id || f->backend_id >= XLB_MAX_BACKENDS)
			return false;
		nd.backend_id = (__u16)f->backend_id;
		nd.svc_id = (__u16)f->svc_id;
		return dsr_put(dp, k, &nd);
	}
	if (d->svc_id != svc->id)
		return false;
	nf.backend_id = d->backend_id;
	nf.svc_id = d->svc_id;
	nf.mode = svc->mode;
	nf.last_seen_ns = conntrack_now_ns();
	/* Tagged as the data plane tags its dr/tun entries: a packet whose
	 * element is taken by another flow on another CPU tells (xlb_ct_copy). */
	xlb_dsr_ct_tag_put(k, &nf);
	return bpf_map__update_elem(dp->skel->maps.flows, k, sizeof(*k), &nf,
				    sizeof(nf), BPF_NOEXIST) == 0;
}

/* flows_copy's progress: what it copies, how many it may, did, and left. */
struct flows_copy_arg {
	struct dataplane *dp;
	const struct xlb_svc *svc;
	uint64_t room, copied, left;
};

/* flows_copy of one dr/tun flow into the connection table. */
static int flows_copy_dsr(void *arg, const struct xlb_flow_key *k,
			  const struct xlb_dsr_flow *d)
{
	struct flows_copy_arg *a = arg;

	if (a->copied >= a->room)
		a->left += d->svc_id == a->svc->id;
	else
		a->copied += flow_copy_one(a->dp, false, k, d, a->svc);
	return 0;
}

/* A dr/tun service whose scheduler enters or leaves lc/wlc moves between
 * the flow tables (xlb_svc_dsr_table): before the change, its entries are
 * copied into the table its packets will look in (svc: the service as it
 * will be), so its connections stay on their backends. The old entries
 * stay behind for new flows to replace (dsr_flows4/6) or the sweeper
 * (flows, by their timeouts) to remove. A flow that starts between the
 * copy and the change is scheduled afresh by its next packet. Into the
 * connection table, at most the service's share (max_flows, set before):
 * the copies must not push other services' entries out of it; flows past
 * that keep their backends by their dr/tun entries (XLB_SVC_F_DSR_LEFT,
 * xlb_abi.h), and the log says how many. */
static void flows_copy(struct dataplane *dp, const struct xlb_svc *svc)
{
	enum { CHUNK = 4096 };
	bool from_flows = xlb_svc_dsr_table(svc);
	struct flows_copy_arg a = { .dp = dp, .svc = svc, .room = UINT64_MAX };
	struct bpf_map *flows = dp->skel->maps.flows;
	struct xlb_flow_key *keys = calloc(CHUNK, sizeof(*keys));
	struct xlb_flow *vals = calloc(CHUNK, sizeof(*vals));
	bool started = false;
	__u32 cursor = 0, n;
	int ret = 0;

	if (!from_flows && dp->svc_flows && svc->id < XLB_MAX_SERVICES &&
	    dp->svc_flows[svc->id].max)
		a.room = dp->svc_flows[svc->id].max;
	if (!from_flows)
		ret = dsr_each(dp, flows_copy_dsr, &a, NULL);
	while (from_flows && keys && vals && ret == 0) {
		n = CHUNK;
		ret = bpf_map_lookup_batch(bpf_map__fd(flows), started ? &cursor : NULL,
					   &cursor, keys, vals, &n, NULL);
		ret = ret ? -errno : 0;
		started = true;
		for (__u32 i = 0; (ret == 0 || ret == -ENOENT) && i < n; i++)
			flow_copy_one(dp, true, &keys[i], &vals[i], svc);
	}
	if (ret == -ENOENT)
		ret = 0;
	if (a.left)
		log_warn("service %u: %llu of its dr/tun flows not copied to the "
			 "connection table, past its share (max_flows %llu): they "
			 "keep their backends by their dr/tun entries while those "
			 "last, uncounted by lc/wlc", svc->id,
			 (unsigned long long)a.left, (unsigned long long)a.room);
	if (!keys || !vals || ret)
		log_warn("service %u: cannot copy its flows to the %s table (%s): "
			 "its connections may move to other backends", svc->id,
			 from_flows ? "dr/tun" : "connection",
			 strerror(keys && vals ? -ret : ENOMEM));
	free(keys);
	free(vals);
}

/* Whether service svc, as it will be, is to carry XLB_SVC_F_DSR_LEFT
 * (xlb_abi.h): an lc/wlc dr/tun service whose flows may have entries left
 * in the dr/tun tables, because its scheduler moves it out of them now
 * (moving; cur: the entry it replaces) or it had the flag (a restart
 * adopts it with the services map). A service created lc/wlc pays no look
 * there. */
static bool dsr_left(const struct xlb_svc *svc, const struct xlb_svc *cur,
		     bool moving)
{
	if (xlb_svc_dsr_table(svc) ||
	    (svc->mode != XLB_MODE_DR && svc->mode != XLB_MODE_TUN))
		return false;
	return cur && cur->id == svc->id &&
	       (moving || (cur->flags & XLB_SVC_F_DSR_LEFT));
}

int dataplane_service_put(struct dataplane *dp, uint8_t proto,
			  const struct xlb_sockaddr *vip, const struct xlb_svc *svc_in)
{
	struct xlb_svc with = *svc_in, *svc = &with;
	struct xlb_svc_ent e = { 0 };
	struct xlb_svc_key key;
	struct xlb_svc cur;
	uint32_t bit, set = vip_set(svc), old;
	bool fresh;
	int ret;

	if (svc->id >= XLB_MAX_SERVICES)
		return -EINVAL;
	svc_key_from(proto, vip, &key);
	bit = xlb_filter_bit(&key.vip);
	fresh = bpf_map__lookup_elem(dp->skel->maps.services, &key, sizeof(key),
				     &cur, sizeof(cur), 0) != 0;
	old = fresh ? set : vip_set(&cur);
	if (dsr_left(svc, fresh ? NULL : &cur, old != set))
		svc->flags |= XLB_SVC_F_DSR_LEFT;
	/* The bit first: the data plane must never see the service without it. */
	ret = filter_bit(dp, set, &key.vip, true);
	if (ret)
		return ret;
	if (old != set && cur.id == svc->id)
		flows_copy(dp, svc);
	/* The slot before the services map: a lookup there takes the
	 * service from the slot of the id it finds (include/xlb_svcslots.h).
	 * By id, a flow finds what it would find by key (struct
	 * xlb_svc_ent), a moment early. */
	svc_slot_set(dp, svc->id, &key, svc);
	ret = bpf_map__update_elem(dp->skel->maps.services, &key, sizeof(key),
				   svc, sizeof(*svc), BPF_ANY);
	if (ret) {
		svc_slot_set(dp, svc->id, fresh || cur.id != svc->id ? NULL : &key,
			     &cur);
		if (!*vip_ref(dp, set, bit))
			filter_bit(dp, set, &key.vip, false);
		return ret;
	}
	if (fresh || old != set)
		(*vip_ref(dp, set, bit))++;
	if (old != set && *vip_ref(dp, old, bit) && --*vip_ref(dp, old, bit) == 0)
		filter_bit(dp, old, &key.vip, false);
	svc_index_put(dp, &key, svc);
	if (!fresh && cur.id != svc->id)
		svc_by_id_clear(dp, cur.id, &key);
	/* svc_by_id, for a restart into an xlbd that reads it: after the
	 * services map, as that xlbd wrote it. */
	e.key = key;
	e.svc = *svc;
	return bpf_map__update_elem(dp->skel->maps.svc_by_id, &svc->id,
				    sizeof(svc->id), &e, sizeof(e), BPF_ANY);
}

int dataplane_service_del(struct dataplane *dp, uint8_t proto,
			  const struct xlb_sockaddr *vip)
{
	struct xlb_svc_key key;
	struct xlb_svc cur;
	int ret;

	svc_key_from(proto, vip, &key);
	/* By id first: no flow may find the service once its key is gone. */
	if (bpf_map__lookup_elem(dp->skel->maps.services, &key, sizeof(key),
				 &cur, sizeof(cur), 0) != 0)
		return 0;
	svc_by_id_clear(dp, cur.id, &key);
	svc_index_del(dp, &key);
	ret = bpf_map__delete_elem(dp->skel->maps.services, &key, sizeof(key), 0);
	if (ret && ret != -ENOENT) {            /* still there */
		svc_slot_set(dp, cur.id, &key, &cur);
		svc_index_put(dp, &key, &cur);
	}
	if (ret == 0) {
		uint32_t bit = xlb_filter_bit(&key.vip), set = vip_set(&cur);

		if (*vip_ref(dp, set, bit) && --*vip_ref(dp, set, bit) == 0)
			filter_bit(dp, set, &key.vip, false);
	}
	return ret == -ENOENT ? 0 : ret;
}

/* backends[id] = be, so that no packet reads an entry half written: a
 * packet that found the backend active reads its address and port after
 * (xlb_backend_get branches on the flags first), and a map update copies
 * the value in place. So a removal clears the flags alone (a one-byte
 * change; the address stays, unread), and another address on the id is
 * written with the flags clear, once no packet still holds the last
 * backend's active view (a grace period after its removal), then the
 * flags alone. A change of flags or owning service (one aligned word) is
 * written as it is. */
static int write_backend(struct dataplane *dp, uint32_t id,
			 const struct xlb_backend *be)
{
	int fd = bpf_map__fd(dp->skel->maps.backends), ret;
	struct xlb_backend cur, n;

	if (id >= XLB_MAX_BACKENDS)
		return -EINVAL;
	if (bpf_map_lookup_elem(fd, &id, &cur))
		return -errno;
	n = cur;
	n.flags = 0;
	if (!be || (be->family == cur.family && be->port_be == cur.port_be &&
		    !memcmp(&be->addr, &cur.addr, sizeof(be->addr)))) {
		if (be)
			n = *be;
		if (!memcmp(&n, &cur, sizeof(n)))
			return 0;
		if (bpf_map_update_elem(fd, &id, &n, BPF_ANY))
			return -errno;
		if (cur.flags && !n.flags)
			dp->be_left[id] = dp->graces;
		return 0;
	}
	if (cur.flags) {
		if (bpf_map_update_elem(fd, &id, &n, BPF_ANY))
			return -errno;
		dp->be_left[id] = dp->graces;
	}
	if (dp->be_left[id] == dp->graces) {
		ret = dp_grace(dp);
		if (ret)
			return ret;
	}
	n = *be;
	n.flags = 0;
	if (bpf_map_update_elem(fd, &id, &n, BPF_ANY) ||
	    bpf_map_update_elem(fd, &id, be, BPF_ANY))
		return -errno;
	return 0;
}

int dataplane_backend_put(struct dataplane *dp, uint32_t id,
			  const struct xlb_backend *be)
{
	int ret;

	/* The bit first: replies from the backend must find it set. */
	if (be) {
		ret = filter_bit(dp, XLB_FILTER_BACKEND, &be->addr, true);
		if (ret)
			return ret;
	}
	ret = write_backend(dp, id, be);
	/* A gone id (or one given to another address) loses its next hop;
	 * the data plane checks the address anyway. */
	if (!ret && id < XLB_MAX_BACKENDS &&
	    (!be || be->family != l2_next(dp, id)->family ||
	     memcmp(&be->addr, &l2_next(dp, id)->addr, sizeof(be->addr))))
		dataplane_backend_l2_put(dp, id, NULL);
	return ret;
}

int dataplane_svc_backends_put(struct dataplane *dp, uint32_t svc_id,
			       const uint32_t *ids, const uint32_t *weights,
			       size_t n)
{
	struct xlb_svc_backends sb;
	int ret;

	if (n > XLB_LC_MAX_BACKENDS)
		return -E2BIG;
	memset(&sb, 0, sizeof(sb));
	sb.n = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		sb.id[i] = ids[i];
		sb.weight[i] = weights[i];
	}
	/* Written for an xlbd that reads it after a restart; this one's
	 * packets read the slots. */
	ret = bpf_map__update_elem(dp->skel->maps.svc_backends, &svc_id,
				   sizeof(svc_id), &sb, sizeof(sb), BPF_ANY);
	if (ret)
		return ret;
	lc_publish(dp, svc_id, &sb);
	return 0;
}

int dataplane_svc_timeouts_put(struct dataplane *dp, uint32_t svc_id,
			       const struct xlb_svc_timeouts *t)
{
	struct xlb_svc_timeouts none = { 0 };
	int ret;

	if (svc_id >= XLB_MAX_SERVICES)
		return -EINVAL;
	if (!t)
		t = &none;
	ret = bpf_map__update_elem(dp->skel->maps.svc_timeouts, &svc_id,
				   sizeof(svc_id), t, sizeof(*t), BPF_ANY);
	return ret;
}

int dataplane_svc_flows_set(struct dataplane *dp, uint32_t svc_id, uint64_t max,
			    uint32_t ring_base, uint32_t ring_len)
{
	struct xlb_svc_flows *c;

	if (svc_id >= XLB_MAX_SERVICES || !dp->svc_flows)
		return -EINVAL;
	c = &dp->svc_flows[svc_id];
	__atomic_store_n(&c->max, max, __ATOMIC_RELAXED);
	__atomic_store_n(&c->ring_base, ring_base, __ATOMIC_RELAXED);
	__atomic_store_n(&c->ring_len, ring_len, __ATOMIC_RELAXED);
	return 0;
}

int dataplane_svc_flows(struct dataplane *dp, uint32_t svc_id,
			struct xlb_svc_flows *out)
{
	const struct xlb_svc_flows *c;

	if (svc_id >= XLB_MAX_SERVICES || !dp->svc_flows)
		return -EINVAL;
	c = &dp->svc_flows[svc_id];
	out->n = __atomic_load_n(&c->n, __ATOMIC_RELAXED);
	out->n = out->n > 0 ? out->n : 0;       /* a transient of corrections */
	out->max = __atomic_load_n(&c->max, __ATOMIC_RELAXED);
	out->refused = __atomic_load_n(&c->refused, __ATOMIC_RELAXED);
	out->evicted = __atomic_load_n(&c->evicted, __ATOMIC_RELAXED);
	return 0;
}

int dataplane_backend_conns(struct dataplane *dp, uint32_t id,
			    struct xlb_conns *out)
{
	if (id >= XLB_MAX_BACKENDS || !dp->conns)
		return -EINVAL;
	out->active = __atomic_load_n(&dp->conns[id].active, __ATOMIC_RELAXED);
	out->inactive = __atomic_load_n(&dp->conns[id].inactive, __ATOMIC_RELAXED);
	/* Below zero: a transient of the sweeper's corrections. */
	out->active = out->active > 0 ? out->active : 0;
	out->inactive = out->inactive > 0 ? out->inactive : 0;
	return 0;
}

/* A new inner map holding table (packed, struct xlb_maglev_slots), filled
 * completely before anyone sees it. */
static int table_map_create(const uint32_t *table, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	uint32_t n = XLB_MAGLEV_ELEMS(size), count = n;
	struct xlb_maglev_slots *elems;
	uint32_t *keys;
	int inner, ret;

	keys = malloc(n * sizeof(*keys));
	elems = malloc(n * sizeof(*elems));
	if (!keys || !elems) {
		ret = -ENOMEM;
		goto out;
	}
	ret = xlb_maglev_pack(table, size, elems) ? -ERANGE : 0;
	if (ret)
		goto out;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev", sizeof(uint32_t),
			       sizeof(*elems), n, &opts);
	if (inner < 0) {
		ret = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		keys[i] = i;
	ret = bpf_map_update_batch(inner, keys, elems, &count, NULL) ? -errno : inner;
	if (ret < 0)
		close(inner);
out:
	free(keys);
	free(elems);
	return ret;
}

int dataplane_table_stage(struct dataplane *dp, uint32_t svc_id,
			  const uint32_t *table, uint32_t size)
{
	struct staged_table *t = NULL;
	int fd = -1;

	if (table) {
		fd = table_map_create(table, size);
		if (fd < 0)
			return fd;
	}
	for (size_t i = 0; i < dp->n_staged; i++)
		if (dp->staged[i].svc_id == svc_id)
			t = &dp->staged[i];
	if (t) {
		if (t->fd >= 0)
			close(t->fd);
		t->fd = fd;
		return 0;
	}
	if (dp->n_staged == dp->cap_staged) {
		size_t cap = dp->cap_staged ? 2 * dp->cap_staged : 64;
		struct staged_table *n = realloc(dp->staged, cap * sizeof(*n));

		if (!n) {
			if (fd >= 0)
				close(fd);
			return -ENOMEM;
		}
		dp->staged = n;
		dp->cap_staged = cap;
	}
	dp->staged[dp->n_staged].svc_id = svc_id;
	dp->staged[dp->n_staged++].fd = fd;
	return 0;
}

/* Each update of a map-in-map waits for an RCU grace period (the kernel
 * makes sure no program still uses the old inner map), ~10 ms here: one
 * batch for all staged tables pays it once instead of once per service. */
int dataplane_tables_commit(struct dataplane *dp)
{
	int outer = bpf_map__fd(dp->skel->maps.maglev_outer);
	uint32_t *keys = NULL, n_put = 0, n_del = 0, count;
	int *fds = NULL, ret = 0;
	uint32_t *del_keys = NULL;

	if (!dp->n_staged)
		return 0;
	keys = calloc(dp->n_staged, sizeof(*keys));
	del_keys = calloc(dp->n_staged, sizeof(*del_keys));
	fds = calloc(dp->n_staged, sizeof(*fds));
	if (!keys || !del_keys || !fds) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < dp->n_staged; i++) {
		if (dp->staged[i].fd >= 0) {
			keys[n_put] = dp->staged[i].svc_id;
			fds[n_put++] = dp->staged[i].fd;
		} else {
			del_keys[n_del++] = dp->staged[i].svc_id;
		}
	}
	count = n_put;
	if (n_put && bpf_map_update_batch(outer, keys, fds, &count, NULL))
		ret = -errno;
	/* Deleting a slot that holds no table is not an error: delete one by
	 * one only if the batch stops at such a slot. */
	count = n_del;
	if (n_del && bpf_map_delete_batch(outer, del_keys, &count, NULL) &&
	    errno == ENOENT) {
		for (uint32_t i = count; i < n_del; i++)
			bpf_map_delete_elem(outer, &del_keys[i]);
	}
out:
	for (size_t i = 0; i < dp->n_staged; i++)
		if (dp->staged[i].fd >= 0)
			close(dp->staged[i].fd);        /* the outer map holds its own reference */
	dp->n_staged = 0;
	free(keys);
	free(del_keys);
	free(fds);
	return ret;
}

static int percpu_sum(struct bpf_map *map, uint32_t idx, void *out, size_t nwords)
{
	size_t stride = (nwords * sizeof(uint64_t) + 7) & ~7ul;
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *vals, *sum = out;
	int ret;

	vals = calloc(ncpus, stride);
	if (!vals)
		return -ENOMEM;
	ret = bpf_map__lookup_elem(map, &idx, sizeof(idx), vals, ncpus * stride, 0);
	memset(out, 0, nwords * sizeof(uint64_t));
	if (!ret)
		for (int c = 0; c < ncpus; c++)
			for (size_t w = 0; w < nwords; w++)
				sum[w] += vals[c * stride / sizeof(uint64_t) + w];
	free(vals);
	return ret;
}

static int percpu_zero(struct bpf_map *map, uint32_t idx, size_t nwords)
{
	size_t stride = (nwords * sizeof(uint64_t) + 7) & ~7ul;
	int ncpus = libbpf_num_possible_cpus();
	void *vals = calloc(ncpus, stride);
	int ret;

	if (!vals)
		return -ENOMEM;
	ret = bpf_map__update_elem(map, &idx, sizeof(idx), vals, ncpus * stride, BPF_ANY);
	free(vals);
	return ret;
}

#define COUNTER_WORDS (sizeof(struct xlb_counter) / sizeof(uint64_t))

int dataplane_svc_stats(struct dataplane *dp, uint32_t svc_id, struct xlb_counter *out)
{
	return percpu_sum(dp->skel->maps.svc_stats, svc_id, out, COUNTER_WORDS);
}

int dataplane_backend_stats(struct dataplane *dp, uint32_t id, struct xlb_counter *out)
{
	return percpu_sum(dp->skel->maps.backend_stats, id, out, COUNTER_WORDS);
}

int dataplane_svc_stats_reset(struct dataplane *dp, uint32_t svc_id)
{
	return percpu_zero(dp->skel->maps.svc_stats, svc_id, COUNTER_WORDS);
}

int dataplane_backend_stats_reset(struct dataplane *dp, uint32_t id)
{
	return percpu_zero(dp->skel->maps.backend_stats, id, COUNTER_WORDS);
}

/* Keys 0..n-1 of a per-CPU array of single counters, each summed. */
static int percpu_sum_each(struct bpf_map *map, uint32_t n, uint64_t *out)
{
	for (uint32_t k = 0; k < n; k++) {
		int ret = percpu_sum(map, k, &out[k], 1);

		if (ret)
			return ret;
	}
	return 0;
}

int dataplane_reason_stats(struct dataplane *dp, uint64_t out[XLB_R_MAX])
{
	return percpu_sum_each(dp->skel->maps.reason_stats, XLB_R_MAX, out);
}

int dataplane_guard_stats(struct dataplane *dp, uint64_t out[XLB_G_MAX])
{
	return percpu_sum_each(dp->skel->maps.guard_stats, XLB_G_MAX, out);
}

/* ---- nat/fullnat: local addresses and connection sweeping ---------------- */

int dataplane_set_lips(struct dataplane *dp, const struct xlb_sockaddr *addrs,
		       size_t n, uint32_t *n4, uint32_t *n6)
{
	uint32_t c4 = 0, c6 = 0, idx;
	int ret;

	memset(dp->cfg_want.lips, 0, sizeof(dp->cfg_want.lips));
	for (size_t i = 0; i < n; i++) {
		if (addrs[i].family == XLB_AF_INET) {
			if (c4 >= XLB_MAX_LIPS)
				return -E2BIG;
			idx = c4++;
		} else {
			if (c6 >= XLB_MAX_LIPS)
				return -E2BIG;
			idx = XLB_LIP_V6_BASE + c6++;
		}
		/* Written for an xlbd that reads it after a restart. */
		ret = bpf_map__update_elem(dp->skel->maps.lips, &idx, sizeof(idx),
					   &addrs[i].addr, sizeof(addrs[i].addr),
					   BPF_ANY);
		if (ret)
			return ret;
		dp->cfg_want.lips[idx] = addrs[i].addr;
	}
	*n4 = c4;
	*n6 = c6;
	return 0;
}

/* dsr_flows_each's callback and its arguments. */
struct dsr_list_arg {
	struct dataplane *dp;
	dataplane_flow_fn fn;
	void *arg;
};

static int dsr_list_one(void *arg, const struct xlb_flow_key *k,
			const struct xlb_dsr_flow *d)
{
	struct dsr_list_arg *a = arg;
	struct xlb_flow f = { 0 }, both;

	if (bpf_map_lookup_elem(bpf_map__fd(a->dp->skel->maps.flows), k, &both) == 0 &&
	    both.svc_id == d->svc_id)
		return 0;
	f.backend_id = d->backend_id;
	f.svc_id = d->svc_id;
	return a->fn(a->arg, k, &f, -1);
}

/* dataplane_flows_each over dsr_flows4 and dsr_flows6: each entry as the
 * struct xlb_flow of a dr/tun flow (no state, no time left); one the
 * flows map holds too for the same service (copied there when the
 * scheduler changed, see flows_copy) was listed with it. */
static int dsr_flows_each(struct dataplane *dp, dataplane_flow_fn fn, void *arg,
			  struct dataplane_unlisted *unlisted)
{
	struct dsr_list_arg a = { .dp = dp, .fn = fn, .arg = arg };

	return dsr_each(dp, dsr_list_one, &a, unlisted);
}

int dataplane_flows_each(struct dataplane *dp, dataplane_flow_fn fn, void *arg,
			 struct dataplane_unlisted *unlisted)
{
	int fd = bpf_map__fd(dp->skel->maps.flows), more, ret = 0;
	struct xlb_flow_key k, next;
	struct xlb_globals g;
	struct xlb_flow f;
	uint32_t zero = 0;
	uint64_t now = conntrack_now_ns();

	ret = bpf_map__lookup_elem(dp->skel->maps.globals, &zero, sizeof(zero),
				   &g, sizeof(g), 0);
	if (ret)
		return ret;
	more = bpf_map_get_next_key(fd, NULL, &next) == 0;
	while (more && !ret) {
		struct xlb_svc_timeouts t = { 0 };
		int64_t left = -1;

		k = next;
		more = bpf_map_get_next_key(fd, &k, &next) == 0;
		if (bpf_map_lookup_elem(fd, &k, &f))
			continue;
		if (f.state != XLB_CT_NONE) {
			/* A last_seen after now (another CPU) counts as now. */
			int64_t age = now > f.last_seen_ns ? (int64_t)(now - f.last_seen_ns) : 0;
			int64_t to;

			/* The service's own timeouts, as the data plane reads them. */
			bpf_map__lookup_elem(dp->skel->maps.svc_timeouts, &f.svc_id,
					     sizeof(f.svc_id), &t, sizeof(t), 0);
			to = (int64_t)xlb_ct_entry_timeout_ns(&g, &t, &f);

			left = age >= to ? 0 : (to - age) / 1000000;
		}
		ret = fn(arg, &k, &f, left);
	}
	return ret ? ret : dsr_flows_each(dp, fn, arg, unlisted);
}

int dataplane_sweeper_start(struct dataplane *dp)
{
	int ret;

	if (dp->sweeper)
		return 0;
	ret = ct_sweeper_start(&dp->sweeper, bpf_map__fd(dp->skel->maps.flows),
			       bpf_map__fd(dp->skel->maps.nat_rev),
			       bpf_map__fd(dp->skel->maps.globals),
			       bpf_map__fd(dp->skel->maps.svc_timeouts), dp->conns,
			       dp->svc_flows);
	ct_sweeper_want(dp->sweeper, dp->sweep_want);
	return ret;
}

void dataplane_sweeper_want(struct dataplane *dp, bool want)
{
	if (!dp)
		return;
	dp->sweep_want = want;
	ct_sweeper_want(dp->sweeper, want);
}

int dataplane_nat_flows(struct dataplane *dp, uint64_t *n)
{
	return ct_sweeper_nat_flows(dp->sweeper, n);
}
