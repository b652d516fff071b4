/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* How many receive queues an interface runs: XDP runs on the CPUs that
 * service them, which decides how dsr_flows' entries may be shared out
 * among the CPUs (dataplane.c). */
#ifndef XLBD_IFQUEUES_H
#define XLBD_IFQUEUES_H

/* The receive queues in use on interface ifname (of this network
 * namespace): the driver's channel counts (ETHTOOL_GCHANNELS: rx +
 * combined), or the device's real receive queues where the driver reports
 * no channels. 0 when the interface is unknown. */
unsigned int if_rx_queues(const char *ifname);

#endif /* XLBD_IFQUEUES_H */
