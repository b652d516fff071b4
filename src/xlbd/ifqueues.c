// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Receive queues of an interface (ifqueues.h). */
#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ifqueues.h"

/* /sys/class/net/IF/queues/rx-N: one per real receive queue. Only right
 * where sysfs was mounted in this network namespace; the fallback for
 * drivers without ETHTOOL_GCHANNELS, which are mostly single-queue. */
static unsigned int sysfs_rx_queues(const char *ifname)
{
	char path[64 + IF_NAMESIZE];
	unsigned int n = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "rx-", 3);
	closedir(d);
	return n;
}

unsigned int if_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	unsigned int n = 0;
	int fd;

	if (strlen(ifname) >= IF_NAMESIZE || !if_nametoindex(ifname))
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	/* The ioctl acts in the socket's network namespace: this one. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !ioctl(fd, SIOCETHTOOL, &ifr))
		n = ch.rx_count + ch.combined_count;
	if (fd >= 0)
		close(fd);
	if (!n)
		n = sysfs_rx_queues(ifname);
	return n ? n : 1;
}
