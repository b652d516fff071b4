// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Integer sysctls, and per-interface forwarding for the XDP data plane. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sysctl.h"

int sysctl_read(const char *path, long *val)
{
	char full[256];
	FILE *f;
	int ret = 0;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	f = fopen(full, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%ld", val) != 1)
		ret = -EIO;
	fclose(f);
	return ret;
}

int sysctl_write(const char *path, long val)
{
	char full[256];
	FILE *f;
	int ret = 0;

	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	f = fopen(full, "w");
	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", val) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	return ret;
}

int forwarding_enable(char (*ifnames)[16], size_t n, struct forwarding_saved *saved,
		      char *err, size_t errlen)
{
	static const char *const fams[] = { "ipv4", "ipv6" };

	memset(saved, 0, sizeof(*saved));
	saved->items = calloc(2 * n + 1, sizeof(*saved->items));
	if (!saved->items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		for (int f = 0; f < 2; f++) {
			char path[128];
			long old;
			int ret;

			snprintf(path, sizeof(path), "net/%s/conf/%s/forwarding",
				 fams[f], ifnames[i]);
			ret = sysctl_read(path, &old);
			if (ret == -ENOENT && f == 1)
				continue;       /* IPv6 disabled on this host */
			if (!ret && old == 1)
				continue;
			if (!ret)
				ret = sysctl_write(path, 1);
			if (ret) {
				snprintf(err, errlen, "cannot enable %s forwarding on '%s': %s",
					 fams[f], ifnames[i], strerror(-ret));
				forwarding_restore(saved);
				return ret;
			}
			snprintf(saved->items[saved->n].path, sizeof(saved->items[0].path),
				 "%s", path);
			saved->items[saved->n++].old = old;
			log_info("enabled %s forwarding on %s (the XDP route lookup needs it)",
				 fams[f], ifnames[i]);
		}
	}
	return 0;
}

void forwarding_restore(struct forwarding_saved *saved)
{
	for (size_t i = 0; i < saved->n; i++)
		if (sysctl_write(saved->items[i].path, saved->items[i].old))
			log_warn("cannot restore /proc/sys/%s", saved->items[i].path);
	free(saved->items);
	memset(saved, 0, sizeof(*saved));
}
